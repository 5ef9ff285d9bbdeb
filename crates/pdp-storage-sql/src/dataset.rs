//! The dataset store: loads and quality tasks.

use async_trait::async_trait;
use pdp_audit::NewEvent;
use pdp_domain::dataset::{CommitKind, LoadMode, QualityTaskKind, QualityTaskStatus};
use pdp_storage::*;
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use super::rows::code;
use crate::{Conn, Dialect, SqlRow, SqlStore, backend};

const LOAD_COLUMNS: &str = "dataset, version, entry_id, org_id, kind, mode, input_rows, accepted, quarantined,
    rows_after, completeness, validity, uniqueness, consistency, actor, source, loaded_at";

fn load_row(r: impl SqlRow) -> Result<DatasetLoad> {
    let t = "dataset_loads";
    Ok(DatasetLoad {
        dataset: r.get("dataset"),
        version: r.get("version"),
        entry_id: r.get("entry_id"),
        org_id: r.get("org_id"),
        kind: code(&r, t, "kind", CommitKind::parse)?,
        mode: code(&r, t, "mode", LoadMode::parse)?,
        input_rows: r.get("input_rows"),
        accepted: r.get("accepted"),
        quarantined: r.get("quarantined"),
        rows_after: r.get("rows_after"),
        completeness: r.get("completeness"),
        validity: r.get("validity"),
        uniqueness: r.get("uniqueness"),
        consistency: r.get("consistency"),
        actor: r.get("actor"),
        source: r.get("source"),
        loaded_at_micros: r.get("loaded_at"),
    })
}

const TASK_SELECT: &str = "SELECT id, dataset, version, org_id, kind, description, status, response, created_at,
    resolved_by, resolved_at FROM quality_tasks";

fn task_row(r: impl SqlRow) -> Result<QualityTask> {
    let t = "quality_tasks";
    Ok(QualityTask {
        id: r.get("id"),
        dataset: r.get("dataset"),
        version: r.get("version"),
        org_id: r.get("org_id"),
        kind: code(&r, t, "kind", QualityTaskKind::parse)?,
        description: r.get("description"),
        status: code(&r, t, "status", QualityTaskStatus::parse)?,
        response: r.get("response"),
        created_at_micros: r.get("created_at"),
        resolved_by: r.get("resolved_by"),
        resolved_at_micros: r.get("resolved_at"),
    })
}

#[async_trait]
impl<D: Dialect> DatasetStore for SqlStore<D>
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
    async fn record_load(&self, l: DatasetLoad, tasks: Vec<NewQualityTask>, audit: NewEvent) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "INSERT INTO dataset_loads (dataset, version, entry_id, org_id, kind, mode, input_rows, accepted,
                quarantined, rows_after, completeness, validity, uniqueness, consistency, actor, source, loaded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
             ON CONFLICT (dataset, version) DO NOTHING",
        )
        .bind(&l.dataset)
        .bind(l.version)
        .bind(l.entry_id)
        .bind(l.org_id)
        .bind(l.kind.as_str())
        .bind(l.mode.as_str())
        .bind(l.input_rows)
        .bind(l.accepted)
        .bind(l.quarantined)
        .bind(l.rows_after)
        .bind(l.completeness)
        .bind(l.validity)
        .bind(l.uniqueness)
        .bind(l.consistency)
        .bind(&l.actor)
        .bind(&l.source)
        .bind(l.loaded_at_micros)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if D::rows_affected(&done) == 0 {
            return Ok(false);
        }
        for t in tasks {
            sqlx::query(
                "INSERT INTO quality_tasks (dataset, version, org_id, kind, description, status, response, created_at)
                 VALUES ($1, $2, $3, $4, $5, 'open', '', $6)",
            )
            .bind(&l.dataset)
            .bind(l.version)
            .bind(l.org_id)
            .bind(t.kind.as_str())
            .bind(&t.description)
            .bind(now_micros())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        self.append_in(&mut tx, vec![audit.with_object(format!("dataset:{}@{}", l.dataset, l.version))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn list_loads(&self, dataset: &str) -> Result<Vec<DatasetLoad>> {
        let sql = format!("SELECT {LOAD_COLUMNS} FROM dataset_loads WHERE dataset = $1 ORDER BY version");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(dataset).fetch_all(&self.pool).await.map_err(backend)?;
        rows.into_iter().map(load_row).collect()
    }

    async fn latest_loads(&self) -> Result<Vec<DatasetLoad>> {
        let sql = format!(
            "SELECT {LOAD_COLUMNS} FROM dataset_loads l
             WHERE version = (SELECT MAX(version) FROM dataset_loads m WHERE m.dataset = l.dataset)
             ORDER BY dataset"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await.map_err(backend)?;
        rows.into_iter().map(load_row).collect()
    }

    async fn list_quality_tasks(&self, org_id: Option<i64>, open_only: bool) -> Result<Vec<QualityTask>> {
        let sql =
            format!("{TASK_SELECT} WHERE ($1 IS NULL OR org_id = $1) AND ($2 = 0 OR status = 'open') ORDER BY id DESC");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org_id)
            .bind(i64::from(open_only))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(task_row).collect()
    }

    async fn get_quality_task(&self, id: i64) -> Result<Option<QualityTask>> {
        let sql = format!("{TASK_SELECT} WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await.map_err(backend)?;
        row.map(task_row).transpose()
    }

    async fn resolve_quality_task(
        &self,
        id: i64,
        status: QualityTaskStatus,
        response: &str,
        by: i64,
        audit: NewEvent,
    ) -> Result<QualityTask> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE quality_tasks SET status = $1, response = $2, resolved_by = $3, resolved_at = $4
             WHERE id = $5 AND status = 'open'",
        )
        .bind(status.as_str())
        .bind(response)
        .bind(by)
        .bind(now_micros())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if D::rows_affected(&done) == 0 {
            return Err(StorageError::Conflict(format!("quality task {id} is not open")));
        }
        let sql = format!("{TASK_SELECT} WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(&mut *tx).await.map_err(backend)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("quality_task:{id}"))]).await?;
        tx.commit().await.map_err(backend)?;
        task_row(row)
    }
}
