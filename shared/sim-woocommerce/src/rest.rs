//! The REST API under `/wp-json/wc/v3`, answering like WordPress + WooCommerce: the request pipeline
//! (URL form → authentication → route → argument validation → permission check → handler), the
//! `{"code","message","data":{"status"}}` error format with WordPress's validation messages, list
//! pagination headers, and JSON written the PHP way (`\/`, `\uXXXX`).

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, RawQuery, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Duration, NaiveDateTime};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::{Map, Value, json};

use crate::Inner;
use crate::auth::{self, ApiKey, AuthRequest, Site};
use crate::delivery;
use crate::hooks;
use crate::model::{HttpRequest, RestWrite, WebhookStatus};
use crate::php::{Param, Params};
use crate::store::{
    Invalid, MAX_LOGGED_REQUESTS, SITE_UTC_OFFSET_SECS, date_of, generate_secret, php_list,
    str_field, validate_order_patch,
};

const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
const ORDERBY: [&str; 6] = ["date", "id", "include", "title", "slug", "modified"];

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
        .layer(middleware::from_fn_with_state(inner, wc_pipeline))
}

// ------------------------------------------------------------------------ errors & responses

/// A `WP_Error` as the REST server renders it.
#[derive(Debug)]
pub struct WpError {
    status: StatusCode,
    code: &'static str,
    message: String,
    // Boxed: rarely used, and it keeps `Result<_, WpError>` small.
    extra: Box<Map<String, Value>>,
}

impl WpError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        WpError {
            status,
            code,
            message: message.into(),
            extra: Box::default(),
        }
    }

    /// `rest_authorization_required_code()` is 401 for anonymous requests.
    fn forbidden(code: &'static str, message: &str) -> Self {
        WpError::new(StatusCode::UNAUTHORIZED, code, message)
    }

    fn invalid_params(errors: Vec<Invalid>) -> Self {
        let names: Vec<&str> = errors.iter().map(|e| e.param.as_str()).collect();
        let mut params = Map::new();
        let mut details = Map::new();
        for e in &errors {
            params.insert(e.param.clone(), json!(e.message));
            details.insert(
                e.param.clone(),
                json!({ "code": e.detail_code, "message": e.message, "data": null }),
            );
        }
        let mut err = WpError::new(
            StatusCode::BAD_REQUEST,
            "rest_invalid_param",
            format!("Invalid parameter(s): {}", names.join(", ")),
        );
        err.extra.insert("params".into(), Value::Object(params));
        err.extra.insert("details".into(), Value::Object(details));
        err
    }

    fn invalid_id(code: &'static str, status: StatusCode) -> Self {
        WpError::new(status, code, "Invalid ID.")
    }
}

impl IntoResponse for WpError {
    fn into_response(self) -> Response {
        let mut data = Map::new();
        data.insert("status".into(), json!(self.status.as_u16()));
        data.extend(*self.extra);
        let body = json!({ "code": self.code, "message": self.message, "data": data });
        php_json(self.status, &body)
    }
}

fn php_json(status: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(Body::from(woocommerce::php_json::encode(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    response
}

type Handled = Result<Response, WpError>;

async fn no_route() -> WpError {
    WpError::new(
        StatusCode::NOT_FOUND,
        "rest_no_route",
        "No route was found matching the URL and request method.",
    )
}

/// Route ids are `(?P<id>[\d]+)`: anything else does not match the route at all.
fn route_id(raw: &str) -> Result<u64, WpError> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WpError::new(
            StatusCode::NOT_FOUND,
            "rest_no_route",
            "No route was found matching the URL and request method.",
        ));
    }
    raw.parse()
        .map_err(|_| WpError::invalid_id("woocommerce_rest_invalid_id", StatusCode::NOT_FOUND))
}

// ------------------------------------------------------------------------ pipeline

/// Every request: the request log, then the URL form (`/wp-json/…`, or `rest_route=` on the home
/// page, as `rest_api_loaded()` reads it), then for `wc/…` routes authentication (before routing, as
/// `rest_authentication_errors` runs) and the write log. API keys only apply to WooCommerce
/// namespaces; other routes pass through.
async fn wc_pipeline(State(inner): Shared, request: Request, next: Next) -> Response {
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
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=iso-8859-1"),
    );
    response
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The request's body parameters: JSON (with `application/json`) or a flat form.
fn body_params(headers: &HeaderMap, bytes: &Bytes) -> Result<Map<String, Value>, WpError> {
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

// ------------------------------------------------------------------------ argument validation

fn int_param(
    params: &Params,
    name: &str,
    default: i64,
    min: Option<i64>,
    max: Option<i64>,
    errors: &mut Vec<Invalid>,
) -> i64 {
    let Some(raw) = params.get(name) else {
        return default;
    };
    let parsed = raw.as_str().and_then(|s| {
        let s = s.trim();
        s.parse::<i64>().ok().or_else(|| {
            s.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        })
    });
    let Some(value) = parsed else {
        errors.push(Invalid {
            param: name.into(),
            message: format!("{name} is not of type integer."),
            detail_code: "rest_invalid_type",
        });
        return default;
    };
    let out_of_bounds = match (min, max) {
        (Some(lo), Some(hi)) if value < lo || value > hi => Some(format!(
            "{name} must be between {lo} (inclusive) and {hi} (inclusive)"
        )),
        (Some(lo), None) if value < lo => {
            Some(format!("{name} must be greater than or equal to {lo}"))
        }
        _ => None,
    };
    if let Some(message) = out_of_bounds {
        errors.push(Invalid {
            param: name.into(),
            message,
            detail_code: "rest_out_of_bounds",
        });
        return default;
    }
    value
}

fn enum_param(
    params: &Params,
    name: &str,
    default: &str,
    allowed: &[&str],
    errors: &mut Vec<Invalid>,
) -> String {
    match params.get(name) {
        None => default.to_owned(),
        Some(Param::Str(s)) if allowed.contains(&s.as_str()) => s.clone(),
        Some(_) => {
            errors.push(Invalid {
                param: name.into(),
                message: format!("{name} is not one of {}.", php_list(allowed)),
                detail_code: "rest_not_in_enum",
            });
            default.to_owned()
        }
    }
}

fn bool_param(params: &Params, name: &str, errors: &mut Vec<Invalid>) -> bool {
    match params.get(name).map(|p| p.as_str()) {
        None => false,
        Some(Some("true" | "1")) => true,
        Some(Some("false" | "0" | "")) => false,
        Some(_) => {
            errors.push(Invalid {
                param: name.into(),
                message: format!("{name} is not of type boolean."),
                detail_code: "rest_invalid_type",
            });
            false
        }
    }
}

/// A `date-time` argument as `WP_Date_Query::build_mysql_datetime` turns it into a wall-clock value
/// in the site's timezone: without a suffix it is taken as site-local already; with `Z` or an
/// offset it is converted to site-local. Which column it is compared with is the caller's business.
fn date_param(params: &Params, name: &str, errors: &mut Vec<Invalid>) -> Option<NaiveDateTime> {
    let raw = params.get(name)?;
    match raw.as_str().and_then(parse_rest_date) {
        Some(wall) => Some(wall),
        None => {
            errors.push(Invalid {
                param: name.into(),
                message: "Invalid date.".into(),
                detail_code: "rest_invalid_date",
            });
            None
        }
    }
}

fn parse_rest_date(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if s.len() < 19 || !s.is_char_boundary(19) {
        return None;
    }
    let (head, mut rest) = s.split_at(19);
    let head = head.replacen([' ', 't'], "T", 1);
    let wall = NaiveDateTime::parse_from_str(&head, "%Y-%m-%dT%H:%M:%S").ok()?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset_secs = match rest {
        "" => return Some(wall),
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = rest[1..].chars().filter(|c| *c != ':').collect();
            if !(digits.len() == 2 || digits.len() == 4)
                || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let hours: i64 = digits[..2].parse().ok()?;
            let minutes: i64 = if digits.len() == 4 {
                digits[2..].parse().ok()?
            } else {
                0
            };
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let utc = wall - Duration::seconds(offset_secs);
    Some(utc + Duration::seconds(SITE_UTC_OFFSET_SECS))
}

fn id_list(params: &Params, name: &str) -> Vec<u64> {
    params
        .get(name)
        .map(|p| {
            p.as_list()
                .iter()
                .filter_map(|v| v.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `X-WP-Total`, `X-WP-TotalPages` and `Link` (only `prev`/`next`, as `WC_REST_CRUD_Controller` sends).
fn paginated(
    inner: &Inner,
    route: &str,
    query: &str,
    items: Vec<Value>,
    total: usize,
    page: i64,
    per_page: i64,
) -> Response {
    let per_page = usize::try_from(per_page.max(1)).unwrap_or(1);
    let max_pages = total.div_ceil(per_page);
    let mut response = php_json(StatusCode::OK, &Value::Array(items));
    let headers = response.headers_mut();
    headers.insert("X-WP-Total", HeaderValue::from(total));
    headers.insert("X-WP-TotalPages", HeaderValue::from(max_pages));
    let page = usize::try_from(page.max(1)).unwrap_or(1);
    let link = |target: usize| {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        let mut replaced = false;
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if k == "page" {
                ser.append_pair("page", &target.to_string());
                replaced = true;
            } else {
                ser.append_pair(&k, &v);
            }
        }
        if !replaced {
            ser.append_pair("page", &target.to_string());
        }
        if inner.config.plain_permalinks {
            // `rest_url()` with plain permalinks, then `add_query_arg(urlencode_deep($params))`.
            format!(
                "{}/index.php?rest_route=%2Fwc%2Fv3%2F{route}&{}",
                inner.home,
                ser.finish()
            )
        } else {
            format!("{}/wp-json/wc/v3/{route}?{}", inner.home, ser.finish())
        }
    };
    if page > 1 {
        let prev = (page - 1).min(max_pages.max(1));
        if let Ok(v) = HeaderValue::from_str(&format!("<{}>; rel=\"prev\"", link(prev))) {
            headers.append(header::LINK, v);
        }
    }
    if max_pages > page
        && let Ok(v) = HeaderValue::from_str(&format!("<{}>; rel=\"next\"", link(page + 1)))
    {
        headers.append(header::LINK, v);
    }
    response
}

fn page_slice<T: Clone>(items: &[T], page: i64, per_page: i64, offset: Option<i64>) -> Vec<T> {
    let per_page = usize::try_from(per_page).unwrap_or(10);
    let start = match offset {
        Some(o) => usize::try_from(o.max(0)).unwrap_or(0),
        None => usize::try_from(page.max(1) - 1)
            .unwrap_or(0)
            .saturating_mul(per_page),
    };
    items.iter().skip(start).take(per_page).cloned().collect()
}

// ------------------------------------------------------------------------ orders

async fn list_orders(
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
        return Err(WpError::forbidden(
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot list resources.",
        ));
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

async fn get_order(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
    Path(id): Path<String>,
) -> Handled {
    let id = route_id(&id)?;
    let found = inner.lock().render_order(id);
    match found {
        None => Err(WpError::invalid_id(
            "woocommerce_rest_shop_order_invalid_id",
            StatusCode::NOT_FOUND,
        )),
        Some(_) if !auth.0 => Err(WpError::forbidden(
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot view this resource.",
        )),
        Some(order) => Ok(php_json(StatusCode::OK, &order)),
    }
}

async fn update_order(
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
        return Err(WpError::forbidden(
            "woocommerce_rest_cannot_edit",
            "Sorry, you are not allowed to edit this resource.",
        ));
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

async fn delete_order(
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
        return Err(WpError::forbidden(
            "woocommerce_rest_cannot_delete",
            "Sorry, you are not allowed to delete this resource.",
        ));
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

// ------------------------------------------------------------------------ products

async fn list_products(
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
        return Err(WpError::forbidden(
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot list resources.",
        ));
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

async fn get_product(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
    Path(id): Path<String>,
) -> Handled {
    let id = route_id(&id)?;
    let found = inner.lock().render_product(id, false);
    match found {
        None => Err(WpError::invalid_id(
            "woocommerce_rest_product_invalid_id",
            StatusCode::NOT_FOUND,
        )),
        Some(_) if !auth.0 => Err(WpError::forbidden(
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot view this resource.",
        )),
        Some(p) => Ok(php_json(StatusCode::OK, &p)),
    }
}

async fn update_product(
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

async fn get_variation(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
    Path((pid, id)): Path<(String, String)>,
) -> Handled {
    let (pid, id) = (route_id(&pid)?, route_id(&id)?);
    let st = inner.lock();
    let found = st
        .products
        .get(&id)
        .filter(|v| v.get("parent_id").and_then(Value::as_u64) == Some(pid))
        .and_then(|_| st.render_product(id, true));
    match found {
        None => Err(WpError::invalid_id(
            "woocommerce_rest_product_variation_invalid_id",
            StatusCode::NOT_FOUND,
        )),
        Some(_) if !auth.0 => Err(WpError::forbidden(
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot view this resource.",
        )),
        Some(v) => Ok(php_json(StatusCode::OK, &v)),
    }
}

async fn update_variation(
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
    let exists = st.products.get(&id).is_some_and(|p| {
        parent.is_none_or(|pid| p.get("parent_id").and_then(Value::as_u64) == Some(pid))
    });
    if !exists {
        return Err(WpError::invalid_id(code, StatusCode::BAD_REQUEST));
    }
    if !auth.0 {
        return Err(WpError::forbidden(
            "woocommerce_rest_cannot_edit",
            "Sorry, you are not allowed to edit this resource.",
        ));
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

// ------------------------------------------------------------------------ webhooks

async fn list_webhooks(
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
        return Err(WpError::forbidden(
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot list resources.",
        ));
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

async fn get_webhook(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
    Path(id): Path<String>,
) -> Handled {
    let id = route_id(&id)?;
    if !auth.0 {
        return Err(WpError::forbidden(
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot view this resource.",
        ));
    }
    let found = inner
        .lock()
        .webhooks
        .get(&id)
        .map(|w| w.to_rest(&inner.home));
    found.map(|w| php_json(StatusCode::OK, &w)).ok_or_else(|| {
        WpError::invalid_id(
            "woocommerce_rest_shop_webhook_invalid_id",
            StatusCode::NOT_FOUND,
        )
    })
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

async fn create_webhook(
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
        return Err(WpError::forbidden(
            "woocommerce_rest_cannot_create",
            "Sorry, you are not allowed to create resources.",
        ));
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
    let view = inner
        .lock()
        .webhooks
        .get(&id)
        .map(|w| w.to_rest(&inner.home))
        .unwrap_or(Value::Null);
    let mut response = php_json(StatusCode::CREATED, &view);
    if let Ok(location) =
        HeaderValue::from_str(&format!("{}/wp-json/wc/v3/webhooks/{id}", inner.home))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn update_webhook(
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
        return Err(WpError::forbidden(
            "woocommerce_rest_cannot_edit",
            "Sorry, you are not allowed to edit this resource.",
        ));
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
    let view = inner
        .lock()
        .webhooks
        .get(&id)
        .map(|w| w.to_rest(&inner.home))
        .unwrap_or(Value::Null);
    Ok(php_json(StatusCode::OK, &view))
}

async fn delete_webhook(
    State(inner): Shared,
    Extension(auth): Extension<Authed>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Handled {
    let id = route_id(&id)?;
    if !auth.0 {
        return Err(WpError::forbidden(
            "woocommerce_rest_cannot_delete",
            "Sorry, you are not allowed to delete this resource.",
        ));
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

// ------------------------------------------------------------------------ system status & index

async fn system_status(State(inner): Shared, Extension(auth): Extension<Authed>) -> Handled {
    if !auth.0 {
        return Err(WpError::forbidden(
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot view this resource.",
        ));
    }
    let home = &inner.home;
    let body = json!({
        "environment": {
            "home_url": home,
            "site_url": home,
            "version": inner.config.wc_version,
            "wp_version": crate::WP_VERSION,
            "wp_multisite": false,
            "wp_debug_mode": false,
            "language": "fr_FR",
            "server_info": "woosellsy sim-woocommerce",
            "php_version": "8.2.0",
            "default_timezone": "UTC",
            "secure_connection": inner.config.is_ssl,
            "hide_errors": true,
        },
        "database": { "wc_database_version": inner.config.wc_version },
        "active_plugins": [{
            "plugin": "woocommerce/woocommerce.php",
            "name": "WooCommerce",
            "version": inner.config.wc_version,
            "version_latest": inner.config.wc_version,
            "url": "https://woocommerce.com/",
            "author_name": "Automattic",
            "author_url": "https://woocommerce.com",
            "network_activated": false,
        }],
        "inactive_plugins": [],
        "settings": {
            "api_enabled": true,
            "force_ssl": false,
            "currency": "EUR",
            "currency_symbol": "&euro;",
            "currency_position": "right_space",
            "thousand_separator": " ",
            "decimal_separator": ",",
            "number_of_decimals": 2,
            "geolocation_enabled": false,
            "taxonomies": {},
            "woocommerce_com_connected": "no",
            "enforce_approved_download_dirs": true,
            "order_datastore": "Automattic\\WooCommerce\\Internal\\DataStores\\Orders\\OrdersTableDataStore",
            "HPOS_enabled": true,
            "HPOS_sync_enabled": false,
        },
        "security": { "secure_connection": inner.config.is_ssl, "hide_errors": true },
        "pages": [],
        "post_type_counts": [],
    });
    Ok(php_json(StatusCode::OK, &body))
}

/// `GET /wp-json/`: the site index, where the store's timezone lives.
async fn index(State(inner): Shared) -> Response {
    let body = json!({
        "name": "WooSim",
        "description": "WooCommerce simulator",
        "url": inner.home,
        "home": inner.home,
        "gmt_offset": SITE_UTC_OFFSET_SECS / 3600,
        "timezone_string": "",
        "namespaces": ["wc/v3"],
        "authentication": [],
        "routes": {},
    });
    php_json(StatusCode::OK, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_dates_are_read_in_the_site_timezone() {
        let local = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap();
        // No suffix: already site-local wall time.
        assert_eq!(
            parse_rest_date("2024-05-01T10:00:00"),
            Some(local("2024-05-01T10:00:00"))
        );
        // `Z` / offsets are converted to site-local (UTC+2).
        assert_eq!(
            parse_rest_date("2024-05-01T10:00:00Z"),
            Some(local("2024-05-01T12:00:00"))
        );
        assert_eq!(
            parse_rest_date("2024-05-01T10:00:00.123+02:00"),
            Some(local("2024-05-01T10:00:00"))
        );
        assert_eq!(
            parse_rest_date("2024-05-01 10:00:00-0100"),
            Some(local("2024-05-01T13:00:00"))
        );
        assert_eq!(parse_rest_date("2024-05-01"), None);
        assert_eq!(parse_rest_date("2024-05-01T10:00:00+2"), None);
        assert_eq!(parse_rest_date("yesterday at noon!!"), None);
    }

    #[test]
    fn delivery_urls_must_be_http_or_https() {
        assert!(is_valid_delivery_url("http://127.0.0.1:9000/hook"));
        assert!(is_valid_delivery_url("https://example.com/"));
        assert!(!is_valid_delivery_url("ftp://example.com/"));
        assert!(!is_valid_delivery_url("example.com"));
    }
}
