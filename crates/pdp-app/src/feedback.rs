//! The public's voice on open data (R-OPN-09): requests for data not yet open, and ratings with
//! comments of open datasets.
//!
//! A signed-in account asks for data; the authority routes the request to the provider that
//! holds it, with a deadline in working days; the provider answers that the data is now open
//! (naming the dataset), that opening it is planned, or why it is not opened. Every request and
//! its status is public, with the share of answered requests that led to open data. Names are
//! shown masked.

use pdp_domain::catalog::MaskRule;
use pdp_domain::open::RequestStatus;
use pdp_domain::roles::Permission;
use pdp_storage::{DataRequest, Rating, RequestStep};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::catalog::review_scope;
use crate::clock::today_date;
use crate::error::AppError;
use crate::open::open_dataset;
use crate::{App, Principal};

/// The most requests one account has waiting at once.
pub const MAX_OPEN_REQUESTS: usize = 20;

/// A name as the public sees it.
fn masked_name(name: &str) -> String {
    pdp_domain::sharing::mask(MaskRule::Name, name.trim()).unwrap_or_default()
}

fn text(field: &'static str, zh: &str, v: &str, max: usize) -> Result<String, AppError> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(AppError::bad_request(
            "invalid_field",
            format!("请填写{zh}（不超过 {max} 字）"),
            format!("{field} is required, at most {max} characters"),
        ));
    }
    Ok(v.to_string())
}

fn conflict(e: pdp_storage::StorageError) -> AppError {
    match e {
        pdp_storage::StorageError::Conflict(_) => AppError::conflict(
            "request_state_changed",
            "需求状态已变化，请刷新后重试",
            "the request's state changed; reload and retry",
        ),
        e => e.into(),
    }
}

/// What a data request asks for.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    pub title: String,
    pub description: String,
}

/// Files a request for data not yet open (any signed-in account).
pub async fn submit_request(state: &App, p: &Principal, input: &RequestInput) -> Result<DataRequest, AppError> {
    let title = text("title", "需求名称", &input.title, 100)?;
    let description = text("description", "需求说明", &input.description, 2000)?;
    let waiting = state
        .storage
        .list_data_requests()
        .await?
        .iter()
        .filter(|r| r.requester_id == p.user.id && matches!(r.status, RequestStatus::Submitted | RequestStatus::Routed))
        .count();
    if waiting >= MAX_OPEN_REQUESTS {
        return Err(AppError::too_many(
            "too_many_requests_waiting",
            format!("您已有 {MAX_OPEN_REQUESTS} 个需求在办理中"),
            format!("you have {MAX_OPEN_REQUESTS} requests waiting already"),
        ));
    }
    let ev = p.event("open.request.submit", "");
    Ok(state
        .storage
        .create_data_request(&title, &description, p.user.id, &masked_name(&p.user.display_name), ev)
        .await?)
}

/// The authority routes a request to the provider that holds the data, which must answer
/// within `open.decision_working_days` working days.
pub async fn route_request(state: &App, p: &Principal, id: i64, org_id: i64) -> Result<DataRequest, AppError> {
    if !p.allows(Permission::ReviewOpenData) || !review_scope(state, p).await?.contains(org_id) {
        return Err(AppError::not_allowed(
            "request_not_in_scope",
            "只有数据主管部门可将需求分办至其辖区内的单位",
            "only the authority routes requests, to organisations of its region",
        ));
    }
    state.storage.get_org(org_id).await?.ok_or_else(|| AppError::not_found(&format!("organisation {org_id}")))?;
    let due = state
        .catalog
        .calendar
        .get()
        .deadline(today_date(), state.settings.open_decision_working_days)
        .map_err(|e| AppError::domain(&e))?
        .due;
    let step = RequestStep {
        from: RequestStatus::Submitted,
        to: RequestStatus::Routed,
        org_id: Some(org_id),
        entry_id: None,
        answer: String::new(),
        due_date: Some(due),
    };
    state
        .storage
        .step_data_request(id, step, p.event("open.request.route", &format!("org:{org_id}")))
        .await
        .map_err(conflict)
}

/// How a provider answers a request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    /// `fulfilled` (naming the open dataset), `planned` or `declined`.
    pub outcome: String,
    /// The open dataset that meets the request, for `fulfilled`.
    #[serde(default)]
    pub entry_id: Option<i64>,
    pub answer: String,
}

/// The provider's answer (its data officers).
pub async fn answer_request(state: &App, p: &Principal, id: i64, input: &AnswerInput) -> Result<DataRequest, AppError> {
    let r = state.storage.get_data_request(id).await?.ok_or_else(|| AppError::not_found(&format!("request {id}")))?;
    if r.org_id.is_none() || p.org_id != r.org_id || !p.allows(Permission::PublishOpenData) {
        return Err(AppError::not_allowed(
            "request_not_your_org",
            "只有受理单位的数据专员可以答复该需求",
            "only the data officers of the organisation it was routed to answer it",
        ));
    }
    let to = match RequestStatus::parse(&input.outcome) {
        Some(s @ (RequestStatus::Fulfilled | RequestStatus::Planned | RequestStatus::Declined)) => s,
        _ => {
            return Err(AppError::bad_request(
                "invalid_outcome",
                "答复结果须为已开放、计划开放或不予开放",
                "the outcome is fulfilled, planned or declined",
            ));
        }
    };
    let answer = text("answer", "答复", &input.answer, 2000)?;
    let entry_id = if to == RequestStatus::Fulfilled {
        let entry = input.entry_id.ok_or_else(|| {
            AppError::bad_request("request_entry_required", "请指明已开放的数据", "name the open dataset that meets it")
        })?;
        let (d, _) = open_dataset(state, entry).await?;
        if Some(d.org_id) != p.org_id {
            return Err(AppError::bad_request(
                "request_entry_not_yours",
                "请指明本单位已开放的数据",
                "name an open dataset of your organisation",
            ));
        }
        Some(entry)
    } else {
        None
    };
    let step = RequestStep { from: RequestStatus::Routed, to, org_id: None, entry_id, answer, due_date: None };
    let mut ev = p.event("open.request.answer", "");
    ev.purpose = to.as_str().into();
    state.storage.step_data_request(id, step, ev).await.map_err(conflict)
}

/// The public list of requests with what came of them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestsOut {
    pub requests: Vec<DataRequest>,
    /// Requests answered, and those whose answer was open data.
    pub answered: usize,
    pub fulfilled: usize,
    /// Requests routed and past their deadline unanswered.
    pub overdue: usize,
}

pub async fn public_requests(state: &App) -> Result<RequestsOut, AppError> {
    let requests = state.storage.list_data_requests().await?;
    let answered = requests
        .iter()
        .filter(|r| matches!(r.status, RequestStatus::Fulfilled | RequestStatus::Planned | RequestStatus::Declined))
        .count();
    let fulfilled = requests.iter().filter(|r| r.status == RequestStatus::Fulfilled).count();
    let today = today_date();
    let overdue =
        requests.iter().filter(|r| r.status == RequestStatus::Routed && r.due_date.is_some_and(|d| d < today)).count();
    Ok(RequestsOut { requests, answered, fulfilled, overdue })
}

/// A rating of an open dataset.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    /// 1 to 5.
    pub stars: i64,
    #[serde(default)]
    pub comment: String,
}

/// Rates an open dataset (any signed-in account; a second rating replaces the first).
pub async fn rate(state: &App, p: &Principal, entry_id: i64, input: &RatingInput) -> Result<Rating, AppError> {
    open_dataset(state, entry_id).await?;
    if !(1..=5).contains(&input.stars) || input.comment.chars().count() > 500 {
        return Err(AppError::bad_request(
            "invalid_rating",
            "评分须为 1 至 5 星，评论不超过 500 字",
            "a rating is 1 to 5 stars with a comment of at most 500 characters",
        ));
    }
    let r = Rating {
        entry_id,
        user_id: p.user.id,
        user_name: masked_name(&p.user.display_name),
        stars: input.stars,
        comment: input.comment.trim().to_string(),
        at_micros: 0,
    };
    let mut ev = p.event("open.rate", "");
    ev.purpose = format!("stars={}", input.stars);
    Ok(state.storage.rate(r, ev).await?)
}

/// A dataset's ratings: the mean, their number and the newest.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RatingsOut {
    pub mean: Option<f64>,
    pub count: usize,
    pub ratings: Vec<Rating>,
}

pub async fn ratings(state: &App, entry_id: i64) -> Result<RatingsOut, AppError> {
    let ratings = state.storage.ratings(entry_id).await?;
    let count = ratings.len();
    let mean = (count > 0).then(|| ratings.iter().map(|r| r.stars as f64).sum::<f64>() / count as f64);
    Ok(RatingsOut { mean, count, ratings })
}
