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

use crate::error::AppError;

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
