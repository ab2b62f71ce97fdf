//! HTTP front of the simulator: the OAuth token endpoint, the `/v2` API pipeline (quota → injected failure →
//! bearer check → route, with quota headers and the call log on every answer) and the public document pages.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri, header};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, Reply};
use crate::faults::{CreateKind, Faults};
use crate::pagination::parse_query;
use crate::store::{PartyKind, Store};
use crate::{CallRecord, catalog, invoices, parties};

/// State shared by the server task and the [`crate::SellsySim`] handle.
pub(crate) struct Shared {
    pub store: Mutex<Store>,
    pub client_id: String,
    pub client_secret: String,
    pub token_ttl_secs: u64,
    pub account_id: u64,
    /// Seeded draws: the time each API request takes ([`crate::SimConfig::latency`],
    /// [`crate::SimConfig::latency_range`]) and the creates answered 503 after committing.
    pub faults: Mutex<Faults>,
    /// `http://127.0.0.1:PORT`, used to build public/pdf links.
    pub origin: String,
}

impl Shared {
    /// Locks the store; a panic in another holder cannot leave the data half-written in a way that matters to
    /// a simulator, so a poisoned lock is simply taken over.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a handler needs besides the store.
pub(crate) struct Ctx<'a> {
    pub origin: &'a str,
    pub query: &'a [(String, String)],
    pub body: &'a [u8],
}

impl Ctx<'_> {
    pub fn query_flag(&self, key: &str) -> bool {
        self.query
            .iter()
            .any(|(k, v)| k == key && (v == "true" || v == "1"))
    }
}

pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    if path == "/oauth2/access-tokens" {
        return token_endpoint(&shared, &method, &headers, &body).into_response();
    }
    if let Some(rest) = path.strip_prefix("/v2")
        && (rest.is_empty() || rest.starts_with('/'))
    {
        let latency = shared.faults().latency();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        return api(&shared, &method, &path, rest, uri.query(), &headers, &body).into_response();
    }
    if let Some(rest) = path.strip_prefix("/public/invoices/") {
        return public_invoice(&shared, rest);
    }
    ApiError::new(StatusCode::NOT_FOUND, "No route found")
        .with_context("route")
        .into_reply()
        .into_response()
}

// ---------------------------------------------------------------------------------------------------------------
// OAuth 2 token endpoint (login.sellsy.com/oauth2/access-tokens)

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Reply {
    Reply::json(
        status,
        json!({"error": error, "error_description": description}),
    )
}

/// Reads the token request from a JSON or form body; client credentials may also come as HTTP Basic.
fn token_params(headers: &HeaderMap, body: &[u8]) -> Option<Vec<(String, String)>> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
    let trimmed = body
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .copied()
        .next();
    let mut params: Vec<(String, String)> = if is_json || trimmed == Some(b'{') {
        let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) else {
            return None;
        };
        o.into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                Value::Number(n) => Some((k, n.to_string())),
                _ => None,
            })
            .collect()
    } else {
        form_urlencoded::parse(body).into_owned().collect()
    };
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        && let Ok(decoded) = STANDARD.decode(basic.trim())
        && let Ok(text) = String::from_utf8(decoded)
        && let Some((id, secret)) = text.split_once(':')
    {
        params.push(("client_id".into(), id.into()));
        params.push(("client_secret".into(), secret.into()));
    }
    Some(params)
}

fn token_endpoint(shared: &Shared, method: &Method, headers: &HeaderMap, body: &[u8]) -> Reply {
    let mut st = shared.lock();
    st.token_calls += 1;
    if method != Method::POST {
        return oauth_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "The token endpoint only accepts POST",
        );
    }
    let Some(params) = token_params(headers, body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request body could not be parsed",
        );
    };
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    match get("grant_type") {
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The request is missing a required parameter: grant_type",
            );
        }
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server",
            );
        }
    }
    if get("client_id") != Some(shared.client_id.as_str())
        || get("client_secret") != Some(shared.client_secret.as_str())
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    }
    st.token_counter += 1;
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let token = format!("sim.{}.{}.{nonce:08x}", shared.account_id, st.token_counter);
    st.tokens.insert(token.clone(), {
        // An absurd TTL from the config must not overflow the clock: cap at about a century.
        let now = Instant::now();
        now.checked_add(Duration::from_secs(shared.token_ttl_secs))
            .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
            .unwrap_or(now)
    });
    Reply::ok(
        json!({"token_type": "Bearer", "expires_in": shared.token_ttl_secs, "access_token": token}),
    )
}

// ---------------------------------------------------------------------------------------------------------------
// API pipeline

fn check_bearer(st: &Store, headers: &HeaderMap, now: Instant) -> Result<(), ApiError> {
    let unauthorized =
        |msg: &str| ApiError::new(StatusCode::UNAUTHORIZED, msg).with_context("authentication");
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthorized("Missing Authorization header"))?;
    let token = value
        .strip_prefix("Bearer ")
        .map(str::trim)
        .ok_or_else(|| {
            unauthorized("The Authorization header must be \"Bearer <access token>\"")
        })?;
    match st.tokens.get(token) {
        None => Err(unauthorized("Invalid access token")),
        Some(expires) if *expires <= now => Err(unauthorized("The access token has expired")),
        Some(_) => Ok(()),
    }
}

fn api(
    shared: &Shared,
    method: &Method,
    full_path: &str,
    rest: &str,
    raw_query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Reply {
    let mut st = shared.lock();
    let now = Instant::now();
    let mut reply = if let Some(retry_after) = st.quotas.hit(now) {
        let mut r = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "API quota exceeded")
            .with_context("quota")
            .into_reply();
        r.headers.push(("retry-after", retry_after.to_string()));
        r
    } else if let Some(status) = st.fail_queue.pop_front() {
        injected_failure(status)
    } else {
        match check_bearer(&st, headers, now) {
            Err(e) => e.into_reply(),
            Ok(()) => {
                let query = parse_query(raw_query);
                let ctx = Ctx {
                    origin: &shared.origin,
                    query: &query,
                    body,
                };
                let reply = route(&mut st, &ctx, method, rest).unwrap_or_else(ApiError::into_reply);
                // A create that was stored (201) may still be answered 503, as a Sellsy that committed and
                // then failed (or a connection lost on the way back) would.
                let kind = match resolve(method, rest) {
                    Ok(Ep::InvoiceCreate) => Some(CreateKind::Invoice),
                    Ok(
                        Ep::PartyCreate(_)
                        | Ep::PartyAddressCreate(..)
                        | Ep::ContactCreate
                        | Ep::ItemCreate,
                    ) => Some(CreateKind::Other),
                    _ => None,
                };
                match kind {
                    Some(kind)
                        if reply.status == StatusCode::CREATED
                            && shared.faults().commit_then_fail(kind, full_path) =>
                    {
                        injected_failure(503)
                    }
                    _ => reply,
                }
            }
        }
    };
    reply.headers.extend(st.quotas.headers());
    let body = (!body.iter().all(u8::is_ascii_whitespace)).then(|| {
        serde_json::from_slice(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
    });
    st.calls.push(CallRecord {
        method: method.to_string(),
        path: full_path.to_string(),
        query: raw_query.unwrap_or_default().to_string(),
        body,
        status: reply.status.as_u16(),
        response: reply.body.clone(),
    });
    reply
}

fn injected_failure(status: u16) -> Reply {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = if status == StatusCode::TOO_MANY_REQUESTS {
        "API quota exceeded".to_string()
    } else {
        format!(
            "{} (simulated failure)",
            status.canonical_reason().unwrap_or("Server error")
        )
    };
    let mut r = ApiError::new(status, message)
        .with_context("simulated")
        .into_reply();
    if status == StatusCode::TOO_MANY_REQUESTS {
        r.headers.push(("retry-after", "1".to_string()));
    }
    r
}

/// The endpoints the simulator serves.
enum Ep {
    Taxes,
    TaxesSearch,
    Tax(u64),
    Currencies,
    Scopes,
    StaffMe,
    PartyCreate(PartyKind),
    PartySearch(PartyKind),
    PartyGet(PartyKind, u64),
    PartyAddresses(PartyKind, u64),
    PartyAddressCreate(PartyKind, u64),
    PartyConvert(PartyKind, u64),
    CompanyContactLink(u64, u64),
    ContactCreate,
    ContactGet(u64),
    ItemCreate,
    ItemSearch,
    ItemGet(u64),
    ItemDeclinations(u64),
    ItemDeclinationsSearch(u64),
    InvoiceCreate,
    InvoiceList,
    InvoiceSearch,
    InvoiceCompute,
    InvoiceGet(u64),
    InvoiceValidate(u64),
}

fn pick(method: &Method, options: Vec<(Method, Ep)>) -> Result<Ep, ApiError> {
    let allowed: Vec<String> = options.iter().map(|(m, _)| m.to_string()).collect();
    options
        .into_iter()
        .find(|(m, _)| m == method)
        .map(|(_, ep)| ep)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("Method not allowed (allowed: {})", allowed.join(", ")),
            )
            .with_context("route")
        })
}

fn resolve(method: &Method, rest: &str) -> Result<Ep, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "No route found").with_context("route");
    let segs: Vec<&str> = rest.strip_prefix('/').unwrap_or(rest).split('/').collect();
    let id = |s: &str| s.parse::<u64>().ok().filter(|i| *i > 0);
    let party = |s: &str| match s {
        "individuals" => Some(PartyKind::Individual),
        "companies" => Some(PartyKind::Company),
        _ => None,
    };
    use Method as M;
    match segs.as_slice() {
        ["taxes"] => pick(method, vec![(M::GET, Ep::Taxes)]),
        ["taxes", "search"] => pick(method, vec![(M::POST, Ep::TaxesSearch)]),
        ["taxes", t] => match id(t) {
            Some(i) => pick(method, vec![(M::GET, Ep::Tax(i))]),
            None => Err(not_found()),
        },
        ["currencies"] => pick(method, vec![(M::GET, Ep::Currencies)]),
        ["scopes"] => pick(method, vec![(M::GET, Ep::Scopes)]),
        ["staffs", "me"] => pick(method, vec![(M::GET, Ep::StaffMe)]),
        [p] if party(p).is_some() => {
            let k = party(p).ok_or_else(not_found)?;
            pick(method, vec![(M::POST, Ep::PartyCreate(k))])
        }
        [p, "search"] if party(p).is_some() => {
            let k = party(p).ok_or_else(not_found)?;
            pick(method, vec![(M::POST, Ep::PartySearch(k))])
        }
        [p, i] if party(p).is_some() && id(i).is_some() => {
            let (k, i) = (
                party(p).ok_or_else(not_found)?,
                id(i).ok_or_else(not_found)?,
            );
            pick(method, vec![(M::GET, Ep::PartyGet(k, i))])
        }
        [p, i, "addresses"] if party(p).is_some() && id(i).is_some() => {
            let (k, i) = (
                party(p).ok_or_else(not_found)?,
                id(i).ok_or_else(not_found)?,
            );
            pick(
                method,
                vec![
                    (M::GET, Ep::PartyAddresses(k, i)),
                    (M::POST, Ep::PartyAddressCreate(k, i)),
                ],
            )
        }
        [p, i, "convert"] if party(p).is_some() && id(i).is_some() => {
            let (k, i) = (
                party(p).ok_or_else(not_found)?,
                id(i).ok_or_else(not_found)?,
            );
            pick(method, vec![(M::POST, Ep::PartyConvert(k, i))])
        }
        ["companies", c, "contacts", ct] => match (id(c), id(ct)) {
            (Some(c), Some(ct)) => pick(method, vec![(M::POST, Ep::CompanyContactLink(c, ct))]),
            _ => Err(not_found()),
        },
        ["contacts"] => pick(method, vec![(M::POST, Ep::ContactCreate)]),
        ["contacts", c] => match id(c) {
            Some(c) => pick(method, vec![(M::GET, Ep::ContactGet(c))]),
            None => Err(not_found()),
        },
        ["items"] => pick(method, vec![(M::POST, Ep::ItemCreate)]),
        ["items", "search"] => pick(method, vec![(M::POST, Ep::ItemSearch)]),
        ["items", i] => match id(i) {
            Some(i) => pick(method, vec![(M::GET, Ep::ItemGet(i))]),
            None => Err(not_found()),
        },
        ["items", i, "declinations"] => match id(i) {
            Some(i) => pick(
                method,
                vec![
                    (M::GET, Ep::ItemDeclinations(i)),
                    (M::POST, Ep::ItemDeclinationsSearch(i)),
                ],
            ),
            None => Err(not_found()),
        },
        ["invoices"] => pick(
            method,
            vec![(M::GET, Ep::InvoiceList), (M::POST, Ep::InvoiceCreate)],
        ),
        ["invoices", "search"] => pick(method, vec![(M::POST, Ep::InvoiceSearch)]),
        ["invoices", "compute"] => pick(method, vec![(M::POST, Ep::InvoiceCompute)]),
        ["invoices", i] => match id(i) {
            Some(i) => pick(method, vec![(M::GET, Ep::InvoiceGet(i))]),
            None => Err(not_found()),
        },
        ["invoices", i, "validate"] => match id(i) {
            Some(i) => pick(method, vec![(M::POST, Ep::InvoiceValidate(i))]),
            None => Err(not_found()),
        },
        _ => Err(not_found()),
    }
}

fn route(st: &mut Store, ctx: &Ctx<'_>, method: &Method, rest: &str) -> ApiResult {
    match resolve(method, rest)? {
        Ep::Taxes => catalog::list_taxes(st, ctx),
        Ep::TaxesSearch => catalog::search_taxes(st, ctx),
        Ep::Tax(id) => catalog::get_tax(st, id),
        Ep::Currencies => catalog::list_currencies(st, ctx),
        Ep::Scopes => Ok(Reply::ok(json!([
            "companies.read",
            "companies.write",
            "individuals.read",
            "individuals.write",
            "contacts.read",
            "contacts.write",
            "items.read",
            "items.write",
            "taxes.read",
            "accounts.read",
            "invoices.read",
            "invoices.write",
            "staffs.read"
        ]))),
        Ep::StaffMe => Ok(Reply::ok(json!({
            "id": crate::store::STAFF_ID, "firstname": "Simulated", "lastname": "Staff",
            "email": "staff@sim.sellsy.invalid", "status": "ok",
        }))),
        Ep::PartyCreate(k) => parties::create(st, ctx, k),
        Ep::PartySearch(k) => parties::search(st, ctx, k),
        Ep::PartyGet(k, id) => parties::get(st, k, id),
        Ep::PartyAddresses(k, id) => parties::list_addresses(st, ctx, k, id),
        Ep::PartyAddressCreate(k, id) => parties::create_address(st, ctx, k, id),
        Ep::PartyConvert(k, id) => parties::convert(st, ctx, k, id),
        Ep::CompanyContactLink(c, ct) => parties::link_contact(st, ctx, c, ct),
        Ep::ContactCreate => parties::create_contact(st, ctx),
        Ep::ContactGet(id) => parties::get_contact(st, id),
        Ep::ItemCreate => catalog::create_item(st, ctx),
        Ep::ItemSearch => catalog::search_items(st, ctx),
        Ep::ItemGet(id) => catalog::get_item(st, id),
        Ep::ItemDeclinations(id) => catalog::list_declinations(st, ctx, id, false),
        Ep::ItemDeclinationsSearch(id) => catalog::list_declinations(st, ctx, id, true),
        Ep::InvoiceCreate => invoices::create(st, ctx),
        Ep::InvoiceList => invoices::list(st, ctx, None),
        Ep::InvoiceSearch => invoices::search(st, ctx),
        Ep::InvoiceCompute => invoices::compute(st, ctx),
        Ep::InvoiceGet(id) => invoices::get(st, id),
        Ep::InvoiceValidate(id) => invoices::validate(st, ctx, id),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Public document pages (what `public_link.url` points to)

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn public_invoice(shared: &Shared, rest: &str) -> Response {
    let html = |status: StatusCode, body: String| {
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response()
    };
    let st = shared.lock();
    let found = rest
        .split_once('/')
        .and_then(|(id, _)| id.parse::<u64>().ok())
        .and_then(|id| st.invoices.get(&id));
    let Some(inv) = found else {
        return html(
            StatusCode::NOT_FOUND,
            "<h1>Document introuvable</h1>".into(),
        );
    };
    let url_matches = inv
        .get("public_link")
        .and_then(|p| p.get("url"))
        .and_then(Value::as_str)
        .is_some_and(|u| u.split("/public/invoices/").nth(1) == Some(rest));
    let enabled = inv
        .get("public_link")
        .and_then(|p| p.get("enabled"))
        .and_then(Value::as_bool)
        == Some(true);
    if !url_matches {
        return html(
            StatusCode::NOT_FOUND,
            "<h1>Document introuvable</h1>".into(),
        );
    }
    if !enabled {
        return html(
            StatusCode::FORBIDDEN,
            "<h1>Document inaccessible</h1>".into(),
        );
    }
    let text = |k: &str| inv.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let total = inv
        .get("amounts")
        .and_then(|a| a.get("total_incl_tax"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let title = if text("number").is_empty() {
        "Facture (brouillon)".to_string()
    } else {
        format!("Facture {}", text("number"))
    };
    html(
        StatusCode::OK,
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head><body><h1>{t}</h1>\
             <p>Date : {d}</p><p>Référence commande : {r}</p><p>Total TTC : {total} {c}</p></body></html>",
            t = html_escape(&title),
            d = html_escape(&text("date")),
            r = html_escape(&text("order_reference")),
            total = html_escape(total),
            c = html_escape(&text("currency")),
        ),
    )
}
