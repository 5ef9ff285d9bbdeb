//! Harvest sources, what each harvested record became, and the log of every run (R-OPN-07).

use async_trait::async_trait;
use pdp_audit::NewEvent;
use pdp_domain::harvest::{HarvestKind, ItemOutcome, RunStatus};
use serde::{Deserialize, Serialize};

use crate::Result;

/// A portal the authority harvests already-public data from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HarvestSource {
    pub id: i64,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "ckan"))]
    pub kind: HarvestKind,
    pub url: String,
    /// Hours between scheduled runs; 0 runs only when started by hand.
    pub schedule_hours: i64,
    pub created_by: String,
    pub created_at_micros: i64,
}

/// A source to register.
#[derive(Debug, Clone)]
pub struct NewHarvestSource {
    pub name: String,
    pub kind: HarvestKind,
    pub url: String,
    pub schedule_hours: i64,
    pub created_by: String,
}

/// What one source's dataset became here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HarvestRecord {
    pub source_id: i64,
    /// The dataset's identifier at the source.
    pub identifier: String,
    /// The catalog entry it became, and the entry version the harvest last wrote: a newer
    /// version is a local edit, which a later run does not overwrite.
    pub entry_id: i64,
    pub entry_version: i64,
    /// The release prepared from its data, if any.
    pub release_id: Option<i64>,
    /// The record's fingerprint and modification date as last harvested.
    pub fingerprint: String,
    pub modified: String,
    /// Whether the source no longer has it.
    pub withdrawn: bool,
    pub updated_at_micros: i64,
}

/// A harvest run with its counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HarvestRun {
    pub id: i64,
    pub source_id: i64,
    /// Who started it: an account, or `scheduler`.
    pub started_by: String,
    pub started_at_micros: i64,
    pub finished_at_micros: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "succeeded"))]
    pub status: RunStatus,
    pub new: i64,
    pub changed: i64,
    pub unchanged: i64,
    pub withdrawn: i64,
    pub held: i64,
    pub skipped: i64,
    pub failed: i64,
    /// Why the run failed as a whole (the source unreachable or unreadable, the time limit, a
    /// repeating page), empty otherwise.
    pub message: String,
}

/// One record's outcome in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunItem {
    pub run_id: i64,
    pub identifier: String,
    pub title: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "new"))]
    pub outcome: ItemOutcome,
    pub entry_id: Option<i64>,
    pub release_id: Option<i64>,
    pub reason: String,
}

/// Storage of harvesting. Registering a source and starting a run record their audit events in
/// the same transaction.
#[async_trait]
pub trait HarvestStore: Send + Sync {
    async fn create_harvest_source(&self, s: NewHarvestSource, audit: NewEvent) -> Result<HarvestSource>;
    async fn get_harvest_source(&self, id: i64) -> Result<Option<HarvestSource>>;
    async fn list_harvest_sources(&self) -> Result<Vec<HarvestSource>>;
    /// Starts a run of a source unless one started after `stale_before` is still running
    /// (`Conflict` then); an older unfinished run is closed as failed, its process having died.
    async fn start_harvest_run(
        &self,
        source_id: i64,
        started_by: &str,
        stale_before_micros: i64,
        audit: NewEvent,
    ) -> Result<HarvestRun>;
    /// Records a run's end: its status, counts and message.
    async fn finish_harvest_run(&self, run: &HarvestRun) -> Result<()>;
    async fn add_harvest_items(&self, items: &[RunItem]) -> Result<()>;
    /// A source's runs, newest first, at most `limit`.
    async fn list_harvest_runs(&self, source_id: i64, limit: i64) -> Result<Vec<HarvestRun>>;
    async fn get_harvest_run(&self, id: i64) -> Result<Option<HarvestRun>>;
    /// A run's items in the order they were recorded, at most `limit` from `offset`.
    async fn harvest_run_items(&self, run_id: i64, offset: i64, limit: i64) -> Result<Vec<RunItem>>;
    /// Every record of a source.
    async fn harvest_records(&self, source_id: i64) -> Result<Vec<HarvestRecord>>;
    /// The record a release was prepared for.
    async fn harvest_record_of_release(&self, release_id: i64) -> Result<Option<HarvestRecord>>;
    /// Writes a record, replacing the source's record of the same identifier.
    async fn put_harvest_record(&self, r: &HarvestRecord) -> Result<()>;
}
