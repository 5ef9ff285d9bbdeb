//! Electronic documents (电子证照) obtained by sharing (R-SHR-14).
//!
//! A licence, permit or certificate that an organisation issues is cataloged as a resource of
//! the base class, item 05 (电子证照), and aggregated like any other table: one row per document,
//! keyed by its number, with the holder's citizen ID or credit code as the identifier field. A
//! service counter holding a view grant on such a resource fetches the documents of an applicant
//! by the applicant's identifier instead of asking for a paper copy, because documents obtained
//! through the sharing platform have the same force as paper originals.
//!
//! A fetched [`Document`] carries everything a counter files with the case: what it is, who
//! issued it, whose it is, its fields, the dataset version it was read from and the grant it was
//! obtained under. Its [`Document::digest`] is recorded in the audit chain when it is fetched, so
//! anyone shown the document later can ask the platform whether it issued exactly these contents:
//! the signed audit chain is the seal, and no second key has to be managed.

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::catalog::{CategoryClass, EntryBody};

/// The catalog item of electronic licences within the base class.
pub const LICENCE_ITEM: &str = "05";

/// The legal effect printed on every document, in Chinese and English.
pub const LEGAL_EFFECT_ZH: &str =
    "通过共享平台获取的证照类数据与纸质原件具有同等效力；可以通过共享平台提取的，不得再要求申请人另行提供。";
pub const LEGAL_EFFECT_EN: &str = "Documents obtained through the sharing platform have the same force as paper originals; an applicant is not asked again for what the platform provides.";

/// Whether an entry catalogs electronic licences (基础类 · 电子证照).
pub fn is_licence(body: &EntryBody) -> bool {
    body.class == CategoryClass::Base && body.item == LICENCE_ITEM
}

/// One field of a document as the counter sees it: after the grant's masking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentField {
    pub name: String,
    pub label: String,
    pub value: Option<String>,
}

/// One electronic document fetched under a grant.
///
/// The field order of this struct is its canonical form: [`Document::digest`] hashes its JSON,
/// which serde writes in declaration order, so a document sent back for verification hashes the
/// same as when it was issued. Adding a field changes every digest; add fields only with a
/// version bump of `format`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// The canonical form's version.
    pub format: u32,
    /// The resource code of the licence resource.
    pub resource_code: String,
    /// The resource's name, e.g. 营业执照（电子证照）.
    pub title: String,
    /// The organisation that issued the document and provides the resource.
    pub issuer: String,
    /// The holder's identifier, as asked for.
    pub holder: String,
    /// The document's own number (the resource's key field), when it has one besides the
    /// holder's identifier.
    pub number: Option<String>,
    pub fields: Vec<DocumentField>,
    /// The lake version the document was read from.
    pub dataset_version: u64,
    pub grant_id: i64,
    /// The organisation that fetched the document.
    pub obtained_by: String,
    /// When, RFC 3339 in UTC.
    pub obtained_at: String,
}

/// The current canonical form.
pub const DOCUMENT_FORMAT: u32 = 1;

impl Document {
    /// The SHA-256 of the canonical JSON, lowercase hex.
    pub fn digest(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Whether a string looks like a digest made by [`Document::digest`]: 64 lowercase hex digits.
/// Checked before a digest is searched for, so that a fragment cannot match by substring.
pub fn is_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Document {
        Document {
            format: DOCUMENT_FORMAT,
            resource_code: "105000/000001".into(),
            title: "营业执照（电子证照）".into(),
            issuer: "临江市市场监督管理局".into(),
            holder: "91359900MA00000000".into(),
            number: Some("359900000000001".into()),
            fields: vec![DocumentField {
                name: "ent_name".into(),
                label: "名称".into(),
                value: Some("恒信科技".into()),
            }],
            dataset_version: 3,
            grant_id: 7,
            obtained_by: "临江市人力资源和社会保障局".into(),
            obtained_at: "2026-11-23T08:00:00Z".into(),
        }
    }

    // covers: R-SHR-14
    #[test]
    fn digest_survives_a_json_round_trip_and_changes_with_any_field() {
        let d = doc();
        let back: Document = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(back.digest(), d.digest());
        assert!(is_digest(&d.digest()));
        let mut changed = d.clone();
        changed.fields[0].value = Some("恒信贸易".into());
        assert_ne!(changed.digest(), d.digest());
        let mut later = d.clone();
        later.dataset_version = 4;
        assert_ne!(later.digest(), d.digest());
    }

    // covers: R-SHR-14
    #[test]
    fn only_full_digests_are_digests() {
        assert!(!is_digest("abc"));
        assert!(!is_digest(&"A".repeat(64)));
        assert!(is_digest(&"0".repeat(64)));
    }
}
