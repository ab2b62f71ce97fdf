//! `sim-sellsy`: an in-process simulator of the Sellsy API v2 (and its OAuth token endpoint) for the project's
//! tests and for `woosellsy demo`.
//!
//! It follows the official OpenAPI spec 2.264 and the project's research notes, not any client in this
//! repository: decimals must be JSON strings, third parties must be `client`s, row taxes must be active and
//! e-invoicing compliant, lists paginate with seek cursors or page numbers, every call consumes quota and
//! answers the `X-Quota-Remaining-By-*` headers. The rules implemented, with their sources and the choices made
//! where Sellsy is silent, are listed in `spec/RULES.md`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sim = sim_sellsy::SellsySim::start(sim_sellsy::SimConfig::default()).await?;
//! let api = sim.api_url();      // http://127.0.0.1:PORT/v2
//! let token = sim.token_url();  // http://127.0.0.1:PORT/oauth2/access-tokens
//! # let _ = (api, token);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

#![recursion_limit = "256"]

pub mod compute;

mod catalog;
mod error;
mod faults;
mod invoices;
mod merchant;
mod pagination;
mod parties;
mod server;
mod store;
mod validate;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::server::Shared;
use crate::store::{Declination, Seq, Store};

/// Simulator settings. `Default` gives a permissive account: unlimited quotas, EUR/USD/GBP/CHF.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub client_id: String,
    pub client_secret: String,
    /// `expires_in` of issued tokens; a token is refused once this many seconds have passed.
    pub token_ttl_secs: u64,
    pub rounding: compute::RoundingMode,
    /// Requests allowed per second / per minute; `None` = unlimited.
    pub quota_per_second: Option<u32>,
    pub quota_per_minute: Option<u32>,
    /// Currency codes enabled on the account (`GET /currencies`); invoices in others are refused.
    pub currencies: Vec<String>,
    /// Used in token values; ids are per account (the simulator holds one account).
    pub account_id: u64,
    /// Time each API request takes before it is handled, like the network and Sellsy's own work (real
    /// calls take a few hundred milliseconds): widens the windows in which concurrent workers race.
    pub latency: std::time::Duration,
    /// When set, each API request takes a time drawn uniformly from `(min, max)` (seeded by `seed`) instead
    /// of `latency`.
    pub latency_range: Option<(std::time::Duration, std::time::Duration)>,
    /// Share (0.0–1.0) of successful invoice creates (`POST /invoices`) answered 503 *after* the invoice
    /// was stored: it exists, the client is told the call failed. See [`SellsySim::commit_then_fail_injected`].
    pub create_commit_then_fail: f64,
    /// The same for the other creates: individuals, companies, contacts, addresses, items.
    pub other_create_commit_then_fail: f64,
    /// Seed of the simulator's random draws (latency in `latency_range`, injected failures).
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            client_id: "sim-client".to_string(),
            client_secret: "sim-secret".to_string(),
            token_ttl_secs: 3600,
            rounding: compute::RoundingMode::PerRow,
            quota_per_second: None,
            quota_per_minute: None,
            currencies: ["EUR", "USD", "GBP", "CHF"]
                .iter()
                .map(|c| c.to_string())
                .collect(),
            account_id: 1,
            latency: std::time::Duration::ZERO,
            latency_range: None,
            create_commit_then_fail: 0.0,
            other_create_commit_then_fail: 0.0,
            seed: 0,
        }
    }
}

/// One API request as the simulator saw it, with its answer. Token requests are not recorded here (see
/// [`SellsySim::token_calls`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord {
    pub method: String,
    /// The HTTP path without query string, including the `/v2` prefix (e.g. `/v2/invoices`).
    pub path: String,
    /// The raw query string, without `?` (`limit=100&offset=WyIxMSJd`); empty when there was none.
    pub query: String,
    /// The request body parsed as JSON; `None` when the request had no body. A body that is not JSON is kept
    /// as a JSON string of its (lossily decoded) text, so that it still shows up, and fails any schema.
    pub body: Option<Value>,
    pub status: u16,
    /// The JSON body of the answer (the error envelope for a failure); `None` for an empty answer.
    pub response: Option<Value>,
}

/// Keys found more than once, with their count (see [`SellsySim::duplicates`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Duplicates {
    /// `order_reference` → invoices carrying it.
    pub invoices: Vec<(String, usize)>,
    /// Lower-cased email → individuals and companies carrying it.
    pub customers: Vec<(String, usize)>,
    /// Item reference → items carrying it.
    pub items: Vec<(String, usize)>,
}

impl Duplicates {
    pub fn is_empty(&self) -> bool {
        self.invoices.is_empty() && self.customers.is_empty() && self.items.is_empty()
    }
}

/// A running simulator bound to `127.0.0.1` on an OS-assigned port. Dropping it stops the server too.
pub struct SellsySim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SellsySim {
    /// Binds `127.0.0.1:0` and serves until [`SellsySim::shutdown`] (or drop).
    pub async fn start(config: SimConfig) -> std::io::Result<SellsySim> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::new(&config)),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            token_ttl_secs: config.token_ttl_secs,
            account_id: config.account_id,
            faults: Mutex::new(faults::Faults::new(&config)),
            origin: format!("http://{addr}"),
        });
        let app = axum::Router::new()
            .fallback(server::handle)
            .with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                // A dropped sender (the handle went away) also stops the server.
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                eprintln!("sim-sellsy: server error: {e}");
            }
        });
        Ok(SellsySim {
            shared,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Base URL of the API, e.g. `http://127.0.0.1:PORT/v2` (no trailing slash).
    pub fn api_url(&self) -> String {
        format!("http://{}/v2", self.addr)
    }

    /// URL of the OAuth token endpoint, e.g. `http://127.0.0.1:PORT/oauth2/access-tokens`.
    pub fn token_url(&self) -> String {
        format!("http://{}/oauth2/access-tokens", self.addr)
    }

    /// Every `/v2` request so far (including rejected ones), in arrival order.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.shared.lock().calls.clone()
    }

    /// Number of requests to the token endpoint (successful or not).
    pub fn token_calls(&self) -> usize {
        self.shared.lock().token_calls
    }

    /// Stored invoices, as `GET /invoices/{id}` returns them, by ascending id.
    pub fn invoices(&self) -> Vec<Value> {
        self.shared
            .lock()
            .invoices
            .values()
            .map(|o| Value::Object(o.clone()))
            .collect()
    }

    /// Stored individuals, as `GET /individuals/{id}` returns them.
    pub fn individuals(&self) -> Vec<Value> {
        self.shared
            .lock()
            .individuals
            .values()
            .map(|o| Value::Object(o.clone()))
            .collect()
    }

    /// Stored companies, as `GET /companies/{id}` returns them.
    pub fn companies(&self) -> Vec<Value> {
        self.shared
            .lock()
            .companies
            .values()
            .map(|o| Value::Object(o.clone()))
            .collect()
    }

    /// Catalog items of every type, as `GET /items/{id}` returns them.
    pub fn items(&self) -> Vec<Value> {
        self.shared
            .lock()
            .items
            .values()
            .map(|i| Value::Object(i.json.clone()))
            .collect()
    }

    /// The next `n` API calls answer `status` with the error envelope (a 429 also carries `Retry-After: 1`).
    /// Quota is consumed and the calls are recorded as usual.
    pub fn fail_next(&self, n: usize, status: u16) {
        let mut st = self.shared.lock();
        st.fail_queue.extend(std::iter::repeat_n(status, n));
    }

    /// The path of every create answered 503 after it was committed (see
    /// [`SimConfig::create_commit_then_fail`]), in order.
    pub fn commit_then_fail_injected(&self) -> Vec<String> {
        self.shared.faults().injected.clone()
    }

    /// What exists more than once where a connector must create at most one: invoices per
    /// `order_reference`, customers (individuals and companies) per lower-cased email, items per reference.
    pub fn duplicates(&self) -> Duplicates {
        fn more_than_once<'a>(keys: impl Iterator<Item = String> + 'a) -> Vec<(String, usize)> {
            let mut counts = std::collections::BTreeMap::<String, usize>::new();
            for k in keys.filter(|k| !k.is_empty()) {
                *counts.entry(k).or_default() += 1;
            }
            counts.into_iter().filter(|(_, n)| *n > 1).collect()
        }
        let st = self.shared.lock();
        let text = |o: &serde_json::Map<String, Value>, k: &str| {
            o.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Duplicates {
            invoices: more_than_once(st.invoices.values().map(|o| text(o, "order_reference"))),
            customers: more_than_once(
                st.individuals
                    .values()
                    .chain(st.companies.values())
                    .map(|o| text(o, "email").to_lowercase()),
            ),
            items: more_than_once(st.items.values().map(|i| text(&i.json, "reference"))),
        }
    }

    /// Switches the tax rounding used for invoices created or computed from now on.
    pub fn set_rounding(&self, mode: compute::RoundingMode) {
        self.shared.lock().rounding = mode;
    }

    /// Adds a `product` priced `price_excl_tax` (excluding tax) whose default tax is an active, compliant tax
    /// of `tax_rate` % (created if the account has none; 0 % maps to the `E` exemption tax). Returns its id.
    pub fn add_item(
        &self,
        reference: &str,
        name: &str,
        price_excl_tax: Decimal,
        tax_rate: Decimal,
    ) -> u64 {
        self.shared
            .lock()
            .add_item("product", reference, name, price_excl_tax, tax_rate)
    }

    /// Adds a `service` item (same rules as [`SellsySim::add_item`]).
    pub fn add_service(
        &self,
        reference: &str,
        name: &str,
        price_excl_tax: Decimal,
        tax_rate: Decimal,
    ) -> u64 {
        self.shared
            .lock()
            .add_item("service", reference, name, price_excl_tax, tax_rate)
    }

    /// Adds a `shipping` item, needed by `shipping` rows (API v2 cannot create one).
    pub fn add_shipping_item(
        &self,
        reference: &str,
        name: &str,
        price_excl_tax: Decimal,
        tax_rate: Decimal,
    ) -> u64 {
        self.shared
            .lock()
            .add_item("shipping", reference, name, price_excl_tax, tax_rate)
    }

    /// Adds a `packaging` item, needed by `packaging` rows (API v2 cannot create one).
    pub fn add_packaging_item(
        &self,
        reference: &str,
        name: &str,
        price_excl_tax: Decimal,
        tax_rate: Decimal,
    ) -> u64 {
        self.shared
            .lock()
            .add_item("packaging", reference, name, price_excl_tax, tax_rate)
    }

    /// Adds a declination (variant) to an item, inheriting its price and tax, and marks the item declined.
    /// Returns the declination id.
    ///
    /// # Panics
    /// If `item_id` is not an item of this simulator — a mistake in the calling test, not in the client.
    pub fn add_declination(&self, item_id: u64, reference: &str, name: &str) -> u64 {
        let mut st = self.shared.lock();
        let Some((price, tax_id, currency)) = st.items.get(&item_id).map(|i| {
            let currency = i.json.get("currency").cloned().unwrap_or(Value::Null);
            (i.price_excl, i.tax_id, currency)
        }) else {
            panic!("sim-sellsy: add_declination on unknown item {item_id}");
        };
        let id = st.next_id(Seq::Declination);
        let json = json!({
            "id": id, "name": name, "reference": reference, "item_id": item_id, "tax_id": tax_id,
            // No `purchase_amount`: it has none, and the spec types it without `nullable`.
            "description": name, "is_name_included_in_description": false,
            "currency": currency, "reference_price_taxes_exc": store::money(price), "is_einvoicing_compliant": true,
        });
        let json = match json {
            Value::Object(o) => o,
            _ => serde_json::Map::new(),
        };
        st.declinations.insert(
            id,
            Declination {
                item_id,
                price_excl: price,
                tax_id,
                json,
            },
        );
        if let Some(item) = st.items.get_mut(&item_id) {
            item.json.insert("is_declined".into(), json!(true));
        }
        id
    }

    /// Invalidates every token issued so far: the next API call using one answers 401.
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for expiry in self.shared.lock().tokens.values_mut() {
            *expiry = now;
        }
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SellsySim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
