//! The open store: releases of open data, their review and publication.

use async_trait::async_trait;
use pdp_audit::NewEvent;
use pdp_domain::catalog::OpenType;
use pdp_domain::open::{ApplicationStatus, ReleaseRoute, ReleaseStatus, RequestStatus};
use pdp_storage::*;
use sqlx::{AssertSqlSafe, Database, Encode, Executor, IntoArguments, Type};

use super::rows::{code, date, date_or_none, parse, unreadable, ymd};
use crate::{Conn, Dialect, SqlRow, SqlStore, backend};

fn release_row(r: impl SqlRow) -> Result<OpenRelease> {
    let t = "open_releases";
    let review: Option<String> = r.get("review");
    let review = match review {
        Some(text) => {
            Some(serde_json::from_str(&text).map_err(|e| unreadable(&r, t, "review", &format!("{text:?}: {e}")))?)
        }
        None => None,
    };
    Ok(OpenRelease {
        id: r.get("id"),
        entry_id: r.get("entry_id"),
        dataset: r.get("dataset"),
        org_id: r.get("org_id"),
        route: code(&r, t, "route", ReleaseRoute::parse)?,
        source_version: r.get("source_version"),
        rules: parse(&r, t, "rules")?,
        schema_digest: r.get("schema_digest"),
        open_type: code(&r, t, "open_type", OpenType::parse)?,
        status: code(&r, t, "status", ReleaseStatus::parse)?,
        rows: r.get("row_count"),
        bytes: r.get("byte_count"),
        file: r.get("file"),
        sha256: r.get("sha256"),
        prepared_by: r.get("prepared_by"),
        prepared_at_micros: r.get("prepared_at"),
        reviewed_by: r.get("reviewed_by"),
        reviewed_at_micros: r.get("reviewed_at"),
        review,
        published_at_micros: r.get("published_at"),
        previous_id: r.get("previous_id"),
        note: r.get("note"),
    })
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StorageError::Backend(e.to_string()))
}

#[async_trait]
impl<D: Dialect> OpenStore for SqlStore<D>
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
    async fn create_release(&self, r: NewRelease, audit: NewEvent) -> Result<OpenRelease> {
        let now = now_micros();
        let (status, reviewed_by, reviewed_at, published_at) = if r.publish_now {
            (ReleaseStatus::Published, Some("auto".to_string()), Some(now), Some(now))
        } else {
            (ReleaseStatus::PendingReview, None, None, None)
        };
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO open_releases (entry_id, dataset, org_id, route, source_version, rules, schema_digest,
                open_type, status, row_count, byte_count, file, prepared_by, prepared_at, reviewed_by, reviewed_at,
                published_at, previous_id, note, sha256)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
             RETURNING *",
        )
        .bind(r.entry_id)
        .bind(&r.dataset)
        .bind(r.org_id)
        .bind(r.route.as_str())
        .bind(r.source_version)
        .bind(json(&r.rules)?)
        .bind(&r.schema_digest)
        .bind(r.open_type.as_str())
        .bind(status.as_str())
        .bind(r.rows)
        .bind(r.bytes)
        .bind(&r.file)
        .bind(&r.prepared_by)
        .bind(now)
        .bind(reviewed_by)
        .bind(reviewed_at)
        .bind(published_at)
        .bind(r.previous_id)
        .bind(&r.note)
        .bind(&r.sha256)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = release_row(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("release:{}", out.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn get_release(&self, id: i64) -> Result<Option<OpenRelease>> {
        let row = sqlx::query("SELECT * FROM open_releases WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(release_row).transpose()
    }

    async fn list_releases(&self, q: &ReleaseQuery) -> Result<Vec<OpenRelease>> {
        let rows = sqlx::query(
            "SELECT * FROM open_releases
             WHERE ($1 IS NULL OR entry_id = $1) AND ($2 IS NULL OR org_id = $2) AND ($3 IS NULL OR status = $3)
               AND ($4 IS NULL OR dataset = $4) AND ($6 IS NULL OR route = $6) AND ($7 IS NULL OR prepared_by = $7)
             ORDER BY id DESC LIMIT $5",
        )
        .bind(q.entry_id)
        .bind(q.org_id)
        .bind(q.status.map(|s| s.as_str()))
        .bind(q.dataset.as_deref())
        .bind(q.limit.unwrap_or(10_000).clamp(1, 1_000_000))
        .bind(q.route.map(|r| r.as_str()))
        .bind(q.prepared_by.as_deref())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(release_row).collect()
    }

    async fn decide_release(&self, id: i64, d: ReleaseDecision, audit: NewEvent) -> Result<OpenRelease> {
        let now = d.at_micros.unwrap_or_else(now_micros);
        let review = d.review.as_ref().map(json).transpose()?;
        let published = (d.to == ReleaseStatus::Published).then_some(now);
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE open_releases SET status = $1, reviewed_by = COALESCE($2, reviewed_by),
                reviewed_at = CASE WHEN $2 IS NULL THEN reviewed_at ELSE $3 END,
                review = COALESCE($4, review), published_at = COALESCE($5, published_at)
             WHERE id = $6 AND status = $7",
        )
        .bind(d.to.as_str())
        .bind(d.review.is_some().then_some(d.by.as_str()))
        .bind(now)
        .bind(review)
        .bind(published)
        .bind(id)
        .bind(d.from.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if D::rows_affected(&done) == 0 {
            return Err(StorageError::Conflict(format!("release {id} is no longer {}", d.from.as_str())));
        }
        let row = sqlx::query("SELECT * FROM open_releases WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("release:{id}"))]).await?;
        tx.commit().await.map_err(backend)?;
        release_row(row)
    }
}

fn application_row(r: impl SqlRow) -> Result<OpenApplication> {
    let t = "open_applications";
    Ok(OpenApplication {
        id: r.get("id"),
        entry_id: r.get("entry_id"),
        dataset: r.get("dataset"),
        org_id: r.get("org_id"),
        applicant_id: r.get("applicant_id"),
        applicant_name: r.get("applicant_name"),
        purpose: r.get("purpose"),
        scenario: r.get("scenario"),
        fields: parse(&r, t, "fields")?,
        until: date(&r, t, "until_date")?,
        security_measures: r.get("security_measures"),
        commercial: r.get("commercial"),
        licence_version: r.get("licence_version"),
        status: code(&r, t, "status", ApplicationStatus::parse)?,
        due_date: date(&r, t, "due_date")?,
        decided_by: r.get("decided_by"),
        decided_at_micros: r.get("decided_at"),
        reason: r.get("reason"),
        appeal: r.get("appeal"),
        created_at_micros: r.get("created_at"),
        reports: r.get("reports"),
    })
}

const APPLICATION_SELECT: &str =
    "SELECT id, entry_id, dataset, org_id, applicant_id, applicant_name, purpose, scenario,
    fields, until_date, security_measures, commercial, licence_version, status, due_date, decided_by, decided_at,
    reason, appeal, created_at, reports FROM open_applications";

#[async_trait]
impl<D: Dialect> ApplicationStore for SqlStore<D>
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
    async fn create_application(&self, a: NewApplication, audit: NewEvent) -> Result<OpenApplication> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO open_applications (entry_id, dataset, org_id, applicant_id, applicant_name, purpose, scenario,
                fields, until_date, security_measures, commercial, licence_version, status, due_date, secret, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'submitted', $13, $14, $15) RETURNING id",
        )
        .bind(a.entry_id)
        .bind(&a.dataset)
        .bind(a.org_id)
        .bind(a.applicant_id)
        .bind(&a.applicant_name)
        .bind(&a.purpose)
        .bind(&a.scenario)
        .bind(json(&a.fields)?)
        .bind(ymd(a.until))
        .bind(&a.security_measures)
        .bind(a.commercial)
        .bind(a.licence_version.as_deref())
        .bind(ymd(a.due_date))
        .bind(a.secret.as_slice())
        .bind(now_micros())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?
        .get("id");
        let row = sqlx::query(AssertSqlSafe(format!("{APPLICATION_SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("application:{id}"))]).await?;
        tx.commit().await.map_err(backend)?;
        application_row(row)
    }

    async fn get_application(&self, id: i64) -> Result<Option<OpenApplication>> {
        let row = sqlx::query(AssertSqlSafe(format!("{APPLICATION_SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(application_row).transpose()
    }

    async fn list_applications(&self, q: &ApplicationQuery) -> Result<Vec<OpenApplication>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{APPLICATION_SELECT} WHERE ($1 IS NULL OR applicant_id = $1) AND ($2 IS NULL OR org_id = $2)
               AND ($3 IS NULL OR entry_id = $3) ORDER BY id DESC LIMIT 1000"
        )))
        .bind(q.applicant_id)
        .bind(q.org_id)
        .bind(q.entry_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(application_row).collect()
    }

    async fn step_application(&self, id: i64, s: ApplicationStep, audit: NewEvent) -> Result<OpenApplication> {
        let mut tx = self.write_tx().await?;
        let sql = if s.appeal {
            "UPDATE open_applications SET status = $1, appeal = $2, decided_at = decided_at, decided_by = COALESCE($3, decided_by)
             WHERE id = $4 AND status = $5"
        } else {
            "UPDATE open_applications SET status = $1, reason = $2, decided_by = $3, decided_at = $6
             WHERE id = $4 AND status = $5"
        };
        let mut query = sqlx::query(sql)
            .bind(s.to.as_str())
            .bind(&s.reason)
            .bind((!s.appeal).then_some(s.by.as_str()))
            .bind(id)
            .bind(s.from.as_str());
        if !s.appeal {
            query = query.bind(now_micros());
        }
        let done = query.execute(&mut *tx).await.map_err(backend)?;
        if D::rows_affected(&done) == 0 {
            return Err(StorageError::Conflict(format!("application {id} is no longer {}", s.from.as_str())));
        }
        let row = sqlx::query(AssertSqlSafe(format!("{APPLICATION_SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("application:{id}"))]).await?;
        tx.commit().await.map_err(backend)?;
        application_row(row)
    }

    async fn application_secret(&self, id: i64) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT secret FROM open_applications WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.map(|r| r.get("secret")))
    }

    async fn file_application_report(&self, r: NewApplicationReport, audit: NewEvent) -> Result<ApplicationReport> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO open_application_reports (application_id, uses, outcome, incidents, filed_by, filed_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(r.application_id)
        .bind(&r.uses)
        .bind(&r.outcome)
        .bind(&r.incidents)
        .bind(&r.filed_by)
        .bind(now_micros())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query("UPDATE open_applications SET reports = reports + 1 WHERE id = $1")
            .bind(r.application_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let out = report_row(row);
        self.append_in(&mut tx, vec![audit.with_object(format!("application:{}", r.application_id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn application_reports(&self, application_id: i64) -> Result<Vec<ApplicationReport>> {
        let rows =
            sqlx::query("SELECT * FROM open_application_reports WHERE application_id = $1 ORDER BY id LIMIT 1000")
                .bind(application_id)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        Ok(rows.into_iter().map(report_row).collect())
    }
}

fn report_row(r: impl SqlRow) -> ApplicationReport {
    ApplicationReport {
        id: r.get("id"),
        application_id: r.get("application_id"),
        uses: r.get("uses"),
        outcome: r.get("outcome"),
        incidents: r.get("incidents"),
        filed_by: r.get("filed_by"),
        filed_at_micros: r.get("filed_at"),
    }
}

fn request_row(r: impl SqlRow) -> Result<DataRequest> {
    let t = "open_requests";
    Ok(DataRequest {
        id: r.get("id"),
        title: r.get("title"),
        description: r.get("description"),
        requester_id: r.get("requester_id"),
        requester_name: r.get("requester_name"),
        status: code(&r, t, "status", RequestStatus::parse)?,
        org_id: r.get("org_id"),
        entry_id: r.get("entry_id"),
        answer: r.get("answer"),
        due_date: date_or_none(&r, t, "due_date")?,
        created_at_micros: r.get("created_at"),
        updated_at_micros: r.get("updated_at"),
    })
}

fn rating_row(r: impl SqlRow) -> Rating {
    Rating {
        entry_id: r.get("entry_id"),
        user_id: r.get("user_id"),
        user_name: r.get("user_name"),
        stars: r.get("stars"),
        comment: r.get("comment"),
        at_micros: r.get("at_micros"),
    }
}

#[async_trait]
impl<D: Dialect> FeedbackStore for SqlStore<D>
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
    async fn create_data_request(
        &self,
        title: &str,
        description: &str,
        requester_id: i64,
        requester_name: &str,
        audit: NewEvent,
    ) -> Result<DataRequest> {
        let now = now_micros();
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO open_requests (title, description, requester_id, requester_name, status, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'submitted', $5, $5) RETURNING *",
        )
        .bind(title)
        .bind(description)
        .bind(requester_id)
        .bind(requester_name)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = request_row(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("open_request:{}", out.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn get_data_request(&self, id: i64) -> Result<Option<DataRequest>> {
        let row = sqlx::query("SELECT * FROM open_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(request_row).transpose()
    }

    async fn list_data_requests(&self) -> Result<Vec<DataRequest>> {
        let rows = sqlx::query("SELECT * FROM open_requests ORDER BY id DESC LIMIT 1000")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(request_row).collect()
    }

    async fn step_data_request(&self, id: i64, s: RequestStep, audit: NewEvent) -> Result<DataRequest> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE open_requests SET status = $1, org_id = COALESCE($2, org_id), entry_id = COALESCE($3, entry_id),
                answer = $4, due_date = COALESCE($5, due_date), updated_at = $6
             WHERE id = $7 AND status = $8",
        )
        .bind(s.to.as_str())
        .bind(s.org_id)
        .bind(s.entry_id)
        .bind(&s.answer)
        .bind(s.due_date.map(ymd))
        .bind(now_micros())
        .bind(id)
        .bind(s.from.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if D::rows_affected(&done) == 0 {
            return Err(StorageError::Conflict(format!("request {id} is no longer {}", s.from.as_str())));
        }
        let row = sqlx::query("SELECT * FROM open_requests WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("open_request:{id}"))]).await?;
        tx.commit().await.map_err(backend)?;
        request_row(row)
    }

    async fn rate(&self, r: Rating, audit: NewEvent) -> Result<Rating> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM open_ratings WHERE entry_id = $1 AND user_id = $2")
            .bind(r.entry_id)
            .bind(r.user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let row = sqlx::query(
            "INSERT INTO open_ratings (entry_id, user_id, user_name, stars, comment, at_micros)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(r.entry_id)
        .bind(r.user_id)
        .bind(&r.user_name)
        .bind(r.stars)
        .bind(&r.comment)
        .bind(now_micros())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("entry:{}", r.entry_id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(rating_row(row))
    }

    async fn ratings(&self, entry_id: i64) -> Result<Vec<Rating>> {
        let rows = sqlx::query("SELECT * FROM open_ratings WHERE entry_id = $1 ORDER BY at_micros DESC LIMIT 200")
            .bind(entry_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(rating_row).collect())
    }
}

fn usage_row(r: impl SqlRow) -> Usage {
    Usage {
        release_id: r.get("release_id"),
        entry_id: r.get("entry_id"),
        org_id: r.get("org_id"),
        day: r.get("day"),
        views: r.get("views"),
        downloads: r.get("downloads"),
        api_calls: r.get("api_calls"),
    }
}

#[async_trait]
impl<D: Dialect> UsageStore for SqlStore<D>
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
    async fn add_usage(&self, counts: &[Usage]) -> Result<()> {
        let mut tx = self.write_tx().await?;
        for u in counts {
            sqlx::query(
                "INSERT INTO open_usage (release_id, entry_id, org_id, day, views, downloads, api_calls)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (release_id, day) DO UPDATE SET views = open_usage.views + excluded.views,
                    downloads = open_usage.downloads + excluded.downloads,
                    api_calls = open_usage.api_calls + excluded.api_calls",
            )
            .bind(u.release_id)
            .bind(u.entry_id)
            .bind(u.org_id)
            .bind(u.day.as_str())
            .bind(u.views)
            .bind(u.downloads)
            .bind(u.api_calls)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn usage_by_release(&self) -> Result<Vec<Usage>> {
        let rows = sqlx::query(
            "SELECT release_id, MIN(entry_id) AS entry_id, MIN(org_id) AS org_id, CAST('' AS TEXT) AS day,
                CAST(SUM(views) AS BIGINT) AS views, CAST(SUM(downloads) AS BIGINT) AS downloads,
                CAST(SUM(api_calls) AS BIGINT) AS api_calls
             FROM open_usage GROUP BY release_id ORDER BY release_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(usage_row).collect())
    }

    async fn usage_by_day(&self, since: &str) -> Result<Vec<Usage>> {
        let rows = sqlx::query(
            "SELECT CAST(0 AS BIGINT) AS release_id, CAST(0 AS BIGINT) AS entry_id, CAST(0 AS BIGINT) AS org_id, day,
                CAST(SUM(views) AS BIGINT) AS views, CAST(SUM(downloads) AS BIGINT) AS downloads,
                CAST(SUM(api_calls) AS BIGINT) AS api_calls
             FROM open_usage WHERE day >= $1 GROUP BY day ORDER BY day",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(usage_row).collect())
    }
}

fn subscription_row(r: impl SqlRow) -> Subscription {
    Subscription {
        id: r.get("id"),
        user_id: r.get("user_id"),
        entry_id: r.get("entry_id"),
        org_id: r.get("org_id"),
        url: r.get("url"),
        created_at_micros: r.get("created_at"),
        deliveries: r.get("deliveries"),
        failures: r.get("failures"),
        last_at_micros: r.get("last_at"),
        last_status: r.get("last_status"),
        last_error: r.get("last_error"),
    }
}

/// The columns of a subscription without its secret.
const SUBSCRIPTION: &str =
    "id, user_id, entry_id, org_id, url, created_at, deliveries, failures, last_at, last_status, last_error";

#[async_trait]
impl<D: Dialect> WebhookStore for SqlStore<D>
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
    async fn create_subscription(&self, s: NewSubscription, audit: NewEvent) -> Result<Subscription> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO open_subscriptions (user_id, entry_id, org_id, url, secret, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {SUBSCRIPTION}"
        )))
        .bind(s.user_id)
        .bind(s.entry_id)
        .bind(s.org_id)
        .bind(&s.url)
        .bind(&s.secret)
        .bind(now_micros())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = subscription_row(row);
        self.append_in(&mut tx, vec![audit.with_object(format!("open_subscription:{}", out.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn get_subscription(&self, id: i64) -> Result<Option<Subscription>> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {SUBSCRIPTION} FROM open_subscriptions WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.map(subscription_row))
    }

    async fn list_subscriptions(&self, user_id: Option<i64>) -> Result<Vec<Subscription>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SUBSCRIPTION} FROM open_subscriptions WHERE ($1 IS NULL OR user_id = $1) ORDER BY id"
        )))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(subscription_row).collect())
    }

    async fn delete_subscription(&self, id: i64, audit: NewEvent) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("DELETE FROM open_subscriptions WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if D::rows_affected(&done) == 0 {
            return Err(StorageError::NotFound(format!("subscription {id}")));
        }
        self.append_in(&mut tx, vec![audit.with_object(format!("open_subscription:{id}"))]).await?;
        tx.commit().await.map_err(backend)
    }

    async fn subscription_secret(&self, id: i64) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT secret FROM open_subscriptions WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.map(|r| r.get("secret")))
    }

    async fn releases_to_announce(&self, limit: i64) -> Result<Vec<OpenRelease>> {
        let rows = sqlx::query(
            "SELECT * FROM open_releases WHERE NOT announced AND status = 'published' ORDER BY id LIMIT $1",
        )
        .bind(limit.clamp(1, 10_000))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(release_row).collect()
    }

    async fn mark_announced(&self, ids: &[i64]) -> Result<()> {
        let mut tx = self.write_tx().await?;
        for id in ids {
            sqlx::query("UPDATE open_releases SET announced = TRUE WHERE id = $1")
                .bind(*id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn record_delivery(&self, subscription_id: i64, status: Option<i64>, error: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE open_subscriptions SET deliveries = deliveries + 1,
                failures = failures + CASE WHEN $1 = '' THEN 0 ELSE 1 END,
                last_at = $2, last_status = $3, last_error = $1
             WHERE id = $4",
        )
        .bind(error)
        .bind(now_micros())
        .bind(status)
        .bind(subscription_id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }
}
