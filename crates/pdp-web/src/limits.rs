//! Bounds on what one request may ask of the server, so that no request can end the process or
//! swell it: body and upload sizes, a timeout, a limit on requests in flight, offsets, XLSX
//! sheets, and CPU-heavy work (password hashing, parsing) run off the async workers behind a
//! semaphore. The numbers are configuration (`limits.*`, see [`Limits`]).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
pub use pdp_interchange::xlsx::SheetLimits;
use tokio::sync::Semaphore;

use crate::AppState;
use crate::error::{ApiError, AppError};

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
    in_flight: Arc<Semaphore>,
    cpu: Arc<Semaphore>,
}

impl Gates {
    pub fn new(l: &Limits) -> Self {
        Self {
            in_flight: Arc::new(Semaphore::new(l.max_concurrent_requests.max(1))),
            cpu: Arc::new(Semaphore::new(l.cpu_tasks.max(1))),
        }
    }
}

/// The outermost middleware: a request beyond `max_concurrent_requests` is answered 503 at
/// once (its body is not read), and one that takes longer than `request_timeout` to produce
/// its response is dropped (its transaction rolls back) and answered 503.
pub async fn bound(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Ok(_permit) = state.gates.in_flight.clone().try_acquire_owned() else {
        return ApiError(AppError::unavailable(
            "server_busy",
            "服务器繁忙，请稍后再试",
            "the server is busy; retry shortly",
        ))
        .into_response();
    };
    match tokio::time::timeout(state.settings.limits.request_timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError(AppError::unavailable(
            "request_timeout",
            format!("请求处理超过 {} 秒，已中止", state.settings.limits.request_timeout.as_secs()),
            format!(
                "the request took longer than {} s and was stopped",
                state.settings.limits.request_timeout.as_secs()
            ),
        ))
        .into_response(),
    }
}

/// Runs CPU-heavy work (password hashing, parsing a file) on the blocking pool, at most
/// `cpu_tasks` at once, so that the async workers keep answering other requests.
pub async fn on_cpu<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let internal = || AppError::internal("internal", "内部错误", "internal error");
    let _permit = state.gates.cpu.clone().acquire_owned().await.map_err(|_| internal())?;
    tokio::task::spawn_blocking(f).await.map_err(|_| internal())
}

/// An offset from a query, refused past `limits.max_offset` (or below zero) with a clear 400.
pub fn offset<T: TryInto<u64> + Copy + std::fmt::Display>(state: &AppState, v: Option<T>) -> Result<usize, AppError> {
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
