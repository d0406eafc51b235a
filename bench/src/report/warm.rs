//! The sections of figures 3 (the warm fill) and 4 (the participant modal).

use std::fmt::Write as _;
use std::time::Duration;

use super::markdown::{n_label, table};
use super::results::Results;
use crate::stack::WarmReport;
use crate::stats::{count, ms, ratio};

pub(super) fn fig3(r: &Results) -> String {
    if r.warm.is_empty() {
        return "Not measured in this run.\n".into();
    }
    let first: Vec<Vec<String>> = r
        .warm
        .iter()
        .map(|row| {
            let rep = &row.first.report;
            vec![
                n_label(row.n),
                row.epoch.to_string(),
                count(rep.participants),
                count(rep.items_checked),
                format!(
                    "{} / {}",
                    count(rep.upstream_calls),
                    count(row.first.chain_counted)
                ),
                ms(row.ideal()),
                ms(row.first.wall),
                ratio(row.ratio()),
                count(rep.dynamodb_requests),
                capacity(rep),
                count(rep.written),
            ]
        })
        .collect();
    let second: Vec<Vec<String>> = r
        .warm
        .iter()
        .map(|row| {
            let rep = &row.second.report;
            vec![
                n_label(row.n),
                if rep.skipped {
                    "skipped: the epoch rests".to_owned()
                } else {
                    "ran".to_owned()
                },
                ms(row.second.wall),
                count(rep.present),
                format!(
                    "{} / {}",
                    count(rep.upstream_calls),
                    count(row.second.chain_counted)
                ),
                count(rep.dynamodb_requests),
                capacity(rep),
                count(rep.written),
            ]
        })
        .collect();
    let mut out = String::from("First run (nothing cached):\n\n");
    out += &table(
        &[
            "N",
            "epoch",
            "participants",
            "items",
            "upstream calls (report / chain)",
            "ideal",
            "wall",
            "wall / ideal",
            "DynamoDB requests",
            "capacity units (read / write)",
            "written",
        ],
        &first,
    );
    out += "\nSecond run (everything present). A first run that stored every item, the total and \
            the final jail statuses leaves the epoch resting for good: the warmer's lease refuses \
            the second run, which then reads and writes nothing but the lease claim (the warmer's \
            own counters are not reported for it; the table requests are the meter's in figure 8):\n\n";
    out += &table(
        &[
            "N",
            "outcome",
            "wall",
            "items present",
            "upstream calls (report / chain)",
            "DynamoDB requests",
            "capacity units (read / write)",
            "written",
        ],
        &second,
    );
    if r.warm
        .iter()
        .any(|row| row.first.report.written > 0 && row.first.report.dynamodb_write_units == 0.0)
    {
        out += "\nCapacity units are the warmer report's `dynamodb_read_units` / `dynamodb_write_units`, summed \
                from the ConsumedCapacity the SDK returns. The table adapter asks for `TOTAL`, which gives \
                one `CapacityUnits` figure per request and no read/write split, and files a figure without \
                a split under reads (`TableCounters::record` in shared/src/table/dynamo.rs): the PutItems' \
                write units are inside the read column and the write column stays 0. The sum is right; the \
                split is not.\n";
    }
    out
}

/// The report's capacity units, `read / write`.
fn capacity(rep: &WarmReport) -> String {
    format!(
        "{:.1} / {:.1}",
        rep.dynamodb_read_units, rep.dynamodb_write_units
    )
}

pub(super) fn fig4(r: &Results) -> String {
    if r.modal.is_empty() {
        return "Not measured in this run (it needs at least 400 participants).\n".into();
    }
    let mut rows = Vec::new();
    for row in &r.modal {
        for (pass, sum, calls) in [
            (
                "before the warm (read-through)",
                &row.before,
                row.before_chain_calls,
            ),
            ("after the warm", &row.after, row.after_chain_calls),
        ] {
            rows.push(vec![
                n_label(row.n),
                row.epoch.to_string(),
                pass.into(),
                sum.count.to_string(),
                ms(sum.p50),
                ms(sum.p99),
                ms(sum.max),
                count(calls),
            ]);
        }
    }
    let mut out = table(
        &[
            "N",
            "epoch",
            "pass",
            "modals",
            "p50",
            "p99",
            "max",
            "chain requests",
        ],
        &rows,
    );
    for row in &r.modal {
        let w = &row.warm;
        let _ = writeln!(
            out,
            "\nBetween the passes at N = {}, the warmer filled the second set: {} participants, {} items \
             written, {} upstream calls, {}.",
            n_label(row.n),
            w.participants,
            count(w.written),
            count(w.upstream_calls),
            ms(Duration::from_millis(w.duration_ms))
        );
    }
    out
}
