//! Pages for electronic documents (电子证照, R-SHR-14): `/share/grants/{id}/documents` shows a
//! counter the licences of an applicant, fetched under its grant, ready to file with the case;
//! `/documents/verify` tells anyone shown such a document whether the platform issued exactly
//! these contents.
//!
//! Both go through the use cases of the JSON API ([`pdp_app::documents`]), so the pages enforce
//! the same grant checks and write the same audit events.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use maud::html;
use serde::Deserialize;

use crate::AppState;
use crate::auth::Principal;
use crate::extract::Form;
use crate::i18n::Lang;
use crate::layout::{Page, page};
use pdp_app::documents as docs;

type S = State<Arc<AppState>>;

/// The applicant whose documents a counter fetches.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct HolderForm {
    holder: String,
}
type P = Extension<Principal>;

/// The documents of one applicant under a grant, as a counter files them. The applicant's
/// identifier is posted from the grant's page, never put in the URL.
pub async fn documents_page(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Path(id): Path<i64>,
    Form(f): Form<HolderForm>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let out = docs::do_fetch(&state, &p, id, &f.holder).await?;
    page(
        lang,
        Some(&p),
        "/share",
        lang.t("电子证照", "Electronic licences"),
        html! {
            p { a href=(format!("/share/grants/{id}")) { "← " (lang.t("共享授权", "Grant")) " #" (id) } }
            p #holder { (lang.t("申请人标识：", "Applicant: ")) span.mono { (out.holder) } " · "
                (lang.t("共 ", "")) (out.documents.len()) (lang.t(" 份证照", " documents")) }
            @if out.documents.is_empty() {
                p #no-documents.muted { (lang.t("未找到该申请人的证照。请核对标识，或请申请人提供证照。", "No documents of this applicant. Check the identifier, or ask the applicant for the document.")) }
            }
            @for d in &out.documents {
                section.card.document {
                    h2 { (d.document.title) }
                    dl {
                        dt { (lang.t("发证机关", "Issuer")) } dd.issuer { (d.document.issuer) }
                        @if let Some(n) = &d.document.number { dt { (lang.t("证照编号", "Number")) } dd.number.mono { (n) } }
                        dt { (lang.t("持证人标识", "Holder")) } dd.mono { (d.document.holder) }
                    }
                    table.fields {
                        tbody { @for f in &d.document.fields { tr { th { (f.label) } td { (f.value.clone().unwrap_or_default()) } } } }
                    }
                    p.muted.small {
                        (lang.t("资源代码 ", "Resource ")) span.mono { (d.document.resource_code) }
                        (lang.t("，数据版本 ", ", dataset version ")) (d.document.dataset_version)
                        (lang.t("；调取单位 ", "; obtained by ")) (d.document.obtained_by)
                        (lang.t("，时间 ", " at ")) (d.document.obtained_at)
                        (lang.t("，授权 #", ", grant #")) (d.document.grant_id)
                    }
                    p.small { (lang.t("数字摘要（SHA-256）：", "Digest (SHA-256): ")) code.digest { (d.digest) }
                        " · " a href=(format!("/documents/verify?digest={}", d.digest)) { (lang.t("核验", "Verify")) } }
                }
            }
            p.muted { (lang.t(&out.legal_effect_zh, &out.legal_effect_en)) }
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct DigestQuery {
    pub digest: Option<String>,
}

/// Checks a document's digest against the audit chain.
pub async fn document_verify_page(
    State(state): S,
    headers: HeaderMap,
    Extension(p): P,
    Query(q): Query<DigestQuery>,
) -> Page {
    let lang = Lang::from_headers(&headers);
    let digest = q.digest.map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
    let verdict = match &digest {
        Some(d) => Some(
            docs::do_verify(&state, &p, &docs::VerifyDocumentInput { digest: Some(d.clone()), document: None }).await?,
        ),
        None => None,
    };
    page(
        lang,
        Some(&p),
        "/share",
        lang.t("核验电子证照", "Verify an electronic document"),
        html! {
            p.muted { (lang.t("输入证照上的数字摘要，平台在审计链中查找其调取记录：内容有任何改动，摘要即不相符。", "Enter the digest printed on the document; the platform looks its fetch up in the audit chain. Any change to the contents changes the digest.")) }
            form #document-verify method="get" action="/documents/verify" {
                label { (lang.t("数字摘要", "Digest")) input name="digest" value=(digest.clone().unwrap_or_default()) required; }
                button type="submit" { (lang.t("核验", "Verify")) }
            }
            @if let Some(v) = &verdict {
                @if v.issued {
                    p #verdict { span.badge.st-published { (lang.t("真实有效：由平台调取", "Genuine: issued through the platform")) } }
                    dl {
                        dt { (lang.t("发证机关", "Issuer")) } dd { (v.issuer.clone().unwrap_or_default()) }
                        dt { (lang.t("调取单位", "Obtained by")) } dd { (v.obtained_by.clone().unwrap_or_default()) }
                        dt { (lang.t("调取时间", "Obtained at")) } dd { (v.issued_at.clone().unwrap_or_default()) }
                        dt { (lang.t("授权", "Grant")) } dd { "#" (v.grant_id.unwrap_or_default()) }
                        dt { (lang.t("审计事件", "Audit event")) } dd { "#" (v.audit_seq.unwrap_or_default()) }
                    }
                } @else {
                    p #verdict { span.badge.st-rejected { (lang.t("未找到：平台没有调取过内容如此的证照", "Not found: the platform never issued a document with these contents")) } }
                }
            }
        },
    )
}
