//! Search benchmark: indexes N generated catalog entries (100 000 by default) and measures the
//! latency of realistic queries, against a baseline measured in the same run: a linear scan
//! with substring matching over the same documents, which is what a `LIKE '%词%'` query does.
//!
//! Run: `cargo bench -p pdp-search --bench search [-- N]`. Results go to docs/benchmarks.md.

use std::time::Instant;

use pdp_search::{CatalogIndex, FACETS, SearchDoc, SearchQuery};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SUBJECTS: &[&str] = &[
    "人口",
    "户籍",
    "企业",
    "个体工商户",
    "社会保险",
    "医疗保险",
    "养老保险",
    "失业保险",
    "学籍",
    "学校",
    "公交",
    "出租车",
    "住房公积金",
    "不动产",
    "房屋",
    "空气质量",
    "水质",
    "排污许可",
    "供水",
    "燃气",
    "电力",
    "道路",
    "车辆",
    "驾驶人",
    "婚姻",
    "殡葬",
    "低保",
    "残疾人",
    "食品经营",
    "药品",
    "医疗机构",
    "执业医师",
    "建筑工程",
];
const KINDS: &[&str] = &[
    "基本信息",
    "登记信息",
    "变更记录",
    "许可信息",
    "缴费记录",
    "参保信息",
    "监测数据",
    "统计数据",
    "名录",
    "奖惩信息",
    "年报",
];
const ORGS: &[&str] = &[
    "临江市公安局",
    "临江市市场监督管理局",
    "临江市人力资源和社会保障局",
    "临江市医疗保障局",
    "临江市教育局",
    "临江市交通运输局",
    "临江市住房和城乡建设局",
    "临江市生态环境局",
    "临江市自来水有限公司",
    "临江市民政局",
];
const FIELDS: &[&str] = &[
    "公民身份号码",
    "姓名",
    "性别",
    "出生日期",
    "住址",
    "联系电话",
    "统一社会信用代码",
    "企业名称",
    "法定代表人",
    "注册资本",
    "成立日期",
    "经营范围",
    "缴费基数",
    "参保状态",
    "监测点位",
    "监测时间",
    "浓度",
    "许可证编号",
    "有效期",
    "发证机关",
];

fn generate(n: usize, rng: &mut StdRng) -> Vec<SearchDoc> {
    (0..n)
        .map(|i| {
            let subject = SUBJECTS[rng.gen_range(0..SUBJECTS.len())];
            let kind = KINDS[rng.gen_range(0..KINDS.len())];
            let org = rng.gen_range(0..ORGS.len());
            let fields: Vec<&str> = (0..rng.gen_range(3..12)).map(|_| FIELDS[rng.gen_range(0..FIELDS.len())]).collect();
            let share = ["unconditional", "conditional", "not_shared"][rng.gen_range(0..3)];
            let open = ["unconditional", "on_application", "not_open"][rng.gen_range(0..3)];
            let grade = ["l1", "l2", "l3", "l4"][rng.gen_range(0..4)];
            SearchDoc {
                entry_id: i as i64 + 1,
                code: format!("3{:02}000/{:06}", rng.gen_range(1..12), i + 1),
                name: format!("{subject}{kind}（{}）", i % 997),
                summary: format!(
                    "{}提供的{subject}{kind}，包括{}等信息项，按{}更新，用于政务服务和监管。",
                    ORGS[org],
                    fields.join("、"),
                    ["日", "周", "月", "年"][rng.gen_range(0..4)]
                ),
                fields: fields.join(" "),
                provider: ORGS[org].to_string(),
                facets: vec![
                    ("provider".into(), (org + 1).to_string()),
                    ("region".into(), rng.gen_range(1..6).to_string()),
                    ("class".into(), ["base", "theme", "department"][rng.gen_range(0..3)].into()),
                    ("share".into(), share.into()),
                    ("open".into(), open.into()),
                    ("grade".into(), grade.into()),
                    ("frequency".into(), ["daily", "monthly", "yearly"][rng.gen_range(0..3)].into()),
                ],
            }
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    println!(
        "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
        ms.len(),
        mean,
        percentile(&ms, 0.5),
        percentile(&ms, 0.95),
        percentile(&ms, 0.99),
        ms[ms.len() - 1]
    );
}

fn main() {
    let n: usize =
        std::env::args().skip(1).find(|a| !a.starts_with('-')).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let mut rng = StdRng::seed_from_u64(20261122);
    let docs = generate(n, &mut rng);
    let dir = tempfile::tempdir().expect("temp dir");
    let index = CatalogIndex::open(Some(dir.path())).expect("index");
    let t = Instant::now();
    index.rebuild(docs.clone(), |_| {}).expect("rebuild");
    println!(
        "indexed {n} entries in {:.1} s ({:.0} entries/s)",
        t.elapsed().as_secs_f64(),
        n as f64 / t.elapsed().as_secs_f64()
    );

    // Queries as people type them: one word, two words, a field label, with and without facets.
    let mut queries: Vec<SearchQuery> = Vec::new();
    for i in 0..1000 {
        let subject = SUBJECTS[rng.gen_range(0..SUBJECTS.len())];
        let text = match i % 4 {
            0 => subject.to_string(),
            1 => format!("{subject} {}", KINDS[rng.gen_range(0..KINDS.len())]),
            2 => FIELDS[rng.gen_range(0..FIELDS.len())].to_string(),
            _ => format!("{subject}{}", &KINDS[rng.gen_range(0..KINDS.len())]),
        };
        let filters = if i % 3 == 0 {
            vec![("share".to_string(), "conditional".to_string()), ("grade".to_string(), "l2".to_string())]
        } else {
            vec![]
        };
        queries.push(SearchQuery { text, filters, limit: 20, offset: 0 });
    }
    // Warm up the reader and the page cache.
    for q in queries.iter().take(50) {
        index.search(q).expect("search");
    }
    let mut pdp_ms = Vec::new();
    let mut total_hits = 0usize;
    for q in &queries {
        let t = Instant::now();
        let r = index.search(q).expect("search");
        pdp_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        total_hits += r.total;
        assert!(r.facets.len() <= FACETS.len());
    }

    // Baseline: a linear scan with substring matching over the same documents, counting facets
    // of the matches as the index does, over the first 200 queries (it is slow).
    let mut base_ms = Vec::new();
    for q in queries.iter().take(200) {
        let t = Instant::now();
        let words: Vec<&str> = q.text.split_whitespace().collect();
        let mut facets: std::collections::HashMap<(&str, &str), u64> = Default::default();
        let mut hits = Vec::new();
        for d in &docs {
            let all_words = words
                .iter()
                .all(|w| d.name.contains(w) || d.summary.contains(w) || d.fields.contains(w) || d.provider.contains(w));
            let all_filters = q.filters.iter().all(|(k, v)| d.facets.iter().any(|(fk, fv)| fk == k && fv == v));
            if all_words && all_filters {
                for (k, v) in &d.facets {
                    *facets.entry((k.as_str(), v.as_str())).or_default() += 1;
                }
                hits.push(d.entry_id);
            }
        }
        hits.truncate(20);
        std::hint::black_box((&hits, &facets));
        base_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!("\nmean hits per query: {:.0}\n", total_hits as f64 / queries.len() as f64);
    println!("| {n} entries | queries | mean ms | p50 ms | p95 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    report("PDP search (tantivy + jieba, facets, snippets)", pdp_ms);
    report("baseline: linear substring scan (LIKE '%词%')", base_ms);
}
