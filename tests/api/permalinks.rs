//! A store with WordPress's plain permalinks (a fresh install's default) has no `/wp-json`: the
//! connector finds the REST API at `index.php?rest_route=` by itself, with no configuration.

use std::time::Duration;

use crate::helpers::{Options, TestApp, french_order};

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_paid_order_on_a_plain_permalink_store_becomes_one_invoice_with_its_links() {
    let app = TestApp::spawn(Options {
        woo_plain_permalinks: true,
        ..Options::default()
    })
    .await;
    let id = app.woo.create_order(french_order("plain@example.fr"));
    let reference = app.reference(id);

    app.wait_until("the invoice link in the order", WAIT, |a| {
        a.order_meta(id, "woosellsy.invoice_id").is_some()
            && a.order_meta(id, "woosellsy.invoice_url").is_some()
    })
    .await;

    let invoices = app.invoices_for(&reference);
    assert_eq!(invoices.len(), 1, "{invoices:#?}");
    let invoice = &invoices[0];
    assert_eq!(
        app.order_meta(id, "woosellsy.invoice_id"),
        Some(serde_json::json!(invoice["id"].to_string()))
    );
    assert_eq!(
        app.order_meta(id, "woosellsy.invoice_url"),
        Some(invoice["public_link"]["url"].clone())
    );

    // Calls after the first went straight to the form that works: a `/wp-json` miss at most for each
    // call in flight before the form was known (the worker runs 4 at once), and one log line.
    let requests = app.woo.requests();
    let misses = requests
        .iter()
        .filter(|r| r.path.starts_with("/wp-json/"))
        .count();
    let served = requests
        .iter()
        .filter(|r| r.path == "/index.php" && r.status < 300)
        .count();
    assert!(served >= 2, "{requests:#?}");
    assert!((1..=4).contains(&misses), "{requests:#?}");
    let logs = app.logs();
    assert_eq!(
        logs.matches("not served under /wp-json").count(),
        1,
        "{logs}"
    );
    assert!(!logs.contains("cs_sim"), "{logs}");
    let write = app
        .woo
        .rest_writes()
        .into_iter()
        .find(|w| w.path == format!("/wp-json/wc/v3/orders/{id}") && w.status == 200)
        .expect("the meta write-back");
    assert!(write.query.contains("rest_route="), "{}", write.query);
}
