//! Social data submissions (R-OPN-07 route 4) over HTTP: the JSON API (`/api/v1/open/social`,
//! a multipart body with a `metadata` part holding the JSON description and a `file` part) and
//! the portal's page (`/open/social`, the same as a plain HTML form that works without
//! JavaScript). Both go through `pdp_app::social`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Multipart, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::html;
use pdp_app::social::SocialOut;
use pdp_domain::catalog::{CATEGORY_ITEMS, CategoryClass, Frequency, MaskRule};
use pdp_domain::open::ReleaseStatus;
use pdp_domain::social::{Licence, SocialField, SocialInput, SocialPledge};

use crate::AppState;
use crate::auth::{Principal, urlencode};
use crate::error::{self, ApiError, AppError, ErrorBody};
use crate::extract::Json;
use crate::i18n::Lang;
use crate::layout::{Flash, Page, fmt_time, notice, page, see_other};

type S = State<Arc<AppState>>;
type P = Extension<Principal>;

/// The most text parts a submission has, and the longest one.
const MAX_PARTS: usize = 64;
const MAX_TEXT_BYTES: usize = 64 * 1024;

/// A multipart submission: its text parts and its file, spooled to disk within the upload limit.
pub(crate) struct Upload {
    pub(crate) text: HashMap<String, String>,
    pub(crate) file: Option<(tempfile::NamedTempFile, String)>,
}

fn bad_multipart(e: impl std::fmt::Display) -> AppError {
    AppError::bad_request("social_bad_form", format!("表单无法读取：{e}"), format!("the form cannot be read: {e}"))
}

pub(crate) async fn read_upload(state: &AppState, mut mp: Multipart) -> Result<Upload, AppError> {
    use tokio::io::AsyncWriteExt;
    let io = |e: std::io::Error| AppError::from(pdp_lake::LakeError::Io(e.to_string()));
    let max = state.settings.limits.upload_bytes;
    let mut up = Upload { text: HashMap::new(), file: None };
    let mut parts = 0usize;
    while let Some(mut field) = mp.next_field().await.map_err(bad_multipart)? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(bad_multipart(format!("more than {MAX_PARTS} parts")));
        }
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let filename = field.file_name().unwrap_or_default().to_string();
            let tmp = tempfile::NamedTempFile::new().map_err(io)?;
            let mut f = tokio::fs::File::from_std(tmp.reopen().map_err(io)?);
            let mut written = 0u64;
            while let Some(chunk) = field.chunk().await.map_err(bad_multipart)? {
                written += chunk.len() as u64;
                if written > max {
                    return Err(crate::limits::upload_too_large(max));
                }
                f.write_all(&chunk).await.map_err(io)?;
            }
            f.flush().await.map_err(io)?;
            up.file = Some((tmp, filename));
        } else {
            let mut buf = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(bad_multipart)? {
                if buf.len() + chunk.len() > MAX_TEXT_BYTES {
                    return Err(AppError::too_large(
                        "social_field_too_large",
                        format!("表单项“{name}”超过 64 KiB"),
                        format!("the form part {name:?} is larger than 64 KiB"),
                    ));
                }
                buf.extend_from_slice(&chunk);
            }
            let value = String::from_utf8(buf).map_err(|_| bad_multipart(format!("{name} is not UTF-8")))?;
            up.text.entry(name).or_insert(value);
        }
    }
    Ok(up)
}

/// The uploaded file as rows, by its extension, within the upload limits.
pub(crate) async fn open_upload(
    state: &AppState,
    file: Option<(tempfile::NamedTempFile, String)>,
) -> Result<(Box<dyn pdp_lake::RowSource>, String, tempfile::NamedTempFile), AppError> {
    let (tmp, filename) = file.ok_or_else(|| {
        AppError::bad_request("social_file_required", "请附上数据文件", "attach the data file (part `file`)")
    })?;
    let format = pdp_lake::SourceFormat::from_name(&filename).ok_or_else(|| {
        AppError::bad_request(
            "load_bad_format",
            "文件须为 CSV、XLSX、JSON Lines 或 Parquet（按扩展名识别）",
            "the file must be CSV, XLSX, JSON Lines or Parquet, known by its extension",
        )
    })?;
    let path = tmp.path().to_path_buf();
    let sheet = state.settings.limits.sheet;
    let source = crate::limits::on_cpu(state, move || {
        pdp_lake::source::open_file_within(&path, format, pdp_lake::Encoding::Auto, &sheet)
    })
    .await??;
    Ok((source, filename, tmp))
}

/// Opens the uploaded file by its name's extension and submits it with `input`.
async fn submit_upload(
    state: &AppState,
    p: &Principal,
    input: &SocialInput,
    file: Option<(tempfile::NamedTempFile, String)>,
) -> Result<SocialOut, AppError> {
    let (source, filename, tmp) = open_upload(state, file).await?;
    let out = pdp_app::social::submit(state, p, input, source, &filename).await;
    drop(tmp);
    out
}

/// Submits social data for review (R-OPN-07): a legal entity's account whose credit code is
/// verified sends a `metadata` part (`{name, summary, item, frequency, licence, fields: [{name,
/// label, description, mask}], pledge: {lawfully_obtained, no_personal_information, no_secrets,
/// may_license}}`) and a `file` part (CSV, XLSX, JSON Lines or Parquet). Rows that fail
/// validation are quarantined and counted; the rest become a release pending the authority's
/// review.
#[utoipa::path(post, path = "/api/v1/open/social", tag = "open",
    request_body(content = Object, content_type = "multipart/form-data", description = "parts `metadata` (JSON) and `file`"),
    responses((status = 201, body = SocialOut),
        (status = 400, body = ErrorBody, description = "`release_invalid` with every broken rule, e.g. `social_pledge_incomplete`; `social_no_valid_rows`"),
        (status = 403, body = ErrorBody, description = "`social_legal_entity_only`"),
        (status = 413, body = ErrorBody), (status = 429, body = ErrorBody, description = "`social_too_many_pending`")))]
pub async fn submit(State(state): S, Extension(p): P, mp: Multipart) -> Result<Response, ApiError> {
    let mut up = read_upload(&state, mp).await?;
    let metadata = up.text.remove("metadata").ok_or_else(|| {
        AppError::bad_request("social_metadata_required", "缺少 metadata 部分", "the `metadata` part is missing")
    })?;
    let input: SocialInput = serde_json::from_str(&metadata).map_err(|e| {
        AppError::bad_request("social_bad_metadata", format!("metadata 无法解析：{e}"), format!("metadata: {e}"))
    })?;
    Ok(error::created(Json(submit_upload(&state, &p, &input, up.file).await?)))
}

/// The social data the caller submitted, newest first, with each release's state.
#[utoipa::path(get, path = "/api/v1/open/social", tag = "open", responses((status = 200, body = Vec<SocialOut>)))]
pub async fn mine(State(state): S, Extension(p): P) -> Result<Json<Vec<SocialOut>>, ApiError> {
    Ok(Json(pdp_app::social::mine(&state, &p).await?))
}

/// The page form's submission: one field a line, `name,label[,mask]`.
fn form_input(text: &HashMap<String, String>) -> Result<SocialInput, AppError> {
    let v = |k: &str| text.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let on = |k: &str| text.get(k).is_some_and(|s| !s.is_empty());
    let frequency = Frequency::parse(&v("frequency"))
        .ok_or_else(|| AppError::bad_request("invalid_frequency", "请选择更新频率", "choose the update frequency"))?;
    let licence = Licence::parse(&v("licence"))
        .ok_or_else(|| AppError::bad_request("invalid_licence", "请选择开放许可", "choose the licence"))?;
    let mut fields = Vec::new();
    for (i, line) in v("fields").lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
        let cells: Vec<&str> = line.split([',', '，']).map(str::trim).collect();
        let mask = match cells.get(2).filter(|m| !m.is_empty()) {
            Some(m) => Some(MaskRule::parse(m).ok_or_else(|| {
                AppError::bad_request(
                    "invalid_mask",
                    format!("第 {} 行的脱敏规则“{m}”未知", i + 1),
                    format!("line {}: unknown masking rule {m:?}", i + 1),
                )
            })?),
            None => None,
        };
        fields.push(SocialField {
            name: cells[0].to_string(),
            label: cells.get(1).copied().unwrap_or_default().to_string(),
            description: String::new(),
            mask,
        });
    }
    Ok(SocialInput {
        name: v("name"),
        summary: v("summary"),
        item: v("item"),
        frequency,
        licence,
        fields,
        pledge: SocialPledge {
            lawfully_obtained: on("lawfully_obtained"),
            no_personal_information: on("no_personal_information"),
            no_secrets: on("no_secrets"),
            may_license: on("may_license"),
        },
    })
}

/// `POST /open/social`: the page's form, answered by the submissions page with the outcome.
pub async fn page_submit(State(state): S, headers: HeaderMap, Extension(p): P, mp: Multipart) -> Page {
    let lang = Lang::from_headers(&headers);
    let up = read_upload(&state, mp).await?;
    let input = form_input(&up.text)?;
    let out = submit_upload(&state, &p, &input, up.file).await?;
    let msg = format!(
        "{}：{} {} / {} {}",
        lang.t("已提交审核", "Submitted for review"),
        out.accepted,
        lang.t("行接收", "rows accepted"),
        out.quarantined,
        lang.t("行隔离", "rows quarantined")
    );
    see_other(&format!("/open/social?ok={}", urlencode(&msg)))
}

fn status(lang: Lang, s: ReleaseStatus) -> &'static str {
    lang.t(s.label_zh(), s.label_en())
}

/// `GET /open/social`: the form and the organisation's submissions with their review outcome.
pub async fn page_view(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    axum::extract::Query(f): axum::extract::Query<Flash>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let mine = pdp_app::social::mine(&state, &p).await?;
    let eligible = p.org_id.is_none()
        && p.user.subject.as_ref().is_some_and(|s| s.kind() == pdp_domain::subject::SubjectKind::LegalEntity);
    page(
        lang,
        Some(&p),
        "/open",
        lang.t("提交社会数据", "Submit social data"),
        html! {
            (notice(f.ok.as_deref(), lang))
            p { (lang.t("已注册并核验统一社会信用代码的单位，可将合法持有的数据提交到开放门户。数据主管部门按与政务数据相同的安全保密审查清单审核，通过后向社会无条件开放；未通过的退回并说明理由。",
                "An organisation registered with a verified credit code may submit data it lawfully holds to the portal. The data authority reviews it against the same security checklist as government data; approved data is opened to everyone, returned data comes back with reasons.")) }
            @if !eligible {
                p.notice.warn #social-not-eligible { (lang.t("只有法人账号在数据主管部门核验其统一社会信用代码后才能提交。", "Only a legal entity's account, once the data authority has verified its credit code, may submit.")) }
            } @else {
                form.editor #social-form method="post" enctype="multipart/form-data" action=(format!("/open/social?csrf={}", urlencode(p.csrf()))) {
                    label.wide { (lang.t("数据集名称", "Dataset name")) input name="name" required maxlength="100"; }
                    label.wide { (lang.t("摘要", "Summary")) textarea name="summary" rows="3" required maxlength="2000" {} }
                    label { (lang.t("领域", "Topic")) select name="item" required {
                        @for (c, code, zh, en) in CATEGORY_ITEMS { @if *c == CategoryClass::Theme { option value=(code) { (lang.t(zh, en)) } } }
                    } }
                    label { (lang.t("更新频率", "Update frequency")) select name="frequency" {
                        @for fq in Frequency::ALL { option value=(fq.as_str()) selected[*fq == Frequency::Monthly] { (lang.t(fq.label_zh(), fq.label_en())) } }
                    } }
                    label { (lang.t("开放许可", "Licence")) select name="licence" {
                        @for l in Licence::ALL { option value=(l.as_str()) { (lang.t(l.label_zh(), l.label_en())) } }
                    } }
                    label.wide { (lang.t("信息项：每行一个，“列名,中文名称[,脱敏规则]”；脱敏规则可选 mobile、name、address、email、id_number、pseudonym、suppress",
                        "Fields, one a line: name,label[,masking rule]; rules: mobile, name, address, email, id_number, pseudonym, suppress"))
                        textarea name="fields" rows="5" required maxlength="20000" placeholder="site,点位名称\ncontact,联系电话,mobile" {} }
                    label.wide { (lang.t("数据文件（CSV、XLSX、JSON Lines、Parquet；首行为列名）", "Data file (CSV, XLSX, JSON Lines, Parquet; the first row names the columns)"))
                        input type="file" name="file" required accept=".csv,.xlsx,.jsonl,.parquet"; }
                    fieldset {
                        legend { (lang.t("承诺", "Pledge")) }
                        @for (name, zh, en) in [
                            ("lawfully_obtained", "数据来源合法", "The data was obtained lawfully"),
                            ("no_personal_information", "不含未经同意公开的个人信息", "It holds no personal information published without consent"),
                            ("no_secrets", "不含国家秘密、他人商业秘密或重要数据", "It holds no state secret, others' trade secret or important data"),
                            ("may_license", "本单位有权按所选许可开放", "We may license it as chosen"),
                        ] {
                            label.check { input type="checkbox" name=(name) value="1" required; " " (lang.t(zh, en)) }
                        }
                    }
                    button type="submit" { (lang.t("提交审核", "Submit for review")) }
                }
            }
            h2 { (lang.t("我提交的社会数据", "My submissions")) }
            @if mine.is_empty() { p.muted { (lang.t("暂无。", "None yet.")) } }
            @else {
                table #my-social {
                    thead { tr { th scope="col" { (lang.t("数据集", "Dataset")) } th scope="col" { (lang.t("提交时间", "Submitted")) } th scope="col" { (lang.t("行数", "Rows")) } th scope="col" { (lang.t("状态", "Status")) } } }
                    tbody { @for s in &mine { tr {
                        td { @if s.release.release.status == ReleaseStatus::Published { a href=(format!("/open/datasets/{}", s.release.release.entry_id)) { (s.release.name) } } @else { (s.release.name) } }
                        td { (fmt_time(s.release.release.prepared_at_micros)) }
                        td { (s.accepted) }
                        td { (status(lang, s.release.release.status))
                            @if let Some(r) = s.release.release.review.as_ref().filter(|r| !r.reasons.is_empty()) { br; span.muted { (r.reasons) } } }
                    } } }
                }
            }
        },
    )
}
