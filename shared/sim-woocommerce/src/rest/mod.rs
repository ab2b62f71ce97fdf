//! The REST API under `/wp-json/wc/v3`, answering like WordPress + WooCommerce: the request pipeline
//! (URL form → authentication → route → argument validation → permission check → handler), the
//! `{"code","message","data":{"status"}}` error format with WordPress's validation messages, list
//! pagination headers, and JSON written the PHP way (`\/`, `\uXXXX`).
//!
//! One module per concern: [`errors`], [`pipeline`], [`params`], then one per resource ([`orders`],
//! [`products`], [`webhooks`], [`system`]); this one holds the router.

mod errors;
mod orders;
mod params;
mod pipeline;
mod products;
mod system;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::middleware;
use axum::routing::get;

use crate::Inner;
use errors::no_route;
use orders::{delete_order, get_order, list_orders, update_order};
use products::{get_product, get_variation, list_products, update_product, update_variation};
use system::{index, system_status};
use webhooks::{create_webhook, delete_webhook, get_webhook, list_webhooks, update_webhook};

type Shared = State<Arc<Inner>>;

/// Whether the WooCommerce authenticator recognised the API key for this request.
#[derive(Debug, Clone, Copy)]
struct Authed(bool);

pub fn router(inner: Arc<Inner>) -> Router {
    let wc = Router::new()
        .route("/orders", get(list_orders))
        .route(
            "/orders/{id}",
            get(get_order)
                .put(update_order)
                .post(update_order)
                .patch(update_order)
                .delete(delete_order),
        )
        .route("/products", get(list_products))
        .route(
            "/products/{id}",
            get(get_product)
                .put(update_product)
                .post(update_product)
                .patch(update_product),
        )
        .route(
            "/products/{pid}/variations/{id}",
            get(get_variation)
                .put(update_variation)
                .post(update_variation)
                .patch(update_variation),
        )
        .route("/webhooks", get(list_webhooks).post(create_webhook))
        .route(
            "/webhooks/{id}",
            get(get_webhook)
                .put(update_webhook)
                .post(update_webhook)
                .patch(update_webhook)
                .delete(delete_webhook),
        )
        .route("/system_status", get(system_status))
        .fallback(no_route)
        .method_not_allowed_fallback(no_route);
    let rest = Router::new()
        .nest("/wp-json/wc/v3", wc)
        .route("/wp-json", get(index))
        .route("/wp-json/", get(index))
        .fallback(no_route)
        .method_not_allowed_fallback(no_route)
        .with_state(inner.clone());
    // The pipeline wraps the whole REST router (as its fallback service) so that it runs before
    // routing: it sees the request as sent (the path and query the OAuth signature covers) and
    // rewrites the `?rest_route=` form to the `/wp-json` path the routes above match.
    Router::new()
        .fallback_service(rest)
        .layer(middleware::from_fn_with_state(inner, pipeline::wc_pipeline))
}
