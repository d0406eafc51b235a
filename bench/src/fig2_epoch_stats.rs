//! Figure 2: `GET /v1/inference/current` latency, cached (a table hit
//! within the freshness window) and uncached (rebuilt from the chain and
//! stored every time: measured on a second stack whose freshness window is
//! 1 s, one request every 1.1 s, since no request can force a rebuild),
//! one request at a time.

use std::collections::HashSet;
use std::time::Duration;

use crate::http::get_ok;
use crate::progress::progress;
use crate::stack::Stack;
use crate::stats::Summary;

#[derive(Debug, Clone)]
pub struct EpochStatsRow {
    pub n: usize,
    pub cached: Summary,
    /// Chain requests during the cached requests (0 expected).
    pub cached_chain_calls: u64,
    /// Distinct snapshots served in the cached run: 1 unless the
    /// freshness window ran out in the middle.
    pub cached_snapshots: usize,
    pub uncached: Summary,
    pub uncached_chain_calls: u64,
    pub bytes: u64,
}

pub async fn run(stack: &Stack, reps: usize, warmups: usize) -> Result<EpochStatsRow, String> {
    let n = stack.participants;
    let cached_url = stack.url("/v1/inference/current");

    let (uncached, uncached_chain_calls) = uncached(stack, (reps / 10).max(10)).await?;

    for _ in 0..warmups {
        get_ok(&stack.http, &cached_url).await?;
    }
    stack.reset_chain_stats().await?;
    let mut times = Vec::with_capacity(reps);
    let mut etags = HashSet::new();
    let mut bytes = 0;
    for _ in 0..reps {
        let f = get_ok(&stack.http, &cached_url).await?;
        times.push(f.elapsed);
        bytes = f.body.len() as u64;
        etags.insert(f.etag.unwrap_or_default());
    }
    let cached = Summary::of(&times).ok_or("no cached requests")?;
    let cached_chain_calls = stack.chain_stats().await?.total;
    progress(&format!(
        "N={n}: epoch-stats cached x{reps}: p50 {:.1} ms, p99 {:.1} ms",
        cached.p50.as_secs_f64() * 1e3,
        cached.p99.as_secs_f64() * 1e3
    ));
    Ok(EpochStatsRow {
        n,
        cached,
        cached_chain_calls,
        cached_snapshots: etags.len(),
        uncached,
        uncached_chain_calls,
        bytes,
    })
}

/// Rebuilds of the current epoch, each after the copy went stale, on a stack
/// like `stack` whose freshness window is 1 s (and whose instances check a
/// held answer on every request): the time and the chain calls of `reps`
/// of them.
async fn uncached(stack: &Stack, reps: usize) -> Result<(Summary, u64), String> {
    let n = stack.participants;
    let mut spec = stack.spec.clone();
    spec.params.push("CurrentEpochFreshnessSecs=1".into());
    spec.params.push("CurrentEpochRebuildSecs=1".into());
    // Every request checks its held answer against the table.
    spec.params.push("HotRevalidateSecs=0".into());
    progress(&format!(
        "N={n}: starting a stack with a 1 s freshness window"
    ));
    let rebuilding = tokio::task::spawn_blocking(move || Stack::start(&spec))
        .await
        .map_err(|e| e.to_string())??;
    let url = rebuilding.url("/v1/inference/current");
    get_ok(&rebuilding.http, &url).await?;
    rebuilding.reset_chain_stats().await?;
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        times.push(get_ok(&rebuilding.http, &url).await?.elapsed);
    }
    let calls = rebuilding.chain_stats().await?.total;
    rebuilding.stop().await;
    let summary = Summary::of(&times).ok_or("no uncached requests")?;
    progress(&format!(
        "N={n}: epoch-stats uncached x{reps}: p50 {:.1} ms, p99 {:.1} ms",
        summary.p50.as_secs_f64() * 1e3,
        summary.p99.as_secs_f64() * 1e3
    ));
    Ok((summary, calls))
}
