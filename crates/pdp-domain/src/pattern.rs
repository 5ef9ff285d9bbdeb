//! The `pattern` rule of a field: a regular expression the whole value must match (R-AGG-02).
//!
//! A load checks the pattern of every cell of its field, millions of times, and the patterns
//! catalog entries use are nearly always a fixed run of ASCII classes: mobile numbers
//! `1[3-9]\d{9}`, postcodes `\d{6}`, codes like `[A-Z]{2}\d{4}`. For those, a general regex
//! search (taking a scratch cache from a pool, running a lazy DFA) cost far more than the
//! check itself, so such a pattern is also compiled to one set of allowed bytes per position
//! and an ASCII value is decided with one comparison per byte. Anything else (alternation,
//! variable repetition, anchors, a value with non-ASCII text) goes to the regex, which stays
//! the definition: the property test in this module holds the two to the same answers.

use regex_syntax::hir::{Class, Hir, HirKind};

/// The longest fixed pattern compiled to byte sets; longer ones use the regex.
const MAX_FIXED: usize = 256;

/// A compiled `pattern` rule, matched against the whole value.
#[derive(Clone, Debug)]
pub struct Pattern {
    regex: regex::Regex,
    fixed: Option<Vec<[u64; 2]>>,
}

impl Pattern {
    /// Compiles `pattern`, anchored at both ends.
    pub fn new(pattern: &str) -> Result<Self, regex::Error> {
        let regex = regex::Regex::new(&format!("^(?:{pattern})$"))?;
        let fixed = regex_syntax::Parser::new().parse(pattern).ok().and_then(|hir| {
            let mut sets = Vec::new();
            fixed_sets(&hir, &mut sets).map(|()| sets)
        });
        Ok(Self { regex, fixed })
    }

    /// Whether the whole of `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        match &self.fixed {
            // For ASCII text, a class's ASCII part is all of it that can match.
            Some(sets) if s.is_ascii() => {
                s.len() == sets.len()
                    && s.bytes().zip(sets).all(|(b, set)| set[usize::from(b >> 6)] >> (b & 63) & 1 == 1)
            }
            _ => self.regex.is_match(s),
        }
    }

    /// Whether the pattern is matched without the regex for ASCII values (for tests).
    pub fn is_fixed(&self) -> bool {
        self.fixed.is_some()
    }
}

/// Appends the byte sets of `hir`, one per position, if it is a fixed run of classes and
/// literals; `None` otherwise.
fn fixed_sets(hir: &Hir, out: &mut Vec<[u64; 2]>) -> Option<()> {
    match hir.kind() {
        HirKind::Empty => {}
        HirKind::Literal(lit) => {
            // A literal is UTF-8; a non-ASCII one cannot be matched byte for byte here.
            for &b in lit.0.iter() {
                if !b.is_ascii() {
                    return None;
                }
                let mut set = [0u64; 2];
                set[usize::from(b >> 6)] |= 1 << (b & 63);
                out.push(set);
            }
        }
        HirKind::Class(class) => {
            let mut set = [0u64; 2];
            let mut add = |lo: u32, hi: u32| {
                for c in lo..=hi.min(127) {
                    set[(c >> 6) as usize] |= 1 << (c & 63);
                }
            };
            match class {
                Class::Unicode(c) => c.iter().for_each(|r| add(u32::from(r.start()), u32::from(r.end()))),
                Class::Bytes(c) => c.iter().for_each(|r| add(u32::from(r.start()), u32::from(r.end()))),
            }
            out.push(set);
        }
        HirKind::Repetition(rep) if rep.max == Some(rep.min) => {
            let mut one = Vec::new();
            fixed_sets(&rep.sub, &mut one)?;
            if one.len().saturating_mul(rep.min as usize) + out.len() > MAX_FIXED {
                return None;
            }
            for _ in 0..rep.min {
                out.extend_from_slice(&one);
            }
        }
        HirKind::Capture(cap) => fixed_sets(&cap.sub, out)?,
        HirKind::Concat(items) => {
            for item in items {
                fixed_sets(item, out)?;
            }
        }
        _ => return None,
    }
    (out.len() <= MAX_FIXED).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // internals, no requirement (the patterns catalog entries use are matched without the regex engine)
    #[test]
    fn common_patterns_are_fixed() {
        for p in ["1[3-9][0-9]{9}", r"1[3-9]\d{9}", r"\d{6}", "[A-Z]{2}[0-9]{4}", "(?i)ab[c-e]", "(0[1-9])", "a|b"] {
            assert!(Pattern::new(p).unwrap().is_fixed(), "{p}");
        }
        for p in ["ab|c", "[0-9]+", r"\d{2,3}", "^abc$", "中文"] {
            assert!(!Pattern::new(p).unwrap().is_fixed(), "{p}");
        }
        let mobile = Pattern::new(r"1[3-9]\d{9}").unwrap();
        assert!(mobile.is_match("13800138000"));
        assert!(!mobile.is_match("12800138000"));
        assert!(!mobile.is_match("1380013800"));
        // A non-ASCII digit is a digit to `\d`; the regex decides values that are not ASCII.
        assert!(mobile.is_match("1380013800٣"));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]
        // internals, no requirement (a pattern matched by byte sets gives the regex's answer for every
        // value)
        #[test]
        fn byte_sets_agree_with_the_regex(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "1", "a", "[3-9]", r"\d", "[A-Za-z]", "(?i)x", "[^0-9]", ".", r"\w", "[0-9]{3}", "(ab){2}", "|", "+", "?",
            ]), 1..6),
            value in "[0-9a-zA-Z٣xX中 ]{0,8}",
        ) {
            let pattern = parts.concat();
            if let Ok(p) = Pattern::new(&pattern) {
                let regex = regex::Regex::new(&format!("^(?:{pattern})$")).unwrap();
                prop_assert_eq!(p.is_match(&value), regex.is_match(&value), "{} on {:?}", pattern, value);
            }
        }
    }
}
