//! Store checks on document claims, the one place idempotency is decided: exclusive under
//! concurrency, taken over once expired (`recovered`), `Done` once completed, refused to a lost owner,
//! free again once released. They pass explicit `now` instants and never sleep.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use woosellsy_domain::{ClaimKey, ConnectorId, DocumentKind, OrderId};

use super::{LONG_LEASE, document, now_ms, ok, secs, unique_connector};
use crate::{ClaimOutcome, PortError, Store};

fn key(connector: &ConnectorId, order: u64, kind: DocumentKind) -> ClaimKey {
    ClaimKey {
        connector: connector.clone(),
        order: OrderId(order),
        kind,
    }
}

/// Races `n` owners claiming `key` at the same instant; returns the outcomes by owner.
async fn race_claims(
    store: &Arc<dyn Store>,
    key: &ClaimKey,
    prefix: &str,
    n: usize,
    now: DateTime<Utc>,
) -> Vec<(String, Result<ClaimOutcome, PortError>)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let store = Arc::clone(store);
        let barrier = Arc::clone(&barrier);
        let key = key.clone();
        let owner = format!("{prefix}-{i}");
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let outcome = store.claim(&key, &owner, now, LONG_LEASE).await;
            (owner, outcome)
        }));
    }
    let mut outcomes = Vec::with_capacity(n);
    for task in tasks {
        match task.await {
            Ok(pair) => outcomes.push(pair),
            Err(e) => panic!("a claiming task panicked: {e}"),
        }
    }
    outcomes
}

/// Of the racers, exactly one acquired (with the expected `recovered`); the others were told Busy (or
/// got a transient error, which also makes them back off). Returns the winner.
fn single_winner(
    outcomes: &[(String, Result<ClaimOutcome, PortError>)],
    recovered: bool,
) -> String {
    let winners: Vec<&String> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Ok(ClaimOutcome::Acquired { .. })))
        .map(|(owner, _)| owner)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one of {} concurrent claims must be Acquired, got {outcomes:?}",
        outcomes.len()
    );
    for (owner, outcome) in outcomes {
        match outcome {
            Ok(ClaimOutcome::Acquired { recovered: r }) => assert_eq!(
                *r, recovered,
                "winner {owner}: Acquired.recovered must be {recovered}"
            ),
            Ok(ClaimOutcome::Busy { .. }) => {}
            Err(e) if e.is_transient() => {}
            other => panic!("loser {owner}: expected Busy (or a transient error), got {other:?}"),
        }
    }
    winners[0].clone()
}

/// Eight workers claim the same key at once: exactly one gets it. Once its lease has expired, eight
/// more race for the take-over: again exactly one, told `recovered: true`.
pub async fn claim_is_exclusive_under_concurrency(store: Arc<dyn Store>) {
    let c = unique_connector("race");
    let k = key(&c, 7, DocumentKind::Invoice);
    let t0 = now_ms();

    let first = race_claims(&store, &k, "first", 8, t0).await;
    let winner = single_winner(&first, false);

    let after_expiry = t0 + secs(61);
    let second = race_claims(&store, &k, "second", 8, after_expiry).await;
    let taker = single_winner(&second, true);

    let lost = store
        .complete_claim(&k, &winner, &document(DocumentKind::Invoice, "1"))
        .await;
    assert!(
        matches!(&lost, Err(e) if e.is_transient()),
        "the first winner lost its expired claim: complete_claim must fail (transient), got {lost:?}"
    );
    let doc = document(DocumentKind::Invoice, "2");
    ok(
        store.complete_claim(&k, &taker, &doc).await,
        "complete_claim(taker)",
    );
    let later = ok(
        store
            .claim(&k, "someone-else", after_expiry, LONG_LEASE)
            .await,
        "claim after completion",
    );
    assert_eq!(
        later,
        ClaimOutcome::Done(doc),
        "a completed claim answers Done with the taker's document"
    );
}

/// A claim whose lease has run out is taken over with `recovered: true`; before that, everyone sees
/// Busy until the lease end, the holder included.
pub async fn expired_claim_is_recovered(store: Arc<dyn Store>) {
    let c = unique_connector("expiry");
    let k = key(&c, 8, DocumentKind::Invoice);
    let t0 = now_ms();

    let first = ok(
        store.claim(&k, "worker-a", t0, LONG_LEASE).await,
        "claim(a)",
    );
    assert_eq!(
        first,
        ClaimOutcome::Acquired { recovered: false },
        "a fresh key is acquired, not recovered"
    );

    let busy = ok(
        store.claim(&k, "worker-b", t0 + secs(30), LONG_LEASE).await,
        "claim(b) within lease",
    );
    match busy {
        ClaimOutcome::Busy { until } => {
            let expected = t0 + secs(60);
            assert!(
                until >= expected - secs(1) && until <= expected + secs(1),
                "Busy.until must be the holder's lease end ({expected}), got {until}"
            );
        }
        other => panic!("a live lease held by another owner must answer Busy, got {other:?}"),
    }

    // A live claim is Busy to its own holder too: after a create whose outcome is unknown, the
    // document may still be committed, so nobody creates again before the lease ends.
    let again = ok(
        store.claim(&k, "worker-a", t0 + secs(10), LONG_LEASE).await,
        "claim(a) again",
    );
    assert!(
        matches!(again, ClaimOutcome::Busy { .. }),
        "the holder claiming again within its lease must be told Busy, got {again:?}"
    );

    let recovered = ok(
        store.claim(&k, "worker-b", t0 + secs(61), LONG_LEASE).await,
        "claim(b) after expiry",
    );
    assert_eq!(
        recovered,
        ClaimOutcome::Acquired { recovered: true },
        "an expired unfinished claim must be taken over with recovered: true"
    );
    let a_again = ok(
        store.claim(&k, "worker-a", t0 + secs(62), LONG_LEASE).await,
        "claim(a) after take-over",
    );
    assert!(
        matches!(a_again, ClaimOutcome::Busy { .. }),
        "after the take-over the old holder is just another worker: Busy, got {a_again:?}"
    );
    ok(
        store.release_claim(&k, "worker-b").await,
        "release_claim(b)",
    );
}

/// Once completed, a claim answers `Done` with the document, to anyone, even long after.
pub async fn completed_claim_answers_done(store: Arc<dyn Store>) {
    let c = unique_connector("done");
    let k = key(&c, 9, DocumentKind::Invoice);
    let t0 = now_ms();
    ok(
        store.claim(&k, "worker-a", t0, LONG_LEASE).await,
        "claim(a)",
    );
    let doc = document(DocumentKind::Invoice, "4242");
    ok(
        store.complete_claim(&k, "worker-a", &doc).await,
        "complete_claim(a)",
    );

    for (owner, at) in [
        ("worker-b", t0),
        ("worker-a", t0 + secs(1)),
        ("worker-c", t0 + secs(86_400 * 365)),
    ] {
        let outcome = ok(
            store.claim(&k, owner, at, LONG_LEASE).await,
            "claim after completion",
        );
        assert_eq!(
            outcome,
            ClaimOutcome::Done(doc.clone()),
            "{owner} at {at}: a completed claim must answer Done(document)"
        );
    }

    ok(
        store.release_claim(&k, "worker-a").await,
        "release_claim on a completed claim",
    );
    assert_eq!(
        ok(
            store.claim(&k, "worker-d", t0, LONG_LEASE).await,
            "claim after release attempt"
        ),
        ClaimOutcome::Done(doc),
        "release_claim must never undo a completed claim"
    );

    // Claims are per (connector, order, kind).
    for other in [
        key(&c, 9, DocumentKind::Order),
        key(&c, 10, DocumentKind::Invoice),
    ] {
        assert_eq!(
            ok(
                store.claim(&other, "worker-a", t0, LONG_LEASE).await,
                "claim(other key)"
            ),
            ClaimOutcome::Acquired { recovered: false },
            "{other}: another kind or order is a separate claim"
        );
        ok(
            store.release_claim(&other, "worker-a").await,
            "release_claim(other key)",
        );
    }
}

/// `complete_claim` by an owner that lost the claim fails (transient) and records nothing.
pub async fn complete_claim_fails_for_lost_owner(store: Arc<dyn Store>) {
    let c = unique_connector("lost");
    let k = key(&c, 11, DocumentKind::Invoice);
    let t0 = now_ms();

    let never = store
        .complete_claim(&k, "worker-a", &document(DocumentKind::Invoice, "0"))
        .await;
    assert!(
        matches!(&never, Err(e) if e.is_transient()),
        "complete_claim without ever claiming must fail (transient), got {never:?}"
    );

    ok(
        store.claim(&k, "worker-a", t0, LONG_LEASE).await,
        "claim(a)",
    );
    let by_other = store
        .complete_claim(&k, "worker-b", &document(DocumentKind::Invoice, "1"))
        .await;
    assert!(
        matches!(&by_other, Err(e) if e.is_transient()),
        "complete_claim by a non-holder must fail (transient), got {by_other:?}"
    );

    assert_eq!(
        ok(
            store.claim(&k, "worker-b", t0 + secs(61), LONG_LEASE).await,
            "claim(b) after expiry"
        ),
        ClaimOutcome::Acquired { recovered: true }
    );
    let late = store
        .complete_claim(&k, "worker-a", &document(DocumentKind::Invoice, "2"))
        .await;
    assert!(
        matches!(&late, Err(e) if e.is_transient()),
        "complete_claim by the holder whose claim was taken over must fail (transient), got {late:?}"
    );

    let doc = document(DocumentKind::Invoice, "3");
    ok(
        store.complete_claim(&k, "worker-b", &doc).await,
        "complete_claim(b)",
    );
    assert_eq!(
        ok(
            store.claim(&k, "worker-c", t0 + secs(62), LONG_LEASE).await,
            "claim after completion"
        ),
        ClaimOutcome::Done(doc.clone()),
        "only the current holder's document is recorded"
    );
    let after_done = store
        .complete_claim(&k, "worker-a", &document(DocumentKind::Invoice, "4"))
        .await;
    assert!(
        after_done.is_err(),
        "complete_claim by a non-holder after completion must fail, got {after_done:?}"
    );
    assert_eq!(
        ok(
            store.claim(&k, "worker-c", t0 + secs(63), LONG_LEASE).await,
            "claim after late complete"
        ),
        ClaimOutcome::Done(doc),
        "a failed complete_claim must not overwrite the recorded document"
    );
}

/// A released claim can be taken at once (as a fresh claim); releasing someone else's claim does nothing.
pub async fn released_claim_can_be_taken(store: Arc<dyn Store>) {
    let c = unique_connector("release");
    let k = key(&c, 12, DocumentKind::Invoice);
    let t0 = now_ms();

    ok(
        store.claim(&k, "worker-a", t0, LONG_LEASE).await,
        "claim(a)",
    );
    ok(
        store.release_claim(&k, "worker-a").await,
        "release_claim(a)",
    );
    assert_eq!(
        ok(
            store.claim(&k, "worker-b", t0 + secs(1), LONG_LEASE).await,
            "claim(b) after release"
        ),
        ClaimOutcome::Acquired { recovered: false },
        "a released claim is free at once, and nothing was created: recovered must be false"
    );

    ok(
        store.release_claim(&k, "worker-a").await,
        "release_claim by a non-holder",
    );
    assert!(
        matches!(
            ok(
                store.claim(&k, "worker-c", t0 + secs(2), LONG_LEASE).await,
                "claim(c)"
            ),
            ClaimOutcome::Busy { .. }
        ),
        "release_claim by someone who does not hold the claim must not free it"
    );

    ok(
        store.release_claim(&k, "worker-b").await,
        "release_claim(b)",
    );
    ok(
        store.release_claim(&k, "worker-b").await,
        "release_claim(b) twice",
    );
    assert_eq!(
        ok(
            store.claim(&k, "worker-c", t0 + secs(3), LONG_LEASE).await,
            "claim(c) after release"
        ),
        ClaimOutcome::Acquired { recovered: false }
    );
    ok(
        store.release_claim(&k, "worker-c").await,
        "release_claim(c)",
    );
}
