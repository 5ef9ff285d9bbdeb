//! Withdrawing a published catalog entry, through review like publishing it (R-CAT-06).
//!
//! The providing organisation asks, with a reason; the answer states the consequences before
//! anyone decides: which grants on the entry will be revoked and which open requests refused.
//! A reviewer whose region covers the organisation, and who did not ask, approves or rejects.
//! Approval withdraws the published version (the entry leaves the published catalog and the
//! search index, its data stays in the lake under the retention rules), revokes every active
//! or suspended grant on it and refuses every open request for it, all in one transaction with
//! its audit event; the grants' masked copies are deleted.

use std::sync::Arc;

use axum::Extension;
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pdp_domain::catalog::WithdrawalStatus;
use pdp_domain::roles::Permission;
use pdp_domain::sharing::GrantStatus;
use pdp_storage::{GrantQuery, RequestQuery, Withdrawal, WithdrawalEffects};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::AppState;
use crate::auth::Principal;
use crate::catalog::{json_or, path_or, review_scope};
use crate::error::{ApiError, AppError, ErrorBody};

type S = State<Arc<AppState>>;
type P = Extension<Principal>;

#[derive(OpenApi)]
#[openapi(
    paths(request, list, approve, reject),
    components(schemas(WithdrawalInput, WithdrawalOut, DecisionInput, Withdrawal, WithdrawalEffects)),
    tags((name = "catalog", description = "The resource catalog"))
)]
pub struct WithdrawalsDoc;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalInput {
    /// Why the entry is withdrawn (e.g. the legal basis lapsed, the system was retired).
    pub reason: String,
}

/// A withdrawal request with what it does or did.
#[derive(Debug, Serialize, ToSchema)]
pub struct WithdrawalOut {
    #[serde(flatten)]
    pub w: Withdrawal,
    pub code: String,
    pub name: String,
    /// Pending: the grants and requests approval would revoke and refuse. Decided: what it did.
    pub effects: WithdrawalEffects,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub reason: String,
}

fn reason_of(reason: &str) -> Result<&str, AppError> {
    let r = reason.trim();
    if r.is_empty() || r.chars().count() > 2000 {
        return Err(AppError::bad_request(
            "reason_required",
            "请说明理由（2000 字以内）",
            "give a reason (at most 2000 characters)",
        ));
    }
    Ok(r)
}

/// What approval would do now: the entry's grants that serve or may serve again, and its
/// requests still open.
async fn foreseen(state: &AppState, entry_id: i64, org_id: i64) -> Result<WithdrawalEffects, AppError> {
    let grants = state.storage.list_grants(&GrantQuery { entry_id: Some(entry_id), ..Default::default() }).await?;
    let requests =
        state.storage.list_requests(&RequestQuery { provider_org: Some(org_id), ..Default::default() }).await?;
    let mut e = WithdrawalEffects {
        revoked_grants: grants
            .iter()
            .filter(|g| matches!(g.status, GrantStatus::Active | GrantStatus::Suspended))
            .map(|g| g.id)
            .collect(),
        refused_requests: requests
            .iter()
            .filter(|r| r.entry_id == entry_id && r.status.is_open())
            .map(|r| r.id)
            .collect(),
    };
    e.revoked_grants.sort_unstable();
    e.refused_requests.sort_unstable();
    Ok(e)
}

async fn out(state: &AppState, w: Withdrawal, effects: Option<WithdrawalEffects>) -> Result<WithdrawalOut, AppError> {
    let e = state.storage.get_entry(w.entry_id).await?;
    let effects = match (effects, &e) {
        (Some(effects), _) => effects,
        (None, Some(e)) if w.status == WithdrawalStatus::Pending => foreseen(state, w.entry_id, e.org_id).await?,
        (None, _) => WithdrawalEffects::default(),
    };
    Ok(WithdrawalOut {
        code: e.as_ref().map(|e| e.code.clone()).unwrap_or_default(),
        name: e.map(|e| e.body.name).unwrap_or_default(),
        effects,
        w,
    })
}

/// The providing organisation asks to withdraw its published entry.
pub async fn do_request(
    state: &AppState,
    p: &Principal,
    entry_id: i64,
    reason: &str,
) -> Result<WithdrawalOut, AppError> {
    let reason = reason_of(reason)?;
    let e = state
        .storage
        .get_entry(entry_id)
        .await?
        .ok_or_else(|| AppError::not_found(&format!("catalog entry {entry_id}")))?;
    if !p.allows(Permission::EditCatalog) || p.org_id != Some(e.org_id) {
        return Err(AppError::not_allowed(
            "catalog_not_your_org",
            "只能撤销本单位的目录",
            "you can only withdraw your own organisation's entries",
        ));
    }
    let Some(version) = e.published_version else {
        return Err(AppError::conflict(
            "catalog_not_published",
            "该条目尚未发布，未发布的条目可直接删除",
            "the entry is not published; an unpublished entry can be deleted instead",
        ));
    };
    let ev = p
        .event("catalog.entry.withdrawal.request", "")
        .with_detail(serde_json::json!({ "version": version, "reason": reason }).to_string());
    let w = state.storage.request_withdrawal(entry_id, version, reason, Some(p.user.id), ev).await?;
    out(state, w, None).await
}

/// Asks to withdraw a published entry; the answer lists the grants approval would revoke and
/// the requests it would refuse.
#[utoipa::path(post, path = "/api/v1/catalog/entries/{id}/withdrawal", tag = "catalog", params(("id" = i64, Path)),
    request_body = WithdrawalInput,
    responses((status = 201, body = WithdrawalOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn request(
    State(state): S,
    Extension(p): P,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<WithdrawalInput>, JsonRejection>,
) -> Result<(StatusCode, Json<WithdrawalOut>), ApiError> {
    let id = path_or(id)?;
    let input = json_or(body)?;
    Ok((StatusCode::CREATED, Json(do_request(&state, &p, id, &input.reason).await?)))
}

/// The pending request to withdraw an entry, if there is one, with what approval would do.
pub async fn pending_of(state: &AppState, entry_id: i64) -> Result<Option<WithdrawalOut>, AppError> {
    let pending = state
        .storage
        .list_withdrawals()
        .await?
        .into_iter()
        .find(|w| w.entry_id == entry_id && w.status == WithdrawalStatus::Pending);
    match pending {
        Some(w) => Ok(Some(out(state, w, None).await?)),
        None => Ok(None),
    }
}

/// `POST /catalog/entries/{id}/withdrawal` from the entry's page.
pub async fn request_submit(State(state): S, Extension(p): P, Path(id): Path<i64>, body: String) -> crate::pages::Page {
    let reason = crate::pages::field(&body, "reason");
    let r = do_request(&state, &p, id, &reason).await;
    r.and_then(|_| crate::pages::see_other(&format!("/catalog/entries/{id}?ok=withdrawal"))).into()
}

/// `POST /catalog/withdrawals/{id}/approve|reject` from the entry's page.
pub async fn decide_submit(
    State(state): S,
    Extension(p): P,
    Path((id, action)): Path<(i64, String)>,
    body: String,
) -> crate::pages::Page {
    let reason = crate::pages::field(&body, "reason");
    let r = match action.as_str() {
        "approve" | "reject" => do_decide(&state, &p, id, action == "approve", &reason).await,
        _ => Err(AppError::not_found(&format!("withdrawal action {action}"))),
    };
    r.and_then(|w| crate::pages::see_other(&format!("/catalog/entries/{}?ok={}", w.w.entry_id, w.w.status.as_str())))
        .into()
}

/// Withdrawal requests the caller may see: its organisation's, and those of the organisations it
/// reviews.
pub async fn do_list(state: &AppState, p: &Principal) -> Result<Vec<WithdrawalOut>, AppError> {
    let scope = review_scope(state, p).await?;
    let mut outs = Vec::new();
    for w in state.storage.list_withdrawals().await? {
        let Some(e) = state.storage.get_entry(w.entry_id).await? else { continue };
        if p.org_id == Some(e.org_id) || scope.contains(e.org_id) {
            outs.push(out(state, w, None).await?);
        }
    }
    Ok(outs)
}

#[utoipa::path(get, path = "/api/v1/catalog/withdrawals", tag = "catalog",
    responses((status = 200, body = Vec<WithdrawalOut>)))]
pub async fn list(State(state): S, Extension(p): P) -> Result<Json<Vec<WithdrawalOut>>, ApiError> {
    Ok(Json(do_list(&state, &p).await?))
}

/// A reviewer in scope, who did not ask, decides.
pub async fn do_decide(
    state: &AppState,
    p: &Principal,
    id: i64,
    approve: bool,
    reason: &str,
) -> Result<WithdrawalOut, AppError> {
    let reason = reason_of(reason)?;
    let w = state.storage.get_withdrawal(id).await?.ok_or_else(|| AppError::not_found(&format!("withdrawal {id}")))?;
    let e = state
        .storage
        .get_entry(w.entry_id)
        .await?
        .ok_or_else(|| AppError::not_found(&format!("catalog entry {}", w.entry_id)))?;
    crate::catalog::require_reviewer_of(state, p, e.org_id).await?;
    if w.requested_by == Some(p.user.id) {
        return Err(AppError::not_allowed(
            "catalog_own_version",
            "不能审核自己提出的申请",
            "you cannot review your own request",
        ));
    }
    let action = if approve { "catalog.entry.withdrawal.approve" } else { "catalog.entry.withdrawal.reject" };
    let mut ev = p.event(action, "");
    ev.purpose = reason.into();
    let (w, effects) = state.storage.decide_withdrawal(id, approve, Some(p.user.id), reason, ev).await?;
    if approve {
        for g in &effects.revoked_grants {
            crate::delta_sharing::remove_share_files(state, *g, None);
        }
        if let Some(index) = state.catalog.index.clone() {
            let entry = w.entry_id;
            let removed = tokio::task::spawn_blocking(move || index.remove(entry)).await;
            if !matches!(removed, Ok(Ok(()))) {
                tracing::error!(entry, "search index not updated; run `pdp catalog reindex`");
            }
        }
    }
    out(state, w, Some(effects)).await
}

#[utoipa::path(post, path = "/api/v1/catalog/withdrawals/{id}/approve", tag = "catalog", params(("id" = i64, Path)),
    request_body = DecisionInput,
    responses((status = 200, body = WithdrawalOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn approve(
    State(state): S,
    Extension(p): P,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<DecisionInput>, JsonRejection>,
) -> Result<Json<WithdrawalOut>, ApiError> {
    let id = path_or(id)?;
    Ok(Json(do_decide(&state, &p, id, true, &json_or(body)?.reason).await?))
}

#[utoipa::path(post, path = "/api/v1/catalog/withdrawals/{id}/reject", tag = "catalog", params(("id" = i64, Path)),
    request_body = DecisionInput,
    responses((status = 200, body = WithdrawalOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reject(
    State(state): S,
    Extension(p): P,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<DecisionInput>, JsonRejection>,
) -> Result<Json<WithdrawalOut>, ApiError> {
    let id = path_or(id)?;
    Ok(Json(do_decide(&state, &p, id, false, &json_or(body)?.reason).await?))
}
