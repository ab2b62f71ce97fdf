//! The local worker settles every message, whatever the converter did — a panic included: a task that
//! panics counts as a failed attempt and its message is dead-lettered like any other, never redelivered
//! forever.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::*;
use woosellsy_domain::OrderId;
use woosellsy_engine::{RetryPolicy, Worker, WorkerSettings};
use woosellsy_ports::{OrderState, PullQueue, Queue, Store};
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
