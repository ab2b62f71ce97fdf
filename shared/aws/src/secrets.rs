//! The [`SecretStore`] port on AWS Secrets Manager, as two stores:
//!
//! * [`SecretsManagerSecrets`] (the converter): one secret per connector, named
//!   `{prefix}{connector_id}` (the template's prefix is `woosellsy/{stack}/connectors/`), whose value is
//!   a JSON object with the fields of [`ConnectorSecrets`].
//! * [`SecretsManagerWebhookSecrets`] (the internet-facing receiver): one more secret per connector,
//!   `woosellsy/{stack}/webhooks/{connector_id}`, holding only the webhook secrets
//!   (`{"current": …, "previous": …, "previous_until": "<RFC 3339>"}`, see [`WebhookSecrets`]). It
//!   never reads the bundle: the receiver's role may not.
//!
//! Values are cached per Lambda container for a TTL, so a warm function costs no
//! Secrets Manager call per event; a rotated key is picked up within that TTL. A connector without a
//! secret is remembered for a shorter time, so that a freshly registered one starts working quickly.
//!
//! Nothing here logs or formats a secret value: decoding errors are reduced to their category and
//! position, because serde's own messages may quote the offending value.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tokio::sync::RwLock;
use woosellsy_domain::{ConnectorId, ConnectorSecrets, WebhookSecrets};
use woosellsy_ports::{PortError, PortResult, SecretStore};

use crate::error::from_sdk;

/// How long a fetched secret is used before it is read again.
pub const DEFAULT_SECRET_TTL: Duration = Duration::from_secs(300);
/// How long "this connector has no secret" is believed.
pub const DEFAULT_MISSING_TTL: Duration = Duration::from_secs(30);

/// Secrets of one kind read from Secrets Manager at `{prefix}{connector_id}`, with a per-container TTL
/// cache: the connectors' key bundles ([`SecretsManagerSecrets`]) or their webhook secrets alone
/// ([`SecretsManagerWebhookSecrets`]).
pub struct SecretsManagerStore<V> {
    client: Client,
    prefix: String,
    cache: TtlCache<V>,
    decode: fn(&str, &str) -> PortResult<V>,
}

/// The converter's [`SecretStore`]: each connector's key bundle, from `{prefix}{connector_id}`.
pub type SecretsManagerSecrets = SecretsManagerStore<ConnectorSecrets>;

/// The receiver's [`SecretStore`]: webhook secrets only, from `{prefix}{connector_id}` (the template's
/// prefix is `woosellsy/{stack}/webhooks/`). Asking it for a connector's full bundle is an error: the
/// receiver has no business with those keys.
pub type SecretsManagerWebhookSecrets = SecretsManagerStore<WebhookSecrets>;

/// Values per connector, each used for a TTL (a shorter one for "none"), and kept past it when a
/// refresh fails transiently.
struct TtlCache<V> {
    ttl: Duration,
    missing_ttl: Duration,
    values: RwLock<HashMap<ConnectorId, Cached<V>>>,
}

struct Cached<V> {
    fetched: Instant,
    value: Option<V>,
}

impl<V: Clone> TtlCache<V> {
    fn new() -> Self {
        Self {
            ttl: DEFAULT_SECRET_TTL,
            missing_ttl: DEFAULT_MISSING_TTL,
            values: RwLock::new(HashMap::new()),
        }
    }

    fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self.missing_ttl = self.missing_ttl.min(ttl);
        self
    }

    async fn clear(&self) {
        self.values.write().await.clear();
    }

    async fn get(
        &self,
        id: &ConnectorId,
        fetch: impl Future<Output = PortResult<Option<V>>>,
    ) -> PortResult<Option<V>> {
        let stale = {
            let cache = self.values.read().await;
            match cache.get(id) {
                Some(hit) => {
                    let ttl = if hit.value.is_some() {
                        self.ttl
                    } else {
                        self.missing_ttl
                    };
                    if hit.fetched.elapsed() < ttl {
                        return Ok(hit.value.clone());
                    }
                    hit.value.clone()
                }
                None => None,
            }
        };
        match fetch.await {
            Ok(value) => {
                self.values.write().await.insert(
                    id.clone(),
                    Cached {
                        fetched: Instant::now(),
                        value: value.clone(),
                    },
                );
                Ok(value)
            }
            // Secrets Manager briefly unavailable: keys that worked a few minutes ago still work.
            Err(err) if err.is_transient() && stale.is_some() => {
                tracing::warn!(connector = %id, error = %err, "using the previous secret value: refresh failed");
                Ok(stale)
            }
            Err(err) => Err(err),
        }
    }
}

/// A secret's string value, `None` when the secret does not exist.
pub(crate) async fn secret_string(client: &Client, name: &str) -> PortResult<Option<SecretString>> {
    let result = client.get_secret_value().secret_id(name).send().await;
    let out = match result {
        Ok(out) => out,
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(err) => return Err(from_sdk(&format!("GetSecretValue {name}"), err)),
    };
    match out.secret_string() {
        Some(json) => Ok(Some(SecretString::from(json.to_owned()))),
        None => Err(PortError::permanent(format!(
            "secret {name} has no string value (binary secrets are not supported)"
        ))),
    }
}

impl<V> std::fmt::Debug for SecretsManagerStore<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsManagerStore")
            .field("prefix", &self.prefix)
            .field("ttl", &self.cache.ttl)
            .finish_non_exhaustive()
    }
}

/// The secret's name for a connector.
pub fn secret_name(prefix: &str, id: &ConnectorId) -> String {
    format!("{prefix}{id}")
}

/// Decodes a secret's JSON without ever echoing its content.
pub fn decode_secrets(name: &str, json: &str) -> PortResult<ConnectorSecrets> {
    decode_json(name, json, "the connector secret fields")
}

/// Decodes a webhook secret's JSON (`current`, optional `previous` and `previous_until`) without ever
/// echoing its content.
pub fn decode_webhook_secrets(name: &str, json: &str) -> PortResult<WebhookSecrets> {
    decode_json(name, json, "the webhook secret fields")
}

fn decode_json<T: serde::de::DeserializeOwned>(
    name: &str,
    json: &str,
    what: &str,
) -> PortResult<T> {
    serde_json::from_str::<T>(json).map_err(|e| {
        let detail = e.to_string();
        // "missing field `x`" and "unknown field `x`" name fields, never values; anything else might.
        let safe = if detail.starts_with("missing field") || detail.starts_with("unknown field") {
            detail
        } else {
            format!(
                "{:?} error at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            )
        };
        PortError::permanent(format!(
            "secret {name} is not a JSON object with {what} ({safe})"
        ))
    })
}

#[derive(Serialize)]
struct SecretsJson<'a> {
    woocommerce_consumer_key: &'a str,
    woocommerce_consumer_secret: &'a str,
    webhook_secret: &'a str,
    sellsy_client_id: &'a str,
    sellsy_client_secret: &'a str,
}

/// The JSON stored in Secrets Manager for `secrets` (the inverse of [`decode_secrets`]).
pub fn encode_secrets(secrets: &ConnectorSecrets) -> SecretString {
    let json = SecretsJson {
        woocommerce_consumer_key: secrets.woocommerce_consumer_key.expose_secret(),
        woocommerce_consumer_secret: secrets.woocommerce_consumer_secret.expose_secret(),
        webhook_secret: secrets.webhook_secret.expose_secret(),
        sellsy_client_id: &secrets.sellsy_client_id,
        sellsy_client_secret: secrets.sellsy_client_secret.expose_secret(),
    };
    // A struct of strings always serialises.
    SecretString::from(serde_json::to_string(&json).unwrap_or_default())
}

#[derive(Serialize)]
struct WebhookSecretsJson<'a> {
    current: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_until: Option<String>,
}

/// The JSON stored in Secrets Manager for webhook secrets (the inverse of [`decode_webhook_secrets`]).
pub fn encode_webhook_secrets(secrets: &WebhookSecrets) -> SecretString {
    let json = WebhookSecretsJson {
        current: secrets.current.expose_secret(),
        previous: secrets.previous.as_ref().map(|s| s.expose_secret()),
        previous_until: secrets
            .previous_until
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    };
    SecretString::from(serde_json::to_string(&json).unwrap_or_default())
}

impl SecretsManagerSecrets {
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        Self::reading(client, prefix, decode_secrets)
    }
}

impl SecretsManagerWebhookSecrets {
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        Self::reading(client, prefix, decode_webhook_secrets)
    }
}

impl<V: Clone + Send + Sync> SecretsManagerStore<V> {
    fn reading(
        client: Client,
        prefix: impl Into<String>,
        decode: fn(&str, &str) -> PortResult<V>,
    ) -> Self {
        Self {
            client,
            prefix: prefix.into(),
            cache: TtlCache::new(),
            decode,
        }
    }

    /// How long a fetched secret (and, capped by it, a missing one) is cached.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.cache = self.cache.with_ttl(ttl);
        self
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Forgets every cached value (e.g. after registering a connector in the same process).
    pub async fn invalidate(&self) {
        self.cache.clear().await;
    }

    async fn cached(&self, id: &ConnectorId) -> PortResult<Option<V>> {
        let name = secret_name(&self.prefix, id);
        let fetch = async {
            match secret_string(&self.client, &name).await? {
                Some(json) => (self.decode)(&name, json.expose_secret()).map(Some),
                None => Ok(None),
            }
        };
        self.cache.get(id, fetch).await
    }
}

#[async_trait]
impl SecretStore for SecretsManagerSecrets {
    async fn connector_secrets(&self, id: &ConnectorId) -> PortResult<Option<ConnectorSecrets>> {
        self.cached(id).await
    }
}

#[async_trait]
impl SecretStore for SecretsManagerWebhookSecrets {
    async fn connector_secrets(&self, id: &ConnectorId) -> PortResult<Option<ConnectorSecrets>> {
        Err(PortError::permanent(format!(
            "connector {id}: this store holds webhook secrets only (the receiver never reads a connector's keys)"
        )))
    }

    async fn webhook_secrets(&self, id: &ConnectorId) -> PortResult<Option<WebhookSecrets>> {
        self.cached(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"{"woocommerce_consumer_key":"ck_1","woocommerce_consumer_secret":"cs_1",
        "webhook_secret":"whs","sellsy_client_id":"cid","sellsy_client_secret":"csec"}"#;

    #[test]
    fn secrets_round_trip_through_the_stored_json() {
        let decoded = decode_secrets("n", FULL).unwrap();
        let again = decode_secrets("n", encode_secrets(&decoded).expose_secret()).unwrap();
        assert_eq!(again.woocommerce_consumer_key.expose_secret(), "ck_1");
        assert_eq!(again.webhook_secret.expose_secret(), "whs");
        assert_eq!(again.sellsy_client_id, "cid");
        assert_eq!(again.sellsy_client_secret.expose_secret(), "csec");
    }

    #[test]
    fn decoding_errors_never_quote_the_value() {
        // A number where a string is expected: serde would print the number.
        let bad = r#"{"woocommerce_consumer_key":987654321,"woocommerce_consumer_secret":"cs_topsecret"}"#;
        let err = decode_secrets("woosellsy/x/connectors/a", bad)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("987654321"), "{err}");
        assert!(!err.contains("topsecret"), "{err}");
        assert!(err.contains("woosellsy/x/connectors/a"));

        let missing = r#"{"woocommerce_consumer_key":"ck_verysecret"}"#;
        let err = decode_secrets("n", missing).unwrap_err().to_string();
        assert!(err.contains("missing field"), "{err}");
        assert!(!err.contains("verysecret"), "{err}");

        let truncated = r#"{"woocommerce_consumer_key":"ck_verysecr"#;
        let err = decode_secrets("n", truncated).unwrap_err().to_string();
        assert!(!err.contains("verysecr"), "{err}");
    }

    #[test]
    fn secret_names_are_prefixed_per_connector() {
        let id = ConnectorId::parse("shop-1").unwrap();
        assert_eq!(
            secret_name("woosellsy/prod/connectors/", &id),
            "woosellsy/prod/connectors/shop-1"
        );
    }

    #[test]
    fn webhook_secrets_round_trip_and_never_leak_on_errors() {
        let only = decode_webhook_secrets("n", r#"{"current":"whs"}"#).unwrap();
        assert!(only.previous.is_none() && only.previous_until.is_none());
        assert_eq!(
            encode_webhook_secrets(&only).expose_secret(),
            r#"{"current":"whs"}"#
        );
        let rotating = decode_webhook_secrets(
            "n",
            r#"{"current":"new","previous":"old","previous_until":"2026-11-21T10:00:00Z"}"#,
        )
        .unwrap();
        let again =
            decode_webhook_secrets("n", encode_webhook_secrets(&rotating).expose_secret()).unwrap();
        assert!(again.same_as(&rotating));
        let err = decode_webhook_secrets("woosellsy/x/webhooks/a", r#"{"current":12345678}"#)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("12345678"), "{err}");
        assert!(err.contains("woosellsy/x/webhooks/a"), "{err}");
    }
}
