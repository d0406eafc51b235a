//! `local-stack`: the whole backend on one machine, as deployed.
//!
//! Starts DynamoDB Local with the tables of template.yaml, the simulated
//! chain (unless `CHAIN_API_URLS` names a real one), and the three release
//! binaries as real Lambda-style processes behind a local Runtime API, a
//! local Invoke API (so epoch-stats' asynchronous warmer trigger behaves as
//! on AWS) and an API Gateway HTTP API front with the template's routes.
//! Prints one `Local stack ready: http://127.0.0.1:PORT` line when every
//! function instance is polling for events, and stops everything on
//! Ctrl-C / SIGTERM. See `--help` for the options.

use std::process::ExitCode;
use std::time::Duration;

use local_stack::options::{self, Options};
use local_stack::output;
use local_stack::processes::{self, ShutdownTrigger};
use local_stack::startup::{self, Stack};

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
            output::warn(&format!("cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run(opts));
    runtime.shutdown_timeout(Duration::from_secs(2));
    code
}

async fn run(opts: Options) -> ExitCode {
    let (trigger, shutdown) = processes::shutdown_channel();
    watch_signals(trigger.clone());
    let mut stack = Stack::new(trigger, shutdown.clone());
    let code = match startup::start(&opts, &mut stack).await {
        Ok(()) => tokio::select! {
            _ = shutdown.wait() => ExitCode::SUCCESS,
            Some(msg) = stack.fatal() => {
                output::warn(&format!("error: {msg}"));
                ExitCode::FAILURE
            }
        },
        Err(_) if shutdown.is_set() => ExitCode::SUCCESS,
        Err(e) => {
            output::warn(&format!("error: {e}"));
            ExitCode::FAILURE
        }
    };
    output::info("stopping");
    stack.stop().await;
    output::info("stopped");
    code
}

/// SIGINT, SIGTERM or SIGHUP stop the stack; a second one exits at once
/// (the children then die through PDEATHSIG).
fn watch_signals(trigger: ShutdownTrigger) {
    use tokio::signal::unix::{signal, SignalKind};
    let signals = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    );
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = signals else {
        output::warn("cannot install signal handlers; stop with SIGKILL");
        return;
    };
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
            _ = hup.recv() => "SIGHUP",
        };
        output::info(&format!("{name} received"));
        trigger.fire();
        // A signal sent to the whole process group can reach us twice at
        // once (GNU timeout does that); only a later one means "hurry".
        let first = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            if first.elapsed() > Duration::from_secs(1) {
                output::warn("second signal: exiting now");
                std::process::exit(130);
            }
        }
    });
}
