//! The HTTP side of `pdp_app::open`, `applications` and `feedback`: the open data API.
//! Providers prepare releases and the authority reviews them under `/api/v1/open/releases`; the
//! public reads the open catalog, rows, downloads, requests, ratings and statistics without an
//! account (`/api/v1/open/datasets`, `/api/v1/open/releases/{id}/rows|download`,
//! `/api/v1/open/requests`, `/api/v1/open/stats`) and registers (`/api/v1/open/register`);
//! signed-in accounts apply for on-application data, ask for data and rate it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use pdp_app::admin::RegisterInput;
use pdp_app::feedback::{AnswerInput, RatingInput, RatingsOut, RequestInput, RequestsOut};
use pdp_app::open::{
    BrowseOut, BrowseParams, OpenDataset, PrepareInput, Reader, ReleaseOut, browse, open_dataset, open_download,
    open_rows, prepare_release, release_for_staff, review_release, staff_releases, withdraw_release,
};
use pdp_app::open::{DatasetStats, OpenStats, OrgStats, Quality, RestrictedEntry, ReviewList};
use pdp_app::webhooks::{SubscribeInput, Subscribed};
use pdp_domain::open::{ReleaseFormat, Review};
use pdp_lake::release::CellFilter;
use pdp_storage::OpenRelease;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{self, ApiError, AppError, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::layout::ReasonForm;

type S = State<Arc<AppState>>;
type P = Extension<Principal>;
type Peer = Option<Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>;

#[derive(OpenApi)]
#[openapi(
    paths(list_releases, prepare, get_release, review, withdraw, datasets, dataset, rows, download, register, apply,
        applications, decide, appeal, review_application, access, application_download, requests, submit_request,
        route_request, answer_request, ratings, rate, stats, review_list, webhooks, subscribe, unsubscribe, file_report, application_usage, crate::social::submit, crate::social::mine),
    components(schemas(pdp_app::social::SocialOut, pdp_app::applications::UsageOut, pdp_app::applications::DownloadRecord, pdp_storage::ApplicationReport, Subscribed, SubscribeInput, pdp_storage::Subscription, ReviewList, RestrictedEntry, OpenStats, DatasetStats, OrgStats, Quality, pdp_storage::Usage, RequestsOut, RequestInput, RouteInput, AnswerInput, RatingsOut, RatingInput, pdp_storage::DataRequest,
        pdp_storage::Rating, DecisionInput, AccessInput, WithdrawInput, pdp_storage::OpenApplication, RegisterInput, PrepareInput, ReleaseOut, OpenRelease, ReleaseDetail, BrowseOut, OpenDataset, DatasetOut, RowsOut)),
    tags((name = "open", description = "Open data: releases, their review, and the public portal's catalog, rows and downloads"))
)]
pub struct OpenDoc;

/// Who reads: the signed-in caller, or an anonymous visitor by address.
pub fn reader(p: Option<Extension<Principal>>, peer: Peer) -> Reader {
    match p {
        Some(Extension(p)) => Reader::Account(p),
        None => Reader::Anonymous(peer.map(|Extension(c)| c.0.ip().to_string()).unwrap_or_else(|| "unknown".into())),
    }
}

/// A release with the first rows of its file.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReleaseDetail {
    #[serde(flatten)]
    pub release: ReleaseOut,
    pub sample: RowsOut,
}

/// A page of a release's rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowsOut {
    pub release: i64,
    pub columns: Vec<String>,
    /// Each row as an object of its columns, with `_row`, its position in the release.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
    /// The rows of the whole release (from its file's footer, not counted by a scan).
    pub total: u64,
    /// Pass as `cursor` for the next page; absent at the end. A page may hold fewer rows than
    /// asked while filters skip rows: continue until `next_cursor` is absent.
    pub next_cursor: Option<u64>,
}

fn rows_out(release: i64, page: pdp_lake::release::ReleasePage) -> RowsOut {
    let rows = page
        .rows
        .into_iter()
        .map(|(at, row)| {
            let mut m = serde_json::Map::new();
            m.insert("_row".into(), at.into());
            for (c, v) in page.columns.iter().zip(row) {
                m.insert(c.clone(), v.map_or(serde_json::Value::Null, serde_json::Value::String));
            }
            m
        })
        .collect();
    RowsOut { release, columns: page.columns, rows, total: page.total, next_cursor: page.next }
}

/// The releases the caller prepares or reviews, newest first.
#[utoipa::path(get, path = "/api/v1/open/releases", tag = "open", responses((status = 200, body = Vec<ReleaseOut>)))]
pub async fn list_releases(State(state): S, Extension(p): P) -> Result<Json<Vec<ReleaseOut>>, ApiError> {
    Ok(Json(staff_releases(&state, &p).await?))
}

/// Prepares a release of the own organisation's published entry from its dataset's latest
/// version: the fields with their masking, row filters, formats, the declassification
/// confirmation and whether new versions push automatically. It waits for review.
#[utoipa::path(post, path = "/api/v1/open/releases", tag = "open", request_body = PrepareInput,
    responses((status = 201, body = ReleaseOut),
        (status = 400, body = ErrorBody, description = "`release_invalid` with every broken rule, e.g. `release_personal_unmasked`, `field_not_openable`, `entry_not_open`"),
        (status = 403, body = ErrorBody)))]
pub async fn prepare(State(state): S, Extension(p): P, Json(body): Json<PrepareInput>) -> Result<Response, ApiError> {
    Ok(error::created(Json(prepare_release(&state, &p, &body).await?)))
}

/// A release with its sample, for its provider and its reviewers.
#[utoipa::path(get, path = "/api/v1/open/releases/{id}", tag = "open", params(("id" = i64, Path)),
    responses((status = 200, body = ReleaseDetail), (status = 404, body = ErrorBody)))]
pub async fn get_release(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
) -> Result<Json<ReleaseDetail>, ApiError> {
    let (release, page) = release_for_staff(&state, &p, id).await?;
    Ok(Json(ReleaseDetail { sample: rows_out(id, page), release }))
}

/// The security and confidentiality review: approve with every checklist item confirmed, or
/// return with reasons. A reviewer of the provider's region; never the preparer.
#[utoipa::path(post, path = "/api/v1/open/releases/{id}/review", tag = "open", params(("id" = i64, Path)),
    request_body(content = Object, description = "`{approve, checklist: {personal_masked, grading_allows, no_secrets, legal_basis, sample_checked}, reasons}`"),
    responses((status = 200, body = ReleaseOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`release_not_pending`")))]
pub async fn review(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<Review>,
) -> Result<Json<ReleaseOut>, ApiError> {
    Ok(Json(review_release(&state, &p, id, &body).await?))
}

/// Withdraws a release from the portal, with a reason: its provider or the authority.
#[utoipa::path(post, path = "/api/v1/open/releases/{id}/withdraw", tag = "open", params(("id" = i64, Path)),
    request_body(content = Object, description = "`{reason}`"),
    responses((status = 200, body = ReleaseOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn withdraw(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<WithdrawInput>,
) -> Result<Json<ReleaseOut>, ApiError> {
    Ok(Json(withdraw_release(&state, &p, id, &body.reason).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawInput {
    pub reason: String,
}

impl From<ReasonForm> for WithdrawInput {
    fn from(f: ReasonForm) -> Self {
        Self { reason: f.reason }
    }
}

/// The open catalog (public): open datasets with Chinese full-text search and facets.
#[utoipa::path(get, path = "/api/v1/open/datasets", tag = "open", params(BrowseParams),
    responses((status = 200, body = BrowseOut)))]
pub async fn datasets(State(state): S, Query(q): Query<BrowseParams>) -> Result<Json<BrowseOut>, ApiError> {
    Ok(Json(browse(&state, &q).await?))
}

/// An open dataset with its data dictionary (public).
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetOut {
    #[serde(flatten)]
    pub dataset: OpenDataset,
    /// The released fields of the newest release: name, label, type, description, masking.
    #[schema(value_type = Vec<Object>)]
    pub fields: Vec<serde_json::Value>,
}

/// The dictionary of a release: each released field as the catalog describes it, with the
/// masking the release applied.
pub fn dictionary(d: &OpenDataset, e: &pdp_storage::catalog::EntryVersion) -> Vec<serde_json::Value> {
    let masks = d.latest.rules.masks(&e.body);
    d.latest
        .rules
        .fields
        .iter()
        .zip(masks)
        .filter_map(|(rf, m)| {
            let f = e.body.fields.iter().find(|f| f.name == rf.name)?;
            Some(serde_json::json!({
                "name": f.name, "label": f.label, "data_type": f.data_type.as_str(),
                "description": f.description, "mask": m.map(|m| m.as_str()),
            }))
        })
        .collect()
}

/// One open dataset with every published release and its data dictionary (public).
#[utoipa::path(get, path = "/api/v1/open/datasets/{id}", tag = "open", params(("id" = i64, Path, description = "the catalog entry")),
    responses((status = 200, body = DatasetOut), (status = 404, body = ErrorBody)))]
pub async fn dataset(State(state): S, Path(id): Path<i64>) -> Result<Json<DatasetOut>, ApiError> {
    let (d, e) = open_dataset(&state, id).await?;
    Ok(Json(DatasetOut { fields: dictionary(&d, &e), dataset: d }))
}

/// The most filters a rows request takes.
const MAX_FILTERS: usize = 10;

/// Rows of a published, unconditionally open release (public), by a stable cursor: a release
/// never changes, so paging misses and repeats nothing whatever happens to the dataset. Any
/// query parameter other than `cursor` and `limit` filters a column by equality.
#[utoipa::path(get, path = "/api/v1/open/releases/{id}/rows", tag = "open",
    params(("id" = i64, Path), ("cursor" = Option<u64>, Query, description = "the `next_cursor` of the previous page"),
        ("limit" = Option<usize>, Query, description = "at most 1000; 100 by default")),
    responses((status = 200, body = RowsOut), (status = 400, body = ErrorBody, description = "`open_bad_filter`"),
        (status = 403, body = ErrorBody, description = "`open_application_required`"), (status = 404, body = ErrorBody)))]
pub async fn rows(
    State(state): S,
    p: Option<P>,
    peer: Peer,
    Path(id): Path<i64>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Json<RowsOut>, ApiError> {
    let number = |k: &str| -> Result<Option<u64>, AppError> {
        q.get(k)
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    AppError::bad_request(
                        "invalid_query",
                        format!("{k} 须为非负整数"),
                        format!("{k} must be a whole number"),
                    )
                })
            })
            .transpose()
    };
    let cursor = number("cursor")?.unwrap_or(0);
    let limit = number("limit")?.unwrap_or(100).clamp(1, pdp_app::open::MAX_PAGE_ROWS as u64) as usize;
    let filters: Vec<CellFilter> = q
        .iter()
        .filter(|(k, _)| k.as_str() != "cursor" && k.as_str() != "limit")
        .map(|(k, v)| CellFilter { column: k.clone(), values: vec![v.clone()] })
        .collect();
    if filters.len() > MAX_FILTERS {
        return Err(AppError::bad_request(
            "too_many_filters",
            format!("最多 {MAX_FILTERS} 个筛选条件"),
            format!("at most {MAX_FILTERS} filters"),
        )
        .into());
    }
    let (_, page) = open_rows(&state, &reader(p, peer), id, cursor, limit, &filters).await?;
    Ok(Json(rows_out(id, page)))
}

/// A whole published release as a file (public): `csv`, `xlsx`, `json` or `parquet`, as the
/// release offers. CSV, JSON and Parquet stream; XLSX is offered up to 100,000 rows.
#[utoipa::path(get, path = "/api/v1/open/releases/{id}/download/{format}", tag = "open",
    params(("id" = i64, Path), ("format" = String, Path, description = "`csv`, `xlsx`, `json` or `parquet`")),
    responses((status = 200, description = "the file"), (status = 403, body = ErrorBody, description = "`open_application_required`"),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody, description = "`xlsx_too_large`")))]
pub async fn download(
    State(state): S,
    p: Option<P>,
    peer: Peer,
    Path((id, format)): Path<(i64, String)>,
) -> Result<Response, ApiError> {
    let format = ReleaseFormat::parse(&format).ok_or_else(|| AppError::not_found(&format!("format {format}")))?;
    let (name, media, stream) = open_download(state.app.clone(), &reader(p, peer), id, format).await?;
    Ok(attachment(name, media, stream))
}

/// Registers a public account (public): a natural person by citizen ID or a legal entity by
/// credit code. The identifier is recorded as claimed (shown masked) and binds nothing until
/// proved; at most five registrations per address an hour.
#[utoipa::path(post, path = "/api/v1/open/register", tag = "open", request_body = RegisterInput,
    responses((status = 201, body = pdp_storage::User),
        (status = 400, body = ErrorBody, description = "e.g. `invalid_citizen_id`, `weak_password`"),
        (status = 409, body = ErrorBody, description = "`username_taken`"), (status = 429, body = ErrorBody)))]
pub async fn register(State(state): S, peer: Peer, Json(body): Json<RegisterInput>) -> Result<Response, ApiError> {
    let addr = peer.map(|Extension(c)| c.0.ip());
    Ok(error::created(Json(pdp_app::admin::register(&state, &body, addr).await?)))
}

// ---------------------------------------------------------------- applications

/// A decision on an application, with its reasons (required to refuse, and for the authority).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub approve: bool,
    #[serde(default)]
    pub reason: String,
}

/// A change of a granted access: `suspended`, `approved` (resumed) or `revoked`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessInput {
    pub status: String,
    pub reason: String,
}

/// Applies for on-application data: purpose, scenario, fields, period (`until`), security
/// measures and the pledge; commercial use needs `licence_accepted` (R-OPN-10).
#[utoipa::path(post, path = "/api/v1/open/applications", tag = "open",
    request_body(content = Object, description = "`{entry_id, purpose, scenario, fields, until, security_measures, pledge, commercial, licence_accepted}`"),
    responses((status = 201, body = pdp_storage::OpenApplication),
        (status = 400, body = ErrorBody, description = "`application_invalid` with every broken rule, e.g. `licence_required`"),
        (status = 409, body = ErrorBody, description = "`application_exists`")))]
pub async fn apply(
    State(state): S,
    Extension(p): P,
    Json(body): Json<pdp_domain::open::ApplicationInput>,
) -> Result<Response, ApiError> {
    Ok(error::created(Json(pdp_app::applications::apply(&state, &p, &body).await?)))
}

/// The applicant's report on the use of granted data (R-OPN-06): owed once the period ends;
/// until it is filed the applicant applies for nothing more.
#[utoipa::path(post, path = "/api/v1/open/applications/{id}/reports", tag = "open", params(("id" = i64, Path)),
    request_body(content = Object, description = "`{uses, outcome, incidents}`"),
    responses((status = 201, body = pdp_storage::ApplicationReport),
        (status = 400, body = ErrorBody, description = "`report_invalid`"),
        (status = 409, body = ErrorBody, description = "`application_not_granted`")))]
pub async fn file_report(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<pdp_domain::open::ReportInput>,
) -> Result<Response, ApiError> {
    Ok(error::created(Json(pdp_app::applications::file_report(&state, &p, id, &body).await?)))
}

/// An application's use: the applicant's reports and the downloads made under it (the
/// applicant, the provider and the authority over it).
#[utoipa::path(get, path = "/api/v1/open/applications/{id}/usage", tag = "open", params(("id" = i64, Path)),
    responses((status = 200, body = pdp_app::applications::UsageOut), (status = 404, body = ErrorBody)))]
pub async fn application_usage(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
) -> Result<Json<pdp_app::applications::UsageOut>, ApiError> {
    Ok(Json(pdp_app::applications::usage(&state, &p, id).await?))
}

/// The caller's applications, and those the caller decides or oversees.
#[utoipa::path(get, path = "/api/v1/open/applications", tag = "open",
    responses((status = 200, body = Vec<pdp_storage::OpenApplication>)))]
pub async fn applications(
    State(state): S,
    Extension(p): P,
) -> Result<Json<Vec<pdp_storage::OpenApplication>>, ApiError> {
    Ok(Json(pdp_app::applications::applications_for(&state, &p).await?))
}

/// The provider's decision on an application (its approvers).
#[utoipa::path(post, path = "/api/v1/open/applications/{id}/decision", tag = "open", params(("id" = i64, Path)),
    request_body = DecisionInput,
    responses((status = 200, body = pdp_storage::OpenApplication), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`application_state_changed`")))]
pub async fn decide(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<DecisionInput>,
) -> Result<Json<pdp_storage::OpenApplication>, ApiError> {
    Ok(Json(pdp_app::applications::decide(&state, &p, id, body.approve, &body.reason).await?))
}

/// A refused applicant asks the authority to review the refusal.
#[utoipa::path(post, path = "/api/v1/open/applications/{id}/appeal", tag = "open", params(("id" = i64, Path)),
    request_body = WithdrawInput,
    responses((status = 200, body = pdp_storage::OpenApplication), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn appeal(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<WithdrawInput>,
) -> Result<Json<pdp_storage::OpenApplication>, ApiError> {
    Ok(Json(pdp_app::applications::appeal(&state, &p, id, &body.reason).await?))
}

/// The authority's review of a refusal: grant or uphold, with reasons.
#[utoipa::path(post, path = "/api/v1/open/applications/{id}/review", tag = "open", params(("id" = i64, Path)),
    request_body = DecisionInput,
    responses((status = 200, body = pdp_storage::OpenApplication), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn review_application(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<DecisionInput>,
) -> Result<Json<pdp_storage::OpenApplication>, ApiError> {
    Ok(Json(pdp_app::applications::review(&state, &p, id, body.approve, &body.reason).await?))
}

/// Suspends, resumes or revokes a granted access (the provider or the authority).
#[utoipa::path(post, path = "/api/v1/open/applications/{id}/access", tag = "open", params(("id" = i64, Path)),
    request_body = AccessInput,
    responses((status = 200, body = pdp_storage::OpenApplication), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn access(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<AccessInput>,
) -> Result<Json<pdp_storage::OpenApplication>, ApiError> {
    let to = pdp_domain::open::ApplicationStatus::parse(&body.status)
        .ok_or_else(|| AppError::bad_request("invalid_status", "未知的状态", "unknown status"))?;
    Ok(Json(pdp_app::applications::set_access(&state, &p, id, to, &body.reason).await?))
}

/// The applicant's download of a granted application: the fields applied for, watermarked for
/// this application, while approved and within its period.
#[utoipa::path(get, path = "/api/v1/open/applications/{id}/download/{format}", tag = "open",
    params(("id" = i64, Path), ("format" = String, Path, description = "`csv`, `xlsx`, `json` or `parquet`")),
    responses((status = 200, description = "the file"), (status = 403, body = ErrorBody, description = "`application_not_active`"),
        (status = 404, body = ErrorBody)))]
pub async fn application_download(
    State(state): S,
    Extension(p): P,
    Path((id, format)): Path<(i64, String)>,
) -> Result<Response, ApiError> {
    let format = ReleaseFormat::parse(&format).ok_or_else(|| AppError::not_found(&format!("format {format}")))?;
    let (name, media, stream) = pdp_app::applications::download(state.app.clone(), &p, id, format).await?;
    Ok(attachment(name, media, stream))
}

/// A download's response: the stream with its media type and file name.
fn attachment(name: String, media: &'static str, stream: pdp_app::sharing::ByteStream) -> Response {
    let mut resp = Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

// ---------------------------------------------------------------- requests and ratings

/// Every request for data from the public with its status (public), and the share that led to
/// open data.
#[utoipa::path(get, path = "/api/v1/open/requests", tag = "open", responses((status = 200, body = RequestsOut)))]
pub async fn requests(State(state): S) -> Result<Json<RequestsOut>, ApiError> {
    Ok(Json(pdp_app::feedback::public_requests(&state).await?))
}

/// Asks for data not yet open (any signed-in account).
#[utoipa::path(post, path = "/api/v1/open/requests", tag = "open", request_body = RequestInput,
    responses((status = 201, body = pdp_storage::DataRequest), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn submit_request(
    State(state): S,
    Extension(p): P,
    Json(body): Json<RequestInput>,
) -> Result<Response, ApiError> {
    Ok(error::created(Json(pdp_app::feedback::submit_request(&state, &p, &body).await?)))
}

/// The organisation a request is routed to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteInput {
    pub org_id: i64,
}

/// The authority routes a request to the provider that holds the data.
#[utoipa::path(post, path = "/api/v1/open/requests/{id}/route", tag = "open", params(("id" = i64, Path)), request_body = RouteInput,
    responses((status = 200, body = pdp_storage::DataRequest), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn route_request(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<RouteInput>,
) -> Result<Json<pdp_storage::DataRequest>, ApiError> {
    Ok(Json(pdp_app::feedback::route_request(&state, &p, id, body.org_id).await?))
}

/// The provider answers: `fulfilled` (naming the open dataset), `planned` or `declined`.
#[utoipa::path(post, path = "/api/v1/open/requests/{id}/answer", tag = "open", params(("id" = i64, Path)), request_body = AnswerInput,
    responses((status = 200, body = pdp_storage::DataRequest), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn answer_request(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<AnswerInput>,
) -> Result<Json<pdp_storage::DataRequest>, ApiError> {
    Ok(Json(pdp_app::feedback::answer_request(&state, &p, id, &body).await?))
}

/// A dataset's ratings and comments (public; names masked).
#[utoipa::path(get, path = "/api/v1/open/datasets/{id}/ratings", tag = "open", params(("id" = i64, Path)),
    responses((status = 200, body = RatingsOut)))]
pub async fn ratings(State(state): S, Path(id): Path<i64>) -> Result<Json<RatingsOut>, ApiError> {
    Ok(Json(pdp_app::feedback::ratings(&state, id).await?))
}

/// Rates an open dataset, 1 to 5 stars with a comment (any signed-in account; again replaces).
#[utoipa::path(post, path = "/api/v1/open/datasets/{id}/ratings", tag = "open", params(("id" = i64, Path)), request_body = RatingInput,
    responses((status = 200, body = pdp_storage::Rating), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rate(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<RatingInput>,
) -> Result<Json<pdp_storage::Rating>, ApiError> {
    Ok(Json(pdp_app::feedback::rate(&state, &p, id, &body).await?))
}

/// The use of open data per dataset and organisation, day by day for 30 days, with each
/// dataset's metadata quality score (public).
#[utoipa::path(get, path = "/api/v1/open/stats", tag = "open", responses((status = 200, body = OpenStats)))]
pub async fn stats(State(state): S) -> Result<Json<OpenStats>, ApiError> {
    Ok(Json(pdp_app::open::open_stats(&state).await?.as_ref().clone()))
}

/// The yearly review list (public): published entries open on application or not open, with
/// the basis of each restriction, and the catalog's division among the open types.
#[utoipa::path(get, path = "/api/v1/open/review-list", tag = "open", responses((status = 200, body = ReviewList)))]
pub async fn review_list(State(state): S) -> Result<Json<ReviewList>, ApiError> {
    Ok(Json(pdp_app::open::review_list(&state).await?))
}

// ---------------------------------------------------------------- webhooks

/// The caller's webhooks with their last delivery.
#[utoipa::path(get, path = "/api/v1/open/webhooks", tag = "open",
    responses((status = 200, body = Vec<pdp_storage::Subscription>)))]
pub async fn webhooks(State(state): S, Extension(p): P) -> Result<Json<Vec<pdp_storage::Subscription>>, ApiError> {
    Ok(Json(pdp_app::webhooks::subscriptions(&state, &p).await?))
}

/// Follows an open dataset or a provider with a webhook: each newly published release is
/// posted to the URL as JSON, signed with `X-PDP-Signature-256` under the secret returned here
/// once.
#[utoipa::path(post, path = "/api/v1/open/webhooks", tag = "open", request_body = SubscribeInput,
    responses((status = 200, body = Subscribed), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn subscribe(
    State(state): S,
    Extension(p): P,
    Json(body): Json<SubscribeInput>,
) -> Result<Json<Subscribed>, ApiError> {
    Ok(Json(pdp_app::webhooks::subscribe(&state, &p, &body).await?))
}

/// Deletes one of the caller's webhooks.
#[utoipa::path(delete, path = "/api/v1/open/webhooks/{id}", tag = "open", params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
pub async fn unsubscribe(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    pdp_app::webhooks::unsubscribe(&state, &p, id).await?;
    Ok(Json(serde_json::json!({ "deleted": id })))
}
