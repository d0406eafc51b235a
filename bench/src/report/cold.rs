//! The section of figure 5: cold starts, binary sizes and memory.

use std::fmt::Write as _;
use std::time::Duration;

use super::markdown::{mib, n_label, table};
use super::results::Results;
use crate::fig3_warm::RssTrace;
use crate::stack::FUNCTIONS;
use crate::stats::{bytes, ms};

pub(super) fn fig5(r: &Results) -> String {
    let mut out = String::new();
    if r.cold.is_empty() {
        out += "Cold start: not measured in this run.\n";
    } else {
        let rows: Vec<Vec<String>> = r
            .cold
            .iter()
            .map(|c| {
                vec![
                    c.function.clone(),
                    c.event.clone(),
                    c.init.count.to_string(),
                    ms(c.init.p50),
                    ms(c.init.max),
                    ms(c.first_answer.p50),
                    ms(c.first_answer.max),
                ]
            })
            .collect();
        let _ = writeln!(
            out,
            "Cold start (release x86_64 binaries; against the N = {} stack):\n",
            r.cold_n.map_or("?".into(), n_label)
        );
        out += &table(
            &[
                "function",
                "event",
                "starts",
                "init (to first poll) median",
                "init max",
                "first answer median",
                "first answer max",
            ],
            &rows,
        );
    }
    if !r.sizes.is_empty() {
        let rows: Vec<Vec<String>> = r
            .sizes
            .iter()
            .map(|s| {
                vec![
                    s.function.clone(),
                    bytes(s.bytes),
                    s.arch.to_string(),
                    format!("`{}`", s.path),
                    s.built.clone(),
                ]
            })
            .collect();
        out += "\nBootstrap sizes";
        if r.sizes.iter().all(|s| s.arch != "arm64") {
            out += " (no `target/lambda/{fn}/bootstrap`: these are the x86_64 release binaries; \
                    `cargo lambda build --release --arm64` gives the deployed ones)";
        } else {
            out += " (the arm64 bootstraps of `make release` under `target/lambda`, as deployed; the \
                    bench does not rebuild them, so a bootstrap built before the last source change is \
                    not today's size)";
        }
        out += ":\n\n";
        out += &table(&["function", "size", "arch", "file", "built"], &rows);
    }
    if r.rss.is_empty() {
        out += "\nPeak RSS: not measured in this run.\n";
        return out;
    }
    let mut headers = vec!["function".to_string()];
    headers.extend(r.rss.iter().map(|(n, _)| format!("N = {}", n_label(*n))));
    let rows: Vec<Vec<String>> = FUNCTIONS
        .iter()
        .map(|f| {
            let mut row = vec![f.to_string()];
            row.extend(r.rss.iter().map(|(_, rows)| {
                rows.iter()
                    .find(|x| x.function == *f && x.instances > 0)
                    .map_or("-".into(), |x| mib(x.peak_kib))
            }));
            row
        })
        .collect();
    out += "\nPeak RSS (`VmHWM`, the highest instance) of each function at the end of each size's run:\n\n";
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    out += &table(&headers, &rows);
    let trace = |t: Option<RssTrace>, wall: Duration| {
        t.map_or("-".into(), |t| {
            format!(
                "{} -> {} (at {} of {}) -> {}",
                mib(t.start_kib),
                mib(t.peak_kib),
                ms(t.peak_at),
                ms(wall),
                mib(t.end_kib)
            )
        })
    };
    let traces: Vec<Vec<String>> = r
        .warm
        .iter()
        .map(|w| {
            vec![
                n_label(w.n),
                trace(w.first.rss, w.first.wall),
                trace(w.second.rss, w.second.wall),
            ]
        })
        .collect();
    if !traces.is_empty() {
        out +=
            "\nThe warmer's RSS during figure 3 (sampled every 100 ms; start -> peak -> when the \
                invocation returned):\n\n";
        out += &table(
            &[
                "N",
                "first run (nothing cached)",
                "second run (everything present)",
            ],
            &traces,
        );
    }
    let firsts: Vec<Vec<String>> = r
        .switch
        .iter()
        .map(|s| {
            vec![
                n_label(s.n),
                mib(s.ours.peak_after_first_kib),
                mib(s.ours.peak_after_cached_kib),
            ]
        })
        .collect();
    if !firsts.is_empty() {
        out += "\nepoch-stats' peak RSS during figure 1:\n\n";
        out += &table(
            &[
                "N",
                "after the first answer (built)",
                "after the cached answers",
            ],
            &firsts,
        );
    }
    out
}
