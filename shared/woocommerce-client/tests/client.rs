//! The REST client against a small local WooCommerce stand-in that authenticates the way
//! `WC_REST_Authentication` does (OAuth signature re-derived here with WooCommerce's own steps, not
//! with the client's code; Basic credentials checked), paginates with `X-WP-Total*` headers and
//! answers WordPress error bodies.

// The stand-in returns early with full axum responses; their size does not matter in a test.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::{Value, json};
use woocommerce::model::OrderStatus;
use woocommerce_client::{AuthMode, Client, Error, OrderQuery};

const CK: &str = "ck_4f3c2b1a0987654321";
const CS: &str = "cs_0123456789abcdef";

#[derive(Default)]
struct Seen {
    auth: Vec<&'static str>,
    nonces: HashSet<String>,
    queries: Vec<BTreeMap<String, String>>,
    bodies: Vec<(String, Value)>,
}

#[derive(Clone)]
struct Shop {
    port: u16,
    order_727: Arc<Mutex<Value>>,
    seen: Arc<Mutex<Seen>>,
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/woocommerce/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

/// PHP `rawurlencode`, written independently of the client's encoder.
fn rawurlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn wp_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"code": code, "message": message, "data": {"status": status.as_u16()}})),
    )
        .into_response()
}

/// `WC_REST_Authentication::check_oauth_signature` + timestamp/nonce checks, or Basic.
fn authenticate(
    shop: &Shop,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(), Response> {
    // PHP's $_GET: form-decoded, later keys win.
    let mut params: BTreeMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let mut seen = shop.seen.lock().expect("lock");
    if let Some(provided) = params.remove("oauth_signature") {
        for required in [
            "oauth_consumer_key",
            "oauth_timestamp",
            "oauth_nonce",
            "oauth_signature_method",
        ] {
            if !params.contains_key(required) {
                return Err(wp_error(
                    StatusCode::UNAUTHORIZED,
                    "woocommerce_rest_authentication_missing_parameter",
                    &format!("{required} parameter is missing"),
                ));
            }
        }
        if params["oauth_consumer_key"] != CK {
            return Err(wp_error(
                StatusCode::UNAUTHORIZED,
                "woocommerce_rest_authentication_error",
                "Consumer key is invalid.",
            ));
        }
        // uksort(strcmp) — the BTreeMap order — then encode keys/values, join "k=v", encode again.
        let joined: Vec<String> = params
            .iter()
            .map(|(k, v)| rawurlencode(&format!("{}={}", rawurlencode(k), rawurlencode(v))))
            .collect();
        let base_uri = format!("http://127.0.0.1:{}{}", shop.port, uri.path());
        let to_sign = format!(
            "{}&{}&{}",
            method.as_str(),
            rawurlencode(&base_uri),
            joined.join("%26")
        );
        assert_eq!(params["oauth_signature_method"], "HMAC-SHA256");
        let mut mac =
            <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(format!("{CS}&").as_bytes())
                .expect("key");
        mac.update(to_sign.as_bytes());
        let expected =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        if expected != provided {
            return Err(wp_error(
                StatusCode::UNAUTHORIZED,
                "woocommerce_rest_authentication_error",
                "Invalid signature - provided signature does not match.",
            ));
        }
        let ts: i64 = params["oauth_timestamp"].parse().unwrap_or(0);
        if (chrono::Utc::now().timestamp() - ts).abs() > 15 * 60 {
            return Err(wp_error(
                StatusCode::UNAUTHORIZED,
                "woocommerce_rest_authentication_error",
                "Invalid timestamp.",
            ));
        }
        if !seen.nonces.insert(params["oauth_nonce"].clone()) {
            return Err(wp_error(
                StatusCode::UNAUTHORIZED,
                "woocommerce_rest_authentication_error",
                "Invalid nonce - nonce has already been used.",
            ));
        }
        seen.auth.push("oauth");
    } else if let Some(basic) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        let decoded = basic
            .strip_prefix("Basic ")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok());
        if decoded.as_deref() != Some(&format!("{CK}:{CS}")) {
            return Err(wp_error(
                StatusCode::UNAUTHORIZED,
                "woocommerce_rest_authentication_error",
                "Consumer secret is invalid.",
            ));
        }
        seen.auth.push("basic");
    } else {
        return Err(wp_error(
            StatusCode::UNAUTHORIZED,
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot list resources.",
        ));
    }
    params.retain(|k, _| !k.starts_with("oauth_"));
    seen.queries.push(params);
    Ok(())
}

fn list_order(id: u64) -> Value {
    json!({"id": id, "status": "completed", "total": format!("{id}.00"), "line_items": [], "billing": []})
}

async fn handle(
    State(shop): State<Shop>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(denied) = authenticate(&shop, &method, &uri, &headers) {
        return denied;
    }
    let query: BTreeMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let path = uri.path().strip_prefix("/wp-json/wc/v3/").unwrap_or("");
    let segments: Vec<&str> = path.split('/').collect();
    if !body.is_empty() {
        let parsed: Value = serde_json::from_slice(&body).expect("client sends JSON");
        shop.seen
            .lock()
            .expect("lock")
            .bodies
            .push((path.to_owned(), parsed));
    }
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["orders"]) => {
            const TOTAL: u64 = 5;
            let per_page: u64 = query
                .get("per_page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(10);
            if per_page > 100 {
                return wp_error(
                    StatusCode::BAD_REQUEST,
                    "rest_invalid_param",
                    "Invalid parameter(s): per_page",
                );
            }
            let page: u64 = query.get("page").and_then(|v| v.parse().ok()).unwrap_or(1);
            let items: Vec<Value> = ((page - 1) * per_page + 1..=(page * per_page).min(TOTAL))
                .map(list_order)
                .collect();
            let mut response = axum::Json(Value::Array(items)).into_response();
            let h = response.headers_mut();
            h.insert("x-wp-total", TOTAL.into());
            h.insert("x-wp-totalpages", TOTAL.div_ceil(per_page).into());
            response
        }
        ("GET", ["orders", "503"]) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "<html><body>Maintenance</body></html>",
        )
            .into_response(),
        ("GET", ["orders", "429"]) => wp_error(
            StatusCode::TOO_MANY_REQUESTS,
            "rest_too_many_requests",
            "Slow down.",
        ),
        ("GET", ["orders", "301"]) => (
            StatusCode::MOVED_PERMANENTLY,
            [(
                "Location",
                "https://shop.example/wp-json/wc/v3/orders/301?oauth_consumer_key=leak",
            )],
        )
            .into_response(),
        ("GET", ["orders", "900"]) => (StatusCode::OK, "<html>not json</html>").into_response(),
        ("GET", ["orders", "727"]) => {
            axum::Json(shop.order_727.lock().expect("lock").clone()).into_response()
        }
        ("PUT", ["orders", "727"]) => {
            let update: Value = serde_json::from_slice(&body).expect("json");
            let mut order = shop.order_727.lock().expect("lock");
            let meta = order["meta_data"].as_array_mut().expect("meta array");
            for row in update["meta_data"].as_array().expect("meta_data") {
                match meta.iter_mut().find(|m| m["key"] == row["key"]) {
                    Some(existing) => existing["value"] = row["value"].clone(),
                    None => meta.push(
                        json!({"id": 20000 + meta.len(), "key": row["key"], "value": row["value"]}),
                    ),
                }
            }
            axum::Json(order.clone()).into_response()
        }
        (_, ["orders", _]) => wp_error(
            StatusCode::NOT_FOUND,
            "woocommerce_rest_shop_order_invalid_id",
            "Invalid ID.",
        ),
        ("GET", ["products"]) => {
            let mut found = fixture("ios-products-sku-search-variation.json");
            if let Some(list) = found.as_array_mut() {
                // What a comma in the SKU makes WooCommerce return too.
                list.push(json!({"id": 1, "type": "simple", "sku": "chocobars-other"}));
                list.push(json!({"id": 2, "type": "simple", "sku": "CHOCOBARS"}));
            }
            axum::Json(found).into_response()
        }
        ("PUT", ["products", id]) | ("PUT", ["products", _, "variations", id]) => {
            let update: Value = serde_json::from_slice(&body).expect("json");
            axum::Json(
                json!({"id": id.parse::<u64>().unwrap_or(0), "manage_stock": update["manage_stock"],
                              "stock_quantity": update["stock_quantity"]}),
            )
            .into_response()
        }
        _ => wp_error(
            StatusCode::NOT_FOUND,
            "rest_no_route",
            "No route was found matching the URL and request method.",
        ),
    }
}

async fn start() -> Shop {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let shop = Shop {
        port,
        order_727: Arc::new(Mutex::new(fixture("docs-order-create-response.json"))),
        seen: Arc::default(),
    };
    let app = Router::new().fallback(handle).with_state(shop.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    shop
}

fn client(shop: &Shop, auth: AuthMode, secret: &str) -> Client {
    Client::new(
        &format!("http://127.0.0.1:{}/", shop.port),
        SecretString::from(CK),
        SecretString::from(secret),
        auth,
    )
    .expect("client")
}

#[tokio::test]
async fn oauth_over_http_gets_an_order_and_every_request_has_a_fresh_nonce() {
    let shop = start().await;
    let c = client(&shop, AuthMode::Auto, CS);
    assert!(c.uses_oauth(), "plain http must use OAuth");
    let order = c.get_order(727).await.expect("order");
    assert_eq!(order.id, 727);
    assert_eq!(order.total, Decimal::new(2935, 2));
    assert_eq!(order.status, OrderStatus::Processing);
    // Same request twice: WooCommerce refuses a reused nonce, so this proves each is signed afresh.
    c.get_order(727).await.expect("second request");
    let seen = shop.seen.lock().expect("lock");
    assert_eq!(seen.auth, vec!["oauth", "oauth"]);
    assert_eq!(seen.nonces.len(), 2);
}

#[tokio::test]
async fn oauth_signature_covers_query_parameters() {
    let shop = start().await;
    let c = client(&shop, AuthMode::OAuth1, CS);
    let since = chrono::NaiveDate::from_ymd_opt(2024, 5, 1)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("date");
    let mut q = OrderQuery::modified_since(since);
    q.status = vec!["processing".into(), "completed".into()];
    q.per_page = Some(2);
    let page = c.list_orders(&q).await.expect("signed list with query");
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.total, Some(5));
    assert_eq!(page.total_pages, Some(3));
    let seen = shop.seen.lock().expect("lock");
    let sent = &seen.queries[0];
    assert_eq!(
        sent["modified_after"], "2024-05-01T10:00:00",
        "UTC without suffix"
    );
    assert_eq!(sent["dates_are_gmt"], "true");
    assert_eq!(sent["status"], "processing,completed");
    assert_eq!(sent["orderby"], "modified");
    assert_eq!(sent["order"], "asc");
}

#[tokio::test]
async fn wrong_secret_is_an_api_error_and_not_transient() {
    let shop = start().await;
    let err = client(&shop, AuthMode::Auto, "cs_wrong")
        .get_order(727)
        .await
        .expect_err("refused");
    match &err {
        Error::Api {
            status,
            code,
            message,
        } => {
            assert_eq!(*status, 401);
            assert_eq!(code, "woocommerce_rest_authentication_error");
            assert!(message.contains("signature"));
        }
        other => panic!("expected Api, got {other:?}"),
    }
    assert!(!err.is_transient());
    let err = client(&shop, AuthMode::Basic, "cs_wrong")
        .get_order(727)
        .await
        .expect_err("refused");
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.code(), Some("woocommerce_rest_authentication_error"));
}

#[tokio::test]
async fn basic_auth_when_asked() {
    let shop = start().await;
    let c = client(&shop, AuthMode::Basic, CS);
    assert!(!c.uses_oauth());
    c.get_order(727).await.expect("order");
    assert_eq!(shop.seen.lock().expect("lock").auth, vec!["basic"]);
    // Auto picks Basic for https (nothing listens there; only the choice is checked).
    let https = Client::new(
        "https://shop.example/shop/",
        SecretString::from(CK),
        SecretString::from(CS),
        AuthMode::Auto,
    )
    .expect("client");
    assert!(!https.uses_oauth());
    assert_eq!(https.api_url(), "https://shop.example/shop/wp-json/wc/v3");
}

#[tokio::test]
async fn list_all_orders_walks_every_page() {
    let shop = start().await;
    let c = client(&shop, AuthMode::Auto, CS);
    let q = OrderQuery {
        per_page: Some(2),
        ..OrderQuery::default()
    };
    let all = c.list_all_orders(&q).await.expect("all pages");
    let ids: Vec<u64> = all.iter().map(|o| o.id).collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
    let pages: Vec<String> = shop
        .seen
        .lock()
        .expect("lock")
        .queries
        .iter()
        .map(|q| q["page"].clone())
        .collect();
    assert_eq!(pages, vec!["1", "2", "3"]);
    // per_page is clamped to WooCommerce's maximum rather than earning a 400.
    let q = OrderQuery {
        per_page: Some(500),
        ..OrderQuery::default()
    };
    assert_eq!(c.list_orders(&q).await.expect("clamped").items.len(), 5);
}

#[tokio::test]
async fn meta_write_back_upserts_by_key() {
    let shop = start().await;
    let c = client(&shop, AuthMode::Auto, CS);
    let order = c
        .update_order_meta(
            727,
            &[
                ("_sellsy_invoice_id", json!("12345")),
                ("_download_permissions_granted", json!("no")),
            ],
        )
        .await
        .expect("updated");
    assert_eq!(
        order.meta_str("_sellsy_invoice_id").as_deref(),
        Some("12345")
    );
    assert_eq!(
        order.meta_str("_download_permissions_granted").as_deref(),
        Some("no")
    );
    assert_eq!(
        order.meta_data.len(),
        2,
        "existing key updated, not duplicated"
    );
    let seen = shop.seen.lock().expect("lock");
    assert_eq!(
        seen.bodies[0].1,
        json!({"meta_data": [{"key": "_sellsy_invoice_id", "value": "12345"},
                             {"key": "_download_permissions_granted", "value": "no"}]})
    );
}

#[tokio::test]
async fn products_by_sku_keep_exact_matches_only() {
    let shop = start().await;
    let c = client(&shop, AuthMode::Auto, CS);
    let found = c.get_products_by_sku("chocobars").await.expect("search");
    let ids: Vec<u64> = found.iter().map(|p| p.id).collect();
    assert_eq!(
        ids,
        vec![2783, 2],
        "variation and the case-variant, not chocobars-other"
    );
    assert!(found[0].is_variation());
    assert_eq!(
        shop.seen.lock().expect("lock").queries[0]["sku"],
        "chocobars"
    );
    assert!(c.get_products_by_sku("  ").await.expect("empty").is_empty());
}

#[tokio::test]
async fn stock_updates_send_numbers() {
    let shop = start().await;
    let c = client(&shop, AuthMode::Auto, CS);
    let p = c
        .update_product_stock(93, Decimal::new(1200, 2))
        .await
        .expect("product");
    assert_eq!(p.stock_quantity, Some(Decimal::from(12)));
    c.update_variation_stock(22, 23, Decimal::new(165, 1))
        .await
        .expect("variation");
    let seen = shop.seen.lock().expect("lock");
    assert_eq!(
        seen.bodies[0],
        (
            "products/93".to_owned(),
            json!({"manage_stock": true, "stock_quantity": 12})
        )
    );
    assert_eq!(
        seen.bodies[1],
        (
            "products/22/variations/23".to_owned(),
            json!({"manage_stock": true, "stock_quantity": 16.5})
        )
    );
}

#[tokio::test]
async fn failures_are_classified() {
    let shop = start().await;
    let c = client(&shop, AuthMode::Auto, CS);

    let missing = c.get_order(4242).await.expect_err("404");
    assert_eq!(
        missing.code(),
        Some("woocommerce_rest_shop_order_invalid_id")
    );
    assert_eq!(missing.status(), Some(404));
    assert!(!missing.is_transient());

    let down = c.get_order(503).await.expect_err("503");
    match &down {
        Error::Http(503, excerpt) => assert!(excerpt.contains("Maintenance")),
        other => panic!("expected Http(503), got {other:?}"),
    }
    assert!(down.is_transient());

    let throttled = c.get_order(429).await.expect_err("429");
    assert!(matches!(throttled, Error::Api { status: 429, .. }));
    assert!(throttled.is_transient());

    let moved = c.get_order(301).await.expect_err("redirect not followed");
    match &moved {
        Error::Http(301, text) => {
            assert!(text.contains("https://shop.example/wp-json/wc/v3/orders/301"));
            assert!(
                !text.contains("oauth_consumer_key"),
                "query dropped: {text}"
            );
        }
        other => panic!("expected Http(301), got {other:?}"),
    }
    assert!(!moved.is_transient());

    let garbage = c.get_order(900).await.expect_err("not JSON");
    assert!(matches!(garbage, Error::Decode(_)));
    assert!(!garbage.is_transient());
}

#[tokio::test]
async fn unreachable_store_is_transient_and_never_shows_the_key() {
    let port = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        l.local_addr().expect("addr").port()
    };
    let c = Client::new(
        &format!("http://127.0.0.1:{port}"),
        SecretString::from(CK),
        SecretString::from(CS),
        AuthMode::Auto,
    )
    .expect("client");
    let err = c.get_order(1).await.expect_err("nothing listens");
    assert!(matches!(err, Error::Transport(_)));
    assert!(err.is_transient());
    let shown = format!("{err} {err:?} {c:?}");
    assert!(!shown.contains(CK) && !shown.contains(CS), "{shown}");
}

#[test]
fn bad_base_urls_are_config_errors() {
    for bad in [
        "",
        "shop.example",
        "ftp://shop.example",
        "https://user:pw@shop.example",
        "https://shop.example/?a=1",
    ] {
        let r = Client::new(
            bad,
            SecretString::from(CK),
            SecretString::from(CS),
            AuthMode::Auto,
        );
        assert!(matches!(r, Err(Error::Config(_))), "{bad:?}");
    }
}
