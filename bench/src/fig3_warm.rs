//! Figure 3: the warm fill of one finished epoch nobody has asked for yet,
//! invoked synchronously through the stack's Lambda Invoke endpoint, next
//! to the ideal `ceil(upstream calls / concurrency) x latency` (every
//! upstream call in a perfectly packed slot, nothing else costing time);
//! then the same invocation again with every item present.
//!
//! The warmer's own report gives the upstream calls and the DynamoDB
//! requests and capacity as the SDK reported them; the chain's `/__stats`
//! cross-checks the upstream count from the other side of the wire.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::meter::Metered;
use crate::procs::rss_kib;
use crate::progress::progress;
use crate::stack::{Stack, WarmReport};

/// How often the warmer's memory is sampled during a run.
const RSS_PERIOD: Duration = Duration::from_millis(100);

/// The warmer process's resident memory over one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RssTrace {
    pub start_kib: u64,
    pub peak_kib: u64,
    /// When the peak was seen, from the start of the run.
    pub peak_at: Duration,
    pub end_kib: u64,
}

/// Samples `pid`'s RSS until `stop` is set (a thread: the figure's own
/// tasks must not delay it, nor it them).
fn trace_rss(pid: i32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<RssTrace> {
    std::thread::spawn(move || {
        let started = Instant::now();
        let mut t = RssTrace {
            start_kib: rss_kib(pid).unwrap_or(0),
            ..RssTrace::default()
        };
        while !stop.load(Ordering::Relaxed) {
            let now = rss_kib(pid).unwrap_or(0);
            if now > t.peak_kib {
                (t.peak_kib, t.peak_at) = (now, started.elapsed());
            }
            t.end_kib = now;
            std::thread::sleep(RSS_PERIOD);
        }
        t
    })
}

#[derive(Debug, Clone)]
pub struct WarmRun {
    pub wall: Duration,
    pub report: WarmReport,
    /// Requests the chain counted during the run.
    pub chain_counted: u64,
    /// The warmer's memory during the run (when its process was found).
    pub rss: Option<RssTrace>,
    /// What local-stack's meter counted during the run (the bill's warm).
    pub metered: Metered,
}

#[derive(Debug, Clone)]
pub struct WarmRow {
    pub n: usize,
    pub epoch: u64,
    pub concurrency: u64,
    pub latency: Duration,
    pub first: WarmRun,
    pub second: WarmRun,
}

impl WarmRow {
    pub fn ideal(&self) -> Duration {
        ideal(
            self.first.report.upstream_calls,
            self.concurrency,
            self.latency,
        )
    }

    /// Wall time over the ideal (the target is at most 1.3).
    pub fn ratio(&self) -> f64 {
        self.first.wall.as_secs_f64() / self.ideal().as_secs_f64()
    }
}

/// `ceil(calls / concurrency) x latency`.
pub fn ideal(calls: u64, concurrency: u64, latency: Duration) -> Duration {
    let slots = calls.div_ceil(concurrency.max(1));
    latency * u32::try_from(slots).unwrap_or(u32::MAX)
}

async fn warm_once(stack: &Stack, epoch: u64) -> Result<WarmRun, String> {
    stack.reset_chain_stats().await?;
    stack.reset_meter().await?;
    let warmer = stack
        .function_processes()
        .into_iter()
        .find(|(name, _)| name == "warmer");
    let stop = Arc::new(AtomicBool::new(false));
    let tracer = warmer.map(|(_, pid)| trace_rss(pid, stop.clone()));
    let invoked = stack
        .invoke_warmer(&json!({ "epoch_id": epoch, "finished": true }))
        .await;
    stop.store(true, Ordering::Relaxed);
    let rss = tracer.and_then(|t| t.join().ok());
    let (report, wall) = invoked?;
    let chain_counted = stack.chain_stats().await?.total;
    let metered = stack.read_meter().await?;
    Ok(WarmRun {
        wall,
        report,
        chain_counted,
        rss,
        metered,
    })
}

pub async fn run(
    stack: &Stack,
    epoch: u64,
    concurrency: u64,
    latency: Duration,
) -> Result<WarmRow, String> {
    let n = stack.participants;
    let first = warm_once(stack, epoch).await?;
    if first.report.skipped {
        return Err(format!(
            "N={n}: the first warm of epoch {epoch} was skipped"
        ));
    }
    if let Some(p) = first.report.problems() {
        return Err(format!(
            "N={n}: the warm of epoch {epoch} was incomplete: {p}"
        ));
    }
    progress(&format!(
        "N={n}: warm fill of epoch {epoch}: {:.1} s, {} upstream calls ({} counted by the chain), {} items written",
        first.wall.as_secs_f64(),
        first.report.upstream_calls,
        first.chain_counted,
        first.report.written
    ));
    let second = warm_once(stack, epoch).await?;
    progress(&format!(
        "N={n}: second warm: {:.2} s, {}, {} upstream calls, {} DynamoDB requests",
        second.wall.as_secs_f64(),
        if second.report.skipped {
            "skipped (the epoch rests)"
        } else {
            "ran"
        },
        second.report.upstream_calls,
        second.report.dynamodb_requests
    ));
    Ok(WarmRow {
        n,
        epoch,
        concurrency,
        latency,
        first,
        second,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ideal_rounds_slots_up() {
        let ms = Duration::from_millis;
        assert_eq!(ideal(0, 16, ms(50)), ms(0));
        assert_eq!(ideal(1, 16, ms(50)), ms(50));
        assert_eq!(ideal(16, 16, ms(50)), ms(50));
        assert_eq!(ideal(17, 16, ms(50)), ms(100));
        assert_eq!(ideal(8_001, 16, ms(50)), ms(25_050));
    }
}
