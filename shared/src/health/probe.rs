//! One health probe: `GET {inference_url}/health` under the SSRF guard.
//! The host is resolved once, by a resolver that hands the connector only
//! addresses the guard accepts, so the connection goes to an address that
//! was checked (no second lookup a rebinding DNS could answer differently);
//! TLS still verifies the URL's host name (SNI). IP literals, which the
//! connector does not resolve, are checked before the request. No
//! redirects, no proxy, a few KB read at most, one deadline for it all.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

use super::guard::check_address;

/// The whole probe: connect, send, status and the first bytes.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// What is read of a body at most (a healthy answer is tiny).
pub const MAX_BODY_BYTES: usize = 4 * 1024;

/// The resolver's refusal, as it appears in the request's error.
const NO_PUBLIC_ADDRESS: &str = "resolves to no public address";

/// Why a node is unhealthy, as the job's summary counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeFailure {
    /// The epoch entry has no `inference_url`.
    NoUrl,
    /// Unparsable, not http(s), with userinfo, or an address the guard refuses.
    Refused,
    TimedOut,
    /// No connection or no answer (DNS, refused, reset, TLS).
    Unreachable,
    /// An answer other than 200.
    HttpStatus,
}

/// A probe's answer; `reason` is for logs only, never served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub healthy: bool,
    /// `None` when healthy.
    pub failure: Option<ProbeFailure>,
    pub reason: Option<String>,
}

impl ProbeResult {
    fn unhealthy(failure: ProbeFailure, reason: impl Into<String>) -> Self {
        Self {
            healthy: false,
            failure: Some(failure),
            reason: Some(reason.into()),
        }
    }
}

/// Probes nodes; one client (and connection pool) for every probe.
#[derive(Clone)]
pub struct HealthProber {
    client: reqwest::Client,
    allow_private: bool,
}

/// Resolves a host once and keeps only the addresses the guard accepts
/// (all of them with `allow_private`).
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = Vec::new();
            let accepted: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| match check_address(a.ip()) {
                    Ok(()) => true,
                    Err(_) if allow_private => true,
                    Err(why) => {
                        refused.push(format!("{} ({why})", a.ip()));
                        false
                    }
                })
                .collect();
            if accepted.is_empty() {
                return Err(
                    format!("{host} {NO_PUBLIC_ADDRESS}: refused {}", refused.join(", ")).into(),
                );
            }
            let addrs: Addrs = Box::new(accepted.into_iter());
            Ok(addrs)
        })
    }
}

impl HealthProber {
    /// `allow_private`: `HEALTH_ALLOW_PRIVATE_TARGETS` (local use only).
    pub fn new(allow_private: bool) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(PROBE_TIMEOUT)
            .connect_timeout(PROBE_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would connect on our behalf, past the guard.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .pool_max_idle_per_host(1)
            .user_agent(concat!("gonka-tracker-health/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("building the health client: {e}"))?;
        Ok(Self {
            client,
            allow_private,
        })
    }

    /// The URL probed for an `inference_url`: http(s) only, no userinfo,
    /// `/health` appended to its path, query and fragment dropped (so
    /// nothing absorbs the `/health`); `Err` with the reason otherwise.
    pub fn health_url(&self, inference_url: &str) -> Result<Url, String> {
        let mut url =
            Url::parse(inference_url.trim()).map_err(|e| format!("unparsable URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("scheme {:?} is not http(s)", url.scheme()));
        }
        // The HTTP client would send `user:pw@` as a Basic authorization
        // header: credentials an outsider wrote, to a host they chose.
        // Refused, not stripped, so such a node is never probed.
        if !url.username().is_empty() || url.password().is_some() {
            return Err("URL with userinfo refused".into());
        }
        let literal = match url.host() {
            None => return Err("URL without a host".into()),
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
        };
        if let (Some(ip), false) = (literal, self.allow_private) {
            check_address(ip).map_err(|why| format!("address {ip} refused: {why}"))?;
        }
        let path = format!("{}/health", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url.set_query(None);
        url.set_fragment(None);
        Ok(url)
    }

    /// Healthy only on a 200 within [`PROBE_TIMEOUT`].
    pub async fn probe(&self, inference_url: &str) -> ProbeResult {
        if inference_url.trim().is_empty() {
            return ProbeResult::unhealthy(ProbeFailure::NoUrl, "no inference URL");
        }
        let url = match self.health_url(inference_url) {
            Ok(u) => u,
            Err(reason) => return ProbeResult::unhealthy(ProbeFailure::Refused, reason),
        };
        match tokio::time::timeout(PROBE_TIMEOUT, self.get(url)).await {
            Ok(result) => result,
            Err(_) => ProbeResult::unhealthy(ProbeFailure::TimedOut, "timed out"),
        }
    }

    async fn get(&self, url: Url) -> ProbeResult {
        let mut resp = match self.client.get(url).send().await {
            Ok(r) => r,
            Err(e) => {
                let reason = error_chain(&e);
                let failure = if e.is_timeout() {
                    ProbeFailure::TimedOut
                } else if reason.contains(NO_PUBLIC_ADDRESS) {
                    ProbeFailure::Refused
                } else {
                    ProbeFailure::Unreachable
                };
                return ProbeResult::unhealthy(failure, reason);
            }
        };
        let status = resp.status();
        // Read a little of the body (so the connection is reused when it
        // is small), never more.
        let mut read = 0usize;
        while read < MAX_BODY_BYTES {
            match resp.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                _ => break,
            }
        }
        if status == reqwest::StatusCode::OK {
            ProbeResult {
                healthy: true,
                failure: None,
                reason: None,
            }
        } else {
            ProbeResult::unhealthy(
                ProbeFailure::HttpStatus,
                format!("HTTP {}", status.as_u16()),
            )
        }
    }
}

/// An error with its causes (the resolver's refusal is a cause).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_health_url_or_refuses() {
        let strict = HealthProber::new(false).unwrap();
        let open = HealthProber::new(true).unwrap();
        let cases: [(&str, Option<&str>, Option<&str>); 14] = [
            // (inference_url, strict, with private targets allowed)
            (
                "https://node.example.com:8443/",
                Some("https://node.example.com:8443/health"),
                Some("https://node.example.com:8443/health"),
            ),
            (
                "http://node.example.com/api/?x=",
                Some("http://node.example.com/api/health"),
                Some("http://node.example.com/api/health"),
            ),
            (
                "http://8.8.8.8:8000",
                Some("http://8.8.8.8:8000/health"),
                Some("http://8.8.8.8:8000/health"),
            ),
            (
                "http://0.0.0.0:8000",
                None,
                Some("http://0.0.0.0:8000/health"),
            ),
            (
                "http://127.0.0.1:9001",
                None,
                Some("http://127.0.0.1:9001/health"),
            ),
            (
                "http://169.254.169.254/latest",
                None,
                Some("http://169.254.169.254/latest/health"),
            ),
            ("http://2130706433/", None, Some("http://127.0.0.1/health")),
            (
                "http://[::ffff:10.0.0.1]/",
                None,
                Some("http://[::ffff:a00:1]/health"),
            ),
            ("ftp://node.example.com/", None, None),
            ("javascript:alert(1)", None, None),
            // Userinfo is refused whatever the address setting.
            ("http://user@node.example.com/", None, None),
            ("http://user:pw@node.example.com/", None, None),
            ("http://:pw@node.example.com/", None, None),
            ("http://user:pw@127.0.0.1:9001/", None, None),
        ];
        for (raw, want_strict, want_open) in cases {
            let got = |p: &HealthProber| p.health_url(raw).ok().map(|u| u.to_string());
            assert_eq!(got(&strict).as_deref(), want_strict, "{raw}");
            assert_eq!(got(&open).as_deref(), want_open, "{raw} (private allowed)");
        }
        assert_eq!(
            open.health_url("http://user:pw@127.0.0.1:9001/")
                .unwrap_err(),
            "URL with userinfo refused"
        );
    }
}
