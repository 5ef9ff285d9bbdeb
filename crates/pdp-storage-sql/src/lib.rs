//! The SQL of the metadata storage that SQLite and PostgreSQL both accept, written once.
//!
//! [`SqlStore`] implements every [`Storage`] trait for a [`Dialect`]: the database type and the
//! few things the two databases say differently (the name of the substring function, how a
//! writing transaction begins, the lock writers take). The statements use `$N` placeholders,
//! `RETURNING` and no dialect functions otherwise. `pdp-storage-sqlite` and
//! `pdp-storage-postgres` each define a dialect, open the pools, run their own migrations and
//! add what only their database needs.
//!
//! Every change is written in one transaction with its audit events ([`SqlStore::append_in`],
//! the one place that extends the chain); writers take turns (SQLite's `BEGIN IMMEDIATE` on a
//! connection of its own, PostgreSQL's transaction-scoped advisory lock), so two transactions
//! never read the same end of the chain.

mod accounts;
mod aggregation;
mod catalog;
mod dataset;
mod harvest;
mod open;
mod operation;
mod row;
mod rows;
mod sharing;

use std::collections::BTreeMap;

use async_trait::async_trait;
use pdp_audit::{AuditEvent, ChainHead, Checkpoint, HashAlg, NewEvent, Outcome, chain_next};
use pdp_domain::org::{OrgKind, RegionLevel};
use pdp_domain::roles::Role;
use pdp_domain::subject::{BoundSubject, SubjectKind};
use pdp_storage::*;
use sqlx::{AssertSqlSafe, Database, Encode, Executor, IntoArguments, Pool, Transaction, Type};

pub use row::{Col, Column, SqlRow};

/// What the two databases say differently.
pub trait Dialect: Send + Sync + 'static {
    /// The sqlx database; its rows are read through [`SqlRow`].
    type Db: Database<Row: SqlRow>;
    /// The backend's name, as [`Storage::backend`] reports it.
    const NAME: &'static str;
    /// The function giving the 1-based position of a substring (haystack, needle), 0 if absent:
    /// `instr` or `strpos`.
    const POSITION: &'static str;
    /// The statement that opens a writing transaction, when it is not `BEGIN`.
    const BEGIN_WRITE: Option<&'static str>;
    /// A statement every writing transaction runs first, to take the writers' lock.
    const LOCK_WRITERS: Option<&'static str>;

    /// The rows a statement changed.
    fn rows_affected(done: &<Self::Db as Database>::QueryResult) -> u64;
}

/// A dialect's connection, which runs the statements.
pub type Conn<D> = <<D as Dialect>::Db as Database>::Connection;

// Every generic `impl` of this crate states what sqlx needs of the database to run the shared
// statements: a connection that executes them, and the Rust types they bind. Rust does not yet
// carry such bounds from a trait to its users, so each `impl` repeats the same clause.

/// Writes the access path's batches (usage counters and events) by a way of the backend's own,
/// instead of through sqlx (see `pdp-storage-sqlite`'s `access_log.rs`).
#[async_trait]
pub trait AccessBatches: Send + Sync {
    async fn write(
        &self,
        per_grant: BTreeMap<i64, (i64, i64)>,
        events: Vec<NewEvent>,
        journal: Option<&str>,
    ) -> Result<()>;
}

/// The metadata storage on a database of dialect `D`.
pub struct SqlStore<D: Dialect> {
    /// Reads, and the few writes outside a write transaction.
    pool: Pool<D::Db>,
    /// The pool writing transactions take their connection from (one connection on SQLite).
    writer: Pool<D::Db>,
    /// The access path's batches, when the backend writes them itself.
    access_batches: Option<Box<dyn AccessBatches>>,
    alg: HashAlg,
}

/// Maps a database error: unique and foreign-key violations are conflicts the caller can
/// explain; anything else is a backend failure.
pub fn backend(e: sqlx::Error) -> StorageError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StorageError::Conflict(db.message().to_string());
        }
        if db.is_foreign_key_violation() {
            return StorageError::Conflict(format!("reference to a missing record: {}", db.message()));
        }
    }
    StorageError::Backend(e.to_string())
}

impl<D: Dialect> SqlStore<D> {
    /// A store on `pool`, writing through `writer` (the same pool where the database lets
    /// writers share one), with the chain hashed by `alg`.
    pub fn new(
        pool: Pool<D::Db>,
        writer: Pool<D::Db>,
        alg: HashAlg,
        access_batches: Option<Box<dyn AccessBatches>>,
    ) -> Self {
        Self { pool, writer, access_batches, alg }
    }

    /// The pool of reads.
    pub fn pool(&self) -> &Pool<D::Db> {
        &self.pool
    }

    /// Whether the backend writes the access path's batches itself rather than through sqlx.
    pub fn writes_access_batches_itself(&self) -> bool {
        self.access_batches.is_some()
    }
}

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> f64: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> bool: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> String: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> Vec<u8>: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> &'q [u8]: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> Option<i64>: Encode<'q, D::Db>,
    for<'q> Option<f64>: Encode<'q, D::Db>,
    for<'q> Option<String>: Encode<'q, D::Db>,
    for<'q> Option<&'q str>: Encode<'q, D::Db>,
{
    /// Starts a writing transaction holding the writers' turn, so that read-then-insert steps
    /// (the next audit sequence, the next catalog code) cannot race.
    pub async fn write_tx(&self) -> Result<Transaction<'static, D::Db>> {
        let mut tx = match D::BEGIN_WRITE {
            Some(begin) => self.writer.begin_with(begin).await,
            None => self.writer.begin().await,
        }
        .map_err(backend)?;
        if let Some(lock) = D::LOCK_WRITERS {
            sqlx::query(lock).execute(&mut *tx).await.map_err(backend)?;
        }
        Ok(tx)
    }

    /// Appends events at the end of the chain inside the caller's writing transaction: the one
    /// place that extends the chain.
    pub async fn append_in(
        &self,
        tx: &mut Transaction<'static, D::Db>,
        events: Vec<NewEvent>,
    ) -> Result<Vec<AuditEvent>> {
        let row = sqlx::query("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await
            .map_err(backend)?;
        let mut head = match row {
            Some(r) => ChainHead { seq: r.get("seq"), hash: r.get("hash") },
            None => ChainHead::genesis(),
        };
        let at = now_micros();
        let mut out = Vec::with_capacity(events.len());
        for e in events {
            let ae = chain_next(&head, self.alg, at, e);
            head = ChainHead { seq: ae.seq, hash: ae.hash.clone() };
            out.push(ae);
        }
        Self::insert_events(tx, &out).await?;
        Ok(out)
    }

    /// Inserts chained events in order. Many rows per statement: the group commit of the access
    /// path hands in hundreds of events at once, and one statement per event would cost a round
    /// trip each. 15 values a row, 64 rows: 960 parameters, well under both databases' limits.
    async fn insert_events(tx: &mut Transaction<'static, D::Db>, events: &[AuditEvent]) -> Result<()> {
        for chunk in events.chunks(64) {
            let mut q = sqlx::QueryBuilder::<D::Db>::new(
                "INSERT INTO audit_events (seq, at_micros, actor, actor_id, org_id, role, action, object, purpose, outcome, request_hash, detail, alg, prev_hash, hash) ",
            );
            q.push_values(chunk, |mut b, ae| {
                b.push_bind(ae.seq)
                    .push_bind(ae.at_micros)
                    .push_bind(ae.event.actor.clone())
                    .push_bind(ae.event.actor_id)
                    .push_bind(ae.event.org_id)
                    .push_bind(ae.event.role.clone())
                    .push_bind(ae.event.action.clone())
                    .push_bind(ae.event.object.clone())
                    .push_bind(ae.event.purpose.clone())
                    .push_bind(ae.event.outcome.as_str())
                    .push_bind(ae.event.request_hash.clone())
                    .push_bind(ae.event.detail.clone())
                    .push_bind(ae.alg.clone())
                    .push_bind(ae.prev_hash.clone())
                    .push_bind(ae.hash.clone());
            });
            q.build().execute(&mut **tx).await.map_err(backend)?;
        }
        Ok(())
    }

    /// Writes a batch of the access path (see `sharing::access_batch`): the grants' usage
    /// counters and the chained events, in one transaction.
    pub async fn write_accesses(
        &self,
        per_grant: BTreeMap<i64, (i64, i64)>,
        events: Vec<NewEvent>,
        journal: Option<&str>,
    ) -> Result<()> {
        match &self.access_batches {
            Some(w) => w.write(per_grant, events, journal).await,
            None => self.write_accesses_sqlx(per_grant, events, journal).await,
        }
    }
}

fn region(r: impl SqlRow) -> Result<Region> {
    Ok(Region {
        id: r.get("id"),
        code: r.get("code"),
        name: r.get("name"),
        level: rows::code(&r, "regions", "level", RegionLevel::parse)?,
        parent_id: r.get("parent_id"),
    })
}

fn org(r: impl SqlRow) -> Result<Organisation> {
    Ok(Organisation {
        id: r.get("id"),
        name: r.get("name"),
        credit_code: r.get("credit_code"),
        kind: rows::code(&r, "organisations", "kind", OrgKind::parse)?,
        region_id: r.get("region_id"),
        parent_id: r.get("parent_id"),
        created_at_micros: r.get("created_at"),
    })
}

fn officer(r: impl SqlRow) -> DataOfficer {
    DataOfficer {
        id: r.get("id"),
        org_id: r.get("org_id"),
        name: r.get("name"),
        title: r.get("title"),
        phone: r.get("phone"),
        email: r.get("email"),
        user_id: r.get("user_id"),
    }
}

fn user(r: impl SqlRow) -> Result<User> {
    let roles: String = r.get("roles");
    let kind: Option<String> = r.get("subject_kind");
    let id: Option<String> = r.get("subject_id");
    let subject = match (kind, id) {
        (Some(kind), Some(id)) => {
            Some(SubjectKind::parse(&kind).and_then(|k| BoundSubject::parse(k, &id).ok()).ok_or_else(|| {
                rows::unreadable(&r, "users", "subject_id", &format!("{kind} (masked) {}", masked(&id)))
            })?)
        }
        _ => None,
    };
    let kind: Option<String> = r.get("claimed_kind");
    let id: Option<String> = r.get("claimed_id");
    let claimed = match (kind, id) {
        (Some(kind), Some(id)) => {
            Some(SubjectKind::parse(&kind).and_then(|k| BoundSubject::parse(k, &id).ok()).ok_or_else(|| {
                rows::unreadable(&r, "users", "claimed_id", &format!("{kind} (masked) {}", masked(&id)))
            })?)
        }
        _ => None,
    };
    Ok(User {
        id: r.get("id"),
        username: r.get("username"),
        display_name: r.get("display_name"),
        password_hash: r.get("password_hash"),
        org_id: r.get("org_id"),
        roles: roles_from_text(&roles),
        disabled: r.get("disabled"),
        created_at_micros: r.get("created_at"),
        must_change_password: r.get("must_change_password"),
        subject,
        claimed,
        real_name: r.get("real_name"),
    })
}

/// An identifier as an error message may name it.
fn masked(id: &str) -> String {
    pdp_domain::sharing::mask(pdp_domain::catalog::MaskRule::IdNumber, id).unwrap_or_default()
}

fn api_key(r: impl SqlRow) -> ApiKey {
    ApiKey {
        id: r.get("id"),
        name: r.get("name"),
        user_id: r.get("user_id"),
        org_id: r.get("org_id"),
        secret_hash: r.get("secret_hash"),
        created_at_micros: r.get("created_at"),
        expires_at_micros: r.get("expires_at"),
        revoked_at_micros: r.get("revoked_at"),
    }
}

fn event(r: impl SqlRow) -> Result<AuditEvent> {
    let outcome: String = r.get("outcome");
    Ok(AuditEvent {
        seq: r.get("seq"),
        at_micros: r.get("at_micros"),
        event: NewEvent {
            actor: r.get("actor"),
            actor_id: r.get("actor_id"),
            org_id: r.get("org_id"),
            role: r.get("role"),
            action: r.get("action"),
            object: r.get("object"),
            purpose: r.get("purpose"),
            // An unknown outcome cannot be hashed back to what was stored, so it is kept as
            // "failure" and verification reports the event as altered.
            outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Failure),
            request_hash: r.get("request_hash"),
            detail: r.get("detail"),
        },
        alg: r.get("alg"),
        prev_hash: r.get("prev_hash"),
        hash: r.get("hash"),
    })
}

const EVENT_COLS: &str = "seq, at_micros, actor, actor_id, org_id, role, action, object, purpose, outcome, request_hash, detail, alg, prev_hash, hash";

#[async_trait]
impl<D: Dialect> Storage for SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> f64: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> bool: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> String: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> Vec<u8>: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> &'q [u8]: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> Option<i64>: Encode<'q, D::Db>,
    for<'q> Option<f64>: Encode<'q, D::Db>,
    for<'q> Option<String>: Encode<'q, D::Db>,
    for<'q> Option<&'q str>: Encode<'q, D::Db>,
{
    fn backend(&self) -> &'static str {
        D::NAME
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(backend)?;
        Ok(())
    }

    async fn create_region(&self, r: NewRegion, audit: NewEvent) -> Result<Region> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query("INSERT INTO regions (code, name, level, parent_id) VALUES ($1, $2, $3, $4) RETURNING *")
            .bind(&r.code)
            .bind(&r.name)
            .bind(r.level.as_str())
            .bind(r.parent_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let reg = region(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("region:{}", reg.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(reg)
    }

    async fn list_regions(&self) -> Result<Vec<Region>> {
        let rows = sqlx::query("SELECT * FROM regions ORDER BY code").fetch_all(&self.pool).await.map_err(backend)?;
        rows.into_iter().map(region).collect()
    }

    async fn create_org(&self, o: NewOrganisation, audit: NewEvent) -> Result<Organisation> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO organisations (name, credit_code, kind, region_id, parent_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(&o.name)
        .bind(&o.credit_code)
        .bind(o.kind.as_str())
        .bind(o.region_id)
        .bind(o.parent_id)
        .bind(now_micros())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let created = org(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("org:{}", created.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(created)
    }

    async fn list_orgs(&self) -> Result<Vec<Organisation>> {
        let rows =
            sqlx::query("SELECT * FROM organisations ORDER BY id").fetch_all(&self.pool).await.map_err(backend)?;
        rows.into_iter().map(org).collect()
    }

    async fn get_org(&self, id: i64) -> Result<Option<Organisation>> {
        let row = sqlx::query("SELECT * FROM organisations WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(org).transpose()
    }

    async fn add_officer(&self, o: NewDataOfficer, audit: NewEvent) -> Result<DataOfficer> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO data_officers (org_id, name, title, phone, email, user_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(o.org_id)
        .bind(&o.name)
        .bind(&o.title)
        .bind(&o.phone)
        .bind(&o.email)
        .bind(o.user_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let created = officer(row);
        self.append_in(&mut tx, vec![audit]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(created)
    }

    async fn list_officers(&self, org_id: Option<i64>) -> Result<Vec<DataOfficer>> {
        let rows = sqlx::query("SELECT * FROM data_officers WHERE $1 IS NULL OR org_id = $1 ORDER BY org_id, id")
            .bind(org_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(officer).collect())
    }

    async fn create_user(&self, u: NewUser, audit: NewEvent) -> Result<User> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO users (username, display_name, password_hash, org_id, roles, disabled, created_at,
                must_change_password, claimed_kind, claimed_id)
             VALUES ($1, $2, $3, $4, $5, FALSE, $6, $7, $8, $9) RETURNING *",
        )
        .bind(&u.username)
        .bind(&u.display_name)
        .bind(&u.password_hash)
        .bind(u.org_id)
        .bind(roles_to_text(&u.roles))
        .bind(now_micros())
        .bind(u.must_change_password)
        .bind(u.claimed.as_ref().map(|c| c.kind().as_str()))
        .bind(u.claimed.as_ref().map(|c| c.id().to_string()))
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let created = user(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("user:{}", created.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(created)
    }

    async fn get_user(&self, id: i64) -> Result<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(user).transpose()
    }

    async fn get_user_by_name(&self, username: &str) -> Result<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(user).transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY id").fetch_all(&self.pool).await.map_err(backend)?;
        rows.into_iter().map(user).collect()
    }

    async fn count_users(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(&self.pool).await.map_err(backend)?;
        Ok(row.get("n"))
    }

    async fn set_roles(&self, user_id: i64, roles: &[Role], audit: NewEvent) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query("UPDATE users SET roles = $1 WHERE id = $2")
            .bind(roles_to_text(roles))
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)
            .map(|r| D::rows_affected(&r))?;
        if n == 0 {
            return Err(StorageError::NotFound(format!("user:{user_id}")));
        }
        self.append_in(&mut tx, vec![audit]).await?;
        tx.commit().await.map_err(backend)
    }

    async fn set_user_subject(&self, user_id: i64, subject: Option<&BoundSubject>, audit: NewEvent) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query("UPDATE users SET subject_kind = $1, subject_id = $2 WHERE id = $3")
            .bind(subject.map(|s| s.kind().as_str()))
            .bind(subject.map(|s| s.id()))
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)
            .map(|r| D::rows_affected(&r))?;
        if n == 0 {
            return Err(StorageError::NotFound(format!("user:{user_id}")));
        }
        self.append_in(&mut tx, vec![audit]).await?;
        tx.commit().await.map_err(backend)
    }

    async fn create_session(&self, s: Session, audit: NewEvent) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&s.token_hash)
            .bind(s.user_id)
            .bind(&s.csrf_token)
            .bind(s.created_at_micros)
            .bind(s.expires_at_micros)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        // Expired sessions are swept whenever someone logs in, so the table stays small.
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now_micros())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        self.append_in(&mut tx, vec![audit]).await?;
        tx.commit().await.map_err(backend)
    }

    async fn get_session(&self, token_hash: &str) -> Result<Option<Session>> {
        let row = sqlx::query("SELECT * FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.map(|r| Session {
            token_hash: r.get("token_hash"),
            user_id: r.get("user_id"),
            csrf_token: r.get("csrf_token"),
            created_at_micros: r.get("created_at"),
            expires_at_micros: r.get("expires_at"),
        }))
    }

    async fn delete_session(&self, token_hash: &str, audit: NewEvent) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        self.append_in(&mut tx, vec![audit]).await?;
        tx.commit().await.map_err(backend)
    }

    async fn create_api_key(&self, k: NewApiKey, audit: NewEvent) -> Result<ApiKey> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO api_keys (name, user_id, org_id, secret_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(&k.name)
        .bind(k.user_id)
        .bind(k.org_id)
        .bind(&k.secret_hash)
        .bind(now_micros())
        .bind(k.expires_at_micros)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let created = api_key(row);
        self.append_in(&mut tx, vec![audit.with_object(format!("api_key:{}", created.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(created)
    }

    async fn get_api_key(&self, id: i64) -> Result<Option<ApiKey>> {
        let row = sqlx::query("SELECT * FROM api_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.map(api_key))
    }

    async fn list_api_keys(&self, user_id: Option<i64>) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query("SELECT * FROM api_keys WHERE $1 IS NULL OR user_id = $1 ORDER BY id")
            .bind(user_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(api_key).collect())
    }

    async fn revoke_api_key(&self, id: i64, at_micros: i64, audit: NewEvent) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(at_micros)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)
            .map(|r| D::rows_affected(&r))?;
        if n == 0 {
            return Ok(false);
        }
        self.append_in(&mut tx, vec![audit]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn append_audit(&self, events: Vec<NewEvent>) -> Result<Vec<AuditEvent>> {
        let mut tx = self.write_tx().await?;
        let out = self.append_in(&mut tx, events).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn audit_after(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditEvent>> {
        let sql = format!("SELECT {EVENT_COLS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2");
        let rows =
            sqlx::query(AssertSqlSafe(sql)).bind(after_seq).bind(limit).fetch_all(&self.pool).await.map_err(backend)?;
        rows.into_iter().map(event).collect()
    }

    async fn search_audit(&self, q: &AuditQuery) -> Result<Vec<AuditEvent>> {
        // One fixed statement with optional filters: no SQL is built from user input.
        let position = D::POSITION;
        let sql = format!(
            "SELECT {EVENT_COLS} FROM audit_events
             WHERE ($1 IS NULL OR {position}(actor, $1) > 0)
               AND ($2 IS NULL OR substr(action, 1, length($2)) = $2)
               AND ($3 IS NULL OR {position}(object, $3) > 0)
               AND ($4 IS NULL OR outcome = $4)
               AND ($5 IS NULL OR org_id = $5)
               AND ($6 IS NULL OR at_micros >= $6)
               AND ($7 IS NULL OR at_micros < $7)
               AND ($8 IS NULL OR seq < $8)
             ORDER BY seq DESC LIMIT $9"
        );
        let nonempty = |s: &Option<String>| s.as_ref().filter(|s| !s.is_empty()).cloned();
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(nonempty(&q.actor))
            .bind(nonempty(&q.action))
            .bind(nonempty(&q.object))
            .bind(nonempty(&q.outcome))
            .bind(q.org_id)
            .bind(q.from_micros)
            .bind(q.to_micros)
            .bind(q.before_seq)
            .bind(q.effective_limit())
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(event).collect()
    }

    async fn audit_head(&self) -> Result<ChainHead> {
        let row = sqlx::query("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.map(|r| ChainHead { seq: r.get(0), hash: r.get(1) }).unwrap_or_else(ChainHead::genesis))
    }

    async fn insert_checkpoint(&self, c: &Checkpoint) -> Result<()> {
        sqlx::query("INSERT INTO audit_checkpoints (seq, hash, at_micros, public_key, signature) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING")
            .bind(c.seq)
            .bind(&c.hash)
            .bind(c.at_micros)
            .bind(&c.public_key)
            .bind(&c.signature)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn list_checkpoints(&self) -> Result<Vec<Checkpoint>> {
        let rows =
            sqlx::query("SELECT * FROM audit_checkpoints ORDER BY seq").fetch_all(&self.pool).await.map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|r| Checkpoint {
                seq: r.get("seq"),
                hash: r.get("hash"),
                at_micros: r.get("at_micros"),
                public_key: r.get("public_key"),
                signature: r.get("signature"),
            })
            .collect())
    }
}
