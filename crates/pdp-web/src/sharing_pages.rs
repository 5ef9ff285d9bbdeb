//! Pages for sharing between organisations: `/share` (a requester's requests, a provider's
//! approval queue with deadlines, the authority's overdue and escalated requests, grants and the
//! scenario library), `/share/new` (catalog entry -> request form), `/share/requests/{id}` (one
//! request with the forms its reader may use) and `/share/grants/{id}` (one grant, its usage,
//! its life cycle, and for the user organisation the verify and view tools).
//!
//! Every form goes through the same use cases as the JSON API ([`pdp_app::sharing`]), so the
//! pages enforce the same rules, write the same audit events and record the same usage.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use maud::{Markup, html};
use pdp_domain::catalog::{MaskRule, ShareMode, ShareType};
use pdp_domain::roles::Permission;
use pdp_domain::sharing::{FilterOp, GrantStatus, RequestStatus, RowFilter, UpwardStatus};
use pdp_storage::catalog::{EntryQuery, EntryView};
use serde::Deserialize;

use crate::AppState;
use crate::auth::Principal;
use crate::error::AppError;
use crate::extract::Form;
use crate::i18n::Lang;
use crate::layout::fmt_time;
use crate::layout::{Flash, KeyForm, Page, ReasonForm, csrf, notice, page, see_other};
use pdp_app::share_ops as ops;
use pdp_app::sharing as sh;

type S = State<Arc<AppState>>;
type P = Extension<Principal>;

fn mode_label(lang: Lang, mode: ShareMode) -> &'static str {
    lang.t(mode.label_zh(), mode.label_en())
}

fn share_type_label(lang: Lang, t: ShareType) -> &'static str {
    lang.t(t.label_zh(), t.label_en())
}

fn request_table(lang: Lang, id: &str, list: &[sh::RequestOut]) -> Markup {
    html! {
        @if list.is_empty() {
            p.muted id=(id) { (lang.t("暂无", "None")) }
        } @else {
            table id=(id) {
                thead { tr {
                    th { "#" } th { (lang.t("数据", "Dataset")) } th { (lang.t("申请单位", "Requester")) }
                    th { (lang.t("提供单位", "Provider")) } th { (lang.t("方式", "Mode")) } th { (lang.t("状态", "State")) }
                    th { (lang.t("答复期限", "Due")) }
                } }
                tbody { @for r in list { tr.overdue[r.overdue] {
                    td { a href=(format!("/share/requests/{}", r.r.id)) { (r.r.id) } }
                    td { (r.dataset_name) " " span.mono.muted { (r.r.dataset) } }
                    td { (r.requester_org_name) }
                    td { (r.provider_org_name) }
                    td { (mode_label(lang, r.r.mode)) }
                    td { span.badge { (lang.t(&r.status_zh, &r.status_en)) } }
                    td { (r.r.due_date.map(|d| d.to_string()).unwrap_or_default()) @if r.overdue { " " span.badge.st-rejected { (lang.t("逾期", "overdue")) } } @if r.due_provisional { " " span.badge title=(lang.t("节假日表未录入，暂按周一至周五计算", "no holiday table yet: counted on weekdays alone")) { (lang.t("暂定", "provisional")) } } }
                } } }
            }
        }
    }
}

fn grant_table(lang: Lang, id: &str, list: &[sh::GrantOut]) -> Markup {
    html! {
        @if list.is_empty() {
            p.muted id=(id) { (lang.t("暂无", "None")) }
        } @else {
            table id=(id) {
                thead { tr {
                    th { "#" } th { (lang.t("数据", "Dataset")) } th { (lang.t("使用单位", "User")) }
                    th { (lang.t("提供单位", "Provider")) } th { (lang.t("方式", "Mode")) } th { (lang.t("状态", "State")) }
                    th { (lang.t("到期", "Expires")) } th { (lang.t("使用次数", "Accesses")) }
                } }
                tbody { @for g in list { tr {
                    td { a href=(format!("/share/grants/{}", g.g.id)) { (g.g.id) } }
                    td { (g.dataset_name) " " span.mono.muted { (g.g.dataset) } }
                    td { (g.user_org_name) }
                    td { (g.provider_org_name) }
                    td { (mode_label(lang, g.g.mode)) }
                    td { span.badge { (lang.t(&g.status_zh, &g.status_en)) } @if g.expired { " " span.badge.st-rejected { (lang.t("已到期", "expired")) } } }
                    td { (g.g.expires_on) }
                    td { (g.usage.accesses) }
                } } }
            }
        }
    }
}

/// The sharing part of the dashboard: an approver's queue and overdue requests, the
/// authority's escalations.
pub(crate) async fn dashboard_tiles(state: &AppState, p: &Principal, lang: Lang) -> Result<Markup, AppError> {
    if !p.allows(Permission::ViewShares) {
        return Ok(html! {});
    }
    let mut tiles: Vec<(usize, &str, &str, bool)> = Vec::new();
    if p.allows(Permission::ApproveShare) && p.org_id.is_some() {
        let q = sh::RequestListParams { view: Some("incoming".into()), open: Some(true), ..Default::default() };
        let queue = sh::do_list_requests(state, p, &q).await?;
        let overdue = queue.iter().filter(|r| r.overdue).count();
        tiles.push((queue.len(), "待审批共享申请", "Share requests to answer", false));
        tiles.push((overdue, "逾期未答复", "Overdue answers", overdue > 0));
    }
    if p.allows(Permission::RequestShare) && p.org_id.is_some() {
        let q = sh::RequestListParams { view: Some("mine".into()), open: Some(true), ..Default::default() };
        tiles.push((sh::do_list_requests(state, p, &q).await?.len(), "我方待办申请", "Our open requests", false));
    }
    if p.allows(Permission::GovernData) {
        let q = sh::RequestListParams { status: Some("escalated".into()), ..Default::default() };
        let n = sh::do_list_requests(state, p, &q).await?.len();
        tiles.push((n, "待裁决的共享争议", "Escalations to decide", n > 0));
    }
    if tiles.is_empty() {
        return Ok(html! {});
    }
    Ok(html! {
        h2 { (lang.t("数据共享", "Sharing")) }
        div.tiles { @for (n, zh, en, alert) in &tiles {
            a.tile.alert[*alert] href="/share" { div.n { (n) } div { (lang.t(zh, en)) } }
        } }
    })
}

/// `/share`: everything the reader has to do with sharing, by role.
pub async fn hub(State(state): S, headers: HeaderMap, Extension(p): P, Query(f): Query<Flash>) -> Page {
    let lang = Lang::from_headers(&headers);
    let has_org = p.org_id.is_some();
    let list = |view: Option<&str>, open: bool| sh::RequestListParams {
        view: view.map(Into::into),
        open: Some(open),
        ..Default::default()
    };
    let mine = if has_org && p.allows(Permission::RequestShare) {
        Some(sh::do_list_requests(&state, &p, &list(Some("mine"), false)).await?)
    } else {
        None
    };
    let incoming = if has_org && p.allows(Permission::ApproveShare) {
        Some(sh::do_list_requests(&state, &p, &list(Some("incoming"), true)).await?)
    } else {
        None
    };
    let all = if p.allows(Permission::GovernData) {
        Some(sh::do_list_requests(&state, &p, &list(None, false)).await?)
    } else {
        None
    };
    let grants = sh::do_list_grants(&state, &p, &sh::GrantListParams::default()).await?;
    let scenarios = state.storage.list_scenarios().await?;
    let entries = state.storage.list_entries(&EntryQuery { view: EntryView::Published, ..Default::default() }).await?;
    let entry_name =
        |id: i64| entries.iter().find(|e| e.entry_id == id).map(|e| e.body.name.clone()).unwrap_or_default();
    let emergencies = ops::do_list_emergencies(&state).await?;
    let demands = ops::do_list_demands(&state, &p).await?;
    let upward = ops::do_list_upward(&state, &p).await?;
    let dues = ops::do_reports_due(&state, &p).await?;
    let overdue_reports: Vec<_> = dues.iter().filter(|d| d.overdue).collect();
    let orgs = state.storage.list_orgs().await?;
    let my_entries: Vec<_> = entries.iter().filter(|e| Some(e.org_id) == p.org_id).collect();
    page(
        lang,
        Some(&p),
        "/share",
        lang.t("数据共享", "Sharing"),
        html! {
            (notice(f.ok.as_deref(), lang))
            p.muted { (lang.t(
                "无条件共享的数据即时授权；有条件共享的数据由提供单位在 10 个工作日内答复，逾期提交主管部门；不予共享的数据须经协商，协商不成由主管部门裁决。每次使用均记录在审计日志中。",
                "Unconditional data is granted at once; the provider answers conditional requests within 10 working days, or the authority takes them up; not-shared data is negotiated, and the authority decides when talks fail. Every access is on the audit record.")) }
            @if let Some(mine) = &mine {
                h2 { (lang.t("本单位的申请", "Our requests")) }
                p { a.button #new-request href="/share/new" { (lang.t("申请共享数据", "Request data")) } }
                (request_table(lang, "my-requests", mine))
            }
            @if let Some(incoming) = &incoming {
                h2 { (lang.t("待本单位审批", "Waiting for our answer")) }
                (request_table(lang, "approval-queue", incoming))
            }
            @if let Some(all) = &all {
                h2 { (lang.t("辖区内全部申请", "All requests in the region")) }
                @let hot: Vec<sh::RequestOut> = all.iter().filter(|r| r.overdue || r.r.status == RequestStatus::Escalated).cloned().collect();
                h3 { (lang.t("逾期与提级", "Overdue and escalated")) }
                (request_table(lang, "escalations", &hot))
                details { summary { (lang.t("全部", "All")) " (" (all.len()) ")" } (request_table(lang, "all-requests", all)) }
            }
            h2 { (lang.t("共享授权", "Grants")) }
            (grant_table(lang, "grants", &grants))
            h2 { (lang.t("使用情况报告", "Usage reports")) }
            @if overdue_reports.is_empty() { p.muted #reports-overdue { (lang.t("没有逾期未报告的授权", "No grant is overdue for its report")) } } @else {
                table #reports-overdue {
                    thead { tr { th { (lang.t("授权", "Grant")) } th { (lang.t("数据", "Dataset")) } th { (lang.t("上次报告期末", "Last period end")) } th { (lang.t("应报告日期", "Due")) } } }
                    tbody { @for d in &overdue_reports { tr.overdue {
                        td { a href=(format!("/share/grants/{}", d.grant_id)) { "#" (d.grant_id) } } td.mono { (d.dataset) }
                        td { (d.last_period_end.clone().unwrap_or_else(|| "—".into())) } td { (d.due) " " span.badge.st-rejected { (lang.t("逾期", "overdue")) } }
                    } } }
                }
            }
            h2 { (lang.t("应急共享", "Emergencies")) }
            @if emergencies.is_empty() { p.muted { (lang.t("暂无", "None")) } } @else {
                table #emergencies {
                    thead { tr { th { (lang.t("事件", "Event")) } th { (lang.t("数据", "Data")) } th { (lang.t("单位", "Organisations")) } th { (lang.t("调整为", "Raised to")) } th { (lang.t("起止", "From – to")) } th { (lang.t("状态", "State")) } } }
                    tbody { @for m in &emergencies { tr {
                        td { strong { (m.e.name) } br; span.muted { (m.e.scope) } }
                        td { (m.entry_names.join("、")) } td { (m.org_names.join("、")) }
                        td { (share_type_label(lang, m.e.raise_to)) }
                        td { (fmt_time(m.e.starts_at_micros)) " – " (fmt_time(m.e.ended_early_at_micros.unwrap_or(m.e.ends_at_micros))) }
                        td { @if m.active { span.badge.st-rejected { (lang.t("应急中", "in force")) }
                                @if p.allows(Permission::GovernData) { form method="post" action=(format!("/share/emergencies/{}/end", m.e.id)) {
                                    (csrf(&p)) input name="reason" required placeholder=(lang.t("提前结束的理由", "Why end it now")); button type="submit" { (lang.t("结束", "End")) } } } }
                             @else { span.badge { (lang.t("已结束", "ended")) } } }
                    } } }
                }
            }
            @if p.allows(Permission::GovernData) {
                section.card { form #emergency-form method="post" action="/share/emergencies" {
                    (csrf(&p))
                    label { (lang.t("事件名称", "Event")) input name="name" required; }
                    label { (lang.t("处置需要", "What the data is needed for")) input name="scope" required; }
                    label { (lang.t("共享属性临时调整为", "Raise the share type to")) select name="raise_to" {
                        option value="unconditional" { (lang.t("无条件共享", "Unconditional")) } option value="conditional" { (lang.t("有条件共享", "Conditional")) }
                    } }
                    label { (lang.t("数据资源（可多选）", "Data (several allowed)")) select name="entry_ids" multiple size="5" required {
                        @for e in &entries { option value=(e.entry_id) { (e.body.name) " · " (share_type_label(lang, e.body.share.share_type)) } }
                    } }
                    label { (lang.t("参与处置的单位（可多选）", "Organisations handling it (several allowed)")) select name="org_ids" multiple size="5" required {
                        @for o in &orgs { option value=(o.id) { (o.name) } }
                    } }
                    label { (lang.t("结束时间", "Ends at")) input name="ends_at" type="datetime-local" required; }
                    button type="submit" { (lang.t("启动应急共享", "Declare the emergency")) }
                } }
            }
            h2 { (lang.t("数据需求清单", "Demand list")) }
            @if demands.is_empty() { p.muted #demands { (lang.t("暂无", "None")) } } @else {
                table #demands {
                    thead { tr { th { "#" } th { (lang.t("需求", "Demand")) } th { (lang.t("提出单位", "Asked by")) } th { (lang.t("承办单位", "Provider")) } th { (lang.t("状态", "State")) } th { (lang.t("答复", "Answer")) } th {} } }
                    tbody { @for d in &demands { tr {
                        td { (d.d.id) }
                        td { strong { (d.d.title) } br; (d.d.description) br; span.muted { (d.d.purpose) } }
                        td { (d.requester_org_name) } td { (d.provider_org_name) }
                        td { span.badge { (lang.t(&d.status_zh, &d.status_en)) } }
                        td { (d.d.response) @if let Some(e) = d.d.entry_id { " " a href=(format!("/catalog/entries/{e}")) { (entry_name(e)) } } }
                        td {
                            @if d.can_assign { form.inline method="post" action=(format!("/share/demands/{}/assign", d.d.id)) {
                                (csrf(&p))
                                select name="provider_org_id" aria-label=(lang.t("承办单位", "Provider")) { option value="" { (lang.t("（不能满足）", "(decline)")) } @for o in &orgs { option value=(o.id) { (o.name) } } }
                                input name="note" placeholder=(lang.t("协调意见", "Note"));
                                button type="submit" { (lang.t("交办", "Assign")) }
                            } }
                            @if d.can_answer { form.inline method="post" action=(format!("/share/demands/{}/answer", d.d.id)) {
                                (csrf(&p))
                                select name="entry_id" aria-label=(lang.t("满足需求的目录条目", "Entry that meets it")) { option value="" { (lang.t("（无法满足）", "(decline)")) } @for e in &my_entries { option value=(e.entry_id) { (e.body.name) } } }
                                input name="response" required placeholder=(lang.t("答复", "Answer"));
                                button type="submit" { (lang.t("答复", "Answer")) }
                            } }
                        }
                    } } }
                }
            }
            @if p.allows(Permission::RequestShare) && p.org_id.is_some() {
                section.card { form #demand-form method="post" action="/share/demands" {
                    (csrf(&p))
                    p.muted { (lang.t("目录中没有所需数据时，可提出数据需求，由数据主管部门协调。", "When no catalog entry has the data, ask for it here; the authority coordinates.")) }
                    label { (lang.t("需求名称", "Title")) input name="title" required; }
                    label { (lang.t("所需数据（对象、信息项、范围、频率）", "Data wanted (subjects, items, coverage, frequency)")) textarea name="description" required {} }
                    label { (lang.t("用途", "Purpose")) input name="purpose" required; }
                    button type="submit" { (lang.t("提出需求", "Submit demand")) }
                } }
            }
            h2 { (lang.t("向上级申请的数据", "Requests to provincial and national holders")) }
            @if upward.is_empty() { p.muted #upward { (lang.t("暂无", "None")) } } @else {
                table #upward {
                    thead { tr { th { "#" } th { (lang.t("申请单位", "Asked by")) } th { (lang.t("持有单位", "Holder")) } th { (lang.t("所需数据", "Data")) } th { (lang.t("批次", "Batch")) } th { (lang.t("状态", "State")) } th {} } }
                    tbody { @for u in &upward { tr {
                        td { (u.u.id) } td { (u.requester_org_name) } td { (u.u.holder) " " span.muted { (lang.t(u.u.level.label_zh(), u.u.level.label_en())) } }
                        td { (u.u.data_wanted) br; span.muted { (u.u.purpose) } }
                        td { @if !u.u.batch.is_empty() { @if p.allows(Permission::GovernData) { a href=(format!("/api/v1/share/upward/batches/{}", u.u.batch)) { (u.u.batch) } } @else { (u.u.batch) } } }
                        td { span.badge { (lang.t(&u.status_zh, &u.status_en)) } @if !u.u.response.is_empty() { " " (u.u.response) } }
                        td { @if p.allows(Permission::GovernData) && u.u.status == UpwardStatus::Forwarded {
                            form.inline method="post" action=(format!("/share/upward/{}/outcome", u.u.id)) {
                                (csrf(&p))
                                select name="granted" aria-label=(lang.t("上级答复", "Answer")) { option value="true" { (lang.t("同意", "granted")) } option value="false" { (lang.t("未同意", "refused")) } }
                                input name="response" required placeholder=(lang.t("答复内容", "Answer"));
                                button type="submit" { (lang.t("登记", "Record")) }
                            }
                        } }
                    } } }
                }
            }
            @if p.allows(Permission::GovernData) {
                form #forward-form method="post" action="/share/upward/forward" { (csrf(&p)) button type="submit" { (lang.t("将待报送的申请汇总报送", "Forward the collected requests as one batch")) } }
            }
            @if p.allows(Permission::RequestShare) && p.org_id.is_some() {
                section.card { form #upward-form method="post" action="/share/upward" {
                    (csrf(&p))
                    label { (lang.t("数据所在层级", "Held at")) select name="level" {
                        option value="provincial" { (lang.t("省级", "Provincial")) } option value="national" { (lang.t("国家级", "National")) } option value="other_region" { (lang.t("其他地区", "Another region")) }
                    } }
                    label { (lang.t("数据持有单位", "Holding agency")) input name="holder" required; }
                    label { (lang.t("所需数据", "Data wanted")) input name="data_wanted" required; }
                    label { (lang.t("用途", "Purpose")) input name="purpose" required; }
                    label { (lang.t("法律依据", "Legal basis")) input name="legal_basis" required; }
                    button type="submit" { (lang.t("提交，由市数据主管部门汇总报送", "Submit; the city authority forwards it")) }
                } }
            }
            h2 { (lang.t("应用场景库", "Scenario library")) }
            @if scenarios.is_empty() { p.muted { (lang.t("暂无", "None")) } } @else {
                table #scenarios {
                    thead { tr { th { (lang.t("场景", "Scenario")) } th { (lang.t("数据", "Dataset")) } th { (lang.t("方式", "Mode")) } th { (lang.t("信息项", "Fields")) } th { (lang.t("用途", "Purpose")) } th { (lang.t("授权天数", "Days")) } } }
                    tbody { @for s in &scenarios { tr {
                        td { (s.name) } td { (entry_name(s.entry_id)) } td { (mode_label(lang, s.mode)) }
                        td.mono { (s.fields.join(", ")) } td { (s.purpose) } td { (s.grant_days) }
                    } } }
                }
            }
            @if p.allows(Permission::GovernData) {
                section.card { form #scenario-form method="post" action="/share/scenarios" {
                    (csrf(&p))
                    label { (lang.t("场景名称", "Name")) input name="name" required; }
                    label { (lang.t("数据", "Dataset")) select name="entry_id" {
                        @for e in &entries { @if e.body.share.share_type != ShareType::NotShared { option value=(e.entry_id) { (e.body.name) " (" (e.code) ")" } } }
                    } }
                    label { (lang.t("共享方式", "Mode")) select name="mode" { @for m in ShareMode::ALL { option value=(m.as_str()) { (lang.t(m.label_zh(), m.label_en())) } } } }
                    label { (lang.t("信息项（逗号分隔）", "Fields (comma separated)")) input name="fields" required; }
                    label { (lang.t("用途", "Purpose")) input name="purpose" required; }
                    label { (lang.t("法律依据", "Legal basis")) input name="legal_basis"; }
                    label { (lang.t("授权天数", "Grant days")) input name="grant_days" type="number" value="365" min="1"; }
                    button type="submit" { (lang.t("新增场景", "Add scenario")) }
                } }
            }
        },
    )
}

/// The scenario library's form: the fields typed as one list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScenarioForm {
    name: String,
    entry_id: i64,
    mode: String,
    fields: String,
    purpose: String,
    legal_basis: String,
    grant_days: Option<i64>,
}

/// The items of a list typed in one box, separated by commas (either width) or spaces.
fn typed_list(s: &str) -> Vec<String> {
    s.split([',', '，', ' ']).filter(|s| !s.is_empty()).map(Into::into).collect()
}

pub async fn scenario_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Form(f): Form<ScenarioForm>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let input = sh::ScenarioInput {
        name: f.name,
        entry_id: f.entry_id,
        mode: f.mode,
        fields: typed_list(&f.fields),
        purpose: f.purpose,
        legal_basis: f.legal_basis,
        grant_days: f.grant_days,
    };
    let s = sh::do_create_scenario(&state, &p, &input).await?;
    see_other(&format!(
        "/share?ok={}",
        lang.t(&format!("已新增场景“{}”", s.name), &format!("scenario {:?} added", s.name))
    ))
}

#[derive(Debug, Deserialize)]
pub struct NewRequestQuery {
    entry_id: Option<i64>,
}

/// `/share/new`: choose a catalog entry, then its fields, mode, scenario, basis and period.
pub async fn new_request(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Query(q): Query<NewRequestQuery>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let entries = state.storage.list_entries(&EntryQuery { view: EntryView::Published, ..Default::default() }).await?;
    let others: Vec<_> = entries.iter().filter(|e| Some(e.org_id) != p.org_id).collect();
    let chosen = q.entry_id.and_then(|id| others.iter().find(|e| e.entry_id == id));
    let scenarios: Vec<_> = match chosen {
        Some(e) => state.storage.list_scenarios().await?.into_iter().filter(|s| s.entry_id == e.entry_id).collect(),
        None => Vec::new(),
    };
    let until = pdp_app::clock::today_date() + time::Duration::days(180);
    page(
        lang,
        Some(&p),
        "/share",
        lang.t("申请共享数据", "Request data"),
        html! {
            form #pick-entry method="get" action="/share/new" {
                label { (lang.t("目录中的数据", "Catalog entry")) select name="entry_id" {
                    @for e in &others {
                        option value=(e.entry_id) selected[chosen.is_some_and(|c| c.entry_id == e.entry_id)] {
                            (e.body.name) " (" (e.code) ") · " (share_type_label(lang, e.body.share.share_type))
                        }
                    }
                } }
                button type="submit" { (lang.t("选择", "Choose")) }
            }
            @if let Some(e) = chosen {
                section.card {
                    p { strong { (e.body.name) } " " span.mono.muted { (e.code) } " · " span.badge { (share_type_label(lang, e.body.share.share_type)) } }
                    @if !e.body.share.conditions.is_empty() { p { (lang.t("共享条件：", "Conditions: ")) (e.body.share.conditions) } }
                    @if e.body.share.share_type == ShareType::NotShared {
                        p.notice.bad { (lang.t("该数据不予共享：提交后进入协商，协商不成可提请主管部门裁决。", "This data is not shared: a request opens a negotiation, and the authority decides if it fails.")) }
                    }
                    form #request-form method="post" action="/share/requests" {
                        (csrf(&p))
                        input type="hidden" name="entry_id" value=(e.entry_id);
                        fieldset { legend { (lang.t("所需信息项（只选履职必需的）", "Fields needed (only what the duty needs)")) }
                            @for f in &e.body.fields {
                                label.check { input type="checkbox" name="fields" value=(f.name); " " (f.label) " " span.mono.muted { (f.name) }
                                    @if f.mask != MaskRule::None { " " span.badge { (lang.t(f.mask.label_zh(), f.mask.label_en())) } } }
                            }
                        }
                        label { (lang.t("共享方式", "Mode")) select name="mode" {
                            @for m in ShareMode::ALL { @if e.body.share.modes.is_empty() || e.body.share.modes.contains(m) {
                                option value=(m.as_str()) { (lang.t(m.label_zh(), m.label_en())) }
                            } }
                        } }
                        label { (lang.t("场景库中的场景（可选，符合场景的直接授权）", "Library scenario (optional; a request within it is granted at once)")) select name="scenario_id" {
                            option value="" { "—" }
                            @for s in &scenarios { option value=(s.id) { (s.name) " · " (mode_label(lang, s.mode)) " · " (s.fields.join(", ")) } }
                        } }
                        label { (lang.t("应用场景", "Application scenario")) input name="scenario" required; }
                        label { (lang.t("法律依据", "Legal basis")) input name="legal_basis" required; }
                        label { (lang.t("用途", "Purpose")) textarea name="purpose" required {} }
                        label { (lang.t("使用期限至", "Needed until")) input name="until" type="date" required value=(until.to_string()); }
                        label.check { input type="checkbox" name="pledge" value="true" required; " "
                            (lang.t("本单位承诺：所填信息真实；数据仅用于所述用途，依法依规使用，不向第三方提供，并保障数据安全。",
                                "We pledge that this request is truthful, and that the data will be used only for the stated purpose, lawfully, not passed to third parties, and kept secure.")) }
                        button type="submit" { (lang.t("提交申请", "Submit request")) }
                    }
                }
            }
        },
    )
}

pub async fn request_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Form(input): Form<sh::RequestInput>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let out = sh::do_submit(&state, &p, &input).await?;
    see_other(&format!(
        "/share/requests/{}?ok={}",
        out.r.id,
        lang.t(&format!("申请已提交：{}", out.status_zh), &format!("request submitted: {}", out.status_en))
    ))
}

fn grant_terms(lang: Lang, g: &pdp_storage::Grant) -> Markup {
    html! {
        dl.grant-terms {
            dt { (lang.t("信息项与脱敏", "Fields and masking")) }
            dd { @for f in &g.fields {
                span.mono { (f) } " "
                @let rule = g.masking.get(f).and_then(|m| MaskRule::parse(m)).unwrap_or(MaskRule::Suppress);
                span.badge { (lang.t(rule.label_zh(), rule.label_en())) } " "
            } }
            @if !g.row_filters.is_empty() {
                dt { (lang.t("行范围", "Rows")) }
                dd.mono { @for f in &g.row_filters { (f.field) (if f.op == FilterOp::Prefix { " ^= " } else { " = " }) (f.values.join(" | ")) " " } }
            }
            @if g.mode == ShareMode::Statistics { dt { (lang.t("最小分组", "Smallest group")) } dd { (g.min_group) } }
            dt { (lang.t("到期", "Expires")) } dd { (g.expires_on) }
        }
    }
}

/// `/share/requests/{id}`: one request, its notes, and the forms its reader may use.
pub async fn request_page(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Query(f): Query<Flash>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let o = sh::do_get_request(&state, &p, id).await?;
    let e = pdp_app::datasets::published_entry(&state, o.r.entry_id).await.ok();
    let label = |name: &str| {
        e.as_ref()
            .and_then(|e| e.body.fields.iter().find(|f| f.name == name))
            .map(|f| f.label.clone())
            .unwrap_or_default()
    };
    let party = p.org_id == Some(o.r.requester_org_id) || p.org_id == Some(o.r.provider_org_id);
    let can_escalate = party && o.r.status == RequestStatus::Negotiating;
    page(
        lang,
        Some(&p),
        "/share",
        &format!("{} #{id}", lang.t("共享申请", "Share request")),
        html! {
            (notice(f.ok.as_deref(), lang))
            p { a href="/share" { "← " (lang.t("数据共享", "Sharing")) } }
            dl #request {
                dt { (lang.t("数据", "Dataset")) } dd { (o.dataset_name) " " span.mono.muted { (o.r.dataset) } " · " (share_type_label(lang, o.r.share_type)) }
                dt { (lang.t("申请单位", "Requester")) } dd { (o.requester_org_name) " · " (o.r.requester_name) " · " (fmt_time(o.r.submitted_at_micros)) }
                dt { (lang.t("提供单位", "Provider")) } dd { (o.provider_org_name) }
                dt { (lang.t("信息项", "Fields")) } dd { @for f in &o.r.fields { (label(f)) " " span.mono.muted { (f) } "; " } }
                @if !o.r.beyond_need.is_empty() {
                    dt { (lang.t("超出场景所需", "Beyond the scenario's need")) }
                    dd #beyond-need { span.badge.st-rejected { (o.r.beyond_need.join(", ")) } }
                }
                dt { (lang.t("共享方式", "Mode")) } dd { (mode_label(lang, o.r.mode)) }
                dt { (lang.t("应用场景", "Scenario")) } dd { (o.r.scenario) }
                dt { (lang.t("法律依据", "Legal basis")) } dd { (o.r.legal_basis) }
                dt { (lang.t("用途", "Purpose")) } dd { (o.r.purpose) }
                dt { (lang.t("使用期限至", "Needed until")) } dd { (o.r.until) }
                dt { (lang.t("承诺", "Pledge")) } dd { @if o.r.pledged { (lang.t("已承诺", "given")) } @else { "—" } }
                @if let Some(due) = o.r.due_date {
                    dt { (lang.t("答复期限", "Due")) } dd { (due) @if o.overdue { " " span.badge.st-rejected { (lang.t("逾期", "overdue")) } } @if o.due_provisional { " " span.badge title=(lang.t("节假日表未录入，暂按周一至周五计算", "no holiday table yet: counted on weekdays alone")) { (lang.t("暂定", "provisional")) } } }
                }
                dt { (lang.t("状态", "State")) } dd #request-status { span.badge { (lang.t(&o.status_zh, &o.status_en)) } }
                @if !o.r.decision_reason.is_empty() { dt { (lang.t("理由", "Reason")) } dd #decision-reason { (o.r.decision_reason) } }
                @if let Some(g) = &o.grant { dt { (lang.t("授权", "Grant")) } dd { a #grant-link href=(format!("/share/grants/{}", g.id)) { "#" (g.id) } } }
            }
            @if let Some(g) = &o.grant { (grant_terms(lang, g)) }
            @if !o.notes.is_empty() {
                h2 { (lang.t("记录", "Record")) }
                ul #notes { @for n in &o.notes { li { span.badge { (lang.t(n.kind.label_zh(), n.kind.label_en())) } " " strong { (n.author_name) } " " span.muted { (fmt_time(n.created_at_micros)) } ": " (n.body) } } }
            }
            @if o.can_approve {
                h2 { (lang.t("审批", "Answer")) }
                section.card { form #approve-form method="post" action=(format!("/share/requests/{id}/approve")) {
                    (csrf(&p))
                    fieldset { legend { (lang.t("授权的信息项与脱敏（不得低于目录规定）", "Granted fields and masking (never below the catalog's)")) }
                        @for name in &o.r.fields {
                            @let default = e.as_ref().and_then(|e| e.body.fields.iter().find(|f| &f.name == name)).map(|f| f.mask).unwrap_or(MaskRule::None);
                            div.row {
                                label.check { input type="checkbox" name="fields" value=(name) checked; " " (label(name)) " " span.mono.muted { (name) } }
                                input type="hidden" name="mask_field" value=(name);
                                select name="mask" aria-label=(lang.t("脱敏", "Masking")) {
                                    @for m in MaskRule::ALL { option value=(m.as_str()) selected[*m == default] { (lang.t(m.label_zh(), m.label_en())) } }
                                }
                            }
                        }
                    }
                    label { (lang.t("行范围：字段（可选）", "Row range: field (optional)")) select name="filter_field" {
                        option value="" { "—" }
                        @for name in e.as_ref().map(|e| e.body.fields.iter().map(|f| f.name.clone()).collect::<Vec<_>>()).unwrap_or_default() { option value=(name) { (name) } }
                    } }
                    label { (lang.t("行范围：取值前缀（逗号分隔，如区划代码）", "Row range: value prefixes (comma separated, e.g. area codes)")) input name="filter_values"; }
                    label { (lang.t("授权到期日", "Grant expires on")) input name="expires_on" type="date" value=(o.r.until); }
                    @if o.r.mode == ShareMode::Statistics { label { (lang.t("最小分组", "Smallest group")) input name="min_group" type="number" value="5" min="2"; } }
                    label { (lang.t("审批意见", "Note")) input name="note"; }
                    button #approve type="submit" { (lang.t("同意共享", "Approve")) }
                } }
                section.card { form #refuse-form method="post" action=(format!("/share/requests/{id}/refuse")) {
                    (csrf(&p))
                    label { (lang.t("不予共享的理由（必填）", "Reason for refusing (required)")) textarea name="reason" required {} }
                    button.danger type="submit" { (lang.t("不予共享", "Refuse")) }
                } }
            }
            @if o.can_withdraw {
                form #withdraw-form method="post" action=(format!("/share/requests/{id}/withdraw")) {
                    (csrf(&p)) button type="submit" { (lang.t("撤回申请", "Withdraw the request")) }
                }
            }
            @if party && o.r.status == RequestStatus::Negotiating {
                h2 { (lang.t("协商", "Negotiation")) }
                section.card { form #note-form method="post" action=(format!("/share/requests/{id}/note")) {
                    (csrf(&p))
                    label { (lang.t("协商意见", "Message")) textarea name="body" required {} }
                    button type="submit" { (lang.t("发送", "Send")) }
                } }
            }
            @if can_escalate {
                section.card { form #escalate-form method="post" action=(format!("/share/requests/{id}/escalate")) {
                    (csrf(&p))
                    label { (lang.t("提请主管部门裁决的理由", "Why the authority should decide")) textarea name="reason" required {} }
                    button type="submit" { (lang.t("提请裁决", "Escalate")) }
                } }
            }
            @if o.can_decide {
                h2 { (lang.t("主管部门裁决", "The authority's decision")) }
                section.card { form #decide-form method="post" action=(format!("/share/requests/{id}/decide")) {
                    (csrf(&p))
                    label { (lang.t("裁决", "Decision")) select name="grant" {
                        option value="true" { (lang.t("予以共享", "Grant")) } option value="false" { (lang.t("不予共享", "Refuse")) }
                    } }
                    label { (lang.t("理由（必填）", "Reason (required)")) textarea name="reason" required {} }
                    button type="submit" { (lang.t("作出裁决", "Decide")) }
                } }
            }
        },
    )
}

/// The approval form. Each requested field's row sends its name as `mask_field` and its masking
/// as `mask` (both always submit, so the lists stay parallel), and `fields` once if its box is
/// ticked.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ApproveForm {
    fields: Vec<String>,
    mask_field: Vec<String>,
    mask: Vec<String>,
    filter_field: String,
    filter_values: String,
    expires_on: Option<String>,
    min_group: Option<i64>,
    note: Option<String>,
}

impl From<ApproveForm> for sh::ApproveInput {
    fn from(f: ApproveForm) -> Self {
        let masking = f
            .mask_field
            .into_iter()
            .zip(f.mask)
            .filter(|(name, m)| !m.is_empty() && f.fields.contains(name))
            .collect::<BTreeMap<_, _>>();
        let values = typed_list(&f.filter_values);
        let row_filters = (!f.filter_field.is_empty() && !values.is_empty())
            .then(|| vec![RowFilter { field: f.filter_field, op: FilterOp::Prefix, values }]);
        let given = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
        sh::ApproveInput {
            fields: Some(f.fields),
            masking: Some(masking),
            row_filters,
            expires_on: given(f.expires_on),
            min_group: f.min_group,
            note: given(f.note),
        }
    }
}

fn back(id: i64, lang: Lang, zh: &str, en: &str) -> Page {
    see_other(&format!("/share/requests/{id}?ok={}", lang.t(zh, en)))
}

pub async fn approve_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<ApproveForm>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    sh::do_approve(&state, &p, id, &f.into()).await?;
    back(id, lang, "已同意共享并生成授权", "approved; the grant is in force")
}

pub async fn refuse_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<ReasonForm>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    sh::do_refuse(&state, &p, id, &f.reason).await?;
    back(id, lang, "已不予共享", "refused")
}

pub async fn withdraw_submit(State(state): S, headers: HeaderMap, Extension(p): P, Path(id): Path<i64>) -> Page {
    let lang = Lang::from_headers(&headers);
    sh::do_withdraw(&state, &p, id).await?;
    back(id, lang, "申请已撤回", "request withdrawn")
}

/// A message in the consultation on a request.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NoteForm {
    body: String,
}

pub async fn note_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<NoteForm>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    sh::do_add_note(&state, &p, id, &f.body).await?;
    back(id, lang, "协商意见已记录", "message recorded")
}

pub async fn escalate_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<ReasonForm>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    sh::do_escalate(&state, &p, id, &f.reason).await?;
    back(id, lang, "已提请主管部门裁决", "escalated to the authority")
}

pub async fn decide_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(input): Form<sh::DecideInput>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    sh::do_decide(&state, &p, id, &input).await?;
    back(id, lang, "裁决已记录", "decision recorded")
}

#[derive(Debug, Deserialize)]
pub struct GrantQuery {
    ok: Option<String>,
}

/// `/share/grants/{id}`: the grant, its usage and life cycle; for the user organisation, the
/// tool of its mode.
pub async fn grant_page(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Query(q): Query<GrantQuery>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    grant_view(&state, &p, lang, id, q.ok.as_deref(), None, None).await
}

/// `POST /share/grants/{id}/records`: a view lookup from the grant's page, a data access
/// audited like the API's. The key is posted: a citizen ID number in a page's URL would stay in
/// the browser's history and in proxies' logs.
pub async fn view_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(KeyForm { key }): Form<KeyForm>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let out = sh::do_view(&state, &p, id, &sh::ViewInput { key, offset: None, limit: None }).await?.out;
    grant_view(&state, &p, lang, id, None, Some(out), None).await
}

async fn grant_view(
    state: &AppState,
    p: &Principal,
    lang: Lang,
    id: i64,
    ok: Option<&str>,
    records: Option<sh::ViewOut>,
    verdict: Option<sh::VerifyOut>,
) -> Page {
    // The page shows the grant's usage, and a verify or a view lookup may have just recorded
    // an access in this same request, after the gate's sync (or, for the verify form, a data
    // access, with none), so the access journal is moved into the database here.
    state.sync_accesses().await;
    let g = sh::do_get_grant(state, p, id).await?;
    let user = p.org_id == Some(g.g.user_org_id) && p.allows(Permission::UseShare);
    let e = pdp_app::datasets::published_entry(state, g.g.entry_id).await.ok();
    let label = |name: &str| {
        e.as_ref()
            .and_then(|e| e.body.fields.iter().find(|f| f.name == name))
            .map(|f| f.label.clone())
            .unwrap_or_else(|| name.to_string())
    };
    let licence = e.as_ref().is_some_and(|e| pdp_domain::document::is_licence(&e.body));
    let reports = state.storage.list_usage_reports(Some(id)).await?;
    let last = reports.iter().map(|r| r.period_end).max();
    let due_date = pdp_domain::sharing::report_due(pdp_app::clock::date_of(g.g.created_at_micros), last);
    let due = ops::ReportDue {
        grant_id: id,
        dataset: g.g.dataset.clone(),
        user_org_id: g.g.user_org_id,
        provider_org_id: g.g.provider_org_id,
        last_period_end: last.map(|d| d.to_string()),
        due: due_date.to_string(),
        overdue: pdp_app::clock::today_date() > due_date && g.g.status == GrantStatus::Active,
    };
    page(
        lang,
        Some(p),
        "/share",
        &format!("{} #{id}", lang.t("共享授权", "Grant")),
        html! {
            (notice(ok, lang))
            p { a href="/share" { "← " (lang.t("数据共享", "Sharing")) } @if let Some(r) = g.g.request_id { " · " a href=(format!("/share/requests/{r}")) { (lang.t("申请", "Request")) " #" (r) } } }
            dl #grant {
                dt { (lang.t("数据", "Dataset")) } dd { (g.dataset_name) " " span.mono.muted { (g.g.dataset) } }
                dt { (lang.t("使用单位", "User")) } dd { (g.user_org_name) }
                dt { (lang.t("提供单位", "Provider")) } dd { (g.provider_org_name) }
                dt { (lang.t("应用场景", "Scenario")) } dd { (g.g.scenario) }
                dt { (lang.t("用途", "Purpose")) } dd { (g.g.purpose) }
                dt { (lang.t("共享方式", "Mode")) } dd { (mode_label(lang, g.g.mode)) }
                dt { (lang.t("状态", "State")) } dd #grant-status { span.badge { (lang.t(&g.status_zh, &g.status_en)) } @if g.expired { " " span.badge.st-rejected { (lang.t("已到期", "expired")) } } @if !g.g.change_reason.is_empty() { " " span.muted { (g.g.change_reason) } } }
                dt { (lang.t("使用情况", "Usage")) } dd #grant-usage { (g.usage.accesses) (lang.t(" 次访问，", " accesses, ")) (g.usage.rows) (lang.t(" 行", " rows"))
                    @if let Some(t) = g.usage.last_access_micros { " · " (lang.t("最近 ", "last ")) (fmt_time(t)) } }
            }
            (grant_terms(lang, &g.g))
            @if user && g.usable {
                @match g.g.mode {
                    ShareMode::Verify => {
                        h2 { (lang.t("核验", "Verify")) }
                        p.muted { (lang.t("输入标识和待核验的值，只返回“一致/不一致”，不返回数据。", "Give a key and the values to check; the answer is match or no match, never the data.")) }
                        section.card { form #verify-form method="post" action=(format!("/share/grants/{id}/verify")) {
                            (csrf(p))
                            label { (lang.t("记录标识", "Record key")) input name="key" required; }
                            @for f in &g.g.fields {
                                input type="hidden" name="field" value=(f);
                                label { (label(f)) " " span.mono.muted { (f) } input name="value" data-field=(f); }
                            }
                            button type="submit" { (lang.t("核验", "Verify")) }
                        } }
                        @if let Some(v) = &verdict {
                            table #verdict {
                                thead { tr { th { (lang.t("信息项", "Field")) } th { (lang.t("结果", "Result")) } } }
                                tbody {
                                    @if !v.found { tr { td colspan="2" { span.badge.st-rejected { (lang.t("未找到该记录", "no such record")) } } } }
                                    @for (f, m) in &v.matches { tr { td { (label(f)) } td { @if *m { span.badge.st-published { (lang.t("一致", "match")) } } @else { span.badge.st-rejected { (lang.t("不一致", "no match")) } }
                                        @if v.disputed.contains(f) { " " span.badge.disputed title=(lang.t("信息主体对该值提出了异议，提供单位正在核查；核查期间不影响业务办理", "the subject disputes this value and the provider is checking it; business goes on meanwhile")) { (lang.t("异议中", "disputed")) } } } } }
                                }
                            }
                        }
                    }
                    ShareMode::View => {
                        @if licence {
                            h2 { (lang.t("调取电子证照", "Fetch electronic licences")) }
                            p.muted { (lang.t("按申请人的身份证号码或统一社会信用代码调取证照，代替纸质材料。", "Fetch an applicant's licences by citizen ID or credit code instead of asking for paper.")) }
                            form #documents-form method="post" action=(format!("/share/grants/{id}/documents")) {
                                (csrf(p))
                                label { (lang.t("申请人标识", "Applicant identifier")) input name="holder" required; }
                                button type="submit" { (lang.t("调取", "Fetch")) }
                            }
                        }
                        h2 { (lang.t("查询", "Look up")) }
                        form #view-form method="post" action=(format!("/share/grants/{id}/records")) {
                            (csrf(p))
                            label { (lang.t("记录标识", "Record key")) input name="key" required; }
                            button type="submit" { (lang.t("查询", "Look up")) }
                        }
                        @if let Some(v) = &records {
                            p.muted { (lang.t("共 ", "")) (v.total) (lang.t(" 条（已按授权脱敏）", " records (masked as granted)")) }
                            table #records {
                                thead { tr { @for c in &v.columns { th { (label(c)) } } } }
                                tbody { @for (i, row) in v.rows.iter().enumerate() { tr { @for (c, cell) in v.columns.iter().zip(row) {
                                    @let disputed = v.disputed.iter().any(|d| d.row == i && &d.field == c);
                                    td.disputed[disputed] { (cell.clone().unwrap_or_default())
                                        @if disputed { " " span.badge.disputed title=(lang.t("信息主体对该值提出了异议，提供单位正在核查；核查期间不影响业务办理", "the subject disputes this value and the provider is checking it; business goes on meanwhile")) { (lang.t("异议中", "disputed")) } } }
                                } } } }
                            }
                        }
                    }
                    ShareMode::Bulk => {
                        h2 { (lang.t("批量交换", "Bulk")) }
                        p { a #export href=(format!("/api/v1/share/grants/{id}/export.csv")) { (lang.t("下载授权范围内的数据（CSV，已脱敏）", "Download the granted data (CSV, masked)")) }
                        " · " a #export-parquet href=(format!("/api/v1/share/grants/{id}/export.parquet")) { "Parquet" }
                        " · " span.muted { (lang.t("数据工具可通过 Delta Sharing 协议读取：", "Data tools read it over Delta Sharing: ")) code { "/delta-sharing" } } }
                        p.muted { (lang.t("下载的文件带有本授权的追溯标记（脱敏值中的星号），泄露的副本可追溯到本授权。", "Downloaded files carry this grant's trace mark (in the asterisks of masked values): a leaked copy names this grant.")) }
                        @if !g.disputed.is_empty() {
                            h3 { (lang.t("异议中的值", "Values under objection")) }
                            p.muted { (lang.t("以下值的信息主体提出了异议，提供单位正在核查；核查期间不影响使用。", "Their subjects dispute these values and the provider is checking them; use goes on meanwhile.")) }
                            table #disputed-values {
                                thead { tr { th { (lang.t("记录", "Record")) } th { (lang.t("信息项", "Field")) } } }
                                tbody { @for d in &g.disputed { tr { td.mono { (d.key) } td { (label(&d.field)) " " span.badge.disputed { (lang.t("异议中", "disputed")) } } } } }
                            }
                        }
                    }
                    _ => {
                        h2 { (lang.t("统计", "Statistics")) }
                        p.muted { (lang.t("通过接口 POST /api/v1/share/grants/", "Through the API: POST /api/v1/share/grants/")) (id) "/statistics" }
                    }
                }
            }
            h2 { (lang.t("使用情况报告", "Usage reports")) }
            p #report-due { (lang.t("下次报告期限：", "Next report due: ")) (due.due) @if due.overdue { " " span.badge.st-rejected { (lang.t("逾期", "overdue")) } } }
            @if !reports.is_empty() {
                ul #reports { @for r in &reports { li { (lang.t("报告期末 ", "Period to ")) (r.period_end) " · " (r.filed_by_name) " · " span.muted { (fmt_time(r.filed_at_micros)) } ": " (r.body) } } }
            }
            @if user {
                section.card { form #report-form method="post" action=(format!("/share/grants/{id}/reports")) {
                    (csrf(p))
                    label { (lang.t("报告期末", "Period ends")) input name="period_end" type="date"; }
                    label { (lang.t("使用情况（用途、使用人员、数据安全情况）", "Use (purposes, users, security incidents)")) textarea name="body" required {} }
                    button type="submit" { (lang.t("提交报告", "File report")) }
                } }
            }
            @if g.can_manage {
                h2 { (lang.t("授权管理", "Manage the grant")) }
                section.card { form #grant-status-form method="post" action=(format!("/share/grants/{id}/status")) {
                    (csrf(p))
                    label { (lang.t("操作", "Action")) select name="action" {
                        @if g.g.status == GrantStatus::Active { option value="suspend" { (lang.t("暂停", "Suspend")) } }
                        @if g.g.status == GrantStatus::Suspended { option value="resume" { (lang.t("恢复", "Resume")) } }
                        @if g.g.status != GrantStatus::Revoked { option value="revoke" { (lang.t("撤销", "Revoke")) } }
                    } }
                    label { (lang.t("理由（必填）", "Reason (required)")) input name="reason" required; }
                    button type="submit" { (lang.t("确定", "Apply")) }
                } }
            }
        },
    )
}

/// A step in a grant's life: `suspend`, `resume` or `revoke`, with its reason.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GrantStatusForm {
    action: String,
    reason: String,
}

pub async fn grant_status_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<GrantStatusForm>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let g = sh::do_change_grant(&state, &p, id, &f.action, &f.reason).await?;
    see_other(&format!("/share/grants/{id}?ok={}", lang.t(&g.status_zh, &g.status_en)))
}

/// The verify form: the record's key, and for each field of the grant its name (`field`) and
/// the claimed value (`value`, empty when not checked), as parallel lists.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VerifyForm {
    key: String,
    field: Vec<String>,
    value: Vec<String>,
}

/// The verify form: answers on the grant's page, never with the data.
pub async fn verify_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<VerifyForm>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let values: BTreeMap<String, String> =
        f.field.into_iter().zip(f.value).filter(|(_, v)| !v.trim().is_empty()).collect();
    let v = sh::do_verify(&state, &p, id, &sh::VerifyInput { key: f.key, values }).await?.out;
    grant_view(&state, &p, lang, id, None, None, Some(v)).await
}

pub async fn emergency_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Form(input): Form<ops::EmergencyInput>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let m = ops::do_declare(&state, &p, &input).await?;
    see_other(&format!(
        "/share?ok={}",
        lang.t(&format!("应急共享“{}”已启动", m.e.name), &format!("emergency {:?} declared", m.e.name))
    ))
}

pub async fn emergency_end_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<ReasonForm>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    ops::do_end(&state, &p, id, &f.reason).await?;
    see_other(&format!("/share?ok={}", lang.t("应急共享已结束", "emergency ended")))
}

pub async fn demand_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Form(input): Form<ops::DemandInput>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    ops::do_create_demand(&state, &p, &input).await?;
    see_other(&format!("/share?ok={}", lang.t("需求已提交", "demand submitted")))
}

pub async fn demand_assign_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(input): Form<ops::AssignInput>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let d = ops::do_assign(&state, &p, id, &input).await?;
    see_other(&format!("/share?ok={}", lang.t(&d.status_zh, &d.status_en)))
}

pub async fn demand_answer_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(input): Form<ops::DemandAnswer>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let d = ops::do_answer(&state, &p, id, &input).await?;
    see_other(&format!("/share?ok={}", lang.t(&d.status_zh, &d.status_en)))
}

pub async fn report_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(input): Form<ops::ReportInput>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    ops::do_file_report(&state, &p, id, &input).await?;
    see_other(&format!("/share/grants/{id}?ok={}", lang.t("使用情况报告已提交", "usage report filed")))
}

pub async fn upward_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Form(input): Form<ops::UpwardInput>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    ops::do_create_upward(&state, &p, &input).await?;
    see_other(&format!("/share?ok={}", lang.t("已提交，待汇总报送", "submitted; waiting to be forwarded")))
}

pub async fn forward_submit(State(state): S, headers: HeaderMap, Extension(p): P) -> Page {
    let lang = Lang::from_headers(&headers);
    let f = ops::do_forward(&state, &p).await?;
    let n = f.requests.len();
    see_other(&format!(
        "/share?ok={}",
        lang.t(&format!("已报送 {n} 件（批次 {}）", f.batch), &format!("{n} forwarded (batch {})", f.batch))
    ))
}

pub async fn outcome_submit(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(input): Form<ops::OutcomeInput>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let u = ops::do_outcome(&state, &p, id, &input).await?;
    see_other(&format!("/share?ok={}", lang.t(&u.status_zh, &u.status_en)))
}
