//! Work across datasets on every backend: authoritative sources and the cross-check, duplicate
//! collection, base views and the subject page, district return, and objections with their
//! working-day deadline, escalation and corrections.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;

use crate::server::{Backend, Client, TestServer, backends};

/// A person dataset keyed by citizen ID, as the police or a bureau would catalog it.
fn person_body(name: &str) -> Value {
    json!({
        "name": name,
        "summary": "人员基本信息，供一数一源测试使用",
        "class": "base",
        "item": "01",
        "format": "database",
        "frequency": "daily",
        "identifier_field": "id_no",
        "fields": [
            {"name": "id_no", "label": "公民身份号码", "data_type": "text", "grade": "l3", "personal": true,
             "identifier": "citizen_id", "mask": "id_number", "purpose": "唯一识别", "rules": {"key": true}},
            {"name": "person_name", "label": "姓名", "data_type": "text", "grade": "l2", "personal": true,
             "mask": "name", "purpose": "核对身份", "rules": {"required": true}},
            {"name": "address", "label": "住址", "data_type": "text", "grade": "l3", "personal": true,
             "mask": "address", "purpose": "属地管辖"}
        ],
        "share": {"share_type": "conditional", "conditions": "依法履职", "modes": ["verify", "view"],
                  "legal_basis": "《临江市公共数据管理办法》第十八条"},
        "open": {"open_type": "not_open", "legal_basis": "涉及个人信息"}
    })
}

pub(crate) fn id(area: &str, n: u32) -> String {
    pdp_domain::ids::complete_citizen_id(&format!("{area}19800101{n:03}")).expect("valid prefix")
}

async fn publish(officer: &Client, reviewer: &Client, name: &str) -> (i64, String) {
    let (s, e) = officer.post_json("/api/v1/catalog/entries", json!({ "body": person_body(name) })).await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let id = e["entry_id"].as_i64().unwrap();
    let (s, e) = officer.post_json(&format!("/api/v1/catalog/entries/{id}/submit"), json!({"version": 1})).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, e) = reviewer.post_json(&format!("/api/v1/catalog/entries/{id}/approve"), json!({"version": 1})).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    (id, e["code"].as_str().unwrap().to_string())
}

async fn upload(officer: &Client, id: i64, mode: &str, rows: &[[&str; 3]]) -> Value {
    let mut csv = String::from("id_no,person_name,address\n");
    for r in rows {
        csv.push_str(&r.join(","));
        csv.push('\n');
    }
    let (s, r) =
        officer.post_bytes(&format!("/api/v1/datasets/{id}/loads?format=csv&mode={mode}"), csv.into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    r
}

pub(crate) async fn audit_count(auditor: &Client, action: &str) -> usize {
    let (_, ev) = auditor.get_json(&format!("/api/v1/audit/events?action={action}&limit=500")).await;
    ev.as_array().map(|a| a.len()).unwrap_or(0)
}

/// covers: R-AGG-03 (authoritative sources, cross-check conflicts with both values and sources,
/// duplicate collection), R-AGG-06 (base view from the sources with source and version per
/// attribute, its key list prepared by a source's load, subject page restricted and audited),
/// R-AGG-07 (district return by the area code in the ID, refreshed with each load, readable by
/// the district only), R-SEC-03
#[tokio::test]
async fn sources_crosscheck_base_views_and_district_return_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let officer = srv.login("officer").await;
        let xs = srv.login("xs.officer").await;
        let reviewer = srv.login("reviewer").await;
        let dh = srv.login("dh.reviewer").await;
        let auditor = srv.login("auditor").await;
        let (a_id, a_code) = publish(&officer, &reviewer, "人员信息（权威源测试）").await;
        let (b_id, b_code) = publish(&xs, &reviewer, "人员信息（比对测试）").await;
        let (p1, p2, p3, p4, p5, p6) =
            (id("350102", 1), id("350102", 2), id("350102", 3), id("359903", 4), id("359903", 5), id("350102", 6));
        let a = upload(
            &officer,
            a_id,
            "full",
            &[
                [&p1, "张三", "东湖路1号"],
                [&p2, "李四", "东湖路2号"],
                [&p3, "王五", "东湖路3号"],
                [&p4, "赵六", "西山路4号"],
                [&p5, "钱七", "西山路5号"],
            ],
        )
        .await;
        let a_version = a["version"].as_i64().unwrap();
        upload(
            &xs,
            b_id,
            "full",
            &[
                [&p1, "张三", "东湖路1号"],
                [&p2, "李肆", "东湖路2号"],
                [&p3, "王五", "南港路9号"],
                [&p4, "赵六", ""],
                [&p6, "孙八", "北岭街6号"],
            ],
        )
        .await;

        // Only the city's authority names sources, and only elements the dataset has.
        for el in ["person_name", "address"] {
            let (s, r) = reviewer
                .post_json(
                    "/api/v1/sources",
                    json!({"subject": "person", "element": el, "entry_id": a_id, "note": "测试"}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{b}: {r}");
            assert_eq!(r["dataset"], a_code.as_str());
        }
        let (s, r) =
            dh.post_json("/api/v1/sources", json!({"subject": "person", "element": "address", "entry_id": b_id})).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_city_authority")), "{b}: {r}");
        let (s, _) = officer
            .post_json("/api/v1/sources", json!({"subject": "person", "element": "address", "entry_id": b_id}))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        let (s, r) = reviewer
            .post_json("/api/v1/sources", json!({"subject": "person", "element": "id_no", "entry_id": a_id}))
            .await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("source_no_element")), "{b}: {r}");
        let (s, r) = reviewer
            .post_json("/api/v1/sources", json!({"subject": "legal_entity", "element": "address", "entry_id": a_id}))
            .await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("source_wrong_subject")), "{b}: {r}");

        // The cross-check finds exactly the two disagreements between A and B; an empty value
        // is not a conflict.
        let (s, r) = reviewer.post_json("/api/v1/crosscheck", json!({})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        assert!(r["run"]["compared"].as_i64().unwrap() >= 8, "{b}: {r}");
        let (_, r) = reviewer.get_json("/api/v1/crosscheck?limit=500").await;
        let mine: Vec<&Value> =
            r["conflicts"].as_array().unwrap().iter().filter(|c| c["other_dataset"] == b_code.as_str()).collect();
        assert_eq!(mine.len(), 2, "{b}: {mine:?}");
        let name = mine.iter().find(|c| c["element"] == "person_name").expect("name conflict");
        assert_eq!(
            (&name["key"], &name["source_value"], &name["other_value"], &name["source_dataset"]),
            (&json!(p2), &json!("李四"), &json!("李肆"), &json!(a_code)),
            "{b}"
        );
        assert_eq!(name["source_version"], a_version);
        let addr = mine.iter().find(|c| c["element"] == "address").expect("address conflict");
        assert_eq!((&addr["key"], &addr["other_value"]), (&json!(p3), &json!("南港路9号")), "{b}");

        // Duplicate collection: both organisations collect person_name; A is the source.
        let (_, dups) = reviewer.get_json("/api/v1/catalog/duplicates").await;
        let d = dups
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["subject"] == "person" && d["element"] == "person_name")
            .expect("person_name is collected twice");
        assert_eq!(d["authoritative"], a_code.as_str(), "{b}");
        assert_eq!(d["collectors"][0]["dataset"], a_code.as_str(), "{b}");
        assert!(d["collectors"].as_array().unwrap().iter().any(|c| c["dataset"] == b_code.as_str()));
        assert!(d["organisations"].as_u64().unwrap() >= 2);

        // The base view: the keys of the sources, each attribute from its source and version.
        let (s, v) = reviewer.get_json("/api/v1/base/person?prefix=350102").await;
        assert_eq!(s, StatusCode::OK, "{b}: {v}");
        assert_eq!(v["total"], 3, "{b}: p6 is only in B, which is no source: {v}");
        let attrs = v["attributes"].as_array().unwrap();
        let name_col = attrs.iter().position(|a| a["element"] == "person_name").unwrap();
        assert_eq!(attrs[name_col]["dataset"], a_code.as_str());
        assert_eq!(attrs[name_col]["version"], a_version);
        let row2 = v["rows"].as_array().unwrap().iter().find(|r| r["key"] == p2.as_str()).unwrap();
        assert_eq!(row2["values"][name_col], "李四", "{b}");
        let (s, _) = officer.get_json("/api/v1/base/person").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: the base view is for the authority");
        let (s, r) = reviewer.get_json("/api/v1/base/person?prefix=35%27%20OR%201%3D1").await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("base_bad_prefix")), "{b}");

        // The subject page shows the person in both datasets with the conflict marked.
        let (s, p) = reviewer.post_json("/api/v1/subjects/person/lookup", json!({"key": p2})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {p}");
        assert_eq!(p["records"].as_array().unwrap().len(), 2, "{b}: {p}");
        let names: Vec<&Value> =
            p["values"].as_array().unwrap().iter().filter(|v| v["element"] == "person_name").collect();
        assert_eq!(names.len(), 2);
        assert!(names.iter().all(|v| v["conflict"] == true), "{b}: {names:?}");
        assert!(names.iter().any(|v| v["dataset"] == a_code.as_str() && v["authoritative"] == true));
        let (s, r) = reviewer.post_json("/api/v1/subjects/person/lookup", json!({"key": "12345"})).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("subject_bad_key")), "{b}");
        let (s, _) = officer.post_json("/api/v1/subjects/person/lookup", json!({"key": p2})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        assert!(audit_count(&auditor, "subject.view").await >= 1, "{b}");
        // Identifiers stay out of URLs (R-SEC-05): there is no GET with the ID number, and the
        // base view's keys open the subject page by posting it.
        let (s, _) = reviewer.get_json(&format!("/api/v1/subjects/person/{p2}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
        let (s, html) = reviewer.get("/base/person?prefix=350102").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert!(html.contains(&p2) && !html.contains(&format!("/{p2}")) && !html.contains(&format!("={p2}")), "{b}");
        assert!(audit_count(&auditor, "base.view").await >= 1, "{b}");
        assert!(audit_count(&auditor, "crosscheck.run").await >= 1, "{b}");
        assert!(audit_count(&auditor, "source.assign").await >= 2, "{b}");

        // District return: A's rows about 西山区 go to 西山区's organisations, and follow loads.
        let (_, regions) = reviewer.get_json("/api/v1/regions").await;
        let xishan =
            regions.as_array().unwrap().iter().find(|r| r["code"] == "359903").unwrap()["id"].as_i64().unwrap();
        let body = json!({"entry_id": a_id, "region_id": xishan, "method": "area_code"});
        let (s, r) = dh.post_json("/api/v1/returns", body.clone()).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_city_authority")), "{b}");
        let (s, r) = reviewer.post_json("/api/v1/returns", body).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        assert_eq!(
            (r["refreshed_rows"].as_i64(), r["refreshed_version"].as_i64()),
            (Some(2), Some(a_version)),
            "{b}: {r}"
        );
        let rid = r["id"].as_i64().unwrap();
        let (s, rows) = xs.get_json(&format!("/api/v1/returns/{rid}/data")).await;
        assert_eq!(s, StatusCode::OK, "{b}: {rows}");
        assert_eq!(rows["total"], 2);
        assert!(
            rows["rows"].as_array().unwrap().iter().all(|r| r[0].as_str().unwrap().starts_with("359903")),
            "{b}: {rows}"
        );
        // A district organisation gets the rows with the catalog's masking (R-SEC-05): the ID
        // number keeps its first 6 and last 4, the name its first character.
        assert!(
            rows["rows"].as_array().unwrap().iter().all(|r| r[0].as_str().unwrap().contains("********")
                && r[1].as_str().unwrap().chars().skip(1).all(|c| c == '*')),
            "{b}: {rows}"
        );
        let (s, r) = officer.get_json(&format!("/api/v1/returns/{rid}/data")).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_in_district")), "{b}");
        let p7 = id("359903", 7);
        let lists = || {
            std::fs::read_dir(srv.dir.path().join("lake").join("_pdp_base"))
                .map(|d| d.flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".keys")).count())
                .unwrap_or(0)
        };
        let before = lists();
        let a2 = upload(&officer, a_id, "upsert", &[[&p7, "周九", "西山路7号"]]).await;
        // A load of a source prepares the base view's key list of the new version itself.
        assert_eq!(lists(), before + 1, "{b}");
        let (_, list) = xs.get_json("/api/v1/returns").await;
        let mine = list.as_array().unwrap().iter().find(|r| r["id"] == rid).expect("the district sees its return");
        assert_eq!(
            (mine["refreshed_version"].clone(), mine["refreshed_rows"].clone()),
            (a2["version"].clone(), json!(3)),
            "{b}"
        );
        let (_, rows) = xs.get_json(&format!("/api/v1/returns/{rid}/data")).await;
        assert_eq!(rows["total"], 3, "{b}");
        assert!(audit_count(&auditor, "return.read").await >= 2, "{b}");
    }
}

/// Runs statements against the server's database directly: the test's way of letting time pass.
pub(crate) async fn exec(srv: &TestServer, sql: &str) {
    match &srv.backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", srv.dir.path().join("pdp.db").display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut c).await.unwrap();
        }
        Backend::Postgres(url) => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("SET search_path TO {}", srv.schema)))
                .execute(&mut c)
                .await
                .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut c).await.unwrap();
        }
    }
}

/// Reads one integer straight from the server's database.
pub(crate) async fn query_i64(srv: &TestServer, sql: &str) -> i64 {
    use sqlx::Row;
    match &srv.backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", srv.dir.path().join("pdp.db").display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(&mut c).await.unwrap().get(0)
        }
        Backend::Postgres(url) => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("SET search_path TO {}", srv.schema)))
                .execute(&mut c)
                .await
                .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(&mut c).await.unwrap().get(0)
        }
    }
}

/// Binds `who`'s public account to the citizen ID `key`, as the security administrator does
/// after checking the holder's identity.
pub(crate) async fn bind(security: &Client, who: &Client, key: &str) -> Value {
    let (_, me) = who.get_json("/api/v1/me").await;
    let uid = me["user"]["id"].as_i64().unwrap_or_else(|| panic!("{me}"));
    let (s, u) = security.put_json(&format!("/api/v1/users/{uid}/subject"), json!({"kind": "person", "id": key})).await;
    assert_eq!(s, StatusCode::OK, "{u}");
    u
}

pub(crate) fn today() -> time::Date {
    time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap()).date()
}

/// covers: R-OBJ-01, R-OBJ-02, R-OBJ-03, R-SEC-03 (a subject objects with evidence; the value is
/// marked disputed where it is served; the provider answers within 10 working days by
/// correcting (a new version naming the objection) or confirming; an overdue objection
/// escalates to the authority; the subject sees the outcome; every step audited)
#[tokio::test]
async fn objections_with_working_day_deadlines_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let officer = srv.login("officer").await;
        let xs = srv.login("xs.officer").await;
        let reviewer = srv.login("reviewer").await;
        let citizen = srv.login("citizen").await;
        let auditor = srv.login("auditor").await;
        let security = srv.login("security").await;
        let (a_id, a_code) = publish(&officer, &reviewer, "人员信息（异议测试）").await;
        let (p1, p2) = (id("350102", 11), id("350102", 12));
        upload(&officer, a_id, "full", &[[&p1, "张三", "东湖路1号"], [&p2, "李四", "东湖路2号"]]).await;
        bind(&security, &citizen, &p1).await;

        let raise = json!({"entry_id": a_id, "key": p1, "field": "address", "claimed_value": "望湖路8号",
                           "reason": "本人已搬迁，住址未更新"});
        // Past the last holiday table the deadline is still given, provisional (weekdays alone).
        let expected = pdp_domain::subject::objection_due(&pdp_domain::calendar::WorkCalendar::official(), today())
            .expect("a deadline is always given from today");
        let due = expected.due;
        let (s, o) = citizen.post_json("/api/v1/objections", raise.clone()).await;
        assert_eq!(s, StatusCode::OK, "{b}: {o}");
        assert_eq!(o["due_provisional"], expected.provisional, "{b}: {o}");
        assert_eq!(o["status"], "open");
        assert_eq!(o["raiser_kind"], "subject");
        assert_eq!(o["due_date"], due.format(pdp_domain::calendar::ISO_DATE).unwrap(), "{b}: 10 working days");
        assert_eq!(o["current_value"], "", "{b}: the subject is not shown the provider's data");
        let oid = o["id"].as_i64().unwrap();
        let (s, r) = citizen.post_json("/api/v1/objections", raise).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::CONFLICT, Some("objection_exists")), "{b}");
        let (s, r) = citizen
            .post_json(
                "/api/v1/objections",
                json!({"entry_id": a_id, "key": id("350102", 99), "field": "address", "reason": "x"}),
            )
            .await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::FORBIDDEN, Some("objection_not_own_record")), "{b}");
        let (s, r) = citizen
            .post_json("/api/v1/objections", json!({"entry_id": a_id, "key": p1, "field": "id_no", "reason": "x"}))
            .await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("objection_bad_field")), "{b}");

        // Evidence: the raiser attaches it; the provider can read it, other organisations cannot.
        let (s, _) = citizen
            .send_bytes(
                Method::PUT,
                &format!("/api/v1/objections/{oid}/evidence?filename=租赁合同.pdf"),
                b"%PDF-1.4 lease".to_vec(),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
        assert_eq!(officer.get_bytes(&format!("/api/v1/objections/{oid}/evidence")).await, b"%PDF-1.4 lease".to_vec());
        let (s, _) = xs.get(&format!("/api/v1/objections/{oid}/evidence")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}");

        // The disputed value is marked where it is served, and business goes on with it.
        let (_, rows) = officer.get_json(&format!("/api/v1/datasets/{a_id}/data?column=id_no&value={p1}")).await;
        assert_eq!(rows["disputed"], json!([{"row": 0, "field": "address"}]), "{b}: {rows}");
        assert_eq!(rows["rows"][0][2], "东湖路1号");
        let (_, p) = reviewer.post_json("/api/v1/subjects/person/lookup", json!({"key": p1})).await;
        assert!(
            p["values"].as_array().unwrap().iter().any(|v| v["element"] == "address" && v["disputed"] == true),
            "{b}: {p}"
        );

        // Only the provider answers, with a reason.
        let (s, _) = xs
            .post_json(&format!("/api/v1/objections/{oid}/answer"), json!({"decision": "confirmed", "response": "x"}))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
        let (s, _) = citizen
            .post_json(&format!("/api/v1/objections/{oid}/answer"), json!({"decision": "confirmed", "response": "x"}))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        let (s, r) = officer
            .post_json(&format!("/api/v1/objections/{oid}/answer"), json!({"decision": "corrected", "response": " "}))
            .await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("objection_response_required")), "{b}");

        // Correcting makes a new version that names the objection.
        let (s, r) = officer
            .post_json(
                &format!("/api/v1/objections/{oid}/answer"),
                json!({"decision": "corrected", "response": "经核实已更正住址"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        assert_eq!(r["status"], "corrected");
        let v = r["correction_version"].as_i64().expect("a correction version");
        let (_, loads) = officer.get_json(&format!("/api/v1/datasets/{a_id}/loads")).await;
        let load = loads.as_array().unwrap().iter().find(|l| l["version"] == v).expect("the correction is a load");
        assert_eq!(load["source"], format!("objection:{oid}"), "{b}");
        let (_, rows) = officer.get_json(&format!("/api/v1/datasets/{a_id}/data?column=id_no&value={p1}")).await;
        assert_eq!(
            (rows["rows"][0][1].clone(), rows["rows"][0][2].clone()),
            (json!("张三"), json!("望湖路8号")),
            "{b}"
        );
        assert_eq!(rows["disputed"], json!([]), "{b}");
        let (_, rows) = officer.get_json(&format!("/api/v1/datasets/{a_id}/data?column=id_no&value={p2}")).await;
        assert_eq!(rows["total"], 1, "{b}: the upsert kept the other record");
        let (s, r) = officer
            .post_json(&format!("/api/v1/objections/{oid}/answer"), json!({"decision": "confirmed", "response": "x"}))
            .await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::CONFLICT, Some("objection_closed")), "{b}");
        // The subject sees the outcome.
        let (_, mine) = citizen.get_json("/api/v1/objections").await;
        let m = mine.as_array().unwrap().iter().find(|o| o["id"] == oid).unwrap();
        assert_eq!(
            (m["status"].clone(), m["response"].clone()),
            (json!("corrected"), json!("经核实已更正住址")),
            "{b}"
        );

        // A second objection, by a data user, goes unanswered past its due date: it escalates
        // to the authority.
        let (s, o2) = xs
            .post_json("/api/v1/objections", json!({"entry_id": a_id, "key": p2, "field": "person_name", "claimed_value": "李思", "reason": "姓名有误"}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {o2}");
        let o2 = o2["id"].as_i64().unwrap();
        let (_, esc) = reviewer.get_json("/api/v1/objections?escalated=true").await;
        assert!(!esc.as_array().unwrap().iter().any(|o| o["id"] == o2), "{b}: not yet due");
        exec(&srv, &format!("UPDATE objections SET due_date = '2026-01-05' WHERE id = {o2}")).await;
        let (_, esc) = reviewer.get_json("/api/v1/objections?escalated=true").await;
        let e = esc.as_array().unwrap().iter().find(|o| o["id"] == o2).expect("escalated to the authority");
        assert_eq!(e["overdue"], true, "{b}");
        assert_eq!(audit_count(&auditor, "objection.escalate").await, 1, "{b}: escalated once");
        let (_, _) = reviewer.get_json("/api/v1/objections?escalated=true").await;
        assert_eq!(audit_count(&auditor, "objection.escalate").await, 1, "{b}: and only once");
        // Confirming keeps the data as it is.
        let (s, r) = officer
            .post_json(
                &format!("/api/v1/objections/{o2}/answer"),
                json!({"decision": "confirmed", "response": "与户籍档案一致"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        assert_eq!((r["status"].clone(), r["correction_version"].clone()), (json!("confirmed"), Value::Null));
        let (_, rows) = officer.get_json(&format!("/api/v1/datasets/{a_id}/data?column=id_no&value={p2}")).await;
        assert_eq!(rows["rows"][0][1], "李四", "{b}");
        for action in ["objection.raise", "objection.evidence", "objection.answer", "dataset.objection.correct"] {
            assert!(audit_count(&auditor, action).await >= 1, "{b}: {action} is audited");
        }
        let _ = a_code;
    }
}

/// A dataset of `item` of the base class keyed by `key` (an identifier of `role`), with text
/// fields `others`, published by `officer`'s organisation.
async fn publish_keyed(
    officer: &Client,
    reviewer: &Client,
    name: &str,
    item: &str,
    (key, role): (&str, &str),
    others: &[&str],
) -> (i64, String) {
    let mut fields = vec![json!({"name": key, "label": "标识", "data_type": "text", "grade": "l1",
                                 "identifier": role, "rules": {"key": true}})];
    for f in others {
        fields.push(json!({"name": f, "label": f, "data_type": "text", "grade": "l1"}));
    }
    let body = json!({
        "name": name, "summary": "基础库测试数据", "class": "base", "item": item, "format": "database",
        "frequency": "daily", "identifier_field": key, "fields": fields,
        "share": {"share_type": "unconditional", "modes": ["view"], "legal_basis": "《临江市公共数据管理办法》第十一条"},
        "open": {"open_type": "not_open", "legal_basis": "供政务部门共享"}
    });
    let (s, e) = officer.post_json("/api/v1/catalog/entries", json!({ "body": body })).await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let id = e["entry_id"].as_i64().unwrap();
    let (s, e) = officer.post_json(&format!("/api/v1/catalog/entries/{id}/submit"), json!({"version": 1})).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, e) = reviewer.post_json(&format!("/api/v1/catalog/entries/{id}/approve"), json!({"version": 1})).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    (id, e["code"].as_str().unwrap().to_string())
}

/// covers: R-AGG-06 (the credit, electronic-licence and spatial base databases besides population
/// and legal entities: each a view over the authoritative sources of its elements, an element
/// going to the base database its source is cataloged under; the spatial database keyed by real
/// estate unit code (GB/T 37346), checked at load like the other identifiers; a unit's page
/// across datasets; the five databases named on the page), R-AGG-03
#[tokio::test]
async fn credit_licence_and_spatial_base_databases_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let firm = "91350100M000100Y43";
        let mut published = vec![];
        for (name, item, key, other) in [
            ("企业登记（基础库测试）", "02", ("credit_code", "credit_code"), "ent_name"),
            ("信用评价（基础库测试）", "04", ("credit_code", "credit_code"), "credit_level"),
            ("证照（基础库测试）", "05", ("credit_code", "credit_code"), "licence_no"),
            ("不动产单元（基础库测试）", "03", ("unit_code", "place_code"), "land_use"),
        ] {
            published.push(publish_keyed(&officer, &reviewer, name, item, key, &[other]).await);
        }
        let [(reg, reg_code), (cr, cr_code), (lic, lic_code), (sp, sp_code)] =
            <[(i64, String); 4]>::try_from(published).unwrap();
        let load = |id: i64, csv: String| {
            let officer = &officer;
            async move {
                let (s, r) = officer
                    .post_bytes(&format!("/api/v1/datasets/{id}/loads?format=csv&mode=full"), csv.into_bytes())
                    .await;
                assert_eq!(s, StatusCode::OK, "{r}");
                r
            }
        };
        load(reg, format!("credit_code,ent_name\n{firm},临江恒信科技有限公司\n")).await;
        load(cr, format!("credit_code,credit_level\n{firm},A\n")).await;
        load(lic, format!("credit_code,licence_no\n{firm},YYZZ-001\n")).await;
        let unit = "350102001001GB00012F00010001";
        let r =
            load(sp, format!("unit_code,land_use\n{},住宅\n350102001001GB00012X00010002,商业\n", unit.to_lowercase()))
                .await;
        assert_eq!((r["accepted"].as_i64(), r["quarantined"].as_i64()), (Some(1), Some(1)), "{b}: {r}");
        let (_, q) = officer.get_json(&format!("/api/v1/datasets/{sp}/quarantine")).await;
        assert!(q.to_string().contains("place_code"), "{b}: a bad unit code is quarantined with its reason: {q}");
        for (subject, element, entry) in [
            ("legal_entity", "ent_name", reg),
            ("legal_entity", "credit_level", cr),
            ("legal_entity", "licence_no", lic),
            ("place", "land_use", sp),
        ] {
            let (s, r) = reviewer
                .post_json("/api/v1/sources", json!({"subject": subject, "element": element, "entry_id": entry}))
                .await;
            assert_eq!(s, StatusCode::OK, "{b}: {r}");
        }

        // Each database shows the elements whose source is cataloged under it.
        let view = |db: &str| {
            let reviewer = &reviewer;
            let db = db.to_string();
            async move {
                let (s, v) = reviewer.get_json(&format!("/api/v1/base/{db}")).await;
                assert_eq!(s, StatusCode::OK, "{v}");
                v
            }
        };
        let elements = |v: &Value| -> Vec<(String, String)> {
            v["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| (a["element"].as_str().unwrap().to_string(), a["dataset"].as_str().unwrap().to_string()))
                .collect()
        };
        // (The demo city's own resources are sources of other elements of these databases.)
        let credit = view("credit").await;
        let at = elements(&credit).iter().position(|e| *e == ("credit_level".to_string(), cr_code.clone()));
        let at = at.unwrap_or_else(|| panic!("{b}: {credit}"));
        assert_eq!((credit["database"].as_str(), credit["subject"].as_str()), (Some("credit"), Some("legal_entity")));
        assert!(!elements(&credit).iter().any(|(e, _)| e == "ent_name"), "{b}: {credit}");
        let row = credit["rows"].as_array().unwrap().iter().find(|r| r["key"] == firm).expect("the firm").clone();
        assert_eq!(row["values"][at], "A", "{b}");
        let licences = view("licence").await;
        assert!(elements(&licences).contains(&("licence_no".to_string(), lic_code.clone())), "{b}: {licences}");
        let entities = elements(&view("legal_entity").await);
        assert!(entities.contains(&("ent_name".to_string(), reg_code.clone())), "{b}: {entities:?}");
        assert!(!entities.iter().any(|(e, _)| e == "credit_level" || e == "licence_no"), "{b}: {entities:?}");
        let spatial = view("spatial").await;
        assert!(elements(&spatial).contains(&("land_use".to_string(), sp_code.clone())), "{b}: {spatial}");
        assert_eq!(spatial["subject"], "place");
        let units: Vec<&Value> = spatial["rows"].as_array().unwrap().iter().filter(|r| r["key"] == unit).collect();
        assert_eq!(units.len(), 1, "{b}: stored in its normal form: {spatial}");
        let (s, v) = reviewer.get_json("/api/v1/base/spatial?prefix=350102001001GB").await;
        assert_eq!((s, v["total"].as_u64()), (StatusCode::OK, Some(1)), "{b}: {v}");
        let (s, _) = reviewer.get_json("/api/v1/base/macro").await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}");

        // A unit's page across datasets; a malformed code is refused.
        let (s, p) = reviewer.post_json("/api/v1/subjects/place/lookup", json!({"key": unit})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {p}");
        assert!(p["values"].as_array().unwrap().iter().any(|v| v["element"] == "land_use" && v["value"] == "住宅"));
        let (s, r) = reviewer.post_json("/api/v1/subjects/place/lookup", json!({"key": "350102"})).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("subject_bad_key")), "{b}");

        // The page names the five databases.
        let (s, html) = reviewer.get("/base/credit").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        for name in ["人口基础库", "法人基础库", "自然资源和空间地理基础库", "公共信用基础库", "电子证照基础库"]
        {
            assert!(html.contains(name), "{b}: {name}");
        }
    }
}

/// covers: R-AGG-06 (theme databases: the city's authority selects fields of datasets about one
/// kind of subject; the theme is a published catalog entry of the theme class under its lead
/// organisation and a dataset joined by key; it is rebuilt when a member loads; it is requested,
/// approved, masked and read like any dataset), R-SHR-04, R-SEC-03
#[tokio::test]
async fn theme_databases_follow_their_members_and_are_shared_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let officer = srv.login("officer").await;
        let xs = srv.login("xs.officer").await;
        let reviewer = srv.login("reviewer").await;
        let approver = srv.login("approver").await;
        let auditor = srv.login("auditor").await;
        let (a_id, a_code) = publish(&officer, &reviewer, "人员信息（主题库测试甲）").await;
        let (b_id, _) = publish(&xs, &reviewer, "人员信息（主题库测试乙）").await;
        let (p1, p2, p3) = (id("350102", 41), id("350102", 42), id("350102", 43));
        upload(&officer, a_id, "full", &[[&p1, "张三", "东湖路1号"], [&p2, "李四", "东湖路2号"]]).await;
        upload(&xs, b_id, "full", &[[&p1, "张三", "西山路1号"], [&p3, "王五", "西山路3号"]]).await;
        let (_, me) = officer.get_json("/api/v1/me").await;
        let lead = me["org_id"].as_i64().unwrap();
        let theme = |members: Value| {
            json!({"name": "人员综合主题库（测试）", "summary": "姓名取自甲，住址取自乙", "item": "03",
                   "lead_org_id": lead, "members": members})
        };
        let good = json!([{"entry_id": a_id, "fields": ["person_name"]}, {"entry_id": b_id, "fields": ["address"]}]);

        // Only the city's authority defines themes; each element comes from one member.
        let (s, _) = officer.post_json("/api/v1/themes", theme(good.clone())).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        let clash = json!([{"entry_id": a_id, "fields": ["address"]}, {"entry_id": b_id, "fields": ["address"]}]);
        let (s, r) = reviewer.post_json("/api/v1/themes", theme(clash)).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("theme_field_clash")), "{b}: {r}");
        let (s, r) =
            reviewer.post_json("/api/v1/themes", theme(json!([{"entry_id": a_id, "fields": ["id_no"]}]))).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("theme_bad_field")), "{b}: {r}");

        let (s, t) = reviewer.post_json("/api/v1/themes", theme(good)).await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {t}");
        assert_eq!(t["refreshed_rows"], 3, "{b}: every subject of any member: {t}");
        let (tid, entry) = (t["id"].as_i64().unwrap(), t["entry_id"].as_i64().unwrap());
        let (_, e) = officer.get_json(&format!("/api/v1/catalog/entries/{entry}")).await;
        assert!(e.to_string().contains(r#""class":"theme""#), "{b}: {e}");
        async fn rows(c: &Client, entry: i64) -> Vec<Value> {
            let (s, d) = c.get_json(&format!("/api/v1/datasets/{entry}/data?limit=10")).await;
            assert_eq!(s, StatusCode::OK, "{d}");
            d["rows"].as_array().unwrap().clone()
        }
        let data = rows(&officer, entry).await;
        assert_eq!(data.len(), 3, "{b}: {data:?}");
        assert_eq!(data[0], json!([p1, "张三", "西山路1号"]), "{b}");
        assert_eq!(data[1], json!([p2, "李四", null]), "{b}");
        assert_eq!(data[2], json!([p3, null, "西山路3号"]), "{b}");

        // A member's load rebuilds the theme.
        upload(&xs, b_id, "full", &[[&p1, "张三", "西山路8号"], [&p3, "王五", "西山路3号"]]).await;
        assert_eq!(rows(&officer, entry).await[0], json!([p1, "张三", "西山路8号"]), "{b}: follows its member");
        let (_, list) = reviewer.get_json("/api/v1/themes").await;
        let listed = list.as_array().unwrap().iter().find(|x| x["id"] == tid).unwrap().clone();
        assert!(listed["refreshed_version"].as_i64() > t["refreshed_version"].as_i64(), "{b}: {listed}");

        // Shared like any dataset: requested, approved by the lead organisation, masked.
        let (_, r) = xs
            .post_json("/api/v1/share/requests", crate::sharing::request(entry, "view", &["id_no", "person_name"]))
            .await;
        let rid = r["id"].as_i64().unwrap_or_else(|| panic!("{b}: {r}"));
        let (s, r) = approver.post_json(&format!("/api/v1/share/requests/{rid}/approve"), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        let grant = r["grant_id"].as_i64().unwrap();
        let (s, v) = xs.post_json(&format!("/api/v1/share/grants/{grant}/records"), json!({"key": p1})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {v}");
        assert_eq!(v["rows"][0][1], "张*", "{b}: the member field's masking: {v}");

        // The page's form defines one by resource codes and field names.
        let (s, _) = reviewer
            .post_form(
                "/themes",
                &[
                    ("name", "人员住址主题库（表单测试）"),
                    ("summary", "住址取自甲"),
                    ("item", "10"),
                    ("lead_org_id", &lead.to_string()),
                    ("members", &format!("{a_code}: address\n")),
                ],
                true,
            )
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{b}");
        let (s, html) = reviewer.get("/themes").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert!(html.contains("人员综合主题库（测试）") && html.contains("theme-form"), "{b}");
        assert!(html.contains("人员住址主题库（表单测试）"), "{b}");
        assert!(audit_count(&auditor, "theme.create").await >= 1, "{b}");
        assert!(audit_count(&auditor, "theme.refresh").await >= 2, "{b}");
    }
}

/// A public account made at the console (which chooses no first password for it), logged in.
async fn public_account(srv: &TestServer, username: &str) -> Client {
    let out = srv.pdp(&["admin", "create-user", "--username", username]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text} {}", String::from_utf8_lossy(&out.stderr));
    let password = text.split("(shown once): ").nth(1).expect("the initial password").trim().to_string();
    srv.login_with(username, &password).await.expect("the new account logs in")
}

/// covers: R-OBJ-01, R-OBJ-03, R-SEC-03 (a public account bound to a citizen ID objects only to
/// records about that ID, with the same answer for anyone else's key whether or not it exists;
/// missing data can be objected to and is answered by a load; a data user's objection tells
/// nothing of existence either; a disputed value is flagged to the users of view and verify
/// grants until it is answered; binding is the security administrator's, one account per ID,
/// audited with the ID masked)
#[tokio::test]
async fn data_subjects_object_to_their_own_records_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let approver = srv.login("approver").await;
        let xs = srv.login("xs.officer").await;
        let security = srv.login("security").await;
        let auditor = srv.login("auditor").await;
        let citizen = srv.login("citizen").await;
        let entry = crate::sharing::publish(&officer, &reviewer, "人员信息（信息主体异议测试）", "conditional").await;
        crate::sharing::load(&officer, entry).await;
        let people = crate::sharing::people();
        let (mine, other) = (people[0].0.clone(), people[1].0.clone());
        let absent = id("350102", 99);
        let raise = |key: &str, field: &str, kind: &str| {
            json!({"entry_id": entry, "key": key, "field": field, "kind": kind, "claimed_value": "张三峰",
                   "reason": "姓名中的字录错"})
        };

        // An unbound public account cannot object to anyone's record.
        let second = public_account(&srv, "citizen.two").await;
        let (s, r) = second.post_json("/api/v1/objections", raise(&mine, "person_name", "wrong")).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::FORBIDDEN, Some("subject_not_bound")), "{b}: {r}");

        // Binding: a valid ID, to public accounts only, one account per ID, by the security
        // administrator, audited with the ID masked. (The demo's citizen is bound to one of the
        // demo's residents; binding again replaces it.)
        let (_, me) = citizen.get_json("/api/v1/me").await;
        let uid = me["user"]["id"].as_i64().unwrap();
        let (s, r) = security
            .put_json(&format!("/api/v1/users/{uid}/subject"), json!({"kind": "person", "id": "350102199003070011"}))
            .await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("citizen_id_checksum")), "{b}: {r}");
        let (_, xs_me) = xs.get_json("/api/v1/me").await;
        let (s, r) = security
            .put_json(&format!("/api/v1/users/{}/subject", xs_me["user"]["id"]), json!({"kind": "person", "id": mine}))
            .await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("subject_public_accounts_only")), "{b}");
        let (s, _) = xs.put_json(&format!("/api/v1/users/{uid}/subject"), json!({"kind": "person", "id": mine})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: only the security administrator binds");
        let u = bind(&security, &citizen, &mine).await;
        let masked = format!("{}********{}", &mine[..6], &mine[14..]);
        assert_eq!(u["subject"], json!({"kind": "person", "masked": masked}), "{b}");
        let (_, me) = citizen.get_json("/api/v1/me").await;
        assert_eq!(me["user"]["subject"]["masked"], masked, "{b}: the account sees its binding, masked");
        assert!(!me.to_string().contains(&mine), "{b}: never the whole number");
        let (_, two) = second.get_json("/api/v1/me").await;
        let (s, r) = security
            .put_json(&format!("/api/v1/users/{}/subject", two["user"]["id"]), json!({"kind": "person", "id": mine}))
            .await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::CONFLICT, Some("subject_taken")), "{b}");
        let (_, events) = auditor.get_json("/api/v1/audit/events?action=user.subject.bind").await;
        let text = events.to_string();
        assert!(text.contains(&masked) && !text.contains(&mine), "{b}: {text}");

        // Someone else's record, existing or not: the same refusal, before anything is read.
        let (s1, r1) = citizen.post_json("/api/v1/objections", raise(&other, "person_name", "wrong")).await;
        let (s2, r2) = citizen.post_json("/api/v1/objections", raise(&absent, "person_name", "wrong")).await;
        assert_eq!((s1, r1["code"].as_str()), (StatusCode::FORBIDDEN, Some("objection_not_own_record")), "{b}");
        assert_eq!((s1, &r1), (s2, &r2), "{b}: no existence oracle");

        // Their own record: the key may be left out; the answer holds no provider data.
        let (s, o) = citizen
            .post_json(
                "/api/v1/objections",
                json!({"entry_id": entry, "field": "person_name", "claimed_value": "张三峰", "reason": "“峰”录成了“丰”"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {o}");
        assert_eq!((o["record_key"].as_str(), o["raiser_kind"].as_str()), (Some(mine.as_str()), Some("subject")));
        assert_eq!((o["kind"].as_str(), o["current_value"].as_str()), (Some("wrong"), Some("")), "{b}");
        assert!(o.get("record_found").is_none(), "{b}: {o}");
        let oid = o["id"].as_i64().unwrap();

        // The value is flagged to the user of a view grant and of a verify grant.
        let (_, grant) = crate::sharing::view_grant_on(entry, &approver, &xs, "view").await;
        let (s, v) = xs.post_json(&format!("/api/v1/share/grants/{grant}/records"), json!({"key": mine})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {v}");
        assert_eq!(v["disputed"], json!([{"row": 0, "field": "person_name"}]), "{b}: {v}");
        assert_eq!(v["rows"][0][1], "张**", "{b}: business goes on with the value, masked as granted");
        let (_, v) = xs.post_json(&format!("/api/v1/share/grants/{grant}/records"), json!({"key": other})).await;
        assert_eq!(v["disputed"], json!([]), "{b}: only the disputed record");
        let (_, check) = crate::sharing::view_grant_on(entry, &approver, &xs, "verify").await;
        let (s, v) = xs
            .post_json(
                &format!("/api/v1/share/grants/{check}/verify"),
                json!({"key": mine, "values": {"person_name": "张三丰"}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {v}");
        assert_eq!((v["matches"]["person_name"].clone(), v["disputed"].clone()), (json!(true), json!(["person_name"])));
        // A bulk grant's users find the disputed values of their copies on the grant, keyed as
        // their copies show the key.
        let (_, bulk) = crate::sharing::view_grant_on(entry, &approver, &xs, "bulk").await;
        let (_, g) = xs.get_json(&format!("/api/v1/share/grants/{bulk}")).await;
        assert_eq!(g["disputed"], json!([{"key": masked, "field": "person_name"}]), "{b}: {g}");

        // Missing data: the second account's ID is in no record.
        bind(&security, &second, &absent).await;
        let (s, r) = second.post_json("/api/v1/objections", raise(&absent, "address", "wrong")).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::NOT_FOUND, Some("record_not_found")), "{b}: their own");
        let (s, m) = second
            .post_json(
                "/api/v1/objections",
                json!({"entry_id": entry, "kind": "missing", "reason": "本人户籍已迁入东湖区，登记信息中没有本人"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {m}");
        let mid = m["id"].as_i64().unwrap();
        let (_, seen) = officer.get_json(&format!("/api/v1/objections/{mid}")).await;
        assert_eq!((seen["kind"].as_str(), seen["record_found"].as_bool()), (Some("missing"), Some(false)), "{b}");
        let (s, r) = officer
            .post_json(
                &format!("/api/v1/objections/{mid}/answer"),
                json!({"decision": "corrected", "response": "已补录"}),
            )
            .await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::CONFLICT, Some("objection_record_still_missing")), "{b}");
        let csv = format!("id_no,person_name,address,district,age\n{absent},周十一,临江市东湖路9号,东湖区,40\n");
        let (s, l) = officer
            .post_bytes(&format!("/api/v1/datasets/{entry}/loads?format=csv&mode=upsert"), csv.into_bytes())
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {l}");
        let (s, r) = officer
            .post_json(
                &format!("/api/v1/objections/{mid}/answer"),
                json!({"decision": "corrected", "response": "已补录"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        assert_eq!(r["correction_version"], l["version"], "{b}: the version that holds the record");

        // A data user's objection is accepted whether or not the record exists; only the
        // provider learns which.
        let (s1, a) = xs.post_json("/api/v1/objections", raise(&other, "address", "wrong")).await;
        let (s2, c) = xs.post_json("/api/v1/objections", raise(&id("350102", 98), "address", "wrong")).await;
        assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK), "{b}: {a} {c}");
        assert!(a.get("record_found").is_none() && c.get("record_found").is_none(), "{b}");
        let (_, seen) = officer.get_json(&format!("/api/v1/objections/{}", c["id"])).await;
        assert_eq!(seen["record_found"], false, "{b}");

        // Answered, the flag goes.
        let (s, _) = officer
            .post_json(
                &format!("/api/v1/objections/{oid}/answer"),
                json!({"decision": "confirmed", "response": "与户籍档案一致"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (_, v) = xs.post_json(&format!("/api/v1/share/grants/{grant}/records"), json!({"key": mine})).await;
        assert_eq!(v["disputed"], json!([]), "{b}: {v}");
    }
}

/// covers: R-SHR-03, R-OBJ-02, R-CAT-04 (deadlines in working days: the authority adds next
/// year's holiday table on the running platform, it is checked, stored with who added it,
/// audited, in force at once and again after a restart; nobody else can change it)
#[tokio::test]
async fn holiday_tables_added_on_the_platform_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let mut srv = TestServer::start(&backend);
        let reviewer = srv.login("reviewer").await;
        let officer = srv.login("officer").await;
        let dh = srv.login("dh.reviewer").await;
        let auditor = srv.login("auditor").await;

        // The shipped tables end with 2026: a deadline reaching into 2027 is still given, counted
        // on weekdays alone and marked provisional (12-25 | 28 29 30 31 | 01 04 05 06 07).
        let (s, cal) = officer.get_json("/api/v1/calendar").await;
        assert_eq!(s, StatusCode::OK, "{b}: {cal}");
        let years: Vec<i64> = cal["years"].as_array().unwrap().iter().map(|y| y["year"].as_i64().unwrap()).collect();
        assert!(years.contains(&2026) && !years.contains(&2027), "{b}: {cal}");
        assert!(cal["years"].as_array().unwrap().iter().all(|y| y["origin"] == "shipped"), "{b}");
        let (s, d) = officer.get_json("/api/v1/calendar/deadline?from=2026-12-24&days=10").await;
        assert_eq!(
            (s, d["due"].as_str(), d["provisional"].as_bool()),
            (StatusCode::OK, Some("2027-01-07"), Some(true)),
            "{b}: {d}"
        );
        let (s, d) = officer.get_json("/api/v1/calendar/deadline?from=2026-09-17&days=10").await;
        assert_eq!(
            (s, d["due"].as_str(), d["provisional"].as_bool()),
            (StatusCode::OK, Some("2026-10-08"), Some(false)),
            "{b}: {d}"
        );
        // A catalog change recorded now with an update deadline in 2027 (15 working days on
        // weekdays alone: 12-17 18 | 21..25 | 28..31 | 01 04 05 06), counted again below.
        let me = officer.get_json("/api/v1/me").await.1;
        let org = me["org_id"].as_i64().unwrap();
        let change = json!({"org_id": org, "kind": "functions", "description": "职能调整（日历测试）", "event_date": "2026-12-16"});
        let (s, c) = officer.post_json("/api/v1/catalog/changes", change).await;
        assert_eq!((s, c["due_date"].as_str()), (StatusCode::CREATED, Some("2027-01-06")), "{b}: {c}");
        let change_id = c["id"].as_i64().unwrap();

        // A test table, not the official 2027 one: New Year's Day off, one invented make-up Saturday.
        let table = json!({"source": "测试用表（非官方）", "holidays": ["2027-01-01"], "workdays": ["2027-01-09"]});
        let (s, e) = officer.put_json("/api/v1/calendar/2027", table.clone()).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")), "{b}: {e}");
        let (s, e) = dh.put_json("/api/v1/calendar/2027", table.clone()).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_city_authority")), "{b}: {e}");
        for bad in [
            json!({"source": "x", "holidays": ["2028-01-01"], "workdays": []}),
            json!({"source": "x", "holidays": ["2027-10-01..2027-10-07"], "workdays": ["2027-10-02"]}),
            json!({"source": " ", "holidays": [], "workdays": []}),
            json!({"source": "x", "holidays": ["2027-02-30"]}),
        ] {
            let (s, e) = reviewer.put_json("/api/v1/calendar/2027", bad.clone()).await;
            assert_eq!(
                (s, e["code"].as_str()),
                (StatusCode::BAD_REQUEST, Some("calendar_bad_table")),
                "{b}: {bad} {e}"
            );
            assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{b}: {e}");
        }
        let (s, d) = officer.get_json("/api/v1/calendar/deadline?from=2026-12-24&days=10").await;
        assert_eq!(
            (s, d["provisional"].as_bool()),
            (StatusCode::OK, Some(true)),
            "{b}: refused tables change nothing: {d}"
        );

        let (s, y) = reviewer.put_json("/api/v1/calendar/2027", table.clone()).await;
        assert_eq!(s, StatusCode::OK, "{b}: {y}");
        assert_eq!(
            (y["origin"].as_str(), y["added_by"].as_str(), y["holiday_days"].as_i64()),
            (Some("added"), Some("reviewer"), Some(1))
        );
        // In force for the next request: 12-25 | 28 29 30 31 | 01-01 off | 04 05 06 07 08.
        let (_, d) = officer.get_json("/api/v1/calendar/deadline?from=2026-12-24&days=10").await;
        assert_eq!((d["due"].as_str(), d["provisional"].as_bool()), (Some("2027-01-08"), Some(false)), "{b}: {d}");
        // The provisional deadline recorded before is counted again in the new table: New
        // Year's Day is off, so the fifteenth working day is 01-07, and the move is audited.
        let (_, changes) = officer.get_json(&format!("/api/v1/catalog/changes?org_id={org}")).await;
        let c = changes.as_array().unwrap().iter().find(|c| c["id"] == change_id).cloned().unwrap();
        assert_eq!(c["due_date"], "2027-01-07", "{b}: {c}");
        assert_eq!(audit_count(&auditor, "calendar.deadlines.recount").await, 1, "{b}");
        // The make-up Saturday counts: 01-01 off | 04..08 | 09.
        let (_, d) = officer.get_json("/api/v1/calendar/deadline?from=2026-12-31&days=6").await;
        assert_eq!(d["due"], "2027-01-09", "{b}: {d}");
        assert_eq!(audit_count(&auditor, "calendar.set").await, 1, "{b}");

        // Stored, not only held in memory: the table is laid over the shipped ones at start.
        srv.restart();
        let officer = srv.login("officer").await;
        let (_, cal) = officer.get_json("/api/v1/calendar").await;
        let y2027 = cal["years"].as_array().unwrap().iter().find(|y| y["year"] == 2027).cloned();
        assert_eq!(y2027.as_ref().map(|y| y["source"].clone()), Some(json!("测试用表（非官方）")), "{b}: {cal}");
        assert_eq!(cal["last_year"], 2027, "{b}");
        assert_ne!(cal["missing_next_year"], 2027, "{b}: 2027's table is there");
        let (_, d) = officer.get_json("/api/v1/calendar/deadline?from=2026-12-24&days=10").await;
        assert_eq!(d["due"], "2027-01-08", "{b}: {d}");
        let (_, metrics) = srv.login("auditor").await.get("/metrics").await;
        assert!(metrics.contains("pdp_calendar_last_year 2027"), "{b}: {metrics}");

        // The page shows where each year's table came from.
        let (s, html) = officer.get("/calendar").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert!(html.contains("测试用表（非官方）") && html.contains("reviewer"), "{b}");
        assert!(!html.contains("calendar-form"), "{b}: only the authority gets the form");

        // The authority's form takes dates and ranges one per line, as the notice lists them.
        let reviewer = srv.login("reviewer").await;
        let auditor = srv.login("auditor").await;
        let (s, _) = reviewer
            .post_form(
                "/calendar",
                &[
                    ("year", "2028"),
                    ("source", "测试用表 2028"),
                    ("holidays", "2028-01-01\r\n2028-10-01..2028-10-03\r\n"),
                    ("workdays", "2028-10-07"),
                ],
                true,
            )
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{b}");
        let (_, cal) = officer.get_json("/api/v1/calendar").await;
        let y2028 = cal["years"].as_array().unwrap().iter().find(|y| y["year"] == 2028).cloned().unwrap_or_default();
        assert_eq!(y2028["holidays"], json!(["2028-01-01", "2028-10-01..2028-10-03"]), "{b}: {cal}");
        assert_eq!(
            (y2028["holiday_days"].as_i64(), y2028["workdays"].clone()),
            (Some(4), json!(["2028-10-07"])),
            "{b}"
        );
        assert_eq!(audit_count(&auditor, "calendar.set").await, 2, "{b}");
    }
}

/// covers: R-SHR-04, R-AGG-06, R-SEC-03 (lookups by key: a version's rows by key at that version
/// after a later load, a key only the latest version has, a `pdp load` killed with SIGKILL in the
/// middle leaves the lookups answering the committed version, and the subject page finds the
/// person in three datasets, each at its current version)
#[tokio::test]
async fn lookups_by_key_follow_versions_survive_a_killed_load_and_span_datasets_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let officer = srv.login("officer").await;
        let xs = srv.login("xs.officer").await;
        let reviewer = srv.login("reviewer").await;
        let (a_id, a_code) = publish(&officer, &reviewer, "人员信息（版本查询测试）").await;
        let (b_id, _) = publish(&xs, &reviewer, "人员信息（第二来源）").await;
        let (c_id, _) = publish(&officer, &reviewer, "人员信息（第三来源）").await;
        let (p1, p2) = (id("350102", 11), id("350102", 12));
        let v1 = upload(&officer, a_id, "full", &[[&p1, "张三", "东湖路1号"]]).await["version"].as_u64().unwrap();
        let v2 = upload(&officer, a_id, "full", &[[&p1, "张三改", "东湖路1号"], [&p2, "李四", "东湖路2号"]]).await
            ["version"]
            .as_u64()
            .unwrap();
        let names = |r: &Value| -> Vec<String> {
            r["rows"].as_array().unwrap().iter().map(|row| row[1].as_str().unwrap_or_default().to_string()).collect()
        };
        let rows = |version: Option<u64>, key: String| {
            let officer = &officer;
            async move {
                let v = version.map(|v| format!("version={v}&")).unwrap_or_default();
                let (s, r) =
                    officer.get_json(&format!("/api/v1/datasets/{a_id}/data?{v}column=id_no&value={key}")).await;
                assert_eq!(s, StatusCode::OK, "{r}");
                r
            }
        };
        assert_eq!(names(&rows(Some(v1), p1.clone()).await), ["张三"], "{b}: version {v1} as it was");
        assert_eq!(names(&rows(Some(v2), p1.clone()).await), ["张三改"], "{b}");
        assert_eq!(rows(Some(v1), p2.clone()).await["total"], 0, "{b}: a key only in the latest version");
        assert_eq!(names(&rows(None, p2.clone()).await), ["李四"], "{b}");

        // A load killed with SIGKILL while it writes: no version names what it wrote.
        let mut csv = String::from("id_no,person_name,address\n");
        let mut big_key = String::new();
        'rows: for year in 1950..2000 {
            for day in 1..=28 {
                for seq in 0..1000 {
                    let key = pdp_domain::ids::complete_citizen_id(&format!("359903{year}01{day:02}{seq:03}")).unwrap();
                    csv.push_str(&format!("{key},某人{seq},西山路{seq}号\n"));
                    big_key = key;
                    if csv.len() > 12 << 20 {
                        break 'rows;
                    }
                }
            }
        }
        let file = srv.dir.path().join("big.csv");
        std::fs::write(&file, csv).unwrap();
        let mut load = srv.spawn_load(&a_code, &file);
        let keys = srv.dir.path().join("lake").join(a_code.replace('/', "_")).join(pdp_lake::keyfile::DIR);
        let writing = || {
            std::fs::read_dir(&keys)
                .is_ok_and(|d| d.flatten().any(|e| e.file_name().to_string_lossy().ends_with(".tmp")))
        };
        let started = std::time::Instant::now();
        while !writing() && started.elapsed() < std::time::Duration::from_secs(60) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(writing(), "{b}: the load started writing");
        load.kill().unwrap();
        load.wait().unwrap();
        let log = keys.parent().unwrap().join("_delta_log");
        let latest = std::fs::read_dir(&log)
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json")?.parse::<u64>().ok())
            .max();
        assert_eq!(latest, Some(v2), "{b}: the killed load committed nothing");
        assert_eq!(names(&rows(None, p1.clone()).await), ["张三改"], "{b}");
        assert_eq!(rows(None, big_key.clone()).await["total"], 0, "{b}: nothing of the killed load is read");

        // The subject page finds the person in all three datasets.
        let vb = upload(&xs, b_id, "full", &[[&p1, "张三", "东湖路1号"]]).await["version"].clone();
        let vc = upload(&officer, c_id, "full", &[[&p1, "张叁", "东湖路1号"]]).await["version"].clone();
        let (s, p) = reviewer.post_json("/api/v1/subjects/person/lookup", json!({"key": p1})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {p}");
        let records = p["records"].as_array().unwrap();
        assert_eq!(records.len(), 3, "{b}: {p}");
        let version_of = |code: &str| records.iter().find(|r| r["dataset"] == code).map(|r| r["version"].clone());
        assert_eq!(version_of(&a_code), Some(json!(v2)), "{b}: {p}");
        let mut versions: Vec<Value> = records.iter().map(|r| r["version"].clone()).collect();
        versions.sort_by_key(|v| v.as_u64());
        let mut want = vec![json!(v2), vb, vc];
        want.sort_by_key(|v| v.as_u64());
        assert_eq!(versions, want, "{b}");
    }
}

/// covers: R-CAT-05 (districts list the city data they need returned, through the API and the
/// pages; the city's authority meets a demand with a district return or declines it with a
/// reason; open demands stay visible; each district sees its own; only districts list demands),
/// R-AGG-07, R-SEC-03
#[tokio::test]
async fn district_return_demands_are_met_or_declined_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let dh = srv.login("dh.reviewer").await;
        let xs = srv.login("xs.officer").await;
        let auditor = srv.login("auditor").await;
        let (a_id, _) = publish(&officer, &reviewer, "人员信息（回流需求测试）").await;
        upload(
            &officer,
            a_id,
            "full",
            &[[&id("359902", 1), "张三", "东湖路1号"], [&id("359903", 2), "李四", "西山路2号"]],
        )
        .await;

        let demand = |title: &str| json!({"title": title, "description": "社区网格化管理需要本区常住人口名单", "entry_id": a_id});
        let (s, e) = officer.post_json("/api/v1/returns/demands", demand("全市的需求")).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_district")), "{b}: {e}");
        let (s, d1) = dh.post_json("/api/v1/returns/demands", demand("东湖区常住人口")).await;
        assert_eq!((s, d1["status"].as_str()), (StatusCode::CREATED, Some("open")), "{b}: {d1}");
        let (s, d2) = xs.post_json("/api/v1/returns/demands", demand("西山区常住人口")).await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {d2}");
        let (s, e) = xs.post_json("/api/v1/returns/demands", json!({"title": " ", "description": "x"})).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("return_demand_incomplete")), "{b}: {e}");
        let (d1, d2) = (d1["id"].as_i64().unwrap(), d2["id"].as_i64().unwrap());

        // Each district sees its own; the city's authority sees every open one.
        let ids = |v: &Value| -> Vec<i64> { v.as_array().unwrap().iter().filter_map(|d| d["id"].as_i64()).collect() };
        assert_eq!(ids(&dh.get_json("/api/v1/returns/demands").await.1), [d1], "{b}");
        assert_eq!(ids(&xs.get_json("/api/v1/returns/demands").await.1), [d2], "{b}");
        assert_eq!(ids(&reviewer.get_json("/api/v1/returns/demands").await.1), [d2, d1], "{b}");
        let (_, html) = reviewer.get("/sources").await;
        assert!(html.contains("回流需求清单") && html.contains("东湖区常住人口") && html.contains("待回流"), "{b}");

        // A district does not answer demands; the city's authority meets one with a return.
        let meet = json!({"entry_id": a_id, "method": "area_code", "response": "已设立回流"});
        let (s, _) = dh.post_json(&format!("/api/v1/returns/demands/{d1}/meet"), meet.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        let (s, m) = reviewer.post_json(&format!("/api/v1/returns/demands/{d1}/meet"), meet.clone()).await;
        assert_eq!((s, m["status"].as_str()), (StatusCode::OK, Some("met")), "{b}: {m}");
        let rid = m["return_id"].as_i64().expect("the return that meets it");
        let (s, rows) = dh.get_json(&format!("/api/v1/returns/{rid}/data")).await;
        assert_eq!((s, rows["total"].as_u64()), (StatusCode::OK, Some(1)), "{b}: the district reads its rows: {rows}");
        let (s, e) = reviewer.post_json(&format!("/api/v1/returns/demands/{d1}/meet"), meet).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("return_demand_closed")), "{b}: {e}");
        let (s, d) = reviewer
            .post_json(&format!("/api/v1/returns/demands/{d2}/decline"), json!({"reason": "该数据已通过共享提供"}))
            .await;
        assert_eq!(
            (s, d["status"].as_str(), d["response"].as_str()),
            (StatusCode::OK, Some("declined"), Some("该数据已通过共享提供")),
            "{b}: {d}"
        );
        let (_, mine) = xs.get_json("/api/v1/returns/demands").await;
        assert_eq!(mine[0]["status"], "declined", "{b}: the district reads the answer");
        // The same through the pages, found from the aggregation page: a district files with the
        // form, the authority answers there.
        let (_, html) = xs.get("/datasets").await;
        assert!(html.contains("href=\"/returns/demands\""), "{b}: the list is linked where districts work");
        let fields = [("title", "东湖区法人名单"), ("description", "街道企业服务需要本区企业名单")];
        let (s, _) = dh.post_form("/returns/demands", &fields, true).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{b}");
        let (_, html) = reviewer.get("/returns/demands").await;
        assert!(html.contains("东湖区法人名单") && html.contains("/meet"), "{b}");
        let d3 = ids(&dh.get_json("/api/v1/returns/demands").await.1)[0];
        let (s, _) =
            reviewer.post_form(&format!("/returns/demands/{d3}/decline"), &[("reason", "暂无该数据")], true).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{b}");
        let (_, html) = dh.get("/returns/demands").await;
        assert!(html.contains("暂无该数据") && html.contains("不予回流") && !html.contains("/meet"), "{b}");
        for action in ["return.demand.create", "return.demand.meet", "return.demand.decline"] {
            assert!(audit_count(&auditor, action).await >= 1, "{b}: {action}");
        }
    }
}
