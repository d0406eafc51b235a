//! `sim-chain`: runs the simulated Gonka chain node for the local stack and
//! benchmarks.
//!
//! Arguments are parsed by clap. Environment variables give defaults; flags
//! win. The one line on stdout, printed when the port is bound, is what
//! scripts wait for; logs go to stderr.

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use clap::Parser;
use sim_chain::{parse_fault_spec, EndpointKind, Fault, SimChain, SimConfig};

const AFTER_HELP: &str = "\
--fault KIND=RATE:MODE (repeatable), e.g. summary=0.3:503
  KIND: latest, epoch_participants, status, block, participant_list,
        summary, authz, hardware, restrictions_params, models_all, models_stats, inferences
  MODE: 503, 500, truncated, wrong_shape, hang:MS

Control endpoints: GET /__health, GET /__stats, POST /__stats/reset,
GET|POST /__config (e.g. {\"latency_ms\":50,\"current_epoch\":61,\"faults\":{\"summary\":{\"rate\":0.3,\"mode\":\"503\"}}};
a fault with \"after\":N applies once N requests of its kind have passed;
{\"freeze_head\":true} keeps the head where it is, {\"advance_blocks\":N} makes N blocks now,
{\"flip_health\":[0,4]} flips those nodes' /health answers (again: back),
{\"hostile_links\":true} gives participants script URLs, quotes, userinfo and bad Keybase names).";

/// Simulated Gonka chain node with deterministic data.
#[derive(Debug, Parser)]
// `args_override_self`: a repeated flag wins over its earlier uses, as before.
#[command(name = "sim-chain", after_help = AFTER_HELP, args_override_self = true)]
struct Cli {
    /// Port to listen on (0 = any free port)
    #[arg(
        long,
        env = "SIM_PORT",
        value_name = "PORT",
        default_value_t = 8000,
        value_parser = trimmed::<u16>,
    )]
    port: u16,

    /// Address to bind
    #[arg(
        long,
        env = "SIM_HOST",
        value_name = "ADDR",
        default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST),
        value_parser = trimmed::<IpAddr>,
    )]
    host: IpAddr,

    /// Size of the participant universe
    #[arg(
        long,
        env = "SIM_PARTICIPANTS",
        value_name = "N",
        default_value_t = SimConfig::default().participants,
        value_parser = trimmed::<usize>,
    )]
    participants: usize,

    /// Inferences in the inference list
    #[arg(
        long,
        env = "SIM_INFERENCES",
        value_name = "N",
        default_value_t = SimConfig::default().inferences,
        value_parser = trimmed::<usize>,
    )]
    inferences: usize,

    /// Current epoch (>= 1)
    #[arg(
        long,
        env = "SIM_CURRENT_EPOCH",
        value_name = "E",
        default_value_t = SimConfig::default().current_epoch,
        value_parser = trimmed::<u64>,
    )]
    current_epoch: u64,

    /// Blocks per epoch
    #[arg(
        long,
        env = "SIM_EPOCH_LENGTH",
        value_name = "L",
        default_value_t = SimConfig::default().epoch_length,
        value_parser = trimmed::<u64>,
    )]
    epoch_length: u64,

    /// Latency added to every chain request
    #[arg(
        long,
        env = "SIM_LATENCY_MS",
        value_name = "MS",
        default_value_t = 0,
        value_parser = trimmed::<u64>,
    )]
    latency_ms: u64,

    /// Seed of all generated data
    #[arg(
        long,
        env = "SIM_SEED",
        value_name = "S",
        default_value_t = SimConfig::default().seed,
        value_parser = trimmed::<u64>,
    )]
    seed: u64,

    /// Average block time; block times follow the wall clock (the head is made at start)
    #[arg(
        long,
        env = "SIM_BLOCK_TIME_MS",
        value_name = "MS",
        default_value_t = sim_chain::DEFAULT_BLOCK_INTERVAL_MS,
        value_parser = trimmed::<u64>,
    )]
    block_time_ms: u64,

    /// Whether the head advances one block per block time (false: it stays put)
    #[arg(
        long,
        env = "SIM_ADVANCE_HEIGHTS",
        value_name = "BOOL",
        default_value_t = true,
        value_parser = trimmed::<bool>,
        action = clap::ArgAction::Set,
    )]
    advance_heights: bool,

    /// Inject failures into one endpoint kind (repeatable; see below)
    #[arg(long = "fault", value_name = "KIND=RATE:MODE", value_parser = parse_fault_spec)]
    faults: Vec<(EndpointKind, Fault)>,
}

/// Parses a value with surrounding whitespace ignored, as the environment
/// sometimes carries it.
fn trimmed<T>(raw: &str) -> Result<T, String>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    raw.trim().parse().map_err(|e: T::Err| e.to_string())
}

impl Cli {
    /// The address to bind and the validated simulator configuration.
    fn into_parts(self) -> Result<(SocketAddr, SimConfig), String> {
        let config = SimConfig {
            participants: self.participants,
            inferences: self.inferences,
            current_epoch: self.current_epoch,
            seed: self.seed,
            epoch_length: self.epoch_length,
            latency: Duration::from_millis(self.latency_ms),
            block_interval: Duration::from_millis(self.block_time_ms),
            advance_heights: self.advance_heights,
            // A later `--fault` for the same kind replaces an earlier one.
            faults: self.faults.into_iter().collect::<HashMap<_, _>>(),
            node_base_url: None,
        };
        config.validate()?;
        Ok((SocketAddr::new(self.host, self.port), config))
    }
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
    let (addr, config) = match Cli::parse().into_parts() {
        Ok(parts) => parts,
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

    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("sim-chain: cannot bind {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let participants = config.participants;
    let current_epoch = config.current_epoch;
    let chain = match SimChain::start_on(listener, config).await {
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
    use clap::error::ErrorKind;
    use clap::CommandFactory;
    use sim_chain::FaultMode;

    fn parse(args: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("sim-chain").chain(args.split_whitespace()))
    }

    #[test]
    fn command_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_lists_every_flag_and_variable() {
        let help = Cli::command().render_long_help().to_string();
        for name in [
            "--port",
            "SIM_PORT",
            "--host",
            "SIM_HOST",
            "--participants",
            "SIM_PARTICIPANTS",
            "--current-epoch",
            "SIM_CURRENT_EPOCH",
            "--epoch-length",
            "SIM_EPOCH_LENGTH",
            "--latency-ms",
            "SIM_LATENCY_MS",
            "--seed",
            "SIM_SEED",
            "--fault",
            "--help",
            "/__config",
        ] {
            assert!(help.contains(name), "{name} missing from:\n{help}");
        }
    }

    // The only test that sets SIM_* variables; the others pass every value
    // they check as a flag, or only check for errors.
    #[test]
    fn flags_override_env() {
        std::env::set_var("SIM_PORT", "9000");
        std::env::set_var("SIM_SEED", "7");
        std::env::set_var("SIM_LATENCY_MS", " 20 ");
        let cli = parse(
            "--port 8123 --participants 50 --current-epoch=61 --fault summary=0.3:503 --fault authz=0.1:hang:250",
        );
        std::env::remove_var("SIM_PORT");
        std::env::remove_var("SIM_SEED");
        std::env::remove_var("SIM_LATENCY_MS");
        let (addr, config) = cli.unwrap().into_parts().unwrap();
        assert_eq!(addr.port(), 8123);
        assert_eq!(config.seed, 7);
        assert_eq!(config.participants, 50);
        assert_eq!(config.current_epoch, 61);
        assert_eq!(config.latency, Duration::from_millis(20));
        assert_eq!(
            config.faults[&EndpointKind::Summary].mode,
            FaultMode::Status503
        );
        assert_eq!(
            config.faults[&EndpointKind::Authz].mode,
            FaultMode::Hang(Duration::from_millis(250))
        );
    }

    #[test]
    fn rejects_bad_input_clearly() {
        assert_eq!(parse("--port").unwrap_err().kind(), ErrorKind::InvalidValue);
        assert!(parse("--port abc")
            .unwrap_err()
            .to_string()
            .contains("--port"));
        assert_eq!(
            parse("--bogus 1").unwrap_err().kind(),
            ErrorKind::UnknownArgument
        );
        assert!(parse("--current-epoch 0")
            .unwrap()
            .into_parts()
            .unwrap_err()
            .contains("current_epoch"));
        assert!(parse("--fault summary=2:503").is_err());
        assert_eq!(parse("--help").unwrap_err().kind(), ErrorKind::DisplayHelp);
        assert_eq!(parse("-h").unwrap_err().kind(), ErrorKind::DisplayHelp);
    }
}
