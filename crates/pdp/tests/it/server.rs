//! `TestServer`: spawns the `pdp` binary with its own data dir (and, on PostgreSQL, its own
//! schema), reads the demo accounts and the listen address from its output, and offers a
//! small client that logs in like a browser (session cookie plus CSRF token).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use reqwest::redirect::Policy;
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// The backend the suite runs on: SQLite (embedded, the default), or PostgreSQL alone when
/// `TEST_POSTGRES_URL` names a server. CI runs the suite once on each (`.ci/run`).
pub fn backends() -> Vec<Backend> {
    match std::env::var("TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => vec![Backend::Postgres(url)],
        _ => vec![Backend::Sqlite],
    }
}

/// The one backend of this run, for tests that need only one server.
pub fn backend() -> Backend {
    backends().remove(0)
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub struct TestServer {
    child: Child,
    pub url: String,
    pub dir: tempfile::TempDir,
    pub backend: Backend,
    pub schema: String,
    pub accounts: HashMap<String, String>,
    env: Vec<(String, String)>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Each run's PostgreSQL schema is dropped afterwards so the shared database stays small.
        if let Backend::Postgres(url) = &self.backend {
            let (url, schema) = (url.clone(), self.schema.clone());
            let _ = std::thread::spawn(move || {
                use sqlx::Connection;
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                rt.block_on(async {
                    if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                        let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                        let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await;
                    }
                });
            })
            .join();
        }
    }
}

impl TestServer {
    /// Starts `pdp serve --demo` on a fresh data dir (and schema).
    pub fn start(backend: &Backend) -> Self {
        Self::start_with(backend, &[])
    }

    pub fn start_with(backend: &Backend, extra_env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let schema = format!("t_{}_{}_{}", std::process::id(), n, nanos);
        let mut env = vec![("PDP_LOG".to_string(), "warn".to_string())];
        if let Backend::Postgres(url) = backend {
            env.push(("PDP_DATABASE__URL".into(), url.clone()));
            env.push(("PDP_DATABASE__SCHEMA".into(), schema.clone()));
        }
        for (k, v) in extra_env {
            env.push((k.to_string(), v.to_string()));
        }
        let (child, url, accounts) = Self::spawn(dir.path(), &env);
        Self { child, url, dir, backend: backend.clone(), schema, accounts, env }
    }

    /// Spawns `pdp serve --demo` on `dir` and waits until it listens; the demo accounts are
    /// printed only on the first start.
    fn spawn(dir: &std::path::Path, env: &[(String, String)]) -> (Child, String, HashMap<String, String>) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pdp"));
        cmd.args(["serve", "--demo", "--demo-scale", "0.01", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn pdp");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut accounts = HashMap::new();
        let mut in_accounts = false;
        let url = loop {
            let line = lines.next().expect("pdp exited before listening").expect("read stdout");
            if let Some(rest) = line.strip_prefix("PDP listening on ") {
                break rest.trim().to_string();
            }
            if line.contains("Demo accounts") {
                in_accounts = true;
                continue;
            }
            if in_accounts {
                let mut parts = line.split_whitespace();
                if let (Some(u), Some(p)) = (parts.next(), parts.next()) {
                    accounts.insert(u.to_string(), p.to_string());
                }
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        (child, url, accounts)
    }

    /// Stops the server and starts it again on the same data dir and database.
    pub fn restart(&mut self) {
        self.stop();
        let (child, url, _) = Self::spawn(self.dir.path(), &self.env);
        self.child = child;
        self.url = url;
    }

    /// Runs a `pdp` command against this server's data dir and database.
    pub fn pdp(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_pdp"))
            .args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("run pdp")
    }

    /// A `pdp` command against this server's data dir and database, to spawn.
    pub fn pdp_command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_pdp"));
        c.args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    /// `pdp load` of `file` into `dataset` as the officer, started and not waited for, its output
    /// discarded.
    pub fn spawn_load(&self, dataset: &str, file: &std::path::Path) -> std::process::Child {
        self.pdp_command(&[
            "load",
            "--dataset",
            dataset,
            "--file",
            file.to_str().unwrap(),
            "--as",
            "officer",
            "--quiet",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A client that opens a connection per request: a server that answers a request it did not
    /// read to the end (a 413) closes the connection, and a pooled client could send its next
    /// request on that connection before it sees the close.
    pub fn http() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(Policy::none())
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    }

    /// Logs in through the login form, like a browser.
    pub async fn login(&self, username: &str) -> Client {
        let password = self.accounts.get(username).unwrap_or_else(|| panic!("no demo account {username}")).clone();
        self.login_with(username, &password).await.unwrap_or_else(|s| panic!("login {username} failed: {s}"))
    }

    pub async fn login_with(&self, username: &str, password: &str) -> Result<Client, StatusCode> {
        let http = Self::http();
        let res = http
            .post(format!("{}/login", self.url))
            .form(&[("username", username), ("password", password), ("next", "/")])
            .send()
            .await
            .unwrap();
        if res.status() != StatusCode::SEE_OTHER {
            return Err(res.status());
        }
        let set = res.headers().get("set-cookie").expect("session cookie").to_str().unwrap().to_string();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
        let cookie = set.split(';').next().unwrap().to_string();
        let mut c = Client { base: self.url.clone(), http, cookie: Some(cookie), csrf: String::new(), bearer: None };
        let home = c.get("/").await.1;
        let marker = "name=\"csrf\" value=\"";
        let start = home.find(marker).expect("csrf field on the home page") + marker.len();
        c.csrf = home[start..start + 64].to_string();
        Ok(c)
    }

    pub fn anonymous(&self) -> Client {
        Client { base: self.url.clone(), http: Self::http(), cookie: None, csrf: String::new(), bearer: None }
    }

    pub fn with_key(&self, token: &str) -> Client {
        Client {
            base: self.url.clone(),
            http: Self::http(),
            cookie: None,
            csrf: String::new(),
            bearer: Some(token.to_string()),
        }
    }
}

/// A logged-in (or anonymous, or API-key) client.
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub cookie: Option<String>,
    pub csrf: String,
    pub bearer: Option<String>,
}

impl Client {
    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c).header("x-csrf-token", &self.csrf);
        }
        if let Some(b) = &self.bearer {
            r = r.bearer_auth(b);
        }
        r
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, String) {
        let mut r = self.req(method, path);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let res = r.send().await.unwrap();
        let status = res.status();
        (status, res.text().await.unwrap())
    }

    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        self.send(Method::GET, path, None).await
    }

    pub async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let (s, t) = self.get(path).await;
        (s, serde_json::from_str(&t).unwrap_or(Value::Null))
    }

    pub async fn post_json(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, t) = self.send(Method::POST, path, Some(body)).await;
        (s, serde_json::from_str(&t).unwrap_or(Value::Null))
    }

    pub async fn put_json(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, t) = self.send(Method::PUT, path, Some(body)).await;
        (s, serde_json::from_str(&t).unwrap_or(Value::Null))
    }

    /// The raw bytes of a successful GET (files).
    pub async fn get_bytes(&self, path: &str) -> Vec<u8> {
        let res = self.req(Method::GET, path).send().await.unwrap();
        assert!(res.status().is_success(), "GET {path}: {}", res.status());
        res.bytes().await.unwrap().to_vec()
    }

    /// Posts a file as the raw request body.
    pub async fn post_bytes(&self, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
        self.send_bytes(Method::POST, path, body).await
    }

    pub async fn send_bytes(&self, method: Method, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let res =
            self.req(method, path).header("content-type", "application/octet-stream").body(body).send().await.unwrap();
        let status = res.status();
        (status, serde_json::from_str(&res.text().await.unwrap()).unwrap_or(Value::Null))
    }

    /// Posts a multipart body: with the CSRF header as an API client sends it, or without, as a
    /// page's form does (its token then travels in `path`'s query string).
    pub async fn post_multipart(
        &self,
        path: &str,
        form: reqwest::multipart::Form,
        csrf_header: bool,
    ) -> (StatusCode, String) {
        let r = if csrf_header {
            self.req(Method::POST, path)
        } else {
            let r = self.http.post(format!("{}{}", self.base, path));
            match &self.cookie {
                Some(c) => r.header("cookie", c),
                None => r,
            }
        };
        let res = r.multipart(form).send().await.unwrap();
        let status = res.status();
        (status, res.text().await.unwrap())
    }

    /// Posts an HTML form; `with_csrf` false leaves the token out (to test the check).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)], with_csrf: bool) -> (StatusCode, String) {
        let mut r = self.http.post(format!("{}{}", self.base, path));
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        if with_csrf {
            fields.push(("csrf", &self.csrf));
        }
        let res = r.form(&fields).send().await.unwrap();
        let status = res.status();
        (status, res.text().await.unwrap())
    }
}
