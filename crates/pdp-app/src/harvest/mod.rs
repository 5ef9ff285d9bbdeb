//! Harvesting already-public data from other portals (R-OPN-07, route 3).
//!
//! The city's data authority registers a source: a CKAN portal (read with `package_search`,
//! page by page) or a DCAT-AP catalog (Turtle, JSON-LD or RDF/XML, following Hydra `next`
//! pages). A run lists the whole source, then for each dataset compares its fingerprint with
//! the last harvest's: an unchanged record costs nothing more; a new or changed one has its CSV
//! distribution downloaded and loaded like any upload, its entry written on the authority as a
//! draft, and a release of route `harvest` prepared for the same review as every other route.
//! The reviewer's approval publishes the entry with the release. What the source no longer
//! lists is marked withdrawn and its releases leave the portal.
//!
//! A run cannot hang or loop and cannot pass a failure off as success: every request has a
//! timeout and a size bound, the run a time limit (`open.harvest_run_timeout_seconds`), paging
//! stops with a failure when a page repeats one already read or the source lists more than
//! `open.harvest_max_records`; a source that cannot be reached or read fails the run and
//! withdraws nothing; a source that suddenly lists nothing while records are held fails too
//! (withdrawing the whole harvest is a decision for a person). A local edit of a harvested
//! entry (a version the harvest did not write) is never overwritten: the record is reported
//! `held` until someone reconciles it. Each run keeps one log line per record.

mod ckan;
mod dcat;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use pdp_audit::NewEvent;
use pdp_domain::catalog::{VersionStatus, validate};
use pdp_domain::harvest::{
    HarvestKind, HarvestedDataset, ItemOutcome, RunStatus, SourceInput, check_header, check_source, fingerprint,
    harvested_entry_body,
};
use pdp_domain::open::{ReleaseRoute, ReleaseStatus};
use pdp_domain::social::social_rules;
use pdp_lake::{LoadMeta, LoadMode};
use pdp_storage::catalog::EntryVersion;
use pdp_storage::{
    HarvestRecord, HarvestRun, HarvestSource, NewHarvestSource, OpenRelease, ReleaseDecision, ReleaseQuery, RunItem,
    StorageError,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::datasets::{lake, load_and_record_only};
use crate::error::AppError;
use crate::open::{Prepared, invalid_release, prepare_in};
use crate::{App, Principal};

/// An answer of a source: its HTTP status, media type and body.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// What a fetch came to: the answer, or why there was none.
pub type FetchOutcome = Result<Fetched, String>;

/// Fetches a source's pages and files; implemented by the web layer (this crate speaks no HTTP).
pub trait HarvestClient: Send + Sync {
    /// GETs `url` with `accept`, following no redirects to other hosts' private addresses,
    /// reading at most `max_bytes` of the body (more is an error).
    fn get(
        &self,
        url: &str,
        accept: &'static str,
        max_bytes: u64,
    ) -> Pin<Box<dyn Future<Output = FetchOutcome> + Send>>;
}

/// Bounds of harvesting (`open.harvest_*`).
#[derive(Debug, Clone)]
pub struct HarvestSettings {
    /// The longest a run may take.
    pub run_timeout: Duration,
    /// The most datasets a source may list.
    pub max_records: usize,
    /// The largest file downloaded.
    pub max_download_bytes: u64,
}

impl Default for HarvestSettings {
    fn default() -> Self {
        Self { run_timeout: Duration::from_secs(1800), max_records: 10_000, max_download_bytes: 256 << 20 }
    }
}

/// The largest catalog page read (a CKAN result page, a DCAT document).
const MAX_PAGE_BYTES: u64 = 32 << 20;
/// The account name harvested releases are prepared by.
pub const HARVESTER: &str = "harvester";

/// A source with its last run.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceOut {
    pub source: HarvestSource,
    pub last_run: Option<HarvestRun>,
    /// Datasets harvested and not withdrawn.
    pub records: usize,
}

/// Registers a source (the city's data authority).
pub async fn create_source(state: &App, p: &Principal, input: &SourceInput) -> Result<HarvestSource, AppError> {
    crate::sources::city_authority(state, p).await?;
    let violations = check_source(input);
    if !violations.is_empty() {
        return Err(invalid_release(&violations));
    }
    let mut ev = p.event("open.harvest.source", "");
    ev.purpose = input.url.trim().to_string();
    Ok(state
        .storage
        .create_harvest_source(
            NewHarvestSource {
                name: input.name.trim().to_string(),
                kind: input.kind,
                url: input.url.trim().to_string(),
                schedule_hours: input.schedule_hours,
                created_by: p.user.username.clone(),
            },
            ev,
        )
        .await?)
}

/// The sources with their last runs (the city's data authority).
pub async fn sources(state: &App, p: &Principal) -> Result<Vec<SourceOut>, AppError> {
    crate::sources::city_authority(state, p).await?;
    let mut out = Vec::new();
    for s in state.storage.list_harvest_sources().await? {
        let last_run = state.storage.list_harvest_runs(s.id, 1).await?.into_iter().next();
        let records = state.storage.harvest_records(s.id).await?.iter().filter(|r| !r.withdrawn).count();
        out.push(SourceOut { source: s, last_run, records });
    }
    Ok(out)
}

/// A source's runs, newest first.
pub async fn runs(state: &App, p: &Principal, source_id: i64) -> Result<Vec<HarvestRun>, AppError> {
    crate::sources::city_authority(state, p).await?;
    source(state, source_id).await?;
    Ok(state.storage.list_harvest_runs(source_id, 100).await?)
}

/// A run with its log, one line per record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunOut {
    pub run: HarvestRun,
    pub items: Vec<RunItem>,
}

/// The most log lines shown of a run.
pub const MAX_ITEMS: i64 = 10_000;

pub async fn run_log(state: &App, p: &Principal, run_id: i64) -> Result<RunOut, AppError> {
    crate::sources::city_authority(state, p).await?;
    let run = state
        .storage
        .get_harvest_run(run_id)
        .await?
        .ok_or_else(|| AppError::not_found(&format!("harvest run {run_id}")))?;
    let items = state.storage.harvest_run_items(run_id, 0, MAX_ITEMS).await?;
    Ok(RunOut { run, items })
}

async fn source(state: &App, id: i64) -> Result<HarvestSource, AppError> {
    state.storage.get_harvest_source(id).await?.ok_or_else(|| AppError::not_found(&format!("harvest source {id}")))
}

/// Starts a run of a source on behalf of the authority and returns it running; the caller
/// runs it to its end with [`execute`] (the web layer in the background, so that the page
/// shows its progress).
pub async fn start_now(state: &App, p: &Principal, source_id: i64) -> Result<(HarvestSource, HarvestRun), AppError> {
    crate::sources::city_authority(state, p).await?;
    let s = source(state, source_id).await?;
    let run = begin(state, &s, &p.user.username, p.event("open.harvest.run", "")).await?;
    Ok((s, run))
}

/// Runs every source whose schedule is due; the server calls it every few minutes.
pub async fn run_due(state: &App) -> Result<usize, AppError> {
    let now = crate::clock::now_micros();
    let mut n = 0;
    for s in state.storage.list_harvest_sources().await? {
        if s.schedule_hours <= 0 {
            continue;
        }
        let last = state.storage.list_harvest_runs(s.id, 1).await?.into_iter().next();
        let due = last.is_none_or(|r| now - r.started_at_micros >= s.schedule_hours * 3_600_000_000);
        if due {
            match run(state, &s, "scheduler", NewEvent::system("open.harvest.run", "")).await {
                Ok(_) => n += 1,
                Err(e) if e.code == "harvest_running" => {}
                Err(e) => tracing::error!(source = s.id, error = %e.en, "scheduled harvest failed to start"),
            }
        }
    }
    Ok(n)
}

/// The counts and log of a run as it goes.
struct Progress {
    run: HarvestRun,
}

impl Progress {
    async fn item(&mut self, state: &App, d: &HarvestedDataset, done: Done) {
        let c = match done.outcome {
            ItemOutcome::New => &mut self.run.new,
            ItemOutcome::Changed => &mut self.run.changed,
            ItemOutcome::Unchanged => &mut self.run.unchanged,
            ItemOutcome::Withdrawn => &mut self.run.withdrawn,
            ItemOutcome::Held => &mut self.run.held,
            ItemOutcome::Skipped => &mut self.run.skipped,
            ItemOutcome::Failed => &mut self.run.failed,
        };
        *c += 1;
        let item = RunItem {
            run_id: self.run.id,
            identifier: d.identifier.clone(),
            title: d.title.chars().take(200).collect(),
            outcome: done.outcome,
            entry_id: done.entry_id,
            release_id: done.release_id,
            reason: done.reason,
        };
        if let Err(e) = state.storage.add_harvest_items(&[item]).await {
            tracing::error!(run = self.run.id, error = %e, "could not log a harvested record");
        }
    }
}

/// What became of one record.
struct Done {
    outcome: ItemOutcome,
    entry_id: Option<i64>,
    release_id: Option<i64>,
    reason: String,
}

impl Done {
    fn of(outcome: ItemOutcome, reason: impl Into<String>) -> Self {
        Self { outcome, entry_id: None, release_id: None, reason: reason.into() }
    }
}

/// Runs one source to its end: starts its run and executes it.
pub async fn run(state: &App, s: &HarvestSource, by: &str, ev: NewEvent) -> Result<HarvestRun, AppError> {
    let started = begin(state, s, by, ev).await?;
    execute(state, s, started).await
}

/// Records the start of a run, refused while another run of the source is under way.
async fn begin(state: &App, s: &HarvestSource, by: &str, mut ev: NewEvent) -> Result<HarvestRun, AppError> {
    let limits = &state.settings.harvest;
    ev.purpose = s.url.clone();
    let stale_before = crate::clock::now_micros() - limits.run_timeout.as_micros() as i64 - 60_000_000;
    state.storage.start_harvest_run(s.id, by, stale_before, ev).await.map_err(|e| match e {
        StorageError::Conflict(_) => AppError::conflict(
            "harvest_running",
            "该来源正在采集，请待本次完成",
            "this source is being harvested; wait for the run to end",
        ),
        e => e.into(),
    })
}

/// Harvests a started run within the time limit and records how it ended.
pub async fn execute(state: &App, s: &HarvestSource, started: HarvestRun) -> Result<HarvestRun, AppError> {
    let limits = &state.settings.harvest;
    let mut progress = Progress { run: started };
    let outcome = tokio::time::timeout(limits.run_timeout, harvest(state, s, &mut progress)).await;
    let mut run = progress.run;
    match outcome {
        Ok(Ok(())) => {
            run.status = if run.failed > 0 { RunStatus::Partial } else { RunStatus::Succeeded };
        }
        Ok(Err(message)) => {
            run.status = RunStatus::Failed;
            run.message = message;
        }
        Err(_) => {
            run.status = RunStatus::Failed;
            run.message = format!(
                "超过单次采集时限 {} 秒，已处理的记录保留 / the run's time limit of {} s was reached; records done so far are kept",
                limits.run_timeout.as_secs(),
                limits.run_timeout.as_secs()
            );
        }
    }
    run.finished_at_micros = Some(crate::clock::now_micros());
    state.storage.finish_harvest_run(&run).await?;
    crate::open_catalog::catalog_changed(state);
    Ok(run)
}

fn client(state: &App) -> Result<&dyn HarvestClient, String> {
    state.harvester.as_deref().ok_or_else(|| "no HTTP client is set up for harvesting".to_string())
}

/// Fetches a page of a source: a 2xx answer within the size bound, or why not.
async fn fetch(state: &App, url: &str, accept: &'static str, max: u64) -> Result<Fetched, String> {
    let f = client(state)?.get(url, accept, max).await.map_err(|e| format!("{url}: {e}"))?;
    if !(200..300).contains(&f.status) {
        return Err(format!("{url}: HTTP {}", f.status));
    }
    Ok(f)
}

/// The whole harvest of a source. An `Err` fails the run with its message.
async fn harvest(state: &App, s: &HarvestSource, progress: &mut Progress) -> Result<(), String> {
    let max = state.settings.harvest.max_records;
    let listed = match s.kind {
        HarvestKind::Ckan => ckan::list(state, &s.url, max).await,
        HarvestKind::Dcat => dcat::list(state, &s.url, max).await,
    }
    .map_err(|e| format!("读取来源失败，未做任何更改 / reading the source failed; nothing was changed: {e}"))?;
    let held: BTreeMap<String, HarvestRecord> = state
        .storage
        .harvest_records(s.id)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|r| (r.identifier.clone(), r))
        .collect();
    let live = held.values().filter(|r| !r.withdrawn).count();
    if listed.is_empty() && live > 0 {
        return Err(format!(
            "来源未列出任何数据集，而已采集 {live} 个；未撤回任何数据，请人工核实 / the source lists no dataset while {live} are harvested from it; nothing was withdrawn, check it by hand"
        ));
    }
    let host = crate::social::host(state.storage.as_ref()).await.map_err(|e| e.en)?;
    let mut seen = BTreeSet::new();
    for d in &listed {
        if !seen.insert(d.identifier.clone()) {
            continue;
        }
        let done = match one(state, s, host, d, held.get(&d.identifier)).await {
            Ok(done) => done,
            Err(e) => Done::of(ItemOutcome::Failed, reason(&e)),
        };
        progress.item(state, d, done).await;
    }
    for r in held.values().filter(|r| !r.withdrawn && !seen.contains(&r.identifier)) {
        let d = HarvestedDataset { identifier: r.identifier.clone(), ..Default::default() };
        let done = match withdraw(state, r).await {
            Ok(done) => done,
            Err(e) => Done::of(ItemOutcome::Failed, reason(&e)),
        };
        progress.item(state, &d, done).await;
    }
    Ok(())
}

fn harvest_event(action: &str, object: String, identifier: &str) -> NewEvent {
    let mut ev = NewEvent::system(action, &object);
    ev.actor = HARVESTER.into();
    ev.purpose = identifier.chars().take(500).collect();
    ev
}

/// Harvests one listed dataset.
async fn one(
    state: &App,
    s: &HarvestSource,
    host: i64,
    d: &HarvestedDataset,
    held: Option<&HarvestRecord>,
) -> Result<Done, AppError> {
    let fp = fingerprint(d);
    if let Some(r) = held
        && r.fingerprint == fp
        && !r.withdrawn
    {
        return Ok(Done {
            entry_id: Some(r.entry_id),
            release_id: r.release_id,
            ..Done::of(ItemOutcome::Unchanged, "")
        });
    }
    if d.on_application {
        return Ok(Done::of(
            ItemOutcome::Skipped,
            "来源依申请开放，不提供下载 / opened on application at the source: there is no file to harvest",
        ));
    }
    let Some(csv) = d.csv() else {
        return Ok(Done::of(ItemOutcome::Skipped, "来源未提供 CSV 下载 / the source offers no CSV distribution"));
    };
    if d.title.trim().is_empty() {
        return Ok(Done::of(ItemOutcome::Failed, "记录缺少标题 / the record has no title"));
    }
    // A version newer than the one the harvest wrote is somebody's edit here: keep it.
    let current = match held {
        Some(r) => {
            let e = state.storage.get_entry(r.entry_id).await?;
            match e {
                Some(e) if e.version != r.entry_version => {
                    return Ok(Done {
                        entry_id: Some(e.entry_id),
                        ..Done::of(
                            ItemOutcome::Held,
                            format!(
                                "本地已修改（第 {} 版），源端变更未应用 / edited here (version {}) since the last harvest; the source's change is not applied",
                                e.version, e.version
                            ),
                        )
                    });
                }
                e => e,
            }
        }
        None => None,
    };
    let lk = lake(state)?;
    let file = fetch(state, &csv.url, "text/csv", state.settings.harvest.max_download_bytes).await.map_err(|e| {
        AppError::bad_request("harvest_download_failed", format!("下载失败：{e}"), format!("download failed: {e}"))
    })?;
    let tmp =
        tempfile::NamedTempFile::new().map_err(|e| AppError::internal("harvest_tmp", "临时文件失败", e.to_string()))?;
    let path = tmp.path().to_path_buf();
    tokio::fs::write(&path, &file.body)
        .await
        .map_err(|e| AppError::internal("harvest_tmp", "临时文件失败", e.to_string()))?;
    drop(file);
    let sheet = state.settings.limits.sheet;
    let source = crate::limits::on_cpu(state, move || {
        pdp_lake::source::open_file_within(&path, pdp_lake::SourceFormat::Csv, pdp_lake::Encoding::Auto, &sheet)
    })
    .await??;
    if let Some(v) = check_header(source.header()) {
        return Err(invalid_release(&[v]));
    }
    let body = harvested_entry_body(d, &s.name, source.header());
    let violations = validate(&body, &state.catalog.matrix);
    if !violations.is_empty() {
        return Err(invalid_release(&violations));
    }
    let entry = state
        .storage
        .import_entries(
            host,
            &[(current.as_ref().map(|e| e.entry_id), body)],
            None,
            harvest_event("open.harvest.entry", "catalog".into(), &d.identifier),
        )
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            AppError::internal("harvest_entry_failed", "目录记录失败", "the catalog entry was not written")
        })?;
    let meta = LoadMeta { actor: HARVESTER.into(), source: csv.url.chars().take(500).collect(), ..Default::default() };
    let report = load_and_record_only(
        state.storage.as_ref(),
        lk,
        &entry,
        LoadMode::Full,
        meta,
        source,
        |_| {},
        harvest_event("dataset.load", format!("dataset:{}", entry.code), &d.identifier),
    )
    .await?;
    drop(tmp);
    if report.stats.accepted == 0 {
        return Err(AppError::bad_request(
            "harvest_no_valid_rows",
            format!("文件中没有通过校验的行（{} 行被隔离）", report.stats.quarantined),
            format!("no row of the file passed validation ({} quarantined)", report.stats.quarantined),
        ));
    }
    // A newer harvest supersedes a release of the same record still waiting for review.
    if let Some(old) = held.and_then(|r| r.release_id) {
        supersede(state, old).await?;
    }
    let note = format!("采集自{}：{} / harvested from {}: {}", s.name, d.identifier, s.name, d.identifier);
    let release = prepare_in(
        state.storage.as_ref(),
        lk,
        &state.catalog.matrix,
        &entry,
        &social_rules(&entry.body),
        Prepared { by: HARVESTER, route: ReleaseRoute::Harvest, note },
        harvest_event("open.release.prepare", format!("dataset:{}", entry.code), &d.identifier),
    )
    .await?;
    state
        .storage
        .put_harvest_record(&HarvestRecord {
            source_id: s.id,
            identifier: d.identifier.clone(),
            entry_id: entry.entry_id,
            entry_version: entry.version,
            release_id: Some(release.id),
            fingerprint: fingerprint(d),
            modified: d.modified.clone(),
            withdrawn: false,
            updated_at_micros: 0,
        })
        .await?;
    let outcome = if held.is_some() { ItemOutcome::Changed } else { ItemOutcome::New };
    let reason = format!(
        "{} 行，{} 行隔离；待审核 / {} rows, {} quarantined; waiting for review",
        report.stats.accepted, report.stats.quarantined, report.stats.accepted, report.stats.quarantined
    );
    Ok(Done { outcome, entry_id: Some(entry.entry_id), release_id: Some(release.id), reason })
}

/// Withdraws a release that is still waiting for review, if it is.
async fn supersede(state: &App, release_id: i64) -> Result<(), AppError> {
    let Some(r) = state.storage.get_release(release_id).await? else { return Ok(()) };
    if r.status == ReleaseStatus::PendingReview {
        decide(state, &r, ReleaseStatus::Withdrawn, "源端已更新，由新版本取代 / superseded by a newer harvest").await?;
    }
    Ok(())
}

async fn decide(state: &App, r: &OpenRelease, to: ReleaseStatus, why: &str) -> Result<(), AppError> {
    let mut ev = harvest_event("open.release.withdraw", format!("release:{}", r.id), why);
    ev.purpose = why.into();
    let d = ReleaseDecision { from: r.status, to, by: HARVESTER.into(), review: None, at_micros: None };
    match state.storage.decide_release(r.id, d, ev).await {
        Ok(_) | Err(StorageError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Marks a record the source no longer lists as withdrawn, and takes its releases off the
/// portal.
async fn withdraw(state: &App, r: &HarvestRecord) -> Result<Done, AppError> {
    let q = ReleaseQuery { entry_id: Some(r.entry_id), route: Some(ReleaseRoute::Harvest), ..Default::default() };
    let mut n = 0;
    for rel in state.storage.list_releases(&q).await? {
        if matches!(rel.status, ReleaseStatus::Published | ReleaseStatus::PendingReview) {
            decide(state, &rel, ReleaseStatus::Withdrawn, "源端已撤回 / withdrawn at the source").await?;
            n += 1;
        }
    }
    state.storage.put_harvest_record(&HarvestRecord { withdrawn: true, ..r.clone() }).await?;
    Ok(Done {
        entry_id: Some(r.entry_id),
        release_id: r.release_id,
        ..Done::of(
            ItemOutcome::Withdrawn,
            format!(
                "来源不再列出该数据集，撤回 {n} 份开放数据 / no longer listed at the source; {n} releases withdrawn"
            ),
        )
    })
}

/// The entry a harvested release is reviewed against: the draft version the harvest wrote for
/// it, while it is the entry's newest, else the published version.
pub(crate) async fn entry_for_review(state: &App, r: &OpenRelease) -> Result<Option<EntryVersion>, AppError> {
    if let Some(newest) = state.storage.get_entry(r.entry_id).await?
        && newest.status == VersionStatus::Draft
        && let Some(rec) = state.storage.harvest_record_of_release(r.id).await?
        && rec.entry_version == newest.version
    {
        return Ok(Some(newest));
    }
    Ok(None)
}

/// A failed record's reason: the error and its first detail.
fn reason(e: &AppError) -> String {
    let mut s = format!("{}：{} / {}", e.code, e.zh, e.en);
    if let Some(d) = e.details.first() {
        s.push_str(&format!("（{}：{} / {}）", d.path, d.message_zh, d.message_en));
    }
    s
}
