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
    ///
    /// A pool, not batches: a message is received as soon as a slot is free, so one slow order (a new
    /// customer's many calls, a wait on another worker's lease) holds one slot, not the whole batch.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        info!(concurrency = self.settings.concurrency, "worker started");
        let mut tasks = JoinSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            let free = self.settings.concurrency.saturating_sub(tasks.len());
            let received = if free > 0 {
                self.receive(free).await
            } else {
                Vec::new()
            };
            let got = received.len();
            for msg in received {
                self.spawn(&mut tasks, msg);
            }
            if got == 0 || tasks.len() >= self.settings.concurrency {
                // Wait for a slot to free up, for new work, or for the end.
                tokio::select! {
                    Some(done) = tasks.join_next(), if !tasks.is_empty() => log_failed_task(done),
                    _ = tokio::time::sleep(self.settings.idle_poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        while let Some(done) = tasks.join_next().await {
            log_failed_task(done);
        }
        info!("worker stopped");
    }

    /// Receives one batch and processes it to the end; returns how many messages were handled.
    pub async fn run_once(&self) -> usize {
        let batch = self.receive(self.settings.concurrency).await;
        let n = batch.len();
        let mut tasks = JoinSet::new();
        for msg in batch {
            self.spawn(&mut tasks, msg);
        }
        while let Some(done) = tasks.join_next().await {
            log_failed_task(done);
        }
        n
    }

    async fn receive(&self, max: usize) -> Vec<Received> {
        match self.queue.receive(max, self.settings.visibility).await {
            Ok(batch) => batch,
            Err(e) => {
                warn!(error = %e, "queue receive failed");
                Vec::new()
            }
        }
    }

    fn spawn(&self, tasks: &mut JoinSet<()>, msg: Received) {
        let queue = self.queue.clone();
        let converter = self.converter.clone();
        let settings = self.settings.clone();
        tasks.spawn(async move { handle(queue, converter, settings, msg).await });
    }
}

fn log_failed_task(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done {
        error!(error = %e, "worker task failed");
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
