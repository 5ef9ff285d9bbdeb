//! Hostile input against a running server: oversized offsets, a sparse XLSX that declares an
//! enormous sheet, a multi-megabyte username, uploads and bodies past their limits, and
//! concurrent password guesses. After each the server still answers `/healthz`, refused input
//! changed nothing, and the audit chain verifies.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::datasets::publish;
use crate::governance::audit_count;
use crate::server::{TestServer, backends};

/// A workbook whose only cells are A1 and XFD1048576: a few kilobytes that a dense reader
/// would turn into 17 billion cells.
fn sparse_xlsx() -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "统一社会信用代码").unwrap();
    ws.write_string(1_048_575, 16_383, "x").unwrap();
    wb.save_to_buffer().unwrap()
}

async fn healthy(srv: &TestServer, b: &str) {
    let (s, body) = srv.anonymous().get("/healthz").await;
    assert_eq!(s, StatusCode::OK, "{b}: {body}");
}

/// covers: R-SEC-05, R-SEC-06 (no request ends or swells the process: every offset bounded,
/// XLSX read cell by cell within limits, bodies and uploads capped, the username bounded before
/// any audit write, the login throttle race-free), R-SEC-03 (refusals lose nothing and the
/// chain verifies)
#[tokio::test]
async fn hostile_input_leaves_the_server_answering_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start_with(
            &backend,
            &[("PDP_LIMITS__BODY_BYTES", "262144"), ("PDP_LIMITS__UPLOAD_BYTES", "1048576")],
        );
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let auditor = srv.login("auditor").await;
        let (id, _code) = publish(&officer, &reviewer, "企业登记信息（恶意输入测试）").await;
        let csv = format!(
            "统一社会信用代码,企业名称,注册资本,成立日期\n{},临江甲公司,1,2020-01-02\n",
            crate::datasets::credit_code(7)
        );
        let (s, r) = officer.post_bytes(&format!("/api/v1/datasets/{id}/loads?filename=a.csv"), csv.into_bytes()).await;
        assert_eq!((s, r["version"].as_u64()), (StatusCode::OK, Some(1)), "{b}: {r}");

        // 1. Offsets past the bound are a clear 400, wherever they are taken.
        for path in [
            "/api/v1/catalog/entries?offset=9223372036854775807".to_string(),
            "/api/v1/catalog/entries?offset=-1".to_string(),
            "/api/v1/catalog/search?q=企业&offset=18446744073709551615".to_string(),
            format!("/api/v1/datasets/{id}/data?offset=18446744073709551615&limit=500"),
            "/api/v1/base/person?offset=18446744073709551615".to_string(),
        ] {
            let (s, e) = reviewer.get_json(&path).await;
            let (s, e) = if s == StatusCode::FORBIDDEN { officer.get_json(&path).await } else { (s, e) };
            assert_eq!(
                (s, e["code"].as_str()),
                (StatusCode::BAD_REQUEST, Some("offset_out_of_range")),
                "{b} {path}: {e}"
            );
            assert!(e["message"].as_str().is_some_and(|m| m.contains("offset")), "{b}: {e}");
        }
        let (s, page) = officer.get_json(&format!("/api/v1/datasets/{id}/data?offset=1000000&limit=500")).await;
        assert_eq!(s, StatusCode::OK, "{b}: the bound itself is allowed: {page}");
        healthy(&srv, b).await;

        // 2. The sparse workbook is refused by both readers, before anything is allocated.
        let xlsx = sparse_xlsx();
        assert!(xlsx.len() < 20_000, "{b}: the hostile file is small ({} bytes)", xlsx.len());
        let (s, r) = officer.post_bytes("/api/v1/catalog/import", xlsx.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: {r}");
        assert!(r["details"].as_array().is_some_and(|d| d.iter().any(|i| i["code"] == "file_too_large")), "{b}: {r}");
        let (s, r) = officer.post_bytes(&format!("/api/v1/datasets/{id}/loads?filename=big.xlsx"), xlsx).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: {r}");
        assert!(r.to_string().contains("列") || r.to_string().contains("column"), "{b}: names the limit: {r}");
        healthy(&srv, b).await;

        // 3. An upload past limits.upload_bytes is refused (413, or the connection closed while
        //    the rest is still being sent) and loads nothing.
        let big = vec![b'a'; 3 << 20];
        let res = reqwest::Client::new()
            .post(format!("{}/api/v1/datasets/{id}/loads?filename=big.csv", srv.url))
            .header("cookie", officer.cookie.clone().unwrap())
            .header("x-csrf-token", officer.csrf.clone())
            .body(big)
            .send()
            .await;
        if let Ok(res) = res {
            assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "{b}");
            let e: Value = res.json().await.unwrap_or(Value::Null);
            assert_eq!(e["code"], "upload_too_large", "{b}: {e}");
        }
        // A JSON body past limits.body_bytes is a 413 with its code.
        let (s, e) = officer.post_json("/api/v1/catalog/entries", json!({"body": {"name": "x".repeat(300_000)}})).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large")), "{b}: {e}");
        let (_, loads) = officer.get_json(&format!("/api/v1/datasets/{id}/loads")).await;
        assert_eq!(loads.as_array().map(|l| l.len()), Some(1), "{b}: refused files load nothing: {loads}");
        healthy(&srv, b).await;

        // 4. A long username is refused before the throttle and the audit chain see it.
        let logins = audit_count(&auditor, "auth.login").await;
        let long = "a".repeat(200_000);
        let res = TestServer::http()
            .post(format!("{}/login", srv.url))
            .form(&[("username", long.as_str()), ("password", "x"), ("next", "/")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{b}");
        assert!(res.text().await.unwrap().contains("32"), "{b}: the message names the limit");
        let huge = "a".repeat(3 << 20);
        let res = TestServer::http()
            .post(format!("{}/login", srv.url))
            .form(&[("username", huge.as_str()), ("password", "x")])
            .send()
            .await;
        if let Ok(res) = res {
            assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "{b}");
        }
        assert_eq!(audit_count(&auditor, "auth.login").await, logins, "{b}: nothing written for them");
        healthy(&srv, b).await;

        // 5. Concurrent guesses at one account: exactly login_max_failures (5) are checked, the
        //    rest are throttled, and then even the right password waits for the window.
        let url = format!("{}/login", srv.url);
        let guesses = (0..16).map(|i| {
            let url = url.clone();
            async move {
                TestServer::http()
                    .post(url)
                    .form(&[("username", "approver"), ("password", &format!("wrong-{i}")), ("next", "/")])
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        });
        let statuses = futures::future::join_all(guesses).await;
        let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
        let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
        assert_eq!((checked, throttled), (5, 11), "{b}: {statuses:?}");
        assert_eq!(
            srv.login_with("approver", &srv.accounts["approver"]).await.err(),
            Some(StatusCode::TOO_MANY_REQUESTS)
        );
        healthy(&srv, b).await;

        // 6. A flood of bad API keys is refused and audited, but at a bounded rate: the chain
        //    records the attack without being filled by it (R-SEC-03).
        let before = audit_count(&auditor, "auth.api_key").await;
        let guessers: Vec<_> = (0..60).map(|i| srv.with_key(&format!("pdp_{i}_guess"))).collect();
        let answers = futures::future::join_all(guessers.iter().map(|c| c.get_json("/api/v1/me"))).await;
        assert!(answers.iter().all(|(s, e)| *s == StatusCode::UNAUTHORIZED && e["code"] == "invalid_api_key"), "{b}");
        let audited = audit_count(&auditor, "auth.api_key").await - before;
        assert!((1..=20).contains(&audited), "{b}: {audited} of 60 bad keys audited");
        // Another organisation's grant is "not found", and the probe is audited.
        let xs = srv.login("xs.officer").await;
        let xs_org = xs.get_json("/api/v1/me").await.1["org_id"].as_i64().unwrap();
        let (_, grants) = xs.get_json("/api/v1/share/grants").await;
        let theirs =
            grants.as_array().unwrap().iter().find(|g| g["user_org_id"] == xs_org).expect("a demo grant of 西山区");
        let url = format!("/api/v1/share/grants/{}/verify", theirs["id"]);
        let (s, e) = officer.post_json(&url, json!({"key": "x", "values": {"a": "b"}})).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{b}: {e}");
        assert!(audit_count(&auditor, "share.access.other_org").await >= 1, "{b}");
        healthy(&srv, b).await;

        // 7. What a user typed never runs as a formula in a CSV the platform writes (R-SEC-05):
        //    a login attempt as `=hyperlink(…)` lands in the audit log, and its export shows the
        //    cell as text.
        let formula = "=hyperlink(\"x\")";
        let res = TestServer::http()
            .post(format!("{}/login", srv.url))
            .form(&[("username", formula), ("password", "x"), ("next", "/")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{b}");
        let csv = String::from_utf8(auditor.get_bytes("/api/v1/audit/events.csv?action=auth.login").await).unwrap();
        let line = csv.lines().find(|l| l.contains("hyperlink")).unwrap_or_else(|| panic!("{b}: {csv}"));
        assert!(line.contains(",\"'=hyperlink(\"\"x\"\")\","), "{b}: {line}");
        assert!(!line.split(',').any(|cell| cell.starts_with('=')), "{b}: {line}");

        // Nothing was lost: the dataset is as loaded and the chain verifies.
        let (_, rows) = officer.get_json(&format!("/api/v1/datasets/{id}/data")).await;
        assert_eq!(rows["total"], 1, "{b}: {rows}");
        let (s, v) = auditor.post_json("/api/v1/audit/verify", json!({})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {v}");
        assert_eq!(v["intact"], true, "{b}: {v}");
    }
}
