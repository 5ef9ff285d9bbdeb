//! The files of open releases (R-OPN-03): a release is one immutable Parquet file written by
//! [`crate::Lake::write_selection`] from one version of a dataset, its rows in a fixed order.
//!
//! Because the file never changes, a row's position in it is a stable cursor: paging by
//! position at a fixed release misses and repeats no row while the dataset goes on changing,
//! with no cap on how far a client pages. A page starts at the row group holding its cursor and
//! skips to it within the group, so its cost does not grow with the position; the row count is
//! read from the footer, never counted by a scan. Filters are equality on text cells, checked
//! row by row within a scan budget: a page whose budget runs out comes back short with the
//! cursor to continue from, so no request reads a whole large file.

use std::path::Path;

use datafusion::parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelection, RowSelector};

use crate::{LakeError, Result, batch_rows};

/// A page of a release's rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReleasePage {
    pub columns: Vec<String>,
    /// Each row with its position in the file.
    pub rows: Vec<(u64, Vec<Option<String>>)>,
    /// Where the next page starts, `None` at the end of the file.
    pub next: Option<u64>,
    /// The rows of the whole file.
    pub total: u64,
}

/// Rows pass when the cell of `column` equals one of `values`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellFilter {
    pub column: String,
    pub values: Vec<String>,
}

fn io(e: std::io::Error) -> LakeError {
    LakeError::Io(e.to_string())
}

fn pq(e: datafusion::parquet::errors::ParquetError) -> LakeError {
    LakeError::Io(e.to_string())
}

fn open(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<std::fs::File>> {
    ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).map_err(io)?).map_err(pq)
}

/// The columns and the row count of a release's file, from its footer.
pub fn release_shape(path: &Path) -> Result<(Vec<String>, u64)> {
    let b = open(path)?;
    let columns = b.schema().fields().iter().map(|f| f.name().clone()).collect();
    let rows = u64::try_from(b.metadata().file_metadata().num_rows()).unwrap_or(0);
    Ok((columns, rows))
}

/// Up to `limit` rows from position `cursor` on that pass every filter, reading at most
/// `budget` rows. A filter naming a column the file does not have is an error.
pub fn read_release_page(
    path: &Path,
    cursor: u64,
    limit: usize,
    filters: &[CellFilter],
    budget: u64,
) -> Result<ReleasePage> {
    let builder = open(path)?;
    let columns: Vec<String> = builder.schema().fields().iter().map(|f| f.name().clone()).collect();
    let total = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    let mut checks = Vec::with_capacity(filters.len());
    for f in filters {
        let i = columns
            .iter()
            .position(|c| c == &f.column)
            .ok_or_else(|| LakeError::Query(format!("no column {:?} in the release", f.column)))?;
        checks.push((i, &f.values));
    }
    let mut page = ReleasePage { columns, rows: Vec::new(), next: None, total };
    if cursor >= total || limit == 0 {
        page.next = (cursor < total).then_some(cursor);
        return Ok(page);
    }
    // The first row group holding `cursor`, and the rows to skip inside it.
    let mut start = 0u64;
    let mut first = 0usize;
    let groups: Vec<u64> =
        builder.metadata().row_groups().iter().map(|rg| u64::try_from(rg.num_rows()).unwrap_or(0)).collect();
    for (g, n) in groups.iter().enumerate() {
        if cursor < start + n {
            first = g;
            break;
        }
        start += n;
    }
    let rest: u64 = groups[first..].iter().sum();
    let skip = cursor - start;
    let selection =
        RowSelection::from(vec![RowSelector::skip(skip as usize), RowSelector::select((rest - skip) as usize)]);
    let batch = if checks.is_empty() { limit.clamp(1, 8192) } else { 8192 };
    let reader = builder
        .with_row_groups((first..groups.len()).collect())
        .with_row_selection(selection)
        .with_batch_size(batch)
        .build()
        .map_err(pq)?;
    let mut at = cursor;
    let mut scanned = 0u64;
    'batches: for b in reader {
        let b = b.map_err(|e| LakeError::Io(e.to_string()))?;
        for row in batch_rows(&b)? {
            if page.rows.len() >= limit || scanned >= budget {
                break 'batches;
            }
            scanned += 1;
            let pass =
                checks.iter().all(|(i, values)| row[*i].as_deref().is_some_and(|v| values.iter().any(|x| x == v)));
            if pass {
                page.rows.push((at, row));
            }
            at += 1;
        }
    }
    page.next = (at < total).then_some(at);
    Ok(page)
}

/// Calls `each` with the columns and every chunk of rows of the file in order, until it
/// returns `false`; memory stays bounded by one chunk.
pub fn for_each_chunk(path: &Path, mut each: impl FnMut(&[String], Vec<Vec<Option<String>>>) -> bool) -> Result<()> {
    let builder = open(path)?;
    let columns: Vec<String> = builder.schema().fields().iter().map(|f| f.name().clone()).collect();
    for b in builder.with_batch_size(8192).build().map_err(pq)? {
        let b = b.map_err(|e| LakeError::Io(e.to_string()))?;
        if !each(&columns, batch_rows(&b)?) {
            break;
        }
    }
    Ok(())
}

/// Calls `each` with the CSV text (rows only, no header) of every chunk of the file in order,
/// until it returns `false`: the whole-file download. The cells are read in place from the
/// file's text columns and escaped as [`pdp_interchange::csvcell`] writes them, with no row
/// built per line; memory stays bounded by one chunk.
pub fn for_each_csv_chunk(path: &Path, mut each: impl FnMut(String) -> bool) -> Result<()> {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::DataType;
    let builder = open(path)?;
    for b in builder.with_batch_size(8192).build().map_err(pq)? {
        let b = b.map_err(|e| LakeError::Io(e.to_string()))?;
        // A release file holds text only; a column of another type is cast to text once.
        let columns = b
            .columns()
            .iter()
            .map(|c| match c.data_type() {
                DataType::Utf8 => Ok(c.clone()),
                _ => datafusion::arrow::compute::cast(c, &DataType::Utf8),
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let texts: Vec<_> = columns.iter().map(|c| c.as_string::<i32>()).collect();
        let mut text = String::with_capacity(b.num_rows() * 16 * texts.len().max(1));
        for r in 0..b.num_rows() {
            for (i, t) in texts.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                if t.is_valid(r) {
                    pdp_interchange::csvcell::push_cell(&mut text, t.value(r));
                }
            }
            text.push('\n');
        }
        if !each(text) {
            break;
        }
    }
    Ok(())
}

/// The distribution of a numeric column of a release, for the portal's charts.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    pub column: String,
    /// The cells that held a number, of the rows read.
    pub values: u64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// Ten bins of equal width from `min` to `max`: (lower bound, upper bound, count).
    pub bins: Vec<(f64, f64, u64)>,
}

/// Histograms of `columns` over the first `max_rows` rows of a release's file; a column with
/// no numeric cell gets none. Cells that do not parse as numbers (masked, empty) are skipped.
pub fn histograms(path: &Path, columns: &[String], max_rows: u64) -> Result<Vec<Histogram>> {
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); columns.len()];
    let mut idx: Vec<Option<usize>> = Vec::new();
    let mut read = 0u64;
    for_each_chunk(path, |cols, chunk| {
        if idx.is_empty() {
            idx = columns.iter().map(|c| cols.iter().position(|x| x == c)).collect();
        }
        for row in chunk {
            if read >= max_rows {
                return false;
            }
            read += 1;
            for (k, i) in idx.iter().enumerate() {
                if let Some(v) = i.and_then(|i| row[i].as_deref()).and_then(|v| v.trim().parse::<f64>().ok())
                    && v.is_finite()
                {
                    values[k].push(v);
                }
            }
        }
        true
    })?;
    let mut out = Vec::new();
    for (c, vs) in columns.iter().zip(values) {
        if vs.is_empty() {
            continue;
        }
        let min = vs.iter().copied().fold(f64::INFINITY, f64::min);
        let max = vs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = vs.iter().sum::<f64>() / vs.len() as f64;
        let width = (max - min) / 10.0;
        let mut bins: Vec<(f64, f64, u64)> =
            (0..10).map(|b| (min + width * b as f64, min + width * (b + 1) as f64, 0)).collect();
        for v in &vs {
            let b = if width > 0.0 { (((v - min) / width) as usize).min(9) } else { 0 };
            bins[b].2 += 1;
        }
        if width == 0.0 {
            bins.truncate(1);
        }
        out.push(Histogram { column: c.clone(), values: vs.len() as u64, min, max, mean, bins });
    }
    Ok(out)
}

/// Writes a file of `columns` at `dst` from every row of the release file `src`, each passed
/// through `each` (which returns the cells in `columns` order): an applicant's own copy.
pub fn derive_file(
    src: &Path,
    dst: &Path,
    columns: &[String],
    metadata: &[(String, String)],
    mut each: impl FnMut(Vec<Option<String>>) -> Vec<Option<String>>,
) -> Result<crate::share::WrittenFile> {
    let mut out = crate::share::TextFileWriter::create(dst, columns, metadata)?;
    let mut failed = None;
    let read = for_each_chunk(src, |_, chunk| match out.write_rows(chunk.into_iter().map(&mut each)) {
        Ok(()) => true,
        Err(e) => {
            failed = Some(e);
            false
        }
    });
    match failed.map_or(read, Err) {
        Ok(()) => out.finish(),
        Err(e) => {
            out.abandon();
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole-file CSV of the fast path is the CSV the row-by-row path writes, cell for cell:
    /// quotes, separators, line breaks, formula-like text and missing cells included.
    #[test]
    fn whole_file_csv_matches_the_row_by_row_csv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.parquet");
        let columns = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let cells = ["plain", "有,逗号", "say \"hi\"", "two\nlines", "=SUM(A1)", "+1", "", "中文"];
        let rows: Vec<Vec<Option<String>>> = (0..20_000)
            .map(|i| {
                vec![
                    Some(format!("{}-{i}", cells[i % cells.len()])),
                    (i % 3 != 0).then(|| cells[(i + 1) % cells.len()].to_string()),
                    Some(cells[(i * 7) % cells.len()].to_string()),
                ]
            })
            .collect();
        let mut w = crate::share::TextFileWriter::create(&path, &columns, &[]).unwrap();
        w.write_rows(rows.into_iter()).unwrap();
        w.finish().unwrap();
        let mut fast = String::new();
        for_each_csv_chunk(&path, |t| {
            fast.push_str(&t);
            true
        })
        .unwrap();
        let mut slow = String::new();
        for_each_chunk(&path, |_, chunk| {
            for row in chunk {
                pdp_interchange::csvcell::push_row(&mut slow, row.iter().map(|v| v.as_deref().unwrap_or("")));
            }
            true
        })
        .unwrap();
        assert_eq!(fast.len(), slow.len());
        assert!(fast == slow, "the two paths differ");
        assert!(fast.contains("\"有,逗号\"") && fast.contains("'=SUM(A1)"), "escaped and neutralised");
    }
}
