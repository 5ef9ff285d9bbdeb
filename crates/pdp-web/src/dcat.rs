//! The open catalog in DCAT-AP 3 (R-OPN-02): `/catalog.{ttl,jsonld,rdf}` (paged with Hydra,
//! 500 datasets a page), `/dataset/{name}.{ttl,jsonld,rdf}`, and `/dataset/{name}`, each
//! dataset's persistent identifier, which answers the RDF a client's `Accept` asks for or
//! sends a browser to the dataset's page; `/release/{id}` does the same for each published
//! release, a version (`dcat:hasVersion`) of its dataset.
//!
//! Every object the records refer to is typed and labelled (themes from the EU data theme
//! vocabulary mapped from the catalog's topics, frequencies from the EU frequency vocabulary,
//! licences, formats, media types, the language, the access rights, the publisher as a
//! `foaf:Agent` with a contact point), so the official DCAT-AP 3.0.1 SHACL shapes find each
//! record conforming without the vocabularies' own files. The serialisation is `oxrdfio`'s.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use oxrdf::vocab::{rdf, xsd};
use oxrdf::{BlankNode, Literal, NamedNode, NamedOrBlankNode, Term, Triple};
use oxrdfio::{RdfFormat, RdfSerializer};
use pdp_app::open::{OpenCatalog, OpenDataset, open_catalog, topic_label};
use pdp_domain::catalog::{Frequency, OpenType};
use pdp_domain::open::ReleaseFormat;
use pdp_storage::OpenRelease;
use pdp_storage::catalog::EntryVersion;
use serde::Deserialize;

use crate::AppState;
use crate::error::{ApiError, AppError};

type S = State<Arc<AppState>>;

/// Datasets per page of the catalog.
const PAGE: usize = 500;

const DCAT: &str = "http://www.w3.org/ns/dcat#";
const DCT: &str = "http://purl.org/dc/terms/";
const FOAF: &str = "http://xmlns.com/foaf/0.1/";
const VCARD: &str = "http://www.w3.org/2006/vcard/ns#";
const SKOS: &str = "http://www.w3.org/2004/02/skos/core#";
const HYDRA: &str = "http://www.w3.org/ns/hydra/core#";
const SPDX: &str = "http://spdx.org/rdf/terms#";
const EU: &str = "http://publications.europa.eu/resource/authority/";

fn iri(s: impl Into<String>) -> NamedNode {
    NamedNode::new_unchecked(s)
}

fn p(ns: &str, local: &str) -> NamedNode {
    iri(format!("{ns}{local}"))
}

/// A graph being written: triples in order.
#[derive(Default)]
struct Graph(Vec<Triple>);

impl Graph {
    fn add(&mut self, s: impl Into<NamedOrBlankNode>, pred: NamedNode, o: impl Into<Term>) {
        self.0.push(Triple::new(s.into(), pred, o.into()));
    }

    fn typed(&mut self, s: impl Into<NamedOrBlankNode> + Clone, class: NamedNode) {
        self.add(s, rdf::TYPE.into_owned(), class);
    }

    fn text(&mut self, s: impl Into<NamedOrBlankNode>, pred: NamedNode, v: &str, lang: &str) {
        self.add(s, pred, Literal::new_language_tagged_literal_unchecked(v, lang));
    }

    fn serialize(self, format: RdfFormat) -> Result<Vec<u8>, AppError> {
        let mut ser = RdfSerializer::from_format(format);
        for (prefix, ns) in [
            ("dcat", DCAT),
            ("dct", DCT),
            ("foaf", FOAF),
            ("vcard", VCARD),
            ("skos", SKOS),
            ("hydra", HYDRA),
            ("spdx", SPDX),
            ("xsd", "http://www.w3.org/2001/XMLSchema#"),
        ] {
            ser = ser.with_prefix(prefix, ns).map_err(|e| internal(&e.to_string()))?;
        }
        let mut w = ser.for_writer(Vec::new());
        for t in &self.0 {
            w.serialize_triple(t).map_err(|e| internal(&e.to_string()))?;
        }
        w.finish().map_err(|e| internal(&e.to_string()))
    }
}

fn internal(e: &str) -> AppError {
    AppError::internal("dcat_failed", "目录元数据生成失败", format!("writing the DCAT catalog failed: {e}"))
}

/// The formats served, by extension and media type.
fn format_of(ext: &str) -> Option<(RdfFormat, &'static str)> {
    match ext {
        "ttl" => Some((RdfFormat::Turtle, "text/turtle; charset=utf-8")),
        "jsonld" => Some((RdfFormat::JsonLd { profile: Default::default() }, "application/ld+json")),
        "rdf" => Some((RdfFormat::RdfXml, "application/rdf+xml")),
        _ => None,
    }
}

/// The RDF format an `Accept` header asks for, if any.
pub(crate) fn negotiated(headers: &HeaderMap) -> Option<&'static str> {
    let accept = headers.get(header::ACCEPT)?.to_str().ok()?;
    [("text/turtle", "ttl"), ("application/ld+json", "jsonld"), ("application/rdf+xml", "rdf")]
        .into_iter()
        .find(|(media, _)| accept.contains(media))
        .map(|(_, ext)| ext)
}

/// A dataset's persistent identifier: its resource code, `/` written `-`, which never changes
/// when its title does.
pub fn dataset_uri(base: &str, code: &str) -> String {
    format!("{base}/dataset/{}", code.replace('/', "-"))
}

/// The EU data theme a catalog topic belongs to.
fn eu_theme(class: &str, item: &str) -> &'static str {
    match (class, item) {
        ("base", "01") => "SOCI",
        ("base", "02") | ("base", "04") | ("theme", "06") | ("theme", "08") | ("department", "02") => "ECON",
        ("base", "03") => "ENVI",
        ("base", "05") | ("theme", "01") | ("theme", "10") => "GOVE",
        ("theme", "02") | ("department", "04") | ("department", "10") => "HEAL",
        ("theme", "03") | ("department", "03") | ("department", "11") => "SOCI",
        ("theme", "04") => "HEAL",
        ("theme", "05") | ("theme", "12") | ("department", "01") => "JUST",
        ("theme", "07") | ("department", "09") => "ENER",
        ("theme", "09") | ("department", "07") => "REGI",
        ("theme", "11") | ("department", "08") => "ENVI",
        ("department", "05") => "EDUC",
        ("department", "06") => "TRAN",
        _ => "GOVE",
    }
}

fn eu_frequency(f: &str) -> &'static str {
    pdp_domain::harvest::eu_frequency(Frequency::parse(f))
}

fn datetime(micros: i64) -> Literal {
    Literal::new_typed_literal(pdp_app::admin::rfc3339(micros), xsd::DATE_TIME)
}

/// The catalog itself: title, description, publisher, language, its theme taxonomy, the open
/// API as a data service.
fn catalog_node(g: &mut Graph, base: &str) -> NamedNode {
    let cat = iri(format!("{base}/catalog"));
    g.typed(cat.clone(), p(DCAT, "Catalog"));
    g.text(cat.clone(), p(DCT, "title"), "公共数据开放目录", "zh");
    g.text(cat.clone(), p(DCT, "title"), "Open public data catalog", "en");
    g.text(cat.clone(), p(DCT, "description"), "城市公共数据开放门户的开放目录", "zh");
    g.text(cat.clone(), p(DCT, "description"), "The open catalog of the city's public data portal", "en");
    let publisher = iri(format!("{base}/catalog#publisher"));
    g.add(cat.clone(), p(DCT, "publisher"), publisher.clone());
    g.typed(publisher.clone(), p(FOAF, "Agent"));
    g.text(publisher, p(FOAF, "name"), "公共数据开放平台", "zh");
    language(g, cat.clone());
    let home = document(g, format!("{base}/open"));
    g.add(cat.clone(), p(FOAF, "homepage"), home);
    let scheme = iri(format!("{EU}data-theme"));
    g.add(cat.clone(), p(DCAT, "themeTaxonomy"), scheme.clone());
    g.typed(scheme.clone(), p(SKOS, "ConceptScheme"));
    g.text(scheme, p(DCT, "title"), "Data theme", "en");
    let api = iri(format!("{base}/api/3/action"));
    g.add(cat.clone(), p(DCAT, "service"), api.clone());
    g.typed(api.clone(), p(DCAT, "DataService"));
    g.text(api.clone(), p(DCT, "title"), "CKAN Action API", "en");
    g.add(api.clone(), p(DCAT, "endpointURL"), iri(format!("{base}/api/3/action")));
    let doc = document(g, format!("{base}/api/v1/openapi.json"));
    g.add(api, p(DCAT, "endpointDescription"), doc);
    cat
}

fn document(g: &mut Graph, url: String) -> NamedNode {
    let d = iri(url);
    g.typed(d.clone(), p(FOAF, "Document"));
    d
}

fn language(g: &mut Graph, s: NamedNode) {
    let zh = iri(format!("{EU}language/ZHO"));
    g.add(s, p(DCT, "language"), zh.clone());
    g.typed(zh, p(DCT, "LinguisticSystem"));
}

/// Where each provider is: its region's name, for `dct:spatial`.
#[derive(Default)]
struct Places(HashMap<i64, String>);

impl Places {
    async fn load(state: &AppState) -> Result<Self, AppError> {
        let regions: HashMap<i64, String> =
            state.storage.list_regions().await?.into_iter().map(|r| (r.id, r.name)).collect();
        Ok(Self(
            state
                .storage
                .list_orgs()
                .await?
                .into_iter()
                .filter_map(|o| Some((o.id, regions.get(&o.region_id)?.clone())))
                .collect(),
        ))
    }
}

/// A release's persistent identifier: its number, which never changes.
pub fn release_uri(base: &str, id: i64) -> String {
    format!("{base}/release/{id}")
}

/// One dataset with its distributions (the newest release in each format), its place (the
/// provider's region), its time (from the first release on) and each published release as a
/// version with its own identifier.
fn dataset(g: &mut Graph, base: &str, cat: Option<&NamedNode>, d: &OpenDataset, e: &EntryVersion, places: &Places) {
    let ds = iri(dataset_uri(base, &d.code));
    if let Some(cat) = cat {
        g.add(cat.clone(), p(DCAT, "dataset"), ds.clone());
    }
    g.typed(ds.clone(), p(DCAT, "Dataset"));
    g.text(ds.clone(), p(DCT, "title"), &d.name, "zh");
    let description = if d.summary.trim().is_empty() { d.name.as_str() } else { d.summary.as_str() };
    g.text(ds.clone(), p(DCT, "description"), description, "zh");
    g.add(ds.clone(), p(DCT, "identifier"), Literal::new_simple_literal(&d.code));
    let first = d.releases.last().unwrap_or(&d.latest);
    g.add(ds.clone(), p(DCT, "issued"), datetime(first.published_at_micros.unwrap_or(first.prepared_at_micros)));
    g.add(
        ds.clone(),
        p(DCT, "modified"),
        datetime(d.latest.published_at_micros.unwrap_or(d.latest.prepared_at_micros)),
    );
    let landing = document(g, format!("{base}/open/datasets/{}", d.entry_id));
    g.add(ds.clone(), p(DCAT, "landingPage"), landing);
    language(g, ds.clone());
    let (zh, en) = topic_label(&d.class, &d.item);
    g.text(ds.clone(), p(DCAT, "keyword"), &zh, "zh");
    g.text(ds.clone(), p(DCAT, "keyword"), &en, "en");
    let theme = iri(format!("{EU}data-theme/{}", eu_theme(&d.class, &d.item)));
    g.add(ds.clone(), p(DCAT, "theme"), theme.clone());
    g.typed(theme.clone(), p(SKOS, "Concept"));
    g.text(theme.clone(), p(SKOS, "prefLabel"), eu_theme(&d.class, &d.item), "en");
    g.add(theme, p(SKOS, "inScheme"), iri(format!("{EU}data-theme")));
    let freq = iri(format!("{EU}frequency/{}", eu_frequency(&d.frequency)));
    g.add(ds.clone(), p(DCT, "accrualPeriodicity"), freq.clone());
    g.typed(freq, p(DCT, "Frequency"));
    let publisher = iri(format!("{base}/open/orgs/{}", d.org_id));
    g.add(ds.clone(), p(DCT, "publisher"), publisher.clone());
    g.typed(publisher.clone(), p(FOAF, "Agent"));
    g.text(publisher, p(FOAF, "name"), &d.org_name, "zh");
    let contact = BlankNode::default();
    g.add(ds.clone(), p(DCAT, "contactPoint"), contact.clone());
    g.typed(contact.clone(), p(VCARD, "Organization"));
    g.typed(contact.clone(), p(VCARD, "Kind"));
    g.text(contact.clone(), p(VCARD, "fn"), &d.org_name, "zh");
    g.add(contact, p(VCARD, "hasURL"), iri(format!("{base}/open/requests")));
    let public = d.open_type == OpenType::Unconditional.as_str();
    let rights = iri(format!("{EU}access-right/{}", if public { "PUBLIC" } else { "RESTRICTED" }));
    g.add(ds.clone(), p(DCT, "accessRights"), rights.clone());
    g.typed(rights, p(DCT, "RightsStatement"));
    // Social data names the organisation that holds it as its creator.
    if !e.body.collecting_dept.is_empty() {
        let creator = BlankNode::default();
        g.add(ds.clone(), p(DCT, "creator"), creator.clone());
        g.typed(creator.clone(), p(FOAF, "Agent"));
        g.text(creator, p(FOAF, "name"), &e.body.collecting_dept, "zh");
    }
    if let Some(region) = places.0.get(&d.org_id) {
        let place = BlankNode::default();
        g.add(ds.clone(), p(DCT, "spatial"), place.clone());
        g.typed(place.clone(), p(DCT, "Location"));
        g.text(place, p(SKOS, "prefLabel"), region, "zh");
    }
    // The time the releases span: from the first on, open-ended while the dataset is open.
    let period = BlankNode::default();
    g.add(ds.clone(), p(DCT, "temporal"), period.clone());
    g.typed(period.clone(), p(DCT, "PeriodOfTime"));
    g.add(period, p(DCAT, "startDate"), datetime(first.published_at_micros.unwrap_or(first.prepared_at_micros)));
    let n = d.releases.len();
    for (k, r) in d.releases.iter().enumerate() {
        let v = iri(release_uri(base, r.id));
        g.add(ds.clone(), p(DCAT, "hasVersion"), v.clone());
        version(g, base, &ds, d, r, n - k);
        if let Some(prev) = d.releases.get(k + 1) {
            g.add(v, p(DCAT, "previousVersion"), iri(release_uri(base, prev.id)));
        }
    }
    distributions(g, base, &ds, d, &d.latest, public);
}

/// A published release as a version of its dataset: numbered from 1, with its date.
fn version(g: &mut Graph, base: &str, ds: &NamedNode, d: &OpenDataset, r: &OpenRelease, number: usize) {
    let v = iri(release_uri(base, r.id));
    g.typed(v.clone(), p(DCAT, "Dataset"));
    g.text(v.clone(), p(DCT, "title"), &format!("{}（第 {number} 版）", d.name), "zh");
    let description = if d.summary.trim().is_empty() { d.name.as_str() } else { d.summary.as_str() };
    g.text(v.clone(), p(DCT, "description"), description, "zh");
    g.add(v.clone(), p(DCAT, "version"), Literal::new_simple_literal(number.to_string()));
    g.add(v.clone(), p(DCT, "identifier"), Literal::new_simple_literal(r.id.to_string()));
    g.add(v.clone(), p(DCT, "issued"), datetime(r.published_at_micros.unwrap_or(r.prepared_at_micros)));
    g.add(v, p(DCAT, "isVersionOf"), ds.clone());
}

/// A release's files, one distribution per format, under `subject`.
fn distributions(g: &mut Graph, base: &str, subject: &NamedNode, d: &OpenDataset, r: &OpenRelease, public: bool) {
    let ds = subject.clone();
    let licence = iri(format!("{base}/open#licence-{}", if public { "open" } else { "on-application" }));
    g.typed(licence.clone(), p(DCT, "LicenseDocument"));
    let formats: Vec<ReleaseFormat> = if public { r.rules.formats.clone() } else { Vec::new() };
    for f in formats {
        let dist = iri(format!("{base}/api/v1/open/releases/{}/download/{}", r.id, f.as_str()));
        g.add(ds.clone(), p(DCAT, "distribution"), dist.clone());
        g.typed(dist.clone(), p(DCAT, "Distribution"));
        g.text(dist.clone(), p(DCT, "title"), &format!("{}（{}）", d.name, f.label_en()), "zh");
        g.add(dist.clone(), p(DCAT, "accessURL"), iri(format!("{base}/open/datasets/{}", d.entry_id)));
        g.add(dist.clone(), p(DCAT, "downloadURL"), dist.clone());
        g.add(dist.clone(), p(DCAT, "accessService"), iri(format!("{base}/api/3/action")));
        let ft = iri(format!("{EU}file-type/{}", f.as_str().to_uppercase()));
        g.add(dist.clone(), p(DCT, "format"), ft.clone());
        g.typed(ft, p(DCT, "MediaTypeOrExtent"));
        let media = iri(format!(
            "https://www.iana.org/assignments/media-types/{}",
            f.media_type().split(';').next().unwrap_or("")
        ));
        g.add(dist.clone(), p(DCAT, "mediaType"), media.clone());
        g.typed(media, p(DCT, "MediaType"));
        g.add(dist.clone(), p(DCT, "license"), licence.clone());
        g.add(dist.clone(), p(DCT, "issued"), datetime(r.published_at_micros.unwrap_or(r.prepared_at_micros)));
        // The Parquet file is stored as it is served: its size and digest are known. The other
        // formats are converted as they stream.
        if f == ReleaseFormat::Parquet {
            g.add(
                dist.clone(),
                p(DCAT, "byteSize"),
                Literal::new_typed_literal(r.bytes.max(0).to_string(), xsd::NON_NEGATIVE_INTEGER),
            );
            if !r.sha256.is_empty() {
                let sum = BlankNode::default();
                g.add(dist, p(SPDX, "checksum"), sum.clone());
                g.typed(sum.clone(), p(SPDX, "Checksum"));
                let alg = p(SPDX, "checksumAlgorithm_sha256");
                g.add(sum.clone(), p(SPDX, "algorithm"), alg.clone());
                g.typed(alg, p(SPDX, "ChecksumAlgorithm"));
                g.add(sum, p(SPDX, "checksumValue"), Literal::new_typed_literal(&r.sha256, xsd::HEX_BINARY));
            }
        }
    }
}

fn respond(body: Vec<u8>, media: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    r
}

#[derive(Debug, Deserialize)]
pub struct PageParams {
    pub page: Option<usize>,
}

/// `/catalog.{ttl,jsonld,rdf}`: the catalog and one page of its datasets, with Hydra links to
/// the other pages.
pub async fn catalog(State(state): S, uri: axum::http::Uri, Query(q): Query<PageParams>) -> Result<Response, ApiError> {
    let ext = uri.path().rsplit_once('.').map_or("", |(_, ext)| ext);
    let (format, media) = format_of(ext).ok_or_else(|| AppError::not_found(uri.path()))?;
    let c = open_catalog(&state).await?;
    let pages = c.datasets().len().div_ceil(PAGE).max(1);
    let page = q.page.unwrap_or(1);
    if page == 0 || page > pages {
        return Err(AppError::not_found(&format!("catalog page {page}")).into());
    }
    let base = state.base_url();
    let places = Places::load(&state).await?;
    let mut g = Graph::default();
    let cat = catalog_node(&mut g, base);
    write_page(&mut g, base, &c, &cat, (page, pages), ext, &places);
    Ok(respond(g.serialize(format)?, media))
}

fn write_page(
    g: &mut Graph,
    base: &str,
    c: &OpenCatalog,
    cat: &NamedNode,
    (page, pages): (usize, usize),
    ext: &str,
    places: &Places,
) {
    for d in c.datasets().iter().skip((page - 1) * PAGE).take(PAGE) {
        if let Some((d, e)) = c.get(d.entry_id) {
            dataset(g, base, Some(cat), d, e, places);
        }
    }
    if pages > 1 {
        let url = |n: usize| iri(format!("{base}/catalog.{ext}?page={n}"));
        let view = url(page);
        g.typed(view.clone(), p(HYDRA, "PartialCollectionView"));
        g.add(view.clone(), p(HYDRA, "first"), url(1));
        g.add(view.clone(), p(HYDRA, "last"), url(pages));
        if page > 1 {
            g.add(view.clone(), p(HYDRA, "previous"), url(page - 1));
        }
        if page < pages {
            g.add(view.clone(), p(HYDRA, "next"), url(page + 1));
        }
        g.add(
            view,
            p(HYDRA, "totalItems"),
            Literal::new_typed_literal(c.datasets().len().to_string(), xsd::NON_NEGATIVE_INTEGER),
        );
    }
}

/// `/dataset/{name}` (the persistent identifier) and `/dataset/{name}.{ttl,jsonld,rdf}`: the
/// dataset's record in RDF, or for a browser its page.
pub async fn dataset_record(
    State(state): S,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if format_of(ext).is_some() => (stem.to_string(), Some(ext)),
        _ => (name.clone(), negotiated(&headers)),
    };
    let c = open_catalog(&state).await?;
    let (d, e) =
        c.by_code(&stem.replacen('-', "/", 1)).ok_or_else(|| AppError::not_found(&format!("dataset {stem}")))?;
    let Some(ext) = ext else {
        return Ok(Redirect::to(&format!("/open/datasets/{}", d.entry_id)).into_response());
    };
    let (format, media) = format_of(ext).ok_or_else(|| AppError::not_found(&name))?;
    let base = state.base_url();
    let places = Places::load(&state).await?;
    let mut g = Graph::default();
    dataset(&mut g, base, None, d, e, &places);
    let mut r = respond(g.serialize(format)?, media);
    r.headers_mut().insert(header::VARY, HeaderValue::from_static("accept"));
    Ok(r)
}

/// `/release/{id}` (a release's persistent identifier) and `/release/{id}.{ttl,jsonld,rdf}`:
/// the release as a version of its dataset with its own files, or for a browser the dataset's
/// page at the release. A release taken off the portal is gone (410), never another's.
pub async fn release_record(
    State(state): S,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if format_of(ext).is_some() => (stem, Some(ext)),
        _ => (name.as_str(), negotiated(&headers)),
    };
    let id: i64 = stem.parse().map_err(|_| AppError::not_found(&format!("release {stem}")))?;
    let c = open_catalog(&state).await?;
    let Some((d, r)) = c.release(id) else {
        return match state.storage.get_release(id).await? {
            Some(r) if r.published_at_micros.is_some() => Err(AppError::gone(
                "release_withdrawn",
                format!("第 {id} 号开放数据已撤回"),
                format!("release {id} was withdrawn from the portal"),
            )
            .into()),
            _ => Err(AppError::not_found(&format!("release {id}")).into()),
        };
    };
    let Some(ext) = ext else {
        return Ok(Redirect::to(&format!("/open/datasets/{}#release-{id}", d.entry_id)).into_response());
    };
    let (format, media) = format_of(ext).ok_or_else(|| AppError::not_found(&name))?;
    let base = state.base_url();
    let ds = iri(dataset_uri(base, &d.code));
    let number = d.releases.len() - d.releases.iter().position(|x| x.id == id).unwrap_or(0);
    let mut g = Graph::default();
    version(&mut g, base, &ds, d, r, number);
    let public = d.open_type == OpenType::Unconditional.as_str() && r.open_type == OpenType::Unconditional;
    distributions(&mut g, base, &iri(release_uri(base, id)), d, r, public);
    let mut res = respond(g.serialize(format)?, media);
    res.headers_mut().insert(header::VARY, HeaderValue::from_static("accept"));
    Ok(res)
}
