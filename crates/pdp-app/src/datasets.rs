//! Aggregation (归集): loading datasets into the lake, the quarantine and its corrections,
//! quality scores and tasks, and overdue warnings.
//!
//! Every published catalog entry is a dataset named by its code. Only the providing
//! organisation's data officers load it (upload, push) and correct its quarantine; the
//! authority (catalog reviewers of the region) and the organisation's staff see its loads,
//! scores and warnings. Reading rows is a data access: it is allowed to the provider only and
//! every read goes to the audit chain. The `pdp load` command calls the same functions, so a
//! load from the console is recorded exactly like an upload.

use crate::App;
use crate::Principal;
use crate::catalog::{Scope, review_scope};
use crate::clock::{now_micros, today_date};
use crate::error::AppError;
use pdp_audit::NewEvent;
use pdp_domain::dataset::{QualityScores, QualityTaskKind, QualityTaskStatus, is_overdue};
use pdp_lake::{Lake, LakeError, LoadMeta, LoadMode, LoadProgress, LoadReport, QuarantinedRow, RowSource};
use pdp_storage::catalog::{EntryQuery, EntryVersion, EntryView};
use pdp_storage::{DatasetLoad, NewQualityTask, QualityTask, Storage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

// ---------------------------------------------------------------- errors
fn no_lake() -> AppError {
    AppError::unavailable("lake_unavailable", "数据湖未配置", "the data lake is not configured")
}

pub fn lake(state: &App) -> Result<&Lake, AppError> {
    state.lake.as_ref().ok_or_else(no_lake)
}

// ---------------------------------------------------------------- the service

/// The quality tasks a load raises for its provider.
fn tasks_for(report: &LoadReport, scores: &QualityScores) -> Vec<NewQualityTask> {
    let mut tasks = Vec::new();
    let v = report.version.unwrap_or_default();
    if report.stats.quarantined > 0 {
        let n = report.stats.quarantined;
        tasks.push(NewQualityTask {
            kind: QualityTaskKind::Quarantine,
            description: format!(
                "第 {v} 版有 {n} 行未通过校验，已隔离，请更正或重新上传 / {n} rows of version {v} failed validation and are in quarantine: correct or re-upload them"
            ),
        });
    }
    let low: Vec<String> = [
        ("完整性", "completeness", scores.completeness),
        ("有效性", "validity", scores.validity),
        ("唯一性", "uniqueness", scores.uniqueness),
        ("一致性", "consistency", scores.consistency),
    ]
    .iter()
    .filter(|(_, _, s)| *s < 90.0)
    .map(|(zh, en, s)| format!("{zh} {en} {s}"))
    .collect();
    if !low.is_empty() {
        tasks.push(NewQualityTask {
            kind: QualityTaskKind::LowScore,
            description: format!(
                "第 {v} 版质量评分低于 90 / quality scores of version {v} below 90: {}",
                low.join(", ")
            ),
        });
    }
    tasks
}

/// The projection of a committed load for the metadata database.
fn load_record(entry: &EntryVersion, version: u64, note: &pdp_lake::CommitNote) -> DatasetLoad {
    let scores = QualityScores::of(&note.stats, entry.body.frequency, 0.0);
    DatasetLoad {
        dataset: entry.code.clone(),
        version: version as i64,
        entry_id: entry.entry_id,
        org_id: entry.org_id,
        kind: note.kind,
        mode: note.mode,
        input_rows: note.stats.input_rows as i64,
        accepted: note.stats.accepted as i64,
        quarantined: note.stats.quarantined as i64,
        rows_after: note.rows_after as i64,
        completeness: scores.completeness,
        validity: scores.validity,
        uniqueness: scores.uniqueness,
        consistency: scores.consistency,
        actor: note.actor.clone(),
        source: note.source.clone(),
        loaded_at_micros: note.finished_micros,
    }
}

/// Loads `source` into the dataset of `entry` and records the load, its quality tasks and its
/// audit event. The lake commit comes first; if the process dies before the record is written,
/// [`reconcile`] writes it at the next start.
/// What follows it runs after the record: the district returns, base views and theme databases
/// the dataset feeds are brought up to date.
#[allow(clippy::too_many_arguments)]
pub async fn load_and_record(
    storage: &dyn Storage,
    lake: &Lake,
    entry: &EntryVersion,
    mode: LoadMode,
    meta: LoadMeta,
    source: Box<dyn RowSource>,
    progress: impl Fn(LoadProgress) + Send + Sync + 'static,
    event: NewEvent,
) -> Result<LoadReport, AppError> {
    let report = load_and_record_only(storage, lake, entry, mode, meta, source, progress, event).await?;
    if report.version.is_some() {
        crate::sources::refresh_returns_of(storage, lake, &entry.code).await;
        crate::sources::warm_base_views_of(storage, lake, &entry.code).await;
        crate::themes::refresh_themes_of(storage, lake, &entry.code).await;
        crate::open::push_releases_of(storage, lake, &entry.code).await;
    }
    Ok(report)
}

/// [`load_and_record`] in the server, without progress: a load that pushes open releases also
/// tells the open catalog, so the portal shows them at once.
pub async fn load_in(
    state: &App,
    entry: &EntryVersion,
    mode: LoadMode,
    meta: LoadMeta,
    source: Box<dyn RowSource>,
    event: NewEvent,
) -> Result<LoadReport, AppError> {
    let report = load_and_record(state.storage.as_ref(), lake(state)?, entry, mode, meta, source, |_| {}, event).await;
    crate::open::catalog_changed(state);
    report
}

/// [`load_and_record`] without what follows a load: a theme's own rebuild, which feeds no theme
/// (a theme is never a member of one) and must not start rebuilding themes again.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn load_and_record_only(
    storage: &dyn Storage,
    lake: &Lake,
    entry: &EntryVersion,
    mode: LoadMode,
    meta: LoadMeta,
    source: Box<dyn RowSource>,
    progress: impl Fn(LoadProgress) + Send + Sync + 'static,
    event: NewEvent,
) -> Result<LoadReport, AppError> {
    let report = lake.load(&entry.code, &entry.body, mode, today_date(), meta.clone(), source, progress).await?;
    let Some(version) = report.version else { return Ok(report) };
    let info = lake.version_info(&entry.code, version).await?;
    let note = info.note.ok_or_else(|| AppError::from(LakeError::Delta("commit without a note".into())))?;
    let record = load_record(entry, version, &note);
    let scores = QualityScores::of(&note.stats, entry.body.frequency, 0.0);
    let mut ev = event;
    ev.purpose = format!(
        "mode={} input={} accepted={} quarantined={} source={}",
        record.mode.as_str(),
        record.input_rows,
        record.accepted,
        record.quarantined,
        record.source
    );
    storage.record_load(record, tasks_for(&report, &scores), ev).await?;
    Ok(report)
}

/// Records every committed version the database does not know yet (a process that died between
/// its lake commit and its database record). Returns how many were recorded.
pub async fn reconcile(storage: &dyn Storage, lake: &Lake) -> Result<usize, AppError> {
    let entries = storage.list_entries(&EntryQuery { view: EntryView::Published, ..Default::default() }).await?;
    let mut n = 0;
    for e in entries {
        if lake.table(&e.code).await?.is_none() {
            continue;
        }
        let known: std::collections::HashSet<i64> =
            storage.list_loads(&e.code).await?.iter().map(|l| l.version).collect();
        for v in lake.versions(&e.code).await? {
            let Some(note) = v.note else { continue };
            if !matches!(note.kind, pdp_lake::CommitKind::Load | pdp_lake::CommitKind::Correction)
                || known.contains(&(v.version as i64))
            {
                continue;
            }
            let record = load_record(&e, v.version, &note);
            let scores = QualityScores::of(&note.stats, e.body.frequency, 0.0);
            let report = LoadReport {
                dataset: e.code.clone(),
                version: Some(v.version),
                already_loaded: false,
                mode: note.mode,
                stats: note.stats.clone(),
                rows_after: note.rows_after,
                first_errors: vec![],
                duration_ms: 0,
            };
            let ev = NewEvent::system("dataset.load.reconcile", &format!("dataset:{}@{}", e.code, v.version));
            if storage.record_load(record, tasks_for(&report, &scores), ev).await? {
                n += 1;
            }
        }
    }
    Ok(n)
}

/// The published version of an entry: the dataset's definition.
pub async fn published_entry_of(storage: &dyn Storage, id: i64) -> Option<EntryVersion> {
    let history = storage.entry_history(id).await.ok()?;
    history.into_iter().rev().find(|v| v.status == pdp_domain::catalog::VersionStatus::Published)
}

/// A published entry by id: the dataset's definition.
pub async fn published_entry(state: &App, id: i64) -> Result<EntryVersion, AppError> {
    published_entry_of(state.storage.as_ref(), id).await.ok_or_else(|| AppError::not_found(&format!("dataset {id}")))
}

/// The organisations whose datasets `p` may see: the own organisation, and the region's (or
/// all) for the authority's reviewers and the platform administrator.
pub async fn view_scope(state: &App, p: &Principal) -> Result<Scope, AppError> {
    let mut scope = review_scope(state, p).await?;
    if p.user.roles.contains(&pdp_domain::roles::Role::PlatformAdmin) {
        scope.all = true;
    }
    if let Some(o) = p.org_id {
        scope.orgs.insert(o);
    }
    Ok(scope)
}

fn not_provider() -> AppError {
    AppError::not_allowed(
        "not_provider",
        "只有提供该数据的单位的数据专员可以执行此操作",
        "only a data officer of the providing organisation may do this",
    )
}

/// The dataset, if `p` is a data officer of its provider.
pub async fn provider_entry(state: &App, p: &Principal, id: i64) -> Result<EntryVersion, AppError> {
    let e = published_entry(state, id).await?;
    if p.org_id != Some(e.org_id) || !p.allows(pdp_domain::roles::Permission::LoadData) {
        return Err(not_provider());
    }
    Ok(e)
}

/// The dataset, if `p` may see its loads and scores.
pub async fn visible_dataset(state: &App, p: &Principal, id: i64) -> Result<EntryVersion, AppError> {
    let e = published_entry(state, id).await?;
    if !view_scope(state, p).await?.contains(e.org_id) {
        return Err(AppError::not_found(&format!("dataset {id}")));
    }
    Ok(e)
}

/// Scores of a dataset now: the latest load's scores with timeliness from its age.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScoresOut {
    pub completeness: f64,
    pub validity: f64,
    pub uniqueness: f64,
    pub timeliness: f64,
    pub consistency: f64,
    pub overall: f64,
}

/// A dataset in a listing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DatasetOut {
    pub entry_id: i64,
    pub code: String,
    pub name: String,
    pub org_id: i64,
    pub org_name: String,
    /// The entry's update frequency: `realtime`, `daily`, `weekly`, `monthly`, `quarterly`,
    /// `half_yearly` or `yearly`.
    #[schema(value_type = String)]
    pub frequency: pdp_domain::catalog::Frequency,
    pub latest_version: Option<i64>,
    pub rows: Option<i64>,
    pub last_loaded_at_micros: Option<i64>,
    /// Days since the last load.
    pub age_days: Option<f64>,
    /// Not loaded within its update frequency (R-AGG-05).
    pub overdue: bool,
    pub scores: Option<ScoresOut>,
    pub open_tasks: i64,
}

/// Every dataset `p` may see with its state. `only_table` leaves out entries whose format is
/// not a table (files, images, services are cataloged but not aggregated as rows).
pub async fn do_list_datasets(state: &App, p: &Principal) -> Result<Vec<DatasetOut>, AppError> {
    let scope = view_scope(state, p).await?;
    let entries = state.storage.list_entries(&EntryQuery { view: EntryView::Published, ..Default::default() }).await?;
    let latest: BTreeMap<String, DatasetLoad> =
        state.storage.latest_loads().await?.into_iter().map(|l| (l.dataset.clone(), l)).collect();
    let orgs: BTreeMap<i64, String> = state.storage.list_orgs().await?.into_iter().map(|o| (o.id, o.name)).collect();
    let mut tasks: BTreeMap<String, i64> = BTreeMap::new();
    for t in state.storage.list_quality_tasks(None, true).await? {
        *tasks.entry(t.dataset).or_default() += 1;
    }
    let now = now_micros();
    Ok(entries
        .into_iter()
        .filter(|e| scope.contains(e.org_id))
        .map(|e| {
            let l = latest.get(&e.code);
            let age = l.map(|l| (now - l.loaded_at_micros) as f64 / 86_400e6);
            let scores = l.map(|l| {
                let s = QualityScores::of(
                    &pdp_domain::dataset::LoadStats::default(),
                    e.body.frequency,
                    age.unwrap_or_default(),
                );
                let overall = (l.completeness + l.validity + l.uniqueness + l.consistency + s.timeliness) / 5.0;
                ScoresOut {
                    completeness: l.completeness,
                    validity: l.validity,
                    uniqueness: l.uniqueness,
                    timeliness: s.timeliness,
                    consistency: l.consistency,
                    overall: (overall * 10.0).round() / 10.0,
                }
            });
            DatasetOut {
                entry_id: e.entry_id,
                org_name: orgs.get(&e.org_id).cloned().unwrap_or_default(),
                frequency: e.body.frequency,
                latest_version: l.map(|l| l.version),
                rows: l.map(|l| l.rows_after),
                last_loaded_at_micros: l.map(|l| l.loaded_at_micros),
                age_days: age.map(|a| (a * 10.0).round() / 10.0),
                overdue: is_overdue(e.body.frequency, age),
                scores,
                open_tasks: tasks.get(&e.code).copied().unwrap_or(0),
                code: e.code,
                name: e.body.name,
                org_id: e.org_id,
            }
        })
        .collect())
}

/// Overdue datasets (R-AGG-05) as Prometheus metrics: the count of datasets, of overdue ones,
/// and overdue ones per providing organisation.
pub async fn overdue_summary(storage: &dyn Storage) -> Result<String, AppError> {
    let entries = storage.list_entries(&EntryQuery { view: EntryView::Published, ..Default::default() }).await?;
    let latest: BTreeMap<String, i64> =
        storage.latest_loads().await?.into_iter().map(|l| (l.dataset, l.loaded_at_micros)).collect();
    let now = now_micros();
    let mut per_org: BTreeMap<i64, u64> = BTreeMap::new();
    let mut overdue = 0u64;
    for e in &entries {
        let age = latest.get(&e.code).map(|t| (now - t) as f64 / 86_400e6);
        if is_overdue(e.body.frequency, age) {
            overdue += 1;
            *per_org.entry(e.org_id).or_default() += 1;
        }
    }
    let mut out = String::new();
    out.push_str("# HELP pdp_datasets Published catalog entries (datasets).\n# TYPE pdp_datasets gauge\n");
    out.push_str(&format!("pdp_datasets {}\n", entries.len()));
    out.push_str("# HELP pdp_datasets_overdue Datasets not loaded within their update frequency.\n");
    out.push_str("# TYPE pdp_datasets_overdue gauge\n");
    out.push_str(&format!("pdp_datasets_overdue {overdue}\n"));
    out.push_str("# HELP pdp_datasets_overdue_by_org Overdue datasets per providing organisation id.\n");
    out.push_str("# TYPE pdp_datasets_overdue_by_org gauge\n");
    for (org, n) in per_org {
        out.push_str(&format!("pdp_datasets_overdue_by_org{{org_id=\"{org}\"}} {n}\n"));
    }
    Ok(out)
}

/// The open quarantine of a dataset: refused rows of the latest full load and the loads after
/// it that no correction has resolved yet, with their version.
pub async fn open_quarantine(lake: &Lake, dataset: &str) -> Result<Vec<(u64, QuarantinedRow)>, AppError> {
    let versions = lake.versions(dataset).await?;
    let start = versions
        .iter()
        .rposition(|v| {
            v.note.as_ref().is_some_and(|n| n.kind == pdp_lake::CommitKind::Load && n.mode == LoadMode::Full)
        })
        .unwrap_or(0);
    let resolved: std::collections::HashSet<pdp_lake::QuarantineRef> =
        versions[start..].iter().filter_map(|v| v.note.as_ref()).flat_map(|n| n.resolves.iter().copied()).collect();
    let mut out = Vec::new();
    for v in &versions[start..] {
        if v.note.as_ref().and_then(|n| n.quarantine_file.as_ref()).is_none() {
            continue;
        }
        for r in lake.quarantine(dataset, v.version).await? {
            if !resolved.contains(&pdp_lake::QuarantineRef { version: v.version, row: r.row }) {
                out.push((v.version, r));
            }
        }
    }
    Ok(out)
}

/// Corrects one quarantined row: the corrected cells are validated and, if valid, committed as a
/// new version that records which row it resolves. An invalid correction commits nothing.
pub async fn do_correct(
    state: &App,
    p: &Principal,
    id: i64,
    version: u64,
    row: u64,
    cells: Vec<String>,
) -> Result<LoadReport, AppError> {
    let e = provider_entry(state, p, id).await?;
    let lake = lake(state)?;
    let open = open_quarantine(lake, &e.code).await?;
    if !open.iter().any(|(v, r)| *v == version && r.row == row) {
        return Err(AppError::not_found(&format!("quarantined row {row} of version {version}")));
    }
    let has_key = e.body.fields.iter().any(|f| f.rules.key);
    let mode = if has_key { LoadMode::Upsert } else { LoadMode::Append };
    let meta = LoadMeta {
        actor: p.user.username.clone(),
        source: "correction".into(),
        resolves: vec![pdp_lake::QuarantineRef { version, row }],
        reject_invalid: true,
        ..Default::default()
    };
    let source = Box::new(pdp_lake::CellRows::new(&e.body.fields, vec![cells]));
    load_in(
        state,
        &e,
        mode,
        meta,
        source,
        p.event("dataset.quarantine.correct", &format!("dataset:{}@{version}#{row}", e.code)),
    )
    .await
}

/// How an upload is to be read and applied.
#[derive(Debug, Deserialize, IntoParams)]
pub struct UploadParams {
    /// `csv`, `jsonl`, `xlsx` or `parquet`; guessed from `filename` if absent.
    pub format: Option<String>,
    /// `auto` (default), `utf-8` or `gbk`/`gb18030` (CSV only).
    pub encoding: Option<String>,
    /// `full` (default), `upsert` or `append`.
    pub mode: Option<String>,
    pub filename: Option<String>,
}

/// A load report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoadReportOut {
    pub version: Option<u64>,
    /// The batch id had been loaded before; nothing changed.
    pub already_loaded: bool,
    pub mode: String,
    pub input_rows: u64,
    pub accepted: u64,
    pub quarantined: u64,
    pub rows_after: u64,
    /// Counts of refused rows by rule.
    pub rule_counts: BTreeMap<String, u64>,
    pub first_errors: Vec<QuarantineRowOut>,
    pub duration_ms: u64,
}

/// One refused row.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuarantineRowOut {
    pub version: u64,
    pub row: u64,
    pub cells: Vec<String>,
    pub aligned: bool,
    pub errors: Vec<RowErrorOut>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowErrorOut {
    pub field: String,
    pub rule: String,
    pub message_zh: String,
    pub message_en: String,
}

pub fn row_out(version: u64, r: &QuarantinedRow) -> QuarantineRowOut {
    QuarantineRowOut {
        version,
        row: r.row,
        cells: r.cells.clone(),
        aligned: r.aligned,
        errors: r
            .errors
            .iter()
            .map(|e| RowErrorOut {
                field: e.field.clone(),
                rule: e.rule.clone(),
                message_zh: e.message_zh.clone(),
                message_en: e.message_en.clone(),
            })
            .collect(),
    }
}

pub fn report_out(r: &LoadReport) -> LoadReportOut {
    LoadReportOut {
        version: r.version,
        already_loaded: r.already_loaded,
        mode: r.mode.as_str().into(),
        input_rows: r.stats.input_rows,
        accepted: r.stats.accepted,
        quarantined: r.stats.quarantined,
        rows_after: r.rows_after,
        rule_counts: r.stats.rule_counts.clone(),
        first_errors: r.first_errors.iter().map(|q| row_out(r.version.unwrap_or_default(), q)).collect(),
        duration_ms: r.duration_ms,
    }
}

pub fn parse_mode(s: Option<&str>) -> Result<LoadMode, AppError> {
    match s {
        None | Some("") => Ok(LoadMode::Full),
        Some(m) => LoadMode::parse(m).ok_or_else(|| {
            AppError::bad_request(
                "load_bad_mode",
                format!("未知的加载方式“{m}”（full、upsert、append）"),
                format!("unknown load mode {m:?} (full, upsert, append)"),
            )
        }),
    }
}

/// A batch of rows pushed by a system.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushInput {
    /// The system's id for this batch: a batch id already loaded is not loaded again.
    pub batch_id: String,
    /// `upsert` (default), `append` or `full`.
    pub mode: Option<String>,
    /// Rows as objects keyed by field name.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// The corrected cells of a quarantined row, in field order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionInput {
    pub cells: Vec<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RowsParams {
    /// A version to read (time travel); the latest if absent.
    pub version: Option<u64>,
    pub offset: Option<usize>,
    /// At most 500.
    pub limit: Option<usize>,
    /// Only rows whose `column` equals `value`.
    pub column: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowsOut {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    pub total: u64,
    /// Values under an open objection (R-OBJ-03): the row's index in `rows` and the field.
    pub disputed: Vec<DisputedCell>,
}

/// A value some objection disputes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DisputedCell {
    pub row: usize,
    pub field: String,
}

/// Reads rows of the provider's own dataset (audited).
pub async fn do_read_rows(state: &App, p: &Principal, id: i64, q: &RowsParams) -> Result<RowsOut, AppError> {
    let offset = crate::limits::offset(state, q.offset)?;
    let e = provider_entry(state, p, id).await?;
    let filter = match (&q.column, &q.value) {
        (Some(c), Some(v)) if !c.is_empty() => {
            if !e.body.fields.iter().any(|f| &f.name == c) {
                return Err(AppError::bad_request(
                    "unknown_field",
                    format!("没有字段“{c}”"),
                    format!("no field {c:?}"),
                ));
            }
            Some((c.as_str(), v.as_str()))
        }
        _ => None,
    };
    let page = lake(state)?.rows(&e.code, q.version, filter, offset, q.limit.unwrap_or(50).clamp(1, 500)).await?;
    let mut ev = p.event("dataset.read", &format!("dataset:{}", e.code));
    ev.purpose = format!("rows={} version={:?}", page.rows.len(), q.version);
    state.audit.append(ev).await?;
    let disputes = crate::objections::Disputes::of(state.storage.as_ref(), &e).await?;
    let disputed = disputes.cells(&page.columns, &page.rows, filter);
    Ok(RowsOut { columns: page.columns, rows: page.rows, total: page.total, disputed })
}

/// Quality tasks the caller may see (open ones unless `all`).
pub async fn do_list_tasks(state: &App, p: &Principal, all: bool) -> Result<Vec<QualityTask>, AppError> {
    let scope = view_scope(state, p).await?;
    let tasks = state.storage.list_quality_tasks(None, !all).await?;
    Ok(tasks.into_iter().filter(|t| scope.contains(t.org_id)).collect())
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct TaskParams {
    /// Include closed tasks.
    pub all: Option<bool>,
}

/// The provider's answer to a quality task.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    /// `confirmed` (the data is right as it is) or `corrected`.
    pub status: String,
    pub response: String,
}

pub async fn do_resolve(state: &App, p: &Principal, id: i64, input: &ResolveInput) -> Result<QualityTask, AppError> {
    let t =
        state.storage.get_quality_task(id).await?.ok_or_else(|| AppError::not_found(&format!("quality task {id}")))?;
    if p.org_id != Some(t.org_id) || !p.allows(pdp_domain::roles::Permission::LoadData) {
        return Err(not_provider());
    }
    let status =
        QualityTaskStatus::parse(&input.status).filter(|s| *s != QualityTaskStatus::Open).ok_or_else(|| {
            AppError::bad_request(
                "task_bad_status",
                "处理结果应为 confirmed（确认无误）或 corrected（已更正）",
                "status must be confirmed or corrected",
            )
        })?;
    if input.response.trim().is_empty() {
        return Err(AppError::bad_request("task_response_required", "请填写处理说明", "a response is required"));
    }
    let ev = p.event("quality.task.resolve", "");
    Ok(state.storage.resolve_quality_task(id, status, input.response.trim(), p.user.id, ev).await?)
}
