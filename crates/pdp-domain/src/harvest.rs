//! Harvesting already-public data from another portal (R-OPN-07, route 3): what a source is,
//! what a harvested dataset record holds, and how a record becomes a catalog entry.
//!
//! A source is a CKAN portal read through its Action API or a DCAT-AP catalog in Turtle or
//! JSON-LD. Both are read into the same [`HarvestedDataset`], so the same dataset harvested by
//! either protocol becomes the same entry. The record's [`fingerprint`] is what a later run
//! compares: an unchanged record is not downloaded again.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::catalog::{
    CategoryClass, DataType, EntryBody, Field, Format, Frequency, Grade, IdentifierRole, MaskRule, OpenAttrs, OpenType,
    ShareAttrs, Violation, labeled_enum, parse_item,
};

labeled_enum!(
    /// The protocol a source speaks.
    HarvestKind {
        Ckan => "ckan", "CKAN 接口", "CKAN Action API";
        Dcat => "dcat", "DCAT-AP 目录", "DCAT-AP catalog";
    }
);

labeled_enum!(
    /// Where a harvest run stands.
    RunStatus {
        Running => "running", "运行中", "Running";
        Succeeded => "succeeded", "成功", "Succeeded";
        Partial => "partial", "部分失败", "Some records failed";
        Failed => "failed", "失败", "Failed";
    }
);

labeled_enum!(
    /// What a run did with one record.
    ItemOutcome {
        New => "new", "新增", "New";
        Changed => "changed", "变更", "Changed";
        Unchanged => "unchanged", "未变", "Unchanged";
        Withdrawn => "withdrawn", "源端已撤回", "Withdrawn at the source";
        Held => "held", "保留本地修改", "Local edits kept";
        Skipped => "skipped", "跳过", "Skipped";
        Failed => "failed", "失败", "Failed";
    }
);

/// The longest source name.
pub const MAX_SOURCE_NAME_CHARS: usize = 100;
/// The longest interval between scheduled runs, in hours (30 days).
pub const MAX_SCHEDULE_HOURS: i64 = 720;
/// The most fields a harvested table may have.
pub const MAX_FIELDS: usize = 200;

/// A source as the authority registers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceInput {
    pub name: String,
    pub kind: HarvestKind,
    /// A CKAN portal's root (its Action API is under `/api/3/action/`), or the URL of a DCAT-AP
    /// catalog document (`.ttl`, `.jsonld`), whose Hydra `next` pages are followed.
    pub url: String,
    /// Hours between scheduled runs; 0 runs only when started by hand.
    #[serde(default)]
    pub schedule_hours: i64,
}

fn v(out: &mut Vec<Violation>, code: &str, path: &str, zh: impl Into<String>, en: impl Into<String>) {
    out.push(Violation { code: code.into(), path: path.into(), message_zh: zh.into(), message_en: en.into() });
}

/// Checks a source: a name, an `http(s)` URL without credentials, a schedule within bounds.
pub fn check_source(input: &SourceInput) -> Vec<Violation> {
    let mut out = Vec::new();
    let name = input.name.trim();
    if name.is_empty() {
        v(&mut out, "name_required", "name", "请填写来源名称", "the source needs a name");
    } else if name.chars().count() > MAX_SOURCE_NAME_CHARS {
        v(&mut out, "name_too_long", "name", "来源名称不超过 100 字", "the name is at most 100 characters");
    }
    if let Err(e) = crate::webhook::check_url(&input.url) {
        v(&mut out, "harvest_url_invalid", "url", e.zh, e.en);
    }
    if !(0..=MAX_SCHEDULE_HOURS).contains(&input.schedule_hours) {
        v(
            &mut out,
            "harvest_schedule_invalid",
            "schedule_hours",
            format!("采集间隔为 0（仅手动）至 {MAX_SCHEDULE_HOURS} 小时"),
            format!("the interval is 0 (by hand only) to {MAX_SCHEDULE_HOURS} hours"),
        );
    }
    out
}

/// A distribution of a harvested dataset: where to download it and its format, lower case
/// (`csv`, `json`, `html`, …).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Distribution {
    pub url: String,
    pub format: String,
}

/// One dataset as a source describes it, in the terms CKAN and DCAT share.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HarvestedDataset {
    /// The dataset's stable identifier at the source: its DCAT IRI, or for CKAN the package's
    /// page `{portal}/dataset/{name}` (the IRI CKAN's own DCAT extension gives it).
    pub identifier: String,
    pub title: String,
    pub description: String,
    /// The publishing organisation's name.
    pub publisher: String,
    /// When the source last changed the dataset, as the source writes it.
    pub modified: String,
    /// Topic labels (CKAN groups' titles, DCAT keywords), in the source's order.
    pub topics: Vec<String>,
    pub frequency: Option<Frequency>,
    /// The licence's title or URL.
    pub licence: String,
    /// The dataset's page at the source.
    pub landing_page: String,
    /// Whether the source opens the data only on application (no download is offered).
    pub on_application: bool,
    /// Sorted, so that the order a source lists them in is no change.
    pub distributions: Vec<Distribution>,
}

impl HarvestedDataset {
    /// The distribution PDP loads: the first CSV.
    pub fn csv(&self) -> Option<&Distribution> {
        self.distributions.iter().find(|d| d.format == "csv" || d.format.ends_with("/csv"))
    }
}

/// A digest of everything a record says: equal fingerprints mean nothing changed.
pub fn fingerprint(d: &HarvestedDataset) -> String {
    let mut d = d.clone();
    d.distributions.sort();
    d.distributions.dedup();
    let bytes = serde_json::to_vec(&d).unwrap_or_default();
    hex(&Sha256::digest(bytes))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The EU frequency vocabulary's code of a frequency.
pub fn eu_frequency(f: Option<Frequency>) -> &'static str {
    match f {
        Some(Frequency::Realtime) => "UPDATE_CONT",
        Some(Frequency::Daily) => "DAILY",
        Some(Frequency::Weekly) => "WEEKLY",
        Some(Frequency::Monthly) => "MONTHLY",
        Some(Frequency::Quarterly) => "QUARTERLY",
        Some(Frequency::HalfYearly) => "ANNUAL_2",
        Some(Frequency::Yearly) => "ANNUAL",
        None => "UNKNOWN",
    }
}

/// A frequency from an EU frequency code or IRI, or from PDP's own code.
pub fn parse_frequency(s: &str) -> Option<Frequency> {
    let code = s.rsplit('/').next().unwrap_or(s).trim();
    Frequency::ALL.iter().copied().find(|f| eu_frequency(Some(*f)) == code).or_else(|| Frequency::parse(code))
}

/// The classification of a harvested dataset: the first topic label that names an item of
/// the classes (theme, then base, then department), else the theme 公共服务 (`01`).
pub fn classify(topics: &[String]) -> (CategoryClass, &'static str) {
    for t in topics {
        for class in [CategoryClass::Theme, CategoryClass::Base, CategoryClass::Department] {
            if let Some(item) = parse_item(class, t) {
                return (class, item);
            }
        }
    }
    (CategoryClass::Theme, "01")
}

/// A field's name and label from a column header: the header itself when it is a valid field
/// name, else `c{n}` (1-based) labelled with the header.
pub fn field_of_header(i: usize, header: &str) -> (String, String) {
    let h = header.trim().trim_start_matches('\u{feff}');
    let name = h.to_ascii_lowercase();
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 64;
    let label = if h.is_empty() { format!("第{}列", i + 1) } else { h.to_string() };
    if valid { (name, label) } else { (format!("c{}", i + 1), label) }
}

/// Why a table's header cannot become an entry's fields.
pub fn check_header(header: &[String]) -> Option<Violation> {
    if header.is_empty() || header.len() > MAX_FIELDS {
        return Some(Violation {
            code: "harvest_header_invalid".into(),
            path: "header".into(),
            message_zh: format!("表头须有 1 至 {MAX_FIELDS} 列"),
            message_en: format!("the header must have 1 to {MAX_FIELDS} columns"),
        });
    }
    None
}

/// The catalog entry a harvested dataset becomes on the hosting authority: text fields named by
/// the table's header (already public, so graded L1 and unmasked; the review looks at the
/// sample), the source named as collecting department and its licence as usage requirements.
pub fn harvested_entry_body(d: &HarvestedDataset, source_name: &str, header: &[String]) -> EntryBody {
    let mut seen = std::collections::BTreeSet::new();
    let fields = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let (mut name, label) = field_of_header(i, h);
            if seen.contains(&name) {
                name = format!("c{}", i + 1);
            }
            // A header may itself name a column `c2`: lengthen until unique.
            while seen.contains(&name) && name.len() < 64 {
                name.push('_');
            }
            seen.insert(name.clone());
            Field {
                name,
                label,
                data_type: DataType::Text,
                description: String::new(),
                grade: Grade::L1,
                personal: false,
                identifier: IdentifierRole::None,
                mask: MaskRule::None,
                purpose: String::new(),
                rules: Default::default(),
            }
        })
        .collect();
    let (class, item) = classify(&d.topics);
    let title: String = d.title.trim().chars().take(200).collect();
    let summary: String = d.description.trim().chars().take(2000).collect();
    let licence = if d.licence.trim().is_empty() { "未注明 / not stated" } else { d.licence.trim() };
    EntryBody {
        name: title,
        summary,
        class,
        item: item.to_string(),
        format: Format::Spreadsheet,
        frequency: d.frequency.unwrap_or(Frequency::Yearly),
        release_date: String::new(),
        related: Vec::new(),
        source_system_id: None,
        purchased: false,
        purchased_from: String::new(),
        collecting_dept: format!("{}（采集自 {source_name}）", d.publisher.trim()),
        approving_dept: String::new(),
        usage_requirements: format!(
            "采集自已公开数据 {}；许可：{licence} / harvested from public data at {}; licence: {licence}",
            d.identifier, d.identifier
        ),
        fields,
        identifier_field: None,
        share: ShareAttrs::default(),
        open: OpenAttrs { open_type: OpenType::Unconditional, conditions: String::new(), legal_basis: String::new() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{GradingMatrix, validate};
    use crate::open::check_rules;

    fn dataset() -> HarvestedDataset {
        HarvestedDataset {
            identifier: "http://portal.example/dataset/101000-000001".into(),
            title: "公共厕所分布".into(),
            description: "全市公共厕所".into(),
            publisher: "市城市管理局".into(),
            modified: "2026-01-02T03:04:05".into(),
            topics: vec!["城乡建设".into()],
            frequency: Some(Frequency::Monthly),
            licence: "CC BY 4.0".into(),
            landing_page: String::new(),
            on_application: false,
            distributions: vec![Distribution { url: "http://portal.example/a.csv".into(), format: "csv".into() }],
        }
    }

    #[test]
    fn a_harvested_dataset_makes_a_valid_entry_whatever_its_header() {
        let header = vec!["name".into(), "地址".into(), "Name".into(), "".into(), "9lives".into(), "c2".into()];
        let body = harvested_entry_body(&dataset(), "邻市开放平台", &header);
        assert_eq!(validate(&body, &GradingMatrix::default()), vec![]);
        let names: Vec<&str> = body.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["name", "c2", "c3", "c4", "c5", "c6"]);
        assert_eq!(body.fields[1].label, "地址");
        let rules = crate::social::social_rules(&body);
        assert_eq!(check_rules(&body, &GradingMatrix::default(), &rules), vec![]);
        assert!(body.collecting_dept.contains("市城市管理局") && body.collecting_dept.contains("邻市开放平台"));
        assert_eq!((body.class, body.item.as_str()), (CategoryClass::Theme, "09"));
    }

    #[test]
    fn the_order_of_distributions_is_no_change_but_a_new_title_is() {
        let a = dataset();
        let mut b = a.clone();
        b.distributions.push(Distribution { url: "http://portal.example/a.json".into(), format: "json".into() });
        let mut c = b.clone();
        c.distributions.reverse();
        assert_eq!(fingerprint(&b), fingerprint(&c));
        assert_ne!(fingerprint(&a), fingerprint(&b));
        c.title.push('2');
        assert_ne!(fingerprint(&b), fingerprint(&c));
    }

    #[test]
    fn frequencies_read_from_eu_iris_and_own_codes() {
        for f in Frequency::ALL {
            let iri = format!("http://publications.europa.eu/resource/authority/frequency/{}", eu_frequency(Some(*f)));
            assert_eq!(parse_frequency(&iri), Some(*f));
            assert_eq!(parse_frequency(f.as_str()), Some(*f));
        }
        assert_eq!(parse_frequency("fortnightly"), None);
    }

    #[test]
    fn sources_are_checked() {
        let ok = SourceInput {
            name: "邻市".into(),
            kind: HarvestKind::Ckan,
            url: "https://x.example/".into(),
            schedule_hours: 24,
        };
        assert!(check_source(&ok).is_empty());
        let bad = SourceInput { name: " ".into(), url: "ftp://x".into(), schedule_hours: 721, ..ok };
        let codes: Vec<String> = check_source(&bad).into_iter().map(|v| v.code).collect();
        assert_eq!(codes, ["name_required", "harvest_url_invalid", "harvest_schedule_invalid"]);
    }
}
