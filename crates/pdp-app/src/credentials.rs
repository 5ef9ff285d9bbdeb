//! Credentials and their abuse limits: password hashing (argon2id) and policy, random tokens,
//! SHA-256 of secrets, constant-time comparison, the login throttle, request rate buckets, the
//! rate-limited audit of refused requests, and the rule that nobody assigns their own roles.
//!
//! Secrets are never stored: passwords as argon2id hashes, session tokens and API key secrets as
//! SHA-256 hashes (they are long random strings, so a fast hash is enough).

use crate::App;
use crate::clock::now_micros;
use crate::error::AppError;
use crate::{Principal, Via};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use pdp_audit::{NewEvent, Outcome};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

/// Checks a password against a stored hash; any malformed hash fails closed.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A password policy that a data bureau's 等保 assessment accepts: 12+ characters with letters
/// and digits.
pub fn check_password_policy(password: &str) -> Result<(), AppError> {
    let long = password.chars().count() >= 12;
    let letters = password.chars().any(|c| c.is_alphabetic());
    let digits = password.chars().any(|c| c.is_ascii_digit());
    if long && letters && digits {
        Ok(())
    } else {
        Err(AppError::bad_request(
            "weak_password",
            "密码至少 12 位，且须同时包含字母和数字",
            "the password needs at least 12 characters with both letters and digits",
        ))
    }
}

/// A random token of 32 bytes in hex.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

pub fn sha256_hex(s: &str) -> String {
    pdp_audit::hex_lower(&Sha256::digest(s.as_bytes()))
}

/// Compares two strings in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Requests per API key: a token bucket per key that refills at `rate` per second and holds
/// up to two seconds' worth, so a system may burst briefly but not flood the platform.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<i64, (f64, Instant)>>,
}

impl RateLimiter {
    /// Buckets kept at once: past this, the buckets that have filled up again (idle keys) are
    /// dropped, since a full bucket is what a new key starts with.
    pub const MAX_KEYS: usize = 100_000;

    /// Takes one token for `key`; `false` when the bucket is empty. A rate of 0 means no limit.
    pub fn allow(&self, key: i64, rate: u32) -> bool {
        if rate == 0 {
            return true;
        }
        let (rate, cap) = (f64::from(rate), f64::from(rate) * 2.0);
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if map.len() >= Self::MAX_KEYS && !map.contains_key(&key) {
            map.retain(|_, (tokens, last)| *tokens + now.duration_since(*last).as_secs_f64() * rate < cap);
        }
        let (tokens, last) = map.entry(key).or_insert((cap, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(cap);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Login attempts per account name and per client address within a sliding window.
///
/// An attempt is reserved before its password is checked and released only when it succeeds,
/// so concurrent guesses count each other and none gets past the limit. The map holds at most
/// `max` instants per key and at most [`Throttle::MAX_KEYS`] keys: when it is full of keys with
/// recent attempts, a new name or address is refused until some expire (deny, not forget).
#[derive(Debug, Default)]
pub struct Throttle {
    attempts: Mutex<HashMap<String, std::collections::VecDeque<Instant>>>,
}

/// The throttle's answer to a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Reserved: check the password, then call [`Throttle::succeeded`] if it was right.
    Go,
    /// Too many recent attempts for this account name.
    NameLocked,
    /// Too many recent attempts from this client address.
    AddressLocked,
}

impl Throttle {
    /// Keys (names and addresses) tracked at once.
    pub const MAX_KEYS: usize = 100_000;

    fn name_key(username: &str) -> String {
        format!("u:{}", username.trim().to_lowercase())
    }

    fn addr_key(addr: std::net::IpAddr) -> String {
        format!("a:{addr}")
    }

    /// Reserves one attempt for `username` (at most `max` in `window`) and for `addr` (at most
    /// `max_addr`), both or neither.
    pub fn begin(
        &self,
        username: &str,
        addr: Option<std::net::IpAddr>,
        max: u32,
        max_addr: u32,
        window: Duration,
    ) -> Attempt {
        let mut map = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        let mut keys = vec![(Self::name_key(username), max, Attempt::NameLocked)];
        if let Some(a) = addr {
            keys.push((Self::addr_key(a), max_addr, Attempt::AddressLocked));
        }
        for (k, limit, locked) in &keys {
            let recent = match map.get_mut(k) {
                Some(q) => {
                    while q.front().is_some_and(|t| t.elapsed() >= window) {
                        q.pop_front();
                    }
                    q.len()
                }
                None => 0,
            };
            if recent >= *limit as usize {
                return *locked;
            }
        }
        let new_keys = keys.iter().filter(|(k, ..)| !map.contains_key(k)).count();
        if map.len() + new_keys > Self::MAX_KEYS {
            map.retain(|_, q| q.back().is_some_and(|t| t.elapsed() < window));
            if map.len() + new_keys > Self::MAX_KEYS {
                tracing::warn!("login throttle full: refusing attempts from new names and addresses");
                return Attempt::AddressLocked;
            }
        }
        let now = Instant::now();
        for (k, ..) in keys {
            map.entry(k).or_default().push_back(now);
        }
        Attempt::Go
    }

    /// A reserved attempt succeeded: the name's attempts are forgotten and the address gets
    /// its reservation back.
    pub fn succeeded(&self, username: &str, addr: Option<std::net::IpAddr>) {
        let mut map = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&Self::name_key(username));
        if let Some(a) = addr
            && let Some(q) = map.get_mut(&Self::addr_key(a))
        {
            q.pop_back();
        }
    }

    /// Keys tracked now (for tests and metrics).
    pub fn tracked(&self) -> usize {
        self.attempts.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// A refusal in the shape the path's clients expect: the Delta Sharing protocol's
/// `{"errorCode", "message"}` for its clients, the platform's JSON error for the API, an error
/// page for the UI.
pub const REFUSAL_BAD_KEY: i64 = 1;

pub const REFUSAL_CSRF: i64 = 2;

/// A use of another organisation's grant.
pub(crate) const REFUSAL_OTHER_ORG: i64 = 3;

/// Refused requests of each kind written to the audit chain per second (bursts of twice that).
pub const REFUSALS_AUDITED_PER_SECOND: u32 = 5;

/// Writes a refusal to the audit chain unless refusals of its kind come faster than
/// [`REFUSALS_AUDITED_PER_SECOND`]: the chain records that an attack happened without letting
/// the attack fill it. The refusal itself is answered either way.
pub async fn audit_refusal(state: &App, ev: NewEvent, kind: i64) {
    if !state.refusal_rate.allow(kind, REFUSALS_AUDITED_PER_SECOND) {
        return;
    }
    if let Err(e) = state.audit.append(ev.with_outcome(Outcome::Denied)).await {
        tracing::error!(error = %AppError::from(e).en, "could not audit a refused request");
    }
}

/// Roles that an account may not give itself: nobody assigns their own roles (FS 40).
pub fn may_assign(actor: &Principal, target_user_id: i64) -> Result<(), AppError> {
    if actor.user.id == target_user_id {
        return Err(AppError::not_allowed(
            "self_assignment",
            "不能为自己分配角色",
            "nobody can assign roles to their own account",
        ));
    }
    Ok(())
}

/// The account a session token belongs to, while the session lasts: `None` for an unknown,
/// expired or idle session or a disabled account. The idle timeout slides with use, at most up
/// to the session's whole lifetime; the expiry is written at most once a minute per session.
pub async fn authenticate_session(app: &App, token: &str) -> Result<Option<Principal>, AppError> {
    let now = now_micros();
    let token_hash = sha256_hex(token);
    let Some(session) = app.storage.get_session(&token_hash).await? else { return Ok(None) };
    if session.expires_at_micros < now {
        return Ok(None);
    }
    let idle = app.settings.session_idle.as_micros() as i64;
    let end = session.created_at_micros.saturating_add(app.settings.session_ttl.as_micros() as i64);
    let slid = now.saturating_add(idle).min(end);
    if slid - session.expires_at_micros > 60_000_000 {
        app.storage.touch_session(&token_hash, slid).await?;
    }
    let Some(user) = app.storage.get_user(session.user_id).await? else { return Ok(None) };
    if user.disabled {
        return Ok(None);
    }
    let org_id = user.org_id;
    Ok(Some(Principal { user: Arc::new(user), via: Via::Session { token_hash, csrf: session.csrf_token }, org_id }))
}

/// The caller an API key proves: keys look like `pdp_<id>_<secret>`; the id finds the row (from
/// the access cache when it holds it), the secret proves possession. A key unknown, wrong,
/// revoked or expired, or of a disabled account, is refused as `invalid_api_key`.
pub async fn authenticate_api_key(app: &App, token: &str) -> Result<Principal, AppError> {
    let now = now_micros();
    let invalid = || {
        AppError::new(
            crate::error::ErrorKind::Unauthenticated,
            "invalid_api_key",
            "API 密钥无效、已过期或已吊销",
            "the API key is invalid, expired or revoked",
        )
    };
    let rest = token.strip_prefix("pdp_").ok_or_else(invalid)?;
    let (id, secret) = rest.split_once('_').ok_or_else(invalid)?;
    let id: i64 = id.parse().map_err(|_| invalid())?;
    let found = match app.access_cache.api_key(id) {
        Some(found) => found,
        None => {
            // Taken before reading: see the access cache's invariants.
            let generation = app.access_cache.generation();
            let key = app.storage.get_api_key(id).await?.ok_or_else(invalid)?;
            let user = app.storage.get_user(key.user_id).await?.ok_or_else(invalid)?;
            let found = Arc::new((key, Arc::new(user)));
            app.access_cache.put_api_key(id, generation, found.clone());
            found
        }
    };
    // Every check runs on every request, on fresh or cached rows alike.
    let (key, user) = (&found.0, &found.1);
    if !same(&key.secret_hash, &sha256_hex(secret)) || key.revoked_at_micros.is_some() || key.expires_at_micros < now {
        return Err(invalid());
    }
    if user.disabled {
        return Err(invalid());
    }
    Ok(Principal { user: user.clone(), via: Via::ApiKey { id: key.id }, org_id: key.org_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// covers: R-SEC-04 (identity authentication: argon2id hashes verify and never equal the password)
    #[test]
    fn password_hash_roundtrip() {
        let h = hash_password("correct horse 42").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse 42", &h));
        assert!(!verify_password("correct horse 43", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    /// covers: R-SEC-04, R-SEC-06 (login throttling against password guessing, per name and
    /// per address, reserved before the check so concurrent guesses count)
    #[test]
    fn throttle_locks_after_max_attempts() {
        let t = Throttle::default();
        let w = Duration::from_secs(60);
        let a: std::net::IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..5 {
            assert_eq!(t.begin("Alice", Some(a), 5, 50, w), Attempt::Go);
        }
        // Five reservations, none released: the sixth is refused, whatever the case or spaces.
        assert_eq!(t.begin("alice ", Some(a), 5, 50, w), Attempt::NameLocked);
        t.succeeded("ALICE", Some(a));
        assert_eq!(t.begin("alice", Some(a), 5, 50, w), Attempt::Go);
        // One address guessing many names is stopped by the address limit.
        let b: std::net::IpAddr = "10.0.0.2".parse().unwrap();
        for i in 0..3 {
            assert_eq!(t.begin(&format!("u{i}"), Some(b), 5, 3, w), Attempt::Go);
        }
        assert_eq!(t.begin("u9", Some(b), 5, 3, w), Attempt::AddressLocked);
        // Concurrent attempts: exactly `max` get through.
        let t = std::sync::Arc::new(Throttle::default());
        let go: usize = std::thread::scope(|s| {
            let hs: Vec<_> = (0..32)
                .map(|_| {
                    let t = t.clone();
                    s.spawn(move || usize::from(t.begin("bob", None, 5, 50, w) == Attempt::Go))
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(go, 5);
    }

    /// covers: R-SEC-06 (the throttle's memory is bounded)
    #[test]
    fn throttle_holds_a_bounded_number_of_keys() {
        let t = Throttle::default();
        let w = Duration::from_secs(600);
        for i in 0..Throttle::MAX_KEYS {
            assert_eq!(t.begin(&format!("n{i}"), None, 5, 50, w), Attempt::Go);
        }
        assert_eq!(t.begin("one-more", None, 5, 50, w), Attempt::AddressLocked);
        assert_eq!(t.tracked(), Throttle::MAX_KEYS);
        // Known keys still work; expired ones make room.
        assert_eq!(t.begin("n1", None, 5, 50, w), Attempt::Go);
        let t = Throttle::default();
        for i in 0..Throttle::MAX_KEYS {
            t.begin(&format!("n{i}"), None, 5, 50, Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(t.begin("new", None, 5, 50, Duration::from_millis(1)), Attempt::Go);
        assert!(t.tracked() < 10);
    }
}
