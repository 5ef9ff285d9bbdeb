//! Opening public data (开放, R-OPN): open releases and the public portal's reads.
//!
//! A provider's data officer prepares a release of a published entry that the catalog opens
//! (unconditionally or on application): fields with their masking, row filters, formats and the
//! declassification confirmation, checked by `pdp_domain::open::check_rules`. The release's rows
//! are written once, masked, from one version of the dataset to an immutable Parquet file under
//! the lake's `_open/` directory, and a sample is shown to the reviewer. The authority's security
//! and confidentiality review (a catalog reviewer of the provider's region, never the preparer)
//! approves it against the checklist or returns it with reasons. A release with `auto_push`
//! follows its dataset: each new version becomes a new release by the same rules, published at
//! once while the released fields' definitions are unchanged and sent to review when they change.
//!
//! The public reads published releases only, without an account: rows by a stable cursor, whole
//! files in every format, every past release. On-application releases are listed here and served
//! to approved applicants only (`crate::applications`). Every read of rows leaves an audit event.

use std::path::PathBuf;
use std::sync::Arc;

use futures::StreamExt;
use pdp_audit::NewEvent;
use pdp_domain::catalog::{OpenType, VersionStatus};
use pdp_domain::open::{
    ReleaseFormat, ReleaseRoute, ReleaseRules, ReleaseStatus, Review, check_review, check_rules, schema_digest,
};
use pdp_lake::release::{CellFilter, ReleasePage};
use pdp_lake::share::{ColumnFilter, Match, Selection};
use pdp_lake::{Lake, table_dir};
use pdp_storage::catalog::{EntryQuery, EntryVersion, EntryView};
use pdp_storage::{NewRelease, OpenRelease, ReleaseDecision, ReleaseQuery, Storage};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::catalog::review_scope;
use crate::clock::today_date;
use crate::datasets::{lake, published_entry_of};
use crate::error::{AppError, ErrorKind, ViolationOut};
use crate::sharing::ByteStream;
use crate::{App, Principal};

pub use crate::open_catalog::{
    BrowseOut, BrowseParams, DatasetStats, OPEN_FACETS, OpenCatalog, OpenDataset, OpenStats, OrgStats, Quality, browse,
    browse_up_to, catalog_changed, open_catalog, open_dataset, open_stats, recent_stats, refresh_catalog, topic_label,
};

/// Rows of a sample shown to the reviewer and of a dataset page's preview.
pub const SAMPLE_ROWS: usize = 20;
/// The most rows one API page returns.
pub const MAX_PAGE_ROWS: usize = 1000;
/// The most rows one filtered page reads to fill itself; past it the page comes back short,
/// with the cursor to go on from.
pub const SCAN_BUDGET: u64 = 200_000;
/// The most rows an XLSX download holds: a workbook is built in memory (CSV and Parquet stream).
pub const MAX_XLSX_ROWS: u64 = 100_000;
/// The footer entry that marks a release's file.
const FILE_SCHEME: (&str, &str) = ("pdp.open_release", "v1");

/// What a provider prepares.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrepareInput {
    pub entry_id: i64,
    /// Fields with their masking, row filters, formats, `declassified`, `auto_push`.
    #[schema(value_type = Object)]
    pub rules: ReleaseRules,
}

/// A release with its entry's name, code and provider.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReleaseOut {
    #[serde(flatten)]
    pub release: OpenRelease,
    pub name: String,
    pub code: String,
    pub org_name: String,
}

/// Who reads open data: an account, or an anonymous visitor known by address.
#[derive(Debug, Clone)]
pub enum Reader {
    Account(Principal),
    Anonymous(String),
}

impl Reader {
    /// Anonymous reads are limited per client address; accounts and keys by the gate.
    fn admit(&self, state: &App) -> Result<(), AppError> {
        let Self::Anonymous(addr) = self else { return Ok(()) };
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        addr.hash(&mut h);
        if state.open_rate.allow(h.finish() as i64, state.settings.open_anonymous_rate_per_second) {
            Ok(())
        } else {
            Err(AppError::too_many(
                "open_rate_limited",
                "访问过于频繁，请稍后再试；注册并申请 API 密钥可获得更高额度",
                "too many requests from this address; retry later, or register and use an API key for a higher quota",
            ))
        }
    }

    fn event(&self, action: &str, object: &str, detail: String) -> NewEvent {
        match self {
            Self::Account(p) => p.event_with_detail(action, object, detail),
            Self::Anonymous(addr) => {
                let mut e = NewEvent::system(action, object).with_detail(detail);
                e.actor = format!("anonymous@{addr}");
                e
            }
        }
    }
}

pub(crate) fn invalid_release(violations: &[pdp_domain::catalog::Violation]) -> AppError {
    AppError::bad_request(
        "release_invalid",
        format!("开放数据有 {} 处不符合规则", violations.len()),
        format!("the release breaks {} rule(s)", violations.len()),
    )
    .with_details(violations.iter().map(ViolationOut::from).collect())
}

fn io_error(e: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %e, "reading or writing an open release's file failed");
    AppError::internal("io_error", "读写开放数据文件失败", "reading or writing the release's file failed")
}

/// Where releases' files live: beside the tables, under `_open/`, never inside a table.
pub fn release_root(lake: &Lake) -> Result<PathBuf, AppError> {
    let root = lake.root().to_file_path().map_err(|_| {
        AppError::new(
            ErrorKind::Unsupported,
            "open_needs_local_lake",
            "开放数据目前只支持本地目录中的数据湖",
            "open releases are written to a data lake in a local directory only, for now",
        )
    })?;
    Ok(root.join("_open"))
}

pub(crate) fn release_path(lake: &Lake, r: &OpenRelease) -> Result<PathBuf, AppError> {
    Ok(release_root(lake)?.join(&r.file))
}

/// Writes a release's rows from `version` of the entry's dataset: the rules' fields and rows,
/// each value through its field's rule (pseudonyms under a key made for this file alone and
/// then forgotten, so no two releases join on them). Returns the file's name under `_open/`.
async fn write_release_file(
    lake: &Lake,
    entry: &EntryVersion,
    version: u64,
    rules: &ReleaseRules,
) -> Result<(String, pdp_lake::share::WrittenFile, String), AppError> {
    use rand::RngCore;
    let columns = rules.field_names();
    let masks: Vec<_> =
        rules.masks(&entry.body).into_iter().map(|m| m.unwrap_or(pdp_domain::catalog::MaskRule::Suppress)).collect();
    let sel = Selection {
        columns: columns.clone(),
        filters: rules
            .filters
            .iter()
            .map(|f| ColumnFilter { column: f.field.clone(), matching: Match::Equals, values: f.values.clone() })
            .collect(),
        order_by: None,
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let name = format!("{}/v{version}-{nanos}.parquet", table_dir(&entry.code));
    let path = release_root(lake)?.join(&name);
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    let rules_json = serde_json::to_string(rules).unwrap_or_default();
    let metadata = vec![
        (FILE_SCHEME.0.to_string(), FILE_SCHEME.1.to_string()),
        ("pdp.dataset".to_string(), entry.code.clone()),
        ("pdp.dataset_version".to_string(), version.to_string()),
        ("pdp.entry_name".to_string(), entry.body.name.clone()),
        ("pdp.rules".to_string(), rules_json),
    ];
    let w = lake
        .write_selection(&entry.code, version, &sel, &columns, &path, &metadata, |row| {
            row.into_iter()
                .zip(&masks)
                .map(|(v, rule)| pdp_domain::sharing::protect(*rule, &key, v.as_deref()))
                .collect()
        })
        .await?;
    let sha256 = file_sha256(path).await?;
    Ok((name, w, sha256))
}

/// The lower-case hex SHA-256 of a file, read in blocks off the async threads.
async fn file_sha256(path: std::path::PathBuf) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || sha256_of(&path).map(|(_, h)| h))
        .await
        .map_err(|e| AppError::internal("internal", "内部错误", e.to_string()))?
        .map_err(|e| AppError::from(pdp_lake::LakeError::Io(e.to_string())))
}

/// A file's size and lower-case hex SHA-256, read in blocks (blocking).
pub(crate) fn sha256_of(path: &std::path::Path) -> std::io::Result<(u64, String)> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        h.update(&buf[..n]);
    }
    Ok((bytes, hex::encode(h.finalize())))
}

async fn org_name(storage: &dyn Storage, id: i64) -> String {
    storage.get_org(id).await.ok().flatten().map(|o| o.name).unwrap_or_default()
}

async fn out(storage: &dyn Storage, release: OpenRelease) -> ReleaseOut {
    let entry = match published_entry_of(storage, release.entry_id).await {
        Some(e) => Some(e),
        // A social submission's entry is a draft until its release is approved.
        None => storage.get_entry(release.entry_id).await.ok().flatten(),
    };
    let (name, code) = match entry {
        Some(e) => (e.body.name, e.code),
        None => (String::new(), release.dataset.clone()),
    };
    let org_name = org_name(storage, release.org_id).await;
    ReleaseOut { release, name, code, org_name }
}

/// A release with its entry's name and code and its provider's name.
pub async fn release_out(state: &App, release: OpenRelease) -> ReleaseOut {
    out(state.storage.as_ref(), release).await
}

/// Prepares a release of the own organisation's published entry from the dataset's latest
/// version and sends it to review (route 1, R-OPN-04/07).
pub async fn prepare_release(state: &App, p: &Principal, input: &PrepareInput) -> Result<ReleaseOut, AppError> {
    let entry = published_entry_of(state.storage.as_ref(), input.entry_id)
        .await
        .ok_or_else(|| AppError::not_found(&format!("published entry {}", input.entry_id)))?;
    if p.org_id != Some(entry.org_id) {
        return Err(AppError::not_allowed(
            "release_not_your_org",
            "只能开放本单位的数据",
            "only the providing organisation prepares releases of its data",
        ));
    }
    let event = p.event("open.release.prepare", &format!("dataset:{}", entry.code));
    let r = prepare_in(
        state.storage.as_ref(),
        lake(state)?,
        &state.catalog.matrix,
        &entry,
        &input.rules,
        Prepared::upload(&p.user.username),
        event,
    )
    .await?;
    Ok(out(state.storage.as_ref(), r).await)
}

/// Who prepared a release, by which route, with what note.
pub struct Prepared<'a> {
    pub by: &'a str,
    pub route: ReleaseRoute,
    pub note: String,
}

impl<'a> Prepared<'a> {
    /// A department's own release (route 1).
    pub fn upload(by: &'a str) -> Self {
        Self { by, route: ReleaseRoute::Upload, note: String::new() }
    }
}

/// [`prepare_release`] for callers without the web state (the demo city): checks the rules,
/// writes the release from the dataset's latest version and records it, pending review.
pub async fn prepare_in(
    storage: &dyn Storage,
    lk: &Lake,
    matrix: &pdp_domain::catalog::GradingMatrix,
    entry: &EntryVersion,
    rules: &ReleaseRules,
    prepared: Prepared<'_>,
    event: NewEvent,
) -> Result<OpenRelease, AppError> {
    let violations = check_rules(&entry.body, matrix, rules);
    if !violations.is_empty() {
        return Err(invalid_release(&violations));
    }
    let version = lk.latest_version(&entry.code).await.map_err(|_| {
        AppError::bad_request("release_no_data", "该资源尚未归集数据", "the dataset has no data loaded yet")
    })?;
    let (file, w, sha256) = write_release_file(lk, entry, version, rules).await?;
    Ok(storage
        .create_release(
            NewRelease {
                entry_id: entry.entry_id,
                dataset: entry.code.clone(),
                org_id: entry.org_id,
                route: prepared.route,
                source_version: version as i64,
                schema_digest: schema_digest(&entry.body, rules),
                rules: rules.clone(),
                open_type: entry.body.open.open_type,
                rows: w.rows as i64,
                bytes: w.bytes as i64,
                file,
                sha256,
                prepared_by: prepared.by.to_string(),
                previous_id: None,
                note: prepared.note,
                publish_now: false,
            },
            event,
        )
        .await?)
}

/// Whether `p` may see a release before it is public: its provider's staff and the reviewers
/// whose region covers the provider.
async fn may_see_unpublished(state: &App, p: &Principal, r: &OpenRelease) -> Result<bool, AppError> {
    Ok(p.org_id == Some(r.org_id)
        || crate::social::submitted_by(r, p)
        || review_scope(state, p).await?.contains(r.org_id))
}

async fn get(state: &App, id: i64) -> Result<OpenRelease, AppError> {
    state.storage.get_release(id).await?.ok_or_else(|| AppError::not_found(&format!("release {id}")))
}

/// A release as its provider or reviewer sees it, with its sample.
pub async fn release_for_staff(state: &App, p: &Principal, id: i64) -> Result<(ReleaseOut, ReleasePage), AppError> {
    let r = get(state, id).await?;
    if !may_see_unpublished(state, p, &r).await? {
        return Err(AppError::not_found(&format!("release {id}")));
    }
    let sample = read_page(state, &r, 0, SAMPLE_ROWS, &[]).await?;
    Ok((out(state.storage.as_ref(), r).await, sample))
}

/// The releases `p` prepares or reviews, newest first: the own organisation's, and those of the
/// organisations a reviewer's region covers.
pub async fn staff_releases(state: &App, p: &Principal) -> Result<Vec<ReleaseOut>, AppError> {
    let scope = review_scope(state, p).await?;
    let all = state.storage.list_releases(&ReleaseQuery { limit: Some(1000), ..Default::default() }).await?;
    let mut v = Vec::new();
    for r in all.into_iter().filter(|r| p.org_id == Some(r.org_id) || scope.contains(r.org_id)) {
        v.push(out(state.storage.as_ref(), r).await);
    }
    Ok(v)
}

/// The security and confidentiality review (R-OPN-05): a reviewer of the provider's region,
/// never the one who prepared it, approves against the whole checklist or returns with reasons.
/// Approval checks the rules again against the entry as it is now.
pub async fn review_release(state: &App, p: &Principal, id: i64, review: &Review) -> Result<ReleaseOut, AppError> {
    let r = get(state, id).await?;
    if !review_scope(state, p).await?.contains(r.org_id) {
        return Err(AppError::not_allowed(
            "release_not_in_scope",
            "该开放数据不在您的审查范围内",
            "the release is outside your region",
        ));
    }
    if r.prepared_by == p.user.username {
        return Err(AppError::not_allowed(
            "release_self_review",
            "不能审查自己准备的开放数据",
            "nobody reviews a release they prepared",
        ));
    }
    if let Some(v) = check_review(review) {
        return Err(invalid_release(&[v]));
    }
    if review.approve {
        // A harvested release is reviewed with the entry version its harvest wrote.
        let harvested =
            if r.route == ReleaseRoute::Harvest { crate::harvest::entry_for_review(state, &r).await? } else { None };
        let entry = match harvested {
            Some(e) => e,
            None => match published_entry_of(state.storage.as_ref(), r.entry_id).await {
                Some(e) => e,
                None if r.route == ReleaseRoute::Social => crate::social::draft_entry(state, &r).await?,
                None => return Err(AppError::not_found(&format!("published entry {}", r.entry_id))),
            },
        };
        let violations = check_rules(&entry.body, &state.catalog.matrix, &r.rules);
        if !violations.is_empty() {
            return Err(invalid_release(&violations));
        }
        // A social submission's or a harvest's entry is published with its release, and only
        // while the release still waits for this review (it may have been withdrawn meanwhile).
        if entry.status == VersionStatus::Draft {
            if r.status != ReleaseStatus::PendingReview {
                return Err(AppError::conflict(
                    "release_not_pending",
                    "该开放数据已不在待审核状态",
                    "the release is no longer pending review",
                ));
            }
            crate::social::publish_entry(state, p, &entry).await?;
        }
    }
    let (to, action) = if review.approve {
        (ReleaseStatus::Published, "open.release.approve")
    } else {
        (ReleaseStatus::Returned, "open.release.return")
    };
    let mut ev = p.event(action, "");
    ev.purpose = review.reasons.trim().to_string();
    let d = ReleaseDecision {
        from: ReleaseStatus::PendingReview,
        to,
        by: p.user.username.clone(),
        review: Some(review.clone()),
        at_micros: None,
    };
    let r = state.storage.decide_release(id, d, ev).await.map_err(|e| match e {
        pdp_storage::StorageError::Conflict(_) => AppError::conflict(
            "release_not_pending",
            "该开放数据已不在待审核状态",
            "the release is no longer pending review",
        ),
        e => e.into(),
    })?;
    catalog_changed(state);
    Ok(out(state.storage.as_ref(), r).await)
}

/// Withdraws a release from the portal (its provider or the authority), with a reason; a
/// release pending review can be withdrawn by its provider too.
pub async fn withdraw_release(state: &App, p: &Principal, id: i64, reason: &str) -> Result<ReleaseOut, AppError> {
    use pdp_domain::roles::Permission;
    let r = get(state, id).await?;
    if !may_see_unpublished(state, p, &r).await? {
        return Err(AppError::not_found(&format!("release {id}")));
    }
    let provider = p.allows(Permission::PublishOpenData) && p.org_id == Some(r.org_id);
    let authority = p.allows(Permission::ReviewOpenData) && review_scope(state, p).await?.contains(r.org_id);
    let submitter = crate::social::submitted_by(&r, p);
    if !provider && !authority && !submitter {
        return Err(AppError::not_allowed(
            "release_withdraw_not_allowed",
            "只有提供单位的数据专员、提交社会数据的单位或数据主管部门可以撤回开放数据",
            "only the provider's data officer, the organisation that submitted social data, or the authority withdraws a release",
        ));
    }
    if reason.trim().is_empty() {
        return Err(AppError::bad_request("reason_required", "请说明撤回理由", "give the reason for withdrawing"));
    }
    let from = match r.status {
        ReleaseStatus::Published | ReleaseStatus::PendingReview => r.status,
        _ => {
            return Err(AppError::conflict(
                "release_not_withdrawable",
                "只能撤回已发布或待审核的开放数据",
                "only a published or pending release can be withdrawn",
            ));
        }
    };
    let mut ev = p.event("open.release.withdraw", "");
    ev.purpose = reason.trim().to_string();
    let d = ReleaseDecision {
        from,
        to: ReleaseStatus::Withdrawn,
        by: p.user.username.clone(),
        review: None,
        at_micros: None,
    };
    let r = state.storage.decide_release(id, d, ev).await?;
    catalog_changed(state);
    Ok(out(state.storage.as_ref(), r).await)
}

/// Route 2 (R-OPN-07): after a load of `dataset`, each entry whose newest release pushes
/// automatically gets a release of the new version by the same rules. It is published at once
/// while the released fields are defined as when its predecessor was reviewed, and goes to
/// review otherwise; an entry no longer open gets none.
pub async fn push_releases_of(storage: &dyn Storage, lake: &Lake, dataset: &str) {
    if let Err(e) = push_releases(storage, lake, dataset).await {
        tracing::warn!(error = %e.message(), dataset, "pushing a new version to the open portal failed");
    }
}

async fn push_releases(storage: &dyn Storage, lake: &Lake, dataset: &str) -> Result<(), AppError> {
    let q = ReleaseQuery { dataset: Some(dataset.to_string()), limit: Some(50), ..Default::default() };
    let releases = storage.list_releases(&q).await?;
    let Some(prev) = releases.into_iter().find(|r| r.status != ReleaseStatus::Returned) else { return Ok(()) };
    if !prev.rules.auto_push || prev.status != ReleaseStatus::Published {
        return Ok(());
    }
    let Some(entry) = published_entry_of(storage, prev.entry_id).await else { return Ok(()) };
    let version = lake.latest_version(dataset).await?;
    if prev.source_version >= version as i64 {
        return Ok(());
    }
    // The rules were checked against the city's grading matrix when they were reviewed; a
    // change of the released fields or of the open type sends the new release back to that
    // review, whose approval checks them again.
    if entry.body.open.open_type == OpenType::NotOpen {
        return Ok(());
    }
    let digest = schema_digest(&entry.body, &prev.rules);
    let same = digest == prev.schema_digest && entry.body.open.open_type == prev.open_type;
    let (file, w, sha256) = write_release_file(lake, &entry, version, &prev.rules).await?;
    let note = if same {
        format!(
            "按第 {} 号开放数据已审查的规则自动发布 / published by the rules reviewed for release {}",
            prev.id, prev.id
        )
    } else {
        "字段定义已变化，须重新审查 / the fields' definitions changed: back to review".to_string()
    };
    storage
        .create_release(
            NewRelease {
                entry_id: entry.entry_id,
                dataset: entry.code.clone(),
                org_id: entry.org_id,
                route: ReleaseRoute::Push,
                source_version: version as i64,
                rules: prev.rules.clone(),
                schema_digest: digest,
                open_type: entry.body.open.open_type,
                rows: w.rows as i64,
                bytes: w.bytes as i64,
                file,
                sha256,
                prepared_by: "system".into(),
                previous_id: Some(prev.id),
                note,
                publish_now: same,
            },
            NewEvent::system(
                if same { "open.release.push" } else { "open.release.push_review" },
                &format!("dataset:{}", entry.code),
            ),
        )
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- the public side

/// A published release whose rows the public may read: unconditionally open now. An
/// on-application release needs an approved application, which this path does not serve.
async fn public_release(state: &App, id: i64) -> Result<OpenRelease, AppError> {
    // The open catalog holds exactly the published releases of entries it opens, so no read of
    // storage is needed on the portal's most frequent path.
    let c = open_catalog(state).await?;
    let Some((d, r)) = c.release(id) else { return Err(AppError::not_found(&format!("release {id}"))) };
    if d.open_type == OpenType::Unconditional.as_str() && r.open_type == OpenType::Unconditional {
        Ok(r.clone())
    } else {
        Err(AppError::not_allowed(
            "open_application_required",
            "该数据为有条件开放，须申请获批后使用",
            "this data is open on application: apply and be approved to use it",
        ))
    }
}

async fn read_page(
    state: &App,
    r: &OpenRelease,
    cursor: u64,
    limit: usize,
    filters: &[CellFilter],
) -> Result<ReleasePage, AppError> {
    let path = release_path(lake(state)?, r)?;
    let filters = filters.to_vec();
    let limit = limit.min(MAX_PAGE_ROWS);
    tokio::task::spawn_blocking(move || {
        pdp_lake::release::read_release_page(&path, cursor, limit, &filters, SCAN_BUDGET)
    })
    .await
    .map_err(io_error)?
    .map_err(|e| match e {
        pdp_lake::LakeError::Query(m) => AppError::bad_request("open_bad_filter", "筛选字段不存在", m),
        e => io_error(e),
    })
}

/// A page of a public release's rows from `cursor` (R-OPN-03), audited.
pub async fn open_rows(
    state: &App,
    reader: &Reader,
    id: i64,
    cursor: u64,
    limit: usize,
    filters: &[CellFilter],
) -> Result<(OpenRelease, ReleasePage), AppError> {
    reader.admit(state)?;
    let (r, page) = read_rows(state, reader, id, cursor, limit, filters).await?;
    count_use(state, &r, Use::ApiCall);
    Ok((r, page))
}

/// [`open_rows`] without the anonymous rate: the dataset page's preview, which is a page view.
async fn read_rows(
    state: &App,
    reader: &Reader,
    id: i64,
    cursor: u64,
    limit: usize,
    filters: &[CellFilter],
) -> Result<(OpenRelease, ReleasePage), AppError> {
    let r = public_release(state, id).await?;
    let page = read_page(state, &r, cursor, limit, filters).await?;
    let detail = serde_json::json!({ "cursor": cursor, "rows": page.rows.len() }).to_string();
    state
        .audit
        .append(reader.event("open.rows", &format!("release:{id}"), detail))
        .await
        .map_err(|_| AppError::audit_unavailable())?;
    Ok((r, page))
}

/// The first rows of a release for its dataset page, or `None` when the public may not read it.
pub async fn preview(state: &App, reader: &Reader, id: i64) -> Result<Option<ReleasePage>, AppError> {
    match read_rows(state, reader, id, 0, SAMPLE_ROWS, &[]).await {
        Ok((_, page)) => Ok(Some(page)),
        Err(e) if e.code == "open_application_required" => Ok(None),
        Err(e) => Err(e),
    }
}

/// A whole release as a download in `format` (R-OPN-03): the file's name, media type and bytes,
/// streamed; the start is audited before the first byte.
pub async fn open_download(
    state: Arc<App>,
    reader: &Reader,
    id: i64,
    format: ReleaseFormat,
) -> Result<(String, &'static str, ByteStream), AppError> {
    reader.admit(&state)?;
    let r = public_release(&state, id).await?;
    if !r.rules.formats.contains(&format) {
        return Err(AppError::not_found(&format!("release {id} as {}", format.as_str())));
    }
    if format == ReleaseFormat::Xlsx && r.rows as u64 > MAX_XLSX_ROWS {
        return Err(AppError::too_large(
            "xlsx_too_large",
            format!("超过 {MAX_XLSX_ROWS} 行的数据请下载 CSV 或 Parquet"),
            format!("data of more than {MAX_XLSX_ROWS} rows downloads as CSV or Parquet"),
        ));
    }
    let path = release_path(lake(&state)?, &r)?;
    let name = format!("{}-r{}.{}", table_dir(&r.dataset), r.id, format.extension());
    let detail = serde_json::json!({ "format": format.as_str(), "rows": r.rows }).to_string();
    state
        .audit
        .append(reader.event("open.download", &format!("release:{id}"), detail))
        .await
        .map_err(|_| AppError::audit_unavailable())?;
    let stream = match format {
        ReleaseFormat::Parquet => file_stream(&path).await?,
        _ => stream_rows(path, format, RowView::whole()).await?,
    };
    count_use(&state, &r, Use::Download);
    Ok((name, format.media_type(), stream))
}

/// The own organisation's published entries that the catalog opens (unconditionally or on
/// application): what its data officer can prepare releases of.
pub async fn openable_entries(state: &App, p: &Principal) -> Result<Vec<EntryVersion>, AppError> {
    let Some(org) = p.org_id else { return Ok(vec![]) };
    let q = EntryQuery { view: EntryView::Published, org_id: Some(org), ..Default::default() };
    Ok(state
        .storage
        .list_entries(&q)
        .await?
        .into_iter()
        .filter(|e| e.status == VersionStatus::Published && e.body.open.open_type != OpenType::NotOpen)
        .collect())
}

/// A treatment of a row's cells.
pub type Treat = Arc<dyn Fn(Vec<Option<String>>) -> Vec<Option<String>> + Send + Sync>;

/// How the rows of a release's file are served: which cells of each row, under which header,
/// through which treatment (an applicant's watermark); the whole file as it is by default.
#[derive(Clone)]
pub struct RowView {
    /// The output header; `None` keeps the file's.
    pub columns: Option<Vec<String>>,
    /// Each row of the file, as cells in the output order; `None` serves the rows as they are.
    pub treat: Option<Treat>,
}

impl RowView {
    pub fn whole() -> Self {
        Self { columns: None, treat: None }
    }

    fn apply(&self, row: Vec<Option<String>>) -> Vec<Option<String>> {
        match &self.treat {
            Some(t) => t(row),
            None => row,
        }
    }
}

/// A file's bytes as a stream, read in 64 KiB chunks.
pub async fn file_stream(path: &std::path::Path) -> Result<ByteStream, AppError> {
    let file = tokio::fs::File::open(path).await.map_err(io_error)?;
    Ok(futures::stream::unfold(Some(file), |file| async move {
        use tokio::io::AsyncReadExt;
        let mut f = file?;
        let mut buf = vec![0u8; 64 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(buf), Some(f)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
    .boxed())
}

/// The rows of a release's file as CSV (UTF-8 with a byte order mark, formulas neutralised),
/// a JSON array of objects, or an XLSX workbook, through `view`. CSV and JSON stream with
/// memory bounded by one chunk; a read error mid-way breaks the download rather than ending
/// it as if whole.
pub async fn stream_rows(path: PathBuf, format: ReleaseFormat, view: RowView) -> Result<ByteStream, AppError> {
    let columns = match &view.columns {
        Some(c) => c.clone(),
        None => pdp_lake::release::release_shape(&path).map_err(io_error)?.0,
    };
    if format == ReleaseFormat::Xlsx {
        let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
            let mut rows = Vec::new();
            pdp_lake::release::for_each_chunk(&path, |_, chunk| {
                rows.extend(chunk.into_iter().map(|r| view.apply(r)));
                true
            })
            .map_err(|e| e.to_string())?;
            pdp_interchange::write_table_xlsx("data", &columns, rows.into_iter()).map_err(|e| e.to_string())
        })
        .await
        .map_err(io_error)?
        .map_err(io_error)?;
        return Ok(futures::stream::once(async move { Ok(bytes) }).boxed());
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut head = String::new();
        if format == ReleaseFormat::Csv {
            // A byte order mark, so that spreadsheets open the Chinese text as UTF-8.
            head.push('\u{feff}');
            pdp_interchange::csvcell::push_row(&mut head, &columns);
        } else {
            head.push('[');
        }
        if tx.blocking_send(Ok(head.into_bytes())).is_err() {
            return;
        }
        let mut n = 0u64;
        let result = if format == ReleaseFormat::Csv && view.treat.is_none() {
            // The whole file as it is: written from the columns in place, no row per line.
            pdp_lake::release::for_each_csv_chunk(&path, |text| tx.blocking_send(Ok(text.into_bytes())).is_ok())
        } else {
            pdp_lake::release::for_each_chunk(&path, |_, chunk| {
                let mut text = String::new();
                for row in chunk {
                    let row = view.apply(row);
                    if format == ReleaseFormat::Csv {
                        pdp_interchange::csvcell::push_row(&mut text, row.iter().map(|v| v.as_deref().unwrap_or("")));
                    } else {
                        if n > 0 {
                            text.push(',');
                        }
                        let obj: serde_json::Map<String, serde_json::Value> = columns
                            .iter()
                            .zip(row)
                            .map(|(c, v)| (c.clone(), v.map_or(serde_json::Value::Null, serde_json::Value::String)))
                            .collect();
                        text.push_str(&serde_json::Value::Object(obj).to_string());
                        text.push('\n');
                    }
                    n += 1;
                }
                tx.blocking_send(Ok(text.into_bytes())).is_ok()
            })
        };
        let tail = match result {
            Err(e) => Err(std::io::Error::other(e.to_string())),
            Ok(()) if format == ReleaseFormat::Json => Ok(b"]".to_vec()),
            Ok(()) => Ok(Vec::new()),
        };
        let _ = tx.blocking_send(tail);
    });
    Ok(futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) }).boxed())
}

/// What the portal keeps in memory: what it computes once per release (a release never changes,
/// so neither does what is computed from it; bounded: when full, it starts again empty), the
/// uses not yet counted in the database, and the open catalog.
#[derive(Default)]
pub struct OpenCache {
    charts: std::sync::Mutex<std::collections::HashMap<i64, Charts>>,
    /// Uses counted since the last flush, per release (with its entry and provider) and day.
    usage: std::sync::Mutex<std::collections::HashMap<(i64, String), pdp_storage::Usage>>,
    /// The open catalog and the statistics computed from it.
    pub(crate) catalog: crate::open_catalog::CatalogCache,
}

/// What a use of open data was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    View,
    Download,
    ApiCall,
}

/// Counts one use of a release. Counters live in memory and reach the database in batches
/// ([`flush_usage`]), so a page view costs no write; a crash loses at most one interval's
/// counts, never an audit event (downloads and API calls have their own).
pub fn count_use(state: &App, r: &OpenRelease, what: Use) {
    let day = crate::clock::iso(today_date());
    let mut map = state.open_cache.usage.lock().unwrap_or_else(|p| p.into_inner());
    let u = map.entry((r.id, day.clone())).or_insert_with(|| pdp_storage::Usage {
        release_id: r.id,
        entry_id: r.entry_id,
        org_id: r.org_id,
        day,
        ..Default::default()
    });
    match what {
        Use::View => u.views += 1,
        Use::Download => u.downloads += 1,
        Use::ApiCall => u.api_calls += 1,
    }
}

/// Moves the counted uses into the database (every few seconds from `pdp serve`, and before
/// the statistics are read). Counts that could not be written are kept for the next flush.
pub async fn flush_usage(state: &App) -> Result<(), AppError> {
    let batch: Vec<pdp_storage::Usage> = {
        let mut map = state.open_cache.usage.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *map).into_values().collect()
    };
    if batch.is_empty() {
        return Ok(());
    }
    if let Err(e) = state.storage.add_usage(&batch).await {
        let mut map = state.open_cache.usage.lock().unwrap_or_else(|p| p.into_inner());
        for u in batch {
            let k = (u.release_id, u.day.clone());
            let v = map.entry(k).or_insert_with(|| pdp_storage::Usage {
                views: 0,
                downloads: 0,
                api_calls: 0,
                ..u.clone()
            });
            v.views += u.views;
            v.downloads += u.downloads;
            v.api_calls += u.api_calls;
        }
        return Err(e.into());
    }
    Ok(())
}

/// The charts of one release.
type Charts = Arc<Vec<pdp_lake::release::Histogram>>;

/// The most releases whose charts are kept, the most numeric columns charted per release, and
/// the rows a chart reads.
const MAX_CACHED_CHARTS: usize = 1024;
const MAX_CHARTS: usize = 3;
const CHART_ROWS: u64 = 200_000;

/// Histograms of the newest release's numeric columns in clear (R-OPN-03: data easy to use), for
/// the dataset's page; none for data the public may not read.
pub async fn charts(state: &App, d: &OpenDataset, e: &EntryVersion) -> Vec<pdp_lake::release::Histogram> {
    use pdp_domain::catalog::{DataType, MaskRule};
    if d.open_type != OpenType::Unconditional.as_str() {
        return vec![];
    }
    let id = d.latest.id;
    if let Some(h) = state.open_cache.charts.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
        return h.as_ref().clone();
    }
    let masks = d.latest.rules.masks(&e.body);
    let columns: Vec<String> = d
        .latest
        .rules
        .fields
        .iter()
        .zip(masks)
        .filter(|(rf, m)| {
            *m == Some(MaskRule::None)
                && e.body
                    .fields
                    .iter()
                    .any(|f| f.name == rf.name && matches!(f.data_type, DataType::Integer | DataType::Decimal))
        })
        .map(|(rf, _)| rf.name.clone())
        .take(MAX_CHARTS)
        .collect();
    if columns.is_empty() {
        return vec![];
    }
    let Ok(path) = lake(state).and_then(|lk| release_path(lk, &d.latest)) else { return vec![] };
    let computed =
        tokio::task::spawn_blocking(move || pdp_lake::release::histograms(&path, &columns, CHART_ROWS)).await;
    let h = match computed {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, release = id, "charting a release failed");
            return vec![];
        }
        Err(_) => return vec![],
    };
    let mut cache = state.open_cache.charts.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= MAX_CACHED_CHARTS {
        cache.clear();
    }
    cache.insert(id, Arc::new(h.clone()));
    h
}

/// A published entry the catalog does not open unconditionally, with the basis of its
/// restriction: a line of the yearly review list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RestrictedEntry {
    pub entry_id: i64,
    pub code: String,
    pub name: String,
    pub org_name: String,
    /// `on_application` or `not_open`.
    pub open_type: String,
    pub conditions: String,
    pub legal_basis: String,
    /// The entry's grade (the highest of its fields).
    pub grade: String,
}

/// The yearly review list (R-OPN-01): every published entry that is open on application or not
/// open, with its basis, and how the master catalog divides among the three open types, so that
/// "open by default, widening over time" can be checked in public.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewList {
    pub unconditional: usize,
    pub on_application: usize,
    pub not_open: usize,
    pub entries: Vec<RestrictedEntry>,
}

pub async fn review_list(state: &App) -> Result<ReviewList, AppError> {
    let entries = state.storage.list_entries(&EntryQuery { view: EntryView::Published, ..Default::default() }).await?;
    let orgs: std::collections::HashMap<i64, String> =
        state.storage.list_orgs().await?.into_iter().map(|o| (o.id, o.name)).collect();
    let mut list = ReviewList { unconditional: 0, on_application: 0, not_open: 0, entries: Vec::new() };
    for e in entries.into_iter().filter(|e| e.status == VersionStatus::Published) {
        let o = &e.body.open;
        match o.open_type {
            OpenType::Unconditional => {
                list.unconditional += 1;
                continue;
            }
            OpenType::OnApplication => list.on_application += 1,
            OpenType::NotOpen => list.not_open += 1,
        }
        list.entries.push(RestrictedEntry {
            entry_id: e.entry_id,
            code: e.code.clone(),
            name: e.body.name.clone(),
            org_name: orgs.get(&e.org_id).cloned().unwrap_or_default(),
            open_type: o.open_type.as_str().into(),
            conditions: o.conditions.clone(),
            legal_basis: o.legal_basis.clone(),
            grade: e.body.grade().as_str().into(),
        });
    }
    Ok(list)
}
