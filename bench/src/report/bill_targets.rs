//! The cost targets of figure 8 (idle dollars per month, table requests
//! per view), each with, when missed, by how much and where the units go.

use super::bill::{dollars, idle_goal, idle_parts, idle_total, usd};
use super::markdown::n_label;
use super::results::Results;
use super::targets::Target;
use crate::fig8_bill::{BillRow, ViewCost};

/// A cached epoch view may cost a tenth of a table request on average.
const CACHED_VIEW_REQUESTS: f64 = 0.1;
/// A modal: one table request.
const MODAL_REQUESTS: f64 = 1.0;

pub fn bill_targets(r: &Results) -> Vec<Target> {
    let mut out = Vec::new();
    if r.bill.is_empty() {
        out.push(Target {
            what: "Idle bill (nobody looking)".into(),
            measured: "not measured in this run".into(),
            goal: "<= $5/month at N = 1,000, <= $20 at N = 10,000".into(),
            met: None,
            explanation: None,
        });
    }
    for row in &r.bill {
        if let Some(goal) = idle_goal(row.n) {
            let typical = idle_total(r, row, &row.change);
            let quiet = idle_total(r, row, &row.idle);
            let met = typical <= goal;
            out.push(Target {
                what: format!("Idle bill, nobody looking (N = {})", n_label(row.n)),
                measured: format!(
                    "{}/month with a typical minute every minute ({} if nothing changes)",
                    usd(typical),
                    usd(quiet)
                ),
                goal: format!("<= {}/month", usd(goal)),
                met: Some(met),
                explanation: (!met).then(|| explain_idle(r, row, goal)),
            });
        }
        for v in &row.views {
            let (goal, label) = if v.what == "a modal" {
                (MODAL_REQUESTS, "1")
            } else {
                (CACHED_VIEW_REQUESTS, "<= 0.1 on average")
            };
            let per = v.table_requests_per_view();
            let met = per <= goal + 1e-9;
            out.push(Target {
                what: format!(
                    "Table requests per view of {} (N = {})",
                    v.what,
                    n_label(row.n)
                ),
                measured: format!(
                    "{per:.3} ({} over {} views)",
                    v.metered.table_requests(),
                    v.views
                ),
                goal: label.into(),
                met: Some(met),
                explanation: (!met).then(|| explain_view(v, goal)),
            });
        }
    }
    out
}

fn explain_idle(r: &Results, row: &BillRow, goal: f64) -> String {
    let total = idle_total(r, row, &row.change);
    let mut parts = idle_parts(r, row, &row.change);
    parts.sort_by(|a, b| b.dollars.total_cmp(&a.dollars));
    let shares: Vec<String> = parts
        .iter()
        .filter(|p| p.dollars >= 0.005)
        .map(|p| {
            format!(
                "{} {} ({:.0} %)",
                p.what,
                usd(p.dollars),
                100.0 * p.dollars / total
            )
        })
        .collect();
    let mut text = format!(
        "The month with nobody looking costs {} against {} at N = {}: over by {} ({:.1}x). Where it goes: {}.",
        usd(total),
        usd(goal),
        n_label(row.n),
        usd(total - goal),
        total / goal,
        shares.join(", ")
    );
    // The largest job, by what it asks of the table and of Lambda.
    if let Some(job) = row
        .change
        .iter()
        .max_by(|a, b| dollars(&a.metered).total_cmp(&dollars(&b.metered)))
    {
        let m = &job.metered;
        text += &format!(
            " The largest job, `{}`, makes per run {} table requests ({}; {:.1} read and {:.1} write units) \
             and {:.3} GB-s of Lambda ({}).",
            job.job,
            m.table_requests(),
            m.by_operation(),
            m.read_units(),
            m.write_units(),
            m.gb_seconds(),
            m.by_function()
        );
        let units_cost = m.read_units() * super::bill::RRU_PER_MILLION / 1e6
            + m.write_units() * super::bill::WRU_PER_MILLION / 1e6;
        let lambda = dollars(m) - units_cost;
        text += if lambda > units_cost {
            " Most of it is Lambda duration: the run waits on the chain (each call at the simulated \
             latency) while its memory is billed; fewer, parallel or skipped chain calls when nothing \
             changed, or less memory, would cut it."
        } else if job.job == "current_epoch" {
            " Most of it is table units: the typical minute's new block moves every member's counters \
             (inference counts grow through the epoch, on the simulated chain as on a busy one), so \
             every row differs and the job writes a new snapshot (unchanged rows write the header \
             only: see the nothing-changed column). What would cut it: storing the counters apart \
             from the rows' static columns (models, URLs, weights, keys), so a minute rewrites a few \
             numbers per participant instead of whole rows, or refreshing the rows less often than \
             the tip."
        } else {
            " Most of it is table units: writing only what changed (compare with what is stored first, \
             or a revision item) and reading fewer chunks would cut it."
        };
    }
    text
}

fn explain_view(v: &ViewCost, goal: f64) -> String {
    let per = v.table_requests_per_view();
    format!(
        "A view of {} (`{}`) makes {:.3} table requests on average against {}: over by {:.3} ({} requests \
         over {} views: {}). {} The functions ran: {}.",
        v.what,
        v.route,
        per,
        goal,
        per - goal,
        v.metered.table_requests(),
        v.views,
        v.metered.by_operation(),
        if v.what == "a modal" {
            "Each view reads in one BatchGetItem; requests beyond it are the read-through \
             refreshing stored items past their freshness, or an instance's first modal of the epoch \
             (which reads the headers first)."
        } else {
            "Answering from the instance's kept copy with one small revision item read at most every \
             few seconds (instead of the stats and jail/health chunks) would meet it."
        },
        v.metered.by_function()
    )
}
