//! The request pipeline every REST request goes through before its route: the URL form (`/wp-json/…`
//! or `?rest_route=`), authentication (before routing, as WordPress runs it), the request and write logs,
//! and the body's parameters.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, header};
use serde_json::{Map, Value, json};

use super::errors::{WpError, no_route, respond};
use super::{Authed, Shared};
use crate::Inner;
use crate::auth::{self, ApiKey, AuthRequest, Site};
use crate::model::{HttpRequest, RestWrite};
use crate::php::{Param, Params};
use crate::store::MAX_LOGGED_REQUESTS;

const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Every request: the request log, then the URL form (`/wp-json/…`, or `rest_route=` on the home
/// page, as `rest_api_loaded()` reads it), then for `wc/…` routes authentication (before routing, as
/// `rest_authentication_errors` runs) and the write log. API keys only apply to WooCommerce
/// namespaces; other routes pass through.
pub(super) async fn wc_pipeline(State(inner): Shared, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let response = serve(&inner, request, next).await;
    let mut st = inner.lock();
    if st.requests.len() >= MAX_LOGGED_REQUESTS {
        st.requests.pop_front();
    }
    st.requests.push_back(HttpRequest {
        method,
        path,
        query,
        status: response.status().as_u16(),
    });
    response
}

/// The site's home page answers `?rest_route=` (the form `rest_url()` gives with plain permalinks);
/// with plain permalinks `/wp-json/…` is not rewritten to WordPress and the web server answers 404.
async fn serve(inner: &Arc<Inner>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let is_wp_json = path == "/wp-json" || path.starts_with("/wp-json/");
    let route_path = match rest_route(&path, &query) {
        Some((route, rest_query)) => {
            let rewritten = format!("/wp-json{route}");
            let uri = if rest_query.is_empty() {
                rewritten.parse::<http::Uri>()
            } else {
                format!("{rewritten}?{rest_query}").parse::<http::Uri>()
            };
            let Ok(uri) = uri else {
                return no_route().await.into_response();
            };
            *request.uri_mut() = uri;
            rewritten
        }
        None if is_wp_json && inner.config.plain_permalinks => return not_found_page(),
        None => path.clone(),
    };
    if !route_path.starts_with("/wp-json/wc/") {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return WpError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "rest_invalid_json",
                "Request body too large.",
            )
            .into_response();
        }
    };
    let method = parts.method.clone();
    let is_form = content_type(&parts.headers).starts_with("application/x-www-form-urlencoded");
    let form_body =
        (method == Method::POST && is_form).then(|| String::from_utf8_lossy(&bytes).into_owned());
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    let outcome = {
        let mut st = inner.lock();
        let site = Site {
            is_ssl: inner.config.is_ssl,
            host: &inner.host,
            home_path: "",
        };
        let key = ApiKey {
            consumer_key: &inner.config.consumer_key,
            consumer_secret: &inner.config.consumer_secret,
        };
        let req = AuthRequest {
            method: method.as_str(),
            path: &path,
            query: &query,
            form_body: form_body.as_deref(),
            authorization: authorization.as_deref(),
        };
        auth::authenticate(
            &site,
            &key,
            &req,
            &mut st.nonces,
            chrono::Utc::now().timestamp(),
        )
    };
    let response = match outcome {
        Err(e) => WpError::forbidden(e.code, &e.message).into_response(),
        Ok(authed) => {
            parts.extensions.insert(Authed(authed));
            next.run(Request::from_parts(parts, Body::from(bytes.clone())))
                .await
        }
    };
    if !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        inner.lock().rest_writes.push(RestWrite {
            method: method.to_string(),
            path: route_path,
            query,
            body,
            status: response.status().as_u16(),
        });
    }
    response
}

/// `Some((route, other query))` when `path` is the home page (`/` or `/index.php`) and the query has
/// a non-empty `rest_route`; the other parameters keep their raw encoding. WordPress takes the last
/// `rest_route` (PHP `$_GET`) and drops a trailing slash (`untrailingslashit`), `/` itself excepted.
fn rest_route(path: &str, query: &str) -> Option<(String, String)> {
    if path != "/" && path != "/index.php" {
        return None;
    }
    let mut route = None;
    let mut others = Vec::new();
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        match form_urlencoded::parse(piece.as_bytes()).next() {
            Some((k, v)) if k == "rest_route" => route = Some(v.into_owned()),
            _ => others.push(piece),
        }
    }
    let route = route.filter(|r| !r.is_empty())?;
    let trimmed = route.trim_end_matches('/');
    let route = if trimmed.is_empty() {
        "/".to_owned()
    } else if trimmed.starts_with('/') {
        trimmed.to_owned()
    } else {
        format!("/{trimmed}")
    };
    // Keep the rewritten URI a plain path: anything else cannot match a route anyway.
    let route: String = route
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '?' && c != '#' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Some((route, others.join("&")))
}

/// What Apache answers for `/wp-json/…` when WordPress's rewrite rules are off (plain permalinks).
fn not_found_page() -> Response {
    let body = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n</body></html>\n";
    respond(StatusCode::NOT_FOUND, "text/html; charset=iso-8859-1", body)
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The request's body parameters: JSON (with `application/json`) or a flat form.
pub(super) fn body_params(
    headers: &HeaderMap,
    bytes: &Bytes,
) -> Result<Map<String, Value>, WpError> {
    let ct = content_type(headers);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    if ct.contains("json") {
        return match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Ok(Map::new()),
            Err(_) => {
                let mut err = WpError::new(
                    StatusCode::BAD_REQUEST,
                    "rest_invalid_json",
                    "Invalid JSON body passed.",
                );
                err.extra.insert("json_error_code".into(), json!(4));
                err.extra
                    .insert("json_error_message".into(), json!("Syntax error"));
                Err(err)
            }
        };
    }
    if ct.starts_with("application/x-www-form-urlencoded") {
        let params = Params::parse(&String::from_utf8_lossy(bytes));
        return Ok(params
            .0
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Param::Str(s) => json!(s),
                    Param::Arr(items) => {
                        Value::Array(items.into_iter().map(|(_, v)| json!(v)).collect())
                    }
                };
                (k, v)
            })
            .collect());
    }
    Ok(Map::new())
}
