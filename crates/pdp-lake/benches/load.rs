//! The aggregation benchmark: a validated load of a person CSV into a fresh lake table, the way
//! an upload or `pdp load` runs it (streaming CSV reader, row validation with citizen ID checks,
//! quarantine, Parquet data files, one Delta commit).
//!
//! ```text
//! python3 bench/gen_people.py --rows 10000000 --out /tmp/people_10m.csv
//! cargo bench -p pdp-lake --bench load -- /tmp/people_10m.csv
//! ```
//!
//! Prints one JSON line: rows, accepted, quarantined, seconds, rows per second and the peak
//! resident set size of the process (VmHWM), so `bench/aggregation.sh` can put it beside DuckDB.

use std::time::Instant;

mod common;

use common::{peak_rss, person_entry};
use pdp_lake::source::{Encoding, SourceFormat, open_file};
use pdp_lake::{Lake, LoadMeta, LoadMode};

fn main() {
    common::allocator::tune();
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let Some(file) = args.first() else {
        eprintln!("usage: cargo bench -p pdp-lake --bench load -- FILE.csv");
        std::process::exit(2);
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(dir.path().to_str().expect("utf-8 path")).expect("lake");
    let entry = person_entry();
    let source = open_file(std::path::Path::new(file), SourceFormat::Csv, Encoding::Utf8).expect("open the CSV");
    let today = time::OffsetDateTime::now_utc().date();
    let started = Instant::now();
    let report = rt
        .block_on(lake.load(
            "BENCH_PEOPLE",
            &entry,
            LoadMode::Full,
            today,
            LoadMeta { actor: "bench".into(), source: file.clone(), ..Default::default() },
            source,
            |_| {},
        ))
        .expect("load");
    let secs = started.elapsed().as_secs_f64();
    let rows = report.stats.input_rows;
    assert_eq!(report.stats.accepted + report.stats.quarantined, rows, "nothing lost");
    println!(
        "{{\"tool\":\"pdp\",\"rows\":{rows},\"accepted\":{},\"quarantined\":{},\"seconds\":{secs:.2},\"rows_per_s\":{:.0},\"peak_rss_mb\":{:.1}}}",
        report.stats.accepted,
        report.stats.quarantined,
        rows as f64 / secs,
        peak_rss() as f64 / 1_048_576.0
    );
}
