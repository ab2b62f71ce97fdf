//! Connector settings (non-secret, stored with the connector) and connector secrets (held apart: a file
//! or environment variables on one machine, Secrets Manager on AWS). Secrets are `SecretString`s so that
//! a `{:?}` in a log line prints `[REDACTED]`, never a key.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::ids::{ConnectorId, DocumentKind};
use crate::plan::Exemption;

/// How one WooCommerce store is wired to one Sellsy account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorSettings {
    pub id: ConnectorId,
    /// Store home URL, e.g. `https://shop.example.fr` (the REST API is under `/wp-json/wc/v3`, or at
    /// `/index.php?rest_route=/wc/v3` on a plain-permalink store, which the client detects).
    /// `https` → Basic auth; `http` → OAuth 1.0a one-legged signing (WooCommerce refuses Basic over http).
    pub woocommerce_url: String,
    /// How to authenticate REST calls; `auto` picks from the URL scheme.
    #[serde(default)]
    pub woocommerce_auth: WooAuth,
    /// Sellsy API v2 base, e.g. `https://api.sellsy.com/v2`.
    pub sellsy_api_url: String,
    /// Sellsy token endpoint, e.g. `https://login.sellsy.com/oauth2/access-tokens`.
    pub sellsy_token_url: String,
    /// Which documents to create for a paid order.
    #[serde(default = "default_documents")]
    pub documents: Vec<DocumentKind>,
    /// The exemption used for 0 % lines.
    #[serde(default)]
    pub zero_rate_exemption: Exemption,
    /// Order meta keys searched, in order, for the customer's VAT number.
    #[serde(default = "default_vat_meta_keys")]
    pub vat_meta_keys: Vec<String>,
    /// Prefix of the document's order reference (`WC-` gives `WC-1042`).
    #[serde(default = "default_reference_prefix")]
    pub order_reference_prefix: String,
    /// A hard cap on requests per second to Sellsy, on top of the pacing by the account's quota.
    /// None by default: the quota headers pace the connector (a stored `3` from an older version is
    /// still read, as a cap).
    #[serde(default)]
    pub sellsy_requests_per_second: Option<u32>,
    /// The share of the Sellsy account's quota this connector paces itself to; the rest is left to the
    /// merchant's other tools (and to other connectors on the same account).
    #[serde(default = "default_quota_share")]
    pub sellsy_quota_share: f64,
    /// Before creating a document, ask Sellsy to compute it (`POST /invoices/compute`, one more API
    /// call) and refuse to create it unless Sellsy's totals equal WooCommerce's. The plan is already
    /// checked against our model of Sellsy's arithmetic; this checks it against Sellsy itself.
    #[serde(default)]
    pub verify_totals_with_sellsy: bool,
    /// How the Sellsy account rounds a document's tax per rate, when the integrator knows it. Knowing it
    /// lets the mapping add fewer "Arrondi" rows (often none).
    #[serde(default)]
    pub sellsy_tax_rounding: TaxRounding,
}

/// How Sellsy rounds a document's tax for one rate. Sellsy does not document it and it may differ between
/// accounts, so the safe default is to satisfy both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaxRounding {
    /// Not known: the plan must give WooCommerce's figures under both roundings, which sometimes takes
    /// extra rounding rows.
    #[default]
    Unknown,
    /// The tax of a rate is the sum of its rows' rounded taxes; the plan is made exact for this one only.
    PerRow,
    /// The tax of a rate is the rounded tax of the sum of its rows; the plan is made exact for this one only.
    PerRate,
}

/// WooCommerce REST authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WooAuth {
    /// Basic over `https`, OAuth 1.0a over `http` (what WooCommerce accepts on each).
    #[default]
    Auto,
    /// Basic auth, e.g. for an `http` URL behind a TLS-terminating proxy that WordPress knows about.
    Basic,
    /// OAuth 1.0a one-legged signing.
    Oauth1,
}

pub fn default_documents() -> Vec<DocumentKind> {
    vec![DocumentKind::Invoice]
}

pub fn default_vat_meta_keys() -> Vec<String> {
    [
        "_billing_vat_number",
        "vat_number",
        "_vat_number",
        "billing_vat",
        "_billing_eu_vat_number",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

pub fn default_reference_prefix() -> String {
    "WC-".to_owned()
}

pub fn default_quota_share() -> f64 {
    0.8
}

/// The keys of one connector. Never logged: every secret field is a `SecretString`.
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectorSecrets {
    pub woocommerce_consumer_key: SecretString,
    pub woocommerce_consumer_secret: SecretString,
    /// The webhook secret exactly as typed in WooCommerce (HTML-entity decoding happens at verification).
    pub webhook_secret: SecretString,
    pub sellsy_client_id: String,
    pub sellsy_client_secret: SecretString,
}

impl ConnectorSecrets {
    /// Whether `other` holds the same keys: clients built from these are still the right ones. (A
    /// comparison, never a hash or a print: secrets stay out of every log line and map key.)
    pub fn same_keys(&self, other: &ConnectorSecrets) -> bool {
        use secrecy::ExposeSecret;
        let same = |a: &SecretString, b: &SecretString| a.expose_secret() == b.expose_secret();
        same(
            &self.woocommerce_consumer_key,
            &other.woocommerce_consumer_key,
        ) && same(
            &self.woocommerce_consumer_secret,
            &other.woocommerce_consumer_secret,
        ) && same(&self.webhook_secret, &other.webhook_secret)
            && self.sellsy_client_id == other.sellsy_client_id
            && same(&self.sellsy_client_secret, &other.sellsy_client_secret)
    }
}

/// The secrets a webhook signature may be made with, and nothing else: what the internet-facing
/// receiver is allowed to read (the WooCommerce and Sellsy keys stay in [`ConnectorSecrets`], which only
/// the converter reads).
///
/// While a webhook secret is being changed, WooCommerce may still sign with the old one for a while (the
/// merchant has not saved the new one yet, deliveries already queued in WordPress): the old one stays
/// accepted as `previous` until `previous_until`, so a busy shop does not get a run of 401s. A `previous`
/// without an end date is never accepted.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookSecrets {
    /// The secret as typed in WooCommerce (HTML-entity decoding happens at verification).
    pub current: SecretString,
    #[serde(default)]
    pub previous: Option<SecretString>,
    #[serde(default)]
    pub previous_until: Option<DateTime<Utc>>,
}

impl WebhookSecrets {
    /// One secret, no rotation under way.
    pub fn current_only(current: SecretString) -> Self {
        Self {
            current,
            previous: None,
            previous_until: None,
        }
    }

    /// The secrets a signature is checked against at `now`, current first: the previous one only
    /// while `now < previous_until`.
    pub fn accepted(&self, now: DateTime<Utc>) -> impl Iterator<Item = &SecretString> {
        let previous = self
            .previous
            .as_ref()
            .filter(|_| self.previous_until.is_some_and(|until| now < until));
        std::iter::once(&self.current).chain(previous)
    }

    /// The webhook secrets after `new` is registered at `now` over `existing`: the same secret keeps
    /// everything as it is (an expired previous one is dropped); a different one becomes current and
    /// the old current stays accepted for `overlap` (not at all when `overlap` is zero).
    pub fn registered(
        existing: Option<&WebhookSecrets>,
        new: SecretString,
        now: DateTime<Utc>,
        overlap: chrono::Duration,
    ) -> WebhookSecrets {
        use secrecy::ExposeSecret;
        let Some(existing) = existing else {
            return WebhookSecrets::current_only(new);
        };
        if existing.current.expose_secret() == new.expose_secret() {
            let mut same = existing.clone();
            if same.previous_until.is_none_or(|until| now >= until) {
                same.previous = None;
                same.previous_until = None;
            }
            return same;
        }
        if overlap <= chrono::Duration::zero() {
            return WebhookSecrets::current_only(new);
        }
        WebhookSecrets {
            current: new,
            previous: Some(existing.current.clone()),
            previous_until: Some(
                now.checked_add_signed(overlap)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
            ),
        }
    }

    /// Whether `other` holds the same secrets and end date (a comparison, never a print).
    pub fn same_as(&self, other: &WebhookSecrets) -> bool {
        use secrecy::ExposeSecret;
        self.current.expose_secret() == other.current.expose_secret()
            && self.previous.as_ref().map(|s| s.expose_secret())
                == other.previous.as_ref().map(|s| s.expose_secret())
            && self.previous_until == other.previous_until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> serde_json::Value {
        serde_json::json!({
            "id": "shop-1",
            "woocommerce_url": "https://shop.example.fr",
            "sellsy_api_url": "https://api.sellsy.com/v2",
            "sellsy_token_url": "https://login.sellsy.com/oauth2/access-tokens",
        })
    }

    #[test]
    fn tax_rounding_defaults_to_unknown_and_reads_kebab_case() {
        let s: ConnectorSettings = serde_json::from_value(minimal()).unwrap();
        assert_eq!(s.sellsy_tax_rounding, TaxRounding::Unknown);
        for (text, expected) in [
            ("unknown", TaxRounding::Unknown),
            ("per-row", TaxRounding::PerRow),
            ("per-rate", TaxRounding::PerRate),
        ] {
            let mut json = minimal();
            json["sellsy_tax_rounding"] = text.into();
            let s: ConnectorSettings = serde_json::from_value(json).unwrap();
            assert_eq!(s.sellsy_tax_rounding, expected);
            assert_eq!(serde_json::to_value(expected).unwrap(), text);
        }
        let mut json = minimal();
        json["sellsy_tax_rounding"] = "per_row".into();
        assert!(serde_json::from_value::<ConnectorSettings>(json).is_err());
    }

    fn accepted_at(w: &WebhookSecrets, now: DateTime<Utc>) -> Vec<String> {
        use secrecy::ExposeSecret;
        w.accepted(now)
            .map(|s| s.expose_secret().to_owned())
            .collect()
    }

    #[test]
    fn the_previous_webhook_secret_is_accepted_until_its_end_date_only() {
        let now: DateTime<Utc> = "2026-11-20T10:00:00Z".parse().unwrap();
        let w: WebhookSecrets = serde_json::from_value(serde_json::json!({
            "current": "new", "previous": "old", "previous_until": "2026-11-21T10:00:00Z",
        }))
        .unwrap();
        assert_eq!(accepted_at(&w, now), ["new", "old"]);
        let end: DateTime<Utc> = "2026-11-21T10:00:00Z".parse().unwrap();
        assert_eq!(
            accepted_at(&w, end),
            ["new"],
            "refused from its end date on"
        );
        // A previous secret without an end date is never accepted.
        let open: WebhookSecrets =
            serde_json::from_value(serde_json::json!({"current": "new", "previous": "old"}))
                .unwrap();
        assert_eq!(accepted_at(&open, now), ["new"]);
        let only: WebhookSecrets =
            serde_json::from_value(serde_json::json!({"current": "c"})).unwrap();
        assert_eq!(accepted_at(&only, now), ["c"]);
    }

    #[test]
    fn registering_a_changed_webhook_secret_keeps_the_old_one_for_the_overlap() {
        let now: DateTime<Utc> = "2026-11-20T10:00:00Z".parse().unwrap();
        let day = chrono::Duration::hours(24);
        let first = WebhookSecrets::registered(None, "one".to_owned().into(), now, day);
        assert_eq!(accepted_at(&first, now), ["one"]);
        let same = WebhookSecrets::registered(Some(&first), "one".to_owned().into(), now, day);
        assert!(same.same_as(&first), "the same secret changes nothing");
        let rotated = WebhookSecrets::registered(Some(&first), "two".to_owned().into(), now, day);
        assert_eq!(rotated.previous_until, Some(now + day));
        assert_eq!(accepted_at(&rotated, now), ["two", "one"]);
        assert_eq!(accepted_at(&rotated, now + day), ["two"]);
        // Registering the same secret again later drops the expired previous one.
        let later =
            WebhookSecrets::registered(Some(&rotated), "two".to_owned().into(), now + day, day);
        assert!(later.previous.is_none() && later.previous_until.is_none());
        // No overlap: the old secret is refused at once.
        let abrupt = WebhookSecrets::registered(
            Some(&first),
            "two".to_owned().into(),
            now,
            chrono::Duration::zero(),
        );
        assert_eq!(accepted_at(&abrupt, now), ["two"]);
    }
}
