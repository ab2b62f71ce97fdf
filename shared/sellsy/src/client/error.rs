//! The one error type of the Sellsy client, and how an HTTP error answer becomes one.
//!
//! Sellsy answers errors with `{"error":{"code","message","context","details":{field: message}}}`;
//! `details` carries per-field validation messages, which are what a merchant needs to fix a product or
//! a customer, so they are kept and printed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Sellsy answered with an error status (after any retries the client was allowed).
    #[error("Sellsy answered {status}: {}", describe(message, context.as_deref(), details))]
    Api {
        status: u16,
        message: String,
        context: Option<String>,
        /// Field → message, flattened (`rows.0.tax_id`) when Sellsy nests them.
        details: BTreeMap<String, String>,
        /// `Retry-After` of the last answer, when Sellsy sent one.
        retry_after: Option<Duration>,
    },
    /// The token endpoint refused the client credentials, or the API kept refusing a fresh token.
    #[error("Sellsy authentication failed: {message}")]
    Auth { message: String },
    /// No usable answer: connection refused, timeout, reset. `maybe_processed` is true when the request
    /// may have reached Sellsy (only a failure to connect proves it did not).
    #[error("could not reach Sellsy: {message}")]
    Transport {
        message: String,
        maybe_processed: bool,
    },
    /// Sellsy answered success with a body this client cannot read.
    #[error("unexpected Sellsy answer to {operation}: {message}")]
    Decode { operation: String, message: String },
    /// The client cannot be built from the configuration it was given.
    #[error("invalid Sellsy client configuration: {0}")]
    Config(String),
}

impl Error {
    /// Whether the same request may succeed later: quota (429), server errors, timeouts, transport.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Api { status, .. } => matches!(*status, 408 | 425 | 429) || *status >= 500,
            Error::Transport { .. } => true,
            Error::Auth { .. } | Error::Decode { .. } | Error::Config(_) => false,
        }
    }

    /// How long Sellsy asked us to wait, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Builds the error for a non-success answer, reading the Sellsy envelope when there is one.
    pub(crate) fn from_response(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        #[derive(Deserialize)]
        struct Envelope {
            error: Inner,
        }
        #[derive(Deserialize)]
        struct Inner {
            #[serde(default)]
            message: Option<String>,
            #[serde(default)]
            context: Option<Value>,
            #[serde(default)]
            details: Option<Value>,
        }
        match serde_json::from_slice::<Envelope>(body) {
            Ok(env) => {
                let mut details = BTreeMap::new();
                if let Some(d) = env.error.details {
                    flatten_details("", &d, &mut details);
                }
                Error::Api {
                    status,
                    message: env
                        .error
                        .message
                        .filter(|m| !m.trim().is_empty())
                        .unwrap_or_else(|| default_message(status)),
                    context: env.error.context.and_then(|c| match c {
                        Value::Null => None,
                        Value::String(s) if s.is_empty() => None,
                        Value::String(s) => Some(s),
                        other => Some(other.to_string()),
                    }),
                    details,
                    retry_after,
                }
            }
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let text = text.trim();
                let message = if text.is_empty() {
                    default_message(status)
                } else {
                    // A proxy's HTML page can be long; the start says enough.
                    text.chars().take(300).collect()
                };
                Error::Api {
                    status,
                    message,
                    context: None,
                    details: BTreeMap::new(),
                    retry_after,
                }
            }
        }
    }
}

fn default_message(status: u16) -> String {
    http_reason(status).map_or_else(|| format!("HTTP {status}"), str::to_owned)
}

fn http_reason(status: u16) -> Option<&'static str> {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
}

/// `details` is documented as `{field: message}`, but nothing stops Sellsy from nesting objects or
/// arrays of messages; flatten them so that no message is lost.
fn flatten_details(prefix: &str, value: &Value, out: &mut BTreeMap<String, String>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten_details(&key(k), v, out);
            }
        }
        Value::Array(items) if items.iter().all(Value::is_string) && !prefix.is_empty() => {
            let joined: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            out.insert(prefix.to_owned(), joined.join("; "));
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten_details(&key(&i.to_string()), v, out);
            }
        }
        Value::String(s) => {
            out.insert(
                if prefix.is_empty() {
                    "_".to_owned()
                } else {
                    prefix.to_owned()
                },
                s.clone(),
            );
        }
        Value::Null => {}
        other => {
            out.insert(
                if prefix.is_empty() {
                    "_".to_owned()
                } else {
                    prefix.to_owned()
                },
                other.to_string(),
            );
        }
    }
}

fn describe(message: &str, context: Option<&str>, details: &BTreeMap<String, String>) -> String {
    let mut s = message.to_owned();
    if let Some(c) = context {
        let _ = write!(s, " [{c}]");
    }
    if !details.is_empty() {
        let parts: Vec<String> = details.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let _ = write!(s, " ({})", parts.join("; "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_with_details_becomes_a_typed_error() {
        let body = br#"{"error":{"code":400,"message":"Invalid data","context":"invoices.create",
            "details":{"rows[0].tax_id":"This tax is not compliant","related":"Only client allowed"}}}"#;
        let e = Error::from_response(400, body, None);
        assert!(!e.is_transient());
        let Error::Api {
            status,
            message,
            context,
            details,
            ..
        } = &e
        else {
            panic!("expected Api, got {e:?}")
        };
        assert_eq!(*status, 400);
        assert_eq!(message, "Invalid data");
        assert_eq!(context.as_deref(), Some("invoices.create"));
        assert_eq!(details["rows[0].tax_id"], "This tax is not compliant");
        let text = e.to_string();
        assert!(
            text.contains("rows[0].tax_id: This tax is not compliant"),
            "{text}"
        );
        assert!(text.contains("related: Only client allowed"), "{text}");
    }

    #[test]
    fn nested_details_are_flattened() {
        let body = br#"{"error":{"code":400,"message":"x","details":{"rows":[{"quantity":"must be a string"}],"name":["too short","bad"]}}}"#;
        let Error::Api { details, .. } = Error::from_response(400, body, None) else {
            panic!()
        };
        assert_eq!(details["rows.0.quantity"], "must be a string");
        assert_eq!(details["name"], "too short; bad");
    }

    #[test]
    fn non_json_error_bodies_are_kept_readable() {
        let e = Error::from_response(502, b"<html>Bad gateway</html>", None);
        assert!(e.is_transient());
        assert!(e.to_string().contains("Bad gateway"));
        let e = Error::from_response(503, b"", Some(Duration::from_secs(2)));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        assert!(e.to_string().contains("Service Unavailable"));
    }

    #[test]
    fn transience_follows_the_status() {
        for (status, transient) in [
            (400, false),
            (401, false),
            (403, false),
            (404, false),
            (429, true),
            (500, true),
            (503, true),
        ] {
            assert_eq!(
                Error::from_response(status, b"{}", None).is_transient(),
                transient,
                "{status}"
            );
        }
        assert!(
            Error::Transport {
                message: "reset".into(),
                maybe_processed: true
            }
            .is_transient()
        );
        assert!(
            !Error::Auth {
                message: "invalid_client".into()
            }
            .is_transient()
        );
    }
}
