//! The HTTP layer of PDP: the JSON API under `/api/v1`, the server-rendered pages, sessions and
//! the permission gate.
//!
//! This is the only crate that knows HTTP. Handlers turn a request into a call of a use case of
//! [`pdp_app`] and its answer into JSON or a page; requests are read through one set of
//! extractors ([`extract`]); errors become responses in one place ([`error`]); every route and
//! the permission it needs are declared in one table ([`routes`]), which both builds the router
//! and drives the deny-by-default test.

pub mod accounts;
pub mod api;
pub mod auth;
pub mod calendar;
pub mod catalog;
pub mod catalog_pages;
pub mod ckan;
pub mod dataset_pages;
pub mod datasets;
pub mod dcat;
pub mod delta_sharing;
pub mod document_pages;
pub mod documents;
pub mod error;
pub mod extract;
pub mod governance_pages;
pub mod harvest;
pub mod i18n;
pub mod layout;
pub mod limits;
pub mod metrics;
pub mod objections;
pub mod open;
pub mod operation;
pub mod operation_pages;
pub mod ops;
pub mod pages;
pub mod portal_pages;
pub mod routes;
pub mod share_ops;
pub mod sharing;
pub mod sharing_pages;
pub mod social;
pub mod sources;
pub mod webhook;
pub mod withdrawals;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;

pub use pdp_app::{App, Settings};

/// Everything a handler can reach: the application, and what only the HTTP side keeps (login
/// request rates, metrics, the Delta Sharing URL key). Dereferences to
/// [`App`], so a handler passes `&state` to a use case.
pub struct AppState {
    pub app: Arc<App>,
    pub rate: auth::RateLimiter,
    pub metrics: metrics::Metrics,
    pub started: Instant,
    /// Signs the file URLs of the Delta Sharing server, which are fetched without a bearer
    /// token. Made fresh at start: a restart only makes clients ask for new URLs.
    pub share_url_key: Vec<u8>,
    /// The address clients reach the platform at, set once the server listens (`public_url`).
    pub public_url: std::sync::OnceLock<String>,
}

impl AppState {
    /// The HTTP side around a configured application.
    pub fn new(app: Arc<App>) -> Self {
        Self {
            app,
            rate: auth::RateLimiter::default(),
            metrics: metrics::Metrics::default(),
            started: Instant::now(),
            share_url_key: auth::random_token().into_bytes(),
            public_url: std::sync::OnceLock::new(),
        }
    }

    /// The platform's configured public address, for absolute URLs (file links, feeds, API
    /// examples). Never the request's `Host` header: a client that sent a forged one would be
    /// handed links to another server.
    pub fn base_url(&self) -> &str {
        self.public_url.get().map(String::as_str).unwrap_or("http://127.0.0.1:8080")
    }
}

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

/// Builds the application: every route from the table behind the permission gate.
pub fn app(state: Arc<AppState>) -> Router {
    let mut router = Router::new();
    for (spec, method_router) in routes::table() {
        router = router.route(spec.path, method_router);
    }
    router
        .route_layer(from_fn_with_state(state.clone(), auth::gate))
        .fallback(ops::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(state.settings.limits.body_bytes))
        .layer(from_fn_with_state(state.clone(), envelope))
        .layer(from_fn_with_state(state.clone(), limits::bound))
        .with_state(state)
}

/// The benchmark's floor, only in a build with the `bench` feature: `GET /bench/bare?bytes=N`
/// answers a JSON body of
/// `N` bytes (at most 1 MiB) with no authentication, no storage and no audit. Merged outside the
/// permission gate and the middleware on purpose, so it measures bare axum on this machine. Its
/// response carries the same headers as every platform response ([`security_headers`], set in
/// the handler, not by a middleware), so that with a body of the same size the whole response
/// is the same size as the access path's it is compared with, as the benchmark asks.
#[cfg(feature = "bench")]
pub fn bench_router() -> Router {
    use axum::extract::Query;
    use axum::routing::get;
    #[derive(serde::Deserialize)]
    struct Size {
        bytes: Option<usize>,
    }
    async fn bare(Query(q): Query<Size>) -> Response {
        use axum::response::IntoResponse;
        let n = q.bytes.unwrap_or(64).clamp(12, 1 << 20);
        let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(n - 10));
        let mut res = ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response();
        security_headers(res.headers_mut());
        res
    }
    Router::new().route("/bench/bare", get(bare))
}

/// Sets the headers every platform response carries: they keep pages from being framed,
/// sniffed, cached or from loading anything off-site.
pub fn security_headers(h: &mut axum::http::HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    // Pages and answers carry records, tokens and CSRF secrets: no browser or proxy keeps them
    // (a shared office computer's back button, a caching proxy). Vendored assets say otherwise.
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
}

/// What every response gets, in one middleware rather than one each (each costs a boxed
/// service call per request, measured on the sharing benchmark's access path): the metrics and
/// [`security_headers`].
async fn envelope(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let mut res = next.run(req).await;
    metrics::track(&state.metrics, start, &res);
    security_headers(res.headers_mut());
    res
}

/// The OpenAPI document as pretty JSON, exactly as committed in `docs/openapi.json`.
pub fn openapi_json() -> String {
    use utoipa::OpenApi;
    let mut doc = api::ApiDoc::openapi();
    doc.merge(catalog::CatalogDoc::openapi());
    doc.merge(datasets::DatasetsDoc::openapi());
    doc.merge(sources::SourcesDoc::openapi());
    doc.merge(objections::ObjectionsDoc::openapi());
    doc.merge(open::OpenDoc::openapi());
    doc.merge(harvest::HarvestDoc::openapi());
    doc.merge(operation::OperationDoc::openapi());
    doc.merge(sharing::SharingDoc::openapi());
    doc.merge(share_ops::ShareOpsDoc::openapi());
    doc.merge(documents::DocumentsDoc::openapi());
    doc.merge(calendar::CalendarDoc::openapi());
    doc.merge(accounts::AccountsDoc::openapi());
    doc.merge(withdrawals::WithdrawalsDoc::openapi());
    let mut s = doc.to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}
