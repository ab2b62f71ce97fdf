//! The single-machine worker: pulls events from a [`PullQueue`] and feeds them to the [`Converter`].
//!
//! It plays the part Lambda's SQS event source plays on AWS: at most one message per order at a time
//! (the queue's groups), transient failures retried through the message's visibility after the delay
//! [`crate::settle`] decides, and a message that keeps failing set aside (dead-lettered) with the order put in an
//! error state, so nothing is lost silently and nothing loops forever.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{error, info, warn};
use woosellsy_ports::{PullQueue, Received};

use crate::converter::Converter;
use crate::settle::{RetryPolicy, Settle, settle};

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Messages processed at once (each from a different order).
    pub concurrency: usize,
    /// How long a received message stays invisible: longer than the converter's claim lease.
    pub visibility: Duration,
    /// Retry delays and when to give up ([`crate::settle`]).
    pub retry: RetryPolicy,
    /// Pause between polls of an empty queue.
    pub idle_poll: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            visibility: Duration::from_secs(180),
            retry: RetryPolicy::default(),
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
    let outcome = converter.process_guarded(&msg.event, None).await;
    let result = match settle(&outcome, msg.attempts, &settings.retry) {
        Settle::Ack => queue.ack(&msg.receipt).await,
        Settle::RetryAfter(delay) => queue.retry_later(&msg.receipt, delay).await,
        Settle::GiveUp { reason } => {
            converter.record_failure(&msg.event, &reason).await;
            queue.dead_letter(&msg.receipt, &reason).await
        }
    };
    if let Err(e) = result {
        // The message reappears after its visibility timeout: nothing is lost.
        warn!(connector = %msg.event.connector, order_id = %msg.event.order, error = %e, "could not settle the message");
    }
}
