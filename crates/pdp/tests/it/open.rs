//! Opening public data on every backend: releases prepared by the provider, the authority's
//! security review, the portal and the open API read without an account, the automatic push of
//! new versions, on-application data, stale data, and no personal value in any open file.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::governance::{audit_count, exec, id};
use crate::server::{Client, TestServer, backends};

/// Enterprises with a person's name beside them, a contact that the catalog leaves unmasked at
/// grade L1 (only opening must mask it), a district and a number.
fn body(name: &str, open_type: &str) -> Value {
    let open = match open_type {
        "unconditional" => json!({"open_type": "unconditional"}),
        _ => {
            json!({"open_type": open_type, "conditions": "签订数据使用协议，用于合法用途", "legal_basis": "《临江市公共数据开放管理办法》第二十条"})
        }
    };
    json!({
        "name": name,
        "summary": "市场主体名录，供开放测试使用",
        "class": "department",
        "item": "02",
        "format": "database",
        "frequency": "daily",
        "identifier_field": "credit_code",
        "fields": [
            {"name": "credit_code", "label": "统一社会信用代码", "data_type": "text", "grade": "l1",
             "identifier": "credit_code", "rules": {"key": true}},
            {"name": "ent_name", "label": "名称", "data_type": "text", "grade": "l1"},
            {"name": "legal_rep", "label": "法定代表人", "data_type": "text", "grade": "l2", "personal": true,
             "mask": "name", "purpose": "公示责任人"},
            {"name": "rep_id", "label": "法定代表人身份证号", "data_type": "text", "grade": "l2", "personal": true,
             "identifier": "citizen_id", "mask": "id_number", "purpose": "核验责任人"},
            {"name": "contact", "label": "联系人电话", "data_type": "text", "grade": "l1", "personal": true,
             "purpose": "联系企业"},
            {"name": "district", "label": "所属区", "data_type": "text", "grade": "l1"},
            {"name": "staff", "label": "从业人数", "data_type": "integer", "grade": "l1"}
        ],
        "share": {"share_type": "unconditional", "modes": ["bulk", "view"]},
        "open": open
    })
}

pub(crate) async fn publish(officer: &Client, reviewer: &Client, name: &str, open_type: &str) -> i64 {
    let (s, e) = officer.post_json("/api/v1/catalog/entries", json!({ "body": body(name, open_type) })).await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let id = e["entry_id"].as_i64().unwrap();
    let (s, e) = officer.post_json(&format!("/api/v1/catalog/entries/{id}/submit"), json!({"version": 1})).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, e) = reviewer.post_json(&format!("/api/v1/catalog/entries/{id}/approve"), json!({"version": 1})).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    id
}

/// Twelve firms: (credit code, name, legal representative, their citizen ID, contact, district,
/// staff). Eight in 东湖区, four in 西山区.
pub(crate) fn firms() -> Vec<[String; 7]> {
    let reps = [
        "欧阳修远",
        "司马光明",
        "诸葛亮亮",
        "上官婉儿",
        "慕容复兴",
        "东方既白",
        "独孤求败",
        "令狐冲天",
        "南宫问天",
        "西门吹雪",
        "皇甫嵩山",
        "公孙胜利",
    ];
    (0..12u32)
        .map(|i| {
            let code = pdp_domain::ids::complete_credit_code(&format!("91350102MA{:06}", 1000 + i)).expect("code");
            [
                code,
                format!("临江开放测试{i}号有限公司"),
                reps[i as usize].to_string(),
                id("350102", 200 + i),
                format!("1390000{:04}", 1000 + i),
                if i < 8 { "东湖区" } else { "西山区" }.to_string(),
                (10 + i).to_string(),
            ]
        })
        .collect()
}

/// Every clear personal value of the firms: names, citizen IDs and contacts.
fn personal_values() -> Vec<String> {
    firms().into_iter().flat_map(|f| [f[2].clone(), f[3].clone(), f[4].clone()]).collect()
}

pub(crate) async fn load(officer: &Client, entry: i64, rows: &[[String; 7]]) {
    let mut csv = String::from("credit_code,ent_name,legal_rep,rep_id,contact,district,staff\n");
    for r in rows {
        csv.push_str(&r.join(","));
        csv.push('\n');
    }
    let (s, r) =
        officer.post_bytes(&format!("/api/v1/datasets/{entry}/loads?format=csv&mode=full"), csv.into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["accepted"], rows.len(), "{r}");
}

pub(crate) fn rules(fields: &[(&str, Option<&str>)], formats: &[&str], auto_push: bool) -> Value {
    let fields: Vec<Value> = fields.iter().map(|(n, m)| json!({"name": n, "mask": m})).collect();
    json!({"fields": fields, "formats": formats, "declassified": true, "auto_push": auto_push})
}

/// The anonymous rate off, for tests that read a lot from one address.
const UNLIMITED: &[(&str, &str)] = &[("PDP_SECURITY__OPEN_ANONYMOUS_RATE_PER_SECOND", "0")];
/// [`UNLIMITED`], and an open catalog rebuilt on every read: for tests that change the database
/// behind the server's back (ageing a release), as another process would.
const UNCACHED: &[(&str, &str)] =
    &[("PDP_SECURITY__OPEN_ANONYMOUS_RATE_PER_SECOND", "0"), ("PDP_OPEN__CATALOG_TTL_SECONDS", "0")];

const CHECKED: &str =
    r#"{"personal_masked":true,"grading_allows":true,"no_secrets":true,"legal_basis":true,"sample_checked":true}"#;

pub(crate) async fn approve(reviewer: &Client, release: i64) -> Value {
    let checklist: Value = serde_json::from_str(CHECKED).unwrap();
    let (s, r) = reviewer
        .post_json(&format!("/api/v1/open/releases/{release}/review"), json!({"approve": true, "checklist": checklist}))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    r
}

pub(crate) async fn prepare(officer: &Client, entry: i64, rules: Value) -> (StatusCode, Value) {
    officer.post_json("/api/v1/open/releases", json!({"entry_id": entry, "rules": rules})).await
}

/// Every row of a release through the open API, page by page.
async fn all_rows(c: &Client, release: i64, limit: usize, filter: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut cursor = Some(0u64);
    let mut pages = 0;
    while let Some(at) = cursor {
        let (s, page) =
            c.get_json(&format!("/api/v1/open/releases/{release}/rows?cursor={at}&limit={limit}{filter}")).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        rows.extend(page["rows"].as_array().unwrap().iter().cloned());
        cursor = page["next_cursor"].as_u64();
        pages += 1;
        assert!(pages < 100, "paging does not end");
    }
    rows
}

/// covers: R-OPN-01 (open types), R-OPN-02 (the open catalog derived from the master catalog on
/// one portal), R-OPN-03 (rows by a stable cursor and downloads in every format, without an
/// account), R-OPN-04 (fields and masking chosen, personal fields never in clear), R-OPN-05 (the
/// review: checklist to approve, reasons to return, never by the preparer), R-OPN-07 (route 1
/// and the automatic push of new versions, a schema change back to review), R-OPN-08 (free,
/// stale data marked and announced, every past version downloadable), R-SEC-03 (every release
/// names its source version and rules; reads and decisions audited)
#[tokio::test]
async fn releases_are_prepared_reviewed_and_opened_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start_with(&backend, UNCACHED);
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let auditor = srv.login("auditor").await;
        let public = srv.anonymous();
        let entry = publish(&officer, &reviewer, "开放测试市场主体名录", "unconditional").await;
        load(&officer, entry, &firms()).await;

        // Personal fields in clear are refused, each with its path.
        let (s, e) = prepare(
            &officer,
            entry,
            rules(&[("ent_name", None), ("legal_rep", Some("none")), ("contact", None)], &["csv"], false),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: {e}");
        assert_eq!(e["code"], "release_invalid", "{b}");
        let codes: Vec<&str> = e["details"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
        assert_eq!(
            codes,
            ["release_mask_weaker", "release_personal_unmasked", "release_personal_unmasked"],
            "{b}: {e}"
        );
        // Another organisation cannot open this one's data; a reviewer cannot prepare at all.
        let xs = srv.login("xs.officer").await;
        let ok_rules = rules(
            &[
                ("credit_code", None),
                ("ent_name", None),
                ("legal_rep", None),
                ("rep_id", None),
                ("contact", Some("mobile")),
                ("district", None),
                ("staff", None),
            ],
            &["csv", "json", "parquet", "xlsx"],
            true,
        );
        let (s, e) = prepare(&xs, entry, ok_rules.clone()).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("release_not_your_org")), "{b}: {e}");
        let (s, _) = prepare(&reviewer, entry, ok_rules.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");

        let (s, r) = prepare(&officer, entry, ok_rules.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {r}");
        let first = r["id"].as_i64().unwrap();
        assert_eq!(
            (r["status"].as_str(), r["route"].as_str(), r["rows"].as_i64()),
            (Some("pending_review"), Some("upload"), Some(12)),
            "{b}"
        );
        assert_eq!(r["source_version"], 1, "{b}");
        // The reviewer sees the sample, masked; the public sees nothing yet.
        let (s, d) = reviewer.get_json(&format!("/api/v1/open/releases/{first}")).await;
        assert_eq!(s, StatusCode::OK, "{b}: {d}");
        let sample = d["sample"]["rows"].as_array().unwrap();
        assert_eq!(sample.len(), 12, "{b}");
        assert!(sample[0]["rep_id"].as_str().unwrap().contains("********"), "{b}: {d}");
        let (s, _) = public.get_json(&format!("/api/v1/open/releases/{first}/rows")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
        let (_, list) = public.get_json("/api/v1/open/datasets").await;
        assert!(
            !list["datasets"].as_array().unwrap().iter().any(|d| d["entry_id"] == entry),
            "{b}: pending is not public"
        );

        // The review: the preparer's organisation cannot review; approval needs the whole
        // checklist; a return needs reasons.
        let (s, _) =
            officer.post_json(&format!("/api/v1/open/releases/{first}/review"), json!({"approve": true})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        let (s, e) = reviewer
            .post_json(
                &format!("/api/v1/open/releases/{first}/review"),
                json!({"approve": true, "checklist": {"personal_masked": true}}),
            )
            .await;
        assert_eq!(
            (s, e["details"][0]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("review_checklist_incomplete")),
            "{b}: {e}"
        );
        let (s, e) =
            reviewer.post_json(&format!("/api/v1/open/releases/{first}/review"), json!({"approve": false})).await;
        assert_eq!(
            (s, e["details"][0]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("review_reasons_required")),
            "{b}: {e}"
        );
        let r = approve(&reviewer, first).await;
        assert_eq!((r["status"].as_str(), r["reviewed_by"].as_str()), (Some("published"), Some("reviewer")), "{b}");
        let (s, e) = reviewer
            .post_json(&format!("/api/v1/open/releases/{first}/review"), json!({"approve": false, "reasons": "x"}))
            .await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("release_not_pending")), "{b}: {e}");

        // The public, without an account: the catalog, the dataset, rows by cursor.
        let (_, list) = public.get_json("/api/v1/open/datasets?q=市场主体名录").await;
        let found = list["datasets"].as_array().unwrap().iter().find(|d| d["entry_id"] == entry).cloned();
        let found = found.unwrap_or_else(|| panic!("{b}: the search finds the dataset: {list}"));
        assert_eq!((found["latest"]["id"].as_i64(), found["stale"].as_bool()), (Some(first), Some(false)), "{b}");
        let (_, facet) = public.get_json("/api/v1/open/datasets?open_type=on_application").await;
        assert!(
            !facet["datasets"].as_array().unwrap().iter().any(|d| d["entry_id"] == entry),
            "{b}: the open type facet filters"
        );
        // The topic (领域) is the catalog's item: department 02 is 市场监管.
        let (_, topic) = public.get_json("/api/v1/open/datasets?topic=department:02&q=市场主体名录").await;
        assert!(topic["datasets"].as_array().unwrap().iter().any(|d| d["entry_id"] == entry), "{b}: {topic}");
        let labels: Vec<&str> =
            topic["facets"]["topic"].as_array().unwrap().iter().map(|f| f["label"].as_str().unwrap()).collect();
        assert!(labels.contains(&"市场监管"), "{b}: {labels:?}");
        let (s, d) = public.get_json(&format!("/api/v1/open/datasets/{entry}")).await;
        assert_eq!(s, StatusCode::OK, "{b}: {d}");
        assert_eq!(d["fields"].as_array().unwrap().len(), 7, "{b}: the dictionary");
        let rows = all_rows(&public, first, 5, "").await;
        assert_eq!(rows.len(), 12, "{b}");
        let positions: Vec<u64> = rows.iter().map(|r| r["_row"].as_u64().unwrap()).collect();
        assert_eq!(positions, (0..12).collect::<Vec<_>>(), "{b}: no row missed or repeated");
        let west = all_rows(&public, first, 2, "&district=西山区").await;
        assert_eq!(west.len(), 4, "{b}: filters by equality");
        assert!(west.iter().all(|r| r["district"] == "西山区"), "{b}");
        let text = serde_json::to_string(&rows).unwrap();
        for v in personal_values() {
            assert!(!text.contains(&v), "{b}: {v} leaked through the API");
        }
        assert!(rows.iter().all(|r| r["contact"].as_str().unwrap().contains("****")), "{b}");
        let (s, e) = public.get_json(&format!("/api/v1/open/releases/{first}/rows?nope=1")).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("open_bad_filter")), "{b}");

        // Downloads in every offered format, free, with no personal value in clear.
        let csv =
            String::from_utf8(public.get_bytes(&format!("/api/v1/open/releases/{first}/download/csv")).await).unwrap();
        assert!(
            csv.starts_with("\u{feff}credit_code,ent_name,legal_rep,rep_id,contact,district,staff\n"),
            "{b}: {csv}"
        );
        assert_eq!(csv.lines().count(), 13, "{b}");
        let json_file: Value =
            serde_json::from_slice(&public.get_bytes(&format!("/api/v1/open/releases/{first}/download/json")).await)
                .unwrap();
        assert_eq!(json_file.as_array().map(Vec::len), Some(12), "{b}");
        let parquet = public.get_bytes(&format!("/api/v1/open/releases/{first}/download/parquet")).await;
        assert_eq!(&parquet[..4], b"PAR1", "{b}");
        let xlsx = public.get_bytes(&format!("/api/v1/open/releases/{first}/download/xlsx")).await;
        assert_eq!(&xlsx[..2], b"PK", "{b}");
        for v in personal_values() {
            assert!(!csv.contains(&v) && !json_file.to_string().contains(&v), "{b}: {v} leaked into a file");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.parquet");
        std::fs::write(&path, &parquet).unwrap();
        let cells = pdp_lake::share::read_parquet_cells(&path, 100).unwrap();
        assert_eq!(cells.rows.len(), 12, "{b}");
        let meta: std::collections::HashMap<_, _> = cells.metadata.into_iter().collect();
        assert_eq!(
            meta.get("pdp.dataset_version").map(String::as_str),
            Some("1"),
            "{b}: the file names its source version"
        );
        assert!(meta.get("pdp.rules").is_some_and(|r| r.contains("\"mobile\"")), "{b}: and its rules");
        for v in personal_values() {
            assert!(!cells.rows.iter().flatten().flatten().any(|c| c == &v), "{b}: {v} in the Parquet file");
        }

        // Route 2: a new version is pushed by the same rules and published at once.
        let mut changed = firms();
        changed[0][1] = "临江开放测试零号有限公司（更名）".into();
        load(&officer, entry, &changed).await;
        let (_, d) = public.get_json(&format!("/api/v1/open/datasets/{entry}")).await;
        let releases = d["releases"].as_array().unwrap();
        assert_eq!(releases.len(), 2, "{b}: {d}");
        assert_eq!(
            (releases[0]["route"].as_str(), releases[0]["source_version"].as_i64()),
            (Some("push"), Some(2)),
            "{b}"
        );
        assert_eq!(releases[0]["previous_id"].as_i64(), Some(first), "{b}");
        let second = releases[0]["id"].as_i64().unwrap();
        let renamed = all_rows(&public, second, 100, "").await;
        assert!(renamed.iter().any(|r| r["ent_name"] == "临江开放测试零号有限公司（更名）"), "{b}");
        // The past version stays downloadable as it was.
        let old =
            String::from_utf8(public.get_bytes(&format!("/api/v1/open/releases/{first}/download/csv")).await).unwrap();
        assert!(!old.contains("更名"), "{b}");

        // A changed definition of a released field sends the next version back to review.
        let (_, e) = officer.get_json(&format!("/api/v1/catalog/entries/{entry}")).await;
        let mut body2 = e["body"].clone();
        body2["fields"][6]["grade"] = json!("l2");
        let (s, e) = officer.put_json(&format!("/api/v1/catalog/entries/{entry}"), json!({"body": body2})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {e}");
        let v = e["version"].as_i64().unwrap();
        let (s, e) = officer.post_json(&format!("/api/v1/catalog/entries/{entry}/submit"), json!({"version": v})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {e}");
        let (s, e) =
            reviewer.post_json(&format!("/api/v1/catalog/entries/{entry}/approve"), json!({"version": v})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {e}");
        load(&officer, entry, &firms()).await;
        let (_, mine) = officer.get_json("/api/v1/open/releases").await;
        let third = mine.as_array().unwrap().iter().find(|r| r["entry_id"] == entry).cloned().unwrap();
        assert_eq!(
            (third["route"].as_str(), third["status"].as_str()),
            (Some("push"), Some("pending_review")),
            "{b}: {third}"
        );
        let (_, d) = public.get_json(&format!("/api/v1/open/datasets/{entry}")).await;
        assert_eq!(d["latest"]["id"].as_i64(), Some(second), "{b}: the pending version is not public");

        // A return with reasons; a withdrawal takes a release off the portal.
        let third = third["id"].as_i64().unwrap();
        let (s, r) = reviewer
            .post_json(
                &format!("/api/v1/open/releases/{third}/review"),
                json!({"approve": false, "reasons": "从业人数分级调整后请重新确认"}),
            )
            .await;
        assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("returned")), "{b}: {r}");
        let (s, r) = officer
            .post_json(&format!("/api/v1/open/releases/{second}/withdraw"), json!({"reason": "名称有误，待更正"}))
            .await;
        assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("withdrawn")), "{b}: {r}");
        let (s, _) = public.get_json(&format!("/api/v1/open/releases/{second}/rows")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
        let (_, d) = public.get_json(&format!("/api/v1/open/datasets/{entry}")).await;
        assert_eq!(d["latest"]["id"].as_i64(), Some(first), "{b}");

        // Stale data: a daily dataset whose newest release is three days old is marked on its
        // page and listed on the announcements page.
        exec(&srv, &format!("UPDATE open_releases SET published_at = published_at - 259200000000 WHERE id = {first}"))
            .await;
        let (_, d) = public.get_json(&format!("/api/v1/open/datasets/{entry}")).await;
        assert_eq!(d["stale"], true, "{b}");
        let (s, page) = public.get("/open/announcements").await;
        assert!(s == StatusCode::OK && page.contains("开放测试市场主体名录"), "{b}");
        let (s, page) = public.get(&format!("/open/datasets/{entry}")).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert!(
            page.contains("未按更新频率及时更新") && page.contains("id=\"dictionary\"") && page.contains("免费"),
            "{b}"
        );
        // The numeric column in clear is charted, with its figures as a table for everyone.
        assert!(
            page.contains("数值分布") && page.contains("data-echarts") && page.contains("最大值 21"),
            "{b}: {page}"
        );

        assert!(audit_count(&auditor, "open.release.approve").await >= 1, "{b}");
        assert!(audit_count(&auditor, "open.release.return").await >= 1, "{b}");
        assert!(audit_count(&auditor, "open.release.push").await >= 1, "{b}");
        assert!(audit_count(&auditor, "open.download").await >= 5, "{b}");
        assert!(audit_count(&auditor, "open.rows").await >= 3, "{b}");
    }
}

/// covers: R-OPN-01, R-OPN-06 (on-application data is listed with its conditions, but its rows
/// and files are not served to the public; the yearly review list shows every restriction
/// with its basis)
#[tokio::test]
async fn on_application_data_is_listed_but_not_served_anonymously() {
    let srv = TestServer::start(&crate::server::backend());
    let officer = srv.login("officer").await;
    let reviewer = srv.login("reviewer").await;
    let public = srv.anonymous();
    let entry = publish(&officer, &reviewer, "有条件开放测试名录", "on_application").await;
    load(&officer, entry, &firms()).await;
    let (s, r) = prepare(&officer, entry, rules(&[("credit_code", None), ("ent_name", None)], &["csv"], false)).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let release = r["id"].as_i64().unwrap();
    approve(&reviewer, release).await;
    let (_, list) = public.get_json("/api/v1/open/datasets?open_type=on_application").await;
    assert!(list["datasets"].as_array().unwrap().iter().any(|d| d["entry_id"] == entry), "{list}");
    let (s, e) = public.get_json(&format!("/api/v1/open/releases/{release}/rows")).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("open_application_required")), "{e}");
    let (s, _) = public.get(&format!("/api/v1/open/releases/{release}/download/csv")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, page) = public.get(&format!("/open/datasets/{entry}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("签订数据使用协议") && page.contains("有条件开放") && !page.contains("id=\"downloads\""),
        "{page}"
    );
    // The yearly review list names the restriction with its basis; unconditional data is not on it.
    let (_, list) = public.get_json("/api/v1/open/review-list").await;
    let line = list["entries"].as_array().unwrap().iter().find(|e| e["entry_id"] == entry).cloned();
    let line = line.unwrap_or_else(|| panic!("{list}"));
    assert_eq!(
        (line["open_type"].as_str(), line["legal_basis"].as_str()),
        (Some("on_application"), Some("《临江市公共数据开放管理办法》第二十条")),
        "{line}"
    );
    assert!(list["entries"].as_array().unwrap().iter().all(|e| e["open_type"] != "unconditional"), "{list}");
    assert!(list["unconditional"].as_u64().unwrap() > 0 && list["not_open"].as_u64().unwrap() > 0, "{list}");
    let (s, page) = public.get("/open/review-list").await;
    assert!(s == StatusCode::OK && page.contains("有条件开放测试名录"), "{s}");
}

/// covers: R-OPN-04, R-SEC-01 (no open file holds a personal value in clear, whichever masking
/// rule the provider picks)
#[tokio::test]
async fn no_masking_rule_lets_a_personal_value_into_an_open_file() {
    let srv = TestServer::start_with(&crate::server::backend(), UNLIMITED);
    let officer = srv.login("officer").await;
    let reviewer = srv.login("reviewer").await;
    let public = srv.anonymous();
    let entry = publish(&officer, &reviewer, "脱敏规则测试名录", "unconditional").await;
    load(&officer, entry, &firms()).await;
    let rules_all = ["none", "id_number", "mobile", "name", "address", "email", "bank_card", "pseudonym", "suppress"];
    for rule in rules_all {
        // The contact is personal and unmasked in the catalog (grade L1): opening it takes a rule.
        let (s, r) = prepare(
            &officer,
            entry,
            rules(
                &[("credit_code", None), ("legal_rep", None), ("rep_id", None), ("contact", Some(rule))],
                &["csv", "json", "parquet"],
                false,
            ),
        )
        .await;
        if rule == "none" {
            assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
            continue;
        }
        assert_eq!(s, StatusCode::CREATED, "{rule}: {r}");
        let release = r["id"].as_i64().unwrap();
        approve(&reviewer, release).await;
        let mut files = Vec::new();
        for f in ["csv", "json"] {
            files.push(
                String::from_utf8(public.get_bytes(&format!("/api/v1/open/releases/{release}/download/{f}")).await)
                    .unwrap(),
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.parquet");
        std::fs::write(&path, public.get_bytes(&format!("/api/v1/open/releases/{release}/download/parquet")).await)
            .unwrap();
        let cells = pdp_lake::share::read_parquet_cells(&path, 100).unwrap();
        assert_eq!(cells.rows.len(), 12, "{rule}");
        files.push(cells.rows.iter().flatten().flatten().cloned().collect::<Vec<_>>().join("\n"));
        for text in &files {
            for v in personal_values() {
                assert!(!text.contains(&v), "{rule}: {v} is in an open file");
            }
        }
    }
}

/// covers: R-OPN-03 (anonymous open API calls are limited per address, with a message that
/// points to keys), R-SEC-05 (no client can swell the process with requests)
#[tokio::test]
async fn anonymous_reads_are_rate_limited_per_address() {
    let srv =
        TestServer::start_with(&crate::server::backend(), &[("PDP_SECURITY__OPEN_ANONYMOUS_RATE_PER_SECOND", "1")]);
    let officer = srv.login("officer").await;
    let reviewer = srv.login("reviewer").await;
    let public = srv.anonymous();
    let entry = publish(&officer, &reviewer, "限流测试名录", "unconditional").await;
    load(&officer, entry, &firms()).await;
    let (_, r) = prepare(&officer, entry, rules(&[("credit_code", None), ("ent_name", None)], &["csv"], false)).await;
    let release = r["id"].as_i64().unwrap();
    approve(&reviewer, release).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (s, e) = public.get_json(&format!("/api/v1/open/releases/{release}/rows")).await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(e["code"], "open_rate_limited", "{e}");
        }
        statuses.push(s);
    }
    // A burst of twice the rate passes, then the address waits.
    assert_eq!(statuses[..2], [StatusCode::OK, StatusCode::OK], "{statuses:?}");
    assert!(statuses[2..].contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    // The dataset's page is a page view, not an API call: it still shows.
    let (s, page) = public.get(&format!("/open/datasets/{entry}")).await;
    assert!(s == StatusCode::OK && page.contains("table class=\"preview\""), "{s}");
}

/// covers: R-OPN-03 (public accounts: registration of a person by citizen ID or an entity by
/// credit code, validated; the identifier shown masked and binding nothing), R-OBJ-01 (a
/// self-registered account is no data subject until bound)
#[tokio::test]
async fn people_and_entities_register_on_the_portal() {
    let srv = TestServer::start(&crate::server::backend());
    let public = srv.anonymous();
    let person = id("350102", 300);
    let (s, e) = public
        .post_json(
            "/api/v1/open/register",
            json!({"username": "zhang.san", "display_name": "张三", "password": "Kaifang2026abc", "kind": "person", "identifier": person}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    assert_eq!((e["roles"][0].as_str(), e["real_name"].as_bool()), (Some("public_user"), Some(false)), "{e}");
    assert!(!e.to_string().contains(&person), "the identifier is shown masked: {e}");
    assert_eq!(e["subject"], Value::Null, "a claimed identifier binds nothing: {e}");
    // A wrong check digit, an unknown kind, a weak password and a taken name are refused.
    let mut bad = person.clone();
    bad.replace_range(17.., if person.ends_with('1') { "2" } else { "1" });
    for (body, code) in [
        (
            json!({"username": "li.si", "display_name": "李四", "password": "Kaifang2026abc", "kind": "person", "identifier": bad}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"username": "li.si", "display_name": "李四", "password": "Kaifang2026abc", "kind": "place", "identifier": person}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"username": "li.si", "display_name": "李四", "password": "short", "kind": "person", "identifier": person}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"username": "zhang.san", "display_name": "张三", "password": "Kaifang2026abc", "kind": "person", "identifier": person}),
            StatusCode::CONFLICT,
        ),
    ] {
        let (s, e) = public.post_json("/api/v1/open/register", body).await;
        assert_eq!(s, code, "{e}");
    }
    // An entity registers through the page, signs in and sees its own page with the masked code.
    let code = pdp_domain::ids::complete_credit_code("91350102MA000777").unwrap();
    let (s, _) = public
        .post_form(
            "/open/register",
            &[
                ("kind", "legal_entity"),
                ("identifier", &code),
                ("display_name", "临江注册测试有限公司"),
                ("username", "firm.reg"),
                ("password", "Kaifang2026abc"),
            ],
            false,
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let firm = srv.login_with("firm.reg", "Kaifang2026abc").await.expect("the new account signs in");
    let (s, page) = firm.get("/open/me").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("临江注册测试有限公司") && page.contains("未认证") && !page.contains(&code), "{page}");
    let (s, _) = firm.get("/api-keys").await;
    assert_eq!(s, StatusCode::OK, "a public account makes its own API keys");
}

async fn register(srv: &TestServer, username: &str, name: &str, n: u32) -> Client {
    let (s, e) = srv
        .anonymous()
        .post_json(
            "/api/v1/open/register",
            json!({"username": username, "display_name": name, "password": "Kaifang2026abc", "kind": "person", "identifier": id("350103", n)}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    srv.login_with(username, "Kaifang2026abc").await.expect("signs in")
}

async fn dl(c: &Client, id: i64, format: &str) -> (StatusCode, String) {
    c.get(&format!("/api/v1/open/applications/{id}/download/{format}")).await
}

fn application(entry: i64, fields: &[&str], commercial: bool, licence: bool) -> Value {
    json!({
        "entry_id": entry, "purpose": "编制区域营商环境报告", "scenario": "按区县分析市场主体", "fields": fields,
        "until": (crate::governance::today() + time::Duration::days(90)).to_string(),
        "security_measures": "内网存储，专人管理", "pledge": true, "commercial": commercial, "licence_accepted": licence
    })
}

/// covers: R-OPN-06 (an application with purpose, scenario, fields, period, measures and a
/// pledge; the provider's decision by a working-day deadline with reasons; a refusal reviewed
/// by the authority; access bound to the fields and period, watermarked per applicant,
/// suspended, resumed and revoked), R-OPN-10 (commercial use needs the licence, recorded),
/// R-SHR-08 (a leaked applicant's file names its application), R-SEC-03
#[tokio::test]
async fn applications_are_decided_reviewed_watermarked_and_traced_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start_with(&backend, UNLIMITED);
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let approver = srv.login("approver").await;
        let auditor = srv.login("auditor").await;
        let entry = publish(&officer, &reviewer, "申请测试市场主体名录", "on_application").await;
        load(&officer, entry, &firms()).await;
        let fields =
            [("credit_code", None), ("ent_name", None), ("legal_rep", None), ("rep_id", None), ("district", None)];
        let (s, r) = prepare(&officer, entry, rules(&fields, &["csv", "parquet"], false)).await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {r}");
        approve(&reviewer, r["id"].as_i64().unwrap()).await;
        let firm = register(&srv, "credit.lab", "临江信用研究所", 400).await;
        let student = register(&srv, "student.wang", "王同学", 401).await;

        // Commercial use without the licence is refused; with it, the application is filed
        // with its deadline and the licence's version.
        let (s, e) = firm
            .post_json(
                "/api/v1/open/applications",
                application(entry, &["credit_code", "legal_rep", "rep_id"], true, false),
            )
            .await;
        assert_eq!(
            (s, e["details"][0]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("licence_required")),
            "{b}: {e}"
        );
        let (s, a) = firm
            .post_json(
                "/api/v1/open/applications",
                application(entry, &["credit_code", "legal_rep", "rep_id"], true, true),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {a}");
        let first = a["id"].as_i64().unwrap();
        assert_eq!((a["status"].as_str(), a["licence_version"].as_str()), (Some("submitted"), Some("2026-1")), "{b}");
        assert!(a["due_date"].as_str().unwrap() > crate::governance::today().to_string().as_str(), "{b}: {a}");
        let (s, _) =
            firm.post_json("/api/v1/open/applications", application(entry, &["credit_code"], false, false)).await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}: one open application per dataset");
        let (s, _) = dl(&firm, first, "csv").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: nothing before approval");

        // The provider's approver decides: a refusal needs reasons; another organisation's
        // staff cannot decide.
        let xs = srv.login("xs.officer").await;
        let (s, _) =
            xs.post_json(&format!("/api/v1/open/applications/{first}/decision"), json!({"approve": true})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        let (s, e) =
            approver.post_json(&format!("/api/v1/open/applications/{first}/decision"), json!({"approve": false})).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("reason_required")), "{b}: {e}");
        let (s, a) =
            approver.post_json(&format!("/api/v1/open/applications/{first}/decision"), json!({"approve": true})).await;
        assert_eq!((s, a["status"].as_str()), (StatusCode::OK, Some("approved")), "{b}: {a}");

        // The applicant's file holds the fields applied for only, masked, with its own marks.
        let (s, csv) = dl(&firm, first, "csv").await;
        assert_eq!(s, StatusCode::OK, "{b}: {csv}");
        assert!(csv.starts_with("\u{feff}credit_code,legal_rep,rep_id\n"), "{b}: {csv}");
        assert!(csv.contains('\u{2217}'), "{b}: the masked values carry the applicant's marks");
        for v in personal_values() {
            assert!(!csv.contains(&v), "{b}: {v}");
        }
        let dir = tempfile::tempdir().unwrap();
        let leaked = dir.path().join("leak.csv");
        std::fs::write(&leaked, &csv).unwrap();
        let out = srv.pdp(&["trace", leaked.to_str().unwrap()]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(out.status.code(), Some(0), "{b}: {text}");
        assert!(
            text.contains(&format!("traced to open data application {first} ")) && text.contains("临江信用研究所"),
            "{b}: {text}"
        );
        let parquet = firm.get_bytes(&format!("/api/v1/open/applications/{first}/download/parquet")).await;
        let pq = dir.path().join("leak.parquet");
        std::fs::write(&pq, &parquet).unwrap();
        let out = srv.pdp(&["trace", pq.to_str().unwrap()]);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("traced to open data application {first} ")),
            "{b}"
        );

        // A refusal goes to the authority's review on the applicant's request.
        let (s, a) = student
            .post_json("/api/v1/open/applications", application(entry, &["ent_name", "district"], false, false))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {a}");
        let second = a["id"].as_i64().unwrap();
        let (s, a) = approver
            .post_json(
                &format!("/api/v1/open/applications/{second}/decision"),
                json!({"approve": false, "reason": "用途不明确"}),
            )
            .await;
        assert_eq!((s, a["status"].as_str()), (StatusCode::OK, Some("refused")), "{b}");
        let (s, _) =
            firm.post_json(&format!("/api/v1/open/applications/{second}/appeal"), json!({"reason": "x"})).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}: only the applicant appeals");
        let (s, a) = student
            .post_json(
                &format!("/api/v1/open/applications/{second}/appeal"),
                json!({"reason": "用途为毕业论文，已附导师证明"}),
            )
            .await;
        assert_eq!((s, a["status"].as_str()), (StatusCode::OK, Some("under_review")), "{b}: {a}");
        let (s, a) = reviewer
            .post_json(
                &format!("/api/v1/open/applications/{second}/review"),
                json!({"approve": true, "reason": "学术研究用途明确，予以开放"}),
            )
            .await;
        assert_eq!((s, a["status"].as_str()), (StatusCode::OK, Some("approved")), "{b}: {a}");
        // Fields all in clear: the mark rides in a column of its own.
        let (_, csv) = dl(&student, second, "csv").await;
        assert!(csv.starts_with("\u{feff}ent_name,district,pdp_trace\n"), "{b}: {csv}");
        std::fs::write(&leaked, &csv).unwrap();
        let out = srv.pdp(&["trace", leaked.to_str().unwrap()]);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("traced to open data application {second} ")),
            "{b}"
        );

        // Suspension and revocation stop the downloads.
        let (s, a) = approver
            .post_json(
                &format!("/api/v1/open/applications/{first}/access"),
                json!({"status": "suspended", "reason": "使用情况报告逾期"}),
            )
            .await;
        assert_eq!((s, a["status"].as_str()), (StatusCode::OK, Some("suspended")), "{b}: {a}");
        assert_eq!(dl(&firm, first, "csv").await.0, StatusCode::FORBIDDEN, "{b}");
        let (_, a) = approver
            .post_json(
                &format!("/api/v1/open/applications/{first}/access"),
                json!({"status": "approved", "reason": "已补报"}),
            )
            .await;
        assert_eq!(a["status"], "approved", "{b}");
        assert_eq!(dl(&firm, first, "csv").await.0, StatusCode::OK, "{b}");
        let (_, a) = reviewer
            .post_json(
                &format!("/api/v1/open/applications/{first}/access"),
                json!({"status": "revoked", "reason": "超范围使用"}),
            )
            .await;
        assert_eq!(a["status"], "revoked", "{b}: the authority revokes too");
        assert_eq!(dl(&firm, first, "csv").await.0, StatusCode::FORBIDDEN, "{b}");

        // The provider sees both applications; each applicant only its own.
        let (_, mine) = student.get_json("/api/v1/open/applications").await;
        assert_eq!(mine.as_array().unwrap().len(), 1, "{b}");
        let (_, theirs) = approver.get_json("/api/v1/open/applications").await;
        assert!(theirs.as_array().unwrap().iter().filter(|a| a["entry_id"] == entry).count() == 2, "{b}");
        assert!(audit_count(&auditor, "open.application.download").await >= 4, "{b}");
        assert!(audit_count(&auditor, "open.application.review.grant").await == 1, "{b}");
    }
}

/// covers: R-OPN-09 (requests for data not yet open: routed by the authority, answered by the
/// provider by a deadline, their status and the share that led to open data public; ratings
/// and comments with names masked; Atom feeds of a dataset's and an organisation's releases; a
/// search that finds nothing offers a request)
#[tokio::test]
async fn requests_ratings_and_feeds_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start_with(&backend, UNLIMITED);
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let public = srv.anonymous();
        let entry = publish(&officer, &reviewer, "需求测试市场主体名录", "unconditional").await;
        load(&officer, entry, &firms()).await;
        let (_, r) =
            prepare(&officer, entry, rules(&[("credit_code", None), ("ent_name", None)], &["csv"], false)).await;
        approve(&reviewer, r["id"].as_i64().unwrap()).await;
        let (_, d) = public.get_json(&format!("/api/v1/open/datasets/{entry}")).await;
        let org = d["org_id"].as_i64().unwrap();
        let user = register(&srv, "zhao.liu", "赵六六", 410).await;

        let ask = |title: &str| json!({"title": title, "description": "用于出行服务应用开发"});
        let (s, first) = user.post_json("/api/v1/open/requests", ask("企业名录及所属区")).await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {first}");
        let first = first["id"].as_i64().unwrap();
        let (_, second) = user.post_json("/api/v1/open/requests", ask("企业纳税明细")).await;
        let second = second["id"].as_i64().unwrap();
        let (_, list) = public.get_json("/api/v1/open/requests").await;
        let (answered, fulfilled) = (list["answered"].as_u64().unwrap(), list["fulfilled"].as_u64().unwrap());
        let shown = list["requests"].as_array().unwrap().iter().find(|r| r["id"] == first).cloned().unwrap();
        assert_eq!(
            (shown["status"].as_str(), shown["requester_name"].as_str()),
            (Some("submitted"), Some("赵**")),
            "{b}: {shown}"
        );

        // The authority routes; a provider's officer cannot.
        let (s, _) = officer.post_json(&format!("/api/v1/open/requests/{first}/route"), json!({"org_id": org})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        for id in [first, second] {
            let (s, r) = reviewer.post_json(&format!("/api/v1/open/requests/{id}/route"), json!({"org_id": org})).await;
            assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("routed")), "{b}: {r}");
            assert!(r["due_date"].as_str().unwrap() > crate::governance::today().to_string().as_str(), "{b}: {r}");
        }
        // Only the provider answers; "opened" names the open dataset.
        let xs = srv.login("xs.officer").await;
        let answer =
            |outcome: &str, entry: Option<i64>| json!({"outcome": outcome, "entry_id": entry, "answer": "见开放数据"});
        let (s, e) =
            xs.post_json(&format!("/api/v1/open/requests/{first}/answer"), answer("fulfilled", Some(entry))).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("request_not_your_org")), "{b}: {e}");
        let (s, e) =
            officer.post_json(&format!("/api/v1/open/requests/{first}/answer"), answer("fulfilled", None)).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("request_entry_required")), "{b}: {e}");
        let (s, r) =
            officer.post_json(&format!("/api/v1/open/requests/{first}/answer"), answer("fulfilled", Some(entry))).await;
        assert_eq!(
            (s, r["status"].as_str(), r["entry_id"].as_i64()),
            (StatusCode::OK, Some("fulfilled"), Some(entry)),
            "{b}: {r}"
        );
        let (s, r) = officer
            .post_json(
                &format!("/api/v1/open/requests/{second}/answer"),
                json!({"outcome": "declined", "answer": "涉及商业秘密，依法不予开放"}),
            )
            .await;
        assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("declined")), "{b}: {r}");
        let (_, list) = public.get_json("/api/v1/open/requests").await;
        // The demo's requests were there before; these two add one answer each, one of them open data.
        assert_eq!(
            (list["answered"].as_u64(), list["fulfilled"].as_u64()),
            (Some(answered + 2), Some(fulfilled + 1)),
            "{b}: {list}"
        );
        let share = (fulfilled + 1) * 100 / (answered + 2);
        let (s, page) = public.get("/open/requests").await;
        assert!(s == StatusCode::OK && page.contains("企业纳税明细") && page.contains(&format!(">{share}%<")), "{b}");

        // Ratings: one per account, replaced; names masked.
        let (s, _) = user.post_json(&format!("/api/v1/open/datasets/{entry}/ratings"), json!({"stars": 6})).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        let (s, _) = user
            .post_json(&format!("/api/v1/open/datasets/{entry}/ratings"), json!({"stars": 3, "comment": "字段较少"}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (_, _) = user
            .post_json(&format!("/api/v1/open/datasets/{entry}/ratings"), json!({"stars": 5, "comment": "更新及时"}))
            .await;
        let (_, rs) = public.get_json(&format!("/api/v1/open/datasets/{entry}/ratings")).await;
        assert_eq!((rs["count"].as_u64(), rs["mean"].as_f64()), (Some(1), Some(5.0)), "{b}: {rs}");
        assert_eq!(rs["ratings"][0]["user_name"], "赵**", "{b}");
        let (_, page) = public.get(&format!("/open/datasets/{entry}")).await;
        assert!(page.contains("更新及时") && page.contains("5.0"), "{b}");

        // Atom feeds of the dataset and of its provider.
        let res = reqwest::get(format!("{}/open/datasets/{entry}/feed.atom", srv.url)).await.unwrap();
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/atom+xml"), "{b}");
        let feed = res.text().await.unwrap();
        assert!(
            feed.starts_with("<?xml") && feed.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\">"),
            "{b}: {feed}"
        );
        assert!(feed.contains("<entry>") && feed.contains("需求测试市场主体名录"), "{b}: {feed}");
        let (s, feed) = public.get(&format!("/open/orgs/{org}/feed.atom")).await;
        assert!(s == StatusCode::OK && feed.contains("需求测试市场主体名录"), "{b}");

        // A search that finds nothing offers to ask for the data.
        let (_, page) = public.get("/open/datasets?q=%E4%B8%8D%E5%AD%98%E5%9C%A8%E7%9A%84%E6%95%B0%E6%8D%AE").await;
        assert!(page.contains("/open/requests?title="), "{b}");
    }
}

/// covers: R-OPN-08 (the use of open data in public: views, downloads and API calls per dataset
/// and organisation, and a metadata quality score whose timeliness follows the update
/// frequency; the most used data on the portal's home page)
#[tokio::test]
async fn usage_and_quality_are_public_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start_with(&backend, UNCACHED);
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let public = srv.anonymous();
        let entry = publish(&officer, &reviewer, "统计测试市场主体名录", "unconditional").await;
        load(&officer, entry, &firms()).await;
        let (_, r) =
            prepare(&officer, entry, rules(&[("credit_code", None), ("ent_name", None)], &["csv"], false)).await;
        let release = r["id"].as_i64().unwrap();
        approve(&reviewer, release).await;
        for _ in 0..2 {
            assert_eq!(public.get(&format!("/open/datasets/{entry}")).await.0, StatusCode::OK, "{b}");
        }
        for _ in 0..3 {
            assert_eq!(
                public.get(&format!("/api/v1/open/releases/{release}/rows?limit=1")).await.0,
                StatusCode::OK,
                "{b}"
            );
        }
        assert_eq!(public.get(&format!("/api/v1/open/releases/{release}/download/csv")).await.0, StatusCode::OK, "{b}");
        let stats =
            |st: &Value| st["datasets"].as_array().unwrap().iter().find(|d| d["entry_id"] == entry).cloned().unwrap();
        let (s, st) = public.get_json("/api/v1/open/stats").await;
        assert_eq!(s, StatusCode::OK, "{b}: {st}");
        let d = stats(&st);
        assert_eq!(
            (d["views"].as_i64(), d["api_calls"].as_i64(), d["downloads"].as_i64()),
            (Some(2), Some(3), Some(1)),
            "{b}: {d}"
        );
        assert_eq!(
            (d["quality"]["links"].as_u64(), d["quality"]["timeliness"].as_u64()),
            (Some(100), Some(100)),
            "{b}: {d}"
        );
        let org = st["orgs"].as_array().unwrap().iter().find(|o| o["org_id"] == d["org_id"]).cloned().unwrap();
        assert!(org["downloads"].as_i64().unwrap() >= 1 && org["datasets"].as_u64().unwrap() >= 1, "{b}: {org}");
        assert!(st["by_day"].as_array().unwrap().iter().any(|u| u["api_calls"].as_i64().unwrap() >= 3), "{b}: {st}");
        // Stale data loses its timeliness.
        exec(
            &srv,
            &format!("UPDATE open_releases SET published_at = published_at - 259200000000 WHERE id = {release}"),
        )
        .await;
        let (_, st) = public.get_json("/api/v1/open/stats").await;
        let stale = stats(&st);
        assert_eq!(stale["quality"]["timeliness"], 0, "{b}: {stale}");
        assert!(stale["quality"]["score"].as_u64() < d["quality"]["score"].as_u64(), "{b}");
        let (s, page) = public.get("/open/stats").await;
        assert!(s == StatusCode::OK && page.contains("统计测试市场主体名录") && page.contains("data-echarts"), "{b}");
        let (_, home) = public.get("/open").await;
        assert!(home.contains("id=\"most-used\"") && home.contains("统计测试市场主体名录"), "{b}");
    }
}

/// One request a webhook receiver got: its headers and body.
#[derive(Debug, Clone)]
struct Received {
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

/// A webhook receiver on port 0 that answers `status` and keeps what it receives.
async fn receiver(status: u16) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Received>>>) {
    use std::sync::{Arc, Mutex};
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push(Received { headers, body: body.to_vec() });
                axum::http::StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

/// covers: R-OPN-09 (subscriptions to a dataset's updates: a registered account's webhook gets
/// each newly published release, signed with the secret it was shown once; a failing receiver is
/// recorded, not retried for ever; nobody sees or deletes another account's webhooks)
#[tokio::test]
async fn webhooks_announce_new_releases_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start_with(&backend, &[("PDP_OPEN__WEBHOOK_PRIVATE_RECEIVERS", "true")]);
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let entry = publish(&officer, &reviewer, "订阅测试市场主体名录", "unconditional").await;
        load(&officer, entry, &firms()).await;
        let fields = rules(&[("credit_code", None), ("ent_name", None)], &["csv", "json"], false);
        let (_, first) = prepare(&officer, entry, fields.clone()).await;
        approve(&reviewer, first["id"].as_i64().unwrap()).await;
        let user = register(&srv, "sun.qi", "孙七七", 420).await;
        let (url, got) = receiver(200).await;
        let (bad_url, bad_got) = receiver(500).await;

        // The URL's form and the target are checked.
        for (body, code) in [
            (json!({"entry_id": entry, "url": "ftp://example.org/"}), "webhook_url_invalid"),
            (json!({"entry_id": entry, "url": "https://u:p@example.org/"}), "webhook_url_invalid"),
            (json!({"entry_id": entry, "org_id": 1, "url": url}), "webhook_target_required"),
        ] {
            let (s, e) = user.post_json("/api/v1/open/webhooks", body).await;
            assert_eq!((s, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{b}: {e}");
        }
        let (s, _) = user.post_json("/api/v1/open/webhooks", json!({"entry_id": 999_999, "url": url})).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}: only open datasets are followed");
        let (s, _) = srv.anonymous().post_json("/api/v1/open/webhooks", json!({"entry_id": entry, "url": url})).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");

        let (s, hook) = user.post_json("/api/v1/open/webhooks", json!({"entry_id": entry, "url": url})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {hook}");
        let secret = hex_decode(hook["secret"].as_str().unwrap());
        assert_eq!(secret.len(), 32, "{b}");
        let hook_id = hook["subscription"]["id"].as_i64().unwrap();
        let (_, failing) = user.post_json("/api/v1/open/webhooks", json!({"entry_id": entry, "url": bad_url})).await;
        let failing_id = failing["subscription"]["id"].as_i64().unwrap();
        let auditor = srv.login("auditor").await;
        assert_eq!(audit_count(&auditor, "open.webhook.create").await, 2, "{b}: both are on the record");

        // The release published before subscribing is not announced; the next one is, once.
        let (_, second) = prepare(&officer, entry, fields.clone()).await;
        let second = second["id"].as_i64().unwrap();
        approve(&reviewer, second).await;
        let mut waited = 0;
        while got.lock().unwrap().is_empty() || bad_got.lock().unwrap().len() < 3 {
            assert!(waited < 200, "{b}: no delivery within 20 s");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            waited += 1;
        }
        tokio::time::sleep(std::time::Duration::from_secs(4)).await;
        let delivered = got.lock().unwrap().clone();
        assert_eq!(delivered.len(), 1, "{b}: one delivery per release");
        let d = &delivered[0];
        assert_eq!(d.headers["x-pdp-event"], "release.published", "{b}");
        assert_eq!(d.headers["x-pdp-delivery"].to_str().unwrap(), format!("{hook_id}-{second}"), "{b}");
        let signature = d.headers["x-pdp-signature-256"].to_str().unwrap();
        assert_eq!(signature, pdp_domain::webhook::signature(&secret, &d.body), "{b}: signed with the secret");
        assert_ne!(signature, pdp_domain::webhook::signature(b"another secret", &d.body), "{b}");
        let body: Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(
            (body["release"]["id"].as_i64(), body["dataset"]["entry_id"].as_i64()),
            (Some(second), Some(entry)),
            "{b}"
        );
        let csv = body["release"]["downloads"]["csv"].as_str().unwrap();
        let res = reqwest::get(csv).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{b}: the announced download works");
        assert!(res.text().await.unwrap().contains("credit_code"), "{b}");
        // The failing receiver was tried three times and the failure is recorded.
        assert_eq!(bad_got.lock().unwrap().len(), 3, "{b}: three tries, then it stops");
        let (_, mine) = user.get_json("/api/v1/open/webhooks").await;
        let mine = mine.as_array().unwrap();
        let ok = mine.iter().find(|h| h["id"] == hook_id).unwrap();
        let failed = mine.iter().find(|h| h["id"] == failing_id).unwrap();
        assert_eq!(
            (ok["deliveries"].as_i64(), ok["failures"].as_i64(), ok["last_status"].as_i64()),
            (Some(1), Some(0), Some(200)),
            "{b}: {ok}"
        );
        assert_eq!(
            (failed["failures"].as_i64(), failed["last_status"].as_i64(), failed["last_error"].as_str()),
            (Some(1), Some(500), Some("HTTP 500")),
            "{b}: {failed}"
        );
        assert!(mine.iter().all(|h| h.get("secret").is_none()), "{b}: the secret is never shown again");
        let (_, page) = user.get("/open/me").await;
        assert!(page.contains("my-webhooks") && page.contains(&url), "{b}");

        // Another account neither sees nor deletes them.
        let other = register(&srv, "zhou.ba", "周八八", 430).await;
        let (_, theirs) = other.get_json("/api/v1/open/webhooks").await;
        assert_eq!(theirs.as_array().map(Vec::len), Some(0), "{b}");
        let (s, _) = other.send(reqwest::Method::DELETE, &format!("/api/v1/open/webhooks/{hook_id}"), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
        let (s, _) = user.send(reqwest::Method::DELETE, &format!("/api/v1/open/webhooks/{failing_id}"), None).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (_, mine) = user.get_json("/api/v1/open/webhooks").await;
        assert_eq!(mine.as_array().map(Vec::len), Some(1), "{b}");
    }
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// covers: R-OPN-06 (granted access is reported on: the applicant reports how the data was
/// used, the provider and the authority read the reports beside the platform's own record of
/// the downloads, and an applicant whose period ended without a report applies for nothing more
/// until it is filed), R-SEC-03
#[tokio::test]
async fn usage_reports_of_granted_applications_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start_with(&backend, UNLIMITED);
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let approver = srv.login("approver").await;
        let entry = publish(&officer, &reviewer, "报告测试市场主体名录", "on_application").await;
        let other = publish(&officer, &reviewer, "报告测试第二名录", "on_application").await;
        for e in [entry, other] {
            load(&officer, e, &firms()).await;
            let (_, r) =
                prepare(&officer, e, rules(&[("credit_code", None), ("ent_name", None)], &["csv"], false)).await;
            approve(&reviewer, r["id"].as_i64().unwrap()).await;
        }
        let user = register(&srv, "li.report", "李报告", 440).await;
        let (s, a) =
            user.post_json("/api/v1/open/applications", application(entry, &["credit_code"], false, false)).await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {a}");
        let id = a["id"].as_i64().unwrap();
        let report = json!({"uses": "编制区域营商环境报告", "outcome": "报告已发布", "incidents": ""});
        let (s, e) = user.post_json(&format!("/api/v1/open/applications/{id}/reports"), report.clone()).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("application_not_granted")), "{b}: {e}");
        approver.post_json(&format!("/api/v1/open/applications/{id}/decision"), json!({"approve": true})).await;
        let (s, _) = dl(&user, id, "csv").await;
        assert_eq!(s, StatusCode::OK, "{b}");

        // The period ends without a report: the applicant applies for nothing more.
        crate::governance::exec(
            &srv,
            &format!("UPDATE open_applications SET until_date = '2026-01-31' WHERE id = {id}"),
        )
        .await;
        let (_, usage) = user.get_json(&format!("/api/v1/open/applications/{id}/usage")).await;
        assert_eq!(usage["report_overdue"], true, "{b}: {usage}");
        let (s, e) =
            user.post_json("/api/v1/open/applications", application(other, &["credit_code"], false, false)).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("application_report_overdue")), "{b}: {e}");
        let (_, page) = officer.get("/open/applications").await;
        assert!(page.contains("逾期未报告"), "{b}: the provider sees the report is overdue");

        // A report needs its texts; only the applicant files it.
        let (s, e) = user
            .post_json(&format!("/api/v1/open/applications/{id}/reports"), json!({"uses": " ", "outcome": ""}))
            .await;
        assert_eq!(
            (s, e["code"].as_str(), e["details"].as_array().map(Vec::len)),
            (StatusCode::BAD_REQUEST, Some("report_invalid"), Some(2)),
            "{b}: {e}"
        );
        let (s, _) = officer.post_json(&format!("/api/v1/open/applications/{id}/reports"), report.clone()).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
        let (s, r) = user.post_json(&format!("/api/v1/open/applications/{id}/reports"), report).await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {r}");

        // The provider reads the report beside the downloads on the record; a stranger reads nothing.
        let (s, usage) = officer.get_json(&format!("/api/v1/open/applications/{id}/usage")).await;
        assert_eq!(s, StatusCode::OK, "{b}: {usage}");
        assert_eq!(usage["report_overdue"], false, "{b}");
        assert_eq!(usage["reports"][0]["uses"], "编制区域营商环境报告", "{b}");
        assert_eq!(usage["downloads"].as_array().map(Vec::len), Some(1), "{b}: {usage}");
        let stranger = register(&srv, "wang.other", "王其他", 441).await;
        let (s, _) = stranger.get_json(&format!("/api/v1/open/applications/{id}/usage")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
        let auditor = srv.login("auditor").await;
        assert!(audit_count(&auditor, "open.application.report").await >= 1, "{b}");

        // Filed, the applicant may apply again.
        let (s, e) =
            user.post_json("/api/v1/open/applications", application(other, &["credit_code"], false, false)).await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {e}");
    }
}

/// The metadata part of a social data submission.
fn social_metadata(name: &str, pledged: bool) -> String {
    json!({
        "name": name, "summary": "本市共享单车规范停放点位，由运营企业提供", "item": "09", "frequency": "monthly",
        "licence": "cc_by",
        "fields": [
            {"name": "site", "label": "点位"},
            {"name": "district", "label": "区县"},
            {"name": "contact", "label": "联系电话", "mask": "mobile"}
        ],
        "pledge": {"lawfully_obtained": true, "no_personal_information": true, "no_secrets": pledged, "may_license": true}
    })
    .to_string()
}

const SOCIAL_CSV: &str = "site,district,contact\n城东停放点,鼓楼区,13800138000\n江滨停放点,台江区,13912345678\n只有两列,鼓楼区\n西湖停放点,鼓楼区,13700001111\n";

fn social_form(metadata: String) -> reqwest::multipart::Form {
    let file = reqwest::multipart::Part::bytes(SOCIAL_CSV.as_bytes().to_vec()).file_name("bikes.csv");
    reqwest::multipart::Form::new().text("metadata", metadata).part("file", file)
}

/// covers: R-OPN-07 (route 4: social data submitted by a registered organisation with a
/// verified credit code, its licence and pledge, hosted by the authority and opened only after
/// the same security review; refused rows quarantined with their reasons), R-OPN-05, R-SEC-01
/// (the organisation's masking rule holds in the published file), R-SEC-03
#[tokio::test]
async fn social_data_is_submitted_reviewed_and_opened_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start_with(&backend, UNCACHED);
        let reviewer = srv.login("reviewer").await;
        let security = srv.login("security").await;
        let auditor = srv.login("auditor").await;
        let public = srv.anonymous();
        let demo_submissions = audit_count(&auditor, "open.social.submit").await;

        // A person, and an entity whose credit code nobody has verified yet, may not submit.
        let person = register(&srv, "bike.fan", "骑行爱好者", 410).await;
        let (s, e) =
            person.post_multipart("/api/v1/open/social", social_form(social_metadata("单车", true)), true).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: {e}");
        assert!(e.contains("social_legal_entity_only"), "{b}: {e}");
        let code = pdp_domain::ids::complete_credit_code("91350100MA00BK88").unwrap();
        let (s, e) = public
            .post_json(
                "/api/v1/open/register",
                json!({"username": "bikes.co", "display_name": "临江畅行科技有限公司", "password": "Kaifang2026abc", "kind": "legal_entity", "identifier": code}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {e}");
        let firm = srv.login_with("bikes.co", "Kaifang2026abc").await.expect("signs in");
        let (s, _) = firm.post_multipart("/api/v1/open/social", social_form(social_metadata("单车", true)), true).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: a claimed code is not enough");
        let uid = e["id"].as_i64().unwrap();
        let (s, u) = security
            .put_json(&format!("/api/v1/users/{uid}/subject"), json!({"kind": "legal_entity", "id": code}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {u}");

        // An incomplete pledge is refused with its path; a complete one goes to review, the
        // malformed row quarantined with its reason.
        let (s, e) = firm
            .post_multipart("/api/v1/open/social", social_form(social_metadata("共享单车停放点", false)), true)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: {e}");
        assert!(e.contains("social_pledge_incomplete") && e.contains("\"pledge\""), "{b}: {e}");
        let (s, t) = firm
            .post_multipart("/api/v1/open/social", social_form(social_metadata("共享单车停放点", true)), true)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {t}");
        let out: Value = serde_json::from_str(&t).unwrap();
        assert_eq!((out["accepted"].as_u64(), out["quarantined"].as_u64()), (Some(3), Some(1)), "{b}: {out}");
        assert!(out["first_errors"][0].as_str().unwrap().contains("第 3 行"), "{b}: {out}");
        let r = &out["release"];
        let (release, entry) = (r["id"].as_i64().unwrap(), r["entry_id"].as_i64().unwrap());
        assert_eq!((r["status"].as_str(), r["route"].as_str()), (Some("pending_review"), Some("social")), "{b}: {r}");

        // Nobody but the organisation and the reviewers sees it before the review: not the
        // public, not another district's agency (the entry is a draft).
        let (_, list) = public.get_json("/api/v1/open/datasets").await;
        assert!(!list["datasets"].as_array().unwrap().iter().any(|d| d["entry_id"] == entry), "{b}: {list}");
        let (s, _) = srv.login("xs.officer").await.get_json(&format!("/api/v1/catalog/entries/{entry}")).await;
        assert_ne!(s, StatusCode::OK, "{b}: an unreviewed social entry is not in the catalog");
        let (s, d) = reviewer.get_json(&format!("/api/v1/open/releases/{release}")).await;
        assert_eq!(s, StatusCode::OK, "{b}: {d}");
        assert_eq!(d["sample"]["rows"].as_array().unwrap().len(), 3, "{b}: {d}");
        let (s, mine) = firm.get_json("/api/v1/open/social").await;
        assert_eq!((s, mine[0]["release"]["status"].as_str()), (StatusCode::OK, Some("pending_review")), "{b}: {mine}");

        // The review publishes the release with its entry; the public reads the file with the
        // organisation's masking applied, and the page names the source and the licence.
        let r = approve(&reviewer, release).await;
        assert_eq!(r["status"], "published", "{b}: {r}");
        let (_, e) = reviewer.get_json(&format!("/api/v1/catalog/entries/{entry}")).await;
        assert_eq!(e["status"], "published", "{b}: {e}");
        let (_, list) = public.get_json("/api/v1/open/datasets?q=共享单车").await;
        assert!(list["datasets"].as_array().unwrap().iter().any(|d| d["entry_id"] == entry), "{b}: {list}");
        let csv = String::from_utf8(public.get_bytes(&format!("/api/v1/open/releases/{release}/download/csv")).await)
            .unwrap();
        assert!(csv.contains("城东停放点") && csv.lines().count() == 4, "{b}: {csv}");
        for phone in ["13800138000", "13912345678", "13700001111"] {
            assert!(!csv.contains(phone), "{b}: {phone} is masked: {csv}");
        }
        let (s, page) = public.get(&format!("/open/datasets/{entry}")).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert!(
            page.contains("social-source") && page.contains("临江畅行科技有限公司") && page.contains("CC BY 4.0"),
            "{b}"
        );

        // A second submission through the page's form (its token in the query string), returned
        // with reasons: it stays unpublished, and the organisation reads why.
        let (s, _) = firm
            .post_multipart(
                "/open/social",
                reqwest::multipart::Form::new().text("name", "单车二").part(
                    "file",
                    reqwest::multipart::Part::bytes(SOCIAL_CSV.as_bytes().to_vec()).file_name("bikes.csv"),
                ),
                false,
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: a page form without its token is refused");
        let form = reqwest::multipart::Form::new()
            .text("name", "共享单车停放点（二季度）")
            .text("summary", "二季度新增点位")
            .text("item", "09")
            .text("frequency", "quarterly")
            .text("licence", "cc0")
            .text("fields", "site,点位\ndistrict,区县\ncontact,联系电话,mobile")
            .text("lawfully_obtained", "1")
            .text("no_personal_information", "1")
            .text("no_secrets", "1")
            .text("may_license", "1")
            .part("file", reqwest::multipart::Part::bytes(SOCIAL_CSV.as_bytes().to_vec()).file_name("q2.csv"));
        let (s, _) = firm.post_multipart(&format!("/open/social?csrf={}", firm.csrf), form, false).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{b}");
        let (_, mine) = firm.get_json("/api/v1/open/social").await;
        let second = mine[0]["release"]["id"].as_i64().unwrap();
        assert_ne!(second, release, "{b}");
        let (s, _) = reviewer
            .post_json(
                &format!("/api/v1/open/releases/{second}/review"),
                json!({"approve": false, "reasons": "点位与一季度重复，请合并后再提交"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, page) = firm.get("/open/social").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert!(page.contains("点位与一季度重复") && page.contains("已退回"), "{b}");
        let (_, list) = public.get_json("/api/v1/open/datasets?q=二季度").await;
        assert!(
            !list["datasets"].as_array().unwrap().iter().any(|d| d["entry_id"] == mine[0]["release"]["entry_id"]),
            "{b}"
        );
        assert_eq!(audit_count(&auditor, "open.social.submit").await, demo_submissions + 2, "{b}");

        // At most five submissions wait at once; the organisation withdraws its own, which
        // makes room, and may not withdraw another's.
        let mut waiting = Vec::new();
        for i in 0..5 {
            let (s, t) = firm
                .post_multipart(
                    "/api/v1/open/social",
                    social_form(social_metadata(&format!("共享单车停放点（批次{i}）"), true)),
                    true,
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{b}: {t}");
            waiting.push(serde_json::from_str::<Value>(&t).unwrap()["release"]["id"].as_i64().unwrap());
        }
        let (s, e) = firm
            .post_multipart("/api/v1/open/social", social_form(social_metadata("共享单车停放点（六）", true)), true)
            .await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}: {e}");
        assert!(e.contains("social_too_many_pending"), "{b}: {e}");
        let (s, e) = srv
            .login("citizen")
            .await
            .post_json(&format!("/api/v1/open/releases/{}/withdraw", waiting[0]), json!({"reason": "x"}))
            .await;
        assert_ne!(s, StatusCode::OK, "{b}: another account cannot withdraw it: {e}");
        let (s, w) = firm
            .post_json(&format!("/api/v1/open/releases/{}/withdraw", waiting[0]), json!({"reason": "数据需更正"}))
            .await;
        assert_eq!((s, w["status"].as_str()), (StatusCode::OK, Some("withdrawn")), "{b}: {w}");
        let (s, t) = firm
            .post_multipart("/api/v1/open/social", social_form(social_metadata("共享单车停放点（六）", true)), true)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {t}");
    }
}
