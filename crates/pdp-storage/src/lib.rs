//! The metadata storage trait of PDP and the records it stores.
//!
//! The server codes against [`Storage`] only; `pdp-storage-sqlite` and `pdp-storage-postgres`
//! implement it, each with its own migrations. This crate knows no SQL dialect. Every method that
//! changes state takes the [`NewEvent`] that records the change and must write both in one
//! transaction: if the audit event cannot be written, the change does not happen either.

use async_trait::async_trait;
use pdp_audit::{AuditEvent, ChainHead, Checkpoint, NewEvent};
use pdp_domain::org::{OrgKind, RegionLevel};
use pdp_domain::roles::Role;
use serde::{Deserialize, Serialize};

pub mod aggregation;
pub mod catalog;
pub mod dataset;
pub mod harvest;
pub mod open;
pub mod operation;
pub mod sharing;
pub use aggregation::*;
pub use catalog::*;
pub use dataset::*;
pub use harvest::*;
pub use open::*;
pub use operation::*;
pub use sharing::*;

/// A storage failure. `Conflict` and `NotFound` are caused by the request; `Backend` is not.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not found: {0}")]
    NotFound(String),
    /// A uniqueness rule was violated, e.g. a second account with the same name.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("storage backend error: {0}")]
    Backend(String),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// A node of the region tree (city, districts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Region {
    pub id: i64,
    /// The six-digit administrative division code (GB/T 2260).
    pub code: String,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "district"))]
    pub level: RegionLevel,
    pub parent_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewRegion {
    pub code: String,
    pub name: String,
    pub level: RegionLevel,
    pub parent_id: Option<i64>,
}

/// An organisation: a department, enterprise or entity that takes part in the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organisation {
    pub id: i64,
    pub name: String,
    /// The unified social credit code, validated on entry.
    pub credit_code: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "government_department"))]
    pub kind: OrgKind,
    pub region_id: i64,
    pub parent_id: Option<i64>,
    pub created_at_micros: i64,
}

#[derive(Debug, Clone)]
pub struct NewOrganisation {
    pub name: String,
    pub credit_code: String,
    pub kind: OrgKind,
    pub region_id: i64,
    pub parent_id: Option<i64>,
}

/// A named data officer (数据专员) of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataOfficer {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub title: String,
    pub phone: String,
    pub email: String,
    /// The platform account of the officer, when there is one.
    pub user_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewDataOfficer {
    pub org_id: i64,
    pub name: String,
    pub title: String,
    pub phone: String,
    pub email: String,
    pub user_id: Option<i64>,
}

/// An account. The password hash never leaves the server (it is skipped when serialised).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    #[serde(skip_serializing, default)]
    pub password_hash: String,
    pub org_id: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, example = json!(["org_data_officer"])))]
    pub roles: Vec<Role>,
    pub disabled: bool,
    pub created_at_micros: i64,
    /// Someone else chose the password (an administrator creating the account): the account
    /// chooses its own before doing anything else.
    #[serde(default)]
    pub must_change_password: bool,
    /// The citizen ID or credit code the account's holder proved to be theirs (R-OBJ-01),
    /// shown masked: `{"kind": "person", "masked": "350102********0012"}`.
    #[serde(default, skip_deserializing)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub subject: Option<pdp_domain::subject::BoundSubject>,
    /// The citizen ID or credit code a public account registered with, shown masked; not
    /// proved, so it binds nothing (objections need [`User::subject`]).
    #[serde(default, skip_deserializing)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub claimed: Option<pdp_domain::subject::BoundSubject>,
    /// Whether an identity provider confirmed the holder's real name (实名认证).
    #[serde(default)]
    pub real_name: bool,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub org_id: Option<i64>,
    pub roles: Vec<Role>,
    pub must_change_password: bool,
    /// The identifier a public account registers with.
    pub claimed: Option<pdp_domain::subject::BoundSubject>,
}

/// A server-side login session; the browser holds only the token, the database its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at_micros: i64,
    pub expires_at_micros: i64,
}

/// An API key for an application. Only the SHA-256 of the secret is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub user_id: i64,
    pub org_id: Option<i64>,
    #[serde(skip_serializing, default)]
    pub secret_hash: String,
    pub created_at_micros: i64,
    pub expires_at_micros: i64,
    pub revoked_at_micros: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    pub user_id: i64,
    pub org_id: Option<i64>,
    pub secret_hash: String,
    pub expires_at_micros: i64,
}

/// Filters for the auditor's search. Empty strings and `None` mean "any".
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
pub struct AuditQuery {
    /// Substring of the actor name.
    pub actor: Option<String>,
    /// Prefix of the action, e.g. `auth.` or `org.create`.
    pub action: Option<String>,
    /// Substring of the object.
    pub object: Option<String>,
    /// `success`, `denied` or `failure`.
    pub outcome: Option<String>,
    pub org_id: Option<i64>,
    /// Inclusive lower bound, microseconds since the epoch.
    pub from_micros: Option<i64>,
    /// Exclusive upper bound, microseconds since the epoch.
    pub to_micros: Option<i64>,
    /// Only events with a sequence number below this (for paging backwards).
    pub before_seq: Option<i64>,
    /// At most this many events (default 100, at most 10 000).
    pub limit: Option<i64>,
}

impl AuditQuery {
    pub fn effective_limit(&self) -> i64 {
        self.limit.unwrap_or(100).clamp(1, 10_000)
    }
}

/// An account's password and hold, and its sessions' expiry. Every writing method records its
/// audit event in the same transaction.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Replaces an account's password hash and whether it must be changed at the next login.
    async fn set_password(&self, user_id: i64, hash: &str, must_change: bool, audit: NewEvent) -> Result<()>;
    /// Disables or enables an account; disabling ends its sessions in the same transaction.
    async fn set_disabled(&self, user_id: i64, disabled: bool, audit: NewEvent) -> Result<()>;
    /// Ends every session of an account; returns how many there were.
    async fn end_sessions(&self, user_id: i64, audit: NewEvent) -> Result<u64>;
    /// Moves a session's expiry (its idle timeout slides with use). Not audited: it is no action.
    async fn touch_session(&self, token_hash: &str, expires_at_micros: i64) -> Result<()>;
}

/// The metadata store. All times are microseconds since the Unix epoch, UTC.
#[async_trait]
pub trait Storage:
    CatalogStore
    + DatasetStore
    + AggregationStore
    + ShareStore
    + OpenStore
    + ApplicationStore
    + FeedbackStore
    + UsageStore
    + WebhookStore
    + HarvestStore
    + OperationStore
    + AccountStore
    + Send
    + Sync
    + 'static
{
    /// A short name of the backend for logs and `/readyz`.
    fn backend(&self) -> &'static str;
    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;

    async fn create_region(&self, r: NewRegion, audit: NewEvent) -> Result<Region>;
    async fn list_regions(&self) -> Result<Vec<Region>>;

    async fn create_org(&self, o: NewOrganisation, audit: NewEvent) -> Result<Organisation>;
    async fn list_orgs(&self) -> Result<Vec<Organisation>>;
    async fn get_org(&self, id: i64) -> Result<Option<Organisation>>;
    async fn add_officer(&self, o: NewDataOfficer, audit: NewEvent) -> Result<DataOfficer>;
    async fn list_officers(&self, org_id: Option<i64>) -> Result<Vec<DataOfficer>>;

    async fn create_user(&self, u: NewUser, audit: NewEvent) -> Result<User>;
    async fn get_user(&self, id: i64) -> Result<Option<User>>;
    async fn get_user_by_name(&self, username: &str) -> Result<Option<User>>;
    async fn list_users(&self) -> Result<Vec<User>>;
    async fn count_users(&self) -> Result<i64>;
    /// Replaces the roles of an account. The caller has checked the separation of duties.
    async fn set_roles(&self, user_id: i64, roles: &[Role], audit: NewEvent) -> Result<()>;
    /// Binds an account to an identifier, or unbinds it (`None`). `Conflict` when another
    /// account is bound to the identifier.
    async fn set_user_subject(
        &self,
        user_id: i64,
        subject: Option<&pdp_domain::subject::BoundSubject>,
        audit: NewEvent,
    ) -> Result<()>;

    async fn create_session(&self, s: Session, audit: NewEvent) -> Result<()>;
    async fn get_session(&self, token_hash: &str) -> Result<Option<Session>>;
    async fn delete_session(&self, token_hash: &str, audit: NewEvent) -> Result<()>;

    async fn create_api_key(&self, k: NewApiKey, audit: NewEvent) -> Result<ApiKey>;
    async fn get_api_key(&self, id: i64) -> Result<Option<ApiKey>>;
    /// Keys of one account, or all keys when `user_id` is `None`.
    async fn list_api_keys(&self, user_id: Option<i64>) -> Result<Vec<ApiKey>>;
    /// Marks a key revoked; returns false when it was unknown or already revoked.
    async fn revoke_api_key(&self, id: i64, at_micros: i64, audit: NewEvent) -> Result<bool>;

    /// Appends events in one transaction, for the batching appender.
    async fn append_audit(&self, events: Vec<NewEvent>) -> Result<Vec<AuditEvent>>;
    /// Events with `seq > after_seq` in order, at most `limit`: the verifier's cursor.
    async fn audit_after(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditEvent>>;
    /// The auditor's search, newest first.
    async fn search_audit(&self, q: &AuditQuery) -> Result<Vec<AuditEvent>>;
    async fn audit_head(&self) -> Result<ChainHead>;
    async fn insert_checkpoint(&self, c: &Checkpoint) -> Result<()>;
    async fn list_checkpoints(&self) -> Result<Vec<Checkpoint>>;
}

/// The current time in microseconds since the epoch.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// Encodes roles for storage as a comma-separated list of their stable names.
pub fn roles_to_text(roles: &[Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

/// Decodes stored roles; unknown names (from a newer version) are skipped, never granted.
pub fn roles_from_text(s: &str) -> Vec<Role> {
    s.split(',').filter_map(Role::parse).collect()
}

/// Adapts any [`Storage`] to the audit appender.
pub struct StorageSink(pub std::sync::Arc<dyn Storage>);

#[async_trait]
impl pdp_audit::appender::BatchSink<NewEvent, AuditEvent> for StorageSink {
    async fn write_batch(&self, events: Vec<NewEvent>) -> Result<Vec<AuditEvent>, String> {
        self.0.append_audit(events).await.map_err(|e| e.to_string())
    }
}

/// Adapts any [`Storage`] to the group commit of data accesses: usage counters and audit
/// events of many accesses in one transaction.
pub struct AccessSink(pub std::sync::Arc<dyn Storage>);

#[async_trait]
impl pdp_audit::appender::BatchSink<AccessRecord, ()> for AccessSink {
    async fn write_batch(&self, batch: Vec<AccessRecord>) -> Result<Vec<()>, String> {
        let n = batch.len();
        self.0.record_accesses(batch, None).await.map_err(|e| e.to_string())?;
        Ok(vec![(); n])
    }
}

/// Adapts any [`Storage`] to the access journal: each segment's records in one transaction
/// with the segment's name.
pub struct JournalAccessSink(pub std::sync::Arc<dyn Storage>);

#[async_trait]
impl pdp_journal::JournalSink<AccessRecord> for JournalAccessSink {
    async fn index(&self, name: &str, records: Vec<AccessRecord>) -> Result<(), String> {
        self.0.record_accesses(records, Some(name)).await.map_err(|e| e.to_string())
    }

    async fn last_indexed(&self) -> Result<Option<String>, String> {
        self.0.last_journal_segment().await.map_err(|e| e.to_string())
    }
}

/// Walks the whole chain in pages and checks every link and every checkpoint. The outer
/// `Result` is a storage failure; the inner one is the verdict on the chain.
pub async fn verify_chain(
    storage: &dyn Storage,
    key: Option<&pdp_audit::PublicKey>,
) -> Result<std::result::Result<pdp_audit::Report, pdp_audit::Broken>> {
    let checkpoints = storage.list_checkpoints().await?;
    let mut v = pdp_audit::Verifier::new(checkpoints.iter().map(|c| c.seq));
    let mut after = 0;
    loop {
        let page = storage.audit_after(after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            if let Err(b) = v.push(e) {
                return Ok(Err(b));
            }
        }
    }
    Ok(v.finish(&checkpoints, key))
}

/// How well signed checkpoints must cover the chain for `pdp audit verify` to pass: links alone
/// can be rewritten by anyone who can write the database, from the first changed event on, so a
/// chain is trusted only as far as recent signatures reach.
#[derive(Debug, Clone, Copy)]
pub struct Coverage {
    /// The newest checkpoint may be at most this much older than the newest event.
    pub max_lag_micros: i64,
    /// At most this many events after the newest checkpoint.
    pub max_unsigned_events: i64,
}

/// What is wrong with the checkpoints' coverage of a chain whose links verified, if anything:
/// no checkpoint at all, or the newest one too old or too far behind the head.
pub async fn coverage_gap(storage: &dyn Storage, report: &pdp_audit::Report, c: Coverage) -> Result<Option<String>> {
    if report.events == 0 {
        return Ok(None);
    }
    let Some(newest) = storage.list_checkpoints().await?.into_iter().max_by_key(|k| k.seq) else {
        return Ok(Some("没有任何签名检查点 / there is no signed checkpoint".into()));
    };
    let unsigned = report.head.seq - newest.seq;
    if unsigned > c.max_unsigned_events {
        return Ok(Some(format!(
            "最新检查点落后链头 {unsigned} 条事件 / the newest checkpoint is {unsigned} events behind the head (at most {})",
            c.max_unsigned_events
        )));
    }
    if unsigned > 0 {
        let head_at = storage.audit_after(report.head.seq - 1, 1).await?.first().map_or(0, |e| e.at_micros);
        let lag = head_at - newest.at_micros;
        if lag > c.max_lag_micros {
            return Ok(Some(format!(
                "最新检查点比最新事件早 {} 秒 / the newest checkpoint is {} s older than the newest event (at most {} s)",
                lag / 1_000_000,
                lag / 1_000_000,
                c.max_lag_micros / 1_000_000
            )));
        }
    }
    Ok(None)
}

/// Signs the current end of the chain unless it is already checkpointed.
pub async fn checkpoint(storage: &dyn Storage, key: &pdp_audit::SigningKey) -> Result<Option<Checkpoint>> {
    let head = storage.audit_head().await?;
    if head.seq == 0 {
        return Ok(None);
    }
    if storage.list_checkpoints().await?.last().is_some_and(|c| c.seq == head.seq) {
        return Ok(None);
    }
    let c = key.checkpoint(&head, now_micros());
    storage.insert_checkpoint(&c).await?;
    Ok(Some(c))
}
