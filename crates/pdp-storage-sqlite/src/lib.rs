//! The SQLite implementation of [`Storage`](pdp_storage::Storage): the embedded default, one
//! file in the data dir.
//!
//! The statements are `pdp-storage-sql`'s; this crate opens the database, applies its
//! migrations and adds what only SQLite needs. The database runs in WAL mode so that readers
//! never wait for the writer. Every write runs in a `BEGIN IMMEDIATE` transaction on a
//! connection of its own, which takes SQLite's single write lock up front: two transactions can
//! never read the same end of the audit chain and both extend it. The access path's batches have
//! a connection and thread of their own (`access_log.rs`), and the write-ahead log is
//! checkpointed beside the writers.

use std::str::FromStr;
use std::time::Duration;

use pdp_audit::HashAlg;
use pdp_storage::{Result, StorageError};
use pdp_storage_sql::{Dialect, SqlStore, backend};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

mod access_log;

/// SQLite as the shared SQL sees it.
pub struct Sqlite;

impl Dialect for Sqlite {
    type Db = sqlx::Sqlite;
    const NAME: &'static str = "sqlite";
    const POSITION: &'static str = "instr";
    const BEGIN_WRITE: Option<&'static str> = Some("BEGIN IMMEDIATE");
    const LOCK_WRITERS: Option<&'static str> = None;

    fn rows_affected(done: &sqlx::sqlite::SqliteQueryResult) -> u64 {
        done.rows_affected()
    }
}

/// Metadata storage in one SQLite file.
pub type SqliteStorage = SqlStore<Sqlite>;

/// Opens (creating if needed) the database at `url` (`sqlite://path` or `sqlite::memory:`)
/// and applies pending migrations.
pub async fn connect(url: &str, max_connections: u32, alg: HashAlg) -> Result<SqliteStorage> {
    let opts = SqliteConnectOptions::from_str(url)
        .map_err(backend)?
        .create_if_missing(true)
        // Pages of 16 KiB rather than SQLite's 4 KiB, for a database created here (an
        // existing file keeps its size, which cannot change in WAL mode). Every data access
        // appends an audit row of about 550 bytes; SQLite appends to the write-ahead log a
        // page at a time in two system calls (frame header, then page), and the checkpoint
        // reads each page back and writes it again. Measured on the sharing benchmark's view
        // runs: 0.43 `pwrite` and 0.14 `pread` per access with 4 KiB pages, 0.11 and 0.035
        // with 16 KiB, the same bytes in a quarter of the calls, and verify's share of the
        // bare handler's rate from 0.49 to 0.52 on average, builds run side by side
        // (docs/benchmarks.md, issue 5).
        .page_size(16384)
        .journal_mode(SqliteJournalMode::Wal)
        // In WAL mode NORMAL is durable against application crashes and keeps the
        // database consistent on power loss; the audit chain's checkpoints bound the loss.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(access_log::BUSY_TIMEOUT)
        .foreign_keys(true)
        // No commit checkpoints: see `checkpoints`.
        .pragma("wal_autocheckpoint", "0");
    // Write transactions take turns on one connection of their own. SQLite has one writer
    // at a time anyway, and a connection's page cache is dropped whenever another
    // connection has written since its last transaction: with writes spread over the pool,
    // every group commit of the access path started cold and re-read the audit table's
    // index pages from the file. Waiting for the connection replaces waiting for the lock.
    // An in-memory database is one per connection, so there the pools are one.
    let memory = url.contains(":memory:") || url.contains("mode=memory");
    // No ping before handing out a connection (sqlx's default, meant for network
    // databases): a SQLite connection is a thread of this process, and the ping was one more
    // round trip to it on every query.
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .connect_with(opts.clone())
        .await
        .map_err(backend)?;
    MIGRATOR.run(&writer).await.map_err(|e| StorageError::Backend(e.to_string()))?;
    let (pool, access_writer) = if memory {
        (writer.clone(), None)
    } else {
        let access_writer = access_log::AccessWriter::open(opts.get_filename(), alg)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .test_before_acquire(false)
            .connect_with(opts)
            .await
            .map_err(backend)?;
        (pool, Some(access_writer))
    };
    tokio::spawn(checkpoints(pool.clone()));
    let access_writer = access_writer.map(|w| Box::new(w) as Box<dyn pdp_storage_sql::AccessBatches>);
    Ok(SqlStore::new(pool, writer, alg, access_writer))
}

/// Moves the write-ahead log into the database file every [`CHECKPOINT_EVERY`], beside the
/// writers instead of inside them. By default SQLite checkpoints in the commit that grows the
/// log past 1000 pages: that commit copies the pages and syncs the file while every caller
/// waiting on the same group commit (each data access waits for its audit event) waits with it,
/// which is how the sharing benchmark's p99 grew to tens or hundreds of milliseconds. A
/// `PASSIVE` checkpoint takes no write lock, so commits go on while it runs; it copies what no
/// reader still needs, and SQLite reuses the log from the start once all of it is copied. The
/// task ends when the pool is closed; the last connection to close checkpoints what is left.
async fn checkpoints(pool: SqlitePool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            tracing::warn!(error = %e, "WAL checkpoint failed; the next one will retry");
        }
    }
}

/// How often the write-ahead log is checkpointed: at the sharing benchmark's rate of audit
/// events the log grows by a few megabytes in this time.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
