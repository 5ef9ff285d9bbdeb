//! Recipient fingerprints in the copies a bulk grant takes away (R-SHR-08): a leaked file, or an
//! excerpt of a few hundred of its rows, names the grant it came from.
//!
//! The fingerprint rides on the masked cells, never on a value the grant shows in clear. A
//! masked value hides characters behind asterisks (`350102********0012`, `张**`); each asterisk
//! of a copy made under a grant is written either as `*` (U+002A) or as `∗` (U+2217, the
//! asterisk operator), bit by bit from a keyed hash of the value with the asterisks
//! normalised. The key is the grant's own secret, so every grant writes its own pattern, and the
//! pattern of a cell depends on that cell alone:
//!
//! - re-ordering rows or columns, cutting an excerpt, or converting between CSV and Parquet keeps
//!   every marked cell as it is, so the pattern is still there to be checked;
//! - the grant's data is unchanged for anyone who uses it: values in clear are not touched, and a
//!   masked value carries no information beyond its visible characters, which stay as they were;
//! - checking a file against a grant recomputes the pattern of each distinct masked value and
//!   counts the asterisks that agree. Under the grant that made the copy all of them agree; under
//!   any other about half do, so a few dozen distinct masked values decide (see [`Verdict`]).
//!
//! A copy whose granted fields are all shown in clear (or pseudonymised) has no asterisk to
//! write the mark into; it gets one more column, [`TRACE_COLUMN`], whose cells are masked-looking
//! values made for the purpose ([`trace_cell`]), so no granted value is touched there either.
//!
//! Limits: dropping that column, or rewriting every `∗` as `*`, erases the mark. It tells an
//! honest mistake or an ordinary leak from which grant it came; it is not a defence against a
//! determined forger who knows the scheme.

use hmac::{KeyInit, Mac};

use crate::catalog::MaskRule;

/// An asterisk written as a 0 bit.
pub const STAR: char = '*';
/// An asterisk written as a 1 bit: U+2217 ASTERISK OPERATOR, which reads as an asterisk.
pub const MARK: char = '\u{2217}';

/// The column added to a copy that has no masked field, to carry the mark.
pub const TRACE_COLUMN: &str = "pdp_trace";

/// Whether a rule writes asterisks, and so can carry the mark.
pub fn writes_stars(rule: MaskRule) -> bool {
    !matches!(rule, MaskRule::None | MaskRule::Pseudonym | MaskRule::Suppress)
}

/// The columns of a bulk copy of `fields` masked by `rules`: the fields, and [`TRACE_COLUMN`]
/// when no field writes asterisks.
pub fn copy_columns(fields: &[String], rules: &[MaskRule]) -> Vec<String> {
    let mut out = fields.to_vec();
    if !rules.iter().any(|r| writes_stars(*r)) {
        out.push(TRACE_COLUMN.to_string());
    }
    out
}

/// The [`TRACE_COLUMN`] cell of a row whose cells, as the copy shows them, are `row`: four
/// hexadecimal digits of their SHA-256 (so the cells of different rows differ and each carries
/// bits of its own, while saying next to nothing of the row), then twelve asterisks marked under
/// `key`.
pub fn trace_cell(key: &[u8], row: &[Option<String>]) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for c in row {
        hasher.update(c.as_deref().unwrap_or_default().as_bytes());
        hasher.update([0x1f]);
    }
    let h = hasher.finalize();
    let mut v = format!("{:02x}{:02x}", h[0], h[1]);
    v.push_str(&"*".repeat(12));
    mark(key, v)
}

/// The context string that derives a grant's fingerprint key from its secret, so the key that
/// makes pseudonyms is never used as it is for anything else.
pub const KEY_CONTEXT: &[u8] = b"pdp-fingerprint-v1";

/// The fingerprint key of a grant whose secret is `grant_secret`.
pub fn key_of(grant_secret: &[u8]) -> [u8; 32] {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(grant_secret).expect("HMAC takes a key of any length");
    mac.update(KEY_CONTEXT);
    mac.finalize().into_bytes().into()
}

/// The 256 bits that mark the asterisks of `normalised` (a masked value with every asterisk
/// written `*`).
fn bits(key: &[u8], normalised: &str) -> [u8; 32] {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(normalised.as_bytes());
    mac.finalize().into_bytes().into()
}

fn bit(h: &[u8; 32], i: usize) -> bool {
    h[(i / 8) % 32] >> (i % 8) & 1 == 1
}

/// Whether a cell is a masked value, marked or not.
pub fn is_masked(value: &str) -> bool {
    value.contains(STAR) || value.contains(MARK)
}

/// `value` with every asterisk written `*`.
pub fn normalise(value: &str) -> String {
    value.replace(MARK, "*")
}

/// Marks the asterisks of a masked `value` under `key`; a value without asterisks is returned
/// unchanged (it is shown in clear, or pseudonymised, and is never touched).
pub fn mark(key: &[u8], value: String) -> String {
    if !value.contains(STAR) {
        return value;
    }
    let h = bits(key, &value);
    let mut i = 0;
    value
        .chars()
        .map(|c| {
            if c != STAR {
                return c;
            }
            let m = if bit(&h, i) { MARK } else { STAR };
            i += 1;
            m
        })
        .collect()
}

/// How many asterisks of a cell agree with the pattern `key` would have written: `(agree,
/// total)`; `(0, 0)` for a cell without asterisks.
pub fn agreement(key: &[u8], cell: &str) -> (usize, usize) {
    if !is_masked(cell) {
        return (0, 0);
    }
    let h = bits(key, &normalise(cell));
    let (mut agree, mut total) = (0, 0);
    for c in cell.chars().filter(|c| *c == STAR || *c == MARK) {
        agree += usize::from((c == MARK) == bit(&h, total));
        total += 1;
    }
    (agree, total)
}

/// What checking a file's masked cells against one grant found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Asterisks that agree with the grant's pattern.
    pub agree: usize,
    /// Asterisks checked, over the file's distinct masked values.
    pub total: usize,
}

impl Verdict {
    /// The fewest asterisks that decide: under a grant that did not make the copy, agreeing
    /// on 97 % of 64 independent bits has a chance below 10⁻¹⁴.
    pub const MIN_BITS: usize = 64;
    /// The share of asterisks that must agree: a copy made under the grant agrees on all of them;
    /// a little slack lets a few hand-edited cells through.
    pub const MIN_AGREEMENT: f64 = 0.97;

    /// Checks `cells` (each distinct masked value once) against `key`.
    pub fn of<'a>(key: &[u8], cells: impl IntoIterator<Item = &'a str>) -> Self {
        let (mut agree, mut total) = (0, 0);
        for c in cells {
            let (a, t) = agreement(key, c);
            agree += a;
            total += t;
        }
        Self { agree, total }
    }

    /// Whether the file was made under the grant.
    pub fn matches(&self) -> bool {
        self.total >= Self::MIN_BITS && self.agree as f64 >= Self::MIN_AGREEMENT * self.total as f64
    }

    /// The share of asterisks that agree (0 when none was checked).
    pub fn share(&self) -> f64 {
        if self.total == 0 { 0.0 } else { self.agree as f64 / self.total as f64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn masked_ids(n: u32) -> Vec<String> {
        (0..n).map(|i| format!("3501{:02}********{:04}", i % 7, i * 37 % 10_000)).collect()
    }

    #[test]
    fn a_copy_names_its_grant_and_no_other() {
        let (k1, k2) = (key_of(b"grant one"), key_of(b"grant two"));
        let ids = masked_ids(40);
        let one: Vec<String> = ids.iter().map(|v| mark(&k1, v.clone())).collect();
        let two: Vec<String> = ids.iter().map(|v| mark(&k2, v.clone())).collect();
        assert_ne!(one, two, "two grants write two patterns");
        assert!(one.iter().zip(&ids).all(|(m, v)| normalise(m) == *v), "the visible value is unchanged");
        assert!(Verdict::of(&k1, one.iter().map(String::as_str)).matches());
        assert!(!Verdict::of(&k2, one.iter().map(String::as_str)).matches());
        assert!(Verdict::of(&k2, two.iter().map(String::as_str)).matches());
        // Too few asterisks decide nothing.
        assert!(!Verdict::of(&k1, one.iter().take(3).map(String::as_str)).matches());
        // Values in clear are never touched.
        assert_eq!(mark(&k1, "临江市东湖路1号".into()), "临江市东湖路1号");
        // A copy with nothing masked gets a column of its own to carry the mark.
        let clear = ["credit_code".to_string(), "ent_name".to_string()];
        assert_eq!(
            copy_columns(&clear, &[MaskRule::None, MaskRule::Pseudonym]).last().map(String::as_str),
            Some(TRACE_COLUMN)
        );
        assert_eq!(copy_columns(&clear, &[MaskRule::None, MaskRule::Name]), clear.to_vec());
        let cells: Vec<String> = (0..40).map(|i| trace_cell(&k1, &[Some(format!("9135010{i:011}")), None])).collect();
        assert!(Verdict::of(&k1, cells.iter().map(String::as_str)).matches());
        assert!(!Verdict::of(&k2, cells.iter().map(String::as_str)).matches());
    }

    proptest! {
        /// internals, no requirement (marking keeps every character that is not an asterisk and
        /// the number of asterisks, and a marked value agrees with its own key entirely)
        #[test]
        fn marking_keeps_the_value_and_agrees_with_itself(v in "[0-9A-Za-z张李*]{0,24}", k in any::<[u8; 8]>()) {
            let key = key_of(&k);
            let m = mark(&key, v.clone());
            prop_assert_eq!(normalise(&m), v.clone());
            let (agree, total) = agreement(&key, &m);
            prop_assert_eq!(agree, total);
            prop_assert_eq!(total, v.chars().filter(|c| *c == STAR).count());
        }
    }
}
