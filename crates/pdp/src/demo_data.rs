//! Generated datasets for the demo city: residents (police), enterprises (market regulation)
//! and social insurance enrolment (human resources), with realistic names, addresses and valid
//! identifiers, a small share of invalid rows to show the quarantine, authoritative sources, a
//! cross-check with conflicts, a district return and a few open objections.
//!
//! The generator is seeded, so every demo city is the same. `scale` 1.0 gives 200,000
//! residents, 50,000 enterprises and 120,000 insurance records; the tests use a small scale.

use std::collections::HashSet;

use pdp_audit::NewEvent;
use pdp_domain::Localized;
use pdp_domain::ids::{complete_citizen_id, complete_credit_code};
use pdp_lake::{CellRows, Lake, LoadMeta, LoadMode};
use pdp_storage::catalog::{EntryQuery, EntryVersion, EntryView};
use pdp_storage::{AuthoritativeSource, NewObjection, Storage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗",
    "高", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "华",
    "平", "刚", "桂英", "文", "辉", "鑫", "宇", "欣", "怡", "浩", "晨", "子涵", "一诺", "梓轩", "雨桐", "建国", "海燕",
];
const STREETS: &[&str] = &[
    "人民路",
    "解放路",
    "建设路",
    "中山路",
    "滨江路",
    "湖东路",
    "西山大道",
    "南港路",
    "北岭街",
    "文化路",
    "临江大道",
    "望湖路",
];
const DISTRICTS: &[(&str, &str)] =
    &[("359902", "东湖区"), ("359903", "西山区"), ("359904", "南港区"), ("359921", "北岭县")];
const WORDS: &[&str] =
    &["江海", "恒信", "瑞丰", "华创", "天润", "宏达", "博远", "鼎盛", "新元", "汇通", "锦程", "安和"];
const TRADES: &[&str] =
    &["科技", "贸易", "建筑工程", "餐饮管理", "物流", "文化传媒", "医药", "食品", "信息技术", "机械制造"];
const CREDIT_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const STATUSES: &[&str] = &["存续", "在业", "存续", "在业", "迁出", "注销", "吊销"];

/// What the generator made.
#[derive(Debug, Default)]
pub struct DemoDataReport {
    pub datasets: Vec<(String, u64, u64)>,
    pub conflicts: i64,
    pub objections: usize,
    pub share_requests: usize,
    pub releases: usize,
    pub applications: usize,
    /// Authorized operation: agreements, scenario applications, products, sales.
    pub operation: (usize, usize, usize, usize),
}

fn name(rng: &mut StdRng) -> String {
    let given = GIVEN[rng.gen_range(0..GIVEN.len())];
    let second = if rng.gen_bool(0.5) { GIVEN[rng.gen_range(0..GIVEN.len())] } else { "" };
    format!("{}{given}{second}", SURNAMES[rng.gen_range(0..SURNAMES.len())])
}

fn address(rng: &mut StdRng, district: &str) -> String {
    format!(
        "临江市{district}{}{}号{}栋{}室",
        STREETS[rng.gen_range(0..STREETS.len())],
        rng.gen_range(1..400),
        rng.gen_range(1..30),
        rng.gen_range(101..2800)
    )
}

fn mobile(rng: &mut StdRng) -> String {
    format!("1{}{:09}", rng.gen_range(3..10), rng.gen_range(0..1_000_000_000u64))
}

fn date(rng: &mut StdRng, from_year: i32, to_year: i32) -> String {
    format!("{}-{:02}-{:02}", rng.gen_range(from_year..=to_year), rng.gen_range(1..=12), rng.gen_range(1..=28))
}

/// A resident: id, name, mobile, address, registration date.
fn residents(rng: &mut StdRng, n: usize) -> Vec<Vec<String>> {
    let mut seen = HashSet::with_capacity(n);
    let mut rows = Vec::with_capacity(n);
    while rows.len() < n {
        let (area, district) = DISTRICTS[rng.gen_range(0..DISTRICTS.len())];
        let birth = format!("{}{:02}{:02}", rng.gen_range(1940..=2012), rng.gen_range(1..=12), rng.gen_range(1..=28));
        let Some(id) = complete_citizen_id(&format!("{area}{birth}{:03}", rng.gen_range(0..1000))) else { continue };
        if !seen.insert(id.clone()) {
            continue;
        }
        rows.push(vec![id, name(rng), mobile(rng), address(rng, district), date(rng, 2018, 2026)]);
    }
    rows
}

/// Spoils a few rows the way real extracts are spoiled, so the quarantine has something to show.
fn spoil(rows: &mut [Vec<String>], rng: &mut StdRng, share: f64) {
    for row in rows.iter_mut() {
        if !rng.gen_bool(share) {
            continue;
        }
        match rng.gen_range(0..4) {
            0 => {
                // A wrong check character in the identifier.
                let last = row[0].pop().unwrap_or('0');
                row[0].push(if last == '1' { '2' } else { '1' });
            }
            1 => row[1].clear(),
            2 if row.len() > 2 => row[2] = format!("0{}", &row[2][..6.min(row[2].len())]),
            _ => {
                let n = row.len();
                row[n - 1] = "2024-02-30".into();
            }
        }
    }
}

fn enterprises(rng: &mut StdRng, n: usize) -> Vec<Vec<String>> {
    let mut seen = HashSet::with_capacity(n);
    let mut rows = Vec::with_capacity(n);
    while rows.len() < n {
        let (area, district) = DISTRICTS[rng.gen_range(0..DISTRICTS.len())];
        let body: String = (0..8).map(|_| CREDIT_CHARS[rng.gen_range(0..CREDIT_CHARS.len())] as char).collect();
        let Some(code) = complete_credit_code(&format!("91{area}{body}")) else { continue };
        if !seen.insert(code.clone()) {
            continue;
        }
        let ent = format!(
            "临江{}{}{}有限公司",
            WORDS[rng.gen_range(0..WORDS.len())],
            WORDS[rng.gen_range(0..WORDS.len())],
            TRADES[rng.gen_range(0..TRADES.len())]
        );
        rows.push(vec![
            code,
            ent,
            name(rng),
            address(rng, district),
            date(rng, 1995, 2026),
            STATUSES[rng.gen_range(0..STATUSES.len())].to_string(),
        ]);
    }
    rows
}

/// One business licence per operating enterprise: number, credit code, name, type, legal
/// representative, registered capital, address, issue date and issuing authority.
fn licences(rng: &mut StdRng, firms: &[Vec<String>]) -> Vec<Vec<String>> {
    const TYPES: &[&str] =
        &["有限责任公司（自然人投资或控股）", "有限责任公司（自然人独资）", "股份有限公司（非上市）"];
    firms
        .iter()
        .filter(|f| f[5] == "存续" || f[5] == "在业")
        .enumerate()
        .map(|(i, f)| {
            vec![
                format!("DZZZ-YYZZ-{}-{:08}", &f[0][2..8], i + 1),
                f[0].clone(),
                f[1].clone(),
                TYPES[rng.gen_range(0..TYPES.len())].to_string(),
                f[2].clone(),
                format!("{}万元人民币", rng.gen_range(1..500) * 10),
                f[3].clone(),
                f[4].clone(),
                "临江市市场监督管理局".to_string(),
            ]
        })
        .collect()
}

/// The public credit evaluation of the enterprises: credit code, name, level (mostly A or B),
/// whether on the dishonest list (about 2 %, all of them D), evaluation date.
fn credit(rng: &mut StdRng, firms: &[Vec<String>]) -> Vec<Vec<String>> {
    firms
        .iter()
        .map(|f| {
            let dishonest = rng.gen_bool(0.02);
            let level = if dishonest { "D" } else { ["A", "A", "B", "B", "B", "C"][rng.gen_range(0..6)] };
            vec![
                f[0].clone(),
                f[1].clone(),
                level.to_string(),
                if dishonest { "是" } else { "否" }.to_string(),
                date(rng, 2025, 2026),
            ]
        })
        .collect()
}

/// Real estate units: a unit code (GB/T 37346: district, cadastral district and subdistrict,
/// parcel, building), location, use, parcel area and district.
fn units(rng: &mut StdRng, n: usize) -> Vec<Vec<String>> {
    const USES: &[&str] = &["住宅", "住宅", "住宅", "商业", "工业", "公共设施"];
    (0..n)
        .map(|i| {
            let (area, district) = DISTRICTS[rng.gen_range(0..DISTRICTS.len())];
            vec![
                format!("{area}{:03}{:03}GB{:05}F{:08}", 1 + i % 7, 1 + i % 13, 1 + i / 4, 1 + i % 4),
                address(rng, district),
                USES[rng.gen_range(0..USES.len())].to_string(),
                format!("{:.2}", rng.gen_range(80.0..20_000.0)),
                district.to_string(),
            ]
        })
        .collect()
}

fn entry<'a>(entries: &'a [EntryVersion], org_id: i64, name: &str) -> anyhow::Result<&'a EntryVersion> {
    entries
        .iter()
        .find(|e| e.org_id == org_id && e.body.name == name)
        .ok_or_else(|| anyhow::anyhow!("demo entry {name} is not published"))
}

fn ev(action: &str) -> NewEvent {
    NewEvent { actor: "demo".into(), ..NewEvent::system(action, "") }
}

async fn load(
    storage: &dyn Storage,
    lake: &Lake,
    e: &EntryVersion,
    rows: Vec<Vec<String>>,
    report: &mut DemoDataReport,
) -> anyhow::Result<()> {
    let meta = LoadMeta { actor: "demo".into(), source: "demo-generator".into(), ..Default::default() };
    let r = pdp_app::datasets::load_and_record(
        storage,
        lake,
        e,
        LoadMode::Full,
        meta,
        Box::new(CellRows::new(&e.body.fields, rows)),
        |_| {},
        ev("dataset.load"),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    report.datasets.push((e.body.name.clone(), r.stats.accepted, r.stats.quarantined));
    Ok(())
}

/// The most entries the demo opens, and the firms each enterprise-shaped one takes.
const MAX_OPEN: usize = 60;
const FIRMS_PER_OPEN_ENTRY: usize = 300;

/// Rows of a statistics entry (area code, period, indicator, value): each district by month for
/// a year, two indicators.
fn statistics(rng: &mut StdRng, entry: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for (area, _) in DISTRICTS {
        for month in 1..=12 {
            for indicator in ["数量", "同比增长率"] {
                let value = if indicator == "数量" {
                    rng.gen_range(10..5000).to_string()
                } else {
                    format!("{:.2}", rng.gen_range(-20.0..30.0))
                };
                rows.push(vec![area.to_string(), format!("2026-{month:02}"), format!("{entry}{indicator}"), value]);
            }
        }
    }
    rows
}

/// Opens the published entries the catalog opens that hold statistics or enterprise
/// registrations (at most [`MAX_OPEN`]): each is loaded with generated rows when it has none,
/// then released with every field its grade lets out (personal fields masked as the catalog
/// says, or suppressed), prepared by its provider and approved by the city's reviewer, and
/// pushed again whenever the dataset loads. One yearly archive's release dates from 600 days ago,
/// so the portal has stale data to announce.
async fn open_releases(
    storage: &dyn Storage,
    lake: &Lake,
    rng: &mut StdRng,
    entries: &[EntryVersion],
    firms: &[Vec<String>],
    report: &mut DemoDataReport,
) -> anyhow::Result<usize> {
    use pdp_domain::catalog::{GradingMatrix, IdentifierRole, MaskRule, OpenType};
    use pdp_domain::open::{Checklist, ReleaseField, ReleaseFormat, ReleaseRules, ReleaseStatus, Review};
    let matrix = GradingMatrix::default();
    let mut n = 0;
    let mut stale_done = false;
    for e in entries.iter().filter(|e| e.body.open.open_type != OpenType::NotOpen) {
        if n >= MAX_OPEN {
            break;
        }
        let names: Vec<&str> = e.body.fields.iter().map(|f| f.name.as_str()).collect();
        if lake.table(&e.code).await?.is_none() {
            let rows = match names.as_slice() {
                ["area_code", "period", "indicator", "value"] => statistics(rng, &e.body.name),
                ["credit_code", "ent_name", "legal_rep", "address", "valid_from", "status"] => {
                    let start = rng.gen_range(0..firms.len().saturating_sub(FIRMS_PER_OPEN_ENTRY).max(1));
                    firms.iter().skip(start).take(FIRMS_PER_OPEN_ENTRY).cloned().collect()
                }
                _ => continue,
            };
            load(storage, lake, e, rows, report).await?;
        }
        let fields = e
            .body
            .fields
            .iter()
            .filter(|f| matrix.rule(f.grade).open_max != OpenType::NotOpen)
            .map(|f| ReleaseField {
                name: f.name.clone(),
                mask: ((f.personal || f.identifier == IdentifierRole::CitizenId) && f.mask == MaskRule::None)
                    .then_some(MaskRule::Suppress),
            })
            .collect();
        // Statistics in every format; registrations as CSV and Parquet.
        let formats = if names.len() == 4 {
            ReleaseFormat::ALL.to_vec()
        } else {
            vec![ReleaseFormat::Csv, ReleaseFormat::Parquet]
        };
        let rules = ReleaseRules { fields, filters: vec![], formats, declassified: true, auto_push: true };
        let event = NewEvent {
            actor: "demo".into(),
            ..NewEvent::system("open.release.prepare", &format!("dataset:{}", e.code))
        };
        let r = pdp_app::open::prepare_in(
            storage,
            lake,
            &matrix,
            e,
            &rules,
            pdp_app::open::Prepared::upload("demo"),
            event,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        let all = Checklist {
            personal_masked: true,
            grading_allows: true,
            no_secrets: true,
            legal_basis: true,
            sample_checked: true,
        };
        let stale = !stale_done && e.body.name.contains("年度归档");
        stale_done |= stale;
        let d = pdp_storage::ReleaseDecision {
            from: ReleaseStatus::PendingReview,
            to: ReleaseStatus::Published,
            by: "reviewer".into(),
            review: Some(Review { approve: true, checklist: all, reasons: String::new() }),
            at_micros: stale.then(|| pdp_storage::now_micros() - 600 * 86_400 * 1_000_000),
        };
        storage.decide_release(r.id, d, ev("open.release.approve")).await?;
        n += 1;
    }
    Ok(n)
}

/// Applications for on-application open data in every state: the demo's citizen and
/// developer apply for the first few such datasets; the providers answer some, one refusal is
/// under the authority's review, one granted access is suspended and one revoked.
async fn open_applications(storage: &dyn Storage) -> anyhow::Result<usize> {
    use pdp_domain::open::{ApplicationStatus as S, LICENCE_VERSION, ReleaseStatus};
    use pdp_storage::{ApplicationStep, NewApplication, ReleaseQuery};
    let q = ReleaseQuery { status: Some(ReleaseStatus::Published), ..Default::default() };
    let mut on_application: Vec<pdp_storage::OpenRelease> = storage
        .list_releases(&q)
        .await?
        .into_iter()
        .filter(|r| r.open_type == pdp_domain::catalog::OpenType::OnApplication)
        .collect();
    on_application.sort_by_key(|r| r.id);
    let (Some(citizen), Some(developer)) =
        (storage.get_user_by_name("citizen").await?, storage.get_user_by_name("developer").await?)
    else {
        return Ok(0);
    };
    let cal = pdp_domain::calendar::WorkCalendar::official();
    let today = pdp_app::clock::today_date();
    let due = cal.deadline(today, 10)?.due;
    // (applicant, commercial, the steps it has been through with their reasons)
    type Steps<'a> = &'a [(S, S, &'a str)];
    let plan: [(&pdp_storage::User, bool, Steps); 7] = [
        (&citizen, false, &[]),
        (&citizen, false, &[(S::Submitted, S::Approved, "")]),
        (&citizen, false, &[(S::Submitted, S::Refused, "申请用途与所需字段不相符，请补充说明后重新申请")]),
        (
            &developer,
            true,
            &[
                (S::Submitted, S::Refused, "商业用途须说明数据产品形态"),
                (S::Refused, S::UnderReview, "已在申请中说明产品为企业信用报告，请求复核"),
            ],
        ),
        (&developer, true, &[(S::Submitted, S::Approved, "")]),
        (&developer, false, &[(S::Submitted, S::Approved, ""), (S::Approved, S::Suspended, "使用情况报告逾期未报")]),
        (&developer, false, &[(S::Submitted, S::Approved, ""), (S::Approved, S::Revoked, "发现超范围使用")]),
    ];
    let mut n = 0;
    for ((who, commercial, steps), r) in plan.iter().zip(on_application.iter().cycle()) {
        let a = storage
            .create_application(
                NewApplication {
                    entry_id: r.entry_id,
                    dataset: r.dataset.clone(),
                    org_id: r.org_id,
                    applicant_id: who.id,
                    applicant_name: who.display_name.clone(),
                    purpose: if *commercial {
                        "开发企业信用报告产品".into()
                    } else {
                        "学术研究：区域营商环境分析".into()
                    },
                    scenario: "按区县统计市场主体发展情况".into(),
                    fields: r.rules.field_names().into_iter().take(3).collect(),
                    until: today + time::Duration::days(180),
                    security_measures: "数据存放于单位内网服务器，专人管理，访问留痕".into(),
                    commercial: *commercial,
                    licence_version: commercial.then(|| LICENCE_VERSION.to_string()),
                    due_date: due,
                    secret: rand::random::<[u8; 32]>().to_vec(),
                },
                ev("open.application.submit"),
            )
            .await?;
        for (from, to, reason) in steps.iter() {
            let appeal = *to == S::UnderReview;
            let by = if appeal { who.username.clone() } else { "approver".into() };
            let step = ApplicationStep { from: *from, to: *to, by, reason: reason.to_string(), appeal };
            storage.step_application(a.id, step, ev(&format!("open.application.{}", to.as_str()))).await?;
        }
        // The developer's granted commercial use has its first usage report.
        if *commercial && steps.last().is_some_and(|s| s.1 == S::Approved) {
            let report = pdp_storage::NewApplicationReport {
                application_id: a.id,
                uses: "用于企业信用报告产品的区县市场主体统计模块".into(),
                outcome: "产品已上线试运行，服务本市中小企业融资对接".into(),
                incidents: String::new(),
                filed_by: who.username.clone(),
            };
            storage.file_application_report(report, ev("open.application.report")).await?;
        }
        n += 1;
    }
    Ok(n)
}

/// Binds a demo account to the identifier its holder proved, as the security administrator
/// does, with the same audit event.
async fn bind_subject(
    storage: &dyn Storage,
    u: &pdp_storage::User,
    kind: pdp_domain::subject::SubjectKind,
    id: &str,
) -> anyhow::Result<()> {
    let bound = pdp_domain::subject::BoundSubject::parse(kind, id).map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    storage
        .set_user_subject(
            u.id,
            Some(&bound),
            NewEvent::system("user.subject.bind", &format!("user:{}", u.id))
                .with_detail(serde_json::json!({ "kind": kind.as_str(), "id": bound.masked() }).to_string()),
        )
        .await?;
    Ok(())
}

/// Social data (route 4): the registered company `bikes`, its credit code verified, has
/// submitted its shared-bicycle parking sites with contacts masked, and the city's reviewer has
/// approved them, so the portal shows one dataset hosted for an organisation.
async fn social_data(
    storage: &dyn Storage,
    lake: &Lake,
    rng: &mut StdRng,
    report: &mut DemoDataReport,
) -> anyhow::Result<usize> {
    use pdp_domain::catalog::{Frequency, MaskRule, VersionStatus};
    use pdp_domain::open::{Checklist, ReleaseRoute, ReleaseStatus, Review};
    use pdp_domain::social::{Licence, SocialField, SocialInput, SocialPledge, social_entry_body, social_rules};
    use pdp_domain::subject::SubjectKind;
    let Some(firm) = storage.get_user_by_name("bikes").await? else { return Ok(0) };
    let code =
        pdp_domain::ids::complete_credit_code("91350100MA00BK77").ok_or_else(|| anyhow::anyhow!("credit code"))?;
    bind_subject(storage, &firm, SubjectKind::LegalEntity, &code).await?;
    let host = pdp_app::social::host(storage).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let field = |name: &str, label: &str, mask: Option<MaskRule>| SocialField {
        name: name.into(),
        label: label.into(),
        description: String::new(),
        mask,
    };
    let input = SocialInput {
        name: "共享单车规范停放点位信息".into(),
        summary: "临江畅行科技有限公司提供的本市共享单车规范停放点位、所在区县、容量和运维联系电话".into(),
        item: "09".into(),
        frequency: Frequency::Monthly,
        licence: Licence::CcBy,
        fields: vec![
            field("site", "停放点名称", None),
            field("district", "所在区县", None),
            field("capacity", "容量（辆）", None),
            field("contact", "运维联系电话", Some(MaskRule::Mobile)),
        ],
        pledge: SocialPledge {
            lawfully_obtained: true,
            no_personal_information: true,
            no_secrets: true,
            may_license: true,
        },
    };
    let body = social_entry_body(&input, &firm.display_name, &code);
    let entry = storage
        .import_entries(host, &[(None, body)], None, ev("open.social.entry"))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("the social entry"))?;
    let rows: Vec<Vec<String>> = (1..=120)
        .map(|i| {
            let (_, district) = DISTRICTS[i % DISTRICTS.len()];
            vec![
                format!("{district}第{i}号停放点"),
                district.to_string(),
                rng.gen_range(20..120).to_string(),
                mobile(rng),
            ]
        })
        .collect();
    load(storage, lake, &entry, rows, report).await?;
    let matrix = pdp_domain::catalog::GradingMatrix::default();
    let prepared = pdp_app::open::Prepared {
        by: "bikes",
        route: ReleaseRoute::Social,
        note: format!("社会数据，由{}提交；承诺：{}", firm.display_name, input.pledge.summary()),
    };
    let r = pdp_app::open::prepare_in(
        storage,
        lake,
        &matrix,
        &entry,
        &social_rules(&entry.body),
        prepared,
        ev("open.social.submit"),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    storage
        .transition_entry(
            entry.entry_id,
            entry.version,
            VersionStatus::Draft,
            VersionStatus::Published,
            None,
            "",
            ev("catalog.publish_social"),
        )
        .await?;
    let all = Checklist {
        personal_masked: true,
        grading_allows: true,
        no_secrets: true,
        legal_basis: true,
        sample_checked: true,
    };
    let d = pdp_storage::ReleaseDecision {
        from: ReleaseStatus::PendingReview,
        to: ReleaseStatus::Published,
        by: "reviewer".into(),
        review: Some(Review { approve: true, checklist: all, reasons: String::new() }),
        at_micros: None,
    };
    storage.decide_release(r.id, d, ev("open.release.approve")).await?;
    Ok(1)
}

/// Requests for data in every state and a few ratings: the citizen and the developer ask, the
/// city's reviewer routes, the market regulator answers.
async fn open_feedback(storage: &dyn Storage) -> anyhow::Result<()> {
    use pdp_domain::open::RequestStatus as R;
    use pdp_storage::{Rating, ReleaseQuery, RequestStep};
    let (Some(citizen), Some(developer)) =
        (storage.get_user_by_name("citizen").await?, storage.get_user_by_name("developer").await?)
    else {
        return Ok(());
    };
    let market = storage.list_orgs().await?.into_iter().find(|o| o.name == "临江市市场监督管理局").map(|o| o.id);
    let q = ReleaseQuery { status: Some(pdp_domain::open::ReleaseStatus::Published), ..Default::default() };
    let opened: Vec<pdp_storage::OpenRelease> = storage.list_releases(&q).await?;
    let market_entry = opened.iter().find(|r| Some(r.org_id) == market).map(|r| r.entry_id);
    let due = pdp_domain::calendar::WorkCalendar::official().deadline(pdp_app::clock::today_date(), 10)?.due;
    let masked = |u: &pdp_storage::User| {
        pdp_domain::sharing::mask(pdp_domain::catalog::MaskRule::Name, &u.display_name).unwrap_or_default()
    };
    let plan: [(&pdp_storage::User, &str, &str, Option<R>); 5] = [
        (&citizen, "公交线路实时拥挤度", "上下班出行选择线路", None),
        (&developer, "个体工商户名录", "开发小微商户服务应用", Some(R::Routed)),
        (&developer, "企业登记基本信息（含经营范围）", "企业征信服务", Some(R::Fulfilled)),
        (&citizen, "学区划分信息", "了解子女入学政策", Some(R::Planned)),
        (&developer, "企业纳税信用明细", "信贷风控模型", Some(R::Declined)),
    ];
    for (who, title, what, to) in plan {
        let r = storage.create_data_request(title, what, who.id, &masked(who), ev("open.request.submit")).await?;
        let Some(to) = to else { continue };
        let Some(org) = market else { continue };
        let routed = RequestStep {
            from: R::Submitted,
            to: R::Routed,
            org_id: Some(org),
            entry_id: None,
            answer: String::new(),
            due_date: Some(due),
        };
        storage.step_data_request(r.id, routed, ev("open.request.route")).await?;
        let answer = match to {
            R::Fulfilled => "已开放，可在开放门户直接下载",
            R::Planned => "已列入下季度开放计划",
            R::Declined => "涉及纳税人商业秘密，依法不予开放",
            _ => continue,
        };
        let entry_id = if to == R::Fulfilled { market_entry } else { None };
        if to == R::Fulfilled && entry_id.is_none() {
            continue;
        }
        let step = RequestStep { from: R::Routed, to, org_id: None, entry_id, answer: answer.into(), due_date: None };
        storage.step_data_request(r.id, step, ev("open.request.answer")).await?;
    }
    for (i, r) in opened.iter().take(6).enumerate() {
        for (who, stars, comment) in
            [(&citizen, 4 + (i % 2) as i64, "数据清晰，更新及时"), (&developer, 3 + (i % 3) as i64, "希望增加历史数据")]
        {
            let rating = Rating {
                entry_id: r.entry_id,
                user_id: who.id,
                user_name: masked(who),
                stars,
                comment: comment.into(),
                at_micros: 0,
            };
            storage.rate(rating, ev("open.rate")).await?;
        }
    }
    Ok(())
}

/// Generates and loads the demo datasets, then sets up sources, a return and objections.
pub async fn seed(storage: &dyn Storage, lake: &Lake, scale: f64) -> anyhow::Result<DemoDataReport> {
    let scale = scale.clamp(0.0, 10.0);
    let count = |n: f64| ((n * scale) as usize).max(40);
    let mut rng = StdRng::seed_from_u64(20_261_122);
    let mut report = DemoDataReport::default();
    let orgs = storage.list_orgs().await?;
    let org = |name: &str| orgs.iter().find(|o| o.name == name).map(|o| o.id).unwrap_or_default();
    let entries = storage.list_entries(&EntryQuery { view: EntryView::Published, ..Default::default() }).await?;
    let residents_entry = entry(&entries, org("临江市公安局"), "常住人口基本信息")?;
    let enterprise_entry = entry(&entries, org("临江市市场监督管理局"), "企业登记基本信息")?;
    let insurance_entry = entry(&entries, org("临江市人力资源和社会保障局"), "社会保险参保信息")?;

    let people = residents(&mut rng, count(200_000.0));
    // Social insurance: most residents of working age, with the bureau's own copy of name and
    // address; a few names differ (typos, old names) and more addresses are out of date, which
    // is what the cross-check finds.
    let mut insured: Vec<Vec<String>> = Vec::new();
    for p in &people {
        if !rng.gen_bool(0.6) {
            continue;
        }
        let mut row = p.clone();
        if rng.gen_bool(0.004) {
            row[1] = name(&mut rng);
        }
        if rng.gen_bool(0.05) {
            let (_, district) = DISTRICTS[rng.gen_range(0..DISTRICTS.len())];
            row[3] = address(&mut rng, district);
        }
        row[4] = date(&mut rng, 2010, 2026);
        insured.push(row);
    }
    let mut people_rows = people.clone();
    spoil(&mut people_rows, &mut rng, 0.01);
    spoil(&mut insured, &mut rng, 0.01);
    let clean_firms = enterprises(&mut rng, count(50_000.0));
    let mut firms = clean_firms.clone();
    spoil(&mut firms, &mut rng, 0.01);
    // Objections are raised on records that were loaded, i.e. not spoiled.
    let loaded_people: Vec<&Vec<String>> =
        people.iter().zip(&people_rows).filter(|(a, b)| a == b).map(|(a, _)| a).collect();
    let loaded_firm = clean_firms.iter().zip(&firms).rev().find(|(a, b)| a == b).map(|(a, _)| a.clone());

    let chosen_people: Vec<Vec<String>> = loaded_people.iter().take(2).map(|p| (*p).clone()).collect();
    load(storage, lake, residents_entry, people_rows, &mut report).await?;
    load(storage, lake, enterprise_entry, firms, &mut report).await?;
    load(storage, lake, insurance_entry, insured, &mut report).await?;
    // Business licences of the enterprises that operate, as electronic licences (R-SHR-14).
    let licence_entry = entry(&entries, org("临江市市场监督管理局"), crate::demo::LICENCE_NAME)?;
    load(storage, lake, licence_entry, licences(&mut rng, &clean_firms), &mut report).await?;

    // A theme database of the social security bureau: residents' names and addresses from the
    // population register with the date of their insurance registration (R-AGG-06).
    let theme = pdp_app::themes::ThemeInput {
        name: "社会保障主题库（参保人员）".into(),
        summary: "常住人口的姓名、住址与社会保险参保登记日期，按公民身份号码整合".into(),
        item: "03".into(),
        lead_org_id: org("临江市人力资源和社会保障局"),
        members: vec![
            pdp_app::themes::MemberInput {
                entry_id: residents_entry.entry_id,
                fields: vec!["person_name".into(), "address".into()],
            },
            pdp_app::themes::MemberInput { entry_id: insurance_entry.entry_id, fields: vec!["record_date".into()] },
        ],
    };
    pdp_app::themes::create_theme_in(
        storage,
        lake,
        &pdp_domain::catalog::GradingMatrix::default(),
        None,
        "demo",
        &|action, object| NewEvent { actor: "demo".into(), ..NewEvent::system(action, object) },
        &theme,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", e.message()))?;

    // The credit and spatial base databases' resources.
    let credit_entry = entry(&entries, org("临江市发展和改革委员会"), crate::demo::CREDIT_NAME)?;
    load(storage, lake, credit_entry, credit(&mut rng, &clean_firms), &mut report).await?;
    let spatial_entry = entry(&entries, org("临江市自然资源和规划局"), crate::demo::SPATIAL_NAME)?;
    load(storage, lake, spatial_entry, units(&mut rng, count(20_000.0)), &mut report).await?;

    // One number, one source: the police for persons' names and addresses, market regulation
    // for enterprises' names and addresses. The credit, licence and spatial resources are the
    // sources of their base databases' elements (R-AGG-06).
    for (subject, element, e) in [
        ("person", "person_name", residents_entry),
        ("person", "address", residents_entry),
        ("legal_entity", "ent_name", enterprise_entry),
        ("legal_entity", "address", enterprise_entry),
        ("legal_entity", "credit_level", credit_entry),
        ("legal_entity", "dishonest", credit_entry),
        ("legal_entity", "licence_no", licence_entry),
        ("legal_entity", "issue_date", licence_entry),
        ("place", "location", spatial_entry),
        ("place", "land_use", spatial_entry),
        ("place", "land_area", spatial_entry),
    ] {
        storage
            .set_source(
                AuthoritativeSource {
                    subject: pdp_domain::subject::SubjectKind::parse(subject)
                        .ok_or_else(|| anyhow::anyhow!("subject"))?,
                    element: element.into(),
                    dataset: e.code.clone(),
                    note: "《临江市公共数据管理办法》第十四条：一数一源".into(),
                    assigned_by: "demo".into(),
                    assigned_at_micros: pdp_storage::now_micros(),
                },
                ev("source.assign"),
            )
            .await?;
    }
    let run = pdp_app::sources::do_crosscheck(storage, lake, "demo", ev("crosscheck.run"))
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    report.conflicts = run.conflicts;

    // The open portal: each loaded dataset the catalog opens gets a reviewed release with every
    // field its grade lets out, personal fields masked as the catalog says or suppressed.
    report.releases = open_releases(storage, lake, &mut rng, &entries, &clean_firms, &mut report).await?;
    report.applications = open_applications(storage).await?;
    open_feedback(storage).await?;
    report.releases += social_data(storage, lake, &mut rng, &mut report).await?;

    // Authorized operation: the operator, three developers, applications, products, sales.
    let authority = pdp_app::social::host(storage).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let kind = |k: pdp_domain::org::OrgKind| orgs.iter().filter(move |o| o.kind == k).map(|o| o.id);
    let operator = kind(pdp_domain::org::OrgKind::OperationEntity).next().unwrap_or_default();
    let developers: Vec<i64> = kind(pdp_domain::org::OrgKind::DevelopmentEntity).collect();
    let market = org("临江市市场监督管理局");
    let licence = entry(&entries, market, crate::demo::LICENCE_NAME)?;
    let others: Vec<&EntryVersion> = entries
        .iter()
        .filter(|e| e.org_id == market && e.entry_id != enterprise_entry.entry_id && e.entry_id != licence.entry_id)
        .take(3)
        .collect();
    if let ([d1, d2, d3], [third, fourth, fifth]) = (&developers[..], &others[..]) {
        let r = crate::demo_operation::seed(
            storage,
            lake,
            authority,
            operator,
            [*d1, *d2, *d3],
            [enterprise_entry, licence, third],
            [fourth.entry_id, fifth.entry_id],
        )
        .await?;
        report.operation = (r.agreements, r.applications, r.products, r.sales);
    }

    // Residents of 东湖区 go back to the district.
    if let Some(region) = storage.list_regions().await?.into_iter().find(|r| r.code == "359902") {
        let r = storage
            .create_return(
                pdp_storage::NewDistrictReturn {
                    dataset: residents_entry.code.clone(),
                    region_id: region.id,
                    method: pdp_domain::subject::ReturnMethod::AreaCode,
                    field: String::new(),
                    created_by: "demo".into(),
                },
                ev("return.create"),
            )
            .await?;
        pdp_app::sources::refresh_return_in(storage, lake, &r).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    }

    // Sharing: a scenario, requests in every state, grants in every mode.
    report.share_requests = crate::demo_share::seed(storage, residents_entry, enterprise_entry, &entries, org).await?;

    // Open objections: a resident, whose public account is bound to their citizen ID, disputing
    // the name on record (a rare character entered as a common one), which the market
    // regulator's verify grant flags; the social security bureau, a data user, another
    // resident's address; a developer a company's name.
    let cal = pdp_domain::calendar::WorkCalendar::official();
    let today = pdp_app::clock::today_date();
    let due = pdp_domain::subject::objection_due(&cal, today)?.due;
    let citizen = storage.get_user_by_name("citizen").await?;
    let hr_officer = storage.get_user_by_name("hr.officer").await?;
    let developer = storage.get_user_by_name("developer").await?;
    let mut objections = Vec::new();
    use pdp_domain::subject::{ObjectionKind, RaiserKind, SubjectKind};
    if let (Some(u), Some(p)) = (&citizen, chosen_people.first()) {
        bind_subject(storage, u, SubjectKind::Person, &p[0]).await?;
        let surname: String = p[1].chars().take(1).collect();
        objections.push((
            residents_entry,
            u,
            p[0].clone(),
            "person_name",
            p[1].clone(),
            format!("{surname}堃"),
            "姓名中的生僻字“堃”被录为同音字，附户口簿复印件",
            RaiserKind::Subject,
        ));
    }
    if let (Some(u), Some(p)) = (&hr_officer, chosen_people.get(1)) {
        objections.push((
            residents_entry,
            u,
            p[0].clone(),
            "address",
            p[3].clone(),
            format!("{}（已搬迁）", address(&mut rng, "东湖区")),
            "参保登记时本人申报并出示租赁合同的住址与户籍登记不一致",
            RaiserKind::User,
        ));
    }
    if let (Some(u), Some(f)) = (&developer, &loaded_firm) {
        objections.push((
            enterprise_entry,
            u,
            f[0].clone(),
            "ent_name",
            f[1].clone(),
            format!("{}（已更名）", f[1]),
            "该企业已于上月变更名称，开放数据中仍为旧名称",
            RaiserKind::User,
        ));
    }
    for (e, u, key, field, current, claimed, reason, kind) in objections {
        storage
            .create_objection(
                NewObjection {
                    dataset: e.code.clone(),
                    entry_id: e.entry_id,
                    org_id: e.org_id,
                    record_key: key,
                    field: field.into(),
                    current_value: current,
                    claimed_value: claimed,
                    reason: reason.into(),
                    raised_by: u.id,
                    raised_by_name: u.display_name.clone(),
                    raiser_kind: kind,
                    kind: ObjectionKind::Wrong,
                    record_found: true,
                    due_date: due,
                },
                NewEvent { actor: u.username.clone(), actor_id: Some(u.id), ..NewEvent::system("objection.raise", "") },
            )
            .await?;
        report.objections += 1;
    }
    Ok(report)
}
