//! The Sellsy error envelope `{"error":{"code","message","context","details"}}` (spec `components.schemas.Error`)
//! and the HTTP response type every API handler returns.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};

/// An API answer: status, optional JSON body, extra headers.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: StatusCode, body: Value) -> Reply {
        Reply {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }
    pub fn ok(body: Value) -> Reply {
        Reply::json(StatusCode::OK, body)
    }
    pub fn created(body: Value) -> Reply {
        Reply::json(StatusCode::CREATED, body)
    }
    pub fn empty(status: StatusCode) -> Reply {
        Reply {
            status,
            body: None,
            headers: Vec::new(),
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut resp = match self.body {
            Some(v) => {
                let mut r = (self.status, v.to_string()).into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                r
            }
            None => self.status.into_response(),
        };
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().insert(name, v);
            }
        }
        resp
    }
}

/// A failed API call, rendered as the Sellsy error envelope.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub context: Option<&'static str>,
    /// Boxed: the map is large and errors travel in `Result`s everywhere.
    pub details: Box<Map<String, Value>>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            context: None,
            details: Box::default(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    /// A 400 with a single field detail.
    pub fn field(path: &str, message: impl Into<String>) -> ApiError {
        let message = message.into();
        let mut e = ApiError::bad_request(format!("{path}: {message}"));
        e.context = Some("validation");
        e.details.insert(path.to_string(), Value::String(message));
        e
    }
    pub fn not_found(what: &str) -> ApiError {
        let mut e = ApiError::new(StatusCode::NOT_FOUND, format!("{what} not found"));
        e.context = Some("not_found");
        e
    }
    pub fn with_context(mut self, context: &'static str) -> ApiError {
        self.context = Some(context);
        self
    }
    pub fn envelope(&self) -> Value {
        json!({"error": {
            "code": self.status.as_u16(),
            "message": self.message,
            "context": self.context,
            "details": Value::Object((*self.details).clone()),
        }})
    }
    pub fn into_reply(self) -> Reply {
        Reply::json(self.status, self.envelope())
    }
}

pub(crate) type ApiResult = Result<Reply, ApiError>;
