//! The webhook receiver: `POST /webhooks/{connector_id}`.
//!
//! Written once over `http::Request<Bytes>` so the same handler serves API Gateway (Lambda) and the
//! local server. It does the least that makes the event safe — authenticate it and put it on a durable
//! queue — and answers fast, because WooCommerce disables a webhook after 7 consecutive failures and
//! never retries. Everything slow (Sellsy, WooCommerce REST) happens in the converter.
//!
//! Answers: ping → 200; unknown connector → 404; missing or bad signature → 401; body too large → 413;
//! a topic we don't handle, or a signed payload that is not an order → 200 and ignored (logged);
//! otherwise 200 only after the event is durably enqueued (503 if the queue refused it, so nothing
//! acknowledged is ever lost). Every error body is JSON: `{"error": code, "message": text}`.

use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use secrecy::ExposeSecret;
use serde_json::json;
use tracing::{info, warn};
use woocommerce::webhook::{self, WebhookHeaders};
use woosellsy_domain::{ConnectorId, OrderId};
use woosellsy_ports::{Queue, QueuedEvent, SecretStore, Store};

/// Topics that lead to documents. Everything else is acknowledged and ignored.
pub const HANDLED_TOPICS: [&str; 3] = ["order.created", "order.updated", "order.restored"];

#[derive(Debug, Clone, Copy)]
pub struct ReceiverLimits {
    /// Largest body accepted. WooCommerce orders with hundreds of lines stay far below 4 MiB; API Gateway
    /// itself stops at 10 MB.
    pub max_body_bytes: usize,
}

impl Default for ReceiverLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
        }
    }
}

pub struct Receiver {
    store: Arc<dyn Store>,
    secrets: Arc<dyn SecretStore>,
    queue: Arc<dyn Queue>,
    limits: ReceiverLimits,
}

impl Receiver {
    pub fn new(
        store: Arc<dyn Store>,
        secrets: Arc<dyn SecretStore>,
        queue: Arc<dyn Queue>,
        limits: ReceiverLimits,
    ) -> Self {
        Self {
            store,
            secrets,
            queue,
            limits,
        }
    }

    /// Handles one request. Never panics; every answer is JSON.
    pub async fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        let path = req.uri().path().to_owned();
        let Some(raw_id) = path
            .strip_prefix("/webhooks/")
            .map(|rest| rest.trim_end_matches('/'))
        else {
            return reply(StatusCode::NOT_FOUND, "not_found", "no such route");
        };
        if req.method() != Method::POST {
            let mut r = reply(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "webhooks are delivered with POST",
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return r;
        }
        let Ok(connector) = ConnectorId::parse(raw_id) else {
            return reply(
                StatusCode::NOT_FOUND,
                "unknown_connector",
                "no such connector",
            );
        };
        let (parts, body) = req.into_parts();
        self.handle_webhook(&connector, &parts.headers, body).await
    }

    /// The webhook itself, once the route is known.
    pub async fn handle_webhook(
        &self,
        connector: &ConnectorId,
        headers: &http::HeaderMap,
        body: Bytes,
    ) -> Response<Bytes> {
        let declared_len = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if body.len() > self.limits.max_body_bytes
            || declared_len.is_some_and(|n| n > self.limits.max_body_bytes)
        {
            warn!(connector = %connector, bytes = body.len(), "webhook body over the limit");
            return reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                &format!("body over {} bytes", self.limits.max_body_bytes),
            );
        }

        match self.store.get_connector(connector).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                return reply(
                    StatusCode::NOT_FOUND,
                    "unknown_connector",
                    "no such connector",
                );
            }
            Err(e) => {
                warn!(connector = %connector, error = %e, "store unavailable");
                return reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "temporarily unavailable, the store could not be read",
                );
            }
        }

        let wh = WebhookHeaders::from_headers(headers);
        // The ping WooCommerce sends when a webhook is saved carries no signature at all.
        if wh.signature.is_none() {
            if let Some(webhook_id) = webhook::ping_webhook_id(&body) {
                info!(connector = %connector, webhook_id, "webhook ping");
                return ok(json!({"status": "pong"}));
            }
            return reply(
                StatusCode::UNAUTHORIZED,
                "missing_signature",
                "X-WC-Webhook-Signature is required",
            );
        }

        // Only the webhook secrets: the receiver never reads the connector's WooCommerce or Sellsy keys.
        let secrets = match self.secrets.webhook_secrets(connector).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                warn!(connector = %connector, "connector has no webhook secret configured (on AWS: run `woosellsy aws register` for it with this version)");
                return reply(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "connector_not_configured",
                    "the connector has no webhook secret configured",
                );
            }
            Err(e) => {
                warn!(connector = %connector, error = %e, "secrets unavailable");
                return reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "temporarily unavailable, secrets could not be read",
                );
            }
        };
        let signature = wh.signature.as_deref().unwrap_or_default();
        // The current secret first, then the previous one while a rotation's overlap lasts.
        let mut matched = None;
        let mut refusal = None;
        for (index, secret) in secrets.accepted(Utc::now()).enumerate() {
            match webhook::verify(&body, signature, secret.expose_secret()) {
                Ok(()) => {
                    matched = Some(index);
                    break;
                }
                Err(e) => {
                    refusal.get_or_insert(e);
                }
            }
        }
        match matched {
            Some(0) => {}
            Some(_) => {
                info!(connector = %connector, delivery_id = wh.delivery_id.as_deref().unwrap_or(""), previous_until = ?secrets.previous_until, "webhook signed with the previous webhook secret: save the new secret in WooCommerce before the overlap ends");
            }
            None => {
                let reason = refusal.map(|e| e.to_string()).unwrap_or_default();
                warn!(connector = %connector, delivery_id = wh.delivery_id.as_deref().unwrap_or(""), reason = %reason, "webhook signature rejected");
                return reply(
                    StatusCode::UNAUTHORIZED,
                    "invalid_signature",
                    "the signature does not match this connector's webhook secret",
                );
            }
        }

        // Checked before anything reads the body as JSON: a body that is not text was answered 200
        // "ignored" (not an order) instead of the 400 it deserves.
        let Ok(text) = String::from_utf8(body.to_vec()) else {
            return reply(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                "body is not UTF-8 JSON",
            );
        };

        let topic = wh.topic.clone().unwrap_or_default();
        let delivery_id = wh.delivery_id.clone();
        if !HANDLED_TOPICS.contains(&topic.as_str()) {
            info!(connector = %connector, topic = %topic, delivery_id = delivery_id.as_deref().unwrap_or(""), "topic ignored");
            return ok(
                json!({"status": "ignored", "reason": format!("topic {topic:?} is not handled")}),
            );
        }

        let Some(order) = order_id_of(&body) else {
            // Signed by the store but not an order: WooCommerce sends error objects this way when the
            // webhook's owner lost access. Refusing it would only get the webhook disabled.
            warn!(connector = %connector, topic = %topic, delivery_id = delivery_id.as_deref().unwrap_or(""), body = %excerpt(&body), "signed payload is not an order, ignored");
            return ok(json!({"status": "ignored", "reason": "payload is not an order"}));
        };
        let event = QueuedEvent {
            connector: connector.clone(),
            topic: topic.clone(),
            order,
            delivery_id: delivery_id.clone(),
            webhook_id: wh.webhook_id,
            body: Some(text),
            received_at: Utc::now(),
        };
        match self.queue.enqueue(&event).await {
            Ok(()) => {
                info!(connector = %connector, order_id = %order, topic = %topic, delivery_id = delivery_id.as_deref().unwrap_or(""), "webhook queued");
                ok(json!({"status": "queued", "order_id": order.0}))
            }
            Err(e) => {
                warn!(connector = %connector, order_id = %order, delivery_id = delivery_id.as_deref().unwrap_or(""), error = %e, "enqueue failed");
                reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "temporarily unavailable, the event could not be queued",
                )
            }
        }
    }
}

/// The order id of an order payload: a JSON object with a positive integer `id` and no top-level
/// `code` (WP error objects have one).
fn order_id_of(body: &[u8]) -> Option<OrderId> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let obj = value.as_object()?;
    if obj.contains_key("code") && obj.contains_key("message") {
        return None;
    }
    let id = obj.get("id")?;
    let n = id
        .as_u64()
        .or_else(|| id.as_str().and_then(|s| s.parse().ok()))?;
    (n > 0).then_some(OrderId(n))
}

fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
}

fn ok(body: serde_json::Value) -> Response<Bytes> {
    json_response(StatusCode::OK, body)
}

fn reply(status: StatusCode, code: &str, message: &str) -> Response<Bytes> {
    json_response(status, json!({"error": code, "message": message}))
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

#[cfg(test)]
mod webhook_secret_tests {
    //! Which secrets a signature is checked against, and what the receiver reads to know them.

    use super::*;
    use crate::MemorySecrets;
    use async_trait::async_trait;
    use woosellsy_domain::{ConnectorSecrets, ConnectorSettings, WebhookSecrets};
    use woosellsy_ports::{MemoryStore, PortResult};

    struct Accepting;
    #[async_trait]
    impl Queue for Accepting {
        async fn enqueue(&self, _: &QueuedEvent) -> PortResult<()> {
            Ok(())
        }
    }

    /// A store whose connector bundle must never be read: only the webhook secrets are there.
    struct WebhookSecretsOnly(WebhookSecrets);
    #[async_trait]
    impl SecretStore for WebhookSecretsOnly {
        async fn connector_secrets(&self, _: &ConnectorId) -> PortResult<Option<ConnectorSecrets>> {
            panic!("the receiver read a connector's full secret bundle");
        }
        async fn webhook_secrets(&self, _: &ConnectorId) -> PortResult<Option<WebhookSecrets>> {
            Ok(Some(self.0.clone()))
        }
    }

    const ORDER: &str = r#"{"id": 42, "status": "processing"}"#;

    async fn receiver(secrets: Arc<dyn SecretStore>) -> (Receiver, ConnectorId) {
        let store = Arc::new(MemoryStore::new());
        let settings: ConnectorSettings = serde_json::from_value(json!({
            "id": "shop", "woocommerce_url": "https://shop.example", "sellsy_api_url": "https://a.example",
            "sellsy_token_url": "https://t.example",
        }))
        .unwrap();
        store.put_connector(&settings).await.unwrap();
        let receiver = Receiver::new(
            store,
            secrets,
            Arc::new(Accepting),
            ReceiverLimits::default(),
        );
        (receiver, settings.id)
    }

    async fn deliver(receiver: &Receiver, connector: &ConnectorId, signed_with: &str) -> u16 {
        let mut headers = http::HeaderMap::new();
        let signature = webhook::signature(ORDER.as_bytes(), signed_with);
        headers.insert(
            "x-wc-webhook-signature",
            HeaderValue::from_str(&signature).unwrap(),
        );
        headers.insert(
            "x-wc-webhook-topic",
            HeaderValue::from_static("order.updated"),
        );
        receiver
            .handle_webhook(connector, &headers, Bytes::from_static(ORDER.as_bytes()))
            .await
            .status()
            .as_u16()
    }

    fn rotation(previous_until: chrono::DateTime<Utc>) -> WebhookSecrets {
        WebhookSecrets {
            current: "new-secret".to_owned().into(),
            previous: Some("old-secret".to_owned().into()),
            previous_until: Some(previous_until),
        }
    }

    #[tokio::test]
    async fn the_previous_secret_is_accepted_until_its_end_date_then_refused() {
        let during = rotation(Utc::now() + chrono::Duration::hours(1));
        let (r, id) = receiver(Arc::new(WebhookSecretsOnly(during))).await;
        assert_eq!(deliver(&r, &id, "new-secret").await, 200);
        assert_eq!(deliver(&r, &id, "old-secret").await, 200);
        assert_eq!(deliver(&r, &id, "another-secret").await, 401);

        let after = rotation(Utc::now() - chrono::Duration::seconds(1));
        let (r, id) = receiver(Arc::new(WebhookSecretsOnly(after))).await;
        assert_eq!(deliver(&r, &id, "new-secret").await, 200);
        assert_eq!(deliver(&r, &id, "old-secret").await, 401);
    }

    #[tokio::test]
    async fn in_memory_the_bundles_webhook_secret_is_the_current_one() {
        let memory = Arc::new(MemorySecrets::new());
        let bundle: ConnectorSecrets = serde_json::from_value(json!({
            "woocommerce_consumer_key": "k", "woocommerce_consumer_secret": "s",
            "webhook_secret": "bundle-secret", "sellsy_client_id": "c", "sellsy_client_secret": "x",
        }))
        .unwrap();
        memory.insert(ConnectorId::parse("shop").unwrap(), bundle);
        let (r, id) = receiver(memory.clone()).await;
        assert_eq!(deliver(&r, &id, "bundle-secret").await, 200);
        assert_eq!(deliver(&r, &id, "old-secret").await, 401);
        // Secrets given apart take precedence (a rotation on one machine).
        memory.insert_webhook_secrets(
            id.clone(),
            rotation(Utc::now() + chrono::Duration::hours(1)),
        );
        assert_eq!(deliver(&r, &id, "old-secret").await, 200);
        assert_eq!(deliver(&r, &id, "bundle-secret").await, 401);
    }
}
