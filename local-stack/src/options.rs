//! Command-line options. Each has an environment variable; a flag wins over
//! its variable, and a blank variable is unset ([`crate::cli`]).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use sim_chain::SimConfig;

use crate::cli::{self, number};

/// Template parameter overrides from the environment: space-separated
/// `NAME=VALUE` pairs (like `sam deploy --parameter-overrides`). Read apart
/// from clap: the flag takes one pair per occurrence, and a value may hold
/// spaces there.
pub const PARAMETER_OVERRIDES: &str = "PARAMETER_OVERRIDES";

#[derive(Debug, Clone, PartialEq, Parser)]
#[command(
    name = "local-stack",
    about = "The whole backend on one machine: DynamoDB Local (tables from template.yaml), \
             the simulated chain (or CHAIN_API_URLS), the three functions as real processes \
             behind a local Lambda Runtime API, the Lambda Invoke API, and the API Gateway \
             HTTP API routes of template.yaml on one port.",
    after_help = "RUST_LOG, RUST_BACKTRACE, AWS_LAMBDA_LOG_LEVEL, AWS_LAMBDA_LOG_FORMAT and NO_COLOR \
                  are passed to the functions (NO_COLOR=1 is set for them when stderr is not a terminal)."
)]
pub struct Options {
    /// API port (0 = any free port)
    #[arg(long, env = "API_PORT", value_name = "PORT", default_value_t = 3000, value_parser = number::<u16>)]
    pub api_port: u16,
    /// Processes per API function
    #[arg(long, env = "LAMBDA_INSTANCES", value_name = "N", default_value_t = 2, value_parser = instances)]
    pub instances: usize,
    /// Processes per function without HTTP routes (the warmer)
    #[arg(long, env = "WARMER_INSTANCES", value_name = "N", default_value_t = 1, value_parser = instances)]
    pub warmer_instances: usize,
    /// Where the function binaries are [default: local-stack's own folder]
    #[arg(long, env = "LOCAL_STACK_BIN_DIR", value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,
    /// The SAM template [default: template.yaml in . or a parent]
    #[arg(long, env = "TEMPLATE_FILE", value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// Template parameter override, repeatable; replaces the list in
    /// PARAMETER_OVERRIDES (space-separated NAME=VALUE pairs)
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parameter)]
    pub parameters: Vec<(String, String)>,
    /// DynamoDB Local's port [default: a free one]
    #[arg(long, env = "DYNAMODB_PORT", value_name = "PORT", value_parser = number::<u16>)]
    pub dynamodb_port: Option<u16>,
    /// DynamoDBLocal.jar [default: from node_modules]
    #[arg(long, env = "DYNAMODB_LOCAL_JAR", value_name = "FILE")]
    pub dynamodb_jar: Option<PathBuf>,
    /// The Lambda Invoke API's port (0 = a free one)
    #[arg(long, env = "INVOKE_PORT", value_name = "PORT", default_value_t = 0, value_parser = number::<u16>)]
    pub invoke_port: u16,
    /// Use this chain (comma-separated URLs), no simulator
    #[arg(long, env = "CHAIN_API_URLS", value_name = "URLS")]
    pub chain_api_urls: Option<String>,
    /// Keybase's base URL for the functions (default: the simulator's
    /// stand-in; with CHAIN_API_URLS, https://keybase.io)
    #[arg(long, env = "KEYBASE_API_URL", value_name = "URL")]
    pub keybase_api_url: Option<String>,
    /// Simulated participants
    #[arg(long, env = "SIM_PARTICIPANTS", value_name = "N", default_value_t = 200, value_parser = number::<usize>)]
    pub sim_participants: usize,
    /// Simulated current epoch
    #[arg(long, env = "SIM_CURRENT_EPOCH", value_name = "E", default_value_t = 60, value_parser = number::<u64>)]
    pub sim_current_epoch: u64,
    /// Inferences in the simulated chain's inference list
    #[arg(long, env = "SIM_INFERENCES", value_name = "N", default_value_t = 3_000, value_parser = number::<usize>)]
    pub sim_inferences: usize,
    /// Latency of every simulated request
    #[arg(long, env = "SIM_LATENCY_MS", value_name = "MS", default_value_t = 0, value_parser = number::<u64>)]
    pub sim_latency_ms: u64,
    /// Seed of the simulated data
    #[arg(long, env = "SIM_SEED", value_name = "S", default_value_t = 42, value_parser = number::<u64>)]
    pub sim_seed: u64,
    /// Run every schedule of the template at this period instead of its
    /// rate (0 = never: scheduled jobs run only when invoked)
    #[arg(long, env = "SCHEDULE_EVERY_SECS", value_name = "SECS", value_parser = number::<u64>)]
    pub schedule_every_secs: Option<u64>,
    /// Average simulated block time; block times follow the wall clock
    #[arg(long, env = "SIM_BLOCK_TIME_MS", value_name = "MS", default_value_t = sim_chain::DEFAULT_BLOCK_INTERVAL_MS, value_parser = number::<u64>)]
    pub sim_block_time_ms: u64,
    /// Whether the simulated head advances one block per block time
    #[arg(long, env = "SIM_ADVANCE_HEIGHTS", value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub sim_advance_heights: bool,
    /// The simulator's port (0 = a free one)
    #[arg(long, env = "SIM_PORT", value_name = "PORT", default_value_t = 0, value_parser = number::<u16>)]
    pub sim_port: u16,
}

impl Default for Options {
    fn default() -> Self {
        let sim = SimConfig::default();
        Options {
            api_port: 3000,
            instances: 2,
            warmer_instances: 1,
            bin_dir: None,
            template: None,
            parameters: Vec::new(),
            dynamodb_port: None,
            dynamodb_jar: None,
            invoke_port: 0,
            chain_api_urls: None,
            keybase_api_url: None,
            sim_participants: sim.participants,
            sim_current_epoch: sim.current_epoch,
            sim_inferences: sim.inferences,
            sim_latency_ms: sim.latency.as_millis() as u64,
            sim_seed: sim.seed,
            schedule_every_secs: None,
            sim_port: 0,
            sim_block_time_ms: sim.block_interval.as_millis() as u64,
            // The dashboard's block estimate and epoch countdown need a
            // head that moves with the clock.
            sim_advance_heights: true,
        }
    }
}

impl Options {
    /// The simulated chain's settings.
    pub fn sim(&self) -> SimConfig {
        SimConfig {
            participants: self.sim_participants,
            current_epoch: self.sim_current_epoch,
            inferences: self.sim_inferences,
            latency: Duration::from_millis(self.sim_latency_ms),
            block_interval: Duration::from_millis(self.sim_block_time_ms),
            advance_heights: self.sim_advance_heights,
            seed: self.sim_seed,
            ..SimConfig::default()
        }
    }

    /// The environment variables of the options (what a launcher clears to
    /// get the defaults).
    pub fn variables() -> Vec<String> {
        use clap::CommandFactory;
        let mut vars: Vec<String> = Options::command()
            .get_arguments()
            .filter_map(|a| a.get_env())
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        vars.push(PARAMETER_OVERRIDES.to_string());
        vars
    }
}

/// 1..=64 processes.
fn instances(raw: &str) -> Result<usize, String> {
    match number::<usize>(raw)? {
        0 => Err("must be at least 1".into()),
        n if n > 64 => Err("must be at most 64".into()),
        n => Ok(n),
    }
}

fn parameter(raw: &str) -> Result<(String, String), String> {
    let (k, v) = raw
        .split_once('=')
        .ok_or_else(|| format!("parameter override {raw:?}: expected NAME=VALUE"))?;
    if k.trim().is_empty() {
        return Err(format!("parameter override {raw:?}: empty name"));
    }
    Ok((k.trim().to_string(), v.to_string()))
}

/// Flags (`args`, the program name first), then the environment for what
/// they leave unset.
pub fn parse<I>(args: I) -> Result<Options, clap::Error>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let mut o: Options = cli::parse(args)?;
    if o.parameters.is_empty() {
        let raw = std::env::var(PARAMETER_OVERRIDES).unwrap_or_default();
        for pair in raw.split_whitespace() {
            let p = parameter(pair)
                .map_err(|e| cli::error::<Options>(format!("{PARAMETER_OVERRIDES}: {e}")))?;
            o.parameters.push(p);
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;
    use std::sync::Mutex;

    /// The options' variables are process-wide: one test at a time sets them.
    static ENV: Mutex<()> = Mutex::new(());

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<Options, String> {
        let _one_at_a_time = ENV.lock().unwrap_or_else(|e| e.into_inner());
        for var in Options::variables() {
            std::env::remove_var(var);
        }
        for (k, v) in env {
            std::env::set_var(k, v);
        }
        let out = parse(std::iter::once("local-stack").chain(args.iter().copied()));
        for (k, _) in env {
            std::env::remove_var(k);
        }
        out.map_err(|e| match e.kind() {
            ErrorKind::DisplayHelp => "help".to_string(),
            _ => e.to_string(),
        })
    }

    #[test]
    fn defaults() {
        let o = run(&[], &[]).unwrap();
        assert_eq!(o, Options::default());
        assert_eq!((o.api_port, o.instances, o.warmer_instances), (3000, 2, 1));
        assert_eq!(o.sim().participants, 200);
    }

    #[test]
    fn flags_win_over_environment() {
        let o = run(
            &[
                "--api-port",
                "0",
                "--instances=3",
                "--param",
                "WarmLeaseSecs=5",
            ],
            &[
                ("API_PORT", "4000"),
                ("LAMBDA_INSTANCES", "1"),
                ("SIM_PARTICIPANTS", "60"),
                ("CHAIN_API_URLS", ""),
                (
                    "PARAMETER_OVERRIDES",
                    "ItemFreshnessSecs=10 CurrentEpochFreshnessSecs=5",
                ),
            ],
        )
        .unwrap();
        assert_eq!(o.api_port, 0);
        assert_eq!(o.instances, 3);
        assert_eq!(o.sim().participants, 60);
        assert_eq!(o.chain_api_urls, None, "an empty variable is unset");
        assert_eq!(
            o.parameters,
            [("WarmLeaseSecs".to_string(), "5".to_string())]
        );

        let o = run(&[], &[("PARAMETER_OVERRIDES", "A=1 B=x=y")]).unwrap();
        assert_eq!(
            o.parameters,
            [
                ("A".to_string(), "1".to_string()),
                ("B".to_string(), "x=y".to_string())
            ]
        );
        let o = run(&["--param", "A=1 2", "--param=B="], &[]).unwrap();
        assert_eq!(
            o.parameters,
            [
                ("A".to_string(), "1 2".to_string()),
                ("B".to_string(), String::new())
            ]
        );
    }

    #[test]
    fn errors_and_help() {
        assert_eq!(run(&["--help"], &[]).unwrap_err(), "help");
        for (args, env, want) in [
            (&["--api-port", "x"][..], &[][..], "invalid value"),
            (&["--instances", "0"], &[], "at least 1"),
            (&["--bogus", "1"], &[], "unexpected argument '--bogus'"),
            (&["--api-port"], &[], "a value is required"),
            (&["stray"], &[], "unexpected argument"),
            (&["--param", "novalue"], &[], "NAME=VALUE"),
            (&[], &[("SIM_SEED", "-1")], "SIM_SEED"),
            (&[], &[("PARAMETER_OVERRIDES", "A")], "PARAMETER_OVERRIDES"),
        ] {
            let err = run(args, env).unwrap_err();
            assert!(err.contains(want), "{args:?} {env:?}: {err}");
        }
    }

    #[test]
    fn help_lists_every_option_and_variable() {
        use clap::CommandFactory;
        let help = Options::command().render_help().to_string();
        for flag in [
            "--api-port",
            "--instances",
            "--warmer-instances",
            "--bin-dir",
            "--template",
            "--param",
            "--dynamodb-port",
            "--dynamodb-jar",
            "--invoke-port",
            "--chain-api-urls",
            "--sim-participants",
            "--sim-current-epoch",
            "--sim-latency-ms",
            "--sim-seed",
            "--sim-port",
            "--help",
        ] {
            assert!(help.contains(flag), "{flag} missing from:\n{help}");
        }
        for var in Options::variables() {
            assert!(help.contains(&var), "{var} missing from:\n{help}");
        }
    }
}
