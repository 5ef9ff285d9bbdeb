//! Scope on every action, not only on the route's permission: for each action, who in which
//! region may do it. The city's reviewer (临江市) and 东湖区's reviewer hold the same role, so
//! the route table lets both through; the use case must tell them apart.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::governance::audit_count;
use crate::server::{Client, TestServer, backends};
use crate::sharing::{load, publish};

/// One action: a method, a path and a body, as each principal would send it.
struct Action {
    name: &'static str,
    method: &'static str,
    path: String,
    body: Value,
}

async fn send(c: &Client, a: &Action) -> (StatusCode, Value) {
    match a.method {
        "GET" => c.get_json(&a.path).await,
        _ => c.post_json(&a.path, a.body.clone()).await,
    }
}

/// covers: R-SEC-05 (every use case checks the principal's region and organisation, not only
/// its role), R-SHR-07 (scenarios only by an authority over the provider), R-SHR-10, R-SHR-11,
/// R-SHR-15 (emergencies, the demand list and upward requests are the city's), R-AGG-03,
/// R-AGG-06 (cross-check conflicts and base views are the city's; reading conflicts is audited)
#[tokio::test]
async fn each_action_is_scoped_to_the_principals_region() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let officer = srv.login("officer").await;
        let city = srv.login("reviewer").await;
        let district = srv.login("dh.reviewer").await;
        let xs = srv.login("xs.officer").await;
        let auditor = srv.login("auditor").await;
        // City data: an entry of 临江市市场监督管理局.
        let entry = publish(&officer, &city, "人员信息（权限范围测试）", "conditional").await;
        load(&officer, entry).await;
        let xs_org = xs.get_json("/api/v1/me").await.1["org_id"].as_i64().unwrap();
        let ends = (time::OffsetDateTime::now_utc() + time::Duration::hours(2))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let (s, m) = city
            .post_json(
                "/api/v1/share/emergencies",
                json!({"name": "防汛应急", "scope": "转移安置", "entry_ids": [entry], "org_ids": [xs_org], "ends_at": ends}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {m}");
        let emergency = m["id"].as_i64().unwrap();
        let (s, d) = xs
            .post_json(
                "/api/v1/share/demands",
                json!({"title": "培训机构处罚信息", "description": "按周", "purpose": "监管"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {d}");
        let demand = d["id"].as_i64().unwrap();
        let upward = json!({"level": "provincial", "holder": "省公安厅", "data_wanted": "户籍", "purpose": "跨省通办", "legal_basis": "《指导意见》"});
        let (s, u) = xs.post_json("/api/v1/share/upward", upward).await;
        assert_eq!(s, StatusCode::OK, "{b}: {u}");
        let up = u["id"].as_i64().unwrap();

        // The district's reviewer is refused each of these; the city's is not (its answer may
        // still be a conflict or a validation error, but never a refusal of scope).
        let actions = [
            Action {
                name: "approve a scenario on city data",
                method: "POST",
                path: "/api/v1/share/scenarios".into(),
                body: json!({"name": "身份核验", "entry_id": entry, "mode": "verify", "fields": ["id_no", "person_name"],
                             "purpose": "核验", "legal_basis": "《条例》第二十条"}),
            },
            Action {
                name: "read the cross-check's conflicts",
                method: "GET",
                path: "/api/v1/crosscheck".into(),
                body: json!({}),
            },
            Action {
                name: "read the city-wide base view",
                method: "GET",
                path: "/api/v1/base/person".into(),
                body: json!({}),
            },
            Action {
                name: "assign a demand",
                method: "POST",
                path: format!("/api/v1/share/demands/{demand}/assign"),
                body: json!({"provider_org_id": null, "note": "暂不能满足"}),
            },
            Action {
                name: "forward upward requests",
                method: "POST",
                path: "/api/v1/share/upward/forward".into(),
                body: json!({}),
            },
            Action {
                name: "record an upward answer",
                method: "POST",
                path: format!("/api/v1/share/upward/{up}/outcome"),
                body: json!({"granted": false, "response": "不予提供"}),
            },
            // Last, since the city's reviewer really ends it.
            Action {
                name: "end the city's emergency",
                method: "POST",
                path: format!("/api/v1/share/emergencies/{emergency}/end"),
                body: json!({"reason": "险情解除"}),
            },
        ];
        for a in &actions {
            let (s, e) = send(&district, a).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{b}: the district may not {}: {e}", a.name);
            assert!(matches!(e["code"].as_str(), Some("not_authority" | "not_city_authority")), "{b}: {}: {e}", a.name);
            let (s, e) = send(&city, a).await;
            assert_ne!(s, StatusCode::FORBIDDEN, "{b}: the city may {}: {e}", a.name);
        }
        // Lists of the city's business show the district only its own organisation's items.
        let (_, demands) = district.get_json("/api/v1/share/demands").await;
        assert!(!demands.as_array().unwrap().iter().any(|d| d["id"] == demand), "{b}: {demands}");
        let (_, ups) = district.get_json("/api/v1/share/upward").await;
        assert!(!ups.as_array().unwrap().iter().any(|u| u["id"] == up), "{b}: {ups}");
        // Reading conflicts names citizens with both values: audited.
        assert!(audit_count(&auditor, "crosscheck.read").await >= 1, "{b}");
    }
}
