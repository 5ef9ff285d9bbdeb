//! The access path's batches on SQLite: every view, verify, statistics query or export waits
//! for its audit event to be committed, and the group commit hands them here in batches.
//!
//! Why this does not go through sqlx like every other write: sqlx runs each SQLite connection
//! on a thread of its own and every statement is a round trip to it (a message, a wake-up, a
//! reply, another wake-up). A batch took five of them (begin, read the chain's head, update the
//! grants' counters, insert the events, commit), and on a machine whose cores are busy each
//! wake-up can wait for a time slice, so a batch took far longer than its work, and every
//! access in it waited that long. Here the whole transaction runs at once on the writer
//! connection's own handle, borrowed from sqlx for the batch (one round trip to take it), with
//! statements prepared once per batch and rows inserted one by one through them.
//!
//! The invariants are those of every other write on this backend: the writer connection, a
//! `BEGIN IMMEDIATE` transaction (so no other writer can extend the chain between reading its
//! head and appending to it), and the same chain hashing (`pdp_audit::chain_next`).

use std::collections::BTreeMap;

use pdp_audit::{ChainHead, HashAlg, NewEvent, chain_next};
use pdp_storage::{Result, StorageError, now_micros};
use rusqlite::{Connection, OptionalExtension, params};

use crate::{SqliteStorage, backend};

fn lite(e: rusqlite::Error) -> StorageError {
    StorageError::Backend(e.to_string())
}

impl SqliteStorage {
    /// Writes a batch of the access path (see `portable::sharing::access_batch`): the grants'
    /// usage counters and the chained events, in one transaction.
    pub(crate) async fn write_accesses(
        &self,
        per_grant: BTreeMap<i64, (i64, i64)>,
        events: Vec<NewEvent>,
    ) -> Result<()> {
        let mut conn = self.writer.acquire().await.map_err(backend)?;
        let mut handle = conn.lock_handle().await.map_err(backend)?;
        let raw = handle.as_raw_handle();
        // SAFETY: `raw` is the open connection behind `handle`; while the guard lives, sqlx's
        // worker thread waits for it and touches nothing. The rusqlite `Connection` does not
        // own the handle (it never closes it), is used on this thread only, and is dropped, with
        // every statement it prepared, before the guard is. Nothing below awaits, so the batch
        // cannot be cancelled half-way.
        let db = unsafe { Connection::from_handle(raw.as_ptr()) }.map_err(lite)?;
        let out = write(&db, self.alg, &per_grant, events, now_micros());
        drop(db);
        drop(handle);
        out
    }
}

/// The transaction: committed when every statement succeeded, rolled back otherwise, so the
/// connection goes back to sqlx outside any transaction either way.
fn write(
    db: &Connection,
    alg: HashAlg,
    per_grant: &BTreeMap<i64, (i64, i64)>,
    events: Vec<NewEvent>,
    now: i64,
) -> Result<()> {
    db.execute_batch("BEGIN IMMEDIATE").map_err(lite)?;
    let result = write_in(db, alg, per_grant, events, now).and_then(|()| db.execute_batch("COMMIT"));
    if let Err(e) = result {
        if !db.is_autocommit() {
            let _ = db.execute_batch("ROLLBACK");
        }
        return Err(lite(e));
    }
    Ok(())
}

fn write_in(
    db: &Connection,
    alg: HashAlg,
    per_grant: &BTreeMap<i64, (i64, i64)>,
    events: Vec<NewEvent>,
    now: i64,
) -> rusqlite::Result<()> {
    let mut update = db.prepare(
        "UPDATE share_grants SET accesses = accesses + ?1, rows_served = rows_served + ?2, last_access = ?3
         WHERE id = ?4",
    )?;
    for (grant_id, (accesses, rows)) in per_grant {
        update.execute(params![accesses, rows, now, grant_id])?;
    }
    let mut head = db
        .query_row("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1", [], |r| {
            Ok(ChainHead { seq: r.get(0)?, hash: r.get(1)? })
        })
        .optional()?
        .unwrap_or_else(ChainHead::genesis);
    let mut insert = db.prepare(
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
