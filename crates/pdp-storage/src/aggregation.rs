//! Records of the work across datasets: authoritative sources and the cross-check (R-AGG-03),
//! data return to districts (R-AGG-07) and objections to records (R-OBJ).
//!
//! The rows themselves stay in the lake; these tables hold who decided what, the findings of
//! the last cross-check, and the objection workflow with its deadline.

use async_trait::async_trait;
use pdp_audit::NewEvent;
use pdp_domain::calendar::iso_date;
use pdp_domain::subject::{ObjectionKind, ObjectionStatus, RaiserKind, ReturnDemandStatus, ReturnMethod, SubjectKind};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::Result;

/// City data a district needs returned (回流需求清单, R-CAT-05).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReturnDemand {
    pub id: i64,
    /// The district that needs the data.
    pub region_id: i64,
    pub org_id: i64,
    pub requested_by: String,
    pub title: String,
    /// What the district needs and what for.
    pub description: String,
    /// The catalog entry the district thinks holds it, if it knows one.
    pub entry_id: Option<i64>,
    /// `open`, `met` or `declined`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: ReturnDemandStatus,
    /// The return that meets it.
    pub return_id: Option<i64>,
    /// The authority's answer.
    pub response: String,
    pub created_at_micros: i64,
    pub updated_at_micros: i64,
}

#[derive(Debug, Clone)]
pub struct NewReturnDemand {
    pub region_id: i64,
    pub org_id: i64,
    pub requested_by: String,
    pub title: String,
    pub description: String,
    pub entry_id: Option<i64>,
}

/// The authority's answer to an open demand.
#[derive(Debug, Clone)]
pub struct ReturnDemandClose {
    /// `met` or `declined`.
    pub to: ReturnDemandStatus,
    pub return_id: Option<i64>,
    pub response: String,
}

/// The dataset the authority names as the one source of a data element (一数一源).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthoritativeSource {
    /// `person` or `legal_entity`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub subject: SubjectKind,
    /// The element: a field name of the city's data element standard.
    pub element: String,
    /// The authoritative dataset (catalog entry code).
    pub dataset: String,
    pub note: String,
    pub assigned_by: String,
    pub assigned_at_micros: i64,
}

/// One run of the cross-check job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CrossCheckRun {
    pub id: i64,
    pub actor: String,
    pub started_at_micros: i64,
    pub finished_at_micros: i64,
    /// Pairs of (authoritative dataset, other dataset) compared.
    pub pairs: i64,
    /// Keys found in both datasets of a pair, summed over the pairs.
    pub compared: i64,
    /// Conflicting values found (all of them, even beyond those kept).
    pub conflicts: i64,
}

#[derive(Debug, Clone)]
pub struct NewCrossCheckRun {
    pub actor: String,
    pub started_at_micros: i64,
    pub finished_at_micros: i64,
    pub pairs: i64,
    pub compared: i64,
    pub conflicts: i64,
}

/// Two datasets disagree about one element of one subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conflict {
    pub run_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub subject: SubjectKind,
    pub element: String,
    /// The citizen ID or credit code.
    pub key: String,
    pub source_dataset: String,
    pub source_version: i64,
    pub source_value: String,
    pub other_dataset: String,
    pub other_version: i64,
    pub other_value: String,
}

/// A standing return of a dataset's rows about one district to that district (数据回流).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DistrictReturn {
    pub id: i64,
    pub dataset: String,
    pub region_id: i64,
    /// `area_code`: the division code inside the key (citizen ID or credit code); `field`: a
    /// field holding the division code or the district's name.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub method: ReturnMethod,
    /// The region field when `method` is `field`.
    pub field: String,
    pub created_by: String,
    pub created_at_micros: i64,
    /// The dataset version the return was last refreshed at, and its rows then.
    pub refreshed_version: Option<i64>,
    pub refreshed_rows: Option<i64>,
    pub refreshed_at_micros: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewDistrictReturn {
    pub dataset: String,
    pub region_id: i64,
    pub method: ReturnMethod,
    pub field: String,
    pub created_by: String,
}

/// A dataset's fields that a theme database takes, joined by the dataset's key field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThemeMember {
    pub entry_id: i64,
    pub dataset: String,
    /// The member's key field (its identifier of the theme's subject kind).
    pub key: String,
    pub fields: Vec<String>,
}

/// A theme database (主题库/专题库, R-AGG-06): a catalog entry and dataset of its own, rebuilt
/// from its members' current versions whenever one of them loads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Theme {
    pub id: i64,
    /// The theme's own catalog entry and dataset.
    pub entry_id: i64,
    pub dataset: String,
    /// The kind of subject it is keyed by.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub subject: SubjectKind,
    pub members: Vec<ThemeMember>,
    pub created_by: String,
    pub created_at_micros: i64,
    /// The theme's own version after its last rebuild, and its rows then.
    pub refreshed_version: Option<i64>,
    pub refreshed_rows: Option<i64>,
    pub refreshed_at_micros: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewTheme {
    pub entry_id: i64,
    pub dataset: String,
    pub subject: SubjectKind,
    pub members: Vec<ThemeMember>,
    pub created_by: String,
}

/// An objection to one value of one record (R-OBJ).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Objection {
    pub id: i64,
    pub dataset: String,
    pub entry_id: i64,
    /// The provider, who must answer.
    pub org_id: i64,
    /// The record's key (citizen ID, credit code or other key value).
    pub record_key: String,
    pub field: String,
    /// The value served when the objection was raised.
    pub current_value: String,
    pub claimed_value: String,
    pub reason: String,
    pub raised_by: i64,
    pub raised_by_name: String,
    /// `subject` (the person or entity the record is about) or `user` (a data user).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub raiser_kind: RaiserKind,
    /// `wrong` (a value is wrong), `missing` (data about the subject is missing) or
    /// `infringing` (data infringes the subject's rights).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: ObjectionKind,
    /// Whether the record existed when the objection was raised. Never sent: the use cases
    /// show it to the provider and the authority only, so an objection is no oracle of whether
    /// someone else's record exists.
    #[serde(skip)]
    pub record_found: bool,
    /// `open`, `confirmed` or `corrected`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: ObjectionStatus,
    pub raised_at_micros: i64,
    /// The last day of the provider's 10 working days, `YYYY-MM-DD`.
    #[serde(with = "iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub due_date: Date,
    /// When the objection passed its due date unanswered and went to the authority.
    pub escalated_at_micros: Option<i64>,
    pub response: String,
    pub answered_by: Option<i64>,
    pub answered_at_micros: Option<i64>,
    /// The dataset version that carries the correction.
    pub correction_version: Option<i64>,
    pub evidence_name: String,
    pub evidence_size: i64,
}

#[derive(Debug, Clone)]
pub struct NewObjection {
    pub dataset: String,
    pub entry_id: i64,
    pub org_id: i64,
    pub record_key: String,
    pub field: String,
    pub current_value: String,
    pub claimed_value: String,
    pub reason: String,
    pub raised_by: i64,
    pub raised_by_name: String,
    pub raiser_kind: RaiserKind,
    pub kind: ObjectionKind,
    pub record_found: bool,
    pub due_date: Date,
}

/// Which objections to list; every filter given must hold.
#[derive(Debug, Clone, Default)]
pub struct ObjectionQuery {
    pub org_id: Option<i64>,
    pub raised_by: Option<i64>,
    pub dataset: Option<String>,
    pub open_only: bool,
    pub escalated_only: bool,
}

#[async_trait]
pub trait AggregationStore {
    /// Names (or replaces) the authoritative source of an element.
    async fn set_source(&self, s: AuthoritativeSource, audit: NewEvent) -> Result<()>;
    /// Removes an assignment; `false` if there was none.
    async fn remove_source(&self, subject: SubjectKind, element: &str, audit: NewEvent) -> Result<bool>;
    async fn list_sources(&self) -> Result<Vec<AuthoritativeSource>>;

    /// Stores a finished cross-check with the conflicts it keeps.
    async fn record_crosscheck(
        &self,
        run: NewCrossCheckRun,
        conflicts: Vec<Conflict>,
        audit: NewEvent,
    ) -> Result<CrossCheckRun>;
    async fn latest_crosscheck(&self) -> Result<Option<CrossCheckRun>>;
    async fn list_conflicts(
        &self,
        run_id: i64,
        element: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Conflict>>;

    async fn create_return_demand(&self, d: NewReturnDemand, audit: NewEvent) -> Result<ReturnDemand>;
    async fn list_return_demands(&self) -> Result<Vec<ReturnDemand>>;
    async fn get_return_demand(&self, id: i64) -> Result<Option<ReturnDemand>>;
    /// Moves a demand out of `open`; `Conflict` if it is no longer open.
    async fn close_return_demand(&self, id: i64, c: ReturnDemandClose, audit: NewEvent) -> Result<ReturnDemand>;

    async fn create_return(&self, r: NewDistrictReturn, audit: NewEvent) -> Result<DistrictReturn>;
    async fn list_returns(&self) -> Result<Vec<DistrictReturn>>;
    async fn get_return(&self, id: i64) -> Result<Option<DistrictReturn>>;
    /// Notes that a return was refreshed with the dataset's version `version`.
    async fn set_return_refreshed(&self, id: i64, version: i64, rows: i64, at_micros: i64) -> Result<()>;

    async fn create_theme(&self, t: NewTheme, audit: NewEvent) -> Result<Theme>;
    async fn list_themes(&self) -> Result<Vec<Theme>>;
    /// Notes that a theme was rebuilt as its version `version`; an older version never
    /// overwrites a newer one.
    async fn set_theme_refreshed(&self, id: i64, version: i64, rows: i64, at_micros: i64) -> Result<()>;

    async fn create_objection(&self, o: NewObjection, audit: NewEvent) -> Result<Objection>;
    async fn get_objection(&self, id: i64) -> Result<Option<Objection>>;
    async fn list_objections(&self, q: &ObjectionQuery) -> Result<Vec<Objection>>;
    /// Closes an open objection as `confirmed` or `corrected` (with the version carrying the
    /// correction). Fails with `Conflict` if it is no longer open.
    async fn answer_objection(
        &self,
        id: i64,
        status: ObjectionStatus,
        response: &str,
        by: i64,
        correction_version: Option<i64>,
        audit: NewEvent,
    ) -> Result<Objection>;
    /// Marks every open objection whose due date is before `today` and that is
    /// not escalated yet as escalated, with one audit event each. Returns those objections.
    async fn escalate_objections(&self, today: Date, at_micros: i64) -> Result<Vec<Objection>>;
    async fn set_objection_evidence(&self, id: i64, name: &str, content: &[u8], audit: NewEvent) -> Result<()>;
    async fn get_objection_evidence(&self, id: i64) -> Result<Option<(String, Vec<u8>)>>;
}
