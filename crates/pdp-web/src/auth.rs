//! Authentication and authorisation: passwords, sessions, API keys, CSRF, throttling, and the
//! deny-by-default permission check that runs before every handler.
//!
//! Secrets are never stored: passwords as argon2id hashes, session tokens and API key secrets as
//! SHA-256 hashes (they are long random strings, so a fast hash is enough).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use pdp_audit::{NewEvent, Outcome};
use pdp_storage::now_micros;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::{ApiError, AppError};
pub use pdp_app::{Principal, Via};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "pdp_session";

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
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of one cookie in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Finds the caller from the session cookie or an `Authorization: Bearer` API key.
pub async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<Option<Principal>, AppError> {
    let now = now_micros();
    if let Some(auth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        // A request that presents a key must be judged by that key alone: a bad key is a 401,
        // never a silent fall-back to a cookie.
        let token = auth.strip_prefix("Bearer ").ok_or_else(AppError::unauthenticated)?;
        return resolve_api_key(state, token.trim(), now).await.map(Some);
    }
    let Some(token) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    let token_hash = sha256_hex(token);
    let Some(session) = state.storage.get_session(&token_hash).await? else { return Ok(None) };
    if session.expires_at_micros < now {
        return Ok(None);
    }
    // The idle timeout slides with use, at most up to the session's whole lifetime; the expiry
    // is written at most once a minute per session.
    let idle = state.settings.session_idle.as_micros() as i64;
    let end = session.created_at_micros.saturating_add(state.settings.session_ttl.as_micros() as i64);
    let slid = now.saturating_add(idle).min(end);
    if slid - session.expires_at_micros > 60_000_000 {
        state.storage.touch_session(&token_hash, slid).await?;
    }
    let Some(user) = state.storage.get_user(session.user_id).await? else { return Ok(None) };
    if user.disabled {
        return Ok(None);
    }
    let org_id = user.org_id;
    Ok(Some(Principal { user: Arc::new(user), via: Via::Session { token_hash, csrf: session.csrf_token }, org_id }))
}

/// API keys look like `pdp_<id>_<secret>`; the id finds the row, the secret proves possession.
async fn resolve_api_key(state: &AppState, token: &str, now: i64) -> Result<Principal, AppError> {
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
    let found = match state.access_cache.api_key(id) {
        Some(found) => found,
        None => {
            // Taken before reading: see the access cache's invariants.
            let generation = state.access_cache.generation();
            let key = state.storage.get_api_key(id).await?.ok_or_else(invalid)?;
            let user = state.storage.get_user(key.user_id).await?.ok_or_else(invalid)?;
            let found = Arc::new((key, Arc::new(user)));
            state.access_cache.put_api_key(id, generation, found.clone());
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

/// Requests per API key: a token bucket per key that refills at `rate` per second and holds
/// up to two seconds' worth, so a system may burst briefly but not flood the platform.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<i64, (f64, Instant)>>,
}

impl RateLimiter {
    /// Takes one token for `key`; `false` when the bucket is empty. A rate of 0 means no limit.
    pub fn allow(&self, key: i64, rate: u32) -> bool {
        if rate == 0 {
            return true;
        }
        let (rate, cap) = (f64::from(rate), f64::from(rate) * 2.0);
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
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

/// Whether a path belongs to the JSON API (errors as JSON) rather than the pages (errors as
/// HTML or a redirect to the login page).
pub fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/delta-sharing/")
}

/// The deny-by-default gate. It runs after routing, looks up the permission that the route
/// table declares for the matched route, and refuses the request unless the caller holds it.
/// Denials are audited. Cookie-authenticated requests that change state must carry the
/// session's CSRF token (header `X-CSRF-Token` or form field `csrf`).
pub async fn gate(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let path = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_default();
    let method = req.method().clone();
    let Some(spec) = crate::routes::find(&method, &path) else {
        // Every route is in the table; a route missing from it is refused, not let through.
        return ApiError(AppError::forbidden()).into_response();
    };
    let api = is_api(&path);
    let principal = match resolve(&state, req.headers()).await {
        Ok(p) => p,
        Err(e) => {
            // A presented key that does not hold is a security event (a guessed, leaked or
            // revoked key): audited, at a bounded rate so it cannot flood the chain.
            if e.code == "invalid_api_key" {
                audit_refusal(&state, NewEvent::system("auth.api_key", &format!("{method} {path}")), REFUSAL_BAD_KEY)
                    .await;
            }
            return respond(&path, e);
        }
    };
    // An account whose password an administrator chose does nothing before choosing its own.
    if let Some(p) = &principal
        && p.user.must_change_password
        && matches!(p.via, Via::Session { .. })
        && !crate::accounts::allowed_before_password_change(&path)
    {
        if api {
            return respond(
                &path,
                AppError::not_allowed(
                    "password_change_required",
                    "请先修改由管理员设置的密码",
                    "change the password an administrator set first",
                ),
            );
        }
        return Redirect::to("/account/password").into_response();
    }
    if let Some(Principal { via: Via::ApiKey { id }, .. }) = &principal
        && !state.rate.allow(*id, state.settings.api_key_rate_per_second)
    {
        let mut resp = respond(
            &path,
            AppError::new(
                crate::error::ErrorKind::TooMany,
                "rate_limited",
                "该 API 密钥的请求过于频繁，请稍后再试",
                "too many requests with this API key; slow down and retry",
            ),
        );
        resp.headers_mut().insert(header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
        return resp;
    }
    let Some(perm) = spec.perm else {
        let mut req = req;
        if let Some(p) = principal {
            req.extensions_mut().insert(p);
        }
        return next.run(req).await;
    };
    let Some(principal) = principal else {
        if api {
            return respond(&path, AppError::unauthenticated());
        }
        let uri = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        return Redirect::to(&format!("/login?next={}", urlencode(uri))).into_response();
    };
    if !principal.allows(perm) {
        let ev = principal.event("access.denied", &format!("{method} {path}")).with_outcome(Outcome::Denied);
        if let Err(e) = state.audit.append(ev).await {
            return respond(&path, e.into());
        }
        return respond(&path, AppError::forbidden());
    }
    let mut req = req;
    if method != Method::GET
        && method != Method::HEAD
        && let Via::Session { csrf, .. } = &principal.via
    {
        let (ok, rebuilt) = csrf_ok(req, csrf).await;
        if !ok {
            // A forged cross-site request, or a stale form: audited at a bounded rate.
            let ev = principal.event("auth.csrf", &format!("{method} {path}")).with_outcome(Outcome::Denied);
            audit_refusal(&state, ev, REFUSAL_CSRF).await;
            return respond(
                &path,
                AppError::not_allowed(
                    "csrf_failed",
                    "表单已失效，请刷新页面后重试",
                    "the form has expired; reload the page and try again",
                ),
            );
        }
        req = rebuilt;
    }
    req.extensions_mut().insert(principal);
    if !spec.data_access {
        // Any page or API call but a data access may read the audit log or usage counters:
        // it sees every access recorded before it (see the access journal's invariants).
        state.sync_accesses().await;
    }
    let changes = method != Method::GET && method != Method::HEAD && !spec.record_only;
    let resp = next.run(req).await;
    if changes {
        // After the handler, so after its commit: see the access cache's invariants. Bumped
        // whatever the outcome; a needless bump only costs a few reads.
        state.access_cache.invalidate();
    }
    resp
}

/// Checks the CSRF token, buffering a form body to read its `csrf` field and handing the same
/// bytes on to the handler.
async fn csrf_ok(req: Request, expected: &str) -> (bool, Request) {
    if let Some(h) = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        let ok = same(h, expected);
        return (ok, req);
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return (false, req);
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return (false, Request::from_parts(parts, Body::empty()));
    };
    let ok = form_urlencoded_field(&bytes, "csrf").is_some_and(|v| same(&v, expected));
    (ok, Request::from_parts(parts, Body::from(bytes)))
}

/// The first value of `name` in an `application/x-www-form-urlencoded` body.
fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    form_values(std::str::from_utf8(body).ok()?, name).into_iter().next()
}

/// All values of `name` in an `application/x-www-form-urlencoded` body, in order (check boxes
/// send one pair per ticked box).
pub fn form_values(body: &str, name: &str) -> Vec<String> {
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| urldecode(k) == name)
        .map(|(_, v)| urldecode(v))
        .collect()
}

fn urldecode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but unreserved characters.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A refusal in the shape the path's clients expect: the Delta Sharing protocol's
/// `{"errorCode", "message"}` for its clients, the platform's JSON error for the API, an error
/// page for the UI.
const REFUSAL_BAD_KEY: i64 = 1;
const REFUSAL_CSRF: i64 = 2;
/// A use of another organisation's grant.
pub(crate) const REFUSAL_OTHER_ORG: i64 = 3;
/// Refused requests of each kind written to the audit chain per second (bursts of twice that).
const REFUSALS_AUDITED_PER_SECOND: u32 = 5;

/// Writes a refusal to the audit chain unless refusals of its kind come faster than
/// [`REFUSALS_AUDITED_PER_SECOND`]: the chain records that an attack happened without letting
/// the attack fill it. The refusal itself is answered either way.
pub(crate) async fn audit_refusal(state: &AppState, ev: NewEvent, kind: i64) {
    if !state.refusal_rate.allow(kind, REFUSALS_AUDITED_PER_SECOND) {
        return;
    }
    if let Err(e) = state.audit.append(ev.with_outcome(Outcome::Denied)).await {
        tracing::error!(error = %AppError::from(e).en, "could not audit a refused request");
    }
}

fn respond(path: &str, e: AppError) -> Response {
    if path.starts_with("/delta-sharing/") {
        crate::delta_sharing::DsError::from(e).into_response()
    } else if is_api(path) {
        ApiError(e).into_response()
    } else {
        crate::pages::error_page(e)
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

    /// covers: R-SEC-04 (the CSRF token is read from form bodies exactly, including escapes)
    #[test]
    fn form_fields_decode() {
        assert_eq!(form_urlencoded_field(b"a=1&csrf=ab%2Fc+d", "csrf").as_deref(), Some("ab/c d"));
        assert_eq!(form_urlencoded_field(b"a=1", "csrf"), None);
        assert_eq!(urldecode("%E4%B8%AD"), "中");
        assert_eq!(urldecode("100%"), "100%");
    }
}
