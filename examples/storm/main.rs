//! Exactly once under real timing, at scale: a storm of webhooks against `woosellsy serve`.
//!
//! ```sh
//! cargo build --release            # the binary under test: target/release/woosellsy
//! cargo run --release --example storm -- --orders 1000 --deliveries 3 --senders 16 --customers 200 --skus 50
//! cargo run --release --example storm -- --kill-every 5      # the same, the process SIGKILLed every 5 s
//! ```
//!
//! It starts the WooCommerce and Sellsy simulators in this process (Sellsy: each call takes 100–300 ms, 2 % of
//! creates — invoices, customers, items — are answered 503 *after* they were committed), writes a
//! configuration and spawns `woosellsy serve` (the binary next to this example's directory, i.e.
//! `target/release/woosellsy` for a release run, or `--bin PATH`; it is not built by `cargo run --example`).
//! It creates the orders (computed by `woo_calc`; a few left unpaid), delivers each order's webhook
//! `--deliveries` times, shuffled, from `--senders` concurrent senders (a delivery refused because the
//! process is down is sent again), optionally kills the process (SIGKILL) every `--kill-every` seconds and
//! starts it again, waits until the queue is drained (`/health` with the status token), then counts what
//! Sellsy holds. It prints the figures and exits 1 when an invoice is missing or anything was duplicated.

#[path = "common.rs"]
mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use sim_sellsy::{SellsySim, SimConfig};
use sim_woocommerce::{WooSim, WooSimConfig};

use common::{ShopSpec, StormOrder};

const CONNECTOR: &str = "storm-shop";
const WEBHOOK_SECRET: &str = "storm-webhook-secret";
const STATUS_TOKEN: &str = "storm-status-token";

#[derive(Parser, Debug)]
#[command(about = "Exactly once under real timing: a webhook storm against woosellsy serve")]
struct Args {
    #[arg(long, default_value_t = 1000)]
    orders: usize,
    /// Deliveries of each order's webhook (the first order.created, the others order.updated).
    #[arg(long, default_value_t = 3)]
    deliveries: usize,
    /// Concurrent senders.
    #[arg(long, default_value_t = 16)]
    senders: usize,
    #[arg(long, default_value_t = 200)]
    customers: usize,
    #[arg(long, default_value_t = 50)]
    skus: usize,
    /// Share of orders left unpaid (they must get no invoice).
    #[arg(long, default_value_t = 0.05)]
    unpaid: f64,
    /// SIGKILL the process every this many seconds (e.g. `5` or `5s`) and start it again.
    #[arg(long, value_parser = seconds)]
    kill_every: Option<Duration>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Sellsy latency per call, uniform in MIN..MAX milliseconds.
    #[arg(long, default_value = "100..300")]
    latency_ms: String,
    /// Share of creates answered 503 after committing.
    #[arg(long, default_value_t = 0.02)]
    faults: f64,
    /// `[worker] concurrency`.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// `[worker] claim_lease_secs`: how long a create whose outcome is unknown (a 503) blocks its order
    /// before it is recovered by search.
    #[arg(long, default_value_t = 20)]
    lease_secs: u64,
    /// The `woosellsy` binary (default: `woosellsy` in the target directory of this example).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 1800)]
    timeout_secs: u64,
}

fn seconds(s: &str) -> Result<Duration, String> {
    s.trim_end_matches('s')
        .parse::<f64>()
        .ok()
        .filter(|v| *v > 0.0 && v.is_finite())
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("not a number of seconds: {s}"))
}

fn latency_range(s: &str) -> Result<(Duration, Duration), String> {
    let (a, b) = s.split_once("..").unwrap_or((s, s));
    let ms = |v: &str| v.trim().parse::<u64>().map_err(|e| format!("{s}: {e}"));
    Ok((Duration::from_millis(ms(a)?), Duration::from_millis(ms(b)?)))
}

/// The `woosellsy serve` process under test.
struct Serve {
    bin: PathBuf,
    config: PathBuf,
    log: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Serve {
    async fn start(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| e.to_string())?;
        let child = Command::new(&self.bin)
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.bin.display()))?;
        self.child = Some(child);
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = http
                .get(format!("http://127.0.0.1:{}/health", self.port))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!(
            "woosellsy did not answer within 30 s (log: {})",
            self.log.display()
        ))
    }

    /// SIGKILL, no goodbye.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn default_bin() -> Option<PathBuf> {
    // target/<profile>/examples/storm → target/<profile>/woosellsy
    let exe = std::env::current_exe().ok()?;
    Some(
        exe.parent()?
            .parent()?
            .join(format!("woosellsy{}", std::env::consts::EXE_SUFFIX)),
    )
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("storm: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<bool, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bin = args
        .bin
        .clone()
        .or_else(default_bin)
        .ok_or("cannot locate the woosellsy binary: pass --bin")?;
    if !bin.is_file() {
        return Err(format!(
            "{} does not exist: run `cargo build --release` first (or pass --bin)",
            bin.display()
        ));
    }
    let latency = latency_range(&args.latency_ms)?;
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);

    // WooCommerce disables a webhook after a few failed deliveries; the kills would trip it (the
    // connector's catch-up covers that in production) — here the senders retry instead.
    let woo = WooSim::start(WooSimConfig {
        max_delivery_failures: u32::MAX / 2,
        ..WooSimConfig::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    let sellsy_cfg = SimConfig {
        latency_range: Some(latency),
        create_commit_then_fail: args.faults,
        other_create_commit_then_fail: args.faults,
        seed: args.seed,
        ..SimConfig::default()
    };
    let sellsy = SellsySim::start(sellsy_cfg.clone())
        .await
        .map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let port = free_port().map_err(|e| e.to_string())?;
    let woo_cfg = WooSimConfig::default();
    let config = format!(
        r#"
listen = "127.0.0.1:{port}"
data_dir = "{data}"
status_token = "{STATUS_TOKEN}"
[worker]
concurrency = {concurrency}
claim_lease_secs = {lease}
[[connector]]
id = "{CONNECTOR}"
[connector.woocommerce]
url = "{woo_url}"
consumer_key = "{ck}"
consumer_secret = "{cs}"
webhook_secret = "{WEBHOOK_SECRET}"
[connector.sellsy]
api_url = "{api}"
token_url = "{token}"
client_id = "{cid}"
client_secret = "{csec}"
"#,
        data = dir.path().join("data").display(),
        concurrency = args.concurrency,
        lease = args.lease_secs,
        woo_url = woo.url(),
        ck = woo_cfg.consumer_key,
        cs = woo_cfg.consumer_secret,
        api = sellsy.api_url(),
        token = sellsy.token_url(),
        cid = sellsy_cfg.client_id,
        csec = sellsy_cfg.client_secret,
    );
    let config_path = dir.path().join("woosellsy.toml");
    std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
    let serve = Arc::new(tokio::sync::Mutex::new(Serve {
        bin: bin.clone(),
        config: config_path,
        log: dir.path().join("woosellsy.log"),
        port,
        child: None,
    }));
    serve.lock().await.start().await?;

    let orders: Vec<StormOrder> = common::generate(&ShopSpec {
        orders: args.orders,
        customers: args.customers,
        skus: args.skus,
        unpaid_ratio: args.unpaid,
        seed: args.seed,
    });
    // The orders exist before the webhooks: every delivery is one of the storm's.
    for o in &orders {
        woo.create_order(o.json.clone());
    }
    let url = format!("http://127.0.0.1:{port}/webhooks/{CONNECTOR}");
    let created = woo
        .create_webhook("created", "order.created", &url, WEBHOOK_SECRET)
        .await;
    let updated = woo
        .create_webhook("updated", "order.updated", &url, WEBHOOK_SECRET)
        .await;

    println!(
        "storm: {} orders ({} paid) × {} deliveries from {} senders; {} customers, {} SKUs; seed {}",
        orders.len(),
        orders.iter().filter(|o| o.paid).count(),
        args.deliveries,
        args.senders,
        args.customers,
        args.skus,
        args.seed
    );
    println!(
        "  Sellsy latency {}–{} ms, {:.1} % of creates answered 503 after committing; worker concurrency {}, \
         claim lease {} s; {}",
        latency.0.as_millis(),
        latency.1.as_millis(),
        args.faults * 100.0,
        args.concurrency,
        args.lease_secs,
        match args.kill_every {
            Some(d) => format!("SIGKILL every {} s", d.as_secs_f64()),
            None => "no kills".into(),
        }
    );
    println!("  binary {}", bin.display());

    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let restarts = Arc::new(AtomicUsize::new(0));
    let killer = args.kill_every.map(|every| {
        let (serve, stop, restarts) = (serve.clone(), stop.clone(), restarts.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                tokio::time::sleep(every).await;
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let mut s = serve.lock().await;
                s.kill();
                if let Err(e) = s.start().await {
                    eprintln!("storm: restart failed: {e}");
                    return;
                }
                restarts.fetch_add(1, Ordering::SeqCst);
            }
        })
    });
    let sent = common::deliver_storm(
        &woo,
        (created, updated),
        &orders,
        args.deliveries,
        args.senders,
        args.seed,
        deadline,
    )
    .await;
    let delivered_at = started.elapsed();
    println!(
        "  deliveries sent in {:.1} s: {} acknowledged, {} attempts refused and sent again, {} failed",
        delivered_at.as_secs_f64(),
        sent.acknowledged,
        sent.retried,
        sent.failed.len()
    );
    let mut drained = false;
    while Instant::now() < deadline && !drained {
        drained = common::wait_drained(&woo, port, STATUS_TOKEN, deadline).await;
        let invoices = sellsy.invoices().len();
        println!(
            "  {:>6.1} s: {invoices} invoices{}",
            started.elapsed().as_secs_f64(),
            if drained { ", queue drained" } else { "" }
        );
    }
    stop.store(true, Ordering::SeqCst);
    if let Some(k) = killer {
        let _ = k.await;
        // A kill may have landed just before the stop: drained still?
        drained = common::wait_drained(&woo, port, STATUS_TOKEN, deadline).await;
    }
    let wall = started.elapsed();
    let out = common::outcome(&woo, &sellsy, &orders);
    serve.lock().await.kill();

    println!();
    println!(
        "orders                      {} ({} paid)",
        out.orders, out.paid
    );
    println!(
        "invoices                    {} (paid orders: {}){}",
        out.invoices,
        out.paid,
        if out.invoices == out.paid {
            ""
        } else {
            "  ✗"
        }
    );
    println!("missing invoices            {}", out.missing.len());
    for m in out.missing.iter().take(20) {
        println!("    {m}");
    }
    println!("unpaid orders invoiced      {}", out.unpaid_invoiced.len());
    println!(
        "duplicates                  invoices {}, customers {}, items {}",
        out.duplicates.invoices.len(),
        out.duplicates.customers.len(),
        out.duplicates.items.len()
    );
    for (k, n) in out
        .duplicates
        .invoices
        .iter()
        .chain(&out.duplicates.customers)
        .chain(&out.duplicates.items)
        .take(20)
    {
        println!("    {k} × {n}");
    }
    println!(
        "Sellsy objects              {} individuals, {} companies, {} items",
        out.individuals, out.companies, out.items
    );
    println!(
        "503 after commit injected   {} (invoices {}, customers/items {})",
        out.injected.0 + out.injected.1,
        out.injected.0,
        out.injected.1
    );
    println!(
        "restarts (SIGKILL)          {}",
        restarts.load(Ordering::SeqCst)
    );
    let per_order = |n: usize| n as f64 / out.paid.max(1) as f64;
    println!(
        "Sellsy calls                {} = {:.2} per paid order (+ {} token requests)",
        out.calls,
        per_order(out.calls),
        out.token_calls
    );
    let mut by: Vec<_> = out.calls_by_endpoint.iter().collect();
    by.sort_by(|a, b| b.1.cmp(a.1));
    for (ep, n) in by {
        println!("    {ep:<36} {n:>6}  {:>6.3} per order", per_order(*n));
    }
    println!(
        "wall time                   {:.1} s from the first delivery to drained{}",
        wall.as_secs_f64(),
        if drained {
            ""
        } else {
            " (NOT drained: timed out)"
        }
    );
    println!(
        "orders per second           {:.2} (paid orders / wall time)",
        out.paid as f64 / wall.as_secs_f64()
    );
    let ok = drained && out.ok() && sent.failed.is_empty();
    if !sent.failed.is_empty() {
        println!(
            "deliveries failed: {:?}",
            &sent.failed[..sent.failed.len().min(10)]
        );
    }
    println!(
        "{}",
        if ok {
            "OK: exactly one invoice per paid order, nothing duplicated"
        } else {
            "FAILED"
        }
    );
    if !ok {
        let keep = dir.keep();
        println!("kept {} (config, data, woosellsy.log)", keep.display());
    }
    Ok(ok)
}
