//! WooCommerce, as woosellsy sees it.
//!
//! * [`model`]: lenient serde types for the REST v3 order and product. WooCommerce and its extensions
//!   send numbers as strings or floats, `[]` for empty objects, `null` SKUs and meta values of any
//!   shape; these types accept all of it and expose `Decimal`s.
//! * [`webhook`]: delivery headers, signature computation/verification, the unsigned ping.
//! * [`php_json`]: JSON text byte-identical to PHP `json_encode` (what WooCommerce signs).
//! * [`client`]: the REST v3 client (Basic over HTTPS, OAuth 1.0a over HTTP, see [`oauth`]).

pub mod client;
pub mod lenient;
pub mod model;
pub mod oauth;
pub mod php_json;
pub mod webhook;

pub use client::{AuthMode, Client, Error, OrderQuery, Page, UrlForm};
pub use model::{
    Address, CouponLine, FeeLine, LineItem, LineTax, ManageStock, MetaData, Order, OrderStatus,
    Product, Refund, ShippingLine, TaxLine,
};
