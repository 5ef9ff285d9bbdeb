//! Sharing between organisations on every backend: routing by share type, the provider's
//! working-day deadline and escalation, negotiation and the authority's decision, scenarios,
//! grants and their life cycle, and the four share modes enforced on every access.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::governance::{audit_count, exec, id, today};
use crate::server::{Client, TestServer, backends};

/// A person dataset offered in every mode, with an unmasked district and a numeric age for
/// statistics.
fn body(name: &str, share_type: &str) -> Value {
    let mut b = body_of(name, share_type);
    match share_type {
        // The grading matrix lets only L1 and L2 data be shared unconditionally.
        "unconditional" => {
            for f in b["fields"].as_array_mut().into_iter().flatten() {
                if f["grade"] == "l3" {
                    f["grade"] = json!("l2");
                }
            }
        }
        // Not-shared data offers no share modes.
        "not_shared" => b["share"]["modes"] = json!([]),
        _ => {}
    }
    b
}

fn body_of(name: &str, share_type: &str) -> Value {
    json!({
        "name": name,
        "summary": "人员信息，供共享测试使用",
        "class": "base",
        "item": "01",
        "format": "database",
        "frequency": "daily",
        "identifier_field": "id_no",
        "fields": [
            {"name": "id_no", "label": "公民身份号码", "data_type": "text", "grade": "l3", "personal": true,
             "identifier": "citizen_id", "mask": "id_number", "purpose": "唯一识别", "rules": {"key": true}},
            {"name": "person_name", "label": "姓名", "data_type": "text", "grade": "l2", "personal": true,
             "mask": "name", "purpose": "核对身份"},
            {"name": "address", "label": "住址", "data_type": "text", "grade": "l3", "personal": true,
             "mask": "address", "purpose": "属地管辖"},
            {"name": "district", "label": "所属区", "data_type": "text", "grade": "l1"},
            {"name": "age", "label": "年龄", "data_type": "integer", "grade": "l1"}
        ],
        "share": {"share_type": share_type, "conditions": "依法履职", "modes": ["bulk", "view", "verify", "statistics"],
                  "legal_basis": "《临江市公共数据管理办法》第十八条"},
        "open": {"open_type": "not_open", "legal_basis": "涉及个人信息"}
    })
}

pub(crate) async fn publish(officer: &Client, reviewer: &Client, name: &str, share_type: &str) -> i64 {
    let (s, e) = officer.post_json("/api/v1/catalog/entries", json!({ "body": body(name, share_type) })).await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let id = e["entry_id"].as_i64().unwrap();
    let (s, e) = officer.post_json(&format!("/api/v1/catalog/entries/{id}/submit"), json!({"version": 1})).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, e) = reviewer.post_json(&format!("/api/v1/catalog/entries/{id}/approve"), json!({"version": 1})).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    id
}

/// Twelve people: eight in 东湖区, three in 西山区, one in 南港区.
pub(crate) fn people() -> Vec<(String, &'static str, &'static str, &'static str, u32)> {
    let names = ["张三丰", "李四", "王五", "赵六", "钱七", "孙八", "周九", "吴十", "郑一", "冯二", "陈三", "褚四"];
    (0..12u32)
        .map(|i| {
            let district = match i {
                0..=7 => "东湖区",
                8..=10 => "西山区",
                _ => "南港区",
            };
            (id("350102", 100 + i), names[i as usize], "临江市东湖路100号东湖花园3栋", district, 30 + i)
        })
        .collect()
}

pub(crate) async fn load(officer: &Client, entry: i64) {
    let mut csv = String::from("id_no,person_name,address,district,age\n");
    for (id, name, addr, d, age) in people() {
        csv.push_str(&format!("{id},{name},{addr},{d},{age}\n"));
    }
    let (s, r) =
        officer.post_bytes(&format!("/api/v1/datasets/{entry}/loads?format=csv&mode=full"), csv.into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["accepted"], 12, "{r}");
}

pub(crate) fn request(entry: i64, mode: &str, fields: &[&str]) -> Value {
    json!({
        "entry_id": entry, "fields": fields, "mode": mode, "scenario": "企业登记核验申请人身份",
        "legal_basis": "《市场主体登记管理条例》第十六条", "purpose": "核验登记申请人身份信息",
        "until": (today() + time::Duration::days(90)).to_string(), "pledge": true
    })
}

/// covers: R-SHR-03 (conditional data to the provider, answered within 10 working days, with a
/// reason for refusal; unconditional data granted at once), R-SHR-04 (view, verify,
/// statistics and bulk enforced on the server: only granted fields, masked; verify returns no
/// data; small cells suppressed), R-SHR-05 (scenario, legal basis, purpose, pledge; least-data
/// check), R-SHR-06 (approval fixes fields, masking, row filter and expiry), R-SHR-07 (a
/// request within a scenario is granted directly), R-SHR-12 (every access logged with
/// grant, mode, rows, fields and hashes), R-SHR-13 (suspension, resumption, revocation and
/// expiry take effect on the next request), R-SEC-03
#[tokio::test]
async fn requests_grants_and_the_four_modes_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        // The concurrency check below sends 40 verifications at once; the per-grant limit has
        // a test of its own.
        let srv = TestServer::start_with(&backend, &[("PDP_SECURITY__VERIFY_RATE_PER_GRANT", "1000")]);
        let officer = srv.login("officer").await; // the provider's data officer
        let approver = srv.login("approver").await; // the provider's approver
        let xs = srv.login("xs.officer").await; // the requesting organisation
        let reviewer = srv.login("reviewer").await; // the city authority
        let auditor = srv.login("auditor").await;
        let entry = publish(&officer, &reviewer, "人员信息（共享测试）", "conditional").await;
        load(&officer, entry).await;

        // A request needs the pledge and its statements; the provider cannot request its own data.
        let mut no_pledge = request(entry, "view", &["id_no", "person_name"]);
        no_pledge["pledge"] = json!(false);
        let (s, r) = xs.post_json("/api/v1/share/requests", no_pledge).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("share_pledge_required")), "{b}: {r}");
        let (s, r) = officer.post_json("/api/v1/share/requests", request(entry, "view", &["id_no"])).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("share_own_data")), "{b}: {r}");
        let (s, r) = xs.post_json("/api/v1/share/requests", request(entry, "view", &["salary"])).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("share_unknown_field")), "{b}: {r}");
        let (s, _) = approver.post_json("/api/v1/share/requests", request(entry, "view", &["id_no"])).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: an approver does not request");

        // Conditional data goes to the provider with a deadline of 10 working days.
        let (s, view_req) =
            xs.post_json("/api/v1/share/requests", request(entry, "view", &["id_no", "person_name", "address"])).await;
        // Past the last holiday table the deadline is still given, provisional (weekdays alone).
        let expected = pdp_domain::sharing::approval_due(&pdp_domain::calendar::WorkCalendar::official(), today())
            .expect("a deadline is always given from today");
        let due = expected.due;
        assert_eq!(s, StatusCode::OK, "{b}: {view_req}");
        assert_eq!(view_req["due_provisional"], expected.provisional, "{b}: {view_req}");
        assert_eq!(view_req["status"], "pending");
        assert_eq!(view_req["route"], "provider_approval");
        assert_eq!(view_req["due_date"], due.to_string(), "{b}");
        assert!(view_req["grant_id"].is_null());
        let rid = view_req["id"].as_i64().unwrap();
        let (_, queue) = approver.get_json("/api/v1/share/requests?view=incoming&open=true").await;
        assert!(queue.as_array().unwrap().iter().any(|r| r["id"] == rid && r["can_approve"] == true), "{b}: {queue}");
        // The requester cannot approve its own request, nor widen it at approval.
        let (s, _) = xs.post_json(&format!("/api/v1/share/requests/{rid}/approve"), json!({})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        let (s, r) = approver
            .post_json(&format!("/api/v1/share/requests/{rid}/approve"), json!({"fields": ["id_no", "age"]}))
            .await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("share_fields_widened")), "{b}: {r}");
        let (s, r) = approver
            .post_json(&format!("/api/v1/share/requests/{rid}/approve"), json!({"masking": {"id_no": "none"}}))
            .await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("share_weaker_mask")), "{b}: {r}");
        // Approved for two fields, names pseudonymised, rows of 东湖区 only.
        let (s, r) = approver
            .post_json(
                &format!("/api/v1/share/requests/{rid}/approve"),
                json!({"fields": ["id_no", "person_name"], "masking": {"person_name": "pseudonym"},
                       "row_filters": [{"field": "district", "op": "eq", "values": ["东湖区"]}],
                       "note": "仅限东湖区"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        assert_eq!(r["status"], "granted");
        let view_grant = r["grant"]["id"].as_i64().unwrap();
        assert_eq!(r["grant"]["fields"], json!(["id_no", "person_name"]));
        // A second approval of the same request conflicts.
        let (s, _) = approver.post_json(&format!("/api/v1/share/requests/{rid}/approve"), json!({})).await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}");

        // View: only granted fields, masked; the row filter hides other districts.
        let people = people();
        let (dh_person, xs_person) = (&people[0], &people[8]);
        let (s, v) =
            xs.post_json(&format!("/api/v1/share/grants/{view_grant}/records"), json!({"key": dh_person.0})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {v}");
        assert_eq!(v["columns"], json!(["id_no", "person_name"]), "{b}: no ungranted field");
        let row = &v["rows"][0];
        let idm = row[0].as_str().unwrap();
        assert_eq!(idm, format!("{}********{}", &dh_person.0[..6], &dh_person.0[14..]), "{b}");
        let pseud = row[1].as_str().unwrap();
        assert_eq!(pseud.len(), 32, "{b}: a keyed pseudonym");
        assert!(!v.to_string().contains(dh_person.1) && !v.to_string().contains("东湖路"), "{b}: {v}");
        let (_, v2) =
            xs.post_json(&format!("/api/v1/share/grants/{view_grant}/records"), json!({"key": xs_person.0})).await;
        assert_eq!(v2["total"], 0, "{b}: outside the row filter: {v2}");
        // The key travels in the body: a lookup with the citizen ID in the URL is not served (R-SEC-03).
        let (s, _) = xs.get(&format!("/api/v1/share/grants/{view_grant}/records?key={}", dh_person.0)).await;
        assert!(s.is_client_error(), "{b}: no lookup by GET, got {s}");
        // Only the user organisation may use the grant, and only in its mode.
        let (s, _) =
            officer.post_json(&format!("/api/v1/share/grants/{view_grant}/records"), json!({"key": dh_person.0})).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
        let (s, r) = xs
            .post_json(
                &format!("/api/v1/share/grants/{view_grant}/verify"),
                json!({"key": dh_person.0, "values": {"person_name": "x"}}),
            )
            .await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::FORBIDDEN, Some("grant_wrong_mode")), "{b}: {r}");

        // Verify: verdicts only, never the data.
        let (_, r) =
            xs.post_json("/api/v1/share/requests", request(entry, "verify", &["id_no", "person_name", "age"])).await;
        let vid = r["id"].as_i64().unwrap();
        let (s, r) = approver.post_json(&format!("/api/v1/share/requests/{vid}/approve"), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        let verify_grant = r["grant"]["id"].as_i64().unwrap();
        let (s, r) = xs
            .post_json(
                &format!("/api/v1/share/grants/{verify_grant}/verify"),
                json!({"key": dh_person.0, "values": {"person_name": dh_person.1, "age": "99"}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        assert_eq!(r["found"], true);
        assert_eq!(r["matches"], json!({"age": false, "person_name": true}), "{b}");
        assert!(!r.to_string().contains(&format!("{}", dh_person.4)), "{b}: the real age never leaves: {r}");
        let (s, r) = xs
            .post_json(
                &format!("/api/v1/share/grants/{verify_grant}/verify"),
                json!({"key": dh_person.0, "values": {"address": "x"}}),
            )
            .await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::FORBIDDEN, Some("share_field_not_granted")), "{b}: {r}");

        // Concurrent accesses share audit transactions (group commit), yet each is counted,
        // each has its own event, and the chain stays intact.
        let before = audit_count(&auditor, "share.access.verify").await;
        let (_, g) = xs.get_json(&format!("/api/v1/share/grants/{verify_grant}")).await;
        let used = g["usage"]["accesses"].as_i64().unwrap();
        let url = format!("/api/v1/share/grants/{verify_grant}/verify");
        let calls =
            (0..40).map(|i| xs.post_json(&url, json!({"key": dh_person.0, "values": {"age": (20 + i).to_string()}})));
        let answers = futures::future::join_all(calls).await;
        assert!(answers.iter().all(|(s, r)| *s == StatusCode::OK && r["found"] == true), "{b}: {answers:?}");
        let matched = answers.iter().filter(|(_, r)| r["matches"]["age"] == true).count();
        assert_eq!(matched, 1, "{b}: exactly one claimed age is the real one");
        let (_, g) = xs.get_json(&format!("/api/v1/share/grants/{verify_grant}")).await;
        assert_eq!(g["usage"]["accesses"].as_i64().unwrap(), used + 40, "{b}: {g}");
        assert_eq!(audit_count(&auditor, "share.access.verify").await, before + 40, "{b}");
        let (s, v) = auditor.post_json("/api/v1/audit/verify", json!({})).await;
        assert_eq!((s, v["intact"].as_bool()), (StatusCode::OK, Some(true)), "{b}: {v}");

        // Statistics: by district, cells under 5 suppressed; masked fields are no dimension.
        let (_, r) =
            xs.post_json("/api/v1/share/requests", request(entry, "statistics", &["district", "age", "id_no"])).await;
        let sid = r["id"].as_i64().unwrap();
        let (_, r) = approver.post_json(&format!("/api/v1/share/requests/{sid}/approve"), json!({})).await;
        let stats_grant = r["grant"]["id"].as_i64().unwrap();
        let (s, r) = xs
            .post_json(
                &format!("/api/v1/share/grants/{stats_grant}/statistics"),
                json!({"group_by": ["district"], "measure": "sum", "field": "age"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        let cells = r["cells"].as_array().unwrap();
        let cell = |d: &str| cells.iter().find(|c| c["dimensions"][0] == d).cloned().unwrap();
        assert_eq!(cell("东湖区")["count"], 8, "{b}: {r}");
        assert_eq!(cell("东湖区")["value"], (30..38).sum::<u32>().to_string(), "{b}: {r}");
        // Suppressed cells are not listed: not even their dimension values (R-SHR-04).
        assert_eq!((cells.len(), r["suppressed_cells"].as_u64()), (1, Some(2)), "{b}: {r}");
        assert!(!r.to_string().contains("西山区") && !r.to_string().contains("南港区"), "{b}: {r}");
        // The usage record counts the rows aggregated (8 + 3 + 1), not the cells shown.
        let (_, g) = xs.get_json(&format!("/api/v1/share/grants/{stats_grant}")).await;
        assert_eq!(g["usage"]["rows"], 12, "{b}: {g}");
        // Secondary suppression (R-SHR-04): with a smallest group of 2 only 南港区 (1) is under
        // it, but the grand total is a query away (12), so 西山区 (3) would give 南港区 back as
        // 12 - 8 - 3; the smallest shown cell of that margin is withheld too.
        let (_, r) = xs.post_json("/api/v1/share/requests", request(entry, "statistics", &["district", "age"])).await;
        let sid = r["id"].as_i64().unwrap();
        let (s, r) =
            approver.post_json(&format!("/api/v1/share/requests/{sid}/approve"), json!({"min_group": 2})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        let small_grant = r["grant"]["id"].as_i64().unwrap();
        let stats = format!("/api/v1/share/grants/{small_grant}/statistics");
        let (_, total) = xs.post_json(&stats, json!({"measure": "count"})).await;
        assert_eq!(total["cells"][0]["count"], 12, "{b}: the grand total is asked for separately: {total}");
        let (s, r) = xs.post_json(&stats, json!({"group_by": ["district"], "measure": "count"})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        assert_eq!((r["min_group"].as_i64(), r["suppressed_cells"].as_u64()), (Some(2), Some(2)), "{b}: {r}");
        let shown: Vec<&str> =
            r["cells"].as_array().unwrap().iter().map(|c| c["dimensions"][0].as_str().unwrap()).collect();
        assert_eq!(shown, ["东湖区"], "{b}: 西山区 is withheld with 南港区: {r}");
        // Sums and averages only of fields the grant leaves unmasked (id_no is masked).
        let (s, e) = xs
            .post_json(
                &format!("/api/v1/share/grants/{stats_grant}/statistics"),
                json!({"measure": "avg", "field": "id_no"}),
            )
            .await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("stats_bad_measure")), "{b}: {e}");
        let (s, r) = xs
            .post_json(&format!("/api/v1/share/grants/{stats_grant}/statistics"), json!({"group_by": ["id_no"]}))
            .await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::FORBIDDEN, Some("stats_dimension_not_allowed")), "{b}: {r}");

        // Bulk: every granted row and field, masked, as CSV.
        let (_, r) = xs.post_json("/api/v1/share/requests", request(entry, "bulk", &["id_no", "district"])).await;
        let bid = r["id"].as_i64().unwrap();
        let (_, r) = approver.post_json(&format!("/api/v1/share/requests/{bid}/approve"), json!({})).await;
        let bulk_grant = r["grant"]["id"].as_i64().unwrap();
        let csv =
            String::from_utf8(xs.get_bytes(&format!("/api/v1/share/grants/{bulk_grant}/export.csv")).await).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "id_no,district", "{b}");
        assert_eq!(lines.len(), 13, "{b}: {csv}");
        for p in &people {
            assert!(!csv.contains(&p.0), "{b}: raw ID numbers never leave in bulk");
        }
        assert!(!csv.contains("张三丰") && !csv.contains("age"), "{b}");

        // Refusal needs a reason, which the requester reads.
        let (_, r) = xs.post_json("/api/v1/share/requests", request(entry, "view", &["address"])).await;
        let refused = r["id"].as_i64().unwrap();
        let (s, r) =
            approver.post_json(&format!("/api/v1/share/requests/{refused}/refuse"), json!({"reason": " "})).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("reason_required")), "{b}: {r}");
        let (s, r) = approver
            .post_json(&format!("/api/v1/share/requests/{refused}/refuse"), json!({"reason": "住址不属于核验身份所需"}))
            .await;
        assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("refused")), "{b}: {r}");
        let (_, r) = xs.get_json(&format!("/api/v1/share/requests/{refused}")).await;
        assert_eq!(r["decision_reason"], "住址不属于核验身份所需", "{b}");

        // Suspension, resumption and revocation take effect on the next request.
        let view_url = format!("/api/v1/share/grants/{view_grant}/records");
        let view_key = json!({"key": dh_person.0});
        let (s, _) = xs.post_json(&format!("/api/v1/share/grants/{view_grant}/suspend"), json!({"reason": "x"})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: the user does not manage its grant");
        let (s, r) = approver
            .post_json(&format!("/api/v1/share/grants/{view_grant}/suspend"), json!({"reason": "超范围使用，限期整改"}))
            .await;
        assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("suspended")), "{b}: {r}");
        let (s, r) = xs.post_json(&view_url, view_key.clone()).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::FORBIDDEN, Some("grant_suspended")), "{b}: {r}");
        let (s, _) =
            approver.post_json(&format!("/api/v1/share/grants/{view_grant}/resume"), json!({"reason": "已整改"})).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, _) = xs.post_json(&view_url, view_key.clone()).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        // A suspension the authority orders is the authority's to lift, not the provider's.
        let (s, _) = reviewer
            .post_json(&format!("/api/v1/share/grants/{view_grant}/suspend"), json!({"reason": "督查发现问题"}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, r) =
            approver.post_json(&format!("/api/v1/share/grants/{view_grant}/resume"), json!({"reason": "已整改"})).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::FORBIDDEN, Some("suspended_by_authority")), "{b}: {r}");
        let (s, _) = reviewer
            .post_json(&format!("/api/v1/share/grants/{view_grant}/resume"), json!({"reason": "整改到位"}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, _) = reviewer
            .post_json(&format!("/api/v1/share/grants/{view_grant}/revoke"), json!({"reason": "违规未整改"}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: the authority may revoke");
        let (s, r) = xs.post_json(&view_url, view_key.clone()).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::FORBIDDEN, Some("grant_revoked")), "{b}: {r}");
        let (s, _) =
            approver.post_json(&format!("/api/v1/share/grants/{view_grant}/resume"), json!({"reason": "x"})).await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}: revocation is final");
        // An expired grant is refused.
        exec(&srv, &format!("UPDATE share_grants SET expires_on = '2020-01-01' WHERE id = {verify_grant}")).await;
        let (s, r) = xs
            .post_json(
                &format!("/api/v1/share/grants/{verify_grant}/verify"),
                json!({"key": dh_person.0, "values": {"age": "30"}}),
            )
            .await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::FORBIDDEN, Some("grant_expired")), "{b}: {r}");

        // Usage and the exchange log.
        let (_, g) = xs.get_json(&format!("/api/v1/share/grants/{view_grant}")).await;
        assert_eq!(g["usage"]["accesses"], 3, "{b}: three served views: {g}");
        let (_, ev) = auditor.get_json("/api/v1/audit/events?action=share.access.view&limit=50").await;
        let ev = ev.as_array().unwrap();
        assert_eq!(ev.len(), 3, "{b}: refused accesses serve nothing and are not usage");
        let detail: Value = serde_json::from_str(ev[0]["detail"].as_str().unwrap()).unwrap();
        assert_eq!(detail["grant"], view_grant);
        assert_eq!(detail["fields"], json!(["id_no", "person_name"]));
        assert_eq!(detail["response_hash"].as_str().unwrap().len(), 64, "{b}: {detail}");
        assert_eq!(ev[0]["request_hash"].as_str().unwrap().len(), 64, "{b}");
        assert_eq!(audit_count(&auditor, "share.access.bulk.end").await, 1, "{b}");
        assert_eq!(audit_count(&auditor, "share.grant.suspend").await, 2, "{b}: the provider's and the authority's");
        assert_eq!(audit_count(&auditor, "share.request.refuse").await, 1, "{b}");

        // Unconditional data is granted at once; the authority sees it.
        let open_entry = publish(&officer, &reviewer, "人员信息（无条件共享测试）", "unconditional").await;
        let (s, r) = xs.post_json("/api/v1/share/requests", request(open_entry, "view", &["id_no", "district"])).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        assert_eq!((r["status"].as_str(), r["route"].as_str()), (Some("granted"), Some("direct")), "{b}: {r}");
        assert!(r["grant"]["id"].is_i64(), "{b}: {r}");
        let (_, all) = reviewer.get_json("/api/v1/share/requests").await;
        assert!(all.as_array().unwrap().iter().any(|x| x["id"] == r["id"]), "{b}");

        // A scenario grants directly what it covers; fields beyond it go to the provider, flagged.
        let (s, sc) = reviewer
            .post_json(
                "/api/v1/share/scenarios",
                json!({"name": "企业开办身份核验", "entry_id": entry, "mode": "verify", "fields": ["id_no", "person_name"],
                       "purpose": "企业开办一件事", "legal_basis": "《优化营商环境条例》"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {sc}");
        let mut within = request(entry, "verify", &["person_name"]);
        within["scenario_id"] = sc["id"].clone();
        let (_, r) = xs.post_json("/api/v1/share/requests", within).await;
        assert_eq!(r["status"], "granted", "{b}: {r}");
        let mut beyond = request(entry, "verify", &["person_name", "address"]);
        beyond["scenario_id"] = sc["id"].clone();
        let (_, r) = xs.post_json("/api/v1/share/requests", beyond).await;
        assert_eq!(r["status"], "pending", "{b}: {r}");
        assert_eq!(r["beyond_need"], json!(["address"]), "{b}: the least-data check");
    }
}

/// covers: R-SHR-03 (a conditional request unanswered by its due date goes to the authority),
/// R-SHR-09 (not-shared data is negotiated, then escalated; the authority's decision is
/// recorded with its reason), R-SEC-03
#[tokio::test]
async fn negotiation_escalation_and_authority_decisions_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let officer = srv.login("officer").await;
        let approver = srv.login("approver").await;
        let xs = srv.login("xs.officer").await;
        let reviewer = srv.login("reviewer").await;
        let auditor = srv.login("auditor").await;
        let closed = publish(&officer, &reviewer, "人员信息（不予共享测试）", "not_shared").await;
        let cond = publish(&officer, &reviewer, "人员信息（逾期测试）", "conditional").await;
        load(&officer, closed).await;

        // Not-shared data cannot be approved or refused outright: only negotiated.
        let (s, r) = xs.post_json("/api/v1/share/requests", request(closed, "verify", &["id_no", "person_name"])).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        assert_eq!((r["status"].as_str(), r["route"].as_str()), (Some("negotiating"), Some("negotiation")), "{b}");
        let nid = r["id"].as_i64().unwrap();
        let (s, r) =
            approver.post_json(&format!("/api/v1/share/requests/{nid}/refuse"), json!({"reason": "不予共享"})).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::CONFLICT, Some("share_request_state")), "{b}: {r}");
        let (s, _) =
            xs.post_json(&format!("/api/v1/share/requests/{nid}/notes"), json!({"body": "履职确需核验身份"})).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, _) = approver
            .post_json(&format!("/api/v1/share/requests/{nid}/notes"), json!({"body": "该数据依法不予共享"}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, r) = reviewer
            .post_json(&format!("/api/v1/share/requests/{nid}/decide"), json!({"grant": true, "reason": "x"}))
            .await;
        assert_eq!(
            (s, r["code"].as_str()),
            (StatusCode::CONFLICT, Some("share_request_state")),
            "{b}: not escalated yet"
        );
        let (s, r) = xs
            .post_json(
                &format!("/api/v1/share/requests/{nid}/escalate"),
                json!({"reason": "协商不成，提请主管部门协调"}),
            )
            .await;
        assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("escalated")), "{b}: {r}");
        assert_eq!(r["can_decide"], false, "{b}: the requester does not decide");
        let (_, r) = reviewer.get_json(&format!("/api/v1/share/requests/{nid}")).await;
        assert_eq!(r["can_decide"], true, "{b}: {r}");
        assert_eq!(r["notes"].as_array().unwrap().len(), 3, "{b}: two messages and the escalation");
        let (s, _) = approver
            .post_json(&format!("/api/v1/share/requests/{nid}/decide"), json!({"grant": true, "reason": "x"}))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: only the authority decides");
        let (s, r) = reviewer
            .post_json(
                &format!("/api/v1/share/requests/{nid}/decide"),
                json!({"grant": true, "reason": "经协调，限核验方式共享", "terms": {"fields": ["id_no", "person_name"]}}),
            )
            .await;
        assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("granted")), "{b}: {r}");
        assert_eq!(r["decision_reason"], "经协调，限核验方式共享");
        let g = r["grant"]["id"].as_i64().unwrap();
        let p0 = &people()[0];
        let (s, r) = xs
            .post_json(
                &format!("/api/v1/share/grants/{g}/verify"),
                json!({"key": p0.0, "values": {"person_name": p0.1}}),
            )
            .await;
        assert_eq!((s, r["matches"]["person_name"].as_bool()), (StatusCode::OK, Some(true)), "{b}: {r}");

        // A conditional request past its due date escalates by itself, and is listed so.
        let (s, r) = xs.post_json("/api/v1/share/requests", request(cond, "view", &["id_no"])).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        let cid = r["id"].as_i64().unwrap();
        exec(&srv, &format!("UPDATE share_requests SET due_date = '2026-01-05' WHERE id = {cid}")).await;
        let (_, list) = reviewer.get_json("/api/v1/share/requests?status=escalated").await;
        assert!(list.as_array().unwrap().iter().any(|x| x["id"] == cid), "{b}: {list}");
        let (s, r) = approver.post_json(&format!("/api/v1/share/requests/{cid}/approve"), json!({})).await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}: the authority has it now: {r}");
        let (s, r) = reviewer
            .post_json(
                &format!("/api/v1/share/requests/{cid}/decide"),
                json!({"grant": false, "reason": "申请用途不明确"}),
            )
            .await;
        assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("refused")), "{b}: {r}");
        let (_, ev) = auditor.get_json("/api/v1/audit/events?action=share.request.escalate&limit=100").await;
        let objects: Vec<&str> = ev.as_array().unwrap().iter().filter_map(|e| e["object"].as_str()).collect();
        for id in [nid, cid] {
            let o = format!("share_request:{id}");
            assert_eq!(
                objects.iter().filter(|x| **x == o).count(),
                1,
                "{b}: one by a party, one by the sweep: {objects:?}"
            );
        }
        assert_eq!(audit_count(&auditor, "share.request.authority_grant").await, 1, "{b}");
        assert_eq!(audit_count(&auditor, "share.request.authority_refuse").await, 1, "{b}");
    }
}

/// The Python `delta-sharing` client (from PyPI, installed by `.ci/run`): lists the tables of
/// the profile and loads the first as a pandas frame; with a second argument, a downloaded
/// Parquet file, reports whether any column chunk carries statistics. It leaves by `os._exit`
/// once its answer is written: the client's native wrapper sometimes aborts while the
/// interpreter tears down ("terminate called without an active exception"), after the work is
/// done, which would fail the test for nothing the server did.
const PY_CLIENT: &str = r#"
import json, os, sys
import delta_sharing
import pyarrow.parquet as pq
profile = sys.argv[1]
tables = delta_sharing.SharingClient(profile).list_all_tables()
out = {"tables": [f"{t.share}.{t.schema}.{t.name}" for t in tables]}
t = tables[0]
df = delta_sharing.load_as_pandas(f"{profile}#{t.share}.{t.schema}.{t.name}")
out["columns"] = list(df.columns)
out["rows"] = [[None if v is None else str(v) for v in r] for r in df.itertuples(index=False)]
if len(sys.argv) > 2:
    md = pq.ParquetFile(sys.argv[2]).metadata
    out["stats"] = any(md.row_group(g).column(c).is_stats_set for g in range(md.num_row_groups) for c in range(md.num_columns))
print(json.dumps(out, ensure_ascii=False))
sys.stdout.flush()
os._exit(0)
"#;

fn python_client(args: &[&std::path::Path]) -> Result<Value, String> {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(PY_CLIENT)
        .args(args)
        .output()
        .expect("python3 runs (the machine's CPython; .ci/run installs delta-sharing from PyPI)");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("the client script prints JSON"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// What a leaker does with a CSV copy, in pandas: 300 rows picked at random, in random order,
/// the columns reversed, saved as Parquet.
const PY_LEAK: &str = r#"
import sys, pandas as pd
df = pd.read_csv(sys.argv[1])
ex = df.sample(n=300, random_state=7)
ex = ex[list(reversed(ex.columns))]
ex.to_parquet(sys.argv[2], index=False)
"#;

/// covers: R-SHR-08 (purpose binding you can check: every bulk copy carries its recipient's
/// fingerprint in its masked values; a 300-row excerpt of a CSV export, re-ordered and converted
/// to Parquet, is traced by `pdp trace` to its grant, organisation and purpose, and a second
/// grant's copy of the same data to the second grant; values in clear are unchanged; the
/// Parquet copy's footer names its grant and purpose; the trace is audited), R-SHR-04
#[tokio::test]
async fn a_leaked_excerpt_names_the_grant_it_came_from() {
    let srv = TestServer::start(&crate::server::backend());
    let officer = srv.login("officer").await;
    let approver = srv.login("approver").await;
    let reviewer = srv.login("reviewer").await;
    let xs = srv.login("xs.officer").await;
    let hr = srv.login("hr.officer").await;
    let auditor = srv.login("auditor").await;
    let entry = publish(&officer, &reviewer, "人员信息（指纹测试）", "conditional").await;
    let mut csv = String::from("id_no,person_name,address,district,age\n");
    let surnames = ["张", "李", "王", "赵", "钱", "孙", "周", "吴"];
    for i in 0..400u32 {
        let name = format!("{}{}", surnames[i as usize % 8], ["伟", "芳", "娜", "敏", "静"][i as usize % 5]);
        let id_no =
            pdp_domain::ids::complete_citizen_id(&format!("35010219{}0101{:03}", 60 + i / 100, i % 100)).unwrap();
        csv.push_str(&format!("{id_no},{name},临江市东湖路{i}号{}栋,东湖区,{}\n", i % 9, 20 + i % 50));
    }
    let (s, r) =
        officer.post_bytes(&format!("/api/v1/datasets/{entry}/loads?format=csv&mode=full"), csv.into_bytes()).await;
    assert_eq!((s, r["accepted"].as_i64()), (StatusCode::OK, Some(400)), "{r}");
    let fields = ["id_no", "person_name", "address", "district", "age"];
    let mut grants = vec![];
    for (user, purpose) in [(&xs, "核验登记申请人身份信息"), (&hr, "办理社会保险参保登记")] {
        let mut ask = request(entry, "bulk", &fields);
        ask["purpose"] = json!(purpose);
        let (_, r) = user.post_json("/api/v1/share/requests", ask).await;
        let rid = r["id"].as_i64().unwrap_or_else(|| panic!("{r}"));
        let (s, r) = approver.post_json(&format!("/api/v1/share/requests/{rid}/approve"), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        grants.push(r["grant_id"].as_i64().unwrap());
    }
    let dir = tempfile::tempdir().unwrap();
    let mut copies = vec![];
    for (user, grant) in [(&xs, grants[0]), (&hr, grants[1])] {
        let (s, text) = user.get(&format!("/api/v1/share/grants/{grant}/export.csv")).await;
        assert_eq!(s, StatusCode::OK, "{text}");
        copies.push(text);
    }
    // The two copies differ only in how their asterisks are written; values in clear are equal.
    assert_ne!(copies[0], copies[1]);
    assert_eq!(copies[0].replace('\u{2217}', "*"), copies[1].replace('\u{2217}', "*"));
    assert!(copies[0].contains('\u{2217}'), "the mark is there");
    let ages: u32 = copies[0].lines().skip(1).map(|l| l.rsplit(',').next().unwrap().parse::<u32>().unwrap()).sum();
    assert_eq!(ages, (0..400u32).map(|i| 20 + i % 50).sum::<u32>(), "values in clear as stored");
    assert!(copies[0].lines().skip(1).all(|l| l.contains(",东湖区,")), "values in clear as stored");

    let trace = |file: &std::path::Path| {
        let out = srv.pdp(&["trace", file.to_str().unwrap()]);
        (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string())
    };
    // What a leaker does with a CSV copy: an excerpt of it, converted to Parquet.
    let leak = |copy: &str, name: &str| {
        let leaked = dir.path().join(format!("{name}.csv"));
        std::fs::write(&leaked, copy).unwrap();
        let excerpt = dir.path().join(format!("{name}.parquet"));
        let out = std::process::Command::new("python3")
            .args(["-c", PY_LEAK, leaked.to_str().unwrap(), excerpt.to_str().unwrap()])
            .output()
            .expect("python3 runs (.ci/run installs pandas and pyarrow with delta-sharing)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        excerpt
    };
    for (i, copy) in copies.iter().enumerate() {
        let (code, text) = trace(&leak(copy, &format!("leak-{i}")));
        assert_eq!(code, Some(0), "{text}");
        let named = format!("traced to grant {} ", grants[i]);
        assert!(text.contains(&named), "copy {i}: {text}");
        let other = format!("traced to grant {} ", grants[1 - i]);
        assert!(!text.contains(&other), "copy {i} is told apart from the other grant's: {text}");
        let org = if i == 0 { "西山区" } else { "人力资源和社会保障局" };
        assert!(text.contains(org) && text.contains(["核验登记申请人身份信息", "办理社会保险参保登记"][i]), "{text}");
        assert!(text.contains("exported"), "{text}");
    }

    // A copy with nothing masked carries the mark in a column of its own.
    let mut ask = request(entry, "bulk", &["district", "age"]);
    ask["purpose"] = json!("统计各区人口年龄结构");
    let (_, r) = hr.post_json("/api/v1/share/requests", ask).await;
    let rid = r["id"].as_i64().unwrap_or_else(|| panic!("{r}"));
    let (s, r) = approver.post_json(&format!("/api/v1/share/requests/{rid}/approve"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let clear_grant = r["grant_id"].as_i64().unwrap();
    let (_, text) = hr.get(&format!("/api/v1/share/grants/{clear_grant}/export.csv")).await;
    assert!(text.starts_with("district,age,pdp_trace\n"), "{}", &text[..80.min(text.len())]);
    let (code, text) = trace(&leak(&text, "leak-clear"));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(&format!("traced to grant {clear_grant} ")), "{text}");

    // A file with no masked value names no grant, and says so.
    let clean = dir.path().join("clean.csv");
    std::fs::write(&clean, "district,age\n东湖区,21\n东湖区,22\n").unwrap();
    let (code, text) = trace(&clean);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("no fingerprint"), "{text}");

    // The Parquet copy's footer names its grant and purpose.
    let parquet = dir.path().join("copy.parquet");
    std::fs::write(&parquet, xs.get_bytes(&format!("/api/v1/share/grants/{}/export.parquet", grants[0])).await)
        .unwrap();
    let (code, text) = trace(&parquet);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!("pdp.grant = {}", grants[0])) && text.contains("pdp.purpose = 核验登记申请人身份信息"),
        "{text}"
    );
    assert!(crate::governance::audit_count(&auditor, "share.trace").await >= 4);
}

/// covers: R-SHR-13 (a grant revoked while its bulk export streams stops the export at the
/// next batch: the client gets a broken download, not the rest of the rows, and the export's end
/// is recorded as a failure with the rows that did leave), R-SHR-12
#[tokio::test]
async fn a_bulk_export_stops_when_its_grant_is_revoked_mid_stream() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const ROWS: u32 = 120_000;
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let officer = srv.login("officer").await;
        let approver = srv.login("approver").await;
        let xs = srv.login("xs.officer").await;
        let reviewer = srv.login("reviewer").await;
        let auditor = srv.login("auditor").await;
        let entry = publish(&officer, &reviewer, "人员信息（批量导出中止测试）", "conditional").await;
        // Enough rows for many of the lake's batches, so that most of them are still unread
        // when the grant ends: a thousand people born on each of 120 days.
        let mut csv = String::from("id_no,person_name,address,district,age\n");
        let born = time::Date::from_calendar_date(1960, time::Month::January, 1).unwrap();
        for i in 0..ROWS {
            let d = born + time::Duration::days(i64::from(i / 1000));
            let day = format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day());
            let id = pdp_domain::ids::complete_citizen_id(&format!("350102{day}{:03}", i % 1000)).unwrap();
            csv.push_str(&format!("{id},张三,临江市东湖路1号,东湖区,{}\n", 20 + i % 50));
        }
        let (s, r) =
            officer.post_bytes(&format!("/api/v1/datasets/{entry}/loads?format=csv&mode=full"), csv.into_bytes()).await;
        assert_eq!((s, r["accepted"].as_u64()), (StatusCode::OK, Some(u64::from(ROWS))), "{b}: {r}");
        let (_, r) = xs.post_json("/api/v1/share/requests", request(entry, "bulk", &["id_no", "district"])).await;
        let rid = r["id"].as_i64().unwrap_or_else(|| panic!("{b}: {r}"));
        let (s, r) = approver.post_json(&format!("/api/v1/share/requests/{rid}/approve"), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        let gid = r["grant_id"].as_i64().unwrap();
        let (_, key) = xs.post_json("/api/v1/api-keys", json!({"name": "批量导出", "expires_in_days": 1})).await;
        let token = key["token"].as_str().unwrap().to_string();

        // A client that reads slowly: a small receive buffer, and nothing read past the start
        // until the grant is revoked.
        let addr: std::net::SocketAddr = srv.url.trim_start_matches("http://").parse().unwrap();
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut conn = socket.connect(addr).await.unwrap();
        let head = format!(
            "GET /api/v1/share/grants/{gid}/export.csv HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        let mut received = vec![0u8; 1024];
        let n = conn.read(&mut received).await.unwrap();
        received.truncate(n);
        assert!(received.starts_with(b"HTTP/1.1 200"), "{b}: {}", String::from_utf8_lossy(&received));
        let (s, r) =
            approver.post_json(&format!("/api/v1/share/grants/{gid}/revoke"), json!({"reason": "用途已结束"})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        // The rest of the download: it ends (the server closes the connection) without the rows
        // of the batches after the revocation and without the chunked body's last chunk.
        tokio::time::timeout(std::time::Duration::from_secs(120), conn.read_to_end(&mut received))
            .await
            .unwrap_or_else(|_| panic!("{b}: the download never ended"))
            .ok();
        let text = String::from_utf8_lossy(&received);
        let rows = text.matches("********").count();
        assert!(rows < ROWS as usize, "{b}: {rows} of {ROWS} rows left after the revocation");
        assert!(!text.ends_with("\r\n0\r\n\r\n"), "{b}: a broken download, not a complete one");

        // The end of the export is on the record as a failure, with the rows that left.
        let (_, ev) = auditor.get_json("/api/v1/audit/events?action=share.access.bulk.end&limit=10").await;
        let end = ev.as_array().and_then(|a| a.first()).cloned().unwrap_or_else(|| panic!("{b}: {ev}"));
        assert_eq!(end["outcome"], "failure", "{b}: {end}");
        let detail: Value = serde_json::from_str(end["detail"].as_str().unwrap()).unwrap();
        let sent = detail["rows"].as_u64().unwrap_or_else(|| panic!("{b}: {detail}"));
        assert!(sent >= rows as u64 && sent < u64::from(ROWS), "{b}: {sent} rows recorded, {rows} received: {detail}");
    }
}

/// covers: R-SHR-04 (bulk over the Delta Sharing protocol: the Python client lists and loads a
/// grant's table; the file served is made for the grant, with only the granted columns, the
/// rows its filter admits, masked values and no column statistics; the file URL is signed and
/// works without the bearer token), R-SHR-13 (revocation refuses the next query and the next
/// file fetch), R-SHR-12 (each query logged as an access with its row count), R-SEC-05
#[tokio::test]
async fn delta_sharing_serves_a_masked_grant_to_the_python_client() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let officer = srv.login("officer").await;
        let approver = srv.login("approver").await;
        let xs = srv.login("xs.officer").await;
        let reviewer = srv.login("reviewer").await;
        let auditor = srv.login("auditor").await;
        let entry = publish(&officer, &reviewer, "人员信息（Delta Sharing 测试）", "conditional").await;
        load(&officer, entry).await;
        let (s, r) =
            xs.post_json("/api/v1/share/requests", request(entry, "bulk", &["id_no", "person_name", "district"])).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        let rid = r["id"].as_i64().unwrap();
        let (s, r) = approver
            .post_json(
                &format!("/api/v1/share/requests/{rid}/approve"),
                json!({"row_filters": [{"field": "district", "op": "eq", "values": ["东湖区"]}]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        let gid = r["grant_id"].as_i64().unwrap();
        let (s, key) = xs.post_json("/api/v1/api-keys", json!({"name": "数据分析工具", "expires_in_days": 30})).await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {key}");
        let token = key["token"].as_str().unwrap().to_string();
        let dir = tempfile::tempdir().unwrap();
        let profile = dir.path().join("pdp.share");
        let endpoint = format!("{}/delta-sharing", srv.url);
        std::fs::write(
            &profile,
            json!({"shareCredentialsVersion": 1, "endpoint": endpoint, "bearerToken": token}).to_string(),
        )
        .unwrap();

        // The protocol by hand: the query lists one signed file with a row count only.
        let http = reqwest::Client::new();
        let table = format!("{endpoint}/shares/grant-{gid}/schemas/pdp/tables");
        let (_, tables) =
            srv.with_key(&token).get_json(&format!("/delta-sharing/shares/grant-{gid}/schemas/pdp/tables")).await;
        let name = tables["items"][0]["name"].as_str().unwrap_or_else(|| panic!("{b}: {tables}")).to_string();
        let resp = http
            .post(format!("{table}/{name}/query"))
            .bearer_auth(&token)
            // A forged Host header changes nothing: file URLs start with the platform's own
            // address (R-SEC-05).
            .header("host", "evil.example")
            .json(&json!({"predicateHints": ["district = '西山区'"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{b}");
        assert!(resp.headers().get("delta-table-version").is_some(), "{b}");
        let lines: Vec<Value> = resp.text().await.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 3, "{b}: protocol, metaData, one file: {lines:?}");
        let file = &lines[2]["file"];
        assert_eq!(
            file["stats"],
            json!({"numRecords": 8}).to_string(),
            "{b}: the grant's rows, whatever the hint: {file}"
        );
        let url = file["url"].as_str().unwrap().to_string();
        assert!(url.starts_with(&format!("{}/delta-sharing/files/", srv.url)), "{b}: {url}");
        let bytes = http.get(&url).send().await.unwrap();
        assert_eq!(bytes.status(), StatusCode::OK, "{b}: a signed URL needs no bearer token");
        let parquet = dir.path().join("served.parquet");
        std::fs::write(&parquet, bytes.bytes().await.unwrap()).unwrap();
        // The Parquet export of the API is the very same file.
        let exported = xs.get_bytes(&format!("/api/v1/share/grants/{gid}/export.parquet")).await;
        assert_eq!(exported, std::fs::read(&parquet).unwrap(), "{b}: one file per grant and version");
        let ranged = http.get(&url).header("range", "bytes=-8").send().await.unwrap();
        assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT, "{b}");
        assert_eq!(&ranged.bytes().await.unwrap()[4..], b"PAR1", "{b}: the footer's magic");
        let flipped = if url.ends_with('0') { '1' } else { '0' };
        let tampered = format!("{}{flipped}", &url[..url.len() - 1]);
        assert_ne!(tampered, url);
        assert_eq!(http.get(&tampered).send().await.unwrap().status(), StatusCode::NOT_FOUND, "{b}");

        // The Python client reads the grant: granted columns, Donghu's eight rows, masked.
        let out = python_client(&[&profile, &parquet]).unwrap_or_else(|e| panic!("{b}: the Python client failed: {e}"));
        assert_eq!(out["tables"], json!([format!("grant-{gid}.pdp.{name}")]), "{b}");
        assert_eq!(out["columns"], json!(["id_no", "person_name", "district"]), "{b}");
        let rows = out["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 8, "{b}: {out}");
        let raw: Vec<_> = people().into_iter().filter(|p| p.3 == "东湖区").collect();
        for row in rows {
            assert_eq!(row[2], "东湖区", "{b}");
            let id = row[0].as_str().unwrap();
            // The recipient fingerprint writes each asterisk as `*` or `∗`.
            assert!(
                id.contains(['*', '\u{2217}'])
                    && raw.iter().any(|p| p.0.starts_with(&id[..6]) && p.0.ends_with(&id[id.len() - 4..])),
                "{b}: {id}"
            );
            assert!(raw.iter().all(|p| p.0 != id && p.1 != row[1]), "{b}: no raw value served: {row}");
        }
        assert_eq!(out["stats"], false, "{b}: no column statistics in the served file");
        assert!(audit_count(&auditor, "share.access.delta_sharing").await >= 2, "{b}");
        // Each download of the file is on the record too, with the bytes that left (R-SHR-12):
        // the whole file, the footer, and the Python client's reads.
        assert!(audit_count(&auditor, "share.access.delta_sharing.file").await >= 3, "{b}");
        assert_eq!(audit_count(&auditor, "share.access.bulk.end").await, 1, "{b}: the Parquet export's end");
        let (_, g) = xs.get_json(&format!("/api/v1/share/grants/{gid}")).await;
        assert!(g["usage"]["rows"].as_i64().unwrap() >= 24, "{b}: {g}");

        // Revoked: the share is gone, the signed URL no longer serves, and the grant's masked
        // copy is deleted with it (R-SEC-05).
        let copies = srv.dir.path().join("lake").join("_shares").join(format!("grant-{gid}"));
        assert!(copies.exists(), "{b}: the served copy is on disk while the grant serves");
        let (s, _) =
            approver.post_json(&format!("/api/v1/share/grants/{gid}/revoke"), json!({"reason": "项目结束"})).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert!(!copies.exists(), "{b}: the revoked grant's copy is deleted");
        let resp =
            http.post(format!("{table}/{name}/query")).bearer_auth(&token).json(&json!({})).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{b}");
        let e: Value = resp.json().await.unwrap();
        assert_eq!(e["errorCode"], "RESOURCE_DOES_NOT_EXIST", "{b}: {e}");
        assert_eq!(http.get(&url).send().await.unwrap().status(), StatusCode::FORBIDDEN, "{b}");
        assert!(python_client(&[&profile]).is_err(), "{b}: the client can no longer read");
        let (_, shares) = srv.with_key(&token).get_json("/delta-sharing/shares").await;
        assert_eq!(shares["items"], json!([]), "{b}");
        // Refusals by the gate itself speak the protocol too.
        let (s, e) = srv.anonymous().get_json("/delta-sharing/shares").await;
        assert_eq!((s, e["errorCode"].as_str()), (StatusCode::UNAUTHORIZED, Some("UNAUTHENTICATED")), "{b}: {e}");
        let (s, e) = srv.with_key(&format!("{token}x")).get_json("/delta-sharing/shares").await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_api_key")), "{b}: {e}");
        assert_eq!(e["errorCode"], "UNAUTHENTICATED", "{b}: {e}");
    }
}

/// covers: R-SHR-10 (an emergency raises the share type of chosen entries for chosen
/// organisations: their requests are granted at once, every access under it is marked, and it
/// stops serving when the emergency ends), R-SHR-11 (the demand list: asked by an organisation,
/// assigned by the authority, fulfilled by the provider with a catalog entry), R-SHR-13
/// (usage reports filed by the user organisation, with the next deadline), R-SEC-03
#[tokio::test]
async fn emergencies_demands_and_usage_reports_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let officer = srv.login("officer").await;
        let approver = srv.login("approver").await;
        let xs = srv.login("xs.officer").await;
        let reviewer = srv.login("reviewer").await;
        let auditor = srv.login("auditor").await;
        let (_, me) = xs.get_json("/api/v1/me").await;
        let xs_org = me["org_id"].as_i64().unwrap();
        let (_, me) = officer.get_json("/api/v1/me").await;
        let market = me["org_id"].as_i64().unwrap();
        let entry = publish(&officer, &reviewer, "人员信息（应急测试）", "conditional").await;
        load(&officer, entry).await;

        // Outside an emergency, conditional data waits for the provider.
        let (s, pending) =
            xs.post_json("/api/v1/share/requests", request(entry, "view", &["id_no", "person_name"])).await;
        assert_eq!((s, pending["status"].as_str()), (StatusCode::OK, Some("pending")), "{b}: {pending}");

        // The authority declares an emergency for this entry and the requesting organisation.
        let ends = (time::OffsetDateTime::now_utc() + time::Duration::hours(2))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let declaration = json!({"name": "防汛应急", "scope": "转移安置受灾群众", "entry_ids": [entry], "org_ids": [xs_org], "ends_at": ends});
        let (s, _) = officer.post_json("/api/v1/share/emergencies", declaration.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: only the authority declares");
        let mut past = declaration.clone();
        past["ends_at"] = json!("2020-01-01 08:00");
        let (s, r) = reviewer.post_json("/api/v1/share/emergencies", past).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("emergency_bad_end")), "{b}: {r}");
        let (s, m) = reviewer.post_json("/api/v1/share/emergencies", declaration).await;
        assert_eq!(s, StatusCode::OK, "{b}: {m}");
        assert_eq!(m["active"], true, "{b}: {m}");
        let eid = m["id"].as_i64().unwrap();

        // Under it the same request is granted at once, and the grant is marked.
        let (s, r) = xs.post_json("/api/v1/share/requests", request(entry, "view", &["id_no", "person_name"])).await;
        assert_eq!(
            (s, r["status"].as_str(), r["emergency_id"].as_i64()),
            (StatusCode::OK, Some("granted"), Some(eid)),
            "{b}: {r}"
        );
        let gid = r["grant_id"].as_i64().unwrap();
        assert_eq!(r["grant"]["emergency_id"], eid, "{b}");
        let key = people()[0].0.clone();
        let (s, v) = xs.post_json(&format!("/api/v1/share/grants/{gid}/records"), json!({"key": key})).await;
        assert_eq!((s, v["rows"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{b}: {v}");
        let (_, events) = auditor.get_json("/api/v1/audit/events?action=share.access.view&limit=10").await;
        let marked = events.as_array().unwrap().iter().any(|e| {
            e["detail"]
                .as_str()
                .and_then(|d| serde_json::from_str::<Value>(d).ok())
                .is_some_and(|d| d["emergency"] == eid)
        });
        assert!(marked, "{b}: the access is marked with the emergency: {events}");
        // Another organisation is not covered.
        let (_, other) = officer.get_json("/api/v1/share/emergencies").await;
        assert!(other.as_array().unwrap().iter().any(|e| e["id"] == eid && e["org_ids"] == json!([xs_org])), "{b}");

        // Ended early: the grant stops serving at once; ending twice is a conflict.
        let (s, m) =
            reviewer.post_json(&format!("/api/v1/share/emergencies/{eid}/end"), json!({"reason": "险情解除"})).await;
        assert_eq!((s, m["active"].as_bool()), (StatusCode::OK, Some(false)), "{b}: {m}");
        let (s, r) = xs.post_json(&format!("/api/v1/share/grants/{gid}/records"), json!({"key": key})).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::FORBIDDEN, Some("share_emergency_over")), "{b}: {r}");
        let (s, _) = reviewer.post_json(&format!("/api/v1/share/emergencies/{eid}/end"), json!({"reason": "x"})).await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}");
        let (_, ev) = auditor.get_json("/api/v1/audit/events?action=share.emergency.declare&limit=10").await;
        let by_reviewer = ev.as_array().unwrap().iter().filter(|e| e["actor"] == "reviewer").count();
        assert_eq!(by_reviewer, 1, "{b}: one declaration (the refused ones are not): {ev}");
        assert_eq!(audit_count(&auditor, "share.emergency.end").await, 1, "{b}");

        // The demand list: asked, assigned by the authority, fulfilled by the provider.
        let (s, d) = xs
            .post_json(
                "/api/v1/share/demands",
                json!({"title": "校外培训机构处罚信息", "description": "按周更新的处罚记录", "purpose": "日常监管"}),
            )
            .await;
        assert_eq!((s, d["status"].as_str()), (StatusCode::OK, Some("open")), "{b}: {d}");
        let did = d["id"].as_i64().unwrap();
        let (_, list) = officer.get_json("/api/v1/share/demands").await;
        assert!(!list.as_array().unwrap().iter().any(|x| x["id"] == did), "{b}: not the provider's business yet");
        let (s, r) = officer
            .post_json(&format!("/api/v1/share/demands/{did}/answer"), json!({"entry_id": entry, "response": "x"}))
            .await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_provider")), "{b}: {r}");
        let (s, d) = reviewer
            .post_json(
                &format!("/api/v1/share/demands/{did}/assign"),
                json!({"provider_org_id": market, "note": "请研究提供"}),
            )
            .await;
        assert_eq!((s, d["status"].as_str()), (StatusCode::OK, Some("assigned")), "{b}: {d}");
        let (_, list) = officer.get_json("/api/v1/share/demands").await;
        assert!(list.as_array().unwrap().iter().any(|x| x["id"] == did && x["can_answer"] == true), "{b}: {list}");
        let (s, d) = officer
            .post_json(
                &format!("/api/v1/share/demands/{did}/answer"),
                json!({"entry_id": entry, "response": "已编目并发布"}),
            )
            .await;
        assert_eq!(
            (s, d["status"].as_str(), d["entry_id"].as_i64()),
            (StatusCode::OK, Some("fulfilled"), Some(entry)),
            "{b}: {d}"
        );
        let (s, _) =
            officer.post_json(&format!("/api/v1/share/demands/{did}/answer"), json!({"response": "再答一次"})).await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}: a fulfilled demand is closed");
        let (_, list) = xs.get_json("/api/v1/share/demands").await;
        assert!(list.as_array().unwrap().iter().any(|x| x["id"] == did && x["status"] == "fulfilled"), "{b}");

        // Usage reports: only the user files them; the next one is due a period later.
        let rid = pending["id"].as_i64().unwrap();
        let (s, r) = approver.post_json(&format!("/api/v1/share/requests/{rid}/approve"), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        let g2 = r["grant_id"].as_i64().unwrap();
        let (s, r) = xs.post_json(&format!("/api/v1/share/grants/{g2}/reports"), json!({"body": "已用"})).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("report_incomplete")), "{b}: {r}");
        let body = json!({"body": "本期核验登记申请人身份 35 次，仅限登记窗口人员使用，无数据安全事件。"});
        let (s, r) = officer.post_json(&format!("/api/v1/share/grants/{g2}/reports"), body.clone()).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::FORBIDDEN, Some("not_grant_user")), "{b}: {r}");
        let (s, r) = xs.post_json(&format!("/api/v1/share/grants/{g2}/reports"), body).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        let (_, reports) = approver.get_json(&format!("/api/v1/share/grants/{g2}/reports")).await;
        assert_eq!(reports.as_array().map(Vec::len), Some(1), "{b}: the provider reads them: {reports}");
        let (_, due) = reviewer.get_json("/api/v1/share/reports/due").await;
        let mine = due.as_array().unwrap().iter().find(|d| d["grant_id"] == g2).cloned().unwrap_or_default();
        let expect = pdp_domain::sharing::report_due(today(), Some(today())).to_string();
        assert_eq!(
            (mine["due"].as_str(), mine["overdue"].as_bool()),
            (Some(expect.as_str()), Some(false)),
            "{b}: {due}"
        );
    }
}

/// The access journal's segments left in a data dir.
/// The access journal's segment files that hold records. The indexer keeps one spare segment
/// ready for the next appends; until then it is all zeros and holds none.
fn journal_segments(srv: &TestServer) -> Vec<std::path::PathBuf> {
    let dir = srv.dir.path().join("access-journal");
    std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| Some(e.ok()?.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .filter(|p| std::fs::read(p).is_ok_and(|bytes| bytes.iter().any(|&b| b != 0)))
                .collect()
        })
        .unwrap_or_default()
}

/// covers: R-SHR-12 (every answered access is on the record: accesses a killed server had
/// written only to its access journal are moved into the database by the next start, exactly
/// once, their details as written; usage counters, exchange-log events and the chain agree),
/// R-SEC-03
#[tokio::test]
async fn accesses_survive_a_killed_server_exactly_once_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        // The journal moves into the database only when a read asks, so the kill finds the
        // last accesses still in it.
        let mut srv = TestServer::start_with(&backend, &[("PDP_AUDIT__ACCESS_JOURNAL_INTERVAL_MS", "3600000")]);
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let approver = srv.login("approver").await;
        let xs = srv.login("xs.officer").await;
        let auditor = srv.login("auditor").await;
        let entry = publish(&officer, &reviewer, "人员信息（访问日志测试）", "conditional").await;
        load(&officer, entry).await;
        let (s, r) = xs.post_json("/api/v1/share/requests", request(entry, "verify", &["id_no", "person_name"])).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        let rid = r["id"].as_i64().unwrap();
        let (s, r) = approver.post_json(&format!("/api/v1/share/requests/{rid}/approve"), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        let grant = r["grant"]["id"].as_i64().unwrap();
        let person = &people()[0];
        let url = format!("/api/v1/share/grants/{grant}/verify");
        let claim = json!({"key": person.0, "values": {"person_name": person.1}});

        // One access, moved into the database by the auditor's read; then five more.
        let (s, r) = xs.post_json(&url, claim.clone()).await;
        assert_eq!((s, &r["matches"]["person_name"]), (StatusCode::OK, &json!(true)), "{b}: {r}");
        assert_eq!(audit_count(&auditor, "share.access.verify").await, 1, "{b}: a read sees the access");
        assert!(journal_segments(&srv).is_empty(), "{b}: moved segments are deleted");
        for _ in 0..5 {
            let (s, r) = xs.post_json(&url, claim.clone()).await;
            assert_eq!(s, StatusCode::OK, "{b}: {r}");
        }
        srv.stop();
        assert_eq!(journal_segments(&srv).len(), 1, "{b}: the killed server left its last accesses in the journal");

        // The next start moves them, once: a second restart finds nothing more to move.
        for start in 1..=2 {
            srv.restart();
            assert!(journal_segments(&srv).is_empty(), "{b}: start {start} moved the journal and deleted it");
            let auditor = srv.login("auditor").await;
            let xs = srv.login("xs.officer").await;
            assert_eq!(audit_count(&auditor, "share.access.verify").await, 6, "{b}: start {start}");
            // Each event's detail came back from the journal as it was written.
            let (_, ev) = auditor.get_json("/api/v1/audit/events?action=share.access.verify&limit=500").await;
            for e in ev.as_array().unwrap() {
                let d: Value = serde_json::from_str(e["detail"].as_str().unwrap()).unwrap();
                assert_eq!((d["grant"].as_i64(), d["mode"].as_str()), (Some(grant), Some("verify")), "{b}: {e}");
                assert_eq!(d["fields"], json!(["person_name"]), "{b}: {e}");
                assert_eq!(d["response_hash"].as_str().map(str::len), Some(64), "{b}: {e}");
            }
            let (_, g) = xs.get_json(&format!("/api/v1/share/grants/{grant}")).await;
            assert_eq!(g["usage"]["accesses"], 6, "{b}: start {start}: {g}");
            assert_eq!(g["usage"]["rows"], 6, "{b}: start {start}: {g}");
            let (s, v) = auditor.post_json("/api/v1/audit/verify", json!({})).await;
            assert_eq!((s, v["intact"].as_bool()), (StatusCode::OK, Some(true)), "{b}: {v}");
        }
    }
}

/// covers: R-SHR-04 (rate limits per API key: a key past its rate is refused with 429,
/// `rate_limited` and Retry-After, and served again once its bucket refills), R-SEC-05
#[tokio::test]
async fn api_keys_are_rate_limited() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start_with(&backend, &[("PDP_SECURITY__API_KEY_RATE_PER_SECOND", "2")]);
        let xs = srv.login("xs.officer").await;
        let (s, key) = xs.post_json("/api/v1/api-keys", json!({"name": "限流测试", "expires_in_days": 1})).await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {key}");
        let app = srv.with_key(key["token"].as_str().unwrap());
        let http = reqwest::Client::new();
        let mut statuses = Vec::new();
        for _ in 0..10 {
            let r = http
                .get(format!("{}/api/v1/share/grants", srv.url))
                .bearer_auth(key["token"].as_str().unwrap())
                .send()
                .await
                .unwrap();
            if r.status() == StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(r.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"), "{b}");
                let e: Value = r.json().await.unwrap();
                assert_eq!(e["code"], "rate_limited", "{b}: {e}");
                statuses.push(429);
            } else {
                statuses.push(r.status().as_u16());
            }
        }
        // A burst of twice the rate passes, then the key waits.
        assert!(statuses[..4].iter().all(|s| *s == 200), "{b}: {statuses:?}");
        assert!(statuses.contains(&429), "{b}: {statuses:?}");
        // Sessions are not limited by a key's bucket.
        let (s, _) = xs.get_json("/api/v1/share/grants").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let (s, _) = app.get_json("/api/v1/share/grants").await;
        assert_eq!(s, StatusCode::OK, "{b}: the bucket refilled");
    }
}

/// covers: R-SHR-04 (verify is no oracle: every caller is limited per grant, whether it comes
/// with a session or an API key), R-SEC-05
#[tokio::test]
async fn verify_is_rate_limited_per_grant() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start_with(&backend, &[("PDP_SECURITY__VERIFY_RATE_PER_GRANT", "3")]);
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let approver = srv.login("approver").await;
        let xs = srv.login("xs.officer").await;
        let entry = publish(&officer, &reviewer, "人员信息（核验限流测试）", "conditional").await;
        load(&officer, entry).await;
        let (s, r) = xs.post_json("/api/v1/share/requests", request(entry, "verify", &["id_no", "person_name"])).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        let rid = r["id"].as_i64().unwrap();
        let (s, r) = approver.post_json(&format!("/api/v1/share/requests/{rid}/approve"), json!({})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        let grant = r["grant"]["id"].as_i64().unwrap();
        let url = format!("/api/v1/share/grants/{grant}/verify");
        let person = &people()[0];
        let mut statuses = Vec::new();
        for i in 0..10 {
            let (s, r) =
                xs.post_json(&url, json!({"key": person.0, "values": {"person_name": format!("猜{i}")}})).await;
            if s == StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(r["code"], "verify_rate_limited", "{b}: {r}");
            }
            statuses.push(s.as_u16());
        }
        // A burst of twice the rate passes, then the grant waits.
        assert!(statuses[..6].iter().all(|s| *s == 200), "{b}: {statuses:?}");
        assert!(statuses[6..].contains(&429), "{b}: {statuses:?}");
        // Another caller of the same grant (an API key) finds the grant's bucket empty too.
        let (s, key) = xs.post_json("/api/v1/api-keys", json!({"name": "核验限流", "expires_in_days": 1})).await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {key}");
        let app = srv.with_key(key["token"].as_str().unwrap());
        let (s, r) = app.post_json(&url, json!({"key": person.0, "values": {"person_name": "再猜"}})).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("verify_rate_limited")), "{b}: {r}");
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let (s, r) = app.post_json(&url, json!({"key": person.0, "values": {"person_name": person.1}})).await;
        assert_eq!((s, r["matches"]["person_name"].as_bool()), (StatusCode::OK, Some(true)), "{b}: refilled: {r}");
    }
}

/// internals, no requirement (records are typed at the storage edge: a grant whose stored status
/// or masking no longer reads is an error naming the row, never a default such as "revoked" or
/// "no masking"; the grant is not served, and nothing else breaks)
#[tokio::test]
async fn an_unreadable_stored_grant_is_an_error_not_a_default() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let approver = srv.login("approver").await;
        let xs = srv.login("xs.officer").await;
        let (_, grant) = view_grant(&officer, &reviewer, &approver, &xs, "人员信息（存储类型测试）").await;
        let (s, _) = xs.get_json(&format!("/api/v1/share/grants/{grant}")).await;
        assert_eq!(s, StatusCode::OK, "{b}");

        for (column, value) in [("status", "'paused'"), ("masking", "'{not json'")] {
            let (_, before) = xs.get_json(&format!("/api/v1/share/grants/{grant}")).await;
            exec(&srv, &format!("UPDATE share_grants SET {column} = {value} WHERE id = {grant}")).await;
            let (s, e) = xs.get_json(&format!("/api/v1/share/grants/{grant}")).await;
            assert_eq!((s, e["code"].as_str()), (StatusCode::INTERNAL_SERVER_ERROR, Some("storage_error")), "{b}: {e}");
            let (s, _) =
                xs.post_json(&format!("/api/v1/share/grants/{grant}/records"), json!({"key": people()[0].0})).await;
            assert_ne!(s, StatusCode::OK, "{b}: a grant that does not read is not served ({column})");
            let restore = match column {
                "status" => format!("'{}'", before["status"].as_str().unwrap()),
                _ => format!("'{}'", serde_json::to_string(&before["masking"]).unwrap()),
            };
            exec(&srv, &format!("UPDATE share_grants SET {column} = {restore} WHERE id = {grant}")).await;
            let (s, g) = xs.get_json(&format!("/api/v1/share/grants/{grant}")).await;
            assert_eq!((s, &g["masking"]), (StatusCode::OK, &before["masking"]), "{b}: restored");
        }
        healthy_catalog(&officer, b).await;
    }
}

async fn healthy_catalog(c: &Client, b: &str) {
    let (s, _) = c.get_json("/api/v1/catalog/entries").await;
    assert_eq!(s, StatusCode::OK, "{b}: the rest of the platform still answers");
}

/// covers: R-SHR-15 (requests for data held at provincial or national level are collected by
/// the city authority, forwarded as a batch exported for the level above, and tracked until
/// answered), R-SEC-03
#[tokio::test]
async fn upward_requests_are_collected_forwarded_and_tracked() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let officer = srv.login("officer").await;
        let xs = srv.login("xs.officer").await;
        let reviewer = srv.login("reviewer").await;
        let auditor = srv.login("auditor").await;
        let ask = |level: &str, holder: &str, data: &str| json!({"level": level, "holder": holder, "data_wanted": data, "purpose": "办理跨省通办事项", "legal_basis": "《国务院办公厅关于加快推进政务服务跨省通办的指导意见》"});
        let (s, r) = xs.post_json("/api/v1/share/upward", ask("county", "省公安厅", "户籍")).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("upward_bad_level")), "{b}: {r}");
        let (s, mine) =
            xs.post_json("/api/v1/share/upward", ask("provincial", "省公安厅", "省外迁入人员户籍信息")).await;
        assert_eq!((s, mine["status"].as_str()), (StatusCode::OK, Some("collected")), "{b}: {mine}");
        let (s, theirs) = officer
            .post_json("/api/v1/share/upward", ask("national", "国家市场监督管理总局", "外省企业登记信息"))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {theirs}");
        let (_, list) = xs.get_json("/api/v1/share/upward").await;
        let ids: Vec<_> = list.as_array().unwrap().iter().map(|u| u["id"].clone()).collect();
        assert!(ids.contains(&mine["id"]) && !ids.contains(&theirs["id"]), "{b}: an organisation sees its own: {list}");

        // The authority forwards everything collected as one batch, once.
        let (s, _) = officer.post_json("/api/v1/share/upward/forward", json!({})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        let (s, f) = reviewer.post_json("/api/v1/share/upward/forward", json!({})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {f}");
        let batch = f["batch"].as_str().unwrap().to_string();
        assert!(batch.starts_with(&today().to_string()), "{b}: {batch}");
        let forwarded: Vec<_> = f["requests"].as_array().unwrap().iter().map(|u| u["id"].clone()).collect();
        assert!(forwarded.contains(&mine["id"]) && forwarded.contains(&theirs["id"]), "{b}: {f}");
        assert!(
            f["requests"]
                .as_array()
                .unwrap()
                .iter()
                .all(|u| u["status"] == "forwarded" && u["batch"] == batch.as_str())
        );
        let (_, again) = reviewer.post_json("/api/v1/share/upward/forward", json!({})).await;
        assert_eq!((again["batch"].as_str(), again["requests"].as_array().map(Vec::len)), (Some(""), Some(0)), "{b}");
        let (s, csv) = reviewer.get(&format!("/api/v1/share/upward/batches/{batch}")).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert!(
            csv.starts_with('\u{feff}') && csv.contains("省外迁入人员户籍信息") && csv.contains("外省企业登记信息"),
            "{b}: {csv}"
        );
        let (s, _) = reviewer.get("/api/v1/share/upward/batches/1999-01-01-1").await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}");

        // The answer from above is recorded once; the requester sees it.
        let id = mine["id"].as_i64().unwrap();
        let (s, u) = reviewer
            .post_json(
                &format!("/api/v1/share/upward/{id}/outcome"),
                json!({"granted": true, "response": "省公安厅同意，通过省平台接口提供"}),
            )
            .await;
        assert_eq!((s, u["status"].as_str()), (StatusCode::OK, Some("answered")), "{b}: {u}");
        let (s, _) = reviewer
            .post_json(&format!("/api/v1/share/upward/{id}/outcome"), json!({"granted": false, "response": "x"}))
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}");
        let (_, list) = xs.get_json("/api/v1/share/upward").await;
        assert!(
            list.as_array().unwrap().iter().any(|u| u["id"] == id
                && u["status"] == "answered"
                && u["response"] == "省公安厅同意，通过省平台接口提供"),
            "{b}: {list}"
        );
        assert_eq!(audit_count(&auditor, "share.upward.forward").await, 1, "{b}");
        assert_eq!(audit_count(&auditor, "share.upward.export").await, 1, "{b}");
        assert_eq!(audit_count(&auditor, "share.upward.create").await, 2, "{b}");
    }
}

/// An electronic licence resource: one row per licence, keyed by its number, held by the
/// enterprise named by its credit code.
fn licence_body() -> Value {
    json!({
        "name": "营业执照（电子证照，测试）",
        "summary": "营业执照电子证照，供办事窗口调取",
        "class": "base",
        "item": "05",
        "format": "database",
        "frequency": "daily",
        "identifier_field": "credit_code",
        "fields": [
            {"name": "licence_no", "label": "证照编号", "data_type": "text", "grade": "l1", "rules": {"key": true}},
            {"name": "credit_code", "label": "统一社会信用代码", "data_type": "text", "grade": "l1", "identifier": "credit_code"},
            {"name": "ent_name", "label": "名称", "data_type": "text", "grade": "l1"},
            {"name": "legal_rep", "label": "法定代表人", "data_type": "text", "grade": "l1"},
            {"name": "issue_date", "label": "发证日期", "data_type": "date", "grade": "l1"}
        ],
        "share": {"share_type": "unconditional", "modes": ["view", "verify"], "legal_basis": "《优化营商环境条例》第三十五条"},
        "open": {"open_type": "not_open", "legal_basis": "仅向办理事项的机关提供"}
    })
}

/// A credit code in 西山区 with the given eight characters of body.
pub(crate) fn licence_holder(body: &str) -> String {
    pdp_domain::ids::complete_credit_code(&format!("91359903{body}")).unwrap()
}

/// Publishes the licence resource as the market regulator and loads three licences: two held
/// by the first enterprise returned, one by the second.
pub(crate) async fn publish_licences(officer: &Client, reviewer: &Client) -> (i64, String, String) {
    let (s, e) = officer.post_json("/api/v1/catalog/entries", json!({ "body": licence_body() })).await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let entry = e["entry_id"].as_i64().unwrap();
    let (s, e) = officer.post_json(&format!("/api/v1/catalog/entries/{entry}/submit"), json!({"version": 1})).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, e) = reviewer.post_json(&format!("/api/v1/catalog/entries/{entry}/approve"), json!({"version": 1})).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (firm_a, firm_b) = (licence_holder("MA123456"), licence_holder("MA678901"));
    let csv = format!(
        "licence_no,credit_code,ent_name,legal_rep,issue_date\n\
         YYZZ-001,{firm_a},临江恒信科技有限公司,张三丰,2019-03-01\n\
         SPJY-002,{firm_a},临江恒信科技有限公司（食品经营）,张三丰,2021-06-18\n\
         YYZZ-003,{firm_b},临江瑞丰贸易有限公司,李四,2020-11-05\n"
    );
    let (s, r) =
        officer.post_bytes(&format!("/api/v1/datasets/{entry}/loads?format=csv&mode=full"), csv.into_bytes()).await;
    assert_eq!((s, r["accepted"].as_u64()), (StatusCode::OK, Some(3)), "{r}");
    (entry, firm_a, firm_b)
}

/// The counter's request for every licence field, in view mode; returns the grant.
pub(crate) async fn request_licences(counter: &Client, entry: i64) -> i64 {
    let (s, r) = counter
        .post_json(
            "/api/v1/share/requests",
            json!({"entry_id": entry, "fields": ["licence_no", "credit_code", "ent_name", "legal_rep", "issue_date"],
                   "mode": "view", "scenario": "食品经营许可办理", "legal_basis": "《食品经营许可和备案管理办法》第十四条",
                   "purpose": "调取申请人营业执照，不再要求提交纸质复印件",
                   "until": (today() + time::Duration::days(90)).to_string(), "pledge": true}),
        )
        .await;
    assert_eq!(
        (s, r["status"].as_str()),
        (StatusCode::OK, Some("granted")),
        "unconditional data is granted at once: {r}"
    );
    r["grant_id"].as_i64().or_else(|| r["grant"]["id"].as_i64()).unwrap()
}

/// covers: R-SHR-14 (a counter with a grant on an electronic licence resource fetches the
/// applicant's documents by identifier instead of asking for paper; each document carries its
/// issuer, source version and grant, and its digest is verifiable against the audit chain),
/// R-SHR-04 (a view grant, enforced per access), R-SHR-12 (every fetch logged), R-SHR-13
/// (revocation stops fetching)
#[tokio::test]
async fn electronic_licences_are_fetched_by_identifier_and_verified() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let officer = srv.login("officer").await; // market regulation issues the licences
        let reviewer = srv.login("reviewer").await;
        let xs = srv.login("xs.officer").await; // a district counter
        let auditor = srv.login("auditor").await;

        let (entry, firm_a, firm_b) = publish_licences(&officer, &reviewer).await;
        let nobody = licence_holder("MA555555");

        // Unconditional data: granted at once, in view mode.
        let grant = request_licences(&xs, entry).await;
        let docs = format!("/api/v1/share/grants/{grant}/documents");

        // The applicant's documents by credit code, each complete and sealed by its digest.
        let (s, out) = xs.post_json(&docs, json!({"holder": firm_a})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {out}");
        let list = out["documents"].as_array().unwrap();
        assert_eq!(list.len(), 2, "{b}: both of firm A's licences: {out}");
        let mut numbers: Vec<_> = list.iter().map(|d| d["document"]["number"].as_str().unwrap()).collect();
        numbers.sort();
        assert_eq!(numbers, ["SPJY-002", "YYZZ-001"], "{b}");
        let doc = list.iter().find(|d| d["document"]["number"] == "YYZZ-001").unwrap().clone();
        let d = &doc["document"];
        assert_eq!(d["holder"], firm_a.as_str());
        assert_eq!(d["issuer"], "临江市市场监督管理局", "{b}: {d}");
        assert_eq!(d["obtained_by"], "西山区市场监督管理局", "{b}: {d}");
        assert_eq!(d["grant_id"], grant);
        assert!(d["dataset_version"].as_u64().is_some(), "{b}: {d}");
        let value = |f: &str| d["fields"].as_array().unwrap().iter().find(|x| x["name"] == f).unwrap()["value"].clone();
        assert_eq!((value("ent_name"), value("legal_rep")), (json!("临江恒信科技有限公司"), json!("张三丰")), "{b}");
        assert!(!out.to_string().contains("瑞丰"), "{b}: another holder's licence never appears");
        assert!(out["legal_effect_zh"].as_str().unwrap().contains("同等效力"));
        let (_, out_b) = xs.post_json(&docs, json!({"holder": firm_b})).await;
        assert_eq!(out_b["documents"].as_array().map(Vec::len), Some(1), "{b}: {out_b}");
        let (s, none) = xs.post_json(&docs, json!({"holder": nobody})).await;
        assert_eq!((s, none["documents"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)), "{b}: {none}");
        let (s, r) = xs.post_json(&docs, json!({"holder": " "})).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("document_holder_required")), "{b}: {r}");
        // Only the grant's user organisation fetches.
        let (s, _) = officer.post_json(&docs, json!({"holder": firm_a})).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}");

        // Verification: the document as issued is genuine; any change is detected.
        let (s, v) = reviewer.post_json("/api/v1/documents/verify", json!({"document": d})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: verifying is for counters that use shares: {v}");
        let (s, v) = xs.post_json("/api/v1/documents/verify", json!({"document": d})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {v}");
        assert_eq!((v["issued"].as_bool(), v["digest"].clone()), (Some(true), doc["digest"].clone()), "{b}: {v}");
        assert_eq!((v["grant_id"].as_i64(), v["obtained_by"].as_str()), (Some(grant), Some("西山区市场监督管理局")));
        let mut forged = d.clone();
        forged["fields"][2]["value"] = json!("临江恒信科技集团有限公司");
        let (_, v) = xs.post_json("/api/v1/documents/verify", json!({"document": forged})).await;
        assert_eq!(v["issued"], false, "{b}: a changed document is not genuine: {v}");
        let (s, v) =
            xs.post_json("/api/v1/documents/verify", json!({"document": forged, "digest": doc["digest"]})).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("document_digest_mismatch")), "{b}: {v}");
        let (s, v) = xs.post_json("/api/v1/documents/verify", json!({"digest": "abc"})).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("document_bad_digest")), "{b}: {v}");
        let (_, v) = xs.post_json("/api/v1/documents/verify", json!({"digest": doc["digest"]})).await;
        assert_eq!(v["issued"], true, "{b}: by digest alone: {v}");

        // The pages: the counter's document view and the verification page.
        // The applicant's code is posted from the grant's page, never put in its URL.
        let (s, html) = xs.post_form(&format!("/share/grants/{grant}/documents"), &[("holder", &firm_a)], true).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, _) = xs.get(&format!("/share/grants/{grant}/documents?holder={firm_a}")).await;
        assert_ne!(s, StatusCode::OK, "{b}: no lookup by GET");
        assert!(html.contains("临江恒信科技有限公司") && html.contains("SPJY-002"), "{b}: {html}");
        let (_, html) = xs.get(&format!("/documents/verify?digest={}", doc["digest"].as_str().unwrap())).await;
        assert!(html.contains("真实有效"), "{b}: {html}");

        // A view grant on another resource has no documents.
        let people_entry = publish(&officer, &reviewer, "人员信息（证照对照）", "unconditional").await;
        let (_, r) = xs.post_json("/api/v1/share/requests", request(people_entry, "view", &["id_no"])).await;
        let other = r["grant_id"].as_i64().or_else(|| r["grant"]["id"].as_i64()).unwrap();
        let (s, r) = xs.post_json(&format!("/api/v1/share/grants/{other}/documents"), json!({"holder": firm_a})).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::BAD_REQUEST, Some("document_not_licence")), "{b}: {r}");

        // Every fetch is on the record; revocation stops fetching but not verification.
        assert_eq!(audit_count(&auditor, "share.access.document").await, 4, "{b}: three API fetches and the page");
        let (_, g) = xs.get_json(&format!("/api/v1/share/grants/{grant}")).await;
        assert_eq!(g["usage"]["accesses"], 4, "{b}: {g}");
        let (s, _) =
            reviewer.post_json(&format!("/api/v1/share/grants/{grant}/revoke"), json!({"reason": "测试撤销"})).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, r) = xs.post_json(&docs, json!({"holder": firm_a})).await;
        assert_eq!((s, r["code"].as_str()), (StatusCode::FORBIDDEN, Some("grant_revoked")), "{b}: {r}");
        let (_, v) = xs.post_json("/api/v1/documents/verify", json!({"digest": doc["digest"]})).await;
        assert_eq!(v["issued"], true, "{b}: a document issued stays verifiable: {v}");
    }
}

/// covers: R-SHR-13 (a usage report overdue past the configured working days suspends its grant
/// by itself, with a note both organisations and the authority read and an audit event; the
/// provider cannot resume it until the user files the report, and then can), R-SEC-03
#[tokio::test]
async fn an_overdue_usage_report_suspends_its_grant_until_filed_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let officer = srv.login("officer").await;
        let reviewer = srv.login("reviewer").await;
        let approver = srv.login("approver").await;
        let auditor = srv.login("auditor").await;
        let xs = srv.login("xs.officer").await;
        let (rid, grant) = view_grant(&officer, &reviewer, &approver, &xs, "人员信息（使用报告测试）").await;
        assert_eq!(view_status(&xs, grant).await, StatusCode::OK, "{b}");
        // A report not yet due changes nothing.
        let (_, due) = reviewer.get_json("/api/v1/share/reports/due").await;
        assert!(due.as_array().unwrap().iter().any(|d| d["grant_id"] == grant && d["overdue"] == false), "{b}: {due}");
        let (_, g) = xs.get_json(&format!("/api/v1/share/grants/{grant}")).await;
        assert_eq!(g["status"], "active", "{b}");

        // The grant was made 120 days ago and no report was filed: due after 90 days, so more
        // than ten working days late.
        let long_ago = (time::OffsetDateTime::now_utc() - time::Duration::days(120)).unix_timestamp_nanos() / 1000;
        crate::governance::exec(&srv, &format!("UPDATE share_grants SET created_at = {long_ago} WHERE id = {grant}"))
            .await;
        let (_, due) = reviewer.get_json("/api/v1/share/reports/due").await;
        assert!(!due.as_array().unwrap().iter().any(|d| d["grant_id"] == grant), "{b}: no longer active: {due}");
        let (_, g) = xs.get_json(&format!("/api/v1/share/grants/{grant}")).await;
        assert_eq!(g["status"], "suspended", "{b}: {g}");
        assert_ne!(view_status(&xs, grant).await, StatusCode::OK, "{b}: a suspended grant serves nothing");
        for reader in [&xs, &approver, &reviewer] {
            let (_, r) = reader.get_json(&format!("/api/v1/share/requests/{rid}")).await;
            let notes = r["notes"].as_array().cloned().unwrap_or_default();
            assert!(notes.iter().any(|n| n["body"].as_str().unwrap_or("").contains("使用情况报告")), "{b}: {r}");
        }
        let (_, ev) =
            auditor.get_json(&format!("/api/v1/audit/events?action=share.grant.suspend&object=grant:{grant}")).await;
        assert_eq!(ev.as_array().map(Vec::len), Some(1), "{b}: {ev}");

        // The provider resumes only once the report is filed.
        let reason = json!({"reason": "使用单位已说明情况"});
        let (s, e) = approver.post_json(&format!("/api/v1/share/grants/{grant}/resume"), reason.clone()).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("usage_report_overdue")), "{b}: {e}");
        let body = json!({"body": "本期查询申请人信息 12 次，仅用于登记窗口核对身份，无数据安全事件。"});
        let (s, r) = xs.post_json(&format!("/api/v1/share/grants/{grant}/reports"), body).await;
        assert_eq!(s, StatusCode::OK, "{b}: a suspended grant's user still reports: {r}");
        let (s, e) = approver.post_json(&format!("/api/v1/share/grants/{grant}/resume"), reason).await;
        assert_eq!((s, e["status"].as_str()), (StatusCode::OK, Some("active")), "{b}: {e}");
        assert_eq!(view_status(&xs, grant).await, StatusCode::OK, "{b}");
    }
}

/// A person dataset published by `officer` and loaded with [`people`], and a view grant on its
/// `id_no` and `person_name` that `xs` requested and `approver` approved: the request's and the
/// grant's ids.
async fn view_grant(officer: &Client, reviewer: &Client, approver: &Client, xs: &Client, name: &str) -> (i64, i64) {
    let entry = publish(officer, reviewer, name, "conditional").await;
    load(officer, entry).await;
    view_grant_on(entry, approver, xs, "view").await
}

/// A grant of `mode` on `entry`'s id_no and person_name to `xs`'s organisation, approved:
/// (request id, grant id).
pub(crate) async fn view_grant_on(entry: i64, approver: &Client, xs: &Client, mode: &str) -> (i64, i64) {
    let (_, r) = xs.post_json("/api/v1/share/requests", request(entry, mode, &["id_no", "person_name"])).await;
    let rid = r["id"].as_i64().unwrap_or_else(|| panic!("{r}"));
    let (s, r) = approver.post_json(&format!("/api/v1/share/requests/{rid}/approve"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    (rid, r["grant"]["id"].as_i64().unwrap())
}

/// The status of a view access to `grant` for the first person.
async fn view_status(c: &Client, grant: i64) -> StatusCode {
    c.post_json(&format!("/api/v1/share/grants/{grant}/records"), json!({"key": people()[0].0})).await.0
}

/// covers: R-SHR-04 (the README's demo example as written: on a fresh demo, an API key of
/// `hr.officer` reads the bulk grant `grant-2` with the table `102000_000001` through Delta
/// Sharing, and `yb.officer` sees its organisation's statistics grant)
#[tokio::test]
async fn the_readme_demo_grants_are_there_as_written() {
    let srv = TestServer::start(&crate::server::backend());
    let hr = srv.login("hr.officer").await;
    let (s, key) = hr.post_json("/api/v1/api-keys", json!({"name": "README", "expires_in_days": 1})).await;
    assert_eq!(s, StatusCode::CREATED, "{key}");
    let token = key["token"].as_str().unwrap();
    let (_, shares) = srv.with_key(token).get_json("/delta-sharing/shares").await;
    assert!(shares["items"].as_array().unwrap().iter().any(|s| s["name"] == "grant-2"), "{shares}");
    let (_, tables) = srv.with_key(token).get_json("/delta-sharing/shares/grant-2/schemas/pdp/tables").await;
    assert_eq!(tables["items"][0]["name"], "102000_000001", "{tables}");
    let yb = srv.login("yb.officer").await;
    let (_, grants) = yb.get_json("/api/v1/share/grants").await;
    assert!(grants.as_array().unwrap().iter().any(|g| g["mode"] == "statistics"), "{grants}");
}
