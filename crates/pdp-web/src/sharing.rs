//! The HTTP side of `pdp_app::sharing`: its JSON API handlers and their OpenAPI description.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::extract::{Json, Path, Query};
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use pdp_app::datasets::lake;
pub use pdp_app::sharing::*;
use pdp_domain::catalog::{DataType, MaskRule, ShareMode};
use pdp_domain::sharing::{self};
use pdp_lake::share::Measure;
use pdp_storage::{Grant, GrantUsage, RequestNote, Scenario, ShareRequest};
use sha2::{Digest, Sha256};
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
        NoteInput, DecideInput, Grant, GrantOut, GrantUsage, ViewInput, ViewOut, VerifyInput, VerifyOut, StatsInput, StatsOut,
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
    let input = body;
    let a = grant_for_access(&state, &p, id, ShareMode::Statistics).await?;
    let group_by = dedup(&input.group_by);
    if group_by.len() > MAX_DIMENSIONS {
        return Err(ApiError(AppError::bad_request(
            "stats_too_many_dimensions",
            format!("分组维度不能超过 {MAX_DIMENSIONS} 个"),
            format!("at most {MAX_DIMENSIONS} dimensions"),
        )));
    }
    // A dimension shows its values, so it must be granted and unmasked.
    if let Some(f) = group_by.iter().find(|f| a.masking.get(*f) != Some(&MaskRule::None)) {
        return Err(ApiError(AppError::not_allowed(
            "stats_dimension_not_allowed",
            format!("信息项“{f}”未授权或须脱敏，不能作为分组维度"),
            format!("the field {f:?} is not granted or is masked, so it cannot be a dimension"),
        )));
    }
    let measure = match (input.measure.as_deref().unwrap_or("count"), input.field.as_deref()) {
        ("count", _) => None,
        (m @ ("sum" | "avg"), Some(f)) => {
            let numeric =
                a.e.body
                    .fields
                    .iter()
                    .any(|x| x.name == f && matches!(x.data_type, DataType::Integer | DataType::Decimal));
            // A sum or an average of a masked field would let its values be differenced out.
            if a.masking.get(f) != Some(&MaskRule::None) || !numeric {
                return Err(ApiError(AppError::bad_request(
                    "stats_bad_measure",
                    format!("“{f}”不是授权范围内、不脱敏的数值型信息项"),
                    format!("{f:?} is not a granted, unmasked numeric field"),
                )));
            }
            Some((if m == "sum" { Measure::Sum } else { Measure::Avg }, f))
        }
        _ => {
            return Err(ApiError(AppError::bad_request(
                "stats_bad_measure",
                "统计方式应为 count，或 sum/avg 并指定数值字段",
                "the measure must be count, or sum/avg with a numeric field",
            )));
        }
    };
    let filters = a.selection(Vec::new()).filters;
    let page = lake(&state)?.aggregate(&a.g.dataset, &filters, &group_by, measure, MAX_STATS_CELLS + 1).await?;
    if page.rows.len() > MAX_STATS_CELLS {
        return Err(ApiError(AppError::bad_request(
            "stats_too_many_cells",
            format!("分组结果超过 {MAX_STATS_CELLS} 个单元格，请减少分组维度"),
            format!("the grouping gives more than {MAX_STATS_CELLS} cells; use fewer dimensions"),
        )));
    }
    let n = group_by.len();
    let mut dims = Vec::with_capacity(page.rows.len());
    let mut counts = Vec::with_capacity(page.rows.len());
    let mut values = Vec::with_capacity(page.rows.len());
    for mut row in page.rows {
        counts.push(row.get(n).cloned().flatten().and_then(|c| c.parse::<i64>().ok()).unwrap_or(0));
        values.push(row.get(n + 1).cloned().flatten());
        row.truncate(n);
        dims.push(row);
    }
    let shown = sharing::shown_cells(&dims, &counts, a.g.min_group);
    let aggregated: i64 = counts.iter().sum();
    let mut cells = Vec::new();
    for (((d, count), value), show) in dims.into_iter().zip(counts).zip(values).zip(&shown) {
        if *show {
            cells.push(StatsCell { dimensions: d, count, value });
        }
    }
    let suppressed_cells = shown.len() - cells.len();
    let out = StatsOut { grant_id: id, group_by: group_by.clone(), min_group: a.g.min_group, cells, suppressed_cells };
    let body = serde_json::to_vec(&out).unwrap_or_default();
    let req = serde_json::to_string(
        &serde_json::json!({"group_by": group_by, "measure": input.measure, "field": input.field}),
    )
    .unwrap_or_default();
    let mut fields = group_by.clone();
    fields.extend(input.field.clone());
    // The usage record counts the rows aggregated, the measure of how much data was used.
    let ev = a.event(&p, ShareMode::Statistics, aggregated as usize, &fields, &req, &sha256_hex(&body));
    state.record_access(id, 1, aggregated, ev).await?;
    Ok(Json(out))
}

/// Bulk mode: every granted row and field as CSV, masked, streamed. The export's start is
/// recorded before the first byte leaves; its end (rows sent and the hash of everything sent)
/// when the last byte has.
#[utoipa::path(get, path = "/api/v1/share/grants/{id}/export.csv", tag = "sharing", params(("id" = i64, Path)),
    responses((status = 200, content_type = "text/csv"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export(State(state): S, Extension(p): P, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let a = grant_for_access(&state, &p, id, ShareMode::Bulk).await?;
    let columns = a.g.fields.clone();
    let mut stream = lake(&state)?.select_stream(&a.g.dataset, &a.selection(columns.clone())).await?;
    let request = format!("GET export {id}");
    let start = a.event(&p, ShareMode::Bulk, 0, &columns, &request, "");
    state.record_access(id, 1, 0, start).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let st = state.clone();
    tokio::spawn(async move {
        let mut hasher = Sha256::new();
        let mut rows = 0usize;
        let rules = a.rules(&columns);
        let mut head = String::new();
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                head.push(',');
            }
            csv_cell(&mut head, Some(c));
        }
        head.push('\n');
        let mut complete = true;
        let mut chunks = vec![head.into_bytes()];
        loop {
            for chunk in chunks.drain(..) {
                hasher.update(&chunk);
                if tx.send(Ok(chunk)).await.is_err() {
                    complete = false;
                }
            }
            if !complete {
                break;
            }
            let Some(batch) = stream.next().await else { break };
            // A grant suspended, revoked or expired while its export streams stops the export
            // at the next batch: the client gets a broken download, and the end is recorded
            // as a failure with the rows that did leave.
            if !grant_still_serves(&st, id).await {
                tracing::warn!(grant = id, "bulk export stopped: the grant no longer serves");
                let _ = tx.send(Err(std::io::Error::other("the grant no longer serves"))).await;
                complete = false;
                break;
            }
            let batch = match batch
                .map_err(|e| e.to_string())
                .and_then(|b| pdp_lake::batch_rows(&b).map_err(|e| e.to_string()))
            {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, grant = id, "bulk export failed");
                    let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                    complete = false;
                    break;
                }
            };
            let mut text = String::new();
            for row in batch {
                let row = a.protect(&rules, row);
                for (i, v) in row.iter().enumerate() {
                    if i > 0 {
                        text.push(',');
                    }
                    csv_cell(&mut text, v.as_deref());
                }
                text.push('\n');
                rows += 1;
            }
            chunks.push(text.into_bytes());
        }
        let hash = hex::encode(hasher.finalize());
        let mut end = a.event(&p, ShareMode::Bulk, rows, &columns, &request, &hash);
        end.action = "share.access.bulk.end".into();
        if !complete {
            end.outcome = pdp_audit::Outcome::Failure;
        }
        if let Err(e) = st.record_access(id, 0, rows as i64, end).await {
            tracing::error!(error = %e, grant = id, "could not record the end of a bulk export");
        }
    });
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) }));
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
    let a = grant_for_access(&state, &p, id, ShareMode::Bulk).await?;
    let lk = lake(&state)?;
    let version = lk.latest_version(&a.g.dataset).await?;
    let path = pdp_app::share_files::share_file(&state, id, version)?;
    let columns = a.g.fields.clone();
    let w = match pdp_lake::share::written_file(&path) {
        Some(w) => w,
        None => {
            let rules = a.rules(&columns);
            lk.write_selection(&a.g.dataset, &a.selection(columns.clone()), &path, |row| a.protect(&rules, row)).await?
        }
    };
    let file = tokio::fs::File::open(&path).await.map_err(|e| {
        tracing::error!(error = %e, grant = id, "opening a grant's Parquet file failed");
        AppError::internal("io_error", "读取文件失败", "reading the file failed")
    })?;
    let request = format!("GET export.parquet {id}");
    state.record_access(id, 1, 0, a.event(&p, ShareMode::Bulk, 0, &columns, &request, "")).await?;
    if w.bytes == 0 {
        return Err(ApiError(AppError::internal("io_error", "读取文件失败", "reading the file failed")));
    }
    let st = state.clone();
    let rows = w.rows as usize;
    let size = w.bytes;
    // The end is recorded when the last byte is read from the file: with a Content-Length the
    // server stops polling the body once that many bytes are out, so "after the stream ends"
    // would never come.
    let finish = move |a: &Access, p: &Principal, st: &Arc<AppState>, hash: String, complete: bool| {
        let mut end = a.event(p, ShareMode::Bulk, rows, &a.g.fields, &format!("GET export.parquet {}", a.g.id), &hash);
        end.action = "share.access.bulk.end".into();
        if !complete {
            end.outcome = pdp_audit::Outcome::Failure;
        }
        let (st, id) = (st.clone(), a.g.id);
        async move {
            if let Err(e) = st.record_access(id, 0, rows as i64, end).await {
                tracing::error!(error = %e, grant = id, "could not record the end of a Parquet export");
            }
        }
    };
    let stream = futures::stream::unfold(
        (Some(file), Sha256::new(), 0u64, a, p, st),
        move |(file, mut hasher, sent, a, p, st)| async move {
            use tokio::io::AsyncReadExt;
            let mut f = file?;
            let mut buf = vec![0u8; 64 * 1024];
            match f.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    // The file ended early or could not be read: recorded as a failure.
                    finish(&a, &p, &st, hex::encode(hasher.finalize_reset()), false).await;
                    None
                }
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    let sent = sent + n as u64;
                    let next = if sent >= size {
                        finish(&a, &p, &st, hex::encode(hasher.finalize_reset()), true).await;
                        None
                    } else {
                        Some(f)
                    };
                    Some((
                        Ok::<_, std::io::Error>(axum::body::Bytes::copy_from_slice(&buf[..n])),
                        (next, hasher, sent, a, p, st),
                    ))
                }
            }
        },
    );
    let mut resp = Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.apache.parquet"));
    if let Ok(v) = HeaderValue::from_str(&w.bytes.to_string()) {
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
