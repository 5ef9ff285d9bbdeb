//! Validation of dataset rows against their catalog entry (R-AGG-02, R-AGG-04).
//!
//! A load reads rows of text cells (CSV, XLSX, JSON Lines all come down to text or typed cells),
//! and each row either becomes a typed record or goes to quarantine with every reason it failed:
//! type, required, enumeration, range, length, pattern, citizen ID (GB 11643) or credit code
//! (GB 32100) on identifier fields, and key uniqueness within the load. The rules come from the
//! catalog entry's fields ([`FieldRules`]), so the provider that describes its data also
//! describes what valid data looks like. Nothing here does IO; the loader in `pdp-lake` streams
//! rows through a [`RowValidator`] and writes the two outcomes.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{BuildHasher, Hash};

use serde::{Deserialize, Serialize};
use time::Date;

use crate::catalog::{DataType, EntryBody, Field, IdentifierRole};
use crate::ids::{CitizenId, CreditCode, FinalCheck, PlaceCode};
use crate::pattern::Pattern;

/// How a load changes a dataset; the catalog entry's provider chooses per load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadMode {
    /// The load is the whole dataset: the new version has exactly the accepted rows.
    #[default]
    Full,
    /// Rows replace the rows with the same key and the others are kept (needs a key field).
    Upsert,
    /// Rows are added (for datasets without a key, such as event records).
    Append,
}

impl LoadMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Upsert => "upsert",
            Self::Append => "append",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Full => "全量替换",
            Self::Upsert => "按键更新",
            Self::Append => "追加",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::Full => "Full",
            Self::Upsert => "Upsert",
            Self::Append => "Append",
        }
    }

    /// Parses the mode's code, or `replace` and `incremental` as people also call them.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "full" | "replace" => Some(Self::Full),
            "upsert" | "incremental" => Some(Self::Upsert),
            "append" => Some(Self::Append),
            _ => None,
        }
    }
}

/// What kind of commit a version of a dataset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitKind {
    Create,
    Load,
    /// Quarantined rows corrected by the provider.
    Correction,
    /// Retention removed the data files of old versions (Delta VACUUM); the rows are unchanged.
    Retention,
}

impl CommitKind {
    pub const ALL: [CommitKind; 4] = [Self::Create, Self::Load, Self::Correction, Self::Retention];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Load => "load",
            Self::Correction => "correction",
            Self::Retention => "retention",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s.trim())
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Create => "建表",
            Self::Load => "归集",
            Self::Correction => "更正",
            Self::Retention => "保留期清理",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::Create => "Created",
            Self::Load => "Load",
            Self::Correction => "Correction",
            Self::Retention => "Retention",
        }
    }
}

crate::catalog::labeled_enum!(
    /// Why a data quality task was raised for a dataset's provider (R-AGG-04).
    QualityTaskKind {
        Quarantine => "quarantine", "隔离数据待处理", "Rows in quarantine";
        LowScore => "low_score", "质量评分偏低", "Low quality score";
    }
);

crate::catalog::labeled_enum!(
    /// Where a data quality task stands: open, or closed by the provider as confirmed (the
    /// data is right as it is) or corrected.
    QualityTaskStatus {
        Open => "open", "待处理", "Open";
        Confirmed => "confirmed", "核实无误", "Confirmed as is";
        Corrected => "corrected", "已更正", "Corrected";
    }
);

/// Per-field rules beyond the data type. All optional; the default accepts any well-typed value
/// or an empty cell.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FieldRules {
    /// An empty cell is an error.
    pub required: bool,
    /// The field is (part of) the record key: unique within a load, required, and what an
    /// incremental load upserts by.
    pub key: bool,
    /// Allowed values (an enumeration), compared after trimming.
    pub values: Vec<String>,
    /// Inclusive bounds for integers and decimals.
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Longest text, in characters.
    pub max_len: Option<u32>,
    /// A regular expression the whole text must match (it is anchored for you).
    pub pattern: Option<String>,
}

// Bounds are compared exactly; NaN is refused when the rules are checked.
impl Eq for FieldRules {}

impl FieldRules {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A typed cell. Text borrows the cell it was read from unless checking changed it (an
/// identifier put in its normal form), so a valid row costs no allocation per text cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Text(Cow<'a, str>),
    Int(i64),
    Decimal(f64),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01T00:00:00Z; local times without an offset are China
    /// Standard Time.
    DateTime(i64),
    Bool(bool),
    Binary(Vec<u8>),
}

/// One reason a row was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// The field name, or empty for the whole row (wrong number of cells).
    pub field: String,
    /// A stable rule code: `type`, `required`, `enum`, `range`, `length`, `pattern`,
    /// `citizen_id`, `credit_code`, `duplicate_key`, `columns`.
    pub rule: String,
    pub message_zh: String,
    pub message_en: String,
}

fn err(field: &Field, rule: &str, zh: String, en: String) -> RowError {
    RowError { field: field.name.clone(), rule: rule.into(), message_zh: zh, message_en: en }
}

/// A problem with the rules themselves (a bad pattern), found before any row is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field {field}: {message}")]
pub struct RulesError {
    pub field: String,
    pub message: String,
}

#[derive(Clone)]
struct Compiled {
    field: Field,
    pattern: Option<Pattern>,
    values: HashSet<String>,
}

/// 128-bit fingerprints of keys, from SipHash-1-3 with 128-bit output under a random key:
/// constant size whatever the key's length, no realistic chance that two different keys share
/// one, and no way for a file's author to make them collide. One pass over the key (two 64-bit
/// SipHash functions with separate keys took twice as long). Fingerprints compare only within
/// one hasher (one load); clones share its key.
#[derive(Clone)]
pub struct KeyHasher {
    k0: u64,
    k1: u64,
}

impl Default for KeyHasher {
    fn default() -> Self {
        // The standard library's random hasher keys, drawn from the operating system.
        let random = std::collections::hash_map::RandomState::new();
        Self { k0: random.hash_one(0u64), k1: random.hash_one(1u64) }
    }
}

impl KeyHasher {
    /// The fingerprint of a key made of `parts`, in order.
    pub fn of_parts<S: AsRef<str>>(&self, parts: impl IntoIterator<Item = S>) -> u128 {
        use siphasher::sip128::Hasher128;
        let mut h = siphasher::sip128::SipHasher13::new_with_keys(self.k0, self.k1);
        for part in parts {
            part.as_ref().hash(&mut h);
        }
        h.finish128().as_u128()
    }
}

/// Checks rows of one entry. It keeps no state between rows, so one validator can check the
/// chunks of a file on several threads at once; key uniqueness within a load needs every key
/// seen so far, which is the loader's business (it keeps them out of memory), and this type
/// gives it each accepted row's key [`fingerprint`](Self::fingerprint).
///
/// A clone checks the same rules and gives the same fingerprints; threads that check many rows
/// each take one, because a pattern's matcher keeps its scratch space in a pool that serves one
/// thread quickly and makes every other thread take turns at a lock.
#[derive(Clone)]
pub struct RowValidator {
    fields: Vec<Compiled>,
    key_fields: Vec<usize>,
    hasher: KeyHasher,
    today: Date,
}

impl RowValidator {
    /// Prepares the rules of `entry`. `today` bounds birth dates in citizen ID numbers.
    pub fn new(entry: &EntryBody, today: Date) -> Result<Self, RulesError> {
        let mut fields = Vec::with_capacity(entry.fields.len());
        for f in &entry.fields {
            let pattern = match &f.rules.pattern {
                Some(p) if !p.is_empty() => {
                    Some(Pattern::new(p).map_err(|e| RulesError { field: f.name.clone(), message: e.to_string() })?)
                }
                _ => None,
            };
            fields.push(Compiled {
                field: f.clone(),
                pattern,
                values: f.rules.values.iter().map(|v| v.trim().to_string()).collect(),
            });
        }
        let key_fields = entry.fields.iter().enumerate().filter(|(_, f)| f.rules.key).map(|(i, _)| i).collect();
        Ok(Self { fields, key_fields, hasher: KeyHasher::default(), today })
    }

    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().map(|c| &c.field)
    }

    /// Validates one row of text cells in field order. Returns the typed values, or every
    /// reason the row fails. Key uniqueness is not checked here (see [`Self::fingerprint`]).
    pub fn check<'a>(&self, cells: &[&'a str]) -> Result<Vec<Value<'a>>, Vec<RowError>> {
        let mut values = Vec::with_capacity(cells.len());
        self.check_into(cells, &mut values).map(|()| values)
    }

    /// [`Self::check`] into a vector the caller reuses from row to row (the loader's hot
    /// path). `values` is cleared first; after an error its contents mean nothing.
    pub fn check_into<'a>(&self, cells: &[&'a str], values: &mut Vec<Value<'a>>) -> Result<(), Vec<RowError>> {
        values.clear();
        if cells.len() != self.fields.len() {
            return Err(vec![RowError {
                field: String::new(),
                rule: "columns".into(),
                message_zh: format!("本行有 {} 个值，应为 {} 个", cells.len(), self.fields.len()),
                message_en: format!("the row has {} values, expected {}", cells.len(), self.fields.len()),
            }]);
        }
        let mut failed = false;
        for (c, raw) in self.fields.iter().zip(cells) {
            match check_cell::<Quick>(c, raw, self.today) {
                Ok(v) => values.push(v),
                Err(()) => {
                    failed = true;
                    break;
                }
            }
        }
        if !failed {
            return Ok(());
        }
        // The rare refused row is checked again, with messages, for every reason it fails.
        values.clear();
        let errors: Vec<RowError> =
            self.fields.iter().zip(cells).filter_map(|(c, raw)| check_cell::<Full>(c, raw, self.today).err()).collect();
        Err(errors)
    }

    /// The 128-bit fingerprint of a valid row's key (its normalised values, so `x` and `X` at the
    /// end of a citizen ID are one key), or `None` when the entry has no key. Two rows of one
    /// load with the same fingerprint have the same key.
    pub fn fingerprint(&self, values: &[Value]) -> Option<u128> {
        if self.key_fields.is_empty() {
            return None;
        }
        let parts = self.key_fields.iter().map(|&i| match &values[i] {
            Value::Text(s) => Cow::Borrowed(s.as_ref()),
            other => Cow::Owned(display(other)),
        });
        Some(self.hasher.of_parts(parts))
    }

    /// The reason a valid row is refused when an earlier row of the load has its key.
    pub fn duplicate_error(&self, values: &[Value]) -> RowError {
        let names: Vec<&str> = self.key_fields.iter().map(|&i| self.fields[i].field.name.as_str()).collect();
        let shown: Vec<String> = self.key_fields.iter().map(|&i| display(&values[i])).collect();
        RowError {
            field: names.join(","),
            rule: "duplicate_key".into(),
            message_zh: format!("主键重复：{}", shown.join("，")),
            message_en: format!("duplicate key: {}", shown.join(", ")),
        }
    }
}

/// A value as text, for messages and keys.
pub fn display(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Text(s) => s.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Decimal(d) => d.to_string(),
        Value::Date(d) => Date::from_julian_day(2_440_588 + d)
            .ok()
            .and_then(|d| d.format(crate::calendar::ISO_DATE).ok())
            .unwrap_or_default(),
        Value::DateTime(us) => us.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Binary(b) => format!("{} bytes", b.len()),
    }
}

/// How a cell check reports a broken rule. A load checks every cell of millions of rows and
/// nearly all pass, so the check runs first with [`Quick`], whose error is nothing at all; only
/// a row that fails is checked again with [`Full`], which writes the messages. Moving a full
/// [`RowError`] (four strings) through every cell's `Result` cost more than the checks.
trait Reason {
    type Error;
    fn of(f: &Field, rule: &'static str, messages: impl FnOnce() -> (String, String)) -> Self::Error;
}

enum Quick {}
enum Full {}

impl Reason for Quick {
    type Error = ();
    #[inline(always)]
    fn of(_: &Field, _: &'static str, _: impl FnOnce() -> (String, String)) {}
}

impl Reason for Full {
    type Error = RowError;
    #[cold]
    fn of(f: &Field, rule: &'static str, messages: impl FnOnce() -> (String, String)) -> RowError {
        let (zh, en) = messages();
        err(f, rule, zh, en)
    }
}

fn check_cell<'a, R: Reason>(c: &Compiled, raw: &'a str, today: Date) -> Result<Value<'a>, R::Error> {
    let f = &c.field;
    let s = raw.trim();
    if s.is_empty() {
        if f.rules.required || f.rules.key {
            return Err(R::of(f, "required", || (format!("“{}”不能为空", f.label), format!("{} is required", f.name))));
        }
        return Ok(Value::Null);
    }
    let value = parse_typed::<R>(f, s)?;
    // Identifiers are checked by their standards and stored in their normal form.
    let value = match (f.identifier, value) {
        (IdentifierRole::CitizenId, Value::Text(t)) => match CitizenId::normalise_at(&t, today) {
            // The cell itself when it was already in normal form (nearly always).
            Ok(Cow::Borrowed(_)) => Value::Text(t),
            Ok(Cow::Owned(id)) => Value::Text(Cow::Owned(id)),
            Err(e) => {
                use crate::Localized;
                return Err(R::of(f, "citizen_id", || (e.message_zh(), e.message_en())));
            }
        },
        (IdentifierRole::CreditCode, Value::Text(t)) => match CreditCode::parse_with(&t, FinalCheck::Error) {
            Ok(code) if code.as_str() == t => Value::Text(t),
            Ok(code) => Value::Text(Cow::Owned(code.as_str().to_string())),
            Err(e) => {
                use crate::Localized;
                return Err(R::of(f, "credit_code", || (e.message_zh(), e.message_en())));
            }
        },
        (IdentifierRole::PlaceCode, Value::Text(t)) => match PlaceCode::parse(&t) {
            Ok(code) if code.as_str() == t => Value::Text(t),
            Ok(code) => Value::Text(Cow::Owned(code.as_str().to_string())),
            Err(e) => {
                use crate::Localized;
                return Err(R::of(f, "place_code", || (e.message_zh(), e.message_en())));
            }
        },
        (_, v) => v,
    };
    if !c.values.is_empty() && !c.values.contains(s) {
        return Err(R::of(f, "enum", || {
            let allowed: Vec<&str> = f.rules.values.iter().map(String::as_str).collect();
            (
                format!("“{}”的值“{s}”不在允许范围内：{}", f.label, allowed.join("、")),
                format!("{} value {s:?} is not one of {}", f.name, allowed.join(", ")),
            )
        }));
    }
    let number = match value {
        Value::Int(i) => Some(i as f64),
        Value::Decimal(d) => Some(d),
        _ => None,
    };
    if let Some(n) = number {
        let below = f.rules.min.is_some_and(|m| n < m);
        let above = f.rules.max.is_some_and(|m| n > m);
        if below || above {
            return Err(R::of(f, "range", || {
                let range = format!(
                    "[{}, {}]",
                    f.rules.min.map(|m| m.to_string()).unwrap_or_else(|| "-∞".into()),
                    f.rules.max.map(|m| m.to_string()).unwrap_or_else(|| "+∞".into())
                );
                (format!("“{}”的值 {s} 超出范围 {range}", f.label), format!("{} value {s} is outside {range}", f.name))
            }));
        }
    }
    if let Value::Text(t) = &value {
        if let Some(max) = f.rules.max_len
            && t.chars().count() > max as usize
        {
            return Err(R::of(f, "length", || {
                (format!("“{}”超过 {max} 个字符", f.label), format!("{} is longer than {max} characters", f.name))
            }));
        }
        if let Some(p) = &c.pattern
            && !p.is_match(t)
        {
            return Err(R::of(f, "pattern", || {
                (
                    format!("“{}”的值“{t}”格式不符", f.label),
                    format!("{} value {t:?} does not match its pattern", f.name),
                )
            }));
        }
    }
    Ok(value)
}

fn type_error<R: Reason>(f: &Field, s: &str) -> R::Error {
    R::of(f, "type", || {
        (
            format!("“{}”的值“{s}”不是{}", f.label, f.data_type.label_zh()),
            format!("{} value {s:?} is not {}", f.name, f.data_type.label_en().to_lowercase()),
        )
    })
}

fn parse_typed<'a, R: Reason>(f: &Field, s: &'a str) -> Result<Value<'a>, R::Error> {
    match f.data_type {
        DataType::Text => Ok(Value::Text(Cow::Borrowed(s))),
        DataType::Integer => s.parse::<i64>().map(Value::Int).map_err(|_| type_error::<R>(f, s)),
        DataType::Decimal => match s.parse::<f64>() {
            Ok(d) if d.is_finite() => Ok(Value::Decimal(d)),
            _ => Err(type_error::<R>(f, s)),
        },
        DataType::Date => parse_date(s).map(Value::Date).ok_or_else(|| type_error::<R>(f, s)),
        DataType::DateTime => parse_datetime(s).map(Value::DateTime).ok_or_else(|| type_error::<R>(f, s)),
        DataType::Boolean => match s {
            "1" | "true" | "TRUE" | "True" | "是" | "Y" | "y" => Ok(Value::Bool(true)),
            "0" | "false" | "FALSE" | "False" | "否" | "N" | "n" => Ok(Value::Bool(false)),
            _ => Err(type_error::<R>(f, s)),
        },
        DataType::Binary => decode_hex(s).map(Value::Binary).ok_or_else(|| type_error::<R>(f, s)),
    }
}

/// `YYYY-MM-DD`, `YYYY/MM/DD` or `YYYYMMDD`.
fn parse_date(s: &str) -> Option<i32> {
    // The common form is read digit by digit: this runs for every date cell of a load, and the
    // general path below allocates and interprets a format description each time.
    let b = s.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |a, &c| c.is_ascii_digit().then(|| a * 10 + u32::from(c - b'0')))
        };
        let month = time::Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
        let d = Date::from_calendar_date(num(0..4)? as i32, month, u8::try_from(num(8..10)?).ok()?).ok()?;
        return Some(d.to_julian_day() - 2_440_588);
    }
    parse_date_general(s)
}

fn parse_date_general(s: &str) -> Option<i32> {
    let norm: String = if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &s[0..4], &s[4..6], &s[6..8])
    } else {
        s.replace('/', "-")
    };
    let d = Date::parse(&norm, crate::calendar::ISO_DATE).ok()?;
    Some(d.to_julian_day() - 2_440_588)
}

/// `YYYY-MM-DD HH:MM:SS` or with `T`, optionally with an offset (`Z`, `+08:00`); without one it
/// is China Standard Time.
fn parse_datetime(s: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    let s = s.trim().replacen(' ', "T", 1);
    let t = time::OffsetDateTime::parse(&s, &Rfc3339).ok().or_else(|| {
        let local =
            time::PrimitiveDateTime::parse(&s, format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"))
                .ok()?;
        Some(local.assume_offset(time::UtcOffset::from_hms(8, 0, 0).ok()?))
    })?;
    i64::try_from(t.unix_timestamp_nanos() / 1000).ok()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// What a load counted while it streamed, kept in the load's commit so the scores can always be
/// recomputed from the lake itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadStats {
    pub input_rows: u64,
    pub accepted: u64,
    pub quarantined: u64,
    /// Non-empty cells and all cells, over every input row with the right number of cells.
    pub filled_cells: u64,
    pub total_cells: u64,
    /// Refused rows by the first rule of each class they broke (`type`, `enum`, …); a row that
    /// breaks two rules counts under both.
    pub rule_counts: std::collections::BTreeMap<String, u64>,
    /// Refused rows by class, each row counted once per class: broken value rules, broken
    /// structure or types, duplicate keys.
    #[serde(default)]
    pub value_rows: u64,
    #[serde(default)]
    pub structure_rows: u64,
    #[serde(default)]
    pub duplicate_rows: u64,
}

const VALUE_RULES: [&str; 7] = ["required", "enum", "range", "length", "pattern", "citizen_id", "credit_code"];
const STRUCTURE_RULES: [&str; 3] = ["columns", "type", "format"];

impl LoadStats {
    /// Counts one accepted row from its checked values: a cell is filled exactly when its value
    /// is not null (an empty or blank cell is null, anything else has a value), so the cells
    /// need not be trimmed a second time.
    pub fn count_accepted(&mut self, values: &[Value]) {
        self.input_rows += 1;
        self.accepted += 1;
        self.total_cells += values.len() as u64;
        self.filled_cells += values.iter().filter(|v| !matches!(v, Value::Null)).count() as u64;
    }

    /// Counts one input row: its cells and, if refused, its reasons.
    pub fn count(&mut self, cells: &[&str], errors: Option<&[RowError]>) {
        self.input_rows += 1;
        self.total_cells += cells.len() as u64;
        self.filled_cells += cells.iter().filter(|c| !c.trim().is_empty()).count() as u64;
        match errors {
            None => self.accepted += 1,
            Some(errors) => {
                self.quarantined += 1;
                let mut rules: Vec<&str> = errors.iter().map(|e| e.rule.as_str()).collect();
                rules.sort_unstable();
                rules.dedup();
                for r in &rules {
                    *self.rule_counts.entry(r.to_string()).or_default() += 1;
                }
                self.value_rows += u64::from(rules.iter().any(|r| VALUE_RULES.contains(r)));
                self.structure_rows += u64::from(rules.iter().any(|r| STRUCTURE_RULES.contains(r)));
                self.duplicate_rows += u64::from(rules.contains(&"duplicate_key"));
            }
        }
    }
}

impl LoadStats {
    /// Adds the counts of another part of the same load (the loader validates chunks of a file
    /// on several threads, each counting its own).
    pub fn merge(&mut self, other: &LoadStats) {
        self.input_rows += other.input_rows;
        self.accepted += other.accepted;
        self.quarantined += other.quarantined;
        self.filled_cells += other.filled_cells;
        self.total_cells += other.total_cells;
        for (rule, n) in &other.rule_counts {
            *self.rule_counts.entry(rule.clone()).or_default() += n;
        }
        self.value_rows += other.value_rows;
        self.structure_rows += other.structure_rows;
        self.duplicate_rows += other.duplicate_rows;
    }

    /// Moves one row counted as accepted to the quarantine for a duplicate key, which the
    /// loader finds after the row's own checks passed.
    pub fn refuse_duplicate(&mut self) {
        self.accepted -= 1;
        self.quarantined += 1;
        *self.rule_counts.entry("duplicate_key".into()).or_default() += 1;
        self.duplicate_rows += 1;
    }
}

/// Quality scores of a load (R-AGG-04), each from 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QualityScores {
    /// Share of filled cells.
    pub completeness: f64,
    /// Share of rows whose values keep the field rules (enumerations, ranges, lengths,
    /// patterns, identifier check digits, required fields).
    pub validity: f64,
    /// Share of rows whose key is not a duplicate.
    pub uniqueness: f64,
    /// 100 while the dataset is loaded within its update frequency, falling linearly to 0 at
    /// three periods late.
    pub timeliness: f64,
    /// Share of rows that conform to the declared structure and types (right number of cells,
    /// parsable values, readable encoding).
    pub consistency: f64,
    /// The mean of the five.
    pub overall: f64,
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 { 100.0 } else { (1.0 - part as f64 / whole as f64) * 100.0 }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

impl QualityScores {
    /// Scores a load from its counts; `days_since_load` and the entry's update frequency give
    /// timeliness (use 0 for the load itself, the current age for a dataset).
    pub fn of(stats: &LoadStats, frequency: crate::catalog::Frequency, days_since_load: f64) -> Self {
        let completeness =
            if stats.total_cells == 0 { 100.0 } else { stats.filled_cells as f64 / stats.total_cells as f64 * 100.0 };
        let validity = share(stats.value_rows, stats.input_rows);
        let uniqueness = share(stats.duplicate_rows, stats.input_rows);
        let consistency = share(stats.structure_rows, stats.input_rows);
        let period = period_days(frequency);
        let late = (days_since_load - period).max(0.0);
        let timeliness = (100.0 - late / (3.0 * period) * 100.0).clamp(0.0, 100.0);
        let overall = (completeness + validity + uniqueness + timeliness + consistency) / 5.0;
        Self {
            completeness: round1(completeness),
            validity: round1(validity),
            uniqueness: round1(uniqueness),
            timeliness: round1(timeliness),
            consistency: round1(consistency),
            overall: round1(overall),
        }
    }
}

/// How many days may pass between loads of a dataset with this update frequency before it is
/// overdue (R-AGG-05). Real-time and daily data get one day.
pub fn period_days(f: crate::catalog::Frequency) -> f64 {
    use crate::catalog::Frequency::*;
    match f {
        Realtime | Daily => 1.0,
        Weekly => 7.0,
        Monthly => 31.0,
        Quarterly => 92.0,
        HalfYearly => 183.0,
        Yearly => 366.0,
    }
}

/// Whether a dataset last loaded `days_since_load` days ago is overdue (R-AGG-05); a dataset
/// never loaded is overdue too.
pub fn is_overdue(f: crate::catalog::Frequency, days_since_load: Option<f64>) -> bool {
    days_since_load.is_none_or(|d| d > period_days(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::date;
    use crate::catalog::{CategoryClass, Format, Frequency, Grade, MaskRule, OpenAttrs, ShareAttrs};
    use proptest::prelude::*;

    fn field(name: &str, dt: DataType, rules: FieldRules) -> Field {
        Field {
            name: name.into(),
            label: name.into(),
            data_type: dt,
            description: String::new(),
            grade: Grade::L1,
            personal: false,
            identifier: IdentifierRole::None,
            mask: MaskRule::None,
            purpose: String::new(),
            rules,
        }
    }

    fn entry(fields: Vec<Field>) -> EntryBody {
        EntryBody {
            name: "t".into(),
            summary: "t".into(),
            class: CategoryClass::Base,
            item: "01".into(),
            format: Format::Database,
            frequency: Frequency::Daily,
            release_date: String::new(),
            related: vec![],
            source_system_id: None,
            purchased: false,
            purchased_from: String::new(),
            collecting_dept: String::new(),
            approving_dept: String::new(),
            usage_requirements: String::new(),
            fields,
            identifier_field: None,
            share: ShareAttrs::default(),
            open: OpenAttrs::default(),
        }
    }

    fn people() -> RowValidator {
        let mut id = field("id_no", DataType::Text, FieldRules { key: true, ..Default::default() });
        id.identifier = IdentifierRole::CitizenId;
        let e = entry(vec![
            id,
            field("name", DataType::Text, FieldRules { required: true, max_len: Some(4), ..Default::default() }),
            field("sex", DataType::Text, FieldRules { values: vec!["男".into(), "女".into()], ..Default::default() }),
            field("age", DataType::Integer, FieldRules { min: Some(0.0), max: Some(150.0), ..Default::default() }),
            field("born", DataType::Date, FieldRules::default()),
            field("phone", DataType::Text, FieldRules { pattern: Some("1[3-9][0-9]{9}".into()), ..Default::default() }),
        ]);
        RowValidator::new(&e, date(2026, 11, 22).unwrap()).unwrap()
    }

    fn rules_of(r: Result<Vec<Value>, Vec<RowError>>) -> Vec<String> {
        r.err().unwrap_or_default().into_iter().map(|e| format!("{}:{}", e.field, e.rule)).collect()
    }

    // covers: R-AGG-02 (every rule, every reason of a row reported at once)
    #[test]
    fn each_rule_refuses_with_its_code() {
        let v = people();
        let ok = v.check(&["11010519491231002X", "张三", "男", "76", "1949-12-31", "13800138000"]).unwrap();
        assert_eq!(ok[0], Value::Text("11010519491231002X".into()));
        assert_eq!(ok[3], Value::Int(76));
        assert_eq!(display(&ok[4]), "1949-12-31");
        assert_eq!(
            rules_of(v.check(&["110105194912310021", "", "x", "200", "1949-13-01", "123"])),
            ["id_no:citizen_id", "name:required", "sex:enum", "age:range", "born:type", "phone:pattern"]
        );
        assert_eq!(rules_of(v.check(&["11010519491231002x", "张三丰收获", "", "", "", ""])), ["name:length"]);
        // The same key again (lower-case x normalises to the same number) has the same
        // fingerprint, which is how the loader finds duplicates; another key has another.
        let again = v.check(&["11010519491231002x", "李四", "", "", "", ""]).unwrap();
        assert_eq!(v.fingerprint(&ok), v.fingerprint(&again));
        let other = v.check(&["440524198001010013", "李四", "", "", "", ""]).unwrap();
        assert_ne!(v.fingerprint(&ok), v.fingerprint(&other));
        let dup = v.duplicate_error(&again);
        assert_eq!((dup.field.as_str(), dup.rule.as_str()), ("id_no", "duplicate_key"));
        assert!(dup.message_en.contains("11010519491231002X"), "{}", dup.message_en);
        assert_eq!(rules_of(v.check(&["1"])), [":columns"]);
        assert!(v.check(&["", "王五", "", "", "", ""]).is_err(), "a key is required");
    }

    // covers: R-AGG-02 (credit codes on identifier fields)
    #[test]
    fn credit_codes_are_checked() {
        let mut f = field("code", DataType::Text, FieldRules::default());
        f.identifier = IdentifierRole::CreditCode;
        let v = RowValidator::new(&entry(vec![f]), date(2026, 1, 1).unwrap()).unwrap();
        let good = crate::ids::complete_credit_code("9135010031415926").unwrap();
        assert!(v.check(&[&good]).is_ok());
        let mut bad = good.clone();
        let last = bad.pop().unwrap();
        bad.push(if last == '0' { '1' } else { '0' });
        assert_eq!(rules_of(v.check(&[&bad])), ["code:credit_code"]);
    }

    #[test]
    fn a_bad_pattern_is_refused_before_any_row() {
        let f = field("x", DataType::Text, FieldRules { pattern: Some("(".into()), ..Default::default() });
        assert!(RowValidator::new(&entry(vec![f]), date(2026, 1, 1).unwrap()).is_err());
    }

    // covers: R-AGG-02 (dates and times in the forms departments write them)
    #[test]
    fn dates_and_times() {
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("19700102"), Some(1));
        assert_eq!(parse_date("1970/01/02"), Some(1));
        assert_eq!(parse_date("1970-02-30"), None);
        // Local times are China Standard Time.
        assert_eq!(parse_datetime("1970-01-01 08:00:01"), Some(1_000_000));
        assert_eq!(parse_datetime("1970-01-01T00:00:01Z"), Some(1_000_000));
        assert_eq!(decode_hex("0x0aff"), Some(vec![10, 255]));
    }

    // covers: R-AGG-04 (quality scores from a load's counts)
    #[test]
    fn quality_scores() {
        let v = people();
        let mut stats = LoadStats::default();
        let rows: [&[&str]; 4] = [
            &["11010519491231002X", "张三", "男", "76", "1949-12-31", "13800138000"],
            &["11010519491231002X", "张三", "男", "", "", ""],
            &["11010519491231002X", "张三", "x", "", "", ""],
            &["bad", "", "", "", "", ""],
        ];
        // The loader counts a row when its checks pass and moves it to the quarantine when its
        // key turns out to repeat an earlier row's; counting by halves gives the same totals.
        let (mut first, mut second) = (LoadStats::default(), LoadStats::default());
        let mut seen = HashSet::new();
        for (i, r) in rows.into_iter().enumerate() {
            let part = if i < 2 { &mut first } else { &mut second };
            let res = v.check(r);
            part.count(r, res.as_ref().err().map(Vec::as_slice));
            if let Ok(values) = &res
                && !seen.insert(v.fingerprint(values))
            {
                part.refuse_duplicate();
            }
        }
        stats.merge(&first);
        stats.merge(&second);
        assert_eq!((stats.input_rows, stats.accepted, stats.quarantined), (4, 1, 3));
        assert_eq!(stats.rule_counts.get("duplicate_key"), Some(&1));
        let q = QualityScores::of(&stats, crate::catalog::Frequency::Monthly, 0.0);
        assert_eq!(q.completeness, 54.2); // 13 of 24 cells
        assert_eq!(q.validity, 50.0); // row 3 (enum) and row 4 (id, name) break value rules
        assert_eq!(q.uniqueness, 75.0); // row 2 repeats row 1's key
        assert_eq!(q.consistency, 100.0);
        assert_eq!(q.timeliness, 100.0);
        // Three periods late is zero timeliness; one and a half periods late is half.
        assert_eq!(QualityScores::of(&stats, crate::catalog::Frequency::Weekly, 28.0).timeliness, 0.0);
        assert_eq!(QualityScores::of(&stats, crate::catalog::Frequency::Weekly, 17.5).timeliness, 50.0);
    }

    // covers: R-AGG-05 (overdue by update frequency)
    #[test]
    fn overdue_by_frequency() {
        use crate::catalog::Frequency;
        assert!(is_overdue(Frequency::Daily, None));
        assert!(!is_overdue(Frequency::Daily, Some(0.9)));
        assert!(is_overdue(Frequency::Daily, Some(1.1)));
        assert!(!is_overdue(Frequency::Monthly, Some(30.0)));
        assert!(is_overdue(Frequency::Weekly, Some(8.0)));
    }

    proptest! {
        // covers: R-AGG-02, R-AGG-04 (a row is refused exactly for the cells that break a rule,
        // each named once, whatever the other cells hold; an accepted row counts its filled
        // cells from its values as the quality score counts them from the text)
        #[test]
        fn a_row_is_refused_for_exactly_its_bad_cells(picks in proptest::collection::vec((0usize..3, 0usize..3), 6)) {
            // Per column: good values (some blank, where blank is allowed) and bad ones.
            let good: [&[&str]; 6] = [
                &["11010519491231002X", " 11010519491231002x "],
                &["张三", "Li"],
                &["男", "", "\u{3000}"],
                &["76", "  "],
                &["1949-12-31", "19491231", ""],
                &["13800138000", " "],
            ];
            let bad: [&[&str]; 6] = [
                &["110105194912310021", ""],
                &["", "张三丰收获"],
                &["x", "男女"],
                &["200", "七十"],
                &["1949-13-01", "yesterday"],
                &["123", "23800138000"],
            ];
            let v = people();
            let cells: Vec<&str> = picks
                .iter()
                .enumerate()
                .map(|(i, &(k, j))| if k == 0 { bad[i][j % bad[i].len()] } else { good[i][j % good[i].len()] })
                .collect();
            let broken: Vec<&str> =
                picks.iter().zip(v.fields()).filter(|((k, _), _)| *k == 0).map(|(_, f)| f.name.as_str()).collect();
            match v.check(&cells) {
                Ok(values) => {
                    prop_assert!(broken.is_empty(), "accepted {cells:?}");
                    let (mut a, mut b) = (LoadStats::default(), LoadStats::default());
                    a.count_accepted(&values);
                    b.count(&cells, None);
                    prop_assert_eq!(a, b);
                }
                Err(errors) => {
                    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                    prop_assert_eq!(fields, broken);
                    prop_assert!(errors.iter().all(|e| !e.message_zh.is_empty() && !e.message_en.is_empty()));
                }
            }
        }

        // covers: R-AGG-02 (no input makes the validator panic; every row is either accepted
        // with one value per field or refused with at least one reason)
        #[test]
        fn any_row_is_accepted_or_refused(cells in proptest::collection::vec(".{0,24}", 0..8)) {
            let v = people();
            let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
            match v.check(&refs) {
                Ok(values) => prop_assert_eq!(values.len(), 6),
                Err(errors) => prop_assert!(!errors.is_empty()),
            }
        }

        // internals, no requirement (the fast reading of YYYY-MM-DD dates accepts and refuses exactly
        // what the general date parser does)
        #[test]
        fn fast_dates_agree_with_the_general_parser(y in 0u32..10_000, m in 0u32..14, d in 0u32..33, sep in "[-/]") {
            let s = format!("{y:04}{sep}{m:02}{sep}{d:02}");
            prop_assert_eq!(parse_date(&s), parse_date_general(&s));
        }
    }
}
