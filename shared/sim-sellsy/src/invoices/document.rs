//! Building a document: the strict check of an `InvoiceCreate` body (shared by `POST /invoices` and
//! `POST /invoices/compute`), its third party, contact and addresses, and its amounts through
//! [`crate::compute`].
//!
//! Kept apart from rendering so that the create and compute answers, which differ in shape, are built from one
//! validated [`Built`], and from the rows because the document-level rules (who is invoiced, global discount,
//! defaults taken from the party) are independent of each row's.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::rows::{self, check_discount, check_row};
use crate::compute::{self, DocumentAmounts, RowDiscount};
use crate::error::ApiError;
use crate::parties::owns_address;
use crate::store::{PartyKind, STAFF_ID, Store, money, today};
use crate::validate::{Checker, Obj, join};

/// A validated invoice body with its computed amounts.
pub(super) struct Built {
    pub(super) related: Vec<Value>,
    pub(super) party: (PartyKind, u64),
    pub(super) party_json: Obj,
    pub(super) contact_id: Option<u64>,
    pub(super) date: String,
    pub(super) currency: String,
    pub(super) public_link_enabled: bool,
    pub(super) invoicing_address_id: Value,
    pub(super) delivery_address_id: Value,
    pub(super) discount: Value,
    pub(super) amounts: DocumentAmounts,
    pub(super) rows: Vec<Value>,
    pub(super) body: Obj,
}

/// Validates an `InvoiceCreate` body and computes its amounts. Nothing is stored.
pub(super) fn build(st: &Store, body: Obj) -> Result<Built, ApiError> {
    let mut c = Checker::new();

    let (party, contact_id, related_out) = check_related(st, &mut c, &body);

    // Top-level scalars.
    c.string(&body, "", "number", false, 0, 100);
    let date = c.date(&body, "", "date");
    c.date(&body, "", "due_date");
    c.datetime(&body, "", "created");
    c.string(&body, "", "subject", false, 0, 65_535);
    let currency = c.string(&body, "", "currency", false, 0, 5);
    if let Some(cur) = &currency
        && !st.currencies.contains(cur)
    {
        c.fail(
            "currency",
            format!("currency {cur} is not enabled on the account"),
        );
    }
    let global = check_discount(&mut c, &body, "");
    if let Some(pl) = c.object(&body, "", "public_link", false) {
        c.boolean(pl, "public_link", "enabled");
    }
    let public_link_enabled = c
        .boolean(&body, "", "public_link_enabled")
        .or_else(|| {
            body.get("public_link")
                .and_then(|p| p.get("enabled"))
                .and_then(Value::as_bool)
        })
        .unwrap_or(false);
    c.integer(&body, "", "assigned_staff_id", false, 1);
    if let Some(owner) = c.id(&body, "", "owner_id", false)
        && owner != STAFF_ID
    {
        c.fail("owner_id", format!("staff {owner} not found"));
    }
    c.string(&body, "", "order_reference", false, 0, 100);
    if let Some(sd) = c.object(&body, "", "service_dates", false) {
        let start = c.date(sd, "service_dates", "start");
        let end = c.date(sd, "service_dates", "end");
        if let (Some(s), Some(e)) = (start, end)
            && e <= s
        {
            c.fail(
                "service_dates.end",
                "end date must be greater than start date",
            );
        }
    }
    let invoicing_address_id = address_field(st, &mut c, &body, party, "invoicing_address_id");
    let delivery_address_id = address_field(st, &mut c, &body, party, "delivery_address_id");
    c.integer(&body, "", "issuer_address_id", false, 1);
    c.string(&body, "", "note", false, 0, 65_535);
    c.date(&body, "", "shipping_date");
    c.decimal(&body, "", "shipping_volume", false);
    if let Some(w) = c.object(&body, "", "shipping_weight", false) {
        c.one_of(
            w,
            "shipping_weight",
            "unit",
            false,
            &["g", "kg", "oz", "lb"],
        );
        c.decimal(w, "shipping_weight", "value", false);
    }
    c.integer(&body, "", "bank_account_id", false, 1);
    c.id_array(&body, "", "payment_method_ids");
    c.integer(&body, "", "eco_tax_id", false, 1);
    c.integer(&body, "", "check_label_id", false, 1);
    c.one_of(&body, "", "vat_mode", false, &["debit", "collection"]);
    c.string(&body, "", "vat_mention", false, 0, 255);
    c.string(&body, "", "analytic_code", false, 0, 13);
    c.one_of(
        &body,
        "",
        "sale_type",
        false,
        &["product", "service", "mixed"],
    );
    c.integer(&body, "", "rate_category_id", false, 1);
    if let Some(pt) = c.object(&body, "", "payment_terms", false) {
        c.id(pt, "payment_terms", "id", true);
        let codes = [
            "onorder",
            "endmonth",
            "received",
            "oninvoice",
            "nextmonth",
            "30days",
            "45days",
            "60days",
            "xdays",
            "scaled",
            "custom",
            "deadlines",
        ];
        c.one_of(pt, "payment_terms", "code", false, &codes);
        if let Some(dl) = c.array(pt, "payment_terms", "deadlines", false) {
            for (i, d) in dl.iter().enumerate() {
                let p = format!("payment_terms.deadlines[{i}]");
                match d.as_object() {
                    Some(o) => {
                        c.date(o, &p, "date");
                        c.decimal(o, &p, "amount", true);
                    }
                    None => c.fail(p, "must be an object"),
                }
            }
        }
    }
    if let Some(parent) = body.get("parent").filter(|p| !p.is_null()) {
        let ty = parent
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("parent");
        let id = parent.get("id").map(Value::to_string).unwrap_or_default();
        c.fail("parent", format!("{ty} {id} not found"));
    }
    c.object(&body, "", "settings", false);

    // Rows.
    let mut plans = Vec::new();
    if let Some(rows) = c.array(&body, "", "rows", false) {
        for (i, v) in rows.iter().enumerate() {
            if let Some(p) = check_row(st, &mut c, i, v) {
                plans.push(p);
            }
        }
    }
    c.finish()?;
    let Some((kind, pid)) = party else {
        return Err(ApiError::bad_request(
            "related: there must be exactly one company or one individual",
        ));
    };

    let amounts = compute::compute(
        &rows::totalled_inputs(&plans),
        global.as_ref().map(|(d, ..)| d),
        st.rounding,
    );
    let rows_out = rows::priced_rows(plans, &amounts);

    let discount = global.as_ref().map_or(Value::Null, |(d, ty, _)| {
        let amount = amounts
            .total_raw_excl_tax
            .saturating_sub(amounts.total_after_discount_excl_tax);
        let percent = match d {
            RowDiscount::Percent(p) => *p,
            RowDiscount::Amount(_) => amount
                .checked_mul(Decimal::ONE_HUNDRED)
                .and_then(|x| x.checked_div(amounts.total_raw_excl_tax))
                .unwrap_or(Decimal::ZERO),
        };
        json!({"percent": money(percent), "amount": money(amount), "type": ty})
    });
    let party_json = st.party(kind, pid).cloned().unwrap_or_default();
    let default_address = |k: &str| party_json.get(k).cloned().unwrap_or(Value::Null);
    Ok(Built {
        related: related_out,
        party: (kind, pid),
        invoicing_address_id: if invoicing_address_id.is_null() {
            default_address("invoicing_address_id")
        } else {
            invoicing_address_id
        },
        delivery_address_id: if delivery_address_id.is_null() {
            default_address("delivery_address_id")
        } else {
            delivery_address_id
        },
        party_json,
        contact_id,
        date: date.unwrap_or_else(today),
        currency: currency.unwrap_or_else(|| st.default_currency()),
        public_link_enabled,
        discount,
        amounts,
        rows: rows_out,
        body,
    })
}

/// An address id that must belong to the invoiced third party; `null` when absent.
fn address_field(
    st: &Store,
    c: &mut Checker,
    body: &Obj,
    party: Option<(PartyKind, u64)>,
    key: &str,
) -> Value {
    let Some(id) = c.id(body, "", key, false) else {
        return Value::Null;
    };
    if let Some(owner) = party
        && !owns_address(st, owner, id)
    {
        c.fail(
            key,
            format!(
                "address {id} does not belong to the related {}",
                owner.0.as_str()
            ),
        );
    }
    json!(id)
}

/// `related`: exactly one company or individual of type client, at most one contact, which must be a contact of
/// that company. Returns the invoiced party, the contact and the `related` echoed in the answer.
fn check_related(
    st: &Store,
    c: &mut Checker,
    body: &Obj,
) -> (Option<(PartyKind, u64)>, Option<u64>, Vec<Value>) {
    let mut party: Option<(PartyKind, u64)> = None;
    let mut contact_id = None;
    let mut related_out = Vec::new();
    let mut party_count = 0;
    let mut contact_count = 0;
    if let Some(arr) = c.array(body, "", "related", true) {
        for (i, v) in arr.iter().enumerate() {
            let p = format!("related[{i}]");
            let Some(o) = v.as_object() else {
                c.fail(&p, "must be an object");
                continue;
            };
            let ty = c.one_of(
                o,
                &p,
                "type",
                true,
                &["company", "individual", "opportunity", "contact"],
            );
            let id = c.id(o, &p, "id", true);
            let (Some(ty), Some(id)) = (ty, id) else {
                continue;
            };
            related_out.push(json!({"id": id, "type": ty}));
            match ty.as_str() {
                "company" | "individual" => {
                    party_count += 1;
                    let kind = if ty == "company" {
                        PartyKind::Company
                    } else {
                        PartyKind::Individual
                    };
                    match st.party(kind, id) {
                        None => c.fail(join(&p, "id"), format!("{ty} {id} not found")),
                        Some(o) => match o.get("type").and_then(Value::as_str) {
                            Some("client") => party = Some((kind, id)),
                            other => c.fail(
                                &p,
                                format!(
                                    "only a {ty} of type client can be invoiced ({ty} {id} is a {}); convert it first",
                                    other.unwrap_or("unknown type")
                                ),
                            ),
                        },
                    }
                }
                "contact" => {
                    contact_count += 1;
                    if !st.contacts.contains_key(&id) {
                        c.fail(join(&p, "id"), format!("contact {id} not found"));
                    } else {
                        contact_id = Some((id, p.clone()));
                    }
                }
                _ => c.fail(join(&p, "id"), format!("opportunity {id} not found")),
            }
        }
        if party_count != 1 {
            c.fail(
                "related",
                "there must be exactly one company or one individual",
            );
        }
        if contact_count > 1 {
            c.fail("related", "there may be at most one contact");
        }
    }
    if let (Some((id, p)), Some((kind, pid))) = (&contact_id, party) {
        let linked = kind == PartyKind::Company && st.company_contacts.contains_key(&(pid, *id));
        if !linked {
            c.fail(
                join(p, "id"),
                format!("contact {id} is not a contact of the related company"),
            );
        }
    }
    (party, contact_id.map(|(id, _)| id), related_out)
}
