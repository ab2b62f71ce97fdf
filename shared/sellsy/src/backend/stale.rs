//! Remembered Sellsy ids can go stale: the merchant deletes or merges a customer, an address or an item in
//! Sellsy's own interface. An invoice refused while remembered ids were used is tried once more with every
//! id looked up afresh (the fresh ids replace the stale ones), so one deletion in Sellsy never blocks a
//! customer's orders for good. A refusal without any remembered id is final at once: nothing would change.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use woosellsy_ports::{IdCache, IdKind, PortResult};

/// Passes through to the connector's cache, counting the lookups it answered.
pub(super) struct Counted<'a> {
    inner: &'a dyn IdCache,
    hits: AtomicUsize,
}

impl<'a> Counted<'a> {
    pub(super) fn new(inner: &'a dyn IdCache) -> Self {
        Counted {
            inner,
            hits: AtomicUsize::new(0),
        }
    }

    /// How many lookups were answered from the cache rather than by Sellsy.
    pub(super) fn hits(&self) -> usize {
        self.hits.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl IdCache for Counted<'_> {
    async fn get(&self, kind: IdKind, key: &str) -> PortResult<Option<String>> {
        let found = self.inner.get(kind, key).await?;
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        Ok(found)
    }
    async fn put(&self, kind: IdKind, key: &str, value: &str) -> PortResult<()> {
        self.inner.put(kind, key, value).await
    }
}

/// Answers every lookup "unknown" so that Sellsy is asked again, and records what Sellsy answers.
pub(super) struct Fresh<'a>(pub(super) &'a dyn IdCache);

#[async_trait]
impl IdCache for Fresh<'_> {
    async fn get(&self, _: IdKind, _: &str) -> PortResult<Option<String>> {
        Ok(None)
    }
    async fn put(&self, kind: IdKind, key: &str, value: &str) -> PortResult<()> {
        self.0.put(kind, key, value).await
    }
}
