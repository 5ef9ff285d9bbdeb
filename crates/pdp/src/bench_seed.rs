//! `pdp bench seed-open` (benchmark builds only): grows the demo's open catalog to a city's size
//! for the portal benchmark of docs/benchmarks.md (`bench/open_wrk.sh`).
//!
//! Preparing and reviewing 100 000 releases through the use cases would take hours and measure
//! nothing the benchmark is about, so this writes through the storage trait directly: each new
//! entry is a copy of a published, unconditionally open demo entry under a new name (published
//! at once, like an import the reviewer approved), and its release points at the template
//! release's file, which is immutable. The search index is rebuilt at the end.

use std::sync::Arc;

use anyhow::Context;
use pdp_audit::NewEvent;
use pdp_domain::catalog::{OpenType, VersionStatus};
use pdp_domain::open::ReleaseStatus;
use pdp_storage::{NewRelease, OpenRelease, ReleaseQuery, Storage, catalog::EntryVersion};

/// Words the copies' names carry, so that a search finds a share of the catalog, not all of it.
const WORDS: &[&str] = &[
    "交通", "医疗", "教育", "环境", "气象", "旅游", "住房", "就业", "养老", "农业", "水务", "能源", "文化", "体育",
    "科技", "商务", "税务", "社区", "应急", "民政",
];

/// Copies demo open datasets until the open catalog holds `datasets` of them; prints progress.
pub async fn seed_open(
    storage: &dyn Storage,
    index: Arc<pdp_search::CatalogIndex>,
    datasets: usize,
) -> anyhow::Result<()> {
    let published = storage
        .list_releases(&ReleaseQuery {
            status: Some(ReleaseStatus::Published),
            limit: Some(10_000_000),
            ..Default::default()
        })
        .await?;
    let mut seen = std::collections::HashSet::new();
    let mut templates: Vec<(OpenRelease, EntryVersion)> = Vec::new();
    for r in &published {
        if !seen.insert(r.entry_id) || r.open_type != OpenType::Unconditional {
            continue;
        }
        let Some(e) = storage.get_entry(r.entry_id).await? else { continue };
        if e.status == VersionStatus::Published && e.body.open.open_type == OpenType::Unconditional {
            templates.push((r.clone(), e));
        }
    }
    anyhow::ensure!(!templates.is_empty(), "no unconditionally open release to copy: run `pdp serve --demo` first");
    let have = seen.len();
    let todo = datasets.saturating_sub(have);
    eprintln!("{have} open datasets; copying {} templates into {todo} more", templates.len());
    let started = std::time::Instant::now();
    let mut done = 0usize;
    let batch = 500usize;
    while done < todo {
        let (r, e) = &templates[(done / batch) % templates.len()];
        let n = batch.min(todo - done);
        let items: Vec<(Option<i64>, pdp_domain::catalog::EntryBody)> = (0..n)
            .map(|k| {
                let i = have + done + k;
                let mut b = e.body.clone();
                b.name = format!("{}（{}·{i}）", b.name, WORDS[i % WORDS.len()]);
                b.summary = format!("{} {}", b.summary, WORDS[(i / WORDS.len()) % WORDS.len()]);
                (None, b)
            })
            .collect();
        let created = storage
            .import_entries(e.org_id, &items, None, NewEvent::system("bench.seed_open", "catalog"))
            .await
            .context("creating entries")?;
        for c in created {
            publish_copy(storage, &c, r, r.file.clone(), r.rows, r.bytes).await?;
        }
        done += n;
        eprint!("\r{done}/{todo} ({:.0} s)", started.elapsed().as_secs_f64());
    }
    eprintln!();
    let n = pdp_app::catalog::rebuild_index(storage, index, |_| {}).await?;
    println!("open datasets: {}; search index: {n} published entries", have + todo);
    Ok(())
}

/// Writes an open release of `rows` rows for the download benchmark (`bench/open_download.sh`):
/// the rows of the largest unconditionally open demo release over and over, the first column of
/// each made unique by its row number (so the file does not compress to nothing), under a copy
/// of that release's entry. Prints the release id and the file's path.
pub async fn seed_release(storage: &dyn Storage, lake: &pdp_lake::Lake, rows: u64) -> anyhow::Result<()> {
    let published = storage
        .list_releases(&ReleaseQuery {
            status: Some(ReleaseStatus::Published),
            limit: Some(10_000_000),
            ..Default::default()
        })
        .await?;
    let r = published
        .into_iter()
        .filter(|r| r.open_type == OpenType::Unconditional)
        .max_by_key(|r| r.rows)
        .context("no unconditionally open release to copy: run `pdp serve --demo` first")?;
    let e = storage.get_entry(r.entry_id).await?.context("the release's entry")?;
    let root = pdp_app::open::release_root(lake).map_err(|e| anyhow::anyhow!(e.en))?;
    let src = root.join(&r.file);
    let file = format!("bench-{rows}.parquet");
    let dst = root.join(&file);
    let started = std::time::Instant::now();
    let written = tokio::task::spawn_blocking(move || -> anyhow::Result<pdp_lake::share::WrittenFile> {
        let mut template: Vec<Vec<Option<String>>> = Vec::new();
        let mut columns: Vec<String> = Vec::new();
        pdp_lake::release::for_each_chunk(&src, |c, chunk| {
            columns = c.to_vec();
            template.extend(chunk);
            true
        })?;
        anyhow::ensure!(!template.is_empty(), "the template release is empty");
        let metadata =
            [("pdp.open_release".to_string(), "v1".to_string()), ("pdp.bench".to_string(), rows.to_string())];
        let mut out = pdp_lake::share::TextFileWriter::create(&dst, &columns, &metadata)?;
        let mut i = 0u64;
        while i < rows {
            let n = 8192.min(rows - i);
            out.write_rows((i..i + n).map(|k| {
                let mut row = template[(k % template.len() as u64) as usize].clone();
                if let Some(Some(first)) = row.first_mut() {
                    first.push_str(&format!("-{k}"));
                }
                row
            }))?;
            i += n;
            if i.is_multiple_of(1_000_000) {
                eprint!("\r{i}/{rows}");
            }
        }
        eprintln!();
        Ok(out.finish()?)
    })
    .await??;
    let mut body = e.body.clone();
    body.name = format!("{}（下载基准 {rows} 行）", body.name);
    let created = storage
        .import_entries(e.org_id, &[(None, body)], None, NewEvent::system("bench.seed_release", "catalog"))
        .await?;
    let release = publish_copy(storage, &created[0], &r, file, rows as i64, written.bytes as i64).await?;
    eprintln!("written in {:.1} s", started.elapsed().as_secs_f64());
    println!("{} {}", release.id, root.join(&release.file).display());
    Ok(())
}

/// Publishes a created copy of an entry, and a release of it by the template release's rules on
/// the file given.
async fn publish_copy(
    storage: &dyn Storage,
    c: &EntryVersion,
    r: &OpenRelease,
    file: String,
    rows: i64,
    bytes: i64,
) -> anyhow::Result<OpenRelease> {
    let event = || NewEvent::system("bench.seed_open", &format!("entry:{}", c.entry_id));
    storage
        .transition_entry(
            c.entry_id,
            c.version,
            VersionStatus::Draft,
            VersionStatus::Published,
            None,
            "benchmark copy",
            event(),
        )
        .await
        .context("publishing an entry")?;
    let release = NewRelease {
        entry_id: c.entry_id,
        dataset: r.dataset.clone(),
        org_id: r.org_id,
        route: r.route,
        source_version: r.source_version,
        rules: r.rules.clone(),
        schema_digest: r.schema_digest.clone(),
        open_type: r.open_type,
        rows,
        bytes,
        file,
        // The copies share their template's file, hence its digest.
        sha256: r.sha256.clone(),
        prepared_by: "bench".into(),
        previous_id: None,
        note: "benchmark copy".into(),
        publish_now: true,
    };
    storage.create_release(release, event()).await.context("creating a release")
}
