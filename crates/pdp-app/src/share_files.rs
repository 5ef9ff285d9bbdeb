//! The masked copies a grant's Delta Sharing clients download: where they live beside the
//! lake's tables, and their removal when the grant stops serving or a version is superseded.

use std::path::PathBuf;

use pdp_domain::catalog::ShareMode;
use pdp_domain::sharing::{self, GrantStatus};

use crate::App;
use crate::clock::today_date;
use crate::datasets::lake;
use crate::error::AppError;

/// How long a signed file URL works.
pub const URL_TTL_MICROS: i64 = 15 * 60 * 1_000_000;

/// Where the served file of a grant at a table version lives: beside the tables, under
/// `_shares/`, never inside a table's directory.
pub fn share_file(state: &App, grant: i64, version: u64) -> Result<PathBuf, AppError> {
    let root = lake(state)?.root().to_file_path().map_err(|_| {
        AppError::new(
            crate::error::ErrorKind::Unsupported,
            "delta_sharing_needs_local_lake",
            "Delta Sharing 目前只支持本地目录中的数据湖",
            "Delta Sharing serves files from a data lake in a local directory only, for now",
        )
    })?;
    Ok(root.join("_shares").join(format!("grant-{grant}")).join(format!("v{version}.parquet")))
}

/// Deletes the copies made for a grant: all of them when the grant no longer serves (`keep`
/// `None`), or those of versions other than `keep` once their file URLs have expired (a copy is
/// made per grant and version; a grant serves the latest version only). A copy is the grant's
/// data, masked: it must not outlive the grant.
pub fn remove_share_files(state: &App, grant: i64, keep: Option<u64>) {
    let Ok(path) = share_file(state, grant, keep.unwrap_or(0)) else { return };
    let Some(dir) = path.parent() else { return };
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let url_ttl = std::time::Duration::from_micros(URL_TTL_MICROS as u64);
    for entry in entries.flatten() {
        let p = entry.path();
        if keep.is_some_and(|v| p.file_name().is_some_and(|n| n == format!("v{v}.parquet").as_str())) {
            continue;
        }
        let old_enough = keep.is_none()
            || entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|e| e > url_ttl));
        if old_enough && let Err(e) = std::fs::remove_file(&p) {
            tracing::warn!(error = %e, file = %p.display(), "could not delete a grant's copy");
        }
    }
    if keep.is_none() {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Deletes the copies of every grant that no longer serves (revoked, expired; run hourly by
/// `pdp serve`), and the superseded versions of those that do.
pub async fn sweep_share_files(state: &App) -> Result<usize, AppError> {
    let mut removed = 0;
    for g in state.storage.list_grants(&pdp_storage::GrantQuery::default()).await? {
        // Only grants with copies on disk cost anything more (a lake table opened for the latest
        // version); most grants never had one.
        if !share_file(state, g.id, 0).is_ok_and(|p| p.parent().is_some_and(|d| d.exists())) {
            continue;
        }
        let status = g.status;
        let serves = sharing::check_access(status, g.expires_on, today_date(), ShareMode::Bulk, ShareMode::Bulk)
            .is_ok()
            || status == GrantStatus::Suspended;
        if serves {
            if let Ok(v) = lake(state)?.latest_version(&g.dataset).await {
                remove_share_files(state, g.id, Some(v));
            }
        } else {
            remove_share_files(state, g.id, None);
            removed += 1;
        }
    }
    Ok(removed)
}
