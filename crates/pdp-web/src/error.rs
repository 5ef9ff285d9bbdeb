//! The one place where errors become HTTP responses.
//!
//! Every error a client can see has a stable `code`, a `message` in Chinese and English, and a
//! `type` (`invalid_request`, `auth`, `not_found`, `internal`), as in meilisearch. API routes get
//! JSON; pages get the same facts rendered as HTML by [`crate::pages`].

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pdp_domain::Localized;
use pdp_storage::StorageError;
use serde::Serialize;

/// An error on its way to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub zh: String,
    pub en: String,
    /// Every broken rule behind the error, for inputs that are checked as a whole (an entry,
    /// an import file).
    pub details: Vec<crate::catalog::ViolationOut>,
}

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
    pub details: Vec<crate::catalog::ViolationOut>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self { status, code, zh: zh.into(), en: en.into(), details: Vec::new() }
    }

    pub fn with_details(mut self, details: Vec<crate::catalog::ViolationOut>) -> Self {
        self.details = details;
        self
    }

    /// 403: the caller may not do this (a scope, a duty, a state it does not own).
    pub fn not_allowed(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, zh, en)
    }

    /// 409: the object is not in a state that allows it (someone acted first).
    pub fn conflict(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, zh, en)
    }

    /// 500: the platform failed; details belong in the server log, not in the message.
    pub fn internal(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, code, zh, en)
    }

    /// 503: a part the action needs is not available now.
    pub fn unavailable(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, zh, en)
    }

    pub fn bad_request(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, zh, en)
    }

    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "请先登录", "authentication required")
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "permission_denied", "无权执行此操作", "permission denied")
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("未找到：{what}"), format!("not found: {what}"))
    }

    pub fn audit_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "audit_unavailable",
            "审计日志无法写入，操作未执行",
            "the audit log cannot be written, so the action was not performed",
        )
    }

    /// A domain rule failure, with its own code and messages.
    pub fn domain(e: &impl Localized) -> Self {
        Self::new(StatusCode::BAD_REQUEST, e.code(), e.message_zh(), e.message_en())
    }

    pub fn kind(&self) -> &'static str {
        match self.status.as_u16() {
            401 | 403 | 429 => "auth",
            404 => "not_found",
            400..=499 => "invalid_request",
            _ => "internal",
        }
    }

    pub fn message(&self) -> String {
        format!("{} / {}", self.zh, self.en)
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code.into(),
            message: self.message(),
            message_zh: self.zh.clone(),
            message_en: self.en.clone(),
            kind: self.kind().into(),
            details: self.details.clone(),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound(what) => Self::not_found(&what),
            StorageError::Conflict(why) => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("与已有记录冲突：{why}"),
                format!("conflicts with an existing record: {why}"),
            ),
            StorageError::Backend(why) => {
                // The details stay in the server log; the client learns only that it failed.
                tracing::error!(error = %why, "storage failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "storage_error",
                    "存储故障，请稍后重试",
                    "storage failure, try again later",
                )
            }
        }
    }
}

impl From<pdp_audit::appender::AppendError> for ApiError {
    fn from(e: pdp_audit::appender::AppendError) -> Self {
        tracing::error!(error = %e, "audit append failed; refusing the action");
        Self::audit_unavailable()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

/// Maps an extractor rejection (bad JSON, bad query, bad path) to a bilingual 400.
/// A body extractor's rejection: past the body limit a 413 that names the limit's key, else
/// a malformed request.
pub fn body_rejection(status: StatusCode, e: impl std::fmt::Display) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "请求体超过上限（limits.body_bytes）",
            "the request body is larger than the limit (limits.body_bytes)",
        );
    }
    rejection(e)
}

pub fn rejection(e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request("invalid_input", format!("请求格式错误：{e}"), format!("malformed request: {e}"))
}
