//! Sorted key lists: the distinct keys of a base view's sources at given versions, in key order,
//! in a file, so that a page of the view at any offset (and within a key prefix) is found by
//! binary search instead of by sorting every key again (R-AGG-06).
//!
//! The layout, all integers little-endian: the keys' bytes one after the other; then one u64
//! offset per key and one for the end; then the key count (u64), where the offsets start (u64),
//! and the magic `PDPSKEY1`. A file is written under a temporary name and renamed, so one that
//! exists is whole. A lookup of key `i` is two positioned reads; nothing of the list is kept in
//! memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::{LakeError, Result};

const MAGIC: &[u8; 8] = b"PDPSKEY1";

fn io(path: &Path, e: std::io::Error) -> LakeError {
    LakeError::Io(format!("{}: {e}", path.display()))
}

/// Keys collected in one buffer (a key is its place in it), so that millions of them cost their
/// bytes and eight bytes each rather than a `String` each.
#[derive(Debug, Default)]
pub(crate) struct KeyArena {
    bytes: Vec<u8>,
    /// Per key: start << 24 | length.
    keys: Vec<u64>,
}

impl KeyArena {
    /// Adds a key; keys longer than 16 MB are refused.
    pub(crate) fn push(&mut self, key: &str) -> Result<()> {
        if key.len() >= 1 << 24 || self.bytes.len() as u64 >= 1 << 40 {
            return Err(LakeError::Io("a key too long for a sorted key list".into()));
        }
        self.keys.push(((self.bytes.len() as u64) << 24) | key.len() as u64);
        self.bytes.extend_from_slice(key.as_bytes());
        Ok(())
    }

    fn get(&self, k: u64) -> &[u8] {
        let (at, len) = ((k >> 24) as usize, (k & 0xff_ffff) as usize);
        &self.bytes[at..at + len]
    }

    /// Sorts the keys, drops repeats and writes the list at `path`.
    pub(crate) fn write(mut self, path: &Path) -> Result<()> {
        let mut keys = std::mem::take(&mut self.keys);
        keys.sort_unstable_by(|a, b| self.get(*a).cmp(self.get(*b)));
        keys.dedup_by(|a, b| self.get(*a) == self.get(*b));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        let tmp = path.with_extension(format!("{}.tmp", uuid::Uuid::new_v4()));
        let file = File::create(&tmp).map_err(|e| io(&tmp, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut offsets = Vec::with_capacity(keys.len() + 1);
        let mut at = 0u64;
        for &k in &keys {
            offsets.push(at);
            let b = self.get(k);
            out.write_all(b).map_err(|e| io(&tmp, e))?;
            at += b.len() as u64;
        }
        offsets.push(at);
        for o in &offsets {
            out.write_all(&o.to_le_bytes()).map_err(|e| io(&tmp, e))?;
        }
        out.write_all(&(keys.len() as u64).to_le_bytes()).map_err(|e| io(&tmp, e))?;
        out.write_all(&at.to_le_bytes()).map_err(|e| io(&tmp, e))?;
        out.write_all(MAGIC).map_err(|e| io(&tmp, e))?;
        out.flush().map_err(|e| io(&tmp, e))?;
        drop(out);
        std::fs::rename(&tmp, path).map_err(|e| io(path, e))
    }
}

/// Removes all but the `keep` newest lists in `dir` (and unfinished ones over an hour old).
pub(crate) fn keep_newest(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut lists = Vec::new();
    for e in entries.flatten() {
        let Ok(modified) = e.metadata().and_then(|m| m.modified()) else { continue };
        let name = e.file_name();
        if name.to_string_lossy().ends_with(".tmp") {
            if modified.elapsed().is_ok_and(|age| age.as_secs() > 3600) {
                let _ = std::fs::remove_file(e.path());
            }
        } else {
            lists.push((modified, e.path()));
        }
    }
    lists.sort_by_key(|l| std::cmp::Reverse(l.0));
    for (_, path) in lists.into_iter().skip(keep) {
        let _ = std::fs::remove_file(path);
    }
}

/// An open sorted key list.
#[derive(Debug)]
pub(crate) struct SortedKeys {
    file: File,
    path: PathBuf,
    count: u64,
    offsets_at: u64,
}

impl SortedKeys {
    /// Opens the list at `path`; `Ok(None)` when there is none or it is not whole.
    pub(crate) fn open(path: &Path) -> Result<Option<Self>> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(path, e)),
        };
        let len = file.metadata().map_err(|e| io(path, e))?.len();
        if len < 32 {
            return Ok(None);
        }
        let mut tail = [0u8; 24];
        file.read_exact_at(&mut tail, len - 24).map_err(|e| io(path, e))?;
        if &tail[16..] != MAGIC {
            return Ok(None);
        }
        let count = u64::from_le_bytes(tail[..8].try_into().expect("8 bytes"));
        let offsets_at = u64::from_le_bytes(tail[8..16].try_into().expect("8 bytes"));
        if offsets_at.checked_add(count.saturating_add(1).saturating_mul(8)) != Some(len - 24) {
            return Ok(None);
        }
        Ok(Some(Self { file, path: path.to_path_buf(), count, offsets_at }))
    }

    /// The key at position `i` (below [`SortedKeys::len`]).
    pub(crate) fn key(&self, i: u64) -> Result<String> {
        let mut b = [0u8; 16];
        self.file.read_exact_at(&mut b, self.offsets_at + i * 8).map_err(|e| io(&self.path, e))?;
        let from = u64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
        let to = u64::from_le_bytes(b[8..].try_into().expect("8 bytes"));
        let mut key = vec![0u8; to.saturating_sub(from) as usize];
        self.file.read_exact_at(&mut key, from).map_err(|e| io(&self.path, e))?;
        String::from_utf8(key).map_err(|_| LakeError::Io(format!("{}: a key is not UTF-8", self.path.display())))
    }

    /// The first position whose key is not below `key` by `below`.
    fn partition(&self, below: impl Fn(&str) -> bool) -> Result<u64> {
        let (mut lo, mut hi) = (0u64, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if below(&self.key(mid)?) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    /// The positions of the keys that start with `prefix`: they are contiguous.
    pub(crate) fn prefix_range(&self, prefix: &str) -> Result<(u64, u64)> {
        let from = self.partition(|k| k < prefix)?;
        let to = self.partition(|k| k < prefix || k.starts_with(prefix))?;
        Ok((from, to.max(from)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_distinct_and_found_by_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.keys");
        let mut a = KeyArena::default();
        for k in ["350102b", "359903a", "350102a", "350102b", "350103", "", "4"] {
            a.push(k).unwrap();
        }
        a.write(&path).unwrap();
        let s = SortedKeys::open(&path).unwrap().expect("whole");
        let all: Vec<String> = (0..s.count).map(|i| s.key(i).unwrap()).collect();
        assert_eq!(all, ["", "350102a", "350102b", "350103", "359903a", "4"]);
        assert_eq!(s.prefix_range("350102").unwrap(), (1, 3));
        assert_eq!(s.prefix_range("35").unwrap(), (1, 5));
        assert_eq!(s.prefix_range("").unwrap(), (0, 6));
        assert_eq!(s.prefix_range("36").unwrap(), (5, 5));
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(SortedKeys::open(&path).unwrap().is_none());
    }
}
