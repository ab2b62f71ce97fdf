//! One paid order → exactly one invoice, whatever WooCommerce and the infrastructure do.

use std::time::Duration;

use rust_decimal_macros::dec;
use serde_json::json;

use crate::helpers::{Options, TestApp, dec, french_order};

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn one_paid_order_becomes_one_invoice_with_the_right_customer_lines_and_totals() {
    let app = TestApp::spawn(Options::default()).await;
    let id = app
        .woo
        .create_order(french_order("Camille.Durand@Example.fr"));
    let reference = app.reference(id);

    app.wait_until("the invoice link in the order", WAIT, |a| {
        a.order_meta(id, "woosellsy.invoice_id").is_some()
    })
    .await;

    let invoices = app.invoices_for(&reference);
    assert_eq!(invoices.len(), 1, "{invoices:#?}");
    let invoice = &invoices[0];
    assert_eq!(invoice["status"], "draft");
    assert_eq!(invoice["currency"], "EUR");
    assert_eq!(dec(&invoice["amounts"]["total_incl_tax"]), dec!(76.55));
    assert_eq!(dec(&invoice["amounts"]["total_excl_tax"]), dec!(65.00));

    // The customer: an individual, found by the lower-cased email, type client.
    let individuals = app.sellsy.individuals();
    assert_eq!(individuals.len(), 1);
    assert_eq!(individuals[0]["email"], "camille.durand@example.fr");
    assert_eq!(individuals[0]["last_name"], "Durand");
    assert_eq!(individuals[0]["type"], "client");
    assert_eq!(invoice["related"][0]["type"], "individual");
    assert_eq!(invoice["related"][0]["id"], individuals[0]["id"]);

    // Lines: two catalog rows on items referenced by SKU, plus the shipping row.
    let rows = invoice["rows"].as_array().expect("rows");
    let catalog: Vec<_> = rows.iter().filter(|r| r["type"] == "catalog").collect();
    assert_eq!(catalog.len(), 2, "{rows:#?}");
    let refs: Vec<String> = app
        .sellsy
        .items()
        .iter()
        .map(|i| i["reference"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        refs.contains(&"TSHIRT-BIO".to_owned()) && refs.contains(&"BOOK-42".to_owned()),
        "{refs:?}"
    );
    let taxes = invoice["taxes"].as_array().expect("taxes");
    let mut by_rate: Vec<(rust_decimal::Decimal, rust_decimal::Decimal)> = taxes
        .iter()
        .map(|t| (dec(&t["rate"]).normalize(), dec(&t["amount"])))
        .collect();
    by_rate.sort();
    assert_eq!(
        by_rate,
        vec![(dec!(5.5), dec!(0.55)), (dec!(20), dec!(11.00))]
    );

    // The links are written back into the order.
    let invoice_id = app.order_meta(id, "woosellsy.invoice_id").unwrap();
    assert_eq!(invoice_id, json!(invoice["id"].to_string()));
    let url = app.order_meta(id, "woosellsy.invoice_url").unwrap();
    assert_eq!(url, invoice["public_link"]["url"]);
    // Sellsy's own figures for the draft agree with WooCommerce's: nothing to check by hand.
    assert_eq!(app.order_meta(id, "woosellsy.warning"), None);
}

#[tokio::test]
async fn the_same_order_delivered_many_times_even_concurrently_gives_one_invoice() {
    let app = TestApp::spawn(Options::default()).await;
    let id = app.woo.create_order(french_order("dup@example.fr"));
    let reference = app.reference(id);
    let hook = app.webhook_ids[1];
    // order.created is on its way; three more deliveries of the same order, two of them at once.
    let (a, b) = tokio::join!(app.woo.deliver(hook, id), app.woo.deliver(hook, id));
    assert!(a.ok && b.ok);
    assert!(app.woo.deliver(hook, id).await.ok);
    app.woo.settle().await;

    app.wait_until("the invoice link in the order", WAIT, |a| {
        a.order_meta(id, "woosellsy.invoice_id").is_some()
    })
    .await;
    // Drain: our own meta write fired an order.updated too.
    app.woo.settle().await;
    let mut idle = 0;
    while idle < 5 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        idle = if app.queue_depth().await == 0 {
            idle + 1
        } else {
            0
        };
    }
    assert_eq!(app.invoices_for(&reference).len(), 1);
    assert_eq!(
        app.sellsy.individuals().len(),
        1,
        "the customer was duplicated"
    );
}

#[tokio::test]
async fn a_crash_between_the_sellsy_create_and_the_state_write_still_gives_one_invoice() {
    let mut app = TestApp::spawn(Options {
        crash_at: Some("after-document-create"),
        ..Options::default()
    })
    .await;
    let id = app.woo.create_order(french_order("crash@example.fr"));
    let reference = app.reference(id);

    assert!(
        app.wait_exit(WAIT).await,
        "the process did not reach the crash point:\n{}",
        app.logs()
    );
    assert_eq!(
        app.invoices_for(&reference).len(),
        1,
        "Sellsy should hold the invoice created before the crash"
    );
    assert!(app.order_meta(id, "woosellsy.invoice_id").is_none());

    app.start(&Options::default()).await;
    app.wait_until("the invoice link after restart", WAIT, |a| {
        a.order_meta(id, "woosellsy.invoice_id").is_some()
    })
    .await;
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
}

#[tokio::test]
async fn a_crashed_create_is_found_even_after_the_orders_email_and_date_changed() {
    // Failed before the invoice carried its identity: recovery searched by the customer's (new) email and
    // the order's (new) date, found nothing and created a second invoice.
    let mut app = TestApp::spawn(Options {
        crash_at: Some("after-document-create"),
        ..Options::default()
    })
    .await;
    let id = app.woo.create_order(french_order("before@example.fr"));
    let reference = app.reference(id);
    assert!(
        app.wait_exit(WAIT).await,
        "the process did not reach the crash point:\n{}",
        app.logs()
    );
    assert_eq!(app.invoices_for(&reference).len(), 1);

    // While the connector is down, the merchant corrects the email and the payment date.
    app.woo.update_order(
        id,
        json!({"billing": {"email": "after@example.fr"},
               "date_paid_gmt": "2026-11-23T10:00:00", "date_paid": "2026-11-23T11:00:00"}),
    );
    app.start(&Options::default()).await;
    app.wait_until("the invoice link after restart", WAIT, |a| {
        a.order_meta(id, "woosellsy.invoice_id").is_some()
    })
    .await;
    let invoices = app.sellsy.invoices();
    assert_eq!(
        invoices.len(),
        1,
        "a second invoice was created after the crash"
    );
    assert_eq!(
        app.order_meta(id, "woosellsy.invoice_id").unwrap(),
        json!(invoices[0]["id"].to_string())
    );
}

#[tokio::test]
async fn unpaid_orders_get_nothing_until_they_are_paid() {
    let app = TestApp::spawn(Options::default()).await;
    let mut order = french_order("later@example.fr");
    order["status"] = json!("on-hold");
    order["date_paid_gmt"] = json!(null);
    order["date_paid"] = json!(null);
    let id = app.woo.create_order(order);
    let reference = app.reference(id);
    app.woo.settle().await;
    let mut idle = 0;
    while idle < 5 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        idle = if app.queue_depth().await == 0 {
            idle + 1
        } else {
            0
        };
    }
    assert!(app.invoices_for(&reference).is_empty());

    app.woo.update_order(
        id,
        json!({"status": "processing", "date_paid_gmt": "2026-11-21T09:00:00"}),
    );
    app.wait_until("the invoice once paid", WAIT, |a| {
        a.invoices_for(&reference).len() == 1
    })
    .await;
}

/// Waits until the queue stays empty for a second (every delivery, including the one our own
/// write-back fires, has been handled).
async fn drain(app: &TestApp) {
    app.woo.settle().await;
    let mut idle = 0;
    while idle < 5 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        app.woo.settle().await;
        idle = if app.queue_depth().await == 0 {
            idle + 1
        } else {
            0
        };
    }
}

#[tokio::test]
async fn the_link_write_back_does_not_loop_and_a_late_old_delivery_changes_nothing() {
    let app = TestApp::spawn(Options::default()).await;
    let id = app.woo.create_order(french_order("loop@example.fr"));
    let reference = app.reference(id);
    // The order.created payload as WooCommerce would have signed it before anything happened.
    let first_version = woocommerce::php_json::encode(&app.woo.order(id).unwrap());

    app.wait_until("the invoice link", WAIT, |a| {
        a.order_meta(id, "woosellsy.invoice_id").is_some()
    })
    .await;
    drain(&app).await;
    let path = format!("/wp-json/wc/v3/orders/{id}");
    let writes = app
        .woo
        .rest_writes()
        .into_iter()
        .filter(|w| w.path == path)
        .count();
    assert_eq!(
        writes, 1,
        "the write-back fired an order.updated that was written back again"
    );
    let calls = app.sellsy.calls().len();

    // A delayed delivery of the first version arrives last.
    let sig =
        woocommerce::webhook::signature(first_version.as_bytes(), crate::helpers::WEBHOOK_SECRET);
    let res = app
        .http
        .post(app.webhook_url(crate::helpers::CONNECTOR))
        .header("content-type", "application/json")
        .header("x-wc-webhook-topic", "order.created")
        .header("x-wc-webhook-signature", sig)
        .header(
            "x-wc-webhook-delivery-id",
            "ffffffffffffffffffffffffffffffff",
        )
        .body(first_version)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    drain(&app).await;
    assert_eq!(app.invoices_for(&reference).len(), 1);
    assert_eq!(
        app.sellsy.calls().len(),
        calls,
        "a stale delivery cost Sellsy calls"
    );
}

#[tokio::test]
async fn an_order_whose_totals_cannot_be_reconciled_is_not_invoiced_and_says_why() {
    let app = TestApp::spawn(Options::default()).await;
    let mut order = french_order("gap@example.fr");
    // WooCommerce says 80.00 but its lines come to 76.55: not a rounding difference.
    order["total"] = json!("80.00");
    let id = app.woo.create_order(order);
    let reference = app.reference(id);
    app.wait_until("the error in the order meta", WAIT, |a| {
        a.order_meta(id, "woosellsy.error").is_some()
    })
    .await;
    let reason = app.order_meta(id, "woosellsy.error").unwrap();
    assert!(
        reason.as_str().unwrap_or_default().contains("80"),
        "{reason}"
    );
    drain(&app).await;
    assert!(app.invoices_for(&reference).is_empty());
}

#[tokio::test]
async fn orders_of_the_same_new_customer_at_once_create_the_customer_and_items_once() {
    let app = TestApp::spawn(Options::default()).await;
    let ids: Vec<u64> = (0..4)
        .map(|_| app.woo.create_order(french_order("Same.Person@example.fr")))
        .collect();
    app.wait_until("four invoice links", WAIT, |a| {
        ids.iter()
            .all(|id| a.order_meta(*id, "woosellsy.invoice_id").is_some())
    })
    .await;
    assert_eq!(app.sellsy.invoices().len(), 4);
    assert_eq!(
        app.sellsy.individuals().len(),
        1,
        "the customer was created more than once"
    );
    let mut refs: Vec<String> = app
        .sellsy
        .items()
        .iter()
        .map(|i| i["reference"].as_str().unwrap_or_default().to_owned())
        .collect();
    refs.sort();
    assert_eq!(refs, vec!["BOOK-42".to_owned(), "TSHIRT-BIO".to_owned()]);
}

#[tokio::test]
async fn two_processes_converting_orders_of_the_same_new_customer_create_it_once() {
    // The receiver only queues; two worker processes then start on the backlog at the same moment,
    // against a Sellsy as slow as the real one, so that both look for the new customer at once.
    let app = TestApp::spawn(Options {
        receiver_only: true,
        sellsy_latency: Duration::from_millis(150),
        ..Options::default()
    })
    .await;
    let ids: Vec<u64> = (0..8)
        .map(|_| app.woo.create_order(french_order("Twice.Busy@example.fr")))
        .collect();
    app.woo.settle().await;
    assert!(app.queue_depth().await >= 8);
    let _workers = [
        app.start_another_process("worker-a"),
        app.start_another_process("worker-b"),
    ];

    app.wait_until("eight invoice links", WAIT, |a| {
        ids.iter()
            .all(|id| a.order_meta(*id, "woosellsy.invoice_id").is_some())
    })
    .await;
    assert_eq!(app.sellsy.invoices().len(), 8);
    assert_eq!(
        app.sellsy.individuals().len(),
        1,
        "the customer was created more than once"
    );
    assert_eq!(app.sellsy.items().len(), 2, "an item was created twice");
}

#[tokio::test]
async fn a_variation_is_invoiced_on_the_declination_of_its_parent_item() {
    let app = TestApp::spawn(Options::default()).await;
    // The merchant's Sellsy catalogue holds the T-shirt with its sizes as declinations.
    let item = app
        .sellsy
        .add_item("TEE-VAR", "T-shirt", dec!(25), dec!(20));
    let size_m = app.sellsy.add_declination(item, "TEE-VAR-M", "Taille M");
    let parent = app.woo.add_product(json!({
        "id": 50, "name": "T-shirt", "type": "variable", "sku": "TEE-VAR", "price": "25",
        "regular_price": "25", "variations": [51]
    }));
    let mut order = french_order("variation@example.fr");
    order["line_items"][0]["product_id"] = json!(parent);
    order["line_items"][0]["variation_id"] = json!(51);
    order["line_items"][0]["sku"] = json!("TEE-VAR-M");
    order["line_items"][0]["name"] = json!("T-shirt - M");
    let id = app.woo.create_order(order);
    let reference = app.reference(id);

    app.wait_until("the invoice", WAIT, |a| {
        a.invoices_for(&reference).len() == 1
    })
    .await;
    let invoice = &app.invoices_for(&reference)[0];
    let rows = invoice["rows"].as_array().unwrap();
    assert!(
        rows.iter().any(|r| r["type"] == "catalog"
            && r["related"]["id"] == json!(item)
            && r["related"]["declination_id"] == json!(size_m)),
        "{rows:#?}"
    );
    let refs: Vec<_> = app
        .sellsy
        .items()
        .iter()
        .map(|i| i["reference"].clone())
        .collect();
    assert!(
        !refs.contains(&json!("TEE-VAR-M")),
        "an item was created for the variation: {refs:?}"
    );
    assert_eq!(dec(&invoice["amounts"]["total_incl_tax"]), dec!(76.55));
}

#[tokio::test]
async fn an_invoice_sellsy_totals_differently_is_flagged_on_the_order() {
    // The integrator says the account rounds tax per row, but it rounds per rate: the connector's model
    // is wrong, and Sellsy's own figures for the created draft are what catches it.
    let app = TestApp::spawn(Options {
        sellsy_tax_rounding: "per-row",
        ..Options::default()
    })
    .await;
    app.sellsy
        .set_rounding(sim_sellsy::compute::RoundingMode::PerRate);
    // Ten different 3.13 € products at 20 %, tax rounded per line: 10 × 0.63 = 6.30 (per rate: 6.26).
    let mut order = french_order("rounding@example.fr");
    order["line_items"] = json!(
        (0..10)
            .map(|i| json!({
                "id": 100 + i, "name": format!("Carte postale {i}"), "product_id": 300 + i,
                "variation_id": 0, "quantity": 1, "tax_class": "", "subtotal": "3.13",
                "subtotal_tax": "0.63", "total": "3.13", "total_tax": "0.63",
                "taxes": [{"id": 1, "total": "0.626", "subtotal": "0.626"}], "meta_data": [],
                "sku": format!("CARTE-{i}"), "price": 3.13
            }))
            .collect::<Vec<_>>()
    );
    order["tax_lines"] = json!([{"id": 10, "rate_code": "FR-TVA-1", "rate_id": 1, "label": "TVA",
        "compound": false, "tax_total": "6.30", "shipping_tax_total": "0.00", "rate_percent": 20,
        "meta_data": []}]);
    order["shipping_lines"] = json!([]);
    order["shipping_total"] = json!("0.00");
    order["shipping_tax"] = json!("0.00");
    order["cart_tax"] = json!("6.30");
    order["total_tax"] = json!("6.30");
    order["total"] = json!("37.60");
    let id = app.woo.create_order(order);

    app.wait_until("the flagged invoice", WAIT, |a| {
        a.order_meta(id, "woosellsy.invoice_id").is_some()
    })
    .await;
    let warning = app.order_meta(id, "woosellsy.warning");
    let warning = warning
        .as_ref()
        .and_then(|w| w.as_str())
        .unwrap_or_default();
    assert!(
        warning.contains("37.56") && warning.contains("37.60"),
        "the order says the draft needs checking: {warning:?}"
    );
    assert_eq!(app.sellsy.invoices().len(), 1);
}
