//! The converter: one queued event → the connector's documents, exactly once, then the links written
//! back to the order.
//!
//! Idempotency is decided here and only here, with the store's claims:
//!
//! 1. **Already handled?** Every document created and linked: skipped from the record alone (our own
//!    meta write-back fires an `order.updated`).
//! 2. **Fresh state.** The order is fetched from the [`Shop`]; the webhook payload decides nothing
//!    (payloads are built late, arrive out of order, and can be replayed with any date).
//! 3. **Eligible, not stale?** Only paid orders get documents (see `woosellsy_mapping::eligibility`); a
//!    version that already ended in a permanent error is not retried. See [`decision`].
//! 4. **Plan** (pure mapping, totals checked). A mapping error is permanent: the order goes to an error
//!    state with the reason, and nothing is created.
//! 5. **Claim** `(connector, order, kind)` with a lease before calling the backend ([`claims`]). A live
//!    claim held by someone else → retry later. A claim whose holder died (lease expired, no outcome) →
//!    look for the document in the backend first, create only if it is not there.
//! 6. **Record** the created document on the claim, then **write the links** into the order meta
//!    ([`writeback`]); the order's state is kept by [`record`].
//!
//! Keys refused by WooCommerce or Sellsy are the connector's condition, not the order's: the event is
//! retried later ([`Outcome::Refused`]) and nothing is stamped on the order ([`clients`]).

mod claims;
mod clients;
pub mod decision;
mod locks;
mod memo;
mod record;
mod writeback;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;
use tracing::{Instrument, info, info_span, warn};
use woocommerce::Order;
use woosellsy_domain::{ClaimKey, DocumentKind};
use woosellsy_mapping::plan_document;
use woosellsy_ports::{
    BackendFactory, ConnectorIdCache, DocumentRef, OrderRecord, OrderState, PortError, QueuedEvent,
    SecretStore, ShopFactory, Store,
};

use clients::{ClientCache, ConnectorClients};
use decision::{Decision, already_done, decide};
use memo::EventIdCache;
use writeback::{fill_parent_skus, link_meta};

#[derive(Debug, Clone)]
pub struct ConverterSettings {
    /// How long a claim protects a document being created. Longer than the slowest create (Sellsy
    /// retries included), short enough that a crashed worker's order is recovered soon.
    pub lease: Duration,
    /// Identifies this worker in claims (host + process + random).
    pub worker_id: String,
    /// How long an event waits for another worker's creations on the same connector before it is
    /// retried through the queue instead.
    pub lease_wait: Duration,
    /// The longest one create (or search) may take, the backend's own retries included: past it the
    /// outcome is unknown and the claim is left to end with its lease.
    pub create_budget: Duration,
}

/// Time a claim outlives the longest create it guards: recording the document, a slow store.
pub const LEASE_MARGIN: Duration = Duration::from_secs(30);

impl Default for ConverterSettings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(120),
            worker_id: default_worker_id(),
            lease_wait: Duration::from_secs(5),
            create_budget: Duration::from_secs(45),
        }
    }
}

impl ConverterSettings {
    /// Refuses settings under which a claim could end while the create it guards still runs: another
    /// worker would then take the claim over and create the document again.
    pub fn check(&self) -> Result<(), String> {
        let margin = LEASE_MARGIN.min(self.create_budget);
        if self.lease < self.create_budget + margin {
            return Err(format!(
                "the claim lease ({} ms) must exceed the create budget ({} ms) by at least {} ms",
                self.lease.as_millis(),
                self.create_budget.as_millis(),
                margin.as_millis()
            ));
        }
        Ok(())
    }

    /// Settings for a claim `lease`: the create budget follows from it (half of it, at most the
    /// default), so that the pair always passes [`Self::check`].
    pub fn with_lease(lease: Duration) -> Self {
        let default = Self::default();
        Self {
            lease,
            create_budget: default.create_budget.min(lease / 2),
            ..default
        }
    }
}

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
    pub shops: Arc<dyn ShopFactory>,
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
    /// WooCommerce or Sellsy refused the connector's keys: process the same event again once new keys
    /// may have been read (a long backoff). Nothing was created and nothing is recorded on the order.
    Refused { reason: String },
    /// A permanent failure, already recorded in the order's error state: do not retry.
    Failed { reason: String },
}

impl Outcome {
    /// A port failure that was not recorded on the order: transient and refused keys are retried, a
    /// permanent one is final.
    pub fn from_port(e: PortError) -> Outcome {
        match e {
            PortError::Transient {
                message,
                retry_after,
            } => Outcome::Retry {
                reason: message,
                after: retry_after,
            },
            PortError::Unauthorized { message } => Outcome::Refused { reason: message },
            PortError::Permanent { message } => Outcome::Failed { reason: message },
        }
    }
}

pub struct Converter {
    deps: ConverterDeps,
    clients: ClientCache,
}

impl Converter {
    pub fn new(deps: ConverterDeps) -> Self {
        Self {
            deps,
            clients: ClientCache::new(),
        }
    }

    /// API calls the accounting backend of `connector` made so far in this process.
    pub fn backend_calls(&self, connector: &str) -> u64 {
        self.clients
            .existing(connector)
            .map(|c| c.backend.calls_made())
            .unwrap_or(0)
    }

    /// [`Self::process`] in a task of its own, so that a panic (a bug met on some external data) is an
    /// attempt that failed, settled and in the end dead-lettered like any other, instead of a message
    /// that is never settled and comes back forever.
    pub async fn process_guarded(
        self: &Arc<Self>,
        event: &QueuedEvent,
        deadline: Option<Instant>,
    ) -> Outcome {
        let converter = Arc::clone(self);
        let owned = event.clone();
        match tokio::spawn(async move { converter.process_until(&owned, deadline).await }).await {
            Ok(outcome) => outcome,
            Err(e) => {
                let what = match e.try_into_panic() {
                    Ok(payload) => payload
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "no message".to_owned()),
                    Err(e) => e.to_string(),
                };
                tracing::error!(connector = %event.connector, order_id = %event.order, panic = %what, "the conversion panicked");
                Outcome::Retry {
                    reason: format!("the conversion panicked: {what}"),
                    after: None,
                }
            }
        }
    }

    /// Processes one event. Every failure is classified; see [`Self::process_guarded`] for panics.
    pub async fn process(&self, event: &QueuedEvent) -> Outcome {
        self.process_until(event, None).await
    }

    /// [`Self::process`], finished by `deadline` (a Lambda invocation's end): no create starts that
    /// could not end before it, and no wait goes past it.
    pub async fn process_until(&self, event: &QueuedEvent, deadline: Option<Instant>) -> Outcome {
        let span = info_span!(
            "convert",
            connector = %event.connector,
            order_id = %event.order,
            delivery_id = event.delivery_id.as_deref().unwrap_or(""),
            topic = %event.topic,
        );
        let outcome = self
            .process_inner(event, deadline)
            .instrument(span.clone())
            .await;
        let _guard = span.enter();
        match &outcome {
            Outcome::Done { documents } => {
                info!(documents = ?documents.iter().map(|d| format!("{}:{}", d.kind, d.id)).collect::<Vec<_>>(), "order converted")
            }
            Outcome::Skipped { reason } => info!(%reason, "event skipped"),
            Outcome::Retry { reason, .. } => warn!(%reason, "will retry"),
            // Said once per connector by the client cache, not once per order.
            Outcome::Refused { .. } => {}
            Outcome::Failed { reason } => warn!(%reason, "order failed"),
        }
        outcome
    }

    async fn process_inner(&self, event: &QueuedEvent, deadline: Option<Instant>) -> Outcome {
        let clients = match self
            .clients
            .get(
                &event.connector,
                self.deps.store.as_ref(),
                self.deps.secrets.as_ref(),
                self.deps.shops.as_ref(),
                self.deps.backends.as_ref(),
            )
            .await
        {
            Ok(c) => c,
            Err(outcome) => return outcome,
        };
        let outcome = self.convert(event, &clients, deadline).await;
        match &outcome {
            Outcome::Refused { reason } => self
                .clients
                .note_keys(&event.connector, Some(&PortError::unauthorized(reason))),
            Outcome::Done { .. } | Outcome::Skipped { .. } => {
                self.clients.note_keys(&event.connector, None)
            }
            _ => {}
        }
        outcome
    }

    async fn convert(
        &self,
        event: &QueuedEvent,
        clients: &ConnectorClients,
        deadline: Option<Instant>,
    ) -> Outcome {
        let store = &self.deps.store;
        let shop = clients.shop.as_ref();
        let wanted = &clients.settings.documents;

        let record = match store.get_order(&event.connector, event.order).await {
            Ok(r) => r,
            Err(e) => return Outcome::from_port(e),
        };
        if let Some(reason) = already_done(record.as_ref(), wanted) {
            return Outcome::Skipped { reason };
        }
        // Decided on the order as WooCommerce has it now, never on the payload: a payload may be partial
        // (built late), stale (delivered out of order), or replayed with any date.
        let mut order = match shop.order(event.order).await {
            Ok(order) => order,
            Err(e) => {
                return self
                    .shop_failure(event, "could not fetch the order", e)
                    .await;
            }
        };
        let missing = match self.needs_work(event, &record, &order, wanted).await {
            Ok(missing) => missing,
            Err(done) => return done,
        };

        let stored = ConnectorIdCache {
            store: store.clone(),
            connector: event.connector.clone(),
        };
        let cache = EventIdCache::new(&stored);
        let mut documents = record
            .as_ref()
            .map(|r| r.documents.clone())
            .unwrap_or_default();
        // Only a document still to create needs the parents' SKUs; a retry that only writes links does not.
        if !missing.is_empty()
            && let Err(e) = fill_parent_skus(shop, &cache, &mut order).await
        {
            return self
                .shop_failure(event, "could not read a variation's parent product", e)
                .await;
        }
        for kind in missing {
            let planned = match plan_document(&order, &clients.settings, kind) {
                Ok(p) => p,
                Err(e) => {
                    let reason = format!("{kind} not created: {e}");
                    return self
                        .finish_failed(event, clients, record, &order, documents, reason)
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
                .create_alone(clients, &key, &planned.plan, &cache, deadline)
                .await
            {
                Ok(doc) => doc,
                Err(PortError::Permanent { message }) => {
                    let reason = format!("{kind} not created: {message}");
                    return self
                        .finish_failed(event, clients, record, &order, documents, reason)
                        .await;
                }
                Err(e) => return Outcome::from_port(e),
            };
            documents.insert(kind, doc);
        }
        self.write_links(event, clients, &order, documents).await
    }

    /// The documents `order` still needs, or the outcome that ends the event (already handled, stale, or
    /// not eligible, the last recorded so that older events become stale).
    async fn needs_work(
        &self,
        event: &QueuedEvent,
        record: &Option<OrderRecord>,
        order: &Order,
        wanted: &[DocumentKind],
    ) -> Result<Vec<DocumentKind>, Outcome> {
        match decide(record.as_ref(), order, wanted) {
            Decision::AlreadyHandled(reason) | Decision::Stale(reason) => {
                Err(Outcome::Skipped { reason })
            }
            Decision::NotEligible(reason) => Err(self
                .finish_skipped(event, record.clone(), order.date_modified_gmt, reason)
                .await),
            Decision::Convert { missing } => Ok(missing),
        }
    }

    /// Links back into the order, then the order recorded as done. Our own write fires an
    /// `order.updated`; recording the version it produced makes that event a no-op.
    async fn write_links(
        &self,
        event: &QueuedEvent,
        clients: &ConnectorClients,
        order: &Order,
        documents: std::collections::BTreeMap<DocumentKind, DocumentRef>,
    ) -> Outcome {
        let mut meta = link_meta(&documents);
        // `null` deletes the key: clears an error written by an earlier failed attempt.
        meta.push(("woosellsy.error".to_owned(), serde_json::Value::Null));
        let written = match clients.shop.write_order_meta(event.order, &meta).await {
            Ok(updated) => updated,
            Err(e) => {
                // The documents exist and are recorded on their claims: a retry only writes links.
                return self
                    .shop_failure(
                        event,
                        "documents created, writing links to the order failed",
                        e,
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
        if let Err(e) = self.deps.store.put_order(&record).await {
            return Outcome::from_port(e);
        }
        Outcome::Done {
            documents: documents.into_values().collect(),
        }
    }
}
