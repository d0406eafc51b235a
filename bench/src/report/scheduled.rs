//! The section of figure 6 (the scheduled jobs).

use std::time::Duration;

use super::markdown::{n_label, table};
use super::results::Results;
use crate::stats::{count, ms, ratio, Summary};

pub(super) fn fig6(r: &Results) -> String {
    if r.scheduled.is_empty() {
        return "Not measured in this run.\n".into();
    }
    let rows: Vec<Vec<String>> = r
        .scheduled
        .iter()
        .map(|row| {
            let first = row.runs[0];
            let repeats: Vec<Duration> = row.runs[1..].iter().map(|r| r.duration).collect();
            let worst = row
                .runs
                .iter()
                .map(|r| r.duration)
                .max()
                .unwrap_or_default();
            let floor = row.serial_floor();
            vec![
                n_label(row.n),
                format!("`{}`", row.job),
                format!("{} s", row.period.as_secs()),
                ms(first.duration),
                count(first.chain_calls),
                ms(floor),
                ratio(first.duration.as_secs_f64() / floor.as_secs_f64()),
                Summary::of(&repeats)
                    .map_or("-".into(), |s| format!("{} ({} runs)", ms(s.p50), s.count)),
                count(row.runs.last().map_or(0, |r| r.chain_calls)),
                format!(
                    "{:.0} %",
                    100.0 * worst.as_secs_f64() / row.timeout.as_secs_f64()
                ),
            ]
        })
        .collect();
    table(
        &[
            "N",
            "job",
            "every",
            "first run",
            "chain calls",
            "serial floor",
            "first / floor",
            "later runs p50",
            "chain calls (last)",
            "slowest / timeout",
        ],
        &rows,
    )
}
