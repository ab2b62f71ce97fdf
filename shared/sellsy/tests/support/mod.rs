//! Test support: a local stand-in for Sellsy (token endpoint + API) that records every request, and an
//! in-memory mapping cache. Each test gives the stub a handler for the API endpoints it needs; the
//! stub answers the token endpoint itself, rejects unknown or revoked bearer tokens with a 401
//! envelope, and adds quota headers to every API answer.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use rust_decimal_macros::dec;
use secrecy::SecretString;
use sellsy::client::{CallRetries, Client, ClientConfig};
use serde_json::{Value, json};
use woosellsy_domain::{
    Address, ConnectorId, CustomerKind, CustomerPlan, DocumentKind, DocumentPlan, LineSource,
    OrderId, PlanLine, PlanTax, PlanTotals, TaxSpec,
};
use woosellsy_ports::{IdCache, IdKind, PortResult};

/// One request the stub received (API requests only; token requests are counted apart).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    /// Path below `/v2`, e.g. `/individuals/search`.
    pub path: String,
    pub query: HashMap<String, String>,
    pub body: Value,
    pub bearer: String,
}

impl Recorded {
    pub fn is(&self, method: &str, path: &str) -> bool {
        self.method.as_str() == method && self.path == path
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body,
        }
    }
    pub fn ok(body: Value) -> Self {
        Self::json(200, body)
    }
    pub fn created(body: Value) -> Self {
        Self::json(201, body)
    }
    pub fn page(data: Value) -> Self {
        let n = data.as_array().map_or(0, Vec::len);
        Self::ok(
            json!({"data": data, "pagination": {"limit": 100, "count": n, "total": n, "offset": "end"}}),
        )
    }
    pub fn error(status: u16, message: &str, details: Value) -> Self {
        Self::json(
            status,
            json!({"error": {"code": status, "message": message, "context": "", "details": details}}),
        )
    }
    pub fn not_found() -> Self {
        Self::error(404, "no stub for this endpoint", json!({}))
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

struct State {
    handler: Box<Handler>,
    log: Mutex<Vec<Recorded>>,
    token_bodies: Mutex<Vec<String>>,
    issued: AtomicUsize,
    /// Tokens numbered below this are refused (simulates expiry/revocation on Sellsy's side).
    valid_from: AtomicUsize,
    refuse_tokens: AtomicBool,
    /// The token endpoint only understands a JSON body (as Sellsy's documentation shows it).
    json_tokens_only: AtomicBool,
}

pub struct Stub {
    pub url: String,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Stub {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Stub {
    pub async fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Stub {
        let state = Arc::new(State {
            handler: Box::new(handler),
            log: Mutex::new(Vec::new()),
            token_bodies: Mutex::new(Vec::new()),
            issued: AtomicUsize::new(0),
            valid_from: AtomicUsize::new(1),
            refuse_tokens: AtomicBool::new(false),
            json_tokens_only: AtomicBool::new(false),
        });
        let shared = state.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                async move { serve(&state, method, uri, headers, body) }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Stub {
            url,
            state,
            stop: Some(tx),
        }
    }

    pub fn config(&self) -> ClientConfig {
        let mut c = ClientConfig::new(
            format!("{}/v2", self.url),
            format!("{}/oauth2/access-tokens", self.url),
            "client-42",
            SecretString::from("s3cret"),
        );
        c.requests_per_second = 1000;
        c.retry = CallRetries {
            max_retries: 3,
            base: Duration::from_millis(5),
            cap: Duration::from_millis(20),
            max_wait: Duration::from_secs(2),
        };
        c.timeout = Duration::from_secs(10);
        c
    }

    pub fn client(&self) -> Client {
        Client::new(self.config()).unwrap()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.log.lock().unwrap().clone()
    }

    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.is(method, path))
            .collect()
    }

    pub fn tokens_issued(&self) -> usize {
        self.state.issued.load(Ordering::SeqCst)
    }

    pub fn token_bodies(&self) -> Vec<String> {
        self.state.token_bodies.lock().unwrap().clone()
    }

    /// Every token issued so far is refused from now on.
    pub fn revoke_tokens(&self) {
        let next = self.state.issued.load(Ordering::SeqCst) + 1;
        self.state.valid_from.store(next, Ordering::SeqCst);
    }

    /// The token endpoint refuses the client credentials.
    pub fn refuse_credentials(&self) {
        self.state.refuse_tokens.store(true, Ordering::SeqCst);
    }

    /// The token endpoint answers 400 to anything but a JSON body.
    pub fn accept_json_tokens_only(&self) {
        self.state.json_tokens_only.store(true, Ordering::SeqCst);
    }
}

fn serve(state: &State, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    if path == "/oauth2/access-tokens" {
        state
            .token_bodies
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(&body).into_owned());
        if state.json_tokens_only.load(Ordering::SeqCst)
            && serde_json::from_slice::<Value>(&body).is_err()
        {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": "invalid_request", "error_description": "The request body must be JSON"})),
            )
                .into_response();
        }
        if state.refuse_tokens.load(Ordering::SeqCst) {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"error": "invalid_client", "error_description": "Client authentication failed"})),
            )
                .into_response();
        }
        let n = state.issued.fetch_add(1, Ordering::SeqCst) + 1;
        return axum::Json(json!({"token_type": "Bearer", "expires_in": 3600, "access_token": format!("token-{n}")}))
            .into_response();
    }
    let Some(api_path) = path.strip_prefix("/v2") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let query: HashMap<String, String> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_owned();
    let rec = Recorded {
        method,
        path: api_path.to_owned(),
        query,
        body: if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).unwrap_or(Value::Null)
        },
        bearer: bearer.clone(),
    };
    state.log.lock().unwrap().push(rec.clone());
    let token_no = bearer
        .strip_prefix("token-")
        .and_then(|n| n.parse::<usize>().ok());
    let reply = match token_no {
        Some(n)
            if n >= state.valid_from.load(Ordering::SeqCst)
                && n <= state.issued.load(Ordering::SeqCst) =>
        {
            (state.handler)(&rec)
        }
        _ => Reply::error(401, "Invalid or expired access token", json!({})),
    };
    let mut resp = (
        StatusCode::from_u16(reply.status).unwrap(),
        axum::Json(reply.body),
    )
        .into_response();
    let h = resp.headers_mut();
    h.insert("x-quota-remaining-by-second", "9".parse().unwrap());
    h.insert("x-quota-remaining-by-minute", "147".parse().unwrap());
    h.insert("x-quota-remaining-by-day", "431000".parse().unwrap());
    h.insert("x-quota-remaining-by-month", "-2".parse().unwrap());
    for (k, v) in reply.headers {
        h.insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    resp
}

/// A mapping cache in memory.
#[derive(Default)]
pub struct MemCache {
    pub entries: Mutex<HashMap<(IdKind, String), String>>,
}

impl MemCache {
    pub fn get_now(&self, kind: IdKind, key: &str) -> Option<String> {
        self.entries
            .lock()
            .unwrap()
            .get(&(kind, key.to_owned()))
            .cloned()
    }
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

#[async_trait]
impl IdCache for MemCache {
    async fn get(&self, kind: IdKind, key: &str) -> PortResult<Option<String>> {
        Ok(self.get_now(kind, key))
    }
    async fn put(&self, kind: IdKind, key: &str, value: &str) -> PortResult<()> {
        self.entries
            .lock()
            .unwrap()
            .insert((kind, key.to_owned()), value.to_owned());
        Ok(())
    }
}

pub fn paris() -> Address {
    Address {
        label: "Facturation".into(),
        first_name: "Jean".into(),
        last_name: "Martin".into(),
        company: String::new(),
        line1: "30 rue de la Paix".into(),
        line2: String::new(),
        postal_code: "75002".into(),
        city: "Paris".into(),
        state: String::new(),
        country_code: "FR".into(),
    }
}

/// Order WC-1042: two T-shirts (catalog, 20 %), Colissimo shipping (20 %), billed and shipped to Paris.
pub fn plan() -> DocumentPlan {
    DocumentPlan {
        kind: DocumentKind::Invoice,
        connector: Some(ConnectorId::parse("shop-1").unwrap()),
        order_id: OrderId(1042),
        order_number: "1042".into(),
        order_reference: "WC-1042".into(),
        date: NaiveDate::from_ymd_opt(2024, 6, 1).unwrap(),
        currency: "EUR".into(),
        subject: "Commande WooCommerce #1042".into(),
        customer: CustomerPlan {
            email: "jean.martin@example.com".into(),
            kind: CustomerKind::Individual {
                first_name: "Jean".into(),
                last_name: "Martin".into(),
            },
            phone: Some("+33600000000".into()),
            billing: paris(),
            shipping: None,
        },
        lines: vec![
            PlanLine {
                source: LineSource::Catalog {
                    sku: "TSHIRT-M".into(),
                    parent_sku: None,
                    is_variation: false,
                },
                name: "T-shirt bleu".into(),
                description: "Taille M".into(),
                quantity: dec!(2),
                unit_amount: dec!(24.9167),
                tax: TaxSpec::Rate(dec!(20)),
                discount: None,
            },
            PlanLine {
                source: LineSource::Shipping {
                    method_id: "flat_rate".into(),
                },
                name: "Colissimo".into(),
                description: String::new(),
                quantity: dec!(1),
                unit_amount: dec!(5.00),
                tax: TaxSpec::Rate(dec!(20)),
                discount: None,
            },
        ],
        taxes: vec![PlanTax {
            tax: TaxSpec::Rate(dec!(20)),
            base_excl_tax: dec!(54.83),
            amount: dec!(10.97),
        }],
        totals: PlanTotals {
            excl_tax: dec!(54.83),
            tax: dec!(10.97),
            incl_tax: dec!(65.80),
        },
        notes: vec!["Coupon SUMMER appliqué".into()],
    }
}

/// `GET /taxes` of an account after the e-invoicing reform: a legacy 0 % tax, compliant exemptions.
pub fn taxes() -> Value {
    json!([
        {"id": 10, "rate": 20, "label": "TVA 20%", "is_active": true, "is_ecotax": false, "category": "S", "vatex": null, "is_einvoicing_compliant": true},
        {"id": 11, "rate": 5.5, "label": "TVA 5,5%", "is_active": true, "is_ecotax": false, "category": "S", "vatex": null, "is_einvoicing_compliant": true},
        {"id": 12, "rate": 0, "label": "TVA 0% (ancienne)", "is_active": true, "is_ecotax": false, "category": "Z", "vatex": null, "is_einvoicing_compliant": false},
        {"id": 13, "rate": 0, "label": "Intracom", "is_active": true, "is_ecotax": false, "category": "K", "vatex": "VATEX-EU-IC", "is_einvoicing_compliant": true},
        {"id": 14, "rate": 20, "label": "TVA 20% archivée", "is_active": false, "is_ecotax": false, "category": "S", "vatex": null, "is_einvoicing_compliant": true}
    ])
}

pub fn currencies() -> Value {
    json!([{"id": 1, "code": "EUR", "symbol": "€", "is_default": true}, {"id": 2, "code": "CHF", "symbol": "CHF", "is_default": false}])
}

pub fn invoice(id: u64, order_reference: &str) -> Value {
    json!({
        "id": id, "number": format!("FAC-{id}"), "status": "draft", "date": "2024-06-01",
        "order_reference": order_reference, "currency": "EUR",
        "related": [{"id": 6657, "type": "individual"}],
        "public_link": {"enabled": true, "url": format!("https://sellsy.example/pub/{id}")},
        "amounts": {"total_excl_tax": "54.83", "total_incl_tax": "65.80"}
    })
}
