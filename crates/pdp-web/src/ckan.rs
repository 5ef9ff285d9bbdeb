//! The CKAN Action API, read side (R-OPN-02/03): `/api/3/action/{name}` and
//! `/api/action/{name}`, GET with a query string or POST with a JSON object, answered in CKAN's
//! envelope `{help, success, result}` or `{help, success: false, error: {__type, message}}` with
//! CKAN's status codes, so that `ckanapi`, CKAN's harvester and the scripts written for CKAN
//! portals read the open catalog unmodified.
//!
//! Packages are open datasets, named by their resource code (`301000/000123` is
//! `301000-000123`, which never changes when a title does); resources are the newest release's
//! downloads; organisations are the providers (`org-{id}`), groups the topics
//! (`theme-09`). Only the open catalog is here: data open on application is metadata whose one
//! resource is its page, where the public applies.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use pdp_app::open::{BrowseParams, OpenCatalog, OpenDataset, open_catalog, topic_label};
use pdp_domain::catalog::{Frequency, OpenType};
use pdp_domain::open::{ReleaseFormat, ReleaseRoute};
use pdp_domain::social::Licence;
use pdp_lake::release::CellFilter;
use pdp_storage::catalog::EntryVersion;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::auth::Principal;
use crate::error::AppError;

type S = State<Arc<AppState>>;
type Peer = Option<Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>;

/// The most packages one `package_search` returns (CKAN's own bound) and the most rows one
/// `datastore_search` returns.
const MAX_ROWS: u64 = 1000;
const MAX_RECORDS: u64 = 32_000;

/// The actions served, for `help` and the error naming an unknown one.
pub const ACTIONS: &[&str] = &[
    "status_show",
    "site_read",
    "package_list",
    "package_search",
    "package_show",
    "current_package_list_with_resources",
    "organization_list",
    "organization_show",
    "group_list",
    "group_show",
    "tag_list",
    "license_list",
    "resource_show",
    "datastore_search",
];

/// A CKAN error: its `__type` (which `crate::error::ckan_error` gives its status) and message.
struct CkanError {
    kind: &'static str,
    message: String,
}

impl CkanError {
    fn not_found(what: &str) -> Self {
        Self { kind: "Not Found Error", message: format!("Not found: {what}") }
    }

    fn validation(message: impl Into<String>) -> Self {
        Self { kind: "Validation Error", message: message.into() }
    }
}

impl From<AppError> for CkanError {
    fn from(e: AppError) -> Self {
        use pdp_app::error::ErrorKind as K;
        let kind = match e.kind {
            K::NotFound => "Not Found Error",
            K::Forbidden | K::Unauthenticated => "Authorization Error",
            K::Invalid | K::Conflict | K::TooLarge => "Validation Error",
            K::TooMany => "Rate Limit Error",
            _ => "Internal Server Error",
        };
        Self { kind, message: format!("{} / {}", e.zh, e.en) }
    }
}

/// An action's parameters: the JSON body's object, or the query string's values.
struct Params(Map<String, Value>);

impl Params {
    fn parse(method: &Method, query: Option<&str>, body: &[u8]) -> Result<Self, CkanError> {
        if method == Method::POST && !body.is_empty() {
            return match serde_json::from_slice(body) {
                Ok(Value::Object(m)) => Ok(Self(m)),
                _ => Err(CkanError::validation("the request body must be a JSON object")),
            };
        }
        let m = form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        Ok(Self(m))
    }

    fn str(&self, k: &str) -> Option<String> {
        match self.0.get(k)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            v => Some(v.to_string()),
        }
    }

    fn int(&self, k: &str) -> Result<Option<u64>, CkanError> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => {
                n.as_u64().map(Some).ok_or_else(|| CkanError::validation(format!("{k}: must be a natural number")))
            }
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => {
                s.trim().parse().map(Some).map_err(|_| CkanError::validation(format!("{k}: must be a natural number")))
            }
            Some(_) => Err(CkanError::validation(format!("{k}: must be a natural number"))),
        }
    }

    fn flag(&self, k: &str) -> bool {
        match self.0.get(k) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => matches!(s.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on"),
            _ => false,
        }
    }

    /// A list given as a JSON array or, in a query string, as its JSON text.
    fn list(&self, k: &str) -> Result<Vec<String>, CkanError> {
        let v = match self.0.get(k) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::String(s)) if s.trim().starts_with('[') => {
                serde_json::from_str(s).map_err(|_| CkanError::validation(format!("{k}: must be a JSON list")))?
            }
            Some(v) => v.clone(),
        };
        match v {
            Value::Array(a) => {
                Ok(a.into_iter().map(|x| x.as_str().map_or_else(|| x.to_string(), String::from)).collect())
            }
            Value::String(s) => Ok(s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()),
            _ => Err(CkanError::validation(format!("{k}: must be a list"))),
        }
    }
}

fn envelope(base: &str, action: &str, body: Result<Value, CkanError>) -> Response {
    let help = format!("{base}/api/3/action/help_show?name={action}");
    match body {
        Ok(result) => axum::Json(json!({"help": help, "success": true, "result": result})).into_response(),
        Err(e) => crate::error::ckan_error(help, e.kind, &e.message),
    }
}

/// Every action, GET or POST.
pub async fn action(
    State(state): S,
    p: Option<Extension<Principal>>,
    peer: Peer,
    Path(name): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let base = state.base_url().to_string();
    let result = match Params::parse(&method, query.as_deref(), &body) {
        Ok(params) => run(&state, &base, &name, &params, crate::open::reader(p, peer)).await,
        Err(e) => Err(e),
    };
    envelope(&base, &name, result)
}

async fn run(
    state: &AppState,
    base: &str,
    name: &str,
    params: &Params,
    reader: pdp_app::open::Reader,
) -> Result<Value, CkanError> {
    let c = || async { open_catalog(state).await.map_err(CkanError::from) };
    match name {
        "status_show" => Ok(json!({
            "site_title": "公共数据开放平台 Public Data Platform",
            "site_description": "城市公共数据开放门户 / the city's open data portal",
            "site_url": base,
            "ckan_version": "2.10.0",
            "locale_default": "zh_Hans_CN",
            "extensions": ["datastore"],
        })),
        "site_read" => Ok(Value::Bool(true)),
        "package_list" => {
            let c = c().await?;
            let (offset, limit) = page(params, c.datasets().len() as u64)?;
            Ok(json!(c.datasets().iter().skip(offset).take(limit).map(|d| package_name(&d.code)).collect::<Vec<_>>()))
        }
        "current_package_list_with_resources" => {
            let c = c().await?;
            let (offset, limit) = page(params, 10)?;
            Ok(packages(base, &c, c.datasets().iter().skip(offset).take(limit)))
        }
        "package_show" => {
            let c = c().await?;
            let id = params.str("id").or_else(|| params.str("name")).unwrap_or_default();
            let (d, e) = find(&c, &id).ok_or_else(|| CkanError::not_found("package"))?;
            Ok(package(base, d, e))
        }
        "package_search" => package_search(state, base, params).await,
        "organization_list" => {
            let c = c().await?;
            let orgs = organisations(&c);
            Ok(if params.flag("all_fields") {
                json!(orgs.iter().map(|(id, (name, n))| organisation(*id, name, Some(*n))).collect::<Vec<_>>())
            } else {
                json!(orgs.keys().map(|id| org_name(*id)).collect::<Vec<_>>())
            })
        }
        "organization_show" => {
            let c = c().await?;
            let id = params.str("id").unwrap_or_default();
            let org = id.strip_prefix("org-").and_then(|n| n.parse::<i64>().ok());
            let orgs = organisations(&c);
            let (oid, (title, n)) =
                org.and_then(|o| orgs.get_key_value(&o)).ok_or_else(|| CkanError::not_found("organization"))?;
            let mut o = organisation(*oid, title, Some(*n));
            if params.flag("include_datasets") {
                o["packages"] = packages(base, &c, c.of_org(*oid));
            }
            Ok(o)
        }
        "group_list" => {
            let c = c().await?;
            let groups = topics(&c);
            Ok(if params.flag("all_fields") {
                json!(groups.iter().map(|((class, item), n)| group(class, item, Some(*n))).collect::<Vec<_>>())
            } else {
                json!(groups.keys().map(|(class, item)| group_name(class, item)).collect::<Vec<_>>())
            })
        }
        "group_show" => {
            let c = c().await?;
            let id = params.str("id").unwrap_or_default();
            let (class, item) = id.split_once('-').ok_or_else(|| CkanError::not_found("group"))?;
            let groups = topics(&c);
            let n = groups.get(&(class.to_string(), item.to_string())).ok_or_else(|| CkanError::not_found("group"))?;
            let mut g = group(class, item, Some(*n));
            if params.flag("include_datasets") {
                g["packages"] = packages(base, &c, c.datasets().iter().filter(|d| d.class == class && d.item == item));
            }
            Ok(g)
        }
        "tag_list" => {
            let c = c().await?;
            let mut tags: Vec<String> = c.datasets().iter().flat_map(tags_of).collect();
            tags.sort();
            tags.dedup();
            if let Some(q) = params.str("query").filter(|q| !q.is_empty()) {
                tags.retain(|t| t.contains(&q));
            }
            Ok(json!(tags))
        }
        "license_list" => Ok(json!(licences(base))),
        "resource_show" => {
            let c = c().await?;
            let id = params.str("id").unwrap_or_default();
            let (rid, format) = parse_resource(&id).ok_or_else(|| CkanError::not_found("resource"))?;
            let (d, _) = c.release(rid).ok_or_else(|| CkanError::not_found("resource"))?;
            let (d, e) = c.get(d.entry_id).ok_or_else(|| CkanError::not_found("resource"))?;
            resources(base, d, e)
                .into_iter()
                .find(|r| r["id"] == resource_id(d.latest.id, format))
                .ok_or_else(|| CkanError::not_found("resource"))
        }
        "datastore_search" => datastore_search(state, params, reader).await,
        _ => Err(CkanError {
            kind: "Bad request",
            message: format!("Action name not known: {name} (served: {})", ACTIONS.join(", ")),
        }),
    }
}

/// The package dicts of some datasets, at most [`MAX_ROWS`].
fn packages<'a>(base: &str, c: &OpenCatalog, datasets: impl Iterator<Item = &'a OpenDataset>) -> Value {
    Value::Array(
        datasets.take(MAX_ROWS as usize).filter_map(|d| c.get(d.entry_id).map(|(d, e)| package(base, d, e))).collect(),
    )
}

/// `offset`/`limit` of a listing, bounded by [`MAX_ROWS`].
fn page(params: &Params, default: u64) -> Result<(usize, usize), CkanError> {
    let offset = params.int("offset")?.unwrap_or(0);
    let limit = params.int("limit")?.unwrap_or(default).min(MAX_ROWS.max(default));
    Ok((offset.min(usize::MAX as u64) as usize, limit as usize))
}

/// A package's name: its resource code with `-` for `/`.
pub fn package_name(code: &str) -> String {
    code.replace('/', "-")
}

fn find<'a>(c: &'a OpenCatalog, id: &str) -> Option<(&'a OpenDataset, &'a EntryVersion)> {
    c.by_code(&id.trim().replacen('-', "/", 1))
}

fn org_name(id: i64) -> String {
    format!("org-{id}")
}

fn group_name(class: &str, item: &str) -> String {
    format!("{class}-{item}")
}

fn resource_id(release: i64, format: ReleaseFormat) -> String {
    format!("{release}-{}", format.as_str())
}

fn parse_resource(id: &str) -> Option<(i64, ReleaseFormat)> {
    let (r, f) = id.split_once('-')?;
    Some((r.parse().ok()?, ReleaseFormat::parse(f)?))
}

/// CKAN's timestamps: UTC, microseconds, no zone.
fn timestamp(micros: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// The providers with their names and numbers of open datasets.
fn organisations(c: &OpenCatalog) -> BTreeMap<i64, (String, usize)> {
    let mut m: BTreeMap<i64, (String, usize)> = BTreeMap::new();
    for d in c.datasets() {
        m.entry(d.org_id).or_insert_with(|| (d.org_name.clone(), 0)).1 += 1;
    }
    m
}

fn organisation(id: i64, title: &str, packages: Option<usize>) -> Value {
    json!({
        "id": org_name(id), "name": org_name(id), "title": title, "display_name": title,
        "type": "organization", "is_organization": true, "state": "active", "approval_status": "approved",
        "description": "", "image_url": "", "image_display_url": "", "created": null,
        "package_count": packages,
    })
}

/// The topics (class and item) with their numbers of open datasets.
fn topics(c: &OpenCatalog) -> BTreeMap<(String, String), usize> {
    let mut m = BTreeMap::new();
    for d in c.datasets() {
        *m.entry((d.class.clone(), d.item.clone())).or_insert(0) += 1;
    }
    m
}

fn group(class: &str, item: &str, packages: Option<usize>) -> Value {
    let (zh, en) = topic_label(class, item);
    json!({
        "id": group_name(class, item), "name": group_name(class, item), "title": zh, "display_name": zh,
        "description": en, "type": "group", "is_organization": false, "state": "active",
        "approval_status": "approved", "image_url": "", "image_display_url": "", "created": null,
        "package_count": packages,
    })
}

/// A dataset's tags: its topic and its update frequency, in Chinese.
fn tags_of(d: &OpenDataset) -> Vec<String> {
    let mut t = vec![topic_label(&d.class, &d.item).0];
    if let Some(f) = Frequency::parse(&d.frequency) {
        t.push(format!("{}更新", f.label_zh()));
    }
    t
}

/// The licences data is opened under: the city's terms for its own data (open unconditionally
/// or on application) and the licences organisations choose for social data.
fn licences(base: &str) -> Vec<Value> {
    let mut v = vec![
        json!({"id": "pdp-open", "title": "公共数据无条件开放：免费获取，可再利用，须注明来源 / Open public data: free, reusable, with attribution",
            "url": format!("{base}/open"), "status": "active", "od_conformance": "approved", "osd_conformance": "not reviewed"}),
        json!({"id": "pdp-on-application", "title": "公共数据有条件开放：按批准的用途和期限使用 / Open on application: for the approved purpose and period",
            "url": format!("{base}/open"), "status": "active", "od_conformance": "not reviewed", "osd_conformance": "not reviewed"}),
    ];
    for l in Licence::ALL {
        let (id, url) = licence_of(*l);
        v.push(json!({"id": id, "title": l.label_en(), "url": url, "status": "active", "od_conformance": "approved", "osd_conformance": "not reviewed"}));
    }
    v
}

fn licence_of(l: Licence) -> (&'static str, &'static str) {
    match l {
        Licence::CcBy => ("cc-by", "https://creativecommons.org/licenses/by/4.0/"),
        Licence::Cc0 => ("cc-zero", "https://creativecommons.org/publicdomain/zero/1.0/"),
        Licence::OdcBy => ("odc-by", "https://opendatacommons.org/licenses/by/1-0/"),
    }
}

/// The licence id of a dataset: the social licence its organisation chose (named in the
/// entry's usage requirements), else the city's terms by open type.
fn licence_id(d: &OpenDataset, e: &EntryVersion) -> &'static str {
    if d.latest.route == ReleaseRoute::Social
        && let Some(l) = Licence::ALL.iter().find(|l| e.body.usage_requirements.contains(l.label_en()))
    {
        return licence_of(*l).0;
    }
    if d.open_type == OpenType::OnApplication.as_str() { "pdp-on-application" } else { "pdp-open" }
}

/// The resources of a dataset: the newest release in each of its formats, or for data open on
/// application its page, where the public applies.
fn resources(base: &str, d: &OpenDataset, e: &EntryVersion) -> Vec<Value> {
    let r = &d.latest;
    let at = timestamp(r.published_at_micros.unwrap_or(r.prepared_at_micros));
    let package_id = package_name(&d.code);
    if d.open_type != OpenType::Unconditional.as_str() || r.open_type != OpenType::Unconditional {
        return vec![json!({
            "id": format!("{}-apply", r.id), "package_id": package_id, "position": 0,
            "name": format!("{}（依申请开放）", e.body.name), "description": "有条件开放：登录后在数据页面申请 / open on application: apply on the dataset's page",
            "format": "HTML", "mimetype": "text/html", "url": format!("{base}/open/datasets/{}", d.entry_id),
            "size": null, "created": at, "last_modified": at, "state": "active", "url_type": null, "datastore_active": false,
        })];
    }
    r.rules
        .formats
        .iter()
        .enumerate()
        .map(|(i, f)| {
            json!({
                "id": resource_id(r.id, *f), "package_id": package_id, "position": i,
                "name": format!("{}（{}）", e.body.name, f.label_en()), "description": format!("第 {} 号开放数据，{} 行 / release {}, {} rows", r.id, r.rows, r.id, r.rows),
                "format": f.as_str().to_uppercase(), "mimetype": f.media_type().split(';').next().unwrap_or(""),
                "url": format!("{base}/api/v1/open/releases/{}/download/{}", r.id, f.as_str()),
                "size": if *f == ReleaseFormat::Parquet { json!(r.bytes) } else { Value::Null },
                "created": at, "last_modified": at, "state": "active", "url_type": null,
                "datastore_active": *f == ReleaseFormat::Csv,
            })
        })
        .collect()
}

/// A package dict as CKAN returns it.
fn package(base: &str, d: &OpenDataset, e: &EntryVersion) -> Value {
    let first = d.releases.last().unwrap_or(&d.latest);
    let tags: Vec<Value> = tags_of(d)
        .into_iter()
        .map(|t| json!({"id": t, "name": t, "display_name": t, "state": "active", "vocabulary_id": null}))
        .collect();
    let resources = resources(base, d, e);
    let licence = licence_id(d, e);
    let licence_title = licences(base).into_iter().find(|l| l["id"] == licence).map(|l| l["title"].clone());
    json!({
        "id": package_name(&d.code), "name": package_name(&d.code), "title": d.name, "notes": d.summary,
        "type": "dataset", "state": "active", "private": false, "version": d.latest.id.to_string(),
        "url": format!("{base}/open/datasets/{}", d.entry_id),
        "author": d.org_name, "author_email": null, "maintainer": d.org_name, "maintainer_email": null,
        "license_id": licence, "license_title": licence_title, "isopen": licence != "pdp-on-application",
        "metadata_created": timestamp(first.published_at_micros.unwrap_or(first.prepared_at_micros)),
        "metadata_modified": timestamp(d.latest.published_at_micros.unwrap_or(d.latest.prepared_at_micros)),
        "owner_org": org_name(d.org_id), "organization": organisation(d.org_id, &d.org_name, None),
        "groups": [group(&d.class, &d.item, None)],
        "num_tags": tags.len(), "tags": tags,
        "num_resources": resources.len(), "resources": resources,
        "relationships_as_object": [], "relationships_as_subject": [],
        "extras": [
            {"key": "resource_code", "value": d.code},
            {"key": "open_type", "value": d.open_type},
            {"key": "update_frequency", "value": d.frequency},
            {"key": "stale", "value": d.stale.to_string()},
            {"key": "rows", "value": d.latest.rows.to_string()},
            {"key": "source_version", "value": d.latest.source_version.to_string()},
            {"key": "route", "value": d.latest.route.as_str()},
            {"key": "collecting_department", "value": e.body.collecting_dept},
        ],
    })
}

/// `fq` terms CKAN clients filter by, as the open catalog's facets.
fn filter_query(fq: &str, b: &mut BrowseParams) -> Result<(), CkanError> {
    for term in fq.split_whitespace().filter(|t| !t.eq_ignore_ascii_case("AND") && *t != "+") {
        let term = term.trim_start_matches('+');
        let (k, v) = term.split_once(':').ok_or_else(|| CkanError::validation(format!("fq: cannot read {term:?}")))?;
        let v = v.trim_matches('"');
        match k {
            "organization" | "owner_org" => {
                b.org = Some(
                    v.strip_prefix("org-")
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| CkanError::validation(format!("fq: unknown organization {v:?}")))?,
                )
            }
            "groups" => {
                let (class, item) =
                    v.split_once('-').ok_or_else(|| CkanError::validation(format!("fq: unknown group {v:?}")))?;
                b.topic = Some(format!("{class}:{item}"));
            }
            "res_format" => b.format = Some(v.to_ascii_lowercase()),
            "open_type" => b.open_type = Some(v.to_string()),
            "update_frequency" => b.frequency = Some(v.to_string()),
            _ => {
                return Err(CkanError::validation(format!(
                    "fq: {k} is not a field this portal filters by (organization, groups, res_format, open_type, update_frequency)"
                )));
            }
        }
    }
    Ok(())
}

async fn package_search(state: &AppState, base: &str, params: &Params) -> Result<Value, CkanError> {
    let mut b = BrowseParams {
        q: params.str("q").filter(|q| q.trim() != "*:*"),
        offset: params.int("start")?,
        limit: Some(params.int("rows")?.unwrap_or(10).min(MAX_ROWS)),
        ..Default::default()
    };
    if let Some(fq) = params.str("fq") {
        filter_query(&fq, &mut b)?;
    }
    let sort = params.str("sort").unwrap_or_default();
    if !matches!(
        sort.trim(),
        "" | "score desc, metadata_modified desc" | "metadata_modified desc" | "score desc" | "relevance asc"
    ) {
        return Err(CkanError::validation(format!(
            "sort: {sort:?} is not served; the order is relevance with words, newest first without"
        )));
    }
    let rows = b.limit.unwrap_or(10);
    let out = if rows == 0 {
        pdp_app::open::browse_up_to(state, &BrowseParams { limit: Some(1), ..b }, MAX_ROWS).await?
    } else {
        pdp_app::open::browse_up_to(state, &b, MAX_ROWS).await?
    };
    let c = open_catalog(state).await?;
    let results: Vec<Value> = if rows == 0 {
        Vec::new()
    } else {
        out.datasets.iter().filter_map(|d| c.get(d.entry_id).map(|(d, e)| package(base, d, e))).collect()
    };
    // CKAN's facet names for the catalog's: organisation, topic (group) and format.
    let wanted = params.list("facet.field")?;
    let mut facets = Map::new();
    let mut search_facets = Map::new();
    for (ckan, ours) in [("organization", "org"), ("groups", "topic"), ("res_format", "format")] {
        if !wanted.is_empty() && !wanted.iter().any(|w| w == ckan) {
            continue;
        }
        let items = out.facets.get(ours).cloned().unwrap_or_default();
        let name = |v: &str| match ours {
            "org" => org_name(v.parse().unwrap_or(0)),
            "topic" => v.replacen(':', "-", 1),
            _ => v.to_uppercase(),
        };
        facets
            .insert(ckan.into(), items.iter().map(|f| (name(&f.value), json!(f.count))).collect::<Map<_, _>>().into());
        search_facets.insert(
            ckan.into(),
            json!({"title": ckan, "items": items.iter().map(|f| json!({"name": name(&f.value), "display_name": f.label, "count": f.count})).collect::<Vec<_>>()}),
        );
    }
    Ok(
        json!({"count": out.total, "results": results, "facets": facets, "search_facets": search_facets, "sort": "score desc, metadata_modified desc"}),
    )
}

/// Rows of a release through the same path (and audit) as the open API: `offset` is the row's
/// position in the file, `filters` match whole cells, `fields` chooses columns.
async fn datastore_search(
    state: &AppState,
    params: &Params,
    reader: pdp_app::open::Reader,
) -> Result<Value, CkanError> {
    let id = params.str("resource_id").or_else(|| params.str("id")).unwrap_or_default();
    let (release, _) = parse_resource(&id).ok_or_else(|| CkanError::not_found("resource"))?;
    if params.str("q").is_some_and(|q| !q.is_empty()) || params.str("sort").is_some_and(|s| !s.is_empty()) {
        return Err(CkanError::validation(
            "q and sort are not served: rows come in file order; filter whole cells with filters",
        ));
    }
    let offset = params.int("offset")?.unwrap_or(0);
    let limit = params.int("limit")?.unwrap_or(100).min(MAX_RECORDS).min(pdp_app::open::MAX_PAGE_ROWS as u64);
    let filters: Vec<CellFilter> = match params.0.get("filters") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => {
            let v = match v {
                Value::String(s) => {
                    serde_json::from_str(s).map_err(|_| CkanError::validation("filters: must be a JSON object"))?
                }
                v => v.clone(),
            };
            let Value::Object(m) = v else { return Err(CkanError::validation("filters: must be a JSON object")) };
            m.into_iter()
                .map(|(k, v)| {
                    let values = match v {
                        Value::Array(a) => {
                            a.into_iter().map(|x| x.as_str().map_or_else(|| x.to_string(), String::from)).collect()
                        }
                        Value::String(s) => vec![s],
                        x => vec![x.to_string()],
                    };
                    CellFilter { column: k, values }
                })
                .collect()
        }
    };
    let (_, page) = pdp_app::open::open_rows(state, &reader, release, offset, limit.max(1) as usize, &filters).await?;
    let wanted = params.list("fields")?;
    let keep: Vec<usize> =
        (0..page.columns.len()).filter(|&i| wanted.is_empty() || wanted.contains(&page.columns[i])).collect();
    let fields: Vec<Value> = keep.iter().map(|&i| json!({"id": page.columns[i], "type": "text"})).collect();
    let records: Vec<Value> = page
        .rows
        .iter()
        .take(limit as usize)
        .map(|(_, row)| {
            let mut m: HashMap<&str, Value> = HashMap::new();
            for &i in &keep {
                m.insert(&page.columns[i], row.get(i).cloned().flatten().map_or(Value::Null, Value::String));
            }
            json!(m)
        })
        .collect();
    let mut links = json!({"start": format!("/api/3/action/datastore_search?resource_id={id}")});
    if let Some(next) = page.next {
        links["next"] = json!(format!("/api/3/action/datastore_search?resource_id={id}&offset={next}"));
    }
    Ok(json!({
        "resource_id": id, "fields": fields, "records": records, "limit": limit, "offset": offset,
        "total": page.total, "total_was_estimated": !filters.is_empty(), "_links": links,
    }))
}
