//! The audit chain on disk: tampering is found and named by `pdp audit verify`, and an action
//! whose event cannot be written does not happen.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection;

use crate::server::{Backend, TestServer, backends};

/// Runs one statement directly against the server's database, as an intruder with file or
/// database access would.
async fn tamper(srv: &TestServer, sql: &[&str]) {
    match &srv.backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", srv.dir.path().join("pdp.db").display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            for s in sql {
                sqlx::query(sqlx::AssertSqlSafe(s.to_string())).execute(&mut c).await.unwrap();
            }
        }
        Backend::Postgres(url) => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("SET search_path TO {}", srv.schema)))
                .execute(&mut c)
                .await
                .unwrap();
            for s in sql {
                let s = s.replace(
                    "DROP TRIGGER audit_events_no_update",
                    "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change",
                );
                if s.starts_with("DROP TRIGGER") {
                    continue;
                }
                sqlx::query(sqlx::AssertSqlSafe(s)).execute(&mut c).await.unwrap();
            }
        }
    }
}

/// covers: R-SEC-03, R-SHR-12 (one changed byte is found and named; an untouched log verifies)
#[tokio::test]
async fn verify_names_the_altered_event() {
    for backend in backends() {
        let b = backend.name();
        let mut srv = TestServer::start(&backend);
        srv.login("admin").await;
        srv.stop();

        let out = srv.pdp(&["audit", "checkpoint"]);
        assert!(out.status.success(), "{b}: {}", String::from_utf8_lossy(&out.stderr));
        let out = srv.pdp(&["audit", "verify"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{b}: {stdout} {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("intact") && stdout.contains("signed checkpoints verified"), "{b}: {stdout}");
        assert!(!stdout.contains(" 0 signed checkpoints"), "{b}: the checkpoints were checked: {stdout}");

        // The append-only trigger stops a casual UPDATE...
        // ...so the intruder removes it first and changes one byte of event 5's actor.
        tamper(
            &srv,
            &[
                "DROP TRIGGER audit_events_no_update",
                "UPDATE audit_events SET actor = 'X' || substr(actor, 2) WHERE seq = 5",
            ],
        )
        .await;
        let out = srv.pdp(&["audit", "verify"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{b}: {stdout}");
        assert!(stdout.contains("BROKEN at event 5"), "{b}: {stdout}");
    }
}

/// covers: R-SEC-03 (the append-only trigger refuses updates to stored events)
#[tokio::test]
async fn stored_events_cannot_be_updated_casually() {
    let srv = TestServer::start(&Backend::Sqlite);
    let url = format!("sqlite://{}", srv.dir.path().join("pdp.db").display());
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let r = sqlx::query("UPDATE audit_events SET actor = 'x' WHERE seq = 1").execute(&mut c).await;
    assert!(r.unwrap_err().to_string().contains("append-only"));
    let r = sqlx::query("DELETE FROM audit_events WHERE seq = 1").execute(&mut c).await;
    assert!(r.is_err());
}

/// covers: R-SEC-03 (no unlogged action: if the event cannot be written, the action fails)
#[tokio::test]
async fn failing_audit_write_fails_the_action() {
    for backend in backends() {
        let b = backend.name();
        let srv = TestServer::start(&backend);
        let admin = srv.login("admin").await;
        let auditor = srv.login("auditor").await;
        let (_, before) = admin.get_json("/api/v1/orgs").await;

        // Simulate a full or broken audit store: every insert into the chain fails.
        match &backend {
            Backend::Sqlite => {
                tamper(&srv, &["CREATE TRIGGER audit_broken BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END"]).await
            }
            Backend::Postgres(_) => {
                tamper(
                    &srv,
                    &[
                        "CREATE FUNCTION audit_broken() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END; $$",
                        "CREATE TRIGGER audit_broken BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_broken()",
                    ],
                )
                .await
            }
        }
        let code = pdp_domain::ids::complete_credit_code("1135990299887766").unwrap();
        let (s, e) = admin
            .post_json(
                "/api/v1/orgs",
                json!({"name": "不应存在的单位", "credit_code": code, "kind": "other", "region_id": 1}),
            )
            .await;
        assert!(s.is_server_error(), "{b}: {s} {e}");
        let (_, after) = admin.get_json("/api/v1/orgs").await;
        assert_eq!(before, after, "{b}: the organisation was not created");
        // Reading the audit log is a data access and is refused too.
        let (s, e) = auditor.get_json("/api/v1/audit/events").await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("audit_unavailable")), "{b}");
    }
}

/// covers: R-SEC-03 (links alone prove nothing to someone who can rewrite them: `pdp audit
/// verify` fails without the key that checks the signatures, without checkpoints, and on a
/// truncated tail; checkpoints are append-only; the public key alone verifies)
#[tokio::test]
async fn verify_needs_the_key_and_checkpoints_that_cover_the_chain() {
    for backend in backends() {
        let b = backend.name();
        let mut srv = TestServer::start(&backend);
        srv.login("admin").await;
        srv.stop();
        let out = srv.pdp(&["audit", "checkpoint"]);
        assert!(out.status.success(), "{b}: {}", String::from_utf8_lossy(&out.stderr));
        let verify = |env: &[(&str, &str)]| {
            let out = srv.pdp_command(&["audit", "verify"]).envs(env.iter().copied()).output().unwrap();
            (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string())
        };

        // The public key was written beside the signing key, and is all verification needs.
        let public = srv.dir.path().join("audit-signing.pub");
        assert!(public.exists(), "{b}");
        let elsewhere = srv.dir.path().join("moved-away.key");
        let (code, out) = verify(&[("PDP_AUDIT__SIGNING_KEY_FILE", elsewhere.to_str().unwrap())]);
        assert_eq!(code, Some(0), "{b}: {out}");
        // With neither key there is nothing to check the signatures against.
        let none = srv.dir.path().join("none.pub");
        let (code, out) = verify(&[
            ("PDP_AUDIT__SIGNING_KEY_FILE", elsewhere.to_str().unwrap()),
            ("PDP_AUDIT__PUBLIC_KEY_FILE", none.to_str().unwrap()),
        ]);
        assert_eq!(code, Some(1), "{b}: {out}");
        assert!(out.contains("cannot verify"), "{b}: {out}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(srv.dir.path().join("audit-signing.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{b}: the signing key is the owner's alone");
            // A data directory the platform creates is its owner's alone too.
            let fresh = srv.dir.path().join("fresh").join("pdp-data");
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_pdp"))
                .args(["audit", "checkpoint", "--data-dir"])
                .arg(&fresh)
                .output()
                .unwrap();
            assert!(out.status.success(), "{b}: {}", String::from_utf8_lossy(&out.stderr));
            let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{b}");
        }

        // Checkpoints cannot be deleted casually; an intruder who drops the guard and deletes
        // them leaves a chain that no signature covers, and verification fails.
        if let Backend::Sqlite = backend {
            let url = format!("sqlite://{}", srv.dir.path().join("pdp.db").display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let r = sqlx::query("DELETE FROM audit_checkpoints").execute(&mut c).await;
            assert!(r.unwrap_err().to_string().contains("append-only"), "{b}");
        }
        let drop_guard = match backend {
            Backend::Sqlite => "DROP TRIGGER audit_checkpoints_no_delete",
            Backend::Postgres(_) => "ALTER TABLE audit_checkpoints DISABLE TRIGGER audit_checkpoints_no_change",
        };
        for sql in [drop_guard, "DELETE FROM audit_checkpoints"] {
            crate::governance::exec(&srv, sql).await;
        }
        let (code, out) = verify(&[]);
        assert_eq!(code, Some(1), "{b}: {out}");
        assert!(out.contains("no signed checkpoint"), "{b}: {out}");

        // Signed again, it verifies; then the tail the checkpoint covers is cut off.
        let out = srv.pdp(&["audit", "checkpoint"]);
        assert!(out.status.success(), "{b}");
        assert_eq!(verify(&[]).0, Some(0), "{b}");
        let drop_events_guard = match backend {
            Backend::Sqlite => "DROP TRIGGER audit_events_no_delete",
            Backend::Postgres(_) => "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change",
        };
        for sql in [drop_events_guard, "DELETE FROM audit_events WHERE seq > (SELECT MAX(seq) - 3 FROM audit_events)"] {
            crate::governance::exec(&srv, sql).await;
        }
        let (code, out) = verify(&[]);
        assert_eq!(code, Some(1), "{b}: {out}");
        assert!(out.contains("BROKEN"), "{b}: {out}");
    }
}
