//! `/products`, `/products/{id}` and `/products/{pid}/variations/{id}`: lookups by SKU and stock updates.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

use super::errors::{Handled, WpError, php_json, route_id};
use super::params::{enum_param, int_param, page_slice, paginated};
use super::pipeline::body_params;
use super::{Authed, Shared};
use crate::Inner;
use crate::php::Params;
use crate::store::str_field;

pub(super) async fn list_products(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
    RawQuery(q): RawQuery,
) -> Handled {
    let query = q.unwrap_or_default();
    let params = Params::parse(&query);
    let mut errors = Vec::new();
    let page = int_param(&params, "page", 1, Some(1), None, &mut errors);
    let per_page = int_param(&params, "per_page", 10, Some(1), Some(100), &mut errors);
    let order = enum_param(&params, "order", "desc", &["asc", "desc"], &mut errors);
    if !errors.is_empty() {
        return Err(WpError::invalid_params(errors));
    }
    if !auth.0 {
        return Err(WpError::cannot_list());
    }
    let st = inner.lock();
    let mut ids: Vec<u64> = match params.get_str("sku").filter(|s| !s.is_empty()) {
        // With `sku`, variations are searched too.
        Some(sku) => st.products_by_sku(sku),
        None => st
            .products
            .iter()
            .filter(|(_, p)| str_field(p, "type") != "variation")
            .map(|(id, _)| *id)
            .collect(),
    };
    if order == "desc" {
        ids.reverse();
    }
    let total = ids.len();
    let items: Vec<Value> = page_slice(&ids, page, per_page, None)
        .into_iter()
        .filter_map(|id| st.render_product(id, false))
        .collect();
    drop(st);
    Ok(paginated(
        &inner, "products", &query, items, total, page, per_page,
    ))
}

pub(super) async fn get_product(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
    Path(id): Path<String>,
) -> Handled {
    let id = route_id(&id)?;
    let found = inner.lock().render_product(id, false);
    WpError::one(found, "woocommerce_rest_product_invalid_id", auth)
}

pub(super) async fn update_product(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Handled {
    let id = route_id(&id)?;
    let patch = body_params(&headers, &body)?;
    write_product(&inner, auth, id, None, patch)
}

pub(super) async fn get_variation(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
    Path((pid, id)): Path<(String, String)>,
) -> Handled {
    let (pid, id) = (route_id(&pid)?, route_id(&id)?);
    let st = inner.lock();
    let found = st
        .products
        .get(&id)
        .filter(|v| is_variation_of(v, pid))
        .and_then(|_| st.render_product(id, true));
    match found {
        None => Err(WpError::invalid_id(
            "woocommerce_rest_product_variation_invalid_id",
            StatusCode::NOT_FOUND,
        )),
        Some(_) if !auth.0 => Err(WpError::cannot_view()),
        Some(v) => Ok(php_json(StatusCode::OK, &v)),
    }
}

pub(super) async fn update_variation(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
    Path((pid, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Handled {
    let (pid, id) = (route_id(&pid)?, route_id(&id)?);
    let patch = body_params(&headers, &body)?;
    write_product(&inner, auth, id, Some(pid), patch)
}

fn write_product(
    inner: &Arc<Inner>,
    auth: Authed,
    id: u64,
    parent: Option<u64>,
    patch: Map<String, Value>,
) -> Handled {
    let code = if parent.is_some() {
        "woocommerce_rest_product_variation_invalid_id"
    } else {
        "woocommerce_rest_product_invalid_id"
    };
    let mut st = inner.lock();
    let exists = st
        .products
        .get(&id)
        .is_some_and(|p| parent.is_none_or(|pid| is_variation_of(p, pid)));
    if !exists {
        return Err(WpError::invalid_id(code, StatusCode::BAD_REQUEST));
    }
    if !auth.0 {
        return Err(WpError::cannot_edit());
    }
    match st.rest_update_product(id, patch) {
        Err(invalid) => Err(WpError::invalid_params(vec![invalid])),
        Ok(None) => Err(WpError::invalid_id(code, StatusCode::BAD_REQUEST)),
        Ok(Some((mut view, calls))) => {
            if parent.is_some() {
                view = st.render_product(id, true).unwrap_or(view);
            }
            let added = st.enqueue(&calls);
            drop(st);
            inner.jobs_added(added);
            Ok(php_json(StatusCode::OK, &view))
        }
    }
}

/// A variation is only reachable under its own parent's route.
fn is_variation_of(product: &Map<String, Value>, parent: u64) -> bool {
    product.get("parent_id").and_then(Value::as_u64) == Some(parent)
}
