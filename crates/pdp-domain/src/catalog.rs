//! The resource catalog (政务信息资源目录) of the 2017 guide: entries, fields, share and open
//! attributes, the consistency rules between them, the review workflow and the diff of versions.
//!
//! Nothing is aggregated, shared or opened unless it is cataloged (R-CAT-01), so every later stage
//! of the platform reads what this module decides. The rules live here as pure functions over an
//! [`EntryBody`]: storage keeps bodies as they were saved, and the web layer shows the
//! [`Violation`]s in Chinese and English. The grading matrix that limits share and open types is
//! data ([`GradingMatrix`], loaded from TOML), not code, because cities grade differently.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Localized;

/// Declares a closed set of values with a stable code, a Chinese and an English label. `parse`
/// accepts the code or the Chinese label, because people fill templates with the label.
macro_rules! labeled_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $code:literal, $zh:literal, $en:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $code),+ } }
            pub fn label_zh(self) -> &'static str { match self { $($name::$variant => $zh),+ } }
            pub fn label_en(self) -> &'static str { match self { $($name::$variant => $en),+ } }
            /// Parses the stable code or the Chinese label.
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim();
                Self::ALL.iter().copied().find(|v| v.as_str() == s || v.label_zh() == s)
            }
        }
    };
}
pub(crate) use labeled_enum;

labeled_enum!(
    /// Where an information system built with public funds stands (R-CAT-08).
    SystemStatus {
        Planned => "planned", "规划中", "Planned";
        Building => "building", "建设中", "Being built";
        InService => "in_service", "运行中", "In service";
        Retired => "retired", "已停用", "Retired";
    }
);

labeled_enum!(
    /// The three classes of the 2017 guide (类): base, theme and department resources.
    CategoryClass {
        Base => "base", "基础", "Base";
        Theme => "theme", "主题", "Theme";
        Department => "department", "部门", "Department";
    }
);

impl CategoryClass {
    /// The one-digit class code of the resource code.
    pub fn digit(self) -> u8 {
        match self {
            Self::Base => 1,
            Self::Theme => 2,
            Self::Department => 3,
        }
    }
}

/// The items (项) of each class with their two-digit codes. Base and theme items follow the
/// guide; department items group departments by function.
pub const CATEGORY_ITEMS: &[(CategoryClass, &str, &str, &str)] = &[
    (CategoryClass::Base, "01", "人口", "Population"),
    (CategoryClass::Base, "02", "法人单位", "Legal entities"),
    (CategoryClass::Base, "03", "自然资源和空间地理", "Natural resources and geography"),
    (CategoryClass::Base, "04", "社会信用", "Social credit"),
    (CategoryClass::Base, "05", "电子证照", "Electronic licences"),
    (CategoryClass::Theme, "01", "公共服务", "Public services"),
    (CategoryClass::Theme, "02", "健康保障", "Health"),
    (CategoryClass::Theme, "03", "社会保障", "Social security"),
    (CategoryClass::Theme, "04", "食品药品安全", "Food and drug safety"),
    (CategoryClass::Theme, "05", "安全生产", "Work safety"),
    (CategoryClass::Theme, "06", "价格监管", "Price regulation"),
    (CategoryClass::Theme, "07", "能源安全", "Energy security"),
    (CategoryClass::Theme, "08", "信用体系", "Credit system"),
    (CategoryClass::Theme, "09", "城乡建设", "Urban and rural construction"),
    (CategoryClass::Theme, "10", "社区治理", "Community governance"),
    (CategoryClass::Theme, "11", "生态环保", "Ecology and environment"),
    (CategoryClass::Theme, "12", "应急维稳", "Emergency and stability"),
    (CategoryClass::Department, "01", "公安", "Public security"),
    (CategoryClass::Department, "02", "市场监管", "Market regulation"),
    (CategoryClass::Department, "03", "人力资源和社会保障", "Human resources and social security"),
    (CategoryClass::Department, "04", "医疗保障", "Medical insurance"),
    (CategoryClass::Department, "05", "教育", "Education"),
    (CategoryClass::Department, "06", "交通运输", "Transport"),
    (CategoryClass::Department, "07", "住房和城乡建设", "Housing and construction"),
    (CategoryClass::Department, "08", "生态环境", "Environment"),
    (CategoryClass::Department, "09", "公用事业", "Utilities"),
    (CategoryClass::Department, "10", "卫生健康", "Health commission"),
    (CategoryClass::Department, "11", "民政", "Civil affairs"),
    (CategoryClass::Department, "99", "其他", "Other"),
];

/// The Chinese label of an item, when the class has it.
pub fn item_label(class: CategoryClass, item: &str) -> Option<(&'static str, &'static str)> {
    CATEGORY_ITEMS.iter().find(|(c, code, _, _)| *c == class && *code == item).map(|(_, _, zh, en)| (*zh, *en))
}

/// Finds an item by its code or Chinese label within a class.
pub fn parse_item(class: CategoryClass, s: &str) -> Option<&'static str> {
    let s = s.trim();
    CATEGORY_ITEMS.iter().find(|(c, code, zh, _)| *c == class && (*code == s || *zh == s)).map(|(_, code, _, _)| *code)
}

labeled_enum!(
    /// 格式: the form in which the resource is provided.
    Format {
        ElectronicFile => "electronic_file", "电子文件", "Electronic file";
        Spreadsheet => "spreadsheet", "电子表格", "Spreadsheet";
        Database => "database", "数据库", "Database";
        Image => "image", "图形图像", "Graphics and images";
        Streaming => "streaming", "流媒体", "Streaming media";
        SelfDescribing => "self_describing", "自描述格式", "Self-describing format";
        ServiceApi => "service_api", "服务接口", "Service interface";
    }
);

labeled_enum!(
    /// 更新周期.
    Frequency {
        Realtime => "realtime", "实时", "Real time";
        Daily => "daily", "日", "Daily";
        Weekly => "weekly", "周", "Weekly";
        Monthly => "monthly", "月", "Monthly";
        Quarterly => "quarterly", "季", "Quarterly";
        HalfYearly => "half_yearly", "半年", "Half-yearly";
        Yearly => "yearly", "年", "Yearly";
    }
);

labeled_enum!(
    /// Security grade (分级), lowest first so that `max` gives the strictest (就高从严).
    /// `L4` is "important data" of GB/T 43697; `Core` is core data.
    Grade {
        L1 => "l1", "一级（不敏感）", "L1 (not sensitive)";
        L2 => "l2", "二级（低敏感）", "L2 (low)";
        L3 => "l3", "三级（较敏感）", "L3 (fairly sensitive)";
        L4 => "l4", "四级（重要数据）", "L4 (important)";
        Core => "core", "核心数据", "Core";
    }
);

impl Grade {
    /// Also accepts the short forms used in templates (`L3`, `3`, `三级`).
    pub fn parse_loose(s: &str) -> Option<Self> {
        let t = s.trim();
        Self::parse(t).or(match t.to_ascii_lowercase().as_str() {
            "l1" | "1" | "一级" => Some(Self::L1),
            "l2" | "2" | "二级" => Some(Self::L2),
            "l3" | "3" | "三级" => Some(Self::L3),
            "l4" | "4" | "四级" | "重要" | "重要数据" => Some(Self::L4),
            "核心" => Some(Self::Core),
            _ => None,
        })
    }
}

labeled_enum!(
    /// The data type of a field (信息项).
    DataType {
        Text => "text", "字符型", "Text";
        Integer => "integer", "整数型", "Integer";
        Decimal => "decimal", "数值型", "Decimal";
        Date => "date", "日期型", "Date";
        DateTime => "datetime", "日期时间型", "Date and time";
        Boolean => "boolean", "布尔型", "Boolean";
        Binary => "binary", "二进制", "Binary";
    }
);

labeled_enum!(
    /// Whether a field identifies a person or an organisation, so records can be checked and joined.
    IdentifierRole {
        None => "none", "无", "None";
        CitizenId => "citizen_id", "公民身份号码", "Citizen ID number";
        CreditCode => "credit_code", "统一社会信用代码", "Unified social credit code";
        PlaceCode => "place_code", "不动产单元号", "Real estate unit code";
    }
);

labeled_enum!(
    /// The default masking rule of a field (STANDARDS.md, masking formats).
    MaskRule {
        None => "none", "不脱敏", "None";
        IdNumber => "id_number", "证件号码（保留前6后4）", "ID number (first 6, last 4)";
        Mobile => "mobile", "手机号（保留前3后4）", "Mobile (first 3, last 4)";
        Name => "name", "姓名（保留首字）", "Name (first character)";
        Address => "address", "地址（隐藏后8位）", "Address (hide last 8)";
        Email => "email", "电子邮箱", "Email";
        BankCard => "bank_card", "银行卡号", "Bank card";
        Pseudonym => "pseudonym", "假名化", "Pseudonymisation";
        Suppress => "suppress", "屏蔽", "Suppression";
    }
);

impl MaskRule {
    /// Characters a partial mask shows of a typical value, most first: ID and bank card numbers
    /// keep 6 + 4, mobiles 3 + 4, names the first one.
    fn shown(self) -> Option<u8> {
        match self {
            Self::IdNumber | Self::BankCard => Some(10),
            Self::Mobile => Some(7),
            Self::Name => Some(1),
            _ => None,
        }
    }

    /// Whether `self` reveals no more of any value than `other` does: the order in which an
    /// approver may only strengthen the catalog's masking (R-SHR-06). Suppression reveals
    /// nothing; a keyed pseudonym reveals only equality within one grant; the partial masks
    /// are ordered by how many characters they keep (`id_number` keeps 10 of a mobile's 11, so
    /// it is weaker than `mobile`); keeping the first character (`name`) is stronger than
    /// hiding the last eight (`address`) or keeping a mailbox's domain (`email`). Rules of
    /// different shapes that neither order covers (`mobile` and `address`) are not comparable,
    /// and a rule not comparable is not stronger.
    pub fn at_least_as_strong_as(self, other: MaskRule) -> bool {
        use MaskRule::*;
        match (self, other) {
            (a, b) if a == b => true,
            (Suppress, _) | (_, None) => true,
            (Pseudonym, b) => b != Suppress,
            (Name, Address | Email) => true,
            (a, b) => matches!((a.shown(), b.shown()), (Some(x), Some(y)) if x <= y),
        }
    }
}

labeled_enum!(
    /// 共享类型 (R-SHR-01).
    ShareType {
        Unconditional => "unconditional", "无条件共享", "Unconditional";
        Conditional => "conditional", "有条件共享", "Conditional";
        NotShared => "not_shared", "不予共享", "Not shared";
    }
);

impl ShareType {
    /// How open the type is: 2 unconditional, 1 conditional, 0 not shared.
    fn openness(self) -> u8 {
        match self {
            Self::Unconditional => 2,
            Self::Conditional => 1,
            Self::NotShared => 0,
        }
    }
}

labeled_enum!(
    /// 共享方式: how a grant delivers the data.
    ShareMode {
        Bulk => "bulk", "批量交换", "Bulk";
        View => "view", "查询", "View";
        Verify => "verify", "核验", "Verify";
        Statistics => "statistics", "统计", "Statistics";
    }
);

labeled_enum!(
    /// 开放属性 (R-OPN-01).
    OpenType {
        Unconditional => "unconditional", "无条件开放", "Unconditional";
        OnApplication => "on_application", "有条件开放（依申请）", "On application";
        NotOpen => "not_open", "不予开放", "Not open";
    }
);

impl OpenType {
    fn openness(self) -> u8 {
        match self {
            Self::Unconditional => 2,
            Self::OnApplication => 1,
            Self::NotOpen => 0,
        }
    }
}

/// A field (信息项) of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// A machine name, `[a-z][a-z0-9_]*`, unique in the entry.
    pub name: String,
    /// The Chinese label people see.
    pub label: String,
    pub data_type: DataType,
    #[serde(default)]
    pub description: String,
    pub grade: Grade,
    /// Whether the field is personal information.
    #[serde(default)]
    pub personal: bool,
    #[serde(default = "default_identifier")]
    pub identifier: IdentifierRole,
    #[serde(default = "default_mask")]
    pub mask: MaskRule,
    /// For personal fields: why the field is needed (minimal collection, R-AGG-08).
    #[serde(default)]
    pub purpose: String,
    /// What valid values look like: required, key, enumeration, range, length, pattern. Loads
    /// are validated against these (R-AGG-02).
    #[serde(default, skip_serializing_if = "crate::dataset::FieldRules::is_empty")]
    pub rules: crate::dataset::FieldRules,
}

fn default_identifier() -> IdentifierRole {
    IdentifierRole::None
}
fn default_mask() -> MaskRule {
    MaskRule::None
}

/// Share attributes of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareAttrs {
    /// Absent means unconditional: unlisted data is shareable by default (R-SHR-01).
    #[serde(default = "default_share_type")]
    pub share_type: ShareType,
    #[serde(default)]
    pub conditions: String,
    #[serde(default)]
    pub modes: Vec<ShareMode>,
    #[serde(default)]
    pub legal_basis: String,
}

fn default_share_type() -> ShareType {
    ShareType::Unconditional
}

/// Without share attributes an entry is shareable unconditionally in every mode: unlisted data
/// is shareable by default (R-SHR-01).
impl Default for ShareAttrs {
    fn default() -> Self {
        Self {
            share_type: ShareType::Unconditional,
            conditions: String::new(),
            modes: ShareMode::ALL.to_vec(),
            legal_basis: String::new(),
        }
    }
}

/// Open attributes of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenAttrs {
    /// Absent means unconditional: open by default (R-OPN-01), unless the grade forbids it.
    #[serde(default = "default_open_type")]
    pub open_type: OpenType,
    #[serde(default)]
    pub conditions: String,
    #[serde(default)]
    pub legal_basis: String,
}

fn default_open_type() -> OpenType {
    OpenType::Unconditional
}

impl Default for OpenAttrs {
    fn default() -> Self {
        Self { open_type: OpenType::Unconditional, conditions: String::new(), legal_basis: String::new() }
    }
}

/// What a data officer writes for an entry: everything but the code, the provider and the state,
/// which the platform assigns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryBody {
    pub name: String,
    pub summary: String,
    pub class: CategoryClass,
    /// The two-digit item (项) within the class, see [`CATEGORY_ITEMS`].
    pub item: String,
    pub format: Format,
    pub frequency: Frequency,
    /// 发布日期, `YYYY-MM-DD`; empty until first published when left blank.
    #[serde(default)]
    pub release_date: String,
    /// Resource codes of related resources (关联资源代码).
    #[serde(default)]
    pub related: Vec<String>,
    /// The source information system, by its registry id (R-CAT-08).
    #[serde(default)]
    pub source_system_id: Option<i64>,
    /// Purchased external data (R-CAT-07) and from whom.
    #[serde(default)]
    pub purchased: bool,
    #[serde(default)]
    pub purchased_from: String,
    /// The collecting and approving departments, when they differ from the provider.
    #[serde(default)]
    pub collecting_dept: String,
    #[serde(default)]
    pub approving_dept: String,
    #[serde(default)]
    pub usage_requirements: String,
    pub fields: Vec<Field>,
    /// The name of the field that identifies the subject of a record; required when any field is
    /// personal.
    #[serde(default)]
    pub identifier_field: Option<String>,
    #[serde(default)]
    pub share: ShareAttrs,
    #[serde(default)]
    pub open: OpenAttrs,
}

impl EntryBody {
    /// The grade of the entry: the highest of its fields (就高从严); L1 without fields.
    pub fn grade(&self) -> Grade {
        self.fields.iter().map(|f| f.grade).max().unwrap_or(Grade::L1)
    }

    pub fn has_personal(&self) -> bool {
        self.fields.iter().any(|f| f.personal)
    }

    /// The classification code: class (1 digit) + item (2 digits) + 目 (3 digits, `000`).
    pub fn classification_code(&self) -> String {
        format!("{}{}000", self.class.digit(), self.item)
    }
}

/// A resource code: the classification code, `/`, and a six-digit sequence.
pub fn resource_code(classification: &str, seq: i64) -> String {
    format!("{classification}/{seq:06}")
}

/// The most permissive share and open types a grade allows, and its masking duty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradeRule {
    pub share_max: ShareType,
    pub open_max: OpenType,
    /// `none`, `persons` (personal fields) or `all` (every sensitive field must name a rule).
    pub masking: MaskingDuty,
    #[serde(default)]
    pub encryption: String,
}

/// When a grade requires a masking rule on fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskingDuty {
    None,
    Persons,
    Mandatory,
}

/// The grading matrix of STANDARDS.md as configuration: one [`GradeRule`] per grade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradingMatrix {
    pub l1: GradeRule,
    pub l2: GradeRule,
    pub l3: GradeRule,
    pub l4: GradeRule,
    pub core: GradeRule,
}

const DEFAULT_MATRIX: &str = include_str!("../data/grading.toml");

impl Default for GradingMatrix {
    fn default() -> Self {
        Self::parse(DEFAULT_MATRIX).expect("the built-in grading matrix parses")
    }
}

impl GradingMatrix {
    /// Reads a matrix from TOML; every grade must be present and no other key.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    pub fn rule(&self, g: Grade) -> &GradeRule {
        match g {
            Grade::L1 => &self.l1,
            Grade::L2 => &self.l2,
            Grade::L3 => &self.l3,
            Grade::L4 => &self.l4,
            Grade::Core => &self.core,
        }
    }
}

/// A broken consistency rule: where, a stable code, and the message in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub code: String,
    /// The offending input, e.g. `share.legal_basis` or `fields[2].purpose`.
    pub path: String,
    pub message_zh: String,
    pub message_en: String,
}

impl Localized for Violation {
    fn code(&self) -> &'static str {
        "catalog_invalid"
    }
    fn message_zh(&self) -> String {
        self.message_zh.clone()
    }
    fn message_en(&self) -> String {
        self.message_en.clone()
    }
}

fn v(out: &mut Vec<Violation>, code: &str, path: impl Into<String>, zh: impl Into<String>, en: impl Into<String>) {
    out.push(Violation { code: code.into(), path: path.into(), message_zh: zh.into(), message_en: en.into() });
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

fn valid_field_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some('a'..='z')) && c.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_')) && s.len() <= 64
}

/// Checks every consistency rule of an entry and returns all violations, in input order. An
/// empty list means the entry may be saved and submitted.
pub fn validate(b: &EntryBody, matrix: &GradingMatrix) -> Vec<Violation> {
    let mut out = Vec::new();
    if blank(&b.name) {
        v(&mut out, "name_required", "name", "资源名称不能为空", "the resource name is required");
    } else if b.name.chars().count() > 200 {
        v(
            &mut out,
            "name_too_long",
            "name",
            "资源名称不能超过200个字符",
            "the resource name is longer than 200 characters",
        );
    }
    if blank(&b.summary) {
        v(&mut out, "summary_required", "summary", "资源摘要不能为空", "the summary is required");
    }
    if item_label(b.class, &b.item).is_none() {
        v(
            &mut out,
            "unknown_item",
            "item",
            format!("分类“{}”下没有编号为“{}”的项", b.class.label_zh(), b.item),
            format!("class {} has no item {:?}", b.class.label_en(), b.item),
        );
    }
    if !blank(&b.release_date) && time::Date::parse(&b.release_date, crate::calendar::ISO_DATE).is_err() {
        v(&mut out, "bad_release_date", "release_date", "发布日期应为 YYYY-MM-DD", "release date must be YYYY-MM-DD");
    }
    for (i, r) in b.related.iter().enumerate() {
        if !is_resource_code(r) {
            v(
                &mut out,
                "bad_related_code",
                format!("related[{i}]"),
                format!("关联资源代码“{r}”格式不正确"),
                format!("related resource code {r:?} is malformed"),
            );
        }
    }
    if b.purchased && blank(&b.purchased_from) {
        v(
            &mut out,
            "purchase_source_required",
            "purchased_from",
            "采购数据须注明数据来源单位",
            "purchased data must name its supplier",
        );
    }

    // Fields.
    if b.fields.is_empty() {
        v(&mut out, "fields_required", "fields", "至少需要一个信息项", "at least one field is required");
    }
    let mut seen = BTreeMap::new();
    for (i, f) in b.fields.iter().enumerate() {
        let p = |s: &str| format!("fields[{i}].{s}");
        if !valid_field_name(&f.name) {
            v(
                &mut out,
                "bad_field_name",
                p("name"),
                format!("信息项名称“{}”须以小写字母开头，仅含小写字母、数字和下划线", f.name),
                format!("field name {:?} must start with a-z and contain only a-z, 0-9 and _", f.name),
            );
        } else if let Some(first) = seen.insert(f.name.clone(), i) {
            v(
                &mut out,
                "duplicate_field",
                p("name"),
                format!("信息项“{}”与第{}项重名", f.name, first + 1),
                format!("field {:?} repeats field {}", f.name, first + 1),
            );
        }
        if blank(&f.label) {
            v(&mut out, "field_label_required", p("label"), "信息项中文名称不能为空", "the field label is required");
        }
        if f.personal && blank(&f.purpose) {
            v(
                &mut out,
                "purpose_required",
                p("purpose"),
                format!("个人信息项“{}”须说明采集必要性（最小必要原则）", f.label),
                format!("personal field {:?} must state why it is needed (minimal collection)", f.name),
            );
        }
        if f.identifier != IdentifierRole::None && f.data_type != DataType::Text {
            v(
                &mut out,
                "identifier_not_text",
                p("data_type"),
                "标识类信息项应为字符型",
                "an identifier field must be of type text",
            );
        }
        let duty = matrix.rule(f.grade).masking;
        let needs_mask = match duty {
            MaskingDuty::None => false,
            MaskingDuty::Persons => f.personal,
            MaskingDuty::Mandatory => f.personal || f.identifier != IdentifierRole::None,
        };
        if needs_mask && f.mask == MaskRule::None {
            v(
                &mut out,
                "mask_required",
                p("mask"),
                format!("{}的信息项“{}”须设置脱敏规则", f.grade.label_zh(), f.label),
                format!("field {:?} graded {} needs a masking rule", f.name, f.grade.label_en()),
            );
        }
    }

    // Identifier field.
    match &b.identifier_field {
        Some(name) if !blank(name) => match b.fields.iter().find(|f| &f.name == name) {
            None => v(
                &mut out,
                "identifier_field_unknown",
                "identifier_field",
                format!("标识字段“{name}”不是本资源的信息项"),
                format!("identifier field {name:?} is not a field of this entry"),
            ),
            Some(f) if f.identifier == IdentifierRole::None => v(
                &mut out,
                "identifier_field_role",
                "identifier_field",
                format!("标识字段“{name}”须设置标识类型（公民身份号码或统一社会信用代码）"),
                format!("identifier field {name:?} must have an identifier role (citizen ID or credit code)"),
            ),
            Some(_) => {}
        },
        _ if b.has_personal() => v(
            &mut out,
            "identifier_field_required",
            "identifier_field",
            "含个人信息的资源须指定标识字段",
            "an entry with personal fields must name its identifier field",
        ),
        _ => {}
    }

    // Share attributes (R-SHR-01).
    let s = &b.share;
    if s.share_type != ShareType::Unconditional && blank(&s.legal_basis) {
        v(
            &mut out,
            "share_legal_basis_required",
            "share.legal_basis",
            format!("{}须提供法律、法规或政策依据", s.share_type.label_zh()),
            format!("{} data needs a legal basis", s.share_type.label_en().to_lowercase()),
        );
    }
    if s.share_type == ShareType::Conditional && blank(&s.conditions) {
        v(
            &mut out,
            "share_conditions_required",
            "share.conditions",
            "有条件共享须写明共享条件",
            "conditional sharing must state its conditions",
        );
    }
    if s.share_type == ShareType::NotShared && !s.modes.is_empty() {
        v(
            &mut out,
            "share_modes_not_shared",
            "share.modes",
            "不予共享的资源不应设置共享方式",
            "not-shared data has no share modes",
        );
    }
    if s.share_type != ShareType::NotShared && s.modes.is_empty() {
        v(&mut out, "share_modes_required", "share.modes", "请至少选择一种共享方式", "choose at least one share mode");
    }
    // Open attributes (R-OPN-01): restrictions need a legal basis.
    let o = &b.open;
    if o.open_type != OpenType::Unconditional && blank(&o.legal_basis) {
        v(
            &mut out,
            "open_legal_basis_required",
            "open.legal_basis",
            format!("{}须提供法律、法规或政策依据", o.open_type.label_zh()),
            format!("{} needs a legal basis", o.open_type.label_en().to_lowercase()),
        );
    }
    if o.open_type == OpenType::OnApplication && blank(&o.conditions) {
        v(
            &mut out,
            "open_conditions_required",
            "open.conditions",
            "有条件开放须写明开放条件",
            "opening on application must state its conditions",
        );
    }
    if s.share_type == ShareType::NotShared && o.open_type != OpenType::NotOpen {
        v(
            &mut out,
            "not_shared_must_not_open",
            "open.open_type",
            "不予共享的资源不得开放",
            "data that is not shared cannot be opened",
        );
    }

    // The grading matrix limits both types.
    let grade = b.grade();
    let rule = matrix.rule(grade);
    if s.share_type.openness() > rule.share_max.openness() {
        v(
            &mut out,
            "grade_limits_share",
            "share.share_type",
            format!("{}数据最多可{}，不能{}", grade.label_zh(), rule.share_max.label_zh(), s.share_type.label_zh()),
            format!(
                "{} data can be shared at most {}, not {}",
                grade.label_en(),
                rule.share_max.label_en().to_lowercase(),
                s.share_type.label_en().to_lowercase()
            ),
        );
    }
    if o.open_type.openness() > rule.open_max.openness() {
        v(
            &mut out,
            "grade_limits_open",
            "open.open_type",
            format!("{}数据最多可{}，不能{}", grade.label_zh(), rule.open_max.label_zh(), o.open_type.label_zh()),
            format!(
                "{} data can be opened at most {}, not {}",
                grade.label_en(),
                rule.open_max.label_en().to_lowercase(),
                o.open_type.label_en().to_lowercase()
            ),
        );
    }
    out
}

/// Whether `s` looks like a resource code: six or more digits, `/`, six digits.
pub fn is_resource_code(s: &str) -> bool {
    match s.split_once('/') {
        Some((c, n)) => {
            c.len() >= 6
                && c.bytes().all(|b| b.is_ascii_digit())
                && n.len() == 6
                && n.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

labeled_enum!(
    /// The state of one version of an entry.
    VersionStatus {
        Draft => "draft", "草稿", "Draft";
        Submitted => "submitted", "待审核", "Submitted";
        Rejected => "rejected", "已退回", "Rejected";
        Published => "published", "已发布", "Published";
        Superseded => "superseded", "已被替代", "Superseded";
        Withdrawn => "withdrawn", "已撤回", "Withdrawn";
    }
);

labeled_enum!(
    /// Where a request to withdraw a published entry stands (R-CAT-06).
    WithdrawalStatus {
        Pending => "pending", "待审核", "Pending";
        Approved => "approved", "已撤销发布", "Withdrawn";
        Rejected => "rejected", "未同意", "Rejected";
    }
);

labeled_enum!(
    /// A workflow step on a version.
    WorkflowAction {
        Submit => "submit", "提交审核", "Submit";
        Withdraw => "withdraw", "撤回", "Withdraw";
        Approve => "approve", "审核通过", "Approve";
        Reject => "reject", "退回", "Reject";
    }
);

/// A workflow step that the current state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action:?} a version that is {from:?}")]
pub struct TransitionError {
    pub from: VersionStatus,
    pub action: WorkflowAction,
}

impl Localized for TransitionError {
    fn code(&self) -> &'static str {
        "catalog_bad_transition"
    }
    fn message_zh(&self) -> String {
        format!("当前状态为“{}”，不能{}", self.from.label_zh(), self.action.label_zh())
    }
    fn message_en(&self) -> String {
        format!("a version that is {} cannot be {}", self.from.label_en().to_lowercase(), self.action.as_str())
    }
}

impl VersionStatus {
    /// The state after `action`. Approving a version also supersedes the published one before
    /// it; that is the storage's job in the same transaction.
    pub fn next(self, action: WorkflowAction) -> Result<Self, TransitionError> {
        use VersionStatus as S;
        use WorkflowAction as A;
        match (self, action) {
            (S::Draft | S::Rejected, A::Submit) => Ok(S::Submitted),
            (S::Submitted, A::Withdraw) => Ok(S::Draft),
            (S::Submitted, A::Approve) => Ok(S::Published),
            (S::Submitted, A::Reject) => Ok(S::Rejected),
            (from, action) => Err(TransitionError { from, action }),
        }
    }

    /// Whether the officer may still edit a version in place.
    pub fn editable(self) -> bool {
        matches!(self, Self::Draft | Self::Rejected)
    }
}

/// One changed value between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// A readable path, e.g. `share.share_type` or `fields[id_number].grade`.
    pub path: String,
    /// `None` when the value was added.
    pub old: Option<String>,
    /// `None` when the value was removed.
    pub new: Option<String>,
}

/// Flattens an entry into readable paths and values. Fields are keyed by their name, not their
/// position, so reordering fields does not show as a change of every field.
fn flatten(b: &EntryBody) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let value = serde_json::to_value(b).unwrap_or(serde_json::Value::Null);
    fn walk(prefix: String, v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(p, v, out);
                }
            }
            serde_json::Value::Array(items) => {
                let keyed = items.iter().all(|i| i.get("name").and_then(|n| n.as_str()).is_some());
                for (i, item) in items.iter().enumerate() {
                    let key = if keyed {
                        item.get("name").and_then(|n| n.as_str()).unwrap_or_default().to_string()
                    } else {
                        i.to_string()
                    };
                    walk(format!("{prefix}[{key}]"), item, out);
                }
            }
            serde_json::Value::Null => {}
            serde_json::Value::String(s) if s.is_empty() => {}
            serde_json::Value::String(s) => {
                out.insert(prefix, s.clone());
            }
            other => {
                out.insert(prefix, other.to_string());
            }
        }
    }
    walk(String::new(), &value, &mut out);
    out
}

/// The changes from `old` to `new`, sorted by path.
pub fn diff(old: &EntryBody, new: &EntryBody) -> Vec<Change> {
    let a = flatten(old);
    let b = flatten(new);
    let mut out = Vec::new();
    for (k, va) in &a {
        match b.get(k) {
            Some(vb) if vb == va => {}
            Some(vb) => out.push(Change { path: k.clone(), old: Some(va.clone()), new: Some(vb.clone()) }),
            None => out.push(Change { path: k.clone(), old: Some(va.clone()), new: None }),
        }
    }
    for (k, vb) in &b {
        if !a.contains_key(k) {
            out.push(Change { path: k.clone(), old: None, new: Some(vb.clone()) });
        }
    }
    out.sort_by(|x, y| x.path.cmp(&y.path));
    out
}

labeled_enum!(
    /// The catalogs derived from the published entries (R-CAT-05, R-SHR-02, R-OPN-02).
    DerivedCatalog {
        Share => "share", "共享目录", "Share catalog";
        Open => "open", "开放目录", "Open catalog";
        Negative => "negative", "负面清单", "Negative list";
        Base => "base", "基础资源目录", "Base catalog";
        Theme => "theme", "主题资源目录", "Theme catalog";
        Department => "department", "部门资源目录", "Department catalog";
    }
);

impl DerivedCatalog {
    /// Whether a published entry belongs to this derived catalog.
    pub fn includes(self, b: &EntryBody) -> bool {
        match self {
            Self::Share => b.share.share_type != ShareType::NotShared,
            Self::Open => b.open.open_type != OpenType::NotOpen,
            Self::Negative => b.share.share_type == ShareType::NotShared,
            Self::Base => b.class == CategoryClass::Base,
            Self::Theme => b.class == CategoryClass::Theme,
            Self::Department => b.class == CategoryClass::Department,
        }
    }
}

/// Working days an organisation has to update its entries after a change of legal basis or of
/// its functions (R-CAT-04).
pub const UPDATE_DEADLINE_WORKING_DAYS: u32 = 15;

/// The update deadline for a change event that happened on `event_date`: the 15th working day
/// after it.
pub fn update_deadline(
    cal: &crate::calendar::WorkCalendar,
    event_date: time::Date,
) -> Result<crate::calendar::Deadline, crate::calendar::CalendarError> {
    cal.deadline(event_date, UPDATE_DEADLINE_WORKING_DAYS)
}

labeled_enum!(
    /// What changed for an organisation so that its catalog must be updated.
    ChangeKind {
        LegalBasis => "legal_basis", "法律法规依据变化", "Change of legal basis";
        Functions => "functions", "职能变化", "Change of functions";
    }
);

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn field(name: &str, grade: Grade) -> Field {
        Field {
            name: name.into(),
            label: format!("{name}标签"),
            data_type: DataType::Text,
            description: String::new(),
            grade,
            personal: false,
            identifier: IdentifierRole::None,
            mask: MaskRule::None,
            purpose: String::new(),
            rules: Default::default(),
        }
    }

    fn entry() -> EntryBody {
        EntryBody {
            name: "企业登记信息".into(),
            summary: "市场主体登记的基本信息".into(),
            class: CategoryClass::Base,
            item: "02".into(),
            format: Format::Database,
            frequency: Frequency::Daily,
            release_date: String::new(),
            related: vec![],
            source_system_id: None,
            purchased: false,
            purchased_from: String::new(),
            collecting_dept: String::new(),
            approving_dept: String::new(),
            usage_requirements: String::new(),
            fields: vec![field("credit_code", Grade::L1), field("ent_name", Grade::L1)],
            identifier_field: None,
            share: ShareAttrs { modes: vec![ShareMode::Bulk], ..Default::default() },
            open: OpenAttrs::default(),
        }
    }

    fn codes(b: &EntryBody) -> Vec<String> {
        validate(b, &GradingMatrix::default()).into_iter().map(|v| v.code).collect()
    }

    // covers: R-CAT-02, R-SHR-01
    #[test]
    fn a_complete_unconditional_entry_is_valid() {
        assert_eq!(codes(&entry()), Vec::<String>::new());
    }

    // covers: R-SHR-01
    #[test]
    fn conditional_needs_legal_basis_and_conditions() {
        let mut b = entry();
        b.share.share_type = ShareType::Conditional;
        b.open.open_type = OpenType::NotOpen;
        b.open.legal_basis = "《条例》".into();
        assert_eq!(codes(&b), ["share_legal_basis_required", "share_conditions_required"]);
        b.share.legal_basis = "《临江市公共数据管理办法》第十二条".into();
        b.share.conditions = "仅用于行政审批".into();
        assert!(codes(&b).is_empty());
    }

    // covers: R-SHR-01, R-SHR-02
    #[test]
    fn not_shared_needs_legal_basis_and_implies_not_open() {
        let mut b = entry();
        b.share = ShareAttrs { share_type: ShareType::NotShared, modes: vec![], ..Default::default() };
        assert_eq!(codes(&b), ["share_legal_basis_required", "not_shared_must_not_open"]);
        b.share.legal_basis = "《保守国家秘密法》".into();
        b.open = OpenAttrs { open_type: OpenType::NotOpen, conditions: String::new(), legal_basis: "同上".into() };
        assert!(codes(&b).is_empty());
        b.share.modes = vec![ShareMode::View];
        assert_eq!(codes(&b), ["share_modes_not_shared"]);
    }

    // covers: R-OPN-01
    #[test]
    fn open_restrictions_need_legal_basis_and_conditions() {
        let mut b = entry();
        b.open.open_type = OpenType::OnApplication;
        assert_eq!(codes(&b), ["open_legal_basis_required", "open_conditions_required"]);
    }

    // covers: R-SHR-01
    #[test]
    fn unlisted_share_attributes_default_to_unconditional() {
        let json = r#"{"name":"n","summary":"s","class":"theme","item":"01","format":"spreadsheet",
            "frequency":"monthly","fields":[{"name":"a","label":"甲","data_type":"text","grade":"l1"}]}"#;
        let b: EntryBody = serde_json::from_str(json).unwrap();
        assert_eq!(b.share.share_type, ShareType::Unconditional);
        assert_eq!(b.open.open_type, OpenType::Unconditional);
        assert_eq!(b.share.modes, ShareMode::ALL, "shareable in every mode");
        assert!(validate(&b, &GradingMatrix::default()).is_empty(), "and valid as written");
        assert!(DerivedCatalog::Share.includes(&b));
        assert!(!DerivedCatalog::Negative.includes(&b));
    }

    // covers: R-CAT-02
    #[test]
    fn entry_grade_is_the_highest_field_grade() {
        let mut b = entry();
        assert_eq!(b.grade(), Grade::L1);
        b.fields.push(field("x", Grade::L3));
        b.fields.push(field("y", Grade::L2));
        assert_eq!(b.grade(), Grade::L3);
    }

    // covers: R-CAT-02, R-OPN-01
    #[test]
    fn grading_matrix_limits_share_and_open_types() {
        let mut b = entry();
        b.fields[1].grade = Grade::L3;
        // L3: conditional sharing at most, opening on application at most.
        assert_eq!(codes(&b), ["grade_limits_share", "grade_limits_open"]);
        b.fields[1].grade = Grade::L4;
        b.share = ShareAttrs {
            share_type: ShareType::Conditional,
            conditions: "审批".into(),
            modes: vec![ShareMode::Verify],
            legal_basis: "依据".into(),
        };
        b.open = OpenAttrs { open_type: OpenType::OnApplication, conditions: "c".into(), legal_basis: "l".into() };
        assert_eq!(codes(&b), ["grade_limits_open"]);
        b.open.open_type = OpenType::NotOpen;
        assert!(codes(&b).is_empty());
        b.fields[1].grade = Grade::Core;
        assert_eq!(codes(&b), ["grade_limits_share"]);
    }

    // covers: R-CAT-02
    #[test]
    fn the_matrix_is_configuration() {
        let text = DEFAULT_MATRIX.replace(
            "[l3]\nshare_max = \"conditional\"\nopen_max = \"on_application\"",
            "[l3]\nshare_max = \"unconditional\"\nopen_max = \"unconditional\"",
        );
        assert_ne!(text, DEFAULT_MATRIX, "the default file has the expected layout");
        let relaxed = GradingMatrix::parse(&text).unwrap();
        let mut b = entry();
        b.fields[1].grade = Grade::L3;
        assert!(validate(&b, &relaxed).is_empty());
        assert!(GradingMatrix::parse("[l1]\nshare_max='x'").is_err());
        let unknown = format!("{DEFAULT_MATRIX}\n[l9]\nshare_max = \"unconditional\"\n");
        assert!(GradingMatrix::parse(&unknown).is_err());
    }

    // covers: R-AGG-08, R-CAT-02
    #[test]
    fn personal_fields_need_purpose_identifier_and_masking() {
        let mut b = entry();
        b.fields.push(Field { personal: true, grade: Grade::L3, ..field("mobile", Grade::L3) });
        b.share = ShareAttrs {
            share_type: ShareType::Conditional,
            conditions: "c".into(),
            modes: vec![ShareMode::View],
            legal_basis: "l".into(),
        };
        b.open = OpenAttrs { open_type: OpenType::NotOpen, conditions: String::new(), legal_basis: "l".into() };
        assert_eq!(codes(&b), ["purpose_required", "mask_required", "identifier_field_required"]);
        b.fields[2].purpose = "办件结果短信通知".into();
        b.fields[2].mask = MaskRule::Mobile;
        b.identifier_field = Some("credit_code".into());
        assert_eq!(codes(&b), ["identifier_field_role"]);
        b.fields[0].identifier = IdentifierRole::CreditCode;
        assert!(codes(&b).is_empty());
        b.identifier_field = Some("nope".into());
        assert_eq!(codes(&b), ["identifier_field_unknown"]);
    }

    // covers: R-CAT-02
    #[test]
    fn field_names_are_checked_and_unique() {
        let mut b = entry();
        b.fields.push(field("ent_name", Grade::L1));
        b.fields.push(field("Bad-Name", Grade::L1));
        b.fields.push(Field { label: " ".into(), ..field("ok", Grade::L1) });
        assert_eq!(codes(&b), ["duplicate_field", "bad_field_name", "field_label_required"]);
        b.fields.clear();
        assert_eq!(codes(&b), ["fields_required"]);
    }

    // covers: R-CAT-07
    #[test]
    fn purchased_data_names_its_supplier() {
        let mut b = entry();
        b.purchased = true;
        assert_eq!(codes(&b), ["purchase_source_required"]);
        b.purchased_from = "某征信公司".into();
        assert!(codes(&b).is_empty());
    }

    // covers: R-CAT-02
    #[test]
    fn resource_codes() {
        let b = entry();
        assert_eq!(b.classification_code(), "102000");
        assert_eq!(resource_code(&b.classification_code(), 42), "102000/000042");
        assert!(is_resource_code("102000/000042"));
        assert!(!is_resource_code("102000/42"));
        assert!(!is_resource_code("10a000/000042"));
    }

    // covers: R-CAT-03
    #[test]
    fn workflow_transitions() {
        use VersionStatus as S;
        use WorkflowAction as A;
        assert_eq!(S::Draft.next(A::Submit), Ok(S::Submitted));
        assert_eq!(S::Rejected.next(A::Submit), Ok(S::Submitted));
        assert_eq!(S::Submitted.next(A::Approve), Ok(S::Published));
        assert_eq!(S::Submitted.next(A::Reject), Ok(S::Rejected));
        assert_eq!(S::Submitted.next(A::Withdraw), Ok(S::Draft));
        for s in [S::Draft, S::Rejected, S::Published, S::Superseded, S::Withdrawn] {
            assert!(s.next(A::Approve).is_err(), "{s:?} cannot be approved");
        }
        assert!(S::Published.next(A::Submit).is_err());
        let e = S::Published.next(A::Reject).unwrap_err();
        assert!(e.message_zh().contains("已发布"));
    }

    // covers: R-CAT-04
    #[test]
    fn diff_names_changed_fields_by_name() {
        let a = entry();
        let mut b = entry();
        b.fields.reverse();
        assert!(diff(&a, &b).is_empty(), "reordering fields is not a change");
        b.fields[0].grade = Grade::L2;
        b.summary = "新摘要".into();
        b.fields.push(field("reg_date", Grade::L1));
        let d = diff(&a, &b);
        let paths: Vec<&str> = d.iter().map(|c| c.path.as_str()).collect();
        assert!(paths.contains(&"summary"));
        assert!(paths.contains(&"fields[ent_name].grade"));
        assert!(paths.contains(&"fields[reg_date].label"));
        let g = d.iter().find(|c| c.path == "fields[ent_name].grade").unwrap();
        assert_eq!((g.old.as_deref(), g.new.as_deref()), (Some("l1"), Some("l2")));
    }

    // covers: R-CAT-04
    #[test]
    fn update_deadline_is_fifteen_working_days() {
        let cal = crate::calendar::WorkCalendar::official();
        let d = |y, m, d| crate::calendar::date(y, m, d).unwrap();
        // Monday 2026-03-02 + 15 working days = Monday 2026-03-23 (no holidays in between).
        assert_eq!(update_deadline(&cal, d(2026, 3, 2)).unwrap().due, d(2026, 3, 23));
        // Across the National Day holiday (2026-10-01..07 off, 2026-10-10 a make-up working day).
        // Mon 09-28: 09-29, 09-30, then 10-08, 10-09, Saturday 10-10 (make-up day), and ten more
        // working days ends on Friday 10-23.
        assert_eq!(update_deadline(&cal, d(2026, 9, 28)).unwrap().due, d(2026, 10, 23));
    }

    // covers: R-CAT-05
    #[test]
    fn derived_catalogs_follow_the_attributes() {
        let mut b = entry();
        assert!(DerivedCatalog::Share.includes(&b) && DerivedCatalog::Open.includes(&b));
        assert!(DerivedCatalog::Base.includes(&b) && !DerivedCatalog::Theme.includes(&b));
        b.share.share_type = ShareType::NotShared;
        b.open.open_type = OpenType::NotOpen;
        assert!(DerivedCatalog::Negative.includes(&b));
        assert!(!DerivedCatalog::Share.includes(&b) && !DerivedCatalog::Open.includes(&b));
    }

    #[test]
    fn labels_parse_both_ways() {
        for s in ShareType::ALL {
            assert_eq!(ShareType::parse(s.label_zh()), Some(*s));
            assert_eq!(ShareType::parse(s.as_str()), Some(*s));
        }
        assert_eq!(Grade::parse_loose("L3"), Some(Grade::L3));
        assert_eq!(parse_item(CategoryClass::Base, "人口"), Some("01"));
    }
}
