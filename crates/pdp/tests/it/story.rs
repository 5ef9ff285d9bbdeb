//! The story of day one, run on every backend: the administrator sets up regions and
//! organisations, the security administrator grants roles under the separation of duties, an
//! application gets an API key, the auditor reads and exports the log.

use pdp_domain::ids::complete_credit_code;
use reqwest::StatusCode;
use serde_json::json;

use crate::server::{TestServer, backends};

/// covers: R-SEC-02 (organisations with validated credit codes and named data officers), R-SEC-03, R-SEC-04, R-SEC-05
#[tokio::test]
async fn day_one_story_on_every_backend() {
    for backend in backends() {
        let srv = TestServer::start(&backend);
        let b = backend.name();
        let admin = srv.login("admin").await;

        // Regions: a new district under the demo city.
        let (s, regions) = admin.get_json("/api/v1/regions").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let city = regions.as_array().unwrap().iter().find(|r| r["level"] == "city").unwrap()["id"].as_i64().unwrap();
        let (s, district) = admin
            .post_json(
                "/api/v1/regions",
                json!({"code": "359931", "name": "新城区", "level": "district", "parent_id": city}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {district}");
        let (s, e) = admin
            .post_json("/api/v1/regions", json!({"code": "3599", "name": "x", "level": "district", "parent_id": city}))
            .await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_area_code")), "{b}");

        // Organisations: a valid credit code is accepted, a wrong check character refused
        // with a bilingual error, a duplicate is a conflict.
        let code = complete_credit_code("1135993101234567").unwrap();
        let org_body = json!({"name": "新城区政务服务中心", "credit_code": code, "kind": "government_department", "region_id": district["id"]});
        let (s, created) = admin.post_json("/api/v1/orgs", org_body.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {created}");
        let org_id = created["organisation"]["id"].as_i64().unwrap();
        let (s, e) = admin.post_json("/api/v1/orgs", org_body).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{b}");
        let mut bad = code.clone();
        let last = bad.pop().unwrap();
        bad.push(if last == '0' { '1' } else { '0' });
        let (s, e) = admin
            .post_json(
                "/api/v1/orgs",
                json!({"name": "错码单位", "credit_code": bad, "kind": "other", "region_id": city}),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        assert!(e["message"].as_str().unwrap().contains(" / "), "bilingual: {e}");
        assert_eq!(e["type"], "invalid_request");
        let (s, _) = admin
            .post_json(&format!("/api/v1/orgs/{org_id}/officers"), json!({"name": "李娜", "title": "数据专员"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let (_, officers) = admin.get_json(&format!("/api/v1/orgs/{org_id}/officers")).await;
        assert_eq!(officers[0]["name"], "李娜", "{b}");

        // Accounts: the platform admin creates, but only the security admin assigns roles.
        let (s, e) = admin
            .post_json("/api/v1/users", json!({"username": "li.na", "display_name": "李娜", "password": "Correct-Horse-42", "org_id": org_id, "roles": ["org_data_officer"]}))
            .await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("roles_need_security_admin")), "{b}");
        let (s, e) = admin
            .post_json(
                "/api/v1/users",
                json!({"username": "li.na", "display_name": "李娜", "password": "short1", "org_id": org_id}),
            )
            .await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("weak_password")), "{b}");
        let (s, user) = admin
            .post_json(
                "/api/v1/users",
                json!({"username": "li.na", "display_name": "李娜", "password": "Correct-Horse-42", "org_id": org_id}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {user}");
        assert!(user.get("password_hash").is_none(), "hash never leaves the server");
        let uid = user["id"].as_i64().unwrap();

        let security = srv.login("security").await;
        // R-SEC-06: who requests shares does not also approve them.
        let (s, e) = security
            .put_json(&format!("/api/v1/users/{uid}/roles"), json!({"roles": ["org_data_officer", "org_approver"]}))
            .await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("separation_of_duties")), "{b}: {e}");
        let (s, u) = security
            .put_json(&format!("/api/v1/users/{uid}/roles"), json!({"roles": ["org_data_officer", "public_user"]}))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}: {u}");
        // R-SEC-05: auditor with a data-operating role, and security admin with auditor, fail.
        let (s, e) = security
            .put_json(&format!("/api/v1/users/{uid}/roles"), json!({"roles": ["auditor", "org_data_officer"]}))
            .await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("separation_of_duties")), "{b}");
        let (s, e) = security
            .put_json(&format!("/api/v1/users/{uid}/roles"), json!({"roles": ["security_admin", "auditor"]}))
            .await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("separation_of_duties")), "{b}");
        let (_, me) = security.get_json("/api/v1/me").await;
        let (s, e) = security
            .put_json(
                &format!("/api/v1/users/{}/roles", me["user"]["id"]),
                json!({"roles": ["security_admin", "platform_admin"]}),
            )
            .await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("self_assignment")), "{b}");

        // The administrator chose li.na's password, so li.na chooses its own before anything
        // else (R-SEC-06): the first login leads to the password page, and the API refuses.
        let res = TestServer::http()
            .post(format!("{}/login", srv.url))
            .form(&[("username", "li.na"), ("password", "Correct-Horse-42"), ("next", "/catalog")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{b}");
        assert_eq!(res.headers()["location"], "/account/password", "{b}");
        let set = res.headers()["set-cookie"].to_str().unwrap().to_string();
        let mut first = crate::server::Client {
            base: srv.url.clone(),
            http: TestServer::http(),
            cookie: Some(set.split(';').next().unwrap().to_string()),
            csrf: String::new(),
            bearer: None,
        };
        let (s, e) = first.get_json("/api/v1/share/grants").await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("password_change_required")), "{b}: {e}");
        let (s, _) = first.get("/").await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{b}: pages lead to the password page");
        let (s, page) = first.get("/account/password").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert!(page.contains("must-change"), "{b}");
        let marker = "name=\"csrf\" value=\"";
        let at = page.find(marker).expect("csrf field") + marker.len();
        first.csrf = page[at..at + 64].to_string();
        let (s, e) = first
            .post_json("/api/v1/me/password", json!({"current": "Wrong-Horse-42", "new": "Li-Na-Chose-2026"}))
            .await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("wrong_password")), "{b}: {e}");
        let (s, e) = first
            .post_json("/api/v1/me/password", json!({"current": "Correct-Horse-42", "new": "Li-Na-Chose-2026"}))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}: {e}");
        let (s, _) = first.get_json("/api/v1/share/grants").await;
        assert_eq!(s, StatusCode::OK, "{b}: the same session goes on with the new password");
        assert_eq!(
            srv.login_with("li.na", "Correct-Horse-42").await.err(),
            Some(StatusCode::UNAUTHORIZED),
            "{b}: the password the administrator knew no longer works"
        );

        // The new officer logs in and makes an API key for an application.
        let officer = srv.login_with("li.na", "Li-Na-Chose-2026").await.expect("login");
        let (s, created) =
            officer.post_json("/api/v1/api-keys", json!({"name": "政务服务系统", "expires_in_days": 30})).await;
        assert_eq!(s, StatusCode::CREATED, "{b}: {created}");
        let token = created["token"].as_str().unwrap().to_string();
        assert!(created["key"].get("secret_hash").is_none());
        let app = srv.with_key(&token);
        let (s, me) = app.get_json("/api/v1/me").await;
        assert_eq!(
            (s, me["via"].as_str(), me["org_id"].as_i64()),
            (StatusCode::OK, Some("api_key"), Some(org_id)),
            "{b}"
        );
        let (s, _) = app.get_json("/api/v1/users").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}: a data officer's key cannot list users");
        let (s, e) = app.post_json("/api/v1/api-keys", json!({"name": "x"})).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("key_needs_session")), "{b}");

        // The administrator disables the account: its sessions end and its key stops; nobody
        // disables their own account; enabled again, it logs in anew (R-SEC-06).
        let (s, e) =
            admin.post_json(&format!("/api/v1/users/{uid}/disable"), json!({"disabled": true, "reason": "调岗"})).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}: {e}");
        assert_eq!(officer.get_json("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "{b}: the session ended");
        assert_eq!(app.get_json("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "{b}: the key stopped");
        assert_eq!(srv.login_with("li.na", "Li-Na-Chose-2026").await.err(), Some(StatusCode::UNAUTHORIZED), "{b}");
        let (_, me) = admin.get_json("/api/v1/me").await;
        let admin_id = me["user"]["id"].as_i64().unwrap();
        let (s, e) = admin
            .post_json(&format!("/api/v1/users/{admin_id}/disable"), json!({"disabled": true, "reason": "x"}))
            .await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("self_account")), "{b}: {e}");
        let (s, _) = admin
            .post_json(&format!("/api/v1/users/{uid}/disable"), json!({"disabled": false, "reason": "复岗"}))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
        let again = srv.login_with("li.na", "Li-Na-Chose-2026").await.expect("enabled again");
        let (s, ended) = admin.post_json(&format!("/api/v1/users/{uid}/sessions/end"), json!({})).await;
        assert_eq!((s, ended["ended"].as_u64()), (StatusCode::OK, Some(1)), "{b}: {ended}");
        assert_eq!(again.get_json("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "{b}: its sessions ended");
        let officer = srv.login_with("li.na", "Li-Na-Chose-2026").await.expect("logs in anew");
        assert_eq!(app.get_json("/api/v1/me").await.0, StatusCode::OK, "{b}: enabled again, the key works");
        let (s, e) = srv.with_key(&format!("{token}x")).get_json("/api/v1/me").await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_api_key")), "{b}");
        let key_id = created["key"]["id"].as_i64().unwrap();
        let (s, _) = officer.post_json(&format!("/api/v1/api-keys/{key_id}/revoke"), json!({})).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
        let (s, _) = app.get_json("/api/v1/me").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}: a revoked key is refused");

        // The auditor finds every step in the log, exports it, and the chain verifies.
        let auditor = srv.login("auditor").await;
        let (s, events) = auditor.get_json("/api/v1/audit/events?action=org.create&limit=50").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let mine: Vec<_> =
            events.as_array().unwrap().iter().filter(|e| e["object"] == format!("org:{org_id}")).collect();
        assert_eq!(mine.len(), 1, "{b}: {events}");
        assert_eq!(mine[0]["actor"], "admin");
        assert_eq!(mine[0]["request_hash"].as_str().unwrap().len(), 64);
        let (_, denied) = auditor.get_json("/api/v1/audit/events?outcome=denied").await;
        assert!(
            denied.as_array().unwrap().iter().any(|e| e["action"] == "user.roles.set"),
            "{b}: refused assignment audited"
        );
        assert!(
            denied.as_array().unwrap().iter().any(|e| e["action"] == "access.denied" && e["actor"] == "li.na"),
            "{b}"
        );
        let (s, csv) = auditor.get("/api/v1/audit/events.csv?action=api_key.").await;
        assert_eq!(s, StatusCode::OK);
        assert!(csv.starts_with("\u{feff}seq,at,actor"), "{b}");
        assert_eq!(csv.lines().filter(|l| l.contains("api_key.")).count(), 2, "{b}: {csv}");
        let (s, v) = auditor.post_json("/api/v1/audit/verify", json!({})).await;
        assert_eq!((s, v["intact"].as_bool()), (StatusCode::OK, Some(true)), "{b}: {v}");
        // Reading the log is itself on the record.
        let (_, reads) = auditor.get_json("/api/v1/audit/events?action=audit.export").await;
        assert!(!reads.as_array().unwrap().is_empty(), "{b}");

        // The same from the users page: the administrator disables li.na there (its session
        // ends), and enables it again; there is no such form for the administrator's own row.
        let officer = srv.login_with("li.na", "Li-Na-Chose-2026").await.expect("li.na");
        let (_, html) = admin.get("/users").await;
        assert!(html.contains(&format!("/users/{uid}/disable")), "{b}");
        assert!(!html.contains(&format!("/users/{admin_id}/disable")), "{b}");
        let disable = format!("/users/{uid}/disable");
        let (s, _) = admin.post_form(&disable, &[("disabled", "true"), ("reason", "离岗")], true).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{b}");
        assert_eq!(officer.get_json("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "{b}");
        let (_, html) = admin.get("/users").await;
        assert!(html.contains("已停用"), "{b}");
        let (s, _) = admin.post_form(&disable, &[("disabled", "false"), ("reason", "返岗")], true).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{b}");
        assert!(srv.login_with("li.na", "Li-Na-Chose-2026").await.is_ok(), "{b}");
    }
}

/// covers: R-SEC-04, R-SEC-06 (login throttling and uniform failure)
#[tokio::test]
async fn login_is_throttled_after_repeated_failures() {
    for backend in backends() {
        let srv = TestServer::start(&backend);
        for _ in 0..5 {
            assert_eq!(srv.login_with("officer", "wrong-password-1").await.err(), Some(StatusCode::UNAUTHORIZED));
        }
        // Even the right password is refused while the account is throttled.
        let right = srv.accounts["officer"].clone();
        assert_eq!(
            srv.login_with("officer", &right).await.err(),
            Some(StatusCode::TOO_MANY_REQUESTS),
            "{}",
            backend.name()
        );
        assert_eq!(srv.login_with("nobody", "whatever-123").await.err(), Some(StatusCode::UNAUTHORIZED));
        // Other accounts are unaffected.
        srv.login("approver").await;
    }
}

/// covers: R-SEC-04 (CSRF: a cookie-authenticated form without the token is refused)
#[tokio::test]
async fn forms_need_the_csrf_token() {
    let srv = TestServer::start(&crate::server::backend());
    let admin = srv.login("admin").await;
    let fields = [("code", "359941"), ("name", "测试区"), ("level", "district"), ("parent_id", "1")];
    let (s, body) = admin.post_form("/regions", &fields, false).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("csrf_failed"));
    // A form whose number does not parse is refused whole, naming the field, in both languages.
    let bad = [("code", "359942"), ("name", "坏表单区"), ("level", "district"), ("parent_id", "一")];
    let (s, body) = admin.post_form("/regions", &bad, true).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains("invalid_form") && body.contains("表单字段 parent_id") && body.contains("form field parent_id"),
        "{body}"
    );
    let (s, _) = admin.post_form("/regions", &fields, true).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = admin.get("/regions").await;
    assert!(page.contains("测试区") && !page.contains("坏表单区"));
    // Logging out ends the session on the server.
    let (s, _) = admin.post_form("/logout", &[], true).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _) = admin.get_json("/api/v1/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// covers: R-SEC-04, R-SEC-06 (pages load nothing off-site; health and metrics for monitoring; Chinese first, English on request)
#[tokio::test]
async fn pages_are_chinese_first_with_english_switch() {
    let srv = TestServer::start(&crate::server::backend());
    let anon = srv.anonymous();
    let (s, page) = anon.get("/login").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("lang=\"zh-CN\"") && page.contains("登录"));
    assert!(!page.contains("http://") && !page.contains("https://"), "no off-site assets");
    let res =
        TestServer::http().get(format!("{}/login", srv.url)).header("cookie", "pdp_lang=en").send().await.unwrap();
    assert!(res.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    let page = res.text().await.unwrap();
    assert!(page.contains("lang=\"en\"") && page.contains("Log in"));
    let (s, js) = anon.get("/static/htmx.min.js").await;
    assert_eq!(s, StatusCode::OK);
    assert!(js.contains("htmx"));
    let (s, body) = anon.get("/healthz").await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, "ok"));
    let (s, body) = anon.get("/readyz").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // Metrics are for the platform's operators (R-SEC-06): not for anyone, nor for a data officer.
    let (s, _) = anon.get("/metrics").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = srv.login("officer").await.get("/metrics").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, metrics) = srv.login("admin").await.get("/metrics").await;
    assert_eq!(s, StatusCode::OK);
    assert!(metrics.contains("pdp_audit_chain_length "));
    let (s, e) = anon.get_json("/api/v1/nope").await;
    assert_eq!(
        (s, e["code"].as_str(), e["type"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"), Some("not_found"))
    );
}

/// covers: R-SEC-04 (no route answers without the gate: the sharing benchmark's unauthenticated
/// floor, `GET /bench/bare`, exists only in a build with the `bench` feature, never in the
/// binary the tests and production run; no setting turns it on, see
/// `cli::unknown_environment_keys_are_rejected`)
#[tokio::test]
async fn the_production_binary_has_no_benchmark_route() {
    let srv = TestServer::start(&crate::server::backend());
    let (s, _) = srv.anonymous().get("/bench/bare?bytes=100").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// covers: R-SEC-04 (sessions end when idle: a session lives `session_idle_minutes` after its
/// last use, sliding with use, and never past `session_ttl_minutes` from its login)
#[tokio::test]
async fn sessions_end_when_idle_on_every_backend() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let officer = srv.login("officer").await;
        let now = || (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64;
        let expiry = "SELECT MAX(expires_at) FROM sessions";
        let minute = 60_000_000;
        // A new session ends 30 idle minutes from now (the default), not 8 hours.
        let left = crate::governance::query_i64(&srv, expiry).await - now();
        assert!((29 * minute..=30 * minute).contains(&left), "{b}: {left}");
        // Used with little time left, it slides back to 30 minutes.
        crate::governance::exec(&srv, &format!("UPDATE sessions SET expires_at = {}", now() + 5 * minute)).await;
        assert_eq!(officer.get_json("/api/v1/me").await.0, StatusCode::OK, "{b}");
        let left = crate::governance::query_i64(&srv, expiry).await - now();
        assert!(left > 29 * minute, "{b}: slid to {left}");
        // Left idle past its expiry, it is over.
        crate::governance::exec(&srv, &format!("UPDATE sessions SET expires_at = {}", now() - 1)).await;
        assert_eq!(officer.get_json("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "{b}");
    }
}

/// covers: R-AGG-03, R-AGG-06, R-AGG-07, R-OBJ-01, R-SHR-04, R-SHR-14 (the README's demo section
/// as written: on a fresh demo each page it names opens for the account it names, with what it
/// says is there)
#[tokio::test]
async fn the_readme_demo_tour_works_as_written() {
    let srv = TestServer::start(&crate::server::backend());
    let mut pages = Vec::new();
    for (user, path, shows) in [
        ("reviewer", "/sources", "/sources"),
        ("reviewer", "/base/person", "/base/person"),
        ("dh.reviewer", "/returns/1", "东湖区"),
        ("citizen", "/objections", "/objections/"),
        ("officer", "/share", "/share/requests/"),
        ("approver", "/share", "/share/grants/"),
        ("xs.officer", "/share", "/share/grants/"),
        ("reviewer", "/share", "/share/requests/"),
        ("xs.officer", "/documents/verify", "/documents/verify"),
    ] {
        let c = srv.login(user).await;
        let (s, html) = c.get(path).await;
        assert_eq!(s, StatusCode::OK, "{user} {path}: {html}");
        assert!(html.contains(shows), "{user} {path} shows {shows}");
        pages.push(html);
    }
    // The cross-check found disagreements, and the objections page lists the demo's objections.
    assert!(pages[0].contains("冲突"), "the cross-check's conflicts");
    // xs.officer's view grant on the business licences fetches licences on its page.
    let xs = srv.login("xs.officer").await;
    let (_, grants) = xs.get_json("/api/v1/share/grants").await;
    let licence = grants
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["mode"] == "view")
        .unwrap_or_else(|| panic!("a view grant: {grants}"))["id"]
        .as_i64()
        .unwrap();
    let (s, html) = xs.get(&format!("/share/grants/{licence}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("documents-form"), "the licence grant's page fetches licences");
}
