//! The section of figure 9 (the history): a full history's latency per
//! size, and the backfill's cost at the target size, per run and for the
//! whole backfill.

use std::fmt::Write as _;

use super::bill::{dollars, usd};
use super::markdown::{n_label, table};
use super::results::Results;
use crate::fig9_history::{BackfillRow, BackfillRun, HistoryRow};
use crate::stats::{bytes, count, ms, ratio, Summary};

pub(super) fn fig9(r: &Results) -> String {
    if r.history.is_empty() && r.backfill.is_none() {
        return "Not measured in this run.\n".into();
    }
    let mut out = String::new();
    if !r.history.is_empty() {
        out += &latency_table(&r.history);
        for h in &r.history {
            let _ = writeln!(
                out,
                "\nAt N = {}: {} participants' histories of {} epochs each (a JSON answer is {} gzipped), \
                 {} views in all: {} table requests ({}), {} chain requests; the bench wrote {} entries of \
                 older epochs as copies of each participant's newest recorded one.",
                n_label(h.n),
                h.participants,
                h.epochs,
                bytes(h.json_bytes),
                count(h.views),
                count(h.metered.table_requests()),
                h.metered.by_operation(),
                count(h.chain_calls),
                count(h.seeded as u64),
            );
        }
    }
    if let Some(b) = &r.backfill {
        out += "\n";
        out += &backfill_section(b);
    }
    out
}

fn latency_table(rows: &[HistoryRow]) -> String {
    let mut lines = Vec::new();
    for h in rows {
        let views_per_kind = (h.views / 3).max(1) as f64;
        let per_view = h.metered.table_requests() as f64 / (3.0 * views_per_kind);
        let line = |what: &str, s: &Summary, vs_floor: bool| {
            vec![
                n_label(h.n),
                what.to_string(),
                count(s.count as u64),
                ms(s.p50),
                ms(s.p99),
                ms(s.max),
                if vs_floor {
                    ratio(s.p50.as_secs_f64() / h.floor.p50.as_secs_f64())
                } else {
                    "1.00x".into()
                },
                if vs_floor {
                    format!("{per_view:.2}")
                } else {
                    "1 Query".into()
                },
            ]
        };
        lines.push(line(
            "`/v1/participants/{id}/history?from_epoch=1` (JSON)",
            &h.json,
            true,
        ));
        lines.push(line("the same, `&format=csv`", &h.csv, true));
        lines.push(line(
            "`/history.svg?metric=weight&epochs=…` (all of them)",
            &h.svg,
            true,
        ));
        lines.push(line(
            "floor: the Query alone, through the functions' adapter",
            &h.floor,
            false,
        ));
    }
    table(
        &[
            "N",
            "request",
            "requests",
            "p50",
            "p99",
            "max",
            "p50 / floor",
            "table requests per view",
        ],
        &lines,
    )
}

fn backfill_section(b: &BackfillRow) -> String {
    let rows: Vec<Vec<String>> = b
        .runs
        .iter()
        .enumerate()
        .map(|(i, run)| {
            let (epoch, outcome) = run
                .triggered
                .as_ref()
                .map_or(("-".into(), "nothing to hand on".into()), |(e, o)| {
                    (e.to_string(), o.clone())
                });
            vec![
                (i + 1).to_string(),
                epoch,
                outcome,
                run.skipped.to_string(),
                ms(run.wall),
                count(run.chain_calls),
                count(run.metered.table_requests()),
                format!(
                    "{:.1} / {:.1}",
                    run.metered.read_units(),
                    run.metered.write_units()
                ),
                format!("{:.2}", run.metered.gb_seconds()),
                usd(dollars(&run.metered)),
            ]
        })
        .collect();
    let mut out = format!(
        "The backfill at N = {}, one `history_backfill` run at a time, each metered with the warm it \
         handed on:\n\n",
        n_label(b.n)
    );
    out += &table(
        &[
            "run",
            "epoch handed on",
            "trigger",
            "recorded, passed",
            "wall (run + warm)",
            "chain calls",
            "table requests",
            "units (read / write)",
            "GB-s",
            "cost",
        ],
        &rows,
    );
    if let Some(full) = full_backfill(b) {
        let _ = writeln!(
            out,
            "\nEach warm records its epoch and the earlier epochs of its rewards window, so the next run \
             passes over those and hands on an epoch {:.1} lower. A full backfill at N = {} ({} finished \
             epochs, about {} more warms below the last one measured, one run every {} s: {:.1} hours of \
             schedule): about {} chain calls, {:.0} read and {:.0} write units, {:.1} GB-s, **{}** in all \
             (the runs above plus the remaining warms at the mean of the warming runs after the first). \
             Once the history is complete a run reads the current header and the cursor (see figure 6).",
            full.stride,
            n_label(b.n),
            b.epochs,
            full.extrapolated,
            b.period.as_secs(),
            (b.runs.len() as u64 + full.extrapolated) as f64 * b.period.as_secs_f64() / 3600.0,
            count(full.chain_calls.round() as u64),
            full.read_units,
            full.write_units,
            full.gb_seconds,
            usd(full.dollars),
        );
    }
    out
}

/// A full backfill's totals, from the measured runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct FullBackfill {
    pub chain_calls: f64,
    pub read_units: f64,
    pub write_units: f64,
    pub gb_seconds: f64,
    pub dollars: f64,
    /// Warms counted at the mean rather than measured.
    pub extrapolated: u64,
    /// Epochs one warm moves the backfill down by (measured).
    pub stride: f64,
}

pub(super) fn full_backfill(b: &BackfillRow) -> Option<FullBackfill> {
    let warming = b.warming_runs();
    let measured = warming.len() as u64;
    // The mean of the later warming runs (the first alone if it is all).
    let later: Vec<&BackfillRun> = if warming.len() > 1 {
        warming[1..].to_vec()
    } else {
        warming.clone()
    };
    if later.is_empty() {
        return None;
    }
    // How far one warm moves the walk down: from the first handed epoch to
    // the last over the warms between (1 with a single warm).
    let handed: Vec<u64> = warming
        .iter()
        .filter_map(|r| r.triggered.as_ref().map(|(e, _)| *e))
        .collect();
    let (first, last) = (*handed.first()?, *handed.last()?);
    let stride = if measured > 1 {
        (first - last) as f64 / (measured - 1) as f64
    } else {
        1.0
    }
    .max(1.0);
    let extrapolated = (last.saturating_sub(1) as f64 / stride).ceil() as u64;
    let mean = |f: &dyn Fn(&BackfillRun) -> f64| {
        later.iter().map(|r| f(r)).sum::<f64>() / later.len() as f64
    };
    let total = |f: &dyn Fn(&BackfillRun) -> f64| {
        b.runs.iter().map(f).sum::<f64>() + mean(f) * extrapolated as f64
    };
    Some(FullBackfill {
        chain_calls: total(&|r| r.chain_calls as f64),
        read_units: total(&|r| r.metered.read_units()),
        write_units: total(&|r| r.metered.write_units()),
        gb_seconds: total(&|r| r.metered.gb_seconds()),
        dollars: total(&|r| dollars(&r.metered)),
        extrapolated,
        stride,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::Metered;
    use std::time::Duration;

    fn run(epoch: Option<u64>, chain_calls: u64) -> BackfillRun {
        BackfillRun {
            triggered: epoch.map(|e| (e, "Invoked".to_string())),
            skipped: 0,
            metered: Metered::default(),
            chain_calls,
            wall: Duration::from_secs(1),
        }
    }

    #[test]
    fn a_full_backfill_is_the_runs_plus_the_remaining_warms_at_the_later_runs_mean() {
        let b = BackfillRow {
            n: 1_000,
            // A run that handed nothing on, a first warm, two later ones,
            // each 6 epochs below the one before.
            runs: vec![
                run(None, 0),
                run(Some(52), 900),
                run(Some(46), 300),
                run(Some(40), 500),
            ],
            epochs: 59,
            period: Duration::from_secs(300),
        };
        let full = full_backfill(&b).unwrap();
        assert_eq!(full.stride, 6.0);
        // Epochs 39..1 at 6 a warm.
        assert_eq!(full.extrapolated, 7);
        assert_eq!(full.chain_calls, 1_700.0 + 7.0 * 400.0);
        let one = BackfillRow {
            runs: vec![run(Some(5), 100)],
            ..b.clone()
        };
        let full = full_backfill(&one).unwrap();
        assert_eq!((full.stride, full.extrapolated), (1.0, 4));
        let none = BackfillRow {
            runs: vec![run(None, 3)],
            ..b
        };
        assert_eq!(full_backfill(&none), None);
    }
}
