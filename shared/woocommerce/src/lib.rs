//! WooCommerce, as woosellsy sees it: the data, not the wire. No HTTP client and nothing async, so
//! the pure order → document mapping can depend on it without pulling a network stack in (the REST
//! client is the `woocommerce-client` crate).
//!
//! * [`model`]: lenient serde types for the REST v3 order and product. WooCommerce and its extensions
//!   send numbers as strings or floats, `[]` for empty objects, `null` SKUs and meta values of any
//!   shape; these types accept all of it and expose `Decimal`s.
//! * [`webhook`]: delivery headers, signature computation/verification, the unsigned ping.
//! * [`php_json`]: JSON text byte-identical to PHP `json_encode` (what WooCommerce signs).

pub mod lenient;
pub mod model;
pub mod php_json;
pub mod webhook;

pub use model::{
    Address, CouponLine, FeeLine, LineItem, LineTax, ManageStock, MetaData, Order, OrderStatus,
    Product, Refund, ShippingLine, TaxLine,
};
