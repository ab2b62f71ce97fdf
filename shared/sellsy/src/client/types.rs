//! Request and response bodies of the Sellsy API v2 operations the connector uses, hand-written from
//! the official spec (2.264) because its `oneOf` rows have no discriminator and its `$ref`s point into
//! other schemas, which code generators choke on.
//!
//! Responses ignore unknown fields and default missing ones (Sellsy adds fields and enum values
//! without notice; "a missing field is not equal to null"). Enums that Sellsy may extend (`type`,
//! `status`) are kept as strings on the read side. Money, quantities and rates sent to Sellsy are
//! JSON strings; the tax `rate` Sellsy returns is a JSON number, read leniently.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};

/// Sellsy object ids are integers, unique per account only.
pub type Id = u64;

/// One page of a list or search answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    #[serde(default)]
    pub pagination: Pagination,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Pagination {
    #[serde(default)]
    pub limit: u64,
    #[serde(default)]
    pub count: u64,
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub offset: Option<Offset>,
}

/// `pagination.offset`: an opaque cursor in seek mode (the default), a number in numeric mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Offset {
    Number(u64),
    Cursor(String),
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Offset::Number(n) => write!(f, "{n}"),
            Offset::Cursor(c) => f.write_str(c),
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Third parties

/// Which kind of third party a customer is in Sellsy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThirdPartyKind {
    Individual,
    Company,
}

impl ThirdPartyKind {
    /// The `type` used in `related` and `related_objects`.
    pub fn as_str(self) -> &'static str {
        match self {
            ThirdPartyKind::Individual => "individual",
            ThirdPartyKind::Company => "company",
        }
    }
    /// The collection in API paths.
    pub fn collection(self) -> &'static str {
        match self {
            ThirdPartyKind::Individual => "individuals",
            ThirdPartyKind::Company => "companies",
        }
    }
}

/// A customer in Sellsy: `individual:42` or `company:7` (also its form in the mapping cache).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThirdPartyRef {
    pub kind: ThirdPartyKind,
    pub id: Id,
}

impl fmt::Display for ThirdPartyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.id)
    }
}

impl FromStr for ThirdPartyRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, id) = s
            .split_once(':')
            .ok_or_else(|| format!("not a customer reference: {s:?}"))?;
        let kind = match kind {
            "individual" => ThirdPartyKind::Individual,
            "company" => ThirdPartyKind::Company,
            _ => return Err(format!("not a customer reference: {s:?}")),
        };
        let id = id
            .parse()
            .map_err(|_| format!("not a customer reference: {s:?}"))?;
        Ok(ThirdPartyRef { kind, id })
    }
}

/// `type` of a company or an individual.
pub const THIRD_PARTY_CLIENT: &str = "client";
pub const THIRD_PARTY_PROSPECT: &str = "prospect";

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Individual {
    pub id: Id,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub is_archived: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Company {
    pub id: Id,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub is_archived: bool,
    #[serde(default)]
    pub main_contact_id: Option<Id>,
}

/// What the connector needs to know of a found company or individual.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThirdPartySummary {
    pub party: ThirdPartyRef,
    /// `client`, `prospect`, `supplier` (or a type Sellsy adds later).
    pub kind: String,
    pub email: Option<String>,
    pub is_archived: bool,
}

impl From<&Individual> for ThirdPartySummary {
    fn from(i: &Individual) -> Self {
        ThirdPartySummary {
            party: ThirdPartyRef {
                kind: ThirdPartyKind::Individual,
                id: i.id,
            },
            kind: i.kind.clone(),
            email: i.email.clone(),
            is_archived: i.is_archived,
        }
    }
}

impl From<&Company> for ThirdPartySummary {
    fn from(c: &Company) -> Self {
        ThirdPartySummary {
            party: ThirdPartyRef {
                kind: ThirdPartyKind::Company,
                id: c.id,
            },
            kind: c.kind.clone(),
            email: c.email.clone(),
            is_archived: c.is_archived,
        }
    }
}

/// `POST /individuals`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewIndividual {
    /// `client` for a customer we invoice.
    #[serde(rename = "type")]
    pub kind: String,
    pub last_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

/// `legal_france` of a company; only what the connector fills.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LegalFrance {
    /// Intra-community VAT number (2–15 characters).
    pub vat: String,
}

/// `POST /companies`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewCompany {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_france: Option<LegalFrance>,
}

/// `POST /contacts`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewContact {
    pub last_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Contact {
    pub id: Id,
    #[serde(default)]
    pub email: Option<String>,
}

// ---------------------------------------------------------------------------------------------------
// Addresses

/// `POST /{companies|individuals}/{id}/addresses` (`AddressCreate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewAddress {
    /// 2–200 characters.
    pub name: String,
    /// Required, ≤250.
    pub address_line_1: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line_2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line_3: Option<String>,
    /// 2–30 characters.
    pub postal_code: String,
    /// 2–250 characters.
    pub city: String,
    /// Exactly 2 letters.
    pub country_code: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Address {
    pub id: Id,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address_line_1: Option<String>,
    #[serde(default)]
    pub address_line_2: Option<String>,
    #[serde(default)]
    pub address_line_3: Option<String>,
    #[serde(default)]
    pub address_line_4: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub country_code: Option<String>,
}

// ---------------------------------------------------------------------------------------------------
// Items, declinations, taxes, currencies

/// `type` of a catalog item usable on a `catalog` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CatalogItemType {
    Product,
    Service,
}

impl CatalogItemType {
    pub fn as_str(self) -> &'static str {
        match self {
            CatalogItemType::Product => "product",
            CatalogItemType::Service => "service",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "product" => Some(CatalogItemType::Product),
            "service" => Some(CatalogItemType::Service),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Item {
    pub id: Id,
    /// `product`, `service`, `shipping`, `packaging`.
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub reference: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub tax_id: Option<Id>,
    #[serde(default)]
    pub is_archived: bool,
    #[serde(default)]
    pub is_declined: bool,
}

/// `POST /items`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewItem {
    #[serde(rename = "type")]
    pub kind: CatalogItemType,
    pub reference: String,
    pub name: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub reference_price: Decimal,
    /// `reference_price` is excluding tax.
    pub is_reference_price_taxes_free: bool,
    pub tax_id: Id,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Declination {
    pub id: Id,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub item_id: Option<Id>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Tax {
    pub id: Id,
    /// A JSON number in `GET /taxes` (`20`, `5.5`); read through its decimal text, never a float.
    #[serde(default, deserialize_with = "lenient_decimal")]
    pub rate: Option<Decimal>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub is_active: bool,
    #[serde(default)]
    pub is_ecotax: bool,
    /// UNTDID 5305: `S`, `E`, `K`, `G`, `AE`, `O`, `Z`.
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub vatex: Option<String>,
    #[serde(default)]
    pub is_einvoicing_compliant: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Currency {
    #[serde(default)]
    pub id: Id,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub symbol: Option<String>,
    #[serde(default)]
    pub is_default: bool,
}

// ---------------------------------------------------------------------------------------------------
// Invoices

/// An entry of `related` (documents) or `related_objects` (invoice search).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Related {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Id,
}

impl From<ThirdPartyRef> for Related {
    fn from(p: ThirdPartyRef) -> Self {
        Related {
            kind: p.kind.as_str().to_owned(),
            id: p.id,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscountType {
    Amount,
    Percent,
}

/// `rows[].discount`: `{"type":"amount"|"percent","value":"2.50"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowDiscount {
    #[serde(rename = "type")]
    pub kind: DiscountType,
    #[serde(with = "rust_decimal::serde::str")]
    pub value: Decimal,
}

/// `rows[].related` of a `catalog` row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogRelated {
    pub id: Id,
    #[serde(rename = "type")]
    pub kind: CatalogItemType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declination_id: Option<Id>,
}

/// A free row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SingleRow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub description: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    /// Excluding tax.
    #[serde(with = "rust_decimal::serde::str")]
    pub unit_amount: Decimal,
    pub tax_id: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount: Option<RowDiscount>,
}

/// A row on a catalog item (product or service, optionally one of its declinations).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogRow {
    pub related: CatalogRelated,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub description: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub unit_amount: Decimal,
    pub tax_id: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount: Option<RowDiscount>,
}

/// `rows[]` of a document to create (the spec's `oneOf`, discriminated on `type`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Row {
    Single(SingleRow),
    Catalog(CatalogRow),
    Comment { text: String },
}

/// `POST /invoices` and `POST /invoices/compute`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewInvoice {
    /// Exactly one company or individual, of type `client`.
    pub related: Vec<Related>,
    pub date: NaiveDate,
    pub subject: String,
    pub currency: String,
    /// ≤100 characters.
    pub order_reference: String,
    /// Without it the public link shows "Document inaccessible".
    pub public_link_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoicing_address_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_address_id: Option<Id>,
    pub rows: Vec<Row>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PublicLink {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Amounts {
    #[serde(default, deserialize_with = "lenient_decimal")]
    pub total_raw_excl_tax: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    pub total_after_discount_excl_tax: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    pub total_shipping: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    pub total_excl_tax: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    pub total_incl_tax: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    pub total_remaining_due_incl_tax: Option<Decimal>,
}

/// `taxes[]` of a document: what each tax comes to.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DocumentTax {
    #[serde(default)]
    pub id: Id,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    pub rate: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient_decimal")]
    pub amount: Option<Decimal>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Invoice {
    pub id: Id,
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub order_reference: Option<String>,
    /// HTML; the connector writes the document's identity on its first line.
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default = "Vec::new")]
    pub related: Vec<Related>,
    #[serde(default)]
    pub public_link: Option<PublicLink>,
    #[serde(default)]
    pub pdf_link: Option<String>,
    #[serde(default)]
    pub amounts: Option<Amounts>,
    #[serde(default = "Vec::new")]
    pub taxes: Vec<DocumentTax>,
}

/// `POST /invoices/compute`: the totals Sellsy would give the invoice.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ComputedInvoice {
    #[serde(default)]
    pub amounts: Option<Amounts>,
    #[serde(default = "Vec::new")]
    pub taxes: Vec<DocumentTax>,
    #[serde(default)]
    pub currency: Option<String>,
}

/// `filters.created` of `POST /invoices/search`: date-times with an offset (`2020-01-01T00:00:00+00:00`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreatedRange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

impl CreatedRange {
    /// Invoices created at `start` or later.
    pub fn since(start: chrono::DateTime<chrono::Utc>) -> Self {
        CreatedRange {
            start: Some(start.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)),
            end: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DateRange {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// `filters` of `POST /invoices/search` (there is no filter on `order_reference`, the note or custom fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InvoiceFilters {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related_objects: Vec<Related>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<DateRange>,
    /// When Sellsy created the invoice (its own clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<CreatedRange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

// ---------------------------------------------------------------------------------------------------

/// A decimal sent as a JSON string, a JSON number or null. Numbers are read through their text
/// (`5.5` → `5.5`), so no binary float rounding leaks in.
pub(crate) fn lenient_decimal<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Decimal>, D::Error> {
    use serde::de::Error as _;
    let v = serde_json::Value::deserialize(d)?;
    match v {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) if s.trim().is_empty() => Ok(None),
        serde_json::Value::String(s) => parse_decimal(s.trim()).map(Some).map_err(D::Error::custom),
        serde_json::Value::Number(n) => parse_decimal(&n.to_string())
            .map(Some)
            .map_err(D::Error::custom),
        other => Err(D::Error::custom(format!("expected a decimal, got {other}"))),
    }
}

fn parse_decimal(s: &str) -> Result<Decimal, String> {
    Decimal::from_str(s)
        .or_else(|_| Decimal::from_scientific(s))
        .map_err(|e| format!("invalid decimal {s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    #[test]
    fn tax_rates_are_read_from_numbers_and_strings_without_floats() {
        let taxes: Vec<Tax> = serde_json::from_value(json!([
            {"id": 1, "rate": 20, "is_active": true},
            {"id": 2, "rate": 5.5},
            {"id": 3, "rate": "2.10"},
            {"id": 4, "rate": null},
            {"id": 5}
        ]))
        .unwrap();
        assert_eq!(taxes[0].rate, Some(dec!(20)));
        assert_eq!(taxes[1].rate, Some(dec!(5.5)));
        assert_eq!(taxes[2].rate, Some(dec!(2.1)));
        assert_eq!(taxes[3].rate, None);
        assert_eq!(taxes[4].rate, None);
    }

    #[test]
    fn rows_serialise_amounts_as_strings_exactly_as_given() {
        let row = Row::Catalog(CatalogRow {
            related: CatalogRelated {
                id: 12,
                kind: CatalogItemType::Product,
                declination_id: None,
            },
            reference: Some("TS-M".into()),
            description: "T-shirt".into(),
            quantity: dec!(2),
            unit_amount: dec!(24.9167),
            tax_id: 7,
            discount: Some(RowDiscount {
                kind: DiscountType::Percent,
                value: dec!(10.00),
            }),
        });
        assert_eq!(
            serde_json::to_value(&row).unwrap(),
            json!({"type": "catalog", "related": {"id": 12, "type": "product"}, "reference": "TS-M",
                   "description": "T-shirt", "quantity": "2", "unit_amount": "24.9167", "tax_id": 7,
                   "discount": {"type": "percent", "value": "10.00"}})
        );
    }

    #[test]
    fn pagination_offset_is_int_or_string() {
        let p: Page<Currency> = serde_json::from_value(json!({
            "data": [{"id": 1, "code": "EUR"}],
            "pagination": {"limit": 25, "count": 1, "total": 1, "offset": "WyIxIl0="}
        }))
        .unwrap();
        assert_eq!(p.pagination.offset, Some(Offset::Cursor("WyIxIl0=".into())));
        let p: Page<Currency> = serde_json::from_value(
            json!({"data": [], "pagination": {"limit": 25, "count": 0, "total": 0, "offset": 3}}),
        )
        .unwrap();
        assert_eq!(p.pagination.offset, Some(Offset::Number(3)));
    }

    #[test]
    fn third_party_refs_round_trip() {
        let r: ThirdPartyRef = "company:7".parse().unwrap();
        assert_eq!(
            r,
            ThirdPartyRef {
                kind: ThirdPartyKind::Company,
                id: 7
            }
        );
        assert_eq!(r.to_string(), "company:7");
        assert!("contact:7".parse::<ThirdPartyRef>().is_err());
        assert!("company:x".parse::<ThirdPartyRef>().is_err());
    }
}
