//! Benchmark (not a test): what the Lambda functions cost, network excluded.
//!
//! ```text
//! cargo run --release -p woosellsy-aws --example bench
//! cargo run --release -p woosellsy-aws --example bench -- \
//!     target/lambda/webhook-receiver/bootstrap target/lambda/converter/bootstrap
//! ```
//!
//! 1. Receiver handler time per event, p50/p99: the API Gateway HTTP API v2 event JSON is parsed,
//!    converted, the WooCommerce signature verified, the event enqueued on an in-memory queue (store
//!    and secrets in memory too: only our code is measured, no AWS call).
//! 2. Cold init of each function binary given on the command line: from process start until the
//!    binary asks a local fake Lambda Runtime API for its first event (`GET …/invocation/next`), i.e.
//!    logging set-up, environment, SDK configuration and clients, the runtime's start.

use std::collections::HashMap;
use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;
use woosellsy_domain::{ClaimKey, ConnectorId, ConnectorSecrets, ConnectorSettings, OrderId};
use woosellsy_engine::{MemorySecrets, Receiver, ReceiverLimits};
use woosellsy_ports::{
    ClaimOutcome, DocumentRef, IdKind, LeaseOutcome, OrderRecord, PortError, PortResult, Queue,
    QueuedEvent, Store,
};

const SECRET: &str = "bench-webhook-secret";
const EVENTS: usize = 20_000;

/// Only connectors are read by the receiver; the rest says so if ever called.
struct Connectors(HashMap<ConnectorId, ConnectorSettings>);

fn unused<T>() -> PortResult<T> {
    Err(PortError::permanent("not used by the receiver benchmark"))
}

#[async_trait]
impl Store for Connectors {
    async fn get_connector(&self, id: &ConnectorId) -> PortResult<Option<ConnectorSettings>> {
        Ok(self.0.get(id).cloned())
    }
    async fn put_connector(&self, _: &ConnectorSettings) -> PortResult<()> {
        unused()
    }
    async fn list_connectors(&self) -> PortResult<Vec<ConnectorSettings>> {
        Ok(self.0.values().cloned().collect())
    }
    async fn get_order(&self, _: &ConnectorId, _: OrderId) -> PortResult<Option<OrderRecord>> {
        unused()
    }
    async fn put_order(&self, _: &OrderRecord) -> PortResult<()> {
        unused()
    }
    async fn claim(
        &self,
        _: &ClaimKey,
        _: &str,
        _: DateTime<Utc>,
        _: Duration,
    ) -> PortResult<ClaimOutcome> {
        unused()
    }
    async fn complete_claim(&self, _: &ClaimKey, _: &str, _: &DocumentRef) -> PortResult<()> {
        unused()
    }
    async fn release_claim(&self, _: &ClaimKey, _: &str) -> PortResult<()> {
        unused()
    }
    async fn take_lease(
        &self,
        _: &ConnectorId,
        _: &str,
        _: &str,
        _: DateTime<Utc>,
        _: Duration,
    ) -> PortResult<LeaseOutcome> {
        unused()
    }
    async fn release_lease(&self, _: &ConnectorId, _: &str, _: &str) -> PortResult<()> {
        unused()
    }
    async fn get_cached_id(
        &self,
        _: &ConnectorId,
        _: IdKind,
        _: &str,
    ) -> PortResult<Option<String>> {
        unused()
    }
    async fn put_cached_id(&self, _: &ConnectorId, _: IdKind, _: &str, _: &str) -> PortResult<()> {
        unused()
    }
}

#[derive(Default)]
struct MemoryQueue(Mutex<Vec<QueuedEvent>>);

#[async_trait]
impl Queue for MemoryQueue {
    async fn enqueue(&self, event: &QueuedEvent) -> PortResult<()> {
        // The message body is built as SqsQueue builds it (JSON, group id, content hash).
        let message =
            woosellsy_aws::sqs::outgoing_message(event, woosellsy_aws::sqs::SQS_MAX_BODY_BYTES)?;
        std::hint::black_box(message);
        self.0
            .lock()
            .map_err(|_| PortError::transient("poisoned"))?
            .push(event.clone());
        Ok(())
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn receiver_bench() {
    let id = ConnectorId::parse("shop-1").expect("id");
    let settings: ConnectorSettings = serde_json::from_value(json!({
        "id": "shop-1", "woocommerce_url": "https://boutique.example.fr",
        "sellsy_api_url": "https://api.sellsy.com/v2", "sellsy_token_url": "https://login.sellsy.com/oauth2/access-tokens"
    }))
    .expect("settings");
    let secrets: ConnectorSecrets = serde_json::from_value(json!({
        "woocommerce_consumer_key": "ck", "woocommerce_consumer_secret": "cs", "webhook_secret": SECRET,
        "sellsy_client_id": "id", "sellsy_client_secret": "sec"
    }))
    .expect("secrets");
    let memory_secrets = MemorySecrets::new();
    memory_secrets.insert(id.clone(), secrets);
    let queue = Arc::new(MemoryQueue::default());
    let receiver = Receiver::new(
        Arc::new(Connectors(HashMap::from([(id, settings)]))),
        Arc::new(memory_secrets),
        queue.clone(),
        ReceiverLimits::default(),
    );
    let function = woosellsy_aws::functions::WebhookFunction::new(receiver);

    // A real order as WooCommerce's REST API (and so its webhooks) serialise it: the repo's copy.
    let body = include_str!("../../../tests/fixtures/woocommerce/docs-order-create-response.json");
    let signature = woocommerce::webhook::signature(body.as_bytes(), SECRET);
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("../tests/fixtures/apigw-v2-webhook.json"))
            .expect("fixture");
    event["headers"]["x-wc-webhook-signature"] = json!(signature);
    event["headers"]["content-length"] = json!(body.len().to_string());
    event["body"] = json!(body);
    let event = event.to_string();

    let mut times = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS + 500 {
        let start = Instant::now();
        let req = lambda_http::request::from_str(&event).expect("event");
        let resp = function.handle(req).await;
        let elapsed = start.elapsed();
        assert_eq!(
            resp.status(),
            200,
            "the benchmark must measure accepted events"
        );
        if i >= 500 {
            times.push(elapsed); // the first 500 warm caches and the allocator
        }
    }
    times.sort();
    let queued = queue.0.lock().map(|q| q.len()).unwrap_or(0);
    println!(
        "receiver handler per event ({} B order, {EVENTS} events, {queued} queued): p50 {:?}  p99 {:?}  max {:?}",
        body.len(),
        percentile(&times, 0.50),
        percentile(&times, 0.99),
        times[times.len() - 1],
    );
}

/// Starts `binary` as Lambda would and returns the time until its first `invocation/next` request.
fn cold_init(binary: &str) -> Duration {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let start = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "eu-west-3")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_LAMBDA_LOG_LEVEL", "WARN")
        .env("WOOSELLSY_TABLE", "bench-state")
        .env("WOOSELLSY_SECRET_PREFIX", "woosellsy/bench/connectors/")
        .env(
            "WOOSELLSY_WEBHOOK_SECRET_PREFIX",
            "woosellsy/bench/webhooks/",
        )
        .env(
            "WOOSELLSY_QUEUE_URL",
            "https://sqs.eu-west-3.amazonaws.com/123456789012/bench-events.fifo",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {binary}: {e}"));
    let (mut stream, _) = listener
        .accept()
        .expect("the runtime never asked for an event");
    let mut buf = [0u8; 512];
    let n = stream.read(&mut buf).unwrap_or(0);
    let elapsed = start.elapsed();
    let line = String::from_utf8_lossy(&buf[..n]);
    assert!(
        line.contains("/runtime/invocation/next"),
        "unexpected first request: {line}"
    );
    let _ = child.kill();
    let _ = child.wait();
    elapsed
}

#[tokio::main]
async fn main() {
    receiver_bench().await;
    for binary in std::env::args().skip(1) {
        let size = std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0);
        let mut runs: Vec<Duration> = (0..15).map(|_| cold_init(&binary)).collect();
        runs.sort();
        println!(
            "cold init {binary} ({:.1} MB): median {:?}  min {:?}  max {:?} over {} starts",
            size as f64 / 1_048_576.0,
            percentile(&runs, 0.5),
            runs[0],
            runs[runs.len() - 1],
            runs.len()
        );
    }
}
