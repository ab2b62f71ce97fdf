//! WooCommerce REST API authentication, re-implemented from `class-wc-rest-authentication.php` (and
//! deliberately independent of the connector's request signer, so the two check each other):
//!
//! * behind HTTPS (`is_ssl()`), `?consumer_key=&consumer_secret=` or HTTP Basic;
//! * otherwise, and as a fallback, one-legged OAuth 1.0a with parameters from the query string, a form
//!   body or an `Authorization: OAuth …` header; base string `METHOD&rawurlencode(url)&` + the sorted,
//!   twice-encoded parameters joined with `%26`; key `consumer_secret&`; HMAC-SHA1 or HMAC-SHA256;
//!   timestamp within ±15 minutes; nonce single-use.
//!
//! The outcome is the same three-way one WordPress has: authenticated, anonymous (the endpoint's own
//! permission check answers later), or an authentication error answered with 401 right away.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};

use crate::php::{Param, Params, rawurldecode, rawurlencode, urldecode};

const VALID_WINDOW_SECS: i64 = 15 * 60;
const OAUTH_PARAMS: [&str; 5] = [
    "oauth_consumer_key",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
];

/// A 401 answered before any endpoint runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    pub code: &'static str,
    pub message: String,
}

impl AuthError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        AuthError {
            code,
            message: message.into(),
        }
    }

    fn auth(message: &str) -> Self {
        AuthError::new("woocommerce_rest_authentication_error", message)
    }
}

/// The store's single API key (permissions `read_write`).
pub struct ApiKey<'a> {
    pub consumer_key: &'a str,
    pub consumer_secret: &'a str,
}

/// What the authenticator reads from a request.
pub struct AuthRequest<'a> {
    pub method: &'a str,
    /// The raw request path, e.g. `/wp-json/wc/v3/orders`.
    pub path: &'a str,
    pub query: &'a str,
    /// The body when it is `application/x-www-form-urlencoded` (PHP's `$_POST`).
    pub form_body: Option<&'a str>,
    pub authorization: Option<&'a str>,
}

/// Where the store thinks it lives: `is_ssl()`, the host (`127.0.0.1:8080`) and the path (`""` or
/// `/shop`, no trailing slash) of `home_url()`.
pub struct Site<'a> {
    pub is_ssl: bool,
    pub host: &'a str,
    pub home_path: &'a str,
}

impl Site<'_> {
    /// The URL WooCommerce signs (`WC_REST_Authentication::check_oauth_signature`): the path of
    /// `$_SERVER['REQUEST_URI']`, made relative to `get_home_url(null, '/', 'relative')` when it starts
    /// with it, then `get_home_url(null, $path, is_ssl() ? 'https' : 'http')`, which appends
    /// `'/' . ltrim($path, '/')` only for a non-empty path. So `/wp-json/wc/v3/orders` signs as
    /// `http://host/wp-json/wc/v3/orders`, `/index.php?rest_route=…` as `http://host/index.php`, and
    /// `/?rest_route=…` as `http://host` — without the slash the request URL has.
    pub fn signed_url(&self, request_path: &str) -> String {
        let scheme = if self.is_ssl { "https" } else { "http" };
        let home = format!("{scheme}://{}{}", self.host, self.home_path);
        let wp_base = format!("{}/", self.home_path);
        let path = request_path.strip_prefix(&wp_base).unwrap_or(request_path);
        if path.is_empty() {
            home
        } else {
            format!("{home}/{}", path.trim_start_matches('/'))
        }
    }
}

/// Used OAuth nonces, keyed by their timestamp as WooCommerce stores them (so a second nonce with the
/// same timestamp replaces the first, a quirk kept on purpose).
pub type NonceStore = BTreeMap<i64, String>;

/// `Ok(true)`: authenticated with the key; `Ok(false)`: anonymous; `Err`: answer 401 with it.
pub fn authenticate(
    site: &Site<'_>,
    key: &ApiKey<'_>,
    req: &AuthRequest<'_>,
    nonces: &mut NonceStore,
    now: i64,
) -> Result<bool, AuthError> {
    let query = Params::parse(req.query);
    let mut error = None;
    if site.is_ssl {
        match basic_credentials(&query, req.authorization) {
            Some((ck, cs)) if ck.trim() == key.consumer_key => {
                if constant_time_eq(cs.as_bytes(), key.consumer_secret.as_bytes()) {
                    return Ok(true);
                }
                error = Some(AuthError::auth("Consumer secret is invalid."));
            }
            // An unknown key is not an error: the request simply stays anonymous.
            _ => {}
        }
    }

    let mut params = query;
    if let Some(form) = req.form_body {
        params.merge(Params::parse(form));
    }
    if let Some(header) = req.authorization {
        params.merge(parse_oauth_header(header.trim()));
    }
    let missing: Vec<&str> = OAUTH_PARAMS
        .iter()
        .copied()
        .filter(|name| params.get(name).is_none_or(Param::is_empty))
        .collect();
    if missing.len() == OAUTH_PARAMS.len() {
        return match error {
            Some(e) => Err(e),
            None => Ok(false),
        };
    }
    let (Some(consumer_key), Some(timestamp), Some(nonce), Some(signature), Some(_)) = (
        string_param(&params, OAUTH_PARAMS[0]),
        string_param(&params, OAUTH_PARAMS[1]),
        string_param(&params, OAUTH_PARAMS[2]),
        string_param(&params, OAUTH_PARAMS[3]),
        string_param(&params, OAUTH_PARAMS[4]),
    ) else {
        let noun = if missing.len() == 1 {
            "parameter"
        } else {
            "parameters"
        };
        return Err(AuthError::new(
            "woocommerce_rest_authentication_missing_parameter",
            format!("Missing OAuth {noun} {}", missing.join(", ")),
        ));
    };
    if consumer_key.trim() != key.consumer_key {
        return Err(AuthError::auth("Consumer key is invalid."));
    }
    check_signature(site, key, req, params.clone(), &signature)?;
    check_timestamp_and_nonce(&timestamp, &nonce, nonces, now)?;
    Ok(true)
}

fn string_param(params: &Params, name: &str) -> Option<String> {
    params
        .get(name)
        .filter(|p| !p.is_empty())
        .and_then(Param::as_str)
        .map(str::to_owned)
}

/// `?consumer_key=&consumer_secret=` first, then `Authorization: Basic`, both halves non-empty.
fn basic_credentials(query: &Params, authorization: Option<&str>) -> Option<(String, String)> {
    let from_query = (
        query.get("consumer_key").filter(|p| !p.is_empty()),
        query.get("consumer_secret").filter(|p| !p.is_empty()),
    );
    if let (Some(Param::Str(k)), Some(Param::Str(s))) = from_query {
        return Some((k.clone(), s.clone()));
    }
    let encoded = authorization?.trim().strip_prefix("Basic ")?;
    let decoded = BASE64.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    let empty = |s: &str| s.is_empty() || s == "0";
    if empty(user) || empty(pass) {
        return None;
    }
    Some((user.to_owned(), pass.to_owned()))
}

/// `WC_REST_Authentication::parse_header`: `oauth_x="v"` or `oauth_x=v` pairs, url-decoded.
fn parse_oauth_header(header: &str) -> Params {
    let mut params = Params::default();
    let Some(rest) = header.strip_prefix("OAuth ") else {
        return params;
    };
    let mut s = rest;
    while let Some(pos) = s.find("oauth_") {
        let after = &s[pos..];
        let name_len = after["oauth_".len()..]
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_' || c == '-'))
            .map_or(after.len(), |n| n + "oauth_".len());
        let name = &after[..name_len];
        let Some(value_part) = after[name_len..].strip_prefix('=') else {
            s = &after[name_len..];
            continue;
        };
        // The PHP pattern is `(:?"…"|…)`: an optional colon before the value.
        let value_part = value_part.strip_prefix(':').unwrap_or(value_part);
        let (value, consumed) = match value_part.strip_prefix('"') {
            Some(quoted) => match quoted.find('"') {
                Some(end) => (&quoted[..end], end + 2),
                None => {
                    let end = value_part.find(',').unwrap_or(value_part.len());
                    (&value_part[..end], end)
                }
            },
            None => {
                let end = value_part.find(',').unwrap_or(value_part.len());
                (&value_part[..end], end)
            }
        };
        params.set(name.to_owned(), Param::Str(urldecode(value)));
        s = &value_part[consumed.min(value_part.len())..];
    }
    params
}

fn check_signature(
    site: &Site<'_>,
    key: &ApiKey<'_>,
    req: &AuthRequest<'_>,
    mut params: Params,
    provided: &str,
) -> Result<(), AuthError> {
    let base_uri = rawurlencode(&site.signed_url(req.path));
    let consumer_signature = rawurldecode(&provided.replace(' ', "+"));
    params.remove("oauth_signature");
    // `uksort($params, 'strcmp')`: byte order of the decoded names.
    params.0.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));

    let mut pairs = Vec::new();
    let mut method = String::new();
    for (name, value) in &params.0 {
        let name = rawurlencode(name);
        match value {
            Param::Str(v) => {
                let v = rawurlencode(v);
                if name == "oauth_signature_method" {
                    method = v.clone();
                }
                pairs.push(rawurlencode(&format!("{name}={v}")));
            }
            Param::Arr(items) => {
                for (sub, v) in items {
                    let joined = format!("{name}%5B{sub}%5D={}", rawurlencode(v));
                    pairs.push(rawurlencode(&joined));
                }
            }
        }
    }
    let string_to_sign = format!(
        "{}&{base_uri}&{}",
        req.method.to_ascii_uppercase(),
        pairs.join("%26")
    );
    let secret = format!("{}&", key.consumer_secret);
    let expected = match method.as_str() {
        "HMAC-SHA1" => hmac_base64::<Hmac<sha1::Sha1>>(&secret, &string_to_sign),
        "HMAC-SHA256" => hmac_base64::<Hmac<sha2::Sha256>>(&secret, &string_to_sign),
        _ => {
            return Err(AuthError::auth(
                "Invalid signature - signature method is invalid.",
            ));
        }
    };
    if !constant_time_eq(expected.as_bytes(), consumer_signature.as_bytes()) {
        return Err(AuthError::auth(
            "Invalid signature - provided signature does not match.",
        ));
    }
    Ok(())
}

fn hmac_base64<M: Mac + KeyInit>(key: &str, message: &str) -> String {
    match <M as KeyInit>::new_from_slice(key.as_bytes()) {
        Ok(mut mac) => {
            mac.update(message.as_bytes());
            BASE64.encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; an empty string can never equal a base64 signature.
        Err(_) => String::new(),
    }
}

fn check_timestamp_and_nonce(
    timestamp: &str,
    nonce: &str,
    nonces: &mut NonceStore,
    now: i64,
) -> Result<(), AuthError> {
    let ts = timestamp
        .trim()
        .parse::<i64>()
        .map_err(|_| AuthError::auth("Invalid timestamp."))?;
    if ts < now - VALID_WINDOW_SECS || ts > now + VALID_WINDOW_SECS {
        return Err(AuthError::auth("Invalid timestamp."));
    }
    if nonces.values().any(|used| used == nonce) {
        return Err(AuthError::auth(
            "Invalid nonce - nonce has already been used.",
        ));
    }
    nonces.insert(ts, nonce.to_owned());
    nonces.retain(|&used_at, _| used_at >= now - VALID_WINDOW_SECS);
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: Site<'static> = Site {
        is_ssl: false,
        host: "example.com",
        home_path: "",
    };
    const KEY: ApiKey<'static> = ApiKey {
        consumer_key: "ck_test",
        consumer_secret: "cs_test",
    };

    fn request<'a>(query: &'a str, authorization: Option<&'a str>) -> AuthRequest<'a> {
        AuthRequest {
            method: "GET",
            path: "/wp-json/wc/v3/orders",
            query,
            form_body: None,
            authorization,
        }
    }

    #[test]
    fn no_credentials_is_anonymous_not_an_error() {
        let mut nonces = NonceStore::new();
        assert_eq!(
            authenticate(
                &SITE,
                &KEY,
                &request("page=2", None),
                &mut nonces,
                1_700_000_000
            ),
            Ok(false)
        );
    }

    #[test]
    fn basic_is_not_even_tried_over_http() {
        let mut nonces = NonceStore::new();
        let basic = format!("Basic {}", BASE64.encode("ck_test:cs_test"));
        assert_eq!(
            authenticate(&SITE, &KEY, &request("", Some(&basic)), &mut nonces, 0),
            Ok(false)
        );
        let q = "consumer_key=ck_test&consumer_secret=cs_test";
        assert_eq!(
            authenticate(&SITE, &KEY, &request(q, None), &mut nonces, 0),
            Ok(false)
        );
    }

    #[test]
    fn basic_over_https_checks_the_secret() {
        let site = Site {
            is_ssl: true,
            host: "example.com",
            home_path: "",
        };
        let mut nonces = NonceStore::new();
        let good = format!("Basic {}", BASE64.encode("ck_test:cs_test"));
        let bad = format!("Basic {}", BASE64.encode("ck_test:nope"));
        let unknown = format!("Basic {}", BASE64.encode("ck_other:cs_test"));
        assert_eq!(
            authenticate(&site, &KEY, &request("", Some(&good)), &mut nonces, 0),
            Ok(true)
        );
        assert_eq!(
            authenticate(&site, &KEY, &request("", Some(&bad)), &mut nonces, 0),
            Err(AuthError::auth("Consumer secret is invalid."))
        );
        assert_eq!(
            authenticate(&site, &KEY, &request("", Some(&unknown)), &mut nonces, 0),
            Ok(false)
        );
        let q = "consumer_key=ck_test&consumer_secret=cs_test";
        assert_eq!(
            authenticate(&site, &KEY, &request(q, Some(&bad)), &mut nonces, 0),
            Ok(true)
        );
    }

    #[test]
    fn partial_oauth_parameters_name_the_missing_ones() {
        let mut nonces = NonceStore::new();
        let err = authenticate(
            &SITE,
            &KEY,
            &request("oauth_consumer_key=ck_test&oauth_nonce=0", None),
            &mut nonces,
            0,
        )
        .unwrap_err();
        assert_eq!(
            err.code,
            "woocommerce_rest_authentication_missing_parameter"
        );
        assert_eq!(
            err.message,
            "Missing OAuth parameters oauth_timestamp, oauth_nonce, oauth_signature, oauth_signature_method"
        );
    }

    #[test]
    fn header_parameters_are_read_quoted_or_not() {
        let p = parse_oauth_header(
            r#"OAuth realm="x", oauth_consumer_key="ck%20a", oauth_nonce=abc,oauth_signature="a%2Bb%3D""#,
        );
        assert_eq!(p.get_str("oauth_consumer_key"), Some("ck a"));
        assert_eq!(p.get_str("oauth_nonce"), Some("abc"));
        assert_eq!(p.get_str("oauth_signature"), Some("a+b="));
        assert!(p.get("realm").is_none());
        assert!(parse_oauth_header("Bearer oauth_nonce=1").0.is_empty());
    }

    #[test]
    fn nonces_are_single_use_within_the_window() {
        let mut nonces = NonceStore::new();
        assert!(check_timestamp_and_nonce("1000", "n1", &mut nonces, 1000).is_ok());
        assert_eq!(
            check_timestamp_and_nonce("1001", "n1", &mut nonces, 1001)
                .unwrap_err()
                .message,
            "Invalid nonce - nonce has already been used."
        );
        assert_eq!(
            check_timestamp_and_nonce("99", "n2", &mut nonces, 1000)
                .unwrap_err()
                .message,
            "Invalid timestamp."
        );
        assert_eq!(
            check_timestamp_and_nonce("soon", "n3", &mut nonces, 1000)
                .unwrap_err()
                .message,
            "Invalid timestamp."
        );
        // After 15 minutes the nonce has expired and may come back.
        assert!(check_timestamp_and_nonce("2000", "n4", &mut nonces, 2000).is_ok());
        assert!(check_timestamp_and_nonce("2001", "n1", &mut nonces, 2001).is_ok());
    }

    #[test]
    fn the_signed_url_is_the_request_path_on_the_home_url() {
        assert_eq!(
            SITE.signed_url("/wp-json/wc/v3/orders"),
            "http://example.com/wp-json/wc/v3/orders"
        );
        assert_eq!(
            SITE.signed_url("/index.php"),
            "http://example.com/index.php"
        );
        assert_eq!(SITE.signed_url("/"), "http://example.com");
        let sub = Site {
            is_ssl: true,
            host: "example.com",
            home_path: "/shop",
        };
        assert_eq!(
            sub.signed_url("/shop/index.php"),
            "https://example.com/shop/index.php"
        );
        assert_eq!(sub.signed_url("/shop/"), "https://example.com/shop");
        assert_eq!(
            sub.signed_url("/shop/wp-json/wc/v3/orders/7"),
            "https://example.com/shop/wp-json/wc/v3/orders/7"
        );
    }
}
