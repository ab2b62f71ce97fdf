//! Reference data and catalog endpoints: `/taxes`, `/currencies`, `/items` (create, get, search) and item
//! declinations (list and search; declinations cannot be created through API v2).

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, Reply};
use crate::pagination::Page;
use crate::server::Ctx;
use crate::store::{Item, Seq, Store, item_json};
use crate::validate::{Checker, body_object};

pub(crate) fn list_taxes(st: &Store, ctx: &Ctx<'_>) -> ApiResult {
    let page = Page::from_query(ctx.query, &["id", "rank"])?;
    let items = st.taxes.values().map(|t| (t.id, t.to_json())).collect();
    Ok(Reply::ok(page.apply(items)))
}

pub(crate) fn search_taxes(st: &Store, ctx: &Ctx<'_>) -> ApiResult {
    let page = Page::from_query(ctx.query, &["id", "rank"])?;
    let body = body_object(ctx.body)?;
    let mut c = Checker::new();
    let filters = c
        .object(&body, "", "filters", false)
        .cloned()
        .unwrap_or_default();
    let (mut min, mut max) = (None, None);
    if let Some(rate) = c.object(&filters, "filters", "rate", false) {
        // Tax rates are JSON numbers in this API (the exception to the decimals-as-strings rule).
        for (key, slot) in [("min", &mut min), ("max", &mut max)] {
            match rate.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::Number(n)) => *slot = n.to_string().parse::<Decimal>().ok(),
                Some(_) => c.fail(format!("filters.rate.{key}"), "must be a number"),
            }
        }
    }
    let label = c.string(&filters, "filters", "label", false, 0, 250);
    let active = c.boolean(&filters, "filters", "is_active");
    c.finish()?;
    let items = st
        .taxes
        .values()
        .filter(|t| min.is_none_or(|m| t.rate >= m) && max.is_none_or(|m| t.rate <= m))
        .filter(|t| {
            label
                .as_ref()
                .is_none_or(|l| t.label.to_lowercase().contains(&l.to_lowercase()))
        })
        .filter(|t| active.is_none_or(|a| t.is_active == a))
        .map(|t| (t.id, t.to_json()))
        .collect();
    Ok(Reply::ok(page.apply(items)))
}

pub(crate) fn get_tax(st: &Store, id: u64) -> ApiResult {
    st.taxes
        .get(&id)
        .map(|t| Reply::ok(t.to_json()))
        .ok_or_else(|| ApiError::not_found("Tax"))
}

fn currency_symbol(code: &str) -> &'static str {
    match code {
        "EUR" => "€",
        "USD" => "$",
        "GBP" => "£",
        "CHF" => "CHF",
        "JPY" => "¥",
        _ => "",
    }
}

pub(crate) fn list_currencies(st: &Store, ctx: &Ctx<'_>) -> ApiResult {
    let page = Page::from_query(ctx.query, &["id"])?;
    let default = st.default_currency();
    let items = st
        .currencies
        .iter()
        .enumerate()
        .map(|(i, code)| {
            let id = i as u64 + 1;
            (id, json!({"id": id, "code": code, "symbol": currency_symbol(code), "is_default": *code == default}))
        })
        .collect();
    Ok(Reply::ok(page.apply(items)))
}

pub(crate) fn create_item(st: &mut Store, ctx: &Ctx<'_>) -> ApiResult {
    let body = body_object(ctx.body)?;
    let mut c = Checker::new();
    let kind = c.one_of(&body, "", "type", true, &["product", "service"]);
    let name = c.string(&body, "", "name", false, 0, 250);
    let reference = c.string(&body, "", "reference", true, 1, 250);
    let price = c.decimal(&body, "", "reference_price", false);
    let purchase = c.decimal(&body, "", "purchase_amount", false);
    let taxes_free = c
        .boolean(&body, "", "is_reference_price_taxes_free")
        .unwrap_or(true);
    let tax_id = c.id(&body, "", "tax_id", false);
    c.id(&body, "", "unit_id", false);
    c.id(&body, "", "category_id", false);
    c.decimal(&body, "", "standard_quantity", false);
    let description = c.string(&body, "", "description", false, 0, 65_535);
    c.boolean(&body, "", "is_name_included_in_description");
    c.id(&body, "", "accounting_code_id", false);
    c.id(&body, "", "accounting_purchase_code_id", false);
    c.string(&body, "", "accounting_analytic_code", false, 0, 13);
    let archived = c.boolean(&body, "", "is_archived").unwrap_or(false);
    let tax = match tax_id {
        Some(id) => match st.taxes.get(&id) {
            Some(t) => Some(t.clone()),
            None => {
                c.fail("tax_id", format!("tax {id} not found"));
                None
            }
        },
        None => None,
    };
    c.finish()?;
    let (Some(kind), Some(reference)) = (kind, reference) else {
        return Err(ApiError::bad_request("Invalid request"));
    };
    let price = price.unwrap_or(Decimal::ZERO);
    let id = st.next_id(Seq::Item);
    let compliant = tax.as_ref().is_none_or(|t| t.compliant && t.is_active);
    let mut json = item_json(
        id,
        &kind,
        &reference,
        name.as_deref(),
        price,
        purchase,
        taxes_free,
        tax.as_ref().map(|t| t.rate),
        tax.as_ref().map(|t| t.id),
        description.as_deref(),
        compliant,
        &st.default_currency(),
    );
    json.insert("is_archived".into(), json!(archived));
    let price_excl = json
        .get("reference_price_taxes_exc")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Decimal>().ok())
        .unwrap_or(price);
    let out = Value::Object(json.clone());
    st.items.insert(
        id,
        Item {
            kind,
            price_excl,
            tax_id: tax.map(|t| t.id),
            json,
        },
    );
    Ok(Reply::created(out))
}

pub(crate) fn get_item(st: &Store, id: u64) -> ApiResult {
    st.items
        .get(&id)
        .map(|i| Reply::ok(Value::Object(i.json.clone())))
        .ok_or_else(|| ApiError::not_found("Item"))
}

/// `POST /items/search`. The `reference` and `name` filters match *partially* (case-insensitive substring):
/// whether Sellsy's are exact is undocumented, so clients must re-check equality themselves.
pub(crate) fn search_items(st: &Store, ctx: &Ctx<'_>) -> ApiResult {
    let page = Page::from_query(ctx.query, &["id", "created_at"])?;
    let body = body_object(ctx.body)?;
    let mut c = Checker::new();
    c.only_keys(&body, "", &["filters"]);
    let filters = c
        .object(&body, "", "filters", true)
        .cloned()
        .unwrap_or_default();
    let types = c.enum_or_array(
        &filters,
        "filters",
        "type",
        &["product", "service", "shipping", "packaging"],
    );
    if let Some(Value::String(_)) = filters.get("type") {
        c.fail("filters.type", "must be an array");
    }
    if types.as_ref().is_some_and(Vec::is_empty) {
        c.fail("filters.type", "must contain at least 1 item");
    }
    let name = c
        .string(&filters, "filters", "name", false, 0, 250)
        .map(|s| s.to_lowercase());
    let reference = c
        .string(&filters, "filters", "reference", false, 0, 250)
        .map(|s| s.to_lowercase());
    let archived = c.boolean(&filters, "filters", "is_archived");
    c.integer(&filters, "filters", "favourite_filter", false, 0);
    c.finish()?;
    let text = |i: &Item, k: &str| {
        i.json
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase()
    };
    let items = st
        .items
        .iter()
        .filter(|(_, i)| types.as_ref().is_none_or(|t| t.contains(&i.kind)))
        .filter(|(_, i)| {
            reference
                .as_ref()
                .is_none_or(|r| text(i, "reference").contains(r.as_str()))
        })
        .filter(|(_, i)| {
            name.as_ref()
                .is_none_or(|n| text(i, "name").contains(n.as_str()))
        })
        .filter(|(_, i)| archived.is_none_or(|a| i.json.get("is_archived") == Some(&json!(a))))
        .map(|(id, i)| (*id, Value::Object(i.json.clone())))
        .collect();
    Ok(Reply::ok(page.apply(items)))
}

/// `GET /items/{id}/declinations` and its search twin `POST /items/{id}/declinations` (`filters.id`).
pub(crate) fn list_declinations(
    st: &Store,
    ctx: &Ctx<'_>,
    item_id: u64,
    search: bool,
) -> ApiResult {
    let page = Page::from_query(ctx.query, &["id"])?;
    if !st.items.contains_key(&item_id) {
        return Err(ApiError::not_found("Item"));
    }
    let mut only_id = None;
    if search {
        let body = body_object(ctx.body)?;
        let mut c = Checker::new();
        if let Some(f) = c.object(&body, "", "filters", false) {
            only_id = c.id(f, "filters", "id", false);
        }
        c.finish()?;
    }
    let items = st
        .declinations
        .iter()
        .filter(|(id, d)| d.item_id == item_id && only_id.is_none_or(|o| o == **id))
        .map(|(id, d)| (*id, Value::Object(d.json.clone())))
        .collect();
    Ok(Reply::ok(page.apply(items)))
}
