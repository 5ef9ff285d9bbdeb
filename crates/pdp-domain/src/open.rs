//! Opening public data (开放, R-OPN): the rules of an *open release*, the reviewed copy of a
//! dataset that the public portal serves.
//!
//! A release is prepared, not copied (R-OPN-04): its provider chooses fields and rows, a masking
//! rule per field at least as strong as the catalog's (personal and identifier fields are never
//! published in clear), confirms declassification and picks the formats; the authority's security
//! and confidentiality review then approves it against a checklist or returns it with reasons
//! (R-OPN-05). This module decides what a release may contain and what a review must have
//! checked; it does no IO.

use serde::{Deserialize, Serialize};

use crate::catalog::{
    EntryBody, Frequency, GradingMatrix, IdentifierRole, MaskRule, OpenType, Violation, labeled_enum,
};

labeled_enum!(
    /// Where a release stands. A published release stays published when a newer one of the
    /// same entry appears: the releases of an entry are its public version history.
    ReleaseStatus {
        PendingReview => "pending_review", "待审核", "Pending review";
        Published => "published", "已发布", "Published";
        Returned => "returned", "已退回", "Returned";
        Withdrawn => "withdrawn", "已撤回", "Withdrawn";
    }
);

labeled_enum!(
    /// How a release reached the portal (R-OPN-07): prepared by the providing department, pushed
    /// from the lake when the dataset gets a new version, harvested from another portal, or
    /// social data submitted by a registered organisation.
    ReleaseRoute {
        Upload => "upload", "部门上传", "Department upload";
        Push => "push", "平台推送", "Pushed from the platform";
        Harvest => "harvest", "采集汇聚", "Harvested";
        Social => "social", "社会数据", "Social data";
    }
);

labeled_enum!(
    /// The formats a release is downloadable in (R-OPN-03: machine-readable, easy to process).
    ReleaseFormat {
        Csv => "csv", "CSV", "CSV";
        Xlsx => "xlsx", "Excel (XLSX)", "Excel (XLSX)";
        Json => "json", "JSON", "JSON";
        Parquet => "parquet", "Parquet", "Parquet";
    }
);

impl ReleaseFormat {
    /// The file name extension and the media type of a download.
    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Json => "application/json",
            Self::Parquet => "application/vnd.apache.parquet",
        }
    }
}

/// One field of a release and how its values are treated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseField {
    pub name: String,
    /// At least as strong as the catalog's rule; never `none` for a personal field or a
    /// citizen ID. Absent means the catalog's rule.
    #[serde(default)]
    pub mask: Option<MaskRule>,
}

/// Rows a release takes: those whose `field` equals one of `values` (every filter must pass).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowFilter {
    pub field: String,
    pub values: Vec<String>,
}

/// What a release contains and how it was made: recorded with it, so that what is public can be
/// traced back to its source version and rules (R-SEC-03).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRules {
    pub fields: Vec<ReleaseField>,
    #[serde(default)]
    pub filters: Vec<RowFilter>,
    pub formats: Vec<ReleaseFormat>,
    /// The provider confirms that the data holds no state secret once declassified (脱密确认).
    #[serde(default)]
    pub declassified: bool,
    /// Each new version of the dataset becomes a new release by these rules (route 2); an
    /// unchanged schema publishes it at once, a changed one sends it back to review.
    #[serde(default)]
    pub auto_push: bool,
}

/// The most fields, filters and filter values a release names.
pub const MAX_FIELDS: usize = 200;
pub const MAX_FILTERS: usize = 10;
pub const MAX_FILTER_VALUES: usize = 100;

impl ReleaseRules {
    /// The rule applied to each released field, in release order: the release's own, else the
    /// catalog's. `None` for a field the entry does not have (refused by [`check_rules`]).
    pub fn masks(&self, body: &EntryBody) -> Vec<Option<MaskRule>> {
        self.fields
            .iter()
            .map(|rf| body.fields.iter().find(|f| f.name == rf.name).map(|f| rf.mask.unwrap_or(f.mask)))
            .collect()
    }

    pub fn field_names(&self) -> Vec<String> {
        self.fields.iter().map(|f| f.name.clone()).collect()
    }
}

fn v(out: &mut Vec<Violation>, code: &str, path: impl Into<String>, zh: impl Into<String>, en: impl Into<String>) {
    out.push(Violation { code: code.into(), path: path.into(), message_zh: zh.into(), message_en: en.into() });
}

/// Every reason the rules cannot make a release of the entry, each with its path: the entry
/// must be open (unconditionally or on application), every field openable by its grade, every
/// personal field and citizen ID masked, no rule weaker than the catalog's, declassification
/// confirmed (R-OPN-01, R-OPN-04, R-SEC-01).
pub fn check_rules(body: &EntryBody, matrix: &GradingMatrix, rules: &ReleaseRules) -> Vec<Violation> {
    let mut out = Vec::new();
    if body.open.open_type == OpenType::NotOpen {
        v(
            &mut out,
            "entry_not_open",
            "entry",
            format!("“{}”在目录中不予开放", body.name),
            format!("{:?} is not open in the catalog", body.name),
        );
    }
    if rules.fields.is_empty() || rules.fields.len() > MAX_FIELDS {
        v(
            &mut out,
            "release_fields",
            "fields",
            format!("开放数据须包含 1 至 {MAX_FIELDS} 个字段"),
            format!("a release has 1 to {MAX_FIELDS} fields"),
        );
    }
    for (i, rf) in rules.fields.iter().enumerate() {
        let p = format!("fields[{i}]");
        let Some(f) = body.fields.iter().find(|f| f.name == rf.name) else {
            v(
                &mut out,
                "release_field_unknown",
                p,
                format!("“{}”不是本资源的信息项", rf.name),
                format!("{:?} is not a field of the entry", rf.name),
            );
            continue;
        };
        if rules.fields[..i].iter().any(|o| o.name == rf.name) {
            v(
                &mut out,
                "release_field_twice",
                p.clone(),
                format!("字段“{}”重复", f.label),
                format!("{:?} twice", f.name),
            );
        }
        if matrix.rule(f.grade).open_max == OpenType::NotOpen {
            v(
                &mut out,
                "field_not_openable",
                p.clone(),
                format!("“{}”为{}数据，不予开放", f.label, f.grade.label_zh()),
                format!("{:?} is graded {} and cannot be opened", f.name, f.grade.label_en()),
            );
        }
        let rule = rf.mask.unwrap_or(f.mask);
        if !rule.at_least_as_strong_as(f.mask) {
            v(
                &mut out,
                "release_mask_weaker",
                format!("{p}.mask"),
                format!("“{}”的脱敏规则不能弱于目录的“{}”", f.label, f.mask.label_zh()),
                format!("{:?} cannot be masked less than the catalog's {}", f.name, f.mask.label_en()),
            );
        }
        // A citizen ID identifies a person even where the field is not marked personal; the
        // codes of legal entities and real estate units are public identifiers.
        if (f.personal || f.identifier == IdentifierRole::CitizenId) && rule == MaskRule::None {
            v(
                &mut out,
                "release_personal_unmasked",
                format!("{p}.mask"),
                format!("“{}”是个人信息或身份标识，开放前须脱敏或屏蔽", f.label),
                format!("{:?} is personal or identifying and must be masked or suppressed before opening", f.name),
            );
        }
    }
    if rules.filters.len() > MAX_FILTERS {
        v(&mut out, "release_filters", "filters", format!("行筛选最多 {MAX_FILTERS} 条"), "too many row filters");
    }
    for (i, rf) in rules.filters.iter().enumerate() {
        if !body.fields.iter().any(|f| f.name == rf.field) {
            v(
                &mut out,
                "release_filter_unknown",
                format!("filters[{i}].field"),
                format!("筛选字段“{}”不是本资源的信息项", rf.field),
                format!("the filter's field {:?} is not a field of the entry", rf.field),
            );
        }
        if rf.values.is_empty() || rf.values.len() > MAX_FILTER_VALUES || rf.values.iter().any(|x| x.len() > 256) {
            v(
                &mut out,
                "release_filter_values",
                format!("filters[{i}].values"),
                format!("每条筛选须有 1 至 {MAX_FILTER_VALUES} 个取值"),
                format!("a filter has 1 to {MAX_FILTER_VALUES} values of at most 256 bytes"),
            );
        }
    }
    if rules.formats.is_empty() {
        v(&mut out, "release_formats", "formats", "请至少选择一种开放格式", "choose at least one format");
    }
    if !rules.declassified {
        v(
            &mut out,
            "release_not_declassified",
            "declassified",
            "请确认数据已完成脱密处理、不含国家秘密",
            "confirm that the data is declassified and holds no state secret",
        );
    }
    out
}

/// What the security and confidentiality review confirms before a release is opened (R-OPN-05).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Checklist {
    /// No personal information is left unmasked.
    pub personal_masked: bool,
    /// The grading allows opening every field.
    pub grading_allows: bool,
    /// No state secret, trade secret or other protected information.
    pub no_secrets: bool,
    /// The legal basis of the open type is in order.
    pub legal_basis: bool,
    /// The reviewer looked at the sample.
    pub sample_checked: bool,
}

impl Checklist {
    /// The items in order, with their Chinese and English labels.
    pub fn items(&self) -> [(&'static str, bool, &'static str, &'static str); 5] {
        [
            ("personal_masked", self.personal_masked, "个人信息均已脱敏", "No personal information left unmasked"),
            ("grading_allows", self.grading_allows, "数据分级允许开放", "The grading allows opening"),
            ("no_secrets", self.no_secrets, "不含国家秘密、商业秘密", "No state or trade secret"),
            ("legal_basis", self.legal_basis, "开放依据充分", "The legal basis is in order"),
            ("sample_checked", self.sample_checked, "已查看样例数据", "The sample was looked at"),
        ]
    }

    pub fn complete(&self) -> bool {
        self.items().iter().all(|i| i.1)
    }
}

/// A reviewer's decision on a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    pub approve: bool,
    #[serde(default)]
    pub checklist: Checklist,
    /// Required when returning; what to change.
    #[serde(default)]
    pub reasons: String,
}

/// Why a review cannot be recorded as given: approval needs every item checked, a return
/// needs its reasons.
pub fn check_review(r: &Review) -> Option<Violation> {
    if r.approve && !r.checklist.complete() {
        let missing: Vec<&str> = r.checklist.items().iter().filter(|i| !i.1).map(|i| i.2).collect();
        return Some(Violation {
            code: "review_checklist_incomplete".into(),
            path: "checklist".into(),
            message_zh: format!("审查清单未完成：{}", missing.join("、")),
            message_en: "every item of the checklist must be confirmed before approval".into(),
        });
    }
    if !r.approve && r.reasons.trim().is_empty() {
        return Some(Violation {
            code: "review_reasons_required".into(),
            path: "reasons".into(),
            message_zh: "退回须说明理由".into(),
            message_en: "a return needs its reasons".into(),
        });
    }
    None
}

/// How many days may pass after an update before data of this frequency is stale (FS 38): the
/// period with a grace of half of it, at least a day. Real-time data is due daily.
pub fn stale_after_days(f: Frequency) -> i64 {
    let period = match f {
        Frequency::Realtime | Frequency::Daily => 1,
        Frequency::Weekly => 7,
        Frequency::Monthly => 31,
        Frequency::Quarterly => 92,
        Frequency::HalfYearly => 183,
        Frequency::Yearly => 366,
    };
    period + (period / 2).max(1)
}

/// Whether data last updated on `updated` is stale on `today` for its update frequency.
pub fn is_stale(f: Frequency, updated: time::Date, today: time::Date) -> bool {
    (today - updated).whole_days() > stale_after_days(f)
}

/// A short digest of what a release's rules depend on in the entry: the released fields' names,
/// types, grades, personal flags, identifier roles and catalog masks. A pushed version whose
/// digest differs from its predecessor's goes back to review.
pub fn schema_digest(body: &EntryBody, rules: &ReleaseRules) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for rf in &rules.fields {
        if let Some(f) = body.fields.iter().find(|f| f.name == rf.name) {
            h.update(
                format!(
                    "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1e}",
                    f.name,
                    f.data_type.as_str(),
                    f.grade.as_str(),
                    f.personal,
                    f.identifier.as_str(),
                    f.mask.as_str()
                )
                .as_bytes(),
            );
        }
    }
    h.update(body.open.open_type.as_str().as_bytes());
    h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

labeled_enum!(
    /// Where an application for on-application data stands (R-OPN-06).
    ApplicationStatus {
        Submitted => "submitted", "待答复", "Awaiting the provider";
        Approved => "approved", "已批准", "Approved";
        Refused => "refused", "未批准", "Refused";
        UnderReview => "under_review", "复核中", "Under review by the authority";
        Suspended => "suspended", "已暂停", "Suspended";
        Revoked => "revoked", "已撤销", "Revoked";
    }
);

labeled_enum!(
    /// Where a public request for data stands (R-OPN-09): the authority routes it to a
    /// provider, who answers that the data is now open, that opening it is planned, or why it
    /// is not opened.
    RequestStatus {
        Submitted => "submitted", "待分办", "Awaiting routing";
        Routed => "routed", "办理中", "With the provider";
        Fulfilled => "fulfilled", "已开放", "Opened";
        Planned => "planned", "计划开放", "Planned";
        Declined => "declined", "不予开放", "Not opened";
    }
);

/// The version of the licence agreement for commercial use of public data (R-OPN-10, FS 37)
/// that an applicant accepts; its text is [`LICENCE_AGREEMENT`].
pub const LICENCE_VERSION: &str = "2026-1";
pub const LICENCE_AGREEMENT: &str = "公共数据开发利用授权协议（2026-1）：申请人仅在申请载明的用途、场景和期限内使用数据；\
不得向第三方提供原始数据，不得尝试重新识别个人；发现数据错误应及时反馈；期满或被撤销后删除数据；\
商业利用形成的产品和服务应标注数据来源，并接受数据主管部门监督。";

/// What an applicant asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationInput {
    /// The catalog entry, open on application.
    pub entry_id: i64,
    pub purpose: String,
    /// The scenario the data serves.
    pub scenario: String,
    /// The released fields needed: the file served holds these only.
    pub fields: Vec<String>,
    /// The last day of use, `YYYY-MM-DD`, at most a year ahead.
    pub until: String,
    /// How the applicant keeps the data safe.
    pub security_measures: String,
    /// The applicant pledges to use the data as stated only.
    #[serde(default)]
    pub pledge: bool,
    /// Commercial use, which needs the licence agreement accepted.
    #[serde(default)]
    pub commercial: bool,
    #[serde(default)]
    pub licence_accepted: bool,
}

/// The longest free text of an application.
pub const MAX_TEXT: usize = 2000;

/// Every reason the application cannot be filed: its texts, its fields (among `released`), its
/// period (from `today`, at most a year), the pledge, and for commercial use the licence.
pub fn check_application(a: &ApplicationInput, released: &[String], today: time::Date) -> Vec<Violation> {
    let mut out = Vec::new();
    for (path, zh, text) in [
        ("purpose", "用途", &a.purpose),
        ("scenario", "应用场景", &a.scenario),
        ("security_measures", "安全保障措施", &a.security_measures),
    ] {
        if text.trim().is_empty() || text.chars().count() > MAX_TEXT {
            v(
                &mut out,
                "application_text",
                path,
                format!("请填写{zh}（不超过 {MAX_TEXT} 字）"),
                format!("{path} is required, at most {MAX_TEXT} characters"),
            );
        }
    }
    if a.fields.is_empty() {
        v(&mut out, "application_fields", "fields", "请选择所需字段", "choose the fields you need");
    }
    for f in &a.fields {
        if !released.contains(f) {
            v(
                &mut out,
                "application_field_unknown",
                "fields",
                format!("“{f}”不在开放数据中"),
                format!("{f:?} is not in the release"),
            );
        }
    }
    match time::Date::parse(&a.until, crate::calendar::ISO_DATE) {
        Ok(d) if d >= today && (d - today).whole_days() <= 366 => {}
        _ => v(
            &mut out,
            "application_period",
            "until",
            "使用期限须为今天起一年内的日期（YYYY-MM-DD）",
            "until must be a date (YYYY-MM-DD) from today to a year ahead",
        ),
    }
    if !a.pledge {
        v(
            &mut out,
            "application_pledge",
            "pledge",
            "请作出按申请用途使用数据的承诺",
            "pledge to use the data as stated only",
        );
    }
    if a.commercial && !a.licence_accepted {
        v(
            &mut out,
            "licence_required",
            "licence_accepted",
            "商业利用须接受公共数据开发利用授权协议",
            "commercial use needs the licence agreement accepted",
        );
    }
    out
}

/// An applicant's report on the use of granted on-application data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportInput {
    /// What the data was used for, and by whom.
    pub uses: String,
    /// What came of it: products, services, publications.
    pub outcome: String,
    /// Security incidents with the data; empty when there were none.
    #[serde(default)]
    pub incidents: String,
}

/// Every reason a usage report cannot be filed: the uses and outcome are required, every text
/// at most [`MAX_TEXT`] characters.
pub fn check_report(r: &ReportInput) -> Vec<Violation> {
    let mut out = Vec::new();
    for (path, zh, text, required) in [
        ("uses", "使用情况", &r.uses, true),
        ("outcome", "取得成效", &r.outcome, true),
        ("incidents", "安全事件", &r.incidents, false),
    ] {
        if (required && text.trim().is_empty()) || text.chars().count() > MAX_TEXT {
            v(
                &mut out,
                "report_text",
                path,
                format!("请填写{zh}（不超过 {MAX_TEXT} 字）"),
                format!("{path} is required, at most {MAX_TEXT} characters"),
            );
        }
    }
    out
}

/// Whether a granted application owes a usage report: its period has ended and it has none.
pub fn report_overdue(status: ApplicationStatus, until: time::Date, reports: i64, today: time::Date) -> bool {
    matches!(status, ApplicationStatus::Approved | ApplicationStatus::Suspended) && until < today && reports == 0
}

#[cfg(test)]
mod tests {

    #[test]
    fn usage_reports_need_uses_and_outcome() {
        let r =
            ReportInput {
                uses: "编制报告".into(), outcome: "发布区域营商环境报告".into(), incidents: String::new()
            };
        assert!(check_report(&r).is_empty());
        let empty = ReportInput { uses: " ".into(), outcome: String::new(), incidents: "x".repeat(MAX_TEXT + 1) };
        assert_eq!(check_report(&empty).len(), 3);
        let day = |d: u8| time::Date::from_calendar_date(2026, time::Month::December, d).unwrap();
        assert!(report_overdue(ApplicationStatus::Approved, day(5), 0, day(6)));
        assert!(!report_overdue(ApplicationStatus::Approved, day(6), 0, day(6)), "due after the last day");
        assert!(!report_overdue(ApplicationStatus::Approved, day(5), 1, day(6)));
        assert!(!report_overdue(ApplicationStatus::Refused, day(5), 0, day(6)));
    }
    use super::*;
    use crate::catalog::{CategoryClass, DataType, Field, Format, Grade, OpenAttrs, ShareAttrs};

    fn field(name: &str, grade: Grade, personal: bool, identifier: IdentifierRole, mask: MaskRule) -> Field {
        Field {
            name: name.into(),
            label: name.into(),
            data_type: DataType::Text,
            description: String::new(),
            grade,
            personal,
            identifier,
            mask,
            purpose: String::new(),
            rules: Default::default(),
        }
    }

    fn body() -> EntryBody {
        EntryBody {
            name: "企业名录".into(),
            summary: "s".into(),
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
            fields: vec![
                field("credit_code", Grade::L1, false, IdentifierRole::CreditCode, MaskRule::None),
                field("name", Grade::L1, false, IdentifierRole::None, MaskRule::None),
                field("legal_rep", Grade::L2, true, IdentifierRole::None, MaskRule::Name),
                field("rep_id", Grade::L2, true, IdentifierRole::CitizenId, MaskRule::IdNumber),
                field("tax", Grade::L4, false, IdentifierRole::None, MaskRule::None),
            ],
            identifier_field: Some("credit_code".into()),
            share: ShareAttrs::default(),
            open: OpenAttrs::default(),
        }
    }

    fn rules(fields: &[(&str, Option<MaskRule>)]) -> ReleaseRules {
        ReleaseRules {
            fields: fields.iter().map(|(n, m)| ReleaseField { name: n.to_string(), mask: *m }).collect(),
            filters: vec![],
            formats: vec![ReleaseFormat::Csv],
            declassified: true,
            auto_push: false,
        }
    }

    fn codes(b: &EntryBody, r: &ReleaseRules) -> Vec<String> {
        check_rules(b, &GradingMatrix::default(), r).into_iter().map(|v| v.code).collect()
    }

    /// covers: R-OPN-04 (a release masks every personal field at least as the catalog does)
    #[test]
    fn personal_and_identifier_fields_are_never_released_in_clear() {
        let b = body();
        assert!(codes(&b, &rules(&[("name", None), ("legal_rep", None), ("rep_id", None)])).is_empty());
        assert_eq!(
            codes(&b, &rules(&[("legal_rep", Some(MaskRule::None))])),
            ["release_mask_weaker", "release_personal_unmasked"]
        );
        // A credit code names a legal entity, not a person: it may be opened in clear. A
        // citizen ID may not, even in a field not marked personal.
        assert!(codes(&b, &rules(&[("credit_code", None)])).is_empty());
        let mut b2 = b.clone();
        b2.fields[3].personal = false;
        b2.fields[3].mask = MaskRule::None;
        assert_eq!(codes(&b2, &rules(&[("rep_id", None)])), ["release_personal_unmasked"]);
        // Keeping 6 + 4 of an ID number is weaker than keeping the first character of a name.
        assert_eq!(codes(&b, &rules(&[("legal_rep", Some(MaskRule::IdNumber))])), ["release_mask_weaker"]);
    }

    /// covers: R-OPN-01, R-SEC-01 (the grading and the open type limit what a release holds)
    #[test]
    fn grades_and_open_types_limit_releases() {
        let mut b = body();
        assert_eq!(codes(&b, &rules(&[("tax", None)])), ["field_not_openable"]);
        b.open.open_type = OpenType::NotOpen;
        assert_eq!(codes(&b, &rules(&[("name", None)])), ["entry_not_open"]);
        let mut r = rules(&[("name", None), ("nope", None), ("name", None)]);
        r.declassified = false;
        r.formats.clear();
        r.filters.push(RowFilter { field: "x".into(), values: vec![] });
        b.open.open_type = OpenType::OnApplication;
        assert_eq!(
            codes(&b, &r),
            [
                "release_field_unknown",
                "release_field_twice",
                "release_filter_unknown",
                "release_filter_values",
                "release_formats",
                "release_not_declassified"
            ]
        );
    }

    /// covers: R-OPN-05 (approval needs the whole checklist; a return needs reasons)
    #[test]
    fn reviews_need_the_checklist_or_reasons() {
        let mut r = Review { approve: true, checklist: Checklist::default(), reasons: String::new() };
        assert_eq!(check_review(&r).map(|v| v.code), Some("review_checklist_incomplete".into()));
        r.checklist = Checklist {
            personal_masked: true,
            grading_allows: true,
            no_secrets: true,
            legal_basis: true,
            sample_checked: true,
        };
        assert_eq!(check_review(&r), None);
        r.approve = false;
        assert_eq!(check_review(&r).map(|v| v.code), Some("review_reasons_required".into()));
        r.reasons = "出生日期应泛化到年".into();
        assert_eq!(check_review(&r), None);
    }

    /// covers: R-OPN-06, R-OPN-10 (an application states purpose, scenario, fields, period and
    /// security measures with a pledge; commercial use needs the licence accepted)
    #[test]
    fn applications_state_their_use_and_commercial_use_needs_the_licence() {
        let today = crate::calendar::date(2026, 12, 7).unwrap();
        let released = vec!["a".to_string(), "b".to_string()];
        let mut a = ApplicationInput {
            entry_id: 1,
            purpose: "信用评估".into(),
            scenario: "小微企业贷款授信".into(),
            fields: vec!["a".into()],
            until: "2027-06-30".into(),
            security_measures: "专网存储，访问留痕".into(),
            pledge: true,
            commercial: false,
            licence_accepted: false,
        };
        let codes = |a: &ApplicationInput| {
            check_application(a, &released, today).into_iter().map(|v| v.code).collect::<Vec<_>>()
        };
        assert!(codes(&a).is_empty());
        a.commercial = true;
        assert_eq!(codes(&a), ["licence_required"]);
        a.licence_accepted = true;
        a.fields.push("secret".into());
        a.until = "2028-01-01".into();
        a.pledge = false;
        a.purpose = " ".into();
        assert_eq!(
            codes(&a),
            ["application_text", "application_field_unknown", "application_period", "application_pledge"]
        );
        a.until = "2026-12-06".into();
        assert!(codes(&a).contains(&"application_period".to_string()), "not in the past");
    }

    /// covers: R-OPN-08 (stale data is marked by its update frequency)
    #[test]
    fn staleness_follows_the_update_frequency() {
        let d = |y, m, day| crate::calendar::date(y, m, day).unwrap();
        assert!(!is_stale(Frequency::Monthly, d(2026, 1, 1), d(2026, 2, 15)));
        assert!(is_stale(Frequency::Monthly, d(2026, 1, 1), d(2026, 2, 17)));
        assert!(!is_stale(Frequency::Daily, d(2026, 1, 1), d(2026, 1, 3)));
        assert!(is_stale(Frequency::Daily, d(2026, 1, 1), d(2026, 1, 4)));
        assert!(!is_stale(Frequency::Yearly, d(2025, 1, 1), d(2026, 1, 1)));
    }

    /// internals, no requirement (a schema change changes the digest, anything else does not)
    #[test]
    fn schema_digest_follows_the_released_fields() {
        let b = body();
        let r = rules(&[("name", None), ("legal_rep", None)]);
        let d = schema_digest(&b, &r);
        let mut b2 = b.clone();
        b2.summary = "changed".into();
        b2.fields[3].label = "x".into();
        assert_eq!(schema_digest(&b2, &r), d);
        b2.fields[2].grade = Grade::L3;
        assert_ne!(schema_digest(&b2, &r), d);
    }
}
