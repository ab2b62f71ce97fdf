//! Exactly once when calls are slow or half-fail: a create whose outcome is unknown is never repeated
//! before its lease ends, not even by the worker that tried; a worker waiting for another's lease comes
//! back when that lease ends.

mod support;

use std::time::Duration;

use chrono::Utc;
use support::*;
use woosellsy_domain::OrderId;
use woosellsy_engine::{ConverterSettings, Outcome};
use woosellsy_ports::{LeaseOutcome, Store};

/// The lease a document for the (not yet known) customer of `order()` needs.
const NEW_CUSTOMER: &str = "create:customer:client@example.fr";

fn settings(lease: Duration) -> ConverterSettings {
    ConverterSettings {
        lease,
        worker_id: WORKER.to_owned(),
        ..ConverterSettings::default()
    }
}

/// Sellsy answers 504 and commits the invoice a moment later. The same worker retrying at once used
/// to re-take its own claim, search (nothing yet) and create a second invoice.
#[tokio::test]
async fn an_uncertain_create_is_not_repeated_before_its_lease_ends() {
    let lease = Duration::from_secs(1);
    let h = Harness::with_settings(settings(lease)).await;
    let order = order(42, "processing", true, at(10, 30, 0));
    h.put_order(order.clone());
    h.world().create_commits_late = true;

    let first = h.converter.process(&event(&order)).await;
    let Outcome::Retry { after, .. } = first else {
        panic!("{first:?}")
    };
    assert!(
        after.is_some_and(|a| a >= lease),
        "retried after the lease, not sooner: {after:?}"
    );

    // The queue hands the event back at once (a redelivery, another webhook): nothing is created.
    let again = h.converter.process(&event(&order)).await;
    assert!(matches!(again, Outcome::Retry { .. }), "{again:?}");
    assert_eq!(
        h.world().creates,
        1,
        "no second create while the first may still commit"
    );

    // Sellsy commits the first invoice; once the lease has ended the retry finds and adopts it.
    {
        let mut w = h.world();
        w.create_commits_late = false;
        let late = std::mem::take(&mut w.late_documents);
        w.documents.extend(late);
    }
    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    let last = h.converter.process(&event(&order)).await;
    assert!(matches!(last, Outcome::Done { .. }), "{last:?}");
    let w = h.world();
    assert_eq!(w.creates, 1, "exactly one invoice");
    assert_eq!(w.searches, 1, "found by searching after the lease");
}

/// A worker that died holding the lease on the new customer an order needs: the others come back when that lease ends,
/// not every few seconds (which burnt every receive of a message before the lease was over).
#[tokio::test]
async fn waiting_for_another_workers_create_lease_retries_when_it_ends() {
    let h = Harness::with_settings(ConverterSettings {
        lease_wait: Duration::from_millis(50),
        ..settings(Duration::from_secs(120))
    })
    .await;
    let taken = h
        .store
        .take_lease(
            &connector(),
            NEW_CUSTOMER,
            "dead-worker",
            Utc::now(),
            Duration::from_secs(120),
        )
        .await
        .unwrap();
    assert_eq!(taken, LeaseOutcome::Acquired);
    let order = order(42, "processing", true, at(10, 30, 0));
    h.put_order(order.clone());

    let outcome = h.converter.process(&event(&order)).await;
    let Outcome::Retry { after, .. } = outcome else {
        panic!("{outcome:?}")
    };
    let after = after.expect("a delay");
    assert!(
        after >= Duration::from_secs(115),
        "retried when the holder's lease ends: {after:?}"
    );
    assert_eq!(h.world().creates, 0);
    assert!(
        h.store
            .get_order(&connector(), OrderId(42))
            .await
            .unwrap()
            .is_none_or(|r| !matches!(r.state, woosellsy_ports::OrderState::Error { .. }))
    );
}

/// A conversion given a deadline (a Lambda invocation's end) never waits past it, and starts no create
/// it could not finish before it.
#[tokio::test]
async fn no_wait_goes_past_the_deadline_and_no_create_starts_too_late() {
    let h = Harness::with_settings(ConverterSettings {
        lease_wait: Duration::from_secs(30),
        ..settings(Duration::from_secs(120))
    })
    .await;
    h.store
        .take_lease(
            &connector(),
            NEW_CUSTOMER,
            "other-worker",
            Utc::now(),
            Duration::from_secs(120),
        )
        .await
        .unwrap();
    let order = order(42, "processing", true, at(10, 30, 0));
    h.put_order(order.clone());
    let started = tokio::time::Instant::now();
    let deadline = started + Duration::from_secs(8);
    let outcome = h
        .converter
        .process_until(&event(&order), Some(deadline))
        .await;
    assert!(matches!(outcome, Outcome::Retry { .. }), "{outcome:?}");
    assert!(
        tokio::time::Instant::now() < deadline,
        "returned before the deadline"
    );

    // The lease is free, but only two seconds are left: too little to start a create.
    h.store
        .release_lease(&connector(), NEW_CUSTOMER, "other-worker")
        .await
        .unwrap();
    let soon = tokio::time::Instant::now() + Duration::from_secs(2);
    let outcome = h.converter.process_until(&event(&order), Some(soon)).await;
    assert_eq!(
        outcome,
        Outcome::Retry {
            reason: "too little time left in this invocation to create a document".to_owned(),
            after: Some(Duration::ZERO),
        }
    );
    assert_eq!(h.world().creates, 0);
}

/// Creations are serialised only on what two documents could both create: a document for a known
/// customer and known items goes ahead while another worker creates for other customers.
#[tokio::test]
async fn documents_for_known_customers_and_items_take_no_lock() {
    let h = Harness::with_settings(ConverterSettings {
        lease_wait: Duration::from_millis(50),
        ..settings(Duration::from_secs(120))
    })
    .await;
    let cache = |kind, key: &'static str, value: &'static str| {
        let store = h.store.clone();
        async move { store.put_cached_id(&connector(), kind, key, value).await }
    };
    cache(
        woosellsy_ports::IdKind::Customer,
        "client@example.fr",
        "individual:7",
    )
    .await
    .unwrap();
    cache(woosellsy_ports::IdKind::Item, "MUG", "product:3")
        .await
        .unwrap();
    // Another worker is busy creating: under the connector-wide lease of before, and for a new customer.
    for busy in ["create", "create:customer:someone-else@example.fr"] {
        h.store
            .take_lease(
                &connector(),
                busy,
                "other-worker",
                Utc::now(),
                Duration::from_secs(120),
            )
            .await
            .unwrap();
    }
    let order = order(42, "processing", true, at(10, 30, 0));
    h.put_order(order.clone());
    let outcome = h.converter.process(&event(&order)).await;
    assert!(matches!(outcome, Outcome::Done { .. }), "{outcome:?}");
}
