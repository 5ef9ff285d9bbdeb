//! An account's own password, and the administrator's hold on accounts: disabling one and ending
//! its sessions. The platform administrator creates accounts but never knows a password in use:
//! an account created by someone else must choose its own password before anything else
//! (`User::must_change_password`, enforced by the gate), and nobody acts on their own account
//! here (an administrator who disabled themselves could not undo it).

use crate::App;
use crate::Principal;
use crate::credentials as auth;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::now_micros;
use crate::error::AppError;
use pdp_audit::{NewEvent, Outcome};
use pdp_storage::Session;

/// A new password, proven by the current one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordInput {
    pub current: String,
    /// At least 12 characters with letters and digits, not the current one.
    pub new: String,
}

/// Changes the caller's own password. The current password is checked (argon2, off the async
/// workers) even for an account that must change it, so a stolen session cannot take the
/// account over.
pub async fn do_change_password(state: &App, p: &Principal, input: &PasswordInput) -> Result<(), AppError> {
    if input.current.len() > 1024 || input.new.len() > 1024 {
        return Err(AppError::bad_request("weak_password", "密码过长", "the password is too long"));
    }
    let (current, hash) = (input.current.clone(), p.user.password_hash.clone());
    if !crate::limits::on_cpu(state, move || auth::verify_password(&current, &hash)).await? {
        let ev =
            p.event("user.password.change", &format!("user:{}", p.user.id)).with_outcome(pdp_audit::Outcome::Denied);
        state.audit.append(ev).await?;
        return Err(AppError::not_allowed("wrong_password", "当前密码不正确", "the current password is wrong"));
    }
    auth::check_password_policy(&input.new)?;
    if input.new == input.current {
        return Err(AppError::bad_request("password_unchanged", "新密码不能与当前密码相同", "choose a new password"));
    }
    let new = input.new.clone();
    let hash = crate::limits::on_cpu(state, move || auth::hash_password(&new))
        .await?
        .map_err(|e| AppError::internal("hash_failed", "密码处理失败", format!("hashing failed: {e}")))?;
    state.storage.set_password(p.user.id, &hash, false, p.event("user.password.change", "")).await?;
    Ok(())
}

fn not_self(p: &Principal, id: i64) -> Result<(), AppError> {
    if p.user.id == id {
        return Err(AppError::not_allowed(
            "self_account",
            "不能停用自己的账号或结束自己的会话（请退出登录）",
            "you cannot disable your own account or end your own sessions (log out instead)",
        ));
    }
    Ok(())
}

/// Whether an account is disabled, and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableInput {
    pub disabled: bool,
    pub reason: String,
}

pub async fn do_set_disabled(state: &App, p: &Principal, id: i64, input: &DisableInput) -> Result<(), AppError> {
    not_self(p, id)?;
    let reason = input.reason.trim();
    if reason.is_empty() {
        return Err(AppError::bad_request("reason_required", "请说明理由", "give a reason"));
    }
    let mut ev = p.event(if input.disabled { "user.disable" } else { "user.enable" }, "");
    ev.purpose = reason.into();
    state.storage.set_disabled(id, input.disabled, ev).await?;
    Ok(())
}

/// How many sessions were ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsEnded {
    pub ended: u64,
}

pub async fn do_end_sessions(state: &App, p: &Principal, id: i64) -> Result<SessionsEnded, AppError> {
    not_self(p, id)?;
    state.storage.get_user(id).await?.ok_or_else(|| AppError::not_found(&format!("user:{id}")))?;
    let ended = state.storage.end_sessions(id, p.event("user.sessions.end", "")).await?;
    Ok(SessionsEnded { ended })
}

/// A signed-in account: the session's token, to hand to the browser once (only its hash is
/// stored), and whether the account must choose its password before anything else.
#[derive(Debug)]
pub struct LoggedIn {
    pub token: String,
    pub must_change_password: bool,
}

/// Signs an account in with its password (R-SEC-04): attempts are throttled per account name
/// and per client address, the password is checked on the CPU pool even for unknown names (so
/// timing does not tell which exist), and every refusal and success is audited. A refusal is
/// `Invalid` (an impossible name or password), `TooMany` (throttled) or `Unauthenticated`
/// (wrong name or password, or a disabled account); anything else is the platform failing.
pub async fn login(
    app: &App,
    username: &str,
    password: &str,
    addr: Option<std::net::IpAddr>,
) -> Result<LoggedIn, AppError> {
    let username = username.trim().to_lowercase();
    // A name longer than any account's can name no account: it is refused before it reaches
    // the throttle or the audit chain, which would otherwise keep it forever.
    if username.chars().count() > crate::admin::MAX_USERNAME_CHARS {
        return Err(AppError::bad_request(
            "invalid_username",
            format!("用户名最长 {} 个字符", crate::admin::MAX_USERNAME_CHARS),
            format!("a username has at most {} characters", crate::admin::MAX_USERNAME_CHARS),
        ));
    }
    // argon2's cost grows with the input: a password no account can have is not hashed.
    if password.len() > 1024 {
        return Err(AppError::bad_request("password_too_long", "密码过长", "the password is too long"));
    }
    let s = &app.settings;
    let attempt =
        app.throttle.begin(&username, addr, s.login_max_failures, s.login_max_failures_per_address, s.login_window);
    if attempt != auth::Attempt::Go {
        let reason = if attempt == auth::Attempt::NameLocked { "throttled" } else { "throttled_address" };
        // One event per window and key would be enough; the throttle already bounds how many
        // refused attempts reach here per name, and the address limit per client.
        let ev = NewEvent { actor: username.clone(), ..NewEvent::system("auth.login", "") }
            .with_outcome(Outcome::Denied)
            .with_detail(format!(r#"{{"reason":"{reason}"}}"#));
        app.audit.append(ev).await?;
        return Err(AppError::too_many(
            "login_throttled",
            format!("登录尝试次数过多，请 {} 分钟后再试", s.login_window.as_secs() / 60),
            format!("too many login attempts; try again in {} minutes", s.login_window.as_secs() / 60),
        ));
    }
    let user = app.storage.get_user_by_name(&username).await?;
    // The hash is checked even for unknown names so that timing does not reveal which exist.
    let hash = user.as_ref().map(|u| u.password_hash.clone()).unwrap_or_else(|| {
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0000000000000000000000000000000000000000000".into()
    });
    // argon2 is deliberately slow: it runs on the CPU pool, not on an async worker.
    let password = password.to_string();
    let verified = crate::limits::on_cpu(app, move || auth::verify_password(&password, &hash)).await?;
    let ok = verified && user.as_ref().is_some_and(|u| !u.disabled);
    let Some(user) = user.filter(|_| ok) else {
        let ev =
            NewEvent { actor: username.clone(), ..NewEvent::system("auth.login", "") }.with_outcome(Outcome::Failure);
        app.audit.append(ev).await?;
        return Err(AppError::new(
            crate::error::ErrorKind::Unauthenticated,
            "login_failed",
            "用户名或密码错误",
            "wrong username or password",
        ));
    };
    app.throttle.succeeded(&username, addr);
    let token = auth::random_token();
    let now = now_micros();
    let ttl = s.session_ttl.min(s.session_idle).as_micros() as i64;
    let session = Session {
        token_hash: auth::sha256_hex(&token),
        user_id: user.id,
        csrf_token: auth::random_token(),
        created_at_micros: now,
        expires_at_micros: now + ttl,
    };
    let ev = NewEvent {
        actor: user.username.clone(),
        actor_id: Some(user.id),
        org_id: user.org_id,
        role: pdp_storage::roles_to_text(&user.roles),
        ..NewEvent::system("auth.login", &format!("user:{}", user.id))
    };
    app.storage.create_session(session, ev).await?;
    Ok(LoggedIn { token, must_change_password: user.must_change_password })
}
