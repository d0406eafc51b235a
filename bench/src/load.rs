//! CPU used by processes that are not the bench's: the machine has few
//! cores and may be shared (a compiler in the same tree, say), and a time
//! measured while something else ran is not the same figure. A sampler
//! reads `/proc` twice a second and adds up the CPU time of every process
//! outside the bench's own process group and its stacks' groups; the
//! report states it per figure, so a reader can tell a quiet measurement
//! from a disturbed one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use local_stack::launcher;

use crate::procs;

const PERIOD: Duration = Duration::from_millis(500);

/// Cumulative CPU time of foreign processes since the sampler started.
#[derive(Clone, Default)]
pub struct ForeignCpu(Arc<AtomicU64>);

impl ForeignCpu {
    fn ticks(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// A point to measure from.
    pub fn mark(&self) -> Mark {
        Mark {
            ticks: self.ticks(),
            at: Instant::now(),
        }
    }

    /// Foreign CPU since `mark`, in cores (1.0 = one core busy all along).
    pub fn cores_since(&self, mark: &Mark) -> f64 {
        let secs = self.ticks().saturating_sub(mark.ticks) as f64 / procs::ticks_per_second();
        secs / mark.at.elapsed().as_secs_f64().max(1e-3)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Mark {
    ticks: u64,
    at: Instant,
}

impl Mark {
    pub fn elapsed(&self) -> Duration {
        self.at.elapsed()
    }
}

/// Every process's group and CPU time, by pid.
fn snapshot() -> HashMap<i32, (i32, u64)> {
    procs::cpu_by_pid()
        .into_iter()
        .map(|(pid, pgrp, cpu)| (pid, (pgrp, cpu)))
        .collect()
}

static SAMPLER: OnceLock<ForeignCpu> = OnceLock::new();

/// The process's sampler, started on first use.
pub fn foreign() -> &'static ForeignCpu {
    SAMPLER.get_or_init(start)
}

/// Starts a sampler (a plain thread: it must not compete with the
/// runtime's workers for a turn).
fn start() -> ForeignCpu {
    let total = ForeignCpu::default();
    let out = total.clone();
    // SAFETY: getpgrp has no preconditions.
    let own = unsafe { libc::getpgrp() };
    std::thread::spawn(move || {
        let mut last = snapshot();
        loop {
            std::thread::sleep(PERIOD);
            let now = snapshot();
            let ours = launcher::running_groups();
            let mut delta = 0;
            for (pid, (pgrp, cpu)) in &now {
                if *pgrp == own || ours.contains(pgrp) {
                    continue;
                }
                // A process born since the last sample: all its time is new.
                let before = last.get(pid).map_or(0, |(_, c)| *c);
                delta += cpu.saturating_sub(before);
            }
            total.0.fetch_add(delta, Ordering::Relaxed);
            last = now;
        }
    });
    out
}
