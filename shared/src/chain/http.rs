//! HTTP adapter for [`super::Chain`] (its calls are in `endpoints`): failover across `CHAIN_API_URLS`, bounded
//! retry with backoff, a per-request timeout, one concurrency limit (and an
//! optional request-rate cap) shared by every call of the process, and a cap
//! on upstream body size.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::retry::jittered_backoff;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use super::port::{ChainError, ChainResult};

const HEIGHT_HEADER: &str = "X-Cosmos-Block-Height";

#[derive(Debug, Clone)]
pub struct HttpChainOptions {
    pub urls: Vec<String>,
    pub timeout: Duration,
    pub concurrency: usize,
    /// Full passes over all URLs before giving up (at least 1).
    pub retry_rounds: u32,
    /// First backoff between rounds; doubles each round, and each wait is
    /// lengthened by a random part of itself (jitter).
    pub backoff: Duration,
    pub max_rps: Option<f64>,
    pub max_body_bytes: usize,
}

impl Default for HttpChainOptions {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            timeout: Duration::from_secs(10),
            concurrency: 16,
            retry_rounds: 2,
            backoff: Duration::from_millis(100),
            max_rps: None,
            max_body_bytes: 64 << 20,
        }
    }
}

/// Counts upstream HTTP requests (each attempt), for the warmer's summary
/// log and the benchmarks.
#[derive(Debug, Default)]
pub struct ChainCallCounter(AtomicU64);

impl ChainCallCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Clone)]
pub struct HttpChain {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    urls: Vec<String>,
    /// Index of the URL that answered last; failover moves it on.
    preferred: AtomicUsize,
    permits: Semaphore,
    /// Spaces request starts at least `1/max_rps` apart.
    pacer: Option<DefaultDirectRateLimiter>,
    /// The waits between retry rounds.
    rounds: ExponentialBuilder,
    opts: HttpChainOptions,
    calls: ChainCallCounter,
}

enum Attempt<T> {
    Found(T),
    NotFound,
    /// Worth trying the next URL.
    Retry(ChainError),
    /// Final for this request.
    Fail(ChainError),
}

impl HttpChain {
    pub fn new(opts: HttpChainOptions) -> Result<Self, String> {
        if opts.urls.is_empty() {
            return Err("at least one chain URL is required".into());
        }
        let client = reqwest::Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout.min(Duration::from_secs(5)))
            .pool_max_idle_per_host(opts.concurrency.max(1))
            // Upstream redirects could point anywhere; we never follow them.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("gonka-tracker-backend/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;
        let pacer = opts.max_rps.and_then(pacing_quota).map(RateLimiter::direct);
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                urls: opts
                    .urls
                    .iter()
                    .map(|u| u.trim_end_matches('/').to_owned())
                    .collect(),
                preferred: AtomicUsize::new(0),
                permits: Semaphore::new(opts.concurrency.max(1)),
                pacer,
                rounds: round_backoff(&opts),
                opts,
                calls: ChainCallCounter::default(),
            }),
        })
    }

    /// Upstream HTTP requests made so far by this client (all clones).
    pub fn calls(&self) -> u64 {
        self.inner.calls.get()
    }

    /// GET `path` (already built from validated values) with failover.
    pub(super) async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        height: Option<u64>,
    ) -> ChainResult<Option<T>> {
        let inner = &self.inner;
        let n = inner.urls.len();
        let rounds = inner.opts.retry_rounds.max(1);
        let mut last: Option<ChainError> = None;
        let mut all_timeouts = true;
        let mut all_pruned = true;
        let mut delays = inner.rounds.build();
        loop {
            let start = inner.preferred.load(Ordering::Relaxed);
            for step in 0..n {
                let idx = (start + step) % n;
                match self.attempt::<T>(&inner.urls[idx], path, height).await {
                    Attempt::Found(v) => {
                        inner.preferred.store(idx, Ordering::Relaxed);
                        return Ok(Some(v));
                    }
                    Attempt::NotFound => {
                        inner.preferred.store(idx, Ordering::Relaxed);
                        return Ok(None);
                    }
                    Attempt::Fail(e) => return Err(e),
                    Attempt::Retry(e) => {
                        tracing::warn!(url = %inner.urls[idx], path, error = %e, "chain request failed, trying next URL");
                        all_timeouts &= e.is_timeout();
                        all_pruned &= e.is_height_pruned();
                        last = Some(e);
                    }
                }
            }
            match delays.next() {
                Some(delay) => tokio::time::sleep(delay).await,
                None => break,
            }
        }
        if all_pruned {
            if let Some(e @ ChainError::HeightPruned { .. }) = last {
                return Err(e);
            }
        }
        let last = last.map(|e| e.to_string()).unwrap_or_default();
        let msg =
            format!("{path}: all {n} URL(s) failed after {rounds} round(s); last error: {last}");
        Err(if all_timeouts {
            ChainError::Timeout(msg)
        } else {
            ChainError::Unavailable(msg)
        })
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        base: &str,
        path: &str,
        height: Option<u64>,
    ) -> Attempt<T> {
        let inner = &self.inner;
        let Ok(_permit) = inner.permits.acquire().await else {
            return Attempt::Fail(ChainError::Unavailable("client closed".into()));
        };
        if let Some(p) = &inner.pacer {
            p.until_ready().await;
        }
        inner.calls.0.fetch_add(1, Ordering::Relaxed);
        let mut req = inner.client.get(format!("{base}{path}"));
        if let Some(h) = height {
            req = req.header(HEIGHT_HEADER, h.to_string());
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return Attempt::Retry(ChainError::Timeout(format!("{base}{path}: {e}")))
            }
            Err(e) => return Attempt::Retry(ChainError::Unavailable(format!("{base}{path}: {e}"))),
        };
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Attempt::NotFound;
        }
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Attempt::Retry(ChainError::Unavailable(format!(
                "{base}{path}: HTTP {}",
                status.as_u16()
            )));
        }
        if !status.is_success() {
            // A pruning node refuses a height it no longer holds; another
            // node (an archive) may still answer.
            if let Some(h) = height {
                let body = read_limited(resp, PRUNED_BODY_BYTES)
                    .await
                    .unwrap_or_default();
                let bytes: Vec<u8> = body.iter().flat_map(|c| c.as_ref().to_vec()).collect();
                let text = String::from_utf8_lossy(&bytes);
                if says_height_pruned(&text) {
                    return Attempt::Retry(ChainError::HeightPruned {
                        height: h,
                        detail: format!("{base}: {}", text.chars().take(200).collect::<String>()),
                    });
                }
            }
            return Attempt::Fail(ChainError::Rejected {
                status: status.as_u16(),
                path: path.to_owned(),
            });
        }
        let body = match read_limited(resp, inner.opts.max_body_bytes).await {
            Ok(b) => b,
            Err(e) => return Attempt::Retry(e),
        };
        match parse_chunks::<T, _>(body) {
            Ok(v) => Attempt::Found(v),
            // A broken body from one node is a reason to ask another.
            Err(e) => Attempt::Retry(ChainError::BadResponse(format!("{base}{path}: {e}"))),
        }
    }
}

/// What of a refusal is read to tell a pruned height.
const PRUNED_BODY_BYTES: usize = 4096;

/// Whether a node's refusal says the state at the height is gone
/// (cosmos-sdk: "failed to load state at height N; version does not
/// exist", IAVL: "...has either been pruned, or is for a future block").
fn says_height_pruned(body: &str) -> bool {
    let b = body.to_ascii_lowercase();
    b.contains("version does not exist")
        || b.contains("been pruned")
        || b.contains("failed to load state at height")
}

/// Parses a body from the chunks it arrived in, each dropped as soon as the
/// parser is past it: the body is never copied into one buffer, and the
/// parsed value grows while what is left of the body shrinks (at 10,000
/// participants the epoch's participant list is a body of several MB, and
/// a contiguous copy grown by doubling held up to three times that).
fn parse_chunks<T: DeserializeOwned, B: AsRef<[u8]>>(chunks: VecDeque<B>) -> serde_json::Result<T> {
    match chunks.len() {
        0 => serde_json::from_slice(&[]),
        1 => serde_json::from_slice(chunks[0].as_ref()),
        _ => serde_json::from_reader(std::io::BufReader::with_capacity(
            PARSE_BUFFER_BYTES,
            ChunkReader { chunks, at: 0 },
        )),
    }
}

/// The parser's read buffer over the chunks.
const PARSE_BUFFER_BYTES: usize = 16 * 1024;

/// Reads a body's chunks in order, dropping each once read.
struct ChunkReader<B> {
    chunks: VecDeque<B>,
    /// Bytes of the first chunk already read.
    at: usize,
}

impl<B: AsRef<[u8]>> std::io::Read for ChunkReader<B> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while let Some(first) = self.chunks.front() {
            let rest = &first.as_ref()[self.at..];
            if rest.is_empty() {
                self.chunks.pop_front();
                self.at = 0;
                continue;
            }
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.at += n;
            return Ok(n);
        }
        Ok(0)
    }
}

/// The body as it arrived, chunk by chunk (not copied), at most `max`
/// bytes in all.
async fn read_limited(
    mut resp: reqwest::Response,
    max: usize,
) -> Result<VecDeque<impl AsRef<[u8]>>, ChainError> {
    if resp.content_length().is_some_and(|len| len as usize > max) {
        return Err(ChainError::BadResponse(format!(
            "body larger than {max} bytes"
        )));
    }
    let mut body = VecDeque::new();
    let mut len = 0usize;
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                len += chunk.len();
                if len > max {
                    return Err(ChainError::BadResponse(format!(
                        "body larger than {max} bytes"
                    )));
                }
                body.push_back(chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) if e.is_timeout() => {
                return Err(ChainError::Timeout(format!("reading body: {e}")))
            }
            Err(e) => return Err(ChainError::Unavailable(format!("reading body: {e}"))),
        }
    }
}

/// One request start every `1/rps`, and no burst: after a quiet spell the
/// next request starts at once, the one after it `1/rps` later.
fn pacing_quota(rps: f64) -> Option<Quota> {
    if rps > 0.0 {
        Quota::with_period(Duration::from_secs_f64(1.0 / rps))
    } else {
        None
    }
}

/// The waits between `retry_rounds` rounds: `backoff`, doubling, jittered.
fn round_backoff(opts: &HttpChainOptions) -> ExponentialBuilder {
    jittered_backoff(opts.backoff, None, opts.retry_rounds.max(1) as usize - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rate cap spaces request starts `1/rps` apart (governor's fake clock).
    #[test]
    fn the_pacer_spaces_request_starts() {
        let clock = governor::clock::FakeRelativeClock::default();
        let pacer = RateLimiter::direct_with_clock(pacing_quota(20.0).unwrap(), clock.clone());
        assert!(pacer.check().is_ok());
        for _ in 0..4 {
            assert!(pacer.check().is_err(), "a second start within 50 ms");
            clock.advance(Duration::from_millis(49));
            assert!(pacer.check().is_err());
            clock.advance(Duration::from_millis(1));
            assert!(pacer.check().is_ok(), "the next start 50 ms later");
        }
        // After a quiet spell the next request starts at once, but a quiet
        // spell saves up no burst.
        clock.advance(Duration::from_secs(1));
        assert!(pacer.check().is_ok());
        assert!(pacer.check().is_err());
        assert!(pacing_quota(0.0).is_none());
        assert!(pacing_quota(-1.0).is_none());
    }

    /// The client's pacer, on the real clock: five starts at 50 per second
    /// take four intervals.
    #[tokio::test]
    async fn the_pacer_waits_on_the_real_clock() {
        let pacer = RateLimiter::direct(pacing_quota(50.0).unwrap());
        let start = std::time::Instant::now();
        for _ in 0..5 {
            pacer.until_ready().await;
        }
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(80) && elapsed < Duration::from_secs(2),
            "{elapsed:?}"
        );
    }

    /// `retry_rounds` rounds: `backoff`, doubling, between them, each wait
    /// at most twice its base (the jitter).
    #[test]
    fn rounds_back_off_from_the_first_delay() {
        let opts = HttpChainOptions {
            retry_rounds: 4,
            backoff: Duration::from_millis(100),
            ..Default::default()
        };
        let delays: Vec<Duration> = round_backoff(&opts).build().collect();
        assert_eq!(delays.len(), 3);
        for (d, base) in delays.into_iter().zip([100, 200, 400]) {
            let base = Duration::from_millis(base);
            assert!(d >= base && d <= 2 * base, "{d:?} for {base:?}");
        }
        let once = HttpChainOptions {
            retry_rounds: 0,
            ..Default::default()
        };
        assert_eq!(round_backoff(&once).build().count(), 0);
    }

    /// A body split anywhere (inside a string, a number, a multi-byte
    /// character) parses as the whole does, and a broken one fails.
    #[test]
    fn bodies_parse_from_their_chunks() {
        let body = r#"{"participants":[{"id":"gonka1éx","weight":"12345"},{"id":"b","weight":"7"}],"n":42}"#;
        let whole: serde_json::Value = serde_json::from_str(body).unwrap();
        for size in [1, 2, 3, 7, 16, body.len()] {
            let chunks: VecDeque<Vec<u8>> =
                body.as_bytes().chunks(size).map(<[u8]>::to_vec).collect();
            let parsed: serde_json::Value = parse_chunks(chunks).unwrap();
            assert_eq!(parsed, whole, "chunks of {size}");
        }
        let broken: VecDeque<&[u8]> = VecDeque::from([&b"{\"a\": ["[..], &b"1,"[..]]);
        assert!(parse_chunks::<serde_json::Value, _>(broken).is_err());
        assert!(parse_chunks::<serde_json::Value, &[u8]>(VecDeque::new()).is_err());
    }

    #[test]
    fn refuses_empty_url_list() {
        assert!(HttpChain::new(HttpChainOptions::default()).is_err());
    }
}
