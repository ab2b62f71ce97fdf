//! `woosellsy demo`: the whole product on one machine, against the bundled simulators.
//!
//! It starts the WooCommerce and Sellsy simulators, serves the connector against them (embedded store,
//! receiver, worker, in this process), registers signed webhooks in the store, pushes the sample orders
//! one by one through those webhooks, and prints what Sellsy ended up with: one invoice per paid order,
//! its totals next to WooCommerce's, and the Sellsy API calls each order cost. It exits non-zero if any
//! invoice is missing, duplicated or off by a cent.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::Value;
use sim_sellsy::{SellsySim, SimConfig};
use sim_woocommerce::{WooSim, WooSimConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;
use woosellsy_domain::{ConnectorId, OrderId};
use woosellsy_ports::OrderState;

use crate::app::{App, AppError};
use crate::config::Config;

const ORDERS: &str = include_str!("orders.json");
const CONNECTOR: &str = "demo-shop";

struct Row {
    number: String,
    customer: String,
    woo_total: Decimal,
    outcome: String,
    sellsy_total: Option<Decimal>,
    calls: usize,
    ok: bool,
}

pub async fn run(data_dir: Option<PathBuf>) -> Result<(), AppError> {
    let woo_cfg = WooSimConfig::default();
    let sellsy_cfg = SimConfig::default();
    let woo = WooSim::start(woo_cfg.clone()).await?;
    let sellsy = SellsySim::start(sellsy_cfg.clone()).await?;
    let temp = tempfile::tempdir()?;
    let data_dir = data_dir.unwrap_or_else(|| temp.path().to_owned());
    let webhook_secret = format!("demo-{:016x}", rand::random::<u64>());

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config_text = format!(
        r#"
listen = "{addr}"
data_dir = "{data}"
[worker]
claim_lease_secs = 30
base_backoff_ms = 200
max_backoff_secs = 2
[[connector]]
id = "{CONNECTOR}"
[connector.woocommerce]
url = "{woo_url}"
consumer_key = "{ck}"
consumer_secret = "{cs}"
webhook_secret = "{webhook_secret}"
[connector.sellsy]
api_url = "{api}"
token_url = "{token}"
client_id = "{cid}"
client_secret = "{csec}"
requests_per_second = 20
"#,
        data = data_dir.display(),
        woo_url = woo.url(),
        ck = woo_cfg.consumer_key,
        cs = woo_cfg.consumer_secret,
        api = sellsy.api_url(),
        token = sellsy.token_url(),
        cid = sellsy_cfg.client_id,
        csec = sellsy_cfg.client_secret,
    );
    let config = Config::parse(&config_text, std::path::Path::new("<demo>"))?;
    let app = App::build(&config).await?;
    let store = app.store.clone();
    let (stop, stopped) = watch::channel(false);
    let server = tokio::spawn(async move { app.run(listener, false, stopped).await });

    println!("woosellsy demo");
    println!("  WooCommerce simulator  {}", woo.url());
    println!("  Sellsy simulator       {}", sellsy.api_url());
    println!("  connector receiver     http://{addr}/webhooks/{CONNECTOR}");
    let hook_url = format!("http://{addr}/webhooks/{CONNECTOR}");
    for topic in ["order.created", "order.updated"] {
        woo.create_webhook(
            &format!("woosellsy {topic}"),
            topic,
            &hook_url,
            &webhook_secret,
        )
        .await;
    }
    let pinged = woo.webhooks().iter().all(|w| !w.pending_delivery);
    println!(
        "  webhooks registered    order.created, order.updated (ping answered: {})",
        yes(pinged)
    );
    println!();

    let orders: Vec<Value> = serde_json::from_str(ORDERS)?;
    let connector = ConnectorId::parse(CONNECTOR)?;
    let mut rows = Vec::new();
    for order in orders {
        let calls_before = sellsy.calls().len();
        let id = woo.create_order(order);
        let current = woo.order(id).unwrap_or_default();
        let number = current["number"].as_str().unwrap_or_default().to_owned();
        let reference = format!("WC-{number}");
        let state = wait_settled(&store, &connector, OrderId(id), &woo).await;
        let invoices: Vec<Value> = sellsy
            .invoices()
            .into_iter()
            .filter(|i| i["order_reference"] == reference.as_str())
            .collect();
        let woo_total: Decimal = current["total"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_default();
        let sellsy_total = invoices
            .first()
            .and_then(|i| i["amounts"]["total_incl_tax"].as_str())
            .and_then(|s| s.parse().ok());
        let (outcome, ok) = match (&state, invoices.len()) {
            (Some(OrderState::Done), 1) => (
                format!("invoice #{}", invoices[0]["id"]),
                sellsy_total == Some(woo_total),
            ),
            (Some(OrderState::Error { reason }), 0) => (format!("error: {reason}"), false),
            (_, n) => (format!("{n} invoices, state {state:?}"), false),
        };
        rows.push(Row {
            number,
            customer: current["billing"]["email"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            woo_total,
            outcome,
            sellsy_total,
            calls: sellsy.calls().len() - calls_before,
            ok,
        });
    }

    print_table(&rows);
    let deliveries = woo.deliveries();
    println!();
    println!(
        "webhook deliveries: {} (all answered 2xx: {}); Sellsy API calls: {}; token requests: {}",
        deliveries.len(),
        yes(deliveries.iter().all(|d| d.ok)),
        sellsy.calls().len(),
        sellsy.token_calls()
    );

    let _ = stop.send(true);
    let _ = server.await;
    sellsy.shutdown().await;
    woo.shutdown().await;
    if rows.iter().all(|r| r.ok) {
        println!("every paid order has exactly one invoice, to the cent.");
        Ok(())
    } else {
        Err("some orders did not end with exactly one matching invoice".into())
    }
}

/// Waits until the order is done or failed and its webhooks (including the one our own write-back
/// fires) are drained, so the next order's API calls are counted on their own.
async fn wait_settled(
    store: &std::sync::Arc<dyn woosellsy_ports::Store>,
    connector: &ConnectorId,
    order: OrderId,
    woo: &WooSim,
) -> Option<OrderState> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        woo.settle().await;
        let record = store.get_order(connector, order).await.ok().flatten();
        let state = record.map(|r| r.state);
        if matches!(state, Some(OrderState::Done | OrderState::Error { .. }))
            || Instant::now() > deadline
        {
            // Let the order.updated fired by the link write-back pass through (it is skipped).
            tokio::time::sleep(Duration::from_millis(300)).await;
            woo.settle().await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            return state;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<8} {:<28} {:>12} {:<22} {:>13} {:>9} {:>4}",
        "order", "customer", "WooCommerce", "Sellsy document", "Sellsy total", "API calls", "ok"
    );
    println!("{}", "-".repeat(104));
    for r in rows {
        println!(
            "{:<8} {:<28} {:>12} {:<22} {:>13} {:>9} {:>4}",
            format!("#{}", r.number),
            truncate(&r.customer, 28),
            r.woo_total.to_string(),
            truncate(&r.outcome, 22),
            r.sellsy_total
                .map(|t| t.to_string())
                .unwrap_or_else(|| "-".into()),
            r.calls,
            if r.ok { "✓" } else { "✗" }
        );
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
