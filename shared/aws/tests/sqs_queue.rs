//! SqsQueue against moto_server's SQS FIFO: group ids, content-based dedup ids, per-group order and
//! locking, and the pointer fallback for bodies over the size limit.

use woosellsy_aws::testkit as common;

use std::collections::HashMap;

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use chrono::Utc;
use common::{Moto, create_fifo_queue};
use woosellsy_aws::SqsQueue;
use woosellsy_aws::sqs::deduplication_id;
use woosellsy_domain::{ConnectorId, OrderId};
use woosellsy_ports::{Queue, QueuedEvent};

fn event(order: u64, body: &str, delivery: &str) -> QueuedEvent {
    QueuedEvent {
        connector: ConnectorId::parse("shop-1").unwrap(),
        topic: "order.updated".into(),
        order: OrderId(order),
        delivery_id: Some(delivery.into()),
        webhook_id: Some(3),
        body: Some(body.into()),
        received_at: Utc::now(),
    }
}

async fn receive(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Message> {
    sqs.receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .visibility_timeout(60)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
}

fn decoded(m: &Message) -> QueuedEvent {
    serde_json::from_str(m.body().unwrap()).unwrap()
}

fn attr(m: &Message, name: MessageSystemAttributeName) -> String {
    m.attributes()
        .and_then(|a| a.get(&name))
        .cloned()
        .unwrap_or_default()
}

async fn setup(moto: &Moto, name: &str) -> (aws_sdk_sqs::Client, SqsQueue, String) {
    let sqs = aws_sdk_sqs::Client::new(&moto.config().await);
    let (url, _) = create_fifo_queue(&sqs, name, 30, 5).await;
    (sqs.clone(), SqsQueue::new(sqs, url.clone()), url)
}

#[tokio::test]
async fn events_are_grouped_per_order_and_kept_in_order_within_a_group() {
    let Some(moto) = Moto::start() else { return };
    let (sqs, queue, url) = setup(&moto, "order").await;
    let sent = [
        event(1, r#"{"id":1,"status":"pending"}"#, "d1"),
        event(2, r#"{"id":2,"status":"pending"}"#, "d2"),
        event(1, r#"{"id":1,"status":"processing"}"#, "d3"),
        event(1, r#"{"id":1,"status":"completed"}"#, "d4"),
        event(2, r#"{"id":2,"status":"processing"}"#, "d5"),
    ];
    for e in &sent {
        queue.enqueue(e).await.unwrap();
    }
    let mut by_group: HashMap<String, Vec<QueuedEvent>> = HashMap::new();
    let mut all = Vec::new();
    while all.len() < sent.len() {
        let batch = receive(&sqs, &url).await;
        assert!(
            !batch.is_empty(),
            "messages went missing: got {} of {}",
            all.len(),
            sent.len()
        );
        for m in batch {
            let e = decoded(&m);
            assert_eq!(
                attr(&m, MessageSystemAttributeName::MessageGroupId),
                e.group_key()
            );
            assert_eq!(
                attr(&m, MessageSystemAttributeName::MessageDeduplicationId),
                deduplication_id(&e)
            );
            by_group.entry(e.group_key()).or_default().push(e.clone());
            sqs.delete_message()
                .queue_url(&url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
            all.push(e);
        }
    }
    let statuses = |g: &str| -> Vec<String> {
        by_group[g]
            .iter()
            .map(|e| e.body.clone().unwrap())
            .collect()
    };
    assert_eq!(
        statuses("shop-1:1"),
        [&sent[0], &sent[2], &sent[3]].map(|e| e.body.clone().unwrap())
    );
    assert_eq!(
        statuses("shop-1:2"),
        [&sent[1], &sent[4]].map(|e| e.body.clone().unwrap())
    );
}

#[tokio::test]
async fn a_group_with_a_message_in_flight_is_not_handed_out_again() {
    let Some(moto) = Moto::start() else { return };
    let (sqs, queue, url) = setup(&moto, "locking").await;
    queue.enqueue(&event(1, r#"{"v":1}"#, "a")).await.unwrap();
    queue.enqueue(&event(1, r#"{"v":2}"#, "b")).await.unwrap();
    queue.enqueue(&event(2, r#"{"v":1}"#, "c")).await.unwrap();
    let first = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(1)
        .visibility_timeout(60)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(first.len(), 1);
    let in_flight = decoded(&first[0]);
    assert_eq!(in_flight.order, OrderId(1));
    let rest = receive(&sqs, &url).await;
    let orders: Vec<u64> = rest.iter().map(|m| decoded(m).order.0).collect();
    assert_eq!(
        orders,
        [2],
        "order 1 is being converted: its next event must wait"
    );
}

#[tokio::test]
async fn the_same_payload_delivered_twice_is_queued_once() {
    let Some(moto) = Moto::start() else { return };
    let (sqs, queue, url) = setup(&moto, "dedup").await;
    let body = r#"{"id":1042,"status":"processing","date_modified_gmt":"2026-01-05T10:00:00"}"#;
    // WooCommerce retries with the same payload; its delivery id is not unique and must not matter.
    queue
        .enqueue(&event(1042, body, "delivery-1"))
        .await
        .unwrap();
    queue
        .enqueue(&event(1042, body, "delivery-2"))
        .await
        .unwrap();
    queue
        .enqueue(&event(1042, body, "delivery-1"))
        .await
        .unwrap();
    // A real change to the order is a new event, even with a reused delivery id.
    let changed = r#"{"id":1042,"status":"completed","date_modified_gmt":"2026-01-05T11:00:00"}"#;
    queue
        .enqueue(&event(1042, changed, "delivery-1"))
        .await
        .unwrap();

    let mut bodies = Vec::new();
    loop {
        let batch = receive(&sqs, &url).await;
        if batch.is_empty() {
            break;
        }
        for m in batch {
            bodies.push(decoded(&m).body.unwrap());
            sqs.delete_message()
                .queue_url(&url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(bodies, [body, changed]);
}

#[tokio::test]
async fn a_body_over_the_sqs_limit_is_queued_as_a_pointer_not_dropped() {
    let Some(moto) = Moto::start() else { return };
    let (sqs, queue, url) = setup(&moto, "pointer").await;
    let huge = format!(r#"{{"id":7,"customer_note":"{}"}}"#, "x".repeat(300 * 1024));
    let near = format!(r#"{{"id":8,"customer_note":"{}"}}"#, "y".repeat(250 * 1024));
    // The limit is real: sent whole, the event is refused by the queue.
    let unguarded = queue.clone().with_max_body_bytes(usize::MAX);
    assert!(unguarded.enqueue(&event(7, &huge, "big")).await.is_err());
    queue
        .enqueue(&event(7, &huge, "big"))
        .await
        .expect("an oversized webhook must still be queued");
    queue
        .enqueue(&event(8, &near, "near"))
        .await
        .expect("a body under the limit is sent whole");
    let mut got: HashMap<u64, QueuedEvent> = HashMap::new();
    while got.len() < 2 {
        let batch = receive(&sqs, &url).await;
        assert!(!batch.is_empty());
        for m in batch {
            let e = decoded(&m);
            got.insert(e.order.0, e);
        }
    }
    let pointer = &got[&7];
    assert_eq!(
        pointer.body, None,
        "the converter will fetch order 7 from WooCommerce"
    );
    assert_eq!(pointer.connector.as_str(), "shop-1");
    assert_eq!(pointer.topic, "order.updated");
    assert_eq!(got[&8].body.as_deref(), Some(near.as_str()));
}

#[tokio::test]
async fn a_missing_queue_is_reported_not_swallowed() {
    let Some(moto) = Moto::start() else { return };
    let sqs = aws_sdk_sqs::Client::new(&moto.config().await);
    let queue = SqsQueue::new(sqs, format!("{}/123456789012/missing.fifo", moto.endpoint));
    let err = queue.enqueue(&event(1, "{}", "d")).await.unwrap_err();
    assert!(err.to_string().contains("SendMessage"), "{err}");
}
