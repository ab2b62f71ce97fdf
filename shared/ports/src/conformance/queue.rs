//! [`PullQueue`] checks: FIFO per group with one message in flight per group, redelivery once the
//! visibility ends (stale receipts then refused), delivery counts, dead letters.

use std::sync::Arc;
use std::time::Duration;

use woosellsy_domain::{ConnectorId, OrderId};

use super::{now_ms, ok, unique_connector};
use crate::{PullQueue, QueuedEvent, Received};

/// Visibility for receives that must not expire during a check.
const LONG_VISIBILITY: Duration = Duration::from_secs(120);

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
