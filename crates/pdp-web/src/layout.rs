//! What every page shares: the layout with its navigation, the page result and its error page,
//! CSRF fields, redirects after a post, notices, the small forms several pages post, and times as
//! pages show them.
//!
//! Pages post ordinary HTML forms (each with the session's CSRF token) and use htmx only to
//! refresh parts of a page, so every page works with scripts turned off. All assets are served
//! from `/static`; no page loads anything from another host.

use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use pdp_domain::roles::Permission;
use serde::Deserialize;

use crate::auth::Principal;
use crate::error::AppError;
use crate::i18n::Lang;

/// What a page handler answers: the page, or an error shown as a page.
pub type Page = Result<Response, PageError>;

/// An error on its way to a browser, rendered as a bilingual page with its status
/// ([`error_page`]); what [`AppError`] is for a page handler.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        error_page(self.0)
    }
}

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

/// Renders an error as a bilingual page with its status.
pub fn error_page(e: AppError) -> Response {
    let body = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head { meta charset="utf-8"; title { "PDP — " (e.code) } link rel="stylesheet" href="/static/pdp.css"; }
            body { main {
                h1 { (crate::error::status_of(e.kind).as_u16()) " " (e.zh) }
                p { (e.en) }
                p.muted { "code: " code { (e.code) } }
                p { a href="/" { "返回首页 / Home" } }
            } }
        }
    };
    (crate::error::status_of(e.kind), body).into_response()
}

/// The shared layout: header with navigation by permission, language switch and logout.
pub(crate) fn layout(lang: Lang, p: Option<&Principal>, current: &str, title: &str, body: Markup) -> Markup {
    let nav: &[(&str, &str, &str, &[Permission])] = &[
        ("/", "首页", "Home", &[Permission::ViewDashboard]),
        ("/regions", "区域", "Regions", &[Permission::ViewOrgs]),
        ("/orgs", "单位", "Organisations", &[Permission::ViewOrgs]),
        ("/catalog", "资源目录", "Catalog", &[Permission::ViewCatalog]),
        ("/datasets", "数据归集", "Aggregation", &[Permission::ViewDatasets]),
        ("/sources", "一数一源", "Sources", &[Permission::GovernData]),
        ("/base/person", "基础库", "Base data", &[Permission::ViewBaseData]),
        ("/share", "数据共享", "Sharing", &[Permission::ViewShares]),
        ("/objections", "异议", "Objections", &[Permission::RaiseObjection]),
        (
            "/operation",
            "授权运营",
            "Operation",
            &[Permission::GovernOperation, Permission::RunOperation, Permission::DevelopProducts],
        ),
        ("/calendar", "工作日历", "Calendar", &[Permission::GovernData]),
        ("/users", "用户与角色", "Users & roles", &[Permission::ViewUsers]),
        ("/api-keys", "API 密钥", "API keys", &[Permission::ManageOwnApiKeys]),
        ("/audit", "审计日志", "Audit log", &[Permission::ViewAudit]),
    ];
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false}"#;
                title { (title) " — " (lang.t("公共数据平台", "Public Data Platform")) }
                link rel="stylesheet" href="/static/pdp.css";
                script src="/static/htmx.min.js" defer {}
                script src="/static/pdp.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/" { (lang.t("公共数据平台", "Public Data Platform")) }
                    @if let Some(p) = p {
                        nav.main aria-label=(lang.t("主导航", "Main")) {
                            @for (href, zh, en, perms) in nav {
                                @if perms.iter().any(|perm| p.allows(*perm)) {
                                    a href=(href) aria-current=[(current == *href).then_some("page")] { (lang.t(zh, en)) }
                                }
                            }
                        }
                    }
                    div.who {
                        @if lang == Lang::Zh { a href="/lang/en" lang="en" { "English" } } @else { a href="/lang/zh" lang="zh-CN" { "中文" } }
                        @if let Some(p) = p {
                            span { (p.user.display_name) " (" (p.user.username) ")" }
                            form method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(p.csrf());
                                button.link type="submit" { (lang.t("退出", "Log out")) }
                            }
                        }
                    }
                }
                main { h1 { (title) } (body) }
                footer { (lang.t("公共数据平台 · 数据可用不可见 · 全程留痕", "Public Data Platform · usable but invisible · every access logged")) }
            }
        }
    }
}

pub(crate) fn page(lang: Lang, p: Option<&Principal>, current: &str, title: &str, body: Markup) -> Page {
    Ok(layout(lang, p, current, title, body).into_response())
}

pub(crate) fn csrf(p: &Principal) -> Markup {
    html! { input type="hidden" name="csrf" value=(p.csrf()); }
}

pub(crate) fn see_other(to: &str) -> Page {
    Ok(Redirect::to(to).into_response())
}

pub(crate) fn notice(ok: Option<&str>, lang: Lang) -> Markup {
    html! { @if let Some(m) = ok { div.notice.ok role="status" { (lang.t("已保存：", "Saved: ")) (m) } } }
}

#[derive(Debug, Deserialize)]
pub struct Flash {
    pub ok: Option<String>,
}

/// A form that posts the key of a record (a citizen ID number, a credit code) so that it stays
/// out of URLs, browser history and proxies' logs.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct KeyForm {
    pub key: String,
}

/// A form whose one field is the reason for a step (a refusal, an escalation, a withdrawal, the
/// end of an emergency); the use case decides whether an empty reason is enough.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReasonForm {
    pub reason: String,
}

// ---------------------------------------------------------------- login

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

/// Only local paths are allowed as a post-login destination (no open redirect).
/// The page to return to after logging in: a path on this site only. Browsers drop tabs and
/// line breaks inside URLs and read a backslash as a slash, so `/\t/evil.example` or
/// `/\\evil.example` would leave the site; any control character, space or backslash is
/// refused, as is a second leading slash.
pub(crate) fn safe_next(next: &str) -> &str {
    let same_origin = next.starts_with('/')
        && !next.starts_with("//")
        && !next.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace());
    if same_origin { next } else { "/" }
}

/// A moment as pages show it: `YYYY-MM-DD HH:MM` in the platform's time zone.
pub fn fmt_time(micros: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(pdp_app::clock::offset());
    format!("{:04}-{:02}-{:02} {:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
}
