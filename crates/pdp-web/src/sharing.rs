//! The HTTP side of `pdp_app::sharing`: its JSON API handlers and their OpenAPI description.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path, Query};
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
pub use pdp_app::sharing::*;
use pdp_storage::{Grant, GrantUsage, RequestNote, Scenario, ShareRequest};
use std::sync::Arc;
use utoipa::OpenApi;

type S = State<Arc<AppState>>;

type P = Extension<Principal>;

#[derive(OpenApi)]
#[openapi(
    paths(
        list_scenarios, create_scenario, submit, list_requests, get_request, approve, refuse, withdraw, add_note,
        escalate, decide, list_grants, get_grant, suspend, resume, revoke, view, verify, statistics, export,
        export_parquet
    ),
    components(schemas(
        ScenarioInput, Scenario, RequestInput, RequestOut, ShareRequest, RequestNote, ApproveInput, ReasonInput,
        NoteInput, DecideInput, Grant, GrantOut, GrantUsage, DisputedValue, ViewInput, ViewOut, VerifyInput, VerifyOut, StatsInput, StatsOut,
        StatsCell
    )),
    tags((name = "sharing", description = "Sharing between organisations: requests, grants and the four share modes"))
)]
pub struct SharingDoc;

/// The scenario library.
#[utoipa::path(get, path = "/api/v1/share/scenarios", tag = "sharing",
    responses((status = 200, body = Vec<Scenario>)))]
pub async fn list_scenarios(State(state): S) -> Result<Json<Vec<Scenario>>, ApiError> {
    Ok(Json(state.storage.list_scenarios().await?))
}

/// Adds a scenario: requests within it are granted directly.
#[utoipa::path(post, path = "/api/v1/share/scenarios", tag = "sharing", request_body = ScenarioInput,
    responses((status = 200, body = Scenario), (status = 400, body = ErrorBody)))]
pub async fn create_scenario(
    State(state): S,
    Extension(p): P,
    Json(body): Json<ScenarioInput>,
) -> Result<Json<Scenario>, ApiError> {
    Ok(Json(do_create_scenario(&state, &p, &body).await?))
}

/// Submits a request. Unconditional data and requests within a scenario are granted at once;
/// conditional data goes to the provider (due in 10 working days); not-shared data opens a
/// negotiation.
#[utoipa::path(post, path = "/api/v1/share/requests", tag = "sharing", request_body = RequestInput,
    responses((status = 200, body = RequestOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn submit(
    State(state): S,
    Extension(p): P,
    Json(body): Json<RequestInput>,
) -> Result<Json<RequestOut>, ApiError> {
    Ok(Json(do_submit(&state, &p, &body).await?))
}

/// Requests the caller may see: its organisation's, both ways, and for the authority those of
/// its region.
#[utoipa::path(get, path = "/api/v1/share/requests", tag = "sharing", params(RequestListParams),
    responses((status = 200, body = Vec<RequestOut>)))]
pub async fn list_requests(
    State(state): S,
    Extension(p): P,
    Query(q): Query<RequestListParams>,
) -> Result<Json<Vec<RequestOut>>, ApiError> {
    Ok(Json(do_list_requests(&state, &p, &q).await?))
}

/// One request with its notes and grant.
#[utoipa::path(get, path = "/api/v1/share/requests/{id}", tag = "sharing", params(("id" = i64, Path)),
    responses((status = 200, body = RequestOut), (status = 404, body = ErrorBody)))]
pub async fn get_request(State(state): S, Extension(p): P, Path(id): Path<i64>) -> Result<Json<RequestOut>, ApiError> {
    Ok(Json(do_get_request(&state, &p, id).await?))
}

/// The provider approves, fixing fields, masking, row filters and expiry; the grant takes
/// effect at once.
#[utoipa::path(post, path = "/api/v1/share/requests/{id}/approve", tag = "sharing", params(("id" = i64, Path)),
    request_body = ApproveInput,
    responses((status = 200, body = RequestOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn approve(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<ApproveInput>,
) -> Result<Json<RequestOut>, ApiError> {
    Ok(Json(do_approve(&state, &p, id, &body).await?))
}

/// The provider refuses, with the reason the requester will read (R-SHR-03).
#[utoipa::path(post, path = "/api/v1/share/requests/{id}/refuse", tag = "sharing", params(("id" = i64, Path)),
    request_body = ReasonInput,
    responses((status = 200, body = RequestOut), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn refuse(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<ReasonInput>,
) -> Result<Json<RequestOut>, ApiError> {
    Ok(Json(do_refuse(&state, &p, id, &body.reason).await?))
}

/// The requester withdraws an open request.
#[utoipa::path(post, path = "/api/v1/share/requests/{id}/withdraw", tag = "sharing", params(("id" = i64, Path)),
    responses((status = 200, body = RequestOut), (status = 409, body = ErrorBody)))]
pub async fn withdraw(State(state): S, Extension(p): P, Path(id): Path<i64>) -> Result<Json<RequestOut>, ApiError> {
    Ok(Json(do_withdraw(&state, &p, id).await?))
}

/// Adds a negotiation note (either organisation, while the request is open).
#[utoipa::path(post, path = "/api/v1/share/requests/{id}/notes", tag = "sharing", params(("id" = i64, Path)),
    request_body = NoteInput,
    responses((status = 200, body = RequestNote), (status = 409, body = ErrorBody)))]
pub async fn add_note(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<NoteInput>,
) -> Result<Json<RequestNote>, ApiError> {
    Ok(Json(do_add_note(&state, &p, id, &body.body).await?))
}

/// Either organisation takes a failed negotiation, or a dispute about the share type, to the
/// authority (R-SHR-09).
#[utoipa::path(post, path = "/api/v1/share/requests/{id}/escalate", tag = "sharing", params(("id" = i64, Path)),
    request_body = ReasonInput,
    responses((status = 200, body = RequestOut), (status = 409, body = ErrorBody)))]
pub async fn escalate(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<ReasonInput>,
) -> Result<Json<RequestOut>, ApiError> {
    Ok(Json(do_escalate(&state, &p, id, &body.reason).await?))
}

/// The authority decides an escalated request, with its reasons recorded (R-SHR-09).
#[utoipa::path(post, path = "/api/v1/share/requests/{id}/decide", tag = "sharing", params(("id" = i64, Path)),
    request_body = DecideInput,
    responses((status = 200, body = RequestOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn decide(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<DecideInput>,
) -> Result<Json<RequestOut>, ApiError> {
    Ok(Json(do_decide(&state, &p, id, &body).await?))
}

/// Grants the caller may see (R-SHR-06): to or from its organisation, or of the authority's
/// region.
#[utoipa::path(get, path = "/api/v1/share/grants", tag = "sharing", params(GrantListParams),
    responses((status = 200, body = Vec<GrantOut>)))]
pub async fn list_grants(
    State(state): S,
    Extension(p): P,
    Query(q): Query<GrantListParams>,
) -> Result<Json<Vec<GrantOut>>, ApiError> {
    Ok(Json(do_list_grants(&state, &p, &q).await?))
}

/// One grant with its usage.
#[utoipa::path(get, path = "/api/v1/share/grants/{id}", tag = "sharing", params(("id" = i64, Path)),
    responses((status = 200, body = GrantOut), (status = 404, body = ErrorBody)))]
pub async fn get_grant(State(state): S, Extension(p): P, Path(id): Path<i64>) -> Result<Json<GrantOut>, ApiError> {
    Ok(Json(do_get_grant(&state, &p, id).await?))
}

/// Suspends a grant (provider or authority, with a reason); the next access is refused (R-SHR-13).
#[utoipa::path(post, path = "/api/v1/share/grants/{id}/suspend", tag = "sharing", params(("id" = i64, Path)),
    request_body = ReasonInput,
    responses((status = 200, body = GrantOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn suspend(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<ReasonInput>,
) -> Result<Json<GrantOut>, ApiError> {
    Ok(Json(do_change_grant(&state, &p, id, "suspend", &body.reason).await?))
}

/// Resumes a suspended grant (provider or authority, with a reason).
#[utoipa::path(post, path = "/api/v1/share/grants/{id}/resume", tag = "sharing", params(("id" = i64, Path)),
    request_body = ReasonInput,
    responses((status = 200, body = GrantOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn resume(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<ReasonInput>,
) -> Result<Json<GrantOut>, ApiError> {
    Ok(Json(do_change_grant(&state, &p, id, "resume", &body.reason).await?))
}

/// Revokes a grant for good (provider or authority, with a reason).
#[utoipa::path(post, path = "/api/v1/share/grants/{id}/revoke", tag = "sharing", params(("id" = i64, Path)),
    request_body = ReasonInput,
    responses((status = 200, body = GrantOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<ReasonInput>,
) -> Result<Json<GrantOut>, ApiError> {
    Ok(Json(do_change_grant(&state, &p, id, "revoke", &body.reason).await?))
}

/// View mode (查阅): records by identifier, paged, only granted fields, masked.
///
/// The key is posted in the body, never put in the URL: URLs end up in proxy and server logs.
#[utoipa::path(post, path = "/api/v1/share/grants/{id}/records", tag = "sharing", params(("id" = i64, Path)),
    request_body = ViewInput,
    responses((status = 200, body = ViewOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn view(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<ViewInput>,
) -> Result<RawJson, ApiError> {
    Ok(RawJson(do_view(&state, &p, id, &body).await?.into_body()))
}

/// Verify mode: match / no match per field for a key and claimed values; no data returned.
#[utoipa::path(post, path = "/api/v1/share/grants/{id}/verify", tag = "sharing", params(("id" = i64, Path)),
    request_body = VerifyInput,
    responses((status = 200, body = VerifyOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn verify(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<VerifyInput>,
) -> Result<RawJson, ApiError> {
    Ok(RawJson(do_verify(&state, &p, id, &body).await?.into_body()))
}

/// Statistics mode: counts, sums or averages by allowed dimensions; cells smaller than the
/// grant's minimum group are suppressed.
#[utoipa::path(post, path = "/api/v1/share/grants/{id}/statistics", tag = "sharing", params(("id" = i64, Path)),
    request_body = StatsInput,
    responses((status = 200, body = StatsOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn statistics(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<StatsInput>,
) -> Result<Json<StatsOut>, ApiError> {
    Ok(Json(do_statistics(&state, &p, id, &body).await?))
}

/// Bulk mode: every granted row and field as CSV, masked, streamed. The export's start is
/// recorded before the first byte leaves; its end (rows sent and the hash of everything sent)
/// when the last byte has.
#[utoipa::path(get, path = "/api/v1/share/grants/{id}/export.csv", tag = "sharing", params(("id" = i64, Path)),
    responses((status = 200, content_type = "text/csv"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export(State(state): S, Extension(p): P, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let chunks = do_export_csv(state.app.clone(), p, id).await?;
    let body = Body::from_stream(chunks);
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"grant-{id}.csv\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// Bulk mode as Parquet: the grant's own file (granted columns, filtered rows, masked, no column
/// statistics; the same file Delta Sharing serves), streamed. The start is recorded before the
/// first byte; the end, with the SHA-256 of everything sent, after the last.
#[utoipa::path(get, path = "/api/v1/share/grants/{id}/export.parquet", tag = "sharing", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/vnd.apache.parquet"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export_parquet(State(state): S, Extension(p): P, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let (stream, bytes) = do_export_parquet(state.app.clone(), p, id).await?;
    let mut resp = Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.apache.parquet"));
    if let Ok(v) = HeaderValue::from_str(&bytes.to_string()) {
        h.insert(header::CONTENT_LENGTH, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"grant-{id}.parquet\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// JSON already written: an access-path answer is sent as the very bytes whose hash the
/// exchange log recorded.
pub struct RawJson(pub Vec<u8>);

impl IntoResponse for RawJson {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], self.0).into_response()
    }
}
