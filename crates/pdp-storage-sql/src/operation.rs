//! The operation store: agreements, the operation resource catalog, scenario applications,
//! products, sales, exits and the operation log.

use async_trait::async_trait;
use pdp_audit::NewEvent;
use pdp_domain::operation::{
    AgreementKind, AgreementStatus, AnnouncementInput, ApplicationState, EvaluationKind, ExitGround, ProductStatus,
    ReviewStage, SelectionStatus, SocialStatus, UseKind,
};
use pdp_storage::*;
use sqlx::{Database, Encode, Executor, IntoArguments, Transaction, Type};
use time::Date;

use super::rows::{code, date, date_or_none, parse, unreadable, ymd};
use crate::{Conn, Dialect, SqlRow, SqlStore, backend};

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StorageError::Backend(e.to_string()))
}

fn agreement_row(r: impl SqlRow) -> Result<Agreement> {
    let t = "op_agreements";
    Ok(Agreement {
        id: r.get("id"),
        kind: code(&r, t, "kind", AgreementKind::parse)?,
        grantor_org_id: r.get("grantor_org_id"),
        party_org_id: r.get("party_org_id"),
        parent_id: r.get("parent_id"),
        renews_id: r.get("renews_id"),
        selection_id: r.get("selection_id"),
        status: code(&r, t, "status", AgreementStatus::parse)?,
        starts_on: date(&r, t, "starts_on")?,
        ends_on: date(&r, t, "ends_on")?,
        terms: parse(&r, t, "terms")?,
        rectify_by: date_or_none(&r, t, "rectify_by")?,
        status_reason: r.get("status_reason"),
        created_by: r.get("created_by"),
        created_at_micros: r.get("created_at"),
        updated_at_micros: r.get("updated_at"),
    })
}

fn catalog_row(r: impl SqlRow) -> Result<OpCatalogItem> {
    Ok(OpCatalogItem {
        entry_id: r.get("entry_id"),
        status: code(&r, "op_catalog", "status", OpCatalogStatus::parse)?,
        basis: r.get("basis"),
        development: r.get("development"),
        proposed_by: r.get("proposed_by"),
        decided_by: r.get("decided_by"),
        updated_at_micros: r.get("updated_at"),
    })
}

fn stage_of(r: &impl SqlRow) -> Result<Option<ReviewStage>> {
    let text: Option<String> = r.try_get("stage").map_err(backend)?;
    match text.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => ReviewStage::parse(s).map(Some).ok_or_else(|| unreadable(r, "op_scenarios", "stage", s)),
    }
}

fn scenario_row(r: impl SqlRow) -> Result<ScenarioApplication> {
    let t = "op_scenarios";
    Ok(ScenarioApplication {
        id: r.get("id"),
        developer_org_id: r.get("developer_org_id"),
        agreement_id: r.get("agreement_id"),
        state: code(&r, t, "state", ApplicationState::parse)?,
        stages: parse(&r, t, "stages")?,
        stage: stage_of(&r)?,
        due_on: date_or_none(&r, t, "due_on")?,
        input: parse(&r, t, "input")?,
        steps: parse(&r, t, "steps")?,
        submitted_by: r.get("submitted_by"),
        created_at_micros: r.get("created_at"),
        updated_at_micros: r.get("updated_at"),
    })
}

fn product_row(r: impl SqlRow) -> Result<Product> {
    let t = "op_products";
    Ok(Product {
        id: r.get("id"),
        developer_org_id: r.get("developer_org_id"),
        agreement_id: r.get("agreement_id"),
        status: code(&r, t, "status", ProductStatus::parse)?,
        input: parse(&r, t, "input")?,
        review: parse(&r, t, "review")?,
        status_reason: r.get("status_reason"),
        submitted_by: r.get("submitted_by"),
        listed_at_micros: r.get("listed_at"),
        created_at_micros: r.get("created_at"),
        updated_at_micros: r.get("updated_at"),
    })
}

fn sale_row(r: impl SqlRow) -> Result<Sale> {
    let t = "op_sales";
    Ok(Sale {
        id: r.get("id"),
        product_id: r.get("product_id"),
        developer_org_id: r.get("developer_org_id"),
        buyer: r.get("buyer"),
        buyer_credit_code: r.get("buyer_credit_code"),
        use_kind: code(&r, t, "use_kind", UseKind::parse)?,
        price_fen: r.get("price_fen"),
        public_fen: r.get("public_fen"),
        operator_fen: r.get("operator_fen"),
        developer_fen: r.get("developer_fen"),
        sold_on: date(&r, t, "sold_on")?,
        recorded_by: r.get("recorded_by"),
        created_at_micros: r.get("created_at"),
    })
}

fn exit_row(r: impl SqlRow) -> Result<ExitRecord> {
    let t = "op_exits";
    Ok(ExitRecord {
        id: r.get("id"),
        org_id: r.get("org_id"),
        ground: code(&r, t, "ground", ExitGround::parse)?,
        reason: r.get("reason"),
        decided_by: r.get("decided_by"),
        exited_on: date(&r, t, "exited_on")?,
        logs_kept_until: date(&r, t, "logs_kept_until")?,
        effects: parse(&r, t, "effects")?,
        created_at_micros: r.get("created_at"),
    })
}

fn log_row(r: impl SqlRow) -> OpLogLine {
    OpLogLine {
        id: r.get("id"),
        org_id: r.get("org_id"),
        at_micros: r.get("at_micros"),
        actor: r.get("actor"),
        action: r.get("action"),
        object: r.get("object"),
    }
}

fn selection_row(r: impl SqlRow) -> Result<Selection> {
    let t = "op_selections";
    Ok(Selection {
        id: r.get("id"),
        status: code(&r, t, "status", SelectionStatus::parse)?,
        announcement: parse(&r, t, "announcement")?,
        objection_ends_on: date_or_none(&r, t, "objection_ends_on")?,
        winner_org_id: r.get("winner_org_id"),
        result_note: r.get("result_note"),
        objections: parse(&r, t, "objections")?,
        created_by: r.get("created_by"),
        created_at_micros: r.get("created_at"),
        updated_at_micros: r.get("updated_at"),
    })
}

fn candidate_row(r: impl SqlRow) -> Result<Candidate> {
    let t = "op_candidates";
    Ok(Candidate {
        id: r.get("id"),
        selection_id: r.get("selection_id"),
        org_id: r.get("org_id"),
        applied_by: r.get("applied_by"),
        materials: parse(&r, t, "materials")?,
        scores: parse(&r, t, "scores")?,
        total: r.get("total"),
        qualified: r.get("qualified"),
        reviewed_by: r.get("reviewed_by"),
        created_at_micros: r.get("created_at"),
    })
}

fn evaluation_row(r: impl SqlRow) -> Result<Evaluation> {
    let t = "op_evaluations";
    Ok(Evaluation {
        id: r.get("id"),
        org_id: r.get("org_id"),
        kind: code(&r, t, "kind", EvaluationKind::parse)?,
        period_start: date(&r, t, "period_start")?,
        period_end: date(&r, t, "period_end")?,
        facts: parse(&r, t, "facts")?,
        facts_score: r.get("facts_score"),
        judgement: r.get("judgement"),
        comments: r.get("comments"),
        total: r.get("total"),
        passed: r.get("passed"),
        evaluator: r.get("evaluator"),
        created_at_micros: r.get("created_at"),
    })
}

fn social_row(r: impl SqlRow) -> Result<OpSocial> {
    let t = "op_social";
    Ok(OpSocial {
        id: r.get("id"),
        developer_org_id: r.get("developer_org_id"),
        status: code(&r, t, "status", SocialStatus::parse)?,
        input: parse(&r, t, "input")?,
        filename: r.get("filename"),
        accepted: r.get("accepted"),
        quarantined: r.get("quarantined"),
        first_errors: parse(&r, t, "first_errors")?,
        review: parse(&r, t, "review")?,
        submitted_by: r.get("submitted_by"),
        created_at_micros: r.get("created_at"),
        updated_at_micros: r.get("updated_at"),
    })
}

fn conflict(what: &str) -> StorageError {
    StorageError::Conflict(format!("{what} changed meanwhile"))
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
    /// Writes the event to the chain and a line of `org_id`'s operation log, in the caller's
    /// transaction, and commits it.
    async fn commit_logged(&self, mut tx: Transaction<'static, D::Db>, org_id: i64, audit: NewEvent) -> Result<()> {
        sqlx::query("INSERT INTO op_log (org_id, at_micros, actor, action, object) VALUES ($1, $2, $3, $4, $5)")
            .bind(org_id)
            .bind(now_micros())
            .bind(&audit.actor)
            .bind(&audit.action)
            .bind(&audit.object)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        self.append_in(&mut tx, vec![audit]).await?;
        tx.commit().await.map_err(backend)
    }
}

#[async_trait]
impl<D: Dialect> OperationStore for SqlStore<D>
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
    async fn create_agreement(&self, a: NewAgreement, audit: NewEvent) -> Result<Agreement> {
        let mut tx = self.write_tx().await?;
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO op_agreements (kind, grantor_org_id, party_org_id, parent_id, renews_id, status, starts_on,
                ends_on, terms, created_by, created_at, updated_at, selection_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) RETURNING *",
        )
        .bind(a.kind.as_str())
        .bind(a.grantor_org_id)
        .bind(a.party_org_id)
        .bind(a.parent_id)
        .bind(a.renews_id)
        .bind(a.status.as_str())
        .bind(ymd(a.starts_on))
        .bind(ymd(a.ends_on))
        .bind(json(&a.terms)?)
        .bind(&a.created_by)
        .bind(now)
        .bind(a.selection_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = agreement_row(row)?;
        self.commit_logged(tx, out.party_org_id, audit.with_object(format!("agreement:{}", out.id))).await?;
        Ok(out)
    }

    async fn get_agreement(&self, id: i64) -> Result<Option<Agreement>> {
        let row = sqlx::query("SELECT * FROM op_agreements WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(agreement_row).transpose()
    }

    async fn list_agreements(&self) -> Result<Vec<Agreement>> {
        let rows =
            sqlx::query("SELECT * FROM op_agreements ORDER BY id").fetch_all(&self.pool).await.map_err(backend)?;
        rows.into_iter().map(agreement_row).collect()
    }

    async fn change_agreement(&self, c: AgreementChange, audit: NewEvent) -> Result<Agreement> {
        let mut tx = self.write_tx().await?;
        let now = now_micros();
        let row = sqlx::query(
            "UPDATE op_agreements SET status = $1, status_reason = $2, rectify_by = $3, updated_at = $4
             WHERE id = $5 AND status = $6 RETURNING *",
        )
        .bind(c.to.as_str())
        .bind(&c.reason)
        .bind(c.rectify_by.map(ymd))
        .bind(now)
        .bind(c.id)
        .bind(c.from.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        .ok_or_else(|| conflict(&format!("agreement {}", c.id)))?;
        let out = agreement_row(row)?;
        if let Some(old) = c.supersedes {
            let done = sqlx::query(
                "UPDATE op_agreements SET status = 'superseded', status_reason = $1, updated_at = $2
                 WHERE id = $3 AND status NOT IN ('revoked', 'rejected', 'superseded', 'ended')",
            )
            .bind(format!("renewed by agreement {}", out.id))
            .bind(now)
            .bind(old)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            if D::rows_affected(&done) != 1 {
                return Err(conflict(&format!("agreement {old}")));
            }
        }
        self.commit_logged(tx, out.party_org_id, audit.with_object(format!("agreement:{}", out.id))).await?;
        Ok(out)
    }

    async fn list_op_catalog(&self) -> Result<Vec<OpCatalogItem>> {
        let rows =
            sqlx::query("SELECT * FROM op_catalog ORDER BY entry_id").fetch_all(&self.pool).await.map_err(backend)?;
        rows.into_iter().map(catalog_row).collect()
    }

    async fn put_op_catalog(&self, item: &OpCatalogItem, log_org: i64, audit: NewEvent) -> Result<()> {
        let tx_audit = audit.with_object(format!("op_catalog:{}", item.entry_id));
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO op_catalog (entry_id, status, basis, development, proposed_by, decided_by, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (entry_id) DO UPDATE SET status = excluded.status, basis = excluded.basis,
                development = excluded.development, proposed_by = excluded.proposed_by,
                decided_by = excluded.decided_by, updated_at = excluded.updated_at",
        )
        .bind(item.entry_id)
        .bind(item.status.as_str())
        .bind(&item.basis)
        .bind(item.development)
        .bind(&item.proposed_by)
        .bind(&item.decided_by)
        .bind(now_micros())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        self.commit_logged(tx, log_org, tx_audit).await
    }

    async fn create_op_application(&self, a: NewScenarioApplication, audit: NewEvent) -> Result<ScenarioApplication> {
        let mut tx = self.write_tx().await?;
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO op_scenarios (developer_org_id, agreement_id, state, stages, stage, due_on, starts_on, ends_on,
                input, steps, n_steps, submitted_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '[]', 0, $10, $11, $11) RETURNING *",
        )
        .bind(a.developer_org_id)
        .bind(a.agreement_id)
        .bind(ApplicationState::UnderReview.as_str())
        .bind(json(&a.stages)?)
        .bind(a.stages.first().map(|s| s.as_str()))
        .bind(ymd(a.due_on))
        .bind(ymd(a.input.starts_on))
        .bind(ymd(a.input.ends_on))
        .bind(json(&a.input)?)
        .bind(&a.submitted_by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = scenario_row(row)?;
        self.commit_logged(tx, out.developer_org_id, audit.with_object(format!("scenario:{}", out.id))).await?;
        Ok(out)
    }

    async fn get_op_application(&self, id: i64) -> Result<Option<ScenarioApplication>> {
        let row = sqlx::query("SELECT * FROM op_scenarios WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(scenario_row).transpose()
    }

    async fn list_op_applications(&self, developer_org: Option<i64>) -> Result<Vec<ScenarioApplication>> {
        let rows = sqlx::query(
            "SELECT * FROM op_scenarios WHERE ($1 IS NULL OR developer_org_id = $1) ORDER BY id DESC LIMIT 5000",
        )
        .bind(developer_org)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(scenario_row).collect()
    }

    async fn update_op_application(
        &self,
        a: &ScenarioApplication,
        from: ApplicationState,
        steps_before: usize,
        audit: NewEvent,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE op_scenarios SET state = $1, stage = $2, due_on = $3, steps = $4, n_steps = $5, updated_at = $6
             WHERE id = $7 AND state = $8 AND n_steps = $9",
        )
        .bind(a.state.as_str())
        .bind(a.stage.map(|s| s.as_str()))
        .bind(a.due_on.map(ymd))
        .bind(json(&a.steps)?)
        .bind(a.steps.len() as i64)
        .bind(now_micros())
        .bind(a.id)
        .bind(from.as_str())
        .bind(steps_before as i64)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if D::rows_affected(&done) != 1 {
            return Err(conflict(&format!("scenario application {}", a.id)));
        }
        self.commit_logged(tx, a.developer_org_id, audit.with_object(format!("scenario:{}", a.id))).await
    }

    async fn create_product(&self, p: NewProduct, audit: NewEvent) -> Result<Product> {
        let mut tx = self.write_tx().await?;
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO op_products (developer_org_id, agreement_id, status, input, review, submitted_by, created_at,
                updated_at)
             VALUES ($1, $2, $3, $4, '[]', $5, $6, $6) RETURNING *",
        )
        .bind(p.developer_org_id)
        .bind(p.agreement_id)
        .bind(ProductStatus::UnderReview.as_str())
        .bind(json(&p.input)?)
        .bind(&p.submitted_by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = product_row(row)?;
        self.commit_logged(tx, out.developer_org_id, audit.with_object(format!("product:{}", out.id))).await?;
        Ok(out)
    }

    async fn get_product(&self, id: i64) -> Result<Option<Product>> {
        let row = sqlx::query("SELECT * FROM op_products WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(product_row).transpose()
    }

    async fn list_products(&self, developer_org: Option<i64>) -> Result<Vec<Product>> {
        let rows = sqlx::query(
            "SELECT * FROM op_products WHERE ($1 IS NULL OR developer_org_id = $1) ORDER BY id DESC LIMIT 5000",
        )
        .bind(developer_org)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(product_row).collect()
    }

    async fn update_product(&self, p: &Product, from: ProductStatus, audit: NewEvent) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE op_products SET status = $1, review = $2, status_reason = $3, listed_at = $4, updated_at = $5
             WHERE id = $6 AND status = $7",
        )
        .bind(p.status.as_str())
        .bind(json(&p.review)?)
        .bind(&p.status_reason)
        .bind(p.listed_at_micros)
        .bind(now_micros())
        .bind(p.id)
        .bind(from.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if D::rows_affected(&done) != 1 {
            return Err(conflict(&format!("product {}", p.id)));
        }
        self.commit_logged(tx, p.developer_org_id, audit.with_object(format!("product:{}", p.id))).await
    }

    async fn record_sale(&self, s: Sale, audit: NewEvent) -> Result<Sale> {
        let mut tx = self.write_tx().await?;
        // A product sells only while it is listed: the check and the insert take the same turn.
        let listed = sqlx::query("SELECT status FROM op_products WHERE id = $1")
            .bind(s.product_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
            .map(|r| -> String { r.get("status") });
        if listed.as_deref() != Some(ProductStatus::Listed.as_str()) {
            return Err(conflict(&format!("product {}", s.product_id)));
        }
        let row = sqlx::query(
            "INSERT INTO op_sales (product_id, developer_org_id, buyer, buyer_credit_code, use_kind, price_fen,
                public_fen, operator_fen, developer_fen, sold_on, recorded_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *",
        )
        .bind(s.product_id)
        .bind(s.developer_org_id)
        .bind(&s.buyer)
        .bind(&s.buyer_credit_code)
        .bind(s.use_kind.as_str())
        .bind(s.price_fen)
        .bind(s.public_fen)
        .bind(s.operator_fen)
        .bind(s.developer_fen)
        .bind(ymd(s.sold_on))
        .bind(&s.recorded_by)
        .bind(now_micros())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = sale_row(row)?;
        self.commit_logged(tx, out.developer_org_id, audit.with_object(format!("sale:{}", out.id))).await?;
        Ok(out)
    }

    async fn list_sales(&self, product_id: Option<i64>) -> Result<Vec<Sale>> {
        let rows = sqlx::query("SELECT * FROM op_sales WHERE ($1 IS NULL OR product_id = $1) ORDER BY id LIMIT 10000")
            .bind(product_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(sale_row).collect()
    }

    async fn record_exit(&self, e: NewExit, audit: NewEvent) -> Result<ExitRecord> {
        let mut tx = self.write_tx().await?;
        let now = now_micros();
        let why = format!("exit: {}", e.ground.as_str());
        for id in &e.effects.ended_agreements {
            sqlx::query(
                "UPDATE op_agreements SET status = 'ended', status_reason = $1, updated_at = $2
                 WHERE id = $3 AND status NOT IN ('revoked', 'rejected', 'superseded', 'ended')",
            )
            .bind(&why)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        for id in &e.effects.closed_applications {
            sqlx::query(
                "UPDATE op_scenarios SET state = 'closed', stage = NULL, due_on = NULL, updated_at = $1
                 WHERE id = $2 AND state IN ('under_review', 'approved')",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        for id in &e.effects.delisted_products {
            sqlx::query(
                "UPDATE op_products SET status = 'delisted', status_reason = $1, updated_at = $2
                 WHERE id = $3 AND status IN ('under_review', 'listed')",
            )
            .bind(&why)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        let row = sqlx::query(
            "INSERT INTO op_exits (org_id, ground, reason, decided_by, exited_on, logs_kept_until, effects, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
        )
        .bind(e.org_id)
        .bind(e.ground.as_str())
        .bind(&e.reason)
        .bind(&e.decided_by)
        .bind(ymd(e.exited_on))
        .bind(ymd(e.logs_kept_until))
        .bind(json(&e.effects)?)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = exit_row(row)?;
        self.commit_logged(tx, out.org_id, audit.with_object(format!("exit:{}", out.id))).await?;
        Ok(out)
    }

    async fn list_exits(&self) -> Result<Vec<ExitRecord>> {
        let rows = sqlx::query("SELECT * FROM op_exits ORDER BY id").fetch_all(&self.pool).await.map_err(backend)?;
        rows.into_iter().map(exit_row).collect()
    }

    async fn log_operation(&self, org_id: i64, audit: NewEvent) -> Result<()> {
        let tx = self.write_tx().await?;
        self.commit_logged(tx, org_id, audit).await
    }

    async fn op_log(&self, org_id: i64, offset: i64, limit: i64) -> Result<Vec<OpLogLine>> {
        let rows = sqlx::query("SELECT * FROM op_log WHERE org_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3")
            .bind(org_id)
            .bind(limit.clamp(1, 1000))
            .bind(offset.max(0))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(log_row).collect())
    }

    async fn create_selection(&self, a: AnnouncementInput, created_by: &str, audit: NewEvent) -> Result<Selection> {
        let mut tx = self.write_tx().await?;
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO op_selections (status, announcement, objections, created_by, created_at, updated_at)
             VALUES ($1, $2, '[]', $3, $4, $4) RETURNING *",
        )
        .bind(SelectionStatus::Open.as_str())
        .bind(json(&a)?)
        .bind(created_by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = selection_row(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("selection:{}", out.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn get_selection(&self, id: i64) -> Result<Option<Selection>> {
        let row = sqlx::query("SELECT * FROM op_selections WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(selection_row).transpose()
    }

    async fn list_selections(&self) -> Result<Vec<Selection>> {
        let rows = sqlx::query("SELECT * FROM op_selections ORDER BY id DESC LIMIT 1000")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(selection_row).collect()
    }

    async fn update_selection(&self, s: &Selection, audit: NewEvent) -> Result<Selection> {
        let mut tx = self.write_tx().await?;
        // Each change is one microsecond later at least, so the version always moves.
        let now = now_micros().max(s.updated_at_micros + 1);
        let row = sqlx::query(
            "UPDATE op_selections SET status = $1, objection_ends_on = $2, winner_org_id = $3, result_note = $4,
                objections = $5, updated_at = $6
             WHERE id = $7 AND updated_at = $8 RETURNING *",
        )
        .bind(s.status.as_str())
        .bind(s.objection_ends_on.map(ymd))
        .bind(s.winner_org_id)
        .bind(&s.result_note)
        .bind(json(&s.objections)?)
        .bind(now)
        .bind(s.id)
        .bind(s.updated_at_micros)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        .ok_or_else(|| conflict(&format!("selection {}", s.id)))?;
        let out = selection_row(row)?;
        self.append_in(&mut tx, vec![audit.with_object(format!("selection:{}", out.id))]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }

    async fn add_candidate(&self, c: Candidate, audit: NewEvent) -> Result<Candidate> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO op_candidates (selection_id, org_id, applied_by, materials, scores, created_at)
             VALUES ($1, $2, $3, $4, '[]', $5) RETURNING *",
        )
        .bind(c.selection_id)
        .bind(c.org_id)
        .bind(&c.applied_by)
        .bind(json(&c.materials)?)
        .bind(now_micros())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = candidate_row(row)?;
        self.commit_logged(tx, out.org_id, audit.with_object(format!("candidate:{}", out.id))).await?;
        Ok(out)
    }

    async fn list_candidates(&self, selection_id: i64) -> Result<Vec<Candidate>> {
        let rows = sqlx::query("SELECT * FROM op_candidates WHERE selection_id = $1 ORDER BY id")
            .bind(selection_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(candidate_row).collect()
    }

    async fn score_candidate(&self, c: &Candidate, audit: NewEvent) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE op_candidates SET scores = $1, total = $2, qualified = $3, reviewed_by = $4 WHERE id = $5")
            .bind(json(&c.scores)?)
            .bind(c.total)
            .bind(c.qualified.unwrap_or(false))
            .bind(&c.reviewed_by)
            .bind(c.id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        self.commit_logged(tx, c.org_id, audit.with_object(format!("candidate:{}", c.id))).await
    }

    async fn add_evaluation(&self, e: Evaluation, audit: NewEvent) -> Result<Evaluation> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO op_evaluations (org_id, kind, period_start, period_end, facts, facts_score, judgement, comments,
                total, passed, evaluator, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *",
        )
        .bind(e.org_id)
        .bind(e.kind.as_str())
        .bind(ymd(e.period_start))
        .bind(ymd(e.period_end))
        .bind(json(&e.facts)?)
        .bind(e.facts_score)
        .bind(e.judgement)
        .bind(&e.comments)
        .bind(e.total)
        .bind(e.passed)
        .bind(&e.evaluator)
        .bind(now_micros())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = evaluation_row(row)?;
        self.commit_logged(tx, out.org_id, audit.with_object(format!("evaluation:{}", out.id))).await?;
        Ok(out)
    }

    async fn list_evaluations(&self, org_id: Option<i64>) -> Result<Vec<Evaluation>> {
        let rows =
            sqlx::query("SELECT * FROM op_evaluations WHERE ($1 IS NULL OR org_id = $1) ORDER BY id DESC LIMIT 5000")
                .bind(org_id)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        rows.into_iter().map(evaluation_row).collect()
    }

    async fn create_op_social(&self, o: OpSocial, audit: NewEvent) -> Result<OpSocial> {
        let mut tx = self.write_tx().await?;
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO op_social (developer_org_id, status, input, filename, first_errors, review, submitted_by,
                created_at, updated_at)
             VALUES ($1, $2, $3, $4, '[]', '[]', $5, $6, $6) RETURNING *",
        )
        .bind(o.developer_org_id)
        .bind(o.status.as_str())
        .bind(json(&o.input)?)
        .bind(&o.filename)
        .bind(&o.submitted_by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let out = social_row(row)?;
        self.commit_logged(tx, out.developer_org_id, audit.with_object(format!("op_social:{}", out.id))).await?;
        Ok(out)
    }

    async fn get_op_social(&self, id: i64) -> Result<Option<OpSocial>> {
        let row = sqlx::query("SELECT * FROM op_social WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(social_row).transpose()
    }

    async fn list_op_social(&self, developer_org: Option<i64>) -> Result<Vec<OpSocial>> {
        let rows = sqlx::query(
            "SELECT * FROM op_social WHERE ($1 IS NULL OR developer_org_id = $1) ORDER BY id DESC LIMIT 5000",
        )
        .bind(developer_org)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter().map(social_row).collect()
    }

    async fn update_op_social(&self, o: &OpSocial, from: SocialStatus, audit: NewEvent) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE op_social SET status = $1, accepted = $2, quarantined = $3, first_errors = $4, review = $5,
                updated_at = $6
             WHERE id = $7 AND status = $8",
        )
        .bind(o.status.as_str())
        .bind(o.accepted)
        .bind(o.quarantined)
        .bind(json(&o.first_errors)?)
        .bind(json(&o.review)?)
        .bind(now_micros())
        .bind(o.id)
        .bind(from.as_str())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if D::rows_affected(&done) != 1 {
            return Err(conflict(&format!("social data {}", o.id)));
        }
        self.commit_logged(tx, o.developer_org_id, audit.with_object(format!("op_social:{}", o.id))).await
    }

    async fn prune_op_log(&self, before_micros: i64, today: Date, audit: NewEvent, always_audit: bool) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        // The dates are `YYYY-MM-DD`, so text order is date order on both databases.
        let done = sqlx::query(
            "DELETE FROM op_log WHERE at_micros < $1
               AND org_id NOT IN (SELECT org_id FROM op_exits WHERE logs_kept_until >= $2)",
        )
        .bind(before_micros)
        .bind(ymd(today))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let n = D::rows_affected(&done);
        if n > 0 || always_audit {
            let mut audit = audit;
            audit.purpose = format!("deleted={n}");
            self.append_in(&mut tx, vec![audit]).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(n)
    }
}
