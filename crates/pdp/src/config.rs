//! Configuration: built-in defaults, then a TOML file, then `PDP_*` environment variables
//! (nested keys joined with `__`, e.g. `PDP_DATABASE__URL`), then command-line flags.
//!
//! Unknown keys are errors, not silently ignored: a misspelt security setting must not fall
//! back to a default unnoticed. Secrets are wrapped in [`Secret`], whose `Debug` masks them.

use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// A string that never shows itself in `Debug` output or logs. Database URLs keep their
/// scheme, host and database visible and hide the password.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value with any `user:password@` password replaced by `***`.
    pub fn masked(&self) -> String {
        let s = &self.0;
        if let (Some(scheme_end), Some(at)) = (s.find("://"), s.rfind('@')) {
            let creds = &s[scheme_end + 3..at];
            if let Some(colon) = creds.find(':') {
                return format!("{}{}:***{}", &s[..scheme_end + 3], &creds[..colon], &s[at..]);
            }
            return s.clone();
        }
        if s.contains("://") { s.clone() } else { "***".into() }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({:?})", self.masked())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the SQLite database, the audit signing key and (later) the data lake live.
    pub data_dir: PathBuf,
    /// Address to listen on, e.g. `127.0.0.1:8080`; port 0 picks a free port.
    pub listen: String,
    /// The address clients reach the platform at (`https://data.city.gov.cn`), for the absolute
    /// URLs it hands out; default `http://` and the listening address.
    pub public_url: Option<String>,
    /// Log filter in `tracing` syntax, e.g. `info` or `pdp_web=debug,info`.
    pub log: String,
    pub database: DatabaseConfig,
    pub audit: AuditConfig,
    pub security: SecurityConfig,
    pub catalog: CatalogConfig,
    pub sharing: SharingConfig,
    pub open: OpenConfig,
    pub operation: OperationConfig,
    pub lake: LakeConfig,
    pub limits: LimitsConfig,
}

/// What one request may ask of the server (see `pdp_app::limits`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// The largest JSON, form or catalog-import body.
    pub body_bytes: u64,
    /// The largest dataset upload (spooled to disk, then loaded).
    pub upload_bytes: u64,
    pub request_timeout_secs: u64,
    pub max_concurrent_requests: u32,
    /// CPU-heavy tasks (password hashing, parsing files) at once; 0 means the number of cores.
    pub cpu_tasks: u32,
    /// The largest offset of a paged listing.
    pub max_offset: u64,
    pub xlsx_max_rows: u32,
    pub xlsx_max_columns: u32,
    pub xlsx_max_cells: u64,
    /// The decompressed size of any part of an XLSX file.
    pub xlsx_max_part_bytes: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let web = pdp_app::limits::Limits::default();
        Self {
            body_bytes: web.body_bytes as u64,
            upload_bytes: web.upload_bytes,
            request_timeout_secs: web.request_timeout.as_secs(),
            max_concurrent_requests: web.max_concurrent_requests as u32,
            cpu_tasks: 0,
            max_offset: web.max_offset,
            xlsx_max_rows: web.sheet.max_rows,
            xlsx_max_columns: web.sheet.max_columns,
            xlsx_max_cells: web.sheet.max_cells,
            xlsx_max_part_bytes: web.sheet.max_part_bytes,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LakeConfig {
    /// Where the datasets' Delta tables live: a directory or a URL. Empty means
    /// `<data_dir>/lake`.
    pub location: Option<String>,
    /// Days old versions stay readable before `pdp lake vacuum` deletes their data files.
    pub retention_days: u64,
}

impl Default for LakeConfig {
    fn default() -> Self {
        Self { location: None, retention_days: 30 }
    }
}

/// Rules of opening data a city may set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpenConfig {
    /// Working days a provider has to decide an application for on-application data (R-OPN-06).
    pub decision_working_days: u32,
    /// Webhook deliveries may go to loopback and private addresses (an intranet whose
    /// subscribers are its own systems). Off by default: a subscriber must not make the platform
    /// call into the network it runs in.
    pub webhook_private_receivers: bool,
    /// Seconds the portal's open catalog may be old: changes made by another process (`pdp
    /// load`, a second server) show within this; the server's own changes show at once.
    pub catalog_ttl_seconds: u64,
    /// Harvest sources may be on loopback and private addresses (portals of the same
    /// intranet). Off by default, for the same reason as webhooks.
    pub harvest_private_sources: bool,
    /// The longest one harvest run may take, in seconds.
    pub harvest_run_timeout_seconds: u64,
    /// The most datasets one source may list.
    pub harvest_max_records: usize,
    /// The largest file a harvest downloads, in bytes.
    pub harvest_max_download_bytes: u64,
}

impl Default for OpenConfig {
    fn default() -> Self {
        Self {
            decision_working_days: 10,
            webhook_private_receivers: false,
            catalog_ttl_seconds: 30,
            harvest_private_sources: false,
            harvest_run_timeout_seconds: 1800,
            harvest_max_records: 10_000,
            harvest_max_download_bytes: 256 << 20,
        }
    }
}

/// Rules of sharing a city may set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SharingConfig {
    /// Working days a grant's usage report may be overdue before the grant is suspended until
    /// the report is filed (R-SHR-13).
    pub report_grace_working_days: u32,
}

impl Default for SharingConfig {
    fn default() -> Self {
        Self { report_grace_working_days: 10 }
    }
}

/// Authorized operation (R-OPS) as a city sets it up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OperationConfig {
    /// Who reviews a scenario application, in order: `operator` first, then any of `provider`
    /// and `authority` (R-OPS-04).
    pub review_chain: Vec<String>,
    /// Working days each reviewer of a scenario application has.
    pub review_working_days: u32,
    /// Days the operation log is kept; an exited entity's at least six months from its exit
    /// whatever this says (R-OPS-11).
    pub log_retention_days: u32,
}

impl Default for OperationConfig {
    fn default() -> Self {
        Self {
            review_chain: vec!["operator".into(), "provider".into(), "authority".into()],
            review_working_days: 5,
            log_retention_days: 365,
        }
    }
}

impl OperationConfig {
    /// The review chain as stages: the operator first, no stage twice.
    pub fn chain(&self) -> Result<Vec<pdp_domain::operation::ReviewStage>, String> {
        use pdp_domain::operation::ReviewStage;
        let mut out = Vec::new();
        for s in &self.review_chain {
            let stage = ReviewStage::parse(s).ok_or_else(|| {
                format!("operation.review_chain 的“{s}”未知（operator、provider、authority）/ unknown stage {s:?}")
            })?;
            if out.contains(&stage) {
                return Err(format!("operation.review_chain 中“{s}”重复 / stage {s:?} appears twice"));
            }
            out.push(stage);
        }
        if out.first() != Some(&ReviewStage::Operator) {
            return Err("operation.review_chain 须以 operator 开始（运营主体先审核）/ must start with operator".into());
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogConfig {
    /// A TOML grading matrix replacing the built-in one (the table in STANDARDS.md); see
    /// `crates/pdp-domain/data/grading.toml` for the format.
    pub grading_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://…` or `postgres://…`. Empty means `sqlite://<data_dir>/pdp.db`.
    pub url: Option<Secret>,
    /// PostgreSQL schema to use (created if missing); empty means the default search path.
    pub schema: Option<String>,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Hash of the audit chain: `sha256` (default) or `sm3`.
    pub hash: String,
    /// Seconds between signed checkpoints of the chain.
    pub checkpoint_interval_secs: u64,
    /// The Ed25519 checkpoint key (hex seed). Empty means `<data_dir>/audit-signing.key`,
    /// created on first start. Keep a copy of its public key off the server.
    pub signing_key_file: Option<PathBuf>,
    /// The public key that verifies checkpoints (hex); written beside the signing key when
    /// that is created. The signing key can then live elsewhere and verification needs only
    /// this file. Default `<data_dir>/audit-signing.pub`.
    pub public_key_file: Option<PathBuf>,
    /// `pdp audit verify` fails when the newest checkpoint is older than the newest event by
    /// more than this many checkpoint intervals...
    pub max_checkpoint_lag_intervals: u64,
    /// ...or when more events than this follow it.
    pub max_unsigned_events: u64,
    /// Record data accesses through the access journal in `<data_dir>/access-journal` (each
    /// access's record copied into a memory-mapped file, moved into the database every few
    /// milliseconds) instead of a database commit per batch of accesses. Either way no data leaves before its record is
    /// written; `false` makes every access wait for the database.
    pub access_journal: bool,
    /// Milliseconds between moves of the access journal into the database. Any request that
    /// reads the audit log or usage counters moves it first, so this only bounds how long
    /// accesses wait on disk (and what a separate `pdp` command sees).
    pub access_journal_interval_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Mark cookies `Secure`. Browsers still send them to `localhost` over plain HTTP.
    pub secure_cookies: bool,
    pub session_ttl_minutes: u64,
    pub session_idle_minutes: u64,
    pub login_max_failures: u32,
    pub login_window_minutes: u64,
    pub api_key_max_days: i64,
    /// What a wrong final check character of a credit code does: `error` or `warning`.
    pub credit_code_final_check: String,
    /// Requests per second one API key may make, with bursts up to twice that; 0 turns the
    /// limit off.
    pub api_key_rate_per_second: u32,
    pub login_max_failures_per_address: u32,
    /// Serve `/metrics` without authentication (for a scraper on a closed network).
    pub metrics_public: bool,
    /// Verifications per second per grant and per signed-in account; 0 means no limit.
    pub verify_rate_per_grant: u32,
    /// Open data reads (rows, downloads) per second per client address without an account or
    /// key, with bursts up to twice that; 0 means no limit. Keys have `api_key_rate_per_second`.
    pub open_anonymous_rate_per_second: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("pdp-data"),
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            log: "info".into(),
            database: DatabaseConfig::default(),
            audit: AuditConfig::default(),
            security: SecurityConfig::default(),
            catalog: CatalogConfig::default(),
            sharing: SharingConfig::default(),
            open: OpenConfig::default(),
            operation: OperationConfig::default(),
            lake: LakeConfig::default(),
            limits: LimitsConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self { url: None, schema: None, max_connections: 8 }
    }
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            hash: "sha256".into(),
            checkpoint_interval_secs: 60,
            signing_key_file: None,
            public_key_file: None,
            max_checkpoint_lag_intervals: 3,
            max_unsigned_events: 100_000,
            access_journal: true,
            access_journal_interval_ms: 50,
        }
    }
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            secure_cookies: true,
            session_ttl_minutes: 480,
            session_idle_minutes: 30,
            login_max_failures: 5,
            login_window_minutes: 15,
            api_key_max_days: 365,
            credit_code_final_check: "error".into(),
            api_key_rate_per_second: 100,
            login_max_failures_per_address: 50,
            metrics_public: false,
            verify_rate_per_grant: 20,
            open_anonymous_rate_per_second: 10,
        }
    }
}

impl Config {
    /// Loads defaults, then `file` (if given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, String> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(format!("配置文件不存在 / configuration file not found: {}", file.display()));
            }
            fig = fig.merge(Toml::file_exact(file));
        }
        fig = fig.merge(Env::prefixed("PDP_").split("__"));
        let cfg: Config = fig.extract().map_err(|e| {
            let msgs: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
            format!("配置错误 / configuration error: {}", msgs.join("; "))
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), String> {
        if pdp_audit::HashAlg::parse(&self.audit.hash).is_none() {
            return Err(format!(
                "audit.hash 须为 sha256 或 sm3 / audit.hash must be sha256 or sm3, got {:?}",
                self.audit.hash
            ));
        }
        if !matches!(self.security.credit_code_final_check.as_str(), "error" | "warning") {
            return Err("security.credit_code_final_check 须为 error 或 warning / must be error or warning".into());
        }
        self.grading_matrix()?;
        self.operation.chain()?;
        if self.operation.review_working_days == 0 || self.operation.log_retention_days == 0 {
            return Err(
                "operation.review_working_days 与 operation.log_retention_days 须大于 0 / must be positive".into()
            );
        }
        if self.audit.access_journal_interval_ms == 0 {
            return Err("audit.access_journal_interval_ms 须大于 0 / must be positive".into());
        }
        if self.audit.checkpoint_interval_secs == 0 {
            return Err("audit.checkpoint_interval_secs 须大于 0 / must be positive".into());
        }
        let l = &self.limits;
        for (key, v) in [
            ("limits.body_bytes", l.body_bytes),
            ("limits.upload_bytes", l.upload_bytes),
            ("limits.request_timeout_secs", l.request_timeout_secs),
            ("limits.max_concurrent_requests", u64::from(l.max_concurrent_requests)),
            ("limits.xlsx_max_rows", u64::from(l.xlsx_max_rows)),
            ("limits.xlsx_max_columns", u64::from(l.xlsx_max_columns)),
            ("limits.xlsx_max_cells", l.xlsx_max_cells),
            ("limits.xlsx_max_part_bytes", l.xlsx_max_part_bytes),
        ] {
            if v == 0 {
                return Err(format!("{key} 须大于 0 / must be positive"));
            }
        }
        if usize::try_from(l.body_bytes).is_err() {
            return Err("limits.body_bytes 过大 / is too large".into());
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(u) if !u.expose().is_empty() => u.expose().to_string(),
            _ => format!("sqlite://{}", self.data_dir.join("pdp.db").display()),
        }
    }

    /// The grading matrix: the configured file, or the built-in table.
    pub fn grading_matrix(&self) -> Result<pdp_domain::catalog::GradingMatrix, String> {
        match &self.catalog.grading_file {
            None => Ok(pdp_domain::catalog::GradingMatrix::default()),
            Some(f) => {
                let text = std::fs::read_to_string(f)
                    .map_err(|e| format!("无法读取分级矩阵 / cannot read the grading matrix {}: {e}", f.display()))?;
                pdp_domain::catalog::GradingMatrix::parse(&text)
                    .map_err(|e| format!("分级矩阵有误 / invalid grading matrix {}: {e}", f.display()))
            }
        }
    }

    pub fn search_index_path(&self) -> PathBuf {
        self.data_dir.join("search")
    }

    /// The data lake's location: the configured one or `<data_dir>/lake`.
    pub fn lake_location(&self) -> String {
        match &self.lake.location {
            Some(l) if !l.trim().is_empty() => l.clone(),
            _ => self.data_dir.join("lake").display().to_string(),
        }
    }

    pub fn signing_key_path(&self) -> PathBuf {
        self.audit.signing_key_file.clone().unwrap_or_else(|| self.data_dir.join("audit-signing.key"))
    }

    pub fn public_key_path(&self) -> PathBuf {
        self.audit.public_key_file.clone().unwrap_or_else(|| self.data_dir.join("audit-signing.pub"))
    }

    /// How well checkpoints must cover the chain for `pdp audit verify`.
    pub fn coverage(&self) -> pdp_storage::Coverage {
        let a = &self.audit;
        pdp_storage::Coverage {
            max_lag_micros: i64::try_from(
                a.checkpoint_interval_secs.saturating_mul(a.max_checkpoint_lag_intervals).saturating_mul(1_000_000),
            )
            .unwrap_or(i64::MAX),
            max_unsigned_events: i64::try_from(a.max_unsigned_events).unwrap_or(i64::MAX),
        }
    }

    pub fn hash_alg(&self) -> pdp_audit::HashAlg {
        pdp_audit::HashAlg::parse(&self.audit.hash).unwrap_or_default()
    }

    pub fn web_settings(&self) -> pdp_app::Settings {
        let s = &self.security;
        pdp_app::Settings {
            secure_cookies: s.secure_cookies,
            session_ttl: std::time::Duration::from_secs(s.session_ttl_minutes * 60),
            session_idle: std::time::Duration::from_secs(s.session_idle_minutes.max(1) * 60),
            login_max_failures: s.login_max_failures,
            login_window: std::time::Duration::from_secs(s.login_window_minutes * 60),
            api_key_max_days: s.api_key_max_days,
            credit_code_final_check: if s.credit_code_final_check == "warning" {
                pdp_domain::ids::FinalCheck::Warning
            } else {
                pdp_domain::ids::FinalCheck::Error
            },
            api_key_rate_per_second: s.api_key_rate_per_second,
            login_max_failures_per_address: s.login_max_failures_per_address,
            metrics_public: s.metrics_public,
            verify_rate_per_grant: s.verify_rate_per_grant,
            open_anonymous_rate_per_second: s.open_anonymous_rate_per_second,
            report_grace_working_days: self.sharing.report_grace_working_days,
            open_decision_working_days: self.open.decision_working_days,
            open_catalog_ttl: std::time::Duration::from_secs(self.open.catalog_ttl_seconds),
            harvest: pdp_app::harvest::HarvestSettings {
                run_timeout: std::time::Duration::from_secs(self.open.harvest_run_timeout_seconds.max(1)),
                max_records: self.open.harvest_max_records.max(1),
                max_download_bytes: self.open.harvest_max_download_bytes,
            },
            operation: pdp_app::operation::OperationSettings {
                chain: self.operation.chain().unwrap_or_default(),
                stage_working_days: self.operation.review_working_days,
                log_retention_days: self.operation.log_retention_days,
            },
            limits: self.web_limits(),
        }
    }

    pub fn web_limits(&self) -> pdp_app::limits::Limits {
        let l = &self.limits;
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        pdp_app::limits::Limits {
            body_bytes: usize::try_from(l.body_bytes).unwrap_or(usize::MAX),
            upload_bytes: l.upload_bytes,
            request_timeout: std::time::Duration::from_secs(l.request_timeout_secs),
            max_concurrent_requests: l.max_concurrent_requests as usize,
            cpu_tasks: if l.cpu_tasks == 0 { cores } else { l.cpu_tasks as usize },
            max_offset: l.max_offset,
            sheet: pdp_app::limits::SheetLimits {
                max_rows: l.xlsx_max_rows,
                max_columns: l.xlsx_max_columns,
                max_cells: l.xlsx_max_cells,
                max_part_bytes: l.xlsx_max_part_bytes,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// covers: R-SEC-04 (secrets are masked in Debug output)
    #[test]
    fn secrets_are_masked() {
        let s = Secret("postgres://pdp:hunter2@db.intra:5432/pdp".into());
        let d = format!("{s:?}");
        assert!(!d.contains("hunter2"), "{d}");
        assert!(d.contains("db.intra"));
        let cfg = Config { database: DatabaseConfig { url: Some(s), ..Default::default() }, ..Default::default() };
        assert!(!format!("{cfg:?}").contains("hunter2"));
        assert_eq!(Secret("plain-token".into()).masked(), "***");
    }

    /// covers: R-SEC-04 (unknown keys in the file are rejected, naming the key)
    #[test]
    fn unknown_keys_are_rejected() {
        let dir = std::env::temp_dir().join(format!("pdp-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("pdp.toml");
        std::fs::write(&f, "listen = \"0.0.0.0:9000\"\n[security]\nsecure_cookie = false\n").unwrap();
        let err = Config::load(Some(&f)).unwrap_err();
        assert!(err.contains("secure_cookie"), "{err}");
        std::fs::write(&f, "listen = \"0.0.0.0:9000\"\n[audit]\nhash = \"sm3\"\n").unwrap();
        let cfg = Config::load(Some(&f)).unwrap();
        assert_eq!(cfg.listen, "0.0.0.0:9000");
        assert_eq!(cfg.hash_alg(), pdp_audit::HashAlg::Sm3);
        std::fs::write(&f, "[audit]\nhash = \"md5\"\n").unwrap();
        assert!(Config::load(Some(&f)).unwrap_err().contains("sm3"));
    }
}
