//! What two documents could both create: a customer that does not exist yet (two orders of one new
//! customer), an item that does not exist yet (two orders of one new SKU). Claims make each document
//! exactly once; these locks make each shared creation exactly once, and only they are serialised:
//! documents for known customers and items are created concurrently, at the account's pace.
//!
//! Each name is held twice: an in-process lock (tasks of one process share an owner id in the store, so
//! they queue here instead of polling), and a store lease across processes and Lambda containers.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;
use woosellsy_domain::{DocumentPlan, LineSource};
use woosellsy_ports::{IdCache, IdKind, PortResult};

/// The lease names (`create:customer:<email>`, `create:item:<sku>`) `plan` needs, sorted (so that two
/// workers take them in the same order), leaving out what the id cache already knows: creating a
/// document for a known customer and known items takes no lock.
pub(super) async fn needed(plan: &DocumentPlan, cache: &dyn IdCache) -> PortResult<Vec<String>> {
    let mut names = BTreeSet::new();
    // The keys are the id cache's contract (see `IdKind`): lower-cased email, SKU.
    let email = plan.customer.email.trim().to_lowercase();
    if cache.get(IdKind::Customer, &email).await?.is_none() {
        names.insert(format!("create:customer:{email}"));
    }
    for line in &plan.lines {
        if let LineSource::Catalog { sku, .. } = &line.source {
            let sku = sku.trim();
            if cache.get(IdKind::Item, sku).await?.is_none() {
                names.insert(format!("create:item:{sku}"));
            }
        }
    }
    Ok(names.into_iter().collect())
}

/// The in-process side: one mutex per name, created on first use and dropped when nobody holds it.
#[derive(Default)]
pub(super) struct LocalLocks {
    by_name: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl LocalLocks {
    /// Locks every name, in the given (sorted) order.
    pub async fn lock_all(&self, names: &[String]) -> Vec<OwnedMutexGuard<()>> {
        let mut held = Vec::with_capacity(names.len());
        for name in names {
            let lock = {
                let mut map = self.by_name.lock().unwrap_or_else(|e| e.into_inner());
                Arc::clone(map.entry(name.clone()).or_default())
            };
            held.push(lock.lock_owned().await);
        }
        held
    }

    /// Drops `guards`, then forgets the names no other task waits for (the map stays as small as the
    /// work in flight).
    pub fn unlock_all(&self, guards: Vec<OwnedMutexGuard<()>>) {
        drop(guards);
        let mut map = self.by_name.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, lock| Arc::strong_count(lock) > 1);
    }
}
