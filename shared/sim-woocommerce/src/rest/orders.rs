//! `/orders` and `/orders/{id}`: list (filters, ordering, pagination), read, update (meta data, status)
//! and delete (trash or force).

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use chrono::{Duration, NaiveDateTime};
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

use super::errors::{Handled, WpError, php_json, route_id};
use super::params::{
    bool_param, date_param, enum_param, id_list, int_param, page_slice, paginated,
};
use super::pipeline::body_params;
use super::{Authed, Shared};
use crate::php::Params;
use crate::store::{SITE_UTC_OFFSET_SECS, date_of, str_field, validate_order_patch};

const ORDERBY: [&str; 6] = ["date", "id", "include", "title", "slug", "modified"];

pub(super) async fn list_orders(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
    RawQuery(q): RawQuery,
) -> Handled {
    let query = q.unwrap_or_default();
    let params = Params::parse(&query);
    let mut errors = Vec::new();
    let page = int_param(&params, "page", 1, Some(1), None, &mut errors);
    let per_page = int_param(&params, "per_page", 10, Some(1), Some(100), &mut errors);
    let offset = params
        .get("offset")
        .map(|_| int_param(&params, "offset", 0, None, None, &mut errors));
    let order = enum_param(&params, "order", "desc", &["asc", "desc"], &mut errors);
    let orderby = enum_param(&params, "orderby", "date", &ORDERBY, &mut errors);
    let gmt = bool_param(&params, "dates_are_gmt", &mut errors);
    let after = date_param(&params, "after", &mut errors);
    let before = date_param(&params, "before", &mut errors);
    let modified_after = date_param(&params, "modified_after", &mut errors);
    let modified_before = date_param(&params, "modified_before", &mut errors);
    if !errors.is_empty() {
        return Err(WpError::invalid_params(errors));
    }
    if !auth.0 {
        return Err(WpError::cannot_list());
    }
    let statuses: Vec<String> = params
        .get("status")
        .map(|p| p.as_list())
        .unwrap_or_default();
    let any = statuses.is_empty() || statuses.iter().any(|s| s == "any");
    let include = id_list(&params, "include");
    let exclude = id_list(&params, "exclude");
    let parents = id_list(&params, "parent");
    let customer = params
        .get_str("customer")
        .and_then(|c| c.trim().parse::<u64>().ok());

    // The column a date argument is compared with: GMT with `dates_are_gmt`, site-local otherwise.
    let column = |data: &Map<String, Value>, base: &str| {
        date_of(data, base).map(|g| {
            if gmt {
                g
            } else {
                g + Duration::seconds(SITE_UTC_OFFSET_SECS)
            }
        })
    };
    let st = inner.lock();
    let mut rows: Vec<(u64, Option<NaiveDateTime>, Option<NaiveDateTime>)> = st
        .orders
        .iter()
        .filter(|(id, o)| {
            let status = str_field(&o.data, "status");
            let status_ok = if any {
                !matches!(status.as_str(), "trash" | "auto-draft" | "draft")
            } else {
                statuses.contains(&status)
            };
            let created = column(&o.data, "date_created");
            let modified = column(&o.data, "date_modified");
            let num = |k: &str| o.data.get(k).and_then(Value::as_u64).unwrap_or(0);
            status_ok
                && (include.is_empty() || include.contains(id))
                && !exclude.contains(id)
                && (parents.is_empty() || parents.contains(&num("parent_id")))
                && customer.is_none_or(|c| num("customer_id") == c)
                && after.is_none_or(|a| created.is_some_and(|c| c > a))
                && before.is_none_or(|b| created.is_some_and(|c| c < b))
                && modified_after.is_none_or(|a| modified.is_some_and(|m| m > a))
                && modified_before.is_none_or(|b| modified.is_some_and(|m| m < b))
        })
        .map(|(id, o)| {
            (
                *id,
                date_of(&o.data, "date_created"),
                date_of(&o.data, "date_modified"),
            )
        })
        .collect();
    match orderby.as_str() {
        "modified" => rows.sort_by_key(|r| (r.2, r.0)),
        "date" => rows.sort_by_key(|r| (r.1, r.0)),
        "include" => rows.sort_by_key(|r| (include.iter().position(|i| *i == r.0), r.0)),
        _ => rows.sort_by_key(|r| r.0),
    }
    if order == "desc" {
        rows.reverse();
    }
    let total = rows.len();
    let ids: Vec<u64> = rows.iter().map(|r| r.0).collect();
    let items: Vec<Value> = page_slice(&ids, page, per_page, offset)
        .into_iter()
        .filter_map(|id| st.render_order(id))
        .collect();
    drop(st);
    Ok(paginated(
        &inner, "orders", &query, items, total, page, per_page,
    ))
}

pub(super) async fn get_order(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
    Path(id): Path<String>,
) -> Handled {
    let id = route_id(&id)?;
    let found = inner.lock().render_order(id);
    WpError::one(found, "woocommerce_rest_shop_order_invalid_id", auth)
}

pub(super) async fn update_order(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Handled {
    let id = route_id(&id)?;
    let patch = body_params(&headers, &body)?;
    validate_order_patch(&patch).map_err(|invalid| WpError::invalid_params(vec![invalid]))?;
    let mut st = inner.lock();
    if !st.orders.contains_key(&id) {
        return Err(WpError::invalid_id(
            "woocommerce_rest_shop_order_invalid_id",
            StatusCode::BAD_REQUEST,
        ));
    }
    if !auth.0 {
        return Err(WpError::cannot_edit());
    }
    match st.rest_update_order(id, patch) {
        Err(invalid) => Err(WpError::invalid_params(vec![invalid])),
        Ok(None) => Err(WpError::invalid_id(
            "woocommerce_rest_shop_order_invalid_id",
            StatusCode::BAD_REQUEST,
        )),
        Ok(Some((view, calls))) => {
            let added = st.enqueue(&calls);
            drop(st);
            inner.jobs_added(added);
            Ok(php_json(StatusCode::OK, &view))
        }
    }
}

pub(super) async fn delete_order(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Handled {
    let id = route_id(&id)?;
    let params = Params::parse(&q.unwrap_or_default());
    let body = body_params(&headers, &body)?;
    let force = body.get("force").map_or_else(
        || matches!(params.get_str("force"), Some("true" | "1")),
        |v| v.as_bool() == Some(true) || matches!(v.as_str(), Some("true" | "1")),
    );
    let mut st = inner.lock();
    let Some(view) = st.render_order(id) else {
        return Err(WpError::invalid_id(
            "woocommerce_rest_shop_order_invalid_id",
            StatusCode::NOT_FOUND,
        ));
    };
    if !auth.0 {
        return Err(WpError::cannot_delete());
    }
    if force {
        // Permanent deletion fires no trash hook, hence no `order.deleted`.
        st.orders.remove(&id);
        return Ok(php_json(StatusCode::OK, &view));
    }
    match st.trash_order(id) {
        None => Err(WpError::new(
            StatusCode::GONE,
            "woocommerce_rest_already_trashed",
            "The shop_order has already been deleted.",
        )),
        Some(calls) => {
            let added = st.enqueue(&calls);
            let view = st.render_order(id).unwrap_or(view);
            drop(st);
            inner.jobs_added(added);
            Ok(php_json(StatusCode::OK, &view))
        }
    }
}
