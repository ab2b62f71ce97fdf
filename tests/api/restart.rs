//! A restart after a `kill -9` resumes within seconds: the new process knows the old one is gone (its
//! lock in the data directory is free) and takes over its claims, leases and messages in flight at
//! once, through the usual recovery by search, instead of waiting out a 120 s lease.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{Options, TestApp, french_order};

/// Far shorter than the claim lease below: only a takeover at start-up meets it.
const WAIT: Duration = Duration::from_secs(30);

fn long_lease() -> Options {
    Options {
        claim_lease_secs: 120,
        ..Options::default()
    }
}

#[tokio::test]
async fn a_restart_after_a_crash_takes_over_the_dead_process_claim_without_waiting_out_its_lease() {
    let mut app = TestApp::spawn(Options {
        crash_at: Some("after-document-create"),
        ..long_lease()
    })
    .await;
    let id = app.woo.create_order(french_order("restart@example.fr"));
    let reference = app.reference(id);
    assert!(
        app.wait_exit(Duration::from_secs(60)).await,
        "the process did not reach the crash point:\n{}",
        app.logs()
    );
    assert_eq!(
        app.invoices_for(&reference).len(),
        1,
        "Sellsy holds the invoice created just before the crash"
    );
    assert!(app.order_meta(id, "woosellsy.invoice_id").is_none());

    let restarted = Instant::now();
    app.start(&long_lease()).await;
    // A new order, delivered after the restart: the first new document.
    let mut order = french_order("after-restart@example.fr");
    order["line_items"][0]["sku"] = json!("TSHIRT-NEW");
    let second = app.woo.create_order(order);
    let second_ref = app.reference(second);

    app.wait_until("the crashed order's link after restart", WAIT, |a| {
        a.order_meta(id, "woosellsy.invoice_id").is_some()
    })
    .await;
    let recovered_after = restarted.elapsed();
    let invoices = app.invoices_for(&reference);
    assert_eq!(
        invoices.len(),
        1,
        "a second invoice was created after the crash"
    );
    assert_eq!(
        app.order_meta(id, "woosellsy.invoice_id").unwrap(),
        json!(invoices[0]["id"].to_string())
    );

    app.wait_until("the new order's invoice after restart", WAIT, |a| {
        a.invoices_for(&second_ref).len() == 1
    })
    .await;
    let new_document_after = restarted.elapsed();
    app.wait_until("the new order's link", WAIT, |a| {
        a.order_meta(second, "woosellsy.invoice_id").is_some()
    })
    .await;
    assert_eq!(app.invoices_for(&second_ref).len(), 1);
    assert_eq!(app.invoices_for(&reference).len(), 1);
    assert!(
        app.logs().contains("taking over its claims"),
        "the takeover is logged:\n{}",
        app.logs()
    );
    eprintln!(
        "restart → crashed order recovered in {recovered_after:?}, first new document in {new_document_after:?}"
    );
}
