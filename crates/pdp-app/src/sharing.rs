//! Sharing between organisations (共享, R-SHR): requests routed by share type, the provider's
//! approval within ten working days, negotiation and escalation, the authority's decisions,
//! scenarios that grant directly, grants with their life cycle, and the four share modes
//! enforced on every access.
//!
//! Every access under a grant goes through [`grant_for_access`] (the caller's organisation is
//! the grant's user, the grant is active, unexpired and of this mode), reads only the granted
//! fields under the grant's row filters, masks each value by the grant's rule, and is recorded
//! with its usage in one transaction before the response leaves: if the audit event cannot be
//! written, no data is served (R-SHR-12, R-SEC-03).

use crate::App;
use crate::Principal;
use crate::catalog::review_scope;
use crate::clock::{now_micros, today_date};
use crate::credentials::random_token;
use crate::datasets::{lake, published_entry};
use crate::error::AppError;
use futures::StreamExt;
use pdp_domain::Localized;
use pdp_domain::catalog::{DataType, MaskRule, ShareMode};
use pdp_domain::roles::Permission;
use pdp_domain::sharing::{
    self, DEFAULT_MIN_GROUP, GrantAction, GrantStatus, MAX_GRANT_DAYS, NoteKind, RequestAction, RequestStatus, Route,
    RowFilter,
};
use pdp_lake::share::{ColumnFilter, Match, Measure, Selection};
use pdp_storage::catalog::EntryVersion;
use pdp_storage::{
    Decision, Grant, GrantQuery, GrantUsage, NewGrant, NewRequestNote, NewScenario, NewShareRequest, RequestNote,
    RequestQuery, Scenario, ShareRequest,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// The most rows one view page returns.
const MAX_PAGE: usize = 100;

/// The most dimensions of one statistics query.
pub const MAX_DIMENSIONS: usize = 3;

pub fn parse_date(s: &str, what: &str) -> Result<time::Date, AppError> {
    time::Date::parse(s.trim(), pdp_domain::calendar::ISO_DATE).map_err(|_| {
        AppError::bad_request(
            "invalid_date",
            format!("{what}应为 YYYY-MM-DD 格式的日期"),
            format!("{what} must be a date as YYYY-MM-DD"),
        )
    })
}

pub fn denied(e: &impl Localized) -> AppError {
    AppError::not_allowed(e.code(), e.message_zh(), e.message_en())
}

fn no_org() -> AppError {
    AppError::not_allowed(
        "no_organisation",
        "该操作须以所属单位的身份进行",
        "this action is taken for an organisation, and the account has none",
    )
}

fn mode_of(s: &str) -> Result<ShareMode, AppError> {
    ShareMode::parse(s).ok_or_else(|| {
        AppError::bad_request(
            "share_bad_mode",
            "共享方式应为 bulk、view、verify 或 statistics",
            "the share mode must be bulk, view, verify or statistics",
        )
    })
}

/// A status filter of a list: absent, or one of the status's codes.
pub(crate) fn status_filter<T>(s: Option<&str>, parse: fn(&str) -> Option<T>) -> Result<Option<T>, AppError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse(s).map(Some).ok_or_else(|| {
            AppError::bad_request("bad_status_filter", format!("未知的状态：{s}"), format!("unknown status: {s}"))
        }),
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    pdp_audit::hex_lower(&Sha256::digest(bytes))
}

/// Marks pending requests past their due date as escalated (R-SHR-03). Called before
/// listings and by the server's hourly sweep; idempotent.
pub async fn escalate_due(storage: &dyn pdp_storage::Storage) -> Result<usize, AppError> {
    let n = storage.escalate_requests(today_date(), now_micros()).await?.len();
    if n > 0 {
        tracing::info!(escalated = n, "share requests past their due date went to the authority");
    }
    Ok(n)
}

/// Whether `p` speaks for the authority over organisation `org`.
pub(crate) async fn authority_over(state: &App, p: &Principal, org: i64) -> Result<bool, AppError> {
    Ok(p.allows(Permission::GovernData) && review_scope(state, p).await?.contains(org))
}

/// Separation of duties: nobody decides a request of their own organisation, whether as its
/// provider's approver or as the authority after escalating it (R-SEC-06).
fn no_self_decision(p: &Principal, r: &ShareRequest) -> Result<(), AppError> {
    if p.user.id == r.requester_user_id || p.org_id == Some(r.requester_org_id) {
        return Err(AppError::not_allowed(
            "own_request",
            "不能审批或裁决本单位提出的申请",
            "nobody may approve or decide a request of their own organisation",
        ));
    }
    Ok(())
}

/// The refusal of an authority acting on data outside its region.
pub(crate) fn out_of_region(what: &str) -> AppError {
    AppError::not_allowed(
        "not_authority",
        format!("“{what}”不在本主管部门的管辖范围内"),
        format!("{what:?} is outside the authority's region"),
    )
}

// ---------------------------------------------------------------- scenarios

/// An application scenario the authority approves (R-SHR-07).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioInput {
    pub name: String,
    pub entry_id: i64,
    pub mode: String,
    pub fields: Vec<String>,
    pub purpose: String,
    pub legal_basis: String,
    /// Days a grant under the scenario runs (default 365).
    pub grant_days: Option<i64>,
}

pub async fn do_create_scenario(state: &App, p: &Principal, input: &ScenarioInput) -> Result<Scenario, AppError> {
    let e = published_entry(state, input.entry_id).await?;
    // A scenario grants requests without the provider's approval, so only an authority over
    // the provider may approve one: a district's authority not for the city's data.
    if !authority_over(state, p, e.org_id).await? {
        return Err(out_of_region(&e.body.name));
    }
    let mode = mode_of(&input.mode)?;
    sharing::check_request(&e.body.fields, &e.body.share.modes, mode, &input.fields)
        .map_err(|e| AppError::domain(&e))?;
    let days = input.grant_days.unwrap_or(365);
    if input.name.trim().is_empty() || input.purpose.trim().is_empty() || !(1..=MAX_GRANT_DAYS).contains(&days) {
        return Err(AppError::bad_request(
            "scenario_incomplete",
            format!("请填写场景名称和用途，授权期限为 1 至 {MAX_GRANT_DAYS} 天"),
            format!("give the scenario a name and a purpose; grants run 1 to {MAX_GRANT_DAYS} days"),
        ));
    }
    Ok(state
        .storage
        .create_scenario(
            NewScenario {
                name: input.name.trim().into(),
                entry_id: e.entry_id,
                mode,
                fields: dedup(&input.fields),
                purpose: input.purpose.trim().into(),
                legal_basis: input.legal_basis.trim().into(),
                grant_days: days,
                created_by: p.user.username.clone(),
            },
            p.event("share.scenario.create", ""),
        )
        .await?)
}

pub fn dedup(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v {
        let s = s.trim().to_string();
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

// ---------------------------------------------------------------- requests

/// A request for another organisation's data (R-SHR-05).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    pub entry_id: i64,
    /// The fields needed; none is refused by the use case with its reason, as is a missing pledge.
    #[serde(default)]
    pub fields: Vec<String>,
    /// `bulk`, `view`, `verify` or `statistics`.
    pub mode: String,
    /// An approved scenario the request falls under, if any.
    pub scenario_id: Option<i64>,
    /// The application scenario (the duty the data serves).
    pub scenario: String,
    pub legal_basis: String,
    pub purpose: String,
    /// The last day the data is needed, `YYYY-MM-DD`.
    pub until: String,
    /// The requester pledges truthfulness, security and compliance (承诺).
    #[serde(default)]
    pub pledge: bool,
}

/// A request as its reader sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestOut {
    #[serde(flatten)]
    pub r: ShareRequest,
    pub dataset_name: String,
    pub requester_org_name: String,
    pub provider_org_name: String,
    pub status_zh: String,
    pub status_en: String,
    /// Pending and past its due date.
    pub overdue: bool,
    /// The due date was counted over a year without a holiday table, on weekdays alone; it is
    /// counted again when the authority adds that year's table.
    pub due_provisional: bool,
    pub can_approve: bool,
    pub can_withdraw: bool,
    pub can_decide: bool,
    pub notes: Vec<RequestNote>,
    pub grant: Option<Grant>,
}

pub async fn org_name(state: &App, id: i64) -> String {
    state.storage.get_org(id).await.ok().flatten().map(|o| o.name).unwrap_or_default()
}

async fn request_out(state: &App, p: &Principal, r: ShareRequest, full: bool) -> Result<RequestOut, AppError> {
    let status = r.status;
    let due = r.due_date;
    let provider = p.org_id == Some(r.provider_org_id);
    let (notes, grant) = if full {
        let grant = match r.grant_id {
            Some(g) => state.storage.get_grant(g).await?,
            None => None,
        };
        (state.storage.list_request_notes(r.id).await?, grant)
    } else {
        (Vec::new(), None)
    };
    Ok(RequestOut {
        dataset_name: published_entry(state, r.entry_id).await.map(|e| e.body.name).unwrap_or_default(),
        requester_org_name: org_name(state, r.requester_org_id).await,
        provider_org_name: org_name(state, r.provider_org_id).await,
        status_zh: status.label_zh().into(),
        status_en: status.label_en().into(),
        overdue: due.is_some_and(|d| sharing::approval_overdue(status, d, today_date())),
        due_provisional: due.is_some_and(|d| {
            state.catalog.calendar.get().is_provisional(crate::clock::date_of(r.submitted_at_micros), d)
        }),
        can_approve: provider
            && p.allows(Permission::ApproveShare)
            && matches!(status, RequestStatus::Pending | RequestStatus::Negotiating),
        can_withdraw: p.org_id == Some(r.requester_org_id)
            && p.allows(Permission::RequestShare)
            && matches!(status, RequestStatus::Pending | RequestStatus::Negotiating),
        can_decide: status == RequestStatus::Escalated && authority_over(state, p, r.provider_org_id).await?,
        notes,
        grant,
        r,
    })
}

/// The grant a decision makes, with a fresh pseudonym key of its own.
#[allow(clippy::too_many_arguments)]
fn new_grant(
    e: &EntryVersion,
    user_org: i64,
    scenario: &str,
    purpose: &str,
    mode: ShareMode,
    fields: Vec<String>,
    masking: BTreeMap<String, MaskRule>,
    row_filters: Vec<RowFilter>,
    min_group: i64,
    expires_on: time::Date,
    by: &str,
) -> NewGrant {
    NewGrant {
        entry_id: e.entry_id,
        dataset: e.code.clone(),
        provider_org_id: e.org_id,
        user_org_id: user_org,
        scenario: scenario.into(),
        purpose: purpose.into(),
        mode,
        fields,
        masking: masking.into_iter().map(|(k, v)| (k, v.as_str().to_string())).collect(),
        row_filters,
        min_group,
        expires_on,
        created_by: by.into(),
        pseudonym_key: random_token().into_bytes(),
        emergency_id: None,
    }
}

pub async fn do_submit(state: &App, p: &Principal, input: &RequestInput) -> Result<RequestOut, AppError> {
    let org = p.org_id.ok_or_else(no_org)?;
    let e = published_entry(state, input.entry_id).await?;
    if e.org_id == org {
        return Err(AppError::bad_request(
            "share_own_data",
            "本单位的数据无需申请共享",
            "an organisation does not request its own data",
        ));
    }
    let mode = mode_of(&input.mode)?;
    let fields = dedup(&input.fields);
    sharing::check_request(&e.body.fields, &e.body.share.modes, mode, &fields).map_err(|e| AppError::domain(&e))?;
    if !input.pledge {
        return Err(AppError::bad_request(
            "share_pledge_required",
            "请承诺所提供信息真实，并依法依规、仅为所述用途使用数据、保障数据安全",
            "pledge that the request is truthful and that the data will be used lawfully, only for the stated purpose, and kept secure",
        ));
    }
    let (scenario, legal_basis, purpose) = (input.scenario.trim(), input.legal_basis.trim(), input.purpose.trim());
    if scenario.is_empty() || legal_basis.is_empty() || purpose.is_empty() {
        return Err(AppError::bad_request(
            "share_request_incomplete",
            "请填写应用场景、法律依据和用途",
            "give the application scenario, the legal basis and the purpose",
        ));
    }
    let today = today_date();
    let until = parse_date(&input.until, "使用期限 / until")?;
    if until < today || (until - today).whole_days() > MAX_GRANT_DAYS {
        return Err(AppError::bad_request(
            "share_until_out_of_range",
            format!("使用期限应在今天至 {MAX_GRANT_DAYS} 天之内"),
            format!("the period must end between today and {MAX_GRANT_DAYS} days from now"),
        ));
    }
    let lib = match input.scenario_id {
        Some(id) => {
            Some(state.storage.get_scenario(id).await?.ok_or_else(|| AppError::not_found(&format!("scenario {id}")))?)
        }
        None => None,
    };
    let (beyond, within) = match &lib {
        Some(s) => {
            let smode = s.mode;
            (
                sharing::beyond_need(&fields, &s.fields),
                sharing::within_scenario(e.entry_id, mode, &fields, s.entry_id, smode, &s.fields),
            )
        }
        None => (Vec::new(), false),
    };
    // An emergency in force for this entry and organisation raises its share type (R-SHR-10).
    let now = now_micros();
    let emergency =
        state.storage.list_emergencies().await?.into_iter().find(|m| m.active_at(now) && m.covers(e.entry_id, org));
    let share_type = match &emergency {
        Some(m) => sharing::raised(e.body.share.share_type, m.raise_to),
        None => e.body.share.share_type,
    };
    let route = sharing::route(share_type, within);
    let (status, due) = match route {
        Route::Direct => (RequestStatus::Granted, None),
        Route::ProviderApproval => (
            RequestStatus::Pending,
            Some(sharing::approval_due(&state.catalog.calendar.get(), today).map_err(|e| AppError::domain(&e))?.due),
        ),
        Route::Negotiation => (RequestStatus::Negotiating, None),
    };
    let grant = if route == Route::Direct {
        // A scenario bounds the grant's period; catalog masking applies in full.
        let mut expires = match &lib {
            Some(s) if within => until.min(today + time::Duration::days(s.grant_days)),
            _ => until,
        };
        if let Some(m) = &emergency {
            expires = expires.min(crate::clock::date_of(m.ends_at_micros));
        }
        let masking =
            sharing::fix_masking(&e.body.fields, &fields, &BTreeMap::new(), &[]).map_err(|e| AppError::domain(&e))?;
        let mut g = new_grant(
            &e,
            org,
            scenario,
            purpose,
            mode,
            fields.clone(),
            masking,
            Vec::new(),
            DEFAULT_MIN_GROUP,
            expires,
            &p.user.username,
        );
        g.emergency_id = emergency.as_ref().map(|m| m.id);
        Some(g)
    } else {
        None
    };
    let mut ev = p.event("share.request.submit", "");
    ev.purpose = purpose.to_string();
    ev.detail = serde_json::json!({
        "dataset": e.code, "mode": mode.as_str(), "fields": fields, "route": route.as_str(), "share_type": share_type.as_str(),
        "beyond_need": beyond, "emergency": emergency.as_ref().map(|m| m.id),
    })
    .to_string();
    let (r, _) = state
        .storage
        .create_request(
            NewShareRequest {
                requester_org_id: org,
                requester_user_id: p.user.id,
                requester_name: p.user.display_name.clone(),
                entry_id: e.entry_id,
                dataset: e.code.clone(),
                provider_org_id: e.org_id,
                fields,
                mode,
                scenario_id: input.scenario_id,
                scenario: scenario.into(),
                legal_basis: legal_basis.into(),
                purpose: purpose.into(),
                until,
                pledged: true,
                share_type,
                route,
                status,
                beyond_need: beyond,
                due_date: due,
                emergency_id: emergency.as_ref().map(|m| m.id),
            },
            grant,
            ev,
        )
        .await?;
    request_out(state, p, r, true).await
}

#[derive(Debug, Deserialize, IntoParams, Default)]
pub struct RequestListParams {
    /// `mine` (the caller's organisation asked), `incoming` (it provides), or all visible.
    pub view: Option<String>,
    /// Only requests still waiting for someone.
    pub open: Option<bool>,
    /// Only requests in this status.
    pub status: Option<String>,
}

pub async fn do_list_requests(state: &App, p: &Principal, q: &RequestListParams) -> Result<Vec<RequestOut>, AppError> {
    escalate_due(state.storage.as_ref()).await?;
    let mut query = RequestQuery {
        open_only: q.open.unwrap_or(false),
        status: status_filter(q.status.as_deref(), RequestStatus::parse)?,
        ..Default::default()
    };
    match q.view.as_deref() {
        Some("mine") => query.requester_org = Some(p.org_id.ok_or_else(no_org)?),
        Some("incoming") => query.provider_org = Some(p.org_id.ok_or_else(no_org)?),
        _ => {}
    }
    let scope = if p.allows(Permission::GovernData) { Some(review_scope(state, p).await?) } else { None };
    let mut out = Vec::new();
    for r in state.storage.list_requests(&query).await? {
        let party = p.org_id == Some(r.requester_org_id) || p.org_id == Some(r.provider_org_id);
        if party || scope.as_ref().is_some_and(|s| s.contains(r.provider_org_id)) {
            out.push(request_out(state, p, r, false).await?);
        }
    }
    Ok(out)
}

/// A request `p` may see, or not found.
async fn visible_request(state: &App, p: &Principal, id: i64) -> Result<ShareRequest, AppError> {
    let r = state.storage.get_request(id).await?.ok_or_else(|| AppError::not_found(&format!("share request {id}")))?;
    let party = p.org_id == Some(r.requester_org_id) || p.org_id == Some(r.provider_org_id);
    if party || authority_over(state, p, r.provider_org_id).await? {
        Ok(r)
    } else {
        Err(AppError::not_found(&format!("share request {id}")))
    }
}

pub async fn do_get_request(state: &App, p: &Principal, id: i64) -> Result<RequestOut, AppError> {
    escalate_due(state.storage.as_ref()).await?;
    let r = visible_request(state, p, id).await?;
    request_out(state, p, r, true).await
}

/// What an approval fixes beyond the request (R-SHR-06). Absent values keep the request's.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ApproveInput {
    /// The granted fields: the requested ones or fewer, never more.
    pub fields: Option<Vec<String>>,
    /// Masking per field (`none`, `id_number`, `mobile`, `name`, `address`, `email`,
    /// `bank_card`, `pseudonym`, `suppress`); catalog masking is the floor.
    pub masking: Option<BTreeMap<String, String>>,
    /// Rows the user may reach, e.g. `[{"field":"id_number","op":"prefix","values":["440604"]}]`.
    #[schema(value_type = Option<Vec<Object>>)]
    pub row_filters: Option<Vec<RowFilter>>,
    /// The grant's last day, `YYYY-MM-DD`; at most the requested period.
    pub expires_on: Option<String>,
    /// Statistics: the smallest group shown (at least 2; default 5).
    pub min_group: Option<i64>,
    pub note: Option<String>,
}

/// Builds the grant an approval or an authority decision makes.
fn grant_from(r: &ShareRequest, e: &EntryVersion, input: &ApproveInput, by: &str) -> Result<NewGrant, AppError> {
    let fields = match &input.fields {
        Some(f) => dedup(f),
        None => r.fields.clone(),
    };
    if fields.is_empty() || fields.iter().any(|f| !r.fields.contains(f)) {
        return Err(AppError::bad_request(
            "share_fields_widened",
            "授权的信息项只能是所申请信息项的全部或一部分",
            "a grant may cover the requested fields or fewer, never others",
        ));
    }
    let mut masking = BTreeMap::new();
    for (k, v) in input.masking.clone().unwrap_or_default() {
        let rule = MaskRule::parse(&v).ok_or_else(|| {
            AppError::bad_request(
                "share_bad_mask",
                format!("未知的脱敏规则“{v}”"),
                format!("unknown masking rule {v:?}"),
            )
        })?;
        masking.insert(k, rule);
    }
    let filters = input.row_filters.clone().unwrap_or_default();
    let masking =
        sharing::fix_masking(&e.body.fields, &fields, &masking, &filters).map_err(|e| AppError::domain(&e))?;
    let until = r.until;
    let expires = match &input.expires_on {
        Some(s) => parse_date(s, "授权到期日 / expires_on")?,
        None => until,
    };
    if expires > until || expires < today_date() {
        return Err(AppError::bad_request(
            "share_expiry_out_of_range",
            format!("授权到期日应在今天至申请的使用期限（{}）之间", r.until),
            format!("the grant must end between today and the requested period's end ({})", r.until),
        ));
    }
    let min_group = input.min_group.unwrap_or(DEFAULT_MIN_GROUP);
    if min_group < 2 {
        return Err(AppError::bad_request(
            "share_min_group",
            "统计结果的最小分组不能小于 2",
            "the smallest statistics group must be at least 2",
        ));
    }
    let mode = r.mode;
    let mut g = new_grant(
        e,
        r.requester_org_id,
        &r.scenario,
        &r.purpose,
        mode,
        fields,
        masking,
        filters,
        min_group,
        expires,
        by,
    );
    // A request made under an emergency keeps to it: its grant serves while the emergency lasts.
    g.emergency_id = r.emergency_id;
    Ok(g)
}

fn transition(r: &ShareRequest, action: RequestAction) -> Result<RequestStatus, AppError> {
    let from = r.status;
    from.next(action).map_err(|e| AppError::conflict(e.code(), e.message_zh(), e.message_en()))
}

fn note(p: &Principal, kind: NoteKind, body: &str) -> Option<NewRequestNote> {
    let body = body.trim();
    (!body.is_empty()).then(|| NewRequestNote {
        author_id: Some(p.user.id),
        author_name: p.user.display_name.clone(),
        org_id: p.org_id,
        kind,
        body: body.into(),
    })
}

pub async fn do_approve(state: &App, p: &Principal, id: i64, input: &ApproveInput) -> Result<RequestOut, AppError> {
    let r = visible_request(state, p, id).await?;
    if p.org_id != Some(r.provider_org_id) {
        return Err(AppError::not_allowed(
            "not_provider",
            "只有数据提供单位的审批人可以审批该申请",
            "only an approver of the providing organisation may approve the request",
        ));
    }
    no_self_decision(p, &r)?;
    let to = transition(&r, RequestAction::Approve)?;
    let e = published_entry(state, r.entry_id).await?;
    let grant = grant_from(&r, &e, input, &p.user.username)?;
    let reason = input.note.clone().unwrap_or_default();
    let d = Decision {
        from: r.status,
        to,
        by: Some(p.user.id),
        reason: reason.clone(),
        note: note(p, NoteKind::Approval, &reason),
        grant: Some(grant),
    };
    let (r, _) = state.storage.decide_request(id, d, p.event("share.request.approve", "")).await?;
    request_out(state, p, r, true).await
}

/// A reason: for a refusal, an escalation, a grant change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonInput {
    pub reason: String,
}

fn reason_required(reason: &str) -> Result<&str, AppError> {
    let r = reason.trim();
    if r.is_empty() || r.chars().count() > 2000 {
        return Err(AppError::bad_request(
            "reason_required",
            "请说明理由（不超过 2000 字）",
            "give a reason (at most 2000 characters)",
        ));
    }
    Ok(r)
}

pub async fn do_refuse(state: &App, p: &Principal, id: i64, reason: &str) -> Result<RequestOut, AppError> {
    let r = visible_request(state, p, id).await?;
    if p.org_id != Some(r.provider_org_id) {
        return Err(AppError::not_allowed(
            "not_provider",
            "只有数据提供单位的审批人可以审批该申请",
            "only an approver of the providing organisation may decide the request",
        ));
    }
    let reason = reason_required(reason)?;
    let to = transition(&r, RequestAction::Refuse)?;
    let d = Decision {
        from: r.status,
        to,
        by: Some(p.user.id),
        reason: reason.into(),
        note: note(p, NoteKind::Decision, reason),
        grant: None,
    };
    let mut ev = p.event("share.request.refuse", "");
    ev.purpose = reason.into();
    let (r, _) = state.storage.decide_request(id, d, ev).await?;
    request_out(state, p, r, true).await
}

pub async fn do_withdraw(state: &App, p: &Principal, id: i64) -> Result<RequestOut, AppError> {
    let r = visible_request(state, p, id).await?;
    if p.org_id != Some(r.requester_org_id) {
        return Err(AppError::not_allowed(
            "not_requester",
            "只有申请单位可以撤回申请",
            "only the requesting organisation may withdraw a request",
        ));
    }
    let to = transition(&r, RequestAction::Withdraw)?;
    let d = Decision { from: r.status, to, by: Some(p.user.id), reason: String::new(), note: None, grant: None };
    let (r, _) = state.storage.decide_request(id, d, p.event("share.request.withdraw", "")).await?;
    request_out(state, p, r, true).await
}

/// A negotiation message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    pub body: String,
}

pub async fn do_add_note(state: &App, p: &Principal, id: i64, body: &str) -> Result<RequestNote, AppError> {
    let r = visible_request(state, p, id).await?;
    let party = p.org_id == Some(r.requester_org_id) || p.org_id == Some(r.provider_org_id);
    let open = r.status.is_open();
    if !party || !open {
        return Err(AppError::conflict(
            "share_note_closed",
            "只有双方单位可在申请办结前留言",
            "only the two organisations may add notes, and only while the request is open",
        ));
    }
    let n = note(p, NoteKind::Negotiation, body)
        .ok_or_else(|| AppError::bad_request("note_empty", "留言内容不能为空", "the note is empty"))?;
    Ok(state.storage.add_request_note(id, n, p.event("share.request.note", "")).await?)
}

pub async fn do_escalate(state: &App, p: &Principal, id: i64, reason: &str) -> Result<RequestOut, AppError> {
    let r = visible_request(state, p, id).await?;
    if p.org_id != Some(r.requester_org_id) && p.org_id != Some(r.provider_org_id) {
        return Err(AppError::not_allowed(
            "not_party",
            "只有申请单位或提供单位可以提请协调",
            "only the requesting or the providing organisation may escalate a request",
        ));
    }
    let reason = reason_required(reason)?;
    let to = transition(&r, RequestAction::Escalate)?;
    let d = Decision {
        from: r.status,
        to,
        by: None,
        reason: String::new(),
        note: note(p, NoteKind::Escalation, reason),
        grant: None,
    };
    let mut ev = p.event("share.request.escalate", "");
    ev.purpose = reason.into();
    let (r, _) = state.storage.decide_request(id, d, ev).await?;
    request_out(state, p, r, true).await
}

/// The authority's decision on an escalated request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideInput {
    /// Grant (true) or refuse (false).
    pub grant: bool,
    pub reason: String,
    /// What the grant fixes, when granting.
    #[serde(default)]
    pub terms: Option<ApproveInput>,
}

pub async fn do_decide(state: &App, p: &Principal, id: i64, input: &DecideInput) -> Result<RequestOut, AppError> {
    let r = visible_request(state, p, id).await?;
    if !authority_over(state, p, r.provider_org_id).await? {
        return Err(AppError::not_allowed(
            "not_authority",
            "只有主管部门可以裁决",
            "only the authority decides escalated requests",
        ));
    }
    no_self_decision(p, &r)?;
    let reason = reason_required(&input.reason)?;
    let action = if input.grant { RequestAction::AuthorityGrant } else { RequestAction::AuthorityRefuse };
    let to = transition(&r, action)?;
    let grant = if input.grant {
        let e = published_entry(state, r.entry_id).await?;
        Some(grant_from(&r, &e, input.terms.as_ref().unwrap_or(&ApproveInput::default()), &p.user.username)?)
    } else {
        None
    };
    let d = Decision {
        from: r.status,
        to,
        by: Some(p.user.id),
        reason: reason.into(),
        note: note(p, NoteKind::Decision, reason),
        grant,
    };
    let mut ev =
        p.event(if input.grant { "share.request.authority_grant" } else { "share.request.authority_refuse" }, "");
    ev.purpose = reason.into();
    let (r, _) = state.storage.decide_request(id, d, ev).await?;
    request_out(state, p, r, true).await
}

// ---------------------------------------------------------------- grants

/// A grant as its reader sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GrantOut {
    #[serde(flatten)]
    pub g: Grant,
    pub dataset_name: String,
    pub user_org_name: String,
    pub provider_org_name: String,
    pub status_zh: String,
    pub status_en: String,
    /// Past its last day.
    pub expired: bool,
    /// Active and unexpired: the next access will be served.
    pub usable: bool,
    pub usage: GrantUsage,
    /// The reader may suspend, resume or revoke it.
    pub can_manage: bool,
    /// For a bulk grant read on its own (empty in listings): the values of its copies under an
    /// open objection (R-OBJ-03), each by its record's key as the copies show it (masked as
    /// granted, without the fingerprint) and the field. Views and verifications flag them in
    /// their answers instead.
    pub disputed: Vec<DisputedValue>,
}

/// A value of a bulk grant's copies that an open objection disputes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisputedValue {
    pub key: String,
    pub field: String,
}

/// The disputed values of a bulk grant's copies; empty when the grant does not show the key.
async fn disputed_in_copies(state: &App, g: &Grant) -> Result<Vec<DisputedValue>, AppError> {
    let Ok(e) = published_entry(state, g.entry_id).await else { return Ok(vec![]) };
    let disputes = crate::objections::Disputes::of(state.storage.as_ref(), &e).await?;
    let Some(key_field) = disputes.key_field().filter(|k| g.fields.iter().any(|f| f == k)) else { return Ok(vec![]) };
    let rule = g.masking.get(key_field).and_then(|m| MaskRule::parse(m)).unwrap_or(MaskRule::Suppress);
    let secret = state.storage.grant_key(g.id).await?.unwrap_or_default();
    let mut out = Vec::new();
    for (key, fields) in disputes.iter() {
        let Some(shown) = sharing::protect(rule, &secret, Some(key)) else { continue };
        for f in fields.iter().filter(|f| g.fields.contains(f)) {
            out.push(DisputedValue { key: shown.clone(), field: f.clone() });
        }
    }
    Ok(out)
}

async fn grant_out(state: &App, p: &Principal, g: Grant) -> Result<GrantOut, AppError> {
    let status = g.status;
    let expired = today_date() > g.expires_on;
    Ok(GrantOut {
        disputed: Vec::new(),
        dataset_name: published_entry(state, g.entry_id).await.map(|e| e.body.name).unwrap_or_default(),
        user_org_name: org_name(state, g.user_org_id).await,
        provider_org_name: org_name(state, g.provider_org_id).await,
        status_zh: status.label_zh().into(),
        status_en: status.label_en().into(),
        expired,
        usable: status == GrantStatus::Active && !expired,
        usage: state.storage.grant_usage(g.id).await?,
        can_manage: may_manage(state, p, &g).await?,
        g,
    })
}

async fn may_manage(state: &App, p: &Principal, g: &Grant) -> Result<bool, AppError> {
    Ok(p.allows(Permission::ManageGrants)
        && (p.org_id == Some(g.provider_org_id) || authority_over(state, p, g.provider_org_id).await?))
}

#[derive(Debug, Deserialize, IntoParams, Default)]
pub struct GrantListParams {
    /// `mine` (granted to the caller's organisation), `provided` (by it), or all visible.
    pub view: Option<String>,
    pub status: Option<String>,
    pub entry_id: Option<i64>,
}

pub async fn do_list_grants(state: &App, p: &Principal, q: &GrantListParams) -> Result<Vec<GrantOut>, AppError> {
    let mut query = GrantQuery {
        status: status_filter(q.status.as_deref(), GrantStatus::parse)?,
        entry_id: q.entry_id,
        ..Default::default()
    };
    match q.view.as_deref() {
        Some("mine") => query.user_org = Some(p.org_id.ok_or_else(no_org)?),
        Some("provided") => query.provider_org = Some(p.org_id.ok_or_else(no_org)?),
        _ => {}
    }
    let scope = if p.allows(Permission::GovernData) { Some(review_scope(state, p).await?) } else { None };
    let mut out = Vec::new();
    for g in state.storage.list_grants(&query).await? {
        let party = p.org_id == Some(g.user_org_id) || p.org_id == Some(g.provider_org_id);
        if party || scope.as_ref().is_some_and(|s| s.contains(g.provider_org_id)) {
            out.push(grant_out(state, p, g).await?);
        }
    }
    Ok(out)
}

async fn visible_grant(state: &App, p: &Principal, id: i64) -> Result<Grant, AppError> {
    let g = state.storage.get_grant(id).await?.ok_or_else(|| AppError::not_found(&format!("grant {id}")))?;
    let party = p.org_id == Some(g.user_org_id) || p.org_id == Some(g.provider_org_id);
    if party || authority_over(state, p, g.provider_org_id).await? {
        Ok(g)
    } else {
        Err(AppError::not_found(&format!("grant {id}")))
    }
}

/// One grant; a bulk grant with the disputed values of its copies, which a listing leaves out
/// (they cost a read of the dataset's objections and the grant's key per grant).
pub async fn do_get_grant(state: &App, p: &Principal, id: i64) -> Result<GrantOut, AppError> {
    let g = visible_grant(state, p, id).await?;
    let mut out = grant_out(state, p, g).await?;
    if out.g.mode == ShareMode::Bulk {
        out.disputed = disputed_in_copies(state, &out.g).await?;
    }
    Ok(out)
}

pub async fn do_change_grant(
    state: &App,
    p: &Principal,
    id: i64,
    action: &str,
    reason: &str,
) -> Result<GrantOut, AppError> {
    let g = visible_grant(state, p, id).await?;
    if !may_manage(state, p, &g).await? {
        return Err(AppError::not_allowed(
            "not_grant_manager",
            "只有数据提供单位或主管部门可以暂停、恢复或撤销授权",
            "only the providing organisation or the authority may suspend, resume or revoke a grant",
        ));
    }
    let action = GrantAction::parse(action).ok_or_else(|| AppError::not_found(&format!("grant action {action}")))?;
    let reason = reason_required(reason)?;
    let from = g.status;
    let to = from.next(action).map_err(|e| AppError::conflict(e.code(), e.message_zh(), e.message_en()))?;
    // A suspension for an overdue usage report is lifted once the report is filed, by the
    // provider or the authority; one the authority ordered is lifted by the authority, not by
    // the provider it may have been ordered against (R-SHR-13).
    if action == GrantAction::Resume {
        match last_suspension(state, &g).await? {
            Some(Suspension::ReportOverdue) if crate::share_ops::report_overdue(state, &g).await? => {
                return Err(AppError::conflict(
                    "usage_report_overdue",
                    "使用单位尚未提交逾期的使用情况报告，提交后才能恢复授权",
                    "the user organisation has not filed its overdue usage report; the grant resumes once it does",
                ));
            }
            Some(Suspension::ByAuthority) if !authority_over(state, p, g.provider_org_id).await? => {
                return Err(AppError::not_allowed(
                    "suspended_by_authority",
                    "该授权由主管部门暂停，只能由主管部门恢复",
                    "the authority suspended this grant, so only the authority may resume it",
                ));
            }
            _ => {}
        }
    }
    let mut ev = p.event(&format!("share.grant.{}", action.as_str()), "");
    ev.purpose = reason.into();
    let g = state.storage.set_grant_status(id, from, to, reason, ev).await?;
    if to == GrantStatus::Revoked {
        // The grant's masked copies go with it.
        crate::share_files::remove_share_files(state, id, None);
    }
    grant_out(state, p, g).await
}

/// Who suspended a grant last, as far as lifting it goes.
enum Suspension {
    /// The provider itself.
    ByProvider,
    /// The authority (someone outside the providing organisation).
    ByAuthority,
    /// The platform, for an overdue usage report.
    ReportOverdue,
}

/// The grant's last suspension, read from the audit chain, where every suspension is recorded.
async fn last_suspension(state: &App, g: &Grant) -> Result<Option<Suspension>, AppError> {
    let object = format!("grant:{}", g.id);
    let q = pdp_storage::AuditQuery {
        action: Some("share.grant.suspend".into()),
        object: Some(object.clone()),
        limit: Some(100),
        ..Default::default()
    };
    let last = state.storage.search_audit(&q).await?.into_iter().find(|e| e.event.object == object);
    Ok(last.map(|e| {
        // Only the platform's own event counts (no account acts as it), whatever a reason says.
        if e.event.actor_id.is_none() && e.event.purpose.starts_with(crate::share_ops::REPORT_OVERDUE) {
            Suspension::ReportOverdue
        } else if e.event.org_id != Some(g.provider_org_id) {
            Suspension::ByAuthority
        } else {
            Suspension::ByProvider
        }
    }))
}

// ---------------------------------------------------------------- access

/// What an access needs: the grant, the dataset's definition and the grant's pseudonym key.
/// Shared, because the access cache ([`crate::access_cache`]) hands the same terms to every
/// request until something changes.
pub type Access = Arc<AccessTerms>;

/// The terms of one grant as the access path reads them.
pub struct AccessTerms {
    pub g: Grant,
    pub e: EntryVersion,
    key: Vec<u8>,
    /// The key of the recipient fingerprint the grant's bulk copies carry (R-SHR-08), derived
    /// from `key`.
    fingerprint_key: [u8; 32],
    pub masking: BTreeMap<String, MaskRule>,
    /// The emergency the grant was made under, if any (its end is checked on every access).
    emergency: Option<pdp_storage::Emergency>,
    /// Every granted field under the grant's row filters: what a view reads.
    all_fields: Selection,
    /// The masking rule of each of `all_fields`' columns, in their order: a view's rows are
    /// masked without looking a rule up by name per value.
    all_rules: Vec<MaskRule>,
    /// The grant's masking as a view's answer states it, shared by every answer.
    masking_shown: Arc<BTreeMap<String, String>>,
    /// The dataset's values under open objections, flagged to the grant's user wherever it
    /// reads them (R-OBJ-03). Raising or answering an objection is a change the access cache
    /// sees, so the flags are as fresh as the grant itself.
    pub disputes: crate::objections::Disputes,
}

/// The masking rule of `field` under a grant's masking. A field without one is not granted and
/// never reaches the masking; it is suppressed anyway.
fn rule_of(masking: &BTreeMap<String, MaskRule>, field: &str) -> MaskRule {
    masking.get(field).copied().unwrap_or(MaskRule::Suppress)
}

/// `columns` of the rows a grant's row filters let through.
fn selection(g: &Grant, columns: Vec<String>) -> Selection {
    Selection {
        columns,
        filters: g
            .row_filters
            .iter()
            .map(|f| ColumnFilter {
                column: f.field.clone(),
                matching: match f.op {
                    sharing::FilterOp::Eq => Match::Equals,
                    sharing::FilterOp::Prefix => Match::Prefix,
                },
                values: f.values.clone(),
            })
            .collect(),
        order_by: None,
    }
}

impl AccessTerms {
    /// `columns` of the rows the grant's row filters let through.
    pub fn selection(&self, columns: Vec<String>) -> Selection {
        selection(&self.g, columns)
    }

    /// The grant's masking rule of each of `columns`, in their order: found once for all the
    /// rows of an answer or an export, not per value. The rules of every granted field, in the
    /// grant's order, were found once per cached grant and are borrowed.
    pub fn rules(&self, columns: &[String]) -> Cow<'_, [MaskRule]> {
        if columns == self.all_fields.columns.as_slice() {
            Cow::Borrowed(&self.all_rules)
        } else {
            Cow::Owned(columns.iter().map(|c| rule_of(&self.masking, c)).collect())
        }
    }

    /// A row's values with `rules` ([`AccessTerms::rules`] of the row's columns) applied.
    pub fn protect(&self, rules: &[MaskRule], row: Vec<Option<String>>) -> Vec<Option<String>> {
        rules.iter().zip(row).map(|(&rule, v)| sharing::protect(rule, &self.key, v.as_deref())).collect()
    }

    /// A row of a bulk copy: [`AccessTerms::protect`], then the recipient fingerprint written
    /// into the asterisks of the masked values (`pdp_domain::fingerprint`); a copy without
    /// masked fields gets the mark in a cell of its own, after the granted ones
    /// ([`copy_columns`]). Values shown in clear or pseudonymised are never touched.
    pub fn protect_marked(&self, rules: &[MaskRule], row: Vec<Option<String>>) -> Vec<Option<String>> {
        use pdp_domain::fingerprint::{mark, trace_cell, writes_stars};
        let mut out: Vec<Option<String>> = rules
            .iter()
            .zip(row)
            .map(|(&rule, v)| {
                let v = sharing::protect(rule, &self.key, v.as_deref())?;
                Some(if writes_stars(rule) { mark(&self.fingerprint_key, v) } else { v })
            })
            .collect();
        if !rules.iter().any(|r| writes_stars(*r)) {
            let cell = trace_cell(&self.fingerprint_key, &out);
            out.push(Some(cell));
        }
        out
    }

    /// The field that addresses a record: the entry's identifier field, else its one key.
    pub(crate) fn key_field(&self) -> Result<&str, AppError> {
        if let Some(f) = &self.e.body.identifier_field {
            return Ok(f);
        }
        let keys: Vec<_> = self.e.body.fields.iter().filter(|f| f.rules.key).collect();
        match keys.as_slice() {
            [k] => Ok(&k.name),
            _ => Err(AppError::bad_request(
                "share_no_key",
                "该数据没有唯一的标识字段，不能按标识查询",
                "the dataset has no single identifying field to look records up by",
            )),
        }
    }

    /// The audit event of an access, with the hashes of request and response (R-SHR-12).
    pub fn event(
        &self,
        p: &Principal,
        mode: ShareMode,
        rows: usize,
        fields: &[String],
        request: &str,
        response: &str,
    ) -> pdp_audit::NewEvent {
        let via = p.via_label();
        let detail = AccessDetail {
            via: &via,
            grant: self.g.id,
            dataset: &self.g.dataset,
            mode: mode.as_str(),
            rows,
            fields,
            response_hash: response,
            user_org: self.g.user_org_id,
            provider_org: self.g.provider_org_id,
            emergency: self.g.emergency_id,
        }
        .to_json();
        let action = match mode {
            ShareMode::Bulk => "share.access.bulk",
            ShareMode::View => "share.access.view",
            ShareMode::Verify => "share.access.verify",
            ShareMode::Statistics => "share.access.statistics",
        };
        let mut ev = p.event_with_detail(action, "", detail);
        ev.purpose = self.g.purpose.clone();
        ev.request_hash = sha256_hex(request.as_bytes());
        ev
    }
}

/// The detail of an access's audit event (R-SHR-12): how the caller came in, the grant, the
/// mode, the rows and fields served and the hash of the answer. Borrowed: one is written for
/// every access.
#[derive(Serialize)]
struct AccessDetail<'a> {
    via: &'a str,
    grant: i64,
    dataset: &'a str,
    mode: &'a str,
    rows: usize,
    fields: &'a [String],
    response_hash: &'a str,
    user_org: i64,
    provider_org: i64,
    emergency: Option<i64>,
}

impl AccessDetail<'_> {
    /// The JSON text the event's detail holds.
    fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The gate of every access (R-SHR-04, R-SHR-06, R-SHR-13): only the user organisation sees
/// the grant; it must be active, unexpired and of this mode.
pub async fn grant_for_access(state: &App, p: &Principal, id: i64, mode: ShareMode) -> Result<Access, AppError> {
    if let Some(terms) = state.access_cache.grant(id) {
        if p.org_id != Some(terms.g.user_org_id) {
            return Err(other_orgs_grant(state, p, id).await);
        }
        check_grant(p, &terms.g, terms.emergency.as_ref(), id, mode)?;
        return Ok(terms);
    }
    // Taken before reading: see the access cache's invariants.
    let generation = state.access_cache.generation();
    let g = state.storage.get_grant(id).await?.ok_or_else(|| AppError::not_found(&format!("grant {id}")))?;
    let emergency = match g.emergency_id {
        Some(eid) => state.storage.list_emergencies().await?.into_iter().find(|m| m.id == eid),
        None => None,
    };
    // Whose grant it is comes first: another organisation learns nothing of the row.
    if p.org_id != Some(g.user_org_id) {
        return Err(other_orgs_grant(state, p, id).await);
    }
    check_grant(p, &g, emergency.as_ref(), id, mode)?;
    let e = published_entry(state, g.entry_id).await?;
    let key = state.storage.grant_key(id).await?.unwrap_or_default();
    let masking: BTreeMap<String, MaskRule> =
        g.masking.iter().map(|(k, v)| (k.clone(), MaskRule::parse(v).unwrap_or(MaskRule::Suppress))).collect();
    let all_fields = selection(&g, g.fields.clone());
    let all_rules = all_fields.columns.iter().map(|c| rule_of(&masking, c)).collect();
    let masking_shown = Arc::new(g.masking.clone());
    let disputes = crate::objections::Disputes::of(state.storage.as_ref(), &e).await?;
    let fingerprint_key = pdp_domain::fingerprint::key_of(&key);
    let terms = Arc::new(AccessTerms {
        all_fields,
        all_rules,
        masking_shown,
        g,
        e,
        key,
        fingerprint_key,
        masking,
        emergency,
        disputes,
    });
    state.access_cache.put_grant(id, generation, terms.clone());
    Ok(terms)
}

/// The answer to a use of another organisation's grant: "not found", as for a grant that does
/// not exist, and an audit event (at a bounded rate), since it is someone probing grants.
async fn other_orgs_grant(state: &App, p: &Principal, id: i64) -> AppError {
    let ev = p.event("share.access.other_org", &format!("grant:{id}"));
    crate::credentials::audit_refusal(state, ev, crate::credentials::REFUSAL_OTHER_ORG).await;
    AppError::not_found(&format!("grant {id}"))
}

/// The checks of [`grant_for_access`] on a grant's rows, fresh or cached; the time-dependent
/// ones (expiry, the emergency's end) are evaluated now, never cached.
fn check_grant(
    p: &Principal,
    g: &Grant,
    emergency: Option<&pdp_storage::Emergency>,
    id: i64,
    mode: ShareMode,
) -> Result<(), AppError> {
    if p.org_id != Some(g.user_org_id) {
        return Err(AppError::not_found(&format!("grant {id}")));
    }
    sharing::check_access(g.status, g.expires_on, today_date(), g.mode, mode).map_err(|e| denied(&e))?;
    if g.emergency_id.is_some() && !emergency.is_some_and(|m| m.active_at(now_micros())) {
        return Err(AppError::not_allowed(
            "share_emergency_over",
            "该授权依应急状态作出，应急状态已结束",
            "the grant was made under an emergency, and the emergency is over",
        ));
    }
    Ok(())
}

/// A view lookup: the record's key and the page wanted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewInput {
    /// The record's identifier (e.g. the citizen ID number).
    pub key: String,
    pub offset: Option<usize>,
    /// At most 100.
    pub limit: Option<usize>,
}

/// Records found under a view grant, masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewOut {
    pub grant_id: i64,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    pub total: u64,
    pub offset: usize,
    /// The masking applied per column.
    // Shared: every answer under a grant states the grant's one map.
    pub masking: Arc<BTreeMap<String, String>>,
    /// Values under an open objection (R-OBJ-03): the row's index in `rows` and the field.
    /// Business goes on with the value; the user knows it is being checked.
    pub disputed: Vec<crate::datasets::DisputedCell>,
}

/// An answer of the access path with the JSON its response hash was taken over. The API sends
/// these very bytes, so the exchange log's hash (R-SHR-12) is that of what the caller received,
/// and the answer is serialised once instead of once for the hash and again for the response.
#[derive(Debug)]
pub struct Answer<T> {
    pub out: T,
    body: Vec<u8>,
}

impl<T: Serialize> Answer<T> {
    fn new(out: T) -> Self {
        // Serialising a derived `Serialize` of strings, numbers and maps into memory cannot
        // fail; an empty body would still be hashed and logged as what was sent.
        let body = serde_json::to_vec(&out).unwrap_or_default();
        Self { out, body }
    }

    /// The JSON the response carries.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The hex SHA-256 of the body, as the exchange log records it.
    fn hash(&self) -> String {
        sha256_hex(&self.body)
    }
}

pub async fn do_view(state: &App, p: &Principal, id: i64, q: &ViewInput) -> Result<Answer<ViewOut>, AppError> {
    let a = grant_for_access(state, p, id, ShareMode::View).await?;
    let key = q.key.trim();
    if key.is_empty() {
        return Err(AppError::bad_request(
            "share_key_required",
            "请提供要查询的记录标识",
            "give the key of the record to look up",
        ));
    }
    let (offset, limit) = (crate::limits::offset(state, q.offset)?, q.limit.unwrap_or(20).clamp(1, MAX_PAGE));
    let key_field = a.key_field()?;
    let page = lake(state)?.select_rows(&a.g.dataset, &a.all_fields, Some((key_field, key)), offset, limit).await?;
    // A view reads every granted field (`all_fields`), and the lake answers the columns it was
    // asked for: the rules are the grant's own, found once per cached grant.
    debug_assert_eq!(page.columns, a.all_fields.columns);
    // Flags are found on the values as stored, before masking hides the key.
    let disputed = a.disputes.cells(&page.columns, &page.rows, Some((key_field, key)));
    let rows: Vec<_> = page.rows.into_iter().map(|r| a.protect(&a.all_rules, r)).collect();
    let view = ViewOut {
        grant_id: id,
        columns: page.columns,
        rows,
        total: page.total,
        offset,
        masking: a.masking_shown.clone(),
        disputed,
    };
    let answer = Answer::new(view);
    let out = &answer.out;
    let ev = a.event(
        p,
        ShareMode::View,
        out.rows.len(),
        &out.columns,
        &view_request(id, key, offset, limit),
        &answer.hash(),
    );
    state.record_access(id, 1, out.rows.len() as i64, ev).await?;
    Ok(answer)
}

/// What a view asked, as its exchange log entry hashes it: `GET view {id} key={key}
/// offset={offset} limit={limit}`. Put together without `format!`, whose machinery showed in the
/// access path's profile.
fn view_request(id: i64, key: &str, offset: usize, limit: usize) -> String {
    let mut n = itoa::Buffer::new();
    let mut s = String::with_capacity(64 + key.len());
    s.push_str("GET view ");
    s.push_str(n.format(id));
    s.push_str(" key=");
    s.push_str(key);
    s.push_str(" offset=");
    s.push_str(n.format(offset));
    s.push_str(" limit=");
    s.push_str(n.format(limit));
    s
}

/// Claimed values of one record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyInput {
    pub key: String,
    /// Field name -> claimed value; only granted fields.
    pub values: BTreeMap<String, String>,
}

/// Verdicts only: never the data (比对/核验).
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyOut {
    pub grant_id: i64,
    /// Whether a record with the key exists (within the grant's rows).
    pub found: bool,
    /// Per field: whether the claimed value matches.
    pub matches: BTreeMap<String, bool>,
    /// The asked fields whose value is under an open objection (R-OBJ-03): the verdict is
    /// about the value on record, which its subject disputes.
    pub disputed: Vec<String>,
}

pub async fn do_verify(
    state: &App,
    p: &Principal,
    id: i64,
    input: &VerifyInput,
) -> Result<Answer<VerifyOut>, AppError> {
    let a = grant_for_access(state, p, id, ShareMode::Verify).await?;
    // Verify answers yes or no about a value the grant may mask: unlimited, it would be an
    // oracle that guesses masked values back. Every caller is limited per grant, and a
    // signed-in person per account too (API keys have their own limit at the gate).
    let rate = state.settings.verify_rate_per_grant;
    let per_user = matches!(p.via, crate::Via::Session { .. });
    if !state.verify_rate.allow(id, rate) || (per_user && !state.verify_rate.allow(-p.user.id, rate)) {
        return Err(AppError::new(
            crate::error::ErrorKind::TooMany,
            "verify_rate_limited",
            format!("核验请求过于频繁（每个授权每秒 {rate} 次），请稍后再试"),
            format!("too many verifications (at most {rate} per second per grant); retry shortly"),
        ));
    }
    if input.values.is_empty() || input.values.len() > 50 {
        return Err(AppError::bad_request(
            "verify_no_values",
            "请提供 1 至 50 个待核验的值",
            "give 1 to 50 values to verify",
        ));
    }
    if let Some(f) = input.values.keys().find(|f| !a.g.fields.contains(f)) {
        return Err(AppError::not_allowed(
            "share_field_not_granted",
            format!("授权不包含信息项“{f}”"),
            format!("the grant does not cover the field {f:?}"),
        ));
    }
    let key_field = a.key_field()?;
    let columns: Vec<String> = input.values.keys().cloned().collect();
    let page = lake(state)?
        .select_rows(&a.g.dataset, &a.selection(columns.clone()), Some((key_field, input.key.trim())), 0, 1)
        .await?;
    let row = page.rows.into_iter().next();
    let disputed = match &row {
        Some(r) if !a.disputes.is_empty() => a
            .disputes
            .cells(&columns, std::slice::from_ref(r), Some((key_field, input.key.trim())))
            .into_iter()
            .map(|c| c.field)
            .collect(),
        _ => Vec::new(),
    };
    let actual: BTreeMap<String, Option<String>> = match row {
        Some(row) => columns.iter().cloned().zip(row).collect(),
        None => BTreeMap::new(),
    };
    let answer = Answer::new(VerifyOut {
        grant_id: id,
        found: !actual.is_empty(),
        matches: sharing::verify(&input.values, &actual),
        disputed,
    });
    let out = &answer.out;
    // What was asked, hashed for the exchange log: serialised from the input as it is (an
    // object with the key and the claimed values, in field order).
    #[derive(Serialize)]
    struct Asked<'a> {
        key: &'a str,
        values: &'a BTreeMap<String, String>,
    }
    let req = serde_json::to_string(&Asked { key: &input.key, values: &input.values }).unwrap_or_default();
    let ev = a.event(p, ShareMode::Verify, usize::from(out.found), &columns, &req, &answer.hash());
    state.record_access(id, 1, i64::from(out.found), ev).await?;
    Ok(answer)
}

/// An aggregate query under a statistics grant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatsInput {
    /// Dimensions: granted, unmasked fields, at most three.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// `count` (default), `sum` or `avg`.
    pub measure: Option<String>,
    /// The numeric field summed or averaged.
    pub field: Option<String>,
}

/// A shown cell. Suppressed cells are not listed at all: not their count, value or dimension
/// values; `suppressed_cells` says how many there were.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsCell {
    pub dimensions: Vec<Option<String>>,
    pub count: i64,
    /// The sum or average, for those measures.
    pub value: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsOut {
    pub grant_id: i64,
    pub group_by: Vec<String>,
    pub min_group: i64,
    pub cells: Vec<StatsCell>,
    /// Cells withheld: fewer members than `min_group`, or suppressed so that no withheld cell
    /// can be had back from the totals (secondary suppression).
    pub suppressed_cells: usize,
}

/// The most cells one statistics answer may have; a finer grouping is refused.
pub const MAX_STATS_CELLS: usize = 10_000;

/// Whether a grant still serves bulk data now (read fresh, not from the access cache).
pub async fn grant_still_serves(state: &App, id: i64) -> bool {
    let Ok(Some(g)) = state.storage.get_grant(id).await else { return false };
    sharing::check_access(g.status, g.expires_on, today_date(), ShareMode::Bulk, ShareMode::Bulk).is_ok()
}

/// A cell of a bulk export, through the platform's one CSV cell writer (formulas neutralised).
pub fn csv_cell(out: &mut String, v: Option<&str>) {
    pdp_interchange::csvcell::push_cell(out, v.unwrap_or(""));
}

/// Statistics mode: counts, sums or averages by allowed dimensions; a cell smaller than the
/// grant's minimum group is suppressed, and so is any other cell that would give it back by
/// difference (R-SHR-04).
pub async fn do_statistics(state: &App, p: &Principal, id: i64, input: &StatsInput) -> Result<StatsOut, AppError> {
    let a = grant_for_access(state, p, id, ShareMode::Statistics).await?;
    let group_by = dedup(&input.group_by);
    if group_by.len() > MAX_DIMENSIONS {
        return Err(AppError::bad_request(
            "stats_too_many_dimensions",
            format!("分组维度不能超过 {MAX_DIMENSIONS} 个"),
            format!("at most {MAX_DIMENSIONS} dimensions"),
        ));
    }
    // A dimension shows its values, so it must be granted and unmasked.
    if let Some(f) = group_by.iter().find(|f| a.masking.get(*f) != Some(&MaskRule::None)) {
        return Err(AppError::not_allowed(
            "stats_dimension_not_allowed",
            format!("信息项“{f}”未授权或须脱敏，不能作为分组维度"),
            format!("the field {f:?} is not granted or is masked, so it cannot be a dimension"),
        ));
    }
    let measure = match (input.measure.as_deref().unwrap_or("count"), input.field.as_deref()) {
        ("count", _) => None,
        (m @ ("sum" | "avg"), Some(f)) => {
            let numeric =
                a.e.body
                    .fields
                    .iter()
                    .any(|x| x.name == f && matches!(x.data_type, DataType::Integer | DataType::Decimal));
            // A sum or an average of a masked field would let its values be differenced out.
            if a.masking.get(f) != Some(&MaskRule::None) || !numeric {
                return Err(AppError::bad_request(
                    "stats_bad_measure",
                    format!("“{f}”不是授权范围内、不脱敏的数值型信息项"),
                    format!("{f:?} is not a granted, unmasked numeric field"),
                ));
            }
            Some((if m == "sum" { Measure::Sum } else { Measure::Avg }, f))
        }
        _ => {
            return Err(AppError::bad_request(
                "stats_bad_measure",
                "统计方式应为 count，或 sum/avg 并指定数值字段",
                "the measure must be count, or sum/avg with a numeric field",
            ));
        }
    };
    let filters = a.selection(Vec::new()).filters;
    let page = lake(state)?.aggregate(&a.g.dataset, &filters, &group_by, measure, MAX_STATS_CELLS + 1).await?;
    if page.rows.len() > MAX_STATS_CELLS {
        return Err(AppError::bad_request(
            "stats_too_many_cells",
            format!("分组结果超过 {MAX_STATS_CELLS} 个单元格，请减少分组维度"),
            format!("the grouping gives more than {MAX_STATS_CELLS} cells; use fewer dimensions"),
        ));
    }
    let n = group_by.len();
    let mut dims = Vec::with_capacity(page.rows.len());
    let mut counts = Vec::with_capacity(page.rows.len());
    let mut values = Vec::with_capacity(page.rows.len());
    for mut row in page.rows {
        counts.push(row.get(n).cloned().flatten().and_then(|c| c.parse::<i64>().ok()).unwrap_or(0));
        values.push(row.get(n + 1).cloned().flatten());
        row.truncate(n);
        dims.push(row);
    }
    let shown = sharing::shown_cells(&dims, &counts, a.g.min_group);
    let aggregated: i64 = counts.iter().sum();
    let mut cells = Vec::new();
    for (((d, count), value), show) in dims.into_iter().zip(counts).zip(values).zip(&shown) {
        if *show {
            cells.push(StatsCell { dimensions: d, count, value });
        }
    }
    let suppressed_cells = shown.len() - cells.len();
    let out = StatsOut { grant_id: id, group_by: group_by.clone(), min_group: a.g.min_group, cells, suppressed_cells };
    let body = serde_json::to_vec(&out).unwrap_or_default();
    let req = serde_json::to_string(
        &serde_json::json!({"group_by": group_by, "measure": input.measure, "field": input.field}),
    )
    .unwrap_or_default();
    let mut fields = group_by.clone();
    fields.extend(input.field.clone());
    // The usage record counts the rows aggregated, the measure of how much data was used.
    let ev = a.event(p, ShareMode::Statistics, aggregated as usize, &fields, &req, &sha256_hex(&body));
    state.record_access(id, 1, aggregated, ev).await?;
    Ok(out)
}

/// The chunks of a file leaving the platform, as they are made.
pub type ByteStream = futures::stream::BoxStream<'static, Result<Vec<u8>, std::io::Error>>;

/// Bulk mode: every granted row and field as CSV, masked, streamed. The export's start is
/// recorded before the first chunk is made; its end (rows sent and the hash of everything sent)
/// when the last has left, as a failure if the grant stopped serving or the reader went away.
pub async fn do_export_csv(state: Arc<App>, p: Principal, id: i64) -> Result<ByteStream, AppError> {
    let a = grant_for_access(&state, &p, id, ShareMode::Bulk).await?;
    let columns = a.g.fields.clone();
    let mut stream = lake(&state)?.select_stream(&a.g.dataset, &a.selection(columns.clone())).await?;
    let request = format!("GET export {id}");
    let start = a.event(&p, ShareMode::Bulk, 0, &columns, &request, "");
    state.record_access(id, 1, 0, start).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let st = state.clone();
    tokio::spawn(async move {
        let mut hasher = Sha256::new();
        let mut rows = 0usize;
        let rules = a.rules(&columns);
        let mut head = String::new();
        for (i, c) in pdp_domain::fingerprint::copy_columns(&columns, &rules).iter().enumerate() {
            if i > 0 {
                head.push(',');
            }
            csv_cell(&mut head, Some(c));
        }
        head.push('\n');
        let mut complete = true;
        let mut chunks = vec![head.into_bytes()];
        loop {
            for chunk in chunks.drain(..) {
                hasher.update(&chunk);
                if tx.send(Ok(chunk)).await.is_err() {
                    complete = false;
                }
            }
            if !complete {
                break;
            }
            let Some(batch) = stream.next().await else { break };
            // A grant suspended, revoked or expired while its export streams stops the export
            // at the next batch: the client gets a broken download, and the end is recorded
            // as a failure with the rows that did leave.
            if !grant_still_serves(&st, id).await {
                tracing::warn!(grant = id, "bulk export stopped: the grant no longer serves");
                let _ = tx.send(Err(std::io::Error::other("the grant no longer serves"))).await;
                complete = false;
                break;
            }
            let batch = match batch
                .map_err(|e| e.to_string())
                .and_then(|b| pdp_lake::batch_rows(&b).map_err(|e| e.to_string()))
            {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, grant = id, "bulk export failed");
                    let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                    complete = false;
                    break;
                }
            };
            let mut text = String::new();
            for row in batch {
                let row = a.protect_marked(&rules, row);
                for (i, v) in row.iter().enumerate() {
                    if i > 0 {
                        text.push(',');
                    }
                    csv_cell(&mut text, v.as_deref());
                }
                text.push('\n');
                rows += 1;
            }
            chunks.push(text.into_bytes());
        }
        let hash = hex::encode(hasher.finalize());
        let mut end = a.event(&p, ShareMode::Bulk, rows, &columns, &request, &hash);
        end.action = "share.access.bulk.end".into();
        if !complete {
            end.outcome = pdp_audit::Outcome::Failure;
        }
        if let Err(e) = st.record_access(id, 0, rows as i64, end).await {
            tracing::error!(error = %e, grant = id, "could not record the end of a bulk export");
        }
    });
    Ok(futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) }).boxed())
}

/// The columns of a bulk grant's copies: its fields, and the trace column when none of them is
/// masked with asterisks (`pdp_domain::fingerprint::copy_columns`).
pub fn copy_columns(g: &Grant) -> Vec<String> {
    let rules: Vec<MaskRule> = g
        .fields
        .iter()
        .map(|f| g.masking.get(f).and_then(|m| MaskRule::parse(m)).unwrap_or(MaskRule::Suppress))
        .collect();
    pdp_domain::fingerprint::copy_columns(&g.fields, &rules)
}

/// The metadata key every grant file carries, naming the fingerprint scheme it was made with,
/// and the scheme's present version: the trace column of copies with nothing masked is v2.
pub const FILE_SCHEME_KEY: &str = "pdp.fingerprint";
pub const FILE_SCHEME: &str = "v2";

/// The grant's own Parquet file of the dataset's `version`, written once and then served by the
/// Parquet export and Delta Sharing alike: granted columns, filtered rows, masked, the recipient
/// fingerprint in the masked values, and a footer naming the grant, its user organisation and
/// purpose (R-SHR-08). A file of an earlier release, without the fingerprint, is written again.
pub async fn grant_file(
    state: &App,
    a: &AccessTerms,
    version: u64,
) -> Result<(std::path::PathBuf, pdp_lake::share::WrittenFile), AppError> {
    let path = crate::share_files::share_file(state, a.g.id, version)?;
    if let Some(w) = pdp_lake::share::written_file(&path, (FILE_SCHEME_KEY, FILE_SCHEME)) {
        return Ok((path, w));
    }
    let columns = a.g.fields.clone();
    let rules = a.rules(&columns);
    let issued =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let metadata = vec![
        (FILE_SCHEME_KEY.to_string(), FILE_SCHEME.to_string()),
        ("pdp.grant".to_string(), a.g.id.to_string()),
        ("pdp.dataset".to_string(), a.g.dataset.clone()),
        ("pdp.dataset_version".to_string(), version.to_string()),
        ("pdp.user_org".to_string(), org_name(state, a.g.user_org_id).await),
        ("pdp.purpose".to_string(), a.g.purpose.clone()),
        ("pdp.written_at".to_string(), issued),
    ];
    let out_columns = pdp_domain::fingerprint::copy_columns(&columns, &rules);
    let w = lake(state)?
        .write_selection(&a.g.dataset, version, &a.selection(columns), &out_columns, &path, &metadata, |row| {
            a.protect_marked(&rules, row)
        })
        .await?;
    Ok((path, w))
}

/// Bulk mode as Parquet: the grant's own file (granted columns, filtered rows, masked, no column
/// statistics; the same file Delta Sharing serves), streamed, with its size. The start is
/// recorded before the first chunk; the end, with the SHA-256 of everything sent, after the
/// last.
pub async fn do_export_parquet(state: Arc<App>, p: Principal, id: i64) -> Result<(ByteStream, u64), AppError> {
    let a = grant_for_access(&state, &p, id, ShareMode::Bulk).await?;
    let lk = lake(&state)?;
    let version = lk.latest_version(&a.g.dataset).await?;
    let (path, w) = grant_file(&state, &a, version).await?;
    let columns = a.g.fields.clone();
    let file = tokio::fs::File::open(&path).await.map_err(|e| {
        tracing::error!(error = %e, grant = id, "opening a grant's Parquet file failed");
        AppError::internal("io_error", "读取文件失败", "reading the file failed")
    })?;
    let request = format!("GET export.parquet {id}");
    state.record_access(id, 1, 0, a.event(&p, ShareMode::Bulk, 0, &columns, &request, "")).await?;
    if w.bytes == 0 {
        return Err(AppError::internal("io_error", "读取文件失败", "reading the file failed"));
    }
    let st = state.clone();
    let rows = w.rows as usize;
    let size = w.bytes;
    // The end is recorded when the last byte is read from the file: with a Content-Length the
    // server stops polling the body once that many bytes are out, so "after the stream ends"
    // would never come.
    let finish = move |a: &Access, p: &Principal, st: &Arc<App>, hash: String, complete: bool| {
        let mut end = a.event(p, ShareMode::Bulk, rows, &a.g.fields, &format!("GET export.parquet {}", a.g.id), &hash);
        end.action = "share.access.bulk.end".into();
        if !complete {
            end.outcome = pdp_audit::Outcome::Failure;
        }
        let (st, id) = (st.clone(), a.g.id);
        async move {
            if let Err(e) = st.record_access(id, 0, rows as i64, end).await {
                tracing::error!(error = %e, grant = id, "could not record the end of a Parquet export");
            }
        }
    };
    let stream = futures::stream::unfold(
        (Some(file), Sha256::new(), 0u64, a, p, st),
        move |(file, mut hasher, sent, a, p, st)| async move {
            use tokio::io::AsyncReadExt;
            let mut f = file?;
            let mut buf = vec![0u8; 64 * 1024];
            match f.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    // The file ended early or could not be read: recorded as a failure.
                    finish(&a, &p, &st, hex::encode(hasher.finalize_reset()), false).await;
                    None
                }
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    let sent = sent + n as u64;
                    let next = if sent >= size {
                        finish(&a, &p, &st, hex::encode(hasher.finalize_reset()), true).await;
                        None
                    } else {
                        Some(f)
                    };
                    Some((Ok::<_, std::io::Error>(buf[..n].to_vec()), (next, hasher, sent, a, p, st)))
                }
            }
        },
    );
    Ok((stream.boxed(), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// internals, no requirement (the request a view's exchange log hashes is the text it always was)
    #[test]
    fn a_views_request_text_is_unchanged() {
        for (id, key, offset, limit) in
            [(7, "110101199003077777", 0, 20), (-1, "", usize::MAX, 1), (i64::MAX, "键 x=1", 40, 100)]
        {
            assert_eq!(
                view_request(id, key, offset, limit),
                format!("GET view {id} key={key} offset={offset} limit={limit}")
            );
        }
    }
}
