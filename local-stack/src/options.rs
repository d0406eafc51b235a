//! Command-line options. Each has an environment variable; a flag wins over
//! its variable. Parsed by hand: a dozen flags do not justify a CLI crate.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sim_chain::SimConfig;

pub const USAGE: &str = "\
Usage: local-stack [OPTIONS]

The whole backend on one machine: DynamoDB Local (tables from template.yaml),
the simulated chain (or CHAIN_API_URLS), the three functions as real processes
behind a local Lambda Runtime API, the Lambda Invoke API, and the API Gateway
HTTP API routes of template.yaml on one port.

Options:
  --api-port PORT          API port (0 = any free port)           [env API_PORT, default 3000]
  --instances N            processes per API function             [env LAMBDA_INSTANCES, default 2]
  --warmer-instances N     processes per function without HTTP routes (the warmer)
                                                                  [env WARMER_INSTANCES, default 1]
  --bin-dir DIR            where the function binaries are        [env LOCAL_STACK_BIN_DIR,
                                                                   default: local-stack's own folder]
  --template FILE          the SAM template                       [env TEMPLATE_FILE, default:
                                                                   template.yaml in . or a parent]
  --param NAME=VALUE       template parameter override, repeatable [env PARAMETER_OVERRIDES,
                                                                   space-separated NAME=VALUE pairs]
  --dynamodb-port PORT     DynamoDB Local's port                  [env DYNAMODB_PORT, default: free]
  --dynamodb-jar FILE      DynamoDBLocal.jar                      [env DYNAMODB_LOCAL_JAR,
                                                                   default: from node_modules]
  --invoke-port PORT       the Lambda Invoke API's port           [env INVOKE_PORT, default: free]
  --chain-api-urls URLS    use this chain, no simulator           [env CHAIN_API_URLS]
  --sim-participants N     simulated participants                 [env SIM_PARTICIPANTS, default 200]
  --sim-current-epoch E    simulated current epoch                [env SIM_CURRENT_EPOCH, default 60]
  --sim-latency-ms MS      latency of every simulated request     [env SIM_LATENCY_MS, default 0]
  --sim-seed S             seed of the simulated data             [env SIM_SEED, default 42]
  --sim-port PORT          the simulator's port (0 = free)        [env SIM_PORT, default 0]
  -h, --help               print this help

RUST_LOG, RUST_BACKTRACE, AWS_LAMBDA_LOG_LEVEL, AWS_LAMBDA_LOG_FORMAT and NO_COLOR are passed to the
functions (NO_COLOR=1 is set for them when stderr is not a terminal).
";

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub api_port: u16,
    pub instances: usize,
    pub warmer_instances: usize,
    pub bin_dir: Option<PathBuf>,
    pub template: Option<PathBuf>,
    pub parameters: Vec<(String, String)>,
    pub dynamodb_port: Option<u16>,
    pub dynamodb_jar: Option<PathBuf>,
    pub invoke_port: u16,
    /// Set: that chain, no simulator.
    pub chain_api_urls: Option<String>,
    pub sim: SimConfig,
    pub sim_port: u16,
}

impl Default for Options {
    fn default() -> Self {
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
            sim: SimConfig::default(),
            sim_port: 0,
        }
    }
}

fn value<T: FromStr>(name: &str, raw: &str) -> Result<T, String> {
    raw.trim()
        .parse()
        .map_err(|_| format!("invalid value {raw:?} for {name}"))
}

fn count(name: &str, raw: &str) -> Result<usize, String> {
    match value::<usize>(name, raw)? {
        0 => Err(format!("{name} must be at least 1")),
        n if n > 64 => Err(format!("{name} must be at most 64")),
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

/// Applies one option (from a flag or its variable).
fn apply(o: &mut Options, key: &str, raw: &str) -> Result<(), String> {
    match key {
        "api-port" => o.api_port = value(key, raw)?,
        "instances" => o.instances = count(key, raw)?,
        "warmer-instances" => o.warmer_instances = count(key, raw)?,
        "bin-dir" => o.bin_dir = Some(PathBuf::from(raw)),
        "template" => o.template = Some(PathBuf::from(raw)),
        "param" => o.parameters.push(parameter(raw)?),
        "dynamodb-port" => o.dynamodb_port = Some(value(key, raw)?),
        "dynamodb-jar" => o.dynamodb_jar = Some(PathBuf::from(raw)),
        "invoke-port" => o.invoke_port = value(key, raw)?,
        "chain-api-urls" => o.chain_api_urls = Some(raw.to_string()),
        "sim-participants" => o.sim.participants = value(key, raw)?,
        "sim-current-epoch" => o.sim.current_epoch = value(key, raw)?,
        "sim-latency-ms" => o.sim.latency = Duration::from_millis(value(key, raw)?),
        "sim-seed" => o.sim.seed = value(key, raw)?,
        "sim-port" => o.sim_port = value(key, raw)?,
        _ => return Err(format!("unknown option --{key} (see --help)")),
    }
    Ok(())
}

/// Flag name and its environment variable.
const ENV: [(&str, &str); 15] = [
    ("api-port", "API_PORT"),
    ("instances", "LAMBDA_INSTANCES"),
    ("warmer-instances", "WARMER_INSTANCES"),
    ("bin-dir", "LOCAL_STACK_BIN_DIR"),
    ("template", "TEMPLATE_FILE"),
    ("param", "PARAMETER_OVERRIDES"),
    ("dynamodb-port", "DYNAMODB_PORT"),
    ("dynamodb-jar", "DYNAMODB_LOCAL_JAR"),
    ("invoke-port", "INVOKE_PORT"),
    ("chain-api-urls", "CHAIN_API_URLS"),
    ("sim-participants", "SIM_PARTICIPANTS"),
    ("sim-current-epoch", "SIM_CURRENT_EPOCH"),
    ("sim-latency-ms", "SIM_LATENCY_MS"),
    ("sim-seed", "SIM_SEED"),
    ("sim-port", "SIM_PORT"),
];

/// Environment first, then flags. `Ok(None)`: help was asked for.
pub fn parse(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Options>, String> {
    let mut o = Options::default();
    for (key, var) in ENV {
        let Some(raw) = env(var).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        if key == "param" {
            for pair in raw.split_whitespace() {
                apply(&mut o, key, pair).map_err(|e| format!("{var}: {e}"))?;
            }
        } else {
            apply(&mut o, key, &raw).map_err(|e| format!("{var}: {e}"))?;
        }
    }
    let mut from_flags: Vec<(String, String)> = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(format!("unexpected argument {arg:?} (see --help)"));
        };
        let (key, raw) = match flag.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => {
                let v = args
                    .next()
                    .ok_or_else(|| format!("--{flag} needs a value"))?;
                (flag.to_string(), v)
            }
        };
        from_flags.push((key, raw));
    }
    // Repeated --param flags replace the variable's list rather than add to it.
    if from_flags.iter().any(|(k, _)| k == "param") {
        o.parameters.clear();
    }
    for (key, raw) in from_flags {
        apply(&mut o, &key, &raw)?;
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
    fn defaults() {
        let o = run(&[], &[]).unwrap().unwrap();
        assert_eq!(o, Options::default());
        assert_eq!((o.api_port, o.instances, o.warmer_instances), (3000, 2, 1));
        assert_eq!(o.sim.participants, 200);
    }

    #[test]
    fn flags_win_over_environment() {
        let o = run(
            &[
                "--api-port",
                "0",
                "--instances=3",
                "--param",
                "WarmGuardSecs=5",
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
        .unwrap()
        .unwrap();
        assert_eq!(o.api_port, 0);
        assert_eq!(o.instances, 3);
        assert_eq!(o.sim.participants, 60);
        assert_eq!(o.chain_api_urls, None, "an empty variable is unset");
        assert_eq!(
            o.parameters,
            [("WarmGuardSecs".to_string(), "5".to_string())]
        );

        let o = run(&[], &[("PARAMETER_OVERRIDES", "A=1 B=x=y")])
            .unwrap()
            .unwrap();
        assert_eq!(
            o.parameters,
            [
                ("A".to_string(), "1".to_string()),
                ("B".to_string(), "x=y".to_string())
            ]
        );
    }

    #[test]
    fn errors_and_help() {
        assert_eq!(run(&["--help"], &[]).unwrap(), None);
        for (args, env, want) in [
            (&["--api-port", "x"][..], &[][..], "invalid value"),
            (&["--instances", "0"], &[], "at least 1"),
            (&["--bogus", "1"], &[], "unknown option"),
            (&["--api-port"], &[], "needs a value"),
            (&["stray"], &[], "unexpected argument"),
            (&["--param", "novalue"], &[], "NAME=VALUE"),
            (&[], &[("SIM_SEED", "-1")], "SIM_SEED"),
        ] {
            let err = run(args, env).unwrap_err();
            assert!(err.contains(want), "{args:?} {env:?}: {err}");
        }
    }
}
