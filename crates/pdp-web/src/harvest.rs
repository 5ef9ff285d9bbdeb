//! Harvesting other portals (R-OPN-07 route 3) over HTTP: the JSON API under
//! `/api/v1/open/harvest` and the authority's page `/open/harvest`, both through
//! `pdp_app::harvest`. A run started here goes on in the background; its page shows it
//! running and refreshes until it ends.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use maud::html;
use pdp_app::harvest::{RunOut, SourceOut};
use pdp_domain::harvest::{HarvestKind, RunStatus, SourceInput};
use pdp_storage::{HarvestRun, HarvestSource};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use crate::AppState;
use crate::auth::{Principal, urlencode};
use crate::error::{self, ApiError, AppError, ErrorBody};
use crate::extract::{Form, Json, Path};
use crate::i18n::Lang;
use crate::layout::{Flash, Page, csrf, fmt_time, notice, page, see_other};

type S = State<Arc<AppState>>;
type P = Extension<Principal>;

#[derive(OpenApi)]
#[openapi(
    paths(list_sources, create_source, start_run, source_runs, run_log),
    components(schemas(SourceForm, SourceOut, RunOut, HarvestSource, HarvestRun, pdp_storage::RunItem)),
    tags((name = "harvest", description = "Harvesting already-public data from CKAN portals and DCAT-AP catalogs"))
)]
pub struct HarvestDoc;

/// A source to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceForm {
    pub name: String,
    /// `ckan` (the portal's root URL) or `dcat` (a catalog document in Turtle, JSON-LD or RDF/XML).
    pub kind: String,
    pub url: String,
    /// Hours between scheduled runs; 0 (the default) runs only when started by hand.
    #[serde(default)]
    pub schedule_hours: Option<i64>,
}

impl SourceForm {
    fn input(&self) -> Result<SourceInput, AppError> {
        let kind = HarvestKind::parse(&self.kind).ok_or_else(|| {
            AppError::bad_request(
                "harvest_kind_invalid",
                format!("未知的来源类型“{}”（ckan、dcat）", self.kind),
                format!("unknown source kind {:?} (ckan, dcat)", self.kind),
            )
        })?;
        Ok(SourceInput {
            name: self.name.clone(),
            kind,
            url: self.url.clone(),
            schedule_hours: self.schedule_hours.unwrap_or(0),
        })
    }
}

/// The harvest sources with their last runs (the city's data authority).
#[utoipa::path(get, path = "/api/v1/open/harvest/sources", tag = "harvest",
    responses((status = 200, body = Vec<SourceOut>), (status = 403, body = ErrorBody)))]
pub async fn list_sources(State(state): S, Extension(p): P) -> Result<Json<Vec<SourceOut>>, ApiError> {
    Ok(Json(pdp_app::harvest::sources(&state, &p).await?))
}

/// Registers a source: a CKAN portal or a DCAT-AP catalog, with an optional schedule.
#[utoipa::path(post, path = "/api/v1/open/harvest/sources", tag = "harvest", request_body = SourceForm,
    responses((status = 201, body = HarvestSource), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_source(
    State(state): S,
    Extension(p): P,
    Json(body): Json<SourceForm>,
) -> Result<Response, ApiError> {
    let s = pdp_app::harvest::create_source(&state, &p, &body.input()?).await?;
    Ok(error::created(Json(s)))
}

/// Starts the harvest of a source now (202 with the run, which goes on in the background;
/// 409 while another run of the source is under way).
#[utoipa::path(post, path = "/api/v1/open/harvest/sources/{id}/runs", tag = "harvest",
    params(("id" = i64, Path, description = "The source")),
    responses((status = 202, body = HarvestRun), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn start_run(State(state): S, Extension(p): P, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let run = start(&state, &p, id).await?;
    Ok(error::accepted(Json(run)))
}

async fn start(state: &Arc<AppState>, p: &Principal, id: i64) -> Result<HarvestRun, AppError> {
    let (source, run) = pdp_app::harvest::start_now(state, p, id).await?;
    let st = state.clone();
    let started = run.clone();
    tokio::spawn(async move {
        if let Err(e) = pdp_app::harvest::execute(&st, &source, started).await {
            tracing::error!(source = source.id, error = %e.en, "a harvest run could not be recorded");
        }
    });
    Ok(run)
}

/// A source's runs, newest first.
#[utoipa::path(get, path = "/api/v1/open/harvest/sources/{id}/runs", tag = "harvest",
    params(("id" = i64, Path, description = "The source")),
    responses((status = 200, body = Vec<HarvestRun>), (status = 404, body = ErrorBody)))]
pub async fn source_runs(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
) -> Result<Json<Vec<HarvestRun>>, ApiError> {
    Ok(Json(pdp_app::harvest::runs(&state, &p, id).await?))
}

/// A run with its log: one line per record (new, changed, unchanged, withdrawn, held, skipped,
/// failed, with the reason).
#[utoipa::path(get, path = "/api/v1/open/harvest/runs/{id}", tag = "harvest",
    params(("id" = i64, Path, description = "The run")),
    responses((status = 200, body = RunOut), (status = 404, body = ErrorBody)))]
pub async fn run_log(State(state): S, Extension(p): P, Path(id): Path<i64>) -> Result<Json<RunOut>, ApiError> {
    Ok(Json(pdp_app::harvest::run_log(&state, &p, id).await?))
}

fn status(lang: Lang, s: RunStatus) -> &'static str {
    lang.t(s.label_zh(), s.label_en())
}

fn counts(lang: Lang, r: &HarvestRun) -> String {
    format!(
        "{} {} · {} {} · {} {} · {} {} · {} {} · {} {} · {} {}",
        lang.t("新增", "new"),
        r.new,
        lang.t("变更", "changed"),
        r.changed,
        lang.t("未变", "unchanged"),
        r.unchanged,
        lang.t("撤回", "withdrawn"),
        r.withdrawn,
        lang.t("保留本地", "held"),
        r.held,
        lang.t("跳过", "skipped"),
        r.skipped,
        lang.t("失败", "failed"),
        r.failed
    )
}

/// `GET /open/harvest`: the sources, their last runs, the form to add one.
pub async fn page_view(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    axum::extract::Query(f): axum::extract::Query<Flash>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let sources = pdp_app::harvest::sources(&state, &p).await?;
    page(
        lang,
        Some(&p),
        "/open",
        lang.t("采集汇聚", "Harvesting"),
        html! {
            (notice(f.ok.as_deref(), lang))
            p { (lang.t("从其他开放平台采集已公开的数据：CKAN 平台（填写其根地址）或 DCAT-AP 目录（Turtle、JSON-LD 或 RDF/XML 文档地址）。每个数据集的 CSV 文件按常规校验入湖，生成“采集汇聚”途径的开放数据，与其他途径一样经安全保密审查后发布；来源不再提供的数据标记为撤回，本地修改过的目录不被覆盖。",
                "Harvest already-public data from other portals: a CKAN portal (its root URL) or a DCAT-AP catalog (the URL of a Turtle, JSON-LD or RDF/XML document). Each dataset's CSV file is loaded with the usual validation into a release of route \"harvested\", reviewed like any other before it is published; what a source no longer has is marked withdrawn, and entries edited here are not overwritten.")) }
            table #harvest-sources {
                thead { tr {
                    th { (lang.t("来源", "Source")) } th { (lang.t("类型", "Kind")) } th { (lang.t("地址", "URL")) }
                    th { (lang.t("周期", "Schedule")) } th { (lang.t("已采集", "Harvested")) } th { (lang.t("最近一次", "Last run")) } th {}
                } }
                tbody { @for s in &sources { tr {
                    td { (s.source.name) }
                    td { (lang.t(s.source.kind.label_zh(), s.source.kind.label_en())) }
                    td.mono { (s.source.url) }
                    td { @if s.source.schedule_hours > 0 { (s.source.schedule_hours) " " (lang.t("小时", "h")) } @else { (lang.t("手动", "by hand")) } }
                    td { (s.records) }
                    td { @if let Some(r) = &s.last_run {
                        a href=(format!("/open/harvest/runs/{}", r.id)) { (status(lang, r.status)) } " "
                        span.muted { (fmt_time(r.started_at_micros)) }
                    } }
                    td { form method="post" action=(format!("/open/harvest/sources/{}/run", s.source.id)) {
                        (csrf(&p)) button type="submit" { (lang.t("立即采集", "Harvest now")) }
                    } }
                } } }
            }
            section.card {
                h2 { (lang.t("添加来源", "Add a source")) }
                form #harvest-source-form method="post" action="/open/harvest/sources" {
                    (csrf(&p))
                    label { (lang.t("名称", "Name")) input name="name" required maxlength="100"; }
                    label { (lang.t("类型", "Kind")) select name="kind" {
                        @for k in HarvestKind::ALL { option value=(k.as_str()) { (lang.t(k.label_zh(), k.label_en())) } }
                    } }
                    label { (lang.t("地址", "URL")) input name="url" type="url" required placeholder="https://data.example.gov/"; }
                    label { (lang.t("采集周期（小时，0 为仅手动）", "Every (hours, 0 for by hand only)")) input name="schedule_hours" type="number" min="0" max="720" value="24"; }
                    button type="submit" { (lang.t("添加", "Add")) }
                }
            }
        },
    )
}

/// `POST /open/harvest/sources`: the page's form.
pub async fn page_create(State(state): S, headers: HeaderMap, Extension(p): P, Form(form): Form<SourceForm>) -> Page {
    let lang = Lang::from_headers(&headers);
    let s = pdp_app::harvest::create_source(&state, &p, &form.input()?).await?;
    let msg = format!("{}：{}", lang.t("已添加来源", "Source added"), s.name);
    see_other(&format!("/open/harvest?ok={}", urlencode(&msg)))
}

/// `POST /open/harvest/sources/{id}/run`: starts a run and shows it.
pub async fn page_run(State(state): S, Extension(p): P, Path(id): Path<i64>) -> Page {
    let run = start(&state, &p, id).await?;
    see_other(&format!("/open/harvest/runs/{}", run.id))
}

/// `GET /open/harvest/runs/{id}`: a run's counts and log; while it runs, the page refreshes.
pub async fn page_run_log(State(state): S, headers: HeaderMap, Extension(p): P, Path(id): Path<i64>) -> Page {
    let lang = Lang::from_headers(&headers);
    let out = pdp_app::harvest::run_log(&state, &p, id).await?;
    let r = &out.run;
    let running = r.status == RunStatus::Running;
    page(
        lang,
        Some(&p),
        "/open",
        &format!("{} #{}", lang.t("采集记录", "Harvest run"), r.id),
        html! {
            div #harvest-run hx-get=[running.then(|| format!("/open/harvest/runs/{}", r.id))]
                hx-trigger=[running.then_some("every 2s")] hx-select="#harvest-run" hx-swap="outerHTML" {
                p { a href="/open/harvest" { "← " (lang.t("采集来源", "Harvest sources")) } }
                p {
                    strong #run-status { (status(lang, r.status)) } " · "
                    (fmt_time(r.started_at_micros))
                    @if let Some(end) = r.finished_at_micros { " – " (fmt_time(end)) }
                    " · " (r.started_by)
                }
                p #run-counts { (counts(lang, r)) }
                @if !r.message.is_empty() { p.notice.warn #run-message { (r.message) } }
                table #run-items {
                    thead { tr { th { (lang.t("结果", "Outcome")) } th { (lang.t("数据集", "Dataset")) } th { (lang.t("开放数据", "Release")) } th { (lang.t("说明", "Reason")) } } }
                    tbody { @for i in &out.items { tr {
                        td { (lang.t(i.outcome.label_zh(), i.outcome.label_en())) }
                        td { (i.title) br; span.mono.muted { (i.identifier) } }
                        td { @if let Some(rel) = i.release_id { a href=(format!("/open/releases/{rel}")) { "#" (rel) } } }
                        td { (i.reason) }
                    } } }
                }
            }
        },
    )
}
