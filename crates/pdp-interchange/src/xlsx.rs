//! Reading the first sheet of an XLSX workbook within bounds, for every XLSX the platform takes
//! in (the catalog import and dataset uploads).
//!
//! An XLSX file is a zip of XML, so a few kilobytes can declare an enormous sheet. calamine's
//! `worksheet_range` allocates the dense bounding box of the cells it finds: a file whose only
//! cells are A1 and XFD1048576 asks for 17 billion cells. This reader instead checks every zip
//! entry's decompressed size against a cap before calamine opens the workbook (the shared
//! strings are read whole on opening), then walks the sheet cell by cell, refusing a cell past
//! the row or column limit and a sheet whose cells, counted as the rows hold them, pass the
//! cell limit. What it allocates is bounded by the limits, whatever the file declares.

use std::io::{Cursor, Read};

use calamine::{Data, Reader};

/// How large a sheet the platform reads. Configuration sets them (`limits.xlsx_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SheetLimits {
    /// Rows, the header included.
    pub max_rows: u32,
    /// Columns of any row.
    pub max_columns: u32,
    /// Cells in all, counting the empty cells before the last cell of each row.
    pub max_cells: u64,
    /// The decompressed size of any one part of the zip (a sheet, the shared strings), in bytes.
    pub max_part_bytes: u64,
}

impl Default for SheetLimits {
    fn default() -> Self {
        // A million rows is Excel's own limit; 10 million cells of a few bytes each is a file
        // of tens of megabytes, larger than the upload limit allows.
        Self { max_rows: 1_048_576, max_columns: 1_000, max_cells: 10_000_000, max_part_bytes: 512 << 20 }
    }
}

/// Why a sheet was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetError {
    /// Not a workbook calamine can read, or no sheet in it.
    Unreadable(String),
    /// Past a limit; the messages name it.
    TooLarge { zh: String, en: String },
}

impl SheetError {
    fn too_large(zh: String, en: String) -> Self {
        Self::TooLarge { zh, en }
    }
}

/// Counts what a reader yields and stops at a cap.
fn part_size_within(mut r: impl Read, cap: u64) -> std::io::Result<bool> {
    let n = std::io::copy(&mut r.by_ref().take(cap + 1), &mut std::io::sink())?;
    Ok(n <= cap)
}

/// Refuses a zip one of whose parts decompresses past `cap`, by decompressing each part into
/// nothing and counting (the sizes the zip declares are not trusted).
fn check_parts(bytes: &[u8], cap: u64) -> Result<(), SheetError> {
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| SheetError::Unreadable(format!("not a zip: {e}")))?;
    for i in 0..zip.len() {
        let part = zip.by_index(i).map_err(|e| SheetError::Unreadable(e.to_string()))?;
        let name = part.name().map(|n| n.into_owned()).unwrap_or_else(|_| format!("#{i}"));
        if !part_size_within(part, cap).map_err(|e| SheetError::Unreadable(format!("{name}: {e}")))? {
            return Err(SheetError::too_large(
                format!("XLSX 文件的组成部分 {name} 解压后超过 {} MiB", cap >> 20),
                format!("the XLSX part {name} decompresses to more than {} MiB", cap >> 20),
            ));
        }
    }
    Ok(())
}

/// The cells of the first sheet as rows of text, each cell converted by `text`. Rows are
/// indexed from the sheet's row 1 (leading empty rows are there, empty), and a row ends at its
/// last cell.
pub fn read_first_sheet(
    bytes: &[u8],
    limits: &SheetLimits,
    mut text: impl FnMut(Data) -> String,
) -> Result<Vec<Vec<String>>, SheetError> {
    check_parts(bytes, limits.max_part_bytes)?;
    let mut book = calamine::Xlsx::new(Cursor::new(bytes)).map_err(|e| SheetError::Unreadable(e.to_string()))?;
    let first = book.sheet_names().first().cloned().ok_or_else(|| SheetError::Unreadable("no worksheet".into()))?;
    let mut cells = book.worksheet_cells_reader(&first).map_err(|e| SheetError::Unreadable(e.to_string()))?;
    let rows_too_many = |n: u64| {
        SheetError::too_large(
            format!("工作表超过 {} 行（第 {n} 行）", limits.max_rows),
            format!("the sheet has more than {} rows (row {n})", limits.max_rows),
        )
    };
    // The declared dimension is only a claim, but a claim past the limits is refused before
    // reading anything.
    let declared = cells.dimensions();
    if declared.end.0 >= limits.max_rows {
        return Err(rows_too_many(u64::from(declared.end.0) + 1));
    }
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut counted: u64 = 0;
    while let Some(cell) = cells.next_cell().map_err(|e| SheetError::Unreadable(e.to_string()))? {
        let (r, c) = cell.get_position();
        if r >= limits.max_rows {
            return Err(rows_too_many(u64::from(r) + 1));
        }
        if c >= limits.max_columns {
            return Err(SheetError::too_large(
                format!("工作表超过 {} 列（第 {} 行第 {} 列）", limits.max_columns, r + 1, u64::from(c) + 1),
                format!(
                    "the sheet has more than {} columns (row {}, column {})",
                    limits.max_columns,
                    r + 1,
                    u64::from(c) + 1
                ),
            ));
        }
        let value: Data = cell.get_value().clone().into();
        if value == Data::Empty {
            continue;
        }
        let (r, c) = (r as usize, c as usize);
        if rows.len() <= r {
            counted += (r + 1 - rows.len()) as u64;
            rows.resize_with(r + 1, Vec::new);
        }
        let row = &mut rows[r];
        if row.len() <= c {
            counted += (c + 1 - row.len()) as u64;
            if counted > limits.max_cells {
                return Err(SheetError::too_large(
                    format!("工作表超过 {} 个单元格", limits.max_cells),
                    format!("the sheet has more than {} cells", limits.max_cells),
                ));
            }
            row.resize(c + 1, String::new());
        }
        row[c] = text(value);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A workbook written by hand: the parts a reader needs and one sheet of the given cells.
    fn workbook(cells: &[(&str, &str)], dimension: &str) -> Vec<u8> {
        let mut sheet = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>"#
        );
        for (at, v) in cells {
            let row: String = at.chars().filter(|c| c.is_ascii_digit()).collect();
            sheet.push_str(&format!(r#"<row r="{row}"><c r="{at}" t="inlineStr"><is><t>{v}</t></is></c></row>"#));
        }
        sheet.push_str("</sheetData></worksheet>");
        let parts = [
            ("[Content_Types].xml", r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#.to_string()),
            ("_rels/.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_string()),
            ("xl/workbook.xml", r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#.to_string()),
            ("xl/_rels/workbook.xml.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#.to_string()),
            ("xl/worksheets/sheet1.xml", sheet),
        ];
        let mut out = Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, body) in parts {
            zip.start_file(name, opts).unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
        out.into_inner()
    }

    fn text(d: Data) -> String {
        d.to_string()
    }

    #[test]
    fn reads_cells_in_place() {
        let book = workbook(&[("A1", "编码"), ("C1", "名称"), ("B3", "x")], "A1:C3");
        let rows = read_first_sheet(&book, &SheetLimits::default(), text).unwrap();
        assert_eq!(
            rows,
            vec![vec!["编码".to_string(), String::new(), "名称".into()], vec![], vec![String::new(), "x".into()]]
        );
    }

    /// covers: R-SEC-05 (a sparse sheet cannot make the reader allocate its bounding box)
    #[test]
    fn a_sparse_sheet_is_refused_without_allocating_its_box() {
        // A1 and XFD1048576: 17 billion cells if read densely.
        for dim in ["A1:XFD1048576", "A1"] {
            let book = workbook(&[("A1", "a"), ("XFD1048576", "b")], dim);
            let e = read_first_sheet(&book, &SheetLimits::default(), text).unwrap_err();
            assert!(matches!(e, SheetError::TooLarge { .. }), "{dim}: {e:?}");
        }
        // Under the row and column limits, the cell count still bounds what is allocated.
        let limits = SheetLimits { max_rows: 2_000_000, max_columns: 20_000, max_cells: 1_000, ..Default::default() };
        let book = workbook(&[("A1", "a"), ("ZZ900", "b")], "A1");
        assert!(matches!(read_first_sheet(&book, &limits, text), Err(SheetError::TooLarge { .. })));
    }

    /// covers: R-SEC-05 (a zip bomb is refused by its decompressed size)
    #[test]
    fn a_part_past_the_cap_is_refused() {
        let book = workbook(&[("A1", &"x".repeat(200_000))], "A1");
        let small = SheetLimits { max_part_bytes: 100_000, ..Default::default() };
        assert!(matches!(read_first_sheet(&book, &small, text), Err(SheetError::TooLarge { .. })));
        assert_eq!(read_first_sheet(&book, &SheetLimits::default(), text).unwrap()[0][0].len(), 200_000);
        assert!(matches!(read_first_sheet(b"PK\x03\x04junk", &small, text), Err(SheetError::Unreadable(_))));
    }
}
