//! The directory and the platform's own administration: regions, organisations and their data
//! officers, accounts and roles, API keys, and verification of the audit chain.
//!
//! Each action (`do_*`) validates its input, performs the change through the storage trait with
//! its audit event in the same transaction, and returns either the result or an [`AppError`].
//! The JSON API and the pages call the same actions, so both enforce the same rules.

use crate::App;
use crate::credentials as auth;
use crate::error::AppError;
use crate::{Principal, Via};
use pdp_audit::{AuditEvent, Checkpoint, NewEvent, Outcome, body_hash};
use pdp_domain::Localized;
use pdp_domain::ids::CreditCode;
use pdp_domain::org::{AreaCode, OrgKind, RegionLevel};
use pdp_domain::roles::{Permission, Role, validate_roles};
use pdp_storage::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

fn hashed<T: Serialize>(mut ev: NewEvent, input: &T) -> NewEvent {
    ev.request_hash = body_hash(&serde_json::to_vec(input).unwrap_or_default());
    ev
}

/// The caller, their permissions and how they authenticated.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user: User,
    pub org_id: Option<i64>,
    pub permissions: Vec<String>,
    /// `session` or `api_key`.
    pub via: String,
}

// ---------------------------------------------------------------- regions

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegionInput {
    /// Six-digit administrative division code.
    pub code: String,
    pub name: String,
    /// `city` or `district`.
    pub level: String,
    pub parent_id: Option<i64>,
}

pub async fn do_create_region(state: &App, p: &Principal, input: RegionInput) -> Result<Region, AppError> {
    let code = AreaCode::parse(&input.code).map_err(|e| {
        AppError::bad_request("invalid_area_code", format!("行政区划代码无效：{e}"), format!("invalid area code: {e}"))
    })?;
    let name = required("name", "名称", &input.name)?;
    let level = RegionLevel::parse(&input.level).ok_or_else(|| {
        AppError::bad_request(
            "invalid_region_level",
            "区域级别须为 city 或 district",
            "region level must be city or district",
        )
    })?;
    let regions = state.storage.list_regions().await?;
    match (level, input.parent_id) {
        (RegionLevel::City, Some(_)) => {
            return Err(AppError::bad_request("city_has_parent", "市级区域不能有上级", "a city region has no parent"));
        }
        (RegionLevel::District, None) => {
            return Err(AppError::bad_request(
                "district_needs_parent",
                "区县须属于某个市",
                "a district needs its city as parent",
            ));
        }
        (RegionLevel::District, Some(pid)) => {
            if !regions.iter().any(|r| r.id == pid && r.level == RegionLevel::City) {
                return Err(AppError::bad_request(
                    "invalid_parent_region",
                    "上级区域不存在或不是市级",
                    "the parent region does not exist or is not a city",
                ));
            }
        }
        (RegionLevel::City, None) => {}
    }
    let ev = hashed(p.event("region.create", ""), &input);
    Ok(state
        .storage
        .create_region(NewRegion { code: code.as_str().into(), name, level, parent_id: input.parent_id }, ev)
        .await?)
}

// ---------------------------------------------------------------- organisations

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrgInput {
    pub name: String,
    /// 18-character unified social credit code (GB 32100).
    pub credit_code: String,
    /// One of `data_authority`, `government_department`, `public_service_enterprise`,
    /// `operation_entity`, `development_entity`, `other`.
    pub kind: String,
    pub region_id: i64,
    pub parent_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgCreated {
    pub organisation: Organisation,
    /// Accepted with warnings, e.g. a credit code whose final check character is wrong when
    /// the platform is configured to warn.
    pub warnings: Vec<String>,
}

fn required(field: &'static str, label: &str, v: &str) -> Result<String, AppError> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > 200 {
        return Err(AppError::bad_request(
            "invalid_field",
            format!("“{label}”不能为空且不超过 200 字"),
            format!("{field} must be 1 to 200 characters"),
        ));
    }
    Ok(v.to_string())
}

pub async fn do_create_org(state: &App, p: &Principal, input: OrgInput) -> Result<OrgCreated, AppError> {
    let name = required("name", "名称", &input.name)?;
    let code = CreditCode::parse_with(&input.credit_code, state.settings.credit_code_final_check)
        .map_err(|e| AppError::domain(&e))?;
    let mut warnings = Vec::new();
    if !code.final_check_ok() {
        warnings.push("统一社会信用代码校验位不符（按配置仅提示） / the credit code's final check character is wrong (accepted as configured)".to_string());
    }
    let kind = OrgKind::parse(&input.kind).ok_or_else(|| {
        AppError::bad_request(
            "invalid_org_kind",
            format!("未知单位类型：{}", input.kind),
            format!("unknown organisation kind: {}", input.kind),
        )
    })?;
    if !state.storage.list_regions().await?.iter().any(|r| r.id == input.region_id) {
        return Err(AppError::bad_request("invalid_region", "所属区域不存在", "the region does not exist"));
    }
    if let Some(pid) = input.parent_id
        && state.storage.get_org(pid).await?.is_none()
    {
        return Err(AppError::bad_request(
            "invalid_parent_org",
            "上级单位不存在",
            "the parent organisation does not exist",
        ));
    }
    let ev =
        hashed(p.event("org.create", ""), &input).with_detail(serde_json::json!({ "warnings": warnings }).to_string());
    let organisation = state
        .storage
        .create_org(
            NewOrganisation {
                name,
                credit_code: code.as_str().into(),
                kind,
                region_id: input.region_id,
                parent_id: input.parent_id,
            },
            ev,
        )
        .await?;
    Ok(OrgCreated { organisation, warnings })
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OfficerInput {
    pub name: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    /// The officer's platform account, if any.
    pub user_id: Option<i64>,
}

pub async fn do_create_officer(
    state: &App,
    p: &Principal,
    org_id: i64,
    input: OfficerInput,
) -> Result<DataOfficer, AppError> {
    let name = required("name", "姓名", &input.name)?;
    if state.storage.get_org(org_id).await?.is_none() {
        return Err(AppError::not_found(&format!("org:{org_id}")));
    }
    if let Some(uid) = input.user_id {
        let user = state
            .storage
            .get_user(uid)
            .await?
            .ok_or_else(|| AppError::bad_request("invalid_user", "账号不存在", "the account does not exist"))?;
        if user.org_id != Some(org_id) {
            return Err(AppError::bad_request(
                "officer_other_org",
                "数据专员账号须属于本单位",
                "the officer's account must belong to this organisation",
            ));
        }
    }
    let ev = hashed(p.event("org.officer.add", &format!("org:{org_id}")), &input);
    Ok(state
        .storage
        .add_officer(
            NewDataOfficer {
                org_id,
                name,
                title: input.title.trim().into(),
                phone: input.phone.trim().into(),
                email: input.email.trim().into(),
                user_id: input.user_id,
            },
            ev,
        )
        .await?)
}

// ---------------------------------------------------------------- users and roles

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserInput {
    /// 3 to 32 characters: lower-case letters, digits, `.`, `_`, `-`.
    pub username: String,
    pub display_name: String,
    /// Not stored; hashed with argon2id. At least 12 characters with letters and digits.
    pub password: String,
    pub org_id: Option<i64>,
    /// Role names. Only a security administrator may give roles other than `public_user`.
    #[serde(default)]
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RolesInput {
    pub roles: Vec<String>,
}

fn parse_roles(names: &[String]) -> Result<Vec<Role>, AppError> {
    let mut roles = Vec::new();
    for n in names {
        let r = Role::parse(n).ok_or_else(|| {
            AppError::bad_request("unknown_role", format!("未知角色：{n}"), format!("unknown role: {n}"))
        })?;
        if !roles.contains(&r) {
            roles.push(r);
        }
    }
    Ok(roles)
}

/// The longest account name.
pub const MAX_USERNAME_CHARS: usize = 32;

fn valid_username(u: &str) -> bool {
    (3..=MAX_USERNAME_CHARS).contains(&u.len())
        && u.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
}

/// Creates an account. Used by the API, the pages and `pdp admin create-user` (with `actor`
/// `None`, meaning the operator at the console, who may give any roles).
pub async fn create_account(
    storage: &dyn Storage,
    actor: Option<&Principal>,
    input: UserInput,
) -> Result<User, AppError> {
    if !valid_username(&input.username) {
        return Err(AppError::bad_request(
            "invalid_username",
            "用户名须为 3–32 位小写字母、数字或 . _ -",
            "the username must be 3 to 32 lower-case letters, digits, '.', '_' or '-'",
        ));
    }
    let display_name = required("display_name", "姓名", &input.display_name)?;
    auth::check_password_policy(&input.password)?;
    let mut roles = parse_roles(&input.roles)?;
    if roles.is_empty() {
        roles.push(Role::PublicUser);
    }
    if let Some(actor) = actor
        && roles.iter().any(|r| *r != Role::PublicUser)
        && !actor.allows(Permission::AssignRoles)
    {
        return Err(AppError::not_allowed(
            "roles_need_security_admin",
            "只有安全管理员可以分配角色；请先创建账号，再由安全管理员授权",
            "only a security administrator assigns roles; create the account, then ask the security administrator",
        ));
    }
    if let Some(org) = input.org_id
        && storage.get_org(org).await?.is_none()
    {
        return Err(AppError::bad_request("invalid_org", "所属单位不存在", "the organisation does not exist"));
    }
    validate_roles(&roles, input.org_id.is_some()).map_err(|e| AppError::domain(&e))?;
    let ev = match actor {
        Some(p) => p.event("user.create", ""),
        None => NewEvent { actor: "console".into(), ..NewEvent::system("user.create", "") },
    };
    // An administrator chose this password: the account chooses its own at first login. The
    // console's operator creates the first administrators for themselves.
    let hash = auth::hash_password(&input.password)
        .map_err(|e| AppError::internal("hash_failed", "密码处理失败", format!("password hashing failed: {e}")))?;
    insert_account(storage, input, hash, display_name, roles, actor.is_some(), None, ev).await
}

/// Creates the account with its password's hash and its audit event (the input is recorded by
/// its hash, without the password).
#[allow(clippy::too_many_arguments)]
async fn insert_account(
    storage: &dyn Storage,
    input: UserInput,
    password_hash: String,
    display_name: String,
    roles: Vec<Role>,
    must_change_password: bool,
    claimed: Option<pdp_domain::subject::BoundSubject>,
    ev: NewEvent,
) -> Result<User, AppError> {
    let mut redacted = input.clone();
    redacted.password = String::new();
    let ev = hashed(ev, &redacted).with_detail(serde_json::json!({ "roles": roles_to_text(&roles) }).to_string());
    Ok(storage
        .create_user(
            NewUser {
                username: input.username,
                display_name,
                password_hash,
                org_id: input.org_id,
                roles,
                must_change_password,
                claimed,
            },
            ev,
        )
        .await?)
}

/// Registration of a public account on the open portal: a natural person by citizen ID or a
/// legal entity by credit code, both checked by their parsers. The identifier is recorded as
/// claimed, masked wherever shown; it binds nothing until proved (the security administrator's
/// binding, or a real-name check by an identity provider). At most five registrations per
/// client address an hour.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterInput {
    /// 3 to 32 characters: lower-case letters, digits, `.`, `_`, `-`.
    pub username: String,
    /// A person's name or an entity's registered name.
    pub display_name: String,
    /// At least 12 characters with letters and digits.
    pub password: String,
    /// `person` or `legal_entity`.
    pub kind: String,
    /// The citizen ID number (GB 11643) or unified social credit code (GB 32100).
    pub identifier: String,
}

pub async fn register(state: &App, input: &RegisterInput, addr: Option<std::net::IpAddr>) -> Result<User, AppError> {
    use pdp_domain::subject::{BoundSubject, SubjectKind};
    let kind = SubjectKind::parse(&input.kind)
        .filter(|k| matches!(k, SubjectKind::Person | SubjectKind::LegalEntity))
        .ok_or_else(|| {
            AppError::bad_request("invalid_kind", "请选择自然人或法人", "register as a person or a legal entity")
        })?;
    let claimed = BoundSubject::parse(kind, input.identifier.trim()).map_err(|e| AppError::domain(&e))?;
    if !valid_username(&input.username) {
        return Err(AppError::bad_request(
            "invalid_username",
            "用户名须为 3–32 位小写字母、数字或 . _ -",
            "the username must be 3 to 32 lower-case letters, digits, '.', '_' or '-'",
        ));
    }
    let display_name = required("display_name", "名称", &input.display_name)?;
    auth::check_password_policy(&input.password)?;
    let key = format!("register@{}", addr.map_or_else(|| "unknown".to_string(), |a| a.to_string()));
    if state.throttle.begin(&key, None, 5, 0, std::time::Duration::from_secs(3600)) != crate::credentials::Attempt::Go {
        return Err(AppError::too_many(
            "registration_throttled",
            "该地址注册过于频繁，请一小时后再试",
            "too many registrations from this address; try again in an hour",
        ));
    }
    let mut ev = NewEvent::system("user.register", "");
    ev.actor = input.username.clone();
    ev.role = Role::PublicUser.as_str().into();
    let user_input = UserInput {
        username: input.username.clone(),
        display_name: display_name.clone(),
        password: input.password.clone(),
        org_id: None,
        roles: vec![],
    };
    // Anyone may register, so the password is hashed on the bounded CPU pool, never on the
    // request's worker.
    let password = input.password.clone();
    let hash = crate::limits::on_cpu(state, move || auth::hash_password(&password))
        .await?
        .map_err(|e| AppError::internal("hash_failed", "密码处理失败", format!("password hashing failed: {e}")))?;
    insert_account(
        state.storage.as_ref(),
        user_input,
        hash,
        display_name,
        vec![Role::PublicUser],
        false,
        Some(claimed),
        ev,
    )
    .await
    .map_err(|e| match e.kind {
        crate::error::ErrorKind::Conflict => {
            AppError::conflict("username_taken", "该用户名已被使用", "the username is taken")
        }
        _ => e,
    })
}

pub async fn do_set_roles(state: &App, p: &Principal, user_id: i64, input: RolesInput) -> Result<User, AppError> {
    let roles = parse_roles(&input.roles)?;
    auth::may_assign(p, user_id)?;
    let user = state.storage.get_user(user_id).await?.ok_or_else(|| AppError::not_found(&format!("user:{user_id}")))?;
    if let Err(e) = validate_roles(&roles, user.org_id.is_some()) {
        // A refused assignment is a security event in its own right.
        let ev = p
            .event("user.roles.set", &format!("user:{user_id}"))
            .with_outcome(Outcome::Denied)
            .with_detail(serde_json::json!({ "roles": roles_to_text(&roles), "error": e.code() }).to_string());
        state.audit.append(ev).await?;
        return Err(AppError::domain(&e));
    }
    let ev = hashed(p.event("user.roles.set", &format!("user:{user_id}")), &input).with_detail(
        serde_json::json!({ "before": roles_to_text(&user.roles), "after": roles_to_text(&roles) }).to_string(),
    );
    state.storage.set_roles(user_id, &roles, ev).await?;
    Ok(User { roles, ..user })
}

/// The identifier a public account is bound to (R-OBJ-01).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectInput {
    /// `person` (a citizen ID number) or `legal_entity` (a unified social credit code).
    pub kind: String,
    /// The identifier the holder proved to be theirs; empty or absent unbinds the account.
    #[serde(default)]
    pub id: Option<String>,
}

/// Binds a public account to the citizen ID or credit code its holder proved to be theirs, or
/// unbinds it. The security administrator does this after checking the holder's identity (in
/// person or through the city's real-name authentication); a bound account may object only to
/// records about its identifier. One account per identifier; the audit event names the
/// identifier masked, and its request hash is left out because a hash of an ID number is
/// easily reversed.
pub async fn do_bind_subject(state: &App, p: &Principal, user_id: i64, input: &SubjectInput) -> Result<User, AppError> {
    auth::may_assign(p, user_id)?;
    let user = state.storage.get_user(user_id).await?.ok_or_else(|| AppError::not_found(&format!("user:{user_id}")))?;
    if user.org_id.is_some() || user.roles.iter().any(|r| *r != Role::PublicUser) {
        return Err(AppError::bad_request(
            "subject_public_accounts_only",
            "只有公众账号可以绑定身份证号码或统一社会信用代码；单位工作人员以所属单位的名义提出异议",
            "only public accounts are bound to a citizen ID or credit code; staff object on behalf of their organisation",
        ));
    }
    let kind = pdp_domain::subject::SubjectKind::parse(&input.kind).ok_or_else(|| {
        AppError::bad_request(
            "subject_bad_kind",
            "类型应为 person（公民身份号码）或 legal_entity（统一社会信用代码）",
            "the kind must be person (citizen ID) or legal_entity (credit code)",
        )
    })?;
    let subject = match input.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => Some(pdp_domain::subject::BoundSubject::parse(kind, id).map_err(|e| AppError::domain(&e))?),
        None => None,
    };
    let (action, masked) = match &subject {
        Some(s) => ("user.subject.bind", s.masked()),
        None => ("user.subject.unbind", user.subject.as_ref().map(|s| s.masked()).unwrap_or_default()),
    };
    let ev = p
        .event(action, &format!("user:{user_id}"))
        .with_detail(serde_json::json!({ "kind": kind.as_str(), "id": masked }).to_string());
    state.storage.set_user_subject(user_id, subject.as_ref(), ev).await.map_err(|e| match e {
        StorageError::Conflict(_) => AppError::conflict(
            "subject_taken",
            "该证件号码已绑定其他账号",
            "another account is bound to this identifier",
        ),
        e => e.into(),
    })?;
    Ok(User { subject, ..user })
}

// ---------------------------------------------------------------- API keys

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyInput {
    /// What the key is for, e.g. the application's name.
    pub name: String,
    /// Days until the key expires (default 90, at most the configured maximum).
    pub expires_in_days: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreated {
    pub key: ApiKey,
    /// The secret, shown this once: `pdp_<id>_<secret>`.
    pub token: String,
}

pub async fn do_create_api_key(state: &App, p: &Principal, input: ApiKeyInput) -> Result<ApiKeyCreated, AppError> {
    let name = required("name", "名称", &input.name)?;
    if !matches!(p.via, Via::Session { .. }) {
        return Err(AppError::not_allowed(
            "key_needs_session",
            "只能在登录会话中创建 API 密钥",
            "API keys are created from a login session, not with another key",
        ));
    }
    let Some(org_id) = p.user.org_id else {
        return Err(AppError::bad_request(
            "api_key_needs_org",
            "API 密钥须归属于某一单位，本账号未属于任何单位",
            "API keys are scoped to an organisation and this account has none",
        ));
    };
    let days = input.expires_in_days.unwrap_or(90);
    if !(1..=state.settings.api_key_max_days).contains(&days) {
        return Err(AppError::bad_request(
            "invalid_expiry",
            format!("有效期须为 1–{} 天", state.settings.api_key_max_days),
            format!("expiry must be 1 to {} days", state.settings.api_key_max_days),
        ));
    }
    let secret = auth::random_token();
    let expires = now_micros() + days * 86_400 * 1_000_000;
    let ev = hashed(p.event("api_key.create", ""), &input);
    let key = state
        .storage
        .create_api_key(
            NewApiKey {
                name,
                user_id: p.user.id,
                org_id: Some(org_id),
                secret_hash: auth::sha256_hex(&secret),
                expires_at_micros: expires,
            },
            ev,
        )
        .await?;
    Ok(ApiKeyCreated { token: format!("pdp_{}_{}", key.id, secret), key })
}

pub async fn do_revoke_api_key(state: &App, p: &Principal, id: i64) -> Result<(), AppError> {
    let key = state.storage.get_api_key(id).await?.ok_or_else(|| AppError::not_found(&format!("api_key:{id}")))?;
    if key.user_id != p.user.id && !p.allows(Permission::ManageAllApiKeys) {
        return Err(AppError::forbidden());
    }
    if !state.storage.revoke_api_key(id, now_micros(), p.event("api_key.revoke", &format!("api_key:{id}"))).await? {
        return Err(AppError::conflict("already_revoked", "该密钥已吊销", "the key is already revoked"));
    }
    Ok(())
}

/// Keys the caller may see: their own, or every key for a security administrator.
pub async fn visible_keys(state: &App, p: &Principal) -> Result<Vec<ApiKey>, AppError> {
    let scope = if p.allows(Permission::ManageAllApiKeys) { None } else { Some(p.user.id) };
    Ok(state.storage.list_api_keys(scope).await?)
}

// ---------------------------------------------------------------- audit

/// An audit event as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    pub seq: i64,
    /// RFC 3339 time, UTC.
    pub at: String,
    pub actor: String,
    pub actor_id: Option<i64>,
    pub org_id: Option<i64>,
    pub role: String,
    pub action: String,
    pub object: String,
    pub purpose: String,
    /// `success`, `denied` or `failure`.
    pub outcome: String,
    pub request_hash: String,
    pub detail: String,
    pub alg: String,
    pub prev_hash: String,
    pub hash: String,
}

pub fn rfc3339(micros: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(micros as i128 * 1000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

impl From<AuditEvent> for EventOut {
    fn from(e: AuditEvent) -> Self {
        Self {
            seq: e.seq,
            at: rfc3339(e.at_micros),
            actor: e.event.actor,
            actor_id: e.event.actor_id,
            org_id: e.event.org_id,
            role: e.event.role,
            action: e.event.action,
            object: e.event.object,
            purpose: e.event.purpose,
            outcome: e.event.outcome.as_str().into(),
            request_hash: e.event.request_hash,
            detail: e.event.detail,
            alg: e.alg,
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

/// Reading the audit log is itself audited, with the filter used.
pub async fn audited_search(
    state: &App,
    p: &Principal,
    q: &AuditQuery,
    action: &str,
) -> Result<Vec<AuditEvent>, AppError> {
    let ev = p.event(action, "audit_log").with_detail(serde_json::to_string(q).unwrap_or_default());
    state.audit.append(ev).await?;
    Ok(state.storage.search_audit(q).await?)
}

/// Renders events as CSV with a UTF-8 byte-order mark so that spreadsheet programs used in
/// Chinese offices open it with the right encoding.
pub fn events_csv(events: Vec<AuditEvent>) -> String {
    let mut out = String::from(
        "\u{feff}seq,at,actor,actor_id,org_id,role,action,object,purpose,outcome,request_hash,detail,alg,prev_hash,hash\n",
    );
    for e in events.into_iter().map(EventOut::from) {
        let cols = [
            e.seq.to_string(),
            e.at,
            e.actor,
            e.actor_id.map(|v| v.to_string()).unwrap_or_default(),
            e.org_id.map(|v| v.to_string()).unwrap_or_default(),
            e.role,
            e.action,
            e.object,
            e.purpose,
            e.outcome,
            e.request_hash,
            e.detail,
            e.alg,
            e.prev_hash,
            e.hash,
        ];
        pdp_interchange::csvcell::push_row(&mut out, &cols);
    }
    out
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointOut {
    pub seq: i64,
    pub hash: String,
    pub at: String,
    pub public_key: String,
    pub signature: String,
}

impl From<Checkpoint> for CheckpointOut {
    fn from(c: Checkpoint) -> Self {
        Self { seq: c.seq, hash: c.hash, at: rfc3339(c.at_micros), public_key: c.public_key, signature: c.signature }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResult {
    pub intact: bool,
    pub events: u64,
    pub checkpoints_verified: usize,
    /// The first event that cannot be trusted, when the chain is broken.
    pub broken_seq: Option<i64>,
    pub message: String,
}

pub async fn do_verify(state: &App, p: &Principal) -> Result<VerifyResult, AppError> {
    let verdict = verify_chain(state.storage.as_ref(), state.checkpoint_key.as_ref()).await?;
    let result = match verdict {
        Ok(r) => VerifyResult {
            intact: true,
            events: r.events,
            checkpoints_verified: r.checkpoints_verified,
            broken_seq: None,
            message: format!(
                "审计链完整：{} 个事件，{} 个签名检查点 / chain intact: {} events, {} signed checkpoints",
                r.events, r.checkpoints_verified, r.events, r.checkpoints_verified
            ),
        },
        Err(b) => VerifyResult {
            intact: false,
            events: 0,
            checkpoints_verified: 0,
            broken_seq: Some(b.seq),
            message: b.to_string(),
        },
    };
    let ev = p
        .event("audit.verify", "audit_log")
        .with_outcome(if result.intact { Outcome::Success } else { Outcome::Failure })
        .with_detail(serde_json::json!({ "broken_seq": result.broken_seq }).to_string());
    state.audit.append(ev).await?;
    Ok(result)
}
