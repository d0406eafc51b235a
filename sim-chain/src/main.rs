//! `sim-chain`: runs the simulated Gonka chain node for the local stack and
//! benchmarks.
//!
//! Arguments are parsed by hand (a dozen flags do not justify a CLI crate).
//! Environment variables give defaults; flags win. The one line on stdout,
//! printed when the port is bound, is what scripts wait for; logs go to
//! stderr.

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use sim_chain::{parse_fault_spec, SimChain, SimConfig};

const USAGE: &str = "\
Usage: sim-chain [OPTIONS]

Simulated Gonka chain node with deterministic data.

Options:
  --port PORT            port to listen on (0 = any free port)       [env SIM_PORT, default 8000]
  --host ADDR            address to bind                               [env SIM_HOST, default 127.0.0.1]
  --participants N       size of the participant universe             [env SIM_PARTICIPANTS, default 200]
  --current-epoch E      current epoch (>= 1)                         [env SIM_CURRENT_EPOCH, default 60]
  --epoch-length L       blocks per epoch                             [env SIM_EPOCH_LENGTH, default 15000]
  --latency-ms MS        latency added to every chain request         [env SIM_LATENCY_MS, default 0]
  --seed S               seed of all generated data                   [env SIM_SEED, default 42]
  --fault KIND=RATE:MODE inject failures, repeatable; e.g. summary=0.3:503
                         KIND: latest, epoch_participants, status, block, participant_list,
                               summary, authz, hardware
                         MODE: 503, 500, truncated, wrong_shape, hang:MS
  -h, --help             print this help

Control endpoints: GET /__health, GET /__stats, POST /__stats/reset,
GET|POST /__config (e.g. {\"latency_ms\":50,\"current_epoch\":61,\"faults\":{\"summary\":{\"rate\":0.3,\"mode\":\"503\"}}}).
";

#[derive(Debug)]
struct Cli {
    host: IpAddr,
    port: u16,
    config: SimConfig,
}

fn parse_value<T: FromStr>(name: &str, raw: &str) -> Result<T, String> {
    raw.trim()
        .parse()
        .map_err(|_| format!("invalid value {raw:?} for {name}"))
}

/// Builds the configuration from environment variables, then flags.
/// `Ok(None)` means help was requested.
fn parse_cli(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Cli>, String> {
    let mut cli = Cli {
        host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: 8000,
        config: SimConfig::default(),
    };
    let mut latency_ms: u64 = 0;

    if let Some(v) = env("SIM_HOST") {
        cli.host = parse_value("SIM_HOST", &v)?;
    }
    if let Some(v) = env("SIM_PORT") {
        cli.port = parse_value("SIM_PORT", &v)?;
    }
    if let Some(v) = env("SIM_PARTICIPANTS") {
        cli.config.participants = parse_value("SIM_PARTICIPANTS", &v)?;
    }
    if let Some(v) = env("SIM_CURRENT_EPOCH") {
        cli.config.current_epoch = parse_value("SIM_CURRENT_EPOCH", &v)?;
    }
    if let Some(v) = env("SIM_EPOCH_LENGTH") {
        cli.config.epoch_length = parse_value("SIM_EPOCH_LENGTH", &v)?;
    }
    if let Some(v) = env("SIM_LATENCY_MS") {
        latency_ms = parse_value("SIM_LATENCY_MS", &v)?;
    }
    if let Some(v) = env("SIM_SEED") {
        cli.config.seed = parse_value("SIM_SEED", &v)?;
    }

    let mut faults = HashMap::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--host" => cli.host = parse_value("--host", &value()?)?,
            "--port" => cli.port = parse_value("--port", &value()?)?,
            "--participants" => cli.config.participants = parse_value("--participants", &value()?)?,
            "--current-epoch" => {
                cli.config.current_epoch = parse_value("--current-epoch", &value()?)?
            }
            "--epoch-length" => cli.config.epoch_length = parse_value("--epoch-length", &value()?)?,
            "--latency-ms" => latency_ms = parse_value("--latency-ms", &value()?)?,
            "--seed" => cli.config.seed = parse_value("--seed", &value()?)?,
            "--fault" => {
                let (kind, fault) = parse_fault_spec(&value()?)?;
                faults.insert(kind, fault);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    cli.config.latency = Duration::from_millis(latency_ms);
    cli.config.faults = faults;
    cli.config.validate()?;
    Ok(Some(cli))
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match parse_cli(std::env::args().skip(1), |k| std::env::var(k).ok()) {
        Ok(Some(cli)) => cli,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("sim-chain: {e}");
            return ExitCode::from(2);
        }
    };

    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let listener = match tokio::net::TcpListener::bind(SocketAddr::new(cli.host, cli.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("sim-chain: cannot bind {}:{}: {e}", cli.host, cli.port);
            return ExitCode::FAILURE;
        }
    };
    let participants = cli.config.participants;
    let current_epoch = cli.config.current_epoch;
    let chain = match SimChain::start_on(listener, cli.config).await {
        Ok(chain) => chain,
        Err(e) => {
            eprintln!("sim-chain: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(
        stdout,
        "sim-chain listening on {} ({participants} participants, current epoch {current_epoch})",
        chain.url()
    );
    let _ = stdout.flush();

    wait_for_signal().await;
    tracing::info!("shutting down");
    chain.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_chain::{EndpointKind, FaultMode};

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn flags_override_env() {
        let env = |k: &str| match k {
            "SIM_PORT" => Some("9000".to_string()),
            "SIM_SEED" => Some("7".to_string()),
            "SIM_LATENCY_MS" => Some("20".to_string()),
            _ => None,
        };
        let cli = parse_cli(
            args("--port 8123 --participants 50 --current-epoch=61 --fault summary=0.3:503 --fault authz=0.1:hang:250"),
            env,
        )
        .unwrap()
        .unwrap();
        assert_eq!(cli.port, 8123);
        assert_eq!(cli.config.seed, 7);
        assert_eq!(cli.config.participants, 50);
        assert_eq!(cli.config.current_epoch, 61);
        assert_eq!(cli.config.latency, Duration::from_millis(20));
        assert_eq!(
            cli.config.faults[&EndpointKind::Summary].mode,
            FaultMode::Status503
        );
        assert_eq!(
            cli.config.faults[&EndpointKind::Authz].mode,
            FaultMode::Hang(Duration::from_millis(250))
        );
    }

    #[test]
    fn rejects_bad_input_clearly() {
        let none = |_: &str| None;
        assert!(parse_cli(args("--port"), none)
            .unwrap_err()
            .contains("needs a value"));
        assert!(parse_cli(args("--port abc"), none)
            .unwrap_err()
            .contains("--port"));
        assert!(parse_cli(args("--bogus 1"), none)
            .unwrap_err()
            .contains("unknown argument"));
        assert!(parse_cli(args("--current-epoch 0"), none).is_err());
        assert!(parse_cli(args("--fault summary=2:503"), none).is_err());
        assert!(parse_cli(args("--help"), none).unwrap().is_none());
    }
}
