//! The converter: one queued event → the connector's documents, exactly once, then the links written
//! back to the order.
//!
//! Idempotency is decided here and only here, with the store's claims:
//!
//! 1. **Stale or already handled?** The order record keeps the newest `date_modified_gmt` processed.
//!    An event for that version or an older one is skipped (WooCommerce delivers the same order several
//!    times, out of order, and our own meta write-back fires an `order.updated`).
//! 2. **Eligible?** Only paid orders get documents (see `woosellsy_mapping::eligibility`).
//! 3. **Fresh state.** The order is fetched again from WooCommerce before planning: webhook payloads
//!    are built late and `order.created` can carry partial line items.
//! 4. **Plan** (pure mapping, totals checked). A mapping error is permanent: the order goes to an error
//!    state with the reason, and nothing is created.
//! 5. **Claim** `(connector, order, kind)` with a lease before calling the backend. A live claim held by
//!    someone else → retry later. A claim whose holder died (lease expired, no outcome) → look for the
//!    document in the backend first, create only if it is not there.
//! 6. **Record** the created document on the claim, then **write the links** into the order meta.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use secrecy::SecretString;
use serde_json::json;
use tracing::{Instrument, info, info_span, warn};
use woocommerce::Order;
use woocommerce::client::{AuthMode, Client as WooClient};
use woosellsy_domain::{
    ClaimKey, ConnectorId, ConnectorSecrets, ConnectorSettings, DocumentKind, WooAuth,
};
use woosellsy_mapping::{Eligibility, plan_document};
use woosellsy_ports::{
    AccountingBackend, BackendFactory, ClaimOutcome, ConnectorMappings, DocumentRef, LeaseOutcome,
    MappingKind, OrderRecord, OrderState, PortError, QueuedEvent, SecretStore, Store,
};

use crate::faults;

#[derive(Debug, Clone)]
pub struct ConverterSettings {
    /// How long a claim protects a document being created. Longer than the slowest create (Sellsy
    /// retries included), short enough that a crashed worker's order is recovered soon.
    pub lease: Duration,
    /// Identifies this worker in claims (host + process + random).
    pub worker_id: String,
}

impl Default for ConverterSettings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(120),
            worker_id: default_worker_id(),
        }
    }
}

/// The connector-wide lease held while creating documents (and the customers and items they need).
pub const CREATE_LEASE: &str = "create";
/// How long an event waits for another worker's creations on the same connector before it is retried
/// through the queue instead. Creating one document takes a second or two; a batch of ten events that
/// all wait this long still fits the converter's 60 s Lambda timeout.
const CREATE_LEASE_WAIT: Duration = Duration::from_secs(5);

pub fn default_worker_id() -> String {
    format!(
        "worker-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

pub struct ConverterDeps {
    pub store: Arc<dyn Store>,
    pub secrets: Arc<dyn SecretStore>,
    pub backends: Arc<dyn BackendFactory>,
    pub settings: ConverterSettings,
}

/// What became of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The documents exist (created now or before) and the links are written.
    Done { documents: Vec<DocumentRef> },
    /// Nothing to do (stale, not paid, already done).
    Skipped { reason: String },
    /// A transient failure: process the same event again later.
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// A permanent failure, already recorded in the order's error state: do not retry.
    Failed { reason: String },
}

struct ConnectorClients {
    settings: ConnectorSettings,
    woo: WooClient,
    backend: Arc<dyn AccountingBackend>,
    /// Serialises document creation per connector in this process; the store's connector lease
    /// ([`CREATE_LEASE`]) does the same across processes and Lambda containers. Claims make each
    /// *order* exactly once, but two orders of the same new customer (or new SKU) created at once would
    /// each create that customer (or item) in Sellsy. The account's rate limit already serialises the
    /// calls, so this costs little throughput.
    create_lock: tokio::sync::Mutex<()>,
}

pub struct Converter {
    deps: ConverterDeps,
    clients: Mutex<HashMap<String, Arc<ConnectorClients>>>,
}

impl Converter {
    pub fn new(deps: ConverterDeps) -> Self {
        Self {
            deps,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// API calls the accounting backend of `connector` made so far in this process.
    pub fn backend_calls(&self, connector: &str) -> u64 {
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(connector)
            .map(|c| c.backend.calls_made())
            .unwrap_or(0)
    }

    /// Processes one event. Never panics; every failure is classified.
    pub async fn process(&self, event: &QueuedEvent) -> Outcome {
        let span = info_span!(
            "convert",
            connector = %event.connector,
            order_id = %event.order,
            delivery_id = event.delivery_id.as_deref().unwrap_or(""),
            topic = %event.topic,
        );
        let outcome = self.process_inner(event).instrument(span.clone()).await;
        let _guard = span.enter();
        match &outcome {
            Outcome::Done { documents } => {
                info!(documents = ?documents.iter().map(|d| format!("{}:{}", d.kind, d.id)).collect::<Vec<_>>(), "order converted")
            }
            Outcome::Skipped { reason } => info!(%reason, "event skipped"),
            Outcome::Retry { reason, .. } => warn!(%reason, "will retry"),
            Outcome::Failed { reason } => warn!(%reason, "order failed"),
        }
        outcome
    }

    async fn process_inner(&self, event: &QueuedEvent) -> Outcome {
        let clients = match self.clients_for(event).await {
            Ok(c) => c,
            Err(outcome) => return outcome,
        };
        let store = &self.deps.store;

        // The payload is what the webhook carried; a pointer (no body) means fetch it.
        let payload = match event
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<Order>(b).ok())
        {
            Some(order) if order.id == event.order.0 => order,
            _ => match clients.woo.get_order(event.order.0).await {
                Ok(order) => order,
                Err(e) => {
                    return self
                        .woo_failure(event, "could not fetch the order", &e)
                        .await;
                }
            },
        };

        let record = match store.get_order(&event.connector, event.order).await {
            Ok(r) => r,
            Err(e) => return port_failure(e),
        };
        if let Some(skip) = already_handled(record.as_ref(), &payload, &clients.settings) {
            return Outcome::Skipped { reason: skip };
        }

        if let Eligibility::Skip { reason } = woosellsy_mapping::eligibility(&payload) {
            return self
                .finish_skipped(event, record, payload.date_modified_gmt, reason)
                .await;
        }

        // Webhook payloads are built late and may be partial: plan from the store's current state.
        let mut order = match clients.woo.get_order(event.order.0).await {
            Ok(order) => order,
            Err(e) => {
                return self
                    .woo_failure(event, "could not fetch the order", &e)
                    .await;
            }
        };
        if let Eligibility::Skip { reason } = woosellsy_mapping::eligibility(&order) {
            return self
                .finish_skipped(event, record, order.date_modified_gmt, reason)
                .await;
        }

        let cache = ConnectorMappings {
            store: store.clone(),
            connector: event.connector.clone(),
        };
        let mut documents = record
            .as_ref()
            .map(|r| r.documents.clone())
            .unwrap_or_default();
        let missing: Vec<DocumentKind> = clients
            .settings
            .documents
            .iter()
            .copied()
            .filter(|kind| !documents.contains_key(kind))
            .collect();
        // Only a document still to create needs the parents' SKUs; a retry that only writes links does not.
        if !missing.is_empty()
            && let Err(e) = fill_parent_skus(&clients.woo, &cache, &mut order).await
        {
            return self
                .woo_failure(event, "could not read a variation's parent product", &e)
                .await;
        }
        for kind in missing {
            let planned = match plan_document(&order, &clients.settings, kind) {
                Ok(p) => p,
                Err(e) => {
                    let reason = format!("{kind} not created: {e}");
                    return self
                        .finish_failed(event, &clients, record, &order, documents, reason)
                        .await;
                }
            };
            for c in &planned.corrections {
                info!(correction = ?c, "rounding correction applied");
            }
            let key = ClaimKey {
                connector: event.connector.clone(),
                order: event.order,
                kind,
            };
            let doc = match self
                .create_alone(&clients, &key, &planned.plan, &cache)
                .await
            {
                Ok(doc) => doc,
                Err(PortError::Permanent { message }) => {
                    let reason = format!("{kind} not created: {message}");
                    return self
                        .finish_failed(event, &clients, record, &order, documents, reason)
                        .await;
                }
                Err(e @ PortError::Transient { .. }) => return port_failure(e),
            };
            documents.insert(kind, doc);
        }

        // Links back into the order. Our own PUT fires an `order.updated`; recording the version it
        // produced makes that event a no-op.
        let mut meta = link_meta(&documents);
        // `null` deletes the key: clears an error written by an earlier failed attempt.
        meta.push(("woosellsy.error".to_owned(), serde_json::Value::Null));
        let written = match clients.woo.update_order_meta(order.id, &meta).await {
            Ok(updated) => updated,
            Err(e) => {
                // The documents exist and are recorded on their claims: a retry only writes links.
                return self
                    .woo_failure(
                        event,
                        "documents created, writing links to the order failed",
                        &e,
                    )
                    .await;
            }
        };
        let record = OrderRecord {
            connector: event.connector.clone(),
            order: event.order,
            last_modified_gmt: written.date_modified_gmt.or(order.date_modified_gmt),
            state: OrderState::Done,
            documents: documents.clone(),
            links_written: true,
            updated_at: Utc::now(),
        };
        if let Err(e) = store.put_order(&record).await {
            return port_failure(e);
        }
        Outcome::Done {
            documents: documents.into_values().collect(),
        }
    }

    /// [`Self::create_once`] while no other task of this process (the lock) nor any other process or
    /// container (the store's lease) creates documents for the same connector.
    async fn create_alone(
        &self,
        clients: &ConnectorClients,
        key: &ClaimKey,
        plan: &woosellsy_domain::DocumentPlan,
        cache: &ConnectorMappings,
    ) -> Result<DocumentRef, PortError> {
        let _one_at_a_time = clients.create_lock.lock().await;
        self.take_create_lease(&key.connector).await?;
        let created = self
            .create_once(key, plan, clients.backend.as_ref(), cache)
            .await;
        self.release_create_lease(&key.connector).await;
        created
    }

    /// Waits (a little) for the connector's create lease; a worker that crashed holding it delays others
    /// by one lease at most.
    async fn take_create_lease(&self, connector: &ConnectorId) -> Result<(), PortError> {
        let store = &self.deps.store;
        let owner = &self.deps.settings.worker_id;
        let deadline = tokio::time::Instant::now() + CREATE_LEASE_WAIT;
        loop {
            let now = Utc::now();
            let until = match store
                .take_lease(
                    connector,
                    CREATE_LEASE,
                    owner,
                    now,
                    self.deps.settings.lease,
                )
                .await?
            {
                LeaseOutcome::Acquired => return Ok(()),
                LeaseOutcome::Held { until } => until,
            };
            let left = (until - now).to_std().unwrap_or_default();
            if tokio::time::Instant::now() >= deadline {
                return Err(PortError::Transient {
                    message: "another worker is creating documents for this connector".to_owned(),
                    retry_after: Some(left.clamp(Duration::from_secs(1), CREATE_LEASE_WAIT)),
                });
            }
            tokio::time::sleep(left.clamp(Duration::from_millis(20), Duration::from_millis(250)))
                .await;
        }
    }

    async fn release_create_lease(&self, connector: &ConnectorId) {
        let owner = &self.deps.settings.worker_id;
        if let Err(e) = self
            .deps
            .store
            .release_lease(connector, CREATE_LEASE, owner)
            .await
        {
            // It expires on its own; until then other workers of this connector wait for it.
            warn!(error = %e, "could not release the create lease");
        }
    }

    /// Creates the document under a claim, or finds the one an earlier, crashed attempt created.
    async fn create_once(
        &self,
        key: &ClaimKey,
        plan: &woosellsy_domain::DocumentPlan,
        backend: &dyn AccountingBackend,
        cache: &ConnectorMappings,
    ) -> Result<DocumentRef, PortError> {
        let store = &self.deps.store;
        let owner = &self.deps.settings.worker_id;
        let outcome = store
            .claim(key, owner, Utc::now(), self.deps.settings.lease)
            .await?;
        let recovered = match outcome {
            ClaimOutcome::Done(doc) => return Ok(doc),
            ClaimOutcome::Busy { until } => {
                let wait = (until - Utc::now()).to_std().unwrap_or_default();
                return Err(PortError::Transient {
                    message: format!("{key} is being created by another worker"),
                    retry_after: Some(wait + Duration::from_secs(1)),
                });
            }
            ClaimOutcome::Acquired { recovered } => recovered,
        };

        if recovered {
            // An earlier holder died after claiming: it may have created the document before dying.
            match backend.find_document(plan, cache).await {
                Ok(Some(doc)) => {
                    info!(document_id = %doc.id, "found the document a crashed attempt created");
                    store.complete_claim(key, owner, &doc).await?;
                    return Ok(doc);
                }
                Ok(None) => {}
                Err(e) => {
                    let _ = store.release_claim(key, owner).await;
                    return Err(e);
                }
            }
        }

        match backend.create_document(plan, cache).await {
            Ok(doc) => {
                faults::crash_point(faults::AFTER_DOCUMENT_CREATE);
                // If this write fails the claim stays in progress; after its lease the next attempt
                // finds the document instead of creating another.
                store.complete_claim(key, owner, &doc).await?;
                info!(document_id = %doc.id, kind = %key.kind, "document created");
                Ok(doc)
            }
            Err(e) => {
                // A failed create may still have reached the backend (a timeout after the write):
                // keep the claim on transient errors so the next attempt searches before creating.
                if !e.is_transient() {
                    let _ = store.release_claim(key, owner).await;
                }
                Err(e)
            }
        }
    }

    async fn clients_for(&self, event: &QueuedEvent) -> Result<Arc<ConnectorClients>, Outcome> {
        let settings = match self.deps.store.get_connector(&event.connector).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                return Err(Outcome::Failed {
                    reason: format!("connector {} is not registered", event.connector),
                });
            }
            Err(e) => return Err(port_failure(e)),
        };
        if let Some(c) = self
            .clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(event.connector.as_str())
            && c.settings == settings
        {
            return Ok(c.clone());
        }
        let secrets = match self.deps.secrets.connector_secrets(&event.connector).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                return Err(Outcome::Failed {
                    reason: format!("connector {} has no secrets configured", event.connector),
                });
            }
            Err(e) => return Err(port_failure(e)),
        };
        let built = Arc::new(build_clients(
            settings,
            &secrets,
            self.deps.backends.as_ref(),
        )?);
        // Two first events may have built clients at once: keep one, so both share its create lock.
        let mut map = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map
            .entry(event.connector.as_str().to_owned())
            .or_insert_with(|| built.clone());
        if entry.settings != built.settings {
            *entry = built;
        }
        Ok(entry.clone())
    }

    async fn finish_skipped(
        &self,
        event: &QueuedEvent,
        record: Option<OrderRecord>,
        modified: Option<NaiveDateTime>,
        reason: String,
    ) -> Outcome {
        let mut record = record.unwrap_or_else(|| empty_record(event));
        // A document created earlier stays the order's state; skipping never hides it.
        if record.documents.is_empty() {
            record.state = OrderState::Skipped {
                reason: reason.clone(),
            };
        }
        record.last_modified_gmt = newest(record.last_modified_gmt, modified);
        record.updated_at = Utc::now();
        if let Err(e) = self.deps.store.put_order(&record).await {
            return port_failure(e);
        }
        Outcome::Skipped { reason }
    }

    /// Records a permanent failure where the merchant sees it: the order record, and the order's own
    /// meta data in WooCommerce (`woosellsy.error`), best effort.
    async fn finish_failed(
        &self,
        event: &QueuedEvent,
        clients: &ConnectorClients,
        record: Option<OrderRecord>,
        order: &Order,
        documents: std::collections::BTreeMap<DocumentKind, DocumentRef>,
        reason: String,
    ) -> Outcome {
        let mut modified = order.date_modified_gmt;
        let mut meta = link_meta(&documents);
        meta.push(("woosellsy.error".to_owned(), json!(reason)));
        match clients.woo.update_order_meta(order.id, &meta).await {
            // Our PUT fires an `order.updated` for this very version: record it so it is not re-tried.
            Ok(updated) => modified = newest(modified, updated.date_modified_gmt),
            Err(e) => warn!(error = %e, "could not write the error into the order meta"),
        }
        if let Err(e) = self
            .save_error(event, record, &reason, modified, Some(documents))
            .await
        {
            return port_failure(e);
        }
        Outcome::Failed { reason }
    }

    async fn woo_failure(
        &self,
        event: &QueuedEvent,
        what: &str,
        e: &woocommerce::client::Error,
    ) -> Outcome {
        let reason = format!("{what}: {e}");
        if e.is_transient() {
            return Outcome::Retry {
                reason,
                after: None,
            };
        }
        // Keys revoked, order deleted…: retrying the same event cannot help; the order shows why.
        self.record_failure(event, &reason).await;
        Outcome::Failed { reason }
    }

    /// Records a permanent failure that happened outside the converter's own flow (e.g. a message
    /// dead-lettered after too many transient failures), so the order shows it.
    pub async fn record_failure(&self, event: &QueuedEvent, reason: &str) {
        let record = self
            .deps
            .store
            .get_order(&event.connector, event.order)
            .await
            .ok()
            .flatten();
        if let Err(e) = self.save_error(event, record, reason, None, None).await {
            warn!(error = %e, "could not record the order's error state");
        }
    }

    /// Puts the order in the error state; `modified` is the newest version the error is about.
    async fn save_error(
        &self,
        event: &QueuedEvent,
        record: Option<OrderRecord>,
        reason: &str,
        modified: Option<NaiveDateTime>,
        documents: Option<std::collections::BTreeMap<DocumentKind, DocumentRef>>,
    ) -> Result<(), PortError> {
        let mut record = record.unwrap_or_else(|| empty_record(event));
        record.state = OrderState::Error {
            reason: reason.to_owned(),
        };
        if let Some(documents) = documents {
            record.documents = documents;
        }
        record.last_modified_gmt = newest(record.last_modified_gmt, modified);
        record.updated_at = Utc::now();
        self.deps.store.put_order(&record).await
    }
}

/// Variations are matched to a declination of their parent's Sellsy item, which is found by the parent's
/// SKU; the order only names the parent's id. One `GET /products/{id}` per variable product, remembered.
async fn fill_parent_skus(
    woo: &WooClient,
    cache: &ConnectorMappings,
    order: &mut Order,
) -> Result<(), woocommerce::client::Error> {
    use woosellsy_ports::MappingCache;
    for item in order
        .line_items
        .iter_mut()
        .filter(|i| i.variation_id != 0 && i.product_id != 0)
    {
        let key = format!("woocommerce-product-sku:{}", item.product_id);
        if let Ok(Some(sku)) = cache.get(MappingKind::Other, &key).await {
            item.parent_sku = Some(sku).filter(|s| !s.is_empty());
            continue;
        }
        let sku = match woo.get_product(item.product_id).await {
            Ok(parent) => parent.sku.trim().to_owned(),
            // The parent is gone: the variation is invoiced under its own SKU.
            Err(e) if !e.is_transient() => String::new(),
            Err(e) => return Err(e),
        };
        let _ = cache.put(MappingKind::Other, &key, &sku).await;
        item.parent_sku = Some(sku).filter(|s| !s.is_empty());
    }
    Ok(())
}

fn build_clients(
    settings: ConnectorSettings,
    secrets: &ConnectorSecrets,
    backends: &dyn BackendFactory,
) -> Result<ConnectorClients, Outcome> {
    let auth = match settings.woocommerce_auth {
        WooAuth::Auto => AuthMode::Auto,
        WooAuth::Basic => AuthMode::Basic,
        WooAuth::Oauth1 => AuthMode::OAuth1,
    };
    let woo = WooClient::new(
        &settings.woocommerce_url,
        SecretString::from(secret_text(&secrets.woocommerce_consumer_key)),
        SecretString::from(secret_text(&secrets.woocommerce_consumer_secret)),
        auth,
    )
    .map_err(|e| Outcome::Failed {
        reason: format!("WooCommerce client for {}: {e}", settings.id),
    })?;
    let backend = backends.backend(&settings, secrets).map_err(|e| match e {
        PortError::Permanent { message } => Outcome::Failed { reason: message },
        PortError::Transient {
            message,
            retry_after,
        } => Outcome::Retry {
            reason: message,
            after: retry_after,
        },
    })?;
    Ok(ConnectorClients {
        settings,
        woo,
        backend,
        create_lock: tokio::sync::Mutex::new(()),
    })
}

fn secret_text(s: &SecretString) -> String {
    use secrecy::ExposeSecret;
    s.expose_secret().to_owned()
}

/// Why an event needs no work, if it needs none.
fn already_handled(
    record: Option<&OrderRecord>,
    payload: &Order,
    settings: &ConnectorSettings,
) -> Option<String> {
    let record = record?;
    let complete = settings
        .documents
        .iter()
        .all(|k| record.documents.contains_key(k));
    if complete && record.links_written {
        return Some("documents already created and linked".to_owned());
    }
    match (record.last_modified_gmt, payload.date_modified_gmt) {
        (Some(seen), Some(this)) if this <= seen && !complete => {
            // Same or older version than one already processed to a final state.
            match record.state {
                OrderState::Skipped { .. } | OrderState::Error { .. } => Some(format!(
                    "stale event: order version {this} is not newer than {seen}, already processed"
                )),
                OrderState::Done => None,
            }
        }
        _ => None,
    }
}

fn link_meta(
    documents: &std::collections::BTreeMap<DocumentKind, DocumentRef>,
) -> Vec<(String, serde_json::Value)> {
    let mut meta = Vec::new();
    for (kind, doc) in documents {
        let prefix = kind.meta_prefix();
        meta.push((format!("{prefix}_id"), json!(doc.id)));
        if let Some(url) = &doc.url {
            meta.push((format!("{prefix}_url"), json!(url)));
        }
        if let Some(number) = &doc.number {
            meta.push((format!("{prefix}_number"), json!(number)));
        }
    }
    // Documents created but not totalling what WooCommerce does: said where the merchant looks.
    let warnings: Vec<&str> = documents
        .values()
        .filter_map(|d| d.warning.as_deref())
        .collect();
    let warning = if warnings.is_empty() {
        serde_json::Value::Null
    } else {
        json!(warnings.join(" "))
    };
    meta.push(("woosellsy.warning".to_owned(), warning));
    meta
}

fn empty_record(event: &QueuedEvent) -> OrderRecord {
    OrderRecord {
        connector: event.connector.clone(),
        order: event.order,
        last_modified_gmt: None,
        state: OrderState::Skipped {
            reason: "not processed yet".to_owned(),
        },
        documents: Default::default(),
        links_written: false,
        updated_at: Utc::now(),
    }
}

fn newest(a: Option<NaiveDateTime>, b: Option<NaiveDateTime>) -> Option<NaiveDateTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn port_failure(e: PortError) -> Outcome {
    match e {
        PortError::Transient {
            message,
            retry_after,
        } => Outcome::Retry {
            reason: message,
            after: retry_after,
        },
        PortError::Permanent { message } => Outcome::Failed { reason: message },
    }
}
