//! The ports of woosellsy (hexagonal architecture): what the receiver and the converter need from the
//! outside world, as traits, with the records that cross them.
//!
//! * [`Store`]: connector settings, per-order state, claims (the one place idempotency is decided) and
//!   the id mappings that make a returning customer cost no search. Implemented on SQLite (one machine)
//!   and DynamoDB (AWS). Every write that decides something is conditional, so both fit.
//! * [`Queue`] / [`PullQueue`]: durable hand-off from the receiver to the converter, grouped per order
//!   (SQS FIFO message groups on AWS).
//! * [`SecretStore`]: connector keys.
//! * [`Shop`]: the merchant's WooCommerce (orders read, links written back, products).
//! * [`AccountingBackend`]: turns a [`woosellsy_domain::DocumentPlan`] into a document (Sellsy today).
//!
//! One error type, [`PortError`], says the only thing the caller must decide on: retry or give up.

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "memory")]
pub mod memory;
mod shop;

#[cfg(feature = "memory")]
pub use memory::MemoryStore;
pub use shop::{Shop, ShopFactory};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use woosellsy_domain::{
    ClaimKey, ConnectorId, ConnectorSecrets, ConnectorSettings, DocumentKind, DocumentPlan, OrderId,
};

/// Why a port call failed, classified by what the caller should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// Worth retrying later (5xx, 429, timeouts, a store briefly unavailable, a lease held by another worker).
    #[error("temporarily unavailable: {message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Retrying the same input will fail the same way (validation, missing configuration, bad data).
    #[error("{message}")]
    Permanent { message: String },
    /// The external system refused the connector's credentials (keys revoked, or rotated and not yet
    /// seen here). A condition of the connector, not of the order: the caller retries with a long
    /// backoff and never records it as the order's error, so the orders of a key rotation's window
    /// are converted once the new keys are read. Nothing was created.
    #[error("credentials refused: {message}")]
    Unauthorized { message: String },
}

impl PortError {
    pub fn transient(message: impl Into<String>) -> Self {
        PortError::Transient {
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        PortError::Permanent {
            message: message.into(),
        }
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        PortError::Unauthorized {
            message: message.into(),
        }
    }
    pub fn is_transient(&self) -> bool {
        matches!(self, PortError::Transient { .. })
    }
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, PortError::Unauthorized { .. })
    }
    /// The same error, its message prefixed with what the caller was doing.
    pub fn context(self, what: &str) -> Self {
        match self {
            PortError::Transient {
                message,
                retry_after,
            } => PortError::Transient {
                message: format!("{what}: {message}"),
                retry_after,
            },
            PortError::Permanent { message } => PortError::Permanent {
                message: format!("{what}: {message}"),
            },
            PortError::Unauthorized { message } => PortError::Unauthorized {
                message: format!("{what}: {message}"),
            },
        }
    }
}

pub type PortResult<T> = Result<T, PortError>;

/// How long a cached id is trusted, in every store, before the backend looks it up again (an id the
/// merchant deleted or merged also heals at once when the backend refuses it).
pub const DEFAULT_ID_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// A document that exists in the accounting system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRef {
    pub kind: DocumentKind,
    /// The backend's id (Sellsy: the integer id, as text).
    pub id: String,
    /// Document number when the backend assigned one (drafts may have none).
    pub number: Option<String>,
    /// Link a customer or the merchant can open (Sellsy: the public link).
    pub url: Option<String>,
    /// Set when the backend created the document but the backend's own totals for it differ from the
    /// plan's (WooCommerce's): the draft exists and must be checked by hand before it is validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// Where an order stands for one connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OrderState {
    /// Seen, nothing to create (not paid, or a status that gets no document).
    Skipped { reason: String },
    /// All configured documents exist.
    Done,
    /// A permanent error: nothing was created for the failing document; `reason` is for the merchant.
    Error { reason: String },
}

/// Per-order state kept by the converter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    pub connector: ConnectorId,
    pub order: OrderId,
    /// `date_modified_gmt` of the newest order version processed; older events are stale.
    pub last_modified_gmt: Option<NaiveDateTime>,
    pub state: OrderState,
    pub documents: BTreeMap<DocumentKind, DocumentRef>,
    /// The document links are in the order's meta_data.
    pub links_written: bool,
    pub updated_at: DateTime<Utc>,
}

/// The result of trying to claim the right to create one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The caller holds the claim until its lease ends. `recovered` is true when an earlier holder's
    /// lease expired without a recorded outcome: that holder may have created the document before dying,
    /// so the caller must look for it before creating another.
    Acquired { recovered: bool },
    /// Another worker holds a live lease.
    Busy { until: DateTime<Utc> },
    /// The document exists already.
    Done(DocumentRef),
}

/// The result of trying to take a connector-wide lease ([`Store::take_lease`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// The caller holds the lease until `now + lease`.
    Acquired,
    /// Another owner holds it until `until`.
    Held { until: DateTime<Utc> },
}

/// Cached ids in the accounting system, per connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    /// Lower-cased email → customer (e.g. `individual:42`, `company:7`).
    Customer,
    /// SKU → item (e.g. `product:12`, `product:12:declination:3`).
    Item,
    /// Tax (e.g. `rate:20`, `exempt:intra-eu`) → tax id.
    Tax,
    /// Customer + address fingerprint → address id.
    Address,
    /// WooCommerce product id → that product's SKU (the parent of a variation), read by the converter.
    ParentSku,
    /// Anything else a backend wants to remember (e.g. the account's enabled currencies).
    Other,
}

impl IdKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IdKind::Customer => "customer",
            IdKind::Item => "item",
            IdKind::Tax => "tax",
            IdKind::Address => "address",
            IdKind::ParentSku => "parent_sku",
            IdKind::Other => "other",
        }
    }
}

#[async_trait]
pub trait Store: Send + Sync {
    async fn get_connector(&self, id: &ConnectorId) -> PortResult<Option<ConnectorSettings>>;
    async fn put_connector(&self, settings: &ConnectorSettings) -> PortResult<()>;
    async fn list_connectors(&self) -> PortResult<Vec<ConnectorSettings>>;

    async fn get_order(
        &self,
        connector: &ConnectorId,
        order: OrderId,
    ) -> PortResult<Option<OrderRecord>>;
    async fn put_order(&self, record: &OrderRecord) -> PortResult<()>;

    /// Claims `key` for `owner` with a lease ending at `now + lease`. Atomic: of two concurrent callers
    /// at most one gets `Acquired`. An expired, unfinished claim is taken over (`recovered: true`).
    async fn claim(
        &self,
        key: &ClaimKey,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> PortResult<ClaimOutcome>;
    /// Records the created document; from then on `claim` answers `Done`. Fails if `owner` lost the claim.
    async fn complete_claim(
        &self,
        key: &ClaimKey,
        owner: &str,
        document: &DocumentRef,
    ) -> PortResult<()>;
    /// Gives the claim up (nothing was created), so that a retry may take it at once.
    async fn release_claim(&self, key: &ClaimKey, owner: &str) -> PortResult<()>;

    /// Takes the connector-wide lease `name` for `owner` until `now + lease` when it is free, expired or
    /// already `owner`'s. Atomic across processes and containers: of concurrent callers at most one gets
    /// `Acquired`. Used to serialise what claims cannot cover, such as creating a new customer that two
    /// different orders both need.
    async fn take_lease(
        &self,
        connector: &ConnectorId,
        name: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> PortResult<LeaseOutcome>;
    /// Gives the lease up if `owner` still holds it (else does nothing).
    async fn release_lease(
        &self,
        connector: &ConnectorId,
        name: &str,
        owner: &str,
    ) -> PortResult<()>;

    /// The id cached under (`connector`, `kind`, `key`), or `None` when there is none or it has expired:
    /// an entry is trusted for the TTL of the handle that put it ([`DEFAULT_ID_TTL`] by default) and
    /// never after, even while the backend still holds it (DynamoDB deletes expired items days late).
    /// A store keeping expiry in whole seconds may let an id go up to a second early.
    async fn get_cached_id(
        &self,
        connector: &ConnectorId,
        kind: IdKind,
        key: &str,
    ) -> PortResult<Option<String>>;
    /// Caches `value`, replacing any entry (expired or not) under the same key, with a fresh TTL.
    async fn put_cached_id(
        &self,
        connector: &ConnectorId,
        kind: IdKind,
        key: &str,
        value: &str,
    ) -> PortResult<()>;
}

/// Id mappings of one connector, as an accounting backend sees them.
#[async_trait]
pub trait IdCache: Send + Sync {
    async fn get(&self, kind: IdKind, key: &str) -> PortResult<Option<String>>;
    async fn put(&self, kind: IdKind, key: &str, value: &str) -> PortResult<()>;
}

/// A [`Store`] narrowed to one connector's mappings.
pub struct ConnectorIdCache {
    pub store: Arc<dyn Store>,
    pub connector: ConnectorId,
}

#[async_trait]
impl IdCache for ConnectorIdCache {
    async fn get(&self, kind: IdKind, key: &str) -> PortResult<Option<String>> {
        self.store.get_cached_id(&self.connector, kind, key).await
    }
    async fn put(&self, kind: IdKind, key: &str, value: &str) -> PortResult<()> {
        self.store
            .put_cached_id(&self.connector, kind, key, value)
            .await
    }
}

/// A webhook event (or a catch-up pointer) handed from the receiver to the converter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedEvent {
    pub connector: ConnectorId,
    /// e.g. `order.updated`.
    pub topic: String,
    pub order: OrderId,
    /// `X-WC-Webhook-Delivery-ID` (for logs only: it is not unique).
    pub delivery_id: Option<String>,
    pub webhook_id: Option<u64>,
    /// The raw webhook body; `None` for a pointer (body too large for the queue, or a catch-up): the
    /// converter then fetches the order.
    pub body: Option<String>,
    pub received_at: DateTime<Utc>,
}

impl QueuedEvent {
    /// The ordering group: one order is never processed concurrently, and in order.
    pub fn group_key(&self) -> String {
        format!("{}:{}", self.connector, self.order)
    }
}

#[async_trait]
pub trait Queue: Send + Sync {
    /// Durable once it returns `Ok`: the receiver answers 200 only after this.
    async fn enqueue(&self, event: &QueuedEvent) -> PortResult<()>;
}

/// A message taken from a [`PullQueue`], invisible to others until acked, released or its visibility ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub receipt: String,
    pub event: QueuedEvent,
    /// How many times it has been received, this time included.
    pub attempts: u32,
}

/// The pull side of a queue, for the single-machine worker (on AWS the Lambda event source pulls).
#[async_trait]
pub trait PullQueue: Queue {
    /// Up to `max` messages, at most one per group, none from a group that has one in flight.
    async fn receive(&self, max: usize, visibility: Duration) -> PortResult<Vec<Received>>;
    /// Done with it (processed, or recorded as failed).
    async fn ack(&self, receipt: &str) -> PortResult<()>;
    /// Make it visible again after `delay` (transient failure).
    async fn retry_later(&self, receipt: &str, delay: Duration) -> PortResult<()>;
    /// Move it aside after too many attempts, with the reason, for an operator to look at.
    async fn dead_letter(&self, receipt: &str, reason: &str) -> PortResult<()>;
    /// Messages waiting or in flight (not dead-lettered).
    async fn depth(&self) -> PortResult<usize>;
}

/// Connector keys. The converter reads a connector's whole bundle ([`SecretStore::connector_secrets`]);
/// the internet-facing receiver reads only the secrets a webhook may be signed with
/// ([`SecretStore::webhook_secrets`]), which a deployment keeps apart so that the receiver's
/// credentials cannot read the WooCommerce and Sellsy keys.
#[async_trait]
pub trait SecretStore: Send + Sync {
    async fn connector_secrets(&self, id: &ConnectorId) -> PortResult<Option<ConnectorSecrets>>;

    /// The webhook secrets accepted for `id` (current, and the previous one during a rotation).
    /// The default derives them from the bundle (current only), for stores that keep nothing apart
    /// (one machine); a store that keeps them apart overrides it and never reads the bundle here.
    async fn webhook_secrets(
        &self,
        id: &ConnectorId,
    ) -> PortResult<Option<woosellsy_domain::WebhookSecrets>> {
        Ok(self
            .connector_secrets(id)
            .await?
            .map(|s| woosellsy_domain::WebhookSecrets::current_only(s.webhook_secret)))
    }
}

/// An accounting system that documents are created in.
#[async_trait]
pub trait AccountingBackend: Send + Sync {
    /// Resolves the customer, items and taxes (through `cache` first), then creates the document.
    /// Not idempotent: the caller must hold the claim.
    async fn create_document(
        &self,
        plan: &DocumentPlan,
        cache: &dyn IdCache,
    ) -> PortResult<DocumentRef>;
    /// Finds the document of `plan.kind` created earlier for this connector's order (crash recovery, or
    /// a create whose outcome was unknown): by the identity written on it, never by date or customer.
    async fn find_document(
        &self,
        plan: &DocumentPlan,
        cache: &dyn IdCache,
    ) -> PortResult<Option<DocumentRef>>;
    /// API calls made by this backend instance so far (for the demo and logs).
    fn calls_made(&self) -> u64;
}

/// Builds the backend of one connector (keeps token caches and rate limiters per connector).
pub trait BackendFactory: Send + Sync {
    fn backend(
        &self,
        settings: &ConnectorSettings,
        secrets: &ConnectorSecrets,
    ) -> PortResult<Arc<dyn AccountingBackend>>;
}
