//! The HTTP side of `pdp_app::objections`: its JSON API handlers and their OpenAPI description.

use crate::AppState;
use crate::auth::Principal;
use crate::error;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::extract::{Json, Path, Query};
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
pub use pdp_app::objections::*;
use pdp_domain::subject::ObjectionStatus;
use pdp_storage::Objection;
use std::sync::Arc;
use utoipa::OpenApi;

type S = State<Arc<AppState>>;

type P = Extension<Principal>;

#[derive(OpenApi)]
#[openapi(
    paths(raise, list, get_one, answer, put_evidence, get_evidence),
    components(schemas(ObjectionInput, ObjectionOut, AnswerInput, Objection)),
    tags((name = "objections", description = "Objections to records, answered within 10 working days"))
)]
pub struct ObjectionsDoc;

/// Raises an objection to one value of one record; the provider must answer within 10
/// working days.
#[utoipa::path(post, path = "/api/v1/objections", tag = "objections", request_body = ObjectionInput,
    responses((status = 200, body = ObjectionOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn raise(
    State(state): S,
    Extension(p): P,
    Json(body): Json<ObjectionInput>,
) -> Result<Json<ObjectionOut>, ApiError> {
    let input = body;
    Ok(Json(do_raise(&state, &p, &input).await?))
}

/// Objections the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/objections", tag = "objections", params(ListParams),
    responses((status = 200, body = Vec<ObjectionOut>)))]
pub async fn list(
    State(state): S,
    Extension(p): P,
    Query(q): Query<ListParams>,
) -> Result<Json<Vec<ObjectionOut>>, ApiError> {
    Ok(Json(do_list(&state, &p, &q).await?))
}

/// One objection with its outcome.
#[utoipa::path(get, path = "/api/v1/objections/{id}", tag = "objections", params(("id" = i64, Path)),
    responses((status = 200, body = ObjectionOut), (status = 404, body = ErrorBody)))]
pub async fn get_one(State(state): S, Extension(p): P, Path(id): Path<i64>) -> Result<Json<ObjectionOut>, ApiError> {
    Ok(Json(do_get(&state, &p, id).await?))
}

/// The provider answers: confirms the value, or corrects it (a new dataset version that names
/// the objection).
#[utoipa::path(post, path = "/api/v1/objections/{id}/answer", tag = "objections", params(("id" = i64, Path)),
    request_body = AnswerInput,
    responses((status = 200, body = ObjectionOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn answer(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<AnswerInput>,
) -> Result<Json<ObjectionOut>, ApiError> {
    let input = body;
    Ok(Json(do_answer(&state, &p, id, &input).await?))
}

/// Attaches an evidence file (the request body, at most 5 MB) to the caller's open objection.
#[utoipa::path(put, path = "/api/v1/objections/{id}/evidence", tag = "objections",
    params(("id" = i64, Path), EvidenceParams),
    request_body(content = String, content_type = "application/octet-stream"),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn put_evidence(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Query(q): Query<EvidenceParams>,
    body: Body,
) -> Result<Response, ApiError> {
    let o = state.storage.get_objection(id).await?.ok_or_else(|| AppError::not_found(&format!("objection {id}")))?;
    if o.raised_by != p.user.id {
        return Err(ApiError(AppError::not_found(&format!("objection {id}"))));
    }
    if o.status != ObjectionStatus::Open {
        return Err(ApiError(AppError::conflict(
            "objection_closed",
            "该异议已答复",
            "the objection has been answered",
        )));
    }
    let bytes = axum::body::to_bytes(body, MAX_EVIDENCE_BYTES).await.map_err(|_| {
        AppError::new(
            crate::error::ErrorKind::TooLarge,
            "evidence_too_large",
            "证明材料不能超过 5 MB",
            "the evidence file must be at most 5 MB",
        )
    })?;
    if bytes.is_empty() {
        return Err(ApiError(AppError::bad_request("evidence_empty", "证明材料为空", "the evidence file is empty")));
    }
    let name: String = q
        .filename
        .unwrap_or_else(|| "evidence".into())
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '/' | '\\' | '"'))
        .take(200)
        .collect();
    let mut ev = p.event("objection.evidence", "");
    ev.purpose = format!("name={name} bytes={}", bytes.len());
    state.storage.set_objection_evidence(id, &name, &bytes, ev).await?;
    Ok(error::no_content())
}

/// Downloads an objection's evidence (raiser, provider, authority; audited).
#[utoipa::path(get, path = "/api/v1/objections/{id}/evidence", tag = "objections", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = ErrorBody)))]
pub async fn get_evidence(State(state): S, Extension(p): P, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let o = state.storage.get_objection(id).await?.ok_or_else(|| AppError::not_found(&format!("objection {id}")))?;
    if !may_see(&state, &p, &o).await? {
        return Err(ApiError(AppError::not_found(&format!("objection {id}"))));
    }
    let (name, content) = state
        .storage
        .get_objection_evidence(id)
        .await?
        .ok_or_else(|| AppError::not_found(&format!("evidence of objection {id}")))?;
    state.audit.append(p.event("objection.evidence.read", &format!("objection:{id}"))).await?;
    let mut resp = content.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    // The name was cleaned of quotes and control characters when stored; non-ASCII names are
    // sent percent-encoded (RFC 6266).
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{encoded}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
