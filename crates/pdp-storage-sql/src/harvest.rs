//! The harvest store: sources, records and the run log.

use async_trait::async_trait;
use pdp_audit::NewEvent;
use pdp_domain::harvest::{HarvestKind, ItemOutcome, RunStatus};
use pdp_storage::*;
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use super::rows::code;
use crate::{Conn, Dialect, SqlRow, SqlStore, backend};

fn source_row(r: impl SqlRow) -> Result<HarvestSource> {
    Ok(HarvestSource {
        id: r.get("id"),
        name: r.get("name"),
        kind: code(&r, "harvest_sources", "kind", HarvestKind::parse)?,
        url: r.get("url"),
        schedule_hours: r.get("schedule_hours"),
        created_by: r.get("created_by"),
        created_at_micros: r.get("created_at"),
    })
}

fn run_row(r: impl SqlRow) -> Result<HarvestRun> {
    Ok(HarvestRun {
        id: r.get("id"),
        source_id: r.get("source_id"),
        started_by: r.get("started_by"),
        started_at_micros: r.get("started_at"),
        finished_at_micros: r.get("finished_at"),
        status: code(&r, "harvest_runs", "status", RunStatus::parse)?,
        new: r.get("n_new"),
        changed: r.get("n_changed"),
        unchanged: r.get("n_unchanged"),
        withdrawn: r.get("n_withdrawn"),
        held: r.get("n_held"),
        skipped: r.get("n_skipped"),
        failed: r.get("n_failed"),
        message: r.get("message"),
    })
}

fn item_row(r: impl SqlRow) -> Result<RunItem> {
    Ok(RunItem {
        run_id: r.get("run_id"),
        identifier: r.get("identifier"),
        title: r.get("title"),
        outcome: code(&r, "harvest_run_items", "outcome", ItemOutcome::parse)?,
        entry_id: r.get("entry_id"),
        release_id: r.get("release_id"),
        reason: r.get("reason"),
    })
}

fn record_row(r: impl SqlRow) -> HarvestRecord {
    HarvestRecord {
        source_id: r.get("source_id"),
        identifier: r.get("identifier"),
        entry_id: r.get("entry_id"),
        entry_version: r.get("entry_version"),
        release_id: r.get("release_id"),
        fingerprint: r.get("fingerprint"),
        modified: r.get("modified"),
        withdrawn: r.get("withdrawn"),
        updated_at_micros: r.get("updated_at"),
    }
}

#[async_trait]
impl<D: Dialect> HarvestStore for SqlStore<D>
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
    async fn create_harvest_source(&self, s: NewHarvestSource, audit: NewEvent) -> Result<HarvestSource> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO harvest_sources (name, kind, url, schedule_hours, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(&s.name)
        .bind(s.kind.as_str())
        .bind(&s.url)
        .bind(s.schedule_hours)
        .bind(&s.created_by)
        .bind(now_micros())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = source_row(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("harvest_source:{}", out.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn get_harvest_source(&self, id: i64) -> Result<Option<HarvestSource>> {
        let row = sqlx::query("SELECT * FROM harvest_sources WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(source_row).transpose()
    }

    async fn list_harvest_sources(&self) -> Result<Vec<HarvestSource>> {
        let rows =
            sqlx::query("SELECT * FROM harvest_sources ORDER BY id").fetch_all(&self.pool).await.map_err(backend)?;
        rows.into_iter().map(source_row).collect()
    }

    async fn start_harvest_run(
        &self,
        source_id: i64,
        started_by: &str,
        stale_before_micros: i64,
        audit: NewEvent,
    ) -> Result<HarvestRun> {
        let mut tx = self.write_tx().await?;
        let running = sqlx::query(
            "SELECT id, started_at FROM harvest_runs WHERE source_id = $1 AND status = 'running' ORDER BY id",
        )
        .bind(source_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        let now = now_micros();
        for r in running {
            let (id, started): (i64, i64) = (r.get("id"), r.get("started_at"));
            if started >= stale_before_micros {
                return Err(StorageError::Conflict(format!("run {id} of source {source_id} is still running")));
            }
            sqlx::query(
                "UPDATE harvest_runs SET status = 'failed', finished_at = $1,
                    message = 'the process running it ended before it finished' WHERE id = $2",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        let row = sqlx::query(
            "INSERT INTO harvest_runs (source_id, started_by, started_at, status) VALUES ($1, $2, $3, 'running')
             RETURNING *",
        )
        .bind(source_id)
        .bind(started_by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = run_row(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("harvest_run:{}", out.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn finish_harvest_run(&self, run: &HarvestRun) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE harvest_runs SET status = $1, finished_at = $2, n_new = $3, n_changed = $4, n_unchanged = $5,
                n_withdrawn = $6, n_held = $7, n_skipped = $8, n_failed = $9, message = $10
             WHERE id = $11",
        )
        .bind(run.status.as_str())
        .bind(run.finished_at_micros.unwrap_or_else(now_micros))
        .bind(run.new)
        .bind(run.changed)
        .bind(run.unchanged)
        .bind(run.withdrawn)
        .bind(run.held)
        .bind(run.skipped)
        .bind(run.failed)
        .bind(&run.message)
        .bind(run.id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn add_harvest_items(&self, items: &[RunItem]) -> Result<()> {
        let mut tx = self.write_tx().await?;
        for i in items {
            sqlx::query(
                "INSERT INTO harvest_run_items (run_id, identifier, title, outcome, entry_id, release_id, reason)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(i.run_id)
            .bind(&i.identifier)
            .bind(&i.title)
            .bind(i.outcome.as_str())
            .bind(i.entry_id)
            .bind(i.release_id)
            .bind(&i.reason)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn list_harvest_runs(&self, source_id: i64, limit: i64) -> Result<Vec<HarvestRun>> {
        let rows = sqlx::query("SELECT * FROM harvest_runs WHERE source_id = $1 ORDER BY id DESC LIMIT $2")
            .bind(source_id)
            .bind(limit.clamp(1, 1000))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(run_row).collect()
    }

    async fn get_harvest_run(&self, id: i64) -> Result<Option<HarvestRun>> {
        let row = sqlx::query("SELECT * FROM harvest_runs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(run_row).transpose()
    }

    async fn harvest_run_items(&self, run_id: i64, offset: i64, limit: i64) -> Result<Vec<RunItem>> {
        let rows = sqlx::query("SELECT * FROM harvest_run_items WHERE run_id = $1 ORDER BY id LIMIT $2 OFFSET $3")
            .bind(run_id)
            .bind(limit.clamp(1, 10_000))
            .bind(offset.max(0))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(item_row).collect()
    }

    async fn harvest_records(&self, source_id: i64) -> Result<Vec<HarvestRecord>> {
        let rows = sqlx::query("SELECT * FROM harvest_records WHERE source_id = $1 ORDER BY identifier")
            .bind(source_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(record_row).collect())
    }

    async fn harvest_record_of_release(&self, release_id: i64) -> Result<Option<HarvestRecord>> {
        let row = sqlx::query("SELECT * FROM harvest_records WHERE release_id = $1")
            .bind(release_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.map(record_row))
    }

    async fn put_harvest_record(&self, r: &HarvestRecord) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM harvest_records WHERE source_id = $1 AND identifier = $2")
            .bind(r.source_id)
            .bind(&r.identifier)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query(
            "INSERT INTO harvest_records (source_id, identifier, entry_id, entry_version, release_id, fingerprint,
                modified, withdrawn, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(r.source_id)
        .bind(&r.identifier)
        .bind(r.entry_id)
        .bind(r.entry_version)
        .bind(r.release_id)
        .bind(&r.fingerprint)
        .bind(&r.modified)
        .bind(r.withdrawn)
        .bind(now_micros())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }
}
