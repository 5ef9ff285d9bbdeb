//! Server-rendered pages (maud), Chinese first with an English switch.
//!
//! Pages post ordinary HTML forms (each with the session's CSRF token) and use htmx only to
//! refresh parts of a page, so every page works with scripts turned off. All assets are served
//! from `/static`; no page loads anything from another host.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, PreEscaped, html};
use pdp_domain::org::{OrgKind, RegionLevel};
use pdp_domain::roles::{Permission, Role};
use pdp_storage::{AuditQuery, now_micros};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{self, Principal, SESSION_COOKIE};
use crate::error::AppError;
use crate::extract::Form;
use crate::i18n::Lang;
use crate::layout::{Flash, NextQuery, Page, csrf, layout, notice, page, safe_next, see_other};
use pdp_app::admin::{self as api, ApiKeyInput, OfficerInput, OrgInput, RegionInput, RolesInput, UserInput};

type S = State<Arc<AppState>>;

fn login_form(lang: Lang, next: &str, error: Option<&AppError>) -> Markup {
    layout(
        lang,
        None,
        "/login",
        lang.t("登录", "Log in"),
        html! {
            section.card.login {
                @if let Some(e) = error {
                    div.notice.bad role="alert" { (lang.t(&e.zh, &e.en)) }
                }
                form method="post" action="/login" {
                    input type="hidden" name="next" value=(next);
                    p { label { (lang.t("用户名", "Username")) input name="username" autocomplete="username" required autofocus; } }
                    p { label { (lang.t("密码", "Password")) input name="password" type="password" autocomplete="current-password" required; } }
                    p { button type="submit" { (lang.t("登录", "Log in")) } }
                }
            }
        },
    )
}

pub async fn login_page(
    headers: HeaderMap,
    principal: Option<Extension<Principal>>,
    Query(q): Query<NextQuery>,
) -> Response {
    if principal.is_some() {
        return Redirect::to("/").into_response();
    }
    login_form(Lang::from_headers(&headers), safe_next(q.next.as_deref().unwrap_or("/")), None).into_response()
}

/// The sign-in form; `next` is where to go afterwards, checked by [`safe_next`].
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    username: String,
    password: String,
    next: String,
}

pub async fn login_submit(
    State(state): S,
    headers: HeaderMap,
    peer: Option<Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    Form(f): Form<LoginForm>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let next = safe_next(&f.next).to_string();
    let addr = peer.map(|Extension(c)| c.0.ip());
    let done = match pdp_app::accounts::login(&state, &f.username, &f.password, addr).await {
        Ok(done) => done,
        Err(e) => {
            use crate::error::ErrorKind::{Invalid, TooMany, Unauthenticated};
            if matches!(e.kind, TooMany | Unauthenticated) {
                state.metrics.login_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            return match e.kind {
                // A refusal shows the form again with its reason; anything else is an error page.
                Invalid | TooMany | Unauthenticated => {
                    Ok((crate::error::status_of(e.kind), login_form(lang, &next, Some(&e))).into_response())
                }
                _ => Err(e.into()),
            };
        }
    };
    state.metrics.logins.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let s = &state.settings;
    let token = done.token;
    let secure = if s.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        s.session_ttl.as_secs()
    );
    // An account whose password an administrator chose sets its own before anything else.
    let to = if done.must_change_password { "/account/password" } else { next.as_str() };
    let mut res = Redirect::to(to).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}

pub async fn logout(State(state): S, Extension(p): Extension<Principal>) -> Page {
    if let auth::Via::Session { token_hash, .. } = &p.via
        && let Err(e) =
            state.storage.delete_session(token_hash, p.event("auth.logout", &format!("user:{}", p.user.id))).await
    {
        return Err(e.into());
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("pdp_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(res)
}

pub async fn set_lang(Path(code): Path<String>, headers: HeaderMap) -> Response {
    let lang = if code == "en" { "en" } else { "zh" };
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("://").map(|i| &r[i + 3..]))
        .and_then(|r| r.find('/').map(|i| r[i..].to_string()))
        .unwrap_or_else(|| "/".into());
    let mut res = Redirect::to(safe_next(&back)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("pdp_lang={lang}; Path=/; SameSite=Lax; Max-Age=31536000")) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

// ---------------------------------------------------------------- dashboard

pub async fn dashboard(State(state): S, headers: HeaderMap, Extension(p): Extension<Principal>) -> Page {
    let lang = Lang::from_headers(&headers);
    let orgs = state.storage.list_orgs().await?;
    let regions = state.storage.list_regions().await?;
    let users = state.storage.count_users().await?;
    let head = state.storage.audit_head().await?;
    let my_org = p.user.org_id.and_then(|id| orgs.iter().find(|o| o.id == id));
    let catalog = catalog_tiles(&state, &p, lang).await?;
    let aggregation = crate::dataset_pages::dashboard_tiles(&state, &p, lang).await?;
    let sharing = crate::sharing_pages::dashboard_tiles(&state, &p, lang).await?;
    page(
        lang,
        Some(&p),
        "/",
        lang.t("工作台", "Dashboard"),
        html! {
            section.card {
                p { (lang.t("您好，", "Hello, ")) strong { (p.user.display_name) } }
                p { (lang.t("角色：", "Roles: ")) @for r in &p.user.roles { span.badge { (lang.t(r.label_zh(), r.label_en())) } } }
                @if let Some(o) = my_org { p { (lang.t("所属单位：", "Organisation: ")) a href=(format!("/orgs/{}", o.id)) { (o.name) } } }
            }
            @if p.allows(Permission::GovernData) { @if let Some(y) = pdp_app::calendar::missing_next_year(&state.catalog.calendar.get()) {
                div.notice.warn #calendar-missing role="alert" {
                    (lang.t(&format!("尚无{y}年节假日安排：期限落在{y}年的事项暂按周一至周五计算（暂定），录入后将重新计算。"), &format!("No holiday table for {y} yet: deadlines falling in {y} count weekdays alone (provisional) and are counted again once it is added. ")))
                    " " a href="/calendar" { (lang.t("录入", "Add it")) }
                }
            } }
            (catalog)
            (aggregation)
            (sharing)
            @if p.allows(Permission::ViewOrgs) {
                div.tiles {
                    div.tile { div.n { (regions.len()) } div { (lang.t("区域", "Regions")) } }
                    div.tile { div.n { (orgs.len()) } div { (lang.t("单位", "Organisations")) } }
                    div.tile { div.n { (users) } div { (lang.t("账号", "Accounts")) } }
                    div.tile { div.n { (head.seq) } div { (lang.t("审计事件", "Audit events")) } }
                }
            }
        },
    )
}

/// The catalog's part of the dashboard: an organisation's drafts, rejections and update
/// deadlines (R-CAT-04), a reviewer's queue and the overdue entries of the region.
async fn catalog_tiles(state: &AppState, p: &Principal, lang: Lang) -> Result<Markup, AppError> {
    use pdp_app::catalog as cat;
    use pdp_domain::catalog::VersionStatus;
    if !p.allows(Permission::ViewCatalog) {
        return Ok(html! {});
    }
    let mut tiles: Vec<(usize, &str, &str, &str, bool)> = Vec::new();
    if let Some(org) = p.org_id
        && p.allows(Permission::EditCatalog)
    {
        let q = pdp_storage::catalog::EntryQuery { org_id: Some(org), ..Default::default() };
        let mine = state.storage.list_entries(&q).await?;
        let count = |s: VersionStatus| mine.iter().filter(|e| e.status == s).count();
        tiles.push((count(VersionStatus::Draft), "草稿", "Drafts", "/catalog", false));
        tiles.push((
            count(VersionStatus::Rejected),
            "被退回",
            "Rejected",
            "/catalog",
            count(VersionStatus::Rejected) > 0,
        ));
        let d = cat::do_deadlines(
            state,
            &cat::DeadlineParams { org_id: Some(org), open_only: Some(true), ..Default::default() },
        )
        .await?;
        let overdue = d.iter().filter(|d| d.overdue).count();
        tiles.push((d.len(), "待更新条目", "Entries to update", "/catalog/deadlines", false));
        tiles.push((overdue, "逾期未更新", "Overdue updates", "/catalog/deadlines", overdue > 0));
    }
    if p.allows(Permission::ReviewCatalog) {
        let queue = cat::do_review_queue(state, p).await?;
        tiles.push((queue.len(), "待审核", "To review", "/catalog/review", false));
        let scope = cat::review_scope(state, p).await?;
        let d = cat::do_deadlines(state, &cat::DeadlineParams { overdue: Some(true), ..Default::default() }).await?;
        let overdue = d.iter().filter(|d| scope.contains(d.deadline.org_id)).count();
        tiles.push((overdue, "辖区逾期条目", "Overdue in region", "/catalog/deadlines", overdue > 0));
    }
    if tiles.is_empty() {
        return Ok(html! {});
    }
    Ok(html! {
        h2 { (lang.t("资源目录", "Catalog")) }
        div.tiles { @for (n, zh, en, href, alert) in &tiles {
            a.tile.alert[*alert] href=(href) { div.n { (n) } div { (lang.t(zh, en)) } }
        } }
    })
}

// ---------------------------------------------------------------- regions

pub async fn regions(
    State(state): S,
    headers: HeaderMap,
    Extension(p): Extension<Principal>,
    Query(f): Query<Flash>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let regions = state.storage.list_regions().await?;
    let orgs = state.storage.list_orgs().await?;
    let cities: Vec<_> = regions.iter().filter(|r| r.level == RegionLevel::City).collect();
    page(
        lang,
        Some(&p),
        "/regions",
        lang.t("区域", "Regions"),
        html! {
            (notice(f.ok.as_deref(), lang))
            section.card {
                ul {
                    @for c in &cities {
                        li {
                            strong { (c.name) } " " span.mono { (c.code) } " · " (orgs.iter().filter(|o| o.region_id == c.id).count()) (lang.t(" 个单位", " organisations"))
                            ul { @for d in regions.iter().filter(|r| r.parent_id == Some(c.id)) {
                                li { (d.name) " " span.mono { (d.code) } " · " (orgs.iter().filter(|o| o.region_id == d.id).count()) (lang.t(" 个单位", " organisations")) }
                            } }
                        }
                    }
                }
            }
            @if p.allows(Permission::ManageOrgs) {
                h2 { (lang.t("新增区域", "Add a region")) }
                section.card { form.grid method="post" action="/regions" {
                    (csrf(&p))
                    label { (lang.t("行政区划代码", "Area code")) input name="code" required pattern="[0-9]{6}" inputmode="numeric"; }
                    label { (lang.t("名称", "Name")) input name="name" required; }
                    label { (lang.t("级别", "Level")) select name="level" {
                        @for l in RegionLevel::ALL { option value=(l.as_str()) selected[l == RegionLevel::District] { (lang.t(l.label_zh(), l.label_en())) } }
                    } }
                    label { (lang.t("上级（市）", "Parent (city)")) select name="parent_id" {
                        option value="" { "—" }
                        @for c in &cities { option value=(c.id) { (c.name) } }
                    } }
                    button type="submit" { (lang.t("保存", "Save")) }
                } }
            }
        },
    )
}

pub async fn region_create(
    State(state): S,
    Extension(p): Extension<Principal>,
    Form(input): Form<RegionInput>,
) -> Page {
    let reg = api::do_create_region(&state, &p, input).await?;
    see_other(&format!("/regions?ok={}", auth::urlencode(&reg.name)))
}

// ---------------------------------------------------------------- organisations

pub async fn orgs(
    State(state): S,
    headers: HeaderMap,
    Extension(p): Extension<Principal>,
    Query(f): Query<Flash>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let orgs = state.storage.list_orgs().await?;
    let regions = state.storage.list_regions().await?;
    let region_name = |id: i64| regions.iter().find(|r| r.id == id).map(|r| r.name.clone()).unwrap_or_default();
    page(
        lang,
        Some(&p),
        "/orgs",
        lang.t("单位", "Organisations"),
        html! {
            (notice(f.ok.as_deref(), lang))
            table {
                thead { tr { th { (lang.t("名称", "Name")) } th { (lang.t("统一社会信用代码", "Credit code")) } th { (lang.t("类型", "Kind")) } th { (lang.t("区域", "Region")) } th { (lang.t("上级单位", "Parent")) } } }
                tbody { @for o in &orgs { tr {
                    td { a href=(format!("/orgs/{}", o.id)) { (o.name) } }
                    td.mono { (o.credit_code) }
                    td { (lang.t(o.kind.label_zh(), o.kind.label_en())) }
                    td { (region_name(o.region_id)) }
                    td { @if let Some(pid) = o.parent_id { @if let Some(po) = orgs.iter().find(|x| x.id == pid) { (po.name) } } }
                } } }
            }
            @if p.allows(Permission::ManageOrgs) {
                h2 { (lang.t("新增单位", "Add an organisation")) }
                section.card { form.grid method="post" action="/orgs" {
                    (csrf(&p))
                    label { (lang.t("名称", "Name")) input name="name" required; }
                    label { (lang.t("统一社会信用代码", "Unified social credit code")) input name="credit_code" required minlength="18" maxlength="18" class="mono"; }
                    label { (lang.t("类型", "Kind")) select name="kind" { @for k in OrgKind::ALL { option value=(k.as_str()) { (lang.t(k.label_zh(), k.label_en())) } } } }
                    label { (lang.t("区域", "Region")) select name="region_id" { @for r in &regions { option value=(r.id) { (r.name) } } } }
                    label { (lang.t("上级单位", "Parent")) select name="parent_id" { option value="" { "—" } @for o in &orgs { option value=(o.id) { (o.name) } } } }
                    button type="submit" { (lang.t("保存", "Save")) }
                } }
            }
        },
    )
}

/// The new organisation form: [`OrgInput`] with the region still to be chosen.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OrgForm {
    name: String,
    credit_code: String,
    kind: String,
    region_id: Option<i64>,
    parent_id: Option<i64>,
}

pub async fn org_create(State(state): S, Extension(p): Extension<Principal>, Form(f): Form<OrgForm>) -> Page {
    let region_id =
        f.region_id.ok_or_else(|| AppError::bad_request("invalid_region", "请选择区域", "choose a region"))?;
    let input = OrgInput { name: f.name, credit_code: f.credit_code, kind: f.kind, region_id, parent_id: f.parent_id };
    let created = api::do_create_org(&state, &p, input).await?;
    see_other(&format!("/orgs/{}", created.organisation.id))
}

pub async fn org_detail(
    State(state): S,
    headers: HeaderMap,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let o = state.storage.get_org(id).await?.ok_or_else(|| AppError::not_found(&format!("org:{id}")))?;
    let officers = state.storage.list_officers(Some(id)).await?;
    let regions = state.storage.list_regions().await?;
    let region = regions.iter().find(|r| r.id == o.region_id).map(|r| r.name.clone()).unwrap_or_default();
    page(
        lang,
        Some(&p),
        "/orgs",
        &o.name,
        html! {
            section.card { dl {
                dt { (lang.t("统一社会信用代码", "Credit code")) } dd.mono { (o.credit_code) }
                dt { (lang.t("类型", "Kind")) } dd { (lang.t(o.kind.label_zh(), o.kind.label_en())) }
                dt { (lang.t("区域", "Region")) } dd { (region) }
            } }
            h2 { (lang.t("数据专员", "Data officers")) }
            table {
                thead { tr { th { (lang.t("姓名", "Name")) } th { (lang.t("职务", "Title")) } th { (lang.t("电话", "Phone")) } th { (lang.t("邮箱", "Email")) } } }
                tbody { @for d in &officers { tr { td { (d.name) } td { (d.title) } td { (d.phone) } td { (d.email) } } } }
            }
            @if p.allows(Permission::ManageOrgs) {
                h2 { (lang.t("指定数据专员", "Name a data officer")) }
                section.card { form.grid method="post" action=(format!("/orgs/{id}/officers")) {
                    (csrf(&p))
                    label { (lang.t("姓名", "Name")) input name="name" required; }
                    label { (lang.t("职务", "Title")) input name="title"; }
                    label { (lang.t("电话", "Phone")) input name="phone" type="tel"; }
                    label { (lang.t("邮箱", "Email")) input name="email" type="email"; }
                    button type="submit" { (lang.t("保存", "Save")) }
                } }
            }
        },
    )
}

pub async fn officer_create(
    State(state): S,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(input): Form<OfficerInput>,
) -> Page {
    api::do_create_officer(&state, &p, id, input).await?;
    see_other(&format!("/orgs/{id}"))
}

// ---------------------------------------------------------------- users

pub async fn users(
    State(state): S,
    headers: HeaderMap,
    Extension(p): Extension<Principal>,
    Query(f): Query<Flash>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    state.audit.append(p.event("user.list", "users")).await?;
    let users = state.storage.list_users().await?;
    let orgs = state.storage.list_orgs().await?;
    let org_name = |id: Option<i64>| {
        id.and_then(|id| orgs.iter().find(|o| o.id == id)).map(|o| o.name.clone()).unwrap_or_default()
    };
    let assign = p.allows(Permission::AssignRoles);
    page(
        lang,
        Some(&p),
        "/users",
        lang.t("用户与角色", "Users and roles"),
        html! {
            (notice(f.ok.as_deref(), lang))
            p.muted { (lang.t("安全管理、数据操作和审计须由不同人员负责：安全管理员不能兼任审计员，审计员不能兼任任何操作数据的角色。",
                "Security management, data operation and audit review are done by different people: a security administrator is never an auditor, and an auditor holds no role that operates data.")) }
            table {
                thead { tr { th { (lang.t("用户名", "Username")) } th { (lang.t("姓名", "Name")) } th { (lang.t("单位", "Organisation")) } th { (lang.t("角色", "Roles")) } th { (lang.t("账号", "Account")) } } }
                tbody { @for u in &users { tr {
                    td.mono { (u.username) }
                    td { (u.display_name) }
                    td { (org_name(u.org_id)) }
                    td {
                        @if assign && u.id != p.user.id {
                            form method="post" action=(format!("/users/{}/roles", u.id)) {
                                (csrf(&p))
                                div.roles { @for r in Role::ALL { label { input type="checkbox" name="roles" value=(r.as_str()) checked[u.roles.contains(&r)]; (lang.t(r.label_zh(), r.label_en())) } } }
                                button type="submit" { (lang.t("保存角色", "Save roles")) }
                            }
                        } @else {
                            @for r in &u.roles { span.badge { (lang.t(r.label_zh(), r.label_en())) } }
                        }
                    }
                    td {
                        @if let Some(b) = &u.subject { span.badge.subject title=(lang.t("已实名绑定", "bound identifier")) { (b.masked()) } " " }
                        @if assign && u.id != p.user.id && u.org_id.is_none() && u.roles.iter().all(|r| *r == Role::PublicUser) {
                            // A public account is bound to the identifier its holder proved (R-OBJ-01).
                            form.inline.subject-bind method="post" action=(format!("/users/{}/subject", u.id)) {
                                (csrf(&p))
                                select name="kind" aria-label=(lang.t("证件类型", "Identifier kind")) {
                                    option value="person" { (lang.t("公民身份号码", "Citizen ID")) }
                                    option value="legal_entity" { (lang.t("统一社会信用代码", "Credit code")) }
                                }
                                input name="id" placeholder=(lang.t("核验身份后填写；留空为解除绑定", "after checking identity; empty unbinds")) aria-label=(lang.t("证件号码", "Identifier"));
                                button type="submit" { (lang.t("绑定", "Bind")) }
                            }
                        }
                        @if u.disabled { span.badge.st-rejected { (lang.t("已停用", "disabled")) } " " }
                        @if u.must_change_password { span.badge { (lang.t("待改初始密码", "initial password")) } " " }
                        // Nobody disables their own account or ends their own sessions.
                        @if p.allows(Permission::ManageUsers) && u.id != p.user.id {
                            form.inline.account-disable method="post" action=(format!("/users/{}/disable", u.id)) {
                                (csrf(&p))
                                input type="hidden" name="disabled" value=(if u.disabled { "false" } else { "true" });
                                input name="reason" required placeholder=(lang.t("理由", "Reason")) aria-label=(lang.t("理由", "Reason"));
                                button type="submit" { @if u.disabled { (lang.t("启用", "Enable")) } @else { (lang.t("停用", "Disable")) } }
                            }
                            form.inline method="post" action=(format!("/users/{}/sessions/end", u.id)) {
                                (csrf(&p))
                                button type="submit" { (lang.t("结束会话", "End sessions")) }
                            }
                        }
                    }
                } } }
            }
            @if p.allows(Permission::ManageUsers) {
                h2 { (lang.t("新建账号", "New account")) }
                p.muted { (lang.t("新账号默认为公众用户；其他角色由安全管理员分配。", "New accounts are public users; a security administrator assigns other roles.")) }
                section.card { form.grid method="post" action="/users" {
                    (csrf(&p))
                    label { (lang.t("用户名", "Username")) input name="username" required pattern="[a-z0-9._-]{3,32}" autocomplete="off"; }
                    label { (lang.t("姓名", "Display name")) input name="display_name" required; }
                    label { (lang.t("初始密码（至少 12 位，含字母和数字）", "Initial password (12+ characters, letters and digits)")) input name="password" type="password" required minlength="12" autocomplete="new-password"; }
                    label { (lang.t("单位", "Organisation")) select name="org_id" { option value="" { "—" } @for o in &orgs { option value=(o.id) { (o.name) } } } }
                    button type="submit" { (lang.t("创建", "Create")) }
                } }
            }
        },
    )
}

pub async fn user_create(
    State(state): S,
    Extension(p): Extension<Principal>,
    Form(mut input): Form<UserInput>,
) -> Page {
    input.username = input.username.trim().to_string();
    let u = api::create_account(state.storage.as_ref(), Some(&p), input).await?;
    see_other(&format!("/users?ok={}", auth::urlencode(&u.username)))
}

/// The roles ticked on the users page; none ticked sends no `roles` at all.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RolesForm {
    roles: Vec<String>,
}

pub async fn user_roles(
    State(state): S,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(f): Form<RolesForm>,
) -> Page {
    let u = api::do_set_roles(&state, &p, id, RolesInput { roles: f.roles }).await?;
    see_other(&format!("/users?ok={}", auth::urlencode(&u.username)))
}

pub async fn user_subject(
    State(state): S,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Form(f): Form<api::SubjectInput>,
) -> Page {
    let u = api::do_bind_subject(&state, &p, id, &f).await?;
    see_other(&format!("/users?ok={}", auth::urlencode(&u.username)))
}

// ---------------------------------------------------------------- API keys

async fn keys_page(
    state: &AppState,
    lang: Lang,
    p: &Principal,
    created: Option<(String, String)>,
    ok: Option<&str>,
) -> Page {
    let keys = api::visible_keys(state, p).await?;
    let now = now_micros();
    page(
        lang,
        Some(p),
        "/api-keys",
        lang.t("API 密钥", "API keys"),
        html! {
            (notice(ok, lang))
            @if let Some((name, token)) = created {
                div.notice.warn role="status" {
                    p { (lang.t("密钥“", "Key “")) (name) (lang.t("”已创建。请立即复制，它只显示这一次：", "” created. Copy it now; it is shown only this once:")) }
                    p.mono { (token) }
                }
            }
            table {
                thead { tr { th { "ID" } th { (lang.t("名称", "Name")) } th { (lang.t("账号", "Account")) } th { (lang.t("创建", "Created")) } th { (lang.t("到期", "Expires")) } th { (lang.t("状态", "Status")) } th {} } }
                tbody { @for k in &keys { tr {
                    td { (k.id) } td { (k.name) } td { (k.user_id) }
                    td { (api::rfc3339(k.created_at_micros)) } td { (api::rfc3339(k.expires_at_micros)) }
                    td {
                        @if k.revoked_at_micros.is_some() { span.badge.denied { (lang.t("已吊销", "revoked")) } }
                        @else if k.expires_at_micros < now { span.badge.failure { (lang.t("已过期", "expired")) } }
                        @else { span.badge.success { (lang.t("有效", "active")) } }
                    }
                    td { @if k.revoked_at_micros.is_none() {
                        form method="post" action=(format!("/api-keys/{}/revoke", k.id)) {
                            (csrf(p))
                            button.link type="submit" data-confirm=(lang.t("确定吊销此密钥？", "Revoke this key?")) { (lang.t("吊销", "Revoke")) }
                        }
                    } }
                } } }
            }
            h2 { (lang.t("新建密钥", "New key")) }
            section.card { form.grid method="post" action="/api-keys" {
                (csrf(p))
                label { (lang.t("用途（应用名称）", "Purpose (application)")) input name="name" required; }
                label { (lang.t("有效天数", "Valid for days")) input name="expires_in_days" type="number" min="1" max=(state.settings.api_key_max_days) value="90"; }
                button type="submit" { (lang.t("创建", "Create")) }
            } }
        },
    )
}

pub async fn api_keys(
    State(state): S,
    headers: HeaderMap,
    Extension(p): Extension<Principal>,
    Query(f): Query<Flash>,
) -> Page {
    keys_page(&state, Lang::from_headers(&headers), &p, None, f.ok.as_deref()).await
}

pub async fn api_key_create(
    State(state): S,
    headers: HeaderMap,
    Extension(p): Extension<Principal>,
    Form(input): Form<ApiKeyInput>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let created = api::do_create_api_key(&state, &p, input).await?;
    let mut res = keys_page(&state, lang, &p, Some((created.key.name, created.token)), None).await?;
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

pub async fn api_key_revoke(State(state): S, Extension(p): Extension<Principal>, Path(id): Path<i64>) -> Page {
    api::do_revoke_api_key(&state, &p, id).await?;
    see_other(&format!("/api-keys?ok={id}"))
}

// ---------------------------------------------------------------- audit

fn audit_query_string(q: &AuditQuery) -> String {
    let mut parts = Vec::new();
    for (k, v) in [("actor", &q.actor), ("action", &q.action), ("object", &q.object), ("outcome", &q.outcome)] {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", auth::urlencode(v)));
        }
    }
    parts.join("&")
}

pub async fn audit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): Extension<Principal>,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let Query(q) = q.map_err(crate::error::rejection)?;
    let events = api::audited_search(&state, &p, &q, "audit.search").await?;
    let v = |s: &Option<String>| s.clone().unwrap_or_default();
    page(
        lang,
        Some(&p),
        "/audit",
        lang.t("审计日志", "Audit log"),
        html! {
            section.card {
                form.grid method="get" action="/audit" hx-get="/audit" hx-target="#events" hx-select="#events" hx-swap="outerHTML" hx-push-url="true" {
                    label { (lang.t("操作人", "Actor")) input name="actor" value=(v(&q.actor)); }
                    label { (lang.t("操作（前缀）", "Action (prefix)")) input name="action" value=(v(&q.action)) placeholder="auth."; }
                    label { (lang.t("对象", "Object")) input name="object" value=(v(&q.object)); }
                    label { (lang.t("结果", "Outcome")) select name="outcome" {
                        option value="" { "—" }
                        @for o in ["success", "denied", "failure"] { option value=(o) selected[q.outcome.as_deref() == Some(o)] { (o) } }
                    } }
                    button type="submit" { (lang.t("查询", "Search")) } span.htmx-indicator { "…" }
                }
                p {
                    @if p.allows(Permission::ExportAudit) { a href=(format!("/audit/export.csv?{}", audit_query_string(&q))) { (lang.t("导出 CSV", "Export CSV")) } }
                }
                @if p.allows(Permission::VerifyAudit) {
                    form method="post" action="/audit/verify" { (csrf(&p)) button type="submit" { (lang.t("校验审计链", "Verify the chain")) } }
                }
            }
            div #events {
                table {
                    thead { tr { th { "#" } th { (lang.t("时间 (UTC)", "Time (UTC)")) } th { (lang.t("操作人", "Actor")) } th { (lang.t("角色", "Role")) } th { (lang.t("操作", "Action")) } th { (lang.t("对象", "Object")) } th { (lang.t("结果", "Outcome")) } th { (lang.t("哈希", "Hash")) } } }
                    tbody { @for e in &events { tr {
                        td { (e.seq) } td { (api::rfc3339(e.at_micros)) } td { (e.event.actor) } td { (e.event.role) }
                        td.mono { (e.event.action) } td.mono { (e.event.object) }
                        td { span class=(format!("badge {}", e.event.outcome.as_str())) { (lang.t(e.event.outcome.label_zh(), e.event.outcome.label_en())) } }
                        td.mono title=(e.hash) { (&e.hash[..e.hash.len().min(12)]) "…" }
                    } } }
                }
                @if let Some(last) = events.last() { @if events.len() as i64 == q.effective_limit() {
                    p { a href=(format!("/audit?{}&before_seq={}", audit_query_string(&q), last.seq)) { (lang.t("更早的事件 →", "Older events →")) } }
                } }
            }
        },
    )
}

pub async fn audit_verify(State(state): S, headers: HeaderMap, Extension(p): Extension<Principal>) -> Page {
    let lang = Lang::from_headers(&headers);
    let v = api::do_verify(&state, &p).await?;
    page(
        lang,
        Some(&p),
        "/audit",
        lang.t("审计链校验", "Chain verification"),
        html! {
            @if v.intact { div.notice.ok role="status" { (v.message) } } @else { div.notice.bad role="alert" { (v.message) } }
            p { a href="/audit" { (lang.t("返回审计日志", "Back to the audit log")) } }
            (PreEscaped(""))
        },
    )
}
