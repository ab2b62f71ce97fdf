//! The receiver at the edge: what WooCommerce (or an attacker) gets back, and that nothing it refused
//! was queued.

use std::time::Duration;

use serde_json::{Value, json};
use woocommerce::{php_json, webhook};

use crate::helpers::{CONNECTOR, Options, TestApp, WEBHOOK_SECRET, french_order};

async fn receiver_only() -> TestApp {
    TestApp::spawn(Options {
        receiver_only: true,
        webhooks: false,
        ..Options::default()
    })
    .await
}

fn order_body(id: u64) -> Vec<u8> {
    let mut order = french_order("camille@example.fr");
    order["id"] = json!(id);
    order["number"] = json!(id.to_string());
    order["date_modified_gmt"] = json!("2026-11-20T10:00:05");
    php_json::encode(&order).into_bytes()
}

async fn post(
    app: &TestApp,
    connector: &str,
    body: Vec<u8>,
    signature: Option<String>,
    topic: &str,
) -> (u16, Value) {
    let mut req = app
        .http
        .post(app.webhook_url(connector))
        .header("content-type", "application/json")
        .header("x-wc-webhook-topic", topic)
        .header("x-wc-webhook-resource", "order")
        .header("x-wc-webhook-event", topic.split('.').nth(1).unwrap_or(""))
        .header("x-wc-webhook-id", "3")
        .header(
            "x-wc-webhook-delivery-id",
            "0123456789abcdef0123456789abcdef",
        );
    if let Some(sig) = signature {
        req = req.header("x-wc-webhook-signature", sig);
    }
    let res = req.body(body).send().await.expect("post");
    let status = res.status().as_u16();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn ping_is_answered_200_and_nothing_is_queued() {
    let app = receiver_only().await;
    let res = app
        .http
        .post(app.webhook_url(CONNECTOR))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("user-agent", "WooCommerce/9.8.5 Hookshot (WordPress/6.8.1)")
        .body("webhook_id=142")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(app.queue_depth().await, 0);
}

#[tokio::test]
async fn the_simulated_store_can_register_its_webhook() {
    // WooCommerce pings when a webhook is saved and keeps pinging until it gets a 200.
    let app = TestApp::spawn(Options {
        receiver_only: true,
        ..Options::default()
    })
    .await;
    for hook in app.woo.webhooks() {
        assert_eq!(hook.status, "active");
        assert!(
            !hook.pending_delivery,
            "ping was not answered 200: {hook:?}"
        );
    }
}

#[tokio::test]
async fn forged_missing_and_other_connector_signatures_are_refused_and_not_queued() {
    let app = receiver_only().await;
    let body = order_body(501);

    let forged = webhook::signature(&body, "not-the-secret");
    let (status, err) = post(&app, CONNECTOR, body.clone(), Some(forged), "order.created").await;
    assert_eq!(status, 401);
    assert_eq!(err["error"], "invalid_signature");

    let (status, err) = post(&app, CONNECTOR, body.clone(), None, "order.created").await;
    assert_eq!(status, 401);
    assert_eq!(err["error"], "missing_signature");

    // Signed for this connector, but the body was altered on the way.
    let sig = webhook::signature(&body, WEBHOOK_SECRET);
    let mut tampered = body.clone();
    let pos = tampered.len() / 2;
    tampered[pos] ^= 1;
    let (status, _) = post(
        &app,
        CONNECTOR,
        tampered,
        Some(sig.clone()),
        "order.created",
    )
    .await;
    assert_eq!(status, 401);

    // A valid signature, sent to a connector that does not exist.
    let (status, err) = post(
        &app,
        "shop-2",
        body.clone(),
        Some(sig.clone()),
        "order.created",
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(err["error"], "unknown_connector");

    assert_eq!(app.queue_depth().await, 0, "a refused webhook was queued");

    // And the genuine one is accepted and queued.
    let (status, ok) = post(&app, CONNECTOR, body, Some(sig), "order.created").await;
    assert_eq!(status, 200, "{ok}");
    assert_eq!(app.queue_depth().await, 1);
}

#[tokio::test]
async fn a_secret_with_html_entities_is_decoded_as_woocommerce_does() {
    // WooCommerce signs with wp_specialchars_decode($secret): "s3cr&amp;t-webhook" signs as "s3cr&t-webhook".
    let app = receiver_only().await;
    let body = order_body(502);
    assert_eq!(WEBHOOK_SECRET, "s3cr&amp;t-webhook");
    let sig = webhook::signature(&body, "s3cr&t-webhook");
    let (status, _) = post(&app, CONNECTOR, body, Some(sig), "order.updated").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn unsupported_topics_are_acknowledged_and_ignored() {
    let app = receiver_only().await;
    let body = br#"{"id":77,"name":"Mug","sku":"MUG"}"#.to_vec();
    let sig = webhook::signature(&body, WEBHOOK_SECRET);
    let (status, res) = post(&app, CONNECTOR, body, Some(sig), "product.updated").await;
    assert_eq!(status, 200);
    assert_eq!(res["status"], "ignored");
    assert_eq!(app.queue_depth().await, 0);
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let app = receiver_only().await;
    let body = vec![b' '; 5 * 1024 * 1024];
    let sig = webhook::signature(&body, WEBHOOK_SECRET);
    let (status, res) = post(&app, CONNECTOR, body, Some(sig), "order.updated").await;
    assert_eq!(status, 413);
    assert_eq!(res["error"], "payload_too_large");
    assert_eq!(app.queue_depth().await, 0);
}

#[tokio::test]
async fn only_post_is_accepted() {
    let app = receiver_only().await;
    let res = app
        .http
        .get(app.webhook_url(CONNECTOR))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "method_not_allowed");
}

#[tokio::test]
async fn a_signed_body_that_is_not_utf8_is_refused_with_400() {
    let app = receiver_only().await;
    let mut body = order_body(77);
    // An invalid UTF-8 byte inside a string of the JSON, signed with the right secret.
    let at = body
        .windows(8)
        .position(|w| w == b"camille@")
        .expect("email");
    body[at] = 0xff;
    let signature = webhook::signature(&body, WEBHOOK_SECRET);
    let (status, answer) = post(&app, CONNECTOR, body, Some(signature), "order.updated").await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"], "invalid_body");
    assert_eq!(app.queue_depth().await, 0);
}

#[tokio::test]
async fn health_says_only_ok_unless_asked_with_the_status_token() {
    let app = receiver_only().await;
    let url = format!("http://127.0.0.1:{}/health", app.port);
    let anonymous: Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    assert_eq!(anonymous, json!({"status": "ok"}));
    let wrong: Value = reqwest::Client::new()
        .get(&url)
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(wrong, json!({"status": "ok"}));
    // The operator's token shows the details, as a header or as `?token=`.
    assert_eq!(app.queue_depth().await, 0);
    let by_query: Value = reqwest::get(format!("{url}?token={}", crate::helpers::STATUS_TOKEN))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_query["queue_depth"], 0, "{by_query}");
}

/// Sends `head` then `body` on a raw connection, optionally closes the sending half, and reads what
/// the server answers (empty when it answers nothing within `wait`).
async fn raw_exchange(port: u16, head: String, body: &[u8], close: bool, wait: Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    if close {
        stream.shutdown().await.unwrap();
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(wait, stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

fn head_for(port: u16, declared: usize) -> String {
    format!(
        "POST /webhooks/{CONNECTOR} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\ncontent-length: {declared}\r\nx-wc-webhook-topic: order.updated\r\nx-wc-webhook-signature: c2lnbmF0dXJl\r\n\r\n"
    )
}

#[tokio::test]
async fn a_client_that_leaves_mid_body_is_not_told_its_body_was_too_large() {
    let app = receiver_only().await;
    let answer = raw_exchange(
        app.port,
        head_for(app.port, 1000),
        b"{\"id\": 12",
        true,
        Duration::from_secs(5),
    )
    .await;
    assert!(!answer.contains("413"), "{answer}");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );
    assert_eq!(app.queue_depth().await, 0);
}

#[tokio::test]
async fn a_body_that_stalls_is_answered_408_after_the_body_timeout() {
    let app = receiver_only().await;
    // The test configuration sets body_timeout_secs = 2; the connection stays open, silent.
    let answer = raw_exchange(
        app.port,
        head_for(app.port, 1000),
        b"{\"id\": 12",
        false,
        Duration::from_secs(8),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert_eq!(app.queue_depth().await, 0);
}
