//! Withdrawing a published catalog entry, through review like publishing it (R-CAT-06).
//!
//! The providing organisation asks, with a reason; the answer states the consequences before
//! anyone decides: which grants on the entry will be revoked and which open requests refused.
//! A reviewer whose region covers the organisation, and who did not ask, approves or rejects.
//! Approval withdraws the published version (the entry leaves the published catalog and the
//! search index, its data stays in the lake under the retention rules), revokes every active
//! or suspended grant on it and refuses every open request for it, all in one transaction with
//! its audit event; the grants' masked copies are deleted.

use crate::App;
use crate::Principal;
use crate::catalog::review_scope;
use crate::error::AppError;
use pdp_domain::catalog::WithdrawalStatus;
use pdp_domain::roles::Permission;
use pdp_domain::sharing::GrantStatus;
use pdp_storage::{GrantQuery, RequestQuery, Withdrawal, WithdrawalEffects};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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

/// A decision's reason: required, at most 2000 characters, trimmed.
pub(crate) fn reason_of(reason: &str) -> Result<&str, AppError> {
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
async fn foreseen(state: &App, entry_id: i64, org_id: i64) -> Result<WithdrawalEffects, AppError> {
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

async fn out(state: &App, w: Withdrawal, effects: Option<WithdrawalEffects>) -> Result<WithdrawalOut, AppError> {
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
pub async fn do_request(state: &App, p: &Principal, entry_id: i64, reason: &str) -> Result<WithdrawalOut, AppError> {
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

/// The pending request to withdraw an entry, if there is one, with what approval would do.
pub async fn pending_of(state: &App, entry_id: i64) -> Result<Option<WithdrawalOut>, AppError> {
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

/// Withdrawal requests the caller may see: its organisation's, and those of the organisations it
/// reviews.
pub async fn do_list(state: &App, p: &Principal) -> Result<Vec<WithdrawalOut>, AppError> {
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

/// A reviewer in scope, who did not ask, decides.
pub async fn do_decide(
    state: &App,
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
        crate::open::catalog_changed(state);
        for g in &effects.revoked_grants {
            crate::share_files::remove_share_files(state, *g, None);
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
