//! The aggregation store: sources, cross-check runs, district returns, objections.

use async_trait::async_trait;
use pdp_audit::NewEvent;
use pdp_domain::subject::{ObjectionKind, ObjectionStatus, RaiserKind, ReturnDemandStatus, ReturnMethod, SubjectKind};
use pdp_storage::*;
use sqlx::{AssertSqlSafe, Database, Encode, Executor, IntoArguments, Type};
use time::Date;

use super::rows::{code, date, unreadable, ymd};
use crate::{Conn, Dialect, SqlRow, SqlStore, backend};

fn return_demand_row(r: impl SqlRow) -> Result<ReturnDemand> {
    let t = "return_demands";
    Ok(ReturnDemand {
        id: r.get("id"),
        region_id: r.get("region_id"),
        org_id: r.get("org_id"),
        requested_by: r.get("requested_by"),
        title: r.get("title"),
        description: r.get("description"),
        entry_id: r.get("entry_id"),
        status: code(&r, t, "status", ReturnDemandStatus::parse)?,
        return_id: r.get("return_id"),
        response: r.get("response"),
        created_at_micros: r.get("created_at"),
        updated_at_micros: r.get("updated_at"),
    })
}

fn source_row(r: impl SqlRow) -> Result<AuthoritativeSource> {
    let t = "authoritative_sources";
    Ok(AuthoritativeSource {
        subject: code(&r, t, "subject", SubjectKind::parse)?,
        element: r.get("element"),
        dataset: r.get("dataset"),
        note: r.get("note"),
        assigned_by: r.get("assigned_by"),
        assigned_at_micros: r.get("assigned_at"),
    })
}

fn run_row(r: impl SqlRow) -> CrossCheckRun {
    CrossCheckRun {
        id: r.get("id"),
        actor: r.get("actor"),
        started_at_micros: r.get("started_at"),
        finished_at_micros: r.get("finished_at"),
        pairs: r.get("pairs"),
        compared: r.get("compared"),
        conflicts: r.get("conflicts"),
    }
}

fn conflict_row(r: impl SqlRow) -> Result<Conflict> {
    let t = "crosscheck_conflicts";
    Ok(Conflict {
        run_id: r.get("run_id"),
        subject: code(&r, t, "subject", SubjectKind::parse)?,
        element: r.get("element"),
        key: r.get("record_key"),
        source_dataset: r.get("source_dataset"),
        source_version: r.get("source_version"),
        source_value: r.get("source_value"),
        other_dataset: r.get("other_dataset"),
        other_version: r.get("other_version"),
        other_value: r.get("other_value"),
    })
}

fn return_row(r: impl SqlRow) -> Result<DistrictReturn> {
    let t = "district_returns";
    Ok(DistrictReturn {
        id: r.get("id"),
        dataset: r.get("dataset"),
        region_id: r.get("region_id"),
        method: code(&r, t, "method", ReturnMethod::parse)?,
        field: r.get("field"),
        created_by: r.get("created_by"),
        created_at_micros: r.get("created_at"),
        refreshed_version: r.get("refreshed_version"),
        refreshed_rows: r.get("refreshed_rows"),
        refreshed_at_micros: r.get("refreshed_at"),
    })
}

fn theme_row(r: impl SqlRow) -> Result<Theme> {
    let t = "themes";
    let members: String = r.get("members");
    Ok(Theme {
        id: r.get("id"),
        entry_id: r.get("entry_id"),
        dataset: r.get("dataset"),
        subject: code(&r, t, "subject", SubjectKind::parse)?,
        members: serde_json::from_str(&members).map_err(|e| unreadable(&r, t, "members", &e.to_string()))?,
        created_by: r.get("created_by"),
        created_at_micros: r.get("created_at"),
        refreshed_version: r.get("refreshed_version"),
        refreshed_rows: r.get("refreshed_rows"),
        refreshed_at_micros: r.get("refreshed_at"),
    })
}

const OBJECTION_SELECT: &str = "SELECT id, dataset, entry_id, org_id, record_key, field, current_value,
    claimed_value, reason, raised_by, raised_by_name, raiser_kind, status, raised_at, due_date, escalated_at,
    response, answered_by, answered_at, correction_version, evidence_name, evidence_size, kind, record_found
    FROM objections";

fn objection_row(r: impl SqlRow) -> Result<Objection> {
    let t = "objections";
    Ok(Objection {
        id: r.get("id"),
        dataset: r.get("dataset"),
        entry_id: r.get("entry_id"),
        org_id: r.get("org_id"),
        record_key: r.get("record_key"),
        field: r.get("field"),
        current_value: r.get("current_value"),
        claimed_value: r.get("claimed_value"),
        reason: r.get("reason"),
        raised_by: r.get("raised_by"),
        raised_by_name: r.get("raised_by_name"),
        raiser_kind: code(&r, t, "raiser_kind", RaiserKind::parse)?,
        kind: code(&r, t, "kind", ObjectionKind::parse)?,
        record_found: r.get("record_found"),
        status: code(&r, t, "status", ObjectionStatus::parse)?,
        raised_at_micros: r.get("raised_at"),
        due_date: date(&r, t, "due_date")?,
        escalated_at_micros: r.get("escalated_at"),
        response: r.get("response"),
        answered_by: r.get("answered_by"),
        answered_at_micros: r.get("answered_at"),
        correction_version: r.get("correction_version"),
        evidence_name: r.get("evidence_name"),
        evidence_size: r.get("evidence_size"),
    })
}

/// What follows its sources' loads and notes the version it was last brought up to.
enum Refreshed {
    Return,
    Theme,
}

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'q> i64: Encode<'q, D::Db> + Type<D::Db>,
{
    /// Notes a refresh; a refresh of an older version never overwrites a newer one (two loads
    /// can finish in either order).
    async fn set_refreshed(&self, what: Refreshed, id: i64, version: i64, rows: i64, at: i64) -> Result<()> {
        // The table is one of two fixed names, never input.
        let table = match what {
            Refreshed::Return => "district_returns",
            Refreshed::Theme => "themes",
        };
        let sql = format!(
            "UPDATE {table} SET refreshed_version = $1, refreshed_rows = $2, refreshed_at = $3
             WHERE id = $4 AND (refreshed_version IS NULL OR refreshed_version <= $1)"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(version)
            .bind(rows)
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl<D: Dialect> AggregationStore for SqlStore<D>
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
    async fn set_source(&self, s: AuthoritativeSource, audit: NewEvent) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO authoritative_sources (subject, element, dataset, note, assigned_by, assigned_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (subject, element) DO UPDATE SET dataset = excluded.dataset, note = excluded.note,
                assigned_by = excluded.assigned_by, assigned_at = excluded.assigned_at",
        )
        .bind(s.subject.as_str())
        .bind(&s.element)
        .bind(&s.dataset)
        .bind(&s.note)
        .bind(&s.assigned_by)
        .bind(s.assigned_at_micros)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("source:{}/{}", s.subject.as_str(), s.element))])
            .await?;
        tx.commit().await.map_err(backend)?;
        Ok(())
    }

    async fn remove_source(&self, subject: SubjectKind, element: &str, audit: NewEvent) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("DELETE FROM authoritative_sources WHERE subject = $1 AND element = $2")
            .bind(subject.as_str())
            .bind(element)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if D::rows_affected(&done) == 0 {
            return Ok(false);
        }
        self.append_in(&mut tx, vec![audit.with_object(format!("source:{}/{element}", subject.as_str()))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn list_sources(&self) -> Result<Vec<AuthoritativeSource>> {
        let rows = sqlx::query("SELECT * FROM authoritative_sources ORDER BY subject, element")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(source_row).collect()
    }

    async fn record_crosscheck(
        &self,
        run: NewCrossCheckRun,
        conflicts: Vec<Conflict>,
        audit: NewEvent,
    ) -> Result<CrossCheckRun> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO crosscheck_runs (actor, started_at, finished_at, pairs, compared, conflicts)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(&run.actor)
        .bind(run.started_at_micros)
        .bind(run.finished_at_micros)
        .bind(run.pairs)
        .bind(run.compared)
        .bind(run.conflicts)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let stored = run_row(row);
        for (seq, c) in conflicts.iter().enumerate() {
            sqlx::query(
                "INSERT INTO crosscheck_conflicts (run_id, seq, subject, element, record_key, source_dataset,
                    source_version, source_value, other_dataset, other_version, other_value)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(stored.id)
            .bind(seq as i64)
            .bind(c.subject.as_str())
            .bind(&c.element)
            .bind(&c.key)
            .bind(&c.source_dataset)
            .bind(c.source_version)
            .bind(&c.source_value)
            .bind(&c.other_dataset)
            .bind(c.other_version)
            .bind(&c.other_value)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        self.append_in(&mut tx, vec![audit.with_object(format!("crosscheck:{}", stored.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(stored)
    }

    async fn latest_crosscheck(&self) -> Result<Option<CrossCheckRun>> {
        let row = sqlx::query("SELECT * FROM crosscheck_runs ORDER BY id DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.map(run_row))
    }

    async fn list_conflicts(
        &self,
        run_id: i64,
        element: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Conflict>> {
        let rows = sqlx::query(
            "SELECT * FROM crosscheck_conflicts WHERE run_id = $1 AND ($2 IS NULL OR element = $2)
             ORDER BY seq LIMIT $3 OFFSET $4",
        )
        .bind(run_id)
        .bind(element)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(conflict_row).collect()
    }

    async fn create_return_demand(&self, d: NewReturnDemand, audit: NewEvent) -> Result<ReturnDemand> {
        let mut tx = self.write_tx().await?;
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO return_demands (region_id, org_id, requested_by, title, description, entry_id, status,
                response, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'open', '', $7, $7) RETURNING *",
        )
        .bind(d.region_id)
        .bind(d.org_id)
        .bind(&d.requested_by)
        .bind(&d.title)
        .bind(&d.description)
        .bind(d.entry_id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = return_demand_row(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("return_demand:{}", out.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn list_return_demands(&self) -> Result<Vec<ReturnDemand>> {
        let rows = sqlx::query("SELECT * FROM return_demands ORDER BY id DESC")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(return_demand_row).collect()
    }

    async fn get_return_demand(&self, id: i64) -> Result<Option<ReturnDemand>> {
        let row = sqlx::query("SELECT * FROM return_demands WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(return_demand_row).transpose()
    }

    async fn close_return_demand(&self, id: i64, c: ReturnDemandClose, audit: NewEvent) -> Result<ReturnDemand> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE return_demands SET status = $1, return_id = $2, response = $3, updated_at = $4
             WHERE id = $5 AND status = 'open'",
        )
        .bind(c.to.as_str())
        .bind(c.return_id)
        .bind(&c.response)
        .bind(now_micros())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if D::rows_affected(&done) == 0 {
            return Err(StorageError::Conflict(format!("return demand {id} is no longer open")));
        }
        let row = sqlx::query("SELECT * FROM return_demands WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("return_demand:{id}"))]).await?;
        tx.commit().await.map_err(backend)?;
        return_demand_row(row)
    }

    async fn create_return(&self, r: NewDistrictReturn, audit: NewEvent) -> Result<DistrictReturn> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO district_returns (dataset, region_id, method, field, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(&r.dataset)
        .bind(r.region_id)
        .bind(r.method.as_str())
        .bind(&r.field)
        .bind(&r.created_by)
        .bind(now_micros())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = return_row(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("return:{}", out.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn list_returns(&self) -> Result<Vec<DistrictReturn>> {
        let rows =
            sqlx::query("SELECT * FROM district_returns ORDER BY id").fetch_all(&self.pool).await.map_err(backend)?;
        rows.into_iter().map(return_row).collect()
    }

    async fn get_return(&self, id: i64) -> Result<Option<DistrictReturn>> {
        let row = sqlx::query("SELECT * FROM district_returns WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(return_row).transpose()
    }

    async fn set_return_refreshed(&self, id: i64, version: i64, rows: i64, at_micros: i64) -> Result<()> {
        self.set_refreshed(Refreshed::Return, id, version, rows, at_micros).await
    }

    async fn create_theme(&self, t: NewTheme, audit: NewEvent) -> Result<Theme> {
        let members = serde_json::to_string(&t.members).map_err(|e| StorageError::Backend(e.to_string()))?;
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO themes (entry_id, dataset, subject, members, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(t.entry_id)
        .bind(&t.dataset)
        .bind(t.subject.as_str())
        .bind(members)
        .bind(&t.created_by)
        .bind(now_micros())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = theme_row(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("theme:{}", out.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn list_themes(&self) -> Result<Vec<Theme>> {
        let rows = sqlx::query("SELECT * FROM themes ORDER BY id").fetch_all(&self.pool).await.map_err(backend)?;
        rows.into_iter().map(theme_row).collect()
    }

    async fn set_theme_refreshed(&self, id: i64, version: i64, rows: i64, at_micros: i64) -> Result<()> {
        self.set_refreshed(Refreshed::Theme, id, version, rows, at_micros).await
    }

    async fn create_objection(&self, o: NewObjection, audit: NewEvent) -> Result<Objection> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO objections (dataset, entry_id, org_id, record_key, field, current_value, claimed_value,
                reason, raised_by, raised_by_name, raiser_kind, status, raised_at, due_date, response,
                evidence_name, evidence_size, kind, record_found)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open', $12, $13, '', '', 0, $14, $15)
             RETURNING id",
        )
        .bind(&o.dataset)
        .bind(o.entry_id)
        .bind(o.org_id)
        .bind(&o.record_key)
        .bind(&o.field)
        .bind(&o.current_value)
        .bind(&o.claimed_value)
        .bind(&o.reason)
        .bind(o.raised_by)
        .bind(&o.raised_by_name)
        .bind(o.raiser_kind.as_str())
        .bind(now_micros())
        .bind(ymd(o.due_date))
        .bind(o.kind.as_str())
        .bind(o.record_found)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?
        .get(0);
        let sql = format!("{OBJECTION_SELECT} WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_one(&mut *tx).await.map_err(backend)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("objection:{id}"))]).await?;
        tx.commit().await.map_err(backend)?;
        objection_row(row)
    }

    async fn get_objection(&self, id: i64) -> Result<Option<Objection>> {
        let sql = format!("{OBJECTION_SELECT} WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await.map_err(backend)?;
        row.map(objection_row).transpose()
    }

    async fn list_objections(&self, q: &ObjectionQuery) -> Result<Vec<Objection>> {
        let sql = format!(
            "{OBJECTION_SELECT} WHERE ($1 IS NULL OR org_id = $1) AND ($2 IS NULL OR raised_by = $2)
               AND ($3 IS NULL OR dataset = $3) AND ($4 = 0 OR status = 'open')
               AND ($5 = 0 OR escalated_at IS NOT NULL)
             ORDER BY id DESC"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(q.org_id)
            .bind(q.raised_by)
            .bind(q.dataset.as_deref())
            .bind(i64::from(q.open_only))
            .bind(i64::from(q.escalated_only))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(objection_row).collect()
    }

    async fn answer_objection(
        &self,
        id: i64,
        status: ObjectionStatus,
        response: &str,
        by: i64,
        correction_version: Option<i64>,
        audit: NewEvent,
    ) -> Result<Objection> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE objections SET status = $1, response = $2, answered_by = $3, answered_at = $4,
                correction_version = $5
             WHERE id = $6 AND status = 'open'",
        )
        .bind(status.as_str())
        .bind(response)
        .bind(by)
        .bind(now_micros())
        .bind(correction_version)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if D::rows_affected(&done) == 0 {
            return Err(StorageError::Conflict(format!("objection {id} is not open")));
        }
        let sql = format!("{OBJECTION_SELECT} WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_one(&mut *tx).await.map_err(backend)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("objection:{id}"))]).await?;
        tx.commit().await.map_err(backend)?;
        objection_row(row)
    }

    async fn escalate_objections(&self, today: Date, at_micros: i64) -> Result<Vec<Objection>> {
        let mut tx = self.write_tx().await?;
        let sql =
            format!("{OBJECTION_SELECT} WHERE status = 'open' AND escalated_at IS NULL AND due_date < $1 ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(ymd(today)).fetch_all(&mut *tx).await.map_err(backend)?;
        let mut out = rows.into_iter().map(objection_row).collect::<Result<Vec<_>>>()?;
        if out.is_empty() {
            return Ok(out);
        }
        let mut events = Vec::new();
        for o in &mut out {
            sqlx::query("UPDATE objections SET escalated_at = $1 WHERE id = $2")
                .bind(at_micros)
                .bind(o.id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            o.escalated_at_micros = Some(at_micros);
            let mut ev = NewEvent::system("objection.escalate", &format!("objection:{}", o.id));
            ev.purpose = format!("due {} passed unanswered; provider org {}", o.due_date, o.org_id);
            events.push(ev);
        }
        self.append_in(&mut tx, events).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn set_objection_evidence(&self, id: i64, name: &str, content: &[u8], audit: NewEvent) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("UPDATE objections SET evidence_name = $1, evidence_size = $2 WHERE id = $3")
            .bind(name)
            .bind(content.len() as i64)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if D::rows_affected(&done) == 0 {
            return Err(StorageError::NotFound(format!("objection {id}")));
        }
        sqlx::query(
            "INSERT INTO objection_evidence (objection_id, name, content) VALUES ($1, $2, $3)
             ON CONFLICT (objection_id) DO UPDATE SET name = excluded.name, content = excluded.content",
        )
        .bind(id)
        .bind(name)
        .bind(content)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("objection:{id}"))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(())
    }

    async fn get_objection_evidence(&self, id: i64) -> Result<Option<(String, Vec<u8>)>> {
        let row = sqlx::query("SELECT name, content FROM objection_evidence WHERE objection_id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.map(|r| (r.get("name"), r.get("content"))))
    }
}
