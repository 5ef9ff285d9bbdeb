//! Readers that turn an uploaded file into rows of text cells: CSV (UTF-8, or GBK / GB18030
//! detected or declared), JSON Lines, XLSX and Parquet.
//!
//! Every reader streams except XLSX (the format is a zip of XML; the sheet is read at once, cell
//! by cell within [`SheetLimits`], and spreadsheets large enough for that to matter are uploaded
//! as CSV in practice). A record a
//! reader cannot parse does not stop the load: it comes out as a [`SourceRow::Unreadable`] so
//! the loader can quarantine it with its row number, keeping accepted + quarantined = input.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use datafusion::arrow::array::Array;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::LakeError;
pub use pdp_interchange::xlsx::SheetLimits;

/// The file formats a load reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    Csv,
    Jsonl,
    Xlsx,
    Parquet,
}

impl SourceFormat {
    /// Guesses the format from a file name's extension.
    pub fn from_name(name: &str) -> Option<Self> {
        let ext = name.rsplit('.').next()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "txt" => Some(Self::Csv),
            "jsonl" | "ndjson" | "json" => Some(Self::Jsonl),
            "xlsx" => Some(Self::Xlsx),
            "parquet" => Some(Self::Parquet),
            _ => None,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::from_name(&format!("x.{s}"))
    }
}

/// The text encoding of a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// UTF-8 if the first 64 KiB are valid UTF-8 (or start with a UTF-8 byte-order mark),
    /// otherwise GB18030, the superset of GBK that Chinese office software writes.
    #[default]
    Auto,
    Utf8,
    Gb18030,
}

impl Encoding {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" | "" => Some(Self::Auto),
            "utf8" | "utf-8" => Some(Self::Utf8),
            "gbk" | "gb2312" | "gb18030" => Some(Self::Gb18030),
            _ => None,
        }
    }
}

/// One record of a source.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceRow {
    /// Cells in the order of the source's header.
    Cells(Vec<String>),
    /// A record that could not be parsed, with the reason and as much of its text as is known.
    Unreadable { text: String, reason_zh: String, reason_en: String },
}

/// Records of a source in one block: every cell's text in one buffer, so a block of thousands
/// of rows costs a few allocations instead of one per cell (the loader reads files of many
/// millions of rows). Cells are spans of the buffer, so a reader that has a record's text in
/// one piece (the CSV reader's fast path) copies whole lines and lets the separators stay.
#[derive(Debug, Default)]
pub struct RowBlock {
    text: String,
    /// The start and end of each cell in `text`, the cells of all rows in order.
    spans: Vec<(usize, usize)>,
    rows: Vec<Slot>,
    unreadable: Vec<(String, String, String)>,
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    /// The row's first cell in `spans`, and its number of cells.
    Cells(usize, usize),
    /// Index into `unreadable`.
    Unreadable(usize),
}

/// One record of a [`RowBlock`].
pub enum RowRef<'a> {
    Cells(Cells<'a>),
    Unreadable { text: &'a str, reason_zh: &'a str, reason_en: &'a str },
}

/// The cells of one record of a [`RowBlock`].
#[derive(Clone, Copy)]
pub struct Cells<'a> {
    block: &'a RowBlock,
    first: usize,
    len: usize,
}

impl<'a> Cells<'a> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Cell `i` of the record (`i < len`).
    pub fn get(&self, i: usize) -> &'a str {
        let (start, end) = self.block.spans[self.first + i];
        &self.block.text[start..end]
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.len).map(|i| self.get(i))
    }
}

impl RowBlock {
    /// An empty block with room for what this one holds and a little more, so a reader
    /// filling blocks of similar rows one after another does not grow each block from nothing
    /// (every doubling of the text buffer copies it and touches fresh memory).
    pub fn empty_like(&self) -> Self {
        Self {
            text: String::with_capacity(self.text.len() + self.text.len() / 16),
            spans: Vec::with_capacity(self.spans.len() + self.spans.len() / 16),
            rows: Vec::with_capacity(self.rows.len()),
            unreadable: Vec::new(),
        }
    }

    /// Records in the block.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Appends a record of cells.
    pub fn push_cells<'s>(&mut self, cells: impl IntoIterator<Item = &'s str>) {
        let first = self.spans.len();
        for c in cells {
            let start = self.text.len();
            self.text.push_str(c);
            self.spans.push((start, self.text.len()));
        }
        self.rows.push(Slot::Cells(first, self.spans.len() - first));
    }

    /// Appends a record as a reader gave it.
    pub fn push(&mut self, row: SourceRow) {
        match row {
            SourceRow::Cells(cells) => self.push_cells(cells.iter().map(String::as_str)),
            SourceRow::Unreadable { text, reason_zh, reason_en } => {
                self.rows.push(Slot::Unreadable(self.unreadable.len()));
                self.unreadable.push((text, reason_zh, reason_en));
            }
        }
    }

    /// Record `i` (`i < len`).
    pub fn row(&self, i: usize) -> RowRef<'_> {
        match self.rows[i] {
            Slot::Cells(first, len) => RowRef::Cells(Cells { block: self, first, len }),
            Slot::Unreadable(u) => {
                let (text, zh, en) = &self.unreadable[u];
                RowRef::Unreadable { text, reason_zh: zh, reason_en: en }
            }
        }
    }

    /// Record `i` as a reader gives it.
    pub fn to_source_row(&self, i: usize) -> SourceRow {
        match self.row(i) {
            RowRef::Cells(cells) => SourceRow::Cells(cells.iter().map(str::to_string).collect()),
            RowRef::Unreadable { text, reason_zh, reason_en } => SourceRow::Unreadable {
                text: text.to_string(),
                reason_zh: reason_zh.to_string(),
                reason_en: reason_en.to_string(),
            },
        }
    }
}

/// A stream of records with a header.
pub trait RowSource: Send {
    /// Column names as the file gives them.
    fn header(&self) -> &[String];
    /// The next record, `None` at the end. An `Err` is an error of the whole file (IO), which
    /// aborts the load; a bad record is `Ok(Some(SourceRow::Unreadable))`.
    fn next_row(&mut self) -> Result<Option<SourceRow>, LakeError>;
    /// Appends records to `block` until it holds `max` or the source ends. Readers of large
    /// files override this to fill the block without building a [`SourceRow`] per record.
    fn next_rows(&mut self, block: &mut RowBlock, max: usize) -> Result<(), LakeError> {
        while block.len() < max {
            match self.next_row()? {
                Some(row) => block.push(row),
                None => break,
            }
        }
        Ok(())
    }
    /// Bytes consumed so far, for progress.
    fn bytes_read(&self) -> u64;
    /// The size of the whole input in the units of [`RowSource::bytes_read`], when known (a
    /// file, not a stream): with the bytes of the first rows it estimates the row count.
    fn total_bytes(&self) -> Option<u64> {
        None
    }
}

/// A source read from a file, whose size is known.
struct FileSource {
    inner: Box<dyn RowSource>,
    size: u64,
}

impl RowSource for FileSource {
    fn header(&self) -> &[String] {
        self.inner.header()
    }
    fn next_row(&mut self) -> Result<Option<SourceRow>, LakeError> {
        self.inner.next_row()
    }
    fn next_rows(&mut self, block: &mut RowBlock, max: usize) -> Result<(), LakeError> {
        self.inner.next_rows(block, max)
    }
    fn bytes_read(&self) -> u64 {
        self.inner.bytes_read()
    }
    fn total_bytes(&self) -> Option<u64> {
        Some(self.size)
    }
}

/// Opens `path` as `format`, reading a sheet within the default [`SheetLimits`].
pub fn open_file(path: &Path, format: SourceFormat, encoding: Encoding) -> Result<Box<dyn RowSource>, LakeError> {
    open_file_within(path, format, encoding, &SheetLimits::default())
}

/// Opens `path` as `format`, reading a sheet within `limits`.
pub fn open_file_within(
    path: &Path,
    format: SourceFormat,
    encoding: Encoding,
    limits: &SheetLimits,
) -> Result<Box<dyn RowSource>, LakeError> {
    let file = std::fs::File::open(path).map_err(|e| LakeError::Io(format!("{}: {e}", path.display())))?;
    let size = file.metadata().map_err(|e| LakeError::Io(format!("{}: {e}", path.display())))?.len();
    Ok(Box::new(FileSource { inner: open_reader_within(Box::new(file), format, encoding, limits)?, size }))
}

/// Opens any reader as `format`.
pub fn open_reader(
    reader: Box<dyn Read + Send>,
    format: SourceFormat,
    encoding: Encoding,
) -> Result<Box<dyn RowSource>, LakeError> {
    open_reader_within(reader, format, encoding, &SheetLimits::default())
}

fn open_reader_within(
    reader: Box<dyn Read + Send>,
    format: SourceFormat,
    encoding: Encoding,
    limits: &SheetLimits,
) -> Result<Box<dyn RowSource>, LakeError> {
    Ok(match format {
        SourceFormat::Csv => Box::new(CsvSource::new(reader, encoding)?),
        SourceFormat::Jsonl => Box::new(JsonlSource::new(reader)),
        SourceFormat::Xlsx => Box::new(XlsxSource::new(reader, limits)?),
        SourceFormat::Parquet => Box::new(ParquetSource::new(reader)?),
    })
}

/// Counts the bytes that pass through, shared with the source for progress.
struct Counting<R> {
    inner: R,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// Decodes GB18030 to UTF-8 as a stream, chunk by chunk.
struct Gb18030Reader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    output: String,
    pos: usize,
    done: bool,
}

impl<R: Read> Gb18030Reader<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            decoder: encoding_rs::GB18030.new_decoder_without_bom_handling(),
            input: vec![0; 64 * 1024],
            output: String::new(),
            pos: 0,
            done: false,
        }
    }
}

impl<R: Read> Read for Gb18030Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.output.len() {
            if self.done {
                return Ok(0);
            }
            let n = self.inner.read(&mut self.input)?;
            let last = n == 0;
            self.output.clear();
            self.pos = 0;
            let needed = self.decoder.max_utf8_buffer_length(n).unwrap_or(n * 4 + 16);
            self.output.reserve(needed);
            // Undecodable bytes become U+FFFD: the row then fails validation visibly instead of
            // the whole file being refused.
            let _ = self.decoder.decode_to_string(&self.input[..n], &mut self.output, last);
            if last {
                self.done = true;
            }
        }
        let bytes = &self.output.as_bytes()[self.pos..];
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads a prefix to decide the encoding, then returns a reader that yields the whole stream.
fn detect(mut reader: Box<dyn Read + Send>, encoding: Encoding) -> Result<(Box<dyn Read + Send>, bool), LakeError> {
    let mut head = Vec::with_capacity(64 * 1024);
    (&mut reader).take(64 * 1024).read_to_end(&mut head).map_err(|e| LakeError::Io(e.to_string()))?;
    let gb = match encoding {
        Encoding::Utf8 => false,
        Encoding::Gb18030 => true,
        Encoding::Auto => {
            if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
                false
            } else {
                match std::str::from_utf8(&head) {
                    Ok(_) => false,
                    // A multi-byte character cut at the end of the prefix is still UTF-8.
                    Err(e) => e.error_len().is_some(),
                }
            }
        }
    };
    let mut head = std::io::Cursor::new(head);
    if !gb && head.get_ref().starts_with(&[0xEF, 0xBB, 0xBF]) {
        head.set_position(3);
    }
    Ok((Box::new(head.chain(reader)), gb))
}

/// Bytes the CSV reader asks its input for at a time; a record longer than this grows the
/// buffer.
const CSV_BUFFER: usize = 1 << 20;

/// CSV, streamed, with a header row; rows may have any number of cells (the loader quarantines
/// a row whose count is wrong).
///
/// Most files the platform receives have no quoted fields, and splitting them is what the
/// loader's reader thread spends its time on. So a stretch of the buffer that begins at a
/// record boundary, holds no quote character and no carriage return except before a line feed,
/// and is valid UTF-8 is split at its line feeds and commas directly, copying whole lines. It
/// gives exactly the records `csv-core`'s parser would (the property test
/// `the_fast_path_reads_what_the_parser_reads` compares them): the parser skips empty lines
/// and ends records at `\r`, `\n` or `\r\n`, and without quotes that is all there is to CSV.
/// The line with the first byte that breaks the rule goes through the parser, which handles
/// quoting (and a record that spans lines), then splitting carries on after that record.
pub struct CsvSource {
    input: Box<dyn Read + Send>,
    buf: Vec<u8>,
    /// `buf[pos..len]` has been read and not yet taken.
    pos: usize,
    len: usize,
    eof: bool,
    /// `buf[pos..plain_end]` may be split the fast way (see the type's documentation).
    plain_end: usize,
    parser: csv_core::Reader,
    /// The fields and field ends of the record the parser is reading.
    fields: Vec<u8>,
    ends: Vec<usize>,
    header: Vec<String>,
    bytes: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl CsvSource {
    pub fn new(reader: Box<dyn Read + Send>, encoding: Encoding) -> Result<Self, LakeError> {
        Self::with_buffer(reader, encoding, CSV_BUFFER)
    }

    fn with_buffer(reader: Box<dyn Read + Send>, encoding: Encoding, buffer: usize) -> Result<Self, LakeError> {
        let bytes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted: Box<dyn Read + Send> = Box::new(Counting { inner: reader, count: bytes.clone() });
        let (reader, gb) = detect(counted, encoding)?;
        let input: Box<dyn Read + Send> = if gb { Box::new(Gb18030Reader::new(reader)) } else { reader };
        let mut source = Self {
            input,
            buf: vec![0; buffer.max(1)],
            pos: 0,
            len: 0,
            eof: false,
            plain_end: 0,
            parser: csv_core::Reader::new(),
            fields: vec![0; 1024],
            ends: vec![0; 64],
            header: vec![],
            bytes,
        };
        let mut first = RowBlock::default();
        source.next_rows(&mut first, 1)?;
        source.header = match first.rows.first() {
            None => vec![],
            Some(_) => match first.row(0) {
                RowRef::Cells(cells) => cells.iter().map(|h| h.trim().to_string()).collect(),
                RowRef::Unreadable { reason_zh, reason_en, .. } => {
                    return Err(LakeError::BadFile {
                        zh: format!("无法读取 CSV 表头：{reason_zh}"),
                        en: format!("cannot read the CSV header: {reason_en}"),
                    });
                }
            },
        };
        Ok(source)
    }

    /// Moves the unread bytes to the front and reads more after them (growing the buffer when
    /// one record fills it). Returns whether anything was read.
    fn refill(&mut self) -> Result<bool, LakeError> {
        if self.eof {
            return Ok(false);
        }
        self.buf.copy_within(self.pos..self.len, 0);
        self.len -= self.pos;
        self.plain_end = self.plain_end.saturating_sub(self.pos);
        self.pos = 0;
        if self.len == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let before = self.len;
        while self.len < self.buf.len() {
            match self.input.read(&mut self.buf[self.len..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(LakeError::Io(e.to_string())),
            }
        }
        Ok(self.len > before)
    }

    /// How far from `pos` (a record boundary) the buffer may be split the fast way: up to the
    /// start of the line holding the first quote or lone carriage return, or, without any, to
    /// the end of the last whole line (of the input's last line, at its end). UTF-8 is checked
    /// as the lines are split ([`split_plain`]).
    fn find_plain(&self) -> usize {
        let rest = &self.buf[self.pos..self.len];
        let line_start = |i: usize| memchr::memrchr(b'\n', &rest[..i]).map_or(0, |j| j + 1);
        let mut cut = match memchr::memchr(b'"', rest) {
            Some(q) => line_start(q),
            None if self.eof => rest.len(),
            None => memchr::memrchr(b'\n', rest).map_or(0, |j| j + 1),
        };
        // A carriage return must end a line (`\r\n`); a lone one ends a record for the parser.
        if let Some(r) = memchr::memchr_iter(b'\r', &rest[..cut]).find(|&r| rest.get(r + 1) != Some(&b'\n')) {
            cut = line_start(r);
        }
        self.pos + cut
    }

    /// Reads one record through the parser into `block`. Returns false at the end of input.
    fn parse_record(&mut self, block: &mut RowBlock) -> Result<bool, LakeError> {
        use csv_core::ReadRecordResult as R;
        let (mut out, mut nends) = (0, 0);
        loop {
            let (res, nin, nout, nend) = self.parser.read_record(
                &self.buf[self.pos..self.len],
                &mut self.fields[out..],
                &mut self.ends[nends..],
            );
            self.pos += nin;
            out += nout;
            nends += nend;
            match res {
                R::InputEmpty => {
                    // At the end of the input the parser is called with no input, which ends
                    // its last record.
                    if !self.refill()? && !self.eof {
                        return Err(LakeError::Io("the CSV input stopped".into()));
                    }
                }
                R::OutputFull => {
                    let n = self.fields.len() * 2;
                    self.fields.resize(n, 0);
                }
                R::OutputEndsFull => {
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                R::Record => break,
                R::End => return Ok(false),
            }
        }
        match std::str::from_utf8(&self.fields[..out]) {
            Ok(text) => {
                let mut start = 0;
                block.push_cells(self.ends[..nends].iter().map(|&end| {
                    let cell = &text[start..end];
                    start = end;
                    cell
                }));
            }
            Err(_) => {
                let mut start = 0;
                let cells: Vec<String> = self.ends[..nends]
                    .iter()
                    .map(|&end| {
                        let cell = String::from_utf8_lossy(&self.fields[start..end]).into_owned();
                        start = end;
                        cell
                    })
                    .collect();
                block.push(SourceRow::Unreadable {
                    text: cells.join(","),
                    reason_zh: "本行不是有效的 UTF-8 文本（文件可能是 GBK 编码，请指定编码）".into(),
                    reason_en: "the row is not valid UTF-8 (the file may be GBK: declare the encoding)".into(),
                });
            }
        }
        Ok(true)
    }
}

/// Splits whole lines of `bytes` (a plain stretch but for UTF-8, see [`CsvSource`]) into
/// `block` until it holds `max` records, and returns the bytes taken, always whole lines. When
/// the lines taken are not all UTF-8, only those before the first bad line are kept and
/// `Err` returns their length: the bad line is the parser's to report.
fn split_plain(bytes: &[u8], block: &mut RowBlock, max: usize) -> Result<usize, usize> {
    let base = block.text.len();
    let rows_before = block.rows.len();
    let mut at = 0;
    while at < bytes.len() && block.rows.len() < max {
        let nl = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i);
        let end = if nl > at && bytes[nl - 1] == b'\r' { nl - 1 } else { nl };
        // Empty lines are skipped, as the parser skips them.
        if end > at {
            let first = block.spans.len();
            let mut start = at;
            for comma in memchr::memchr_iter(b',', &bytes[at..end]) {
                block.spans.push((base + start, base + at + comma));
                start = at + comma + 1;
            }
            block.spans.push((base + start, base + end));
            block.rows.push(Slot::Cells(first, block.spans.len() - first));
        }
        at = (nl + 1).min(bytes.len());
    }
    // Checked once, here, for just the lines taken: a stretch is split over several blocks.
    // `simdutf8` checks valid text several times faster than the standard library (Chinese
    // text is mostly three-byte characters); the standard library then finds the bad line.
    // The text a check accepts is the text pushed, so valid text is checked only once.
    let (keep, text) = match simdutf8::basic::from_utf8(&bytes[..at]) {
        Ok(text) => (at, text),
        Err(_) => match std::str::from_utf8(&bytes[..at]) {
            Ok(text) => (at, text),
            Err(e) => {
                let keep = memchr::memrchr(b'\n', &bytes[..e.valid_up_to()]).map_or(0, |j| j + 1);
                // `bytes[..keep]` is the whole lines before `valid_up_to`, so UTF-8.
                (keep, std::str::from_utf8(&bytes[..keep]).unwrap_or_default())
            }
        },
    };
    // Rows from the first bad line on are the parser's to report.
    while block.rows.len() > rows_before {
        let Some(&Slot::Cells(first, _)) = block.rows.last() else { break };
        if block.spans[first].0 < base + keep {
            break;
        }
        block.rows.pop();
        block.spans.truncate(first);
    }
    block.text.push_str(text);
    if keep == at { Ok(at) } else { Err(keep) }
}

impl RowSource for CsvSource {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn next_row(&mut self) -> Result<Option<SourceRow>, LakeError> {
        let mut block = RowBlock::default();
        self.next_rows(&mut block, 1)?;
        Ok((!block.is_empty()).then(|| block.to_source_row(0)))
    }

    fn next_rows(&mut self, block: &mut RowBlock, max: usize) -> Result<(), LakeError> {
        while block.len() < max {
            if self.pos < self.plain_end {
                match split_plain(&self.buf[self.pos..self.plain_end], block, max) {
                    Ok(n) => self.pos += n,
                    Err(n) => {
                        // The next line is not UTF-8: the parser reads it.
                        self.pos += n;
                        self.plain_end = self.pos;
                    }
                }
                continue;
            }
            // Here `pos` is at a record boundary.
            if self.pos == self.len {
                if !self.refill()? {
                    break;
                }
            } else if !self.parse_record(block)? {
                break;
            }
            self.plain_end = self.find_plain();
        }
        Ok(())
    }

    fn bytes_read(&self) -> u64 {
        // What was read less what is still in the buffer, so the first rows' bytes estimate
        // the file's row count.
        let read = self.bytes.load(std::sync::atomic::Ordering::Relaxed);
        read.saturating_sub((self.len - self.pos) as u64)
    }
}

/// JSON Lines: one object per line, keys are column names. The header is the union of the
/// first object's keys; later objects may leave keys out (empty cells) but a key the header
/// does not have makes that row unreadable rather than silently dropping the value.
pub struct JsonlSource {
    lines: std::io::Lines<BufReader<Counting<Box<dyn Read + Send>>>>,
    header: Vec<String>,
    first: Option<SourceRow>,
    bytes: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl JsonlSource {
    pub fn new(reader: Box<dyn Read + Send>) -> Self {
        let bytes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let lines = BufReader::new(Counting { inner: reader, count: bytes.clone() }).lines();
        let mut s = Self { lines, header: Vec::new(), first: None, bytes };
        // The header comes from the first readable object.
        loop {
            match s.lines.next() {
                None => break,
                Some(Err(_)) => break,
                Some(Ok(line)) if line.trim().is_empty() => continue,
                Some(Ok(line)) => {
                    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(&line) {
                        s.header = map.keys().cloned().collect();
                    }
                    s.first = Some(s.convert(&line));
                    break;
                }
            }
        }
        s
    }

    fn convert(&self, line: &str) -> SourceRow {
        let unreadable = |zh: String, en: String| SourceRow::Unreadable {
            text: line.chars().take(2000).collect(),
            reason_zh: zh,
            reason_en: en,
        };
        let map = match serde_json::from_str::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(map)) => map,
            Ok(_) => return unreadable("本行不是 JSON 对象".into(), "the line is not a JSON object".into()),
            Err(e) => return unreadable(format!("JSON 格式错误：{e}"), format!("invalid JSON: {e}")),
        };
        if let Some(k) = map.keys().find(|k| !self.header.contains(k)) {
            return unreadable(format!("未知的列“{k}”"), format!("unknown column {k:?}"));
        }
        SourceRow::Cells(self.header.iter().map(|h| map.get(h).map(json_cell).unwrap_or_default()).collect())
    }
}

/// A JSON value as cell text: strings as they are, numbers and booleans as written, null empty,
/// arrays and objects as JSON.
pub fn json_cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl RowSource for JsonlSource {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn next_row(&mut self) -> Result<Option<SourceRow>, LakeError> {
        if let Some(first) = self.first.take() {
            return Ok(Some(first));
        }
        loop {
            match self.lines.next() {
                None => return Ok(None),
                Some(Err(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
                    return Ok(Some(SourceRow::Unreadable {
                        text: String::new(),
                        reason_zh: "本行不是有效的 UTF-8 文本".into(),
                        reason_en: "the line is not valid UTF-8".into(),
                    }));
                }
                Some(Err(e)) => return Err(LakeError::Io(e.to_string())),
                Some(Ok(line)) if line.trim().is_empty() => continue,
                Some(Ok(line)) => return Ok(Some(self.convert(&line))),
            }
        }
    }

    fn bytes_read(&self) -> u64 {
        self.bytes.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The first worksheet of an XLSX workbook; the first row is the header.
pub struct XlsxSource {
    header: Vec<String>,
    rows: std::vec::IntoIter<Vec<String>>,
    size: u64,
    read: u64,
    total_rows: u64,
}

impl XlsxSource {
    pub fn new(mut reader: Box<dyn Read + Send>, limits: &SheetLimits) -> Result<Self, LakeError> {
        use pdp_interchange::xlsx::{SheetError, read_first_sheet};
        let mut buf = Vec::new();
        reader.read_to_end(&mut buf).map_err(|e| LakeError::Io(e.to_string()))?;
        let size = buf.len() as u64;
        let sheet = read_first_sheet(&buf, limits, |d| xlsx_cell(&d)).map_err(|e| match e {
            SheetError::Unreadable(e) => LakeError::BadFile {
                zh: format!("无法读取 XLSX 文件：{e}"),
                en: format!("cannot read the XLSX file: {e}"),
            },
            SheetError::TooLarge { zh, en } => LakeError::BadFile { zh, en },
        })?;
        drop(buf);
        // The header is the first row with a cell, as a spreadsheet's used range begins there.
        let mut rows = sheet.into_iter().skip_while(|r| r.is_empty());
        let header: Vec<String> = rows.next().unwrap_or_default().into_iter().map(|h| h.trim().to_string()).collect();
        let rows: Vec<Vec<String>> = rows.collect();
        let total_rows = rows.len() as u64;
        Ok(Self { header, rows: rows.into_iter(), size, read: 0, total_rows })
    }
}

fn xlsx_cell(c: &calamine::Data) -> String {
    use calamine::Data;
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => excel_serial(d.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// An Excel date serial (days since 1899-12-30, the fraction is the time of day) as
/// `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`.
fn excel_serial(serial: f64) -> String {
    let days = serial.floor();
    let secs = ((serial - days) * 86_400.0).round() as i64;
    let Ok(date) = time::Date::from_julian_day(2_415_019 + days as i32) else {
        return serial.to_string();
    };
    if secs == 0 {
        format!("{date}")
    } else {
        format!("{date} {:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    }
}

impl RowSource for XlsxSource {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn next_row(&mut self) -> Result<Option<SourceRow>, LakeError> {
        let row = self.rows.next();
        if row.is_some() {
            self.read += 1;
        }
        Ok(row.map(|mut cells| {
            // Spreadsheets drop trailing empty cells; pad to the header so they are empty cells.
            if cells.len() < self.header.len() {
                cells.resize(self.header.len(), String::new());
            }
            SourceRow::Cells(cells)
        }))
    }

    fn bytes_read(&self) -> u64 {
        (self.size * self.read).checked_div(self.total_rows).unwrap_or(self.size)
    }
}

/// A Parquet file, read batch by batch; values are formatted as text and validated like any
/// other source, so a Parquet upload obeys the same rules as a CSV one.
pub struct ParquetSource {
    reader: datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    header: Vec<String>,
    batch: Option<datafusion::arrow::record_batch::RecordBatch>,
    pos: usize,
    rows_done: u64,
    total_rows: u64,
    size: u64,
}

impl ParquetSource {
    pub fn new(mut reader: Box<dyn Read + Send>) -> Result<Self, LakeError> {
        // Parquet needs random access (its footer is at the end): spool to a temporary file.
        let mut tmp = tempfile::tempfile().map_err(|e| LakeError::Io(e.to_string()))?;
        let size = std::io::copy(&mut reader, &mut tmp).map_err(|e| LakeError::Io(e.to_string()))?;
        let bad = |e: String| LakeError::BadFile {
            zh: format!("无法读取 Parquet 文件：{e}"),
            en: format!("cannot read the Parquet file: {e}"),
        };
        let builder = datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(tmp)
            .map_err(|e| bad(e.to_string()))?;
        let total_rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
        let header = builder.schema().fields().iter().map(|f| f.name().clone()).collect();
        let reader = builder.with_batch_size(8192).build().map_err(|e| bad(e.to_string()))?;
        Ok(Self { reader, header, batch: None, pos: 0, rows_done: 0, total_rows, size })
    }
}

impl RowSource for ParquetSource {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn next_row(&mut self) -> Result<Option<SourceRow>, LakeError> {
        loop {
            if let Some(batch) = &self.batch
                && self.pos < batch.num_rows()
            {
                let options = FormatOptions::default().with_null("");
                let mut cells = Vec::with_capacity(batch.num_columns());
                for col in batch.columns() {
                    if col.is_null(self.pos) {
                        cells.push(String::new());
                        continue;
                    }
                    let f =
                        ArrayFormatter::try_new(col.as_ref(), &options).map_err(|e| LakeError::Io(e.to_string()))?;
                    cells.push(f.value(self.pos).to_string());
                }
                self.pos += 1;
                self.rows_done += 1;
                return Ok(Some(SourceRow::Cells(cells)));
            }
            match self.reader.next() {
                None => return Ok(None),
                Some(Ok(b)) => {
                    self.batch = Some(b);
                    self.pos = 0;
                }
                Some(Err(e)) => return Err(LakeError::Io(e.to_string())),
            }
        }
    }

    fn bytes_read(&self) -> u64 {
        (self.size * self.rows_done).checked_div(self.total_rows).unwrap_or(self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(mut s: Box<dyn RowSource>) -> Vec<SourceRow> {
        std::iter::from_fn(|| s.next_row().unwrap()).collect()
    }

    /// A file as read: its header, or `None` when it cannot be read, and each record's cells
    /// (`None` for an unreadable record).
    type Parsed = Option<(Vec<String>, Vec<Option<Vec<String>>>)>;

    /// What the reference, the `csv` crate the loader used before, reads from `bytes` (a record
    /// that is not UTF-8 is an unreadable one).
    fn reference(bytes: &[u8]) -> Parsed {
        let mut r = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(bytes);
        let header = r.headers().ok()?.iter().map(|h| h.trim().to_string()).collect();
        let mut records = vec![];
        let mut record = csv::StringRecord::new();
        loop {
            match r.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => records.push(Some(record.iter().map(str::to_string).collect())),
                Err(e) if matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) => records.push(None),
                Err(e) => panic!("the reference failed: {e}"),
            }
        }
        Some((header, records))
    }

    /// The same through [`CsvSource`] with a buffer of `buffer` bytes and blocks of `max` rows.
    fn ours(bytes: &[u8], buffer: usize, max: usize) -> Parsed {
        let mut s =
            CsvSource::with_buffer(Box::new(std::io::Cursor::new(bytes.to_vec())), Encoding::Utf8, buffer).ok()?;
        let header = s.header().to_vec();
        let mut records = vec![];
        loop {
            let mut block = RowBlock::default();
            s.next_rows(&mut block, max).unwrap();
            if block.is_empty() {
                break;
            }
            for i in 0..block.len() {
                records.push(match block.row(i) {
                    RowRef::Cells(c) => Some(c.iter().map(str::to_string).collect()),
                    RowRef::Unreadable { .. } => None,
                });
            }
        }
        assert_eq!(s.bytes_read(), bytes.len() as u64, "every byte is taken");
        Some((header, records))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]
        // internals, no requirement (the CSV reader's fast path splits a file into exactly the records
        // the full parser reads: quotes, line ends, empty lines, non-UTF-8 rows, records split
        // over buffer refills and over blocks)
        #[test]
        fn the_fast_path_reads_what_the_parser_reads(
            pieces in proptest::collection::vec(proptest::prop_oneof![
                4 => proptest::strategy::Just(&b"ab"[..]),
                3 => proptest::strategy::Just(&b","[..]),
                3 => proptest::strategy::Just(&b"\n"[..]),
                1 => proptest::strategy::Just(&b"\r\n"[..]),
                1 => proptest::strategy::Just(&b"\r"[..]),
                1 => proptest::strategy::Just(&b"\""[..]),
                1 => proptest::strategy::Just(&b" "[..]),
                1 => proptest::strategy::Just("中".as_bytes()),
                1 => proptest::strategy::Just(&b"\xff"[..]),
            ], 0..120),
            buffer in 1usize..48,
            max in 1usize..9,
        ) {
            let bytes: Vec<u8> = pieces.concat();
            proptest::prop_assert_eq!(ours(&bytes, buffer, max), reference(&bytes));
        }
    }

    // internals, no requirement (a plain file is split the fast way across refills, and a quoted field
    // with a comma and a line break, a CRLF line and a non-UTF-8 row in the middle of it are
    // read as the parser reads them)
    #[test]
    fn plain_and_quoted_rows_mix() {
        let mut text = b"id,name\r\n".to_vec();
        for i in 0..2000 {
            text.extend_from_slice(format!("{i},名{i}\n").as_bytes());
            if i == 700 {
                text.extend_from_slice(b"x,\"a,\nb\"\r\n");
            }
            if i == 1500 {
                text.extend_from_slice(b"y,\xff\n");
            }
        }
        for buffer in [7, 64, 4096, CSV_BUFFER] {
            assert_eq!(ours(&text, buffer, 100), reference(&text));
        }
        let (header, records) = ours(&text, 4096, 8192).unwrap();
        assert_eq!(header, ["id", "name"]);
        assert_eq!(records.len(), 2002);
        assert_eq!(records[701], Some(vec!["x".to_string(), "a,\nb".to_string()]));
        assert_eq!(records[1502], None);
    }

    // covers: R-AGG-02 (GBK files from office software are read without being declared)
    #[test]
    fn gbk_csv_is_detected() {
        let (bytes, _, _) = encoding_rs::GBK.encode("姓名,地址\n张三,临江市东湖区\n");
        let s =
            open_reader(Box::new(std::io::Cursor::new(bytes.into_owned())), SourceFormat::Csv, Encoding::Auto).unwrap();
        assert_eq!(s.header(), ["姓名", "地址"]);
        assert_eq!(rows(s), [SourceRow::Cells(vec!["张三".into(), "临江市东湖区".into()])]);
        // UTF-8 with a byte-order mark.
        let s = open_reader(
            Box::new(std::io::Cursor::new(b"\xEF\xBB\xBFa,b\n1,2\n".to_vec())),
            SourceFormat::Csv,
            Encoding::Auto,
        )
        .unwrap();
        assert_eq!(s.header(), ["a", "b"]);
    }

    // covers: R-AGG-02 (an unparsable JSON line is a row to quarantine, not a lost row)
    #[test]
    fn jsonl_rows_and_bad_lines() {
        let text = "{\"a\":1,\"b\":\"x\"}\nnot json\n{\"a\":null}\n{\"c\":1}\n";
        let s =
            open_reader(Box::new(std::io::Cursor::new(text.as_bytes().to_vec())), SourceFormat::Jsonl, Encoding::Auto)
                .unwrap();
        assert_eq!(s.header(), ["a", "b"]);
        let r = rows(s);
        assert_eq!(r.len(), 4);
        assert_eq!(r[0], SourceRow::Cells(vec!["1".into(), "x".into()]));
        assert!(matches!(r[1], SourceRow::Unreadable { .. }));
        assert_eq!(r[2], SourceRow::Cells(vec!["".into(), "".into()]));
        assert!(matches!(r[3], SourceRow::Unreadable { .. }));
    }
}
