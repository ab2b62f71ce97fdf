//! Conformance checks every [`Store`] and [`PullQueue`] adapter must pass (feature `conformance`).
//!
//! Each check is a `pub async fn` taking the adapter behind an `Arc<dyn …>` and panicking with a message
//! that names the broken promise, so an adapter's test suite is one line per check (or one call to
//! [`run_store_suite`] / [`run_queue_suite`]). The checks run on a tokio runtime (use a multi-thread
//! runtime so that the concurrency checks race for real).
//!
//! They do not assume an empty or private backend: every check works under its own fresh connector id,
//! so the same suite runs against SQLite in a temp dir and against DynamoDB on moto_server. Claim checks
//! pass explicit `now` instants and never sleep; the one queue check that needs a visibility timeout to
//! pass uses a 1 s timeout and waits 2.5 s (nothing depends on anything happening *faster* than a bound).
//! Cached ids expire by the wall clock inside the store, so [`cached_ids_expire`] sleeps too (just over
//! [`SHORT_ID_TTL`]); it is not part of [`run_store_suite`], because it needs a store built with that
//! TTL: an adapter's tests run it on one, next to the suite.
//!
//! Queue checks ignore messages of other connectors a shared queue may hold, handing them straight back
//! (`retry_later` with no delay); they do assume such foreign messages are few (receives ask for 10).
//!
//! The checks live by subject: [`Store`] checks in `store.rs` (connectors, orders, cached ids),
//! `claims.rs` and `leases.rs`; [`PullQueue`] checks in `queue.rs`. This file holds what they share
//! and the two entry points, [`run_store_suite`] and [`run_queue_suite`].

mod claims;
mod leases;
mod queue;
mod store;

pub use claims::{
    claim_is_exclusive_under_concurrency, complete_claim_fails_for_lost_owner,
    completed_claim_answers_done, expired_claim_is_recovered, released_claim_can_be_taken,
};
pub use leases::{lease_expires_is_renewed_and_released, lease_is_exclusive_under_concurrency};
pub use queue::{
    dead_letter_removes, queue_counts_attempts, queue_hides_in_flight_group,
    queue_is_fifo_per_group, queue_redelivers_after_visibility,
};
pub use store::{
    SHORT_ID_TTL, cached_ids_expire, mappings_round_trip, store_connectors_round_trip,
    store_orders_round_trip,
};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, TimeDelta, Utc};
use woosellsy_domain::{ConnectorId, DocumentKind};

use crate::{DocumentRef, PortError, PullQueue, Store};

/// A lease long enough that nothing expires by accident while a check runs.
const LONG_LEASE: Duration = Duration::from_secs(60);

/// A connector id no other check (or earlier run against the same backend) has used.
fn unique_connector(tag: &str) -> ConnectorId {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let raw = format!("conf-{tag}-{nanos:x}-{:x}-{n}", std::process::id());
    match ConnectorId::parse(&raw) {
        Ok(id) => id,
        Err(e) => panic!("conformance helper built an invalid connector id: {e}"),
    }
}

/// Now, cut to whole milliseconds: adapters may keep timestamps at millisecond precision.
fn now_ms() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

fn document(kind: DocumentKind, id: &str) -> DocumentRef {
    DocumentRef {
        kind,
        id: id.to_owned(),
        number: Some(format!("F-2024-{id}")),
        url: Some(format!("https://sellsy.example/doc/{id}")),
        warning: None,
    }
}

fn ok<T>(result: Result<T, PortError>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected error: {e:?}"),
    }
}

/// Every store check, in order.
pub async fn run_store_suite(store: Arc<dyn Store>) {
    store_connectors_round_trip(Arc::clone(&store)).await;
    store_orders_round_trip(Arc::clone(&store)).await;
    claim_is_exclusive_under_concurrency(Arc::clone(&store)).await;
    expired_claim_is_recovered(Arc::clone(&store)).await;
    completed_claim_answers_done(Arc::clone(&store)).await;
    complete_claim_fails_for_lost_owner(Arc::clone(&store)).await;
    released_claim_can_be_taken(Arc::clone(&store)).await;
    lease_is_exclusive_under_concurrency(Arc::clone(&store)).await;
    lease_expires_is_renewed_and_released(Arc::clone(&store)).await;
    mappings_round_trip(store).await;
}

/// Every queue check, in order.
pub async fn run_queue_suite(q: Arc<dyn PullQueue>) {
    queue_is_fifo_per_group(Arc::clone(&q)).await;
    queue_hides_in_flight_group(Arc::clone(&q)).await;
    queue_counts_attempts(Arc::clone(&q)).await;
    dead_letter_removes(Arc::clone(&q)).await;
    queue_redelivers_after_visibility(q).await;
}
