//! The behaviour of woosellsy, written once behind its ports so the same code serves AWS Lambda and the
//! single-machine binary.
//!
//! * [`receiver`]: `POST /webhooks/{connector_id}` — verify, classify, durably enqueue, answer.
//! * [`converter`]: one queued event → the configured Sellsy documents, exactly once, then the links
//!   written back to the order.
//! * [`settle`]: what becomes of a queued message after the converter's outcome (ack, retry after a
//!   delay, give up) — the one policy both runners apply.
//! * [`worker`]: the single-machine loop that feeds a [`woosellsy_ports::PullQueue`] to the converter
//!   (on AWS, Lambda's SQS event source plays that part).
//! * [`secrets`]: an in-memory [`woosellsy_ports::SecretStore`] for secrets read from a file or the
//!   environment.
//! * [`faults`]: a crash point the black-box tests use to kill the process between two steps.

pub mod converter;
pub mod faults;
pub mod receiver;
pub mod secrets;
pub mod settle;
pub mod worker;

pub use converter::{Converter, ConverterDeps, ConverterSettings, Outcome};
pub use receiver::{Receiver, ReceiverLimits};
pub use secrets::MemorySecrets;
pub use settle::{RetryPolicy, Settle, settle};
pub use worker::{Worker, WorkerSettings};
