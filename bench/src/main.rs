//! `bench` (run by `make bench`): the figures of the benchmark issue,
//! measured on the release local stack against DynamoDB Local and the
//! simulated chain, with the old one-request-per-participant way measured
//! in the same run. Prints a table per figure and the targets, and writes
//! BENCHMARKS.md.
//!
//! One stack per size, each figure a module:
//! [`fig1_switch`], [`fig2_epoch_stats`], [`fig3_warm`], [`fig4_modal`],
//! [`fig5_cold`], [`fig6_scheduled`], [`fig7_views`], [`fig8_bill`] (on
//! local-stack's [`meter`]), [`fig9_history`]; [`floors`] measures what explains a missed latency
//! target, [`report`] turns it all into text. `--only` runs some figures. Nothing here asserts a time:
//! the targets are reported, met or missed, never enforced.

mod cleanup;
mod fig1_switch;
mod fig2_epoch_stats;
mod fig3_warm;
mod fig4_modal;
mod fig5_cold;
mod fig6_scheduled;
mod fig7_views;
mod fig8_bill;
mod fig9_history;
mod floors;
mod http;
mod load;
mod meter;
mod old_backend;
mod options;
mod procs;
mod progress;
mod report;
mod sample;
mod stack;
mod stats;
mod table_size;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use local_stack::template::{FunctionDef, Template};

use crate::options::Options;
use crate::progress::progress;
use crate::report::{LoadRow, Machine, Results, Settings};
use crate::stack::{Stack, StackSpec, FUNCTIONS};

/// Repetitions per figure; `--quick` only checks that everything runs.
#[derive(Debug, Clone, Copy)]
struct Reps {
    epoch_stats: usize,
    modal_per_pass: usize,
    warmups: usize,
    floors: usize,
    cold: usize,
    old_sample: usize,
    scheduled: usize,
    /// Page views of each kind in the bill.
    bill_views: usize,
}

/// The bill is stated at N = 1,000 and 10,000 (the targets' sizes).
const BILL_MIN_N: usize = 1_000;

impl Reps {
    fn new(quick: bool) -> Reps {
        if quick {
            Reps {
                epoch_stats: 50,
                modal_per_pass: 50,
                warmups: 3,
                floors: 50,
                cold: 2,
                old_sample: 200,
                scheduled: 2,
                bill_views: 200,
            }
        } else {
            Reps {
                epoch_stats: 200,
                modal_per_pass: 200,
                warmups: 10,
                floors: 200,
                cold: 5,
                old_sample: 1_000,
                scheduled: 4,
                bill_views: 1_000,
            }
        }
    }

    fn switch(&self, n: usize, quick: bool) -> fig1_switch::Plan {
        fig1_switch::Plan {
            // A cached 10,000-participant epoch is a few hundred ms a request.
            cached_reps: match (quick, n) {
                (true, _) => 20,
                (false, n) if n <= 100 => 200,
                (false, n) if n <= 1_000 => 100,
                _ => 30,
            },
            warmups: 5,
            old_runs: if !quick && n <= 100 { 3 } else { 1 },
            old_sample: self.old_sample,
        }
    }
}

/// The workspace: where template.yaml, the binaries and the events are.
struct Workspace {
    root: PathBuf,
    bin_dir: PathBuf,
    template_path: PathBuf,
    functions: Vec<FunctionDef>,
    table_name: String,
    warmer_concurrency: u64,
    chain_concurrency: String,
}

impl Workspace {
    fn find() -> Result<Workspace, String> {
        let exe_dir = std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf))
            .ok_or("cannot tell the bench's own folder")?;
        let template_path = [std::env::current_dir().ok(), Some(exe_dir.clone())]
            .iter()
            .flatten()
            .flat_map(|d| d.ancestors())
            .map(|d| d.join("template.yaml"))
            .find(|p| p.is_file())
            .ok_or("template.yaml not found in the current folder or its parents")?;
        let root = template_path
            .parent()
            .map(Path::to_path_buf)
            .ok_or("template.yaml has no folder")?;
        let text = std::fs::read_to_string(&template_path)
            .map_err(|e| format!("{}: {e}", template_path.display()))?;
        let template = Template::parse(&text, &[])?;
        let warmer = template
            .function("warmer")
            .ok_or("template.yaml has no warmer function")?;
        let env = |def: &FunctionDef, key: &str| def.environment.get(key).cloned();
        let warmer_concurrency = env(warmer, "WARMER_CONCURRENCY")
            .and_then(|v| v.parse().ok())
            .unwrap_or(16);
        let chain_concurrency = env(warmer, "CHAIN_CONCURRENCY").unwrap_or_else(|| "16".into());
        let table_name = env(warmer, "TABLE_NAME").ok_or("the warmer has no TABLE_NAME")?;
        let missing: Vec<String> = FUNCTIONS
            .iter()
            .chain(&["local-stack"])
            .map(|b| exe_dir.join(b))
            .filter(|p| !p.is_file())
            .map(|p| p.display().to_string())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "missing release binaries: {} (cargo build --release --locked -p epoch-stats -p warmer \
                 -p participant -p local-stack -p bench, or make bench)",
                missing.join(", ")
            ));
        }
        Ok(Workspace {
            root,
            bin_dir: exe_dir,
            template_path,
            functions: template.functions,
            table_name,
            warmer_concurrency,
            chain_concurrency,
        })
    }
}

fn main() -> ExitCode {
    let opts = match options::parse(std::env::args_os()) {
        Ok(o) => o,
        // --help (status 0), or a bad flag or variable (status 2).
        Err(e) => e.exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(run(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    };
    local_stack::launcher::kill_all();
    runtime.shutdown_timeout(Duration::from_secs(2));
    code
}

/// The epochs a size's figures use, relative to the current epoch C.
struct Epochs {
    switch: u64,
    warm: u64,
    modal: u64,
}

impl Epochs {
    fn of(current: u64) -> Result<Epochs, String> {
        if current < 16 {
            return Err(format!(
                "the simulated current epoch is {current}; the figures need at least 16"
            ));
        }
        Ok(Epochs {
            switch: current - 1,
            warm: current - 2,
            // Its rewards window (C-15..C-10) shares no epoch with the
            // others' (C-7..C-1): its "before" really reads through.
            modal: current - 10,
        })
    }
}

async fn run(opts: Options) -> Result<(), String> {
    progress::start();
    cleanup::install_signal_handlers()?;
    let whole_run = load::foreign().mark();
    let ws = Workspace::find()?;
    let reps = Reps::new(opts.quick);
    let target_n = *opts
        .sizes
        .iter()
        .min_by_key(|n| n.abs_diff(1_000))
        .ok_or("no sizes")?;
    let latency = Duration::from_millis(opts.latency_ms);
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let machine = Machine::detect(&ws.root);
    progress(&format!(
        "sizes {:?}, chain latency {} ms{}; {} CPUs, {}",
        opts.sizes,
        opts.latency_ms,
        if opts.quick { ", quick" } else { "" },
        machine.cpus,
        machine.cpu_model
    ));

    let mut results = Results {
        sizes: fig5_cold::sizes(&ws.root, &opts.lambda_dir, &ws.bin_dir, &ws.functions),
        ..Results::default()
    };
    let mut current_epoch = None;
    for (i, &n) in opts.sizes.iter().enumerate() {
        let spec = StackSpec {
            root: ws.root.clone(),
            bin_dir: ws.bin_dir.clone(),
            template: ws.template_path.clone(),
            table_name: ws.table_name.clone(),
            participants: n,
            latency_ms: opts.latency_ms,
            instances: opts.instances,
            params: Vec::new(),
        };
        progress(&format!("N={n}: starting the local stack"));
        let started = tokio::task::spawn_blocking(move || Stack::start(&spec))
            .await
            .map_err(|e| e.to_string())?;
        let mut stack = match started {
            Ok(s) => s,
            Err(e) => {
                results.errors.push(format!("N = {n}: {e}"));
                continue;
            }
        };
        let outcome = size_run(
            &mut stack,
            &ws,
            &opts,
            reps,
            latency,
            i == 0,
            n == target_n,
            &mut results,
        )
        .await;
        if let Err(e) = outcome {
            results.errors.push(format!("N = {n}: {e}"));
        }
        current_epoch = current_epoch.or(Some(stack.current_epoch));
        progress(&format!("N={n}: stopping the local stack"));
        stack.stop().await;
    }

    let settings = Settings {
        latency,
        sizes: opts.sizes.clone(),
        quick: opts.quick,
        instances: opts.instances,
        warmer_concurrency: ws.warmer_concurrency,
        chain_concurrency: ws.chain_concurrency.clone(),
        target_n,
        old_sample: reps.old_sample,
        current_epoch,
        scheduled_reps: reps.scheduled,
        views_reps: reps.epoch_stats,
        bill_views: reps.bill_views,
    };
    note_load(&mut results, "the whole run".into(), whole_run);
    let took = progress::elapsed();
    println!("{}", report::tables(&results, &settings));
    let doc = report::document(&results, &settings, &machine, &date, took);
    let out = if opts.out.is_absolute() {
        opts.out.clone()
    } else {
        ws.root.join(&opts.out)
    };
    std::fs::write(&out, doc).map_err(|e| format!("{}: {e}", out.display()))?;
    progress(&format!("wrote {}", out.display()));
    if results.errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} stage(s) failed (see above)",
            results.errors.len()
        ))
    }
}

/// Every figure of one size, on one stack. A failed figure is recorded and
/// the others still run.
#[allow(clippy::too_many_arguments)]
async fn size_run(
    stack: &mut Stack,
    ws: &Workspace,
    opts: &Options,
    reps: Reps,
    latency: Duration,
    first: bool,
    is_target: bool,
    results: &mut Results,
) -> Result<(), String> {
    let n = stack.participants;
    stack.load_chain_config().await?;
    let c = stack.current_epoch;
    let epochs = Epochs::of(c)?;
    let stack: &Stack = stack;
    stack
        .hold_warm_leases(&[c, epochs.switch, epochs.warm, epochs.modal])
        .await?;
    let mut errors = Vec::new();
    let mut record = |what: &str, e: String, stack: &Stack| {
        progress(&format!(
            "N={n}: {what} failed: {e}\nthe stack's last output:\n{}",
            stack.recent_output(30)
        ));
        errors.push(format!("N = {n}, {what}: {e}"));
    };

    let stage = |figure: &str| format!("N = {}, {figure}", report::n_label(n));
    if opts.runs("switch") {
        let mark = load::foreign().mark();
        match fig1_switch::run(stack, epochs.switch, reps.switch(n, opts.quick)).await {
            Ok(row) => results.switch.push(row),
            Err(e) => record("figure 1", e, stack),
        }
        note_load(results, stage("figure 1"), mark);
    }
    if is_target && opts.runs("views") {
        let mark = load::foreign().mark();
        match fig7_views::run(stack, reps.epoch_stats, reps.warmups).await {
            Ok(v) => results.views = Some(v),
            Err(e) => record("figure 7", e, stack),
        }
        note_load(results, stage("figure 7"), mark);
    }
    if is_target && opts.runs("epoch-stats") {
        let mark = load::foreign().mark();
        match fig2_epoch_stats::run(stack, reps.epoch_stats, reps.warmups).await {
            Ok(row) => results.epoch_stats = Some(row),
            Err(e) => record("figure 2", e, stack),
        }
        note_load(results, stage("figure 2"), mark);
    }
    if opts.runs("warm") {
        let mark = load::foreign().mark();
        match fig3_warm::run(stack, epochs.warm, ws.warmer_concurrency, latency).await {
            Ok(row) => results.warm.push(row),
            Err(e) => record("figure 3", e, stack),
        }
        note_load(results, stage("figure 3"), mark);
    }
    if n >= 2 * reps.modal_per_pass && opts.runs("modal") {
        let mark = load::foreign().mark();
        let modal = fig4_modal::run(stack, epochs.modal, reps.modal_per_pass, reps.warmups).await;
        note_load(results, stage("figure 4"), mark);
        match modal {
            Ok(row) => {
                if is_target {
                    match floors::run(stack, &ws.table_name, row.epoch, &row.warmed, reps.floors)
                        .await
                    {
                        Ok(f) => results.floors = Some(f),
                        Err(e) => record("floors", e, stack),
                    }
                }
                results.modal.push(row);
            }
            Err(e) => record("figure 4", e, stack),
        }
    }
    if opts.runs("history") {
        let mark = load::foreign().mark();
        if is_target {
            match history_backfill(stack, &ws.functions).await {
                Ok(row) => results.backfill = Some(row),
                Err(e) => record("figure 9 (the backfill)", e, stack),
            }
        }
        match fig9_history::latency(stack, epochs.warm, reps.epoch_stats, reps.warmups).await {
            Ok(row) => results.history.push(row),
            Err(e) => record("figure 9 (a full history)", e, stack),
        }
        note_load(results, stage("figure 9"), mark);
    }
    // The scheduled figures measure the backfill once it is done.
    if opts.runs("scheduled") || opts.runs("bill") {
        if let Err(e) = fig9_history::mark_complete(stack).await {
            record("marking the history complete", e, stack);
        }
    }
    if first && opts.runs("cold") {
        let events =
            participant_of(stack, epochs.warm)
                .await
                .map(|participant| fig5_cold::Events {
                    root: ws.root.clone(),
                    warmed_epoch: epochs.warm,
                    participant,
                });
        let mark = load::foreign().mark();
        match events {
            Ok(events) => {
                match fig5_cold::run(stack, &ws.functions, &ws.bin_dir, &events, reps.cold).await {
                    Ok(rows) => {
                        results.cold = rows;
                        results.cold_n = Some(n);
                    }
                    Err(e) => record("figure 5 (cold start)", e, stack),
                }
            }
            Err(e) => record("figure 5 (cold start)", e, stack),
        }
        note_load(results, stage("figure 5 (cold start)"), mark);
    }
    if opts.runs("scheduled") {
        let mark = load::foreign().mark();
        match fig6_scheduled::run(stack, &ws.functions, reps.scheduled, latency).await {
            Ok(rows) => results.scheduled.extend(rows),
            Err(e) => record("figure 6 (scheduled jobs)", e, stack),
        }
        note_load(results, stage("figure 6"), mark);
    }
    // Last: it freezes the chain's head and flips nodes for a while.
    if opts.runs("bill") && n >= BILL_MIN_N {
        let mark = load::foreign().mark();
        match fig8_bill::run(
            stack,
            &ws.functions,
            epochs.warm,
            reps.bill_views,
            reps.warmups,
        )
        .await
        {
            Ok(row) => results.bill.push(row),
            Err(e) => record("figure 8 (the bill)", e, stack),
        }
        note_load(results, stage("figure 8"), mark);
    }
    results.rss.push((n, fig5_cold::peak_rss(stack)));
    results.errors.extend(errors);
    Ok(())
}

/// Records the CPU other processes used during a stage.
fn note_load(results: &mut Results, stage: String, mark: load::Mark) {
    results.load.push(LoadRow {
        stage,
        secs: mark.elapsed().as_secs_f64(),
        cores: load::foreign().cores_since(&mark),
    });
}

/// Figure 9's backfill: the current epoch stored first (the job needs it),
/// at the schedule's period in the template.
async fn history_backfill(
    stack: &Stack,
    functions: &[FunctionDef],
) -> Result<fig9_history::BackfillRow, String> {
    let period = functions
        .iter()
        .flat_map(|f| &f.schedules)
        .find(|s| {
            s.input
                .as_deref()
                .is_some_and(|i| i.contains("history_backfill"))
        })
        .map(|s| s.every)
        .ok_or("template.yaml has no history_backfill schedule")?;
    fig6_scheduled::invoke_job(stack, "scheduler", r#"{"job": "current_epoch"}"#).await?;
    fig9_history::backfill(stack, period).await
}

/// A participant of the (warmed) epoch, for the participant function's
/// cold-start event.
async fn participant_of(stack: &Stack, epoch: u64) -> Result<String, String> {
    let url = stack.url(&format!("/v1/inference/epochs/{epoch}"));
    http::get_ok(&stack.http, &url).await?.json()?["participants"][0]["index"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("epoch {epoch} lists no participant"))
}
