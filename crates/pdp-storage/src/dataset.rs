//! Records of the data lake kept in the metadata database (R-AGG-04, R-AGG-05).
//!
//! The lake's Delta log is the truth about what was loaded; each row of `dataset_loads` is a
//! projection of one commit's note, written right after the commit and re-derived from the log
//! at start-up if the process died in between. Queries over many datasets (dashboards, overdue
//! warnings, quality history) read this projection instead of opening every table.

use async_trait::async_trait;
use pdp_audit::NewEvent;
use pdp_domain::dataset::{CommitKind, LoadMode, QualityTaskKind, QualityTaskStatus};
use serde::{Deserialize, Serialize};

use crate::Result;

/// One committed version of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetLoad {
    /// The catalog entry's code, which names the dataset.
    pub dataset: String,
    pub version: i64,
    pub entry_id: i64,
    /// The providing organisation.
    pub org_id: i64,
    /// `load` or `correction`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: CommitKind,
    /// `full`, `upsert` or `append`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub mode: LoadMode,
    pub input_rows: i64,
    pub accepted: i64,
    pub quarantined: i64,
    pub rows_after: i64,
    pub completeness: f64,
    pub validity: f64,
    pub uniqueness: f64,
    pub consistency: f64,
    pub actor: String,
    pub source: String,
    pub loaded_at_micros: i64,
}

/// A data quality problem handed to the provider (R-AGG-04).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QualityTask {
    pub id: i64,
    pub dataset: String,
    pub version: i64,
    pub org_id: i64,
    /// `quarantine` (rows refused) or `low_score`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: QualityTaskKind,
    pub description: String,
    /// `open`, `confirmed` (the provider confirms the data is right as it is) or `corrected`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: QualityTaskStatus,
    pub response: String,
    pub created_at_micros: i64,
    pub resolved_by: Option<i64>,
    pub resolved_at_micros: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewQualityTask {
    pub kind: QualityTaskKind,
    pub description: String,
}

#[async_trait]
pub trait DatasetStore {
    /// Records a committed load with the quality tasks it raised, unless that version is
    /// already recorded (then nothing changes and `false` is returned).
    async fn record_load(&self, load: DatasetLoad, tasks: Vec<NewQualityTask>, audit: NewEvent) -> Result<bool>;
    /// Loads of one dataset, oldest first.
    async fn list_loads(&self, dataset: &str) -> Result<Vec<DatasetLoad>>;
    /// The newest load of every dataset.
    async fn latest_loads(&self) -> Result<Vec<DatasetLoad>>;
    async fn list_quality_tasks(&self, org_id: Option<i64>, open_only: bool) -> Result<Vec<QualityTask>>;
    async fn get_quality_task(&self, id: i64) -> Result<Option<QualityTask>>;
    /// Closes an open task as `confirmed` or `corrected` with the provider's response.
    async fn resolve_quality_task(
        &self,
        id: i64,
        status: QualityTaskStatus,
        response: &str,
        by: i64,
        audit: NewEvent,
    ) -> Result<QualityTask>;
}
