//! [`SqsQueue`]: the [`Queue`] port on an SQS FIFO queue.
//!
//! * `MessageGroupId` is [`QueuedEvent::group_key`] (connector + order): SQS delivers one group in order
//!   and never hands out a group's next message while one is in flight, so an order is never converted
//!   concurrently and its events are seen in the order they were received.
//! * `MessageDeduplicationId` is a SHA-256 of what the event says (connector, topic, order, raw body),
//!   not of WooCommerce's `X-WC-Webhook-Delivery-ID`, which is not unique; the delivery id and the
//!   receive time are left out so that WooCommerce re-sending the same payload is dropped by SQS.
//! * A body over the queue's size limit (256 KiB) is not dropped: the event is sent without its body, as
//!   a pointer (connector, order), and the converter fetches the order from WooCommerce.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use serde::Serialize;
use sha2::{Digest, Sha256};
use woosellsy_ports::{PortError, PortResult, Queue, QueuedEvent};

use crate::dynamo::hex;
use crate::error::from_sdk;

/// SQS's classic message size limit, and the `MaximumMessageSize` the template sets on the queue.
pub const SQS_MAX_BODY_BYTES: usize = 262_144;

/// What is sent for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The JSON of the [`QueuedEvent`] (without its webhook body when `pointer`).
    pub body: String,
    pub group_id: String,
    pub deduplication_id: String,
    /// The webhook body did not fit: the converter will fetch the order.
    pub pointer: bool,
}

/// The [`Queue`] on an SQS FIFO queue.
#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
    max_body_bytes: usize,
}

#[derive(Serialize)]
struct DedupContent<'a> {
    connector: &'a str,
    topic: &'a str,
    order: u64,
    body: Option<&'a str>,
}

/// The deduplication id of an event: equal for the same webhook payload however often it is delivered.
pub fn deduplication_id(event: &QueuedEvent) -> String {
    let content = DedupContent {
        connector: event.connector.as_str(),
        topic: &event.topic,
        order: event.order.0,
        body: event.body.as_deref(),
    };
    // Serialising a struct of strings and an integer cannot fail; the fallback keeps this total anyway.
    let bytes = serde_json::to_vec(&content)
        .unwrap_or_else(|_| format!("{}:{}", event.group_key(), event.topic).into_bytes());
    hex(&Sha256::digest(&bytes))
}

fn encode(what: &str, event: &QueuedEvent) -> PortResult<String> {
    serde_json::to_string(event).map_err(|e| PortError::permanent(format!("encoding {what}: {e}")))
}

/// Builds the message for `event`, falling back to a pointer when the body would exceed `max_body_bytes`.
pub fn outgoing_message(event: &QueuedEvent, max_body_bytes: usize) -> PortResult<OutgoingMessage> {
    let what = format!("event for order {}", event.group_key());
    let group_id = event.group_key();
    let deduplication_id = deduplication_id(event);
    let body = encode(&what, event)?;
    if body.len() <= max_body_bytes {
        return Ok(OutgoingMessage {
            body,
            group_id,
            deduplication_id,
            pointer: false,
        });
    }
    let pointer = QueuedEvent {
        body: None,
        ..event.clone()
    };
    let body = encode(&what, &pointer)?;
    if body.len() > max_body_bytes {
        return Err(PortError::permanent(format!(
            "{what}: even without its body the event is {} bytes, over the queue limit of {max_body_bytes}",
            body.len()
        )));
    }
    Ok(OutgoingMessage {
        body,
        group_id,
        deduplication_id,
        pointer: true,
    })
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            max_body_bytes: SQS_MAX_BODY_BYTES,
        }
    }

    /// For a queue configured with a smaller `MaximumMessageSize` (and for tests).
    pub fn with_max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn enqueue(&self, event: &QueuedEvent) -> PortResult<()> {
        let message = outgoing_message(event, self.max_body_bytes)?;
        if message.pointer {
            tracing::warn!(
                connector = %event.connector,
                order = %event.order,
                delivery_id = event.delivery_id.as_deref().unwrap_or(""),
                "webhook body over the queue limit: queued a pointer, the converter will fetch the order"
            );
        }
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(message.body)
            .message_group_id(message.group_id)
            .message_deduplication_id(message.deduplication_id)
            .send()
            .await
            .map_err(|e| from_sdk(&format!("SendMessage for order {}", event.group_key()), e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use woosellsy_domain::{ConnectorId, OrderId};

    fn event(body: Option<&str>) -> QueuedEvent {
        QueuedEvent {
            connector: ConnectorId::parse("shop-1").unwrap(),
            topic: "order.updated".into(),
            order: OrderId(1042),
            delivery_id: Some("d-1".into()),
            webhook_id: Some(7),
            body: body.map(str::to_owned),
            received_at: Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).unwrap(),
        }
    }

    #[test]
    fn redelivery_of_the_same_payload_has_the_same_dedup_id() {
        let first = event(Some(r#"{"id":1042,"status":"processing"}"#));
        let mut again = first.clone();
        again.delivery_id = Some("d-1".into()); // WooCommerce reuses delivery ids…
        again.received_at = Utc::now(); // …and a re-send arrives later
        assert_eq!(deduplication_id(&first), deduplication_id(&again));
        assert_eq!(deduplication_id(&first).len(), 64);
    }

    #[test]
    fn a_changed_order_or_topic_is_not_deduplicated() {
        let a = event(Some(r#"{"id":1042,"status":"processing"}"#));
        let b = event(Some(r#"{"id":1042,"status":"completed"}"#));
        let mut c = a.clone();
        c.topic = "order.created".into();
        let mut d = a.clone();
        d.delivery_id = Some("d-2".into()); // same payload, new delivery id: still a duplicate
        assert_ne!(deduplication_id(&a), deduplication_id(&b));
        assert_ne!(deduplication_id(&a), deduplication_id(&c));
        assert_eq!(deduplication_id(&a), deduplication_id(&d));
    }

    #[test]
    fn groups_are_per_connector_and_order() {
        let m = outgoing_message(&event(Some("{}")), SQS_MAX_BODY_BYTES).unwrap();
        assert_eq!(m.group_id, "shop-1:1042");
        assert!(!m.pointer);
        let back: QueuedEvent = serde_json::from_str(&m.body).unwrap();
        assert_eq!(back, event(Some("{}")));
    }

    #[test]
    fn an_oversized_body_becomes_a_pointer_with_the_same_dedup_id() {
        let big = format!(r#"{{"id":1042,"note":"{}"}}"#, "é".repeat(200_000));
        let e = event(Some(&big));
        let m = outgoing_message(&e, SQS_MAX_BODY_BYTES).unwrap();
        assert!(m.pointer);
        assert!(m.body.len() < 1000);
        let back: QueuedEvent = serde_json::from_str(&m.body).unwrap();
        assert_eq!(back.body, None);
        assert_eq!(back.order, OrderId(1042));
        assert_eq!(m.deduplication_id, deduplication_id(&e));
    }

    #[test]
    fn a_body_exactly_at_the_limit_is_sent_whole() {
        let e = event(Some(""));
        let overhead = serde_json::to_string(&e).unwrap().len();
        let filler = "a".repeat(1000);
        let e = event(Some(&filler));
        let m = outgoing_message(&e, overhead + 1000).unwrap();
        assert!(!m.pointer);
        let m = outgoing_message(&e, overhead + 999).unwrap();
        assert!(m.pointer);
    }
}
