//! The demo city (临江市, fictional): regions, organisations of every kind, data officers and
//! one account per role, created on first start in an empty data dir by `pdp serve --demo`.
//!
//! Passwords are random and printed once; nothing about the demo is hard-coded into the server.

use pdp_audit::NewEvent;
use pdp_domain::ids::complete_credit_code;
use pdp_domain::org::{OrgKind, RegionLevel};
use pdp_domain::roles::Role;
use pdp_storage::{NewDataOfficer, NewOrganisation, NewRegion, Storage};
use pdp_web::api::{UserInput, create_account};
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
    Ok(out)
}
