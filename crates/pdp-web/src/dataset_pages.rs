//! The aggregation pages: the dataset list with scores and overdue warnings, a dataset's page
//! with its load history, quality chart, upload (with progress), quarantine with corrections,
//! sample rows for the provider, and quality tasks; plus the dashboard tiles.
//!
//! Every action goes through the same use cases as the JSON API ([`pdp_app::datasets`]), so the
//! pages enforce the same scope and write the same audit events.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use maud::{Markup, html};
use pdp_domain::roles::Permission;
use serde::Deserialize;

use crate::AppState;
use crate::auth::Principal;
use crate::error::AppError;
use crate::extract::Form;
use crate::i18n::Lang;
use crate::layout::{Flash, Page, csrf, fmt_time, notice, page, see_other};
use pdp_app::datasets::{self as ds, DatasetOut, ResolveInput, RowsParams};

type S = State<Arc<AppState>>;
type P = Extension<Principal>;

fn score_cell(s: Option<f64>) -> Markup {
    html! {
        @match s {
            Some(v) => span class=(if v >= 90.0 { "score good" } else if v >= 70.0 { "score fair" } else { "score bad" }) { (format!("{v:.1}")) },
            None => span.muted { "—" },
        }
    }
}

fn overdue_badge(lang: Lang, d: &DatasetOut) -> Markup {
    html! {
        @if d.overdue {
            span.badge.st-rejected { @if d.latest_version.is_none() { (lang.t("从未归集", "Never loaded")) } @else { (lang.t("逾期未更新", "Overdue")) } }
        } @else { span.badge.st-published { (lang.t("按时", "On time")) } }
    }
}

fn task_table(lang: Lang, p: &Principal, tasks: &[pdp_storage::QualityTask]) -> Markup {
    html! {
        table #tasks {
            thead { tr { th { (lang.t("数据集", "Dataset")) } th { (lang.t("版本", "Version")) } th { (lang.t("问题", "Problem")) } th { (lang.t("状态", "State")) } th {} } }
            tbody { @for t in tasks { tr {
                td.mono { (t.dataset) }
                td { (t.version) }
                td { (t.description) }
                td { (lang.t(t.status.label_zh(), t.status.label_en())) @if !t.response.is_empty() { br; span.muted { (t.response) } } }
                td { @if t.status == pdp_domain::dataset::QualityTaskStatus::Open && p.org_id == Some(t.org_id) && p.allows(Permission::LoadData) {
                    form.inline method="post" action=(format!("/quality/tasks/{}/resolve", t.id)) {
                        (csrf(p))
                        select name="status" {
                            option value="corrected" { (lang.t("已更正", "Corrected")) }
                            option value="confirmed" { (lang.t("确认无误", "Confirmed as is")) }
                        }
                        input name="response" required placeholder=(lang.t("处理说明", "Response"));
                        button type="submit" { (lang.t("提交", "Submit")) }
                    }
                } }
            } } }
        }
    }
}

/// `/datasets`: every dataset in scope with its state; the authority sees the whole region.
pub async fn list(State(state): S, headers: HeaderMap, Extension(p): P, Query(f): Query<Flash>) -> Page {
    let lang = Lang::from_headers(&headers);
    let sets = ds::do_list_datasets(&state, &p).await?;
    let tasks = ds::do_list_tasks(&state, &p, false).await?;
    let overdue = sets.iter().filter(|d| d.overdue).count();
    let loaded = sets.iter().filter(|d| d.latest_version.is_some()).count();
    page(
        lang,
        Some(&p),
        "/datasets",
        lang.t("数据归集", "Data aggregation"),
        html! {
            (notice(f.ok.as_deref(), lang))
            p { a href="/returns/demands" { (lang.t("回流需求清单：区县需要回流的市级数据", "What districts need returned from the city")) } " · " a href="/themes" { (lang.t("主题库：整合多个部门数据的主题数据库", "Theme databases: department data joined by subject")) } }
            div.tiles {
                div.tile { div.n { (sets.len()) } div { (lang.t("数据集", "Datasets")) } }
                div.tile { div.n { (loaded) } div { (lang.t("已归集", "Loaded")) } }
                div.tile.alert[overdue > 0] { div.n #overdue-count { (overdue) } div { (lang.t("逾期未更新", "Overdue")) } }
                div.tile.alert[!tasks.is_empty()] { div.n { (tasks.len()) } div { (lang.t("待处理质量问题", "Open quality tasks")) } }
            }
            table #datasets {
                thead { tr {
                    th { (lang.t("数据集", "Dataset")) } th { (lang.t("提供单位", "Provider")) } th { (lang.t("更新周期", "Frequency")) }
                    th { (lang.t("版本", "Version")) } th { (lang.t("行数", "Rows")) } th { (lang.t("最近归集", "Last load")) }
                    th { (lang.t("质量", "Quality")) } th { (lang.t("时效", "Timeliness")) } th { (lang.t("状态", "State")) }
                } }
                tbody { @for d in &sets { tr.overdue[d.overdue] {
                    td { a href=(format!("/datasets/{}", d.entry_id)) { (d.name) } " " span.mono.muted { (d.code) } }
                    td { (d.org_name) }
                    td { (lang.t(d.frequency.label_zh(), d.frequency.label_en())) }
                    td { (d.latest_version.map(|v| v.to_string()).unwrap_or_default()) }
                    td { (d.rows.map(|v| v.to_string()).unwrap_or_default()) }
                    td { (d.last_loaded_at_micros.map(fmt_time).unwrap_or_default()) }
                    td { (score_cell(d.scores.as_ref().map(|s| s.overall))) }
                    td { (score_cell(d.scores.as_ref().map(|s| s.timeliness))) }
                    td { (overdue_badge(lang, d)) @if d.open_tasks > 0 { " " span.badge { (d.open_tasks) (lang.t(" 个问题", " tasks")) } } }
                } } }
            }
            h2 { (lang.t("质量问题", "Quality tasks")) }
            (task_table(lang, &p, &tasks))
        },
    )
}

/// The quality history as an ECharts option, read by `pdp.js` from a data attribute (the page
/// allows no inline script).
fn chart_option(lang: Lang, loads: &[pdp_storage::DatasetLoad]) -> String {
    let x: Vec<String> = loads.iter().map(|l| format!("v{}", l.version)).collect();
    let series = |zh: &str, en: &str, f: &dyn Fn(&pdp_storage::DatasetLoad) -> f64| serde_json::json!({"name": lang.t(zh, en), "type": "line", "data": loads.iter().map(f).collect::<Vec<_>>()});
    serde_json::json!({
        "tooltip": {"trigger": "axis"},
        "legend": {},
        "grid": {"left": 40, "right": 20, "top": 40, "bottom": 30},
        "xAxis": {"type": "category", "data": x},
        "yAxis": {"type": "value", "min": 0, "max": 100},
        "series": [
            series("完整性", "Completeness", &|l| l.completeness),
            series("有效性", "Validity", &|l| l.validity),
            series("唯一性", "Uniqueness", &|l| l.uniqueness),
            series("一致性", "Consistency", &|l| l.consistency),
        ]
    })
    .to_string()
}

/// `/datasets/{id}`.
pub async fn detail(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Query(f): Query<Flash>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let e = ds::visible_dataset(&state, &p, id).await?;
    let provider = p.org_id == Some(e.org_id) && p.allows(Permission::LoadData);
    let loads = state.storage.list_loads(&e.code).await?;
    let summary = ds::do_list_datasets(&state, &p).await?.into_iter().find(|d| d.entry_id == id);
    let tasks: Vec<_> =
        ds::do_list_tasks(&state, &p, true).await?.into_iter().filter(|t| t.dataset == e.code).collect();
    let (quarantine, sample) = if provider && let Some(lake) = state.lake.as_ref() {
        let q = ds::open_quarantine(lake, &e.code).await?;
        let sample = if loads.is_empty() {
            None
        } else {
            Some(
                ds::do_read_rows(
                    &state,
                    &p,
                    id,
                    &RowsParams { version: None, offset: Some(0), limit: Some(20), column: None, value: None },
                )
                .await?,
            )
        };
        (q, sample)
    } else {
        (vec![], None)
    };
    let title = format!("{} {}", e.body.name, e.code);
    page(
        lang,
        Some(&p),
        "/datasets",
        &title,
        html! {
            (notice(f.ok.as_deref(), lang))
            p { a href="/datasets" { "← " (lang.t("数据归集", "Data aggregation")) } " · " a href=(format!("/catalog/entries/{}", e.entry_id)) { (lang.t("目录条目", "Catalog entry")) } }
            @if let Some(d) = &summary {
                div.tiles {
                    div.tile { div.n { (d.latest_version.map(|v| v.to_string()).unwrap_or("—".into())) } div { (lang.t("当前版本", "Version")) } }
                    div.tile { div.n { (d.rows.unwrap_or(0)) } div { (lang.t("行数", "Rows")) } }
                    div.tile { div.n { (score_cell(d.scores.as_ref().map(|s| s.overall))) } div { (lang.t("综合质量", "Overall quality")) } }
                    div.tile.alert[d.overdue] { div.n { (overdue_badge(lang, d)) } div { (lang.t("更新周期：", "Frequency: ")) (lang.t(e.body.frequency.label_zh(), e.body.frequency.label_en())) } }
                    div.tile.alert[!quarantine.is_empty()] { div.n #quarantine-count { (quarantine.len()) } div { (lang.t("隔离中的行", "Rows in quarantine")) } }
                }
            }
            @if provider {
                h2 { (lang.t("上传数据", "Upload data")) }
                section.card {
                    form #upload-form data-csrf=(p.csrf()) data-dataset=(id) {
                        label { (lang.t("文件（CSV、JSON Lines、XLSX、Parquet）", "File (CSV, JSON Lines, XLSX, Parquet)")) input type="file" name="file" required; }
                        label { (lang.t("方式", "Mode")) select name="mode" {
                            option value="full" { (lang.t("全量替换", "Full replacement")) }
                            option value="upsert" { (lang.t("按主键增量更新", "Upsert by key")) }
                            option value="append" { (lang.t("追加", "Append")) }
                        } }
                        label { (lang.t("编码", "Encoding")) select name="encoding" {
                            option value="auto" { (lang.t("自动识别", "Detect")) } option value="utf-8" { "UTF-8" } option value="gbk" { "GBK / GB18030" }
                        } }
                        button type="submit" { (lang.t("上传并校验", "Upload and validate")) }
                        progress #upload-progress max="100" value="0" hidden {}
                    }
                    div #upload-result aria-live="polite" {}
                    noscript { p.muted { (lang.t("上传需要 JavaScript；也可使用 ", "Uploading needs JavaScript; or use ")) code { (format!("POST /api/v1/datasets/{id}/loads")) } (lang.t(" 或命令 ", " or the command ")) code { "pdp load" } } }
                }
                h2 { (lang.t("隔离区", "Quarantine")) }
                @if quarantine.is_empty() { p.muted #quarantine-empty { (lang.t("没有待更正的行。", "No rows to correct.")) } }
                @else {
                    p.muted { (lang.t("更正后的行通过校验即成为新版本；未通过则不作更改并显示原因。", "A corrected row that passes validation becomes a new version; otherwise nothing changes and the reasons are shown.")) }
                    table #quarantine {
                        thead { tr { th { (lang.t("版本", "Version")) } th { (lang.t("行号", "Row")) } th { (lang.t("原因", "Reasons")) } th { (lang.t("更正", "Correction")) } } }
                        tbody { @for (v, q) in quarantine.iter().take(200) { tr data-row=(q.row) {
                            td { (v) } td { (q.row) }
                            td { ul { @for er in &q.errors { li { @if !er.field.is_empty() { span.mono { (er.field) } " " } (lang.t(&er.message_zh, &er.message_en)) " " span.muted.mono { (er.rule) } } } } }
                            td { form.correction method="post" action=(format!("/datasets/{id}/quarantine/{v}/{}", q.row)) {
                                (csrf(&p))
                                @for (i, f) in e.body.fields.iter().enumerate() {
                                    label { span.muted { (f.label) } input name="cell" value=(if q.aligned { q.cells.get(i).cloned().unwrap_or_default() } else { String::new() }); }
                                }
                                button type="submit" { (lang.t("提交更正", "Submit correction")) }
                            } }
                        } } }
                    }
                }
            }
            h2 { (lang.t("质量趋势", "Quality over time")) }
            @if loads.is_empty() { p.muted { (lang.t("尚未归集。", "Not loaded yet.")) } }
            @else { div.chart data-echarts=(chart_option(lang, &loads)) style="height:280px" {} }
            h2 { (lang.t("归集记录", "Loads")) }
            table #loads {
                thead { tr {
                    th { (lang.t("版本", "Version")) } th { (lang.t("时间", "Time")) } th { (lang.t("类型", "Kind")) } th { (lang.t("方式", "Mode")) }
                    th { (lang.t("读入", "Input")) } th { (lang.t("通过", "Accepted")) } th { (lang.t("隔离", "Quarantined")) } th { (lang.t("总行数", "Rows after")) }
                    th { (lang.t("完整性", "Compl.")) } th { (lang.t("有效性", "Valid.")) } th { (lang.t("唯一性", "Uniq.")) } th { (lang.t("一致性", "Consist.")) }
                    th { (lang.t("来源", "Source")) } th { (lang.t("操作人", "By")) }
                } }
                tbody { @for l in loads.iter().rev() { tr {
                    td { (l.version) } td { (fmt_time(l.loaded_at_micros)) } td { (lang.t(l.kind.label_zh(), l.kind.label_en())) } td { (lang.t(l.mode.label_zh(), l.mode.label_en())) }
                    td { (l.input_rows) } td { (l.accepted) } td { (l.quarantined) } td { (l.rows_after) }
                    td { (score_cell(Some(l.completeness))) } td { (score_cell(Some(l.validity))) } td { (score_cell(Some(l.uniqueness))) } td { (score_cell(Some(l.consistency))) }
                    td { (l.source) } td { (l.actor) }
                } } }
            }
            @if let Some(s) = &sample {
                h2 { (lang.t("数据样例（前 20 行，访问已记录）", "Sample (first 20 rows; this read is logged)")) }
                div.scroll { table #sample {
                    thead { tr { @for c in &s.columns { th.mono { (c) } } } }
                    tbody { @for row in &s.rows { tr { @for c in row { td { (c.clone().unwrap_or_default()) } } } } }
                } }
            }
            h2 { (lang.t("质量问题", "Quality tasks")) }
            (task_table(lang, &p, &tasks))
        },
    )
}

/// A correction typed into the quarantine table (works without JavaScript).
pub async fn correct(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path((id, version, row)): Path<(i64, u64, u64)>,
    Form(f): Form<CorrectionForm>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    match ds::do_correct(&state, &p, id, version, row, f.cell).await {
        Ok(r) => see_other(&format!(
            "/datasets/{id}?ok={}",
            lang.t(
                &format!("第 {row} 行已更正，生成第 {} 版", r.version.unwrap_or_default()),
                &format!("row {row} corrected as version {}", r.version.unwrap_or_default())
            )
        )),
        Err(e) => Err(e.into()),
    }
}

/// A quarantined row's corrected cells, one `cell` per column in the dataset's order.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CorrectionForm {
    cell: Vec<String>,
}

pub async fn resolve(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(input): Form<ResolveInput>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let t = ds::do_resolve(&state, &p, id, &input).await?;
    let back = match state.storage.get_entry_by_code(&t.dataset).await? {
        Some(e) => format!("/datasets/{}", e.entry_id),
        None => "/datasets".into(),
    };
    see_other(&format!("{back}?ok={}", lang.t("质量问题已处理", "quality task answered")))
}

/// The aggregation part of the dashboard: overdue datasets and open quality tasks, for the
/// organisation's officer and for the authority's reviewers (R-AGG-05).
pub async fn dashboard_tiles(state: &AppState, p: &Principal, lang: Lang) -> Result<Markup, AppError> {
    if !p.allows(Permission::ViewDatasets) {
        return Ok(html! {});
    }
    let sets = ds::do_list_datasets(state, p).await?;
    let tasks = ds::do_list_tasks(state, p, false).await?;
    let mut by_scope: BTreeMap<bool, (usize, usize)> = BTreeMap::new();
    for d in &sets {
        let own = p.org_id == Some(d.org_id);
        let e = by_scope.entry(own).or_default();
        e.0 += 1;
        if d.overdue {
            e.1 += 1;
        }
    }
    let (own_n, own_overdue) = by_scope.get(&true).copied().unwrap_or_default();
    let (_, other_overdue) = by_scope.get(&false).copied().unwrap_or_default();
    Ok(html! {
        h2 { (lang.t("数据归集", "Data aggregation")) }
        div.tiles {
            a.tile href="/datasets" { div.n { (own_n) } div { (lang.t("本单位数据集", "Own datasets")) } }
            a.tile.alert[own_overdue > 0] href="/datasets" #tile-own-overdue { div.n { (own_overdue) } div { (lang.t("本单位逾期未更新", "Own datasets overdue")) } }
            @if p.allows(Permission::ReviewCatalog) || p.user.roles.contains(&pdp_domain::roles::Role::PlatformAdmin) {
                a.tile.alert[other_overdue > 0] href="/datasets" #tile-region-overdue { div.n { (other_overdue + own_overdue) } div { (lang.t("辖区逾期未更新", "Overdue in region")) } }
            }
            a.tile.alert[!tasks.is_empty()] href="/datasets#tasks" { div.n { (tasks.len()) } div { (lang.t("待处理质量问题", "Open quality tasks")) } }
        }
    })
}
