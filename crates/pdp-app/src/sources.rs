//! Work across datasets, for the authority: authoritative sources of data elements and the
//! cross-check (one number, one source, R-AGG-03), the duplicate collection analysis, the
//! population and legal-entity base views with the subject page (R-AGG-06), and data return
//! to districts (R-AGG-07).
//!
//! Rows never leave the lake for these: each result is a query of `pdp-lake` over the
//! datasets' latest versions (`pdp_lake::analytics`, `pdp_lake::share`), built from DataFusion
//! expressions; this module writes no SQL. Assigning sources, running the cross-check and setting up returns need
//! [`Permission::GovernData`] and a city-level authority account; base views and subject pages
//! need [`Permission::ViewBaseData`] and every view is audited; a returned subset is read only
//! by organisations of its district, and every read is audited.

use crate::App;
use crate::Principal;
use crate::catalog::review_scope;
use crate::clock::now_micros;
use crate::datasets::lake;
use crate::error::AppError;
use pdp_domain::catalog::DataType;
use pdp_domain::org::RegionLevel;
use pdp_domain::roles::Permission;
use pdp_domain::subject::{
    BaseDatabase, DatasetRef, DuplicateCollection, ReturnDemandStatus, ReturnMethod, SubjectKind, duplicate_collection,
    subject_of,
};
use pdp_lake::Lake;
use pdp_lake::analytics::Keyed;
use pdp_lake::share::{ColumnFilter, Match, Selection};
use pdp_storage::catalog::{EntryQuery, EntryVersion, EntryView};
use pdp_storage::{
    AuthoritativeSource, Conflict, CrossCheckRun, DistrictReturn, NewCrossCheckRun, NewDistrictReturn, Storage,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::{IntoParams, ToSchema};

/// A published dataset about persons or legal entities.
#[derive(Debug, Clone)]
pub struct SubjectDataset {
    pub entry: EntryVersion,
    pub kind: SubjectKind,
    pub key: String,
}

/// Every published entry about persons or legal entities.
pub async fn subject_datasets(storage: &dyn Storage) -> Result<Vec<SubjectDataset>, AppError> {
    let entries = storage.list_entries(&EntryQuery { view: EntryView::Published, ..Default::default() }).await?;
    Ok(entries
        .into_iter()
        .filter_map(|e| {
            let (kind, key) = subject_of(&e.body)?;
            let key = key.to_string();
            Some(SubjectDataset { entry: e, kind, key })
        })
        .collect())
}

/// The current version of a dataset, `None` when nothing was loaded yet.
async fn current_version(lake: &Lake, dataset: &str) -> Result<Option<i64>, AppError> {
    Ok(lake.table(dataset).await?.and_then(|t| t.version()).map(|v| v as i64))
}

/// Only a city-level authority governs sources and returns: district reviewers see their
/// region's findings but do not decide for the city.
pub async fn city_authority(state: &App, p: &Principal) -> Result<(), AppError> {
    if !review_scope(state, p).await?.all {
        return Err(AppError::not_allowed(
            "not_city_authority",
            "只有市级数据主管部门可以执行此操作",
            "only the city's data authority may do this",
        ));
    }
    Ok(())
}

/// A base database by its code (`person`, `legal_entity`, `spatial`, `credit`, `licence`).
pub fn parse_database(s: &str) -> Result<BaseDatabase, AppError> {
    BaseDatabase::parse(s).ok_or_else(|| AppError::not_found(&format!("base database {s}")))
}

pub fn parse_kind(s: &str) -> Result<SubjectKind, AppError> {
    SubjectKind::parse(s).ok_or_else(|| {
        AppError::bad_request(
            "unknown_subject",
            format!("未知的主体类型“{s}”（person、legal_entity、place）"),
            format!("unknown subject kind {s:?} (person, legal_entity, place)"),
        )
    })
}

/// The authority's assignment of a source.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceInput {
    /// `person` or `legal_entity`.
    pub subject: String,
    /// The element (field name).
    pub element: String,
    /// The catalog entry id of the authoritative dataset.
    pub entry_id: i64,
    #[serde(default)]
    pub note: String,
}

pub async fn do_set_source(state: &App, p: &Principal, input: &SourceInput) -> Result<AuthoritativeSource, AppError> {
    city_authority(state, p).await?;
    let kind = parse_kind(&input.subject)?;
    let e = crate::datasets::published_entry(state, input.entry_id).await?;
    match subject_of(&e.body) {
        Some((k, _)) if k == kind => {}
        _ => {
            return Err(AppError::bad_request(
                "source_wrong_subject",
                format!(
                    "“{}”不是以{}为主体的数据（需要公民身份号码或统一社会信用代码标识字段）",
                    e.body.name,
                    kind.label_zh()
                ),
                format!(
                    "{:?} is not about {} (it needs a citizen ID or credit code identifier field)",
                    e.body.name,
                    kind.label_en()
                ),
            ));
        }
    }
    let key = e.body.identifier_field.clone().unwrap_or_default();
    if input.element == key || !e.body.fields.iter().any(|f| f.name == input.element) {
        return Err(AppError::bad_request(
            "source_no_element",
            format!("“{}”没有数据项“{}”", e.body.name, input.element),
            format!("{:?} has no element {:?}", e.body.name, input.element),
        ));
    }
    let s = AuthoritativeSource {
        subject: kind,
        element: input.element.clone(),
        dataset: e.code.clone(),
        note: input.note.trim().chars().take(500).collect(),
        assigned_by: p.user.username.clone(),
        assigned_at_micros: now_micros(),
    };
    let mut ev = p.event("source.assign", "");
    ev.purpose = format!("dataset={}", e.code);
    state.storage.set_source(s.clone(), ev).await?;
    Ok(s)
}

// ---------------------------------------------------------------- cross-check

/// Conflicts kept per pair of datasets; the run counts them all.
const CONFLICTS_KEPT_PER_PAIR: usize = 1000;

/// Runs the cross-check: for every element with an authoritative source, every other loaded
/// dataset about the same subjects that holds the element is joined with the source on the key,
/// and differing values are conflicts.
pub async fn do_crosscheck(
    storage: &dyn Storage,
    lake: &Lake,
    actor: &str,
    mut ev: pdp_audit::NewEvent,
) -> Result<CrossCheckRun, AppError> {
    let started = now_micros();
    let datasets = subject_datasets(storage).await?;
    let by_code: BTreeMap<&str, &SubjectDataset> = datasets.iter().map(|d| (d.entry.code.as_str(), d)).collect();
    let mut versions: BTreeMap<String, Option<i64>> = BTreeMap::new();
    for d in &datasets {
        versions.insert(d.entry.code.clone(), current_version(lake, &d.entry.code).await?);
    }
    let (mut pairs, mut compared, mut total) = (0i64, 0i64, 0i64);
    let mut conflicts = Vec::new();
    for s in storage.list_sources().await? {
        let kind = s.subject;
        let Some(src) = by_code.get(s.dataset.as_str()) else { continue };
        let Some(Some(src_version)) = versions.get(&s.dataset).copied() else { continue };
        for other in datasets.iter().filter(|d| {
            d.kind == kind && d.entry.code != s.dataset && d.entry.body.fields.iter().any(|f| f.name == s.element)
        }) {
            let Some(Some(other_version)) = versions.get(&other.entry.code).copied() else { continue };
            pairs += 1;
            let check = lake
                .crosscheck_pair(
                    Keyed { dataset: &s.dataset, key: &src.key },
                    Keyed { dataset: &other.entry.code, key: &other.key },
                    &s.element,
                    CONFLICTS_KEPT_PER_PAIR,
                )
                .await?;
            compared += i64::try_from(check.compared).unwrap_or(i64::MAX);
            total += i64::try_from(check.conflicts).unwrap_or(i64::MAX);
            for (key, source_value, other_value) in check.kept {
                conflicts.push(Conflict {
                    run_id: 0,
                    subject: s.subject,
                    element: s.element.clone(),
                    key,
                    source_dataset: s.dataset.clone(),
                    source_version: src_version,
                    source_value,
                    other_dataset: other.entry.code.clone(),
                    other_version,
                    other_value,
                });
            }
        }
    }
    let run = NewCrossCheckRun {
        actor: actor.to_string(),
        started_at_micros: started,
        finished_at_micros: now_micros(),
        pairs,
        compared,
        conflicts: total,
    };
    ev.purpose = format!("pairs={pairs} compared={compared} conflicts={total}");
    Ok(storage.record_crosscheck(run, conflicts, ev).await?)
}

/// The latest cross-check and a page of its conflicts.
#[derive(Debug, Serialize, ToSchema)]
pub struct CrossCheckOut {
    pub run: Option<CrossCheckRun>,
    pub conflicts: Vec<Conflict>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ConflictParams {
    pub element: Option<String>,
    pub offset: Option<i64>,
    /// At most 500.
    pub limit: Option<i64>,
}

/// The conflicts name citizens and enterprises with both values: the city's authority reads
/// them, and every read is audited.
pub async fn do_read_conflicts(state: &App, p: &Principal, q: &ConflictParams) -> Result<CrossCheckOut, AppError> {
    city_authority(state, p).await?;
    let run = state.storage.latest_crosscheck().await?;
    let conflicts = match &run {
        Some(r) => {
            state
                .storage
                .list_conflicts(
                    r.id,
                    q.element.as_deref().filter(|e| !e.is_empty()),
                    crate::limits::offset(state, q.offset)? as i64,
                    q.limit.unwrap_or(100).clamp(1, 500),
                )
                .await?
        }
        None => vec![],
    };
    let mut ev = p.event("crosscheck.read", &run.as_ref().map(|r| format!("crosscheck:{}", r.id)).unwrap_or_default());
    ev.purpose = format!(
        "element={} offset={} rows={}",
        q.element.as_deref().unwrap_or(""),
        q.offset.unwrap_or(0),
        conflicts.len()
    );
    state.audit.append(ev).await?;
    Ok(CrossCheckOut { run, conflicts })
}

// ---------------------------------------------------------------- duplicate collection

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectorOut {
    pub org_id: i64,
    pub org_name: String,
    pub entry_id: i64,
    pub dataset: String,
    pub name: String,
}

/// An element collected by more than one organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateOut {
    pub subject: String,
    pub element: String,
    /// The element's label in the authoritative dataset (or the first collector's).
    pub label: String,
    pub authoritative: Option<String>,
    pub organisations: usize,
    pub collectors: Vec<CollectorOut>,
}

pub async fn do_duplicates(state: &App) -> Result<Vec<DuplicateOut>, AppError> {
    let datasets = subject_datasets(state.storage.as_ref()).await?;
    let refs: Vec<DatasetRef<'_>> = datasets
        .iter()
        .map(|d| DatasetRef {
            entry_id: d.entry.entry_id,
            code: &d.entry.code,
            org_id: d.entry.org_id,
            body: &d.entry.body,
        })
        .collect();
    let sources: BTreeMap<(SubjectKind, String), String> =
        state.storage.list_sources().await?.into_iter().map(|s| ((s.subject, s.element), s.dataset)).collect();
    let orgs: BTreeMap<i64, String> = state.storage.list_orgs().await?.into_iter().map(|o| (o.id, o.name)).collect();
    let by_code: BTreeMap<&str, &SubjectDataset> = datasets.iter().map(|d| (d.entry.code.as_str(), d)).collect();
    let out = duplicate_collection(&refs, &sources)
        .into_iter()
        .map(|d: DuplicateCollection| {
            let label = d
                .collectors
                .first()
                .and_then(|c| by_code.get(c.dataset.as_str()))
                .and_then(|ds| ds.entry.body.fields.iter().find(|f| f.name == d.element))
                .map(|f| f.label.clone())
                .unwrap_or_default();
            DuplicateOut {
                subject: d.subject.as_str().into(),
                label,
                authoritative: d.authoritative,
                organisations: d.organisations,
                collectors: d
                    .collectors
                    .into_iter()
                    .map(|c| CollectorOut {
                        org_name: orgs.get(&c.org_id).cloned().unwrap_or_default(),
                        name: by_code.get(c.dataset.as_str()).map(|d| d.entry.body.name.clone()).unwrap_or_default(),
                        org_id: c.org_id,
                        entry_id: c.entry_id,
                        dataset: c.dataset,
                    })
                    .collect(),
                element: d.element,
            }
        })
        .collect();
    Ok(out)
}

// ---------------------------------------------------------------- base views

/// A column of a base view: an element and where its values come from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BaseAttribute {
    pub element: String,
    pub label: String,
    pub dataset: String,
    pub entry_id: i64,
    /// The source's version the values were read at.
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BaseRow {
    pub key: String,
    /// In the order of `attributes`.
    pub values: Vec<Option<String>>,
    /// Elements whose value an open objection disputes in its source (R-OBJ-03).
    pub disputed: Vec<String>,
}

/// A page of a base database's view.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BaseViewOut {
    /// The base database: `person`, `legal_entity`, `spatial`, `credit` or `licence`.
    pub database: String,
    /// The kind of subject it is keyed by: `person`, `legal_entity` or `place`.
    pub subject: String,
    pub attributes: Vec<BaseAttribute>,
    pub rows: Vec<BaseRow>,
    pub total: u64,
}

#[derive(Debug, Deserialize, IntoParams, Default)]
pub struct BaseParams {
    /// Only keys starting with this (e.g. an area code).
    pub prefix: Option<String>,
    pub offset: Option<u64>,
    /// At most 200.
    pub limit: Option<u64>,
}

/// The sources of a subject kind's base view: per source dataset with a version, its key field
/// and elements, and the view's attributes in order.
struct BaseSources {
    /// `(dataset, key field, elements)`, in a fixed order.
    tables: Vec<(String, String, Vec<String>)>,
    attributes: Vec<BaseAttribute>,
}

impl BaseSources {
    fn keyed(&self) -> Vec<(Keyed<'_>, Vec<String>)> {
        self.tables.iter().map(|(d, k, e)| (Keyed { dataset: d, key: k }, e.clone())).collect()
    }
}

/// The base database an authoritative source's element belongs to, by how its dataset is
/// cataloged (`BaseDatabase::of_source`).
fn database_of(kind: SubjectKind, d: &SubjectDataset) -> BaseDatabase {
    BaseDatabase::of_source(kind, d.entry.body.class, &d.entry.body.item)
}

async fn base_sources(storage: &dyn Storage, lake: &Lake, db: BaseDatabase) -> Result<BaseSources, AppError> {
    let datasets = subject_datasets(storage).await?;
    let by_code: BTreeMap<&str, &SubjectDataset> = datasets.iter().map(|d| (d.entry.code.as_str(), d)).collect();
    // Sources grouped by dataset, in a fixed order.
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in storage.list_sources().await? {
        let Some(d) = by_code.get(s.dataset.as_str()) else { continue };
        if s.subject == db.subject() && database_of(s.subject, d) == db {
            groups.entry(s.dataset).or_default().push(s.element);
        }
    }
    let mut out = BaseSources { tables: Vec::new(), attributes: Vec::new() };
    for (code, elements) in groups {
        let Some(version) = current_version(lake, &code).await? else { continue };
        let d = by_code[code.as_str()];
        for el in &elements {
            let label = d.entry.body.fields.iter().find(|f| &f.name == el).map(|f| f.label.clone()).unwrap_or_default();
            out.attributes.push(BaseAttribute {
                element: el.clone(),
                label,
                dataset: code.clone(),
                entry_id: d.entry.entry_id,
                version,
            });
        }
        out.tables.push((code, d.key.clone(), elements));
    }
    Ok(out)
}

/// Prepares the base views that `dataset` is a source of after it changed (the sorted key list of
/// the sources' new versions), so that the view's first page after a load is as fast as the rest.
/// A failure is logged: the first page then builds the list.
pub async fn warm_base_views_of(storage: &dyn Storage, lake: &Lake, dataset: &str) {
    // Most loads are of datasets that are no source: they stop at one read of the sources.
    let kinds: BTreeSet<SubjectKind> = match storage.list_sources().await {
        Ok(sources) => sources.into_iter().filter(|s| s.dataset == dataset).map(|s| s.subject).collect(),
        Err(e) => {
            tracing::warn!(dataset, error = %e, "cannot read the base views' sources");
            return;
        }
    };
    let dbs = BaseDatabase::ALL.iter().copied().filter(|d| kinds.contains(&d.subject()));
    for db in dbs {
        let base = match base_sources(storage, lake, db).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(dataset, error = %e.message(), "cannot read the base view's sources");
                continue;
            }
        };
        if !base.tables.iter().any(|(d, _, _)| d == dataset) {
            continue;
        }
        if let Err(e) = lake.base_view(&base.keyed(), "", 0, 1).await {
            tracing::warn!(dataset, error = %e, "base view key list not prepared");
        }
    }
}

/// The view of a base database: every key found in one of its authoritative sources, with each
/// element's value from its source.
pub async fn do_base_view(
    state: &App,
    p: &Principal,
    db: BaseDatabase,
    q: &BaseParams,
) -> Result<BaseViewOut, AppError> {
    let kind = db.subject();
    // The base views are the whole city's population and legal entities: the city's
    // authority reads them; a district reads its residents through a data return.
    city_authority(state, p).await?;
    let offset = crate::limits::offset(state, q.offset)?;
    let lake = lake(state)?;
    let base = base_sources(state.storage.as_ref(), lake, db).await?;
    let attributes = base.attributes.clone();
    let mut out = BaseViewOut {
        database: db.as_str().into(),
        subject: kind.as_str().into(),
        attributes: attributes.clone(),
        rows: vec![],
        total: 0,
    };
    if base.tables.is_empty() {
        return Ok(out);
    }
    let prefix = q.prefix.as_deref().unwrap_or("").trim().to_string();
    if prefix.len() > 28 || !prefix.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(AppError::bad_request(
            "base_bad_prefix",
            "前缀只能包含字母和数字，且不超过 28 位",
            "the prefix must be at most 28 letters or digits",
        ));
    }
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let page = lake.base_view(&base.keyed(), &prefix, offset, limit as usize).await?;
    out.total = page.total;
    let open: BTreeSet<(String, String, String)> = state
        .storage
        .list_objections(&pdp_storage::ObjectionQuery { open_only: true, ..Default::default() })
        .await?
        .into_iter()
        .map(|o| (o.dataset, o.record_key, o.field))
        .collect();
    out.rows = page
        .rows
        .into_iter()
        .map(|mut r| {
            let key = if r.is_empty() { None } else { r.remove(0) }.unwrap_or_default();
            let disputed = attributes
                .iter()
                .filter(|a| open.contains(&(a.dataset.clone(), key.clone(), a.element.clone())))
                .map(|a| a.element.clone())
                .collect();
            BaseRow { key, values: r, disputed }
        })
        .collect();
    let mut ev = p.event("base.view", &format!("base:{}", db.as_str()));
    ev.purpose = format!("rows={} offset={offset} prefix={prefix}", out.rows.len());
    state.audit.append(ev).await?;
    Ok(out)
}

/// One dataset's records about a subject.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubjectRecords {
    pub dataset: String,
    pub entry_id: i64,
    pub name: String,
    pub org_name: String,
    pub version: i64,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// One element's value in one dataset.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubjectValue {
    pub element: String,
    pub label: String,
    pub value: String,
    pub dataset: String,
    pub version: i64,
    /// The dataset is the element's authoritative source.
    pub authoritative: bool,
    /// Another dataset holds a different value of this element.
    pub conflict: bool,
    /// An open objection disputes this value.
    pub disputed: bool,
}

/// A person or legal entity across every dataset about it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubjectOut {
    pub subject: String,
    pub key: String,
    pub values: Vec<SubjectValue>,
    pub records: Vec<SubjectRecords>,
    pub open_objections: Vec<pdp_storage::Objection>,
}

pub async fn do_subject(state: &App, p: &Principal, kind: SubjectKind, key: &str) -> Result<SubjectOut, AppError> {
    city_authority(state, p).await?;
    let key = key.trim().to_uppercase();
    let valid = match kind {
        SubjectKind::Person => pdp_domain::ids::CitizenId::parse(&key).is_ok(),
        SubjectKind::LegalEntity => pdp_domain::ids::CreditCode::parse(&key).is_ok(),
        SubjectKind::Place => pdp_domain::ids::PlaceCode::parse(&key).is_ok(),
    };
    if !valid {
        let id = kind.identifier();
        return Err(AppError::bad_request(
            "subject_bad_key",
            format!("“{key}”不是有效的{}", id.label_zh()),
            format!("{key:?} is not a valid {}", id.label_en().to_lowercase()),
        ));
    }
    let lake = lake(state)?;
    let orgs: BTreeMap<i64, String> = state.storage.list_orgs().await?.into_iter().map(|o| (o.id, o.name)).collect();
    let sources: BTreeSet<(String, String)> = state
        .storage
        .list_sources()
        .await?
        .into_iter()
        .filter(|s| s.subject == kind)
        .map(|s| (s.element, s.dataset))
        .collect();
    let objections: Vec<pdp_storage::Objection> = state
        .storage
        .list_objections(&pdp_storage::ObjectionQuery { open_only: true, ..Default::default() })
        .await?
        .into_iter()
        .filter(|o| o.record_key == key)
        .collect();
    let mut records = Vec::new();
    let mut values = Vec::new();
    for d in subject_datasets(state.storage.as_ref()).await?.into_iter().filter(|d| d.kind == kind) {
        let Some(version) = current_version(lake, &d.entry.code).await? else { continue };
        let page = lake.rows(&d.entry.code, u64::try_from(version).ok(), Some((&d.key, &key)), 0, 20).await?;
        if page.rows.is_empty() {
            continue;
        }
        for (i, col) in page.columns.iter().enumerate() {
            if col == &d.key {
                continue;
            }
            let Some(value) = page.rows[0].get(i).cloned().flatten() else { continue };
            values.push(SubjectValue {
                element: col.clone(),
                label: d.entry.body.fields.iter().find(|f| &f.name == col).map(|f| f.label.clone()).unwrap_or_default(),
                value,
                dataset: d.entry.code.clone(),
                version,
                authoritative: sources.contains(&(col.clone(), d.entry.code.clone())),
                conflict: false,
                disputed: objections.iter().any(|o| o.dataset == d.entry.code && &o.field == col),
            });
        }
        records.push(SubjectRecords {
            dataset: d.entry.code.clone(),
            entry_id: d.entry.entry_id,
            name: d.entry.body.name.clone(),
            org_name: orgs.get(&d.entry.org_id).cloned().unwrap_or_default(),
            version,
            columns: page.columns,
            rows: page.rows,
        });
    }
    // An element is in conflict when two datasets hold different non-empty values of it.
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for v in &values {
        if !v.value.trim().is_empty() {
            seen.entry(v.element.clone()).or_default().insert(v.value.trim().to_string());
        }
    }
    for v in &mut values {
        v.conflict = seen.get(&v.element).is_some_and(|s| s.len() > 1);
    }
    values.sort_by(|a, b| a.element.cmp(&b.element).then(b.authoritative.cmp(&a.authoritative)));
    let mut ev = p.event("subject.view", &format!("subject:{}:{}", kind.as_str(), key));
    ev.purpose = format!("datasets={}", records.len());
    state.audit.append(ev).await?;
    Ok(SubjectOut { subject: kind.as_str().into(), key, values, records, open_objections: objections })
}

/// Which subject to look up: in the body, since a citizen ID number in a URL would stay in
/// proxies' and browsers' logs.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectLookup {
    /// The citizen ID number or unified social credit code.
    pub key: String,
}

// ---------------------------------------------------------------- district return

/// How a return selects a district's rows.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnInput {
    /// The catalog entry id of the dataset.
    pub entry_id: i64,
    /// The district (region id).
    pub region_id: i64,
    /// `area_code` (division code inside the key) or `field` (a region field).
    pub method: String,
    /// The region field when `method` is `field`.
    #[serde(default)]
    pub field: String,
}

/// A return with its district and dataset names.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReturnOut {
    #[serde(flatten)]
    pub r: DistrictReturn,
    pub region_code: String,
    pub region_name: String,
    pub entry_id: i64,
    pub dataset_name: String,
}

/// The filter selecting a return's rows: the key's division code (the first six characters of
/// a citizen ID, the third to eighth of a credit code) is the district's, or the region field
/// holds the district's code or name. An expression for the lake, never SQL text.
fn return_filter(r: &DistrictReturn, entry: &EntryVersion, region: &pdp_storage::Region) -> Option<ColumnFilter> {
    match r.method {
        ReturnMethod::AreaCode => {
            let (kind, key) = subject_of(&entry.body)?;
            let matching = if kind == SubjectKind::LegalEntity { Match::PrefixAt(2) } else { Match::Prefix };
            Some(ColumnFilter { column: key.to_string(), matching, values: vec![region.code.clone()] })
        }
        ReturnMethod::Field => Some(ColumnFilter {
            column: r.field.clone(),
            matching: Match::TrimmedText,
            values: vec![region.code.clone(), region.name.clone()],
        }),
    }
}

async fn return_parts(state: &App, r: &DistrictReturn) -> Result<(EntryVersion, pdp_storage::Region), AppError> {
    let entry = state
        .storage
        .get_entry_by_code(&r.dataset)
        .await?
        .ok_or_else(|| AppError::not_found(&format!("dataset {}", r.dataset)))?;
    let entry = crate::datasets::published_entry(state, entry.entry_id).await?;
    let region = state
        .storage
        .list_regions()
        .await?
        .into_iter()
        .find(|g| g.id == r.region_id)
        .ok_or_else(|| AppError::not_found(&format!("region {}", r.region_id)))?;
    Ok((entry, region))
}

/// Counts a return's rows at the dataset's current version and notes the refresh.
pub async fn refresh_return(state: &App, r: &DistrictReturn) -> Result<(), AppError> {
    refresh_return_in(state.storage.as_ref(), lake(state)?, r).await
}

/// [`refresh_return`] for callers without the web state (the `pdp load` command).
pub async fn refresh_return_in(storage: &dyn Storage, lake: &Lake, r: &DistrictReturn) -> Result<(), AppError> {
    let Some(e) = storage.get_entry_by_code(&r.dataset).await? else { return Ok(()) };
    let Some(entry) = crate::datasets::published_entry_of(storage, e.entry_id).await else { return Ok(()) };
    let Some(region) = storage.list_regions().await?.into_iter().find(|g| g.id == r.region_id) else { return Ok(()) };
    let Some(version) = current_version(lake, &r.dataset).await? else { return Ok(()) };
    let Some(filter) = return_filter(r, &entry, &region) else { return Ok(()) };
    let rows = lake.count_rows(&r.dataset, &[filter]).await?;
    storage.set_return_refreshed(r.id, version, i64::try_from(rows).unwrap_or(i64::MAX), now_micros()).await?;
    Ok(())
}

/// Refreshes every return of a dataset after a load (R-AGG-07: a standing grant follows the
/// data). A failure is logged, not raised: the load itself is committed and recorded.
pub async fn refresh_returns_of(storage: &dyn Storage, lake: &Lake, dataset: &str) {
    let returns = match storage.list_returns().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list district returns");
            return;
        }
    };
    for r in returns.iter().filter(|r| r.dataset == dataset) {
        if let Err(e) = refresh_return_in(storage, lake, r).await {
            tracing::warn!(dataset, return_id = r.id, error = %e.message(), "district return refresh failed");
        }
    }
}

pub async fn do_create_return(state: &App, p: &Principal, input: &ReturnInput) -> Result<ReturnOut, AppError> {
    city_authority(state, p).await?;
    let entry = crate::datasets::published_entry(state, input.entry_id).await?;
    let region = state
        .storage
        .list_regions()
        .await?
        .into_iter()
        .find(|g| g.id == input.region_id)
        .ok_or_else(|| AppError::not_found(&format!("region {}", input.region_id)))?;
    if region.level != RegionLevel::District {
        return Err(AppError::bad_request(
            "return_not_district",
            "数据只回流到区县",
            "data is returned to districts only",
        ));
    }
    let method = ReturnMethod::parse(&input.method).ok_or_else(|| {
        AppError::bad_request(
            "return_bad_method",
            format!("未知的回流方式“{}”（area_code、field）", input.method),
            format!("unknown return method {:?} (area_code, field)", input.method),
        )
    })?;
    let field = match method {
        ReturnMethod::AreaCode => {
            if subject_of(&entry.body).is_none() {
                return Err(AppError::bad_request(
                    "return_no_identifier",
                    "该数据没有公民身份号码或统一社会信用代码字段，请按区划字段回流",
                    "the dataset has no citizen ID or credit code field: return it by a region field",
                ));
            }
            String::new()
        }
        ReturnMethod::Field => {
            let f = entry.body.fields.iter().find(|f| f.name == input.field).ok_or_else(|| {
                AppError::bad_request(
                    "unknown_field",
                    format!("没有字段“{}”", input.field),
                    format!("no field {:?}", input.field),
                )
            })?;
            if f.data_type != DataType::Text {
                return Err(AppError::bad_request(
                    "return_field_not_text",
                    "区划字段应为字符型",
                    "the region field must be text",
                ));
            }
            f.name.clone()
        }
    };
    let r = state
        .storage
        .create_return(
            NewDistrictReturn {
                dataset: entry.code.clone(),
                region_id: region.id,
                method,
                field,
                created_by: p.user.username.clone(),
            },
            p.event("return.create", ""),
        )
        .await?;
    refresh_return(state, &r).await?;
    let r = state.storage.get_return(r.id).await?.unwrap_or(r);
    Ok(ReturnOut {
        r,
        region_code: region.code,
        region_name: region.name,
        entry_id: entry.entry_id,
        dataset_name: entry.body.name,
    })
}

/// The returns `p` may see: all for the city authority, those of the own district otherwise.
pub async fn do_list_returns(state: &App, p: &Principal) -> Result<Vec<ReturnOut>, AppError> {
    let all = p.allows(Permission::GovernData) && review_scope(state, p).await?.all;
    let my_region = match p.org_id {
        Some(o) => state.storage.get_org(o).await?.map(|o| o.region_id),
        None => None,
    };
    let regions: BTreeMap<i64, pdp_storage::Region> =
        state.storage.list_regions().await?.into_iter().map(|r| (r.id, r)).collect();
    let mut out = Vec::new();
    for r in state.storage.list_returns().await? {
        if !all && my_region != Some(r.region_id) {
            continue;
        }
        let entry = state.storage.get_entry_by_code(&r.dataset).await?;
        let region = regions.get(&r.region_id);
        out.push(ReturnOut {
            region_code: region.map(|g| g.code.clone()).unwrap_or_default(),
            region_name: region.map(|g| g.name.clone()).unwrap_or_default(),
            entry_id: entry.as_ref().map(|e| e.entry_id).unwrap_or_default(),
            dataset_name: entry.map(|e| e.body.name).unwrap_or_default(),
            r,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------- district return demands

/// City data a district needs returned (回流需求清单, R-CAT-05).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnDemandInput {
    pub title: String,
    /// What the district needs and what for.
    pub description: String,
    /// The catalog entry the district thinks holds it, if it knows one.
    #[serde(default)]
    pub entry_id: Option<i64>,
}

/// The district `p` speaks for: its organisation's region, which must be a district.
async fn district_of(state: &App, p: &Principal) -> Result<(i64, i64), AppError> {
    let not_district = || {
        AppError::not_allowed(
            "not_district",
            "只有区县的单位可以提出回流需求",
            "only an organisation of a district lists the data it needs returned",
        )
    };
    let org = state.storage.get_org(p.org_id.ok_or_else(not_district)?).await?.ok_or_else(not_district)?;
    let region = state.storage.list_regions().await?.into_iter().find(|r| r.id == org.region_id);
    match region {
        Some(r) if r.level == RegionLevel::District => Ok((org.id, r.id)),
        _ => Err(not_district()),
    }
}

pub async fn do_create_return_demand(
    state: &App,
    p: &Principal,
    input: &ReturnDemandInput,
) -> Result<pdp_storage::ReturnDemand, AppError> {
    let (org_id, region_id) = district_of(state, p).await?;
    let (title, description) = (input.title.trim(), input.description.trim());
    if title.is_empty() || description.is_empty() || title.chars().count() > 200 || description.chars().count() > 2000 {
        return Err(AppError::bad_request(
            "return_demand_incomplete",
            "请填写需求名称和说明（名称不超过 200 字，说明不超过 2000 字）",
            "give a title and a description (title at most 200 characters, description at most 2000)",
        ));
    }
    if let Some(id) = input.entry_id {
        crate::datasets::published_entry(state, id).await?;
    }
    let new = pdp_storage::NewReturnDemand {
        region_id,
        org_id,
        requested_by: p.user.display_name.clone(),
        title: title.into(),
        description: description.into(),
        entry_id: input.entry_id,
    };
    Ok(state.storage.create_return_demand(new, p.event("return.demand.create", "")).await?)
}

/// Return demands: every district's for the city authority, the own district's for others.
pub async fn do_list_return_demands(state: &App, p: &Principal) -> Result<Vec<pdp_storage::ReturnDemand>, AppError> {
    let all = p.allows(Permission::GovernData) && review_scope(state, p).await?.all;
    let mine = if all { None } else { Some(district_of(state, p).await?.1) };
    let demands = state.storage.list_return_demands().await?;
    Ok(demands.into_iter().filter(|d| mine.is_none_or(|r| r == d.region_id)).collect())
}

/// How the authority meets a demand: the dataset and how its rows find their district.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetDemandInput {
    /// The catalog entry id of the dataset to return.
    pub entry_id: i64,
    /// `area_code` or `field`, as for a return.
    pub method: String,
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub response: String,
}

async fn open_demand(state: &App, p: &Principal, id: i64) -> Result<pdp_storage::ReturnDemand, AppError> {
    city_authority(state, p).await?;
    let d = state
        .storage
        .get_return_demand(id)
        .await?
        .ok_or_else(|| AppError::not_found(&format!("return demand {id}")))?;
    if d.status != ReturnDemandStatus::Open {
        return Err(AppError::conflict(
            "return_demand_closed",
            "该回流需求已处理",
            "the return demand has already been answered",
        ));
    }
    Ok(d)
}

/// Meets a demand with a return of the dataset to the demand's district (the existing one if
/// the dataset is already returned there).
pub async fn do_meet_return_demand(
    state: &App,
    p: &Principal,
    id: i64,
    input: &MeetDemandInput,
) -> Result<pdp_storage::ReturnDemand, AppError> {
    let d = open_demand(state, p, id).await?;
    let entry = crate::datasets::published_entry(state, input.entry_id).await?;
    let existing =
        state.storage.list_returns().await?.into_iter().find(|r| r.dataset == entry.code && r.region_id == d.region_id);
    let return_id = match existing {
        Some(r) => r.id,
        None => {
            let ret = ReturnInput {
                entry_id: input.entry_id,
                region_id: d.region_id,
                method: input.method.clone(),
                field: input.field.clone(),
            };
            do_create_return(state, p, &ret).await?.r.id
        }
    };
    let close = pdp_storage::ReturnDemandClose {
        to: ReturnDemandStatus::Met,
        return_id: Some(return_id),
        response: input.response.trim().into(),
    };
    Ok(state.storage.close_return_demand(id, close, p.event("return.demand.meet", "")).await?)
}

/// Declines a demand with the reason the district reads.
pub async fn do_decline_return_demand(
    state: &App,
    p: &Principal,
    id: i64,
    reason: &str,
) -> Result<pdp_storage::ReturnDemand, AppError> {
    open_demand(state, p, id).await?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::bad_request("reason_required", "请说明不予回流的理由", "give the reason for declining"));
    }
    let close =
        pdp_storage::ReturnDemandClose { to: ReturnDemandStatus::Declined, return_id: None, response: reason.into() };
    Ok(state.storage.close_return_demand(id, close, p.event("return.demand.decline", "")).await?)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnRowsOut {
    pub version: i64,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    pub total: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReturnRowsParams {
    pub offset: Option<u64>,
    /// At most 500.
    pub limit: Option<u64>,
}

/// A page of a returned subset, for an organisation of the return's district (audited).
pub async fn do_return_rows(
    state: &App,
    p: &Principal,
    id: i64,
    q: &ReturnRowsParams,
) -> Result<ReturnRowsOut, AppError> {
    let r = state.storage.get_return(id).await?.ok_or_else(|| AppError::not_found(&format!("return {id}")))?;
    let my_region = match p.org_id {
        Some(o) => state.storage.get_org(o).await?.map(|o| o.region_id),
        None => None,
    };
    if my_region != Some(r.region_id) {
        return Err(AppError::not_allowed(
            "not_in_district",
            "只有该区县的单位可以使用回流数据",
            "only organisations of the district may use the returned data",
        ));
    }
    let (entry, region) = return_parts(state, &r).await?;
    let filter = return_filter(&r, &entry, &region)
        .ok_or_else(|| AppError::bad_request("return_bad_method", "回流方式无效", "invalid return method"))?;
    let lake = lake(state)?;
    let version = current_version(lake, &r.dataset).await?.ok_or_else(|| AppError::from(pdp_lake::LakeError::Empty))?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let offset = crate::limits::offset(state, q.offset)?;
    let columns: Vec<String> = entry.body.fields.iter().map(|f| f.name.clone()).collect();
    let order_by = entry.body.identifier_field.clone().or_else(|| columns.first().cloned());
    let selection = Selection { columns, filters: vec![filter], order_by };
    let page = lake.select_rows(&r.dataset, &selection, None, offset, limit as usize).await?;
    let total = page.total;
    // The district's authority reads the returned rows as they are; the district's other
    // organisations get them with the catalog's masking of each field, as a grant would give
    // them: a return is not a way around masking.
    let unmasked = p.allows(Permission::ViewBaseData);
    let rows = if unmasked {
        page.rows
    } else {
        page.rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .zip(&entry.body.fields)
                    .map(|(v, f)| v.and_then(|v| pdp_domain::sharing::mask(f.mask, &v)))
                    .collect()
            })
            .collect()
    };
    let mut ev = p.event("return.read", &format!("return:{id}"));
    ev.purpose = format!("dataset={} version={version} rows={} masked={}", r.dataset, rows.len(), !unmasked);
    state.audit.append(ev).await?;
    Ok(ReturnRowsOut { version, columns: page.columns, rows, total })
}
