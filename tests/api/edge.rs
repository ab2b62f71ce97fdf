//! The receiver at the edge: what WooCommerce (or an attacker) gets back, and that nothing it refused
//! was queued.

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
