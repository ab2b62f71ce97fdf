//! The simulator's public record types: webhooks as the store sees them, every delivery attempt
//! (pings included) and every REST write received, so tests can assert on what actually crossed the wire.

use std::fmt;

/// A webhook's status as stored in `wc_webhooks.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookStatus {
    /// Delivers.
    Active,
    /// Set by an admin; events are dropped.
    Paused,
    /// Set by an admin or automatically after too many consecutive failures; events are dropped.
    Disabled,
}

impl WebhookStatus {
    /// The REST spelling: `active`, `paused` or `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookStatus::Active => "active",
            WebhookStatus::Paused => "paused",
            WebhookStatus::Disabled => "disabled",
        }
    }

    /// Parses the REST spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(WebhookStatus::Active),
            "paused" => Some(WebhookStatus::Paused),
            "disabled" => Some(WebhookStatus::Disabled),
            _ => None,
        }
    }
}

impl fmt::Display for WebhookStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// Lets tests write `webhook.status == "disabled"` as naturally as comparing with the enum.
impl PartialEq<&str> for WebhookStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for WebhookStatus {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// A snapshot of one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookInfo {
    pub id: u64,
    pub name: String,
    pub topic: String,
    pub status: WebhookStatus,
    /// Consecutive failed deliveries; only a successful delivery resets it.
    pub failure_count: u32,
    /// True until a ping got exactly HTTP 200.
    pub pending_delivery: bool,
    pub delivery_url: String,
}

/// One HTTP attempt made by the store towards a webhook's delivery URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub webhook_id: u64,
    /// The webhook's topic (`order.updated`, …), or `"ping"` for a ping.
    pub topic: String,
    /// True for the unsigned `webhook_id=N` ping.
    pub ping: bool,
    /// The resource id the delivery was about (`None` for pings).
    pub resource_id: Option<u64>,
    /// `X-WC-Webhook-Delivery-ID` (32 lowercase hex); empty for pings, which carry none.
    pub delivery_id: String,
    /// HTTP status received; 0 when no response arrived (connection refused, timeout…).
    pub status: u16,
    /// WooCommerce's verdict: 200..=302 for deliveries, exactly 200 for pings.
    pub ok: bool,
    /// The exact body bytes sent (PHP `json_encode` text, or `webhook_id=N`).
    pub body: String,
    /// `X-WC-Webhook-Signature` sent (`None` for pings).
    pub signature: Option<String>,
    /// Transport error text when `status` is 0.
    pub error: Option<String>,
}

/// A write (POST/PUT/PATCH/DELETE) received on the REST API, whatever its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct RestWrite {
    pub method: String,
    /// The REST route as a `/wp-json` path without the query string, e.g. `/wp-json/wc/v3/orders/727`,
    /// also when the request came as `index.php?rest_route=/wc/v3/orders/727`.
    pub path: String,
    /// Raw query string as received (may hold OAuth parameters and `rest_route`), empty when none.
    pub query: String,
    /// The body parsed as JSON; `Value::Null` when empty or not JSON.
    pub body: serde_json::Value,
    /// HTTP status the store answered with.
    pub status: u16,
}

/// Any HTTP request the simulated site received (REST or not, whatever its outcome).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    /// The raw request path, e.g. `/wp-json/wc/v3/orders/727` or `/index.php`.
    pub path: String,
    /// The raw query string, empty when none.
    pub query: String,
    /// HTTP status the site answered with.
    pub status: u16,
}
