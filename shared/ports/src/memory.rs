//! A [`Store`] in memory: the same contract as the SQLite and DynamoDB stores (it passes the same
//! conformance suite), for unit tests of the engine that want a store without a file or a server.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use woosellsy_domain::{ClaimKey, ConnectorId, ConnectorSettings, OrderId};

use crate::{
    ClaimOutcome, DocumentRef, IdKind, LeaseOutcome, OrderRecord, PortError, PortResult, Store,
};

#[derive(Debug, Clone)]
enum Claim {
    InProgress { owner: String, until: DateTime<Utc> },
    Done(DocumentRef),
}

#[derive(Default)]
struct State {
    connectors: HashMap<ConnectorId, ConnectorSettings>,
    orders: HashMap<(ConnectorId, OrderId), OrderRecord>,
    claims: HashMap<ClaimKey, Claim>,
    leases: HashMap<(ConnectorId, String), (String, DateTime<Utc>)>,
    ids: HashMap<(ConnectorId, IdKind, String), (String, DateTime<Utc>)>,
}

/// Everything behind one mutex: every decision is atomic, as the real stores' conditional writes are.
pub struct MemoryStore {
    state: Mutex<State>,
    id_ttl: Duration,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            id_ttl: crate::DEFAULT_ID_TTL,
        }
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a cached id is trusted (the stores' shared default otherwise).
    pub fn with_id_ttl(mut self, ttl: Duration) -> Self {
        self.id_ttl = ttl;
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[async_trait]
impl Store for MemoryStore {
    async fn get_connector(&self, id: &ConnectorId) -> PortResult<Option<ConnectorSettings>> {
        Ok(self.state().connectors.get(id).cloned())
    }

    async fn put_connector(&self, settings: &ConnectorSettings) -> PortResult<()> {
        self.state()
            .connectors
            .insert(settings.id.clone(), settings.clone());
        Ok(())
    }

    async fn list_connectors(&self) -> PortResult<Vec<ConnectorSettings>> {
        let mut all: Vec<_> = self.state().connectors.values().cloned().collect();
        all.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        Ok(all)
    }

    async fn get_order(
        &self,
        connector: &ConnectorId,
        order: OrderId,
    ) -> PortResult<Option<OrderRecord>> {
        Ok(self
            .state()
            .orders
            .get(&(connector.clone(), order))
            .cloned())
    }

    async fn put_order(&self, record: &OrderRecord) -> PortResult<()> {
        self.state()
            .orders
            .insert((record.connector.clone(), record.order), record.clone());
        Ok(())
    }

    async fn claim(
        &self,
        key: &ClaimKey,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> PortResult<ClaimOutcome> {
        let mut state = self.state();
        let taken = Claim::InProgress {
            owner: owner.to_owned(),
            until: after(now, lease),
        };
        let outcome = match state.claims.get(key) {
            None => ClaimOutcome::Acquired { recovered: false },
            Some(Claim::Done(doc)) => return Ok(ClaimOutcome::Done(doc.clone())),
            // Live: Busy for everyone, its holder included.
            Some(Claim::InProgress { until, .. }) if *until > now => {
                return Ok(ClaimOutcome::Busy { until: *until });
            }
            // Expired: the earlier holder may have created the document before it stopped.
            Some(Claim::InProgress { .. }) => ClaimOutcome::Acquired { recovered: true },
        };
        state.claims.insert(key.clone(), taken);
        Ok(outcome)
    }

    async fn complete_claim(
        &self,
        key: &ClaimKey,
        owner: &str,
        document: &DocumentRef,
    ) -> PortResult<()> {
        let mut state = self.state();
        match state.claims.get(key) {
            Some(Claim::InProgress { owner: held, .. }) if held == owner => {
                state
                    .claims
                    .insert(key.clone(), Claim::Done(document.clone()));
                Ok(())
            }
            // A retry of a completion that did happen.
            Some(Claim::Done(doc)) if doc == document => Ok(()),
            _ => Err(PortError::transient(format!(
                "claim lost: {key} is no longer held by {owner}"
            ))),
        }
    }

    async fn release_claim(&self, key: &ClaimKey, owner: &str) -> PortResult<()> {
        let mut state = self.state();
        if matches!(state.claims.get(key), Some(Claim::InProgress { owner: held, .. }) if held == owner)
        {
            state.claims.remove(key);
        }
        Ok(())
    }

    async fn take_lease(
        &self,
        connector: &ConnectorId,
        name: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> PortResult<LeaseOutcome> {
        let mut state = self.state();
        let key = (connector.clone(), name.to_owned());
        if let Some((held, until)) = state.leases.get(&key)
            && held != owner
            && *until > now
        {
            return Ok(LeaseOutcome::Held { until: *until });
        }
        state
            .leases
            .insert(key, (owner.to_owned(), after(now, lease)));
        Ok(LeaseOutcome::Acquired)
    }

    async fn release_lease(
        &self,
        connector: &ConnectorId,
        name: &str,
        owner: &str,
    ) -> PortResult<()> {
        let mut state = self.state();
        let key = (connector.clone(), name.to_owned());
        if state
            .leases
            .get(&key)
            .is_some_and(|(held, _)| held == owner)
        {
            state.leases.remove(&key);
        }
        Ok(())
    }

    async fn get_cached_id(
        &self,
        connector: &ConnectorId,
        kind: IdKind,
        key: &str,
    ) -> PortResult<Option<String>> {
        let now = Utc::now();
        Ok(self
            .state()
            .ids
            .get(&(connector.clone(), kind, key.to_owned()))
            .filter(|(_, expires)| *expires > now)
            .map(|(value, _)| value.clone()))
    }

    async fn put_cached_id(
        &self,
        connector: &ConnectorId,
        kind: IdKind,
        key: &str,
        value: &str,
    ) -> PortResult<()> {
        let expires = after(Utc::now(), self.id_ttl);
        self.state().ids.insert(
            (connector.clone(), kind, key.to_owned()),
            (value.to_owned(), expires),
        );
        Ok(())
    }
}
