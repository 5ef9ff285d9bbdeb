//! Records of opening public data (R-OPN): the open releases of catalog entries, their review
//! and publication.
//!
//! A release's rows live in the lake as one immutable file; this table holds where it came from
//! (entry, dataset version, route, rules), who prepared and who reviewed it, and where it stands.

use async_trait::async_trait;
use pdp_audit::NewEvent;
use pdp_domain::catalog::OpenType;
use pdp_domain::open::{ReleaseRoute, ReleaseRules, ReleaseStatus, Review};
use serde::{Deserialize, Serialize};

use crate::Result;

/// An open release: a reviewed, masked copy of one version of a dataset that the portal serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenRelease {
    pub id: i64,
    pub entry_id: i64,
    pub dataset: String,
    /// The providing organisation.
    pub org_id: i64,
    /// `upload`, `push`, `harvest` or `social`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub route: ReleaseRoute,
    /// The dataset version the release was made from.
    pub source_version: i64,
    /// Fields with their masking, row filters, formats, declassification and automatic push.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub rules: ReleaseRules,
    /// What the rules depend on in the entry (`pdp_domain::open::schema_digest`).
    pub schema_digest: String,
    /// The entry's open type when the release was prepared: `unconditional` or `on_application`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub open_type: OpenType,
    /// `pending_review`, `published`, `returned` or `withdrawn`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: ReleaseStatus,
    pub rows: i64,
    pub bytes: i64,
    /// The release's file, relative to the lake's `_open/` directory.
    #[serde(skip_serializing)]
    pub file: String,
    pub prepared_by: String,
    pub prepared_at_micros: i64,
    pub reviewed_by: Option<String>,
    pub reviewed_at_micros: Option<i64>,
    /// The checklist and reasons of the review.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub review: Option<Review>,
    pub published_at_micros: Option<i64>,
    /// The release this one follows, for a pushed version.
    pub previous_id: Option<i64>,
    /// Where a harvested release came from, or how a pushed one was decided.
    pub note: String,
}

#[derive(Debug, Clone)]
pub struct NewRelease {
    pub entry_id: i64,
    pub dataset: String,
    pub org_id: i64,
    pub route: ReleaseRoute,
    pub source_version: i64,
    pub rules: ReleaseRules,
    pub schema_digest: String,
    pub open_type: OpenType,
    pub rows: i64,
    pub bytes: i64,
    pub file: String,
    pub prepared_by: String,
    pub previous_id: Option<i64>,
    pub note: String,
    /// A pushed release with the schema of its reviewed predecessor is published at once.
    pub publish_now: bool,
}

/// Which releases to list; every set criterion must match. Newest first.
#[derive(Debug, Clone, Default)]
pub struct ReleaseQuery {
    pub entry_id: Option<i64>,
    pub dataset: Option<String>,
    pub org_id: Option<i64>,
    pub status: Option<ReleaseStatus>,
    /// At most this many (default and maximum 10 000).
    pub limit: Option<i64>,
}

/// A decision on a release.
#[derive(Debug, Clone)]
pub struct ReleaseDecision {
    pub from: ReleaseStatus,
    pub to: ReleaseStatus,
    pub by: String,
    pub review: Option<Review>,
    /// When the decision took effect, if not now: a harvested release keeps the date it was
    /// first published elsewhere.
    pub at_micros: Option<i64>,
}

/// The open releases. Every writing method records its audit event in the same transaction.
#[async_trait]
pub trait OpenStore: Send + Sync {
    async fn create_release(&self, r: NewRelease, audit: NewEvent) -> Result<OpenRelease>;
    async fn get_release(&self, id: i64) -> Result<Option<OpenRelease>>;
    async fn list_releases(&self, q: &ReleaseQuery) -> Result<Vec<OpenRelease>>;
    /// Moves a release from `d.from` to `d.to`, noting its reviewer and review; a release no
    /// longer in `d.from` is a `Conflict`. Publishing sets the publication time.
    async fn decide_release(&self, id: i64, d: ReleaseDecision, audit: NewEvent) -> Result<OpenRelease>;
}
