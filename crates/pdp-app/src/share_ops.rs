//! The authority's and the users' side of sharing beyond single requests: emergencies that
//! raise share types for a time (R-SHR-10), the demand list for data no entry provides
//! (R-SHR-11), the periodic usage reports of grants with the overdue ones listed (R-SHR-13), and
//! requests for data held at provincial or national level, collected by the city authority and
//! forwarded in batches (R-SHR-15).

use crate::App;
use crate::Principal;
use crate::catalog::review_scope;
use crate::clock::{date_of, now_micros, offset, today_date};
use crate::datasets::published_entry;
use crate::error::AppError;
use pdp_domain::catalog::ShareType;
use pdp_domain::roles::Permission;
use pdp_domain::sharing::{self, DemandAction, DemandStatus, GrantStatus, UpwardLevel, UpwardStatus};
use pdp_storage::{
    Demand, DemandChange, Emergency, GrantQuery, NewDemand, NewEmergency, NewUpwardRequest, NewUsageReport,
    UpwardRequest, UsageReport,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Parses `YYYY-MM-DD HH:MM` (Beijing time) or RFC 3339.
fn parse_time(s: &str) -> Result<i64, AppError> {
    let s = s.trim();
    let bad = || {
        AppError::bad_request(
            "invalid_time",
            "时间应为“YYYY-MM-DD HH:MM”（北京时间）或 RFC 3339 格式",
            "give the time as YYYY-MM-DD HH:MM (Beijing time) or RFC 3339",
        )
    };
    if let Ok(t) = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Ok((t.unix_timestamp_nanos() / 1000) as i64);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    let alt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let t = time::PrimitiveDateTime::parse(s, &fmt)
        .or_else(|_| time::PrimitiveDateTime::parse(s, &alt))
        .map_err(|_| bad())?;
    Ok((t.assume_offset(offset()).unix_timestamp_nanos() / 1000) as i64)
}

pub fn only_authority() -> AppError {
    AppError::not_allowed("not_authority", "只有数据主管部门可以进行该操作", "only the data authority may do this")
}

// ---------------------------------------------------------------- emergencies

/// An emergency declaration (R-SHR-10).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyInput {
    pub name: String,
    /// The event and what the data is needed for.
    pub scope: String,
    /// `unconditional` (default) or `conditional`.
    pub raise_to: Option<String>,
    /// The catalog entries whose share type is raised.
    pub entry_ids: Vec<i64>,
    /// The organisations handling the event.
    pub org_ids: Vec<i64>,
    /// The end: `YYYY-MM-DD HH:MM` (Beijing time) or RFC 3339; at most 90 days ahead.
    pub ends_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmergencyOut {
    #[serde(flatten)]
    pub e: Emergency,
    pub active: bool,
    pub entry_names: Vec<String>,
    pub org_names: Vec<String>,
}

async fn emergency_out(state: &App, e: Emergency) -> EmergencyOut {
    let mut entry_names = Vec::new();
    for id in &e.entry_ids {
        entry_names.push(published_entry(state, *id).await.map(|x| x.body.name).unwrap_or_else(|_| id.to_string()));
    }
    let mut org_names = Vec::new();
    for id in &e.org_ids {
        org_names
            .push(state.storage.get_org(*id).await.ok().flatten().map(|o| o.name).unwrap_or_else(|| id.to_string()));
    }
    EmergencyOut { active: e.active_at(now_micros()), entry_names, org_names, e }
}

pub async fn do_list_emergencies(state: &App) -> Result<Vec<EmergencyOut>, AppError> {
    let mut out = Vec::new();
    for e in state.storage.list_emergencies().await? {
        out.push(emergency_out(state, e).await);
    }
    Ok(out)
}

pub async fn do_declare(state: &App, p: &Principal, input: &EmergencyInput) -> Result<EmergencyOut, AppError> {
    if !p.allows(Permission::GovernData) {
        return Err(only_authority());
    }
    let raise_to = match input.raise_to.as_deref().unwrap_or("unconditional") {
        "unconditional" => ShareType::Unconditional,
        "conditional" => ShareType::Conditional,
        _ => {
            return Err(AppError::bad_request(
                "emergency_bad_raise",
                "应急期间的共享属性只能调整为无条件共享或有条件共享",
                "an emergency raises data to unconditional or conditional sharing",
            ));
        }
    };
    let now = now_micros();
    let ends = parse_time(&input.ends_at)?;
    if input.name.trim().is_empty()
        || input.scope.trim().is_empty()
        || input.entry_ids.is_empty()
        || input.org_ids.is_empty()
    {
        return Err(AppError::bad_request(
            "emergency_incomplete",
            "请填写事件名称、处置需要、数据资源和相关单位",
            "give the event's name and needs, the data and the organisations",
        ));
    }
    if ends <= now || ends - now > 90 * 86_400 * 1_000_000 {
        return Err(AppError::bad_request(
            "emergency_bad_end",
            "结束时间应在现在之后的 90 天以内",
            "the end must be in the future, at most 90 days ahead",
        ));
    }
    let scope = review_scope(state, p).await?;
    for id in &input.entry_ids {
        let e = published_entry(state, *id).await?;
        if !scope.contains(e.org_id) {
            return Err(AppError::not_allowed(
                "not_authority",
                format!("“{}”不在本主管部门的管辖范围内", e.body.name),
                format!("{:?} is outside the authority's region", e.body.name),
            ));
        }
    }
    for id in &input.org_ids {
        state.storage.get_org(*id).await?.ok_or_else(|| AppError::not_found(&format!("organisation {id}")))?;
    }
    let mut ev = p.event("share.emergency.declare", "");
    ev.purpose = input.scope.trim().into();
    ev.detail = serde_json::json!({"entries": input.entry_ids, "orgs": input.org_ids, "raise_to": raise_to.as_str(), "ends_at": ends}).to_string();
    let e = state
        .storage
        .create_emergency(
            NewEmergency {
                name: input.name.trim().into(),
                scope: input.scope.trim().into(),
                raise_to,
                entry_ids: input.entry_ids.clone(),
                org_ids: input.org_ids.clone(),
                starts_at_micros: now,
                ends_at_micros: ends,
                declared_by: p.user.username.clone(),
            },
            ev,
        )
        .await?;
    Ok(emergency_out(state, e).await)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndInput {
    pub reason: String,
}

pub async fn do_end(state: &App, p: &Principal, id: i64, reason: &str) -> Result<EmergencyOut, AppError> {
    if !p.allows(Permission::GovernData) {
        return Err(only_authority());
    }
    // Only an authority over every entry the emergency opened may end it, as only such an
    // authority could declare it.
    let m = state
        .storage
        .list_emergencies()
        .await?
        .into_iter()
        .find(|m| m.id == id)
        .ok_or_else(|| AppError::not_found(&format!("emergency {id}")))?;
    let scope = review_scope(state, p).await?;
    for entry in &m.entry_ids {
        let e = published_entry(state, *entry).await?;
        if !scope.contains(e.org_id) {
            return Err(crate::sharing::out_of_region(&e.body.name));
        }
    }
    if reason.trim().is_empty() {
        return Err(AppError::bad_request("reason_required", "请说明理由", "give a reason"));
    }
    let mut ev = p.event("share.emergency.end", "");
    ev.purpose = reason.trim().into();
    let e = state.storage.end_emergency(id, now_micros(), reason.trim(), ev).await?;
    Ok(emergency_out(state, e).await)
}

// ---------------------------------------------------------------- demands

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemandInput {
    pub title: String,
    /// The data wanted: subjects, items, coverage, frequency.
    pub description: String,
    pub purpose: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DemandOut {
    #[serde(flatten)]
    pub d: Demand,
    pub requester_org_name: String,
    pub provider_org_name: String,
    pub status_zh: String,
    pub status_en: String,
    /// The reader may assign it (the authority).
    pub can_assign: bool,
    /// The reader may answer it (the assigned provider).
    pub can_answer: bool,
}

async fn demand_out(state: &App, p: &Principal, d: Demand) -> DemandOut {
    let status = d.status;
    let name = |id: Option<i64>| async move {
        match id {
            Some(id) => state.storage.get_org(id).await.ok().flatten().map(|o| o.name).unwrap_or_default(),
            None => String::new(),
        }
    };
    DemandOut {
        requester_org_name: name(Some(d.requester_org_id)).await,
        provider_org_name: name(d.provider_org_id).await,
        status_zh: status.label_zh().into(),
        status_en: status.label_en().into(),
        can_assign: p.allows(Permission::GovernData) && matches!(status, DemandStatus::Open | DemandStatus::Assigned),
        can_answer: status == DemandStatus::Assigned && p.org_id.is_some() && p.org_id == d.provider_org_id,
        d,
    }
}

/// Demands the reader may see: its organisation's (asked or assigned), all for the authority.
pub async fn do_list_demands(state: &App, p: &Principal) -> Result<Vec<DemandOut>, AppError> {
    // The demand list is the city's: a district's authority sees its own organisation's.
    let all = p.allows(Permission::GovernData) && review_scope(state, p).await?.all;
    let mut out = Vec::new();
    for d in state.storage.list_demands().await? {
        if all || p.org_id == Some(d.requester_org_id) || (p.org_id.is_some() && p.org_id == d.provider_org_id) {
            out.push(demand_out(state, p, d).await);
        }
    }
    Ok(out)
}

pub async fn do_create_demand(state: &App, p: &Principal, input: &DemandInput) -> Result<DemandOut, AppError> {
    let org = p.org_id.ok_or_else(|| {
        AppError::not_allowed(
            "no_organisation",
            "该操作须以所属单位的身份进行",
            "this action is taken for an organisation, and the account has none",
        )
    })?;
    if input.title.trim().is_empty() || input.description.trim().is_empty() || input.purpose.trim().is_empty() {
        return Err(AppError::bad_request(
            "demand_incomplete",
            "请填写需求名称、所需数据和用途",
            "give a title, the data wanted and the purpose",
        ));
    }
    let mut ev = p.event("share.demand.create", "");
    ev.purpose = input.purpose.trim().into();
    let d = state
        .storage
        .create_demand(
            NewDemand {
                requester_org_id: org,
                requester_user_id: p.user.id,
                requester_name: p.user.display_name.clone(),
                title: input.title.trim().into(),
                description: input.description.trim().into(),
                purpose: input.purpose.trim().into(),
            },
            ev,
        )
        .await?;
    Ok(demand_out(state, p, d).await)
}

async fn demand(state: &App, id: i64) -> Result<Demand, AppError> {
    state.storage.get_demand(id).await?.ok_or_else(|| AppError::not_found(&format!("demand {id}")))
}

fn step(d: &Demand, action: DemandAction) -> Result<DemandStatus, AppError> {
    let from = d.status;
    from.next(action).map_err(|e| {
        AppError::conflict(
            pdp_domain::Localized::code(&e),
            pdp_domain::Localized::message_zh(&e),
            pdp_domain::Localized::message_en(&e),
        )
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    /// The organisation to provide the data; absent to decline the demand.
    pub provider_org_id: Option<i64>,
    pub note: String,
}

pub async fn do_assign(state: &App, p: &Principal, id: i64, input: &AssignInput) -> Result<DemandOut, AppError> {
    if !p.allows(Permission::GovernData) {
        return Err(only_authority());
    }
    crate::sources::city_authority(state, p).await?;
    let d = demand(state, id).await?;
    let (action, event) = match input.provider_org_id {
        Some(org) => {
            state.storage.get_org(org).await?.ok_or_else(|| AppError::not_found(&format!("organisation {org}")))?;
            (DemandAction::Assign, "share.demand.assign")
        }
        None => {
            if input.note.trim().is_empty() {
                return Err(AppError::bad_request(
                    "reason_required",
                    "不能满足的需求须说明理由",
                    "declining a demand needs a reason",
                ));
            }
            (DemandAction::Decline, "share.demand.decline")
        }
    };
    let to = step(&d, action)?;
    let mut ev = p.event(event, "");
    ev.purpose = input.note.trim().into();
    let c = DemandChange {
        from: d.status,
        to,
        provider_org_id: input.provider_org_id,
        entry_id: None,
        response: input.note.trim().into(),
    };
    let d = state.storage.change_demand(id, c, ev).await?;
    Ok(demand_out(state, p, d).await)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemandAnswer {
    /// The published catalog entry of the provider that meets the demand; absent to decline.
    pub entry_id: Option<i64>,
    pub response: String,
}

pub async fn do_answer(state: &App, p: &Principal, id: i64, input: &DemandAnswer) -> Result<DemandOut, AppError> {
    let d = demand(state, id).await?;
    if p.org_id.is_none() || p.org_id != d.provider_org_id {
        return Err(AppError::not_allowed(
            "not_provider",
            "只有被交办的单位可以答复该需求",
            "only the assigned organisation answers the demand",
        ));
    }
    if input.response.trim().is_empty() {
        return Err(AppError::bad_request("reason_required", "请填写答复", "give an answer"));
    }
    let (action, event) = match input.entry_id {
        Some(entry) => {
            let e = published_entry(state, entry).await?;
            if Some(e.org_id) != d.provider_org_id {
                return Err(AppError::bad_request(
                    "demand_entry_not_provider",
                    "应以本单位已发布的目录条目满足需求",
                    "meet the demand with a published entry of your own",
                ));
            }
            (DemandAction::Fulfil, "share.demand.fulfil")
        }
        None => (DemandAction::Decline, "share.demand.decline"),
    };
    let to = step(&d, action)?;
    let mut ev = p.event(event, "");
    ev.purpose = input.response.trim().into();
    let c = DemandChange {
        from: d.status,
        to,
        provider_org_id: None,
        entry_id: input.entry_id,
        response: input.response.trim().into(),
    };
    let d = state.storage.change_demand(id, c, ev).await?;
    Ok(demand_out(state, p, d).await)
}

// ---------------------------------------------------------------- usage reports

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportInput {
    /// The last day the report covers, `YYYY-MM-DD` (default today).
    pub period_end: Option<String>,
    /// How the data was used, by whom, for what, and any incident.
    pub body: String,
}

pub async fn do_file_report(state: &App, p: &Principal, id: i64, input: &ReportInput) -> Result<UsageReport, AppError> {
    let g = crate::sharing::do_get_grant(state, p, id).await?;
    if p.org_id != Some(g.g.user_org_id) {
        return Err(AppError::not_allowed(
            "not_grant_user",
            "只有使用单位报告数据使用情况",
            "only the user organisation reports the grant's use",
        ));
    }
    let today = today_date();
    let period_end = match input.period_end.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => time::Date::parse(s, pdp_domain::calendar::ISO_DATE).map_err(|_| {
            AppError::bad_request(
                "invalid_date",
                "报告期末应为 YYYY-MM-DD 格式的日期",
                "period_end must be a date as YYYY-MM-DD",
            )
        })?,
        None => today,
    };
    if period_end > today || input.body.trim().chars().count() < 10 {
        return Err(AppError::bad_request(
            "report_incomplete",
            "请如实说明数据的使用情况（不少于 10 个字），报告期末不能晚于今天",
            "describe how the data was used (10 characters or more); the period cannot end after today",
        ));
    }
    let mut ev = p.event("share.report.file", "");
    ev.purpose = format!("usage report to {period_end}");
    Ok(state
        .storage
        .file_usage_report(
            NewUsageReport {
                grant_id: id,
                period_end,
                body: input.body.trim().into(),
                filed_by: p.user.id,
                filed_by_name: p.user.display_name.clone(),
            },
            ev,
        )
        .await?)
}

/// When a grant's next usage report is due.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportDue {
    pub grant_id: i64,
    pub dataset: String,
    pub user_org_id: i64,
    pub provider_org_id: i64,
    pub last_period_end: Option<String>,
    pub due: String,
    pub overdue: bool,
}

/// The audit purpose of a suspension for an overdue usage report: what tells it apart from a
/// suspension someone decided, and so who may lift it (see `sharing::do_change_grant`).
pub const REPORT_OVERDUE: &str = "usage_report_overdue";

/// The day by which a grant's next usage report is due, and the last day before the grant is
/// suspended for it (`report_grace_working_days` working days later).
/// `reports` holds at least the grant's own.
fn report_deadlines(
    state: &App,
    g: &pdp_storage::Grant,
    reports: &[UsageReport],
) -> Result<(time::Date, time::Date), AppError> {
    let last = reports.iter().filter(|r| r.grant_id == g.id).map(|r| r.period_end).max();
    let due = sharing::report_due(date_of(g.created_at_micros), last);
    let cal = state.catalog.calendar.get();
    // Counted as statutory deadlines are: weekdays past the last holiday table.
    let grace = cal.deadline(due, state.settings.report_grace_working_days).map_err(|e| AppError::domain(&e))?.due;
    Ok((due, grace))
}

/// Whether the grant's usage report is overdue past its grace (the grant is or will be
/// suspended for it).
pub(crate) async fn report_overdue(state: &App, g: &pdp_storage::Grant) -> Result<bool, AppError> {
    let reports = state.storage.list_usage_reports(Some(g.id)).await?;
    Ok(today_date() > report_deadlines(state, g, &reports)?.1)
}

/// Suspends the active grants whose usage report is overdue by more than the configured working
/// days (R-SHR-13), each with a note on its request that both organisations and the authority
/// read, and an audit event. Run by the hourly sweep and before reports or grants are listed.
/// Returns how many were suspended.
pub async fn suspend_overdue(state: &App) -> Result<usize, AppError> {
    Ok(sweep_reports(state).await?.2)
}

/// [`suspend_overdue`], returning also the grants still active and every usage report, which
/// the list of deadlines reads next.
async fn sweep_reports(state: &App) -> Result<(Vec<pdp_storage::Grant>, Vec<UsageReport>, usize), AppError> {
    let reports = state.storage.list_usage_reports(None).await?;
    let mut active = Vec::new();
    let mut n = 0;
    for g in state.storage.list_grants(&GrantQuery { status: Some(GrantStatus::Active), ..Default::default() }).await? {
        let (due, grace) = report_deadlines(state, &g, &reports)?;
        if today_date() <= grace {
            active.push(g);
            continue;
        }
        let mut ev = pdp_audit::NewEvent::system("share.grant.suspend", &format!("grant:{}", g.id));
        ev.purpose = format!("{REPORT_OVERDUE} due={due} grace_until={grace}");
        let zh = format!(
            "使用情况报告应于 {due} 前提交，逾期超过 {} 个工作日（{grace}），授权已自动暂停；使用单位提交报告后，提供单位可以恢复。",
            state.settings.report_grace_working_days
        );
        let en = format!(
            "The usage report was due by {due} and is more than {} working days late ({grace}): the grant is suspended until the user organisation files it; the provider may then resume it.",
            state.settings.report_grace_working_days
        );
        // Another sweep may have suspended it a moment ago: that one's note stands.
        match state.storage.set_grant_status(g.id, GrantStatus::Active, GrantStatus::Suspended, &zh, ev).await {
            Ok(_) => {}
            Err(pdp_storage::StorageError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
        if let Some(request) = g.request_id {
            let note = pdp_storage::NewRequestNote {
                author_id: None,
                author_name: "平台 / platform".into(),
                org_id: None,
                kind: pdp_domain::sharing::NoteKind::Decision,
                body: format!("{zh}\n{en}"),
            };
            let ev = pdp_audit::NewEvent::system("share.request.note", &format!("share_request:{request}"));
            state.storage.add_request_note(request, note, ev).await?;
        }
        n += 1;
    }
    if n > 0 {
        // Made outside a changing request (a sweep, a listing): the access cache must not keep
        // serving the grants as active.
        state.access_cache.invalidate();
        tracing::info!(suspended = n, "grants suspended for overdue usage reports");
    }
    Ok((active, reports, n))
}

/// Usage-report deadlines of the active grants the reader may see, overdue first.
pub async fn do_reports_due(state: &App, p: &Principal) -> Result<Vec<ReportDue>, AppError> {
    let (active, reports, _) = sweep_reports(state).await?;
    let scope = if p.allows(Permission::GovernData) { Some(review_scope(state, p).await?) } else { None };
    let today = today_date();
    let mut out = Vec::new();
    for g in active {
        let party = p.org_id == Some(g.user_org_id) || p.org_id == Some(g.provider_org_id);
        if !party && !scope.as_ref().is_some_and(|s| s.contains(g.provider_org_id)) {
            continue;
        }
        let last = reports.iter().filter(|r| r.grant_id == g.id).map(|r| r.period_end).max();
        let (due, _) = report_deadlines(state, &g, &reports)?;
        out.push(ReportDue {
            grant_id: g.id,
            dataset: g.dataset,
            user_org_id: g.user_org_id,
            provider_org_id: g.provider_org_id,
            last_period_end: last.map(|d| d.to_string()),
            due: due.to_string(),
            overdue: today > due,
        });
    }
    out.sort_by(|a, b| b.overdue.cmp(&a.overdue).then(a.due.cmp(&b.due)));
    Ok(out)
}

// ---------------------------------------------------------------- upward requests

/// A request for data held above the city (R-SHR-15).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpwardInput {
    /// `provincial`, `national` or `other_region`.
    pub level: String,
    /// The agency that holds the data, e.g. 省公安厅.
    pub holder: String,
    pub data_wanted: String,
    pub purpose: String,
    pub legal_basis: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UpwardOut {
    #[serde(flatten)]
    pub u: UpwardRequest,
    pub requester_org_name: String,
    pub status_zh: String,
    pub status_en: String,
}

async fn upward_out(state: &App, u: UpwardRequest) -> UpwardOut {
    let (zh, en) = (u.status.label_zh(), u.status.label_en());
    UpwardOut {
        requester_org_name: state
            .storage
            .get_org(u.requester_org_id)
            .await
            .ok()
            .flatten()
            .map(|o| o.name)
            .unwrap_or_default(),
        status_zh: zh.into(),
        status_en: en.into(),
        u,
    }
}

/// Upward requests the reader may see: its organisation's; all for the authority.
pub async fn do_list_upward(state: &App, p: &Principal) -> Result<Vec<UpwardOut>, AppError> {
    // The city collects requests upward; a district's authority sees its own organisation's.
    let all = p.allows(Permission::GovernData) && review_scope(state, p).await?.all;
    let mut out = Vec::new();
    for u in state.storage.list_upward().await? {
        if all || p.org_id == Some(u.requester_org_id) {
            out.push(upward_out(state, u).await);
        }
    }
    Ok(out)
}

pub async fn do_create_upward(state: &App, p: &Principal, input: &UpwardInput) -> Result<UpwardOut, AppError> {
    let org = p.org_id.ok_or_else(|| {
        AppError::not_allowed(
            "no_organisation",
            "该操作须以所属单位的身份进行",
            "this action is taken for an organisation, and the account has none",
        )
    })?;
    let level = UpwardLevel::parse(&input.level).ok_or_else(|| {
        AppError::bad_request(
            "upward_bad_level",
            "数据所在层级应为 provincial（省级）、national（国家级）或 other_region（其他地区）",
            "the level must be provincial, national or other_region",
        )
    })?;
    let blank = |s: &str| s.trim().is_empty();
    if blank(&input.holder) || blank(&input.data_wanted) || blank(&input.purpose) || blank(&input.legal_basis) {
        return Err(AppError::bad_request(
            "upward_incomplete",
            "请填写数据持有单位、所需数据、用途和法律依据",
            "give the holding agency, the data wanted, the purpose and the legal basis",
        ));
    }
    let mut ev = p.event("share.upward.create", "");
    ev.purpose = input.purpose.trim().into();
    let u = state
        .storage
        .create_upward(
            NewUpwardRequest {
                requester_org_id: org,
                requester_user_id: p.user.id,
                requester_name: p.user.display_name.clone(),
                level,
                holder: input.holder.trim().into(),
                data_wanted: input.data_wanted.trim().into(),
                purpose: input.purpose.trim().into(),
                legal_basis: input.legal_basis.trim().into(),
            },
            ev,
        )
        .await?;
    Ok(upward_out(state, u).await)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ForwardOut {
    /// The batch's name, `YYYY-MM-DD-n`; empty when nothing was waiting.
    pub batch: String,
    pub requests: Vec<UpwardOut>,
}

pub async fn do_forward(state: &App, p: &Principal) -> Result<ForwardOut, AppError> {
    if !p.allows(Permission::GovernData) {
        return Err(only_authority());
    }
    crate::sources::city_authority(state, p).await?;
    let today = today_date().to_string();
    let same_day = state
        .storage
        .list_upward()
        .await?
        .iter()
        .filter(|u| u.batch.starts_with(&today))
        .map(|u| u.batch.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let batch = format!("{today}-{}", same_day + 1);
    let mut ev = p.event("share.upward.forward", "");
    ev.purpose = format!("batch {batch}");
    let forwarded = state.storage.forward_upward(&batch, ev).await?;
    let mut requests = Vec::new();
    for u in forwarded {
        requests.push(upward_out(state, u).await);
    }
    Ok(ForwardOut { batch: if requests.is_empty() { String::new() } else { batch }, requests })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeInput {
    /// Whether the holder above granted the data.
    pub granted: bool,
    pub response: String,
}

pub async fn do_outcome(state: &App, p: &Principal, id: i64, input: &OutcomeInput) -> Result<UpwardOut, AppError> {
    if !p.allows(Permission::GovernData) {
        return Err(only_authority());
    }
    crate::sources::city_authority(state, p).await?;
    if input.response.trim().is_empty() {
        return Err(AppError::bad_request("reason_required", "请填写上级的答复", "give the answer from above"));
    }
    let mut ev = p.event("share.upward.outcome", "");
    ev.purpose = input.response.trim().into();
    let to = if input.granted { UpwardStatus::Answered } else { UpwardStatus::Refused };
    let u = state.storage.upward_outcome(id, to, input.response.trim(), ev).await?;
    Ok(upward_out(state, u).await)
}
