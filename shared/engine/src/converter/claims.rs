//! Creating one document exactly once: the claim on `(connector, order, kind)` taken before any call to
//! the backend, crash recovery by search, and the leases on the new customers and items a document
//! needs, so that two orders of the same new customer (or new item) never both create it.

use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;
use tracing::{info, warn};
use woosellsy_domain::{ClaimKey, ConnectorId, DocumentPlan};
use woosellsy_ports::{AccountingBackend, DocumentRef, IdCache, LeaseOutcome, PortError};

use super::Converter;
use super::clients::ConnectorClients;
use super::decision::{ClaimStep, after_claim};
use super::locks;
use crate::faults;

impl Converter {
    /// [`Self::create_once`] while no other task of this process nor any other process or container
    /// creates the same new customer or item (see [`super::locks`]).
    pub(super) async fn create_alone(
        &self,
        clients: &ConnectorClients,
        key: &ClaimKey,
        plan: &DocumentPlan,
        cache: &dyn IdCache,
        deadline: Option<Instant>,
    ) -> Result<DocumentRef, PortError> {
        let names = locks::needed(plan, cache).await?;
        let local = clients.locks.lock_all(&names).await;
        let mut taken = Vec::with_capacity(names.len());
        let mut result = Ok(());
        for name in &names {
            match self.take_create_lease(&key.connector, name, deadline).await {
                Ok(()) => taken.push(name.as_str()),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let created = match result {
            Ok(()) => {
                self.create_within(clients, key, plan, cache, deadline)
                    .await
            }
            Err(e) => Err(e),
        };
        for name in taken {
            self.release_create_lease(&key.connector, name).await;
        }
        clients.locks.unlock_all(local);
        created
    }

    /// [`Self::create_once`] with what is left of the create budget before `deadline`.
    async fn create_within(
        &self,
        clients: &ConnectorClients,
        key: &ClaimKey,
        plan: &DocumentPlan,
        cache: &dyn IdCache,
        deadline: Option<Instant>,
    ) -> Result<DocumentRef, PortError> {
        // What is left for the create itself: the configured budget, or less before a deadline.
        let budget = match deadline {
            Some(d) => self
                .deps
                .settings
                .create_budget
                .min(d.saturating_duration_since(Instant::now())),
            None => self.deps.settings.create_budget,
        };
        if budget < MIN_CREATE_TIME.min(self.deps.settings.create_budget) {
            return Err(PortError::Transient {
                message: "too little time left in this invocation to create a document".to_owned(),
                retry_after: Some(Duration::ZERO),
            });
        }
        self.create_once(key, plan, clients.backend.as_ref(), cache, budget)
            .await
    }

    /// Waits (a little) for the lease `name`; a worker that crashed holding it delays others by one
    /// lease at most.
    async fn take_create_lease(
        &self,
        connector: &ConnectorId,
        name: &str,
        until: Option<Instant>,
    ) -> Result<(), PortError> {
        let store = &self.deps.store;
        let owner = &self.deps.settings.worker_id;
        let waited_enough = Instant::now() + self.deps.settings.lease_wait;
        // Never wait past the invocation's end, nor so long that no create could follow.
        let deadline = match until {
            Some(d) => waited_enough.min(d.checked_sub(MIN_CREATE_TIME).unwrap_or(d)),
            None => waited_enough,
        };
        loop {
            let now = Utc::now();
            let until = match store
                .take_lease(connector, name, owner, now, self.deps.settings.lease)
                .await?
            {
                LeaseOutcome::Acquired => return Ok(()),
                LeaseOutcome::Held { until } => until,
            };
            let left = (until - now).to_std().unwrap_or_default();
            if Instant::now() >= deadline {
                // Back when the holder's lease ends (it may have died holding it): sooner would only
                // spend the message's receives and send it to the dead-letter queue.
                return Err(PortError::Transient {
                    message: format!("another worker holds {name}"),
                    retry_after: Some(left + Duration::from_secs(1)),
                });
            }
            let pause = left
                .clamp(Duration::from_millis(20), Duration::from_millis(250))
                .min(deadline.saturating_duration_since(Instant::now()));
            tokio::time::sleep(pause).await;
        }
    }

    async fn release_create_lease(&self, connector: &ConnectorId, name: &str) {
        let owner = &self.deps.settings.worker_id;
        if let Err(e) = self.deps.store.release_lease(connector, name, owner).await {
            // It expires on its own; until then other workers needing the same name wait for it.
            warn!(error = %e, lease = name, "could not release a create lease");
        }
    }

    /// Creates the document under a claim, or finds the one an earlier, crashed attempt created.
    async fn create_once(
        &self,
        key: &ClaimKey,
        plan: &DocumentPlan,
        backend: &dyn AccountingBackend,
        cache: &dyn IdCache,
        budget: Duration,
    ) -> Result<DocumentRef, PortError> {
        let ends = Instant::now() + budget;
        let store = &self.deps.store;
        let owner = &self.deps.settings.worker_id;
        let lease = self.deps.settings.lease;
        let claimed_at = Utc::now();
        let outcome = store.claim(key, owner, claimed_at, lease).await?;
        // When our claim ends: an uncertain create is retried after it, by whoever takes it then.
        let lease_end =
            claimed_at + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        match after_claim(outcome, Utc::now()) {
            ClaimStep::Adopt(doc) => return Ok(doc),
            ClaimStep::Wait { retry_after } => {
                return Err(PortError::Transient {
                    message: format!("{key} is being created by another worker"),
                    retry_after: Some(retry_after),
                });
            }
            ClaimStep::Create => {}
            ClaimStep::SearchThenCreate => {
                match within(ends, backend.find_document(plan, cache)).await {
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
        }

        match within(ends, backend.create_document(plan, cache)).await {
            Ok(doc) => {
                faults::crash_point(faults::AFTER_DOCUMENT_CREATE);
                self.record_created(key, &doc, lease_end).await?;
                info!(document_id = %doc.id, kind = %key.kind, "document created");
                Ok(doc)
            }
            Err(e) if e.is_transient() => {
                // The create may have reached the backend and commit late (a timeout, a 5xx after the
                // write). The claim stays ours until its lease ends and nobody, this worker included,
                // takes it before: then the taker searches before creating.
                Err(PortError::Transient {
                    message: format!(
                        "{e}; the outcome is unknown: retried once the claim's lease ends"
                    ),
                    retry_after: Some(until(lease_end)),
                })
            }
            Err(e) => {
                // Refused keys and permanent refusals created nothing: the claim is free at once.
                let _ = store.release_claim(key, owner).await;
                Err(e)
            }
        }
    }

    /// Records the created document on its claim, retrying a store that fails briefly: the document in
    /// hand is not dropped for a blip. If the store stays down, the claim ends with its lease and the
    /// next attempt finds the document by searching.
    async fn record_created(
        &self,
        key: &ClaimKey,
        doc: &DocumentRef,
        lease_end: chrono::DateTime<Utc>,
    ) -> Result<(), PortError> {
        let owner = &self.deps.settings.worker_id;
        let mut last = None;
        for pause in [
            Duration::from_millis(100),
            Duration::from_millis(400),
            Duration::ZERO,
        ] {
            match self.deps.store.complete_claim(key, owner, doc).await {
                Ok(()) => return Ok(()),
                Err(e) if e.is_transient() && !pause.is_zero() => {
                    warn!(error = %e, document_id = %doc.id, "could not record the created document yet; retrying");
                    tokio::time::sleep(pause).await;
                    last = Some(e);
                }
                Err(e) => {
                    last = Some(e);
                    break;
                }
            }
        }
        let e = last.unwrap_or_else(|| PortError::transient("claim not recorded"));
        Err(PortError::Transient {
            message: format!(
                "document {} created but not recorded ({e}): found by search once the claim's lease ends",
                doc.id
            ),
            retry_after: Some(until(lease_end)),
        })
    }
}

/// The least time worth starting a create in: a create cut short has an unknown outcome and blocks its
/// order for a whole lease.
const MIN_CREATE_TIME: Duration = Duration::from_secs(5);

/// `call`, cut at `ends`: a call still running then is transient (and, for a create, uncertain).
async fn within<T>(
    ends: Instant,
    call: impl std::future::Future<Output = Result<T, PortError>>,
) -> Result<T, PortError> {
    match tokio::time::timeout_at(ends, call).await {
        Ok(result) => result,
        Err(_) => Err(PortError::transient(
            "the accounting system did not answer within the create budget",
        )),
    }
}

/// The wait until `end`, plus a second so that the retry finds the lease over.
fn until(end: chrono::DateTime<Utc>) -> Duration {
    (end - Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(1)
}
