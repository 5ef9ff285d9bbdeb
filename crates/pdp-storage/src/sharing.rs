//! Records of sharing between organisations (R-SHR): scenarios, emergencies, requests with
//! their notes, grants and per-grant usage, usage reports, the demand list and upward requests.
//!
//! A request is routed when it is stored; a grant is created in the same transaction as the
//! decision that makes it, so there is never a granted request without its grant. Every access
//! under a grant updates the grant's usage in the same transaction as its audit event.

use std::collections::BTreeMap;

use async_trait::async_trait;
use pdp_audit::NewEvent;
use pdp_domain::calendar::iso_date;
use pdp_domain::catalog::{ShareMode, ShareType};
use pdp_domain::sharing::{
    DemandStatus, GrantStatus, NoteKind, RequestStatus, Route, RowFilter, UpwardLevel, UpwardStatus,
};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::Result;

/// An application scenario the authority approved (R-SHR-07): a request within it is granted
/// directly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Scenario {
    pub id: i64,
    pub name: String,
    pub entry_id: i64,
    /// `bulk`, `view`, `verify` or `statistics`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub mode: ShareMode,
    pub fields: Vec<String>,
    pub purpose: String,
    pub legal_basis: String,
    /// Days a grant made under the scenario runs.
    pub grant_days: i64,
    pub created_by: String,
    pub created_at_micros: i64,
}

#[derive(Debug, Clone)]
pub struct NewScenario {
    pub name: String,
    pub entry_id: i64,
    pub mode: ShareMode,
    pub fields: Vec<String>,
    pub purpose: String,
    pub legal_basis: String,
    pub grant_days: i64,
    pub created_by: String,
}

/// A request by one organisation for another's data (R-SHR-05).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareRequest {
    pub id: i64,
    pub requester_org_id: i64,
    pub requester_user_id: i64,
    pub requester_name: String,
    pub entry_id: i64,
    /// The dataset (catalog resource code).
    pub dataset: String,
    pub provider_org_id: i64,
    pub fields: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub mode: ShareMode,
    pub scenario_id: Option<i64>,
    /// The application scenario in the requester's words.
    pub scenario: String,
    pub legal_basis: String,
    pub purpose: String,
    /// The last day the requester needs the data, `YYYY-MM-DD`.
    #[serde(with = "iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub until: Date,
    /// The requester pledged truthfulness, security and compliance.
    pub pledged: bool,
    /// The share type the entry had when the request was routed.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub share_type: ShareType,
    /// `direct`, `provider_approval` or `negotiation`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub route: Route,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: RequestStatus,
    /// Fields the chosen scenario does not need (the least-data check), shown to approvers.
    pub beyond_need: Vec<String>,
    pub submitted_at_micros: i64,
    /// The provider's last day to answer (`YYYY-MM-DD`), for provider approval.
    #[serde(with = "iso_date::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub due_date: Option<Date>,
    pub escalated_at_micros: Option<i64>,
    pub decided_by: Option<i64>,
    pub decided_at_micros: Option<i64>,
    /// The reason of a refusal or of the authority's decision.
    pub decision_reason: String,
    pub grant_id: Option<i64>,
    /// The emergency the request was routed under, if any (R-SHR-10).
    pub emergency_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewShareRequest {
    pub requester_org_id: i64,
    pub requester_user_id: i64,
    pub requester_name: String,
    pub entry_id: i64,
    pub dataset: String,
    pub provider_org_id: i64,
    pub fields: Vec<String>,
    pub mode: ShareMode,
    pub scenario_id: Option<i64>,
    pub scenario: String,
    pub legal_basis: String,
    pub purpose: String,
    pub until: Date,
    pub pledged: bool,
    pub share_type: ShareType,
    pub route: Route,
    pub status: RequestStatus,
    pub beyond_need: Vec<String>,
    pub due_date: Option<Date>,
    pub emergency_id: Option<i64>,
}

/// A note on a request: negotiation messages, escalations, decisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestNote {
    pub id: i64,
    pub request_id: i64,
    pub author_id: Option<i64>,
    pub author_name: String,
    pub org_id: Option<i64>,
    /// `negotiation`, `escalation`, `decision` or `approval`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: NoteKind,
    pub body: String,
    pub created_at_micros: i64,
}

#[derive(Debug, Clone)]
pub struct NewRequestNote {
    pub author_id: Option<i64>,
    pub author_name: String,
    pub org_id: Option<i64>,
    pub kind: NoteKind,
    pub body: String,
}

/// What a decision fixes for the user (R-SHR-06); the enforcement unit of every access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grant {
    pub id: i64,
    pub request_id: Option<i64>,
    pub entry_id: i64,
    pub dataset: String,
    pub provider_org_id: i64,
    pub user_org_id: i64,
    pub scenario: String,
    pub purpose: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub mode: ShareMode,
    pub fields: Vec<String>,
    /// The masking rule per granted field (`none`, `id_number`, `pseudonym`, ...).
    pub masking: BTreeMap<String, String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub row_filters: Vec<RowFilter>,
    /// Statistics: the smallest group shown.
    pub min_group: i64,
    /// The last day the grant may be used, `YYYY-MM-DD`.
    #[serde(with = "iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub expires_on: Date,
    /// `active`, `suspended` or `revoked`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: GrantStatus,
    pub created_by: String,
    pub created_at_micros: i64,
    pub changed_at_micros: Option<i64>,
    pub change_reason: String,
    /// A grant made under an emergency serves only while the emergency lasts.
    pub emergency_id: Option<i64>,
}

/// A grant to create; the store adds the per-grant pseudonym key.
#[derive(Debug, Clone)]
pub struct NewGrant {
    pub entry_id: i64,
    pub dataset: String,
    pub provider_org_id: i64,
    pub user_org_id: i64,
    pub scenario: String,
    pub purpose: String,
    pub mode: ShareMode,
    pub fields: Vec<String>,
    pub masking: BTreeMap<String, String>,
    pub row_filters: Vec<RowFilter>,
    pub min_group: i64,
    pub expires_on: Date,
    pub created_by: String,
    /// The secret key of the grant's pseudonyms; never shown or logged.
    pub pseudonym_key: Vec<u8>,
    pub emergency_id: Option<i64>,
}

/// An emergency the authority declared (R-SHR-10): the share type of `entry_ids` is raised to
/// `raise_to` for `org_ids` from `starts_at` until `ends_at` (or until ended early).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Emergency {
    pub id: i64,
    pub name: String,
    /// The event and what the data is needed for.
    pub scope: String,
    /// `unconditional` or `conditional`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub raise_to: ShareType,
    pub entry_ids: Vec<i64>,
    pub org_ids: Vec<i64>,
    pub starts_at_micros: i64,
    pub ends_at_micros: i64,
    pub declared_by: String,
    pub ended_early_at_micros: Option<i64>,
    pub end_reason: String,
}

impl Emergency {
    /// Whether the emergency is in force at `now`: it reverts by itself at its end time.
    pub fn active_at(&self, now_micros: i64) -> bool {
        now_micros >= self.starts_at_micros
            && now_micros < self.ends_at_micros
            && self.ended_early_at_micros.is_none_or(|e| now_micros < e)
    }

    /// Whether the emergency raises `entry` for organisation `org`.
    pub fn covers(&self, entry: i64, org: i64) -> bool {
        self.entry_ids.contains(&entry) && self.org_ids.contains(&org)
    }
}

#[derive(Debug, Clone)]
pub struct NewEmergency {
    pub name: String,
    pub scope: String,
    pub raise_to: ShareType,
    pub entry_ids: Vec<i64>,
    pub org_ids: Vec<i64>,
    pub starts_at_micros: i64,
    pub ends_at_micros: i64,
    pub declared_by: String,
}

/// A usage report the user organisation files for a grant (R-SHR-13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageReport {
    pub id: i64,
    pub grant_id: i64,
    /// The last day the report covers, `YYYY-MM-DD`.
    #[serde(with = "iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub period_end: Date,
    pub body: String,
    pub filed_by: i64,
    pub filed_by_name: String,
    pub filed_at_micros: i64,
}

#[derive(Debug, Clone)]
pub struct NewUsageReport {
    pub grant_id: i64,
    pub period_end: Date,
    pub body: String,
    pub filed_by: i64,
    pub filed_by_name: String,
}

/// A demand for data no catalog entry provides (R-SHR-11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Demand {
    pub id: i64,
    pub requester_org_id: i64,
    pub requester_user_id: i64,
    pub requester_name: String,
    pub title: String,
    pub description: String,
    pub purpose: String,
    /// `open`, `assigned`, `fulfilled` or `declined`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: DemandStatus,
    /// The organisation the authority assigned it to.
    pub provider_org_id: Option<i64>,
    /// The catalog entry that meets it, once fulfilled.
    pub entry_id: Option<i64>,
    /// The latest answer or note.
    pub response: String,
    pub created_at_micros: i64,
    pub updated_at_micros: i64,
}

#[derive(Debug, Clone)]
pub struct NewDemand {
    pub requester_org_id: i64,
    pub requester_user_id: i64,
    pub requester_name: String,
    pub title: String,
    pub description: String,
    pub purpose: String,
}

/// A step of a demand, taken only if the demand is still in `from`.
#[derive(Debug, Clone)]
pub struct DemandChange {
    pub from: DemandStatus,
    pub to: DemandStatus,
    pub provider_org_id: Option<i64>,
    pub entry_id: Option<i64>,
    pub response: String,
}

/// A request for data held at provincial or national level (R-SHR-15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpwardRequest {
    pub id: i64,
    pub requester_org_id: i64,
    pub requester_user_id: i64,
    pub requester_name: String,
    /// `provincial`, `national` or `other_region`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub level: UpwardLevel,
    /// The agency that holds the data, as the requester knows it.
    pub holder: String,
    pub data_wanted: String,
    pub purpose: String,
    pub legal_basis: String,
    /// `collected`, `forwarded`, `answered` or `refused`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: UpwardStatus,
    /// The forwarding batch, once forwarded.
    pub batch: String,
    pub response: String,
    pub created_at_micros: i64,
    pub updated_at_micros: i64,
}

#[derive(Debug, Clone)]
pub struct NewUpwardRequest {
    pub requester_org_id: i64,
    pub requester_user_id: i64,
    pub requester_name: String,
    pub level: UpwardLevel,
    pub holder: String,
    pub data_wanted: String,
    pub purpose: String,
    pub legal_basis: String,
}

/// One use of a grant, as the access path records it: `accesses` counted, `rows` served, and
/// its audit event (whose object, when empty, becomes `grant:{id}`). Serialisable: it is the
/// line the access journal writes (`pdp_journal`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessRecord {
    pub grant_id: i64,
    pub accesses: i64,
    pub rows: i64,
    pub audit: NewEvent,
}

/// Separated, in lines of the access journal written by earlier versions, the record's JSON from
/// the event's detail written after it as it was. JSON never holds this byte unescaped (a
/// control character), so in such a line the first one is the separator.
const RAW_DETAIL: u8 = 0x1f;

impl pdp_journal::JournalRecord for AccessRecord {
    // Lines are written as the derived `Serialize` writes them (the trait's default).

    fn read_line(line: &[u8]) -> std::result::Result<Self, String> {
        let Some(at) = line.iter().position(|&b| b == RAW_DETAIL) else {
            return pdp_journal::from_json(line);
        };
        let mut r: AccessRecord = pdp_journal::from_json(&line[..at])?;
        r.audit.detail = String::from_utf8(line[at + 1..].to_vec()).map_err(|e| e.to_string())?;
        Ok(r)
    }
}

/// How much a grant has been used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantUsage {
    pub grant_id: i64,
    pub accesses: i64,
    pub rows: i64,
    pub last_access_micros: Option<i64>,
}

/// Which requests to list; every filter given must hold. `party_org` matches requester or
/// provider.
#[derive(Debug, Clone, Default)]
pub struct RequestQuery {
    pub party_org: Option<i64>,
    pub requester_org: Option<i64>,
    pub provider_org: Option<i64>,
    pub status: Option<RequestStatus>,
    pub open_only: bool,
}

#[derive(Debug, Clone, Default)]
pub struct GrantQuery {
    pub party_org: Option<i64>,
    pub user_org: Option<i64>,
    pub provider_org: Option<i64>,
    pub entry_id: Option<i64>,
    pub status: Option<GrantStatus>,
}

/// A decision on a request: its new status, who took it and why, and the grant it makes.
#[derive(Debug, Clone)]
pub struct Decision {
    pub from: RequestStatus,
    pub to: RequestStatus,
    pub by: Option<i64>,
    pub reason: String,
    pub note: Option<NewRequestNote>,
    pub grant: Option<NewGrant>,
}

#[async_trait]
pub trait ShareStore {
    async fn create_scenario(&self, s: NewScenario, audit: NewEvent) -> Result<Scenario>;
    async fn list_scenarios(&self) -> Result<Vec<Scenario>>;
    async fn get_scenario(&self, id: i64) -> Result<Option<Scenario>>;

    /// Stores a routed request, with its grant when the route grants directly.
    async fn create_request(
        &self,
        r: NewShareRequest,
        grant: Option<NewGrant>,
        audit: NewEvent,
    ) -> Result<(ShareRequest, Option<Grant>)>;
    async fn get_request(&self, id: i64) -> Result<Option<ShareRequest>>;
    async fn list_requests(&self, q: &RequestQuery) -> Result<Vec<ShareRequest>>;
    /// Moves a request from `d.from` to `d.to`, with its note and grant, in one transaction.
    /// Fails with `Conflict` when the request is no longer in `d.from` (two approvers at once).
    async fn decide_request(&self, id: i64, d: Decision, audit: NewEvent) -> Result<(ShareRequest, Option<Grant>)>;
    async fn add_request_note(&self, request_id: i64, n: NewRequestNote, audit: NewEvent) -> Result<RequestNote>;
    async fn list_request_notes(&self, request_id: i64) -> Result<Vec<RequestNote>>;
    /// Escalates every pending request whose due date is before `today`, with one audit event
    /// each; returns them.
    async fn escalate_requests(&self, today: Date, at_micros: i64) -> Result<Vec<ShareRequest>>;

    async fn get_grant(&self, id: i64) -> Result<Option<Grant>>;
    /// The grant's pseudonym key (for the access path only).
    async fn grant_key(&self, id: i64) -> Result<Option<Vec<u8>>>;
    async fn list_grants(&self, q: &GrantQuery) -> Result<Vec<Grant>>;
    /// Changes a grant's status from `from` to `to`; `Conflict` if it is no longer `from`.
    async fn set_grant_status(
        &self,
        id: i64,
        from: GrantStatus,
        to: GrantStatus,
        reason: &str,
        audit: NewEvent,
    ) -> Result<Grant>;
    /// Records uses of grants (see [`AccessRecord`]): the counters of each grant and every
    /// event, in order, in one transaction; the web layer's group commit hands in whatever
    /// accesses queued up together. A streamed export records its start (one access, no rows)
    /// and then its end (no access, the rows sent). `journal` names the access journal's
    /// segment the batch is (`pdp_journal`): it replaces the last segment recorded, in
    /// the same transaction, so a segment is never indexed twice (see
    /// [`ShareStore::last_journal_segment`]).
    async fn record_accesses(&self, batch: Vec<AccessRecord>, journal: Option<&str>) -> Result<()>;
    /// The last access journal segment recorded by [`ShareStore::record_accesses`].
    async fn last_journal_segment(&self) -> Result<Option<String>>;
    async fn grant_usage(&self, grant_id: i64) -> Result<GrantUsage>;

    async fn create_emergency(&self, e: NewEmergency, audit: NewEvent) -> Result<Emergency>;
    async fn list_emergencies(&self) -> Result<Vec<Emergency>>;
    /// Ends an emergency before its end time; `Conflict` if it already ended early.
    async fn end_emergency(&self, id: i64, at_micros: i64, reason: &str, audit: NewEvent) -> Result<Emergency>;

    async fn file_usage_report(&self, r: NewUsageReport, audit: NewEvent) -> Result<UsageReport>;
    /// Reports of one grant, or of all grants, oldest first.
    async fn list_usage_reports(&self, grant_id: Option<i64>) -> Result<Vec<UsageReport>>;

    async fn create_demand(&self, d: NewDemand, audit: NewEvent) -> Result<Demand>;
    async fn list_demands(&self) -> Result<Vec<Demand>>;
    async fn get_demand(&self, id: i64) -> Result<Option<Demand>>;
    /// Moves a demand from `c.from` to `c.to`; `Conflict` if it is no longer in `c.from`.
    async fn change_demand(&self, id: i64, c: DemandChange, audit: NewEvent) -> Result<Demand>;

    async fn create_upward(&self, r: NewUpwardRequest, audit: NewEvent) -> Result<UpwardRequest>;
    async fn list_upward(&self) -> Result<Vec<UpwardRequest>>;
    /// Marks every collected upward request forwarded in batch `batch`, in one transaction with
    /// its audit event; returns the batch (empty when nothing was waiting).
    async fn forward_upward(&self, batch: &str, audit: NewEvent) -> Result<Vec<UpwardRequest>>;
    /// Records the answer from above on a forwarded request; `Conflict` unless it is forwarded.
    async fn upward_outcome(&self, id: i64, to: UpwardStatus, response: &str, audit: NewEvent)
    -> Result<UpwardRequest>;
}

#[cfg(test)]
mod tests {
    use pdp_journal::JournalRecord;

    use super::*;

    /// internals, no requirement (the access journal's line of an access reads back as the same
    /// record after a restart, whatever the detail holds; a line as earlier versions wrote it,
    /// with the detail after a separator, still reads back)
    #[test]
    fn access_records_read_back_from_their_journal_lines() {
        let mut audit = NewEvent::system("share.access.verify", "");
        audit.actor = "api \"client\"".into();
        audit.actor_id = Some(12);
        audit.org_id = Some(3);
        audit.purpose = "办理业务\n核验".into();
        audit.request_hash = "0f".repeat(32);
        audit.detail = r#"{"via":"api_key:1","grant":5,"fields":["person_name"],"emergency":null}"#.into();
        let with_detail = |d: &str| {
            let mut a = audit.clone();
            a.detail = d.into();
            AccessRecord { grant_id: 7, accesses: 1, rows: 2, audit: a }
        };
        for r in [
            AccessRecord { grant_id: 5, accesses: 1, rows: 0, audit: audit.clone() },
            AccessRecord { grant_id: -1, accesses: i64::MAX, rows: i64::MIN, audit: NewEvent::system("", "x") },
            with_detail("a\u{1f}b\u{1f}中\"\\"),
            with_detail("line\nfeed"),
            with_detail("zero\0byte"),
        ] {
            let mut line = Vec::new();
            r.write_line(&mut line).unwrap();
            assert!(!line.contains(&b'\n') && !line.contains(&0), "a journal line holds no line feed or zero");
            let back = AccessRecord::read_line(&line).unwrap();
            assert_eq!(
                (back.grant_id, back.accesses, back.rows, &back.audit),
                (r.grant_id, r.accesses, r.rows, &r.audit)
            );
            if !r.audit.detail.contains(['\n', '\0', '\u{1f}']) {
                let mut old = r.clone();
                old.audit.detail = String::new();
                let mut line = serde_json::to_vec(&old).unwrap();
                line.push(RAW_DETAIL);
                line.extend_from_slice(r.audit.detail.as_bytes());
                assert_eq!(AccessRecord::read_line(&line).unwrap().audit, r.audit, "an earlier version's line");
            }
        }
    }
}
