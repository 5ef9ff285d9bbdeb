//! Theme databases (主题库/专题库, R-AGG-06): the city's authority selects fields of published
//! datasets about one kind of subject (persons, legal entities, real estate units), and names a
//! lead organisation that provides the theme. A theme is a catalog entry and a dataset of its
//! own: its fields are its members' key and selected fields, with their grades, masking and
//! purposes; its rows are the members' current versions joined by key (one row per subject,
//! `pdp_lake::Lake::join_by_key`), written as a full load of the theme. It is rebuilt whenever a
//! member loads, so it follows its sources, and it is requested, granted, masked, exported and
//! audited like any dataset, because it is one.

use std::collections::BTreeSet;

use pdp_audit::NewEvent;
use pdp_domain::catalog::VersionStatus;
use pdp_domain::catalog::{CategoryClass, EntryBody, OpenAttrs, OpenType, ShareAttrs, ShareMode, ShareType};
use pdp_domain::subject::{SubjectKind, subject_of};
use pdp_lake::analytics::Keyed;
use pdp_lake::{Lake, LoadMeta, LoadMode};
use pdp_storage::catalog::EntryVersion;
use pdp_storage::{NewTheme, Storage, Theme, ThemeMember};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::App;
use crate::Principal;
use crate::clock::now_micros;
use crate::datasets::{lake, load_and_record_only, published_entry_of};
use crate::error::AppError;
use crate::sources::city_authority;

/// The most members a theme has, and the most fields it takes in all.
pub const MAX_MEMBERS: usize = 10;
pub const MAX_FIELDS: usize = 60;
/// The most subjects a theme holds: its rows are built in memory at each rebuild.
pub const MAX_THEME_ROWS: usize = 5_000_000;

/// One member of a theme being defined.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    /// A published entry about the theme's kind of subject.
    pub entry_id: i64,
    /// Its fields the theme takes (not its key, which the theme has once).
    pub fields: Vec<String>,
}

/// A theme database as the authority defines it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThemeInput {
    pub name: String,
    pub summary: String,
    /// The theme item of the catalog (主题类的项), e.g. `03` 社会保障.
    pub item: String,
    /// The organisation that leads the theme and provides it.
    pub lead_org_id: i64,
    pub members: Vec<MemberInput>,
}

/// A theme with its entry's name and its lead organisation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ThemeOut {
    #[serde(flatten)]
    pub t: Theme,
    pub name: String,
    pub lead_org_id: i64,
}

fn invalid(code: &'static str, zh: String, en: String) -> AppError {
    AppError::bad_request(code, zh, en)
}

/// The most restrictive share type of the members: a theme shares no more than its sources.
fn strictest(types: impl Iterator<Item = ShareType>) -> ShareType {
    let rank = |t: ShareType| match t {
        ShareType::Unconditional => 2,
        ShareType::Conditional => 1,
        ShareType::NotShared => 0,
    };
    types.min_by_key(|t| rank(*t)).unwrap_or(ShareType::Conditional)
}

/// Defines a theme (the city's authority): checks the members, publishes its catalog entry under
/// the lead organisation, and builds its first version.
pub async fn do_create_theme(state: &App, p: &Principal, input: &ThemeInput) -> Result<ThemeOut, AppError> {
    city_authority(state, p).await?;
    let (t, published) = create_theme_in(
        state.storage.as_ref(),
        lake(state)?,
        &state.catalog.matrix,
        Some(p.user.id),
        &p.user.username,
        &|action, object| p.event(action, object),
        input,
    )
    .await?;
    crate::catalog::index_entries(state, std::slice::from_ref(&published)).await;
    Ok(ThemeOut { name: published.body.name.clone(), lead_org_id: published.org_id, t })
}

/// [`do_create_theme`] for callers without the web state (the demo city): `event` makes the
/// audit event of each step by whoever defines the theme.
#[allow(clippy::too_many_arguments)]
pub async fn create_theme_in(
    storage: &dyn Storage,
    lake: &Lake,
    matrix: &pdp_domain::catalog::GradingMatrix,
    author: Option<i64>,
    created_by: &str,
    event: &(dyn Fn(&str, &str) -> NewEvent + Sync),
    input: &ThemeInput,
) -> Result<(Theme, EntryVersion), AppError> {
    let name = input.name.trim();
    if name.is_empty() || input.summary.trim().is_empty() {
        return Err(invalid(
            "theme_incomplete",
            "请填写主题库名称和摘要".into(),
            "give the theme a name and a summary".into(),
        ));
    }
    if input.members.is_empty() || input.members.len() > MAX_MEMBERS {
        return Err(invalid(
            "theme_members",
            format!("主题库须由 1 至 {MAX_MEMBERS} 个数据资源组成"),
            format!("a theme is made of 1 to {MAX_MEMBERS} datasets"),
        ));
    }
    if storage.get_org(input.lead_org_id).await?.is_none() {
        return Err(invalid("invalid_org", "牵头单位不存在".into(), "the lead organisation does not exist".into()));
    }
    let mut kind: Option<SubjectKind> = None;
    let mut fields = Vec::new();
    let mut members = Vec::new();
    let mut names = BTreeSet::new();
    let mut share_types = Vec::new();
    let mut modes: Option<Vec<ShareMode>> = None;
    let themes: BTreeSet<i64> = storage.list_themes().await?.into_iter().map(|t| t.entry_id).collect();
    for m in &input.members {
        let e = published_entry_of(storage, m.entry_id)
            .await
            .ok_or_else(|| AppError::not_found(&format!("published entry {}", m.entry_id)))?;
        if themes.contains(&e.entry_id) {
            return Err(invalid(
                "theme_member_is_theme",
                format!("“{}”本身是主题库：主题库由基础库和部门数据组成", e.body.name),
                format!("{:?} is a theme itself: themes are made of base and department data", e.body.name),
            ));
        }
        let Some((k, key)) = subject_of(&e.body) else {
            return Err(invalid(
                "theme_member_no_subject",
                format!("“{}”没有标识主体的字段，不能组成主题库", e.body.name),
                format!("{:?} has no field that identifies its subjects", e.body.name),
            ));
        };
        if kind.is_some_and(|have| have != k) {
            return Err(invalid(
                "theme_mixed_subjects",
                "主题库的各组成数据须关于同一类主体".into(),
                "the datasets of a theme must be about one kind of subject".into(),
            ));
        }
        if kind.is_none() {
            // The theme's key is its first member's key field, as that dataset defines it.
            let key_field = e.body.fields.iter().find(|f| f.name == key).cloned();
            let mut key_field =
                key_field.ok_or_else(|| AppError::internal("theme_key", "主题库标识字段缺失", "key field missing"))?;
            key_field.rules.key = true;
            key_field.rules.required = true;
            names.insert(key_field.name.clone());
            fields.push(key_field);
        }
        kind = Some(k);
        for f in &m.fields {
            let Some(def) = e.body.fields.iter().find(|d| &d.name == f && d.name != key) else {
                return Err(invalid(
                    "theme_bad_field",
                    format!("“{f}”不是“{}”可选入主题库的字段", e.body.name),
                    format!("{f:?} is not a field of {:?} a theme can take", e.body.name),
                ));
            };
            if !names.insert(def.name.clone()) {
                return Err(invalid(
                    "theme_field_clash",
                    format!("字段“{f}”被选入两次：同一数据元素在主题库中只取一个来源"),
                    format!("the field {f:?} is chosen twice: a theme takes each element from one dataset"),
                ));
            }
            let mut def = def.clone();
            def.rules = Default::default();
            fields.push(def);
        }
        share_types.push(e.body.share.share_type);
        modes = Some(match modes {
            None => e.body.share.modes.clone(),
            Some(have) => have.into_iter().filter(|m| e.body.share.modes.contains(m)).collect(),
        });
        members.push(ThemeMember {
            entry_id: e.entry_id,
            dataset: e.code.clone(),
            key: key.to_string(),
            fields: m.fields.clone(),
        });
    }
    let Some(kind) = kind else {
        return Err(invalid("theme_members", "主题库没有组成数据".into(), "no members".into()));
    };
    if fields.len() > MAX_FIELDS + 1 {
        return Err(invalid(
            "theme_too_many_fields",
            format!("主题库最多选取 {MAX_FIELDS} 个字段"),
            format!("a theme takes at most {MAX_FIELDS} fields"),
        ));
    }
    let share_type = strictest(share_types.into_iter());
    let mut modes = modes.unwrap_or_default();
    if modes.is_empty() {
        modes = vec![ShareMode::View];
    }
    let body = EntryBody {
        name: name.to_string(),
        summary: input.summary.trim().to_string(),
        class: CategoryClass::Theme,
        item: input.item.trim().to_string(),
        format: pdp_domain::catalog::Format::Database,
        frequency: pdp_domain::catalog::Frequency::Daily,
        release_date: String::new(),
        related: vec![],
        source_system_id: None,
        purchased: false,
        purchased_from: String::new(),
        collecting_dept: String::new(),
        approving_dept: String::new(),
        usage_requirements: "主题库由数据主管部门整合组成数据形成，按组成数据中最严格的共享条件共享".into(),
        identifier_field: fields.first().map(|f| f.name.clone()),
        fields,
        share: ShareAttrs {
            share_type,
            conditions: match share_type {
                ShareType::Unconditional => String::new(),
                _ => "按主题库各组成数据的共享条件，仅用于依法履职".into(),
            },
            modes,
            legal_basis: "《临江市公共数据管理办法》第十一条：主题数据库".into(),
        },
        open: OpenAttrs {
            open_type: OpenType::NotOpen,
            conditions: String::new(),
            legal_basis: "主题库整合政务部门数据，供共享使用".into(),
        },
    };
    if let Some(v) = pdp_domain::catalog::validate(&body, matrix).first() {
        use pdp_domain::Localized;
        return Err(AppError::bad_request("theme_entry_invalid", v.message_zh(), v.message_en()));
    }
    // The authority defines and approves the entry in one act; each step is in the audit log.
    let e = storage.create_entry(input.lead_org_id, &body, author, event("catalog.entry.create", "")).await?;
    let object = format!("entry:{}", e.entry_id);
    let submit = event("catalog.entry.submit", &object);
    storage.transition_entry(e.entry_id, 1, VersionStatus::Draft, VersionStatus::Submitted, author, "", submit).await?;
    let approve = event("catalog.entry.approve", &object);
    let published = storage
        .transition_entry(e.entry_id, 1, VersionStatus::Submitted, VersionStatus::Published, author, "", approve)
        .await?;
    let t = storage
        .create_theme(
            NewTheme {
                entry_id: published.entry_id,
                dataset: published.code.clone(),
                subject: kind,
                members,
                created_by: created_by.to_string(),
            },
            event("theme.create", ""),
        )
        .await?;
    refresh_theme(storage, lake, &t).await?;
    let t = storage.list_themes().await?.into_iter().find(|x| x.id == t.id).unwrap_or(t);
    Ok((t, published))
}

/// Members written one per line as `resource code: field, field` (the theme form's text), looked
/// up by their published entries.
pub async fn members_from_lines(state: &App, text: &str) -> Result<Vec<MemberInput>, AppError> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()).take(MAX_MEMBERS + 1) {
        let (code, fields) = line.split_once([':', '：']).unwrap_or((line, ""));
        let entry = state.storage.get_entry_by_code(code.trim()).await?.ok_or_else(|| {
            invalid(
                "theme_unknown_dataset",
                format!("没有资源代码为“{}”的数据资源", code.trim()),
                format!("no resource with the code {:?}", code.trim()),
            )
        })?;
        let fields =
            fields.split([',', '，', ' ']).map(str::trim).filter(|f| !f.is_empty()).map(String::from).collect();
        out.push(MemberInput { entry_id: entry.entry_id, fields });
    }
    Ok(out)
}

pub async fn do_list_themes(state: &App) -> Result<Vec<ThemeOut>, AppError> {
    let mut out = Vec::new();
    for t in state.storage.list_themes().await? {
        let e = published_entry_of(state.storage.as_ref(), t.entry_id).await;
        out.push(ThemeOut {
            name: e.as_ref().map(|e| e.body.name.clone()).unwrap_or_default(),
            lead_org_id: e.as_ref().map(|e| e.org_id).unwrap_or_default(),
            t,
        });
    }
    Ok(out)
}

/// Rebuilds a theme from its members' current versions: one row per subject found in any
/// member, each field from its member (empty where the member has no row), loaded as a full
/// version of the theme's dataset.
pub async fn refresh_theme(storage: &dyn Storage, lake: &Lake, t: &Theme) -> Result<(), AppError> {
    let Some(entry) = published_entry_of(storage, t.entry_id).await else { return Ok(()) };
    let mut sources = Vec::new();
    for m in &t.members {
        if lake.table(&m.dataset).await?.is_some() {
            sources.push((Keyed { dataset: &m.dataset, key: &m.key }, m.fields.clone()));
        }
    }
    let page = lake.join_by_key(&sources, MAX_THEME_ROWS).await?;
    if page.total as usize > MAX_THEME_ROWS {
        tracing::warn!(theme = t.id, total = page.total, "a theme holds its first {MAX_THEME_ROWS} subjects only");
    }
    // The join's columns are the key, then each present member's fields in order; the theme's
    // fields are the key, then every member's fields: a member without data leaves its empty.
    let mut at = std::collections::HashMap::new();
    let mut c = 1;
    for (keyed, fields) in &sources {
        for f in fields {
            at.insert((keyed.dataset.to_string(), f.clone()), c);
            c += 1;
        }
    }
    let rows: Vec<Vec<String>> = page
        .rows
        .into_iter()
        .map(|r| {
            let mut out = vec![r.first().cloned().flatten().unwrap_or_default()];
            for m in &t.members {
                for f in &m.fields {
                    let v = at.get(&(m.dataset.clone(), f.clone())).and_then(|i| r.get(*i).cloned().flatten());
                    out.push(v.unwrap_or_default());
                }
            }
            out
        })
        .collect();
    let n = rows.len() as i64;
    let meta = LoadMeta {
        actor: "theme".into(),
        source: format!("theme:{}", t.id),
        reject_invalid: false,
        ..Default::default()
    };
    let ev = NewEvent::system("theme.refresh", &format!("dataset:{}", t.dataset));
    let report = load_and_record_only(
        storage,
        lake,
        &entry,
        LoadMode::Full,
        meta,
        Box::new(pdp_lake::CellRows::new(&entry.body.fields, rows)),
        |_| {},
        ev,
    )
    .await?;
    // What other loads are followed by, except themes: a theme's district returns and base
    // views (it may be a source) follow its rebuilds too.
    crate::sources::refresh_returns_of(storage, lake, &entry.code).await;
    crate::sources::warm_base_views_of(storage, lake, &entry.code).await;
    if let Some(v) = report.version {
        storage.set_theme_refreshed(t.id, v as i64, n, now_micros()).await?;
    }
    Ok(())
}

/// Rebuilds every theme that `dataset` is a member of, after it loaded. A failure is logged: the
/// member's load is committed either way, and the next load rebuilds the theme.
pub async fn refresh_themes_of(storage: &dyn Storage, lake: &Lake, dataset: &str) {
    let themes = match storage.list_themes().await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list theme databases");
            return;
        }
    };
    for t in themes.iter().filter(|t| t.members.iter().any(|m| m.dataset == dataset)) {
        if let Err(e) = refresh_theme(storage, lake, t).await {
            tracing::warn!(dataset, theme = t.id, error = %e.message(), "theme database rebuild failed");
        }
    }
}

/// Rebuilds a theme now (the authority's button).
pub async fn do_refresh_theme(state: &App, p: &Principal, id: i64) -> Result<ThemeOut, AppError> {
    city_authority(state, p).await?;
    let t = state
        .storage
        .list_themes()
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| AppError::not_found(&format!("theme {id}")))?;
    refresh_theme(state.storage.as_ref(), lake(state)?, &t).await?;
    do_list_themes(state)
        .await?
        .into_iter()
        .find(|t| t.t.id == id)
        .ok_or_else(|| AppError::not_found(&format!("theme {id}")))
}
