//! Sharing in the demo city: an approved scenario, requests in every state and grants in every
//! mode, between the demo organisations, one past emergency, a few demands and a usage report,
//! so each role's pages have something to show.
//!
//! Requests are stored the way the server stores them (routed, with their grants created in the
//! same transaction); a pending request whose deadline has passed is left for the escalation
//! sweep to find.

use std::collections::BTreeMap;

use pdp_audit::NewEvent;
use pdp_domain::catalog::{MaskRule, ShareMode, ShareType};
use pdp_domain::sharing::{DEFAULT_MIN_GROUP, DemandStatus, NoteKind, RequestStatus, Route, approval_due, fix_masking};
use pdp_storage::catalog::EntryVersion;
use pdp_storage::{
    Decision, NewDemand, NewEmergency, NewGrant, NewRequestNote, NewScenario, NewShareRequest, NewUsageReport, Storage,
};

/// The fields of the demo business licence a counter is granted: all of them.
const LICENCE_FIELDS: [&str; 9] = [
    "licence_no",
    "credit_code",
    "ent_name",
    "ent_type",
    "legal_rep",
    "reg_capital",
    "address",
    "issue_date",
    "issuer",
];

/// One demo request: who asks, for which entry, fields and mode, and what becomes of it.
struct Ask<'a> {
    requester: i64,
    entry: &'a EntryVersion,
    mode: ShareMode,
    fields: &'a [&'a str],
    scenario: &'a str,
    purpose: &'a str,
    /// `granted` (direct or approved), `pending`, `overdue`, `refused`, `negotiating`,
    /// `withdrawn`.
    outcome: &'a str,
    scenario_id: Option<i64>,
}

fn grant_of(a: &Ask<'_>, today: time::Date) -> anyhow::Result<NewGrant> {
    let fields: Vec<String> = a.fields.iter().map(|s| s.to_string()).collect();
    let masking: BTreeMap<String, MaskRule> = fix_masking(&a.entry.body.fields, &fields, &BTreeMap::new(), &[])?;
    Ok(NewGrant {
        entry_id: a.entry.entry_id,
        dataset: a.entry.code.clone(),
        provider_org_id: a.entry.org_id,
        user_org_id: a.requester,
        scenario: a.scenario.into(),
        purpose: a.purpose.into(),
        mode: a.mode,
        fields,
        masking: masking.into_iter().map(|(k, v)| (k, v.as_str().to_string())).collect(),
        row_filters: Vec::new(),
        min_group: DEFAULT_MIN_GROUP,
        expires_on: today + time::Duration::days(365),
        created_by: "demo".into(),
        pseudonym_key: rand::random::<[u8; 32]>().to_vec(),
        emergency_id: None,
    })
}

/// Seeds the demo's sharing; returns the number of requests.
pub async fn seed(
    storage: &dyn Storage,
    residents: &EntryVersion,
    enterprises: &EntryVersion,
    all: &[EntryVersion],
    org: impl Fn(&str) -> i64,
) -> anyhow::Result<usize> {
    let cal = pdp_domain::calendar::WorkCalendar::official();
    let today = pdp_app::clock::today_date();
    // Past the last holiday table the deadline is provisional, and counted again when the
    // authority adds the year's table.
    let due = approval_due(&cal, today)?.due;
    let ev = |action: &str| NewEvent { actor: "demo".into(), ..NewEvent::system(action, "") };
    // The residents entry offers verify and one of view or statistics (see the demo catalog).
    let second =
        if residents.body.share.modes.contains(&ShareMode::View) { ShareMode::View } else { ShareMode::Statistics };
    let scenario = storage
        .create_scenario(
            NewScenario {
                name: "企业开办“一件事”身份核验".into(),
                entry_id: residents.entry_id,
                mode: ShareMode::Verify,
                fields: vec!["id_no".into(), "person_name".into()],
                purpose: "核验企业开办申请人的身份信息".into(),
                legal_basis: "《优化营商环境条例》第十九条".into(),
                grant_days: 365,
                created_by: "demo".into(),
            },
            ev("share.scenario.create"),
        )
        .await?;
    let market = org("临江市市场监督管理局");
    let hr = org("临江市人力资源和社会保障局");
    let medical = org("临江市医疗保障局");
    let education = org("临江市教育局");
    let district_market = org("西山区市场监督管理局");
    let mut asks = vec![
        Ask {
            requester: market,
            entry: residents,
            mode: ShareMode::Verify,
            fields: &["id_no", "person_name"],
            scenario: "企业开办身份核验",
            purpose: "核验企业开办申请人的身份信息",
            outcome: "granted",
            scenario_id: Some(scenario.id),
        },
        Ask {
            requester: hr,
            entry: residents,
            mode: second,
            fields: &["id_no", "person_name", "record_date"],
            scenario: "社会保险参保登记",
            purpose: "核对参保人员户籍信息",
            outcome: "pending",
            scenario_id: None,
        },
        Ask {
            requester: medical,
            entry: residents,
            mode: ShareMode::Verify,
            fields: &["id_no", "person_name"],
            scenario: "医保参保身份核验",
            purpose: "核验城乡居民医保参保人身份",
            outcome: "overdue",
            scenario_id: None,
        },
        Ask {
            requester: education,
            entry: residents,
            mode: ShareMode::Verify,
            fields: &["id_no", "person_name", "mobile"],
            scenario: "义务教育入学资格审核",
            purpose: "核验适龄儿童及监护人户籍",
            outcome: "refused",
            scenario_id: None,
        },
        Ask {
            requester: hr,
            entry: enterprises,
            mode: ShareMode::Bulk,
            fields: &["credit_code", "ent_name", "status"],
            scenario: "企业社保登记",
            purpose: "按企业登记信息办理单位参保登记",
            outcome: "granted",
            scenario_id: None,
        },
        Ask {
            requester: medical,
            entry: enterprises,
            mode: ShareMode::Statistics,
            fields: &["status", "address"],
            scenario: "医保定点机构规划",
            purpose: "统计各状态市场主体数量",
            outcome: "granted",
            scenario_id: None,
        },
        Ask {
            requester: hr,
            entry: residents,
            mode: ShareMode::Verify,
            fields: &["id_no", "person_name", "address"],
            scenario: "就业困难人员认定",
            purpose: "核验申请人户籍",
            outcome: "withdrawn",
            scenario_id: None,
        },
    ];
    // A district counter fetches applicants' business licences instead of asking for paper
    // copies (R-SHR-14); the licence resource is unconditional, so the request is granted at once.
    if let Some(licence) = all.iter().find(|e| pdp_domain::document::is_licence(&e.body)) {
        asks.push(Ask {
            requester: district_market,
            entry: licence,
            mode: ShareMode::View,
            fields: &LICENCE_FIELDS,
            scenario: "食品经营许可办理",
            purpose: "办理食品经营许可时调取申请人的营业执照，不再要求提交纸质复印件",
            outcome: "granted",
            scenario_id: None,
        });
    }
    let mut n = 0;
    // Not-shared data is only negotiated: the market regulator asks for a restricted resource.
    if let Some(closed) = all.iter().find(|e| {
        e.body.share.share_type == pdp_domain::catalog::ShareType::NotShared
            && e.org_id != market
            && !e.body.fields.is_empty()
    }) {
        let field = closed.body.fields[0].name.clone();
        let req = NewShareRequest {
            requester_org_id: market,
            requester_user_id: storage.get_user_by_name("officer").await?.map(|u| u.id).unwrap_or_default(),
            requester_name: "陈立".into(),
            entry_id: closed.entry_id,
            dataset: closed.code.clone(),
            provider_org_id: closed.org_id,
            fields: vec![field],
            mode: ShareMode::Statistics,
            scenario_id: None,
            scenario: "重点区域市场主体监管".into(),
            legal_basis: "《临江市公共数据管理办法》第二十三条".into(),
            purpose: "统计重点区域内监管对象数量".into(),
            until: today + time::Duration::days(180),
            pledged: true,
            share_type: ShareType::NotShared,
            route: Route::Negotiation,
            status: RequestStatus::Negotiating,
            beyond_need: Vec::new(),
            due_date: None,
            emergency_id: None,
        };
        let (r, _) = storage.create_request(req, None, ev("share.request.submit")).await?;
        storage
            .add_request_note(
                r.id,
                NewRequestNote {
                    author_id: None,
                    author_name: "陈立".into(),
                    org_id: Some(market),
                    kind: NoteKind::Negotiation,
                    body: "仅需分区县的数量统计，不需要明细".into(),
                },
                ev("share.request.note"),
            )
            .await?;
        n += 1;
    }
    for a in &asks {
        if a.requester == 0 || a.requester == a.entry.org_id {
            continue;
        }
        let direct = a.outcome == "granted"
            && (a.scenario_id.is_some() || a.entry.body.share.share_type == ShareType::Unconditional);
        let status = if direct { RequestStatus::Granted } else { RequestStatus::Pending };
        let due_date = match a.outcome {
            _ if direct => None,
            // Submitted weeks ago and never answered: the sweep escalates it.
            "overdue" => Some(today - time::Duration::days(30)),
            _ => Some(due),
        };
        let req = NewShareRequest {
            requester_org_id: a.requester,
            requester_user_id: storage.get_user_by_name("officer").await?.map(|u| u.id).unwrap_or_default(),
            requester_name: "演示申请人".into(),
            entry_id: a.entry.entry_id,
            dataset: a.entry.code.clone(),
            provider_org_id: a.entry.org_id,
            fields: a.fields.iter().map(|s| s.to_string()).collect(),
            mode: a.mode,
            scenario_id: a.scenario_id,
            scenario: a.scenario.into(),
            legal_basis: "《临江市公共数据管理办法》第二十二条".into(),
            purpose: a.purpose.into(),
            until: today + time::Duration::days(365),
            pledged: true,
            share_type: a.entry.body.share.share_type,
            route: if direct { Route::Direct } else { Route::ProviderApproval },
            status,
            beyond_need: Vec::new(),
            due_date,
            emergency_id: None,
        };
        let grant = if direct { Some(grant_of(a, today)?) } else { None };
        let (r, _) = storage.create_request(req, grant, ev("share.request.submit")).await?;
        let decision = match a.outcome {
            "refused" => Some(Decision {
                from: RequestStatus::Pending,
                to: RequestStatus::Refused,
                by: None,
                reason: "联系电话不属于入学资格核验所需的信息项（最小够用）".into(),
                note: Some(NewRequestNote {
                    author_id: None,
                    author_name: "公安局审批人（演示）".into(),
                    org_id: Some(a.entry.org_id),
                    kind: NoteKind::Decision,
                    body: "请删去联系电话后重新申请".into(),
                }),
                grant: None,
            }),
            "withdrawn" => Some(Decision {
                from: RequestStatus::Pending,
                to: RequestStatus::Withdrawn,
                by: None,
                reason: String::new(),
                note: None,
                grant: None,
            }),
            "granted" if !direct => Some(Decision {
                from: RequestStatus::Pending,
                to: RequestStatus::Granted,
                by: None,
                reason: "同意共享".into(),
                note: None,
                grant: Some(grant_of(a, today)?),
            }),
            _ => None,
        };
        if let Some(d) = decision {
            let (_, g) = storage.decide_request(r.id, d, ev("share.request.decide")).await?;
            if let (Some(g), ShareMode::Bulk) = (g, a.mode) {
                let by = storage.get_user_by_name("officer").await?.map(|u| u.id).unwrap_or_default();
                let report = NewUsageReport {
                    grant_id: g.id,
                    period_end: today,
                    body:
                        "本期按企业登记信息办理单位参保登记 1,200 件，数据仅在社保经办系统内使用，未发生数据安全事件。"
                            .into(),
                    filed_by: by,
                    filed_by_name: "演示报告人".into(),
                };
                storage.file_usage_report(report, ev("share.report.file")).await?;
            }
        }
        n += 1;
    }
    seed_emergency_and_demands(storage, residents, &[medical, hr], market, education).await?;
    Ok(n)
}

/// A past emergency (a flood, residents' data raised for the rescue organisations for three
/// days) and demands in each state.
async fn seed_emergency_and_demands(
    storage: &dyn Storage,
    residents: &EntryVersion,
    orgs: &[i64],
    market: i64,
    education: i64,
) -> anyhow::Result<()> {
    let ev = |action: &str| NewEvent { actor: "demo".into(), ..NewEvent::system(action, "") };
    let day = 86_400_000_000i64;
    let now = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64;
    storage
        .create_emergency(
            NewEmergency {
                name: "“8·12”强降雨防汛应急".into(),
                scope: "转移安置受灾群众，核实受灾人员身份与住址".into(),
                raise_to: ShareType::Unconditional,
                entry_ids: vec![residents.entry_id],
                org_ids: orgs.iter().copied().filter(|o| *o != 0).collect(),
                starts_at_micros: now - 100 * day,
                ends_at_micros: now - 97 * day,
                declared_by: "demo".into(),
            },
            ev("share.emergency.declare"),
        )
        .await?;
    let officer = storage.get_user_by_name("officer").await?.map(|u| u.id).unwrap_or_default();
    let demands = [
        (
            education,
            "校外培训机构登记及行政处罚信息",
            "全市校外培训机构的登记状态、经营范围和行政处罚记录，按周更新",
            "校外培训机构日常监管",
        ),
        (market, "企业用电量月度数据", "规模以上企业按月用电量", "监测企业经营活跃度"),
    ];
    for (i, (requester, title, description, purpose)) in demands.iter().enumerate() {
        if *requester == 0 {
            continue;
        }
        let d = storage
            .create_demand(
                NewDemand {
                    requester_org_id: *requester,
                    requester_user_id: officer,
                    requester_name: "演示申请人".into(),
                    title: (*title).into(),
                    description: (*description).into(),
                    purpose: (*purpose).into(),
                },
                ev("share.demand.create"),
            )
            .await?;
        if i == 0 && market != 0 {
            // Assigned by the authority to the market regulator, which has to answer.
            let c = pdp_storage::DemandChange {
                from: DemandStatus::Open,
                to: DemandStatus::Assigned,
                provider_org_id: Some(market),
                entry_id: None,
                response: "请于 15 个工作日内研究提供".into(),
            };
            storage.change_demand(d.id, c, ev("share.demand.assign")).await?;
        }
    }
    Ok(())
}
