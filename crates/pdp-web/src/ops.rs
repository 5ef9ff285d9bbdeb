//! Operational routes: health, readiness, metrics, static assets, the OpenAPI document, 404.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, AppError};
use crate::error::{ErrorKind, status_of};
use crate::{AppState, auth, layout};

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the metadata database answers too.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.storage.ping().await {
        Ok(()) => format!("ready ({})", state.storage.backend()).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (status_of(ErrorKind::Unavailable), "database unavailable").into_response()
        }
    }
}

/// The Prometheus metrics. They describe the platform's load, failures and backlog, which an
/// attacker should not read, so they are served only to the platform's operators (platform
/// administrator, security administrator, auditor; Prometheus sends such an account's API key
/// as its bearer token), or to anyone when `security.metrics_public` is set for a scraper on a
/// closed network.
pub async fn metrics(
    State(state): State<Arc<AppState>>,
    principal: Option<axum::Extension<crate::auth::Principal>>,
) -> Response {
    use pdp_domain::roles::Permission;
    if !state.settings.metrics_public {
        match principal {
            None => return crate::error::ApiError(crate::error::AppError::unauthenticated()).into_response(),
            Some(axum::Extension(p))
                if ![Permission::ManageOrgs, Permission::ManageAllApiKeys, Permission::ViewAudit]
                    .iter()
                    .any(|perm| p.allows(*perm)) =>
            {
                return crate::error::ApiError(AppError::forbidden()).into_response();
            }
            Some(_) => {}
        }
    }
    let head = state.storage.audit_head().await.map(|h| h.seq).unwrap_or(-1);
    let mut text = crate::metrics::render(&state, head);
    if let Ok(d) = pdp_app::datasets::overdue_summary(state.storage.as_ref()).await {
        text.push_str(&d);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// Vendored assets, compiled into the binary: pages never load anything from another host.
pub async fn static_file(Path(file): Path<String>) -> Response {
    let (body, ctype): (&'static [u8], &str) = match file.as_str() {
        "htmx.min.js" => (include_bytes!("../static/htmx.min.js"), "text/javascript; charset=utf-8"),
        "pdp.css" => (include_bytes!("../static/pdp.css"), "text/css; charset=utf-8"),
        "pdp.js" => (include_bytes!("../static/pdp.js"), "text/javascript; charset=utf-8"),
        // Apache ECharts 5.6.0 (Apache-2.0), from the npm package `echarts`.
        "echarts.min.js" => (include_bytes!("../static/echarts.min.js"), "text/javascript; charset=utf-8"),
        _ => return ApiError(AppError::not_found(&file)).into_response(),
    };
    ([(header::CONTENT_TYPE, ctype), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::openapi_json()).into_response()
}

pub async fn not_found(uri: Uri) -> Response {
    let e = AppError::not_found(uri.path());
    if auth::is_api(uri.path()) { ApiError(e).into_response() } else { layout::error_page(e) }
}
