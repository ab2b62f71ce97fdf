//! The two Lambda functions, as library code so that tests drive exactly what runs on AWS (the binaries
//! in `functions/` only build these and hand them to the runtime).
//!
//! * [`WebhookFunction`]: API Gateway HTTP API request → the engine's [`Receiver`] → response.
//! * [`ConverterFunction`]: SQS FIFO batch → the engine's [`Converter`], record by record in order, with
//!   the partial-batch rule of [`crate::sqs_batch`]. What to do with each record is the engine's
//!   [`settle`] policy, the same as the local worker's: acknowledged, or reported failed after setting
//!   the message's visibility to the retry delay; on the last delivery before the dead-letter queue the
//!   failure is also recorded on the order, so the merchant sees why. A record that is not a queued
//!   event at all is never acknowledged: it goes to the dead-letter queue for an operator, without
//!   holding up other orders.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use tracing::{Instrument, error, info, info_span, warn};
use woosellsy_domain::backoff;
use woosellsy_domain::{ConnectorSecrets, ConnectorSettings};
use woosellsy_engine::{
    Converter, ConverterDeps, ConverterSettings, Receiver, ReceiverLimits, RetryPolicy, Settle,
    settle,
};
use woosellsy_ports::{AccountingBackend, BackendFactory, PortResult, QueuedEvent, ShopFactory};

use crate::env::{EnvError, FunctionEnv, names};
use crate::http_api::{from_receiver_response, to_receiver_request};
use crate::secrets::SecretsManagerWebhookSecrets;
use crate::sqs_batch::{RecordOutcome, process_fifo_batch};
use crate::{DynamoStore, SecretsManagerSecrets, SqsQueue};

/// Time kept at the end of an invocation for settling the batch (visibility changes, the response).
pub const INVOCATION_RESERVE: Duration = Duration::from_secs(3);
/// A record is started only with this much of the invocation left (a create's budget is cut to what
/// remains, and a create cut short blocks its order for a whole claim lease).
pub const MIN_RECORD_TIME: Duration = Duration::from_secs(10);

/// Longest retry delay (SQS allows 12 h of visibility; a quarter of an hour keeps orders flowing).
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(900);

/// The receiver function.
pub struct WebhookFunction {
    receiver: Receiver,
}

impl WebhookFunction {
    pub fn new(receiver: Receiver) -> Self {
        Self { receiver }
    }

    /// The receiver on the stack's table, webhook secrets and queue.
    pub fn from_env(config: &SdkConfig, env: &FunctionEnv) -> Result<Self, EnvError> {
        let queue_url = env
            .queue_url
            .clone()
            .ok_or(EnvError::Missing(names::QUEUE_URL))?;
        let store = DynamoStore::new(
            aws_sdk_dynamodb::Client::new(config),
            env.table_name.clone(),
        );
        // Webhook secrets only: the receiver's role may not read the connectors' full key bundles.
        let webhook_secret_prefix = env
            .webhook_secret_prefix
            .clone()
            .ok_or(EnvError::Missing(names::WEBHOOK_SECRET_PREFIX))?;
        let secrets = SecretsManagerWebhookSecrets::new(
            aws_sdk_secretsmanager::Client::new(config),
            webhook_secret_prefix,
        )
        .with_ttl(env.secrets_ttl);
        let queue = SqsQueue::new(aws_sdk_sqs::Client::new(config), queue_url);
        Ok(Self::new(Receiver::new(
            Arc::new(store),
            Arc::new(secrets),
            Arc::new(queue),
            ReceiverLimits::default(),
        )))
    }

    pub async fn handle(
        &self,
        req: lambda_http::Request,
    ) -> lambda_http::Response<lambda_http::Body> {
        let req = to_receiver_request(req);
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let span = info_span!(
            "webhook",
            path = %req.uri().path(),
            delivery_id = %header("x-wc-webhook-delivery-id"),
            topic = %header("x-wc-webhook-topic"),
        );
        from_receiver_response(self.receiver.handle(req).instrument(span).await)
    }
}

/// Caps every connector's Sellsy request rate at the stack's `SellsyMaxRequestsPerSecond`.
pub struct CappedRate {
    inner: Arc<dyn BackendFactory>,
    max_rps: u32,
}

impl CappedRate {
    pub fn new(inner: Arc<dyn BackendFactory>, max_rps: u32) -> Self {
        Self {
            inner,
            max_rps: max_rps.max(1),
        }
    }
}

impl BackendFactory for CappedRate {
    fn backend(
        &self,
        settings: &ConnectorSettings,
        secrets: &ConnectorSecrets,
    ) -> PortResult<Arc<dyn AccountingBackend>> {
        if settings
            .sellsy_requests_per_second
            .is_some_and(|rps| rps <= self.max_rps)
        {
            return self.inner.backend(settings, secrets);
        }
        let mut capped = settings.clone();
        capped.sellsy_requests_per_second = Some(self.max_rps);
        self.inner.backend(&capped, secrets)
    }
}

/// How many times SQS delivered this record, this time included.
fn receive_count(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(1)
}

/// How the converter function retries: the engine's policy with the stack's figures.
pub fn retry_policy(env: &FunctionEnv) -> RetryPolicy {
    RetryPolicy {
        base: env.retry_base,
        max_delay: MAX_RETRY_DELAY,
        // SQS moves the message to the dead-letter queue after `maxReceiveCount`; we only record why.
        max_attempts: env.max_receives,
        // Refused keys wait six retry bases (a minute by default): the time to register new keys.
        refused_base: env.retry_base.saturating_mul(6),
    }
}

/// The converter function.
pub struct ConverterFunction {
    converter: Arc<Converter>,
    sqs: aws_sdk_sqs::Client,
    /// Queue URL, to set a retried message's visibility; `None` leaves the queue's default timeout.
    queue_url: Option<String>,
    retry: RetryPolicy,
}

impl ConverterFunction {
    pub fn new(
        converter: Converter,
        sqs: aws_sdk_sqs::Client,
        queue_url: Option<String>,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            converter: Arc::new(converter),
            sqs,
            queue_url,
            retry,
        }
    }

    /// The converter on the stack's table and secrets, reading shops through `shops` and creating
    /// documents through `backends`.
    pub fn from_env(
        config: &SdkConfig,
        env: &FunctionEnv,
        shops: Arc<dyn ShopFactory>,
        backends: Arc<dyn BackendFactory>,
    ) -> Self {
        let store = DynamoStore::new(
            aws_sdk_dynamodb::Client::new(config),
            env.table_name.clone(),
        );
        let secrets = SecretsManagerSecrets::new(
            aws_sdk_secretsmanager::Client::new(config),
            env.secret_prefix.clone(),
        )
        .with_ttl(env.secrets_ttl);
        let backends: Arc<dyn BackendFactory> = match env.sellsy_max_rps {
            Some(max) => Arc::new(CappedRate::new(backends, max)),
            None => backends,
        };
        let converter = Converter::new(ConverterDeps {
            store: Arc::new(store),
            secrets: Arc::new(secrets),
            shops,
            backends,
            settings: ConverterSettings::default(),
        });
        Self::new(
            converter,
            aws_sdk_sqs::Client::new(config),
            env.queue_url.clone(),
            retry_policy(env),
        )
    }

    pub fn converter(&self) -> &Converter {
        &self.converter
    }

    /// Handles one batch with no deadline (tests, tools); see [`Self::handle_until`].
    pub async fn handle(&self, event: &SqsEvent) -> SqsBatchResponse {
        self.handle_until(event, None).await
    }

    /// Handles one batch within the invocation's `deadline`; never fails as a whole (every record gets
    /// its own verdict). A record is started only with [`MIN_RECORD_TIME`] left; the others are reported
    /// failed, visible again at once, for the next invocation.
    pub async fn handle_until(
        &self,
        event: &SqsEvent,
        deadline: Option<SystemTime>,
    ) -> SqsBatchResponse {
        let ends = deadline.map(|d| {
            let left = d.duration_since(SystemTime::now()).unwrap_or_default();
            Instant::now() + left.saturating_sub(INVOCATION_RESERVE)
        });
        process_fifo_batch(
            event,
            |record| self.handle_record(record, ends),
            |record, after| self.hold_back(record, after),
        )
        .await
    }

    async fn handle_record(&self, record: &SqsMessage, ends: Option<Instant>) -> RecordOutcome {
        let message_id = record.message_id.as_deref().unwrap_or("");
        let receives = receive_count(record);
        if ends.is_some_and(|e| e.saturating_duration_since(Instant::now()) < MIN_RECORD_TIME) {
            info!(
                message_id,
                "not started: the invocation ends soon; back at once for the next one"
            );
            return self.retry_later(record, Duration::ZERO).await;
        }
        let decoded = record
            .body
            .as_deref()
            .ok_or_else(|| "the message has no body".to_owned())
            .and_then(|body| serde_json::from_str::<QueuedEvent>(body).map_err(|e| e.to_string()));
        let event = match decoded {
            Ok(event) => event,
            Err(reason) => {
                error!(message_id, receives, %reason, "not a queued event: left for the dead-letter queue");
                let delay = backoff::exponential(self.retry.base, receives, self.retry.max_delay);
                return self.retry_later(record, delay).await;
            }
        };
        let span = info_span!(
            "record",
            message_id,
            receives,
            connector = %event.connector,
            order_id = %event.order,
            delivery_id = event.delivery_id.as_deref().unwrap_or(""),
        );
        let outcome = self
            .converter
            .process_guarded(&event, ends)
            .instrument(span.clone())
            .await;
        match settle(&outcome, receives, &self.retry) {
            Settle::Ack => RecordOutcome::Ack,
            Settle::RetryAfter(delay) => self.retry_later(record, delay).await,
            Settle::GiveUp { reason } => {
                warn!(parent: &span, %reason, "last delivery failed: the event goes to the dead-letter queue");
                let why = format!("{reason} (event kept in the dead-letter queue)");
                self.converter
                    .record_failure(&event, &why)
                    .instrument(span)
                    .await;
                // Visible again at once, so that SQS's redrive moves it to the dead-letter queue on the
                // next receive instead of after a long visibility timeout.
                self.retry_later(record, Duration::ZERO).await
            }
        }
    }

    /// A record not processed because an earlier record of its order failed: it comes back with that
    /// record (SQS holds the whole group while any of it is invisible), and on its last receive its
    /// order shows why it was given up.
    async fn hold_back(&self, record: &SqsMessage, after: Duration) {
        let receives = receive_count(record);
        if self.retry.max_attempts.is_some_and(|max| receives >= max)
            && let Some(event) = record
                .body
                .as_deref()
                .and_then(|b| serde_json::from_str::<QueuedEvent>(b).ok())
        {
            let why = format!(
                "gave up after {receives} attempts (event kept in the dead-letter queue): an earlier event of this order kept failing"
            );
            self.converter.record_failure(&event, &why).await;
        }
        self.retry_later(record, after).await;
    }

    async fn retry_later(&self, record: &SqsMessage, delay: Duration) -> RecordOutcome {
        let outcome = RecordOutcome::Retry { after: delay };
        let (Some(url), Some(receipt)) = (&self.queue_url, &record.receipt_handle) else {
            return outcome;
        };
        let seconds = i32::try_from(delay.min(MAX_RETRY_DELAY).as_secs()).unwrap_or(i32::MAX);
        // Best effort: if it fails, the queue's own visibility timeout applies.
        if let Err(e) = self
            .sqs
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt)
            .visibility_timeout(seconds)
            .send()
            .await
        {
            warn!(message_id = record.message_id.as_deref().unwrap_or(""), error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "could not set the retry delay");
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use woosellsy_domain::{ConnectorId, DocumentPlan};
    use woosellsy_ports::{DocumentRef, IdCache};

    struct Seen(Mutex<Vec<u32>>);
    struct NoBackend;
    #[async_trait::async_trait]
    impl AccountingBackend for NoBackend {
        async fn create_document(
            &self,
            _: &DocumentPlan,
            _: &dyn IdCache,
        ) -> PortResult<DocumentRef> {
            Err(woosellsy_ports::PortError::permanent("unused"))
        }
        async fn find_document(
            &self,
            _: &DocumentPlan,
            _: &dyn IdCache,
        ) -> PortResult<Option<DocumentRef>> {
            Ok(None)
        }
        fn calls_made(&self) -> u64 {
            0
        }
    }
    impl BackendFactory for Seen {
        fn backend(
            &self,
            settings: &ConnectorSettings,
            _: &ConnectorSecrets,
        ) -> PortResult<Arc<dyn AccountingBackend>> {
            self.0
                .lock()
                .unwrap()
                .push(settings.sellsy_requests_per_second.unwrap_or(0));
            Ok(Arc::new(NoBackend))
        }
    }

    #[test]
    fn the_stack_caps_each_connectors_sellsy_rate() {
        let seen = Arc::new(Seen(Mutex::new(Vec::new())));
        let capped = CappedRate::new(seen.clone(), 4);
        let secrets: ConnectorSecrets = serde_json::from_value(serde_json::json!({
            "woocommerce_consumer_key": "k", "woocommerce_consumer_secret": "s", "webhook_secret": "w",
            "sellsy_client_id": "c", "sellsy_client_secret": "x"
        }))
        .unwrap();
        let mut settings: ConnectorSettings = serde_json::from_value(serde_json::json!({
            "id": "shop", "woocommerce_url": "https://s.example", "sellsy_api_url": "https://a.example",
            "sellsy_token_url": "https://t.example", "sellsy_requests_per_second": 10
        }))
        .unwrap();
        assert_eq!(settings.id, ConnectorId::parse("shop").unwrap());
        capped.backend(&settings, &secrets).unwrap();
        settings.sellsy_requests_per_second = Some(2);
        capped.backend(&settings, &secrets).unwrap();
        settings.sellsy_requests_per_second = None;
        capped.backend(&settings, &secrets).unwrap();
        assert_eq!(*seen.0.lock().unwrap(), [4, 2, 4]);
    }
}
