//! Tracing a file that left the platform back to the grant it came from (R-SHR-08): `pdp trace
//! FILE` reads a CSV, XLSX or Parquet file (a whole copy or an excerpt, its rows and columns in
//! any order), checks its masked cells against the recipient fingerprint of every bulk grant
//! and of every application for on-application open data (`pdp_domain::fingerprint`), and
//! names the grant or application, its user organisation or applicant, its purpose and when
//! its copies were taken. The metadata a Parquet copy carries is shown as what the file
//! claims; only the fingerprint is evidence.
//!
//! A copy whose fields are all in clear carries the mark in its `pdp_trace` column. A file with
//! no mark at all (that column dropped, say) names no grant; then the grants whose fields cover
//! the file's columns are listed as the ones that could have produced it.

use std::collections::BTreeSet;
use std::path::Path;

use pdp_domain::catalog::ShareMode;
use pdp_domain::fingerprint::{self, Verdict};
use pdp_storage::{AuditQuery, Grant, GrantQuery, Storage};
use serde::Serialize;

use crate::error::AppError;

/// The largest file a trace reads.
pub const MAX_TRACE_BYTES: u64 = 512 * 1024 * 1024;
/// The most rows a trace reads: far more than a few hundred decide.
pub const MAX_TRACE_ROWS: usize = 200_000;

/// A grant the file was checked against and what the check found.
#[derive(Debug, Clone, Serialize)]
pub struct TraceMatch {
    /// `grant`, or `open_application` for an applicant's copy of on-application open data.
    pub kind: &'static str,
    /// The grant's or the application's id.
    pub grant_id: i64,
    pub dataset: String,
    pub user_org_id: i64,
    pub user_org_name: String,
    pub purpose: String,
    pub status: String,
    pub created_at_micros: i64,
    /// When the grant's bulk copies were taken (the ends of its exports in the audit log,
    /// newest first, at most 20).
    pub exports_micros: Vec<i64>,
    /// Asterisks that agree with the grant's pattern, and asterisks checked.
    pub agree: usize,
    pub total: usize,
}

/// What a trace found.
#[derive(Debug, Clone, Serialize)]
pub struct TraceReport {
    pub columns: Vec<String>,
    pub rows: usize,
    /// Distinct masked values checked.
    pub masked_values: usize,
    /// What a Parquet file's footer says of itself (`pdp.grant`, `pdp.purpose`, ...).
    pub claims: Vec<(String, String)>,
    /// The grants whose fingerprint the file carries (normally one).
    pub matches: Vec<TraceMatch>,
    /// With no fingerprint to check: bulk grants whose fields cover the file's columns.
    pub candidates: Vec<TraceMatch>,
}

fn unreadable(path: &Path, why: impl std::fmt::Display) -> AppError {
    AppError::bad_request(
        "trace_unreadable",
        format!("无法读取文件 {}：{why}", path.display()),
        format!("cannot read {}: {why}", path.display()),
    )
}

/// The cells of `path`: Parquet by its signature, else CSV or XLSX.
fn read_cells(path: &Path) -> Result<pdp_lake::share::TableCells, AppError> {
    let size = std::fs::metadata(path).map_err(|e| unreadable(path, e))?.len();
    if size > MAX_TRACE_BYTES {
        return Err(AppError::bad_request(
            "trace_too_large",
            format!("文件超过 {} MB，请截取一部分再追溯", MAX_TRACE_BYTES >> 20),
            format!("the file is over {} MB; trace an excerpt of it", MAX_TRACE_BYTES >> 20),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| unreadable(path, e))?;
    if bytes.starts_with(b"PAR1") {
        return pdp_lake::share::read_parquet_cells(path, MAX_TRACE_ROWS).map_err(|e| unreadable(path, e));
    }
    let limits = pdp_interchange::xlsx::SheetLimits::default();
    let mut table = pdp_interchange::read_table(&bytes, &limits).map_err(|e| unreadable(path, e.message_en))?;
    if table.is_empty() {
        return Err(unreadable(path, "the file is empty"));
    }
    let columns = table.remove(0);
    let rows = table
        .into_iter()
        .take(MAX_TRACE_ROWS)
        .map(|r| r.into_iter().map(|c| if c.is_empty() { None } else { Some(c) }).collect())
        .collect();
    Ok(pdp_lake::share::TableCells { columns, rows, metadata: vec![] })
}

async fn describe(storage: &dyn Storage, g: &Grant, v: Verdict, exports: &[(i64, i64)]) -> TraceMatch {
    let user_org_name = storage.get_org(g.user_org_id).await.ok().flatten().map(|o| o.name).unwrap_or_default();
    TraceMatch {
        kind: "grant",
        grant_id: g.id,
        dataset: g.dataset.clone(),
        user_org_id: g.user_org_id,
        user_org_name,
        purpose: g.purpose.clone(),
        status: g.status.as_str().to_string(),
        created_at_micros: g.created_at_micros,
        exports_micros: exports.iter().filter(|(id, _)| *id == g.id).map(|(_, t)| *t).take(20).collect(),
        agree: v.agree,
        total: v.total,
    }
}

/// The ends of bulk exports in the audit log as (grant, time), newest first.
async fn exports(storage: &dyn Storage) -> Result<Vec<(i64, i64)>, AppError> {
    let q = AuditQuery { action: Some("share.access.bulk".into()), limit: Some(10_000), ..Default::default() };
    Ok(storage
        .search_audit(&q)
        .await?
        .into_iter()
        .filter_map(|e| {
            let detail: serde_json::Value = serde_json::from_str(&e.event.detail).ok()?;
            Some((detail.get("grant")?.as_i64()?, e.at_micros))
        })
        .collect())
}

/// Traces the file at `path` against every bulk grant, past or present.
pub async fn trace_file(storage: &dyn Storage, path: &Path) -> Result<TraceReport, AppError> {
    let cells = read_cells(path)?;
    let masked: BTreeSet<&str> =
        cells.rows.iter().flatten().flatten().map(String::as_str).filter(|c| fingerprint::is_masked(c)).collect();
    let grants: Vec<Grant> =
        storage.list_grants(&GrantQuery::default()).await?.into_iter().filter(|g| g.mode == ShareMode::Bulk).collect();
    let exports = exports(storage).await?;
    let mut matches = Vec::new();
    let mut candidates = Vec::new();
    for g in &grants {
        let Some(secret) = storage.grant_key(g.id).await? else { continue };
        let v = Verdict::of(&fingerprint::key_of(&secret), masked.iter().copied());
        if v.matches() {
            matches.push(describe(storage, g, v, &exports).await);
        } else if v.total < Verdict::MIN_BITS
            && !cells.columns.is_empty()
            && cells.columns.iter().all(|c| g.fields.contains(c))
        {
            candidates.push(describe(storage, g, v, &exports).await);
        }
    }
    // Applicants' copies of on-application open data carry the same kind of mark under their
    // application's own key.
    let downloads = storage
        .search_audit(&AuditQuery {
            action: Some("open.application.download".into()),
            limit: Some(10_000),
            ..Default::default()
        })
        .await?;
    for a in storage.list_applications(&pdp_storage::ApplicationQuery::default()).await? {
        let Some(secret) = storage.application_secret(a.id).await? else { continue };
        let v = Verdict::of(&fingerprint::key_of(&secret), masked.iter().copied());
        if v.matches() {
            let object = format!("application:{}", a.id);
            matches.push(TraceMatch {
                kind: "open_application",
                grant_id: a.id,
                dataset: a.dataset.clone(),
                user_org_id: 0,
                user_org_name: a.applicant_name.clone(),
                purpose: a.purpose.clone(),
                status: a.status.as_str().to_string(),
                created_at_micros: a.created_at_micros,
                exports_micros: downloads
                    .iter()
                    .filter(|e| e.event.object == object)
                    .map(|e| e.at_micros)
                    .take(20)
                    .collect(),
                agree: v.agree,
                total: v.total,
            });
        }
    }
    Ok(TraceReport {
        columns: cells.columns,
        rows: cells.rows.len(),
        masked_values: masked.len(),
        claims: cells.metadata.into_iter().filter(|(k, _)| k.starts_with("pdp.")).collect(),
        matches,
        candidates,
    })
}
