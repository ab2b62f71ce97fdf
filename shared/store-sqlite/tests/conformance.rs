//! The port conformance suite (`woosellsy_ports::conformance`) run against the SQLite adapters, one
//! test per check (each in its own data directory), plus the whole suites on one shared directory.

use std::sync::Arc;

use woosellsy_ports::conformance as c;
use woosellsy_ports::{PullQueue, Store};
use woosellsy_store_sqlite::{SqliteQueue, SqliteStore};

fn store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(dir.path()).expect("open store"))
}

fn queue(dir: &tempfile::TempDir) -> Arc<dyn PullQueue> {
    Arc::new(SqliteQueue::open(dir.path()).expect("open queue"))
}

macro_rules! store_checks {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let dir = tempfile::tempdir().expect("temp dir");
            c::$name(store(&dir)).await;
        }
    )*};
}

macro_rules! queue_checks {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let dir = tempfile::tempdir().expect("temp dir");
            c::$name(queue(&dir)).await;
        }
    )*};
}

store_checks!(
    store_connectors_round_trip,
    store_orders_round_trip,
    claim_is_exclusive_under_concurrency,
    expired_claim_is_recovered,
    completed_claim_answers_done,
    complete_claim_fails_for_lost_owner,
    released_claim_can_be_taken,
    lease_is_exclusive_under_concurrency,
    lease_expires_is_renewed_and_released,
    mappings_round_trip,
);

queue_checks!(
    queue_is_fifo_per_group,
    queue_hides_in_flight_group,
    queue_redelivers_after_visibility,
    queue_counts_attempts,
    dead_letter_removes,
);

/// Both suites on one directory, store and queue sharing the file, the store suite run twice so that
/// it meets its own earlier data (as it does on a long-lived DynamoDB table).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn whole_suites_share_one_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let s = store(&dir);
    let q = queue(&dir);
    c::run_store_suite(Arc::clone(&s)).await;
    c::run_store_suite(s).await;
    c::run_queue_suite(q).await;
}

/// Expiry is wall-clock time in the store, so this check needs a store with a short TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cached_ids_expire() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path())
        .expect("open store")
        .with_id_ttl(c::SHORT_ID_TTL);
    c::cached_ids_expire(Arc::new(store)).await;
}
