//! Webhook deliveries seen from a receiver: headers, signature, PHP-encoded body, ping, failure
//! counting and disabling, coalescing, and the draft-status rules.

mod common;

use common::Receiver;
use serde_json::json;
use sim_woocommerce::{WebhookStatus, WooSim, WooSimConfig};

const SECRET: &str = "wc-sim-secret-1234567890";

fn fixture_order() -> serde_json::Value {
    let text = include_str!("../../../tests/fixtures/woocommerce/docs-order-create-response.json");
    serde_json::from_str(text).unwrap()
}

#[tokio::test]
async fn delivery_carries_woocommerce_headers_and_a_verifiable_php_body() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let rx = Receiver::start().await;
    let hook = sim
        .create_webhook("created", "order.created", &rx.url, SECRET)
        .await;

    let mut order = fixture_order();
    order["customer_note"] = json!("Livrer à Besançon / porte 2");
    let id = sim.create_order(order);
    sim.settle().await;

    let deliveries = rx.deliveries();
    assert_eq!(deliveries.len(), 1);
    let d = &deliveries[0];
    assert_eq!(d.version, http::Version::HTTP_10);
    assert_eq!(
        d.header("user-agent"),
        Some("WooCommerce/9.8.5 Hookshot (WordPress/6.8.1)")
    );
    assert_eq!(d.header("content-type"), Some("application/json"));
    assert_eq!(
        d.header("x-wc-webhook-source"),
        Some(format!("{}/", sim.url()).as_str())
    );
    assert_eq!(d.header("x-wc-webhook-topic"), Some("order.created"));
    assert_eq!(d.header("x-wc-webhook-resource"), Some("order"));
    assert_eq!(d.header("x-wc-webhook-event"), Some("created"));
    assert_eq!(d.header("x-wc-webhook-id"), Some(hook.to_string().as_str()));
    let delivery_id = d.header("x-wc-webhook-delivery-id").unwrap();
    assert_eq!(delivery_id.len(), 32);
    assert!(
        delivery_id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );

    let signature = d.header("x-wc-webhook-signature").unwrap();
    woocommerce::webhook::verify(d.body.as_bytes(), signature, SECRET).unwrap();
    assert_eq!(
        signature,
        woocommerce::webhook::signature(d.body.as_bytes(), SECRET)
    );

    // PHP json_encode: escaped slashes and non-ASCII as \uXXXX, no raw UTF-8.
    assert!(
        d.body.contains(r"Livrer \u00e0 Besan\u00e7on \/ porte 2"),
        "{}",
        d.body
    );
    assert!(d.body.contains(&format!(
        r#""href":"http:\/\/{}\/wp-json\/wc\/v3\/orders\/{id}""#,
        &sim.url()[7..]
    )));
    assert!(d.body.is_ascii());
    let body = d.json();
    assert_eq!(body["id"], json!(id));
    assert_eq!(body["line_items"][1]["sku"], json!("Bar3"));
    // Empty objects become [] through PHP's JSON round trip; empty lists stay [].
    assert_eq!(body["fee_lines"], json!([]));

    let record = sim.deliveries().into_iter().find(|r| !r.ping).unwrap();
    assert_eq!(record.delivery_id, delivery_id);
    assert_eq!(record.body, d.body);
    assert!(record.ok);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_payload_is_built_when_the_delivery_runs_not_when_the_event_fired() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let rx = Receiver::start_gated().await;
    let hook = sim
        .create_webhook("updated", "order.updated", &rx.url, SECRET)
        .await;
    let id = sim.create_order(json!({"status": "pending"}));

    sim.update_order(id, json!({"status": "on-hold"}));
    rx.wait_for_arrival().await; // first delivery in flight, held by the receiver
    sim.update_order(id, json!({"status": "processing"}));
    sim.update_order(id, json!({"status": "completed"}));
    sim.update_order(id, json!({"customer_note": "last"}));
    rx.release(10);
    sim.settle().await;

    // One in flight + one pending action that absorbed the next three changes.
    let deliveries = rx.deliveries();
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    assert_eq!(deliveries[0].json()["status"], json!("on-hold"));
    let last = deliveries[1].json();
    assert_eq!(last["status"], json!("completed"));
    assert_eq!(last["customer_note"], json!("last"));
    assert!(
        sim.deliveries()
            .iter()
            .filter(|r| !r.ping)
            .all(|r| r.webhook_id == hook)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn every_attempt_has_a_new_delivery_id_and_a_valid_signature() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let rx = Receiver::start().await;
    let hook = sim
        .create_webhook("", "order.updated", &rx.url, SECRET)
        .await;
    let id = sim.create_order(fixture_order());
    let first = sim.deliver(hook, id).await;
    let second = sim.deliver(hook, id).await;
    assert!(first.ok && second.ok);
    assert_ne!(first.delivery_id, second.delivery_id);
    assert_eq!(first.body, second.body, "same state, same bytes");
    let got = rx.deliveries();
    assert_eq!(got.len(), 2);
    for d in &got {
        woocommerce::webhook::verify(
            d.body.as_bytes(),
            d.header("x-wc-webhook-signature").unwrap(),
            SECRET,
        )
        .unwrap();
    }
    assert_ne!(
        got[0].header("x-wc-webhook-delivery-id"),
        got[1].header("x-wc-webhook-delivery-id")
    );
    // Wrong secret: the signature does not verify.
    assert!(
        woocommerce::webhook::verify(got[0].body.as_bytes(), &first.signature.unwrap(), "other")
            .is_err()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn ping_is_unsigned_form_data_and_only_200_clears_pending_delivery() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let rx = Receiver::start().await;
    rx.set_ping_status(202);
    let hook = sim
        .create_webhook("n", "order.updated", &rx.url, SECRET)
        .await;

    let pings = rx.pings();
    assert_eq!(pings.len(), 1);
    let ping = &pings[0];
    assert_eq!(ping.body, format!("webhook_id={hook}"));
    assert_eq!(
        ping.header("user-agent"),
        Some("WooCommerce/9.8.5 Hookshot (WordPress/6.8.1)")
    );
    assert_eq!(
        ping.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert!(
        ping.headers
            .keys()
            .all(|k| !k.as_str().starts_with("x-wc-webhook"))
    );

    let info = &sim.webhooks()[0];
    assert_eq!(info.status, WebhookStatus::Active);
    assert!(info.pending_delivery, "202 is not a successful ping");

    // Each delivery saves the webhook, and an active one still pending pings again.
    rx.set_ping_status(200);
    let id = sim.create_order(json!({}));
    sim.update_order(id, json!({"status": "processing"}));
    sim.settle().await;
    assert_eq!(rx.pings().len(), 2);
    assert_eq!(rx.deliveries().len(), 1);
    assert!(!sim.webhooks()[0].pending_delivery);

    // No longer pending: later deliveries do not ping.
    sim.update_order(id, json!({"status": "completed"}));
    sim.settle().await;
    assert_eq!(rx.pings().len(), 2);
    let records = sim.deliveries();
    assert_eq!(records.iter().filter(|r| r.ping).count(), 2);
    assert!(
        records
            .iter()
            .filter(|r| r.ping)
            .all(|r| r.topic == "ping" && r.signature.is_none())
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_seventh_consecutive_failure_disables_the_webhook() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let rx = Receiver::start().await;
    rx.set_delivery_status(500);
    let hook = sim
        .create_webhook("n", "order.updated", &rx.url, SECRET)
        .await;
    let id = sim.create_order(json!({}));

    for attempt in 1..=6u32 {
        sim.update_order(id, json!({"customer_note": format!("try {attempt}")}));
        sim.settle().await;
        let w = &sim.webhooks()[0];
        assert_eq!(
            (w.status, w.failure_count),
            (WebhookStatus::Active, attempt)
        );
    }
    sim.update_order(id, json!({"customer_note": "try 7"}));
    sim.settle().await;
    let w = &sim.webhooks()[0];
    assert_eq!(w.status, WebhookStatus::Disabled);
    assert_eq!(
        w.failure_count, 6,
        "the counter stays at 6 when the webhook is disabled"
    );
    assert_eq!(rx.deliveries().len(), 7);

    // Disabled: later events are lost, no retry ever happens.
    sim.update_order(id, json!({"customer_note": "lost"}));
    sim.settle().await;
    assert_eq!(rx.deliveries().len(), 7);
    assert!(
        sim.deliveries()
            .iter()
            .filter(|r| !r.ping)
            .all(|r| r.webhook_id == hook && !r.ok && r.status == 500)
    );

    // Re-enabling does not reset the counter: the next failure disables again at once.
    assert!(sim.set_webhook_status(hook, WebhookStatus::Active).await);
    sim.update_order(id, json!({"customer_note": "again"}));
    sim.settle().await;
    assert_eq!(sim.webhooks()[0].status, WebhookStatus::Disabled);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_success_resets_the_failure_count_and_redirects_count_as_success() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let rx = Receiver::start().await;
    rx.script(&[500, 404, 303, 302, 503]);
    sim.create_webhook("n", "order.updated", &rx.url, SECRET)
        .await;
    let id = sim.create_order(json!({}));
    let mut counts = Vec::new();
    for n in 0..5 {
        sim.update_order(id, json!({"customer_note": n.to_string()}));
        sim.settle().await;
        counts.push(sim.webhooks()[0].failure_count);
    }
    // 500, 404, 303 fail; 302 is a "success" (not followed); 503 fails again from zero.
    assert_eq!(counts, vec![1, 2, 3, 0, 1]);
    sim.shutdown().await;
}

#[tokio::test]
async fn connection_errors_count_as_failures_with_status_zero() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    // Bind then drop a listener to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let hook = sim
        .create_webhook(
            "n",
            "order.created",
            &format!("http://127.0.0.1:{port}/hook"),
            SECRET,
        )
        .await;
    sim.create_order(json!({"status": "processing"}));
    sim.settle().await;
    let records = sim.deliveries();
    // The failed ping, the failed delivery, then another ping: the webhook is still active and
    // still waiting for a good ping when the delivery result is saved.
    assert_eq!(records.len(), 3, "{records:?}");
    assert!(
        records
            .iter()
            .all(|r| r.status == 0 && !r.ok && r.error.is_some())
    );
    assert_eq!(sim.webhooks()[0].failure_count, 1);
    assert!(sim.webhooks()[0].pending_delivery);
    assert_eq!(records[1].webhook_id, hook);
    sim.shutdown().await;
}

#[tokio::test]
async fn drafts_are_skipped_but_checkout_draft_updates_are_delivered() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let rx = Receiver::start().await;
    sim.create_webhook("c", "order.created", &rx.url, SECRET)
        .await;
    sim.create_webhook("u", "order.updated", &rx.url, SECRET)
        .await;

    let draft = sim.create_order(json!({"status": "auto-draft"}));
    sim.update_order(draft, json!({"customer_note": "x"}));
    let checkout = sim.create_order(json!({"status": "checkout-draft"}));
    sim.settle().await;
    assert!(rx.deliveries().is_empty());

    sim.update_order(checkout, json!({"customer_note": "still a draft"}));
    sim.settle().await;
    let topics: Vec<String> = rx
        .deliveries()
        .iter()
        .map(|d| d.header("x-wc-webhook-topic").unwrap().to_owned())
        .collect();
    assert_eq!(topics, vec!["order.updated"]);

    // Leaving checkout-draft is when order.created fires (before the update).
    sim.update_order(checkout, json!({"status": "processing"}));
    sim.settle().await;
    let topics: Vec<String> = rx
        .deliveries()
        .iter()
        .map(|d| d.header("x-wc-webhook-topic").unwrap().to_owned())
        .collect();
    assert_eq!(
        topics,
        vec!["order.updated", "order.created", "order.updated"]
    );
    let created = &rx.deliveries()[1].json();
    assert_eq!(created["status"], json!("processing"));
    assert!(created["date_paid_gmt"].is_string());
    sim.shutdown().await;
}

#[tokio::test]
async fn trash_sends_only_the_id_and_restore_the_full_order() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let rx = Receiver::start().await;
    sim.create_webhook("d", "order.deleted", &rx.url, SECRET)
        .await;
    sim.create_webhook("r", "order.restored", &rx.url, SECRET)
        .await;
    let id = sim.create_order(json!({"status": "processing"}));
    assert!(sim.trash_order(id));
    assert!(!sim.trash_order(id));
    sim.settle().await;
    assert!(sim.restore_order(id));
    sim.settle().await;
    let d = rx.deliveries();
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].body, format!(r#"{{"id":{id}}}"#));
    assert_eq!(d[0].header("x-wc-webhook-event"), Some("deleted"));
    assert_eq!(d[1].json()["status"], json!("processing"));
    sim.shutdown().await;
}

#[tokio::test]
async fn action_topics_deliver_the_hook_and_its_argument() {
    let sim = WooSim::start(WooSimConfig::default()).await.unwrap();
    let rx = Receiver::start().await;
    sim.create_webhook(
        "a",
        "action.woocommerce_order_status_completed",
        &rx.url,
        SECRET,
    )
    .await;
    let id = sim.create_order(json!({"status": "processing"}));
    sim.update_order(id, json!({"status": "completed"}));
    sim.settle().await;
    let d = rx.deliveries();
    assert_eq!(d.len(), 1);
    assert_eq!(
        d[0].body,
        format!(r#"{{"action":"woocommerce_order_status_completed","arg":{id}}}"#)
    );
    assert_eq!(d[0].header("x-wc-webhook-resource"), Some("action"));
    assert_eq!(
        d[0].header("x-wc-webhook-event"),
        Some("woocommerce_order_status_completed")
    );
    sim.shutdown().await;
}
