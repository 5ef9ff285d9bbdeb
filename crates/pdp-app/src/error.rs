//! The errors of the use cases: what went wrong, in words a caller can show, and of which kind.
//!
//! Every error has a stable machine-readable `code`, a message in Chinese and in English, and
//! an [`ErrorKind`]. The kind says what sort of failure it is (the input, the caller's rights,
//! the object's state, the platform); the HTTP layer maps each kind to a status in one place,
//! and the command line prints the message.

use pdp_domain::Localized;
use pdp_domain::catalog::Violation;
use pdp_interchange::ImportIssue;
use pdp_storage::StorageError;
use serde::{Deserialize, Serialize};

/// What sort of failure an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input breaks a rule or cannot be read.
    Invalid,
    /// The caller is not signed in, or its credentials are not valid.
    Unauthenticated,
    /// The caller may not do this: a role, a scope, a duty or an object it does not own.
    Forbidden,
    /// The object does not exist, or the caller may not know that it does.
    NotFound,
    /// The object existed and was taken away for good (a withdrawn release's identifier).
    Gone,
    /// The object is not in a state that allows the action (someone acted first).
    Conflict,
    /// The input is larger than a configured bound.
    TooLarge,
    /// The caller has asked too often.
    TooMany,
    /// The platform does not offer this operation.
    Unsupported,
    /// A part the action needs is not available now; trying later may work.
    Unavailable,
    /// The platform failed; the details are in the server log.
    Internal,
}

impl ErrorKind {
    /// The error's `type` as the API reports it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Unauthenticated | Self::Forbidden | Self::TooMany => "auth",
            Self::NotFound | Self::Gone => "not_found",
            Self::Invalid | Self::Conflict | Self::TooLarge => "invalid_request",
            Self::Unsupported | Self::Unavailable | Self::Internal => "internal",
        }
    }
}

/// A failed use case.
#[derive(Debug, Clone)]
pub struct AppError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub zh: String,
    pub en: String,
    /// Every broken rule behind the error, for inputs that are checked as a whole (an entry,
    /// an import file).
    pub details: Vec<ViolationOut>,
}

/// One broken rule, as the platform reports it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ViolationOut {
    pub code: String,
    /// The offending input, e.g. `share.legal_basis` or `fields[2].purpose`.
    pub path: String,
    pub message_zh: String,
    pub message_en: String,
    /// For imports: the spreadsheet row (the header is row 1) and column header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
}

impl From<&Violation> for ViolationOut {
    fn from(v: &Violation) -> Self {
        Self {
            code: v.code.clone(),
            path: v.path.clone(),
            message_zh: v.message_zh.clone(),
            message_en: v.message_en.clone(),
            row: None,
            column: None,
        }
    }
}

impl From<&ImportIssue> for ViolationOut {
    fn from(v: &ImportIssue) -> Self {
        Self {
            code: v.code.clone(),
            path: v.path.clone(),
            message_zh: v.message_zh.clone(),
            message_en: v.message_en.clone(),
            row: Some(v.row),
            column: Some(v.column.clone()),
        }
    }
}

impl AppError {
    pub fn new(kind: ErrorKind, code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self { kind, code, zh: zh.into(), en: en.into(), details: Vec::new() }
    }

    pub fn with_details(mut self, details: Vec<ViolationOut>) -> Self {
        self.details = details;
        self
    }

    /// The input breaks a rule or cannot be read.
    pub fn bad_request(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, code, zh, en)
    }

    /// The caller may not do this (a scope, a duty, a state it does not own).
    pub fn not_allowed(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, code, zh, en)
    }

    /// The object is not in a state that allows it (someone acted first).
    pub fn conflict(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, zh, en)
    }

    /// The platform failed; details belong in the server log, not in the message.
    pub fn internal(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, code, zh, en)
    }

    /// A part the action needs is not available now.
    pub fn unavailable(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, code, zh, en)
    }

    /// The input is larger than the bound named in the message.
    pub fn too_large(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(ErrorKind::TooLarge, code, zh, en)
    }

    /// The caller has asked too often.
    pub fn too_many(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(ErrorKind::TooMany, code, zh, en)
    }

    pub fn unauthenticated() -> Self {
        Self::new(ErrorKind::Unauthenticated, "unauthenticated", "请先登录", "authentication required")
    }

    pub fn forbidden() -> Self {
        Self::new(ErrorKind::Forbidden, "permission_denied", "无权执行此操作", "permission denied")
    }

    pub fn gone(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(ErrorKind::Gone, code, zh, en)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorKind::NotFound, "not_found", format!("未找到：{what}"), format!("not found: {what}"))
    }

    pub fn audit_unavailable() -> Self {
        Self::new(
            ErrorKind::Unavailable,
            "audit_unavailable",
            "审计日志无法写入，操作未执行",
            "the audit log cannot be written, so the action was not performed",
        )
    }

    /// A domain rule failure, with its own code and messages.
    pub fn domain(e: &impl Localized) -> Self {
        Self::new(ErrorKind::Invalid, e.code(), e.message_zh(), e.message_en())
    }

    /// `中文 / English`.
    pub fn message(&self) -> String {
        format!("{} / {}", self.zh, self.en)
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} / {}", self.code, self.zh, self.en)
    }
}

impl std::error::Error for AppError {}

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound(what) => Self::not_found(&what),
            StorageError::Conflict(why) => Self::conflict(
                "conflict",
                format!("与已有记录冲突：{why}"),
                format!("conflicts with an existing record: {why}"),
            ),
            StorageError::Backend(why) => {
                // The details stay in the server log; the caller learns only that it failed.
                tracing::error!(error = %why, "storage failure");
                Self::internal("storage_error", "存储故障，请稍后重试", "storage failure, try again later")
            }
        }
    }
}

impl From<pdp_audit::appender::AppendError> for AppError {
    fn from(e: pdp_audit::appender::AppendError) -> Self {
        tracing::error!(error = %e, "audit append failed; refusing the action");
        Self::audit_unavailable()
    }
}

impl From<pdp_lake::LakeError> for AppError {
    fn from(e: pdp_lake::LakeError) -> Self {
        use pdp_lake::LakeError;
        let kind = match &e {
            LakeError::Io(_) | LakeError::Delta(_) => ErrorKind::Internal,
            LakeError::Empty | LakeError::NoSuchVersion(_) => ErrorKind::NotFound,
            LakeError::SchemaChanged(_) => ErrorKind::Conflict,
            _ => ErrorKind::Invalid,
        };
        if kind == ErrorKind::Internal {
            // The detail names files and directories of the server: it goes to the log, and
            // the caller gets the code alone.
            tracing::error!(error = %e, "data lake failure");
            return AppError::new(
                kind,
                e.code(),
                "数据湖内部错误，已记录日志，请联系平台管理员",
                "internal data lake error; it is logged, contact the platform administrator",
            );
        }
        let details = match &e {
            LakeError::Invalid(rows) => rows
                .iter()
                .flat_map(|r| {
                    r.errors.iter().map(move |er| ViolationOut {
                        code: er.rule.clone(),
                        path: format!("row {} {}", r.row, er.field),
                        message_zh: er.message_zh.clone(),
                        message_en: er.message_en.clone(),
                        row: Some(r.row as usize),
                        column: (!er.field.is_empty()).then(|| er.field.clone()),
                    })
                })
                .collect(),
            _ => vec![],
        };
        AppError::new(kind, e.code(), e.message_zh(), e.message_en()).with_details(details)
    }
}
