//! Authorized operation (授权运营, R-OPS) over HTTP: the JSON API under `/api/v1/operation`,
//! through `pdp_app::operation`. The routes let every signed-in role in; the use cases decide
//! who may act (the city's data authority, the operator under its agreement in force, a
//! developer under its own, a provider's approvers for their data).

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use pdp_app::operation::{
    AgreementInput, AgreementOut, CatalogDecision, CatalogItemOut, CatalogProduct, ExitInput, Overview, ProductOut,
    SaleInput, SalesOut, ScenarioOut,
};
use pdp_app::selection::{CandidateOut, EvaluationInput, SelectionOut, SelectionStep};
use pdp_domain::operation::AnnouncementInput;
use pdp_domain::operation::{AgreementAction, PointAnswer, ProductInput, ScenarioInput};
use pdp_storage::{Evaluation, ExitRecord, OpLogLine, Sale};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{self, ApiError, ErrorBody};
use crate::extract::{Json, Path, Query};

type S = State<Arc<AppState>>;
type P = Extension<Principal>;

#[derive(OpenApi)]
#[openapi(
    paths(
        overview, list_agreements, sign, get_agreement, review_renewal, act, list_catalog, propose, decide_catalog,
        publish, list_scenarios, apply, get_scenario, decide_scenario, sample, list_products, submit_product,
        review_product, delist, product_catalog, record_sale, list_sales, exit, list_exits, log, prune_logs,
        list_selections, get_selection, announce, apply_selection, selection_step, object, list_evaluations,
        evaluate, complain, report_incident, offer_social, list_social, review_social, social_catalog, social_sample
    ),
    components(schemas(
        Overview, AgreementInput, AgreementOut, ReviewForm, ActionForm, CatalogItemOut, ProposalForm, CatalogDecision,
        DevelopmentForm, ScenarioOut, ProductOut, ProductReviewForm, ReasonForm, CatalogProduct, SaleInput, Sale,
        SalesOut, ExitForm, ExitRecord, OpLogLine, SampleOut, PruneOut, pdp_storage::Agreement,
        pdp_storage::OpCatalogItem, pdp_storage::ScenarioApplication, pdp_storage::ReviewStep, pdp_storage::Product,
        pdp_storage::ReviewedPoint, pdp_storage::ExitEffects, pdp_storage::DestroyedFile, SelectionOut, CandidateOut,
        SelectionStep, MaterialsForm, EvaluationInput, pdp_storage::Selection, pdp_storage::Candidate,
        pdp_storage::SelectionObjection, pdp_storage::Evaluation, pdp_storage::OpSocial, pdp_storage::SocialCheckOut,
        SocialReviewForm, IncidentForm, pdp_app::fusion::CheckAnswer, pdp_app::fusion::SocialCatalogItem, RowsOut
    )),
    tags((name = "operation", description = "Authorized operation: agreements, catalogs, scenario applications, products, sales, exits"))
)]
pub struct OperationDoc;

/// A decision with its reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewForm {
    pub approve: bool,
    pub reason: String,
}

/// An action on an agreement after a violation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionForm {
    /// `suspend`, `rectify`, `resume` or `revoke`.
    #[schema(value_type = String, example = "suspend")]
    pub action: AgreementAction,
    pub reason: String,
    /// The deadline of a rectification (`YYYY-MM-DD`).
    #[serde(default, with = "pdp_domain::calendar::iso_date::option")]
    #[schema(value_type = Option<String>)]
    pub rectify_by: Option<time::Date>,
}

/// Entries the operator asks to operate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalForm {
    pub entries: Vec<i64>,
}

/// Whether an entry is in the development catalog.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevelopmentForm {
    pub published: bool,
}

/// The six points of a product review.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductReviewForm {
    #[schema(value_type = Vec<Object>)]
    pub points: Vec<PointAnswer>,
}

/// A reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonForm {
    pub reason: String,
}

/// An entity to exit, and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExitForm {
    pub org_id: i64,
    #[schema(value_type = String, example = "violation")]
    pub ground: pdp_domain::operation::ExitGround,
    pub reason: String,
}

/// Which rows of a sample.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SampleQuery {
    pub entry_id: i64,
    /// At most 100.
    #[serde(default)]
    pub rows: Option<usize>,
}

/// A page of a log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    #[serde(default)]
    pub offset: Option<i64>,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// De-identified sample rows of an open application.
#[derive(Debug, Serialize, ToSchema)]
pub struct SampleOut {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// What a retention run deleted.
#[derive(Debug, Serialize, ToSchema)]
pub struct PruneOut {
    pub deleted: u64,
}

/// What is waiting for the caller and what it may see of authorized operation.
#[utoipa::path(get, path = "/api/v1/operation/overview", tag = "operation",
    responses((status = 200, body = Overview)))]
pub async fn overview(State(state): S, Extension(p): P) -> Result<Json<Overview>, ApiError> {
    Ok(Json(pdp_app::operation::overview(&state, &p).await?))
}

/// The agreements the caller may see.
#[utoipa::path(get, path = "/api/v1/operation/agreements", tag = "operation",
    responses((status = 200, body = Vec<AgreementOut>)))]
pub async fn list_agreements(State(state): S, Extension(p): P) -> Result<Json<Vec<AgreementOut>>, ApiError> {
    Ok(Json(pdp_app::operation::agreements(&state, &p).await?))
}

/// Signs an agreement (at most three years; a development agreement within the operator's) or
/// drafts a renewal, which waits for review.
#[utoipa::path(post, path = "/api/v1/operation/agreements", tag = "operation", request_body = AgreementInput,
    responses((status = 201, body = AgreementOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn sign(State(state): S, Extension(p): P, Json(body): Json<AgreementInput>) -> Result<Response, ApiError> {
    Ok(error::created(Json(pdp_app::operation::sign(&state, &p, &body).await?)))
}

/// One agreement.
#[utoipa::path(get, path = "/api/v1/operation/agreements/{id}", tag = "operation",
    params(("id" = i64, Path, description = "The agreement")),
    responses((status = 200, body = AgreementOut), (status = 404, body = ErrorBody)))]
pub async fn get_agreement(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
) -> Result<Json<AgreementOut>, ApiError> {
    Ok(Json(pdp_app::operation::agreement_of(&state, &p, id).await?))
}

/// The grantor's review of a renewal.
#[utoipa::path(post, path = "/api/v1/operation/agreements/{id}/review", tag = "operation", request_body = ReviewForm,
    params(("id" = i64, Path, description = "The renewal")),
    responses((status = 200, body = AgreementOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn review_renewal(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(f): Json<ReviewForm>,
) -> Result<Json<AgreementOut>, ApiError> {
    Ok(Json(pdp_app::operation::review_renewal(&state, &p, id, f.approve, &f.reason).await?))
}

/// Suspends, orders rectification of, resumes or revokes an agreement.
#[utoipa::path(post, path = "/api/v1/operation/agreements/{id}/actions", tag = "operation", request_body = ActionForm,
    params(("id" = i64, Path, description = "The agreement")),
    responses((status = 200, body = AgreementOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn act(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(f): Json<ActionForm>,
) -> Result<Json<AgreementOut>, ApiError> {
    Ok(Json(pdp_app::operation::act(&state, &p, id, f.action, &f.reason, f.rectify_by).await?))
}

/// The operation resource catalog (the development catalog only, for developers).
#[utoipa::path(get, path = "/api/v1/operation/catalog", tag = "operation",
    responses((status = 200, body = Vec<CatalogItemOut>), (status = 403, body = ErrorBody)))]
pub async fn list_catalog(State(state): S, Extension(p): P) -> Result<Json<Vec<CatalogItemOut>>, ApiError> {
    Ok(Json(pdp_app::operation::catalog(&state, &p).await?))
}

/// The operator asks for entries of its agreement to enter the operation resource catalog.
#[utoipa::path(post, path = "/api/v1/operation/catalog/proposals", tag = "operation", request_body = ProposalForm,
    responses((status = 200, body = Vec<CatalogItemOut>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn propose(
    State(state): S,
    Extension(p): P,
    Json(f): Json<ProposalForm>,
) -> Result<Json<Vec<CatalogItemOut>>, ApiError> {
    Ok(Json(pdp_app::operation::propose(&state, &p, &f.entries).await?))
}

/// The authority confirms an entry; the authority or the providing sector marks it not operable
/// with its legal basis.
#[utoipa::path(post, path = "/api/v1/operation/catalog/{entry_id}/decision", tag = "operation",
    request_body = CatalogDecision,
    params(("entry_id" = i64, Path, description = "The catalog entry")),
    responses((status = 200, body = Vec<CatalogItemOut>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn decide_catalog(
    State(state): S,
    Extension(p): P,
    Path(entry_id): Path<i64>,
    Json(d): Json<CatalogDecision>,
) -> Result<Json<Vec<CatalogItemOut>>, ApiError> {
    Ok(Json(pdp_app::operation::decide_catalog(&state, &p, entry_id, &d).await?))
}

/// The operator puts a confirmed entry in the development catalog, or takes it out.
#[utoipa::path(post, path = "/api/v1/operation/catalog/{entry_id}/development", tag = "operation",
    request_body = DevelopmentForm,
    params(("entry_id" = i64, Path, description = "The catalog entry")),
    responses((status = 200, body = Vec<CatalogItemOut>), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn publish(
    State(state): S,
    Extension(p): P,
    Path(entry_id): Path<i64>,
    Json(f): Json<DevelopmentForm>,
) -> Result<Json<Vec<CatalogItemOut>>, ApiError> {
    Ok(Json(pdp_app::operation::publish_development(&state, &p, entry_id, f.published).await?))
}

/// The scenario applications the caller may see.
#[utoipa::path(get, path = "/api/v1/operation/scenarios", tag = "operation",
    responses((status = 200, body = Vec<ScenarioOut>), (status = 403, body = ErrorBody)))]
pub async fn list_scenarios(State(state): S, Extension(p): P) -> Result<Json<Vec<ScenarioOut>>, ApiError> {
    Ok(Json(pdp_app::operation::scenarios(&state, &p).await?))
}

/// A developer applies for one scenario with one list of fields.
#[utoipa::path(post, path = "/api/v1/operation/scenarios", tag = "operation", request_body(content = Object),
    responses((status = 201, body = ScenarioOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn apply(State(state): S, Extension(p): P, Json(body): Json<ScenarioInput>) -> Result<Response, ApiError> {
    Ok(error::created(Json(pdp_app::operation::apply(&state, &p, &body).await?)))
}

/// One scenario application.
#[utoipa::path(get, path = "/api/v1/operation/scenarios/{id}", tag = "operation",
    params(("id" = i64, Path, description = "The application")),
    responses((status = 200, body = ScenarioOut), (status = 404, body = ErrorBody)))]
pub async fn get_scenario(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
) -> Result<Json<ScenarioOut>, ApiError> {
    Ok(Json(pdp_app::operation::scenario_of(&state, &p, id).await?))
}

/// A decision at the application's present stage (operator, provider, authority).
#[utoipa::path(post, path = "/api/v1/operation/scenarios/{id}/decision", tag = "operation", request_body = ReviewForm,
    params(("id" = i64, Path, description = "The application")),
    responses((status = 200, body = ScenarioOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn decide_scenario(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(f): Json<ReviewForm>,
) -> Result<Json<ScenarioOut>, ApiError> {
    Ok(Json(pdp_app::operation::decide_scenario(&state, &p, id, f.approve, &f.reason).await?))
}

/// De-identified sample rows of one entry of an open application, for its developer.
#[utoipa::path(get, path = "/api/v1/operation/scenarios/{id}/sample", tag = "operation",
    params(("id" = i64, Path, description = "The application"), SampleQuery),
    responses((status = 200, body = SampleOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn sample(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Query(q): Query<SampleQuery>,
) -> Result<Json<SampleOut>, ApiError> {
    let cells = pdp_app::operation::sample(&state, &p, id, q.entry_id, q.rows.unwrap_or(20)).await?;
    Ok(Json(SampleOut { columns: cells.columns, rows: cells.rows }))
}

/// The products the caller may see.
#[utoipa::path(get, path = "/api/v1/operation/products", tag = "operation",
    responses((status = 200, body = Vec<ProductOut>), (status = 403, body = ErrorBody)))]
pub async fn list_products(State(state): S, Extension(p): P) -> Result<Json<Vec<ProductOut>>, ApiError> {
    Ok(Json(pdp_app::operation::products(&state, &p).await?))
}

/// A developer submits a product for the six-point review.
#[utoipa::path(post, path = "/api/v1/operation/products", tag = "operation", request_body(content = Object),
    responses((status = 201, body = ProductOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn submit_product(
    State(state): S,
    Extension(p): P,
    Json(body): Json<ProductInput>,
) -> Result<Response, ApiError> {
    Ok(error::created(Json(pdp_app::operation::submit_product(&state, &p, &body).await?)))
}

/// The operator's six-point review: listed if every point passes, rejected otherwise.
#[utoipa::path(post, path = "/api/v1/operation/products/{id}/review", tag = "operation", request_body = ProductReviewForm,
    params(("id" = i64, Path, description = "The product")),
    responses((status = 200, body = ProductOut), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn review_product(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(f): Json<ProductReviewForm>,
) -> Result<Json<ProductOut>, ApiError> {
    Ok(Json(pdp_app::operation::review_product(&state, &p, id, &f.points).await?))
}

/// Takes a product off the product catalog.
#[utoipa::path(post, path = "/api/v1/operation/products/{id}/delist", tag = "operation", request_body = ReasonForm,
    params(("id" = i64, Path, description = "The product")),
    responses((status = 200, body = ProductOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delist(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(f): Json<ReasonForm>,
) -> Result<Json<ProductOut>, ApiError> {
    Ok(Json(pdp_app::operation::delist(&state, &p, id, &f.reason).await?))
}

/// The product catalog: every listed product with its sources and price; public.
#[utoipa::path(get, path = "/api/v1/operation/product-catalog", tag = "operation",
    responses((status = 200, body = Vec<CatalogProduct>)))]
pub async fn product_catalog(State(state): S) -> Result<Json<Vec<CatalogProduct>>, ApiError> {
    Ok(Json(pdp_app::operation::product_catalog(&state).await?))
}

/// The operator registers a sale of a listed product; the split follows the agreements.
#[utoipa::path(post, path = "/api/v1/operation/products/{id}/sales", tag = "operation", request_body = SaleInput,
    params(("id" = i64, Path, description = "The product")),
    responses((status = 201, body = Sale), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn record_sale(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(f): Json<SaleInput>,
) -> Result<Response, ApiError> {
    Ok(error::created(Json(pdp_app::operation::record_sale(&state, &p, id, &f).await?)))
}

/// The sales the caller may see, with the totals per party.
#[utoipa::path(get, path = "/api/v1/operation/sales", tag = "operation",
    responses((status = 200, body = SalesOut), (status = 403, body = ErrorBody)))]
pub async fn list_sales(State(state): S, Extension(p): P) -> Result<Json<SalesOut>, ApiError> {
    Ok(Json(pdp_app::operation::sales(&state, &p).await?))
}

/// The exit procedure of an entity: agreements ended, applications closed, products delisted,
/// operation-domain files deleted with a destruction record, logs kept six months.
#[utoipa::path(post, path = "/api/v1/operation/exits", tag = "operation", request_body = ExitForm,
    responses((status = 201, body = ExitRecord), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn exit(State(state): S, Extension(p): P, Json(f): Json<ExitForm>) -> Result<Response, ApiError> {
    let input = ExitInput { ground: f.ground, reason: f.reason };
    Ok(error::created(Json(pdp_app::operation::exit(&state, &p, f.org_id, &input).await?)))
}

/// The exit records the caller may see.
#[utoipa::path(get, path = "/api/v1/operation/exits", tag = "operation",
    responses((status = 200, body = Vec<ExitRecord>)))]
pub async fn list_exits(State(state): S, Extension(p): P) -> Result<Json<Vec<ExitRecord>>, ApiError> {
    Ok(Json(pdp_app::operation::exits(&state, &p).await?))
}

/// An entity's operation log, newest first.
#[utoipa::path(get, path = "/api/v1/operation/logs/{org_id}", tag = "operation",
    params(("org_id" = i64, Path, description = "The entity"), LogQuery),
    responses((status = 200, body = Vec<OpLogLine>), (status = 403, body = ErrorBody)))]
pub async fn log(
    State(state): S,
    Extension(p): P,
    Path(org_id): Path<i64>,
    Query(q): Query<LogQuery>,
) -> Result<Json<Vec<OpLogLine>>, ApiError> {
    Ok(Json(pdp_app::operation::log(&state, &p, org_id, q.offset.unwrap_or(0), q.limit.unwrap_or(100)).await?))
}

/// The operation log's retention run, by the authority.
#[utoipa::path(post, path = "/api/v1/operation/logs/prune", tag = "operation",
    responses((status = 200, body = PruneOut), (status = 403, body = ErrorBody)))]
pub async fn prune_logs(State(state): S, Extension(p): P) -> Result<Json<PruneOut>, ApiError> {
    let deleted = pdp_app::operation::prune_logs_by(&state, &p).await?;
    Ok(Json(PruneOut { deleted }))
}

/// A candidate's statement for each criterion, in the announcement's order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MaterialsForm {
    pub materials: Vec<String>,
}

/// The selections of the operation entity: announcements, and results once public; open to
/// anyone.
#[utoipa::path(get, path = "/api/v1/operation/selections", tag = "operation",
    responses((status = 200, body = Vec<SelectionOut>)))]
pub async fn list_selections(State(state): S, p: Option<P>) -> Result<Json<Vec<SelectionOut>>, ApiError> {
    let p = p.map(|Extension(p)| p);
    Ok(Json(pdp_app::selection::selections(&state, p.as_ref()).await?))
}

/// One selection (every candidate's scores for the authority; the public sees them once the
/// result is published).
#[utoipa::path(get, path = "/api/v1/operation/selections/{id}", tag = "operation",
    params(("id" = i64, Path, description = "The selection")),
    responses((status = 200, body = SelectionOut), (status = 404, body = ErrorBody)))]
pub async fn get_selection(State(state): S, p: Option<P>, Path(id): Path<i64>) -> Result<Json<SelectionOut>, ApiError> {
    let p = p.map(|Extension(p)| p);
    Ok(Json(pdp_app::selection::selection_of(&state, p.as_ref(), id).await?))
}

/// The authority announces a selection with its criteria and term.
#[utoipa::path(post, path = "/api/v1/operation/selections", tag = "operation", request_body(content = Object),
    responses((status = 201, body = SelectionOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn announce(
    State(state): S,
    Extension(p): P,
    Json(a): Json<AnnouncementInput>,
) -> Result<Response, ApiError> {
    Ok(error::created(Json(pdp_app::selection::announce(&state, &p, &a).await?)))
}

/// An organisation applies, with a statement for each criterion.
#[utoipa::path(post, path = "/api/v1/operation/selections/{id}/applications", tag = "operation",
    request_body = MaterialsForm, params(("id" = i64, Path, description = "The selection")),
    responses((status = 201, body = SelectionOut), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn apply_selection(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(f): Json<MaterialsForm>,
) -> Result<Response, ApiError> {
    Ok(error::created(Json(pdp_app::selection::apply(&state, &p, id, &f.materials).await?)))
}

/// The authority's steps: close, score, publish the result, answer objections, conclude,
/// cancel.
#[utoipa::path(post, path = "/api/v1/operation/selections/{id}/steps", tag = "operation", request_body = SelectionStep,
    params(("id" = i64, Path, description = "The selection")),
    responses((status = 200, body = SelectionOut), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn selection_step(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(step): Json<SelectionStep>,
) -> Result<Json<SelectionOut>, ApiError> {
    Ok(Json(pdp_app::selection::step(&state, &p, id, &step).await?))
}

/// An objection to a result under public notice (any signed-in account).
#[utoipa::path(post, path = "/api/v1/operation/selections/{id}/objections", tag = "operation", request_body = ReasonForm,
    params(("id" = i64, Path, description = "The selection")),
    responses((status = 200, body = SelectionOut), (status = 409, body = ErrorBody)))]
pub async fn object(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(f): Json<ReasonForm>,
) -> Result<Json<SelectionOut>, ApiError> {
    Ok(Json(pdp_app::selection::object(&state, &p, id, &f.reason).await?))
}

/// The evaluations the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/operation/evaluations", tag = "operation",
    responses((status = 200, body = Vec<Evaluation>)))]
pub async fn list_evaluations(State(state): S, Extension(p): P) -> Result<Json<Vec<Evaluation>>, ApiError> {
    Ok(Json(pdp_app::selection::evaluations(&state, &p).await?))
}

/// Records an evaluation: the platform's records over the period and the evaluator's judgement.
#[utoipa::path(post, path = "/api/v1/operation/evaluations", tag = "operation", request_body = EvaluationInput,
    responses((status = 201, body = Evaluation), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn evaluate(State(state): S, Extension(p): P, Json(f): Json<EvaluationInput>) -> Result<Response, ApiError> {
    Ok(error::created(Json(pdp_app::selection::evaluate(&state, &p, &f).await?)))
}

/// A complaint about a listed product (any signed-in account); it counts in the developer's
/// evaluation.
#[utoipa::path(post, path = "/api/v1/operation/products/{id}/complaints", tag = "operation", request_body = ReasonForm,
    params(("id" = i64, Path, description = "The product")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn complain(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(f): Json<ReasonForm>,
) -> Result<Response, ApiError> {
    pdp_app::selection::complain(&state, &p, id, &f.reason).await?;
    Ok(error::no_content())
}

/// The operator's four checks of offered social data.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SocialReviewForm {
    pub checks: Vec<pdp_app::fusion::CheckAnswer>,
}

/// Rows read inside the operation domain.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowsOut {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// A developer offers social data for fusion development: a `metadata` part (`{name, summary,
/// provider, source, legal_basis, personal, consent, fields: [{name, label}]}`) and a `file`
/// part (CSV, XLSX, JSON Lines or Parquet), loaded with validation and held for the operator's
/// review.
#[utoipa::path(post, path = "/api/v1/operation/social", tag = "operation",
    request_body(content = Object, content_type = "multipart/form-data", description = "parts `metadata` (JSON) and `file`"),
    responses((status = 201, body = pdp_storage::OpSocial), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn offer_social(
    State(state): S,
    Extension(p): P,
    mp: axum::extract::Multipart,
) -> Result<Response, ApiError> {
    let mut up = crate::social::read_upload(&state, mp).await?;
    let metadata = up.text.remove("metadata").ok_or_else(|| {
        crate::error::AppError::bad_request(
            "social_metadata_required",
            "缺少 metadata 部分",
            "the `metadata` part is missing",
        )
    })?;
    let input: pdp_domain::operation::SocialOfferInput = serde_json::from_str(&metadata).map_err(|e| {
        crate::error::AppError::bad_request(
            "social_bad_metadata",
            format!("metadata 无法解析：{e}"),
            format!("metadata: {e}"),
        )
    })?;
    let (source, filename, tmp) = crate::social::open_upload(&state, up.file).await?;
    let out = pdp_app::fusion::offer(&state, &p, &input, source, &filename).await;
    drop(tmp);
    Ok(error::created(Json(out?)))
}

/// Offered social data the caller may see.
#[utoipa::path(get, path = "/api/v1/operation/social", tag = "operation",
    responses((status = 200, body = Vec<pdp_storage::OpSocial>)))]
pub async fn list_social(State(state): S, Extension(p): P) -> Result<Json<Vec<pdp_storage::OpSocial>>, ApiError> {
    Ok(Json(pdp_app::fusion::offers(&state, &p).await?))
}

/// The operator's review: source, legality, quality, consent.
#[utoipa::path(post, path = "/api/v1/operation/social/{id}/review", tag = "operation", request_body = SocialReviewForm,
    params(("id" = i64, Path, description = "The offer")),
    responses((status = 200, body = pdp_storage::OpSocial), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn review_social(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(f): Json<SocialReviewForm>,
) -> Result<Json<pdp_storage::OpSocial>, ApiError> {
    Ok(Json(pdp_app::fusion::review(&state, &p, id, &f.checks).await?))
}

/// The social-data catalog of fusion development: what the operator let into the domain; public.
#[utoipa::path(get, path = "/api/v1/operation/social-catalog", tag = "operation",
    responses((status = 200, body = Vec<pdp_app::fusion::SocialCatalogItem>)))]
pub async fn social_catalog(State(state): S) -> Result<Json<Vec<pdp_app::fusion::SocialCatalogItem>>, ApiError> {
    Ok(Json(pdp_app::fusion::catalog(&state).await?))
}

/// Rows of approved social data, for its developer inside the domain.
#[utoipa::path(get, path = "/api/v1/operation/social/{id}/rows", tag = "operation",
    params(("id" = i64, Path, description = "The offer")),
    responses((status = 200, body = RowsOut), (status = 409, body = ErrorBody)))]
pub async fn social_sample(State(state): S, Extension(p): P, Path(id): Path<i64>) -> Result<Json<RowsOut>, ApiError> {
    let page = pdp_app::fusion::sample(&state, &p, id, 20).await?;
    Ok(Json(RowsOut { columns: page.columns, rows: page.rows }))
}

/// A data security incident of an entity.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentForm {
    pub org_id: i64,
    pub description: String,
}

/// Reports a data security incident of an operation or development entity; it counts in the
/// entity's evaluation.
#[utoipa::path(post, path = "/api/v1/operation/incidents", tag = "operation", request_body = IncidentForm,
    responses((status = 204), (status = 403, body = ErrorBody)))]
pub async fn report_incident(
    State(state): S,
    Extension(p): P,
    Json(f): Json<IncidentForm>,
) -> Result<Response, ApiError> {
    pdp_app::selection::report_incident(&state, &p, f.org_id, &f.description).await?;
    Ok(error::no_content())
}
