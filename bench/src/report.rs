//! The tables, the targets and BENCHMARKS.md.
//!
//! Everything printed is derived from [`Results`]; nothing here measures.
//! A target that cannot be evaluated (its size was not run) says so rather
//! than passing silently.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::fig1_switch::SwitchRow;
use crate::fig2_epoch_stats::EpochStatsRow;
use crate::fig3_warm::WarmRow;
use crate::fig4_modal::ModalRow;
use crate::fig5_cold::{ColdRow, RssRow, SizeRow};
use crate::floors::Floors;
use crate::stats::{bytes, count, ms, ratio};

/// The run's settings, as stated in the report.
#[derive(Debug, Clone)]
pub struct Settings {
    pub latency: Duration,
    pub sizes: Vec<usize>,
    pub quick: bool,
    pub instances: usize,
    pub warmer_concurrency: u64,
    pub chain_concurrency: String,
    pub target_n: usize,
    pub old_sample: usize,
    pub current_epoch: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory: String,
    pub kernel: String,
    pub java: String,
    pub dynamodb_local: String,
}

impl Machine {
    pub fn detect(root: &Path) -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpu_model = read("/proc/cpuinfo")
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let memory = read("/proc/meminfo")
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map(|kib| format!("{:.1} GiB", kib as f64 / (1024.0 * 1024.0)))
            .unwrap_or_else(|| "unknown".into());
        let java = std::process::Command::new("java")
            .arg("-version")
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .next()
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "unknown".into());
        let dynamodb_local = local_stack::dynamodb::find_jar(root)
            .ok()
            .and_then(|jar| {
                Some(
                    jar.parent()?
                        .file_name()?
                        .to_string_lossy()
                        .replace("dynamodb_local_", "DynamoDB Local "),
                )
            })
            .unwrap_or_else(|| "DynamoDB Local".into());
        Machine {
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model,
            memory,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            java,
            dynamodb_local,
        }
    }
}

/// CPU other processes used during one stage of the run.
#[derive(Debug, Clone)]
pub struct LoadRow {
    pub stage: String,
    pub secs: f64,
    /// On average, in cores.
    pub cores: f64,
}

/// Everything measured in one run.
#[derive(Debug, Default)]
pub struct Results {
    pub switch: Vec<SwitchRow>,
    pub epoch_stats: Option<EpochStatsRow>,
    pub floors: Option<Floors>,
    pub warm: Vec<WarmRow>,
    pub modal: Vec<ModalRow>,
    pub cold: Vec<ColdRow>,
    pub cold_n: Option<usize>,
    pub sizes: Vec<SizeRow>,
    /// Per size, each function's peak RSS at the end of its run.
    pub rss: Vec<(usize, Vec<RssRow>)>,
    pub load: Vec<LoadRow>,
    /// Stages that failed (the rest of the run went on).
    pub errors: Vec<String>,
}

impl Results {
    /// What the load sampler saw during a figure, as a sentence.
    fn load_during(&self, n: usize, figure: &str) -> String {
        let stage = format!("N = {}, {figure}", n_label(n));
        match self.load.iter().find(|l| l.stage == stage) {
            Some(l) if l.cores >= 0.1 => format!(
                " Other processes on the machine used {:.2} of its cores on average during this figure, \
                 which the figure shares.",
                l.cores
            ),
            Some(l) => format!(
                " The machine was otherwise quiet during this figure (other processes: {:.2} cores).",
                l.cores
            ),
            None => String::new(),
        }
    }
}

/// A markdown table, columns padded so it also reads in a terminal.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(headers.iter().map(|h| h.to_string()).collect());
    out += &line(widths.iter().map(|w| "-".repeat(*w)).collect());
    for row in rows {
        out += &line(row.clone());
    }
    out
}

pub fn n_label(n: usize) -> String {
    count(n as u64)
}

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
        out.push(not_run("Warm fill / ideal".into(), "<= 1.3x"));
    }
    for row in &r.warm {
        let met = row.ratio() <= 1.3;
        out.push(Target {
            what: format!("Warm fill / ideal (N = {})", n_label(row.n)),
            measured: format!(
                "{} ({} vs {})",
                ratio(row.ratio()),
                ms(row.first.wall),
                ms(row.ideal())
            ),
            goal: "<= 1.3x".into(),
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
                    goal: "<= 64 MB".into(),
                    met: Some(met),
                    explanation: (!met).then(|| explain_rss(row, *n, r)),
                });
            }
        }
        None => out.push(not_run("Peak RSS".into(), "<= 64 MB")),
    }
    out
}

fn explain_cached(row: &EpochStatsRow, floors: Option<&Floors>) -> String {
    let mut why = format!(
        "The cached `/current` answer took p50 {} and p99 {} over {} requests ({} snapshot(s), {} \
         upstream calls). ",
        ms(row.cached.p50),
        ms(row.cached.p99),
        row.cached.count,
        row.cached_snapshots,
        row.cached_chain_calls
    );
    let Some(f) = floors else {
        return why;
    };
    let rebuild = f.current_reads.p50 + f.render_gzip.p50;
    let _ = write!(
        why,
        "Measured apart on the same stack: the API front and Runtime API hops alone p50 {} / p99 {}; \
         reading the snapshot from the table (GetItem of the header, BatchGetItem of {} chunks, with \
         the functions' own adapter) p50 {} / p99 {}; rendering it into gzip (`render_epoch`) p50 {} / \
         p99 {}; one trivial DynamoDB Local GetItem p50 {} / p99 {}. ",
        ms(f.front.p50),
        ms(f.front.p99),
        f.current_chunks,
        ms(f.current_reads.p50),
        ms(f.current_reads.p99),
        ms(f.render_gzip.p50),
        ms(f.render_gzip.p99),
        ms(f.get_item.p50),
        ms(f.get_item.p99),
    );
    if row.cached.p50 < rebuild {
        why += "Most answers come from what the instance kept (the p50 is below a read plus a render), so \
                the tail is the answers that are not: each instance's first, and every one after the \
                freshness window, reads the table and renders again, and DynamoDB Local (a JVM on the \
                same 2 cores) adds its own pauses to those. What would fix it: keep the gzipped answer \
                in the table next to the header as well, so an instance that has not kept it makes one \
                GetItem instead of reading and rendering the chunks; on DynamoDB itself the reads are \
                single-digit milliseconds.";
    } else {
        why += "The answers read the table and render on every request, which alone is about the target; \
                the tail is DynamoDB Local (a JVM on the same 2 cores) and the rendering. What would fix \
                it: keep the rendered, gzipped answer in the instance (or as one item in the table next \
                to the header), so a repeated request neither reads the chunks nor renders them.";
    }
    why
}

fn explain_warm(row: &WarmRow) -> String {
    let rep = &row.first.report;
    let per_call =
        row.first.wall.as_secs_f64() * row.concurrency as f64 / rep.upstream_calls.max(1) as f64;
    format!(
        "The warm of N = {} made {} upstream calls and {} DynamoDB requests in {}; at {} calls in flight \
         that is {:.1} ms of wall time per call slot against the chain's {} latency. The difference is \
         the conditional PutItem after each fetch (DynamoDB Local, on the same 2 cores), which keeps \
         the fetch's slot until it is written, and the key-only BatchGetItem checks and final settle \
         reads. What would fix it: hand each fetched item to a separate, bounded writer (or \
         BatchWriteItem for items that are new) so that the {} slots only ever wait on the chain.",
        count(row.n as u64),
        count(rep.upstream_calls),
        count(rep.dynamodb_requests),
        ms(row.first.wall),
        row.concurrency,
        per_call * 1e3,
        ms(row.latency),
        row.concurrency
    )
}

fn explain_modal(row: &ModalRow, floors: Option<&Floors>) -> String {
    let mut why = format!(
        "The modal after the warm took p50 {} and p99 {} over {} participants ({} upstream calls). ",
        ms(row.after.p50),
        ms(row.after.p99),
        row.after.count,
        row.after_chain_calls
    );
    if let Some(f) = floors {
        let _ = write!(
            why,
            "Its two table reads alone (BatchGetItem of the stats headers and 8 items, then GetItem of \
             the participant's chunk, through the functions' adapter) take p50 {} / p99 {}, and the API \
             front and Runtime API hops alone p50 {} / p99 {}; one trivial DynamoDB Local GetItem takes \
             p50 {} / p99 {}. ",
            ms(f.modal_reads.p50),
            ms(f.modal_reads.p99),
            ms(f.front.p50),
            ms(f.front.p99),
            ms(f.get_item.p50),
            ms(f.get_item.p99),
        );
    }
    why += "The floor is two DynamoDB Local round trips plus the emulated API Gateway and Runtime API; \
            the tail is the JVM and the shared 2 cores. What would fix it: nothing in the function's \
            logic (it makes no upstream call and only the two reads); on DynamoDB a read is a few \
            milliseconds, and a deployment that needs a lower tail can put the chunk's header into the \
            first BatchGetItem's answer (one round trip) or cache the immutable chunks of finished \
            epochs in the instance.";
    why
}

fn explain_init(row: &ColdRow) -> String {
    format!(
        "{} needed {} (median) from spawn to its first poll of the Runtime API. Init is the \
         process start, the configuration, and building the AWS SDK clients (credentials from the \
         environment, no I/O) and the HTTP client; on this machine that is dominated by loading a {} \
         binary and TLS root certificates. What would fix it: build the clients lazily on the first \
         request, and trim the rustls root store loading.",
        row.function,
        ms(row.init.p50),
        "release"
    )
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn explain_rss(row: &RssRow, n: usize, r: &Results) -> String {
    let mut why = format!(
        "{}'s peak RSS reached {} in the N = {} run.",
        row.function,
        mib(row.peak_kib),
        count(n as u64)
    );
    match row.function.as_str() {
        "epoch-stats" => {
            if let Some(sw) = r.switch.iter().find(|s| s.n == n) {
                let o = &sw.ours;
                let _ = write!(
                    why,
                    " It was {} after the first answer for the {}-participant epoch (built from the \
                     chain: the chain's participant list and epoch bodies read, joined, rendered and \
                     stored as chunks) and {} after the cached answers of figure 1; the answer is {} of \
                     JSON, {} gzipped.",
                    mib(o.peak_after_first_kib),
                    count(sw.listed as u64),
                    mib(o.peak_after_cached_kib),
                    bytes(o.first_plain_bytes),
                    bytes(o.first_bytes)
                );
                if o.peak_after_cached_kib <= o.peak_after_first_kib + 1024 {
                    why +=
                        " Serving from the table did not raise it; building did (figure 4 builds \
                            another epoch of that size later, which can set the final mark).";
                }
            }
            why + " What would fix it: a heap profile (heaptrack or dhat) of one first view at this size \
                   shows which copy dominates; keeping one copy at a time (the chain's large bodies \
                   parsed from the stream rather than from a buffer, rows released once rendered and \
                   chunked) bounds it by the largest stage instead of their sum, and returning freed \
                   memory after a request (`malloc_trim`, or an allocator with decay) keeps the mark of \
                   one large epoch from staying. (Lambda gives the function 256 MB, so nothing fails; \
                   the target is about headroom.)"
        }
        "warmer" => {
            if let Some(w) = r.warm.iter().find(|w| w.n == n) {
                if let (Some(a), Some(b)) = (&w.first.rss, &w.second.rss) {
                    let _ = write!(
                        why,
                        " In figure 3's first run ({} participants, {} items, nothing cached) its RSS \
                         went from {} to {}, reached at {} of the {} run, and was {} when the \
                         invocation returned. The second run (everything present) went from {} to {}.",
                        count(w.first.report.participants),
                        count(w.first.report.items_checked),
                        mib(a.start_kib),
                        mib(a.peak_kib),
                        ms(a.peak_at),
                        ms(w.first.wall),
                        mib(a.end_kib),
                        mib(b.start_kib),
                        mib(b.peak_kib)
                    );
                    if a.end_kib * 10 >= a.peak_kib * 9 {
                        why += " The RSS stays at its peak after the run has returned and dropped its \
                                data, which points at memory the allocator keeps (glibc malloc's \
                                per-thread arenas) more than at live data.";
                    }
                }
            }
            why + " What would fix it: a heap profile (heaptrack or dhat) of one N = 10,000 warm tells live \
                   data from allocator retention; for retention, give freed memory back after a run \
                   (`malloc_trim(0)`, an allocator with decay such as jemalloc or mimalloc, or fewer \
                   arenas); for live data, bound what one run holds (the fetches in flight and their \
                   HTTP and SDK buffers, the slice of keys being checked). (Lambda gives the warmer 512 \
                   MB, so nothing fails; the target is about headroom.)"
        }
        _ => why,
    }
}

fn fig1(r: &Results, s: &Settings) -> String {
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

fn fig2(r: &Results) -> String {
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
                "`/v1/inference/current?reload=true`, built from the chain".into(),
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

fn fig3(r: &Results) -> String {
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
    out += "\nSecond run (everything present):\n\n";
    out += &table(
        &[
            "N",
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
fn capacity(rep: &crate::stack::WarmReport) -> String {
    format!(
        "{:.1} / {:.1}",
        rep.dynamodb_read_units, rep.dynamodb_write_units
    )
}

fn fig4(r: &Results) -> String {
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

fn fig5(r: &Results) -> String {
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
    let rows: Vec<Vec<String>> = crate::stack::FUNCTIONS
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
    let trace = |t: Option<crate::fig3_warm::RssTrace>, wall: Duration| {
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

fn floors(r: &Results) -> String {
    let Some(f) = &r.floors else {
        return "Not measured in this run.\n".into();
    };
    let rows = [
        ("one DynamoDB Local GetItem (1 item, key only)", &f.get_item),
        (
            "table reads of cached `/current` (header + chunks, functions' adapter)",
            &f.current_reads,
        ),
        (
            "rendering the `/current` answer into gzip (`render_epoch`, in the bench)",
            &f.render_gzip,
        ),
        (
            "the same JSON rendered to a buffer, then gzipped (for comparison)",
            &f.render_buffered,
        ),
        (
            "table reads of a warmed modal (BatchGetItem + GetItem)",
            &f.modal_reads,
        ),
        (
            "API front + Runtime API hops (a 400 answered without I/O)",
            &f.front,
        ),
    ];
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(what, s)| vec![what.to_string(), s.count.to_string(), ms(s.p50), ms(s.p99)])
        .collect();
    let mut out = format!(
        "Measured on the N = {} stack ({} chunks in the current epoch's snapshot):\n\n",
        n_label(f.n),
        f.current_chunks
    );
    out += &table(&["what", "samples", "p50", "p99"], &rows);
    let (direct, buffered) = (f.render_gzip.p50, f.render_buffered.p50);
    if direct > buffered * 2 {
        let _ = writeln!(
            out,
            "\nRendering straight into the gzip encoder costs {} the time of rendering to a buffer first \
             ({} against {} at the median): serde_json writes the JSON in many small pieces, each one \
             a call into the compressor. A `BufWriter` of a few tens of KB in front of the encoder keeps \
             the single compressed copy without that cost. Every answer epoch-stats renders pays it: \
             each instance's first, every rebuild, and a finished epoch it does not keep.",
            ratio(direct.as_secs_f64() / buffered.as_secs_f64()),
            ms(direct),
            ms(buffered)
        );
    }
    out
}

fn load(r: &Results) -> String {
    if r.load.is_empty() {
        return "Not measured.\n".into();
    }
    let rows: Vec<Vec<String>> = r
        .load
        .iter()
        .map(|l| {
            vec![
                l.stage.clone(),
                format!("{:.0} s", l.secs),
                format!("{:.2}", l.cores),
            ]
        })
        .collect();
    let mut out = String::from(
        "CPU used by processes outside the bench and its stacks (sampled from `/proc` twice a second), \
         on average over each stage, in cores of the machine's total:\n\n",
    );
    out += &table(&["stage", "duration", "other processes (cores)"], &rows);
    out
}

fn targets_table(targets: &[Target]) -> String {
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

/// The tables, as printed at the end of the run.
pub fn tables(r: &Results, s: &Settings) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "\n## 1. Epoch switch as the dashboard does it\n\n{}\
         \n## 2. epoch-stats latency\n\n{}\
         \n## 3. Warm fill\n\n{}\
         \n## 4. Participant modal\n\n{}\
         \n## 5. Cold start and footprint\n\n{}\
         \n## Floors on this machine\n\n{}\
         \n## Other load on the machine\n\n{}\
         \n## Targets\n\n{}",
        fig1(r, s),
        fig2(r),
        fig3(r),
        fig4(r),
        fig5(r),
        floors(r),
        load(r),
        targets_table(&targets(r, s)),
    );
    if !r.errors.is_empty() {
        out += "\n## Stages that failed\n\n";
        for e in &r.errors {
            let _ = writeln!(out, "- {e}");
        }
    }
    out
}

/// BENCHMARKS.md.
pub fn document(r: &Results, s: &Settings, m: &Machine, date: &str, took: Duration) -> String {
    let targets = targets(r, s);
    let missed: Vec<&Target> = targets.iter().filter(|t| t.met == Some(false)).collect();
    let mut out = String::from("# Benchmarks\n\n");
    let _ = write!(
        out,
        "Generated by `make bench` (the `bench` crate) on {date}, in {:.1} minutes. Regenerate it \
         rather than editing it: `make bench` (`BENCH_ARGS=\"--help\"` for the options).\n\n",
        took.as_secs_f64() / 60.0
    );
    out += "## Machine and settings\n\n";
    let _ = writeln!(
        out,
        "- Machine: {} CPUs (`nproc`), {}, {} memory, Linux {}.",
        m.cpus, m.cpu_model, m.memory, m.kernel
    );
    let _ = writeln!(
        out,
        "- **DynamoDB Local is not DynamoDB.** {} (in memory, from the npm package, {}) runs on the same \
         cores as everything else; its latency, throughput and tail are not DynamoDB's, and it reports \
         consumed capacity by the same rules but does not throttle. Time figures are this machine's; \
         request counts and consumed capacity carry over.",
        m.dynamodb_local, m.java
    );
    let _ = writeln!(
        out,
        "- Chain: the simulated chain (`sim-chain`, inside `local-stack`), {} added to every request{}. \
         Sizes N = {} participants; every comparison is measured in the same run, on the same stack.",
        ms(s.latency),
        s.current_epoch
            .map(|c| format!(", current epoch {c}"))
            .unwrap_or_default(),
        s.sizes
            .iter()
            .map(|n| n_label(*n))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "- Functions: the release binaries as real processes behind local-stack's Lambda Runtime API, \
         Invoke API and API Gateway (HTTP API v2) front; {} instances each of epoch-stats and \
         participant, 1 warmer; WARMER_CONCURRENCY = {}, CHAIN_CONCURRENCY = {} (template.yaml).",
        s.instances, s.warmer_concurrency, s.chain_concurrency
    );
    if let Some(l) = r.load.iter().find(|l| l.stage == "the whole run") {
        let _ = writeln!(
            out,
            "- Other load: processes outside the bench and its stacks used {:.2} cores on average over the \
             run (per figure: \"Other load on the machine\" below).",
            l.cores
        );
    }
    out += "- Client: the bench, over loopback HTTP/1.1 with keep-alive and `accept-encoding: gzip`; a time \
            is from sending the request to the last byte of the body; byte counts are the bodies as \
            transferred (gzip). Requests are sent one at a time unless said otherwise.\n";
    out += "- Percentiles are nearest-rank, from an HDR histogram at 3 significant digits (a p99 is, within \
            0.1 %, a time one request really took; below 100 samples it is the slowest). Cached \
            measurements follow a few untimed warm-up requests.\n";
    if s.quick {
        out += "- **Quick run** (`--quick`): fewer sizes and repetitions; not the reference figures.\n";
    }
    out += "\n## Targets\n\n";
    out += &targets_table(&targets);
    if missed.is_empty() {
        out += "\nEvery target measured in this run is met.\n";
    } else {
        out += "\n### Where a target is missed\n\n";
        for t in &missed {
            let _ = writeln!(
                out,
                "- **{}**: {}\n",
                t.what,
                t.explanation.as_deref().unwrap_or("")
            );
        }
    }
    let body = tables(r, s);
    // The tables already end with the targets; the document has them first.
    let body = body
        .split("\n## Targets\n")
        .next()
        .unwrap_or(&body)
        .to_string();
    out += &body;
    if !r.errors.is_empty() {
        out += "\n## Stages that failed\n\n";
        for e in &r.errors {
            let _ = writeln!(out, "- {e}");
        }
    }
    out += &method_notes(s);
    out
}

fn method_notes(s: &Settings) -> String {
    format!(
        "\n## How each figure is measured\n\n\
         1. **Epoch switch.** Ours: `GET /v1/inference/epochs/{{C-1}}` once on a cold table (built from the \
         chain; on a fresh stack that includes the current epoch, which the route needs), then repeatedly \
         from the table. The old way: an in-process backend (`bench/src/old_backend.rs`) built from this \
         repository's chain client and rendering, which asks the chain for everything on every request \
         (the epoch; per participant the rewards window's summaries one after the other, every authz \
         page, the hardware), and a browser-like client with exactly 6 connections sending the epoch \
         request and then 3 requests per participant. For a finished epoch E the contract's rewards \
         window is E-5..E, 6 summaries. Above {} participants the old way runs on a random sample of \
         that many participants and is scaled linearly (requests are independent and 6 are always in \
         flight). So that no background warm competes with the measurements, the bench claims the \
         warm guard of the epochs it requests (as if another request had triggered the warmer a moment \
         before): epoch-stats still makes its conditional guard write, and skips the trigger.\n\
         2. **epoch-stats.** One request at a time at N = {}: `?reload=true` rebuilds from the chain and \
         stores the snapshot every time; the cached run follows it within the freshness window, and the \
         chain's counter confirms it made no upstream call.\n\
         3. **Warm fill.** The warmer invoked synchronously through local-stack's Lambda Invoke endpoint for \
         a finished epoch (C-2) nothing has touched, `{{\"epoch_id\": C-2, \"finished\": true}}`; ideal = \
         ceil(upstream calls / {}) x {}. Upstream calls and DynamoDB requests and capacity are the \
         warmer's report (the SDK's ConsumedCapacity); the chain's `/__stats` counts the same calls from \
         its side. The second run repeats the invocation with everything present.\n\
         4. **Modal.** On an epoch (C-10) whose rewards window shares no epoch with the other figures', \
         after its stats are loaded: one random set of participants opened before any warm (read-through \
         to the chain), the warmer run for a second, disjoint set (explicit participant list, the same \
         per-participant work as a whole-epoch warm), then those opened with the chain's counter reset \
         and checked to stay at 0.\n\
         5. **Cold start.** Each function's release binary spawned by the bench with its own Runtime API \
         (local-stack's code) holding one queued event, the template's environment pointed at a running \
         stack; init = spawn to the first poll of `/invocation/next`, first answer = spawn to the \
         response. Peak RSS is `VmHWM` of each function process of the largest stack, read from `/proc` \
         at the end of its run.\n",
        count(s.old_sample as u64),
        n_label(s.target_n),
        s.warmer_concurrency,
        ms(s.latency)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_aligned_markdown() {
        let t = table(
            &["a", "bbb"],
            &[
                vec!["long cell".into(), "1".into()],
                vec!["x".into(), "22".into()],
            ],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "| a         | bbb |");
        assert_eq!(lines[1], "| --------- | --- |");
        assert_eq!(lines[2], "| long cell | 1   |");
        assert_eq!(lines.len(), 4);
    }

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
        };
        let t = targets(&Results::default(), &settings);
        assert!(!t.is_empty());
        assert!(t.iter().all(|t| t.met.is_none()), "{t:?}");
    }
}
