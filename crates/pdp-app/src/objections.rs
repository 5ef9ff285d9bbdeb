//! Objections to records (异议, R-OBJ): a data subject or a data user disputes one value of one
//! record; the provider verifies within ten working days and confirms or corrects; a correction
//! is a new version of the dataset that names the objection; objections not answered in time
//! escalate to the authority; the raiser sees the outcome.
//!
//! While an objection is open the value is marked disputed wherever PDP serves it (the
//! provider's row reads, the base views, the subject page), and business goes on with the
//! current value (R-OBJ-03). Every step goes to the audit chain.

use crate::App;
use crate::Principal;
use crate::catalog::review_scope;
use crate::clock::{now_micros, today_date};
use crate::datasets::{lake, load_and_record, published_entry};
use crate::error::AppError;
use pdp_domain::roles::{Permission, Role};
use pdp_domain::subject::{ObjectionStatus, RaiserKind, objection_due, objection_overdue};
use pdp_lake::{LoadMeta, LoadMode};
use pdp_storage::catalog::EntryVersion;
use pdp_storage::{NewObjection, Objection, ObjectionQuery};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use utoipa::{IntoParams, ToSchema};

/// The largest evidence file accepted.
pub const MAX_EVIDENCE_BYTES: usize = 5 * 1024 * 1024;

/// The key field of a dataset an objection can address: its one key field.
fn key_field(e: &EntryVersion) -> Result<&pdp_domain::catalog::Field, AppError> {
    let keys: Vec<_> = e.body.fields.iter().filter(|f| f.rules.key).collect();
    match keys.as_slice() {
        [k] => Ok(k),
        _ => Err(AppError::bad_request(
            "objection_no_key",
            "该数据没有唯一的主键字段，无法定位记录",
            "the dataset has no single key field, so a record cannot be addressed",
        )),
    }
}

/// Marks open objections past their due date as escalated (R-OBJ-02). Called before listings
/// and by the server's hourly sweep; idempotent.
pub async fn escalate_due(storage: &dyn pdp_storage::Storage) -> Result<usize, AppError> {
    let n = storage.escalate_objections(today_date(), now_micros()).await?.len();
    if n > 0 {
        tracing::info!(escalated = n, "objections past their due date went to the authority");
    }
    Ok(n)
}

/// An objection raised on a record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionInput {
    /// The catalog entry id of the dataset.
    pub entry_id: i64,
    /// The record's key value (e.g. the citizen ID number).
    pub key: String,
    /// The field whose value is disputed.
    pub field: String,
    /// What the value should be (may be empty when the value should not be there at all).
    #[serde(default)]
    pub claimed_value: String,
    pub reason: String,
}

/// An objection as its reader may see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObjectionOut {
    #[serde(flatten)]
    pub o: Objection,
    pub dataset_name: String,
    pub field_label: String,
    pub status_zh: String,
    pub status_en: String,
    /// Open and past its due date.
    pub overdue: bool,
    /// The due date was counted over a year without a holiday table, on weekdays alone; it is
    /// counted again when the authority adds that year's table.
    pub due_provisional: bool,
    /// The reader is the provider and may answer.
    pub can_answer: bool,
}

/// Whether `p` may see `o`: the raiser, the provider's staff, and the authority of the region.
pub async fn may_see(state: &App, p: &Principal, o: &Objection) -> Result<bool, AppError> {
    if o.raised_by == p.user.id || (p.org_id == Some(o.org_id) && p.allows(Permission::ViewDatasets)) {
        return Ok(true);
    }
    Ok(p.allows(Permission::GovernData) && review_scope(state, p).await?.contains(o.org_id))
}

fn can_answer(p: &Principal, o: &Objection) -> bool {
    o.status == ObjectionStatus::Open && p.org_id == Some(o.org_id) && p.allows(Permission::LoadData)
}

async fn out(state: &App, p: &Principal, mut o: Objection) -> ObjectionOut {
    let entry = published_entry(state, o.entry_id).await.ok();
    let status = o.status;
    let due = o.due_date;
    // A data subject sees the outcome, not the provider's other data: the value served is
    // shown to the provider and the authority only.
    let provider_side = p.org_id == Some(o.org_id) || p.allows(Permission::GovernData);
    if !provider_side {
        o.current_value = String::new();
    }
    ObjectionOut {
        dataset_name: entry.as_ref().map(|e| e.body.name.clone()).unwrap_or_default(),
        field_label: entry
            .as_ref()
            .and_then(|e| e.body.fields.iter().find(|f| f.name == o.field))
            .map(|f| f.label.clone())
            .unwrap_or_default(),
        status_zh: status.label_zh().into(),
        status_en: status.label_en().into(),
        overdue: objection_overdue(status, due, today_date()),
        due_provisional: state.catalog.calendar.get().is_provisional(crate::clock::date_of(o.raised_at_micros), due),
        can_answer: can_answer(p, &o),
        o,
    }
}

pub async fn do_raise(state: &App, p: &Principal, input: &ObjectionInput) -> Result<ObjectionOut, AppError> {
    let e = published_entry(state, input.entry_id).await?;
    let key_field = key_field(&e)?.name.clone();
    let key = input.key.trim().to_string();
    if input.field == key_field || !e.body.fields.iter().any(|f| f.name == input.field) {
        return Err(AppError::bad_request(
            "objection_bad_field",
            format!("“{}”不是该数据可提出异议的字段", input.field),
            format!("{:?} is not a field of this dataset that can be disputed", input.field),
        ));
    }
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 2000 || input.claimed_value.chars().count() > 500 || key.is_empty()
    {
        return Err(AppError::bad_request(
            "objection_incomplete",
            "请填写记录标识和异议理由（理由不超过 2000 字，主张的值不超过 500 字）",
            "give the record key and a reason (reason at most 2000 characters, claimed value at most 500)",
        ));
    }
    let lake = lake(state)?;
    let page = lake.rows(&e.code, None, Some((&key_field, &key)), 0, 1).await?;
    let Some(row) = page.rows.first() else {
        return Err(AppError::new(
            crate::error::ErrorKind::NotFound,
            "record_not_found",
            "该数据中没有这条记录",
            "the dataset has no such record",
        ));
    };
    let col = page.columns.iter().position(|c| c == &input.field).unwrap_or(0);
    let current = row.get(col).cloned().flatten().unwrap_or_default();
    let mine = state
        .storage
        .list_objections(&ObjectionQuery {
            raised_by: Some(p.user.id),
            dataset: Some(e.code.clone()),
            open_only: true,
            ..Default::default()
        })
        .await?;
    if mine.iter().any(|o| o.record_key == key && o.field == input.field) {
        return Err(AppError::conflict(
            "objection_exists",
            "您对该值的异议正在核查中",
            "your objection to this value is already under review",
        ));
    }
    let due = objection_due(&state.catalog.calendar.get(), today_date()).map_err(|e| AppError::domain(&e))?.due;
    let raiser_kind = if p.user.roles.contains(&Role::PublicUser) { RaiserKind::Subject } else { RaiserKind::User };
    let o = state
        .storage
        .create_objection(
            NewObjection {
                dataset: e.code.clone(),
                entry_id: e.entry_id,
                org_id: e.org_id,
                record_key: key,
                field: input.field.clone(),
                current_value: current,
                claimed_value: input.claimed_value.trim().to_string(),
                reason: reason.to_string(),
                raised_by: p.user.id,
                raised_by_name: p.user.display_name.clone(),
                raiser_kind,
                due_date: due,
            },
            p.event("objection.raise", ""),
        )
        .await?;
    Ok(out(state, p, o).await)
}

#[derive(Debug, Deserialize, IntoParams, Default)]
pub struct ListParams {
    /// Only open objections.
    pub open: Option<bool>,
    /// Only escalated ones (the authority's list).
    pub escalated: Option<bool>,
}

/// Every objection `p` may see: raised by them, addressed to their organisation, or (for the
/// authority) of their region.
pub async fn do_list(state: &App, p: &Principal, q: &ListParams) -> Result<Vec<ObjectionOut>, AppError> {
    escalate_due(state.storage.as_ref()).await?;
    let query = ObjectionQuery {
        open_only: q.open.unwrap_or(false),
        escalated_only: q.escalated.unwrap_or(false),
        ..Default::default()
    };
    let scope = if p.allows(Permission::GovernData) { Some(review_scope(state, p).await?) } else { None };
    let mut result = Vec::new();
    for o in state.storage.list_objections(&query).await? {
        let visible = o.raised_by == p.user.id
            || (p.org_id == Some(o.org_id) && p.allows(Permission::ViewDatasets))
            || scope.as_ref().is_some_and(|s| s.contains(o.org_id));
        if visible {
            result.push(out(state, p, o).await);
        }
    }
    Ok(result)
}

pub async fn do_get(state: &App, p: &Principal, id: i64) -> Result<ObjectionOut, AppError> {
    escalate_due(state.storage.as_ref()).await?;
    let o = state.storage.get_objection(id).await?.ok_or_else(|| AppError::not_found(&format!("objection {id}")))?;
    if !may_see(state, p, &o).await? {
        return Err(AppError::not_found(&format!("objection {id}")));
    }
    Ok(out(state, p, o).await)
}

/// The provider's answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    /// `confirmed` (the value is right) or `corrected`.
    pub decision: String,
    pub response: String,
    /// The corrected value; the claimed value when absent.
    pub corrected_value: Option<String>,
}

pub async fn do_answer(state: &App, p: &Principal, id: i64, input: &AnswerInput) -> Result<ObjectionOut, AppError> {
    let o = state.storage.get_objection(id).await?.ok_or_else(|| AppError::not_found(&format!("objection {id}")))?;
    if !may_see(state, p, &o).await? {
        return Err(AppError::not_found(&format!("objection {id}")));
    }
    if p.org_id != Some(o.org_id) || !p.allows(Permission::LoadData) {
        return Err(AppError::not_allowed(
            "not_provider",
            "只有提供该数据的单位的数据专员可以答复异议",
            "only a data officer of the providing organisation may answer an objection",
        ));
    }
    if o.status != ObjectionStatus::Open {
        return Err(AppError::conflict("objection_closed", "该异议已答复", "the objection has been answered"));
    }
    let response = input.response.trim();
    if response.is_empty() {
        return Err(AppError::bad_request("objection_response_required", "请填写核查说明", "a response is required"));
    }
    let decision =
        ObjectionStatus::parse(&input.decision).filter(|s| *s != ObjectionStatus::Open).ok_or_else(|| {
            AppError::bad_request(
                "objection_bad_decision",
                "核查结论应为 confirmed（核实无误）或 corrected（已更正）",
                "the decision must be confirmed or corrected",
            )
        })?;
    let mut version = None;
    if decision == ObjectionStatus::Corrected {
        let e = published_entry(state, o.entry_id).await?;
        let key = key_field(&e)?.name.clone();
        let lake = lake(state)?;
        let page = lake.rows(&e.code, None, Some((&key, &o.record_key)), 0, 1).await?;
        let Some(row) = page.rows.first() else {
            return Err(AppError::new(
                crate::error::ErrorKind::NotFound,
                "record_not_found",
                "该数据中已没有这条记录",
                "the dataset no longer has this record",
            ));
        };
        let value = input.corrected_value.clone().unwrap_or_else(|| o.claimed_value.clone());
        // The corrected record: the stored row with the disputed value replaced, in field order.
        let cells: Vec<String> = e
            .body
            .fields
            .iter()
            .map(|f| {
                if f.name == o.field {
                    return value.clone();
                }
                let i = page.columns.iter().position(|c| c == &f.name);
                i.and_then(|i| row.get(i).cloned().flatten()).unwrap_or_default()
            })
            .collect();
        let meta = LoadMeta {
            actor: p.user.username.clone(),
            source: format!("objection:{id}"),
            objection_id: Some(id),
            reject_invalid: true,
            ..Default::default()
        };
        let report = load_and_record(
            state.storage.as_ref(),
            lake,
            &e,
            LoadMode::Upsert,
            meta,
            Box::new(pdp_lake::CellRows::new(&e.body.fields, vec![cells])),
            |_| {},
            p.event("dataset.objection.correct", &format!("dataset:{}", e.code)),
        )
        .await?;
        version = report.version.map(|v| v as i64);
    }
    let mut ev = p.event("objection.answer", "");
    ev.purpose = format!("decision={} version={version:?}", decision.as_str());
    let o = state.storage.answer_objection(id, decision, response, p.user.id, version, ev).await?;
    Ok(out(state, p, o).await)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct EvidenceParams {
    pub filename: Option<String>,
}

/// The open objections of a dataset as (key, field) pairs, to mark disputed values.
pub async fn disputed(
    storage: &dyn pdp_storage::Storage,
    dataset: &str,
) -> Result<BTreeSet<(String, String)>, AppError> {
    Ok(storage
        .list_objections(&ObjectionQuery { dataset: Some(dataset.to_string()), open_only: true, ..Default::default() })
        .await?
        .into_iter()
        .map(|o| (o.record_key, o.field))
        .collect())
}
