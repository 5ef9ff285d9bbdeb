//! Deny by default: every route in the table, driven with every role (and with nobody).

use pdp_domain::roles::{Role, allows};
use pdp_web::routes::route_table;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::server::TestServer;

fn concrete(path: &str) -> String {
    path.replace("{id}", "1")
        .replace("{entry_id}", "1")
        .replace("{org_id}", "1")
        .replace("{file}", "pdp.css")
        .replace("{code}", "en")
        .replace("{kind}", "share")
        .replace("{year}", "2030")
        .replace("{format}", "csv")
}

/// covers: R-SEC-04 (deny by default: each route needs its declared permission), R-SEC-05
#[tokio::test]
async fn every_route_with_every_role() {
    let srv = TestServer::start(&crate::server::backend());
    let table = route_table();
    assert!(table.len() > 30);

    // Nobody logged in: every protected route refuses (401 for the API, login redirect for pages).
    let anon = srv.anonymous();
    for spec in table {
        let path = concrete(spec.path);
        let (status, text) =
            anon.send(spec.method.clone(), &path, spec.method.ne(&Method::GET).then(|| json!({}))).await;
        match spec.perm {
            Some(_) if path.starts_with("/api/") || path.starts_with("/delta-sharing/") => {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{} {path}", spec.method)
            }
            Some(_) => assert_eq!(status, StatusCode::SEE_OTHER, "{} {path}", spec.method),
            // Public pages answer anyone; `POST /login` answers 401 to a wrong password, which is
            // its job, not a denial.
            // `/metrics` is for operators unless `security.metrics_public` is set: its handler
            // asks for an operator's session or key.
            None if path == "/metrics" => assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}"),
            // A public handler may refuse for its own reasons (open data that needs an
            // application), but never with the gate's `permission_denied` or for want of a login.
            None if spec.method == Method::GET => {
                assert!(
                    status != StatusCode::UNAUTHORIZED
                        && !(status == StatusCode::FORBIDDEN && text.contains("permission_denied")),
                    "{} {path}: {status}",
                    spec.method
                )
            }
            None => {}
        }
    }

    let accounts = [
        ("admin", Role::PlatformAdmin),
        ("reviewer", Role::CatalogReviewer),
        ("officer", Role::OrgDataOfficer),
        ("approver", Role::OrgApprover),
        ("security", Role::SecurityAdmin),
        ("auditor", Role::Auditor),
        ("operator", Role::OperatorAdmin),
        ("developer", Role::Developer),
        ("citizen", Role::PublicUser),
        ("dh.reviewer", Role::CatalogReviewer),
        ("xs.officer", Role::OrgDataOfficer),
    ];
    let mut denied = 0;
    for (username, role) in accounts {
        let client = srv.login(username).await;
        for spec in table {
            let Some(perm) = spec.perm else { continue };
            // Logging out would end the session under test; it is checked on its own below.
            if spec.path == "/logout" {
                continue;
            }
            let path = concrete(spec.path);
            let body = (spec.method != Method::GET).then(|| json!({}));
            let (status, text) = client.send(spec.method.clone(), &path, body).await;
            if allows(&[role], perm) {
                // A handler may still refuse for its own reasons (another organisation's entry,
                // say), but never with the gate's `permission_denied`.
                let gate_denied = status == StatusCode::FORBIDDEN && text.contains("permission_denied");
                assert!(
                    !gate_denied && status != StatusCode::UNAUTHORIZED,
                    "{username} ({role:?}) should reach {} {path}: {status} {text}",
                    spec.method
                );
            } else {
                denied += 1;
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{username} ({role:?}) must be denied {} {path}: {text}",
                    spec.method
                );
            }
        }
        let (status, _) = client.post_form("/logout", &[], true).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{username} logs out");
    }
    assert!(denied > 100, "the table denies most routes to most roles ({denied})");

    // Every denial is in the audit log.
    let auditor = srv.login("auditor").await;
    let (_, events) = auditor.get_json("/api/v1/audit/events?action=access.denied&limit=10000").await;
    assert_eq!(events.as_array().unwrap().len(), denied, "one audit event per denial");
}
