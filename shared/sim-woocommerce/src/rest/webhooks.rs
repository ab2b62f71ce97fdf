//! `/webhooks` and `/webhooks/{id}`: the webhooks a connector registers and watches (create, read,
//! update, delete), validated as WooCommerce does.

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::errors::{Handled, WpError, php_json, route_id};
use super::params::{enum_param, int_param, page_slice, paginated};
use super::pipeline::body_params;
use super::{Authed, Shared};
use crate::Inner;
use crate::delivery;
use crate::hooks;
use crate::model::WebhookStatus;
use crate::php::Params;
use crate::store::{Invalid, generate_secret};

pub(super) async fn list_webhooks(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
    RawQuery(q): RawQuery,
) -> Handled {
    let query = q.unwrap_or_default();
    let params = Params::parse(&query);
    let mut errors = Vec::new();
    let page = int_param(&params, "page", 1, Some(1), None, &mut errors);
    let per_page = int_param(&params, "per_page", 10, Some(1), Some(100), &mut errors);
    let status = enum_param(
        &params,
        "status",
        "all",
        &["all", "active", "paused", "disabled"],
        &mut errors,
    );
    let order = enum_param(&params, "order", "desc", &["asc", "desc"], &mut errors);
    if !errors.is_empty() {
        return Err(WpError::invalid_params(errors));
    }
    if !auth.0 {
        return Err(WpError::cannot_list());
    }
    let st = inner.lock();
    let mut hooks: Vec<Value> = st
        .webhooks
        .values()
        .filter(|w| status == "all" || w.status.as_str() == status)
        .map(|w| w.to_rest(&inner.home))
        .collect();
    if order == "desc" {
        hooks.reverse();
    }
    drop(st);
    let total = hooks.len();
    let items = page_slice(&hooks, page, per_page, None);
    Ok(paginated(
        &inner, "webhooks", &query, items, total, page, per_page,
    ))
}

pub(super) async fn get_webhook(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
    Path(id): Path<String>,
) -> Handled {
    let id = route_id(&id)?;
    if !auth.0 {
        return Err(WpError::cannot_view());
    }
    let found = view(&inner, id);
    found.map(|w| php_json(StatusCode::OK, &w)).ok_or_else(|| {
        WpError::invalid_id(
            "woocommerce_rest_shop_webhook_invalid_id",
            StatusCode::NOT_FOUND,
        )
    })
}

/// The webhook as the REST API shows it, read under a lock of its own (not held across a ping).
fn view(inner: &Inner, id: u64) -> Option<Value> {
    inner
        .lock()
        .webhooks
        .get(&id)
        .map(|w| w.to_rest(&inner.home))
}

fn invalid_topic() -> WpError {
    WpError::new(
        StatusCode::BAD_REQUEST,
        "woocommerce_rest_shop_webhook_invalid_topic",
        "Webhook topic is required and must be valid.",
    )
}

fn invalid_url() -> WpError {
    WpError::new(
        StatusCode::BAD_REQUEST,
        "woocommerce_rest_shop_webhook_invalid_delivery_url",
        "Webhook delivery URL must be a valid URL starting with http:// or https://.",
    )
}

/// `wc_is_valid_url()`: http(s) scheme and a parsable URL with a host.
fn is_valid_delivery_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://"))
        && reqwest::Url::parse(url).is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()))
}

pub(super) async fn create_webhook(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
    headers: HeaderMap,
    body: Bytes,
) -> Handled {
    let body = body_params(&headers, &body)?;
    let missing: Vec<&str> = ["topic", "delivery_url"]
        .into_iter()
        .filter(|k| !body.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        let mut err = WpError::new(
            StatusCode::BAD_REQUEST,
            "rest_missing_callback_param",
            format!("Missing parameter(s): {}", missing.join(", ")),
        );
        err.extra.insert("params".into(), json!(missing));
        return Err(err);
    }
    if !auth.0 {
        return Err(WpError::cannot_create());
    }
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let topic = text("topic");
    if !hooks::is_valid_topic(&topic) {
        return Err(invalid_topic());
    }
    let url = text("delivery_url");
    if !is_valid_delivery_url(&url) {
        return Err(invalid_url());
    }
    let secret = match text("secret") {
        s if s.is_empty() => generate_secret(),
        s => s,
    };
    let id = inner
        .lock()
        .create_webhook(&text("name"), &topic, &url, &secret);
    // The ping's outcome does not change the answer: 201 either way.
    delivery::ping(&inner, id).await;
    let view = view(&inner, id).unwrap_or(Value::Null);
    let mut response = php_json(StatusCode::CREATED, &view);
    if let Ok(location) =
        HeaderValue::from_str(&format!("{}/wp-json/wc/v3/webhooks/{id}", inner.home))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

pub(super) async fn update_webhook(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Handled {
    let id = route_id(&id)?;
    let body = body_params(&headers, &body)?;
    let mut errors = Vec::new();
    let status = match body.get("status") {
        None => None,
        Some(v) => match v.as_str().and_then(WebhookStatus::parse) {
            Some(s) => Some(s),
            None => {
                errors.push(Invalid {
                    param: "status".into(),
                    message: "status is not one of active, paused, and disabled.".into(),
                    detail_code: "rest_not_in_enum",
                });
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(WpError::invalid_params(errors));
    }
    if !auth.0 {
        return Err(WpError::cannot_edit());
    }
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    if let Some(topic) = text("topic")
        && !hooks::is_valid_topic(&topic)
    {
        return Err(invalid_topic());
    }
    if let Some(url) = text("delivery_url")
        && !is_valid_delivery_url(&url)
    {
        return Err(invalid_url());
    }
    let should_ping = {
        let mut st = inner.lock();
        let Some(w) = st.webhooks.get_mut(&id) else {
            return Err(WpError::new(
                StatusCode::BAD_REQUEST,
                "woocommerce_rest_shop_webhook_invalid_id",
                "ID is invalid.",
            ));
        };
        let mut url_changed = false;
        if let Some(name) = text("name") {
            w.name = name;
        }
        if let Some(topic) = text("topic") {
            w.topic = topic;
        }
        if let Some(secret) = text("secret") {
            w.secret = secret;
        }
        if let Some(url) = text("delivery_url") {
            url_changed = url != w.delivery_url;
            w.delivery_url = url;
        }
        if let Some(status) = status {
            w.status = status;
        }
        w.date_modified_gmt = chrono::Utc::now().naive_utc();
        // `WC_Webhook_Data_Store::update()`: an active webhook pings when its URL changed or it
        // still waits for a successful ping.
        w.status == WebhookStatus::Active && (url_changed || w.pending_delivery)
    };
    if should_ping {
        delivery::ping(&inner, id).await;
    }
    let view = view(&inner, id).unwrap_or(Value::Null);
    Ok(php_json(StatusCode::OK, &view))
}

pub(super) async fn delete_webhook(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Handled {
    let id = route_id(&id)?;
    if !auth.0 {
        return Err(WpError::cannot_delete());
    }
    let params = Params::parse(&q.unwrap_or_default());
    if !matches!(params.get_str("force"), Some("true" | "1")) {
        return Err(WpError::new(
            StatusCode::NOT_IMPLEMENTED,
            "woocommerce_rest_trash_not_supported",
            "Webhooks do not support trashing.",
        ));
    }
    let mut st = inner.lock();
    let Some(w) = st.webhooks.remove(&id) else {
        return Err(WpError::new(
            StatusCode::NOT_FOUND,
            "woocommerce_rest_shop_webhook_invalid_id",
            "ID is invalid.",
        ));
    };
    Ok(php_json(StatusCode::OK, &w.to_rest(&inner.home)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_urls_must_be_http_or_https() {
        assert!(is_valid_delivery_url("http://127.0.0.1:9000/hook"));
        assert!(is_valid_delivery_url("https://example.com/"));
        assert!(!is_valid_delivery_url("ftp://example.com/"));
        assert!(!is_valid_delivery_url("example.com"));
    }
}
