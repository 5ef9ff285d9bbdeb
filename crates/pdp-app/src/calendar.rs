//! The working-day calendar on the running platform: which years' holiday tables it knows and
//! where each came from, a deadline calculator, and the authority's way to add (or amend) a
//! year's table without a new release (`/api/v1/calendar`, page `/calendar`).
//!
//! Every statutory deadline (share approvals, objections, catalog updates) is counted in this
//! calendar. A deadline that reaches past the last year with a table is counted on weekdays
//! alone and marked provisional (`due_provisional`); a date before the first table is refused
//! with `calendar_unknown_year`. The State Council publishes next year's table in November, so
//! the platform warns from November on when next year's table is missing (dashboard,
//! `/metrics`), and the authority enters it from the notice. An added table is stored in the
//! metadata database with who added it, written to the audit chain in the same transaction,
//! and takes effect for the next request; the deadlines still running that it reaches are
//! counted again in it in that transaction (`calendar.deadlines.recount`); it is laid over the
//! shipped tables at every start.

use crate::App;
use crate::Principal;
use pdp_domain::Localized;
use pdp_domain::calendar::{WorkCalendar, YearTable};
use pdp_storage::{DeadlineKind, DeadlineMove, DeadlineStart, StoredHolidayTable};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};
use utoipa::{IntoParams, ToSchema};

use crate::clock::iso;
use crate::clock::{now_micros, today_date};
use crate::error::AppError;
use crate::sharing::parse_date;

/// The calendar the deadlines are counted in, with the added tables that are in force in it,
/// swapped whole when a table is added so a computation never sees half a change and the
/// listing always says where the table in force came from.
pub struct LiveCalendar(RwLock<(Arc<WorkCalendar>, Arc<Vec<StoredHolidayTable>>)>);

impl Default for LiveCalendar {
    fn default() -> Self {
        Self(RwLock::new((Arc::new(WorkCalendar::official()), Arc::default())))
    }
}

impl LiveCalendar {
    /// The calendar as it is now.
    pub fn get(&self) -> Arc<WorkCalendar> {
        self.snapshot().0
    }

    /// The calendar and the added tables in it, read together.
    fn snapshot(&self) -> (Arc<WorkCalendar>, Arc<Vec<StoredHolidayTable>>) {
        // A poisoned lock only means a writer panicked between two whole values.
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, cal: WorkCalendar, added: Vec<StoredHolidayTable>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = (Arc::new(cal), Arc::new(added));
    }
}

fn table_of(t: &StoredHolidayTable) -> Result<YearTable, pdp_domain::calendar::CalendarError> {
    let year = i32::try_from(t.year).unwrap_or(i32::MAX);
    YearTable::new(year, &t.source, &t.holidays, &t.workdays)
}

/// Lays the stored tables over the shipped ones; called at start and after each change. A
/// stored table that no longer reads (edited in the database by hand) is skipped and reported:
/// the shipped table of that year, if there is one, stays in force, and otherwise a deadline in
/// that year answers `calendar_unknown_year` instead of a wrong date.
pub async fn load_added_tables(state: &App) -> Result<usize, AppError> {
    let mut cal = WorkCalendar::official();
    let mut in_force = Vec::new();
    for t in state.storage.list_holiday_tables().await? {
        match table_of(&t) {
            Ok(y) => {
                cal.set_year(y);
                in_force.push(t);
            }
            Err(e) => tracing::error!(year = t.year, error = %e.message_en(), "stored holiday table skipped"),
        }
    }
    let n = in_force.len();
    state.catalog.calendar.set(cal, in_force);
    Ok(n)
}

/// One year of the calendar.
#[derive(Debug, Serialize, ToSchema)]
pub struct YearOut {
    pub year: i32,
    pub source: String,
    /// `shipped` (in the release) or `added` (entered on the platform).
    pub origin: String,
    pub added_by: Option<String>,
    pub added_at_micros: Option<i64>,
    /// Holidays, consecutive days as `from..to` ranges.
    pub holidays: Vec<String>,
    /// Days off in all (each day of each range).
    pub holiday_days: usize,
    /// Make-up working days (调休).
    pub workdays: Vec<String>,
}

/// The years the calendar knows.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarOut {
    pub years: Vec<YearOut>,
    /// The last year a deadline can fall in.
    pub last_year: Option<i32>,
    /// Set while this year's table is missing, and from November on while next year's is:
    /// deadlines reaching into that year are provisional (weekdays alone) until the authority
    /// adds it.
    pub missing_next_year: Option<i32>,
}

/// The year whose table is due and missing: this year's, or next year's from November on (the
/// State Council publishes it in November).
pub fn missing_next_year(cal: &WorkCalendar) -> Option<i32> {
    let today = today_date();
    let this = today.year();
    if cal.year(this).is_none() {
        return Some(this);
    }
    (u8::from(today.month()) >= 11 && cal.year(this + 1).is_none()).then_some(this + 1)
}

/// A year's table as listed, with where it came from (`stored` when it was added).
fn year_out(t: &YearTable, stored: Option<&StoredHolidayTable>) -> YearOut {
    YearOut {
        year: t.year,
        source: t.source.clone(),
        origin: if stored.is_some() { "added" } else { "shipped" }.into(),
        added_by: stored.map(|a| a.added_by.clone()),
        added_at_micros: stored.map(|a| a.added_at_micros),
        holidays: t.holiday_ranges(),
        holiday_days: t.holidays().count(),
        workdays: t.workdays().map(iso).collect(),
    }
}

pub fn do_calendar(state: &App) -> CalendarOut {
    let (cal, added) = state.catalog.calendar.snapshot();
    let years =
        cal.years().map(|t| year_out(t, added.iter().find(|a| a.year == i64::from(t.year)))).collect::<Vec<_>>();
    CalendarOut { last_year: years.last().map(|y| y.year), missing_next_year: missing_next_year(&cal), years }
}

/// A year's holiday table as the State Council's notice gives it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayTableInput {
    /// The notice, e.g. 国务院办公厅关于2027年部分节假日安排的通知（2026年11月发布）.
    pub source: String,
    /// Days off: dates (`2027-01-01`) or inclusive ranges (`2027-10-01..2027-10-07`).
    pub holidays: Vec<String>,
    /// Make-up working days (调休), weekend days that are worked.
    #[serde(default)]
    pub workdays: Vec<String>,
}

/// Checks and stores a year's table (replacing an added one of that year), then swaps it into
/// the live calendar. Only the city's authority does this; the audit event records the whole
/// table, so any deadline can be traced to the table it was counted in.
pub async fn do_set_year(
    state: &App,
    p: &Principal,
    year: i32,
    input: &HolidayTableInput,
) -> Result<YearOut, AppError> {
    crate::sources::city_authority(state, p).await?;
    let table =
        YearTable::new(year, &input.source, &input.holidays, &input.workdays).map_err(|e| AppError::domain(&e))?;
    let stored = StoredHolidayTable {
        year: i64::from(year),
        source: table.source.clone(),
        holidays: table.holiday_ranges(),
        workdays: table.workdays().map(iso).collect(),
        added_by: p.user.username.clone(),
        added_at_micros: now_micros(),
    };
    let current = state.catalog.calendar.get();
    let detail = serde_json::json!({
        "source": stored.source, "holidays": stored.holidays, "workdays": stored.workdays,
        "replaces": current.year(year).map(|t| t.source.clone()),
    });
    let ev = p.event("calendar.set", "").with_detail(detail.to_string());
    // Every deadline still running that reaches into the year was counted in the table it
    // replaces or, before any, on weekdays alone: count it again in the new calendar.
    let mut next = (*current).clone();
    next.set_year(table.clone());
    let moves = recount(
        &next,
        state
            .storage
            .running_deadlines(time::Date::from_calendar_date(year, time::Month::January, 1).map_err(|_| {
                AppError::bad_request(
                    "calendar_bad_year",
                    format!("年份无效：{year}"),
                    format!("not a valid year: {year}"),
                )
            })?)
            .await?,
    );
    let moves_ev = p
        .event("calendar.deadlines.recount", "")
        .with_detail(serde_json::json!({"year": year, "moved": moves.len(), "moves": moves}).to_string());
    state.storage.put_holiday_table(&stored, &moves, ev, moves_ev).await?;
    // Rebuilt from the database rather than patched, so the live calendar is always exactly
    // the shipped tables plus what is stored.
    load_added_tables(state).await?;
    Ok(year_out(&table, Some(&stored)))
}

/// The running deadlines whose date changes when counted in `cal`, each from the date it started.
fn recount(cal: &WorkCalendar, running: Vec<pdp_storage::RunningDeadline>) -> Vec<DeadlineMove> {
    running
        .into_iter()
        .filter_map(|d| {
            let start = match &d.start {
                DeadlineStart::At(micros) => crate::clock::date_of(*micros),
                DeadlineStart::On(date) => *date,
            };
            let due = match d.kind {
                DeadlineKind::ShareRequest => pdp_domain::sharing::approval_due(cal, start),
                DeadlineKind::Objection => pdp_domain::subject::objection_due(cal, start),
                DeadlineKind::CatalogChange => pdp_domain::catalog::update_deadline(cal, start),
            };
            // A deadline the new calendar cannot count (a gap year) keeps the date it has.
            let to = due.ok()?.due;
            (to != d.due_date).then_some(DeadlineMove { kind: d.kind, id: d.id, from: d.due_date, to })
        })
        .collect()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadlineParams {
    /// The start date (`YYYY-MM-DD`); counting begins the day after.
    pub from: String,
    /// Working days to add (at most 366).
    pub days: u32,
}

/// A deadline counted in working days.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineOut {
    pub from: String,
    pub days: u32,
    pub due: String,
    /// Counted over a year without a holiday table, on weekdays alone: the date moves when the
    /// authority adds that year's table.
    pub provisional: bool,
}

pub fn do_deadline(state: &App, q: &DeadlineParams) -> Result<DeadlineOut, AppError> {
    let from = parse_date(&q.from, "起算日期 / from")?;
    if q.days > 366 {
        return Err(AppError::bad_request("invalid_input", "工作日数不能超过 366", "days must be at most 366"));
    }
    let d = state.catalog.calendar.get().deadline(from, q.days).map_err(|e| AppError::domain(&e))?;
    Ok(DeadlineOut { from: iso(from), days: q.days, due: iso(d.due), provisional: d.provisional })
}
