//! Child processes (the function instances, DynamoDB Local): started with
//! `PR_SET_PDEATHSIG` so the kernel kills them if local-stack dies without
//! cleaning up (even from SIGKILL), their output prefixed line by line,
//! restarted if a function instance crashes, and stopped with SIGTERM then
//! SIGKILL on shutdown.
//!
//! Children stay in local-stack's process group (a group kill reaches
//! them all) but ignore SIGINT, so Ctrl-C lets local-stack shut them down
//! in order: API front first, then the functions, then DynamoDB Local.
//!
//! PDEATHSIG fires when the *thread* that forked the child exits, not the
//! process. Children are therefore forked from the main thread or from the
//! runtime's worker threads, which live until the runtime shuts down, and
//! never from the blocking pool, whose threads exit when idle.

use std::collections::BTreeMap;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::output;
use crate::template::{FunctionDef, REGION};

/// How long a child gets between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(3);
/// Restart back-off after a crash: doubles up to the maximum, and starts
/// over once an instance has stayed up for a while. (Three lines of
/// arithmetic in `supervise`; a back-off crate would not make them shorter.)
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
const HEALTHY_AFTER: Duration = Duration::from_secs(30);

/// Variables passed through from local-stack's own environment.
const PASSTHROUGH: [&str; 9] = [
    "NO_COLOR",
    "PATH",
    "HOME",
    "LANG",
    "RUST_LOG",
    "RUST_BACKTRACE",
    "RUST_LIB_BACKTRACE",
    "AWS_LAMBDA_LOG_LEVEL",
    "AWS_LAMBDA_LOG_FORMAT",
];

/// What to run.
#[derive(Debug, Clone)]
pub struct ChildSpec {
    /// The output prefix, e.g. `epoch-stats#1`.
    pub label: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Start from an empty environment (a function sees only what Lambda
    /// would give it, not the developer's AWS profile).
    pub clear_env: bool,
    pub cwd: Option<PathBuf>,
    /// Forward stdout (DynamoDB Local's banner is noise; its stderr is kept).
    pub show_stdout: bool,
}

/// Set once to stop everything; every supervisor watches it.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

#[derive(Clone)]
pub struct ShutdownTrigger(Arc<watch::Sender<bool>>);

pub fn shutdown_channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger(Arc::new(tx)), Shutdown(rx))
}

impl ShutdownTrigger {
    pub fn fire(&self) {
        let _ = self.0.send(true);
    }
}

impl Shutdown {
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown is requested (or its trigger is gone).
    pub async fn wait(&self) {
        let mut rx = self.0.clone();
        let _ = rx.wait_for(|set| *set).await;
    }
}

/// Starts a child in the calling thread (see the module docs).
pub fn spawn(spec: &ChildSpec) -> io::Result<Child> {
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .stdin(Stdio::null())
        .stdout(if spec.show_stdout {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if spec.clear_env {
        cmd.env_clear();
    }
    cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));
    if let Some(dir) = &spec.cwd {
        cmd.current_dir(dir);
    }
    // SAFETY: only async-signal-safe calls (prctl, getppid) between fork and exec.
    let parent = unsafe { libc::getpid() };
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // Ctrl-C in the terminal reaches the whole foreground process
            // group; children ignore it (the disposition survives exec) so
            // that local-stack stops them in order instead.
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            // The parent died before prctl took effect: nothing would kill us.
            // (No allocation here: a raw OS error.)
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    if let Some(out) = child.stdout.take() {
        forward(spec.label.clone(), out, false);
    }
    if let Some(err) = child.stderr.take() {
        forward(spec.label.clone(), err, true);
    }
    Ok(child)
}

/// Copies a child's output line by line with its label.
fn forward(label: String, reader: impl AsyncRead + Unpin + Send + 'static, to_stderr: bool) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    if to_stderr {
                        output::err(&label, &text);
                    } else {
                        output::out(&label, &text);
                    }
                }
            }
        }
    });
}

/// An exit at the same moment as a shutdown (a signal sent to the whole
/// process group) is part of the shutdown, not a crash: give the shutdown
/// request a moment to arrive before reporting.
const SETTLE: Duration = Duration::from_millis(300);

async fn settled_shutdown(shutdown: &Shutdown) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(SETTLE) => shutdown.is_set(),
        _ = shutdown.wait() => true,
    }
}

/// SIGTERM, then SIGKILL after `grace`.
pub async fn stop(child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: signalling our own, not yet reaped, child.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
    match tokio::time::timeout(grace, child.wait()).await {
        Ok(Ok(status)) => Some(status),
        _ => {
            let _ = child.kill().await;
            child.wait().await.ok()
        }
    }
}

/// `exit status 1`, `signal 9 (SIGKILL)`.
pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("signal {sig}"),
        _ => status.to_string(),
    }
}

/// Starts a child once (in the calling thread) and watches it: on shutdown
/// it is stopped; if it exits first, `on_exit` hears about it.
pub fn run_once(
    spec: &ChildSpec,
    shutdown: Shutdown,
    on_exit: impl FnOnce(ExitStatus) + Send + 'static,
) -> io::Result<JoinHandle<()>> {
    let mut child = spawn(spec)?;
    Ok(tokio::spawn(async move {
        tokio::select! {
            status = child.wait() => {
                if let Ok(status) = status {
                    if !settled_shutdown(&shutdown).await {
                        on_exit(status);
                    }
                }
            }
            _ = shutdown.wait() => {
                stop(&mut child, STOP_GRACE).await;
            }
        }
    }))
}

/// Keeps one function instance running until shutdown: restarts it after a
/// crash (with back-off), telling `on_exit` each time.
pub async fn supervise(
    spec: ChildSpec,
    shutdown: Shutdown,
    on_exit: impl Fn(ExitStatus) + Send + Sync + 'static,
) {
    let mut backoff = FIRST_BACKOFF;
    while !shutdown.is_set() {
        let started = Instant::now();
        let mut child = match spawn(&spec) {
            Ok(c) => c,
            Err(e) => {
                output::warn(&format!(
                    "{}: cannot start {}: {e}",
                    spec.label,
                    spec.program.display()
                ));
                return;
            }
        };
        tokio::select! {
            status = child.wait() => {
                if settled_shutdown(&shutdown).await {
                    return;
                }
                let Ok(status) = status else { return };
                if started.elapsed() > HEALTHY_AFTER {
                    backoff = FIRST_BACKOFF;
                }
                output::warn(&format!(
                    "{} exited ({}); restarting in {} ms",
                    spec.label,
                    describe(status),
                    backoff.as_millis()
                ));
                on_exit(status);
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait() => return,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            _ = shutdown.wait() => {
                stop(&mut child, STOP_GRACE).await;
                return;
            }
        }
    }
}

/// Where a function instance finds everything else.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Comma-separated chain base URLs.
    pub chain_api_urls: String,
    pub dynamodb: String,
    /// The local Invoke API (`AWS_ENDPOINT_URL_LAMBDA`).
    pub lambda: String,
    /// This function's Runtime API, `127.0.0.1:PORT`.
    pub runtime_api: String,
    /// `KEYBASE_API_URL` (the simulator's stand-in by default).
    pub keybase_api_url: String,
}

/// The environment of one instance: what Lambda sets, the function's
/// template environment, and the local endpoints. `inherited` looks up
/// local-stack's own environment for the pass-through variables.
pub fn function_environment(
    def: &FunctionDef,
    instance: usize,
    endpoints: &Endpoints,
    inherited: impl Fn(&str) -> Option<String>,
) -> Vec<(String, String)> {
    let mut env: BTreeMap<String, String> = def.environment.clone();
    for key in PASSTHROUGH {
        if let Some(v) = inherited(key) {
            env.insert(key.to_string(), v);
        }
    }
    let fixed = [
        ("CHAIN_API_URLS", endpoints.chain_api_urls.clone()),
        ("KEYBASE_API_URL", endpoints.keybase_api_url.clone()),
        // The simulated nodes are on loopback: local use only (the
        // template leaves the guard on).
        ("HEALTH_ALLOW_PRIVATE_TARGETS", "true".to_string()),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoints.dynamodb.clone()),
        ("AWS_ENDPOINT_URL_LAMBDA", endpoints.lambda.clone()),
        ("AWS_ACCESS_KEY_ID", "local".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_string()),
        ("AWS_REGION", REGION.to_string()),
        ("AWS_DEFAULT_REGION", REGION.to_string()),
        // No instance metadata service here: do not let the SDK probe for one.
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ("AWS_LAMBDA_RUNTIME_API", endpoints.runtime_api.clone()),
        ("AWS_LAMBDA_FUNCTION_NAME", def.name.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", def.memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", def.name),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!("local/[$LATEST]instance-{instance}"),
        ),
        ("_HANDLER", "bootstrap".to_string()),
        ("TZ", ":UTC".to_string()),
    ];
    for (k, v) in fixed {
        env.insert(k.to_string(), v);
    }
    env.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_of_an_instance() {
        let template = crate::template::Template::parse(include_str!("../../template.yaml"), &[])
            .expect("template.yaml parses");
        let def = template.function("epoch-stats").unwrap();
        let endpoints = Endpoints {
            chain_api_urls: "http://127.0.0.1:9".into(),
            dynamodb: "http://127.0.0.1:8".into(),
            lambda: "http://127.0.0.1:7".into(),
            runtime_api: "127.0.0.1:6".into(),
            keybase_api_url: "http://127.0.0.1:5".into(),
        };
        let env: BTreeMap<String, String> = function_environment(def, 1, &endpoints, |k| {
            (k == "RUST_LOG").then(|| "debug".to_string())
        })
        .into_iter()
        .collect();
        assert_eq!(env["TABLE_NAME"], "CacheTable");
        assert_eq!(env["WARMER_FUNCTION_NAME"], "warmer");
        assert_eq!(env["CURRENT_EPOCH_FRESHNESS_SECS"], "30");
        // The local chain replaces the template's default.
        assert_eq!(env["CHAIN_API_URLS"], "http://127.0.0.1:9");
        assert_eq!(env["AWS_ENDPOINT_URL_DYNAMODB"], "http://127.0.0.1:8");
        assert_eq!(env["AWS_ENDPOINT_URL_LAMBDA"], "http://127.0.0.1:7");
        assert_eq!(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:6");
        assert_eq!(env["KEYBASE_API_URL"], "http://127.0.0.1:5");
        assert_eq!(env["HEALTH_ALLOW_PRIVATE_TARGETS"], "true");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "epoch-stats");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
        assert_eq!(env["AWS_REGION"], "us-east-1");
        assert_eq!(env["RUST_LOG"], "debug");
        assert!(!env.contains_key("HOME"));
    }

    #[tokio::test]
    async fn children_are_stopped_and_described() {
        let spec = ChildSpec {
            label: "sleep".into(),
            program: "sleep".into(),
            args: vec!["30".into()],
            env: Vec::new(),
            clear_env: false,
            cwd: None,
            show_stdout: true,
        };
        let mut child = spawn(&spec).unwrap();
        let status = stop(&mut child, Duration::from_secs(2)).await.unwrap();
        assert_eq!(describe(status), "signal 15");
    }
}
