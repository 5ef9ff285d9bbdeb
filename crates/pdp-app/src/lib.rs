//! The application layer of PDP: what the platform does, apart from how it is asked.
//!
//! The use cases here take a [`Principal`] (who asks) and the [`App`] (what they can reach),
//! check the regulations' rules through `pdp-domain`, read and write through the
//! [`pdp_storage::Storage`] trait and the lake, and answer with typed values or an
//! [`AppError`]. The HTTP layer (`pdp-web`), the command line and the demo city all call these
//! functions; none of them carries business logic of its own.

pub mod access_cache;
pub mod accounts;
pub mod admin;
pub mod applications;
pub mod calendar;
pub mod catalog;
pub mod clock;
pub mod credentials;
pub mod datasets;
pub mod documents;
pub mod error;
pub mod feedback;
pub mod fusion;
pub mod harvest;
pub mod limits;
pub mod objections;
pub mod open;
pub mod open_catalog;
pub mod operation;
pub mod principal;
pub mod selection;
pub mod share_files;
pub mod share_ops;
pub mod sharing;
pub mod social;
pub mod sources;
pub mod themes;
pub mod trace;
pub mod webhooks;
pub mod withdrawals;

use std::sync::Arc;
use std::time::Duration;

use pdp_audit::appender::{Appender, GroupCommit};
use pdp_audit::{PublicKey, SigningKey};
use pdp_domain::ids::FinalCheck;
use pdp_journal::{Journal, JournalConfig};
use pdp_storage::{AccessRecord, Storage};

pub use error::{AppError, ErrorKind, ViolationOut};
pub use principal::{Principal, Via};

/// The security settings and bounds of the platform, from the configuration.
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
    /// Open data reads per second per client address without an account or key (bursts up to
    /// twice that); 0 means no limit (`security.open_anonymous_rate_per_second`).
    pub open_anonymous_rate_per_second: u32,
    /// Working days a provider has to decide an application for on-application data
    /// (`open.decision_working_days`, R-OPN-06).
    pub open_decision_working_days: u32,
    /// How old the open catalog may be (`open.catalog_ttl_seconds`): the delay after which
    /// another process's changes show on the portal.
    pub open_catalog_ttl: Duration,
    /// Working days a usage report may be overdue before its grant is suspended
    /// (`sharing.report_grace_working_days`, R-SHR-13).
    pub report_grace_working_days: u32,
    /// Bounds of harvesting other portals (`open.harvest_*`).
    pub harvest: harvest::HarvestSettings,
    /// The review chain of scenario applications and the operation log's retention
    /// (`operation.*`).
    pub operation: operation::OperationSettings,
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
            open_anonymous_rate_per_second: 10,
            open_decision_working_days: 10,
            open_catalog_ttl: Duration::from_secs(30),
            report_grace_working_days: 10,
            harvest: harvest::HarvestSettings::default(),
            operation: operation::OperationSettings::default(),
        }
    }
}

/// The application: what every use case can reach.
pub struct App {
    pub storage: Arc<dyn Storage>,
    pub audit: Appender,
    /// The group commit of data accesses: usage counters and audit events (see
    /// [`App::record_access`]).
    pub access_log: GroupCommit<AccessRecord, ()>,
    /// The access journal, when the platform runs with a data directory: then accesses are
    /// appended there instead of going through `access_log` (see [`App::open_journal`]).
    pub journal: Option<Journal<AccessRecord>>,
    /// API keys and grant terms read by every access, invalidated on change.
    pub access_cache: access_cache::AccessCache,
    pub settings: Settings,
    /// The semaphore of CPU-heavy work (see [`limits::on_cpu`]).
    pub gates: limits::Gates,
    /// Login attempts per account name and per client address.
    pub throttle: credentials::Throttle,
    /// Verifications per grant (keyed by grant id) and per account (keyed by minus its id).
    pub verify_rate: credentials::RateLimiter,
    /// Refused requests (bad API keys, CSRF failures) audited per kind per second.
    pub refusal_rate: credentials::RateLimiter,
    /// Anonymous open data reads per client address (keyed by a hash of the address).
    pub open_rate: credentials::RateLimiter,
    /// The trusted checkpoint key, for verification from the auditor's page.
    pub checkpoint_key: Option<PublicKey>,
    /// The grading matrix, the working-day calendar and the search index.
    pub catalog: catalog::CatalogCtx,
    /// The data lake; `None` only in tools that run without one.
    pub lake: Option<pdp_lake::Lake>,
    /// What the open portal keeps in memory: its catalog, charts and uncounted uses.
    pub open_cache: open::OpenCache,
    /// Posts webhook deliveries; `None` in tools that announce nothing.
    pub webhooks: Option<std::sync::Arc<dyn webhooks::WebhookSender>>,
    /// Fetches harvest sources' pages and files; `None` in tools that harvest nothing.
    pub harvester: Option<std::sync::Arc<dyn harvest::HarvestClient>>,
}

impl App {
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
            gates,
            throttle: credentials::Throttle::default(),
            verify_rate: credentials::RateLimiter::default(),
            refusal_rate: credentials::RateLimiter::default(),
            open_rate: credentials::RateLimiter::default(),
            checkpoint_key: signing.map(|k| k.public()),
            catalog: catalog::CatalogCtx::default(),
            lake: None,
            open_cache: open::OpenCache::default(),
            webhooks: None,
            harvester: None,
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
