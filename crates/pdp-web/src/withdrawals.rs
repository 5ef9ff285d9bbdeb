//! The HTTP side of `pdp_app::withdrawals`: its JSON API handlers and their OpenAPI description.

use crate::AppState;
use crate::auth::Principal;
use crate::error;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::extract::{Form, Json, Path};
use crate::layout::ReasonForm;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
pub use pdp_app::withdrawals::*;
use pdp_storage::{Withdrawal, WithdrawalEffects};
use std::sync::Arc;
use utoipa::OpenApi;

type S = State<Arc<AppState>>;

type P = Extension<Principal>;

#[derive(OpenApi)]
#[openapi(
    paths(request, list, approve, reject),
    components(schemas(WithdrawalInput, WithdrawalOut, DecisionInput, Withdrawal, WithdrawalEffects)),
    tags((name = "catalog", description = "The resource catalog"))
)]
pub struct WithdrawalsDoc;

/// Asks to withdraw a published entry; the answer lists the grants approval would revoke and
/// the requests it would refuse.
#[utoipa::path(post, path = "/api/v1/catalog/entries/{id}/withdrawal", tag = "catalog", params(("id" = i64, Path)),
    request_body = WithdrawalInput,
    responses((status = 201, body = WithdrawalOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn request(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<WithdrawalInput>,
) -> Result<Response, ApiError> {
    let input = body;
    Ok(error::created(Json(do_request(&state, &p, id, &input.reason).await?)))
}

/// `POST /catalog/entries/{id}/withdrawal` from the entry's page.
pub async fn request_submit(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<ReasonForm>,
) -> crate::layout::Page {
    do_request(&state, &p, id, &f.reason).await?;
    crate::layout::see_other(&format!("/catalog/entries/{id}?ok=withdrawal"))
}

/// `POST /catalog/withdrawals/{id}/approve|reject` from the entry's page.
pub async fn decide_submit(
    State(state): S,
    Extension(p): P,
    Path((id, action)): Path<(i64, String)>,
    Form(f): Form<ReasonForm>,
) -> crate::layout::Page {
    let w = match action.as_str() {
        "approve" | "reject" => do_decide(&state, &p, id, action == "approve", &f.reason).await?,
        _ => return Err(AppError::not_found(&format!("withdrawal action {action}")).into()),
    };
    crate::layout::see_other(&format!("/catalog/entries/{}?ok={}", w.w.entry_id, w.w.status.as_str()))
}

#[utoipa::path(get, path = "/api/v1/catalog/withdrawals", tag = "catalog",
    responses((status = 200, body = Vec<WithdrawalOut>)))]
pub async fn list(State(state): S, Extension(p): P) -> Result<Json<Vec<WithdrawalOut>>, ApiError> {
    Ok(Json(do_list(&state, &p).await?))
}

#[utoipa::path(post, path = "/api/v1/catalog/withdrawals/{id}/approve", tag = "catalog", params(("id" = i64, Path)),
    request_body = DecisionInput,
    responses((status = 200, body = WithdrawalOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn approve(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<DecisionInput>,
) -> Result<Json<WithdrawalOut>, ApiError> {
    Ok(Json(do_decide(&state, &p, id, true, &body.reason).await?))
}

#[utoipa::path(post, path = "/api/v1/catalog/withdrawals/{id}/reject", tag = "catalog", params(("id" = i64, Path)),
    request_body = DecisionInput,
    responses((status = 200, body = WithdrawalOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reject(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<DecisionInput>,
) -> Result<Json<WithdrawalOut>, ApiError> {
    Ok(Json(do_decide(&state, &p, id, false, &body.reason).await?))
}
