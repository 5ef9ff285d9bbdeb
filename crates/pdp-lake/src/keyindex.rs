//! Lookups by key: view, verify and document fetches, subject pages and a version's rows by
//! key ask for the rows of one key, many times a second, and a DataFusion scan of the table per
//! request costs milliseconds of log replay and planning plus a read of the whole table.
//!
//! A lookup asks the key files ([`crate::keyfile`]) of the data files of the version it reads:
//! the load writes one beside each data file before its commit, so the first lookup after a load
//! is as fast as the rest, and a load killed before its commit leaves only files that no
//! version names. A lookup's cost depends on the number of data files in the version (a few for a
//! full load of millions of rows) and not on their size. A data file without a key file for the
//! column (a table written before key files, a file in object storage, a column first looked up
//! by now) gets one built from the data file on its first lookup; `pdp lake reindex` builds them
//! ahead.
//!
//! The latest version is read from the names in `_delta_log`: a load by this process is seen by
//! the next lookup, a load by another process (`pdp load`) by the lookups that start at most
//! [`RECHECK`] after its commit. A version's file list is read once and kept.
//!
//! The key files only answer what they answer exactly like the scan: the key column and every
//! filtered or ordering column must be text, where comparing the stored text is the scan's
//! comparison. Anything else returns `None` and the caller scans.
//!
//! A lake in object storage keeps key files beside the data files in the store too, and reads
//! them from a local cache (`Lake::key_cache`): the first lookup of a data file on a machine
//! fetches its key file, or builds it from the data file and puts it in the store.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use futures::TryStreamExt;
use pdp_domain::catalog::{EntryBody, IdentifierRole};

use crate::keyfile::{self, KeyFile, KeyFileWriter};
use crate::share::Selection;
use crate::{Lake, LakeError, Result, RowPage};

/// The most versions whose file lists are kept.
const MAX_VERSIONS: usize = 64;
/// The most key files kept open; past it the cache starts again.
const MAX_OPEN: usize = 1024;

/// The key files of one version's data files for one column.
type VersionKeyFiles = Arc<Vec<Arc<KeyFile>>>;

/// What lookups keep between requests, shared by a lake's clones.
#[derive(Debug, Default)]
pub struct KeyIndexes {
    /// The data files of recently read versions by dataset, oldest first.
    versions: Vec<(String, u64, Arc<Vec<String>>)>,
    /// Open key files by path.
    files: HashMap<PathBuf, Arc<KeyFile>>,
    /// The key files of recently read versions by dataset and column, oldest first: what a
    /// lookup reads, found without making a path.
    opened: Vec<(String, u64, String, VersionKeyFiles)>,
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

/// The columns a load indexes: the entry's identifier field, its key fields and the fields
/// that identify a person or a legal entity (what grants, documents and subject pages look up by).
pub fn key_columns(entry: &EntryBody) -> Vec<String> {
    let mut out: Vec<String> = entry.identifier_field.iter().cloned().collect();
    for f in &entry.fields {
        if (f.rules.key || f.identifier != IdentifierRole::None) && !out.contains(&f.name) {
            out.push(f.name.clone());
        }
    }
    out
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

    /// The data files of `version`, relative to the table's root.
    async fn version_files(&self, dataset: &str, version: u64) -> Result<Arc<Vec<String>>> {
        let cached = (self.key_indexes.lock().expect("key index lock").versions.iter())
            .find(|(d, v, _)| d == dataset && *v == version)
            .map(|(_, _, f)| f.clone());
        if let Some(files) = cached {
            return Ok(files);
        }
        let table = self.table_at(dataset, Some(version)).await?;
        let snapshot = table.snapshot()?.snapshot().clone();
        let log_store = table.log_store();
        let files: Vec<String> =
            snapshot.file_views(log_store.as_ref(), None).map_ok(|f| f.path().into_owned()).try_collect().await?;
        let files = Arc::new(files);
        let mut c = self.key_indexes.lock().expect("key index lock");
        c.versions.push((dataset.to_string(), version, files.clone()));
        if c.versions.len() > MAX_VERSIONS {
            c.versions.remove(0);
        }
        Ok(files)
    }

    /// The directory of this machine's key files and sorted key lists: the lake's own when it
    /// is local, the cache otherwise.
    pub(crate) fn key_root(&self) -> &Path {
        self.root_dir.as_deref().unwrap_or(&self.key_cache)
    }

    /// The latest version of `dataset`, read as lookups read it.
    pub(crate) async fn current_version(&self, dataset: &str) -> Result<u64> {
        match self.log_version(dataset) {
            Some(v) => Ok(v),
            None => self.latest_version(dataset).await,
        }
    }

    /// Where the key files of `dataset` are read: beside its data files in a local lake, in
    /// the local cache of key files for a lake in object storage.
    fn key_dir(&self, dataset: &str) -> PathBuf {
        self.key_root().join(crate::table_dir(dataset))
    }

    /// The key files indexing `column` of every data file of `version`.
    async fn version_key_files(&self, dataset: &str, version: u64, column: &str) -> Result<VersionKeyFiles> {
        let cached = (self.key_indexes.lock().expect("key index lock").opened.iter())
            .find(|(d, v, c, _)| d == dataset && *v == version && c == column)
            .map(|(_, _, _, k)| k.clone());
        if let Some(k) = cached {
            return Ok(k);
        }
        let mut key_files = Vec::new();
        for file in self.version_files(dataset, version).await?.iter() {
            key_files.push(self.key_file(dataset, file, column).await?);
        }
        let key_files = Arc::new(key_files);
        let mut c = self.key_indexes.lock().expect("key index lock");
        c.opened.push((dataset.to_string(), version, column.to_string(), key_files.clone()));
        if c.opened.len() > MAX_VERSIONS {
            c.opened.remove(0);
        }
        Ok(key_files)
    }

    /// The key file of the data file `file` that indexes `column`, built from the data file
    /// when there is none yet (keeping the columns an older key file indexed).
    async fn key_file(&self, dataset: &str, file: &str, column: &str) -> Result<Arc<KeyFile>> {
        let path = keyfile::path_for(&self.key_dir(dataset), file);
        let cached = self.key_indexes.lock().expect("key index lock").files.get(&path).cloned();
        if let Some(k) = cached.filter(|k| k.indexed(column)) {
            return Ok(k);
        }
        let found = KeyFile::open(&path)?;
        let k = match found {
            Some(k) if k.indexed(column) => k,
            old => {
                let mut columns = old.map(|k| k.indexed_columns()).unwrap_or_default();
                columns.push(column.to_string());
                match &self.root_dir {
                    Some(root) => {
                        let data = root.join(crate::table_dir(dataset)).join(file);
                        let at = path.clone();
                        let read = move || std::fs::File::open(&data).map_err(|e| io(&data, e));
                        tokio::task::spawn_blocking(move || build_key_file(read()?, at, &columns))
                            .await
                            .map_err(|e| LakeError::Io(format!("key file builder: {e}")))??;
                    }
                    None => self.fetch_key_file(dataset, file, &path, columns).await?,
                }
                KeyFile::open(&path)?.ok_or_else(|| LakeError::Io(format!("{}: not written", path.display())))?
            }
        };
        let k = Arc::new(k);
        let mut c = self.key_indexes.lock().expect("key index lock");
        if c.files.len() >= MAX_OPEN {
            c.files.clear();
        }
        c.files.insert(path, k.clone());
        Ok(k)
    }

    /// The key file of a data file of a lake in object storage, into the local cache at
    /// `path`: the one beside the data file in the store if it indexes `columns`, or else one
    /// built from the data file and put beside it for the other machines that read the lake.
    async fn fetch_key_file(&self, dataset: &str, file: &str, path: &Path, columns: Vec<String>) -> Result<()> {
        use datafusion::object_store::ObjectStoreExt;
        let store = self.table_at(dataset, None).await?.object_store();
        let name = deltalake::Path::from(format!("{}/{}", keyfile::DIR, keyfile::file_name(file)));
        if let Ok(found) = store.get(&name).await {
            let bytes = found.bytes().await.map_err(|e| LakeError::Io(e.to_string()))?;
            keyfile::write_whole(path, &bytes)?;
            if KeyFile::open(path)?.is_some_and(|k| columns.iter().all(|c| k.indexed(c))) {
                return Ok(());
            }
        }
        // The data file is at most one file's roll size (`LOAD_FILE_BYTES`) in memory.
        let data = store.get(&deltalake::Path::from(file)).await.map_err(|e| LakeError::Io(e.to_string()))?;
        let data = data.bytes().await.map_err(|e| LakeError::Io(e.to_string()))?;
        let at = path.to_path_buf();
        tokio::task::spawn_blocking(move || build_key_file(data, at, &columns))
            .await
            .map_err(|e| LakeError::Io(format!("key file builder: {e}")))??;
        let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
        store.put(&name, bytes.into()).await.map_err(|e| LakeError::Io(e.to_string()))?;
        Ok(())
    }

    /// Builds the key files of every data file of the latest version of `dataset` indexing
    /// `columns`, where missing; returns how many were built.
    pub async fn reindex(&self, dataset: &str, columns: &[String]) -> Result<usize> {
        let table = self.table_at(dataset, None).await?;
        let version = table.version().unwrap_or(0) as u64;
        let dir = self.key_dir(dataset);
        let mut built = 0;
        for file in self.version_files(dataset, version).await?.iter() {
            for column in columns {
                let before = KeyFile::open(&keyfile::path_for(&dir, file))?.is_some_and(|k| k.indexed(column));
                self.key_file(dataset, file, column).await?;
                built += usize::from(!before);
            }
        }
        Ok(built)
    }

    /// The rows of one key at `version` (the latest if `None`) with the version they are of, or
    /// `None` when the key files cannot answer exactly as a scan would (see the module's
    /// documentation).
    pub(crate) async fn lookup(
        &self,
        dataset: &str,
        version: Option<u64>,
        sel: &Selection,
        key: (&str, &str),
        offset: usize,
        limit: usize,
    ) -> Result<Option<(u64, RowPage)>> {
        let version = match version {
            Some(v) => v,
            None => match self.log_version(dataset) {
                Some(v) => v,
                // A lake in object storage: its log is read through the store.
                None if self.root_dir.is_none() => self.latest_version(dataset).await?,
                None => return Ok(None),
            },
        };
        let key_files = self.version_key_files(dataset, version, key.0).await?;
        let mut matched: Vec<Vec<Option<String>>> = Vec::new();
        let mut order = None;
        for k in key_files.iter() {
            if !k.answers(key.0) {
                return Ok(None);
            }
            let at = |name: &str| k.columns().iter().position(|c| c == name);
            let Some(projection) = sel.columns.iter().map(|c| at(c)).collect::<Option<Vec<usize>>>() else {
                return Ok(None);
            };
            let mut filters = Vec::new();
            for f in &sel.filters {
                match at(&f.column) {
                    Some(i) if k.is_text(i) => filters.push((i, f)),
                    _ => return Ok(None),
                }
            }
            if let Some(o) = &sel.order_by {
                match sel.columns.iter().position(|c| c == o) {
                    Some(i) if k.is_text(projection[i]) => order = Some(i),
                    _ => return Ok(None),
                }
            }
            // Positioned reads of a few dozen bytes, on the runtime's thread: from the page cache
            // they take a microsecond, less than handing them to the blocking pool would.
            for row in k.lookup(key.0, key.1)? {
                if filters.iter().all(|(i, f)| row[*i].as_deref().is_some_and(|v| f.admits_text(v))) {
                    matched.push(projection.iter().map(|&i| row[i].clone()).collect());
                }
            }
        }
        if let Some(i) = order {
            // The scan's order: nulls first, then by the text's bytes.
            matched.sort_by(|a, b| a[i].cmp(&b[i]));
        }
        let total = matched.len() as u64;
        let rows = matched.into_iter().skip(offset).take(limit).collect();
        Ok(Some((version, RowPage { columns: sel.columns.clone(), rows, total })))
    }
}

fn io(path: &Path, e: std::io::Error) -> LakeError {
    LakeError::Io(format!("{}: {e}", path.display()))
}

/// Writes the key file at `path` of the Parquet data file `data`, indexing `columns`.
fn build_key_file<R: datafusion::parquet::file::reader::ChunkReader + 'static>(
    data: R,
    path: PathBuf,
    columns: &[String],
) -> Result<()> {
    use datafusion::arrow::array::RecordBatchReader;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let reader = ParquetRecordBatchReaderBuilder::try_new(data)?.with_batch_size(8192).build()?;
    let mut writer = KeyFileWriter::create(path, &reader.schema(), columns)?;
    for batch in reader {
        writer.write(&batch?)?;
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::Selection;
    use crate::{CellRows, LoadMeta, LoadMode};

    fn entry() -> EntryBody {
        serde_json::from_value(serde_json::json!({
            "name": "人员", "summary": "t", "class": "base", "item": "01", "format": "database",
            "frequency": "daily", "identifier_field": "id_no",
            "fields": [
                {"name": "id_no", "label": "标识", "data_type": "text", "grade": "l2", "rules": {"key": true}},
                {"name": "name", "label": "姓名", "data_type": "text", "grade": "l2"}
            ],
            "share": {"share_type": "conditional", "modes": ["view"]},
            "open": {"open_type": "not_open"}
        }))
        .unwrap()
    }

    /// covers: R-SHR-04 (a lake in object storage: the first lookup on a machine builds the key
    /// file from the data file through the store and puts it beside the data; another machine
    /// fetches that one; both answer as the scan does)
    #[tokio::test]
    async fn a_lake_in_object_storage_builds_fetches_and_caches_key_files() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let e = entry();
        let rows = (0..50).map(|i| vec![format!("k{i}"), format!("名{i}")]).collect();
        let meta = LoadMeta { actor: "t".into(), ..Default::default() };
        let today = time::macros::date!(2026 - 12 - 07);
        lake.load("d", &e, LoadMode::Full, today, meta, Box::new(CellRows::new(&e.fields, rows)), |_| {})
            .await
            .unwrap();
        // What a load into object storage leaves: data files without key files.
        let keys = dir.path().join(crate::table_dir("d")).join(keyfile::DIR);
        std::fs::remove_dir_all(&keys).unwrap();
        // The same lake seen as remote: everything goes through the table's object store, and
        // key files are read from a cache of this "machine".
        let remote = |cache: &Path| {
            let mut l = Lake::open(dir.path().to_str().unwrap()).unwrap();
            l.root_dir = None;
            l.key_cache = cache.to_path_buf();
            l
        };
        let sel = Selection { columns: vec!["name".into()], filters: vec![], order_by: None };
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let first = remote(a.path());
        let (_, page) = first.lookup("d", None, &sel, ("id_no", "k7"), 0, 10).await.unwrap().expect("answered");
        assert_eq!(page.rows, vec![vec![Some("名7".to_string())]]);
        assert_eq!(std::fs::read_dir(&keys).unwrap().count(), 1, "the built key file is in the store");
        let second = remote(b.path());
        let (_, page) = second.lookup("d", None, &sel, ("id_no", "k49"), 0, 10).await.unwrap().expect("answered");
        assert_eq!(page.rows, vec![vec![Some("名49".to_string())]]);
        assert_eq!(second.lookup("d", None, &sel, ("id_no", "k50"), 0, 10).await.unwrap().unwrap().1.total, 0);
        let cached = b.path().join(crate::table_dir("d")).join(keyfile::DIR);
        assert_eq!(std::fs::read_dir(cached).unwrap().count(), 1, "fetched into this machine's cache");
    }
}
