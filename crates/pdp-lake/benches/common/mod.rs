//! What the lake's benchmarks share: the person entry of `bench/gen_people.py`'s files and the
//! process's peak memory.

use pdp_domain::catalog::EntryBody;

/// The `pdp` binary's allocator and its settings, so the benchmarks measure what the server
/// does; each benchmark calls `allocator::tune()` first.
pub use pdp_alloc as allocator;

/// The catalog entry of the benchmark's person records.
pub fn person_entry() -> EntryBody {
    serde_json::from_value(serde_json::json!({
        "name": "常住人口基本信息（基准测试）",
        "summary": "benchmark",
        "class": "base",
        "item": "01",
        "format": "database",
        "frequency": "daily",
        "identifier_field": "id_no",
        "fields": [
            {"name": "id_no", "label": "公民身份号码", "data_type": "text", "grade": "l3", "personal": true,
             "identifier": "citizen_id", "mask": "id_number", "purpose": "唯一识别", "rules": {"key": true}},
            {"name": "person_name", "label": "姓名", "data_type": "text", "grade": "l2", "personal": true,
             "rules": {"required": true, "max_len": 30}},
            {"name": "mobile", "label": "联系电话", "data_type": "text", "grade": "l3", "personal": true,
             "rules": {"pattern": "1[3-9][0-9]{9}"}},
            {"name": "address", "label": "住址", "data_type": "text", "grade": "l3", "personal": true},
            {"name": "record_date", "label": "登记日期", "data_type": "date", "grade": "l1", "rules": {"required": true}}
        ]
    }))
    .expect("the benchmark entry is valid")
}

/// Peak resident set size of this process in bytes (Linux), 0 elsewhere.
pub fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Resets the peak resident set size (Linux: `5` to `/proc/self/clear_refs`), so the next
/// phase's peak is its own.
#[allow(dead_code)]
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
