//! `pdp`: the one binary of the Public Data Platform.
//!
//! It reads the configuration, opens the metadata store named by the database URL (SQLite by
//! default, PostgreSQL for `postgres://`), and runs one of the commands: `serve`, `migrate`,
//! `admin create-user`, `audit verify`, `audit checkpoint`, `openapi`. Everything else lives in
//! the library crates; this file only wires them together.

use pdp_alloc as allocator;
#[cfg(feature = "bench")]
mod bench_seed;
mod config;
mod demo;
mod demo_data;
mod demo_operation;
mod demo_share;

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use config::Config;
use pdp_audit::SigningKey;
use pdp_storage::Storage;
use rand::RngCore;

#[derive(Parser)]
#[command(name = "pdp", version, about = "公共数据平台 Public Data Platform")]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Common {
    /// TOML configuration file (then `PDP_*` environment variables override it).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data directory (overrides `data_dir`).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server.
    Serve {
        /// Address to listen on (overrides `listen`), e.g. 127.0.0.1:8080; port 0 picks one.
        #[arg(long)]
        listen: Option<String>,
        /// On first start in an empty data dir, create the demo city and print its accounts.
        #[arg(long)]
        demo: bool,
        /// Size of the demo datasets: 1.0 makes 200,000 residents and 50,000 enterprises.
        #[arg(long, default_value_t = 1.0)]
        demo_scale: f64,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administration from the console.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The resource catalog.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// Maintenance of the data lake.
    Lake {
        #[command(subcommand)]
        command: LakeCommand,
    },
    /// Load a file into a dataset of the data lake (validated; bad rows go to quarantine).
    Load {
        /// The catalog code of the dataset's entry, e.g. `101000/000001`.
        #[arg(long)]
        dataset: String,
        /// The file: CSV, JSON Lines, XLSX or Parquet.
        #[arg(long)]
        file: PathBuf,
        /// `csv`, `jsonl`, `xlsx` or `parquet`; guessed from the file name if absent.
        #[arg(long)]
        format: Option<String>,
        /// CSV encoding: `auto` (default), `utf-8` or `gbk`.
        #[arg(long, default_value = "auto")]
        encoding: String,
        /// `full` (replace the dataset), `upsert` (by key) or `append`.
        #[arg(long, default_value = "full")]
        mode: String,
        /// The account the load is made as (a data officer of the providing organisation).
        #[arg(long = "as")]
        user: String,
        /// No progress bar (for scripts).
        #[arg(long)]
        quiet: bool,
    },
    /// Name the bulk grant a leaked file came from (a CSV, XLSX or Parquet copy, or an excerpt
    /// of one) by the recipient fingerprint in its masked values. Exits 0 when a grant is
    /// named, 1 when none is.
    Trace {
        /// The file.
        file: PathBuf,
    },
    /// Print the OpenAPI document of the JSON API.
    Openapi,
    /// Benchmark set-ups (benchmark builds only).
    #[cfg(feature = "bench")]
    #[command(hide = true)]
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[cfg(feature = "bench")]
#[derive(Subcommand)]
enum BenchCommand {
    /// Copy the demo's open datasets until the open catalog holds this many.
    SeedOpen {
        #[arg(long, default_value_t = 100_000)]
        datasets: usize,
    },
    /// Write an open release of this many rows for the download benchmark.
    SeedRelease {
        #[arg(long, default_value_t = 10_000_000)]
        rows: u64,
    },
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Rebuild the full-text search index from the published catalog (for recovery).
    Reindex,
}

#[derive(Subcommand)]
enum LakeCommand {
    /// Apply retention: delete the data files of versions older than the retention period, so
    /// they can no longer be read (time travel ends there). The latest version always stays.
    Vacuum {
        /// Days to keep; default `lake.retention_days` of the configuration.
        #[arg(long)]
        retention_days: Option<u64>,
    },
    /// Build the key files that lookups by key read, for every data file of every published
    /// dataset that lacks one (tables written before key files; a load writes its own).
    Reindex,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an account (for the first administrators; later accounts are made in the UI).
    CreateUser {
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: Option<String>,
        /// Comma-separated roles, e.g. `platform_admin` or `security_admin`.
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// The organisation id the account belongs to.
        #[arg(long)]
        org_id: Option<i64>,
        /// Read the password from the first line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the chain and check the signed checkpoints. Exit 0 if intact, 1 if broken.
    Verify,
    /// Sign a checkpoint of the chain's current end now.
    Checkpoint,
}

fn main() -> ExitCode {
    allocator::tune();
    let cli = Cli::parse();
    let mut cfg = match Config::load(cli.common.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(d) = &cli.common.data_dir {
        cfg.data_dir = d.clone();
    }
    let filter = log_filter(&cfg.log);
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli.command, cfg)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误 / error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The log filter for the configured level: the lake's libraries log their internals (snapshot
/// dumps, scan metrics) at `info`, screens of them on a plain start, so they speak only from
/// `warn` unless the configuration names them. The Delta kernel also logs an error whenever a
/// table without commits is opened, which is how the lake asks whether a dataset has been loaded
/// yet; that one target is off unless named.
fn log_filter(configured: &str) -> String {
    const LIBRARIES: [&str; 5] = ["buoyant_kernel", "deltalake_core", "datafusion", "object_store", "tantivy"];
    let mut filter = configured.to_string();
    for target in LIBRARIES.iter().filter(|t| !configured.contains(*t)) {
        filter.push_str(&format!(",{target}=warn"));
    }
    if !configured.contains("buoyant_kernel") {
        filter.push_str(",buoyant_kernel::snapshot::builder=off");
    }
    filter
}

/// The storage, the lake and the published catalog entries, whose datasets the lake's
/// maintenance commands go through.
async fn published_datasets(
    cfg: &Config,
) -> anyhow::Result<(Arc<dyn Storage>, pdp_lake::Lake, Vec<pdp_storage::catalog::EntryVersion>)> {
    let storage = open_storage(cfg).await?;
    let lake = pdp_lake::Lake::open(&cfg.lake_location()).map_err(|e| anyhow::anyhow!("opening the data lake: {e}"))?;
    let entries = storage
        .list_entries(&pdp_storage::catalog::EntryQuery {
            view: pdp_storage::catalog::EntryView::Published,
            ..Default::default()
        })
        .await?;
    Ok((storage, lake, entries))
}

async fn open_storage(cfg: &Config) -> anyhow::Result<Arc<dyn Storage>> {
    let url = cfg.database_url();
    let alg = cfg.hash_alg();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let s = pdp_storage_postgres::connect(&url, cfg.database.schema.as_deref(), cfg.database.max_connections, alg)
            .await
            .with_context(|| format!("opening PostgreSQL at {}", config::Secret(url.clone()).masked()))?;
        Ok(Arc::new(s))
    } else if url.starts_with("sqlite:") {
        create_data_dir(&cfg.data_dir)?;
        let s = pdp_storage_sqlite::connect(&url, cfg.database.max_connections, alg)
            .await
            .with_context(|| format!("opening SQLite at {url}"))?;
        Ok(Arc::new(s))
    } else {
        bail!("database.url must start with sqlite: or postgres:// (got {})", config::Secret(url).masked())
    }
}

/// Loads the checkpoint signing key, creating it (readable by the owner only) on first use.
/// Creates the data directory readable by its owner only (0700): it holds the database, the
/// lake and the signing key. An existing directory keeps its mode.
fn create_data_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).with_context(|| format!("creating {}", dir.display()))
}

/// Writes the checkpoint key's public half where verification reads it, unless it is there.
fn write_public_key(cfg: &Config, key: &SigningKey) -> anyhow::Result<()> {
    let path = cfg.public_key_path();
    if !path.exists() {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, format!("{}\n", key.public().to_hex()))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The public key that verifies checkpoints: from its file, or else from the signing key.
fn verify_key(cfg: &Config) -> anyhow::Result<Option<pdp_audit::PublicKey>> {
    let path = cfg.public_key_path();
    if path.exists() {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let key = pdp_audit::PublicKey::from_hex(text.trim())
            .with_context(|| format!("{} is not a hex Ed25519 public key", path.display()))?;
        return Ok(Some(key));
    }
    Ok(signing_key(cfg, false)?.map(|k| k.public()))
}

fn signing_key(cfg: &Config, create: bool) -> anyhow::Result<Option<SigningKey>> {
    let path = cfg.signing_key_path();
    if path.exists() {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let key =
            SigningKey::from_hex(&text).with_context(|| format!("{} is not a hex Ed25519 seed", path.display()))?;
        if create {
            write_public_key(cfg, &key)?;
        }
        return Ok(Some(key));
    }
    if !create {
        return Ok(None);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut seed = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut seed);
    let key = SigningKey::from_seed(seed);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&path).with_context(|| format!("creating {}", path.display()))?;
    writeln!(f, "{}", key.to_hex())?;
    write_public_key(cfg, &key)?;
    tracing::info!(public_key = %key.public().to_hex(), path = %path.display(), "created the audit checkpoint key");
    Ok(Some(key))
}

async fn run(command: Command, cfg: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Openapi => {
            print!("{}", pdp_web::openapi_json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let storage = open_storage(&cfg).await?;
            println!("数据库已是最新 / database is up to date ({})", storage.backend());
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { listen, demo, demo_scale } => serve(cfg, listen, demo, demo_scale).await,
        Command::Admin {
            command: AdminCommand::CreateUser { username, display_name, roles, org_id, password_stdin },
        } => {
            let storage = open_storage(&cfg).await?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (demo::random_password(), true)
            };
            let input = pdp_app::admin::UserInput {
                display_name: display_name.unwrap_or_else(|| username.clone()),
                username,
                password: password.clone(),
                org_id,
                roles,
            };
            match pdp_app::admin::create_account(storage.as_ref(), None, input).await {
                Ok(u) => {
                    println!(
                        "已创建账号 / created account {} (id {}), roles: {}",
                        u.username,
                        u.id,
                        pdp_storage::roles_to_text(&u.roles)
                    );
                    if generated {
                        println!("初始密码（只显示这一次）/ initial password (shown once): {password}");
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("{}: {}", e.code, e.message());
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Audit { command: AuditCommand::Verify } => {
            let storage = open_storage(&cfg).await?;
            // Links alone can be recomputed by whoever rewrites the database: without the key
            // that checks the signatures there is nothing to verify against.
            let Some(public) = verify_key(&cfg)? else {
                println!(
                    "无法验证 / cannot verify: no checkpoint public key at {} (nor signing key at {})",
                    cfg.public_key_path().display(),
                    cfg.signing_key_path().display()
                );
                return Ok(ExitCode::from(1));
            };
            match pdp_storage::verify_chain(storage.as_ref(), Some(&public)).await? {
                Ok(r) => {
                    if let Some(gap) = pdp_storage::coverage_gap(storage.as_ref(), &r, cfg.coverage()).await? {
                        println!(
                            "审计链未被签名覆盖 / audit chain NOT COVERED by signed checkpoints: {gap} \
                             ({} events, head {}; run `pdp audit checkpoint` if this is expected)",
                            r.events, r.head.seq
                        );
                        return Ok(ExitCode::from(1));
                    }
                    println!(
                        "审计链完整 / audit chain intact: {} events, head {} ({}), {} signed checkpoints verified",
                        r.events, r.head.seq, r.head.hash, r.checkpoints_verified
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(b) => {
                    println!("审计链已损坏 / audit chain BROKEN at event {}: {b}", b.seq);
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Lake { command: LakeCommand::Vacuum { retention_days } } => {
            let days = retention_days.unwrap_or(cfg.lake.retention_days);
            let (storage, lake, entries) = published_datasets(&cfg).await?;
            let mut total = 0;
            for e in entries {
                let deleted = lake.vacuum(&e.code, days.saturating_mul(24), "pdp lake vacuum").await?;
                if deleted.is_empty() {
                    continue;
                }
                total += deleted.len();
                let mut ev = pdp_audit::NewEvent::system("dataset.retention", &format!("dataset:{}", e.code));
                ev.purpose = format!("retention_days={days} files_deleted={}", deleted.len());
                storage.append_audit(vec![ev]).await?;
                println!("{}: {} 个文件已删除 / files deleted", e.code, deleted.len());
            }
            println!("保留期 {days} 天，共删除 {total} 个文件 / retention {days} days: {total} files deleted");
            Ok(ExitCode::SUCCESS)
        }
        Command::Lake { command: LakeCommand::Reindex } => {
            let (_, lake, entries) = published_datasets(&cfg).await?;
            let mut total = 0;
            for e in entries {
                let columns = pdp_lake::keyindex::key_columns(&e.body);
                match lake.reindex(&e.code, &columns).await {
                    Ok(n) => {
                        total += n;
                        println!("{}: {n} 个键文件已建 / key files built ({})", e.code, columns.join(", "));
                    }
                    Err(pdp_lake::LakeError::Empty) => {}
                    Err(err) => return Err(anyhow::anyhow!("{}: {err}", e.code)),
                }
            }
            println!("共建 {total} 个键文件 / {total} key files built");
            Ok(ExitCode::SUCCESS)
        }
        Command::Catalog { command: CatalogCommand::Reindex } => {
            let storage = open_storage(&cfg).await?;
            let index = Arc::new(pdp_search::CatalogIndex::open(Some(&cfg.search_index_path()))?);
            let n = pdp_app::catalog::rebuild_index(storage.as_ref(), index, |done| {
                if done % 1000 == 0 {
                    eprint!("\r已索引 / indexed {done}");
                }
            })
            .await?;
            eprintln!();
            println!("检索索引已重建 / search index rebuilt: {n} published entries");
            Ok(ExitCode::SUCCESS)
        }
        Command::Trace { file } => trace(&cfg, &file).await,
        #[cfg(feature = "bench")]
        Command::Bench { command: BenchCommand::SeedOpen { datasets } } => {
            let storage = open_storage(&cfg).await?;
            let index = Arc::new(pdp_search::CatalogIndex::open(Some(&cfg.search_index_path()))?);
            bench_seed::seed_open(storage.as_ref(), index, datasets).await?;
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "bench")]
        Command::Bench { command: BenchCommand::SeedRelease { rows } } => {
            let storage = open_storage(&cfg).await?;
            let lake = pdp_lake::Lake::open(&cfg.lake_location()).map_err(|e| anyhow::anyhow!("{e}"))?;
            bench_seed::seed_release(storage.as_ref(), &lake, rows).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Load { dataset, file, format, encoding, mode, user, quiet } => {
            load_file(&cfg, &dataset, &file, format.as_deref(), &encoding, &mode, &user, quiet).await
        }
        Command::Audit { command: AuditCommand::Checkpoint } => {
            let storage = open_storage(&cfg).await?;
            let key = signing_key(&cfg, true)?.context("no signing key")?;
            match pdp_storage::checkpoint(storage.as_ref(), &key).await? {
                Some(c) => println!("已签名检查点 / signed checkpoint at event {}: {}", c.seq, c.hash),
                None => println!("无新事件 / nothing new to checkpoint"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `pdp load`: a validated load from the console with a progress bar, recorded and audited
/// like an upload in the UI.
#[allow(clippy::too_many_arguments)]
async fn load_file(
    cfg: &Config,
    dataset: &str,
    file: &std::path::Path,
    format: Option<&str>,
    encoding: &str,
    mode: &str,
    user: &str,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    use pdp_domain::roles::{Permission, allows};
    let storage = open_storage(cfg).await?;
    let lake = pdp_lake::Lake::open(&cfg.lake_location()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let entry = match storage.get_entry_by_code(dataset).await? {
        Some(e) => pdp_app::datasets::published_entry_of(storage.as_ref(), e.entry_id).await,
        None => None,
    };
    let Some(entry) = entry else {
        eprintln!("未找到已发布的目录条目 / no published catalog entry {dataset}");
        return Ok(ExitCode::from(2));
    };
    let Some(account) = storage.get_user_by_name(user).await? else {
        eprintln!("账号不存在 / no account {user}");
        return Ok(ExitCode::from(2));
    };
    if account.org_id != Some(entry.org_id) || !allows(&account.roles, Permission::LoadData) {
        eprintln!("{user} 不是提供单位的数据专员 / {user} is not a data officer of the providing organisation");
        return Ok(ExitCode::from(2));
    }
    let format = match format {
        Some(f) => pdp_lake::SourceFormat::parse(f),
        None => pdp_lake::SourceFormat::from_name(&file.to_string_lossy()),
    }
    .context("unknown format: use --format csv|jsonl|xlsx|parquet")?;
    let encoding = pdp_lake::Encoding::parse(encoding).context("unknown encoding: auto, utf-8 or gbk")?;
    let mode = pdp_lake::LoadMode::parse(mode).context("unknown mode: full, upsert or append")?;
    let size = std::fs::metadata(file).with_context(|| format!("reading {}", file.display()))?.len();
    let source = pdp_lake::source::open_file(file, format, encoding).map_err(|e| anyhow::anyhow!("{e}"))?;
    let bar = if quiet { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(size) };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta}) {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress_bar = bar.clone();
    let progress = move |p: pdp_lake::LoadProgress| {
        progress_bar.set_position(p.bytes);
        progress_bar.set_message(format!("{} 行 rows, {} 隔离 quarantined", p.rows, p.quarantined));
    };
    let meta = pdp_lake::LoadMeta {
        actor: account.username.clone(),
        source: file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        ..Default::default()
    };
    let mut ev = pdp_audit::NewEvent::system("dataset.load", &format!("dataset:{}", entry.code));
    ev.actor = account.username.clone();
    ev.actor_id = Some(account.id);
    ev.org_id = account.org_id;
    ev.role = pdp_storage::roles_to_text(&account.roles);
    let result =
        pdp_app::datasets::load_and_record(storage.as_ref(), &lake, &entry, mode, meta, source, progress, ev).await;
    bar.finish_and_clear();
    match result {
        Ok(r) => {
            println!(
                "已加载 / loaded {} version {}: {} rows read, {} accepted, {} quarantined, {} rows in the dataset ({} ms)",
                entry.code,
                r.version.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
                r.stats.input_rows,
                r.stats.accepted,
                r.stats.quarantined,
                r.rows_after,
                r.duration_ms
            );
            for q in r.first_errors.iter().take(5) {
                for e in &q.errors {
                    println!("  第 {} 行 row {}: {} / {}", q.row, q.row, e.message_zh, e.message_en);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{}: {} / {}", e.code, e.zh, e.en);
            Ok(ExitCode::from(1))
        }
    }
}

/// Opens the search index and rebuilds it when it does not hold exactly the published catalog
/// (first start, a crash between publishing and indexing, a restored database). Search is a
/// convenience: if the index cannot be opened the platform runs without it and says so.
async fn open_search_index(cfg: &Config, storage: &dyn Storage) -> Option<Arc<pdp_search::CatalogIndex>> {
    let index = match pdp_search::CatalogIndex::open(Some(&cfg.search_index_path())) {
        Ok(i) => Arc::new(i),
        Err(e) => {
            tracing::error!(error = %e, "search index unavailable; run `pdp catalog reindex`");
            return None;
        }
    };
    let published = storage
        .list_entries(&pdp_storage::catalog::EntryQuery {
            view: pdp_storage::catalog::EntryView::Published,
            ..Default::default()
        })
        .await
        .map(|v| v.len() as u64)
        .unwrap_or(0);
    if index.len() != published {
        match pdp_app::catalog::rebuild_index(storage, index.clone(), |_| {}).await {
            Ok(n) => tracing::info!(entries = n, "search index rebuilt"),
            Err(e) => tracing::error!(error = %e, "search index rebuild failed"),
        }
    }
    Some(index)
}

/// `pdp trace FILE`: prints what the file claims, the grant whose fingerprint it carries with
/// its user organisation, purpose and the times its copies were taken, or that it finds none.
/// The trace itself is audited.
async fn trace(cfg: &Config, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let storage = open_storage(cfg).await?;
    let report = match pdp_app::trace::trace_file(storage.as_ref(), file).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: {}", e.code, e.message());
            return Ok(ExitCode::from(2));
        }
    };
    let when = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t) * 1000)
            .map(|d| d.to_offset(time::macros::offset!(+8)).format(&time::format_description::well_known::Rfc3339))
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
    };
    println!(
        "文件 / file: {} · {} 行 / rows · {} 列 / columns · {} 个脱敏值 / distinct masked values",
        file.display(),
        report.rows,
        report.columns.len(),
        report.masked_values
    );
    for (k, v) in &report.claims {
        println!("文件自述 / the file claims: {k} = {v}");
    }
    for m in &report.matches {
        let (source, who, copied) = if m.kind == "open_application" {
            (
                "来源开放数据申请 / traced to open data application",
                "申请人 / applicant".to_string(),
                "下载 / downloaded",
            )
        } else {
            (
                "来源授权 / traced to grant",
                format!("使用单位 / user organisation (id {})", m.user_org_id),
                "导出 / exported",
            )
        };
        println!(
            "{source} {} ({}): {who} {} · 用途 / purpose: {} · 数据 / dataset {} · 始于 / since {} · 指纹 / fingerprint {}/{}",
            m.grant_id,
            m.status,
            m.user_org_name,
            m.purpose,
            m.dataset,
            when(m.created_at_micros),
            m.agree,
            m.total
        );
        for t in &m.exports_micros {
            println!("  {copied} {}", when(*t));
        }
    }
    if report.matches.is_empty() {
        println!("未找到指纹 / no fingerprint of any bulk grant found");
        for c in &report.candidates {
            println!(
                "  可能来源 / could have come from grant {} ({}) of {} · {}",
                c.grant_id, c.status, c.user_org_name, c.dataset
            );
        }
    }
    let mut ev = pdp_audit::NewEvent::system("share.trace", &format!("file:{}", file.display()));
    ev.actor = "console".into();
    ev.purpose = format!(
        "matches={:?} masked_values={}",
        report.matches.iter().map(|m| m.grant_id).collect::<Vec<_>>(),
        report.masked_values
    );
    storage.append_audit(vec![ev]).await?;
    Ok(if report.matches.is_empty() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

async fn serve(mut cfg: Config, listen: Option<String>, demo: bool, demo_scale: f64) -> anyhow::Result<ExitCode> {
    if let Some(l) = listen {
        cfg.listen = l;
    }
    tracing::info!(config = ?cfg, "starting");
    let storage = open_storage(&cfg).await?;
    let key = signing_key(&cfg, true)?.context("no signing key")?;
    let mut seed_data = false;
    if demo {
        if storage.count_users().await? == 0 {
            seed_data = true;
            let accounts = demo::seed(storage.as_ref()).await?;
            println!(
                "演示城市“临江市”已创建。演示账号（密码只显示这一次）/ Demo city created. Demo accounts (passwords are shown only this once):"
            );
            for a in &accounts {
                println!("  {:<10} {}  {} / {}", a.username, a.password, a.role.label_zh(), a.role.label_en());
            }
        } else {
            println!("数据目录已有数据，跳过演示数据 / the data dir is not empty; demo data not created again");
        }
    }
    let mut app = pdp_app::App::new(storage.clone(), cfg.web_settings(), Some(&key));
    // Data accesses are recorded through the access journal (pdp_journal); what an
    // earlier run left in it is indexed here, before anything is served.
    // Opened even when off, so what a run with it on left there is indexed.
    let journal_dir = cfg.data_dir.join("access-journal");
    let every = std::time::Duration::from_millis(cfg.audit.access_journal_interval_ms);
    app.open_journal(&journal_dir, every)
        .await
        .map_err(|e| anyhow::anyhow!("opening the access journal in {}: {e}", journal_dir.display()))?;
    if !cfg.audit.access_journal {
        app.journal = None;
    }
    app.catalog.matrix = cfg.grading_matrix().map_err(anyhow::Error::msg)?;
    app.catalog.index = open_search_index(&cfg, storage.as_ref()).await;
    match pdp_app::calendar::load_added_tables(&app).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(tables = n, "holiday tables added on the platform are in force"),
        Err(e) => anyhow::bail!("reading the added holiday tables: {}", e.en),
    }
    let lake = pdp_lake::Lake::open(&cfg.lake_location()).map_err(|e| anyhow::anyhow!("opening the data lake: {e}"))?;
    match pdp_app::datasets::reconcile(storage.as_ref(), &lake).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(versions = n, "recorded lake versions the database did not know (an interrupted load)"),
        Err(e) => tracing::error!(error = %e.en, "could not reconcile the data lake with the database"),
    }
    if seed_data {
        println!("生成演示数据集… / generating the demo datasets…");
        let started = std::time::Instant::now();
        let report = demo_data::seed(storage.as_ref(), &lake, demo_scale).await?;
        for (name, accepted, quarantined) in &report.datasets {
            println!("  {name}: {accepted} 行通过 accepted, {quarantined} 行隔离 quarantined");
        }
        println!(
            "  多源校核冲突 cross-check conflicts: {}; 异议 objections: {}; 共享申请 share requests: {}; 开放数据 open releases: {}; 开放申请 applications: {} ({:.1} s)",
            report.conflicts,
            report.objections,
            report.share_requests,
            report.releases,
            report.applications,
            started.elapsed().as_secs_f64()
        );
        let (agreements, scenarios, products, sales) = report.operation;
        println!(
            "  授权运营 authorized operation: 协议 agreements {agreements}; 场景申请 scenario applications {scenarios}; 产品 products {products}; 交易 sales {sales}"
        );
    }
    app.lake = Some(lake);
    app.webhooks = Some(Arc::new(pdp_web::webhook::HttpSender::new(cfg.open.webhook_private_receivers)));
    app.harvester = Some(Arc::new(pdp_web::webhook::HttpFetcher::new(cfg.open.harvest_private_sources)));
    let state = Arc::new(pdp_web::AppState::new(Arc::new(app)));
    // Objections and share requests past their deadlines go to the authority; the sweep runs
    // hourly (and listings run it too, so nothing waits for the timer).
    let sweep_storage = storage.clone();
    let sweep_state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if let Err(e) = pdp_app::objections::escalate_due(sweep_storage.as_ref()).await {
                tracing::error!(error = %e.en, "objection escalation sweep failed");
            }
            if let Err(e) = pdp_app::sharing::escalate_due(sweep_storage.as_ref()).await {
                tracing::error!(error = %e.en, "share request escalation sweep failed");
            }
            // Grants whose usage report is overdue past its grace are suspended (R-SHR-13).
            if let Err(e) = pdp_app::share_ops::suspend_overdue(&sweep_state).await {
                tracing::error!(error = %e.en, "usage report sweep failed");
            }
            // Copies made for grants that no longer serve are deleted (R-SEC-05).
            match pdp_app::share_files::sweep_share_files(&sweep_state).await {
                Ok(n) if n > 0 => tracing::info!(grants = n, "deleted the copies of grants that ended"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e.en, "grant copy sweep failed"),
            }
            // Scenario applications past their end close their lists in the operation domain
            // (R-OPS-04), and the operation log's retention applies (R-OPS-11).
            match pdp_app::operation::expire_scenarios(&sweep_state).await {
                Ok(n) if n > 0 => tracing::info!(applications = n, "closed the scenario applications that ended"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e.en, "scenario application expiry sweep failed"),
            }
            if let Err(e) = pdp_app::operation::prune_logs(&sweep_state, None).await {
                tracing::error!(error = %e.en, "operation log retention failed");
            }
        }
    });
    // The use of open data is counted in memory and written every ten seconds; the open
    // catalog is rebuilt when it has grown older than its time to live (changes made by other
    // processes), off the request path.
    let usage_state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
        loop {
            tick.tick().await;
            if let Err(e) = pdp_app::open::flush_usage(&usage_state).await {
                tracing::warn!(error = %e.en, "writing the use of open data failed; kept for the next try");
            }
            if let Err(e) = pdp_app::open::refresh_catalog(&usage_state).await {
                tracing::warn!(error = %e.en, "rebuilding the open catalog failed; the last one stays");
            }
        }
    });
    let finish = state.clone();
    let app = pdp_web::app(state);
    #[cfg(feature = "bench")]
    let app = {
        tracing::warn!("a benchmark build: GET /bench/bare answers anyone (never run it in production)");
        app.merge(pdp_web::bench_router())
    };
    let listener =
        tokio::net::TcpListener::bind(&cfg.listen).await.with_context(|| format!("binding {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    // Absolute URLs the platform hands out (Delta Sharing file URLs) start with the configured
    // public URL, never with what a request's Host header claims.
    let public = match &cfg.public_url {
        Some(u) if !u.trim().is_empty() => u.trim().trim_end_matches('/').to_string(),
        _ => {
            if addr.ip().is_unspecified() {
                tracing::warn!(
                    "public_url is not set and the server listens on all addresses: set public_url to the address clients use"
                );
            }
            format!("http://{addr}")
        }
    };
    let _ = finish.public_url.set(public);
    println!("PDP listening on http://{addr}");
    // Newly published open releases are posted to the webhooks that follow them.
    let hook_state = finish.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3));
        loop {
            tick.tick().await;
            if let Err(e) = pdp_app::webhooks::announce(&hook_state, hook_state.base_url()).await {
                tracing::warn!(error = %e.en, "announcing open releases to webhooks failed; tried again later");
            }
        }
    });
    // Harvest sources whose schedule is due are run, one after another.
    let harvest_state = finish.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            tick.tick().await;
            if let Err(e) = pdp_app::harvest::run_due(&harvest_state).await {
                tracing::warn!(error = %e.en, "scheduled harvesting failed; tried again later");
            }
        }
    });

    // Checkpoints are signed on a timer and once more at shutdown.
    let cp_storage = storage.clone();
    let interval = std::time::Duration::from_secs(cfg.audit.checkpoint_interval_secs);
    let key = Arc::new(key);
    let cp_key = key.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        loop {
            tick.tick().await;
            if let Err(e) = pdp_storage::checkpoint(cp_storage.as_ref(), &cp_key).await {
                tracing::error!(error = %e, "checkpoint failed");
            }
        }
    });
    // The peer address feeds the per-address login throttle.
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown())
        .await?;
    // The last accesses go into the database, so the final checkpoint covers them.
    finish.sync_accesses().await;
    if let Err(e) = pdp_app::open::flush_usage(&finish).await {
        tracing::warn!(error = %e.en, "the last counts of open data use were not written");
    }
    pdp_storage::checkpoint(storage.as_ref(), &key).await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
