//! The demo city's authorized operation (授权运营, R-OPS): one operator under a three-year
//! agreement, three developers (one in good standing, one suspended, one exited), the operation
//! resource catalog with an entry a sector marked not operable, scenario applications and
//! products in every state, one product sold twice.
//!
//! The records are written through the storage as the use cases would leave them; the one
//! approved application's list is opened in the operation domain by the use case's own
//! function, so the developer can read its sample.

use pdp_audit::NewEvent;
use pdp_domain::operation::{
    AgreementKind, AgreementStatus, AgreementTerms, AnnouncementInput, ApplicationState, CriterionScore, ExitGround,
    FieldRef, PointAnswer, PricingTerms, ProductInput, ProductKind, ProductStatus, ReviewPoint, ReviewStage,
    ScenarioInput, SelectionStatus, SourceUse, UseKind, logs_kept_until, score_candidate, split,
};
use pdp_lake::Lake;
use pdp_storage::{
    Agreement, AgreementChange, Candidate, EntryVersion, ExitEffects, NewAgreement, NewExit, NewProduct,
    NewScenarioApplication, OpCatalogItem, OpCatalogStatus, Product, ReviewStep, ReviewedPoint, Sale,
    ScenarioApplication, Storage,
};
use time::{Date, Duration};

fn ev(actor: &str, action: &str) -> NewEvent {
    NewEvent { actor: actor.into(), ..NewEvent::system(action, "") }
}

fn terms(catalog: Vec<i64>, products: Vec<ProductKind>, pricing: PricingTerms) -> AgreementTerms {
    AgreementTerms {
        scope: "市场主体登记数据的加工处理、模型训练与产品开发".into(),
        catalog,
        products,
        disclosure: "每季度在授权运营平台公开产品和服务清单、数据使用情况".into(),
        evaluation: "运营合规、创新能力、开发主体培育、产品发布与交易".into(),
        security: "网络安全等级保护三级；商用密码应用安全性评估；数据不出域".into(),
        rights_duties: "公共数据权属不变；收益按协议分配；违约限期整改直至取消授权".into(),
        pricing,
    }
}

/// What the demo's operation holds.
#[derive(Debug, Default)]
pub struct OperationReport {
    pub agreements: usize,
    pub applications: usize,
    pub products: usize,
    pub sales: usize,
}

/// Seeds authorized operation on the demo city. `developers` are the three development
/// entities, the first the `developer` account's; of the market supervision bureau's
/// `entries`, the first two are operated and the third marked not operable; `unproposed` are
/// in the operation agreement but not yet asked for.
#[allow(clippy::too_many_arguments)]
pub async fn seed(
    storage: &dyn Storage,
    lake: &Lake,
    authority: i64,
    operator: i64,
    developers: [i64; 3],
    entries: [&EntryVersion; 3],
    unproposed: [i64; 2],
) -> anyhow::Result<OperationReport> {
    let today = pdp_app::clock::today_date();
    let mut report = OperationReport::default();
    let [enterprise, licence, changes] = entries;
    let start = today - Duration::days(90);
    // The operator was selected before its agreement (R-OPS-02): the announcement, two
    // candidates scored on every criterion, the result under notice, concluded.
    let criteria = vec![
        "经营状况良好，财务管理制度健全，无严重失信行为记录".to_string(),
        "具备等保三级的系统开发和运维能力，落实数据安全负责人".to_string(),
        "近3年未发生重大网络安全或数据安全事件".to_string(),
    ];
    let selection = storage
        .create_selection(
            AnnouncementInput {
                title: "临江市公共数据授权运营主体遴选公告".into(),
                scope: "市级公共数据授权运营：平台建设、数据加工处理、开发利用管理、市场生态培育和安全保障".into(),
                criteria: criteria.clone(),
                apply_by: start - Duration::days(60),
                term_starts_on: start,
                term_ends_on: pdp_domain::operation::last_allowed_day(start),
                objection_working_days: 5,
            },
            "reviewer",
            ev("reviewer", "operation.selection.announce"),
        )
        .await?;
    for (org, scores) in [(operator, [92, 88, 95]), (developers[1], [75, 55, 90])] {
        let mut c = storage
            .add_candidate(
                Candidate {
                    id: 0,
                    selection_id: selection.id,
                    org_id: org,
                    applied_by: "demo".into(),
                    materials: criteria.iter().map(|c| format!("已提交证明材料：{c}")).collect(),
                    scores: Vec::new(),
                    total: None,
                    qualified: None,
                    reviewed_by: String::new(),
                    created_at_micros: 0,
                },
                ev("demo", "operation.selection.apply"),
            )
            .await?;
        c.scores = scores
            .iter()
            .enumerate()
            .map(|(i, s)| CriterionScore {
                criterion: i, score: *s, reason: "按申报材料和核查结果评分".into()
            })
            .collect();
        let (total, qualified) = score_candidate(criteria.len(), &c.scores).map_err(|v| anyhow::anyhow!("{v:?}"))?;
        c.total = Some(i64::from(total));
        c.qualified = Some(qualified);
        c.reviewed_by = "reviewer".into();
        storage.score_candidate(&c, ev("reviewer", "operation.selection.score")).await?;
    }
    let mut s = selection;
    s.status = SelectionStatus::Concluded;
    s.winner_org_id = Some(operator);
    s.result_note = "综合评分最高且各项条件合格；公示期内无异议".into();
    s.objection_ends_on = Some(start - Duration::days(20));
    storage.update_selection(&s, ev("reviewer", "operation.selection.conclude")).await?;

    let op = storage
        .create_agreement(
            NewAgreement {
                kind: AgreementKind::Operation,
                grantor_org_id: authority,
                party_org_id: operator,
                parent_id: None,
                renews_id: None,
                selection_id: Some(s.id),
                status: AgreementStatus::InForce,
                starts_on: start,
                ends_on: pdp_domain::operation::last_allowed_day(start),
                // Two entries of the agreement are not in the operation resource catalog yet:
                // the operator has still to ask for them.
                terms: terms(
                    vec![enterprise.entry_id, licence.entry_id, changes.entry_id, unproposed[0], unproposed[1]],
                    vec![ProductKind::Api, ProductKind::Report, ProductKind::Model, ProductKind::Dataset],
                    PricingTerms {
                        max_markup_bp: 3000,
                        price_cap_fen: 500_000,
                        public_share_bp: 1000,
                        operator_share_bp: 0,
                        welfare_conditions: "用于政务服务、公益研究、教学等非营利用途".into(),
                    },
                ),
                created_by: "reviewer".into(),
            },
            ev("reviewer", "operation.agreement.sign"),
        )
        .await?;
    report.agreements += 1;

    // The operation resource catalog: two entries confirmed and in the development catalog;
    // the change records marked not operable by their sector, with the basis.
    for (e, status, basis, development, by) in [
        (enterprise, OpCatalogStatus::Confirmed, "经数据主管部门审议同意", true, "reviewer"),
        (licence, OpCatalogStatus::Confirmed, "经数据主管部门审议同意", true, "reviewer"),
        (
            changes,
            OpCatalogStatus::NotOperable,
            "《企业信息公示暂行条例》：变更登记中的自然人信息不得授权运营",
            false,
            "approver",
        ),
    ] {
        let item = OpCatalogItem {
            entry_id: e.entry_id,
            status,
            basis: basis.into(),
            development,
            proposed_by: "operator".into(),
            decided_by: by.into(),
            updated_at_micros: 0,
        };
        storage.put_op_catalog(&item, operator, ev(by, "operation.catalog.decide")).await?;
    }

    let dev_terms = |share: u32| {
        terms(
            vec![enterprise.entry_id, licence.entry_id],
            vec![ProductKind::Api, ProductKind::Report],
            PricingTerms {
                max_markup_bp: 2000,
                price_cap_fen: 200_000,
                public_share_bp: 0,
                operator_share_bp: share,
                welfare_conditions: String::new(),
            },
        )
    };
    let mut devs: Vec<Agreement> = Vec::new();
    for (i, org) in developers.iter().enumerate() {
        let a = storage
            .create_agreement(
                NewAgreement {
                    kind: AgreementKind::Development,
                    grantor_org_id: operator,
                    party_org_id: *org,
                    parent_id: Some(op.id),
                    renews_id: None,
                    selection_id: None,
                    status: AgreementStatus::InForce,
                    starts_on: start + Duration::days(10 * i as i64),
                    ends_on: start + Duration::days(10 * i as i64 + 730),
                    terms: dev_terms(2000),
                    created_by: "operator".into(),
                },
                ev("operator", "operation.agreement.sign"),
            )
            .await?;
        report.agreements += 1;
        devs.push(a);
    }

    // The first developer's applications, one in each state.
    let enterprise_fields: Vec<String> = enterprise.body.fields.iter().take(3).map(|f| f.name.clone()).collect();
    let licence_fields: Vec<String> = licence.body.fields.iter().take(2).map(|f| f.name.clone()).collect();
    let input = |scenario: &str, entry: &EntryVersion, fields: &[String], from: Date, to: Date| ScenarioInput {
        scenario: scenario.into(),
        purpose: "评估小微企业经营稳定性，辅助授信审批".into(),
        scope: "合作金融机构的授信审批环节".into(),
        safeguards: "仅在授权运营域内计算；输出为评分，不含原始记录；操作全程留痕".into(),
        fields: fields.iter().map(|f| FieldRef { entry_id: entry.entry_id, field: f.clone() }).collect(),
        starts_on: from,
        ends_on: to,
    };
    let chain = vec![ReviewStage::Operator, ReviewStage::Provider, ReviewStage::Authority];
    let step = |stage: ReviewStage, org: i64, by: &str, approved: bool, reason: &str| ReviewStep {
        stage,
        org_id: org,
        approved,
        by: by.into(),
        reason: reason.into(),
        at_micros: pdp_app::clock::now_micros(),
    };
    let provider = enterprise.org_id;
    let all_three = || {
        vec![
            step(ReviewStage::Operator, operator, "operator", true, "符合正当、必要原则"),
            step(ReviewStage::Provider, provider, "approver", true, "同意提供所列信息项"),
            step(ReviewStage::Authority, authority, "reviewer", true, "同意"),
        ]
    };
    let dev1 = &devs[0];
    let plans: Vec<(ScenarioInput, ApplicationState, Option<ReviewStage>, Vec<ReviewStep>)> = vec![
        (
            input("小微企业信贷风控", enterprise, &enterprise_fields, today, today + Duration::days(180)),
            ApplicationState::Approved,
            None,
            all_three(),
        ),
        (
            input("营业执照核验服务", licence, &licence_fields, today, today + Duration::days(90)),
            ApplicationState::UnderReview,
            Some(ReviewStage::Operator),
            vec![],
        ),
        (
            input("商圈活力分析", enterprise, &enterprise_fields[..1], today, today + Duration::days(60)),
            ApplicationState::UnderReview,
            Some(ReviewStage::Provider),
            vec![step(ReviewStage::Operator, operator, "operator", true, "符合正当、必要原则")],
        ),
        (
            input("招商选址推荐", enterprise, &enterprise_fields[..2], today, today + Duration::days(60)),
            ApplicationState::UnderReview,
            Some(ReviewStage::Authority),
            vec![
                step(ReviewStage::Operator, operator, "operator", true, "符合正当、必要原则"),
                step(ReviewStage::Provider, provider, "approver", true, "同意"),
            ],
        ),
        (
            input("企业主个人画像", enterprise, &enterprise_fields, today, today + Duration::days(30)),
            ApplicationState::Rejected,
            None,
            vec![step(ReviewStage::Operator, operator, "operator", false, "超出必要范围：不得对自然人画像")],
        ),
        (
            input(
                "季度经营指数（试点）",
                enterprise,
                &enterprise_fields[..1],
                today - Duration::days(80),
                today - Duration::days(20),
            ),
            ApplicationState::Expired,
            None,
            all_three(),
        ),
    ];
    let mut approved: Option<ScenarioApplication> = None;
    for (input, state, stage, steps) in plans {
        let mut a = storage
            .create_op_application(
                NewScenarioApplication {
                    developer_org_id: dev1.party_org_id,
                    agreement_id: dev1.id,
                    stages: chain.clone(),
                    due_on: today + Duration::days(7),
                    input,
                    submitted_by: "developer".into(),
                },
                ev("developer", "operation.scenario.apply"),
            )
            .await?;
        report.applications += 1;
        if state == ApplicationState::UnderReview && stage == Some(ReviewStage::Operator) {
            continue;
        }
        a.state = state;
        a.stage = stage;
        if stage.is_none() {
            a.due_on = None;
        }
        a.steps = steps;
        storage
            .update_op_application(&a, ApplicationState::UnderReview, 0, ev("demo", "operation.scenario.decide"))
            .await?;
        if state == ApplicationState::Approved {
            pdp_app::operation::open_domain(storage, lake, &a).await.map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            approved = Some(a);
        }
    }
    let approved = approved.ok_or_else(|| anyhow::anyhow!("the demo's approved application"))?;

    // The first developer's products: listed (sold twice), under review, rejected, delisted.
    let product = |name: &str, kind: ProductKind, price: i64, welfare: bool| ProductInput {
        name: name.into(),
        kind,
        purpose: "为合作金融机构提供小微企业经营稳定性评分".into(),
        applications: vec![approved.id],
        sources: vec![SourceUse { entry_id: enterprise.entry_id, data_date: today - Duration::days(1) }],
        sample_output: "{\"credit_code\": \"9135****\", \"score\": 72, \"band\": \"B\"}".into(),
        method: "在授权运营域内以脱敏样本训练评分模型，输出评分与分档，不含原始记录".into(),
        price_fen: price,
        cost_fen: price * 10 / 12,
        welfare_free: welfare,
    };
    let points = |failing: Option<ReviewPoint>| -> Vec<ReviewedPoint> {
        ReviewPoint::ALL
            .iter()
            .map(|p| ReviewedPoint {
                answer: PointAnswer {
                    point: *p,
                    passed: Some(*p) != failing,
                    evidence: if Some(*p) == failing {
                        "样例输出含法定代表人姓名和手机号，存在个人信息泄露风险".into()
                    } else {
                        "已核查开发记录和样例输出".into()
                    },
                },
                reviewer: "operator".into(),
                at_micros: pdp_app::clock::now_micros(),
            })
            .collect()
    };
    let pricing = pdp_domain::operation::effective_pricing(&op.terms.pricing, &dev1.terms.pricing);
    for (input, status, failing) in [
        (product("小微企业经营稳定性评分接口", ProductKind::Api, 1200, true), ProductStatus::Listed, None),
        (product("区县市场主体活力报告", ProductKind::Report, 60_000, false), ProductStatus::UnderReview, None),
        (
            product("企业主联系方式核验接口", ProductKind::Api, 800, false),
            ProductStatus::Rejected,
            Some(ReviewPoint::Leakage),
        ),
        (product("企业登记数据月报（旧版）", ProductKind::Report, 30_000, false), ProductStatus::Delisted, None),
    ] {
        let mut p: Product = storage
            .create_product(
                NewProduct {
                    developer_org_id: dev1.party_org_id,
                    agreement_id: dev1.id,
                    input,
                    submitted_by: "developer".into(),
                },
                ev("developer", "operation.product.submit"),
            )
            .await?;
        report.products += 1;
        if status == ProductStatus::UnderReview {
            continue;
        }
        p.review = points(failing);
        p.status = if status == ProductStatus::Delisted { ProductStatus::Listed } else { status };
        p.listed_at_micros = (p.status == ProductStatus::Listed).then(pdp_app::clock::now_micros);
        if status == ProductStatus::Rejected {
            p.status_reason = "无个人信息和商业秘密泄露、滥用风险：样例输出含法定代表人姓名和手机号".into();
        }
        storage.update_product(&p, ProductStatus::UnderReview, ev("operator", "operation.product.review")).await?;
        if status == ProductStatus::Delisted {
            p.status = ProductStatus::Delisted;
            p.status_reason = "被新版月报取代".into();
            storage.update_product(&p, ProductStatus::Listed, ev("operator", "operation.product.delist")).await?;
        }
        if status == ProductStatus::Listed {
            for (buyer, use_kind, days) in [
                ("临江农村商业银行股份有限公司", UseKind::Industrial, 12),
                ("临江大学经济学院", UseKind::PublicWelfare, 3),
            ] {
                let price = pdp_domain::operation::price_for(use_kind, p.input.price_fen, p.input.welfare_free)
                    .unwrap_or(p.input.price_fen);
                let s = split(price, pricing.public_share_bp, pricing.operator_share_bp);
                storage
                    .record_sale(
                        Sale {
                            id: 0,
                            product_id: p.id,
                            developer_org_id: p.developer_org_id,
                            buyer: buyer.into(),
                            buyer_credit_code: String::new(),
                            use_kind,
                            price_fen: price,
                            public_fen: s.public_fen,
                            operator_fen: s.operator_fen,
                            developer_fen: s.developer_fen,
                            sold_on: today - Duration::days(days),
                            recorded_by: "operator".into(),
                            created_at_micros: 0,
                        },
                        ev("operator", "operation.sale.record"),
                    )
                    .await?;
                report.sales += 1;
            }
        }
    }

    // The second developer is suspended.
    storage
        .change_agreement(
            AgreementChange {
                id: devs[1].id,
                from: AgreementStatus::InForce,
                to: AgreementStatus::Suspended,
                reason: "未按要求每半年反馈数据开发利用情况，暂停授权开发活动".into(),
                rectify_by: None,
                supersedes: None,
            },
            ev("operator", "operation.agreement.suspend"),
        )
        .await?;

    // The third developer left: its application closed, its product delisted, its agreement
    // ended, its logs kept six months.
    let dev3 = &devs[2];
    let a3 = storage
        .create_op_application(
            NewScenarioApplication {
                developer_org_id: dev3.party_org_id,
                agreement_id: dev3.id,
                stages: chain.clone(),
                due_on: today,
                input: input("外卖商户资质核验", licence, &licence_fields, today, today + Duration::days(30)),
                submitted_by: "demo".into(),
            },
            ev("demo", "operation.scenario.apply"),
        )
        .await?;
    report.applications += 1;
    let exited_on = today - Duration::days(5);
    storage
        .record_exit(
            NewExit {
                org_id: dev3.party_org_id,
                ground: ExitGround::Requested,
                reason: "因业务调整申请提前终止授权开发协议".into(),
                decided_by: "operator".into(),
                exited_on,
                logs_kept_until: logs_kept_until(exited_on),
                effects: ExitEffects {
                    ended_agreements: vec![dev3.id],
                    closed_applications: vec![a3.id],
                    delisted_products: vec![],
                    destroyed: vec![],
                },
            },
            ev("operator", "operation.exit"),
        )
        .await?;
    Ok(report)
}
