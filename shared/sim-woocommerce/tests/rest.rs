//! The REST API over HTTP: WooCommerce authentication and its exact 401 bodies, pagination, date
//! filters, meta write-back semantics, products by SKU and stock, webhooks CRUD.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::{Receiver, SigMethod, client, nonce, oauth_params, signed};
use reqwest::Method;
use serde_json::{Value, json};
use sim_woocommerce::{WooSim, WooSimConfig};

async fn body(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn oauth_signed_requests_are_accepted_in_query_or_header_with_sha1_or_sha256() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let id = sim.create_order(json!({"status": "processing"}));
    let http = client();
    let url = format!("{}/wp-json/wc/v3/orders/{id}", sim.url());

    let (status, order) = body(
        signed(
            &http,
            Method::GET,
            &sim.url(),
            &format!("/orders/{id}"),
            &[],
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(order["id"], json!(id));

    // HMAC-SHA1 in an Authorization header, with a query parameter that must be signed too.
    let params = oauth_params(
        "GET",
        &url,
        &[("context", "view")],
        ("ck_sim", "cs_sim"),
        &nonce(),
        chrono::Utc::now().timestamp(),
        SigMethod::Sha1,
    );
    let header = format!(
        "OAuth {}",
        params
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", urlencode(v)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let response = http
        .get(format!("{url}?context=view"))
        .header("Authorization", header)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    sim.shutdown().await;
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn tampered_replayed_or_stale_oauth_requests_get_woocommerces_401_bodies() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let http = client();
    let url = format!("{}/wp-json/wc/v3/orders", sim.url());
    let now = chrono::Utc::now().timestamp();
    let to_query = |params: &[(String, String)], extra: &str| {
        let q: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        format!("{url}?{extra}{}", q.join("&"))
    };

    // Signed for page=1, sent with page=2.
    let params = oauth_params(
        "GET",
        &url,
        &[("page", "1")],
        ("ck_sim", "cs_sim"),
        &nonce(),
        now,
        SigMethod::Sha256,
    );
    let (status, err) = body(http.get(to_query(&params, "page=2&")).send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(
        err,
        json!({"code": "woocommerce_rest_authentication_error", "message": "Invalid signature - provided signature does not match.", "data": {"status": 401}})
    );

    // Signed with the wrong secret.
    let params = oauth_params(
        "GET",
        &url,
        &[],
        ("ck_sim", "cs_wrong"),
        &nonce(),
        now,
        SigMethod::Sha256,
    );
    let (status, err) = body(http.get(to_query(&params, "")).send().await.unwrap()).await;
    assert_eq!(
        (status, err["message"].as_str()),
        (
            401,
            Some("Invalid signature - provided signature does not match.")
        )
    );

    // Unknown key.
    let params = oauth_params(
        "GET",
        &url,
        &[],
        ("ck_other", "cs_sim"),
        &nonce(),
        now,
        SigMethod::Sha256,
    );
    let (status, err) = body(http.get(to_query(&params, "")).send().await.unwrap()).await;
    assert_eq!(
        (status, err["message"].as_str()),
        (401, Some("Consumer key is invalid."))
    );

    // Replay: the same signed URL twice.
    let params = oauth_params(
        "GET",
        &url,
        &[],
        ("ck_sim", "cs_sim"),
        &nonce(),
        now,
        SigMethod::Sha256,
    );
    let replayed = to_query(&params, "");
    assert_eq!(http.get(&replayed).send().await.unwrap().status(), 200);
    let (status, err) = body(http.get(&replayed).send().await.unwrap()).await;
    assert_eq!(
        (status, err["message"].as_str()),
        (401, Some("Invalid nonce - nonce has already been used."))
    );

    // Timestamp 20 minutes old, correctly signed.
    let params = oauth_params(
        "GET",
        &url,
        &[],
        ("ck_sim", "cs_sim"),
        &nonce(),
        now - 1200,
        SigMethod::Sha256,
    );
    let (status, err) = body(http.get(to_query(&params, "")).send().await.unwrap()).await;
    assert_eq!(
        (status, err["message"].as_str()),
        (401, Some("Invalid timestamp."))
    );

    // Partial OAuth parameters.
    let (status, err) = body(
        http.get(format!("{url}?oauth_consumer_key=ck_sim"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        err["code"],
        json!("woocommerce_rest_authentication_missing_parameter")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn basic_auth_is_refused_over_http_and_accepted_behind_https() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let http = client();
    let url = format!("{}/wp-json/wc/v3/orders", sim.url());
    let (status, err) = body(
        http.get(&url)
            .basic_auth("ck_sim", Some("cs_sim"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        err,
        json!({"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.", "data": {"status": 401}})
    );
    let (status, _) = body(
        http.get(format!("{url}?consumer_key=ck_sim&consumer_secret=cs_sim"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    sim.shutdown().await;

    let sim = WooSim::start(WooSimConfig {
        is_ssl: true,
        ..WooSimConfig::default()
    })
    .await
    .unwrap();
    let url = format!("{}/wp-json/wc/v3/orders", sim.url());
    assert_eq!(
        http.get(&url)
            .basic_auth("ck_sim", Some("cs_sim"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http.get(format!("{url}?consumer_key=ck_sim&consumer_secret=cs_sim"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (status, err) = body(
        http.get(&url)
            .basic_auth("ck_sim", Some("nope"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        err,
        json!({"code": "woocommerce_rest_authentication_error", "message": "Consumer secret is invalid.", "data": {"status": 401}})
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn lists_paginate_with_wp_headers_and_cap_per_page_at_100() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    for _ in 0..25 {
        sim.create_order(json!({"status": "processing"}));
    }
    sim.create_order(json!({"status": "pending"}));
    let http = client();
    let query = [
        ("status", "processing"),
        ("per_page", "10"),
        ("page", "2"),
        ("orderby", "id"),
        ("order", "asc"),
    ];
    let response = signed(&http, Method::GET, &sim.url(), "/orders", &query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["x-wp-total"], "25");
    assert_eq!(headers["x-wp-totalpages"], "3");
    let links: Vec<&str> = headers
        .get_all("link")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(links.len(), 2, "{links:?}");
    assert!(links[0].ends_with("rel=\"prev\"") && links[0].contains("page=1"));
    assert!(links[1].ends_with("rel=\"next\"") && links[1].contains("page=3"));
    let (_, page) = body(response).await;
    let ids: Vec<u64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), 10);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));

    let past_end = [("per_page", "10"), ("page", "9")];
    let (status, page) = body(
        signed(&http, Method::GET, &sim.url(), "/orders", &past_end)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, page), (200, json!([])));

    let (status, err) = body(
        signed(
            &http,
            Method::GET,
            &sim.url(),
            "/orders",
            &[("per_page", "101")],
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(err["code"], json!("rest_invalid_param"));
    assert_eq!(err["message"], json!("Invalid parameter(s): per_page"));
    assert_eq!(
        err["data"]["params"]["per_page"],
        json!("per_page must be between 1 (inclusive) and 100 (inclusive)")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn modified_after_follows_dates_are_gmt_semantics() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let id = sim.create_order(json!({"status": "processing"}));
    let order = sim.order(id).unwrap();
    let gmt = chrono::NaiveDateTime::parse_from_str(
        order["date_modified_gmt"].as_str().unwrap(),
        "%Y-%m-%dT%H:%M:%S",
    )
    .unwrap();
    let just_before = (gmt - chrono::Duration::seconds(1))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let at = gmt.format("%Y-%m-%dT%H:%M:%S").to_string();
    let http = client();
    let count = |query: Vec<(&'static str, String)>| {
        let http = http.clone();
        let base = sim.url();
        async move {
            let q: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, list) = body(
                signed(&http, Method::GET, &base, "/orders", &q)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(status, 200, "{list}");
            list.as_array().unwrap().len()
        }
    };
    // UTC without suffix + dates_are_gmt: compared with the GMT column, strictly.
    assert_eq!(
        count(vec![
            ("modified_after", just_before.clone()),
            ("dates_are_gmt", "true".into())
        ])
        .await,
        1
    );
    assert_eq!(
        count(vec![
            ("modified_after", at.clone()),
            ("dates_are_gmt", "true".into())
        ])
        .await,
        0
    );
    // UTC with `Z` and no dates_are_gmt: converted to site time, compared with the local column.
    assert_eq!(
        count(vec![("modified_after", format!("{just_before}Z"))]).await,
        1
    );
    // The pitfall: `Z` plus dates_are_gmt shifts by the site offset (UTC+2) and misses the order.
    assert_eq!(
        count(vec![
            ("modified_after", format!("{just_before}Z")),
            ("dates_are_gmt", "true".into())
        ])
        .await,
        0
    );
    // UTC without suffix and without dates_are_gmt is read as site-local: two hours too early.
    assert_eq!(count(vec![("modified_after", at)]).await, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn put_meta_upserts_by_key_collapses_duplicates_deletes_nulls_and_fires_order_updated() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let rx = Receiver::start().await;
    sim.create_webhook("u", "order.updated", &rx.url, "s3cret")
        .await;
    let id = sim.create_order(json!({
        "status": "processing",
        "meta_data": [
            {"key": "_keep", "value": "k"},
            {"key": "_dup", "value": "a"},
            {"key": "_dup", "value": "b"},
            {"key": "_gone", "value": "x"}
        ]
    }));
    let before = sim.order(id).unwrap();
    let ids: Vec<u64> = before["meta_data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), 4);

    let http = client();
    let patch = json!({"meta_data": [
        {"key": "_dup", "value": "c"},
        {"key": "_gone", "value": null},
        {"key": "_sellsy_invoice_id", "value": 42},
        {"id": ids[0], "key": "_keep", "value": "k2"}
    ]});
    let (status, order) = body(
        signed(
            &http,
            Method::PUT,
            &sim.url(),
            &format!("/orders/{id}"),
            &[],
        )
        .json(&patch)
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{order}");
    let meta = order["meta_data"].as_array().unwrap();
    let find = |k: &str| {
        meta.iter()
            .filter(|m| m["key"] == json!(k))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        find("_keep"),
        vec![json!({"id": ids[0], "key": "_keep", "value": "k2"})]
    );
    assert_eq!(
        find("_dup"),
        vec![json!({"id": ids[1], "key": "_dup", "value": "c"})],
        "first row kept, the duplicate removed"
    );
    assert!(find("_gone").is_empty());
    let new = find("_sellsy_invoice_id");
    assert_eq!(new.len(), 1);
    assert_eq!(new[0]["value"], json!("42"), "scalars come back as strings");
    assert!(new[0]["id"].as_u64().unwrap() > *ids.iter().max().unwrap());
    assert!(
        order["date_modified_gmt"].as_str().unwrap()
            > before["date_modified_gmt"].as_str().unwrap()
    );

    // The write-back itself fires order.updated: the feedback loop is real.
    sim.settle().await;
    let delivered = rx.deliveries();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].json()["meta_data"], order["meta_data"]);

    let writes = sim.rest_writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].method, "PUT");
    assert_eq!(writes[0].path, format!("/wp-json/wc/v3/orders/{id}"));
    assert_eq!(writes[0].body, patch);
    assert_eq!(writes[0].status, 200);

    // A second identical write keeps a single row per key.
    let again = json!({"meta_data": [{"key": "_sellsy_invoice_id", "value": "42"}]});
    let (_, order) = body(
        signed(
            &http,
            Method::PUT,
            &sim.url(),
            &format!("/orders/{id}"),
            &[],
        )
        .json(&again)
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        order["meta_data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["key"] == json!("_sellsy_invoice_id"))
            .count(),
        1
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_ids_and_bad_input_get_woocommerce_errors() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let http = client();
    let (status, err) = body(
        signed(&http, Method::GET, &sim.url(), "/orders/999", &[])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, err),
        (
            404,
            json!({"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID.", "data": {"status": 404}})
        )
    );
    let (status, err) = body(
        signed(&http, Method::PUT, &sim.url(), "/orders/999", &[])
            .json(&json!({"status": "completed"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("woocommerce_rest_shop_order_invalid_id"))
    );

    let id = sim.create_order(json!({}));
    let (status, err) = body(
        signed(
            &http,
            Method::PUT,
            &sim.url(),
            &format!("/orders/{id}"),
            &[],
        )
        .json(&json!({"status": "paid"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("rest_invalid_param"))
    );
    let (status, err) = body(
        signed(
            &http,
            Method::PUT,
            &sim.url(),
            &format!("/orders/{id}"),
            &[],
        )
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("rest_invalid_json"))
    );
    let (status, err) = body(
        signed(&http, Method::GET, &sim.url(), "/coupons", &[])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (404, Some("rest_no_route")));
    // Anonymous: the permission check answers after the route and arguments.
    let (status, err) = body(
        http.get(format!("{}/wp-json/wc/v3/orders/{id}", sim.url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (401, Some("woocommerce_rest_cannot_view"))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn set_paid_and_status_changes_stamp_dates_and_the_version() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let id = sim.create_order(json!({"status": "pending", "version": "8.0.0"}));
    let http = client();
    let (status, order) = body(
        signed(
            &http,
            Method::PUT,
            &sim.url(),
            &format!("/orders/{id}"),
            &[],
        )
        .json(&json!({"set_paid": true, "total": "1.00"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(order["status"], json!("processing"));
    assert!(order["date_paid_gmt"].is_string());
    assert_eq!(order["version"], json!("9.8.5"));
    assert_ne!(
        order["total"],
        json!("1.00"),
        "read-only fields are ignored"
    );
    let (_, order) = body(
        signed(
            &http,
            Method::PUT,
            &sim.url(),
            &format!("/orders/{id}"),
            &[],
        )
        .json(&json!({"status": "completed"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert!(order["date_completed_gmt"].is_string());
    sim.shutdown().await;
}

#[tokio::test]
async fn products_by_sku_include_variations_and_stock_updates_follow_manage_stock() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let parent = sim.add_product(json!({"name": "Tee", "type": "variable", "sku": "TEE"}));
    let variation = sim.add_product(json!({"type": "variation", "parent_id": parent, "sku": "TEE-M", "manage_stock": true, "stock_quantity": 3}));
    let simple = sim.add_product(json!({"name": "Mug", "sku": "MUG"}));
    let http = client();

    let (status, list) = body(
        signed(
            &http,
            Method::GET,
            &sim.url(),
            "/products",
            &[("sku", "TEE-M")],
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], json!(variation));
    assert_eq!(list[0]["type"], json!("variation"));
    assert_eq!(list[0]["parent_id"], json!(parent));
    let (_, list) = body(
        signed(
            &http,
            Method::GET,
            &sim.url(),
            "/products",
            &[("sku", "TEE")],
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1, "exact match only");
    let (_, list) = body(
        signed(
            &http,
            Method::GET,
            &sim.url(),
            "/products",
            &[("sku", "MUG,TEE-M")],
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 2);

    let path = format!("/products/{parent}/variations/{variation}");
    let (status, v) = body(
        signed(&http, Method::PUT, &sim.url(), &path, &[])
            .json(&json!({"stock_quantity": 0}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (v["stock_quantity"].clone(), v["stock_status"].clone()),
        (json!(0), json!("outofstock"))
    );

    // Not managing stock: the quantity is dropped; sending manage_stock makes it stick.
    let (_, p) = body(
        signed(
            &http,
            Method::PUT,
            &sim.url(),
            &format!("/products/{simple}"),
            &[],
        )
        .json(&json!({"stock_quantity": 7}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(p["stock_quantity"], Value::Null);
    let (_, p) = body(
        signed(
            &http,
            Method::PUT,
            &sim.url(),
            &format!("/products/{simple}"),
            &[],
        )
        .json(&json!({"manage_stock": true, "stock_quantity": "7"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (p["stock_quantity"].clone(), p["stock_status"].clone()),
        (json!(7), json!("instock"))
    );

    let (status, err) = body(
        signed(
            &http,
            Method::PUT,
            &sim.url(),
            &format!("/products/{simple}/variations/{variation}"),
            &[],
        )
        .json(&json!({"stock_quantity": 1}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("woocommerce_rest_product_variation_invalid_id"))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn webhooks_are_created_active_then_pinged_and_listed() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let rx = Receiver::start().await;
    let http = client();
    let create = json!({"name": "Order updated", "topic": "order.updated", "delivery_url": rx.url, "secret": "abc", "status": "paused"});
    let response = signed(&http, Method::POST, &sim.url(), "/webhooks", &[])
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let (_, hook) = body(response).await;
    assert_eq!(
        location,
        format!("{}/wp-json/wc/v3/webhooks/{}", sim.url(), hook["id"])
    );
    assert_eq!(
        hook["status"],
        json!("active"),
        "status is ignored on create"
    );
    assert_eq!(hook["resource"], json!("order"));
    assert_eq!(hook["event"], json!("updated"));
    assert!(hook.get("secret").is_none());
    assert_eq!(rx.pings().len(), 1);
    assert!(!sim.webhooks()[0].pending_delivery);

    let bad = json!({"topic": "order.paid", "delivery_url": rx.url});
    let (status, err) = body(
        signed(&http, Method::POST, &sim.url(), "/webhooks", &[])
            .json(&bad)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("woocommerce_rest_shop_webhook_invalid_topic"))
    );
    let bad = json!({"topic": "order.updated", "delivery_url": "ftp://x"});
    let (status, err) = body(
        signed(&http, Method::POST, &sim.url(), "/webhooks", &[])
            .json(&bad)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (
            400,
            Some("woocommerce_rest_shop_webhook_invalid_delivery_url")
        )
    );

    let path = format!("/webhooks/{}", hook["id"]);
    let (status, updated) = body(
        signed(&http, Method::PUT, &sim.url(), &path, &[])
            .json(&json!({"status": "paused"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, updated["status"].as_str()), (200, Some("paused")));
    let (status, list) = body(
        signed(
            &http,
            Method::GET,
            &sim.url(),
            "/webhooks",
            &[("status", "paused")],
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Paused: nothing is delivered.
    let id = sim.create_order(json!({}));
    sim.update_order(id, json!({"status": "processing"}));
    sim.settle().await;
    assert!(rx.deliveries().is_empty());

    let (status, err) = body(
        signed(&http, Method::DELETE, &sim.url(), &path, &[])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (501, Some("woocommerce_rest_trash_not_supported"))
    );
    let (status, _) = body(
        signed(
            &http,
            Method::DELETE,
            &sim.url(),
            &path,
            &[("force", "true")],
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(sim.webhooks().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn system_status_and_json_escaping_match_wordpress() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let http = client();
    let response = signed(&http, Method::GET, &sim.url(), "/system_status", &[])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=UTF-8"
    );
    let text = response.text().await.unwrap();
    assert!(text.contains(r#""home_url":"http:\/\/127.0.0.1"#), "{text}");
    let status: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status["environment"]["version"], json!("9.8.5"));
    assert_eq!(status["settings"]["currency"], json!("EUR"));
    // Basic over http never authenticates, whatever the credentials.
    let basic = format!("Basic {}", BASE64.encode("ck_sim:cs_sim"));
    let anonymous = http
        .get(format!("{}/wp-json/wc/v3/system_status", sim.url()))
        .header("Authorization", basic)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    sim.shutdown().await;
}
