//! Aggregation on every backend: uploads with quarantine, corrections, pushes, quality tasks,
//! overdue warnings, `pdp load`, and crash safety of loads killed with SIGKILL.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::server::{Client, TestServer, backends};

/// An enterprise dataset with a key, an identifier and value rules.
pub(crate) fn enterprise_body(name: &str) -> Value {
    json!({
        "name": name,
        "summary": "企业登记基本信息，供归集测试使用",
        "class": "department",
        "item": "02",
        "format": "database",
        "frequency": "daily",
        "fields": [
            {"name": "credit_code", "label": "统一社会信用代码", "data_type": "text", "grade": "l1",
             "identifier": "credit_code", "rules": {"key": true}},
            {"name": "ent_name", "label": "企业名称", "data_type": "text", "grade": "l1", "rules": {"required": true}},
            {"name": "capital", "label": "注册资本", "data_type": "decimal", "grade": "l1", "rules": {"min": 0}},
            {"name": "est_date", "label": "成立日期", "data_type": "date", "grade": "l1"}
        ],
        "share": {"share_type": "unconditional", "modes": ["bulk", "view"]},
        "open": {"open_type": "unconditional"}
    })
}

pub fn credit_code(n: u32) -> String {
    pdp_domain::ids::complete_credit_code(&format!("91350100{n:08}")).expect("valid prefix")
}

/// Publishes the enterprise entry as `officer`; returns (entry id, code).
pub(crate) async fn publish(officer: &Client, reviewer: &Client, name: &str) -> (i64, String) {
    let (s, e) = officer.post_json("/api/v1/catalog/entries", json!({ "body": enterprise_body(name) })).await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let id = e["entry_id"].as_i64().unwrap();
    let (s, e) = officer.post_json(&format!("/api/v1/catalog/entries/{id}/submit"), json!({"version": 1})).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, e) = reviewer.post_json(&format!("/api/v1/catalog/entries/{id}/approve"), json!({"version": 1})).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    (id, e["code"].as_str().unwrap().to_string())
}

/// covers: R-AGG-01, R-AGG-02, R-AGG-04, R-SEC-03 (upload with quarantine and nothing lost,
/// corrections validated before they commit, idempotent pushes, quality tasks answered by the
/// provider, provider-only loads and reads, every step audited)
#[tokio::test]
async fn upload_quarantine_correct_push_on_every_backend() {
    for backend in backends() {
        let srv = TestServer::start(&backend);
        let b = backend.name();
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let (id, code) = publish(&officer, &reviewer, "企业登记信息（归集测试）").await;

        let csv = format!(
            "统一社会信用代码,企业名称,注册资本,成立日期\n{},临江甲公司,100.5,2020-01-02\n{},,-3,2020-13-01\n{},临江乙公司,,\n{},临江丙公司,7,\n",
            credit_code(1),
            credit_code(2),
            credit_code(3),
            credit_code(1)
        );
        let (s, r) =
            officer.post_bytes(&format!("/api/v1/datasets/{id}/loads?filename=ent.csv"), csv.into_bytes()).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        assert_eq!(
            (r["input_rows"].as_u64(), r["accepted"].as_u64(), r["quarantined"].as_u64()),
            (Some(4), Some(2), Some(2)),
            "{b}"
        );
        assert_eq!(r["version"], 1);
        assert_eq!(r["rule_counts"]["duplicate_key"], 1, "{b}: {r}");
        let first = &r["first_errors"][0];
        assert_eq!(first["row"], 2);
        let rules: Vec<&str> =
            first["errors"].as_array().unwrap().iter().map(|e| e["rule"].as_str().unwrap()).collect();
        assert_eq!(rules, ["required", "range", "type"], "{b}");

        // A file with a column the entry does not have is refused whole, with a clear error.
        let (s, e) = officer
            .post_bytes(
                &format!("/api/v1/datasets/{id}/loads?filename=x.csv"),
                b"credit_code,ent_name,capital,est_date,extra\n".to_vec(),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(e["code"], "load_bad_file");
        assert!(e["message_zh"].as_str().unwrap().contains("extra"), "{e}");

        // Only the provider loads and reads; others get a clear refusal.
        let other = srv.login("xs.officer").await;
        let (s, e) = other.post_bytes(&format!("/api/v1/datasets/{id}/loads?filename=x.csv"), b"a\n".to_vec()).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_provider")), "{b}");
        let (s, _) = reviewer.get(&format!("/api/v1/datasets/{id}/data")).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "the authority sees scores, not rows");

        // The quarantine, and corrections.
        let (_, q) = officer.get_json(&format!("/api/v1/datasets/{id}/quarantine")).await;
        let q = q.as_array().unwrap().clone();
        assert_eq!(q.len(), 2, "{b}");
        assert_eq!(q[0]["cells"], json!([credit_code(2), "", "-3", "2020-13-01"]));
        let (s, e) = officer
            .post_json(
                &format!("/api/v1/datasets/{id}/quarantine/1/2"),
                json!({"cells": [credit_code(2), "", "3", ""]}),
            )
            .await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("load_invalid_rows")), "{b}: {e}");
        assert_eq!(e["details"][0]["code"], "required");
        let (s, r) = officer
            .post_json(
                &format!("/api/v1/datasets/{id}/quarantine/1/2"),
                json!({"cells": [credit_code(2), "临江丁公司", "3", ""]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        assert_eq!((r["version"].as_u64(), r["rows_after"].as_u64()), (Some(2), Some(3)));
        let (_, q) = officer.get_json(&format!("/api/v1/datasets/{id}/quarantine")).await;
        assert_eq!(q.as_array().unwrap().len(), 1, "the corrected row left the quarantine");
        let (s, _) = officer
            .post_json(
                &format!("/api/v1/datasets/{id}/quarantine/1/2"),
                json!({"cells": [credit_code(2), "x", "3", ""]}),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "a row is corrected once");

        // Push API: idempotent by batch id; an unknown field is quarantined, not dropped.
        let push = json!({"batch_id": "sys-1", "rows": [
            {"credit_code": credit_code(3), "ent_name": "临江乙公司（更名）", "capital": 9},
            {"credit_code": credit_code(4), "ent_name": "临江戊公司", "colour": "red"}
        ]});
        let (s, r) = officer.post_json(&format!("/api/v1/datasets/{id}/rows"), push.clone()).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        assert_eq!(
            (r["accepted"].as_u64(), r["quarantined"].as_u64(), r["rows_after"].as_u64()),
            (Some(1), Some(1), Some(3))
        );
        assert_eq!(r["mode"], "upsert");
        let (_, again) = officer.post_json(&format!("/api/v1/datasets/{id}/rows"), push).await;
        assert_eq!(again["already_loaded"], true, "{b}: {again}");

        // Rows, filtered by key, at the latest version and at version 1 (time travel).
        let (s, rows) =
            officer.get_json(&format!("/api/v1/datasets/{id}/data?column=credit_code&value={}", credit_code(3))).await;
        assert_eq!(s, StatusCode::OK, "{rows}");
        assert_eq!(rows["rows"][0][1], "临江乙公司（更名）");
        let (_, old) = officer
            .get_json(&format!("/api/v1/datasets/{id}/data?version=1&column=credit_code&value={}", credit_code(3)))
            .await;
        assert_eq!(old["rows"][0][1], "临江乙公司");
        let (_, all) = officer.get_json(&format!("/api/v1/datasets/{id}/data")).await;
        assert_eq!(all["total"], 3);

        // Loads recorded with scores; quality tasks for the provider.
        let (_, loads) = reviewer.get_json(&format!("/api/v1/datasets/{id}/loads")).await;
        let loads = loads.as_array().unwrap();
        assert_eq!(loads.len(), 3, "{b}: {loads:?}");
        assert_eq!(loads[0]["uniqueness"], 75.0);
        assert_eq!(loads[1]["kind"], "correction");
        let (_, tasks) = officer.get_json("/api/v1/quality/tasks").await;
        let task = tasks
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["dataset"] == code.as_str() && t["kind"] == "quarantine")
            .unwrap()
            .clone();
        let (s, _) = reviewer
            .post_json(
                &format!("/api/v1/quality/tasks/{}/resolve", task["id"]),
                json!({"status": "corrected", "response": "x"}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "the provider answers its tasks");
        let (s, t) = officer
            .post_json(
                &format!("/api/v1/quality/tasks/{}/resolve", task["id"]),
                json!({"status": "corrected", "response": "已更正第 2 行"}),
            )
            .await;
        assert_eq!((s, t["status"].as_str()), (StatusCode::OK, Some("corrected")), "{t}");

        // The dataset list: this one is fresh, a never-loaded one is overdue (R-AGG-05).
        let (_, list) = reviewer.get_json("/api/v1/datasets").await;
        let list = list.as_array().unwrap();
        let mine = list.iter().find(|d| d["entry_id"] == id).unwrap();
        assert_eq!((mine["overdue"].as_bool(), mine["rows"].as_i64()), (Some(false), Some(3)), "{mine}");
        assert_eq!(mine["scores"]["timeliness"], 100.0);
        assert!(list.iter().any(|d| d["overdue"] == true && d["latest_version"].is_null()));
        // Every load, correction and read is in the audit chain.
        let auditor = srv.login("auditor").await;
        let (_, metrics) = auditor.get("/metrics").await;
        assert!(metrics.contains("pdp_datasets_overdue"), "{metrics}");
        for action in
            ["dataset.load", "dataset.quarantine.correct", "dataset.push", "dataset.read", "quality.task.resolve"]
        {
            let (_, ev) = auditor.get_json(&format!("/api/v1/audit/events?action={action}")).await;
            assert!(!ev.as_array().map(|a| a.is_empty()).unwrap_or(true), "{b}: no {action} event: {ev}");
        }
    }
}

/// Writes `rows` enterprise rows, every 20th with a negative capital.
fn enterprise_csv(path: &std::path::Path, rows: u32) -> u64 {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "credit_code,ent_name,capital,est_date").unwrap();
    let mut bad = 0;
    for i in 0..rows {
        let capital = if i % 20 == 0 {
            bad += 1;
            -1.0
        } else {
            f64::from(i % 1000) + 0.5
        };
        writeln!(f, "{},临江企业{i}号,{capital},2015-06-{:02}", credit_code(i), i % 28 + 1).unwrap();
    }
    bad
}

/// covers: R-AGG-01, R-AGG-02 (a load killed at any moment leaves the previous version or the
/// complete new one, never part of a load; the quarantine matches each version; the database
/// catches up with the lake at the next start)
#[tokio::test]
async fn loads_killed_with_sigkill_leave_whole_versions_on_every_backend() {
    for backend in backends() {
        let mut srv = TestServer::start(&backend);
        let b = backend.name();
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let (id, code) = publish(&officer, &reviewer, "企业登记信息（断电测试）").await;
        let file = srv.dir.path().join("ent.csv");
        let rows = 40_000;
        let bad = enterprise_csv(&file, rows);
        let lake = pdp_lake::Lake::open(srv.dir.path().join("lake").to_str().unwrap()).unwrap();

        // One whole load first, to know how long a load takes here; kill points are then spread
        // uniformly over that time, from process start to the commit.
        let load = || srv.spawn_load(&code, &file);
        let t0 = std::time::Instant::now();
        assert!(load().wait().unwrap().success());
        let span = (t0.elapsed().as_millis() as u64).max(50);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ u64::from(std::process::id());
        let mut kills = 0;
        let mut completed = 0;
        // Loads get faster once caches are warm (and slower while other tests run), so a kill
        // point can fall after a load has finished; go on until 20 loads were killed.
        for round in 0..80 {
            if kills >= 20 {
                break;
            }
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let delay = std::time::Duration::from_millis(seed % span);
            let mut child = load();
            std::thread::sleep(delay);
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap(); // SIGKILL
                kills += 1;
            } else {
                completed += 1;
            }
            child.wait().unwrap();

            // Every committed version holds exactly one whole load.
            for v in lake.versions(&code).await.unwrap().iter().skip(1) {
                let note = v.note.as_ref().unwrap();
                assert_eq!(note.stats.input_rows, u64::from(rows), "{b} round {round} v{}", v.version);
                assert_eq!(note.stats.quarantined, bad);
                let page = lake.rows(&code, Some(v.version), None, 0, 1).await.unwrap();
                assert_eq!(page.total, u64::from(rows) - bad, "{b} round {round}: version {} is partial", v.version);
                assert_eq!(lake.quarantine(&code, v.version).await.unwrap().len() as u64, bad);
            }
        }
        assert!(kills >= 20, "{b}: only {kills} kills ({completed} loads completed first)");

        // The server, restarted, records every committed version it did not know.
        let versions = lake.versions(&code).await.unwrap().len() - 1;
        srv.restart();
        let officer = srv.login("officer").await;
        let (_, loads) = officer.get_json(&format!("/api/v1/datasets/{id}/loads")).await;
        assert_eq!(loads.as_array().unwrap().len(), versions, "{b}: {loads}");
    }
}

/// covers: R-AGG-02 (`pdp load` from the console, recorded like an upload)
#[tokio::test]
async fn pdp_load_command() {
    let backend = backends().remove(0);
    let srv = TestServer::start(&backend);
    let officer = srv.login("officer").await;
    let reviewer = srv.login("reviewer").await;
    let (id, code) = publish(&officer, &reviewer, "企业登记信息（命令行）").await;
    let file = srv.dir.path().join("ent.csv");
    let bad = enterprise_csv(&file, 500);
    let out = srv.pdp(&["load", "--dataset", &code, "--file", file.to_str().unwrap(), "--as", "officer", "--quiet"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("{} accepted, {bad} quarantined", 500 - bad)), "{stdout}");
    let (_, loads) = officer.get_json(&format!("/api/v1/datasets/{id}/loads")).await;
    assert_eq!(loads[0]["source"], "ent.csv");
    // Someone who is not the provider's officer cannot load from the console either.
    let out = srv.pdp(&["load", "--dataset", &code, "--file", file.to_str().unwrap(), "--as", "xs.officer", "--quiet"]);
    assert_eq!(out.status.code(), Some(2));

    // covers: R-AGG-01 (retention): a second full load replaces the first; `pdp lake vacuum`
    // with no retention deletes the first version's files, and the latest stays readable.
    let out = srv.pdp(&["load", "--dataset", &code, "--file", file.to_str().unwrap(), "--as", "officer", "--quiet"]);
    assert!(out.status.success());
    let (_, before) = officer.get_json(&format!("/api/v1/datasets/{id}/data?version=1")).await;
    assert_eq!(before["total"], 500 - bad);
    let out = srv.pdp(&["lake", "vacuum", "--retention-days", "0"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("{code}: ")), "{stdout}");
    let (s, _) = officer.get_json(&format!("/api/v1/datasets/{id}/data?version=1")).await;
    assert_ne!(s, reqwest::StatusCode::OK, "version 1 is past retention");
    let (_, now) = officer.get_json(&format!("/api/v1/datasets/{id}/data")).await;
    assert_eq!(now["total"], 500 - bad);
    let auditor = srv.login("auditor").await;
    let (_, ev) = auditor.get_json("/api/v1/audit/events?action=dataset.retention").await;
    assert!(ev.as_array().unwrap().iter().any(|e| e["object"].as_str().unwrap_or_default().contains(&code)), "{ev}");
}
