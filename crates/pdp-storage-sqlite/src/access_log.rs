//! The access path's batches on SQLite: the usage counters and audit events of views,
//! verifications, statistics queries and exports, handed here a segment at a time by the
//! access journal's indexer (`pdp_journal`), or, with the journal off, by the group
//! commit that each of those accesses waits for.
//!
//! A database file gets an [`AccessWriter`]: a thread of its own (`pdp-access-log`) with a
//! rusqlite connection of its own, which writes each batch in one transaction with statements
//! prepared once for the life of the connection. Why not sqlx, like every other write: sqlx
//! runs each SQLite connection on a thread of its own and every statement is a round trip to
//! it, so a batch took five of them (begin, read the chain's head, update the grants' counters,
//! insert the events, commit); with wrk, two Tokio workers and that thread sharing two cores,
//! each wake-up can wait for a time slice while every access in the batch waits for the
//! commit. Borrowing the sqlx writer's handle for the batch still cost a round trip to take it,
//! a fresh prepare of every statement per batch (6 % of the server's CPU in the sharing
//! benchmark's profile), and held a Tokio worker for the length of the commit. Running the
//! batch on the group commit's worker with this connection (and a blocking thread only while
//! another writer held the lock) was measured too: as many requests per second, but a slowest
//! percentile two to three times this thread's, as every request queued on that worker waited
//! for the commit.
//!
//! The invariants are those of every other write on this backend: a `BEGIN IMMEDIATE`
//! transaction (so no other writer, this connection's or sqlx's, can extend the chain between
//! reading its head and appending to it) and the same chain hashing (`pdp_audit::chain_next`).
//! This connection is a second writer beside sqlx's writer connection; the two take turns on
//! SQLite's write lock, each waiting up to [`BUSY_TIMEOUT`] (this one on its own thread, so no
//! Tokio worker sleeps on the lock). Nearly every write under load is an access batch, so this
//! connection's page cache stays warm; the sqlx writer's is dropped after each batch, which
//! costs only the rarer writes of the rest of the platform.
//!
//! An in-memory database is one per connection, so there a second connection would be a second
//! database: batches go through sqlx's writer connection instead
//! (as on PostgreSQL).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use pdp_audit::{ChainHead, HashAlg, NewEvent, chain_next};
use pdp_storage::{Result, StorageError, now_micros};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::oneshot;

use async_trait::async_trait;

/// How long a batch waits for SQLite's write lock while another connection holds it.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

fn lite(e: rusqlite::Error) -> StorageError {
    StorageError::Backend(e.to_string())
}

/// One batch: the grants' usage counters, the events, and where the outcome goes.
struct Job {
    per_grant: BTreeMap<i64, (i64, i64)>,
    events: Vec<NewEvent>,
    /// The access journal's segment the batch is, recorded with it.
    journal: Option<String>,
    reply: oneshot::Sender<Result<()>>,
}

/// The writing thread of a database file's access batches. Dropping it ends the thread after
/// the batch in hand, and closes its connection.
#[derive(Debug)]
pub(crate) struct AccessWriter {
    jobs: mpsc::Sender<Job>,
}

impl AccessWriter {
    /// Opens a connection to the database file at `path` (already created and migrated) and
    /// starts the thread that owns it.
    pub(crate) fn open(path: &Path, alg: HashAlg) -> Result<Self> {
        let db = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(lite)?;
        db.busy_timeout(BUSY_TIMEOUT).map_err(lite)?;
        // The same settings as sqlx's connections (`crate::connect`); the journal mode
        // is the file's and already WAL, the others are per connection.
        db.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
             PRAGMA wal_autocheckpoint = 0;",
        )
        .map_err(lite)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("pdp-access-log".into())
            .spawn(move || {
                for job in queue {
                    let done = transaction(&db, alg, &job.per_grant, job.events, job.journal.as_deref(), now_micros());
                    // The caller may have gone (its task was cancelled); the batch stands.
                    let _ = job.reply.send(done.map_err(lite));
                }
            })
            .map_err(|e| StorageError::Backend(format!("cannot start the access log thread: {e}")))?;
        Ok(Self { jobs })
    }
}

/// Runs a statement of no parameters, prepared once: even `BEGIN` and `COMMIT` took a parse per
/// batch before.
fn run(db: &Connection, sql: &str) -> rusqlite::Result<()> {
    db.prepare_cached(sql).and_then(|mut s| s.execute([])).map(drop)
}

#[async_trait]
impl pdp_storage_sql::AccessBatches for AccessWriter {
    /// Writes one batch and waits until it is committed (or refused).
    async fn write(
        &self,
        per_grant: BTreeMap<i64, (i64, i64)>,
        events: Vec<NewEvent>,
        journal: Option<&str>,
    ) -> Result<()> {
        let (reply, outcome) = oneshot::channel();
        let stopped = || StorageError::Backend("the access log thread has stopped".into());
        let journal = journal.map(str::to_string);
        self.jobs.send(Job { per_grant, events, journal, reply }).map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

/// The batch's transaction: committed when every statement succeeded, rolled back otherwise,
/// so the connection is outside any transaction for the next batch either way.
fn transaction(
    db: &Connection,
    alg: HashAlg,
    per_grant: &BTreeMap<i64, (i64, i64)>,
    events: Vec<NewEvent>,
    journal: Option<&str>,
    now: i64,
) -> rusqlite::Result<()> {
    run(db, "BEGIN IMMEDIATE")?;
    let done = write_in(db, alg, per_grant, events, journal, now).and_then(|()| run(db, "COMMIT"));
    if done.is_err() && !db.is_autocommit() {
        let _ = db.execute_batch("ROLLBACK");
    }
    done
}

fn write_in(
    db: &Connection,
    alg: HashAlg,
    per_grant: &BTreeMap<i64, (i64, i64)>,
    events: Vec<NewEvent>,
    journal: Option<&str>,
    now: i64,
) -> rusqlite::Result<()> {
    if let Some(name) = journal {
        // One row: the last segment recorded is all a start needs (see `last_journal_segment`).
        run(db, "DELETE FROM access_journal")?;
        db.prepare_cached("INSERT INTO access_journal (name, records, indexed_at) VALUES (?1, ?2, ?3)")?
            .execute(params![name, events.len() as i64, now])?;
    }
    let mut update = db.prepare_cached(
        "UPDATE share_grants SET accesses = accesses + ?1, rows_served = rows_served + ?2, last_access = ?3
         WHERE id = ?4",
    )?;
    for (grant_id, (accesses, rows)) in per_grant {
        update.execute(params![accesses, rows, now, grant_id])?;
    }
    let mut head = db
        .prepare_cached("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok(ChainHead { seq: r.get(0)?, hash: r.get(1)? }))
        .optional()?
        .unwrap_or_else(ChainHead::genesis);
    let mut insert = db.prepare_cached(
        "INSERT INTO audit_events (seq, at_micros, actor, actor_id, org_id, role, action, object, purpose, outcome,
            request_hash, detail, alg, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    for e in events {
        let ae = chain_next(&head, alg, now, e);
        let ev = &ae.event;
        insert.execute(params![
            ae.seq,
            ae.at_micros,
            ev.actor,
            ev.actor_id,
            ev.org_id,
            ev.role,
            ev.action,
            ev.object,
            ev.purpose,
            ev.outcome.as_str(),
            ev.request_hash,
            ev.detail,
            ae.alg,
            ae.prev_hash,
            ae.hash,
        ])?;
        head = ChainHead { seq: ae.seq, hash: ae.hash };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use pdp_storage::{Storage, verify_chain};

    use super::*;

    /// internals, no requirement (a database the platform creates has pages of 16 KiB, which
    /// cut the access path's log writes to a quarter of the calls; a database file made before,
    /// with SQLite's 4 KiB pages and in WAL mode, opens as it is, keeps its page size, and takes
    /// access batches and other writers' events on one chain that verifies)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn new_databases_get_16_kib_pages_and_older_files_keep_theirs() {
        let page_size = |path: &Path| -> i64 {
            Connection::open(path).unwrap().query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("fresh.db");
        let s = crate::connect(&format!("sqlite://{}", fresh.display()), 2, HashAlg::Sha256).await.unwrap();
        s.write_accesses(BTreeMap::new(), vec![NewEvent::system("share.access.view", "grant:1")], None).await.unwrap();
        assert_eq!(page_size(&fresh), 16384);

        // A file as an earlier version made it: 4 KiB pages, already in WAL mode, with data.
        let older = dir.path().join("older.db");
        {
            let db = Connection::open(&older).unwrap();
            db.execute_batch("PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE before_upgrade (x);")
                .unwrap();
        }
        assert_eq!(page_size(&older), 4096);
        let s = Arc::new(crate::connect(&format!("sqlite://{}", older.display()), 2, HashAlg::Sha256).await.unwrap());
        let before = s.audit_head().await.unwrap().seq;
        let mut tx = s.write_tx().await.unwrap();
        s.append_in(&mut tx, vec![NewEvent::system("test.other_writer", "o:1")]).await.unwrap();
        tx.commit().await.unwrap();
        let events: Vec<NewEvent> = (0..300).map(|_| NewEvent::system("share.access.verify", "grant:1")).collect();
        s.write_accesses(BTreeMap::new(), events, None).await.unwrap();
        assert_eq!(s.audit_after(before, 1000).await.unwrap().len(), 301);
        assert_eq!(page_size(&older), 4096, "an existing file keeps its page size");
        let report = verify_chain(s.as_ref(), None).await.unwrap();
        assert!(report.is_ok(), "the chain verifies: {report:?}");
    }

    /// covers: R-SEC-03, R-SHR-12 (an access batch that finds SQLite's write lock held by
    /// another writer waits for it instead of failing the accesses, then commits after it;
    /// the chain holds both writers' events in order and verifies)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_waits_for_another_writer_and_the_chain_stays_whole() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("pdp.db").display());
        let s = Arc::new(crate::connect(&url, 2, HashAlg::Sha256).await.unwrap());
        assert!(s.writes_access_batches_itself(), "a database file gets the access path's own connection");
        let before = s.audit_head().await.unwrap().seq;

        // sqlx's writer holds the write lock, with an event of its own appended.
        let mut tx = s.write_tx().await.unwrap();
        s.append_in(&mut tx, vec![NewEvent::system("test.other_writer", "o:1")]).await.unwrap();
        let batch = tokio::spawn({
            let s = s.clone();
            async move {
                s.write_accesses(BTreeMap::new(), vec![NewEvent::system("share.access.view", "grant:1")], None).await
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!batch.is_finished(), "the batch waits while another writer holds the lock");
        tx.commit().await.unwrap();
        batch.await.unwrap().expect("the batch commits once the lock is free");

        // The fast path again, now that the lock is free.
        s.write_accesses(BTreeMap::new(), vec![NewEvent::system("share.access.verify", "grant:1")], None)
            .await
            .unwrap();
        let events = s.audit_after(before, 10).await.unwrap();
        let actions: Vec<&str> = events.iter().map(|e| e.event.action.as_str()).collect();
        assert_eq!(actions, ["test.other_writer", "share.access.view", "share.access.verify"]);
        let report = verify_chain(s.as_ref(), None).await.unwrap();
        assert!(report.is_ok(), "the chain verifies: {report:?}");
    }
}
