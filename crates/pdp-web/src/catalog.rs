//! The HTTP side of `pdp_app::catalog`: its JSON API handlers and their OpenAPI description.

use crate::AppState;
use crate::auth::Principal;
use crate::error;
use crate::error::{ApiError, AppError, ErrorBody, ViolationOut};
use crate::extract::{Bytes, Json, Path, Query};
use axum::Extension;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
pub use pdp_app::catalog::*;
use pdp_domain::catalog::WorkflowAction;
use pdp_interchange::ExportEntry;
use pdp_storage::Organisation;
use pdp_storage::catalog::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::OpenApi;

type S = State<Arc<AppState>>;

type P = Extension<Principal>;

#[derive(OpenApi)]
#[openapi(
    paths(
        list_entries, create_entry, get_entry, update_entry, delete_entry, entry_history, entry_diff,
        submit_entry, withdraw_entry, approve_entry, reject_entry, review_queue, derived, export,
        import, template, search, list_changes, create_change, list_deadlines, list_systems, create_system,
        systems_report, validate_body
    ),
    components(schemas(
        EntryVersion, EntryInput, ReviewInput, ChangeOut, DerivedRow, SearchOut, SearchHitOut, FacetOut,
        ChangeInput, ChangeEvent, DeadlineOut, InfoSystem, SystemInput, SystemDataItem, SystemReportRow,
        ImportResult, ViolationOut
    )),
    tags((name = "catalog", description = "The resource catalog: entries, review, derived catalogs, deadlines, systems, search"))
)]
pub struct CatalogDoc;

#[utoipa::path(get, path = "/api/v1/catalog/entries", tag = "catalog", params(ListParams),
    responses((status = 200, body = [EntryVersion]), (status = 400, body = ErrorBody)))]
pub async fn list_entries(
    State(state): S,
    Extension(p): P,
    Query(q): Query<ListParams>,
) -> Result<Json<Vec<EntryVersion>>, ApiError> {
    Ok(Json(do_list_entries(&state, &p, &q).await?))
}

#[utoipa::path(post, path = "/api/v1/catalog/entries", tag = "catalog", request_body = EntryInput,
    responses((status = 201, body = EntryVersion), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_entry(
    State(state): S,
    Extension(p): P,
    Json(body): Json<EntryInput>,
) -> Result<Response, ApiError> {
    let e = do_create_entry(&state, &p, body.body).await?;
    Ok(error::created(Json(e)))
}

/// Checks a body without saving it: the editor's inline validation.
#[utoipa::path(post, path = "/api/v1/catalog/validate", tag = "catalog", request_body = EntryInput,
    responses((status = 200, body = [ViolationOut])))]
pub async fn validate_body(
    State(state): S,
    Extension(p): P,
    Json(body): Json<EntryInput>,
) -> Result<Json<Vec<ViolationOut>>, ApiError> {
    let body = body.body;
    let v = check_body(&state, p.org_id.unwrap_or(0), &body).await?;
    Ok(Json(v.iter().map(ViolationOut::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/catalog/entries/{id}", tag = "catalog", params(("id" = i64, Path)),
    responses((status = 200, body = EntryVersion), (status = 404, body = ErrorBody)))]
pub async fn get_entry(State(state): S, Extension(p): P, Path(id): Path<i64>) -> Result<Json<EntryVersion>, ApiError> {
    Ok(Json(visible_entry(&state, &p, id).await?))
}

#[utoipa::path(put, path = "/api/v1/catalog/entries/{id}", tag = "catalog", params(("id" = i64, Path)), request_body = EntryInput,
    responses((status = 200, body = EntryVersion), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_entry(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<EntryInput>,
) -> Result<Json<EntryVersion>, ApiError> {
    Ok(Json(do_update_entry(&state, &p, id, body.body).await?))
}

#[utoipa::path(delete, path = "/api/v1/catalog/entries/{id}", tag = "catalog", params(("id" = i64, Path)),
    responses((status = 204), (status = 409, body = ErrorBody)))]
pub async fn delete_entry(State(state): S, Extension(p): P, Path(id): Path<i64>) -> Result<Response, ApiError> {
    do_delete_entry(&state, &p, id).await?;
    Ok(error::no_content())
}

#[utoipa::path(get, path = "/api/v1/catalog/entries/{id}/history", tag = "catalog", params(("id" = i64, Path)),
    responses((status = 200, body = [EntryVersion])))]
pub async fn entry_history(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
) -> Result<Json<Vec<EntryVersion>>, ApiError> {
    Ok(Json(do_history(&state, &p, id).await?))
}

#[utoipa::path(get, path = "/api/v1/catalog/entries/{id}/diff", tag = "catalog", params(("id" = i64, Path), DiffParams),
    responses((status = 200, body = [ChangeOut])))]
pub async fn entry_diff(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Query(q): Query<DiffParams>,
) -> Result<Json<Vec<ChangeOut>>, ApiError> {
    Ok(Json(do_diff(&state, &p, id, q.from, q.to).await?))
}

async fn step(
    state: Arc<AppState>,
    p: Principal,
    id: i64,
    body: ReviewInput,
    action: WorkflowAction,
) -> Result<Json<EntryVersion>, ApiError> {
    Ok(Json(do_transition(&state, &p, id, action, body).await?))
}

#[utoipa::path(post, path = "/api/v1/catalog/entries/{id}/submit", tag = "catalog", params(("id" = i64, Path)), request_body = ReviewInput,
    responses((status = 200, body = EntryVersion), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn submit_entry(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<ReviewInput>,
) -> Result<Json<EntryVersion>, ApiError> {
    step(state, p, id, body, WorkflowAction::Submit).await
}

#[utoipa::path(post, path = "/api/v1/catalog/entries/{id}/withdraw", tag = "catalog", params(("id" = i64, Path)), request_body = ReviewInput,
    responses((status = 200, body = EntryVersion), (status = 400, body = ErrorBody)))]
pub async fn withdraw_entry(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<ReviewInput>,
) -> Result<Json<EntryVersion>, ApiError> {
    step(state, p, id, body, WorkflowAction::Withdraw).await
}

#[utoipa::path(post, path = "/api/v1/catalog/entries/{id}/approve", tag = "catalog", params(("id" = i64, Path)), request_body = ReviewInput,
    responses((status = 200, body = EntryVersion), (status = 403, body = ErrorBody)))]
pub async fn approve_entry(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<ReviewInput>,
) -> Result<Json<EntryVersion>, ApiError> {
    step(state, p, id, body, WorkflowAction::Approve).await
}

#[utoipa::path(post, path = "/api/v1/catalog/entries/{id}/reject", tag = "catalog", params(("id" = i64, Path)), request_body = ReviewInput,
    responses((status = 200, body = EntryVersion), (status = 400, body = ErrorBody)))]
pub async fn reject_entry(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<ReviewInput>,
) -> Result<Json<EntryVersion>, ApiError> {
    step(state, p, id, body, WorkflowAction::Reject).await
}

#[utoipa::path(get, path = "/api/v1/catalog/review-queue", tag = "catalog", responses((status = 200, body = [EntryVersion])))]
pub async fn review_queue(State(state): S, Extension(p): P) -> Result<Json<Vec<EntryVersion>>, ApiError> {
    Ok(Json(do_review_queue(&state, &p).await?))
}

#[utoipa::path(get, path = "/api/v1/catalog/derived/{kind}", tag = "catalog",
    params(("kind" = String, Path, description = "share, open, negative, base, theme or department"), DerivedParams),
    responses((status = 200, body = [DerivedRow]), (status = 404, body = ErrorBody)))]
pub async fn derived(
    State(state): S,
    Path(kind): Path<String>,
    Query(q): Query<DerivedParams>,
) -> Result<Json<Vec<DerivedRow>>, ApiError> {
    let kind = parse_kind(&kind)?;
    Ok(Json(do_derived(&state, kind, &q).await?.0))
}

/// Exports a catalog view in the import template's layout (one row per field).
pub async fn do_export(state: &AppState, p: &Principal, q: &ExportParams) -> Result<Response, ApiError> {
    let entries = match q.kind.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => {
            let kind = parse_kind(k)?;
            let dq = DerivedParams { org_id: q.org_id, region_id: q.region_id, q: q.q.clone() };
            do_derived(state, kind, &dq).await?.1
        }
        None => {
            let lq = ListParams {
                view: q.view.clone().or_else(|| Some("published".into())),
                org_id: q.org_id,
                region_id: q.region_id,
                status: q.status.clone(),
                limit: Some(5000),
                ..Default::default()
            };
            do_list_entries(state, p, &lq).await?
        }
    };
    let orgs: BTreeMap<i64, Organisation> = state.storage.list_orgs().await?.into_iter().map(|o| (o.id, o)).collect();
    let export: Vec<ExportEntry> = entries
        .iter()
        .map(|e| ExportEntry {
            code: e.code.clone(),
            provider: orgs.get(&e.org_id).map(|o| o.name.clone()).unwrap_or_default(),
            status: e.status.label_zh().into(),
            version: e.version,
            body: e.body.clone(),
        })
        .collect();
    let name = q.kind.clone().filter(|k| !k.is_empty()).unwrap_or_else(|| "catalog".into());
    let ev = p
        .event("catalog.export", &format!("catalog:{name}"))
        .with_detail(serde_json::json!({ "entries": export.len(), "format": q.format }).to_string());
    state.audit.append(ev).await?;
    match q.format.as_deref().unwrap_or("csv") {
        "csv" => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")),
            ],
            pdp_interchange::write_csv(&export),
        )
            .into_response()),
        "xlsx" => {
            let bytes = pdp_interchange::write_xlsx(&export).map_err(|e| {
                tracing::error!(error = %e, "xlsx export failed");
                AppError::internal("export_failed", "导出失败", "export failed")
            })?;
            Ok((
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
                    ),
                    (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.xlsx\"")),
                ],
                bytes,
            )
                .into_response())
        }
        other => Err(ApiError(AppError::bad_request(
            "invalid_format",
            format!("不支持的格式：{other}（csv 或 xlsx）"),
            format!("unsupported format: {other} (csv or xlsx)"),
        ))),
    }
}

#[utoipa::path(get, path = "/api/v1/catalog/export", tag = "catalog", params(ExportParams),
    responses((status = 200, description = "CSV or XLSX file in the template layout"), (status = 400, body = ErrorBody)))]
pub async fn export(State(state): S, Extension(p): P, Query(q): Query<ExportParams>) -> Result<Response, ApiError> {
    do_export(&state, &p, &q).await
}

#[utoipa::path(get, path = "/api/v1/catalog/template", tag = "catalog", params(TemplateParams),
    responses((status = 200, description = "An empty import template with one example entry")))]
pub async fn template(Query(q): Query<TemplateParams>) -> Result<Response, ApiError> {
    let example = pdp_interchange::example_entries();
    match q.format.as_deref().unwrap_or("csv") {
        "xlsx" => {
            let bytes = pdp_interchange::write_xlsx(&example).map_err(|e| {
                tracing::error!(error = %e, "xlsx template failed");
                AppError::internal("export_failed", "导出失败", "export failed")
            })?;
            Ok((
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
                    ),
                    (header::CONTENT_DISPOSITION, "attachment; filename=\"catalog-template.xlsx\"".to_string()),
                ],
                bytes,
            )
                .into_response())
        }
        _ => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"catalog-template.csv\"".to_string()),
            ],
            pdp_interchange::write_csv(&example),
        )
            .into_response()),
    }
}

#[utoipa::path(post, path = "/api/v1/catalog/import", tag = "catalog",
    request_body(content = String, content_type = "application/octet-stream", description = "A CSV (UTF-8) or XLSX file in the template layout"),
    responses((status = 200, body = ImportResult), (status = 400, body = ErrorBody)))]
pub async fn import(State(state): S, Extension(p): P, Bytes(body): Bytes) -> Result<Json<ImportResult>, ApiError> {
    Ok(Json(do_import(&state, &p, &body).await?))
}

#[utoipa::path(get, path = "/api/v1/catalog/search", tag = "catalog", params(SearchParams),
    responses((status = 200, body = SearchOut), (status = 503, body = ErrorBody)))]
pub async fn search(State(state): S, Query(q): Query<SearchParams>) -> Result<Json<SearchOut>, ApiError> {
    Ok(Json(do_search(&state, &q).await?))
}

#[utoipa::path(post, path = "/api/v1/catalog/changes", tag = "catalog", request_body = ChangeInput,
    responses((status = 201, body = ChangeEvent), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_change(
    State(state): S,
    Extension(p): P,
    Json(body): Json<ChangeInput>,
) -> Result<Response, ApiError> {
    let c = do_record_change(&state, &p, body).await?;
    Ok(error::created(Json(c)))
}

#[utoipa::path(get, path = "/api/v1/catalog/changes", tag = "catalog", params(OrgParams), responses((status = 200, body = [ChangeEvent])))]
pub async fn list_changes(State(state): S, Query(q): Query<OrgParams>) -> Result<Json<Vec<ChangeEvent>>, ApiError> {
    Ok(Json(state.storage.list_changes(q.org_id).await?))
}

#[utoipa::path(get, path = "/api/v1/catalog/deadlines", tag = "catalog", params(DeadlineParams),
    responses((status = 200, body = [DeadlineOut])))]
pub async fn list_deadlines(
    State(state): S,
    Query(q): Query<DeadlineParams>,
) -> Result<Json<Vec<DeadlineOut>>, ApiError> {
    Ok(Json(do_deadlines(&state, &q).await?))
}

#[utoipa::path(get, path = "/api/v1/catalog/systems", tag = "catalog", params(OrgParams), responses((status = 200, body = [InfoSystem])))]
pub async fn list_systems(State(state): S, Query(q): Query<OrgParams>) -> Result<Json<Vec<InfoSystem>>, ApiError> {
    Ok(Json(state.storage.list_systems(q.org_id).await?))
}

#[utoipa::path(post, path = "/api/v1/catalog/systems", tag = "catalog", request_body = SystemInput,
    responses((status = 201, body = InfoSystem), (status = 400, body = ErrorBody)))]
pub async fn create_system(
    State(state): S,
    Extension(p): P,
    Json(body): Json<SystemInput>,
) -> Result<Response, ApiError> {
    let s = do_create_system(&state, &p, body).await?;
    Ok(error::created(Json(s)))
}

#[utoipa::path(get, path = "/api/v1/catalog/systems/report", tag = "catalog", params(OrgParams),
    responses((status = 200, body = [SystemReportRow])))]
pub async fn systems_report(
    State(state): S,
    Query(q): Query<OrgParams>,
) -> Result<Json<Vec<SystemReportRow>>, ApiError> {
    Ok(Json(do_systems_report(&state, q.org_id).await?))
}
