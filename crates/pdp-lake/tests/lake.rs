//! The lake on real files: loads, quarantine, versions, upserts, idempotent batches.

use pdp_domain::catalog::{
    CategoryClass, DataType, EntryBody, Field, Format, Frequency, Grade, IdentifierRole, MaskRule, OpenAttrs,
    ShareAttrs,
};
use pdp_domain::dataset::FieldRules;
use pdp_lake::source::{Encoding, SourceFormat, open_reader};
use pdp_lake::{CellRows, Lake, LakeError, LoadMeta, LoadMode, LoadReport};
use proptest::prelude::*;

fn field(name: &str, dt: DataType, rules: FieldRules) -> Field {
    Field {
        name: name.into(),
        label: format!("{name}标签"),
        data_type: dt,
        description: String::new(),
        grade: Grade::L2,
        personal: true,
        identifier: IdentifierRole::None,
        mask: MaskRule::None,
        purpose: String::new(),
        rules,
    }
}

fn people() -> EntryBody {
    let mut id = field("id_no", DataType::Text, FieldRules { key: true, ..Default::default() });
    id.identifier = IdentifierRole::CitizenId;
    EntryBody {
        name: "人口基本信息".into(),
        summary: "t".into(),
        class: CategoryClass::Base,
        item: "01".into(),
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
            id,
            field("name", DataType::Text, FieldRules { required: true, ..Default::default() }),
            field("age", DataType::Integer, FieldRules { min: Some(0.0), max: Some(150.0), ..Default::default() }),
            field("born", DataType::Date, FieldRules::default()),
        ],
        identifier_field: None,
        share: ShareAttrs::default(),
        open: OpenAttrs::default(),
    }
}

fn today() -> time::Date {
    time::macros::date!(2026 - 11 - 22)
}

async fn load_csv(lake: &Lake, text: &str, mode: LoadMode, meta: LoadMeta) -> Result<LoadReport, LakeError> {
    let src = open_reader(Box::new(std::io::Cursor::new(text.as_bytes().to_vec())), SourceFormat::Csv, Encoding::Auto)?;
    lake.load("101000/000001", &people(), mode, today(), meta, src, |_| {}).await
}

const GOOD: [&str; 3] = ["11010519491231002X", "440524198001010013", "110101200001010002"];

fn meta() -> LoadMeta {
    LoadMeta { actor: "officer".into(), source: "people.csv".into(), ..Default::default() }
}

// covers: R-AGG-01, R-AGG-02 (a load is a version; bad rows go to quarantine with every reason)
#[tokio::test]
async fn load_quarantine_versions_and_time_travel() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    assert!(lake.table("101000/000001").await.unwrap().is_none());
    let csv = format!(
        "id_no,name,age,born\n{},张三,76,1949-12-31\n{},李四,,\n110105194912310021,王五,200,x\n{},赵六,5,\n",
        GOOD[0], GOOD[1], GOOD[0]
    );
    let r = load_csv(&lake, &csv, LoadMode::Full, meta()).await.unwrap();
    assert_eq!(r.version, Some(1));
    assert_eq!((r.stats.input_rows, r.stats.accepted, r.stats.quarantined), (4, 2, 2));
    let q = lake.quarantine("101000/000001", 1).await.unwrap();
    assert_eq!(q.iter().map(|r| r.row).collect::<Vec<_>>(), [3, 4]);
    let rules: Vec<&str> = q[0].errors.iter().map(|e| e.rule.as_str()).collect();
    assert_eq!(rules, ["citizen_id", "range", "type"]);
    assert_eq!(q[1].errors[0].rule, "duplicate_key");
    assert!(q[0].aligned);
    assert_eq!(q[0].cells, ["110105194912310021", "王五", "200", "x"]);

    let page = lake.rows("101000/000001", None, None, 0, 10).await.unwrap();
    assert_eq!(page.columns, ["id_no", "name", "age", "born"]);
    assert_eq!(page.total, 2);
    assert_eq!(
        page.rows[0],
        [Some(GOOD[0].to_string()), Some("张三".into()), Some("76".into()), Some("1949-12-31".into())]
    );

    // A second full load replaces the rows; version 1 stays readable.
    let csv2 = format!("姓名暂缺,id_no\n{}", GOOD[2]);
    assert!(matches!(load_csv(&lake, &csv2, LoadMode::Full, meta()).await, Err(LakeError::BadFile { .. })));
    let csv2 = format!("id_no标签,name标签,age标签,born标签\n{},钱七,30,2000-01-01\n", GOOD[2]);
    let r2 = load_csv(&lake, &csv2, LoadMode::Full, meta()).await.unwrap();
    assert_eq!(r2.version, Some(2), "the refused file made no version");
    assert_eq!(lake.rows("101000/000001", None, None, 0, 10).await.unwrap().total, 1);
    assert_eq!(lake.rows("101000/000001", Some(1), None, 0, 10).await.unwrap().total, 2);
    assert!(matches!(lake.rows("101000/000001", Some(9), None, 0, 10).await, Err(LakeError::NoSuchVersion(9))));
    let found = lake.rows("101000/000001", Some(1), Some(("id_no", GOOD[1])), 0, 10).await.unwrap();
    assert_eq!(found.rows[0][1].as_deref(), Some("李四"));

    let versions = lake.versions("101000/000001").await.unwrap();
    assert_eq!(versions.len(), 3);
    let notes: Vec<_> = versions.iter().map(|v| v.note.clone().unwrap()).collect();
    assert_eq!(notes[1].stats.quarantined, 2);
    assert_eq!(notes[2].rows_after, 1);
    assert_eq!(notes[2].actor, "officer");

    // The latest version read back whole: one row.
    let all = lake.rows("101000/000001", None, None, 0, 10).await.unwrap();
    assert_eq!((all.total, all.rows[0][1].as_deref()), (1, Some("钱七")));
}

// covers: R-AGG-01 (retention ends time travel for old versions and keeps the latest, its
// row count and the quarantine)
#[tokio::test]
async fn retention_removes_old_versions_files_only() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    let v1 = format!("id_no,name,age,born\n{},张三,76,\n{},李四,,\n110105194912310021,王五,1,\n", GOOD[0], GOOD[1]);
    load_csv(&lake, &v1, LoadMode::Full, meta()).await.unwrap();
    let v2 = format!("id_no,name,age,born\n{},钱七,30,2000-01-01\n", GOOD[2]);
    load_csv(&lake, &v2, LoadMode::Full, meta()).await.unwrap();
    // A week's retention deletes nothing yet: the old files were removed just now.
    assert!(lake.vacuum("101000/000001", 24 * 7, "ops").await.unwrap().is_empty());
    assert_eq!(lake.rows("101000/000001", Some(1), None, 0, 10).await.unwrap().total, 2);
    let deleted = lake.vacuum("101000/000001", 0, "ops").await.unwrap();
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert!(lake.rows("101000/000001", Some(1), None, 0, 10).await.is_err(), "version 1 is gone");
    let page = lake.rows("101000/000001", None, None, 0, 10).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.rows[0][1].as_deref(), Some("钱七"));
    assert_eq!(lake.quarantine("101000/000001", 1).await.unwrap().len(), 1, "the quarantine stays");
    // The retention commits carry the row count, so later loads and listings still know it.
    let versions = lake.versions("101000/000001").await.unwrap();
    let last = versions.last().unwrap().note.clone().expect("a note");
    assert_eq!((last.kind, last.rows_after), (pdp_lake::CommitKind::Retention, 1));
    let r = load_csv(&lake, &format!("id_no,name,age,born\n{},孙八,3,\n", GOOD[0]), LoadMode::Upsert, meta())
        .await
        .unwrap();
    assert_eq!(r.rows_after, 2);
}

// covers: R-AGG-02 (incremental upsert by key; idempotent push batches)
#[tokio::test]
async fn upsert_and_idempotent_batches() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    let csv = format!("id_no,name,age,born\n{},张三,76,\n{},李四,40,\n", GOOD[0], GOOD[1]);
    load_csv(&lake, &csv, LoadMode::Full, meta()).await.unwrap();
    let up = format!("id_no,name,age,born\n{},李四改,41,\n{},王五,3,\n", GOOD[1], GOOD[2]);
    let m = LoadMeta { batch_id: Some("b-1".into()), ..meta() };
    let r = load_csv(&lake, &up, LoadMode::Upsert, m.clone()).await.unwrap();
    assert_eq!(r.rows_after, 3);
    let by_id = pdp_lake::share::Selection {
        columns: vec!["id_no".into(), "name".into()],
        filters: vec![],
        order_by: Some("id_no".into()),
    };
    let page = lake.select_rows("101000/000001", &by_id, None, 0, 10).await.unwrap();
    let names: Vec<_> = page.rows.iter().map(|r| r[1].clone().unwrap()).collect();
    assert_eq!(names, ["王五", "张三", "李四改"]);
    // The same batch again changes nothing.
    let again = load_csv(&lake, &up, LoadMode::Upsert, m).await.unwrap();
    assert!(again.already_loaded);
    assert_eq!(again.version, None);
    assert_eq!(lake.versions("101000/000001").await.unwrap().len(), 3);
    assert_eq!(again.rows_after, 3);
}

// covers: R-AGG-02 (a correction with an invalid row commits nothing; a valid one resolves the row)
#[tokio::test]
async fn corrections_are_validated_before_commit() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    let csv = format!("id_no,name,age,born\n{},张三,76,\n{},,40,\n", GOOD[0], GOOD[1]);
    load_csv(&lake, &csv, LoadMode::Full, meta()).await.unwrap();
    let fix = |name: &str| {
        let meta = LoadMeta {
            resolves: vec![pdp_lake::QuarantineRef { version: 1, row: 2 }],
            reject_invalid: true,
            source: "correction".into(),
            ..meta()
        };
        let rows = CellRows::new(&people().fields, vec![vec![GOOD[1].into(), name.into(), "40".into(), "".into()]]);
        let lake = lake.clone();
        async move { lake.load("101000/000001", &people(), LoadMode::Upsert, today(), meta, Box::new(rows), |_| {}).await }
    };
    match fix("").await {
        Err(LakeError::Invalid(rows)) => assert_eq!(rows[0].errors[0].rule, "required"),
        other => panic!("expected invalid, got {other:?}"),
    }
    assert_eq!(lake.versions("101000/000001").await.unwrap().len(), 2);
    let r = fix("李四").await.unwrap();
    assert_eq!(r.rows_after, 2);
    let v = lake.version_info("101000/000001", 2).await.unwrap();
    assert_eq!(v.note.unwrap().resolves, [pdp_lake::QuarantineRef { version: 1, row: 2 }]);
}

fn person_row(i: u32, bad: u8) -> String {
    let code = pdp_domain::ids::complete_citizen_id(&format!("11010119800101{:03}", i % 1000)).unwrap_or_default();
    match bad % 4 {
        0 => format!("{code},人{i},{},", i % 100),
        1 => format!("{code},,{},", i % 100),
        2 => format!("{code},人{i},abc,"),
        _ => format!("{code},人{i},{},1980-02-30", i % 100),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    // covers: R-AGG-02 (nothing is lost: accepted + quarantined = input rows, and the lake and
    // the quarantine hold exactly those rows)
    #[test]
    fn accepted_plus_quarantined_is_input(kinds in proptest::collection::vec(0u8..8, 0..60)) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
            let mut csv = String::from("id_no,name,age,born\n");
            for (i, k) in kinds.iter().enumerate() {
                csv.push_str(&person_row(i as u32, if *k >= 4 { 0 } else { *k }));
                csv.push('\n');
            }
            let r = load_csv(&lake, &csv, LoadMode::Full, meta()).await.unwrap();
            prop_assert_eq!(r.stats.input_rows, kinds.len() as u64);
            prop_assert_eq!(r.stats.accepted + r.stats.quarantined, r.stats.input_rows);
            let v = r.version.unwrap();
            let q = lake.quarantine("101000/000001", v).await.unwrap();
            prop_assert_eq!(q.len() as u64, r.stats.quarantined);
            let rows = lake.rows("101000/000001", Some(v), None, 0, 1).await.unwrap();
            prop_assert_eq!(rows.total, r.stats.accepted);
            Ok(())
        })?;
    }
}

// covers: R-SHR-04 (lookups by key for view and verify answer from the key files of the latest
// version: this process's at once, another process's within keyindex::RECHECK; and apply row
// filters exactly as the scan does)
#[tokio::test]
async fn lookups_by_key_follow_new_versions_and_filters() {
    use pdp_lake::share::{ColumnFilter, Match, Selection};
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    let csv = format!("id_no,name,age,born\n{},张三,76,\n{},李四,40,\n", GOOD[0], GOOD[1]);
    load_csv(&lake, &csv, LoadMode::Full, meta()).await.unwrap();
    let sel =
        |filters: Vec<ColumnFilter>| Selection { columns: vec!["name".into(), "age".into()], filters, order_by: None };
    let find = |lake: Lake, sel: Selection, key: &'static str| async move {
        lake.select_rows("101000/000001", &sel, Some(("id_no", key)), 0, 10).await.unwrap()
    };
    let p = find(lake.clone(), sel(vec![]), GOOD[1]).await;
    assert_eq!((p.total, p.rows.clone()), (1, vec![vec![Some("李四".to_string()), Some("40".to_string())]]));
    assert_eq!(find(lake.clone(), sel(vec![]), GOOD[2]).await.total, 0);
    // Another process (another lake on the same directory) loads a new version.
    let other = Lake::open(dir.path().to_str().unwrap()).unwrap();
    let up = format!("id_no,name,age,born\n{},李四改,41,\n{},王五,3,\n", GOOD[1], GOOD[2]);
    load_csv(&other, &up, LoadMode::Upsert, meta()).await.unwrap();
    tokio::time::sleep(pdp_lake::keyindex::RECHECK).await;
    let p = find(lake.clone(), sel(vec![]), GOOD[1]).await;
    assert_eq!(p.rows[0][0].as_deref(), Some("李四改"), "the index follows another process's version");
    assert_eq!(find(lake.clone(), sel(vec![]), GOOD[2]).await.total, 1);
    // This process's own load is seen by the very next lookup, however recent the last look.
    let again = format!("id_no,name,age,born\n{},王五改,4,\n", GOOD[2]);
    load_csv(&lake, &again, LoadMode::Upsert, meta()).await.unwrap();
    let p = find(lake.clone(), sel(vec![]), GOOD[2]).await;
    assert_eq!(p.rows[0][0].as_deref(), Some("王五改"), "the index follows this process's version at once");
    // Text filters (equality and prefix) and a numeric one (answered by the scan) agree.
    let name_is = |v: &str, matching| ColumnFilter { column: "name".into(), matching, values: vec![v.into()] };
    assert_eq!(find(lake.clone(), sel(vec![name_is("李四", Match::Equals)]), GOOD[1]).await.total, 0);
    assert_eq!(find(lake.clone(), sel(vec![name_is("李四", Match::Prefix)]), GOOD[1]).await.total, 1);
    let age = |v: &str| ColumnFilter { column: "age".into(), matching: Match::Equals, values: vec![v.into()] };
    assert_eq!(find(lake.clone(), sel(vec![age("41")]), GOOD[1]).await.total, 1);
    assert_eq!(find(lake.clone(), sel(vec![age("40")]), GOOD[1]).await.total, 0);
    let none = ColumnFilter { column: "name".into(), matching: Match::Equals, values: vec![] };
    assert_eq!(find(lake.clone(), sel(vec![none]), GOOD[1]).await.total, 0, "a filter without values admits nothing");
    // The filters of district returns, counted over the whole table: a code inside the key (a
    // credit code's division code starts at its third character) and a trimmed text field.
    let f = |column: &str, matching, v: &str| ColumnFilter { column: column.into(), matching, values: vec![v.into()] };
    let ids = [GOOD[0], GOOD[1], GOOD[2]];
    for (from, code) in [(2, &GOOD[1][2..8]), (3, &GOOD[1][2..8]), (0, &GOOD[2][..6])] {
        let want = ids.iter().filter(|id| &id[from..from + 6] == code).count() as u64;
        let n = lake.count_rows("101000/000001", &[f("id_no", Match::PrefixAt(from), code)]).await.unwrap();
        assert_eq!(n, want, "the code at {from}");
    }
    let n = lake.count_rows("101000/000001", &[f("name", Match::TrimmedText, "张三")]).await.unwrap();
    assert_eq!(n, 1);
    let page = lake
        .select_rows(
            "101000/000001",
            &Selection { columns: vec!["name".into()], filters: vec![], order_by: Some("name".into()) },
            None,
            1,
            1,
        )
        .await
        .unwrap();
    let mut names = ["张三", "李四改", "王五改"];
    names.sort_unstable();
    assert_eq!((page.total, page.rows[0][0].as_deref()), (3, Some(names[1])), "a page of the ordered selection");
}

// covers: R-AGG-02 (key uniqueness across a load larger than a validation chunk: every repeat
// of an earlier accepted key is quarantined as a duplicate whatever thread validated it, the
// first occurrence is the one kept, an invalid row does not take its key, nothing is lost)
#[tokio::test]
async fn duplicate_keys_across_chunks_keep_the_first_row() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    // Distinct valid citizen IDs for i < 84 000 (born 1980, months 1-3, days 1-28).
    let id = |i: u32| {
        let (k, seq) = (i / 1000, i % 1000);
        pdp_domain::ids::complete_citizen_id(&format!("1101011980{:02}{:02}{seq:03}", k / 28 + 1, k % 28 + 1)).unwrap()
    };
    let n = 40_000u32;
    let mut csv = String::from("id_no,name,age,born\n");
    // The model: a valid row takes its key unless an earlier valid row took it.
    let mut taken = std::collections::HashSet::new();
    let (mut dups, mut invalid, mut freed) = (Vec::new(), Vec::new(), 0);
    for i in 0..n {
        let row = u64::from(i) + 1;
        // Every seventh row repeats the key of a row about 20 000 rows (several chunks) back.
        let key = if i % 7 == 6 { id(i.saturating_sub(20_000) / 7 * 7) } else { id(i) };
        if i % 143 == 5 {
            csv.push_str(&format!("{key},,30,\n")); // no name: invalid
            invalid.push(row);
        } else {
            csv.push_str(&format!("{key},人{i},30,\n"));
            if !taken.insert(key) {
                dups.push(row);
            } else if i % 7 == 6 {
                freed += 1; // a repeat of a key only an invalid row had
            }
        }
    }
    assert!(dups.len() > 5000 && freed > 0 && !invalid.is_empty(), "the data exercises every case");
    let r = load_csv(&lake, &csv, LoadMode::Full, meta()).await.unwrap();
    assert_eq!(r.stats.input_rows, u64::from(n));
    assert_eq!(r.stats.accepted + r.stats.quarantined, r.stats.input_rows, "nothing lost");
    assert_eq!(r.stats.accepted, taken.len() as u64);
    assert_eq!(r.stats.duplicate_rows, dups.len() as u64);
    assert_eq!(r.stats.rule_counts.get("duplicate_key"), Some(&(dups.len() as u64)));
    let q = lake.quarantine("101000/000001", r.version.unwrap()).await.unwrap();
    let rows_with = |rule: &str| -> Vec<u64> { q.iter().filter(|r| r.errors[0].rule == rule).map(|r| r.row).collect() };
    assert_eq!(rows_with("duplicate_key"), dups, "exactly the repeats, in row order");
    assert_eq!(rows_with("required"), invalid);
    assert!(q.iter().all(|r| r.cells.len() == 4 && r.aligned));
    // The first occurrence stays: row 1's key is repeated by many later rows.
    let first = lake.rows("101000/000001", None, Some(("id_no", id(0).as_str())), 0, 10).await.unwrap();
    assert_eq!(first.total, 1);
    assert_eq!(first.rows[0][1].as_deref(), Some("人0"));
    assert_eq!(lake.rows("101000/000001", None, None, 0, 1).await.unwrap().total, r.stats.accepted);
}

/// The column chunks of every data file of a dataset: (column name, has a dictionary page).
fn dictionary_use(dir: &std::path::Path) -> Vec<(String, bool)> {
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.is_dir() && !name.starts_with('_') {
                stack.push(path);
            } else if name.ends_with(".parquet") {
                let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
                for rg in reader.metadata().row_groups() {
                    for c in rg.columns() {
                        out.push((c.column_path().string(), c.dictionary_page_offset().is_some()));
                    }
                }
            }
        }
    }
    out
}

// covers: R-AGG-01 (data files in an open format that any Parquet reader takes: columns of
// repeated values carry a dictionary; key columns and mostly distinct text columns, where a
// dictionary only costs the writer time, do not)
#[tokio::test]
async fn dictionaries_only_where_values_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    for (dataset, distinct_names) in [("101000/000001", false), ("101000/000002", true)] {
        let mut csv = String::from("id_no,name,age,born\n");
        for i in 0..5000u32 {
            let (k, seq) = (i / 1000, i % 1000);
            let id =
                pdp_domain::ids::complete_citizen_id(&format!("1101011980{:02}{:02}{seq:03}", k / 28 + 1, k % 28 + 1));
            let name = if distinct_names { format!("人{i}") } else { format!("人{}", i % 10) };
            csv.push_str(&format!("{},{name},{},1980-01-01\n", id.unwrap(), i % 100));
        }
        let src =
            open_reader(Box::new(std::io::Cursor::new(csv.into_bytes())), SourceFormat::Csv, Encoding::Auto).unwrap();
        let r = lake.load(dataset, &people(), LoadMode::Full, today(), meta(), src, |_| {}).await.unwrap();
        assert_eq!(r.stats.accepted, 5000, "{dataset}");
        let page = lake.rows(dataset, None, None, 0, 10).await.unwrap();
        assert_eq!(page.total, 5000, "{dataset}: the files read back");
        let used = dictionary_use(&dir.path().join(pdp_lake::table_dir(dataset)));
        assert!(!used.is_empty(), "{dataset}");
        for (column, dict) in used {
            let want = match column.as_str() {
                "id_no" => false,
                "name" => !distinct_names,
                _ => true,
            };
            assert_eq!(dict, want, "{dataset} {column}");
        }
    }
}

/// The key files of a table's data files, by name.
fn key_files(dir: &std::path::Path) -> Vec<String> {
    let keys = dir.join("101000_000001").join(pdp_lake::keyfile::DIR);
    let mut names: Vec<String> = std::fs::read_dir(keys)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

// covers: R-SHR-04, R-SHR-14, R-AGG-06 (a lookup by key at version N reads exactly version N's
// rows after later loads; a key only in the latest version is found only there; the load leaves
// a key file beside every data file; files a killed load left are never read; a missing key
// file is rebuilt from its data file, and `reindex` builds them ahead)
#[tokio::test]
async fn lookups_by_key_read_the_key_files_of_the_version_asked() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    let ds = "101000/000001";
    let full = |rows: String| {
        let lake = lake.clone();
        async move { load_csv(&lake, &format!("id_no,name,age,born\n{rows}"), LoadMode::Full, meta()).await.unwrap() }
    };
    let v1 = full(format!("{},张三,76,\n{},李四,40,\n", GOOD[0], GOOD[1])).await.version.unwrap();
    let v2 = full(format!("{},张三改,77,\n{},王五,3,\n", GOOD[0], GOOD[2])).await.version.unwrap();
    assert_eq!(key_files(dir.path()).len(), 2, "one key file per data file: {:?}", key_files(dir.path()));
    let name = |page: pdp_lake::RowPage| page.rows.iter().map(|r| r[1].clone().unwrap_or_default()).collect::<Vec<_>>();
    let at = |v: Option<u64>, key: &'static str| {
        let lake = lake.clone();
        async move { lake.rows(ds, v, Some(("id_no", key)), 0, 10).await.unwrap() }
    };
    assert_eq!(name(at(Some(v1), GOOD[0]).await), ["张三"], "version 1 as it was");
    assert_eq!(name(at(Some(v2), GOOD[0]).await), ["张三改"]);
    assert_eq!(name(at(None, GOOD[0]).await), ["张三改"]);
    assert_eq!(at(Some(v1), GOOD[2]).await.total, 0, "a key only in the latest version");
    assert_eq!(name(at(None, GOOD[2]).await), ["王五"]);
    assert_eq!(at(None, GOOD[1]).await.total, 0, "a key the latest version dropped");
    assert_eq!(name(at(Some(v1), GOOD[1]).await), ["李四"]);
    // The scan agrees on a column that is not text (no key file answers it).
    assert_eq!(name(lake.rows(ds, Some(v1), Some(("age", "40")), 0, 10).await.unwrap()), ["李四"]);

    // A load killed before its commit leaves a data file and its key file that no version
    // names: a copy of the latest version's files under a new name stands for them.
    let table = dir.path().join("101000_000001");
    let latest = lake.table(ds).await.unwrap().unwrap();
    let data: Vec<String> = latest.get_file_uris().unwrap().collect();
    assert_eq!(data.len(), 1);
    let data = std::path::PathBuf::from(data[0].trim_start_matches("file://"));
    let stray = "part-00000-00000000-0000-0000-0000-000000000000-c000.snappy.parquet";
    std::fs::copy(&data, table.join(stray)).unwrap();
    let file_name = data.file_name().unwrap().to_str().unwrap().to_string();
    std::fs::copy(pdp_lake::keyfile::path_for(&table, &file_name), pdp_lake::keyfile::path_for(&table, stray)).unwrap();
    assert_eq!(name(at(None, GOOD[2]).await), ["王五"], "the stray files are not read");

    // A key file that is gone is rebuilt on the next lookup, with the same answer.
    std::fs::remove_file(pdp_lake::keyfile::path_for(&table, &file_name)).unwrap();
    let fresh = Lake::open(dir.path().to_str().unwrap()).unwrap();
    assert_eq!(name(fresh.rows(ds, None, Some(("id_no", GOOD[0])), 0, 10).await.unwrap()), ["张三改"]);
    assert!(pdp_lake::keyfile::path_for(&table, &file_name).exists(), "rebuilt");
    // `reindex` builds what is missing and nothing else.
    std::fs::remove_file(pdp_lake::keyfile::path_for(&table, &file_name)).unwrap();
    let fresh = Lake::open(dir.path().to_str().unwrap()).unwrap();
    assert_eq!(fresh.reindex(ds, &["id_no".to_string()]).await.unwrap(), 1);
    assert_eq!(fresh.reindex(ds, &["id_no".to_string()]).await.unwrap(), 0);
}
