//! JSON written by hand for the records of the data-access path, byte for byte as `serde_json`
//! writes the same values, only faster.
//!
//! Every view, verify or statistics query serialises an audit event's detail and an access
//! journal line on the request's own task. `serde_json` escapes a string one byte at a time
//! (a table lookup and a branch per byte, a call per run between escapes), and a journal line
//! holds the event's detail, itself JSON, as a string full of quotes: in the sharing
//! benchmark's instruction counts, escaping alone was a tenth of a view request. [`str`] checks
//! eight bytes at a time for the three kinds of byte JSON escapes (quote, backslash and the
//! control characters below 0x20) and copies the runs between them whole.
//!
//! The invariant: what these functions write is exactly what `serde_json::to_writer` writes for
//! the same value (the tests compare them on arbitrary strings), so records written here are
//! read back with `serde_json` and their format does not depend on which writer made them.

/// Bytes of eight lanes, each `b`.
const fn lanes(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

/// The eight bytes of `w` that must be escaped in a JSON string, a control character (below
/// 0x20), a quote or a backslash, as a mask with the high bit of each such byte set. Exact for
/// every lane: each test adds within a lane only (a lane's low seven bits plus at most 0x7f
/// cannot carry out of it), unlike the shorter "has a zero byte" test, which can mark a lane
/// wrongly above a true one.
#[inline]
fn special(w: u64) -> u64 {
    const LOW7: u64 = lanes(0x7f);
    // A lane is zero exactly when its low seven bits plus 0x7f leave the high bit clear and
    // its own high bit is clear.
    let zero = |x: u64| !((x & LOW7).wrapping_add(LOW7) | x) & !LOW7;
    let below_space = !((w & LOW7).wrapping_add(lanes(0x80 - 0x20)) | w) & !LOW7;
    below_space | zero(w ^ lanes(b'"')) | zero(w ^ lanes(b'\\'))
}

/// Writes the escape of `b`, a byte that must be escaped, as `serde_json` writes it.
#[inline]
fn escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match b {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x09 => b't',
        0x0a => b'n',
        0x0c => b'f',
        0x0d => b'r',
        _ => {
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

/// Escapes the bytes of the chunk of `b` at `at` that `m` marks (see [`special`]), copying the
/// bytes since `run` before each; `run` ends past the last one escaped.
#[inline]
fn escape_marked(out: &mut Vec<u8>, b: &[u8], at: usize, mut m: u64, run: &mut usize) {
    while m != 0 {
        // Little-endian: the lowest set bit is the first byte to escape.
        let j = at + (m.trailing_zeros() / 8) as usize;
        out.extend_from_slice(&b[*run..j]);
        escape(out, b[j]);
        *run = j + 1;
        m &= m - 1;
    }
}

/// Writes `s` as a JSON string, quotes included.
pub fn str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    // `run` is where the bytes not yet copied start; they need no escape.
    let mut run = 0;
    let mut chunks = b.chunks_exact(8);
    for (c, chunk) in chunks.by_ref().enumerate() {
        let m = special(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
        escape_marked(out, b, c * 8, m, &mut run);
    }
    // The last bytes, fewer than eight, as one more chunk padded with spaces, which are never
    // escaped: the short strings of the access path (names, field names, masked values) are
    // mostly tail.
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let tail = b.len() - rest.len();
        let mut padded = [b' '; 8];
        padded[..rest.len()].copy_from_slice(rest);
        escape_marked(out, b, tail, special(u64::from_le_bytes(padded)), &mut run);
    }
    out.extend_from_slice(&b[run..]);
    out.push(b'"');
}

/// Writes `"key":` (the key must need no escape: a field name of ours).
#[inline]
pub fn key(out: &mut Vec<u8>, k: &str) {
    out.push(b'"');
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Writes an integer.
#[inline]
pub fn int(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Writes an unsigned integer.
#[inline]
pub fn uint(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Writes an integer or `null`.
#[inline]
pub fn opt_int(out: &mut Vec<u8>, n: Option<i64>) {
    match n {
        Some(n) => int(out, n),
        None => out.extend_from_slice(b"null"),
    }
}

/// Writes an array of strings.
pub fn strs(out: &mut Vec<u8>, items: &[String]) {
    out.push(b'[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        str(out, s);
    }
    out.push(b']');
}

/// Writes `true` or `false`.
#[inline]
pub fn bool(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

/// Writes a map with string keys as a JSON object, in the entries' order, each value by
/// `value`: how `serde_json` writes a `BTreeMap<String, _>`.
pub fn map<'k, V>(
    out: &mut Vec<u8>,
    entries: impl IntoIterator<Item = (&'k String, V)>,
    mut value: impl FnMut(&mut Vec<u8>, V),
) {
    out.push(b'{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        str(out, k);
        out.push(b':');
        value(out, v);
    }
    out.push(b'}');
}

/// A JSON object being written: its members in the order given, with the commas between them,
/// as `serde_json` writes a struct's fields. The keys are field names of ours and need no
/// escape. [`Object::end`] closes it.
pub struct Object<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Object<'a> {
    /// Opens an object at the end of `out`.
    pub fn begin(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    /// Writes the next member's key and returns the buffer its value is to be written to.
    pub fn member(&mut self, k: &str) -> &mut Vec<u8> {
        if !std::mem::take(&mut self.first) {
            self.out.push(b',');
        }
        key(self.out, k);
        self.out
    }

    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        str(self.member(k), v);
        self
    }

    pub fn int(&mut self, k: &str, n: i64) -> &mut Self {
        int(self.member(k), n);
        self
    }

    pub fn uint(&mut self, k: &str, n: u64) -> &mut Self {
        uint(self.member(k), n);
        self
    }

    pub fn opt_int(&mut self, k: &str, n: Option<i64>) -> &mut Self {
        opt_int(self.member(k), n);
        self
    }

    pub fn strs(&mut self, k: &str, items: &[String]) -> &mut Self {
        strs(self.member(k), items);
        self
    }

    pub fn bool(&mut self, k: &str, b: bool) -> &mut Self {
        bool(self.member(k), b);
        self
    }

    /// Closes the object.
    pub fn end(self) {
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        str(&mut out, s);
        out
    }

    /// internals, no requirement (access records are written by this module and read back by
    /// serde_json: every string comes out exactly as serde_json writes it, whatever bytes it
    /// holds and wherever they fall in the eight-byte chunks)
    #[test]
    fn strings_are_written_exactly_as_serde_json_writes_them() {
        let mut cases: Vec<String> = vec![
            String::new(),
            "a".into(),
            "\"".into(),
            "\\".into(),
            "plain ascii text that is longer than eight bytes".into(),
            r#"{"via":"api_key:3","grant":5,"fields":["id_no","name"]}"#.into(),
            "临江市东湖区 某某路 12 号 \u{7f} \u{80} \u{ffff} 😀".into(),
            "tab\there\nnew line\r\u{8}\u{c}\u{0}\u{1f}\u{1}".into(),
        ];
        // Every byte below 0x80 at every position of a 17-byte string, among clean bytes.
        for b in 0u8..0x80 {
            for at in 0..17 {
                let mut s = vec![b'x'; 17];
                s[at] = b;
                cases.push(String::from_utf8(s).unwrap());
            }
        }
        // Pseudo-random mixes of escapes, ASCII and multi-byte characters.
        let alphabet = ['a', '"', '\\', '\n', '\u{1}', '中', '😀', ' ', '/', '\u{7f}', 'Z'];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in 0..200 {
            let s: String = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    alphabet[(x % alphabet.len() as u64) as usize]
                })
                .collect();
            cases.push(s);
        }
        for s in &cases {
            assert_eq!(ours(s), serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    /// covers: R-SEC-03 (the chunk test marks exactly the bytes that must be escaped, for every
    /// byte value in every lane, beside every other byte value)
    #[test]
    fn the_chunk_test_marks_exactly_the_bytes_to_escape() {
        let must = |c: u8| c < 0x20 || c == b'"' || c == b'\\';
        for b in 0..=255u8 {
            for other in 0..=255u8 {
                for lane in 0..8 {
                    let mut chunk = [other; 8];
                    chunk[lane] = b;
                    let expected: u64 =
                        chunk.iter().enumerate().filter(|(_, c)| must(**c)).map(|(i, _)| 0x80u64 << (8 * i)).sum();
                    assert_eq!(special(u64::from_le_bytes(chunk)), expected, "{chunk:?}");
                }
            }
        }
    }

    /// internals, no requirement (numbers and arrays as serde_json writes them)
    #[test]
    fn numbers_and_arrays_match_serde_json() {
        for n in [0, 1, -1, 42, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            int(&mut out, n);
            assert_eq!(out, serde_json::to_vec(&n).unwrap());
        }
        let mut out = Vec::new();
        opt_int(&mut out, None);
        assert_eq!(out, b"null");
        let items = vec!["a\"b".to_string(), String::new(), "中".to_string()];
        let mut out = Vec::new();
        strs(&mut out, &items);
        assert_eq!(out, serde_json::to_vec(&items).unwrap());
        let mut out = Vec::new();
        strs(&mut out, &[]);
        assert_eq!(out, b"[]");
    }

    /// internals, no requirement (objects and maps as serde_json writes a struct and a BTreeMap: members
    /// in order, commas only between them, map keys escaped)
    #[test]
    fn objects_and_maps_match_serde_json() {
        use std::collections::BTreeMap;
        #[derive(serde::Serialize)]
        struct All<'a> {
            s: &'a str,
            i: i64,
            u: u64,
            none: Option<i64>,
            some: Option<i64>,
            list: &'a [String],
            yes: bool,
            m: BTreeMap<String, bool>,
        }
        let list = vec!["x\\y".to_string()];
        let m: BTreeMap<String, bool> = [("k\"1".to_string(), true), ("\u{1}".to_string(), false)].into();
        let all = All { s: "tab\there", i: -7, u: u64::MAX, none: None, some: Some(3), list: &list, yes: true, m };
        let mut out = Vec::new();
        let mut o = Object::begin(&mut out);
        o.str("s", all.s).int("i", all.i).uint("u", all.u).opt_int("none", all.none).opt_int("some", all.some);
        o.strs("list", all.list).bool("yes", all.yes);
        map(o.member("m"), &all.m, |out, v| bool(out, *v));
        o.end();
        assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&all).unwrap());

        let mut out = Vec::new();
        Object::begin(&mut out).end();
        map(&mut out, &BTreeMap::<String, bool>::new(), |out, v| bool(out, *v));
        assert_eq!(out, b"{}{}");
    }
}
