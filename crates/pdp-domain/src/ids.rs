//! National identifiers: citizen ID numbers (GB 11643-1999) and unified social credit codes
//! (GB 32100-2015 with the GB 11714 organisation-code check).
//!
//! Records about persons carry the citizen ID number and records about organisations the credit
//! code (R-AGG-02), so these types are the join keys of the whole platform. They can only be made
//! by parsing, which normalises (`x` to `X`, 15-digit numbers upgraded to 18) and validates, so a
//! value of either type is always well formed.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::Localized;

/// Provincial-level area codes (GB/T 2260 first two digits), including Hong Kong, Macao and
/// Taiwan residence-permit prefixes.
const PROVINCES: &[u8] = &[
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63,
    64, 65, 71, 81, 82, 83,
];

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// Why a citizen ID number was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CitizenIdError {
    #[error("length {0}, expected 18 (or legacy 15)")]
    Length(usize),
    #[error("invalid character at position {0}")]
    Char(usize),
    #[error("unknown province code {0}")]
    Province(String),
    #[error("birth date {0} is not a real date")]
    BirthDate(String),
    #[error("birth date {0} is in the future")]
    FutureBirthDate(String),
    #[error("check character is {found}, expected {expected}")]
    Checksum { expected: char, found: char },
}

impl Localized for CitizenIdError {
    fn code(&self) -> &'static str {
        match self {
            Self::Length(_) => "citizen_id_length",
            Self::Char(_) => "citizen_id_char",
            Self::Province(_) => "citizen_id_province",
            Self::BirthDate(_) => "citizen_id_birth_date",
            Self::FutureBirthDate(_) => "citizen_id_future_birth_date",
            Self::Checksum { .. } => "citizen_id_checksum",
        }
    }
    fn message_zh(&self) -> String {
        match self {
            Self::Length(n) => format!("身份证号码长度为{n}位，应为18位（或旧版15位）"),
            Self::Char(p) => format!("身份证号码第{p}位字符无效"),
            Self::Province(p) => format!("身份证号码的省级行政区划代码{p}不存在"),
            Self::BirthDate(d) => format!("身份证号码中的出生日期{d}不是有效日期"),
            Self::FutureBirthDate(d) => format!("身份证号码中的出生日期{d}晚于今天"),
            Self::Checksum { expected, found } => {
                format!("身份证号码校验码为{found}，应为{expected}")
            }
        }
    }
    fn message_en(&self) -> String {
        format!("citizen ID number: {self}")
    }
}

/// Sex as encoded in the sequence digits of a citizen ID number (odd = male, even = female).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

/// A valid 18-character citizen ID number (居民身份证号码), upper-case check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CitizenId(String);

/// The GB 11643 check character over the first 17 digits.
fn citizen_check_char(first17: &[u8]) -> char {
    let sum: u32 = first17.iter().zip(ID_WEIGHTS).map(|(c, w)| u32::from(c - b'0') * w).sum();
    ID_CHECK[(sum % 11) as usize] as char
}

fn birth_date(y: i32, m: u8, d: u8, raw: &[u8]) -> Result<Date, CitizenIdError> {
    Month::try_from(m)
        .ok()
        .and_then(|m| Date::from_calendar_date(y, m, d).ok())
        .ok_or_else(|| CitizenIdError::BirthDate(String::from_utf8_lossy(raw).into_owned()))
}

fn digits(s: &[u8]) -> u32 {
    s.iter().fold(0, |a, c| a * 10 + u32::from(c - b'0'))
}

impl CitizenId {
    /// Parses and validates a citizen ID number, judging "future" birth dates against today (UTC).
    pub fn parse(s: &str) -> Result<Self, CitizenIdError> {
        Self::parse_at(s, time::OffsetDateTime::now_utc().date())
    }

    /// Parses and validates, judging "future" birth dates against `today`.
    ///
    /// Accepts 18-character numbers (lower-case `x` normalised) and legacy 15-digit numbers,
    /// which are upgraded by inserting `19` before the year and computing the check character.
    pub fn parse_at(s: &str, today: Date) -> Result<Self, CitizenIdError> {
        Self::normalise_at(s, today).map(|id| Self(id.into_owned()))
    }

    /// [`Self::parse_at`] without building the value: the number in its normal form, which is
    /// `s` itself, borrowed, when `s` was already in it. The loader checks every ID of a file
    /// this way, so a valid one costs no allocation.
    pub fn normalise_at(s: &str, today: Date) -> Result<Cow<'_, str>, CitizenIdError> {
        let t = s.trim();
        let b = t.as_bytes();
        match b.len() {
            18 => {
                if let Some(p) = b[..17].iter().position(|c| !c.is_ascii_digit()) {
                    return Err(CitizenIdError::Char(p + 1));
                }
                let last = b[17].to_ascii_uppercase();
                if !(last.is_ascii_digit() || last == b'X') {
                    return Err(CitizenIdError::Char(18));
                }
                Self::check_body(&b[..17], today)?;
                let expected = citizen_check_char(&b[..17]);
                if expected != last as char {
                    return Err(CitizenIdError::Checksum { expected, found: last as char });
                }
                if t.len() == s.len() && b[17] == last {
                    Ok(Cow::Borrowed(s))
                } else {
                    Ok(Cow::Owned(t.to_ascii_uppercase()))
                }
            }
            15 => {
                if let Some(p) = b.iter().position(|c| !c.is_ascii_digit()) {
                    return Err(CitizenIdError::Char(p + 1));
                }
                let mut first17 = Vec::with_capacity(17);
                first17.extend_from_slice(&b[..6]);
                first17.extend_from_slice(b"19");
                first17.extend_from_slice(&b[6..15]);
                Self::check_body(&first17, today)?;
                let mut out = String::from_utf8(first17.clone()).unwrap_or_default();
                out.push(citizen_check_char(&first17));
                Ok(Cow::Owned(out))
            }
            _ => Err(CitizenIdError::Length(t.chars().count())),
        }
    }

    fn check_body(first17: &[u8], today: Date) -> Result<(), CitizenIdError> {
        let province = digits(&first17[..2]) as u8;
        if !PROVINCES.contains(&province) {
            return Err(CitizenIdError::Province(String::from_utf8_lossy(&first17[..2]).into_owned()));
        }
        // The raw digits are only made into text for an error: this runs for every ID of a load.
        let raw = &first17[6..14];
        let date = birth_date(
            digits(&first17[6..10]) as i32,
            digits(&first17[10..12]) as u8,
            digits(&first17[12..14]) as u8,
            raw,
        )?;
        if date > today {
            return Err(CitizenIdError::FutureBirthDate(String::from_utf8_lossy(raw).into_owned()));
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The six-digit administrative area code (GB/T 2260) of the place of first registration.
    pub fn area_code(&self) -> &str {
        &self.0[..6]
    }
    pub fn birth_date(&self) -> Date {
        let b = self.0.as_bytes();
        // Validated at parse time.
        birth_date(digits(&b[6..10]) as i32, digits(&b[10..12]) as u8, digits(&b[12..14]) as u8, b"")
            .expect("validated at parse time")
    }
    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 { Sex::Male } else { Sex::Female }
    }
}

impl fmt::Display for CitizenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CitizenId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The 31-character alphabet of GB 32100 (no I, O, Z, S, V).
const CREDIT_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// How strictly the final (18th) check character of a credit code is enforced.
///
/// Some codes issued during early pilots genuinely fail the final check, so a city may choose to
/// accept them with a warning rather than reject a real organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinalCheck {
    #[default]
    Error,
    Warning,
}

/// Why a credit code was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("length {0}, expected 18")]
    Length(usize),
    #[error("character {1:?} at position {0} is not in the code alphabet")]
    Char(usize, char),
    #[error("registration authority {0} is unknown")]
    Authority(char),
    #[error("area code {0} must be six digits")]
    Area(String),
    #[error("organisation code check character is {found}, expected {expected}")]
    OrgCheck { expected: char, found: char },
    #[error("final check character is {found}, expected {expected}")]
    FinalCheck { expected: char, found: char },
}

impl Localized for CreditCodeError {
    fn code(&self) -> &'static str {
        match self {
            Self::Length(_) => "credit_code_length",
            Self::Char(..) => "credit_code_char",
            Self::Authority(_) => "credit_code_authority",
            Self::Area(_) => "credit_code_area",
            Self::OrgCheck { .. } => "credit_code_org_check",
            Self::FinalCheck { .. } => "credit_code_checksum",
        }
    }
    fn message_zh(&self) -> String {
        match self {
            Self::Length(n) => format!("统一社会信用代码长度为{n}位，应为18位"),
            Self::Char(p, c) => format!("统一社会信用代码第{p}位字符“{c}”不在代码字符集中"),
            Self::Authority(c) => format!("统一社会信用代码的登记管理部门代码“{c}”不存在"),
            Self::Area(a) => format!("统一社会信用代码的行政区划码“{a}”应为6位数字"),
            Self::OrgCheck { expected, found } => {
                format!("组织机构代码校验码为{found}，应为{expected}")
            }
            Self::FinalCheck { expected, found } => {
                format!("统一社会信用代码校验码为{found}，应为{expected}")
            }
        }
    }
    fn message_en(&self) -> String {
        format!("unified social credit code: {self}")
    }
}

/// A unified social credit code (统一社会信用代码).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct CreditCode {
    code: String,
    /// False when the final check failed and the policy accepted it as a warning.
    final_check_ok: bool,
}

fn credit_value(c: u8) -> Option<u32> {
    CREDIT_ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

fn credit_final_check(first17: &[u8]) -> Option<char> {
    let mut sum = 0;
    for (c, w) in first17.iter().zip(CREDIT_WEIGHTS) {
        sum += credit_value(*c)? * w;
    }
    Some(CREDIT_ALPHABET[((31 - sum % 31) % 31) as usize] as char)
}

/// The GB 11714 check character over an 8-character organisation code body.
fn org_check(body: &[u8]) -> char {
    let sum: u32 = body
        .iter()
        .zip(ORG_WEIGHTS)
        .map(|(c, w)| {
            let v = if c.is_ascii_digit() { u32::from(c - b'0') } else { u32::from(c - b'A') + 10 };
            v * w
        })
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from(b'0' + n as u8),
    }
}

impl CreditCode {
    /// Parses with a hard error on a failed final check.
    pub fn parse(s: &str) -> Result<Self, CreditCodeError> {
        Self::parse_with(s, FinalCheck::Error)
    }

    /// Parses a credit code; upper-cases and trims the input first.
    pub fn parse_with(s: &str, policy: FinalCheck) -> Result<Self, CreditCodeError> {
        let up = s.trim().to_ascii_uppercase();
        let b = up.as_bytes();
        let n = up.chars().count();
        if n != 18 || b.len() != 18 {
            return Err(CreditCodeError::Length(n));
        }
        for (i, &c) in b.iter().enumerate() {
            if credit_value(c).is_none() {
                return Err(CreditCodeError::Char(i + 1, c as char));
            }
        }
        // Registration authorities of GB 32100 (1-9, A, N, Y).
        if !matches!(b[0], b'1'..=b'9' | b'A' | b'N' | b'Y') {
            return Err(CreditCodeError::Authority(b[0] as char));
        }
        if !b[2..8].iter().all(u8::is_ascii_digit) {
            return Err(CreditCodeError::Area(up[2..8].to_string()));
        }
        let expected_org = org_check(&b[8..16]);
        if expected_org != b[16] as char {
            return Err(CreditCodeError::OrgCheck { expected: expected_org, found: b[16] as char });
        }
        let expected = credit_final_check(&b[..17]).unwrap_or('?');
        let final_check_ok = expected == b[17] as char;
        if !final_check_ok && policy == FinalCheck::Error {
            return Err(CreditCodeError::FinalCheck { expected, found: b[17] as char });
        }
        Ok(Self { code: up, final_check_ok })
    }

    pub fn as_str(&self) -> &str {
        &self.code
    }
    /// False when the code was accepted despite a failed final check (policy `Warning`).
    pub fn final_check_ok(&self) -> bool {
        self.final_check_ok
    }
    /// The six-digit administrative area code of the registering authority.
    pub fn area_code(&self) -> &str {
        &self.code[2..8]
    }
    /// The nine-character organisation code (GB 11714) embedded in positions 9-17.
    pub fn organisation_code(&self) -> &str {
        &self.code[8..17]
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}

/// Computes the two check characters for a 16-character credit-code prefix. Used by generators
/// of demo and test data; returns `None` if the prefix has characters outside the alphabet.
pub fn complete_credit_code(prefix16: &str) -> Option<String> {
    let b = prefix16.as_bytes();
    if b.len() != 16 || b.iter().any(|&c| credit_value(c).is_none()) {
        return None;
    }
    let mut s = prefix16.to_string();
    s.push(org_check(&b[8..16]));
    let c = credit_final_check(s.as_bytes())?;
    s.push(c);
    Some(s)
}

/// Computes the check character for a 17-digit citizen ID prefix (for generators).
pub fn complete_citizen_id(prefix17: &str) -> Option<String> {
    let b = prefix17.as_bytes();
    if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(format!("{prefix17}{}", citizen_check_char(b)))
}

/// Why a real estate unit code was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceCodeError {
    #[error("length {0}, expected 28")]
    Length(usize),
    #[error("character {0} does not fit its place in the code")]
    Char(usize),
}

impl Localized for PlaceCodeError {
    fn code(&self) -> &'static str {
        match self {
            Self::Length(_) => "place_code_length",
            Self::Char(_) => "place_code_char",
        }
    }
    fn message_zh(&self) -> String {
        match self {
            Self::Length(n) => format!("不动产单元号长度为{n}位，应为28位"),
            Self::Char(p) => format!("不动产单元号第{p}位字符不符合编码规则"),
        }
    }
    fn message_en(&self) -> String {
        format!("real estate unit code: {self}")
    }
}

/// A real estate unit code (不动产单元号, GB/T 37346-2019): the key of the spatial base
/// database's parcels and buildings. 28 characters: the county's six-digit division code, the
/// cadastral district and subdistrict (3 + 3 digits), the parcel's two-letter feature code, its
/// five-digit number, the kind of fixture (`F` building, `L` forest, `Q` other, `W` none) and
/// the fixture's eight-digit unit number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PlaceCode(String);

impl PlaceCode {
    /// Parses a code; upper-cases and trims the input first.
    pub fn parse(s: &str) -> Result<Self, PlaceCodeError> {
        let up = s.trim().to_ascii_uppercase();
        let n = up.chars().count();
        if n != 28 || up.len() != 28 {
            return Err(PlaceCodeError::Length(n));
        }
        for (i, c) in up.bytes().enumerate() {
            let fits = match i {
                0..=11 | 14..=18 | 20..=27 => c.is_ascii_digit(),
                12 | 13 => c.is_ascii_uppercase(),
                _ => matches!(c, b'F' | b'L' | b'Q' | b'W'),
            };
            if !fits {
                return Err(PlaceCodeError::Char(i + 1));
            }
        }
        Ok(Self(up))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The county's six-digit division code.
    pub fn area_code(&self) -> &str {
        &self.0[..6]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn real_estate_unit_codes() {
        let c = PlaceCode::parse(" 350102001001gb00012f00010001 ").unwrap();
        assert_eq!((c.as_str(), c.area_code()), ("350102001001GB00012F00010001", "350102"));
        assert_eq!(PlaceCode::parse("350102001001GB00012F0001000"), Err(PlaceCodeError::Length(27)));
        assert_eq!(PlaceCode::parse("350102001001G100012F00010001"), Err(PlaceCodeError::Char(14)));
        assert_eq!(PlaceCode::parse("350102001001GB00012X00010001"), Err(PlaceCodeError::Char(20)));
    }

    fn today() -> Date {
        crate::calendar::date(2026, 11, 22).unwrap()
    }

    /// covers: R-AGG-02 (GB 11643 vectors from STANDARDS.md)
    #[test]
    fn citizen_id_vectors() {
        for v in ["110101199003070011", "110101200002290026", "11010119951215001X", "11010519491231002X"] {
            assert_eq!(CitizenId::parse_at(v, today()).unwrap().as_str(), v);
        }
        let lower = CitizenId::parse_at("11010119951215001x", today()).unwrap();
        assert_eq!(lower.as_str(), "11010119951215001X");
        let up = CitizenId::parse_at("110101800101123", today()).unwrap();
        assert_eq!(up.as_str(), "110101198001011232");
        // The sequence code 123 is odd: a man.
        assert_eq!(up.sex(), Sex::Male);
        assert_eq!(up.area_code(), "110101");
        let m = CitizenId::parse_at("110101199003070011", today()).unwrap();
        assert_eq!(m.sex(), Sex::Male);
        assert_eq!(m.birth_date(), crate::calendar::date(1990, 3, 7).unwrap());
    }

    /// covers: R-AGG-02
    #[test]
    fn citizen_id_rejections() {
        let t = today();
        assert!(matches!(
            CitizenId::parse_at("110101199003070012", t),
            Err(CitizenIdError::Checksum { expected: '1', found: '2' })
        ));
        assert!(matches!(CitizenId::parse_at("11010119900307001", t), Err(CitizenIdError::Length(17))));
        assert!(matches!(CitizenId::parse_at("990101199003070011", t), Err(CitizenIdError::Province(_))));
        assert!(matches!(CitizenId::parse_at("110101199002300011", t), Err(CitizenIdError::BirthDate(_))));
        assert!(matches!(CitizenId::parse_at("110101190002290011", t), Err(CitizenIdError::BirthDate(_)))); // 1900 not leap
        assert!(matches!(CitizenId::parse_at("11010120300101001X", t), Err(CitizenIdError::FutureBirthDate(_))));
        assert!(matches!(CitizenId::parse_at("11010119900307A011", t), Err(CitizenIdError::Char(15))));
        assert!(matches!(CitizenId::parse_at("身份证号码一二三四五六", t), Err(CitizenIdError::Length(_))));
        assert!(CitizenId::parse_at("", t).is_err());
        let e = CitizenId::parse_at("110101199003070012", t).unwrap_err();
        assert_eq!(e.code(), "citizen_id_checksum");
        assert!(e.message_zh().contains("校验码"));
    }

    /// covers: R-AGG-02 (GB 32100 vectors from STANDARDS.md, letter prefixes included)
    #[test]
    fn credit_code_vectors() {
        for v in [
            "91350100M000100Y43",
            "91110000600037341L",
            "911101011000000086",
            "12110101MA0K8P3Q95",
            "N2110101123456788Q",
        ] {
            let c = CreditCode::parse(v).unwrap();
            assert!(c.final_check_ok());
            assert_eq!(c.as_str(), v);
        }
        assert_eq!(CreditCode::parse("91350100m000100y43").unwrap().as_str(), "91350100M000100Y43");
        assert_eq!(CreditCode::parse("91110000600037341L").unwrap().organisation_code(), "600037341");
    }

    /// covers: R-AGG-02 (final-check failure is configurable: warning or error)
    #[test]
    fn credit_code_final_check_policy() {
        let pilot = "91350100M0001TGQXM";
        assert!(matches!(CreditCode::parse(pilot), Err(CreditCodeError::FinalCheck { expected: '1', found: 'M' })));
        let warned = CreditCode::parse_with(pilot, FinalCheck::Warning).unwrap();
        assert!(!warned.final_check_ok());
    }

    /// covers: R-AGG-02
    #[test]
    fn credit_code_rejections() {
        assert!(matches!(CreditCode::parse("91350100M000100Y4"), Err(CreditCodeError::Length(17))));
        assert!(matches!(CreditCode::parse("91350100M000I00Y43"), Err(CreditCodeError::Char(13, 'I'))));
        assert!(matches!(CreditCode::parse("X1350100M000100Y43"), Err(CreditCodeError::Authority('X'))));
        assert!(matches!(CreditCode::parse("B1350100M000100Y43"), Err(CreditCodeError::Authority('B'))));
        assert!(matches!(CreditCode::parse("913501A0M000100Y43"), Err(CreditCodeError::Area(_))));
        assert!(matches!(
            CreditCode::parse("91350100M000100Y53"),
            Err(CreditCodeError::OrgCheck { expected: '4', found: '5' })
        ));
        // Even the warning policy never accepts a broken organisation code.
        assert!(CreditCode::parse_with("91350100M000100Y53", FinalCheck::Warning).is_err());
    }

    proptest! {
        /// covers: R-AGG-02 (every generated valid ID parses; any single-digit change is caught)
        #[test]
        fn citizen_id_roundtrip_and_single_digit_errors(
            area in 110000u32..110120, year in 1930i32..2020, month in 1u8..=12, day in 1u8..=28,
            seq in 0u32..1000, pos in 0usize..17, delta in 1u8..10
        ) {
            let prefix = format!("{area:06}{year:04}{month:02}{day:02}{seq:03}");
            let id = complete_citizen_id(&prefix).unwrap();
            let parsed = CitizenId::parse_at(&id, today()).unwrap();
            prop_assert_eq!(parsed.as_str(), id.as_str());
            let mut bytes = id.clone().into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(CitizenId::parse_at(&changed, today()).is_err());
            // The normal form is the input itself, borrowed; a lower-case x or spaces around
            // are made into a new, normal string.
            prop_assert!(matches!(CitizenId::normalise_at(&id, today()), Ok(Cow::Borrowed(s)) if s == id));
            let loose = format!(" {} ", id.to_ascii_lowercase());
            prop_assert!(matches!(CitizenId::normalise_at(&loose, today()), Ok(Cow::Owned(s)) if s == id));
        }

        /// covers: R-AGG-02 (no panic on arbitrary input)
        #[test]
        fn parsers_never_panic(s in "\\PC{0,24}") {
            let _ = CitizenId::parse_at(&s, today());
            let _ = CreditCode::parse_with(&s, FinalCheck::Warning);
        }

        /// covers: R-AGG-02 (generated credit codes parse; a changed final char is caught)
        #[test]
        fn credit_code_roundtrip(
            body in "[0-9A-HJ-NP-RTUWXY]{8}", area in 100000u32..999999, kind in 0usize..4, other in 0usize..31
        ) {
            let prefix = ["91", "12", "52", "N2"][kind];
            let code = complete_credit_code(&format!("{prefix}{area:06}{body}")).unwrap();
            let parsed = CreditCode::parse(&code).unwrap();
            prop_assert!(parsed.final_check_ok());
            let last = code.as_bytes()[17];
            let replacement = CREDIT_ALPHABET[other];
            if replacement != last {
                let mut bad = code.clone().into_bytes();
                bad[17] = replacement;
                let bad = String::from_utf8(bad).unwrap();
                let is_final_check_error = matches!(CreditCode::parse(&bad), Err(CreditCodeError::FinalCheck { .. }));
                prop_assert!(is_final_check_error);
            }
        }
    }
}
