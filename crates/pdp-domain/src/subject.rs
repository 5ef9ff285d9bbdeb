//! Data subjects (persons and legal entities) and the rules that work on them across datasets:
//! one number, one source (R-AGG-03), base views (R-AGG-06), data return to districts
//! (R-AGG-07) and objections (R-OBJ).
//!
//! A dataset is about a subject kind when its catalog entry names an identifier field that holds
//! citizen ID numbers or unified social credit codes. A *data element* is a field name within a
//! subject kind: the city's data element standard fixes the names, so `person_name` in the
//! police's and in the social security bureau's datasets is the same element about the same
//! person. Everything here is pure; the web layer runs the queries.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::Date;

use crate::calendar::{CalendarError, Deadline, WorkCalendar};
use crate::catalog::{EntryBody, IdentifierRole};
use crate::error::Localized;

/// What a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A natural person, keyed by citizen ID number (GB 11643).
    Person,
    /// A legal entity or other organisation, keyed by unified social credit code (GB 32100).
    LegalEntity,
    /// A parcel or building, keyed by real estate unit code (GB/T 37346).
    Place,
}

impl SubjectKind {
    pub const ALL: &'static [SubjectKind] = &[SubjectKind::Person, SubjectKind::LegalEntity, SubjectKind::Place];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::LegalEntity => "legal_entity",
            Self::Place => "place",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s.trim())
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Person => "人口",
            Self::LegalEntity => "法人",
            Self::Place => "不动产单元",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::Person => "Population",
            Self::LegalEntity => "Legal entities",
            Self::Place => "Real estate units",
        }
    }

    /// The identifier that keys subjects of this kind.
    pub fn identifier(self) -> IdentifierRole {
        match self {
            Self::Person => IdentifierRole::CitizenId,
            Self::LegalEntity => IdentifierRole::CreditCode,
            Self::Place => IdentifierRole::PlaceCode,
        }
    }

    pub fn of_identifier(role: IdentifierRole) -> Option<Self> {
        match role {
            IdentifierRole::CitizenId => Some(Self::Person),
            IdentifierRole::CreditCode => Some(Self::LegalEntity),
            IdentifierRole::PlaceCode => Some(Self::Place),
            IdentifierRole::None => None,
        }
    }

    /// The six-digit administrative division code (GB/T 2260) inside a key: the first six
    /// characters of a citizen ID or a real estate unit code, the third to eighth of a credit
    /// code. `None` when the key is too short or the characters are not digits.
    pub fn area_code(self, key: &str) -> Option<&str> {
        let range = match self {
            Self::Person | Self::Place => 0..6,
            Self::LegalEntity => 2..8,
        };
        let s = key.get(range)?;
        s.bytes().all(|b| b.is_ascii_digit()).then_some(s)
    }
}

/// The subject kind of a dataset and the name of its key field, when its entry has an
/// identifier field that holds citizen IDs or credit codes.
pub fn subject_of(body: &EntryBody) -> Option<(SubjectKind, &str)> {
    let key = body.identifier_field.as_deref()?;
    let field = body.fields.iter().find(|f| f.name == key)?;
    Some((SubjectKind::of_identifier(field.identifier)?, field.name.as_str()))
}

crate::catalog::labeled_enum!(
    /// The city's base databases (基础数据库, R-AGG-06): each a view, keyed by one kind of
    /// subject, over the authoritative sources of its elements. Their codes are the addresses of
    /// their views (`/base/person`, ...). The macro-economic database of the requirement is not
    /// keyed by a subject (its records are indicators by period) and is a theme of datasets
    /// instead.
    BaseDatabase {
        Population => "person", "人口基础库", "Population";
        LegalEntities => "legal_entity", "法人基础库", "Legal entities";
        Spatial => "spatial", "自然资源和空间地理基础库", "Natural resources and geography";
        Credit => "credit", "公共信用基础库", "Public credit";
        Licences => "licence", "电子证照基础库", "Electronic licences";
    }
);

impl BaseDatabase {
    /// The base item (类 1, 项) of the catalog the database's own resources are cataloged under.
    pub fn item(self) -> &'static str {
        match self {
            Self::Population => "01",
            Self::LegalEntities => "02",
            Self::Spatial => "03",
            Self::Credit => "04",
            Self::Licences => "05",
        }
    }

    /// The kind of subject the database is keyed by. Credit and licences are about legal
    /// entities, by credit code.
    pub fn subject(self) -> SubjectKind {
        match self {
            Self::Population => SubjectKind::Person,
            Self::LegalEntities | Self::Credit | Self::Licences => SubjectKind::LegalEntity,
            Self::Spatial => SubjectKind::Place,
        }
    }

    /// The database a subject kind's elements belong to unless their source is cataloged
    /// under another base item of the same kind.
    pub fn primary(kind: SubjectKind) -> Self {
        match kind {
            SubjectKind::Person => Self::Population,
            SubjectKind::LegalEntity => Self::LegalEntities,
            SubjectKind::Place => Self::Spatial,
        }
    }

    /// The database an element about `kind` subjects belongs to when its authoritative source is
    /// a dataset cataloged as `class`/`item`: the base database of that item if it is keyed by
    /// the same kind (a credit rating from a resource cataloged under 公共信用 goes to the credit
    /// database), else the kind's primary database (a department's or theme resource is
    /// integrated into the population, legal-entity or spatial database).
    pub fn of_source(kind: SubjectKind, class: crate::catalog::CategoryClass, item: &str) -> Self {
        if class == crate::catalog::CategoryClass::Base
            && let Some(db) = Self::ALL.iter().copied().find(|d| d.item() == item && d.subject() == kind)
        {
            return db;
        }
        Self::primary(kind)
    }
}

/// The data elements a dataset holds about its subjects: every field but the key.
pub fn elements_of(body: &EntryBody) -> Vec<&str> {
    let key = body.identifier_field.as_deref().unwrap_or_default();
    body.fields.iter().filter(|f| f.name != key).map(|f| f.name.as_str()).collect()
}

/// A dataset as the cross-dataset rules see it.
#[derive(Debug, Clone)]
pub struct DatasetRef<'a> {
    pub entry_id: i64,
    /// The dataset (entry code).
    pub code: &'a str,
    pub org_id: i64,
    pub body: &'a EntryBody,
}

/// An organisation collecting an element (in one of its datasets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collector {
    pub org_id: i64,
    pub entry_id: i64,
    pub dataset: String,
}

/// One element about one subject kind collected by more than one organisation (R-AGG-03: data
/// that can be obtained by sharing is not collected again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateCollection {
    pub subject: SubjectKind,
    pub element: String,
    /// The authoritative source of the element, when the authority assigned one.
    pub authoritative: Option<String>,
    /// Distinct organisations collecting the element.
    pub organisations: usize,
    /// Every dataset holding the element, the authoritative one first.
    pub collectors: Vec<Collector>,
}

/// Elements collected by two or more organisations about the same subject kind. Elements with
/// an authoritative source (`sources`: (subject, element) → dataset) come first, then by how
/// many organisations collect them; datasets of one organisation (yearly archives, district
/// editions) count once.
pub fn duplicate_collection(
    datasets: &[DatasetRef<'_>],
    sources: &BTreeMap<(SubjectKind, String), String>,
) -> Vec<DuplicateCollection> {
    let mut by_element: BTreeMap<(SubjectKind, String), Vec<Collector>> = BTreeMap::new();
    for d in datasets {
        let Some((kind, _)) = subject_of(d.body) else { continue };
        for el in elements_of(d.body) {
            by_element.entry((kind, el.to_string())).or_default().push(Collector {
                org_id: d.org_id,
                entry_id: d.entry_id,
                dataset: d.code.to_string(),
            });
        }
    }
    let mut out: Vec<DuplicateCollection> = by_element
        .into_iter()
        .filter_map(|((subject, element), mut collectors)| {
            let orgs: BTreeSet<i64> = collectors.iter().map(|c| c.org_id).collect();
            if orgs.len() < 2 {
                return None;
            }
            let authoritative = sources.get(&(subject, element.clone())).cloned();
            collectors.sort_by_key(|c| (Some(&c.dataset) != authoritative.as_ref(), c.org_id, c.dataset.clone()));
            Some(DuplicateCollection { subject, element, authoritative, organisations: orgs.len(), collectors })
        })
        .collect();
    out.sort_by(|a, b| {
        b.authoritative
            .is_some()
            .cmp(&a.authoritative.is_some())
            .then(b.organisations.cmp(&a.organisations))
            .then(a.element.cmp(&b.element))
    });
    out
}

/// Two values of one element disagree, ignoring surrounding white space. An absent value does
/// not conflict with anything: it is a completeness problem, not a consistency one.
pub fn values_conflict(a: Option<&str>, b: Option<&str>) -> bool {
    match (a.map(str::trim), b.map(str::trim)) {
        (Some(x), Some(y)) if !x.is_empty() && !y.is_empty() => x != y,
        _ => false,
    }
}

// ---------------------------------------------------------------- objections (R-OBJ)

/// Working days a provider has to answer an objection (FS 30).
pub const OBJECTION_WORKING_DAYS: u32 = 10;

crate::catalog::labeled_enum!(
    /// How a district return finds a row's district (R-AGG-07): by the division code inside the
    /// key (citizen ID or credit code), or by a field holding the division code or the
    /// district's name.
    ReturnMethod {
        AreaCode => "area_code", "按号码中的区划", "Area code in the key";
        Field => "field", "按区划字段", "A region field";
    }
);

crate::catalog::labeled_enum!(
    /// Where a district's demand for city data to be returned stands (R-CAT-05): waiting for the
    /// authority, met by a return, or declined with a reason.
    ReturnDemandStatus {
        Open => "open", "待回流", "Open";
        Met => "met", "已回流", "Met";
        Declined => "declined", "不予回流", "Declined";
    }
);

crate::catalog::labeled_enum!(
    /// Who raised an objection: the person or entity the record is about, or a data user.
    RaiserKind {
        Subject => "subject", "信息主体", "The record's subject";
        User => "user", "数据使用单位", "A data user";
    }
);

/// Where an objection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectionStatus {
    /// Raised; the record is marked disputed until the provider answers.
    Open,
    /// The provider verified the record and keeps it as it is, with a reason.
    Confirmed,
    /// The provider corrected the record; the correction is a new version of the dataset.
    Corrected,
}

impl ObjectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Confirmed => "confirmed",
            Self::Corrected => "corrected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Open, Self::Confirmed, Self::Corrected].into_iter().find(|v| v.as_str() == s.trim())
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Open => "核查中",
            Self::Confirmed => "核实无误",
            Self::Corrected => "已更正",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::Open => "Under review",
            Self::Confirmed => "Confirmed as is",
            Self::Corrected => "Corrected",
        }
    }
}

crate::catalog::labeled_enum!(
    /// What an objection says of the data (QD 11): a value is wrong, data about the subject is
    /// missing (a record or a value that should be there), or data infringes the subject's
    /// rights (held or served where it should not be).
    ObjectionKind {
        Wrong => "wrong", "数据错误", "Wrong value";
        Missing => "missing", "数据遗漏", "Missing data";
        Infringing => "infringing", "侵犯合法权益", "Infringes rights";
    }
);

/// The identifier a public account is bound to after the person or entity proved who they are:
/// a citizen ID number or a unified social credit code. Made only by parsing, so a bound
/// identifier is always a valid one in its normal form (upper case, 18 characters).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BoundSubject {
    kind: SubjectKind,
    id: String,
}

/// Debug output, like answers, carries the masked number: a bound identifier is personal data
/// and never goes to a log whole.
impl std::fmt::Debug for BoundSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundSubject").field("kind", &self.kind).field("masked", &self.masked()).finish()
    }
}

/// Serialised as `{"kind": "person", "masked": "350102********0012"}`, for the same reason.
impl Serialize for BoundSubject {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("BoundSubject", 2)?;
        m.serialize_field("kind", self.kind.as_str())?;
        m.serialize_field("masked", &self.masked())?;
        m.end()
    }
}

/// Why an identifier cannot be bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingError {
    CitizenId(crate::ids::CitizenIdError),
    CreditCode(crate::ids::CreditCodeError),
    /// Accounts belong to persons and organisations, not to places.
    NotAPartyKind,
}

impl Localized for BindingError {
    fn code(&self) -> &'static str {
        match self {
            Self::CitizenId(e) => e.code(),
            Self::CreditCode(e) => e.code(),
            Self::NotAPartyKind => "subject_bad_kind",
        }
    }
    fn message_zh(&self) -> String {
        match self {
            Self::CitizenId(e) => e.message_zh(),
            Self::CreditCode(e) => e.message_zh(),
            Self::NotAPartyKind => "账号只能绑定公民身份号码或统一社会信用代码".into(),
        }
    }
    fn message_en(&self) -> String {
        match self {
            Self::CitizenId(e) => e.message_en(),
            Self::CreditCode(e) => e.message_en(),
            Self::NotAPartyKind => "an account is bound to a citizen ID or a credit code only".into(),
        }
    }
}

impl BoundSubject {
    /// Parses `id` as an identifier of `kind`: a citizen ID number (GB 11643, a legacy 15-digit
    /// number is upgraded) or a credit code (GB 32100).
    pub fn parse(kind: SubjectKind, id: &str) -> Result<Self, BindingError> {
        let id = match kind {
            SubjectKind::Person => {
                crate::ids::CitizenId::parse(id).map_err(BindingError::CitizenId)?.as_str().to_string()
            }
            SubjectKind::LegalEntity => {
                crate::ids::CreditCode::parse(id).map_err(BindingError::CreditCode)?.as_str().to_string()
            }
            SubjectKind::Place => return Err(BindingError::NotAPartyKind),
        };
        Ok(Self { kind, id })
    }

    pub fn kind(&self) -> SubjectKind {
        self.kind
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The identifier as pages and API answers show it: the first six and last four
    /// characters (STANDARDS.md, masking formats), never the whole number.
    pub fn masked(&self) -> String {
        crate::sharing::mask(crate::catalog::MaskRule::IdNumber, &self.id).unwrap_or_default()
    }

    /// Whether the record keyed `key` in a dataset about `kind` subjects is about this subject.
    /// The key is compared in its normal form (trimmed, upper case), as it was bound.
    pub fn owns(&self, kind: SubjectKind, key: &str) -> bool {
        kind == self.kind && key.trim().eq_ignore_ascii_case(&self.id)
    }
}

/// The day by which the provider must answer an objection raised on `raised`: ten working days,
/// counted from the next day (STANDARDS.md, working days).
pub fn objection_due(cal: &WorkCalendar, raised: Date) -> Result<Deadline, CalendarError> {
    cal.deadline(raised, OBJECTION_WORKING_DAYS)
}

/// Whether an objection still open on `today` has passed its due date and goes to the authority.
pub fn objection_overdue(status: ObjectionStatus, due: Date, today: Date) -> bool {
    status == ObjectionStatus::Open && today > due
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::date;
    use crate::catalog::{DataType, Field, Grade, MaskRule};

    fn body(key: Option<(&str, IdentifierRole)>, fields: &[&str]) -> EntryBody {
        let mut b: EntryBody = serde_json::from_value(serde_json::json!({
            "name": "x", "summary": "x", "class": "base", "item": "01", "format": "database",
            "frequency": "daily", "fields": [], "share": {}, "open": {}
        }))
        .expect("minimal body");
        let mut all: Vec<(&str, IdentifierRole)> = key.into_iter().collect();
        all.extend(fields.iter().map(|f| (*f, IdentifierRole::None)));
        b.fields = all
            .into_iter()
            .map(|(n, id)| Field {
                name: n.into(),
                label: n.into(),
                data_type: DataType::Text,
                description: String::new(),
                grade: Grade::L1,
                personal: false,
                identifier: id,
                mask: MaskRule::None,
                purpose: String::new(),
                rules: Default::default(),
            })
            .collect();
        b.identifier_field = key.map(|(k, _)| k.to_string());
        b
    }

    /// covers: R-AGG-07 (area code inside citizen IDs and credit codes)
    #[test]
    fn area_codes() {
        assert_eq!(SubjectKind::Person.area_code("35990219900307001X"), Some("359902"));
        assert_eq!(SubjectKind::LegalEntity.area_code("91359903MA2Y7Q2K5C"), Some("359903"));
        assert_eq!(SubjectKind::Person.area_code("35ab"), None);
        assert_eq!(SubjectKind::LegalEntity.area_code("91AB9903MA2Y7Q2K5C"), None);
        assert_eq!(SubjectKind::Person.area_code("身份证号码格式错"), None);
    }

    /// covers: R-AGG-03 (duplicate collection across organisations, one organisation counts once)
    #[test]
    fn duplicate_collection_counts_organisations() {
        let police = body(Some(("id_no", IdentifierRole::CitizenId)), &["person_name", "address"]);
        let police_archive = body(Some(("id_no", IdentifierRole::CitizenId)), &["person_name"]);
        let hr = body(Some(("sfzh", IdentifierRole::CitizenId)), &["person_name", "salary"]);
        let ent = body(Some(("credit_code", IdentifierRole::CreditCode)), &["address"]);
        let stats = body(None, &["person_name"]);
        let ds = [
            DatasetRef { entry_id: 1, code: "P1", org_id: 10, body: &police },
            DatasetRef { entry_id: 2, code: "P2", org_id: 10, body: &police_archive },
            DatasetRef { entry_id: 3, code: "H1", org_id: 20, body: &hr },
            DatasetRef { entry_id: 4, code: "E1", org_id: 30, body: &ent },
            DatasetRef { entry_id: 5, code: "S1", org_id: 40, body: &stats },
        ];
        let none = BTreeMap::new();
        let dup = duplicate_collection(&ds, &none);
        // Only person_name about persons is collected by two organisations; the police archive
        // does not make `address` a duplicate, and the entity's address is another subject.
        assert_eq!(dup.len(), 1, "{dup:?}");
        assert_eq!(dup[0].element, "person_name");
        assert_eq!(dup[0].organisations, 2);
        assert_eq!(dup[0].collectors.len(), 3);
        let mut sources = BTreeMap::new();
        sources.insert((SubjectKind::Person, "person_name".to_string()), "H1".to_string());
        let dup = duplicate_collection(&ds, &sources);
        assert_eq!(dup[0].authoritative.as_deref(), Some("H1"));
        assert_eq!(dup[0].collectors[0].dataset, "H1");
    }

    /// covers: R-AGG-03 (what counts as a conflict)
    #[test]
    fn conflicts() {
        assert!(values_conflict(Some("张三"), Some("张叁")));
        assert!(!values_conflict(Some("张三 "), Some("张三")));
        assert!(!values_conflict(None, Some("张三")));
        assert!(!values_conflict(Some(""), Some("张三")));
    }

    /// covers: R-OBJ-02 (10 working days, across the National Day holiday)
    #[test]
    fn elements_go_to_the_base_database_of_their_sources_item() {
        use crate::catalog::CategoryClass::{Base, Department};
        assert_eq!(BaseDatabase::of_source(SubjectKind::LegalEntity, Base, "04"), BaseDatabase::Credit);
        assert_eq!(BaseDatabase::of_source(SubjectKind::LegalEntity, Base, "05"), BaseDatabase::Licences);
        assert_eq!(BaseDatabase::of_source(SubjectKind::LegalEntity, Department, "04"), BaseDatabase::LegalEntities);
        // A person's element from a resource cataloged under credit stays in the population
        // database: the credit database is keyed by credit code.
        assert_eq!(BaseDatabase::of_source(SubjectKind::Person, Base, "04"), BaseDatabase::Population);
        assert_eq!(BaseDatabase::of_source(SubjectKind::Place, Base, "03"), BaseDatabase::Spatial);
        assert_eq!(BaseDatabase::parse("person"), Some(BaseDatabase::Population));
        assert_eq!(SubjectKind::Place.area_code("350102001001GB00012F00010001"), Some("350102"));
    }

    #[test]
    fn bound_subjects_own_only_their_records() {
        let me = BoundSubject::parse(SubjectKind::Person, " 350102199003070012 ").unwrap();
        assert_eq!(me.id(), "350102199003070012");
        assert_eq!(me.masked(), "350102********0012");
        assert!(me.owns(SubjectKind::Person, " 350102199003070012"));
        assert!(!me.owns(SubjectKind::LegalEntity, "350102199003070012"));
        assert!(!me.owns(SubjectKind::Person, "350102199003070020"));
        assert!(BoundSubject::parse(SubjectKind::Person, "350102199003070011").is_err(), "checksum");
        let firm = BoundSubject::parse(SubjectKind::LegalEntity, "91350100m000100y43");
        assert!(firm.is_ok(), "{firm:?}");
        assert!(firm.unwrap().owns(SubjectKind::LegalEntity, "91350100m000100y43"));
        assert!(BoundSubject::parse(SubjectKind::LegalEntity, "350102199003070012").is_err());
    }

    #[test]
    fn objection_deadline() {
        let cal = WorkCalendar::official();
        let Deadline { due, provisional } = objection_due(&cal, date(2026, 9, 17).unwrap()).unwrap();
        assert_eq!((due, provisional), (date(2026, 10, 8).unwrap(), false));
        assert!(!objection_overdue(ObjectionStatus::Open, due, due));
        assert!(objection_overdue(ObjectionStatus::Open, due, date(2026, 10, 9).unwrap()));
        assert!(!objection_overdue(ObjectionStatus::Corrected, due, date(2026, 10, 9).unwrap()));
        // Past the last table the objection still gets a deadline, marked provisional (R-OBJ-02).
        assert!(objection_due(&cal, date(2031, 1, 5).unwrap()).unwrap().provisional);
    }
}
