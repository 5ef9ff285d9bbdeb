//! Reading typed values out of rows.
//!
//! Every status, mode, kind and date is parsed here, once, at the storage edge: a stored value
//! that does not parse is an error naming the table, the row and the column, never a default.

use pdp_domain::calendar::ISO_DATE;
use pdp_storage::{Result, StorageError};
use time::Date;

use crate::{SqlRow, backend};

/// A JSON column: fields, masking, row filters, ids. One that does not parse is an error naming
/// the table and row, never an empty default (an empty masking map would unmask a grant).
pub(crate) fn parse<T: serde::de::DeserializeOwned>(r: &impl SqlRow, table: &str, column: &str) -> Result<T> {
    let text: String = r.try_get(column).map_err(backend)?;
    serde_json::from_str(&text).map_err(|e| unreadable(r, table, column, &format!("{text:?}: {e}")))
}

/// A column holding one of a domain enum's codes.
pub(crate) fn code<T>(r: &impl SqlRow, table: &str, column: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    let text: String = r.try_get(column).map_err(backend)?;
    parse(&text).ok_or_else(|| unreadable(r, table, column, &format!("{text:?}")))
}

/// A `YYYY-MM-DD` column.
pub(crate) fn date(r: &impl SqlRow, table: &str, column: &str) -> Result<Date> {
    let text: String = r.try_get(column).map_err(backend)?;
    Date::parse(&text, ISO_DATE).map_err(|e| unreadable(r, table, column, &format!("{text:?}: {e}")))
}

/// A `YYYY-MM-DD` column that is empty or NULL when there is no date.
pub(crate) fn date_or_none(r: &impl SqlRow, table: &str, column: &str) -> Result<Option<Date>> {
    let text: Option<String> = r.try_get(column).map_err(backend)?;
    match text.as_deref() {
        None | Some("") => Ok(None),
        Some(t) => Date::parse(t, ISO_DATE).map(Some).map_err(|e| unreadable(r, table, column, &format!("{t:?}: {e}"))),
    }
}

pub(crate) fn unreadable(r: &impl SqlRow, table: &str, column: &str, what: &str) -> StorageError {
    let id: Option<i64> = r.try_get("id").ok();
    StorageError::Backend(format!("{table} row {}: stored {column} is unreadable: {what}", id.unwrap_or_default()))
}

pub(crate) fn ymd(d: Date) -> String {
    d.format(ISO_DATE).unwrap_or_default()
}
