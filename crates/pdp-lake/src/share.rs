//! Reads that serve grants (R-SHR-04): a projection of chosen columns under row filters, as a
//! page, as a stream of batches for bulk delivery, or aggregated by dimensions for statistics.
//!
//! For the Delta Sharing protocol, [`Lake::write_selection`] writes a selection, passed row by
//! row through the caller's masking, to a Parquet file of its own: the files a grant serves are
//! never the raw table files.
//!
//! This module only selects; masking and the small-cell rule are the caller's, applied to
//! what comes out, so the rules live in one place (`pdp_domain::sharing`). The selections are
//! built as DataFusion expressions, never as SQL text, so values from a grant or a caller can
//! never change the query's shape.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field as ArrowField, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::Column;
use datafusion::functions_aggregate::count::count_all;
use datafusion::functions_aggregate::expr_fn::{avg, sum};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::metadata::KeyValue;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::{DataFrame, Expr, SessionContext, cast, col, lit};
use futures::StreamExt;

use crate::{Lake, LakeError, Result, RowPage, batch_rows};

/// Rows pass when `column` matches one of `values` as `matching` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnFilter {
    pub column: String,
    pub matching: Match,
    pub values: Vec<String>,
}

/// How a [`ColumnFilter`] compares its column with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The column equals the value, compared in the column's type.
    Equals,
    /// The column's text starts with the value (an area code is a prefix of an ID number).
    Prefix,
    /// The column's text, from its character `n` (counted from 0), starts with the value: the
    /// division code inside a unified social credit code starts at its third character.
    PrefixAt(usize),
    /// The column's text without the spaces around it equals the value.
    TrimmedText,
}

impl ColumnFilter {
    /// Whether a text value passes, as the query built from the filter decides (the key
    /// index's lookups decide on the rows they find without a query).
    pub fn admits_text(&self, v: &str) -> bool {
        self.values.iter().any(|want| match self.matching {
            Match::Equals => v == want,
            Match::Prefix => v.starts_with(want.as_str()),
            Match::PrefixAt(n) => v.char_indices().nth(n).is_some_and(|(i, _)| v[i..].starts_with(want.as_str())),
            Match::TrimmedText => v.trim_matches(' ') == want,
        })
    }

    /// The filter as an expression over a column of `data_type`.
    fn expr(&self, data_type: &DataType) -> Expr {
        let c = column(&self.column);
        let text = || cast(c.clone(), DataType::Utf8);
        let mut pass: Option<Expr> = None;
        for v in &self.values {
            let one = match self.matching {
                Match::Equals => c.clone().eq(cast(lit(v.clone()), data_type.clone())),
                Match::Prefix => datafusion::prelude::starts_with(text(), lit(v.clone())),
                Match::PrefixAt(n) => datafusion::prelude::starts_with(
                    datafusion::prelude::substr(text(), lit(n as i64 + 1)),
                    lit(v.clone()),
                ),
                Match::TrimmedText => datafusion::prelude::btrim(vec![text()]).eq(lit(v.clone())),
            };
            pass = Some(match pass {
                Some(p) => p.or(one),
                None => one,
            });
        }
        // A filter without values admits nothing (deny unless granted).
        pass.unwrap_or(lit(false))
    }
}

/// Which columns of which rows, in which order.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub columns: Vec<String>,
    /// Every filter must pass.
    pub filters: Vec<ColumnFilter>,
    /// A column of the selection to order a page by; pages of an unordered selection come in
    /// the table's order.
    pub order_by: Option<String>,
}

/// An aggregate beside the count of a statistics query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Sum,
    Avg,
}

pub(crate) fn column(name: &str) -> Expr {
    col(Column::new_unqualified(name))
}

impl Lake {
    /// The latest version of `dataset` with the filters applied, all columns.
    async fn filtered(&self, dataset: &str, filters: &[ColumnFilter]) -> Result<DataFrame> {
        Self::filtered_table(self.table_at(dataset, None).await?, filters).await
    }

    /// One opened version of a table with the filters applied, all columns.
    async fn filtered_table(table: deltalake::DeltaTable, filters: &[ColumnFilter]) -> Result<DataFrame> {
        Self::filtered_table_in(SessionContext::new(), table, filters).await
    }

    /// [`Lake::filtered_table`] in a session of the caller's configuration.
    async fn filtered_table_in(
        ctx: SessionContext,
        table: deltalake::DeltaTable,
        filters: &[ColumnFilter],
    ) -> Result<DataFrame> {
        table.update_datafusion_session(&ctx.state())?;
        let mut df = ctx.read_table(table.table_provider().await?)?;
        for f in filters {
            let field = df
                .schema()
                .field_with_unqualified_name(&f.column)
                .map_err(|e| LakeError::Query(e.to_string()))?
                .clone();
            df = df.filter(f.expr(field.data_type()))?;
        }
        Ok(df)
    }

    fn project(df: DataFrame, columns: &[String]) -> Result<DataFrame> {
        let names: Vec<&str> = columns.iter().map(String::as_str).collect();
        Ok(df.select_columns(&names)?)
    }

    /// A page of the selection; `key` narrows it to rows whose column equals the value.
    pub async fn select_rows(
        &self,
        dataset: &str,
        sel: &Selection,
        key: Option<(&str, &str)>,
        offset: usize,
        limit: usize,
    ) -> Result<RowPage> {
        Ok(self.select_rows_versioned(dataset, sel, key, offset, limit).await?.1)
    }

    /// [`Lake::select_rows`] with the table version the rows were read from, for answers that
    /// must name their source version (electronic documents).
    pub async fn select_rows_versioned(
        &self,
        dataset: &str,
        sel: &Selection,
        key: Option<(&str, &str)>,
        offset: usize,
        limit: usize,
    ) -> Result<(u64, RowPage)> {
        crate::page_fits(offset, limit)?;
        if let Some(k) = key
            && let Some(found) = self.lookup(dataset, None, sel, k, offset, limit).await?
        {
            return Ok(found);
        }
        let mut filters = sel.filters.clone();
        if let Some((c, v)) = key {
            filters.push(ColumnFilter { column: c.to_string(), matching: Match::Equals, values: vec![v.to_string()] });
        }
        let table = self.table_at(dataset, None).await?;
        let version = table.version().unwrap_or(0) as u64;
        let mut df = Self::project(Self::filtered_table(table, &filters).await?, &sel.columns)?;
        let total = df.clone().count().await? as u64;
        if let Some(o) = &sel.order_by {
            df = df.sort(vec![column(o).sort(true, true)])?;
        }
        let batches = df.limit(offset, Some(limit))?.collect().await?;
        let mut rows = Vec::new();
        for b in &batches {
            rows.extend(batch_rows(b)?);
        }
        Ok((version, RowPage { columns: sel.columns.clone(), rows, total }))
    }

    /// The whole selection as a stream of record batches: memory stays bounded by the batch
    /// size, whatever the table's size.
    pub async fn select_stream(&self, dataset: &str, sel: &Selection) -> Result<SendableRecordBatchStream> {
        self.select_stream_at(dataset, None, sel).await
    }

    /// [`Lake::select_stream`] of one version (`None`: the latest).
    pub async fn select_stream_at(
        &self,
        dataset: &str,
        version: Option<u64>,
        sel: &Selection,
    ) -> Result<SendableRecordBatchStream> {
        // One partition: an export is consumed by one writer at the pace of the client, and
        // every extra partition would read ahead a row group of its own into memory. The
        // masking, not the scan, is the export's CPU cost.
        let config = datafusion::prelude::SessionConfig::new().with_target_partitions(1);
        let table = self.table_at(dataset, version).await?;
        let df = Self::filtered_table_in(SessionContext::new_with_config(config), table, &sel.filters).await?;
        Ok(Self::project(df, &sel.columns)?.execute_stream().await?)
    }

    /// Counts (and optionally sums or averages `measure`'s column) of the filtered rows by the
    /// `group_by` columns. The columns of the result: the dimensions, `count`, then `value`.
    pub async fn aggregate(
        &self,
        dataset: &str,
        filters: &[ColumnFilter],
        group_by: &[String],
        measure: Option<(Measure, &str)>,
        max_cells: usize,
    ) -> Result<RowPage> {
        let df = self.filtered(dataset, filters).await?;
        let groups: Vec<Expr> = group_by.iter().map(|g| column(g)).collect();
        let mut aggs = vec![count_all().alias("count")];
        if let Some((m, c)) = measure {
            let e = match m {
                Measure::Sum => sum(column(c)),
                Measure::Avg => avg(column(c)),
            };
            aggs.push(e.alias("value"));
        }
        let sort: Vec<_> = group_by.iter().map(|g| column(g).sort(true, true)).collect();
        let mut df = df.aggregate(groups, aggs)?;
        if !sort.is_empty() {
            df = df.sort(sort)?;
        }
        // At most `max_cells` groups are collected, however fine the grouping.
        let df = df.limit(0, Some(max_cells))?;
        let columns = df.schema().fields().iter().map(|f| f.name().clone()).collect();
        let batches = df.collect().await?;
        let mut rows = Vec::new();
        for b in &batches {
            rows.extend(batch_rows(b)?);
        }
        let total = rows.len() as u64;
        Ok(RowPage { columns, rows, total })
    }

    /// How many rows of the latest version of `dataset` pass every filter.
    pub async fn count_rows(&self, dataset: &str, filters: &[ColumnFilter]) -> Result<u64> {
        Ok(self.filtered(dataset, filters).await?.count().await? as u64)
    }

    /// The version of the latest commit of `dataset`.
    pub async fn latest_version(&self, dataset: &str) -> Result<u64> {
        let t = self.table_at(dataset, None).await?;
        t.version().ok_or(LakeError::Empty)
    }

    /// Writes the selection of `version` to a Parquet file at `path`, every row passed through `protect`
    /// (which returns the values to publish, in `sel.columns` order). Every column is written
    /// as nullable text, because a masked value is text whatever the field's type; no column
    /// statistics are written, so no minimum or maximum of a sensitive field leaks through the
    /// file's footer. The file appears atomically (written beside `path`, then renamed), and
    /// memory stays bounded by one batch and one row group.
    #[allow(clippy::too_many_arguments)]
    pub async fn write_selection<F>(
        &self,
        dataset: &str,
        version: u64,
        sel: &Selection,
        columns: &[String],
        path: &Path,
        metadata: &[(String, String)],
        protect: F,
    ) -> Result<WrittenFile>
    where
        F: Fn(Vec<Option<String>>) -> Vec<Option<String>>,
    {
        let mut stream = self.select_stream_at(dataset, Some(version), sel).await?;
        let mut out = TextFileWriter::create(path, columns, metadata)?;
        let written: Result<()> = async {
            while let Some(batch) = stream.next().await {
                out.write_rows(batch_rows(&batch?)?.into_iter().map(&protect))?;
            }
            Ok(())
        }
        .await;
        match written {
            Ok(()) => out.finish(),
            Err(e) => {
                out.abandon();
                Err(e)
            }
        }
    }
}

/// A Parquet file of text columns being written: it appears at its path atomically (written
/// beside it, then renamed) when finished, with the caller's key-value metadata and no column
/// statistics, so no minimum or maximum of a sensitive field leaks through the footer; memory
/// stays bounded by one batch and one row group.
pub struct TextFileWriter {
    writer: ArrowWriter<std::fs::File>,
    schema: Arc<Schema>,
    tmp: std::path::PathBuf,
    path: std::path::PathBuf,
    rows: u64,
}

impl TextFileWriter {
    pub fn create(path: &Path, columns: &[String], metadata: &[(String, String)]) -> Result<Self> {
        let schema =
            Arc::new(Schema::new(columns.iter().map(|c| ArrowField::new(c, DataType::Utf8, true)).collect::<Vec<_>>()));
        let io = |e: std::io::Error| LakeError::Io(e.to_string());
        let pq = |e: datafusion::parquet::errors::ParquetError| LakeError::Io(e.to_string());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        // Two requests may write the same file at once; each writes its own and the last
        // rename wins with a whole file.
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let tmp = path.with_extension(format!("tmp-{}-{nanos}", std::process::id()));
        let key_values = metadata.iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())).collect();
        let props = WriterProperties::builder()
            .set_statistics_enabled(EnabledStatistics::None)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_key_value_metadata(Some(key_values))
            .build();
        let file = std::fs::File::create(&tmp).map_err(io)?;
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(pq)?;
        Ok(Self { writer, schema, tmp, path: path.to_path_buf(), rows: 0 })
    }

    /// Writes rows of cells in the file's column order.
    pub fn write_rows(&mut self, rows: impl Iterator<Item = Vec<Option<String>>>) -> Result<()> {
        let mut builders: Vec<StringBuilder> = self.schema.fields().iter().map(|_| StringBuilder::new()).collect();
        for row in rows {
            for (b, v) in builders.iter_mut().zip(row) {
                b.append_option(v);
            }
            self.rows += 1;
        }
        let arrays: Vec<ArrayRef> = builders.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef).collect();
        let out = RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| LakeError::Query(e.to_string()))?;
        self.writer.write(&out).map_err(|e| LakeError::Io(e.to_string()))
    }

    /// Closes the file and moves it into place.
    pub fn finish(self) -> Result<WrittenFile> {
        let io = |e: std::io::Error| LakeError::Io(e.to_string());
        if let Err(e) = self.writer.close() {
            let _ = std::fs::remove_file(&self.tmp);
            return Err(LakeError::Io(e.to_string()));
        }
        std::fs::rename(&self.tmp, &self.path).map_err(io)?;
        let bytes = std::fs::metadata(&self.path).map_err(io)?.len();
        Ok(WrittenFile { rows: self.rows, bytes })
    }

    /// Drops what was written.
    pub fn abandon(self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// The file [`Lake::write_selection`] wrote at `path` earlier, if it is there, readable and
/// has the metadata `must_have` (key, value): a file without it was written by an earlier
/// release, to other rules, and is written again. Its size and its row count from the footer.
pub fn written_file(path: &Path, must_have: (&str, &str)) -> Option<WrittenFile> {
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
    let bytes = std::fs::metadata(path).ok()?.len();
    let reader = SerializedFileReader::new(std::fs::File::open(path).ok()?).ok()?;
    let meta = reader.metadata().file_metadata();
    meta.key_value_metadata()?.iter().find(|kv| kv.key == must_have.0 && kv.value.as_deref() == Some(must_have.1))?;
    let rows = u64::try_from(meta.num_rows()).ok()?;
    Some(WrittenFile { rows, bytes })
}

/// The cells of a Parquet file as text, as a trace reads a file that left the platform: its
/// columns, at most `max_rows` rows, and the key-value metadata of its footer.
pub fn read_parquet_cells(path: &Path, max_rows: usize) -> Result<TableCells> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let io = |e: std::io::Error| LakeError::Io(e.to_string());
    let pq = |e: datafusion::parquet::errors::ParquetError| LakeError::Io(e.to_string());
    let builder = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).map_err(io)?).map_err(pq)?;
    let metadata = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| kv.iter().map(|k| (k.key.clone(), k.value.clone().unwrap_or_default())).collect())
        .unwrap_or_default();
    let columns = builder.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut rows = Vec::new();
    for batch in builder.with_batch_size(8192).build().map_err(pq)? {
        let batch = batch.map_err(|e| LakeError::Io(e.to_string()))?;
        for row in batch_rows(&batch)? {
            if rows.len() >= max_rows {
                return Ok(TableCells { columns, rows, metadata });
            }
            rows.push(row);
        }
    }
    Ok(TableCells { columns, rows, metadata })
}

/// A file's cells as text (`None` is null) with its metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableCells {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    pub metadata: Vec<(String, String)>,
}

/// Rows per row group of a served file: small enough that a writer's buffer stays small.
const ROW_GROUP_ROWS: usize = 65_536;

/// A file [`Lake::write_selection`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrittenFile {
    pub rows: u64,
    pub bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// internals, no requirement (what the key index's lookups decide on a text value is what
    /// the query built from the filter decides; the lake's tests run the queries)
    #[test]
    fn filters_admit_text_as_their_queries_do() {
        let f = |matching, values: &[&str]| ColumnFilter {
            column: "c".into(),
            matching,
            values: values.iter().map(|v| v.to_string()).collect(),
        };
        assert!(f(Match::Equals, &["a", "b"]).admits_text("b"));
        assert!(!f(Match::Equals, &["a"]).admits_text("ab"));
        assert!(f(Match::Prefix, &["35"]).admits_text("350102"));
        assert!(f(Match::PrefixAt(2), &["350102"]).admits_text("91350102MA0000000X"));
        assert!(!f(Match::PrefixAt(2), &["350102"]).admits_text("350102199001011234"));
        assert!(!f(Match::PrefixAt(30), &["x"]).admits_text("short"), "past the end admits nothing");
        assert!(f(Match::PrefixAt(1), &["东湖"]).admits_text("临东湖区"), "characters, not bytes");
        assert!(f(Match::TrimmedText, &["东湖区"]).admits_text("  东湖区 "));
        assert!(!f(Match::TrimmedText, &[]).admits_text("东湖区"), "no values admit nothing");
    }
}
