//! The catalog store: entries and their versions, change events and deadlines, information
//! systems, withdrawals.

use async_trait::async_trait;
use pdp_audit::NewEvent;
use pdp_domain::catalog::{ChangeKind, EntryBody, SystemStatus, VersionStatus, WithdrawalStatus};
use pdp_storage::*;
use sqlx::{AssertSqlSafe, Database, Encode, Executor, IntoArguments, Type};
use time::Date;

use super::rows::{code, date, date_or_none, parse, ymd};
use crate::{Conn, Dialect, SqlRow, SqlStore, backend};

/// The columns of a version row joined with its entry, in the order `version_row` reads them.
const VERSION_SELECT: &str =
    "SELECT e.id AS entry_id, e.code, e.org_id, e.published_version, v.version, v.status, v.body,
        v.author_id, v.created_at, v.updated_at, v.submitted_at, v.reviewer_id, v.reviewed_at, v.review_reason,
        (SELECT MIN(d.due_date) FROM catalog_deadlines d WHERE d.entry_id = e.id AND d.met_at IS NULL) AS update_due
     FROM catalog_entries e JOIN catalog_versions v ON v.entry_id = e.id";

fn version_row(r: impl SqlRow) -> Result<EntryVersion> {
    let t = "catalog_versions";
    Ok(EntryVersion {
        entry_id: r.get("entry_id"),
        code: r.get("code"),
        org_id: r.get("org_id"),
        version: r.get("version"),
        status: code(&r, t, "status", VersionStatus::parse)?,
        body: parse(&r, t, "body")?,
        published_version: r.get("published_version"),
        update_due: date_or_none(&r, "catalog_deadlines", "update_due")?,
        author_id: r.get("author_id"),
        created_at_micros: r.get("created_at"),
        updated_at_micros: r.get("updated_at"),
        submitted_at_micros: r.get("submitted_at"),
        reviewer_id: r.get("reviewer_id"),
        reviewed_at_micros: r.get("reviewed_at"),
        review_reason: r.get("review_reason"),
    })
}

fn change_row(r: impl SqlRow) -> Result<ChangeEvent> {
    Ok(ChangeEvent {
        id: r.get("id"),
        org_id: r.get("org_id"),
        kind: code(&r, "catalog_change_events", "kind", ChangeKind::parse)?,
        description: r.get("description"),
        event_date: date(&r, "catalog_change_events", "event_date")?,
        due_date: date(&r, "catalog_change_events", "due_date")?,
        created_by: r.get("created_by"),
        created_at_micros: r.get("created_at"),
        affected: r.get("affected"),
    })
}

fn system_row(r: impl SqlRow) -> Result<InfoSystem> {
    Ok(InfoSystem {
        id: r.get("id"),
        org_id: r.get("org_id"),
        name: r.get("name"),
        owner: r.get("owner"),
        funding: r.get("funding"),
        status: code(&r, "info_systems", "status", SystemStatus::parse)?,
        items: parse(&r, "info_systems", "items")?,
        created_at_micros: r.get("created_at"),
    })
}

fn body_json(body: &EntryBody) -> Result<String> {
    serde_json::to_string(body).map_err(|e| StorageError::Backend(e.to_string()))
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
    async fn version_in(
        tx: &mut sqlx::Transaction<'static, D::Db>,
        entry_id: i64,
        version: i64,
    ) -> Result<EntryVersion> {
        let sql = format!("{VERSION_SELECT} WHERE e.id = $1 AND v.version = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(entry_id)
            .bind(version)
            .fetch_optional(&mut **tx)
            .await
            .map_err(backend)?
            .ok_or_else(|| StorageError::NotFound(format!("catalog entry {entry_id} version {version}")))?;
        version_row(row)
    }

    /// Inserts a new entry with draft version 1 inside `tx`; returns its id and code.
    async fn create_in(
        tx: &mut sqlx::Transaction<'static, D::Db>,
        org_id: i64,
        body: &EntryBody,
        author_id: Option<i64>,
    ) -> Result<(i64, String)> {
        let classification = body.classification_code();
        // The write transaction holds the writer lock (SQLite's write lock, PostgreSQL's
        // advisory lock), so reading the highest sequence and inserting the next cannot race;
        // the unique index is the backstop.
        let seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 FROM catalog_entries WHERE classification = $1")
            .bind(&classification)
            .fetch_one(&mut **tx)
            .await
            .map_err(backend)?
            .get(0);
        let code = pdp_domain::catalog::resource_code(&classification, seq);
        let now = now_micros();
        let id: i64 = sqlx::query(
            "INSERT INTO catalog_entries (code, classification, seq, org_id, published_version, latest_version, created_at)
             VALUES ($1, $2, $3, $4, NULL, 1, $5) RETURNING id",
        )
        .bind(&code)
        .bind(&classification)
        .bind(seq)
        .bind(org_id)
        .bind(now)
        .fetch_one(&mut **tx)
        .await
        .map_err(backend)?
        .get(0);
        Self::insert_version(tx, id, 1, body, author_id, now).await?;
        Ok((id, code))
    }

    /// Saves a body inside `tx` (see [`CatalogStore::save_entry`]); returns the version and code.
    async fn save_in(
        tx: &mut sqlx::Transaction<'static, D::Db>,
        entry_id: i64,
        body: &EntryBody,
        author_id: Option<i64>,
    ) -> Result<(i64, String)> {
        let row = sqlx::query("SELECT code, latest_version FROM catalog_entries WHERE id = $1")
            .bind(entry_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(backend)?
            .ok_or_else(|| StorageError::NotFound(format!("catalog entry {entry_id}")))?;
        let code: String = row.get(0);
        let latest: i64 = row.get(1);
        let current = Self::version_in(tx, entry_id, latest).await?;
        let now = now_micros();
        let version = if current.status.editable() {
            sqlx::query(
                "UPDATE catalog_versions SET status = 'draft', name = $1, class = $2, grade = $3, share_type = $4,
                 open_type = $5, body = $6, author_id = $7, updated_at = $8 WHERE entry_id = $9 AND version = $10",
            )
            .bind(&body.name)
            .bind(body.class.as_str())
            .bind(body.grade().as_str())
            .bind(body.share.share_type.as_str())
            .bind(body.open.open_type.as_str())
            .bind(body_json(body)?)
            .bind(author_id)
            .bind(now)
            .bind(entry_id)
            .bind(latest)
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
            latest
        } else if current.status == VersionStatus::Submitted {
            return Err(StorageError::Conflict(format!(
                "catalog entry {code} version {latest} is under review; withdraw it before editing"
            )));
        } else {
            let next = latest + 1;
            Self::insert_version(tx, entry_id, next, body, author_id, now).await?;
            sqlx::query("UPDATE catalog_entries SET latest_version = $1 WHERE id = $2")
                .bind(next)
                .bind(entry_id)
                .execute(&mut **tx)
                .await
                .map_err(backend)?;
            next
        };
        Ok((version, code))
    }

    async fn insert_version(
        tx: &mut sqlx::Transaction<'static, D::Db>,
        entry_id: i64,
        version: i64,
        body: &EntryBody,
        author_id: Option<i64>,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO catalog_versions (entry_id, version, status, name, class, grade, share_type, open_type, body, author_id, created_at, updated_at, review_reason)
             VALUES ($1, $2, 'draft', $3, $4, $5, $6, $7, $8, $9, $10, $10, '')",
        )
        .bind(entry_id)
        .bind(version)
        .bind(&body.name)
        .bind(body.class.as_str())
        .bind(body.grade().as_str())
        .bind(body.share.share_type.as_str())
        .bind(body.open.open_type.as_str())
        .bind(body_json(body)?)
        .bind(author_id)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl<D: Dialect> CatalogStore for SqlStore<D>
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
    async fn create_entry(
        &self,
        org_id: i64,
        body: &EntryBody,
        author_id: Option<i64>,
        audit: NewEvent,
    ) -> Result<EntryVersion> {
        let mut tx = self.write_tx().await?;
        let (id, code) = Self::create_in(&mut tx, org_id, body, author_id).await?;
        let created = Self::version_in(&mut tx, id, 1).await?;
        self.append_in(&mut tx, vec![audit.with_object(format!("catalog:{code}"))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(created)
    }

    async fn save_entry(
        &self,
        entry_id: i64,
        body: &EntryBody,
        author_id: Option<i64>,
        audit: NewEvent,
    ) -> Result<EntryVersion> {
        let mut tx = self.write_tx().await?;
        let (version, code) = Self::save_in(&mut tx, entry_id, body, author_id).await?;
        let saved = Self::version_in(&mut tx, entry_id, version).await?;
        self.append_in(&mut tx, vec![audit.with_object(format!("catalog:{code}@{version}"))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(saved)
    }

    async fn import_entries(
        &self,
        org_id: i64,
        items: &[(Option<i64>, EntryBody)],
        author_id: Option<i64>,
        audit: NewEvent,
    ) -> Result<Vec<EntryVersion>> {
        let mut tx = self.write_tx().await?;
        let mut out = Vec::with_capacity(items.len());
        for (existing, body) in items {
            let (id, version) = match existing {
                Some(id) => {
                    let owner: Option<i64> = sqlx::query("SELECT org_id FROM catalog_entries WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(backend)?
                        .map(|r| r.get(0));
                    if owner != Some(org_id) {
                        return Err(StorageError::NotFound(format!("catalog entry {id} of organisation {org_id}")));
                    }
                    (*id, Self::save_in(&mut tx, *id, body, author_id).await?.0)
                }
                None => (Self::create_in(&mut tx, org_id, body, author_id).await?.0, 1),
            };
            out.push(Self::version_in(&mut tx, id, version).await?);
        }
        let codes: Vec<&str> = out.iter().map(|e| e.code.as_str()).collect();
        let audit = audit.with_detail(serde_json::json!({ "entries": codes }).to_string());
        self.append_in(&mut tx, vec![audit]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn transition_entry(
        &self,
        entry_id: i64,
        version: i64,
        from: VersionStatus,
        to: VersionStatus,
        actor_id: Option<i64>,
        reason: &str,
        audit: NewEvent,
    ) -> Result<EntryVersion> {
        let mut tx = self.write_tx().await?;
        let now = now_micros();
        let changed = match to {
            VersionStatus::Submitted => sqlx::query(
                "UPDATE catalog_versions SET status = $1, submitted_at = $2, review_reason = ''
                 WHERE entry_id = $3 AND version = $4 AND status = $5",
            )
            .bind(to.as_str())
            .bind(now)
            .bind(entry_id)
            .bind(version)
            .bind(from.as_str()),
            VersionStatus::Published | VersionStatus::Rejected => sqlx::query(
                "UPDATE catalog_versions SET status = $1, reviewed_at = $2, reviewer_id = $3, review_reason = $4
                 WHERE entry_id = $5 AND version = $6 AND status = $7",
            )
            .bind(to.as_str())
            .bind(now)
            .bind(actor_id)
            .bind(reason)
            .bind(entry_id)
            .bind(version)
            .bind(from.as_str()),
            _ => sqlx::query(
                "UPDATE catalog_versions SET status = $1 WHERE entry_id = $2 AND version = $3 AND status = $4",
            )
            .bind(to.as_str())
            .bind(entry_id)
            .bind(version)
            .bind(from.as_str()),
        }
        .execute(&mut *tx)
        .await
        .map_err(backend)
        .map(|r| D::rows_affected(&r))?;
        if changed == 0 {
            return Err(StorageError::Conflict(format!(
                "catalog entry {entry_id} version {version} is no longer {}",
                from.as_str()
            )));
        }
        if to == VersionStatus::Published {
            sqlx::query(
                "UPDATE catalog_versions SET status = 'superseded' WHERE entry_id = $1 AND version <> $2 AND status = 'published'",
            )
            .bind(entry_id)
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            sqlx::query("UPDATE catalog_entries SET published_version = $1 WHERE id = $2")
                .bind(version)
                .bind(entry_id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        if to == VersionStatus::Submitted {
            sqlx::query("UPDATE catalog_deadlines SET met_at = $1 WHERE entry_id = $2 AND met_at IS NULL")
                .bind(now)
                .bind(entry_id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        let v = Self::version_in(&mut tx, entry_id, version).await?;
        self.append_in(&mut tx, vec![audit.with_object(format!("catalog:{}@{version}", v.code))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(v)
    }

    async fn delete_entry(&self, entry_id: i64, audit: NewEvent) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query("SELECT code, published_version FROM catalog_entries WHERE id = $1")
            .bind(entry_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
            .ok_or_else(|| StorageError::NotFound(format!("catalog entry {entry_id}")))?;
        let code: String = row.get(0);
        let published: Option<i64> = row.get(1);
        if published.is_some() {
            return Err(StorageError::Conflict(format!("catalog entry {code} has been published and is kept")));
        }
        for sql in [
            "DELETE FROM catalog_deadlines WHERE entry_id = $1",
            "DELETE FROM catalog_versions WHERE entry_id = $1",
            "DELETE FROM catalog_entries WHERE id = $1",
        ] {
            sqlx::query(sql).bind(entry_id).execute(&mut *tx).await.map_err(backend)?;
        }
        self.append_in(&mut tx, vec![audit.with_object(format!("catalog:{code}"))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(())
    }

    async fn get_entry(&self, entry_id: i64) -> Result<Option<EntryVersion>> {
        let sql = format!("{VERSION_SELECT} WHERE e.id = $1 AND v.version = e.latest_version");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(entry_id).fetch_optional(&self.pool).await.map_err(backend)?;
        row.map(version_row).transpose()
    }

    async fn get_entry_by_code(&self, code: &str) -> Result<Option<EntryVersion>> {
        let sql = format!("{VERSION_SELECT} WHERE e.code = $1 AND v.version = e.latest_version");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(code).fetch_optional(&self.pool).await.map_err(backend)?;
        row.map(version_row).transpose()
    }

    async fn entry_history(&self, entry_id: i64) -> Result<Vec<EntryVersion>> {
        let sql = format!("{VERSION_SELECT} WHERE e.id = $1 ORDER BY v.version");
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(entry_id).fetch_all(&self.pool).await.map_err(backend)?;
        rows.into_iter().map(version_row).collect()
    }

    async fn list_entries(&self, q: &EntryQuery) -> Result<Vec<EntryVersion>> {
        let which = match q.view {
            EntryView::Latest => "e.latest_version",
            EntryView::Published => "e.published_version",
        };
        let sql = format!(
            "{VERSION_SELECT} JOIN organisations o ON o.id = e.org_id
             WHERE v.version = {which} AND ($1 IS NULL OR e.org_id = $1) AND ($2 IS NULL OR o.region_id = $2)
               AND ($3 IS NULL OR v.status = $3)
             ORDER BY e.code LIMIT $4 OFFSET $5"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(q.org_id)
            .bind(q.region_id)
            .bind(q.status.map(|s| s.as_str()))
            .bind(q.limit.unwrap_or(100_000).clamp(1, 100_000))
            .bind(q.offset.unwrap_or(0).max(0))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(version_row).collect()
    }

    async fn record_change(&self, e: NewChangeEvent, audit: NewEvent) -> Result<ChangeEvent> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO catalog_change_events (org_id, kind, description, event_date, due_date, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(e.org_id)
        .bind(e.kind.as_str())
        .bind(&e.description)
        .bind(ymd(e.event_date))
        .bind(ymd(e.due_date))
        .bind(e.created_by)
        .bind(now_micros())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?
        .get(0);
        sqlx::query(
            "INSERT INTO catalog_deadlines (entry_id, event_id, due_date, met_at)
             SELECT id, $1, $2, NULL FROM catalog_entries WHERE org_id = $3 AND published_version IS NOT NULL",
        )
        .bind(id)
        .bind(ymd(e.due_date))
        .bind(e.org_id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let row = sqlx::query(CHANGE_SELECT_ONE).bind(id).fetch_one(&mut *tx).await.map_err(backend)?;
        let created = change_row(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("catalog_change:{id}"))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(created)
    }

    async fn list_changes(&self, org_id: Option<i64>) -> Result<Vec<ChangeEvent>> {
        let rows = sqlx::query(CHANGE_SELECT_MANY).bind(org_id).fetch_all(&self.pool).await.map_err(backend)?;
        rows.into_iter().map(change_row).collect()
    }

    async fn list_deadlines(&self, q: &DeadlineQuery) -> Result<Vec<Deadline>> {
        let rows = sqlx::query(
            "SELECT d.entry_id, e.code, v.name, e.org_id, d.event_id, c.kind, c.description, d.due_date, d.met_at
             FROM catalog_deadlines d
             JOIN catalog_entries e ON e.id = d.entry_id
             JOIN catalog_versions v ON v.entry_id = e.id AND v.version = e.latest_version
             JOIN catalog_change_events c ON c.id = d.event_id
             JOIN organisations o ON o.id = e.org_id
             WHERE ($1 IS NULL OR e.org_id = $1) AND ($2 IS NULL OR o.region_id = $2) AND ($3 = FALSE OR d.met_at IS NULL)
             ORDER BY d.due_date, e.code",
        )
        .bind(q.org_id)
        .bind(q.region_id)
        .bind(q.open_only)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter()
            .map(|r| {
                Ok(Deadline {
                    entry_id: r.get("entry_id"),
                    code: r.get("code"),
                    name: r.get("name"),
                    org_id: r.get("org_id"),
                    event_id: r.get("event_id"),
                    kind: code(&r, "catalog_change_events", "kind", ChangeKind::parse)?,
                    description: r.get("description"),
                    due_date: date(&r, "catalog_deadlines", "due_date")?,
                    met_at_micros: r.get("met_at"),
                })
            })
            .collect()
    }

    async fn create_system(&self, s: NewInfoSystem, audit: NewEvent) -> Result<InfoSystem> {
        let mut tx = self.write_tx().await?;
        let items = serde_json::to_string(&s.items).map_err(|e| StorageError::Backend(e.to_string()))?;
        let row = sqlx::query(
            "INSERT INTO info_systems (org_id, name, owner, funding, status, items, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
        )
        .bind(s.org_id)
        .bind(&s.name)
        .bind(&s.owner)
        .bind(&s.funding)
        .bind(s.status.as_str())
        .bind(items)
        .bind(now_micros())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let created = system_row(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("system:{}", created.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(created)
    }

    async fn list_systems(&self, org_id: Option<i64>) -> Result<Vec<InfoSystem>> {
        let rows = sqlx::query("SELECT * FROM info_systems WHERE $1 IS NULL OR org_id = $1 ORDER BY org_id, id")
            .bind(org_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(system_row).collect()
    }

    async fn put_holiday_table(
        &self,
        t: &StoredHolidayTable,
        moves: &[DeadlineMove],
        audit: NewEvent,
        moves_audit: NewEvent,
    ) -> Result<()> {
        let json = |v: &Vec<String>| serde_json::to_string(v).map_err(|e| StorageError::Backend(e.to_string()));
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO holiday_tables (year, source, holidays, workdays, added_by, added_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (year) DO UPDATE SET source = excluded.source, holidays = excluded.holidays,
                workdays = excluded.workdays, added_by = excluded.added_by, added_at = excluded.added_at",
        )
        .bind(t.year)
        .bind(&t.source)
        .bind(json(&t.holidays)?)
        .bind(json(&t.workdays)?)
        .bind(&t.added_by)
        .bind(t.added_at_micros)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        // Only a deadline still running moves: a request decided or an objection answered
        // since it was listed keeps the date it was handled against.
        for m in moves {
            let statements: &[&'static str] = match m.kind {
                DeadlineKind::ShareRequest => {
                    &["UPDATE share_requests SET due_date = $2 WHERE id = $1 AND status = 'pending'"]
                }
                DeadlineKind::Objection => &["UPDATE objections SET due_date = $2 WHERE id = $1 AND status = 'open'"],
                DeadlineKind::CatalogChange => &[
                    "UPDATE catalog_change_events SET due_date = $2 WHERE id = $1",
                    "UPDATE catalog_deadlines SET due_date = $2 WHERE event_id = $1",
                ],
            };
            for sql in statements {
                sqlx::query(*sql).bind(m.id).bind(ymd(m.to)).execute(&mut *tx).await.map_err(backend)?;
            }
        }
        let mut events = vec![audit.with_object(format!("calendar:{}", t.year))];
        if !moves.is_empty() {
            events.push(moves_audit.with_object(format!("calendar:{}", t.year)));
        }
        self.append_in(&mut tx, events).await?;
        tx.commit().await.map_err(backend)?;
        Ok(())
    }

    async fn request_withdrawal(
        &self,
        entry_id: i64,
        version: i64,
        reason: &str,
        requested_by: Option<i64>,
        audit: NewEvent,
    ) -> Result<Withdrawal> {
        let mut tx = self.write_tx().await?;
        let pending: i64 =
            sqlx::query("SELECT COUNT(*) FROM catalog_withdrawals WHERE entry_id = $1 AND status = 'pending'")
                .bind(entry_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?
                .get(0);
        if pending > 0 {
            return Err(StorageError::Conflict(format!("a withdrawal of entry {entry_id} is already pending")));
        }
        let row = sqlx::query(
            "INSERT INTO catalog_withdrawals (entry_id, version, reason, requested_by, requested_at, status, decision_reason)
             VALUES ($1, $2, $3, $4, $5, 'pending', '') RETURNING *",
        )
        .bind(entry_id)
        .bind(version)
        .bind(reason)
        .bind(requested_by)
        .bind(now_micros())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let w = withdrawal_row(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("entry:{entry_id}"))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(w)
    }

    async fn get_withdrawal(&self, id: i64) -> Result<Option<Withdrawal>> {
        let row = sqlx::query("SELECT * FROM catalog_withdrawals WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(withdrawal_row).transpose()
    }

    async fn list_withdrawals(&self) -> Result<Vec<Withdrawal>> {
        let rows = sqlx::query("SELECT * FROM catalog_withdrawals ORDER BY id DESC")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(withdrawal_row).collect()
    }

    async fn decide_withdrawal(
        &self,
        id: i64,
        approve: bool,
        decided_by: Option<i64>,
        reason: &str,
        audit: NewEvent,
    ) -> Result<(Withdrawal, WithdrawalEffects)> {
        let mut tx = self.write_tx().await?;
        let now = now_micros();
        let to = if approve { WithdrawalStatus::Approved } else { WithdrawalStatus::Rejected };
        let row = sqlx::query(
            "UPDATE catalog_withdrawals SET status = $1, decided_by = $2, decided_at = $3, decision_reason = $4
             WHERE id = $5 AND status = 'pending' RETURNING *",
        )
        .bind(to.as_str())
        .bind(decided_by)
        .bind(now)
        .bind(reason)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        .ok_or_else(|| StorageError::Conflict(format!("withdrawal {id} is no longer pending")))?;
        let w = withdrawal_row(row)?;
        let mut effects = WithdrawalEffects::default();
        if approve {
            let changed = sqlx::query(
                "UPDATE catalog_versions SET status = 'withdrawn', reviewed_at = $1, reviewer_id = $2, review_reason = $3
                 WHERE entry_id = $4 AND version = $5 AND status = 'published'",
            )
            .bind(now)
            .bind(decided_by)
            .bind(reason)
            .bind(w.entry_id)
            .bind(w.version)
            .execute(&mut *tx)
            .await
            .map_err(backend)
            .map(|r| D::rows_affected(&r))?;
            if changed == 0 {
                return Err(StorageError::Conflict(format!(
                    "entry {} version {} is no longer published",
                    w.entry_id, w.version
                )));
            }
            sqlx::query("UPDATE catalog_entries SET published_version = NULL WHERE id = $1")
                .bind(w.entry_id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            let why = format!("目录已撤销发布 / the catalog entry was withdrawn: {reason}");
            for r in sqlx::query(
                "UPDATE share_grants SET status = 'revoked', changed_at = $1, change_reason = $2
                 WHERE entry_id = $3 AND status IN ('active', 'suspended') RETURNING id",
            )
            .bind(now)
            .bind(&why)
            .bind(w.entry_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?
            {
                effects.revoked_grants.push(r.get("id"));
            }
            for r in sqlx::query(
                "UPDATE share_requests SET status = 'refused', decided_by = $1, decided_at = $2, decision_reason = $3
                 WHERE entry_id = $4 AND status IN ('pending', 'negotiating', 'escalated') RETURNING id",
            )
            .bind(decided_by)
            .bind(now)
            .bind(&why)
            .bind(w.entry_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?
            {
                effects.refused_requests.push(r.get("id"));
            }
            effects.revoked_grants.sort_unstable();
            effects.refused_requests.sort_unstable();
        }
        let detail = serde_json::to_string(&effects).map_err(|e| StorageError::Backend(e.to_string()))?;
        self.append_in(&mut tx, vec![audit.with_object(format!("entry:{}", w.entry_id)).with_detail(detail)]).await?;
        tx.commit().await.map_err(backend)?;
        Ok((w, effects))
    }

    async fn running_deadlines(&self, from: Date) -> Result<Vec<RunningDeadline>> {
        let mut out = Vec::new();
        for (kind, sql) in [
            (
                DeadlineKind::ShareRequest,
                "SELECT id, submitted_at AS at, '' AS on_date, due_date FROM share_requests
                 WHERE status = 'pending' AND due_date >= $1 ORDER BY id",
            ),
            (
                DeadlineKind::Objection,
                "SELECT id, raised_at AS at, '' AS on_date, due_date FROM objections
                 WHERE status = 'open' AND due_date >= $1 ORDER BY id",
            ),
            (
                DeadlineKind::CatalogChange,
                "SELECT id, CAST(0 AS BIGINT) AS at, event_date AS on_date, due_date FROM catalog_change_events
                 WHERE due_date >= $1 ORDER BY id",
            ),
        ] {
            let table = match kind {
                DeadlineKind::ShareRequest => "share_requests",
                DeadlineKind::Objection => "objections",
                DeadlineKind::CatalogChange => "catalog_change_events",
            };
            for r in sqlx::query(sql).bind(ymd(from)).fetch_all(&self.pool).await.map_err(backend)? {
                let start = match kind {
                    DeadlineKind::CatalogChange => DeadlineStart::On(date(&r, table, "on_date")?),
                    _ => DeadlineStart::At(r.get("at")),
                };
                let due_date = date(&r, table, "due_date")?;
                out.push(RunningDeadline { kind, id: r.get("id"), start, due_date });
            }
        }
        Ok(out)
    }

    async fn list_holiday_tables(&self) -> Result<Vec<StoredHolidayTable>> {
        let rows =
            sqlx::query("SELECT * FROM holiday_tables ORDER BY year").fetch_all(&self.pool).await.map_err(backend)?;
        rows.into_iter()
            .map(|r| {
                Ok(StoredHolidayTable {
                    year: r.get("year"),
                    source: r.get("source"),
                    holidays: parse(&r, "holiday_tables", "holidays")?,
                    workdays: parse(&r, "holiday_tables", "workdays")?,
                    added_by: r.get("added_by"),
                    added_at_micros: r.get("added_at"),
                })
            })
            .collect()
    }
}

fn withdrawal_row(r: impl SqlRow) -> Result<Withdrawal> {
    Ok(Withdrawal {
        id: r.get("id"),
        entry_id: r.get("entry_id"),
        version: r.get("version"),
        reason: r.get("reason"),
        requested_by: r.get("requested_by"),
        requested_at_micros: r.get("requested_at"),
        status: code(&r, "catalog_withdrawals", "status", WithdrawalStatus::parse)?,
        decided_by: r.get("decided_by"),
        decided_at_micros: r.get("decided_at"),
        decision_reason: r.get("decision_reason"),
    })
}

const CHANGE_SELECT_ONE: &str =
    "SELECT c.*, (SELECT COUNT(*) FROM catalog_deadlines d WHERE d.event_id = c.id) AS affected
     FROM catalog_change_events c WHERE c.id = $1";
const CHANGE_SELECT_MANY: &str =
    "SELECT c.*, (SELECT COUNT(*) FROM catalog_deadlines d WHERE d.event_id = c.id) AS affected
     FROM catalog_change_events c WHERE $1 IS NULL OR c.org_id = $1 ORDER BY c.id DESC";
