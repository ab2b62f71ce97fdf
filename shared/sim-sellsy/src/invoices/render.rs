//! Rendering: the JSON answers built from a validated [`Built`] document — the stored `InvoiceItem` of
//! `POST /invoices`, the `InvoiceCompute` of `POST /invoices/compute` — and the rowless list/search summary.
//!
//! Kept apart from building because the answer shapes follow the spec's response schemas (fields omitted rather
//! than `null`, computed rows without `is_optional`), a concern of their own that changes with the spec, not
//! with Sellsy's validation rules.

use serde_json::{Value, json};

use super::document::Built;
use super::rows::rate_label;
use crate::compute::DocumentAmounts;
use crate::store::{STAFF_ID, Store, money, now_rfc3339, omit_nulls};
use crate::validate::{Obj, opt_value};

fn amounts_json(a: &DocumentAmounts, with_due: bool) -> Value {
    let mut v = json!({
        "total_raw_excl_tax": money(a.total_raw_excl_tax),
        "total_after_discount_excl_tax": money(a.total_after_discount_excl_tax),
        "total_packaging": money(a.total_packaging),
        "total_shipping": money(a.total_shipping),
        "total_excl_tax": money(a.total_excl_tax),
        "total_incl_tax": money(a.total_incl_tax),
    });
    if with_due {
        v["total_remaining_due_incl_tax"] = json!(money(a.total_incl_tax));
        v["total_primes_incl_tax"] = json!("0.00");
    }
    v
}

fn taxes_json(st: &Store, a: &DocumentAmounts) -> Value {
    Value::Array(
        a.taxes
            .iter()
            .map(|t| json!({"label": rate_label(st, t.tax_id).1, "id": t.tax_id, "rate": money(t.rate), "amount": money(t.amount)}))
            .collect(),
    )
}

fn display_name(party: &Obj) -> Value {
    if let Some(n) = party.get("name").and_then(Value::as_str) {
        return json!(n);
    }
    let first = party
        .get("first_name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let last = party
        .get("last_name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    json!(format!("{first} {last}").trim())
}

fn public_token(id: u64) -> String {
    // Stable per invoice, and not simply the id, like Sellsy's hashed public links.
    format!(
        "{:016x}",
        id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x0123_4567_89AB_CDEF
    )
}

pub(super) fn invoice_json(st: &Store, b: &Built, id: u64, origin: &str) -> Value {
    let body = &b.body;
    let get = |k: &str| opt_value(body, k);
    let mut json = json!({
        "id": id,
        "number": null,
        "status": "draft",
        "date": b.date,
        "due_date": b.date,
        "created": now_rfc3339(),
        "subject": get("subject"),
        "amounts": amounts_json(&b.amounts, true),
        "currency": b.currency,
        "taxes": taxes_json(st, &b.amounts),
        "discount": b.discount,
        "related": b.related,
        "public_link": {"enabled": b.public_link_enabled, "url": format!("{origin}/public/invoices/{id}/{}", public_token(id))},
        "payment_conditions_acceptance": {"enabled": false},
        "owner": {"id": STAFF_ID, "type": "staff"},
        "fiscal_year_id": null,
        "file_id": id,
        "pdf_link": format!("{origin}/pdf/invoices/{id}/{}.pdf", public_token(id)),
        "decimal_number": {"unit_price": null, "quantity": null, "main": 2},
        "assigned_staff_id": body.get("assigned_staff_id").cloned().unwrap_or(json!(STAFF_ID)),
        "contact_id": b.contact_id,
        "invoicing_address_id": b.invoicing_address_id,
        "delivery_address_id": b.delivery_address_id,
        "issuer_address_id": get("issuer_address_id"),
        "parent": null,
        "order_reference": get("order_reference"),
        "is_deposit": false,
        "rate_category_id": get("rate_category_id"),
        "service_dates": get("service_dates"),
        "note": body.get("note").cloned().unwrap_or(json!("")),
        "subscription_id": null,
        "is_sent_to_accounting": false,
        "shipping_date": get("shipping_date"),
        "shipping_volume": get("shipping_volume"),
        "shipping_weight": get("shipping_weight"),
        "company_reference": b.party_json.get("reference").cloned().unwrap_or(Value::Null),
        "company_name": display_name(&b.party_json),
        "layout_id": null,
        "lang_id": null,
        "vat_mode": body.get("vat_mode").cloned().unwrap_or(json!("debit")),
        "is_progress_invoice": false,
        "bank_account_id": get("bank_account_id"),
        "payment_method_ids": body.get("payment_method_ids").cloned().unwrap_or(json!([])),
        "check_label_id": get("check_label_id"),
        "analytic_code": get("analytic_code"),
        "sale_type": body.get("sale_type").cloned().unwrap_or_else(|| json!(sale_type(&b.rows))),
        "rows": b.rows,
    });
    if let Value::Object(o) = &mut json {
        // A draft has no number yet; the others are unset optional ids and values.
        omit_nulls(
            o,
            &[
                "number",
                "issuer_address_id",
                "rate_category_id",
                "subscription_id",
                "shipping_volume",
                "company_reference",
                "layout_id",
                "lang_id",
            ],
        );
    }
    json
}

fn sale_type(rows: &[Value]) -> &'static str {
    let is_service = |r: &Value| {
        r.get("related")
            .and_then(|x| x.get("type"))
            .and_then(Value::as_str)
            == Some("service")
    };
    let priced: Vec<&Value> = rows
        .iter()
        .filter(|r| r.get("amount_tax_exc").is_some())
        .collect();
    match (
        priced.iter().filter(|r| is_service(r)).count(),
        priced.len(),
    ) {
        (0, _) => "product",
        (s, n) if s == n => "service",
        _ => "mixed",
    }
}

/// The `InvoiceCompute` answer of `POST /invoices/compute`: the document as it would be created, without id,
/// number or links.
pub(super) fn compute_json(st: &Store, b: &Built) -> Value {
    // The computed rows (`EstimateCompute` rows, `additionalProperties: false`) have no `is_optional`.
    let rows: Vec<Value> = b
        .rows
        .iter()
        .cloned()
        .map(|mut r| {
            if let Value::Object(o) = &mut r {
                o.shift_remove("is_optional");
            }
            r
        })
        .collect();
    json!({
        "status": "draft",
        "date": b.date,
        "subject": opt_value(&b.body, "subject"),
        "amounts": amounts_json(&b.amounts, false),
        "currency": b.currency,
        "taxes": taxes_json(st, &b.amounts),
        "order_reference": opt_value(&b.body, "order_reference"),
        "discount": b.discount,
        "related": b.related,
        "owner": {"id": STAFF_ID, "type": "staff"},
        "payment_method_ids": b.body.get("payment_method_ids").cloned().unwrap_or(json!([])),
        "rows": rows,
        "shipping_weight": opt_value(&b.body, "shipping_weight"),
    })
}

/// The list/search representation (`Invoice`): the full invoice without its rows.
pub(super) fn summary(inv: &Obj) -> Value {
    let mut o = inv.clone();
    o.remove("rows");
    Value::Object(o)
}
