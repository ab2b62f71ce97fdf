//! The WooCommerce REST v3 client (`{base_url}/wp-json/wc/v3`): orders (read, list, meta write-back)
//! and products (SKU lookup, stock updates).
//!
//! A store with WordPress's *plain* permalinks (the default of a fresh install) does not serve
//! `/wp-json/…`; its REST API answers at `{base_url}/index.php?rest_route=/wc/v3/…` instead. The client
//! detects it (see [`UrlForm::Auto`]): a `/wp-json` request answered by something other than the REST
//! API is sent again once in the `rest_route` form, and the form that worked is kept for the client's
//! lifetime (shared by its clones).
//!
//! Authentication follows `WC_REST_Authentication`: HTTP Basic with the consumer key/secret over
//! HTTPS, OAuth 1.0a one-legged (see [`crate::oauth`]) over plain HTTP, where WooCommerce refuses
//! Basic. Errors are classified by [`Error::is_transient`] so callers know whether a retry can help.
//! Redirects are not followed: a store redirecting `http`→`https` or to `www.` is a configuration
//! error to surface (a followed redirect would also invalidate the OAuth signature).

pub mod oauth;
mod shop;
pub use shop::{WooShopFactory, port_error};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::NaiveDateTime;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use url::Url;

use woocommerce::model::{Order, Product};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
/// WooCommerce rejects `per_page` above 100 (`400 rest_invalid_param`).
pub const MAX_PER_PAGE: u32 = 100;
/// How much of an unparseable error body is kept in [`Error::Http`].
const EXCERPT_CHARS: usize = 300;
/// Safety stop for [`Client::list_all_orders`] when a store reports no page count.
const MAX_PAGES: u32 = 10_000;

/// How the client authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// Basic over `https`, OAuth 1.0a over `http` (what WooCommerce itself accepts).
    #[default]
    Auto,
    /// HTTP Basic `consumer_key:consumer_secret` (WooCommerce only honours it when PHP sees HTTPS).
    Basic,
    /// OAuth 1.0a one-legged, HMAC-SHA256, parameters in the query string. Also works over HTTPS,
    /// e.g. behind a TLS-terminating proxy where WordPress believes the request is plain HTTP.
    OAuth1,
}

/// Which URL form reaches the REST API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UrlForm {
    /// `{home}/wp-json/wc/v3/…` first; when that answers a 404 that is not a WordPress REST error (or
    /// a `text/html` success: WordPress serving a page), the request is sent again as
    /// `{home}/index.php?rest_route=/wc/v3/…`, and if the REST API answers there, every later request
    /// of this client (and its clones) uses that form.
    #[default]
    Auto,
    /// Always `{home}/wp-json/wc/v3/…` (pretty permalinks), never falling back.
    WpJson,
    /// Always `{home}/index.php?rest_route=/wc/v3/…` (works whatever the permalink setting).
    RestRoute,
}

/// Everything that can go wrong talking to WooCommerce.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A WordPress REST error body `{"code","message","data":{"status"}}`.
    #[error("WooCommerce answered {status}: {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// A non-success answer whose body is not a WordPress error (proxy page, PHP fatal error…).
    #[error("WooCommerce answered HTTP {0}: {1}")]
    Http(u16, String),
    /// The request did not complete (DNS, connection, TLS, timeout, interrupted body). The URL is
    /// stripped from the error because OAuth puts the consumer key in it.
    #[error("cannot reach WooCommerce: {0}")]
    Transport(#[source] reqwest::Error),
    /// A success answer whose body is not the expected JSON.
    #[error("unexpected WooCommerce response: {0}")]
    Decode(String),
    /// The client was configured with an unusable base URL.
    #[error("invalid WooCommerce configuration: {0}")]
    Config(String),
}

impl Error {
    /// True when retrying later may succeed: 5xx, 429, 408, timeouts and connection failures.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Api { status, .. } | Error::Http(status, _) => status_is_transient(*status),
            Error::Transport(e) => !(e.is_builder() || e.is_redirect()),
            Error::Decode(_) | Error::Config(_) => false,
        }
    }

    /// The HTTP status WooCommerce answered, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Http(status, _) => Some(*status),
            _ => None,
        }
    }

    /// The WordPress error code (`woocommerce_rest_shop_order_invalid_id`, …), when there is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

fn status_is_transient(status: u16) -> bool {
    status >= 500 || status == 429 || status == 408
}

/// One page of a list endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// `X-WP-Total`; `None` when the header is missing (some proxies and caches strip it).
    pub total: Option<u64>,
    /// `X-WP-TotalPages`; `None` when missing.
    pub total_pages: Option<u32>,
}

/// `asc` / `desc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

/// Parameters of `GET /orders`. Dates are UTC wall time and are sent with `dates_are_gmt=true` and
/// no suffix (WordPress would shift a `Z`-suffixed value by the site offset).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderQuery {
    /// Orders modified strictly after this instant (UTC).
    pub modified_after: Option<NaiveDateTime>,
    pub modified_before: Option<NaiveDateTime>,
    /// Orders created strictly after this instant (UTC).
    pub created_after: Option<NaiveDateTime>,
    pub created_before: Option<NaiveDateTime>,
    /// Statuses without `wc-`; empty means WooCommerce's default (`any`).
    pub status: Vec<String>,
    /// 1–100; `None` is WooCommerce's default (10).
    pub per_page: Option<u32>,
    /// From 1; `None` is 1.
    pub page: Option<u32>,
    /// `date`, `id`, `modified`, `include`, `title`, `slug`.
    pub orderby: Option<String>,
    pub order: Option<SortOrder>,
    pub include: Vec<u64>,
    pub customer: Option<u64>,
}

impl OrderQuery {
    /// The polling recipe: everything modified after `after` (UTC), oldest change first, 100 a page.
    pub fn modified_since(after: NaiveDateTime) -> Self {
        OrderQuery {
            modified_after: Some(after),
            per_page: Some(MAX_PER_PAGE),
            orderby: Some("modified".to_owned()),
            order: Some(SortOrder::Asc),
            ..OrderQuery::default()
        }
    }

    fn params(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut push = |k: &str, v: String| out.push((k.to_owned(), v));
        let date = |d: &NaiveDateTime| d.format("%Y-%m-%dT%H:%M:%S").to_string();
        let mut any_date = false;
        for (key, value) in [
            ("modified_after", &self.modified_after),
            ("modified_before", &self.modified_before),
            ("after", &self.created_after),
            ("before", &self.created_before),
        ] {
            if let Some(d) = value {
                push(key, date(d));
                any_date = true;
            }
        }
        if any_date {
            push("dates_are_gmt", "true".to_owned());
        }
        if !self.status.is_empty() {
            push("status", self.status.join(","));
        }
        if let Some(n) = self.per_page {
            push("per_page", n.clamp(1, MAX_PER_PAGE).to_string());
        }
        if let Some(n) = self.page {
            push("page", n.max(1).to_string());
        }
        if let Some(o) = &self.orderby {
            push("orderby", o.clone());
        }
        if let Some(o) = self.order {
            push(
                "order",
                match o {
                    SortOrder::Asc => "asc",
                    SortOrder::Desc => "desc",
                }
                .to_owned(),
            );
        }
        if !self.include.is_empty() {
            let ids: Vec<String> = self.include.iter().map(u64::to_string).collect();
            push("include", ids.join(","));
        }
        if let Some(c) = self.customer {
            push("customer", c.to_string());
        }
        out
    }
}

/// The WooCommerce REST client. Cheap to clone (the connection pool and the URL form are shared).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// The store's home URL, its path without a trailing slash.
    home: Url,
    /// `…/wp-json/wc/v3`, without a trailing slash.
    api: Url,
    consumer_key: SecretString,
    consumer_secret: SecretString,
    oauth: bool,
    /// Whether a `/wp-json` request that missed the REST API is retried in the `rest_route` form.
    detect: bool,
    /// True once requests go to `index.php?rest_route=` (forced, or adopted after a fallback).
    rest_route: Arc<AtomicBool>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api", &self.api.as_str())
            .field("auth", &if self.oauth { "oauth1" } else { "basic" })
            .field("rest_route", &self.uses_rest_route())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the store at `base_url` (its WordPress home URL, e.g. `https://shop.example` or
    /// `https://example.com/shop`).
    pub fn new(
        base_url: &str,
        consumer_key: SecretString,
        consumer_secret: SecretString,
        auth: AuthMode,
    ) -> Result<Self, Error> {
        let base = Url::parse(base_url.trim())
            .map_err(|e| Error::Config(format!("base URL {base_url:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(Error::Config(format!(
                "base URL {base_url:?} must be http(s)://host[/path]"
            )));
        }
        if base.query().is_some() || !base.username().is_empty() || base.password().is_some() {
            return Err(Error::Config(format!(
                "base URL {base_url:?} must not carry a query or credentials"
            )));
        }
        let mut home = base;
        home.set_fragment(None);
        let home_path = home.path().trim_end_matches('/').to_owned();
        home.set_path(&home_path);
        let api = Url::parse(&format!(
            "{}/wp-json/wc/v3",
            home.as_str().trim_end_matches('/')
        ))
        .map_err(|e| Error::Config(format!("base URL {base_url:?}: {e}")))?;
        let oauth = match auth {
            AuthMode::Auto => api.scheme() == "http",
            AuthMode::Basic => false,
            AuthMode::OAuth1 => true,
        };
        // reqwest is built without a default crypto provider; installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("woosellsy/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {}", e.without_url())))?;
        Ok(Client {
            http,
            home,
            api,
            consumer_key,
            consumer_secret,
            oauth,
            detect: true,
            rest_route: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The same client with the REST URL form set (the default is [`UrlForm::Auto`]).
    pub fn with_url_form(mut self, form: UrlForm) -> Self {
        self.detect = form == UrlForm::Auto;
        self.rest_route = Arc::new(AtomicBool::new(form == UrlForm::RestRoute));
        self
    }

    /// The REST base in its pretty-permalink form (`…/wp-json/wc/v3`).
    pub fn api_url(&self) -> &str {
        self.api.as_str()
    }

    /// True when requests go to `{home}/index.php?rest_route=/wc/v3/…` (forced, or adopted because the
    /// store does not serve `/wp-json`).
    pub fn uses_rest_route(&self) -> bool {
        self.rest_route.load(Ordering::Relaxed)
    }

    /// True when requests are signed with OAuth 1.0a (else HTTP Basic).
    pub fn uses_oauth(&self) -> bool {
        self.oauth
    }

    /// `GET /orders/{id}`.
    pub async fn get_order(&self, id: u64) -> Result<Order, Error> {
        let (_, body) = self
            .send(Method::GET, &format!("orders/{id}"), &[], None)
            .await?;
        decode(&body)
    }

    /// `GET /orders` with `query`; reads the page counts from `X-WP-Total`/`X-WP-TotalPages`.
    pub async fn list_orders(&self, query: &OrderQuery) -> Result<Page<Order>, Error> {
        let (headers, body) = self
            .send(Method::GET, "orders", &query.params(), None)
            .await?;
        Ok(Page {
            items: decode(&body)?,
            total: header_number(&headers, "x-wp-total"),
            total_pages: header_number(&headers, "x-wp-totalpages"),
        })
    }

    /// Every order matching `query`, walking the pages from `query.page` (or 1) to the last one.
    /// Without page-count headers it stops at the first short or empty page.
    pub async fn list_all_orders(&self, query: &OrderQuery) -> Result<Vec<Order>, Error> {
        let mut q = query.clone();
        let per_page = q.per_page.unwrap_or(MAX_PER_PAGE).clamp(1, MAX_PER_PAGE);
        q.per_page = Some(per_page);
        let mut page = q.page.unwrap_or(1).max(1);
        let mut all = Vec::new();
        loop {
            q.page = Some(page);
            let result = self.list_orders(&q).await?;
            let count = result.items.len();
            all.extend(result.items);
            let last = match result.total_pages {
                Some(total_pages) => page >= total_pages,
                None => count < per_page as usize,
            };
            if last || count == 0 || page >= MAX_PAGES {
                return Ok(all);
            }
            page += 1;
        }
    }

    /// Upserts order meta by key (`PUT /orders/{id}` `{"meta_data":[{"key","value"}…]}`): WooCommerce
    /// updates the first row with that key (or adds one); a `null` value deletes the key. Note that
    /// this fires an `order.updated` webhook for our own write.
    pub async fn update_order_meta<K: AsRef<str>>(
        &self,
        id: u64,
        meta: &[(K, Value)],
    ) -> Result<Order, Error> {
        let rows: Vec<Value> = meta
            .iter()
            .map(|(k, v)| json!({"key": k.as_ref(), "value": v}))
            .collect();
        let body = json!({ "meta_data": rows });
        let (_, body) = self
            .send(Method::PUT, &format!("orders/{id}"), &[], Some(&body))
            .await?;
        decode(&body)
    }

    /// `GET /products/{id}` (a variation id answers in product shape, with its `parent_id`).
    pub async fn get_product(&self, id: u64) -> Result<Product, Error> {
        let (_, body) = self
            .send(Method::GET, &format!("products/{id}"), &[], None)
            .await?;
        decode(&body)
    }

    /// Products and variations whose SKU is `sku` (`GET /products?sku=`). WooCommerce splits the
    /// parameter on commas and matches case-insensitively (MySQL collation), so the answer is
    /// filtered to SKUs equal to `sku` ignoring case: `A,B` never returns the product `A`.
    pub async fn get_products_by_sku(&self, sku: &str) -> Result<Vec<Product>, Error> {
        let sku = sku.trim();
        if sku.is_empty() {
            return Ok(Vec::new());
        }
        let params = [
            ("sku".to_owned(), sku.to_owned()),
            ("per_page".to_owned(), MAX_PER_PAGE.to_string()),
        ];
        let (_, body) = self.send(Method::GET, "products", &params, None).await?;
        let products: Vec<Product> = decode(&body)?;
        Ok(products
            .into_iter()
            .filter(|p| p.sku.trim().to_lowercase() == sku.to_lowercase())
            .collect())
    }

    /// Sets the stock of a product (`PUT /products/{id}` `{"manage_stock":true,"stock_quantity":q}`).
    /// WooCommerce ignores it unless stock management is enabled store-wide.
    pub async fn update_product_stock(&self, id: u64, quantity: Decimal) -> Result<Product, Error> {
        self.put_stock(&format!("products/{id}"), quantity).await
    }

    /// Sets the stock of a variation (`PUT /products/{parent}/variations/{id}`). For a variation whose
    /// `manage_stock` is `"parent"`, update the parent product instead.
    pub async fn update_variation_stock(
        &self,
        parent_id: u64,
        id: u64,
        quantity: Decimal,
    ) -> Result<Product, Error> {
        self.put_stock(&format!("products/{parent_id}/variations/{id}"), quantity)
            .await
    }

    async fn put_stock(&self, path: &str, quantity: Decimal) -> Result<Product, Error> {
        #[derive(Serialize)]
        struct StockUpdate {
            manage_stock: bool,
            #[serde(serialize_with = "woocommerce::lenient::ser_opt_decimal_number")]
            stock_quantity: Option<Decimal>,
        }
        let body = serde_json::to_value(StockUpdate {
            manage_stock: true,
            stock_quantity: Some(quantity.normalize()),
        })
        .map_err(|e| Error::Decode(format!("stock body: {e}")))?;
        let (_, body) = self.send(Method::PUT, path, &[], Some(&body)).await?;
        decode(&body)
    }

    /// Sends one request for the REST route `/wc/v3/{path}` with the decoded query `params`; success
    /// answers give their headers and body, failures a classified [`Error`]. Falls back once to the
    /// `rest_route` form when the `/wp-json` URL is not served by the REST API (see [`UrlForm::Auto`]).
    async fn send(
        &self,
        method: Method,
        path: &str,
        params: &[(String, String)],
        json_body: Option<&Value>,
    ) -> Result<(HeaderMap, Vec<u8>), Error> {
        let rest_route = self.uses_rest_route();
        let first = self
            .send_once(method.clone(), path, params, json_body, rest_route)
            .await?;
        if rest_route || !self.detect || !first.missed_rest_api() {
            return first.into_result();
        }
        // Nothing ran on the store (no REST API at that URL), so even a write is safe to resend.
        let second = self
            .send_once(method, path, params, json_body, true)
            .await?;
        if second.missed_rest_api() {
            // Not there either (a wrong base URL?): report the canonical URL's answer.
            return first.into_result();
        }
        if second.answered_by_rest_api() && !self.rest_route.swap(true, Ordering::Relaxed) {
            tracing::info!(
                store = %self.home,
                url_form = "index.php?rest_route=",
                "WooCommerce REST API not served under /wp-json (plain permalinks?): using the rest_route form from now on"
            );
        }
        second.into_result()
    }

    /// The URL (without query) and the decoded query parameters for the REST route `/wc/v3/{path}`:
    /// `{home}/wp-json/wc/v3/{path}?{params}`, or `{home}/index.php?rest_route=/wc/v3/{path}&{params}`.
    /// The only place REST URLs are built. For the OAuth signature the `rest_route` form is what
    /// WooCommerce verifies: its base URL is `{home}/index.php` (the request path re-absolutised on
    /// the home URL) and `rest_route` is one of the signed parameters (it is in `$_GET`).
    fn endpoint(
        &self,
        path: &str,
        params: &[(String, String)],
        rest_route: bool,
    ) -> (Url, Vec<(String, String)>) {
        let mut url = self.home.clone();
        let route = format!("/wc/v3/{}", path.trim_start_matches('/'));
        if rest_route {
            url.set_path(&format!(
                "{}/index.php",
                self.home.path().trim_end_matches('/')
            ));
            let mut query = Vec::with_capacity(params.len() + 1);
            query.push(("rest_route".to_owned(), route));
            query.extend_from_slice(params);
            (url, query)
        } else {
            url.set_path(&format!(
                "{}/wp-json{route}",
                self.home.path().trim_end_matches('/')
            ));
            (url, params.to_vec())
        }
    }

    /// One HTTP exchange in the given URL form, signed (OAuth) or with Basic credentials.
    async fn send_once(
        &self,
        method: Method,
        path: &str,
        params: &[(String, String)],
        json_body: Option<&Value>,
        rest_route: bool,
    ) -> Result<Answer, Error> {
        let (mut url, params) = self.endpoint(path, params, rest_route);
        let query = if self.oauth {
            oauth::signed_query(
                method.as_str(),
                &url,
                &params,
                self.consumer_key.expose_secret(),
                self.consumer_secret.expose_secret(),
                chrono::Utc::now().timestamp(),
                &oauth::nonce(),
            )
        } else {
            params
        };
        if !query.is_empty() {
            url.set_query(Some(&oauth::query_string(&query)));
        }
        let mut request = self
            .http
            .request(method, url)
            .header(reqwest::header::ACCEPT, "application/json");
        if !self.oauth {
            request = request.basic_auth(
                self.consumer_key.expose_secret(),
                Some(self.consumer_secret.expose_secret()),
            );
        }
        if let Some(body) = json_body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Error::Transport(e.without_url()))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::Transport(e.without_url()))?;
        Ok(Answer {
            status,
            headers,
            body: body.to_vec(),
        })
    }
}

/// A complete HTTP answer, before it is judged.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    /// The WordPress REST API did not handle the request: a 404 whose body is not a WordPress error
    /// (the web server's or WordPress's HTML page), or a success that is an HTML page (WordPress
    /// showing its home page for a path it does not route). The REST server always answers JSON,
    /// its own 404s (`rest_no_route`, `…_invalid_id`) included.
    fn missed_rest_api(&self) -> bool {
        if self.status == StatusCode::NOT_FOUND {
            return wp_error(&self.body).is_none();
        }
        self.status.is_success() && self.content_type().starts_with("text/html")
    }

    /// The answer comes from the WordPress REST API: a JSON success or a WordPress error body.
    fn answered_by_rest_api(&self) -> bool {
        if self.status.is_success() {
            self.content_type().contains("json")
                || serde_json::from_slice::<Value>(&self.body).is_ok()
        } else {
            wp_error(&self.body).is_some()
        }
    }

    fn content_type(&self) -> String {
        self.headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    }

    fn into_result(self) -> Result<(HeaderMap, Vec<u8>), Error> {
        if self.status.is_success() {
            Ok((self.headers, self.body))
        } else {
            Err(error_from_response(self.status, &self.headers, &self.body))
        }
    }
}

/// The `code` and `message` of a WordPress REST error body `{"code","message","data"}`, if `body` is one.
fn wp_error(body: &[u8]) -> Option<(String, String)> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let code = map.get("code").and_then(Value::as_str)?;
    let message = map
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Some((code.to_owned(), message.to_owned()))
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| Error::Decode(e.to_string()))
}

fn header_number<N: std::str::FromStr>(headers: &HeaderMap, name: &str) -> Option<N> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn error_from_response(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    if let Some((code, message)) = wp_error(body) {
        return Error::Api {
            status: status.as_u16(),
            code,
            message,
        };
    }
    let mut excerpt: String = String::from_utf8_lossy(body)
        .chars()
        .take(EXCERPT_CHARS)
        .collect();
    if status.is_redirection()
        && let Some(location) = headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
    {
        // Only scheme/host/path: a redirect target may echo our query (and the OAuth key) back.
        let target = Url::parse(location)
            .map(|mut u| {
                u.set_query(None);
                u.to_string()
            })
            .unwrap_or_else(|_| location.split('?').next().unwrap_or_default().to_owned());
        excerpt = format!("redirected to {target}; configure the store's final URL");
    }
    Error::Http(status.as_u16(), excerpt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(home: &str) -> Client {
        Client::new(
            home,
            SecretString::from("ck_1"),
            SecretString::from("cs_1"),
            AuthMode::Auto,
        )
        .expect("client")
    }

    fn answer(status: u16, content_type: &str, body: &str) -> Answer {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            content_type.parse().expect("header"),
        );
        Answer {
            status: StatusCode::from_u16(status).expect("status"),
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn both_url_forms_come_from_one_builder_and_keep_the_home_path() {
        let c = client("http://Shop.Example/shop/");
        let params = vec![("context".to_owned(), "view".to_owned())];
        let (url, query) = c.endpoint("orders/5", &params, false);
        assert_eq!(
            url.as_str(),
            "http://shop.example/shop/wp-json/wc/v3/orders/5"
        );
        assert_eq!(query, params);
        let (url, query) = c.endpoint("orders/5", &params, true);
        assert_eq!(url.as_str(), "http://shop.example/shop/index.php");
        assert_eq!(
            oauth::query_string(&query),
            "rest_route=%2Fwc%2Fv3%2Forders%2F5&context=view"
        );
        // What WooCommerce rebuilds: `{home}/index.php`, and `rest_route` among the signed parameters,
        // encoded once in the parameter string and once more in the base string.
        let base = oauth::base_string("GET", &oauth::base_uri(&url), &query);
        assert_eq!(
            base,
            "GET&http%3A%2F%2Fshop.example%2Fshop%2Findex.php&context%3Dview%26rest_route%3D%252Fwc%252Fv3%252Forders%252F5"
        );
        let (url, _) = client("https://shop.example").endpoint("orders", &[], true);
        assert_eq!(url.as_str(), "https://shop.example/index.php");
    }

    #[test]
    fn only_answers_that_are_not_from_the_rest_api_trigger_the_fallback() {
        let html = "<html><body>Not Found</body></html>";
        assert!(answer(404, "text/html; charset=iso-8859-1", html).missed_rest_api());
        // WordPress showing its home page for a path it does not route.
        assert!(answer(200, "text/html; charset=UTF-8", html).missed_rest_api());
        assert!(answer(404, "application/json", r#"{"message":"nope"}"#).missed_rest_api());
        let wp_404 = r#"{"code":"rest_no_route","message":"No route","data":{"status":404}}"#;
        assert!(!answer(404, "application/json; charset=UTF-8", wp_404).missed_rest_api());
        assert!(!answer(200, "application/json; charset=UTF-8", "[]").missed_rest_api());
        assert!(!answer(500, "text/html", html).missed_rest_api());

        assert!(answer(200, "application/json", "[]").answered_by_rest_api());
        assert!(answer(404, "application/json", wp_404).answered_by_rest_api());
        assert!(!answer(502, "text/html", html).answered_by_rest_api());
    }

    #[test]
    fn clones_share_the_url_form() {
        let c = client("http://shop.example");
        let clone = c.clone();
        assert!(!clone.uses_rest_route());
        c.rest_route.store(true, Ordering::Relaxed);
        assert!(clone.uses_rest_route());
        let forced = client("http://shop.example").with_url_form(UrlForm::RestRoute);
        assert!(forced.uses_rest_route() && !forced.detect);
    }
}
