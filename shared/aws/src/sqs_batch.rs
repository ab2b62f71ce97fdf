//! The converter's partial-batch rule for an SQS FIFO queue, as a pure function over the batch.
//!
//! Records are processed one after the other, in the order Lambda gives them (the FIFO order). When a
//! record must be retried, it is reported in `batchItemFailures`, and so is **every later record of the
//! same `MessageGroupId`** in the batch, unprocessed: SQS then redelivers the group from the failed
//! record on, in order. Other groups go on. (This is Powertools' `SqsFifoPartialProcessor` with "skip
//! group on error"; the runtime's own SQS example processes records concurrently, which would reorder an
//! order's events.)
//!
//! SQS holds the whole group back while any of its messages is invisible, so every record reported
//! failed must become visible when the failed one does: the caller is told which records were
//! skipped for which failure's delay (`skipped`), and sets their visibility to match.
//!
//! A record that is acknowledged is deleted by Lambda. Permanent failures are acknowledged by the caller
//! after recording them, so that only transient ones come back; a message that keeps failing reaches the
//! queue's `maxReceiveCount` and moves to the dead-letter queue.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};

/// What the per-record handler decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    /// Processed, or failed for good and recorded: delete the message.
    Ack,
    /// Try again after `after` (the caller set the message's visibility to it); after
    /// `maxReceiveCount` receives it goes to the DLQ.
    Retry { after: Duration },
}

/// The `MessageGroupId` of a record (absent on a standard queue).
pub fn group_id(record: &SqsMessage) -> Option<&str> {
    record.attributes.get("MessageGroupId").map(String::as_str)
}

/// Runs `handle` on each record in order and builds the partial-batch response. Each later record of a
/// failed record's group is not handled but passed to `skipped` with the failed record's delay.
///
/// Records without a group id are treated as one group (the safe reading: order preserved). A failed
/// record without a `messageId` is reported with an empty identifier, which Lambda treats as a failure
/// of the whole batch: nothing is lost.
pub async fn process_fifo_batch<'a, F, Fut, S, SFut>(
    event: &'a SqsEvent,
    mut handle: F,
    mut skipped: S,
) -> SqsBatchResponse
where
    F: FnMut(&'a SqsMessage) -> Fut,
    Fut: Future<Output = RecordOutcome>,
    S: FnMut(&'a SqsMessage, Duration) -> SFut,
    SFut: Future<Output = ()>,
{
    let mut response = SqsBatchResponse::default();
    let mut blocked: HashMap<Option<&str>, Duration> = HashMap::new();
    for record in &event.records {
        let group = group_id(record);
        let id = record.message_id.clone().unwrap_or_default();
        if let Some(after) = blocked.get(&group) {
            tracing::info!(message_id = %id, group = group.unwrap_or(""), "skipped: an earlier message of its group failed");
            skipped(record, *after).await;
            response.add_failure(id);
            continue;
        }
        if let RecordOutcome::Retry { after } = handle(record).await {
            blocked.insert(group, after);
            response.add_failure(id);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn record(id: &str, group: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.to_owned());
        m.body = Some(id.to_owned());
        m.attributes.insert("MessageGroupId".into(), group.into());
        m
    }

    fn batch(records: &[(&str, &str)]) -> SqsEvent {
        let mut e = SqsEvent::default();
        e.records = records.iter().map(|(id, g)| record(id, g)).collect();
        e
    }

    fn failed(resp: &SqsBatchResponse) -> Vec<String> {
        resp.batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect()
    }

    #[tokio::test]
    async fn a_failure_fails_the_rest_of_its_group_but_not_other_groups() {
        let e = batch(&[
            ("a1", "A"),
            ("b1", "B"),
            ("a2", "A"),
            ("b2", "B"),
            ("a3", "A"),
            ("c1", "C"),
        ]);
        let seen = RefCell::new(Vec::new());
        let held = RefCell::new(Vec::new());
        let resp = process_fifo_batch(
            &e,
            |r| {
                let id = r.message_id.clone().unwrap();
                seen.borrow_mut().push(id.clone());
                async move {
                    if id == "a2" {
                        RecordOutcome::Retry {
                            after: Duration::from_secs(7),
                        }
                    } else {
                        RecordOutcome::Ack
                    }
                }
            },
            |r, after| {
                held.borrow_mut()
                    .push((r.message_id.clone().unwrap(), after));
                async {}
            },
        )
        .await;
        assert_eq!(failed(&resp), ["a2", "a3"]);
        // a3 was never handed to the handler: it must not be processed before a2.
        assert_eq!(*seen.borrow(), ["a1", "b1", "a2", "b2", "c1"]);
        // …and comes back when a2 does, not after the queue's visibility timeout.
        assert_eq!(*held.borrow(), [("a3".to_owned(), Duration::from_secs(7))]);
    }

    #[tokio::test]
    async fn records_are_processed_sequentially_in_batch_order() {
        let e = batch(&[("1", "A"), ("2", "A"), ("3", "B"), ("4", "A")]);
        let seen = RefCell::new(Vec::new());
        let resp = process_fifo_batch(
            &e,
            |r| {
                seen.borrow_mut().push(r.message_id.clone().unwrap());
                async { RecordOutcome::Ack }
            },
            |_, _| async {},
        )
        .await;
        assert!(resp.batch_item_failures.is_empty());
        assert_eq!(*seen.borrow(), ["1", "2", "3", "4"]);
    }

    #[tokio::test]
    async fn a_failed_first_record_fails_its_whole_group() {
        let e = batch(&[("a1", "A"), ("a2", "A"), ("a3", "A")]);
        let resp = process_fifo_batch(
            &e,
            |_| async {
                RecordOutcome::Retry {
                    after: Duration::ZERO,
                }
            },
            |_, _| async {},
        )
        .await;
        assert_eq!(failed(&resp), ["a1", "a2", "a3"]);
    }

    #[tokio::test]
    async fn records_without_a_group_keep_their_order_too() {
        let mut e = batch(&[("x1", "X")]);
        let mut loose = SqsMessage::default();
        loose.message_id = Some("n1".into());
        let mut loose2 = SqsMessage::default();
        loose2.message_id = Some("n2".into());
        e.records = vec![loose, e.records.remove(0), loose2];
        let resp = process_fifo_batch(
            &e,
            |r| {
                let retry = r.message_id.as_deref() == Some("n1");
                async move {
                    if retry {
                        RecordOutcome::Retry {
                            after: Duration::ZERO,
                        }
                    } else {
                        RecordOutcome::Ack
                    }
                }
            },
            |_, _| async {},
        )
        .await;
        assert_eq!(failed(&resp), ["n1", "n2"]);
    }

    #[tokio::test]
    async fn a_failure_without_message_id_fails_the_whole_batch() {
        let mut e = batch(&[("a1", "A")]);
        e.records[0].message_id = None;
        let resp = process_fifo_batch(
            &e,
            |_| async {
                RecordOutcome::Retry {
                    after: Duration::ZERO,
                }
            },
            |_, _| async {},
        )
        .await;
        assert_eq!(failed(&resp), [""]);
    }

    #[tokio::test]
    async fn the_response_serialises_as_lambda_expects() {
        let e = batch(&[("a1", "A")]);
        let resp = process_fifo_batch(
            &e,
            |_| async {
                RecordOutcome::Retry {
                    after: Duration::ZERO,
                }
            },
            |_, _| async {},
        )
        .await;
        let json = serde_json::to_value(&resp).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "a1"}]})
        );
    }
}
