//! The open catalog as the world's tools read it: the CKAN Action API over the demo's open
//! catalog (CKAN's envelope and errors, the listing, search, show and datastore actions, and the
//! unmodified `ckanapi` client from PyPI, installed by `.ci/run`), and what search engines and
//! feed readers find (robots.txt, sitemaps, schema.org JSON-LD, the Atom feed).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::server::{Client, TestServer, backends};

async fn action(c: &Client, name: &str, params: Value) -> (StatusCode, Value) {
    c.post_json(&format!("/api/3/action/{name}"), params).await
}

fn result(r: &(StatusCode, Value)) -> &Value {
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["success"], true, "{}", r.1);
    &r.1["result"]
}

/// Runs the `ckanapi` command line against the server and parses what it prints: one JSON
/// document, or JSON lines with `lines`.
fn ckanapi(srv: &TestServer, args: &[&str], lines: bool) -> Vec<Value> {
    let out = std::process::Command::new("ckanapi")
        .args(args)
        .args(["-r", &srv.url])
        .output()
        .expect("the ckanapi command runs (.ci/run installs it from PyPI)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "ckanapi {args:?}: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    if lines {
        stdout.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
    } else {
        vec![serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))]
    }
}

/// covers: R-OPN-02 (the open catalog in a protocol the world's tools read: packages,
/// organisations, topics, facets), R-OPN-03 (downloads and rows through the same audited
/// path as the open API)
#[tokio::test]
async fn ckan_clients_read_the_open_catalog_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start_with(&backend, &[("PDP_SECURITY__OPEN_ANONYMOUS_RATE_PER_SECOND", "0")]);
        let public = srv.anonymous();

        let status = action(&public, "status_show", json!({})).await;
        assert!(result(&status)["ckan_version"].as_str().unwrap().starts_with("2."), "{b}");
        // GET with a query string is the same action; the unversioned path too.
        let (s, t) = public.get("/api/action/package_list?limit=1000").await;
        assert_eq!(s, StatusCode::OK, "{b}: {t}");
        let names: Vec<String> = serde_json::from_str::<Value>(&t).unwrap()["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect();
        let (_, open) = public.get_json("/api/v1/open/datasets?limit=100").await;
        assert_eq!(names.len() as u64, open["total"].as_u64().unwrap(), "{b}: every open dataset is a package");
        assert!(!names.is_empty() && names.iter().all(|n| n.chars().all(|c| c.is_ascii_digit() || c == '-')), "{b}");

        // A package of unconditionally open data: CKAN's fields, its resources download, its
        // CSV resource is in the datastore with the release's rows.
        let d = open["datasets"].as_array().unwrap().iter().find(|d| d["open_type"] == "unconditional").unwrap();
        let name = d["code"].as_str().unwrap().replace('/', "-");
        let pkg = action(&public, "package_show", json!({"id": name, "include_datasets": false})).await;
        let pkg = result(&pkg).clone();
        assert_eq!((pkg["name"].as_str(), pkg["title"].as_str()), (Some(name.as_str()), d["name"].as_str()), "{b}");
        for k in ["metadata_created", "metadata_modified", "owner_org", "license_id", "num_resources", "extras"] {
            assert!(!pkg[k].is_null(), "{b}: {k} in {pkg}");
        }
        assert_eq!(pkg["organization"]["title"], d["org_name"], "{b}");
        let resources = pkg["resources"].as_array().unwrap();
        assert_eq!(pkg["num_resources"].as_u64(), Some(resources.len() as u64), "{b}");
        let csv = resources.iter().find(|r| r["format"] == "CSV").expect("a CSV resource");
        let url = csv["url"].as_str().unwrap();
        let path = &url[url.find("/api/").unwrap()..];
        let file = String::from_utf8(public.get_bytes(path).await).unwrap();
        let rows = d["latest"]["rows"].as_u64().unwrap();
        assert_eq!(file.lines().count() as u64, rows + 1, "{b}: the resource's URL serves the release");
        let shown = action(&public, "resource_show", json!({"id": csv["id"]})).await;
        assert_eq!(result(&shown)["url"], csv["url"], "{b}");
        let ds = action(&public, "datastore_search", json!({"resource_id": csv["id"], "limit": 2})).await;
        let ds = result(&ds);
        assert_eq!(
            (ds["records"].as_array().unwrap().len() as u64, ds["total"].as_u64()),
            (2.min(rows), Some(rows)),
            "{b}: {ds}"
        );
        let first_field = ds["fields"][0]["id"].as_str().unwrap().to_string();
        let value = ds["records"][0][&first_field].clone();
        let filtered = action(
            &public,
            "datastore_search",
            json!({"resource_id": csv["id"], "filters": {first_field.clone(): value.clone()}, "fields": [first_field.clone()]}),
        )
        .await;
        let filtered = result(&filtered);
        assert!(filtered["records"].as_array().unwrap().iter().all(|r| r[&first_field] == value), "{b}: {filtered}");
        assert_eq!(filtered["fields"].as_array().unwrap().len(), 1, "{b}");

        // Search: Chinese text, a filter by organisation, facets with CKAN's names.
        let all =
            action(&public, "package_search", json!({"rows": 0, "facet.field": ["organization", "res_format"]})).await;
        let all = result(&all).clone();
        assert_eq!(all["count"].as_u64(), Some(names.len() as u64), "{b}");
        assert!(all["results"].as_array().unwrap().is_empty(), "{b}");
        let org = pkg["owner_org"].as_str().unwrap();
        let of_org = all["facets"]["organization"][org].as_u64().expect("the organization facet counts the provider");
        let found = action(&public, "package_search", json!({"fq": format!("organization:{org}"), "rows": 1000})).await;
        let found = result(&found);
        assert_eq!(found["count"].as_u64(), Some(of_org), "{b}");
        assert!(found["results"].as_array().unwrap().iter().all(|p| p["owner_org"] == org), "{b}");
        let word = action(&public, "package_search", json!({"q": "统计"})).await;
        assert!(result(&word)["count"].as_u64().unwrap() > 0, "{b}: {}", word.1);
        let orgs = action(&public, "organization_list", json!({"all_fields": true})).await;
        assert!(
            result(&orgs).as_array().unwrap().iter().any(|o| o["name"] == org && o["package_count"] == of_org),
            "{b}"
        );
        let shown = action(&public, "organization_show", json!({"id": org, "include_datasets": true})).await;
        assert_eq!(result(&shown)["packages"].as_array().unwrap().len() as u64, of_org, "{b}");
        let group = pkg["groups"][0]["name"].as_str().unwrap();
        let g = action(&public, "group_show", json!({"id": group})).await;
        assert!(result(&g)["package_count"].as_u64().unwrap() >= 1, "{b}");
        assert!(!result(&action(&public, "tag_list", json!({})).await).as_array().unwrap().is_empty(), "{b}");
        assert!(
            result(&action(&public, "license_list", json!({})).await)
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["id"] == pkg["license_id"]),
            "{b}"
        );

        // CKAN's errors: not found 404, validation 409, an unknown action 400, each in the
        // envelope with its __type.
        let (s, e) = action(&public, "package_show", json!({"id": "999999-999999"})).await;
        assert_eq!(
            (s, e["success"].as_bool(), e["error"]["__type"].as_str()),
            (StatusCode::NOT_FOUND, Some(false), Some("Not Found Error")),
            "{b}"
        );
        let (s, e) = action(&public, "package_search", json!({"fq": "license_id:cc-by"})).await;
        assert_eq!((s, e["error"]["__type"].as_str()), (StatusCode::CONFLICT, Some("Validation Error")), "{b}: {e}");
        let (s, e) = action(&public, "package_search", json!({"rows": "many"})).await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}: {e}");
        let (s, e) = action(&public, "package_create", json!({"name": "x"})).await;
        assert_eq!((s, e["success"].as_bool()), (StatusCode::BAD_REQUEST, Some(false)), "{b}: {e}");

        // The unmodified client: a search in Chinese, a show by name, a dump of every dataset.
        let out = &ckanapi(&srv, &["action", "package_search", "q=人口"], false)[0];
        assert!(out["count"].as_u64().unwrap() > 0, "{b}: {out}");
        let out = &ckanapi(&srv, &["action", "package_show", &format!("id={name}")], false)[0];
        assert_eq!(out["title"], pkg["title"], "{b}");
        let dump = ckanapi(&srv, &["dump", "datasets", "--all", "-q", "-p", "2"], true);
        let mut dumped: Vec<String> = dump.iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
        dumped.sort();
        let mut expected = names.clone();
        expected.sort();
        assert_eq!(dumped, expected, "{b}: the dump holds every package");
    }
}

/// covers: R-OPN-02 (the open catalog findable by search engines and feed readers: robots.txt
/// pointing to a sitemap of every open dataset, schema.org JSON-LD on each dataset's page, an
/// Atom feed of the newest releases), R-OPN-09 (subscriptions by feed)
#[tokio::test]
async fn search_engines_find_every_open_dataset() {
    let srv = TestServer::start(&crate::server::backend());
    let public = srv.anonymous();
    let (s, robots) = public.get("/robots.txt").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        robots.contains("Allow: /open") && robots.contains(&format!("Sitemap: {}/sitemap.xml", srv.url)),
        "{robots}"
    );
    let (s, index) = public.get("/sitemap.xml").await;
    assert_eq!(s, StatusCode::OK);
    let first = format!("{}/sitemaps/0.xml", srv.url);
    assert!(index.contains("<sitemapindex") && index.contains(&first), "{index}");
    let (s, map) = public.get("/sitemaps/0.xml").await;
    assert_eq!(s, StatusCode::OK);
    let (_, open) = public.get_json("/api/v1/open/datasets?limit=100").await;
    let datasets = open["datasets"].as_array().unwrap();
    assert_eq!(map.matches("/open/datasets/").count() as u64, open["total"].as_u64().unwrap(), "{map}");
    for d in datasets {
        assert!(map.contains(&format!("{}/open/datasets/{}</loc>", srv.url, d["entry_id"])), "{map}");
    }
    let (s, _) = public.get("/sitemaps/9.xml").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Each dataset's page carries its schema.org description, with downloads when open
    // unconditionally.
    let d = datasets.iter().find(|d| d["open_type"] == "unconditional").unwrap();
    let (_, page) = public.get(&format!("/open/datasets/{}", d["entry_id"])).await;
    let start = page.find(r#"<script type="application/ld+json">"#).expect("JSON-LD on the page") + 35;
    let ld: Value = serde_json::from_str(&page[start..start + page[start..].find("</script>").unwrap()]).unwrap();
    assert_eq!(
        (ld["@type"].as_str(), ld["name"].as_str(), ld["isAccessibleForFree"].as_bool()),
        (Some("Dataset"), d["name"].as_str(), Some(true))
    );
    assert_eq!(ld["creator"]["name"], d["org_name"]);
    let download = ld["distribution"][0]["contentUrl"].as_str().unwrap();
    assert!(!public.get_bytes(&download[srv.url.len()..]).await.is_empty());

    // The catalog's feed lists the newest releases.
    let (s, feed) = public.get("/open/feed.atom").await;
    assert_eq!(s, StatusCode::OK);
    let newest = datasets[0]["latest"]["id"].as_i64().unwrap();
    assert!(feed.contains(&format!("/api/v1/open/releases/{newest}</id>")), "{feed}");
    let releases: usize = datasets.iter().map(|d| d["releases"].as_array().unwrap().len()).sum();
    assert!(open["total"].as_u64() == Some(datasets.len() as u64), "the demo's datasets fit one page");
    assert_eq!(feed.matches("<entry>").count(), releases.min(100), "{feed}");
}

/// Checks a DCAT-AP catalog in Turtle against the official DCAT-AP 3.0.1 SHACL shapes with
/// pyshacl (PyPI, installed by `.ci/run`), then again with one dataset's title removed. The
/// official shapes file names two property shapes of dcat:DataService it never defines
/// (`…DataServiceShape/dc08f4…` and `…/eb3ac4…`), which pyshacl refuses to load; those two
/// dangling references are dropped, every defined shape is kept.
const PY_SHACL: &str = r#"
import json, sys, rdflib, pyshacl
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
DCT = rdflib.Namespace("http://purl.org/dc/terms/")
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
shapes = rdflib.Graph().parse(sys.argv[1])
dangling = [(s, o) for s, o in shapes.subject_objects(SH.property) if (o, None, None) not in shapes]
for s, o in dangling:
    shapes.remove((s, SH.property, o))
data = rdflib.Graph().parse(sys.argv[2], format="turtle")
datasets = list(data.objects(None, DCAT.dataset))
ok, _, report = pyshacl.validate(data, shacl_graph=shapes)
data.remove((datasets[0], DCT.title, None))
broken_ok, results, _ = pyshacl.validate(data, shacl_graph=shapes)
print(json.dumps({"dangling": len(dangling), "datasets": len(datasets), "conforms": ok, "report": report[:2000],
    "broken_conforms": broken_ok, "broken_names_title": (None, SH.resultPath, DCT.title) in results}))
"#;

/// covers: R-OPN-02 (the open catalog in DCAT-AP 3, conforming to the official SHACL shapes;
/// each dataset and each release a persistent identifier that answers RDF or the page by
/// content negotiation)
#[tokio::test]
async fn the_dcat_ap_catalog_conforms_to_the_official_shapes() {
    let srv = TestServer::start(&crate::server::backend());
    let public = srv.anonymous();
    let (s, ttl) = public.get("/catalog.ttl").await;
    assert_eq!(s, StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog.ttl");
    std::fs::write(&file, &ttl).unwrap();
    // The official shapes, vendored unmodified beside the tests.
    let shapes = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/assets/dcat-ap-3.0.1/dcat-ap-SHACL.ttl");
    let out = std::process::Command::new("python3")
        .args(["-c", PY_SHACL, shapes, file.to_str().unwrap()])
        .output()
        .expect("python3 runs (.ci/run installs pyshacl from PyPI)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (_, open) = public.get_json("/api/v1/open/datasets?limit=1").await;
    assert_eq!(v["datasets"], open["total"], "{v}");
    assert_eq!(v["conforms"], true, "{}", v["report"]);
    assert_eq!(v["dangling"], 2, "the official file's two undefined shapes, and only those");
    assert_eq!((v["broken_conforms"].as_bool(), v["broken_names_title"].as_bool()), (Some(false), Some(true)), "{v}");

    // The other serialisations, one page only at this size.
    let (s, jsonld) = public.get_json("/catalog.jsonld").await;
    assert_eq!(s, StatusCode::OK);
    assert!(jsonld.to_string().contains("http://www.w3.org/ns/dcat#Dataset"));
    let (s, rdf) = public.get("/catalog.rdf").await;
    assert!(s == StatusCode::OK && rdf.starts_with("<?xml") && rdf.contains("rdf:RDF"));
    let (s, _) = public.get("/catalog.ttl?page=2").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A dataset's identifier: RDF for a client that asks for it, the page for a browser.
    let d = &open["datasets"][0];
    let name = d["code"].as_str().unwrap().replace('/', "-");
    let res =
        public.http.get(format!("{}/dataset/{name}", srv.url)).header("accept", "text/turtle").send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/turtle; charset=utf-8");
    let record = res.text().await.unwrap();
    assert!(record.contains(d["name"].as_str().unwrap()) && record.contains("dcat:Dataset"), "{record}");
    let res =
        public.http.get(format!("{}/dataset/{name}", srv.url)).header("accept", "text/html").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], format!("/open/datasets/{}", d["entry_id"]).as_str());
    let (s, _) = public.get(&format!("/dataset/{name}.jsonld")).await;
    assert_eq!(s, StatusCode::OK);
    // The dataset's page negotiates too: RDF clients are sent to the record.
    let res = public
        .http
        .get(format!("{}/open/datasets/{}", srv.url, d["entry_id"]))
        .header("accept", "application/ld+json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], format!("/dataset/{name}.jsonld").as_str());
    let (s, _) = public.get("/dataset/999999-999999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Where and when: the provider's region, the time its releases span.
    assert!(record.contains("dct:spatial") && record.contains("dcat:startDate"), "{record}");
    // A Parquet file's checksum is the digest of the bytes a download gets.
    let (_, all) = public.get_json("/api/v1/open/datasets?limit=100").await;
    let pq = all["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            d["open_type"] == "unconditional"
                && d["latest"]["rules"]["formats"].as_array().unwrap().iter().any(|f| f == "parquet")
        })
        .expect("the demo opens a Parquet file");
    let file = public.get_bytes(&format!("/api/v1/open/releases/{}/download/parquet", pq["latest"]["id"])).await;
    let digest: String = <sha2::Sha256 as sha2::Digest>::digest(&file).iter().map(|b| format!("{b:02x}")).collect();
    let (_, pq_record) = public.get(&format!("/dataset/{}.ttl", pq["code"].as_str().unwrap().replace('/', "-"))).await;
    assert!(pq_record.contains(&format!("spdx:checksumValue \"{digest}\"")), "{digest}: {pq_record}");

    // Each published release has an identifier of its own: a version of its dataset with its
    // own files, or the dataset's page at that release; once withdrawn it is gone, not reused.
    let release = d["latest"]["id"].as_i64().unwrap();
    assert!(record.contains(&format!("{}/release/{release}", srv.url)), "the dataset lists its versions: {record}");
    let res =
        public.http.get(format!("{}/release/{release}", srv.url)).header("accept", "text/turtle").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let version = res.text().await.unwrap();
    assert!(version.contains("dcat:isVersionOf") && version.contains(&format!("/dataset/{name}")), "{version}");
    let res =
        public.http.get(format!("{}/release/{release}", srv.url)).header("accept", "text/html").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], format!("/open/datasets/{}#release-{release}", d["entry_id"]).as_str());
    let (s, page) = public.get(&format!("/open/datasets/{}", d["entry_id"])).await;
    assert!(s == StatusCode::OK && page.contains(&format!("id=\"release-{release}\"")), "the anchor exists");
    let (s, _) = public.get(&format!("/release/{release}.rdf")).await;
    assert_eq!(s, StatusCode::OK);
    let (s, w) = srv
        .login("reviewer")
        .await
        .post_json(&format!("/api/v1/open/releases/{release}/withdraw"), json!({"reason": "核对数据"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{w}");
    let (s, _) = public.get(&format!("/release/{release}.ttl")).await;
    assert_eq!(s, StatusCode::GONE);
    let (s, _) = public.get("/release/999999999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
