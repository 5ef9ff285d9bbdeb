//! File formats PDP reads and writes for people rather than programs: the catalog template in
//! CSV and XLSX.
//!
//! The layout is the one departments already fill in by hand: one row per field (信息项), with
//! the entry's columns either repeated on every row of the entry or written on its first row
//! only and left blank below. Headers are the Chinese column names (the stable keys and English
//! names are accepted too), and values may be written as codes or as their Chinese labels.
//!
//! Parsing reports every problem at once, each with its spreadsheet row (the header is row 1)
//! and column, so an officer can fix a file in one pass. It never returns a partial result:
//! either every entry parsed and passed the domain rules, or the caller gets the whole list of
//! problems and writes nothing.

pub mod csvcell;
pub mod xlsx;

use std::collections::BTreeMap;

use pdp_domain::catalog::{
    CategoryClass, DataType, EntryBody, Field, Format, Frequency, Grade, GradingMatrix, IdentifierRole, MaskRule,
    OpenAttrs, OpenType, ShareAttrs, ShareMode, ShareType, item_label, parse_item, validate,
};

/// A column of the template.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub key: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// Entry-level columns repeat on each row of an entry; the others describe one field.
    pub entry_level: bool,
    /// Written on export only (provider, state, version); ignored on import.
    pub export_only: bool,
}

const fn col(key: &'static str, zh: &'static str, en: &'static str, entry_level: bool) -> Column {
    Column { key, zh, en, entry_level, export_only: false }
}

const fn info(key: &'static str, zh: &'static str, en: &'static str) -> Column {
    Column { key, zh, en, entry_level: true, export_only: true }
}

/// Every column, in template order.
pub const COLUMNS: &[Column] = &[
    col("code", "资源代码", "Resource code", true),
    info("provider", "提供单位", "Provider"),
    info("status", "状态", "State"),
    info("version", "版本", "Version"),
    col("name", "资源名称", "Resource name", true),
    col("summary", "资源摘要", "Summary", true),
    col("class", "资源分类", "Category class", true),
    col("item", "类目", "Category item", true),
    col("format", "资源格式", "Format", true),
    col("frequency", "更新周期", "Update frequency", true),
    col("release_date", "发布日期", "Release date", true),
    col("related", "关联资源代码", "Related resources", true),
    col("source_system_id", "来源信息系统", "Source system id", true),
    col("purchased", "是否采购数据", "Purchased", true),
    col("purchased_from", "采购来源", "Purchased from", true),
    col("collecting_dept", "采集部门", "Collecting department", true),
    col("approving_dept", "审批部门", "Approving department", true),
    col("usage_requirements", "使用要求", "Usage requirements", true),
    col("identifier_field", "主体标识信息项", "Identifier field", true),
    col("share_type", "共享类型", "Share type", true),
    col("share_conditions", "共享条件", "Share conditions", true),
    col("share_modes", "共享方式", "Share modes", true),
    col("share_legal_basis", "共享依据", "Share legal basis", true),
    col("open_type", "开放类型", "Open type", true),
    col("open_conditions", "开放条件", "Open conditions", true),
    col("open_legal_basis", "开放依据", "Open legal basis", true),
    col("field_name", "信息项名称", "Field name", false),
    col("field_label", "信息项中文名", "Field label", false),
    col("data_type", "数据类型", "Data type", false),
    col("field_description", "信息项描述", "Field description", false),
    col("grade", "分级", "Grade", false),
    col("personal", "是否个人信息", "Personal information", false),
    col("identifier", "标识类型", "Identifier role", false),
    col("mask", "脱敏规则", "Masking rule", false),
    col("purpose", "采集必要性", "Why needed", false),
];

/// Columns an import must have.
const REQUIRED: &[&str] = &["name", "summary", "class", "item", "field_name", "field_label", "data_type", "grade"];

fn column(key: &str) -> &'static Column {
    COLUMNS.iter().find(|c| c.key == key).unwrap_or(&COLUMNS[0])
}

/// One problem in an import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportIssue {
    /// Spreadsheet row, 1-based; the header is row 1.
    pub row: usize,
    /// The column's Chinese header.
    pub column: String,
    /// The input path of the rule, e.g. `share.legal_basis` or `fields[2].purpose`.
    pub path: String,
    pub code: String,
    pub message_zh: String,
    pub message_en: String,
}

/// Builds an issue; for callers that check what needs the database.
pub fn issue(
    row: usize,
    column: &str,
    path: &str,
    code: &str,
    zh: impl Into<String>,
    en: impl Into<String>,
) -> ImportIssue {
    ImportIssue {
        row,
        column: column.into(),
        path: path.into(),
        code: code.into(),
        message_zh: zh.into(),
        message_en: en.into(),
    }
}

/// An entry read from a file, with the row where it starts.
#[derive(Debug, Clone)]
pub struct ParsedEntry {
    /// The resource code, when the file updates an existing entry.
    pub code: Option<String>,
    pub body: EntryBody,
    pub first_row: usize,
}

/// An entry to export, with what the reader needs besides its body.
#[derive(Debug, Clone)]
pub struct ExportEntry {
    pub code: String,
    pub provider: String,
    pub status: String,
    pub version: i64,
    pub body: EntryBody,
}

fn yes_no(b: bool) -> String {
    if b { "是" } else { "否" }.into()
}

/// The template's rows (header first) for these entries.
pub fn to_rows(entries: &[ExportEntry]) -> Vec<Vec<String>> {
    let mut rows = vec![COLUMNS.iter().map(|c| c.zh.to_string()).collect::<Vec<_>>()];
    for e in entries {
        let b = &e.body;
        let entry: BTreeMap<&str, String> = [
            ("code", e.code.clone()),
            ("provider", e.provider.clone()),
            ("status", e.status.clone()),
            ("version", e.version.to_string()),
            ("name", b.name.clone()),
            ("summary", b.summary.clone()),
            ("class", b.class.label_zh().into()),
            ("item", item_label(b.class, &b.item).map(|(zh, _)| zh.to_string()).unwrap_or_else(|| b.item.clone())),
            ("format", b.format.label_zh().into()),
            ("frequency", b.frequency.label_zh().into()),
            ("release_date", b.release_date.clone()),
            ("related", b.related.join("、")),
            ("source_system_id", b.source_system_id.map(|i| i.to_string()).unwrap_or_default()),
            ("purchased", yes_no(b.purchased)),
            ("purchased_from", b.purchased_from.clone()),
            ("collecting_dept", b.collecting_dept.clone()),
            ("approving_dept", b.approving_dept.clone()),
            ("usage_requirements", b.usage_requirements.clone()),
            ("identifier_field", b.identifier_field.clone().unwrap_or_default()),
            ("share_type", b.share.share_type.label_zh().into()),
            ("share_conditions", b.share.conditions.clone()),
            ("share_modes", b.share.modes.iter().map(|m| m.label_zh()).collect::<Vec<_>>().join("、")),
            ("share_legal_basis", b.share.legal_basis.clone()),
            ("open_type", b.open.open_type.label_zh().into()),
            ("open_conditions", b.open.conditions.clone()),
            ("open_legal_basis", b.open.legal_basis.clone()),
        ]
        .into_iter()
        .collect();
        // An entry without fields still gets one row, so it is not lost on export.
        let fields: Vec<Option<&Field>> =
            if b.fields.is_empty() { vec![None] } else { b.fields.iter().map(Some).collect() };
        for f in fields {
            let row = COLUMNS
                .iter()
                .map(|c| {
                    if c.entry_level {
                        return entry.get(c.key).cloned().unwrap_or_default();
                    }
                    let Some(f) = f else { return String::new() };
                    match c.key {
                        "field_name" => f.name.clone(),
                        "field_label" => f.label.clone(),
                        "data_type" => f.data_type.label_zh().into(),
                        "field_description" => f.description.clone(),
                        "grade" => f.grade.label_zh().into(),
                        "personal" => yes_no(f.personal),
                        "identifier" => f.identifier.label_zh().into(),
                        "mask" => f.mask.label_zh().into(),
                        "purpose" => f.purpose.clone(),
                        _ => String::new(),
                    }
                })
                .collect();
            rows.push(row);
        }
    }
    rows
}

/// CSV in UTF-8 with a byte-order mark, so that Excel on a Chinese desktop opens it correctly.
/// Cells go through [`csvcell`], so none is taken for a formula.
pub fn write_csv(entries: &[ExportEntry]) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    for row in to_rows(entries) {
        csvcell::push_row(&mut out, &row);
    }
    out.into_bytes()
}

/// An XLSX workbook with one sheet in the template layout.
pub fn write_xlsx(entries: &[ExportEntry]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    sheet.set_name("目录")?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (r, row) in to_rows(entries).iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            if r == 0 {
                sheet.write_string_with_format(r, c, v, &bold)?;
            } else {
                sheet.write_string(r, c, v)?;
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    wb.save_to_buffer()
}

/// A table as an XLSX workbook of one sheet: a bold header of `columns`, then the rows as text
/// (an empty cell for null). The whole workbook is built in memory, so callers bound the rows.
pub fn write_table_xlsx(
    sheet_name: &str,
    columns: &[String],
    rows: impl Iterator<Item = Vec<Option<String>>>,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    sheet.set_name(sheet_name)?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, v) in columns.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, v, &bold)?;
    }
    for (r, row) in rows.enumerate() {
        for (c, v) in row.iter().enumerate() {
            if let Some(v) = v {
                // A string cell is never evaluated, so no formula needs neutralising here.
                sheet.write_string(r as u32 + 1, c as u16, v)?;
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    wb.save_to_buffer()
}

/// One example entry for the empty template.
pub fn example_entries() -> Vec<ExportEntry> {
    let f =
        |name: &str, label: &str, dt: DataType, grade: Grade, personal: bool, id: IdentifierRole, mask: MaskRule| {
            Field {
                name: name.into(),
                label: label.into(),
                data_type: dt,
                description: String::new(),
                grade,
                personal,
                identifier: id,
                mask,
                purpose: if personal { "办理业务时核对身份".into() } else { String::new() },
                rules: Default::default(),
            }
        };
    vec![ExportEntry {
        code: String::new(),
        provider: String::new(),
        status: String::new(),
        version: 0,
        body: EntryBody {
            name: "示例：企业登记基本信息".into(),
            summary: "企业名称、统一社会信用代码、法定代表人等登记信息。".into(),
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
            fields: vec![
                f(
                    "credit_code",
                    "统一社会信用代码",
                    DataType::Text,
                    Grade::L1,
                    false,
                    IdentifierRole::CreditCode,
                    MaskRule::None,
                ),
                f("name", "企业名称", DataType::Text, Grade::L1, false, IdentifierRole::None, MaskRule::None),
                f("legal_rep", "法定代表人", DataType::Text, Grade::L2, true, IdentifierRole::None, MaskRule::Name),
            ],
            identifier_field: Some("credit_code".into()),
            share: ShareAttrs { modes: vec![ShareMode::Bulk, ShareMode::View], ..Default::default() },
            open: OpenAttrs::default(),
        },
    }]
}

/// The cells of a CSV or XLSX file. XLSX is recognised by its ZIP signature; CSV must be UTF-8
/// (a byte-order mark is allowed).
pub fn read_table(bytes: &[u8], limits: &xlsx::SheetLimits) -> Result<Vec<Vec<String>>, Box<ImportIssue>> {
    let fail = |zh: String, en: String| Box::new(issue(1, "", "", "unreadable_file", zh, en));
    if bytes.starts_with(b"PK\x03\x04") {
        // Rows keep their sheet numbers: leading empty rows are there, empty.
        return xlsx::read_first_sheet(bytes, limits, |d| cell_text(&d)).map_err(|e| match e {
            xlsx::SheetError::Unreadable(e) => {
                fail(format!("无法读取 XLSX 文件：{e}"), format!("cannot read the XLSX file: {e}"))
            }
            xlsx::SheetError::TooLarge { zh, en } => Box::new(issue(1, "", "", "file_too_large", zh, en)),
        });
    }
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(text).map_err(|_| {
        fail(
            "CSV 文件须为 UTF-8 编码（在 Excel 中另存为“CSV UTF-8”）".into(),
            "the CSV file must be UTF-8 (in Excel, save as \"CSV UTF-8\")".into(),
        )
    })?;
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| {
            Box::new(issue(
                i + 1,
                "",
                "",
                "unreadable_file",
                format!("CSV 格式错误：{e}"),
                format!("malformed CSV: {e}"),
            ))
        })?;
        rows.push(rec.iter().map(|s| csvcell::restore(s).to_string()).collect());
    }
    Ok(rows)
}

fn cell_text(c: &calamine::Data) -> String {
    use calamine::Data;
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => yes_no(*b),
        // Excel counts days from 1899-12-30, whose Julian day number is 2 415 019.
        Data::DateTime(d) => time::Date::from_julian_day(2_415_019 + d.as_f64().floor() as i32)
            .ok()
            .and_then(|d| d.format(pdp_domain::calendar::ISO_DATE).ok())
            .unwrap_or_default(),
        Data::DateTimeIso(s) => s.chars().take(10).collect(),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// Reads and checks a template: every cell, then every domain rule of every entry. Returns the
/// entries only when there is no problem at all. An XLSX sheet is read within `limits`.
pub fn parse(
    bytes: &[u8],
    matrix: &GradingMatrix,
    limits: &xlsx::SheetLimits,
) -> Result<Vec<ParsedEntry>, Vec<ImportIssue>> {
    let rows = read_table(bytes, limits).map_err(|e| vec![*e])?;
    parse_rows(&rows, matrix)
}

/// [`parse`] on cells already read.
pub fn parse_rows(rows: &[Vec<String>], matrix: &GradingMatrix) -> Result<Vec<ParsedEntry>, Vec<ImportIssue>> {
    let mut issues = Vec::new();
    let Some(header) = rows.first() else {
        return Err(vec![issue(1, "", "", "empty_file", "文件为空", "the file is empty")]);
    };
    // Map each header to its column.
    let mut idx: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (i, h) in header.iter().enumerate() {
        let h = h.trim();
        if h.is_empty() {
            continue;
        }
        match COLUMNS.iter().find(|c| c.zh == h || c.key == h || c.en.eq_ignore_ascii_case(h)) {
            Some(c) => {
                if idx.insert(c.key, i).is_some() {
                    issues.push(issue(
                        1,
                        h,
                        c.key,
                        "duplicate_column",
                        format!("列“{h}”重复"),
                        format!("column {h} appears twice"),
                    ));
                }
            }
            None => {
                issues.push(issue(1, h, "", "unknown_column", format!("未知列“{h}”"), format!("unknown column {h}")))
            }
        }
    }
    for key in REQUIRED {
        if !idx.contains_key(key) {
            let c = column(key);
            issues.push(issue(
                1,
                c.zh,
                key,
                "missing_column",
                format!("缺少必填列“{}”", c.zh),
                format!("missing column {}", c.en),
            ));
        }
    }
    if !issues.is_empty() {
        return Err(issues);
    }
    let cell = |row: &[String], key: &str| -> String {
        idx.get(key).and_then(|&i| row.get(i)).map(|s| s.trim().to_string()).unwrap_or_default()
    };

    // Group rows into entries.
    struct Group {
        rows: Vec<usize>,
    }
    let mut groups: Vec<Group> = Vec::new();
    for (i, row) in rows.iter().enumerate().skip(1) {
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let name = cell(row, "name");
        let code = cell(row, "code");
        let continues = match groups.last() {
            None => false,
            Some(g) => {
                let first = &rows[g.rows[0]];
                (name.is_empty() && code.is_empty()) || (name == cell(first, "name") && code == cell(first, "code"))
            }
        };
        if continues {
            if let Some(g) = groups.last_mut() {
                g.rows.push(i);
            }
        } else {
            groups.push(Group { rows: vec![i] });
        }
    }
    if groups.is_empty() {
        return Err(vec![issue(2, "", "", "no_entries", "文件中没有目录条目", "the file has no entries")]);
    }

    let mut out = Vec::new();
    for g in &groups {
        let first = &rows[g.rows[0]];
        let first_no = g.rows[0] + 1;
        let before = issues.len();
        // Entry-level cells below the first row are blank (grouped) or equal (repeated).
        for &r in &g.rows[1..] {
            for c in COLUMNS.iter().filter(|c| c.entry_level && !c.export_only) {
                let v = cell(&rows[r], c.key);
                if !v.is_empty() && v != cell(first, c.key) {
                    issues.push(issue(
                        r + 1,
                        c.zh,
                        c.key,
                        "inconsistent_entry_cell",
                        format!("同一资源各行的“{}”须相同（第 {first_no} 行为“{}”）", c.zh, cell(first, c.key)),
                        format!("{} differs from the entry's first row ({first_no})", c.en),
                    ));
                }
            }
        }
        let class = {
            let v = cell(first, "class");
            let c = CategoryClass::parse(&v);
            if c.is_none() {
                bad(&mut issues, "class", first_no, &v, labels(CategoryClass::ALL, |x| x.label_zh()));
            }
            c
        };
        let item = match class {
            Some(c) => {
                let v = cell(first, "item");
                let i = parse_item(c, &v).map(String::from);
                if i.is_none() {
                    let allowed = pdp_domain::catalog::CATEGORY_ITEMS
                        .iter()
                        .filter(|(k, ..)| *k == c)
                        .map(|(_, code, zh, _)| format!("{code} {zh}"))
                        .collect::<Vec<_>>()
                        .join("、");
                    bad(&mut issues, "item", first_no, &v, allowed);
                }
                i
            }
            None => None,
        };
        let format =
            enum_cell(&mut issues, "format", first_no, &cell(first, "format"), Format::ALL, Format::parse, None);
        let frequency = enum_cell(
            &mut issues,
            "frequency",
            first_no,
            &cell(first, "frequency"),
            Frequency::ALL,
            Frequency::parse,
            None,
        );
        // Unlisted data is shareable by default (R-SHR-01), and open by default (R-OPN-01).
        let share_type = enum_cell(
            &mut issues,
            "share_type",
            first_no,
            &cell(first, "share_type"),
            ShareType::ALL,
            ShareType::parse,
            Some(ShareType::Unconditional),
        );
        let open_type = enum_cell(
            &mut issues,
            "open_type",
            first_no,
            &cell(first, "open_type"),
            OpenType::ALL,
            OpenType::parse,
            Some(OpenType::Unconditional),
        );
        let mut modes = Vec::new();
        let modes_text = cell(first, "share_modes");
        for m in split_list(&modes_text) {
            match ShareMode::parse(m) {
                Some(x) => modes.push(x),
                None => bad(&mut issues, "share_modes", first_no, m, labels(ShareMode::ALL, |x| x.label_zh())),
            }
        }
        let purchased = match parse_bool(&cell(first, "purchased")) {
            Some(b) => b,
            None => {
                bad(&mut issues, "purchased", first_no, &cell(first, "purchased"), "是、否".into());
                false
            }
        };
        let source_system_id = {
            let v = cell(first, "source_system_id");
            if v.is_empty() {
                None
            } else {
                match v.parse::<i64>() {
                    Ok(i) => Some(i),
                    Err(_) => {
                        bad(&mut issues, "source_system_id", first_no, &v, "信息系统登记编号（整数）".into());
                        None
                    }
                }
            }
        };
        let mut fields = Vec::new();
        for &r in &g.rows {
            let row = &rows[r];
            let row_no = r + 1;
            let name = cell(row, "field_name");
            if name.is_empty() && cell(row, "field_label").is_empty() {
                // An entry row without a field (an entry with no fields yet).
                continue;
            }
            let data_type = enum_cell(
                &mut issues,
                "data_type",
                row_no,
                &cell(row, "data_type"),
                DataType::ALL,
                DataType::parse,
                None,
            );
            let grade = {
                let v = cell(row, "grade");
                let g = Grade::parse_loose(&v);
                if g.is_none() {
                    bad(&mut issues, "grade", row_no, &v, labels(Grade::ALL, |x| x.label_zh()));
                }
                g
            };
            let personal = match parse_bool(&cell(row, "personal")) {
                Some(b) => b,
                None => {
                    bad(&mut issues, "personal", row_no, &cell(row, "personal"), "是、否".into());
                    false
                }
            };
            let identifier = enum_cell(
                &mut issues,
                "identifier",
                row_no,
                &cell(row, "identifier"),
                IdentifierRole::ALL,
                IdentifierRole::parse,
                Some(IdentifierRole::None),
            );
            let mask = enum_cell(
                &mut issues,
                "mask",
                row_no,
                &cell(row, "mask"),
                MaskRule::ALL,
                MaskRule::parse,
                Some(MaskRule::None),
            );
            if let (Some(data_type), Some(grade), Some(identifier), Some(mask)) = (data_type, grade, identifier, mask) {
                fields.push((
                    row_no,
                    Field {
                        name,
                        label: cell(row, "field_label"),
                        data_type,
                        description: cell(row, "field_description"),
                        grade,
                        personal,
                        identifier,
                        mask,
                        purpose: cell(row, "purpose"),
                        rules: Default::default(),
                    },
                ));
            }
        }
        if issues.len() > before {
            continue;
        }
        let (Some(class), Some(item), Some(format), Some(frequency), Some(share_type), Some(open_type)) =
            (class, item, format, frequency, share_type, open_type)
        else {
            continue;
        };
        let identifier_field = Some(cell(first, "identifier_field")).filter(|s| !s.is_empty());
        let body = EntryBody {
            name: cell(first, "name"),
            summary: cell(first, "summary"),
            class,
            item,
            format,
            frequency,
            release_date: cell(first, "release_date"),
            related: split_list(&cell(first, "related")).into_iter().map(String::from).collect(),
            source_system_id,
            purchased,
            purchased_from: cell(first, "purchased_from"),
            collecting_dept: cell(first, "collecting_dept"),
            approving_dept: cell(first, "approving_dept"),
            usage_requirements: cell(first, "usage_requirements"),
            fields: fields.iter().map(|(_, f)| f.clone()).collect(),
            identifier_field,
            share: ShareAttrs {
                share_type,
                conditions: cell(first, "share_conditions"),
                modes,
                legal_basis: cell(first, "share_legal_basis"),
            },
            open: OpenAttrs {
                open_type,
                conditions: cell(first, "open_conditions"),
                legal_basis: cell(first, "open_legal_basis"),
            },
        };
        for v in validate(&body, matrix) {
            let (row, key) = locate(&v.path, first_no, &fields.iter().map(|(r, _)| *r).collect::<Vec<_>>());
            let c = COLUMNS.iter().find(|c| c.key == key);
            issues.push(ImportIssue {
                row,
                column: c.map(|c| c.zh.to_string()).unwrap_or_else(|| v.path.clone()),
                path: v.path.clone(),
                code: v.code.clone(),
                message_zh: v.message_zh.clone(),
                message_en: v.message_en.clone(),
            });
        }
        let code = Some(cell(first, "code")).filter(|s| !s.is_empty());
        out.push(ParsedEntry { code, body, first_row: first_no });
    }
    if issues.is_empty() {
        Ok(out)
    } else {
        issues.sort_by(|a, b| (a.row, &a.column).cmp(&(b.row, &b.column)));
        Err(issues)
    }
}

fn bad(issues: &mut Vec<ImportIssue>, key: &str, row: usize, value: &str, allowed: String) {
    let c = column(key);
    issues.push(issue(
        row,
        c.zh,
        key,
        "invalid_value",
        format!("“{}”的值“{value}”无效，可选：{allowed}", c.zh),
        format!("invalid {} \"{value}\"; allowed: {allowed}", c.en),
    ));
}

fn labels<T: Copy>(all: &[T], zh: impl Fn(T) -> &'static str) -> String {
    all.iter().map(|v| zh(*v)).collect::<Vec<_>>().join("、")
}

/// Parses a code or label cell; a blank cell gives `default`, which `None` makes an error.
fn enum_cell<T: Copy + LabelZh>(
    issues: &mut Vec<ImportIssue>,
    key: &str,
    row: usize,
    v: &str,
    all: &[T],
    parse: fn(&str) -> Option<T>,
    default: Option<T>,
) -> Option<T> {
    if v.is_empty()
        && let Some(d) = default
    {
        return Some(d);
    }
    let out = parse(v);
    if out.is_none() {
        bad(issues, key, row, v, labels(all, T::zh));
    }
    out
}

/// The Chinese label of a value, for listing the allowed values in an error.
trait LabelZh {
    fn zh(self) -> &'static str;
}

macro_rules! label_zh {
    ($($t:ty),+) => { $(impl LabelZh for $t { fn zh(self) -> &'static str { self.label_zh() } })+ };
}
label_zh!(Format, Frequency, ShareType, OpenType, DataType, IdentifierRole, MaskRule);

/// The row and column key of a rule's input path.
fn locate(path: &str, first_row: usize, field_rows: &[usize]) -> (usize, &'static str) {
    if let Some(rest) = path.strip_prefix("fields[") {
        let (i, tail) = rest.split_once(']').unwrap_or((rest, ""));
        let row = i.parse::<usize>().ok().and_then(|i| field_rows.get(i).copied()).unwrap_or(first_row);
        let key = match tail.trim_start_matches('.') {
            "name" => "field_name",
            "label" => "field_label",
            "data_type" => "data_type",
            "description" => "field_description",
            "grade" => "grade",
            "personal" => "personal",
            "identifier" => "identifier",
            "mask" => "mask",
            "purpose" => "purpose",
            _ => "field_name",
        };
        return (row, key);
    }
    let key = match path.split('[').next().unwrap_or(path) {
        "share.share_type" => "share_type",
        "share.conditions" => "share_conditions",
        "share.modes" => "share_modes",
        "share.legal_basis" => "share_legal_basis",
        "open.open_type" => "open_type",
        "open.conditions" => "open_conditions",
        "open.legal_basis" => "open_legal_basis",
        "fields" => "field_name",
        other => COLUMNS.iter().find(|c| c.key == other).map(|c| c.key).unwrap_or("name"),
    };
    (first_row, key)
}

fn split_list(s: &str) -> Vec<&str> {
    s.split(['、', ',', '，', ';', '；', '/']).map(str::trim).filter(|s| !s.is_empty()).collect()
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "" | "否" | "no" | "false" | "N" | "n" | "0" => Some(false),
        "是" | "yes" | "true" | "Y" | "y" | "1" => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> GradingMatrix {
        GradingMatrix::default()
    }

    /// covers: R-CAT-02 (the template round-trips through CSV and XLSX without loss)
    #[test]
    fn export_then_import_round_trips() {
        let ex = example_entries();
        for bytes in [write_csv(&ex), write_xlsx(&ex).unwrap()] {
            let parsed = parse(&bytes, &m(), &Default::default()).unwrap_or_else(|e| panic!("{e:?}"));
            assert_eq!(parsed.len(), 1);
            assert_eq!(parsed[0].body, ex[0].body);
            assert_eq!(parsed[0].first_row, 2);
        }
    }

    /// covers: R-CAT-02 (grouped layout: entry columns only on the first row of an entry)
    #[test]
    fn grouped_rows_belong_to_the_entry_above() {
        let mut rows = to_rows(&example_entries());
        let entry_cols: Vec<usize> =
            COLUMNS.iter().enumerate().filter(|(_, c)| c.entry_level).map(|(i, _)| i).collect();
        for r in rows.iter_mut().skip(2) {
            for &i in &entry_cols {
                r[i].clear();
            }
        }
        let parsed = parse_rows(&rows, &m()).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].body.fields.len(), 3);
    }

    /// covers: R-CAT-02, R-SHR-02 (an import reports every error at once, with row and column)
    #[test]
    fn every_error_is_reported_with_row_and_column() {
        let mut rows = to_rows(&example_entries());
        let at = |k: &str| COLUMNS.iter().position(|c| c.key == k).unwrap();
        rows[1][at("format")] = "羊皮纸".into(); // row 2: bad format
        rows[3][at("grade")] = "六级".into(); // row 4: bad grade
        // A second entry, conditional without a legal basis or conditions (rule errors).
        let mut second = rows[2].clone();
        second[at("name")] = "第二个资源".into();
        second[at("share_type")] = "有条件共享".into();
        rows.push(second);
        let issues = parse_rows(&rows, &m()).unwrap_err();
        let got: Vec<(usize, &str, &str)> =
            issues.iter().map(|i| (i.row, i.column.as_str(), i.code.as_str())).collect();
        assert!(got.contains(&(2, "资源格式", "invalid_value")), "{got:?}");
        assert!(got.contains(&(4, "分级", "invalid_value")), "{got:?}");
        assert!(got.contains(&(5, "共享依据", "share_legal_basis_required")), "{got:?}");
        assert!(got.contains(&(5, "共享条件", "share_conditions_required")), "{got:?}");
        // The second entry has one field that is personal without an identifier field named.
        assert!(issues.iter().all(|i| !i.message_zh.is_empty() && !i.message_en.is_empty()));
    }

    /// covers: R-CAT-02 (unknown and missing columns are reported before anything else)
    #[test]
    fn header_problems() {
        let rows = vec![vec!["资源名称".to_string(), "颜色".to_string()]];
        let issues = parse_rows(&rows, &m()).unwrap_err();
        assert!(issues.iter().any(|i| i.code == "unknown_column" && i.column == "颜色"));
        assert!(issues.iter().any(|i| i.code == "missing_column" && i.column == "信息项名称"));
        assert!(read_table(b"\xff\xfe\x00bad", &Default::default()).is_err());
    }
}
