//! The data lake: one Delta Lake table per cataloged dataset, written by validated loads and
//! read with Apache DataFusion (R-AGG-01, R-AGG-02).
//!
//! A load streams rows from a [`RowSource`] through the entry's [`RowValidator`] on blocking
//! threads (`ingest`: one reader, a validator per core, a sequencer that keeps keys unique with
//! a mostly on-disk [`keyset::KeySet`]); accepted rows become Arrow record batches written as Parquet data files, refused rows
//! become a quarantine Parquet file with their row number, cells and every reason. Nothing is
//! visible until one Delta commit adds the new files (and, for a full replacement, removes the
//! old ones) together with a [`CommitNote`] in the commit's metadata: the counts, the quarantine
//! file and who loaded what. The commit is the single atomic point, so a load killed at any
//! moment leaves the previous version intact and at most some unreferenced files, and the
//! quarantine of every version is exactly what its commit names. The metadata database only
//! keeps a projection of these notes, which it can always rebuild from the lake.
//!
//! The lake's root is a URL: a local directory (`file://`) by default, object storage later,
//! so Spark, Trino or DuckDB can read the same tables.

pub mod analytics;
mod datafile;
mod ingest;
pub mod keyfile;
pub mod keyindex;
pub mod keyset;
mod lanes;
pub mod release;
pub mod share;
mod sortedkeys;
pub mod source;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use datafile::DataFiles;
use datafusion::arrow::array::{Array, ArrayRef, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType as ArrowType, Field as ArrowField, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::file::properties::EnabledStatistics;
use datafusion::prelude::SessionContext;
use deltalake::DeltaTable;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, StructField, Transaction};
use deltalake::protocol::{DeltaOperation, SaveMode};
use futures::TryStreamExt;
use ingest::Chunk;
use lanes::{Feed, Lanes, Worker};
use pdp_domain::catalog::{DataType, EntryBody, Field};
use pdp_domain::dataset::{LoadStats, RowError, RowValidator, RulesError};
use serde::{Deserialize, Serialize};
use time::Date;
use url::Url;

pub use source::{Encoding, RowSource, SourceFormat, SourceRow};

/// Quarantined rows shown in a load report; the rest are in the quarantine file.
const REPORT_ERRORS: usize = 20;
/// Rows per Parquet row group of a load (see where the writer is made).
const LOAD_ROW_GROUP_ROWS: usize = 131_072;
/// Rows per row group of a quarantine file (see where its writer is made).
const QUARANTINE_ROW_GROUP_ROWS: usize = 16_384;
/// The size at which a load rolls to a new Parquet file.
const LOAD_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Errors of the lake. The web crate maps them to HTTP; each has a stable code.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("io error: {0}")]
    Io(String),
    /// The file as a whole cannot be loaded (unreadable header, missing or unknown columns).
    #[error("{en}")]
    BadFile { zh: String, en: String },
    #[error("invalid field rules: {0}")]
    Rules(#[from] RulesError),
    /// A correction (or push with `reject_invalid`) had invalid rows; nothing was committed.
    #[error("{} rows are invalid", .0.len())]
    Invalid(Vec<QuarantinedRow>),
    #[error("the dataset has no key field, so it cannot be upserted by key")]
    NoKey,
    #[error("the dataset has no data yet")]
    Empty,
    #[error("version {0} does not exist")]
    NoSuchVersion(u64),
    #[error("the catalog entry's fields no longer match the table: {0}")]
    SchemaChanged(String),
    #[error("delta lake: {0}")]
    Delta(String),
    #[error("query: {0}")]
    Query(String),
}

/// Refuses a page whose end does not fit in a `usize` (DataFusion adds skip and fetch). Callers
/// bound offsets far below this; the check keeps an unchecked caller from ending the process.
pub(crate) fn page_fits(offset: usize, limit: usize) -> Result<()> {
    match offset.checked_add(limit) {
        Some(_) => Ok(()),
        None => Err(LakeError::Query(format!("offset {offset} is out of range"))),
    }
}

impl From<deltalake::DeltaTableError> for LakeError {
    fn from(e: deltalake::DeltaTableError) -> Self {
        Self::Delta(e.to_string())
    }
}

impl From<datafusion::error::DataFusionError> for LakeError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        Self::Query(e.to_string())
    }
}

impl From<datafusion::arrow::error::ArrowError> for LakeError {
    fn from(e: datafusion::arrow::error::ArrowError) -> Self {
        Self::Io(e.to_string())
    }
}

impl From<datafusion::parquet::errors::ParquetError> for LakeError {
    fn from(e: datafusion::parquet::errors::ParquetError) -> Self {
        Self::Io(e.to_string())
    }
}

impl pdp_domain::Localized for LakeError {
    fn code(&self) -> &'static str {
        match self {
            Self::Io(_) | Self::Delta(_) => "lake_io",
            Self::BadFile { .. } => "load_bad_file",
            Self::Rules(_) => "load_bad_rules",
            Self::Invalid(_) => "load_invalid_rows",
            Self::NoKey => "load_no_key",
            Self::Empty => "dataset_empty",
            Self::NoSuchVersion(_) => "dataset_no_such_version",
            Self::SchemaChanged(_) => "dataset_schema_changed",
            Self::Query(_) => "query_failed",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            Self::Io(e) | Self::Delta(e) => format!("数据湖读写失败：{e}"),
            Self::BadFile { zh, .. } => zh.clone(),
            Self::Rules(e) => format!("编目中的字段规则有误：{e}"),
            Self::Invalid(rows) => format!("有 {} 行数据未通过校验，未作任何更改", rows.len()),
            Self::NoKey => "该数据集没有主键字段，不能按主键增量更新".into(),
            Self::Empty => "该数据集尚无数据".into(),
            Self::NoSuchVersion(v) => format!("版本 {v} 不存在"),
            Self::SchemaChanged(e) => format!("编目信息项与数据表结构不一致：{e}"),
            Self::Query(e) => format!("查询失败：{e}"),
        }
    }

    fn message_en(&self) -> String {
        match self {
            Self::BadFile { en, .. } => en.clone(),
            Self::Invalid(rows) => format!("{} rows are invalid; nothing was changed", rows.len()),
            other => other.to_string(),
        }
    }
}

// The load's mode and the commit's kind are the domain's: the metadata database records them too.
pub use pdp_domain::dataset::{CommitKind, LoadMode};

pub type Result<T, E = LakeError> = std::result::Result<T, E>;

/// Which row of which version's quarantine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QuarantineRef {
    pub version: u64,
    pub row: u64,
}

/// PDP's record in each commit's metadata (key `pdp`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitNote {
    pub kind: CommitKind,
    pub mode: LoadMode,
    pub stats: LoadStats,
    /// Path of the quarantine file relative to the table, if any row was refused.
    pub quarantine_file: Option<String>,
    /// Rows in the table after this commit.
    pub rows_after: u64,
    pub actor: String,
    /// The file name, `api` for pushes, `correction` for corrections.
    pub source: String,
    pub batch_id: Option<String>,
    /// Quarantined rows this commit resolves (corrections).
    #[serde(default)]
    pub resolves: Vec<QuarantineRef>,
    /// An objection this commit answers with a correction.
    #[serde(default)]
    pub objection_id: Option<i64>,
    pub started_micros: i64,
    pub finished_micros: i64,
}

/// A refused row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantinedRow {
    /// 1-based data row number in the source (the header is not counted).
    pub row: u64,
    /// The cells in the entry's field order, or the raw cells if the row could not be aligned.
    pub cells: Vec<String>,
    /// Whether `cells` are in field order.
    pub aligned: bool,
    pub errors: Vec<RowError>,
}

/// Who loads what, recorded in the commit.
#[derive(Debug, Clone, Default)]
pub struct LoadMeta {
    pub actor: String,
    pub source: String,
    pub batch_id: Option<String>,
    pub resolves: Vec<QuarantineRef>,
    pub objection_id: Option<i64>,
    /// Refuse the whole load (commit nothing) if any row is invalid: for corrections, where the
    /// provider is fixing rows by hand and should see the error at once.
    pub reject_invalid: bool,
}

/// The result of a load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    pub dataset: String,
    /// The version the load created; `None` if the batch had already been loaded.
    pub version: Option<u64>,
    pub already_loaded: bool,
    pub mode: LoadMode,
    pub stats: LoadStats,
    pub rows_after: u64,
    /// The first refused rows; all of them are in the version's quarantine.
    pub first_errors: Vec<QuarantinedRow>,
    pub duration_ms: u64,
}

/// Progress of a running load.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadProgress {
    pub rows: u64,
    pub bytes: u64,
    pub quarantined: u64,
}

/// One version of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub version: u64,
    pub timestamp_millis: i64,
    pub operation: String,
    pub note: Option<CommitNote>,
}

/// A page of rows as text (`None` is null).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RowPage {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    pub total: u64,
}

/// The lake: a root URL under which every dataset has its table.
#[derive(Clone)]
pub struct Lake {
    root: Url,
    /// The root as a directory when the lake is local: lookups by key stat a table's log on
    /// every lookup, and going through the URL each time cost a parse per request.
    root_dir: Option<std::path::PathBuf>,
    /// One lock per dataset so two loads in this process never race for the same commit; the
    /// Delta commit protocol still refuses a conflicting commit from another process.
    locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    /// The local cache of key files when the lake is not on the local disk (see [`keyindex`]).
    key_cache: std::path::PathBuf,
    /// What lookups by key keep between requests, see [`keyindex`].
    key_indexes: Arc<Mutex<keyindex::KeyIndexes>>,
    /// Counts the operations of this process that may have committed to a table (one per
    /// [`Writing`] released), so that lookups by key look at a table's log again at once
    /// after this process's own loads instead of trusting a recent look.
    writes: Arc<AtomicU64>,
}

/// A dataset's write lock, held by every operation that may commit to its table. Releasing it
/// counts in [`Lake::writes`].
struct Writing {
    _guard: tokio::sync::OwnedMutexGuard<()>,
    writes: Arc<AtomicU64>,
}

impl Drop for Writing {
    fn drop(&mut self) {
        self.writes.fetch_add(1, Ordering::AcqRel);
    }
}

impl std::fmt::Debug for Lake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lake").field("root", &self.root.as_str()).finish()
    }
}

/// The directory name of a dataset's table: the catalog code with `/` and anything unusual
/// turned into `_` (`101000/000001` → `101000_000001`).
pub fn table_dir(dataset: &str) -> String {
    dataset.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

fn now_micros() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64
}

impl Lake {
    /// Opens the lake at `location`: a URL (`file:///…`, later `s3://…`) or a local directory,
    /// which is created if missing.
    pub fn open(location: &str) -> Result<Self> {
        let url = match Url::parse(location) {
            Ok(u) if u.scheme().len() > 1 => u,
            _ => {
                std::fs::create_dir_all(location).map_err(|e| LakeError::Io(format!("{location}: {e}")))?;
                let abs = std::fs::canonicalize(location).map_err(|e| LakeError::Io(format!("{location}: {e}")))?;
                Url::from_directory_path(&abs).map_err(|_| LakeError::Io(format!("{location}: not a directory")))?
            }
        };
        let root = if url.path().ends_with('/') { url } else { Url::parse(&format!("{url}/")).expect("url") };
        let root_dir = if root.scheme() == "file" { root.to_file_path().ok() } else { None };
        // Key files of a lake elsewhere are cached on this machine, per lake.
        let key_cache = std::env::temp_dir().join("pdp-key-cache").join(format!("{:016x}", {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            root.as_str().hash(&mut h);
            h.finish()
        }));
        Ok(Self {
            root,
            root_dir,
            key_cache,
            locks: Default::default(),
            key_indexes: Default::default(),
            writes: Default::default(),
        })
    }

    pub fn root(&self) -> &Url {
        &self.root
    }

    pub fn table_url(&self, dataset: &str) -> Url {
        self.root.join(&format!("{}/", table_dir(dataset))).expect("a relative path joins")
    }

    /// Takes the dataset's write lock (see [`Writing`]).
    async fn writing(&self, dataset: &str) -> Writing {
        let lock = self.locks.lock().expect("lock").entry(dataset.to_string()).or_default().clone();
        Writing { _guard: lock.lock_owned().await, writes: self.writes.clone() }
    }

    /// The table of a dataset, `None` if nothing was ever loaded.
    pub async fn table(&self, dataset: &str) -> Result<Option<DeltaTable>> {
        let url = self.table_url(dataset);
        if url.scheme() == "file"
            && let Ok(path) = url.to_file_path()
            && !path.join("_delta_log").exists()
        {
            return Ok(None);
        }
        let t = DeltaTable::try_from_url(url).await?;
        Ok(t.version().is_some().then_some(t))
    }

    /// Applies retention (R-AGG-01): deletes the data files that no version newer than
    /// `retention_hours` ago still uses (Delta VACUUM), so versions older than that can no
    /// longer be read. The latest version is never touched, the log and the quarantine files
    /// (under `_pdp_quarantine/`, which VACUUM skips) stay. Returns the deleted files.
    pub async fn vacuum(&self, dataset: &str, retention_hours: u64, actor: &str) -> Result<Vec<String>> {
        let _writing = self.writing(dataset).await;
        let Some(table) = self.table(dataset).await? else { return Ok(vec![]) };
        let now = now_micros();
        let note = CommitNote {
            kind: CommitKind::Retention,
            mode: LoadMode::Full,
            stats: LoadStats::default(),
            quarantine_file: None,
            rows_after: rows_of(&table).await?,
            actor: actor.to_string(),
            source: "retention".into(),
            batch_id: None,
            resolves: vec![],
            objection_id: None,
            started_micros: now,
            finished_micros: now,
        };
        let props = CommitProperties::default()
            .with_metadata(HashMap::from([("pdp".to_string(), serde_json::to_value(&note).expect("serialisable"))]));
        let hours = i64::try_from(retention_hours).unwrap_or(i64::MAX / 3_600_000);
        let (_, metrics) = table
            .vacuum()
            .with_retention_period(chrono::Duration::hours(hours))
            .with_enforce_retention_duration(false)
            .with_commit_properties(props)
            .await?;
        if let Some(dir) = &self.root_dir {
            keyfile::remove_orphans(&dir.join(table_dir(dataset)));
        }
        Ok(metrics.files_deleted)
    }

    /// The table at `version` (time travel), as long as retention has not removed it.
    pub async fn table_at(&self, dataset: &str, version: Option<u64>) -> Result<DeltaTable> {
        let Some(mut t) = self.table(dataset).await? else { return Err(LakeError::Empty) };
        if let Some(v) = version
            && Some(v) != t.version()
        {
            if t.version().is_some_and(|latest| v > latest) {
                return Err(LakeError::NoSuchVersion(v));
            }
            t.load_version(v).await.map_err(|_| LakeError::NoSuchVersion(v))?;
        }
        Ok(t)
    }

    async fn create(&self, dataset: &str, entry: &EntryBody, actor: &str) -> Result<DeltaTable> {
        let url = self.table_url(dataset);
        if url.scheme() == "file"
            && let Ok(path) = url.to_file_path()
        {
            std::fs::create_dir_all(&path).map_err(|e| LakeError::Io(e.to_string()))?;
        }
        let note = CommitNote {
            kind: CommitKind::Create,
            mode: LoadMode::Full,
            stats: LoadStats::default(),
            quarantine_file: None,
            rows_after: 0,
            actor: actor.to_string(),
            source: String::new(),
            batch_id: None,
            resolves: vec![],
            objection_id: None,
            started_micros: now_micros(),
            finished_micros: now_micros(),
        };
        let t = DeltaTable::try_from_url(url).await?;
        let t = t
            .create()
            .with_table_name(table_dir(dataset))
            .with_comment(entry.name.clone())
            .with_columns(delta_fields(&entry.fields))
            .with_commit_properties(
                CommitProperties::default()
                    .with_metadata([("pdp".to_string(), serde_json::to_value(&note).expect("serialisable"))]),
            )
            .await?;
        Ok(t)
    }

    /// Loads rows from `source` into the dataset as one atomic commit.
    #[allow(clippy::too_many_arguments)]
    pub async fn load(
        &self,
        dataset: &str,
        entry: &EntryBody,
        mode: LoadMode,
        today: Date,
        meta: LoadMeta,
        source: Box<dyn RowSource>,
        progress: impl Fn(LoadProgress) + Send + Sync + 'static,
    ) -> Result<LoadReport> {
        let started = std::time::Instant::now();
        let started_micros = now_micros();
        let validator = RowValidator::new(entry, today)?;
        let key_idx: Vec<usize> =
            entry.fields.iter().enumerate().filter(|(_, f)| f.rules.key).map(|(i, _)| i).collect();
        if mode == LoadMode::Upsert && key_idx.is_empty() {
            return Err(LakeError::NoKey);
        }
        let column_map = map_columns(source.header(), &entry.fields)?;
        let _writing = self.writing(dataset).await;

        let table = match self.table(dataset).await? {
            Some(t) => t,
            None => self.create(dataset, entry, &meta.actor).await?,
        };
        check_schema(&table, &entry.fields)?;
        if let Some(batch) = &meta.batch_id {
            let app_id = format!("pdp-batch:{batch}");
            let seen = table.snapshot()?.transaction_version(table.log_store().as_ref(), &app_id).await?;
            if seen.is_some() {
                return Ok(LoadReport {
                    dataset: dataset.to_string(),
                    version: None,
                    already_loaded: true,
                    mode,
                    stats: LoadStats::default(),
                    rows_after: rows_of(&table).await?,
                    first_errors: vec![],
                    duration_ms: started.elapsed().as_millis() as u64,
                });
            }
        }

        let schema = arrow_schema(&entry.fields);
        let store = table.object_store();
        let quarantine_path = format!("_pdp_quarantine/{}.parquet", uuid::Uuid::new_v4());
        let mut quarantine: Option<Worker<Vec<QuarantinedRow>, ()>> = None;
        // Row groups of 128k rows rather than the Parquet default of 1M: each lane's writer
        // holds one row group's encoded columns in memory, and every reader (an export, a Delta Sharing
        // client, DataFusion's scan) fetches a whole row group at a time, so the row group is
        // what bounds memory on both sides. Files roll at 256 MB so a large load is several
        // files that readers can take in parallel.
        //
        // The lanes' writers are made when the first batch arrives, so that batch can decide
        // which columns get a dictionary (see `load_writer_properties`).
        // Each data file gets its key file as it is written (see `keyindex`).
        let key_columns = keyindex::key_columns(entry);
        let new_lanes = |sample: Option<&RecordBatch>| -> Result<Lanes> {
            let writers = (0..Lanes::for_this_machine())
                .map(|_| {
                    DataFiles::for_table(
                        &table,
                        schema.clone(),
                        load_writer_properties(sample, &entry.fields),
                        LOAD_FILE_BYTES,
                        &key_columns,
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Lanes::new(writers, LOAD_ROW_GROUP_ROWS))
        };
        let mut lanes: Option<Lanes> = None;

        // Rows are read and validated on blocking threads (see `ingest`) and handed over in
        // batches through a small bounded channel, so memory stays flat however large the file is.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(4);
        let key_hash = Arc::new(pdp_domain::dataset::KeyHasher::default());
        let producer = {
            let plan = ingest::Plan {
                validator,
                fields: entry.fields.clone(),
                column_map,
                schema: schema.clone(),
                key_idx: key_idx.clone(),
                mode,
                reject_invalid: meta.reject_invalid,
                key_hash: key_hash.clone(),
            };
            tokio::task::spawn_blocking(move || ingest::produce(source, plan, tx, progress))
        };
        let mut first_errors = Vec::new();
        let mut invalid = Vec::new();
        let mut new_keys: HashSet<u128> = HashSet::new();
        while let Some(chunk) = rx.recv().await {
            match chunk {
                Chunk::Accepted(batch, keys) => {
                    new_keys.extend(keys);
                    let l = match lanes.as_mut() {
                        Some(l) => l,
                        None => lanes.insert(new_lanes(Some(&batch))?),
                    };
                    l.write(batch).await?;
                }
                Chunk::Quarantined(rows) => {
                    if meta.reject_invalid {
                        invalid.extend(rows);
                        continue;
                    }
                    let room = REPORT_ERRORS.saturating_sub(first_errors.len());
                    first_errors.extend(rows.iter().take(room).cloned());
                    let q = match quarantine.as_mut() {
                        Some(q) => q,
                        None => quarantine.insert(quarantine_writer(store.clone(), &quarantine_path)),
                    };
                    q.send(rows).await?;
                }
            }
        }
        let stats = producer.await.map_err(|e| LakeError::Io(format!("loader thread: {e}")))??;
        if !invalid.is_empty() {
            // Duplicates are decided after the rows around them (see `ingest`).
            invalid.sort_by_key(|r: &QuarantinedRow| r.row);
            return Err(LakeError::Invalid(invalid));
        }
        // The quarantine file is finished on its thread while the data files are.
        if let Some(q) = quarantine.as_mut() {
            q.end().await?;
        }

        let mut lanes = match lanes {
            Some(l) => l,
            None => new_lanes(None)?,
        };
        // For an upsert, the old rows whose key the load did not bring are rewritten into the
        // new version; the old files are then all removed, in the same commit.
        let mut kept = 0u64;
        if mode == LoadMode::Upsert && table.version().is_some_and(|v| v > 0) {
            let ctx = SessionContext::new();
            let provider = table.table_provider().await?;
            table.update_datafusion_session(&ctx.state())?;
            let df = ctx.read_table(provider)?;
            let mut stream = df.execute_stream().await?;
            while let Some(batch) = futures::StreamExt::next(&mut stream).await {
                let batch = batch?;
                let keys = batch_keys(&batch, &key_idx)?;
                let mask: datafusion::arrow::array::BooleanArray =
                    keys.iter().map(|k| Some(!new_keys.contains(&key_hash.of_parts([k])))).collect();
                let keep = datafusion::arrow::compute::filter_record_batch(&batch, &mask)?;
                if keep.num_rows() > 0 {
                    kept += keep.num_rows() as u64;
                    // DataFusion may read text as Utf8View; the writer wants the table's types.
                    let columns = keep
                        .columns()
                        .iter()
                        .zip(schema.fields())
                        .map(|(c, f)| datafusion::arrow::compute::cast(c, f.data_type()))
                        .collect::<Result<Vec<_>, _>>()?;
                    let keep = RecordBatch::try_new(schema.clone(), columns)?;
                    lanes.write(keep).await?;
                }
            }
        }
        let previous_rows = if mode == LoadMode::Append { rows_of(&table).await? } else { 0 };
        let adds = lanes.finish().await?;
        let quarantine_file = match quarantine {
            Some(q) => {
                q.finish().await?;
                Some(quarantine_path)
            }
            None => None,
        };
        let mut actions: Vec<Action> = adds.into_iter().map(Action::Add).collect();
        if mode != LoadMode::Append {
            let snapshot = table.snapshot()?.snapshot().clone();
            let log_store = table.log_store();
            let removes: Vec<Action> = snapshot
                .file_views(log_store.as_ref(), None)
                .map_ok(|f| Action::Remove(f.remove_action(true)))
                .try_collect()
                .await?;
            actions.extend(removes);
        }
        if let Some(batch) = &meta.batch_id {
            actions.push(Action::Txn(Transaction::new(format!("pdp-batch:{batch}"), 1)));
        }
        let rows_after = match mode {
            LoadMode::Full => stats.accepted,
            LoadMode::Upsert => stats.accepted + kept,
            LoadMode::Append => previous_rows + stats.accepted,
        };
        let note = CommitNote {
            kind: if meta.resolves.is_empty() && meta.objection_id.is_none() {
                CommitKind::Load
            } else {
                CommitKind::Correction
            },
            mode,
            stats: stats.clone(),
            quarantine_file,
            rows_after,
            actor: meta.actor.clone(),
            source: meta.source.clone(),
            batch_id: meta.batch_id.clone(),
            resolves: meta.resolves.clone(),
            objection_id: meta.objection_id,
            started_micros,
            finished_micros: now_micros(),
        };
        let operation = DeltaOperation::Write {
            mode: if mode == LoadMode::Append { SaveMode::Append } else { SaveMode::Overwrite },
            partition_by: None,
            predicate: None,
        };
        let finalized = CommitBuilder::default()
            .with_actions(actions)
            .with_app_metadata(HashMap::from([("pdp".to_string(), serde_json::to_value(&note).expect("serialisable"))]))
            .with_max_retries(0)
            .build(Some(table.snapshot()?), table.log_store(), operation)
            .await?;
        Ok(LoadReport {
            dataset: dataset.to_string(),
            version: Some(finalized.version() as u64),
            already_loaded: false,
            mode,
            stats,
            rows_after,
            first_errors,
            duration_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// Every version of a dataset with its commit note, oldest first. Versions whose log entry
    /// retention has removed are left out.
    pub async fn versions(&self, dataset: &str) -> Result<Vec<VersionInfo>> {
        let Some(table) = self.table(dataset).await? else { return Ok(vec![]) };
        let latest = table.version().unwrap_or(0);
        let log = table.log_store();
        let mut out = Vec::new();
        for v in 0..=latest {
            let Some(bytes) = log.read_commit_entry(v as _).await? else { continue };
            out.push(parse_commit(v, &bytes));
        }
        Ok(out)
    }

    /// The note of one version.
    pub async fn version_info(&self, dataset: &str, version: u64) -> Result<VersionInfo> {
        let Some(table) = self.table(dataset).await? else { return Err(LakeError::Empty) };
        let bytes =
            table.log_store().read_commit_entry(version as _).await?.ok_or(LakeError::NoSuchVersion(version))?;
        Ok(parse_commit(version, &bytes))
    }

    /// The quarantined rows of one version, in row order.
    pub async fn quarantine(&self, dataset: &str, version: u64) -> Result<Vec<QuarantinedRow>> {
        let info = self.version_info(dataset, version).await?;
        let Some(path) = info.note.and_then(|n| n.quarantine_file) else { return Ok(vec![]) };
        let table = self.table(dataset).await?.ok_or(LakeError::Empty)?;
        #[allow(deprecated)]
        let reader = datafusion::parquet::arrow::async_reader::ParquetObjectReader::new(
            table.object_store(),
            deltalake::Path::from(path.as_str()),
        );
        let mut stream = datafusion::parquet::arrow::ParquetRecordBatchStreamBuilder::new(reader).await?.build()?;
        let mut out = Vec::new();
        while let Some(batch) = futures::StreamExt::next(&mut stream).await {
            let batch = batch?;
            let rows = column::<Int64Array>(&batch, 0)?;
            let aligned = batch.column(1).as_any().downcast_ref::<datafusion::arrow::array::BooleanArray>();
            let cells = column::<StringArray>(&batch, 2)?;
            let errors = column::<StringArray>(&batch, 3)?;
            for i in 0..batch.num_rows() {
                out.push(QuarantinedRow {
                    row: rows.value(i) as u64,
                    aligned: aligned.is_some_and(|a| a.value(i)),
                    cells: serde_json::from_str(cells.value(i)).unwrap_or_default(),
                    errors: serde_json::from_str(errors.value(i)).unwrap_or_default(),
                });
            }
        }
        // Rows held back to decide their key are written after the rows around them.
        out.sort_by_key(|r| r.row);
        Ok(out)
    }

    /// A page of a dataset's rows at `version` (latest if `None`), optionally only rows whose
    /// `column` equals `value`.
    pub async fn rows(
        &self,
        dataset: &str,
        version: Option<u64>,
        filter: Option<(&str, &str)>,
        offset: usize,
        limit: usize,
    ) -> Result<RowPage> {
        page_fits(offset, limit)?;
        let table = self.table_at(dataset, version).await?;
        // A version's rows of one key come from its key files.
        if let Some(key) = filter
            && let Some(v) = table.version()
        {
            let columns = table.snapshot()?.schema().fields().map(|f| f.name().clone()).collect();
            let sel = share::Selection { columns, filters: vec![], order_by: None };
            if let Some((_, page)) = self.lookup(dataset, Some(v), &sel, key, offset, limit).await? {
                return Ok(page);
            }
        }
        let ctx = SessionContext::new();
        let provider = table.table_provider().await?;
        table.update_datafusion_session(&ctx.state())?;
        let mut df = ctx.read_table(provider)?;
        if let Some((c, v)) = filter {
            let field = df.schema().field_with_unqualified_name(c).map_err(|e| LakeError::Query(e.to_string()))?;
            let value = datafusion::prelude::cast(datafusion::prelude::lit(v), field.data_type().clone());
            df = df.filter(datafusion::prelude::col(datafusion::common::Column::new_unqualified(c)).eq(value))?;
        }
        let total = df.clone().count().await? as u64;
        let batches = df.limit(offset, Some(limit))?.collect().await?;
        let columns = table.snapshot()?.schema().fields().map(|f| f.name().clone()).collect();
        let mut rows = Vec::new();
        for b in &batches {
            rows.extend(batch_rows(b)?);
        }
        Ok(RowPage { columns, rows, total })
    }
}

fn column<T: 'static>(batch: &RecordBatch, i: usize) -> Result<&T> {
    batch.column(i).as_any().downcast_ref::<T>().ok_or_else(|| LakeError::Io(format!("unexpected column {i} type")))
}

async fn rows_of(table: &DeltaTable) -> Result<u64> {
    // Every commit note records the rows after it; the latest one is the table's size.
    let Some(v) = table.version() else { return Ok(0) };
    let bytes = table.log_store().read_commit_entry(v).await?;
    Ok(bytes.and_then(|b| parse_commit(v, &b).note).map(|n| n.rows_after).unwrap_or(0))
}

fn parse_commit(version: u64, bytes: &[u8]) -> VersionInfo {
    let mut info = VersionInfo { version, timestamp_millis: 0, operation: String::new(), note: None };
    for line in bytes.split(|b| *b == b'\n') {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else { continue };
        if let Some(ci) = v.get("commitInfo") {
            info.timestamp_millis = ci.get("timestamp").and_then(|t| t.as_i64()).unwrap_or(0);
            info.operation = ci.get("operation").and_then(|o| o.as_str()).unwrap_or_default().to_string();
            info.note = ci.get("pdp").and_then(|p| serde_json::from_value(p.clone()).ok());
        }
    }
    info
}

/// Delta columns for catalog fields; every column is nullable (required-ness is a load rule,
/// and a later catalog version may relax it).
fn delta_fields(fields: &[Field]) -> Vec<StructField> {
    use deltalake::kernel::{DataType as D, PrimitiveType as P};
    fields
        .iter()
        .map(|f| {
            let t = match f.data_type {
                DataType::Text => P::String,
                DataType::Integer => P::Long,
                DataType::Decimal => P::Double,
                DataType::Date => P::Date,
                DataType::DateTime => P::Timestamp,
                DataType::Boolean => P::Boolean,
                DataType::Binary => P::Binary,
            };
            StructField::new(f.name.clone(), D::Primitive(t), true)
        })
        .collect()
}

/// The Arrow schema of a dataset's rows.
pub fn arrow_schema(fields: &[Field]) -> SchemaRef {
    Arc::new(Schema::new(
        fields
            .iter()
            .map(|f| {
                let t = match f.data_type {
                    DataType::Text => ArrowType::Utf8,
                    DataType::Integer => ArrowType::Int64,
                    DataType::Decimal => ArrowType::Float64,
                    DataType::Date => ArrowType::Date32,
                    DataType::DateTime => ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                    DataType::Boolean => ArrowType::Boolean,
                    DataType::Binary => ArrowType::Binary,
                };
                ArrowField::new(f.name.clone(), t, true)
            })
            .collect::<Vec<_>>(),
    ))
}

/// Refuses a load whose entry fields differ from the table's columns: a changed entry needs a
/// schema change first, and a silent mismatch would lose or misplace data.
fn check_schema(table: &DeltaTable, fields: &[Field]) -> Result<()> {
    let have: Vec<String> = table.snapshot()?.schema().fields().map(|f| f.name().clone()).collect();
    let want: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
    if have != want {
        return Err(LakeError::SchemaChanged(format!(
            "table has [{}], entry has [{}]",
            have.join(", "),
            want.join(", ")
        )));
    }
    Ok(())
}

/// For each field, the index of its column in the source header, matched by field name or by
/// its Chinese label. Every field must have a column and every column must be a field.
pub fn map_columns(header: &[String], fields: &[Field]) -> Result<Vec<usize>> {
    let find = |f: &Field| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(&f.name) || (!f.label.is_empty() && h.trim() == f.label))
    };
    let mut map = Vec::with_capacity(fields.len());
    let mut missing = Vec::new();
    for f in fields {
        match find(f) {
            Some(i) => map.push(i),
            None => missing.push(format!("{}（{}）", f.label, f.name)),
        }
    }
    let unknown: Vec<&str> =
        header.iter().enumerate().filter(|(i, _)| !map.contains(i)).map(|(_, h)| h.as_str()).collect();
    if !missing.is_empty() || !unknown.is_empty() {
        let mut zh = Vec::new();
        let mut en = Vec::new();
        if !missing.is_empty() {
            zh.push(format!("缺少列：{}", missing.join("、")));
            en.push(format!("missing columns: {}", missing.join(", ")));
        }
        if !unknown.is_empty() {
            zh.push(format!("编目中没有的列：{}", unknown.join("、")));
            en.push(format!("columns not in the catalog entry: {}", unknown.join(", ")));
        }
        return Err(LakeError::BadFile { zh: zh.join("；"), en: en.join("; ") });
    }
    Ok(map)
}

/// Parquet writer settings of the lake's files: Snappy, row groups of `rows` rows.
fn snappy_row_groups(rows: usize) -> datafusion::parquet::file::properties::WriterPropertiesBuilder {
    datafusion::parquet::file::properties::WriterProperties::builder()
        .set_compression(datafusion::parquet::basic::Compression::SNAPPY)
        .set_max_row_group_row_count(Some(rows))
}

/// Parquet settings of a load's data files. A dictionary pays only for columns that repeat
/// values (names, districts, dates); for a column of mostly distinct values (keys, ID and phone
/// numbers) the writer would hash every value into a dictionary that overflows and is dropped
/// again, which took half of the writer's time in the 10M-row benchmark. So key columns, and
/// text columns of which more than half the values of the first batch are distinct, are written
/// without one.
///
/// Those mostly distinct text columns other than keys also go without min/max statistics: in
/// a file of unsorted, mostly distinct values (phone numbers, addresses) the minimum and maximum
/// of every row group span nearly the whole range, so they never let a reader skip anything,
/// while comparing every value to keep them was 3 % of a load's CPU. Key columns keep theirs
/// (a source sorted by key makes them selective), and so do all other columns.
fn load_writer_properties(
    sample: Option<&RecordBatch>,
    fields: &[Field],
) -> datafusion::parquet::file::properties::WriterProperties {
    let mut b = snappy_row_groups(LOAD_ROW_GROUP_ROWS);
    for (i, f) in fields.iter().enumerate() {
        let distinct = sample.is_some_and(|batch| mostly_distinct(batch.column(i)));
        if f.rules.key || distinct {
            b = b.set_column_dictionary_enabled(f.name.as_str().into(), false);
        }
        if distinct && !f.rules.key {
            b = b.set_column_statistics_enabled(f.name.as_str().into(), EnabledStatistics::None);
        }
    }
    b.build()
}

/// Whether more than half of a text column's values are distinct, judged on at least 1,024.
fn mostly_distinct(column: &ArrayRef) -> bool {
    let Some(text) = column.as_any().downcast_ref::<StringArray>() else { return false };
    let mut distinct = HashSet::new();
    let mut values = 0;
    for v in text.iter().flatten() {
        values += 1;
        distinct.insert(v);
    }
    values >= 1024 && distinct.len() * 2 > values
}

/// The key of each row as one string, formatted from the Arrow values so that new and stored
/// rows compare alike.
fn batch_keys(batch: &RecordBatch, key_idx: &[usize]) -> Result<Vec<String>> {
    let options = FormatOptions::default();
    let formatters: Vec<ArrayFormatter> = key_idx
        .iter()
        .map(|&i| ArrayFormatter::try_new(batch.column(i).as_ref(), &options))
        .collect::<Result<_, _>>()?;
    Ok((0..batch.num_rows())
        .map(|r| formatters.iter().map(|f| f.value(r).to_string()).collect::<Vec<_>>().join("\u{1f}"))
        .collect())
}

/// Rows of a batch as text cells.
pub fn batch_rows(batch: &RecordBatch) -> Result<Vec<Vec<Option<String>>>> {
    let options = FormatOptions::default();
    let formatters: Vec<ArrayFormatter> =
        batch.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &options)).collect::<Result<_, _>>()?;
    Ok((0..batch.num_rows())
        .map(|r| {
            batch
                .columns()
                .iter()
                .zip(&formatters)
                .map(|(c, f)| if c.is_null(r) { None } else { Some(f.value(r).to_string()) })
                .collect()
        })
        .collect())
}

/// The writer of a load's quarantine file, on a thread of its own (see `lanes`): it turns each
/// group of refused rows into a batch (their cells and reasons as JSON) and appends it to one
/// Parquet file at `path` in the table's store.
fn quarantine_writer(store: deltalake::logstore::ObjectStoreRef, path: &str) -> Worker<Vec<QuarantinedRow>, ()> {
    let path = deltalake::Path::from(path);
    Worker::start(move |mut feed: Feed<Vec<QuarantinedRow>>| async move {
        let mut writer = None;
        while let Some(rows) = feed.next().await? {
            let batch = quarantine_batch(&rows)?;
            let w = match writer.as_mut() {
                Some(w) => w,
                None => {
                    // The object-store writer is deprecated upstream in favour of a
                    // hand-written adapter; it still does exactly what we need.
                    #[allow(deprecated)]
                    let obj =
                        datafusion::parquet::arrow::async_writer::ParquetObjectWriter::new(store.clone(), path.clone());
                    // Small row groups: the writer holds the open row group in memory, and with
                    // the default of 1M rows a file with many bad rows kept them all (about
                    // 200 MB for 500k refused rows) until the end of the load.
                    // The row numbers and the cells are distinct from row to row, so a
                    // dictionary for them would only be built to be dropped; the reasons
                    // repeat and keep theirs.
                    let props = snappy_row_groups(QUARANTINE_ROW_GROUP_ROWS)
                        .set_column_dictionary_enabled("row".into(), false)
                        .set_column_dictionary_enabled("cells".into(), false)
                        .build();
                    writer.insert(datafusion::parquet::arrow::AsyncArrowWriter::try_new(
                        obj,
                        batch.schema(),
                        Some(props),
                    )?)
                }
            };
            w.write(&batch).await?;
        }
        if let Some(w) = writer {
            w.close().await?;
        }
        Ok(())
    })
}

fn quarantine_batch(rows: &[QuarantinedRow]) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        ArrowField::new("row", ArrowType::Int64, false),
        ArrowField::new("aligned", ArrowType::Boolean, false),
        ArrowField::new("cells", ArrowType::Utf8, false),
        ArrowField::new("errors", ArrowType::Utf8, false),
    ]));
    let row: Int64Array = rows.iter().map(|r| Some(r.row as i64)).collect();
    let aligned: datafusion::arrow::array::BooleanArray = rows.iter().map(|r| Some(r.aligned)).collect();
    let cells: StringArray = rows.iter().map(|r| Some(serde_json::to_string(&r.cells).expect("json"))).collect();
    let errors: StringArray = rows.iter().map(|r| Some(serde_json::to_string(&r.errors).expect("json"))).collect();
    Ok(RecordBatch::try_new(
        schema,
        vec![Arc::new(row) as ArrayRef, Arc::new(aligned), Arc::new(cells), Arc::new(errors)],
    )?)
}

/// A row source over JSON objects already in memory (the push API), with the entry's field
/// names as the header. A key that is not a field makes that row unreadable, not lost.
pub struct JsonRows {
    header: Vec<String>,
    rows: std::vec::IntoIter<serde_json::Map<String, serde_json::Value>>,
}

impl JsonRows {
    pub fn new(fields: &[Field], rows: Vec<serde_json::Map<String, serde_json::Value>>) -> Self {
        Self { header: fields.iter().map(|f| f.name.clone()).collect(), rows: rows.into_iter() }
    }
}

impl RowSource for JsonRows {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn next_row(&mut self) -> Result<Option<SourceRow>> {
        let Some(map) = self.rows.next() else { return Ok(None) };
        if let Some(k) = map.keys().find(|k| !self.header.contains(k)) {
            return Ok(Some(SourceRow::Unreadable {
                text: serde_json::Value::Object(map.clone()).to_string(),
                reason_zh: format!("未知的字段“{k}”"),
                reason_en: format!("unknown field {k:?}"),
            }));
        }
        Ok(Some(SourceRow::Cells(
            self.header.iter().map(|h| map.get(h).map(source::json_cell).unwrap_or_default()).collect(),
        )))
    }

    fn bytes_read(&self) -> u64 {
        0
    }
}

/// A row source over rows of cells in field order (corrections typed in the UI).
pub struct CellRows {
    header: Vec<String>,
    rows: std::vec::IntoIter<Vec<String>>,
}

impl CellRows {
    pub fn new(fields: &[Field], rows: Vec<Vec<String>>) -> Self {
        Self { header: fields.iter().map(|f| f.name.clone()).collect(), rows: rows.into_iter() }
    }
}

impl RowSource for CellRows {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn next_row(&mut self) -> Result<Option<SourceRow>> {
        Ok(self.rows.next().map(SourceRow::Cells))
    }

    fn bytes_read(&self) -> u64 {
        0
    }
}
