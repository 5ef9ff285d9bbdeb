//! Social data (社会数据), the fourth route to the open portal (R-OPN-07, FS 35): a registered
//! organisation submits a dataset it holds, with its metadata, a licence and a pledge; the
//! authority reviews it like any other release (R-OPN-05) before the public sees it.
//!
//! The platform hosts the data: the submission becomes a catalog entry of the city's data
//! authority naming the organisation as its source, and a release prepared by the same rules as
//! a department's, so the portal, the open API, downloads and the review queue need nothing of
//! their own. This module checks a submission and turns it into that entry and those rules; it
//! does no IO.

use serde::{Deserialize, Serialize};

use crate::catalog::{
    CategoryClass, DataType, EntryBody, Field, Format, Frequency, Grade, IdentifierRole, MaskRule, OpenAttrs, OpenType,
    ShareAttrs, Violation, item_label, labeled_enum,
};
use crate::open::{ReleaseField, ReleaseFormat, ReleaseRules};

labeled_enum!(
    /// The licence a social dataset is opened under: the public may reuse it on its terms.
    Licence {
        CcBy => "cc_by", "知识共享署名 4.0（CC BY 4.0）", "Creative Commons Attribution 4.0";
        Cc0 => "cc0", "知识共享零授权（CC0 1.0）", "CC0 1.0 (public domain dedication)";
        OdcBy => "odc_by", "开放数据共享署名许可（ODC-By 1.0）", "Open Data Commons Attribution 1.0";
    }
);

/// One field of a social dataset as its provider describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocialField {
    /// The column's name in the file, `[a-z][a-z0-9_]*`.
    pub name: String,
    /// The Chinese label people see.
    pub label: String,
    #[serde(default)]
    pub description: String,
    /// A rule the provider asks for (a contact phone published as `138****0000`, say); absent
    /// means the value is published as it is.
    #[serde(default)]
    pub mask: Option<MaskRule>,
}

/// What the submitting organisation confirms (承诺): each must be true.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocialPledge {
    /// The data was obtained lawfully.
    #[serde(default)]
    pub lawfully_obtained: bool,
    /// It holds no personal information, or only what its subjects consented to publish.
    #[serde(default)]
    pub no_personal_information: bool,
    /// It holds no state secret, trade secret of others, or important data.
    #[serde(default)]
    pub no_secrets: bool,
    /// The organisation may license it to the public under the chosen licence.
    #[serde(default)]
    pub may_license: bool,
}

impl SocialPledge {
    fn items(&self) -> [(bool, &'static str, &'static str); 4] {
        [
            (self.lawfully_obtained, "数据来源合法", "the data was obtained lawfully"),
            (
                self.no_personal_information,
                "不含未经同意公开的个人信息",
                "no personal information published without consent",
            ),
            (
                self.no_secrets,
                "不含国家秘密、他人商业秘密或重要数据",
                "no state secret, others' trade secret or important data",
            ),
            (self.may_license, "有权按所选许可开放", "the right to license it as chosen"),
        ]
    }

    /// The pledge as one line, for the release's note and the audit event.
    pub fn summary(&self) -> String {
        self.items().iter().filter(|i| i.0).map(|i| i.1).collect::<Vec<_>>().join("；")
    }
}

/// A submission of social data: the metadata of the file that comes with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocialInput {
    pub name: String,
    pub summary: String,
    /// 领域: a two-digit theme item (`01` 公共服务 … `12` 应急维稳).
    pub item: String,
    /// `daily`, `monthly`, `yearly`…: how often the organisation will submit a new version.
    pub frequency: Frequency,
    /// `cc_by` (CC BY 4.0), `cc0` (CC0 1.0) or `odc_by` (ODC-By 1.0).
    pub licence: Licence,
    pub fields: Vec<SocialField>,
    #[serde(default)]
    pub pledge: SocialPledge,
}

/// The most fields a social dataset has, and the longest name and summary.
pub const MAX_SOCIAL_FIELDS: usize = 100;
const MAX_NAME_CHARS: usize = 100;
const MAX_SUMMARY_CHARS: usize = 2000;

fn v(out: &mut Vec<Violation>, code: &str, path: impl Into<String>, zh: impl Into<String>, en: impl Into<String>) {
    out.push(Violation { code: code.into(), path: path.into(), message_zh: zh.into(), message_en: en.into() });
}

/// Every reason a submission cannot go to review before its entry is checked as a catalog
/// entry: the pledge complete, the theme known, the fields few and unique, no rule that does
/// not mask.
pub fn check_social(input: &SocialInput) -> Vec<Violation> {
    let mut out = Vec::new();
    let missing: Vec<&str> = input.pledge.items().iter().filter(|i| !i.0).map(|i| i.1).collect();
    if !missing.is_empty() {
        let en: Vec<&str> = input.pledge.items().iter().filter(|i| !i.0).map(|i| i.2).collect();
        v(
            &mut out,
            "social_pledge_incomplete",
            "pledge",
            format!("须承诺：{}", missing.join("、")),
            format!("the pledge must confirm: {}", en.join("; ")),
        );
    }
    if input.name.chars().count() > MAX_NAME_CHARS {
        v(&mut out, "name_too_long", "name", "名称不超过 100 字", "the name is at most 100 characters");
    }
    if input.summary.chars().count() > MAX_SUMMARY_CHARS {
        v(&mut out, "summary_too_long", "summary", "摘要不超过 2000 字", "the summary is at most 2000 characters");
    }
    if item_label(CategoryClass::Theme, &input.item).is_none() {
        v(
            &mut out,
            "unknown_item",
            "item",
            format!("未知的领域“{}”（01–12）", input.item),
            format!("unknown topic {:?} (01 to 12)", input.item),
        );
    }
    if input.fields.len() > MAX_SOCIAL_FIELDS {
        v(
            &mut out,
            "too_many_fields",
            "fields",
            format!("信息项不超过 {MAX_SOCIAL_FIELDS} 个"),
            format!("at most {MAX_SOCIAL_FIELDS} fields"),
        );
    }
    for (i, f) in input.fields.iter().enumerate() {
        if f.mask == Some(MaskRule::None) {
            v(
                &mut out,
                "social_mask_none",
                format!("fields[{i}].mask"),
                "脱敏规则不能为“不脱敏”；不需脱敏的信息项不填",
                "leave the rule out for a field published as it is",
            );
        }
    }
    out
}

/// The catalog entry a submission becomes: a theme resource of the host (the data authority)
/// whose collecting department is the organisation, shared and open unconditionally under its
/// licence. A masked field is graded L2 so the grading matrix keeps its rule; the others L1.
pub fn social_entry_body(input: &SocialInput, organisation: &str, credit_code: &str) -> EntryBody {
    let fields = input
        .fields
        .iter()
        .map(|f| Field {
            name: f.name.trim().to_string(),
            label: f.label.trim().to_string(),
            data_type: DataType::Text,
            description: f.description.trim().to_string(),
            grade: if f.mask.is_some() { Grade::L2 } else { Grade::L1 },
            personal: false,
            identifier: IdentifierRole::None,
            mask: f.mask.unwrap_or(MaskRule::None),
            purpose: String::new(),
            rules: Default::default(),
        })
        .collect();
    EntryBody {
        name: input.name.trim().to_string(),
        summary: input.summary.trim().to_string(),
        class: CategoryClass::Theme,
        item: input.item.trim().to_string(),
        format: Format::Spreadsheet,
        frequency: input.frequency,
        release_date: String::new(),
        related: Vec::new(),
        source_system_id: None,
        purchased: false,
        purchased_from: String::new(),
        collecting_dept: format!("{organisation}（统一社会信用代码 {credit_code}）"),
        approving_dept: String::new(),
        usage_requirements: format!(
            "社会数据，按 {} 开放 / social data licensed under {}",
            input.licence.label_zh(),
            input.licence.label_en()
        ),
        fields,
        identifier_field: None,
        // What the public may read, agencies may too (not-shared data cannot be opened).
        share: ShareAttrs::default(),
        open: OpenAttrs { open_type: OpenType::Unconditional, conditions: String::new(), legal_basis: String::new() },
    }
}

/// The rules of a social release: every field under its entry's rule, every format,
/// declassification confirmed by the pledge, no automatic push (each version is submitted).
pub fn social_rules(body: &EntryBody) -> ReleaseRules {
    ReleaseRules {
        fields: body.fields.iter().map(|f| ReleaseField { name: f.name.clone(), mask: None }).collect(),
        filters: Vec::new(),
        formats: ReleaseFormat::ALL.to_vec(),
        declassified: true,
        auto_push: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{GradingMatrix, validate};
    use crate::open::check_rules;

    fn input() -> SocialInput {
        SocialInput {
            name: "共享单车停放点".into(),
            summary: "本市共享单车规范停放点位".into(),
            item: "09".into(),
            frequency: Frequency::Monthly,
            licence: Licence::CcBy,
            fields: vec![
                SocialField { name: "site".into(), label: "点位".into(), description: String::new(), mask: None },
                SocialField {
                    name: "contact".into(),
                    label: "联系电话".into(),
                    description: String::new(),
                    mask: Some(MaskRule::Mobile),
                },
            ],
            pledge: SocialPledge {
                lawfully_obtained: true,
                no_personal_information: true,
                no_secrets: true,
                may_license: true,
            },
        }
    }

    #[test]
    fn a_complete_submission_makes_a_valid_entry_and_releasable_rules() {
        let i = input();
        assert!(check_social(&i).is_empty());
        let body = social_entry_body(&i, "某出行公司", "91350100M000100Y43");
        let matrix = GradingMatrix::default();
        assert_eq!(validate(&body, &matrix), vec![]);
        assert_eq!(check_rules(&body, &matrix, &social_rules(&body)), vec![]);
        assert_eq!(body.fields[1].mask, MaskRule::Mobile);
        assert!(body.collecting_dept.contains("某出行公司"));
    }

    #[test]
    fn an_incomplete_pledge_or_an_unknown_topic_is_refused_with_its_path() {
        let mut i = input();
        i.pledge.no_secrets = false;
        i.item = "99".into();
        i.fields[0].mask = Some(MaskRule::None);
        let codes: Vec<_> = check_social(&i).into_iter().map(|v| (v.code, v.path)).collect();
        assert!(codes.contains(&("social_pledge_incomplete".into(), "pledge".into())));
        assert!(codes.contains(&("unknown_item".into(), "item".into())));
        assert!(codes.contains(&("social_mask_none".into(), "fields[0].mask".into())));
    }
}
