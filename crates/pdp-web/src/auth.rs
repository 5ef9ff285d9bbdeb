//! Authentication and authorisation: passwords, sessions, API keys, CSRF, throttling, and the
//! deny-by-default permission check that runs before every handler.
//!
//! Secrets are never stored: passwords as argon2id hashes, session tokens and API key secrets as
//! SHA-256 hashes (they are long random strings, so a fast hash is enough).

use crate::AppState;
use crate::error::{ApiError, AppError};
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
pub use pdp_app::credentials::*;
pub use pdp_app::{Principal, Via};
use pdp_audit::{NewEvent, Outcome};
use std::sync::Arc;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "pdp_session";

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
    if let Some(auth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        // A request that presents a key must be judged by that key alone: a bad key is a 401,
        // never a silent fall-back to a cookie.
        let token = auth.strip_prefix("Bearer ").ok_or_else(AppError::unauthenticated)?;
        return pdp_app::credentials::authenticate_api_key(state, token.trim()).await.map(Some);
    }
    let Some(token) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    pdp_app::credentials::authenticate_session(state, token).await
}

/// The paths an account that must change its password may still use.
pub fn allowed_before_password_change(path: &str) -> bool {
    matches!(path, "/account/password" | "/api/v1/me/password" | "/logout" | "/api/v1/me" | "/static/{file}")
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
        && !allowed_before_password_change(&path)
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
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    // A file upload's form cannot be buffered to read a field (it may be large), so a page's
    // multipart form carries the token in its action's query string instead.
    if content_type.starts_with("multipart/form-data") {
        let ok = req
            .uri()
            .query()
            .and_then(|q| form_urlencoded_field(q.as_bytes(), "csrf"))
            .is_some_and(|v| same(&v, expected));
        return (ok, req);
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
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
    form_urlencoded::parse(body).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// A value for a URL's query string, percent-encoded as forms encode it.
pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn respond(path: &str, e: AppError) -> Response {
    if path.starts_with("/delta-sharing/") {
        crate::error::DsError::from(e).into_response()
    } else if is_api(path) {
        ApiError(e).into_response()
    } else {
        crate::layout::error_page(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// covers: R-SEC-04 (the CSRF token is read from form bodies exactly, including escapes)
    #[test]
    fn form_fields_decode() {
        assert_eq!(form_urlencoded_field(b"a=1&csrf=ab%2Fc+d", "csrf").as_deref(), Some("ab/c d"));
        assert_eq!(form_urlencoded_field(b"a=1", "csrf"), None);
        assert_eq!(form_urlencoded_field("y=1&x=%E4%B8%AD&x=2".as_bytes(), "x").as_deref(), Some("中"));
        assert_eq!(
            form_urlencoded_field(format!("x={}", urlencode("a b/中&=+")).as_bytes(), "x").as_deref(),
            Some("a b/中&=+")
        );
    }
}
