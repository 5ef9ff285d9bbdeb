//! Pages for the work across datasets: `/sources` (authoritative sources, cross-check,
//! duplicate collection, district returns), `/base/{subject}` and `/subjects/{subject}/{key}`
//! (base views), `/returns/{id}` (a district's returned rows) and `/objections` (raise, follow
//! and answer objections).
//!
//! Every form goes through the same use cases as the JSON API ([`pdp_app::sources`],
//! [`pdp_app::objections`]), so the pages enforce the same rules and write the same audit events.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use maud::{Markup, html};
use pdp_domain::roles::Permission;
use pdp_domain::subject::{BaseDatabase, ObjectionKind, SubjectKind};

use crate::AppState;
use crate::auth::Principal;
use crate::error::AppError;
use crate::extract::Form;
use crate::i18n::Lang;
use crate::layout::fmt_time;
use crate::layout::{Flash, KeyForm, Page, csrf, notice, page, see_other};
use pdp_app::objections as obj;
use pdp_app::sources as src;

type S = State<Arc<AppState>>;
type P = Extension<Principal>;

fn kind_or(s: &str) -> Result<SubjectKind, AppError> {
    SubjectKind::parse(s).ok_or_else(|| AppError::not_found(&format!("subject kind {s}")))
}

/// `/sources`: the authority's page.
pub async fn sources(State(state): S, headers: HeaderMap, Extension(p): P, Query(f): Query<Flash>) -> Page {
    let lang = Lang::from_headers(&headers);
    let sources = state.storage.list_sources().await?;
    // Conflicts name people with both values: the city's authority sees them (audited).
    let (run, conflicts) = if src::city_authority(&state, &p).await.is_ok() {
        let q = src::ConflictParams { element: None, offset: None, limit: Some(200) };
        let out = src::do_read_conflicts(&state, &p, &q).await?;
        (out.run, out.conflicts)
    } else {
        (state.storage.latest_crosscheck().await?, vec![])
    };
    let dups = src::do_duplicates(&state).await?;
    let returns = src::do_list_returns(&state, &p).await?;
    // The districts' demands for returned data; an organisation neither of a district nor the
    // city's authority has none to see.
    let demands = src::do_list_return_demands(&state, &p).await.unwrap_or_default();
    let datasets = src::subject_datasets(state.storage.as_ref()).await?;
    let regions: Vec<_> = state
        .storage
        .list_regions()
        .await?
        .into_iter()
        .filter(|r| r.level == pdp_domain::org::RegionLevel::District)
        .collect();
    let region_name = |id: i64| regions.iter().find(|g| g.id == id).map(|g| g.name.clone()).unwrap_or_default();
    let all_published = state
        .storage
        .list_entries(&pdp_storage::catalog::EntryQuery {
            view: pdp_storage::catalog::EntryView::Published,
            ..Default::default()
        })
        .await?;
    page(
        lang,
        Some(&p),
        "/sources",
        lang.t("一数一源", "One number, one source"),
        html! {
            (notice(f.ok.as_deref(), lang))
            h2 { (lang.t("权威来源", "Authoritative sources")) }
            table #sources {
                thead { tr { th { (lang.t("主体", "Subject")) } th { (lang.t("数据项", "Element")) } th { (lang.t("权威数据集", "Source dataset")) } th { (lang.t("说明", "Note")) } th { (lang.t("指定人", "By")) } } }
                tbody { @for s in &sources { tr {
                    td { (lang.t(s.subject.label_zh(), s.subject.label_en())) } td.mono { (s.element) } td.mono { (s.dataset) } td { (s.note) } td { (s.assigned_by) " " span.muted { (fmt_time(s.assigned_at_micros)) } }
                } } }
            }
            section.card {
                form #source-form method="post" action="/sources" {
                    (csrf(&p))
                    label { (lang.t("主体", "Subject")) select name="subject" {
                        option value="person" { (lang.t("人口", "Person")) } option value="legal_entity" { (lang.t("法人", "Legal entity")) }
                    } }
                    label { (lang.t("数据项（字段名）", "Element (field name)")) input name="element" required placeholder="person_name"; }
                    label { (lang.t("权威数据集", "Source dataset")) select name="entry_id" {
                        @for d in &datasets { option value=(d.entry.entry_id) { (d.entry.body.name) " (" (d.entry.code) ")" } }
                    } }
                    label { (lang.t("说明", "Note")) input name="note"; }
                    button type="submit" { (lang.t("指定权威来源", "Assign source")) }
                }
            }
            h2 { (lang.t("多源校核", "Cross-check")) }
            form method="post" action="/crosscheck" { (csrf(&p)) button #run-crosscheck type="submit" { (lang.t("立即校核", "Run the cross-check")) } }
            @if let Some(r) = &run {
                p #crosscheck-summary { (lang.t("最近一次：", "Latest run: ")) (fmt_time(r.finished_at_micros)) " · "
                    (lang.t("比对数据集对 ", "pairs ")) (r.pairs) " · " (lang.t("比对记录 ", "keys compared ")) (r.compared) " · "
                    strong { (lang.t("冲突 ", "conflicts ")) (r.conflicts) } }
                table #conflicts {
                    thead { tr { th { (lang.t("数据项", "Element")) } th { (lang.t("标识", "Key")) } th { (lang.t("权威值", "Source value")) } th { (lang.t("权威来源", "Source")) } th { (lang.t("其他值", "Other value")) } th { (lang.t("其他来源", "Other source")) } } }
                    tbody { @for c in &conflicts { tr {
                        td.mono { (c.element) }
                        td.mono { @if p.allows(Permission::ViewBaseData) { (subject_button(&p, c.subject.as_str(), &c.key)) } @else { (c.key) } }
                        td { (c.source_value) } td.mono { (c.source_dataset) "@v" (c.source_version) }
                        td { (c.other_value) } td.mono { (c.other_dataset) "@v" (c.other_version) }
                    } } }
                }
            } @else { p.muted { (lang.t("尚未校核。", "Not run yet.")) } }
            h2 { (lang.t("重复采集分析", "Duplicate collection")) }
            p.muted { (lang.t("多个单位就同类主体采集同一数据项；已指定权威来源的，其他单位应通过共享获取。", "Elements about the same subjects collected by more than one organisation; where a source is assigned, the others should obtain it by sharing.")) }
            table #duplicates {
                thead { tr { th { (lang.t("主体", "Subject")) } th { (lang.t("数据项", "Element")) } th { (lang.t("单位数", "Orgs")) } th { (lang.t("权威来源", "Source")) } th { (lang.t("采集单位", "Collected by")) } } }
                tbody { @for d in dups.iter().take(100) { tr {
                    td { (d.subject) } td { span.mono { (d.element) } " " (d.label) } td { (d.organisations) }
                    td.mono { (d.authoritative.clone().unwrap_or_default()) }
                    td { @for c in d.collectors.iter().take(8) { span.badge { (c.org_name) " · " (c.name) } " " } @if d.collectors.len() > 8 { span.muted { "… " (d.collectors.len()) } } }
                } } }
            }
            h2 { (lang.t("数据回流", "Data return to districts")) }
            table #returns {
                thead { tr { th { (lang.t("数据集", "Dataset")) } th { (lang.t("区县", "District")) } th { (lang.t("方式", "Method")) } th { (lang.t("已同步版本", "Refreshed at version")) } th { (lang.t("行数", "Rows")) } } }
                tbody { @for r in &returns { tr {
                    td { (r.dataset_name) " " span.mono.muted { (r.r.dataset) } } td { (r.region_name) }
                    td { (lang.t(r.r.method.label_zh(), r.r.method.label_en())) " " span.mono { (r.r.field) } }
                    td { (r.r.refreshed_version.map(|v| v.to_string()).unwrap_or_default()) }
                    td { (r.r.refreshed_rows.map(|v| v.to_string()).unwrap_or_default()) }
                } } }
            }
            h3 { a href="/returns/demands" { (lang.t("回流需求清单", "What districts need returned")) } " · " a href="/themes" { (lang.t("主题库", "Theme databases")) } }
            table #return-demands {
                thead { tr { th { "#" } th { (lang.t("区县", "District")) } th { (lang.t("需求", "Demand")) } th { (lang.t("状态", "Status")) } th { (lang.t("答复", "Answer")) } } }
                tbody { @for d in &demands { tr {
                    td { (d.id) } td { (region_name(d.region_id)) }
                    td { strong { (d.title) } br; span.muted { (d.description) } }
                    td { span.badge { (lang.t(d.status.label_zh(), d.status.label_en())) } }
                    td { (d.response) @if let Some(r) = d.return_id { " " span.mono { "#" (r) } } }
                } } }
            }
            section.card {
                form #return-form method="post" action="/returns" {
                    (csrf(&p))
                    label { (lang.t("数据集", "Dataset")) select name="entry_id" {
                        @for e in &all_published { option value=(e.entry_id) { (e.body.name) " (" (e.code) ")" } }
                    } }
                    label { (lang.t("区县", "District")) select name="region_id" { @for g in &regions { option value=(g.id) { (g.name) } } } }
                    label { (lang.t("方式", "Method")) select name="method" {
                        option value="area_code" { (lang.t("按身份号码/信用代码中的区划", "Area code in the key")) }
                        option value="field" { (lang.t("按区划字段", "Region field")) }
                    } }
                    label { (lang.t("区划字段", "Region field")) input name="field" placeholder="area_code"; }
                    button type="submit" { (lang.t("设立回流", "Set up the return")) }
                }
            }
        },
    )
}

pub async fn source_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Form(mut input): Form<src::SourceInput>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    input.element = input.element.trim().to_string();
    let s = src::do_set_source(&state, &p, &input).await?;
    see_other(&format!(
        "/sources?ok={}",
        lang.t(
            &format!("{} 的权威来源为 {}", s.element, s.dataset),
            &format!("source of {} is {}", s.element, s.dataset)
        )
    ))
}

pub async fn crosscheck_submit(State(state): S, headers: HeaderMap, Extension(p): P) -> Page {
    let lang = Lang::from_headers(&headers);
    let lake = pdp_app::datasets::lake(&state)?;
    src::city_authority(&state, &p).await?;
    let run = src::do_crosscheck(state.storage.as_ref(), lake, &p.user.username, p.event("crosscheck.run", "")).await?;
    see_other(&format!(
        "/sources?ok={}",
        lang.t(
            &format!("校核完成，发现 {} 处冲突", run.conflicts),
            &format!("cross-check found {} conflicts", run.conflicts)
        )
    ))
}

pub async fn return_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Form(mut input): Form<src::ReturnInput>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    input.field = input.field.trim().to_string();
    let out = src::do_create_return(&state, &p, &input).await?;
    see_other(&format!(
        "/sources?ok={}",
        lang.t(
            &format!("已向{}回流 {} 行", out.region_name, out.r.refreshed_rows.unwrap_or(0)),
            &format!("{} rows returned to {}", out.r.refreshed_rows.unwrap_or(0), out.region_name)
        )
    ))
}

/// `/returns/{id}`: a district organisation's view of its returned rows.
pub async fn return_page(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Query(q): Query<src::ReturnRowsParams>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let rows = src::do_return_rows(&state, &p, id, &q).await?;
    page(
        lang,
        Some(&p),
        "/datasets",
        &format!("{} #{id}", lang.t("回流数据", "Returned data")),
        html! {
            p { (lang.t("版本 ", "Version ")) (rows.version) " · " (lang.t("共 ", "")) (rows.total) (lang.t(" 行（访问已记录）", " rows (this read is logged)")) }
            div.scroll { table #return-rows {
                thead { tr { @for c in &rows.columns { th.mono { (c) } } } }
                tbody { @for row in &rows.rows { tr { @for c in row { td { (c.clone().unwrap_or_default()) } } } } }
            } }
        },
    )
}

/// `/returns/demands`: the districts' demands for returned data (R-CAT-05). A district's
/// organisation lists what it needs and reads the answers; the city's authority meets an open
/// demand with a return or declines it.
/// `/themes`: the theme databases with their members and last rebuild; the city's authority
/// defines new ones here.
pub async fn themes_page(State(state): S, headers: HeaderMap, Extension(p): P, Query(f): Query<Flash>) -> Page {
    let lang = Lang::from_headers(&headers);
    let authority = src::city_authority(&state, &p).await.is_ok();
    let themes = pdp_app::themes::do_list_themes(&state).await?;
    let orgs = state.storage.list_orgs().await?;
    let org_name = |id: i64| orgs.iter().find(|o| o.id == id).map(|o| o.name.clone()).unwrap_or_default();
    page(
        lang,
        Some(&p),
        "/datasets",
        lang.t("主题库", "Theme databases"),
        html! {
            (notice(f.ok.as_deref(), lang))
            p.muted { (lang.t("主题库由数据主管部门选取同一类主体的多个数据资源的字段整合而成，由牵头部门提供；组成数据每次加载后自动重建，可像其他数据资源一样申请共享。",
                "A theme database takes fields of several datasets about one kind of subject, joined by key, and is provided by its lead organisation; it is rebuilt after each load of a member and is requested and shared like any dataset.")) }
            table #themes {
                thead { tr { th { (lang.t("主题库", "Theme")) } th { (lang.t("牵头单位", "Lead")) } th { (lang.t("组成数据", "Members")) } th { (lang.t("最近重建", "Last rebuilt")) } } }
                tbody { @for t in &themes { tr {
                    td { a href=(format!("/catalog/entries/{}", t.t.entry_id)) { (t.name) } br; span.mono.muted { (t.t.dataset) } }
                    td { (org_name(t.lead_org_id)) }
                    td { @for m in &t.t.members { div { span.mono { (m.dataset) } ": " (m.fields.join(", ")) } } }
                    td.theme-refreshed { @if let (Some(v), Some(n), Some(at)) = (t.t.refreshed_version, t.t.refreshed_rows, t.t.refreshed_at_micros) {
                        (lang.t("第 ", "version ")) (v) (lang.t(" 版，", ", ")) (n) (lang.t(" 个主体 · ", " subjects · ")) (fmt_time(at))
                    } }
                } } }
            }
            @if authority {
                h2 { (lang.t("新建主题库", "New theme database")) }
                section.card { form #theme-form method="post" action="/themes" {
                    (csrf(&p))
                    label { (lang.t("名称", "Name")) input name="name" required maxlength="100"; }
                    label { (lang.t("摘要", "Summary")) textarea name="summary" required {} }
                    label { (lang.t("主题类目", "Theme item")) select name="item" {
                        @for (class, code, zh, en) in pdp_domain::catalog::CATEGORY_ITEMS {
                            @if *class == pdp_domain::catalog::CategoryClass::Theme { option value=(code) { (code) " " (lang.t(zh, en)) } }
                        }
                    } }
                    label { (lang.t("牵头单位", "Lead organisation")) select name="lead_org_id" { @for o in &orgs { option value=(o.id) { (o.name) } } } }
                    label { (lang.t("组成数据（每行一个：资源代码: 字段, 字段）", "Members (one per line: resource code: field, field)")) textarea name="members" required placeholder="101000/000001: person_name, address" {} }
                    button type="submit" { (lang.t("创建", "Create")) }
                } }
            }
        },
    )
}

/// The theme form: members as text lines.
#[derive(Debug, serde::Deserialize)]
pub struct ThemeForm {
    name: String,
    summary: String,
    item: String,
    lead_org_id: i64,
    members: String,
}

pub async fn theme_submit(State(state): S, headers: HeaderMap, Extension(p): P, Form(f): Form<ThemeForm>) -> Page {
    let lang = Lang::from_headers(&headers);
    let members = pdp_app::themes::members_from_lines(&state, &f.members).await?;
    let input = pdp_app::themes::ThemeInput {
        name: f.name,
        summary: f.summary,
        item: f.item,
        lead_org_id: f.lead_org_id,
        members,
    };
    let t = pdp_app::themes::do_create_theme(&state, &p, &input).await?;
    see_other(&format!(
        "/themes?ok={}",
        crate::auth::urlencode(lang.t(&format!("主题库“{}”已建立", t.name), &format!("theme {:?} created", t.name)))
    ))
}

pub async fn return_demands_page(State(state): S, headers: HeaderMap, Extension(p): P, Query(f): Query<Flash>) -> Page {
    let lang = Lang::from_headers(&headers);
    let authority = src::city_authority(&state, &p).await.is_ok();
    let demands = src::do_list_return_demands(&state, &p).await.unwrap_or_default();
    let regions = state.storage.list_regions().await?;
    let region_name = |id: i64| regions.iter().find(|g| g.id == id).map(|g| g.name.clone()).unwrap_or_default();
    let published = if authority {
        state
            .storage
            .list_entries(&pdp_storage::catalog::EntryQuery {
                view: pdp_storage::catalog::EntryView::Published,
                ..Default::default()
            })
            .await?
    } else {
        vec![]
    };
    page(
        lang,
        Some(&p),
        "/datasets",
        lang.t("回流需求清单", "What districts need returned"),
        html! {
            (notice(f.ok.as_deref(), lang))
            table #return-demands {
                thead { tr { th { "#" } th { (lang.t("区县", "District")) } th { (lang.t("需求", "Demand")) } th { (lang.t("状态", "Status")) } th { (lang.t("答复", "Answer")) } } }
                tbody { @for d in &demands { tr {
                    td { (d.id) } td { (region_name(d.region_id)) }
                    td { strong { (d.title) } br; span.muted { (d.description) } }
                    td { span.badge { (lang.t(d.status.label_zh(), d.status.label_en())) } }
                    td {
                        (d.response) @if let Some(r) = d.return_id { " " a href=(format!("/returns/{r}")) { "#" (r) } }
                        @if authority && d.status == pdp_domain::subject::ReturnDemandStatus::Open {
                            form.inline method="post" action=(format!("/returns/demands/{}/meet", d.id)) {
                                (csrf(&p))
                                select name="entry_id" aria-label=(lang.t("数据集", "Dataset")) {
                                    @for e in &published { option value=(e.entry_id) selected[d.entry_id == Some(e.entry_id)] { (e.body.name) } }
                                }
                                select name="method" aria-label=(lang.t("方式", "Method")) {
                                    option value="area_code" { (lang.t("按号码中的区划", "Area code in the key")) }
                                    option value="field" { (lang.t("按区划字段", "Region field")) }
                                }
                                input name="field" placeholder=(lang.t("区划字段", "Region field"));
                                button type="submit" { (lang.t("设立回流", "Meet with a return")) }
                            }
                            form.inline method="post" action=(format!("/returns/demands/{}/decline", d.id)) {
                                (csrf(&p))
                                input name="reason" required placeholder=(lang.t("不予回流的理由", "Why not"));
                                button type="submit" { (lang.t("不予回流", "Decline")) }
                            }
                        }
                    }
                } } }
            }
            @if !authority {
                h2 { (lang.t("提出回流需求", "Ask for data to be returned")) }
                section.card { form #return-demand-form method="post" action="/returns/demands" {
                    (csrf(&p))
                    label { (lang.t("需求名称", "Title")) input name="title" required maxlength="200"; }
                    label { (lang.t("说明（所需数据、范围、用途）", "What is needed, its scope and use")) textarea name="description" required {} }
                    button type="submit" { (lang.t("提交", "Submit")) }
                } }
            }
        },
    )
}

pub async fn return_demand_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Form(input): Form<src::ReturnDemandInput>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let d = src::do_create_return_demand(&state, &p, &input).await?;
    see_other(&format!(
        "/returns/demands?ok={}",
        crate::auth::urlencode(
            lang.t(&format!("回流需求 #{} 已提交", d.id), &format!("return demand #{} submitted", d.id))
        )
    ))
}

pub async fn return_demand_meet(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(input): Form<src::MeetDemandInput>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    src::do_meet_return_demand(&state, &p, id, &input).await?;
    see_other(&format!("/returns/demands?ok={}", crate::auth::urlencode(lang.t("已设立回流", "met with a return"))))
}

pub async fn return_demand_decline(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<crate::layout::ReasonForm>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    src::do_decline_return_demand(&state, &p, id, &f.reason).await?;
    see_other(&format!("/returns/demands?ok={}", crate::auth::urlencode(lang.t("已答复不予回流", "declined"))))
}

#[derive(Debug, serde::Deserialize, Default)]
pub struct BaseQuery {
    pub prefix: Option<String>,
    pub offset: Option<u64>,
    pub key: Option<String>,
}

/// `/base/{subject}`: a page of the base view and a lookup form.
pub async fn base(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(kind): Path<String>,
    Query(q): Query<BaseQuery>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let db = BaseDatabase::parse(&kind).ok_or_else(|| AppError::not_found(&format!("base database {kind}")))?;
    let kind = db.subject();
    let offset = q.offset.unwrap_or(0);
    let view = src::do_base_view(
        &state,
        &p,
        db,
        &src::BaseParams { prefix: q.prefix.clone(), offset: Some(offset), limit: Some(50) },
    )
    .await?;
    let title = lang.t(db.label_zh(), db.label_en()).to_string();
    page(
        lang,
        Some(&p),
        "/base/person",
        &title,
        html! {
            nav #base-databases { p {
                @for (i, d) in BaseDatabase::ALL.iter().enumerate() {
                    @if i > 0 { " · " }
                    @if *d == db { strong { (lang.t(d.label_zh(), d.label_en())) } }
                    @else { a href=(format!("/base/{}", d.as_str())) { (lang.t(d.label_zh(), d.label_en())) } }
                }
            } }
            // Posted, not put in the URL: identifiers stay out of logs and browser history.
            form.inline #subject-lookup method="post" action=(format!("/subjects/{}", kind.as_str())) {
                (csrf(&p))
                label { (lang.t("查询主体", "Look up a subject")) input name="key" placeholder=(lang.t(kind.identifier().label_zh(), kind.identifier().label_en())); }
                button type="submit" { (lang.t("查询", "Look up")) }
            }
            form.inline method="get" action=(format!("/base/{}", db.as_str())) {
                label { (lang.t("标识前缀（如区划代码）", "Key prefix (e.g. area code)")) input name="prefix" value=(q.prefix.clone().unwrap_or_default()); }
                button type="submit" { (lang.t("筛选", "Filter")) }
            }
            p.muted { (lang.t("每个数据项取自其权威来源，列头注明来源数据集与版本；查看已记录。", "Each element comes from its authoritative source, named with its version in the column header; this view is logged.")) }
            p #base-total { (lang.t("共 ", "")) (view.total) (lang.t(" 个主体", " subjects")) }
            div.scroll { table #base {
                thead { tr {
                    th { (lang.t("标识", "Key")) }
                    @for a in &view.attributes { th { (a.label) br; span.mono.muted { (a.element) " ← " (a.dataset) "@v" (a.version) } } }
                } }
                tbody { @for row in &view.rows { tr {
                    td.mono { (subject_button(&p, kind.as_str(), &row.key)) }
                    @for (a, v) in view.attributes.iter().zip(&row.values) {
                        td.disputed[row.disputed.contains(&a.element)] { (v.clone().unwrap_or_default()) @if row.disputed.contains(&a.element) { " " span.badge.st-rejected { (lang.t("异议中", "disputed")) } } }
                    }
                } } }
            } }
            p {
                @if offset > 0 { a href=(format!("/base/{}?offset={}&prefix={}", db.as_str(), offset.saturating_sub(50), q.prefix.clone().unwrap_or_default())) { (lang.t("上一页", "Previous")) } " " }
                @if offset + 50 < view.total { a href=(format!("/base/{}?offset={}&prefix={}", db.as_str(), offset + 50, q.prefix.clone().unwrap_or_default())) { (lang.t("下一页", "Next")) } }
            }
        },
    )
}

/// A key that opens its subject page: a small form posting the key, so that it never appears
/// in a URL.
fn subject_button(p: &Principal, kind: &str, key: &str) -> Markup {
    html! {
        form.inline.subject-open method="post" action=(format!("/subjects/{kind}")) {
            (csrf(p)) input type="hidden" name="key" value=(key);
            button.link type="submit" { (key) }
        }
    }
}

/// `POST /subjects/{subject}` (the key in the form): one person or entity across datasets.
pub async fn subject(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(kind): Path<String>,
    Form(KeyForm { key }): Form<KeyForm>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let kind = kind_or(&kind)?;
    let s = src::do_subject(&state, &p, kind, &key).await?;
    page(
        lang,
        Some(&p),
        "/base/person",
        &format!("{} {}", lang.t(kind.label_zh(), kind.label_en()), s.key),
        html! {
            p { a href=(format!("/base/{}", kind.as_str())) { "← " (lang.t("基础库", "Base data")) } }
            p.muted { (lang.t("本次查看已记入审计日志。", "This view is recorded in the audit log.")) }
            h2 { (lang.t("各来源的数据项", "Elements by source")) }
            table #subject-values {
                thead { tr { th { (lang.t("数据项", "Element")) } th { (lang.t("值", "Value")) } th { (lang.t("来源", "Source")) } th {} } }
                tbody { @for v in &s.values { tr.conflict[v.conflict] {
                    td { (v.label) " " span.mono.muted { (v.element) } }
                    td { (v.value) }
                    td.mono { (v.dataset) "@v" (v.version) }
                    td {
                        @if v.authoritative { span.badge.st-published { (lang.t("权威", "authoritative")) } " " }
                        @if v.conflict { span.badge.st-rejected { (lang.t("多源不一致", "sources disagree")) } " " }
                        @if v.disputed { span.badge.st-rejected { (lang.t("异议中", "disputed")) } }
                    }
                } } }
            }
            @if !s.open_objections.is_empty() {
                h2 { (lang.t("核查中的异议", "Objections under review")) }
                ul { @for o in &s.open_objections { li { a href=(format!("/objections/{}", o.id)) { "#" (o.id) } " " span.mono { (o.dataset) "." (o.field) } " → " (o.claimed_value) } } }
            }
            h2 { (lang.t("原始记录", "Records")) }
            @for r in &s.records {
                h3 { (r.name) " " span.mono.muted { (r.dataset) "@v" (r.version) } " · " (r.org_name) }
                div.scroll { table {
                    thead { tr { @for c in &r.columns { th.mono { (c) } } } }
                    tbody { @for row in &r.rows { tr { @for c in row { td { (c.clone().unwrap_or_default()) } } } } }
                } }
            }
        },
    )
}

fn objection_table(lang: Lang, list: &[obj::ObjectionOut]) -> Markup {
    html! {
        table #objections {
            thead { tr {
                th { "#" } th { (lang.t("数据", "Dataset")) } th { (lang.t("记录", "Record")) } th { (lang.t("字段", "Field")) } th { (lang.t("类型", "Kind")) }
                th { (lang.t("主张的值", "Claimed value")) } th { (lang.t("状态", "State")) } th { (lang.t("答复期限", "Due")) }
            } }
            tbody { @for o in list { tr.overdue[o.overdue] {
                td { a href=(format!("/objections/{}", o.o.id)) { (o.o.id) } }
                td { (o.dataset_name) }
                td.mono { (o.o.record_key) }
                td { @if o.o.field.is_empty() { (lang.t("（整条记录）", "(whole record)")) } @else { (o.field_label) " " span.mono.muted { (o.o.field) } } }
                td { (lang.t(&o.kind_zh, &o.kind_en)) }
                td { (o.o.claimed_value) }
                td { span.badge { (lang.t(&o.status_zh, &o.status_en)) } @if o.o.escalated_at_micros.is_some() { " " span.badge.st-rejected { (lang.t("已提级", "escalated")) } } }
                td { (o.o.due_date) @if o.overdue { " " span.badge.st-rejected { (lang.t("逾期", "overdue")) } } @if o.due_provisional { " " span.badge title=(lang.t("节假日表未录入，暂按周一至周五计算", "no holiday table yet: counted on weekdays alone")) { (lang.t("暂定", "provisional")) } } }
            } } }
        }
    }
}

/// `/objections`: the objections the user may see, and the form to raise one.
pub async fn objections(State(state): S, headers: HeaderMap, Extension(p): P, Query(f): Query<Flash>) -> Page {
    let lang = Lang::from_headers(&headers);
    let list = obj::do_list(&state, &p, &obj::ListParams::default()).await?;
    let entries = state
        .storage
        .list_entries(&pdp_storage::catalog::EntryQuery {
            view: pdp_storage::catalog::EntryView::Published,
            ..Default::default()
        })
        .await?;
    // A data subject objects to records about their own identifier, so their form offers the
    // datasets about their kind of subject and asks no key.
    let subject = obj::raises_as_subject(&p);
    let bound = p.user.subject.as_ref().filter(|_| subject);
    let keyed: Vec<_> = entries
        .iter()
        .filter(|e| e.body.fields.iter().filter(|f| f.rules.key).count() == 1)
        .filter(|e| match bound {
            Some(b) => pdp_domain::subject::subject_of(&e.body).is_some_and(|(k, _)| k == b.kind()),
            None => true,
        })
        .collect();
    page(
        lang,
        Some(&p),
        "/objections",
        lang.t("数据异议", "Objections"),
        html! {
            (notice(f.ok.as_deref(), lang))
            p.muted { (lang.t("对数据有异议的，可提出异议并附证明材料；提供单位须在 10 个工作日内核实并答复，逾期提交数据主管部门督办。核查期间不影响业务办理。",
                "Object to wrong, missing or infringing data with evidence; the provider must verify and answer within 10 working days, or the authority takes it up. Business goes on during the review.")) }
            (objection_table(lang, &list))
            @if p.allows(Permission::RaiseObjection) {
                h2 { (lang.t("提出异议", "Raise an objection")) }
                @if subject && bound.is_none() {
                    p #subject-unbound.notice { (lang.t("您的账号尚未绑定公民身份号码或统一社会信用代码。请携带证件到政务服务窗口（或通过实名认证）完成绑定，之后可对关于本人（本单位）的数据提出异议。",
                        "Your account is not bound to a citizen ID or credit code yet. Once bound (at a service counter with your ID, or by real-name authentication), you can object to data about yourself.")) }
                } @else {
                    section.card { form #objection-form method="post" action="/objections" {
                        (csrf(&p))
                        @if let Some(b) = bound {
                            p #subject-bound { (lang.t("关于", "About ")) span.mono { (b.masked()) } (lang.t(" 的数据", "")) }
                        }
                        label { (lang.t("数据", "Dataset")) select name="entry_id" {
                            @for e in &keyed { option value=(e.entry_id) { (e.body.name) " (" (e.code) ")" } }
                        } }
                        @if bound.is_none() {
                            label { (lang.t("记录标识（如公民身份号码）", "Record key (e.g. citizen ID)")) input name="key" required; }
                        }
                        label { (lang.t("异议类型", "Kind")) select name="kind" {
                            @for k in ObjectionKind::ALL { option value=(k.as_str()) { (lang.t(k.label_zh(), k.label_en())) } }
                        } }
                        label { (lang.t("字段名（整条记录遗漏时可不填）", "Field name (empty when a whole record is missing)")) input name="field" placeholder="address"; }
                        label { (lang.t("正确的值", "Correct value")) input name="claimed_value"; }
                        label { (lang.t("理由", "Reason")) textarea name="reason" required {} }
                        button type="submit" { (lang.t("提交异议", "Submit")) }
                    } }
                }
            }
        },
    )
}

pub async fn objection_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Form(mut input): Form<obj::ObjectionInput>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    input.field = input.field.trim().to_string();
    let o = obj::do_raise(&state, &p, &input).await?;
    see_other(&format!(
        "/objections/{}?ok={}",
        o.o.id,
        lang.t(&format!("异议已提交，答复期限 {}", o.o.due_date), &format!("objection raised, due {}", o.o.due_date))
    ))
}

/// `/objections/{id}`: one objection, its outcome, and the provider's answer form.
pub async fn objection(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Query(f): Query<Flash>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let o = obj::do_get(&state, &p, id).await?;
    page(
        lang,
        Some(&p),
        "/objections",
        &format!("{} #{id}", lang.t("数据异议", "Objection")),
        html! {
            (notice(f.ok.as_deref(), lang))
            p { a href="/objections" { "← " (lang.t("数据异议", "Objections")) } }
            dl #objection {
                dt { (lang.t("数据", "Dataset")) } dd { (o.dataset_name) " " span.mono.muted { (o.o.dataset) } }
                dt { (lang.t("记录", "Record")) } dd.mono { (o.o.record_key) }
                dt { (lang.t("字段", "Field")) } dd { (o.field_label) " " span.mono.muted { (o.o.field) } }
                dt { (lang.t("异议类型", "Kind")) } dd #objection-kind { (lang.t(&o.kind_zh, &o.kind_en)) }
                @if o.record_found == Some(false) { dt { (lang.t("记录", "Record")) } dd #record-missing { span.badge.st-rejected { (lang.t("提出时数据中没有该记录", "no such record when raised")) } } }
                @if !o.o.current_value.is_empty() { dt { (lang.t("现值", "Current value")) } dd { (o.o.current_value) } }
                dt { (lang.t("主张的值", "Claimed value")) } dd { (o.o.claimed_value) }
                dt { (lang.t("理由", "Reason")) } dd { (o.o.reason) }
                dt { (lang.t("提出人", "Raised by")) } dd { (o.o.raised_by_name) " · " (fmt_time(o.o.raised_at_micros)) }
                dt { (lang.t("答复期限", "Due")) } dd { (o.o.due_date) @if o.overdue { " " span.badge.st-rejected { (lang.t("逾期", "overdue")) } } @if o.due_provisional { " " span.badge title=(lang.t("节假日表未录入，暂按周一至周五计算", "no holiday table yet: counted on weekdays alone")) { (lang.t("暂定", "provisional")) } } @if o.o.escalated_at_micros.is_some() { " " span.badge.st-rejected { (lang.t("已提交主管部门督办", "escalated to the authority")) } } }
                dt { (lang.t("状态", "State")) } dd #objection-status { span.badge { (lang.t(&o.status_zh, &o.status_en)) } }
                @if !o.o.response.is_empty() { dt { (lang.t("答复", "Answer")) } dd #objection-response { (o.o.response) @if let Some(v) = o.o.correction_version { " " span.muted { (lang.t("（更正为第 ", "(correction in version ")) (v) (lang.t(" 版）", ")")) } } } }
                @if o.o.evidence_size > 0 { dt { (lang.t("证明材料", "Evidence")) } dd { a href=(format!("/api/v1/objections/{id}/evidence")) { (o.o.evidence_name) } " (" (o.o.evidence_size) " B)" } }
            }
            @if o.o.raised_by == p.user.id && o.o.status == pdp_domain::subject::ObjectionStatus::Open {
                section.card {
                    form #evidence-form data-upload=(format!("/api/v1/objections/{id}/evidence")) data-method="PUT" data-csrf=(p.csrf()) {
                        label { (lang.t("证明材料（不超过 5 MB）", "Evidence (at most 5 MB)")) input type="file" name="file" required; }
                        button type="submit" { (lang.t("上传", "Upload")) }
                    }
                    div #evidence-result aria-live="polite" {}
                }
            }
            @if o.can_answer {
                h2 { (lang.t("核查答复", "Answer")) }
                section.card { form #answer-form method="post" action=(format!("/objections/{id}/answer")) {
                    (csrf(&p))
                    label { (lang.t("结论", "Decision")) select name="decision" {
                        option value="corrected" { (lang.t("更正", "Correct the value")) }
                        option value="confirmed" { (lang.t("核实无误，保持不变", "Confirmed as is")) }
                    } }
                    label { (lang.t("更正后的值（默认为主张的值）", "Corrected value (the claimed value if empty)")) input name="corrected_value"; }
                    label { (lang.t("核查说明", "Response")) textarea name="response" required {} }
                    button type="submit" { (lang.t("提交答复", "Submit answer")) }
                } }
            }
        },
    )
}

pub async fn answer_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(mut input): Form<obj::AnswerInput>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    input.corrected_value = input.corrected_value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    obj::do_answer(&state, &p, id, &input).await?;
    see_other(&format!("/objections/{id}?ok={}", lang.t("异议已答复", "objection answered")))
}

// ---------------------------------------------------------------- working-day calendar

#[derive(Debug, serde::Deserialize)]
pub struct CalendarQuery {
    pub ok: Option<String>,
    /// The deadline calculator: a start date and a number of working days.
    pub from: Option<String>,
    pub days: Option<u32>,
}

/// Dates and ranges typed one per line (commas and spaces also separate them).
fn date_list(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || matches!(c, ',' | '，' | '、' | ';' | '；'))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// `/calendar`: the years the deadlines can be counted in, a deadline calculator, and for the
/// authority the form that adds next year's table.
pub async fn calendar(State(state): S, headers: HeaderMap, Extension(p): P, Query(q): Query<CalendarQuery>) -> Page {
    let lang = Lang::from_headers(&headers);
    let cal = pdp_app::calendar::do_calendar(&state);
    let computed = match (&q.from, q.days) {
        (Some(from), Some(days)) if !from.trim().is_empty() => {
            let params = pdp_app::calendar::DeadlineParams { from: from.clone(), days };
            Some(pdp_app::calendar::do_deadline(&state, &params).map_err(|e| lang.t(&e.zh, &e.en).to_string()))
        }
        _ => None,
    };
    let next = pdp_app::clock::today_date().year() + 1;
    page(
        lang,
        Some(&p),
        "/calendar",
        lang.t("工作日历", "Working-day calendar"),
        html! {
            (notice(q.ok.as_deref(), lang))
            @if let Some(y) = cal.missing_next_year {
                div.notice.warn #calendar-missing role="alert" {
                    (lang.t(&format!("尚无{y}年节假日安排：期限落在{y}年的申请、异议和目录更新暂按周一至周五计算，标为暂定，录入后自动重新计算。请依据国务院办公厅通知录入。"),
                            &format!("No holiday table for {y} yet: requests, objections and catalog updates whose deadline falls in {y} count weekdays alone and are marked provisional until it is added, then counted again. Enter the table from the State Council's notice.")))
                }
            }
            p.muted { (lang.t("法定期限按工作日计算：自次日起算，扣除周末和法定节假日，调休上班日计入。", "Statutory deadlines count working days from the next day, skipping weekends and statutory holidays and counting make-up working days.")) }
            table #calendar-years {
                thead { tr { th { (lang.t("年度", "Year")) } th { (lang.t("依据", "Source")) } th { (lang.t("来源", "Origin")) } th { (lang.t("放假", "Holidays")) } th { (lang.t("调休上班", "Make-up working days")) } } }
                tbody { @for y in &cal.years { tr {
                    td { (y.year) }
                    td { (y.source) }
                    td { @if y.origin == "added" {
                        (lang.t("平台录入", "Added")) " · " (y.added_by.clone().unwrap_or_default()) " " span.muted { (fmt_time(y.added_at_micros.unwrap_or_default())) }
                    } @else { (lang.t("随版本发布", "Shipped")) } }
                    td.mono { (y.holidays.join(", ")) " " span.muted { "(" (y.holiday_days) (lang.t(" 天", " days")) ")" } }
                    td.mono { (y.workdays.join(", ")) }
                } } }
            }
            h2 { (lang.t("期限计算", "Deadline calculator")) }
            form #deadline-form method="get" action="/calendar" {
                label { (lang.t("起算日", "Start date")) input type="date" name="from" value=(q.from.clone().unwrap_or_default()) required; }
                label { (lang.t("工作日数", "Working days")) input type="number" name="days" min="0" max="366" value=(q.days.unwrap_or(10)) required; }
                button type="submit" { (lang.t("计算", "Compute")) }
            }
            @match &computed {
                Some(Ok(d)) => p #deadline-result { (d.from) " + " (d.days) (lang.t(" 个工作日 = ", " working days = ")) strong { (d.due) } },
                Some(Err(m)) => div.notice.bad #deadline-result role="alert" { (m) },
                None => {},
            }
            @if p.allows(Permission::GovernData) {
                h2 { (lang.t("录入或修订年度节假日安排", "Add or amend a year's table")) }
                section.card {
                    form #calendar-form method="post" action="/calendar" {
                        (csrf(&p))
                        label { (lang.t("年度", "Year")) input type="number" name="year" value=(next) required; }
                        label.wide { (lang.t("依据（通知名称与发布日期）", "Source (the notice and its date)")) input name="source" required placeholder=(format!("国务院办公厅关于{next}年部分节假日安排的通知")); }
                        label.wide { (lang.t("放假日期（每行一项，连续日期写作 起..止）", "Holidays (one per line; a run of days as from..to)")) textarea name="holidays" rows="8" placeholder=(format!("{next}-01-01\n{next}-10-01..{next}-10-07")) {} }
                        label.wide { (lang.t("调休上班日期（每行一项）", "Make-up working days (one per line)")) textarea name="workdays" rows="4" {} }
                        button type="submit" { (lang.t("保存", "Save")) }
                    }
                }
            }
        },
    )
}

/// The authority's holiday table for a year, the dates typed as lists.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct HolidayTableForm {
    year: i32,
    source: String,
    holidays: String,
    workdays: String,
}

pub async fn calendar_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Form(f): Form<HolidayTableForm>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let input = pdp_app::calendar::HolidayTableInput {
        source: f.source,
        holidays: date_list(&f.holidays),
        workdays: date_list(&f.workdays),
    };
    let y = pdp_app::calendar::do_set_year(&state, &p, f.year, &input).await?;
    let zh = format!("{}年节假日安排（放假 {} 天，调休上班 {} 天）", y.year, y.holiday_days, y.workdays.len());
    let en =
        format!("holiday table of {} ({} days off, {} make-up working days)", y.year, y.holiday_days, y.workdays.len());
    see_other(&format!("/calendar?ok={}", crate::auth::urlencode(lang.t(&zh, &en))))
}
