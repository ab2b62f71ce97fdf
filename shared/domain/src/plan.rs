//! The backend-neutral document plan.
//!
//! The mapping (pure, in `woosellsy-mapping`) turns a WooCommerce order into a [`DocumentPlan`]; an
//! accounting backend (Sellsy today, Dokos/ERPNext later) turns the plan into API calls. The plan says
//! *what* the document must contain and *what it must total*; it never names a backend id (tax ids,
//! item ids, customer ids are resolved by the backend from rates, SKUs and emails).
//!
//! Money is `rust_decimal::Decimal` everywhere. Unit amounts are excluding tax and may carry more than
//! two decimals (prices entered with tax); the backend sends them as strings, unchanged.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectorId, DocumentKind, OrderId};

/// Everything a backend needs to create one document, and the totals it must come to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentPlan {
    pub kind: DocumentKind,
    /// The connector the document is made for. With `order_id` it is the document's identity in the
    /// accounting system, written on the document when it is created and how a crashed attempt's document
    /// is recognised (never by the order's date or the customer, which can change in between).
    /// `None` only in plans serialised before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector: Option<ConnectorId>,
    pub order_id: OrderId,
    /// The order number the shop displays (`number`, may differ from the id with sequential-number plugins).
    pub order_number: String,
    /// What goes in the document's `order_reference`, e.g. `WC-1042` (for people: it is neither unique
    /// across connectors nor stable, see `connector`).
    pub order_reference: String,
    /// Document date (the day the order was paid, else created; store-local date).
    pub date: NaiveDate,
    /// ISO 4217 code of the order currency.
    pub currency: String,
    pub subject: String,
    pub customer: CustomerPlan,
    pub lines: Vec<PlanLine>,
    /// What each tax comes to on the document, as WooCommerce computed it.
    pub taxes: Vec<PlanTax>,
    /// What the document comes to, as WooCommerce computed it.
    pub totals: PlanTotals,
    /// Readable notes put on the document (coupon codes, rounding corrections applied, …).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerPlan {
    /// Lower-cased billing email: the matching key with the accounting system.
    pub email: String,
    pub kind: CustomerKind,
    pub phone: Option<String>,
    pub billing: Address,
    /// `None` when the order has no shipping address (virtual goods): bill-to is then ship-to.
    pub shipping: Option<Address>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CustomerKind {
    /// A person buying for themselves (no billing company).
    Individual {
        first_name: String,
        last_name: String,
    },
    /// A business (billing company set); the person becomes a contact of the company.
    Company {
        name: String,
        vat_number: Option<String>,
        contact_first_name: String,
        contact_last_name: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Label shown in the accounting system's address book (e.g. "Facturation", "Livraison").
    pub label: String,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub line1: String,
    pub line2: String,
    pub postal_code: String,
    pub city: String,
    pub state: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country_code: String,
}

/// What a line is in the shop, which decides how the backend represents it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LineSource {
    /// A product with a usable SKU (2+ characters): a catalog row on the item with that reference.
    /// For a variation, `parent_sku` is the parent product's SKU when known (declination lookup).
    Catalog {
        sku: String,
        parent_sku: Option<String>,
        is_variation: bool,
    },
    /// A product without a usable SKU: a free row; `reference` is the 1-character SKU when there is one.
    Product { reference: Option<String> },
    /// A shipping line (one row per WooCommerce shipping line, with its own tax).
    Shipping { method_id: String },
    /// A fee line (positive or negative).
    Fee,
    /// A correction row added by the mapping to reconcile rounding (documented where it is built).
    Rounding,
}

/// The tax that applies to a line or to a per-tax total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum TaxSpec {
    /// A positive rate in percent (e.g. `20`, `5.5`).
    Rate(Decimal),
    /// 0 %: the exemption the connector settings choose.
    Exempt(Exemption),
}

/// Why a line carries no VAT (UNTDID 5305 category / VATEX code on the Sellsy side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Exemption {
    /// Exempt (category E), e.g. VAT-free services or the French "franchise en base".
    #[default]
    Exempt,
    /// Intra-community supply to an EU business (category K, VATEX-EU-IC).
    IntraEu,
    /// Export outside the EU (category G, VATEX-EU-G).
    Export,
    /// Reverse charge (category AE, VATEX-EU-AE).
    ReverseCharge,
    /// Outside the scope of VAT (category O, VATEX-EU-O).
    OutOfScope,
}

impl Exemption {
    /// UNTDID 5305 tax category code.
    pub fn category(self) -> &'static str {
        match self {
            Exemption::Exempt => "E",
            Exemption::IntraEu => "K",
            Exemption::Export => "G",
            Exemption::ReverseCharge => "AE",
            Exemption::OutOfScope => "O",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanLine {
    pub source: LineSource,
    /// Short name (product name, shipping method title, fee name).
    pub name: String,
    /// Longer text printed on the row (variation attributes, coupon codes, notes).
    pub description: String,
    pub quantity: Decimal,
    /// Price of one unit, excluding tax, before the row discount. May carry more than 2 decimals.
    pub unit_amount: Decimal,
    pub tax: TaxSpec,
    pub discount: Option<LineDiscount>,
}

/// A discount on one row, as the accounting system applies it before tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum LineDiscount {
    /// An amount off the whole row (not per unit), excluding tax.
    Amount(Decimal),
    /// A percentage off the row.
    Percent(Decimal),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanTax {
    pub tax: TaxSpec,
    /// Sum of the rows' amounts excluding tax that carry this tax.
    pub base_excl_tax: Decimal,
    pub amount: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTotals {
    pub excl_tax: Decimal,
    pub tax: Decimal,
    pub incl_tax: Decimal,
}
