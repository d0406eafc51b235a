//! Command-line options; each has an environment variable and a flag wins
//! over its variable (the same convention as local-stack). Parsed by hand:
//! a handful of flags do not justify a CLI crate.

use std::path::PathBuf;

pub const USAGE: &str = "\
Usage: bench [OPTIONS]

Runs the release local stack (DynamoDB Local, the simulated chain, the three
functions) once per size, measures the figures of the benchmark issue, prints
one table per figure and writes them to BENCHMARKS.md. Build first:
  cargo build --release --locked -p epoch-stats -p warmer -p participant -p local-stack -p bench
(`make bench` does both).

Options:
  --latency-ms MS      simulated chain latency per request    [env BENCH_LATENCY_MS, default 50]
  --sizes N,N,...      participants per run                   [env BENCH_SIZES, default 100,1000,10000]
  --out FILE           the report                             [env BENCH_OUT, default BENCHMARKS.md]
  --quick              sizes 100,1000 and fewer repetitions   [env BENCH_QUICK=1]
  --instances N        processes per API function             [env BENCH_INSTANCES, default 2]
  --lambda-dir DIR     cargo-lambda output ({fn}/bootstrap)   [env BENCH_LAMBDA_DIR, default target/lambda]
  -h, --help           print this help

Paths are relative to the workspace root (the folder of template.yaml).
";

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub latency_ms: u64,
    pub sizes: Vec<usize>,
    pub out: PathBuf,
    pub quick: bool,
    pub instances: usize,
    pub lambda_dir: PathBuf,
    /// `--sizes` given: `--quick` then keeps them.
    sizes_given: bool,
}

pub const DEFAULT_SIZES: [usize; 3] = [100, 1_000, 10_000];
pub const QUICK_SIZES: [usize; 2] = [100, 1_000];

impl Default for Options {
    fn default() -> Self {
        Options {
            latency_ms: 50,
            sizes: DEFAULT_SIZES.to_vec(),
            out: PathBuf::from("BENCHMARKS.md"),
            quick: false,
            instances: 2,
            lambda_dir: PathBuf::from("target/lambda"),
            sizes_given: false,
        }
    }
}

fn parse_sizes(raw: &str) -> Result<Vec<usize>, String> {
    let mut sizes = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let n: usize = part
            .replace('_', "")
            .parse()
            .map_err(|_| format!("--sizes: {part:?} is not a number"))?;
        if !(1..=100_000).contains(&n) {
            return Err(format!("--sizes: {n} is outside 1..=100000"));
        }
        sizes.push(n);
    }
    if sizes.is_empty() {
        return Err("--sizes: no size given".into());
    }
    sizes.sort_unstable();
    sizes.dedup();
    Ok(sizes)
}

fn truthy(raw: &str) -> bool {
    !matches!(
        raw.trim().to_ascii_lowercase().as_str(),
        "" | "0" | "false" | "no"
    )
}

fn apply(o: &mut Options, key: &str, raw: &str) -> Result<(), String> {
    match key {
        "latency-ms" => {
            o.latency_ms = raw
                .trim()
                .parse()
                .map_err(|_| format!("--latency-ms: {raw:?} is not a number"))?
        }
        "sizes" => {
            o.sizes = parse_sizes(raw)?;
            o.sizes_given = true;
        }
        "out" => o.out = PathBuf::from(raw),
        "quick" => o.quick = truthy(raw),
        "instances" => {
            o.instances = match raw.trim().parse() {
                Ok(n) if (1..=16).contains(&n) => n,
                _ => return Err(format!("--instances: {raw:?} is not within 1..=16")),
            }
        }
        "lambda-dir" => o.lambda_dir = PathBuf::from(raw),
        _ => return Err(format!("unknown option --{key} (see --help)")),
    }
    Ok(())
}

const ENV: [(&str, &str); 6] = [
    ("latency-ms", "BENCH_LATENCY_MS"),
    ("sizes", "BENCH_SIZES"),
    ("out", "BENCH_OUT"),
    ("quick", "BENCH_QUICK"),
    ("instances", "BENCH_INSTANCES"),
    ("lambda-dir", "BENCH_LAMBDA_DIR"),
];

/// Environment first, then flags. `Ok(None)`: help was asked for.
pub fn parse(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Options>, String> {
    let mut o = Options::default();
    for (key, var) in ENV {
        if let Some(raw) = env(var).filter(|v| !v.trim().is_empty()) {
            apply(&mut o, key, &raw).map_err(|e| format!("{var}: {e}"))?;
        }
    }
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(format!("unexpected argument {arg:?} (see --help)"));
        };
        match flag.split_once('=') {
            Some((k, v)) => apply(&mut o, k, v)?,
            None if flag == "quick" => o.quick = true,
            None => {
                let v = args
                    .next()
                    .ok_or_else(|| format!("--{flag} needs a value"))?;
                apply(&mut o, flag, &v)?;
            }
        }
    }
    if o.quick && !o.sizes_given {
        o.sizes = QUICK_SIZES.to_vec();
    }
    Ok(Some(o))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<Option<Options>, String> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse(args.iter().map(|s| s.to_string()), |k| env.get(k).cloned())
    }

    #[test]
    fn defaults_quick_and_overrides() {
        let o = run(&[], &[]).unwrap().unwrap();
        assert_eq!(o, Options::default());
        assert_eq!(o.sizes, [100, 1_000, 10_000]);

        let o = run(&["--quick"], &[]).unwrap().unwrap();
        assert!(o.quick);
        assert_eq!(o.sizes, [100, 1_000]);

        let o = run(
            &["--latency-ms", "20", "--sizes=1000,100,1000", "--quick"],
            &[("BENCH_LATENCY_MS", "80"), ("BENCH_OUT", "x.md")],
        )
        .unwrap()
        .unwrap();
        assert_eq!(o.latency_ms, 20);
        assert_eq!(
            o.sizes,
            [100, 1_000],
            "sorted, deduplicated, kept by --quick"
        );
        assert_eq!(o.out, PathBuf::from("x.md"));

        let o = run(&[], &[("BENCH_QUICK", "0")]).unwrap().unwrap();
        assert!(!o.quick);
    }

    #[test]
    fn errors_and_help() {
        assert_eq!(run(&["-h"], &[]).unwrap(), None);
        for (args, want) in [
            (&["--sizes", "a"][..], "not a number"),
            (&["--sizes", "0"], "outside"),
            (&["--sizes", ","], "no size"),
            (&["--latency-ms"], "needs a value"),
            (&["--instances", "0"], "within"),
            (&["--bogus=1"], "unknown option"),
            (&["stray"], "unexpected argument"),
        ] {
            let err = run(args, &[]).unwrap_err();
            assert!(err.contains(want), "{args:?}: {err}");
        }
    }
}
