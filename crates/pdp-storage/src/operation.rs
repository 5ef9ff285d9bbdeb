//! Authorized operation (授权运营, R-OPS): agreements, the operation resource catalog, scenario
//! applications, products, sales, exits, and each entity's operation log.
//!
//! Every change is written with its audit event and with a line of the operation log of the
//! entity it concerns, in one transaction. The operation log is what an operator or developer
//! did, kept per entity so that it can be read by the entity and its supervisors and pruned by
//! the retention run, except that an exited entity's log is kept until the date its exit record
//! states (R-OPS-11); the audit chain keeps everything regardless.

use async_trait::async_trait;
use pdp_audit::NewEvent;
use pdp_domain::operation::{
    AgreementKind, AgreementStatus, AgreementTerms, AnnouncementInput, ApplicationState, CriterionScore,
    EvaluationFacts, EvaluationKind, ExitGround, PointAnswer, ProductInput, ProductStatus, ReviewStage, ScenarioInput,
    SelectionStatus, SocialCheck, SocialOfferInput, SocialStatus, UseKind,
};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::Result;

/// An operation or development agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agreement {
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "operation"))]
    pub kind: AgreementKind,
    /// Who authorizes: the data authority, or the operator for a development agreement.
    pub grantor_org_id: i64,
    /// Who is authorized: the operation or the development entity.
    pub party_org_id: i64,
    /// The operation agreement a development agreement is made under.
    pub parent_id: Option<i64>,
    /// The agreement this one renews, which it supersedes once approved.
    pub renews_id: Option<i64>,
    /// The selection an operation agreement was signed after.
    pub selection_id: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "in_force"))]
    pub status: AgreementStatus,
    #[serde(with = "pdp_domain::calendar::iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub starts_on: Date,
    #[serde(with = "pdp_domain::calendar::iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub ends_on: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub terms: AgreementTerms,
    /// The deadline of an ordered rectification.
    #[serde(with = "pdp_domain::calendar::iso_date::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub rectify_by: Option<Date>,
    /// Why the status last changed.
    pub status_reason: String,
    pub created_by: String,
    pub created_at_micros: i64,
    pub updated_at_micros: i64,
}

/// An agreement to record.
#[derive(Debug, Clone)]
pub struct NewAgreement {
    pub kind: AgreementKind,
    pub grantor_org_id: i64,
    pub party_org_id: i64,
    pub parent_id: Option<i64>,
    pub renews_id: Option<i64>,
    pub selection_id: Option<i64>,
    pub status: AgreementStatus,
    pub starts_on: Date,
    pub ends_on: Date,
    pub terms: AgreementTerms,
    pub created_by: String,
}

/// A change of an agreement's status.
#[derive(Debug, Clone)]
pub struct AgreementChange {
    pub id: i64,
    /// The status it must still have (`Conflict` otherwise).
    pub from: AgreementStatus,
    pub to: AgreementStatus,
    pub reason: String,
    pub rectify_by: Option<Date>,
    /// An agreement the change supersedes (an approved renewal's predecessor).
    pub supersedes: Option<i64>,
}

/// Where a catalog entry stands in the operation resource catalog (R-OPS-03).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpCatalogStatus {
    /// The operator asks for it; the authority has not confirmed it.
    Proposed,
    /// The authority confirmed it for operation.
    Confirmed,
    /// A sector or the authority says it cannot be operated, on a stated legal basis.
    NotOperable,
}

impl OpCatalogStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Confirmed => "confirmed",
            Self::NotOperable => "not_operable",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Proposed, Self::Confirmed, Self::NotOperable].into_iter().find(|v| v.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Proposed => "待确认",
            Self::Confirmed => "已确认",
            Self::NotOperable => "不予授权运营",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Proposed => "Awaiting confirmation",
            Self::Confirmed => "Confirmed",
            Self::NotOperable => "Not operable",
        }
    }
}

/// An entry of the operation resource catalog, and whether the operator publishes it in its
/// development catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpCatalogItem {
    pub entry_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "confirmed"))]
    pub status: OpCatalogStatus,
    /// The legal basis of a `not_operable` mark, or the confirmation's note.
    pub basis: String,
    /// Published in the development catalog developers apply from.
    pub development: bool,
    pub proposed_by: String,
    pub decided_by: String,
    pub updated_at_micros: i64,
}

/// One decision on a scenario application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewStep {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "operator"))]
    pub stage: ReviewStage,
    /// The organisation that decided (the operator, a provider, the authority).
    pub org_id: i64,
    pub approved: bool,
    pub by: String,
    pub reason: String,
    pub at_micros: i64,
}

/// A scenario application (一场景一清单一审核, R-OPS-04).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScenarioApplication {
    pub id: i64,
    pub developer_org_id: i64,
    /// The development agreement it is made under.
    pub agreement_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "under_review"))]
    pub state: ApplicationState,
    /// The review stages in order, as configured when it was submitted.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub stages: Vec<ReviewStage>,
    /// The stage it waits for, while under review.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub stage: Option<ReviewStage>,
    /// The working day the present stage decides by.
    #[serde(with = "pdp_domain::calendar::iso_date::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub due_on: Option<Date>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub input: ScenarioInput,
    pub steps: Vec<ReviewStep>,
    pub submitted_by: String,
    pub created_at_micros: i64,
    pub updated_at_micros: i64,
}

/// A scenario application to record.
#[derive(Debug, Clone)]
pub struct NewScenarioApplication {
    pub developer_org_id: i64,
    pub agreement_id: i64,
    pub stages: Vec<ReviewStage>,
    pub due_on: Date,
    pub input: ScenarioInput,
    pub submitted_by: String,
}

/// One answered point of a product review, with who answered it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewedPoint {
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub answer: PointAnswer,
    pub reviewer: String,
    pub at_micros: i64,
}

/// A data product or service (R-OPS-08, R-OPS-09).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Product {
    pub id: i64,
    pub developer_org_id: i64,
    pub agreement_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "listed"))]
    pub status: ProductStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub input: ProductInput,
    /// The six points as the operator answered them.
    pub review: Vec<ReviewedPoint>,
    /// Why it was rejected or delisted.
    pub status_reason: String,
    pub submitted_by: String,
    pub listed_at_micros: Option<i64>,
    pub created_at_micros: i64,
    pub updated_at_micros: i64,
}

/// A product to record.
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub developer_org_id: i64,
    pub agreement_id: i64,
    pub input: ProductInput,
    pub submitted_by: String,
}

/// A registered sale of a product, with its split (R-OPS-09).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sale {
    pub id: i64,
    pub product_id: i64,
    pub developer_org_id: i64,
    pub buyer: String,
    pub buyer_credit_code: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "industrial"))]
    pub use_kind: UseKind,
    pub price_fen: i64,
    pub public_fen: i64,
    pub operator_fen: i64,
    pub developer_fen: i64,
    #[serde(with = "pdp_domain::calendar::iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub sold_on: Date,
    pub recorded_by: String,
    pub created_at_micros: i64,
}

/// What one exit procedure did (R-OPS-11, R-SEC-08).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExitEffects {
    pub ended_agreements: Vec<i64>,
    pub closed_applications: Vec<i64>,
    pub delisted_products: Vec<i64>,
    /// The entity's data in the operation domain, deleted: what, its size and SHA-256.
    pub destroyed: Vec<DestroyedFile>,
}

/// A file of the operation domain deleted on exit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DestroyedFile {
    /// Its path under the operation domain.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// The record of an entity's exit: the destruction record with what, when, who, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExitRecord {
    pub id: i64,
    pub org_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "violation"))]
    pub ground: ExitGround,
    pub reason: String,
    pub decided_by: String,
    #[serde(with = "pdp_domain::calendar::iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub exited_on: Date,
    /// The entity's operation log cannot be deleted before this day.
    #[serde(with = "pdp_domain::calendar::iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub logs_kept_until: Date,
    pub effects: ExitEffects,
    pub created_at_micros: i64,
}

/// An exit to record.
#[derive(Debug, Clone)]
pub struct NewExit {
    pub org_id: i64,
    pub ground: ExitGround,
    pub reason: String,
    pub decided_by: String,
    pub exited_on: Date,
    pub logs_kept_until: Date,
    pub effects: ExitEffects,
}

/// A line of an entity's operation log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpLogLine {
    pub id: i64,
    pub org_id: i64,
    pub at_micros: i64,
    pub actor: String,
    pub action: String,
    pub object: String,
}

/// An objection to a selection's published result, and the authority's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SelectionObjection {
    pub by: String,
    pub reason: String,
    pub at_micros: i64,
    pub answer: String,
    pub answered_by: String,
}

/// A selection of the operation entity (R-OPS-02): the announcement, its state, the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Selection {
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "open"))]
    pub status: SelectionStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub announcement: AnnouncementInput,
    /// The last day of the result's public notice.
    #[serde(with = "pdp_domain::calendar::iso_date::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub objection_ends_on: Option<Date>,
    pub winner_org_id: Option<i64>,
    /// Why the winner was chosen, or the selection cancelled.
    pub result_note: String,
    pub objections: Vec<SelectionObjection>,
    pub created_by: String,
    pub created_at_micros: i64,
    /// Also the version a change must still find (`Conflict` otherwise).
    pub updated_at_micros: i64,
}

/// A candidate's application with the review's scores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Candidate {
    pub id: i64,
    pub selection_id: i64,
    pub org_id: i64,
    pub applied_by: String,
    /// What the candidate states for each criterion, in the announcement's order.
    pub materials: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub scores: Vec<CriterionScore>,
    pub total: Option<i64>,
    pub qualified: Option<bool>,
    pub reviewed_by: String,
    pub created_at_micros: i64,
}

/// An evaluation of an operation or development entity (R-OPS-10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evaluation {
    pub id: i64,
    pub org_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "developer"))]
    pub kind: EvaluationKind,
    #[serde(with = "pdp_domain::calendar::iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub period_start: Date,
    #[serde(with = "pdp_domain::calendar::iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub period_end: Date,
    /// What the platform's records say over the period, and the score they give.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub facts: EvaluationFacts,
    pub facts_score: i64,
    /// The evaluator's judgement, 0 to 100, and why.
    pub judgement: i64,
    pub comments: String,
    pub total: i64,
    pub passed: bool,
    pub evaluator: String,
    pub created_at_micros: i64,
}

/// One of the operator's checks of offered social data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SocialCheckOut {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "source"))]
    pub check: SocialCheck,
    pub passed: bool,
    pub evidence: String,
    pub reviewer: String,
    pub at_micros: i64,
}

/// Social data a developer offered for fusion development (R-OPS-07), with what its load
/// found and the operator's review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpSocial {
    pub id: i64,
    pub developer_org_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "under_review"))]
    pub status: SocialStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub input: SocialOfferInput,
    /// The file it came in, for its provenance.
    pub filename: String,
    pub accepted: i64,
    pub quarantined: i64,
    /// The first refused rows' reasons.
    pub first_errors: Vec<String>,
    pub review: Vec<SocialCheckOut>,
    pub submitted_by: String,
    pub created_at_micros: i64,
    pub updated_at_micros: i64,
}

/// Storage of authorized operation. Each write names the entity whose operation log records it.
#[async_trait]
pub trait OperationStore: Send + Sync {
    async fn create_agreement(&self, a: NewAgreement, audit: NewEvent) -> Result<Agreement>;
    async fn get_agreement(&self, id: i64) -> Result<Option<Agreement>>;
    /// Every agreement, oldest first.
    async fn list_agreements(&self) -> Result<Vec<Agreement>>;
    /// Changes an agreement's status if it is still `change.from` (`Conflict` otherwise).
    async fn change_agreement(&self, change: AgreementChange, audit: NewEvent) -> Result<Agreement>;

    async fn list_op_catalog(&self) -> Result<Vec<OpCatalogItem>>;
    /// Writes an entry of the operation resource catalog, replacing the entry's earlier state.
    async fn put_op_catalog(&self, item: &OpCatalogItem, log_org: i64, audit: NewEvent) -> Result<()>;

    async fn create_op_application(&self, a: NewScenarioApplication, audit: NewEvent) -> Result<ScenarioApplication>;
    async fn get_op_application(&self, id: i64) -> Result<Option<ScenarioApplication>>;
    /// Applications, newest first: a developer's, or every one.
    async fn list_op_applications(&self, developer_org: Option<i64>) -> Result<Vec<ScenarioApplication>>;
    /// Writes an application's state, stage, due date and steps if it still has `from` and
    /// `steps_before` steps (`Conflict` otherwise: someone decided meanwhile).
    async fn update_op_application(
        &self,
        a: &ScenarioApplication,
        from: ApplicationState,
        steps_before: usize,
        audit: NewEvent,
    ) -> Result<()>;

    async fn create_product(&self, p: NewProduct, audit: NewEvent) -> Result<Product>;
    async fn get_product(&self, id: i64) -> Result<Option<Product>>;
    /// Products, newest first: a developer's, or every one.
    async fn list_products(&self, developer_org: Option<i64>) -> Result<Vec<Product>>;
    /// Writes a product's status, review and reason if it is still `from` (`Conflict` otherwise).
    async fn update_product(&self, p: &Product, from: ProductStatus, audit: NewEvent) -> Result<()>;

    async fn record_sale(&self, s: Sale, audit: NewEvent) -> Result<Sale>;
    /// Sales, oldest first: of a product, or every one.
    async fn list_sales(&self, product_id: Option<i64>) -> Result<Vec<Sale>>;

    /// Records an exit and its effects in one transaction: the agreements ended, the
    /// applications closed, the products delisted (each only if not already so).
    async fn record_exit(&self, e: NewExit, audit: NewEvent) -> Result<ExitRecord>;
    async fn list_exits(&self) -> Result<Vec<ExitRecord>>;

    /// Adds a line to an entity's operation log with its audit event (a read in the operation
    /// domain, say).
    async fn log_operation(&self, org_id: i64, audit: NewEvent) -> Result<()>;
    /// An entity's operation log, newest first, at most `limit` from `offset`.
    async fn op_log(&self, org_id: i64, offset: i64, limit: i64) -> Result<Vec<OpLogLine>>;
    async fn create_selection(&self, a: AnnouncementInput, created_by: &str, audit: NewEvent) -> Result<Selection>;
    async fn get_selection(&self, id: i64) -> Result<Option<Selection>>;
    /// Every selection, newest first.
    async fn list_selections(&self) -> Result<Vec<Selection>>;
    /// Writes a selection's status, notice end, winner, note and objections if it has not
    /// changed since it was read (`updated_at_micros`; `Conflict` otherwise).
    async fn update_selection(&self, s: &Selection, audit: NewEvent) -> Result<Selection>;
    /// Records a candidate's application; one per organisation and selection (`Conflict`).
    async fn add_candidate(&self, c: Candidate, audit: NewEvent) -> Result<Candidate>;
    async fn list_candidates(&self, selection_id: i64) -> Result<Vec<Candidate>>;
    /// Writes a candidate's scores, total and qualification.
    async fn score_candidate(&self, c: &Candidate, audit: NewEvent) -> Result<()>;

    async fn add_evaluation(&self, e: Evaluation, audit: NewEvent) -> Result<Evaluation>;
    /// Evaluations, newest first: of one entity, or every one.
    async fn list_evaluations(&self, org_id: Option<i64>) -> Result<Vec<Evaluation>>;

    /// Records an offer of social data before its file is loaded.
    async fn create_op_social(&self, o: OpSocial, audit: NewEvent) -> Result<OpSocial>;
    async fn get_op_social(&self, id: i64) -> Result<Option<OpSocial>>;
    /// Offers, newest first: a developer's, or every one.
    async fn list_op_social(&self, developer_org: Option<i64>) -> Result<Vec<OpSocial>>;
    /// Writes an offer's status, load counts and review if it is still `from` (`Conflict`
    /// otherwise).
    async fn update_op_social(&self, o: &OpSocial, from: SocialStatus, audit: NewEvent) -> Result<()>;

    /// Deletes operation log lines written before `before_micros`, except those of entities
    /// whose exit keeps them after `today`; returns how many were deleted. The event is
    /// recorded when lines were deleted, or always if `always_audit` (a run by hand).
    async fn prune_op_log(&self, before_micros: i64, today: Date, audit: NewEvent, always_audit: bool) -> Result<u64>;
}
