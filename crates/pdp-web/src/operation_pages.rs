//! Pages of authorized operation (授权运营): `/operation` shows each party what waits for it
//! (the authority's selections, catalog and confirmations; the operator's reviews; a
//! developer's applications and products; a provider's confirmations), with the selection,
//! scenario application and product pages their steps are taken on, and the public product
//! catalog `/operation/products`. Every form goes through `pdp_app::operation` and
//! `pdp_app::selection`, as the JSON API does.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::HeaderMap;
use maud::{Markup, html};
use pdp_app::operation::{AgreementInput, CatalogDecision, CatalogItemOut, Overview};
use pdp_app::selection::{SelectionOut, SelectionStep};
use pdp_domain::operation::{
    AgreementAction, AgreementKind, AgreementTerms, AnnouncementInput, ApplicationState, CriterionScore,
    EvaluationKind, ExitGround, FieldRef, PointAnswer, PricingTerms, ProductInput, ProductKind, ReviewPoint,
    ReviewStage, ScenarioInput, SelectionStatus, SocialCheck, SocialOfferField, SocialOfferInput, SocialStatus,
    SourceUse,
};
use pdp_domain::roles::Permission;
use serde::Deserialize;
use time::Date;

use crate::AppState;
use crate::auth::{Principal, urlencode};
use crate::error::AppError;
use crate::extract::{Form, Path};
use crate::i18n::Lang;
use crate::layout::{Flash, Page, csrf, fmt_time, notice, page, see_other};

type S = State<Arc<AppState>>;
type P = Extension<Principal>;

fn bad_date(field: &str) -> AppError {
    AppError::bad_request(
        "date_invalid",
        format!("“{field}”须为 YYYY-MM-DD 格式的日期"),
        format!("{field} must be a date written YYYY-MM-DD"),
    )
}

fn date(field: &str, s: &str) -> Result<Date, AppError> {
    Date::parse(s.trim(), pdp_domain::calendar::ISO_DATE).map_err(|_| bad_date(field))
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

fn badge(zh: &str, en: &str, lang: Lang) -> Markup {
    html! { span.badge { (lang.t(zh, en)) } }
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

// ---------------------------------------------------------------- overview

/// `GET /operation`: what waits for the caller, by its part in authorized operation.
pub async fn overview(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    axum::extract::Query(f): axum::extract::Query<Flash>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let o = pdp_app::operation::overview(&state, &p).await?;
    let selections = pdp_app::selection::selections(&state, Some(&p)).await?;
    let catalog = pdp_app::operation::catalog(&state, &p).await.unwrap_or_default();
    let evaluations = pdp_app::selection::evaluations(&state, &p).await.unwrap_or_default();
    let offers = pdp_app::fusion::offers(&state, &p).await.unwrap_or_default();
    let entities = pdp_app::operation::development_entities(&state, &p).await.unwrap_or_default();
    let names = pdp_app::operation::org_names(&state).await?;
    let today = pdp_app::clock::today_date();
    page(
        lang,
        Some(&p),
        "/operation",
        lang.t("授权运营", "Authorized operation"),
        html! {
            (notice(f.ok.as_deref(), lang))
            p { (lang.t("原始数据不出域、数据可用不可见：数据主管部门遴选并授权运营主体，运营主体授权开发主体，开发主体按“一场景一清单一审核”申请数据，产品经六项审核后上架。",
                "Raw data never leaves the domain: the authority selects and authorizes the operator, the operator admits developers, developers apply per scenario for one list, and products are listed after a six-point review.")) " "
                a href="/operation/products" { (lang.t("产品和服务目录", "Product catalog")) } }
            p #waiting { (lang.t("待办：", "Waiting for you: ")) strong { (o.waiting) } }
            (selections_section(lang, &p, &o, &selections, today))
            (agreements_section(lang, &p, &o))
            @if o.role == "operator" { (development_form(lang, &p, &o, &catalog, &entities, today)) }
            @if o.role == "authority" || o.role == "operator" || o.role == "provider" { (catalog_section(lang, &p, &o, &catalog)) }
            (scenarios_section(lang, &o))
            @if o.role == "developer" { (apply_form(lang, &p, &o, &catalog, today)) }
            (products_section(lang, &p, &o))
            @if o.role != "provider" && o.role != "none" { (social_section(lang, &p, &o, &offers, &names)) }
            @if o.role != "provider" && o.role != "none" { (evaluations_section(lang, &p, &o, &evaluations, &names, today)) }
        },
    )
}

fn selections_section(lang: Lang, p: &Principal, o: &Overview, selections: &[SelectionOut], today: Date) -> Markup {
    let current = o
        .agreements
        .iter()
        .filter(|a| a.agreement.kind == AgreementKind::Operation && !a.agreement.status.is_final())
        .map(|a| a.agreement.ends_on)
        .max();
    let starts = current.and_then(|d| d.next_day()).unwrap_or(today + time::Duration::days(60));
    let ends = pdp_domain::operation::last_allowed_day(starts);
    html! {
        section.card #selections {
            h2 { (lang.t("运营主体遴选", "Selection of the operator")) }
            table { thead { tr { th { (lang.t("公告", "Announcement")) } th { (lang.t("状态", "Status")) } th { (lang.t("申报截止", "Apply by")) } th { (lang.t("结果", "Result")) } } }
                tbody { @for s in selections { tr {
                    td { a href=(format!("/operation/selections/{}", s.selection.id)) { (s.selection.announcement.title) } }
                    td { (badge(s.selection.status.label_zh(), s.selection.status.label_en(), lang)) }
                    td { (s.selection.announcement.apply_by) }
                    td { @if let Some(w) = &s.winner { (w) } }
                } } }
            }
            @if o.role == "authority" {
                details #announce { summary { (lang.t("发布遴选公告", "Publish an announcement")) }
                    form #announce-form method="post" action="/operation/selections" {
                        (csrf(p))
                        label { (lang.t("标题", "Title")) input name="title" required maxlength="200"; }
                        label { (lang.t("授权范围", "Scope")) textarea name="scope" required {} }
                        label { (lang.t("申报条件（每行一项）", "Qualification criteria (one a line)")) textarea name="criteria" required rows="4" {
                            "经营状况良好，财务管理制度健全，无严重失信行为记录\n具备等保三级的系统开发和运维能力，落实数据安全负责人\n近3年未发生重大网络安全或数据安全事件" } }
                        label { (lang.t("申报截止日", "Apply by")) input name="apply_by" type="date" required value=((today + time::Duration::days(20)).to_string()); }
                        label { (lang.t("授权期限起", "Term from")) input name="term_starts_on" type="date" required value=(starts.to_string()); }
                        label { (lang.t("授权期限止（不超过 3 年）", "Term until (at most 3 years)")) input name="term_ends_on" type="date" required value=(ends.to_string()); }
                        label { (lang.t("结果公示期（工作日）", "Public notice (working days)")) input name="objection_working_days" type="number" min="1" max="30" value="5"; }
                        button type="submit" { (lang.t("发布", "Publish")) }
                    }
                }
            }
        }
    }
}

fn agreements_section(lang: Lang, p: &Principal, o: &Overview) -> Markup {
    let grants = |a: &pdp_app::operation::AgreementOut| {
        !a.agreement.status.is_final()
            && (o.role == "authority"
                || (o.role == "operator"
                    && a.agreement.kind == AgreementKind::Development
                    && p.org_id == Some(a.agreement.grantor_org_id)))
    };
    html! {
        section.card #agreements {
            h2 { (lang.t("授权协议", "Agreements")) }
            table { thead { tr { th { "#" } th { (lang.t("类型", "Kind")) } th { (lang.t("授权方", "Grantor")) } th { (lang.t("被授权方", "Party")) } th { (lang.t("期限", "Term")) } th { (lang.t("状态", "Status")) } th {} } }
                tbody { @for a in &o.agreements { tr {
                    td { (a.agreement.id) }
                    td { (lang.t(a.agreement.kind.label_zh(), a.agreement.kind.label_en())) }
                    td { (a.grantor) } td { (a.party) }
                    td { (a.agreement.starts_on) " – " (a.agreement.ends_on) }
                    td.agreement-status { (badge(a.agreement.status.label_zh(), a.agreement.status.label_en(), lang))
                        @if let Some(d) = a.agreement.rectify_by { " " (lang.t("整改期限", "rectify by")) " " (d) }
                        @if !a.agreement.status_reason.is_empty() { br; span.muted { (a.agreement.status_reason) } } }
                    td { @if grants(a) {
                        details { summary { (lang.t("处置", "Act")) }
                            form method="post" action=(format!("/operation/agreements/{}/act", a.agreement.id)) {
                                (csrf(p))
                                label { (lang.t("处置", "Action")) select name="action" {
                                    @for x in AgreementAction::ALL { option value=(x.as_str()) { (lang.t(x.label_zh(), x.label_en())) } } } }
                                label { (lang.t("理由", "Reason")) input name="reason" required; }
                                label { (lang.t("整改期限（责令整改时）", "Rectify by (for rectification)")) input name="rectify_by" type="date"; }
                                button type="submit" { (lang.t("执行", "Apply")) }
                            }
                            form method="post" action="/operation/incidents" {
                                (csrf(p)) input type="hidden" name="org_id" value=(a.agreement.party_org_id);
                                label { (lang.t("数据安全事件", "Security incident")) input name="description" required; }
                                button type="submit" { (lang.t("记录事件", "Record the incident")) }
                            }
                            form method="post" action="/operation/exits" {
                                (csrf(p)) input type="hidden" name="org_id" value=(a.agreement.party_org_id);
                                label { (lang.t("退出情形", "Ground")) select name="ground" {
                                    @for g in ExitGround::ALL { option value=(g.as_str()) { (lang.t(g.label_zh(), g.label_en())) } } } }
                                label { (lang.t("说明", "Reason")) input name="reason" required; }
                                button type="submit" { (lang.t("终止授权：关闭权限、下架产品、销毁域内数据", "End the authorization: close, delist, destroy")) }
                            }
                        }
                    } }
                } } }
            }
        }
    }
}

fn development_form(
    lang: Lang,
    p: &Principal,
    o: &Overview,
    catalog: &[CatalogItemOut],
    entities: &[(i64, String)],
    today: Date,
) -> Markup {
    let Some(op) = o.agreements.iter().find(|a| a.agreement.kind == AgreementKind::Operation && a.active) else {
        return html! {};
    };
    let ends = (today + time::Duration::days(365)).min(op.agreement.ends_on);
    html! {
        details.card #development { summary { (lang.t("签订授权开发协议", "Sign a development agreement")) }
            form #development-form method="post" action="/operation/agreements/development" {
                (csrf(p))
                label { (lang.t("开发主体", "Development entity")) select name="party_org_id" required {
                    @for (id, name) in entities { option value=(id) { (name) } } } }
                label { (lang.t("期限起", "From")) input name="starts_on" type="date" required value=(today.to_string()); }
                label { (lang.t("期限止（不超过授权运营协议）", "Until (within the operation agreement)")) input name="ends_on" type="date" required value=(ends.to_string()); }
                label { (lang.t("授权范围", "Scope")) textarea name="scope" required { "按应用场景开发利用授权开发目录中的数据" } }
                fieldset { legend { (lang.t("授权开发的数据资源", "Resources")) }
                    @for c in catalog.iter().filter(|c| c.item.development) {
                        label.check { input type="checkbox" name="catalog" value=(c.item.entry_id); " " (c.name) }
                    }
                }
                fieldset { legend { (lang.t("允许的产品形态", "Product kinds")) }
                    @for k in &op.agreement.terms.products { label.check { input type="checkbox" name="products" value=(k.as_str()) checked; " " (lang.t(k.label_zh(), k.label_en())) } }
                }
                label { (lang.t("安全要求", "Security")) textarea name="security" required { (op.agreement.terms.security) } }
                label { (lang.t("权利义务、收益分配与违约责任", "Rights, duties, revenue and liability")) textarea name="rights_duties" required { (op.agreement.terms.rights_duties) } }
                label { (lang.t("成本加成上限（基点）", "Markup cap (basis points)")) input name="max_markup_bp" type="number" min="0" value=(op.agreement.terms.pricing.max_markup_bp); }
                label { (lang.t("单次价格上限（分）", "Price cap (fen)")) input name="price_cap_fen" type="number" min="0" value=(op.agreement.terms.pricing.price_cap_fen); }
                label { (lang.t("运营主体收费比例（基点）", "Operator's share (basis points)")) input name="operator_share_bp" type="number" min="0" max="10000" value="2000"; }
                button type="submit" { (lang.t("签订", "Sign")) }
            }
        }
    }
}

fn social_section(
    lang: Lang,
    p: &Principal,
    o: &Overview,
    offers: &[pdp_storage::OpSocial],
    names: &BTreeMap<i64, String>,
) -> Markup {
    html! {
        section.card #social {
            h2 { (lang.t("融合开发社会数据", "Social data for fusion development")) }
            table { thead { tr { th { "#" } th { (lang.t("名称", "Name")) } th { (lang.t("开发主体", "Developer")) } th { (lang.t("来源", "Source")) } th { (lang.t("行数", "Rows")) } th { (lang.t("状态", "Status")) } th {} } }
                tbody { @for x in offers { tr {
                    td { (x.id) }
                    td { (x.input.name) }
                    td { (names.get(&x.developer_org_id).map(String::as_str).unwrap_or("")) }
                    td { (x.input.provider) " · " (x.input.source) }
                    td { (x.accepted) @if x.quarantined > 0 { " (" (lang.t("隔离", "quarantined")) " " (x.quarantined) ")" } }
                    td { (badge(x.status.label_zh(), x.status.label_en(), lang)) }
                    td { @if o.role == "operator" && x.status == SocialStatus::UnderReview {
                        form method="post" action=(format!("/operation/social/{}/review", x.id)) {
                            (csrf(p))
                            @for c in SocialCheck::ALL {
                                label.check { input type="checkbox" name=(format!("passed_{}", c.as_str())) value="true"; " " (lang.t(c.label_zh(), c.label_en())) }
                                label { (lang.t("依据", "Evidence")) input name=(format!("evidence_{}", c.as_str())) required; }
                            }
                            button type="submit" { (lang.t("审核", "Review")) }
                        }
                    } }
                } } }
            }
            @if o.role == "developer" {
                details { summary { (lang.t("申请导入社会数据", "Offer social data")) }
                    form #social-form method="post" action="/operation/social" enctype="multipart/form-data" {
                        input type="hidden" name="csrf" value=(p.csrf());
                        label { (lang.t("名称", "Name")) input name="name" required; }
                        label { (lang.t("摘要", "Summary")) textarea name="summary" required {} }
                        label { (lang.t("数据提供方", "Provider")) input name="provider" required; }
                        label { (lang.t("获取方式", "How it was obtained")) input name="source" required; }
                        label { (lang.t("合法性依据", "Legal basis")) input name="legal_basis" required; }
                        label.check { input type="checkbox" name="personal" value="true"; " " (lang.t("含个人信息", "Holds personal information")) }
                        label { (lang.t("个人信息授权同意情况", "Consent")) input name="consent"; }
                        label { (lang.t("信息项（每行：name,中文名）", "Fields (one a line: name,label)")) textarea name="fields" required {} }
                        label { (lang.t("数据文件（CSV、XLSX、JSON Lines、Parquet）", "File (CSV, XLSX, JSON Lines, Parquet)")) input type="file" name="file" required; }
                        button type="submit" { (lang.t("提交", "Submit")) }
                    }
                }
            }
        }
    }
}

fn evaluations_section(
    lang: Lang,
    p: &Principal,
    o: &Overview,
    evaluations: &[pdp_storage::Evaluation],
    names: &BTreeMap<i64, String>,
    today: Date,
) -> Markup {
    let developers: Vec<&pdp_app::operation::AgreementOut> =
        o.agreements.iter().filter(|a| a.agreement.kind == AgreementKind::Development && a.active).collect();
    let operator = o.agreements.iter().find(|a| a.agreement.kind == AgreementKind::Operation && a.active);
    html! {
        section.card #evaluations {
            h2 { (lang.t("评估评价", "Evaluations")) }
            table { thead { tr { th { (lang.t("对象", "Of")) } th { (lang.t("类型", "Kind")) } th { (lang.t("期间", "Period")) } th { (lang.t("平台记录得分", "Records")) } th { (lang.t("评价人评分", "Judgement")) } th { (lang.t("总分", "Total")) } th { (lang.t("评价人", "By")) } } }
                tbody { @for e in evaluations { tr {
                    td { (names.get(&e.org_id).map(String::as_str).unwrap_or("")) }
                    td { (lang.t(e.kind.label_zh(), e.kind.label_en())) }
                    td { (e.period_start) " – " (e.period_end) }
                    td { (e.facts_score) } td { (e.judgement) }
                    td { (e.total) " " @if e.passed { (lang.t("合格", "passed")) } @else { (lang.t("不合格", "failed")) } }
                    td { (e.evaluator) }
                } } }
            }
            @if o.role == "operator" || o.role == "authority" {
                form #evaluation-form method="post" action="/operation/evaluations" {
                    (csrf(p))
                    @if o.role == "operator" {
                        label { (lang.t("评估对象", "Of")) select name="target" {
                            @for a in &developers { option value=(format!("developer:{}", a.agreement.party_org_id)) { (a.party) " · " (lang.t("半年度评估", "half-yearly")) } }
                            @if let Some(op) = operator { option value=(format!("operator_report:{}", op.agreement.party_org_id)) { (op.party) " · " (lang.t("年度运营报告", "yearly report")) } }
                        } }
                    } @else if let Some(op) = operator {
                        input type="hidden" name="target" value=(format!("authority:{}", op.agreement.party_org_id));
                        p { (lang.t("评价运营主体：", "Evaluate the operator: ")) (op.party) }
                    }
                    label { (lang.t("期间起", "From")) input name="period_start" type="date" required value=((today - time::Duration::days(182)).to_string()); }
                    label { (lang.t("期间止", "Until")) input name="period_end" type="date" required value=(today.to_string()); }
                    label { (lang.t("评价人评分（0–100）", "Judgement (0 to 100)")) input name="judgement" type="number" min="0" max="100" required; }
                    label { (lang.t("评价意见", "Comments")) textarea name="comments" required {} }
                    button type="submit" { (lang.t("记录评价", "Record")) }
                }
            }
        }
    }
}

fn catalog_section(lang: Lang, p: &Principal, o: &Overview, catalog: &[CatalogItemOut]) -> Markup {
    html! {
        section.card #op-catalog {
            h2 { (lang.t("授权运营数据资源目录", "Operation resource catalog")) }
            table { thead { tr { th { (lang.t("资源", "Resource")) } th { (lang.t("提供单位", "Provider")) } th { (lang.t("状态", "Status")) } th { (lang.t("授权开发目录", "Development catalog")) } th {} } }
                tbody { @for c in catalog { tr {
                    td { (c.name) br; span.mono.muted { (c.code) } }
                    td { (c.provider) }
                    td { (badge(c.item.status.label_zh(), c.item.status.label_en(), lang)) @if !c.item.basis.is_empty() { br; span.muted { (c.item.basis) } } }
                    td { @if c.item.development { "✓" } }
                    td {
                        @if o.role == "authority" && c.item.status == pdp_storage::OpCatalogStatus::Proposed {
                            form method="post" action=(format!("/operation/catalog/{}/confirm", c.item.entry_id)) {
                                (csrf(p)) input type="hidden" name="note" value="经数据主管部门审议同意";
                                button type="submit" { (lang.t("确认", "Confirm")) }
                            }
                        }
                        @if (o.role == "authority" || (o.role == "provider" && p.org_id == Some(c.provider_org_id))) && c.item.status != pdp_storage::OpCatalogStatus::NotOperable {
                            form method="post" action=(format!("/operation/catalog/{}/not-operable", c.item.entry_id)) {
                                (csrf(p)) label { (lang.t("不予运营的依据", "Legal basis")) input name="basis" required; }
                                button type="submit" { (lang.t("标识不予运营", "Mark not operable")) }
                            }
                        }
                    }
                } } }
            }
        }
    }
}

fn scenarios_section(lang: Lang, o: &Overview) -> Markup {
    html! {
        section.card #scenarios {
            h2 { (lang.t("场景数据申请", "Scenario applications")) }
            table { thead { tr { th { "#" } th { (lang.t("场景", "Scenario")) } th { (lang.t("开发主体", "Developer")) } th { (lang.t("状态", "Status")) } th { (lang.t("当前环节", "Stage")) } th { (lang.t("期限", "Period")) } } }
                tbody { @for s in &o.scenarios { tr {
                    td { (s.application.id) }
                    td { a href=(format!("/operation/scenarios/{}", s.application.id)) { (s.application.input.scenario) } }
                    td { (s.developer) }
                    td { (badge(s.application.state.label_zh(), s.application.state.label_en(), lang)) }
                    td { @if let Some(st) = s.application.stage { (lang.t(st.label_zh(), st.label_en())) @if let Some(d) = s.application.due_on { " · " (d) } } }
                    td { (s.application.input.starts_on) " – " (s.application.input.ends_on) }
                } } }
            }
        }
    }
}

fn apply_form(lang: Lang, p: &Principal, o: &Overview, catalog: &[CatalogItemOut], today: Date) -> Markup {
    let mine = o.agreements.iter().find(|a| a.agreement.kind == AgreementKind::Development && a.active);
    html! {
        section.card #apply {
            h2 { (lang.t("申请场景数据（一场景一清单一审核）", "Apply for a scenario (one scenario, one list, one review)")) }
            @if let Some(a) = mine {
                form #scenario-form method="post" action="/operation/scenarios" {
                    (csrf(p))
                    label { (lang.t("应用场景", "Scenario")) input name="scenario" required maxlength="200"; }
                    label { (lang.t("使用目的", "Purpose")) textarea name="purpose" required {} }
                    label { (lang.t("使用范围", "Scope of use")) textarea name="scope" required {} }
                    label { (lang.t("安全防护措施", "Safeguards")) textarea name="safeguards" required {} }
                    fieldset { legend { (lang.t("所需信息项（只申请场景必需的）", "Fields needed (only what the scenario needs)")) }
                        @for c in catalog { @if a.agreement.terms.catalog.contains(&c.item.entry_id) {
                            p { strong { (c.name) } " " span.mono.muted { (c.code) } }
                            @for (name, label) in &c.fields {
                                label.check { input type="checkbox" name="fields" value=(format!("{}:{name}", c.item.entry_id)); " " (label) " " span.mono.muted { (name) } }
                            }
                        } }
                    }
                    label { (lang.t("使用期限起", "From")) input name="starts_on" type="date" required value=(today.to_string()); }
                    label { (lang.t("使用期限止", "Until")) input name="ends_on" type="date" required value=((today + time::Duration::days(90)).min(a.agreement.ends_on).to_string()); }
                    button type="submit" { (lang.t("提交申请", "Submit")) }
                }
            } @else {
                p.muted { (lang.t("本单位没有生效的授权开发协议。", "Your organisation has no development agreement in force.")) }
            }
        }
    }
}

fn products_section(lang: Lang, p: &Principal, o: &Overview) -> Markup {
    let approved: Vec<_> =
        o.scenarios.iter().filter(|s| s.application.state == ApplicationState::Approved && s.open).collect();
    html! {
        section.card #products {
            h2 { (lang.t("数据产品和服务", "Products and services")) }
            table { thead { tr { th { "#" } th { (lang.t("名称", "Name")) } th { (lang.t("开发主体", "Developer")) } th { (lang.t("形态", "Kind")) } th { (lang.t("价格（元）", "Price (yuan)")) } th { (lang.t("状态", "Status")) } } }
                tbody { @for pr in &o.products { tr {
                    td { (pr.product.id) }
                    td { a href=(format!("/operation/products/{}", pr.product.id)) { (pr.product.input.name) } }
                    td { (pr.developer) }
                    td { (lang.t(pr.product.input.kind.label_zh(), pr.product.input.kind.label_en())) }
                    td { (yuan(pr.product.input.price_fen)) }
                    td { (badge(pr.product.status.label_zh(), pr.product.status.label_en(), lang)) }
                } } }
            }
            @if o.role == "developer" && !approved.is_empty() {
                details #submit-product { summary { (lang.t("提交产品发布申请", "Submit a product")) }
                    form #product-form method="post" action="/operation/products/new" {
                        (csrf(p))
                        label { (lang.t("产品名称", "Name")) input name="name" required maxlength="200"; }
                        label { (lang.t("形态", "Kind")) select name="kind" { @for k in ProductKind::ALL { option value=(k.as_str()) { (lang.t(k.label_zh(), k.label_en())) } } } }
                        label { (lang.t("用途", "Purpose")) textarea name="purpose" required {} }
                        label { (lang.t("所依据的数据申请", "Made under the application")) select name="application" {
                            @for s in &approved { option value=(s.application.id) { "#" (s.application.id) " " (s.application.input.scenario) } }
                        } }
                        label { (lang.t("所用数据的日期", "Date of the data used")) input name="data_date" type="date" required value=(pdp_app::clock::today_date().to_string()); }
                        label { (lang.t("样例输出", "Sample output")) textarea name="sample_output" required {} }
                        label { (lang.t("开发方法", "How it was made")) textarea name="method" required {} }
                        label { (lang.t("单次产业使用价格（分）", "Price of one industrial use (fen)")) input name="price_fen" type="number" min="1" required; }
                        label { (lang.t("单次成本（分）", "Cost of one use (fen)")) input name="cost_fen" type="number" min="0" required; }
                        label.check { input type="checkbox" name="welfare_free" value="true"; " " (lang.t("公益使用免费（按协议约定的条件）", "Free for public-welfare use (on the agreement's conditions)")) }
                        button type="submit" { (lang.t("提交审核", "Submit for review")) }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- selections

#[derive(Debug, Deserialize)]
pub struct AnnounceForm {
    title: String,
    scope: String,
    criteria: String,
    apply_by: String,
    term_starts_on: String,
    term_ends_on: String,
    objection_working_days: u32,
}

/// `POST /operation/selections`: the authority's announcement.
pub async fn announce(State(state): S, Extension(p): P, Form(f): Form<AnnounceForm>) -> Page {
    let input = AnnouncementInput {
        title: f.title,
        scope: f.scope,
        criteria: lines(&f.criteria),
        apply_by: date("apply_by", &f.apply_by)?,
        term_starts_on: date("term_starts_on", &f.term_starts_on)?,
        term_ends_on: date("term_ends_on", &f.term_ends_on)?,
        objection_working_days: f.objection_working_days,
    };
    let s = pdp_app::selection::announce(&state, &p, &input).await?;
    see_other(&format!("/operation/selections/{}", s.selection.id))
}

/// `GET /operation/selections/{id}`: the announcement, candidates and the step the caller may
/// take.
pub async fn selection_page(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    axum::extract::Query(f): axum::extract::Query<Flash>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let s = pdp_app::selection::selection_of(&state, Some(&p), id).await?;
    let authority = pdp_app::operation::role_of(&state, &p).await == "authority";
    let a = &s.selection.announcement;
    let status = s.selection.status;
    let signed =
        pdp_app::operation::agreements(&state, &p).await?.into_iter().any(|x| x.agreement.selection_id == Some(id));
    let published = if authority && status == SelectionStatus::Concluded && !signed {
        pdp_app::operation::authorizable_entries(&state, &p).await?
    } else {
        Vec::new()
    };
    let current = pdp_app::operation::agreements(&state, &p)
        .await?
        .into_iter()
        .filter(|x| x.agreement.kind == AgreementKind::Operation)
        .max_by_key(|x| x.agreement.id)
        .map(|x| x.agreement.terms);
    let terms = current.unwrap_or_else(|| AgreementTerms { scope: a.scope.clone(), ..Default::default() });
    page(
        lang,
        Some(&p),
        "/operation",
        &a.title,
        html! {
            (notice(f.ok.as_deref(), lang))
            p { a href="/operation" { "← " (lang.t("授权运营", "Authorized operation")) } }
            p #selection-status { (badge(status.label_zh(), status.label_en(), lang))
                " " (lang.t("申报截止", "apply by")) " " (a.apply_by)
                " · " (lang.t("授权期限", "term")) " " (a.term_starts_on) " – " (a.term_ends_on)
                @if let Some(d) = s.selection.objection_ends_on { " · " (lang.t("公示至", "notice until")) " " (d) } }
            p { (a.scope) }
            h2 { (lang.t("申报条件", "Qualification criteria")) }
            ol { @for c in &a.criteria { li { (c) } } }
            @if let Some(w) = &s.winner { p #winner { (lang.t("确定的运营主体：", "Selected operator: ")) strong { (w) } " · " (s.selection.result_note) } }
            @if status == SelectionStatus::Open && p.allows(Permission::RunOperation) && !s.candidates.iter().any(|c| Some(c.candidate.org_id) == p.org_id) {
                section.card { h2 { (lang.t("申报", "Apply")) }
                    form #selection-apply method="post" action=(format!("/operation/selections/{id}/apply")) {
                        (csrf(&p))
                        @for (i, c) in a.criteria.iter().enumerate() {
                            label { (i + 1) ". " (c) textarea name="materials" required {} }
                        }
                        button type="submit" { (lang.t("提交申报", "Apply")) }
                    }
                }
            }
            h2 { (lang.t("申报单位", "Candidates")) }
            table #candidates { thead { tr { th { (lang.t("单位", "Organisation")) } th { (lang.t("总分", "Total")) } th { (lang.t("合格", "Qualified")) } th { (lang.t("评分及理由", "Scores and reasons")) } } }
                tbody { @for c in &s.candidates { tr {
                    td { (c.organisation) }
                    td.total { @if let Some(t) = c.candidate.total { (t) } }
                    td { @match c.candidate.qualified { Some(true) => { "✓" } Some(false) => { "✗" } None => {} } }
                    td {
                        @for sc in &c.candidate.scores { div { (sc.criterion + 1) ". " (sc.score) " — " (sc.reason) } }
                        @if authority && status == SelectionStatus::Reviewing {
                            form.score-form method="post" action=(format!("/operation/selections/{id}/step")) {
                                (csrf(&p)) input type="hidden" name="step" value="score"; input type="hidden" name="candidate_id" value=(c.candidate.id);
                                @for (i, crit) in a.criteria.iter().enumerate() {
                                    div { label { (i + 1) ". " (crit) " " (lang.t("材料：", "statement: ")) (c.candidate.materials.get(i).map(String::as_str).unwrap_or(""))
                                        input name="score" type="number" min="0" max="100" required aria-label=(lang.t("评分", "Score")); }
                                        label { (lang.t("理由", "Reason")) input name="reason" required; } }
                                }
                                button type="submit" { (lang.t("评分", "Score")) }
                            }
                        }
                    }
                } } }
            }
            @if !s.selection.objections.is_empty() {
                h2 { (lang.t("异议", "Objections")) }
                ul #objections { @for (i, o) in s.selection.objections.iter().enumerate() { li {
                    (o.reason) " — " (o.by) " " (fmt_time(o.at_micros))
                    @if !o.answer.is_empty() { br; (lang.t("答复：", "Answer: ")) (o.answer) }
                    @else if authority {
                        form method="post" action=(format!("/operation/selections/{id}/step")) {
                            (csrf(&p)) input type="hidden" name="step" value="answer"; input type="hidden" name="objection" value=(i);
                            label { (lang.t("答复", "Answer")) input name="answer" required; } button type="submit" { (lang.t("答复", "Answer")) }
                        }
                    }
                } } }
            }
            @if status == SelectionStatus::Publicized && !authority {
                form #object-form method="post" action=(format!("/operation/selections/{id}/object")) {
                    (csrf(&p)) label { (lang.t("对公示结果提出异议", "Object to the result")) input name="reason" required; }
                    button type="submit" { (lang.t("提交异议", "Object")) }
                }
            }
            @if authority {
                div #selection-steps {
                    @if status == SelectionStatus::Open {
                        (step_button(&p, id, "close", lang.t("结束申报，开始评审", "Close applications and review")))
                    }
                    @if status == SelectionStatus::Reviewing {
                        form #publish-form method="post" action=(format!("/operation/selections/{id}/step")) {
                            (csrf(&p)) input type="hidden" name="step" value="publish";
                            label { (lang.t("确定的运营主体", "Winner")) select name="winner_org_id" {
                                @for c in s.candidates.iter().filter(|c| c.candidate.qualified == Some(true)) { option value=(c.candidate.org_id) { (c.organisation) } }
                            } }
                            label { (lang.t("说明", "Note")) input name="note" required value="综合评分最高且各项条件合格"; }
                            button type="submit" { (lang.t("公示结果", "Publish the result")) }
                        }
                    }
                    @if status == SelectionStatus::Publicized {
                        (step_button(&p, id, "conclude", lang.t("公示期满，确定运营主体", "Conclude after the notice")))
                    }
                }
                @if status == SelectionStatus::Concluded && !signed {
                    @if let Some(w) = s.selection.winner_org_id {
                        (sign_form(lang, &p, id, w, a, &terms, &published))
                    }
                }
            }
        },
    )
}

fn step_button(p: &Principal, id: i64, step: &str, label: &str) -> Markup {
    html! {
        form method="post" action=(format!("/operation/selections/{id}/step")) {
            (csrf(p)) input type="hidden" name="step" value=(step);
            button type="submit" id=(format!("step-{step}")) { (label) }
        }
    }
}

fn sign_form(
    lang: Lang,
    p: &Principal,
    selection: i64,
    winner: i64,
    a: &AnnouncementInput,
    terms: &AgreementTerms,
    entries: &[pdp_storage::EntryVersion],
) -> Markup {
    let pr = &terms.pricing;
    html! {
        section.card #sign {
            h2 { (lang.t("签订授权运营协议", "Sign the operation agreement")) }
            form #sign-form method="post" action="/operation/agreements" {
                (csrf(p))
                input type="hidden" name="selection_id" value=(selection);
                input type="hidden" name="party_org_id" value=(winner);
                label { (lang.t("期限起", "From")) input name="starts_on" type="date" required value=(a.term_starts_on.to_string()); }
                label { (lang.t("期限止", "Until")) input name="ends_on" type="date" required value=(a.term_ends_on.to_string()); }
                label { (lang.t("授权范围", "Scope")) textarea name="scope" required { (terms.scope) } }
                fieldset.scroll { legend { (lang.t("授权运营的数据资源", "Resources authorized")) }
                    @for e in entries {
                        label.check { input type="checkbox" name="catalog" value=(e.entry_id) checked[terms.catalog.contains(&e.entry_id)]; " " (e.body.name) " " span.mono.muted { (e.code) } }
                    }
                }
                fieldset { legend { (lang.t("允许的产品形态", "Product kinds allowed")) }
                    @for k in ProductKind::ALL { label.check { input type="checkbox" name="products" value=(k.as_str()) checked[terms.products.is_empty() || terms.products.contains(k)]; " " (lang.t(k.label_zh(), k.label_en())) } }
                }
                label { (lang.t("信息披露要求", "Disclosure")) textarea name="disclosure" required { (terms.disclosure) } }
                label { (lang.t("成效评价标准", "Evaluation")) textarea name="evaluation" required { (terms.evaluation) } }
                label { (lang.t("安全要求", "Security")) textarea name="security" required { (terms.security) } }
                label { (lang.t("权利义务", "Rights and duties")) textarea name="rights_duties" required { (terms.rights_duties) } }
                label { (lang.t("成本加成上限（基点）", "Markup cap (basis points)")) input name="max_markup_bp" type="number" min="0" value=(pr.max_markup_bp); }
                label { (lang.t("单次价格上限（分，0 为不设）", "Price cap (fen, 0 for none)")) input name="price_cap_fen" type="number" min="0" value=(pr.price_cap_fen); }
                label { (lang.t("公共收益分成（基点）", "Public share (basis points)")) input name="public_share_bp" type="number" min="0" max="10000" value=(pr.public_share_bp); }
                label { (lang.t("公益使用免费的条件", "Conditions of free public-welfare use")) input name="welfare_conditions" value=(pr.welfare_conditions); }
                button type="submit" { (lang.t("签订", "Sign")) }
            }
        }
    }
}

/// `POST /operation/selections/{id}/apply`: a candidate's statements.
#[derive(Debug, Deserialize)]
pub struct MaterialsForm {
    #[serde(default)]
    materials: Vec<String>,
}

pub async fn apply_selection(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<MaterialsForm>,
) -> Page {
    pdp_app::selection::apply(&state, &p, id, &f.materials).await?;
    see_other(&format!("/operation/selections/{id}?ok={}", urlencode("已申报 / applied")))
}

/// The authority's step forms, one shape for all.
#[derive(Debug, Deserialize)]
pub struct StepForm {
    step: String,
    #[serde(default)]
    candidate_id: Option<i64>,
    #[serde(default)]
    score: Vec<u32>,
    #[serde(default)]
    reason: Vec<String>,
    #[serde(default)]
    winner_org_id: Option<i64>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    objection: Option<usize>,
    #[serde(default)]
    answer: String,
}

/// `POST /operation/selections/{id}/step`.
pub async fn selection_step(State(state): S, Extension(p): P, Path(id): Path<i64>, Form(f): Form<StepForm>) -> Page {
    let missing = || AppError::bad_request("step_invalid", "表单不完整", "the form is incomplete");
    let step = match f.step.as_str() {
        "close" => SelectionStep::Close,
        "conclude" => SelectionStep::Conclude,
        "score" => SelectionStep::Score {
            candidate_id: f.candidate_id.ok_or_else(missing)?,
            scores: f
                .score
                .iter()
                .zip(f.reason.iter().chain(std::iter::repeat(&String::new())))
                .enumerate()
                .map(|(i, (s, r))| CriterionScore { criterion: i, score: *s, reason: r.clone() })
                .collect(),
        },
        "publish" => SelectionStep::Publish { winner_org_id: f.winner_org_id.ok_or_else(missing)?, note: f.note },
        "answer" => SelectionStep::Answer { objection: f.objection.ok_or_else(missing)?, answer: f.answer },
        _ => return Err(missing().into()),
    };
    pdp_app::selection::step(&state, &p, id, &step).await?;
    see_other(&format!("/operation/selections/{id}?ok={}", urlencode(&f.step)))
}

#[derive(Debug, Deserialize)]
pub struct ReasonForm {
    reason: String,
}

/// `POST /operation/selections/{id}/object`.
pub async fn object(State(state): S, Extension(p): P, Path(id): Path<i64>, Form(f): Form<ReasonForm>) -> Page {
    pdp_app::selection::object(&state, &p, id, &f.reason).await?;
    see_other(&format!("/operation/selections/{id}?ok={}", urlencode("异议已提交 / objection filed")))
}

// ---------------------------------------------------------------- agreements and catalog

#[derive(Debug, Deserialize)]
pub struct SignForm {
    #[serde(default)]
    selection_id: Option<i64>,
    party_org_id: i64,
    starts_on: String,
    ends_on: String,
    scope: String,
    #[serde(default)]
    catalog: Vec<i64>,
    #[serde(default)]
    products: Vec<String>,
    #[serde(default)]
    disclosure: String,
    #[serde(default)]
    evaluation: String,
    security: String,
    rights_duties: String,
    #[serde(default)]
    max_markup_bp: u32,
    #[serde(default)]
    price_cap_fen: i64,
    #[serde(default)]
    public_share_bp: u32,
    #[serde(default)]
    operator_share_bp: u32,
    #[serde(default)]
    welfare_conditions: String,
}

/// `POST /operation/agreements`: the authority signs with a selection's winner.
pub async fn sign(State(state): S, Extension(p): P, Form(f): Form<SignForm>) -> Page {
    sign_as(&state, &p, AgreementKind::Operation, f).await
}

/// `POST /operation/agreements/development`: the operator signs with a development entity.
pub async fn sign_development(State(state): S, Extension(p): P, Form(f): Form<SignForm>) -> Page {
    sign_as(&state, &p, AgreementKind::Development, f).await
}

async fn sign_as(state: &AppState, p: &Principal, kind: AgreementKind, f: SignForm) -> Page {
    let input = AgreementInput {
        kind,
        party_org_id: f.party_org_id,
        starts_on: date("starts_on", &f.starts_on)?,
        ends_on: date("ends_on", &f.ends_on)?,
        terms: AgreementTerms {
            scope: f.scope,
            catalog: f.catalog,
            products: f.products.iter().filter_map(|k| ProductKind::parse(k)).collect(),
            disclosure: f.disclosure,
            evaluation: f.evaluation,
            security: f.security,
            rights_duties: f.rights_duties,
            pricing: PricingTerms {
                max_markup_bp: f.max_markup_bp,
                price_cap_fen: f.price_cap_fen,
                public_share_bp: f.public_share_bp,
                operator_share_bp: f.operator_share_bp,
                welfare_conditions: f.welfare_conditions,
            },
        },
        renews_id: None,
        selection_id: f.selection_id,
    };
    let a = pdp_app::operation::sign(state, p, &input).await?;
    see_other(&format!(
        "/operation?ok={}",
        urlencode(&format!("协议 #{} {}", a.agreement.id, a.agreement.status.label_zh()))
    ))
}

#[derive(Debug, Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    note: String,
    #[serde(default)]
    basis: String,
}

/// `POST /operation/catalog/{entry_id}/confirm`.
pub async fn confirm(State(state): S, Extension(p): P, Path(id): Path<i64>, Form(f): Form<NoteForm>) -> Page {
    pdp_app::operation::decide_catalog(&state, &p, id, &CatalogDecision::Confirm { note: f.note }).await?;
    see_other(&format!("/operation?ok={}", urlencode("已确认 / confirmed")))
}

/// `POST /operation/catalog/{entry_id}/not-operable`.
pub async fn not_operable(State(state): S, Extension(p): P, Path(id): Path<i64>, Form(f): Form<NoteForm>) -> Page {
    pdp_app::operation::decide_catalog(&state, &p, id, &CatalogDecision::NotOperable { basis: f.basis }).await?;
    see_other(&format!("/operation?ok={}", urlencode("已标识不予运营 / marked not operable")))
}

// ---------------------------------------------------------------- scenario applications

#[derive(Debug, Deserialize)]
pub struct ScenarioForm {
    scenario: String,
    purpose: String,
    scope: String,
    safeguards: String,
    #[serde(default)]
    fields: Vec<String>,
    starts_on: String,
    ends_on: String,
}

/// `POST /operation/scenarios`: a developer's application.
pub async fn apply(State(state): S, Extension(p): P, Form(f): Form<ScenarioForm>) -> Page {
    let fields = f
        .fields
        .iter()
        .filter_map(|v| v.split_once(':'))
        .filter_map(|(e, name)| e.parse().ok().map(|entry_id| FieldRef { entry_id, field: name.to_string() }))
        .collect();
    let input = ScenarioInput {
        scenario: f.scenario,
        purpose: f.purpose,
        scope: f.scope,
        safeguards: f.safeguards,
        fields,
        starts_on: date("starts_on", &f.starts_on)?,
        ends_on: date("ends_on", &f.ends_on)?,
    };
    let a = pdp_app::operation::apply(&state, &p, &input).await?;
    see_other(&format!("/operation/scenarios/{}?ok={}", a.application.id, urlencode("已提交 / submitted")))
}

/// `GET /operation/scenarios/{id}`: the application, its steps, the decision the caller may
/// take, and for its developer while it runs a de-identified sample of each listed entry.
pub async fn scenario_page(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    axum::extract::Query(f): axum::extract::Query<Flash>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let s = pdp_app::operation::scenario_of(&state, &p, id).await?;
    let a = &s.application;
    let role = pdp_app::operation::role_of(&state, &p).await;
    let may_decide = a.state == ApplicationState::UnderReview
        && match a.stage {
            Some(ReviewStage::Operator) => role == "operator",
            Some(ReviewStage::Authority) => role == "authority",
            Some(ReviewStage::Provider) => {
                p.allows(Permission::ApproveShare)
                    && p.org_id.is_some_and(|o| {
                        s.providers.contains(&o)
                            && !a.steps.iter().any(|st| st.org_id == o && st.stage == ReviewStage::Provider)
                    })
            }
            None => false,
        };
    let mut samples = Vec::new();
    if s.open && p.org_id == Some(a.developer_org_id) && p.allows(Permission::DevelopProducts) {
        let entries: std::collections::BTreeSet<i64> = a.input.fields.iter().map(|f| f.entry_id).collect();
        for e in entries {
            samples.push((e, pdp_app::operation::sample(&state, &p, id, e, 10).await?));
        }
    }
    let names = pdp_app::operation::org_names(&state).await?;
    page(
        lang,
        Some(&p),
        "/operation",
        &format!("{} #{}", lang.t("场景数据申请", "Scenario application"), a.id),
        html! {
            (notice(f.ok.as_deref(), lang))
            p { a href="/operation" { "← " (lang.t("授权运营", "Authorized operation")) } }
            p #scenario-status { (badge(a.state.label_zh(), a.state.label_en(), lang))
                @if let Some(st) = a.stage { " " (lang.t(st.label_zh(), st.label_en())) @if let Some(d) = a.due_on { " · " (lang.t("办理期限", "due")) " " (d) } } }
            dl {
                dt { (lang.t("开发主体", "Developer")) } dd { (s.developer) }
                dt { (lang.t("应用场景", "Scenario")) } dd { (a.input.scenario) }
                dt { (lang.t("使用目的", "Purpose")) } dd { (a.input.purpose) }
                dt { (lang.t("使用范围", "Scope")) } dd { (a.input.scope) }
                dt { (lang.t("安全防护措施", "Safeguards")) } dd { (a.input.safeguards) }
                dt { (lang.t("期限", "Period")) } dd { (a.input.starts_on) " – " (a.input.ends_on) }
                dt { (lang.t("信息项清单", "The list")) } dd { @for f in &a.input.fields { span.badge.mono { (f.entry_id) ":" (f.field) } } }
            }
            h2 { (lang.t("审核记录", "Decisions")) }
            ol #steps { @for st in &a.steps { li {
                (lang.t(st.stage.label_zh(), st.stage.label_en())) " · " (names.get(&st.org_id).map(String::as_str).unwrap_or("")) " · "
                (if st.approved { lang.t("同意", "approved") } else { lang.t("不同意", "rejected") }) " · " (st.by) " · " (st.reason) " · " (fmt_time(st.at_micros))
            } } }
            @if may_decide {
                form #decide-form method="post" action=(format!("/operation/scenarios/{id}/decision")) {
                    (csrf(&p))
                    label { (lang.t("意见", "Reason")) input name="reason" required; }
                    button type="submit" name="approve" value="true" id="approve" { (lang.t("同意", "Approve")) }
                    " " button type="submit" name="approve" value="false" id="reject" { (lang.t("不同意", "Reject")) }
                }
            }
            @for (entry, cells) in &samples {
                h2 { (lang.t("脱敏样本", "De-identified sample")) " · " (entry) }
                table.sample { thead { tr { @for c in &cells.columns { th { (c) } } } }
                    tbody { @for r in &cells.rows { tr { @for v in r { td { (v.as_deref().unwrap_or("")) } } } } } }
            }
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    approve: bool,
    reason: String,
}

/// `POST /operation/scenarios/{id}/decision`.
pub async fn decide(State(state): S, Extension(p): P, Path(id): Path<i64>, Form(f): Form<DecisionForm>) -> Page {
    let a = pdp_app::operation::decide_scenario(&state, &p, id, f.approve, &f.reason).await?;
    see_other(&format!("/operation/scenarios/{id}?ok={}", urlencode(a.application.state.label_zh())))
}

// ---------------------------------------------------------------- products

#[derive(Debug, Deserialize)]
pub struct ProductForm {
    name: String,
    kind: String,
    purpose: String,
    application: i64,
    data_date: String,
    sample_output: String,
    method: String,
    price_fen: i64,
    cost_fen: i64,
    #[serde(default)]
    welfare_free: bool,
}

/// `POST /operation/products/new`: a developer's product, its sources the entries of the
/// application it was made under.
pub async fn submit_product(State(state): S, Extension(p): P, Form(f): Form<ProductForm>) -> Page {
    let a = pdp_app::operation::scenario_of(&state, &p, f.application).await?;
    let data_date = date("data_date", &f.data_date)?;
    let entries: std::collections::BTreeSet<i64> = a.application.input.fields.iter().map(|x| x.entry_id).collect();
    let input = ProductInput {
        name: f.name,
        kind: ProductKind::parse(&f.kind).unwrap_or(ProductKind::Other),
        purpose: f.purpose,
        applications: vec![f.application],
        sources: entries.into_iter().map(|entry_id| SourceUse { entry_id, data_date }).collect(),
        sample_output: f.sample_output,
        method: f.method,
        price_fen: f.price_fen,
        cost_fen: f.cost_fen,
        welfare_free: f.welfare_free,
    };
    let out = pdp_app::operation::submit_product(&state, &p, &input).await?;
    see_other(&format!("/operation/products/{}?ok={}", out.product.id, urlencode("已提交审核 / submitted")))
}

/// `GET /operation/products/{id}`: a product with its review, and the six-point form for the
/// operator.
pub async fn product_page(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    axum::extract::Query(f): axum::extract::Query<Flash>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let pr = pdp_app::operation::products(&state, &p)
        .await?
        .into_iter()
        .find(|x| x.product.id == id)
        .ok_or_else(|| AppError::not_found(&format!("product {id}")))?;
    let role = pdp_app::operation::role_of(&state, &p).await;
    let i = &pr.product.input;
    page(
        lang,
        Some(&p),
        "/operation",
        &i.name,
        html! {
            (notice(f.ok.as_deref(), lang))
            p { a href="/operation" { "← " (lang.t("授权运营", "Authorized operation")) } }
            p #product-status { (badge(pr.product.status.label_zh(), pr.product.status.label_en(), lang)) " " (pr.product.status_reason) }
            dl {
                dt { (lang.t("开发主体", "Developer")) } dd { (pr.developer) }
                dt { (lang.t("形态", "Kind")) } dd { (lang.t(i.kind.label_zh(), i.kind.label_en())) }
                dt { (lang.t("用途", "Purpose")) } dd { (i.purpose) }
                dt { (lang.t("数据来源及日期", "Sources and dates")) } dd { @for s in &i.sources { span.badge { (s.entry_id) " · " (s.data_date) } } }
                dt { (lang.t("样例输出", "Sample output")) } dd.mono { (i.sample_output) }
                dt { (lang.t("开发方法", "Method")) } dd { (i.method) }
                dt { (lang.t("价格", "Price")) } dd { (yuan(i.price_fen)) " " (lang.t("元/次（成本", "yuan a use (cost ")) (yuan(i.cost_fen)) ")" @if i.welfare_free { " · " (lang.t("公益使用免费", "free for public welfare")) } }
            }
            @if !pr.product.review.is_empty() {
                h2 { (lang.t("六项审核", "The six-point review")) }
                ul #review { @for r in &pr.product.review { li {
                    (if r.answer.passed { "✓ " } else { "✗ " }) (r.answer.point.label_zh()) " — " (r.answer.evidence) " · " (r.reviewer)
                } } }
            }
            @if role == "operator" && pr.product.status == pdp_domain::operation::ProductStatus::UnderReview {
                form #review-form method="post" action=(format!("/operation/products/{id}/review")) {
                    (csrf(&p))
                    @for pt in ReviewPoint::ALL {
                        fieldset { legend { (lang.t(pt.label_zh(), pt.label_en())) }
                            label.check { input type="checkbox" name=(format!("passed_{}", pt.as_str())) value="true"; " " (lang.t("通过", "passes")) }
                            label { (lang.t("依据", "Evidence")) input name=(format!("evidence_{}", pt.as_str())) required; }
                        }
                    }
                    button type="submit" { (lang.t("提交审核结论", "Record the review")) }
                }
            }
        },
    )
}

/// `POST /operation/products/{id}/review`: the six points; a point whose box is not ticked
/// fails.
pub async fn review_product(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<BTreeMap<String, String>>,
) -> Page {
    let answers: Vec<PointAnswer> = ReviewPoint::ALL
        .iter()
        .map(|pt| PointAnswer {
            point: *pt,
            passed: f.get(&format!("passed_{}", pt.as_str())).is_some_and(|v| v == "true"),
            evidence: f.get(&format!("evidence_{}", pt.as_str())).cloned().unwrap_or_default(),
        })
        .collect();
    let out = pdp_app::operation::review_product(&state, &p, id, &answers).await?;
    see_other(&format!("/operation/products/{id}?ok={}", urlencode(out.product.status.label_zh())))
}

/// `GET /operation/products`: the public product and service catalog (YC 15).
pub async fn product_catalog(State(state): S, headers: HeaderMap, p: Option<P>) -> Page {
    let lang = Lang::from_headers(&headers);
    let p = p.map(|Extension(p)| p);
    let products = pdp_app::operation::product_catalog(&state).await?;
    let selections = pdp_app::selection::selections(&state, p.as_ref()).await?;
    page(
        lang,
        p.as_ref(),
        "/operation",
        lang.t("公共数据产品和服务目录", "Public data products and services"),
        html! {
            p { (lang.t("经运营主体六项审核上架的公共数据产品和服务，注明数据来源和日期；公益使用按约定条件免费，产业使用有偿。",
                "Products and services listed after the operator's six-point review, with their data sources and dates; free for public-welfare use on the stated conditions, paid for industrial use.")) }
            table #product-catalog { thead { tr { th { (lang.t("产品", "Product")) } th { (lang.t("开发主体", "Developer")) } th { (lang.t("数据来源（日期）", "Sources (date)")) } th { (lang.t("价格（元/次）", "Price (yuan a use)")) } th { (lang.t("公益使用", "Public welfare")) } } }
                tbody { @for pr in &products { tr {
                    td { strong { (pr.name) } br; span.muted { (lang.t(pr.kind.label_zh(), pr.kind.label_en())) " · " (pr.purpose) } }
                    td { (pr.developer) }
                    td { @for (name, d) in &pr.sources { div { (name) "（" (d) "）" } } }
                    td { (yuan(pr.price_fen)) }
                    td { @if pr.welfare_free { (lang.t("免费：", "free: ")) (pr.welfare_conditions) } }
                } } }
            }
            h2 { (lang.t("运营主体遴选公告与结果", "Selections of the operator")) }
            ul #public-selections { @for s in &selections { li {
                (s.selection.announcement.title) " · " (lang.t(s.selection.status.label_zh(), s.selection.status.label_en()))
                @if let Some(w) = &s.winner { " · " (lang.t("结果：", "result: ")) (w) @if let Some(d) = s.selection.objection_ends_on { " · " (lang.t("公示至", "notice until")) " " (d) } }
            } } }
        },
    )
}

// ---------------------------------------------------------------- supervision forms

#[derive(Debug, Deserialize)]
pub struct ActForm {
    action: String,
    reason: String,
    #[serde(default)]
    rectify_by: String,
}

/// `POST /operation/agreements/{id}/act`: suspend, order rectification, resume, revoke.
pub async fn act(State(state): S, Extension(p): P, Path(id): Path<i64>, Form(f): Form<ActForm>) -> Page {
    let action = AgreementAction::parse(&f.action)
        .ok_or_else(|| AppError::bad_request("action_invalid", "未知的处置", "unknown action"))?;
    let rectify_by = if f.rectify_by.trim().is_empty() { None } else { Some(date("rectify_by", &f.rectify_by)?) };
    let a = pdp_app::operation::act(&state, &p, id, action, &f.reason, rectify_by).await?;
    see_other(&format!("/operation?ok={}", urlencode(&format!("#{} {}", id, a.agreement.status.label_zh()))))
}

#[derive(Debug, Deserialize)]
pub struct ExitForm {
    org_id: i64,
    ground: String,
    reason: String,
}

/// `POST /operation/exits`: the exit procedure.
pub async fn exit(State(state): S, Extension(p): P, Form(f): Form<ExitForm>) -> Page {
    let ground = ExitGround::parse(&f.ground)
        .ok_or_else(|| AppError::bad_request("ground_invalid", "未知的退出情形", "unknown exit ground"))?;
    let input = pdp_app::operation::ExitInput { ground, reason: f.reason };
    let r = pdp_app::operation::exit(&state, &p, f.org_id, &input).await?;
    let msg = format!("已退出，销毁文件 {} 个，日志保留至 {}", r.effects.destroyed.len(), r.logs_kept_until);
    see_other(&format!("/operation?ok={}", urlencode(&msg)))
}

#[derive(Debug, Deserialize)]
pub struct EvaluationForm {
    target: String,
    period_start: String,
    period_end: String,
    judgement: u32,
    comments: String,
}

/// `POST /operation/evaluations`.
pub async fn evaluate(State(state): S, Extension(p): P, Form(f): Form<EvaluationForm>) -> Page {
    let bad = || AppError::bad_request("target_invalid", "请选择评估对象", "choose what to evaluate");
    let (kind, org) = f.target.split_once(':').ok_or_else(bad)?;
    let input = pdp_app::selection::EvaluationInput {
        org_id: org.parse().map_err(|_| bad())?,
        kind: EvaluationKind::parse(kind).ok_or_else(bad)?,
        period_start: date("period_start", &f.period_start)?,
        period_end: date("period_end", &f.period_end)?,
        judgement: f.judgement,
        comments: f.comments,
    };
    let e = pdp_app::selection::evaluate(&state, &p, &input).await?;
    see_other(&format!("/operation?ok={}", urlencode(&format!("总分 {}", e.total))))
}

/// `POST /operation/social`: a developer's offer from the page (fields one a line).
pub async fn offer_social(State(state): S, Extension(p): P, mp: axum::extract::Multipart) -> Page {
    let mut up = crate::social::read_upload(&state, mp).await?;
    let v = |k: &str| up.text.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let fields = v("fields")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (name, label) = l.split_once([',', '，']).unwrap_or((l, l));
            SocialOfferField { name: name.trim().to_string(), label: label.trim().to_string() }
        })
        .collect();
    let input = SocialOfferInput {
        name: v("name"),
        summary: v("summary"),
        provider: v("provider"),
        source: v("source"),
        legal_basis: v("legal_basis"),
        personal: up.text.get("personal").is_some_and(|s| !s.is_empty()),
        consent: v("consent"),
        fields,
    };
    let file = up.file.take();
    let (source, filename, tmp) = crate::social::open_upload(&state, file).await?;
    let out = pdp_app::fusion::offer(&state, &p, &input, source, &filename).await;
    drop(tmp);
    let o = out?;
    see_other(&format!("/operation?ok={}", urlencode(&format!("{}：{} 行", o.input.name, o.accepted))))
}

/// `POST /operation/social/{id}/review`: the operator's four checks; an unticked box fails.
pub async fn review_social(
    State(state): S,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<BTreeMap<String, String>>,
) -> Page {
    let answers: Vec<pdp_app::fusion::CheckAnswer> = SocialCheck::ALL
        .iter()
        .map(|c| pdp_app::fusion::CheckAnswer {
            check: *c,
            passed: f.get(&format!("passed_{}", c.as_str())).is_some_and(|v| v == "true"),
            evidence: f.get(&format!("evidence_{}", c.as_str())).cloned().unwrap_or_default(),
        })
        .collect();
    let o = pdp_app::fusion::review(&state, &p, id, &answers).await?;
    see_other(&format!("/operation?ok={}", urlencode(o.status.label_zh())))
}

#[derive(Debug, Deserialize)]
pub struct IncidentForm {
    org_id: i64,
    description: String,
}

/// `POST /operation/incidents`: a data security incident of an entity.
pub async fn report_incident(State(state): S, Extension(p): P, Form(f): Form<IncidentForm>) -> Page {
    pdp_app::selection::report_incident(&state, &p, f.org_id, &f.description).await?;
    see_other(&format!("/operation?ok={}", urlencode("已记录安全事件 / incident recorded")))
}
