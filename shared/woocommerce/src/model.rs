//! REST v3 order types (`GET /wp-json/wc/v3/orders/{id}`, also the `order.*` webhook payload).
//!
//! Only the fields the connector reads are typed; unknown fields are ignored, so extensions adding
//! their own keys never break parsing. Every money field is a `Decimal`.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::lenient;

/// Order status. Custom statuses from plugins are kept as `Other`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum OrderStatus {
    #[default]
    Pending,
    Processing,
    OnHold,
    Completed,
    Cancelled,
    Refunded,
    Failed,
    CheckoutDraft,
    Trash,
    Other(String),
}

impl From<String> for OrderStatus {
    fn from(s: String) -> Self {
        match s.trim_start_matches("wc-") {
            "pending" => OrderStatus::Pending,
            "processing" => OrderStatus::Processing,
            "on-hold" => OrderStatus::OnHold,
            "completed" => OrderStatus::Completed,
            "cancelled" => OrderStatus::Cancelled,
            "refunded" => OrderStatus::Refunded,
            "failed" => OrderStatus::Failed,
            "checkout-draft" => OrderStatus::CheckoutDraft,
            "trash" => OrderStatus::Trash,
            _ => OrderStatus::Other(s),
        }
    }
}

impl From<OrderStatus> for String {
    fn from(s: OrderStatus) -> Self {
        s.as_str().to_owned()
    }
}

impl OrderStatus {
    pub fn as_str(&self) -> &str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Processing => "processing",
            OrderStatus::OnHold => "on-hold",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Refunded => "refunded",
            OrderStatus::Failed => "failed",
            OrderStatus::CheckoutDraft => "checkout-draft",
            OrderStatus::Trash => "trash",
            OrderStatus::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Order {
    #[serde(deserialize_with = "lenient::uint")]
    pub id: u64,
    #[serde(deserialize_with = "lenient::uint")]
    pub parent_id: u64,
    /// Displayed order number (sequential-number plugins make it differ from `id`).
    #[serde(deserialize_with = "lenient::string")]
    pub number: String,
    #[serde(deserialize_with = "lenient::string")]
    pub order_key: String,
    #[serde(deserialize_with = "lenient::string")]
    pub created_via: String,
    #[serde(deserialize_with = "lenient::order_status")]
    pub status: OrderStatus,
    #[serde(deserialize_with = "lenient::string")]
    pub currency: String,
    #[serde(deserialize_with = "lenient::datetime")]
    pub date_created: Option<NaiveDateTime>,
    #[serde(deserialize_with = "lenient::datetime")]
    pub date_created_gmt: Option<NaiveDateTime>,
    #[serde(deserialize_with = "lenient::datetime")]
    pub date_modified: Option<NaiveDateTime>,
    #[serde(deserialize_with = "lenient::datetime")]
    pub date_modified_gmt: Option<NaiveDateTime>,
    #[serde(deserialize_with = "lenient::datetime")]
    pub date_paid: Option<NaiveDateTime>,
    #[serde(deserialize_with = "lenient::datetime")]
    pub date_paid_gmt: Option<NaiveDateTime>,
    #[serde(deserialize_with = "lenient::datetime")]
    pub date_completed_gmt: Option<NaiveDateTime>,
    #[serde(deserialize_with = "lenient::decimal")]
    pub discount_total: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub discount_tax: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub shipping_total: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub shipping_tax: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub cart_tax: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub total: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub total_tax: Decimal,
    #[serde(deserialize_with = "lenient::boolean")]
    pub prices_include_tax: bool,
    #[serde(deserialize_with = "lenient::uint")]
    pub customer_id: u64,
    #[serde(deserialize_with = "lenient::string")]
    pub customer_note: String,
    #[serde(deserialize_with = "lenient::object")]
    pub billing: Address,
    #[serde(deserialize_with = "lenient::object")]
    pub shipping: Address,
    #[serde(deserialize_with = "lenient::string")]
    pub payment_method: String,
    #[serde(deserialize_with = "lenient::string")]
    pub payment_method_title: String,
    #[serde(deserialize_with = "lenient::string")]
    pub transaction_id: String,
    #[serde(deserialize_with = "lenient::list")]
    pub meta_data: Vec<MetaData>,
    #[serde(deserialize_with = "lenient::list")]
    pub line_items: Vec<LineItem>,
    #[serde(deserialize_with = "lenient::list")]
    pub tax_lines: Vec<TaxLine>,
    #[serde(deserialize_with = "lenient::list")]
    pub shipping_lines: Vec<ShippingLine>,
    #[serde(deserialize_with = "lenient::list")]
    pub fee_lines: Vec<FeeLine>,
    #[serde(deserialize_with = "lenient::list")]
    pub coupon_lines: Vec<CouponLine>,
    #[serde(deserialize_with = "lenient::list")]
    pub refunds: Vec<Refund>,
}

impl Order {
    /// Paid means money was taken: `date_paid` is set, or the status says so.
    pub fn is_paid(&self) -> bool {
        self.date_paid_gmt.is_some()
            || self.date_paid.is_some()
            || matches!(
                self.status,
                OrderStatus::Processing | OrderStatus::Completed
            )
    }

    /// First meta value under `key` (WooCommerce allows several rows per key).
    pub fn meta(&self, key: &str) -> Option<&serde_json::Value> {
        self.meta_data
            .iter()
            .find(|m| m.key == key)
            .map(|m| &m.value)
    }

    /// A meta value as text (strings as-is, numbers printed), `None` when absent or empty.
    pub fn meta_str(&self, key: &str) -> Option<String> {
        match self.meta(key)? {
            serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    #[serde(deserialize_with = "lenient::string")]
    pub first_name: String,
    #[serde(deserialize_with = "lenient::string")]
    pub last_name: String,
    #[serde(deserialize_with = "lenient::string")]
    pub company: String,
    #[serde(deserialize_with = "lenient::string")]
    pub address_1: String,
    #[serde(deserialize_with = "lenient::string")]
    pub address_2: String,
    #[serde(deserialize_with = "lenient::string")]
    pub city: String,
    #[serde(deserialize_with = "lenient::string")]
    pub state: String,
    #[serde(deserialize_with = "lenient::string")]
    pub postcode: String,
    #[serde(deserialize_with = "lenient::string")]
    pub country: String,
    /// Billing only (shipping addresses may carry it too in recent versions).
    #[serde(deserialize_with = "lenient::string")]
    pub email: String,
    #[serde(deserialize_with = "lenient::string")]
    pub phone: String,
}

impl Address {
    pub fn is_empty(&self) -> bool {
        self.address_1.trim().is_empty()
            && self.city.trim().is_empty()
            && self.postcode.trim().is_empty()
    }
}

/// A meta row. `value` is any JSON (strings, numbers, objects, arrays).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetaData {
    #[serde(deserialize_with = "lenient::uint", skip_serializing_if = "is_zero")]
    pub id: u64,
    #[serde(deserialize_with = "lenient::string")]
    pub key: String,
    pub value: serde_json::Value,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LineTax {
    /// The tax rate id (`tax_lines[].rate_id`).
    #[serde(deserialize_with = "lenient::uint")]
    pub id: u64,
    #[serde(deserialize_with = "lenient::decimal")]
    pub total: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub subtotal: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LineItem {
    #[serde(deserialize_with = "lenient::uint")]
    pub id: u64,
    #[serde(deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(deserialize_with = "lenient::uint")]
    pub product_id: u64,
    #[serde(deserialize_with = "lenient::uint")]
    pub variation_id: u64,
    #[serde(deserialize_with = "lenient::decimal")]
    pub quantity: Decimal,
    #[serde(deserialize_with = "lenient::string")]
    pub tax_class: String,
    /// Line amount before coupons, excluding tax.
    #[serde(deserialize_with = "lenient::decimal")]
    pub subtotal: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub subtotal_tax: Decimal,
    /// Line amount after coupons, excluding tax.
    #[serde(deserialize_with = "lenient::decimal")]
    pub total: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub total_tax: Decimal,
    #[serde(deserialize_with = "lenient::list")]
    pub taxes: Vec<LineTax>,
    #[serde(deserialize_with = "lenient::list")]
    pub meta_data: Vec<MetaData>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub sku: Option<String>,
    /// Unit price after coupons, excluding tax (a float in the JSON).
    #[serde(deserialize_with = "lenient::decimal")]
    pub price: Decimal,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub parent_name: Option<String>,
    /// SKU of the parent product of a variation. Not part of WooCommerce's order JSON: the connector
    /// fills it in from `GET /products/{product_id}` so that the variation can be matched to a
    /// declination of the parent item.
    #[serde(skip)]
    pub parent_sku: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxLine {
    #[serde(deserialize_with = "lenient::uint")]
    pub id: u64,
    #[serde(deserialize_with = "lenient::string")]
    pub rate_code: String,
    #[serde(deserialize_with = "lenient::uint")]
    pub rate_id: u64,
    #[serde(deserialize_with = "lenient::string")]
    pub label: String,
    #[serde(deserialize_with = "lenient::boolean")]
    pub compound: bool,
    #[serde(deserialize_with = "lenient::decimal")]
    pub tax_total: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub shipping_tax_total: Decimal,
    /// Absent in orders from before WC 3.7.
    #[serde(deserialize_with = "lenient::opt_decimal")]
    pub rate_percent: Option<Decimal>,
    #[serde(deserialize_with = "lenient::list")]
    pub meta_data: Vec<MetaData>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShippingLine {
    #[serde(deserialize_with = "lenient::uint")]
    pub id: u64,
    #[serde(deserialize_with = "lenient::string")]
    pub method_title: String,
    #[serde(deserialize_with = "lenient::string")]
    pub method_id: String,
    #[serde(deserialize_with = "lenient::string")]
    pub instance_id: String,
    #[serde(deserialize_with = "lenient::decimal")]
    pub total: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub total_tax: Decimal,
    #[serde(deserialize_with = "lenient::list")]
    pub taxes: Vec<LineTax>,
    #[serde(deserialize_with = "lenient::list")]
    pub meta_data: Vec<MetaData>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeeLine {
    #[serde(deserialize_with = "lenient::uint")]
    pub id: u64,
    #[serde(deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(deserialize_with = "lenient::string")]
    pub tax_class: String,
    #[serde(deserialize_with = "lenient::string")]
    pub tax_status: String,
    /// The amount as entered (raw, may have many decimals); absent in old versions.
    #[serde(deserialize_with = "lenient::opt_decimal")]
    pub amount: Option<Decimal>,
    #[serde(deserialize_with = "lenient::decimal")]
    pub total: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub total_tax: Decimal,
    #[serde(deserialize_with = "lenient::list")]
    pub taxes: Vec<LineTax>,
    #[serde(deserialize_with = "lenient::list")]
    pub meta_data: Vec<MetaData>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CouponLine {
    #[serde(deserialize_with = "lenient::uint")]
    pub id: u64,
    #[serde(deserialize_with = "lenient::string")]
    pub code: String,
    /// Discount granted, excluding tax.
    #[serde(deserialize_with = "lenient::decimal")]
    pub discount: Decimal,
    #[serde(deserialize_with = "lenient::decimal")]
    pub discount_tax: Decimal,
    /// `percent`, `fixed_cart`, `fixed_product` (recent versions; else in the `coupon_data` meta).
    #[serde(deserialize_with = "lenient::opt_string")]
    pub discount_type: Option<String>,
    #[serde(deserialize_with = "lenient::opt_decimal")]
    pub nominal_amount: Option<Decimal>,
    #[serde(deserialize_with = "lenient::list")]
    pub meta_data: Vec<MetaData>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Refund {
    #[serde(deserialize_with = "lenient::uint")]
    pub id: u64,
    #[serde(deserialize_with = "lenient::string")]
    pub reason: String,
    /// Negative string, e.g. `"-10.00"`.
    #[serde(deserialize_with = "lenient::decimal")]
    pub total: Decimal,
}

/// A product or variation (`GET /products`, `/products/{id}`, `/products/{id}/variations/{vid}`, and
/// the `product.*` webhook payload). Variations fetched through `/products` carry `type: "variation"`
/// and a `parent_id`; fetched through `/variations` they carry neither.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Product {
    #[serde(deserialize_with = "lenient::uint")]
    pub id: u64,
    /// The variable product a variation belongs to; 0 for top-level products.
    #[serde(deserialize_with = "lenient::uint")]
    pub parent_id: u64,
    /// `simple`, `variable`, `variation`, `grouped`, `external`, or a plugin's own type (JSON `type`).
    #[serde(rename = "type", deserialize_with = "lenient::string")]
    pub kind: String,
    #[serde(deserialize_with = "lenient::string")]
    pub status: String,
    /// `""` when the product has no SKU; `null` is read as `""` too.
    #[serde(deserialize_with = "lenient::string")]
    pub sku: String,
    #[serde(deserialize_with = "lenient::string")]
    pub name: String,
    /// Current price (sale price when on sale); `None` when empty (variable parents, unpriced items).
    #[serde(deserialize_with = "lenient::opt_decimal")]
    pub price: Option<Decimal>,
    #[serde(deserialize_with = "lenient::opt_decimal")]
    pub regular_price: Option<Decimal>,
    #[serde(deserialize_with = "lenient::opt_decimal")]
    pub sale_price: Option<Decimal>,
    #[serde(deserialize_with = "lenient::string")]
    pub tax_status: String,
    #[serde(deserialize_with = "lenient::string")]
    pub tax_class: String,
    pub manage_stock: ManageStock,
    /// Stock plugins allow fractional stock (`16.5`); `None` when stock is not managed.
    #[serde(
        deserialize_with = "lenient::opt_decimal",
        serialize_with = "lenient::ser_opt_decimal_number"
    )]
    pub stock_quantity: Option<Decimal>,
    #[serde(deserialize_with = "lenient::string")]
    pub stock_status: String,
    /// Ids of the variations of a variable product.
    #[serde(deserialize_with = "lenient::id_list")]
    pub variations: Vec<u64>,
    #[serde(deserialize_with = "lenient::list")]
    pub meta_data: Vec<MetaData>,
}

impl Product {
    /// True for a variation, whichever endpoint it came from.
    pub fn is_variation(&self) -> bool {
        self.kind == "variation"
    }
}

/// `manage_stock`: `true`, `false`, or (variations only) `"parent"` when the parent product holds the
/// stock — a stock update must then go to the parent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ManageStock {
    #[default]
    No,
    Yes,
    Parent,
}

impl Serialize for ManageStock {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ManageStock::No => s.serialize_bool(false),
            ManageStock::Yes => s.serialize_bool(true),
            ManageStock::Parent => s.serialize_str("parent"),
        }
    }
}

impl<'de> Deserialize<'de> for ManageStock {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(match v {
            serde_json::Value::String(s) if s == "parent" => ManageStock::Parent,
            serde_json::Value::Bool(true) => ManageStock::Yes,
            serde_json::Value::String(s) if matches!(s.as_str(), "yes" | "true" | "1") => {
                ManageStock::Yes
            }
            serde_json::Value::Number(n) if n.as_f64().is_some_and(|f| f != 0.0) => {
                ManageStock::Yes
            }
            _ => ManageStock::No,
        })
    }
}
