//! The HTTP layer of PDP: the JSON API under `/api/v1`, the server-rendered pages, sessions and
//! the permission gate.
//!
//! This is the only crate that knows HTTP. Handlers talk to [`pdp_storage::Storage`] and the
//! audit [`Appender`]; errors become responses in one place ([`error`]); every route and the
//! permission it needs are declared in one table ([`routes`]), which both builds the router and
//! drives the deny-by-default test.

pub mod access_cache;
pub mod accounts;
pub mod api;
pub mod auth;
pub mod calendar;
pub mod catalog;
pub mod catalog_pages;
pub mod dataset_pages;
pub mod datasets;
pub mod delta_sharing;
pub mod document_pages;
pub mod documents;
pub mod error;
pub mod governance_pages;
pub mod i18n;
pub mod limits;
pub mod metrics;
pub mod objections;
pub mod ops;
pub mod pages;
pub mod routes;
pub mod share_ops;
pub mod sharing;
pub mod sharing_pages;
pub mod sources;
pub mod withdrawals;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use pdp_audit::appender::{Appender, GroupCommit};
use pdp_audit::{PublicKey, SigningKey};
use pdp_domain::ids::FinalCheck;
use pdp_journal::{Journal, JournalConfig};
use pdp_storage::{AccessRecord, Storage};

/// Security settings the web layer needs, from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Send cookies with `Secure` (only over HTTPS, or to localhost in browsers).
    pub secure_cookies: bool,
    pub session_ttl: Duration,
    /// A session unused this long ends (`security.session_idle_minutes`); it never outlives
    /// `session_ttl` from its login.
    pub session_idle: Duration,
    pub login_max_failures: u32,
    pub login_window: Duration,
    /// The longest lifetime an API key may be given.
    pub api_key_max_days: i64,
    /// Whether a credit code whose final check character is wrong is refused or accepted with
    /// a warning.
    pub credit_code_final_check: FinalCheck,
    /// Requests per second one API key may make (bursts up to twice that); 0 means no limit.
    pub api_key_rate_per_second: u32,
    /// Failed logins from one client address within `login_window` before its logins are
    /// refused (`security.login_max_failures_per_address`).
    pub login_max_failures_per_address: u32,
    /// Sizes, offsets, timeouts and concurrency (`limits.*`).
    pub limits: limits::Limits,
    /// `/metrics` answers anyone (`security.metrics_public`); otherwise only operators.
    pub metrics_public: bool,
    /// Verifications per second per grant, and per signed-in account (bursts up to twice
    /// that); 0 means no limit (`security.verify_rate_per_grant`).
    pub verify_rate_per_grant: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            secure_cookies: true,
            session_ttl: Duration::from_secs(8 * 3600),
            session_idle: Duration::from_secs(30 * 60),
            login_max_failures: 5,
            login_window: Duration::from_secs(15 * 60),
            api_key_max_days: 365,
            credit_code_final_check: FinalCheck::Error,
            api_key_rate_per_second: 100,
            login_max_failures_per_address: 50,
            limits: limits::Limits::default(),
            metrics_public: false,
            verify_rate_per_grant: 20,
        }
    }
}

/// Everything a handler can reach.
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub audit: Appender,
    /// The group commit of data accesses: usage counters and audit events (see
    /// [`AppState::record_access`]).
    pub access_log: GroupCommit<AccessRecord, ()>,
    /// The access journal, when the server runs with a data directory: then accesses are
    /// appended there instead of going through `access_log` (see [`AppState::open_journal`]).
    pub journal: Option<Journal<AccessRecord>>,
    /// API keys and grant terms read by every access, invalidated on change.
    pub access_cache: access_cache::AccessCache,
    pub settings: Settings,
    pub throttle: auth::Throttle,
    /// The semaphores of the request and CPU limits.
    pub gates: limits::Gates,
    pub rate: auth::RateLimiter,
    /// Verifications per grant (keyed by grant id) and per account (keyed by minus its id).
    pub verify_rate: auth::RateLimiter,
    /// Refused requests (bad API keys, CSRF failures) audited per kind per second.
    pub refusal_rate: auth::RateLimiter,
    pub metrics: metrics::Metrics,
    /// The trusted checkpoint key, for verification from the auditor's page.
    pub checkpoint_key: Option<PublicKey>,
    pub started: Instant,
    /// The grading matrix, the working-day calendar and the search index.
    pub catalog: catalog::CatalogCtx,
    /// The data lake; `None` only in tools that run without one.
    pub lake: Option<pdp_lake::Lake>,
    /// Signs the file URLs of the Delta Sharing server, which are fetched without a bearer
    /// token. Made fresh at start: a restart only makes clients ask for new URLs.
    pub share_url_key: Vec<u8>,
    /// The address clients reach the platform at, set once the server listens (`public_url`).
    pub public_url: std::sync::OnceLock<String>,
}

impl AppState {
    pub fn new(storage: Arc<dyn Storage>, settings: Settings, signing: Option<&SigningKey>) -> Self {
        let audit = Appender::spawn(Arc::new(pdp_storage::StorageSink(storage.clone())), 512);
        let access_log = GroupCommit::spawn(Arc::new(pdp_storage::AccessSink(storage.clone())), 512);
        let gates = limits::Gates::new(&settings.limits);
        Self {
            storage,
            audit,
            access_log,
            journal: None,
            access_cache: access_cache::AccessCache::default(),
            settings,
            throttle: auth::Throttle::default(),
            gates,
            rate: auth::RateLimiter::default(),
            verify_rate: auth::RateLimiter::default(),
            refusal_rate: auth::RateLimiter::default(),
            metrics: metrics::Metrics::default(),
            checkpoint_key: signing.map(|k| k.public()),
            started: Instant::now(),
            catalog: catalog::CatalogCtx::default(),
            lake: None,
            share_url_key: auth::random_token().into_bytes(),
            public_url: std::sync::OnceLock::new(),
        }
    }

    /// Records one use of a grant (`accesses` counted, `rows` served) with its audit event,
    /// and returns once both are durable, so no data leaves unrecorded: written to the access
    /// journal when there is one, else committed to the database with whatever accesses
    /// queued up together (group commit). The event's object, when empty, becomes
    /// `grant:{id}`.
    pub async fn record_access(
        &self,
        grant_id: i64,
        accesses: i64,
        rows: i64,
        audit: pdp_audit::NewEvent,
    ) -> Result<(), pdp_audit::appender::AppendError> {
        let record = AccessRecord { grant_id, accesses, rows, audit };
        match &self.journal {
            Some(j) => j.append(record),
            None => self.access_log.submit(record).await,
        }
    }

    /// Records accesses through an access journal in `dir` from now on, moved into the
    /// database every `interval`, after indexing what an earlier process left there.
    pub async fn open_journal(&mut self, dir: &std::path::Path, interval: Duration) -> Result<(), String> {
        let sink = Arc::new(pdp_storage::JournalAccessSink(self.storage.clone()));
        let config = JournalConfig { interval, ..JournalConfig::default() };
        self.journal = Some(Journal::open(dir, sink, config).await?);
        Ok(())
    }

    /// Waits until every access recorded so far is in the database, so what a request reads
    /// of the audit log or of usage counters includes them. Gives up after a few seconds (the
    /// database is not taking records; the journal keeps them) and the read goes ahead.
    pub async fn sync_accesses(&self) {
        if let Some(j) = &self.journal
            && j.pending() > 0
            && !j.sync(Duration::from_secs(5)).await
        {
            tracing::warn!(pending = j.pending(), "access records not yet in the database; reading without them");
        }
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
