//! The HTTP side of `pdp_app::documents`: its JSON API handlers and their OpenAPI description.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path};
use axum::Extension;
use axum::extract::State;
pub use pdp_app::documents::*;
use std::sync::Arc;
use utoipa::OpenApi;

type S = State<Arc<AppState>>;

type P = Extension<Principal>;

#[derive(OpenApi)]
#[openapi(
    paths(fetch, verify),
    components(schemas(FetchInput, DocumentsOut, DocumentOut, VerifyDocumentInput, DocumentVerdict)),
    tags((name = "documents", description = "Electronic licences fetched under a grant instead of paper, and their verification"))
)]
pub struct DocumentsDoc;

/// Fetches the electronic licences of an applicant under a view grant on a licence resource.
///
/// The applicant's identifier is posted in the body, never put in the URL.
#[utoipa::path(post, path = "/api/v1/share/grants/{id}/documents", tag = "documents", params(("id" = i64, Path)),
    request_body = FetchInput,
    responses((status = 200, body = DocumentsOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn fetch(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Json(body): Json<FetchInput>,
) -> Result<Json<DocumentsOut>, ApiError> {
    let input = body;
    Ok(Json(do_fetch(&state, &p, id, &input.holder).await?))
}

/// Verifies an electronic document: was it fetched through the platform with exactly these
/// contents? Looks the digest up in the audit chain.
#[utoipa::path(post, path = "/api/v1/documents/verify", tag = "documents", request_body = VerifyDocumentInput,
    responses((status = 200, body = DocumentVerdict), (status = 400, body = ErrorBody)))]
pub async fn verify(
    State(state): S,
    Extension(p): P,
    Json(body): Json<VerifyDocumentInput>,
) -> Result<Json<DocumentVerdict>, ApiError> {
    Ok(Json(do_verify(&state, &p, &body).await?))
}
