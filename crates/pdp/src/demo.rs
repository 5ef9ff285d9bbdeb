//! The demo city (临江市, fictional): regions, organisations of every kind, data officers and
//! one account per role, created on first start in an empty data dir by `pdp serve --demo`.
//!
//! Passwords are random and printed once; nothing about the demo is hard-coded into the server.

use pdp_app::admin::{UserInput, create_account};
use pdp_audit::NewEvent;
use pdp_domain::catalog::{
    CategoryClass, DataType, EntryBody, Field, Format, Frequency, Grade, IdentifierRole, MaskRule, OpenType, ShareMode,
    ShareType,
};
use pdp_domain::dataset::FieldRules;
use pdp_domain::ids::complete_credit_code;
use pdp_domain::org::{OrgKind, RegionLevel};
use pdp_domain::roles::Role;
use pdp_storage::{NewDataOfficer, NewOrganisation, NewRegion, Storage};
use rand::Rng;

fn ev(action: &str) -> NewEvent {
    NewEvent { actor: "demo".into(), ..NewEvent::system(action, "") }
}

/// A random password that meets the policy: 16 letters and digits, at least one of each.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    loop {
        let p: String = (0..16).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
        if p.chars().any(|c| c.is_ascii_digit()) && p.chars().any(|c| c.is_ascii_alphabetic()) {
            return p;
        }
    }
}

/// A demo organisation: name, kind, credit-code registration prefix, district index (`None`
/// for the city itself), parent organisation index, and the name of its data officer.
type DemoOrg = (&'static str, OrgKind, &'static str, Option<usize>, Option<usize>, &'static str);

/// One created demo account.
pub struct DemoAccount {
    pub username: String,
    pub password: String,
    pub role: Role,
}

/// Creates the demo city. The caller checks that the database is empty first.
pub async fn seed(storage: &dyn Storage) -> anyhow::Result<Vec<DemoAccount>> {
    let city = storage
        .create_region(
            NewRegion { code: "359900".into(), name: "临江市".into(), level: RegionLevel::City, parent_id: None },
            ev("region.create"),
        )
        .await?;
    let mut districts = Vec::new();
    for (code, name) in [("359902", "东湖区"), ("359903", "西山区"), ("359904", "南港区"), ("359921", "北岭县")]
    {
        let d = storage
            .create_region(
                NewRegion {
                    code: code.into(),
                    name: name.into(),
                    level: RegionLevel::District,
                    parent_id: Some(city.id),
                },
                ev("region.create"),
            )
            .await?;
        districts.push(d);
    }

    let orgs: &[DemoOrg] = &[
        ("临江市大数据管理局", OrgKind::DataAuthority, "11", None, None, "林晓"),
        ("临江市公安局", OrgKind::GovernmentDepartment, "11", None, None, "周敏"),
        ("临江市市场监督管理局", OrgKind::GovernmentDepartment, "11", None, None, "陈立"),
        ("临江市人力资源和社会保障局", OrgKind::GovernmentDepartment, "11", None, None, "王芳"),
        ("临江市医疗保障局", OrgKind::GovernmentDepartment, "11", None, None, "赵磊"),
        ("临江市教育局", OrgKind::GovernmentDepartment, "11", None, None, "孙悦"),
        ("东湖区数据资源管理中心", OrgKind::DataAuthority, "12", Some(0), Some(0), "郑楠"),
        ("西山区市场监督管理局", OrgKind::GovernmentDepartment, "11", Some(1), Some(2), "冯涛"),
        ("临江市自来水有限公司", OrgKind::PublicServiceEnterprise, "91", None, None, "何静"),
        ("临江市公共交通集团有限公司", OrgKind::PublicServiceEnterprise, "91", Some(2), None, "吕强"),
        ("临江公共数据运营有限公司", OrgKind::OperationEntity, "91", None, None, "许诺"),
        ("临江智行数据科技有限公司", OrgKind::DevelopmentEntity, "91", Some(0), None, "韩雪"),
        ("临江市公共数据研究会", OrgKind::Other, "51", Some(3), None, "曹阳"),
        // The builders of the credit and the spatial base databases (R-AGG-06).
        ("临江市发展和改革委员会", OrgKind::GovernmentDepartment, "11", None, None, "邓宇"),
        ("临江市自然资源和规划局", OrgKind::GovernmentDepartment, "11", None, None, "石磊"),
        // Two more development entities of authorized operation (R-OPS-01): one under
        // rectification, one that has left.
        ("临江慧算科技有限公司", OrgKind::DevelopmentEntity, "91", None, None, "贺晨"),
        ("临江数链信息技术有限公司", OrgKind::DevelopmentEntity, "91", Some(1), None, "章琪"),
    ];
    let mut ids = Vec::new();
    for (i, (name, kind, prefix, region, parent, officer)) in orgs.iter().enumerate() {
        let region_id = region.map(|r| districts[r].id).unwrap_or(city.id);
        let area = region.map(|r| districts[r].code.clone()).unwrap_or_else(|| city.code.clone());
        let body = format!("{:08}", 31_415_926 + i * 2_718_281);
        let code = complete_credit_code(&format!("{prefix}{area}{body}"))
            .ok_or_else(|| anyhow::anyhow!("cannot build a credit code for {name}"))?;
        let o = storage
            .create_org(
                NewOrganisation {
                    name: (*name).into(),
                    credit_code: code,
                    kind: *kind,
                    region_id,
                    parent_id: parent.map(|p| ids[p]),
                },
                ev("org.create"),
            )
            .await?;
        storage
            .add_officer(
                NewDataOfficer {
                    org_id: o.id,
                    name: (*officer).into(),
                    title: "数据专员".into(),
                    phone: format!("0599-8{:07}", 1_000_000 + i * 37),
                    email: format!("data{:02}@linjiang.example.cn", i + 1),
                    user_id: None,
                },
                ev("org.officer.add"),
            )
            .await?;
        ids.push(o.id);
    }

    let accounts: &[(&str, &str, Role, Option<usize>)] = &[
        ("admin", "平台管理员（演示）", Role::PlatformAdmin, Some(0)),
        ("reviewer", "目录审核员（演示）", Role::CatalogReviewer, Some(0)),
        ("officer", "陈立", Role::OrgDataOfficer, Some(2)),
        ("approver", "审批人（演示）", Role::OrgApprover, Some(2)),
        ("security", "安全管理员（演示）", Role::SecurityAdmin, Some(0)),
        ("auditor", "安全审计员（演示）", Role::Auditor, Some(0)),
        ("operator", "运营管理员（演示）", Role::OperatorAdmin, Some(10)),
        ("developer", "开发者（演示）", Role::Developer, Some(11)),
        ("citizen", "市民（演示）", Role::PublicUser, None),
        // A district authority's reviewer and an officer of an organisation in another district,
        // to show that districts review their own region and the city reviews all (R-CAT-03).
        ("dh.reviewer", "东湖区目录审核员（演示）", Role::CatalogReviewer, Some(6)),
        ("xs.officer", "冯涛", Role::OrgDataOfficer, Some(7)),
        // Officers of the other organisations the demo's grants are made to, so that every grant
        // can be used as its user organisation would (the bulk grant, the statistics grant).
        ("hr.officer", "王芳", Role::OrgDataOfficer, Some(3)),
        ("yb.officer", "赵磊", Role::OrgDataOfficer, Some(4)),
        // A company registered on the portal, whose credit code the security administrator has
        // verified: it has submitted social data (route 4).
        ("bikes", "临江畅行科技有限公司", Role::PublicUser, None),
    ];
    let mut out = Vec::new();
    for (username, display, role, org) in accounts {
        let password = random_password();
        let user = create_account(
            storage,
            None,
            UserInput {
                username: (*username).into(),
                display_name: (*display).into(),
                password: password.clone(),
                org_id: org.map(|o| ids[o]),
                roles: vec![role.as_str().into()],
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        if *username == "officer" {
            storage
                .add_officer(
                    NewDataOfficer {
                        org_id: ids[2],
                        name: user.display_name.clone(),
                        title: "首席数据专员".into(),
                        phone: String::new(),
                        email: String::new(),
                        user_id: Some(user.id),
                    },
                    ev("org.officer.add"),
                )
                .await?;
        }
        out.push(DemoAccount { username: (*username).into(), password, role: *role });
    }
    seed_catalog(storage, &ids).await?;
    Ok(out)
}

/// What a demo resource is about, which decides its fields and grade.
#[derive(Clone, Copy)]
enum Subject {
    /// Records about people: personal fields keyed by citizen ID (L3, conditional).
    Person,
    /// Sensitive records about people (L4: conditional, never open).
    Sensitive,
    /// Records about enterprises keyed by credit code (L1/L2, unconditional).
    Enterprise,
    /// Aggregates and public facts (L1, open).
    Statistics,
    /// Kept off the platform by law (negative list).
    Restricted,
}

/// Demo resources per organisation index: name and a summary.
const DEMO_RESOURCES: &[(usize, Subject, &str, &str)] = &[
    (1, Subject::Person, "常住人口基本信息", "常住人口的姓名、公民身份号码、性别、出生日期、户籍地址等基本信息"),
    (1, Subject::Person, "户籍迁入迁出登记信息", "户口迁入、迁出、变更登记记录"),
    (1, Subject::Person, "居民身份证办理信息", "居民身份证申领、换领、补领办理记录"),
    (1, Subject::Person, "流动人口居住登记信息", "流动人口居住登记与居住证办理信息"),
    (1, Subject::Sensitive, "违法犯罪记录信息", "经生效裁判确认的违法犯罪记录，仅限法定用途查询"),
    (1, Subject::Person, "机动车驾驶人信息", "机动车驾驶证核发、记分、换证信息"),
    (1, Subject::Enterprise, "机动车登记信息", "机动车注册、转移、抵押、注销登记信息"),
    (1, Subject::Statistics, "交通事故统计信息", "按区县、月份统计的道路交通事故数量"),
    (1, Subject::Restricted, "警用地理信息", "涉及警务部署的地理信息，依法不予共享"),
    (1, Subject::Person, "出入境证件办理信息", "护照、往来港澳通行证办理信息"),
    (
        2,
        Subject::Enterprise,
        "企业登记基本信息",
        "企业名称、统一社会信用代码、法定代表人、注册资本、住所、经营范围等登记信息",
    ),
    (2, Subject::Enterprise, "企业变更登记信息", "企业名称、住所、经营范围、法定代表人等登记事项的变更"),
    (2, Subject::Enterprise, "个体工商户登记信息", "个体工商户名称、经营者、经营场所、经营范围等信息"),
    (2, Subject::Enterprise, "食品经营许可信息", "食品经营许可证的核发、变更、注销信息"),
    (2, Subject::Enterprise, "特种设备使用登记信息", "电梯、锅炉等特种设备的使用登记信息"),
    (2, Subject::Enterprise, "企业经营异常名录信息", "列入和移出经营异常名录的企业及原因"),
    (2, Subject::Enterprise, "行政处罚信息", "市场监管领域行政处罚决定信息"),
    (2, Subject::Enterprise, "企业年度报告公示信息", "企业年度报告中依法公示的信息"),
    (2, Subject::Statistics, "市场主体发展统计信息", "按行业、区县统计的市场主体数量"),
    (2, Subject::Enterprise, "药品经营许可信息", "药品零售企业经营许可信息"),
    (2, Subject::Enterprise, "企业信用评价信息（外购）", "向第三方信用服务机构采购的企业信用评价数据"),
    (3, Subject::Person, "社会保险参保信息", "职工和城乡居民养老、失业、工伤保险参保登记信息"),
    (3, Subject::Person, "社会保险缴费信息", "按月缴费基数、缴费金额、缴费状态"),
    (3, Subject::Person, "养老金领取信息", "基本养老金领取资格认证与发放信息"),
    (3, Subject::Person, "就业失业登记信息", "城镇就业、失业登记与就业援助信息"),
    (3, Subject::Person, "职业资格证书信息", "职业资格和职业技能等级证书信息"),
    (3, Subject::Enterprise, "用人单位参保信息", "用人单位社会保险登记与缴费状态"),
    (3, Subject::Statistics, "就业形势统计信息", "城镇新增就业人口、登记失业率等统计数据"),
    (3, Subject::Sensitive, "劳动保障监察案件信息", "劳动保障监察立案、处理结果信息"),
    (4, Subject::Person, "基本医疗保险参保信息", "职工和城乡居民基本医疗保险参保信息"),
    (4, Subject::Sensitive, "医疗费用结算信息", "参保人员住院、门诊费用结算明细"),
    (4, Subject::Enterprise, "定点医药机构信息", "医保定点医疗机构和定点零售药店信息"),
    (4, Subject::Person, "医疗救助信息", "医疗救助对象与救助金额信息"),
    (4, Subject::Statistics, "医保基金收支统计信息", "医保基金按月收支统计"),
    (4, Subject::Person, "长期护理保险待遇信息", "长期护理保险失能评估与待遇享受信息"),
    (5, Subject::Person, "中小学学籍信息", "中小学生学籍注册、转学、毕业信息"),
    (5, Subject::Enterprise, "学校基本信息", "各级各类学校名称、办学性质、地址、规模"),
    (5, Subject::Person, "学历证书信息", "中等职业学校学历证书信息"),
    (5, Subject::Person, "教师资格信息", "教师资格认定信息"),
    (5, Subject::Statistics, "教育事业统计信息", "在校生数、专任教师数等年度统计"),
    (5, Subject::Enterprise, "校外培训机构信息", "经审批的校外培训机构名单"),
    (7, Subject::Enterprise, "西山区个体工商户年报信息", "西山区个体工商户年度报告信息"),
    (7, Subject::Enterprise, "西山区食品小作坊登记信息", "食品小作坊登记与监督检查信息"),
    (8, Subject::Person, "居民用水户信息", "居民用水户户号、户主、用水地址"),
    (8, Subject::Statistics, "供水水质监测信息", "出厂水和管网水水质监测数据"),
    (8, Subject::Statistics, "供水管网停水信息", "计划停水和抢修停水公告信息"),
    (8, Subject::Enterprise, "非居民用水户信息", "非居民用水单位及用水量"),
    (9, Subject::Statistics, "公交线路站点信息", "公交线路、站点、首末班时间"),
    (9, Subject::Statistics, "公交实时到站信息", "公交车辆实时位置与到站预测"),
    (9, Subject::Person, "公交卡优惠乘车资格信息", "老年人、残疾人等优惠乘车资格"),
    (9, Subject::Statistics, "公交客流统计信息", "按线路、时段统计的客流量"),
    (6, Subject::Statistics, "东湖区政务服务事项信息", "东湖区政务服务事项清单与办理指南"),
    (6, Subject::Person, "东湖区低保对象信息", "东湖区最低生活保障对象与保障金额"),
];

const THEME_ITEMS: &[&str] = &["01", "02", "03", "08", "09", "10", "11"];

fn demo_field(name: &str, label: &str, dt: DataType, grade: Grade) -> Field {
    Field {
        name: name.into(),
        label: label.into(),
        data_type: dt,
        description: String::new(),
        grade,
        personal: false,
        identifier: IdentifierRole::None,
        mask: MaskRule::None,
        purpose: String::new(),
        rules: Default::default(),
    }
}

fn personal(mut f: Field, mask: MaskRule, purpose: &str) -> Field {
    f.personal = true;
    f.mask = mask;
    f.purpose = purpose.into();
    f
}

/// The body of a demo resource. `variant` spreads classes, frequencies and open types so that
/// every value appears somewhere in the demo.
fn demo_body(org: usize, subject: Subject, name: &str, summary: &str, variant: usize) -> EntryBody {
    use pdp_domain::catalog::{OpenAttrs, ShareAttrs};
    let dept_item = match org {
        1 => "01",
        2 | 7 => "02",
        3 => "03",
        4 => "04",
        5 => "05",
        8 => "09",
        9 => "06",
        _ => "99",
    };
    let (class, item) = match (subject, variant % 5) {
        (Subject::Person, 0) => (CategoryClass::Base, "01".to_string()),
        (Subject::Enterprise, 0) => (CategoryClass::Base, "02".to_string()),
        (_, 1) | (_, 3) => (CategoryClass::Theme, THEME_ITEMS[variant % THEME_ITEMS.len()].to_string()),
        _ => (CategoryClass::Department, dept_item.to_string()),
    };
    let frequency = Frequency::ALL[variant % Frequency::ALL.len()];
    let format = [Format::Database, Format::Spreadsheet, Format::Database, Format::Streaming][variant % 4];
    let basis = "《临江市公共数据管理办法》第十八条";
    let (fields, identifier, share, open) = match subject {
        Subject::Person | Subject::Sensitive => {
            let top = if matches!(subject, Subject::Sensitive) { Grade::L4 } else { Grade::L3 };
            let mut id = personal(
                demo_field("id_no", "公民身份号码", DataType::Text, Grade::L3),
                MaskRule::IdNumber,
                "唯一识别办事人",
            );
            id.identifier = IdentifierRole::CitizenId;
            id.rules = FieldRules { key: true, required: true, ..Default::default() };
            let mut name =
                personal(demo_field("person_name", "姓名", DataType::Text, Grade::L2), MaskRule::Name, "核对身份");
            name.rules = FieldRules { required: true, max_len: Some(30), ..Default::default() };
            let mut mobile =
                personal(demo_field("mobile", "联系电话", DataType::Text, Grade::L3), MaskRule::Mobile, "办理结果通知");
            mobile.rules = FieldRules { pattern: Some("1[3-9][0-9]{9}".into()), ..Default::default() };
            let mut date = demo_field("record_date", "登记日期", DataType::Date, Grade::L1);
            date.rules.required = true;
            let fields = vec![
                id,
                name,
                mobile,
                personal(demo_field("address", "住址", DataType::Text, top), MaskRule::Address, "确定属地管辖"),
                date,
            ];
            let share = ShareAttrs {
                share_type: ShareType::Conditional,
                conditions: "仅用于依法履职的身份核验和业务办理".into(),
                modes: if variant.is_multiple_of(2) {
                    vec![ShareMode::Verify, ShareMode::View]
                } else {
                    vec![ShareMode::Verify, ShareMode::Statistics]
                },
                legal_basis: "《中华人民共和国个人信息保护法》第三十四条；".to_string() + basis,
            };
            let open = OpenAttrs {
                open_type: OpenType::NotOpen,
                conditions: String::new(),
                legal_basis: "涉及个人信息，依法不予开放".into(),
            };
            (fields, Some("id_no".to_string()), share, open)
        }
        Subject::Enterprise => {
            let mut code = demo_field("credit_code", "统一社会信用代码", DataType::Text, Grade::L1);
            code.identifier = IdentifierRole::CreditCode;
            code.rules = FieldRules { key: true, required: true, ..Default::default() };
            let mut ent_name = demo_field("ent_name", "名称", DataType::Text, Grade::L1);
            ent_name.rules.required = true;
            let mut status = demo_field("status", "状态", DataType::Text, Grade::L1);
            status.rules.values = ["存续", "在业", "迁出", "注销", "吊销"].iter().map(|s| s.to_string()).collect();
            let fields = vec![
                code,
                ent_name,
                personal(
                    demo_field("legal_rep", "法定代表人（负责人）", DataType::Text, Grade::L2),
                    MaskRule::Name,
                    "公示市场主体责任人",
                ),
                demo_field("address", "住所（经营场所）", DataType::Text, Grade::L1),
                demo_field("valid_from", "有效期起", DataType::Date, Grade::L1),
                status,
            ];
            let open = match variant % 3 {
                0 => OpenAttrs::default(),
                1 => OpenAttrs {
                    open_type: OpenType::OnApplication,
                    conditions: "用于信用服务等合法用途，签订数据使用协议".into(),
                    legal_basis: basis.into(),
                },
                _ => OpenAttrs {
                    open_type: OpenType::NotOpen,
                    conditions: String::new(),
                    legal_basis: "含经营者个人信息".into(),
                },
            };
            (fields, Some("credit_code".to_string()), ShareAttrs::default(), open)
        }
        Subject::Statistics => {
            let fields = vec![
                demo_field("area_code", "行政区划代码", DataType::Text, Grade::L1),
                demo_field("period", "统计期", DataType::Text, Grade::L1),
                demo_field("indicator", "指标名称", DataType::Text, Grade::L1),
                demo_field("value", "指标值", DataType::Decimal, Grade::L1),
            ];
            (fields, None, ShareAttrs::default(), OpenAttrs::default())
        }
        Subject::Restricted => {
            let fields = vec![
                demo_field("object_id", "对象编号", DataType::Text, Grade::Core),
                demo_field("location", "位置", DataType::Text, Grade::Core),
            ];
            let share = ShareAttrs {
                share_type: ShareType::NotShared,
                conditions: String::new(),
                modes: vec![],
                legal_basis: "《中华人民共和国保守国家秘密法》第二十八条".into(),
            };
            let open =
                OpenAttrs { open_type: OpenType::NotOpen, conditions: String::new(), legal_basis: "同上".into() };
            (fields, None, share, open)
        }
    };
    EntryBody {
        name: name.into(),
        summary: summary.into(),
        class,
        item,
        format,
        frequency,
        release_date: String::new(),
        related: vec![],
        source_system_id: None,
        purchased: name.contains("外购"),
        purchased_from: if name.contains("外购") { "临江征信服务有限公司".into() } else { String::new() },
        collecting_dept: String::new(),
        approving_dept: String::new(),
        usage_requirements: "仅限本单位依法履职使用，不得向第三方提供".into(),
        fields,
        identifier_field: identifier,
        share,
        open,
    }
}

/// The name of the demo's electronic licence resource.
pub const LICENCE_NAME: &str = "营业执照（电子证照）";

/// The business licence as an electronic licence resource: one row per licence, keyed by its
/// number, held by the enterprise named by its credit code. Its fields are public facts of the
/// licence (the legal representative is printed on it), so nothing is masked and the counter
/// sees the document as issued.
fn licence_body() -> EntryBody {
    use pdp_domain::catalog::{OpenAttrs, ShareAttrs};
    let mut number = demo_field("licence_no", "证照编号", DataType::Text, Grade::L1);
    number.rules = FieldRules { key: true, required: true, ..Default::default() };
    let mut code = demo_field("credit_code", "统一社会信用代码", DataType::Text, Grade::L1);
    code.identifier = IdentifierRole::CreditCode;
    code.rules.required = true;
    let mut ent_name = demo_field("ent_name", "名称", DataType::Text, Grade::L1);
    ent_name.rules.required = true;
    let mut issue = demo_field("issue_date", "发证日期", DataType::Date, Grade::L1);
    issue.rules.required = true;
    let fields = vec![
        number,
        code,
        ent_name,
        demo_field("ent_type", "类型", DataType::Text, Grade::L1),
        demo_field("legal_rep", "法定代表人", DataType::Text, Grade::L1),
        demo_field("reg_capital", "注册资本", DataType::Text, Grade::L1),
        demo_field("address", "住所", DataType::Text, Grade::L1),
        issue,
        demo_field("issuer", "登记机关", DataType::Text, Grade::L1),
    ];
    let mut body = base_body(
        LICENCE_NAME,
        "市场主体营业执照的电子证照，供办事窗口按统一社会信用代码调取，替代纸质营业执照复印件",
        pdp_domain::document::LICENCE_ITEM,
        fields,
    );
    body.usage_requirements = "仅限办理申请人本人事项时调取，不得另作他用".into();
    // Documents are looked up by their holder, not by their number.
    body.identifier_field = Some("credit_code".into());
    body.share = ShareAttrs {
        share_type: ShareType::Unconditional,
        conditions: String::new(),
        modes: vec![ShareMode::View, ShareMode::Verify],
        legal_basis: "《优化营商环境条例》第三十五条；《临江市公共数据管理办法》第二十二条".into(),
    };
    body.open = OpenAttrs {
        open_type: OpenType::NotOpen,
        conditions: String::new(),
        legal_basis: "电子证照仅向办理事项的机关提供".into(),
    };
    body
}

/// The credit base database's resource (公共信用基础库, base item 04): the development and
/// reform commission's public credit evaluation of enterprises, by credit code.
pub const CREDIT_NAME: &str = "企业公共信用综合评价结果";

/// The spatial base database's resource (自然资源和空间地理基础库, base item 03): real estate
/// units by their unit code (GB/T 37346).
pub const SPATIAL_NAME: &str = "不动产单元基本信息";

/// The body of a base database's resource: `fields` with the first as the key and identifier,
/// shared without conditions for view, verify and bulk, not open (the units' owners are not in
/// it, but the resource is for the government's own use).
fn base_body(name: &str, summary: &str, item: &str, fields: Vec<Field>) -> EntryBody {
    use pdp_domain::catalog::{OpenAttrs, ShareAttrs};
    EntryBody {
        name: name.into(),
        summary: summary.into(),
        class: CategoryClass::Base,
        item: item.into(),
        format: Format::Database,
        frequency: Frequency::Daily,
        release_date: String::new(),
        related: vec![],
        source_system_id: None,
        purchased: false,
        purchased_from: String::new(),
        collecting_dept: String::new(),
        approving_dept: String::new(),
        usage_requirements: "仅用于依法履职".into(),
        identifier_field: fields.first().map(|f| f.name.clone()),
        fields,
        share: ShareAttrs {
            share_type: ShareType::Unconditional,
            conditions: String::new(),
            modes: vec![ShareMode::View, ShareMode::Verify, ShareMode::Bulk],
            legal_basis: "《临江市公共数据管理办法》第十一条：基础数据库".into(),
        },
        open: OpenAttrs {
            open_type: OpenType::NotOpen,
            conditions: String::new(),
            legal_basis: "基础数据库数据供政务部门共享使用".into(),
        },
    }
}

fn credit_body() -> EntryBody {
    let mut code = demo_field("credit_code", "统一社会信用代码", DataType::Text, Grade::L1);
    code.identifier = IdentifierRole::CreditCode;
    code.rules = FieldRules { key: true, required: true, ..Default::default() };
    let mut level = demo_field("credit_level", "信用等级", DataType::Text, Grade::L2);
    level.rules = FieldRules {
        required: true,
        values: vec!["A".into(), "B".into(), "C".into(), "D".into()],
        ..Default::default()
    };
    let mut listed = demo_field("dishonest", "列入失信名单", DataType::Text, Grade::L2);
    listed.rules = FieldRules { required: true, values: vec!["是".into(), "否".into()], ..Default::default() };
    let mut date = demo_field("eval_date", "评价日期", DataType::Date, Grade::L1);
    date.rules.required = true;
    base_body(
        CREDIT_NAME,
        "市场主体公共信用综合评价等级及失信联合惩戒名单状态，按统一社会信用代码汇聚形成公共信用基础库",
        "04",
        vec![code, demo_field("ent_name", "名称", DataType::Text, Grade::L1), level, listed, date],
    )
}

fn spatial_body() -> EntryBody {
    let mut code = demo_field("unit_code", "不动产单元号", DataType::Text, Grade::L1);
    code.identifier = IdentifierRole::PlaceCode;
    code.rules = FieldRules { key: true, required: true, ..Default::default() };
    let mut location = demo_field("location", "坐落", DataType::Text, Grade::L2);
    location.rules.required = true;
    let mut usage = demo_field("land_use", "用途", DataType::Text, Grade::L1);
    usage.rules = FieldRules {
        required: true,
        values: vec!["住宅".into(), "商业".into(), "工业".into(), "公共设施".into()],
        ..Default::default()
    };
    let mut area = demo_field("land_area", "宗地面积（平方米）", DataType::Decimal, Grade::L1);
    area.rules = FieldRules { min: Some(0.0), ..Default::default() };
    base_body(
        SPATIAL_NAME,
        "不动产单元的坐落、用途和面积，按不动产单元号汇聚形成自然资源和空间地理基础库",
        "03",
        vec![code, location, usage, area, demo_field("district", "所在区县", DataType::Text, Grade::L1)],
    )
}

/// Seeds the catalog: every resource for its organisation plus a yearly archive of most of
/// them (about 200 entries), mostly published, with drafts, submissions, rejections, a second
/// version under review, registered systems, and a change event whose deadline has passed.
pub async fn seed_catalog(storage: &dyn Storage, org_ids: &[i64]) -> anyhow::Result<usize> {
    use pdp_domain::catalog::{ChangeKind, VersionStatus as V};
    use pdp_storage::catalog::{NewChangeEvent, NewInfoSystem, SystemDataItem};
    let mut n = 0;
    let mut first_of_org: std::collections::BTreeMap<usize, Vec<i64>> = Default::default();
    let mut variants: Vec<(usize, Subject, String, String)> = Vec::new();
    for (org, subject, name, summary) in DEMO_RESOURCES {
        variants.push((*org, *subject, (*name).into(), (*summary).into()));
    }
    // Archives by year and district editions bring the catalog to a realistic size.
    for (org, subject, name, summary) in DEMO_RESOURCES {
        if matches!(subject, Subject::Restricted) {
            continue;
        }
        for year in [2023, 2024] {
            variants.push((
                *org,
                *subject,
                format!("{name}（{year}年度归档）"),
                format!("{summary}，{year}年度归档数据"),
            ));
        }
    }
    for district in ["东湖区", "西山区", "南港区", "北岭县"] {
        for (org, subject, name, summary) in DEMO_RESOURCES.iter().filter(|r| r.0 == 2 || r.0 == 3).take(11) {
            variants.push((*org, *subject, format!("{district}{name}"), format!("{district}范围内的{summary}")));
        }
    }
    for (i, (org, subject, name, summary)) in variants.iter().enumerate() {
        let org_id = org_ids[*org];
        let body = demo_body(*org, *subject, name, summary, i);
        let broken = pdp_domain::catalog::validate(&body, &pdp_domain::catalog::GradingMatrix::default());
        if let Some(v) = broken.first() {
            anyhow::bail!("demo entry {name} breaks {}: {}", v.code, v.message_en);
        }
        let e = storage.create_entry(org_id, &body, None, ev("catalog.entry.create")).await?;
        n += 1;
        first_of_org.entry(*org).or_default().push(e.entry_id);
        // Most entries are published; every 17th stays a draft, every 19th waits for review,
        // every 23rd was sent back with a reason.
        let state = if i % 17 == 5 {
            continue;
        } else if i % 19 == 7 {
            V::Submitted
        } else if i % 23 == 11 {
            V::Rejected
        } else {
            V::Published
        };
        storage.transition_entry(e.entry_id, 1, V::Draft, V::Submitted, None, "", ev("catalog.entry.submit")).await?;
        if state == V::Submitted {
            continue;
        }
        let reason = if state == V::Rejected { "信息项描述不完整，请补充数据类型说明" } else { "" };
        storage.transition_entry(e.entry_id, 1, V::Submitted, state, None, reason, ev("catalog.entry.review")).await?;
    }
    // The business licence, cataloged as an electronic licence resource (R-SHR-14).
    let body = licence_body();
    if let Some(v) = pdp_domain::catalog::validate(&body, &pdp_domain::catalog::GradingMatrix::default()).first() {
        anyhow::bail!("demo entry {LICENCE_NAME} breaks {}: {}", v.code, v.message_en);
    }
    let e = storage.create_entry(org_ids[2], &body, None, ev("catalog.entry.create")).await?;
    storage.transition_entry(e.entry_id, 1, V::Draft, V::Submitted, None, "", ev("catalog.entry.submit")).await?;
    storage.transition_entry(e.entry_id, 1, V::Submitted, V::Published, None, "", ev("catalog.entry.review")).await?;
    n += 1;
    // The resources of the credit and spatial base databases.
    for (org, body) in [(13, credit_body()), (14, spatial_body())] {
        if let Some(v) = pdp_domain::catalog::validate(&body, &pdp_domain::catalog::GradingMatrix::default()).first() {
            anyhow::bail!("demo entry {} breaks {}: {}", body.name, v.code, v.message_en);
        }
        let e = storage.create_entry(org_ids[org], &body, None, ev("catalog.entry.create")).await?;
        storage.transition_entry(e.entry_id, 1, V::Draft, V::Submitted, None, "", ev("catalog.entry.submit")).await?;
        storage
            .transition_entry(e.entry_id, 1, V::Submitted, V::Published, None, "", ev("catalog.entry.review"))
            .await?;
        n += 1;
    }
    // A published entry with a second version under review.
    if let Some(&id) = first_of_org.get(&2).and_then(|v| v.get(1)) {
        let mut e = storage.get_entry(id).await?.ok_or_else(|| anyhow::anyhow!("demo entry {id}"))?;
        e.body.frequency = Frequency::Realtime;
        e.body.summary.push_str("（增加实时变更推送）");
        let v2 = storage.save_entry(id, &e.body, None, ev("catalog.entry.save")).await?;
        storage.transition_entry(id, v2.version, V::Draft, V::Submitted, None, "", ev("catalog.entry.submit")).await?;
    }
    // Registered systems, one with data not yet cataloged.
    let police = first_of_org.get(&1).cloned().unwrap_or_default();
    storage
        .create_system(
            NewInfoSystem {
                org_id: org_ids[1],
                name: "人口信息管理系统".into(),
                owner: "临江市公安局科技信息化处".into(),
                funding: "市财政 2021 年政务信息化项目".into(),
                status: pdp_domain::catalog::SystemStatus::InService,
                items: vec![
                    SystemDataItem { name: "常住人口基本信息".into(), entry_id: police.first().copied() },
                    SystemDataItem { name: "户籍迁入迁出登记信息".into(), entry_id: police.get(1).copied() },
                    SystemDataItem { name: "门牌地址信息".into(), entry_id: None },
                ],
            },
            ev("catalog.system.create"),
        )
        .await?;
    let market = first_of_org.get(&2).cloned().unwrap_or_default();
    storage
        .create_system(
            NewInfoSystem {
                org_id: org_ids[2],
                name: "市场主体登记注册系统".into(),
                owner: "临江市市场监督管理局".into(),
                funding: "省级统建，市财政配套".into(),
                status: pdp_domain::catalog::SystemStatus::InService,
                items: vec![
                    SystemDataItem { name: "企业登记基本信息".into(), entry_id: market.first().copied() },
                    SystemDataItem { name: "企业变更登记信息".into(), entry_id: market.get(1).copied() },
                    SystemDataItem { name: "企业迁移信息".into(), entry_id: None },
                ],
            },
            ev("catalog.system.create"),
        )
        .await?;
    // A change of functions at the medical insurance bureau in October: its deadline has passed,
    // so its entries are overdue on the dashboards.
    let cal = pdp_domain::calendar::WorkCalendar::official();
    let event = pdp_domain::calendar::date(2026, 10, 9).ok_or_else(|| anyhow::anyhow!("date"))?;
    let due = pdp_domain::catalog::update_deadline(&cal, event)?.due;
    storage
        .record_change(
            NewChangeEvent {
                org_id: org_ids[4],
                kind: ChangeKind::Functions,
                description: "机构职能调整：新增长期护理保险经办职责".into(),
                event_date: event,
                due_date: due,
                created_by: None,
            },
            ev("catalog.change.record"),
        )
        .await?;
    Ok(n)
}
