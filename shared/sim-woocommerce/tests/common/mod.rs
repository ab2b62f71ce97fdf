//! Test helpers: a tiny webhook receiver that records what the store sends and answers with scripted
//! statuses, and an OAuth 1.0a signer written from RFC 5849 (independent of the store's verifier).

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, StatusCode, Version};
use tokio::sync::{Notify, Semaphore};

#[derive(Debug, Clone)]
pub struct Received {
    pub version: Version,
    pub headers: HeaderMap,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn is_ping(&self) -> bool {
        self.body.starts_with("webhook_id=")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("delivery body is JSON")
    }
}

#[derive(Clone)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    delivery_statuses: Arc<Mutex<VecDeque<u16>>>,
    default_delivery_status: Arc<AtomicU16>,
    ping_status: Arc<AtomicU16>,
    gate: Arc<Semaphore>,
    arrived: Arc<Notify>,
}

pub struct Receiver {
    pub url: String,
    shared: Shared,
}

impl Receiver {
    /// Answers 200 to everything until told otherwise.
    pub async fn start() -> Receiver {
        Receiver::start_with_gate(Semaphore::MAX_PERMITS).await
    }

    /// Deliveries (not pings) wait for a permit from [`Receiver::release`] before answering.
    pub async fn start_gated() -> Receiver {
        Receiver::start_with_gate(0).await
    }

    async fn start_with_gate(permits: usize) -> Receiver {
        let shared = Shared {
            received: Arc::default(),
            delivery_statuses: Arc::default(),
            default_delivery_status: Arc::new(AtomicU16::new(200)),
            ping_status: Arc::new(AtomicU16::new(200)),
            gate: Arc::new(Semaphore::new(permits)),
            arrived: Arc::new(Notify::new()),
        };
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, shared }
    }

    pub fn set_delivery_status(&self, status: u16) {
        self.shared
            .default_delivery_status
            .store(status, Ordering::SeqCst);
    }

    /// Statuses used for the next deliveries, before falling back to the default.
    pub fn script(&self, statuses: &[u16]) {
        self.shared
            .delivery_statuses
            .lock()
            .unwrap()
            .extend(statuses);
    }

    pub fn set_ping_status(&self, status: u16) {
        self.shared.ping_status.store(status, Ordering::SeqCst);
    }

    pub fn release(&self, deliveries: usize) {
        self.shared.gate.add_permits(deliveries);
    }

    /// Waits until a delivery has arrived (and is being held, for a gated receiver).
    pub async fn wait_for_arrival(&self) {
        self.shared.arrived.notified().await;
    }

    pub fn all(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    pub fn deliveries(&self) -> Vec<Received> {
        self.all().into_iter().filter(|r| !r.is_ping()).collect()
    }

    pub fn pings(&self) -> Vec<Received> {
        self.all().into_iter().filter(Received::is_ping).collect()
    }
}

async fn receive(State(shared): State<Shared>, request: Request) -> StatusCode {
    let version = request.version();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let received = Received {
        version,
        headers: parts.headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    };
    let ping = received.is_ping();
    shared.received.lock().unwrap().push(received);
    if ping {
        return StatusCode::from_u16(shared.ping_status.load(Ordering::SeqCst)).unwrap();
    }
    shared.arrived.notify_one();
    let permit = shared.gate.acquire().await.unwrap();
    permit.forget();
    let scripted = shared.delivery_statuses.lock().unwrap().pop_front();
    let status = scripted.unwrap_or_else(|| shared.default_delivery_status.load(Ordering::SeqCst));
    StatusCode::from_u16(status).unwrap()
}

// ------------------------------------------------------------------------------- OAuth 1.0a

pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Clone, Copy)]
pub enum SigMethod {
    Sha1,
    Sha256,
}

/// Signs per RFC 5849 §3.4: normalized parameters are the percent-encoded pairs sorted by name then
/// value, joined with `&`; the base string is `METHOD&enc(url)&enc(params)`; key `secret&`.
/// Returns the oauth parameters including `oauth_signature`.
pub fn oauth_params(
    method: &str,
    url: &str,
    query: &[(&str, &str)],
    (key, secret): (&str, &str),
    nonce: &str,
    timestamp: i64,
    sig: SigMethod,
) -> Vec<(String, String)> {
    let sig_name = match sig {
        SigMethod::Sha1 => "HMAC-SHA1",
        SigMethod::Sha256 => "HMAC-SHA256",
    };
    let mut oauth = vec![
        ("oauth_consumer_key".to_owned(), key.to_owned()),
        ("oauth_nonce".to_owned(), nonce.to_owned()),
        ("oauth_signature_method".to_owned(), sig_name.to_owned()),
        ("oauth_timestamp".to_owned(), timestamp.to_string()),
    ];
    let mut all: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .chain(
            oauth
                .iter()
                .map(|(k, v)| (percent_encode(k), percent_encode(v))),
        )
        .collect();
    all.sort();
    let normalized = all
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let base = format!(
        "{}&{}&{}",
        method,
        percent_encode(url),
        percent_encode(&normalized)
    );
    let signing_key = format!("{}&", percent_encode(secret));
    let signature = match sig {
        SigMethod::Sha1 => {
            let mut mac =
                <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(signing_key.as_bytes()).unwrap();
            mac.update(base.as_bytes());
            BASE64.encode(mac.finalize().into_bytes())
        }
        SigMethod::Sha256 => {
            let mut mac =
                <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(signing_key.as_bytes()).unwrap();
            mac.update(base.as_bytes());
            BASE64.encode(mac.finalize().into_bytes())
        }
    };
    oauth.push(("oauth_signature".to_owned(), signature));
    oauth
}

/// Builds a full URL with the query and the OAuth parameters in the query string.
pub fn signed_url(
    method: &str,
    url: &str,
    query: &[(&str, &str)],
    key: &str,
    secret: &str,
    nonce: &str,
) -> String {
    let now = chrono::Utc::now().timestamp();
    let oauth = oauth_params(
        method,
        url,
        query,
        (key, secret),
        nonce,
        now,
        SigMethod::Sha256,
    );
    let pairs: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .chain(
            oauth
                .iter()
                .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v))),
        )
        .collect();
    format!("{url}?{}", pairs.join("&"))
}

pub fn nonce() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..32)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)]))
        .collect()
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A signed request against the simulator's default key (`ck_sim` / `cs_sim`).
pub fn signed(
    client: &reqwest::Client,
    method: reqwest::Method,
    base: &str,
    path: &str,
    query: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    let url = format!("{base}/wp-json/wc/v3{path}");
    let full = signed_url(method.as_str(), &url, query, "ck_sim", "cs_sim", &nonce());
    client.request(method, full)
}
