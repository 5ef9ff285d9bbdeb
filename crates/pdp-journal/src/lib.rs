//! The access journal: where the data-access path puts its records first, so a request waits
//! for one `write` to a file instead of a database transaction.
//!
//! Every view, verify, statistics query or export must be on the record before its data leaves
//! (R-SHR-12). The group commit of [`pdp_audit::appender`] gives that by waiting for the database
//! commit, and measured on the sharing benchmark it cost a third of the access path's
//! throughput: hand-offs between the request's task, the group commit's task and the database
//! writer, and a row per access in a transaction of a few dozen. Here the request's own task
//! serialises its record and copies it into the open *segment*, a file of lines (JSON, see
//! [`JournalRecord`]) mapped into memory, under a lock held for nothing else; when `append`
//! returns, the record is in the operating system's page cache and survives the process, as a
//! commit does under SQLite's `synchronous = NORMAL` that the platform runs with. (A `write` per record was measured
//! first: the system call and the file system's write path cost a tenth of the sharing
//! benchmark's CPU.) Mapped pages cost a page fault each on first write, and those faults were
//! measured too (a twentieth of the server's CPU, taken under the lock, so the other worker
//! waited on it): the indexer therefore prepares the next segment before it is needed, a
//! *spare* created, allocated and prefaulted off the request path, and an append that starts a
//! segment takes it. An indexer task moves the records into the database every [`JournalConfig::interval`]
//! (or at once when someone asks, see [`Journal::sync`]): it closes the segment, starts a new
//! one, and writes the closed segment's records through a [`JournalSink`] in one transaction
//! that also records the segment's name, then deletes the file. The database's audit chain and
//! its signed checkpoints are unchanged: the indexer appends to the chain like any writer.
//!
//! The invariants:
//! - An `append` that returns `Ok` has written the whole line, its line feed last; a record
//!   cut short by a crash has no line feed and is skipped when read back (its access was never
//!   answered). A segment file is created at its full size, so its unused end reads as zeros.
//! - A segment is indexed exactly once: segments are indexed one at a time in the order of
//!   their names, each in a transaction that records its name as the last one indexed, and on
//!   start ([`Journal::open`]) every segment left by an earlier process is indexed unless its
//!   name sorts at or before the last one indexed, then deleted. Names sort in the order the
//!   segments were made, also across restarts and a clock set back: a name is never smaller
//!   than the last one indexed or the one before it. A segment whose indexing failed stays on
//!   disk and is read back from it on the next try.
//! - Readers of access records (the audit log, usage counters) that must see every access so
//!   far call [`Journal::sync`] first; the web layer does so for every request that is not
//!   itself a data access.
//! - The records waiting in memory are bounded ([`JournalConfig::max_pending`]): when the
//!   database stops taking them, accesses are refused rather than memory exhausted.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, watch};

use pdp_audit::appender::AppendError;

/// Where segments go: implemented over the storage backends.
#[async_trait::async_trait]
pub trait JournalSink<T>: Send + Sync + 'static {
    /// Writes every record of the segment `name` in one transaction that also records `name`
    /// as the last segment indexed (replacing the one before).
    async fn index(&self, name: &str, records: Vec<T>) -> Result<(), String>;
    /// The name of the last segment indexed. Segments are indexed in the order of their names,
    /// so every segment whose name sorts at or before it is in the database.
    async fn last_indexed(&self) -> Result<Option<String>, String>;
}

/// A record the journal holds: written as one line by [`JournalRecord::write_line`] and read
/// back by [`JournalRecord::read_line`] when a segment is indexed after a restart (a record type
/// may also read the lines of an earlier format of its own). The line must hold no line feed and no zero byte (JSON escapes both inside
/// strings). By default the line is the record's JSON, written and read with `serde_json`.
pub trait JournalRecord: Serialize + DeserializeOwned + Send + 'static {
    /// Appends the record's line to `out`, without the line feed.
    fn write_line(&self, out: &mut Vec<u8>) -> Result<(), String> {
        serde_json::to_writer(out, self).map_err(|e| e.to_string())
    }

    /// The record a line written by [`JournalRecord::write_line`] holds.
    fn read_line(line: &[u8]) -> Result<Self, String> {
        from_json(line)
    }
}

/// A record read from its JSON, as [`JournalRecord::read_line`] does by default.
pub fn from_json<T: DeserializeOwned>(json: &[u8]) -> Result<T, String> {
    serde_json::from_slice(json).map_err(|e| e.to_string())
}

/// How the journal runs.
#[derive(Debug, Clone)]
pub struct JournalConfig {
    /// How often the indexer moves the open segment into the database.
    pub interval: Duration,
    /// Records held in memory at most (appended, not yet indexed) before appends are refused.
    pub max_pending: usize,
    /// The size of a segment file; a full one is closed and the next record starts another.
    pub segment_bytes: usize,
}

impl Default for JournalConfig {
    fn default() -> Self {
        Self { interval: Duration::from_millis(50), max_pending: 1 << 20, segment_bytes: 8 << 20 }
    }
}

/// A segment: its name and its mapped file (both given by the first append: the spare's, or
/// made then) and its records.
struct Segment<T> {
    name: String,
    map: Option<memmap2::MmapMut>,
    len: usize,
    records: Vec<T>,
}

impl<T> Segment<T> {
    /// A segment not started yet: the first append gives it its name and file.
    fn unstarted() -> Self {
        Self { name: String::new(), map: None, len: 0, records: Vec::new() }
    }
}

/// A segment file made ready by the indexer for the next segment to start: created, its space
/// allocated and its first pages prefaulted, so the appends that fill it take no page faults.
/// Its name is newer than any name in use: see [`Inner::install_spare`].
struct Spare {
    name: String,
    map: memmap2::MmapMut,
}

/// The segment being written, the full ones waiting for the indexer (oldest first), and the
/// spare for the next.
struct Open<T> {
    seg: Segment<T>,
    full: Vec<Segment<T>>,
    spare: Option<Spare>,
}

struct Inner<T> {
    dir: PathBuf,
    config: JournalConfig,
    open: Mutex<Open<T>>,
    /// Records appended since start, and the count of those indexed.
    appended: AtomicU64,
    indexed: watch::Sender<u64>,
    wake: Notify,
    /// The time of the last name made: the next is later.
    micros: AtomicU64,
}

/// A cheap, cloneable handle to the journal.
pub struct Journal<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Journal<T> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

impl<T> std::fmt::Debug for Journal<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("dir", &self.inner.dir).finish_non_exhaustive()
    }
}

const SUFFIX: &str = ".jsonl";

fn io_err(what: &str, path: &Path, e: std::io::Error) -> String {
    format!("{what} {}: {e}", path.display())
}

/// The records of a segment file. The file's unused end is zeros. A last line without its
/// line feed is a record cut short by a crash (its access was never answered) and is skipped,
/// and so is a line with zeros in it: pages of the mapping the operating system had not yet
/// written when the machine lost power. Any other line that does not parse is an error, since
/// the file was changed by something other than the journal.
fn read_segment<T: JournalRecord>(path: &Path) -> Result<Vec<T>, String> {
    let bytes = fs::read(path).map_err(|e| io_err("cannot read", path, e))?;
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let mut lines: Vec<&[u8]> = bytes[..end].split(|&b| b == b'\n').collect();
    if let Some(last) = lines.pop()
        && !last.is_empty()
    {
        tracing::warn!(file = %path.display(), "skipping an unfinished last record of the access journal");
    }
    let mut records = Vec::with_capacity(lines.len());
    for (i, line) in lines.into_iter().enumerate() {
        if line.contains(&0) {
            tracing::warn!(file = %path.display(), line = i + 1, "skipping an access journal record lost in a power failure");
            continue;
        }
        match T::read_line(line) {
            Ok(r) => records.push(r),
            Err(e) => return Err(format!("line {} of {} is not a journal record: {e}", i + 1, path.display())),
        }
    }
    Ok(records)
}

/// The time of a segment's name.
fn name_micros(name: &str) -> Option<u64> {
    name.strip_suffix(SUFFIX)?.parse().ok()
}

/// Creates a segment file of `size` bytes with its disk space allocated, and maps it. The space
/// is taken now because a write into a mapped page that the file system cannot allocate is not
/// an error the program can handle but a `SIGBUS` that ends the process: with the space taken,
/// a full disk refuses the segment here and the access with it.
fn create_segment(path: &Path, size: usize) -> Result<memmap2::MmapMut, String> {
    let file = OpenOptions::new()
        .create_new(true)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| io_err("cannot create", path, e))?;
    if let Err(e) = allocate(&file, size) {
        let _ = fs::remove_file(path);
        return Err(io_err("cannot allocate", path, e));
    }
    // SAFETY: the file was just created by this process and only this journal writes it; the
    // mapping is only ever touched under the journal's lock.
    unsafe { memmap2::MmapMut::map_mut(&file) }.map_err(|e| io_err("cannot map", path, e))
}

/// Takes `size` bytes of disk space for `file` (which is empty), zeros as far as it is read.
#[cfg(target_os = "linux")]
fn allocate(file: &std::fs::File, size: usize) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let len = libc::off_t::try_from(size).map_err(|_| std::io::Error::other("segment too large"))?;
    // SAFETY: a plain system call on a file descriptor this function borrows.
    match unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) } {
        0 => Ok(()),
        e => Err(std::io::Error::from_raw_os_error(e)),
    }
}

/// Elsewhere, by writing the zeros.
#[cfg(not(target_os = "linux"))]
fn allocate(file: &std::fs::File, size: usize) -> std::io::Result<()> {
    use std::io::Write;
    let mut w = std::io::BufWriter::new(file);
    w.write_all(&vec![0; size])?;
    w.flush()
}

impl<T: JournalRecord> Journal<T> {
    /// Opens the journal in `dir` (created if missing): indexes what an earlier process left
    /// there, then starts the indexer on the current Tokio runtime. Fails if a left segment
    /// cannot be read or indexed, so no access is served while earlier ones are unrecorded.
    pub async fn open(dir: &Path, sink: Arc<dyn JournalSink<T>>, config: JournalConfig) -> Result<Self, String> {
        fs::create_dir_all(dir).map_err(|e| io_err("cannot create", dir, e))?;
        let mut left: Vec<String> = fs::read_dir(dir)
            .map_err(|e| io_err("cannot list", dir, e))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(SUFFIX))
            .collect();
        // Names start with the creation time, so this is the order they were written in.
        left.sort();
        let mut last = sink.last_indexed().await?;
        if !left.is_empty() {
            for name in &left {
                let path = dir.join(name);
                if last.as_ref().is_none_or(|l| name > l) {
                    let records: Vec<T> = read_segment(&path)?;
                    tracing::info!(segment = %name, records = records.len(), "indexing an access journal segment left by an earlier run");
                    sink.index(name, records).await?;
                    last = Some(name.clone());
                }
                fs::remove_file(&path).map_err(|e| io_err("cannot remove", &path, e))?;
            }
        }
        let (indexed, _) = watch::channel(0);
        let inner = Arc::new(Inner {
            dir: dir.to_path_buf(),
            config,
            open: Mutex::new(Open { seg: Segment::unstarted(), full: Vec::new(), spare: None }),
            appended: AtomicU64::new(0),
            indexed,
            wake: Notify::new(),
            // New names sort after the last one indexed, whatever the clock says now.
            micros: AtomicU64::new(last.as_deref().and_then(name_micros).unwrap_or(0)),
        });
        let task = inner.clone();
        tokio::spawn(async move { task.run(sink).await });
        Ok(Self { inner })
    }

    /// Appends one record and returns once it is in the segment file's pages. Synchronous on
    /// purpose: a copy of a few hundred bytes under a lock held for nothing else.
    pub fn append(&self, record: T) -> Result<(), AppendError> {
        // An access record is under a kilobyte: one allocation instead of a doubling from empty.
        let mut line = Vec::with_capacity(1024);
        record.write_line(&mut line).map_err(|e| AppendError(format!("cannot encode the record: {e}")))?;
        line.push(b'\n');
        let inner = &*self.inner;
        let cap = inner.config.segment_bytes;
        if line.len() > cap {
            return Err(AppendError(format!("a record of {} bytes does not fit in a journal segment", line.len())));
        }
        let mut open = inner.open.lock().unwrap_or_else(PoisonError::into_inner);
        let pending = self.pending();
        if pending >= inner.config.max_pending as u64 {
            return Err(AppendError(format!("the access journal holds {pending} records the database has not taken")));
        }
        if open.seg.len + line.len() > cap {
            let full = std::mem::replace(&mut open.seg, Segment::unstarted());
            open.full.push(full);
        }
        if open.seg.map.is_none() {
            // The spare's name is newer than every name in use; without one, a name made now is.
            let (name, map) = match open.spare.take() {
                Some(Spare { name, map }) => (name, map),
                None => {
                    let name = inner.next_name().1;
                    let map = create_segment(&inner.dir.join(&name), cap).map_err(AppendError)?;
                    (name, map)
                }
            };
            open.seg.name = name;
            open.seg.map = Some(map);
        }
        let seg = &mut open.seg;
        let map = seg.map.as_mut().expect("mapped above");
        let (body, feed) = line.split_at(line.len() - 1);
        map[seg.len..seg.len + body.len()].copy_from_slice(body);
        // The line feed goes in after the rest, so a record is complete once it has one.
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
        map[seg.len + body.len()] = feed[0];
        seg.len += line.len();
        seg.records.push(record);
        inner.appended.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Waits until every record appended before the call is in the database, asking the
    /// indexer to run now. Returns `false` if that took longer than `timeout` (the database is
    /// not taking records; the indexer keeps trying).
    pub async fn sync(&self, timeout: Duration) -> bool {
        let target = self.inner.appended.load(Ordering::Acquire);
        let mut rx = self.inner.indexed.subscribe();
        if *rx.borrow() >= target {
            return true;
        }
        self.inner.wake.notify_one();
        tokio::time::timeout(timeout, rx.wait_for(|n| *n >= target)).await.is_ok_and(|r| r.is_ok())
    }

    /// Records appended and not yet in the database.
    pub fn pending(&self) -> u64 {
        self.inner.appended.load(Ordering::Acquire).saturating_sub(*self.inner.indexed.borrow())
    }
}

impl<T: JournalRecord> Inner<T> {
    /// A segment name that sorts after every earlier one: a time in microseconds, later than
    /// the last name's (so a clock set back, or two names in one microsecond, cannot reorder
    /// them), zero-padded so names sort as numbers.
    fn next_name(&self) -> (u64, String) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
            .unwrap_or_default();
        let prev = self
            .micros
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| Some(now.max(last + 1)))
            .unwrap_or_else(|last| last);
        let micros = now.max(prev + 1);
        (micros, format!("{micros:020}{SUFFIX}"))
    }

    /// Makes a spare segment ready if there is none: the file is created, allocated and its
    /// first `warm` bytes prefaulted on a blocking thread, then installed unless a newer name
    /// was made meanwhile (an append that found no spare made one), since a segment's name must
    /// sort after every earlier segment's. A spare that cannot be made is no error: the next
    /// segment is then made by its first append, as without spares.
    async fn install_spare(self: &Arc<Self>, warm: usize) {
        if self.open.lock().unwrap_or_else(PoisonError::into_inner).spare.is_some() {
            return;
        }
        let (micros, name) = self.next_name();
        let path = self.dir.join(&name);
        let cap = self.config.segment_bytes;
        let made = tokio::task::spawn_blocking(move || {
            let map = create_segment(&path, cap)?;
            // Faults taken here, not under the lock by the appends. Linux only; elsewhere
            // (and on kernels before 5.14) the appends fault the pages in as before.
            #[cfg(target_os = "linux")]
            let _ = map.advise_range(memmap2::Advice::PopulateWrite, 0, warm.clamp(1, cap));
            Ok::<_, String>((path, map))
        })
        .await;
        let (path, map) = match made {
            Ok(Ok(made)) => made,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "no spare access journal segment; the next append makes one");
                return;
            }
            Err(_) => return,
        };
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if self.micros.load(Ordering::Acquire) == micros && open.spare.is_none() {
            open.spare = Some(Spare { name, map });
        } else {
            drop(open);
            drop(map);
            let _ = fs::remove_file(&path);
        }
    }

    async fn run(self: Arc<Self>, sink: Arc<dyn JournalSink<T>>) {
        // How much of a spare to prefault: what the last segment used and a quarter more, so
        // the next one (of about as many records at a steady load) takes few faults, and no
        // more, since a prefaulted page that stays unused is zeroed and freed for nothing.
        // (Twice the last segment was tried first: docs/benchmarks.md, issue 5.)
        let mut warm = 64 << 10;
        loop {
            self.install_spare(warm).await;
            tokio::select! {
                () = tokio::time::sleep(self.config.interval) => {}
                () = self.wake.notified() => {}
            }
            if let Some(used) = self.index_open(sink.as_ref()).await {
                warm = (used + used / 4).max(64 << 10);
            }
        }
    }

    /// Closes the open segment (if it holds anything) and indexes it, with any full ones
    /// before it, oldest first. Returns the bytes the closed segments used, per segment at
    /// most, if there were any.
    async fn index_open(&self, sink: &dyn JournalSink<T>) -> Option<usize> {
        let (segments, upto) = {
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            if open.seg.records.is_empty() && open.full.is_empty() {
                return None;
            }
            let mut segments = std::mem::take(&mut open.full);
            if !open.seg.records.is_empty() {
                segments.push(std::mem::replace(&mut open.seg, Segment::unstarted()));
            }
            (segments, self.appended.load(Ordering::Acquire))
        };
        let used = segments.iter().map(|s| s.len).max();
        for seg in segments {
            self.index_segment(sink, seg).await;
        }
        self.indexed.send_replace(upto);
        used
    }

    /// Indexes one closed segment, retrying until the database takes it, then deletes its file.
    async fn index_segment(&self, sink: &dyn JournalSink<T>, seg: Segment<T>) {
        let path = self.dir.join(&seg.name);
        drop(seg.map);
        let mut records = Some(seg.records);
        let mut wait = Duration::from_millis(100);
        loop {
            // After a failure the records are read back from the file, which is what a
            // restart would index.
            let batch = match records.take() {
                Some(r) => Ok(r),
                None => read_segment(&path),
            };
            let outcome = match batch {
                Ok(batch) => sink.index(&seg.name, batch).await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => break,
                Err(e) => {
                    tracing::error!(error = %e, segment = %seg.name, "access journal segment not indexed; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(10));
                }
            }
        }
        if let Err(e) = fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            // Harmless: the next start sees the name recorded and only deletes the file.
            tracing::warn!(error = %e, segment = %seg.name, "indexed access journal segment not removed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct MemSink {
        done: Mutex<Vec<(String, Vec<u32>)>>,
        fail: std::sync::atomic::AtomicBool,
    }

    impl JournalRecord for u32 {}

    #[async_trait::async_trait]
    impl JournalSink<u32> for MemSink {
        async fn index(&self, name: &str, records: Vec<u32>) -> Result<(), String> {
            if self.fail.load(Ordering::SeqCst) {
                return Err("database down".into());
            }
            self.done.lock().unwrap().push((name.to_string(), records));
            Ok(())
        }
        async fn last_indexed(&self) -> Result<Option<String>, String> {
            Ok(self.done.lock().unwrap().iter().map(|(n, _)| n.clone()).max())
        }
    }

    fn all(sink: &MemSink) -> Vec<u32> {
        sink.done.lock().unwrap().iter().flat_map(|(_, r)| r.clone()).collect()
    }

    /// The records in the segment files left in `dir`: none once everything is indexed (the
    /// one file that may remain is the spare, all zeros).
    fn left_on_disk(dir: &Path) -> Vec<u32> {
        let mut names: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        names.iter().flat_map(|n| read_segment::<u32>(n).unwrap()).collect()
    }

    fn slow() -> JournalConfig {
        JournalConfig { interval: Duration::from_secs(3600), max_pending: 1000, segment_bytes: 1 << 16 }
    }

    /// covers: R-SEC-03, R-SHR-12 (appended records reach the sink in order, and `sync` waits
    /// for them; indexed segments are deleted)
    #[tokio::test]
    async fn appended_records_are_indexed_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Arc::new(MemSink::default());
        let j = Journal::open(dir.path(), sink.clone(), slow()).await.unwrap();
        for i in 0..10 {
            j.append(i).unwrap();
        }
        assert_eq!(j.pending(), 10);
        assert!(j.sync(Duration::from_secs(5)).await);
        j.append(10).unwrap();
        assert!(j.sync(Duration::from_secs(5)).await);
        assert_eq!(all(&sink), (0..=10).collect::<Vec<_>>());
        assert_eq!(j.pending(), 0);
        assert_eq!(left_on_disk(dir.path()), Vec::<u32>::new(), "indexed segments are removed");
    }

    /// covers: R-SEC-03, R-SHR-12 (what a stopped process left is indexed on the next start,
    /// exactly once: a segment at or before the last one indexed is only deleted; an unfinished last
    /// line is skipped)
    #[tokio::test]
    async fn a_restart_indexes_what_was_left_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("00000000000000000001.jsonl"), "1\n2\n").unwrap();
        fs::write(dir.path().join("00000000000000000002.jsonl"), "3\n4\n5\0\0\0").unwrap();
        fs::write(dir.path().join("00000000000000000000.jsonl"), "0\n").unwrap();
        let sink = Arc::new(MemSink::default());
        sink.done.lock().unwrap().push(("00000000000000000000.jsonl".into(), vec![0]));
        let _j = Journal::open(dir.path(), sink.clone(), slow()).await.unwrap();
        assert_eq!(all(&sink), vec![0, 1, 2, 3, 4], "0 was indexed before; 5 was never finished");
        assert_eq!(left_on_disk(dir.path()), Vec::<u32>::new());
    }

    /// covers: R-SEC-03, R-SHR-12 (records that fill a segment go on in the next one, and
    /// what a crashed process left in mapped segment files reads back in order)
    #[tokio::test]
    async fn full_segments_roll_over_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Arc::new(MemSink::default());
        let config = JournalConfig { segment_bytes: 64, ..slow() };
        let j = Journal::open(dir.path(), sink.clone(), config.clone()).await.unwrap();
        for i in 0..100 {
            j.append(i).unwrap();
        }
        let files = fs::read_dir(dir.path()).unwrap().count();
        assert!(files > 3, "100 records of up to 3 bytes fill several 64-byte segments: {files}");
        // A new process over the same directory (as after a crash) indexes them all, in order.
        let sink2 = Arc::new(MemSink::default());
        let _j2 = Journal::open(dir.path(), sink2.clone(), config).await.unwrap();
        assert_eq!(all(&sink2), (0..100).collect::<Vec<_>>());
        // The first journal's indexer finds its segments gone and indexes from memory; nothing
        // of it is lost either.
        assert!(j.sync(Duration::from_secs(5)).await);
        assert_eq!(all(&sink), (0..100).collect::<Vec<_>>());
    }

    /// covers: R-SEC-03 (names made after a start sort after the last one indexed, even when
    /// that one is later than the clock, so a restart never takes a new segment for an old one)
    #[tokio::test]
    async fn new_names_sort_after_the_last_indexed_whatever_the_clock() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Arc::new(MemSink::default());
        let future = "10000000000000000000.jsonl".to_string();
        sink.done.lock().unwrap().push((future.clone(), vec![]));
        let j = Journal::open(dir.path(), sink.clone(), slow()).await.unwrap();
        for i in 0..3 {
            j.append(i).unwrap();
            assert!(j.sync(Duration::from_secs(5)).await);
        }
        let names: Vec<String> = sink.done.lock().unwrap().iter().map(|(n, _)| n.clone()).collect();
        assert_eq!(names.len(), 4);
        assert!(names.windows(2).all(|w| w[0] < w[1]), "names increase: {names:?}");
    }

    /// covers: R-SEC-03, R-SHR-12 (the indexer prepares the next segment file ahead, and the
    /// next append writes into it instead of making a file of its own; a spare left unused by
    /// a stopped process holds no records and is only removed on the next start)
    #[tokio::test]
    async fn appends_start_segments_in_the_prepared_spare() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Arc::new(MemSink::default());
        let j = Journal::open(dir.path(), sink.clone(), slow()).await.unwrap();
        let files = || {
            let mut v: Vec<String> =
                fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
            v.sort();
            v
        };
        // The spare's name, once the indexer has prepared it.
        async fn spare(j: &Journal<u32>) -> String {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            loop {
                if let Some(s) = &j.inner.open.lock().unwrap().spare {
                    return s.name.clone();
                }
                assert!(std::time::Instant::now() < deadline, "no spare was prepared");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        for round in 0..3 {
            let ready = spare(&j).await;
            assert_eq!(files(), vec![ready.clone()], "the spare is the only file");
            j.append(round).unwrap();
            assert_eq!(files(), vec![ready.clone()], "the append wrote into the spare");
            assert_eq!(read_segment::<u32>(&dir.path().join(&ready)).unwrap(), vec![round]);
            assert!(j.sync(Duration::from_secs(5)).await);
        }
        assert_eq!(all(&sink), vec![0, 1, 2]);
        let names: Vec<String> = sink.done.lock().unwrap().iter().map(|(n, _)| n.clone()).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "names increase: {names:?}");
        // A new process over the directory indexes nothing twice and clears the spare away.
        spare(&j).await;
        let sink2 = Arc::new(MemSink::default());
        sink2.done.lock().unwrap().push((names.last().unwrap().clone(), vec![]));
        let _j2 = Journal::open(dir.path(), sink2.clone(), slow()).await.unwrap();
        assert_eq!(all(&sink2), Vec::<u32>::new());
    }

    /// covers: R-SEC-03 (a segment changed by hand is not indexed: the journal refuses to open)
    #[tokio::test]
    async fn a_damaged_segment_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("00000000000000000001.jsonl"), "1\nnot a record\n2\n").unwrap();
        let sink = Arc::new(MemSink::default());
        let e = Journal::open(dir.path(), sink, slow()).await.unwrap_err();
        assert!(e.contains("line 2"), "{e}");
    }

    /// covers: R-SEC-03 (while the database refuses, records wait on disk and in memory up to
    /// the bound, then accesses are refused; once it recovers, everything is indexed)
    #[tokio::test]
    async fn a_failing_database_bounds_and_then_drains_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Arc::new(MemSink::default());
        sink.fail.store(true, Ordering::SeqCst);
        let config = JournalConfig { interval: Duration::from_millis(10), max_pending: 3, segment_bytes: 1 << 16 };
        let j = Journal::open(dir.path(), sink.clone(), config).await.unwrap();
        for i in 0..3 {
            j.append(i).unwrap();
        }
        assert!(j.append(3).is_err(), "a full journal refuses");
        assert!(!j.sync(Duration::from_millis(200)).await, "sync reports the database not taking records");
        sink.fail.store(false, Ordering::SeqCst);
        assert!(j.sync(Duration::from_secs(10)).await);
        j.append(4).unwrap();
        assert!(j.sync(Duration::from_secs(10)).await);
        assert_eq!(all(&sink), vec![0, 1, 2, 4]);
    }
}
