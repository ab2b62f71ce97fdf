//! The storm benchmark (`examples/storm`) in small: 100 orders of 30 customers and 15 SKUs, each delivered 3
//! times by 8 concurrent senders, shuffled, while 2 % of Sellsy's creates answer 503 after committing and the
//! process is killed (SIGKILL) and restarted in the middle → exactly one invoice per paid order, no customer
//! or item created twice. No timing is asserted.

use std::time::{Duration, Instant};

use crate::helpers::{CONNECTOR, Options, STATUS_TOKEN, TestApp, WEBHOOK_SECRET};

#[path = "../../examples/storm/common.rs"]
mod common;

use common::ShopSpec;

const SEED: u64 = 11;

#[tokio::test]
async fn a_storm_with_failing_creates_and_a_kill_gives_one_invoice_per_paid_order() {
    let opts = Options {
        webhooks: false,
        sellsy_latency_range: Some((Duration::from_millis(5), Duration::from_millis(30))),
        sellsy_commit_then_fail: 0.02,
        sellsy_seed: SEED,
        woo_max_delivery_failures: u32::MAX / 2,
        ..Options::default()
    };
    let mut app = TestApp::spawn(opts).await;
    let orders = common::generate(&ShopSpec {
        orders: 100,
        customers: 30,
        skus: 15,
        unpaid_ratio: 0.05,
        seed: SEED,
    });
    for o in &orders {
        app.woo.create_order(o.json.clone());
    }
    let url = app.webhook_url(CONNECTOR);
    let hooks = (
        app.woo
            .create_webhook("created", "order.created", &url, WEBHOOK_SECRET)
            .await,
        app.woo
            .create_webhook("updated", "order.updated", &url, WEBHOOK_SECRET)
            .await,
    );
    let deadline = Instant::now() + Duration::from_secs(240);
    let (first, second) = orders.split_at(orders.len() / 2);

    let sent = common::deliver_storm(&app.woo, hooks, first, 3, 8, SEED, deadline).await;
    assert!(sent.failed.is_empty(), "{:?}", sent.failed);
    // Kill -9 while the first half is being converted, and start again.
    app.wait_until("the first invoices", Duration::from_secs(120), |a| {
        a.sellsy.invoices().len() >= 10
    })
    .await;
    app.kill();
    app.start(&Options::default()).await;
    let sent = common::deliver_storm(&app.woo, hooks, second, 3, 8, SEED + 1, deadline).await;
    assert!(sent.failed.is_empty(), "{:?}", sent.failed);

    assert!(
        common::wait_drained(&app.woo, app.port, STATUS_TOKEN, deadline).await,
        "the queue was not drained\n{}",
        app.logs()
    );
    let out = common::outcome(&app.woo, &app.sellsy, &orders);
    eprintln!(
        "storm: {} orders, {} paid, {} invoices, {} Sellsy calls, 503 after commit: {:?}, duplicates: {:?}",
        out.orders, out.paid, out.invoices, out.calls, out.injected, out.duplicates
    );
    assert!(out.paid > 80, "{}", out.paid);
    assert!(out.missing.is_empty(), "{:#?}", out.missing);
    assert!(out.unpaid_invoiced.is_empty(), "{:#?}", out.unpaid_invoiced);
    assert!(out.duplicates.is_empty(), "{:#?}", out.duplicates);
    assert_eq!(out.invoices, out.paid);
}
