//! Social data (社会数据, R-OPN-07 route 4): an organisation registered on the open portal
//! submits a dataset it holds; the city's data authority hosts it and reviews it like any
//! release before the public sees it.
//!
//! A submission becomes three things, each the platform's usual kind: a catalog entry of the
//! host naming the organisation as collecting department (a draft until approved, so agencies
//! see nothing unreviewed), a lake version of the file loaded with the usual validation (refused
//! rows quarantined with their reasons), and a release of route `social` pending review. The
//! reviewer's approval publishes the entry with the release; a return leaves the entry a draft.

use pdp_domain::catalog::{VersionStatus, validate};
use pdp_domain::open::{ReleaseRoute, ReleaseStatus};
use pdp_domain::org::{OrgKind, RegionLevel};
use pdp_domain::social::{SocialInput, check_social, social_entry_body, social_rules};
use pdp_domain::subject::SubjectKind;
use pdp_lake::{LoadMeta, LoadMode, RowSource};
use pdp_storage::catalog::EntryVersion;
use pdp_storage::{OpenRelease, ReleaseQuery};
use serde::Serialize;
use utoipa::ToSchema;

use crate::datasets::{lake, load_and_record_only};
use crate::error::AppError;
use crate::open::{Prepared, ReleaseOut, invalid_release, prepare_in};
use crate::{App, Principal};

/// The most submissions an organisation may have waiting for review at once.
pub const MAX_PENDING: usize = 5;

/// A submission as its organisation sees it: the release with its state and the load's counts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SocialOut {
    pub release: ReleaseOut,
    /// Rows of the file that became the release.
    pub accepted: u64,
    /// Rows refused by validation, kept with their reasons in the dataset's quarantine.
    pub quarantined: u64,
    /// The first refused rows' reasons.
    pub first_errors: Vec<String>,
}

/// Whether `p` submitted the social release `r` (its organisation may see and withdraw it).
pub fn submitted_by(r: &OpenRelease, p: &Principal) -> bool {
    r.route == ReleaseRoute::Social && p.org_id.is_none() && r.prepared_by == p.user.username
}

/// The organisation a public account speaks for: its proved credit code and registered name.
/// Only an account whose credit code the security administrator bound (or an identity provider
/// confirmed) may publish in an organisation's name.
fn organisation_of(p: &Principal) -> Result<(String, String), AppError> {
    match &p.user.subject {
        Some(s) if p.org_id.is_none() && s.kind() == SubjectKind::LegalEntity => {
            Ok((p.user.display_name.clone(), s.id().to_string()))
        }
        _ => Err(AppError::not_allowed(
            "social_legal_entity_only",
            "只有已核验统一社会信用代码的法人账号可以提交社会数据",
            "only a legal entity's account with a verified credit code submits social data",
        )),
    }
}

/// The city's data authority, which hosts social data.
pub async fn host(storage: &dyn pdp_storage::Storage) -> Result<i64, AppError> {
    let regions = storage.list_regions().await?;
    let city: Vec<i64> = regions.iter().filter(|r| r.level == RegionLevel::City).map(|r| r.id).collect();
    storage
        .list_orgs()
        .await?
        .into_iter()
        .find(|o| o.kind == OrgKind::DataAuthority && city.contains(&o.region_id))
        .map(|o| o.id)
        .ok_or_else(|| {
            AppError::internal(
                "social_no_host",
                "未设置市级数据主管部门，无法接收社会数据",
                "no city data authority is set up to host social data",
            )
        })
}

/// Submits social data: checks the submission and the account, records the entry, loads the
/// file and prepares its release for the authority's review.
pub async fn submit(
    state: &App,
    p: &Principal,
    input: &SocialInput,
    source: Box<dyn RowSource>,
    filename: &str,
) -> Result<SocialOut, AppError> {
    let (organisation, credit_code) = organisation_of(p)?;
    let lk = lake(state)?;
    let mut violations = check_social(input);
    let body = social_entry_body(input, &organisation, &credit_code);
    if violations.is_empty() {
        violations = validate(&body, &state.catalog.matrix);
    }
    if !violations.is_empty() {
        return Err(invalid_release(&violations));
    }
    let pending =
        mine(state, p).await?.iter().filter(|s| s.release.release.status == ReleaseStatus::PendingReview).count();
    if pending >= MAX_PENDING {
        return Err(AppError::too_many(
            "social_too_many_pending",
            format!("待审核的社会数据已有 {MAX_PENDING} 份，请待审核后再提交"),
            format!("{MAX_PENDING} submissions are already waiting for review; submit more once they are decided"),
        ));
    }
    let host = host(state.storage.as_ref()).await?;
    let entry = state
        .storage
        .import_entries(host, &[(None, body)], None, p.event("open.social.entry", "catalog"))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            AppError::internal("social_entry_failed", "目录记录失败", "the catalog entry was not written")
        })?;
    let meta = LoadMeta { actor: p.user.username.clone(), source: filename.to_string(), ..Default::default() };
    let report = load_and_record_only(
        state.storage.as_ref(),
        lk,
        &entry,
        LoadMode::Full,
        meta,
        source,
        |_| {},
        p.event("dataset.load", &format!("dataset:{}", entry.code)),
    )
    .await?;
    if report.stats.accepted == 0 {
        return Err(AppError::bad_request(
            "social_no_valid_rows",
            format!("文件中没有通过校验的行（{} 行被隔离）", report.stats.quarantined),
            format!("no row of the file passed validation ({} quarantined)", report.stats.quarantined),
        ));
    }
    let mut ev = p.event("open.social.submit", &format!("dataset:{}", entry.code));
    ev.purpose = input.pledge.summary();
    let note = format!(
        "社会数据，由{organisation}提交；承诺：{} / social data submitted by {organisation} with its pledge",
        input.pledge.summary()
    );
    let rules = social_rules(&entry.body);
    let release = prepare_in(
        state.storage.as_ref(),
        lk,
        &state.catalog.matrix,
        &entry,
        &rules,
        Prepared { by: &p.user.username, route: ReleaseRoute::Social, note },
        ev,
    )
    .await?;
    Ok(SocialOut {
        release: crate::open::release_out(state, release).await,
        accepted: report.stats.accepted,
        quarantined: report.stats.quarantined,
        first_errors: report
            .first_errors
            .iter()
            .map(|q| {
                let why: Vec<&str> = q.errors.iter().map(|e| e.message_zh.as_str()).collect();
                format!("第 {} 行：{}", q.row, why.join("；"))
            })
            .collect(),
    })
}

/// The social data `p` submitted, newest first.
pub async fn mine(state: &App, p: &Principal) -> Result<Vec<SocialOut>, AppError> {
    if p.org_id.is_some() {
        return Ok(Vec::new());
    }
    let q = ReleaseQuery {
        route: Some(ReleaseRoute::Social),
        prepared_by: Some(p.user.username.clone()),
        limit: Some(200),
        ..Default::default()
    };
    let mut out = Vec::new();
    for r in state.storage.list_releases(&q).await? {
        let rows = r.rows as u64;
        out.push(SocialOut {
            release: crate::open::release_out(state, r).await,
            accepted: rows,
            quarantined: 0,
            first_errors: Vec::new(),
        });
    }
    Ok(out)
}

/// The draft entry of a social release under review.
pub(crate) async fn draft_entry(state: &App, r: &OpenRelease) -> Result<EntryVersion, AppError> {
    state
        .storage
        .get_entry(r.entry_id)
        .await?
        .filter(|e| e.status == VersionStatus::Draft)
        .ok_or_else(|| AppError::not_found(&format!("entry {}", r.entry_id)))
}

/// Publishes a social or harvested release's draft entry on its approval: the review of the
/// release is the review of the entry, which holds nothing the release does not show.
pub(crate) async fn publish_entry(state: &App, p: &Principal, e: &EntryVersion) -> Result<(), AppError> {
    let published = state
        .storage
        .transition_entry(
            e.entry_id,
            e.version,
            VersionStatus::Draft,
            VersionStatus::Published,
            Some(p.user.id),
            "随开放数据审查发布 / published with its reviewed release",
            p.event("catalog.publish_social", &format!("entry:{}", e.entry_id)),
        )
        .await?;
    crate::catalog::index_entries(state, std::slice::from_ref(&published)).await;
    Ok(())
}
