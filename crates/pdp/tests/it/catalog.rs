//! The catalog on every backend: the consistency rules on save, the review workflow with versions
//! and diffs, district review, derived catalogs, change events with working-day deadlines,
//! search, the system registry, and import/export of the template.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::server::{Client, TestServer, backends};

/// A valid department entry with two public fields; callers adjust it.
fn body(name: &str, summary: &str) -> Value {
    json!({
        "name": name,
        "summary": summary,
        "class": "department",
        "item": "02",
        "format": "database",
        "frequency": "daily",
        "fields": [
            {"name": "credit_code", "label": "统一社会信用代码", "data_type": "text", "grade": "l1", "identifier": "credit_code"},
            {"name": "ent_name", "label": "企业名称", "data_type": "text", "grade": "l1"}
        ],
        "share": {"share_type": "unconditional", "modes": ["bulk", "view"]},
        "open": {"open_type": "unconditional"}
    })
}

fn detail_codes(e: &Value) -> Vec<String> {
    e["details"]
        .as_array()
        .map(|d| d.iter().map(|v| v["code"].as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default()
}

async fn create(c: &Client, b: Value) -> Value {
    let (s, e) = c.post_json("/api/v1/catalog/entries", json!({ "body": b })).await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    e
}

async fn act(c: &Client, e: &Value, action: &str, reason: &str) -> (StatusCode, Value) {
    let id = e["entry_id"].as_i64().unwrap();
    c.post_json(&format!("/api/v1/catalog/entries/{id}/{action}"), json!({"version": e["version"], "reason": reason}))
        .await
}

/// Creates, submits and approves an entry; returns the published version.
async fn publish(officer: &Client, reviewer: &Client, b: Value) -> Value {
    let e = create(officer, b).await;
    let (s, e) = act(officer, &e, "submit", "").await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, e) = act(reviewer, &e, "approve", "").await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(e["status"], "published");
    e
}

/// covers: R-CAT-02, R-CAT-07, R-SHR-01, R-SHR-02, R-OPN-01, R-AGG-08 (every consistency rule is
/// enforced on save, with all violations in both languages, and nothing saved)
#[tokio::test]
async fn consistency_rules_on_save_on_every_backend() {
    for backend in backends() {
        let srv = TestServer::start(&backend);
        let b = backend.name();
        let officer = srv.login("officer").await;
        let (_, before) = officer.get_json("/api/v1/catalog/entries").await;
        let before = before.as_array().unwrap().len();

        let cases: Vec<(&str, Value, Vec<&str>)> = vec![
            (
                "conditional needs a legal basis and its conditions",
                json!({"share": {"share_type": "conditional", "modes": ["view"]}, "open": {"open_type": "not_open", "legal_basis": "《条例》第十条"}}),
                vec!["share_legal_basis_required", "share_conditions_required"],
            ),
            (
                "not shared needs a legal basis and implies not open",
                json!({"share": {"share_type": "not_shared"}}),
                vec!["share_legal_basis_required", "not_shared_must_not_open"],
            ),
            (
                "open on application needs a legal basis and conditions",
                json!({"open": {"open_type": "on_application"}}),
                vec!["open_legal_basis_required", "open_conditions_required"],
            ),
            (
                "the grading matrix limits sharing and opening of L4 data",
                json!({"fields": [{"name": "case_no", "label": "案件编号", "data_type": "text", "grade": "l4", "mask": "pseudonym"}]}),
                vec!["grade_limits_share", "grade_limits_open"],
            ),
            (
                "personal fields need an identifier field and a reason to be collected",
                json!({"fields": [{"name": "holder", "label": "持有人姓名", "data_type": "text", "grade": "l2", "personal": true, "mask": "name"}]}),
                vec!["identifier_field_required", "purpose_required"],
            ),
            ("purchased data names its source", json!({"purchased": true}), vec!["purchase_source_required"]),
        ];
        for (what, patch, want) in cases {
            let mut e = body("规则检查", "检查一致性规则");
            for (k, v) in patch.as_object().unwrap() {
                e[k] = v.clone();
            }
            let (s, err) = officer.post_json("/api/v1/catalog/entries", json!({ "body": e })).await;
            assert_eq!(
                (s, err["code"].as_str()),
                (StatusCode::BAD_REQUEST, Some("catalog_invalid")),
                "{b} {what}: {err}"
            );
            let got = detail_codes(&err);
            for w in &want {
                assert!(got.iter().any(|g| g == w), "{b} {what}: want {w} in {got:?}");
            }
            for d in err["details"].as_array().unwrap() {
                assert!(!d["message_zh"].as_str().unwrap().is_empty() && !d["message_en"].as_str().unwrap().is_empty());
            }
            // The editor's inline check says the same without saving.
            let (_, inline) = officer.post_json("/api/v1/catalog/validate", json!({ "body": e })).await;
            let inline: Vec<&str> = inline.as_array().unwrap().iter().map(|v| v["code"].as_str().unwrap()).collect();
            assert_eq!(inline, got, "{b} {what}");
        }
        let (_, after) = officer.get_json("/api/v1/catalog/entries").await;
        assert_eq!(after.as_array().unwrap().len(), before, "{b}: rejected entries are not saved");

        // Unlisted share and open attributes: shareable and open by default, in every mode.
        let mut e = body("默认属性", "未列出共享属性的资源");
        e.as_object_mut().unwrap().remove("share");
        e.as_object_mut().unwrap().remove("open");
        let created = create(&officer, e).await;
        assert_eq!(created["body"]["share"]["share_type"], "unconditional", "{b}");
        assert_eq!(created["body"]["share"]["modes"].as_array().unwrap().len(), 4, "{b}");
        assert_eq!(created["status"], "draft");
        // The code is the classification code (3 + item 02 + 000) and a six-digit sequence.
        let code = created["code"].as_str().unwrap();
        let (class, seq) = code.split_once('/').unwrap();
        assert_eq!(class, "302000", "{b}: {code}");
        assert!(seq.len() == 6 && seq.chars().all(|c| c.is_ascii_digit()), "{b}: {code}");
        // A personal field done right is accepted: identifier named, purpose given, masked.
        let mut e = body("个人信息资源", "含个人信息");
        e["fields"] = json!([
            {"name": "id_no", "label": "公民身份号码", "data_type": "text", "grade": "l3", "personal": true, "identifier": "citizen_id", "mask": "id_number", "purpose": "核验申请人身份"},
            {"name": "person_name", "label": "姓名", "data_type": "text", "grade": "l2", "personal": true, "mask": "name", "purpose": "办理业务"}
        ]);
        e["identifier_field"] = json!("id_no");
        e["share"] = json!({"share_type": "conditional", "modes": ["verify"], "conditions": "仅用于身份核验", "legal_basis": "《临江市公共数据条例》第二十条"});
        e["open"] = json!({"open_type": "not_open", "legal_basis": "涉及个人信息"});
        create(&officer, e).await;
    }
}

/// covers: R-CAT-03, R-CAT-06 (draft → submitted → rejected/published; a new version of a
/// published entry is reviewed while the old one stays in force; history and diff; district
/// reviewers review only their region, the city reviews all)
#[tokio::test]
async fn review_workflow_and_versions_on_every_backend() {
    for backend in backends() {
        let srv = TestServer::start(&backend);
        let b = backend.name();
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let admin = srv.login("admin").await;

        let e = create(&officer, body("企业变更登记信息", "记录企业名称、住所等登记事项的变更")).await;
        let id = e["entry_id"].as_i64().unwrap();
        // Submitting a version that is not the newest is a conflict.
        let (s, err) = officer.post_json(&format!("/api/v1/catalog/entries/{id}/submit"), json!({"version": 9})).await;
        assert_eq!((s, err["code"].as_str()), (StatusCode::CONFLICT, Some("catalog_stale_version")), "{b}");
        let (s, e) = act(&officer, &e, "submit", "").await;
        assert_eq!((s, e["status"].as_str()), (StatusCode::OK, Some("submitted")), "{b}: {e}");
        // Under review it cannot be edited, but it can be withdrawn.
        let (s, err) =
            officer.put_json(&format!("/api/v1/catalog/entries/{id}"), json!({"body": body("改名", "摘要")})).await;
        assert_eq!((s, err["code"].as_str()), (StatusCode::CONFLICT, Some("catalog_under_review")), "{b}");
        let (s, e) = act(&officer, &e, "withdraw", "").await;
        assert_eq!(e["status"], "draft", "{b}: {s}");
        let (_, e) = act(&officer, &e, "submit", "").await;
        // The officer cannot approve; approving a draft is not a step the workflow knows.
        let (s, _) = act(&officer, &e, "approve", "").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        // Rejecting needs a reason.
        let (s, err) = act(&reviewer, &e, "reject", " ").await;
        assert_eq!((s, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("catalog_reason_required")), "{b}");
        let (s, e) = act(&reviewer, &e, "reject", "摘要过于简略").await;
        assert_eq!(
            (s, e["status"].as_str(), e["review_reason"].as_str()),
            (StatusCode::OK, Some("rejected"), Some("摘要过于简略")),
            "{b}"
        );
        let (s, err) = act(&reviewer, &e, "approve", "").await;
        assert_eq!((s, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("catalog_bad_transition")), "{b}");
        // The officer corrects the rejected version in place and resubmits; it is approved.
        let (s, e) = officer
            .put_json(
                &format!("/api/v1/catalog/entries/{id}"),
                json!({"body": body("企业变更登记信息", "记录企业名称、住所、经营范围、法定代表人等登记事项的变更")}),
            )
            .await;
        assert_eq!(
            (s, e["status"].as_str(), e["version"].as_i64()),
            (StatusCode::OK, Some("draft"), Some(1)),
            "{b}: {e}"
        );
        let (_, e) = act(&officer, &e, "submit", "").await;
        let (s, e) = act(&reviewer, &e, "approve", "").await;
        assert_eq!(
            (s, e["status"].as_str(), e["published_version"].as_i64()),
            (StatusCode::OK, Some("published"), Some(1)),
            "{b}: {e}"
        );

        // Editing the published entry makes version 2, under review while version 1 stays in force.
        let mut v2 = body("企业变更登记信息", "记录企业名称、住所、经营范围、法定代表人等登记事项的变更");
        v2["fields"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "change_date", "label": "变更日期", "data_type": "date", "grade": "l1"}));
        v2["frequency"] = json!("realtime");
        let (s, e2) = officer.put_json(&format!("/api/v1/catalog/entries/{id}"), json!({"body": v2})).await;
        assert_eq!(
            (s, e2["version"].as_i64(), e2["status"].as_str()),
            (StatusCode::OK, Some(2), Some("draft")),
            "{b}: {e2}"
        );
        let (_, e2) = act(&officer, &e2, "submit", "").await;
        let (_, master) = admin.get_json("/api/v1/catalog/entries?view=published").await;
        let in_force = master.as_array().unwrap().iter().find(|x| x["entry_id"] == id).unwrap().clone();
        assert_eq!(
            (in_force["version"].as_i64(), in_force["body"]["frequency"].as_str()),
            (Some(1), Some("daily")),
            "{b}"
        );
        // An officer of another organisation sees only the version in force.
        let other = srv.login("xs.officer").await;
        let (_, seen) = other.get_json(&format!("/api/v1/catalog/entries/{id}")).await;
        assert_eq!(seen["version"], 1, "{b}: {seen}");
        let (_, e2) = act(&reviewer, &e2, "approve", "").await;
        assert_eq!((e2["status"].as_str(), e2["published_version"].as_i64()), (Some("published"), Some(2)), "{b}");
        let (_, history) = officer.get_json(&format!("/api/v1/catalog/entries/{id}/history")).await;
        let states: Vec<&str> = history.as_array().unwrap().iter().map(|v| v["status"].as_str().unwrap()).collect();
        assert_eq!(states, ["superseded", "published"], "{b}");
        let (_, changes) = officer.get_json(&format!("/api/v1/catalog/entries/{id}/diff?from=1&to=2")).await;
        let paths: Vec<&str> = changes.as_array().unwrap().iter().map(|c| c["path"].as_str().unwrap()).collect();
        assert!(paths.contains(&"frequency") && paths.contains(&"fields[change_date].label"), "{b}: {paths:?}");
        assert!(!paths.iter().any(|p| p.starts_with("fields[ent_name]")), "{b}: unchanged fields are not listed");

        // District review (R-CAT-03): 西山区's organisation is outside 东湖区's region.
        let district = srv.login("dh.reviewer").await;
        let x = create(&other, body("西山区个体工商户登记信息", "西山区个体工商户的登记信息")).await;
        let (_, x) = act(&other, &x, "submit", "").await;
        let (_, queue) = district.get_json("/api/v1/catalog/review-queue").await;
        assert!(!queue.as_array().unwrap().iter().any(|q| q["entry_id"] == x["entry_id"]), "{b}");
        let (s, err) = act(&district, &x, "approve", "").await;
        assert_eq!((s, err["code"].as_str()), (StatusCode::FORBIDDEN, Some("catalog_not_your_region")), "{b}");
        let (_, queue) = reviewer.get_json("/api/v1/catalog/review-queue").await;
        assert!(queue.as_array().unwrap().iter().any(|q| q["entry_id"] == x["entry_id"]), "{b}: the city reviews all");
        let (s, _) = act(&reviewer, &x, "approve", "").await;
        assert_eq!(s, StatusCode::OK, "{b}");

        // Deleting: a draft goes, a published entry stays (R-CAT-06).
        let d = create(&officer, body("临时条目", "将被删除")).await;
        let (s, _) =
            officer.send(reqwest::Method::DELETE, &format!("/api/v1/catalog/entries/{}", d["entry_id"]), None).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
        let (s, _) = officer.send(reqwest::Method::DELETE, &format!("/api/v1/catalog/entries/{id}"), None).await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}");

        // Every step is in the audit log.
        let auditor = srv.login("auditor").await;
        let (_, ev) = auditor.get_json("/api/v1/audit/events?action=catalog.entry.approve&limit=100").await;
        assert!(ev.as_array().unwrap().len() >= 3, "{b}");

        // Published entries are found by a Chinese word of their summary, highlighted.
        let (s, found) = other.get_json("/api/v1/catalog/search?q=%E7%BB%8F%E8%90%A5%E8%8C%83%E5%9B%B4").await; // 经营范围
        assert_eq!(s, StatusCode::OK, "{b}: {found}");
        let hit = found["hits"].as_array().unwrap().iter().find(|h| h["entry_id"] == id).expect("found");
        assert!(hit["summary_html"].as_str().unwrap().contains("<b>"), "{b}: {hit}");
        assert!(found["facets"]["share"].as_array().is_some(), "{b}");
    }
}

/// covers: R-CAT-05, R-SHR-02, R-OPN-02 (derived catalogs are computed from the published
/// entries; the negative list shows provider, name, fields and legal basis; exports)
#[tokio::test]
async fn derived_catalogs_on_every_backend() {
    for backend in backends() {
        let srv = TestServer::start(&backend);
        let b = backend.name();
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let mut open = body("派生甲：企业年报公示信息", "企业年度报告公示");
        open["class"] = json!("theme");
        open["item"] = json!("08");
        let a = publish(&officer, &reviewer, open).await;
        let mut cond = body("派生乙：企业经营异常名录", "列入经营异常名录的企业");
        cond["share"] = json!({"share_type": "conditional", "modes": ["view"], "conditions": "用于信用监管", "legal_basis": "《企业信息公示暂行条例》"});
        cond["open"] = json!({"open_type": "not_open", "legal_basis": "《企业信息公示暂行条例》"});
        let c = publish(&officer, &reviewer, cond).await;
        let mut neg = body("派生丙：涉密企业名单", "涉及国家秘密的企业名单");
        neg["class"] = json!("base");
        neg["share"] =
            json!({"share_type": "not_shared", "modes": [], "legal_basis": "《中华人民共和国保守国家秘密法》"});
        neg["open"] = json!({"open_type": "not_open", "legal_basis": "《中华人民共和国保守国家秘密法》"});
        let n = publish(&officer, &reviewer, neg).await;
        // A draft is in no derived catalog.
        let draft = create(&officer, body("派生丁：草稿", "未发布")).await;

        let ids =
            |v: &Value| -> Vec<i64> { v.as_array().unwrap().iter().map(|r| r["entry_id"].as_i64().unwrap()).collect() };
        let get = |kind: &'static str| {
            let officer = &officer;
            async move { officer.get_json(&format!("/api/v1/catalog/derived/{kind}")).await.1 }
        };
        let (ai, ci, ni, di) = (
            a["entry_id"].as_i64().unwrap(),
            c["entry_id"].as_i64().unwrap(),
            n["entry_id"].as_i64().unwrap(),
            draft["entry_id"].as_i64().unwrap(),
        );
        let share = ids(&get("share").await);
        assert!(share.contains(&ai) && share.contains(&ci) && !share.contains(&ni) && !share.contains(&di), "{b}");
        let open_ids = ids(&get("open").await);
        assert!(open_ids.contains(&ai) && !open_ids.contains(&ci) && !open_ids.contains(&ni), "{b}");
        let negative = get("negative").await;
        let row =
            negative.as_array().unwrap().iter().find(|r| r["entry_id"] == ni).expect("on the negative list").clone();
        assert_eq!(row["provider"], "临江市市场监督管理局", "{b}");
        assert_eq!(row["share_legal_basis"], "《中华人民共和国保守国家秘密法》", "{b}");
        assert_eq!(row["fields"], json!(["统一社会信用代码", "企业名称"]), "{b}");
        assert!(!ids(&negative).contains(&ai), "{b}");
        assert!(ids(&get("base").await).contains(&ni) && !ids(&get("base").await).contains(&ai), "{b}");
        assert!(ids(&get("theme").await).contains(&ai), "{b}");
        assert!(ids(&get("department").await).contains(&ci), "{b}");
        let (s, _) = officer.get_json("/api/v1/catalog/derived/everything").await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
        // Filters: by provider and by name.
        let (_, by_name) = officer.get_json("/api/v1/catalog/derived/share?q=%E6%B4%BE%E7%94%9F%E7%94%B2").await; // 派生甲
        assert_eq!(ids(&by_name), vec![ai], "{b}");
        let (_, other_org) = officer.get_json("/api/v1/catalog/derived/share?org_id=999999").await;
        assert!(other_org.as_array().unwrap().is_empty(), "{b}");

        // Exports of a derived catalog, CSV and XLSX, in the template layout.
        let (s, csv) = officer.get("/api/v1/catalog/export?kind=negative&format=csv").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert!(csv.contains("派生丙：涉密企业名单") && !csv.contains("派生甲"), "{b}");
        assert!(csv.contains("资源名称") && csv.contains("信息项中文名"), "{b}");
        let bytes = officer.get_bytes("/api/v1/catalog/export?kind=open&format=xlsx").await;
        assert!(bytes.starts_with(b"PK\x03\x04"), "{b}: an XLSX (zip) file");
    }
}

/// covers: R-CAT-04 (a change event gives every affected entry a deadline of 15 working days,
/// counted on the official calendar; submitting an update meets it; the rest become overdue)
#[tokio::test]
async fn change_events_and_deadlines_on_every_backend() {
    for backend in backends() {
        let srv = TestServer::start(&backend);
        let b = backend.name();
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let e1 = publish(&officer, &reviewer, body("期限甲：食品经营许可", "食品经营许可信息")).await;
        let e2 = publish(&officer, &reviewer, body("期限乙：广告经营登记", "广告经营登记信息")).await;
        let (_, me) = officer.get_json("/api/v1/me").await;
        let org = me["org_id"].as_i64().unwrap();

        // 2026-09-17 + 15 working days: the Mid-Autumn and National Day holidays are skipped and
        // the make-up Sundays/Saturdays (09-20, 10-10) count, giving 2026-10-14.
        let (s, ev) = officer
            .post_json(
                "/api/v1/catalog/changes",
                json!({"org_id": org, "kind": "functions", "description": "机构改革，职能调整", "event_date": "2026-09-17"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {ev}");
        assert_eq!(ev["due_date"], "2026-10-14", "{b}");
        assert!(ev["affected"].as_i64().unwrap() >= 2, "{b}: {ev}");
        // The officer of another organisation cannot record changes for this one.
        let other = srv.login("xs.officer").await;
        let (s, _) = other
            .post_json(
                "/api/v1/catalog/changes",
                json!({"org_id": org, "kind": "functions", "description": "x", "event_date": "2026-09-17"}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        let (s, err) = officer
            .post_json(
                "/api/v1/catalog/changes",
                json!({"org_id": org, "kind": "mood", "description": "x", "event_date": "2026-09-17"}),
            )
            .await;
        assert_eq!((s, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_change_kind")), "{b}");
        let (s, err) = officer
            .post_json(
                "/api/v1/catalog/changes",
                json!({"org_id": org, "kind": "legal_basis", "description": "x", "event_date": "2026/09/17"}),
            )
            .await;
        assert_eq!((s, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_date")), "{b}");

        // The officer updates entry 1 and submits it: its deadline is met.
        let id1 = e1["entry_id"].as_i64().unwrap();
        let (_, v2) = officer
            .put_json(
                &format!("/api/v1/catalog/entries/{id1}"),
                json!({"body": body("期限甲：食品经营许可", "食品经营许可信息（按新职能更新）")}),
            )
            .await;
        let (s, _) = act(&officer, &v2, "submit", "").await;
        assert_eq!(s, StatusCode::OK, "{b}");

        // Today is after 2026-10-14 on this machine's clock only if the clock says so; the
        // overdue flag is computed against today, so compare with the clock rather than assume.
        let today = time::OffsetDateTime::now_utc().date().to_string();
        let (_, all) = reviewer.get_json(&format!("/api/v1/catalog/deadlines?org_id={org}")).await;
        let find = |id: i64| all.as_array().unwrap().iter().find(|d| d["entry_id"] == id).cloned().unwrap();
        let d1 = find(id1);
        let d2 = find(e2["entry_id"].as_i64().unwrap());
        assert_eq!(d1["due_date"], "2026-10-14");
        assert!(d1["met_at_micros"].is_i64(), "{b}: met by the submission: {d1}");
        assert_eq!(d1["overdue"], false, "{b}");
        assert!(d2["met_at_micros"].is_null(), "{b}");
        assert_eq!(d2["overdue"], json!(today.as_str() > "2026-10-14"), "{b}");
        let (_, overdue) = reviewer.get_json("/api/v1/catalog/deadlines?overdue=true").await;
        let overdue_ids: Vec<i64> =
            overdue.as_array().unwrap().iter().map(|d| d["entry_id"].as_i64().unwrap()).collect();
        assert!(!overdue_ids.contains(&id1), "{b}");
        assert_eq!(overdue_ids.contains(&e2["entry_id"].as_i64().unwrap()), today.as_str() > "2026-10-14", "{b}");
        // The entry itself carries its open deadline.
        let (_, e2now) = officer.get_json(&format!("/api/v1/catalog/entries/{}", e2["entry_id"])).await;
        assert_eq!(e2now["update_due"], "2026-10-14", "{b}");
    }
}

/// covers: R-CAT-08 (systems with owner, funding, status and data lists; report of data not yet
/// cataloged or not yet aggregated)
#[tokio::test]
async fn system_registry_on_every_backend() {
    for backend in backends() {
        let srv = TestServer::start(&backend);
        let b = backend.name();
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let published = publish(&officer, &reviewer, body("系统甲：许可证信息", "许可证")).await;
        let loaded = publish(&officer, &reviewer, body("系统丁：年报信息", "年报")).await;
        let csv = format!("统一社会信用代码,企业名称\n{},临江甲公司\n", crate::datasets::credit_code(3));
        let (s, r) = officer
            .post_bytes(&format!("/api/v1/datasets/{}/loads?filename=a.csv", loaded["entry_id"]), csv.into_bytes())
            .await;
        assert_eq!((s, r["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{b}: {r}");
        let draft = create(&officer, body("系统乙：检查记录", "检查记录")).await;
        let (s, sys) = officer
            .post_json(
                "/api/v1/catalog/systems",
                json!({"name": "市场监管综合业务系统", "owner": "临江市市场监督管理局", "funding": "市财政 2024 年信息化专项", "status": "运行中",
                       "items": [{"name": "许可证", "entry_id": published["entry_id"]}, {"name": "检查记录", "entry_id": draft["entry_id"]},
                                 {"name": "投诉举报"}, {"name": "年报", "entry_id": loaded["entry_id"]}]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {sys}");
        let (s, err) = officer
            .post_json("/api/v1/catalog/systems", json!({"name": "x", "items": [{"name": "y", "entry_id": 999999}]}))
            .await;
        assert_eq!((s, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_entry_link")), "{b}");
        let (_, report) = reviewer.get_json("/api/v1/catalog/systems/report").await;
        let row = report.as_array().unwrap().iter().find(|r| r["system"]["id"] == sys["id"]).unwrap().clone();
        assert_eq!(row["uncataloged"], json!(["投诉举报"]), "{b}");
        assert_eq!(row["unpublished"], json!(["检查记录"]), "{b}");
        // Read from the lake: the loaded dataset is aggregated, the other published one is not.
        assert_eq!(row["not_aggregated"], json!(["许可证"]), "{b}");
        // An entry may name its source system only if it is registered for its organisation.
        let mut e = body("系统丙", "来源系统");
        e["source_system_id"] = sys["id"].clone();
        create(&officer, e.clone()).await;
        e["source_system_id"] = json!(424242);
        let (s, err) = officer.post_json("/api/v1/catalog/entries", json!({"body": e})).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        assert_eq!(detail_codes(&err), ["unknown_source_system"], "{b}");
    }
}

/// covers: R-CAT-02, R-CAT-06 (an import with errors reports every error with row and column and
/// changes nothing; a clean one imports every entry as drafts; round trip with export)
#[tokio::test]
async fn import_template_on_every_backend() {
    for backend in backends() {
        let srv = TestServer::start(&backend);
        let b = backend.name();
        let officer = srv.login("officer").await;
        let (_, before) = officer.get_json("/api/v1/catalog/entries").await;
        let before = before.as_array().unwrap().len();
        let template = officer.get("/api/v1/catalog/template?format=csv").await.1;
        let header = template.trim_start_matches('\u{feff}').lines().next().unwrap().to_string();
        let cols: Vec<&str> = header.split(',').collect();
        let row = |vals: &[(&str, &str)]| -> String {
            cols.iter()
                .map(|c| vals.iter().find(|(k, _)| k == c).map(|(_, v)| v.to_string()).unwrap_or_default())
                .collect::<Vec<_>>()
                .join(",")
        };
        let entry = |name: &'static str, share: &'static str, basis: &'static str| {
            vec![
                ("资源名称", name),
                ("资源摘要", "导入测试"),
                ("资源分类", "部门"),
                ("类目", "市场监管"),
                ("资源格式", "数据库"),
                ("更新周期", "月"),
                ("共享类型", share),
                ("共享方式", "查询"),
                ("共享依据", basis),
                ("开放类型", "不予开放"),
                ("开放依据", "内部管理数据"),
            ]
        };
        let field = |name: &'static str, label: &'static str, grade: &'static str| {
            vec![("信息项名称", name), ("信息项中文名", label), ("数据类型", "字符型"), ("分级", grade)]
        };
        let join = |a: Vec<(&'static str, &'static str)>, f: Vec<(&'static str, &'static str)>| [a, f].concat();
        // Three entries; the second has a bad grade on its second field (row 5), the third is
        // conditional without conditions (row 6) and has an unknown data type (row 6).
        let bad = [
            header.clone(),
            row(&join(entry("导入甲", "无条件共享", ""), field("a1", "甲一", "一级"))),
            row(&field("a2", "甲二", "一级")),
            row(&join(entry("导入乙", "无条件共享", ""), field("b1", "乙一", "二级"))),
            row(&field("b2", "乙二", "九级")),
            row(&[
                entry("导入丙", "有条件共享", "《条例》"),
                vec![("信息项名称", "c1"), ("信息项中文名", "丙一"), ("数据类型", "神秘型"), ("分级", "一级")],
            ]
            .concat()),
        ]
        .join("\n");
        let (s, err) = officer.post_bytes("/api/v1/catalog/import", bad.into_bytes()).await;
        assert_eq!((s, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("import_invalid")), "{b}: {err}");
        let got: Vec<(i64, String)> = err["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["row"].as_i64().unwrap(), d["column"].as_str().unwrap().to_string()))
            .collect();
        assert!(got.contains(&(5, "分级".into())), "{b}: {got:?}");
        assert!(got.contains(&(6, "数据类型".into())), "{b}: {got:?}");
        let (_, after) = officer.get_json("/api/v1/catalog/entries").await;
        assert_eq!(after.as_array().unwrap().len(), before, "{b}: a failed import changes nothing");

        // Fixed, the same file imports all three entries as drafts.
        let good = [
            header.clone(),
            row(&join(entry("导入甲", "无条件共享", ""), field("a1", "甲一", "一级"))),
            row(&field("a2", "甲二", "一级")),
            row(&join(entry("导入乙", "无条件共享", ""), field("b1", "乙一", "二级"))),
            row(&field("b2", "乙二", "二级")),
            row(&join(
                [entry("导入丙", "有条件共享", "《条例》"), vec![("共享条件", "仅用于监管")]].concat(),
                field("c1", "丙一", "一级"),
            )),
        ]
        .join("\n");
        let (s, res) = officer.post_bytes("/api/v1/catalog/import", good.into_bytes()).await;
        assert_eq!(s, StatusCode::OK, "{b}: {res}");
        assert_eq!((res["created"].as_i64(), res["codes"].as_array().unwrap().len()), (Some(3), 3), "{b}");
        let (_, after) = officer.get_json("/api/v1/catalog/entries").await;
        assert_eq!(after.as_array().unwrap().len(), before + 3, "{b}");
        let b2 = after.as_array().unwrap().iter().find(|e| e["body"]["name"] == "导入乙").unwrap().clone();
        assert_eq!(b2["body"]["fields"].as_array().unwrap().len(), 2, "{b}");
        assert_eq!(b2["status"], "draft", "{b}");

        // Round trip: export the organisation's entries as XLSX and import them back as updates.
        let xlsx = officer
            .get_bytes(&format!("/api/v1/catalog/export?view=latest&status=draft&format=xlsx&org_id={}", b2["org_id"]))
            .await;
        let drafts = after.as_array().unwrap().iter().filter(|e| e["status"] == "draft").count() as i64;
        let (s, res) = officer.post_bytes("/api/v1/catalog/import", xlsx).await;
        assert_eq!(s, StatusCode::OK, "{b}: {res}");
        assert_eq!((res["created"].as_i64(), res["updated"].as_i64()), (Some(0), Some(drafts)), "{b}");
    }
}

/// covers: R-CAT-01, R-CAT-04, R-CAT-05 (the demo catalog has every share type, open type and
/// grade, entries in every working state and overdue entries; `pdp catalog reindex` rebuilds
/// the search index from the published catalog)
#[tokio::test]
async fn demo_catalog_and_reindex() {
    let mut srv = TestServer::start(&crate::server::Backend::Sqlite);
    let admin = srv.login("admin").await;
    let (_, latest) = admin.get_json("/api/v1/catalog/entries?limit=5000").await;
    let latest = latest.as_array().unwrap();
    assert!((180..=260).contains(&latest.len()), "about 200 demo entries: {}", latest.len());
    let states: std::collections::BTreeSet<&str> = latest.iter().map(|e| e["status"].as_str().unwrap()).collect();
    for s in ["draft", "submitted", "rejected", "published"] {
        assert!(states.contains(s), "demo has {s} entries: {states:?}");
    }
    let (_, published) = admin.get_json("/api/v1/catalog/entries?view=published&limit=5000").await;
    let published = published.as_array().unwrap();
    let values = |path: &[&str]| -> std::collections::BTreeSet<String> {
        published
            .iter()
            .map(|e| path.iter().fold(&e["body"], |v, k| &v[*k]).as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(values(&["share", "share_type"]).len(), 3, "every share type");
    assert_eq!(values(&["open", "open_type"]).len(), 3, "every open type");
    let grades: std::collections::BTreeSet<String> = published
        .iter()
        .flat_map(|e| e["body"]["fields"].as_array().unwrap().iter().map(|f| f["grade"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(grades.len(), 5, "every grade: {grades:?}");
    let (_, overdue) = admin.get_json("/api/v1/catalog/deadlines?overdue=true").await;
    assert!(!overdue.as_array().unwrap().is_empty(), "a few overdue entries");

    // The index has exactly the published catalog; a rebuild from the command line agrees.
    let (_, all) = admin.get_json("/api/v1/catalog/search?q=%E4%BF%A1%E6%81%AF&limit=1").await; // 信息
    assert!(all["total"].as_u64().unwrap() > 100, "{}", all["total"]);
    srv.stop();
    let out = srv.pdp(&["catalog", "reindex"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("{} published entries", published.len())), "{text}");
}

/// covers: R-CAT-06 (a published entry is withdrawn through review: the organisation asks with a
/// reason and is told the consequences, a reviewer in scope who did not ask decides; approval
/// takes the entry out of the published catalog, revokes its grants and refuses its open
/// requests), R-SEC-03 (each step audited)
#[tokio::test]
async fn published_entries_are_withdrawn_through_review_on_every_backend() {
    use crate::sharing::{load, publish, request};
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let district = srv.login("dh.reviewer").await;
        let approver = srv.login("approver").await;
        let xs = srv.login("xs.officer").await;
        let auditor = srv.login("auditor").await;
        let entry = publish(&officer, &reviewer, "人员信息（撤销发布测试）", "conditional").await;
        load(&officer, entry).await;
        let (_, r) = xs.post_json("/api/v1/share/requests", request(entry, "view", &["id_no", "person_name"])).await;
        let granted = r["id"].as_i64().unwrap();
        let (s, r) = approver.post_json(&format!("/api/v1/share/requests/{granted}/approve"), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        let grant = r["grant"]["id"].as_i64().unwrap();
        let (_, r) = xs.post_json("/api/v1/share/requests", request(entry, "verify", &["id_no"])).await;
        assert_eq!(r["status"], "pending", "{b}: {r}");
        let pending = r["id"].as_i64().unwrap();

        // The entry's page offers its organisation the request.
        let page = format!("/catalog/entries/{entry}");
        let (_, html) = officer.get(&page).await;
        assert!(html.contains("withdrawal-form"), "{b}");
        // Only the providing organisation asks, with a reason; the answer states the consequences.
        let url = format!("/api/v1/catalog/entries/{entry}/withdrawal");
        let (s, e) = xs.post_json(&url, json!({"reason": "x"})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: {e}");
        let (s, e) = officer.post_json(&url, json!({"reason": " "})).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("reason_required")), "{b}");
        let (s, w) = officer.post_json(&url, json!({"reason": "法定依据已废止"})).await;
        assert_eq!((s, w["status"].as_str()), (StatusCode::CREATED, Some("pending")), "{b}: {w}");
        assert_eq!(w["effects"], json!({"revoked_grants": [grant], "refused_requests": [pending]}), "{b}: {w}");
        let (s, e) = officer.post_json(&url, json!({"reason": "再次申请"})).await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}: one pending request per entry: {e}");
        let wid = w["id"].as_i64().unwrap();
        // Still published and serving until a reviewer decides: a counter looks a record up on
        // the grant's page, the identifier posted rather than put in the URL (R-SEC-05).
        let (s, _) = xs.get_json(&format!("/api/v1/share/grants/{grant}")).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let person = crate::sharing::people()[0].0.clone();
        let (s, html) = xs.post_form(&format!("/share/grants/{grant}/records"), &[("key", &person)], true).await;
        assert_eq!(s, StatusCode::OK, "{b}: {html}");
        assert!(html.contains("id=\"records\"") && html.contains(&person[..6]) && !html.contains(&person), "{b}");

        // The pages show the pending request and its consequences; the form to decide only to a
        // reviewer in scope.
        let (_, html) = officer.get(&page).await;
        assert!(html.contains("withdrawal-pending") && !html.contains("withdrawal-form"), "{b}");
        assert!(!html.contains(&format!("/catalog/withdrawals/{wid}/approve")), "{b}: the officer does not decide");
        let (_, html) = reviewer.get(&page).await;
        assert!(html.contains(&format!("/catalog/withdrawals/{wid}/approve")), "{b}");
        let (_, html) = district.get(&page).await;
        assert!(!html.contains(&format!("/catalog/withdrawals/{wid}/approve")), "{b}: out of the district's scope");

        // The district's reviewer does not review the city's organisation.
        let decide = format!("/api/v1/catalog/withdrawals/{wid}/approve");
        let (s, e) = district.post_json(&decide, json!({"reason": "同意"})).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("catalog_not_your_region")), "{b}: {e}");
        let (s, d) = reviewer.post_json(&decide, json!({"reason": "依据已废止，同意撤销"})).await;
        assert_eq!((s, d["status"].as_str()), (StatusCode::OK, Some("approved")), "{b}: {d}");
        assert_eq!(d["effects"], json!({"revoked_grants": [grant], "refused_requests": [pending]}), "{b}: {d}");
        let (s, e) = reviewer.post_json(&decide, json!({"reason": "again"})).await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}: decided once: {e}");

        // Applied: out of the published catalog, the grant revoked, the request refused.
        let (_, published) = officer.get_json("/api/v1/catalog/entries?view=published&limit=5000").await;
        assert!(!published.as_array().unwrap().iter().any(|e| e["entry_id"] == entry), "{b}");
        let (s, e) = xs
            .post_json(&format!("/api/v1/share/grants/{grant}/records"), json!({"key": crate::sharing::people()[0].0}))
            .await;
        assert!(s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND, "{b}: {s} {e}");
        let (_, g) = xs.get_json(&format!("/api/v1/share/grants/{grant}")).await;
        assert_eq!(g["status"], "revoked", "{b}: {g}");
        let (_, r) = xs.get_json(&format!("/api/v1/share/requests/{pending}")).await;
        assert_eq!(r["status"], "refused", "{b}: {r}");
        for action in ["catalog.entry.withdrawal.request", "catalog.entry.withdrawal.approve"] {
            assert_eq!(crate::governance::audit_count(&auditor, action).await, 1, "{b}: {action}");
        }
    }
}
