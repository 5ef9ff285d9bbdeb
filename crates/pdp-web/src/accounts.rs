//! An account's own password, and the administrator's hold on accounts: disabling one and ending
//! its sessions. The platform administrator creates accounts but never knows a password in use:
//! an account created by someone else must choose its own password before anything else
//! (`User::must_change_password`, enforced by the gate), and nobody acts on their own account
//! here (an administrator who disabled themselves could not undo it).

use std::sync::Arc;

use axum::Extension;
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::AppState;
use crate::auth::{self, Principal};
use crate::catalog::{json_or, path_or};
use crate::error::{ApiError, AppError, ErrorBody};
use crate::i18n::Lang;
use crate::pages::{Page, csrf, field, page, see_other};

type S = State<Arc<AppState>>;
type P = Extension<Principal>;

#[derive(OpenApi)]
#[openapi(
    paths(change_password, set_disabled, end_sessions),
    components(schemas(PasswordInput, DisableInput, SessionsEnded)),
    tags((name = "identity", description = "Accounts, roles and API keys"))
)]
pub struct AccountsDoc;

/// The paths an account that must change its password may still use.
pub fn allowed_before_password_change(path: &str) -> bool {
    matches!(path, "/account/password" | "/api/v1/me/password" | "/logout" | "/api/v1/me" | "/static/{file}")
}

/// A new password, proven by the current one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordInput {
    pub current: String,
    /// At least 12 characters with letters and digits, not the current one.
    pub new: String,
}

/// Changes the caller's own password. The current password is checked (argon2, off the async
/// workers) even for an account that must change it, so a stolen session cannot take the
/// account over.
pub async fn do_change_password(state: &AppState, p: &Principal, input: &PasswordInput) -> Result<(), AppError> {
    if input.current.len() > 1024 || input.new.len() > 1024 {
        return Err(AppError::bad_request("weak_password", "密码过长", "the password is too long"));
    }
    let (current, hash) = (input.current.clone(), p.user.password_hash.clone());
    if !crate::limits::on_cpu(state, move || auth::verify_password(&current, &hash)).await? {
        let ev =
            p.event("user.password.change", &format!("user:{}", p.user.id)).with_outcome(pdp_audit::Outcome::Denied);
        state.audit.append(ev).await?;
        return Err(AppError::not_allowed("wrong_password", "当前密码不正确", "the current password is wrong"));
    }
    auth::check_password_policy(&input.new)?;
    if input.new == input.current {
        return Err(AppError::bad_request("password_unchanged", "新密码不能与当前密码相同", "choose a new password"));
    }
    let new = input.new.clone();
    let hash = crate::limits::on_cpu(state, move || auth::hash_password(&new))
        .await?
        .map_err(|e| AppError::internal("hash_failed", "密码处理失败", format!("hashing failed: {e}")))?;
    state.storage.set_password(p.user.id, &hash, false, p.event("user.password.change", "")).await?;
    Ok(())
}

/// Changes the caller's own password.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "identity", request_body = PasswordInput,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn change_password(
    State(state): S,
    Extension(p): P,
    body: Result<Json<PasswordInput>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    do_change_password(&state, &p, &json_or(body)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn not_self(p: &Principal, id: i64) -> Result<(), AppError> {
    if p.user.id == id {
        return Err(AppError::not_allowed(
            "self_account",
            "不能停用自己的账号或结束自己的会话（请退出登录）",
            "you cannot disable your own account or end your own sessions (log out instead)",
        ));
    }
    Ok(())
}

/// Whether an account is disabled, and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableInput {
    pub disabled: bool,
    pub reason: String,
}

/// Disables (ending its sessions; its API keys stop working) or enables an account.
#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "identity", params(("id" = i64, Path)),
    request_body = DisableInput,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_disabled(
    State(state): S,
    Extension(p): P,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<DisableInput>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let id = path_or(id)?;
    do_set_disabled(&state, &p, id, &json_or(body)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn do_set_disabled(state: &AppState, p: &Principal, id: i64, input: &DisableInput) -> Result<(), AppError> {
    not_self(p, id)?;
    let reason = input.reason.trim();
    if reason.is_empty() {
        return Err(AppError::bad_request("reason_required", "请说明理由", "give a reason"));
    }
    let mut ev = p.event(if input.disabled { "user.disable" } else { "user.enable" }, "");
    ev.purpose = reason.into();
    state.storage.set_disabled(id, input.disabled, ev).await?;
    Ok(())
}

/// How many sessions were ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsEnded {
    pub ended: u64,
}

/// Signs an account out everywhere: every login of it ends, and it must log in again.
#[utoipa::path(post, path = "/api/v1/users/{id}/sessions/end", tag = "identity", params(("id" = i64, Path)),
    responses((status = 200, body = SessionsEnded), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn end_sessions(
    State(state): S,
    Extension(p): P,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<SessionsEnded>, ApiError> {
    Ok(Json(do_end_sessions(&state, &p, path_or(id)?).await?))
}

pub async fn do_end_sessions(state: &AppState, p: &Principal, id: i64) -> Result<SessionsEnded, AppError> {
    not_self(p, id)?;
    state.storage.get_user(id).await?.ok_or_else(|| AppError::not_found(&format!("user:{id}")))?;
    let ended = state.storage.end_sessions(id, p.event("user.sessions.end", "")).await?;
    Ok(SessionsEnded { ended })
}

/// `POST /users/{id}/disable` from the users page (`disabled` = `true` or `false`).
pub async fn disable_submit(State(state): S, Extension(p): P, Path(id): Path<i64>, body: String) -> Page {
    let input = DisableInput { disabled: field(&body, "disabled") == "true", reason: field(&body, "reason") };
    let r = do_set_disabled(&state, &p, id, &input).await;
    r.and_then(|()| see_other(&format!("/users?ok=user-{id}"))).into()
}

/// `POST /users/{id}/sessions/end` from the users page.
pub async fn end_sessions_submit(State(state): S, Extension(p): P, Path(id): Path<i64>) -> Page {
    let r = do_end_sessions(&state, &p, id).await;
    r.and_then(|e| see_other(&format!("/users?ok=sessions-{}", e.ended))).into()
}

fn password_form(lang: Lang, p: &Principal, error: Option<&AppError>) -> Result<Response, AppError> {
    let status = error.map(|e| crate::error::status_of(e.kind)).unwrap_or(StatusCode::OK);
    let mut res = page(
        lang,
        Some(p),
        "/account/password",
        lang.t("修改密码", "Change password"),
        html! {
            section.card {
                @if p.user.must_change_password {
                    div.notice.warn role="alert" #must-change {
                        (lang.t("您的密码由管理员设置，请先设置自己的密码。", "An administrator set your password: choose your own first."))
                    }
                }
                @if let Some(e) = error { div.notice.bad role="alert" { (lang.t(&e.zh, &e.en)) } }
                form method="post" action="/account/password" #password-form {
                    (csrf(p))
                    p { label { (lang.t("当前密码", "Current password")) input name="current" type="password" autocomplete="current-password" required; } }
                    p { label { (lang.t("新密码（至少 12 位，含字母和数字）", "New password (12+ characters, letters and digits)")) input name="new" type="password" autocomplete="new-password" required; } }
                    p { button type="submit" { (lang.t("保存", "Save")) } }
                }
            }
        },
    )?;
    *res.status_mut() = status;
    Ok(res)
}

pub async fn password_page(headers: HeaderMap, Extension(p): P) -> Page {
    password_form(Lang::from_headers(&headers), &p, None).into()
}

pub async fn password_submit(State(state): S, headers: HeaderMap, Extension(p): P, body: String) -> Page {
    let lang = Lang::from_headers(&headers);
    let input = PasswordInput { current: field(&body, "current"), new: field(&body, "new") };
    match do_change_password(&state, &p, &input).await {
        Ok(()) => see_other("/?ok=password").into(),
        Err(e) if crate::error::status_of(e.kind).is_client_error() => password_form(lang, &p, Some(&e)).into(),
        Err(e) => Page::from(Err(e)),
    }
}
