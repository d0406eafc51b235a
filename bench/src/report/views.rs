//! The section of figure 7 (routes served from the scheduled jobs' items,
//! and the inference scan to completion).

use std::time::Duration;

use super::markdown::{n_label, table};
use super::results::Results;
use crate::stats::{bytes, count, ms, ratio};

pub(super) fn fig7(r: &Results) -> String {
    let Some(v) = &r.views else {
        return "Not measured in this run.\n".into();
    };
    let rows: Vec<Vec<String>> = v
        .rows
        .iter()
        .map(|row| {
            vec![
                format!("`{}`", row.route),
                ms(row.first),
                count(row.first_chain_calls),
                ms(row.cached.p50),
                ms(row.cached.p99),
                count(row.cached.count as u64),
                count(row.cached_chain_calls),
                bytes(row.bytes as u64),
                ratio(row.first.as_secs_f64() / row.cached.p50.as_secs_f64()),
            ]
        })
        .collect();
    let mut out = format!("At N = {}:\n\n", n_label(v.n));
    out += &table(
        &[
            "route",
            "nothing stored",
            "chain calls",
            "stored p50",
            "stored p99",
            "requests",
            "chain calls",
            "body (gzip)",
            "speed-up",
        ],
        &rows,
    );
    let s = &v.scan;
    let durations: Vec<Duration> = s.runs.iter().map(|(r, _)| r.duration).collect();
    let pages: Vec<String> = s.runs.iter().map(|(_, p)| p.to_string()).collect();
    let slowest = durations.iter().max().copied().unwrap_or_default();
    let total: Duration = durations.iter().sum();
    out += &format!(
        "\nThe inference scan, from its first page to its published records: {} inferences in {} pages \
         took {} runs of the scheduled job (pages per run: {}; INFERENCE_SCAN_PAGES_PER_RUN in \
         template.yaml), {} of run time in all, the slowest run {}; {} records published \
         (participants x 2 epochs).\n",
        count(s.inferences),
        count(s.pages),
        s.runs.len(),
        pages.join(", "),
        ms(total),
        ms(slowest),
        count(s.published),
    );
    out
}
