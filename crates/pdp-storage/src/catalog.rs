//! Records and the storage trait of the resource catalog: entries with their versions, change
//! events with their update deadlines, the information system registry, and the holiday tables
//! the authority added to the working-day calendar those deadlines are counted in.
//!
//! An entry is a stable code and provider; what it says lives in numbered versions, each with
//! its workflow state. At most one version is published (in force) at a time, and at most one
//! newer version is being worked on. The rules deciding which transitions are allowed live in
//! `pdp_domain::catalog`; the store only applies them atomically (compare-and-set on the state)
//! together with the audit event.

use async_trait::async_trait;
use pdp_audit::NewEvent;
use pdp_domain::calendar::iso_date;
use pdp_domain::catalog::{ChangeKind, EntryBody, SystemStatus, VersionStatus};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::Result;

/// One version of a catalog entry, with the entry's code and provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryVersion {
    pub entry_id: i64,
    /// The resource code, e.g. `101000/000001`.
    pub code: String,
    /// The providing organisation.
    pub org_id: i64,
    pub version: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "published"))]
    pub status: VersionStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub body: EntryBody,
    /// The version in force, if any version was ever approved.
    pub published_version: Option<i64>,
    /// The earliest open update deadline of the entry (`YYYY-MM-DD`), from a change event.
    #[serde(with = "iso_date::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub update_due: Option<Date>,
    pub author_id: Option<i64>,
    pub created_at_micros: i64,
    pub updated_at_micros: i64,
    pub submitted_at_micros: Option<i64>,
    pub reviewer_id: Option<i64>,
    pub reviewed_at_micros: Option<i64>,
    /// The reviewer's reason, required when rejecting.
    pub review_reason: String,
}

/// Which version of each entry a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntryView {
    /// The newest version, whatever its state: what the provider is working on.
    #[default]
    Latest,
    /// The version in force; entries never approved are left out. The master catalog.
    Published,
}

/// Filters of a catalog listing; `None` means any.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EntryQuery {
    pub view: EntryView,
    pub org_id: Option<i64>,
    /// Providers in this region (the district catalog; the city sees every region).
    pub region_id: Option<i64>,
    pub status: Option<VersionStatus>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// A change of an organisation's legal basis or functions (R-CAT-04).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeEvent {
    pub id: i64,
    pub org_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "legal_basis"))]
    pub kind: ChangeKind,
    pub description: String,
    /// The day the change took effect, `YYYY-MM-DD`.
    #[serde(with = "iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub event_date: Date,
    /// The 15th working day after it.
    #[serde(with = "iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub due_date: Date,
    pub created_by: Option<i64>,
    pub created_at_micros: i64,
    /// How many published entries it obliged to be updated.
    pub affected: i64,
}

#[derive(Debug, Clone)]
pub struct NewChangeEvent {
    pub org_id: i64,
    pub kind: ChangeKind,
    pub description: String,
    pub event_date: Date,
    pub due_date: Date,
    pub created_by: Option<i64>,
}

/// The update duty of one entry from one change event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deadline {
    pub entry_id: i64,
    pub code: String,
    pub name: String,
    pub org_id: i64,
    pub event_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "functions"))]
    pub kind: ChangeKind,
    pub description: String,
    #[serde(with = "iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub due_date: Date,
    /// When an updated version was submitted, which meets the duty.
    pub met_at_micros: Option<i64>,
}

/// Filters for deadlines.
#[derive(Debug, Clone, Default)]
pub struct DeadlineQuery {
    pub org_id: Option<i64>,
    pub region_id: Option<i64>,
    /// Only duties not yet met.
    pub open_only: bool,
}

/// One item of an information system's data list, linked to the entry that catalogs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SystemDataItem {
    pub name: String,
    pub entry_id: Option<i64>,
}

/// An information system built with public funds (R-CAT-08).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InfoSystem {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    /// The department or person responsible for the system.
    pub owner: String,
    /// Funding source, e.g. 财政资金 and the project number.
    pub funding: String,
    /// `planned`, `building`, `in_service` or `retired`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: SystemStatus,
    pub items: Vec<SystemDataItem>,
    pub created_at_micros: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewInfoSystem {
    #[serde(default)]
    pub org_id: i64,
    pub name: String,
    pub owner: String,
    pub funding: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: SystemStatus,
    #[serde(default)]
    pub items: Vec<SystemDataItem>,
}

/// A year's holiday table added on the platform (the shipped ones live in the binary).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredHolidayTable {
    pub year: i64,
    /// The notice the table comes from, e.g. 国务院办公厅关于2027年部分节假日安排的通知.
    pub source: String,
    /// Holidays as dates or inclusive ranges (`2027-10-01..2027-10-07`).
    pub holidays: Vec<String>,
    /// Make-up working days (调休).
    pub workdays: Vec<String>,
    pub added_by: String,
    pub added_at_micros: i64,
}

/// A request to withdraw a published entry (R-CAT-06).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Withdrawal {
    pub id: i64,
    pub entry_id: i64,
    /// The published version to withdraw.
    pub version: i64,
    pub reason: String,
    pub requested_by: Option<i64>,
    pub requested_at_micros: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: pdp_domain::catalog::WithdrawalStatus,
    pub decided_by: Option<i64>,
    pub decided_at_micros: Option<i64>,
    pub decision_reason: String,
}

/// What an approved withdrawal did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WithdrawalEffects {
    /// Grants on the entry that were active or suspended, now revoked.
    pub revoked_grants: Vec<i64>,
    /// Requests for the entry still open, now refused.
    pub refused_requests: Vec<i64>,
}

/// What a statutory deadline belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// A pending share request: the provider's answer (10 working days).
    ShareRequest,
    /// An open objection: the provider's answer (10 working days).
    Objection,
    /// A change of legal basis or functions: its organisation's catalog update (15 working days).
    CatalogChange,
}

/// When a running deadline started counting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadlineStart {
    /// A moment (microseconds since the epoch), whose date in the platform's time zone counts.
    At(i64),
    /// A date given by the user, such as a change event's date.
    On(Date),
}

/// A deadline still running that a new holiday table may move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningDeadline {
    pub kind: DeadlineKind,
    pub id: i64,
    pub start: DeadlineStart,
    pub due_date: Date,
}

/// A running deadline counted again in a new holiday table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadlineMove {
    pub kind: DeadlineKind,
    pub id: i64,
    #[serde(with = "iso_date")]
    pub from: Date,
    #[serde(with = "iso_date")]
    pub to: Date,
}

/// Storage of the catalog. Every writing method records its audit event in the same transaction.
#[async_trait]
pub trait CatalogStore: Send + Sync {
    /// Creates an entry with a draft version 1 and assigns the next code of its classification.
    async fn create_entry(
        &self,
        org_id: i64,
        body: &EntryBody,
        author_id: Option<i64>,
        audit: NewEvent,
    ) -> Result<EntryVersion>;
    /// Saves a new body: in place when the newest version is a draft or rejected (it becomes a
    /// draft again), as a new draft version when the newest is published, and `Conflict` while a
    /// version is under review.
    async fn save_entry(
        &self,
        entry_id: i64,
        body: &EntryBody,
        author_id: Option<i64>,
        audit: NewEvent,
    ) -> Result<EntryVersion>;
    /// Writes a whole import in one transaction: each item saves over the given entry (which
    /// must belong to `org_id`) or creates a new one. Either every item is written or none.
    async fn import_entries(
        &self,
        org_id: i64,
        items: &[(Option<i64>, EntryBody)],
        author_id: Option<i64>,
        audit: NewEvent,
    ) -> Result<Vec<EntryVersion>>;
    /// Moves a version from `from` to `to` if it is still in `from` (`Conflict` otherwise).
    /// Publishing supersedes the previously published version; submitting meets open update
    /// deadlines of the entry.
    #[allow(clippy::too_many_arguments)]
    async fn transition_entry(
        &self,
        entry_id: i64,
        version: i64,
        from: VersionStatus,
        to: VersionStatus,
        actor_id: Option<i64>,
        reason: &str,
        audit: NewEvent,
    ) -> Result<EntryVersion>;
    /// Deletes an entry that was never published (R-CAT-06).
    async fn delete_entry(&self, entry_id: i64, audit: NewEvent) -> Result<()>;
    /// The newest version of an entry.
    async fn get_entry(&self, entry_id: i64) -> Result<Option<EntryVersion>>;
    async fn get_entry_by_code(&self, code: &str) -> Result<Option<EntryVersion>>;
    /// Every version of an entry, oldest first.
    async fn entry_history(&self, entry_id: i64) -> Result<Vec<EntryVersion>>;
    /// Entries in code order.
    async fn list_entries(&self, q: &EntryQuery) -> Result<Vec<EntryVersion>>;

    /// Records a change event and gives every published entry of the organisation its deadline.
    async fn record_change(&self, e: NewChangeEvent, audit: NewEvent) -> Result<ChangeEvent>;
    async fn list_changes(&self, org_id: Option<i64>) -> Result<Vec<ChangeEvent>>;
    async fn list_deadlines(&self, q: &DeadlineQuery) -> Result<Vec<Deadline>>;

    async fn create_system(&self, s: NewInfoSystem, audit: NewEvent) -> Result<InfoSystem>;
    async fn list_systems(&self, org_id: Option<i64>) -> Result<Vec<InfoSystem>>;

    /// Stores a year's holiday table, replacing an earlier one of the same year, and moves the
    /// running deadlines counted again in it, all in one transaction; `moves_audit` is recorded
    /// only when something moved.
    async fn put_holiday_table(
        &self,
        t: &StoredHolidayTable,
        moves: &[DeadlineMove],
        audit: NewEvent,
        moves_audit: NewEvent,
    ) -> Result<()>;
    /// Records a request to withdraw the published `version` of an entry; `Conflict` when one
    /// is already pending for the entry.
    async fn request_withdrawal(
        &self,
        entry_id: i64,
        version: i64,
        reason: &str,
        requested_by: Option<i64>,
        audit: NewEvent,
    ) -> Result<Withdrawal>;
    async fn get_withdrawal(&self, id: i64) -> Result<Option<Withdrawal>>;
    /// Withdrawal requests, newest first.
    async fn list_withdrawals(&self) -> Result<Vec<Withdrawal>>;
    /// Decides a pending request (`Conflict` if it is no longer pending). Approval, in the same
    /// transaction: the published version becomes `withdrawn` and the entry has no published
    /// version; every active or suspended grant on the entry is revoked and every open request
    /// for it refused, each with the reason.
    async fn decide_withdrawal(
        &self,
        id: i64,
        approve: bool,
        decided_by: Option<i64>,
        reason: &str,
        audit: NewEvent,
    ) -> Result<(Withdrawal, WithdrawalEffects)>;
    /// The deadlines still running and due on or after `from`: pending share
    /// requests, open objections and change events' update deadlines. These are the ones a
    /// holiday table for `from`'s year or later can move.
    async fn running_deadlines(&self, from: Date) -> Result<Vec<RunningDeadline>>;
    /// The added holiday tables, by year.
    async fn list_holiday_tables(&self) -> Result<Vec<StoredHolidayTable>>;
}
