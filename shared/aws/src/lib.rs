//! woosellsy on AWS: the adapters that implement the ports of `woosellsy-ports` on AWS services, and the
//! small pieces of glue the two Lambda functions share.
//!
//! * [`DynamoStore`]: the [`woosellsy_ports::Store`] on one DynamoDB table (key design in [`dynamo`]).
//! * [`SqsQueue`]: the [`woosellsy_ports::Queue`] on an SQS FIFO queue, grouped per order.
//! * [`SecretsManagerSecrets`]: the [`woosellsy_ports::SecretStore`] on Secrets Manager, cached per container.
//! * [`sqs_batch`]: the FIFO-safe partial-batch rule of the converter function, as a pure function.
//! * `functions` (feature `lambda`, on by default): the receiver and converter functions themselves.
//! * [`register_connector`]: the operator path, writing a connector into a deployed stack.
//! * [`config`], [`env`], [`telemetry`]: SDK configuration (one TLS stack, endpoint override for tests),
//!   the functions' environment, JSON logs.

pub mod config;
pub mod dynamo;
pub mod env;
mod error;
#[cfg(feature = "lambda")]
pub mod functions;
#[cfg(feature = "lambda")]
pub mod http_api;
pub mod register;
pub mod secrets;
pub mod sqs;
pub mod sqs_batch;
pub mod telemetry;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use config::{load_sdk_config, sdk_config_for_endpoint};
pub use dynamo::DynamoStore;
pub use env::FunctionEnv;
pub use register::{DeploymentNames, RegisterReport, register_connector};
pub use secrets::SecretsManagerSecrets;
pub use sqs::SqsQueue;
pub use sqs_batch::{RecordOutcome, process_fifo_batch};
