//! The HTTP side of `pdp_app::accounts`: its JSON API handlers and their OpenAPI description.

use crate::AppState;
use crate::auth::Principal;
use crate::error;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::extract::{Form, Json, Path};
use crate::i18n::Lang;
use crate::layout::{Page, csrf, page, see_other};
use axum::Extension;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use maud::html;
pub use pdp_app::accounts::*;
use std::sync::Arc;
use utoipa::OpenApi;

type S = State<Arc<AppState>>;

type P = Extension<Principal>;

#[derive(OpenApi)]
#[openapi(
    paths(change_password, set_disabled, end_sessions),
    components(schemas(PasswordInput, DisableInput, SessionsEnded)),
    tags((name = "identity", description = "Accounts, roles and API keys"))
)]
pub struct AccountsDoc;

/// Changes the caller's own password.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "identity", request_body = PasswordInput,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn change_password(
    State(state): S,
    Extension(p): P,
    Json(body): Json<PasswordInput>,
) -> Result<Response, ApiError> {
    do_change_password(&state, &p, &body).await?;
    Ok(error::no_content())
}

/// Disables (ending its sessions; its API keys stop working) or enables an account.
#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "identity", params(("id" = i64, Path)),
    request_body = DisableInput,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_disabled(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<DisableInput>,
) -> Result<Response, ApiError> {
    do_set_disabled(&state, &p, id, &body).await?;
    Ok(error::no_content())
}

/// Signs an account out everywhere: every login of it ends, and it must log in again.
#[utoipa::path(post, path = "/api/v1/users/{id}/sessions/end", tag = "identity", params(("id" = i64, Path)),
    responses((status = 200, body = SessionsEnded), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn end_sessions(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
) -> Result<Json<SessionsEnded>, ApiError> {
    Ok(Json(do_end_sessions(&state, &p, id).await?))
}

/// `POST /users/{id}/disable` from the users page (`disabled` = `true` or `false`).
pub async fn disable_submit(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(input): Form<DisableInput>,
) -> Page {
    do_set_disabled(&state, &p, id, &input).await?;
    see_other(&format!("/users?ok=user-{id}"))
}

/// `POST /users/{id}/sessions/end` from the users page.
pub async fn end_sessions_submit(State(state): S, Extension(p): P, Path(id): Path<i64>) -> Page {
    let e = do_end_sessions(&state, &p, id).await?;
    see_other(&format!("/users?ok=sessions-{}", e.ended))
}

fn password_form(lang: Lang, p: &Principal, error: Option<&AppError>) -> Page {
    let status = error.map(|e| crate::error::status_of(e.kind)).unwrap_or_default();
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
    password_form(Lang::from_headers(&headers), &p, None)
}

pub async fn password_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Form(input): Form<PasswordInput>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    match do_change_password(&state, &p, &input).await {
        Ok(()) => see_other("/?ok=password"),
        Err(e) if crate::error::status_of(e.kind).is_client_error() => password_form(lang, &p, Some(&e)),
        Err(e) => Err(e.into()),
    }
}
