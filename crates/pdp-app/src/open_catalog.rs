//! The open catalog as the portal reads it (R-OPN-02): every entry with a published release,
//! held in memory, with its search facets, its metadata quality and the portal's statistics.
//!
//! Every portal page and open API listing reads the open catalog, so it is not rebuilt per
//! request: [`open_catalog`] hands out one shared, immutable [`OpenCatalog`]. A change made in
//! this process (a release published or withdrawn, an entry published or withdrawn, a load that
//! pushes releases) calls [`catalog_changed`], and the next reader rebuilds it, alone, while
//! the others wait for that one rebuild; so a provider sees its own change at once. Changes made
//! by another process (`pdp load`, a second server on the same database) arrive with age: a
//! catalog older than `open.catalog_ttl_seconds` (30 s) is rebuilt by the next reader, and
//! [`refresh_catalog`], which `pdp serve` runs every ten seconds off the request path, rebuilds
//! it once it is half that old, so that readers do not meet an expired one.
//!
//! Facet values are numbered when the catalog is built, so a search filters and counts integers
//! over the whole catalog and copies only the page it returns.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use pdp_domain::catalog::{Frequency, OpenType, VersionStatus};
use pdp_domain::open::{ReleaseStatus, is_stale};
use pdp_lake::Lake;
use pdp_storage::catalog::{EntryQuery, EntryVersion, EntryView};
use pdp_storage::{OpenRelease, ReleaseQuery};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::catalog::FacetOut;
use crate::clock::{date_of, today_date};
use crate::error::AppError;
use crate::{App, open};

/// How long the home page's "most used" list may be old; the statistics page reads fresh counts.
const STATS_TTL: Duration = Duration::from_secs(10);
/// The most search hits ranked before the facets filter them.
const MAX_RANKED: usize = 10_000;

/// One open dataset of the portal: an entry with its published releases, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenDataset {
    pub entry_id: i64,
    pub code: String,
    pub name: String,
    pub summary: String,
    pub org_id: i64,
    pub org_name: String,
    /// 领域: the catalog class and item.
    pub class: String,
    pub item: String,
    /// `unconditional` or `on_application`.
    pub open_type: String,
    pub frequency: String,
    /// The newest published release.
    pub latest: OpenRelease,
    /// Every published release, newest first: the public version history.
    pub releases: Vec<OpenRelease>,
    /// Past its update frequency since its newest release (R-OPN-08).
    pub stale: bool,
    /// The date the newest release was published, `YYYY-MM-DD`.
    pub updated: String,
}

/// A value of a facet: its kind (`topic`, `org`…), the value a filter names and its label.
struct FacetValue {
    kind: &'static str,
    value: String,
    label: String,
}

/// The open catalog at one moment, newest release first. Immutable: a change builds a new one.
pub struct OpenCatalog {
    generation: u64,
    built: Instant,
    datasets: Vec<OpenDataset>,
    /// Each dataset's published entry (its dictionary and the fields its quality is judged by).
    entries: Vec<EntryVersion>,
    quality: Vec<Quality>,
    by_entry: HashMap<i64, usize>,
    by_code: HashMap<String, usize>,
    /// Each published release: its dataset's index and its own among the dataset's releases.
    by_release: HashMap<i64, (usize, usize)>,
    values: Vec<FacetValue>,
    value_ids: HashMap<(&'static str, String), u32>,
    /// Each dataset's facet values, as indexes into `values`.
    facets_of: Vec<Vec<u32>>,
    /// Counts for the portal's home page.
    pub providers: usize,
    pub releases: usize,
    pub rows: i64,
    pub stale: usize,
}

impl OpenCatalog {
    /// Every open dataset, newest release first.
    pub fn datasets(&self) -> &[OpenDataset] {
        &self.datasets
    }

    /// One open dataset with its entry.
    pub fn get(&self, entry_id: i64) -> Option<(&OpenDataset, &EntryVersion)> {
        self.by_entry.get(&entry_id).map(|&i| (&self.datasets[i], &self.entries[i]))
    }

    /// One open dataset by its resource code, with its entry.
    pub fn by_code(&self, code: &str) -> Option<(&OpenDataset, &EntryVersion)> {
        self.by_code.get(code).map(|&i| (&self.datasets[i], &self.entries[i]))
    }

    /// A published release of an open dataset, with its dataset.
    pub fn release(&self, id: i64) -> Option<(&OpenDataset, &OpenRelease)> {
        self.by_release.get(&id).map(|&(i, k)| (&self.datasets[i], &self.datasets[i].releases[k]))
    }

    /// The open datasets of one provider.
    pub fn of_org(&self, org_id: i64) -> impl Iterator<Item = &OpenDataset> {
        self.datasets.iter().filter(move |d| d.org_id == org_id)
    }

    /// The datasets past their update frequency (R-OPN-08).
    pub fn stale_datasets(&self) -> impl Iterator<Item = &OpenDataset> {
        self.datasets.iter().filter(|d| d.stale)
    }

    /// Builds the catalog from storage: published releases of published entries that the
    /// catalog still opens.
    async fn build(state: &App, generation: u64) -> Result<Self, AppError> {
        let releases = state
            .storage
            .list_releases(&ReleaseQuery {
                status: Some(ReleaseStatus::Published),
                limit: Some(10_000_000),
                ..Default::default()
            })
            .await?;
        let entries =
            state.storage.list_entries(&EntryQuery { view: EntryView::Published, ..Default::default() }).await?;
        let orgs: HashMap<i64, String> = state.storage.list_orgs().await?.into_iter().map(|o| (o.id, o.name)).collect();
        let mut by_release_entry: HashMap<i64, Vec<OpenRelease>> = HashMap::new();
        for r in releases {
            by_release_entry.entry(r.entry_id).or_default().push(r);
        }
        let today = today_date();
        let mut rows: Vec<(OpenDataset, EntryVersion)> = Vec::new();
        for e in entries {
            if e.status != VersionStatus::Published || e.body.open.open_type == OpenType::NotOpen {
                continue;
            }
            let Some(mut releases) = by_release_entry.remove(&e.entry_id) else { continue };
            releases.sort_by_key(|r| std::cmp::Reverse(r.id));
            let latest = releases[0].clone();
            let published = date_of(latest.published_at_micros.unwrap_or(latest.prepared_at_micros));
            let d = OpenDataset {
                entry_id: e.entry_id,
                code: e.code.clone(),
                name: e.body.name.clone(),
                summary: e.body.summary.clone(),
                org_id: e.org_id,
                org_name: orgs.get(&e.org_id).cloned().unwrap_or_default(),
                class: e.body.class.as_str().into(),
                item: e.body.item.clone(),
                open_type: e.body.open.open_type.as_str().into(),
                frequency: e.body.frequency.as_str().into(),
                stale: is_stale(e.body.frequency, published, today),
                updated: crate::clock::iso(published),
                latest,
                releases,
            };
            rows.push((d, e));
        }
        rows.sort_by_key(|(d, _)| std::cmp::Reverse(d.latest.id));
        let lake = state.lake.clone();
        // The quality score looks at each release's file: blocking work, done once per build.
        tokio::task::spawn_blocking(move || Self::index(rows, lake.as_ref(), generation)).await.map_err(|_| {
            AppError::internal("open_catalog_failed", "开放目录生成失败", "building the open catalog failed")
        })
    }

    fn index(rows: Vec<(OpenDataset, EntryVersion)>, lake: Option<&Lake>, generation: u64) -> Self {
        let mut c = OpenCatalog {
            generation,
            built: Instant::now(),
            datasets: Vec::with_capacity(rows.len()),
            entries: Vec::with_capacity(rows.len()),
            quality: Vec::with_capacity(rows.len()),
            by_entry: HashMap::with_capacity(rows.len()),
            by_code: HashMap::with_capacity(rows.len()),
            by_release: HashMap::with_capacity(rows.len()),
            values: Vec::new(),
            value_ids: HashMap::new(),
            facets_of: Vec::with_capacity(rows.len()),
            providers: 0,
            releases: 0,
            rows: 0,
            stale: 0,
        };
        let mut providers = std::collections::HashSet::new();
        for (d, e) in rows {
            let ids = facet_values(&d)
                .into_iter()
                .map(|(kind, value, label)| {
                    let next = c.values.len() as u32;
                    *c.value_ids.entry((kind, value.clone())).or_insert_with(|| {
                        c.values.push(FacetValue { kind, value, label });
                        next
                    })
                })
                .collect();
            providers.insert(d.org_id);
            c.releases += d.releases.len();
            c.rows += d.latest.rows;
            c.stale += usize::from(d.stale);
            c.quality.push(quality(lake, &d, &e));
            c.by_entry.insert(d.entry_id, c.datasets.len());
            c.by_code.insert(d.code.clone(), c.datasets.len());
            for (k, r) in d.releases.iter().enumerate() {
                c.by_release.insert(r.id, (c.datasets.len(), k));
            }
            c.facets_of.push(ids);
            c.datasets.push(d);
            c.entries.push(e);
        }
        c.providers = providers.len();
        c
    }
}

/// The open catalog's cache in [`crate::open::OpenCache`].
#[derive(Default)]
pub struct CatalogCache {
    current: std::sync::RwLock<Option<Arc<OpenCatalog>>>,
    /// Held by the one reader that rebuilds, so that a burst of requests after a change
    /// rebuilds once.
    rebuild: tokio::sync::Mutex<()>,
    /// Moved on by every change made in this process.
    generation: AtomicU64,
    /// The statistics with the catalog generation they were computed from.
    stats: std::sync::Mutex<Option<(Instant, u64, Arc<OpenStats>)>>,
}

impl CatalogCache {
    fn current(&self) -> Option<Arc<OpenCatalog>> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, c: Arc<OpenCatalog>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(c);
    }
}

/// Marks the open catalog as changed by this process: the next reader sees the change.
pub fn catalog_changed(state: &App) {
    state.open_cache.catalog.generation.fetch_add(1, Ordering::AcqRel);
}

/// The open catalog: the one built since the last change, built now if there is none.
pub async fn open_catalog(state: &App) -> Result<Arc<OpenCatalog>, AppError> {
    let cache = &state.open_cache.catalog;
    let ttl = state.settings.open_catalog_ttl;
    let fresh = |c: &Option<Arc<OpenCatalog>>| {
        c.as_ref()
            .filter(|c| c.generation == cache.generation.load(Ordering::Acquire) && c.built.elapsed() <= ttl)
            .cloned()
    };
    if let Some(c) = fresh(&cache.current()) {
        return Ok(c);
    }
    let _one = cache.rebuild.lock().await;
    if let Some(c) = fresh(&cache.current()) {
        return Ok(c);
    }
    let c = Arc::new(OpenCatalog::build(state, cache.generation.load(Ordering::Acquire)).await?);
    cache.set(c.clone());
    Ok(c)
}

/// Rebuilds the open catalog once it is half as old as it may be, off the request path (the
/// readers keep the old one meanwhile), so that another process's changes show.
pub async fn refresh_catalog(state: &App) -> Result<(), AppError> {
    let cache = &state.open_cache.catalog;
    if cache.current().is_some_and(|c| c.built.elapsed() < state.settings.open_catalog_ttl / 2) {
        return Ok(());
    }
    let _one = cache.rebuild.lock().await;
    let generation = cache.generation.load(Ordering::Acquire);
    let c = Arc::new(OpenCatalog::build(state, generation).await?);
    cache.set(c);
    Ok(())
}

/// One open dataset with its entry (the data dictionary).
pub async fn open_dataset(state: &App, entry_id: i64) -> Result<(OpenDataset, EntryVersion), AppError> {
    let c = open_catalog(state).await?;
    c.get(entry_id)
        .map(|(d, e)| (d.clone(), e.clone()))
        .ok_or_else(|| AppError::not_found(&format!("open dataset {entry_id}")))
}

// ---------------------------------------------------------------- search

/// A search of the open catalog: Chinese full text and facets (R-OPN-02).
#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(default)]
pub struct BrowseParams {
    /// Words to find in names, summaries, fields and providers (segmented with jieba).
    pub q: Option<String>,
    /// The providing organisation's id.
    pub org: Option<i64>,
    /// 领域: a catalog class and item, `class:item` (`theme:03` is 社会保障).
    pub topic: Option<String>,
    /// `unconditional` or `on_application`.
    pub open_type: Option<String>,
    /// A download format: `csv`, `xlsx`, `json`, `parquet`.
    pub format: Option<String>,
    /// The update frequency (`daily`, `monthly`…).
    pub frequency: Option<String>,
    pub offset: Option<u64>,
    /// At most 100; 20 by default.
    pub limit: Option<u64>,
}

/// One page of the open catalog with the counts of every facet value over the whole result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BrowseOut {
    pub total: usize,
    pub datasets: Vec<OpenDataset>,
    /// Facet name → values with their labels and counts: `org`, `class`, `open_type`, `format`,
    /// `frequency`.
    pub facets: BTreeMap<String, Vec<FacetOut>>,
}

/// The facets of the open catalog, in display order, with their Chinese and English names.
pub const OPEN_FACETS: &[(&str, &str, &str)] = &[
    ("topic", "领域", "Topic"),
    ("org", "提供单位", "Provider"),
    ("open_type", "开放类型", "Open type"),
    ("format", "格式", "Format"),
    ("frequency", "更新频率", "Update frequency"),
];

/// The Chinese and English names of a catalog class's item (领域), e.g. 社会保障.
pub fn topic_label(class: &str, item: &str) -> (String, String) {
    pdp_domain::catalog::CategoryClass::parse(class)
        .and_then(|c| pdp_domain::catalog::item_label(c, item))
        .map_or_else(|| (item.to_string(), item.to_string()), |(zh, en)| (zh.to_string(), en.to_string()))
}

fn facet_values(d: &OpenDataset) -> Vec<(&'static str, String, String)> {
    let mut v = vec![
        ("topic", format!("{}:{}", d.class, d.item), topic_label(&d.class, &d.item).0),
        ("org", d.org_id.to_string(), d.org_name.clone()),
        (
            "open_type",
            d.open_type.clone(),
            OpenType::parse(&d.open_type).map_or(d.open_type.clone(), |c| c.label_zh().into()),
        ),
        (
            "frequency",
            d.frequency.clone(),
            Frequency::parse(&d.frequency).map_or(d.frequency.clone(), |c| c.label_zh().into()),
        ),
    ];
    for f in &d.latest.rules.formats {
        v.push(("format", f.as_str().into(), f.label_zh().into()));
    }
    v
}

/// Searches the open catalog: the text through the catalog's search index (best first), the
/// facets as filters; newest first without text.
pub async fn browse(state: &App, q: &BrowseParams) -> Result<BrowseOut, AppError> {
    browse_up_to(state, q, 100).await
}

/// [`browse`] with pages of up to `max` datasets (CKAN's `package_search` allows 1 000).
pub async fn browse_up_to(state: &App, q: &BrowseParams, max: u64) -> Result<BrowseOut, AppError> {
    let c = open_catalog(state).await?;
    let text = q.q.as_deref().unwrap_or("").trim().to_string();
    let order: Vec<usize> = if text.is_empty() {
        (0..c.datasets.len()).collect()
    } else {
        let index =
            state.catalog.index.clone().ok_or_else(|| {
                AppError::unavailable("search_unavailable", "检索服务暂不可用", "search is unavailable")
            })?;
        let text: String = text.chars().take(200).collect();
        let ranked = tokio::task::spawn_blocking(move || index.rank(&text, MAX_RANKED))
            .await
            .map_err(|_| AppError::internal("search_failed", "检索失败", "search failed"))?
            .map_err(|e| {
                tracing::error!(error = %e, "search failed");
                AppError::internal("search_failed", "检索失败", "search failed")
            })?;
        ranked.into_iter().filter_map(|id| c.by_entry.get(&id).copied()).collect()
    };
    let wanted: Vec<(&str, String)> = [
        ("org", q.org.map(|o| o.to_string())),
        ("topic", q.topic.clone()),
        ("open_type", q.open_type.clone()),
        ("format", q.format.clone()),
        ("frequency", q.frequency.clone()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v)))
    .collect();
    // A value no dataset has matches nothing.
    let wanted: Option<Vec<u32>> = wanted.into_iter().map(|k| c.value_ids.get(&k).copied()).collect();
    let hits: Vec<usize> = match wanted {
        None => vec![],
        Some(w) => order.into_iter().filter(|&i| w.iter().all(|v| c.facets_of[i].contains(v))).collect(),
    };
    let mut counts = vec![0u64; c.values.len()];
    for &i in &hits {
        for &v in &c.facets_of[i] {
            counts[v as usize] += 1;
        }
    }
    let mut facets: BTreeMap<String, Vec<FacetOut>> = BTreeMap::new();
    for (v, n) in c.values.iter().zip(counts).filter(|(_, n)| *n > 0) {
        facets.entry(v.kind.to_string()).or_default().push(FacetOut {
            value: v.value.clone(),
            label: v.label.clone(),
            count: n,
        });
    }
    for list in facets.values_mut() {
        list.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
    }
    let offset = crate::limits::offset(state, q.offset)?;
    let limit = q.limit.unwrap_or(20).clamp(1, max) as usize;
    let total = hits.len();
    let datasets = hits.into_iter().skip(offset).take(limit).map(|i| c.datasets[i].clone()).collect();
    Ok(BrowseOut { total, datasets, facets })
}

// ---------------------------------------------------------------- quality and statistics

/// A release's metadata quality (R-OPN-08's timeliness, the catalog's completeness, the file
/// behind the links), each 0–100, and their weighted score (4 : 3 : 3).
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
pub struct Quality {
    pub score: u8,
    /// The share of the catalog's descriptive fields filled: the summary, each released field's
    /// description, the release date, and for on-application data its conditions and basis.
    pub completeness: u8,
    /// Whether the release's file is there to download.
    pub links: u8,
    /// Whether the data is updated as often as its frequency promises.
    pub timeliness: u8,
}

fn quality(lk: Option<&Lake>, d: &OpenDataset, e: &EntryVersion) -> Quality {
    let b = &e.body;
    let mut filled = 0usize;
    let mut total = 0usize;
    let mut item = |ok: bool| {
        total += 1;
        filled += usize::from(ok);
    };
    item(!b.summary.trim().is_empty());
    item(!b.release_date.trim().is_empty());
    for rf in &d.latest.rules.fields {
        item(b.fields.iter().any(|f| f.name == rf.name && !f.description.trim().is_empty()));
    }
    if b.open.open_type == OpenType::OnApplication {
        item(!b.open.conditions.trim().is_empty());
        item(!b.open.legal_basis.trim().is_empty());
    }
    let completeness = (filled * 100 / total.max(1)) as u8;
    let links = match lk.and_then(|lk| open::release_path(lk, &d.latest).ok()) {
        Some(p) if p.is_file() => 100,
        _ => 0,
    };
    let timeliness = if d.stale { 0 } else { 100 };
    let score = ((u32::from(completeness) * 4 + u32::from(links) * 3 + u32::from(timeliness) * 3) / 10) as u8;
    Quality { score, completeness, links, timeliness }
}

/// One open dataset's use and quality.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DatasetStats {
    pub entry_id: i64,
    pub name: String,
    pub org_id: i64,
    pub org_name: String,
    /// Its newest release.
    pub release_id: i64,
    pub views: i64,
    pub downloads: i64,
    pub api_calls: i64,
    pub quality: Quality,
}

/// An organisation's open data, its use and its mean quality score.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgStats {
    pub org_id: i64,
    pub org_name: String,
    pub datasets: usize,
    pub releases: usize,
    pub views: i64,
    pub downloads: i64,
    pub api_calls: i64,
    pub mean_quality: u8,
}

/// The portal's public statistics.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenStats {
    pub views: i64,
    pub downloads: i64,
    pub api_calls: i64,
    /// The last 30 days, day by day (days without use are absent).
    pub by_day: Vec<pdp_storage::Usage>,
    /// Most used first.
    pub datasets: Vec<DatasetStats>,
    pub orgs: Vec<OrgStats>,
}

/// Views, downloads and API calls per open dataset and organisation, over every release, with
/// each dataset's metadata quality (public): counted up to now, the uses still in memory
/// written first.
pub async fn open_stats(state: &App) -> Result<Arc<OpenStats>, AppError> {
    if let Err(e) = open::flush_usage(state).await {
        tracing::warn!(error = %e.message(), "counting the use of open data failed");
    }
    compute_stats(state).await
}

/// [`open_stats`] as computed at most [`STATS_TTL`] ago, for the home page's "most used" list,
/// which every visitor loads.
pub async fn recent_stats(state: &App) -> Result<Arc<OpenStats>, AppError> {
    let c = open_catalog(state).await?;
    let cached = state.open_cache.catalog.stats.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match cached {
        Some((at, generation, s)) if at.elapsed() < STATS_TTL && generation == c.generation => Ok(s),
        _ => compute_stats(state).await,
    }
}

async fn compute_stats(state: &App) -> Result<Arc<OpenStats>, AppError> {
    let c = open_catalog(state).await?;
    let usage = state.storage.usage_by_release().await?;
    let since = crate::clock::iso(today_date() - time::Duration::days(29));
    let by_day = state.storage.usage_by_day(&since).await?;
    // A withdrawn release's uses still count for its dataset.
    let mut per_entry: HashMap<i64, (i64, i64, i64)> = HashMap::new();
    for u in &usage {
        let t = per_entry.entry(u.entry_id).or_default();
        t.0 += u.views;
        t.1 += u.downloads;
        t.2 += u.api_calls;
    }
    let mut out: Vec<DatasetStats> = Vec::with_capacity(c.datasets.len());
    for (d, q) in c.datasets.iter().zip(&c.quality) {
        let (views, downloads, api_calls) = per_entry.get(&d.entry_id).copied().unwrap_or_default();
        out.push(DatasetStats {
            entry_id: d.entry_id,
            name: d.name.clone(),
            org_id: d.org_id,
            org_name: d.org_name.clone(),
            release_id: d.latest.id,
            views,
            downloads,
            api_calls,
            quality: *q,
        });
    }
    let mut orgs: Vec<OrgStats> = Vec::new();
    let mut org_index: HashMap<i64, usize> = HashMap::new();
    let mut quality_sums: Vec<u32> = Vec::new();
    for (s, d) in out.iter().zip(&c.datasets) {
        let i = *org_index.entry(s.org_id).or_insert_with(|| {
            orgs.push(OrgStats {
                org_id: s.org_id,
                org_name: s.org_name.clone(),
                datasets: 0,
                releases: 0,
                views: 0,
                downloads: 0,
                api_calls: 0,
                mean_quality: 0,
            });
            quality_sums.push(0);
            orgs.len() - 1
        });
        let o = &mut orgs[i];
        o.datasets += 1;
        o.releases += d.releases.len();
        o.views += s.views;
        o.downloads += s.downloads;
        o.api_calls += s.api_calls;
        quality_sums[i] += u32::from(s.quality.score);
    }
    for (o, sum) in orgs.iter_mut().zip(quality_sums) {
        o.mean_quality = (sum / (o.datasets as u32).max(1)) as u8;
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.downloads + s.api_calls + s.views));
    orgs.sort_by_key(|o| std::cmp::Reverse(o.datasets));
    let stats = Arc::new(OpenStats {
        views: out.iter().map(|s| s.views).sum(),
        downloads: out.iter().map(|s| s.downloads).sum(),
        api_calls: out.iter().map(|s| s.api_calls).sum(),
        by_day,
        datasets: out,
        orgs,
    });
    *state.open_cache.catalog.stats.lock().unwrap_or_else(|p| p.into_inner()) =
        Some((Instant::now(), c.generation, stats.clone()));
    Ok(stats)
}
