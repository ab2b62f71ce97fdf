//! The local worker settles every message, whatever the converter did — a panic included: a task that
//! panics counts as a failed attempt and its message is dead-lettered like any other, never redelivered
//! forever.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::*;
use woosellsy_domain::OrderId;
use woosellsy_engine::{RetryPolicy, Worker, WorkerSettings};
use woosellsy_ports::{IdKind, OrderState, PullQueue, Queue, Store};
use woosellsy_store_sqlite::SqliteQueue;

#[tokio::test]
async fn a_panicking_conversion_is_dead_lettered_not_redelivered_forever() {
    let dir = tempfile::tempdir().unwrap();
    let queue = Arc::new(SqliteQueue::open(dir.path()).unwrap());
    // A panic mid-create leaves the claim held until its lease ends (the create's outcome is unknown):
    // a short lease lets each attempt reach the backend again.
    let h = Harness::with_settings(woosellsy_engine::ConverterSettings {
        lease: Duration::from_millis(1),
        worker_id: WORKER.to_owned(),
        ..woosellsy_engine::ConverterSettings::default()
    })
    .await;
    let order = order(42, "processing", true, at(10, 30, 0));
    h.put_order(order.clone());
    h.world().create_panics = true;
    queue.enqueue(&event(&order)).await.unwrap();

    let worker = Worker::new(
        queue.clone(),
        h.converter.clone(),
        WorkerSettings {
            concurrency: 1,
            // Redelivered at once if left unsettled, so a loop shows within the test's rounds.
            visibility: Duration::from_millis(1),
            retry: RetryPolicy {
                base: Duration::from_millis(1),
                max_delay: Duration::from_millis(1),
                max_attempts: Some(3),
                refused_base: Duration::from_millis(1),
            },
            idle_poll: Duration::from_millis(1),
        },
    );
    for _ in 0..20 {
        worker.run_once().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let dead = queue.dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1, "set aside after its attempts");
    assert_eq!(dead[0].attempts, 3);
    assert!(dead[0].reason.contains("panicked"), "{}", dead[0].reason);
    let record = h
        .store
        .get_order(&connector(), OrderId(42))
        .await
        .unwrap()
        .expect("the failure is on the order");
    match record.state {
        OrderState::Error { reason } => assert!(reason.contains("panicked"), "{reason}"),
        other => panic!("expected the error state, got {other:?}"),
    }
    assert_eq!(queue.depth().await.unwrap(), 0);
}

/// One slow order holds one slot of the worker, not the others: a message is received as soon as a
/// slot is free (before, a batch waited for its slowest message before the next was received).
#[tokio::test]
async fn a_slow_order_does_not_hold_back_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let queue = Arc::new(SqliteQueue::open(dir.path()).unwrap());
    let h = Harness::new().await;
    h.world().hold_order = Some(41);
    // A known customer and item: nothing is locked, the orders only share the worker.
    for (kind, key, value) in [
        (IdKind::Customer, "client@example.fr", "individual:7"),
        (IdKind::Item, "MUG", "product:3"),
    ] {
        h.store
            .put_cached_id(&connector(), kind, key, value)
            .await
            .unwrap();
    }
    for id in [41, 42, 43] {
        let order = order(id, "processing", true, at(10, 30, 0));
        h.put_order(order.clone());
        queue.enqueue(&event(&order)).await.unwrap();
    }
    let worker = Arc::new(Worker::new(
        queue.clone(),
        h.converter.clone(),
        WorkerSettings {
            concurrency: 2,
            idle_poll: Duration::from_millis(10),
            ..WorkerSettings::default()
        },
    ));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn({
        let worker = worker.clone();
        async move { worker.run(stopped).await }
    });

    // Orders 42 and 43 are converted while 41's create is still waiting on Sellsy.
    let both_done = async {
        loop {
            let done = |id| {
                let store = h.store.clone();
                async move {
                    store
                        .get_order(&connector(), OrderId(id))
                        .await
                        .unwrap()
                        .is_some_and(|r| r.state == OrderState::Done)
                }
            };
            if done(42).await && done(43).await {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), both_done)
        .await
        .expect("42 and 43 converted while 41 was slow");
    assert_eq!(h.world().creates, 2);

    let release = h.world().release.clone();
    release.notify_one();
    stop.send(true).unwrap();
    running.await.unwrap();
    assert_eq!(h.world().creates, 3);
}
