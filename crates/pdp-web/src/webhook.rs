//! The webhook client: posts the deliveries `pdp_app::webhooks` prepares.
//!
//! Each post resolves the URL's host itself, refuses it when any address it resolves to is
//! loopback, private, link-local or otherwise not public (unless the deployment allows private
//! receivers, `open.webhook_private_receivers`), and then connects to the address it checked,
//! so a name that resolves differently a moment later cannot redirect the post. No proxy, no
//! redirects, a five-second timeout, and the answer's body is not read.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

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

async fn post(allow_private: bool, url: String, headers: Vec<(&'static str, String)>, body: Vec<u8>) -> PostOutcome {
    let u = reqwest::Url::parse(&url).map_err(|e| format!("bad URL: {e}"))?;
    let host = u.host_str().ok_or("no host")?.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = u.port_or_known_default().ok_or("no port")?;
    let addrs: Vec<SocketAddr> = tokio::time::timeout(TIMEOUT, tokio::net::lookup_host((host.as_str(), port)))
        .await
        .map_err(|_| "resolving the host timed out".to_string())?
        .map_err(|e| format!("resolving the host failed: {e}"))?
        .collect();
    let Some(first) = addrs.first().copied() else { return Err("the host resolves to no address".into()) };
    if !allow_private && let Some(a) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(format!("the receiver's address {} is not public", a.ip()));
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .resolve(&host, first)
        .build()
        .map_err(|e| format!("building the client failed: {e}"))?;
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
