//! The HTTP side of `pdp_app::share_ops`: its JSON API handlers and their OpenAPI description.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::extract::{Json, Path};
use axum::Extension;
use axum::extract::State;
use pdp_app::clock::offset;
pub use pdp_app::share_ops::*;
use pdp_domain::roles::Permission;
use pdp_storage::{Demand, Emergency, UpwardRequest, UsageReport};
use std::sync::Arc;
use utoipa::OpenApi;

type S = State<Arc<AppState>>;

type P = Extension<Principal>;

#[derive(OpenApi)]
#[openapi(
    paths(list_emergencies, declare, end_emergency, list_demands, create_demand, assign_demand, answer_demand,
          list_reports, file_report, reports_due, list_upward, create_upward, forward_upward, upward_batch,
          upward_outcome),
    components(schemas(EmergencyInput, EndInput, EmergencyOut, Emergency, DemandInput, AssignInput, DemandAnswer, DemandOut, Demand,
                       ReportInput, UsageReport, ReportDue, UpwardInput, UpwardOut, UpwardRequest, ForwardOut,
                       OutcomeInput)),
    tags((name = "sharing", description = "Sharing between organisations: requests, grants and the four share modes"))
)]
pub struct ShareOpsDoc;

/// Emergencies, current and past.
#[utoipa::path(get, path = "/api/v1/share/emergencies", tag = "sharing", responses((status = 200, body = Vec<EmergencyOut>)))]
pub async fn list_emergencies(State(state): S) -> Result<Json<Vec<EmergencyOut>>, ApiError> {
    Ok(Json(do_list_emergencies(&state).await?))
}

/// The authority declares an emergency: until its end, requests by the named organisations for
/// the named entries are routed as if the entries were shared at `raise_to`; grants made under
/// it serve only while it lasts, and every access under them is marked.
#[utoipa::path(post, path = "/api/v1/share/emergencies", tag = "sharing", request_body = EmergencyInput,
    responses((status = 200, body = EmergencyOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn declare(
    State(state): S,
    Extension(p): P,
    Json(body): Json<EmergencyInput>,
) -> Result<Json<EmergencyOut>, ApiError> {
    Ok(Json(do_declare(&state, &p, &body).await?))
}

/// Ends an emergency before its end time; its grants stop serving at once.
#[utoipa::path(post, path = "/api/v1/share/emergencies/{id}/end", tag = "sharing", params(("id" = i64, Path)),
    request_body = EndInput,
    responses((status = 200, body = EmergencyOut), (status = 409, body = ErrorBody)))]
pub async fn end_emergency(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<EndInput>,
) -> Result<Json<EmergencyOut>, ApiError> {
    Ok(Json(do_end(&state, &p, id, &body.reason).await?))
}

/// The demand list (R-SHR-11).
#[utoipa::path(get, path = "/api/v1/share/demands", tag = "sharing", responses((status = 200, body = Vec<DemandOut>)))]
pub async fn list_demands(State(state): S, Extension(p): P) -> Result<Json<Vec<DemandOut>>, ApiError> {
    Ok(Json(do_list_demands(&state, &p).await?))
}

/// Asks for data that no catalog entry provides; the authority coordinates.
#[utoipa::path(post, path = "/api/v1/share/demands", tag = "sharing", request_body = DemandInput,
    responses((status = 200, body = DemandOut), (status = 400, body = ErrorBody)))]
pub async fn create_demand(
    State(state): S,
    Extension(p): P,
    Json(body): Json<DemandInput>,
) -> Result<Json<DemandOut>, ApiError> {
    Ok(Json(do_create_demand(&state, &p, &body).await?))
}

/// The authority assigns a demand to a provider (or declines it with a reason).
#[utoipa::path(post, path = "/api/v1/share/demands/{id}/assign", tag = "sharing", params(("id" = i64, Path)),
    request_body = AssignInput,
    responses((status = 200, body = DemandOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn assign_demand(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<AssignInput>,
) -> Result<Json<DemandOut>, ApiError> {
    Ok(Json(do_assign(&state, &p, id, &body).await?))
}

/// The assigned provider names the published entry that meets the demand, or declines it.
#[utoipa::path(post, path = "/api/v1/share/demands/{id}/answer", tag = "sharing", params(("id" = i64, Path)),
    request_body = DemandAnswer,
    responses((status = 200, body = DemandOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn answer_demand(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<DemandAnswer>,
) -> Result<Json<DemandOut>, ApiError> {
    Ok(Json(do_answer(&state, &p, id, &body).await?))
}

/// Reports of a grant the reader may see.
#[utoipa::path(get, path = "/api/v1/share/grants/{id}/reports", tag = "sharing", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<UsageReport>), (status = 404, body = ErrorBody)))]
pub async fn list_reports(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
) -> Result<Json<Vec<UsageReport>>, ApiError> {
    pdp_app::sharing::do_get_grant(&state, &p, id).await?;
    Ok(Json(state.storage.list_usage_reports(Some(id)).await?))
}

/// The user organisation files a usage report for a grant (R-SHR-13).
#[utoipa::path(post, path = "/api/v1/share/grants/{id}/reports", tag = "sharing", params(("id" = i64, Path)),
    request_body = ReportInput,
    responses((status = 200, body = UsageReport), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn file_report(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<ReportInput>,
) -> Result<Json<UsageReport>, ApiError> {
    Ok(Json(do_file_report(&state, &p, id, &body).await?))
}

/// Usage-report deadlines; overdue reports come first (R-SHR-13).
#[utoipa::path(get, path = "/api/v1/share/reports/due", tag = "sharing", responses((status = 200, body = Vec<ReportDue>)))]
pub async fn reports_due(State(state): S, Extension(p): P) -> Result<Json<Vec<ReportDue>>, ApiError> {
    Ok(Json(do_reports_due(&state, &p).await?))
}

/// Upward requests and their state.
#[utoipa::path(get, path = "/api/v1/share/upward", tag = "sharing", responses((status = 200, body = Vec<UpwardOut>)))]
pub async fn list_upward(State(state): S, Extension(p): P) -> Result<Json<Vec<UpwardOut>>, ApiError> {
    Ok(Json(do_list_upward(&state, &p).await?))
}

/// An organisation asks for data held at provincial or national level; the city authority
/// collects such requests and forwards them.
#[utoipa::path(post, path = "/api/v1/share/upward", tag = "sharing", request_body = UpwardInput,
    responses((status = 200, body = UpwardOut), (status = 400, body = ErrorBody)))]
pub async fn create_upward(
    State(state): S,
    Extension(p): P,
    Json(body): Json<UpwardInput>,
) -> Result<Json<UpwardOut>, ApiError> {
    Ok(Json(do_create_upward(&state, &p, &body).await?))
}

/// The authority forwards every collected upward request as one batch (then exports it with
/// `GET /api/v1/share/upward/batches/{batch}` for the provincial platform).
#[utoipa::path(post, path = "/api/v1/share/upward/forward", tag = "sharing", responses((status = 200, body = ForwardOut), (status = 403, body = ErrorBody)))]
pub async fn forward_upward(State(state): S, Extension(p): P) -> Result<Json<ForwardOut>, ApiError> {
    Ok(Json(do_forward(&state, &p).await?))
}

/// One forwarding batch as CSV (UTF-8 with BOM, for spreadsheet tools), the form in which the
/// city sends it up.
#[utoipa::path(get, path = "/api/v1/share/upward/batches/{batch}", tag = "sharing", params(("batch" = String, Path)),
    responses((status = 200, content_type = "text/csv"), (status = 404, body = ErrorBody)))]
pub async fn upward_batch(
    State(state): S,
    Extension(p): P,
    Path(batch): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    if !p.allows(Permission::GovernData) {
        return Err(only_authority().into());
    }
    pdp_app::sources::city_authority(&state, &p).await?;
    let rows: Vec<UpwardOut> =
        do_list_upward(&state, &p).await?.into_iter().filter(|u| u.u.batch == batch).rev().collect();
    if rows.is_empty() {
        return Err(AppError::not_found(&format!("batch {batch}")).into());
    }
    let mut out = String::from("\u{feff}编号,申请单位,申请人,数据层级,数据持有单位,所需数据,用途,法律依据,提出时间\n");
    for u in &rows {
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(u.u.created_at_micros) * 1000)
            .map(|t| t.to_offset(offset()).date().to_string())
            .unwrap_or_default();
        let cells = [
            u.u.id.to_string(),
            u.requester_org_name.clone(),
            u.u.requester_name.clone(),
            u.u.level.label_zh().to_string(),
            u.u.holder.clone(),
            u.u.data_wanted.clone(),
            u.u.purpose.clone(),
            u.u.legal_basis.clone(),
            at,
        ];
        pdp_interchange::csvcell::push_row(&mut out, &cells);
    }
    let mut ev = p.event("share.upward.export", &format!("upward_batch:{batch}"));
    ev.purpose = format!("{} requests", rows.len());
    state.audit.append(ev).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (axum::http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"upward-{batch}.csv\"")),
        ],
        out,
    )
        .into_response())
}

/// The authority records the answer from above on a forwarded request.
#[utoipa::path(post, path = "/api/v1/share/upward/{id}/outcome", tag = "sharing", params(("id" = i64, Path)),
    request_body = OutcomeInput,
    responses((status = 200, body = UpwardOut), (status = 409, body = ErrorBody)))]
pub async fn upward_outcome(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<OutcomeInput>,
) -> Result<Json<UpwardOut>, ApiError> {
    Ok(Json(do_outcome(&state, &p, id, &body).await?))
}
