//! The catalog pages: browsing by category and by organisation, entry detail with history and
//! diffs, the editor with inline validation, the review queue, derived catalogs, deadlines and
//! change events, the information system registry, search with facets, and import.
//!
//! Every page calls the same actions as the JSON API (`pdp_app::catalog::do_*`), so both enforce
//! the same scope and rules; this module only parses forms and renders HTML.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use pdp_domain::catalog::{
    CATEGORY_ITEMS, CategoryClass, DataType, DerivedCatalog, EntryBody, Field, Format, Frequency, Grade,
    IdentifierRole, MaskRule, OpenAttrs, OpenType, ShareAttrs, ShareMode, ShareType, VersionStatus, WorkflowAction,
    item_label,
};
use pdp_domain::roles::Permission;
use pdp_storage::Organisation;
use pdp_storage::catalog::{EntryVersion, SystemDataItem};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Principal, urlencode};
use crate::error::AppError;
use crate::error::ViolationOut;
use crate::error::{ErrorKind, status_of};
use crate::extract::Form;
use crate::i18n::Lang;
use crate::layout::{Flash, Page, csrf, notice, page, see_other};
use pdp_app::catalog::{self as cat, ChangeInput, ListParams, ReviewInput, SearchParams, SystemInput};

type S = State<Arc<AppState>>;
type P = Extension<Principal>;

fn orgs_by_id(orgs: Vec<Organisation>) -> BTreeMap<i64, Organisation> {
    orgs.into_iter().map(|o| (o.id, o)).collect()
}

/// The catalog's own navigation, shown on every catalog page.
fn subnav(lang: Lang, p: &Principal, current: &str) -> Markup {
    let items: &[(&str, &str, &str, Permission)] = &[
        ("/catalog", "浏览", "Browse", Permission::ViewCatalog),
        ("/catalog/search", "检索", "Search", Permission::ViewCatalog),
        ("/catalog/new", "新建条目", "New entry", Permission::EditCatalog),
        ("/catalog/import", "导入", "Import", Permission::EditCatalog),
        ("/catalog/review", "审核队列", "Review queue", Permission::ReviewCatalog),
        ("/catalog/derived/share", "派生目录", "Derived catalogs", Permission::ViewCatalog),
        ("/catalog/deadlines", "更新期限", "Update deadlines", Permission::ViewCatalog),
        ("/catalog/systems", "信息系统", "Information systems", Permission::ViewCatalog),
    ];
    html! {
        nav.sub aria-label=(lang.t("目录导航", "Catalog")) {
            @for (href, zh, en, perm) in items {
                @if p.allows(*perm) {
                    a href=(href) aria-current=[(current == *href).then_some("page")] { (lang.t(zh, en)) }
                }
            }
        }
    }
}

fn status_badge(lang: Lang, s: VersionStatus) -> Markup {
    html! { span class=(format!("badge st-{}", s.as_str())) { (lang.t(s.label_zh(), s.label_en())) } }
}

fn violations_list(lang: Lang, v: &[ViolationOut]) -> Markup {
    html! {
        @if !v.is_empty() {
            div.notice.error role="alert" {
                p { (lang.t("请修正以下问题：", "Please fix the following:")) }
                ul { @for x in v { li data-path=(x.path) data-code=(x.code) {
                    @if let Some(r) = x.row { (lang.t("第 ", "Row ")) (r) (lang.t(" 行 ", " ")) }
                    @if let Some(c) = &x.column { "[" (c) "] " }
                    (lang.t(&x.message_zh, &x.message_en)) " "
                    span.muted.mono { (x.code) }
                } } }
            }
        }
    }
}

fn entries_table(lang: Lang, rows: &[EntryVersion], orgs: &BTreeMap<i64, Organisation>) -> Markup {
    html! {
        table {
            thead { tr {
                th { (lang.t("资源代码", "Code")) } th { (lang.t("资源名称", "Name")) } th { (lang.t("提供单位", "Provider")) }
                th { (lang.t("共享", "Share")) } th { (lang.t("开放", "Open")) } th { (lang.t("分级", "Grade")) }
                th { (lang.t("状态", "State")) } th { (lang.t("更新期限", "Update due")) }
            } }
            tbody { @for e in rows { tr {
                td.mono { (e.code) }
                td { a href=(format!("/catalog/entries/{}", e.entry_id)) { (e.body.name) } }
                td { (orgs.get(&e.org_id).map(|o| o.name.as_str()).unwrap_or("")) }
                td { (lang.t(e.body.share.share_type.label_zh(), e.body.share.share_type.label_en())) }
                td { (lang.t(e.body.open.open_type.label_zh(), e.body.open.open_type.label_en())) }
                td { (lang.t(e.body.grade().label_zh(), e.body.grade().label_en())) }
                td { (status_badge(lang, e.status)) " v" (e.version) }
                td { @if let Some(d) = &e.update_due { span.warn { (d) } } }
            } } }
        }
        @if rows.is_empty() { p.muted { (lang.t("没有条目。", "No entries.")) } }
    }
}

// ---------------------------------------------------------------- browse

#[derive(Debug, Default, Deserialize)]
pub struct BrowseQuery {
    class: Option<String>,
    item: Option<String>,
    org_id: Option<i64>,
    view: Option<String>,
    ok: Option<String>,
}

pub async fn browse(State(state): S, headers: HeaderMap, Extension(p): P, Query(q): Query<BrowseQuery>) -> Page {
    let lang = Lang::from_headers(&headers);
    let view = q.view.clone().unwrap_or_else(|| "latest".into());
    let all = cat::do_list_entries(
        &state,
        &p,
        &ListParams { view: Some(view.clone()), limit: Some(5000), ..Default::default() },
    )
    .await?;
    let orgs = orgs_by_id(state.storage.list_orgs().await?);
    let class = q.class.as_deref().and_then(CategoryClass::parse);
    let rows: Vec<EntryVersion> = all
        .iter()
        .filter(|e| class.is_none_or(|c| e.body.class == c))
        .filter(|e| q.item.as_deref().is_none_or(|i| i.is_empty() || e.body.item == i))
        .filter(|e| q.org_id.is_none_or(|o| e.org_id == o))
        .cloned()
        .collect();
    let count = |c: CategoryClass, item: Option<&str>| {
        all.iter().filter(|e| e.body.class == c && item.is_none_or(|i| e.body.item == i)).count()
    };
    let mut by_org: BTreeMap<i64, usize> = BTreeMap::new();
    for e in &all {
        *by_org.entry(e.org_id).or_default() += 1;
    }
    let link = |class: Option<&str>, item: Option<&str>, org: Option<i64>| {
        let mut s = format!("/catalog?view={view}");
        if let Some(c) = class {
            s.push_str(&format!("&class={c}"));
        }
        if let Some(i) = item {
            s.push_str(&format!("&item={i}"));
        }
        if let Some(o) = org {
            s.push_str(&format!("&org_id={o}"));
        }
        s
    };
    page(
        lang,
        Some(&p),
        "/catalog",
        lang.t("资源目录", "Resource catalog"),
        html! {
            (subnav(lang, &p, "/catalog"))
            (notice(q.ok.as_deref(), lang))
            div.split {
                aside.tree {
                    p {
                        a href="/catalog?view=latest" aria-current=[(view == "latest").then_some("page")] { (lang.t("工作视图", "Working view")) }
                        " · "
                        a href="/catalog?view=published" aria-current=[(view == "published").then_some("page")] { (lang.t("总目录（已发布）", "Master catalog (published)")) }
                    }
                    h3 { (lang.t("按分类", "By category")) }
                    ul { @for c in CategoryClass::ALL {
                        li {
                            a href=(link(Some(c.as_str()), None, None)) { (lang.t(c.label_zh(), c.label_en())) " (" (count(*c, None)) ")" }
                            ul { @for (k, code, zh, en) in CATEGORY_ITEMS { @if k == c {
                                li { a href=(link(Some(c.as_str()), Some(code), None)) { (code) " " (lang.t(zh, en)) " (" (count(*c, Some(code))) ")" } }
                            } } }
                        }
                    } }
                    h3 { (lang.t("按单位", "By organisation")) }
                    ul { @for (id, n) in &by_org {
                        li { a href=(link(None, None, Some(*id))) { (orgs.get(id).map(|o| o.name.as_str()).unwrap_or("?")) " (" (n) ")" } }
                    } }
                }
                section {
                    p.muted { (lang.t("共 ", "")) (rows.len()) (lang.t(" 条", " entries")) " · "
                        a href=(format!("/api/v1/catalog/export?view={view}&format=xlsx")) { (lang.t("导出 XLSX", "Export XLSX")) } " · "
                        a href=(format!("/api/v1/catalog/export?view={view}&format=csv")) { (lang.t("导出 CSV", "Export CSV")) }
                    }
                    (entries_table(lang, &rows, &orgs))
                }
            }
        },
    )
}

// ---------------------------------------------------------------- detail

#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    from: Option<i64>,
    to: Option<i64>,
    version: Option<i64>,
    ok: Option<String>,
}

pub async fn detail(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Query(q): Query<DetailQuery>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let latest = cat::visible_entry(&state, &p, id).await?;
    let history = cat::do_history(&state, &p, id).await?;
    let shown = match q.version {
        Some(v) => history.iter().find(|h| h.version == v).cloned().unwrap_or_else(|| latest.clone()),
        None => latest.clone(),
    };
    let orgs = orgs_by_id(state.storage.list_orgs().await?);
    let diff = match (q.from, q.to) {
        (Some(f), Some(t)) => Some((f, t, cat::do_diff(&state, &p, id, f, t).await?)),
        _ => None,
    };
    let own = p.org_id == Some(latest.org_id) && p.allows(Permission::EditCatalog);
    let reviewable = latest.status == VersionStatus::Submitted
        && p.allows(Permission::ReviewCatalog)
        && cat::review_scope(&state, &p).await?.contains(latest.org_id)
        && latest.author_id != Some(p.user.id);
    // A pending request to withdraw the published entry, with what approval would do.
    let withdrawal = match latest.published_version {
        Some(_) => pdp_app::withdrawals::pending_of(&state, id).await?,
        None => None,
    };
    let may_decide_withdrawal = withdrawal.as_ref().is_some_and(|w| w.w.requested_by != Some(p.user.id))
        && p.allows(Permission::ReviewCatalog)
        && cat::review_scope(&state, &p).await?.contains(latest.org_id);
    let b = &shown.body;
    let title = b.name.clone();
    page(
        lang,
        Some(&p),
        "/catalog",
        &title,
        html! {
            (subnav(lang, &p, ""))
            (notice(q.ok.as_deref(), lang))
            section.card {
                p {
                    span.mono { (shown.code) } " · " (status_badge(lang, shown.status)) " " (lang.t("版本 ", "version ")) (shown.version)
                    @if let Some(pv) = latest.published_version { " · " (lang.t("现行版本 ", "in force: v")) (pv) }
                    @if let Some(d) = &latest.update_due { " · " span.warn { (lang.t("更新期限 ", "update due ")) (d) } }
                }
                @if !shown.review_reason.is_empty() { p.notice.error { (lang.t("退回理由：", "Reason for rejection: ")) (shown.review_reason) } }
                dl.meta {
                    dt { (lang.t("资源摘要", "Summary")) } dd { (b.summary) }
                    dt { (lang.t("提供单位", "Provider")) } dd { (orgs.get(&shown.org_id).map(|o| o.name.as_str()).unwrap_or("")) }
                    dt { (lang.t("资源分类", "Category")) } dd { (lang.t(b.class.label_zh(), b.class.label_en())) " / " (item_label(b.class, &b.item).map(|(zh, en)| lang.t(zh, en)).unwrap_or(&b.item)) }
                    dt { (lang.t("资源格式", "Format")) } dd { (lang.t(b.format.label_zh(), b.format.label_en())) }
                    dt { (lang.t("更新周期", "Frequency")) } dd { (lang.t(b.frequency.label_zh(), b.frequency.label_en())) }
                    dt { (lang.t("分级（就高）", "Grade (highest field)")) } dd { (lang.t(b.grade().label_zh(), b.grade().label_en())) }
                    dt { (lang.t("共享", "Sharing")) } dd {
                        (lang.t(b.share.share_type.label_zh(), b.share.share_type.label_en()))
                        @for m in &b.share.modes { " " span.badge { (lang.t(m.label_zh(), m.label_en())) } }
                        @if !b.share.conditions.is_empty() { br; (lang.t("条件：", "Conditions: ")) (b.share.conditions) }
                        @if !b.share.legal_basis.is_empty() { br; (lang.t("依据：", "Legal basis: ")) (b.share.legal_basis) }
                    }
                    dt { (lang.t("开放", "Opening")) } dd {
                        (lang.t(b.open.open_type.label_zh(), b.open.open_type.label_en()))
                        @if !b.open.conditions.is_empty() { br; (lang.t("条件：", "Conditions: ")) (b.open.conditions) }
                        @if !b.open.legal_basis.is_empty() { br; (lang.t("依据：", "Legal basis: ")) (b.open.legal_basis) }
                    }
                    @if b.purchased { dt { (lang.t("采购数据", "Purchased data")) } dd { (b.purchased_from) } }
                    @if !b.usage_requirements.is_empty() { dt { (lang.t("使用要求", "Usage requirements")) } dd { (b.usage_requirements) } }
                    @if !b.related.is_empty() { dt { (lang.t("关联资源", "Related")) } dd.mono { (b.related.join("、")) } }
                }
            }
            h2 { (lang.t("信息项", "Fields")) }
            table {
                thead { tr { th { (lang.t("名称", "Name")) } th { (lang.t("中文名", "Label")) } th { (lang.t("类型", "Type")) } th { (lang.t("分级", "Grade")) } th { (lang.t("个人信息", "Personal")) } th { (lang.t("标识", "Identifier")) } th { (lang.t("脱敏", "Masking")) } th { (lang.t("采集必要性", "Why needed")) } } }
                tbody { @for f in &b.fields { tr {
                    td.mono { (f.name) @if b.identifier_field.as_deref() == Some(f.name.as_str()) { " ★" } }
                    td { (f.label) }
                    td { (lang.t(f.data_type.label_zh(), f.data_type.label_en())) }
                    td { (lang.t(f.grade.label_zh(), f.grade.label_en())) }
                    td { @if f.personal { (lang.t("是", "yes")) } }
                    td { @if f.identifier != IdentifierRole::None { (lang.t(f.identifier.label_zh(), f.identifier.label_en())) } }
                    td { @if f.mask != MaskRule::None { (lang.t(f.mask.label_zh(), f.mask.label_en())) } }
                    td { (f.purpose) }
                } } }
            }
            @if let Some(w) = &withdrawal {
                div.notice.warn #withdrawal-pending role="status" {
                    (lang.t("撤销发布申请待审核：", "Withdrawal pending review: ")) (w.w.reason)
                    br;
                    (lang.t("批准后将撤销 ", "Approval revokes ")) (w.effects.revoked_grants.len()) (lang.t(" 个共享授权，驳回 ", " grant(s) and refuses "))
                    (w.effects.refused_requests.len()) (lang.t(" 个未决申请。", " open request(s)."))
                }
                @if may_decide_withdrawal {
                    @for (action, zh, en) in [("approve", "同意撤销", "Approve"), ("reject", "不同意", "Reject")] {
                        form.inline method="post" action=(format!("/catalog/withdrawals/{}/{action}", w.w.id)) {
                            (csrf(&p))
                            input name="reason" required placeholder=(lang.t("审核意见", "Reason")) aria-label=(lang.t("审核意见", "Reason"));
                            button type="submit" { (lang.t(zh, en)) }
                        }
                    }
                }
            }
            h2 { (lang.t("操作", "Actions")) }
            div.actions {
                @if own && latest.status != VersionStatus::Submitted {
                    a.button href=(format!("/catalog/entries/{id}/edit")) { (lang.t("编辑", "Edit")) }
                }
                @if own && latest.status.editable() {
                    (step_form(lang, &p, id, latest.version, WorkflowAction::Submit, false))
                }
                @if own && latest.status == VersionStatus::Submitted {
                    (step_form(lang, &p, id, latest.version, WorkflowAction::Withdraw, false))
                }
                @if reviewable {
                    (step_form(lang, &p, id, latest.version, WorkflowAction::Approve, false))
                    (step_form(lang, &p, id, latest.version, WorkflowAction::Reject, true))
                }
                @if own && latest.published_version.is_some() && withdrawal.is_none() {
                    form.inline #withdrawal-form method="post" action=(format!("/catalog/entries/{id}/withdrawal")) {
                        (csrf(&p))
                        input name="reason" required placeholder=(lang.t("撤销发布的理由", "Why withdraw")) aria-label=(lang.t("撤销发布的理由", "Why withdraw"));
                        button.danger type="submit" { (lang.t("申请撤销发布", "Ask to withdraw")) }
                    }
                }
                @if own && latest.published_version.is_none() {
                    form method="post" action=(format!("/catalog/entries/{id}/delete")) {
                        (csrf(&p))
                        button.danger type="submit" data-confirm=(lang.t("确定删除此未发布条目？", "Delete this unpublished entry?")) { (lang.t("删除", "Delete")) }
                    }
                }
            }
            h2 { (lang.t("版本历史", "History")) }
            table {
                thead { tr { th { (lang.t("版本", "Version")) } th { (lang.t("状态", "State")) } th { (lang.t("理由", "Reason")) } th {} } }
                tbody { @for (i, h) in history.iter().enumerate() { tr {
                    td { a href=(format!("/catalog/entries/{id}?version={}", h.version)) { "v" (h.version) } }
                    td { (status_badge(lang, h.status)) }
                    td { (h.review_reason) }
                    td { @if i > 0 { a href=(format!("/catalog/entries/{id}?from={}&to={}", history[i - 1].version, h.version)) { (lang.t("与上一版比较", "Compare with previous")) } } }
                } } }
            }
            @if let Some((f, t, changes)) = diff {
                h2 { (lang.t("差异", "Differences")) " v" (f) " → v" (t) }
                table.diff {
                    thead { tr { th { (lang.t("项目", "Item")) } th { (lang.t("原值", "Before")) } th { (lang.t("新值", "After")) } } }
                    tbody { @for c in &changes { tr {
                        td.mono { (c.path) }
                        td.del { (c.old.clone().unwrap_or_default()) }
                        td.ins { (c.new.clone().unwrap_or_default()) }
                    } } }
                }
                @if changes.is_empty() { p.muted { (lang.t("两个版本内容相同。", "The versions are identical.")) } }
            }
        },
    )
}

fn step_form(lang: Lang, p: &Principal, id: i64, version: i64, action: WorkflowAction, reason: bool) -> Markup {
    html! {
        form.inline method="post" action=(format!("/catalog/entries/{id}/{}", action.as_str())) {
            (csrf(p))
            input type="hidden" name="version" value=(version);
            @if reason { input name="reason" required placeholder=(lang.t("退回理由", "Reason")) aria-label=(lang.t("退回理由", "Reason")); }
            button type="submit" name="action" value=(action.as_str()) { (lang.t(action.label_zh(), action.label_en())) }
        }
    }
}

async fn step(state: Arc<AppState>, p: Principal, id: i64, action: WorkflowAction, input: ReviewInput) -> Page {
    let e = cat::do_transition(&state, &p, id, action, input).await?;
    see_other(&format!("/catalog/entries/{id}?ok={}", urlencode(e.status.label_zh())))
}

pub async fn submit(State(state): S, Extension(p): P, Path(id): Path<i64>, Form(f): Form<ReviewInput>) -> Page {
    step(state, p, id, WorkflowAction::Submit, f).await
}

pub async fn withdraw(State(state): S, Extension(p): P, Path(id): Path<i64>, Form(f): Form<ReviewInput>) -> Page {
    step(state, p, id, WorkflowAction::Withdraw, f).await
}

pub async fn approve(State(state): S, Extension(p): P, Path(id): Path<i64>, Form(f): Form<ReviewInput>) -> Page {
    step(state, p, id, WorkflowAction::Approve, f).await
}

pub async fn reject(State(state): S, Extension(p): P, Path(id): Path<i64>, Form(f): Form<ReviewInput>) -> Page {
    step(state, p, id, WorkflowAction::Reject, f).await
}

pub async fn delete(State(state): S, Extension(p): P, Path(id): Path<i64>) -> Page {
    cat::do_delete_entry(&state, &p, id).await?;
    see_other(&format!("/catalog?ok={}", urlencode("已删除")))
}

// ---------------------------------------------------------------- editor

/// The catalog editor's form. Field rows are parallel lists (`f_name`, `f_label`…), one value
/// per row since every control of a row always submits. The enumerations arrive as their codes
/// and [`body_from_form`] parses them, so that an unknown code is answered with the field's name.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EntryForm {
    f_name: Vec<String>,
    f_label: Vec<String>,
    f_type: Vec<String>,
    f_grade: Vec<String>,
    f_personal: Vec<String>,
    f_identifier: Vec<String>,
    f_mask: Vec<String>,
    f_purpose: Vec<String>,
    f_desc: Vec<String>,
    name: String,
    summary: String,
    class: String,
    /// `class:item`: the select lists every class's items.
    item: String,
    format: String,
    frequency: String,
    release_date: String,
    related: String,
    source_system_id: Option<i64>,
    purchased: String,
    purchased_from: String,
    collecting_dept: String,
    approving_dept: String,
    usage_requirements: String,
    identifier_field: String,
    share_type: String,
    share_conditions: String,
    modes: Vec<String>,
    share_legal_basis: String,
    open_type: String,
    open_conditions: String,
    open_legal_basis: String,
}

/// The entry the editor's form describes; rows without a name and label are blank rows and
/// ignored.
pub fn body_from_form(f: &EntryForm) -> Result<EntryBody, AppError> {
    fn pick<T: Copy>(v: &str, parse: fn(&str) -> Option<T>, what: &str) -> Result<T, AppError> {
        parse(v).ok_or_else(|| {
            AppError::bad_request("invalid_input", format!("“{what}”的值无效：{v}"), format!("invalid {what}: {v}"))
        })
    }
    fn get(v: &[String], i: usize) -> &str {
        v.get(i).map_or("", |s| s.trim())
    }
    let mut fields = Vec::new();
    for i in 0..f.f_name.len() {
        let (name, label) = (get(&f.f_name, i), get(&f.f_label, i));
        if name.is_empty() && label.is_empty() {
            continue;
        }
        fields.push(Field {
            name: name.into(),
            label: label.into(),
            data_type: pick(get(&f.f_type, i), DataType::parse, "数据类型 data type")?,
            description: get(&f.f_desc, i).into(),
            grade: pick(get(&f.f_grade, i), Grade::parse, "分级 grade")?,
            personal: get(&f.f_personal, i) == "1",
            identifier: pick(get(&f.f_identifier, i), IdentifierRole::parse, "标识 identifier")?,
            mask: pick(get(&f.f_mask, i), MaskRule::parse, "脱敏 masking")?,
            purpose: get(&f.f_purpose, i).into(),
            rules: Default::default(),
        });
    }
    let item = f.item.split_once(':').map_or(f.item.as_str(), |(_, i)| i);
    Ok(EntryBody {
        name: f.name.trim().into(),
        summary: f.summary.trim().into(),
        class: pick(&f.class, CategoryClass::parse, "资源分类 class")?,
        item: item.into(),
        format: pick(&f.format, Format::parse, "资源格式 format")?,
        frequency: pick(&f.frequency, Frequency::parse, "更新周期 frequency")?,
        release_date: f.release_date.trim().into(),
        related: f
            .related
            .split(['、', ',', '，', ' ', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        source_system_id: f.source_system_id,
        purchased: f.purchased == "1",
        purchased_from: f.purchased_from.trim().into(),
        collecting_dept: f.collecting_dept.trim().into(),
        approving_dept: f.approving_dept.trim().into(),
        usage_requirements: f.usage_requirements.trim().into(),
        fields,
        identifier_field: Some(f.identifier_field.trim().to_string()).filter(|s| !s.is_empty()),
        share: ShareAttrs {
            share_type: pick(&f.share_type, ShareType::parse, "共享类型 share type")?,
            conditions: f.share_conditions.trim().into(),
            modes: f.modes.iter().filter_map(|m| ShareMode::parse(m)).collect(),
            legal_basis: f.share_legal_basis.trim().into(),
        },
        open: OpenAttrs {
            open_type: pick(&f.open_type, OpenType::parse, "开放类型 open type")?,
            conditions: f.open_conditions.trim().into(),
            legal_basis: f.open_legal_basis.trim().into(),
        },
    })
}

fn blank_body() -> EntryBody {
    EntryBody {
        name: String::new(),
        summary: String::new(),
        class: CategoryClass::Department,
        item: "01".into(),
        format: Format::Database,
        frequency: Frequency::Monthly,
        release_date: String::new(),
        related: vec![],
        source_system_id: None,
        purchased: false,
        purchased_from: String::new(),
        collecting_dept: String::new(),
        approving_dept: String::new(),
        usage_requirements: String::new(),
        fields: vec![],
        identifier_field: None,
        share: ShareAttrs::default(),
        open: OpenAttrs::default(),
    }
}

macro_rules! options {
    ($lang:expr, $ty:ty, $selected:expr) => {
        html! { @for v in <$ty>::ALL { option value=(v.as_str()) selected[*v == $selected] { ($lang.t(v.label_zh(), v.label_en())) } } }
    };
}

fn field_row(lang: Lang, f: Option<&Field>) -> Markup {
    let blank = Field {
        name: String::new(),
        label: String::new(),
        data_type: DataType::Text,
        description: String::new(),
        grade: Grade::L1,
        personal: false,
        identifier: IdentifierRole::None,
        mask: MaskRule::None,
        purpose: String::new(),
        rules: Default::default(),
    };
    let f = f.unwrap_or(&blank);
    html! {
        tr {
            td { input.mono name="f_name" value=(f.name) pattern="[a-z][a-z0-9_]*" aria-label=(lang.t("信息项名称", "Field name")); }
            td { input name="f_label" value=(f.label) aria-label=(lang.t("中文名", "Label")); }
            td { select name="f_type" aria-label=(lang.t("数据类型", "Data type")) { (options!(lang, DataType, f.data_type)) } }
            td { select name="f_grade" aria-label=(lang.t("分级", "Grade")) { (options!(lang, Grade, f.grade)) } }
            td { select name="f_personal" aria-label=(lang.t("个人信息", "Personal")) {
                option value="0" selected[!f.personal] { (lang.t("否", "no")) }
                option value="1" selected[f.personal] { (lang.t("是", "yes")) }
            } }
            td { select name="f_identifier" aria-label=(lang.t("标识类型", "Identifier")) { (options!(lang, IdentifierRole, f.identifier)) } }
            td { select name="f_mask" aria-label=(lang.t("脱敏规则", "Masking")) { (options!(lang, MaskRule, f.mask)) } }
            td { input name="f_purpose" value=(f.purpose) aria-label=(lang.t("采集必要性", "Why needed")); }
            td { input name="f_desc" value=(f.description) aria-label=(lang.t("描述", "Description")); }
        }
    }
}

fn editor(lang: Lang, p: &Principal, action: &str, b: &EntryBody, violations: &[ViolationOut]) -> Markup {
    let selected_item = format!("{}:{}", b.class.as_str(), b.item);
    html! {
        (subnav(lang, p, if action == "/catalog/new" { "/catalog/new" } else { "" }))
        div #violations { (violations_list(lang, violations)) }
        form.editor method="post" action=(action) hx-post="/catalog/validate" hx-trigger="change delay:300ms" hx-target="#violations" hx-swap="innerHTML" {
            (csrf(p))
            fieldset {
                legend { (lang.t("基本信息", "Entry")) }
                div.grid {
                    label { (lang.t("资源名称", "Name")) input name="name" value=(b.name) required; }
                    label { (lang.t("资源分类", "Class")) select name="class" { (options!(lang, CategoryClass, b.class)) } }
                    label { (lang.t("类目", "Item")) select name="item" {
                        @for (c, code, zh, en) in CATEGORY_ITEMS {
                            @let v = format!("{}:{}", c.as_str(), code);
                            option value=(v) selected[v == selected_item] { (lang.t(c.label_zh(), c.label_en())) " / " (code) " " (lang.t(zh, en)) }
                        }
                    } }
                    label { (lang.t("资源格式", "Format")) select name="format" { (options!(lang, Format, b.format)) } }
                    label { (lang.t("更新周期", "Update frequency")) select name="frequency" { (options!(lang, Frequency, b.frequency)) } }
                    label { (lang.t("发布日期", "Release date")) input type="date" name="release_date" value=(b.release_date); }
                    label { (lang.t("来源信息系统编号", "Source system id")) input name="source_system_id" value=(b.source_system_id.map(|i| i.to_string()).unwrap_or_default()); }
                    label { (lang.t("关联资源代码", "Related resource codes")) input.mono name="related" value=(b.related.join("、")); }
                    label { (lang.t("是否采购数据", "Purchased data")) select name="purchased" {
                        option value="0" selected[!b.purchased] { (lang.t("否", "no")) }
                        option value="1" selected[b.purchased] { (lang.t("是", "yes")) }
                    } }
                    label { (lang.t("采购来源", "Purchased from")) input name="purchased_from" value=(b.purchased_from); }
                    label { (lang.t("采集部门", "Collecting department")) input name="collecting_dept" value=(b.collecting_dept); }
                    label { (lang.t("审批部门", "Approving department")) input name="approving_dept" value=(b.approving_dept); }
                }
                label.wide { (lang.t("资源摘要", "Summary")) textarea name="summary" rows="3" required { (b.summary) } }
                label.wide { (lang.t("使用要求", "Usage requirements")) input name="usage_requirements" value=(b.usage_requirements); }
            }
            fieldset {
                legend { (lang.t("信息项（空行将被忽略）", "Fields (blank rows are ignored)")) }
                table.fields {
                    thead { tr { th { (lang.t("名称", "Name")) } th { (lang.t("中文名", "Label")) } th { (lang.t("类型", "Type")) } th { (lang.t("分级", "Grade")) } th { (lang.t("个人信息", "Personal")) } th { (lang.t("标识", "Identifier")) } th { (lang.t("脱敏", "Masking")) } th { (lang.t("采集必要性", "Why needed")) } th { (lang.t("描述", "Description")) } } }
                    tbody {
                        @for f in &b.fields { (field_row(lang, Some(f))) }
                        @for _ in 0..3 { (field_row(lang, None)) }
                    }
                }
                label { (lang.t("主体标识信息项（名称）", "Identifier field (name)")) input.mono name="identifier_field" value=(b.identifier_field.clone().unwrap_or_default()); }
            }
            fieldset {
                legend { (lang.t("共享属性", "Sharing")) }
                div.grid {
                    label { (lang.t("共享类型", "Share type")) select name="share_type" { (options!(lang, ShareType, b.share.share_type)) } }
                    div { (lang.t("共享方式", "Share modes")) br;
                        @for m in ShareMode::ALL {
                            label.check { input type="checkbox" name="modes" value=(m.as_str()) checked[b.share.modes.contains(m)]; (lang.t(m.label_zh(), m.label_en())) }
                        }
                    }
                    label { (lang.t("共享条件", "Conditions")) input name="share_conditions" value=(b.share.conditions); }
                    label { (lang.t("共享依据", "Legal basis")) input name="share_legal_basis" value=(b.share.legal_basis); }
                }
            }
            fieldset {
                legend { (lang.t("开放属性", "Opening")) }
                div.grid {
                    label { (lang.t("开放类型", "Open type")) select name="open_type" { (options!(lang, OpenType, b.open.open_type)) } }
                    label { (lang.t("开放条件", "Conditions")) input name="open_conditions" value=(b.open.conditions); }
                    label { (lang.t("开放依据", "Legal basis")) input name="open_legal_basis" value=(b.open.legal_basis); }
                }
            }
            button type="submit" { (lang.t("保存草稿", "Save draft")) }
        }
    }
}

fn form_violations(e: &AppError) -> Option<Vec<ViolationOut>> {
    (e.code == "catalog_invalid" || e.code == "invalid_input").then(|| {
        if e.details.is_empty() {
            vec![ViolationOut {
                code: e.code.into(),
                path: String::new(),
                message_zh: e.zh.clone(),
                message_en: e.en.clone(),
                row: None,
                column: None,
            }]
        } else {
            e.details.clone()
        }
    })
}

pub async fn new_form(headers: HeaderMap, Extension(p): P) -> Page {
    let lang = Lang::from_headers(&headers);
    page(
        lang,
        Some(&p),
        "/catalog",
        lang.t("新建目录条目", "New catalog entry"),
        editor(lang, &p, "/catalog/new", &blank_body(), &[]),
    )
}

pub async fn new_submit(State(state): S, headers: HeaderMap, Extension(p): P, Form(f): Form<EntryForm>) -> Page {
    let lang = Lang::from_headers(&headers);
    let parsed = body_from_form(&f);
    let result = match &parsed {
        Ok(b) => cat::do_create_entry(&state, &p, b.clone()).await,
        Err(e) => Err(e.clone()),
    };
    match result {
        Ok(e) => see_other(&format!("/catalog/entries/{}?ok={}", e.entry_id, urlencode("草稿已保存"))),
        Err(e) => match form_violations(&e) {
            Some(v) => {
                let b = parsed.unwrap_or_else(|_| blank_body());
                let html = crate::layout::layout(
                    lang,
                    Some(&p),
                    "/catalog",
                    lang.t("新建目录条目", "New catalog entry"),
                    editor(lang, &p, "/catalog/new", &b, &v),
                );
                Ok((status_of(ErrorKind::Invalid), html).into_response())
            }
            None => Err(e.into()),
        },
    }
}

pub async fn edit_form(State(state): S, headers: HeaderMap, Extension(p): P, Path(id): Path<i64>) -> Page {
    let lang = Lang::from_headers(&headers);
    let e = cat::visible_entry(&state, &p, id).await?;
    let action = format!("/catalog/entries/{id}/edit");
    page(
        lang,
        Some(&p),
        "/catalog",
        &format!("{} {}", lang.t("编辑", "Edit"), e.code),
        editor(lang, &p, &action, &e.body, &[]),
    )
}

pub async fn edit_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<EntryForm>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let parsed = body_from_form(&f);
    let result = match &parsed {
        Ok(b) => cat::do_update_entry(&state, &p, id, b.clone()).await,
        Err(e) => Err(e.clone()),
    };
    match result {
        Ok(e) => see_other(&format!("/catalog/entries/{}?ok={}", e.entry_id, urlencode("草稿已保存"))),
        Err(e) => match form_violations(&e) {
            Some(v) => {
                let b = parsed.unwrap_or_else(|_| blank_body());
                let action = format!("/catalog/entries/{id}/edit");
                let html = crate::layout::layout(
                    lang,
                    Some(&p),
                    "/catalog",
                    lang.t("编辑", "Edit"),
                    editor(lang, &p, &action, &b, &v),
                );
                Ok((status_of(ErrorKind::Invalid), html).into_response())
            }
            None => Err(e.into()),
        },
    }
}

/// The editor's inline check (htmx): the violations of the form as it stands, as a fragment.
pub async fn validate_fragment(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Form(f): Form<EntryForm>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let v = match body_from_form(&f) {
        Ok(b) => match cat::check_body(&state, p.org_id.unwrap_or(0), &b).await {
            Ok(v) => v.iter().map(ViolationOut::from).collect(),
            Err(e) => form_violations(&e).unwrap_or_default(),
        },
        Err(e) => form_violations(&e).unwrap_or_default(),
    };
    let ok =
        html! { @if v.is_empty() { div.notice.ok role="status" { (lang.t("符合全部规则", "All rules are met")) } } };
    html! { (violations_list(lang, &v)) (ok) }.into_response()
}

// ---------------------------------------------------------------- review queue

pub async fn review(State(state): S, headers: HeaderMap, Extension(p): P) -> Page {
    let lang = Lang::from_headers(&headers);
    let rows = cat::do_review_queue(&state, &p).await?;
    let orgs = orgs_by_id(state.storage.list_orgs().await?);
    page(
        lang,
        Some(&p),
        "/catalog",
        lang.t("审核队列", "Review queue"),
        html! {
            (subnav(lang, &p, "/catalog/review"))
            p.muted { (lang.t("按提交时间排序，先到先审。", "Oldest submission first.")) }
            (entries_table(lang, &rows, &orgs))
        },
    )
}

// ---------------------------------------------------------------- derived catalogs

#[derive(Debug, Default, Deserialize)]
pub struct DerivedQuery {
    org_id: Option<i64>,
    region_id: Option<i64>,
    q: Option<String>,
}

pub async fn derived(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(kind): Path<String>,
    Query(q): Query<DerivedQuery>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let k = cat::parse_kind(&kind)?;
    let params = cat::DerivedParams { org_id: q.org_id, region_id: q.region_id, q: q.q.clone() };
    let (rows, _) = cat::do_derived(&state, k, &params).await?;
    let orgs = state.storage.list_orgs().await?;
    let regions = state.storage.list_regions().await?;
    let mut export = format!("/api/v1/catalog/export?kind={}", k.as_str());
    if let Some(o) = q.org_id {
        export.push_str(&format!("&org_id={o}"));
    }
    if let Some(r) = q.region_id {
        export.push_str(&format!("&region_id={r}"));
    }
    page(
        lang,
        Some(&p),
        "/catalog",
        lang.t(k.label_zh(), k.label_en()),
        html! {
            (subnav(lang, &p, "/catalog/derived/share"))
            nav.sub { @for d in DerivedCatalog::ALL {
                a href=(format!("/catalog/derived/{}", d.as_str())) aria-current=[(*d == k).then_some("page")] { (lang.t(d.label_zh(), d.label_en())) }
            } }
            form.inline method="get" {
                label { (lang.t("单位", "Provider")) select name="org_id" { option value="" { "—" } @for o in &orgs { option value=(o.id) selected[q.org_id == Some(o.id)] { (o.name) } } } }
                label { (lang.t("区域", "Region")) select name="region_id" { option value="" { "—" } @for r in &regions { option value=(r.id) selected[q.region_id == Some(r.id)] { (r.name) } } } }
                label { (lang.t("名称含", "Name contains")) input name="q" value=(q.q.clone().unwrap_or_default()); }
                button type="submit" { (lang.t("筛选", "Filter")) }
            }
            p.muted { (rows.len()) (lang.t(" 条 · ", " entries · "))
                a href=(format!("{export}&format=xlsx")) { (lang.t("导出 XLSX", "Export XLSX")) } " · "
                a href=(format!("{export}&format=csv")) { (lang.t("导出 CSV", "Export CSV")) }
            }
            table {
                thead { tr {
                    th { (lang.t("资源代码", "Code")) } th { (lang.t("数据名称", "Data name")) } th { (lang.t("提供单位", "Provider")) }
                    th { (lang.t("信息项", "Fields")) }
                    @if k == DerivedCatalog::Open { th { (lang.t("开放类型", "Open type")) } th { (lang.t("开放依据", "Open legal basis")) } }
                    @else { th { (lang.t("共享类型", "Share type")) } th { (lang.t("共享依据", "Legal basis")) } }
                    th { (lang.t("分级", "Grade")) }
                } }
                tbody { @for r in &rows { tr {
                    td.mono { (r.code) }
                    td { a href=(format!("/catalog/entries/{}", r.entry_id)) { (r.name) } }
                    td { (r.provider) }
                    td { (r.fields.join("、")) }
                    @if k == DerivedCatalog::Open {
                        td { (OpenType::parse(&r.open_type).map(|t| lang.t(t.label_zh(), t.label_en())).unwrap_or("")) }
                        td { (r.open_legal_basis) }
                    } @else {
                        td { (ShareType::parse(&r.share_type).map(|t| lang.t(t.label_zh(), t.label_en())).unwrap_or("")) }
                        td { (r.share_legal_basis) }
                    }
                    td { (Grade::parse(&r.grade).map(|g| lang.t(g.label_zh(), g.label_en())).unwrap_or("")) }
                } } }
            }
        },
    )
}

// ---------------------------------------------------------------- deadlines

pub async fn deadlines(State(state): S, headers: HeaderMap, Extension(p): P, Query(f): Query<Flash>) -> Page {
    let lang = Lang::from_headers(&headers);
    // The authority sees every region it reviews; an organisation sees its own.
    let scope = cat::review_scope(&state, &p).await?;
    let all = cat::do_deadlines(&state, &cat::DeadlineParams { open_only: Some(true), ..Default::default() }).await?;
    let rows: Vec<_> =
        all.into_iter().filter(|d| scope.contains(d.deadline.org_id) || p.org_id == Some(d.deadline.org_id)).collect();
    let changes = state.storage.list_changes(if scope.all { None } else { p.org_id }).await?;
    let orgs = orgs_by_id(state.storage.list_orgs().await?);
    let overdue = rows.iter().filter(|d| d.overdue).count();
    page(
        lang,
        Some(&p),
        "/catalog",
        lang.t("目录更新期限", "Catalog update deadlines"),
        html! {
            (subnav(lang, &p, "/catalog/deadlines"))
            (notice(f.ok.as_deref(), lang))
            div.tiles {
                div.tile { div.n { (rows.len()) } div { (lang.t("待更新条目", "Entries to update")) } }
                div.tile.alert[overdue > 0] { div.n { (overdue) } div { (lang.t("已逾期", "Overdue")) } }
            }
            table #deadlines {
                thead { tr { th { (lang.t("资源", "Entry")) } th { (lang.t("单位", "Organisation")) } th { (lang.t("事由", "Cause")) } th { (lang.t("期限", "Due")) } th { (lang.t("状态", "State")) } } }
                tbody { @for d in &rows { tr.overdue[d.overdue] {
                    td { a href=(format!("/catalog/entries/{}", d.deadline.entry_id)) { (d.deadline.name) } " " span.mono.muted { (d.deadline.code) } }
                    td { (orgs.get(&d.deadline.org_id).map(|o| o.name.as_str()).unwrap_or("")) }
                    td { (lang.t(d.deadline.kind.label_zh(), d.deadline.kind.label_en())) "：" (d.deadline.description) }
                    td { (d.deadline.due_date) }
                    td { @if d.overdue { span.badge.st-rejected { (lang.t("已逾期", "Overdue")) } } @else { span.badge { (lang.t("期限内", "In time")) } } }
                } } }
            }
            @if p.allows(Permission::RecordCatalogChange) {
                h2 { (lang.t("登记职能或依据变化", "Record a change of functions or legal basis")) }
                p.muted { (lang.t("登记后，该单位每个已发布条目须在 15 个工作日内更新（按法定节假日和调休计算）。", "Every published entry of the organisation must then be updated within 15 working days (official holidays and make-up days counted).")) }
                section.card { form.grid method="post" action="/catalog/changes" {
                    (csrf(&p))
                    label { (lang.t("单位", "Organisation")) select name="org_id" {
                        @for o in orgs.values() { @if scope.contains(o.id) || p.org_id == Some(o.id) { option value=(o.id) selected[p.org_id == Some(o.id)] { (o.name) } } }
                    } }
                    label { (lang.t("变化类型", "Kind")) select name="kind" { (options!(lang, pdp_domain::catalog::ChangeKind, pdp_domain::catalog::ChangeKind::LegalBasis)) } }
                    label { (lang.t("生效日期", "Effective date")) input type="date" name="event_date" required; }
                    label { (lang.t("说明", "Description")) input name="description" required; }
                    button type="submit" { (lang.t("登记", "Record")) }
                } }
            }
            h2 { (lang.t("变化记录", "Change events")) }
            table {
                thead { tr { th { (lang.t("单位", "Organisation")) } th { (lang.t("类型", "Kind")) } th { (lang.t("说明", "Description")) } th { (lang.t("生效日期", "Date")) } th { (lang.t("期限", "Due")) } th { (lang.t("涉及条目", "Entries")) } } }
                tbody { @for c in &changes { tr {
                    td { (orgs.get(&c.org_id).map(|o| o.name.as_str()).unwrap_or("")) }
                    td { (lang.t(c.kind.label_zh(), c.kind.label_en())) }
                    td { (c.description) } td { (c.event_date) } td { (c.due_date) } td { (c.affected) }
                } } }
            }
        },
    )
}

pub async fn change_create(State(state): S, Extension(p): P, Form(input): Form<ChangeInput>) -> Page {
    let c = cat::do_record_change(&state, &p, input).await?;
    see_other(&format!("/catalog/deadlines?ok={}", urlencode(&format!("{} 条，期限 {}", c.affected, c.due_date))))
}

// ---------------------------------------------------------------- systems

pub async fn systems(State(state): S, headers: HeaderMap, Extension(p): P, Query(f): Query<Flash>) -> Page {
    let lang = Lang::from_headers(&headers);
    let list = state.storage.list_systems(None).await?;
    let report = cat::do_systems_report(&state, None).await?;
    let orgs = orgs_by_id(state.storage.list_orgs().await?);
    page(
        lang,
        Some(&p),
        "/catalog",
        lang.t("信息系统登记", "Information system registry"),
        html! {
            (subnav(lang, &p, "/catalog/systems"))
            (notice(f.ok.as_deref(), lang))
            table {
                thead { tr { th { "#" } th { (lang.t("系统名称", "System")) } th { (lang.t("单位", "Organisation")) } th { (lang.t("建设/运维", "Owner")) } th { (lang.t("资金来源", "Funding")) } th { (lang.t("状态", "Status")) } th { (lang.t("数据清单", "Data list")) } } }
                tbody { @for s in &list { tr {
                    td { (s.id) } td { (s.name) }
                    td { (orgs.get(&s.org_id).map(|o| o.name.as_str()).unwrap_or("")) }
                    td { (s.owner) } td { (s.funding) } td { (lang.t(s.status.label_zh(), s.status.label_en())) }
                    td { @for i in &s.items { span.badge { (i.name) @if let Some(e) = i.entry_id { " → " a href=(format!("/catalog/entries/{e}")) { "#" (e) } } } " " } }
                } } }
            }
            h2 { (lang.t("未编目或未归集的系统数据", "System data not yet cataloged or aggregated")) }
            table {
                thead { tr { th { (lang.t("系统", "System")) } th { (lang.t("未编目", "Not cataloged")) } th { (lang.t("目录未发布", "Entry not published")) } th { (lang.t("未归集", "Not aggregated")) } } }
                tbody { @for r in &report { tr {
                    td { (r.system.name) } td { (r.uncataloged.join("、")) } td { (r.unpublished.join("、")) } td { (r.not_aggregated.join("、")) }
                } } }
            }
            @if p.allows(Permission::EditCatalog) {
                h2 { (lang.t("登记信息系统", "Register a system")) }
                section.card { form.grid method="post" action="/catalog/systems" {
                    (csrf(&p))
                    label { (lang.t("系统名称", "Name")) input name="name" required; }
                    label { (lang.t("建设/运维单位", "Owner")) input name="owner"; }
                    label { (lang.t("资金来源", "Funding")) input name="funding"; }
                    label { (lang.t("状态", "Status")) select name="status" { @for st in pdp_domain::catalog::SystemStatus::ALL { option value=(st.as_str()) selected[*st == pdp_domain::catalog::SystemStatus::InService] { (lang.t(st.label_zh(), st.label_en())) } } } }
                    label.wide { (lang.t("数据清单（每行一项；“名称=条目编号”关联目录条目）", "Data list (one per line; \"name=entry id\" links a catalog entry)")) textarea name="items" rows="4" {} }
                    button type="submit" { (lang.t("登记", "Register")) }
                } }
            }
        },
    )
}

/// The system registry's form: the data list is one item a line, `name=entry id` linking an
/// item to its catalog entry.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SystemForm {
    name: String,
    owner: String,
    funding: String,
    status: String,
    items: String,
}

pub async fn system_create(State(state): S, Extension(p): P, Form(f): Form<SystemForm>) -> Page {
    let mut items = Vec::new();
    for line in f.items.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, entry) = match line.split_once('=') {
            Some((n, e)) => {
                let id = e.trim().trim_start_matches('#').parse().map_err(|_| {
                    AppError::bad_request(
                        "invalid_input",
                        format!("条目编号无效：{e}"),
                        format!("invalid entry id: {e}"),
                    )
                })?;
                (n.trim().to_string(), Some(id))
            }
            None => (line.to_string(), None),
        };
        items.push(SystemDataItem { name, entry_id: entry });
    }
    let input = SystemInput { name: f.name, owner: f.owner, funding: f.funding, status: f.status, items };
    let s = cat::do_create_system(&state, &p, input).await?;
    see_other(&format!("/catalog/systems?ok={}", urlencode(&s.name)))
}

// ---------------------------------------------------------------- search

pub async fn search(State(state): S, headers: HeaderMap, Extension(p): P, Query(q): Query<SearchParams>) -> Page {
    let lang = Lang::from_headers(&headers);
    let has_query = q.q.as_deref().is_some_and(|s| !s.trim().is_empty()) || !q.filters().is_empty();
    let res = if has_query { Some(cat::do_search(&state, &q).await?) } else { None };
    let base: Vec<(String, String)> =
        q.filters().into_iter().chain(q.q.clone().map(|t| ("q".to_string(), t))).collect();
    let href = |extra: Option<(&str, &str)>, drop: Option<&str>| {
        let mut parts: Vec<String> = base
            .iter()
            .filter(|(k, _)| Some(k.as_str()) != drop && extra.is_none_or(|(ek, _)| ek != k))
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        if let Some((k, v)) = extra {
            parts.push(format!("{k}={}", urlencode(v)));
        }
        format!("/catalog/search?{}", parts.join("&"))
    };
    let facet_names: &[(&str, &str, &str)] = &[
        ("provider", "提供单位", "Provider"),
        ("region", "区域", "Region"),
        ("class", "分类", "Category"),
        ("share", "共享类型", "Share type"),
        ("open", "开放类型", "Open type"),
        ("grade", "分级", "Grade"),
        ("frequency", "更新周期", "Frequency"),
    ];
    let active: Vec<(String, String)> = q.filters();
    page(
        lang,
        Some(&p),
        "/catalog",
        lang.t("目录检索", "Catalog search"),
        html! {
            (subnav(lang, &p, "/catalog/search"))
            form.search method="get" action="/catalog/search" role="search" {
                @for (k, v) in &active { input type="hidden" name=(k) value=(v); }
                input type="search" name="q" value=(q.q.clone().unwrap_or_default()) placeholder=(lang.t("输入关键词，如：企业 登记", "Keywords, e.g. 企业 登记")) aria-label=(lang.t("关键词", "Keywords")) autofocus;
                button type="submit" { (lang.t("检索", "Search")) }
            }
            @if !active.is_empty() {
                p { @for (k, v) in &active { a.badge href=(href(None, Some(k))) title=(lang.t("移除筛选", "Remove filter")) { (k) "=" (v) " ✕" } " " } }
            }
            @if let Some(res) = &res {
                div.split {
                    aside.facets { @for (key, zh, en) in facet_names {
                        @if let Some(vals) = res.facets.get(*key) { @if !vals.is_empty() {
                            h3 { (lang.t(zh, en)) }
                            ul { @for f in vals { li { a href=(href(Some((key, &f.value)), None)) { (f.label) } " (" (f.count) ")" } } }
                        } }
                    } }
                    section #results {
                        p.muted { (lang.t("找到 ", "Found ")) (res.total) (lang.t(" 条", " entries")) }
                        ol.hits { @for h in &res.hits { li {
                            // Snippets are built by the index from stored text, which it escapes;
                            // only its own <b> marks are markup.
                            a href=(format!("/catalog/entries/{}", h.entry_id)) { (PreEscaped(&h.name_html)) } " " span.mono.muted { (h.code) }
                            p { (PreEscaped(&h.summary_html)) }
                        } } }
                    }
                }
            }
        },
    )
}

// ---------------------------------------------------------------- import

pub async fn import_page(headers: HeaderMap, Extension(p): P) -> Page {
    let lang = Lang::from_headers(&headers);
    page(
        lang,
        Some(&p),
        "/catalog",
        lang.t("导入目录", "Import catalog entries"),
        html! {
            (subnav(lang, &p, "/catalog/import"))
            section.card {
                p { (lang.t("按模板填写（每个信息项一行，资源列可在每行重复或只写在第一行），支持 XLSX 和 UTF-8 CSV。导入前逐行检查，任何一处错误都不会导入任何条目；导入的条目为草稿，需提交审核。", "Fill in the template (one row per field; entry columns repeated on each row or written on the first row only), as XLSX or UTF-8 CSV. Every row is checked first: if anything is wrong nothing is imported. Imported entries are drafts to submit for review.")) }
                p { a href="/api/v1/catalog/template?format=xlsx" { (lang.t("下载 XLSX 模板", "Download the XLSX template")) } " · " a href="/api/v1/catalog/template?format=csv" { (lang.t("下载 CSV 模板", "Download the CSV template")) } }
                form #import-form data-csrf=(p.csrf()) {
                    input type="file" name="file" accept=".xlsx,.csv" required aria-label=(lang.t("模板文件", "Template file"));
                    button type="submit" { (lang.t("检查并导入", "Check and import")) }
                }
                noscript { p.muted { (lang.t("导入需要启用脚本；也可调用 POST /api/v1/catalog/import。", "Import needs scripts enabled; or call POST /api/v1/catalog/import.")) } }
                div #import-result aria-live="polite" {}
            }
        },
    )
}
