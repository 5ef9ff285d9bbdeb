//! Reading a DCAT-AP catalog: the document at the source's URL and the pages its Hydra
//! `next` links lead to, each `dcat:Dataset` read into a [`HarvestedDataset`].

use std::collections::BTreeSet;

use oxrdf::{Graph, NamedNodeRef, NamedOrBlankNodeRef, TermRef, vocab::rdf};
use oxrdfio::{RdfFormat, RdfParser};
use pdp_domain::harvest::{Distribution, HarvestedDataset, parse_frequency};

use crate::App;

const DCAT: &str = "http://www.w3.org/ns/dcat#";
const DCT: &str = "http://purl.org/dc/terms/";
const FOAF: &str = "http://xmlns.com/foaf/0.1/";
const HYDRA: &str = "http://www.w3.org/ns/hydra/core#";

/// The most pages a catalog is read in.
const MAX_PAGES: usize = 1000;

/// Every dataset of the catalog at `url`, or why the listing failed.
pub(super) async fn list(state: &App, url: &str, max: usize) -> Result<Vec<HarvestedDataset>, String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut visited = BTreeSet::new();
    let mut next = Some(url.to_string());
    while let Some(page) = next.take() {
        if !visited.insert(page.clone()) {
            return Err(format!("{page}: the catalog's next page is one already read; paging stopped"));
        }
        if visited.len() > MAX_PAGES {
            return Err(format!("the catalog runs past {MAX_PAGES} pages"));
        }
        let f = super::fetch(
            state,
            &page,
            "text/turtle, application/ld+json;q=0.9, application/rdf+xml;q=0.8",
            super::MAX_PAGE_BYTES,
        )
        .await?;
        let g = parse(&page, &f.content_type, &f.body).map_err(|e| format!("{page}: {e}"))?;
        let (datasets, more) = read(&g);
        if datasets.is_empty() && out.is_empty() && more.is_none() && !has_catalog(&g) {
            return Err(format!("{page}: the document holds no dcat:Catalog and no dcat:Dataset"));
        }
        for d in datasets {
            if seen.insert(d.identifier.clone()) {
                out.push(d);
            }
        }
        if out.len() > max {
            return Err(format!(
                "the catalog lists more than the {max} datasets a run takes (open.harvest_max_records)"
            ));
        }
        next = more;
    }
    Ok(out)
}

/// Parses a document by its media type, else by its URL's extension, else as Turtle.
fn parse(url: &str, content_type: &str, body: &[u8]) -> Result<Graph, String> {
    let media = content_type.split(';').next().unwrap_or("").trim();
    let ext = url.split(['?', '#']).next().unwrap_or("").rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let format =
        RdfFormat::from_media_type(media).or_else(|| RdfFormat::from_extension(ext)).unwrap_or(RdfFormat::Turtle);
    let parser = RdfParser::from_format(format).with_base_iri(url).map_err(|e| format!("bad base IRI: {e}"))?;
    let mut g = Graph::new();
    for q in parser.for_slice(body) {
        let q = q.map_err(|e| format!("not a readable {} document: {e}", format.name()))?;
        g.insert(&oxrdf::Triple::from(q));
    }
    Ok(g)
}

fn n(ns: &str, local: &str) -> String {
    format!("{ns}{local}")
}

fn has_catalog(g: &Graph) -> bool {
    let c = n(DCAT, "Catalog");
    g.subject_for_predicate_object(rdf::TYPE, NamedNodeRef::new_unchecked(&c)).is_some()
}

fn subject(t: TermRef<'_>) -> Option<NamedOrBlankNodeRef<'_>> {
    match t {
        TermRef::NamedNode(x) => Some(x.into()),
        TermRef::BlankNode(x) => Some(x.into()),
        _ => None,
    }
}

fn value(t: TermRef<'_>) -> String {
    match t {
        TermRef::NamedNode(x) => x.as_str().to_string(),
        TermRef::BlankNode(x) => x.as_str().to_string(),
        TermRef::Literal(l) => l.value().to_string(),
        #[allow(unreachable_patterns)]
        _ => String::new(),
    }
}

/// Objects of `s`'s `p`.
fn objects<'a>(g: &'a Graph, s: NamedOrBlankNodeRef<'a>, p: &str) -> Vec<TermRef<'a>> {
    g.objects_for_subject_predicate(s, NamedNodeRef::new_unchecked(p)).collect()
}

/// A text property: Chinese first, then no language, then any.
fn text(g: &Graph, s: NamedOrBlankNodeRef<'_>, p: &str) -> String {
    let os = objects(g, s, p);
    let lang = |want: Option<&str>| {
        os.iter().find_map(|t| match t {
            TermRef::Literal(l) if want.is_none_or(|w| l.language().is_some_and(|x| x.starts_with(w))) => {
                Some(l.value().to_string())
            }
            _ => None,
        })
    };
    lang(Some("zh"))
        .or_else(|| {
            os.iter().find_map(|t| match t {
                TermRef::Literal(l) if l.language().is_none() => Some(l.value().to_string()),
                _ => None,
            })
        })
        .or_else(|| lang(None))
        .or_else(|| os.first().map(|t| value(*t)))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The page's datasets and its Hydra `next` page.
fn read(g: &Graph) -> (Vec<HarvestedDataset>, Option<String>) {
    // The catalog's datasets, where it lists them; else every dataset that is not a version
    // of another (a release's record, for one).
    let ty = n(DCAT, "Dataset");
    let listed: Vec<NamedOrBlankNodeRef<'_>> = g
        .triples_for_predicate(NamedNodeRef::new_unchecked(&n(DCAT, "dataset")))
        .filter_map(|t| subject(t.object))
        .collect();
    let version_of = n(DCAT, "isVersionOf");
    let candidates: Vec<NamedOrBlankNodeRef<'_>> = if listed.is_empty() {
        g.subjects_for_predicate_object(rdf::TYPE, NamedNodeRef::new_unchecked(&ty))
            .filter(|s| objects(g, *s, &version_of).is_empty())
            .collect()
    } else {
        listed
    };
    let mut out: Vec<HarvestedDataset> = candidates
        .into_iter()
        .filter_map(|s| match s {
            NamedOrBlankNodeRef::NamedNode(_) => Some(dataset(g, s)),
            // A dataset without an IRI has no identity to harvest by.
            _ => None,
        })
        .collect();
    out.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    let next = g.triples_for_predicate(NamedNodeRef::new_unchecked(&n(HYDRA, "next"))).find_map(|t| match t.object {
        TermRef::NamedNode(x) => Some(x.as_str().to_string()),
        _ => None,
    });
    (out, next)
}

fn dataset(g: &Graph, s: NamedOrBlankNodeRef<'_>) -> HarvestedDataset {
    let title = text(g, s, &n(DCT, "title"));
    let mut description = text(g, s, &n(DCT, "description"));
    if description.is_empty() {
        description = title.clone();
    }
    let publisher = objects(g, s, &n(DCT, "publisher"))
        .into_iter()
        .filter_map(subject)
        .map(|p| text(g, p, &n(FOAF, "name")))
        .find(|t| !t.is_empty())
        .unwrap_or_default();
    let mut topics: Vec<String> = objects(g, s, &n(DCAT, "keyword"))
        .into_iter()
        .filter_map(|t| match t {
            TermRef::Literal(l) if l.language().is_none_or(|x| x.starts_with("zh")) => Some(l.value().to_string()),
            _ => None,
        })
        .collect();
    topics.sort();
    let frequency = objects(g, s, &n(DCT, "accrualPeriodicity")).into_iter().find_map(|t| parse_frequency(&value(t)));
    let rights = objects(g, s, &n(DCT, "accessRights")).into_iter().map(value).collect::<Vec<_>>();
    let on_application = rights.iter().any(|r| r.ends_with("/RESTRICTED") || r.ends_with("/NON_PUBLIC"));
    let mut licence = String::new();
    let mut distributions = Vec::new();
    for dist in objects(g, s, &n(DCAT, "distribution")).into_iter().filter_map(subject) {
        let url = objects(g, dist, &n(DCAT, "downloadURL"))
            .into_iter()
            .chain(objects(g, dist, &n(DCAT, "accessURL")))
            .map(value)
            .find(|u| u.starts_with("http://") || u.starts_with("https://"));
        let Some(url) = url else { continue };
        let format = objects(g, dist, &n(DCT, "format"))
            .into_iter()
            .chain(objects(g, dist, &n(DCAT, "mediaType")))
            .map(|t| value(t).rsplit('/').next().unwrap_or("").to_ascii_lowercase())
            .find(|f| !f.is_empty())
            .unwrap_or_default();
        if licence.is_empty() {
            licence = objects(g, dist, &n(DCT, "license")).into_iter().map(value).next().unwrap_or_default();
        }
        distributions.push(Distribution { url, format });
    }
    if let Some(l) = objects(g, s, &n(DCT, "license")).into_iter().map(value).next() {
        licence = l;
    }
    distributions.sort();
    let identifier = match s {
        NamedOrBlankNodeRef::NamedNode(x) => x.as_str().to_string(),
        NamedOrBlankNodeRef::BlankNode(x) => x.as_str().to_string(),
    };
    HarvestedDataset {
        landing_page: objects(g, s, &n(DCAT, "landingPage")).into_iter().map(value).next().unwrap_or_default(),
        identifier,
        title,
        description,
        publisher,
        modified: text(g, s, &n(DCT, "modified")),
        topics,
        frequency,
        licence,
        on_application,
        distributions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turtle_catalog_reads_into_datasets_and_its_next_page() {
        let ttl = r#"
            @prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
            @prefix foaf: <http://xmlns.com/foaf/0.1/> . @prefix hydra: <http://www.w3.org/ns/hydra/core#> .
            <http://p.example/catalog> a dcat:Catalog ; dcat:dataset <http://p.example/dataset/a> .
            <http://p.example/dataset/a> a dcat:Dataset ; dct:title "公厕"@zh, "Toilets"@en ;
                dct:publisher [ foaf:name "城管局"@zh ] ; dcat:keyword "城乡建设"@zh, "Construction"@en ;
                dct:accrualPeriodicity <http://publications.europa.eu/resource/authority/frequency/WEEKLY> ;
                dcat:distribution [ dcat:downloadURL <http://p.example/a.csv> ;
                    dct:format <http://publications.europa.eu/resource/authority/file-type/CSV> ] .
            <http://p.example/release/7> a dcat:Dataset ; dct:title "公厕（第 1 版）"@zh ;
                dcat:isVersionOf <http://p.example/dataset/a> .
            <http://p.example/catalog.ttl?page=1> a hydra:PartialCollectionView ;
                hydra:next <http://p.example/catalog.ttl?page=2> .
        "#;
        let g = parse("http://p.example/catalog.ttl", "text/turtle", ttl.as_bytes()).unwrap();
        let (ds, next) = read(&g);
        assert_eq!(next.as_deref(), Some("http://p.example/catalog.ttl?page=2"));
        assert_eq!(ds.len(), 1);
        let d = &ds[0];
        assert_eq!((d.title.as_str(), d.description.as_str(), d.publisher.as_str()), ("公厕", "公厕", "城管局"));
        assert_eq!(d.topics, ["城乡建设"]);
        assert_eq!(d.frequency, Some(pdp_domain::catalog::Frequency::Weekly));
        assert_eq!(d.csv().map(|c| c.url.as_str()), Some("http://p.example/a.csv"));
        assert!(parse("http://p.example/x.ttl", "text/turtle", b"<not turtle").is_err());
    }

    #[test]
    fn a_json_ld_catalog_reads_the_same_way() {
        let jsonld = r#"[
            {"@id": "http://p.example/catalog", "@type": ["http://www.w3.org/ns/dcat#Catalog"],
             "http://www.w3.org/ns/dcat#dataset": [{"@id": "http://p.example/dataset/b"}]},
            {"@id": "http://p.example/dataset/b", "@type": ["http://www.w3.org/ns/dcat#Dataset"],
             "http://purl.org/dc/terms/title": [{"@value": "路灯", "@language": "zh"}],
             "http://www.w3.org/ns/dcat#distribution": [{"@id": "_:d"}]},
            {"@id": "_:d",
             "http://www.w3.org/ns/dcat#downloadURL": [{"@id": "http://p.example/b.csv"}],
             "http://www.w3.org/ns/dcat#mediaType": [{"@id": "https://www.iana.org/assignments/media-types/text/csv"}]}
        ]"#;
        let g = parse("http://p.example/catalog.jsonld", "application/ld+json", jsonld.as_bytes()).unwrap();
        let (ds, next) = read(&g);
        assert_eq!(next, None);
        assert_eq!(ds.len(), 1);
        assert_eq!((ds[0].identifier.as_str(), ds[0].title.as_str()), ("http://p.example/dataset/b", "路灯"));
        assert_eq!(ds[0].csv().map(|c| c.url.as_str()), Some("http://p.example/b.csv"));
    }
}
