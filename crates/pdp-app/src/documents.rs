//! Electronic documents under a grant (电子证照, R-SHR-14): a service counter fetches an
//! applicant's licences by the applicant's identifier instead of asking for paper, and anyone
//! shown such a document later asks the platform whether it issued exactly these contents.
//!
//! Fetching is a view access: it goes through [`sharing::grant_for_access`] with
//! [`ShareMode::View`], reads only the granted fields under the grant's row filters and masking,
//! and is recorded in the same transaction as the grant's usage. The audit event's object names
//! the digest of every document served, which is what verification looks up: the tamper-evident
//! audit chain, with its signed checkpoints, is the seal of the document.

use crate::App;
use crate::Principal;
use crate::admin::rfc3339;
use pdp_domain::catalog::ShareMode;
use pdp_domain::document::{self, DOCUMENT_FORMAT, Document, DocumentField};
use pdp_storage::AuditQuery;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::now_micros;
use crate::datasets::lake;
use crate::error::AppError;
use crate::sharing::{self, org_name, sha256_hex};

/// The audit action of a document fetch; verification searches for it.
pub const FETCH_ACTION: &str = "share.access.document";

/// The most documents one holder's fetch returns.
const MAX_DOCUMENTS: usize = 20;

/// A licence lookup: whose documents are wanted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchInput {
    /// The applicant's identifier: citizen ID number or unified social credit code.
    pub holder: String,
}

/// One document and its digest.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentOut {
    /// SHA-256 of the document's canonical JSON; recorded in the audit chain.
    pub digest: String,
    #[schema(value_type = Object)]
    pub document: Document,
}

/// The documents of one holder under a grant.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentsOut {
    pub grant_id: i64,
    pub holder: String,
    pub documents: Vec<DocumentOut>,
    /// The legal effect of documents obtained by sharing.
    pub legal_effect_zh: String,
    pub legal_effect_en: String,
}

pub async fn do_fetch(state: &App, p: &Principal, id: i64, holder: &str) -> Result<DocumentsOut, AppError> {
    let a = sharing::grant_for_access(state, p, id, ShareMode::View).await?;
    if !document::is_licence(&a.e.body) {
        return Err(AppError::bad_request(
            "document_not_licence",
            "该授权的数据不是电子证照资源，请使用查询功能",
            "the grant's resource is not an electronic licence resource; look records up instead",
        ));
    }
    let holder = holder.trim();
    if holder.is_empty() || holder.chars().count() > 64 {
        return Err(AppError::bad_request(
            "document_holder_required",
            "请提供申请人的身份证号码或统一社会信用代码",
            "give the applicant's citizen ID number or unified social credit code",
        ));
    }
    let holder_field = a.e.body.identifier_field.clone().ok_or_else(|| {
        AppError::bad_request(
            "document_no_holder_field",
            "该证照资源没有登记持证人标识字段",
            "the licence resource names no identifier field for the holder",
        )
    })?;
    // The document number is the resource's key field, when there is one besides the holder.
    let number_field = a.e.body.fields.iter().find(|f| f.rules.key && f.name != holder_field).map(|f| f.name.clone());
    let lake = lake(state)?;
    let sel = a.selection(a.g.fields.clone());
    // The version printed on a document is the one its contents were read from.
    let (version, page) =
        lake.select_rows_versioned(&a.g.dataset, &sel, Some((&holder_field, holder)), 0, MAX_DOCUMENTS).await?;
    let label = |name: &str| {
        a.e.body.fields.iter().find(|f| f.name == name).map(|f| f.label.clone()).unwrap_or_else(|| name.to_string())
    };
    let issuer = org_name(state, a.g.provider_org_id).await;
    let obtained_by = org_name(state, a.g.user_org_id).await;
    let obtained_at = rfc3339(now_micros());
    let mut documents = Vec::new();
    let rules = a.rules(&page.columns);
    for row in page.rows {
        let values = a.protect(&rules, row);
        let fields: Vec<DocumentField> = page
            .columns
            .iter()
            .zip(values)
            .map(|(c, v)| DocumentField { name: c.clone(), label: label(c), value: v })
            .collect();
        let number =
            number_field.as_ref().and_then(|n| fields.iter().find(|f| &f.name == n)).and_then(|f| f.value.clone());
        let document = Document {
            format: DOCUMENT_FORMAT,
            resource_code: a.e.code.clone(),
            title: a.e.body.name.clone(),
            issuer: issuer.clone(),
            holder: holder.to_string(),
            number,
            fields,
            dataset_version: version,
            grant_id: id,
            obtained_by: obtained_by.clone(),
            obtained_at: obtained_at.clone(),
        };
        documents.push(DocumentOut { digest: document.digest(), document });
    }
    let out = DocumentsOut {
        grant_id: id,
        holder: holder.to_string(),
        documents,
        legal_effect_zh: document::LEGAL_EFFECT_ZH.into(),
        legal_effect_en: document::LEGAL_EFFECT_EN.into(),
    };
    let body = serde_json::to_vec(&out).unwrap_or_default();
    let mut ev = a.event(
        p,
        ShareMode::View,
        out.documents.len(),
        &page.columns,
        &format!("GET documents {id} holder={holder}"),
        &sha256_hex(&body),
    );
    ev.action = FETCH_ACTION.into();
    let digests: Vec<&str> = out.documents.iter().map(|d| d.digest.as_str()).collect();
    ev.object = format!("grant:{id} documents:{}", digests.join(","));
    state.record_access(id, 1, out.documents.len() as i64, ev).await?;
    Ok(out)
}

/// A document to check: its digest, or the whole document as it was issued.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyDocumentInput {
    pub digest: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub document: Option<Document>,
}

/// Whether the platform issued a document with this digest, and to whom.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentVerdict {
    pub digest: String,
    pub issued: bool,
    /// When it was fetched (RFC 3339), under which grant, by which organisation.
    pub issued_at: Option<String>,
    pub grant_id: Option<i64>,
    pub obtained_by: Option<String>,
    pub issuer: Option<String>,
    /// The audit event that recorded the fetch.
    pub audit_seq: Option<i64>,
}

fn bad_digest() -> AppError {
    AppError::bad_request(
        "document_bad_digest",
        "数字摘要应为 64 位小写十六进制字符，或提供完整的证照内容",
        "the digest is 64 lowercase hex digits; or send the whole document",
    )
}

pub async fn do_verify(state: &App, p: &Principal, input: &VerifyDocumentInput) -> Result<DocumentVerdict, AppError> {
    let digest = match (&input.document, &input.digest) {
        (Some(d), given) => {
            let computed = d.digest();
            if given.as_deref().is_some_and(|g| g.trim() != computed) {
                return Err(AppError::bad_request(
                    "document_digest_mismatch",
                    "所附摘要与证照内容不符：证照内容已被改动",
                    "the digest given does not match the document: its contents were changed",
                ));
            }
            computed
        }
        (None, Some(g)) => g.trim().to_ascii_lowercase(),
        (None, None) => return Err(bad_digest()),
    };
    if !document::is_digest(&digest) {
        return Err(bad_digest());
    }
    let found = state
        .storage
        .search_audit(&AuditQuery {
            action: Some(FETCH_ACTION.into()),
            object: Some(digest.clone()),
            limit: Some(1),
            ..Default::default()
        })
        .await?;
    let mut verdict = DocumentVerdict {
        digest: digest.clone(),
        issued: false,
        issued_at: None,
        grant_id: None,
        obtained_by: None,
        issuer: None,
        audit_seq: None,
    };
    // A document's contents include the moment it was fetched, so one event records it.
    if let Some(e) = found.into_iter().next() {
        let detail: serde_json::Value = serde_json::from_str(&e.event.detail).unwrap_or_default();
        let org = |k: &str| detail.get(k).and_then(|v| v.as_i64());
        verdict.issued = true;
        verdict.issued_at = Some(rfc3339(e.at_micros));
        verdict.grant_id = detail.get("grant").and_then(|v| v.as_i64());
        verdict.audit_seq = Some(e.seq);
        if let Some(o) = org("user_org") {
            verdict.obtained_by = Some(org_name(state, o).await);
        }
        if let Some(o) = org("provider_org") {
            verdict.issuer = Some(org_name(state, o).await);
        }
    }
    state
        .audit
        .append(
            p.event("document.verify", &format!("document:{digest}"))
                .with_detail(serde_json::json!({ "issued": verdict.issued }).to_string()),
        )
        .await?;
    Ok(verdict)
}
