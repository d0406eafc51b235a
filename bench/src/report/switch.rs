//! The sections of figures 1 (the epoch switch) and 2 (epoch-stats latency).

use std::fmt::Write as _;

use super::markdown::{n_label, table};
use super::results::{Results, Settings};
use crate::stats::{bytes, count, ms, ratio};

pub(super) fn fig1(r: &Results, s: &Settings) -> String {
    let mut rows = Vec::new();
    for row in &r.switch {
        let n = n_label(row.n);
        let o = &row.ours;
        let listed = count(row.listed as u64);
        rows.push(vec![
            n.clone(),
            listed.clone(),
            "ours, first view (built from the chain)".into(),
            "1".into(),
            ms(o.first),
            ms(o.first),
            "1".into(),
            bytes(o.first_bytes),
            count(o.first_chain_calls),
        ]);
        rows.push(vec![
            n.clone(),
            listed.clone(),
            "ours, repeated (no chain request)".into(),
            "1".into(),
            ms(o.cached.p50),
            ms(o.cached.p99),
            o.cached.count.to_string(),
            bytes(o.cached_bytes),
            count(o.cached_chain_calls),
        ]);
        let first = &row.old_runs[0];
        let label = if first.extrapolated() {
            format!(
                "old way, extrapolated from {} of {} participants",
                count(first.fetched_for as u64),
                count(first.listed as u64)
            )
        } else {
            "old way (1 + 3N requests, 6 connections)".into()
        };
        let bytes_total =
            row.old_runs.iter().map(|r| r.total_bytes()).sum::<u64>() / row.old_runs.len() as u64;
        let calls = row
            .old_runs
            .iter()
            .map(|r| r.total_chain_calls())
            .sum::<u64>()
            / row.old_runs.len() as u64;
        rows.push(vec![
            n,
            listed,
            label,
            count(row.old_requests()),
            ms(row.old.p50),
            ms(row.old.p99),
            row.old.count.to_string(),
            bytes(bytes_total),
            count(calls),
        ]);
    }
    let mut out = table(
        &[
            "N",
            "in the epoch",
            "way",
            "requests",
            "wall p50",
            "wall p99",
            "runs",
            "response bytes (gzip)",
            "chain requests",
        ],
        &rows,
    );
    let ratios: Vec<Vec<String>> = r
        .switch
        .iter()
        .map(|row| {
            vec![
                n_label(row.n),
                ratio(row.old_requests() as f64),
                ratio(row.speedup_cold()),
                ratio(row.speedup_cached()),
            ]
        })
        .collect();
    out += "\n";
    out += &table(
        &[
            "N",
            "fewer requests",
            "faster (vs our first view)",
            "faster (vs repeated)",
        ],
        &ratios,
    );
    let sampled: Vec<String> = r
        .switch
        .iter()
        .filter(|row| row.old_runs[0].extrapolated())
        .map(|row| {
            let f = &row.old_runs[0];
            format!(
                "at N = {} the old way ran for {} random participants of {} ({} measured: epoch request {}, \
                 participant requests {}) and was scaled linearly to all of them",
                n_label(row.n),
                count(f.fetched_for as u64),
                count(f.listed as u64),
                ms(f.epoch_time + f.phase_time),
                ms(f.epoch_time),
                ms(f.phase_time)
            )
        })
        .collect();
    if !sampled.is_empty() {
        let _ = writeln!(out, "\nExtrapolated: {}.", sampled.join("; "));
    }
    out += "\n\"Repeated\" is the same request again, answered without the chain: from the answer the \
            instance kept, or read from the table and rendered again when it kept none (epoch-stats keeps a \
            finished epoch's answer once the epoch's total is settled, and here no warm runs on that epoch, \
            so these are table reads and renders; see the floors below for what a render costs).\n";
    let _ = write!(
        out,
        "\nThe old way's runs: {}; p99 of so few runs is their slowest. Above {} participants it runs on a sample.\n",
        r.switch
            .iter()
            .map(|row| format!("{} at N = {}", row.old.count, n_label(row.n)))
            .collect::<Vec<_>>()
            .join(", "),
        count(s.old_sample as u64)
    );
    out
}

pub(super) fn fig2(r: &Results) -> String {
    let Some(row) = &r.epoch_stats else {
        return "Not measured in this run.\n".into();
    };
    let mut out = table(
        &[
            "N",
            "request",
            "requests",
            "p50",
            "p99",
            "max",
            "chain requests",
            "bytes (gzip)",
        ],
        &[
            vec![
                n_label(row.n),
                "`/v1/inference/current`, cached (no rebuild)".into(),
                row.cached.count.to_string(),
                ms(row.cached.p50),
                ms(row.cached.p99),
                ms(row.cached.max),
                count(row.cached_chain_calls),
                bytes(row.bytes),
            ],
            vec![
                n_label(row.n),
                "`/v1/inference/current` after its copy went stale, built from the chain".into(),
                row.uncached.count.to_string(),
                ms(row.uncached.p50),
                ms(row.uncached.p99),
                ms(row.uncached.max),
                count(row.uncached_chain_calls),
                bytes(row.bytes),
            ],
        ],
    );
    if row.cached_snapshots > 1 {
        let _ = writeln!(
            out,
            "\nThe cached run was answered with {} different snapshots (ETags): each instance answers \
             with what it keeps, which can be an earlier rebuild still within the freshness window.",
            row.cached_snapshots
        );
    }
    out
}
