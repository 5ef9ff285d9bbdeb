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

/// Whether any of the eight bytes of `w` must be escaped in a JSON string: a control character
/// (below 0x20), a quote or a backslash. Exact as a yes or no (the classic "has a byte less
/// than n" and "has a zero byte" tests, which can only mark wrong lanes after a true one).
#[inline]
fn any_special(w: u64) -> bool {
    const HIGH: u64 = lanes(0x80);
    let below_space = w.wrapping_sub(lanes(0x20)) & !w;
    let q = w ^ lanes(b'"');
    let quote = q.wrapping_sub(lanes(1)) & !q;
    let s = w ^ lanes(b'\\');
    let backslash = s.wrapping_sub(lanes(1)) & !s;
    (below_space | quote | backslash) & HIGH != 0
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

/// Writes `s` as a JSON string, quotes included.
pub fn str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    // `run` is where the bytes not yet copied start; they need no escape.
    let (mut run, mut i) = (0, 0);
    while i < b.len() {
        if let Some(chunk) = b.get(i..i + 8) {
            let w = u64::from_ne_bytes(chunk.try_into().unwrap_or([0; 8]));
            if !any_special(w) {
                i += 8;
                continue;
            }
        }
        // A chunk with something to escape, or the tail: byte by byte.
        for (j, &c) in b.iter().enumerate().take((i + 8).min(b.len())).skip(i) {
            if c < 0x20 || c == b'"' || c == b'\\' {
                out.extend_from_slice(&b[run..j]);
                escape(out, c);
                run = j + 1;
            }
        }
        i = (i + 8).min(b.len());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        str(&mut out, s);
        out
    }

    /// covers: R-SEC-03, R-SHR-12 (access records are written by this module and read back by
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

    /// covers: R-SEC-03 (the chunk test is exact: it flags a chunk exactly when one of its
    /// bytes must be escaped, for every byte value in every lane)
    #[test]
    fn the_chunk_test_flags_exactly_the_chunks_with_an_escape() {
        for b in 0..=255u8 {
            for lane in 0..8 {
                for fill in [b'a', 0xe4, 0x7f, 0x20, 0xff] {
                    let mut chunk = [fill; 8];
                    chunk[lane] = b;
                    let expected = chunk.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
                    assert_eq!(any_special(u64::from_ne_bytes(chunk)), expected, "{chunk:?}");
                }
            }
        }
    }

    /// covers: R-SHR-12 (numbers and arrays as serde_json writes them)
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
}
