//! WordPress's error format (`WP_Error` as the REST server renders it) and PHP-faithful JSON answers:
//! what every route answers with when something is wrong.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};

use super::Authed;
use crate::store::Invalid;

/// A `WP_Error` as the REST server renders it.
#[derive(Debug)]
pub struct WpError {
    status: StatusCode,
    code: &'static str,
    message: String,
    // Boxed: rarely used, and it keeps `Result<_, WpError>` small.
    pub(super) extra: Box<Map<String, Value>>,
}

impl WpError {
    pub(super) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        WpError {
            status,
            code,
            message: message.into(),
            extra: Box::default(),
        }
    }

    /// `rest_authorization_required_code()` is 401 for anonymous requests.
    pub(super) fn forbidden(code: &'static str, message: &str) -> Self {
        WpError::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub(super) fn invalid_params(errors: Vec<Invalid>) -> Self {
        let names: Vec<&str> = errors.iter().map(|e| e.param.as_str()).collect();
        let mut params = Map::new();
        let mut details = Map::new();
        for e in &errors {
            params.insert(e.param.clone(), json!(e.message));
            details.insert(
                e.param.clone(),
                json!({ "code": e.detail_code, "message": e.message, "data": null }),
            );
        }
        let mut err = WpError::new(
            StatusCode::BAD_REQUEST,
            "rest_invalid_param",
            format!("Invalid parameter(s): {}", names.join(", ")),
        );
        err.extra.insert("params".into(), Value::Object(params));
        err.extra.insert("details".into(), Value::Object(details));
        err
    }

    pub(super) fn invalid_id(code: &'static str, status: StatusCode) -> Self {
        WpError::new(status, code, "Invalid ID.")
    }

    fn no_route() -> Self {
        WpError::new(
            StatusCode::NOT_FOUND,
            "rest_no_route",
            "No route was found matching the URL and request method.",
        )
    }

    // WooCommerce's permission checks word their refusal by action, whatever the resource.

    pub(super) fn cannot_list() -> Self {
        WpError::forbidden(
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot list resources.",
        )
    }

    /// The answer to `GET /<resource>/{id}` as WooCommerce checks it: an unknown id first (404 with the
    /// resource's own code), then the permission, then the resource.
    pub(super) fn one(
        found: Option<Value>,
        invalid_id_code: &'static str,
        auth: Authed,
    ) -> Handled {
        match found {
            None => Err(WpError::invalid_id(invalid_id_code, StatusCode::NOT_FOUND)),
            Some(_) if !auth.0 => Err(WpError::cannot_view()),
            Some(resource) => Ok(php_json(StatusCode::OK, &resource)),
        }
    }

    pub(super) fn cannot_view() -> Self {
        WpError::forbidden(
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot view this resource.",
        )
    }

    pub(super) fn cannot_create() -> Self {
        WpError::forbidden(
            "woocommerce_rest_cannot_create",
            "Sorry, you are not allowed to create resources.",
        )
    }

    pub(super) fn cannot_edit() -> Self {
        WpError::forbidden(
            "woocommerce_rest_cannot_edit",
            "Sorry, you are not allowed to edit this resource.",
        )
    }

    pub(super) fn cannot_delete() -> Self {
        WpError::forbidden(
            "woocommerce_rest_cannot_delete",
            "Sorry, you are not allowed to delete this resource.",
        )
    }
}

impl IntoResponse for WpError {
    fn into_response(self) -> Response {
        let mut data = Map::new();
        data.insert("status".into(), json!(self.status.as_u16()));
        data.extend(*self.extra);
        let body = json!({ "code": self.code, "message": self.message, "data": data });
        php_json(self.status, &body)
    }
}

pub(super) fn php_json(status: StatusCode, body: &Value) -> Response {
    respond(
        status,
        "application/json; charset=UTF-8",
        woocommerce::php_json::encode(body),
    )
}

pub(super) fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Body>,
) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub(super) type Handled = Result<Response, WpError>;

pub(super) async fn no_route() -> WpError {
    WpError::no_route()
}

/// Route ids are `(?P<id>[\d]+)`: anything else does not match the route at all.
pub(super) fn route_id(raw: &str) -> Result<u64, WpError> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WpError::no_route());
    }
    raw.parse()
        .map_err(|_| WpError::invalid_id("woocommerce_rest_invalid_id", StatusCode::NOT_FOUND))
}
