//! How the bench talks HTTP: as a browser does to the API front (gzip
//! accepted, the body kept as transferred), and plain JSON to control
//! endpoints.

use std::io::Read;
use std::time::{Duration, Instant};

use serde_json::Value;

/// One HTTP answer as the bench saw it.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    /// The body as it came over the wire (gzip when the server chose it).
    pub body: Vec<u8>,
    pub gzip: bool,
    pub etag: Option<String>,
    /// From sending the request to the last body byte.
    pub elapsed: Duration,
}

impl Fetched {
    /// The decoded body.
    pub fn json(&self) -> Result<Value, String> {
        let plain = if self.gzip {
            gunzip(&self.body)?
        } else {
            self.body.clone()
        };
        serde_json::from_slice(&plain).map_err(|e| format!("not JSON: {e}"))
    }
}

pub fn gunzip(body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(body.len() * 6);
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .map_err(|e| format!("bad gzip body: {e}"))?;
    Ok(out)
}

/// `GET url` as a browser sends it: gzip accepted. reqwest is built
/// without its decompression features, so the body stays as sent and its
/// length is the transferred size.
pub async fn get_gzip(http: &reqwest::Client, url: &str) -> Result<Fetched, String> {
    let started = Instant::now();
    let resp = http
        .get(url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let gzip = header("content-encoding").is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let etag = header("etag");
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: reading the body: {e}"))?
        .to_vec();
    Ok(Fetched {
        status,
        body,
        gzip,
        etag,
        elapsed: started.elapsed(),
    })
}

/// [`get_gzip`], and anything but 200 is an error.
pub async fn get_ok(http: &reqwest::Client, url: &str) -> Result<Fetched, String> {
    let f = get_gzip(http, url).await?;
    if f.status != 200 {
        let text = f
            .json()
            .map(|v| v.to_string())
            .unwrap_or_else(|_| String::from_utf8_lossy(&f.body).into_owned());
        return Err(format!("GET {url}: HTTP {}: {text:.300}", f.status));
    }
    Ok(f)
}

/// A control endpoint's JSON (reqwest is built without its `json`).
/// POSTs an empty body to `url`, expecting a 2xx.
pub async fn post_empty(http: &reqwest::Client, url: &str) -> Result<(), String> {
    http.post(url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map(|_| ())
        .map_err(|e| format!("POST {url}: {e}"))
}

pub async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<T, String> {
    let body = http
        .get(url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("GET {url}: {e}"))?
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    serde_json::from_slice(&body).map_err(|e| format!("GET {url}: {e}"))
}

pub fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .tcp_nodelay(true)
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}
