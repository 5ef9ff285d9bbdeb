//! Sharing between organisations (共享, R-SHR): how a request is routed, its working-day
//! deadline, the request and grant state machines, the access check every use of a grant
//! passes, masking and keyed pseudonyms, the least-data check and the small-cell rule of
//! statistics, emergencies that raise share types, usage-report deadlines and the demand list's
//! life cycle.
//!
//! The web crate enforces these for every access; nothing here knows HTTP, SQL or the clock.
//! A grant is the unit of enforcement: it fixes the user organisation, the fields, the mode, a
//! row filter, masking per field and an expiry date (R-SHR-06), and every access is judged
//! against the grant as it stands at that moment, so a suspension or revocation takes effect on
//! the next request (R-SHR-13).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::Localized;
use crate::calendar::{CalendarError, Deadline, WorkCalendar};
use crate::catalog::{Field, MaskRule, ShareMode, ShareType, labeled_enum};

/// Working days a provider has to answer a conditional request (JN 24, FS 26, AS 21).
pub const APPROVAL_WORKING_DAYS: u32 = 10;

/// The smallest group a statistics grant may report; smaller cells are suppressed.
pub const DEFAULT_MIN_GROUP: i64 = 5;

/// The longest a grant may run without a new request, in days.
pub const MAX_GRANT_DAYS: i64 = 3 * 366;

/// Where a new request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// Granted at once and recorded; the authority sees it (unconditional data, or a request
    /// that matches an approved scenario, R-SHR-03, R-SHR-07).
    Direct,
    /// To the provider's approvers, due in ten working days (conditional data, R-SHR-03).
    ProviderApproval,
    /// Not-shared data cannot be requested, only negotiated, then escalated (R-SHR-09).
    Negotiation,
}

impl Route {
    pub const ALL: [Route; 3] = [Self::Direct, Self::ProviderApproval, Self::Negotiation];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::ProviderApproval => "provider_approval",
            Self::Negotiation => "negotiation",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s.trim())
    }
}

labeled_enum!(
    /// What a note on a share request records.
    NoteKind {
        Negotiation => "negotiation", "协商", "Negotiation";
        Escalation => "escalation", "提请协调", "Escalation";
        Decision => "decision", "决定", "Decision";
        Approval => "approval", "审批意见", "Approval";
    }
);

labeled_enum!(
    /// Where the data an upward request asks for is held (R-SHR-15).
    UpwardLevel {
        Provincial => "provincial", "省级", "Provincial";
        National => "national", "国家级", "National";
        OtherRegion => "other_region", "其他地区", "Another region";
    }
);

labeled_enum!(
    /// Where an upward request stands: collected by the city authority, forwarded in a batch,
    /// then answered from above one way or the other.
    UpwardStatus {
        Collected => "collected", "已汇总，待报送", "Collected, to forward";
        Forwarded => "forwarded", "已报送上级", "Forwarded";
        Answered => "answered", "上级已同意", "Granted above";
        Refused => "refused", "上级未同意", "Refused above";
    }
);

/// Routes a request by the entry's (effective) share type and whether it matches a scenario.
pub fn route(share_type: ShareType, matches_scenario: bool) -> Route {
    match share_type {
        ShareType::NotShared => Route::Negotiation,
        _ if matches_scenario => Route::Direct,
        ShareType::Unconditional => Route::Direct,
        ShareType::Conditional => Route::ProviderApproval,
    }
}

/// The last day for the provider's answer to a request submitted on `submitted`.
pub fn approval_due(cal: &WorkCalendar, submitted: Date) -> Result<Deadline, CalendarError> {
    cal.deadline(submitted, APPROVAL_WORKING_DAYS)
}

/// The state of a share request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Waiting for the provider's approvers.
    Pending,
    /// A grant was made.
    Granted,
    /// Refused, with a reason.
    Refused,
    /// Withdrawn by the requester.
    Withdrawn,
    /// Not-shared data: the two organisations negotiate.
    Negotiating,
    /// Before the authority: a negotiation that failed, a share-type dispute, or a conditional
    /// request its provider did not answer in time.
    Escalated,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 6] =
        [Self::Pending, Self::Granted, Self::Refused, Self::Withdrawn, Self::Negotiating, Self::Escalated];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Granted => "granted",
            Self::Refused => "refused",
            Self::Withdrawn => "withdrawn",
            Self::Negotiating => "negotiating",
            Self::Escalated => "escalated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s.trim())
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Pending => "待审批",
            Self::Granted => "已授权",
            Self::Refused => "不予共享",
            Self::Withdrawn => "已撤回",
            Self::Negotiating => "协商中",
            Self::Escalated => "已提请主管部门",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::Pending => "Pending approval",
            Self::Granted => "Granted",
            Self::Refused => "Refused",
            Self::Withdrawn => "Withdrawn",
            Self::Negotiating => "Negotiating",
            Self::Escalated => "Before the authority",
        }
    }

    /// Whether the request still waits for someone.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::Negotiating | Self::Escalated)
    }
}

/// Something done to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestAction {
    /// The provider approves (also ends a negotiation in agreement).
    Approve,
    /// The provider refuses a pending request, with a reason.
    Refuse,
    Withdraw,
    /// To the authority: by a party when negotiation fails, or by the deadline sweep.
    Escalate,
    /// The authority decides an escalated request.
    AuthorityGrant,
    AuthorityRefuse,
}

impl RequestAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Refuse => "refuse",
            Self::Withdraw => "withdraw",
            Self::Escalate => "escalate",
            Self::AuthorityGrant => "authority_grant",
            Self::AuthorityRefuse => "authority_refuse",
        }
    }
}

/// An action that the request's state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{action:?} is not allowed on a request that is {from:?}")]
pub struct RequestTransitionError {
    pub from: RequestStatus,
    pub action: RequestAction,
}

impl Localized for RequestTransitionError {
    fn code(&self) -> &'static str {
        "share_request_state"
    }
    fn message_zh(&self) -> String {
        format!("申请当前状态为“{}”，不能执行该操作", self.from.label_zh())
    }
    fn message_en(&self) -> String {
        format!("the request is {}; {} is not possible", self.from.label_en().to_lowercase(), self.action.as_str())
    }
}

impl RequestStatus {
    /// The state after `action`. A refusal by the provider is final for the requester except by
    /// a new request; a negotiation can end in agreement or go to the authority, never in a
    /// silent refusal (R-SHR-09).
    pub fn next(self, action: RequestAction) -> Result<Self, RequestTransitionError> {
        use RequestAction as A;
        use RequestStatus as S;
        let to = match (self, action) {
            (S::Pending | S::Negotiating, A::Approve) => S::Granted,
            (S::Pending, A::Refuse) => S::Refused,
            (S::Pending | S::Negotiating, A::Withdraw) => S::Withdrawn,
            (S::Pending | S::Negotiating, A::Escalate) => S::Escalated,
            (S::Escalated, A::AuthorityGrant) => S::Granted,
            (S::Escalated, A::AuthorityRefuse) => S::Refused,
            _ => return Err(RequestTransitionError { from: self, action }),
        };
        Ok(to)
    }
}

/// Whether a pending request has passed its due date on `today`.
pub fn approval_overdue(status: RequestStatus, due: Date, today: Date) -> bool {
    status == RequestStatus::Pending && today > due
}

/// The state of a grant as its provider or the authority set it; expiry is separate (a date).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    Active,
    /// Stopped for a violation or a review; may be resumed (QD 50).
    Suspended,
    /// Ended for good.
    Revoked,
}

impl GrantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Suspended, Self::Revoked].into_iter().find(|v| v.as_str() == s.trim())
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Active => "有效",
            Self::Suspended => "已暂停",
            Self::Revoked => "已撤销",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Suspended => "Suspended",
            Self::Revoked => "Revoked",
        }
    }
}

/// A change to a grant (R-SHR-13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantAction {
    Suspend,
    Resume,
    Revoke,
}

impl GrantAction {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "suspend" => Some(Self::Suspend),
            "resume" => Some(Self::Resume),
            "revoke" => Some(Self::Revoke),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Suspend => "suspend",
            Self::Resume => "resume",
            Self::Revoke => "revoke",
        }
    }
}

/// A grant change its state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{action:?} is not allowed on a grant that is {from:?}")]
pub struct GrantTransitionError {
    pub from: GrantStatus,
    pub action: GrantAction,
}

impl Localized for GrantTransitionError {
    fn code(&self) -> &'static str {
        "grant_state"
    }
    fn message_zh(&self) -> String {
        format!("授权当前状态为“{}”，不能执行该操作", self.from.label_zh())
    }
    fn message_en(&self) -> String {
        format!("the grant is {}; {} is not possible", self.from.label_en().to_lowercase(), self.action.as_str())
    }
}

impl GrantStatus {
    pub fn next(self, action: GrantAction) -> Result<Self, GrantTransitionError> {
        match (self, action) {
            (Self::Active, GrantAction::Suspend) => Ok(Self::Suspended),
            (Self::Suspended, GrantAction::Resume) => Ok(Self::Active),
            (Self::Active | Self::Suspended, GrantAction::Revoke) => Ok(Self::Revoked),
            _ => Err(GrantTransitionError { from: self, action }),
        }
    }
}

/// Why an access under a grant is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessDenied {
    #[error("the grant is suspended")]
    Suspended,
    #[error("the grant is revoked")]
    Revoked,
    #[error("the grant expired after {0}")]
    Expired(Date),
    #[error("the grant allows {granted:?}, not {asked:?}")]
    WrongMode { granted: ShareMode, asked: ShareMode },
}

impl Localized for AccessDenied {
    fn code(&self) -> &'static str {
        match self {
            Self::Suspended => "grant_suspended",
            Self::Revoked => "grant_revoked",
            Self::Expired(_) => "grant_expired",
            Self::WrongMode { .. } => "grant_wrong_mode",
        }
    }
    fn message_zh(&self) -> String {
        match self {
            Self::Suspended => "该共享授权已暂停，暂不能使用".into(),
            Self::Revoked => "该共享授权已撤销".into(),
            Self::Expired(d) => format!("该共享授权已于 {d} 到期，请重新申请"),
            Self::WrongMode { granted, asked } => {
                format!("该授权的共享方式为“{}”，不能以“{}”方式使用", granted.label_zh(), asked.label_zh())
            }
        }
    }
    fn message_en(&self) -> String {
        match self {
            Self::Suspended => "the grant is suspended and cannot be used for now".into(),
            Self::Revoked => "the grant has been revoked".into(),
            Self::Expired(d) => format!("the grant expired after {d}; file a new request"),
            Self::WrongMode { granted, asked } => format!(
                "the grant allows the {} mode, not {}",
                granted.label_en().to_lowercase(),
                asked.label_en().to_lowercase()
            ),
        }
    }
}

/// The check every access under a grant passes first: the grant is active, `today` is not
/// after its last day, and the access uses the granted mode (R-SHR-04, R-SHR-06, R-SHR-13).
pub fn check_access(
    status: GrantStatus,
    expires_on: Date,
    today: Date,
    granted: ShareMode,
    asked: ShareMode,
) -> Result<(), AccessDenied> {
    match status {
        GrantStatus::Revoked => return Err(AccessDenied::Revoked),
        GrantStatus::Suspended => return Err(AccessDenied::Suspended),
        GrantStatus::Active => {}
    }
    if today > expires_on {
        return Err(AccessDenied::Expired(expires_on));
    }
    if granted != asked {
        return Err(AccessDenied::WrongMode { granted, asked });
    }
    Ok(())
}

/// Masks `value` by `rule` (STANDARDS.md, masking formats). Works on characters, never bytes,
/// so Chinese text is never cut inside a character. Returns `None` for suppression.
/// Pseudonymisation needs the grant's key: see [`pseudonym`]; here it suppresses, so a caller
/// that forgets the key never leaks the value.
pub fn mask(rule: MaskRule, value: &str) -> Option<String> {
    // Every view masks each field of each row it serves, so this works on byte offsets of
    // character boundaries instead of collecting the characters first.
    let ascii = value.is_ascii();
    let n = if ascii { value.len() } else { value.chars().count() };
    // The byte offset where character `k` starts (the length, for `k` = n).
    let at = |k: usize| if ascii { k } else { value.char_indices().nth(k).map_or(value.len(), |(i, _)| i) };
    let stars = |s: &mut String, k: usize| s.extend(std::iter::repeat_n('*', k));
    let keep = |first: usize, last: usize| -> String {
        if n <= first + last {
            return "*".repeat(n);
        }
        let (head, tail) = (at(first), at(n - last));
        let mut s = String::with_capacity(head + (n - first - last) + (value.len() - tail));
        s.push_str(&value[..head]);
        stars(&mut s, n - first - last);
        s.push_str(&value[tail..]);
        s
    };
    Some(match rule {
        MaskRule::None => value.to_string(),
        MaskRule::IdNumber | MaskRule::BankCard => keep(6, 4),
        MaskRule::Mobile => keep(3, 4),
        MaskRule::Name if n > 1 => keep(1, 0),
        MaskRule::Name => "*".repeat(n),
        MaskRule::Address => {
            let shown = n.saturating_sub(8);
            keep(shown, 0)
        }
        MaskRule::Email => {
            // The length of the local part is hidden too: a fixed two stars follow its first
            // character.
            let (local, domain) = value.split_once('@').unwrap_or((value, ""));
            let first: String = local.chars().take(1).collect();
            if domain.is_empty() { format!("{first}**") } else { format!("{first}**@{domain}") }
        }
        MaskRule::Pseudonym | MaskRule::Suppress => return None,
    })
}

/// The keyed pseudonym of `value`: HMAC-SHA-256 under the grant's own key, hex. Equal values
/// under one grant give equal pseudonyms (so a user can still count and join within its
/// grant); two grants have different keys and so cannot be joined on the pseudonym.
pub fn pseudonym(key: &[u8], value: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(value.as_bytes());
    let tag = mac.finalize().into_bytes();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    tag.iter()
        .take(16)
        .flat_map(|b| [char::from(HEX[usize::from(b >> 4)]), char::from(HEX[usize::from(b & 0xf)])])
        .collect()
}

/// Applies a grant's treatment of one field to one value.
pub fn protect(rule: MaskRule, key: &[u8], value: Option<&str>) -> Option<String> {
    let v = value?;
    match rule {
        MaskRule::Pseudonym => Some(pseudonym(key, v)),
        r => mask(r, v),
    }
}

/// Fields requested beyond what the scenario needs (最小够用, R-SHR-05), in request order.
pub fn beyond_need(requested: &[String], needed: &[String]) -> Vec<String> {
    requested.iter().filter(|f| !needed.contains(f)).cloned().collect()
}

/// Whether a request is covered by an approved scenario: same entry and mode, and no field the
/// scenario does not list (R-SHR-07).
pub fn within_scenario(
    entry: i64,
    mode: ShareMode,
    fields: &[String],
    scenario_entry: i64,
    scenario_mode: ShareMode,
    scenario_fields: &[String],
) -> bool {
    entry == scenario_entry
        && mode == scenario_mode
        && !fields.is_empty()
        && beyond_need(fields, scenario_fields).is_empty()
}

/// A condition rows must meet to be served under a grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowFilter {
    pub field: String,
    /// `eq` (one of `values`) or `prefix` (starts with one of `values`, e.g. an area code).
    pub op: FilterOp,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    Eq,
    Prefix,
}

impl RowFilter {
    /// Whether a row's value of the field passes.
    pub fn admits(&self, value: Option<&str>) -> bool {
        let Some(v) = value else { return false };
        match self.op {
            FilterOp::Eq => self.values.iter().any(|x| x == v),
            FilterOp::Prefix => self.values.iter().any(|x| v.starts_with(x.as_str())),
        }
    }
}

/// Something wrong with what a request or approval asks for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareSpecError {
    #[error("no fields requested")]
    NoFields,
    #[error("unknown field {0}")]
    UnknownField(String),
    #[error("mode {0:?} is not offered")]
    ModeNotOffered(ShareMode),
    #[error("bad row filter")]
    BadFilter(String),
    #[error("masking weaker than the catalog")]
    WeakerMask(String),
}

impl Localized for ShareSpecError {
    fn code(&self) -> &'static str {
        match self {
            Self::NoFields => "share_no_fields",
            Self::UnknownField(_) => "share_unknown_field",
            Self::ModeNotOffered(_) => "share_mode_not_offered",
            Self::BadFilter(_) => "share_bad_filter",
            Self::WeakerMask(_) => "share_weaker_mask",
        }
    }
    fn message_zh(&self) -> String {
        match self {
            Self::NoFields => "请至少选择一个信息项".into(),
            Self::UnknownField(f) => format!("该资源没有信息项“{f}”"),
            Self::ModeNotOffered(m) => format!("该资源不提供“{}”共享方式", m.label_zh()),
            Self::BadFilter(f) => format!("行过滤条件无效：字段“{f}”不存在或取值为空"),
            Self::WeakerMask(f) => format!("信息项“{f}”的脱敏规则不能弱于目录规定"),
        }
    }
    fn message_en(&self) -> String {
        match self {
            Self::NoFields => "choose at least one field".into(),
            Self::UnknownField(f) => format!("the resource has no field {f:?}"),
            Self::ModeNotOffered(m) => {
                format!("the resource is not shared in the {} mode", m.label_en().to_lowercase())
            }
            Self::BadFilter(f) => format!("invalid row filter: field {f:?} does not exist or no values were given"),
            Self::WeakerMask(f) => format!("the masking of field {f:?} cannot be weaker than the catalog's"),
        }
    }
}

/// Checks requested fields and mode against the entry's fields and offered modes.
pub fn check_request(
    fields: &[Field],
    offered: &[ShareMode],
    mode: ShareMode,
    asked: &[String],
) -> Result<(), ShareSpecError> {
    if asked.is_empty() {
        return Err(ShareSpecError::NoFields);
    }
    if let Some(f) = asked.iter().find(|a| !fields.iter().any(|f| &f.name == *a)) {
        return Err(ShareSpecError::UnknownField(f.clone()));
    }
    // An entry without listed modes offers every mode (unlisted means shareable, R-SHR-01).
    if !offered.is_empty() && !offered.contains(&mode) {
        return Err(ShareSpecError::ModeNotOffered(mode));
    }
    Ok(())
}

/// Checks the masking an approver fixes for a grant: every field keeps at least the catalog's
/// masking in the order of [`MaskRule::at_least_as_strong_as`] (an approver may strengthen it,
/// never weaken or drop it), and row filters name real fields.
/// Returns the masking per granted field with catalog defaults filled in.
pub fn fix_masking(
    fields: &[Field],
    granted: &[String],
    asked: &BTreeMap<String, MaskRule>,
    filters: &[RowFilter],
) -> Result<BTreeMap<String, MaskRule>, ShareSpecError> {
    let mut out = BTreeMap::new();
    for name in granted {
        let f = fields.iter().find(|f| &f.name == name).ok_or_else(|| ShareSpecError::UnknownField(name.clone()))?;
        let rule = asked.get(name).copied().unwrap_or(f.mask);
        if !rule.at_least_as_strong_as(f.mask) {
            return Err(ShareSpecError::WeakerMask(name.clone()));
        }
        out.insert(name.clone(), rule);
    }
    if let Some(k) = asked.keys().find(|k| !granted.contains(k)) {
        return Err(ShareSpecError::UnknownField(k.clone()));
    }
    for rf in filters {
        if rf.values.is_empty() || !fields.iter().any(|f| f.name == rf.field) {
            return Err(ShareSpecError::BadFilter(rf.field.clone()));
        }
    }
    Ok(out)
}

/// Compares claimed values with the record's (verify mode, 比对/核验): per field, whether they
/// match after trimming. Only the verdicts leave the platform, never the values.
pub fn verify(claimed: &BTreeMap<String, String>, actual: &BTreeMap<String, Option<String>>) -> BTreeMap<String, bool> {
    claimed
        .iter()
        .map(|(k, v)| {
            let hit = actual.get(k).and_then(|a| a.as_deref()).is_some_and(|a| a.trim() == v.trim());
            (k.clone(), hit)
        })
        .collect()
}

/// Whether a statistics cell of `count` members may be shown.
pub fn cell_shown(count: i64, min_group: i64) -> bool {
    count >= min_group.max(1)
}

/// Which cells of a statistics answer may be shown (R-SHR-04): cells of fewer than
/// `min_group` members are suppressed (primary suppression), and then, so that no suppressed
/// cell can be had back by subtracting the shown cells from a total the user can ask for
/// separately, every margin keeps either no suppressed cell or at least two (secondary
/// suppression). The margins are the groups of cells that agree on any proper subset of the
/// dimensions, the empty subset (the grand total) included: each is the answer to a query with
/// fewer dimensions. Where a margin has exactly one suppressed cell, its smallest shown cell is
/// suppressed too, until no margin has exactly one.
///
/// This is the usual heuristic of statistical offices for small tables; it does not defend
/// against every combination of queries (an attacker who differences two grants' answers, or
/// queries filtered subsets, is outside it), which is why the usage record counts every row
/// aggregated and the grant's queries are audited.
pub fn shown_cells(dims: &[Vec<Option<String>>], counts: &[i64], min_group: i64) -> Vec<bool> {
    let mut shown: Vec<bool> = counts.iter().map(|c| cell_shown(*c, min_group)).collect();
    let n = dims.first().map_or(0, Vec::len);
    loop {
        let mut changed = false;
        // Every proper subset of the dimensions, as a bit mask (n is at most a handful).
        for subset in 0..(1u32 << n) - 1 {
            let mut margins: std::collections::HashMap<Vec<&Option<String>>, Vec<usize>> = Default::default();
            for (i, d) in dims.iter().enumerate() {
                let key = (0..n).filter(|k| subset & (1 << k) != 0).map(|k| &d[k]).collect();
                margins.entry(key).or_default().push(i);
            }
            for cells in margins.values() {
                let hidden = cells.iter().filter(|i| !shown[**i]).count();
                if hidden == 1
                    && let Some(&i) = cells.iter().filter(|i| shown[**i]).min_by_key(|i| counts[**i])
                {
                    shown[i] = false;
                    changed = true;
                }
            }
        }
        if !changed {
            return shown;
        }
    }
}

/// The share type an entry has during an emergency that raises it to `to` (R-SHR-10): an
/// emergency opens data up, it never closes it.
pub fn raised(current: ShareType, to: ShareType) -> ShareType {
    let openness = |t: ShareType| match t {
        ShareType::Unconditional => 2,
        ShareType::Conditional => 1,
        ShareType::NotShared => 0,
    };
    if openness(to) > openness(current) { to } else { current }
}

/// Days between a grant's usage reports (R-SHR-13, QD 45: users report their use regularly).
pub const REPORT_PERIOD_DAYS: i64 = 90;

/// When the next usage report of a grant is due: a period after the later of the grant's start
/// and the end of the period the last report covered.
pub fn report_due(granted_on: Date, last_period_end: Option<Date>) -> Date {
    let since = last_period_end.map_or(granted_on, |d| d.max(granted_on));
    since + time::Duration::days(REPORT_PERIOD_DAYS)
}

/// Where a demand stands (R-SHR-11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemandStatus {
    /// Waiting for the authority to find a provider.
    Open,
    /// A provider is working on it.
    Assigned,
    /// A catalog entry now meets it.
    Fulfilled,
    /// It cannot be met; the reason is recorded.
    Declined,
}

/// A step of a demand and who takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemandAction {
    /// The authority assigns a provider (again, if need be).
    Assign,
    /// The provider names the entry that meets it.
    Fulfil,
    /// The provider or the authority declines it with a reason.
    Decline,
}

impl DemandStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Assigned => "assigned",
            Self::Fulfilled => "fulfilled",
            Self::Declined => "declined",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Open, Self::Assigned, Self::Fulfilled, Self::Declined].into_iter().find(|v| v.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Open => "待协调",
            Self::Assigned => "已交办",
            Self::Fulfilled => "已满足",
            Self::Declined => "无法满足",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::Assigned => "Assigned",
            Self::Fulfilled => "Fulfilled",
            Self::Declined => "Declined",
        }
    }

    /// The status after `action`, or the transition error.
    pub fn next(self, action: DemandAction) -> Result<Self, DemandTransitionError> {
        use DemandAction as A;
        match (self, action) {
            (Self::Open | Self::Assigned, A::Assign) => Ok(Self::Assigned),
            (Self::Assigned, A::Fulfil) => Ok(Self::Fulfilled),
            (Self::Open | Self::Assigned, A::Decline) => Ok(Self::Declined),
            (from, _) => Err(DemandTransitionError { from }),
        }
    }
}

/// A demand step that its status does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a demand that is {} cannot take this step", from.as_str())]
pub struct DemandTransitionError {
    pub from: DemandStatus,
}

impl Localized for DemandTransitionError {
    fn code(&self) -> &'static str {
        "demand_bad_transition"
    }
    fn message_zh(&self) -> String {
        format!("需求当前为“{}”，不能进行该操作", self.from.label_zh())
    }
    fn message_en(&self) -> String {
        format!("the demand is {}, so this step is not possible", self.from.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::date;
    use proptest::prelude::*;

    /// covers: R-SHR-03, R-SHR-07, R-SHR-09
    #[test]
    fn routing_by_share_type_and_scenario() {
        assert_eq!(route(ShareType::Unconditional, false), Route::Direct);
        assert_eq!(route(ShareType::Conditional, false), Route::ProviderApproval);
        assert_eq!(route(ShareType::Conditional, true), Route::Direct);
        // A scenario never opens not-shared data: only negotiation and the authority can.
        assert_eq!(route(ShareType::NotShared, true), Route::Negotiation);
    }

    /// covers: R-SHR-06 (an approver's masking is at least as strong as the catalog's, in a
    /// strength order per rule: `mobile` -> `id_number` shows more and is refused)
    #[test]
    fn approval_masking_only_strengthens() {
        use MaskRule::*;
        let field = |mask| Field { mask, ..crate::catalog::tests::field("f", crate::catalog::Grade::L2) };
        let fix = |catalog, asked| {
            fix_masking(&[field(catalog)], &["f".to_string()], &BTreeMap::from([("f".to_string(), asked)]), &[])
        };
        for (catalog, asked) in [
            (Mobile, IdNumber),
            (Mobile, None),
            (Name, Mobile),
            (Pseudonym, Name),
            (Suppress, Pseudonym),
            (Mobile, Address),
            (Address, Mobile),
            (Email, BankCard),
        ] {
            assert_eq!(fix(catalog, asked), Err(ShareSpecError::WeakerMask("f".into())), "{catalog:?} -> {asked:?}");
        }
        for (catalog, asked) in [
            (Mobile, Mobile),
            (Mobile, Name),
            (IdNumber, Mobile),
            (Address, Name),
            (Email, Name),
            (Name, Pseudonym),
            (Pseudonym, Suppress),
            (None, IdNumber),
            (BankCard, IdNumber),
        ] {
            assert_eq!(fix(catalog, asked).map(|m| m["f"]), Ok(asked), "{catalog:?} -> {asked:?}");
        }
        // Whatever the pair, suppression is never weaker and nothing is stronger than it.
        for &r in MaskRule::ALL {
            assert!(Suppress.at_least_as_strong_as(r) && r.at_least_as_strong_as(None) && r.at_least_as_strong_as(r));
            assert_eq!(r.at_least_as_strong_as(Suppress), r == Suppress, "{r:?}");
        }
    }

    /// covers: R-SHR-04 (statistics disclose no rows: primary and secondary suppression)
    #[test]
    fn suppression_leaves_no_margin_with_one_hidden_cell() {
        let d = |v: &[&str]| v.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>();
        // One dimension: 东湖 8, 西山 3, 南港 9. The grand total (20) less 8 and 9 would give
        // 西山's 3, so the smallest shown cell (东湖) is suppressed too.
        let dims = vec![d(&["东湖"]), d(&["西山"]), d(&["南港"])];
        assert_eq!(shown_cells(&dims, &[8, 3, 9], 5), vec![false, false, true]);
        // Two cells under the threshold already protect each other.
        assert_eq!(shown_cells(&dims, &[8, 3, 2], 5), vec![true, false, false]);
        // Two dimensions: the row and column margins are protected as well as the total.
        let dims = vec![d(&["东湖", "男"]), d(&["东湖", "女"]), d(&["西山", "男"]), d(&["西山", "女"])];
        let shown = shown_cells(&dims, &[10, 2, 7, 9], 5);
        assert_eq!(shown.iter().filter(|s| !**s).count() % 2, 0, "{shown:?}");
        for subset in [vec![0], vec![1], vec![]] {
            let mut groups: BTreeMap<Vec<&Option<String>>, usize> = BTreeMap::new();
            for (i, c) in dims.iter().enumerate() {
                if !shown[i] {
                    *groups.entry(subset.iter().map(|k| &c[*k]).collect()).or_default() += 1;
                }
            }
            assert!(groups.values().all(|h| *h != 1), "{subset:?}: {shown:?}");
        }
        assert!(!shown[1], "the small cell stays hidden");
        // Nothing to protect: everything shown.
        assert_eq!(shown_cells(&dims, &[10, 12, 7, 9], 5), vec![true; 4]);
        assert_eq!(shown_cells(&[vec![]], &[3], 5), vec![false]);
    }

    /// covers: R-SHR-03 (10 working days, holidays and make-up days counted)
    #[test]
    fn approval_due_in_working_days() {
        let cal = WorkCalendar::official();
        assert_eq!(approval_due(&cal, date(2026, 9, 17).unwrap()).unwrap().due, date(2026, 10, 8).unwrap());
        assert_eq!(approval_due(&cal, date(2026, 2, 10).unwrap()).unwrap().due, date(2026, 3, 2).unwrap());
        let due = date(2026, 10, 8).unwrap();
        assert!(!approval_overdue(RequestStatus::Pending, due, due));
        assert!(approval_overdue(RequestStatus::Pending, due, date(2026, 10, 9).unwrap()));
        assert!(!approval_overdue(RequestStatus::Granted, due, date(2026, 10, 9).unwrap()));
    }

    /// covers: R-SHR-03, R-SHR-09 (refusal only of pending requests; negotiation ends in
    /// agreement or before the authority)
    #[test]
    fn request_transitions() {
        use RequestAction as A;
        use RequestStatus as S;
        assert_eq!(S::Pending.next(A::Approve), Ok(S::Granted));
        assert_eq!(S::Pending.next(A::Refuse), Ok(S::Refused));
        assert!(S::Negotiating.next(A::Refuse).is_err());
        assert_eq!(S::Negotiating.next(A::Escalate), Ok(S::Escalated));
        assert_eq!(S::Escalated.next(A::AuthorityRefuse), Ok(S::Refused));
        assert_eq!(S::Escalated.next(A::AuthorityGrant), Ok(S::Granted));
        assert!(S::Escalated.next(A::Approve).is_err());
        for a in [A::Approve, A::Refuse, A::Withdraw, A::Escalate, A::AuthorityGrant, A::AuthorityRefuse] {
            assert!(S::Granted.next(a).is_err());
            assert!(S::Refused.next(a).is_err());
            assert!(S::Withdrawn.next(a).is_err());
        }
    }

    /// covers: R-SHR-06, R-SHR-13 (suspended, revoked, expired and wrong-mode access refused)
    #[test]
    fn access_check() {
        let exp = date(2026, 12, 31).unwrap();
        let ok = date(2026, 12, 31).unwrap();
        let late = date(2027, 1, 1).unwrap();
        let v = ShareMode::View;
        assert_eq!(check_access(GrantStatus::Active, exp, ok, v, v), Ok(()));
        assert_eq!(check_access(GrantStatus::Active, exp, late, v, v), Err(AccessDenied::Expired(exp)));
        assert_eq!(check_access(GrantStatus::Suspended, exp, ok, v, v), Err(AccessDenied::Suspended));
        assert_eq!(check_access(GrantStatus::Revoked, exp, ok, v, v), Err(AccessDenied::Revoked));
        assert_eq!(
            check_access(GrantStatus::Active, exp, ok, ShareMode::Verify, v),
            Err(AccessDenied::WrongMode { granted: ShareMode::Verify, asked: v })
        );
        assert_eq!(GrantStatus::Active.next(GrantAction::Suspend), Ok(GrantStatus::Suspended));
        assert_eq!(GrantStatus::Suspended.next(GrantAction::Resume), Ok(GrantStatus::Active));
        assert!(GrantStatus::Revoked.next(GrantAction::Resume).is_err());
        assert!(GrantStatus::Active.next(GrantAction::Resume).is_err());
    }

    /// covers: R-SEC-02 (masking formats of STANDARDS.md)
    #[test]
    fn masking_formats() {
        assert_eq!(mask(MaskRule::IdNumber, "440401199001011768").unwrap(), "440401********1768");
        assert_eq!(mask(MaskRule::Mobile, "18012341999").unwrap(), "180****1999");
        assert_eq!(mask(MaskRule::Name, "段誉之").unwrap(), "段**");
        assert_eq!(mask(MaskRule::Name, "段").unwrap(), "*");
        assert_eq!(mask(MaskRule::Email, "duan@example.cn").unwrap(), "d**@example.cn");
        assert_eq!(mask(MaskRule::Address, "广东省佛山市禅城区季华五路１８号").unwrap(), "广东省佛山市禅城********");
        assert_eq!(mask(MaskRule::BankCard, "6222021234567890123").unwrap(), "622202*********0123");
        assert_eq!(mask(MaskRule::Suppress, "x"), None);
        assert_eq!(mask(MaskRule::Pseudonym, "x"), None);
        assert_eq!(mask(MaskRule::Mobile, "123").unwrap(), "***");
    }

    /// covers: R-SHR-04 (two grants cannot join on the pseudonym)
    #[test]
    fn pseudonyms_are_per_grant() {
        let a = pseudonym(b"grant-1-key", "440401199001011768");
        let b = pseudonym(b"grant-2-key", "440401199001011768");
        assert_eq!(a, pseudonym(b"grant-1-key", "440401199001011768"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        // RFC 4231 test case 2, the first 16 bytes of the tag.
        assert_eq!(pseudonym(b"Jefe", "what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c7");
        assert!(!a.contains("440401"));
        assert_eq!(protect(MaskRule::Pseudonym, b"k", Some("v")), Some(pseudonym(b"k", "v")));
        assert_eq!(protect(MaskRule::Name, b"k", None), None);
    }

    /// covers: R-SHR-05, R-SHR-07
    #[test]
    fn least_data_and_scenarios() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(beyond_need(&s(&["name", "phone", "id"]), &s(&["id", "name"])), s(&["phone"]));
        assert!(within_scenario(1, ShareMode::View, &s(&["id"]), 1, ShareMode::View, &s(&["id", "name"])));
        assert!(!within_scenario(1, ShareMode::Bulk, &s(&["id"]), 1, ShareMode::View, &s(&["id", "name"])));
        assert!(!within_scenario(1, ShareMode::View, &s(&["phone"]), 1, ShareMode::View, &s(&["id", "name"])));
        assert!(!within_scenario(2, ShareMode::View, &s(&["id"]), 1, ShareMode::View, &s(&["id"])));
    }

    /// covers: R-SHR-04 (verify returns verdicts only; statistics suppress small cells)
    #[test]
    fn verify_and_small_cells() {
        let claimed: BTreeMap<String, String> =
            [("name".to_string(), "张三".to_string()), ("phone".to_string(), "1".to_string())].into();
        let actual: BTreeMap<String, Option<String>> =
            [("name".to_string(), Some(" 张三".to_string())), ("phone".to_string(), None)].into();
        let v = verify(&claimed, &actual);
        assert_eq!(v.get("name"), Some(&true));
        assert_eq!(v.get("phone"), Some(&false));
        assert!(!cell_shown(4, 5));
        assert!(cell_shown(5, 5));
        assert!(!cell_shown(0, 0));
    }

    /// covers: R-SHR-04 (row filters)
    #[test]
    fn row_filters() {
        let f = RowFilter { field: "id".into(), op: FilterOp::Prefix, values: vec!["440604".into()] };
        assert!(f.admits(Some("440604199001011234")));
        assert!(!f.admits(Some("440401199001011234")));
        assert!(!f.admits(None));
        let e = RowFilter { field: "d".into(), op: FilterOp::Eq, values: vec!["禅城区".into()] };
        assert!(e.admits(Some("禅城区")));
        assert!(!e.admits(Some("禅城")));
    }

    /// The masking formats as first written (characters collected, then joined): the reference
    /// the faster [`mask`] must agree with.
    fn mask_reference(rule: MaskRule, value: &str) -> Option<String> {
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        let keep = |first: usize, last: usize| -> String {
            if n <= first + last {
                return "*".repeat(n);
            }
            let mut s: String = chars[..first].iter().collect();
            s.push_str(&"*".repeat(n - first - last));
            s.extend(&chars[n - last..]);
            s
        };
        Some(match rule {
            MaskRule::None => value.to_string(),
            MaskRule::IdNumber | MaskRule::BankCard => keep(6, 4),
            MaskRule::Mobile => keep(3, 4),
            MaskRule::Name => match chars.first() {
                Some(c) if n > 1 => std::iter::once(*c).chain(std::iter::repeat_n('*', n - 1)).collect(),
                _ => "*".repeat(n),
            },
            MaskRule::Address => {
                let shown = n.saturating_sub(8);
                chars[..shown].iter().collect::<String>() + &"*".repeat(n - shown)
            }
            MaskRule::Email => {
                let (local, domain) = value.split_once('@').unwrap_or((value, ""));
                let first: String = local.chars().take(1).collect();
                if domain.is_empty() { format!("{first}**") } else { format!("{first}**@{domain}") }
            }
            MaskRule::Pseudonym | MaskRule::Suppress => return None,
        })
    }

    proptest! {
        /// covers: R-SEC-02 (masking keeps the character count for the keep-ends formats and never
        /// reveals more than the kept ends, for any Unicode input; never panics)
        #[test]
        fn masking_is_char_safe(v in "\\PC{0,40}") {
            let n = v.chars().count();
            for rule in [MaskRule::IdNumber, MaskRule::Mobile, MaskRule::Name, MaskRule::Address, MaskRule::BankCard] {
                let m = mask(rule, &v).unwrap();
                prop_assert_eq!(m.chars().count(), n);
                let stars = m.chars().filter(|c| *c == '*').count();
                prop_assert!(stars >= n.min(1) || n == 0);
            }
            let _ = mask(MaskRule::Email, &v);
        }

        /// covers: R-SEC-02, R-SHR-04 (every masking format gives exactly what the reference
        /// implementation gives, for ASCII and for any Unicode input)
        #[test]
        fn masking_agrees_with_the_reference(v in "\\PC{0,40}", a in "[0-9A-Za-z@.]{0,30}") {
            for rule in [MaskRule::None, MaskRule::IdNumber, MaskRule::BankCard, MaskRule::Mobile, MaskRule::Name,
                MaskRule::Address, MaskRule::Email, MaskRule::Pseudonym, MaskRule::Suppress] {
                prop_assert_eq!(mask(rule, &v), mask_reference(rule, &v));
                prop_assert_eq!(mask(rule, &a), mask_reference(rule, &a));
            }
        }
    }

    /// covers: R-SHR-10 (an emergency raises the share type, never lowers it)
    #[test]
    fn emergencies_only_raise() {
        use ShareType::*;
        assert_eq!(raised(NotShared, Conditional), Conditional);
        assert_eq!(raised(NotShared, Unconditional), Unconditional);
        assert_eq!(raised(Conditional, Unconditional), Unconditional);
        assert_eq!(raised(Unconditional, Conditional), Unconditional);
        assert_eq!(raised(Conditional, NotShared), Conditional);
    }

    /// covers: R-SHR-13 (usage reports every 90 days from the grant or the last report's period)
    #[test]
    fn usage_reports_fall_due_each_period() {
        let d = |s: &str| Date::parse(s, crate::calendar::ISO_DATE).unwrap();
        assert_eq!(report_due(d("2026-01-01"), None), d("2026-04-01"));
        assert_eq!(report_due(d("2026-01-01"), Some(d("2026-03-31"))), d("2026-06-29"));
        // A report for a period before the grant does not push the deadline back.
        assert_eq!(report_due(d("2026-01-01"), Some(d("2025-12-01"))), d("2026-04-01"));
    }

    /// covers: R-SHR-11 (the demand list: the authority assigns, the provider fulfils or
    /// declines, closed demands stay closed)
    #[test]
    fn demand_life_cycle() {
        use DemandAction as A;
        use DemandStatus as S;
        assert_eq!(S::Open.next(A::Assign), Ok(S::Assigned));
        assert_eq!(S::Assigned.next(A::Assign), Ok(S::Assigned));
        assert_eq!(S::Assigned.next(A::Fulfil), Ok(S::Fulfilled));
        assert_eq!(S::Open.next(A::Decline), Ok(S::Declined));
        assert!(S::Open.next(A::Fulfil).is_err());
        for closed in [S::Fulfilled, S::Declined] {
            for a in [A::Assign, A::Fulfil, A::Decline] {
                assert_eq!(closed.next(a), Err(DemandTransitionError { from: closed }));
            }
        }
        for s in [S::Open, S::Assigned, S::Fulfilled, S::Declined] {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
    }
}
