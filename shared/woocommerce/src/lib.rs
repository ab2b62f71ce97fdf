//! WooCommerce, as woosellsy sees it.
//!
//! * [`model`]: lenient serde types for the REST v3 order (and the bits of products we need). WooCommerce
//!   and its extensions send numbers as strings or floats, `[]` for empty objects, `null` SKUs and meta
//!   values of any shape; these types accept all of it and expose `Decimal`s.

pub mod lenient;
pub mod model;

pub use model::{
    Address, CouponLine, FeeLine, LineItem, LineTax, MetaData, Order, OrderStatus, Refund,
    ShippingLine, TaxLine,
};
