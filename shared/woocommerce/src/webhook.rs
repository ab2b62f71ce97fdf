//! WooCommerce webhook deliveries: the `X-WC-Webhook-*` headers, the HMAC signature WooCommerce
//! computes (`base64(hash_hmac('sha256', $body, wp_specialchars_decode($secret, ENT_QUOTES), true))`)
//! and the unsigned ping (`webhook_id=N`) it sends when a webhook is created or its URL changes.
//!
//! Verification always runs over the raw body bytes as received: re-serialising parsed JSON cannot
//! reproduce PHP's escaping, so it would reject genuine deliveries.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// `X-WC-Webhook-Source`: the store's `home_url('/')`, e.g. `https://example.com/`.
pub const HEADER_SOURCE: &str = "x-wc-webhook-source";
/// `X-WC-Webhook-Topic`: e.g. `order.updated`, `action.woocommerce_order_status_completed`.
pub const HEADER_TOPIC: &str = "x-wc-webhook-topic";
/// `X-WC-Webhook-Resource`: the topic part before the first `.`.
pub const HEADER_RESOURCE: &str = "x-wc-webhook-resource";
/// `X-WC-Webhook-Event`: the topic part after the first `.`.
pub const HEADER_EVENT: &str = "x-wc-webhook-event";
/// `X-WC-Webhook-Signature`: base64 HMAC-SHA256 of the body.
pub const HEADER_SIGNATURE: &str = "x-wc-webhook-signature";
/// `X-WC-Webhook-ID`: the webhook's numeric id.
pub const HEADER_WEBHOOK_ID: &str = "x-wc-webhook-id";
/// `X-WC-Webhook-Delivery-ID`: new on every attempt, so not an idempotency key.
pub const HEADER_DELIVERY_ID: &str = "x-wc-webhook-delivery-id";

/// Why a delivery's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-WC-Webhook-Signature header is missing or empty")]
    Missing,
    #[error("the X-WC-Webhook-Signature header is not a base64 HMAC-SHA256")]
    Malformed,
    #[error("the webhook signature does not match the body and secret")]
    Mismatch,
}

/// The signature WooCommerce sends for `body` under the webhook's stored `secret`.
pub fn signature(body: &[u8], secret: &str) -> String {
    BASE64.encode(mac(body, secret).finalize().into_bytes())
}

/// Checks `signature_header` against `body` in constant time.
pub fn verify(body: &[u8], signature_header: &str, secret: &str) -> Result<(), SignatureError> {
    let header = signature_header.trim();
    if header.is_empty() {
        return Err(SignatureError::Missing);
    }
    let expected = BASE64
        .decode(header)
        .map_err(|_| SignatureError::Malformed)?;
    if expected.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    mac(body, secret)
        .verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

fn mac(body: &[u8], secret: &str) -> HmacSha256 {
    let key = html_entity_decode_secret(secret);
    let Ok(mut mac) = <HmacSha256 as KeyInit>::new_from_slice(key.as_bytes()) else {
        unreachable!("HMAC accepts keys of any length (long keys are hashed, short ones padded)")
    };
    mac.update(body);
    mac
}

/// The webhook id of a ping body (`webhook_id=142`), `None` for anything else.
pub fn ping_webhook_id(body: &[u8]) -> Option<u64> {
    let digits = body.strip_prefix(b"webhook_id=")?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// WordPress `wp_specialchars_decode($secret, ENT_QUOTES)`, which WooCommerce applies to the stored
/// secret before using it as the HMAC key: `&amp; &lt; &gt; &quot;` and the numeric forms of
/// `& < > " '` (zero-padded, `&#x`/`&#X`) are decoded in one left-to-right pass; everything else,
/// including `&nbsp;` and upper-case names like `&AMP;`, is kept verbatim.
pub fn html_entity_decode_secret(secret: &str) -> String {
    if !secret.contains('&') {
        return secret.to_owned();
    }
    let mut out = String::with_capacity(secret.len());
    let mut rest = secret;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        match decode_entity(tail) {
            Some((c, len)) => {
                out.push(c);
                rest = &tail[len..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character and byte length of the entity at the start of `s` (which starts with `&`).
fn decode_entity(s: &str) -> Option<(char, usize)> {
    for (name, c) in [
        ("&quot;", '"'),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&amp;", '&'),
    ] {
        if s.starts_with(name) {
            return Some((c, name.len()));
        }
    }
    let body = s.strip_prefix("&#")?;
    let (hex, body, prefix_len) = match body.strip_prefix(['x', 'X']) {
        Some(b) => (true, b, 3),
        None => (false, body, 2),
    };
    let zeros = body.len() - body.trim_start_matches('0').len();
    let body = &body[zeros..];
    let end = body.find(';')?;
    let c = match (hex, &body[..end]) {
        (false, "39") | (true, "27") => '\'',
        (false, "34") | (true, "22") => '"',
        (false, "60") => '<',
        (false, "62") => '>',
        (false, "38") | (true, "26") => '&',
        _ => return None,
    };
    Some((c, prefix_len + zeros + end + 1))
}

/// The WordPress error object WooCommerce delivers, correctly signed, when building the payload
/// failed (webhook owner deleted → `woocommerce_rest_cannot_view`, order gone → `…_invalid_id`):
/// `Some((code, message))` for a top-level `{"code": "...", "message": "...", "data": {...}}`.
pub fn error_payload(payload: &serde_json::Value) -> Option<(String, String)> {
    let map = payload.as_object()?;
    let code = map.get("code")?.as_str()?;
    // Orders and products never carry a top-level `code` with `message` and `data`.
    if !map.contains_key("data") || map.contains_key("id") {
        return None;
    }
    let message = map
        .get("message")
        .and_then(|m| m.as_str())
        .unwrap_or_default();
    Some((code.to_owned(), message.to_owned()))
}

/// The `X-WC-Webhook-*` headers of a delivery; each is `None` when absent or not valid text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookHeaders {
    pub topic: Option<String>,
    pub resource: Option<String>,
    pub event: Option<String>,
    pub signature: Option<String>,
    /// `None` also when the header is not a number.
    pub webhook_id: Option<u64>,
    pub delivery_id: Option<String>,
    pub source: Option<String>,
}

impl WebhookHeaders {
    /// Reads the headers (names are case-insensitive in `HeaderMap`).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        WebhookHeaders {
            topic: text(HEADER_TOPIC),
            resource: text(HEADER_RESOURCE),
            event: text(HEADER_EVENT),
            signature: text(HEADER_SIGNATURE),
            webhook_id: text(HEADER_WEBHOOK_ID).and_then(|v| v.parse().ok()),
            delivery_id: text(HEADER_DELIVERY_ID),
            source: text(HEADER_SOURCE),
        }
    }

    /// True when the request looks like a real delivery rather than a ping: a topic or a signature.
    pub fn is_delivery(&self) -> bool {
        self.topic.is_some() || self.signature.is_some()
    }
}

impl From<&HeaderMap> for WebhookHeaders {
    fn from(headers: &HeaderMap) -> Self {
        WebhookHeaders::from_headers(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_entities_decode_like_wordpress() {
        let cases = [
            ("abc&amp;def", "abc&def"),
            (
                "&lt;&gt;&quot;&#039;&#39;&#0039;&#x27;&#X0027;",
                "<>\"''''\'",
            ),
            ("&#34;&#x22;&#60;&#062;&#38;&#x26;", "\"\"<>&&"),
            // One pass: the result of a decode is not decoded again.
            ("&amp;lt;", "&lt;"),
            // Unknown or case-changed names, unterminated and other numeric entities stay as they are.
            ("&nbsp;&AMP;&amp&#65;&#x41;&", "&nbsp;&AMP;&amp&#65;&#x41;&"),
            ("plain-secret", "plain-secret"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(html_entity_decode_secret(input), want, "input {input:?}");
        }
    }

    #[test]
    fn error_objects_delivered_as_payloads_are_spotted() {
        let err = serde_json::json!({"code": "woocommerce_rest_cannot_view",
            "message": "Sorry, you cannot view this resource.", "data": {"status": 401}});
        assert_eq!(
            error_payload(&err),
            Some((
                "woocommerce_rest_cannot_view".to_owned(),
                "Sorry, you cannot view this resource.".to_owned()
            ))
        );
        // A coupon or product carries `code` too, but also an `id`.
        let coupon = serde_json::json!({"id": 5, "code": "SUMMER", "data": []});
        assert_eq!(error_payload(&coupon), None);
        assert_eq!(error_payload(&serde_json::json!({"id": 727})), None);
        assert_eq!(error_payload(&serde_json::json!([1])), None);
    }

    #[test]
    fn ping_body_is_recognised_strictly() {
        assert_eq!(ping_webhook_id(b"webhook_id=142"), Some(142));
        assert_eq!(ping_webhook_id(b"webhook_id="), None);
        assert_eq!(ping_webhook_id(b"webhook_id=12a"), None);
        assert_eq!(ping_webhook_id(b"webhook_id=-1"), None);
        assert_eq!(ping_webhook_id(b"{\"id\":1}"), None);
        assert_eq!(ping_webhook_id(b"webhook_id=99999999999999999999999"), None);
    }

    #[test]
    fn verify_classifies_failures() {
        let body = br#"{"id":123}"#;
        let good = signature(body, "my-secret");
        assert_eq!(good, "DH7o4WfZPjQrRc5rCKdlVwbxIQRIH6IUVbD/ajj0jlc=");
        assert_eq!(verify(body, &good, "my-secret"), Ok(()));
        assert_eq!(verify(body, &format!(" {good}\r\n"), "my-secret"), Ok(()));
        assert_eq!(verify(body, "", "my-secret"), Err(SignatureError::Missing));
        assert_eq!(
            verify(body, "not base64!", "my-secret"),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(body, "c2hvcnQ=", "my-secret"),
            Err(SignatureError::Malformed)
        );
        assert_eq!(verify(body, &good, "other"), Err(SignatureError::Mismatch));
        assert_eq!(
            verify(br#"{"id":124}"#, &good, "my-secret"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn headers_parse_case_insensitively() {
        let mut map = HeaderMap::new();
        map.insert(
            "X-WC-Webhook-Topic",
            "order.updated".parse().expect("value"),
        );
        map.insert("x-wc-webhook-id", "142".parse().expect("value"));
        map.insert("X-Wc-Webhook-Signature", "abc=".parse().expect("value"));
        let h = WebhookHeaders::from_headers(&map);
        assert_eq!(h.topic.as_deref(), Some("order.updated"));
        assert_eq!(h.webhook_id, Some(142));
        assert_eq!(h.signature.as_deref(), Some("abc="));
        assert_eq!(h.delivery_id, None);
        assert!(h.is_delivery());
        assert!(!WebhookHeaders::from_headers(&HeaderMap::new()).is_delivery());
    }
}
