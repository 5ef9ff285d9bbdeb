//! Reading a column of a row of either database: the one place that states which Rust types
//! the shared SQL decodes, so that the rest of the crate reads rows without naming the database.
//!
//! [`SqlRow`] is implemented for every sqlx row whose database decodes those types; a dialect
//! names it for its rows ([`crate::Dialect::Db`]), and readers take `&impl SqlRow`. Columns
//! are named, or numbered as in sqlx ([`Col`]).

use sqlx::{ColumnIndex, Decode, Row, Type};

/// A column of a row: by name, or by position in the statement's select list.
#[derive(Debug, Clone, Copy)]
pub enum Col<'a> {
    Name(&'a str),
    At(usize),
}

impl<'a> From<&'a str> for Col<'a> {
    fn from(name: &'a str) -> Self {
        Col::Name(name)
    }
}

impl From<usize> for Col<'_> {
    fn from(at: usize) -> Self {
        Col::At(at)
    }
}

impl std::fmt::Display for Col<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Col::Name(n) => write!(f, "{n:?}"),
            Col::At(i) => write!(f, "#{i}"),
        }
    }
}

/// A row the shared SQL reads: `get` and `try_get` of any [`Column`] type.
pub trait SqlRow: Send {
    fn i64(&self, column: Col<'_>) -> Result<Option<i64>, sqlx::Error>;
    fn f64(&self, column: Col<'_>) -> Result<Option<f64>, sqlx::Error>;
    fn bool(&self, column: Col<'_>) -> Result<Option<bool>, sqlx::Error>;
    fn text(&self, column: Col<'_>) -> Result<Option<String>, sqlx::Error>;
    fn bytes(&self, column: Col<'_>) -> Result<Option<Vec<u8>>, sqlx::Error>;

    /// The column's value; an error when it is missing, NULL for a non-optional type, or of
    /// another type.
    fn try_get<'a, T: Column>(&self, column: impl Into<Col<'a>>) -> Result<T, sqlx::Error>
    where
        Self: Sized,
    {
        T::read(self, column.into())
    }

    /// The column's value, for columns the statement itself selects: a failure is a mismatch
    /// between the statement and the schema, a bug, and panics as sqlx's `Row::get` does.
    fn get<'a, T: Column>(&self, column: impl Into<Col<'a>>) -> T
    where
        Self: Sized,
    {
        let column = column.into();
        match T::read(self, column) {
            Ok(v) => v,
            Err(e) => panic!("column {column} of a row the statement selects: {e}"),
        }
    }
}

impl<R> SqlRow for R
where
    R: Row,
    for<'r> &'r str: ColumnIndex<R>,
    usize: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> f64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    fn i64(&self, column: Col<'_>) -> Result<Option<i64>, sqlx::Error> {
        match column {
            Col::Name(n) => Row::try_get(self, n),
            Col::At(i) => Row::try_get(self, i),
        }
    }
    fn f64(&self, column: Col<'_>) -> Result<Option<f64>, sqlx::Error> {
        match column {
            Col::Name(n) => Row::try_get(self, n),
            Col::At(i) => Row::try_get(self, i),
        }
    }
    fn bool(&self, column: Col<'_>) -> Result<Option<bool>, sqlx::Error> {
        match column {
            Col::Name(n) => Row::try_get(self, n),
            Col::At(i) => Row::try_get(self, i),
        }
    }
    fn text(&self, column: Col<'_>) -> Result<Option<String>, sqlx::Error> {
        match column {
            Col::Name(n) => Row::try_get(self, n),
            Col::At(i) => Row::try_get(self, i),
        }
    }
    fn bytes(&self, column: Col<'_>) -> Result<Option<Vec<u8>>, sqlx::Error> {
        match column {
            Col::Name(n) => Row::try_get(self, n),
            Col::At(i) => Row::try_get(self, i),
        }
    }
}

/// A Rust type a column is read as.
pub trait Column: Sized {
    fn read(row: &impl SqlRow, column: Col<'_>) -> Result<Self, sqlx::Error>;
}

fn required<T>(v: Option<T>, column: Col<'_>) -> Result<T, sqlx::Error> {
    v.ok_or_else(|| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: "unexpected NULL in a column that is never NULL".into(),
    })
}

macro_rules! columns {
    ($($t:ty => $read:ident),* $(,)?) => {$(
        impl Column for $t {
            fn read(row: &impl SqlRow, column: Col<'_>) -> Result<Self, sqlx::Error> {
                required(row.$read(column)?, column)
            }
        }
        impl Column for Option<$t> {
            fn read(row: &impl SqlRow, column: Col<'_>) -> Result<Self, sqlx::Error> {
                row.$read(column)
            }
        }
    )*};
}

columns!(i64 => i64, f64 => f64, bool => bool, String => text, Vec<u8> => bytes);
