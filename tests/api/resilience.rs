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
    let reference = app.reference(id);
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
    let first_ref = app.reference(first);
    app.wait_until("the invoice after 429s", WAIT, |a| {
        a.invoices_for(&first_ref).len() == 1
    })
    .await;
    assert!(app.sellsy.calls().iter().any(|c| c.status == 429));

    app.sellsy.fail_next(8, 503);
    let second = app.woo.create_order(french_order("outage@example.fr"));
    let second_ref = app.reference(second);
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

#[tokio::test]
async fn a_customer_and_an_item_deleted_in_sellsy_do_not_block_the_next_order() {
    let app = TestApp::spawn(Options::default()).await;
    let first = app.woo.create_order(french_order("tidied@example.fr"));
    let first_ref = app.reference(first);
    app.wait_until("the first invoice", WAIT, |a| {
        a.invoices_for(&first_ref).len() == 1
    })
    .await;
    let invoice = &app.invoices_for(&first_ref)[0];
    let customer = invoice["related"][0]["id"].as_u64().unwrap();
    let tshirt = app
        .sellsy
        .items()
        .into_iter()
        .find(|i| i["reference"] == "TSHIRT-BIO")
        .and_then(|i| i["id"].as_u64())
        .unwrap();

    // The merchant tidies Sellsy: the customer and the T-shirt the connector remembered are gone.
    assert!(app.sellsy.delete_individual(customer));
    assert!(app.sellsy.delete_item(tshirt));

    let second = app.woo.create_order(french_order("tidied@example.fr"));
    let second_ref = app.reference(second);
    app.wait_until("the second invoice", WAIT, |a| {
        a.invoices_for(&second_ref).len() == 1
    })
    .await;
    assert_eq!(
        app.order_meta(second, "woosellsy.error"),
        None,
        "the order went through without an error"
    );
    let invoice = &app.invoices_for(&second_ref)[0];
    let new_customer = invoice["related"][0]["id"].as_u64().unwrap();
    assert_ne!(new_customer, customer);
    let individuals: Vec<_> = app
        .sellsy
        .individuals()
        .into_iter()
        .filter(|i| i["email"] == "tidied@example.fr")
        .collect();
    assert_eq!(individuals.len(), 1, "{individuals:#?}");
    let tshirts: Vec<_> = app
        .sellsy
        .items()
        .into_iter()
        .filter(|i| i["reference"] == "TSHIRT-BIO")
        .collect();
    assert_eq!(tshirts.len(), 1, "the T-shirt is created again, once");
    let rows = invoice["rows"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|r| r["related"]["id"] == tshirts[0]["id"] && r["type"] == "catalog"),
        "{rows:#?}"
    );

    // The fresh ids are remembered: a third order costs only the invoice.
    let before = app.sellsy.calls().len();
    let third = app.woo.create_order(french_order("tidied@example.fr"));
    let third_ref = app.reference(third);
    app.wait_until("the third invoice", WAIT, |a| {
        a.invoices_for(&third_ref).len() == 1
    })
    .await;
    let calls: Vec<_> = app.sellsy.calls().split_off(before);
    let posts: Vec<_> = calls.iter().filter(|c| c.method == "POST").collect();
    assert_eq!(posts.len(), 1, "{calls:#?}");
    assert_eq!(
        app.invoices_for(&third_ref)[0]["related"][0]["id"],
        new_customer
    );
}

#[tokio::test]
async fn a_worker_that_died_holding_the_create_lease_delays_invoices_but_loses_none() {
    use woosellsy_ports::{LeaseOutcome, Store};
    let app = TestApp::spawn(Options::default()).await;
    // Another worker took the lease on creating this new customer and died: it frees itself when its
    // lease ends.
    let store = woosellsy_store_sqlite::SqliteStore::open(&app.dir.path().join("data")).unwrap();
    let connector = woosellsy_domain::ConnectorId::parse(crate::helpers::CONNECTOR).unwrap();
    let lease = Duration::from_secs(8);
    assert_eq!(
        store
            .take_lease(
                &connector,
                "create:customer:patient@example.fr",
                "dead-worker",
                chrono::Utc::now(),
                lease
            )
            .await
            .unwrap(),
        LeaseOutcome::Acquired
    );

    let id = app.woo.create_order(french_order("patient@example.fr"));
    let reference = app.reference(id);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        app.invoices_for(&reference).is_empty(),
        "created while another worker held the lease"
    );
    assert!(app.sellsy.individuals().is_empty());
    assert_eq!(
        app.order_meta(id, "woosellsy.error"),
        None,
        "waiting is not an error"
    );

    app.wait_until("the invoice once the lease ended", WAIT, |a| {
        a.invoices_for(&reference).len() == 1
    })
    .await;
}
