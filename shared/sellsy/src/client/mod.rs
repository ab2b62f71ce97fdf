//! The Sellsy API v2 HTTP client.
//!
//! One [`Client`] per Sellsy account (clone it freely: clones share the token cache, the pacer and the
//! counters). Every request:
//! * carries a bearer token minted with `client_credentials`, cached until `expires_in − 60 s`, minted
//!   by one task at a time, and re-minted once when the API answers 401;
//! * waits its turn on the [`pace`]r: a share of the account's own quota, learnt from the
//!   `X-Quota-Remaining-By-*` headers (which also coordinates several containers), under an optional
//!   `requests_per_second` cap;
//! * records those headers in a [`QuotaSnapshot`];
//! * is retried a bounded number of times on 429 (honouring `Retry-After`) and, when retrying cannot
//!   create a duplicate, on 5xx and transport failures.
//!
//! Creates are not idempotent in Sellsy (no idempotency key exists), so a create that may have reached
//! Sellsy (5xx, timeout, reset) is never replayed here: the error goes back to the caller as transient
//! and the caller recovers by searching (see `AccountingBackend::find_document`).

mod error;
mod ops;
pub mod pace;
pub mod types;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use pace::Pacer;

pub use error::Error;
pub use ops::{EmailMatch, MAX_PAGE_SIZE};
pub use types::*;

/// How the client reaches one Sellsy account.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// API base, e.g. `https://api.sellsy.com/v2` (no trailing slash needed).
    pub api_url: String,
    /// Token endpoint, e.g. `https://login.sellsy.com/oauth2/access-tokens`.
    pub token_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// A hard cap on requests per second, on top of the quota pacing (0: no cap).
    pub requests_per_second: u32,
    /// The share of the account's quota this client paces itself to (see [`pace`]); the rest is left
    /// to the merchant's other tools.
    pub quota_share: f64,
    pub retry: CallRetries,
    /// Whole-request timeout.
    pub timeout: Duration,
}

impl ClientConfig {
    pub fn new(
        api_url: impl Into<String>,
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Self {
        ClientConfig {
            api_url: api_url.into(),
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret,
            requests_per_second: 0,
            quota_share: DEFAULT_QUOTA_SHARE,
            retry: CallRetries::default(),
            timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// The share of the account's quota a connector uses unless configured otherwise.
pub const DEFAULT_QUOTA_SHARE: f64 = 0.8;

/// A whole request's timeout unless configured otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest token lifetime believed, whatever `expires_in` says.
const MAX_TOKEN_LIFETIME_SECS: u64 = 24 * 3600;

/// Retries within one call (the queue runners' retries between attempts are `woosellsy_engine::settle`):
/// bounded: `max_retries` extra attempts, waiting `Retry-After` when Sellsy sends it, else
/// `base × 2^attempt` capped at `cap`. A `Retry-After` longer than `max_wait` is not slept on (a daily
/// quota can ask for hours): the error goes back to the caller with the delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallRetries {
    pub max_retries: u32,
    pub base: Duration,
    pub cap: Duration,
    pub max_wait: Duration,
}

impl Default for CallRetries {
    fn default() -> Self {
        CallRetries {
            max_retries: 3,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(16),
            // A Retry-After longer than this goes back to the queue: the converter's create budget
            // (45 s) must hold a wait and the request after it.
            max_wait: Duration::from_secs(20),
        }
    }
}

impl CallRetries {
    /// The wait before retry `attempt` (0 = the first retry): the project's one exponential backoff.
    fn backoff(&self, attempt: u32) -> Duration {
        woosellsy_domain::backoff::exponential(self.base, attempt.saturating_add(1), self.cap)
    }
}

/// The `X-Quota-Remaining-By-*` headers of the latest answer that carried them (they can go negative
/// on overshoot, hence signed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QuotaSnapshot {
    pub by_second: Option<i64>,
    pub by_minute: Option<i64>,
    pub by_day: Option<i64>,
    pub by_month: Option<i64>,
}

impl QuotaSnapshot {
    fn from_headers(h: &HeaderMap) -> Self {
        let read = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<i64>().ok())
        };
        QuotaSnapshot {
            by_second: read("x-quota-remaining-by-second"),
            by_minute: read("x-quota-remaining-by-minute"),
            by_day: read("x-quota-remaining-by-day"),
            by_month: read("x-quota-remaining-by-month"),
        }
    }
    fn is_empty(&self) -> bool {
        *self == QuotaSnapshot::default()
    }
}

/// Whether replaying a request can create something twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Reads, searches, compute: replay on 5xx and transport failures too.
    Safe,
    /// Creates: replay only when Sellsy certainly did not process it (429, 401, failure to connect).
    Unsafe,
}

struct CachedToken {
    value: SecretString,
    fresh_until: Instant,
}

struct Inner {
    http: reqwest::Client,
    api_url: String,
    token_url: String,
    client_id: String,
    client_secret: SecretString,
    retry: CallRetries,
    pacer: Pacer,
    /// Held across a mint, so that concurrent requests wait for one token instead of minting several.
    token: tokio::sync::Mutex<Option<CachedToken>>,
    calls: AtomicU64,
    token_calls: AtomicU64,
    /// The token endpoint's body format that last worked (see [`Client::mint`]).
    token_as_json: AtomicBool,
    quota: StdMutex<QuotaSnapshot>,
}

/// The Sellsy API v2 client. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api_url", &self.inner.api_url)
            .field("client_id", &self.inner.client_id)
            .field("calls_made", &self.calls_made())
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let api_url = config.api_url.trim().trim_end_matches('/').to_owned();
        let token_url = config.token_url.trim().to_owned();
        for (what, url) in [("api_url", &api_url), ("token_url", &token_url)] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(Error::Config(format!(
                    "{what} must be an http(s) URL, got {url:?}"
                )));
            }
        }
        if config.client_id.trim().is_empty() {
            return Err(Error::Config("client_id is empty".into()));
        }
        // reqwest is built without a default crypto provider; installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("woosellsy/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                api_url,
                token_url,
                client_id: config.client_id,
                client_secret: config.client_secret,
                retry: config.retry,
                pacer: Pacer::new(
                    config.quota_share,
                    Some(config.requests_per_second).filter(|r| *r > 0),
                ),
                token: tokio::sync::Mutex::new(None),
                calls: AtomicU64::new(0),
                token_calls: AtomicU64::new(0),
                token_as_json: AtomicBool::new(false),
                quota: StdMutex::new(QuotaSnapshot::default()),
            }),
        })
    }

    /// HTTP requests sent to the API so far (retries included, token endpoint excluded).
    pub fn calls_made(&self) -> u64 {
        self.inner.calls.load(Ordering::Relaxed)
    }

    /// Requests sent to the token endpoint so far.
    pub fn token_requests(&self) -> u64 {
        self.inner.token_calls.load(Ordering::Relaxed)
    }

    /// The quota Sellsy reported on its latest answer.
    pub fn quota(&self) -> QuotaSnapshot {
        self.inner.quota.lock().map(|q| *q).unwrap_or_default()
    }

    /// A valid access token, minted when the cached one is missing or about to expire.
    async fn bearer(&self) -> Result<SecretString, Error> {
        let mut slot = self.inner.token.lock().await;
        if let Some(t) = slot.as_ref()
            && Instant::now() < t.fresh_until
        {
            return Ok(t.value.clone());
        }
        let minted = self.mint().await?;
        let value = minted.value.clone();
        *slot = Some(minted);
        Ok(value)
    }

    /// Forgets `rejected` if it is still the cached token (another task may have replaced it already).
    async fn forget(&self, rejected: &SecretString) {
        let mut slot = self.inner.token.lock().await;
        if slot
            .as_ref()
            .is_some_and(|t| t.value.expose_secret() == rejected.expose_secret())
        {
            *slot = None;
        }
    }

    /// One `client_credentials` request, form-encoded or JSON.
    async fn request_token(
        &self,
        as_json: bool,
    ) -> Result<(StatusCode, Option<Duration>, bytes::Bytes), Error> {
        self.inner.token_calls.fetch_add(1, Ordering::Relaxed);
        let fields = [
            ("grant_type", "client_credentials"),
            ("client_id", self.inner.client_id.as_str()),
            ("client_secret", self.inner.client_secret.expose_secret()),
        ];
        let request = self
            .inner
            .http
            .post(&self.inner.token_url)
            .header(ACCEPT, "application/json");
        let request = if as_json {
            let map: serde_json::Map<String, serde_json::Value> = fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
                .collect();
            request.json(&map)
        } else {
            request.form(&fields)
        };
        let resp = request
            .send()
            .await
            .map_err(|e| transport("the token endpoint", &e))?;
        let status = resp.status();
        let retry_after = retry_after(resp.headers());
        let body = resp
            .bytes()
            .await
            .map_err(|e| transport("the token endpoint", &e))?;
        Ok((status, retry_after, body))
    }

    async fn mint(&self) -> Result<CachedToken, Error> {
        #[derive(Deserialize)]
        struct TokenAnswer {
            access_token: Option<String>,
            #[serde(default)]
            expires_in: Option<serde_json::Value>,
        }
        #[derive(Deserialize)]
        struct OAuthError {
            error: Option<String>,
            error_description: Option<String>,
        }
        // OAuth 2 (RFC 6749 §4.4) sends the token request form-encoded, and so do most Sellsy
        // clients; Sellsy's own documentation shows a JSON body. Ask one way and, if the endpoint
        // refuses the request itself (not a throttle or an outage), ask once more the other way,
        // remembering which one worked.
        let as_json = self.inner.token_as_json.load(Ordering::Relaxed);
        let (mut status, mut retry_after, mut body) = self.request_token(as_json).await?;
        if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS {
            let (s2, r2, b2) = self.request_token(!as_json).await?;
            if s2.is_success() {
                self.inner.token_as_json.store(!as_json, Ordering::Relaxed);
                (status, retry_after, body) = (s2, r2, b2);
            }
        }
        tracing::debug!(target: "sellsy", method = "POST", path = "token", status = status.as_u16(), "sellsy token request");
        if !status.is_success() {
            if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                return Err(Error::from_response(status.as_u16(), &body, retry_after));
            }
            let reason = serde_json::from_slice::<OAuthError>(&body)
                .ok()
                .and_then(|e| e.error_description.or(e.error))
                .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
            return Err(Error::Auth {
                message: format!("the token endpoint refused the client credentials ({reason})"),
            });
        }
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|e| Error::Decode {
            operation: "the token request".into(),
            message: e.to_string(),
        })?;
        let token = answer
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Decode {
                operation: "the token request".into(),
                message: "no access_token in the answer".into(),
            })?;
        let lifetime = answer
            .expires_in
            .and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            })
            .unwrap_or(3600)
            // Sellsy's tokens live an hour; a lifetime beyond a day is not to be believed (and a huge one
            // would overflow the clock).
            .min(MAX_TOKEN_LIFETIME_SECS);
        // Renew a minute early so that a token never expires in flight; a very short lifetime still
        // gets half of it.
        let usable = if lifetime > 120 {
            lifetime - 60
        } else {
            lifetime / 2
        };
        Ok(CachedToken {
            value: SecretString::from(token),
            fresh_until: Instant::now() + Duration::from_secs(usable),
        })
    }

    /// Sends one API request (with the retries its [`Replay`] class allows) and returns the
    /// successful answer's status and body.
    pub(crate) async fn execute(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        replay: Replay,
    ) -> Result<(StatusCode, bytes::Bytes), Error> {
        let url = format!("{}{}", self.inner.api_url, path);
        let payload = match body {
            Some(b) => Some(serde_json::to_vec(b).map_err(|e| Error::Decode {
                operation: format!("{method} {path}"),
                message: format!("cannot encode the request: {e}"),
            })?),
            None => None,
        };
        let policy = self.inner.retry;
        let mut attempt = 0u32;
        let mut reminted = false;
        loop {
            let token = self.bearer().await?;
            if let Err(wait) = self.inner.pacer.ready(policy.max_wait).await {
                // The account's quota (minus the other tools' share) is spent for longer than a
                // request may wait: nothing was sent, the caller retries after the window.
                return Err(Error::Api {
                    status: 429,
                    message: "the account's API quota is spent for now (paced locally, not sent)"
                        .to_owned(),
                    context: None,
                    details: Default::default(),
                    retry_after: Some(wait),
                });
            }
            self.inner.calls.fetch_add(1, Ordering::Relaxed);
            let mut req = self
                .inner
                .http
                .request(method.clone(), &url)
                .bearer_auth(token.expose_secret())
                .header(ACCEPT, "application/json");
            if !query.is_empty() {
                req = req.query(query);
            }
            if let Some(p) = &payload {
                req = req.header(CONTENT_TYPE, "application/json").body(p.clone());
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    let err = transport(path, &e);
                    tracing::debug!(target: "sellsy", method = %method, path, error = %err, "sellsy request failed");
                    let never_sent = e.is_connect();
                    if (replay == Replay::Safe || never_sent) && attempt < policy.max_retries {
                        tokio::time::sleep(policy.backoff(attempt)).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(err);
                }
            };
            let status = resp.status();
            let quota = QuotaSnapshot::from_headers(resp.headers());
            self.inner.pacer.observe(quota, tokio::time::Instant::now());
            if !quota.is_empty()
                && let Ok(mut q) = self.inner.quota.lock()
            {
                *q = quota;
            }
            let wait_hint = retry_after(resp.headers());
            tracing::debug!(
                target: "sellsy",
                method = %method,
                path,
                status = status.as_u16(),
                quota_second = quota.by_second,
                quota_minute = quota.by_minute,
                quota_day = quota.by_day,
                "sellsy request"
            );
            let bytes = match resp.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    // The status came back, so Sellsy processed it; the body was lost.
                    if replay == Replay::Safe && attempt < policy.max_retries {
                        tokio::time::sleep(policy.backoff(attempt)).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(transport(path, &e));
                }
            };
            if status.is_success() {
                return Ok((status, bytes));
            }
            if status == StatusCode::UNAUTHORIZED {
                if !reminted {
                    self.forget(&token).await;
                    reminted = true;
                    continue;
                }
                let err = Error::from_response(status.as_u16(), &bytes, None);
                return Err(Error::Auth {
                    message: format!("the API refused a freshly minted token: {err}"),
                });
            }
            let err = Error::from_response(status.as_u16(), &bytes, wait_hint);
            let retryable = status == StatusCode::TOO_MANY_REQUESTS
                || (replay == Replay::Safe && err.is_transient());
            if retryable && attempt < policy.max_retries {
                let wait = wait_hint.unwrap_or_else(|| policy.backoff(attempt));
                if wait <= policy.max_wait {
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
            }
            return Err(err);
        }
    }

    /// [`Self::execute`] and decode the JSON answer.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        replay: Replay,
    ) -> Result<T, Error> {
        let (_, bytes) = self
            .execute(method.clone(), path, query, body, replay)
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            operation: format!("{method} {path}"),
            message: e.to_string(),
        })
    }
}

fn transport(what: &str, e: &reqwest::Error) -> Error {
    // reqwest's message names the URL, never the headers, so no token can leak here.
    Error::Transport {
        message: format!("{what}: {e}"),
        maybe_processed: !e.is_connect(),
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by Sellsy).
fn retry_after(h: &HeaderMap) -> Option<Duration> {
    h.get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = CallRetries::default();
        assert_eq!(p.backoff(0), Duration::from_secs(1));
        assert_eq!(p.backoff(1), Duration::from_secs(2));
        assert_eq!(p.backoff(3), Duration::from_secs(8));
        assert_eq!(p.backoff(10), Duration::from_secs(16));
        assert_eq!(p.backoff(40), Duration::from_secs(16));
    }

    #[test]
    fn config_is_validated() {
        let bad = ClientConfig::new(
            "api.sellsy.com",
            "https://login/x",
            "id",
            SecretString::from("s"),
        );
        assert!(matches!(Client::new(bad), Err(Error::Config(_))));
        let empty = ClientConfig::new(
            "https://a/v2",
            "https://login/x",
            " ",
            SecretString::from("s"),
        );
        assert!(matches!(Client::new(empty), Err(Error::Config(_))));
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let c = Client::new(ClientConfig::new(
            "https://a/v2",
            "https://l/t",
            "id",
            SecretString::from("hunter2"),
        ))
        .unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
