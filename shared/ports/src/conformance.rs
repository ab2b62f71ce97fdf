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
//!
//! Queue checks ignore messages of other connectors a shared queue may hold, handing them straight back
//! (`retry_later` with no delay); they do assume such foreign messages are few (receives ask for 10).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use woosellsy_domain::{
    ClaimKey, ConnectorId, ConnectorSettings, DocumentKind, Exemption, OrderId,
};

use crate::{
    ClaimOutcome, DocumentRef, IdKind, LeaseOutcome, OrderRecord, OrderState, PortError, PullQueue,
    QueuedEvent, Received, Store,
};

/// A lease long enough that nothing expires by accident while a check runs.
const LONG_LEASE: Duration = Duration::from_secs(60);
/// Visibility for receives that must not expire during a check.
const LONG_VISIBILITY: Duration = Duration::from_secs(120);

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

/// Settings built from JSON, so that fields the domain adds later (with serde defaults) need no change here.
fn settings(id: &ConnectorId, shop: &str) -> ConnectorSettings {
    let json = serde_json::json!({
        "id": id.as_str(),
        "woocommerce_url": format!("https://{shop}.example.fr"),
        "sellsy_api_url": "https://api.sellsy.com/v2",
        "sellsy_token_url": "https://login.sellsy.com/oauth2/access-tokens",
        "documents": ["invoice", "order"],
        "zero_rate_exemption": "intra-eu",
        "vat_meta_keys": ["_billing_vat_number", "vat_number"],
        "order_reference_prefix": "WC-",
        "sellsy_requests_per_second": 3,
    });
    match serde_json::from_value(json) {
        Ok(settings) => settings,
        Err(e) => panic!("conformance helper built invalid connector settings: {e}"),
    }
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

fn key(connector: &ConnectorId, order: u64, kind: DocumentKind) -> ClaimKey {
    ClaimKey {
        connector: connector.clone(),
        order: OrderId(order),
        kind,
    }
}

fn ok<T>(result: Result<T, PortError>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected error: {e:?}"),
    }
}

/// Connector settings are stored, read back identically, updated in place and listed.
pub async fn store_connectors_round_trip(store: Arc<dyn Store>) {
    let a = unique_connector("conn");
    let b = unique_connector("conn");
    let missing = unique_connector("conn");

    assert_eq!(
        ok(
            store.get_connector(&missing).await,
            "get_connector(unknown)"
        ),
        None,
        "an unknown connector must read as None"
    );

    let sa = settings(&a, "boutique-a");
    let sb = settings(&b, "boutique-b");
    ok(store.put_connector(&sa).await, "put_connector(a)");
    ok(store.put_connector(&sb).await, "put_connector(b)");
    assert_eq!(
        ok(store.get_connector(&a).await, "get_connector(a)").as_ref(),
        Some(&sa),
        "connector settings must read back exactly as written"
    );

    let mut updated = sa.clone();
    updated.documents = vec![DocumentKind::Invoice];
    updated.zero_rate_exemption = Exemption::Export;
    updated.order_reference_prefix = "CMD-".to_owned();
    updated.sellsy_requests_per_second = 5;
    ok(
        store.put_connector(&updated).await,
        "put_connector(a, updated)",
    );
    assert_eq!(
        ok(
            store.get_connector(&a).await,
            "get_connector(a) after update"
        )
        .as_ref(),
        Some(&updated),
        "put_connector on an existing id must replace the settings"
    );
    assert_eq!(
        ok(store.get_connector(&b).await, "get_connector(b)").as_ref(),
        Some(&sb),
        "updating one connector must not touch another"
    );

    let listed = ok(store.list_connectors().await, "list_connectors");
    let mine: Vec<&ConnectorSettings> = listed.iter().filter(|s| s.id == a || s.id == b).collect();
    assert_eq!(
        mine.len(),
        2,
        "list_connectors must list each connector once, got {mine:?}"
    );
    assert!(
        listed.contains(&updated),
        "list_connectors must return the updated settings"
    );
    assert!(
        listed.contains(&sb),
        "list_connectors must return every connector"
    );
}

/// Order records are stored per (connector, order), read back identically and replaced on update.
pub async fn store_orders_round_trip(store: Arc<dyn Store>) {
    let c = unique_connector("orders");
    let other = unique_connector("orders");
    let order = OrderId(1042);

    assert_eq!(
        ok(store.get_order(&c, order).await, "get_order(unknown)"),
        None,
        "an order never seen must read as None"
    );

    let modified = NaiveDateTime::parse_from_str("2024-03-05T10:11:12", "%Y-%m-%dT%H:%M:%S")
        .unwrap_or_else(|e| panic!("bad test timestamp: {e}"));
    let mut documents = BTreeMap::new();
    documents.insert(
        DocumentKind::Invoice,
        document(DocumentKind::Invoice, "9001"),
    );
    let record = OrderRecord {
        connector: c.clone(),
        order,
        last_modified_gmt: Some(modified),
        state: OrderState::Error {
            reason: "Taux de TVA 7 % inconnu dans Sellsy — « créez-le » puis relancez".to_owned(),
        },
        documents,
        links_written: false,
        updated_at: now_ms(),
    };
    ok(store.put_order(&record).await, "put_order");
    assert_eq!(
        ok(store.get_order(&c, order).await, "get_order").as_ref(),
        Some(&record),
        "an order record must read back exactly as written (state, documents, timestamps, accents)"
    );
    assert_eq!(
        ok(
            store.get_order(&other, order).await,
            "get_order(other connector)"
        ),
        None,
        "order records are per connector: the same order id under another connector is a different order"
    );
    assert_eq!(
        ok(
            store.get_order(&c, OrderId(1043)).await,
            "get_order(other order)"
        ),
        None,
        "order records are per order id"
    );

    let mut done = record.clone();
    done.state = OrderState::Done;
    done.links_written = true;
    done.documents
        .insert(DocumentKind::Order, document(DocumentKind::Order, "9002"));
    done.updated_at = now_ms() + secs(1);
    ok(store.put_order(&done).await, "put_order(update)");
    assert_eq!(
        ok(store.get_order(&c, order).await, "get_order after update").as_ref(),
        Some(&done),
        "put_order must replace the record"
    );

    let skipped = OrderRecord {
        connector: other.clone(),
        order,
        last_modified_gmt: None,
        state: OrderState::Skipped {
            reason: "status pending".to_owned(),
        },
        documents: BTreeMap::new(),
        links_written: false,
        updated_at: now_ms(),
    };
    ok(
        store.put_order(&skipped).await,
        "put_order(other connector)",
    );
    assert_eq!(
        ok(
            store.get_order(&c, order).await,
            "get_order after other connector's put"
        )
        .as_ref(),
        Some(&done),
        "writing another connector's order must not touch this one"
    );
    assert_eq!(
        ok(
            store.get_order(&other, order).await,
            "get_order(other connector)"
        )
        .as_ref(),
        Some(&skipped)
    );
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

/// A claim whose lease has run out is taken over with `recovered: true`; before that, others see Busy
/// until the lease end; the same owner claiming again is also told `recovered: true`.
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

    let again = ok(
        store.claim(&k, "worker-a", t0 + secs(10), LONG_LEASE).await,
        "claim(a) again",
    );
    assert_eq!(
        again,
        ClaimOutcome::Acquired { recovered: true },
        "the holder claiming again may have created the document already: recovered must be true"
    );
    // That re-claim extended a's lease to t0 + 70 s.
    let still_busy = ok(
        store.claim(&k, "worker-b", t0 + secs(65), LONG_LEASE).await,
        "claim(b) in extended lease",
    );
    assert!(
        matches!(still_busy, ClaimOutcome::Busy { .. }),
        "re-claiming must extend the lease, got {still_busy:?}"
    );

    let recovered = ok(
        store.claim(&k, "worker-b", t0 + secs(71), LONG_LEASE).await,
        "claim(b) after expiry",
    );
    assert_eq!(
        recovered,
        ClaimOutcome::Acquired { recovered: true },
        "an expired unfinished claim must be taken over with recovered: true"
    );
    let a_again = ok(
        store.claim(&k, "worker-a", t0 + secs(72), LONG_LEASE).await,
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

/// Mappings are kept per (connector, kind, key), overwritten on put, and keys are taken verbatim.
pub async fn mappings_round_trip(store: Arc<dyn Store>) {
    let c = unique_connector("map");
    let other = unique_connector("map");
    let email = "élodie.dupont+shop@exemple.fr";

    assert_eq!(
        ok(
            store.get_cached_id(&c, IdKind::Customer, email).await,
            "get_cached_id(unknown)"
        ),
        None,
        "an unknown mapping must read as None"
    );

    let entries = [
        (IdKind::Customer, email, "individual:42"),
        (IdKind::Item, "TSHIRT-BLEU-M", "product:12:declination:3"),
        (IdKind::Tax, "rate:5.5", "17"),
        (IdKind::Tax, "exempt:intra-eu", "23"),
        (IdKind::Address, "company:7|7 rue de la Paix|75002", "301"),
        (IdKind::Other, "currencies", "[\"EUR\",\"CHF\"]"),
    ];
    for (kind, k, v) in entries {
        ok(store.put_cached_id(&c, kind, k, v).await, "put_cached_id");
    }
    for (kind, k, v) in entries {
        assert_eq!(
            ok(store.get_cached_id(&c, kind, k).await, "get_cached_id").as_deref(),
            Some(v),
            "{kind:?} {k:?} must read back as written"
        );
    }

    // The same key under another kind or connector is a different mapping.
    assert_eq!(
        ok(
            store.get_cached_id(&c, IdKind::Item, email).await,
            "get_cached_id(other kind)"
        ),
        None,
        "mappings are per kind"
    );
    assert_eq!(
        ok(
            store.get_cached_id(&other, IdKind::Customer, email).await,
            "get_cached_id(other connector)"
        ),
        None,
        "mappings are per connector"
    );

    ok(
        store
            .put_cached_id(&c, IdKind::Customer, email, "company:7")
            .await,
        "put_cached_id(overwrite)",
    );
    assert_eq!(
        ok(
            store.get_cached_id(&c, IdKind::Customer, email).await,
            "get_cached_id after overwrite"
        )
        .as_deref(),
        Some("company:7"),
        "put_cached_id must replace the value"
    );
    assert_eq!(
        ok(
            store.get_cached_id(&c, IdKind::Tax, "rate:5.5").await,
            "get_cached_id(untouched)"
        )
        .as_deref(),
        Some("17"),
        "overwriting one mapping must not touch another"
    );
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

fn event(connector: &ConnectorId, order: u64, seq: u32) -> QueuedEvent {
    QueuedEvent {
        connector: connector.clone(),
        topic: "order.updated".to_owned(),
        order: OrderId(order),
        delivery_id: Some(format!("delivery-{order}-{seq}")),
        webhook_id: Some(7),
        body: Some(format!(
            r#"{{"id":{order},"status":"processing","billing":{{"first_name":"Zoé"}},"seq":{seq}}}"#
        )),
        received_at: now_ms(),
    }
}

/// Which of this check's messages a received one is, by its delivery id.
fn tag(r: &Received) -> String {
    r.event.delivery_id.clone().unwrap_or_default()
}

/// Receives, keeping this connector's messages and handing any foreign ones straight back.
async fn receive_own(
    q: &Arc<dyn PullQueue>,
    connector: &ConnectorId,
    visibility: Duration,
) -> Vec<Received> {
    let got = ok(q.receive(10, visibility).await, "receive");
    let mut own = Vec::new();
    for r in got {
        if &r.event.connector == connector {
            own.push(r);
        } else {
            // Not ours: put it back for whoever it belongs to; failure only delays it.
            let _ = q.retry_later(&r.receipt, Duration::ZERO).await;
        }
    }
    own.sort_by_key(|r| r.event.order);
    own
}

fn tags(received: &[Received]) -> Vec<String> {
    received.iter().map(tag).collect()
}

async fn enqueue_all(q: &Arc<dyn PullQueue>, events: &[QueuedEvent]) {
    for e in events {
        ok(q.enqueue(e).await, "enqueue");
    }
}

async fn ack_all(q: &Arc<dyn PullQueue>, received: &[Received]) {
    for r in received {
        ok(q.ack(&r.receipt).await, "ack");
    }
}

/// Per group, messages come out in enqueue order, one at a time; groups do not wait for each other, and
/// a receive returns at most one message per group. Contents arrive intact.
pub async fn queue_is_fifo_per_group(q: Arc<dyn PullQueue>) {
    let c = unique_connector("fifo");
    let a1 = event(&c, 1, 1);
    let b1 = event(&c, 2, 1);
    let a2 = event(&c, 1, 2);
    let b2 = event(&c, 2, 2);
    let a3 = event(&c, 1, 3);
    enqueue_all(
        &q,
        &[a1.clone(), b1.clone(), a2.clone(), b2.clone(), a3.clone()],
    )
    .await;

    let first = receive_own(&q, &c, LONG_VISIBILITY).await;
    assert_eq!(
        tags(&first),
        vec![tag_of(&a1), tag_of(&b1)],
        "the first receive must give the oldest message of each group, one per group"
    );
    assert_eq!(
        first[0].event, a1,
        "the event must arrive exactly as enqueued"
    );
    assert_eq!(
        first[1].event, b1,
        "the event must arrive exactly as enqueued"
    );
    assert!(
        first.iter().all(|r| r.attempts == 1),
        "first delivery: attempts must be 1"
    );

    ok(q.ack(&first[0].receipt).await, "ack(a1)");
    let second = receive_own(&q, &c, LONG_VISIBILITY).await;
    assert_eq!(
        tags(&second),
        vec![tag_of(&a2)],
        "after a1 is acked only a2 is due: b2 waits behind b1, still in flight"
    );

    ok(q.ack(&first[1].receipt).await, "ack(b1)");
    ok(q.ack(&second[0].receipt).await, "ack(a2)");
    let third = receive_own(&q, &c, LONG_VISIBILITY).await;
    assert_eq!(
        tags(&third),
        vec![tag_of(&a3), tag_of(&b2)],
        "then a3 and b2"
    );
    assert_eq!(third[0].event, a3);
    assert_eq!(third[1].event, b2);
    ack_all(&q, &third).await;
    assert!(
        receive_own(&q, &c, LONG_VISIBILITY).await.is_empty(),
        "everything was acked"
    );
}

fn tag_of(e: &QueuedEvent) -> String {
    e.delivery_id.clone().unwrap_or_default()
}

/// While a group's message is in flight, nothing of that group is handed out, not even to a second
/// receive; a message made to wait with `retry_later` also holds back its group.
pub async fn queue_hides_in_flight_group(q: Arc<dyn PullQueue>) {
    let c = unique_connector("inflight");
    let a1 = event(&c, 1, 1);
    let a2 = event(&c, 1, 2);
    enqueue_all(&q, &[a1.clone(), a2.clone()]).await;

    let first = receive_own(&q, &c, LONG_VISIBILITY).await;
    assert_eq!(tags(&first), vec![tag_of(&a1)]);
    for _ in 0..3 {
        let again = receive_own(&q, &c, LONG_VISIBILITY).await;
        assert!(
            again.is_empty(),
            "a group with a message in flight must hand out nothing, got {:?}",
            tags(&again)
        );
    }

    ok(
        q.retry_later(&first[0].receipt, Duration::from_secs(600))
            .await,
        "retry_later(a1, 10 min)",
    );
    let delayed = receive_own(&q, &c, LONG_VISIBILITY).await;
    assert!(
        delayed.is_empty(),
        "a1 waits 10 minutes and a2 must not overtake it, got {:?}",
        tags(&delayed)
    );

    // The receipt stays valid after retry_later (as with SQS ChangeMessageVisibility).
    ok(q.ack(&first[0].receipt).await, "ack(a1) after retry_later");
    let next = receive_own(&q, &c, LONG_VISIBILITY).await;
    assert_eq!(
        tags(&next),
        vec![tag_of(&a2)],
        "once a1 is acked, a2 is due"
    );
    ack_all(&q, &next).await;
}

/// A message neither acked nor released comes back once its visibility ends, with a new receipt;
/// the old receipt is then stale: acking with it fails (transient) and does nothing.
pub async fn queue_redelivers_after_visibility(q: Arc<dyn PullQueue>) {
    let c = unique_connector("visib");
    let a1 = event(&c, 1, 1);
    enqueue_all(&q, std::slice::from_ref(&a1)).await;

    let first = receive_own(&q, &c, Duration::from_secs(1)).await;
    assert_eq!(tags(&first), vec![tag_of(&a1)]);
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let again = receive_own(&q, &c, LONG_VISIBILITY).await;
    assert_eq!(
        tags(&again),
        vec![tag_of(&a1)],
        "a message whose visibility ended must be delivered again"
    );
    assert_eq!(again[0].event, a1);
    assert_eq!(again[0].attempts, 2, "second delivery: attempts must be 2");
    assert_ne!(
        again[0].receipt, first[0].receipt,
        "each delivery gets its own receipt"
    );

    let stale = q.ack(&first[0].receipt).await;
    assert!(
        matches!(&stale, Err(e) if e.is_transient()),
        "acking with the receipt of an earlier delivery must fail (transient), got {stale:?}"
    );
    let stale_retry = q.retry_later(&first[0].receipt, Duration::ZERO).await;
    assert!(
        stale_retry.is_err(),
        "retry_later with a stale receipt must fail, got {stale_retry:?}"
    );
    assert!(
        receive_own(&q, &c, LONG_VISIBILITY).await.is_empty(),
        "a stale receipt must have no effect: the message is still in flight"
    );
    ok(
        q.ack(&again[0].receipt).await,
        "ack with the current receipt",
    );
    assert!(
        receive_own(&q, &c, LONG_VISIBILITY).await.is_empty(),
        "acked means gone"
    );
}

/// `attempts` counts deliveries, including the current one.
pub async fn queue_counts_attempts(q: Arc<dyn PullQueue>) {
    let c = unique_connector("attempts");
    let a1 = event(&c, 1, 1);
    enqueue_all(&q, std::slice::from_ref(&a1)).await;
    for expected in 1..=3u32 {
        let got = receive_own(&q, &c, LONG_VISIBILITY).await;
        assert_eq!(tags(&got), vec![tag_of(&a1)], "delivery {expected}");
        assert_eq!(got[0].attempts, expected, "delivery {expected}: attempts");
        if expected < 3 {
            ok(
                q.retry_later(&got[0].receipt, Duration::ZERO).await,
                "retry_later(0)",
            );
        } else {
            ack_all(&q, &got).await;
        }
    }
}

/// A dead-lettered message leaves the queue (depth drops, its group moves on) and its receipt is spent.
pub async fn dead_letter_removes(q: Arc<dyn PullQueue>) {
    let c = unique_connector("dlq");
    let a1 = event(&c, 1, 1);
    let a2 = event(&c, 1, 2);
    let before = ok(q.depth().await, "depth");
    enqueue_all(&q, &[a1.clone(), a2.clone()]).await;
    assert_eq!(
        ok(q.depth().await, "depth"),
        before + 2,
        "depth counts waiting messages"
    );

    let first = receive_own(&q, &c, LONG_VISIBILITY).await;
    assert_eq!(tags(&first), vec![tag_of(&a1)]);
    assert_eq!(
        ok(q.depth().await, "depth"),
        before + 2,
        "depth counts messages in flight"
    );

    ok(
        q.dead_letter(&first[0].receipt, "5 attempts: Sellsy answered 500")
            .await,
        "dead_letter(a1)",
    );
    assert_eq!(
        ok(q.depth().await, "depth"),
        before + 1,
        "a dead-lettered message leaves the queue"
    );

    let next = receive_own(&q, &c, LONG_VISIBILITY).await;
    assert_eq!(
        tags(&next),
        vec![tag_of(&a2)],
        "the group moves on past a dead-lettered message"
    );
    assert_eq!(next[0].attempts, 1);

    let spent = q.ack(&first[0].receipt).await;
    assert!(
        spent.is_err(),
        "the receipt of a dead-lettered message is spent, got {spent:?}"
    );
    let twice = q.dead_letter(&first[0].receipt, "again").await;
    assert!(
        twice.is_err(),
        "a message cannot be dead-lettered twice, got {twice:?}"
    );

    ack_all(&q, &next).await;
    assert_eq!(
        ok(q.depth().await, "depth"),
        before,
        "acked messages leave the queue"
    );
}

/// Every queue check, in order.
pub async fn run_queue_suite(q: Arc<dyn PullQueue>) {
    queue_is_fifo_per_group(Arc::clone(&q)).await;
    queue_hides_in_flight_group(Arc::clone(&q)).await;
    queue_counts_attempts(Arc::clone(&q)).await;
    dead_letter_removes(Arc::clone(&q)).await;
    queue_redelivers_after_visibility(q).await;
}
