//! Command-line options; each has an environment variable and a flag wins
//! over its variable (the same convention as local-stack, through the same
//! clap helper: a blank variable is unset).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;
use local_stack::cli::{self, number};

pub const DEFAULT_SIZES: [usize; 3] = [100, 1_000, 10_000];
pub const QUICK_SIZES: [usize; 2] = [100, 1_000];
/// The figures `--only` can name (`bill` and `history` run `warm` too:
/// the bill's warm is figure 3's first run, and the history reads the
/// entries that warm recorded).
pub const FIGURES: [&str; 9] = [
    "switch",
    "views",
    "epoch-stats",
    "warm",
    "modal",
    "cold",
    "scheduled",
    "bill",
    "history",
];

/// The flags as clap reads them; [`Options`] is what the run uses.
#[derive(Debug, Parser)]
#[command(
    name = "bench",
    about = "Runs the release local stack (DynamoDB Local, the simulated chain, the three \
             functions) once per size, measures the figures of the benchmark issue, prints one \
             table per figure and writes them to BENCHMARKS.md. Build first:\n  \
             cargo build --release --locked -p epoch-stats -p warmer -p participant -p local-stack -p bench\n\
             (`make bench` does both).",
    after_help = "Paths are relative to the workspace root (the folder of template.yaml)."
)]
struct Args {
    /// Simulated chain latency per request
    #[arg(long, env = "BENCH_LATENCY_MS", value_name = "MS", default_value_t = 50, value_parser = number::<u64>)]
    latency_ms: u64,
    /// Participants per run [default: 100,1000,10000; 100,1000 with --quick]
    #[arg(long, env = "BENCH_SIZES", value_name = "N,N,...", value_parser = parse_sizes)]
    sizes: Option<Sizes>,
    /// The report
    #[arg(
        long,
        env = "BENCH_OUT",
        value_name = "FILE",
        default_value = "BENCHMARKS.md"
    )]
    out: PathBuf,
    /// Sizes 100,1000 and fewer repetitions (BENCH_QUICK=1; 0, false, no or empty: off)
    #[arg(
        long,
        env = "BENCH_QUICK",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        default_value = "false",
        hide_default_value = true,
        value_name = "BOOL",
        value_parser = truthy
    )]
    quick: bool,
    /// Processes per API function
    #[arg(long, env = "BENCH_INSTANCES", value_name = "N", default_value_t = 2, value_parser = instances)]
    instances: usize,
    /// Only these figures (switch, views, epoch-stats, warm, modal, cold, scheduled, bill,
    /// history; bill and history run warm too), e.g. `--only bill --sizes 1000` [default: all]
    #[arg(long, env = "BENCH_ONLY", value_name = "FIGURE,...", value_parser = parse_only)]
    only: Option<Only>,
    /// cargo-lambda output ({fn}/bootstrap)
    #[arg(
        long,
        env = "BENCH_LAMBDA_DIR",
        value_name = "DIR",
        default_value = "target/lambda"
    )]
    lambda_dir: PathBuf,
}

/// `--only`: known figure names.
#[derive(Debug, Clone)]
struct Only(Vec<String>);

fn parse_only(raw: &str) -> Result<Only, String> {
    let mut names = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if !FIGURES.contains(&part) {
            return Err(format!("{part:?} is not one of {}", FIGURES.join(", ")));
        }
        names.push(part.to_string());
    }
    if names.is_empty() {
        return Err("no figure given".into());
    }
    if names.iter().any(|n| n == "bill" || n == "history") && !names.iter().any(|n| n == "warm") {
        names.push("warm".into());
    }
    Ok(Only(names))
}

/// `--sizes`, sorted and without repeats.
#[derive(Debug, Clone)]
struct Sizes(Vec<usize>);

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub latency_ms: u64,
    pub sizes: Vec<usize>,
    pub out: PathBuf,
    pub quick: bool,
    pub instances: usize,
    pub lambda_dir: PathBuf,
    /// `None`: every figure.
    pub only: Option<Vec<String>>,
}

impl Options {
    /// Whether this run measures `figure` (one of [`FIGURES`]).
    pub fn runs(&self, figure: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|f| f == figure))
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            latency_ms: 50,
            sizes: DEFAULT_SIZES.to_vec(),
            out: PathBuf::from("BENCHMARKS.md"),
            quick: false,
            instances: 2,
            lambda_dir: PathBuf::from("target/lambda"),
            only: None,
        }
    }
}

fn parse_sizes(raw: &str) -> Result<Sizes, String> {
    let mut sizes = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let n: usize = part
            .replace('_', "")
            .parse()
            .map_err(|_| format!("{part:?} is not a number"))?;
        if !(1..=100_000).contains(&n) {
            return Err(format!("{n} is outside 1..=100000"));
        }
        sizes.push(n);
    }
    if sizes.is_empty() {
        return Err("no size given".into());
    }
    sizes.sort_unstable();
    sizes.dedup();
    Ok(Sizes(sizes))
}

fn truthy(raw: &str) -> Result<bool, String> {
    Ok(!matches!(
        raw.trim().to_ascii_lowercase().as_str(),
        "" | "0" | "false" | "no"
    ))
}

fn instances(raw: &str) -> Result<usize, String> {
    match raw.trim().parse() {
        Ok(n) if (1..=16).contains(&n) => Ok(n),
        _ => Err("not within 1..=16".into()),
    }
}

/// Flags (`args`, the program name first), then the environment for what
/// they leave unset. `--quick` keeps sizes given by `--sizes` or BENCH_SIZES.
pub fn parse<I>(args: I) -> Result<Options, clap::Error>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let a: Args = cli::parse(args)?;
    let sizes = match (a.sizes, a.quick) {
        (Some(Sizes(given)), _) => given,
        (None, true) => QUICK_SIZES.to_vec(),
        (None, false) => DEFAULT_SIZES.to_vec(),
    };
    Ok(Options {
        latency_ms: a.latency_ms,
        sizes,
        out: a.out,
        quick: a.quick,
        instances: a.instances,
        lambda_dir: a.lambda_dir,
        only: a.only.map(|Only(names)| names),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;
    use clap::CommandFactory;
    use std::sync::Mutex;

    /// The options' variables are process-wide: one test at a time sets them.
    static ENV: Mutex<()> = Mutex::new(());

    fn variables() -> Vec<String> {
        Args::command()
            .get_arguments()
            .filter_map(|a| a.get_env())
            .map(|v| v.to_string_lossy().into_owned())
            .collect()
    }

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<Options, String> {
        let _one_at_a_time = ENV.lock().unwrap_or_else(|e| e.into_inner());
        for var in variables() {
            std::env::remove_var(var);
        }
        for (k, v) in env {
            std::env::set_var(k, v);
        }
        let out = parse(std::iter::once("bench").chain(args.iter().copied()));
        for (k, _) in env {
            std::env::remove_var(k);
        }
        out.map_err(|e| match e.kind() {
            ErrorKind::DisplayHelp => "help".to_string(),
            _ => e.to_string(),
        })
    }

    #[test]
    fn defaults_quick_and_overrides() {
        let o = run(&[], &[]).unwrap();
        assert_eq!(o, Options::default());
        assert_eq!(o.sizes, [100, 1_000, 10_000]);

        let o = run(&["--quick"], &[]).unwrap();
        assert!(o.quick);
        assert_eq!(o.sizes, [100, 1_000]);

        let o = run(
            &["--latency-ms", "20", "--sizes=1000,100,1000", "--quick"],
            &[("BENCH_LATENCY_MS", "80"), ("BENCH_OUT", "x.md")],
        )
        .unwrap();
        assert_eq!(o.latency_ms, 20);
        assert_eq!(
            o.sizes,
            [100, 1_000],
            "sorted, deduplicated, kept by --quick"
        );
        assert_eq!(o.out, PathBuf::from("x.md"));

        let o = run(&[], &[("BENCH_QUICK", "0")]).unwrap();
        assert!(!o.quick);
        let o = run(&[], &[("BENCH_QUICK", "1"), ("BENCH_SIZES", "10_000")]).unwrap();
        assert!(o.quick);
        assert_eq!(o.sizes, [10_000], "BENCH_SIZES is kept by quick too");
        let o = run(&["--quick=no"], &[("BENCH_QUICK", "yes")]).unwrap();
        assert!(!o.quick);

        let o = run(&["--only", "bill"], &[]).unwrap();
        assert!(o.runs("bill") && o.runs("warm") && !o.runs("switch"));
        let o = run(&[], &[("BENCH_ONLY", "cold,modal")]).unwrap();
        assert!(o.runs("cold") && o.runs("modal") && !o.runs("bill"));
        assert!(Options::default().runs("switch"));
    }

    #[test]
    fn errors_and_help() {
        assert_eq!(run(&["-h"], &[]).unwrap_err(), "help");
        for (args, want) in [
            (&["--sizes", "a"][..], "not a number"),
            (&["--sizes", "0"], "outside"),
            (&["--sizes", ","], "no size"),
            (&["--latency-ms"], "a value is required"),
            (&["--instances", "0"], "within"),
            (&["--only", "bills"], "not one of"),
            (&["--bogus=1"], "unexpected argument '--bogus'"),
            (&["stray"], "unexpected argument"),
        ] {
            let err = run(args, &[]).unwrap_err();
            assert!(err.contains(want), "{args:?}: {err}");
        }
        let err = run(&[], &[("BENCH_INSTANCES", "99")]).unwrap_err();
        assert!(err.contains("BENCH_INSTANCES"), "{err}");
    }

    #[test]
    fn help_lists_every_option_and_variable() {
        let help = Args::command().render_help().to_string();
        for flag in [
            "--latency-ms",
            "--sizes",
            "--out",
            "--quick",
            "--instances",
            "--lambda-dir",
            "--only",
            "--help",
        ] {
            assert!(help.contains(flag), "{flag} missing from:\n{help}");
        }
        for var in variables() {
            assert!(help.contains(&var), "{var} missing from:\n{help}");
        }
    }
}
