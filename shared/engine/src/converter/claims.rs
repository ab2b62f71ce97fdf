//! Creating one document exactly once: the claim on `(connector, order, kind)` taken before any call to
//! the backend, crash recovery by search, and the connector-wide create lease that keeps two orders of
//! the same new customer (or new item) from both creating it.

use std::time::Duration;

use chrono::Utc;
use tracing::{info, warn};
use woosellsy_domain::{ClaimKey, ConnectorId, DocumentPlan};
use woosellsy_ports::{AccountingBackend, DocumentRef, IdCache, LeaseOutcome, PortError};

use super::Converter;
use super::clients::ConnectorClients;
use super::decision::{ClaimStep, after_claim};
use crate::faults;

/// The connector-wide lease held while creating documents (and the customers and items they need).
pub const CREATE_LEASE: &str = "create";
/// How long an event waits for another worker's creations on the same connector before it is retried
/// through the queue instead. Creating one document takes a second or two; a batch of ten events that
/// all wait this long still fits the converter's 60 s Lambda timeout.
const CREATE_LEASE_WAIT: Duration = Duration::from_secs(5);

impl Converter {
    /// [`Self::create_once`] while no other task of this process (the lock) nor any other process or
    /// container (the store's lease) creates documents for the same connector.
    pub(super) async fn create_alone(
        &self,
        clients: &ConnectorClients,
        key: &ClaimKey,
        plan: &DocumentPlan,
        cache: &dyn IdCache,
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
        plan: &DocumentPlan,
        backend: &dyn AccountingBackend,
        cache: &dyn IdCache,
    ) -> Result<DocumentRef, PortError> {
        let store = &self.deps.store;
        let owner = &self.deps.settings.worker_id;
        let outcome = store
            .claim(key, owner, Utc::now(), self.deps.settings.lease)
            .await?;
        match after_claim(outcome, Utc::now()) {
            ClaimStep::Adopt(doc) => return Ok(doc),
            ClaimStep::Wait { retry_after } => {
                return Err(PortError::Transient {
                    message: format!("{key} is being created by another worker"),
                    retry_after: Some(retry_after),
                });
            }
            ClaimStep::Create => {}
            ClaimStep::SearchThenCreate => match backend.find_document(plan, cache).await {
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
            },
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
                // Refused keys and permanent refusals created nothing.
                if !e.is_transient() {
                    let _ = store.release_claim(key, owner).await;
                }
                Err(e)
            }
        }
    }
}
