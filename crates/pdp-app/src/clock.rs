//! The platform's clock and calendar dates, for every module: now in microseconds since the
//! epoch, today and the date of a moment in the city's time zone (Beijing time, UTC+8, where
//! deadlines and expiries are calendar dates), and a date as `YYYY-MM-DD`.

use time::{Date, OffsetDateTime, UtcOffset};

pub use pdp_storage::now_micros;

/// The platform's time zone.
pub fn offset() -> UtcOffset {
    UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// Today in the platform's time zone.
pub fn today_date() -> Date {
    OffsetDateTime::now_utc().to_offset(offset()).date()
}

/// The local date of a moment (microseconds since the epoch); today for a moment out of range.
pub fn date_of(micros: i64) -> Date {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .map(|t| t.to_offset(offset()).date())
        .unwrap_or_else(|_| today_date())
}

/// A date as `YYYY-MM-DD`.
pub fn iso(d: Date) -> String {
    d.format(pdp_domain::calendar::ISO_DATE).unwrap_or_default()
}
