//! Authorized operation (授权运营, R-OPS): the rules of the two-level authorization and of what
//! is made under it.
//!
//! The city's data authority authorizes one *operation entity* (运营主体) by an operation
//! agreement of at most three years (YC 6); the operator admits *development entities* (开发主体)
//! by development agreements bounded by its own (period, catalog, products, pricing). A developer
//! applies per scenario for one list of fields (一场景一清单一审核, YC 11); the operator reviews,
//! then the data's providers and the authority confirm, in a chain the platform configures. A
//! product made from approved data passes the six-point review of the implementation plan
//! (YC plan 五(四)) before it is listed; its price follows the agreements (public-welfare use free
//! under stated conditions, industrial use cost-based under the authority's caps, QD 35,
//! YC 17) and every sale is split between the public, the operator and the developer. An entity
//! that exits keeps its logs for six months (YC plan 九).
//!
//! This module checks inputs and decides; it does no IO. Money is in fen (分) as `i64`, shares
//! in basis points (1/10 000), so that every split adds up exactly.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::catalog::{Violation, labeled_enum};

labeled_enum!(
    /// The two levels of authorization.
    AgreementKind {
        Operation => "operation", "授权运营协议", "Operation agreement";
        Development => "development", "授权开发协议", "Development agreement";
    }
);

labeled_enum!(
    /// Where an agreement stands. Only an agreement in force, on a day inside its period,
    /// permits anything.
    AgreementStatus {
        PendingReview => "pending_review", "待审议", "Awaiting review";
        InForce => "in_force", "生效", "In force";
        Suspended => "suspended", "暂停", "Suspended";
        Rectifying => "rectifying", "限期整改", "Under rectification";
        Revoked => "revoked", "已取消", "Revoked";
        Rejected => "rejected", "未通过审议", "Rejected";
        Superseded => "superseded", "已续签", "Renewed";
        Ended => "ended", "已终止", "Ended";
    }
);

impl AgreementStatus {
    /// Whether nothing can change the agreement any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Revoked | Self::Rejected | Self::Superseded | Self::Ended)
    }
}

labeled_enum!(
    /// What the grantor does to an agreement in force after a violation (R-OPS-11, YC 22).
    AgreementAction {
        Suspend => "suspend", "暂停", "Suspend";
        Rectify => "rectify", "责令限期整改", "Order rectification";
        Resume => "resume", "恢复", "Resume";
        Revoke => "revoke", "取消授权", "Revoke";
    }
);

/// The status an action leads to from `from`, or why it cannot be taken.
pub fn agreement_transition(from: AgreementStatus, action: AgreementAction) -> Result<AgreementStatus, Violation> {
    use AgreementAction as A;
    use AgreementStatus as S;
    match (from, action) {
        (S::InForce | S::Rectifying, A::Suspend) => Ok(S::Suspended),
        (S::InForce | S::Suspended, A::Rectify) => Ok(S::Rectifying),
        (S::Suspended | S::Rectifying, A::Resume) => Ok(S::InForce),
        (S::InForce | S::Suspended | S::Rectifying, A::Revoke) => Ok(S::Revoked),
        _ => Err(violation(
            "agreement_transition_invalid",
            "action",
            format!("“{}”状态的协议不能“{}”", from.label_zh(), action.label_zh()),
            format!("an agreement that is {} cannot be given the action {}", from.label_en(), action.label_en()),
        )),
    }
}

labeled_enum!(
    /// The forms a data product or service takes (YC 3).
    ProductKind {
        Dataset => "dataset", "数据集", "Dataset";
        Api => "api", "数据接口", "API service";
        Model => "model", "数据模型", "Model";
        Report => "report", "数据报告", "Report";
        Other => "other", "其他", "Other";
    }
);

/// The most years an agreement runs (YC 6: 授权期限不超过3年).
pub const MAX_AGREEMENT_YEARS: i32 = 3;
/// Months an exited entity's logs are kept at least (YC plan 九: 留存相关网络日志不少于6个月).
pub const EXIT_LOG_MONTHS: u32 = 6;
/// Basis points in a whole.
pub const WHOLE_BP: u32 = 10_000;

const MAX_TEXT: usize = 4000;
const MAX_LIST: usize = 500;

/// What an agreement states besides its parties and period (YC plan 九(一)2, 九(二)2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementTerms {
    /// 授权范围: what the entity may do with which data.
    pub scope: String,
    /// The catalog entries the agreement covers: for the operator, what the authority
    /// authorizes; for a developer, entries of the operator's development catalog.
    #[serde(default)]
    pub catalog: Vec<i64>,
    /// The kinds of product the entity may make.
    #[serde(default)]
    pub products: Vec<ProductKind>,
    /// 信息披露: what the entity discloses to the public and when.
    #[serde(default)]
    pub disclosure: String,
    /// 成效评价: how its results are evaluated.
    #[serde(default)]
    pub evaluation: String,
    /// 安全要求: its security duties.
    #[serde(default)]
    pub security: String,
    /// 权利义务: rights and duties, asset ownership, liability.
    #[serde(default)]
    pub rights_duties: String,
    #[serde(default)]
    pub pricing: PricingTerms,
}

/// The money terms of an agreement. The operator's agreement sets the authority's caps and the
/// public's share; a developer's sets the operator's fee (YC 17, YC plan 七).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingTerms {
    /// The highest price over declared cost for industrial use, in basis points (2 000: at most
    /// 20 % above cost); 0 means the price may not exceed cost.
    #[serde(default)]
    pub max_markup_bp: u32,
    /// The highest price of one sale in fen; 0 means no cap beyond the markup.
    #[serde(default)]
    pub price_cap_fen: i64,
    /// The public's share of each sale (the authority's), in basis points; the operator's
    /// agreement only.
    #[serde(default)]
    pub public_share_bp: u32,
    /// The operator's share of each sale of the developer's products, in basis points; a
    /// development agreement only.
    #[serde(default)]
    pub operator_share_bp: u32,
    /// The conditions under which public-welfare use is free (QD 35).
    #[serde(default)]
    pub welfare_conditions: String,
}

/// The agreement a development agreement is bounded by, as far as the bounds go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounds<'a> {
    pub starts_on: Date,
    pub ends_on: Date,
    pub terms: &'a AgreementTerms,
}

fn violation(code: &str, path: impl Into<String>, zh: impl Into<String>, en: impl Into<String>) -> Violation {
    Violation { code: code.into(), path: path.into(), message_zh: zh.into(), message_en: en.into() }
}

fn required(out: &mut Vec<Violation>, path: &str, zh: &str, en: &str, value: &str) {
    let n = value.trim().chars().count();
    if n == 0 {
        out.push(violation("required", path, format!("请填写{zh}"), format!("the {en} is required")));
    } else if n > MAX_TEXT {
        out.push(violation(
            "too_long",
            path,
            format!("{zh}不超过 {MAX_TEXT} 字"),
            format!("the {en} is at most {MAX_TEXT} characters"),
        ));
    }
}

fn bounded(out: &mut Vec<Violation>, path: &str, zh: &str, en: &str, value: &str) {
    if value.chars().count() > MAX_TEXT {
        out.push(violation(
            "too_long",
            path,
            format!("{zh}不超过 {MAX_TEXT} 字"),
            format!("the {en} is at most {MAX_TEXT} characters"),
        ));
    }
}

/// The same day `months` months later, or the month's last day when it has fewer days.
pub fn add_months(d: Date, months: u32) -> Date {
    let total = d.year() * 12 + (d.month() as i32 - 1) + months as i32;
    let (year, month0) = (total.div_euclid(12), total.rem_euclid(12));
    let month = Month::try_from(month0 as u8 + 1).unwrap_or(Month::December);
    let last = month.length(year);
    Date::from_calendar_date(year, month, d.day().min(last)).unwrap_or(d)
}

/// The last day an agreement starting on `starts_on` may run: the day before its third
/// anniversary.
pub fn last_allowed_day(starts_on: Date) -> Date {
    add_months(starts_on, MAX_AGREEMENT_YEARS as u32 * 12).previous_day().unwrap_or(starts_on)
}

/// Until when an entity that exits on `exited_on` keeps its logs.
pub fn logs_kept_until(exited_on: Date) -> Date {
    add_months(exited_on, EXIT_LOG_MONTHS)
}

/// Every reason an agreement cannot be signed: its period (at most three years, R-OPS-01), its
/// stated terms, and for a development agreement the operator's agreement it must stay within.
pub fn check_agreement(
    kind: AgreementKind,
    starts_on: Date,
    ends_on: Date,
    terms: &AgreementTerms,
    parent: Option<&Bounds<'_>>,
) -> Vec<Violation> {
    let mut out = Vec::new();
    required(&mut out, "terms.scope", "授权范围", "scope", &terms.scope);
    required(&mut out, "terms.security", "安全要求", "security duties", &terms.security);
    required(&mut out, "terms.rights_duties", "权利义务", "rights and duties", &terms.rights_duties);
    bounded(
        &mut out,
        "terms.pricing.welfare_conditions",
        "公益使用条件",
        "welfare conditions",
        &terms.pricing.welfare_conditions,
    );
    // The operator's agreement states what it discloses and how it is evaluated; a developer's
    // may leave both to the operator's.
    let check = if kind == AgreementKind::Operation { required } else { bounded };
    check(&mut out, "terms.disclosure", "信息披露要求", "disclosure duties", &terms.disclosure);
    check(&mut out, "terms.evaluation", "成效评价标准", "evaluation terms", &terms.evaluation);
    if ends_on < starts_on {
        out.push(violation(
            "agreement_period_invalid",
            "ends_on",
            "协议的终止日期不能早于起始日期",
            "the agreement cannot end before it starts",
        ));
    } else if ends_on > last_allowed_day(starts_on) {
        out.push(violation(
            "agreement_too_long",
            "ends_on",
            format!("授权期限不超过 {MAX_AGREEMENT_YEARS} 年：自 {starts_on} 起最晚至 {}", last_allowed_day(starts_on)),
            format!(
                "an agreement runs at most {MAX_AGREEMENT_YEARS} years: from {starts_on}, until {} at the latest",
                last_allowed_day(starts_on)
            ),
        ));
    }
    if terms.catalog.is_empty() {
        out.push(violation(
            "agreement_catalog_empty",
            "terms.catalog",
            "请列出协议涵盖的目录",
            "list the catalog entries the agreement covers",
        ));
    }
    if terms.catalog.len() > MAX_LIST || terms.catalog.iter().collect::<BTreeSet<_>>().len() != terms.catalog.len() {
        out.push(violation(
            "agreement_catalog_invalid",
            "terms.catalog",
            format!("目录条目不重复且不超过 {MAX_LIST} 个"),
            format!("catalog entries are unique and at most {MAX_LIST}"),
        ));
    }
    if terms.products.is_empty() {
        out.push(violation(
            "agreement_products_empty",
            "terms.products",
            "请列出允许开发的产品形态",
            "list the kinds of product allowed",
        ));
    }
    let p = &terms.pricing;
    if p.price_cap_fen < 0 {
        out.push(violation(
            "pricing_invalid",
            "terms.pricing.price_cap_fen",
            "价格上限不能为负",
            "the price cap cannot be negative",
        ));
    }
    if p.max_markup_bp > 100 * WHOLE_BP {
        out.push(violation(
            "pricing_invalid",
            "terms.pricing.max_markup_bp",
            "加成上限过高",
            "the markup cap is too high",
        ));
    }
    match kind {
        AgreementKind::Operation => {
            if p.operator_share_bp != 0 {
                out.push(violation(
                    "pricing_invalid",
                    "terms.pricing.operator_share_bp",
                    "运营主体的收费比例在授权开发协议中约定",
                    "the operator's share is set in each development agreement",
                ));
            }
            if p.public_share_bp > WHOLE_BP {
                out.push(violation(
                    "pricing_invalid",
                    "terms.pricing.public_share_bp",
                    "收益分成比例不超过 100%",
                    "a share is at most 100 %",
                ));
            }
            if parent.is_some() {
                out.push(violation(
                    "agreement_parent_invalid",
                    "parent_id",
                    "授权运营协议没有上级协议",
                    "an operation agreement has no parent agreement",
                ));
            }
        }
        AgreementKind::Development => {
            if p.public_share_bp != 0 {
                out.push(violation(
                    "pricing_invalid",
                    "terms.pricing.public_share_bp",
                    "公共收益比例在授权运营协议中约定",
                    "the public's share is set in the operation agreement",
                ));
            }
            match parent {
                None => out.push(violation(
                    "agreement_parent_missing",
                    "parent_id",
                    "授权开发协议须依据生效的授权运营协议",
                    "a development agreement needs the operation agreement in force it is made under",
                )),
                Some(b) => exceeds(&mut out, starts_on, ends_on, terms, b),
            }
        }
    }
    out
}

/// What a development agreement states beyond its operator's agreement.
fn exceeds(out: &mut Vec<Violation>, starts_on: Date, ends_on: Date, terms: &AgreementTerms, b: &Bounds<'_>) {
    if starts_on < b.starts_on || ends_on > b.ends_on {
        out.push(violation(
            "agreement_exceeds_parent",
            "ends_on",
            format!("授权开发期限不能超出授权运营协议的期限（{} 至 {}）", b.starts_on, b.ends_on),
            format!("a development agreement runs within its operation agreement ({} to {})", b.starts_on, b.ends_on),
        ));
    }
    let allowed: BTreeSet<i64> = b.terms.catalog.iter().copied().collect();
    let outside: Vec<String> = terms.catalog.iter().filter(|e| !allowed.contains(e)).map(i64::to_string).collect();
    if !outside.is_empty() {
        out.push(violation(
            "agreement_exceeds_parent",
            "terms.catalog",
            format!("目录条目 {} 不在授权运营协议范围内", outside.join("、")),
            format!("catalog entries {} are outside the operation agreement", outside.join(", ")),
        ));
    }
    let kinds: Vec<&str> =
        terms.products.iter().filter(|k| !b.terms.products.contains(k)).map(|k| k.label_zh()).collect();
    if !kinds.is_empty() {
        out.push(violation(
            "agreement_exceeds_parent",
            "terms.products",
            format!("产品形态“{}”不在授权运营协议范围内", kinds.join("、")),
            "product kinds outside the operation agreement",
        ));
    }
    let (p, q) = (&terms.pricing, &b.terms.pricing);
    if p.operator_share_bp + q.public_share_bp > WHOLE_BP {
        out.push(violation(
            "pricing_invalid",
            "terms.pricing.operator_share_bp",
            "运营主体与公共收益的分成合计不超过 100%",
            "the operator's and the public's shares together are at most 100 %",
        ));
    }
    if p.max_markup_bp > q.max_markup_bp
        || (q.price_cap_fen > 0 && (p.price_cap_fen == 0 || p.price_cap_fen > q.price_cap_fen))
    {
        out.push(violation(
            "agreement_exceeds_parent",
            "terms.pricing",
            "价格上限不能高于授权运营协议的上限",
            "price caps cannot exceed the operation agreement's",
        ));
    }
}

/// The caps that apply to a developer's product: the stricter of both agreements'.
pub fn effective_pricing(operation: &PricingTerms, development: &PricingTerms) -> PricingTerms {
    let cap = match (operation.price_cap_fen, development.price_cap_fen) {
        (0, c) | (c, 0) => c,
        (a, b) => a.min(b),
    };
    PricingTerms {
        max_markup_bp: operation.max_markup_bp.min(development.max_markup_bp),
        price_cap_fen: cap,
        public_share_bp: operation.public_share_bp,
        operator_share_bp: development.operator_share_bp,
        welfare_conditions: if development.welfare_conditions.trim().is_empty() {
            operation.welfare_conditions.clone()
        } else {
            development.welfare_conditions.clone()
        },
    }
}

// ----- Scenario applications -----

labeled_enum!(
    /// Who reviews a scenario application, in the order the platform configures; the operator
    /// always first (YC 11).
    ReviewStage {
        Operator => "operator", "运营主体审核", "Operator's review";
        Provider => "provider", "数据提供单位确认", "Provider's confirmation";
        Authority => "authority", "数据主管部门确认", "Authority's confirmation";
    }
);

labeled_enum!(
    /// Where a scenario application stands.
    ApplicationState {
        UnderReview => "under_review", "审核中", "Under review";
        Approved => "approved", "已批准", "Approved";
        Rejected => "rejected", "未通过", "Rejected";
        Expired => "expired", "已到期", "Expired";
        Closed => "closed", "已关闭", "Closed";
    }
);

/// One field of one catalog entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRef {
    pub entry_id: i64,
    pub field: String,
}

/// A developer's application for one scenario (一场景一清单一审核, R-OPS-04).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioInput {
    /// 应用场景: what the data will serve.
    pub scenario: String,
    /// 使用目的.
    pub purpose: String,
    /// 使用范围: who uses the results, where.
    pub scope: String,
    /// 安全防护措施.
    pub safeguards: String,
    /// The one list of fields, nothing else is opened.
    pub fields: Vec<FieldRef>,
    #[serde(with = "crate::calendar::iso_date")]
    pub starts_on: Date,
    #[serde(with = "crate::calendar::iso_date")]
    pub ends_on: Date,
}

/// The most fields one scenario lists.
pub const MAX_SCENARIO_FIELDS: usize = 200;

/// Every reason a scenario application cannot be submitted, before the catalog is consulted:
/// its statements, its list (not empty, no field twice) and its period, which lies within the
/// developer's agreement and does not start in the past.
pub fn check_scenario(input: &ScenarioInput, agreement: &Bounds<'_>, today: Date) -> Vec<Violation> {
    let mut out = Vec::new();
    required(&mut out, "scenario", "应用场景", "scenario", &input.scenario);
    required(&mut out, "purpose", "使用目的", "purpose", &input.purpose);
    required(&mut out, "scope", "使用范围", "scope of use", &input.scope);
    required(&mut out, "safeguards", "安全防护措施", "safeguards", &input.safeguards);
    if input.fields.is_empty() || input.fields.len() > MAX_SCENARIO_FIELDS {
        out.push(violation(
            "scenario_fields_invalid",
            "fields",
            format!("请列出所需的信息项（1–{MAX_SCENARIO_FIELDS} 个）"),
            format!("list the fields needed (1 to {MAX_SCENARIO_FIELDS})"),
        ));
    }
    if input.fields.iter().collect::<BTreeSet<_>>().len() != input.fields.len() {
        out.push(violation("scenario_fields_repeated", "fields", "信息项不能重复", "a field is listed twice"));
    }
    let allowed: BTreeSet<i64> = agreement.terms.catalog.iter().copied().collect();
    for (i, f) in input.fields.iter().enumerate() {
        if !allowed.contains(&f.entry_id) {
            out.push(violation(
                "scenario_outside_agreement",
                format!("fields[{i}]"),
                format!("目录条目 {} 不在授权开发协议范围内", f.entry_id),
                format!("catalog entry {} is outside the development agreement", f.entry_id),
            ));
        }
    }
    if input.ends_on < input.starts_on || input.starts_on < today {
        out.push(violation(
            "scenario_period_invalid",
            "ends_on",
            "使用期限须从今天或以后开始，且终止日期不早于起始日期",
            "the period starts today or later and does not end before it starts",
        ));
    } else if input.starts_on < agreement.starts_on || input.ends_on > agreement.ends_on {
        out.push(violation(
            "scenario_outside_agreement",
            "ends_on",
            format!("使用期限须在授权开发协议期限内（{} 至 {}）", agreement.starts_on, agreement.ends_on),
            format!(
                "the period lies within the development agreement ({} to {})",
                agreement.starts_on, agreement.ends_on
            ),
        ));
    }
    out
}

/// Whether an application in `state` for `starts_on..=ends_on` opens its list on `today`.
pub fn opens(state: ApplicationState, starts_on: Date, ends_on: Date, today: Date) -> bool {
    state == ApplicationState::Approved && starts_on <= today && today <= ends_on
}

// ----- Products -----

labeled_enum!(
    /// Where a product stands.
    ProductStatus {
        UnderReview => "under_review", "待审核", "Under review";
        Listed => "listed", "已上架", "Listed";
        Rejected => "rejected", "未通过", "Rejected";
        Delisted => "delisted", "已下架", "Delisted";
    }
);

labeled_enum!(
    /// The six points of the product review (YC plan 五(四)), each answered with evidence.
    ReviewPoint {
        Purpose => "purpose", "符合数据的申请用途和使用范围", "Matches the data's purpose and scope of use";
        Source => "source", "注明数据来源及其合法合规性", "States its data sources and their lawfulness";
        RawExposure => "raw_exposure", "无原始数据、敏感数据直接暴露风险", "No direct exposure of raw or sensitive data";
        Leakage => "leakage", "无个人信息和商业秘密泄露、滥用风险", "No leak or misuse of personal information or trade secrets";
        CrossBorder => "cross_border", "不涉及数据出境", "No cross-border transfer";
        OtherRisk => "other_risk", "无其他危害数据安全和运营合规的风险", "No other risk to data security or compliance";
    }
);

labeled_enum!(
    /// What a buyer uses a product for (QD 35): public welfare free under conditions, industry paid.
    UseKind {
        PublicWelfare => "public_welfare", "公益使用", "Public-welfare use";
        Industrial => "industrial", "产业使用", "Industrial use";
    }
);

/// A data source of a product with the date of the data it used (AS 35).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceUse {
    pub entry_id: i64,
    /// The date (or version date) of the data used.
    #[serde(with = "crate::calendar::iso_date")]
    pub data_date: Date,
}

/// A product as its developer submits it (R-OPS-08).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    pub name: String,
    pub kind: ProductKind,
    /// What it is for, and for whom.
    pub purpose: String,
    /// The approved scenario applications whose data it was made from.
    pub applications: Vec<i64>,
    pub sources: Vec<SourceUse>,
    /// A sample of what it outputs.
    pub sample_output: String,
    /// How it was made.
    pub method: String,
    /// The price of one industrial use, in fen.
    pub price_fen: i64,
    /// The declared cost of one use, in fen, which the price is based on.
    pub cost_fen: i64,
    /// Whether public-welfare use is free (under the agreement's conditions).
    #[serde(default)]
    pub welfare_free: bool,
}

/// Every reason a product cannot go to review: its statements, its sources (each among the data
/// of its applications, `approved_entries`), its kind (allowed by the agreement) and its price
/// (cost-based, under the caps, R-OPS-09).
pub fn check_product(
    input: &ProductInput,
    allowed_kinds: &[ProductKind],
    approved_entries: &BTreeSet<i64>,
    pricing: &PricingTerms,
) -> Vec<Violation> {
    let mut out = Vec::new();
    required(&mut out, "name", "产品名称", "name", &input.name);
    required(&mut out, "purpose", "用途", "purpose", &input.purpose);
    required(&mut out, "sample_output", "样例输出", "sample output", &input.sample_output);
    required(&mut out, "method", "开发方法", "method", &input.method);
    if !allowed_kinds.contains(&input.kind) {
        out.push(violation(
            "product_kind_not_allowed",
            "kind",
            format!("授权开发协议不允许“{}”形态的产品", input.kind.label_zh()),
            format!("the development agreement does not allow products of kind {}", input.kind.label_en()),
        ));
    }
    if input.applications.is_empty() || input.applications.len() > MAX_LIST {
        out.push(violation(
            "product_applications_missing",
            "applications",
            "请注明产品所依据的数据申请",
            "name the data applications the product was made under",
        ));
    }
    if input.sources.is_empty() || input.sources.len() > MAX_LIST {
        out.push(violation(
            "product_sources_missing",
            "sources",
            "请注明数据来源及数据日期",
            "state the data sources and their dates",
        ));
    }
    for (i, s) in input.sources.iter().enumerate() {
        if !approved_entries.contains(&s.entry_id) {
            out.push(violation(
                "product_source_not_approved",
                format!("sources[{i}]"),
                format!("数据来源 {} 不在所依据的已批准数据申请中", s.entry_id),
                format!("source {} is not among the data of the product's approved applications", s.entry_id),
            ));
        }
    }
    if input.cost_fen < 0 || input.price_fen <= 0 {
        out.push(violation(
            "product_price_invalid",
            "price_fen",
            "产业使用须有偿：价格须大于零，成本不能为负",
            "industrial use is paid: the price is above zero and the cost not negative",
        ));
    } else {
        let ceiling = i128::from(input.cost_fen) * i128::from(WHOLE_BP + pricing.max_markup_bp) / i128::from(WHOLE_BP);
        if i128::from(input.price_fen) > ceiling {
            out.push(violation(
                "product_price_above_cost_cap",
                "price_fen",
                format!(
                    "参考成本定价：价格不超过成本加成 {}%（{} 分）",
                    f64::from(pricing.max_markup_bp) / 100.0,
                    ceiling
                ),
                format!(
                    "prices are cost-based: at most {} % above cost ({ceiling} fen)",
                    f64::from(pricing.max_markup_bp) / 100.0
                ),
            ));
        }
        if pricing.price_cap_fen > 0 && input.price_fen > pricing.price_cap_fen {
            out.push(violation(
                "product_price_above_cap",
                "price_fen",
                format!("价格不超过主管部门设定的上限 {} 分", pricing.price_cap_fen),
                format!("the price is at most the authority's cap of {} fen", pricing.price_cap_fen),
            ));
        }
    }
    if input.welfare_free && pricing.welfare_conditions.trim().is_empty() {
        out.push(violation(
            "product_welfare_conditions_missing",
            "welfare_free",
            "协议未约定公益使用条件，不能声明公益免费",
            "the agreements state no conditions of free public-welfare use",
        ));
    }
    out
}

/// One point of a product review as the reviewer answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointAnswer {
    pub point: ReviewPoint,
    pub passed: bool,
    /// What the reviewer checked and found.
    pub evidence: String,
}

/// The decision of a product review: every one of the six points answered once with evidence
/// (else the violations); the product is listed only if all six pass.
pub fn decide_review(answers: &[PointAnswer]) -> Result<bool, Vec<Violation>> {
    let mut out = Vec::new();
    for point in ReviewPoint::ALL {
        match answers.iter().filter(|a| a.point == *point).count() {
            1 => {}
            0 => out.push(violation(
                "review_point_missing",
                format!("points.{}", point.as_str()),
                format!("未回答审核要点“{}”", point.label_zh()),
                format!("the review point \"{}\" is not answered", point.label_en()),
            )),
            _ => out.push(violation(
                "review_point_repeated",
                format!("points.{}", point.as_str()),
                format!("审核要点“{}”回答了多次", point.label_zh()),
                format!("the review point \"{}\" is answered more than once", point.label_en()),
            )),
        }
    }
    for a in answers {
        let n = a.evidence.trim().chars().count();
        if n == 0 || n > MAX_TEXT {
            out.push(violation(
                "review_evidence_required",
                format!("points.{}.evidence", a.point.as_str()),
                format!("审核要点“{}”须写明依据（{MAX_TEXT} 字以内）", a.point.label_zh()),
                format!("the point \"{}\" needs its evidence (at most {MAX_TEXT} characters)", a.point.label_en()),
            ));
        }
    }
    if out.is_empty() { Ok(answers.iter().all(|a| a.passed)) } else { Err(out) }
}

/// How one sale's price is shared (YC plan 七).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    pub public_fen: i64,
    pub operator_fen: i64,
    pub developer_fen: i64,
}

/// Splits `price_fen` by the shares: the public's and the operator's rounded down, the
/// developer receiving the rest, so the three add up to the price exactly.
pub fn split(price_fen: i64, public_share_bp: u32, operator_share_bp: u32) -> Split {
    let part = |bp: u32| (i128::from(price_fen) * i128::from(bp.min(WHOLE_BP)) / i128::from(WHOLE_BP)) as i64;
    let public_fen = part(public_share_bp);
    let operator_fen = part(operator_share_bp).min(price_fen - public_fen);
    Split { public_fen, operator_fen, developer_fen: price_fen - public_fen - operator_fen }
}

/// The price a buyer pays for one use: nothing for public-welfare use of a product that is free
/// for it, its price for industrial use; `None` if the product is not free for public welfare.
pub fn price_for(use_kind: UseKind, price_fen: i64, welfare_free: bool) -> Option<i64> {
    match use_kind {
        UseKind::PublicWelfare => welfare_free.then_some(0),
        UseKind::Industrial => Some(price_fen),
    }
}

labeled_enum!(
    /// Why an entity exits (YC 23, YC plan 九(一)3).
    ExitGround {
        Expired => "expired", "授权协议期满", "The agreement expired";
        Requested => "requested", "申请提前终止", "Early termination at its request";
        Violation => "violation", "违反协议约定", "Breach of the agreement";
        FailedEvaluation => "failed_evaluation", "评估不合格且未改善", "Failed evaluation without improvement";
        Incident => "incident", "发生数据安全事件", "A data security incident";
        PolicyChange => "policy_change", "法律法规或政策调整", "A change of law or policy";
    }
);

// ----- Selection of the operator and evaluation -----

labeled_enum!(
    /// Where a selection of the operation entity stands (R-OPS-02, YC plan 三(四)).
    SelectionStatus {
        Open => "open", "征集中", "Open for applications";
        Reviewing => "reviewing", "评审中", "Under review";
        Publicized => "publicized", "结果公示中", "Result under public notice";
        Concluded => "concluded", "已确定", "Concluded";
        Cancelled => "cancelled", "已终止", "Cancelled";
    }
);

/// The authority's announcement of a selection: what is authorized, for which term, on which
/// qualification criteria (YC plan 三(二)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnouncementInput {
    pub title: String,
    /// What the operator will be authorized to do.
    pub scope: String,
    /// The qualification criteria, each scored by the review.
    pub criteria: Vec<String>,
    /// Applications are accepted until this day.
    #[serde(with = "crate::calendar::iso_date")]
    pub apply_by: Date,
    /// The term of the agreement the winner signs.
    #[serde(with = "crate::calendar::iso_date")]
    pub term_starts_on: Date,
    #[serde(with = "crate::calendar::iso_date")]
    pub term_ends_on: Date,
    /// Working days the result is under public notice for objections.
    pub objection_working_days: u32,
}

/// The most criteria an announcement states.
pub const MAX_CRITERIA: usize = 20;

/// Every reason an announcement cannot be published: its texts, 1 to 20 criteria, an
/// application period that has not ended, a term of at most three years after it.
pub fn check_announcement(a: &AnnouncementInput, today: Date) -> Vec<Violation> {
    let mut out = Vec::new();
    required(&mut out, "title", "公告标题", "title", &a.title);
    required(&mut out, "scope", "授权范围", "scope", &a.scope);
    if a.criteria.is_empty() || a.criteria.len() > MAX_CRITERIA || a.criteria.iter().any(|c| c.trim().is_empty()) {
        out.push(violation(
            "criteria_invalid",
            "criteria",
            format!("请列出 1–{MAX_CRITERIA} 项申报条件"),
            format!("state 1 to {MAX_CRITERIA} qualification criteria"),
        ));
    }
    for (i, c) in a.criteria.iter().enumerate() {
        bounded(&mut out, &format!("criteria[{i}]"), "申报条件", "criterion", c);
    }
    if a.apply_by < today {
        out.push(violation(
            "apply_by_past",
            "apply_by",
            "申报截止日期不能早于今天",
            "the application deadline cannot be past",
        ));
    }
    if a.term_starts_on <= a.apply_by {
        out.push(violation(
            "term_before_selection",
            "term_starts_on",
            "授权期限须在申报截止之后开始",
            "the term starts after the application deadline",
        ));
    }
    if a.term_ends_on < a.term_starts_on || a.term_ends_on > last_allowed_day(a.term_starts_on) {
        out.push(violation(
            "agreement_too_long",
            "term_ends_on",
            format!("授权期限不超过 {MAX_AGREEMENT_YEARS} 年"),
            format!("the term is at most {MAX_AGREEMENT_YEARS} years"),
        ));
    }
    if a.objection_working_days == 0 || a.objection_working_days > 30 {
        out.push(violation(
            "objection_period_invalid",
            "objection_working_days",
            "公示期为 1–30 个工作日",
            "the notice period is 1 to 30 working days",
        ));
    }
    out
}

/// One criterion of a candidate as the review scores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriterionScore {
    /// The criterion's position in the announcement.
    pub criterion: usize,
    /// 0 to 100.
    pub score: u32,
    pub reason: String,
}

/// The review's score of a candidate: every criterion scored once, 0 to 100, with its reason;
/// the total is the mean, and a candidate scoring under 60 on any criterion does not qualify.
pub fn score_candidate(criteria: usize, scores: &[CriterionScore]) -> Result<(u32, bool), Vec<Violation>> {
    let mut out = Vec::new();
    for i in 0..criteria {
        if scores.iter().filter(|s| s.criterion == i).count() != 1 {
            out.push(violation(
                "score_missing",
                format!("scores[{i}]"),
                format!("第 {} 项条件须评分一次", i + 1),
                format!("criterion {} is scored exactly once", i + 1),
            ));
        }
    }
    for (i, s) in scores.iter().enumerate() {
        if s.criterion >= criteria || s.score > 100 {
            out.push(violation(
                "score_invalid",
                format!("scores[{i}]"),
                "评分为 0–100，条件须在公告中",
                "a score is 0 to 100 on a criterion of the announcement",
            ));
        }
        required(&mut out, &format!("scores[{i}].reason"), "评分理由", "reason of the score", &s.reason);
    }
    if !out.is_empty() {
        return Err(out);
    }
    let total = scores.iter().map(|s| s.score).sum::<u32>() / criteria.max(1) as u32;
    Ok((total, scores.iter().all(|s| s.score >= PASS_SCORE)))
}

/// The lowest score that passes a criterion or an evaluation.
pub const PASS_SCORE: u32 = 60;

labeled_enum!(
    /// Who is evaluated, and how often (R-OPS-10, YC plan 八(四)).
    EvaluationKind {
        Developer => "developer", "开发主体半年度评估", "Half-yearly evaluation of a developer";
        OperatorReport => "operator_report", "运营主体年度运营报告", "Operator's yearly report";
        Authority => "authority", "主管部门年度运营成效评价", "Authority's yearly evaluation of the operator";
    }
);

impl EvaluationKind {
    /// Months between two evaluations of this kind.
    pub fn period_months(self) -> u32 {
        match self {
            Self::Developer => 6,
            Self::OperatorReport | Self::Authority => 12,
        }
    }
}

/// What the platform's records say of an entity over an evaluation period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluationFacts {
    /// Scenario applications decided, and how many of them were approved.
    pub applications: u32,
    pub approved: u32,
    /// Products submitted, and how many were listed.
    pub products: u32,
    pub listed: u32,
    /// Sales registered and their revenue in fen.
    pub sales: u32,
    pub revenue_fen: i64,
    /// Suspensions, rectification orders and revocations.
    pub violations: u32,
    /// Complaints about the entity's products.
    pub complaints: u32,
    /// Data security incidents reported against the entity.
    #[serde(default)]
    pub incidents: u32,
    /// For the operator: its reviews of applications, and how many it decided within the
    /// working days it has.
    pub decisions: u32,
    pub on_time: u32,
}

/// The platform's part of an evaluation, 0 to 100: approved applications, listed products
/// and (for the operator) reviews decided on time count for; incidents, violations and complaints
/// against (20, 15 and 5 points each). A rate with nothing to count is taken as 70.
pub fn facts_score(f: &EvaluationFacts) -> u32 {
    let rate = |n: u32, d: u32| (60 * n.min(d)).checked_div(d).map_or(70, |r| 40 + r);
    let mut rates = vec![rate(f.approved, f.applications), rate(f.listed, f.products)];
    if f.decisions > 0 {
        rates.push(rate(f.on_time, f.decisions));
    }
    let base = rates.iter().sum::<u32>() / rates.len() as u32;
    base.saturating_sub(20 * f.incidents + 15 * f.violations + 5 * f.complaints)
}

/// The evaluation's total: the platform's records and the reviewer's judgement, half each.
pub fn evaluation_total(facts: u32, judgement: u32) -> u32 {
    (facts.min(100) + judgement.min(100)) / 2
}

// ----- Social data for fusion development -----

labeled_enum!(
    /// Where social data offered for the operation domain stands (YC 12-13).
    SocialStatus {
        UnderReview => "under_review", "待审核", "Under review";
        Approved => "approved", "已导入", "Imported";
        Rejected => "rejected", "未通过", "Rejected";
        Destroyed => "destroyed", "已销毁", "Destroyed";
    }
);

labeled_enum!(
    /// What the operator checks before social data enters the operation domain.
    SocialCheck {
        Source => "source", "来源清晰可溯", "The source is clear and traceable";
        Legality => "legality", "获取和使用合法合规", "Obtained and used lawfully";
        Quality => "quality", "质量满足开发需要", "Its quality serves the development";
        Consent => "consent", "涉及个人信息的已获授权同意", "Consent where personal information is involved";
    }
);

/// A field of offered social data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocialOfferField {
    /// The column's name in the file, `[a-z][a-z0-9_]*`.
    pub name: String,
    pub label: String,
}

/// Social data a developer offers for fusion development, with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocialOfferInput {
    pub name: String,
    pub summary: String,
    /// Who the data comes from (an enterprise, an organisation, the developer itself).
    pub provider: String,
    /// How it was obtained.
    pub source: String,
    /// The lawful basis of its use (a contract, a licence, the law).
    pub legal_basis: String,
    /// Whether it holds personal information; then `consent` says how consent was obtained.
    #[serde(default)]
    pub personal: bool,
    #[serde(default)]
    pub consent: String,
    pub fields: Vec<SocialOfferField>,
}

/// Every reason an offer cannot go to the operator's review.
pub fn check_social_offer(o: &SocialOfferInput) -> Vec<Violation> {
    let mut out = Vec::new();
    required(&mut out, "name", "名称", "name", &o.name);
    required(&mut out, "summary", "摘要", "summary", &o.summary);
    required(&mut out, "provider", "数据提供方", "provider", &o.provider);
    required(&mut out, "source", "数据来源", "source", &o.source);
    required(&mut out, "legal_basis", "合法性依据", "legal basis", &o.legal_basis);
    if o.personal {
        required(&mut out, "consent", "个人信息授权同意情况", "consent", &o.consent);
    }
    if o.fields.is_empty() || o.fields.len() > 100 {
        out.push(violation("fields_invalid", "fields", "信息项为 1–100 个", "1 to 100 fields"));
    }
    let mut seen = BTreeSet::new();
    for (i, f) in o.fields.iter().enumerate() {
        let ok = f.name.starts_with(|c: char| c.is_ascii_lowercase())
            && f.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && f.name.len() <= 64;
        if !ok || !seen.insert(f.name.as_str()) || f.label.trim().is_empty() {
            out.push(violation(
                "field_invalid",
                format!("fields[{i}]"),
                "信息项名称须为小写字母开头的 [a-z0-9_]，不重复，并有中文名",
                "a field is named [a-z][a-z0-9_]*, once, with a label",
            ));
        }
    }
    out
}

/// The schema offered social data is loaded and validated with: every field text, graded by
/// whether the data is personal, nothing shared or opened.
pub fn social_offer_body(o: &SocialOfferInput) -> crate::catalog::EntryBody {
    use crate::catalog::{
        CategoryClass, DataType, EntryBody, Field, Format, Frequency, Grade, IdentifierRole, MaskRule, OpenAttrs,
        OpenType, ShareAttrs, ShareType,
    };
    EntryBody {
        name: o.name.trim().to_string(),
        summary: o.summary.trim().to_string(),
        class: CategoryClass::Theme,
        item: "01".into(),
        format: Format::Spreadsheet,
        frequency: Frequency::Yearly,
        release_date: String::new(),
        related: Vec::new(),
        source_system_id: None,
        purchased: false,
        purchased_from: String::new(),
        collecting_dept: o.provider.trim().to_string(),
        approving_dept: String::new(),
        usage_requirements: "融合开发社会数据，仅限授权运营域内使用".into(),
        fields: o
            .fields
            .iter()
            .map(|f| Field {
                name: f.name.clone(),
                label: f.label.trim().to_string(),
                data_type: DataType::Text,
                description: String::new(),
                grade: if o.personal { Grade::L2 } else { Grade::L1 },
                personal: o.personal,
                identifier: IdentifierRole::None,
                mask: MaskRule::None,
                purpose: if o.personal { o.consent.clone() } else { String::new() },
                rules: Default::default(),
            })
            .collect(),
        identifier_field: None,
        share: ShareAttrs { share_type: ShareType::NotShared, ..Default::default() },
        open: OpenAttrs { open_type: OpenType::NotOpen, conditions: String::new(), legal_basis: String::new() },
    }
}

/// The operator's check of offered social data: all four answered with evidence; it enters
/// the domain only if all pass.
pub fn decide_social(answers: &[(SocialCheck, bool, String)]) -> Result<bool, Vec<Violation>> {
    let mut out = Vec::new();
    for c in SocialCheck::ALL {
        if answers.iter().filter(|a| a.0 == *c).count() != 1 {
            out.push(violation(
                "social_check_missing",
                format!("checks.{}", c.as_str()),
                format!("须回答一次审核项“{}”", c.label_zh()),
                format!("the check \"{}\" is answered once", c.label_en()),
            ));
        }
    }
    for a in answers {
        required(&mut out, &format!("checks.{}.evidence", a.0.as_str()), "审核依据", "evidence", &a.2);
    }
    if out.is_empty() { Ok(answers.iter().all(|a| a.1)) } else { Err(out) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Date {
        Date::parse(s, crate::calendar::ISO_DATE).unwrap()
    }

    fn terms(catalog: &[i64]) -> AgreementTerms {
        AgreementTerms {
            scope: "交通出行数据的加工和开发利用".into(),
            catalog: catalog.to_vec(),
            products: vec![ProductKind::Api, ProductKind::Report],
            disclosure: "每季度公开产品清单".into(),
            evaluation: "年度评价".into(),
            security: "等保三级".into(),
            rights_duties: "按协议".into(),
            pricing: PricingTerms {
                max_markup_bp: 2000,
                price_cap_fen: 100_000,
                public_share_bp: 1000,
                ..Default::default()
            },
        }
    }

    fn codes(v: &[Violation]) -> Vec<&str> {
        v.iter().map(|v| v.code.as_str()).collect()
    }

    /// covers: R-OPS-01 (an agreement runs at most three years)
    #[test]
    fn three_years_is_the_longest_term() {
        let t = terms(&[1, 2]);
        let op = AgreementKind::Operation;
        assert!(check_agreement(op, d("2026-01-01"), d("2028-12-31"), &t, None).is_empty());
        assert_eq!(codes(&check_agreement(op, d("2026-01-01"), d("2029-01-01"), &t, None)), ["agreement_too_long"]);
        assert_eq!(codes(&check_agreement(op, d("2026-01-01"), d("2029-12-31"), &t, None)), ["agreement_too_long"]);
        assert_eq!(last_allowed_day(d("2024-02-29")), d("2027-02-27"));
        assert_eq!(
            codes(&check_agreement(op, d("2026-05-01"), d("2026-04-30"), &t, None)),
            ["agreement_period_invalid"]
        );
    }

    /// covers: R-OPS-01 (a development agreement stays within its operator's: period,
    /// catalog, products, pricing)
    #[test]
    fn a_development_agreement_cannot_exceed_its_operators() {
        let parent_terms = terms(&[1, 2]);
        let b = Bounds { starts_on: d("2026-01-01"), ends_on: d("2028-12-31"), terms: &parent_terms };
        let dev = AgreementKind::Development;
        let mut t = terms(&[1]);
        t.pricing =
            PricingTerms { max_markup_bp: 1000, price_cap_fen: 50_000, operator_share_bp: 2000, ..Default::default() };
        assert!(check_agreement(dev, d("2026-03-01"), d("2027-02-28"), &t, Some(&b)).is_empty());
        assert_eq!(
            codes(&check_agreement(dev, d("2026-03-01"), d("2029-01-31"), &t, Some(&b))),
            ["agreement_exceeds_parent"]
        );
        let mut wider = t.clone();
        wider.catalog = vec![1, 3];
        wider.products.push(ProductKind::Model);
        wider.pricing.price_cap_fen = 0;
        let v = check_agreement(dev, d("2026-03-01"), d("2027-02-28"), &wider, Some(&b));
        let paths: Vec<&str> = v.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(paths, ["terms.catalog", "terms.products", "terms.pricing"]);
        assert_eq!(
            codes(&check_agreement(dev, d("2026-03-01"), d("2027-02-28"), &t, None)),
            ["agreement_parent_missing"]
        );
    }

    /// covers: R-OPS-08 (each of the six points can block publication; all must be answered
    /// with evidence)
    #[test]
    fn each_review_point_blocks_publication() {
        let all = |failing: Option<ReviewPoint>| -> Vec<PointAnswer> {
            ReviewPoint::ALL
                .iter()
                .map(|p| PointAnswer { point: *p, passed: Some(*p) != failing, evidence: "已核查".into() })
                .collect()
        };
        assert_eq!(decide_review(&all(None)), Ok(true));
        for p in ReviewPoint::ALL {
            assert_eq!(decide_review(&all(Some(*p))), Ok(false), "{p:?}");
        }
        let mut missing = all(None);
        missing.pop();
        missing[0].evidence = " ".into();
        let v = decide_review(&missing).unwrap_err();
        assert_eq!(codes(&v), ["review_point_missing", "review_evidence_required"]);
    }

    /// covers: R-OPS-09, R-OPS-12 (cost-based prices under the caps; welfare use free only
    /// under stated conditions)
    #[test]
    fn prices_are_cost_based_under_the_caps() {
        let pricing = PricingTerms {
            max_markup_bp: 2000,
            price_cap_fen: 10_000,
            welfare_conditions: String::new(),
            ..Default::default()
        };
        let entries: BTreeSet<i64> = [7].into();
        let mut p = ProductInput {
            name: "通勤热力图接口".into(),
            kind: ProductKind::Api,
            purpose: "城市规划".into(),
            applications: vec![1],
            sources: vec![SourceUse { entry_id: 7, data_date: d("2026-11-30") }],
            sample_output: "{…}".into(),
            method: "聚合".into(),
            price_fen: 6000,
            cost_fen: 5000,
            welfare_free: false,
        };
        assert!(check_product(&p, &[ProductKind::Api], &entries, &pricing).is_empty());
        p.price_fen = 6001;
        assert_eq!(
            codes(&check_product(&p, &[ProductKind::Api], &entries, &pricing)),
            ["product_price_above_cost_cap"]
        );
        p.cost_fen = 20_000;
        p.price_fen = 12_000;
        assert_eq!(codes(&check_product(&p, &[ProductKind::Api], &entries, &pricing)), ["product_price_above_cap"]);
        p.price_fen = 9000;
        p.welfare_free = true;
        p.sources[0].entry_id = 8;
        assert_eq!(
            codes(&check_product(&p, &[ProductKind::Report], &entries, &pricing)),
            ["product_kind_not_allowed", "product_source_not_approved", "product_welfare_conditions_missing"]
        );
        assert_eq!(price_for(UseKind::PublicWelfare, 9000, true), Some(0));
        assert_eq!(price_for(UseKind::PublicWelfare, 9000, false), None);
        assert_eq!(price_for(UseKind::Industrial, 9000, true), Some(9000));
    }

    #[test]
    fn agreement_actions_follow_the_procedure() {
        use AgreementAction as A;
        use AgreementStatus as S;
        assert_eq!(agreement_transition(S::InForce, A::Suspend), Ok(S::Suspended));
        assert_eq!(agreement_transition(S::Suspended, A::Rectify), Ok(S::Rectifying));
        assert_eq!(agreement_transition(S::Rectifying, A::Resume), Ok(S::InForce));
        assert!(agreement_transition(S::Revoked, A::Resume).is_err());
        assert!(agreement_transition(S::InForce, A::Resume).is_err());
    }

    /// covers: R-OPS-11 (logs kept six months after exit)
    #[test]
    fn exit_logs_are_kept_six_months() {
        assert_eq!(logs_kept_until(d("2026-08-31")), d("2027-02-28"));
        assert_eq!(logs_kept_until(d("2026-12-07")), d("2027-06-07"));
    }

    /// covers: R-OPS-02 (announcements state criteria and a term of at most three years;
    /// candidates are scored on every criterion with reasons)
    #[test]
    fn an_announcement_and_its_scores_are_checked() {
        let a = AnnouncementInput {
            title: "临江市公共数据授权运营主体遴选公告".into(),
            scope: "市级公共数据授权运营".into(),
            criteria: vec!["经营状况良好".into(), "具备等保三级能力".into()],
            apply_by: d("2027-01-15"),
            term_starts_on: d("2027-03-01"),
            term_ends_on: d("2030-02-28"),
            objection_working_days: 5,
        };
        assert!(check_announcement(&a, d("2026-12-07")).is_empty());
        let long = AnnouncementInput { term_ends_on: d("2030-03-01"), ..a.clone() };
        assert_eq!(codes(&check_announcement(&long, d("2026-12-07"))), ["agreement_too_long"]);
        let s = |c, score| CriterionScore { criterion: c, score, reason: "材料齐全".into() };
        assert_eq!(score_candidate(2, &[s(0, 90), s(1, 70)]), Ok((80, true)));
        assert_eq!(score_candidate(2, &[s(0, 100), s(1, 50)]), Ok((75, false)));
        assert_eq!(codes(&score_candidate(2, &[s(0, 90)]).unwrap_err()), ["score_missing"]);
    }

    /// covers: R-OPS-10 (the platform's records weigh in the evaluation: incidents, violations,
    /// complaints against; approvals, listings and timely reviews for)
    #[test]
    fn violations_and_complaints_lower_the_platforms_score() {
        let good = EvaluationFacts { applications: 4, approved: 4, products: 2, listed: 2, ..Default::default() };
        assert_eq!(facts_score(&good), 100);
        let bad = EvaluationFacts { violations: 1, complaints: 2, ..good };
        assert_eq!(facts_score(&bad), 75);
        assert_eq!(facts_score(&EvaluationFacts { violations: 9, ..good }), 0);
        assert_eq!(evaluation_total(75, 85), 80);
        let late = EvaluationFacts { decisions: 4, on_time: 2, ..good };
        assert_eq!(facts_score(&late), 90);
        assert_eq!(facts_score(&EvaluationFacts { incidents: 1, ..good }), 80);
    }

    proptest! {
        /// covers: R-OPS-09 (revenue sharing adds up to the price)
        #[test]
        fn a_split_adds_up_to_the_price(price in 0i64..1_000_000_000, public in 0u32..=10_000, operator in 0u32..=10_000) {
            let s = split(price, public, operator);
            prop_assert_eq!(s.public_fen + s.operator_fen + s.developer_fen, price);
            prop_assert!(s.public_fen >= 0 && s.operator_fen >= 0 && s.developer_fen >= 0);
            if public + operator <= 10_000 {
                prop_assert_eq!(s.public_fen, (i128::from(price) * i128::from(public) / 10_000) as i64);
                prop_assert_eq!(s.operator_fen, (i128::from(price) * i128::from(operator) / 10_000) as i64);
            }
        }

        #[test]
        fn the_longest_term_is_just_under_three_years(y in 2000i32..2100, o in 1u16..=365) {
            let start = Date::from_ordinal_date(y, o).unwrap();
            let last = last_allowed_day(start);
            prop_assert!(check_agreement(AgreementKind::Operation, start, last, &terms(&[1]), None).is_empty());
            let after = last.next_day().unwrap();
            let v = check_agreement(AgreementKind::Operation, start, after, &terms(&[1]), None);
            prop_assert_eq!(codes(&v), vec!["agreement_too_long"]);
            prop_assert!((after - start).whole_days() >= 365 * 3);
        }
    }
}
