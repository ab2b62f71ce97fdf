//! API Gateway HTTP API (payload 2.0) ↔ the receiver's plain `http` types.
//!
//! `lambda_http` already decodes a base64-encoded body (`isBase64Encoded`) into bytes; what matters here
//! is that the bytes reach the receiver untouched, because the WooCommerce signature is an HMAC of the
//! raw body. The path is rebuilt from the `connectorId` path parameter as `/webhooks/{connectorId}`, so
//! a named stage or a custom-domain base path in `rawPath` does not confuse the receiver's routing.

use bytes::Bytes;
use lambda_http::{Body, Request, RequestExt, Response};

/// The path parameter declared on the route in `template.yaml`.
pub const CONNECTOR_PATH_PARAMETER: &str = "connectorId";

/// Turns the Lambda request into the request the receiver handles.
pub fn to_receiver_request(req: Request) -> http::Request<Bytes> {
    let connector = req
        .path_parameters_ref()
        .and_then(|p| p.first(CONNECTOR_PATH_PARAMETER))
        .map(str::to_owned);
    let (mut parts, body) = req.into_parts();
    if let Some(connector) = connector {
        let path = format!("/webhooks/{connector}");
        let path_and_query = match parts.uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        // A connector id that is not a valid path (it will be rejected by the receiver anyway) keeps
        // the original URI rather than failing here.
        if let Ok(uri) = http::Uri::builder().path_and_query(path_and_query).build() {
            parts.uri = uri;
        }
    }
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bin) => Bytes::from(bin),
        // `Body` is non-exhaustive: a future variant is read as empty, which fails the signature check.
        _ => Bytes::new(),
    };
    http::Request::from_parts(parts, bytes)
}

/// Turns the receiver's response into the Lambda response (text when it is UTF-8, as JSON always is).
pub fn from_receiver_response(resp: http::Response<Bytes>) -> Response<Body> {
    let (parts, body) = resp.into_parts();
    let body = if body.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(body.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    };
    Response::from_parts(parts, body)
}
