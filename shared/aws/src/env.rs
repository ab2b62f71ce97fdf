//! The configuration the two Lambda functions read from their environment (set by `template.yaml`).

use std::time::Duration;

use crate::secrets::DEFAULT_SECRET_TTL;

/// First delay before a transient failure is retried (SQS visibility), doubled per delivery.
pub const DEFAULT_RETRY_BASE: Duration = Duration::from_secs(10);

/// Environment variable names, as written in `template.yaml`.
pub mod names {
    pub const TABLE_NAME: &str = "WOOSELLSY_TABLE";
    pub const QUEUE_URL: &str = "WOOSELLSY_QUEUE_URL";
    pub const SECRET_PREFIX: &str = "WOOSELLSY_SECRET_PREFIX";
    /// Prefix of the webhook-only secrets, the only ones the receiver reads.
    pub const WEBHOOK_SECRET_PREFIX: &str = "WOOSELLSY_WEBHOOK_SECRET_PREFIX";
    pub const SECRETS_CACHE_SECONDS: &str = "WOOSELLSY_SECRETS_CACHE_SECONDS";
    pub const SELLSY_MAX_RPS: &str = "WOOSELLSY_SELLSY_MAX_RPS";
    pub const MAX_RECEIVES: &str = "WOOSELLSY_MAX_RECEIVES";
    pub const RETRY_BASE_SECONDS: &str = "WOOSELLSY_RETRY_BASE_SECONDS";
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("environment variable {0} is not set (it comes from template.yaml)")]
    Missing(&'static str),
    #[error("environment variable {name} must be {expected}, got {value:?}")]
    Invalid {
        name: &'static str,
        expected: &'static str,
        value: String,
    },
}

/// What a function needs to build its adapters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionEnv {
    pub table_name: String,
    /// Only the receiver sends; the converter is fed by the event source.
    pub queue_url: Option<String>,
    pub secret_prefix: String,
    /// Prefix of the webhook-only secrets; required by the receiver, unused by the converter.
    pub webhook_secret_prefix: Option<String>,
    pub secrets_ttl: Duration,
    /// The stack's cap on Sellsy requests per second per connector (the account quota is shared).
    pub sellsy_max_rps: Option<u32>,
    /// The queue's `maxReceiveCount`: on the last delivery a failing event is recorded on its order.
    pub max_receives: Option<u32>,
    /// First retry delay of a transient failure, doubled per delivery (capped at 15 minutes).
    pub retry_base: Duration,
}

impl FunctionEnv {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Same as [`FunctionEnv::from_env`] over any lookup (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        let get = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required = |name: &'static str| get(name).ok_or(EnvError::Missing(name));
        let secrets_ttl = match get(names::SECRETS_CACHE_SECONDS) {
            None => DEFAULT_SECRET_TTL,
            Some(v) => Duration::from_secs(v.parse().map_err(|_| EnvError::Invalid {
                name: names::SECRETS_CACHE_SECONDS,
                expected: "a number of seconds",
                value: v.clone(),
            })?),
        };
        let positive = |name: &'static str| -> Result<Option<u32>, EnvError> {
            match get(name) {
                None => Ok(None),
                Some(v) => match v.parse::<u32>() {
                    Ok(n) if n > 0 => Ok(Some(n)),
                    _ => Err(EnvError::Invalid {
                        name,
                        expected: "a positive integer",
                        value: v,
                    }),
                },
            }
        };
        let retry_base = match get(names::RETRY_BASE_SECONDS) {
            None => DEFAULT_RETRY_BASE,
            Some(v) => Duration::from_secs(v.parse().map_err(|_| EnvError::Invalid {
                name: names::RETRY_BASE_SECONDS,
                expected: "a number of seconds",
                value: v.clone(),
            })?),
        };
        Ok(Self {
            table_name: required(names::TABLE_NAME)?,
            queue_url: get(names::QUEUE_URL),
            secret_prefix: required(names::SECRET_PREFIX)?,
            webhook_secret_prefix: get(names::WEBHOOK_SECRET_PREFIX),
            secrets_ttl,
            sellsy_max_rps: positive(names::SELLSY_MAX_RPS)?,
            max_receives: positive(names::MAX_RECEIVES)?,
            retry_base,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn reads_the_template_variables() {
        let env = FunctionEnv::from_lookup(lookup(&[
            (names::TABLE_NAME, "woosellsy-prod-state"),
            (
                names::QUEUE_URL,
                "https://sqs.eu-west-3.amazonaws.com/1/q.fifo",
            ),
            (names::SECRET_PREFIX, "woosellsy/woosellsy-prod/connectors/"),
            (
                names::WEBHOOK_SECRET_PREFIX,
                "woosellsy/woosellsy-prod/webhooks/",
            ),
            (names::SECRETS_CACHE_SECONDS, "60"),
            (names::SELLSY_MAX_RPS, "4"),
            (names::MAX_RECEIVES, "8"),
        ]))
        .unwrap();
        assert_eq!(env.max_receives, Some(8));
        assert_eq!(
            env.webhook_secret_prefix.as_deref(),
            Some("woosellsy/woosellsy-prod/webhooks/")
        );
        assert_eq!(env.retry_base, DEFAULT_RETRY_BASE);
        assert_eq!(env.table_name, "woosellsy-prod-state");
        assert_eq!(env.secrets_ttl, Duration::from_secs(60));
        assert_eq!(env.sellsy_max_rps, Some(4));
    }

    #[test]
    fn missing_or_malformed_values_are_named() {
        let err = FunctionEnv::from_lookup(lookup(&[(names::SECRET_PREFIX, "p/")])).unwrap_err();
        assert_eq!(err, EnvError::Missing(names::TABLE_NAME));
        let err = FunctionEnv::from_lookup(lookup(&[
            (names::TABLE_NAME, "t"),
            (names::SECRET_PREFIX, "p/"),
            (names::SELLSY_MAX_RPS, "0"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains(names::SELLSY_MAX_RPS));
        let env = FunctionEnv::from_lookup(lookup(&[
            (names::TABLE_NAME, "t"),
            (names::SECRET_PREFIX, "p/"),
        ]))
        .unwrap();
        assert_eq!(env.queue_url, None);
        assert_eq!(env.secrets_ttl, DEFAULT_SECRET_TTL);
    }
}
