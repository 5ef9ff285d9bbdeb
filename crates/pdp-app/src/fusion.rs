//! Social data for fusion development (融合开发社会数据, R-OPS-07, YC 12-13): a developer offers
//! data it obtained lawfully (from an enterprise, an organisation, or its own) with its
//! provenance; the file is loaded with the usual validation (refused rows quarantined with
//! their reasons) into a table of the developer's operation domain, which stays unusable until
//! the operator has checked its source, legality, quality and consent. Approved, it is listed in
//! the public social-data catalog and readable by its developer inside the domain; rejected,
//! its table is deleted. An exit deletes it with the rest of the developer's domain.

use pdp_domain::operation::{
    SocialCheck, SocialOfferInput, SocialStatus, check_social_offer, decide_social, social_offer_body,
};
use pdp_domain::roles::Permission;
use pdp_lake::RowPage;
use pdp_lake::share::Selection;
use pdp_lake::{Lake, LoadMeta, LoadMode, RowSource};
use pdp_storage::{OpSocial, SocialCheckOut};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::{now_micros, today_date};
use crate::datasets::lake;
use crate::error::AppError;
use crate::operation::{as_authority, as_operator, denied, domain_dir, invalid, org_names};
use crate::{App, Principal};

/// The lake of one organisation's operation domain.
fn domain_lake(state: &App, org_id: i64) -> Result<Lake, AppError> {
    let dir = domain_dir(lake(state)?, org_id)?;
    Ok(Lake::open(&dir.to_string_lossy())?)
}

fn table(id: i64) -> String {
    format!("social-{id}")
}

/// A developer offers social data with its file. The file is loaded at once so the operator
/// sees what validation found; nothing of it is usable before the operator approves.
pub async fn offer(
    state: &App,
    p: &Principal,
    input: &SocialOfferInput,
    source: Box<dyn RowSource>,
    filename: &str,
) -> Result<OpSocial, AppError> {
    let org = match p.org_id {
        Some(o) if p.allows(Permission::DevelopProducts) => o,
        _ => return Err(denied("只有开发主体可以导入社会数据", "only a development entity offers social data")),
    };
    // Only under an agreement in force.
    let active = state.storage.list_agreements().await?.into_iter().any(|a| {
        a.party_org_id == org
            && a.status == pdp_domain::operation::AgreementStatus::InForce
            && a.starts_on <= today_date()
            && today_date() <= a.ends_on
    });
    if !active {
        return Err(denied("本单位没有生效的授权开发协议", "the organisation has no development agreement in force"));
    }
    let v = check_social_offer(input);
    if !v.is_empty() {
        return Err(invalid("social_offer_invalid", &v));
    }
    let pending = state.storage.list_op_social(Some(org)).await?;
    if pending.iter().filter(|o| o.status == SocialStatus::UnderReview).count() >= 5 {
        return Err(AppError::too_many(
            "social_too_many_pending",
            "待审核的社会数据已有 5 份",
            "5 offers are already waiting for review",
        ));
    }
    let mut o = state
        .storage
        .create_op_social(
            OpSocial {
                id: 0,
                developer_org_id: org,
                status: SocialStatus::UnderReview,
                input: input.clone(),
                filename: filename.chars().take(200).collect(),
                accepted: 0,
                quarantined: 0,
                first_errors: Vec::new(),
                review: Vec::new(),
                submitted_by: p.user.username.clone(),
                created_at_micros: 0,
                updated_at_micros: 0,
            },
            p.event("operation.social.offer", ""),
        )
        .await?;
    let sub = domain_lake(state, org)?;
    let meta = LoadMeta {
        actor: p.user.username.clone(),
        source: format!("{} · {} · {}", input.provider.trim(), input.source.trim(), filename),
        ..Default::default()
    };
    let report =
        sub.load(&table(o.id), &social_offer_body(input), LoadMode::Full, today_date(), meta, source, |_| {}).await;
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            // Nothing loaded: the offer is refused with the reason, its partial table removed.
            let _ = std::fs::remove_dir_all(domain_dir(lake(state)?, org)?.join(table(o.id)));
            o.status = SocialStatus::Rejected;
            o.first_errors = vec![e.to_string()];
            state
                .storage
                .update_op_social(&o, SocialStatus::UnderReview, p.event("operation.social.load_failed", ""))
                .await?;
            return Err(e.into());
        }
    };
    o.accepted = report.stats.accepted as i64;
    o.quarantined = report.stats.quarantined as i64;
    o.first_errors = report
        .first_errors
        .iter()
        .map(|q| {
            let why: Vec<&str> = q.errors.iter().map(|e| e.message_zh.as_str()).collect();
            format!("第 {} 行：{}", q.row, why.join("；"))
        })
        .collect();
    let mut ev = p.event("operation.social.load", "");
    ev.purpose = format!("accepted={} quarantined={}", o.accepted, o.quarantined);
    state.storage.update_op_social(&o, SocialStatus::UnderReview, ev).await?;
    Ok(o)
}

/// One answer of the operator's review.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckAnswer {
    #[schema(value_type = String, example = "source")]
    pub check: SocialCheck,
    pub passed: bool,
    pub evidence: String,
}

/// The operator checks an offer's source, legality, quality and consent: approved, it enters
/// the domain and the social-data catalog; rejected, its table is deleted.
pub async fn review(state: &App, p: &Principal, id: i64, answers: &[CheckAnswer]) -> Result<OpSocial, AppError> {
    as_operator(state, p).await?;
    let mut o =
        state.storage.get_op_social(id).await?.ok_or_else(|| AppError::not_found(&format!("social data {id}")))?;
    if o.status != SocialStatus::UnderReview {
        return Err(AppError::conflict(
            "social_not_under_review",
            "该社会数据不在待审核状态",
            "the offer is not under review",
        ));
    }
    let tuples: Vec<(SocialCheck, bool, String)> =
        answers.iter().map(|a| (a.check, a.passed, a.evidence.clone())).collect();
    let passed = decide_social(&tuples).map_err(|v| invalid("social_review_invalid", &v))?;
    let now = now_micros();
    o.review = answers
        .iter()
        .map(|a| SocialCheckOut {
            check: a.check,
            passed: a.passed,
            evidence: a.evidence.trim().to_string(),
            reviewer: p.user.username.clone(),
            at_micros: now,
        })
        .collect();
    o.status = if passed { SocialStatus::Approved } else { SocialStatus::Rejected };
    let action = if passed { "operation.social.approve" } else { "operation.social.reject" };
    state.storage.update_op_social(&o, SocialStatus::UnderReview, p.event(action, "")).await?;
    if !passed {
        let _ = std::fs::remove_dir_all(domain_dir(lake(state)?, o.developer_org_id)?.join(table(o.id)));
    }
    Ok(o)
}

/// The offers `p` may see: all for the operator and the authority, a developer's own.
pub async fn offers(state: &App, p: &Principal) -> Result<Vec<OpSocial>, AppError> {
    if as_operator(state, p).await.is_ok() || as_authority(state, p).await.is_ok() {
        return Ok(state.storage.list_op_social(None).await?);
    }
    match p.org_id {
        Some(o) if p.allows(Permission::DevelopProducts) => Ok(state.storage.list_op_social(Some(o)).await?),
        _ => Err(denied(
            "授权运营的这一部分只对协议当事方和数据主管部门开放",
            "open to the parties of the agreements and the authority only",
        )),
    }
}

/// An entry of the social-data catalog of fusion development (YC 12), public.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SocialCatalogItem {
    pub id: i64,
    pub name: String,
    pub summary: String,
    pub provider: String,
    pub source: String,
    pub developer: String,
    pub fields: Vec<(String, String)>,
    pub rows: i64,
    pub personal: bool,
}

/// The social data approved into the operation domain.
pub async fn catalog(state: &App) -> Result<Vec<SocialCatalogItem>, AppError> {
    let names = org_names(state).await?;
    Ok(state
        .storage
        .list_op_social(None)
        .await?
        .into_iter()
        .filter(|o| o.status == SocialStatus::Approved)
        .map(|o| SocialCatalogItem {
            id: o.id,
            name: o.input.name.clone(),
            summary: o.input.summary.clone(),
            provider: o.input.provider.clone(),
            source: o.input.source.clone(),
            developer: names.get(&o.developer_org_id).cloned().unwrap_or_default(),
            fields: o.input.fields.iter().map(|f| (f.name.clone(), f.label.clone())).collect(),
            rows: o.accepted,
            personal: o.input.personal,
        })
        .collect())
}

/// Rows of approved social data, for its developer inside the domain (at most 100); every read
/// goes to the operation log.
pub async fn sample(state: &App, p: &Principal, id: i64, rows: usize) -> Result<RowPage, AppError> {
    let o = state.storage.get_op_social(id).await?.filter(|o| Some(o.developer_org_id) == p.org_id);
    let o = o.ok_or_else(|| AppError::not_found(&format!("social data {id}")))?;
    if !p.allows(Permission::DevelopProducts) || o.status != SocialStatus::Approved {
        return Err(AppError::conflict(
            "social_not_approved",
            "该社会数据未经运营主体审核同意，不能使用",
            "the offer is not approved by the operator: it cannot be used",
        ));
    }
    let sub = domain_lake(state, o.developer_org_id)?;
    let sel = Selection { columns: o.input.fields.iter().map(|f| f.name.clone()).collect(), ..Default::default() };
    let page = sub.select_rows(&table(id), &sel, None, 0, rows.clamp(1, 100)).await?;
    let mut ev = p.event("operation.social.read", &format!("op_social:{id}"));
    ev.purpose = format!("rows={}", page.rows.len());
    state.storage.log_operation(o.developer_org_id, ev).await?;
    Ok(page)
}

/// Marks an exited developer's social data destroyed (its files went with its domain).
pub(crate) async fn destroyed(state: &App, p: &Principal, org_id: i64) -> Result<(), AppError> {
    for mut o in state.storage.list_op_social(Some(org_id)).await? {
        if matches!(o.status, SocialStatus::UnderReview | SocialStatus::Approved) {
            let from = o.status;
            o.status = SocialStatus::Destroyed;
            state.storage.update_op_social(&o, from, p.event("operation.social.destroy", "")).await?;
        }
    }
    Ok(())
}
