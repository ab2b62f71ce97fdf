//! OAuth 1.0a "one-legged" request signing, the only way WooCommerce accepts API keys over plain
//! HTTP (`WC_REST_Authentication::perform_oauth_authentication`).
//!
//! WooCommerce follows RFC 5849 §3.4 with no token: the base string is
//! `METHOD&enc(scheme://host[:port]/path)&enc(k1=v1&k2=v2…)` over every query parameter plus the
//! `oauth_*` ones (sorted by name, each name and value RFC 3986-encoded), the key is
//! `consumer_secret&`, and the signature method is `HMAC-SHA256` (`HMAC-SHA1` is accepted too, we
//! never use it). The signed parameters travel in the query string. Timestamps must be within
//! ±15 minutes of the store's clock and nonces are single-use, so every request is signed afresh.
//!
//! No crate was used: `oauth1-request` only ships HMAC-SHA1 and would pull a second `hmac`/`digest`
//! generation; the whole algorithm is the few functions below.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::Sha256;

/// RFC 3986 §2.3: everything but `A-Z a-z 0-9 - . _ ~` is percent-encoded (PHP `rawurlencode`).
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The signature method we send.
pub const SIGNATURE_METHOD: &str = "HMAC-SHA256";

/// Percent-encodes `s` the RFC 3986 way (space → `%20`, `~` kept), as OAuth requires.
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

/// The signature base string (RFC 5849 §3.4.1) for `method` on `base_uri` (scheme, host, optional
/// non-default port and path; no query) with the decoded `params` (query and `oauth_*`, without
/// `oauth_signature`).
pub fn base_string(method: &str, base_uri: &str, params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> =
        params.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    encoded.sort();
    let normalized = encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(base_uri),
        encode(&normalized)
    )
}

/// `base64(HMAC-SHA256(base_string, consumer_secret + "&"))` — no token secret in one-legged OAuth.
/// RFC 5849 would percent-encode the secret first; WooCommerce does not, and its secrets (`cs_` +
/// hex) read the same either way.
pub fn sign(base_string: &str, consumer_secret: &str) -> String {
    let key = format!("{consumer_secret}&");
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(base_string.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// The base-string URI of `url` (RFC 5849 §3.4.1.2): lower-case scheme and host, the port only
/// when it is not the scheme's default, the path, no query or fragment.
pub fn base_uri(url: &url::Url) -> String {
    let scheme = url.scheme().to_ascii_lowercase();
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    // `Url::port()` is already `None` for the scheme's default port.
    match url.port() {
        Some(port) => format!("{scheme}://{host}:{port}{}", url.path()),
        None => format!("{scheme}://{host}{}", url.path()),
    }
}

/// The `oauth_*` parameters for one request (signature excluded): consumer key, a fresh random
/// nonce, the current Unix time and the method.
pub fn oauth_params(consumer_key: &str, timestamp: i64, nonce: &str) -> Vec<(String, String)> {
    vec![
        ("oauth_consumer_key".to_owned(), consumer_key.to_owned()),
        ("oauth_nonce".to_owned(), nonce.to_owned()),
        (
            "oauth_signature_method".to_owned(),
            SIGNATURE_METHOD.to_owned(),
        ),
        ("oauth_timestamp".to_owned(), timestamp.to_string()),
    ]
}

/// A random nonce (32 hex characters).
pub fn nonce() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Signs a request: returns `params` + the `oauth_*` parameters + `oauth_signature`, ready to be
/// encoded into the query string.
pub fn signed_query(
    method: &str,
    url: &url::Url,
    params: &[(String, String)],
    consumer_key: &str,
    consumer_secret: &str,
    timestamp: i64,
    nonce: &str,
) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = params.to_vec();
    all.extend(oauth_params(consumer_key, timestamp, nonce));
    let signature = sign(&base_string(method, &base_uri(url), &all), consumer_secret);
    all.push(("oauth_signature".to_owned(), signature));
    all
}

/// Encodes decoded `params` as a query string (`k=v&…`, RFC 3986 encoding).
pub fn query_string(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    /// RFC 5849 §3.4.1.1's worked example (its parameters are already decoded here: `b5` is `=%3D`,
    /// `a2` is `r b`, `c@` is empty; `c2`/`a3=2 q` come from the form body).
    #[test]
    fn base_string_matches_rfc5849_example() {
        let params = vec![
            p("b5", "=%3D"),
            p("a3", "a"),
            p("c@", ""),
            p("a2", "r b"),
            p("oauth_consumer_key", "9djdj82h48djs9d2"),
            p("oauth_token", "kkk9d7dh3k39sjv7"),
            p("oauth_signature_method", "HMAC-SHA1"),
            p("oauth_timestamp", "137131201"),
            p("oauth_nonce", "7d8f3e4a"),
            p("c2", ""),
            p("a3", "2 q"),
        ];
        let url = url::Url::parse("http://EXAMPLE.COM:80/request?b5=%3D%253D").expect("url");
        assert_eq!(base_uri(&url), "http://example.com/request");
        assert_eq!(
            base_string("post", &base_uri(&url), &params),
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
        );
    }

    /// Known answer computed independently with Python's `hmac`/`hashlib` over the same base string.
    #[test]
    fn hmac_sha256_signature_known_answer() {
        let base = "GET&http%3A%2F%2Fshop.test%3A8080%2Fwp-json%2Fwc%2Fv3%2Forders&oauth_consumer_key%3Dck_1%26oauth_nonce%3Dabc%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1700000000%26per_page%3D100";
        assert_eq!(sign(base, "cs_secret"), KNOWN_SIGNATURE);
    }

    const KNOWN_SIGNATURE: &str = "FsZneW4gx5+Loy/NstRkmWzJts5MG2Zhoc+UrOSGz48=";

    #[test]
    fn non_default_port_is_kept_and_encoding_is_rfc3986() {
        let url = url::Url::parse("https://Shop.Example:8443/wp-json/wc/v3/orders").expect("url");
        assert_eq!(
            base_uri(&url),
            "https://shop.example:8443/wp-json/wc/v3/orders"
        );
        assert_eq!(encode("a b+c~d/é*"), "a%20b%2Bc~d%2F%C3%A9%2A");
        assert_eq!(
            query_string(&[p("status", "processing,completed"), p("x", "1:2")]),
            "status=processing%2Ccompleted&x=1%3A2"
        );
        assert_eq!(nonce().len(), 32);
        assert_ne!(nonce(), nonce());
    }
}
