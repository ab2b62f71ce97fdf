//! [`SqliteQueue`]: the durable FIFO [`PullQueue`] of the single-machine connector, in the same SQLite
//! file as the store, with a dead-letter table kept for operators.
//!
//! Semantics follow SQS FIFO, which the AWS deployment uses, so the converter behaves the same on both:
//! * a message is durable once `enqueue` returns (the insert is committed with `synchronous=FULL`);
//! * per group (`QueuedEvent::group_key`, one order) only the oldest message is ever handed out, and
//!   not while it is in flight or waiting out a `retry_later` delay: later events of an order never
//!   overtake earlier ones;
//! * a receive hides the message for the visibility timeout and counts the delivery; a receipt names
//!   one delivery (message id + delivery count) and goes stale when the message is received again.
//!
//! Time is the machine's wall clock, read inside each transaction.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use woosellsy_ports::{PortError, PortResult, PullQueue, Queue, QueuedEvent, Received};

use crate::db::{Db, from_json, from_micros, micros, micros_after, sql, to_json};

/// The [`Queue`] and [`PullQueue`] of the single-machine connector. Cheap to clone (clones share one
/// connection); the receiver and the worker may each open their own, even from two processes.
#[derive(Clone)]
pub struct SqliteQueue {
    db: Db,
    /// Recorded on each message this handle receives ([`SqliteQueue::with_receiver`]).
    receiver: Option<String>,
}

/// A message moved aside by [`PullQueue::dead_letter`] (or because its stored event was unreadable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Id in the dead-letter table (for [`SqliteQueue::requeue_dead_letter`] and
    /// [`SqliteQueue::discard_dead_letter`]).
    pub id: i64,
    /// Its ordering group (`connector:order`).
    pub group_key: String,
    /// The event as it was queued (JSON), kept verbatim even if it cannot be read back.
    pub event_json: String,
    /// Deliveries made before it was moved aside.
    pub attempts: u32,
    pub reason: String,
    pub enqueued_at: DateTime<Utc>,
    pub dead_lettered_at: DateTime<Utc>,
}

impl DeadLetter {
    /// The queued event, decoded.
    pub fn event(&self) -> PortResult<QueuedEvent> {
        from_json("dead-lettered event", &self.event_json)
    }
}

impl SqliteQueue {
    /// Opens (creating if needed) `dir/woosellsy.db`, the same file as
    /// [`SqliteStore::open`](crate::SqliteStore::open). Blocking: call it at start-up.
    pub fn open(dir: &Path) -> PortResult<Self> {
        Ok(Self {
            db: Db::open(dir)?,
            receiver: None,
        })
    }

    /// Names the worker receiving through this handle (its `worker_id`): each message it receives
    /// records the name until the message is acked, delayed or received again, so that
    /// [`SqliteQueue::release_receiver`] can hand it out again should the worker die.
    pub fn with_receiver(mut self, receiver: &str) -> Self {
        self.receiver = Some(receiver.to_owned());
        self
    }

    /// Makes every message `receiver` holds in flight visible again now, and returns how many. For a
    /// receiver known to be dead (its process lock in `workers/` is free): its messages need not wait
    /// out their visibility timeout. Messages it delayed on purpose (`retry_later`) keep their delay.
    pub async fn release_receiver(&self, receiver: &str) -> PortResult<usize> {
        let receiver = receiver.to_owned();
        self.db
            .call(move |conn| {
                let now = micros(Utc::now());
                conn.execute(
                    "UPDATE queue SET visible_at = ?2, receiver = NULL
                     WHERE receiver = ?1 AND visible_at > ?2",
                    params![receiver, now],
                )
                .map_err(sql("cannot release a receiver's messages"))
            })
            .await
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.db.path()
    }

    /// Dead-lettered messages, oldest first.
    pub async fn dead_letters(&self) -> PortResult<Vec<DeadLetter>> {
        self.db
            .call(|conn| {
                let mut stmt = conn
                    .prepare(
                        "SELECT id, group_key, event, attempts, reason, enqueued_at, dead_lettered_at
                         FROM dead_letters ORDER BY id",
                    )
                    .map_err(sql("cannot list dead letters"))?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok(DeadLetter {
                            id: r.get(0)?,
                            group_key: r.get(1)?,
                            event_json: r.get(2)?,
                            attempts: attempts_u32(r.get(3)?),
                            reason: r.get(4)?,
                            enqueued_at: from_micros(r.get(5)?),
                            dead_lettered_at: from_micros(r.get(6)?),
                        })
                    })
                    .map_err(sql("cannot list dead letters"))?;
                rows.collect::<Result<Vec<_>, _>>()
                    .map_err(sql("cannot list dead letters"))
            })
            .await
    }

    /// Puts a dead-lettered message back at the end of its group, as a fresh message (attempts start
    /// again from zero). `false` if there is no such dead letter.
    pub async fn requeue_dead_letter(&self, id: i64) -> PortResult<bool> {
        self.db
            .call(move |conn| {
                let tx = begin(conn)?;
                let row: Option<(String, String)> = tx
                    .query_row(
                        "SELECT group_key, event FROM dead_letters WHERE id = ?1",
                        [id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(sql("cannot read dead letter"))?;
                let Some((group_key, event)) = row else {
                    return Ok(false);
                };
                let now = micros(Utc::now());
                tx.execute(
                    "INSERT INTO queue (group_key, event, enqueued_at, visible_at, attempts)
                     VALUES (?1, ?2, ?3, ?3, 0)",
                    params![group_key, event, now],
                )
                .map_err(sql("cannot requeue dead letter"))?;
                tx.execute("DELETE FROM dead_letters WHERE id = ?1", [id])
                    .map_err(sql("cannot requeue dead letter"))?;
                tx.commit().map_err(sql("cannot commit requeue"))?;
                Ok(true)
            })
            .await
    }

    /// Deletes a dead-lettered message for good. `false` if there is no such dead letter.
    pub async fn discard_dead_letter(&self, id: i64) -> PortResult<bool> {
        self.db
            .call(move |conn| {
                let n = conn
                    .execute("DELETE FROM dead_letters WHERE id = ?1", [id])
                    .map_err(sql("cannot discard dead letter"))?;
                Ok(n > 0)
            })
            .await
    }
}

#[async_trait]
impl Queue for SqliteQueue {
    async fn enqueue(&self, event: &QueuedEvent) -> PortResult<()> {
        let group_key = event.group_key();
        let text = to_json("queued event", event)?;
        self.db
            .call(move |conn| {
                let now = micros(Utc::now());
                conn.execute(
                    "INSERT INTO queue (group_key, event, enqueued_at, visible_at, attempts)
                     VALUES (?1, ?2, ?3, ?3, 0)",
                    params![group_key, text, now],
                )
                .map_err(sql("cannot enqueue event"))?;
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl PullQueue for SqliteQueue {
    async fn receive(&self, max: usize, visibility: Duration) -> PortResult<Vec<Received>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let receiver = self.receiver.clone();
        self.db
            .call(move |conn| {
                let tx = begin(conn)?;
                let now = Utc::now();
                let now_us = micros(now);
                let hidden_until = micros_after(now, visibility);
                // The head (oldest message) of every group, if it is visible: a group whose head is in
                // flight or delayed hands out nothing.
                let heads: Vec<(i64, String, i64)> = {
                    let mut stmt = tx
                        .prepare(
                            "SELECT q.id, q.event, q.attempts
                             FROM queue q
                             JOIN (SELECT MIN(id) AS head FROM queue GROUP BY group_key) h ON q.id = h.head
                             WHERE q.visible_at <= ?1
                             ORDER BY q.id
                             LIMIT ?2",
                        )
                        .map_err(sql("cannot receive"))?;
                    let rows = stmt
                        .query_map(params![now_us, limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .map_err(sql("cannot receive"))?;
                    rows.collect::<Result<_, _>>().map_err(sql("cannot receive"))?
                };
                let mut received = Vec::with_capacity(heads.len());
                for (id, text, attempts) in heads {
                    let attempts = attempts.saturating_add(1);
                    match from_json::<QueuedEvent>("queued event", &text) {
                        Ok(event) => {
                            tx.execute(
                                "UPDATE queue SET attempts = ?2, visible_at = ?3, receiver = ?4
                                 WHERE id = ?1",
                                params![id, attempts, hidden_until, receiver],
                            )
                            .map_err(sql("cannot receive"))?;
                            received.push(Received {
                                receipt: receipt(id, attempts),
                                event,
                                attempts: attempts_u32(attempts),
                            });
                        }
                        Err(e) => {
                            // It would block its group forever: move it aside for an operator.
                            tracing::error!(message_id = id, error = %e, "dead-lettering an unreadable queued event");
                            move_to_dead_letters(&tx, id, &e.to_string(), now_us)?;
                        }
                    }
                }
                tx.commit().map_err(sql("cannot commit receive"))?;
                Ok(received)
            })
            .await
    }

    async fn ack(&self, receipt: &str) -> PortResult<()> {
        let (id, attempts) = parse_receipt(receipt)?;
        self.db
            .call(move |conn| {
                let n = conn
                    .execute(
                        "DELETE FROM queue WHERE id = ?1 AND attempts = ?2",
                        params![id, attempts],
                    )
                    .map_err(sql("cannot ack"))?;
                if n == 0 {
                    return Err(stale(id));
                }
                Ok(())
            })
            .await
    }

    async fn retry_later(&self, receipt: &str, delay: Duration) -> PortResult<()> {
        let (id, attempts) = parse_receipt(receipt)?;
        self.db
            .call(move |conn| {
                let visible_at = micros_after(Utc::now(), delay);
                let n = conn
                    .execute(
                        "UPDATE queue SET visible_at = ?3, receiver = NULL
                         WHERE id = ?1 AND attempts = ?2",
                        params![id, attempts, visible_at],
                    )
                    .map_err(sql("cannot delay message"))?;
                if n == 0 {
                    return Err(stale(id));
                }
                Ok(())
            })
            .await
    }

    async fn dead_letter(&self, receipt: &str, reason: &str) -> PortResult<()> {
        let (id, attempts) = parse_receipt(receipt)?;
        let reason = reason.to_owned();
        self.db
            .call(move |conn| {
                let tx = begin(conn)?;
                let current: Option<i64> = tx
                    .query_row("SELECT attempts FROM queue WHERE id = ?1", [id], |r| r.get(0))
                    .optional()
                    .map_err(sql("cannot dead-letter"))?;
                if current != Some(attempts) {
                    return Err(stale(id));
                }
                move_to_dead_letters(&tx, id, &reason, micros(Utc::now()))?;
                tx.commit().map_err(sql("cannot commit dead letter"))?;
                tracing::warn!(message_id = id, attempts, reason = %reason, "message dead-lettered");
                Ok(())
            })
            .await
    }

    async fn depth(&self) -> PortResult<usize> {
        self.db
            .call(|conn| {
                let n: i64 = conn
                    .query_row("SELECT COUNT(*) FROM queue", [], |r| r.get(0))
                    .map_err(sql("cannot count queue"))?;
                Ok(usize::try_from(n).unwrap_or(0))
            })
            .await
    }
}

fn begin(conn: &mut rusqlite::Connection) -> PortResult<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql("cannot start queue transaction"))
}

fn move_to_dead_letters(
    tx: &Transaction<'_>,
    id: i64,
    reason: &str,
    now_us: i64,
) -> PortResult<()> {
    tx.execute(
        "INSERT INTO dead_letters (message_id, group_key, event, attempts, reason, enqueued_at, dead_lettered_at)
         SELECT id, group_key, event, attempts, ?2, enqueued_at, ?3 FROM queue WHERE id = ?1",
        params![id, reason, now_us],
    )
    .map_err(sql("cannot dead-letter"))?;
    tx.execute("DELETE FROM queue WHERE id = ?1", [id])
        .map_err(sql("cannot dead-letter"))?;
    Ok(())
}

/// A receipt names one delivery: the message id and how many deliveries it had then. Ids are never
/// reused (AUTOINCREMENT) and each receive bumps the count, so an earlier delivery's receipt stops
/// matching as soon as the message is received again.
fn receipt(id: i64, attempts: i64) -> String {
    format!("{id}.{attempts}")
}

fn parse_receipt(receipt: &str) -> PortResult<(i64, i64)> {
    receipt
        .split_once('.')
        .and_then(|(id, n)| Some((id.parse().ok()?, n.parse().ok()?)))
        .ok_or_else(|| PortError::permanent(format!("malformed queue receipt {receipt:?}")))
}

fn stale(id: i64) -> PortError {
    PortError::transient(format!(
        "stale receipt for message {id}: it was received again, acked or dead-lettered since"
    ))
}

fn attempts_u32(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}
