//! The targets of the benchmark issue, each evaluated as met, missed or
//! not measured, with an explanation for a miss ([`super::explain`]).

use std::time::Duration;

use super::explain::{explain_cached, explain_init, explain_modal, explain_rss, explain_warm};
use super::markdown::{n_label, table};
use super::results::{Results, Settings};
use crate::stats::{count, ms, ratio};

/// One target of the issue, evaluated.
#[derive(Debug, Clone)]
pub struct Target {
    pub what: String,
    pub measured: String,
    pub goal: String,
    /// `None`: not measured in this run.
    pub met: Option<bool>,
    /// For a miss: why, and what would fix it.
    pub explanation: Option<String>,
}

impl Target {
    fn verdict(&self) -> &'static str {
        match self.met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "not measured",
        }
    }
}

pub fn targets(r: &Results, s: &Settings) -> Vec<Target> {
    let tn = s.target_n;
    let mut out = Vec::new();
    let not_run = |what: String, goal: &str| Target {
        what,
        measured: "not measured in this run".into(),
        goal: goal.into(),
        met: None,
        explanation: None,
    };

    match r.switch.iter().find(|row| row.n == tn) {
        Some(row) => {
            let fewer = row.old_requests() as f64;
            out.push(Target {
                what: format!("Epoch switch requests, old / ours (N = {})", n_label(tn)),
                measured: format!("{} ({} vs 1)", ratio(fewer), count(row.old_requests())),
                goal: ">= 50x fewer".into(),
                met: Some(fewer >= 50.0),
                explanation: None,
            });
            let cold = row.speedup_cold();
            out.push(Target {
                what: format!("Epoch switch time, old median / ours (N = {})", n_label(tn)),
                measured: format!(
                    "{} against our first (uncached) answer, {} against a repeated one",
                    ratio(cold),
                    ratio(row.speedup_cached())
                ),
                goal: ">= 10x faster".into(),
                met: Some(cold >= 10.0),
                explanation: None,
            });
        }
        None => {
            out.push(not_run("Epoch switch requests".into(), ">= 50x fewer"));
            out.push(not_run("Epoch switch time".into(), ">= 10x faster"));
        }
    }

    match &r.epoch_stats {
        Some(row) => {
            let met = row.cached.p99 <= Duration::from_millis(20) && row.cached_chain_calls == 0;
            out.push(Target {
                what: format!("Cached epoch-stats p99 (N = {})", n_label(row.n)),
                measured: format!("{} (p50 {})", ms(row.cached.p99), ms(row.cached.p50)),
                goal: "<= 20 ms".into(),
                met: Some(met),
                explanation: (!met).then(|| {
                    explain_cached(row, r.floors.as_ref()) + &r.load_during(row.n, "figure 2")
                }),
            });
        }
        None => out.push(not_run("Cached epoch-stats p99".into(), "<= 20 ms")),
    }

    if r.warm.is_empty() {
        out.push(not_run("Warm fill / ideal".into(), "<= 1.15x"));
    }
    for row in &r.warm {
        let met = row.ratio() <= 1.15;
        out.push(Target {
            what: format!("Warm fill / ideal (N = {})", n_label(row.n)),
            measured: format!(
                "{} ({} vs {})",
                ratio(row.ratio()),
                ms(row.first.wall),
                ms(row.ideal())
            ),
            goal: "<= 1.15x".into(),
            met: Some(met),
            explanation: (!met).then(|| explain_warm(row) + &r.load_during(row.n, "figure 3")),
        });
    }

    if r.modal.is_empty() {
        out.push(not_run("Modal p99 after the warm".into(), "<= 10 ms"));
    }
    for row in &r.modal {
        let met = row.after.p99 <= Duration::from_millis(10) && row.after_chain_calls == 0;
        out.push(Target {
            what: format!("Modal p99 after the warm (N = {})", n_label(row.n)),
            measured: format!(
                "{} (p50 {}), {} upstream calls",
                ms(row.after.p99),
                ms(row.after.p50),
                row.after_chain_calls
            ),
            goal: "<= 10 ms, 0 upstream calls".into(),
            met: Some(met),
            explanation: (!met)
                .then(|| explain_modal(row, r.floors.as_ref()) + &r.load_during(row.n, "figure 4")),
        });
    }

    if r.cold.is_empty() {
        out.push(not_run("Init".into(), "<= 50 ms"));
    }
    for row in &r.cold {
        let met = row.init.p50 <= Duration::from_millis(50);
        out.push(Target {
            what: format!("Init of {} (median of {})", row.function, row.init.count),
            measured: format!(
                "{} to the first poll, {} to the first answer",
                ms(row.init.p50),
                ms(row.first_answer.p50)
            ),
            goal: "<= 50 ms".into(),
            met: Some(met),
            explanation: (!met).then(|| {
                explain_init(row)
                    + &r.cold_n
                        .map_or(String::new(), |n| r.load_during(n, "figure 5 (cold start)"))
            }),
        });
    }

    match r.rss.iter().max_by_key(|(n, _)| *n) {
        Some((n, rows)) => {
            for row in rows {
                let mib = row.peak_kib as f64 / 1024.0;
                let met = row.instances > 0 && mib <= 64.0;
                out.push(Target {
                    what: format!("Peak RSS of {} (N = {})", row.function, n_label(*n)),
                    measured: if row.instances > 0 {
                        format!("{mib:.1} MiB")
                    } else {
                        "process not found".into()
                    },
                    goal: "<= 64 MiB".into(),
                    met: Some(met),
                    explanation: (!met).then(|| explain_rss(row, *n, r)),
                });
            }
        }
        None => out.push(not_run("Peak RSS".into(), "<= 64 MiB")),
    }
    out.extend(super::bill_targets::bill_targets(r));
    out
}

pub(super) fn targets_table(targets: &[Target]) -> String {
    let rows: Vec<Vec<String>> = targets
        .iter()
        .map(|t| {
            vec![
                t.what.clone(),
                t.measured.clone(),
                t.goal.clone(),
                t.verdict().into(),
            ]
        })
        .collect();
    table(&["target", "measured", "goal", "result"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmeasured_targets_are_not_met() {
        let settings = Settings {
            latency: Duration::from_millis(50),
            sizes: vec![100],
            quick: true,
            instances: 2,
            warmer_concurrency: 16,
            chain_concurrency: "16".into(),
            target_n: 1_000,
            old_sample: 1_000,
            current_epoch: None,
            scheduled_reps: 1,
            views_reps: 1,
            bill_views: 1,
        };
        let t = targets(&Results::default(), &settings);
        assert!(!t.is_empty());
        assert!(t.iter().all(|t| t.met.is_none()), "{t:?}");
    }
}
