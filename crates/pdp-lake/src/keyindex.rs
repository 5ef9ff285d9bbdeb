//! Lookups by key from memory: view, verify and document fetches ask for the rows of one key,
//! many times a second, and a DataFusion scan of the table per request costs milliseconds of
//! log replay, planning and decoding (the sharing benchmark measured about 150 requests/s).
//!
//! A [`KeyIndex`] holds one version of a table as text rows with a map from key to rows. It is
//! built on the first lookup of a (dataset, key column) and used while the table's latest
//! version, read from the names in `_delta_log`, is the version it was built from; a load by
//! this process makes the next lookup rebuild it, a load by another process (`pdp load`) a
//! lookup at most [`RECHECK`] after that load's commit. Tables larger than
//! [`MAX_ROWS`] rows are not indexed (the caller scans instead), so memory stays bounded:
//! at most [`MAX_INDEXES`] indexes of at most that many rows.
//!
//! The index only answers what it answers exactly like the scan: the key column and every
//! filtered column must be text, where comparing the stored text is the scan's comparison.
//! Anything else returns `None` and the caller scans.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use datafusion::arrow::datatypes::DataType;

use crate::share::{ColumnFilter, Selection};
use crate::{Lake, Result, RowPage, batch_rows};

/// The largest table indexed, in rows.
pub const MAX_ROWS: usize = 250_000;
/// The most indexes kept; the oldest is dropped first.
pub const MAX_INDEXES: usize = 8;

/// One version of a table as text rows, by key.
#[derive(Debug)]
pub struct KeyIndex {
    version: u64,
    /// `None` when the table has more than [`MAX_ROWS`] rows: remembered so that the size is
    /// not counted again for this version.
    data: Option<Indexed>,
}

#[derive(Debug)]
struct Indexed {
    columns: Vec<String>,
    /// Whether each column is text.
    text: Vec<bool>,
    rows: Vec<Vec<Option<String>>>,
    by_key: HashMap<String, Vec<u32>>,
}

/// The cache of a lake's key indexes, shared by its clones.
#[derive(Debug, Default)]
pub struct KeyIndexes {
    /// At most [`MAX_INDEXES`] indexes by dataset and key column, oldest first: so few that
    /// they are found by comparing names, without making a key to hash.
    indexes: Vec<(String, String, Arc<KeyIndex>)>,
    /// Per dataset: the `_delta_log` directory's modification time when its version was last
    /// listed, and that version (see [`Lake::log_version`]).
    listed: HashMap<String, (SystemTime, u64)>,
    /// Per dataset: when its version was last looked up in the file system, the count of this
    /// process's writes then ([`Lake::writes`]), and the version found.
    checked: HashMap<String, (Instant, u64, u64)>,
}

/// How long a table's version, once read from the file system, is taken as its latest without
/// looking again, unless this process has written to a table since. The look is a `stat` of
/// the log directory (a path walk in the kernel), which was 3 % of the server's CPU in the
/// sharing benchmark when made for every lookup; so another process's load is seen by the
/// lookups that start up to this long after its commit.
pub const RECHECK: Duration = Duration::from_millis(50);

/// How old a directory's modification time must be before it is trusted to show that no
/// commit was added since: file times tick coarsely (a few milliseconds on Linux), so a
/// commit landing in the same tick as the listing would leave the time unchanged.
const SETTLED: Duration = Duration::from_secs(2);

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

fn passes(f: &ColumnFilter, v: Option<&str>) -> bool {
    v.is_some_and(|v| f.admits_text(v))
}

impl Lake {
    /// The latest committed version of a local table, read from its log's file names; `None`
    /// for object storage or a table without commits (the caller then scans).
    ///
    /// Listing the log costs a directory read that grows with the number of commits, on every
    /// lookup; so the listing is skipped while the directory's modification time is the one
    /// seen at a listing made when that time was already [`SETTLED`] (a new commit file then
    /// changes it), and the directory is not looked at again for [`RECHECK`] after a look
    /// unless this process has written since.
    fn log_version(&self, dataset: &str) -> Option<u64> {
        // Read before looking, so that a write of this process that ends during the look makes
        // the next lookup look again.
        let writes = self.writes.load(Ordering::Acquire);
        if let Some(&(at, w, version)) = self.key_indexes.lock().expect("key index lock").checked.get(dataset)
            && w == writes
            && at.elapsed() < RECHECK
        {
            return Some(version);
        }
        let version = self.log_version_on_disk(dataset)?;
        self.key_indexes
            .lock()
            .expect("key index lock")
            .checked
            .insert(dataset.to_string(), (Instant::now(), writes, version));
        Some(version)
    }

    /// [`Lake::log_version`] as the file system shows it now.
    fn log_version_on_disk(&self, dataset: &str) -> Option<u64> {
        let dir = self.root_dir.as_ref()?.join(crate::table_dir(dataset)).join("_delta_log");
        let mtime = std::fs::metadata(&dir).and_then(|m| m.modified()).ok();
        if let Some(mtime) = mtime {
            let listed = self.key_indexes.lock().expect("key index lock").listed.get(dataset).copied();
            if let Some((seen, version)) = listed
                && seen == mtime
            {
                return Some(version);
            }
        }
        let version = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name();
                let name = name.to_str()?;
                let stem = name.strip_suffix(".json")?;
                (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit())).then(|| stem.parse::<u64>().ok())?
            })
            .max()?;
        // Remembered only when the time had settled before the listing: then any later commit
        // falls in a later tick and changes the time.
        if let Some(mtime) = mtime
            && SystemTime::now().duration_since(mtime).is_ok_and(|age| age > SETTLED)
        {
            self.key_indexes.lock().expect("key index lock").listed.insert(dataset.to_string(), (mtime, version));
        }
        Some(version)
    }

    async fn build_index(&self, dataset: &str, key: &str) -> Result<KeyIndex> {
        let table = self.table_at(dataset, None).await?;
        let version = table.version().unwrap_or(0) as u64;
        let ctx = datafusion::prelude::SessionContext::new();
        table.update_datafusion_session(&ctx.state())?;
        let df = ctx.read_table(table.table_provider().await?)?;
        let schema = df.schema().clone();
        let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let text: Vec<bool> = schema.fields().iter().map(|f| is_text(f.data_type())).collect();
        let Some(key_at) = columns.iter().position(|c| c == key).filter(|&i| text[i]) else {
            return Ok(KeyIndex { version, data: None });
        };
        if df.clone().count().await? > MAX_ROWS {
            return Ok(KeyIndex { version, data: None });
        }
        let mut rows = Vec::new();
        for b in df.collect().await? {
            rows.extend(batch_rows(&b)?);
        }
        let mut by_key: HashMap<String, Vec<u32>> = HashMap::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            if let Some(k) = &r[key_at] {
                by_key.entry(k.clone()).or_default().push(i as u32);
            }
        }
        Ok(KeyIndex { version, data: Some(Indexed { columns, text, rows, by_key }) })
    }

    /// The rows of one key from the index with the version they are of, or `None` when the index cannot answer exactly as
    /// a scan would (see the module's documentation).
    pub(crate) async fn lookup(
        &self,
        dataset: &str,
        sel: &Selection,
        key: (&str, &str),
        offset: usize,
        limit: usize,
    ) -> Result<Option<(u64, RowPage)>> {
        let Some(version) = self.log_version(dataset) else { return Ok(None) };
        let cached = (self.key_indexes.lock().expect("key index lock").indexes.iter())
            .find(|(d, c, _)| d == dataset && c == key.0)
            .map(|(_, _, i)| i.clone());
        let index = match cached {
            Some(i) if i.version == version => i,
            _ => {
                let built = Arc::new(self.build_index(dataset, key.0).await?);
                let mut c = self.key_indexes.lock().expect("key index lock");
                match c.indexes.iter_mut().find(|(d, k, _)| d == dataset && k == key.0) {
                    Some(slot) => slot.2 = built.clone(),
                    None => {
                        c.indexes.push((dataset.to_string(), key.0.to_string(), built.clone()));
                        if c.indexes.len() > MAX_INDEXES {
                            c.indexes.remove(0);
                        }
                    }
                }
                built
            }
        };
        let Some(ix) = &index.data else { return Ok(None) };
        let at = |name: &str| ix.columns.iter().position(|c| c == name);
        let Some(projection) = sel.columns.iter().map(|c| at(c)).collect::<Option<Vec<usize>>>() else {
            return Ok(None);
        };
        let mut filters = Vec::new();
        for f in &sel.filters {
            match at(&f.column) {
                Some(i) if ix.text[i] => filters.push((i, f)),
                _ => return Ok(None),
            }
        }
        let matched: Vec<&Vec<Option<String>>> = ix
            .by_key
            .get(key.1)
            .into_iter()
            .flatten()
            .map(|&i| &ix.rows[i as usize])
            .filter(|r| filters.iter().all(|(i, f)| passes(f, r[*i].as_deref())))
            .collect();
        let rows = matched
            .iter()
            .skip(offset)
            .take(limit)
            .map(|r| projection.iter().map(|&i| r[i].clone()).collect())
            .collect();
        Ok(Some((index.version, RowPage { columns: sel.columns.clone(), rows, total: matched.len() as u64 })))
    }
}
