//! The PostgreSQL implementation of [`Storage`](pdp_storage::Storage), for production.
//!
//! The statements are `pdp-storage-sql`'s; this crate connects, creates the configured schema
//! (`database.schema`; tests give each run its own) and applies its migrations. Each writer takes
//! a transaction-scoped advisory lock before it reads the end of the audit chain, so concurrent
//! transactions extend the chain one after the other and never fork it.

use std::str::FromStr;

use pdp_audit::HashAlg;
use pdp_storage::{Result, StorageError};
use pdp_storage_sql::{Dialect, SqlStore, backend};
use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// PostgreSQL as the shared SQL sees it.
pub struct Postgres;

impl Dialect for Postgres {
    type Db = sqlx::Postgres;
    const NAME: &'static str = "postgres";
    const POSITION: &'static str = "strpos";
    const BEGIN_WRITE: Option<&'static str> = None;
    // The key spells "pdpaudit"; the lock ends with the transaction.
    const LOCK_WRITERS: Option<&'static str> = Some("SELECT pg_advisory_xact_lock(8098721593802647924)");

    fn rows_affected(done: &sqlx::postgres::PgQueryResult) -> u64 {
        done.rows_affected()
    }
}

/// Metadata storage in a PostgreSQL database.
pub type PostgresStorage = SqlStore<Postgres>;

/// Whether `s` is a plain lower-case identifier, safe to use as a schema name.
fn plain_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// Connects to `url` (`postgres://…`), creates `schema` when one is given, and applies
/// pending migrations there.
pub async fn connect(url: &str, schema: Option<&str>, max_connections: u32, alg: HashAlg) -> Result<PostgresStorage> {
    let mut opts = PgConnectOptions::from_str(url).map_err(backend)?;
    if let Some(schema) = schema {
        if !plain_identifier(schema) {
            return Err(StorageError::Backend(format!(
                "database.schema must be a lower-case identifier, got {schema:?}"
            )));
        }
        let bootstrap = PgPoolOptions::new().max_connections(1).connect_with(opts.clone()).await.map_err(backend)?;
        sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {schema}")))
            .execute(&bootstrap)
            .await
            .map_err(backend)?;
        bootstrap.close().await;
        opts = opts.options([("search_path", schema)]);
    }
    let pool =
        PgPoolOptions::new().max_connections(max_connections.max(1)).connect_with(opts).await.map_err(backend)?;
    MIGRATOR.run(&pool).await.map_err(|e| StorageError::Backend(e.to_string()))?;
    Ok(SqlStore::new(pool.clone(), pool, alg, None))
}
