//! Harvesting in (R-OPN-07, route 3): a second PDP instance harvested by its CKAN API and by
//! its DCAT-AP catalog, and a recorded CKAN answer served from a stub portal whose failures a
//! run must report rather than pass off as success.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::open::approve;
use crate::server::{Client, TestServer, backends};

/// Registers a source on `c`'s platform and returns its id.
async fn source(c: &Client, name: &str, kind: &str, url: &str) -> i64 {
    let (s, src) = c.post_json("/api/v1/open/harvest/sources", json!({"name": name, "kind": kind, "url": url})).await;
    assert_eq!(s, StatusCode::CREATED, "{src}");
    src["id"].as_i64().unwrap()
}

/// Starts a run of a source and waits for its end; returns the run with its log.
async fn harvest(c: &Client, source: i64) -> Value {
    let (s, run) = c.post_json(&format!("/api/v1/open/harvest/sources/{source}/runs"), json!({})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{run}");
    assert_eq!(run["status"], "running", "{run}");
    let id = run["id"].as_i64().unwrap();
    for _ in 0..600 {
        let (s, out) = c.get_json(&format!("/api/v1/open/harvest/runs/{id}")).await;
        assert_eq!(s, StatusCode::OK, "{out}");
        if out["run"]["status"] != "running" {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("run {id} of source {source} did not end within five minutes");
}

fn counts(out: &Value) -> [i64; 7] {
    let r = &out["run"];
    ["new", "changed", "unchanged", "withdrawn", "held", "skipped", "failed"].map(|k| r[k].as_i64().unwrap())
}

/// The log lines of a run with one outcome: identifier and release.
fn items(out: &Value, outcome: &str) -> Vec<(String, Option<i64>)> {
    out["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["outcome"] == outcome)
        .map(|i| (i["identifier"].as_str().unwrap().to_string(), i["release_id"].as_i64()))
        .collect()
}

/// What a harvested entry says, without where it was harvested from.
async fn entry_of(c: &Client, release: i64) -> Value {
    let (s, r) = c.get_json(&format!("/api/v1/open/releases/{release}")).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!((r["route"].as_str(), r["status"].as_str()), (Some("harvest"), Some("pending_review")), "{r}");
    let entry = r["entry_id"].as_i64().unwrap();
    let (s, e) = c.get_json(&format!("/api/v1/catalog/entries/{entry}")).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let b = &e["body"];
    let fields: Vec<Value> = b["fields"].as_array().unwrap().iter().map(|f| json!([f["name"], f["label"]])).collect();
    json!({"name": b["name"], "summary": b["summary"], "class": b["class"], "item": b["item"],
        "frequency": b["frequency"], "fields": fields, "rows": r["rows"],
        "publisher": b["collecting_dept"].as_str().unwrap().split('（').next()})
}

/// covers: R-OPN-07 (route 3: already-public data harvested from another portal by the CKAN
/// API and by DCAT-AP, the same entries either way; a re-run changes nothing; what the source
/// withdraws is withdrawn here), R-OPN-05 (a harvested release waits for the same review)
#[tokio::test]
async fn a_second_instance_is_harvested_by_ckan_and_by_dcat_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let origin = TestServer::start_with(
            &backend,
            &[("PDP_SECURITY__OPEN_ANONYMOUS_RATE_PER_SECOND", "0"), ("PDP_OPEN__CATALOG_TTL_SECONDS", "0")],
        );
        let srv = TestServer::start_with(&backend, &[("PDP_OPEN__HARVEST_PRIVATE_SOURCES", "true")]);
        let reviewer = srv.login("reviewer").await;

        // Only the city's data authority registers sources; the address is checked.
        let (s, e) = srv
            .login("officer")
            .await
            .post_json("/api/v1/open/harvest/sources", json!({"name": "x", "kind": "ckan", "url": origin.url}))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: {e}");
        let (s, e) = reviewer
            .post_json("/api/v1/open/harvest/sources", json!({"name": "x", "kind": "ckan", "url": "ftp://x"}))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: {e}");
        assert!(e.to_string().contains("harvest_url_invalid"), "{b}: {e}");

        let (_, open) = origin.anonymous().get_json("/api/v1/open/datasets?limit=100").await;
        let open = open["datasets"].as_array().unwrap().clone();
        // What a harvest can load: unconditionally open data with a CSV file. The rest (open on
        // application, or without CSV) is skipped with its reason.
        let loadable = |d: &&Value| {
            d["open_type"] == "unconditional"
                && d["latest"]["open_type"] == "unconditional"
                && d["latest"]["rules"]["formats"].as_array().unwrap().iter().any(|f| f == "csv")
        };
        let public = open.iter().filter(loadable).count() as i64;
        let on_application = open.len() as i64 - public;
        assert!(public > 5 && on_application > 0, "{b}: the demo opens data both ways");

        let by_ckan = source(&reviewer, "邻市开放平台（CKAN）", "ckan", &origin.url).await;
        let by_dcat = source(&reviewer, "邻市开放平台（DCAT）", "dcat", &format!("{}/catalog.ttl", origin.url)).await;
        let ckan = harvest(&reviewer, by_ckan).await;
        let dcat = harvest(&reviewer, by_dcat).await;
        for out in [&ckan, &dcat] {
            assert_eq!(out["run"]["status"], "succeeded", "{b}: {out}");
            assert_eq!(counts(out), [public, 0, 0, 0, 0, on_application, 0], "{b}: {}", out["run"]);
        }

        // Both protocols name every dataset the same and make the same entries of them.
        let (mut a, mut c) = (items(&ckan, "new"), items(&dcat, "new"));
        a.sort();
        c.sort();
        assert_eq!(
            a.iter().map(|x| &x.0).collect::<Vec<_>>(),
            c.iter().map(|x| &x.0).collect::<Vec<_>>(),
            "{b}: the same identifiers"
        );
        assert!(a.iter().all(|(id, _)| id.starts_with(&format!("{}/dataset/", origin.url))), "{b}: {a:?}");
        for ((id, ra), (_, rc)) in a.iter().zip(&c) {
            let (ea, ec) = (entry_of(&reviewer, ra.unwrap()).await, entry_of(&reviewer, rc.unwrap()).await);
            assert_eq!(ea, ec, "{b}: {id} harvested by CKAN and by DCAT");
            let origin_name =
                open.iter().find(|d| id.ends_with(&d["code"].as_str().unwrap().replace('/', "-"))).unwrap();
            assert_eq!(ea["name"], origin_name["name"], "{b}: {id}");
            assert_eq!(ea["publisher"], origin_name["org_name"], "{b}: {id}");
        }

        // Nothing reaches the public before the review; a re-run changes nothing.
        let (_, mine) = srv.anonymous().get_json("/api/v1/open/datasets?limit=100").await;
        let before = mine["total"].as_i64().unwrap();
        for (src, n) in [(by_ckan, "ckan"), (by_dcat, "dcat")] {
            let again = harvest(&reviewer, src).await;
            assert_eq!(counts(&again), [0, 0, public, 0, 0, on_application, 0], "{b}: {n} re-run: {}", again["run"]);
            assert_eq!(again["run"]["status"], "succeeded", "{b}");
        }

        // The review publishes a harvested release with its entry.
        let (id, release) = a[0].clone();
        let r = approve(&reviewer, release.unwrap()).await;
        assert_eq!(r["status"], "published", "{b}: {r}");
        let (_, mine) = srv.anonymous().get_json("/api/v1/open/datasets?limit=100").await;
        assert_eq!(mine["total"].as_i64().unwrap(), before + 1, "{b}: {mine}");
        let (_, r) = reviewer.get_json(&format!("/api/v1/open/releases/{}", release.unwrap())).await;
        let (s, page) = srv.anonymous().get(&format!("/open/datasets/{}", r["entry_id"])).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert!(page.contains("harvest-source") && page.contains(&id), "{b}: the page names where it came from");

        // The origin withdraws it: the next run marks it withdrawn and takes it off the portal.
        let code = id.rsplit('/').next().unwrap();
        let d = open.iter().find(|d| d["code"].as_str().unwrap().replace('/', "-") == code).unwrap();
        let origin_reviewer = origin.login("reviewer").await;
        for r in d["releases"].as_array().unwrap() {
            let (s, w) = origin_reviewer
                .post_json(&format!("/api/v1/open/releases/{}/withdraw", r["id"]), json!({"reason": "数据有误"}))
                .await;
            assert_eq!(s, StatusCode::OK, "{b}: {w}");
        }
        let after = harvest(&reviewer, by_ckan).await;
        assert_eq!(counts(&after), [0, 0, public - 1, 1, 0, on_application, 0], "{b}: {}", after["run"]);
        assert_eq!(items(&after, "withdrawn")[0].0, id, "{b}");
        let (_, r) = reviewer.get_json(&format!("/api/v1/open/releases/{}", release.unwrap())).await;
        assert_eq!(r["status"], "withdrawn", "{b}: {r}");
        let (_, mine) = srv.anonymous().get_json("/api/v1/open/datasets?limit=100").await;
        assert_eq!(mine["total"].as_i64().unwrap(), before, "{b}: {mine}");

        // The authority's page lists the sources and each run's log.
        let (s, page) = reviewer.get("/open/harvest").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert!(page.contains("邻市开放平台（CKAN）") && page.contains("harvest-source-form"), "{b}");
        let (s, page) = reviewer.get(&format!("/open/harvest/runs/{}", after["run"]["id"])).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert!(page.contains(&id) && page.contains("源端已撤回"), "{b}");
    }
}

/// A stub CKAN portal: serves the recorded `package_search` answer (with its resources' URLs
/// pointing back here), the files, and the misbehaviours harvesters meet.
struct Stub {
    url: String,
    /// The answer of `package_search`, as served.
    answer: Arc<Mutex<String>>,
}

const BUS_STOPS: &str = "stop_id,站名,lat,lon\nS001,人民广场,26.08,119.30\nS002,火车站,26.11,119.31\n";

async fn stub() -> Stub {
    use axum::extract::{Query, State};
    use axum::response::IntoResponse;
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let recorded = include_str!("../assets/ckan/package_search.json").replace("{{BASE}}", &url);
    let answer = Arc::new(Mutex::new(recorded));
    type Shared = Arc<Mutex<String>>;
    let app = axum::Router::new()
        .route(
            "/api/3/action/package_search",
            get(|State(a): State<Shared>, Query(q): Query<std::collections::HashMap<String, String>>| async move {
                // Past the recorded page, an empty one, as CKAN answers.
                let start: usize = q.get("start").and_then(|s| s.parse().ok()).unwrap_or(0);
                let mut v: Value = serde_json::from_str(&a.lock().unwrap()).unwrap();
                if start > 0 {
                    v["result"]["results"] = json!([]);
                }
                ([("content-type", "application/json")], v.to_string())
            }),
        )
        // A portal that ignores `start` and always answers its first page of many.
        .route(
            "/loop/api/3/action/package_search",
            get(|State(a): State<Shared>| async move {
                let mut v: Value = serde_json::from_str(&a.lock().unwrap()).unwrap();
                v["result"]["count"] = json!(1000);
                ([("content-type", "application/json")], v.to_string())
            }),
        )
        .route("/html/api/3/action/package_search", get(|| async { "<html><body>维护中</body></html>" }))
        .route(
            "/slow/api/3/action/package_search",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "never"
            }),
        )
        .route("/files/bus-stops.csv", get(|| async { ([("content-type", "text/csv")], BUS_STOPS) }))
        .route("/files/map.pdf", get(|| async { "%PDF-1.4" }))
        .route("/files/gone.csv", get(|| async { (axum::http::StatusCode::NOT_FOUND, "gone").into_response() }))
        .with_state(answer.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Stub { url, answer }
}

/// A data officer of `org`, made by the platform admin and given the role by the security
/// admin.
async fn officer_of(srv: &TestServer, org: i64) -> Client {
    new_account(srv, "city.officer", org, "org_data_officer").await
}

/// A new account of `org` with one role, made by the administrator, given its role by the
/// security administrator, its first password changed by its holder; signed in.
pub(crate) async fn new_account(srv: &TestServer, username: &str, org: i64, role: &str) -> Client {
    let (s, user) = srv
        .login("admin")
        .await
        .post_json(
            "/api/v1/users",
            json!({"username": username, "display_name": "林晓", "password": "Correct-Horse-42", "org_id": org}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{user}");
    let (s, r) = srv
        .login("security")
        .await
        .put_json(&format!("/api/v1/users/{}/roles", user["id"]), json!({"roles": [role]}))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    // The administrator chose the password, so the holder chooses its own first.
    let res = TestServer::http()
        .post(format!("{}/login", srv.url))
        .form(&[("username", username), ("password", "Correct-Horse-42"), ("next", "/")])
        .send()
        .await
        .unwrap();
    let set = res.headers()["set-cookie"].to_str().unwrap().to_string();
    let mut first = Client {
        base: srv.url.clone(),
        http: TestServer::http(),
        cookie: Some(set.split(';').next().unwrap().to_string()),
        csrf: String::new(),
        bearer: None,
    };
    let (_, page) = first.get("/account/password").await;
    let marker = "name=\"csrf\" value=\"";
    let at = page.find(marker).expect("csrf field") + marker.len();
    first.csrf = page[at..at + 64].to_string();
    let (s, e) = first
        .post_json("/api/v1/me/password", json!({"current": "Correct-Horse-42", "new": "Lin-Xiao-Chose-2026"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    srv.login_with(username, "Lin-Xiao-Chose-2026").await.expect("signs in")
}

/// covers: R-OPN-07 (route 3 against a CKAN portal's recorded answer: what can be loaded is,
/// what cannot is logged with its reason; a local edit is never overwritten; an unreachable,
/// unreadable, looping or hanging source fails its run and changes nothing)
#[tokio::test]
async fn a_recorded_ckan_portal_is_harvested_and_its_failures_reported_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let stub = stub().await;
        let srv = TestServer::start_with(
            &backend,
            &[("PDP_OPEN__HARVEST_PRIVATE_SOURCES", "true"), ("PDP_OPEN__HARVEST_RUN_TIMEOUT_SECONDS", "3")],
        );
        let reviewer = srv.login("reviewer").await;
        let portal = source(&reviewer, "交通部门门户", "ckan", &stub.url).await;
        let out = harvest(&reviewer, portal).await;
        // One package loads; one offers only a PDF; one's CSV is gone (404): a partial run.
        assert_eq!(out["run"]["status"], "partial", "{b}: {out}");
        assert_eq!(counts(&out), [1, 0, 0, 0, 0, 1, 1], "{b}: {}", out["run"]);
        let failed = out["items"].as_array().unwrap().iter().find(|i| i["outcome"] == "failed").unwrap();
        assert!(failed["reason"].as_str().unwrap().contains("HTTP 404"), "{b}: {failed}");
        assert_eq!(failed["identifier"], format!("{}/dataset/air-quality-stations", stub.url), "{b}");
        let (id, release) = items(&out, "new")[0].clone();
        assert_eq!(id, format!("{}/dataset/bus-stops", stub.url), "{b}");
        let (_, r) = reviewer.get_json(&format!("/api/v1/open/releases/{}", release.unwrap())).await;
        assert_eq!(r["rows"], 2, "{b}: {r}");
        assert!(r["note"].as_str().unwrap().contains(&id), "{b}: the release names its source: {r}");
        let entry = r["entry_id"].as_i64().unwrap();
        let (_, e) = reviewer.get_json(&format!("/api/v1/catalog/entries/{entry}")).await;
        let labels: Vec<&str> =
            e["body"]["fields"].as_array().unwrap().iter().map(|f| f["label"].as_str().unwrap()).collect();
        assert_eq!(labels, ["stop_id", "站名", "lat", "lon"], "{b}: {e}");
        assert_eq!(e["body"]["frequency"], "monthly", "{b}: {e}");

        // Approved, then edited here by the authority's data officer: a change at the source
        // is held, not applied.
        approve(&reviewer, release.unwrap()).await;
        let officer = officer_of(&srv, e["org_id"].as_i64().unwrap()).await;
        let mut body = e["body"].clone();
        body["summary"] = json!("本地补充说明：站点坐标为 WGS-84。");
        let (s, saved) = officer.put_json(&format!("/api/v1/catalog/entries/{entry}"), json!({"body": body})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {saved}");
        {
            let mut a = stub.answer.lock().unwrap();
            *a = a.replace("\"title\": \"Bus stops\"", "\"title\": \"Bus stops (all lines)\"");
        }
        let out = harvest(&reviewer, portal).await;
        assert_eq!(counts(&out), [0, 0, 0, 0, 1, 1, 1], "{b}: {}", out["run"]);
        let (_, e) = reviewer.get_json(&format!("/api/v1/catalog/entries/{entry}")).await;
        assert_eq!(e["body"]["summary"], "本地补充说明：站点坐标为 WGS-84。", "{b}: the local edit stays");
        assert_eq!(e["body"]["name"], "Bus stops", "{b}");

        // Sources that fail: each run fails with the reason, and nothing is withdrawn.
        for (path, why) in [("/loop", "repeats"), ("/html", "not a CKAN answer"), ("/slow", "time limit")] {
            let s = source(&reviewer, path, "ckan", &format!("{}{path}", stub.url)).await;
            let out = harvest(&reviewer, s).await;
            assert_eq!(out["run"]["status"], "failed", "{b}: {path}: {out}");
            assert!(out["run"]["message"].as_str().unwrap().contains(why), "{b}: {path}: {}", out["run"]);
        }
        let closed = source(&reviewer, "关闭的端口", "ckan", "http://127.0.0.1:9/").await;
        let out = harvest(&reviewer, closed).await;
        assert_eq!(out["run"]["status"], "failed", "{b}: {out}");
        assert_eq!(counts(&out), [0; 7], "{b}: an unreachable source is a failure, not zero changes");
        // The portal emptied by mistake: nothing is withdrawn.
        {
            let mut a = stub.answer.lock().unwrap();
            let mut v: Value = serde_json::from_str(&a).unwrap();
            v["result"]["count"] = json!(0);
            v["result"]["results"] = json!([]);
            *a = v.to_string();
        }
        let out = harvest(&reviewer, portal).await;
        assert_eq!(out["run"]["status"], "failed", "{b}: {out}");
        assert_eq!(counts(&out)[3], 0, "{b}: {}", out["run"]);
        let (_, r) = reviewer.get_json(&format!("/api/v1/open/releases/{}", release.unwrap())).await;
        assert_eq!(r["status"], "published", "{b}: {r}");
    }
}
