//! The single-machine worker: pulls events from a [`PullQueue`] and feeds them to the [`Converter`].
//!
//! It plays the part Lambda's SQS event source plays on AWS: at most one message per order at a time
//! (the queue's groups), transient failures retried with exponential backoff through the message's
//! visibility, and a message that keeps failing set aside (dead-lettered) with the order put in an
//! error state, so nothing is lost silently and nothing loops forever.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{error, info, warn};
use woosellsy_ports::{PullQueue, Received};

use crate::converter::{Converter, Outcome};

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Messages processed at once (each from a different order).
    pub concurrency: usize,
    /// How long a received message stays invisible: longer than the converter's claim lease.
    pub visibility: Duration,
    /// Receives before a message is dead-lettered.
    pub max_attempts: u32,
    /// First retry delay; doubled per attempt up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Pause between polls of an empty queue.
    pub idle_poll: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            visibility: Duration::from_secs(180),
            max_attempts: 10,
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            idle_poll: Duration::from_millis(250),
        }
    }
}

pub struct Worker {
    queue: Arc<dyn PullQueue>,
    converter: Arc<Converter>,
    settings: WorkerSettings,
}

impl Worker {
    pub fn new(
        queue: Arc<dyn PullQueue>,
        converter: Arc<Converter>,
        settings: WorkerSettings,
    ) -> Self {
        Self {
            queue,
            converter,
            settings,
        }
    }

    /// Runs until `shutdown` turns true; finishes the messages in hand before returning.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        info!(concurrency = self.settings.concurrency, "worker started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            let handled = self.run_once().await;
            if handled == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(self.settings.idle_poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        info!("worker stopped");
    }

    /// Receives one batch and processes it; returns how many messages were handled.
    pub async fn run_once(&self) -> usize {
        let batch = match self
            .queue
            .receive(self.settings.concurrency, self.settings.visibility)
            .await
        {
            Ok(b) => b,
            Err(e) => {
                warn!(error = %e, "queue receive failed");
                return 0;
            }
        };
        let n = batch.len();
        let mut tasks = JoinSet::new();
        for msg in batch {
            let queue = self.queue.clone();
            let converter = self.converter.clone();
            let settings = self.settings.clone();
            tasks.spawn(async move { handle(queue, converter, settings, msg).await });
        }
        while let Some(res) = tasks.join_next().await {
            if let Err(e) = res {
                error!(error = %e, "worker task failed");
            }
        }
        n
    }
}

async fn handle(
    queue: Arc<dyn PullQueue>,
    converter: Arc<Converter>,
    settings: WorkerSettings,
    msg: Received,
) {
    let outcome = converter.process(&msg.event).await;
    let result = match outcome {
        Outcome::Done { .. } | Outcome::Skipped { .. } | Outcome::Failed { .. } => {
            queue.ack(&msg.receipt).await
        }
        Outcome::Retry { reason, after } => {
            if msg.attempts >= settings.max_attempts {
                let why = format!(
                    "gave up after {} attempts, last error: {reason}",
                    msg.attempts
                );
                converter.record_failure(&msg.event, &why).await;
                queue.dead_letter(&msg.receipt, &why).await
            } else {
                let delay = after.unwrap_or_else(|| backoff(&settings, msg.attempts));
                queue.retry_later(&msg.receipt, delay).await
            }
        }
    };
    if let Err(e) = result {
        // The message reappears after its visibility timeout: nothing is lost.
        warn!(connector = %msg.event.connector, order_id = %msg.event.order, error = %e, "could not settle the message");
    }
}

/// `base × 2^(attempts−1)`, capped.
pub fn backoff(settings: &WorkerSettings, attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(16);
    settings
        .base_backoff
        .saturating_mul(1u32 << exp)
        .min(settings.max_backoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let s = WorkerSettings {
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            ..WorkerSettings::default()
        };
        assert_eq!(backoff(&s, 1), Duration::from_secs(1));
        assert_eq!(backoff(&s, 2), Duration::from_secs(2));
        assert_eq!(backoff(&s, 4), Duration::from_secs(8));
        assert_eq!(backoff(&s, 5), Duration::from_secs(10));
        assert_eq!(backoff(&s, 60), Duration::from_secs(10));
    }
}
