//! The one CSV cell writer of every CSV the platform writes (grant exports, upward batches, the
//! catalog export, the audit export), so that none of them can carry a formula into a
//! spreadsheet (CSV injection).
//!
//! A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is written with a
//! leading apostrophe, which spreadsheet programs show as text and do not evaluate. A cell that
//! is a plain number (`-12`, `+86`, `3.5e-2`) is left as it is: a spreadsheet reads it as that
//! number, and a data tool must get the value the grant shows. The catalog importer removes the
//! apostrophe again ([`restore`]), so an exported template imports unchanged.

use std::borrow::Cow;

fn is_plain_number(v: &str) -> bool {
    let b = v.strip_prefix(['+', '-']).unwrap_or(v).as_bytes();
    let mut digits = 0;
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

/// Whether a spreadsheet could take the cell for a formula.
fn triggers(v: &str) -> bool {
    v.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_plain_number(v)
}

/// Whether the cell gets an apostrophe: it could be taken for a formula, or it is such a cell
/// behind apostrophes of its own (so that [`restore`] gives back exactly what was written).
fn needs_prefix(v: &str) -> bool {
    triggers(v.trim_start_matches('\''))
}

/// The cell's text as written: with a leading apostrophe when it could be taken for a formula.
pub fn neutralised(v: &str) -> Cow<'_, str> {
    if needs_prefix(v) { Cow::Owned(format!("'{v}")) } else { Cow::Borrowed(v) }
}

/// The text of a cell read back from a CSV the platform wrote: the apostrophe that
/// [`neutralised`] added is taken off.
pub fn restore(v: &str) -> &str {
    match v.strip_prefix('\'') {
        Some(rest) if needs_prefix(rest) => rest,
        _ => v,
    }
}

/// Appends one cell: neutralised, then quoted when it holds a comma, quote or line break.
pub fn push_cell(out: &mut String, v: &str) {
    let v = neutralised(v);
    if v.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&v);
    }
}

/// Appends one row of cells and a line feed.
pub fn push_row<S: AsRef<str>>(out: &mut String, cells: impl IntoIterator<Item = S>) {
    for (i, c) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_cell(out, c.as_ref());
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// covers: R-SEC-05 (no exported cell is run as a formula)
    #[test]
    fn formula_cells_are_neutralised_and_numbers_kept() {
        for bad in ["=1+1", "+cmd|' /C calc'!A0", "-2+3+cmd|x", "@SUM(A1)", "\t=1", "\r=1", "-", "+", "=", "-1e"] {
            let mut out = String::new();
            push_cell(&mut out, bad);
            let cell = out.trim_start_matches('"');
            assert!(cell.starts_with('\''), "{bad:?} -> {out:?}");
            assert_eq!(restore(&neutralised(bad)), bad);
        }
        assert_eq!(neutralised("'=x"), "''=x");
        assert_eq!(restore("''=x"), "'=x");
        for keep in ["-12", "+86", "3.5", "-0.25", "1e5", "-3.5E-2", "张三", "a=b", "", "'quoted"] {
            assert_eq!(neutralised(keep), keep);
            assert_eq!(restore(keep), keep);
        }
        let mut row = String::new();
        push_row(&mut row, ["a,b", "say \"hi\"", "=x"]);
        assert_eq!(row, "\"a,b\",\"say \"\"hi\"\"\",'=x\n");
    }

    proptest::proptest! {
        /// Whatever the text, the written cell never starts with a formula character unless it
        /// is a plain number, and reading it back gives the text.
        #[test]
        fn any_text_round_trips(v in "\\PC{0,12}") {
            let n = neutralised(&v);
            proptest::prop_assert!(!triggers(&n));
            proptest::prop_assert_eq!(restore(&n), v.as_str());
        }
    }
}
