//! The command line: configuration errors, console account creation, SM3 chains.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::server::{Backend, TestServer};

fn pdp(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)], stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pdp"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("PDP_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// covers: R-SEC-04 (a misspelt setting is an error naming the key, not a silent default)
#[test]
fn unknown_environment_keys_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let out = pdp(dir.path(), &["migrate"], &[("PDP_SECURITY__SECURE_COOKIE", "false")], "");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("secure_cookie"), "{err}");
    let out = pdp(dir.path(), &["migrate"], &[("PDP_SECURITY__SECURE_COOKIES", "false")], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The benchmark's floor is a build feature, not a setting someone could turn on.
    let out = pdp(dir.path(), &["migrate"], &[("PDP_BENCH__BARE_ROUTE", "true")], "");
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

/// covers: R-SEC-05 (the console also enforces the separation of duties), R-SEC-04
#[tokio::test]
async fn console_creates_accounts_under_the_same_rules() {
    let srv = TestServer::start(&Backend::Sqlite);
    let dir = srv.dir.path();
    let out = pdp(
        dir,
        &["admin", "create-user", "--username", "sec2", "--roles", "security_admin,auditor", "--password-stdin"],
        &[],
        "Str0ng-password-1\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("separation_of_duties"));
    let out = pdp(
        dir,
        &[
            "admin",
            "create-user",
            "--username",
            "sec2",
            "--roles",
            "security_admin",
            "--org-id",
            "1",
            "--password-stdin",
        ],
        &[],
        "Str0ng-password-1\n",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let c = srv.login_with("sec2", "Str0ng-password-1").await.expect("the new account logs in");
    let (_, me) = c.get_json("/api/v1/me").await;
    assert_eq!(me["user"]["roles"][0], "security_admin");
}

/// covers: R-SEC-03, R-SEC-04 (SM3 chains by configuration verify like SHA-256 ones)
#[tokio::test]
async fn sm3_chain_by_configuration() {
    let mut srv = TestServer::start_with(&Backend::Sqlite, &[("PDP_AUDIT__HASH", "sm3")]);
    let auditor = srv.login("auditor").await;
    let (_, events) = auditor.get_json("/api/v1/audit/events?limit=5").await;
    assert!(events.as_array().unwrap().iter().all(|e| e["alg"] == "sm3"), "{events}");
    srv.stop();
    let out = srv.pdp(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

/// covers: R-SEC-06 (a plain start logs the platform's own events, not the lake libraries'
/// internals: at the default level a command that opens every table prints none of theirs)
#[tokio::test]
async fn the_default_log_level_keeps_library_internals_out() {
    let srv = TestServer::start(&Backend::Sqlite);
    let out = srv.pdp_command(&["lake", "reindex"]).env("PDP_LOG", "info").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    for library in ["buoyant_kernel", "deltalake_core", "datafusion"] {
        assert!(!err.contains(library), "{library} at info: {err}");
    }
    assert!(String::from_utf8_lossy(&out.stdout).contains("key files built"));
}
