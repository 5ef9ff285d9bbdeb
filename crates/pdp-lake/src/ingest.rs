//! The blocking side of a load: read, validate on every core, keep keys unique, batch
//! (R-AGG-02).
//!
//! Three kinds of threads share the work, joined by small bounded channels so memory stays flat
//! however large the file is:
//!
//! - one **reader** takes rows from the [`RowSource`] in chunks of [`CHUNK_ROWS`], numbered;
//! - **validators**, one per core, check each row of a chunk against the entry's rules and
//!   build the accepted rows into one Arrow record batch, with each accepted row's key
//!   fingerprint;
//! - the **sequencer** (the thread that called [`produce`]) takes validated chunks back in
//!   file order, decides key uniqueness with a [`KeySet`], counts, reports progress and hands
//!   batches and quarantined rows to the async writer.
//!
//! Key uniqueness is the one thing that needs every earlier row, so it is the only thing done
//! in order. A row whose key the key set calls "maybe seen" is held back with its cells and
//! decided later, together with the other held rows, against the key set's exact log; it then
//! goes to the quarantine as a duplicate or, when the filter was wrong, into the table after
//! all. Either way every input row ends up counted once, as accepted or quarantined.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{
    ArrayRef, BinaryBuilder, BooleanArray, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use pdp_domain::catalog::{DataType, Field};
use pdp_domain::dataset::{KeyHasher, LoadStats, RowError, RowValidator, Value};

use crate::keyset::{KeySet, Seen};
use crate::source::{Cells, RowBlock, RowRef};
use crate::{LakeError, LoadMode, LoadProgress, QuarantinedRow, Result, RowSource, batch_keys};

/// Rows per chunk a validator takes at a time; also the most rows in one batch to the writer.
pub(crate) const CHUNK_ROWS: usize = 8192;
/// Held-back rows (keys the filter called "maybe seen") decided together in one read of the
/// key log. Real duplicates are held too, so this bounds the memory a file full of repeated
/// keys can take.
const HOLD_ROWS: usize = 65_536;
/// How many keys ahead the sequencer asks for a key's filter block (see `KeySet::prefetch`):
/// enough to cover a memory access while the keys in between are decided.
const PREFETCH_KEYS: usize = 16;
/// Quarantined rows handed to the writer at a time.
const QUARANTINE_ROWS: usize = 1024;

/// What the blocking side hands the async writer.
pub(crate) enum Chunk {
    /// Accepted rows, with the hashes of their keys when the load is an upsert.
    Accepted(RecordBatch, Vec<u128>),
    Quarantined(Vec<QuarantinedRow>),
}

/// What a load is: everything the threads share, read-only.
pub(crate) struct Plan {
    pub validator: RowValidator,
    pub fields: Vec<Field>,
    pub column_map: Vec<usize>,
    pub schema: SchemaRef,
    pub key_idx: Vec<usize>,
    pub mode: LoadMode,
    pub reject_invalid: bool,
    /// Hashes the upsert's keys formatted as text (see `Lake::load`), so the set of them takes
    /// 16 bytes per key whatever the key's length.
    pub key_hash: Arc<KeyHasher>,
}

/// Source rows, numbered from `first_row` (1-based).
struct RawChunk {
    seq: u64,
    first_row: u64,
    rows: RowBlock,
    /// The source's bytes read once the chunk was taken: with the size of a file, the first
    /// chunk's estimates the load's row count (see [`Sequencer::key_set`]).
    bytes_end: u64,
}

/// A chunk after validation.
struct Validated {
    seq: u64,
    first_row: u64,
    bytes_end: u64,
    /// The source rows again, so the sequencer can hold back a row whose key needs deciding.
    rows: RowBlock,
    batch: Option<RecordBatch>,
    /// For each row of `batch`: its index in `rows` and its key fingerprint (if the entry has
    /// a key).
    accepted: Vec<u32>,
    fingerprints: Vec<u128>,
    refused: Vec<QuarantinedRow>,
    stats: LoadStats,
}

/// Runs a load's reading and validation; returns the counts once every row is handed over.
pub(crate) fn produce(
    source: Box<dyn RowSource>,
    plan: Plan,
    tx: tokio::sync::mpsc::Sender<Chunk>,
    progress: impl Fn(LoadProgress),
) -> Result<LoadStats> {
    let validators = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    let header_len = source.header().len();
    let total_bytes = source.total_bytes();
    let bytes = AtomicU64::new(0);
    std::thread::scope(|s| {
        let (work_tx, work_rx) = sync_channel::<RawChunk>(validators * 2);
        let (done_tx, done_rx) = sync_channel::<Result<Validated>>(validators * 2);
        // Named, so `top -H` and a profiler tell the stages of a running load apart.
        let reader = std::thread::Builder::new()
            .name("pdp-load-read".into())
            .spawn_scoped(s, || read_chunks(source, work_tx, &bytes))
            .map_err(|e| LakeError::Io(format!("starting the loader's reader: {e}")))?;
        // The validators share the chunk receiver; when the last of them stops (the sequencer
        // gave up), the receiver goes with it and the reader's next send fails, so no thread
        // waits for ever.
        let work_rx = Arc::new(Mutex::new(work_rx));
        for _ in 0..validators {
            let work_rx = work_rx.clone();
            let done_tx = done_tx.clone();
            let plan = &plan;
            std::thread::Builder::new()
                .name("pdp-load-check".into())
                .spawn_scoped(s, move || validate_chunks(plan, header_len, work_rx, done_tx))
                .map_err(|e| LakeError::Io(format!("starting a validator of the load: {e}")))?;
        }
        drop((work_rx, done_tx));
        let mut seq = Sequencer::new(&plan, header_len, total_bytes, tx);
        let outcome = seq.run(done_rx, &bytes, &progress);
        let read = reader.join().map_err(|_| LakeError::Io("the loader's reader thread failed".into()))?;
        // A failure to read the file explains an early end better than anything after it.
        read?;
        let stats = outcome?;
        progress(LoadProgress {
            rows: stats.input_rows,
            bytes: bytes.load(Ordering::Relaxed),
            quarantined: stats.quarantined,
        });
        Ok(stats)
    })
}

/// The reader thread. Stops quietly when nobody takes its chunks any more.
fn read_chunks(mut source: Box<dyn RowSource>, tx: SyncSender<RawChunk>, bytes: &AtomicU64) -> Result<()> {
    let mut next_row = 1u64;
    let mut rows = RowBlock::default();
    for seq in 0.. {
        source.next_rows(&mut rows, CHUNK_ROWS)?;
        let bytes_end = source.bytes_read();
        bytes.store(bytes_end, Ordering::Relaxed);
        if rows.is_empty() {
            return Ok(());
        }
        let n = rows.len() as u64;
        let last = rows.len() < CHUNK_ROWS;
        let next = rows.empty_like();
        let full = std::mem::replace(&mut rows, next);
        if tx.send(RawChunk { seq, first_row: next_row, rows: full, bytes_end }).is_err() {
            return Ok(());
        }
        next_row += n;
        if last {
            return Ok(());
        }
    }
    Ok(())
}

/// Puts the cells of a row into `out` in the entry's field order, and says whether they could
/// be put in that order (a row with the wrong number of cells keeps its own order for the
/// quarantine).
fn ordered<'a>(cells: Cells<'a>, column_map: &[usize], header_len: usize, out: &mut Vec<&'a str>) -> bool {
    out.clear();
    if cells.len() == header_len {
        out.extend(column_map.iter().map(|&i| cells.get(i)));
        true
    } else {
        out.extend(cells.iter());
        false
    }
}

/// A validator thread.
fn validate_chunks(
    plan: &Plan,
    header_len: usize,
    rx: Arc<Mutex<Receiver<RawChunk>>>,
    tx: SyncSender<Result<Validated>>,
) {
    // A validator of its own (see `RowValidator`'s documentation): the same rules and
    // fingerprints, and pattern matchers that do not take turns with the other threads.
    let validator = plan.validator.clone();
    loop {
        // The lock is held only while waiting for the next chunk, never while validating.
        let chunk = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(chunk) = chunk else { return };
        if tx.send(validate(plan, &validator, header_len, chunk)).is_err() {
            return;
        }
    }
}

fn validate(plan: &Plan, validator: &RowValidator, header_len: usize, chunk: RawChunk) -> Result<Validated> {
    let mut builder = BatchBuilder::new(&plan.fields);
    let mut accepted = Vec::with_capacity(chunk.rows.len());
    let mut fingerprints = Vec::new();
    let mut refused = Vec::new();
    let mut stats = LoadStats::default();
    // Reused from row to row: a valid row allocates nothing here (text values borrow the
    // chunk's buffer until the batch builder copies them).
    let mut cells = Vec::with_capacity(plan.fields.len());
    let mut values = Vec::with_capacity(plan.fields.len());
    for i in 0..chunk.rows.len() {
        let row_no = chunk.first_row + i as u64;
        match chunk.rows.row(i) {
            RowRef::Unreadable { text, reason_zh, reason_en } => {
                let errors = vec![RowError {
                    field: String::new(),
                    rule: "format".into(),
                    message_zh: reason_zh.to_string(),
                    message_en: reason_en.to_string(),
                }];
                stats.count(&[], Some(&errors));
                refused.push(QuarantinedRow { row: row_no, cells: vec![text.to_string()], aligned: false, errors });
            }
            RowRef::Cells(row) => {
                let aligned = ordered(row, &plan.column_map, header_len, &mut cells);
                match validator.check_into(&cells, &mut values) {
                    Ok(()) => {
                        stats.count_accepted(&values);
                        if let Some(fp) = validator.fingerprint(&values) {
                            fingerprints.push(fp);
                        }
                        builder.push(&values);
                        accepted.push(i as u32);
                    }
                    Err(errors) => {
                        stats.count(&cells, Some(&errors));
                        refused.push(QuarantinedRow {
                            row: row_no,
                            cells: cells.iter().map(|s| s.to_string()).collect(),
                            aligned,
                            errors,
                        });
                    }
                }
            }
        }
    }
    let batch = if builder.len > 0 { Some(builder.finish(&plan.schema)?) } else { None };
    Ok(Validated {
        seq: chunk.seq,
        first_row: chunk.first_row,
        bytes_end: chunk.bytes_end,
        rows: chunk.rows,
        batch,
        accepted,
        fingerprints,
        refused,
        stats,
    })
}

/// A row held back until its key is decided.
struct Held {
    row: u64,
    fingerprint: u128,
    cells: Vec<String>,
    aligned: bool,
}

struct Sequencer<'p> {
    plan: &'p Plan,
    header_len: usize,
    tx: tokio::sync::mpsc::Sender<Chunk>,
    /// Made at the first chunk, sized from the row count it lets us estimate.
    keys: Option<KeySet>,
    total_bytes: Option<u64>,
    held: Vec<Held>,
    refused: Vec<QuarantinedRow>,
    stats: LoadStats,
}

impl<'p> Sequencer<'p> {
    fn new(plan: &'p Plan, header_len: usize, total_bytes: Option<u64>, tx: tokio::sync::mpsc::Sender<Chunk>) -> Self {
        Self {
            plan,
            header_len,
            tx,
            keys: None,
            total_bytes,
            held: vec![],
            refused: vec![],
            stats: LoadStats::default(),
        }
    }

    /// The load's key set, made at the first chunk: a file of known size and the bytes of its
    /// first chunk's rows estimate the row count (with a quarter to spare), so the key set's
    /// first Bloom filter holds every key and a new key costs one probe instead of one per
    /// filter. A wrong estimate only adds filters.
    fn key_set(&self, rows: usize, bytes_end: u64) -> Result<KeySet> {
        let expected = match self.total_bytes {
            Some(total) if bytes_end > 0 => {
                let rows = rows as u128 * u128::from(total) / u128::from(bytes_end);
                usize::try_from(rows + rows / 4).unwrap_or(usize::MAX)
            }
            _ => 0,
        };
        KeySet::with_capacity(expected).map_err(io)
    }

    fn send(&self, chunk: Chunk) -> Result<()> {
        self.tx.blocking_send(chunk).map_err(|_| LakeError::Io("the load was cancelled".into()))
    }

    fn send_accepted(&self, batch: RecordBatch) -> Result<()> {
        let keys = if self.plan.mode == LoadMode::Upsert {
            batch_keys(&batch, &self.plan.key_idx)?.iter().map(|k| self.plan.key_hash.of_parts([k])).collect()
        } else {
            vec![]
        };
        self.send(Chunk::Accepted(batch, keys))
    }

    /// Takes validated chunks in file order until the last one, or until an invalid row stops
    /// a load that refuses invalid input.
    fn run(
        &mut self,
        rx: Receiver<Result<Validated>>,
        bytes: &AtomicU64,
        progress: &impl Fn(LoadProgress),
    ) -> Result<LoadStats> {
        let mut waiting: BTreeMap<u64, Validated> = BTreeMap::new();
        let mut next = 0u64;
        let mut reported = 0u64;
        'chunks: for validated in rx {
            let validated = validated?;
            waiting.insert(validated.seq, validated);
            while let Some(chunk) = waiting.remove(&next) {
                next += 1;
                self.take(chunk)?;
                if self.stats.input_rows >= reported + 10_000 {
                    reported = self.stats.input_rows;
                    progress(LoadProgress {
                        rows: reported,
                        bytes: bytes.load(Ordering::Relaxed),
                        quarantined: self.stats.quarantined,
                    });
                }
                if self.plan.reject_invalid && self.stats.quarantined > 1000 {
                    break 'chunks;
                }
            }
        }
        self.decide_held()?;
        if !self.refused.is_empty() {
            let rows = std::mem::take(&mut self.refused);
            self.send(Chunk::Quarantined(rows))?;
        }
        Ok(std::mem::take(&mut self.stats))
    }

    fn take(&mut self, chunk: Validated) -> Result<()> {
        if self.keys.is_none() && !self.plan.key_idx.is_empty() {
            self.keys = Some(self.key_set(chunk.rows.len(), chunk.bytes_end)?);
        }
        self.stats.merge(&chunk.stats);
        self.refused.extend(chunk.refused);
        if let Some(batch) = chunk.batch {
            let mut keep: Option<Vec<bool>> = None;
            if let Some(keys) = self.keys.as_mut() {
                for (j, &fp) in chunk.fingerprints.iter().enumerate() {
                    if let Some(&ahead) = chunk.fingerprints.get(j + PREFETCH_KEYS) {
                        keys.prefetch(ahead);
                    }
                    if keys.insert_new(fp).map_err(io)? == Seen::Maybe {
                        let i = chunk.accepted[j] as usize;
                        let RowRef::Cells(row) = chunk.rows.row(i) else {
                            return Err(LakeError::Io("an accepted row has no cells".into()));
                        };
                        let mut cells = Vec::new();
                        let aligned = ordered(row, &self.plan.column_map, self.header_len, &mut cells);
                        self.held.push(Held {
                            row: chunk.first_row + i as u64,
                            fingerprint: fp,
                            cells: cells.iter().map(|s| s.to_string()).collect(),
                            aligned,
                        });
                        keep.get_or_insert_with(|| vec![true; batch.num_rows()])[j] = false;
                    }
                }
            }
            let batch = match keep {
                Some(mask) => datafusion::arrow::compute::filter_record_batch(&batch, &BooleanArray::from(mask))?,
                None => batch,
            };
            if batch.num_rows() > 0 {
                self.send_accepted(batch)?;
            }
        }
        if self.held.len() >= HOLD_ROWS {
            self.decide_held()?;
        }
        if self.refused.len() >= QUARANTINE_ROWS {
            let rows = std::mem::take(&mut self.refused);
            self.send(Chunk::Quarantined(rows))?;
        }
        Ok(())
    }

    /// Decides every held row, in row order: a duplicate when its key was accepted before
    /// (the key log says so, or an earlier held row was just accepted with it), else accepted.
    fn decide_held(&mut self) -> Result<()> {
        let Some(keys) = self.keys.as_mut() else { return Ok(()) };
        if self.held.is_empty() {
            return Ok(());
        }
        let asked: HashSet<u128> = self.held.iter().map(|h| h.fingerprint).collect();
        let logged = keys.logged_among(&asked).map_err(io)?;
        let mut round = HashSet::new();
        let mut builder = BatchBuilder::new(&self.plan.fields);
        let mut batches = Vec::new();
        for h in std::mem::take(&mut self.held) {
            let cells: Vec<&str> = h.cells.iter().map(String::as_str).collect();
            // The row passed these checks on a validator thread, and they depend on nothing
            // but the row.
            let values = self
                .plan
                .validator
                .check(&cells)
                .map_err(|_| LakeError::Io("a held row changed its validity".into()))?;
            // A held row whose key an earlier held row of this round was just accepted with is
            // a duplicate too; `round` knows those keys without another read of the log.
            if logged.contains(&h.fingerprint) || !round.insert(h.fingerprint) {
                self.stats.refuse_duplicate();
                let errors = vec![self.plan.validator.duplicate_error(&values)];
                self.refused.push(QuarantinedRow { row: h.row, cells: h.cells, aligned: h.aligned, errors });
            } else {
                keys.insert(h.fingerprint).map_err(io)?;
                builder.push(&values);
                if builder.len >= CHUNK_ROWS {
                    batches.push(builder.finish(&self.plan.schema)?);
                }
            }
        }
        if builder.len > 0 {
            batches.push(builder.finish(&self.plan.schema)?);
        }
        for batch in batches {
            self.send_accepted(batch)?;
        }
        Ok(())
    }
}

fn io(e: std::io::Error) -> LakeError {
    LakeError::Io(format!("key set of the load: {e}"))
}

enum ColumnBuilder {
    Text(StringBuilder),
    Int(Int64Builder),
    Decimal(Float64Builder),
    Date(Date32Builder),
    DateTime(TimestampMicrosecondBuilder),
    Bool(BooleanBuilder),
    Binary(BinaryBuilder),
}

/// Accepted rows of one chunk, column by column.
pub(crate) struct BatchBuilder {
    columns: Vec<ColumnBuilder>,
    len: usize,
}

impl BatchBuilder {
    pub(crate) fn new(fields: &[Field]) -> Self {
        let columns = fields
            .iter()
            .map(|f| match f.data_type {
                DataType::Text => ColumnBuilder::Text(StringBuilder::new()),
                DataType::Integer => ColumnBuilder::Int(Int64Builder::new()),
                DataType::Decimal => ColumnBuilder::Decimal(Float64Builder::new()),
                DataType::Date => ColumnBuilder::Date(Date32Builder::new()),
                DataType::DateTime => ColumnBuilder::DateTime(TimestampMicrosecondBuilder::new().with_timezone("UTC")),
                DataType::Boolean => ColumnBuilder::Bool(BooleanBuilder::new()),
                DataType::Binary => ColumnBuilder::Binary(BinaryBuilder::new()),
            })
            .collect();
        Self { columns, len: 0 }
    }

    /// Appends one validated row; the validator guarantees each value matches its field type.
    pub(crate) fn push(&mut self, values: &[Value]) {
        for (b, v) in self.columns.iter_mut().zip(values) {
            match (b, v) {
                (ColumnBuilder::Text(b), Value::Text(s)) => b.append_value(s.as_ref()),
                (ColumnBuilder::Int(b), Value::Int(i)) => b.append_value(*i),
                (ColumnBuilder::Decimal(b), Value::Decimal(d)) => b.append_value(*d),
                (ColumnBuilder::Date(b), Value::Date(d)) => b.append_value(*d),
                (ColumnBuilder::DateTime(b), Value::DateTime(t)) => b.append_value(*t),
                (ColumnBuilder::Bool(b), Value::Bool(x)) => b.append_value(*x),
                (ColumnBuilder::Binary(b), Value::Binary(x)) => b.append_value(x),
                (ColumnBuilder::Text(b), _) => b.append_null(),
                (ColumnBuilder::Int(b), _) => b.append_null(),
                (ColumnBuilder::Decimal(b), _) => b.append_null(),
                (ColumnBuilder::Date(b), _) => b.append_null(),
                (ColumnBuilder::DateTime(b), _) => b.append_null(),
                (ColumnBuilder::Bool(b), _) => b.append_null(),
                (ColumnBuilder::Binary(b), _) => b.append_null(),
            }
        }
        self.len += 1;
    }

    pub(crate) fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    ColumnBuilder::Text(b) => Arc::new(b.finish()),
                    ColumnBuilder::Int(b) => Arc::new(b.finish()),
                    ColumnBuilder::Decimal(b) => Arc::new(b.finish()),
                    ColumnBuilder::Date(b) => Arc::new(b.finish()),
                    ColumnBuilder::DateTime(b) => Arc::new(b.finish()),
                    ColumnBuilder::Bool(b) => Arc::new(b.finish()),
                    ColumnBuilder::Binary(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.len = 0;
        Ok(RecordBatch::try_new(schema.clone(), arrays)?)
    }
}
