//! The data files of one lane of a load: Parquet written straight into a local table's
//! directory, or through deltalake's writer for tables in object storage (R-AGG-01, R-AGG-02).
//!
//! deltalake's `RecordBatchWriter` encodes each file into an in-memory buffer that the
//! Parquet writer hands over and replaces once per row group, so every row group's bytes are
//! copied again while that fresh buffer grows by doubling (onto pages the kernel must zero
//! first), and then handed to the object store's multipart upload, which for a local table
//! writes them to a staging file. It also cuts every batch into slices of 1 024 rows to check
//! the file's size between them. On the 10M-row benchmark that buffering was about a fifth of
//! the load's CPU (`memmove` and `clear_page` in the profile). For a table on the local disk,
//! which is the default lake, [`DataFiles`] therefore writes each file with Parquet's own
//! `ArrowWriter` directly into the table's directory and builds the Delta `Add` action itself,
//! with the same statistics deltalake writes (see [`stats`]); deltalake keeps that part of its
//! writer private. Tables elsewhere (`s3://`, `memory://`) keep deltalake's writer.
//!
//! A file in the table's directory that no commit names is not part of the table: readers see
//! only the files the log adds. A lane that is dropped before it finished (the load gave up)
//! removes the files it wrote; a process killed mid-load leaves them for `VACUUM`, as
//! deltalake's own writer leaves the uploads it completed.

use std::fs::File;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use deltalake::DeltaTable;
use deltalake::kernel::Add;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};

use crate::keyfile::{self, KeyFileWriter};
use crate::{LakeError, Result};

/// One lane's writer of data files.
pub(crate) enum DataFiles {
    /// Straight into the directory of a table on the local disk.
    Local(Box<LocalFiles>),
    /// Through deltalake's writer and the table's object store.
    Store(Box<RecordBatchWriter>),
}

impl DataFiles {
    /// A writer of new data files for `table`, rolling to a new file past `target_bytes`.
    /// `schema` is the table's, which every batch written has. Each local file gets its key
    /// file ([`crate::keyfile`]) indexing the columns `keys`; files in object storage get theirs
    /// on their first lookup.
    pub(crate) fn for_table(
        table: &DeltaTable,
        schema: SchemaRef,
        props: WriterProperties,
        target_bytes: u64,
        keys: &[String],
    ) -> Result<Self> {
        let url = table.table_url();
        if url.scheme() == "file"
            && let Ok(dir) = url.to_file_path()
        {
            return Ok(Self::Local(Box::new(LocalFiles::new(dir, schema, props, target_bytes, keys.to_vec()))));
        }
        Ok(Self::Store(Box::new(
            RecordBatchWriter::for_table(table)?.with_writer_properties(props).with_target_file_size(target_bytes),
        )))
    }

    pub(crate) async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        match self {
            Self::Local(files) => files.write(&batch),
            Self::Store(writer) => Ok(writer.write(batch).await?),
        }
    }

    /// Closes the open file and returns the `Add` actions of every file written.
    pub(crate) async fn finish(self) -> Result<Vec<Add>> {
        match self {
            Self::Local(files) => files.finish(),
            Self::Store(mut writer) => Ok(writer.flush().await?),
        }
    }
}

/// Parquet files written into a local table's directory, one at a time.
pub(crate) struct LocalFiles {
    dir: PathBuf,
    schema: SchemaRef,
    props: WriterProperties,
    target_bytes: u64,
    /// Names the files of this writer (deltalake names files the same way).
    id: uuid::Uuid,
    /// The columns the files' key files index.
    keys: Vec<String>,
    /// The open file, with its key file unless no column is indexed.
    open: Option<(String, ArrowWriter<File>, Option<KeyFileWriter>)>,
    /// Finished files, with their actions.
    done: Vec<Add>,
    /// Whether the caller took the actions; until then every file is removed on drop.
    finished: bool,
}

impl LocalFiles {
    fn new(dir: PathBuf, schema: SchemaRef, props: WriterProperties, target_bytes: u64, keys: Vec<String>) -> Self {
        Self {
            dir,
            schema,
            props,
            target_bytes,
            id: uuid::Uuid::new_v4(),
            keys,
            open: None,
            done: Vec::new(),
            finished: false,
        }
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        // A batch is cut where a row group ends, so the file can roll there.
        let mut rest = batch.clone();
        while rest.num_rows() > 0 {
            let buffered = self.open.as_ref().map_or(0, |(_, w, _)| w.in_progress_rows());
            let room = self.props.max_row_group_row_count().map_or(usize::MAX, |max| max - buffered.min(max));
            let take = room.max(1).min(rest.num_rows());
            self.write_part(&rest.slice(0, take))?;
            rest = rest.slice(take, rest.num_rows() - take);
        }
        Ok(())
    }

    fn write_part(&mut self, batch: &RecordBatch) -> Result<()> {
        if self.open.is_none() {
            // Named after the first column's codec; a load uses one codec for all columns.
            let first = self.schema.fields().first().map_or("", |f| f.name().as_str());
            let suffix = match self.props.compression(&first.into()) {
                Compression::SNAPPY => ".snappy",
                _ => "",
            };
            let name = format!("part-{:05}-{}-c000{suffix}.parquet", self.done.len(), self.id);
            let file = File::create(self.dir.join(&name)).map_err(|e| LakeError::Io(format!("{name}: {e}")))?;
            let writer = ArrowWriter::try_new(file, self.schema.clone(), Some(self.props.clone()))?;
            let keys = match self.keys.is_empty() {
                true => None,
                false => Some(KeyFileWriter::create(keyfile::path_for(&self.dir, &name), &self.schema, &self.keys)?),
            };
            self.open = Some((name, writer, keys));
        }
        let (_, writer, keys) = self.open.as_mut().expect("a file is open");
        writer.write(batch)?;
        if let Some(keys) = keys {
            keys.write(batch)?;
        }
        // Files roll only between row groups, so a row group is never split across files.
        if writer.in_progress_rows() == 0 && writer.bytes_written() as u64 >= self.target_bytes {
            self.close_open()?;
        }
        Ok(())
    }

    fn close_open(&mut self) -> Result<()> {
        let Some((name, writer, keys)) = self.open.take() else { return Ok(()) };
        // Recorded before closing, so a failed close still removes the file on drop.
        self.done.push(Add { path: name.clone(), ..Default::default() });
        let metadata = writer.close()?;
        if let Some(keys) = keys {
            keys.finish()?;
        }
        let size = std::fs::metadata(self.dir.join(&name)).map_err(|e| LakeError::Io(format!("{name}: {e}")))?.len();
        let modified = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let add = self.done.last_mut().expect("just pushed");
        add.size = size as i64;
        add.modification_time = modified;
        add.data_change = true;
        add.stats = Some(stats::of_file(&self.schema, &metadata)?);
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<Add>> {
        self.close_open()?;
        self.finished = true;
        Ok(std::mem::take(&mut self.done))
    }
}

impl Drop for LocalFiles {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Nothing will commit these files. Removing them is a courtesy to the disk, not a
        // matter of correctness: files the log does not name are not part of the table.
        let open = self.open.take().map(|(name, _, _)| name);
        for name in self.done.iter().map(|a| a.path.clone()).chain(open) {
            let _ = std::fs::remove_file(self.dir.join(&name));
            let _ = std::fs::remove_file(keyfile::path_for(&self.dir, &name));
        }
    }
}

/// The statistics of a data file's `Add` action, as deltalake writes them (its
/// `writer/stats.rs`): `numRecords`, and per top-level column (the first 32, Delta's default
/// `dataSkippingNumIndexedCols`) the null count and the least and greatest value over the
/// file's row groups. A column a row group has no statistics for gets none at all, so readers
/// never prune on a partial range.
pub(crate) mod stats {
    use std::collections::HashMap;

    use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
    use datafusion::parquet::file::metadata::ParquetMetaData;
    use datafusion::parquet::file::statistics::Statistics;
    use deltalake::protocol::{ColumnCountStat, ColumnValueStat, Stats};
    use serde_json::Value;

    use crate::{LakeError, Result};

    /// Delta's default number of columns with statistics.
    const INDEXED_COLUMNS: usize = 32;

    /// A least or greatest value, comparable within its column's type.
    #[derive(Debug, Clone, PartialEq, PartialOrd)]
    enum Scalar {
        Bool(bool),
        Long(i64),
        Double(f64),
        /// Days since 1970-01-01.
        Date(i32),
        /// Microseconds since the epoch, UTC.
        Micros(i64),
        Text(String),
    }

    impl Scalar {
        /// A row group's least (`min`) or greatest value: `Ok(None)` when it has none (all its
        /// values are null), an error when the value cannot be written as Delta's statistics
        /// (an infinite double, text cut inside a character), so the column gets no range.
        fn of(stats: &Statistics, ty: &DataType, min: bool) -> std::result::Result<Option<Self>, ()> {
            fn pick<T>(min: bool, lo: Option<T>, hi: Option<T>) -> Option<T> {
                if min { lo } else { hi }
            }
            Ok(match (stats, ty) {
                (Statistics::Boolean(s), DataType::Boolean) => {
                    pick(min, s.min_opt(), s.max_opt()).map(|v| Self::Bool(*v))
                }
                (Statistics::Int64(s), DataType::Int64) => pick(min, s.min_opt(), s.max_opt()).map(|v| Self::Long(*v)),
                (Statistics::Int64(s), DataType::Timestamp(TimeUnit::Microsecond, _)) => {
                    pick(min, s.min_opt(), s.max_opt()).map(|v| Self::Micros(*v))
                }
                (Statistics::Int32(s), DataType::Date32) => pick(min, s.min_opt(), s.max_opt()).map(|v| Self::Date(*v)),
                (Statistics::Double(s), DataType::Float64) => match pick(min, s.min_opt(), s.max_opt()) {
                    Some(v) if !v.is_finite() => return Err(()),
                    v => v.map(|v| Self::Double(*v)),
                },
                (Statistics::ByteArray(s), DataType::Utf8) => match pick(min, s.min_bytes_opt(), s.max_bytes_opt()) {
                    Some(b) => Some(Self::Text(std::str::from_utf8(b).map_err(|_| ())?.to_string())),
                    None => None,
                },
                _ => return Err(()),
            })
        }

        /// The value as Delta's statistics write it. Timestamps have milliseconds; a greatest
        /// one is rounded up to the next millisecond so it stays an upper bound.
        fn json(self, min: bool) -> Option<Value> {
            Some(match self {
                Self::Bool(v) => Value::Bool(v),
                Self::Long(v) => Value::from(v),
                Self::Double(v) => Value::from(v),
                Self::Date(days) => {
                    let date = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?
                        .checked_add_signed(chrono::Duration::days(days.into()))?;
                    Value::from(date.format("%Y-%m-%d").to_string())
                }
                Self::Micros(us) => Value::from(json_of_micros(us, min)?),
                Self::Text(v) => Value::from(v),
            })
        }
    }

    /// A timestamp's bound with milliseconds, as Delta's statistics have them.
    pub(super) fn json_of_micros(us: i64, min: bool) -> Option<String> {
        let ms = us.div_euclid(1000) + i64::from(!min && us.rem_euclid(1000) != 0);
        let t = chrono::DateTime::from_timestamp_millis(ms)?.naive_utc();
        let format = if ms % 1000 == 0 { "%Y-%m-%dT%H:%M:%SZ" } else { "%Y-%m-%dT%H:%M:%S%.3fZ" };
        Some(t.format(format).to_string())
    }

    /// The `stats` JSON of a file of `schema` with this footer.
    pub(crate) fn of_file(schema: &SchemaRef, metadata: &ParquetMetaData) -> Result<String> {
        let mut stats = Stats {
            num_records: metadata.file_metadata().num_rows(),
            min_values: HashMap::new(),
            max_values: HashMap::new(),
            null_count: HashMap::new(),
        };
        // A flat schema has one Parquet leaf column per field, in order.
        let flat = metadata.file_metadata().schema_descr().num_columns() == schema.fields().len();
        let groups = metadata.row_groups();
        if flat && !groups.is_empty() {
            for (i, field) in schema.fields().iter().enumerate().take(INDEXED_COLUMNS) {
                // Binary values get no statistics, as in deltalake.
                if matches!(field.data_type(), DataType::Binary) {
                    continue;
                }
                let per_group: Option<Vec<&Statistics>> = groups.iter().map(|g| g.column(i).statistics()).collect();
                let Some(per_group) = per_group else { continue };
                let nulls: Option<u64> = per_group.iter().map(|s| s.null_count_opt()).sum();
                if let Some(nulls) = nulls {
                    stats.null_count.insert(field.name().clone(), ColumnCountStat::Value(nulls as i64));
                }
                for (min, out) in [(true, &mut stats.min_values), (false, &mut stats.max_values)] {
                    // Row groups without a value (all null) do not bound the range.
                    let values: std::result::Result<Vec<Option<Scalar>>, ()> =
                        per_group.iter().map(|s| Scalar::of(s, field.data_type(), min)).collect();
                    let best = values.ok().and_then(|v| {
                        v.into_iter().flatten().reduce(|a, b| {
                            let a_first = matches!(a.partial_cmp(&b), Some(std::cmp::Ordering::Less)) == min;
                            if a_first { a } else { b }
                        })
                    });
                    if let Some(value) = best.and_then(|b| b.json(min)) {
                        out.insert(field.name().clone(), ColumnValueStat::Value(value));
                    }
                }
            }
        }
        serde_json::to_string(&stats).map_err(|e| LakeError::Io(format!("statistics: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        ArrayRef, BinaryArray, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray,
        TimestampMicrosecondArray,
    };
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use deltalake::kernel::{DataType as D, PrimitiveType as P, StructField};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
            Field::new("x", DataType::Float64, true),
            Field::new("day", DataType::Date32, true),
            Field::new("at", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), true),
            Field::new("ok", DataType::Boolean, true),
            Field::new("raw", DataType::Binary, true),
            Field::new("empty", DataType::Utf8, true),
        ]))
    }

    async fn table(dir: &std::path::Path) -> DeltaTable {
        let field = |name: &str, ty: P| StructField::new(name, D::Primitive(ty), true);
        DeltaTable::try_from_url(url::Url::from_directory_path(dir).expect("absolute path"))
            .await
            .expect("table url")
            .create()
            .with_columns([
                field("name", P::String),
                field("n", P::Long),
                field("x", P::Double),
                field("day", P::Date),
                field("at", P::Timestamp),
                field("ok", P::Boolean),
                field("raw", P::Binary),
                field("empty", P::String),
            ])
            .await
            .expect("create the table")
    }

    /// Rows `range`: every column but `empty` has values and a few nulls; timestamps are whole
    /// milliseconds, which deltalake's statistics keep exactly.
    fn batch(range: std::ops::Range<i64>) -> RecordBatch {
        let some = |i: i64| i % 7 != 3;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter(
                range.clone().map(|i| some(i).then(|| format!("名{:04}", (i * 37) % 1000))),
            )),
            Arc::new(Int64Array::from_iter(range.clone().map(|i| some(i).then_some(500 - i * 3)))),
            Arc::new(Float64Array::from_iter(range.clone().map(|i| some(i).then_some(i as f64 / 4.0 - 7.5)))),
            Arc::new(Date32Array::from_iter(range.clone().map(|i| some(i).then_some(19_000 + (i * 11) as i32 % 400)))),
            Arc::new(
                TimestampMicrosecondArray::from_iter(
                    range.clone().map(|i| some(i).then_some(1_700_000_000_000_000 + i * 61_000_000 + (i % 5) * 1000)),
                )
                .with_timezone("UTC"),
            ),
            Arc::new(BooleanArray::from_iter(range.clone().map(|i| some(i).then_some(i % 2 == 0)))),
            Arc::new(BinaryArray::from_iter(range.clone().map(|i| some(i).then(|| i.to_le_bytes().to_vec())))),
            Arc::new(StringArray::from_iter(range.map(|_| None::<String>))),
        ];
        RecordBatch::try_new(schema(), columns).expect("batch")
    }

    fn stats_json(add: &Add) -> serde_json::Value {
        serde_json::from_str(add.stats.as_deref().expect("the action has statistics")).expect("statistics JSON")
    }

    /// covers: R-AGG-01 (a load's files written straight into the table carry the same Delta
    /// statistics as deltalake's own writer gives them, so readers prune and count alike)
    #[tokio::test]
    async fn local_files_have_the_statistics_deltalakes_writer_gives() {
        let dir = tempfile::tempdir().expect("tempdir");
        let table = table(dir.path()).await;
        let props = WriterProperties::builder().set_max_row_group_row_count(Some(40)).build();
        let mut ours = DataFiles::for_table(&table, schema(), props.clone(), u64::MAX, &[]).expect("writer");
        assert!(matches!(ours, DataFiles::Local(_)), "a file:// table is written directly");
        let mut theirs = DataFiles::Store(Box::new(
            RecordBatchWriter::for_table(&table).expect("writer").with_writer_properties(props),
        ));
        for range in [0..33, 33..100, 100..101] {
            ours.write(batch(range.clone())).await.expect("write");
            theirs.write(batch(range)).await.expect("write");
        }
        let ours = ours.finish().await.expect("finish");
        let theirs = theirs.finish().await.expect("finish");
        assert_eq!((ours.len(), theirs.len()), (1, 1));
        let (a, b) = (stats_json(&ours[0]), stats_json(&theirs[0]));
        assert_eq!(a, b, "the same statistics");
        assert_eq!(a["numRecords"], 101);
        assert_eq!(a["nullCount"]["empty"], 101);
        assert!(a["minValues"].get("raw").is_none() && a["minValues"].get("empty").is_none());
        // The file is a complete Parquet file of the table's rows, of the size the action says.
        let path = dir.path().join(&ours[0].path);
        assert_eq!(std::fs::metadata(&path).expect("file").len() as i64, ours[0].size);
        let reader = datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            File::open(&path).expect("file"),
        )
        .expect("parquet");
        assert_eq!(reader.metadata().file_metadata().num_rows(), 101);
        assert_eq!(reader.metadata().num_row_groups(), 3, "row groups of 40 rows");
    }

    /// covers: R-AGG-01 (files roll only between row groups; a lane given up removes its files)
    #[tokio::test]
    async fn files_roll_between_row_groups_and_a_dropped_writer_removes_its_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let table = table(dir.path()).await;
        let props = WriterProperties::builder().set_max_row_group_row_count(Some(30)).build();
        let parquet_files = || {
            std::fs::read_dir(dir.path())
                .expect("table dir")
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().ends_with(".parquet"))
                .count()
        };
        // Any finished row group passes a one-byte target, so every row group is a file.
        let mut files = DataFiles::for_table(&table, schema(), props.clone(), 1, &[]).expect("writer");
        files.write(batch(0..75)).await.expect("write");
        let adds = files.finish().await.expect("finish");
        let rows: Vec<i64> = adds.iter().map(|a| stats_json(a)["numRecords"].as_i64().expect("rows")).collect();
        assert_eq!(rows, vec![30, 30, 15]);
        assert_eq!(parquet_files(), 3);

        let mut given_up = DataFiles::for_table(&table, schema(), props, 1, &[]).expect("writer");
        given_up.write(batch(0..45)).await.expect("write");
        assert_eq!(parquet_files(), 5, "one finished file and one open");
        drop(given_up);
        assert_eq!(parquet_files(), 3, "only the finished writer's files are left");
    }

    /// covers: R-AGG-01 (a greatest timestamp is rounded up to the millisecond, so it stays an
    /// upper bound)
    #[test]
    fn timestamps_keep_their_bounds_in_milliseconds() {
        let us = 1_700_000_000_123_456;
        assert_eq!(stats::json_of_micros(us, true).as_deref(), Some("2023-11-14T22:13:20.123Z"));
        assert_eq!(stats::json_of_micros(us, false).as_deref(), Some("2023-11-14T22:13:20.124Z"));
        assert_eq!(stats::json_of_micros(1_700_000_000_000_000, false).as_deref(), Some("2023-11-14T22:13:20Z"));
    }
}
