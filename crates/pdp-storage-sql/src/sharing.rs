//! The sharing store: scenarios, emergencies, requests, notes, grants, usage, usage reports,
//! demands, upward requests, and the access path's batches.

use std::collections::BTreeMap;

use async_trait::async_trait;
use pdp_audit::NewEvent;
use pdp_domain::catalog::{ShareMode, ShareType};
use pdp_domain::sharing::{DemandStatus, GrantStatus, NoteKind, RequestStatus, Route, UpwardLevel, UpwardStatus};
use pdp_storage::*;
use sqlx::{AssertSqlSafe, Database, Encode, Executor, IntoArguments, Type};
use time::Date;

use super::rows::{code, date, date_or_none, parse, ymd};
use crate::{Conn, Dialect, SqlRow, SqlStore, backend};

/// A batch of the access path as the backends write it (each in its own `write_accesses`): one
/// counter update per grant, however many of its accesses the batch holds, and the events.
pub(crate) fn access_batch(batch: Vec<AccessRecord>) -> (BTreeMap<i64, (i64, i64)>, Vec<NewEvent>) {
    let mut per_grant: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for r in &batch {
        let c = per_grant.entry(r.grant_id).or_default();
        c.0 += r.accesses;
        c.1 += r.rows;
    }
    // The caller may name a more precise object (e.g. the digests of documents served);
    // otherwise the object is the grant.
    let events = batch
        .into_iter()
        .map(|r| if r.audit.object.is_empty() { r.audit.with_object(format!("grant:{}", r.grant_id)) } else { r.audit })
        .collect();
    (per_grant, events)
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
    /// A batch written through sqlx in one write transaction: PostgreSQL's `write_accesses`,
    /// and SQLite's for an in-memory database (a database file has a writer of its own, see the
    /// SQLite crate's `access_log.rs`).
    pub(crate) async fn write_accesses_sqlx(
        &self,
        per_grant: BTreeMap<i64, (i64, i64)>,
        events: Vec<NewEvent>,
        journal: Option<&str>,
    ) -> Result<()> {
        let now = now_micros();
        let mut tx = self.write_tx().await?;
        if let Some(name) = journal {
            // One row: the last segment recorded is all a start needs (see `last_journal_segment`).
            sqlx::query("DELETE FROM access_journal").execute(&mut *tx).await.map_err(backend)?;
            sqlx::query("INSERT INTO access_journal (name, records, indexed_at) VALUES ($1, $2, $3)")
                .bind(name)
                .bind(events.len() as i64)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        for (grant_id, (accesses, rows)) in per_grant {
            sqlx::query(
                "UPDATE share_grants SET accesses = accesses + $1, rows_served = rows_served + $2, last_access = $3
             WHERE id = $4",
            )
            .bind(accesses)
            .bind(rows)
            .bind(now)
            .bind(grant_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        self.append_in(&mut tx, events).await?;
        tx.commit().await.map_err(backend)
    }

    async fn insert_grant(
        tx: &mut sqlx::Transaction<'static, D::Db>,
        request_id: Option<i64>,
        g: &NewGrant,
    ) -> Result<Grant> {
        let id: i64 = sqlx::query(
            "INSERT INTO share_grants (request_id, entry_id, dataset, provider_org_id, user_org_id, scenario, purpose,
                mode, fields, masking, row_filters, min_group, expires_on, status, pseudonym_key, created_by, created_at,
                change_reason, emergency_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'active', $14, $15, $16, '', $17)
             RETURNING id",
        )
        .bind(request_id)
        .bind(g.entry_id)
        .bind(&g.dataset)
        .bind(g.provider_org_id)
        .bind(g.user_org_id)
        .bind(&g.scenario)
        .bind(&g.purpose)
        .bind(g.mode.as_str())
        .bind(json(&g.fields))
        .bind(json(&g.masking))
        .bind(json(&g.row_filters))
        .bind(g.min_group)
        .bind(ymd(g.expires_on))
        .bind(&g.pseudonym_key)
        .bind(&g.created_by)
        .bind(now_micros())
        .bind(g.emergency_id)
        .fetch_one(&mut **tx)
        .await
        .map_err(backend)?
        .get(0);
        let sql = format!("{GRANT_SELECT} WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_one(&mut **tx).await.map_err(backend)?;
        grant_row(row)
    }

    async fn insert_note(
        tx: &mut sqlx::Transaction<'static, D::Db>,
        request_id: i64,
        n: &NewRequestNote,
    ) -> Result<RequestNote> {
        let row = sqlx::query(
            "INSERT INTO share_request_notes (request_id, author_id, author_name, org_id, kind, body, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
        )
        .bind(request_id)
        .bind(n.author_id)
        .bind(&n.author_name)
        .bind(n.org_id)
        .bind(n.kind.as_str())
        .bind(&n.body)
        .bind(now_micros())
        .fetch_one(&mut **tx)
        .await
        .map_err(backend)?;
        note_row(row)
    }

    async fn request_in(tx: &mut sqlx::Transaction<'static, D::Db>, id: i64) -> Result<ShareRequest> {
        let row = sqlx::query("SELECT * FROM share_requests WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await
            .map_err(backend)?;
        request_row(row)
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn scenario_row(r: impl SqlRow) -> Result<Scenario> {
    let t = "share_scenarios";
    Ok(Scenario {
        id: r.get("id"),
        name: r.get("name"),
        entry_id: r.get("entry_id"),
        mode: code(&r, t, "mode", ShareMode::parse)?,
        fields: parse(&r, t, "fields")?,
        purpose: r.get("purpose"),
        legal_basis: r.get("legal_basis"),
        grant_days: r.get("grant_days"),
        created_by: r.get("created_by"),
        created_at_micros: r.get("created_at"),
    })
}

fn request_row(r: impl SqlRow) -> Result<ShareRequest> {
    let t = "share_requests";
    Ok(ShareRequest {
        id: r.get("id"),
        requester_org_id: r.get("requester_org_id"),
        requester_user_id: r.get("requester_user_id"),
        requester_name: r.get("requester_name"),
        entry_id: r.get("entry_id"),
        dataset: r.get("dataset"),
        provider_org_id: r.get("provider_org_id"),
        fields: parse(&r, t, "fields")?,
        mode: code(&r, t, "mode", ShareMode::parse)?,
        scenario_id: r.get("scenario_id"),
        scenario: r.get("scenario"),
        legal_basis: r.get("legal_basis"),
        purpose: r.get("purpose"),
        until: date(&r, t, "until_date")?,
        pledged: r.get::<i64>("pledged") != 0,
        share_type: code(&r, t, "share_type", ShareType::parse)?,
        route: code(&r, t, "route", Route::parse)?,
        status: code(&r, t, "status", RequestStatus::parse)?,
        beyond_need: parse(&r, t, "beyond_need")?,
        submitted_at_micros: r.get("submitted_at"),
        due_date: date_or_none(&r, t, "due_date")?,
        escalated_at_micros: r.get("escalated_at"),
        decided_by: r.get("decided_by"),
        decided_at_micros: r.get("decided_at"),
        decision_reason: r.get("decision_reason"),
        grant_id: r.get("grant_id"),
        emergency_id: r.get("emergency_id"),
    })
}

fn emergency_row(r: impl SqlRow) -> Result<Emergency> {
    let t = "share_emergencies";
    Ok(Emergency {
        id: r.get("id"),
        name: r.get("name"),
        scope: r.get("scope"),
        raise_to: code(&r, t, "raise_to", ShareType::parse)?,
        entry_ids: parse(&r, t, "entry_ids")?,
        org_ids: parse(&r, t, "org_ids")?,
        starts_at_micros: r.get("starts_at"),
        ends_at_micros: r.get("ends_at"),
        declared_by: r.get("declared_by"),
        ended_early_at_micros: r.get("ended_early_at"),
        end_reason: r.get("end_reason"),
    })
}

fn report_row(r: impl SqlRow) -> Result<UsageReport> {
    let t = "share_usage_reports";
    Ok(UsageReport {
        id: r.get("id"),
        grant_id: r.get("grant_id"),
        period_end: date(&r, t, "period_end")?,
        body: r.get("body"),
        filed_by: r.get("filed_by"),
        filed_by_name: r.get("filed_by_name"),
        filed_at_micros: r.get("filed_at"),
    })
}

fn demand_row(r: impl SqlRow) -> Result<Demand> {
    let t = "share_demands";
    Ok(Demand {
        id: r.get("id"),
        requester_org_id: r.get("requester_org_id"),
        requester_user_id: r.get("requester_user_id"),
        requester_name: r.get("requester_name"),
        title: r.get("title"),
        description: r.get("description"),
        purpose: r.get("purpose"),
        status: code(&r, t, "status", DemandStatus::parse)?,
        provider_org_id: r.get("provider_org_id"),
        entry_id: r.get("entry_id"),
        response: r.get("response"),
        created_at_micros: r.get("created_at"),
        updated_at_micros: r.get("updated_at"),
    })
}

fn upward_row(r: impl SqlRow) -> Result<UpwardRequest> {
    let t = "share_upward";
    Ok(UpwardRequest {
        id: r.get("id"),
        requester_org_id: r.get("requester_org_id"),
        requester_user_id: r.get("requester_user_id"),
        requester_name: r.get("requester_name"),
        level: code(&r, t, "level", UpwardLevel::parse)?,
        holder: r.get("holder"),
        data_wanted: r.get("data_wanted"),
        purpose: r.get("purpose"),
        legal_basis: r.get("legal_basis"),
        status: code(&r, t, "status", UpwardStatus::parse)?,
        batch: r.get("batch"),
        response: r.get("response"),
        created_at_micros: r.get("created_at"),
        updated_at_micros: r.get("updated_at"),
    })
}

fn note_row(r: impl SqlRow) -> Result<RequestNote> {
    let t = "share_request_notes";
    Ok(RequestNote {
        id: r.get("id"),
        request_id: r.get("request_id"),
        author_id: r.get("author_id"),
        author_name: r.get("author_name"),
        org_id: r.get("org_id"),
        kind: code(&r, t, "kind", NoteKind::parse)?,
        body: r.get("body"),
        created_at_micros: r.get("created_at"),
    })
}

/// Every column but the pseudonym key, which only [`ShareStore::grant_key`] reads.
const GRANT_SELECT: &str = "SELECT id, request_id, entry_id, dataset, provider_org_id, user_org_id, scenario,
    purpose, mode, fields, masking, row_filters, min_group, expires_on, status, created_by, created_at, changed_at,
    change_reason, accesses, rows_served, last_access, emergency_id FROM share_grants";

fn grant_row(r: impl SqlRow) -> Result<Grant> {
    let t = "share_grants";
    Ok(Grant {
        id: r.get("id"),
        request_id: r.get("request_id"),
        entry_id: r.get("entry_id"),
        dataset: r.get("dataset"),
        provider_org_id: r.get("provider_org_id"),
        user_org_id: r.get("user_org_id"),
        scenario: r.get("scenario"),
        purpose: r.get("purpose"),
        mode: code(&r, t, "mode", ShareMode::parse)?,
        fields: parse(&r, t, "fields")?,
        masking: parse(&r, t, "masking")?,
        row_filters: parse(&r, t, "row_filters")?,
        min_group: r.get("min_group"),
        expires_on: date(&r, t, "expires_on")?,
        status: code(&r, t, "status", GrantStatus::parse)?,
        created_by: r.get("created_by"),
        created_at_micros: r.get("created_at"),
        changed_at_micros: r.get("changed_at"),
        change_reason: r.get("change_reason"),
        emergency_id: r.get("emergency_id"),
    })
}

#[async_trait]
impl<D: Dialect> ShareStore for SqlStore<D>
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
    async fn create_scenario(&self, s: NewScenario, audit: NewEvent) -> Result<Scenario> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO share_scenarios (name, entry_id, mode, fields, purpose, legal_basis, grant_days, created_by,
                created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
        )
        .bind(&s.name)
        .bind(s.entry_id)
        .bind(s.mode.as_str())
        .bind(json(&s.fields))
        .bind(&s.purpose)
        .bind(&s.legal_basis)
        .bind(s.grant_days)
        .bind(&s.created_by)
        .bind(now_micros())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = scenario_row(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("scenario:{}", out.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn list_scenarios(&self) -> Result<Vec<Scenario>> {
        let rows =
            sqlx::query("SELECT * FROM share_scenarios ORDER BY id").fetch_all(&self.pool).await.map_err(backend)?;
        rows.into_iter().map(scenario_row).collect()
    }

    async fn get_scenario(&self, id: i64) -> Result<Option<Scenario>> {
        let row = sqlx::query("SELECT * FROM share_scenarios WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(scenario_row).transpose()
    }

    async fn create_request(
        &self,
        r: NewShareRequest,
        grant: Option<NewGrant>,
        audit: NewEvent,
    ) -> Result<(ShareRequest, Option<Grant>)> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO share_requests (requester_org_id, requester_user_id, requester_name, entry_id, dataset,
                provider_org_id, fields, mode, scenario_id, scenario, legal_basis, purpose, until_date, pledged,
                share_type, route, status, beyond_need, submitted_at, due_date, decision_reason, emergency_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, '', $21)
             RETURNING id",
        )
        .bind(r.requester_org_id)
        .bind(r.requester_user_id)
        .bind(&r.requester_name)
        .bind(r.entry_id)
        .bind(&r.dataset)
        .bind(r.provider_org_id)
        .bind(json(&r.fields))
        .bind(r.mode.as_str())
        .bind(r.scenario_id)
        .bind(&r.scenario)
        .bind(&r.legal_basis)
        .bind(&r.purpose)
        .bind(ymd(r.until))
        .bind(i64::from(r.pledged))
        .bind(r.share_type.as_str())
        .bind(r.route.as_str())
        .bind(r.status.as_str())
        .bind(json(&r.beyond_need))
        .bind(now_micros())
        .bind(r.due_date.map(ymd).unwrap_or_default())
        .bind(r.emergency_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?
        .get(0);
        let mut events = vec![audit.with_object(format!("share_request:{id}"))];
        let granted = match grant {
            Some(g) => {
                let g = Self::insert_grant(&mut tx, Some(id), &g).await?;
                sqlx::query("UPDATE share_requests SET grant_id = $1, decided_at = $2 WHERE id = $3")
                    .bind(g.id)
                    .bind(now_micros())
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                let mut ev = NewEvent::system("share.grant.create", &format!("grant:{}", g.id));
                ev.purpose = format!("request {id} granted directly ({})", r.route.as_str());
                ev.org_id = Some(g.provider_org_id);
                events.push(ev);
                Some(g)
            }
            None => None,
        };
        let stored = Self::request_in(&mut tx, id).await?;
        self.append_in(&mut tx, events).await?;
        tx.commit().await.map_err(backend)?;
        Ok((stored, granted))
    }

    async fn get_request(&self, id: i64) -> Result<Option<ShareRequest>> {
        let row = sqlx::query("SELECT * FROM share_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(request_row).transpose()
    }

    async fn list_requests(&self, q: &RequestQuery) -> Result<Vec<ShareRequest>> {
        let rows = sqlx::query(
            "SELECT * FROM share_requests
             WHERE ($1 IS NULL OR requester_org_id = $1 OR provider_org_id = $1)
               AND ($2 IS NULL OR requester_org_id = $2) AND ($3 IS NULL OR provider_org_id = $3)
               AND ($4 IS NULL OR status = $4)
               AND ($5 = 0 OR status IN ('pending', 'negotiating', 'escalated'))
             ORDER BY id DESC",
        )
        .bind(q.party_org)
        .bind(q.requester_org)
        .bind(q.provider_org)
        .bind(q.status.map(|v| v.as_str()))
        .bind(i64::from(q.open_only))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(request_row).collect()
    }

    async fn decide_request(&self, id: i64, d: Decision, audit: NewEvent) -> Result<(ShareRequest, Option<Grant>)> {
        let mut tx = self.write_tx().await?;
        let now = now_micros();
        // Escalation is not a decision: it keeps the decider empty and stamps `escalated_at`.
        let escalation = d.to == RequestStatus::Escalated;
        let done = sqlx::query(
            "UPDATE share_requests SET status = $1,
                decided_by = CASE WHEN $2 = 1 THEN decided_by ELSE $3 END,
                decided_at = CASE WHEN $2 = 1 THEN decided_at ELSE $4 END,
                escalated_at = CASE WHEN $2 = 1 THEN $4 ELSE escalated_at END,
                decision_reason = CASE WHEN $2 = 1 THEN decision_reason ELSE $5 END
             WHERE id = $6 AND status = $7",
        )
        .bind(d.to.as_str())
        .bind(i64::from(escalation))
        .bind(d.by)
        .bind(now)
        .bind(&d.reason)
        .bind(id)
        .bind(d.from.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if D::rows_affected(&done) == 0 {
            return Err(StorageError::Conflict(format!("share request {id} is no longer {}", d.from.as_str())));
        }
        let mut events = vec![audit.with_object(format!("share_request:{id}"))];
        if let Some(n) = &d.note {
            Self::insert_note(&mut tx, id, n).await?;
        }
        let granted = match &d.grant {
            Some(g) => {
                let g = Self::insert_grant(&mut tx, Some(id), g).await?;
                sqlx::query("UPDATE share_requests SET grant_id = $1 WHERE id = $2")
                    .bind(g.id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                let mut ev = NewEvent::system("share.grant.create", &format!("grant:{}", g.id));
                ev.purpose = format!("request {id} {}", d.to.as_str());
                ev.org_id = Some(g.provider_org_id);
                events.push(ev);
                Some(g)
            }
            None => None,
        };
        let stored = Self::request_in(&mut tx, id).await?;
        self.append_in(&mut tx, events).await?;
        tx.commit().await.map_err(backend)?;
        Ok((stored, granted))
    }

    async fn add_request_note(&self, request_id: i64, n: NewRequestNote, audit: NewEvent) -> Result<RequestNote> {
        let mut tx = self.write_tx().await?;
        let note = Self::insert_note(&mut tx, request_id, &n).await?;
        self.append_in(&mut tx, vec![audit.with_object(format!("share_request:{request_id}"))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(note)
    }

    async fn list_request_notes(&self, request_id: i64) -> Result<Vec<RequestNote>> {
        let rows = sqlx::query("SELECT * FROM share_request_notes WHERE request_id = $1 ORDER BY id")
            .bind(request_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(note_row).collect()
    }

    async fn escalate_requests(&self, today: Date, at_micros: i64) -> Result<Vec<ShareRequest>> {
        let mut tx = self.write_tx().await?;
        let rows = sqlx::query(
            "SELECT * FROM share_requests WHERE status = 'pending' AND due_date <> '' AND due_date < $1 ORDER BY id",
        )
        .bind(ymd(today))
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        let mut out = rows.into_iter().map(request_row).collect::<Result<Vec<_>>>()?;
        if out.is_empty() {
            return Ok(out);
        }
        let mut events = Vec::new();
        for r in &mut out {
            sqlx::query("UPDATE share_requests SET status = 'escalated', escalated_at = $1 WHERE id = $2")
                .bind(at_micros)
                .bind(r.id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            let note = NewRequestNote {
                author_id: None,
                author_name: "system".into(),
                org_id: None,
                kind: NoteKind::Escalation,
                body: format!("due {} passed unanswered", r.due_date.map(ymd).unwrap_or_default()),
            };
            Self::insert_note(&mut tx, r.id, &note).await?;
            r.status = RequestStatus::Escalated;
            r.escalated_at_micros = Some(at_micros);
            let mut ev = NewEvent::system("share.request.escalate", &format!("share_request:{}", r.id));
            ev.purpose = format!(
                "due {} passed unanswered; provider org {}",
                r.due_date.map(ymd).unwrap_or_default(),
                r.provider_org_id
            );
            events.push(ev);
        }
        self.append_in(&mut tx, events).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn get_grant(&self, id: i64) -> Result<Option<Grant>> {
        let sql = format!("{GRANT_SELECT} WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await.map_err(backend)?;
        row.map(grant_row).transpose()
    }

    async fn grant_key(&self, id: i64) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT pseudonym_key FROM share_grants WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.map(|r| r.get("pseudonym_key")))
    }

    async fn list_grants(&self, q: &GrantQuery) -> Result<Vec<Grant>> {
        let sql = format!(
            "{GRANT_SELECT} WHERE ($1 IS NULL OR user_org_id = $1 OR provider_org_id = $1)
               AND ($2 IS NULL OR user_org_id = $2) AND ($3 IS NULL OR provider_org_id = $3)
               AND ($4 IS NULL OR entry_id = $4) AND ($5 IS NULL OR status = $5)
             ORDER BY id DESC"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(q.party_org)
            .bind(q.user_org)
            .bind(q.provider_org)
            .bind(q.entry_id)
            .bind(q.status.map(|v| v.as_str()))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(grant_row).collect()
    }

    async fn set_grant_status(
        &self,
        id: i64,
        from: GrantStatus,
        to: GrantStatus,
        reason: &str,
        audit: NewEvent,
    ) -> Result<Grant> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE share_grants SET status = $1, changed_at = $2, change_reason = $3 WHERE id = $4 AND status = $5",
        )
        .bind(to.as_str())
        .bind(now_micros())
        .bind(reason)
        .bind(id)
        .bind(from.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if D::rows_affected(&done) == 0 {
            return Err(StorageError::Conflict(format!("grant {id} is no longer {}", from.as_str())));
        }
        let sql = format!("{GRANT_SELECT} WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_one(&mut *tx).await.map_err(backend)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("grant:{id}"))]).await?;
        tx.commit().await.map_err(backend)?;
        grant_row(row)
    }

    async fn record_accesses(&self, batch: Vec<AccessRecord>, journal: Option<&str>) -> Result<()> {
        let (per_grant, events) = access_batch(batch);
        self.write_accesses(per_grant, events, journal).await
    }

    async fn last_journal_segment(&self) -> Result<Option<String>> {
        let row =
            sqlx::query("SELECT max(name) AS name FROM access_journal").fetch_one(&self.pool).await.map_err(backend)?;
        row.try_get::<Option<String>>("name").map_err(backend)
    }

    async fn grant_usage(&self, grant_id: i64) -> Result<GrantUsage> {
        let row = sqlx::query("SELECT accesses, rows_served, last_access FROM share_grants WHERE id = $1")
            .bind(grant_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .ok_or_else(|| StorageError::NotFound(format!("grant {grant_id}")))?;
        Ok(GrantUsage {
            grant_id,
            accesses: row.get("accesses"),
            rows: row.get("rows_served"),
            last_access_micros: row.get("last_access"),
        })
    }

    async fn create_emergency(&self, e: NewEmergency, audit: NewEvent) -> Result<Emergency> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO share_emergencies (name, scope, raise_to, entry_ids, org_ids, starts_at, ends_at, declared_by,
                end_reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '') RETURNING *",
        )
        .bind(&e.name)
        .bind(&e.scope)
        .bind(e.raise_to.as_str())
        .bind(json(&e.entry_ids))
        .bind(json(&e.org_ids))
        .bind(e.starts_at_micros)
        .bind(e.ends_at_micros)
        .bind(&e.declared_by)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = emergency_row(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("emergency:{}", out.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn list_emergencies(&self) -> Result<Vec<Emergency>> {
        let rows = sqlx::query("SELECT * FROM share_emergencies ORDER BY id DESC")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(emergency_row).collect()
    }

    async fn end_emergency(&self, id: i64, at_micros: i64, reason: &str, audit: NewEvent) -> Result<Emergency> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE share_emergencies SET ended_early_at = $1, end_reason = $2
             WHERE id = $3 AND ended_early_at IS NULL AND ends_at > $1",
        )
        .bind(at_micros)
        .bind(reason)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if D::rows_affected(&done) == 0 {
            return Err(StorageError::Conflict(format!("emergency {id} has already ended")));
        }
        let row = sqlx::query("SELECT * FROM share_emergencies WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("emergency:{id}"))]).await?;
        tx.commit().await.map_err(backend)?;
        emergency_row(row)
    }

    async fn file_usage_report(&self, r: NewUsageReport, audit: NewEvent) -> Result<UsageReport> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO share_usage_reports (grant_id, period_end, body, filed_by, filed_by_name, filed_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(r.grant_id)
        .bind(ymd(r.period_end))
        .bind(&r.body)
        .bind(r.filed_by)
        .bind(&r.filed_by_name)
        .bind(now_micros())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = report_row(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("grant:{}", r.grant_id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn list_usage_reports(&self, grant_id: Option<i64>) -> Result<Vec<UsageReport>> {
        let rows = sqlx::query("SELECT * FROM share_usage_reports WHERE ($1 IS NULL OR grant_id = $1) ORDER BY id")
            .bind(grant_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(report_row).collect()
    }

    async fn create_demand(&self, d: NewDemand, audit: NewEvent) -> Result<Demand> {
        let mut tx = self.write_tx().await?;
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO share_demands (requester_org_id, requester_user_id, requester_name, title, description, purpose,
                status, response, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'open', '', $7, $7) RETURNING *",
        )
        .bind(d.requester_org_id)
        .bind(d.requester_user_id)
        .bind(&d.requester_name)
        .bind(&d.title)
        .bind(&d.description)
        .bind(&d.purpose)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = demand_row(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("demand:{}", out.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn list_demands(&self) -> Result<Vec<Demand>> {
        let rows =
            sqlx::query("SELECT * FROM share_demands ORDER BY id DESC").fetch_all(&self.pool).await.map_err(backend)?;
        rows.into_iter().map(demand_row).collect()
    }

    async fn get_demand(&self, id: i64) -> Result<Option<Demand>> {
        let row = sqlx::query("SELECT * FROM share_demands WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(demand_row).transpose()
    }

    async fn change_demand(&self, id: i64, c: DemandChange, audit: NewEvent) -> Result<Demand> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE share_demands SET status = $1, provider_org_id = COALESCE($2, provider_org_id),
                entry_id = COALESCE($3, entry_id), response = $4, updated_at = $5
             WHERE id = $6 AND status = $7",
        )
        .bind(c.to.as_str())
        .bind(c.provider_org_id)
        .bind(c.entry_id)
        .bind(&c.response)
        .bind(now_micros())
        .bind(id)
        .bind(c.from.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if D::rows_affected(&done) == 0 {
            return Err(StorageError::Conflict(format!("demand {id} is no longer {}", c.from.as_str())));
        }
        let row = sqlx::query("SELECT * FROM share_demands WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("demand:{id}"))]).await?;
        tx.commit().await.map_err(backend)?;
        demand_row(row)
    }

    async fn create_upward(&self, r: NewUpwardRequest, audit: NewEvent) -> Result<UpwardRequest> {
        let mut tx = self.write_tx().await?;
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO share_upward (requester_org_id, requester_user_id, requester_name, level, holder, data_wanted,
                purpose, legal_basis, status, batch, response, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'collected', '', '', $9, $9) RETURNING *",
        )
        .bind(r.requester_org_id)
        .bind(r.requester_user_id)
        .bind(&r.requester_name)
        .bind(r.level.as_str())
        .bind(&r.holder)
        .bind(&r.data_wanted)
        .bind(&r.purpose)
        .bind(&r.legal_basis)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = upward_row(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("upward:{}", out.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn list_upward(&self) -> Result<Vec<UpwardRequest>> {
        let rows =
            sqlx::query("SELECT * FROM share_upward ORDER BY id DESC").fetch_all(&self.pool).await.map_err(backend)?;
        rows.into_iter().map(upward_row).collect()
    }

    async fn forward_upward(&self, batch: &str, audit: NewEvent) -> Result<Vec<UpwardRequest>> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE share_upward SET status = 'forwarded', batch = $1, updated_at = $2 WHERE status = 'collected'",
        )
        .bind(batch)
        .bind(now_micros())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let rows = sqlx::query("SELECT * FROM share_upward WHERE batch = $1 ORDER BY id")
            .bind(batch)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
        let out = rows.into_iter().map(upward_row).collect::<Result<Vec<_>>>()?;
        if !out.is_empty() {
            self.append_in(&mut tx, vec![audit.with_object(format!("upward_batch:{batch}"))]).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn upward_outcome(
        &self,
        id: i64,
        to: UpwardStatus,
        response: &str,
        audit: NewEvent,
    ) -> Result<UpwardRequest> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE share_upward SET status = $1, response = $2, updated_at = $3 WHERE id = $4 AND status = 'forwarded'",
        )
        .bind(to.as_str())
        .bind(response)
        .bind(now_micros())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if D::rows_affected(&done) == 0 {
            return Err(StorageError::Conflict(format!("upward request {id} is not waiting for an answer")));
        }
        let row = sqlx::query("SELECT * FROM share_upward WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("upward:{id}"))]).await?;
        tx.commit().await.map_err(backend)?;
        upward_row(row)
    }
}
