//! The old way, rebuilt in-process for figure 1: a backend that answers the
//! dashboard's epoch request and then one request per participant and kind
//! by asking the chain every time, as the original tracker did on a cold
//! cache, and a browser-like client with 6 connections that issues them.
//!
//! The backend uses this repository's own chain client ([`HttpChain`]) and
//! domain rules against the same simulated chain, so the comparison is
//! about the request pattern, not about two different HTTP stacks:
//! - `GET /epochs/{e}`: the finished epoch built from the chain
//!   ([`build_finished`]) and rendered exactly as our API renders it;
//! - `GET /participants/{id}/rewards?epoch_id=e`: the summaries of the
//!   rewards window, one after the other (for a finished epoch E the
//!   contract's window is E..E-5, six summaries);
//! - `GET /participants/{id}/warm_keys?epoch_id=e`: every authz page;
//! - `GET /participants/{id}/hardware?epoch_id=e`: one call.
//!
//! Bodies are gzip-compressed (`Compression::fast`, as our functions do)
//! when the client accepts it, so byte counts compare like for like.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use flate2::write::GzEncoder;
use flate2::Compression;
use futures::StreamExt;
use serde::Deserialize;
use shared::chain::{Chain, HttpChain, HttpChainOptions};
use shared::domain::{rewards_window, warm_keys, RewardView};
use shared::service::epochs::build_finished;
use shared::service::responses::InferenceResponse;
use shared::ParticipantId;
use tokio::task::JoinHandle;

use crate::http::{get_gzip, gunzip};

/// A browser opens at most 6 connections per host (HTTP/1.1).
pub const BROWSER_CONNECTIONS: usize = 6;

/// The old backend, serving on a free local port until dropped.
pub struct OldBackend {
    pub url: String,
    chain: HttpChain,
    task: JoinHandle<()>,
}

impl Drop for OldBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl OldBackend {
    pub async fn start(chain_url: &str) -> Result<OldBackend, String> {
        let chain = HttpChain::new(HttpChainOptions {
            urls: vec![chain_url.to_string()],
            ..HttpChainOptions::default()
        })?;
        let app = Router::new()
            .route("/epochs/{epoch}", get(epoch))
            .route("/participants/{id}/rewards", get(rewards))
            .route("/participants/{id}/warm_keys", get(warm_keys_route))
            .route("/participants/{id}/hardware", get(hardware))
            .with_state(Arc::new(chain.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("old backend: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("bench: the old backend failed: {e}");
            }
        });
        Ok(OldBackend {
            url: format!("http://{addr}"),
            chain,
            task,
        })
    }

    /// Chain requests the old backend has made so far.
    pub fn chain_calls(&self) -> u64 {
        self.chain.calls()
    }
}

type Shared = State<Arc<HttpChain>>;

#[derive(Deserialize)]
struct EpochQuery {
    epoch_id: u64,
}

fn json_reply(headers: &HeaderMap, body: Vec<u8>) -> Response {
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("gzip"));
    if gzip {
        let mut enc = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
        if let Ok(gz) = enc.write_all(&body).and_then(|_| enc.finish()) {
            return (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CONTENT_ENCODING, "gzip"),
                ],
                gz,
            )
                .into_response();
        }
    }
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn failure(e: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_GATEWAY,
        axum::Json(serde_json::json!({ "detail": e.to_string() })),
    )
        .into_response()
}

/// Every route validates the id the same way before any chain call.
/// (The error response is boxed: clippy finds a `Response` too large for
/// an `Err`.)
fn parse_id(raw: &str) -> Result<ParticipantId, Box<Response>> {
    ParticipantId::parse(raw).map_err(|e| Box::new(bad_request(e)))
}

fn bad_request(e: impl std::fmt::Display) -> Response {
    (StatusCode::BAD_REQUEST, e.to_string()).into_response()
}

async fn epoch(State(chain): Shared, Path(epoch): Path<u64>, headers: HeaderMap) -> Response {
    match build_finished(chain.as_ref(), epoch, None).await {
        Ok((_, snapshot)) => {
            // Our API's body for the same epoch (what render_epoch encodes).
            match serde_json::to_vec(&InferenceResponse::new(&snapshot, false, None)) {
                Ok(body) => json_reply(&headers, body),
                Err(e) => failure(e),
            }
        }
        Err(e) => failure(e),
    }
}

async fn rewards(
    State(chain): Shared,
    Path(id): Path<String>,
    Query(q): Query<EpochQuery>,
    headers: HeaderMap,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(resp) => return *resp,
    };
    let mut out = Vec::new();
    // One after the other, as the tracker's details path did.
    for e in rewards_window(q.epoch_id, false) {
        match chain.performance_summary(e, &id).await {
            Ok(Some(s)) => out.push(RewardView {
                epoch_id: e,
                assigned_reward_gnk: shared::domain::assigned_reward_gnk(&s.rewarded_coins),
                claimed: s.claimed,
            }),
            Ok(None) => {}
            Err(e) => return failure(e),
        }
    }
    json_reply(&headers, serde_json::to_vec(&out).unwrap_or_default())
}

async fn warm_keys_route(
    State(chain): Shared,
    Path(id): Path<String>,
    Query(_): Query<EpochQuery>,
    headers: HeaderMap,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(resp) => return *resp,
    };
    match chain.authz_grants(&id).await {
        Ok(grants) => json_reply(
            &headers,
            serde_json::to_vec(&warm_keys(&grants)).unwrap_or_default(),
        ),
        Err(e) => failure(e),
    }
}

async fn hardware(
    State(chain): Shared,
    Path(id): Path<String>,
    Query(_): Query<EpochQuery>,
    headers: HeaderMap,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(resp) => return *resp,
    };
    match chain.hardware_nodes(&id).await {
        Ok(nodes) => json_reply(&headers, serde_json::to_vec(&nodes).unwrap_or_default()),
        Err(e) => failure(e),
    }
}

/// One epoch switch the old way, as the browser saw it.
#[derive(Debug, Clone)]
pub struct OldSwitch {
    /// The epoch request.
    pub epoch_time: Duration,
    pub epoch_bytes: u64,
    pub epoch_chain_calls: u64,
    /// The 3 x `fetched_for` participant requests, 6 at a time.
    pub phase_time: Duration,
    pub phase_bytes: u64,
    pub phase_chain_calls: u64,
    /// Participants the epoch lists.
    pub listed: usize,
    /// Participants whose three requests were sent (all, or a sample).
    pub fetched_for: usize,
    /// Answers other than 200 (there should be none).
    pub failed: usize,
}

impl OldSwitch {
    /// Scales the participant phase from the sample to every listed
    /// participant (requests are independent and the client keeps 6 in
    /// flight, so time, bytes and chain calls grow linearly).
    pub fn scale(&self) -> f64 {
        self.listed as f64 / self.fetched_for.max(1) as f64
    }

    pub fn total_time(&self) -> Duration {
        self.epoch_time + self.phase_time.mul_f64(self.scale())
    }

    pub fn total_bytes(&self) -> u64 {
        self.epoch_bytes + (self.phase_bytes as f64 * self.scale()).round() as u64
    }

    pub fn total_chain_calls(&self) -> u64 {
        self.epoch_chain_calls + (self.phase_chain_calls as f64 * self.scale()).round() as u64
    }

    pub fn extrapolated(&self) -> bool {
        self.fetched_for < self.listed
    }
}

/// The dashboard's epoch switch against the old backend: the epoch, then
/// rewards, warm keys and hardware of each participant (of `sample` when
/// given, a subset of the listed ones), through exactly
/// [`BROWSER_CONNECTIONS`] connections.
pub async fn switch(
    backend: &OldBackend,
    epoch: u64,
    pick: impl FnOnce(Vec<String>) -> Vec<String>,
) -> Result<OldSwitch, String> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(BROWSER_CONNECTIONS)
        .timeout(Duration::from_secs(120))
        .tcp_nodelay(true)
        .build()
        .map_err(|e| e.to_string())?;
    let calls0 = backend.chain_calls();
    let got = get_gzip(&http, &format!("{}/epochs/{epoch}", backend.url)).await?;
    if got.status != 200 {
        return Err(format!(
            "old backend: epoch {epoch}: HTTP {}: {}",
            got.status,
            String::from_utf8_lossy(&gunzip(&got.body).unwrap_or(got.body.clone()))
        ));
    }
    let epoch_chain_calls = backend.chain_calls() - calls0;
    let listed: Vec<String> = got.json()?["participants"]
        .as_array()
        .ok_or("old backend: the epoch has no participants array")?
        .iter()
        .filter_map(|p| p["index"].as_str().map(str::to_string))
        .collect();
    let count = listed.len();
    let ids = pick(listed);

    let urls: Vec<String> = ids
        .iter()
        .flat_map(|id| {
            ["rewards", "warm_keys", "hardware"]
                .map(|kind| format!("{}/participants/{id}/{kind}?epoch_id={epoch}", backend.url))
        })
        .collect();
    let calls1 = backend.chain_calls();
    let started = Instant::now();
    let mut answers = futures::stream::iter(urls.iter().map(|u| get_gzip(&http, u)))
        .buffer_unordered(BROWSER_CONNECTIONS);
    let (mut bytes, mut failed) = (0u64, 0usize);
    while let Some(answer) = answers.next().await {
        match answer {
            Ok(f) if f.status == 200 => bytes += f.body.len() as u64,
            _ => failed += 1,
        }
    }
    Ok(OldSwitch {
        epoch_time: got.elapsed,
        epoch_bytes: got.body.len() as u64,
        epoch_chain_calls,
        phase_time: started.elapsed(),
        phase_bytes: bytes,
        phase_chain_calls: backend.chain_calls() - calls1,
        listed: count,
        fetched_for: ids.len(),
        failed,
    })
}
