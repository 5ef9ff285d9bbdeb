//! The bulk-export benchmark of sharing (issue 5): a person CSV is loaded into a fresh lake
//! table, then the whole table is exported the way a bulk grant serves it, twice: as CSV
//! (`select_stream`, every value masked per the grant, CSV text to a counting sink, as
//! `GET …/export.csv` does) and as the grant's own Parquet file (`write_selection`, as
//! `…/export.parquet` and Delta Sharing do). The peak resident set size is reset before each
//! export, so each phase reports its own peak.
//!
//! ```text
//! python3 bench/gen_people.py --rows 10000000 --out /tmp/people_10m.csv
//! cargo bench -p pdp-lake --bench export -- /tmp/people_10m.csv [LAKE_DIR]
//! ```
//!
//! With `LAKE_DIR` the table stays there, so DuckDB can export the same Parquet files
//! (`bench/duckdb_export.py`), and a second run with `--export-only` exports it again in a
//! process that never loaded. Prints one JSON line per phase.

use std::collections::BTreeMap;
use std::time::Instant;

use futures::StreamExt;

mod common;

use common::{peak_rss, person_entry, reset_peak_rss};
use pdp_domain::catalog::{EntryBody, MaskRule};
use pdp_lake::share::Selection;
use pdp_lake::source::{Encoding, SourceFormat, open_file};
use pdp_lake::{Lake, LoadMeta, LoadMode, batch_rows};

fn line(phase: &str, rows: u64, bytes: u64, secs: f64) {
    println!(
        "{{\"tool\":\"pdp\",\"phase\":\"{phase}\",\"rows\":{rows},\"bytes\":{bytes},\"seconds\":{secs:.2},\"rows_per_s\":{:.0},\"peak_rss_mb\":{:.1}}}",
        rows as f64 / secs,
        peak_rss() as f64 / 1_048_576.0
    );
}

fn csv_cell(out: &mut String, v: Option<&str>) {
    let v = v.unwrap_or("");
    if v.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(v);
    }
}

/// Loads the CSV into `BENCH_PEOPLE` and prints the load's line.
fn load(rt: &tokio::runtime::Runtime, lake: &Lake, entry: &EntryBody, file: &str, today: time::Date) {
    let source = open_file(std::path::Path::new(file), SourceFormat::Csv, Encoding::Utf8).expect("open the CSV");
    let started = Instant::now();
    let report = rt
        .block_on(lake.load(
            "BENCH_PEOPLE",
            entry,
            LoadMode::Full,
            today,
            LoadMeta { actor: "bench".into(), source: file.to_string(), ..Default::default() },
            source,
            |_| {},
        ))
        .expect("load");
    line("load", report.stats.input_rows, 0, started.elapsed().as_secs_f64());
}

fn main() {
    common::allocator::tune();
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let Some(file) = args.first() else {
        eprintln!("usage: cargo bench -p pdp-lake --bench export -- FILE.csv [LAKE_DIR]");
        std::process::exit(2);
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = args.get(1).map(std::path::PathBuf::from).unwrap_or_else(|| tmp.path().to_path_buf());
    let lake = Lake::open(dir.to_str().expect("utf-8 path")).expect("lake");
    let entry = person_entry();
    let today = time::OffsetDateTime::now_utc().date();
    // `--export-only` exports a table an earlier run left in LAKE_DIR, in a process that has
    // not loaded anything: the export's own memory, without what the load's allocations left.
    let export_only = std::env::args().any(|a| a == "--export-only");
    if !export_only {
        load(&rt, &lake, &entry, file, today);
    }

    // The grant: every field, masked as a bulk grant of person data would be.
    let columns: Vec<String> = entry.fields.iter().map(|f| f.name.clone()).collect();
    let masking: BTreeMap<&str, MaskRule> = [
        ("id_no", MaskRule::IdNumber),
        ("person_name", MaskRule::Name),
        ("mobile", MaskRule::Mobile),
        ("address", MaskRule::Address),
        ("record_date", MaskRule::None),
    ]
    .into_iter()
    .collect();
    let key = b"bench-grant-key".to_vec();
    let protect = |row: Vec<Option<String>>| -> Vec<Option<String>> {
        columns
            .iter()
            .zip(row)
            .map(|(c, v)| {
                let rule = masking.get(c.as_str()).copied().unwrap_or(MaskRule::Suppress);
                pdp_domain::sharing::protect(rule, &key, v.as_deref())
            })
            .collect()
    };
    let sel = Selection { columns: columns.clone(), ..Default::default() };

    reset_peak_rss();
    eprintln!("# RSS at the start of the phase: {:.1} MB", peak_rss() as f64 / 1_048_576.0);
    let started = Instant::now();
    let (rows, bytes) = rt.block_on(async {
        let mut stream = lake.select_stream("BENCH_PEOPLE", &sel).await.expect("stream");
        let (mut rows, mut bytes) = (0u64, 0u64);
        while let Some(batch) = stream.next().await {
            let mut text = String::new();
            for row in batch_rows(&batch.expect("batch")).expect("rows") {
                for (i, v) in protect(row).iter().enumerate() {
                    if i > 0 {
                        text.push(',');
                    }
                    csv_cell(&mut text, v.as_deref());
                }
                text.push('\n');
                rows += 1;
            }
            bytes += text.len() as u64;
        }
        (rows, bytes)
    });
    line("export_csv", rows, bytes, started.elapsed().as_secs_f64());

    reset_peak_rss();
    eprintln!("# RSS at the start of the phase: {:.1} MB", peak_rss() as f64 / 1_048_576.0);
    let started = Instant::now();
    let out = tmp.path().join("grant.parquet");
    let version = rt.block_on(lake.latest_version("BENCH_PEOPLE")).expect("version");
    let w = rt
        .block_on(lake.write_selection("BENCH_PEOPLE", version, &sel, &sel.columns, &out, &[], protect))
        .expect("write");
    line("export_parquet", w.rows, w.bytes, started.elapsed().as_secs_f64());
}
