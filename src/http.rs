//! The local HTTP edge of `woosellsy serve`: the webhook route in front of the engine's receiver, and
//! `/health`. What an internet-facing server owes its callers lives here: a body read within a time
//! limit, a whole request within another, a bounded number of connections, and details of the process
//! only for the operator's status token.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use woosellsy_engine::{Receiver, ReceiverLimits};
use woosellsy_ports::PullQueue;

/// The edge's limits (`[server]` in `woosellsy.toml`).
#[derive(Debug, Clone)]
pub struct EdgeLimits {
    pub receiver: ReceiverLimits,
    /// A body not received within this is answered 408: a client trickling bytes holds no task forever.
    pub body_timeout: Duration,
    /// A request not answered within this is answered 503 (the queue or the store is stuck).
    pub request_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Shows `/health`'s details to whoever presents it (`Authorization: Bearer` or `?token=`).
    pub status_token: Option<SecretString>,
}

#[derive(Clone)]
struct HttpState {
    receiver: Arc<Receiver>,
    queue: Arc<dyn PullQueue>,
    limits: Arc<EdgeLimits>,
}

pub fn router(receiver: Arc<Receiver>, queue: Arc<dyn PullQueue>, limits: EdgeLimits) -> Router {
    Router::new()
        .route("/webhooks/{connector_id}", any(webhook))
        .route("/health", get(health))
        .with_state(HttpState {
            receiver,
            queue,
            limits: Arc::new(limits),
        })
}

fn error(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        axum::Json(json!({"error": code, "message": message})),
    )
        .into_response()
}

async fn webhook(State(state): State<HttpState>, req: Request) -> Response {
    let limits = &state.limits;
    let (parts, body) = req.into_parts();
    let max = limits.receiver.max_body_bytes;
    // Read one byte past the limit so the receiver sees the body is too large and answers 413.
    let bytes: Bytes =
        match tokio::time::timeout(limits.body_timeout, to_bytes(body, max + 1)).await {
            Err(_) => {
                return error(
                    StatusCode::REQUEST_TIMEOUT,
                    "body_timeout",
                    format!(
                        "the body was not received within {} s",
                        limits.body_timeout.as_secs()
                    ),
                );
            }
            Ok(Ok(b)) => b,
            Ok(Err(e)) if is_length_limit(&e) => {
                return error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("body over {max} bytes"),
                );
            }
            // The client went away or sent a broken body: it was not too large, it was not received.
            Ok(Err(_)) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "body_unreadable",
                    "the body could not be read in full".to_owned(),
                );
            }
        };
    let req = http::Request::from_parts(parts, bytes);
    match tokio::time::timeout(limits.request_timeout, state.receiver.handle(req)).await {
        Ok(res) => {
            let (parts, body) = res.into_parts();
            Response::from_parts(parts, Body::from(body))
        }
        // Nothing was acknowledged: WooCommerce counts a failure and the catch-up covers the order.
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "temporarily unavailable, the event could not be queued in time".to_owned(),
        ),
    }
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

async fn health(
    State(state): State<HttpState>,
    headers: http::HeaderMap,
    uri: http::Uri,
) -> Response {
    if !is_operator(state.limits.status_token.as_ref(), &headers, &uri) {
        return axum::Json(json!({"status": "ok"})).into_response();
    }
    match state.queue.depth().await {
        Ok(depth) => axum::Json(json!({"status": "ok", "queue_depth": depth})).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "unavailable", "message": e.to_string()})),
        )
            .into_response(),
    }
}

/// Whether the request carries the status token (never true when none is configured).
fn is_operator(token: Option<&SecretString>, headers: &http::HeaderMap, uri: &http::Uri) -> bool {
    let Some(token) = token.map(|t| t.expose_secret().as_bytes()) else {
        return false;
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let query = uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    });
    [bearer.map(str::to_owned), query]
        .into_iter()
        .flatten()
        .any(|given| constant_time_eq(given.as_bytes(), token))
}

/// Compares without stopping at the first difference, so the time taken says nothing of the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A TCP listener that serves at most `max` connections at once: the next one is accepted only when
/// one closes, so a flood of idle connections cannot exhaust the process.
pub struct LimitedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
}

impl LimitedListener {
    pub fn new(inner: TcpListener, max: usize) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(max.max(1))),
        }
    }
}

impl axum::serve::Listener for LimitedListener {
    type Io = LimitedStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        (
            LimitedStream {
                stream,
                _permit: permit,
            },
            addr,
        )
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A served connection; its slot is given back when it is dropped.
pub struct LimitedStream {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for LimitedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for LimitedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn connections_past_the_limit_wait_until_one_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = Router::new().route("/", get(|| async { "served" }));
        tokio::spawn(async move {
            axum::serve(LimitedListener::new(listener, 2), app)
                .await
                .unwrap()
        });
        let connect = || tokio::net::TcpStream::connect(("127.0.0.1", port));
        let idle_1 = connect().await.unwrap();
        let _idle_2 = connect().await.unwrap();
        let ask = || async {
            let mut s = connect().await.unwrap();
            s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                .await
                .unwrap();
            let mut answer = String::new();
            let read =
                tokio::time::timeout(Duration::from_millis(700), s.read_to_string(&mut answer))
                    .await;
            (read.is_ok(), answer)
        };
        let (answered, _) = ask().await;
        assert!(
            !answered,
            "a third connection is not served while two are open"
        );
        drop(idle_1);
        // Two idle connections were accepted before the probes: closing one lets one more in.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (answered, answer) = ask().await;
        assert!(answered && answer.contains("served"), "{answer:?}");
    }

    #[test]
    fn the_status_token_is_compared_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        let token = SecretString::from("s3cret".to_owned());
        let uri: http::Uri = "/health?token=s3cret".parse().unwrap();
        assert!(is_operator(Some(&token), &http::HeaderMap::new(), &uri));
        let plain: http::Uri = "/health".parse().unwrap();
        assert!(!is_operator(None, &http::HeaderMap::new(), &uri));
        let mut h = http::HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        assert!(is_operator(Some(&token), &h, &plain));
        h.insert(header::AUTHORIZATION, "Bearer s3cre".parse().unwrap());
        assert!(!is_operator(Some(&token), &h, &plain));
    }
}
