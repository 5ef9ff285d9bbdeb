//! Selecting the operation entity (R-OPS-02) and evaluating the entities (R-OPS-10).
//!
//! Selection follows the implementation plan (YC plan 三(四)): the city's data authority
//! publishes an announcement with the qualification criteria and the term; organisations apply
//! with a statement for each criterion until the deadline; the authority scores each candidate
//! on every criterion with its reasons; the result names the winner and stays under public
//! notice for a number of working days during which anyone signed in may object; once the
//! notice has ended with every objection answered, the selection is concluded, and only then
//! may an operation agreement be signed with the winner, within the announced term.
//!
//! Evaluations combine what the platform's records say over the period (applications decided,
//! products listed, sales, incidents, violations, complaints) with the evaluator's judgement, and are
//! kept as history: the operator evaluates each developer every half year, files its own
//! yearly report, and the authority evaluates the operator every year.

use pdp_domain::operation::{
    AgreementKind, AnnouncementInput, ApplicationState, CriterionScore, EvaluationFacts, EvaluationKind, PASS_SCORE,
    ProductStatus, ReviewStage, SelectionStatus, check_announcement, evaluation_total, facts_score, score_candidate,
};
use pdp_domain::roles::Permission;
use pdp_storage::{Candidate, Evaluation, Selection, SelectionObjection};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::clock::{date_of, now_micros, today_date};
use crate::error::AppError;
use crate::operation::{AgreementInput, as_authority, as_operator, denied, due, invalid, org_names, reason_of};
use crate::{App, Principal};

/// A candidate as the public and the authority see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CandidateOut {
    #[serde(flatten)]
    pub candidate: Candidate,
    pub organisation: String,
}

/// A selection with its candidates: their names and scores once the result is public, and
/// to the authority at any time.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SelectionOut {
    #[serde(flatten)]
    pub selection: Selection,
    pub winner: Option<String>,
    pub candidates: Vec<CandidateOut>,
}

async fn selection(state: &App, id: i64) -> Result<Selection, AppError> {
    state.storage.get_selection(id).await?.ok_or_else(|| AppError::not_found(&format!("selection {id}")))
}

async fn out(state: &App, s: Selection, full: bool, viewer_org: Option<i64>) -> Result<SelectionOut, AppError> {
    let names = org_names(state).await?;
    let public = matches!(s.status, SelectionStatus::Publicized | SelectionStatus::Concluded);
    let candidates = state
        .storage
        .list_candidates(s.id)
        .await?
        .into_iter()
        .filter(|c| full || public || Some(c.org_id) == viewer_org)
        .map(|c| CandidateOut { organisation: names.get(&c.org_id).cloned().unwrap_or_default(), candidate: c })
        .collect();
    Ok(SelectionOut { winner: s.winner_org_id.and_then(|w| names.get(&w).cloned()), candidates, selection: s })
}

/// The authority publishes an announcement.
pub async fn announce(state: &App, p: &Principal, input: &AnnouncementInput) -> Result<SelectionOut, AppError> {
    as_authority(state, p).await?;
    let v = check_announcement(input, today_date());
    if !v.is_empty() {
        return Err(invalid("announcement_invalid", &v));
    }
    let s = state
        .storage
        .create_selection(input.clone(), &p.user.username, p.event("operation.selection.announce", ""))
        .await?;
    out(state, s, true, p.org_id).await
}

/// Every selection: announcements and, once public, results (anyone, signed in or not).
pub async fn selections(state: &App, p: Option<&Principal>) -> Result<Vec<SelectionOut>, AppError> {
    let full = match p {
        Some(p) => as_authority(state, p).await.is_ok(),
        None => false,
    };
    let mut v = Vec::new();
    for s in state.storage.list_selections().await? {
        v.push(out(state, s, full, p.and_then(|p| p.org_id)).await?);
    }
    Ok(v)
}

/// One selection.
pub async fn selection_of(state: &App, p: Option<&Principal>, id: i64) -> Result<SelectionOut, AppError> {
    let full = match p {
        Some(p) => as_authority(state, p).await.is_ok(),
        None => false,
    };
    out(state, selection(state, id).await?, full, p.and_then(|p| p.org_id)).await
}

/// An organisation applies with one statement per criterion, until the deadline. Its
/// operation administrator applies for it.
pub async fn apply(state: &App, p: &Principal, id: i64, materials: &[String]) -> Result<SelectionOut, AppError> {
    let s = selection(state, id).await?;
    let Some(org) = p.org_id.filter(|_| p.allows(Permission::RunOperation)) else {
        return Err(denied(
            "只有申报单位的运营管理员可以申报",
            "an organisation's operation administrator applies for it",
        ));
    };
    if s.status != SelectionStatus::Open || today_date() > s.announcement.apply_by {
        return Err(AppError::conflict(
            "selection_closed",
            "该遴选已截止申报",
            "the selection no longer takes applications",
        ));
    }
    let n = s.announcement.criteria.len();
    if materials.len() != n || materials.iter().any(|m| m.trim().is_empty() || m.chars().count() > 4000) {
        return Err(AppError::bad_request(
            "materials_invalid",
            format!("请逐项说明 {n} 项申报条件（每项 4000 字以内）"),
            format!("state how each of the {n} criteria is met (at most 4000 characters each)"),
        ));
    }
    let c = Candidate {
        id: 0,
        selection_id: id,
        org_id: org,
        applied_by: p.user.username.clone(),
        materials: materials.iter().map(|m| m.trim().to_string()).collect(),
        scores: Vec::new(),
        total: None,
        qualified: None,
        reviewed_by: String::new(),
        created_at_micros: 0,
    };
    state.storage.add_candidate(c, p.event("operation.selection.apply", "")).await.map_err(|e| match e {
        pdp_storage::StorageError::Conflict(_) => {
            AppError::conflict("already_applied", "本单位已申报该遴选", "the organisation has applied already")
        }
        e => e.into(),
    })?;
    out(state, s, false, Some(org)).await
}

/// What the authority does to a selection.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case", tag = "step")]
pub enum SelectionStep {
    /// Ends the application period (on or after its deadline) and starts the review.
    Close,
    /// Scores a candidate on every criterion.
    Score {
        candidate_id: i64,
        #[schema(value_type = Vec<Object>)]
        scores: Vec<CriterionScore>,
    },
    /// Publishes the result with its winner for the public notice.
    Publish { winner_org_id: i64, note: String },
    /// Answers an objection (by its position in the list).
    Answer { objection: usize, answer: String },
    /// Concludes the selection once the notice has ended with every objection answered.
    Conclude,
    /// Cancels it, with the reason.
    Cancel { reason: String },
}

/// The authority's steps of a selection.
pub async fn step(state: &App, p: &Principal, id: i64, step: &SelectionStep) -> Result<SelectionOut, AppError> {
    as_authority(state, p).await?;
    let mut s = selection(state, id).await?;
    let today = today_date();
    let wrong = |zh: &str, en: &str| AppError::conflict("selection_step_invalid", zh, en);
    let action = match step {
        SelectionStep::Close => {
            if s.status != SelectionStatus::Open || today < s.announcement.apply_by {
                return Err(wrong("申报截止日之后才能结束申报", "applications close on or after their deadline"));
            }
            s.status = SelectionStatus::Reviewing;
            "operation.selection.close"
        }
        SelectionStep::Score { candidate_id, scores } => {
            if s.status != SelectionStatus::Reviewing {
                return Err(wrong(
                    "只有评审中的遴选可以评分",
                    "candidates are scored while the selection is under review",
                ));
            }
            let mut c = state
                .storage
                .list_candidates(id)
                .await?
                .into_iter()
                .find(|c| c.id == *candidate_id)
                .ok_or_else(|| AppError::not_found(&format!("candidate {candidate_id}")))?;
            let (total, qualified) =
                score_candidate(s.announcement.criteria.len(), scores).map_err(|v| invalid("scores_invalid", &v))?;
            c.scores = scores.clone();
            c.total = Some(i64::from(total));
            c.qualified = Some(qualified);
            c.reviewed_by = p.user.username.clone();
            let mut ev = p.event("operation.selection.score", "");
            ev.purpose = format!("total={total} qualified={qualified}");
            state.storage.score_candidate(&c, ev).await?;
            return out(state, s, true, p.org_id).await;
        }
        SelectionStep::Publish { winner_org_id, note } => {
            if s.status != SelectionStatus::Reviewing {
                return Err(wrong("只有评审中的遴选可以公示结果", "a result is published from the review"));
            }
            let candidates = state.storage.list_candidates(id).await?;
            if candidates.is_empty() || candidates.iter().any(|c| c.total.is_none()) {
                return Err(wrong("每个申报单位都评分后才能公示", "every candidate is scored before the result"));
            }
            let winner = candidates.iter().find(|c| c.org_id == *winner_org_id && c.qualified == Some(true));
            if winner.is_none() {
                return Err(AppError::bad_request(
                    "winner_not_qualified",
                    format!("确定的运营主体须为评分合格（每项不低于 {PASS_SCORE} 分）的申报单位"),
                    format!("the winner is a candidate that qualified (at least {PASS_SCORE} on every criterion)"),
                ));
            }
            s.status = SelectionStatus::Publicized;
            s.winner_org_id = Some(*winner_org_id);
            s.result_note = reason_of(note)?;
            let notice = state
                .catalog
                .calendar
                .get()
                .deadline(today, s.announcement.objection_working_days)
                .map_err(|e| AppError::domain(&e))?;
            s.objection_ends_on = Some(notice.due);
            "operation.selection.publish"
        }
        SelectionStep::Answer { objection, answer } => {
            let answer = reason_of(answer)?;
            let o = s
                .objections
                .get_mut(*objection)
                .ok_or_else(|| AppError::not_found(&format!("objection {objection}")))?;
            o.answer = answer;
            o.answered_by = p.user.username.clone();
            "operation.selection.answer"
        }
        SelectionStep::Conclude => {
            let ended = s.objection_ends_on.is_some_and(|d| today > d);
            if s.status != SelectionStatus::Publicized || !ended {
                return Err(wrong("公示期结束后才能确定运营主体", "the selection concludes after its public notice"));
            }
            if s.objections.iter().any(|o| o.answer.is_empty()) {
                return Err(wrong("公示期内的异议须全部答复", "every objection is answered first"));
            }
            s.status = SelectionStatus::Concluded;
            "operation.selection.conclude"
        }
        SelectionStep::Cancel { reason } => {
            if matches!(s.status, SelectionStatus::Concluded | SelectionStatus::Cancelled) {
                return Err(wrong("该遴选已结束", "the selection has ended"));
            }
            s.result_note = reason_of(reason)?;
            s.status = SelectionStatus::Cancelled;
            "operation.selection.cancel"
        }
    };
    let s = state.storage.update_selection(&s, p.event(action, "")).await?;
    out(state, s, true, p.org_id).await
}

/// Anyone signed in objects to a published result during its notice.
pub async fn object(state: &App, p: &Principal, id: i64, reason: &str) -> Result<SelectionOut, AppError> {
    let reason = reason_of(reason)?;
    let mut s = selection(state, id).await?;
    let open = s.status == SelectionStatus::Publicized && s.objection_ends_on.is_some_and(|d| today_date() <= d);
    if !open {
        return Err(AppError::conflict(
            "notice_ended",
            "该遴选结果不在公示期内",
            "the result is not under public notice",
        ));
    }
    if s.objections.len() >= 200 || s.objections.iter().filter(|o| o.by == p.user.username).count() >= 3 {
        return Err(AppError::too_many("too_many_objections", "异议过多", "too many objections"));
    }
    s.objections.push(SelectionObjection {
        by: p.user.username.clone(),
        reason,
        at_micros: now_micros(),
        answer: String::new(),
        answered_by: String::new(),
    });
    let s = state.storage.update_selection(&s, p.event("operation.selection.object", "")).await?;
    out(state, s, false, p.org_id).await
}

/// Checks that a new operation agreement follows a concluded selection: signed with its winner,
/// within the announced term.
pub(crate) async fn check_winner(state: &App, input: &AgreementInput) -> Result<(), AppError> {
    let needs = || {
        AppError::bad_request(
            "agreement_needs_selection",
            "授权运营协议须与已确定的遴选结果中的运营主体签订，且在公告的授权期限内",
            "an operation agreement is signed with the winner of a concluded selection, within the announced term",
        )
    };
    let Some(id) = input.selection_id else { return Err(needs()) };
    let s = selection(state, id).await?;
    let a = &s.announcement;
    let fits = s.status == SelectionStatus::Concluded
        && s.winner_org_id == Some(input.party_org_id)
        && a.term_starts_on <= input.starts_on
        && input.ends_on <= a.term_ends_on;
    let used = state.storage.list_agreements().await?.iter().any(|x| x.selection_id == Some(id));
    if !fits || used || input.kind != AgreementKind::Operation { Err(needs()) } else { Ok(()) }
}

// ----- Evaluation -----

/// An evaluation to record.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluationInput {
    pub org_id: i64,
    /// `developer` (by the operator), `operator_report` (the operator's own yearly report) or
    /// `authority` (the authority's evaluation of the operator).
    #[schema(value_type = String, example = "developer")]
    pub kind: EvaluationKind,
    #[serde(with = "pdp_domain::calendar::iso_date")]
    #[schema(value_type = String)]
    pub period_start: Date,
    #[serde(with = "pdp_domain::calendar::iso_date")]
    #[schema(value_type = String)]
    pub period_end: Date,
    /// The evaluator's judgement, 0 to 100.
    pub judgement: u32,
    pub comments: String,
}

/// What the platform's records say of an organisation over a period.
pub async fn facts(state: &App, org_id: i64, from: Date, to: Date) -> Result<EvaluationFacts, AppError> {
    let within = |micros: i64| {
        let d = date_of(micros);
        from <= d && d <= to
    };
    let agreements = state.storage.list_agreements().await?;
    let is_operator = agreements.iter().any(|a| a.kind == AgreementKind::Operation && a.party_org_id == org_id);
    let mut f = EvaluationFacts::default();
    // The operator answers for the whole operation; a developer for its own.
    let scope = if is_operator { None } else { Some(org_id) };
    for a in state.storage.list_op_applications(scope).await? {
        if !within(a.created_at_micros) {
            continue;
        }
        if matches!(a.state, ApplicationState::Approved | ApplicationState::Expired | ApplicationState::Closed) {
            f.approved += 1;
        }
        if a.state != ApplicationState::UnderReview {
            f.applications += 1;
        }
        if is_operator {
            // Whether the operator decided within its working days.
            if let Some(step) = a.steps.iter().find(|s| s.stage == ReviewStage::Operator) {
                f.decisions += 1;
                let deadline = due(state, date_of(a.created_at_micros))?;
                if date_of(step.at_micros) <= deadline {
                    f.on_time += 1;
                }
            }
        }
    }
    let products = state.storage.list_products(scope).await?;
    for pr in &products {
        if within(pr.created_at_micros) {
            f.products += 1;
            if matches!(pr.status, ProductStatus::Listed | ProductStatus::Delisted) && pr.listed_at_micros.is_some() {
                f.listed += 1;
            }
        }
    }
    let ours: std::collections::BTreeSet<i64> = products.iter().map(|p| p.id).collect();
    for s in state.storage.list_sales(None).await? {
        if ours.contains(&s.product_id) && from <= s.sold_on && s.sold_on <= to {
            f.sales += 1;
            f.revenue_fen += s.price_fen;
        }
    }
    let mut offset = 0;
    loop {
        let lines = state.storage.op_log(org_id, offset, 1000).await?;
        for l in &lines {
            if !within(l.at_micros) {
                continue;
            }
            match l.action.as_str() {
                "operation.agreement.suspend" | "operation.agreement.rectify" | "operation.agreement.revoke" => {
                    f.violations += 1
                }
                "operation.product.complaint" => f.complaints += 1,
                "operation.incident" => f.incidents += 1,
                _ => {}
            }
        }
        if lines.len() < 1000 || offset > 1_000_000 {
            break;
        }
        offset += 1000;
    }
    Ok(f)
}

/// Records an evaluation: the operator's of a developer, the operator's yearly report, the
/// authority's of the operator. The platform's records give half the total.
pub async fn evaluate(state: &App, p: &Principal, input: &EvaluationInput) -> Result<Evaluation, AppError> {
    let agreements = state.storage.list_agreements().await?;
    let allowed = match input.kind {
        EvaluationKind::Developer => match as_operator(state, p).await {
            Ok(op) => agreements.iter().any(|a| a.parent_id == Some(op.id) && a.party_org_id == input.org_id),
            Err(_) => false,
        },
        EvaluationKind::OperatorReport => as_operator(state, p).await.is_ok_and(|op| op.party_org_id == input.org_id),
        EvaluationKind::Authority => {
            as_authority(state, p).await.is_ok()
                && agreements.iter().any(|a| a.kind == AgreementKind::Operation && a.party_org_id == input.org_id)
        }
    };
    if !allowed {
        return Err(denied(
            "开发主体由运营主体评估，运营主体自报年度报告并由数据主管部门评价",
            "the operator evaluates its developers and reports on itself; the authority evaluates the operator",
        ));
    }
    let comments = reason_of(&input.comments)?;
    if input.period_end < input.period_start || input.period_end > today_date() || input.judgement > 100 {
        return Err(AppError::bad_request(
            "evaluation_invalid",
            "评估期须已结束且不倒置，评分为 0–100",
            "the period has ended and does not run backwards; the judgement is 0 to 100",
        ));
    }
    let f = facts(state, input.org_id, input.period_start, input.period_end).await?;
    let fs = facts_score(&f);
    let total = evaluation_total(fs, input.judgement);
    let e = Evaluation {
        id: 0,
        org_id: input.org_id,
        kind: input.kind,
        period_start: input.period_start,
        period_end: input.period_end,
        facts: f,
        facts_score: i64::from(fs),
        judgement: i64::from(input.judgement),
        comments,
        total: i64::from(total),
        passed: total >= PASS_SCORE,
        evaluator: p.user.username.clone(),
        created_at_micros: 0,
    };
    let mut ev = p.event(&format!("operation.evaluation.{}", input.kind.as_str()), "");
    ev.purpose = format!("org={} total={total}", input.org_id);
    Ok(state.storage.add_evaluation(e, ev).await?)
}

/// The evaluations `p` may see: all for the authority and the operator, an entity its own.
pub async fn evaluations(state: &App, p: &Principal) -> Result<Vec<Evaluation>, AppError> {
    let everyone = as_authority(state, p).await.is_ok() || as_operator(state, p).await.is_ok();
    let all = state.storage.list_evaluations(if everyone { None } else { p.org_id.or(Some(-1)) }).await?;
    Ok(all)
}

/// Anyone signed in complains about a listed product; the complaint goes to its developer's
/// operation log and counts in the developer's evaluation.
pub async fn complain(state: &App, p: &Principal, product_id: i64, reason: &str) -> Result<(), AppError> {
    let reason = reason_of(reason)?;
    let pr = state
        .storage
        .get_product(product_id)
        .await?
        .filter(|p| p.status == ProductStatus::Listed)
        .ok_or_else(|| AppError::not_found(&format!("product {product_id}")))?;
    let mut ev = p.event("operation.product.complaint", &format!("product:{product_id}"));
    ev.purpose = reason;
    Ok(state.storage.log_operation(pr.developer_org_id, ev).await?)
}

/// Reports a data security incident of an entity (YC 21): the operator of its developers or of
/// itself, the authority of anyone; it goes to the entity's operation log and counts in its
/// evaluation.
pub async fn report_incident(state: &App, p: &Principal, org_id: i64, description: &str) -> Result<(), AppError> {
    let description = reason_of(description)?;
    let agreements = state.storage.list_agreements().await?;
    let party = agreements.iter().any(|a| a.party_org_id == org_id);
    let allowed = as_authority(state, p).await.is_ok()
        || as_operator(state, p).await.is_ok_and(|op| {
            op.party_org_id == org_id
                || agreements.iter().any(|a| a.parent_id == Some(op.id) && a.party_org_id == org_id)
        });
    if !party || !allowed {
        return Err(denied(
            "只有运营主体（对其自身和开发主体）或数据主管部门可以报告安全事件",
            "the operator (for itself and its developers) or the authority reports incidents",
        ));
    }
    let mut ev = p.event("operation.incident", &format!("org:{org_id}"));
    ev.purpose = description;
    Ok(state.storage.log_operation(org_id, ev).await?)
}
