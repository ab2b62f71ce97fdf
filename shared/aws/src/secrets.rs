//! [`SecretsManagerSecrets`]: the [`SecretStore`] port on AWS Secrets Manager.
//!
//! One secret per connector, named `{prefix}{connector_id}` (the template's prefix is
//! `woosellsy/{stack}/connectors/`), whose value is a JSON object with the fields of
//! [`ConnectorSecrets`]. Values are cached per Lambda container for a TTL, so a warm function costs no
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
use woosellsy_domain::{ConnectorId, ConnectorSecrets};
use woosellsy_ports::{PortError, PortResult, SecretStore};

use crate::error::from_sdk;

/// How long a fetched secret is used before it is read again.
pub const DEFAULT_SECRET_TTL: Duration = Duration::from_secs(300);
/// How long "this connector has no secret" is believed.
pub const DEFAULT_MISSING_TTL: Duration = Duration::from_secs(30);

/// The [`SecretStore`] on Secrets Manager, with a per-container TTL cache.
pub struct SecretsManagerSecrets {
    client: Client,
    prefix: String,
    ttl: Duration,
    missing_ttl: Duration,
    cache: RwLock<HashMap<ConnectorId, Cached>>,
}

struct Cached {
    fetched: Instant,
    value: Option<ConnectorSecrets>,
}

impl std::fmt::Debug for SecretsManagerSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsManagerSecrets")
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// The secret's name for a connector.
pub fn secret_name(prefix: &str, id: &ConnectorId) -> String {
    format!("{prefix}{id}")
}

/// Decodes a secret's JSON without ever echoing its content.
pub fn decode_secrets(name: &str, json: &str) -> PortResult<ConnectorSecrets> {
    serde_json::from_str::<ConnectorSecrets>(json).map_err(|e| {
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
            "secret {name} is not a JSON object with the connector secret fields ({safe})"
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

impl SecretsManagerSecrets {
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        Self {
            client,
            prefix: prefix.into(),
            ttl: DEFAULT_SECRET_TTL,
            missing_ttl: DEFAULT_MISSING_TTL,
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// How long a fetched secret (and, capped by it, a missing one) is cached.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self.missing_ttl = self.missing_ttl.min(ttl);
        self
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Forgets every cached value (e.g. after registering a connector in the same process).
    pub async fn invalidate(&self) {
        self.cache.write().await.clear();
    }

    async fn fetch(&self, id: &ConnectorId) -> PortResult<Option<ConnectorSecrets>> {
        let name = secret_name(&self.prefix, id);
        let result = self.client.get_secret_value().secret_id(&name).send().await;
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
        let Some(json) = out.secret_string() else {
            return Err(PortError::permanent(format!(
                "secret {name} has no string value (binary secrets are not supported)"
            )));
        };
        decode_secrets(&name, json).map(Some)
    }
}

#[async_trait]
impl SecretStore for SecretsManagerSecrets {
    async fn connector_secrets(&self, id: &ConnectorId) -> PortResult<Option<ConnectorSecrets>> {
        let stale = {
            let cache = self.cache.read().await;
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
        match self.fetch(id).await {
            Ok(value) => {
                self.cache.write().await.insert(
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
}
