//! The working-day calendar (工作日) behind every statutory deadline.
//!
//! Deadlines in the regulations are counted in working days: 10 for share approvals and
//! objections, 15 for catalog updates. A working day is a weekday that is not a statutory holiday,
//! or a weekend day that the State Council has declared a make-up working day (调休). The tables
//! are published once a year, so they ship as one data file per year under `data/holidays/`, each
//! naming its source. The notice for the next year comes out in November, often after a release,
//! so the authority can also add (or amend) a year's table on the running platform; those tables
//! are stored with who added them and replace the shipped table of the same year
//! ([`WorkCalendar::set_year`]).
//!
//! A statutory deadline must still be given when it reaches past the last year with a table
//! (requests submitted in late December before the new notice is entered): [`WorkCalendar::deadline`]
//! counts such a year on weekdays alone and marks the date *provisional*, and the platform counts
//! the date again when the year's table is added. A date before the first known year stays an
//! explicit error, since no table will ever be added for it and a guess would silently move a
//! legal deadline.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use time::{Date, Month, Weekday};

use crate::Localized;

/// The holiday files compiled into the binary. Add a year by adding a file and a line here;
/// between releases the authority adds a year's table on the platform (`/calendar`), which is
/// stored in the metadata database and laid over these.
const YEAR_FILES: &[&str] = &[include_str!("../data/holidays/2025.toml"), include_str!("../data/holidays/2026.toml")];

/// Why a working-day computation could not be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("no holiday table for year {0}")]
    UnknownYear(i32),
    #[error("invalid holiday table: {0}")]
    BadTable(String),
}

impl Localized for CalendarError {
    fn code(&self) -> &'static str {
        match self {
            CalendarError::UnknownYear(_) => "calendar_unknown_year",
            CalendarError::BadTable(_) => "calendar_bad_table",
        }
    }
    fn message_zh(&self) -> String {
        match self {
            CalendarError::UnknownYear(y) => {
                format!("缺少{y}年的节假日安排，无法计算工作日期限，请先更新节假日表")
            }
            CalendarError::BadTable(m) => format!("节假日表格式错误：{m}"),
        }
    }
    fn message_en(&self) -> String {
        match self {
            CalendarError::UnknownYear(y) => {
                format!("no holiday table for {y}: working-day deadlines cannot be computed until the table is added")
            }
            CalendarError::BadTable(m) => format!("invalid holiday table: {m}"),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    source: String,
    holidays: Vec<String>,
    workdays: Vec<String>,
}

/// One year of the official table.
#[derive(Debug, Clone)]
pub struct YearTable {
    pub year: i32,
    pub source: String,
    holidays: BTreeSet<Date>,
    workdays: BTreeSet<Date>,
}

/// The years a table may be given for: a typo such as 20277 is refused rather than stored.
pub const TABLE_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

impl YearTable {
    /// Builds and checks one year's table. `holidays` are dates (`YYYY-MM-DD`) or inclusive
    /// ranges (`YYYY-MM-DD..YYYY-MM-DD`); `workdays` are the make-up working days (调休). Every
    /// date must lie in `year`, no date may be both, and the source must be named, because a
    /// deadline computed from the table has to be traceable to the notice it came from.
    pub fn new(year: i32, source: &str, holidays: &[String], workdays: &[String]) -> Result<Self, CalendarError> {
        if !TABLE_YEARS.contains(&year) {
            return Err(CalendarError::BadTable(format!(
                "year {year} is outside {}..={}",
                TABLE_YEARS.start(),
                TABLE_YEARS.end()
            )));
        }
        let source = source.trim();
        if source.is_empty() {
            return Err(CalendarError::BadTable(format!("the table for {year} names no source")));
        }
        let mut hol = BTreeSet::new();
        for item in holidays.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            let (from, to) = match item.split_once("..") {
                Some((a, b)) => (parse_date(a)?, parse_date(b)?),
                None => (parse_date(item)?, parse_date(item)?),
            };
            if from > to {
                return Err(CalendarError::BadTable(format!("empty range {item}")));
            }
            let mut d = from;
            while d <= to {
                hol.insert(d);
                d = d.next_day().ok_or_else(|| CalendarError::BadTable(item.to_string()))?;
            }
        }
        let work = workdays
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(parse_date)
            .collect::<Result<BTreeSet<_>, _>>()?;
        for d in hol.iter().chain(work.iter()) {
            if d.year() != year {
                return Err(CalendarError::BadTable(format!("{d} listed in the table for {year}")));
            }
        }
        if let Some(d) = hol.intersection(&work).next() {
            return Err(CalendarError::BadTable(format!("{d} is both a holiday and a working day")));
        }
        Ok(Self { year, source: source.to_string(), holidays: hol, workdays: work })
    }

    /// The statutory holidays of the year, in order.
    pub fn holidays(&self) -> impl Iterator<Item = Date> + '_ {
        self.holidays.iter().copied()
    }

    /// The make-up working days (weekend days worked) of the year, in order.
    pub fn workdays(&self) -> impl Iterator<Item = Date> + '_ {
        self.workdays.iter().copied()
    }

    /// The holidays as the table writes them: consecutive days folded into `from..to` ranges.
    pub fn holiday_ranges(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut run: Option<(Date, Date)> = None;
        for d in self.holidays() {
            run = match run {
                Some((a, b)) if b.next_day() == Some(d) => Some((a, d)),
                Some((a, b)) => {
                    out.push(range_text(a, b));
                    Some((d, d))
                }
                None => Some((d, d)),
            };
        }
        if let Some((a, b)) = run {
            out.push(range_text(a, b));
        }
        out
    }
}

fn iso(d: Date) -> String {
    d.format(ISO_DATE).unwrap_or_default()
}

fn range_text(a: Date, b: Date) -> String {
    if a == b { iso(a) } else { format!("{}..{}", iso(a), iso(b)) }
}

/// A deadline counted in working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// The last day.
    pub due: Date,
    /// Counted over a year after the last known one, on weekdays alone: it moves when that
    /// year's table (with its holidays and make-up days) is added.
    pub provisional: bool,
}

/// A calendar of working days over the years it has tables for.
#[derive(Debug, Clone)]
pub struct WorkCalendar {
    years: BTreeMap<i32, YearTable>,
}

/// The `YYYY-MM-DD` format of every date PDP reads or writes.
pub const ISO_DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

// Serde for dates as `YYYY-MM-DD` (`#[serde(with = "iso_date")]`, and `iso_date::option`):
// records carry `time::Date`, and their JSON shows the date as people write it.
time::serde::format_description!(pub iso_date, Date, "[year]-[month]-[day]");

fn parse_date(s: &str) -> Result<Date, CalendarError> {
    Date::parse(s.trim(), ISO_DATE).map_err(|e| CalendarError::BadTable(format!("{s}: {e}")))
}

impl WorkCalendar {
    /// The calendar built from the tables shipped with PDP.
    pub fn official() -> Self {
        // The shipped tables are tested, so failing here is a build defect, not a user error.
        Self::from_tables(YEAR_FILES).expect("shipped holiday tables are valid")
    }

    /// Builds a calendar from TOML tables in the format of `data/holidays/*.toml`.
    pub fn from_tables(files: &[&str]) -> Result<Self, CalendarError> {
        let mut cal = Self { years: BTreeMap::new() };
        for text in files {
            let f: YearFile = toml::from_str(text).map_err(|e| CalendarError::BadTable(e.to_string()))?;
            cal.set_year(YearTable::new(f.year, &f.source, &f.holidays, &f.workdays)?);
        }
        Ok(cal)
    }

    /// Puts a year's table in, replacing the one the calendar had for that year (the State
    /// Council has amended a published table before, as in 2020).
    pub fn set_year(&mut self, table: YearTable) {
        self.years.insert(table.year, table);
    }

    /// The table of `year`, if the calendar has one.
    pub fn year(&self, year: i32) -> Option<&YearTable> {
        self.years.get(&year)
    }

    /// The years this calendar knows, with the source of each table.
    pub fn years(&self) -> impl Iterator<Item = &YearTable> {
        self.years.values()
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: Date) -> Result<bool, CalendarError> {
        let table = self.years.get(&date.year()).ok_or(CalendarError::UnknownYear(date.year()))?;
        if table.workdays.contains(&date) {
            return Ok(true);
        }
        if table.holidays.contains(&date) {
            return Ok(false);
        }
        Ok(!matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday))
    }

    /// The date that is `n` working days after `start`, counting from the day after `start`.
    ///
    /// With `n = 0` the answer is `start` itself. Every day examined must lie in a known year.
    pub fn add_working_days(&self, start: Date, n: u32) -> Result<Date, CalendarError> {
        // Check the start year too, so that an unknown year fails even for n = 0.
        if !self.years.contains_key(&start.year()) {
            return Err(CalendarError::UnknownYear(start.year()));
        }
        let mut d = start;
        let mut left = n;
        while left > 0 {
            d = d.next_day().ok_or(CalendarError::UnknownYear(i32::MAX))?;
            if self.is_working_day(d)? {
                left -= 1;
            }
        }
        Ok(d)
    }

    /// The deadline `n` working days after `start`, as every statutory deadline is counted.
    ///
    /// Days in a year after the last year with a table count as working days when they are
    /// weekdays, and the deadline is then provisional; a day in an unknown year before that
    /// (a gap, or before the first table) is an error, as in [`Self::add_working_days`].
    pub fn deadline(&self, start: Date, n: u32) -> Result<Deadline, CalendarError> {
        let last = self.years.keys().next_back().copied().unwrap_or(i32::MIN);
        let day = |d: Date| -> Result<(bool, bool), CalendarError> {
            if d.year() > last {
                Ok((!matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday), true))
            } else {
                Ok((self.is_working_day(d)?, false))
            }
        };
        let (_, mut provisional) = day(start)?;
        let mut d = start;
        let mut left = n;
        while left > 0 {
            d = d.next_day().ok_or(CalendarError::UnknownYear(i32::MAX))?;
            let (working, guessed) = day(d)?;
            provisional |= guessed;
            if working {
                left -= 1;
            }
        }
        Ok(Deadline { due: d, provisional })
    }

    /// Whether a deadline counted from `start` to `due` was counted without a table for one of
    /// its years, so that it is provisional in this calendar.
    pub fn is_provisional(&self, start: Date, due: Date) -> bool {
        (start.year()..=due.year()).any(|y| !self.years.contains_key(&y))
    }

    /// Working days strictly after `from` up to and including `to` (0 if `to <= from`).
    pub fn working_days_between(&self, from: Date, to: Date) -> Result<u32, CalendarError> {
        let mut n = 0;
        let mut d = from;
        while d < to {
            d = d.next_day().ok_or(CalendarError::UnknownYear(i32::MAX))?;
            if self.is_working_day(d)? {
                n += 1;
            }
        }
        Ok(n)
    }
}

/// Convenience for tests and callers with literal dates.
pub fn date(y: i32, m: u8, d: u8) -> Option<Date> {
    Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        parse_date(s).unwrap()
    }

    /// covers: R-SHR-03, R-OBJ-02, R-CAT-04 (deadlines in working days; vectors from STANDARDS.md)
    #[test]
    fn standards_vectors_plus_ten_working_days() {
        let cal = WorkCalendar::official();
        for (start, want) in [
            ("2025-01-20", "2025-02-08"),
            ("2025-09-25", "2025-10-15"),
            ("2026-02-10", "2026-03-02"),
            ("2026-09-17", "2026-10-08"),
        ] {
            assert_eq!(cal.add_working_days(d(start), 10).unwrap(), d(want), "{start}");
        }
    }

    /// covers: R-CAT-04 (15-working-day catalog update deadline)
    #[test]
    fn fifteen_working_days_over_national_day() {
        let cal = WorkCalendar::official();
        // 2026-09-21 (Mon): 22,23,24 | 25-27 off | 28,29,30 | 10-01..07 off | 08,09,10 (make-up
        // Saturday) | 11 off | 12..16 | 19: the fifteenth working day.
        assert_eq!(cal.add_working_days(d("2026-09-21"), 15).unwrap(), d("2026-10-19"));
    }

    /// covers: R-SHR-03 (make-up days count, holidays do not)
    #[test]
    fn makeup_days_and_holidays() {
        let cal = WorkCalendar::official();
        assert!(cal.is_working_day(d("2025-01-26")).unwrap()); // Sunday, make-up day
        assert!(!cal.is_working_day(d("2025-10-08")).unwrap()); // Wednesday, holiday
        assert!(!cal.is_working_day(d("2026-11-21")).unwrap()); // ordinary Saturday
        assert!(cal.is_working_day(d("2026-11-23")).unwrap()); // ordinary Monday
    }

    /// covers: R-SHR-03 (no silent guess past the last known year)
    #[test]
    fn unknown_year_is_an_error() {
        let cal = WorkCalendar::official();
        assert_eq!(cal.add_working_days(d("2026-12-24"), 10), Err(CalendarError::UnknownYear(2027)));
        assert_eq!(cal.add_working_days(d("2024-06-03"), 1), Err(CalendarError::UnknownYear(2024)));
        let e = CalendarError::UnknownYear(2027);
        assert!(e.message_zh().contains("2027"));
        assert_eq!(e.code(), "calendar_unknown_year");
    }

    /// covers: R-SHR-03, R-OBJ-02, R-CAT-04 (past the last table a deadline is still given, on
    /// weekdays alone, marked provisional, and counted again in full once the table is there)
    #[test]
    fn deadlines_past_the_last_table_are_provisional() {
        let mut cal = WorkCalendar::official();
        // Within the tables: the same date as add_working_days, not provisional.
        let within = cal.deadline(d("2026-09-17"), 10).unwrap();
        assert_eq!(within, Deadline { due: d("2026-10-08"), provisional: false });
        // 12-25 | 28 29 30 31 | 2027: 01 04 05 06 07 on weekdays alone: the tenth is 01-07.
        let past = cal.deadline(d("2026-12-24"), 10).unwrap();
        assert_eq!(past, Deadline { due: d("2027-01-07"), provisional: true });
        assert!(cal.is_provisional(d("2026-12-24"), past.due));
        // A start in the unknown year itself, and n = 0, are provisional too.
        assert_eq!(cal.deadline(d("2027-03-01"), 0).unwrap(), Deadline { due: d("2027-03-01"), provisional: true });
        // A deadline that stays in 2026 is final even in late December.
        assert_eq!(cal.deadline(d("2026-12-17"), 10).unwrap(), Deadline { due: d("2026-12-31"), provisional: false });
        // Before the first table there is nothing to wait for: still an error.
        assert_eq!(cal.deadline(d("2024-06-03"), 1), Err(CalendarError::UnknownYear(2024)));
        // With the year's table (test data: New Year's Day off) the same deadline moves and is final.
        cal.set_year(YearTable::new(2027, "测试用表", &["2027-01-01".into()], &[]).unwrap());
        let again = cal.deadline(d("2026-12-24"), 10).unwrap();
        assert_eq!(again, Deadline { due: d("2027-01-08"), provisional: false });
        assert!(!cal.is_provisional(d("2026-12-24"), again.due));
        // A gap (2028 missing while 2029 is known) is an error, not a guess.
        cal.set_year(YearTable::new(2029, "测试用表", &[], &[]).unwrap());
        assert_eq!(cal.deadline(d("2027-12-24"), 10), Err(CalendarError::UnknownYear(2028)));
    }

    /// covers: R-SHR-03
    #[test]
    fn bad_tables_are_rejected() {
        let both = "year = 2030\nsource = \"x\"\nholidays = [\"2030-01-01\"]\nworkdays = [\"2030-01-01\"]";
        assert!(WorkCalendar::from_tables(&[both]).is_err());
        let wrong_year = "year = 2030\nsource = \"x\"\nholidays = [\"2031-01-01\"]\nworkdays = []";
        assert!(WorkCalendar::from_tables(&[wrong_year]).is_err());
        let unknown_key = "year = 2030\nsource = \"x\"\nholidays = []\nworkdays = []\nextra = 1";
        assert!(WorkCalendar::from_tables(&[unknown_key]).is_err());
    }

    /// covers: R-SHR-03, R-OBJ-02 (a year's table added at run time extends the deadlines past
    /// the shipped years, and replaces a shipped year's table when amended)
    #[test]
    fn added_tables_extend_and_replace() {
        let mut cal = WorkCalendar::official();
        assert_eq!(cal.add_working_days(d("2026-12-24"), 10), Err(CalendarError::UnknownYear(2027)));
        // A test table, not the official 2027 one: New Year's Day off, and one invented
        // make-up Saturday so the test sees it counted.
        let t = YearTable::new(2027, "测试用表", &["2027-01-01".into()], &["2027-01-09".into()]).unwrap();
        cal.set_year(t);
        // 12-25 | 28 29 30 31 | 01-01 off | 04 05 06 07 08: the tenth.
        assert_eq!(cal.add_working_days(d("2026-12-24"), 10).unwrap(), d("2027-01-08"));
        // 01-01 off | 04 05 06 07 08 | 09, the make-up Saturday, is the sixth.
        assert_eq!(cal.add_working_days(d("2026-12-31"), 6).unwrap(), d("2027-01-09"));
        // An amended 2026 table replaces the shipped one.
        let amended = YearTable::new(2026, "修订", &["2026-11-23".into()], &[]).unwrap();
        cal.set_year(amended);
        assert!(!cal.is_working_day(d("2026-11-23")).unwrap());
        assert!(cal.is_working_day(d("2026-10-02")).unwrap(), "the shipped table is gone, not merged");
        assert_eq!(cal.year(2026).unwrap().source, "修订");
    }

    /// covers: R-SHR-03 (a table is checked before it is used)
    #[test]
    fn year_tables_are_checked() {
        let bad = |year, src: &str, h: &[&str], w: &[&str]| {
            let h: Vec<String> = h.iter().map(|s| s.to_string()).collect();
            let w: Vec<String> = w.iter().map(|s| s.to_string()).collect();
            YearTable::new(year, src, &h, &w).unwrap_err()
        };
        assert!(matches!(bad(20277, "x", &[], &[]), CalendarError::BadTable(_)));
        assert!(matches!(bad(2027, "  ", &[], &[]), CalendarError::BadTable(_)));
        assert!(matches!(bad(2027, "x", &["2027-02-30"], &[]), CalendarError::BadTable(_)));
        assert!(matches!(bad(2027, "x", &["2027-02-10..2027-02-01"], &[]), CalendarError::BadTable(_)));
        assert!(matches!(bad(2027, "x", &["2026-12-31"], &[]), CalendarError::BadTable(_)));
        assert!(matches!(bad(2027, "x", &["2027-10-01..2027-10-07"], &["2027-10-03"]), CalendarError::BadTable(_)));
    }

    /// covers: R-SHR-03 (the ranges shown back are the table that was given)
    #[test]
    fn holiday_ranges_round_trip() {
        let cal = WorkCalendar::official();
        for t in cal.years() {
            let again =
                YearTable::new(t.year, &t.source, &t.holiday_ranges(), &t.workdays().map(iso).collect::<Vec<_>>())
                    .unwrap();
            assert_eq!(again.holidays().collect::<Vec<_>>(), t.holidays().collect::<Vec<_>>());
            assert_eq!(again.workdays().collect::<Vec<_>>(), t.workdays().collect::<Vec<_>>());
        }
        let y2026 = cal.year(2026).unwrap().holiday_ranges();
        assert_eq!(y2026[0], "2026-01-01..2026-01-03");
        assert_eq!(y2026.len(), 7);
    }

    /// covers: R-SHR-03 (adding working days agrees with counting them)
    #[test]
    fn add_and_count_agree() {
        let cal = WorkCalendar::official();
        let mut start = d("2025-01-01");
        while start < d("2026-11-30") {
            for n in [0u32, 1, 5, 10, 15] {
                let end = cal.add_working_days(start, n).unwrap();
                assert_eq!(cal.working_days_between(start, end).unwrap(), n);
                if n > 0 {
                    assert!(cal.is_working_day(end).unwrap());
                }
            }
            start = start.next_day().unwrap();
        }
    }
}
