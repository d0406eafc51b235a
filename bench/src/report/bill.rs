//! Figure 8, the bill: the metered units priced at the on-demand prices
//! stated here, as dollars per month with nobody looking and dollars per
//! million page views, and the cost targets with where the units go.

use std::fmt::Write as _;

use super::markdown::{n_label, table};
use super::results::Results;
use crate::fig8_bill::{BillRow, JobCost, ViewCost};
use crate::meter::{Metered, UNITS_PER_FAILED_CONDITION};

/// us-east-1 list prices (on-demand), as published by AWS in 2025.
pub const RRU_PER_MILLION: f64 = 0.125;
pub const WRU_PER_MILLION: f64 = 0.625;
pub const STORAGE_PER_GB_MONTH: f64 = 0.25;
pub const LAMBDA_ARM_PER_GB_SECOND: f64 = 0.000_013_333_4;
pub const LAMBDA_PER_MILLION_REQUESTS: f64 = 0.20;
pub const HTTP_API_PER_MILLION: f64 = 1.00;
/// API Gateway meters HTTP API requests in 512 KB increments.
pub const HTTP_API_METERING_BYTES: u64 = 512 * 1024;
pub const TRANSFER_OUT_PER_GB: f64 = 0.09;
/// AWS prices a month as 730 hours.
pub const SECONDS_PER_MONTH: f64 = 730.0 * 3600.0;
/// The chain's average block time (mainnet's, and the simulator's).
pub const BLOCK_SECONDS: f64 = 6.0;
/// A new epoch warms two epochs: the new one and the one that ended.
pub const WARMS_PER_EPOCH: f64 = 2.0;
const GB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The prices, as the report prints them.
pub fn prices() -> String {
    format!(
        "Prices (us-east-1, on-demand, list prices of 2025): DynamoDB ${RRU_PER_MILLION} per million read \
         request units, ${WRU_PER_MILLION} per million write request units, ${STORAGE_PER_GB_MONTH} per \
         GB-month; Lambda arm64 ${LAMBDA_ARM_PER_GB_SECOND} per GB-second and \
         ${LAMBDA_PER_MILLION_REQUESTS} per million requests; API Gateway HTTP API ${HTTP_API_PER_MILLION} \
         per million requests (each 512 KB of a response is a request); data transfer out \
         ${TRANSFER_OUT_PER_GB} per GB (shown, not in the totals). A month is 730 hours.\n"
    )
}

/// Table and Lambda dollars of what was metered.
pub fn dollars(m: &Metered) -> f64 {
    m.read_units() * RRU_PER_MILLION / 1e6
        + m.write_units() * WRU_PER_MILLION / 1e6
        + m.gb_seconds() * LAMBDA_ARM_PER_GB_SECOND
        + m.invocations() as f64 * LAMBDA_PER_MILLION_REQUESTS / 1e6
}

fn runs_per_month(job: &JobCost) -> f64 {
    SECONDS_PER_MONTH / job.period.as_secs_f64().max(1.0)
}

pub fn epochs_per_month(row: &BillRow) -> f64 {
    SECONDS_PER_MONTH / (row.epoch_length.max(1) as f64 * BLOCK_SECONDS)
}

/// One part of the monthly bill with nobody looking.
pub struct Part {
    pub what: String,
    pub dollars: f64,
}

/// The parts of a month with nobody looking: every job at its rate (the
/// rounds given), the new epochs' warms, storage.
pub fn idle_parts(r: &Results, row: &BillRow, rounds: &[JobCost]) -> Vec<Part> {
    let mut parts: Vec<Part> = rounds
        .iter()
        .map(|j| Part {
            what: format!("`{}`", j.job),
            dollars: dollars(&j.metered) * runs_per_month(j),
        })
        .collect();
    if let Some(warm) = r.warm.iter().find(|w| w.n == row.n) {
        parts.push(Part {
            what: "new epochs' warms".into(),
            dollars: dollars(&warm.first.metered) * WARMS_PER_EPOCH * epochs_per_month(row),
        });
    }
    if let Some(s) = row.storage {
        parts.push(Part {
            what: "storage".into(),
            dollars: s.bytes as f64 / GB * STORAGE_PER_GB_MONTH,
        });
    }
    parts
}

pub fn idle_total(r: &Results, row: &BillRow, rounds: &[JobCost]) -> f64 {
    idle_parts(r, row, rounds).iter().map(|p| p.dollars).sum()
}

/// API Gateway requests one view is billed as.
fn http_api_requests(v: &ViewCost) -> u64 {
    let avg = v.body_bytes / v.views.max(1);
    avg.div_ceil(HTTP_API_METERING_BYTES).max(1)
}

/// Dollars per million views (table, Lambda, API Gateway).
pub fn per_million_views(v: &ViewCost) -> f64 {
    let views = v.views.max(1) as f64;
    (dollars(&v.metered) / views + http_api_requests(v) as f64 * HTTP_API_PER_MILLION / 1e6) * 1e6
}

fn transfer_per_million(v: &ViewCost) -> f64 {
    v.body_bytes as f64 / v.views.max(1) as f64 * 1e6 / GB * TRANSFER_OUT_PER_GB
}

pub fn usd(d: f64) -> String {
    if d >= 100.0 {
        format!("${d:.0}")
    } else if d >= 0.01 {
        format!("${d:.2}")
    } else {
        format!("${d:.4}")
    }
}

fn units(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// The idle goal at a size.
pub fn idle_goal(n: usize) -> Option<f64> {
    match n {
        1_000 => Some(5.0),
        10_000 => Some(20.0),
        _ => None,
    }
}

/// The section: summary, jobs, views.
pub fn fig8(r: &Results) -> String {
    if r.bill.is_empty() {
        return "Not measured in this run.\n".into();
    }
    let mut out = prices();
    let summary: Vec<Vec<String>> = r
        .bill
        .iter()
        .map(|row| {
            let per_view = |what: &str| {
                row.views
                    .iter()
                    .find(|v| v.what == what)
                    .map_or("n/a".into(), |v| usd(per_million_views(v)))
            };
            vec![
                n_label(row.n),
                usd(idle_total(r, row, &row.idle)),
                usd(idle_total(r, row, &row.change)),
                idle_goal(row.n).map_or("n/a".into(), |g| format!("<= {}", usd(g))),
                per_view("the current epoch"),
                per_view("a past epoch"),
                per_view("a modal"),
            ]
        })
        .collect();
    out += "\n";
    out += &table(
        &[
            "N",
            "per month, nobody looking, nothing changes",
            "per month, nobody looking, a typical minute every minute",
            "goal",
            "per million views: current epoch",
            "past epoch",
            "modal",
        ],
        &summary,
    );
    for row in &r.bill {
        let _ = write!(
            out,
            "\nAt N = {}, the jobs (one run each, metered; per month at the template's rate):\n\n",
            n_label(row.n)
        );
        let mut rows = Vec::new();
        for (idle, change) in row.idle.iter().zip(&row.change) {
            let pair = |f: &dyn Fn(&Metered) -> String| {
                format!("{} / {}", f(&idle.metered), f(&change.metered))
            };
            let pages = match (idle.pages_read, change.pages_read) {
                (Some(a), Some(b)) => format!(" ({a} / {b} pages)"),
                _ => String::new(),
            };
            rows.push(vec![
                format!("`{}`{pages}", idle.job),
                format!("{} s", idle.period.as_secs()),
                format!("{:.0}", runs_per_month(idle)),
                pair(&|m| m.table_requests().to_string()),
                pair(&|m| units(m.read_units())),
                pair(&|m| units(m.write_units())),
                pair(&|m| format!("{:.3}", m.gb_seconds())),
                format!(
                    "{} / {}",
                    usd(dollars(&idle.metered) * runs_per_month(idle)),
                    usd(dollars(&change.metered) * runs_per_month(change))
                ),
                change.metered.by_operation(),
            ]);
        }
        if let Some(w) = r.warm.iter().find(|w| w.n == row.n) {
            let m = &w.first.metered;
            rows.push(vec![
                format!("an epoch's warm (figure 3, epoch {})", w.epoch),
                format!("{:.1} epochs/month", epochs_per_month(row)),
                format!("{:.0}", WARMS_PER_EPOCH * epochs_per_month(row)),
                m.table_requests().to_string(),
                units(m.read_units()),
                units(m.write_units()),
                format!("{:.3}", m.gb_seconds()),
                usd(dollars(m) * WARMS_PER_EPOCH * epochs_per_month(row)),
                m.by_operation(),
            ]);
        }
        if let Some(s) = row.storage {
            rows.push(vec![
                "storage".into(),
                String::new(),
                String::new(),
                format!("{} items", s.items),
                String::new(),
                String::new(),
                String::new(),
                usd(s.bytes as f64 / GB * STORAGE_PER_GB_MONTH),
                format!(
                    "{:.1} MiB now; epoch {}'s items {:.1} MiB (each new epoch adds about that: {} per month more each month)",
                    s.bytes as f64 / 1048576.0,
                    row.warm_epoch,
                    s.epoch_bytes as f64 / 1048576.0,
                    usd(s.epoch_bytes as f64 / GB * STORAGE_PER_GB_MONTH * epochs_per_month(row))
                ),
            ]);
        }
        out += &table(
            &[
                "job",
                "every",
                "runs / month",
                "table requests (nothing changed / typical)",
                "read units",
                "write units",
                "Lambda GB-s",
                "$ / month",
                "requests by operation (typical)",
            ],
            &rows,
        );
        let views: Vec<Vec<String>> = row
            .views
            .iter()
            .map(|v| {
                let per = |x: f64| x / v.views.max(1) as f64;
                vec![
                    format!("{} (`{}`)", v.what, v.route),
                    v.views.to_string(),
                    format!("{:.3}", v.table_requests_per_view()),
                    format!("{:.3}", per(v.metered.read_units())),
                    format!("{:.3}", per(v.metered.write_units())),
                    format!("{:.5}", per(v.metered.gb_seconds())),
                    format!("{:.1} KiB", per(v.body_bytes as f64) / 1024.0),
                    http_api_requests(v).to_string(),
                    usd(per_million_views(v)),
                    usd(transfer_per_million(v)),
                    v.metered.by_operation(),
                ]
            })
            .collect();
        let _ = write!(
            out,
            "\nAt N = {}, cached page views (one at a time, after warm-ups):\n\n",
            n_label(row.n)
        );
        out += &table(
            &[
                "view",
                "views",
                "table requests / view",
                "read units / view",
                "write units / view",
                "GB-s / view",
                "body (gzip)",
                "API requests / view",
                "$ / million views",
                "transfer out / million (not in $)",
                "table requests by operation",
            ],
            &views,
        );
        for v in &row.views {
            let Some((count, first)) = &v.first_views else {
                continue;
            };
            let _ = write!(
                out,
                "\nBefore the counted views of {}, the first view of each of the {count} participants \
                 made {:.3} table requests per view ({}; {:.3} read and {:.3} write units per view): \
                 the read-through refreshing stored items past their freshness (unclaimed rewards \
                 after `ITEM_FRESHNESS_SECS`, counted from when the warm stored them), which \
                 later views within the window do not repeat.\n",
                v.what,
                first.table_requests() as f64 / (*count).max(1) as f64,
                first.by_operation(),
                first.read_units() / (*count).max(1) as f64,
                first.write_units() / (*count).max(1) as f64,
            );
        }
    }
    let unknown: u64 = r
        .bill
        .iter()
        .flat_map(|b| {
            b.idle
                .iter()
                .chain(&b.change)
                .map(|j| &j.metered)
                .chain(b.views.iter().map(|v| &v.metered))
        })
        .map(Metered::unknown_units)
        .sum();
    let _ = write!(
        out,
        "\nTable requests whose units no answer reported (not asked for, or failed): {unknown}. A failed \
         conditional write is counted as {UNITS_PER_FAILED_CONDITION} write unit (DynamoDB's minimum charge \
         for it).\n"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use local_stack::meter::table::OpCounts;
    use local_stack::meter::FunctionUsage;
    use local_stack::runtime_api::Usage;

    #[test]
    fn units_and_durations_in_dollars() {
        let mut m = Metered::default();
        m.reading.table.insert(
            "GetItem".into(),
            OpCounts {
                requests: 10,
                read_units: 1e6,
                ..OpCounts::default()
            },
        );
        m.reading.table.insert(
            "PutItem".into(),
            OpCounts {
                requests: 3,
                write_units: 1e6 - 2.0,
                conditional_failures: 2,
                ..OpCounts::default()
            },
        );
        // 1,000,000 invocations of 1 s at 1024 MB: 1e6 GB-s.
        m.reading.functions.insert(
            "f".into(),
            FunctionUsage {
                memory_mb: 1024,
                busy: 0,
                usage: Usage {
                    invocations: 1_000_000,
                    billed_ms: 1_000_000_000,
                },
            },
        );
        assert_eq!(m.table_requests(), 13);
        assert_eq!(m.write_units(), 1e6, "failed conditions count a unit each");
        let want = RRU_PER_MILLION
            + WRU_PER_MILLION
            + 1e6 * LAMBDA_ARM_PER_GB_SECOND
            + LAMBDA_PER_MILLION_REQUESTS;
        assert!(
            (dollars(&m) - want).abs() < 1e-9,
            "{} vs {want}",
            dollars(&m)
        );
    }

    #[test]
    fn http_api_meters_each_512_kb() {
        let view = |bytes: u64| ViewCost {
            what: "v".into(),
            route: "/r".into(),
            views: 2,
            metered: Metered::default(),
            body_bytes: 2 * bytes,
            first_views: None,
        };
        assert_eq!(http_api_requests(&view(10)), 1);
        assert_eq!(http_api_requests(&view(512 * 1024)), 1);
        assert_eq!(http_api_requests(&view(512 * 1024 + 1)), 2);
        assert!((per_million_views(&view(10)) - HTTP_API_PER_MILLION).abs() < 1e-9);
    }
}
