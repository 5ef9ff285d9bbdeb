//! Key files: the by-key index of one data file, written beside it when the load writes the
//! file (R-SHR-04, R-SHR-14, R-AGG-06).
//!
//! A data file is immutable, and a table version is a set of data files; so an index per data
//! file is an index of every version that contains the file, built once and never updated, and
//! a lookup at version N asks exactly the files of version N. A key file holds a copy of the
//! file's rows as the text cells a scan shows ([`crate::batch_rows`]), and for each indexed
//! column a hash table from the key to its rows. A lookup reads the bucket of the key (one read
//! of a few dozen bytes) and the row (one read of its length) with positioned reads, so it costs
//! the same whatever the table's size, and the process keeps only each file's bucket directory
//! (four bytes for every two rows) in memory; the operating system's page cache keeps what is
//! read often.
//!
//! The layout, all integers little-endian:
//!
//! ```text
//! rows      each row: per column, a varint of the cell's length + 1 (0 for null), the UTF-8 bytes
//! per indexed column:
//!   entries   16 bytes each, in bucket order: the key's hash (u64), the row's offset (40 bits)
//!             and length (24 bits)
//!   directory (buckets + 1) u32: the first entry of each bucket, then the entry count
//! footer    JSON (see [`Footer`]), its length as u64, then the magic `PDPKEY01`
//! ```
//!
//! The hash is SipHash-1-3 under a key drawn for each file and kept in its footer: stable for the
//! file, and no uploader can make many keys share a bucket. A file is written under a temporary
//! name and renamed when complete, so a key file that exists is whole; one whose footer does
//! not read is rebuilt from its data file.

use std::fs::File;
use std::hash::Hasher;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use chrono::Datelike;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Date32Type, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde::{Deserialize, Serialize};
use siphasher::sip::SipHasher13;

use crate::{LakeError, Result};

const MAGIC: &[u8; 8] = b"PDPKEY01";
/// The directory next to a table's data files that holds their key files; Delta readers and
/// `VACUUM` leave directories whose names start with `_` alone.
pub const DIR: &str = "_pdp_keys";
/// The longest row a key file holds (the entry's 24 bits); a longer row is not indexed and a
/// lookup of its key falls back to a scan.
const MAX_ROW_BYTES: usize = (1 << 24) - 1;
/// The largest rows section (the entry's 40 bits).
const MAX_ROWS_BYTES: u64 = 1 << 40;

/// The key file of the data file at `data` (a path relative to the table's root).
pub fn path_for(table_dir: &Path, data: &str) -> PathBuf {
    table_dir.join(DIR).join(file_name(data))
}

/// The name of the key file of the data file at `data`, in [`DIR`].
pub fn file_name(data: &str) -> String {
    format!("{}.keys", data.replace('/', "%2F"))
}

/// Writes a whole key file that arrived as bytes (from object storage) at `path`, under a
/// temporary name first, as the writer does.
pub(crate) fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    let tmp = path.with_extension(format!("keys.{}.tmp", uuid::Uuid::new_v4()));
    std::fs::write(&tmp, bytes).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

/// Removes the key files whose data file is gone (after `VACUUM`), and the unfinished ones a
/// killed load left more than an hour ago (a younger one may belong to a load still running).
pub(crate) fn remove_orphans(table_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(table_dir.join(DIR)) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let orphan = match name.strip_suffix(".keys") {
            Some(data) => !table_dir.join(data.replace("%2F", "/")).exists(),
            None => {
                name.ends_with(".tmp")
                    && e.metadata()
                        .and_then(|m| m.modified())
                        .is_ok_and(|t| t.elapsed().is_ok_and(|age| age.as_secs() > 3600))
            }
        };
        if orphan {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// What a key file's footer says.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Footer {
    columns: Vec<String>,
    /// Whether each column is text, where comparing the stored cell is the scan's comparison.
    text: Vec<bool>,
    rows: u64,
    /// The SipHash key.
    sip: [u64; 2],
    keys: Vec<KeyTable>,
    /// Rows whose key is not in the tables because the row is longer than a key file holds.
    #[serde(default)]
    unindexed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyTable {
    column: String,
    /// log2 of the bucket count.
    bits: u32,
    entries_at: u64,
    directory_at: u64,
    count: u64,
}

fn hash(sip: [u64; 2], key: &[u8]) -> u64 {
    let mut h = SipHasher13::new_with_keys(sip[0], sip[1]);
    h.write(key);
    h.finish()
}

fn bucket(h: u64, bits: u32) -> usize {
    if bits == 0 { 0 } else { (h >> (64 - bits)) as usize }
}

/// Buckets for `n` keys: about two keys a bucket.
fn bits_for(n: u64) -> u32 {
    let buckets = (n / 2).max(1).next_power_of_two();
    buckets.trailing_zeros().min(31)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn io(path: &Path, e: std::io::Error) -> LakeError {
    LakeError::Io(format!("{}: {e}", path.display()))
}

/// Writes the key file of one data file as its batches are written.
pub(crate) struct KeyFileWriter {
    path: PathBuf,
    tmp: PathBuf,
    out: BufWriter<File>,
    footer: Footer,
    /// The indexed columns' positions.
    key_columns: Vec<usize>,
    /// Per indexed column: (hash, offset << 24 | length) of each row with a key.
    entries: Vec<Partitions>,
    at: u64,
    row: Vec<u8>,
    cell: Vec<u8>,
}

impl KeyFileWriter {
    /// A writer of the key file at `path` for batches of `schema`, indexing `key_columns`.
    pub(crate) fn create(path: PathBuf, schema: &SchemaRef, key_columns: &[String]) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        let tmp = path.with_extension(format!("keys.{}.tmp", uuid::Uuid::new_v4()));
        let file = File::create(&tmp).map_err(|e| io(&tmp, e))?;
        let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let text = schema.fields().iter().map(|f| is_text(f.data_type())).collect();
        let positions: Vec<usize> = key_columns.iter().filter_map(|k| columns.iter().position(|c| c == k)).collect();
        let sip = uuid::Uuid::new_v4().as_u64_pair();
        let keys = positions
            .iter()
            .map(|&i| KeyTable { column: columns[i].clone(), bits: 0, entries_at: 0, directory_at: 0, count: 0 })
            .collect();
        Ok(Self {
            path,
            tmp,
            out: BufWriter::with_capacity(1 << 20, file),
            footer: Footer { columns, text, rows: 0, sip: [sip.0, sip.1], keys, unindexed: 0 },
            entries: positions.iter().map(|_| Partitions::default()).collect(),
            key_columns: positions,
            at: 0,
            row: Vec::new(),
            cell: Vec::new(),
        })
    }

    /// Adds the rows of `batch`, which has the writer's schema.
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let options = FormatOptions::default();
        let cells: Vec<Cells> = batch
            .columns()
            .iter()
            .map(|c| match c.data_type() {
                DataType::Utf8 => Ok(Cells::Utf8(c.as_string::<i32>())),
                DataType::LargeUtf8 => Ok(Cells::LargeUtf8(c.as_string::<i64>())),
                DataType::Utf8View => Ok(Cells::View(c.as_string_view())),
                DataType::Date32 => Ok(Cells::Date(c.as_primitive::<Date32Type>())),
                _ => Ok(Cells::Other(c.as_ref(), ArrayFormatter::try_new(c.as_ref(), &options)?)),
            })
            .collect::<Result<_>>()?;
        let mut key_at = vec![(0usize, 0usize); self.key_columns.len()];
        for r in 0..batch.num_rows() {
            self.row.clear();
            for (ci, c) in cells.iter().enumerate() {
                let start = self.row.len();
                match c.write(r, &mut self.cell) {
                    Some(bytes) => {
                        put_varint(&mut self.row, bytes.len() as u64 + 1);
                        let from = self.row.len();
                        self.row.extend_from_slice(bytes);
                        if let Some(k) = self.key_columns.iter().position(|&k| k == ci) {
                            key_at[k] = (from, self.row.len());
                        }
                    }
                    None => {
                        put_varint(&mut self.row, 0);
                        if let Some(k) = self.key_columns.iter().position(|&k| k == ci) {
                            key_at[k] = (start, start);
                        }
                    }
                }
            }
            self.footer.rows += 1;
            if self.row.len() > MAX_ROW_BYTES || self.at + self.row.len() as u64 >= MAX_ROWS_BYTES {
                self.footer.unindexed += 1;
                continue;
            }
            for (k, &(from, to)) in key_at.iter().enumerate() {
                if to > from {
                    let h = hash(self.footer.sip, &self.row[from..to]);
                    self.entries[k].push(h, (self.at << 24) | self.row.len() as u64);
                }
            }
            self.out.write_all(&self.row).map_err(|e| io(&self.tmp, e))?;
            self.at += self.row.len() as u64;
        }
        Ok(())
    }

    /// Writes the hash tables and the footer and gives the file its name.
    pub(crate) fn finish(mut self) -> Result<()> {
        let mut scratch = Vec::new();
        for (k, entries) in std::mem::take(&mut self.entries).into_iter().enumerate() {
            let n = entries.len;
            let bits = bits_for(n);
            let table = &mut self.footer.keys[k];
            table.bits = bits;
            table.count = n;
            table.entries_at = self.at;
            // Partition by partition (the top bits of the hash, so in bucket order), each sorted
            // by hash in a buffer used again for the next: no copy of all the entries at once.
            let mut directory = Vec::with_capacity((1usize << bits) + 1);
            let mut written = 0u32;
            let mut buf = Vec::with_capacity(1 << 16);
            for chunks in entries.parts {
                scratch.clear();
                for c in chunks {
                    scratch.extend_from_slice(&c);
                }
                scratch.sort_unstable_by_key(|e: &(u64, u64)| e.0);
                for &(h, v) in &scratch {
                    let b = bucket(h, bits);
                    while directory.len() <= b {
                        directory.push(written);
                    }
                    written += 1;
                    buf.extend_from_slice(&h.to_le_bytes());
                    buf.extend_from_slice(&v.to_le_bytes());
                    if buf.len() >= 1 << 16 {
                        self.out.write_all(&buf).map_err(|e| io(&self.tmp, e))?;
                        buf.clear();
                    }
                }
            }
            while directory.len() <= 1usize << bits {
                directory.push(written);
            }
            self.out.write_all(&buf).map_err(|e| io(&self.tmp, e))?;
            buf.clear();
            self.at += n * 16;
            table.directory_at = self.at;
            for d in &directory {
                buf.extend_from_slice(&d.to_le_bytes());
                if buf.len() >= 1 << 16 {
                    self.out.write_all(&buf).map_err(|e| io(&self.tmp, e))?;
                    buf.clear();
                }
            }
            self.out.write_all(&buf).map_err(|e| io(&self.tmp, e))?;
            self.at += directory.len() as u64 * 4;
        }
        let footer = serde_json::to_vec(&self.footer).map_err(|e| LakeError::Io(e.to_string()))?;
        self.out.write_all(&footer).map_err(|e| io(&self.tmp, e))?;
        self.out.write_all(&(footer.len() as u64).to_le_bytes()).map_err(|e| io(&self.tmp, e))?;
        self.out.write_all(MAGIC).map_err(|e| io(&self.tmp, e))?;
        self.out.flush().map_err(|e| io(&self.tmp, e))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| io(&self.path, e))?;
        Ok(())
    }
}

impl Drop for KeyFileWriter {
    fn drop(&mut self) {
        // A writer dropped before `finish` (the load gave up) leaves no key file; after
        // `finish` the temporary name no longer exists.
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// The entries of one key table while the file is written: in partitions by the top bits of
/// the hash (so that the partitions in order are the buckets in order), each a list of fixed-size
/// chunks. Nothing is ever copied to grow, and sorting needs one partition's entries at a time:
/// a growing vector of every entry, then a second one sorted by bucket, cost a tenth-gigabyte load
/// a fifth of its time in fresh pages and copies.
struct Partitions {
    parts: Vec<Vec<Vec<(u64, u64)>>>,
    len: u64,
}

/// log2 of the partitions.
const PARTITION_BITS: u32 = 8;
/// Entries in a chunk.
const CHUNK: usize = 4096;

impl Default for Partitions {
    fn default() -> Self {
        Self { parts: (0..1 << PARTITION_BITS).map(|_| Vec::new()).collect(), len: 0 }
    }
}

impl Partitions {
    fn push(&mut self, h: u64, v: u64) {
        let part = &mut self.parts[(h >> (64 - PARTITION_BITS)) as usize];
        match part.last_mut() {
            Some(c) if c.len() < CHUNK => c.push((h, v)),
            _ => {
                let mut c = Vec::with_capacity(CHUNK);
                c.push((h, v));
                part.push(c);
            }
        }
        self.len += 1;
    }
}

/// One column's cells as UTF-8 bytes.
enum Cells<'a> {
    Utf8(&'a datafusion::arrow::array::StringArray),
    LargeUtf8(&'a datafusion::arrow::array::LargeStringArray),
    View(&'a datafusion::arrow::array::StringViewArray),
    Date(&'a datafusion::arrow::array::Date32Array),
    Other(&'a dyn Array, ArrayFormatter<'a>),
}

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const UNIX_EPOCH_FROM_CE: i32 = 719_163;

impl Cells<'_> {
    /// Row `r`'s cell, `None` when null; `buf` holds formatted cells.
    fn write<'b>(&'b self, r: usize, buf: &'b mut Vec<u8>) -> Option<&'b [u8]> {
        match self {
            Cells::Utf8(a) => a.is_valid(r).then(|| a.value(r).as_bytes()),
            Cells::LargeUtf8(a) => a.is_valid(r).then(|| a.value(r).as_bytes()),
            Cells::View(a) => a.is_valid(r).then(|| a.value(r).as_bytes()),
            Cells::Date(a) => {
                if a.is_null(r) {
                    return None;
                }
                buf.clear();
                // `YYYY-MM-DD` written digit by digit, as the scan's formatter shows dates of
                // years 0 to 9999; formatting through `Display` was a tenth of a large load's
                // key-file work. Other years take the formatter's path.
                let date =
                    a.value(r).checked_add(UNIX_EPOCH_FROM_CE).and_then(chrono::NaiveDate::from_num_days_from_ce_opt);
                match date {
                    Some(d) if (0..=9999).contains(&d.year()) => {
                        let (y, m, day) = (d.year() as u32, d.month(), d.day());
                        let digit = |v: u32| b'0' + (v % 10) as u8;
                        buf.extend_from_slice(&[
                            digit(y / 1000),
                            digit(y / 100),
                            digit(y / 10),
                            digit(y),
                            b'-',
                            digit(m / 10),
                            digit(m),
                            b'-',
                            digit(day / 10),
                            digit(day),
                        ]);
                    }
                    _ => {
                        let f = ArrayFormatter::try_new(*a, &FormatOptions::default()).ok()?;
                        let _ = write!(buf, "{}", f.value(r));
                    }
                }
                Some(buf)
            }
            Cells::Other(a, f) => {
                if a.is_null(r) {
                    return None;
                }
                buf.clear();
                // Writing into a Vec cannot fail; a formatter that fails leaves the cell empty.
                let _ = write!(buf, "{}", f.value(r));
                Some(buf)
            }
        }
    }
}

pub(crate) fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// An open key file.
#[derive(Debug)]
pub struct KeyFile {
    file: File,
    footer: Footer,
    /// Per key table, its directory, read on the first lookup of the column.
    directories: Vec<std::sync::OnceLock<Vec<u32>>>,
}

impl KeyFile {
    /// Opens the key file at `path`; `Ok(None)` when there is none or it is not whole.
    pub fn open(path: &Path) -> Result<Option<Self>> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(path, e)),
        };
        let len = file.metadata().map_err(|e| io(path, e))?.len();
        if len < 16 {
            return Ok(None);
        }
        let mut tail = [0u8; 16];
        file.read_exact_at(&mut tail, len - 16).map_err(|e| io(path, e))?;
        if &tail[8..] != MAGIC {
            return Ok(None);
        }
        let footer_len = u64::from_le_bytes(tail[..8].try_into().expect("8 bytes"));
        if footer_len > len - 16 {
            return Ok(None);
        }
        let mut footer = vec![0u8; footer_len as usize];
        file.read_exact_at(&mut footer, len - 16 - footer_len).map_err(|e| io(path, e))?;
        let Ok(footer) = serde_json::from_slice::<Footer>(&footer) else { return Ok(None) };
        let directories = footer.keys.iter().map(|_| std::sync::OnceLock::new()).collect();
        Ok(Some(Self { file, footer, directories }))
    }

    /// The columns of the rows, in order.
    pub fn columns(&self) -> &[String] {
        &self.footer.columns
    }

    /// Whether column `i` is text.
    pub fn is_text(&self, i: usize) -> bool {
        self.footer.text.get(i).copied().unwrap_or(false)
    }

    /// Whether the file has a table of the keys in `column`.
    pub fn indexed(&self, column: &str) -> bool {
        self.footer.keys.iter().any(|k| k.column == column)
    }

    /// The columns the file has key tables of.
    pub fn indexed_columns(&self) -> Vec<String> {
        self.footer.keys.iter().map(|k| k.column.clone()).collect()
    }

    /// Whether the file answers lookups by `column` exactly as a scan: the column is indexed
    /// and text, and every row's key is in the index.
    pub fn answers(&self, column: &str) -> bool {
        self.footer.unindexed == 0
            && self.indexed(column)
            && self.footer.columns.iter().position(|c| c == column).is_some_and(|i| self.is_text(i))
    }

    fn directory(&self, k: usize) -> Result<&[u32]> {
        if let Some(d) = self.directories[k].get() {
            return Ok(d);
        }
        let t = &self.footer.keys[k];
        let mut bytes = vec![0u8; ((1usize << t.bits) + 1) * 4];
        self.file.read_exact_at(&mut bytes, t.directory_at).map_err(|e| LakeError::Io(e.to_string()))?;
        let d = bytes.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
        Ok(self.directories[k].get_or_init(|| d))
    }

    /// The rows whose `column` is `key`, as text cells in the file's column order.
    pub fn lookup(&self, column: &str, key: &str) -> Result<Vec<Vec<Option<String>>>> {
        let Some(k) = self.footer.keys.iter().position(|t| t.column == column) else { return Ok(vec![]) };
        let Some(key_col) = self.footer.columns.iter().position(|c| c == column) else { return Ok(vec![]) };
        let t = &self.footer.keys[k];
        let h = hash(self.footer.sip, key.as_bytes());
        let directory = self.directory(k)?;
        let b = bucket(h, t.bits);
        let (from, to) = (directory[b] as u64, directory[b + 1] as u64);
        if from == to {
            return Ok(vec![]);
        }
        let mut entries = vec![0u8; ((to - from) * 16) as usize];
        self.file.read_exact_at(&mut entries, t.entries_at + from * 16).map_err(|e| LakeError::Io(e.to_string()))?;
        let mut rows = Vec::new();
        let mut buf = Vec::new();
        for e in entries.chunks_exact(16) {
            if u64::from_le_bytes(e[..8].try_into().expect("8 bytes")) != h {
                continue;
            }
            let v = u64::from_le_bytes(e[8..].try_into().expect("8 bytes"));
            let (at, len) = (v >> 24, (v & 0xff_ffff) as usize);
            buf.resize(len, 0);
            self.file.read_exact_at(&mut buf, at).map_err(|e| LakeError::Io(e.to_string()))?;
            let row = decode_row(&buf, self.footer.columns.len())
                .ok_or_else(|| LakeError::Io("a key file's row does not decode".into()))?;
            if row.get(key_col).and_then(|c| c.as_deref()) == Some(key) {
                rows.push(row);
            }
        }
        Ok(rows)
    }
}

fn decode_row(b: &[u8], columns: usize) -> Option<Vec<Option<String>>> {
    let mut at = 0;
    let mut row = Vec::with_capacity(columns);
    for _ in 0..columns {
        let n = get_varint(b, &mut at)? as usize;
        if n == 0 {
            row.push(None);
        } else {
            let end = at.checked_add(n - 1)?;
            row.push(Some(std::str::from_utf8(b.get(at..end)?).ok()?.to_string()));
            at = end;
        }
    }
    Some(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{ArrayRef, Date32Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn batch(range: std::ops::Range<i32>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("born", DataType::Date32, true),
        ]));
        let ids: StringArray = range.clone().map(|i| Some(format!("k{}", i % 1000))).collect();
        let names: StringArray = range.clone().map(|i| (i % 7 != 0).then(|| format!("名{i}"))).collect();
        // Days from before the common era to past year 9999, and nulls.
        let born: Date32Array = range.map(|i| (i % 5 != 0).then_some((i - 2500) * 1500)).collect();
        RecordBatch::try_new(schema, vec![Arc::new(ids) as ArrayRef, Arc::new(names), Arc::new(born)]).unwrap()
    }

    #[test]
    fn every_row_is_found_by_its_key_with_the_cells_a_scan_shows() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(dir.path(), "part-0.parquet");
        let (a, b) = (batch(0..2500), batch(2500..5000));
        let mut w = KeyFileWriter::create(path.clone(), &a.schema(), &["id".into(), "name".into()]).unwrap();
        w.write(&a).unwrap();
        w.write(&b).unwrap();
        w.finish().unwrap();
        let f = KeyFile::open(&path).unwrap().expect("whole");
        assert!(f.answers("id") && f.answers("name") && !f.answers("born") && !f.indexed("born"));
        let mut expected: Vec<Vec<Option<String>>> = crate::batch_rows(&a).unwrap();
        expected.extend(crate::batch_rows(&b).unwrap());
        for key in ["k0", "k999", "k500"] {
            let mut got = f.lookup("id", key).unwrap();
            let mut want: Vec<_> = expected.iter().filter(|r| r[0].as_deref() == Some(key)).cloned().collect();
            got.sort();
            want.sort();
            assert_eq!(got.len(), 5);
            assert_eq!(got, want);
        }
        assert_eq!(f.lookup("name", "名4999").unwrap(), vec![expected[4999].clone()]);
        assert!(f.lookup("name", "名7").unwrap().is_empty(), "a null key is in no bucket");
        assert!(f.lookup("id", "k1000").unwrap().is_empty());
        // A key file cut short is not whole and reads as absent.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert!(KeyFile::open(&path).unwrap().is_none());
    }

    #[test]
    fn a_writer_dropped_before_finishing_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(dir.path(), "part-1.parquet");
        let a = batch(0..10);
        let mut w = KeyFileWriter::create(path.clone(), &a.schema(), &["id".into()]).unwrap();
        w.write(&a).unwrap();
        drop(w);
        assert!(std::fs::read_dir(dir.path().join(DIR)).unwrap().next().is_none());
    }
}
