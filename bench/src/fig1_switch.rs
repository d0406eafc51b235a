//! Figure 1: the epoch switch as the dashboard does it.
//!
//! Ours is one request, `GET /v1/inference/epochs/{E}`: timed once on a
//! cold table (built from the chain; on a fresh stack this also builds the
//! current epoch, which the route needs to know E is finished) and then
//! repeatedly from the table. The old way is 1 + 3N requests through a
//! browser's 6 connections to [`crate::old_backend`]. Both read the same
//! simulated chain, in the same run.

use std::time::Duration;

use crate::http::{get_ok, gunzip};
use crate::old_backend::{self, OldBackend, OldSwitch};
use crate::progress::progress;
use crate::sample::sample;
use crate::stack::Stack;
use crate::stats::Summary;

/// Repetitions of one size.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Timed cached requests (after `warmups` untimed ones).
    pub cached_reps: usize,
    pub warmups: usize,
    /// Full old-way switches.
    pub old_runs: usize,
    /// Above this many participants the old way runs on a random sample of
    /// this size and is scaled up.
    pub old_sample: usize,
}

#[derive(Debug, Clone)]
pub struct Ours {
    pub first: Duration,
    pub first_chain_calls: u64,
    pub first_bytes: u64,
    /// The same answer uncompressed.
    pub first_plain_bytes: u64,
    pub cached: Summary,
    /// Chain requests during the cached repetitions (0 expected).
    pub cached_chain_calls: u64,
    pub cached_bytes: u64,
    /// epoch-stats' peak RSS (highest instance) after the first answer
    /// and after the cached ones: which of the two sets the peak.
    pub peak_after_first_kib: u64,
    pub peak_after_cached_kib: u64,
}

#[derive(Debug, Clone)]
pub struct SwitchRow {
    pub n: usize,
    /// Participants the epoch lists.
    pub listed: usize,
    pub ours: Ours,
    pub old_runs: Vec<OldSwitch>,
    pub old: Summary,
}

impl SwitchRow {
    /// The old way's median over ours, cold and cached.
    pub fn speedup_cold(&self) -> f64 {
        self.old.p50.as_secs_f64() / self.ours.first.as_secs_f64()
    }

    pub fn speedup_cached(&self) -> f64 {
        self.old.p50.as_secs_f64() / self.ours.cached.p50.as_secs_f64()
    }

    pub fn old_requests(&self) -> u64 {
        1 + 3 * self.listed as u64
    }
}

fn epoch_stats_peak(stack: &Stack) -> u64 {
    crate::fig5_cold::peak_rss(stack)
        .into_iter()
        .find(|r| r.function == "epoch-stats")
        .map_or(0, |r| r.peak_kib)
}

pub async fn run(stack: &Stack, epoch: u64, plan: Plan) -> Result<SwitchRow, String> {
    let n = stack.participants;
    let url = stack.url(&format!("/v1/inference/epochs/{epoch}"));

    stack.reset_chain_stats().await?;
    let first = get_ok(&stack.http, &url).await?;
    if !first.gzip {
        return Err(format!("GET {url}: the answer was not gzip-encoded"));
    }
    let first_chain_calls = stack.chain_stats().await?.total;
    let peak_after_first_kib = epoch_stats_peak(stack);
    let first_plain_bytes = gunzip(&first.body)?.len() as u64;
    let listed = first.json()?["participants"]
        .as_array()
        .map_or(0, |p| p.len());
    progress(&format!(
        "N={n}: ours, cold: {:.0} ms, {first_chain_calls} chain requests, {} participants",
        first.elapsed.as_secs_f64() * 1e3,
        listed
    ));

    for _ in 0..plan.warmups {
        get_ok(&stack.http, &url).await?;
    }
    stack.reset_chain_stats().await?;
    let mut times = Vec::with_capacity(plan.cached_reps);
    let mut cached_bytes = 0;
    for _ in 0..plan.cached_reps {
        let f = get_ok(&stack.http, &url).await?;
        times.push(f.elapsed);
        cached_bytes = f.body.len() as u64;
    }
    let cached = Summary::of(&times).ok_or("no cached repetitions")?;
    let cached_chain_calls = stack.chain_stats().await?.total;
    let peak_after_cached_kib = epoch_stats_peak(stack);
    progress(&format!(
        "N={n}: ours, cached x{}: p50 {:.1} ms, p99 {:.1} ms",
        cached.count,
        cached.p50.as_secs_f64() * 1e3,
        cached.p99.as_secs_f64() * 1e3
    ));

    let backend = OldBackend::start(stack.chain()).await?;
    let mut old_runs = Vec::with_capacity(plan.old_runs);
    for run in 0..plan.old_runs {
        let limit = plan.old_sample;
        let s = old_backend::switch(&backend, epoch, |ids| {
            if ids.len() > limit {
                sample(&ids, limit, 0x5eed + run as u64)
            } else {
                ids
            }
        })
        .await?;
        if s.failed > 0 {
            return Err(format!(
                "the old way: {} of {} participant requests failed",
                s.failed,
                3 * s.fetched_for
            ));
        }
        progress(&format!(
            "N={n}: old way run {}: {:.1} s{} ({} chain requests)",
            run + 1,
            s.total_time().as_secs_f64(),
            if s.extrapolated() {
                format!(
                    ", extrapolated from {} of {} participants ({:.1} s measured)",
                    s.fetched_for,
                    s.listed,
                    (s.epoch_time + s.phase_time).as_secs_f64()
                )
            } else {
                String::new()
            },
            s.epoch_chain_calls + s.phase_chain_calls
        ));
        old_runs.push(s);
    }
    let totals: Vec<Duration> = old_runs.iter().map(OldSwitch::total_time).collect();
    let old = Summary::of(&totals).ok_or("no old-way runs")?;
    Ok(SwitchRow {
        n,
        listed,
        ours: Ours {
            first: first.elapsed,
            first_chain_calls,
            first_bytes: first.body.len() as u64,
            first_plain_bytes,
            cached,
            cached_chain_calls,
            cached_bytes,
            peak_after_first_kib,
            peak_after_cached_kib,
        },
        old_runs,
        old,
    })
}
