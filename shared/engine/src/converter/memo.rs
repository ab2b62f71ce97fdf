//! The id cache as one event sees it: an id found once is not read from the store again during the
//! event. The locks check which customers and items are known, then the backend resolves the same
//! ones: without this every known id cost two store reads per document (two DynamoDB calls on AWS).
//!
//! Only hits are remembered. A miss is read again every time, because a miss is what a lock waits
//! on: once the lock is ours, the id another worker just created must be seen.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use woosellsy_ports::{IdCache, IdKind, PortResult};

pub(super) struct EventIdCache<'a> {
    store: &'a dyn IdCache,
    hits: Mutex<HashMap<(IdKind, String), String>>,
}

impl<'a> EventIdCache<'a> {
    pub fn new(store: &'a dyn IdCache) -> Self {
        Self {
            store,
            hits: Mutex::new(HashMap::new()),
        }
    }

    fn hits(&self) -> std::sync::MutexGuard<'_, HashMap<(IdKind, String), String>> {
        self.hits.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl IdCache for EventIdCache<'_> {
    async fn get(&self, kind: IdKind, key: &str) -> PortResult<Option<String>> {
        if let Some(value) = self.hits().get(&(kind, key.to_owned())) {
            return Ok(Some(value.clone()));
        }
        let value = self.store.get(kind, key).await?;
        if let Some(v) = &value {
            self.hits().insert((kind, key.to_owned()), v.clone());
        }
        Ok(value)
    }

    async fn put(&self, kind: IdKind, key: &str, value: &str) -> PortResult<()> {
        self.store.put(kind, key, value).await?;
        self.hits().insert((kind, key.to_owned()), value.to_owned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    struct Counting {
        values: Mutex<HashMap<String, String>>,
        reads: AtomicUsize,
    }

    #[async_trait]
    impl IdCache for Counting {
        async fn get(&self, _: IdKind, key: &str) -> PortResult<Option<String>> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            Ok(self.values.lock().unwrap().get(key).cloned())
        }
        async fn put(&self, _: IdKind, key: &str, value: &str) -> PortResult<()> {
            self.values
                .lock()
                .unwrap()
                .insert(key.to_owned(), value.to_owned());
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_known_id_is_read_once_a_missing_one_every_time() {
        let store = Counting::default();
        store.put(IdKind::Item, "MUG", "product:3").await.unwrap();
        let cache = EventIdCache::new(&store);
        for _ in 0..3 {
            assert_eq!(
                cache.get(IdKind::Item, "MUG").await.unwrap().as_deref(),
                Some("product:3")
            );
        }
        assert_eq!(store.reads.load(Ordering::Relaxed), 1);

        // Missing: read again, so that what another worker created meanwhile is seen.
        assert_eq!(cache.get(IdKind::Customer, "a@b.fr").await.unwrap(), None);
        store
            .put(IdKind::Customer, "a@b.fr", "individual:9")
            .await
            .unwrap();
        assert_eq!(
            cache
                .get(IdKind::Customer, "a@b.fr")
                .await
                .unwrap()
                .as_deref(),
            Some("individual:9")
        );
        assert_eq!(store.reads.load(Ordering::Relaxed), 3);
    }
}
