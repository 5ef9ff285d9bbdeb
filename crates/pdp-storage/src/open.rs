//! Records of opening public data (R-OPN): the open releases of catalog entries, their review
//! and publication.
//!
//! A release's rows live in the lake as one immutable file; this table holds where it came from
//! (entry, dataset version, route, rules), who prepared and who reviewed it, and where it stands.

use async_trait::async_trait;
use pdp_audit::NewEvent;
use pdp_domain::catalog::OpenType;
use pdp_domain::open::{ApplicationStatus, ReleaseRoute, ReleaseRules, ReleaseStatus, RequestStatus, Review};
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
    /// Lower-case hex SHA-256 of the Parquet file, as DCAT publishes it (empty for releases
    /// written before checksums were kept).
    #[serde(default)]
    pub sha256: String,
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
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
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
    pub route: Option<ReleaseRoute>,
    /// The account that prepared or submitted it.
    pub prepared_by: Option<String>,
    /// At most this many (10 000 by default, 1 000 000 at the most).
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

/// An application for on-application data (R-OPN-06), and the access it grants once approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenApplication {
    pub id: i64,
    pub entry_id: i64,
    pub dataset: String,
    /// The providing organisation, which decides.
    pub org_id: i64,
    pub applicant_id: i64,
    pub applicant_name: String,
    pub purpose: String,
    pub scenario: String,
    pub fields: Vec<String>,
    /// The last day of use.
    #[serde(with = "pdp_domain::calendar::iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub until: time::Date,
    pub security_measures: String,
    pub commercial: bool,
    /// The licence agreement's version the applicant accepted, for commercial use (R-OPN-10).
    pub licence_version: Option<String>,
    /// `submitted`, `approved`, `refused`, `under_review`, `suspended` or `revoked`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: ApplicationStatus,
    /// The provider decides by this working day.
    #[serde(with = "pdp_domain::calendar::iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub due_date: time::Date,
    pub decided_by: Option<String>,
    pub decided_at_micros: Option<i64>,
    /// The reasons of the last decision or change.
    pub reason: String,
    /// Why the applicant asked the authority to review a refusal.
    pub appeal: String,
    pub created_at_micros: i64,
    /// Reports the applicant filed on the use of the data.
    pub reports: i64,
}

#[derive(Debug, Clone)]
pub struct NewApplication {
    pub entry_id: i64,
    pub dataset: String,
    pub org_id: i64,
    pub applicant_id: i64,
    pub applicant_name: String,
    pub purpose: String,
    pub scenario: String,
    pub fields: Vec<String>,
    pub until: time::Date,
    pub security_measures: String,
    pub commercial: bool,
    pub licence_version: Option<String>,
    pub due_date: time::Date,
    /// The secret the watermark of the applicant's files is derived from; never shown.
    pub secret: Vec<u8>,
}

/// A step of an application: from a status to another, by whom and why; an appeal records the
/// applicant's reasons in `appeal` instead of `reason`.
#[derive(Debug, Clone)]
pub struct ApplicationStep {
    pub from: ApplicationStatus,
    pub to: ApplicationStatus,
    pub by: String,
    pub reason: String,
    pub appeal: bool,
}

/// An applicant's report on how granted on-application data was used (R-OPN-06: granted access
/// is reported on): the uses, their outcome, and any security incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicationReport {
    pub id: i64,
    pub application_id: i64,
    pub uses: String,
    pub outcome: String,
    /// Security incidents with the data, or an empty text when there were none.
    pub incidents: String,
    pub filed_by: String,
    pub filed_at_micros: i64,
}

#[derive(Debug, Clone)]
pub struct NewApplicationReport {
    pub application_id: i64,
    pub uses: String,
    pub outcome: String,
    pub incidents: String,
    pub filed_by: String,
}

/// Which applications to list (newest first, at most 1000): an applicant's, a provider's, or
/// every one when both are `None`.
#[derive(Debug, Clone, Default)]
pub struct ApplicationQuery {
    pub applicant_id: Option<i64>,
    pub org_id: Option<i64>,
    pub entry_id: Option<i64>,
}

/// The applications for on-application data. Every writing method records its audit event in
/// the same transaction.
#[async_trait]
pub trait ApplicationStore: Send + Sync {
    async fn create_application(&self, a: NewApplication, audit: NewEvent) -> Result<OpenApplication>;
    async fn get_application(&self, id: i64) -> Result<Option<OpenApplication>>;
    async fn list_applications(&self, q: &ApplicationQuery) -> Result<Vec<OpenApplication>>;
    /// Moves an application from `s.from` to `s.to`; one no longer in `s.from` is a `Conflict`.
    async fn step_application(&self, id: i64, s: ApplicationStep, audit: NewEvent) -> Result<OpenApplication>;
    /// The watermark secret of an application.
    async fn application_secret(&self, id: i64) -> Result<Option<Vec<u8>>>;
    /// Files an applicant's report on the use of granted data.
    async fn file_application_report(&self, r: NewApplicationReport, audit: NewEvent) -> Result<ApplicationReport>;
    /// An application's reports, oldest first.
    async fn application_reports(&self, application_id: i64) -> Result<Vec<ApplicationReport>>;
}

/// A request from the public for data not yet open (R-OPN-09): routed by the authority to a
/// provider, answered by a deadline, its status public.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataRequest {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub requester_id: i64,
    /// The requester's name as the public sees it: masked.
    pub requester_name: String,
    /// `submitted`, `routed`, `fulfilled`, `planned` or `declined`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: RequestStatus,
    /// The provider it was routed to.
    pub org_id: Option<i64>,
    /// The open dataset that meets it.
    pub entry_id: Option<i64>,
    pub answer: String,
    /// The provider answers by this working day, once routed.
    #[serde(with = "pdp_domain::calendar::iso_date::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub due_date: Option<time::Date>,
    pub created_at_micros: i64,
    pub updated_at_micros: i64,
}

/// A step of a data request: routing (with the provider and deadline) or an answer.
#[derive(Debug, Clone)]
pub struct RequestStep {
    pub from: RequestStatus,
    pub to: RequestStatus,
    pub org_id: Option<i64>,
    pub entry_id: Option<i64>,
    pub answer: String,
    pub due_date: Option<time::Date>,
}

/// A rating with a comment of an open dataset by a signed-in account; one per account and
/// dataset, replaced when given again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rating {
    pub entry_id: i64,
    pub user_id: i64,
    /// The rater's name as the public sees it: masked.
    pub user_name: String,
    /// 1 to 5.
    pub stars: i64,
    pub comment: String,
    pub at_micros: i64,
}

/// Requests for data and ratings of open data. Every writing method records its audit event in
/// the same transaction.
#[async_trait]
pub trait FeedbackStore: Send + Sync {
    async fn create_data_request(
        &self,
        title: &str,
        description: &str,
        requester_id: i64,
        requester_name: &str,
        audit: NewEvent,
    ) -> Result<DataRequest>;
    async fn get_data_request(&self, id: i64) -> Result<Option<DataRequest>>;
    /// Newest first, at most 1000.
    async fn list_data_requests(&self) -> Result<Vec<DataRequest>>;
    /// Moves a request from `s.from` to `s.to`; one no longer in `s.from` is a `Conflict`.
    async fn step_data_request(&self, id: i64, s: RequestStep, audit: NewEvent) -> Result<DataRequest>;
    async fn rate(&self, r: Rating, audit: NewEvent) -> Result<Rating>;
    /// A dataset's ratings, newest first, at most 200.
    async fn ratings(&self, entry_id: i64) -> Result<Vec<Rating>>;
}

/// Uses of one release on one day, counted by the server and added in batches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Usage {
    pub release_id: i64,
    pub entry_id: i64,
    pub org_id: i64,
    /// `YYYY-MM-DD`; empty in totals over days.
    pub day: String,
    pub views: i64,
    pub downloads: i64,
    pub api_calls: i64,
}

/// The use of open data in public. Counters, not actions: they carry no audit event (every
/// download and API call has its own).
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Adds the counts to those stored for each release and day.
    async fn add_usage(&self, counts: &[Usage]) -> Result<()>;
    /// Totals per release over every day.
    async fn usage_by_release(&self) -> Result<Vec<Usage>>;
    /// Totals per day from `since` (`YYYY-MM-DD`) on, over every release.
    async fn usage_by_day(&self, since: &str) -> Result<Vec<Usage>>;
}

/// A registered account's webhook (R-OPN-09's subscriptions): a URL the platform posts to when
/// a dataset, or any dataset of an organisation, gets a newly published release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Subscription {
    pub id: i64,
    pub user_id: i64,
    /// The dataset (catalog entry) followed, or none when an organisation is.
    pub entry_id: Option<i64>,
    /// The organisation followed, or none when a dataset is.
    pub org_id: Option<i64>,
    pub url: String,
    pub created_at_micros: i64,
    /// Deliveries tried and those that failed (no answer, or not 2xx after the retries).
    pub deliveries: i64,
    pub failures: i64,
    /// The last delivery: when, the receiver's HTTP status if it answered, and what went wrong.
    pub last_at_micros: Option<i64>,
    pub last_status: Option<i64>,
    pub last_error: String,
}

/// A subscription to create; `secret` signs its deliveries.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub user_id: i64,
    pub entry_id: Option<i64>,
    pub org_id: Option<i64>,
    pub url: String,
    pub secret: Vec<u8>,
}

/// Webhooks and the releases they have yet to announce. Creating and deleting a subscription
/// records its audit event in the same transaction; deliveries are counters, not actions.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn create_subscription(&self, s: NewSubscription, audit: NewEvent) -> Result<Subscription>;
    async fn get_subscription(&self, id: i64) -> Result<Option<Subscription>>;
    /// One account's subscriptions, or everyone's (`None`), oldest first.
    async fn list_subscriptions(&self, user_id: Option<i64>) -> Result<Vec<Subscription>>;
    async fn delete_subscription(&self, id: i64, audit: NewEvent) -> Result<()>;
    async fn subscription_secret(&self, id: i64) -> Result<Option<Vec<u8>>>;
    /// Published releases not yet announced to subscribers, oldest first, at most `limit`.
    async fn releases_to_announce(&self, limit: i64) -> Result<Vec<OpenRelease>>;
    /// Marks releases as announced.
    async fn mark_announced(&self, ids: &[i64]) -> Result<()>;
    /// Counts a delivery and keeps its outcome as the subscription's last.
    async fn record_delivery(&self, subscription_id: i64, status: Option<i64>, error: &str) -> Result<()>;
}
