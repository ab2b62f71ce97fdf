//! Nothing acknowledged is lost: a killed process, a throttled or failing Sellsy.

use std::time::Duration;

use crate::helpers::{Options, TestApp, french_order};

const WAIT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn an_event_acknowledged_before_a_kill_is_processed_after_restart() {
    let mut app = TestApp::spawn(Options {
        receiver_only: true,
        ..Options::default()
    })
    .await;
    let id = app.woo.create_order(french_order("killed@example.fr"));
    let reference = format!(
        "WC-{}",
        app.woo.order(id).unwrap()["number"].as_str().unwrap()
    );
    app.woo.settle().await;
    let delivered: Vec<_> = app
        .woo
        .deliveries()
        .into_iter()
        .filter(|d| d.topic == "order.created")
        .collect();
    assert!(delivered.iter().any(|d| d.status == 200), "{delivered:?}");
    assert!(app.queue_depth().await >= 1);

    app.kill();
    assert!(app.invoices_for(&reference).is_empty());

    app.start(&Options::default()).await;
    app.wait_until("the invoice after restart", WAIT, |a| {
        a.invoices_for(&reference).len() == 1
    })
    .await;
}

#[tokio::test]
async fn sellsy_throttling_and_outages_delay_the_invoice_but_do_not_lose_it() {
    let app = TestApp::spawn(Options::default()).await;
    app.sellsy.fail_next(6, 429);
    let first = app.woo.create_order(french_order("throttled@example.fr"));
    let first_ref = format!(
        "WC-{}",
        app.woo.order(first).unwrap()["number"].as_str().unwrap()
    );
    app.wait_until("the invoice after 429s", WAIT, |a| {
        a.invoices_for(&first_ref).len() == 1
    })
    .await;
    assert!(app.sellsy.calls().iter().any(|c| c.status == 429));

    app.sellsy.fail_next(8, 503);
    let second = app.woo.create_order(french_order("outage@example.fr"));
    let second_ref = format!(
        "WC-{}",
        app.woo.order(second).unwrap()["number"].as_str().unwrap()
    );
    app.wait_until("the invoice after 503s", WAIT, |a| {
        a.invoices_for(&second_ref).len() == 1
    })
    .await;
    assert!(app.sellsy.calls().iter().any(|c| c.status == 503));
    app.wait_until("the links of both orders", WAIT, |a| {
        a.order_meta(first, "woosellsy.invoice_id").is_some()
            && a.order_meta(second, "woosellsy.invoice_id").is_some()
    })
    .await;
    assert_eq!(app.invoices_for(&first_ref).len(), 1);
    assert_eq!(app.invoices_for(&second_ref).len(), 1);
}
