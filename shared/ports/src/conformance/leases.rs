//! Store checks on connector-wide leases ([`crate::Store::take_lease`]): exclusive under
//! concurrency, renewed by their holder, free once expired or released.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;

use super::{LONG_LEASE, now_ms, ok, secs, unique_connector};
use crate::{LeaseOutcome, Store};

/// Of many workers racing for the same connector lease, exactly one gets it; the others learn until when
/// it is held. Another lease name or connector is independent.
pub async fn lease_is_exclusive_under_concurrency(store: Arc<dyn Store>) {
    let c = unique_connector("lease-race");
    let t0 = now_ms();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (store, c) = (Arc::clone(&store), c.clone());
            tokio::spawn(async move {
                let owner = format!("worker-{i}");
                let outcome = store.take_lease(&c, "create", &owner, t0, LONG_LEASE).await;
                (owner, outcome)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (owner, outcome) = match task.await {
            Ok(v) => v,
            Err(e) => panic!("lease task panicked: {e}"),
        };
        match ok(outcome, "take_lease in a race") {
            LeaseOutcome::Acquired => winners.push(owner),
            LeaseOutcome::Held { until } => assert_eq!(
                until.timestamp_millis(),
                (t0 + TimeDelta::from_std(LONG_LEASE).unwrap_or_default()).timestamp_millis(),
                "a refused taker learns when the winner's lease ends"
            ),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one worker may hold a lease: {winners:?}"
    );

    assert_eq!(
        ok(
            store
                .take_lease(&c, "other", "worker-x", t0, LONG_LEASE)
                .await,
            "take_lease(other name)"
        ),
        LeaseOutcome::Acquired,
        "leases of other names are independent"
    );
    let d = unique_connector("lease-race-other");
    assert_eq!(
        ok(
            store
                .take_lease(&d, "create", "worker-x", t0, LONG_LEASE)
                .await,
            "take_lease(other connector)"
        ),
        LeaseOutcome::Acquired,
        "leases of other connectors are independent"
    );
    ok(
        store.release_lease(&c, "create", &winners[0]).await,
        "release_lease",
    );
    ok(
        store.release_lease(&c, "other", "worker-x").await,
        "release_lease(other)",
    );
    ok(
        store.release_lease(&d, "create", "worker-x").await,
        "release_lease(d)",
    );
}

/// A lease can be renewed by its holder, is free once expired or released, and is not released by
/// someone who does not hold it.
pub async fn lease_expires_is_renewed_and_released(store: Arc<dyn Store>) {
    let c = unique_connector("lease-life");
    let t0 = now_ms();
    let take = |owner: &'static str, after: i64| {
        let (store, c) = (Arc::clone(&store), c.clone());
        async move {
            let outcome = store
                .take_lease(
                    &c,
                    "create",
                    owner,
                    t0 + secs(after),
                    Duration::from_secs(10),
                )
                .await;
            ok(outcome, &format!("take_lease({owner}) at +{after} s"))
        }
    };
    let release = |owner: &'static str| {
        let (store, c) = (Arc::clone(&store), c.clone());
        async move {
            let outcome = store.release_lease(&c, "create", owner).await;
            ok(outcome, &format!("release_lease({owner})"));
        }
    };

    assert_eq!(take("a", 0).await, LeaseOutcome::Acquired);
    assert_eq!(
        take("a", 5).await,
        LeaseOutcome::Acquired,
        "the holder renews its own lease"
    );
    assert_eq!(
        take("b", 12).await,
        LeaseOutcome::Held {
            until: t0 + secs(15)
        },
        "renewal moved the end to the renewal time + lease"
    );
    assert_eq!(
        take("b", 15).await,
        LeaseOutcome::Acquired,
        "an expired lease is free"
    );
    release("a").await;
    assert!(
        matches!(take("c", 16).await, LeaseOutcome::Held { .. }),
        "release_lease by someone who does not hold the lease must not free it"
    );
    release("b").await;
    release("b").await;
    assert_eq!(
        take("c", 17).await,
        LeaseOutcome::Acquired,
        "a released lease is free at once"
    );
    release("c").await;
}
