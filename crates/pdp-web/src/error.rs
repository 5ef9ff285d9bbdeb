//! The one place where errors become HTTP responses, and the only module that names HTTP
//! statuses.
//!
//! The use cases fail with a [`pdp_app::AppError`]: a stable `code`, a message in Chinese and
//! English, and a kind. Here a kind becomes a status ([`status_of`]), and the error a JSON body
//! with a `type` (`invalid_request`, `auth`, `not_found`, `internal`), as in meilisearch. API
//! handlers return [`ApiError`]; pages render the same facts as HTML ([`crate::layout`]).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
pub use pdp_app::{AppError, ErrorKind, ViolationOut};
use serde::Serialize;
use serde_json::json;

/// An error on its way to an API client: what [`AppError`] is for a handler.
#[derive(Debug, Clone)]
pub struct ApiError(pub AppError);

/// The JSON body of every API error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `permission_denied`.
    pub code: String,
    /// Chinese and English message: `中文 / English`.
    pub message: String,
    pub message_zh: String,
    pub message_en: String,
    /// `invalid_request`, `auth`, `not_found` or `internal`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Every broken rule, when the input was checked as a whole.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ViolationOut>,
}

/// The status an error of this kind answers with.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Gone => StatusCode::GONE,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::TooMany => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unsupported => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The JSON body of an error.
pub fn body(e: &AppError) -> ErrorBody {
    ErrorBody {
        code: e.code.into(),
        message: e.message(),
        message_zh: e.zh.clone(),
        message_en: e.en.clone(),
        kind: e.kind.label().into(),
        details: e.details.clone(),
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        status_of(self.0.kind)
    }
}

/// Any error a use case or the layers below it fail with (`AppError`, storage, audit, lake).
impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), axum::Json(body(&self.0))).into_response()
    }
}

/// A Delta Sharing error, in the protocol's shape, `{"errorCode", "message"}`, keeping the platform's
/// stable code beside it.
pub struct DsError(pub AppError);

impl From<AppError> for DsError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl IntoResponse for DsError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = status_of(e.kind);
        let code = match status {
            StatusCode::NOT_FOUND => "RESOURCE_DOES_NOT_EXIST",
            StatusCode::FORBIDDEN => "PERMISSION_DENIED",
            StatusCode::UNAUTHORIZED => "UNAUTHENTICATED",
            s if s.is_client_error() => "INVALID_PARAMETER_VALUE",
            _ => "INTERNAL_ERROR",
        };
        let body = json!({"errorCode": code, "message": format!("{} ({})", e.en, e.zh), "code": e.code});
        (status, axum::Json(body)).into_response()
    }
}

/// A success status other than 200, for the handlers that create (201) or answer without a
/// body (204), named here so that status codes stay in this module.
pub fn created<T: IntoResponse>(body: T) -> Response {
    (StatusCode::CREATED, body).into_response()
}

/// 202: started; it goes on in the background.
pub fn accepted<T: IntoResponse>(body: T) -> Response {
    (StatusCode::ACCEPTED, body).into_response()
}

/// 204: done, nothing to say.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// 206: the answer carries the requested byte range of a file.
pub fn partial_content(resp: &mut Response) {
    *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
}

/// 416: the requested byte range lies outside the file of `len` bytes.
pub fn range_not_satisfiable(len: u64) -> Response {
    let mut resp = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("bytes */{len}")) {
        resp.headers_mut().insert(axum::http::header::CONTENT_RANGE, v);
    }
    resp
}

/// A body extractor's rejection: past the body limit a 413 that names the limit's key, else
/// a malformed request.
pub fn body_rejection(status: StatusCode, e: impl std::fmt::Display) -> AppError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::too_large(
            "body_too_large",
            "请求体超过上限（limits.body_bytes）",
            "the request body is larger than the limit (limits.body_bytes)",
        );
    }
    rejection(e)
}

/// Maps an extractor rejection (bad JSON, bad query, bad path) to a bilingual 400.
pub fn rejection(e: impl std::fmt::Display) -> AppError {
    AppError::bad_request("invalid_input", format!("请求格式错误：{e}"), format!("malformed request: {e}"))
}

/// A CKAN Action API error (`crate::ckan`): CKAN's envelope, with the status CKAN gives each
/// `__type` (404 not found, 403 authorisation, 409 validation, 400 an unknown action).
pub fn ckan_error(help: String, kind: &str, message: &str) -> Response {
    let status = match kind {
        "Not Found Error" => StatusCode::NOT_FOUND,
        "Authorization Error" => StatusCode::FORBIDDEN,
        "Validation Error" => StatusCode::CONFLICT,
        "Rate Limit Error" => StatusCode::TOO_MANY_REQUESTS,
        "Bad request" => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let body = json!({"help": help, "success": false, "error": {"__type": kind, "message": message}});
    (status, axum::Json(body)).into_response()
}
