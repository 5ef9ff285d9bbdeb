//! The open data portal's pages (开放门户, R-OPN), public and usable without an account or
//! scripts: `/open` (home), `/open/datasets` (search with facets), `/open/datasets/{id}` (a
//! dataset: metadata, dictionary, preview, charts, downloads, API call, ratings, feeds, version
//! history, the application form), `/open/requests`, `/open/stats`, `/open/announcements` (stale
//! data) and `/open/register`; `/open/me` for a signed-in account (applications, downloads,
//! webhooks, with `/open/webhooks` to follow a dataset). The staff's side,
//! `/open/releases` and `/open/applications`, prepares and reviews releases and decides
//! applications through the same use cases as the JSON API.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use maud::{Markup, PreEscaped, html};
use pdp_app::open::{self as open, BrowseParams, OPEN_FACETS, OpenDataset, Reader};
use pdp_domain::catalog::{Frequency, MaskRule, OpenType};
use pdp_domain::open::{
    ApplicationStatus, Checklist, ReleaseField, ReleaseFormat, ReleaseRoute, ReleaseRules, ReleaseStatus, Review,
    RowFilter, report_overdue,
};
use pdp_domain::roles::Permission;

use crate::AppState;
use crate::auth::{Principal, urlencode};
use crate::error::AppError;
use crate::extract::Form;
use crate::i18n::Lang;
use crate::layout::{Flash, Page, ReasonForm, csrf, fmt_time, notice, page, see_other};
use crate::open::{dictionary, reader};

type S = State<Arc<AppState>>;
type P = Extension<Principal>;
type Peer = Option<Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>;

/// The portal's own navigation, above every public page.
fn portal_nav(lang: Lang, current: &str) -> Markup {
    let links = [
        ("/open", "开放门户首页", "Portal home"),
        ("/open/datasets", "数据目录", "Datasets"),
        ("/open/requests", "数据需求", "Data requests"),
        ("/open/stats", "统计", "Statistics"),
        ("/open/announcements", "公告", "Announcements"),
    ];
    html! {
        nav.sub aria-label=(lang.t("开放门户", "Open data portal")) {
            @for (href, zh, en) in links {
                a href=(href) aria-current=[(current == href).then_some("page")] { (lang.t(zh, en)) }
            }
        }
    }
}

fn open_type_label(lang: Lang, t: &str) -> String {
    OpenType::parse(t).map_or(t.to_string(), |o| lang.t(o.label_zh(), o.label_en()).to_string())
}

fn search_form(lang: Lang, q: &str) -> Markup {
    html! {
        form.search method="get" action="/open/datasets" role="search" {
            label for="open-q" { (lang.t("搜索开放数据", "Search open data")) }
            input #open-q type="search" name="q" value=(q) maxlength="200" placeholder=(lang.t("例如：企业、公交、医疗机构", "e.g. enterprises, buses, hospitals"));
            button type="submit" { (lang.t("搜索", "Search")) }
        }
    }
}

fn dataset_item(lang: Lang, d: &OpenDataset) -> Markup {
    html! {
        li {
            a href=(format!("/open/datasets/{}", d.entry_id)) { strong { (d.name) } }
            " " span.badge { (open_type_label(lang, &d.open_type)) }
            @if d.stale { " " span.badge.failure { (lang.t("数据已过期", "Stale")) } }
            br;
            span.muted { (d.org_name) " · " (lang.t("更新于 ", "updated ")) (d.updated) " · "
                @for (i, f) in d.latest.rules.formats.iter().enumerate() { @if i > 0 { ", " } (f.label_en()) } }
            p { (d.summary) }
        }
    }
}

/// `/open`: the portal's home page: counts, search, newest data.
pub async fn home(State(state): S, headers: HeaderMap, p: Option<P>) -> Page {
    let lang = Lang::from_headers(&headers);
    let catalog = open::open_catalog(&state).await?;
    let all = catalog.datasets();
    let stats = open::recent_stats(&state).await?;
    let most_used: Vec<&open::DatasetStats> =
        stats.datasets.iter().filter(|s| s.downloads + s.api_calls > 0).take(5).collect();
    let p = p.map(|Extension(p)| p);
    page(
        lang,
        p.as_ref(),
        "/open",
        lang.t("公共数据开放门户", "Open data portal"),
        html! {
            (portal_nav(lang, "/open"))
            p { (lang.t("本门户开放的公共数据均经清洗、脱敏和安全审查，免费获取，可下载，可通过接口调用。",
                "Every dataset here was cleaned, masked and reviewed for security before opening; all of it is free to download and to call through the API.")) }
            (search_form(lang, ""))
            div.tiles {
                div.tile { div.n { (all.len()) } (lang.t("开放数据集", "open datasets")) }
                div.tile { div.n { (catalog.releases) } (lang.t("数据版本", "releases")) }
                div.tile { div.n { (catalog.providers) } (lang.t("提供单位", "providers")) }
                div.tile { div.n { (catalog.rows) } (lang.t("开放数据条数", "open records")) }
                @if catalog.stale > 0 { div.tile.alert { div.n { a href="/open/announcements" { (catalog.stale) } } (lang.t("未按时更新", "not updated on time")) } }
            }
            @if !most_used.is_empty() {
                h2 { (lang.t("最常用", "Most used")) }
                ol #most-used { @for s in &most_used { li { a href=(format!("/open/datasets/{}", s.entry_id)) { (s.name) } " " span.muted { (s.org_name) " · " (s.downloads) (lang.t(" 次下载", " downloads")) " · " (s.api_calls) (lang.t(" 次调用", " API calls")) } } } }
            }
            h2 { (lang.t("最新开放", "Newest")) }
            ol.hits { @for d in all.iter().take(10) { (dataset_item(lang, d)) } }
            p { a href="/open/datasets" { (lang.t("浏览全部开放数据 →", "Browse all open data →")) } }
        },
    )
}

/// `/open/datasets`: the open catalog with Chinese full-text search and facets.
pub async fn browse(State(state): S, headers: HeaderMap, p: Option<P>, Query(q): Query<BrowseParams>) -> Page {
    let lang = Lang::from_headers(&headers);
    let out = open::browse(&state, &q).await?;
    let p = p.map(|Extension(p)| p);
    let text = q.q.clone().unwrap_or_default();
    // A link that keeps every current choice but sets (or clears) one facet.
    let link = |facet: &str, value: Option<&str>| -> String {
        let mut parts = Vec::new();
        let current = [
            ("q", q.q.clone()),
            ("org", q.org.map(|o| o.to_string())),
            ("topic", q.topic.clone()),
            ("open_type", q.open_type.clone()),
            ("format", q.format.clone()),
            ("frequency", q.frequency.clone()),
        ];
        for (k, v) in current {
            let v = if k == facet { value.map(str::to_string) } else { v };
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", urlencode(&v)));
            }
        }
        format!("/open/datasets?{}", parts.join("&"))
    };
    let chosen = |facet: &str| -> Option<String> {
        match facet {
            "org" => q.org.map(|o| o.to_string()),
            "topic" => q.topic.clone(),
            "open_type" => q.open_type.clone(),
            "format" => q.format.clone(),
            "frequency" => q.frequency.clone(),
            _ => None,
        }
    };
    let offset = q.offset.unwrap_or(0) as usize;
    let limit = q.limit.unwrap_or(20).clamp(1, 100) as usize;
    let label = |facet: &str, value: &str, zh: &str| -> String {
        if lang == Lang::Zh {
            return zh.to_string();
        }
        match facet {
            "topic" => value.split_once(':').map_or(zh.to_string(), |(c, i)| open::topic_label(c, i).1),
            "open_type" => OpenType::parse(value).map_or(zh.to_string(), |c| c.label_en().into()),
            "frequency" => Frequency::parse(value).map_or(zh.to_string(), |c| c.label_en().into()),
            "format" => ReleaseFormat::parse(value).map_or(zh.to_string(), |c| c.label_en().into()),
            _ => zh.to_string(),
        }
    };
    page(
        lang,
        p.as_ref(),
        "/open",
        lang.t("开放数据目录", "Open datasets"),
        html! {
            (portal_nav(lang, "/open/datasets"))
            (search_form(lang, &text))
            div.split {
                aside.facets aria-label=(lang.t("筛选", "Filters")) {
                    @for (facet, zh, en) in OPEN_FACETS {
                        @if let Some(values) = out.facets.get(*facet) {
                            h3 { (lang.t(zh, en)) }
                            ul { @for v in values {
                                @let on = chosen(facet).as_deref() == Some(v.value.as_str());
                                li { @if on {
                                    strong { (label(facet, &v.value, &v.label)) } " (" (v.count) ") "
                                    a href=(link(facet, None)) aria-label=(lang.t("取消此筛选", "Clear this filter")) { "×" }
                                } @else {
                                    a href=(link(facet, Some(&v.value))) { (label(facet, &v.value, &v.label)) } " (" (v.count) ")"
                                } }
                            } }
                        }
                    }
                }
                section #results aria-live="polite" {
                    p { (lang.t("共 ", "")) strong { (out.total) } (lang.t(" 个开放数据集", " open datasets")) }
                    @if out.total == 0 {
                        p.notice.warn { (lang.t("没有找到符合条件的开放数据。", "No open data matches.")) " "
                            a href=(format!("/open/requests?title={}", urlencode(&text))) { (lang.t("提出数据需求", "Ask for this data")) } }
                    }
                    ol.hits { @for d in &out.datasets { (dataset_item(lang, d)) } }
                    nav.sub aria-label=(lang.t("翻页", "Pages")) {
                        @if offset > 0 {
                            a href=(format!("{}&offset={}", link("", None), offset.saturating_sub(limit))) { (lang.t("← 上一页", "← Previous")) }
                        }
                        @if offset + limit < out.total {
                            a href=(format!("{}&offset={}", link("", None), offset + limit)) { (lang.t("下一页 →", "Next →")) }
                        }
                    }
                }
            }
        },
    )
}

/// A table of rows with their columns.
fn rows_table(columns: &[String], rows: &[(u64, Vec<Option<String>>)], caption: &str) -> Markup {
    html! {
        div style="overflow-x:auto" {
            table.preview {
                caption { (caption) }
                thead { tr { @for c in columns { th scope="col" { (c) } } } }
                tbody { @for (_, row) in rows { tr { @for v in row { td { (v.as_deref().unwrap_or("")) } } } } }
            }
        }
    }
}

/// `/open/datasets/{id}`: one open dataset for the public.
pub async fn dataset(State(state): S, headers: HeaderMap, p: Option<P>, peer: Peer, Path(id): Path<i64>) -> Page {
    let lang = Lang::from_headers(&headers);
    let (d, e) = open::open_dataset(&state, id).await?;
    // A client asking for RDF is sent to the dataset's record.
    if let Some(ext) = crate::dcat::negotiated(&headers) {
        return see_other(&format!("/dataset/{}.{ext}", d.code.replace('/', "-")));
    }
    let reader = reader(p.clone(), peer);
    let preview = open::preview(&state, &reader, d.latest.id).await?;
    let p = match reader {
        Reader::Account(p) => Some(p),
        Reader::Anonymous(_) => None,
    };
    let mine: Vec<pdp_storage::OpenApplication> = match &p {
        Some(p) => {
            state
                .storage
                .list_applications(&pdp_storage::ApplicationQuery {
                    applicant_id: Some(p.user.id),
                    entry_id: Some(d.entry_id),
                    ..Default::default()
                })
                .await?
        }
        None => vec![],
    };
    let granted =
        mine.iter().find(|a| a.status == ApplicationStatus::Approved && a.until >= pdp_app::clock::today_date());
    let pending = mine.iter().find(|a| !matches!(a.status, ApplicationStatus::Refused | ApplicationStatus::Revoked));
    let dict = dictionary(&d, &e);
    open::count_use(&state, &d.latest, open::Use::View);
    let charts = open::charts(&state, &d, &e).await;
    let ratings = pdp_app::feedback::ratings(&state, d.entry_id).await?;
    let api = format!("{}/api/v1/open/releases/{}/rows?limit=100", state.base_url(), d.latest.id);
    let on_application = d.open_type == OpenType::OnApplication.as_str();
    page(
        lang,
        p.as_ref(),
        "/open",
        &d.name,
        html! {
            // What search engines read of a dataset (Google Dataset Search reads schema.org).
            script type="application/ld+json" { (PreEscaped(schema_org(state.base_url(), &d))) }
            (portal_nav(lang, "/open/datasets"))
            @if d.stale {
                p.notice.warn role="status" { (lang.t("该数据未按更新频率及时更新，内容可能已过时。", "This data was not updated as often as promised and may be out of date.")) }
            }
            p { (d.summary) }
            dl.meta {
                dt { (lang.t("资源代码", "Resource code")) } dd.mono { (d.code) }
                dt { (lang.t("提供单位", "Provider")) } dd { (d.org_name) }
                @if d.latest.route == ReleaseRoute::Social {
                    dt { (lang.t("数据来源", "Source")) } dd #social-source { (lang.t("社会数据：", "Social data: ")) (e.body.collecting_dept) }
                    dt { (lang.t("开放许可", "Licence")) } dd { (e.body.usage_requirements) }
                }
                @if d.latest.route == ReleaseRoute::Harvest {
                    dt { (lang.t("数据来源", "Source")) } dd #harvest-source { (lang.t("采集汇聚：", "Harvested: ")) (e.body.collecting_dept) }
                    dt { (lang.t("来源与许可", "Origin and licence")) } dd { (e.body.usage_requirements) }
                }
                dt { (lang.t("开放类型", "Open type")) } dd { (open_type_label(lang, &d.open_type)) }
                @if on_application {
                    dt { (lang.t("开放条件", "Conditions")) } dd { (e.body.open.conditions) }
                    dt { (lang.t("依据", "Legal basis")) } dd { (e.body.open.legal_basis) }
                }
                dt { (lang.t("更新频率", "Update frequency")) } dd { (Frequency::parse(&d.frequency).map_or("", |f| lang.t(f.label_zh(), f.label_en()))) }
                dt { (lang.t("最近更新", "Last updated")) } dd { (d.updated) }
                dt { (lang.t("数据条数", "Records")) } dd { (d.latest.rows) }
                dt { (lang.t("费用", "Charge")) } dd { (lang.t("免费", "Free of charge")) }
            }
            h2 { (lang.t("数据项", "Data dictionary")) }
            table #dictionary {
                thead { tr { th scope="col" { (lang.t("字段", "Field")) } th scope="col" { (lang.t("名称", "Label")) } th scope="col" { (lang.t("类型", "Type")) } th scope="col" { (lang.t("说明", "Description")) } th scope="col" { (lang.t("脱敏", "Masking")) } } }
                tbody { @for f in &dict { tr {
                    td.mono { (f["name"].as_str().unwrap_or("")) }
                    td { (f["label"].as_str().unwrap_or("")) }
                    td { (f["data_type"].as_str().unwrap_or("")) }
                    td { (f["description"].as_str().unwrap_or("")) }
                    td { (f["mask"].as_str().and_then(MaskRule::parse).filter(|m| *m != MaskRule::None).map_or("", |m| lang.t(m.label_zh(), m.label_en()))) }
                } } }
            }
            h2 { (lang.t("数据预览", "Preview")) }
            @match &preview {
                Some(page) => { (rows_table(&page.columns, &page.rows, lang.t("前 20 条", "The first 20 records"))) }
                None => { p.notice.warn { (lang.t("该数据为有条件开放：须登录并申请，获批后方可使用。", "This data is open on application: sign in and apply; it can be used once approved.")) } }
            }
            @if on_application {
                h2 { (lang.t("申请使用", "Apply")) }
                @if let Some(a) = granted {
                    p.notice.ok { (lang.t("您的申请已获批准，使用期限至 ", "Your application is approved until ")) (a.until) (lang.t("。下载的文件带有您的专属标记。", ". Files you download carry a mark of your own.")) }
                    ul #application-downloads { @for f in &d.latest.rules.formats {
                        li { a href=(format!("/api/v1/open/applications/{}/download/{}", a.id, f.as_str())) download { (f.label_zh()) } }
                    } }
                } @else if let Some(a) = pending {
                    p { (lang.t("您的申请状态：", "Your application: ")) strong { (lang.t(a.status.label_zh(), a.status.label_en())) } " · " a href="/open/me" { (lang.t("我的申请", "My applications")) } }
                } @else if let Some(p) = &p {
                    (apply_form(lang, p, &d))
                } @else {
                    p { a href=(format!("/login?next=/open/datasets/{}", d.entry_id)) { (lang.t("登录", "Sign in")) } (lang.t(" 或 ", " or ")) a href="/open/register" { (lang.t("注册", "register")) } (lang.t(" 后申请。", " to apply.")) }
                }
            }
            @if !charts.is_empty() {
                h2 { (lang.t("数值分布", "Distributions")) }
                @for h in &charts {
                    @let label = dict.iter().find(|f| f["name"] == h.column.as_str()).and_then(|f| f["label"].as_str()).unwrap_or(&h.column).to_string();
                    figure.chart-figure {
                        figcaption { (label) " — " (lang.t("最小值 ", "min ")) (fmt_num(h.min)) (lang.t("，最大值 ", ", max ")) (fmt_num(h.max)) (lang.t("，平均值 ", ", mean ")) (fmt_num(h.mean)) " (" (h.values) (lang.t(" 个值)", " values)")) }
                        div.chart data-echarts=(histogram_option(lang, h)) style="height:220px" role="img" aria-label=(format!("{} {}", label, lang.t("分布图", "histogram"))) {}
                        details { summary { (lang.t("图表数据", "Chart data")) }
                            table { thead { tr { th scope="col" { (lang.t("区间", "Range")) } th scope="col" { (lang.t("个数", "Count")) } } }
                                tbody { @for (lo, hi, n) in &h.bins { tr { td { (fmt_num(*lo)) " – " (fmt_num(*hi)) } td { (n) } } } } }
                        }
                    }
                }
            }
            @if preview.is_some() {
                h2 { (lang.t("下载", "Download")) }
                ul #downloads { @for f in &d.latest.rules.formats {
                    li { a href=(format!("/api/v1/open/releases/{}/download/{}", d.latest.id, f.as_str())) download { (f.label_zh()) } }
                } }
                h2 { (lang.t("接口调用", "API")) }
                p { (lang.t("无需注册即可调用；按 next_cursor 翻页，数据版本固定，不漏不重。", "No account needed; page with next_cursor: the release is fixed, so no row is missed or repeated.")) }
                pre.mono { "curl '" (api) "'" }
            }
            h2 { (lang.t("评价", "Ratings")) }
            p #rating-summary { @match ratings.mean {
                Some(m) => { (format!("{m:.1}")) (lang.t(" 星，共 ", " stars from ")) (ratings.count) (lang.t(" 条评价", " ratings")) }
                None => { (lang.t("暂无评价", "No ratings yet")) }
            } }
            ul #ratings { @for r in ratings.ratings.iter().take(20) { li { (r.user_name) " · " (r.stars) "★ · " (r.comment) } } }
            @if let Some(p) = &p {
                form.inline #rating-form method="post" action=(format!("/open/datasets/{}/rate", d.entry_id)) {
                    (csrf(p))
                    label { (lang.t("评分", "Stars")) select name="stars" { @for n in (1..=5).rev() { option value=(n) { (n) "★" } } } }
                    label { (lang.t("评论", "Comment")) input name="comment" maxlength="500"; }
                    button type="submit" { (lang.t("提交评价", "Rate")) }
                }
            }
            @if let Some(p) = &p {
                form.inline #webhook-form method="post" action="/open/webhooks" {
                    (csrf(p))
                    input type="hidden" name="entry_id" value=(d.entry_id);
                    label { (lang.t("更新通知地址（Webhook）", "Notify this URL of updates (webhook)")) input type="url" name="url" required maxlength="2000" placeholder="https://"; }
                    button type="submit" { (lang.t("订阅", "Subscribe")) }
                }
            }
            p {
                a href=(format!("/open/datasets/{}/feed.atom", d.entry_id)) type="application/atom+xml" { (lang.t("订阅更新（Atom）", "Subscribe to updates (Atom)")) }
                " · " a href=(format!("/open/orgs/{}/feed.atom", d.org_id)) type="application/atom+xml" { (lang.t("订阅该单位的开放数据", "Subscribe to the provider's open data")) }
                " · " a href="/objections" { (lang.t("报告数据错误（异议）", "Report an error (objection)")) }
            }
            h2 { (lang.t("版本历史", "Version history")) }
            table #versions {
                thead { tr { th scope="col" { (lang.t("版本", "Release")) } th scope="col" { (lang.t("发布时间", "Published")) } th scope="col" { (lang.t("来源版本", "Source version")) } th scope="col" { (lang.t("条数", "Records")) } th scope="col" { (lang.t("途径", "Route")) } @if preview.is_some() { th scope="col" { (lang.t("下载", "Download")) } } } }
                tbody { @for r in &d.releases { tr id=(format!("release-{}", r.id)) {
                    td { a href=(format!("/release/{}", r.id)) title=(lang.t("本版本的永久地址", "This release's persistent identifier")) { (r.id) } }
                    td { (r.published_at_micros.map(fmt_time).unwrap_or_default()) }
                    td { (r.source_version) }
                    td { (r.rows) }
                    td { (lang.t(r.route.label_zh(), r.route.label_en())) }
                    @if preview.is_some() { td { @for f in &r.rules.formats {
                        a href=(format!("/api/v1/open/releases/{}/download/{}", r.id, f.as_str())) { (f.as_str()) } " "
                    } } }
                } } }
            }
        },
    )
}

/// A number as charts show it: whole numbers without decimals, others with two.
fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.0}") } else { format!("{v:.2}") }
}

/// The ECharts option of a histogram: one bar per bin.
fn histogram_option(lang: Lang, h: &pdp_lake::release::Histogram) -> String {
    let x: Vec<String> = h.bins.iter().map(|(lo, hi, _)| format!("{}–{}", fmt_num(*lo), fmt_num(*hi))).collect();
    let y: Vec<u64> = h.bins.iter().map(|b| b.2).collect();
    serde_json::json!({
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 50, "right": 20, "top": 20, "bottom": 40},
        "xAxis": {"type": "category", "data": x, "axisLabel": {"fontSize": 10}},
        "yAxis": {"type": "value", "name": lang.t("个数", "count")},
        "series": [{"type": "bar", "data": y, "itemStyle": {"color": "#1f5fa8"}}]
    })
    .to_string()
}

/// The application form of an on-application dataset.
fn apply_form(lang: Lang, p: &Principal, d: &OpenDataset) -> Markup {
    let until = pdp_app::clock::iso(pdp_app::clock::today_date() + time::Duration::days(180));
    html! {
        form.editor #apply-form method="post" action=(format!("/open/datasets/{}/apply", d.entry_id)) {
            (csrf(p))
            label.wide { (lang.t("用途", "Purpose")) textarea name="purpose" rows="2" required maxlength="2000" {} }
            label.wide { (lang.t("应用场景", "Scenario")) textarea name="scenario" rows="2" required maxlength="2000" {} }
            fieldset { legend { (lang.t("所需字段", "Fields needed")) }
                @for f in d.latest.rules.field_names() {
                    label.check { input type="checkbox" name=(format!("field_{f}")) checked; " " span.mono { (f) } }
                }
            }
            label { (lang.t("使用期限至", "Use until")) input type="date" name="until" value=(until) required; }
            label.wide { (lang.t("安全保障措施", "Security measures")) textarea name="security_measures" rows="2" required maxlength="2000" {} }
            label.check { input type="checkbox" name="commercial"; " " (lang.t("用于商业用途", "Commercial use")) }
            details { summary { (lang.t("公共数据开发利用授权协议", "The licence agreement")) } p { (pdp_domain::open::LICENCE_AGREEMENT) } }
            label.check { input type="checkbox" name="licence_accepted"; " " (lang.t("商业用途：我已阅读并接受授权协议", "Commercial use: I have read and accept the licence agreement")) }
            label.check { input type="checkbox" name="pledge" required; " " (lang.t("我承诺仅按申请的用途、场景和期限使用数据", "I pledge to use the data only as stated")) }
            button type="submit" { (lang.t("提交申请", "Apply")) }
        }
    }
}

pub async fn apply_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let v = |k: &str| f.get(k).cloned().unwrap_or_default();
    let mut fields: Vec<String> = f.keys().filter_map(|k| k.strip_prefix("field_").map(str::to_string)).collect();
    fields.sort();
    let input = pdp_domain::open::ApplicationInput {
        entry_id: id,
        purpose: v("purpose"),
        scenario: v("scenario"),
        fields,
        until: v("until"),
        security_measures: v("security_measures"),
        pledge: f.contains_key("pledge"),
        commercial: f.contains_key("commercial"),
        licence_accepted: f.contains_key("licence_accepted"),
    };
    pdp_app::applications::apply(&state, &p, &input).await?;
    see_other(&format!(
        "/open/me?ok={}",
        urlencode(lang.t("申请已提交，等待数据提供单位答复", "applied; the provider will answer"))
    ))
}

fn application_status(lang: Lang, a: &pdp_storage::OpenApplication) -> Markup {
    let class = match a.status {
        ApplicationStatus::Submitted | ApplicationStatus::UnderReview => "badge st-submitted",
        ApplicationStatus::Approved => "badge st-published",
        ApplicationStatus::Refused | ApplicationStatus::Revoked => "badge st-rejected",
        ApplicationStatus::Suspended => "badge st-superseded",
    };
    html! { span class=(class) { (lang.t(a.status.label_zh(), a.status.label_en())) } }
}

/// `/open/applications`: the applications for the own organisation's on-application data, and
/// for the authority those of its region, with the forms to decide, review, suspend and revoke.
pub async fn applications_page(State(state): S, headers: HeaderMap, Extension(p): P, Query(f): Query<Flash>) -> Page {
    let lang = Lang::from_headers(&headers);
    let list: Vec<_> = pdp_app::applications::applications_for(&state, &p)
        .await?
        .into_iter()
        .filter(|a| a.applicant_id != p.user.id)
        .collect();
    let today = pdp_app::clock::today_date();
    page(
        lang,
        Some(&p),
        "/open/releases",
        lang.t("开放数据申请", "Applications for open data"),
        html! {
            (notice(f.ok.as_deref(), lang))
            p.muted { (lang.t("有条件开放数据的使用申请：提供单位在期限内答复；未获批准的申请人可申请数据主管部门复核。",
                "Applications for data open on application: the provider answers by the deadline; a refused applicant may ask the authority to review.")) }
            @if list.is_empty() { p { (lang.t("暂无申请。", "No applications.")) } }
            @for a in &list {
                section.card id=(format!("application-{}", a.id)) {
                    h3 { "#" (a.id) " " (a.applicant_name) " · " span.mono { (a.dataset) } " " (application_status(lang, a)) }
                    dl.meta {
                        dt { (lang.t("用途", "Purpose")) } dd { (a.purpose) }
                        dt { (lang.t("场景", "Scenario")) } dd { (a.scenario) }
                        dt { (lang.t("字段", "Fields")) } dd.mono { (a.fields.join(", ")) }
                        dt { (lang.t("使用期限至", "Until")) } dd { (a.until) }
                        dt { (lang.t("安全措施", "Security measures")) } dd { (a.security_measures) }
                        dt { (lang.t("商业用途", "Commercial")) } dd { @if a.commercial { (lang.t("是，已接受授权协议 ", "yes, licence accepted ")) (a.licence_version.clone().unwrap_or_default()) } @else { (lang.t("否", "no")) } }
                        dt { (lang.t("答复期限", "Answer by")) } dd { (a.due_date) @if a.status == ApplicationStatus::Submitted && a.due_date < today { " " span.badge.failure { (lang.t("已超期", "overdue")) } } }
                        @if !a.reason.is_empty() { dt { (lang.t("理由", "Reasons")) } dd { (a.reason) } }
                        @if !a.appeal.is_empty() { dt { (lang.t("复核申请", "Appeal")) } dd { (a.appeal) } }
                        @if matches!(a.status, ApplicationStatus::Approved | ApplicationStatus::Suspended | ApplicationStatus::Revoked) {
                            dt { (lang.t("使用报告", "Usage reports")) }
                            dd { (a.reports) @if report_overdue(a.status, a.until, a.reports, today) { " " span.badge.failure { (lang.t("逾期未报告", "report overdue")) } }
                                " · " a href=(format!("/api/v1/open/applications/{}/usage", a.id)) { (lang.t("报告与下载记录", "reports and downloads")) } }
                        }
                    }
                    @if a.status == ApplicationStatus::Submitted && p.org_id == Some(a.org_id) && p.allows(Permission::ApproveShare) {
                        form.inline method="post" action=(format!("/open/applications/{}/decision", a.id)) {
                            (csrf(&p))
                            label { (lang.t("理由（不批准时必填）", "Reasons (required to refuse)")) input name="reason" maxlength="2000"; }
                            button type="submit" name="decision" value="approve" { (lang.t("批准", "Approve")) }
                            button.danger type="submit" name="decision" value="refuse" { (lang.t("不予批准", "Refuse")) }
                        }
                    }
                    @if a.status == ApplicationStatus::UnderReview && p.allows(Permission::ReviewOpenData) {
                        form.inline method="post" action=(format!("/open/applications/{}/review", a.id)) {
                            (csrf(&p))
                            label { (lang.t("复核意见", "Review reasons")) input name="reason" required maxlength="2000"; }
                            button type="submit" name="decision" value="approve" { (lang.t("复核批准", "Grant")) }
                            button.danger type="submit" name="decision" value="refuse" { (lang.t("维持不批准", "Uphold the refusal")) }
                        }
                    }
                    @if matches!(a.status, ApplicationStatus::Approved | ApplicationStatus::Suspended) && (p.allows(Permission::ManageGrants) || p.allows(Permission::ReviewOpenData)) {
                        form.inline method="post" action=(format!("/open/applications/{}/access", a.id)) {
                            (csrf(&p))
                            label { (lang.t("理由", "Reasons")) input name="reason" required maxlength="2000"; }
                            @if a.status == ApplicationStatus::Approved { button type="submit" name="status" value="suspended" { (lang.t("暂停", "Suspend")) } }
                            @else { button type="submit" name="status" value="approved" { (lang.t("恢复", "Resume")) } }
                            button.danger type="submit" name="status" value="revoked" { (lang.t("撤销", "Revoke")) }
                        }
                    }
                }
            }
        },
    )
}

fn flash(to: &str, lang: Lang, zh: &str, en: &str) -> Page {
    see_other(&format!("{to}?ok={}", urlencode(lang.t(zh, en))))
}

pub async fn decision_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let approve = f.get("decision").map(String::as_str) == Some("approve");
    pdp_app::applications::decide(&state, &p, id, approve, f.get("reason").map(String::as_str).unwrap_or("")).await?;
    flash("/open/applications", lang, "已答复", "answered")
}

pub async fn review_application_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let approve = f.get("decision").map(String::as_str) == Some("approve");
    pdp_app::applications::review(&state, &p, id, approve, f.get("reason").map(String::as_str).unwrap_or("")).await?;
    flash("/open/applications", lang, "已复核", "reviewed")
}

pub async fn access_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let to = f
        .get("status")
        .and_then(|s| ApplicationStatus::parse(s))
        .ok_or_else(|| AppError::bad_request("invalid_status", "未知的状态", "unknown status"))?;
    pdp_app::applications::set_access(&state, &p, id, to, f.get("reason").map(String::as_str).unwrap_or("")).await?;
    flash("/open/applications", lang, "已更新", "updated")
}

pub async fn appeal_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<ReasonForm>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    pdp_app::applications::appeal(&state, &p, id, &f.reason).await?;
    flash("/open/me", lang, "已申请复核", "review asked for")
}

/// `/open/announcements`: data past its update frequency (R-OPN-08).
pub async fn announcements(State(state): S, headers: HeaderMap, p: Option<P>) -> Page {
    let lang = Lang::from_headers(&headers);
    let catalog = open::open_catalog(&state).await?;
    let stale: Vec<&OpenDataset> = catalog.stale_datasets().collect();
    let p = p.map(|Extension(p)| p);
    page(
        lang,
        p.as_ref(),
        "/open",
        lang.t("公告", "Announcements"),
        html! {
            (portal_nav(lang, "/open/announcements"))
            p { a href="/open/review-list" { (lang.t("开放限制年度复核清单", "The yearly review of restricted data")) } }
            h2 { (lang.t("未按时更新的数据", "Data not updated on time")) }
            @if stale.is_empty() {
                p { (lang.t("所有开放数据均按更新频率及时更新。", "All open data is up to date.")) }
            } @else {
                table #stale {
                    thead { tr { th scope="col" { (lang.t("数据", "Data")) } th scope="col" { (lang.t("提供单位", "Provider")) } th scope="col" { (lang.t("更新频率", "Frequency")) } th scope="col" { (lang.t("最近更新", "Last updated")) } } }
                    tbody { @for d in &stale { tr {
                        td { a href=(format!("/open/datasets/{}", d.entry_id)) { (d.name) } }
                        td { (d.org_name) }
                        td { (Frequency::parse(&d.frequency).map_or("", |f| lang.t(f.label_zh(), f.label_en()))) }
                        td { (d.updated) }
                    } } }
                }
            }
        },
    )
}

// ---------------------------------------------------------------- the staff's side

fn status_badge(lang: Lang, s: ReleaseStatus) -> Markup {
    let class = match s {
        ReleaseStatus::PendingReview => "badge st-submitted",
        ReleaseStatus::Published => "badge st-published",
        ReleaseStatus::Returned => "badge st-rejected",
        ReleaseStatus::Withdrawn => "badge st-superseded",
    };
    html! { span class=(class) { (lang.t(s.label_zh(), s.label_en())) } }
}

/// `/open/releases`: the releases the caller prepares or reviews, and what the own organisation
/// can open.
pub async fn releases(State(state): S, headers: HeaderMap, Extension(p): P, Query(f): Query<Flash>) -> Page {
    let lang = Lang::from_headers(&headers);
    let list = open::staff_releases(&state, &p).await?;
    let openable =
        if p.allows(Permission::PublishOpenData) { open::openable_entries(&state, &p).await? } else { vec![] };
    page(
        lang,
        Some(&p),
        "/open/releases",
        lang.t("开放数据发布", "Open data releases"),
        html! {
            (notice(f.ok.as_deref(), lang))
            p.muted { (lang.t("开放数据经字段选择、脱敏、脱密确认后，由数据主管部门进行安全保密审查，通过后在开放门户发布。",
                "A release is prepared (fields, masking, declassification), reviewed for security and confidentiality by the authority, then published on the portal.")) " "
                a href="/open" { (lang.t("查看开放门户", "See the portal")) } " · "
                a href="/open/applications" { (lang.t("有条件开放数据的使用申请", "Applications for data open on application")) } }
            table #releases {
                thead { tr { th { (lang.t("编号", "No.")) } th { (lang.t("数据", "Data")) } th { (lang.t("提供单位", "Provider")) } th { (lang.t("途径", "Route")) } th { (lang.t("条数", "Records")) } th { (lang.t("状态", "Status")) } th { (lang.t("准备", "Prepared")) } } }
                tbody { @for r in &list { tr {
                    td { a href=(format!("/open/releases/{}", r.release.id)) { (r.release.id) } }
                    td { (r.name) br; span.mono.muted { (r.code) " v" (r.release.source_version) } }
                    td { (r.org_name) }
                    td { (lang.t(r.release.route.label_zh(), r.release.route.label_en())) }
                    td { (r.release.rows) }
                    td { (status_badge(lang, r.release.status)) }
                    td { (r.release.prepared_by) br; span.muted { (fmt_time(r.release.prepared_at_micros)) } }
                } } }
            }
            @if !openable.is_empty() {
                h2 { (lang.t("准备开放数据", "Prepare a release")) }
                form method="get" action="/open/releases/new" {
                    label { (lang.t("目录条目", "Catalog entry")) select name="entry" {
                        @for e in &openable { option value=(e.entry_id) { (e.code) " " (e.body.name) " (" (lang.t(e.body.open.open_type.label_zh(), e.body.open.open_type.label_en())) ")" } }
                    } }
                    button type="submit" { (lang.t("下一步", "Next")) }
                }
            }
        },
    )
}

#[derive(Debug, serde::Deserialize)]
pub struct EntryParam {
    entry: i64,
}

/// `/open/releases/new?entry=ID`: the preparation form of one entry: each field with its
/// masking (at least the catalog's; personal fields preset to it), row filters, formats,
/// declassification and automatic push.
pub async fn new_release(State(state): S, headers: HeaderMap, Extension(p): P, Query(q): Query<EntryParam>) -> Page {
    let lang = Lang::from_headers(&headers);
    let e = open::openable_entries(&state, &p)
        .await?
        .into_iter()
        .find(|e| e.entry_id == q.entry)
        .ok_or_else(|| AppError::not_found(&format!("openable entry {}", q.entry)))?;
    page(
        lang,
        Some(&p),
        "/open/releases",
        lang.t("准备开放数据", "Prepare a release"),
        html! {
            h2 { (e.body.name) " " span.mono.muted { (e.code) } }
            form.editor #release-form method="post" action="/open/releases/new" {
                (csrf(&p))
                input type="hidden" name="entry" value=(e.entry_id);
                fieldset { legend { (lang.t("字段与脱敏", "Fields and masking")) }
                    table.fields {
                        thead { tr { th { (lang.t("开放", "Open")) } th { (lang.t("字段", "Field")) } th { (lang.t("分级", "Grade")) } th { (lang.t("个人信息", "Personal")) } th { (lang.t("脱敏规则", "Masking")) } } }
                        tbody { @for f in &e.body.fields { tr {
                            td { input type="checkbox" name=(format!("use_{}", f.name)) id=(format!("use_{}", f.name)) checked[!f.personal]; }
                            td { label for=(format!("use_{}", f.name)) { (f.label) " " span.mono.muted { (f.name) } } }
                            td { (f.grade.label_zh()) }
                            td { @if f.personal { (lang.t("是", "yes")) } }
                            td { select name=(format!("mask_{}", f.name)) aria-label=(format!("{} {}", f.label, lang.t("脱敏规则", "masking"))) {
                                @for m in MaskRule::ALL { @if m.at_least_as_strong_as(f.mask) {
                                    option value=(m.as_str()) selected[*m == f.mask] { (lang.t(m.label_zh(), m.label_en())) }
                                } }
                            } }
                        } } }
                    }
                }
                label.wide { (lang.t("行筛选（每行一个：字段=值1,值2；留空则开放全部行）", "Row filters (one per line: field=value1,value2; empty opens every row)"))
                    textarea name="filters" rows="2" {} }
                fieldset { legend { (lang.t("开放格式", "Formats")) }
                    @for fmt in ReleaseFormat::ALL {
                        label.check { input type="checkbox" name=(format!("fmt_{}", fmt.as_str())) checked; " " (fmt.label_zh()) }
                    }
                }
                label.check { input type="checkbox" name="declassified" required; " " (lang.t("我确认数据已完成脱密处理，不含国家秘密", "I confirm the data is declassified and holds no state secret")) }
                label.check { input type="checkbox" name="auto_push"; " " (lang.t("数据更新后按相同规则自动推送新版本", "Push each new version of the dataset by these rules")) }
                button type="submit" { (lang.t("生成并提交审查", "Prepare and send to review")) }
            }
        },
    )
}

/// Reads the preparation form: `use_<field>`, `mask_<field>`, `fmt_<format>`, `filters`,
/// `declassified`, `auto_push`.
fn rules_from_form(
    e: &pdp_storage::catalog::EntryVersion,
    f: &HashMap<String, String>,
) -> Result<ReleaseRules, AppError> {
    let mut fields = Vec::new();
    for field in &e.body.fields {
        if f.contains_key(&format!("use_{}", field.name)) {
            let mask = match f.get(&format!("mask_{}", field.name)) {
                Some(m) => Some(MaskRule::parse(m).ok_or_else(|| {
                    AppError::bad_request(
                        "invalid_mask",
                        format!("未知的脱敏规则“{m}”"),
                        format!("unknown masking rule {m:?}"),
                    )
                })?),
                None => None,
            };
            fields.push(ReleaseField { name: field.name.clone(), mask });
        }
    }
    let mut filters = Vec::new();
    for line in f.get("filters").map(String::as_str).unwrap_or("").lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((field, values)) = line.split_once('=') else {
            return Err(AppError::bad_request(
                "invalid_filter",
                format!("行筛选“{line}”应写作 字段=值1,值2"),
                format!("the row filter {line:?} should read field=value1,value2"),
            ));
        };
        filters.push(RowFilter {
            field: field.trim().to_string(),
            values: values.split([',', '，']).map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect(),
        });
    }
    Ok(ReleaseRules {
        fields,
        filters,
        formats: ReleaseFormat::ALL
            .iter()
            .copied()
            .filter(|x| f.contains_key(&format!("fmt_{}", x.as_str())))
            .collect(),
        declassified: f.contains_key("declassified"),
        auto_push: f.contains_key("auto_push"),
    })
}

pub async fn new_release_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Form(f): Form<HashMap<String, String>>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let entry_id: i64 = f
        .get("entry")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| AppError::bad_request("invalid_entry", "请选择目录条目", "choose a catalog entry"))?;
    let e = open::openable_entries(&state, &p)
        .await?
        .into_iter()
        .find(|e| e.entry_id == entry_id)
        .ok_or_else(|| AppError::not_found(&format!("openable entry {entry_id}")))?;
    let rules = rules_from_form(&e, &f)?;
    let r = open::prepare_release(&state, &p, &open::PrepareInput { entry_id, rules }).await?;
    see_other(&format!(
        "/open/releases/{}?ok={}",
        r.release.id,
        urlencode(lang.t("已生成，等待安全审查", "prepared; waiting for the security review"))
    ))
}

/// `/open/releases/{id}`: a release with its rules and sample; the review form for reviewers,
/// the withdrawal form for its provider and the authority.
pub async fn release(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Query(f): Query<Flash>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let (r, sample) = open::release_for_staff(&state, &p, id).await?;
    let rel = &r.release;
    let can_review = p.allows(Permission::ReviewOpenData)
        && rel.status == ReleaseStatus::PendingReview
        && rel.prepared_by != p.user.username;
    let can_withdraw = matches!(rel.status, ReleaseStatus::Published | ReleaseStatus::PendingReview)
        && (p.allows(Permission::PublishOpenData) || p.allows(Permission::ReviewOpenData));
    page(
        lang,
        Some(&p),
        "/open/releases",
        &format!("{} #{}", lang.t("开放数据", "Release"), rel.id),
        html! {
            (notice(f.ok.as_deref(), lang))
            dl.meta {
                dt { (lang.t("数据", "Data")) } dd { (r.name) " " span.mono { (r.code) } }
                dt { (lang.t("提供单位", "Provider")) } dd { (r.org_name) }
                dt { (lang.t("状态", "Status")) } dd #release-status { (status_badge(lang, rel.status)) }
                dt { (lang.t("来源版本", "Source version")) } dd { (rel.source_version) }
                dt { (lang.t("途径", "Route")) } dd { (lang.t(rel.route.label_zh(), rel.route.label_en())) @if !rel.note.is_empty() { br; span.muted { (rel.note) } } }
                dt { (lang.t("条数", "Records")) } dd { (rel.rows) }
                dt { (lang.t("格式", "Formats")) } dd { @for x in &rel.rules.formats { (x.label_zh()) " " } }
                dt { (lang.t("行筛选", "Row filters")) } dd { @for x in &rel.rules.filters { span.mono { (x.field) "=" (x.values.join(",")) } " " } }
                dt { (lang.t("准备人", "Prepared by")) } dd { (rel.prepared_by) " · " (fmt_time(rel.prepared_at_micros)) }
                @if let (Some(by), Some(at)) = (&rel.reviewed_by, rel.reviewed_at_micros) {
                    dt { (lang.t("审查", "Reviewed")) } dd { (by) " · " (fmt_time(at))
                        @if let Some(rv) = &rel.review { @if !rv.reasons.is_empty() { br; (rv.reasons) } } }
                }
            }
            h2 { (lang.t("样例数据（审查时查看）", "Sample (for the review)")) }
            (rows_table(&sample.columns, &sample.rows, lang.t("前 20 条，已按规则脱敏", "The first 20 records, masked by the rules")))
            @if can_review {
                h2 { (lang.t("安全保密审查", "Security and confidentiality review")) }
                form.editor #review-form method="post" action=(format!("/open/releases/{}/review", rel.id)) {
                    (csrf(&p))
                    fieldset { legend { (lang.t("审查清单", "Checklist")) }
                        @for (key, _, zh, en) in Checklist::default().items() {
                            label.check { input type="checkbox" name=(key); " " (lang.t(zh, en)) }
                        }
                    }
                    label.wide { (lang.t("意见（退回时必填）", "Reasons (required to return)")) textarea name="reasons" rows="2" {} }
                    div.actions {
                        button type="submit" name="decision" value="approve" { (lang.t("通过并发布", "Approve and publish")) }
                        button.danger type="submit" name="decision" value="return" { (lang.t("退回", "Return")) }
                    }
                }
            }
            @if can_withdraw {
                form.inline method="post" action=(format!("/open/releases/{}/withdraw", rel.id)) {
                    (csrf(&p))
                    label { (lang.t("撤回理由", "Reason to withdraw")) input name="reason" required maxlength="500"; }
                    button.danger type="submit" { (lang.t("撤回", "Withdraw")) }
                }
            }
            @if rel.status == ReleaseStatus::Published {
                p { a href=(format!("/open/datasets/{}", rel.entry_id)) { (lang.t("在开放门户查看 →", "See it on the portal →")) } }
            }
            (PreEscaped(""))
        },
    )
}

pub async fn review_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let on = |k: &str| f.contains_key(k);
    let review = Review {
        approve: f.get("decision").map(String::as_str) == Some("approve"),
        checklist: Checklist {
            personal_masked: on("personal_masked"),
            grading_allows: on("grading_allows"),
            no_secrets: on("no_secrets"),
            legal_basis: on("legal_basis"),
            sample_checked: on("sample_checked"),
        },
        reasons: f.get("reasons").cloned().unwrap_or_default(),
    };
    let r = open::review_release(&state, &p, id, &review).await?;
    let msg = if r.release.status == ReleaseStatus::Published {
        lang.t("已通过并发布", "approved and published")
    } else {
        lang.t("已退回", "returned")
    };
    see_other(&format!("/open/releases/{id}?ok={}", urlencode(msg)))
}

pub async fn withdraw_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<ReasonForm>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    open::withdraw_release(&state, &p, id, &f.reason).await?;
    see_other(&format!("/open/releases/{id}?ok={}", urlencode(lang.t("已撤回", "withdrawn"))))
}

// ---------------------------------------------------------------- public accounts

/// `/open/register`: registration of a public account, a person or a legal entity.
pub async fn register_page(headers: HeaderMap, p: Option<P>) -> Page {
    let lang = Lang::from_headers(&headers);
    if p.is_some() {
        return see_other("/open/me");
    }
    register_form(lang, None, &HashMap::new())
}

fn register_form(lang: Lang, error: Option<&AppError>, f: &HashMap<String, String>) -> Page {
    let v = |k: &str| f.get(k).cloned().unwrap_or_default();
    let kind = f.get("kind").map(String::as_str).unwrap_or("person");
    page(
        lang,
        None,
        "/open",
        lang.t("注册开放门户账号", "Register on the open data portal"),
        html! {
            (portal_nav(lang, ""))
            @if let Some(e) = error {
                p.notice.error role="alert" { (lang.t(&e.zh, &e.en)) }
            }
            p { (lang.t("注册后可申请有条件开放的数据、创建 API 密钥以更高额度调用接口，并查看自己的申请与下载记录。",
                "With an account you can apply for data open on application, make API keys for a higher quota and follow your applications and downloads.")) }
            form.editor #register-form method="post" action="/open/register" {
                fieldset { legend { (lang.t("注册主体", "Registering as")) }
                    label.check { input type="radio" name="kind" value="person" checked[kind == "person"]; " " (lang.t("自然人（公民身份号码）", "A person (citizen ID number)")) }
                    label.check { input type="radio" name="kind" value="legal_entity" checked[kind == "legal_entity"]; " " (lang.t("法人或其他组织（统一社会信用代码）", "A legal entity (unified social credit code)")) }
                }
                label { (lang.t("证件号码或统一社会信用代码", "Citizen ID number or credit code")) input name="identifier" value=(v("identifier")) required maxlength="18" autocomplete="off"; }
                label { (lang.t("姓名或单位名称", "Name or registered name")) input name="display_name" value=(v("display_name")) required maxlength="200" autocomplete="name"; }
                label { (lang.t("用户名（3–32 位小写字母、数字或 . _ -）", "Username (3 to 32 lower-case letters, digits, . _ -)")) input name="username" value=(v("username")) required maxlength="32" autocomplete="username"; }
                label { (lang.t("密码（至少 12 位，含字母和数字）", "Password (12 or more characters with letters and digits)")) input name="password" type="password" required maxlength="1024" autocomplete="new-password"; }
                button type="submit" { (lang.t("注册", "Register")) }
            }
            p.muted { (lang.t("证件号码仅用于身份核验，页面中只显示脱敏后的号码；实名认证通过后方可作为数据主体提出异议。",
                "The identifier is used to check who you are and is shown masked; objections as a data subject need a confirmed real name.")) }
        },
    )
}

pub async fn register_submit(
    headers: HeaderMap,
    State(state): S,
    peer: Peer,
    Form(f): Form<HashMap<String, String>>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let v = |k: &str| f.get(k).cloned().unwrap_or_default();
    let input = pdp_app::admin::RegisterInput {
        username: v("username"),
        display_name: v("display_name"),
        password: v("password"),
        kind: v("kind"),
        identifier: v("identifier"),
    };
    let addr = peer.map(|Extension(c)| c.0.ip());
    match pdp_app::admin::register(&state, &input, addr).await {
        Ok(_) => see_other("/login?next=/open/me"),
        Err(e) if matches!(e.kind, pdp_app::ErrorKind::Invalid | pdp_app::ErrorKind::Conflict) => {
            let mut shown = f.clone();
            shown.remove("password");
            let resp = register_form(lang, Some(&e), &shown)?;
            Ok((crate::error::status_of(e.kind), resp).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `/open/me`: a public account's own page: who it is (masked), its downloads and API calls of
/// open data, its API keys.
pub async fn me(State(state): S, headers: HeaderMap, Extension(p): P, Query(f): Query<Flash>) -> Page {
    let lang = Lang::from_headers(&headers);
    let mine = state
        .storage
        .list_applications(&pdp_storage::ApplicationQuery { applicant_id: Some(p.user.id), ..Default::default() })
        .await?;
    let q = pdp_storage::AuditQuery {
        actor: Some(p.user.username.clone()),
        action: Some("open.".into()),
        limit: Some(50),
        ..Default::default()
    };
    let events = state.storage.search_audit(&q).await?;
    let reads: Vec<_> =
        events.iter().filter(|e| e.event.action == "open.download" || e.event.action == "open.rows").collect();
    let hooks = pdp_app::webhooks::subscriptions(&state, &p).await?;
    let today = pdp_app::clock::today_date();
    page(
        lang,
        Some(&p),
        "/open",
        lang.t("我的开放数据", "My open data"),
        html! {
            (portal_nav(lang, ""))
            (notice(f.ok.as_deref(), lang))
            dl.meta {
                dt { (lang.t("名称", "Name")) } dd { (p.user.display_name) }
                dt { (lang.t("用户名", "Username")) } dd { (p.user.username) }
                @if let Some(c) = &p.user.claimed {
                    dt { (lang.t("登记证件", "Registered identifier")) } dd.mono { (c.masked()) }
                }
                dt { (lang.t("实名认证", "Real name")) } dd { @if p.user.real_name { (lang.t("已认证", "confirmed")) } @else { (lang.t("未认证", "not confirmed")) } }
            }
            p { a href="/api-keys" { (lang.t("管理我的 API 密钥（调用开放接口额度更高）", "My API keys (a higher quota for the open API)")) } }
            @if p.user.claimed.as_ref().or(p.user.subject.as_ref()).is_some_and(|s| s.kind() == pdp_domain::subject::SubjectKind::LegalEntity) {
                p { a href="/open/social" { (lang.t("提交社会数据，经审核后向社会开放", "Submit social data to be opened after review")) } }
            }
            h2 { (lang.t("我的申请", "My applications")) }
            @if mine.is_empty() { p.muted { (lang.t("暂无申请。有条件开放的数据可在其页面申请。", "None. Apply on the page of data open on application.")) } }
            @else {
                table #my-applications {
                    thead { tr { th scope="col" { (lang.t("编号", "No.")) } th scope="col" { (lang.t("数据", "Data")) } th scope="col" { (lang.t("状态", "Status")) } th scope="col" { (lang.t("期限", "Until")) } th scope="col" { (lang.t("操作", "Actions")) } } }
                    tbody { @for a in &mine { tr {
                        td { (a.id) }
                        td { a href=(format!("/open/datasets/{}", a.entry_id)) { span.mono { (a.dataset) } } }
                        td { (application_status(lang, a)) @if !a.reason.is_empty() { br; span.muted { (a.reason) } } }
                        td { (a.until) }
                        td {
                            @if a.status == ApplicationStatus::Refused && a.appeal.is_empty() {
                                form.inline method="post" action=(format!("/open/applications/{}/appeal", a.id)) {
                                    (csrf(&p))
                                    label { (lang.t("复核理由", "Why review")) input name="reason" required maxlength="2000"; }
                                    button type="submit" { (lang.t("申请复核", "Ask for review")) }
                                }
                            }
                            @if a.status == ApplicationStatus::Approved { a href=(format!("/open/datasets/{}", a.entry_id)) { (lang.t("下载", "Download")) } }
                            @if matches!(a.status, ApplicationStatus::Approved | ApplicationStatus::Suspended | ApplicationStatus::Revoked) {
                                details.report-form {
                                    summary { (lang.t("提交使用报告", "File a usage report")) " (" (a.reports) ")"
                                        @if report_overdue(a.status, a.until, a.reports, today) { " " span.badge.failure { (lang.t("逾期未报告", "overdue")) } } }
                                    form.editor method="post" action=(format!("/open/applications/{}/report", a.id)) {
                                        (csrf(&p))
                                        label.wide { (lang.t("使用情况", "How the data was used")) textarea name="uses" rows="2" required maxlength="2000" {} }
                                        label.wide { (lang.t("取得成效", "Outcome")) textarea name="outcome" rows="2" required maxlength="2000" {} }
                                        label.wide { (lang.t("安全事件（无则留空）", "Security incidents (empty if none)")) textarea name="incidents" rows="1" maxlength="2000" {} }
                                        button type="submit" { (lang.t("提交报告", "File the report")) }
                                    }
                                }
                            }
                        }
                    } } }
                }
            }
            h2 { (lang.t("我的订阅（Webhook）", "My webhooks")) }
            @if hooks.is_empty() {
                p.muted { (lang.t("暂无。可在开放数据集页面订阅其更新。", "None. Subscribe on an open dataset's page.")) }
            } @else {
                table #my-webhooks {
                    thead { tr { th scope="col" { (lang.t("订阅对象", "Following")) } th scope="col" { (lang.t("地址", "URL")) } th scope="col" { (lang.t("推送/失败", "Sent / failed")) } th scope="col" { (lang.t("最近一次", "Last delivery")) } th scope="col" { (lang.t("操作", "Actions")) } } }
                    tbody { @for h in &hooks { tr {
                        td { @if let Some(e) = h.entry_id { a href=(format!("/open/datasets/{e}")) { (lang.t("数据集 ", "dataset ")) (e) } } @else if let Some(o) = h.org_id { (lang.t("提供单位 ", "provider ")) (o) } }
                        td.mono { (h.url) }
                        td { (h.deliveries) " / " (h.failures) }
                        td { @if let Some(at) = h.last_at_micros { (fmt_time(at)) " · " @match h.last_status { Some(c) => { "HTTP " (c) } None => { (lang.t("无应答", "no answer")) } } @if !h.last_error.is_empty() { br; span.muted { (h.last_error) } } } }
                        td { form.inline method="post" action=(format!("/open/webhooks/{}/delete", h.id)) { (csrf(&p)) button type="submit" { (lang.t("取消订阅", "Delete")) } } }
                    } } }
                }
            }
            h2 { (lang.t("我的下载与接口调用", "My downloads and API calls")) }
            @if reads.is_empty() {
                p.muted { (lang.t("暂无记录。", "None yet.")) }
            } @else {
                table #my-reads {
                    thead { tr { th scope="col" { (lang.t("时间", "Time")) } th scope="col" { (lang.t("操作", "Action")) } th scope="col" { (lang.t("数据版本", "Release")) } } }
                    tbody { @for e in &reads { tr {
                        td { (fmt_time(e.at_micros)) }
                        td { @if e.event.action == "open.rows" { (lang.t("接口调用", "API call")) } @else { (lang.t("下载", "Download")) } }
                        td.mono { (e.event.object) }
                    } } }
                }
            }
        },
    )
}

// ---------------------------------------------------------------- requests, ratings, feeds

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct RequestsQuery {
    /// A search that found nothing, offered as the new request's title.
    pub title: String,
    pub ok: Option<String>,
}

/// `/open/requests`: every request for data with its status, the share that led to open data,
/// the form to ask (signed in), and the authority's and providers' forms.
pub async fn requests_page(State(state): S, headers: HeaderMap, p: Option<P>, Query(q): Query<RequestsQuery>) -> Page {
    let lang = Lang::from_headers(&headers);
    let p = p.map(|Extension(p)| p);
    let out = pdp_app::feedback::public_requests(&state).await?;
    let orgs = state.storage.list_orgs().await?;
    let org_name =
        |id: Option<i64>| id.and_then(|i| orgs.iter().find(|o| o.id == i)).map(|o| o.name.clone()).unwrap_or_default();
    let router = p.as_ref().is_some_and(|p| p.allows(Permission::ReviewOpenData));
    let openable = match &p {
        Some(p) if p.allows(Permission::PublishOpenData) => {
            let catalog = open::open_catalog(&state).await?;
            p.org_id.map(|o| catalog.of_org(o).cloned().collect::<Vec<_>>()).unwrap_or_default()
        }
        _ => vec![],
    };
    let share = (out.fulfilled * 100).checked_div(out.answered).unwrap_or(0);
    page(
        lang,
        p.as_ref(),
        "/open",
        lang.t("数据需求", "Data requests"),
        html! {
            (portal_nav(lang, "/open/requests"))
            (notice(q.ok.as_deref(), lang))
            div.tiles {
                div.tile { div.n { (out.requests.len()) } (lang.t("需求", "requests")) }
                div.tile { div.n { (out.answered) } (lang.t("已答复", "answered")) }
                div.tile { div.n #fulfilled-share { (share) "%" } (lang.t("答复后开放的比例", "answered with open data")) }
                @if out.overdue > 0 { div.tile.alert { div.n { (out.overdue) } (lang.t("超期未答复", "overdue")) } }
            }
            @if let Some(p) = &p {
                h2 { (lang.t("提出数据需求", "Ask for data")) }
                form.editor #request-form method="post" action="/open/requests" {
                    (csrf(p))
                    label { (lang.t("需要什么数据", "What data")) input name="title" value=(q.title) required maxlength="100"; }
                    label.wide { (lang.t("用途与说明", "What for, in detail")) textarea name="description" rows="3" required maxlength="2000" {} }
                    button type="submit" { (lang.t("提交", "Submit")) }
                }
            } @else {
                p { a href="/login?next=/open/requests" { (lang.t("登录", "Sign in")) } (lang.t(" 或 ", " or ")) a href="/open/register" { (lang.t("注册", "register")) } (lang.t(" 后提出数据需求。", " to ask for data.")) }
            }
            table #requests {
                thead { tr { th scope="col" { (lang.t("需求", "Request")) } th scope="col" { (lang.t("提出人", "By")) } th scope="col" { (lang.t("状态", "Status")) } th scope="col" { (lang.t("受理单位", "Provider")) } th scope="col" { (lang.t("答复", "Answer")) } } }
                tbody { @for r in &out.requests { tr id=(format!("request-{}", r.id)) {
                    td { strong { (r.title) } br; span.muted { (r.description) } }
                    td { (r.requester_name) br; span.muted { (fmt_time(r.created_at_micros)) } }
                    td { (lang.t(r.status.label_zh(), r.status.label_en())) @if let Some(d) = r.due_date { br; span.muted { (lang.t("期限 ", "due ")) (d) } } }
                    td { (org_name(r.org_id)) }
                    td {
                        (r.answer)
                        @if let Some(e) = r.entry_id { " " a href=(format!("/open/datasets/{e}")) { (lang.t("查看数据", "See the data")) } }
                        @if router && r.status == pdp_domain::open::RequestStatus::Submitted {
                            form.inline method="post" action=(format!("/open/requests/{}/route", r.id)) {
                                @if let Some(p) = &p { (csrf(p)) }
                                select name="org_id" aria-label=(lang.t("受理单位", "Provider")) { @for o in &orgs { option value=(o.id) { (o.name) } } }
                                button type="submit" { (lang.t("分办", "Route")) }
                            }
                        }
                        @if r.status == pdp_domain::open::RequestStatus::Routed && p.as_ref().is_some_and(|p| p.org_id == r.org_id && p.allows(Permission::PublishOpenData)) {
                            form.inline method="post" action=(format!("/open/requests/{}/answer", r.id)) {
                                @if let Some(p) = &p { (csrf(p)) }
                                select name="outcome" aria-label=(lang.t("答复结果", "Outcome")) {
                                    option value="fulfilled" { (lang.t("已开放", "Opened")) }
                                    option value="planned" { (lang.t("计划开放", "Planned")) }
                                    option value="declined" { (lang.t("不予开放", "Not opened")) }
                                }
                                select name="entry_id" aria-label=(lang.t("开放数据", "Open dataset")) {
                                    option value="" { "—" }
                                    @for d in &openable { option value=(d.entry_id) { (d.name) } }
                                }
                                input name="answer" required maxlength="2000" aria-label=(lang.t("答复", "Answer"));
                                button type="submit" { (lang.t("答复", "Answer")) }
                            }
                        }
                    }
                } } }
            }
        },
    )
}

pub async fn request_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Form(f): Form<HashMap<String, String>>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let v = |k: &str| f.get(k).cloned().unwrap_or_default();
    let input = pdp_app::feedback::RequestInput { title: v("title"), description: v("description") };
    pdp_app::feedback::submit_request(&state, &p, &input).await?;
    flash("/open/requests", lang, "需求已提交，等待分办", "submitted; it will be routed to the provider")
}

pub async fn route_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let org: i64 = f
        .get("org_id")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| AppError::bad_request("invalid_org", "请选择受理单位", "choose the provider"))?;
    pdp_app::feedback::route_request(&state, &p, id, org).await?;
    flash("/open/requests", lang, "已分办", "routed")
}

pub async fn answer_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let input = pdp_app::feedback::AnswerInput {
        outcome: f.get("outcome").cloned().unwrap_or_default(),
        entry_id: f.get("entry_id").and_then(|v| v.parse().ok()),
        answer: f.get("answer").cloned().unwrap_or_default(),
    };
    pdp_app::feedback::answer_request(&state, &p, id, &input).await?;
    flash("/open/requests", lang, "已答复", "answered")
}

pub async fn rate_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let input = pdp_app::feedback::RatingInput {
        stars: f.get("stars").and_then(|v| v.parse().ok()).unwrap_or(0),
        comment: f.get("comment").cloned().unwrap_or_default(),
    };
    pdp_app::feedback::rate(&state, &p, id, &input).await?;
    flash(&format!("/open/datasets/{id}"), lang, "评价已保存", "rating saved")
}

/// `POST /open/webhooks`: follows a dataset or provider with a webhook and shows its secret,
/// this once.
pub async fn webhook_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Form(f): Form<pdp_app::webhooks::SubscribeInput>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let out = pdp_app::webhooks::subscribe(&state, &p, &f).await?;
    page(
        lang,
        Some(&p),
        "/open",
        lang.t("订阅已创建", "Webhook created"),
        html! {
            (portal_nav(lang, ""))
            p role="status" { (lang.t("每当有新的数据版本发布，平台将以 JSON 向该地址发送 POST 请求。", "Each newly published release is posted to this URL as JSON.")) }
            dl.meta {
                dt { (lang.t("地址", "URL")) } dd.mono { (out.subscription.url) }
                dt { (lang.t("签名密钥", "Signing secret")) } dd.mono #webhook-secret { (out.secret) }
            }
            p.notice.warn { (lang.t("密钥只显示这一次，请妥善保存。每次推送的请求头 X-PDP-Signature-256 为 sha256= 加请求体以该密钥计算的 HMAC-SHA256（十六进制）；X-PDP-Delivery 标识每次推送，可据此去重。",
                "The secret is shown this once: keep it. Each delivery's X-PDP-Signature-256 header is sha256= and the hex HMAC-SHA256 of the body under it; X-PDP-Delivery names the delivery, to drop repeats.")) }
            p { a href="/open/me" { (lang.t("我的订阅 →", "My webhooks →")) } }
        },
    )
}

/// `POST /open/applications/{id}/report`: the applicant's usage report.
pub async fn report_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<pdp_domain::open::ReportInput>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    pdp_app::applications::file_report(&state, &p, id, &f).await?;
    flash("/open/me", lang, "使用报告已提交", "usage report filed")
}

/// `POST /open/webhooks/{id}/delete`: deletes one of the account's webhooks.
pub async fn webhook_delete(State(state): S, headers: HeaderMap, Extension(p): P, Path(id): Path<i64>) -> Page {
    let lang = Lang::from_headers(&headers);
    pdp_app::webhooks::unsubscribe(&state, &p, id).await?;
    flash("/open/me", lang, "订阅已取消", "webhook deleted")
}

/// An Atom feed (RFC 4287) of open datasets' releases, newest first.
fn atom(base: &str, id: &str, title: &str, datasets: &[&OpenDataset]) -> axum::response::Response {
    let rfc3339 = |micros: i64| pdp_app::admin::rfc3339(micros);
    let mut entries: Vec<(&OpenDataset, &pdp_storage::OpenRelease)> =
        datasets.iter().flat_map(|d| d.releases.iter().map(move |r| (*d, r))).collect();
    entries.sort_by_key(|(_, r)| std::cmp::Reverse(r.published_at_micros.unwrap_or(r.prepared_at_micros)));
    entries.truncate(100);
    let updated = entries
        .first()
        .map(|(_, r)| rfc3339(r.published_at_micros.unwrap_or(r.prepared_at_micros)))
        .unwrap_or_else(|| rfc3339(0));
    let body = html! {
        (PreEscaped("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"))
        feed xmlns="http://www.w3.org/2005/Atom" {
            id { (base) (id) }
            title { (title) }
            updated { (updated) }
            link rel="self" href=(format!("{base}{id}")) {}
            @for (d, r) in &entries {
                entry {
                    id { (base) "/api/v1/open/releases/" (r.id) }
                    title { (d.name) " — " (r.rows) " 条 (release " (r.id) ")" }
                    updated { (rfc3339(r.published_at_micros.unwrap_or(r.prepared_at_micros))) }
                    author { name { (d.org_name) } }
                    link rel="alternate" href=(format!("{base}/open/datasets/{}", d.entry_id)) {}
                    summary { (d.summary) }
                }
            }
        }
    };
    ([(axum::http::header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")], body.into_string()).into_response()
}

/// `/open/datasets/{id}/feed.atom`: a dataset's releases, to subscribe to its updates.
pub async fn dataset_feed(State(state): S, Path(id): Path<i64>) -> Page {
    let (d, _) = open::open_dataset(&state, id).await?;
    let name = d.name.clone();
    Ok(atom(state.base_url(), &format!("/open/datasets/{id}/feed.atom"), &name, &[&d]))
}

/// `/open/feed.atom`: the newest releases of the whole open catalog (new datasets and new
/// versions alike).
pub async fn catalog_feed(State(state): S) -> Page {
    let catalog = open::open_catalog(&state).await?;
    // Datasets come newest release first, so the newest 100 releases are among the first 100
    // datasets' releases.
    let datasets: Vec<&OpenDataset> = catalog.datasets().iter().take(100).collect();
    Ok(atom(state.base_url(), "/open/feed.atom", "开放数据 — 最新发布 / Open data: newest releases", &datasets))
}

/// A dataset as schema.org describes one (`Dataset` with its `DataDownload`s), as JSON-LD safe
/// to place in a `<script>` element.
pub fn schema_org(base: &str, d: &OpenDataset) -> String {
    let date = |micros: Option<i64>| pdp_app::admin::rfc3339(micros.unwrap_or(d.latest.prepared_at_micros));
    let first = d.releases.last().unwrap_or(&d.latest);
    let downloadable = d.open_type == OpenType::Unconditional.as_str();
    let distribution: Vec<serde_json::Value> = if downloadable {
        d.latest
            .rules
            .formats
            .iter()
            .map(|f| {
                serde_json::json!({
                    "@type": "DataDownload",
                    "encodingFormat": f.media_type().split(';').next().unwrap_or(""),
                    "contentUrl": format!("{base}/api/v1/open/releases/{}/download/{}", d.latest.id, f.as_str()),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let (topic, topic_en) = open::topic_label(&d.class, &d.item);
    let v = serde_json::json!({
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "name": d.name,
        "description": if d.summary.chars().count() >= 50 { d.summary.clone() } else { format!("{}（{}）。{} — {}", d.summary, d.org_name, topic, topic_en) },
        "url": format!("{base}/open/datasets/{}", d.entry_id),
        "identifier": d.code,
        "keywords": [topic, topic_en],
        "isAccessibleForFree": true,
        "creator": {"@type": "Organization", "name": d.org_name},
        "publisher": {"@type": "Organization", "name": d.org_name},
        "datePublished": date(first.published_at_micros),
        "dateModified": date(d.latest.published_at_micros),
        "inLanguage": "zh-CN",
        "distribution": distribution,
    });
    // `</script>` inside a string would end the element: JSON allows `<` escaped.
    v.to_string().replace('<', "\\u003c")
}

/// `/robots.txt`: the portal is for everyone to index; the staff side is not.
pub async fn robots(State(state): S) -> axum::response::Response {
    let body = format!(
        "User-agent: *\nAllow: /open\nAllow: /static/\nDisallow: /\nSitemap: {}/sitemap.xml\n",
        state.base_url()
    );
    ([(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// URLs per sitemap file (the protocol allows 50 000).
const SITEMAP_URLS: usize = 10_000;

fn xml(body: Markup) -> axum::response::Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}", body.into_string()),
    )
        .into_response()
}

/// `/sitemap.xml`: an index of the portal's sitemaps, one per 10 000 datasets.
pub async fn sitemap_index(State(state): S) -> Page {
    let catalog = open::open_catalog(&state).await?;
    let files = catalog.datasets().len().div_ceil(SITEMAP_URLS).max(1);
    let base = state.base_url();
    Ok(xml(html! {
        sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" {
            @for n in 0..files { sitemap { loc { (base) "/sitemaps/" (n) ".xml" } } }
        }
    }))
}

/// `/sitemaps/{n}.xml`: the portal's pages (in the first) and datasets `n`×10 000 onwards, each
/// with the date of its newest release.
pub async fn sitemap(State(state): S, Path(file): Path<String>) -> Page {
    let n: usize = file
        .strip_suffix(".xml")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| AppError::not_found(&format!("sitemap {file}")))?;
    let catalog = open::open_catalog(&state).await?;
    let datasets = catalog.datasets();
    if n > 0 && n * SITEMAP_URLS >= datasets.len() {
        return Err(AppError::not_found(&format!("sitemap {file}")).into());
    }
    let base = state.base_url();
    let date =
        |d: &OpenDataset| pdp_app::admin::rfc3339(d.latest.published_at_micros.unwrap_or(d.latest.prepared_at_micros));
    Ok(xml(html! {
        urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" {
            @if n == 0 {
                @for page in ["/open", "/open/datasets", "/open/requests", "/open/stats", "/open/announcements"] {
                    url { loc { (base) (page) } }
                }
            }
            @for d in datasets.iter().skip(n * SITEMAP_URLS).take(SITEMAP_URLS) {
                url { loc { (base) "/open/datasets/" (d.entry_id) } lastmod { (date(d)) } }
            }
        }
    }))
}

/// `/open/orgs/{id}/feed.atom`: an organisation's open data releases.
pub async fn org_feed(State(state): S, Path(id): Path<i64>) -> Page {
    let org = state.storage.get_org(id).await?.ok_or_else(|| AppError::not_found(&format!("organisation {id}")))?;
    let catalog = open::open_catalog(&state).await?;
    let datasets: Vec<&OpenDataset> = catalog.of_org(id).collect();
    Ok(atom(state.base_url(), &format!("/open/orgs/{id}/feed.atom"), &format!("{} — 开放数据", org.name), &datasets))
}

/// `/open/stats`: the use of open data (views, downloads, API calls) day by day, per
/// organisation and per dataset, with each dataset's metadata quality score.
pub async fn stats_page(State(state): S, headers: HeaderMap, p: Option<P>) -> Page {
    let lang = Lang::from_headers(&headers);
    let p = p.map(|Extension(p)| p);
    let st = open::open_stats(&state).await?;
    let days: Vec<&str> = st.by_day.iter().map(|u| u.day.as_str()).collect();
    let series = |zh: &str, en: &str, f: &dyn Fn(&pdp_storage::Usage) -> i64| serde_json::json!({"name": lang.t(zh, en), "type": "line", "data": st.by_day.iter().map(f).collect::<Vec<_>>()});
    let chart = serde_json::json!({
        "tooltip": {"trigger": "axis"},
        "legend": {},
        "grid": {"left": 50, "right": 20, "top": 40, "bottom": 30},
        "xAxis": {"type": "category", "data": days},
        "yAxis": {"type": "value"},
        "series": [
            series("浏览", "Views", &|u| u.views),
            series("下载", "Downloads", &|u| u.downloads),
            series("接口调用", "API calls", &|u| u.api_calls),
        ]
    })
    .to_string();
    page(
        lang,
        p.as_ref(),
        "/open",
        lang.t("开放数据统计", "Open data statistics"),
        html! {
            (portal_nav(lang, "/open/stats"))
            div.tiles {
                div.tile { div.n #stat-views { (st.views) } (lang.t("浏览", "views")) }
                div.tile { div.n #stat-downloads { (st.downloads) } (lang.t("下载", "downloads")) }
                div.tile { div.n #stat-api { (st.api_calls) } (lang.t("接口调用", "API calls")) }
            }
            h2 { (lang.t("近 30 天", "The last 30 days")) }
            div.chart data-echarts=(chart) style="height:260px" role="img" aria-label=(lang.t("近 30 天的浏览、下载和接口调用", "Views, downloads and API calls of the last 30 days")) {}
            details { summary { (lang.t("图表数据", "Chart data")) }
                table { thead { tr { th scope="col" { (lang.t("日期", "Day")) } th scope="col" { (lang.t("浏览", "Views")) } th scope="col" { (lang.t("下载", "Downloads")) } th scope="col" { (lang.t("接口调用", "API calls")) } } }
                    tbody { @for u in &st.by_day { tr { td { (u.day) } td { (u.views) } td { (u.downloads) } td { (u.api_calls) } } } } }
            }
            h2 { (lang.t("各单位", "By organisation")) }
            table #org-stats {
                thead { tr { th scope="col" { (lang.t("单位", "Organisation")) } th scope="col" { (lang.t("开放数据", "Datasets")) } th scope="col" { (lang.t("版本", "Releases")) } th scope="col" { (lang.t("浏览", "Views")) } th scope="col" { (lang.t("下载", "Downloads")) } th scope="col" { (lang.t("接口调用", "API calls")) } th scope="col" { (lang.t("平均质量分", "Mean quality")) } } }
                tbody { @for o in &st.orgs { tr {
                    td { (o.org_name) " " a href=(format!("/open/orgs/{}/feed.atom", o.org_id)) type="application/atom+xml" { "Atom" } }
                    td { (o.datasets) } td { (o.releases) } td { (o.views) } td { (o.downloads) } td { (o.api_calls) } td { (o.mean_quality) }
                } } }
            }
            h2 { (lang.t("各数据集", "By dataset")) }
            p.muted { (lang.t("质量分 = 元数据完整度 40% + 文件可用 30% + 按时更新 30%", "Quality = metadata completeness 40% + file available 30% + updated on time 30%")) }
            table #dataset-stats {
                thead { tr { th scope="col" { (lang.t("数据", "Data")) } th scope="col" { (lang.t("单位", "Provider")) } th scope="col" { (lang.t("浏览", "Views")) } th scope="col" { (lang.t("下载", "Downloads")) } th scope="col" { (lang.t("接口调用", "API calls")) } th scope="col" { (lang.t("质量分", "Quality")) } } }
                tbody { @for s in st.datasets.iter().take(100) { tr {
                    td { a href=(format!("/open/datasets/{}", s.entry_id)) { (s.name) } }
                    td { (s.org_name) } td { (s.views) } td { (s.downloads) } td { (s.api_calls) }
                    td title=(format!("{} {} · {} {} · {} {}", lang.t("完整度", "completeness"), s.quality.completeness, lang.t("文件", "file"), s.quality.links, lang.t("及时", "timely"), s.quality.timeliness)) { (s.quality.score) }
                } } }
            }
        },
    )
}

/// `/open/review-list`: the yearly review list of restricted entries with their basis.
pub async fn review_list_page(State(state): S, headers: HeaderMap, p: Option<P>) -> Page {
    let lang = Lang::from_headers(&headers);
    let p = p.map(|Extension(p)| p);
    let list = open::review_list(&state).await?;
    let total = (list.unconditional + list.on_application + list.not_open).max(1);
    page(
        lang,
        p.as_ref(),
        "/open",
        lang.t("开放限制年度复核清单", "Yearly review of restricted data"),
        html! {
            (portal_nav(lang, ""))
            p { (lang.t("公共数据以开放为原则、不开放为例外。以下为有条件开放和不予开放的目录条目及其依据，每年复核，逐步扩大开放。",
                "Public data is open by default. These catalog entries are open on application or not open, each with its basis; they are reviewed every year so that opening widens.")) }
            div.tiles {
                div.tile { div.n #share-unconditional { (list.unconditional * 100 / total) "%" } (lang.t("无条件开放", "unconditional")) }
                div.tile { div.n { (list.on_application) } (lang.t("有条件开放", "on application")) }
                div.tile { div.n { (list.not_open) } (lang.t("不予开放", "not open")) }
            }
            table #review-list {
                thead { tr { th scope="col" { (lang.t("资源", "Resource")) } th scope="col" { (lang.t("提供单位", "Provider")) } th scope="col" { (lang.t("开放类型", "Open type")) } th scope="col" { (lang.t("分级", "Grade")) } th scope="col" { (lang.t("依据", "Basis")) } th scope="col" { (lang.t("条件", "Conditions")) } } }
                tbody { @for e in &list.entries { tr {
                    td { (e.name) br; span.mono.muted { (e.code) } }
                    td { (e.org_name) }
                    td { (open_type_label(lang, &e.open_type)) }
                    td { (e.grade) }
                    td { (e.legal_basis) }
                    td { (e.conditions) }
                } } }
            }
        },
    )
}
