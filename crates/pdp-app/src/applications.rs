//! Applications for data open on application (有条件开放, R-OPN-06, R-OPN-10).
//!
//! A signed-in account applies for fields of an on-application dataset with purpose, scenario,
//! period, security measures and a pledge; commercial use records the acceptance of the licence
//! agreement. The provider's approver decides by a deadline in working days
//! (`open.decision_working_days`) with reasons; a refused applicant can ask the authority to
//! review, and the authority's reviewer decides. An approval lets the applicant download the
//! fields applied for, until the period ends, each file carrying the applicant's own watermark:
//! the recipient fingerprint of `pdp_domain::fingerprint` under a key derived from the
//! application's secret, so `pdp trace` names the application a leaked file came from. The
//! provider or the authority can suspend, resume and revoke the access. The applicant reports on
//! the use of granted data; once the period has ended without a report, the applicant applies
//! for nothing more until it is filed. Every step, report and download is audited.

use std::sync::Arc;

use pdp_domain::catalog::{MaskRule, OpenType};
use pdp_domain::fingerprint;
use pdp_domain::open::{
    ApplicationInput, ApplicationStatus, LICENCE_VERSION, ReleaseFormat, ReportInput, check_application, check_report,
    report_overdue,
};
use pdp_domain::roles::Permission;
use pdp_storage::{
    ApplicationQuery, ApplicationReport, ApplicationStep, NewApplication, NewApplicationReport, OpenApplication,
};

use crate::catalog::review_scope;
use crate::clock::today_date;
use crate::datasets::lake;
use crate::error::{AppError, ViolationOut};
use crate::open::{MAX_XLSX_ROWS, RowView, file_stream, open_dataset, release_root, stream_rows};
use crate::sharing::ByteStream;
use crate::{App, Principal};

fn invalid(violations: &[pdp_domain::catalog::Violation]) -> AppError {
    AppError::bad_request(
        "application_invalid",
        format!("申请有 {} 处需要补正", violations.len()),
        format!("the application breaks {} rule(s)", violations.len()),
    )
    .with_details(violations.iter().map(ViolationOut::from).collect())
}

async fn get(state: &App, id: i64) -> Result<OpenApplication, AppError> {
    state.storage.get_application(id).await?.ok_or_else(|| AppError::not_found(&format!("application {id}")))
}

fn reason_required(reason: &str) -> Result<String, AppError> {
    let r = reason.trim();
    if r.is_empty() || r.chars().count() > pdp_domain::open::MAX_TEXT {
        return Err(AppError::bad_request("reason_required", "请说明理由", "give the reasons"));
    }
    Ok(r.to_string())
}

fn conflict(e: pdp_storage::StorageError) -> AppError {
    match e {
        pdp_storage::StorageError::Conflict(_) => AppError::conflict(
            "application_state_changed",
            "申请状态已变化，请刷新后重试",
            "the application's state changed; reload and retry",
        ),
        e => e.into(),
    }
}

/// Files an application (any signed-in account). One open application per applicant and
/// dataset at a time.
pub async fn apply(state: &App, p: &Principal, input: &ApplicationInput) -> Result<OpenApplication, AppError> {
    let (d, e) = open_dataset(state, input.entry_id).await?;
    if e.body.open.open_type != OpenType::OnApplication {
        return Err(AppError::bad_request(
            "application_not_needed",
            "该数据无条件开放，无需申请即可下载",
            "this data is open unconditionally: download it without applying",
        ));
    }
    let today = today_date();
    let violations = check_application(input, &d.latest.rules.field_names(), today);
    if !violations.is_empty() {
        return Err(invalid(&violations));
    }
    let mine = state
        .storage
        .list_applications(&ApplicationQuery {
            applicant_id: Some(p.user.id),
            entry_id: Some(e.entry_id),
            ..Default::default()
        })
        .await?;
    let all_mine = state
        .storage
        .list_applications(&ApplicationQuery { applicant_id: Some(p.user.id), ..Default::default() })
        .await?;
    if let Some(owed) = all_mine.iter().find(|a| report_overdue(a.status, a.until, a.reports, today)) {
        return Err(AppError::conflict(
            "application_report_overdue",
            format!("申请 {} 的使用期限已满，请先提交使用报告", owed.id),
            format!("application {} has ended: file its usage report first", owed.id),
        ));
    }
    if mine.iter().any(|a| !matches!(a.status, ApplicationStatus::Refused | ApplicationStatus::Revoked)) {
        return Err(AppError::conflict(
            "application_exists",
            "您对该数据已有在办或有效的申请",
            "you already have an open or granted application for this data",
        ));
    }
    let due = state
        .catalog
        .calendar
        .get()
        .deadline(today, state.settings.open_decision_working_days)
        .map_err(|e| AppError::domain(&e))?
        .due;
    let until = time::Date::parse(&input.until, pdp_domain::calendar::ISO_DATE)
        .map_err(|_| AppError::bad_request("application_period", "使用期限无效", "invalid period"))?;
    let mut secret = vec![0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut secret);
    let mut ev = p.event("open.application.submit", &format!("dataset:{}", e.code));
    ev.purpose = input.purpose.trim().to_string();
    if input.commercial {
        ev.detail = serde_json::json!({ "commercial": true, "licence": LICENCE_VERSION }).to_string();
    }
    Ok(state
        .storage
        .create_application(
            NewApplication {
                entry_id: e.entry_id,
                dataset: e.code.clone(),
                org_id: e.org_id,
                applicant_id: p.user.id,
                applicant_name: p.user.display_name.clone(),
                purpose: input.purpose.trim().to_string(),
                scenario: input.scenario.trim().to_string(),
                fields: input.fields.clone(),
                until,
                security_measures: input.security_measures.trim().to_string(),
                commercial: input.commercial,
                licence_version: input.commercial.then(|| LICENCE_VERSION.to_string()),
                due_date: due,
                secret,
            },
            ev,
        )
        .await?)
}

/// The applications `p` filed, and those `p` decides or oversees: the own organisation's as a
/// provider, and those of the organisations a reviewer's region covers. Newest first.
pub async fn applications_for(state: &App, p: &Principal) -> Result<Vec<OpenApplication>, AppError> {
    let scope = if p.allows(Permission::ReviewOpenData) { review_scope(state, p).await? } else { Default::default() };
    let all = state.storage.list_applications(&ApplicationQuery::default()).await?;
    Ok(all
        .into_iter()
        .filter(|a| a.applicant_id == p.user.id || p.org_id == Some(a.org_id) || scope.contains(a.org_id))
        .collect())
}

/// The provider's decision (its approver), with reasons when refusing.
pub async fn decide(
    state: &App,
    p: &Principal,
    id: i64,
    approve: bool,
    reason: &str,
) -> Result<OpenApplication, AppError> {
    let a = get(state, id).await?;
    if p.org_id != Some(a.org_id) || !p.allows(Permission::ApproveShare) {
        return Err(AppError::not_allowed(
            "application_not_your_org",
            "只有数据提供单位的审批人可以答复该申请",
            "only the provider's approvers decide this application",
        ));
    }
    let reason = if approve { reason.trim().to_string() } else { reason_required(reason)? };
    let to = if approve { ApplicationStatus::Approved } else { ApplicationStatus::Refused };
    let mut ev = p.event(if approve { "open.application.approve" } else { "open.application.refuse" }, "");
    ev.purpose = reason.clone();
    let step =
        ApplicationStep { from: ApplicationStatus::Submitted, to, by: p.user.username.clone(), reason, appeal: false };
    state.storage.step_application(id, step, ev).await.map_err(conflict)
}

/// A refused applicant asks the authority to review the refusal, with reasons.
pub async fn appeal(state: &App, p: &Principal, id: i64, reason: &str) -> Result<OpenApplication, AppError> {
    let a = get(state, id).await?;
    if a.applicant_id != p.user.id {
        return Err(AppError::not_found(&format!("application {id}")));
    }
    let reason = reason_required(reason)?;
    let mut ev = p.event("open.application.appeal", "");
    ev.purpose = reason.clone();
    let step = ApplicationStep {
        from: ApplicationStatus::Refused,
        to: ApplicationStatus::UnderReview,
        by: p.user.username.clone(),
        reason,
        appeal: true,
    };
    state.storage.step_application(id, step, ev).await.map_err(conflict)
}

/// The authority's review of a refusal: grant the application or uphold the refusal, with
/// reasons either way.
pub async fn review(
    state: &App,
    p: &Principal,
    id: i64,
    approve: bool,
    reason: &str,
) -> Result<OpenApplication, AppError> {
    let a = get(state, id).await?;
    if !review_scope(state, p).await?.contains(a.org_id) {
        return Err(AppError::not_allowed(
            "application_not_in_scope",
            "该申请不在您的复核范围内",
            "the application is outside your region",
        ));
    }
    let reason = reason_required(reason)?;
    let to = if approve { ApplicationStatus::Approved } else { ApplicationStatus::Refused };
    let mut ev = p.event(if approve { "open.application.review.grant" } else { "open.application.review.uphold" }, "");
    ev.purpose = reason.clone();
    let step = ApplicationStep {
        from: ApplicationStatus::UnderReview,
        to,
        by: p.user.username.clone(),
        reason,
        appeal: false,
    };
    state.storage.step_application(id, step, ev).await.map_err(conflict)
}

/// Suspends, resumes or revokes a granted access (the provider's grant managers or the
/// authority), with reasons.
pub async fn set_access(
    state: &App,
    p: &Principal,
    id: i64,
    to: ApplicationStatus,
    reason: &str,
) -> Result<OpenApplication, AppError> {
    let a = get(state, id).await?;
    let provider = p.org_id == Some(a.org_id) && p.allows(Permission::ManageGrants);
    let authority = p.allows(Permission::ReviewOpenData) && review_scope(state, p).await?.contains(a.org_id);
    if !provider && !authority {
        return Err(AppError::not_allowed(
            "application_not_your_org",
            "只有数据提供单位或数据主管部门可以暂停、恢复或撤销",
            "only the provider or the authority suspends, resumes or revokes access",
        ));
    }
    let from = match (a.status, to) {
        (ApplicationStatus::Approved, ApplicationStatus::Suspended | ApplicationStatus::Revoked)
        | (ApplicationStatus::Suspended, ApplicationStatus::Approved | ApplicationStatus::Revoked) => a.status,
        _ => {
            return Err(AppError::conflict(
                "application_state_changed",
                format!("“{}”的申请不能改为“{}”", a.status.label_zh(), to.label_zh()),
                format!("an application {} cannot become {}", a.status.as_str(), to.as_str()),
            ));
        }
    };
    let reason = reason_required(reason)?;
    let mut ev = p.event(&format!("open.application.{}", to.as_str()), "");
    ev.purpose = reason.clone();
    let step = ApplicationStep { from, to, by: p.user.username.clone(), reason, appeal: false };
    state.storage.step_application(id, step, ev).await.map_err(conflict)
}

/// The applicant's download of a granted application: the fields applied for from the newest
/// release, watermarked for this application, while it is approved and its period lasts.
pub async fn download(
    state: Arc<App>,
    p: &Principal,
    id: i64,
    format: ReleaseFormat,
) -> Result<(String, &'static str, ByteStream), AppError> {
    let a = get(&state, id).await?;
    if a.applicant_id != p.user.id {
        return Err(AppError::not_found(&format!("application {id}")));
    }
    if a.status != ApplicationStatus::Approved || a.until < today_date() {
        return Err(AppError::not_allowed(
            "application_not_active",
            "该申请未获批准、已暂停、已撤销或已过使用期限",
            "the application is not approved, is suspended or revoked, or its period has ended",
        ));
    }
    let (d, e) = open_dataset(&state, a.entry_id).await?;
    let r = d.latest;
    if !r.rules.formats.contains(&format) {
        return Err(AppError::not_found(&format!("release {} as {}", r.id, format.as_str())));
    }
    if format == ReleaseFormat::Xlsx && r.rows as u64 > MAX_XLSX_ROWS {
        return Err(AppError::too_large(
            "xlsx_too_large",
            format!("超过 {MAX_XLSX_ROWS} 行的数据请下载 CSV 或 Parquet"),
            format!("data of more than {MAX_XLSX_ROWS} rows downloads as CSV or Parquet"),
        ));
    }
    let secret =
        state.storage.application_secret(id).await?.ok_or_else(|| AppError::not_found(&format!("application {id}")))?;
    let key = fingerprint::key_of(&secret);
    // The applied fields, in the release's order, with the release's masking of each.
    let released = r.rules.field_names();
    let masks = r.rules.masks(&e.body);
    let picked: Vec<(usize, String, MaskRule)> = released
        .iter()
        .enumerate()
        .filter(|(_, f)| a.fields.contains(f))
        .map(|(i, f)| (i, f.clone(), masks[i].unwrap_or(MaskRule::Suppress)))
        .collect();
    let names: Vec<String> = picked.iter().map(|p| p.1.clone()).collect();
    let rules: Vec<MaskRule> = picked.iter().map(|p| p.2).collect();
    let columns = fingerprint::copy_columns(&names, &rules);
    let traced = columns.len() > names.len();
    let pick: Vec<(usize, bool)> = picked.iter().map(|p| (p.0, fingerprint::writes_stars(p.2))).collect();
    let treat = move |row: Vec<Option<String>>| -> Vec<Option<String>> {
        let mut out: Vec<Option<String>> = pick
            .iter()
            .map(|(i, stars)| {
                let v = row.get(*i).cloned().flatten();
                if *stars { v.map(|v| fingerprint::mark(&key, v)) } else { v }
            })
            .collect();
        if traced {
            let cell = fingerprint::trace_cell(&key, &out);
            out.push(Some(cell));
        }
        out
    };
    let src = release_root(lake(&state)?)?.join(&r.file);
    let detail = serde_json::json!({ "application": id, "release": r.id, "format": format.as_str(), "rows": r.rows });
    let ev = p.event_with_detail("open.application.download", &format!("application:{id}"), detail.to_string());
    state.audit.append(ev).await.map_err(|_| AppError::audit_unavailable())?;
    let name = format!("{}-r{}-a{id}.{}", pdp_lake::table_dir(&r.dataset), r.id, format.extension());
    let stream = if format == ReleaseFormat::Parquet {
        // The applicant's own copy of this release, written once and kept beside the release.
        let dst = release_root(lake(&state)?)?.join("applications").join(format!("a{id}-r{}.parquet", r.id));
        if !dst.exists() {
            let metadata = vec![
                ("pdp.open_application".to_string(), id.to_string()),
                ("pdp.dataset".to_string(), r.dataset.clone()),
                ("pdp.release".to_string(), r.id.to_string()),
                ("pdp.applicant".to_string(), a.applicant_name.clone()),
                ("pdp.purpose".to_string(), a.purpose.clone()),
            ];
            let (src, dst2, cols) = (src.clone(), dst.clone(), columns.clone());
            tokio::task::spawn_blocking(move || pdp_lake::release::derive_file(&src, &dst2, &cols, &metadata, treat))
                .await
                .map_err(|e| AppError::internal("io_error", "写入文件失败", e.to_string()))?
                .map_err(|e| AppError::internal("io_error", "写入文件失败", e.to_string()))?;
        }
        file_stream(&dst).await?
    } else {
        stream_rows(src, format, RowView { columns: Some(columns), treat: Some(Arc::new(treat)) }).await?
    };
    crate::open::count_use(&state, &r, crate::open::Use::Download);
    Ok((name, format.media_type(), stream))
}

/// An application's use on the record: the applicant's reports and the platform's own count of
/// the files it served.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct UsageOut {
    pub application: OpenApplication,
    /// The period has ended and no report was filed.
    pub report_overdue: bool,
    pub reports: Vec<ApplicationReport>,
    /// Files downloaded under the application (from the audit log), newest first, at most 1 000.
    pub downloads: Vec<DownloadRecord>,
}

/// One download of a granted application, as the audit log has it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DownloadRecord {
    pub at_micros: i64,
    pub detail: String,
}

/// Whether `p` may read an application: its applicant, its provider, or the authority over it.
async fn may_read(state: &App, p: &Principal, a: &OpenApplication) -> Result<bool, AppError> {
    if a.applicant_id == p.user.id || p.org_id == Some(a.org_id) {
        return Ok(true);
    }
    Ok(p.allows(Permission::ReviewOpenData) && review_scope(state, p).await?.contains(a.org_id))
}

/// Files the applicant's report on the use of granted data (R-OPN-06): at any time once the
/// application was granted, and owed once its period ends.
pub async fn file_report(
    state: &App,
    p: &Principal,
    id: i64,
    input: &ReportInput,
) -> Result<ApplicationReport, AppError> {
    let a = get(state, id).await?;
    if a.applicant_id != p.user.id {
        return Err(AppError::not_found(&format!("application {id}")));
    }
    if !matches!(a.status, ApplicationStatus::Approved | ApplicationStatus::Suspended | ApplicationStatus::Revoked) {
        return Err(AppError::conflict(
            "application_not_granted",
            "该申请未获批准，无需报告使用情况",
            "the application was never granted: there is no use to report",
        ));
    }
    let violations = check_report(input);
    if !violations.is_empty() {
        return Err(AppError::bad_request(
            "report_invalid",
            format!("使用报告有 {} 处需要补正", violations.len()),
            format!("the report breaks {} rule(s)", violations.len()),
        )
        .with_details(violations.iter().map(ViolationOut::from).collect()));
    }
    let mut ev = p.event("open.application.report", "");
    ev.purpose = a.purpose.clone();
    Ok(state
        .storage
        .file_application_report(
            NewApplicationReport {
                application_id: id,
                uses: input.uses.trim().to_string(),
                outcome: input.outcome.trim().to_string(),
                incidents: input.incidents.trim().to_string(),
                filed_by: p.user.username.clone(),
            },
            ev,
        )
        .await?)
}

/// An application's use: its reports and the downloads made under it, for its applicant, its
/// provider and the authority over it.
pub async fn usage(state: &App, p: &Principal, id: i64) -> Result<UsageOut, AppError> {
    let a = get(state, id).await?;
    if !may_read(state, p, &a).await? {
        return Err(AppError::not_found(&format!("application {id}")));
    }
    let reports = state.storage.application_reports(id).await?;
    let events = state
        .storage
        .search_audit(&pdp_storage::AuditQuery {
            action: Some("open.application.download".into()),
            object: Some(format!("application:{id}")),
            limit: Some(1000),
            ..Default::default()
        })
        .await?;
    // The object filter matches a substring: `application:1` also finds `application:12`.
    let downloads = events
        .into_iter()
        .filter(|e| e.event.object == format!("application:{id}"))
        .map(|e| DownloadRecord { at_micros: e.at_micros, detail: e.event.detail })
        .collect();
    Ok(UsageOut {
        report_overdue: report_overdue(a.status, a.until, a.reports, today_date()),
        application: a,
        reports,
        downloads,
    })
}
