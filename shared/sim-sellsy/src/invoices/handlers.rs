//! Handlers: the invoice endpoints as the router calls them — create, compute, get, list/search and the
//! draft → due validation that assigns the legal number — and the store they read and write.
//!
//! Kept apart so that what touches the store (ids, numbering, status) reads in one place, away from the
//! validation in `document`/`rows` and the answer shapes in `render`.

use serde_json::{Value, json};

use super::document::build;
use super::render::{compute_json, invoice_json, summary};
use crate::error::{ApiError, ApiResult, Reply};
use crate::pagination::Page;
use crate::server::Ctx;
use crate::store::{STAFF_ID, Seq, Store, today};
use crate::validate::{
    Checker, Obj, body_object, filter_range, in_range, is_date, optional_body_object, to_obj,
};

const STATUSES: &[&str] = &["draft", "due", "payinprogress", "paid", "late", "cancelled"];
const INVOICE_ORDERS: &[&str] = &["id", "number", "created", "date", "amount", "due_date"];

pub(crate) fn create(st: &mut Store, ctx: &Ctx<'_>) -> ApiResult {
    let body = body_object(ctx.body)?;
    let built = build(st, body)?;
    let id = st.next_id(Seq::Invoice);
    let mut json = invoice_json(st, &built, id, ctx.origin);
    if let Some(rows) = json.get_mut("rows").and_then(Value::as_array_mut) {
        for row in rows {
            let rid = st.next_id(Seq::Row);
            if let Some(o) = row.as_object_mut() {
                o.insert("id".into(), json!(rid));
            }
        }
    }
    let _ = built.party;
    st.invoices.insert(id, to_obj(json.clone()));
    Ok(Reply::created(json))
}

/// `POST /invoices/compute`: same validation as create, answers the `InvoiceCompute` shape, stores nothing.
pub(crate) fn compute(st: &mut Store, ctx: &Ctx<'_>) -> ApiResult {
    let body = body_object(ctx.body)?;
    let b = build(st, body)?;
    Ok(Reply::ok(compute_json(st, &b)))
}

pub(crate) fn get(st: &Store, id: u64) -> ApiResult {
    st.invoices
        .get(&id)
        .map(|o| Reply::ok(Value::Object(o.clone())))
        .ok_or_else(|| ApiError::not_found("Invoice"))
}

/// Criteria of `POST /invoices/search`. Filters the spec does not define (e.g. `order_reference`) are ignored,
/// as the schema does not forbid extra properties.
#[derive(Default)]
pub(crate) struct Filters {
    related: Option<Vec<(String, u64)>>,
    date: Option<(Option<String>, Option<String>)>,
    created: Option<(Option<String>, Option<String>)>,
    status: Option<Vec<String>>,
    number: Option<String>,
    currency: Option<String>,
    owners: Option<Vec<u64>>,
    contacts: Option<Vec<u64>>,
    credit_note: bool,
    is_deposit: Option<bool>,
    is_progress: Option<bool>,
}

pub(crate) fn list(st: &Store, ctx: &Ctx<'_>, filters: Option<Filters>) -> ApiResult {
    let page = Page::from_query(ctx.query, INVOICE_ORDERS)?;
    let f = filters.unwrap_or_default();
    let s = |o: &Obj, k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
    let items = st
        .invoices
        .iter()
        .filter(|(_, o)| {
            let related: Vec<(String, u64)> = o
                .get("related")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|r| {
                            Some((r.get("type")?.as_str()?.to_string(), r.get("id")?.as_u64()?))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let date = s(o, "date").unwrap_or_default();
            f.related
                .as_ref()
                .is_none_or(|want| want.iter().any(|w| related.contains(w)))
                && f.date.as_ref().is_none_or(|(a, b)| {
                    a.as_ref().is_none_or(|a| date >= *a) && b.as_ref().is_none_or(|b| date <= *b)
                })
                && in_range(s(o, "created").as_deref(), &f.created)
                && f.status
                    .as_ref()
                    .is_none_or(|st| s(o, "status").is_some_and(|x| st.contains(&x)))
                && f.number
                    .as_ref()
                    .is_none_or(|n| s(o, "number").as_ref() == Some(n))
                && f.currency
                    .as_ref()
                    .is_none_or(|c| s(o, "currency").as_ref() == Some(c))
                && f.owners.as_ref().is_none_or(|w| w.contains(&STAFF_ID))
                && f.contacts.as_ref().is_none_or(|w| {
                    o.get("contact_id")
                        .and_then(Value::as_u64)
                        .is_some_and(|c| w.contains(&c))
                })
                && !f.credit_note
                && f.is_deposit.is_none_or(|d| !d)
                && f.is_progress.is_none_or(|d| !d)
        })
        .map(|(id, o)| (*id, summary(o)))
        .collect();
    Ok(Reply::ok(page.apply(items)))
}
pub(crate) fn search(st: &Store, ctx: &Ctx<'_>) -> ApiResult {
    Page::from_query(ctx.query, INVOICE_ORDERS)?;
    let body = body_object(ctx.body)?;
    let mut c = Checker::new();
    let f = c
        .object(&body, "", "filters", true)
        .cloned()
        .unwrap_or_default();
    let mut filters = Filters::default();
    if let Some(arr) = c.array(&f, "filters", "related_objects", false) {
        let mut out = Vec::new();
        for (i, v) in arr.iter().enumerate() {
            let p = format!("filters.related_objects[{i}]");
            match v.as_object() {
                Some(o) => {
                    let ty = c.one_of(
                        o,
                        &p,
                        "type",
                        true,
                        &["company", "individual", "opportunity"],
                    );
                    let id = c.id(o, &p, "id", true);
                    if let (Some(ty), Some(id)) = (ty, id) {
                        out.push((ty, id));
                    }
                }
                None => c.fail(p, "must be an object"),
            }
        }
        filters.related = Some(out);
    }
    filters.date = filter_range(&mut c, &f, "date", false);
    filters.created = filter_range(&mut c, &f, "created", true);
    if let Some(arr) = c.array(&f, "filters", "status", false) {
        let mut out = Vec::new();
        for (i, v) in arr.iter().enumerate() {
            match v.as_str() {
                Some(s) if STATUSES.contains(&s) => out.push(s.to_string()),
                _ => c.fail(
                    format!("filters.status[{i}]"),
                    format!("must be one of: {}", STATUSES.join(", ")),
                ),
            }
        }
        filters.status = Some(out);
    }
    filters.number = c.string(&f, "filters", "number", false, 0, 100);
    filters.currency = c.string(&f, "filters", "currency", false, 0, 5);
    filters.owners = c.id_array(&f, "filters", "owners");
    filters.contacts = c.id_array(&f, "filters", "contacts");
    c.id_array(&f, "filters", "assigned_staff_ids");
    filters.credit_note = c.id(&f, "filters", "credit_note_id", false).is_some();
    c.integer(&f, "filters", "favourite_filter", false, 0);
    filters.is_deposit = c.boolean(&f, "filters", "is_deposit");
    filters.is_progress = c.boolean(&f, "filters", "is_progress_invoice");
    c.finish()?;
    list(st, ctx, Some(filters))
}

/// `POST /invoices/{id}/validate` `{"date"?}`: draft → due, assigns the definitive number.
pub(crate) fn validate(st: &mut Store, ctx: &Ctx<'_>, id: u64) -> ApiResult {
    if !st.invoices.contains_key(&id) {
        return Err(ApiError::not_found("Invoice"));
    }
    let body = optional_body_object(ctx.body)?;
    let mut c = Checker::new();
    let date = c.date(&body, "", "date");
    if let Some(d) = &date
        && is_date(d)
        && *d > today()
    {
        c.fail("date", "the validation date cannot be in the future");
    }
    c.finish()?;
    let status = st
        .invoices
        .get(&id)
        .and_then(|o| o.get("status"))
        .and_then(Value::as_str)
        .map(str::to_string);
    if status.as_deref() != Some("draft") {
        return Err(ApiError::bad_request(format!(
            "Only a draft invoice can be validated (status is {})",
            status.unwrap_or_default()
        ))
        .with_context("invalid_status"));
    }
    let seq = st.next_id(Seq::InvoiceNumber);
    let Some(inv) = st.invoices.get_mut(&id) else {
        return Err(ApiError::not_found("Invoice"));
    };
    if let Some(d) = date {
        inv.insert("date".into(), json!(d));
        inv.insert("due_date".into(), json!(d));
    }
    let year = inv
        .get("date")
        .and_then(Value::as_str)
        .and_then(|d| d.get(..4))
        .unwrap_or("0000")
        .to_string();
    inv.insert("number".into(), json!(format!("FAC-{year}-{seq:05}")));
    inv.insert("status".into(), json!("due"));
    Ok(Reply::ok(Value::Object(inv.clone())))
}
