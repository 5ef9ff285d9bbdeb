//! Webhooks of the open portal (R-OPN-09): a signed-in account follows a dataset or a provider
//! with a URL, and each newly published release of it is posted there, signed.
//!
//! Announcing is an outbox: a release is published by whichever path (the review, an automatic
//! push after a load, another process's `pdp load`), and [`announce`], which `pdp serve` runs
//! every few seconds, posts every published release not yet announced to its subscribers and
//! then marks it announced. A crash in between posts it again: deliveries are at least once,
//! and each carries a stable `X-PDP-Delivery` id (subscription and release) for the receiver to
//! drop repeats. The post itself goes through [`WebhookSender`], which the web layer implements
//! (this crate speaks no HTTP); it refuses private addresses unless the deployment allows them.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use pdp_domain::webhook::{MAX_SUBSCRIPTIONS, check_url, signature};
use pdp_storage::{NewSubscription, OpenRelease, Subscription};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::AppError;
use crate::{App, Principal};

/// What a post came to: the receiver's HTTP status, or why there was none.
pub type PostOutcome = Result<u16, String>;

/// Posts a webhook's body; implemented by the web layer.
pub trait WebhookSender: Send + Sync {
    /// Posts `body` (JSON) to `url` with `headers`, with a short timeout and no redirects.
    fn post(
        &self,
        url: &str,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    ) -> Pin<Box<dyn Future<Output = PostOutcome> + Send>>;
}

/// The tries of one delivery and the pauses between them.
const TRIES: [Duration; 3] = [Duration::ZERO, Duration::from_secs(1), Duration::from_secs(3)];
/// The most releases one round announces.
const ROUND: i64 = 200;

/// A webhook to create: exactly one of a dataset (catalog entry) or an organisation.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeInput {
    pub entry_id: Option<i64>,
    pub org_id: Option<i64>,
    /// `http` or `https`.
    pub url: String,
}

/// A created webhook with its secret, shown this once: the key of each delivery's
/// `X-PDP-Signature-256` (HMAC-SHA256 of the body, `sha256=` and hex).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Subscribed {
    pub subscription: Subscription,
    pub secret: String,
}

/// Follows an open dataset or a provider with a webhook.
pub async fn subscribe(state: &App, p: &Principal, input: &SubscribeInput) -> Result<Subscribed, AppError> {
    let url = check_url(&input.url).map_err(|e| AppError::bad_request("webhook_url_invalid", e.zh, e.en))?;
    match (input.entry_id, input.org_id) {
        (Some(entry), None) => {
            crate::open::open_dataset(state, entry).await?;
        }
        (None, Some(org)) => {
            state.storage.get_org(org).await?.ok_or_else(|| AppError::not_found(&format!("organisation {org}")))?;
        }
        _ => {
            return Err(AppError::bad_request(
                "webhook_target_required",
                "请指定要订阅的数据集或提供单位之一",
                "name either a dataset or a provider to follow",
            ));
        }
    }
    if state.storage.list_subscriptions(Some(p.user.id)).await?.len() >= MAX_SUBSCRIPTIONS {
        return Err(AppError::conflict(
            "too_many_webhooks",
            format!("每个账号最多 {MAX_SUBSCRIPTIONS} 个订阅"),
            format!("an account keeps at most {MAX_SUBSCRIPTIONS} webhooks"),
        ));
    }
    let mut secret = vec![0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut secret);
    let mut ev = p.event("open.webhook.create", "");
    ev.purpose = url.host_str().unwrap_or_default().to_string();
    let s = state
        .storage
        .create_subscription(
            NewSubscription {
                user_id: p.user.id,
                entry_id: input.entry_id,
                org_id: input.org_id,
                url: url.to_string(),
                secret: secret.clone(),
            },
            ev,
        )
        .await?;
    Ok(Subscribed { subscription: s, secret: hex::encode(secret) })
}

/// The account's own webhooks with their last delivery.
pub async fn subscriptions(state: &App, p: &Principal) -> Result<Vec<Subscription>, AppError> {
    Ok(state.storage.list_subscriptions(Some(p.user.id)).await?)
}

/// Deletes one of the account's own webhooks.
pub async fn unsubscribe(state: &App, p: &Principal, id: i64) -> Result<(), AppError> {
    match state.storage.get_subscription(id).await? {
        Some(s) if s.user_id == p.user.id => {}
        _ => return Err(AppError::not_found(&format!("webhook {id}"))),
    }
    state.storage.delete_subscription(id, p.event("open.webhook.delete", "")).await?;
    Ok(())
}

/// The body of a delivery: the release, its dataset and the links to use it.
fn payload(base: &str, s: &Subscription, r: &OpenRelease, d: &crate::open::OpenDataset) -> serde_json::Value {
    let base = base.trim_end_matches('/');
    let downloads: serde_json::Map<String, serde_json::Value> = r
        .rules
        .formats
        .iter()
        .map(|f| {
            (f.as_str().to_string(), format!("{base}/api/v1/open/releases/{}/download/{}", r.id, f.as_str()).into())
        })
        .collect();
    serde_json::json!({
        "event": "release.published",
        "delivery": format!("{}-{}", s.id, r.id),
        "release": {
            "id": r.id,
            "rows": r.rows,
            "source_version": r.source_version,
            "open_type": r.open_type.as_str(),
            "published_at": r.published_at_micros.map(crate::admin::rfc3339),
            "downloads": downloads,
            "rows_api": format!("{base}/api/v1/open/releases/{}/rows", r.id),
        },
        "dataset": {
            "entry_id": d.entry_id,
            "code": d.code,
            "name": d.name,
            "provider": d.org_name,
            "page": format!("{base}/open/datasets/{}", d.entry_id),
        },
    })
}

/// Posts every published release not yet announced to the webhooks that follow its dataset or
/// provider, then marks it announced; links start with `base`, the platform's public address.
/// Returns the deliveries tried.
pub async fn announce(state: &App, base: &str) -> Result<usize, AppError> {
    let Some(sender) = state.webhooks.clone() else { return Ok(0) };
    let releases = state.storage.releases_to_announce(ROUND).await?;
    if releases.is_empty() {
        return Ok(0);
    }
    let subs = state.storage.list_subscriptions(None).await?;
    let catalog = crate::open::open_catalog(state).await?;
    let mut tried = 0;
    for r in &releases {
        // A release whose entry the catalog no longer opens is announced to nobody.
        let Some((d, _)) = catalog.get(r.entry_id) else { continue };
        // A webhook hears of releases published after it was made.
        let published = r.published_at_micros.unwrap_or(r.prepared_at_micros);
        let followers = subs.iter().filter(|s| {
            (s.entry_id == Some(r.entry_id) || s.org_id == Some(r.org_id)) && published >= s.created_at_micros
        });
        for s in followers {
            let Some(secret) = state.storage.subscription_secret(s.id).await? else { continue };
            let body = payload(base, s, r, d).to_string().into_bytes();
            let headers = vec![
                ("content-type", "application/json".to_string()),
                ("x-pdp-event", "release.published".to_string()),
                ("x-pdp-delivery", format!("{}-{}", s.id, r.id)),
                ("x-pdp-signature-256", signature(&secret, &body)),
            ];
            let outcome = deliver(sender.as_ref(), &s.url, headers, body).await;
            tried += 1;
            let (status, error) = match outcome {
                Ok(code) if (200..300).contains(&code) => (Some(i64::from(code)), String::new()),
                Ok(code) => (Some(i64::from(code)), format!("HTTP {code}")),
                Err(e) => (None, e),
            };
            if !error.is_empty() {
                tracing::warn!(webhook = s.id, release = r.id, error = %error, "a webhook delivery failed");
            }
            state.storage.record_delivery(s.id, status, &error).await?;
        }
    }
    state.storage.mark_announced(&releases.iter().map(|r| r.id).collect::<Vec<_>>()).await?;
    Ok(tried)
}

/// One delivery with its retries: a 2xx answer ends it, as does a 4xx other than 408 and 429
/// (the receiver refuses it; retrying would not change that).
async fn deliver(
    sender: &dyn WebhookSender,
    url: &str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
) -> PostOutcome {
    let mut last = Err(String::new());
    for pause in TRIES {
        tokio::time::sleep(pause).await;
        last = sender.post(url, headers.clone(), body.clone()).await;
        match last {
            Ok(code) if (200..300).contains(&code) => break,
            Ok(code) if (400..500).contains(&code) && code != 408 && code != 429 => break,
            _ => {}
        }
    }
    last
}
