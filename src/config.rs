//! The `woosellsy.toml` configuration of the single-machine binary.
//!
//! Secrets may be written in the file or, better, left out of it and given as environment variables:
//! for connector `shop-1` the prefix is `WOOSELLSY_SHOP_1_` followed by `WOOCOMMERCE_CONSUMER_KEY`,
//! `WOOCOMMERCE_CONSUMER_SECRET`, `WEBHOOK_SECRET`, `SELLSY_CLIENT_ID` or `SELLSY_CLIENT_SECRET`.
//! The environment wins over the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use woosellsy_domain::settings::{
    default_documents, default_quota_share, default_reference_prefix, default_vat_meta_keys,
};
use woosellsy_domain::{
    ConnectorId, ConnectorSecrets, ConnectorSettings, DocumentKind, Exemption, TaxRounding, WooAuth,
};
use woosellsy_engine::{ConverterSettings, RetryPolicy, WorkerSettings};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration in {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the webhook receiver listens on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Where the embedded store (SQLite) lives.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Shows the details of `/health` (and, later, the status page) to whoever presents it. Without it
    /// `/health` only says "ok".
    #[serde(default)]
    pub status_token: Option<SecretString>,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub worker: WorkerConfig,
    #[serde(default, rename = "connector")]
    pub connectors: Vec<ConnectorConfig>,
}

/// The local HTTP server's limits (`[server]`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// A webhook body not received within this is answered 408.
    pub body_timeout_secs: u64,
    /// A webhook not answered within this is answered 503.
    pub request_timeout_secs: u64,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            body_timeout_secs: 10,
            request_timeout_secs: 30,
            max_connections: 512,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerConfig {
    pub concurrency: usize,
    pub max_attempts: u32,
    pub claim_lease_secs: u64,
    /// How long a message being processed stays hidden; defaults to the lease plus 30 s.
    pub visibility_secs: Option<u64>,
    pub base_backoff_ms: u64,
    pub max_backoff_secs: u64,
    /// First retry delay after the connector's keys were refused (doubled per attempt).
    pub refused_backoff_secs: u64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        let w = WorkerSettings::default();
        let c = ConverterSettings::default();
        Self {
            concurrency: w.concurrency,
            max_attempts: w.retry.max_attempts.unwrap_or(u32::MAX),
            claim_lease_secs: c.lease.as_secs(),
            visibility_secs: None,
            base_backoff_ms: w.retry.base.as_millis() as u64,
            max_backoff_secs: w.retry.max_delay.as_secs(),
            refused_backoff_secs: w.retry.refused_base.as_secs(),
        }
    }
}

impl WorkerConfig {
    pub fn converter_settings(&self) -> ConverterSettings {
        ConverterSettings::with_lease(Duration::from_secs(self.claim_lease_secs.max(1)))
    }

    pub fn worker_settings(&self) -> WorkerSettings {
        let lease = Duration::from_secs(self.claim_lease_secs.max(1));
        WorkerSettings {
            concurrency: self.concurrency.max(1),
            // A message should stay hidden longer than the claim it may hold.
            visibility: self
                .visibility_secs
                .map(Duration::from_secs)
                .unwrap_or(lease + Duration::from_secs(30)),
            retry: RetryPolicy {
                base: Duration::from_millis(self.base_backoff_ms.max(1)),
                max_delay: Duration::from_secs(self.max_backoff_secs.max(1)),
                max_attempts: Some(self.max_attempts.max(1)),
                refused_base: Duration::from_secs(self.refused_backoff_secs.max(1)),
            },
            ..WorkerSettings::default()
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorConfig {
    pub id: ConnectorId,
    #[serde(default = "default_documents")]
    pub documents: Vec<DocumentKind>,
    #[serde(default)]
    pub zero_rate_exemption: Exemption,
    #[serde(default = "default_vat_meta_keys")]
    pub vat_meta_keys: Vec<String>,
    #[serde(default = "default_reference_prefix")]
    pub order_reference_prefix: String,
    #[serde(default)]
    pub verify_totals_with_sellsy: bool,
    /// `unknown` (default), `per-row` or `per-rate`: how this Sellsy account rounds tax, once known.
    #[serde(default)]
    pub sellsy_tax_rounding: TaxRounding,
    /// Allows credentials over plain `http://` to a host that is not this machine (Basic auth to
    /// WooCommerce, anything to Sellsy). Off: they would cross the network in the clear.
    #[serde(default)]
    pub allow_insecure_http: bool,
    pub woocommerce: WooConfig,
    pub sellsy: SellsyConfig,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WooConfig {
    pub url: String,
    #[serde(default)]
    pub auth: WooAuth,
    pub consumer_key: Option<SecretString>,
    pub consumer_secret: Option<SecretString>,
    pub webhook_secret: Option<SecretString>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SellsyConfig {
    #[serde(default = "default_sellsy_api")]
    pub api_url: String,
    #[serde(default = "default_sellsy_token")]
    pub token_url: String,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    /// Optional hard cap on requests per second (the quota headers pace the connector).
    #[serde(default)]
    pub requests_per_second: Option<u32>,
    /// The share of the account's quota this connector uses (0 < share ≤ 1).
    #[serde(default = "default_quota_share")]
    pub quota_share: f64,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8787))
}
fn default_data_dir() -> PathBuf {
    PathBuf::from(".woosellsy")
}
fn default_sellsy_api() -> String {
    "https://api.sellsy.com/v2".to_owned()
}
fn default_sellsy_token() -> String {
    "https://login.sellsy.com/oauth2/access-tokens".to_owned()
}

impl Config {
    /// The HTTP edge's limits around the receiver's.
    pub fn edge_limits(
        &self,
        receiver: woosellsy_engine::ReceiverLimits,
    ) -> crate::http::EdgeLimits {
        crate::http::EdgeLimits {
            receiver,
            body_timeout: Duration::from_secs(self.server.body_timeout_secs.max(1)),
            request_timeout: Duration::from_secs(self.server.request_timeout_secs.max(1)),
            max_connections: self.server.max_connections.max(1),
            status_token: self
                .status_token
                .clone()
                .filter(|t| !t.expose_secret().trim().is_empty()),
        }
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        let config: Config =
            toml::from_str(text).map_err(|e| invalid(describe_toml_error(text, &e)))?;
        let mut seen = std::collections::HashSet::new();
        for c in &config.connectors {
            if !seen.insert(c.id.clone()) {
                return Err(invalid(format!("connector {} is defined twice", c.id)));
            }
            if !(c.woocommerce.url.starts_with("http://")
                || c.woocommerce.url.starts_with("https://"))
            {
                return Err(invalid(format!(
                    "connector {}: woocommerce.url must start with http:// or https://",
                    c.id
                )));
            }
            if c.documents.is_empty() {
                return Err(invalid(format!("connector {}: documents is empty", c.id)));
            }
            if !(c.sellsy.quota_share > 0.0 && c.sellsy.quota_share <= 1.0) {
                return Err(invalid(format!(
                    "connector {}: sellsy.quota_share must be above 0 and at most 1, got {}",
                    c.id, c.sellsy.quota_share
                )));
            }
            if let Some(problem) = c.credentials_in_the_clear() {
                return Err(invalid(format!(
                    "connector {}: {problem} would send credentials unencrypted; use https, or set allow_insecure_http = true for this connector if the network is yours",
                    c.id
                )));
            }
            // Refused here, once, rather than as an error on every order at run time.
            if let Some(kind) = c
                .documents
                .iter()
                .find(|k| !sellsy::CREATABLE_KINDS.contains(k))
            {
                let creatable: Vec<String> = sellsy::CREATABLE_KINDS
                    .iter()
                    .map(|k| k.to_string())
                    .collect();
                return Err(invalid(format!(
                    "connector {}: documents: {kind} cannot be created in Sellsy yet; the kinds it can create: {}",
                    c.id,
                    creatable.join(", ")
                )));
            }
        }
        Ok(config)
    }
}

/// A TOML error as the key and the line it is on, never the offending text: TOML's own message quotes
/// the line, which prints a secret when the typo is on a secret's line.
fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let Some(span) = e.span() else {
        return redact_quoted(e.message());
    };
    let before = &text[..span.start.min(text.len())];
    let line_no = before.matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("");
    let line = line.trim();
    let key = if line.starts_with('[') {
        Some(line.trim_matches(|c| c == '[' || c == ']').trim())
    } else {
        line.split_once('=').map(|(k, _)| k.trim())
    }
    .filter(|k| !k.is_empty())
    .map(|k| format!("key `{k}`, "))
    .unwrap_or_default();
    format!("{key}line {line_no}: {}", redact_quoted(e.message()))
}

/// Serde's messages quote the value they refused (`invalid type: string "…"`): keep the sentence,
/// drop the value. Other messages quote field names and expected tokens, which are kept.
fn redact_quoted(message: &str) -> String {
    if !(message.contains("invalid type") || message.contains("invalid value")) {
        return message.to_owned();
    }
    let mut out = String::with_capacity(message.len());
    let mut quote: Option<char> = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None if c == '"' || c == '`' => {
                out.push(c);
                quote = Some(c);
            }
            None => out.push(c),
        }
    }
    // A number refused where text was expected is not quoted: keep digits out too.
    out.split(' ')
        .map(|w| {
            if w.chars().filter(|c| c.is_ascii_digit()).count() >= 6 {
                "…"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `url` is http:// to a host other than this machine.
fn clear_off_loopback(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url.trim()) else {
        return false;
    };
    if parsed.scheme() != "http" {
        return false;
    }
    match parsed.host() {
        Some(url::Host::Ipv4(ip)) => !ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => !ip.is_loopback(),
        Some(url::Host::Domain(d)) => !d.eq_ignore_ascii_case("localhost"),
        None => true,
    }
}

impl ConnectorConfig {
    /// Which setting would send credentials unencrypted across a network, if any.
    fn credentials_in_the_clear(&self) -> Option<&'static str> {
        if self.allow_insecure_http {
            return None;
        }
        // OAuth 1.0a over http signs each request and sends no secret: it is how WooCommerce's own
        // clients reach a shop without TLS, and what `auto` picks for http.
        let woo_basic = matches!(self.woocommerce.auth, WooAuth::Basic);
        if woo_basic && clear_off_loopback(&self.woocommerce.url) {
            return Some("woocommerce.url over http with auth = \"basic\"");
        }
        if clear_off_loopback(&self.sellsy.api_url) {
            return Some("sellsy.api_url over http");
        }
        if clear_off_loopback(&self.sellsy.token_url) {
            return Some("sellsy.token_url over http");
        }
        None
    }

    pub fn settings(&self) -> ConnectorSettings {
        ConnectorSettings {
            id: self.id.clone(),
            woocommerce_url: self.woocommerce.url.trim_end_matches('/').to_owned(),
            woocommerce_auth: self.woocommerce.auth,
            sellsy_api_url: self.sellsy.api_url.trim_end_matches('/').to_owned(),
            sellsy_token_url: self.sellsy.token_url.clone(),
            documents: self.documents.clone(),
            zero_rate_exemption: self.zero_rate_exemption,
            vat_meta_keys: self.vat_meta_keys.clone(),
            order_reference_prefix: self.order_reference_prefix.clone(),
            sellsy_requests_per_second: self.sellsy.requests_per_second.map(|r| r.max(1)),
            sellsy_quota_share: self.sellsy.quota_share,
            verify_totals_with_sellsy: self.verify_totals_with_sellsy,
            sellsy_tax_rounding: self.sellsy_tax_rounding,
        }
    }

    /// The connector's secrets, environment first, then the file. Names what is missing.
    pub fn secrets(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ConnectorSecrets, String> {
        let prefix = env_prefix(&self.id);
        let mut missing = Vec::new();
        let mut pick = |name: &str, file: Option<&SecretString>| -> SecretString {
            let var = format!("{prefix}{name}");
            match env(&var).filter(|v| !v.trim().is_empty()) {
                Some(v) => SecretString::from(v),
                // An empty secret is no secret: an empty webhook secret lets anyone sign.
                None => match file.filter(|s| !s.expose_secret().trim().is_empty()) {
                    Some(s) => s.clone(),
                    None => {
                        missing.push(var);
                        SecretString::from(String::new())
                    }
                },
            }
        };
        let client_id_file = self.sellsy.client_id.clone().map(SecretString::from);
        let secrets = ConnectorSecrets {
            woocommerce_consumer_key: pick(
                "WOOCOMMERCE_CONSUMER_KEY",
                self.woocommerce.consumer_key.as_ref(),
            ),
            woocommerce_consumer_secret: pick(
                "WOOCOMMERCE_CONSUMER_SECRET",
                self.woocommerce.consumer_secret.as_ref(),
            ),
            webhook_secret: pick("WEBHOOK_SECRET", self.woocommerce.webhook_secret.as_ref()),
            sellsy_client_id: {
                pick("SELLSY_CLIENT_ID", client_id_file.as_ref())
                    .expose_secret()
                    .to_owned()
            },
            sellsy_client_secret: pick("SELLSY_CLIENT_SECRET", self.sellsy.client_secret.as_ref()),
        };
        if missing.is_empty() {
            Ok(secrets)
        } else {
            Err(format!(
                "connector {}: missing secrets (set them in the file or as environment variables): {}",
                self.id,
                missing.join(", ")
            ))
        }
    }
}

/// `shop-1` → `WOOSELLSY_SHOP_1_`.
pub fn env_prefix(id: &ConnectorId) -> String {
    let upper: String = id
        .as_str()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("WOOSELLSY_{upper}_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const SAMPLE: &str = r#"
listen = "127.0.0.1:8787"
data_dir = ".woosellsy"
[[connector]]
id = "shop-1"
[connector.woocommerce]
url = "http://127.0.0.1:8080"      # http → OAuth 1.0a, https → Basic
consumer_key = "ck_x"
consumer_secret = "cs_x"
webhook_secret = "whsec"
[connector.sellsy]
api_url = "https://api.sellsy.com/v2"
token_url = "https://login.sellsy.com/oauth2/access-tokens"
client_id = "cid"
client_secret = "csec"
"#;

    #[test]
    fn the_documented_sample_parses_with_defaults() {
        let c = Config::parse(SAMPLE, Path::new("t.toml")).unwrap();
        assert_eq!(c.connectors.len(), 1);
        let s = c.connectors[0].settings();
        assert_eq!(s.documents, vec![DocumentKind::Invoice]);
        assert_eq!(s.order_reference_prefix, "WC-");
        let secrets = c.connectors[0].secrets(&|_| None).unwrap();
        assert_eq!(secrets.webhook_secret.expose_secret(), "whsec");
    }

    #[test]
    fn environment_secrets_win_and_missing_ones_are_named() {
        let c = Config::parse(SAMPLE, Path::new("t.toml")).unwrap();
        let s = c.connectors[0]
            .secrets(&|k| (k == "WOOSELLSY_SHOP_1_WEBHOOK_SECRET").then(|| "from-env".to_owned()))
            .unwrap();
        assert_eq!(s.webhook_secret.expose_secret(), "from-env");

        let bare = SAMPLE.replace("webhook_secret = \"whsec\"\n", "");
        let c = Config::parse(&bare, Path::new("t.toml")).unwrap();
        let err = c.connectors[0].secrets(&|_| None).unwrap_err();
        assert!(err.contains("WOOSELLSY_SHOP_1_WEBHOOK_SECRET"), "{err}");
    }

    #[test]
    fn a_document_kind_sellsy_cannot_create_yet_is_refused_at_load() {
        let config = SAMPLE.replace(
            "id = \"shop-1\"",
            "id = \"shop-1\"\ndocuments = [\"invoice\", \"estimate\"]",
        );
        let err = Config::parse(&config, Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("estimate") && err.contains("the kinds it can create: invoice"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_secret_in_the_file_is_refused() {
        let empty = SAMPLE.replace("webhook_secret = \"whsec\"", "webhook_secret = \"\"");
        let c = Config::parse(&empty, Path::new("t.toml")).unwrap();
        let err = c.connectors[0].secrets(&|_| None).unwrap_err();
        assert!(err.contains("WOOSELLSY_SHOP_1_WEBHOOK_SECRET"), "{err}");
        let blank = SAMPLE.replace("webhook_secret = \"whsec\"", "webhook_secret = \"  \"");
        let c = Config::parse(&blank, Path::new("t.toml")).unwrap();
        assert!(c.connectors[0].secrets(&|_| None).is_err());
    }

    #[test]
    fn a_toml_error_names_the_key_and_line_never_the_value() {
        for broken in [
            // A typo on a secret's line: TOML's own message would quote the line, secret included.
            SAMPLE.replace(
                "consumer_secret = \"cs_x\"",
                "consumer_secret = cs_topsecret",
            ),
            SAMPLE.replace(
                "consumer_secret = \"cs_x\"",
                "consumer_secret = \"cs_topsecret",
            ),
            SAMPLE.replace("client_secret = \"csec\"", "client_secret = 12345678901234"),
        ] {
            let err = Config::parse(&broken, Path::new("t.toml"))
                .unwrap_err()
                .to_string();
            assert!(!err.contains("topsecret"), "{err}");
            assert!(!err.contains("12345678901234"), "{err}");
            assert!(err.contains("line "), "{err}");
            assert!(err.contains("secret"), "names the key: {err}");
        }
    }

    #[test]
    fn credentials_in_the_clear_are_refused_off_loopback() {
        let parse = |text: &str| Config::parse(text, Path::new("t.toml"));
        let remote_oauth = SAMPLE.replace("http://127.0.0.1:8080", "http://shop.example.fr");
        parse(&remote_oauth).expect("OAuth 1.0a over http signs, it sends no key");
        let remote_basic = remote_oauth.replace(
            "consumer_key = \"ck_x\"",
            "auth = \"basic\"\nconsumer_key = \"ck_x\"",
        );
        let err = parse(&remote_basic).unwrap_err().to_string();
        assert!(err.contains("allow_insecure_http"), "{err}");
        let remote_sellsy = SAMPLE.replace("https://api.sellsy.com/v2", "http://api.sellsy.com/v2");
        let err = parse(&remote_sellsy).unwrap_err().to_string();
        assert!(
            err.contains("sellsy.api_url") && err.contains("allow_insecure_http"),
            "{err}"
        );
        let allowed = remote_basic.replace(
            "id = \"shop-1\"",
            "id = \"shop-1\"\nallow_insecure_http = true",
        );
        parse(&allowed).expect("the integrator said so");
        // The simulators run on loopback over plain http.
        let local = SAMPLE
            .replace("https://api.sellsy.com/v2", "http://127.0.0.1:9000/v2")
            .replace(
                "https://login.sellsy.com/oauth2/access-tokens",
                "http://localhost:9000/token",
            )
            .replace(
                "consumer_key = \"ck_x\"",
                "auth = \"basic\"\nconsumer_key = \"ck_x\"",
            );
        parse(&local).expect("loopback is not the clear internet");
    }

    #[test]
    fn typos_and_bad_urls_are_refused() {
        let typo = SAMPLE.replace("listen =", "lisen =");
        assert!(Config::parse(&typo, Path::new("t.toml")).is_err());
        let bad = SAMPLE.replace("http://127.0.0.1:8080", "127.0.0.1:8080");
        assert!(Config::parse(&bad, Path::new("t.toml")).is_err());
    }

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let c = Config::parse(SAMPLE, Path::new("t.toml")).unwrap();
        let printed = format!("{:?}", c);
        assert!(
            !printed.contains("cs_x") && !printed.contains("whsec") && !printed.contains("csec")
        );
    }
}
