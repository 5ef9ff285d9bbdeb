//! Bounds on what one request may ask of the server, so that no request can end the process or
//! swell it: body and upload sizes, a timeout, a limit on requests in flight, offsets, XLSX
//! sheets, and CPU-heavy work (password hashing, parsing) run off the async workers behind a
//! semaphore. The numbers are configuration (`limits.*`, see [`Limits`]).

use crate::AppState;
use crate::error::{ApiError, AppError};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
pub use pdp_app::limits::*;
pub use pdp_interchange::xlsx::SheetLimits;
use std::sync::Arc;

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
