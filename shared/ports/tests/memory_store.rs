//! The in-memory store the engine's unit tests use keeps the same contract as the real stores: it runs
//! the same conformance suite as SQLite and DynamoDB, so a converter test on it means something.

use std::sync::Arc;

use woosellsy_ports::MemoryStore;
use woosellsy_ports::conformance::run_store_suite;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_memory_store_passes_the_store_conformance_suite() {
    run_store_suite(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn the_memory_store_forgets_cached_ids_after_their_ttl() {
    woosellsy_ports::conformance::cached_ids_expire(Arc::new(
        MemoryStore::new().with_id_ttl(woosellsy_ports::conformance::SHORT_ID_TTL),
    ))
    .await;
}
