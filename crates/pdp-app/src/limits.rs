//! Bounds on what one request may ask of the platform, so that none can end the process or
//! swell it: body and upload sizes, a timeout, requests in flight, offsets, XLSX sheets, and
//! CPU-heavy work (password hashing, parsing) run off the async workers behind a semaphore.
//! The numbers are configuration (`limits.*`, see [`Limits`]); the HTTP layer enforces the
//! request-level ones.

use crate::App;
use crate::error::AppError;
pub use pdp_interchange::xlsx::SheetLimits;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The configured bounds.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest request body a JSON, form or file-import endpoint reads (`limits.body_bytes`).
    pub body_bytes: usize,
    /// The largest dataset upload, spooled to disk (`limits.upload_bytes`).
    pub upload_bytes: u64,
    /// How long a request may take to produce its response (`limits.request_timeout_secs`).
    pub request_timeout: Duration,
    /// Requests served at once; more are answered 503 at once (`limits.max_concurrent_requests`).
    pub max_concurrent_requests: usize,
    /// CPU-heavy tasks run at once (`limits.cpu_tasks`).
    pub cpu_tasks: usize,
    /// The largest offset of any paged listing (`limits.max_offset`).
    pub max_offset: u64,
    /// XLSX sheets (`limits.xlsx_max_rows`, `xlsx_max_columns`, `xlsx_max_cells`,
    /// `xlsx_max_part_bytes`).
    pub sheet: SheetLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes: 16 << 20,
            upload_bytes: 2 << 30,
            request_timeout: Duration::from_secs(600),
            max_concurrent_requests: 512,
            cpu_tasks: 2,
            max_offset: 1_000_000,
            sheet: SheetLimits::default(),
        }
    }
}

/// The semaphores behind the limits, made once per server.
pub struct Gates {
    pub in_flight: Arc<Semaphore>,
    pub cpu: Arc<Semaphore>,
}

impl Gates {
    pub fn new(l: &Limits) -> Self {
        Self {
            in_flight: Arc::new(Semaphore::new(l.max_concurrent_requests.max(1))),
            cpu: Arc::new(Semaphore::new(l.cpu_tasks.max(1))),
        }
    }
}

/// Runs CPU-heavy work (password hashing, parsing a file) on the blocking pool, at most
/// `cpu_tasks` at once, so that the async workers keep answering other requests.
pub async fn on_cpu<T: Send + 'static>(state: &App, f: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    let internal = || AppError::internal("internal", "内部错误", "internal error");
    let _permit = state.gates.cpu.clone().acquire_owned().await.map_err(|_| internal())?;
    tokio::task::spawn_blocking(f).await.map_err(|_| internal())
}

/// An offset from a query, refused past `limits.max_offset` (or below zero) with a clear 400.
pub fn offset<T: TryInto<u64> + Copy + std::fmt::Display>(state: &App, v: Option<T>) -> Result<usize, AppError> {
    let Some(v) = v else { return Ok(0) };
    let max = state.settings.limits.max_offset;
    match v.try_into() {
        Ok(n) if n <= max => Ok(n as usize),
        _ => Err(AppError::bad_request(
            "offset_out_of_range",
            format!("offset 须在 0 到 {max} 之间（收到 {v}），请缩小查询条件"),
            format!("offset must be between 0 and {max} (got {v}); narrow the query instead"),
        )),
    }
}

/// The error of an upload past `limits.upload_bytes`.
pub fn upload_too_large(max: u64) -> AppError {
    AppError::new(
        crate::error::ErrorKind::TooLarge,
        "upload_too_large",
        format!("上传文件超过 {} MiB 上限", max >> 20),
        format!("the upload is larger than the limit of {} MiB", max >> 20),
    )
}
