//! The HTTP side of `pdp_app::admin`: its JSON API handlers and their OpenAPI description.

use crate::AppState;
use crate::auth::{Principal, Via};
use crate::error;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::extract::{Json, Path, Query};
use axum::Extension;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
pub use pdp_app::admin::*;
use pdp_storage::*;
use std::sync::Arc;
use utoipa::OpenApi;

type S = State<Arc<AppState>>;

type P = Extension<Principal>;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "PDP 公共数据平台 API",
        description = "JSON API of the Public Data Platform. Authenticate with `Authorization: Bearer pdp_<id>_<secret>` (an API key) or a session cookie plus `X-CSRF-Token`. Errors are `{code, message, type}`.",
        version = "1"
    ),
    paths(
        me, list_regions, create_region, list_orgs, create_org, get_org, list_officers, create_officer,
        list_users, create_user, set_roles, set_subject, list_api_keys, create_api_key, revoke_api_key,
        search_audit, audit_csv, list_checkpoints, verify_audit
    ),
    components(schemas(
        ErrorBody, Me, Region, RegionInput, Organisation, OrgInput, OrgCreated, DataOfficer, OfficerInput,
        User, UserInput, RolesInput, SubjectInput, ApiKey, ApiKeyInput, ApiKeyCreated, EventOut, CheckpointOut, VerifyResult
    )),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "identity", description = "Accounts, roles and API keys"),
        (name = "organisations", description = "Regions, organisations and data officers"),
        (name = "audit", description = "The tamper-evident audit log")
    )
)]
pub struct ApiDoc;

#[utoipa::path(get, path = "/api/v1/me", tag = "identity", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(Extension(p): P) -> Json<Me> {
    let mut permissions: Vec<String> = p
        .user
        .roles
        .iter()
        .flat_map(|r| r.permissions().iter())
        .map(|perm| serde_json::to_value(perm).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default())
        .collect();
    permissions.sort();
    permissions.dedup();
    let via = match p.via {
        Via::Session { .. } => "session",
        Via::ApiKey { .. } => "api_key",
    };
    Json(Me { org_id: p.org_id, user: (*p.user).clone(), permissions, via: via.into() })
}

#[utoipa::path(get, path = "/api/v1/regions", tag = "organisations", responses((status = 200, body = [Region])))]
pub async fn list_regions(State(state): S) -> Result<Json<Vec<Region>>, ApiError> {
    Ok(Json(state.storage.list_regions().await?))
}

#[utoipa::path(post, path = "/api/v1/regions", tag = "organisations", request_body = RegionInput,
    responses((status = 201, body = Region), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_region(
    State(state): S,
    Extension(p): P,
    Json(body): Json<RegionInput>,
) -> Result<Response, ApiError> {
    let r = do_create_region(&state, &p, body).await?;
    Ok(error::created(Json(r)))
}

#[utoipa::path(get, path = "/api/v1/orgs", tag = "organisations", responses((status = 200, body = [Organisation])))]
pub async fn list_orgs(State(state): S) -> Result<Json<Vec<Organisation>>, ApiError> {
    Ok(Json(state.storage.list_orgs().await?))
}

#[utoipa::path(post, path = "/api/v1/orgs", tag = "organisations", request_body = OrgInput,
    responses((status = 201, body = OrgCreated), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_org(State(state): S, Extension(p): P, Json(body): Json<OrgInput>) -> Result<Response, ApiError> {
    let created = do_create_org(&state, &p, body).await?;
    Ok(error::created(Json(created)))
}

#[utoipa::path(get, path = "/api/v1/orgs/{id}", tag = "organisations", params(("id" = i64, Path)),
    responses((status = 200, body = Organisation), (status = 404, body = ErrorBody)))]
pub async fn get_org(State(state): S, Path(id): Path<i64>) -> Result<Json<Organisation>, ApiError> {
    Ok(state.storage.get_org(id).await?.map(Json).ok_or_else(|| AppError::not_found(&format!("org:{id}")))?)
}

#[utoipa::path(get, path = "/api/v1/orgs/{id}/officers", tag = "organisations", params(("id" = i64, Path)),
    responses((status = 200, body = [DataOfficer])))]
pub async fn list_officers(State(state): S, Path(id): Path<i64>) -> Result<Json<Vec<DataOfficer>>, ApiError> {
    Ok(Json(state.storage.list_officers(Some(id)).await?))
}

#[utoipa::path(post, path = "/api/v1/orgs/{id}/officers", tag = "organisations", params(("id" = i64, Path)), request_body = OfficerInput,
    responses((status = 201, body = DataOfficer), (status = 400, body = ErrorBody)))]
pub async fn create_officer(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<OfficerInput>,
) -> Result<Response, ApiError> {
    let o = do_create_officer(&state, &p, id, body).await?;
    Ok(error::created(Json(o)))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "identity", responses((status = 200, body = [User])))]
pub async fn list_users(State(state): S, Extension(p): P) -> Result<Json<Vec<User>>, ApiError> {
    state.audit.append(p.event("user.list", "users")).await?;
    Ok(Json(state.storage.list_users().await?))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "identity", request_body = UserInput,
    responses((status = 201, body = User), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_user(State(state): S, Extension(p): P, Json(body): Json<UserInput>) -> Result<Response, ApiError> {
    let u = create_account(state.storage.as_ref(), Some(&p), body).await?;
    Ok(error::created(Json(u)))
}

#[utoipa::path(put, path = "/api/v1/users/{id}/roles", tag = "identity", params(("id" = i64, Path)), request_body = RolesInput,
    responses((status = 200, body = User), (status = 400, body = ErrorBody, description = "e.g. `separation_of_duties`")))]
pub async fn set_roles(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<RolesInput>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(do_set_roles(&state, &p, id, body).await?))
}

#[utoipa::path(put, path = "/api/v1/users/{id}/subject", tag = "identity", params(("id" = i64, Path)), request_body = SubjectInput,
    responses((status = 200, body = User), (status = 400, body = ErrorBody, description = "e.g. `citizen_id_checksum`, `subject_public_accounts_only`"),
        (status = 409, body = ErrorBody, description = "`subject_taken`")))]
pub async fn set_subject(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<SubjectInput>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(do_bind_subject(&state, &p, id, &body).await?))
}

#[utoipa::path(get, path = "/api/v1/api-keys", tag = "identity", responses((status = 200, body = [ApiKey])))]
pub async fn list_api_keys(State(state): S, Extension(p): P) -> Result<Json<Vec<ApiKey>>, ApiError> {
    Ok(Json(visible_keys(&state, &p).await?))
}

#[utoipa::path(post, path = "/api/v1/api-keys", tag = "identity", request_body = ApiKeyInput,
    responses((status = 201, body = ApiKeyCreated), (status = 400, body = ErrorBody)))]
pub async fn create_api_key(
    State(state): S,
    Extension(p): P,
    Json(body): Json<ApiKeyInput>,
) -> Result<Response, ApiError> {
    let created = do_create_api_key(&state, &p, body).await?;
    Ok(error::created(Json(created)))
}

#[utoipa::path(post, path = "/api/v1/api-keys/{id}/revoke", tag = "identity", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke_api_key(State(state): S, Extension(p): P, Path(id): Path<i64>) -> Result<Response, ApiError> {
    do_revoke_api_key(&state, &p, id).await?;
    Ok(error::no_content())
}

#[utoipa::path(get, path = "/api/v1/audit/events", tag = "audit", params(AuditQuery),
    responses((status = 200, body = [EventOut]), (status = 403, body = ErrorBody)))]
pub async fn search_audit(
    State(state): S,
    Extension(p): P,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<EventOut>>, ApiError> {
    let events = audited_search(&state, &p, &q, "audit.search").await?;
    Ok(Json(events.into_iter().map(EventOut::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/audit/events.csv", tag = "audit", params(AuditQuery),
    responses((status = 200, content_type = "text/csv", body = String)))]
pub async fn audit_csv(
    State(state): S,
    Extension(p): P,
    Query(mut q): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    q.limit = Some(q.limit.unwrap_or(10_000));
    let events = audited_search(&state, &p, &q, "audit.export").await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"pdp-audit.csv\""),
        ],
        events_csv(events),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/audit/checkpoints", tag = "audit", responses((status = 200, body = [CheckpointOut])))]
pub async fn list_checkpoints(State(state): S) -> Result<Json<Vec<CheckpointOut>>, ApiError> {
    Ok(Json(state.storage.list_checkpoints().await?.into_iter().map(CheckpointOut::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/audit/verify", tag = "audit", responses((status = 200, body = VerifyResult)))]
pub async fn verify_audit(State(state): S, Extension(p): P) -> Result<Json<VerifyResult>, ApiError> {
    Ok(Json(do_verify(&state, &p).await?))
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
