//! The catalog actions: entries, the review workflow,
//! history and diffs, derived catalogs, change events with their deadlines, the information
//! system registry, search, import and export.
//!
//! Who may see and do what is decided here, once, for both the API and the pages:
//! - a data officer works on the entries of their own organisation;
//! - a catalog reviewer reviews the organisations of their region, and a reviewer of the city
//!   reviews every region (R-CAT-03); nobody approves a version they wrote;
//! - the published (master) catalog is visible to every holder of `ViewCatalog`, while drafts
//!   and versions under review are visible to their organisation, their reviewers and the
//!   platform administrator.

use crate::App;
use crate::Principal;
use crate::error::{AppError, ViolationOut};
use pdp_domain::calendar::ISO_DATE;
use pdp_domain::catalog::{
    Change, ChangeKind, DerivedCatalog, EntryBody, GradingMatrix, SystemStatus, VersionStatus, Violation,
    WorkflowAction, diff, update_deadline, validate,
};
use pdp_domain::org::RegionLevel;
use pdp_domain::roles::{Permission, Role};
use pdp_search::{CatalogIndex, SearchDoc, SearchQuery};
use pdp_storage::catalog::*;
use pdp_storage::{Organisation, Region};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// What the catalog needs besides storage: the grading matrix, the working-day calendar and the
/// search index (absent when the index could not be opened; search then answers 503).
#[derive(Default)]
pub struct CatalogCtx {
    pub matrix: GradingMatrix,
    /// The working-day calendar: the shipped tables and those the authority added.
    pub calendar: crate::calendar::LiveCalendar,
    pub index: Option<Arc<CatalogIndex>>,
}

// ---------------------------------------------------------------- scope

/// A set of organisations, or all of them.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub all: bool,
    pub orgs: BTreeSet<i64>,
}

impl Scope {
    pub fn contains(&self, org_id: i64) -> bool {
        self.all || self.orgs.contains(&org_id)
    }
}

/// The organisations whose entries `p` may review: those of the reviewer's region, or all of
/// them for a reviewer of a city-level region.
pub async fn review_scope(state: &App, p: &Principal) -> Result<Scope, AppError> {
    let mut scope = Scope::default();
    if !p.allows(Permission::ReviewCatalog) {
        return Ok(scope);
    }
    let Some(org_id) = p.org_id else { return Ok(scope) };
    let Some(org) = state.storage.get_org(org_id).await? else { return Ok(scope) };
    let regions = state.storage.list_regions().await?;
    let Some(region) = regions.iter().find(|r| r.id == org.region_id) else { return Ok(scope) };
    if region.level == RegionLevel::City {
        scope.all = true;
    } else {
        scope.orgs =
            state.storage.list_orgs().await?.iter().filter(|o| o.region_id == region.id).map(|o| o.id).collect();
    }
    Ok(scope)
}

/// The organisations whose unpublished versions `p` may see.
pub async fn draft_scope(state: &App, p: &Principal) -> Result<Scope, AppError> {
    let mut scope = review_scope(state, p).await?;
    if p.user.roles.contains(&Role::PlatformAdmin) {
        scope.all = true;
    }
    if let Some(o) = p.org_id {
        scope.orgs.insert(o);
    }
    Ok(scope)
}

// ---------------------------------------------------------------- errors
fn invalid_entry(violations: &[Violation]) -> AppError {
    AppError::bad_request(
        "catalog_invalid",
        format!("目录条目有 {} 处不符合规则", violations.len()),
        format!("the catalog entry breaks {} rule(s)", violations.len()),
    )
    .with_details(violations.iter().map(ViolationOut::from).collect())
}

fn forbidden_org() -> AppError {
    AppError::not_allowed(
        "catalog_not_your_org",
        "只能编辑本单位的目录",
        "you can only edit your own organisation's catalog",
    )
}

// ---------------------------------------------------------------- entries

/// The body of a create or update: the entry as the officer writes it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EntryInput {
    #[schema(value_type = Object)]
    pub body: EntryBody,
}

/// Checks an entry body against every rule, including that its source system exists.
pub async fn check_body(state: &App, org_id: i64, body: &EntryBody) -> Result<Vec<Violation>, AppError> {
    let mut v = validate(body, &state.catalog.matrix);
    if let Some(sid) = body.source_system_id
        && !state.storage.list_systems(Some(org_id)).await?.iter().any(|s| s.id == sid)
    {
        v.push(Violation {
            code: "unknown_source_system".into(),
            path: "source_system_id".into(),
            message_zh: format!("来源信息系统 {sid} 未在本单位登记"),
            message_en: format!("source system {sid} is not registered for this organisation"),
        });
    }
    Ok(v)
}

pub async fn do_create_entry(state: &App, p: &Principal, body: EntryBody) -> Result<EntryVersion, AppError> {
    let org_id = p.org_id.ok_or_else(forbidden_org)?;
    let v = check_body(state, org_id, &body).await?;
    if !v.is_empty() {
        return Err(invalid_entry(&v));
    }
    let ev = p.event("catalog.entry.create", "");
    Ok(state.storage.create_entry(org_id, &body, Some(p.user.id), ev).await?)
}

/// The newest version of an entry, if `p` may see it; the published one otherwise.
pub async fn visible_entry(state: &App, p: &Principal, id: i64) -> Result<EntryVersion, AppError> {
    let e = state.storage.get_entry(id).await?.ok_or_else(|| AppError::not_found(&format!("catalog entry {id}")))?;
    if draft_scope(state, p).await?.contains(e.org_id) {
        return Ok(e);
    }
    let history = state.storage.entry_history(id).await?;
    history
        .into_iter()
        .rev()
        .find(|v| v.status == VersionStatus::Published)
        .ok_or_else(|| AppError::not_found(&format!("catalog entry {id}")))
}

pub async fn do_update_entry(state: &App, p: &Principal, id: i64, body: EntryBody) -> Result<EntryVersion, AppError> {
    let e = state.storage.get_entry(id).await?.ok_or_else(|| AppError::not_found(&format!("catalog entry {id}")))?;
    if p.org_id != Some(e.org_id) {
        return Err(forbidden_org());
    }
    let v = check_body(state, e.org_id, &body).await?;
    if !v.is_empty() {
        return Err(invalid_entry(&v));
    }
    if e.status == VersionStatus::Submitted {
        return Err(AppError::conflict(
            "catalog_under_review",
            "该条目正在审核中，请先撤回再修改",
            "the entry is under review; withdraw it before editing",
        ));
    }
    let ev = p.event("catalog.entry.save", &format!("catalog:{}", e.code));
    Ok(state.storage.save_entry(id, &body, Some(p.user.id), ev).await?)
}

pub async fn do_delete_entry(state: &App, p: &Principal, id: i64) -> Result<(), AppError> {
    let e = state.storage.get_entry(id).await?.ok_or_else(|| AppError::not_found(&format!("catalog entry {id}")))?;
    if p.org_id != Some(e.org_id) {
        return Err(forbidden_org());
    }
    let ev = p.event("catalog.entry.delete", &format!("catalog:{}", e.code));
    Ok(state.storage.delete_entry(id, ev).await?)
}

/// A workflow step on the newest version of an entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ReviewInput {
    /// The version the caller saw; the step fails with a conflict if it is no longer the newest.
    pub version: i64,
    /// Required when rejecting.
    #[serde(default)]
    pub reason: String,
}

/// Refuses unless `p` reviews the catalog of `org_id` (its region's, or all for the city).
pub(crate) async fn require_reviewer_of(state: &App, p: &Principal, org_id: i64) -> Result<(), AppError> {
    if !p.allows(Permission::ReviewCatalog) || !review_scope(state, p).await?.contains(org_id) {
        return Err(AppError::not_allowed(
            "catalog_not_your_region",
            "该单位不在您的审核范围内",
            "this organisation is outside the region you review",
        ));
    }
    Ok(())
}

pub async fn do_transition(
    state: &App,
    p: &Principal,
    id: i64,
    action: WorkflowAction,
    input: ReviewInput,
) -> Result<EntryVersion, AppError> {
    let e = state.storage.get_entry(id).await?.ok_or_else(|| AppError::not_found(&format!("catalog entry {id}")))?;
    if e.version != input.version {
        return Err(AppError::conflict(
            "catalog_stale_version",
            format!("条目已有更新的版本 {}，请刷新后重试", e.version),
            format!("the entry has a newer version {}; reload and retry", e.version),
        ));
    }
    match action {
        WorkflowAction::Submit | WorkflowAction::Withdraw => {
            if !p.allows(Permission::EditCatalog) || p.org_id != Some(e.org_id) {
                return Err(forbidden_org());
            }
        }
        WorkflowAction::Approve | WorkflowAction::Reject => {
            require_reviewer_of(state, p, e.org_id).await?;
            if e.author_id == Some(p.user.id) {
                return Err(AppError::not_allowed(
                    "catalog_own_version",
                    "不能审核自己编写的版本",
                    "you cannot review a version you wrote",
                ));
            }
        }
    }
    let to = e.status.next(action).map_err(|err| AppError::domain(&err))?;
    if action == WorkflowAction::Submit {
        // The grading matrix may have changed since the draft was saved.
        let v = check_body(state, e.org_id, &e.body).await?;
        if !v.is_empty() {
            return Err(invalid_entry(&v));
        }
    }
    let reason = input.reason.trim();
    if action == WorkflowAction::Reject && reason.is_empty() {
        return Err(AppError::bad_request("catalog_reason_required", "退回须说明理由", "a rejection needs a reason"));
    }
    let ev = p
        .event(&format!("catalog.entry.{}", action.as_str()), &format!("catalog:{}", e.code))
        .with_detail(serde_json::json!({ "version": e.version, "reason": reason }).to_string());
    let out = state.storage.transition_entry(id, e.version, e.status, to, Some(p.user.id), reason, ev).await?;
    if to == VersionStatus::Published {
        index_entries(state, std::slice::from_ref(&out)).await;
    }
    Ok(out)
}

// ---------------------------------------------------------------- search index

/// The search document of a published version.
pub fn search_doc(e: &EntryVersion, orgs: &BTreeMap<i64, Organisation>) -> SearchDoc {
    let org = orgs.get(&e.org_id);
    let b = &e.body;
    let fields: Vec<String> = b.fields.iter().map(|f| format!("{} {}", f.label, f.name)).collect();
    SearchDoc {
        entry_id: e.entry_id,
        code: e.code.clone(),
        name: b.name.clone(),
        summary: b.summary.clone(),
        fields: fields.join(" "),
        provider: org.map(|o| o.name.clone()).unwrap_or_default(),
        facets: vec![
            ("provider".into(), e.org_id.to_string()),
            ("region".into(), org.map(|o| o.region_id.to_string()).unwrap_or_default()),
            ("class".into(), b.class.as_str().into()),
            ("share".into(), b.share.share_type.as_str().into()),
            ("open".into(), b.open.open_type.as_str().into()),
            ("grade".into(), b.grade().as_str().into()),
            ("frequency".into(), b.frequency.as_str().into()),
        ],
    }
}

/// Puts published versions into the search index. A failure is logged, not returned: the entry
/// is published either way, and `pdp catalog reindex` repairs the index.
pub async fn index_entries(state: &App, entries: &[EntryVersion]) {
    // A published version can change what the open catalog opens.
    crate::open::catalog_changed(state);
    let Some(index) = state.catalog.index.clone() else { return };
    let orgs = match state.storage.list_orgs().await {
        Ok(o) => o.into_iter().map(|o| (o.id, o)).collect(),
        Err(e) => {
            tracing::error!(error = %e, "search index not updated");
            return;
        }
    };
    let docs: Vec<SearchDoc> = entries.iter().map(|e| search_doc(e, &orgs)).collect();
    let r = tokio::task::spawn_blocking(move || index.upsert(&docs)).await;
    if !matches!(r, Ok(Ok(()))) {
        tracing::error!("search index not updated; run `pdp catalog reindex`");
    }
}

/// Rebuilds the index from the published catalog; returns the number of documents.
pub async fn rebuild_index(
    storage: &dyn pdp_storage::Storage,
    index: Arc<CatalogIndex>,
    progress: impl FnMut(usize) + Send + 'static,
) -> anyhow::Result<usize> {
    let orgs: BTreeMap<i64, Organisation> = storage.list_orgs().await?.into_iter().map(|o| (o.id, o)).collect();
    let entries = storage.list_entries(&EntryQuery { view: EntryView::Published, ..Default::default() }).await?;
    let docs: Vec<SearchDoc> = entries.iter().map(|e| search_doc(e, &orgs)).collect();
    Ok(tokio::task::spawn_blocking(move || index.rebuild(docs, progress)).await??)
}

// ---------------------------------------------------------------- listings

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `latest` (default; drafts only within your scope) or `published` (the master catalog).
    pub view: Option<String>,
    pub org_id: Option<i64>,
    pub region_id: Option<i64>,
    /// A version state, e.g. `submitted`.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Lists entries as `p` may see them: the newest versions within `p`'s draft scope, the
/// published ones elsewhere.
pub async fn do_list_entries(state: &App, p: &Principal, q: &ListParams) -> Result<Vec<EntryVersion>, AppError> {
    let view = match q.view.as_deref() {
        None | Some("") | Some("latest") => EntryView::Latest,
        Some("published") => EntryView::Published,
        Some(other) => {
            return Err(AppError::bad_request(
                "invalid_view",
                format!("未知视图：{other}"),
                format!("unknown view: {other}"),
            ));
        }
    };
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(VersionStatus::parse(s).ok_or_else(|| {
            AppError::bad_request("invalid_status", format!("未知状态：{s}"), format!("unknown status: {s}"))
        })?),
    };
    let query = EntryQuery {
        view,
        org_id: q.org_id,
        region_id: q.region_id,
        status,
        limit: Some(q.limit.unwrap_or(500).clamp(1, 5000)),
        offset: Some(crate::limits::offset(state, q.offset)? as i64),
    };
    if view == EntryView::Published {
        return Ok(state.storage.list_entries(&query).await?);
    }
    let scope = draft_scope(state, p).await?;
    let rows = state.storage.list_entries(&EntryQuery { limit: None, offset: None, ..query.clone() }).await?;
    // Outside the scope, the published version stands in for a newer draft.
    let mut out = Vec::new();
    let mut hidden = Vec::new();
    for e in rows {
        if scope.contains(e.org_id) || e.status == VersionStatus::Published {
            out.push(e);
        } else if e.published_version.is_some() && status.is_none() {
            hidden.push(e.entry_id);
        }
    }
    for id in hidden {
        if let Some(v) =
            state.storage.entry_history(id).await?.into_iter().find(|v| v.status == VersionStatus::Published)
        {
            out.push(v);
        }
    }
    out.sort_by(|a, b| a.code.cmp(&b.code));
    let offset = query.offset.unwrap_or(0).max(0) as usize;
    let limit = query.limit.unwrap_or(500) as usize;
    Ok(out.into_iter().skip(offset).take(limit).collect())
}

/// Every version of an entry that `p` may see, oldest first.
pub async fn do_history(state: &App, p: &Principal, id: i64) -> Result<Vec<EntryVersion>, AppError> {
    let e = visible_entry(state, p, id).await?;
    let all = state.storage.entry_history(id).await?;
    if draft_scope(state, p).await?.contains(e.org_id) {
        Ok(all)
    } else {
        Ok(all
            .into_iter()
            .filter(|v| matches!(v.status, VersionStatus::Published | VersionStatus::Superseded))
            .collect())
    }
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffParams {
    pub from: i64,
    pub to: i64,
}

/// One changed value between two versions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeOut {
    pub path: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl From<Change> for ChangeOut {
    fn from(c: Change) -> Self {
        Self { path: c.path, old: c.old, new: c.new }
    }
}

pub async fn do_diff(state: &App, p: &Principal, id: i64, from: i64, to: i64) -> Result<Vec<ChangeOut>, AppError> {
    let history = do_history(state, p, id).await?;
    let find = |v: i64| {
        history
            .iter()
            .find(|h| h.version == v)
            .ok_or_else(|| AppError::not_found(&format!("version {v} of entry {id}")))
    };
    Ok(diff(&find(from)?.body, &find(to)?.body).into_iter().map(ChangeOut::from).collect())
}

/// Versions waiting for `p`'s review, oldest submission first.
pub async fn do_review_queue(state: &App, p: &Principal) -> Result<Vec<EntryVersion>, AppError> {
    let scope = review_scope(state, p).await?;
    let mut rows = state
        .storage
        .list_entries(&EntryQuery { status: Some(VersionStatus::Submitted), ..Default::default() })
        .await?;
    rows.retain(|e| scope.contains(e.org_id));
    rows.sort_by_key(|e| e.submitted_at_micros);
    Ok(rows)
}

// ---------------------------------------------------------------- derived catalogs

/// One row of a derived catalog: what the negative list must show (R-SHR-02) and the rest of
/// the entry for the other lists.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DerivedRow {
    pub entry_id: i64,
    pub code: String,
    pub name: String,
    pub provider_id: i64,
    pub provider: String,
    pub region_id: i64,
    pub class: String,
    pub item: String,
    pub share_type: String,
    pub share_legal_basis: String,
    pub share_conditions: String,
    pub open_type: String,
    pub open_legal_basis: String,
    pub grade: String,
    pub frequency: String,
    /// Field labels, in order.
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DerivedParams {
    pub org_id: Option<i64>,
    pub region_id: Option<i64>,
    /// Only entries whose name contains this text.
    pub q: Option<String>,
}

/// A derived catalog, computed from the published entries every time.
pub async fn do_derived(
    state: &App,
    kind: DerivedCatalog,
    q: &DerivedParams,
) -> Result<(Vec<DerivedRow>, Vec<EntryVersion>), AppError> {
    let orgs: BTreeMap<i64, Organisation> = state.storage.list_orgs().await?.into_iter().map(|o| (o.id, o)).collect();
    let entries = state
        .storage
        .list_entries(&EntryQuery {
            view: EntryView::Published,
            org_id: q.org_id,
            region_id: q.region_id,
            ..Default::default()
        })
        .await?;
    let needle = q.q.as_deref().map(str::trim).unwrap_or("");
    let kept: Vec<EntryVersion> = entries
        .into_iter()
        .filter(|e| kind.includes(&e.body) && (needle.is_empty() || e.body.name.contains(needle)))
        .collect();
    let rows = kept
        .iter()
        .map(|e| {
            let b = &e.body;
            let org = orgs.get(&e.org_id);
            DerivedRow {
                entry_id: e.entry_id,
                code: e.code.clone(),
                name: b.name.clone(),
                provider_id: e.org_id,
                provider: org.map(|o| o.name.clone()).unwrap_or_default(),
                region_id: org.map(|o| o.region_id).unwrap_or_default(),
                class: b.class.as_str().into(),
                item: b.item.clone(),
                share_type: b.share.share_type.as_str().into(),
                share_legal_basis: b.share.legal_basis.clone(),
                share_conditions: b.share.conditions.clone(),
                open_type: b.open.open_type.as_str().into(),
                open_legal_basis: b.open.legal_basis.clone(),
                grade: b.grade().as_str().into(),
                frequency: b.frequency.as_str().into(),
                fields: b.fields.iter().map(|f| f.label.clone()).collect(),
            }
        })
        .collect();
    Ok((rows, kept))
}

pub fn parse_kind(kind: &str) -> Result<DerivedCatalog, AppError> {
    DerivedCatalog::parse(kind).ok_or_else(|| {
        AppError::not_found(&format!("derived catalog {kind} (share, open, negative, base, theme, department)"))
    })
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
    /// A derived catalog (`share`, `negative`…); absent means the master catalog or, with
    /// `view=latest`, the newest versions in your scope.
    pub kind: Option<String>,
    pub view: Option<String>,
    pub org_id: Option<i64>,
    pub region_id: Option<i64>,
    /// With `view=latest`: only versions in this state, e.g. `draft`.
    pub status: Option<String>,
    pub q: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TemplateParams {
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
}

/// The outcome of an import that passed every check.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportResult {
    pub created: usize,
    pub updated: usize,
    /// Codes of the entries written, as drafts for review.
    pub codes: Vec<String>,
}

/// Imports a CSV or XLSX template into the caller's organisation. Every row is checked first;
/// any problem fails the whole import with every problem listed, and nothing is written.
pub async fn do_import(state: &App, p: &Principal, bytes: &[u8]) -> Result<ImportResult, AppError> {
    let org_id = p.org_id.ok_or_else(forbidden_org)?;
    // Parsing a sheet is CPU work: off the async workers, within the configured sheet limits.
    let (owned, matrix, sheet) = (bytes.to_vec(), state.catalog.matrix.clone(), state.settings.limits.sheet);
    let parsed = crate::limits::on_cpu(state, move || pdp_interchange::parse(&owned, &matrix, &sheet)).await?;
    let mut issues = match &parsed {
        Ok(_) => Vec::new(),
        Err(e) => e.clone(),
    };
    let mut plan = Vec::new();
    if let Ok(entries) = parsed {
        for pe in entries {
            // Checks that need the database: codes of this organisation, registered systems.
            let existing = match &pe.code {
                Some(code) => match state.storage.get_entry_by_code(code).await? {
                    Some(e) if e.org_id == org_id && e.status != VersionStatus::Submitted => Some(e.entry_id),
                    Some(e) if e.org_id == org_id => {
                        issues.push(pdp_interchange::issue(
                            pe.first_row,
                            "资源代码",
                            "code",
                            "catalog_under_review",
                            "该条目正在审核中，不能导入修改",
                            "the entry is under review and cannot be changed by import",
                        ));
                        Some(e.entry_id)
                    }
                    _ => {
                        issues.push(pdp_interchange::issue(
                            pe.first_row,
                            "资源代码",
                            "code",
                            "unknown_code",
                            format!("本单位没有资源代码为 {code} 的条目"),
                            format!("your organisation has no entry {code}"),
                        ));
                        None
                    }
                },
                None => None,
            };
            for v in check_body(state, org_id, &pe.body).await? {
                if v.code == "unknown_source_system" {
                    issues.push(pdp_interchange::issue(
                        pe.first_row,
                        "来源信息系统",
                        &v.path,
                        &v.code,
                        v.message_zh,
                        v.message_en,
                    ));
                }
            }
            plan.push((existing, pe));
        }
    }
    if !issues.is_empty() {
        issues.sort_by(|a, b| (a.row, &a.column).cmp(&(b.row, &b.column)));
        return Err(AppError::bad_request(
            "import_invalid",
            format!("导入文件有 {} 处错误，未导入任何条目", issues.len()),
            format!("the file has {} error(s); nothing was imported", issues.len()),
        )
        .with_details(issues.iter().map(ViolationOut::from).collect()));
    }
    let items: Vec<(Option<i64>, EntryBody)> = plan.into_iter().map(|(id, pe)| (id, pe.body)).collect();
    let ev = p
        .event("catalog.import", &format!("org:{org_id}"))
        .with_detail(serde_json::json!({ "entries": items.len() }).to_string());
    let written = state.storage.import_entries(org_id, &items, Some(p.user.id), ev).await?;
    let created = items.iter().filter(|(id, _)| id.is_none()).count();
    Ok(ImportResult { created, updated: items.len() - created, codes: written.into_iter().map(|e| e.code).collect() })
}

// ---------------------------------------------------------------- search

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    pub q: Option<String>,
    pub provider: Option<String>,
    pub region: Option<String>,
    pub class: Option<String>,
    pub share: Option<String>,
    pub open: Option<String>,
    pub grade: Option<String>,
    pub frequency: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

impl SearchParams {
    pub fn filters(&self) -> Vec<(String, String)> {
        [
            ("provider", &self.provider),
            ("region", &self.region),
            ("class", &self.class),
            ("share", &self.share),
            ("open", &self.open),
            ("grade", &self.grade),
            ("frequency", &self.frequency),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().filter(|v| !v.is_empty()).map(|v| (k.to_string(), v.clone())))
        .collect()
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchHitOut {
    pub entry_id: i64,
    pub code: String,
    pub score: f32,
    /// The name with matches in `<b>`; everything else is escaped.
    pub name_html: String,
    pub summary_html: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FacetOut {
    pub value: String,
    /// A readable label of the value (organisation name, 有条件共享…).
    pub label: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchOut {
    pub total: usize,
    pub hits: Vec<SearchHitOut>,
    pub facets: BTreeMap<String, Vec<FacetOut>>,
}

/// A readable label for a facet value.
pub fn facet_label(facet: &str, value: &str, orgs: &BTreeMap<i64, Organisation>, regions: &[Region]) -> String {
    use pdp_domain::catalog::{CategoryClass, Frequency, Grade, OpenType, ShareType};
    let id = value.parse::<i64>().ok();
    let label = match facet {
        "provider" => id.and_then(|i| orgs.get(&i)).map(|o| o.name.clone()),
        "region" => id.and_then(|i| regions.iter().find(|r| r.id == i)).map(|r| r.name.clone()),
        "class" => CategoryClass::parse(value).map(|v| v.label_zh().to_string()),
        "share" => ShareType::parse(value).map(|v| v.label_zh().to_string()),
        "open" => OpenType::parse(value).map(|v| v.label_zh().to_string()),
        "grade" => Grade::parse(value).map(|v| v.label_zh().to_string()),
        "frequency" => Frequency::parse(value).map(|v| v.label_zh().to_string()),
        _ => None,
    };
    label.unwrap_or_else(|| value.to_string())
}

pub async fn do_search(state: &App, q: &SearchParams) -> Result<SearchOut, AppError> {
    let index = state
        .catalog
        .index
        .clone()
        .ok_or_else(|| AppError::unavailable("search_unavailable", "检索服务暂不可用", "search is unavailable"))?;
    let query = SearchQuery {
        text: q.q.clone().unwrap_or_default(),
        filters: q.filters(),
        limit: q.limit.unwrap_or(20).clamp(1, 200),
        offset: crate::limits::offset(state, q.offset)?,
    };
    let res = tokio::task::spawn_blocking(move || index.search(&query))
        .await
        .map_err(|_| AppError::internal("search_failed", "检索失败", "search failed"))?
        .map_err(|e| {
            tracing::error!(error = %e, "search failed");
            AppError::internal("search_failed", "检索失败", "search failed")
        })?;
    let orgs: BTreeMap<i64, Organisation> = state.storage.list_orgs().await?.into_iter().map(|o| (o.id, o)).collect();
    let regions = state.storage.list_regions().await?;
    Ok(SearchOut {
        total: res.total,
        hits: res
            .hits
            .into_iter()
            .map(|h| SearchHitOut {
                entry_id: h.entry_id,
                code: h.code,
                score: h.score,
                name_html: h.name_html,
                summary_html: h.summary_html,
            })
            .collect(),
        facets: res
            .facets
            .into_iter()
            .map(|(k, vals)| {
                let out = vals
                    .into_iter()
                    .map(|(v, count)| FacetOut { label: facet_label(&k, &v, &orgs, &regions), value: v, count })
                    .collect();
                (k, out)
            })
            .collect(),
    })
}

// ---------------------------------------------------------------- change events and deadlines

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChangeInput {
    pub org_id: i64,
    /// `legal_basis` or `functions`.
    pub kind: String,
    pub description: String,
    /// The day the change took effect, `YYYY-MM-DD`; the deadline is 15 working days later.
    pub event_date: String,
}

pub async fn do_record_change(state: &App, p: &Principal, input: ChangeInput) -> Result<ChangeEvent, AppError> {
    // An organisation records its own changes; reviewers record them for their region.
    let own = p.org_id == Some(input.org_id);
    if !own && !review_scope(state, p).await?.contains(input.org_id) {
        return Err(AppError::not_allowed(
            "catalog_org_out_of_scope",
            "只能为本单位或您审核范围内的单位登记变化",
            "you can record changes only for your own organisation or those you review",
        ));
    }
    if state.storage.get_org(input.org_id).await?.is_none() {
        return Err(AppError::bad_request("invalid_org", "单位不存在", "the organisation does not exist"));
    }
    let kind = ChangeKind::parse(&input.kind).ok_or_else(|| {
        AppError::bad_request(
            "invalid_change_kind",
            "变更类型须为 legal_basis（法定依据变化）或 functions（职能变化）",
            "the kind must be legal_basis or functions",
        )
    })?;
    let description = input.description.trim();
    if description.is_empty() {
        return Err(AppError::bad_request("description_required", "请说明变更内容", "describe the change"));
    }
    let date = time::Date::parse(input.event_date.trim(), ISO_DATE)
        .map_err(|_| AppError::bad_request("invalid_date", "日期格式应为 YYYY-MM-DD", "the date must be YYYY-MM-DD"))?;
    let due = update_deadline(&state.catalog.calendar.get(), date).map_err(|e| AppError::domain(&e))?.due;
    let ev = p.event("catalog.change.record", &format!("org:{}", input.org_id));
    Ok(state
        .storage
        .record_change(
            NewChangeEvent {
                org_id: input.org_id,
                kind,
                description: description.into(),
                event_date: date,
                due_date: due,
                created_by: Some(p.user.id),
            },
            ev,
        )
        .await?)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrgParams {
    pub org_id: Option<i64>,
}

/// A deadline with whether it has passed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeadlineOut {
    #[serde(flatten)]
    pub deadline: Deadline,
    /// Open and past its due date.
    pub overdue: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadlineParams {
    pub org_id: Option<i64>,
    pub region_id: Option<i64>,
    /// Only deadlines not yet met.
    pub open_only: Option<bool>,
    /// Only deadlines open and past due: the authority's overdue list.
    pub overdue: Option<bool>,
}

pub async fn do_deadlines(state: &App, q: &DeadlineParams) -> Result<Vec<DeadlineOut>, AppError> {
    let today = crate::clock::today_date();
    let overdue_only = q.overdue.unwrap_or(false);
    let rows = state
        .storage
        .list_deadlines(&DeadlineQuery {
            org_id: q.org_id,
            region_id: q.region_id,
            open_only: q.open_only.unwrap_or(false) || overdue_only,
        })
        .await?;
    Ok(rows
        .into_iter()
        .map(|d| {
            let overdue = d.met_at_micros.is_none() && d.due_date < today;
            DeadlineOut { deadline: d, overdue }
        })
        .filter(|d| !overdue_only || d.overdue)
        .collect())
}

// ---------------------------------------------------------------- information systems

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SystemInput {
    pub name: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub funding: String,
    /// `planned`, `building`, `in_service` or `retired` (or 规划中, 建设中, 运行中, 已停用);
    /// `in_service` when not given.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub items: Vec<SystemDataItem>,
}

pub async fn do_create_system(state: &App, p: &Principal, input: SystemInput) -> Result<InfoSystem, AppError> {
    let org_id = p.org_id.ok_or_else(forbidden_org)?;
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::bad_request(
            "invalid_field",
            "系统名称不能为空且不超过 200 字",
            "the system name must be 1 to 200 characters",
        ));
    }
    for item in &input.items {
        if item.name.trim().is_empty() {
            return Err(AppError::bad_request("invalid_field", "数据项名称不能为空", "a data item needs a name"));
        }
        if let Some(eid) = item.entry_id {
            match state.storage.get_entry(eid).await? {
                Some(e) if e.org_id == org_id => {}
                _ => {
                    return Err(AppError::bad_request(
                        "invalid_entry_link",
                        format!("目录条目 {eid} 不存在或不属于本单位"),
                        format!("catalog entry {eid} does not exist or is not your organisation's"),
                    ));
                }
            }
        }
    }
    let status = match input.status.trim() {
        "" => SystemStatus::InService,
        s => SystemStatus::parse(s).ok_or_else(|| {
            AppError::bad_request(
                "invalid_field",
                "系统状态应为规划中、建设中、运行中或已停用",
                "the system's status must be planned, building, in_service or retired",
            )
        })?,
    };
    let ev = p.event("catalog.system.create", "");
    Ok(state
        .storage
        .create_system(
            NewInfoSystem {
                org_id,
                name: name.into(),
                owner: input.owner.trim().into(),
                funding: input.funding.trim().into(),
                status,
                items: input.items,
            },
            ev,
        )
        .await?)
}

/// A registered system with data that is not yet cataloged or not yet aggregated (R-CAT-08).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SystemReportRow {
    pub system: InfoSystem,
    /// Data items linked to no catalog entry.
    pub uncataloged: Vec<String>,
    /// Data items whose entry is not yet published, so nothing can be aggregated for it.
    pub unpublished: Vec<String>,
    /// Data items whose entry is published but whose dataset has no version in the data lake:
    /// nothing of it has been aggregated.
    pub not_aggregated: Vec<String>,
}

pub async fn do_systems_report(state: &App, org_id: Option<i64>) -> Result<Vec<SystemReportRow>, AppError> {
    let mut out = Vec::new();
    for s in state.storage.list_systems(org_id).await? {
        let mut row =
            SystemReportRow { system: s.clone(), uncataloged: vec![], unpublished: vec![], not_aggregated: vec![] };
        for item in &s.items {
            match item.entry_id {
                None => row.uncataloged.push(item.name.clone()),
                Some(eid) => match state.storage.get_entry(eid).await? {
                    None => row.uncataloged.push(item.name.clone()),
                    Some(e) if e.published_version.is_none() => row.unpublished.push(item.name.clone()),
                    // The lake is what was aggregated, not what the catalog says should be.
                    Some(e) => {
                        let loaded = match &state.lake {
                            Some(lake) => lake.latest_version(&e.code).await.is_ok(),
                            None => false,
                        };
                        if !loaded {
                            row.not_aggregated.push(item.name.clone());
                        }
                    }
                },
            }
        }
        if !(row.uncataloged.is_empty() && row.unpublished.is_empty() && row.not_aggregated.is_empty()) {
            out.push(row);
        }
    }
    Ok(out)
}
