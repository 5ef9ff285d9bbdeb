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
use crate::datasets::DisputedCell;
use crate::datasets::{lake, published_entry};
use crate::error::AppError;
use pdp_domain::roles::{Permission, Role};
use pdp_domain::subject::{ObjectionKind, ObjectionStatus, RaiserKind, objection_due, objection_overdue};
use pdp_lake::{LoadMeta, LoadMode};
use pdp_storage::catalog::EntryVersion;
use pdp_storage::{NewObjection, Objection, ObjectionQuery};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
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

/// The most objections one account may have open at a time: enough for anyone's own records,
/// and a bound on what one account can make providers review.
pub const MAX_OPEN_PER_RAISER: usize = 20;

/// An objection raised on a record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionInput {
    /// The catalog entry id of the dataset.
    pub entry_id: i64,
    /// The record's key value (e.g. the citizen ID number). A public account bound to an
    /// identifier may leave it out: its own identifier is the key, and no other is accepted.
    #[serde(default)]
    pub key: String,
    /// The field whose value is disputed; may be empty for missing data (a whole record).
    #[serde(default)]
    pub field: String,
    /// `wrong` (the default), `missing` or `infringing`.
    #[serde(default)]
    pub kind: Option<String>,
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
    pub kind_zh: String,
    pub kind_en: String,
    /// Whether the record existed when the objection was raised: shown to the provider and the
    /// authority, absent for the raiser (an objection tells nobody whether a record exists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_found: Option<bool>,
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
    // A data subject sees the outcome, not the provider's other data: the value served, and
    // whether there was a record at all, are shown to the provider and the authority only.
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
        kind_zh: o.kind.label_zh().into(),
        kind_en: o.kind.label_en().into(),
        record_found: provider_side.then_some(o.record_found),
        overdue: objection_overdue(status, due, today_date()),
        due_provisional: state.catalog.calendar.get().is_provisional(crate::clock::date_of(o.raised_at_micros), due),
        can_answer: can_answer(p, &o),
        o,
    }
}

/// Whether `p` raises objections as a data subject: a public account, not staff of an
/// organisation. Such an account objects only to records about the identifier it is bound to.
pub fn raises_as_subject(p: &Principal) -> bool {
    p.org_id.is_none() && p.user.roles.contains(&Role::PublicUser)
}

/// The key a data subject's objection addresses: their own identifier, in a dataset about their
/// kind of subject. Decided before anything is read, so the answer for someone else's key is
/// the same whether or not a record with it exists (R-OBJ-01).
fn own_key(p: &Principal, e: &EntryVersion, key: &str) -> Result<String, AppError> {
    let Some(me) = p.user.subject.as_ref() else {
        return Err(AppError::not_allowed(
            "subject_not_bound",
            "您的账号尚未绑定公民身份号码或统一社会信用代码：请先到政务服务窗口或通过实名认证完成绑定，之后可对关于本人（本单位）的数据提出异议",
            "your account is not bound to a citizen ID or credit code yet: once bound (at a service counter or by real-name authentication), you can object to data about yourself",
        ));
    };
    let about = pdp_domain::subject::subject_of(&e.body).map(|(k, _)| k);
    let key = if key.trim().is_empty() { me.id() } else { key };
    if !about.is_some_and(|k| me.owns(k, key)) {
        return Err(AppError::not_allowed(
            "objection_not_own_record",
            "只能对关于本人（本单位）的记录提出异议",
            "you can object only to records about yourself (your own identifier)",
        ));
    }
    Ok(me.id().to_string())
}

pub async fn do_raise(state: &App, p: &Principal, input: &ObjectionInput) -> Result<ObjectionOut, AppError> {
    let e = published_entry(state, input.entry_id).await?;
    let key_field = key_field(&e)?.name.clone();
    let kind = match input.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        None => ObjectionKind::Wrong,
        Some(k) => ObjectionKind::parse(k).ok_or_else(|| {
            AppError::bad_request(
                "objection_bad_kind",
                "异议类型应为 wrong（数据错误）、missing（数据遗漏）或 infringing（侵犯合法权益）",
                "the kind must be wrong, missing or infringing",
            )
        })?,
    };
    let subject = raises_as_subject(p);
    let key = if subject { own_key(p, &e, &input.key)? } else { input.key.trim().to_string() };
    let field = input.field.trim();
    // Missing data may be a whole record (no field); anything else names a field, not the key.
    let field_needed = kind != ObjectionKind::Missing || !field.is_empty();
    if field_needed && (field == key_field || !e.body.fields.iter().any(|f| f.name == field)) {
        return Err(AppError::bad_request(
            "objection_bad_field",
            format!("“{field}”不是该数据可提出异议的字段"),
            format!("{field:?} is not a field of this dataset that can be disputed"),
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
    let mine = state
        .storage
        .list_objections(&ObjectionQuery { raised_by: Some(p.user.id), open_only: true, ..Default::default() })
        .await?;
    if mine.iter().any(|o| o.dataset == e.code && o.record_key == key && o.field == field) {
        return Err(AppError::conflict(
            "objection_exists",
            "您对该值的异议正在核查中",
            "your objection to this value is already under review",
        ));
    }
    if mine.len() >= MAX_OPEN_PER_RAISER {
        return Err(AppError::new(
            crate::error::ErrorKind::TooMany,
            "objection_limit",
            format!("您已有 {MAX_OPEN_PER_RAISER} 件异议正在核查，请待答复后再提出"),
            format!("you have {MAX_OPEN_PER_RAISER} objections under review; raise more once they are answered"),
        ));
    }
    let lake = lake(state)?;
    let page = lake.rows(&e.code, None, Some((&key_field, &key)), 0, 1).await?;
    let row = page.rows.first();
    // A data subject learns whether their own record is there; for anyone else the answer is
    // the same either way, and only the provider is told (`record_found`).
    if subject && row.is_none() && kind != ObjectionKind::Missing {
        return Err(AppError::new(
            crate::error::ErrorKind::NotFound,
            "record_not_found",
            "该数据中没有关于您的记录；如应有而没有，请提出“数据遗漏”异议",
            "the dataset has no record about you; if it should, raise a missing-data objection",
        ));
    }
    let current = match (row, page.columns.iter().position(|c| c == field)) {
        (Some(row), Some(col)) => row.get(col).cloned().flatten().unwrap_or_default(),
        _ => String::new(),
    };
    let due = objection_due(&state.catalog.calendar.get(), today_date()).map_err(|e| AppError::domain(&e))?.due;
    let raiser_kind = if subject { RaiserKind::Subject } else { RaiserKind::User };
    let o = state
        .storage
        .create_objection(
            NewObjection {
                dataset: e.code.clone(),
                entry_id: e.entry_id,
                org_id: e.org_id,
                record_key: key,
                field: field.to_string(),
                current_value: current,
                claimed_value: input.claimed_value.trim().to_string(),
                reason: reason.to_string(),
                raised_by: p.user.id,
                raised_by_name: p.user.display_name.clone(),
                raiser_kind,
                kind,
                record_found: row.is_some(),
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
    if decision == ObjectionStatus::Corrected && o.field.is_empty() {
        // A whole record was missing: the provider adds it by a load of its own, and the
        // answer names the version that holds it.
        let e = published_entry(state, o.entry_id).await?;
        let key = key_field(&e)?.name.clone();
        let lake = lake(state)?;
        let page = lake.rows(&e.code, None, Some((&key, &o.record_key)), 0, 1).await?;
        if page.rows.is_empty() {
            return Err(AppError::conflict(
                "objection_record_still_missing",
                "该记录仍不在数据中：请先通过数据加载补充该记录，再答复“已更正”",
                "the record is still missing: add it with a load first, then answer corrected",
            ));
        }
        version = lake.table(&e.code).await?.and_then(|t| t.version()).map(|v| v as i64);
    } else if decision == ObjectionStatus::Corrected {
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
        let report = crate::datasets::load_in(
            state,
            &e,
            LoadMode::Upsert,
            meta,
            Box::new(pdp_lake::CellRows::new(&e.body.fields, vec![cells])),
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

/// The values under open objections in one dataset (R-OBJ-03), to flag wherever they are
/// served: to the provider, on subject pages, and to every grant user who reads them. A
/// missing-data objection about a whole record flags no value.
#[derive(Debug, Clone, Default)]
pub struct Disputes {
    /// The field objections address records by (the entry's one key field).
    key_field: Option<String>,
    /// Record key -> disputed fields.
    by_key: HashMap<String, Vec<String>>,
}

impl Disputes {
    /// The open objections of `e`'s dataset.
    pub async fn of(storage: &dyn pdp_storage::Storage, e: &EntryVersion) -> Result<Self, AppError> {
        let mut by_key: HashMap<String, Vec<String>> = HashMap::new();
        let open = storage
            .list_objections(&ObjectionQuery { dataset: Some(e.code.clone()), open_only: true, ..Default::default() })
            .await?;
        for o in open.into_iter().filter(|o| !o.field.is_empty()) {
            let fields = by_key.entry(o.record_key).or_default();
            if !fields.contains(&o.field) {
                fields.push(o.field);
            }
        }
        Ok(Self { key_field: key_field(e).ok().map(|f| f.name.clone()), by_key })
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The field objections address records by.
    pub fn key_field(&self) -> Option<&str> {
        self.key_field.as_deref()
    }

    /// Every record key under objection with its disputed fields, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        let mut keys: Vec<_> = self.by_key.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
        keys.sort_unstable_by_key(|(k, _)| *k);
        keys.into_iter()
    }

    /// The disputed fields of the record keyed `key`.
    pub fn fields_of(&self, key: &str) -> &[String] {
        self.by_key.get(key.trim()).map(Vec::as_slice).unwrap_or_default()
    }

    /// The cells of `rows` (named by `columns`, read before any masking) under objection. Rows
    /// that carry the key field are matched by it; otherwise, when the rows were looked up by the
    /// key field (`lookup` is that field and the value asked for), every row is that record.
    pub fn cells(
        &self,
        columns: &[String],
        rows: &[Vec<Option<String>>],
        lookup: Option<(&str, &str)>,
    ) -> Vec<DisputedCell> {
        let Some(key_field) = self.key_field.as_deref().filter(|_| !self.is_empty()) else { return Vec::new() };
        let key_col = columns.iter().position(|c| c == key_field);
        let looked_up = lookup.filter(|(f, _)| *f == key_field).map(|(_, v)| v);
        let mut out = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let key = match key_col {
                Some(k) => row.get(k).and_then(|v| v.as_deref()),
                None => looked_up,
            };
            for field in key.map(|k| self.fields_of(k)).unwrap_or_default() {
                if columns.contains(field) {
                    out.push(DisputedCell { row: i, field: field.clone() });
                }
            }
        }
        out
    }
}
