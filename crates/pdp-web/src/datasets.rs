//! The HTTP side of `pdp_app::datasets`: its JSON API handlers and their OpenAPI description.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::extract::{Json, Path, Query};
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
pub use pdp_app::datasets::*;
use pdp_lake::{LakeError, LoadMeta, LoadMode, LoadReport};
use pdp_storage::{DatasetLoad, QualityTask};
use std::sync::Arc;
use utoipa::OpenApi;

type S = State<Arc<AppState>>;

type P = Extension<Principal>;

#[derive(OpenApi)]
#[openapi(
    paths(list_datasets, list_loads, upload, push_rows, quarantine, correct_row, read_rows, list_tasks, resolve_task),
    components(schemas(
        DatasetOut, DatasetLoad, LoadReportOut, QuarantineRowOut, RowErrorOut, PushInput, CorrectionInput, RowsOut,
        DisputedCell, QualityTask, ResolveInput, ScoresOut
    )),
    tags((name = "datasets", description = "Aggregation: loads into the data lake, quarantine, quality, overdue warnings"))
)]
pub struct DatasetsDoc;

// ---------------------------------------------------------------- API

/// Every dataset the caller may see, with its latest load, scores and overdue flag.
#[utoipa::path(get, path = "/api/v1/datasets", tag = "datasets",
    responses((status = 200, body = Vec<DatasetOut>), (status = 403, body = ErrorBody)))]
pub async fn list_datasets(State(state): S, Extension(p): P) -> Result<Json<Vec<DatasetOut>>, ApiError> {
    Ok(Json(do_list_datasets(&state, &p).await?))
}

/// The loads (versions) of a dataset, oldest first.
#[utoipa::path(get, path = "/api/v1/datasets/{id}/loads", tag = "datasets",
    params(("id" = i64, Path, description = "catalog entry id")),
    responses((status = 200, body = Vec<DatasetLoad>), (status = 404, body = ErrorBody)))]
pub async fn list_loads(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
) -> Result<Json<Vec<DatasetLoad>>, ApiError> {
    let e = visible_dataset(&state, &p, id).await?;
    Ok(Json(state.storage.list_loads(&e.code).await?))
}

/// Streams a request body to a temporary file, so an upload of any size uses little memory.
async fn spool(body: Body, max: u64) -> Result<tempfile::NamedTempFile, AppError> {
    use futures::StreamExt;
    use tokio::io::AsyncWriteExt;
    let tmp = tempfile::NamedTempFile::new().map_err(|e| AppError::from(LakeError::Io(e.to_string())))?;
    let mut f = tokio::fs::File::from_std(tmp.reopen().map_err(|e| AppError::from(LakeError::Io(e.to_string())))?);
    let mut stream = body.into_data_stream();
    let mut written: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            AppError::bad_request("upload_interrupted", format!("上传中断：{e}"), format!("upload interrupted: {e}"))
        })?;
        // The spool file is deleted on the way out (NamedTempFile), so a refused upload leaves
        // nothing on disk.
        written += chunk.len() as u64;
        if written > max {
            return Err(crate::limits::upload_too_large(max));
        }
        f.write_all(&chunk).await.map_err(|e| AppError::from(LakeError::Io(e.to_string())))?;
    }
    f.flush().await.map_err(|e| AppError::from(LakeError::Io(e.to_string())))?;
    Ok(tmp)
}

/// Uploads a whole file (the request body) and loads it.
pub async fn do_upload(
    state: &AppState,
    p: &Principal,
    id: i64,
    q: &UploadParams,
    body: Body,
) -> Result<LoadReport, AppError> {
    let e = provider_entry(state, p, id).await?;
    lake(state)?;
    let filename = q.filename.clone().unwrap_or_default();
    let format = match q.format.as_deref() {
        Some(f) if !f.is_empty() => pdp_lake::SourceFormat::parse(f),
        _ => pdp_lake::SourceFormat::from_name(&filename),
    }
    .ok_or_else(|| {
        AppError::bad_request(
            "load_bad_format",
            "请指定文件格式：csv、jsonl、xlsx 或 parquet",
            "declare the file format: csv, jsonl, xlsx or parquet",
        )
    })?;
    let encoding = pdp_lake::Encoding::parse(q.encoding.as_deref().unwrap_or("auto")).ok_or_else(|| {
        AppError::bad_request(
            "load_bad_encoding",
            "未知的编码（auto、utf-8、gbk）",
            "unknown encoding (auto, utf-8, gbk)",
        )
    })?;
    let mode = parse_mode(q.mode.as_deref())?;
    let tmp = spool(body, state.settings.limits.upload_bytes).await?;
    let path = tmp.path().to_path_buf();
    let sheet = state.settings.limits.sheet;
    let source =
        crate::limits::on_cpu(state, move || pdp_lake::source::open_file_within(&path, format, encoding, &sheet))
            .await??;
    let meta = LoadMeta {
        actor: p.user.username.clone(),
        source: if filename.is_empty() { "upload".into() } else { filename },
        ..Default::default()
    };
    let report = load_in(state, &e, mode, meta, source, p.event("dataset.load", &format!("dataset:{}", e.code))).await;
    drop(tmp);
    report
}

/// Uploads a file as the request body (CSV, JSON Lines, XLSX or Parquet) and loads it: valid
/// rows become a new version, invalid rows go to that version's quarantine.
#[utoipa::path(post, path = "/api/v1/datasets/{id}/loads", tag = "datasets",
    params(("id" = i64, Path, description = "catalog entry id"), UploadParams),
    request_body(content = String, content_type = "application/octet-stream", description = "the file"),
    responses((status = 200, body = LoadReportOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn upload(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Query(q): Query<UploadParams>,
    body: Body,
) -> Result<Json<LoadReportOut>, ApiError> {
    let r = do_upload(&state, &p, id, &q, body).await?;
    Ok(Json(report_out(&r)))
}

/// Pushes a batch of rows (idempotent by `batch_id`).
#[utoipa::path(post, path = "/api/v1/datasets/{id}/rows", tag = "datasets",
    params(("id" = i64, Path, description = "catalog entry id")),
    request_body = PushInput,
    responses((status = 200, body = LoadReportOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn push_rows(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<PushInput>,
) -> Result<Json<LoadReportOut>, ApiError> {
    let input = body;
    if input.batch_id.trim().is_empty() || input.batch_id.len() > 200 {
        return Err(ApiError(AppError::bad_request(
            "push_bad_batch_id",
            "batch_id 不能为空，且不超过 200 个字符",
            "batch_id must be 1 to 200 characters",
        )));
    }
    let e = provider_entry(&state, &p, id).await?;
    let has_key = e.body.fields.iter().any(|f| f.rules.key);
    let mode = match input.mode.as_deref() {
        None => {
            if has_key {
                LoadMode::Upsert
            } else {
                LoadMode::Append
            }
        }
        m => parse_mode(m)?,
    };
    let meta = LoadMeta {
        actor: p.user.username.clone(),
        source: "api".into(),
        batch_id: Some(input.batch_id.clone()),
        ..Default::default()
    };
    let source = Box::new(pdp_lake::JsonRows::new(&e.body.fields, input.rows));
    let r = load_in(&state, &e, mode, meta, source, p.event("dataset.push", &format!("dataset:{}", e.code))).await?;
    Ok(Json(report_out(&r)))
}

/// The open quarantine of a dataset: refused rows not corrected yet, with every reason.
#[utoipa::path(get, path = "/api/v1/datasets/{id}/quarantine", tag = "datasets",
    params(("id" = i64, Path, description = "catalog entry id")),
    responses((status = 200, body = Vec<QuarantineRowOut>), (status = 403, body = ErrorBody)))]
pub async fn quarantine(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
) -> Result<Json<Vec<QuarantineRowOut>>, ApiError> {
    let e = provider_entry(&state, &p, id).await?;
    let rows = open_quarantine(lake(&state)?, &e.code).await?;
    state.audit.append(p.event("dataset.quarantine.read", &format!("dataset:{}", e.code))).await?;
    Ok(Json(rows.iter().map(|(v, r)| row_out(*v, r)).collect()))
}

/// Corrects a quarantined row; valid corrections become a new version.
#[utoipa::path(post, path = "/api/v1/datasets/{id}/quarantine/{version}/{row}", tag = "datasets",
    params(("id" = i64, Path), ("version" = u64, Path), ("row" = u64, Path)),
    request_body = CorrectionInput,
    responses((status = 200, body = LoadReportOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn correct_row(
    State(state): S,
    Extension(p): P,
    Path(ids): Path<(i64, u64, u64)>,
    Json(body): Json<CorrectionInput>,
) -> Result<Json<LoadReportOut>, ApiError> {
    let (id, version, row) = ids;
    let input = body;
    let r = do_correct(&state, &p, id, version, row, input.cells).await?;
    Ok(Json(report_out(&r)))
}

/// Reads rows of the provider's own dataset, at any retained version.
#[utoipa::path(get, path = "/api/v1/datasets/{id}/data", tag = "datasets",
    params(("id" = i64, Path), RowsParams),
    responses((status = 200, body = RowsOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn read_rows(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Query(q): Query<RowsParams>,
) -> Result<Json<RowsOut>, ApiError> {
    Ok(Json(do_read_rows(&state, &p, id, &q).await?))
}

/// Quality tasks of the caller's organisation (or region, for the authority).
#[utoipa::path(get, path = "/api/v1/quality/tasks", tag = "datasets", params(TaskParams),
    responses((status = 200, body = Vec<QualityTask>)))]
pub async fn list_tasks(
    State(state): S,
    Extension(p): P,
    Query(q): Query<TaskParams>,
) -> Result<Json<Vec<QualityTask>>, ApiError> {
    Ok(Json(do_list_tasks(&state, &p, q.all.unwrap_or(false)).await?))
}

/// Answers a quality task: the provider confirms the data or says it corrected it.
#[utoipa::path(post, path = "/api/v1/quality/tasks/{id}/resolve", tag = "datasets",
    params(("id" = i64, Path)), request_body = ResolveInput,
    responses((status = 200, body = QualityTask), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn resolve_task(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<ResolveInput>,
) -> Result<Json<QualityTask>, ApiError> {
    let input = body;
    Ok(Json(do_resolve(&state, &p, id, &input).await?))
}
