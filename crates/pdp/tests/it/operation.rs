//! Authorized operation (授权运营, R-OPS): the life cycle from the operation agreement to a
//! developer's exit, on the demo city, driven through the JSON API as each party would: the
//! city's data authority (`reviewer`), the operation entity (`operator`), a development entity
//! (`developer`) and the provider of the data (`approver` of the market supervision bureau).

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::governance::exec;
use crate::server::{Client, TestServer, backends};

fn today() -> Date {
    OffsetDateTime::now_utc().to_offset(UtcOffset::from_hms(8, 0, 0).unwrap()).date()
}

fn iso(d: Date) -> String {
    d.to_string()
}

fn date(v: &Value) -> Date {
    Date::parse(v.as_str().unwrap(), time::macros::format_description!("[year]-[month]-[day]")).unwrap()
}

fn years_later(d: Date, years: i32) -> Date {
    d.replace_year(d.year() + years)
        .unwrap_or_else(|_| d.replace_day(28).unwrap().replace_year(d.year() + years).unwrap())
}

fn codes(v: &Value) -> Vec<String> {
    v["details"]
        .as_array()
        .map(|d| d.iter().map(|x| x["code"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

fn terms(catalog: &[i64], products: &[&str], pricing: Value) -> Value {
    json!({
        "scope": "企业登记数据的加工处理与开发利用",
        "catalog": catalog,
        "products": products,
        "disclosure": "每季度公开产品和服务清单、数据使用情况",
        "evaluation": "按年度评价运营合规、产品发布与交易",
        "security": "网络安全等级保护三级；商用密码应用安全性评估",
        "rights_duties": "数据资源权属不变；违约责任按协议",
        "pricing": pricing,
    })
}

async fn org_of_kind(c: &Client, kind: &str) -> i64 {
    let (_, orgs) = c.get_json("/api/v1/orgs").await;
    orgs.as_array().unwrap().iter().find(|o| o["kind"] == kind).unwrap()["id"].as_i64().unwrap()
}

async fn entry_named(c: &Client, name: &str) -> (i64, Vec<String>) {
    let (_, all) = c.get_json("/api/v1/catalog/entries?view=published&limit=5000").await;
    let e = all.as_array().unwrap().iter().find(|e| e["body"]["name"] == name).unwrap_or_else(|| panic!("{name}"));
    let fields = e["body"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_string());
    (e["entry_id"].as_i64().unwrap(), fields.collect())
}

/// Takes an application through the operator, the provider and the authority.
async fn approve_all(operator: &Client, approver: &Client, reviewer: &Client, id: i64, b: &str) -> Value {
    let mut last = Value::Null;
    for (who, stage) in [(operator, "operator"), (approver, "provider"), (reviewer, "authority")] {
        let (_, a) = who.get_json(&format!("/api/v1/operation/scenarios/{id}")).await;
        assert_eq!(a["stage"], stage, "{b}: {a}");
        let (s, a) = who
            .post_json(
                &format!("/api/v1/operation/scenarios/{id}/decision"),
                json!({"approve": true, "reason": "符合正当必要原则"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {a}");
        last = a;
    }
    assert_eq!(last["state"], "approved", "{b}: {last}");
    last
}

fn all_points(failing: Option<&str>) -> Value {
    let points: Vec<Value> = ["purpose", "source", "raw_exposure", "leakage", "cross_border", "other_risk"]
        .iter()
        .map(|p| json!({"point": p, "passed": Some(*p) != failing, "evidence": format!("已核查：{p}")}))
        .collect();
    json!({ "points": points })
}

/// Files of an organisation's operation domain under the data directory.
fn domain_files(srv: &TestServer, org: i64) -> Vec<std::path::PathBuf> {
    let dir = format!("org-{org}");
    let mut out = Vec::new();
    let mut stack = vec![srv.dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.components().any(|c| c.as_os_str() == "_operation")
                && p.components().any(|c| c.as_os_str() == dir.as_str())
            {
                out.push(p);
            }
        }
    }
    out
}

/// covers: R-OPS-01 (agreements of at most three years; a development agreement within its
/// operator's), R-OPS-03 (the operation resource catalog confirmed by the authority, data a
/// sector marks not operable with its basis, the development catalog, the product catalog),
/// R-OPS-04 (one scenario opens exactly its list, reviewed by the operator, the provider and
/// the authority, until its end date), R-OPS-06 (de-identified samples), R-OPS-08 (a failing
/// review point blocks publication), R-OPS-09 and R-OPS-12 (cost-based prices, registered sales
/// split per the agreements, free public-welfare use), R-OPS-11 and R-SEC-08 (suspension; exit
/// closes, delists and deletes with a destruction record; the logs outlive a retention run for
/// six months), R-SEC-03 (every step audited)
#[tokio::test]
async fn authorized_operation_from_agreement_to_exit_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let reviewer = srv.login("reviewer").await;
        let operator = srv.login("operator").await;
        let approver = srv.login("approver").await;
        let (_, orgs) = reviewer.get_json("/api/v1/orgs").await;
        let operator_org = org_of_kind(&reviewer, "operation_entity").await;
        let region = orgs.as_array().unwrap().iter().find(|o| o["id"] == operator_org).unwrap()["region_id"].clone();
        let (enterprise, fields) = entry_named(&reviewer, "企业登记基本信息").await;
        let (food, _) = entry_named(&reviewer, "食品经营许可信息").await;
        let t = today();

        // The demo's operator holds a three-year agreement; another for four years is refused
        // outright, one for three years while it runs is refused as overlapping (R-OPS-01).
        let (_, agreements) = reviewer.get_json("/api/v1/operation/agreements").await;
        let op = agreements
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == "operation" && a["active"] == true)
            .unwrap()
            .clone();
        let op_end = date(&op["ends_on"]);
        let op_terms = op["terms"].clone();
        let long = json!({"kind": "operation", "party_org_id": operator_org, "starts_on": iso(t),
            "ends_on": iso(years_later(t, 4) - Duration::days(1)), "terms": op_terms});
        let (s, e) = reviewer.post_json("/api/v1/operation/agreements", long).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: {e}");
        assert_eq!(codes(&e), ["agreement_too_long"], "{b}: {e}");
        let three = json!({"kind": "operation", "party_org_id": operator_org, "starts_on": iso(t),
            "ends_on": iso(years_later(t, 3) - Duration::days(1)), "terms": op_terms});
        let (s, _) = operator.post_json("/api/v1/operation/agreements", three.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: only the authority signs it");
        let (s, e) = reviewer.post_json("/api/v1/operation/agreements", three).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("agreement_overlaps")), "{b}: {e}");

        // The operation resource catalog: the operator asks for the agreement's entries not yet
        // in it (nothing outside the agreement); the provider's sector marks one not operable
        // with its basis, the authority confirms the other; only a confirmed entry enters the
        // development catalog (R-OPS-03).
        let (_, catalog) = operator.get_json("/api/v1/operation/catalog").await;
        let listed: Vec<i64> = catalog.as_array().unwrap().iter().map(|i| i["entry_id"].as_i64().unwrap()).collect();
        let asked: Vec<i64> = op_terms["catalog"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_i64().unwrap())
            .filter(|i| !listed.contains(i))
            .collect();
        let [confirmed, refused] = asked[..] else { panic!("{b}: two entries of the agreement wait: {catalog}") };
        let (s, e) = operator.post_json("/api/v1/operation/catalog/proposals", json!({"entries": [food]})).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: {e}");
        let (s, c) = operator.post_json("/api/v1/operation/catalog/proposals", json!({"entries": asked})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {c}");
        let (s, e) = approver
            .post_json(
                &format!("/api/v1/operation/catalog/{confirmed}/decision"),
                json!({"decision": "confirm", "note": "可以"}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: {e}");
        let basis = "《企业信息公示暂行条例》：含自然人信息，不得授权运营";
        let (s, c) = approver
            .post_json(
                &format!("/api/v1/operation/catalog/{refused}/decision"),
                json!({"decision": "not_operable", "basis": basis}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {c}");
        let marked = c.as_array().unwrap().iter().find(|i| i["entry_id"] == refused).unwrap();
        assert_eq!((marked["status"].as_str(), marked["basis"].as_str()), (Some("not_operable"), Some(basis)), "{b}");
        let (s, _) = reviewer
            .post_json(
                &format!("/api/v1/operation/catalog/{confirmed}/decision"),
                json!({"decision": "confirm", "note": "经审议同意"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, e) = operator
            .post_json(&format!("/api/v1/operation/catalog/{refused}/development"), json!({"published": true}))
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}: {e}");
        let (s, _) = operator
            .post_json(&format!("/api/v1/operation/catalog/{confirmed}/development"), json!({"published": true}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");

        // A new development entity with its developer account.
        let admin = srv.login("admin").await;
        let code = pdp_domain::ids::complete_credit_code("91350100MA0DEN01").unwrap();
        let (s, org) = admin
            .post_json(
                "/api/v1/orgs",
                json!({"name": "临江测试数据科技有限公司", "credit_code": code,
                "kind": "development_entity", "region_id": region, "parent_id": null}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {org}");
        let developer_org = org["organisation"]["id"].as_i64().unwrap();
        let developer = crate::harvest::new_account(&srv, "dev.new", developer_org, "developer").await;
        let (_, dev_catalog) = developer.get_json("/api/v1/operation/catalog").await;
        let ids: Vec<i64> = dev_catalog.as_array().unwrap().iter().map(|i| i["entry_id"].as_i64().unwrap()).collect();
        assert!(ids.contains(&confirmed) && ids.contains(&enterprise) && !ids.contains(&refused), "{b}: {dev_catalog}");

        // The development agreement cannot exceed the operator's: period, catalog, products,
        // price caps (R-OPS-01).
        let dev_pricing = json!({"max_markup_bp": 1000, "price_cap_fen": 50000, "operator_share_bp": 2000});
        let dev = |ends: Date, catalog: &[i64], products: &[&str], pricing: Value| {
            json!({"kind": "development", "party_org_id": developer_org, "starts_on": iso(t), "ends_on": iso(ends),
                "terms": terms(catalog, products, pricing)})
        };
        let (s, e) = operator
            .post_json(
                "/api/v1/operation/agreements",
                dev(op_end + Duration::days(1), &[enterprise], &["api"], dev_pricing.clone()),
            )
            .await;
        assert_eq!((s, codes(&e)), (StatusCode::BAD_REQUEST, vec!["agreement_exceeds_parent".to_string()]), "{b}: {e}");
        let (s, e) = operator
            .post_json(
                "/api/v1/operation/agreements",
                dev(op_end, &[enterprise, refused], &["api", "other"], dev_pricing.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: {e}");
        assert!(codes(&e).contains(&"agreement_exceeds_parent".to_string()), "{b}: {e}");
        assert!(codes(&e).contains(&"agreement_catalog_unknown".to_string()), "{b}: {e}");
        let (s, dev_agreement) = operator
            .post_json(
                "/api/v1/operation/agreements",
                dev(t + Duration::days(365), &[enterprise], &["api", "report"], dev_pricing),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {dev_agreement}");
        let dev_id = dev_agreement["id"].as_i64().unwrap();

        // One scenario, one list: it waits for the operator, the provider and the authority,
        // then opens exactly its fields, de-identified (R-OPS-04, R-OPS-06).
        let list = &fields[..2];
        let scenario = |ends: Date, list: &[String]| {
            json!({"scenario": "小微企业信贷风控", "purpose": "评估小微企业经营稳定性", "scope": "合作银行授信审批",
                "safeguards": "仅在授权运营域内计算，结果不含原始记录",
                "fields": list.iter().map(|f| json!({"entry_id": enterprise, "field": f})).collect::<Vec<_>>(),
                "starts_on": iso(t), "ends_on": iso(ends)})
        };
        let (s, e) =
            developer.post_json("/api/v1/operation/scenarios", scenario(t, &["no_such_field".to_string()])).await;
        assert_eq!((s, codes(&e)), (StatusCode::BAD_REQUEST, vec!["scenario_field_unknown".to_string()]), "{b}: {e}");
        let (s, a) = developer.post_json("/api/v1/operation/scenarios", scenario(t + Duration::days(30), list)).await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {a}");
        let app1 = a["id"].as_i64().unwrap();
        assert_eq!((a["state"].as_str(), a["stage"].as_str()), (Some("under_review"), Some("operator")), "{b}: {a}");
        let sample_path = format!("/api/v1/operation/scenarios/{app1}/sample?entry_id={enterprise}&rows=5");
        let (s, _) = developer.get_json(&sample_path).await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}: nothing is open before approval");
        let (s, _) = approver
            .post_json(
                &format!("/api/v1/operation/scenarios/{app1}/decision"),
                json!({"approve": true, "reason": "越级"}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: the provider does not decide before the operator");
        approve_all(&operator, &approver, &reviewer, app1, b).await;
        let (s, sample) = developer.get_json(&sample_path).await;
        assert_eq!(s, StatusCode::OK, "{b}: {sample}");
        assert_eq!(sample["columns"], json!(list), "{b}: exactly the list: {sample}");
        assert_eq!(sample["rows"].as_array().unwrap().len(), 5, "{b}: {sample}");
        let (s, _) = developer.get_json(&format!("/api/v1/operation/scenarios/{app1}/sample?entry_id={food}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}: an entry outside the list");
        let (s, _) = operator.get_json(&sample_path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: the data is the developer's to use, nobody else's");

        // A second scenario ending today is open today and closes the day after its end.
        let (_, a) = developer.post_json("/api/v1/operation/scenarios", scenario(t, &fields[..1])).await;
        let app2 = a["id"].as_i64().unwrap();
        approve_all(&operator, &approver, &reviewer, app2, b).await;
        let path2 = format!("/api/v1/operation/scenarios/{app2}/sample?entry_id={enterprise}");
        assert_eq!(developer.get_json(&path2).await.0, StatusCode::OK, "{b}: open on its last day");
        let (y, today_s) = (iso(t - Duration::days(1)), iso(t));
        exec(&srv, &format!("UPDATE op_scenarios SET input = REPLACE(input, '\"{today_s}\"', '\"{y}\"'), starts_on = '{y}', ends_on = '{y}' WHERE id = {app2}")).await;
        assert_eq!(developer.get_json(&path2).await.0, StatusCode::CONFLICT, "{b}: closed after its end date");
        let (_, a) = developer.get_json(&format!("/api/v1/operation/scenarios/{app2}")).await;
        assert_eq!((a["state"].as_str(), a["open"].as_bool()), (Some("expired"), Some(false)), "{b}: {a}");

        // Products: the price is cost-based under the caps; a failing review point blocks
        // publication; a listed product is in the public product catalog (R-OPS-08, R-OPS-09).
        let product = |name: &str, price: i64| {
            json!({"name": name, "kind": "api", "purpose": "小微企业经营稳定性评分接口", "applications": [app1],
                "sources": [{"entry_id": enterprise, "data_date": iso(t)}], "sample_output": "{\"score\": 72}",
                "method": "在授权运营域内对登记信息建模，输出评分不含原始记录", "price_fen": price, "cost_fen": 5000,
                "welfare_free": true})
        };
        let (s, e) = developer.post_json("/api/v1/operation/products", product("经营稳定性评分", 5600)).await;
        assert_eq!(
            (s, codes(&e)),
            (StatusCode::BAD_REQUEST, vec!["product_price_above_cost_cap".to_string()]),
            "{b}: {e}"
        );
        let (s, p1) = developer.post_json("/api/v1/operation/products", product("经营稳定性评分", 5500)).await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {p1}");
        let (_, p2) = developer.post_json("/api/v1/operation/products", product("企业画像数据包", 5000)).await;
        let (p1, p2) = (p1["id"].as_i64().unwrap(), p2["id"].as_i64().unwrap());
        let (s, e) = operator
            .post_json(
                &format!("/api/v1/operation/products/{p2}/review"),
                json!({"points": [{"point": "purpose", "passed": true, "evidence": "x"}]}),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: every point must be answered: {e}");
        let (s, r) = operator
            .post_json(&format!("/api/v1/operation/products/{p2}/review"), all_points(Some("cross_border")))
            .await;
        assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("rejected")), "{b}: {r}");
        assert!(r["status_reason"].as_str().unwrap().contains("不涉及数据出境"), "{b}: {r}");
        let (s, r) = operator.post_json(&format!("/api/v1/operation/products/{p1}/review"), all_points(None)).await;
        assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("listed")), "{b}: {r}");
        let (s, shop) = srv.anonymous().get_json("/api/v1/operation/product-catalog").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let ours: Vec<&Value> =
            shop.as_array().unwrap().iter().filter(|p| p["developer"] == "临江测试数据科技有限公司").collect();
        assert_eq!(ours.len(), 1, "{b}: the rejected product is not listed: {shop}");
        assert_eq!(
            (ours[0]["name"].as_str(), ours[0]["price_fen"].as_i64()),
            (Some("经营稳定性评分"), Some(5500)),
            "{b}"
        );
        assert_eq!(ours[0]["sources"][0][1], iso(t), "{b}: the data's date is stated");

        // Sales: industrial use pays the price, split 10 % public, 20 % operator, the rest the
        // developer's; public-welfare use is free (R-OPS-09, R-OPS-12). A rejected product
        // does not sell.
        let sale = |use_kind: &str| json!({"buyer": "临江农商银行", "use_kind": use_kind, "sold_on": iso(t)});
        let (s, s1) = operator.post_json(&format!("/api/v1/operation/products/{p1}/sales"), sale("industrial")).await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {s1}");
        let split = |v: &Value| {
            [v["price_fen"].as_i64(), v["public_fen"].as_i64(), v["operator_fen"].as_i64(), v["developer_fen"].as_i64()]
        };
        assert_eq!(split(&s1), [Some(5500), Some(550), Some(1100), Some(3850)], "{b}: {s1}");
        let (s, s2) =
            operator.post_json(&format!("/api/v1/operation/products/{p1}/sales"), sale("public_welfare")).await;
        assert_eq!((s, s2["price_fen"].as_i64()), (StatusCode::CREATED, Some(0)), "{b}: {s2}");
        let (s, _) = operator.post_json(&format!("/api/v1/operation/products/{p2}/sales"), sale("industrial")).await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}");
        let (_, totals) = reviewer.get_json("/api/v1/operation/sales").await;
        let mine: Vec<&Value> = totals["sales"].as_array().unwrap().iter().filter(|s| s["product_id"] == p1).collect();
        assert_eq!(mine.len(), 2, "{b}: {totals}");
        let sum: i64 = totals["sales"].as_array().unwrap().iter().map(|s| s["price_fen"].as_i64().unwrap()).sum();
        assert_eq!(totals["total_fen"].as_i64(), Some(sum), "{b}: {totals}");

        // A suspended developer cannot apply; resumed, it can (R-OPS-11).
        let (s, a) = operator
            .post_json(
                &format!("/api/v1/operation/agreements/{dev_id}/actions"),
                json!({"action": "suspend", "reason": "未按要求反馈开发利用情况"}),
            )
            .await;
        assert_eq!((s, a["status"].as_str()), (StatusCode::OK, Some("suspended")), "{b}: {a}");
        let (s, _) = developer.post_json("/api/v1/operation/scenarios", scenario(t, &fields[..1])).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        let (s, _) = developer.get_json(&sample_path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: a suspended developer reads nothing");
        let (s, a) = operator
            .post_json(
                &format!("/api/v1/operation/agreements/{dev_id}/actions"),
                json!({"action": "resume", "reason": "已整改"}),
            )
            .await;
        assert_eq!((s, a["status"].as_str()), (StatusCode::OK, Some("in_force")), "{b}: {a}");

        // Evaluation: the platform's records over the period (applications, products, the
        // suspension, a complaint, an incident) and the operator's judgement, half each
        // (R-OPS-10).
        let citizen = srv.login("citizen").await;
        let (s, _) = citizen
            .post_json(
                &format!("/api/v1/operation/products/{p1}/complaints"),
                json!({"reason": "评分结果与实际经营不符"}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
        let (s, _) = operator
            .post_json(
                "/api/v1/operation/incidents",
                json!({"org_id": developer_org, "description": "测试环境误将样本导出到域外"}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
        let evaluation = json!({"org_id": developer_org, "kind": "developer", "period_start": iso(t), "period_end": iso(t),
            "judgement": 80, "comments": "按时反馈开发利用情况，产品质量良好"});
        let (s, _) = developer.post_json("/api/v1/operation/evaluations", evaluation.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: nobody evaluates itself");
        let (s, ev) = operator.post_json("/api/v1/operation/evaluations", evaluation).await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {ev}");
        let f = &ev["facts"];
        assert_eq!(
            [
                &f["applications"],
                &f["approved"],
                &f["products"],
                &f["listed"],
                &f["sales"],
                &f["violations"],
                &f["complaints"]
            ],
            [&json!(2), &json!(2), &json!(2), &json!(1), &json!(2), &json!(1), &json!(1)],
            "{b}: {ev}"
        );
        assert_eq!(
            (ev["facts_score"].as_i64(), ev["total"].as_i64(), ev["passed"].as_bool()),
            (Some(45), Some(62), Some(true)),
            "{b}: {ev}"
        );
        let (_, history) = developer.get_json("/api/v1/operation/evaluations").await;
        assert_eq!(history.as_array().unwrap().len(), 1, "{b}: the developer sees its own: {history}");

        // Exit: one procedure ends the agreement, closes the applications, delists the
        // products and deletes the domain's files with a destruction record (R-OPS-11, R-SEC-08).
        let before = domain_files(&srv, developer_org);
        assert!(!before.is_empty(), "{b}: the open application has its copy in the domain");
        let (s, x) = operator
            .post_json(
                "/api/v1/operation/exits",
                json!({"org_id": developer_org, "ground": "violation", "reason": "超出约定用途使用数据"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {x}");
        let fx = &x["effects"];
        assert_eq!(fx["ended_agreements"], json!([dev_id]), "{b}: {x}");
        assert_eq!(fx["closed_applications"], json!([app1]), "{b}: {x}");
        assert_eq!(fx["delisted_products"], json!([p1]), "{b}: {x}");
        let destroyed = fx["destroyed"].as_array().unwrap();
        assert_eq!(destroyed.len(), before.len(), "{b}: {x}");
        assert!(
            destroyed.iter().all(|f| f["sha256"].as_str().unwrap().len() == 64 && f["bytes"].as_u64().unwrap() > 0),
            "{b}: {x}"
        );
        assert!(domain_files(&srv, developer_org).is_empty(), "{b}: the files are gone");
        let kept = date(&x["logs_kept_until"]);
        assert!(kept >= t + Duration::days(181), "{b}: {x}");
        let (_, shop) = srv.anonymous().get_json("/api/v1/operation/product-catalog").await;
        assert!(shop.as_array().unwrap().iter().all(|p| p["id"] != p1), "{b}: delisted: {shop}");
        let (s, _) = developer.post_json("/api/v1/operation/scenarios", scenario(t, &fields[..1])).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");

        // Retention: a run deletes old lines of the operation log, but not an exited entity's
        // within six months of its exit; after that, those go too.
        exec(&srv, "UPDATE op_log SET at_micros = at_micros - 400 * 86400000000").await;
        let (s, r) = reviewer.post_json("/api/v1/operation/logs/prune", json!({})).await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        assert!(r["deleted"].as_u64().unwrap() > 0, "{b}: {r}");
        let (_, op_log) = reviewer.get_json(&format!("/api/v1/operation/logs/{operator_org}")).await;
        assert_eq!(op_log, json!([]), "{b}: the operator's old lines are pruned");
        let (_, dev_log) = reviewer.get_json(&format!("/api/v1/operation/logs/{developer_org}")).await;
        let actions: Vec<&str> = dev_log.as_array().unwrap().iter().map(|l| l["action"].as_str().unwrap()).collect();
        assert!(
            actions.contains(&"operation.scenario.sample") && actions.contains(&"operation.exit"),
            "{b}: {dev_log}"
        );
        exec(&srv, "UPDATE op_exits SET logs_kept_until = '2020-01-01'").await;
        let (_, r) = reviewer.post_json("/api/v1/operation/logs/prune", json!({})).await;
        assert!(r["deleted"].as_u64().unwrap() > 0, "{b}: {r}");
        let (_, dev_log) = reviewer.get_json(&format!("/api/v1/operation/logs/{developer_org}")).await;
        assert_eq!(dev_log, json!([]), "{b}");

        // Every step is in the audit chain with who did it (R-SEC-03).
        let auditor = srv.login("auditor").await;
        for action in [
            "operation.agreement.sign",
            "operation.catalog.not_operable",
            "operation.scenario.approve",
            "operation.product.reject",
            "operation.sale.record",
            "operation.agreement.suspend",
            "operation.exit",
            "operation.log.prune",
        ] {
            let (_, ev) = auditor.get_json(&format!("/api/v1/audit/events?action={action}")).await;
            assert!(!ev.as_array().unwrap().is_empty(), "{b}: {action}");
        }
    }
}

/// covers: R-OPS-01 (a renewal goes through review again; whoever drafted it does not decide
/// it; approved, it supersedes the agreement it renews)
#[tokio::test]
async fn a_renewal_is_reviewed_again_and_supersedes_the_agreement() {
    let backend = crate::server::backend();
    let srv = TestServer::start(&backend);
    let reviewer = srv.login("reviewer").await;
    let operator_org = org_of_kind(&reviewer, "operation_entity").await;
    let (enterprise, _) = entry_named(&reviewer, "企业登记基本信息").await;
    let t = today();
    let body = |start: Date, renews: Option<i64>| {
        json!({"kind": "operation", "party_org_id": operator_org, "starts_on": iso(start),
            "ends_on": iso(start + Duration::days(364)), "renews_id": renews,
            "terms": terms(&[enterprise], &["api"], json!({"public_share_bp": 500}))})
    };
    // The demo's operator holds an agreement in force: a second one for the same time is
    // refused; a renewal from its end waits for review.
    let (_, agreements) = reviewer.get_json("/api/v1/operation/agreements").await;
    let first =
        agreements.as_array().unwrap().iter().find(|a| a["kind"] == "operation" && a["active"] == true).unwrap();
    let end = date(&first["ends_on"]);
    let first = first["id"].as_i64().unwrap();
    let (s, e) = reviewer.post_json("/api/v1/operation/agreements", body(t, None)).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("agreement_overlaps")), "{e}");
    let (s, renewal) =
        reviewer.post_json("/api/v1/operation/agreements", body(end + Duration::days(1), Some(first))).await;
    assert_eq!((s, renewal["status"].as_str()), (StatusCode::CREATED, Some("pending_review")), "{renewal}");
    let id = renewal["id"].as_i64().unwrap();
    let (s, _) = reviewer
        .post_json(&format!("/api/v1/operation/agreements/{id}/review"), json!({"approve": true, "reason": "同意"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the drafter does not review");
    // A second reviewer of the authority decides.
    let authority = reviewer.get_json("/api/v1/me").await.1["org_id"].as_i64().unwrap();
    let second = crate::harvest::new_account(&srv, "reviewer2", authority, "catalog_reviewer").await;
    let (s, r) = second
        .post_json(
            &format!("/api/v1/operation/agreements/{id}/review"),
            json!({"approve": true, "reason": "经“三重一大”审议同意"}),
        )
        .await;
    assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("in_force")), "{r}");
    let (_, old) = reviewer.get_json(&format!("/api/v1/operation/agreements/{first}")).await;
    assert_eq!(old["status"], "superseded", "{old}");
}

/// covers: R-OPS-02 (an announcement with criteria, applications, scores with reasons, a public
/// result with an objection period; only then an agreement with the winner), R-OPS-01
#[tokio::test]
async fn the_operator_is_selected_before_its_agreement_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let reviewer = srv.login("reviewer").await;
        let operator = srv.login("operator").await;
        let citizen = srv.login("citizen").await;
        let operator_org = org_of_kind(&reviewer, "operation_entity").await;
        let t = today();
        let (_, agreements) = reviewer.get_json("/api/v1/operation/agreements").await;
        let current = agreements
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == "operation" && a["active"] == true)
            .unwrap()
            .clone();
        let next = date(&current["ends_on"]) + Duration::days(1);
        let next_end = years_later(next, 3) - Duration::days(1);
        let announcement = json!({"title": "临江市公共数据授权运营主体遴选公告（下一期）", "scope": "市级公共数据授权运营",
            "criteria": ["经营状况良好，无严重失信记录", "具备等保三级的系统和运维能力", "近三年无重大数据安全事件"],
            "apply_by": iso(t), "term_starts_on": iso(next), "term_ends_on": iso(next_end), "objection_working_days": 5});
        let (s, e) = operator.post_json("/api/v1/operation/selections", announcement.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: {e}");
        let (s, sel) = reviewer.post_json("/api/v1/operation/selections", announcement).await;
        assert_eq!((s, sel["status"].as_str()), (StatusCode::CREATED, Some("open")), "{b}: {sel}");
        let id = sel["id"].as_i64().unwrap();
        let path = |tail: &str| format!("/api/v1/operation/selections/{id}{tail}");

        // The operator applies with a statement for each criterion; the public sees the
        // announcement but no candidate before the result.
        let (s, e) = operator.post_json(&path("/applications"), json!({"materials": ["良好"]})).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("materials_invalid")), "{b}: {e}");
        let materials =
            json!({"materials": ["近三年审计报告无保留意见", "等保三级测评报告（2026）", "无数据安全事件的承诺函"]});
        let (s, _) = operator.post_json(&path("/applications"), materials.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let (s, _) = operator.post_json(&path("/applications"), materials).await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}: once per organisation");
        let (_, public) = srv.anonymous().get_json(&path("")).await;
        assert_eq!(public["candidates"], json!([]), "{b}: {public}");

        // Review: scores with reasons on every criterion, then the result under notice.
        let (s, e) = reviewer
            .post_json(&path("/steps"), json!({"step": "publish", "winner_org_id": operator_org, "note": "x"}))
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}: not before the review: {e}");
        let (s, _) = reviewer.post_json(&path("/steps"), json!({"step": "close"})).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (_, full) = reviewer.get_json(&path("")).await;
        let candidate = full["candidates"][0]["id"].as_i64().unwrap();
        let scores = json!([{"criterion": 0, "score": 90, "reason": "审计报告无保留意见"},
            {"criterion": 1, "score": 85, "reason": "等保三级测评通过"}, {"criterion": 2, "score": 95, "reason": "承诺函及公开记录"}]);
        let (s, r) = reviewer
            .post_json(&path("/steps"), json!({"step": "score", "candidate_id": candidate, "scores": scores}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {r}");
        assert_eq!(
            (r["candidates"][0]["total"].as_i64(), r["candidates"][0]["qualified"].as_bool()),
            (Some(90), Some(true)),
            "{b}: {r}"
        );
        let (s, r) = reviewer
            .post_json(
                &path("/steps"),
                json!({"step": "publish", "winner_org_id": operator_org, "note": "综合评分第一且各项合格"}),
            )
            .await;
        assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("publicized")), "{b}: {r}");
        let (_, public) = srv.anonymous().get_json(&path("")).await;
        assert_eq!(public["winner"], "临江公共数据运营有限公司", "{b}: {public}");
        assert_eq!(public["candidates"][0]["total"], 90, "{b}: the result is public with its scores");

        // An objection during the notice; the selection concludes only after the notice, with
        // every objection answered.
        let (s, _) = citizen.post_json(&path("/objections"), json!({"reason": "请公开评分细则"})).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, _) = reviewer.post_json(&path("/steps"), json!({"step": "conclude"})).await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}: the notice runs");
        exec(
            &srv,
            &format!("UPDATE op_selections SET objection_ends_on = '{}' WHERE id = {id}", iso(t - Duration::days(1))),
        )
        .await;
        let (s, _) = reviewer.post_json(&path("/steps"), json!({"step": "conclude"})).await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}: an objection is unanswered");
        let (s, _) = reviewer
            .post_json(&path("/steps"), json!({"step": "answer", "objection": 0, "answer": "评分细则见公告附件"}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, r) = reviewer.post_json(&path("/steps"), json!({"step": "conclude"})).await;
        assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("concluded")), "{b}: {r}");

        // The agreement: with the winner, within the term, once.
        let agreement = |selection: Option<i64>| {
            json!({"kind": "operation", "party_org_id": operator_org, "starts_on": iso(next), "ends_on": iso(next_end),
                "terms": current["terms"], "selection_id": selection})
        };
        let (s, e) = reviewer.post_json("/api/v1/operation/agreements", agreement(None)).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("agreement_needs_selection")), "{b}: {e}");
        let (s, a) = reviewer.post_json("/api/v1/operation/agreements", agreement(Some(id))).await;
        assert_eq!(
            (s, a["status"].as_str(), a["selection_id"].as_i64()),
            (StatusCode::CREATED, Some("in_force"), Some(id)),
            "{b}: {a}"
        );
        let (s, _) = reviewer.post_json("/api/v1/operation/agreements", agreement(Some(id))).await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}: the term is taken");
    }
}

fn offer_form(name: &str, personal: bool, consent: &str) -> reqwest::multipart::Form {
    let metadata = json!({"name": name, "summary": "合作商户的门店分布", "provider": "临江美食平台有限公司",
        "source": "平台商户入驻登记", "legal_basis": "与临江美食平台有限公司的数据合作协议（2026）",
        "personal": personal, "consent": consent,
        "fields": [{"name": "shop", "label": "门店"}, {"name": "district", "label": "所在区县"}]});
    let csv = "shop,district\n老街面馆,东湖区\n江边茶楼,西山区\n北岭小吃,北岭县\n";
    let file = reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("shops.csv");
    reqwest::multipart::Form::new().text("metadata", metadata.to_string()).part("file", file)
}

fn checks(failing: Option<&str>) -> Value {
    let checks: Vec<Value> = ["source", "legality", "quality", "consent"]
        .iter()
        .map(|c| json!({"check": c, "passed": Some(*c) != failing, "evidence": format!("已核查：{c}")}))
        .collect();
    json!({ "checks": checks })
}

/// covers: R-OPS-07 (social data enters the operation domain only after the operator checks its
/// source, legality, quality and consent; it is loaded with validation and its provenance, and
/// listed in the social-data catalog), R-OPS-03
#[tokio::test]
async fn social_data_enters_the_domain_only_after_review_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let operator = srv.login("operator").await;
        let developer = srv.login("developer").await;

        let (s, e) = developer.post_multipart("/api/v1/operation/social", offer_form("商户门店", true, ""), true).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: personal data needs its consent: {e}");
        let (s, a) =
            developer.post_multipart("/api/v1/operation/social", offer_form("商户门店分布", false, ""), true).await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {a}");
        let a: Value = serde_json::from_str(&a).unwrap();
        assert_eq!((a["status"].as_str(), a["accepted"].as_i64()), (Some("under_review"), Some(3)), "{b}: {a}");
        let id = a["id"].as_i64().unwrap();
        let (s, _) = developer.get_json(&format!("/api/v1/operation/social/{id}/rows")).await;
        assert_eq!(s, StatusCode::CONFLICT, "{b}: unusable before the review");
        let (_, catalog) = srv.anonymous().get_json("/api/v1/operation/social-catalog").await;
        assert_eq!(catalog, json!([]), "{b}");

        let (s, e) = operator
            .post_json(
                &format!("/api/v1/operation/social/{id}/review"),
                json!({"checks": [{"check": "source", "passed": true, "evidence": "x"}]}),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}: every check is answered: {e}");
        let (s, r) = operator.post_json(&format!("/api/v1/operation/social/{id}/review"), checks(None)).await;
        assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("approved")), "{b}: {r}");
        let (s, rows) = developer.get_json(&format!("/api/v1/operation/social/{id}/rows")).await;
        assert_eq!(s, StatusCode::OK, "{b}: {rows}");
        assert_eq!(rows["columns"], json!(["shop", "district"]), "{b}");
        assert_eq!(rows["rows"].as_array().unwrap().len(), 3, "{b}");
        let (_, catalog) = srv.anonymous().get_json("/api/v1/operation/social-catalog").await;
        assert_eq!(catalog[0]["name"], "商户门店分布", "{b}: {catalog}");
        assert_eq!(catalog[0]["provider"], "临江美食平台有限公司", "{b}: the provenance is public");

        // Personal data without sound consent is refused and its table deleted.
        let (s, p) = developer
            .post_multipart("/api/v1/operation/social", offer_form("商户联系人", true, "入驻时勾选隐私政策"), true)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {p}");
        let p: Value = serde_json::from_str(&p).unwrap();
        let pid = p["id"].as_i64().unwrap();
        let (s, r) =
            operator.post_json(&format!("/api/v1/operation/social/{pid}/review"), checks(Some("consent"))).await;
        assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("rejected")), "{b}: {r}");
        let table = format!("social-{pid}");
        let mut stack = vec![srv.dir.path().to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                assert_ne!(e.file_name().to_string_lossy(), table, "{b}: the refused table is deleted");
                if e.path().is_dir() {
                    stack.push(e.path());
                }
            }
        }
        let (_, catalog) = srv.anonymous().get_json("/api/v1/operation/social-catalog").await;
        assert_eq!(catalog.as_array().unwrap().len(), 1, "{b}: {catalog}");
    }
}

/// covers: R-OPS-11, R-OPS-10, R-OPS-01 (the supervision forms of `/operation`: the operator
/// signs a development agreement, orders a developer to rectify, evaluates it and ends its
/// authorization, each from the page)
#[tokio::test]
async fn the_operator_supervises_developers_from_its_page() {
    let srv = TestServer::start(&crate::server::backend());
    let operator = srv.login("operator").await;
    let (_, page) = operator.get("/operation").await;
    assert!(page.contains("签订授权开发协议") && page.contains("评估评价"), "{page}");
    let (_, agreements) = operator.get_json("/api/v1/operation/agreements").await;
    let dev = agreements
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "development" && a["status"] == "in_force" && a["party"] == "临江智行数据科技有限公司")
        .unwrap()
        .clone();
    let (id, org) = (dev["id"].as_i64().unwrap(), dev["party_org_id"].as_i64().unwrap().to_string());
    let rectify_by = iso(today() + Duration::days(20));
    let (s, _) = operator
        .post_form(
            &format!("/operation/agreements/{id}/act"),
            &[("action", "rectify"), ("reason", "未按期反馈开发利用情况"), ("rectify_by", &rectify_by)],
            true,
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, a) = operator.get_json(&format!("/api/v1/operation/agreements/{id}")).await;
    assert_eq!(
        (a["status"].as_str(), a["rectify_by"].as_str()),
        (Some("rectifying"), Some(rectify_by.as_str())),
        "{a}"
    );
    let target = format!("developer:{org}");
    let (s, _) = operator
        .post_form(
            "/operation/evaluations",
            &[
                ("target", &target),
                ("period_start", &iso(today() - Duration::days(180))),
                ("period_end", &iso(today())),
                ("judgement", "50"),
                ("comments", "反馈不及时，已责令整改"),
            ],
            true,
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, evs) = operator.get_json("/api/v1/operation/evaluations").await;
    let e = evs
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["org_id"].as_i64().map(|o| o.to_string()) == Some(org.clone()))
        .unwrap();
    assert_eq!(e["facts"]["violations"], 1, "the order to rectify counts: {e}");
    let (s, _) = operator
        .post_form(
            "/operation/exits",
            &[("org_id", &org), ("ground", "failed_evaluation"), ("reason", "整改期满仍未改善")],
            true,
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, exits) = operator.get_json("/api/v1/operation/exits").await;
    let x = exits
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|x| x["org_id"].as_i64().map(|o| o.to_string()) == Some(org.clone()))
        .unwrap();
    assert_eq!(x["ground"], "failed_evaluation", "{x}");
    assert!(
        !x["effects"]["destroyed"].as_array().unwrap().is_empty(),
        "the demo's approved application had its copy: {x}"
    );
    // Exited, it may be admitted again by a new development agreement signed on the page.
    let (_, catalog) = operator.get_json("/api/v1/operation/catalog").await;
    let entry = catalog.as_array().unwrap().iter().find(|i| i["development"] == true).unwrap()["entry_id"].to_string();
    let ends = iso(today() + Duration::days(180));
    let (s, _) = operator
        .post_form(
            "/operation/agreements/development",
            &[
                ("party_org_id", &org),
                ("starts_on", &iso(today())),
                ("ends_on", &ends),
                ("scope", "信贷风控场景"),
                ("catalog", &entry),
                ("products", "api"),
                ("security", "数据不出域"),
                ("rights_duties", "按协议"),
                ("max_markup_bp", "1000"),
                ("price_cap_fen", "100000"),
                ("operator_share_bp", "1500"),
            ],
            true,
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, agreements) = operator.get_json("/api/v1/operation/agreements").await;
    let again = agreements
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|a| a["party_org_id"].as_i64().map(|o| o.to_string()).as_deref() == Some(org.as_str()))
        .unwrap();
    assert_eq!(
        (again["status"].as_str(), again["ends_on"].as_str()),
        (Some("in_force"), Some(ends.as_str())),
        "{again}"
    );
}
