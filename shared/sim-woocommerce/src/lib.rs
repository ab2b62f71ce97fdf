//! A WordPress + WooCommerce stand-in for woosellsy's tests and `woosellsy demo`.
//!
//! [`WooSim`] serves a subset of the REST API v3 on `127.0.0.1` (orders, products and variations,
//! webhooks, system status) behind WooCommerce's own authentication rules, and sends webhook
//! deliveries the way `WC_Webhook` does: PHP-encoded bodies built from the resource's state at delivery
//! time, signed with the webhook secret, queued and coalesced like Action Scheduler, never retried,
//! and disabling the webhook after too many consecutive failures. The behaviour follows the project's
//! WooCommerce reference (webhook delivery, REST, auth and error formats), not the connector's client.
//!
//! Deliberate differences from a real store: delivery URLs on loopback and any port are allowed
//! (`wp_safe_remote_request` would refuse them), order totals are never recalculated, and the site
//! timezone is a fixed UTC+2 ([`SITE_UTC_OFFSET_SECS`]).

mod auth;
mod delivery;
mod hooks;
mod model;
mod php;
mod rest;
mod store;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

pub use model::{DeliveryRecord, HttpRequest, RestWrite, WebhookInfo, WebhookStatus};
pub use store::SITE_UTC_OFFSET_SECS;

use store::{Job, State};

/// The WordPress version the simulated store reports (User-Agent, system status).
pub const WP_VERSION: &str = "6.8.1";

/// How the simulated store is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WooSimConfig {
    /// The single API key (`read_write`); default `ck_sim`.
    pub consumer_key: String,
    /// Default `cs_sim`.
    pub consumer_secret: String,
    /// `false` (default): plain HTTP, so only OAuth 1.0a authenticates and Basic is ignored, as
    /// WooCommerce does. `true`: behave as behind HTTPS (Basic or `?consumer_key=&consumer_secret=`).
    pub is_ssl: bool,
    /// Reported in the User-Agent, order `version` and system status; default `9.8.5`.
    pub wc_version: String,
    /// `woocommerce_max_webhook_delivery_failures`, default 5: the 7th consecutive failure disables.
    pub max_delivery_failures: u32,
    /// `false` (default): pretty permalinks, the REST API answers under `/wp-json/…` and also as
    /// `/index.php?rest_route=/…` (or `/?rest_route=/…`), as on any WordPress. `true`: *plain*
    /// permalinks (a fresh install's default): `/wp-json/…` is a web server 404 HTML page and only the
    /// `rest_route` form reaches the API; pagination links use that form too.
    pub plain_permalinks: bool,
}

impl Default for WooSimConfig {
    fn default() -> Self {
        WooSimConfig {
            consumer_key: "ck_sim".into(),
            consumer_secret: "cs_sim".into(),
            is_ssl: false,
            wc_version: "9.8.5".into(),
            max_delivery_failures: 5,
            plain_permalinks: false,
        }
    }
}

/// Shared between the handle, the REST server and the delivery worker.
pub(crate) struct Inner {
    pub config: WooSimConfig,
    /// `home_url()` without the trailing slash, e.g. `http://127.0.0.1:41234`.
    pub home: String,
    /// `127.0.0.1:41234`, what OAuth base strings are built on.
    pub host: String,
    state: Mutex<State>,
    /// Wakes the worker when jobs are queued.
    pub wake: Notify,
    /// Signalled when the last outstanding job is done.
    pub idle: Notify,
    pub http: reqwest::Client,
    pub ping_http: reqwest::Client,
    /// Stands in for the site's auth salt in `wp_hash()`.
    pub salt: [u8; 32],
}

impl Inner {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-written in a way that matters
        // to a test double, so keep serving rather than cascade the panic.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn user_agent(&self) -> String {
        format!(
            "WooCommerce/{} Hookshot (WordPress/{WP_VERSION})",
            self.config.wc_version
        )
    }

    /// Call after queueing jobs (with the state lock released).
    pub fn jobs_added(&self, added: u64) {
        if added > 0 {
            self.wake.notify_one();
        }
    }

    fn fire(&self, calls: &[store::HookCall]) {
        let added = self.lock().enqueue(calls);
        self.jobs_added(added);
    }
}

/// A running simulated store. Dropping it stops the server and the delivery worker.
pub struct WooSim {
    inner: Arc<Inner>,
    server: Option<JoinHandle<()>>,
    worker: Option<JoinHandle<()>>,
    stop: Option<oneshot::Sender<()>>,
}

impl WooSim {
    /// Starts the REST server on `127.0.0.1` with an OS-assigned port, and the delivery worker.
    pub async fn start(config: WooSimConfig) -> std::io::Result<WooSim> {
        // reqwest is built without a default crypto provider; another component may have installed
        // one already, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let host = addr.to_string();
        let home = format!("http://{host}");
        let http = delivery::delivery_client().map_err(std::io::Error::other)?;
        let ping_http = delivery::ping_client().map_err(std::io::Error::other)?;
        let salt: [u8; 32] = rand::random();
        let inner = Arc::new(Inner {
            state: Mutex::new(State::new(home.clone(), config.wc_version.clone())),
            config,
            home,
            host,
            wake: Notify::new(),
            idle: Notify::new(),
            http,
            ping_http,
            salt,
        });
        let app = rest::router(inner.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "WooCommerce simulator server stopped");
            }
        });
        let worker = tokio::spawn(delivery::worker(inner.clone()));
        Ok(WooSim {
            inner,
            server: Some(server),
            worker: Some(worker),
            stop: Some(stop),
        })
    }

    /// The store's home URL without trailing slash, e.g. `http://127.0.0.1:41234`; the REST API is
    /// under `{url}/wp-json/wc/v3` (pretty permalinks) and `{url}/index.php?rest_route=/wc/v3`.
    pub fn url(&self) -> String {
        self.inner.home.clone()
    }

    /// The API key configured for this store.
    pub fn config(&self) -> &WooSimConfig {
        &self.inner.config
    }

    /// Adds a product (or, with `"type":"variation"` and `parent_id`, a variation) and returns its
    /// id, assigning one if missing. Fires `product.created`.
    pub fn add_product(&self, product: serde_json::Value) -> u64 {
        let (id, calls) = self.inner.lock().add_product(product);
        self.inner.fire(&calls);
        id
    }

    /// A product in its `GET /products/{id}` shape.
    pub fn product(&self, id: u64) -> Option<serde_json::Value> {
        self.inner.lock().render_product(id, false)
    }

    /// Inserts an order (a fixture or a hand-written one), filling id, number, order_key and dates
    /// when missing; `date_modified` is now. Fires `order.created` unless the status is a draft one
    /// (`checkout-draft` orders get it when they leave that status, as WooCommerce ≥ 9.0 does).
    pub fn create_order(&self, order: serde_json::Value) -> u64 {
        let (id, calls) = self.inner.lock().create_order(order);
        self.inner.fire(&calls);
        id
    }

    /// Merges `patch` into the order (top-level fields; `billing`/`shipping` merged; `meta_data`
    /// upserted by key like WooCommerce), moves `date_modified` forward by at least one second and
    /// fires `order.updated` (plus status hooks). Unknown ids are ignored.
    pub fn update_order(&self, id: u64, patch: serde_json::Value) {
        let calls = self.inner.lock().update_order(id, patch);
        match calls {
            Some(calls) => self.inner.fire(&calls),
            None => tracing::warn!(order_id = id, "update_order: no such order"),
        }
    }

    /// Moves an order to the trash (fires `order.deleted` with `{"id":N}`). False if unknown or
    /// already trashed.
    pub fn trash_order(&self, id: u64) -> bool {
        let calls = self.inner.lock().trash_order(id);
        calls.map(|c| self.inner.fire(&c)).is_some()
    }

    /// Restores a trashed order (fires `order.restored`). False if it was not in the trash.
    pub fn restore_order(&self, id: u64) -> bool {
        let calls = self.inner.lock().restore_order(id);
        calls.map(|c| self.inner.fire(&c)).is_some()
    }

    /// The order as `GET /orders/{id}` returns it, `_links` included.
    pub fn order(&self, id: u64) -> Option<serde_json::Value> {
        self.inner.lock().render_order(id)
    }

    /// Creates a webhook like `POST /webhooks` does: always `active`, then the ping (awaited; its
    /// result only sets `pending_delivery`). An empty secret gets a random 50-character one.
    pub async fn create_webhook(
        &self,
        name: &str,
        topic: &str,
        delivery_url: &str,
        secret: &str,
    ) -> u64 {
        let secret = if secret.is_empty() {
            store::generate_secret()
        } else {
            secret.to_owned()
        };
        let id = self
            .inner
            .lock()
            .create_webhook(name, topic, delivery_url, &secret);
        delivery::ping(&self.inner, id).await;
        id
    }

    /// Changes a webhook's status as an admin would; saving an active webhook that still waits for
    /// a successful ping pings again. Does not reset `failure_count` (WooCommerce does not either).
    pub async fn set_webhook_status(&self, id: u64, status: WebhookStatus) -> bool {
        let ping = {
            let mut st = self.inner.lock();
            let Some(w) = st.webhooks.get_mut(&id) else {
                return false;
            };
            w.status = status;
            status == WebhookStatus::Active && w.pending_delivery
        };
        if ping {
            delivery::ping(&self.inner, id).await;
        }
        true
    }

    /// All webhooks, by id.
    pub fn webhooks(&self) -> Vec<WebhookInfo> {
        self.inner
            .lock()
            .webhooks
            .values()
            .map(store::Webhook::info)
            .collect()
    }

    /// One delivery of `resource_id`'s current state to the webhook right now, outside the queue (as
    /// an admin re-running the scheduled action would; the webhook's status is not checked, just as
    /// `deliver()` does not). Failure counting applies. Tests use it to produce duplicates.
    pub async fn deliver(&self, webhook_id: u64, order_id: u64) -> DeliveryRecord {
        let job = Job {
            webhook_id,
            arg: order_id,
        };
        match delivery::deliver(&self.inner, job, true).await {
            Some(record) => record,
            None => DeliveryRecord {
                webhook_id,
                topic: String::new(),
                ping: false,
                resource_id: Some(order_id),
                delivery_id: String::new(),
                status: 0,
                ok: false,
                body: String::new(),
                signature: None,
                error: Some(format!("webhook {webhook_id} does not exist")),
            },
        }
    }

    /// Waits until every queued delivery (and any ping it triggers) has been sent, including jobs
    /// queued meanwhile, e.g. by the connector's own write-backs.
    pub async fn settle(&self) {
        loop {
            let idle = self.inner.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.inner.lock().outstanding == 0 {
                return;
            }
            idle.await;
        }
    }

    /// Every delivery attempt so far, pings included, in the order they completed.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.inner.lock().deliveries.clone()
    }

    /// Every write (POST/PUT/PATCH/DELETE) received on the `wc/v3` REST routes (in either URL form),
    /// whatever its outcome.
    pub fn rest_writes(&self) -> Vec<RestWrite> {
        self.inner.lock().rest_writes.clone()
    }

    /// The HTTP requests the site received, oldest first (REST or not, whatever the answer; the
    /// latest 10 000).
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.inner.lock().requests.iter().cloned().collect()
    }

    /// Stops the server (letting in-flight requests finish) and the delivery worker.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(worker) = self.worker.take() {
            worker.abort();
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for WooSim {
    fn drop(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.abort();
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}
