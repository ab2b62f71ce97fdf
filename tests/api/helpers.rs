//! Test harness: simulators, a config file, and the `woosellsy` process under test.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::{Value, json};
use sim_sellsy::{SellsySim, SimConfig};
use sim_woocommerce::{WooSim, WooSimConfig};

pub const CONNECTOR: &str = "shop-1";
pub const WEBHOOK_SECRET: &str = "s3cr&amp;t-webhook";

/// The `status_token` of the test configuration: `/health` shows the queue depth only to it.
pub const STATUS_TOKEN: &str = "test-status-token";

pub struct Options {
    pub crash_at: Option<&'static str>,
    pub receiver_only: bool,
    pub claim_lease_secs: u64,
    /// Register order.created / order.updated webhooks in the WooCommerce simulator.
    pub webhooks: bool,
    /// The WooCommerce store uses plain permalinks: no `/wp-json`, only `index.php?rest_route=`.
    pub woo_plain_permalinks: bool,
    /// `verify_totals_with_sellsy`: each document is computed by Sellsy (`POST /invoices/compute`) first.
    pub verify_totals_with_sellsy: bool,
    /// Time the Sellsy simulator takes per API request.
    pub sellsy_latency: Duration,
    /// The connector's `sellsy_tax_rounding` setting.
    pub sellsy_tax_rounding: &'static str,
    /// Sellsy simulator: latency drawn from this range (instead of `sellsy_latency`), the share of creates
    /// answered 503 after committing (invoices and the others alike), and the seed of both.
    pub sellsy_latency_range: Option<(Duration, Duration)>,
    pub sellsy_commit_then_fail: f64,
    pub sellsy_seed: u64,
    /// WooCommerce simulator: `max_delivery_failures` (kills make deliveries fail).
    pub woo_max_delivery_failures: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            crash_at: None,
            receiver_only: false,
            claim_lease_secs: 2,
            webhooks: true,
            woo_plain_permalinks: false,
            verify_totals_with_sellsy: false,
            sellsy_latency: Duration::ZERO,
            sellsy_tax_rounding: "unknown",
            sellsy_latency_range: None,
            sellsy_commit_then_fail: 0.0,
            sellsy_seed: 0,
            woo_max_delivery_failures: WooSimConfig::default().max_delivery_failures,
        }
    }
}

pub struct TestApp {
    pub woo: WooSim,
    pub sellsy: SellsySim,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub port: u16,
    pub process: Option<Child>,
    pub http: reqwest::Client,
    pub webhook_ids: Vec<u64>,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl TestApp {
    pub async fn spawn(opts: Options) -> TestApp {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let woo = WooSim::start(WooSimConfig {
            plain_permalinks: opts.woo_plain_permalinks,
            max_delivery_failures: opts.woo_max_delivery_failures,
            ..WooSimConfig::default()
        })
        .await
        .expect("woo sim");
        let sellsy = SellsySim::start(SimConfig {
            latency: opts.sellsy_latency,
            latency_range: opts.sellsy_latency_range,
            create_commit_then_fail: opts.sellsy_commit_then_fail,
            other_create_commit_then_fail: opts.sellsy_commit_then_fail,
            seed: opts.sellsy_seed,
            ..SimConfig::default()
        })
        .await
        .expect("sellsy sim");
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let config_path = dir.path().join("woosellsy.toml");
        let woo_defaults = WooSimConfig::default();
        let sellsy_defaults = SimConfig::default();
        let config = format!(
            r#"
listen = "127.0.0.1:{port}"
data_dir = "{data}"
status_token = "{STATUS_TOKEN}"
[server]
body_timeout_secs = 2
[worker]
concurrency = 4
max_attempts = 30
claim_lease_secs = {lease}
visibility_secs = {visibility}
base_backoff_ms = 200
max_backoff_secs = 2
[[connector]]
id = "{CONNECTOR}"
verify_totals_with_sellsy = {verify}
sellsy_tax_rounding = "{rounding}"
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
requests_per_second = 50
"#,
            data = dir.path().join("data").display(),
            lease = opts.claim_lease_secs,
            verify = opts.verify_totals_with_sellsy,
            rounding = opts.sellsy_tax_rounding,
            visibility = opts.claim_lease_secs + 1,
            woo_url = woo.url(),
            ck = woo_defaults.consumer_key,
            cs = woo_defaults.consumer_secret,
            api = sellsy.api_url(),
            token = sellsy.token_url(),
            cid = sellsy_defaults.client_id,
            csec = sellsy_defaults.client_secret,
        );
        std::fs::write(&config_path, config).expect("write config");
        let mut app = TestApp {
            woo,
            sellsy,
            dir,
            config_path,
            port,
            process: None,
            http: reqwest::Client::new(),
            webhook_ids: Vec::new(),
        };
        app.start(&opts).await;
        let url = app.webhook_url(CONNECTOR);
        let topics: &[&str] = if opts.webhooks {
            &["order.created", "order.updated"]
        } else {
            &[]
        };
        for topic in topics.iter().copied() {
            let id = app
                .woo
                .create_webhook(topic, topic, &url, WEBHOOK_SECRET)
                .await;
            app.webhook_ids.push(id);
        }
        app
    }

    /// Starts (or restarts) the `woosellsy serve` process and waits until it answers.
    pub async fn start(&mut self, opts: &Options) {
        let mut cmd = self.serve_command(&self.config_path);
        if opts.receiver_only {
            cmd.arg("--receiver-only");
        }
        match opts.crash_at {
            Some(point) => cmd.env("WOOSELLSY_CRASH_AT", point),
            None => cmd.env_remove("WOOSELLSY_CRASH_AT"),
        };
        self.process = Some(cmd.spawn().expect("spawn woosellsy"));
        let health = format!("http://127.0.0.1:{}/health", self.port);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = self.http.get(&health).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "woosellsy did not start:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `woosellsy serve --config <config>`, logging into the app's log file.
    fn serve_command(&self, config: &std::path::Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_woosellsy"));
        cmd.arg("serve")
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.dir.path().join("woosellsy.log"))
                    .expect("log file"),
            ));
        cmd
    }

    /// Another `woosellsy serve` on this app's data directory, on its own port: the processes share the
    /// queue and the store, as converter containers share SQS and DynamoDB on AWS. Killed when dropped.
    pub fn start_another_process(&self, name: &str) -> OtherProcess {
        let config = std::fs::read_to_string(&self.config_path)
            .expect("config")
            .replace(
                &format!("127.0.0.1:{}", self.port),
                &format!("127.0.0.1:{}", free_port()),
            );
        let path = self.dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, config).expect("write config");
        OtherProcess(self.serve_command(&path).spawn().expect("spawn woosellsy"))
    }

    /// SIGKILL: no graceful shutdown, like a crash or a Lambda timeout.
    pub fn kill(&mut self) {
        if let Some(mut p) = self.process.take() {
            let _ = p.kill();
            let _ = p.wait();
        }
    }

    /// Waits for the process to exit on its own (e.g. at a crash point).
    pub async fn wait_exit(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(p) = self.process.as_mut()
                && let Ok(Some(_)) = p.try_wait()
            {
                self.process = None;
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("woosellsy.log")).unwrap_or_default()
    }

    pub fn webhook_url(&self, connector: &str) -> String {
        format!("http://127.0.0.1:{}/webhooks/{connector}", self.port)
    }

    pub async fn queue_depth(&self) -> u64 {
        // A fresh connection: a pooled one may have been closed by an early 413.
        let v: Value = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{}/health", self.port))
            .bearer_auth(STATUS_TOKEN)
            .send()
            .await
            .expect("health")
            .json()
            .await
            .expect("health json");
        v["queue_depth"].as_u64().expect("queue_depth")
    }

    /// Invoices in Sellsy whose order_reference is `reference`.
    pub fn invoices_for(&self, reference: &str) -> Vec<Value> {
        self.sellsy
            .invoices()
            .into_iter()
            .filter(|i| i["order_reference"] == reference)
            .collect()
    }

    /// Waits until `cond` holds, or fails with the process logs.
    pub async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut cond: impl FnMut(&TestApp) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        while !cond(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\n--- woosellsy log ---\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The value of the order's meta `key`; a `null` value counts as absent (it is how a key is cleared).
    pub fn order_meta(&self, order_id: u64, key: &str) -> Option<Value> {
        let order = self.woo.order(order_id)?;
        order["meta_data"]
            .as_array()?
            .iter()
            .find(|m| m["key"] == key)
            .map(|m| m["value"].clone())
            .filter(|v| !v.is_null())
    }

    /// The `order_reference` the connector gives the order's documents: `WC-` + the order number.
    pub fn reference(&self, order_id: u64) -> String {
        let order = self.woo.order(order_id).expect("order");
        format!("WC-{}", order["number"].as_str().expect("order number"))
    }
}

/// A process started by [`TestApp::start_another_process`].
pub struct OtherProcess(Child);

impl Drop for OtherProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A paid French order: 2 × T-shirt at 25.00 € HT (20 %), 1 book at 10.00 € HT (5.5 %), shipping 5.00 € HT (20 %).
/// Totals as WooCommerce computes them: items 60.00 HT, tax 10.00 + 0.55, shipping tax 1.00 → 76.55 TTC.
pub fn french_order(email: &str) -> Value {
    json!({
        "status": "processing",
        "currency": "EUR",
        "prices_include_tax": false,
        "customer_id": 0,
        "date_paid_gmt": "2026-11-20T10:00:00",
        "date_paid": "2026-11-20T11:00:00",
        "billing": {"first_name": "Camille", "last_name": "Durand", "company": "", "address_1": "12 rue des Lilas",
                    "address_2": "", "city": "Lyon", "state": "", "postcode": "69003", "country": "FR",
                    "email": email, "phone": "+33 4 00 00 00 00"},
        "shipping": {"first_name": "Camille", "last_name": "Durand", "company": "", "address_1": "12 rue des Lilas",
                     "address_2": "", "city": "Lyon", "state": "", "postcode": "69003", "country": "FR", "phone": ""},
        "payment_method": "stripe", "payment_method_title": "Carte bancaire",
        "discount_total": "0.00", "discount_tax": "0.00",
        "shipping_total": "5.00", "shipping_tax": "1.00",
        "cart_tax": "10.55", "total_tax": "11.55", "total": "76.55",
        "meta_data": [],
        "line_items": [
            {"id": 1, "name": "T-shirt bio", "product_id": 11, "variation_id": 0, "quantity": 2, "tax_class": "",
             "subtotal": "50.00", "subtotal_tax": "10.00", "total": "50.00", "total_tax": "10.00",
             "taxes": [{"id": 1, "total": "10", "subtotal": "10"}], "meta_data": [], "sku": "TSHIRT-BIO", "price": 25},
            {"id": 2, "name": "Livre de recettes", "product_id": 12, "variation_id": 0, "quantity": 1, "tax_class": "reduced-rate",
             "subtotal": "10.00", "subtotal_tax": "0.55", "total": "10.00", "total_tax": "0.55",
             "taxes": [{"id": 2, "total": "0.55", "subtotal": "0.55"}], "meta_data": [], "sku": "BOOK-42", "price": 10}
        ],
        "tax_lines": [
            {"id": 10, "rate_code": "FR-TVA-1", "rate_id": 1, "label": "TVA", "compound": false,
             "tax_total": "10.00", "shipping_tax_total": "1.00", "rate_percent": 20, "meta_data": []},
            {"id": 11, "rate_code": "FR-TVA REDUITE-2", "rate_id": 2, "label": "TVA réduite", "compound": false,
             "tax_total": "0.55", "shipping_tax_total": "0.00", "rate_percent": 5.5, "meta_data": []}
        ],
        "shipping_lines": [
            {"id": 20, "method_title": "Colissimo", "method_id": "flat_rate", "instance_id": "1", "total": "5.00",
             "total_tax": "1.00", "taxes": [{"id": 1, "total": "1", "subtotal": ""}], "meta_data": []}
        ],
        "fee_lines": [], "coupon_lines": [], "refunds": []
    })
}

pub fn dec(v: &Value) -> Decimal {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a decimal string: {v}"))
}
