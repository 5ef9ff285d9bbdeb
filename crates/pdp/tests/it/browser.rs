//! Browser tests in real Chromium, driven over the W3C WebDriver protocol by chromedriver
//! (Debian's `chromium` and `chromium-driver`, installed by `.ci/run`). The client is a few
//! HTTP calls with reqwest, so no browser-automation crate is needed.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server::TestServer;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one headless Chromium session.
pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    base: String,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn find_binary(names: &[&str]) -> Option<String> {
    names.iter().find(|p| std::path::Path::new(p).exists()).map(|p| p.to_string())
}

impl Browser {
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// A browser that saves downloads into `downloads` without asking.
    pub async fn start_with(downloads: Option<&std::path::Path>) -> Self {
        let driver_bin = find_binary(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"])
            .expect("chromedriver not found: install Debian's chromium and chromium-driver (as .ci/run does)");
        let chrome_bin = find_binary(&["/usr/bin/chromium", "/usr/bin/chromium-browser"])
            .expect("chromium not found: install Debian's chromium (as .ci/run does)");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::Client::new();
        let driver_url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{driver_url}/status")).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let mut options = json!({
            "binary": chrome_bin,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--lang=zh-CN", "--host-resolver-rules=MAP localhost 127.0.0.1", format!("--user-data-dir={}", profile.path().display())]
        });
        if let Some(dir) = downloads {
            options["prefs"] = json!({
                "download.default_directory": dir.display().to_string(),
                "download.prompt_for_download": false,
                "download.directory_upgrade": true
            });
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}});
        let res: Value =
            http.post(format!("{driver_url}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let id = res["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {res}")).to_string();
        Self { driver, http, base: format!("{driver_url}/session/{id}"), _profile: profile }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        r = r.json(&body.unwrap_or_else(|| json!({})));
        let v: Value = r.send().await.unwrap().json().await.unwrap();
        if v["value"].get("error").is_some() {
            panic!("webdriver {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    pub async fn url(&self) -> String {
        let v = self.http.get(format!("{}/url", self.base)).send().await.unwrap().json::<Value>().await.unwrap();
        v["value"].as_str().unwrap_or_default().to_string()
    }

    /// Waits up to ten seconds for an element to appear (pages load after a click).
    pub async fn find(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            let v: Value = self
                .http
                .post(format!("{}/element", self.base))
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if let Some(id) = v["value"][ELEMENT].as_str() {
                return id.to_string();
            }
            if started.elapsed() > Duration::from_secs(10) {
                let src = self.http.get(format!("{}/source", self.base)).send().await.unwrap().text().await.unwrap();
                panic!("no element {css} on {}: {src}", self.url().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/click"), None).await;
    }

    pub async fn type_in(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/clear"), None).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({ "text": text }))).await;
    }

    /// Chooses a file in an `<input type=file>` (WebDriver sends the path as keys).
    pub async fn choose_file(&self, css: &str, path: &std::path::Path) {
        let id = self.find(css).await;
        let text = path.display().to_string();
        self.cmd(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({ "text": text }))).await;
    }

    pub async fn text(&self, css: &str) -> String {
        let v: Value = self
            .http
            .post(format!("{}/element", self.base))
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let Some(id) = v["value"][ELEMENT].as_str() else { return String::new() };
        let t = self
            .http
            .get(format!("{}/element/{id}/text", self.base))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        t["value"].as_str().unwrap_or_default().to_string()
    }

    pub async fn html(&self, css: &str) -> String {
        let id = self.find(css).await;
        let v = self.cmd(reqwest::Method::GET, &format!("/element/{id}/property/innerHTML"), None).await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// Waits until the page's text contains `needle`.
    pub async fn wait_for_text(&self, needle: &str) {
        let started = Instant::now();
        loop {
            let t = self.text("body").await;
            if t.contains(needle) {
                return;
            }
            if started.elapsed() > Duration::from_secs(10) {
                panic!("{needle:?} not on {}: {t}", self.url().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs axe-core (vendored under `tests/assets/axe-core`, MPL-2.0) on the current page with
    /// the WCAG 2.0 and 2.1 A and AA rules, and returns its violations.
    pub async fn axe(&self) -> Vec<Value> {
        const AXE: &str = include_str!("../assets/axe-core/axe.min.js");
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": format!("{AXE}\nreturn 1;"), "args": []})),
        )
        .await;
        let script = "const done = arguments[arguments.length - 1];
            axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
               .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}))))
               .catch(e => done([{id: 'axe-error', help: String(e)}]));";
        let v = self.cmd(reqwest::Method::POST, "/execute/async", Some(json!({"script": script, "args": []}))).await;
        v.as_array().cloned().unwrap_or_default()
    }

    pub async fn login(&self, site: &str, username: &str, password: &str) {
        self.goto(&format!("{site}/login")).await;
        self.type_in("input[name=username]", username).await;
        self.type_in("input[name=password]", password).await;
        self.click("form button[type=submit]").await;
        self.find("form[action='/logout']").await;
    }

    /// Sets an input's value directly (a date field, whose typing depends on the locale).
    pub async fn set_value(&self, css: &str, value: &str) {
        let id = self.find(css).await;
        let script = "arguments[0].value = arguments[1];";
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": [{ELEMENT: id}, value]})),
        )
        .await;
    }

    pub async fn logout(&self) {
        self.click("form[action='/logout'] button").await;
        self.find("input[name=username]").await;
    }
}

/// covers: R-CAT-03, R-CAT-02, R-CAT-05 (in Chromium: a data officer creates an entry with
/// fields and submits it, a reviewer approves it, and it is found by a Chinese word of its
/// summary with the word highlighted)
#[tokio::test]
async fn officer_creates_reviewer_approves_anyone_finds() {
    let srv = TestServer::start(&crate::server::backend());
    // `localhost` is a secure context for Chromium, so the platform's Secure cookies are kept.
    let site = srv.url.replace("127.0.0.1", "localhost");
    let browser = Browser::start().await;
    let name = "浏览器测试：公共自行车租赁点信息";

    browser.login(&site, "officer", &srv.accounts["officer"]).await;
    browser.goto(&format!("{site}/catalog/new")).await;
    browser.type_in("input[name=name]", name).await;
    browser.type_in("textarea[name=summary]", "全市公共自行车租赁点的位置、车位数和借还车次数").await;
    browser.click("select[name=frequency] option[value=daily]").await;
    // Two fields in the first two rows of the field table.
    let rows = ["table.fields tbody tr:nth-child(1)", "table.fields tbody tr:nth-child(2)"];
    browser.type_in(&format!("{} input[name=f_name]", rows[0]), "station_id").await;
    browser.type_in(&format!("{} input[name=f_label]", rows[0]), "租赁点编号").await;
    browser.type_in(&format!("{} input[name=f_name]", rows[1]), "rentals").await;
    browser.type_in(&format!("{} input[name=f_label]", rows[1]), "借车次数").await;
    browser.click(&format!("{} select[name=f_type] option[value=integer]", rows[1])).await;
    // Inline validation: making it conditional without a legal basis is flagged before saving.
    browser.click("select[name=share_type] option[value=conditional]").await;
    browser.wait_for_text("share_legal_basis_required").await;
    browser.click("select[name=share_type] option[value=unconditional]").await;
    browser.wait_for_text("符合全部规则").await;
    browser.click("form.editor > button[type=submit]").await;
    browser.wait_for_text("草稿已保存").await;
    let entry_url = browser.url().await;
    assert!(entry_url.contains("/catalog/entries/"), "{entry_url}");
    assert!(browser.text("table").await.contains("借车次数"));
    browser.click("form[action$='/submit'] button").await;
    browser.wait_for_text("待审核").await;
    browser.logout().await;

    browser.login(&site, "reviewer", &srv.accounts["reviewer"]).await;
    browser.goto(&format!("{site}/catalog/review")).await;
    browser.wait_for_text(name).await;
    // Demo submissions wait in the queue too, so open this entry by its address.
    browser.goto(entry_url.split('?').next().unwrap_or_default()).await;
    browser.wait_for_text(name).await;
    browser.click("form[action$='/approve'] button").await;
    browser.wait_for_text("已发布").await;

    // Found by a word of its summary, with the word highlighted.
    browser.goto(&format!("{site}/catalog/search")).await;
    browser.type_in("form.search input[type=search]", "自行车").await;
    browser.click("form.search button").await;
    browser.wait_for_text(name).await;
    let results = browser.html("#results").await;
    assert!(results.contains("<b>自行车</b>"), "{results}");
}

/// covers: R-AGG-02, R-AGG-04 (in Chromium: a data officer uploads a CSV with bad rows and
/// watches the progress and report, sees the refused rows in the quarantine with their reasons,
/// corrects one row in the page, and sees it accepted as a new version)
#[tokio::test]
async fn officer_uploads_sees_quarantine_and_corrects_a_row() {
    let srv = TestServer::start(&crate::server::backend());
    let site = srv.url.replace("127.0.0.1", "localhost");
    let officer = srv.login("officer").await;
    let reviewer = srv.login("reviewer").await;
    let (id, _) = crate::datasets::publish(&officer, &reviewer, "企业登记信息（浏览器测试）").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("企业.csv");
    let cc = crate::datasets::credit_code;
    std::fs::write(
        &file,
        format!(
            "credit_code,ent_name,capital,est_date\n{},临江甲公司,100,2015-06-01\n{},,3,2016-01-02\n{},临江丙公司,50,\n{},临江丁公司,-5,2018-03-04\n{},临江戊公司,7,2019-05-06\n",
            cc(1), cc(2), cc(3), cc(4), cc(5)
        ),
    )
    .unwrap();

    let browser = Browser::start().await;
    browser.login(&site, "officer", &srv.accounts["officer"]).await;
    browser.goto(&format!("{site}/datasets/{id}")).await;
    browser.choose_file("#upload-form input[type=file]", &file).await;
    browser.click("#upload-form button[type=submit]").await;
    browser.find("#upload-report").await;
    browser.wait_for_text("隔离 quarantined 2").await;
    assert!(
        browser.text("#upload-report").await.contains("通过 accepted 3"),
        "{}",
        browser.text("#upload-report").await
    );
    browser.click("#upload-reload").await;
    browser.find("#quarantine").await;
    assert_eq!(browser.text("#quarantine-count").await, "2");
    let quarantine = browser.text("#quarantine").await;
    assert!(quarantine.contains("ent_name") && quarantine.contains("capital"), "{quarantine}");

    // The row without a name gets one and passes.
    let first = "#quarantine tbody tr:nth-child(1)";
    assert!(browser.text(first).await.contains("ent_name"), "{}", browser.text(first).await);
    browser.type_in(&format!("{first} label:nth-of-type(2) input"), "临江乙公司").await;
    browser.click(&format!("{first} form button[type=submit]")).await;
    browser.wait_for_text("已更正").await;
    assert_eq!(browser.text("#quarantine-count").await, "1");
    assert!(browser.text("#sample").await.contains("临江乙公司"), "{}", browser.text("#sample").await);
    assert!(browser.text("#loads").await.contains("correction"), "{}", browser.text("#loads").await);
}

/// covers: R-SHR-05, R-SHR-03, R-SHR-06, R-SHR-04 (in Chromium: another organisation's data
/// officer picks a conditional catalog entry, ticks the fields it needs, states scenario, basis
/// and purpose and pledges; the provider's approver finds it in the approval queue with its
/// deadline and approves it; the requester then verifies claimed values on the grant's page and
/// gets match / no match, never the data)
#[tokio::test]
async fn request_approve_and_verify_in_the_browser() {
    let srv = TestServer::start(&crate::server::backend());
    let site = srv.url.replace("127.0.0.1", "localhost");
    let officer = srv.login("officer").await;
    let reviewer = srv.login("reviewer").await;
    let entry = crate::sharing::publish(&officer, &reviewer, "人员信息（浏览器共享测试）", "conditional").await;
    crate::sharing::load(&officer, entry).await;
    let (key, name, ..) = crate::sharing::people().remove(0);

    let browser = Browser::start().await;
    browser.login(&site, "xs.officer", &srv.accounts["xs.officer"]).await;
    browser.goto(&format!("{site}/share")).await;
    browser.click("#new-request").await;
    browser.click(&format!("#pick-entry option[value='{entry}']")).await;
    browser.click("#pick-entry button").await;
    browser.click("#request-form input[name=fields][value=id_no]").await;
    browser.click("#request-form input[name=fields][value=person_name]").await;
    browser.click("#request-form select[name=mode] option[value=verify]").await;
    browser.type_in("#request-form input[name=scenario]", "企业登记核验申请人身份").await;
    browser.type_in("#request-form input[name=legal_basis]", "《市场主体登记管理条例》第十六条").await;
    browser.type_in("#request-form textarea[name=purpose]", "核验登记申请人的姓名").await;
    browser.click("#request-form input[name=pledge]").await;
    browser.click("#request-form button[type=submit]").await;
    browser.wait_for_text("申请已提交").await;
    assert!(browser.text("#request-status").await.contains("待审批"), "{}", browser.text("#request").await);
    let request_url = browser.url().await;
    browser.logout().await;

    // The provider's approver sees it in the queue, with its deadline, and approves it.
    browser.login(&site, "approver", &srv.accounts["approver"]).await;
    browser.goto(&format!("{site}/share")).await;
    browser.wait_for_text("人员信息（浏览器共享测试）").await;
    assert!(browser.text("#approval-queue").await.contains("人员信息（浏览器共享测试）"));
    browser.goto(request_url.split('?').next().unwrap_or_default()).await;
    browser.click("#approve").await;
    browser.wait_for_text("已同意共享").await;
    assert!(browser.text("#request-status").await.contains("已授权"));
    browser.click("#grant-link").await;
    browser.find("#grant").await;
    let grant_page = browser.url().await;
    browser.logout().await;

    // The requester verifies: a match and a mismatch, and the record's data never shows.
    browser.login(&site, "xs.officer", &srv.accounts["xs.officer"]).await;
    browser.goto(&grant_page).await;
    browser.type_in("#verify-form input[name=key]", &key).await;
    browser.type_in("#verify-form input[data-field=person_name]", name).await;
    browser.click("#verify-form button[type=submit]").await;
    browser.find("#verdict").await;
    assert!(browser.text("#verdict").await.contains("一致"), "{}", browser.text("#verdict").await);
    assert!(!browser.text("#verdict").await.contains("不一致"));
    browser.type_in("#verify-form input[name=key]", &key).await;
    browser.type_in("#verify-form input[data-field=person_name]", "李鬼").await;
    browser.click("#verify-form button[type=submit]").await;
    browser.wait_for_text("不一致").await;
    let page = browser.text("main").await;
    assert!(!page.contains(name), "verify never shows the data: {page}");
    assert!(browser.text("#grant-usage").await.starts_with('2'), "{}", browser.text("#grant-usage").await);
}

/// covers: R-OBJ-01, R-OBJ-03 (in Chromium: a citizen whose account is bound to their ID objects
/// to the name on their own record from the objections page, which asks no key; the user of a
/// view grant on the dataset looks the record up and sees the value flagged as disputed)
#[tokio::test]
async fn a_citizen_objects_and_a_grant_user_sees_the_flag_in_the_browser() {
    let srv = TestServer::start(&crate::server::backend());
    let site = srv.url.replace("127.0.0.1", "localhost");
    let officer = srv.login("officer").await;
    let reviewer = srv.login("reviewer").await;
    let approver = srv.login("approver").await;
    let xs = srv.login("xs.officer").await;
    let security = srv.login("security").await;
    let citizen = srv.login("citizen").await;
    let entry = crate::sharing::publish(&officer, &reviewer, "人员信息（浏览器异议测试）", "conditional").await;
    crate::sharing::load(&officer, entry).await;
    let (_, grant) = crate::sharing::view_grant_on(entry, &approver, &xs, "view").await;
    let (key, ..) = crate::sharing::people().remove(0);
    crate::governance::bind(&security, &citizen, &key).await;

    let browser = Browser::start().await;
    browser.login(&site, "citizen", &srv.accounts["citizen"]).await;
    browser.goto(&format!("{site}/objections")).await;
    assert!(browser.text("#subject-bound").await.contains(&key[14..]), "{}", browser.text("main").await);
    assert!(browser.html("#objection-form").await.find("name=\"key\"").is_none(), "no key asked");
    browser.click(&format!("#objection-form select[name=entry_id] option[value='{entry}']")).await;
    browser.click("#objection-form select[name=kind] option[value=wrong]").await;
    browser.type_in("#objection-form input[name=field]", "person_name").await;
    browser.type_in("#objection-form input[name=claimed_value]", "张三峰").await;
    browser.type_in("#objection-form textarea[name=reason]", "“峰”字录成了“丰”").await;
    browser.click("#objection-form button[type=submit]").await;
    browser.wait_for_text("异议已提交").await;
    assert!(browser.text("#objection-kind").await.contains("数据错误"), "{}", browser.text("main").await);
    browser.logout().await;

    browser.login(&site, "xs.officer", &srv.accounts["xs.officer"]).await;
    browser.goto(&format!("{site}/share/grants/{grant}")).await;
    browser.type_in("#view-form input[name=key]", &key).await;
    browser.click("#view-form button[type=submit]").await;
    browser.find("#records").await;
    let cell = browser.text("#records td.disputed").await;
    assert!(cell.contains("张**") && cell.contains("异议中"), "{cell}");
}

/// covers: R-SHR-14 (in Chromium: a counter holding a grant on the electronic licence resource
/// types an applicant's credit code on the grant's page, sees the applicant's licences with
/// their digests instead of asking for paper, and checks one on the verification page)
#[tokio::test]
async fn fetch_and_verify_an_electronic_licence_in_the_browser() {
    let srv = TestServer::start(&crate::server::backend());
    let site = srv.url.replace("127.0.0.1", "localhost");
    let officer = srv.login("officer").await;
    let reviewer = srv.login("reviewer").await;
    let xs = srv.login("xs.officer").await;
    let (entry, firm_a, _) = crate::sharing::publish_licences(&officer, &reviewer).await;
    let grant = crate::sharing::request_licences(&xs, entry).await;

    let browser = Browser::start().await;
    browser.login(&site, "xs.officer", &srv.accounts["xs.officer"]).await;
    browser.goto(&format!("{site}/share/grants/{grant}")).await;
    browser.type_in("#documents-form input[name=holder]", &firm_a).await;
    browser.click("#documents-form button[type=submit]").await;
    browser.wait_for_text("SPJY-002").await;
    let page = browser.text("main").await;
    assert!(page.contains("临江恒信科技有限公司") && page.contains("YYZZ-001"), "{page}");
    assert!(!page.contains("临江瑞丰贸易有限公司"), "only the applicant's licences: {page}");
    assert!(page.contains("同等效力"), "{page}");
    let digest = browser.text("section.document code.digest").await;
    assert_eq!(digest.trim().len(), 64, "{digest}");
    browser.click("section.document a[href^='/documents/verify']").await;
    browser.wait_for_text("真实有效").await;
    assert!(browser.text("main").await.contains("西山区市场监督管理局"), "{}", browser.text("main").await);
    // A digest the platform never issued is reported as such.
    browser.type_in("#document-verify input[name=digest]", &"0".repeat(64)).await;
    browser.click("#document-verify button[type=submit]").await;
    browser.wait_for_text("未找到").await;
}

/// Waits up to twenty seconds for a finished download with the extension `ext` in `dir` (the
/// browser writes a partial file under another name until it is whole).
async fn downloaded(dir: &std::path::Path, ext: &str) -> std::path::PathBuf {
    let started = Instant::now();
    loop {
        let done = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == ext));
        if let Some(f) = done {
            return f;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no {ext} file was downloaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// covers: R-OPN-02, R-OPN-03 (in Chromium, without an account: a visitor searches the open
/// portal in Chinese, opens a dataset, sees its dictionary and a masked preview, and downloads
/// it as CSV)
#[tokio::test]
async fn a_visitor_finds_previews_and_downloads_open_data() {
    let srv = TestServer::start(&crate::server::backend());
    let site = srv.url.replace("127.0.0.1", "localhost");
    let officer = srv.login("officer").await;
    let reviewer = srv.login("reviewer").await;
    let entry = crate::open::publish(&officer, &reviewer, "浏览器开放测试企业名录", "unconditional").await;
    crate::open::load(&officer, entry, &crate::open::firms()).await;
    let rules = crate::open::rules(
        &[("credit_code", None), ("ent_name", None), ("legal_rep", None), ("district", None)],
        &["csv", "json"],
        false,
    );
    let (s, r) = crate::open::prepare(&officer, entry, rules).await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{r}");
    crate::open::approve(&reviewer, r["id"].as_i64().unwrap()).await;

    let downloads = tempfile::tempdir().unwrap();
    let browser = Browser::start_with(Some(downloads.path())).await;
    browser.goto(&format!("{site}/open")).await;
    browser.type_in("#open-q", "开放测试企业").await;
    browser.click("form.search button[type=submit]").await;
    browser.wait_for_text("浏览器开放测试企业名录").await;
    browser.click(&format!("#results a[href='/open/datasets/{entry}']")).await;
    browser.find("#dictionary").await;
    let preview = browser.text("table.preview").await;
    assert!(preview.contains("欧***") && !preview.contains("欧阳修远"), "the preview is masked: {preview}");
    assert!(preview.contains("临江开放测试0号有限公司"), "{preview}");
    browser.click("#downloads a[href$='/download/csv']").await;
    let file = downloaded(downloads.path(), "csv").await;
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("legal_rep") && text.contains("欧***") && !text.contains("欧阳修远"), "{text}");
    assert_eq!(text.lines().count(), 13, "{text}");
}

/// covers: R-OPN-06, R-OPN-10 (in Chromium: a visitor registers on the portal, applies for data
/// open on application on its page, the provider's approver approves on the applications page,
/// and the applicant downloads a file that carries the applicant's own watermark)
#[tokio::test]
async fn register_apply_approve_and_download_a_watermarked_file() {
    let srv = TestServer::start(&crate::server::backend());
    let site = srv.url.replace("127.0.0.1", "localhost");
    let officer = srv.login("officer").await;
    let reviewer = srv.login("reviewer").await;
    let entry = crate::open::publish(&officer, &reviewer, "浏览器申请测试企业名录", "on_application").await;
    crate::open::load(&officer, entry, &crate::open::firms()).await;
    let rules = crate::open::rules(&[("credit_code", None), ("legal_rep", None), ("rep_id", None)], &["csv"], false);
    let (s, r) = crate::open::prepare(&officer, entry, rules).await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{r}");
    crate::open::approve(&reviewer, r["id"].as_i64().unwrap()).await;

    let downloads = tempfile::tempdir().unwrap();
    let browser = Browser::start_with(Some(downloads.path())).await;
    browser.goto(&format!("{site}/open/register")).await;
    browser.type_in("#register-form input[name=identifier]", &crate::governance::id("350103", 500)).await;
    browser.type_in("#register-form input[name=display_name]", "李浏览").await;
    browser.type_in("#register-form input[name=username]", "li.browser").await;
    browser.type_in("#register-form input[name=password]", "Kaifang2026abc").await;
    browser.click("#register-form button[type=submit]").await;
    browser.find("input[name=username]").await;
    browser.login(&site, "li.browser", "Kaifang2026abc").await;

    browser.goto(&format!("{site}/open/datasets/{entry}")).await;
    browser.type_in("#apply-form textarea[name=purpose]", "研究区域营商环境").await;
    browser.type_in("#apply-form textarea[name=scenario]", "按区县统计市场主体").await;
    browser.type_in("#apply-form textarea[name=security_measures]", "个人电脑加密存储").await;
    browser.click("#apply-form input[name=pledge]").await;
    browser.click("#apply-form button[type=submit]").await;
    browser.wait_for_text("申请已提交").await;
    assert!(browser.text("#my-applications").await.contains("待答复"), "{}", browser.text("#my-applications").await);
    browser.logout().await;

    browser.login(&site, "approver", &srv.accounts["approver"]).await;
    browser.goto(&format!("{site}/open/applications")).await;
    browser.wait_for_text("李浏览").await;
    browser.click("form[action$='/decision'] button[value=approve]").await;
    browser.wait_for_text("已答复").await;
    browser.logout().await;

    browser.login(&site, "li.browser", "Kaifang2026abc").await;
    browser.goto(&format!("{site}/open/datasets/{entry}")).await;
    browser.click("#application-downloads a[href$='/download/csv']").await;
    let file = downloaded(downloads.path(), "csv").await;
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("\u{feff}credit_code,legal_rep,rep_id\n"), "{text}");
    assert!(text.contains('\u{2217}') && !text.contains("欧阳修远"), "the file is masked and marked: {text}");
}

/// covers: R-OPN-02, R-OPN-03 (the portal is usable by everyone: its public pages and a signed-in
/// account's page pass axe-core's WCAG 2.1 A and AA rules in Chromium, in Chinese and English)
#[tokio::test]
async fn the_portal_passes_the_wcag_2_1_aa_rules_of_axe() {
    let srv = TestServer::start(&crate::server::backend());
    let site = srv.url.replace("127.0.0.1", "localhost");
    let officer = srv.login("officer").await;
    let reviewer = srv.login("reviewer").await;
    let entry = crate::open::publish(&officer, &reviewer, "无障碍测试企业名录", "unconditional").await;
    crate::open::load(&officer, entry, &crate::open::firms()).await;
    let rules = crate::open::rules(
        &[("credit_code", None), ("ent_name", None), ("legal_rep", None), ("district", None), ("staff", None)],
        &["csv", "json"],
        false,
    );
    let (_, r) = crate::open::prepare(&officer, entry, rules).await;
    crate::open::approve(&reviewer, r["id"].as_i64().unwrap()).await;
    let on_application = crate::open::publish(&officer, &reviewer, "无障碍测试有条件名录", "on_application").await;
    crate::open::load(&officer, on_application, &crate::open::firms()).await;
    let (_, r) =
        crate::open::prepare(&officer, on_application, crate::open::rules(&[("credit_code", None)], &["csv"], false))
            .await;
    crate::open::approve(&reviewer, r["id"].as_i64().unwrap()).await;

    let browser = Browser::start().await;
    let pages = [
        "/open".to_string(),
        "/open/datasets".to_string(),
        "/open/datasets?q=%E4%BC%81%E4%B8%9A".to_string(),
        format!("/open/datasets/{entry}"),
        format!("/open/datasets/{on_application}"),
        "/open/announcements".to_string(),
        "/open/requests".to_string(),
        "/open/stats".to_string(),
        "/open/review-list".to_string(),
        "/open/register".to_string(),
        "/login".to_string(),
    ];
    let mut found = Vec::new();
    for lang in ["zh", "en"] {
        browser.goto(&format!("{site}/lang/{lang}")).await;
        for path in &pages {
            browser.goto(&format!("{site}{path}")).await;
            browser.find("main").await;
            for v in browser.axe().await {
                found.push(format!("{lang} {path}: {v}"));
            }
        }
    }
    // A signed-in public account's own page, with its forms.
    browser.goto(&format!("{site}/open/register")).await;
    browser.type_in("input[name=username]", "wcag.user").await;
    browser.type_in("input[name=display_name]", "无障碍用户").await;
    browser.type_in("input[name=password]", "Kaifang2026abc").await;
    browser.type_in("input[name=identifier]", &crate::governance::id("350103", 450)).await;
    browser.click("form[action='/open/register'] button[type=submit]").await;
    browser.login(&site, "wcag.user", "Kaifang2026abc").await;
    for path in ["/open/me".to_string(), format!("/open/datasets/{on_application}")] {
        browser.goto(&format!("{site}{path}")).await;
        browser.find("main").await;
        for v in browser.axe().await {
            found.push(format!("signed in {path}: {v}"));
        }
    }
    assert!(found.is_empty(), "{} WCAG 2.1 A/AA violations:\n{}", found.len(), found.join("\n"));
}

/// covers: R-OPS-02, R-OPS-01, R-OPS-04, R-OPS-08 (in Chromium: the authority announces a
/// selection, the operator applies, the authority scores it, publishes and concludes the result
/// and signs the agreement with the winner; a developer applies for a scenario that the
/// operator, the provider and the authority approve, then submits a product that the operator
/// lists after the six-point review, and the public finds it in the product catalog)
#[tokio::test]
async fn selection_application_and_product_in_the_browser() {
    let srv = TestServer::start(&crate::server::backend());
    let site = srv.url.replace("127.0.0.1", "localhost");
    let today =
        time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap()).date().to_string();
    let browser = Browser::start().await;
    let as_user = |name: &str| srv.accounts[name].clone();

    // The authority announces the selection of the next term's operator.
    browser.login(&site, "reviewer", &as_user("reviewer")).await;
    browser.goto(&format!("{site}/operation")).await;
    browser.click("#announce summary").await;
    browser.type_in("#announce-form input[name=title]", "临江市公共数据授权运营主体遴选公告（浏览器）").await;
    browser.type_in("#announce-form textarea[name=scope]", "市级公共数据授权运营").await;
    browser.set_value("#announce-form input[name=apply_by]", &today).await;
    browser.click("#announce-form button[type=submit]").await;
    browser.find("#selection-status").await;
    let selection_url = browser.url().await.split('?').next().unwrap_or_default().to_string();
    let selection: i64 = selection_url.rsplit('/').next().unwrap().parse().unwrap();
    browser.logout().await;

    // The operator applies with a statement for each criterion.
    browser.login(&site, "operator", &as_user("operator")).await;
    browser.goto(&selection_url).await;
    for (i, text) in ["近三年审计报告无保留意见", "等保三级测评报告", "无重大数据安全事件的承诺函"].iter().enumerate()
    {
        browser.type_in(&format!("#selection-apply label:nth-of-type({}) textarea", i + 1), text).await;
    }
    browser.click("#selection-apply button[type=submit]").await;
    browser.wait_for_text("已申报").await;
    browser.logout().await;

    // The authority closes the applications, scores, publishes the result; after the notice
    // (here moved into the past) it concludes and signs the agreement with the winner.
    browser.login(&site, "reviewer", &as_user("reviewer")).await;
    browser.goto(&selection_url).await;
    browser.click("#step-close").await;
    browser.find(".score-form").await;
    for (i, (score, reason)) in
        [("90", "审计报告无保留意见"), ("85", "测评通过"), ("95", "承诺函及公开记录")].iter().enumerate()
    {
        browser.type_in(&format!(".score-form div:nth-of-type({}) input[name=score]", i + 1), score).await;
        browser.type_in(&format!(".score-form div:nth-of-type({}) input[name=reason]", i + 1), reason).await;
    }
    browser.click(".score-form button[type=submit]").await;
    browser.find("#publish-form").await;
    assert_eq!(browser.text("#candidates td.total").await, "90");
    browser.click("#publish-form button[type=submit]").await;
    browser.find("#winner").await;
    assert!(browser.text("#winner").await.contains("临江公共数据运营有限公司"));
    let yesterday = (time::OffsetDateTime::now_utc().date() - time::Duration::days(2)).to_string();
    crate::governance::exec(
        &srv,
        &format!("UPDATE op_selections SET objection_ends_on = '{yesterday}' WHERE id = {selection}"),
    )
    .await;
    browser.goto(&selection_url).await;
    browser.click("#step-conclude").await;
    browser.find("#sign-form").await;
    browser.click("#sign-form button[type=submit]").await;
    browser.wait_for_text("生效").await;
    assert!(browser.text("#agreements").await.contains("2"), "{}", browser.text("#agreements").await);
    browser.logout().await;

    // A developer applies for one scenario with two fields.
    browser.login(&site, "developer", &as_user("developer")).await;
    browser.goto(&format!("{site}/operation")).await;
    browser.type_in("#scenario-form input[name=scenario]", "浏览器测试：小微企业信用评估").await;
    browser.type_in("#scenario-form textarea[name=purpose]", "评估小微企业经营稳定性").await;
    browser.type_in("#scenario-form textarea[name=scope]", "合作银行授信审批").await;
    browser.type_in("#scenario-form textarea[name=safeguards]", "仅在授权运营域内计算").await;
    browser.click("#scenario-form fieldset label:nth-of-type(1) input").await;
    browser.click("#scenario-form fieldset label:nth-of-type(2) input").await;
    browser.click("#scenario-form button[type=submit]").await;
    browser.find("#scenario-status").await;
    assert!(browser.text("#scenario-status").await.contains("审核中"));
    let scenario_url = browser.url().await.split('?').next().unwrap_or_default().to_string();
    let scenario = scenario_url.rsplit('/').next().unwrap().to_string();
    browser.logout().await;

    // The operator, the provider and the authority approve it in turn.
    for user in ["operator", "approver", "reviewer"] {
        browser.login(&site, user, &as_user(user)).await;
        browser.goto(&scenario_url).await;
        browser.type_in("#decide-form input[name=reason]", "符合正当、必要原则").await;
        browser.click("#approve").await;
        browser.wait_for_text("审核记录").await;
        browser.logout().await;
    }

    // The developer sees its de-identified sample, then submits a product.
    browser.login(&site, "developer", &as_user("developer")).await;
    browser.goto(&scenario_url).await;
    assert!(browser.text("#scenario-status").await.contains("已批准"));
    browser.find("table.sample").await;
    browser.goto(&format!("{site}/operation")).await;
    browser.click("#submit-product summary").await;
    browser.type_in("#product-form input[name=name]", "浏览器测试：经营稳定性评分接口").await;
    browser.click("#product-form select[name=kind] option[value=api]").await;
    browser.type_in("#product-form textarea[name=purpose]", "为合作银行提供评分").await;
    browser.click(&format!("#product-form select[name=application] option[value='{scenario}']")).await;
    browser.type_in("#product-form textarea[name=sample_output]", "{\"score\": 72}").await;
    browser.type_in("#product-form textarea[name=method]", "域内建模，输出不含原始记录").await;
    browser.type_in("#product-form input[name=price_fen]", "1200").await;
    browser.type_in("#product-form input[name=cost_fen]", "1000").await;
    browser.click("#product-form button[type=submit]").await;
    browser.find("#product-status").await;
    assert!(browser.text("#product-status").await.contains("待审核"));
    let product_url = browser.url().await.split('?').next().unwrap_or_default().to_string();
    browser.logout().await;

    // The operator answers the six points; the product is listed.
    browser.login(&site, "operator", &as_user("operator")).await;
    browser.goto(&product_url).await;
    for point in ["purpose", "source", "raw_exposure", "leakage", "cross_border", "other_risk"] {
        browser.click(&format!("#review-form input[name=passed_{point}]")).await;
        browser.type_in(&format!("#review-form input[name=evidence_{point}]"), "已核查开发记录和样例输出").await;
    }
    browser.click("#review-form button[type=submit]").await;
    browser.wait_for_text("已上架").await;
    browser.logout().await;

    // Anyone finds it in the product catalog.
    browser.goto(&format!("{site}/operation/products")).await;
    browser.wait_for_text("浏览器测试：经营稳定性评分接口").await;
}
