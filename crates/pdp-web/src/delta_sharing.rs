//! The Delta Sharing protocol server (bulk mode, R-SHR-04): agencies' data tools (the Python
//! `delta-sharing` client, Spark, pandas) read their bulk grants with an API key as the bearer
//! token, under `/delta-sharing` (STANDARDS.md, Delta Sharing protocol).
//!
//! Every active bulk grant of the caller's organisation is one share `grant-{id}` with one
//! schema `pdp` and one table named after the dataset. A query never hands out the raw table
//! files: it writes (once per grant and table version) a Parquet file of its own with only the
//! granted columns, only the rows the grant's filters admit, every value masked by the grant's
//! rule, and no column statistics. The file's URL is signed (HMAC over grant, version and
//! expiry with a key made at start) because clients fetch it without the bearer token; the
//! file route checks the signature, the expiry and again that the grant is usable, so a
//! suspension or revocation takes effect on the next fetch too. Predicate and limit hints are
//! only hints and are ignored: the grant decides what is served. Each query is recorded as an
//! access with its row count and the hashes of request and response (R-SHR-12).

use crate::AppState;
use crate::auth::Principal;
use crate::error::AppError;
use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use pdp_app::clock::{now_micros, today_date};
use pdp_app::datasets::lake;
pub use pdp_app::share_files::*;
use pdp_app::sharing::{grant_for_access, sha256_hex};
use pdp_domain::catalog::ShareMode;
use pdp_domain::sharing::{self, GrantStatus};
use pdp_storage::{Grant, GrantQuery};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

type S = State<Arc<AppState>>;

type P = Extension<Principal>;

/// The one schema of every share.
const SCHEMA: &str = "pdp";

pub use crate::error::DsError;

type R<T> = Result<T, DsError>;

fn share_name(g: &Grant) -> String {
    format!("grant-{}", g.id)
}

/// The table's name: the dataset's resource code with `/` made `_` (names are path segments).
fn table_name(g: &Grant) -> String {
    g.dataset.replace('/', "_")
}

fn not_found(what: &str) -> DsError {
    DsError(AppError::not_found(what))
}

/// The caller's usable bulk grants.
async fn bulk_grants(state: &AppState, p: &Principal) -> R<Vec<Grant>> {
    let Some(org) = p.org_id else { return Ok(Vec::new()) };
    let today = today_date();
    let grants = state
        .storage
        .list_grants(&GrantQuery { user_org: Some(org), ..Default::default() })
        .await
        .map_err(AppError::from)?;
    Ok(grants
        .into_iter()
        .filter(|g| g.mode == ShareMode::Bulk && g.status == GrantStatus::Active && today <= g.expires_on)
        .collect())
}

/// The grant a share names, if the caller may read it; its table must match too.
async fn grant_of(state: &AppState, p: &Principal, share: &str, schema: Option<&str>, table: Option<&str>) -> R<Grant> {
    let grants = bulk_grants(state, p).await?;
    let g = grants.into_iter().find(|g| share_name(g) == share).ok_or_else(|| not_found(&format!("share {share}")))?;
    if schema.is_some_and(|s| s != SCHEMA) {
        return Err(not_found(&format!("schema {}", schema.unwrap_or_default())));
    }
    if table.is_some_and(|t| t != table_name(&g)) {
        return Err(not_found(&format!("table {}", table.unwrap_or_default())));
    }
    Ok(g)
}

fn table_json(g: &Grant) -> Value {
    json!({"name": table_name(g), "schema": SCHEMA, "share": share_name(g), "shareId": share_name(g), "id": format!("{}-{}", share_name(g), table_name(g))})
}

pub async fn list_shares(State(state): S, Extension(p): P) -> R<axum::Json<Value>> {
    let items: Vec<Value> =
        bulk_grants(&state, &p).await?.iter().map(|g| json!({"name": share_name(g), "id": share_name(g)})).collect();
    Ok(axum::Json(json!({ "items": items })))
}

pub async fn get_share(State(state): S, Extension(p): P, Path(share): Path<String>) -> R<axum::Json<Value>> {
    let g = grant_of(&state, &p, &share, None, None).await?;
    Ok(axum::Json(json!({"share": {"name": share_name(&g), "id": share_name(&g)}})))
}

pub async fn list_schemas(State(state): S, Extension(p): P, Path(share): Path<String>) -> R<axum::Json<Value>> {
    let g = grant_of(&state, &p, &share, None, None).await?;
    Ok(axum::Json(json!({"items": [{"name": SCHEMA, "share": share_name(&g)}]})))
}

pub async fn list_tables(
    State(state): S,
    Extension(p): P,
    Path((share, schema)): Path<(String, String)>,
) -> R<axum::Json<Value>> {
    let g = grant_of(&state, &p, &share, Some(&schema), None).await?;
    Ok(axum::Json(json!({"items": [table_json(&g)]})))
}

pub async fn all_tables(State(state): S, Extension(p): P, Path(share): Path<String>) -> R<axum::Json<Value>> {
    let g = grant_of(&state, &p, &share, None, None).await?;
    Ok(axum::Json(json!({"items": [table_json(&g)]})))
}

fn with_version(mut resp: Response, version: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&version.to_string()) {
        resp.headers_mut().insert("delta-table-version", v);
    }
    resp
}

fn ndjson(lines: &[Value]) -> String {
    let mut out = String::new();
    for l in lines {
        out.push_str(&l.to_string());
        out.push('\n');
    }
    out
}

fn ndjson_response(body: String, version: u64) -> Response {
    let mut resp = body.into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson; charset=utf-8"));
    // Only the parquet response format is served; saying so keeps clients off the delta one.
    resp.headers_mut().insert("delta-sharing-capabilities", HeaderValue::from_static("responseformat=parquet"));
    with_version(resp, version)
}

async fn version_of(state: &AppState, g: &Grant) -> R<u64> {
    Ok(lake(state)?.latest_version(&g.dataset).await.map_err(AppError::from)?)
}

pub async fn version(
    State(state): S,
    Extension(p): P,
    Path((share, schema, table)): Path<(String, String, String)>,
) -> R<Response> {
    let g = grant_of(&state, &p, &share, Some(&schema), Some(&table)).await?;
    let v = version_of(&state, &g).await?;
    Ok(with_version(().into_response(), v))
}

fn protocol_and_metadata(g: &Grant) -> [Value; 2] {
    // The copy's columns: the granted fields, and the trace column of a copy with nothing masked.
    let fields: Vec<Value> = pdp_app::sharing::copy_columns(g)
        .iter()
        .map(|f| json!({"name": f, "type": "string", "nullable": true, "metadata": {}}))
        .collect();
    let schema = json!({"type": "struct", "fields": fields}).to_string();
    [
        json!({"protocol": {"minReaderVersion": 1}}),
        json!({"metaData": {
            "id": format!("{}-{}", share_name(g), table_name(g)), "name": table_name(g),
            "description": format!("{} (grant {}, masked as granted)", g.dataset, g.id),
            "format": {"provider": "parquet"}, "schemaString": schema, "partitionColumns": [], "configuration": {}
        }}),
    ]
}

pub async fn metadata(
    State(state): S,
    Extension(p): P,
    Path((share, schema, table)): Path<(String, String, String)>,
) -> R<Response> {
    let g = grant_of(&state, &p, &share, Some(&schema), Some(&table)).await?;
    let v = version_of(&state, &g).await?;
    Ok(ndjson_response(ndjson(&protocol_and_metadata(&g)), v))
}

fn sign(state: &AppState, payload: &str) -> String {
    sharing::pseudonym(&state.share_url_key, payload)
}

/// The platform's configured public address, for absolute file URLs ([`AppState::base_url`]):
/// a forged `Host` header must not send the signed file tokens to another server.
fn base_url(state: &AppState) -> &str {
    state.base_url()
}

/// Lists the grant's one file: written on the first query of a table version, then reused.
pub async fn query(
    State(state): S,
    Extension(p): P,
    Path((share, schema, table)): Path<(String, String, String)>,
    body: Bytes,
) -> R<Response> {
    let g = grant_of(&state, &p, &share, Some(&schema), Some(&table)).await?;
    let hints: Value = if body.is_empty() { json!({}) } else { serde_json::from_slice(&body).unwrap_or(json!({})) };
    let latest = version_of(&state, &g).await?;
    for key in ["version", "timestamp", "startingVersion"] {
        if hints.get(key).is_some_and(|v| !v.is_null() && v.as_u64() != Some(latest)) {
            return Err(DsError(AppError::bad_request(
                "delta_sharing_latest_only",
                "授权只提供数据的最新版本",
                "a grant serves the latest version of the data only",
            )));
        }
    }
    let a = grant_for_access(&state, &p, g.id, ShareMode::Bulk).await?;
    let (_, w) = pdp_app::sharing::grant_file(&state, &a, latest).await?;
    let columns = a.g.fields.clone();
    let expires_micros = now_micros() + URL_TTL_MICROS;
    let payload = format!("{}.{latest}.{expires_micros}", g.id);
    let url = format!("{}/delta-sharing/files/{payload}.{}", base_url(&state), sign(&state, &payload));
    let mut lines = protocol_and_metadata(&a.g).to_vec();
    let file = json!({
        "url": url, "id": sha256_hex(format!("grant-{}-v{latest}", g.id).as_bytes()), "partitionValues": {}, "size": w.bytes,
        "expirationTimestamp": expires_micros / 1000,
        // Only the row count: minimum and maximum values would leak sensitive fields.
        "stats": json!({"numRecords": w.rows}).to_string(),
    });
    lines.push(json!({ "file": file }));
    let out = ndjson(&lines);
    let mut ev = a.event(
        &p,
        ShareMode::Bulk,
        w.rows as usize,
        &columns,
        &String::from_utf8_lossy(&body),
        &sha256_hex(out.as_bytes()),
    );
    ev.action = "share.access.delta_sharing".into();
    state.record_access(g.id, 1, w.rows as i64, ev).await.map_err(AppError::from)?;
    Ok(ndjson_response(out, latest))
}

fn io_error(e: &std::io::Error) -> AppError {
    tracing::error!(error = %e, "delta sharing: reading a served file failed");
    AppError::internal("io_error", "读取文件失败", "reading the file failed")
}

/// One `bytes=` range of a file of `len` bytes, as an inclusive start and end.
fn parse_range(h: &str, len: u64) -> Option<(u64, u64)> {
    let spec = h.strip_prefix("bytes=")?;
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (len.saturating_sub(n), len - 1)
        }
        (s, "") => (s.parse().ok()?, len - 1),
        (s, e) => (s.parse().ok()?, e.parse::<u64>().ok()?.min(len - 1)),
    };
    (start <= end && start < len).then_some((start, end))
}

/// A signed file URL: `{grant}.{version}.{expires}.{signature}`. No bearer token; the
/// signature, the expiry and the grant's state decide. Supports single byte ranges, which
/// Parquet readers use to read the footer first.
pub async fn file(State(state): S, headers: HeaderMap, Path(token): Path<String>) -> R<Response> {
    let refused = || {
        DsError(AppError::new(
            crate::error::ErrorKind::NotFound,
            "delta_sharing_bad_url",
            "文件地址无效或已过期，请重新查询",
            "the file URL is invalid or has expired; query the table again",
        ))
    };
    let (payload, sig) = token.rsplit_once('.').ok_or_else(refused)?;
    if !crate::auth::same(sig, &sign(&state, payload)) {
        return Err(refused());
    }
    let mut parts = payload.split('.');
    let (Some(grant), Some(version), Some(expires), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refused());
    };
    let (Ok(grant), Ok(version), Ok(expires)) = (grant.parse::<i64>(), version.parse::<u64>(), expires.parse::<i64>())
    else {
        return Err(refused());
    };
    if expires < now_micros() {
        return Err(refused());
    }
    let g = state.storage.get_grant(grant).await.map_err(AppError::from)?.ok_or_else(refused)?;
    sharing::check_access(g.status, g.expires_on, today_date(), ShareMode::Bulk, ShareMode::Bulk)
        .map_err(|e| DsError(pdp_app::sharing::denied(&e)))?;
    let path = share_file(&state, grant, version)?;
    let mut f = tokio::fs::File::open(&path).await.map_err(|_| not_found("file"))?;
    let len = f.metadata().await.map_err(|e| io_error(&e))?.len();
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (partial, start, end) = match range {
        Some(r) => match parse_range(r, len) {
            Some((s, e)) => (true, s, e),
            None => return Ok(crate::error::range_not_satisfiable(len)),
        },
        None => (false, 0, len.saturating_sub(1)),
    };
    let count = if len == 0 { 0 } else { end - start + 1 };
    // Every download of a grant's file is on the record (the query that handed out the URL
    // is the access; the downloads say which bytes left, and when).
    let mut ev = pdp_audit::NewEvent::system("share.access.delta_sharing.file", &format!("grant:{grant}"));
    ev.actor = format!("signed-url:grant:{grant}");
    ev.org_id = Some(g.user_org_id);
    ev.purpose = format!("version={version} bytes={start}-{end} of {len}");
    state.audit.append(ev).await.map_err(AppError::from)?;
    f.seek(std::io::SeekFrom::Start(start)).await.map_err(|e| io_error(&e))?;
    let stream = futures::stream::unfold((f.take(count), vec![0u8; 64 * 1024]), |(mut r, mut buf)| async move {
        match r.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => Some((Ok::<_, std::io::Error>(Bytes::copy_from_slice(&buf[..n])), (r, buf))),
            Err(e) => Some((Err(e), (r, buf))),
        }
    });
    let mut resp = Body::from_stream(stream).into_response();
    if partial {
        crate::error::partial_content(&mut resp);
    }
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&count.to_string()) {
        h.insert(header::CONTENT_LENGTH, v);
    }
    if partial && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    /// covers: R-SHR-04 (byte ranges of served files, as Parquet readers ask for them)
    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-8", 100), Some((92, 99)));
        assert_eq!(parse_range("bytes=95-200", 100), Some((95, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=5-2", 100), None);
        assert_eq!(parse_range("bytes=0-1,4-5", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
        assert_eq!(parse_range("bytes=-0", 0), None);
    }
}
