//! The outbound HTTP clients: the webhook client, which posts the deliveries
//! `pdp_app::webhooks` prepares, and the harvest client, which reads other portals for
//! `pdp_app::harvest`.
//!
//! Each post resolves the URL's host itself, refuses it when any address it resolves to is
//! loopback, private, link-local or otherwise not public (unless the deployment allows private
//! receivers, `open.webhook_private_receivers`), and then connects to the address it checked,
//! so a name that resolves differently a moment later cannot redirect the post. No proxy, no
//! redirects, a five-second timeout, and the answer's body is not read.
//!
//! The harvest client checks addresses the same way (`open.harvest_private_sources` allows
//! private ones), follows at most five redirects, checking each new host, and reads a body
//! only up to the bound its caller sets.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use pdp_app::harvest::{FetchOutcome, Fetched, HarvestClient};
use pdp_app::webhooks::{PostOutcome, WebhookSender};
use pdp_domain::webhook::is_public;

/// Posts webhook deliveries over HTTP(S).
pub struct HttpSender {
    allow_private: bool,
}

impl HttpSender {
    pub fn new(allow_private: bool) -> Self {
        Self { allow_private }
    }
}

const TIMEOUT: Duration = Duration::from_secs(5);

/// A client bound to the checked address of `u`'s host: the host is resolved here, refused when
/// any address is not public (unless `allow_private`), and the connection goes to the address
/// checked. No proxy, no redirects.
/// `peer` names the other end in the refusal ("receiver", "source").
async fn checked_client(
    allow_private: bool,
    peer: &str,
    u: &reqwest::Url,
    timeout: Duration,
) -> Result<reqwest::Client, String> {
    let host = u.host_str().ok_or("no host")?.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = u.port_or_known_default().ok_or("no port")?;
    let addrs: Vec<SocketAddr> = tokio::time::timeout(TIMEOUT, tokio::net::lookup_host((host.as_str(), port)))
        .await
        .map_err(|_| "resolving the host timed out".to_string())?
        .map_err(|e| format!("resolving the host failed: {e}"))?
        .collect();
    let Some(first) = addrs.first().copied() else { return Err("the host resolves to no address".into()) };
    if !allow_private && let Some(a) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(format!("the {peer}'s address {} is not public", a.ip()));
    }
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .resolve(&host, first)
        .build()
        .map_err(|e| format!("building the client failed: {e}"))
}

async fn post(allow_private: bool, url: String, headers: Vec<(&'static str, String)>, body: Vec<u8>) -> PostOutcome {
    let u = reqwest::Url::parse(&url).map_err(|e| format!("bad URL: {e}"))?;
    let client = checked_client(allow_private, "receiver", &u, TIMEOUT).await?;
    let mut req = client.post(u).body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let res = req.send().await.map_err(|e| format!("posting failed: {e}"))?;
    Ok(res.status().as_u16())
}

impl WebhookSender for HttpSender {
    fn post(
        &self,
        url: &str,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    ) -> Pin<Box<dyn Future<Output = PostOutcome> + Send>> {
        Box::pin(post(self.allow_private, url.to_string(), headers, body))
    }
}

/// Fetches harvest sources' pages and files over HTTP(S).
pub struct HttpFetcher {
    allow_private: bool,
}

impl HttpFetcher {
    pub fn new(allow_private: bool) -> Self {
        Self { allow_private }
    }
}

/// How long one harvest request may take, the body included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(120);
const MAX_REDIRECTS: usize = 5;

async fn fetch(allow_private: bool, url: String, accept: &'static str, max_bytes: u64) -> FetchOutcome {
    let mut u = reqwest::Url::parse(&url).map_err(|e| format!("bad URL: {e}"))?;
    for _ in 0..=MAX_REDIRECTS {
        if !matches!(u.scheme(), "http" | "https") {
            return Err(format!("{u} is not an http(s) URL"));
        }
        let client = checked_client(allow_private, "source", &u, FETCH_TIMEOUT).await?;
        let mut res = client
            .get(u.clone())
            .header(reqwest::header::ACCEPT, accept)
            .header(reqwest::header::USER_AGENT, concat!("PDP-harvester/", env!("CARGO_PKG_VERSION")))
            .send()
            .await
            .map_err(|e| format!("the request failed: {e}"))?;
        if res.status().is_redirection() {
            let to = res
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or("a redirect without a location")?;
            u = u.join(to).map_err(|e| format!("a redirect to an unreadable location: {e}"))?;
            continue;
        }
        if res.content_length().is_some_and(|n| n > max_bytes) {
            return Err(format!("the answer is larger than {max_bytes} bytes"));
        }
        let status = res.status().as_u16();
        let content_type =
            res.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| format!("reading the answer failed: {e}"))? {
            if (body.len() + chunk.len()) as u64 > max_bytes {
                return Err(format!("the answer is larger than {max_bytes} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        return Ok(Fetched { status, content_type, body });
    }
    Err(format!("more than {MAX_REDIRECTS} redirects"))
}

impl HarvestClient for HttpFetcher {
    fn get(
        &self,
        url: &str,
        accept: &'static str,
        max_bytes: u64,
    ) -> Pin<Box<dyn Future<Output = FetchOutcome> + Send>> {
        Box::pin(fetch(self.allow_private, url.to_string(), accept, max_bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A subscriber cannot make the platform call into the network it runs in.
    #[tokio::test]
    async fn private_receivers_are_refused_unless_allowed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let refused = HttpSender::new(false).post(&url, vec![], b"{}".to_vec()).await;
        assert!(refused.as_ref().is_err_and(|e| e.contains("127.0.0.1") && e.contains("not public")), "{refused:?}");
        let refused = HttpSender::new(false).post("http://localhost:9/hook", vec![], vec![]).await;
        assert!(refused.is_err_and(|e| e.contains("not public")), "a name that resolves to loopback is refused too");
        // Allowed, the post is made: the listener accepts the connection.
        let served = tokio::spawn(async move { listener.accept().await.is_ok() });
        let _ = HttpSender::new(true).post(&url, vec![], b"{}".to_vec()).await;
        assert!(served.await.unwrap(), "an allowed private receiver is reached");
    }
}
