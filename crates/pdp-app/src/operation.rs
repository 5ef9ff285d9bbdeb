//! Authorized operation (授权运营, R-OPS): the administrative life cycle of the operation entity
//! and the development entities, from their agreements to their exit.
//!
//! Three parties act, each scoped to its organisation: the city's data authority (permission
//! `GovernOperation`, its accounts in the authority's organisation) signs the operation
//! agreement, confirms the operation resource catalog and the applications, and supervises;
//! the operator (`RunOperation`, the party of the operation agreement in force) admits
//! developers, publishes the development catalog, reviews applications and products and
//! registers sales; a developer (`DevelopProducts`, the party of a development agreement in
//! force) applies per scenario and submits products. The data's providers confirm what an
//! application lists of their data (`ApproveShare`). Nobody acts under an agreement that is not
//! in force on the day.
//!
//! An approved scenario application opens exactly its list in the operation domain: a masked
//! copy of the listed fields of each listed entry, written under `_operation/org-{id}/` beside
//! the lake, read only by that developer while the application runs, and deleted when it
//! expires or the developer exits. The exit procedure ends the entity's agreements, closes its
//! applications, delists its products and deletes its operation-domain files, recording each
//! file's size and SHA-256 in the exit record; the entity's operation log is then kept for six
//! months whatever the retention period.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use pdp_domain::catalog::{MaskRule, Violation};
use pdp_domain::operation::{
    AgreementAction, AgreementKind, AgreementStatus, AgreementTerms, ApplicationState, Bounds, ExitGround, FieldRef,
    PointAnswer, ProductInput, ProductStatus, ReviewStage, ScenarioInput, UseKind, agreement_transition,
    check_agreement, check_product, check_scenario, decide_review, effective_pricing, logs_kept_until, opens,
    price_for, split,
};
use pdp_domain::org::OrgKind;
use pdp_domain::roles::Permission;
use pdp_lake::share::{ColumnFilter, Selection};
use pdp_storage::{
    Agreement, AgreementChange, DestroyedFile, ExitEffects, ExitRecord, NewAgreement, NewExit, NewProduct,
    NewScenarioApplication, OpCatalogItem, OpCatalogStatus, OpLogLine, Product, ReviewStep, ReviewedPoint, Sale,
    ScenarioApplication,
};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::clock::{now_micros, today_date};
use crate::datasets::{lake, published_entry_of};
use crate::error::{AppError, ErrorKind, ViolationOut};
use crate::{App, Principal};

/// How applications are reviewed and how long the operation log is kept (`operation.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationSettings {
    /// The review chain of a scenario application, the operator first.
    pub chain: Vec<ReviewStage>,
    /// Working days each stage has to decide.
    pub stage_working_days: u32,
    /// Days the operation log is kept (an exited entity's at least six months from its exit).
    pub log_retention_days: u32,
}

impl Default for OperationSettings {
    fn default() -> Self {
        Self {
            chain: vec![ReviewStage::Operator, ReviewStage::Provider, ReviewStage::Authority],
            stage_working_days: 5,
            log_retention_days: 365,
        }
    }
}

/// The most rows a sample read returns.
pub const MAX_SAMPLE_ROWS: usize = 100;

/// The most applications, or products, one developer has under review at once.
pub const MAX_WAITING: usize = 50;

pub(crate) fn invalid(code: &'static str, violations: &[Violation]) -> AppError {
    AppError::bad_request(
        code,
        format!("有 {} 处不符合规则", violations.len()),
        format!("{} rule(s) broken", violations.len()),
    )
    .with_details(violations.iter().map(ViolationOut::from).collect())
}

pub(crate) fn reason_of(reason: &str) -> Result<String, AppError> {
    crate::withdrawals::reason_of(reason).map(str::to_string)
}

pub(crate) fn denied(zh: &str, en: &str) -> AppError {
    AppError::not_allowed("operation_not_allowed", zh, en)
}

/// Whether an agreement permits anything on `today`.
fn active(a: &Agreement, today: Date) -> bool {
    a.status == AgreementStatus::InForce && a.starts_on <= today && today <= a.ends_on
}

/// The city's data authority, checked to be `p`'s organisation.
pub(crate) async fn as_authority(state: &App, p: &Principal) -> Result<i64, AppError> {
    let host = crate::social::host(state.storage.as_ref()).await?;
    if !p.allows(Permission::GovernOperation) || p.org_id != Some(host) {
        return Err(denied("只有市级数据主管部门可以执行此操作", "only the city's data authority may do this"));
    }
    Ok(host)
}

/// The operation agreement in force today, if any.
async fn operation_in_force(state: &App) -> Result<Option<Agreement>, AppError> {
    let today = today_date();
    Ok(state
        .storage
        .list_agreements()
        .await?
        .into_iter()
        .find(|a| a.kind == AgreementKind::Operation && active(a, today)))
}

/// `p` as the operator: its operation agreement in force.
pub(crate) async fn as_operator(state: &App, p: &Principal) -> Result<Agreement, AppError> {
    let op = operation_in_force(state).await?;
    match op {
        Some(a) if p.allows(Permission::RunOperation) && p.org_id == Some(a.party_org_id) => Ok(a),
        _ => Err(denied(
            "只有持有生效授权运营协议的运营主体可以执行此操作",
            "only the operation entity with an operation agreement in force may do this",
        )),
    }
}

/// `p` as a developer: its development agreement in force and the operation agreement above it.
async fn as_developer(state: &App, p: &Principal) -> Result<(Agreement, Agreement), AppError> {
    let today = today_date();
    let all = state.storage.list_agreements().await?;
    let found = all
        .iter()
        .find(|a| a.kind == AgreementKind::Development && Some(a.party_org_id) == p.org_id && active(a, today));
    let parent = found.and_then(|d| all.iter().find(|a| Some(a.id) == d.parent_id && active(a, today)));
    match (found, parent) {
        (Some(d), Some(o)) if p.allows(Permission::DevelopProducts) => Ok((d.clone(), o.clone())),
        _ => Err(denied(
            "只有持有生效授权开发协议的开发主体可以执行此操作",
            "only a development entity with a development agreement in force may do this",
        )),
    }
}

// ----- Agreements -----

/// An agreement to sign, or a renewal of one.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreementInput {
    /// `operation` (the authority with the operation entity) or `development` (the operator
    /// with a development entity).
    #[schema(value_type = String, example = "development")]
    pub kind: AgreementKind,
    /// The organisation authorized.
    pub party_org_id: i64,
    #[serde(with = "pdp_domain::calendar::iso_date")]
    #[schema(value_type = String, example = "2027-01-01")]
    pub starts_on: Date,
    #[serde(with = "pdp_domain::calendar::iso_date")]
    #[schema(value_type = String, example = "2029-12-31")]
    pub ends_on: Date,
    #[schema(value_type = Object)]
    pub terms: AgreementTerms,
    /// The agreement this renews: the renewal waits for review, and supersedes it once approved.
    #[serde(default)]
    pub renews_id: Option<i64>,
    /// The concluded selection whose winner a new operation agreement is signed with
    /// (R-OPS-02); required for one that renews nothing.
    #[serde(default)]
    pub selection_id: Option<i64>,
}

/// An agreement with its parties' names.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgreementOut {
    #[serde(flatten)]
    pub agreement: Agreement,
    pub grantor: String,
    pub party: String,
    /// Whether it permits anything today.
    pub active: bool,
}

/// Organisation names by id.
pub async fn org_names(state: &App) -> Result<BTreeMap<i64, String>, AppError> {
    Ok(state.storage.list_orgs().await?.into_iter().map(|o| (o.id, o.name)).collect())
}

fn agreement_out(a: Agreement, names: &BTreeMap<i64, String>) -> AgreementOut {
    AgreementOut {
        grantor: names.get(&a.grantor_org_id).cloned().unwrap_or_default(),
        party: names.get(&a.party_org_id).cloned().unwrap_or_default(),
        active: active(&a, today_date()),
        agreement: a,
    }
}

/// Signs an agreement (R-OPS-01): the authority's with the operation entity, at most three
/// years; the operator's with a development entity, within its own. A renewal waits for the
/// grantor's review instead of coming into force.
pub async fn sign(state: &App, p: &Principal, input: &AgreementInput) -> Result<AgreementOut, AppError> {
    let (grantor, parent, party_kind) = match input.kind {
        AgreementKind::Operation => (as_authority(state, p).await?, None, OrgKind::OperationEntity),
        AgreementKind::Development => {
            let op = as_operator(state, p).await?;
            (op.party_org_id, Some(op), OrgKind::DevelopmentEntity)
        }
    };
    let party = state
        .storage
        .get_org(input.party_org_id)
        .await?
        .ok_or_else(|| AppError::not_found(&format!("organisation {}", input.party_org_id)))?;
    let mut violations = check_agreement(
        input.kind,
        input.starts_on,
        input.ends_on,
        &input.terms,
        parent.as_ref().map(|a| Bounds { starts_on: a.starts_on, ends_on: a.ends_on, terms: &a.terms }).as_ref(),
    );
    if party.kind != party_kind {
        violations.push(Violation {
            code: "agreement_party_kind".into(),
            path: "party_org_id".into(),
            message_zh: format!("被授权单位须为“{}”", party_kind.label_zh()),
            message_en: format!("the party must be a {}", party_kind.label_en()),
        });
    }
    catalog_violations(state, input, &mut violations).await?;
    if !violations.is_empty() {
        return Err(invalid("agreement_invalid", &violations));
    }
    let all = state.storage.list_agreements().await?;
    if let Some(old) = input.renews_id {
        let o = all.iter().find(|a| a.id == old).ok_or_else(|| AppError::not_found(&format!("agreement {old}")))?;
        if o.kind != input.kind || o.party_org_id != input.party_org_id || o.status.is_final() {
            return Err(AppError::conflict(
                "agreement_renewal_invalid",
                "只能续签同一被授权单位、同类且未终止的协议",
                "a renewal renews an agreement of the same kind and party that has not ended",
            ));
        }
    } else {
        // One operation entity at a time (YC 6), one development agreement per developer.
        let overlapping = all.iter().any(|a| {
            a.kind == input.kind
                && !a.status.is_final()
                && (input.kind == AgreementKind::Operation || a.party_org_id == input.party_org_id)
                && a.starts_on <= input.ends_on
                && input.starts_on <= a.ends_on
        });
        if overlapping {
            return Err(AppError::conflict(
                "agreement_overlaps",
                "同一期间已有未终止的同类协议；请续签或先终止原协议",
                "an agreement of this kind already covers the period; renew it or end it first",
            ));
        }
    }
    if input.kind == AgreementKind::Operation && input.renews_id.is_none() {
        crate::selection::check_winner(state, input).await?;
    }
    let status = if input.renews_id.is_some() { AgreementStatus::PendingReview } else { AgreementStatus::InForce };
    let ev = p.event_with_detail(
        if input.renews_id.is_some() { "operation.agreement.renew" } else { "operation.agreement.sign" },
        "",
        serde_json::json!({"kind": input.kind.as_str(), "party": party.id, "starts_on": input.starts_on.to_string(),
            "ends_on": input.ends_on.to_string(), "renews": input.renews_id, "via": p.via_label()})
        .to_string(),
    );
    let a = state
        .storage
        .create_agreement(
            NewAgreement {
                kind: input.kind,
                grantor_org_id: grantor,
                party_org_id: party.id,
                parent_id: parent.map(|a| a.id),
                renews_id: input.renews_id,
                selection_id: input.selection_id,
                status,
                starts_on: input.starts_on,
                ends_on: input.ends_on,
                terms: input.terms.clone(),
                created_by: p.user.username.clone(),
            },
            ev,
        )
        .await?;
    Ok(agreement_out(a, &org_names(state).await?))
}

/// The entries an agreement lists must be published; a development agreement's, in the
/// development catalog.
async fn catalog_violations(state: &App, input: &AgreementInput, out: &mut Vec<Violation>) -> Result<(), AppError> {
    let development: BTreeSet<i64> = state
        .storage
        .list_op_catalog()
        .await?
        .into_iter()
        .filter(|i| i.development && i.status == OpCatalogStatus::Confirmed)
        .map(|i| i.entry_id)
        .collect();
    for (i, id) in input.terms.catalog.iter().enumerate() {
        let bad = match input.kind {
            AgreementKind::Operation => published_entry_of(state.storage.as_ref(), *id).await.is_none(),
            AgreementKind::Development => !development.contains(id),
        };
        if bad {
            out.push(Violation {
                code: "agreement_catalog_unknown".into(),
                path: format!("terms.catalog[{i}]"),
                message_zh: match input.kind {
                    AgreementKind::Operation => format!("目录条目 {id} 不存在或未发布"),
                    AgreementKind::Development => format!("目录条目 {id} 不在运营主体公布的授权开发目录中"),
                },
                message_en: match input.kind {
                    AgreementKind::Operation => format!("catalog entry {id} does not exist or is not published"),
                    AgreementKind::Development => {
                        format!("catalog entry {id} is not in the operator's development catalog")
                    }
                },
            });
        }
    }
    Ok(())
}

/// The grantor's review of a renewal: approval brings it into force and supersedes the renewed
/// agreement; the one who drafted it does not decide it.
pub async fn review_renewal(
    state: &App,
    p: &Principal,
    id: i64,
    approve: bool,
    reason: &str,
) -> Result<AgreementOut, AppError> {
    let reason = reason_of(reason)?;
    let a = agreement(state, id).await?;
    grantor_check(state, p, &a).await?;
    if a.status != AgreementStatus::PendingReview {
        return Err(AppError::conflict(
            "agreement_not_pending",
            "该协议不在待审议状态",
            "the agreement is not awaiting review",
        ));
    }
    if a.created_by == p.user.username {
        return Err(denied("起草续签协议的人不能审议该协议", "whoever drafted a renewal does not review it"));
    }
    let change = AgreementChange {
        id,
        from: AgreementStatus::PendingReview,
        to: if approve { AgreementStatus::InForce } else { AgreementStatus::Rejected },
        reason: reason.clone(),
        rectify_by: None,
        supersedes: if approve { a.renews_id } else { None },
    };
    let mut ev = p.event("operation.agreement.review", "");
    ev.purpose = format!("{}: {reason}", if approve { "approved" } else { "rejected" });
    let a = state.storage.change_agreement(change, ev).await?;
    Ok(agreement_out(a, &org_names(state).await?))
}

async fn agreement(state: &App, id: i64) -> Result<Agreement, AppError> {
    state.storage.get_agreement(id).await?.ok_or_else(|| AppError::not_found(&format!("agreement {id}")))
}

/// The grantor of an agreement acts on it: the authority on any, the operator on its
/// development agreements.
async fn grantor_check(state: &App, p: &Principal, a: &Agreement) -> Result<(), AppError> {
    if as_authority(state, p).await.is_ok() {
        return Ok(());
    }
    if a.kind == AgreementKind::Development && p.allows(Permission::RunOperation) && p.org_id == Some(a.grantor_org_id)
    {
        return Ok(());
    }
    Err(denied("只有授权方可以处理该协议", "only the agreement's grantor may do this"))
}

/// An action on an agreement after a violation (R-OPS-11): suspend, order rectification by a
/// date, resume, revoke.
pub async fn act(
    state: &App,
    p: &Principal,
    id: i64,
    action: AgreementAction,
    reason: &str,
    rectify_by: Option<Date>,
) -> Result<AgreementOut, AppError> {
    let reason = reason_of(reason)?;
    let a = agreement(state, id).await?;
    grantor_check(state, p, &a).await?;
    let to = agreement_transition(a.status, action)
        .map_err(|v| AppError::conflict("agreement_transition_invalid", v.message_zh, v.message_en))?;
    let rectify_by = match action {
        AgreementAction::Rectify => match rectify_by {
            Some(d) if d >= today_date() => Some(d),
            _ => {
                return Err(AppError::bad_request(
                    "rectify_by_required",
                    "责令整改须给出不早于今天的整改期限",
                    "an order to rectify needs a deadline today or later",
                ));
            }
        },
        _ => None,
    };
    let mut ev = p.event(&format!("operation.agreement.{}", action.as_str()), "");
    ev.purpose = reason.clone();
    let a = state
        .storage
        .change_agreement(AgreementChange { id, from: a.status, to, reason, rectify_by, supersedes: None }, ev)
        .await?;
    Ok(agreement_out(a, &org_names(state).await?))
}

/// The agreements `p` may see: all for the authority; the operator's own and its developers';
/// a developer's own.
pub async fn agreements(state: &App, p: &Principal) -> Result<Vec<AgreementOut>, AppError> {
    let all = state.storage.list_agreements().await?;
    let is_authority = as_authority(state, p).await.is_ok();
    let names = org_names(state).await?;
    Ok(all
        .into_iter()
        .filter(|a| is_authority || Some(a.party_org_id) == p.org_id || Some(a.grantor_org_id) == p.org_id)
        .map(|a| agreement_out(a, &names))
        .collect())
}

/// One agreement, if `p` may see it.
pub async fn agreement_of(state: &App, p: &Principal, id: i64) -> Result<AgreementOut, AppError> {
    agreements(state, p)
        .await?
        .into_iter()
        .find(|a| a.agreement.id == id)
        .ok_or_else(|| AppError::not_found(&format!("agreement {id}")))
}

/// The development entities the operator may sign with: those without an agreement that has
/// not ended.
pub async fn development_entities(state: &App, p: &Principal) -> Result<Vec<(i64, String)>, AppError> {
    as_operator(state, p).await?;
    let busy: BTreeSet<i64> = state
        .storage
        .list_agreements()
        .await?
        .into_iter()
        .filter(|a| a.kind == AgreementKind::Development && !a.status.is_final())
        .map(|a| a.party_org_id)
        .collect();
    Ok(state
        .storage
        .list_orgs()
        .await?
        .into_iter()
        .filter(|o| o.kind == OrgKind::DevelopmentEntity && !busy.contains(&o.id))
        .map(|o| (o.id, o.name))
        .collect())
}

/// The published catalog entries an operation agreement may cover, for the authority's form.
pub async fn authorizable_entries(state: &App, p: &Principal) -> Result<Vec<pdp_storage::EntryVersion>, AppError> {
    as_authority(state, p).await?;
    let q =
        pdp_storage::EntryQuery { view: pdp_storage::EntryView::Published, limit: Some(5000), ..Default::default() };
    Ok(state.storage.list_entries(&q).await?)
}

// ----- The operation resource catalog and the development catalog -----

/// An entry of the operation resource catalog with its name and provider.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CatalogItemOut {
    #[serde(flatten)]
    pub item: OpCatalogItem,
    pub code: String,
    pub name: String,
    pub provider_org_id: i64,
    pub provider: String,
    /// The fields developers may list, with their labels.
    pub fields: Vec<(String, String)>,
}

/// A decision on an entry of the operation resource catalog.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case", tag = "decision")]
pub enum CatalogDecision {
    /// The authority confirms it for operation.
    Confirm { note: String },
    /// It cannot be operated: the authority or the providing sector says so, on a legal basis.
    NotOperable { basis: String },
}

/// The operator asks for entries of its agreement's catalog to enter the operation resource
/// catalog (YC 8).
pub async fn propose(state: &App, p: &Principal, entry_ids: &[i64]) -> Result<Vec<CatalogItemOut>, AppError> {
    let op = as_operator(state, p).await?;
    if entry_ids.is_empty() || entry_ids.len() > 500 {
        return Err(AppError::bad_request(
            "entries_required",
            "请列出 1–500 个目录条目",
            "list 1 to 500 catalog entries",
        ));
    }
    let existing: BTreeMap<i64, OpCatalogItem> =
        state.storage.list_op_catalog().await?.into_iter().map(|i| (i.entry_id, i)).collect();
    for id in entry_ids {
        if !op.terms.catalog.contains(id) {
            return Err(AppError::bad_request(
                "entry_outside_agreement",
                format!("目录条目 {id} 不在授权运营协议的范围内"),
                format!("catalog entry {id} is outside the operation agreement"),
            ));
        }
        if existing.contains_key(id) {
            continue;
        }
        let item = OpCatalogItem {
            entry_id: *id,
            status: OpCatalogStatus::Proposed,
            basis: String::new(),
            development: false,
            proposed_by: p.user.username.clone(),
            decided_by: String::new(),
            updated_at_micros: 0,
        };
        state.storage.put_op_catalog(&item, op.party_org_id, p.event("operation.catalog.propose", "")).await?;
    }
    catalog(state, p).await
}

/// Confirms an entry, or marks it not operable with its legal basis (R-OPS-03): the authority
/// either way; the providing organisation's approvers may mark their own data not operable.
pub async fn decide_catalog(
    state: &App,
    p: &Principal,
    entry_id: i64,
    decision: &CatalogDecision,
) -> Result<Vec<CatalogItemOut>, AppError> {
    let mut item = state
        .storage
        .list_op_catalog()
        .await?
        .into_iter()
        .find(|i| i.entry_id == entry_id)
        .ok_or_else(|| AppError::not_found(&format!("operation catalog entry {entry_id}")))?;
    let entry = published_entry_of(state.storage.as_ref(), entry_id)
        .await
        .ok_or_else(|| AppError::not_found(&format!("catalog entry {entry_id}")))?;
    let authority = as_authority(state, p).await.is_ok();
    let sector = p.allows(Permission::ApproveShare) && p.org_id == Some(entry.org_id);
    let (status, basis, action) = match decision {
        CatalogDecision::Confirm { note } if authority => {
            (OpCatalogStatus::Confirmed, note.trim().to_string(), "operation.catalog.confirm")
        }
        CatalogDecision::NotOperable { basis } if authority || sector => {
            (OpCatalogStatus::NotOperable, reason_of(basis)?, "operation.catalog.not_operable")
        }
        _ => {
            return Err(denied(
                "只有数据主管部门可以确认；数据提供单位可以标识不能授权运营的数据",
                "only the authority confirms; the providing organisation may mark its data not operable",
            ));
        }
    };
    if basis.chars().count() > 2000 {
        return Err(AppError::bad_request(
            "note_too_long",
            "说明不超过 2000 字",
            "the note is at most 2000 characters",
        ));
    }
    item.status = status;
    item.basis = basis;
    item.decided_by = p.user.username.clone();
    // Data that cannot be operated leaves the development catalog at once.
    item.development &= status == OpCatalogStatus::Confirmed;
    let log_org = operation_in_force(state).await?.map(|a| a.party_org_id).unwrap_or(entry.org_id);
    state.storage.put_op_catalog(&item, log_org, p.event(action, "")).await?;
    catalog(state, p).await
}

/// The operator publishes a confirmed entry in the development catalog, or takes it out
/// (YC 10).
pub async fn publish_development(
    state: &App,
    p: &Principal,
    entry_id: i64,
    published: bool,
) -> Result<Vec<CatalogItemOut>, AppError> {
    let op = as_operator(state, p).await?;
    let mut item = state
        .storage
        .list_op_catalog()
        .await?
        .into_iter()
        .find(|i| i.entry_id == entry_id)
        .ok_or_else(|| AppError::not_found(&format!("operation catalog entry {entry_id}")))?;
    if published && item.status != OpCatalogStatus::Confirmed {
        return Err(AppError::conflict(
            "entry_not_confirmed",
            "只有经数据主管部门确认的条目可以列入授权开发目录",
            "only entries the authority confirmed enter the development catalog",
        ));
    }
    item.development = published;
    let action = if published { "operation.catalog.publish" } else { "operation.catalog.unpublish" };
    state.storage.put_op_catalog(&item, op.party_org_id, p.event(action, "")).await?;
    catalog(state, p).await
}

/// The operation resource catalog as `p` may see it: the whole for the authority, the
/// operator and the providers' approvers; the development catalog only for developers.
pub async fn catalog(state: &App, p: &Principal) -> Result<Vec<CatalogItemOut>, AppError> {
    let developer_only = !p.allows(Permission::GovernOperation)
        && !p.allows(Permission::RunOperation)
        && !p.allows(Permission::ApproveShare);
    if developer_only && !p.allows(Permission::DevelopProducts) {
        return Err(denied(
            "授权运营的这一部分只对协议当事方和数据主管部门开放",
            "this part of authorized operation is open to the parties of its agreements and the authority only",
        ));
    }
    let names = org_names(state).await?;
    let mut out = Vec::new();
    for item in state.storage.list_op_catalog().await? {
        if developer_only && !(item.development && item.status == OpCatalogStatus::Confirmed) {
            continue;
        }
        let Some(e) = published_entry_of(state.storage.as_ref(), item.entry_id).await else { continue };
        out.push(CatalogItemOut {
            code: e.code.clone(),
            name: e.body.name.clone(),
            provider_org_id: e.org_id,
            provider: names.get(&e.org_id).cloned().unwrap_or_default(),
            fields: e.body.fields.iter().map(|f| (f.name.clone(), f.label.clone())).collect(),
            item,
        });
    }
    Ok(out)
}

// ----- Scenario applications -----

/// A scenario application with what `p` needs to decide it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScenarioOut {
    #[serde(flatten)]
    pub application: ScenarioApplication,
    pub developer: String,
    /// The organisations whose data it lists; each confirms at the provider stage.
    pub providers: Vec<i64>,
    /// Whether its list is open in the operation domain today.
    pub open: bool,
}

fn providers_of(fields: &[FieldRef], entries: &BTreeMap<i64, i64>) -> Vec<i64> {
    let set: BTreeSet<i64> = fields.iter().filter_map(|f| entries.get(&f.entry_id).copied()).collect();
    set.into_iter().collect()
}

async fn entry_orgs(state: &App, fields: &[FieldRef]) -> BTreeMap<i64, i64> {
    let mut out = BTreeMap::new();
    for f in fields {
        if let std::collections::btree_map::Entry::Vacant(v) = out.entry(f.entry_id)
            && let Some(e) = published_entry_of(state.storage.as_ref(), f.entry_id).await
        {
            v.insert(e.org_id);
        }
    }
    out
}

async fn scenario_out(state: &App, a: ScenarioApplication, names: &BTreeMap<i64, String>) -> ScenarioOut {
    let providers = providers_of(&a.input.fields, &entry_orgs(state, &a.input.fields).await);
    ScenarioOut {
        developer: names.get(&a.developer_org_id).cloned().unwrap_or_default(),
        providers,
        open: opens(a.state, a.input.starts_on, a.input.ends_on, today_date()),
        application: a,
    }
}

/// A developer applies for one scenario with one list (R-OPS-04): every field of an entry in
/// the development catalog and in its agreement, the period within the agreement.
pub async fn apply(state: &App, p: &Principal, input: &ScenarioInput) -> Result<ScenarioOut, AppError> {
    let (dev, _op) = as_developer(state, p).await?;
    let today = today_date();
    let bounds = Bounds { starts_on: dev.starts_on, ends_on: dev.ends_on, terms: &dev.terms };
    let mut violations = check_scenario(input, &bounds, today);
    let development: BTreeSet<i64> = state
        .storage
        .list_op_catalog()
        .await?
        .into_iter()
        .filter(|i| i.development && i.status == OpCatalogStatus::Confirmed)
        .map(|i| i.entry_id)
        .collect();
    for (i, f) in input.fields.iter().enumerate() {
        let entry = published_entry_of(state.storage.as_ref(), f.entry_id).await;
        let known = entry.as_ref().is_some_and(|e| e.body.fields.iter().any(|x| x.name == f.field));
        if !development.contains(&f.entry_id) || !known {
            violations.push(Violation {
                code: "scenario_field_unknown".into(),
                path: format!("fields[{i}]"),
                message_zh: format!("授权开发目录中没有条目 {} 的信息项“{}”", f.entry_id, f.field),
                message_en: format!("the development catalog has no field {:?} of entry {}", f.field, f.entry_id),
            });
        }
    }
    if !violations.is_empty() {
        return Err(invalid("scenario_invalid", &violations));
    }
    let waiting = state
        .storage
        .list_op_applications(Some(dev.party_org_id))
        .await?
        .iter()
        .filter(|a| a.state == ApplicationState::UnderReview)
        .count();
    if waiting >= MAX_WAITING {
        return Err(AppError::too_many(
            "too_many_waiting",
            format!("本单位已有 {MAX_WAITING} 份申请待审核"),
            format!("{MAX_WAITING} applications of the organisation are already under review"),
        ));
    }
    let chain = state.settings.operation.chain.clone();
    let due_on = due(state, today)?;
    let ev = p.event_with_detail(
        "operation.scenario.apply",
        "",
        serde_json::json!({"scenario": input.scenario, "fields": input.fields.len(), "via": p.via_label()}).to_string(),
    );
    let a = state
        .storage
        .create_op_application(
            NewScenarioApplication {
                developer_org_id: dev.party_org_id,
                agreement_id: dev.id,
                stages: chain,
                due_on,
                input: input.clone(),
                submitted_by: p.user.username.clone(),
            },
            ev,
        )
        .await?;
    Ok(scenario_out(state, a, &org_names(state).await?).await)
}

pub(crate) fn due(state: &App, from: Date) -> Result<Date, AppError> {
    Ok(state
        .catalog
        .calendar
        .get()
        .deadline(from, state.settings.operation.stage_working_days)
        .map_err(|e| AppError::domain(&e))?
        .due)
}

/// A decision on a scenario application at its present stage: the operator's review, each
/// provider's confirmation of its own data, the authority's confirmation. Rejection at any
/// stage ends it; approval at the last opens its list in the operation domain.
pub async fn decide_scenario(
    state: &App,
    p: &Principal,
    id: i64,
    approve: bool,
    reason: &str,
) -> Result<ScenarioOut, AppError> {
    let reason = reason_of(reason)?;
    let mut a =
        state.storage.get_op_application(id).await?.ok_or_else(|| AppError::not_found(&format!("application {id}")))?;
    let (from, steps_before) = (a.state, a.steps.len());
    let Some(stage) = a.stage.filter(|_| a.state == ApplicationState::UnderReview) else {
        return Err(AppError::conflict(
            "scenario_not_under_review",
            "该申请不在审核中",
            "the application is not under review",
        ));
    };
    let providers = providers_of(&a.input.fields, &entry_orgs(state, &a.input.fields).await);
    let org = match stage {
        ReviewStage::Operator => as_operator(state, p).await?.party_org_id,
        ReviewStage::Authority => as_authority(state, p).await?,
        ReviewStage::Provider => {
            let confirmed: BTreeSet<i64> =
                a.steps.iter().filter(|s| s.stage == ReviewStage::Provider).map(|s| s.org_id).collect();
            match p.org_id {
                Some(o) if p.allows(Permission::ApproveShare) && providers.contains(&o) && !confirmed.contains(&o) => o,
                _ => {
                    return Err(denied(
                        "只有申请所列数据的提供单位审批人可以确认（每个单位一次）",
                        "only an approver of an organisation whose data is listed confirms, once per organisation",
                    ));
                }
            }
        }
    };
    a.steps.push(ReviewStep {
        stage,
        org_id: org,
        approved: approve,
        by: p.user.username.clone(),
        reason: reason.clone(),
        at_micros: now_micros(),
    });
    let stage_done = match stage {
        ReviewStage::Provider => {
            let confirmed: BTreeSet<i64> =
                a.steps.iter().filter(|s| s.stage == ReviewStage::Provider && s.approved).map(|s| s.org_id).collect();
            providers.iter().all(|o| confirmed.contains(o))
        }
        _ => true,
    };
    let next = a.stages.iter().position(|s| *s == stage).and_then(|i| a.stages.get(i + 1)).copied();
    let mut opened = Vec::new();
    if !approve {
        a.state = ApplicationState::Rejected;
        a.stage = None;
        a.due_on = None;
    } else if stage_done {
        match next {
            Some(n) => {
                a.stage = Some(n);
                a.due_on = Some(due(state, today_date())?);
            }
            None => {
                a.state = ApplicationState::Approved;
                a.stage = None;
                a.due_on = None;
                opened = open_domain(state.storage.as_ref(), lake(state)?, &a).await?;
            }
        }
    }
    let mut ev = p.event(&format!("operation.scenario.{}", if approve { "approve" } else { "reject" }), "");
    ev.purpose = format!("{}: {reason}", stage.as_str());
    if let Err(e) = state.storage.update_op_application(&a, from, steps_before, ev).await {
        // Someone decided meanwhile: what this decision wrote must not stay open.
        for f in opened {
            let _ = std::fs::remove_file(f);
        }
        return Err(e.into());
    }
    Ok(scenario_out(state, a, &org_names(state).await?).await)
}

/// The applications `p` may see: a developer's own; all for the operator and the authority;
/// a provider's approvers, those listing its data.
pub async fn scenarios(state: &App, p: &Principal) -> Result<Vec<ScenarioOut>, AppError> {
    // Listings close what has ended, so nothing waits for the hourly sweep.
    expire_scenarios(state).await?;
    let is_authority = as_authority(state, p).await.is_ok();
    let is_operator = as_operator(state, p).await.is_ok();
    let names = org_names(state).await?;
    let rows = if is_authority || is_operator || p.allows(Permission::ApproveShare) {
        state.storage.list_op_applications(None).await?
    } else if p.allows(Permission::DevelopProducts) {
        match p.org_id {
            Some(o) => state.storage.list_op_applications(Some(o)).await?,
            None => Vec::new(),
        }
    } else {
        return Err(denied(
            "授权运营的这一部分只对协议当事方和数据主管部门开放",
            "this part of authorized operation is open to the parties of its agreements and the authority only",
        ));
    };
    let mut out = Vec::new();
    for a in rows {
        let o = scenario_out(state, a, &names).await;
        let sees = is_authority
            || is_operator
            || Some(o.application.developer_org_id) == p.org_id
            || (p.allows(Permission::ApproveShare) && p.org_id.is_some_and(|org| o.providers.contains(&org)));
        if sees {
            out.push(o);
        }
    }
    Ok(out)
}

/// One application, if `p` may see it.
pub async fn scenario_of(state: &App, p: &Principal, id: i64) -> Result<ScenarioOut, AppError> {
    scenarios(state, p)
        .await?
        .into_iter()
        .find(|a| a.application.id == id)
        .ok_or_else(|| AppError::not_found(&format!("application {id}")))
}

/// Where the operation domain keeps an organisation's files: beside the tables, never inside a
/// table's directory.
pub fn domain_dir(lake: &pdp_lake::Lake, org_id: i64) -> Result<PathBuf, AppError> {
    let root = lake.root().to_file_path().map_err(|_| {
        AppError::new(
            ErrorKind::Unsupported,
            "operation_needs_local_lake",
            "授权运营域目前只支持本地目录中的数据湖",
            "the operation domain keeps its files in a data lake in a local directory only, for now",
        )
    })?;
    Ok(root.join("_operation").join(format!("org-{org_id}")))
}

fn scenario_dir(lake: &pdp_lake::Lake, a: &ScenarioApplication) -> Result<PathBuf, AppError> {
    Ok(domain_dir(lake, a.developer_org_id)?.join(format!("scenario-{}", a.id)))
}

/// Opens an approved application's list: for each listed entry, a copy of exactly the listed
/// fields, every value passed through the field's masking rule (a field without one is
/// suppressed unless its grade lets it through unmasked), so the domain holds de-identified
/// data only (R-OPS-05, R-OPS-06). Returns the files written.
pub async fn open_domain(
    storage: &dyn pdp_storage::Storage,
    lk: &pdp_lake::Lake,
    a: &ScenarioApplication,
) -> Result<Vec<PathBuf>, AppError> {
    use rand::RngCore;
    let dir = scenario_dir(lk, a)?;
    let mut by_entry: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for f in &a.input.fields {
        by_entry.entry(f.entry_id).or_default().push(f.field.clone());
    }
    let mut written = Vec::new();
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    for (entry_id, columns) in by_entry {
        let e = published_entry_of(storage, entry_id)
            .await
            .ok_or_else(|| AppError::not_found(&format!("catalog entry {entry_id}")))?;
        let masks: Vec<MaskRule> = columns
            .iter()
            .map(|c| e.body.fields.iter().find(|f| &f.name == c).map(|f| f.mask).unwrap_or(MaskRule::Suppress))
            .collect();
        let path = dir.join(format!("{}.parquet", e.code.replace('/', "-")));
        let Ok(version) = lk.latest_version(&e.code).await else {
            // No data loaded yet: the list opens with nothing to read for this entry.
            continue;
        };
        let sel = Selection { columns: columns.clone(), filters: Vec::<ColumnFilter>::new(), order_by: None };
        let metadata = vec![
            ("pdp.scenario".to_string(), a.id.to_string()),
            ("pdp.dataset".to_string(), e.code.clone()),
            ("pdp.dataset_version".to_string(), version.to_string()),
        ];
        let res = lk
            .write_selection(&e.code, version, &sel, &columns, &path, &metadata, |row| {
                row.into_iter()
                    .zip(&masks)
                    .map(|(v, rule)| pdp_domain::sharing::protect(*rule, &key, v.as_deref()))
                    .collect()
            })
            .await;
        match res {
            Ok(_) => written.push(path),
            Err(err) => {
                for f in &written {
                    let _ = std::fs::remove_file(f);
                }
                return Err(err.into());
            }
        }
    }
    Ok(written)
}

/// A sample of an open application's data for one entry (R-OPS-06): at most
/// [`MAX_SAMPLE_ROWS`] de-identified rows of the listed fields, for the developer whose
/// application it is, while it runs. Every read goes to the developer's operation log.
pub async fn sample(
    state: &App,
    p: &Principal,
    id: i64,
    entry_id: i64,
    rows: usize,
) -> Result<pdp_lake::share::TableCells, AppError> {
    let (dev, _) = as_developer(state, p).await?;
    let a = state.storage.get_op_application(id).await?.filter(|a| a.developer_org_id == dev.party_org_id);
    let a = a.ok_or_else(|| AppError::not_found(&format!("application {id}")))?;
    if !opens(a.state, a.input.starts_on, a.input.ends_on, today_date()) {
        return Err(AppError::conflict(
            "scenario_not_open",
            "该申请未批准、未开始或已到期，其数据未开放",
            "the application is not approved, has not started or has expired: its data is not open",
        ));
    }
    let e = published_entry_of(state.storage.as_ref(), entry_id)
        .await
        .filter(|_| a.input.fields.iter().any(|f| f.entry_id == entry_id))
        .ok_or_else(|| AppError::not_found(&format!("entry {entry_id} of application {id}")))?;
    let path = scenario_dir(lake(state)?, &a)?.join(format!("{}.parquet", e.code.replace('/', "-")));
    let n = rows.clamp(1, MAX_SAMPLE_ROWS);
    let cells = if path.exists() {
        tokio::task::spawn_blocking(move || pdp_lake::share::read_parquet_cells(&path, n))
            .await
            .map_err(|e| AppError::internal("internal", "内部错误", e.to_string()))??
    } else {
        pdp_lake::share::TableCells {
            columns: a.input.fields.iter().filter(|f| f.entry_id == entry_id).map(|f| f.field.clone()).collect(),
            ..Default::default()
        }
    };
    let mut ev = p.event("operation.scenario.sample", &format!("scenario:{id}"));
    ev.purpose = format!("entry={entry_id} rows={}", cells.rows.len());
    state.storage.log_operation(dev.party_org_id, ev).await?;
    Ok(pdp_lake::share::TableCells { metadata: Vec::new(), ..cells })
}

/// Ends the applications whose period is over: their state becomes `expired` and their copies
/// in the operation domain are deleted. Returns how many expired.
pub async fn expire_scenarios(state: &App) -> Result<usize, AppError> {
    let today = today_date();
    let mut n = 0;
    for mut a in state.storage.list_op_applications(None).await? {
        if a.state != ApplicationState::Approved || a.input.ends_on >= today {
            continue;
        }
        let steps = a.steps.len();
        a.state = ApplicationState::Expired;
        let mut ev = pdp_audit::NewEvent::system("operation.scenario.expire", "");
        ev.purpose = format!("ended {}", a.input.ends_on);
        state.storage.update_op_application(&a, ApplicationState::Approved, steps, ev).await?;
        if let Ok(dir) = lake(state).and_then(|lk| scenario_dir(lk, &a)) {
            let _ = std::fs::remove_dir_all(dir);
        }
        n += 1;
    }
    Ok(n)
}

// ----- Products -----

/// A product with its developer's name and the sales registered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductOut {
    #[serde(flatten)]
    pub product: Product,
    pub developer: String,
    pub sales: usize,
}

/// A developer submits a product for review (R-OPS-08): made under its approved applications,
/// its sources among their data, its kind allowed, its price within the caps (R-OPS-09).
pub async fn submit_product(state: &App, p: &Principal, input: &ProductInput) -> Result<ProductOut, AppError> {
    let (dev, op) = as_developer(state, p).await?;
    let mine = state.storage.list_op_applications(Some(dev.party_org_id)).await?;
    let mut entries = BTreeSet::new();
    for id in &input.applications {
        let a = mine.iter().find(|a| a.id == *id && a.state == ApplicationState::Approved).ok_or_else(|| {
            AppError::bad_request(
                "product_application_not_approved",
                format!("数据申请 {id} 不是本单位已批准的申请"),
                format!("application {id} is not an approved application of this developer"),
            )
        })?;
        entries.extend(a.input.fields.iter().map(|f| f.entry_id));
    }
    let waiting = state
        .storage
        .list_products(Some(dev.party_org_id))
        .await?
        .iter()
        .filter(|p| p.status == ProductStatus::UnderReview)
        .count();
    if waiting >= MAX_WAITING {
        return Err(AppError::too_many(
            "too_many_waiting",
            format!("本单位已有 {MAX_WAITING} 个产品待审核"),
            format!("{MAX_WAITING} products of the organisation are already under review"),
        ));
    }
    let pricing = effective_pricing(&op.terms.pricing, &dev.terms.pricing);
    let violations = check_product(input, &dev.terms.products, &entries, &pricing);
    if !violations.is_empty() {
        return Err(invalid("product_invalid", &violations));
    }
    let ev = p.event_with_detail(
        "operation.product.submit",
        "",
        serde_json::json!({"name": input.name, "kind": input.kind.as_str(), "via": p.via_label()}).to_string(),
    );
    let out = state
        .storage
        .create_product(
            NewProduct {
                developer_org_id: dev.party_org_id,
                agreement_id: dev.id,
                input: input.clone(),
                submitted_by: p.user.username.clone(),
            },
            ev,
        )
        .await?;
    product_out(state, out).await
}

async fn product_out(state: &App, product: Product) -> Result<ProductOut, AppError> {
    let names = org_names(state).await?;
    let sales = state.storage.list_sales(Some(product.id)).await?.len();
    Ok(ProductOut { developer: names.get(&product.developer_org_id).cloned().unwrap_or_default(), sales, product })
}

async fn product(state: &App, id: i64) -> Result<Product, AppError> {
    state.storage.get_product(id).await?.ok_or_else(|| AppError::not_found(&format!("product {id}")))
}

/// The operator's review of a product: the six points answered with evidence; the product is
/// listed in the product catalog only if every point passes (R-OPS-08).
pub async fn review_product(
    state: &App,
    p: &Principal,
    id: i64,
    answers: &[PointAnswer],
) -> Result<ProductOut, AppError> {
    as_operator(state, p).await?;
    let mut pr = product(state, id).await?;
    if pr.status != ProductStatus::UnderReview {
        return Err(AppError::conflict(
            "product_not_under_review",
            "该产品不在待审核状态",
            "the product is not under review",
        ));
    }
    let passed = decide_review(answers).map_err(|v| invalid("product_review_invalid", &v))?;
    let now = now_micros();
    pr.review = answers
        .iter()
        .map(|a| ReviewedPoint { answer: a.clone(), reviewer: p.user.username.clone(), at_micros: now })
        .collect();
    if passed {
        pr.status = ProductStatus::Listed;
        pr.listed_at_micros = Some(now);
        pr.status_reason = String::new();
    } else {
        pr.status = ProductStatus::Rejected;
        pr.status_reason = answers
            .iter()
            .filter(|a| !a.passed)
            .map(|a| format!("{}：{}", a.point.label_zh(), a.evidence.trim()))
            .collect::<Vec<_>>()
            .join("；");
    }
    let mut ev = p.event(if passed { "operation.product.list" } else { "operation.product.reject" }, "");
    ev.purpose = pr.status_reason.clone();
    state.storage.update_product(&pr, ProductStatus::UnderReview, ev).await?;
    product_out(state, pr).await
}

/// Takes a listed product off the catalog: the operator or the authority, with a reason.
pub async fn delist(state: &App, p: &Principal, id: i64, reason: &str) -> Result<ProductOut, AppError> {
    let reason = reason_of(reason)?;
    if as_operator(state, p).await.is_err() {
        as_authority(state, p).await?;
    }
    let mut pr = product(state, id).await?;
    if pr.status != ProductStatus::Listed {
        return Err(AppError::conflict("product_not_listed", "该产品未上架", "the product is not listed"));
    }
    pr.status = ProductStatus::Delisted;
    pr.status_reason = reason.clone();
    let mut ev = p.event("operation.product.delist", "");
    ev.purpose = reason;
    state.storage.update_product(&pr, ProductStatus::Listed, ev).await?;
    product_out(state, pr).await
}

/// The products `p` may see: all for the operator and the authority, a developer's own.
pub async fn products(state: &App, p: &Principal) -> Result<Vec<ProductOut>, AppError> {
    let all = if as_authority(state, p).await.is_ok() || as_operator(state, p).await.is_ok() {
        state.storage.list_products(None).await?
    } else if p.allows(Permission::DevelopProducts) && p.org_id.is_some() {
        state.storage.list_products(p.org_id).await?
    } else {
        return Err(denied(
            "授权运营的这一部分只对协议当事方和数据主管部门开放",
            "this part of authorized operation is open to the parties of its agreements and the authority only",
        ));
    };
    let mut out = Vec::new();
    for pr in all {
        out.push(product_out(state, pr).await?);
    }
    Ok(out)
}

/// A product of the public product catalog: what it is, who made it from which data, its price.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CatalogProduct {
    pub id: i64,
    pub name: String,
    #[schema(value_type = String, example = "api")]
    pub kind: pdp_domain::operation::ProductKind,
    pub purpose: String,
    pub developer: String,
    /// The data it was made from: entry names and the dates of the data (AS 35).
    pub sources: Vec<(String, String)>,
    pub price_fen: i64,
    pub welfare_free: bool,
    pub welfare_conditions: String,
    pub listed_at_micros: Option<i64>,
}

/// The product catalog (R-OPS-03, YC 15): every listed product, published to anyone.
pub async fn product_catalog(state: &App) -> Result<Vec<CatalogProduct>, AppError> {
    let names = org_names(state).await?;
    let agreements = state.storage.list_agreements().await?;
    let welfare = |dev_agreement: i64| -> String {
        let dev = agreements.iter().find(|a| a.id == dev_agreement);
        let op = dev.and_then(|d| agreements.iter().find(|a| Some(a.id) == d.parent_id));
        match (op, dev) {
            (Some(o), Some(d)) => effective_pricing(&o.terms.pricing, &d.terms.pricing).welfare_conditions,
            _ => String::new(),
        }
    };
    let mut out = Vec::new();
    for pr in state.storage.list_products(None).await? {
        if pr.status != ProductStatus::Listed {
            continue;
        }
        let mut sources = Vec::new();
        for s in &pr.input.sources {
            let name = published_entry_of(state.storage.as_ref(), s.entry_id).await.map(|e| e.body.name);
            sources.push((name.unwrap_or_else(|| s.entry_id.to_string()), crate::clock::iso(s.data_date)));
        }
        out.push(CatalogProduct {
            id: pr.id,
            name: pr.input.name.clone(),
            kind: pr.input.kind,
            purpose: pr.input.purpose.clone(),
            developer: names.get(&pr.developer_org_id).cloned().unwrap_or_default(),
            sources,
            price_fen: pr.input.price_fen,
            welfare_free: pr.input.welfare_free,
            welfare_conditions: if pr.input.welfare_free { welfare(pr.agreement_id) } else { String::new() },
            listed_at_micros: pr.listed_at_micros,
        });
    }
    Ok(out)
}

/// A sale to register.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleInput {
    pub buyer: String,
    #[serde(default)]
    pub buyer_credit_code: String,
    #[schema(value_type = String, example = "industrial")]
    pub use_kind: UseKind,
    #[serde(with = "pdp_domain::calendar::iso_date")]
    #[schema(value_type = String, example = "2026-12-01")]
    pub sold_on: Date,
}

/// The operator registers a sale of a listed product (R-OPS-09): the price its use pays
/// (nothing for public welfare where the product is free for it), split by the agreements in
/// force between the public, the operator and the developer.
pub async fn record_sale(state: &App, p: &Principal, product_id: i64, input: &SaleInput) -> Result<Sale, AppError> {
    let op = as_operator(state, p).await?;
    let pr = product(state, product_id).await?;
    let buyer = input.buyer.trim();
    if buyer.is_empty() || buyer.chars().count() > 200 || input.buyer_credit_code.chars().count() > 18 {
        return Err(AppError::bad_request(
            "buyer_required",
            "请填写买方名称（200 字以内）",
            "name the buyer (at most 200 characters)",
        ));
    }
    if !input.buyer_credit_code.trim().is_empty() {
        pdp_domain::ids::CreditCode::parse_with(input.buyer_credit_code.trim(), state.settings.credit_code_final_check)
            .map_err(|e| AppError::domain(&e))?;
    }
    if input.sold_on > today_date() {
        return Err(AppError::bad_request(
            "sale_in_future",
            "交易日期不能晚于今天",
            "a sale cannot be dated after today",
        ));
    }
    let dev = agreement(state, pr.agreement_id).await?;
    let Some(price) = price_for(input.use_kind, pr.input.price_fen, pr.input.welfare_free) else {
        return Err(AppError::bad_request(
            "product_not_free_for_welfare",
            "该产品未声明公益使用免费",
            "the product is not free for public-welfare use",
        ));
    };
    let pricing = effective_pricing(&op.terms.pricing, &dev.terms.pricing);
    let s = split(price, pricing.public_share_bp, pricing.operator_share_bp);
    let sale = Sale {
        id: 0,
        product_id,
        developer_org_id: pr.developer_org_id,
        buyer: buyer.to_string(),
        buyer_credit_code: input.buyer_credit_code.trim().to_string(),
        use_kind: input.use_kind,
        price_fen: price,
        public_fen: s.public_fen,
        operator_fen: s.operator_fen,
        developer_fen: s.developer_fen,
        sold_on: input.sold_on,
        recorded_by: p.user.username.clone(),
        created_at_micros: 0,
    };
    let mut ev = p.event("operation.sale.record", "");
    ev.purpose = format!("product={product_id} price_fen={price}");
    state.storage.record_sale(sale, ev).await.map_err(|e| match e {
        pdp_storage::StorageError::Conflict(_) => AppError::conflict(
            "product_not_listed",
            "该产品未上架，不能登记交易",
            "the product is not listed: no sale can be registered",
        ),
        e => e.into(),
    })
}

/// The registered sales with their totals per party.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SalesOut {
    pub sales: Vec<Sale>,
    pub total_fen: i64,
    pub public_fen: i64,
    pub operator_fen: i64,
    pub developer_fen: i64,
}

/// The sales `p` may see: all for the operator and the authority, a developer's own.
pub async fn sales(state: &App, p: &Principal) -> Result<SalesOut, AppError> {
    let everyone = as_authority(state, p).await.is_ok() || as_operator(state, p).await.is_ok();
    if !everyone && !p.allows(Permission::DevelopProducts) {
        return Err(denied(
            "授权运营的这一部分只对协议当事方和数据主管部门开放",
            "this part of authorized operation is open to the parties of its agreements and the authority only",
        ));
    }
    let sales: Vec<Sale> = state
        .storage
        .list_sales(None)
        .await?
        .into_iter()
        .filter(|s| everyone || Some(s.developer_org_id) == p.org_id)
        .collect();
    Ok(SalesOut {
        total_fen: sales.iter().map(|s| s.price_fen).sum(),
        public_fen: sales.iter().map(|s| s.public_fen).sum(),
        operator_fen: sales.iter().map(|s| s.operator_fen).sum(),
        developer_fen: sales.iter().map(|s| s.developer_fen).sum(),
        sales,
    })
}

// ----- Exit -----

/// Why an entity exits.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExitInput {
    #[schema(value_type = String, example = "violation")]
    pub ground: ExitGround,
    pub reason: String,
}

/// The exit procedure (R-OPS-11, R-SEC-08), in one audited step: the entity's agreements end,
/// its applications close, its products leave the catalog, its files in the operation domain
/// are deleted with a record of each (path, size, SHA-256), and its operation log is kept six
/// months from today whatever the retention period. The authority exits the operator or a
/// developer; the operator exits its developers.
pub async fn exit(state: &App, p: &Principal, org_id: i64, input: &ExitInput) -> Result<ExitRecord, AppError> {
    let reason = reason_of(&input.reason)?;
    let all = state.storage.list_agreements().await?;
    let own: Vec<&Agreement> = all.iter().filter(|a| a.party_org_id == org_id).collect();
    if own.is_empty() {
        return Err(AppError::not_found(&format!("agreements of organisation {org_id}")));
    }
    let by_authority = as_authority(state, p).await.is_ok();
    let by_operator = !by_authority
        && own.iter().all(|a| a.kind == AgreementKind::Development)
        && as_operator(state, p).await.is_ok_and(|op| own.iter().all(|a| a.grantor_org_id == op.party_org_id));
    if !by_authority && !by_operator {
        return Err(denied("只有授权方可以终止该主体的授权", "only the entity's grantor may end its authorization"));
    }
    let ended: Vec<i64> = own.iter().filter(|a| !a.status.is_final()).map(|a| a.id).collect();
    let closed: Vec<i64> = state
        .storage
        .list_op_applications(Some(org_id))
        .await?
        .into_iter()
        .filter(|a| matches!(a.state, ApplicationState::UnderReview | ApplicationState::Approved))
        .map(|a| a.id)
        .collect();
    let delisted: Vec<i64> = state
        .storage
        .list_products(Some(org_id))
        .await?
        .into_iter()
        .filter(|p| matches!(p.status, ProductStatus::UnderReview | ProductStatus::Listed))
        .map(|p| p.id)
        .collect();
    // The files move aside first, so that a failure to record the exit can put them back, and
    // a crash after recording leaves them where the next exit run finds them.
    let dir = domain_dir(lake(state)?, org_id)?;
    let doomed = dir.with_file_name(format!("org-{org_id}.exiting-{}", now_micros()));
    let moved = dir.exists() && std::fs::rename(&dir, &doomed).is_ok();
    let destroyed = if moved {
        let d = doomed.clone();
        tokio::task::spawn_blocking(move || inventory(&d))
            .await
            .map_err(|e| AppError::internal("internal", "内部错误", e.to_string()))?
            .map_err(|e| AppError::from(pdp_lake::LakeError::Io(e.to_string())))?
    } else {
        Vec::new()
    };
    let today = today_date();
    let record = NewExit {
        org_id,
        ground: input.ground,
        reason: reason.clone(),
        decided_by: p.user.username.clone(),
        exited_on: today,
        logs_kept_until: logs_kept_until(today),
        effects: ExitEffects {
            ended_agreements: ended,
            closed_applications: closed,
            delisted_products: delisted,
            destroyed,
        },
    };
    let mut ev = p.event("operation.exit", "");
    ev.purpose = format!("{}: {reason}", input.ground.as_str());
    match state.storage.record_exit(record, ev).await {
        Ok(r) => {
            if moved && let Err(e) = std::fs::remove_dir_all(&doomed) {
                tracing::error!(error = %e, org = org_id, "deleting an exited entity's files failed; they stay set aside");
            }
            crate::fusion::destroyed(state, p, org_id).await?;
            Ok(r)
        }
        Err(e) => {
            if moved {
                let _ = std::fs::rename(&doomed, &dir);
            }
            Err(e.into())
        }
    }
}

/// Every file under `dir` with its size and SHA-256, paths relative to `dir`.
fn inventory(dir: &Path) -> std::io::Result<Vec<DestroyedFile>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let (bytes, sha256) = crate::open::sha256_of(&path)?;
            let rel = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            out.push(DestroyedFile { path: rel, bytes, sha256 });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The exit records: the authority and the operator see all; an entity its own.
pub async fn exits(state: &App, p: &Principal) -> Result<Vec<ExitRecord>, AppError> {
    let everyone = as_authority(state, p).await.is_ok() || as_operator(state, p).await.is_ok();
    Ok(state.storage.list_exits().await?.into_iter().filter(|e| everyone || Some(e.org_id) == p.org_id).collect())
}

// ----- The operation log -----

/// An entity's operation log, newest first: the entity itself, its operator and the authority.
pub async fn log(state: &App, p: &Principal, org_id: i64, offset: i64, limit: i64) -> Result<Vec<OpLogLine>, AppError> {
    let allowed = Some(org_id) == p.org_id
        && (p.allows(Permission::RunOperation) || p.allows(Permission::DevelopProducts))
        || as_authority(state, p).await.is_ok()
        || as_operator(state, p).await.is_ok();
    if !allowed {
        return Err(denied(
            "授权运营的这一部分只对协议当事方和数据主管部门开放",
            "this part of authorized operation is open to the parties of its agreements and the authority only",
        ));
    }
    if !(0..=1_000_000).contains(&offset) {
        return Err(AppError::bad_request("offset_too_large", "偏移量过大", "the offset is too large"));
    }
    Ok(state.storage.op_log(org_id, offset, limit.clamp(1, 1000)).await?)
}

/// Applies the operation log's retention: deletes lines older than
/// `operation.log_retention_days`, except an exited entity's until six months after its exit.
pub async fn prune_logs(state: &App, actor: Option<&Principal>) -> Result<u64, AppError> {
    let days = i64::from(state.settings.operation.log_retention_days.max(1));
    let before = now_micros() - days * 86_400_000_000;
    let ev = match actor {
        Some(p) => p.event("operation.log.prune", "op_log"),
        None => pdp_audit::NewEvent::system("operation.log.prune", "op_log"),
    };
    Ok(state.storage.prune_op_log(before, today_date(), ev, actor.is_some()).await?)
}

/// The authority's retention run, by hand.
pub async fn prune_logs_by(state: &App, p: &Principal) -> Result<u64, AppError> {
    as_authority(state, p).await?;
    prune_logs(state, Some(p)).await
}

/// What the operation overview shows each party.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Overview {
    /// `authority`, `operator`, `developer`, `provider` or `none`.
    pub role: String,
    pub agreements: Vec<AgreementOut>,
    pub scenarios: Vec<ScenarioOut>,
    pub products: Vec<ProductOut>,
    /// Items waiting for `p`: applications at its stage, products to review, renewals.
    pub waiting: usize,
}

/// `p`'s part in authorized operation: `authority`, `operator`, `developer`, `provider` (an
/// approver whose data applications may list) or `none`.
pub async fn role_of(state: &App, p: &Principal) -> &'static str {
    if as_authority(state, p).await.is_ok() {
        "authority"
    } else if as_operator(state, p).await.is_ok() {
        "operator"
    } else if p.allows(Permission::DevelopProducts) {
        "developer"
    } else if p.allows(Permission::ApproveShare) {
        "provider"
    } else {
        "none"
    }
}

/// The overview of authorized operation for `p`.
pub async fn overview(state: &App, p: &Principal) -> Result<Overview, AppError> {
    let role = role_of(state, p).await;
    let agreements = agreements(state, p).await?;
    let scenarios = scenarios(state, p).await.unwrap_or_default();
    let products = products(state, p).await.unwrap_or_default();
    let at_stage = |s: &ScenarioOut, stage: ReviewStage| {
        s.application.state == ApplicationState::UnderReview && s.application.stage == Some(stage)
    };
    let waiting = match role {
        "authority" => {
            scenarios.iter().filter(|s| at_stage(s, ReviewStage::Authority)).count()
                + agreements
                    .iter()
                    .filter(|a| {
                        a.agreement.status == AgreementStatus::PendingReview
                            && a.agreement.kind == AgreementKind::Operation
                    })
                    .count()
        }
        "operator" => {
            scenarios.iter().filter(|s| at_stage(s, ReviewStage::Operator)).count()
                + products.iter().filter(|p| p.product.status == ProductStatus::UnderReview).count()
        }
        "provider" => scenarios
            .iter()
            .filter(|s| {
                at_stage(s, ReviewStage::Provider)
                    && p.org_id.is_some_and(|o| {
                        s.providers.contains(&o)
                            && !s.application.steps.iter().any(|st| st.stage == ReviewStage::Provider && st.org_id == o)
                    })
            })
            .count(),
        _ => 0,
    };
    Ok(Overview { role: role.to_string(), agreements, scenarios, products, waiting })
}
