//! The HTTP side of `pdp_app::sources`: its JSON API handlers and their OpenAPI description.

use crate::AppState;
use crate::auth::Principal;
use crate::error;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::extract::{Json, Path, Query};
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use pdp_app::datasets::lake;
pub use pdp_app::sources::*;
use pdp_app::themes::{MemberInput, ThemeInput, ThemeOut, do_create_theme, do_list_themes, do_refresh_theme};
use pdp_storage::{AuthoritativeSource, Conflict, CrossCheckRun, DistrictReturn, ReturnDemand, Theme, ThemeMember};
use std::sync::Arc;
use utoipa::OpenApi;

type S = State<Arc<AppState>>;

type P = Extension<Principal>;

#[derive(OpenApi)]
#[openapi(
    paths(
        list_sources, set_source, remove_source, run_crosscheck, crosscheck, duplicates, base_view, subject,
        list_returns, create_return, return_data, list_return_demands, create_return_demand, meet_return_demand,
        decline_return_demand, list_themes, create_theme, refresh_theme
    ),
    components(schemas(
        AuthoritativeSource, SourceInput, CrossCheckOut, CrossCheckRun, Conflict, DuplicateOut, CollectorOut,
        BaseViewOut, BaseAttribute, BaseRow, SubjectOut, SubjectRecords, SubjectValue, DistrictReturn, ReturnInput,
        ReturnOut, ReturnRowsOut, SubjectLookup, ReturnDemand, ReturnDemandInput, MeetDemandInput, ThemeInput,
        MemberInput, ThemeOut, Theme, ThemeMember
    )),
    tags((name = "sources", description = "One number one source, cross-check, base views, district data return"))
)]
pub struct SourcesDoc;

// ---------------------------------------------------------------- authoritative sources

/// Authoritative sources of data elements.
#[utoipa::path(get, path = "/api/v1/sources", tag = "sources",
    responses((status = 200, body = Vec<AuthoritativeSource>)))]
pub async fn list_sources(State(state): S) -> Result<Json<Vec<AuthoritativeSource>>, ApiError> {
    Ok(Json(state.storage.list_sources().await?))
}

/// Names the authoritative source of an element (replacing an earlier one).
#[utoipa::path(post, path = "/api/v1/sources", tag = "sources", request_body = SourceInput,
    responses((status = 200, body = AuthoritativeSource), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_source(
    State(state): S,
    Extension(p): P,
    Json(body): Json<SourceInput>,
) -> Result<Json<AuthoritativeSource>, ApiError> {
    let input = body;
    Ok(Json(do_set_source(&state, &p, &input).await?))
}

/// Removes the assignment of an element's source.
#[utoipa::path(delete, path = "/api/v1/sources/{subject}/{element}", tag = "sources",
    params(("subject" = String, Path), ("element" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn remove_source(
    State(state): S,
    Extension(p): P,
    Path(path): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (subject, element) = path;
    city_authority(&state, &p).await?;
    let kind = parse_kind(&subject)?;
    if state.storage.remove_source(kind, &element, p.event("source.remove", "")).await? {
        Ok(error::no_content())
    } else {
        Err(ApiError(AppError::not_found(&format!("source of {subject}/{element}"))))
    }
}

/// Runs the cross-check now and returns its first conflicts.
#[utoipa::path(post, path = "/api/v1/crosscheck", tag = "sources",
    responses((status = 200, body = CrossCheckOut), (status = 403, body = ErrorBody)))]
pub async fn run_crosscheck(State(state): S, Extension(p): P) -> Result<Json<CrossCheckOut>, ApiError> {
    city_authority(&state, &p).await?;
    let run =
        do_crosscheck(state.storage.as_ref(), lake(&state)?, &p.user.username, p.event("crosscheck.run", "")).await?;
    let conflicts = state.storage.list_conflicts(run.id, None, 0, 100).await?;
    Ok(Json(CrossCheckOut { run: Some(run), conflicts }))
}

/// The latest cross-check's conflicts, each with both values and both sources.
#[utoipa::path(get, path = "/api/v1/crosscheck", tag = "sources", params(ConflictParams),
    responses((status = 200, body = CrossCheckOut)))]
pub async fn crosscheck(
    State(state): S,
    Extension(p): P,
    Query(q): Query<ConflictParams>,
) -> Result<Json<CrossCheckOut>, ApiError> {
    Ok(Json(do_read_conflicts(&state, &p, &q).await?))
}

/// Duplicate collection: elements about the same subjects that more than one organisation
/// collects, from the catalog (R-AGG-03).
#[utoipa::path(get, path = "/api/v1/catalog/duplicates", tag = "sources",
    responses((status = 200, body = Vec<DuplicateOut>)))]
pub async fn duplicates(State(state): S) -> Result<Json<Vec<DuplicateOut>>, ApiError> {
    Ok(Json(do_duplicates(&state).await?))
}

/// A page of a base database's view (audited): `person` (population), `legal_entity`,
/// `spatial`, `credit` or `licence`.
#[utoipa::path(get, path = "/api/v1/base/{subject}", tag = "sources",
    params(("subject" = String, Path, description = "the base database: person, legal_entity, spatial, credit or licence"), BaseParams),
    responses((status = 200, body = BaseViewOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn base_view(
    State(state): S,
    Extension(p): P,
    Path(kind): Path<String>,
    Query(q): Query<BaseParams>,
) -> Result<Json<BaseViewOut>, ApiError> {
    let db = parse_database(&kind)?;
    Ok(Json(do_base_view(&state, &p, db, &q).await?))
}

/// One person or legal entity across every dataset about it (audited).
#[utoipa::path(post, path = "/api/v1/subjects/{subject}/lookup", tag = "sources",
    params(("subject" = String, Path)), request_body = SubjectLookup,
    responses((status = 200, body = SubjectOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn subject(
    State(state): S,
    Extension(p): P,
    Path(kind): Path<String>,
    Json(body): Json<SubjectLookup>,
) -> Result<Json<SubjectOut>, ApiError> {
    Ok(Json(do_subject(&state, &p, parse_kind(&kind)?, &body.key).await?))
}

/// The theme databases: each a catalog entry and dataset of its own, rebuilt from its members.
#[utoipa::path(get, path = "/api/v1/themes", tag = "sources", responses((status = 200, body = Vec<ThemeOut>)))]
pub async fn list_themes(State(state): S) -> Result<Json<Vec<ThemeOut>>, ApiError> {
    Ok(Json(do_list_themes(&state).await?))
}

/// Defines a theme database (the city's authority): its entry is published under the lead
/// organisation and its first version built from the members.
#[utoipa::path(post, path = "/api/v1/themes", tag = "sources", request_body = ThemeInput,
    responses((status = 201, body = ThemeOut), (status = 400, body = ErrorBody, description = "e.g. `theme_field_clash`, `theme_mixed_subjects`"),
        (status = 403, body = ErrorBody)))]
pub async fn create_theme(
    State(state): S,
    Extension(p): P,
    Json(body): Json<ThemeInput>,
) -> Result<Response, ApiError> {
    Ok(error::created(Json(do_create_theme(&state, &p, &body).await?)))
}

/// Rebuilds a theme from its members' current versions now.
#[utoipa::path(post, path = "/api/v1/themes/{id}/refresh", tag = "sources", params(("id" = i64, Path)),
    responses((status = 200, body = ThemeOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn refresh_theme(State(state): S, Extension(p): P, Path(id): Path<i64>) -> Result<Json<ThemeOut>, ApiError> {
    Ok(Json(do_refresh_theme(&state, &p, id).await?))
}

/// Sets up a standing return of a dataset's rows about a district to that district.
#[utoipa::path(post, path = "/api/v1/returns", tag = "sources", request_body = ReturnInput,
    responses((status = 200, body = ReturnOut), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_return(
    State(state): S,
    Extension(p): P,
    Json(body): Json<ReturnInput>,
) -> Result<Json<ReturnOut>, ApiError> {
    let input = body;
    Ok(Json(do_create_return(&state, &p, &input).await?))
}

/// District returns: all of them for the city authority, the own district's for others.
#[utoipa::path(get, path = "/api/v1/returns", tag = "sources", responses((status = 200, body = Vec<ReturnOut>)))]
pub async fn list_returns(State(state): S, Extension(p): P) -> Result<Json<Vec<ReturnOut>>, ApiError> {
    Ok(Json(do_list_returns(&state, &p).await?))
}

/// Rows of a returned subset: only those about the district, at the dataset's latest version.
#[utoipa::path(get, path = "/api/v1/returns/{id}/data", tag = "sources",
    params(("id" = i64, Path), ReturnRowsParams),
    responses((status = 200, body = ReturnRowsOut), (status = 403, body = ErrorBody)))]
pub async fn return_data(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Query(q): Query<ReturnRowsParams>,
) -> Result<Json<ReturnRowsOut>, ApiError> {
    Ok(Json(do_return_rows(&state, &p, id, &q).await?))
}

/// The district return demands (回流需求清单): every district's for the city authority, the own
/// district's for a district's organisations.
#[utoipa::path(get, path = "/api/v1/returns/demands", tag = "sources",
    responses((status = 200, body = Vec<ReturnDemand>), (status = 403, body = ErrorBody)))]
pub async fn list_return_demands(State(state): S, Extension(p): P) -> Result<Json<Vec<ReturnDemand>>, ApiError> {
    Ok(Json(do_list_return_demands(&state, &p).await?))
}

/// A district lists city data it needs returned.
#[utoipa::path(post, path = "/api/v1/returns/demands", tag = "sources", request_body = ReturnDemandInput,
    responses((status = 201, body = ReturnDemand), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_return_demand(
    State(state): S,
    Extension(p): P,
    Json(input): Json<ReturnDemandInput>,
) -> Result<Response, ApiError> {
    Ok(error::created(Json(do_create_return_demand(&state, &p, &input).await?)))
}

/// The city authority meets a demand with a return of a dataset to the district.
#[utoipa::path(post, path = "/api/v1/returns/demands/{id}/meet", tag = "sources", params(("id" = i64, Path)),
    request_body = MeetDemandInput,
    responses((status = 200, body = ReturnDemand), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn meet_return_demand(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(input): Json<MeetDemandInput>,
) -> Result<Json<ReturnDemand>, ApiError> {
    Ok(Json(do_meet_return_demand(&state, &p, id, &input).await?))
}

/// The city authority declines a demand with its reason.
#[utoipa::path(post, path = "/api/v1/returns/demands/{id}/decline", tag = "sources", params(("id" = i64, Path)),
    request_body = pdp_app::sharing::ReasonInput,
    responses((status = 200, body = ReturnDemand), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn decline_return_demand(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(input): Json<pdp_app::sharing::ReasonInput>,
) -> Result<Json<ReturnDemand>, ApiError> {
    Ok(Json(do_decline_return_demand(&state, &p, id, &input.reason).await?))
}
