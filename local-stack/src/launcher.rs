//! The `local-stack` binary as a child process, for the end-to-end test and
//! the bench: started in its own process group (its function instances
//! and DynamoDB Local's JVM are in it), with the options' variables
//! cleared so it runs with its defaults plus what the caller sets, and
//! ready once its banner ([`crate::banner`]) named every endpoint.
//! Dropping the [`LocalStack`] kills the whole group; [`kill_all`] does
//! that for every stack still running (for a signal handler or a panic
//! hook). Blocking: call [`Launcher::start`] and [`LocalStack::stop`] from
//! a thread that may block (`spawn_blocking` in async code).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::banner::Urls;
use crate::options::Options;

/// How often a wait checks on the process.
const POLL: Duration = Duration::from_millis(100);
/// How long the last lines of a killed stack may take to arrive.
const DRAIN_WAIT: Duration = Duration::from_secs(2);

/// Process groups of the stacks started here and not yet stopped.
static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// A poisoned lock only means a panic elsewhere; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The process groups of the stacks running now.
pub fn running_groups() -> Vec<i32> {
    lock(&GROUPS).clone()
}

/// SIGKILL to every running stack's group (and forget them).
pub fn kill_all() {
    for pgid in lock(&GROUPS).drain(..) {
        kill_group(pgid, libc::SIGKILL);
    }
}

fn kill_group(pgid: i32, signal: i32) {
    // SAFETY: kill(2) of the process group of a child this process started.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

fn unregister(pgid: i32) {
    lock(&GROUPS).retain(|g| *g != pgid);
}

/// How to start a stack: `Launcher::new(exe).bin_dir(..).env(..).start()`.
#[derive(Debug, Clone)]
pub struct Launcher {
    exe: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    cwd: Option<PathBuf>,
    ready_timeout: Duration,
    keep_lines: usize,
    echo_on_panic: bool,
}

impl Launcher {
    /// `exe` is the `local-stack` binary. Every option variable
    /// ([`Options::variables`]) is removed from its environment.
    pub fn new(exe: impl Into<PathBuf>) -> Launcher {
        Launcher {
            exe: exe.into(),
            args: Vec::new(),
            env: Options::variables()
                .into_iter()
                .map(|v| (v.into(), None))
                .collect(),
            cwd: None,
            ready_timeout: Duration::from_secs(90),
            keep_lines: 10_000,
            echo_on_panic: false,
        }
    }

    /// `--bin-dir`: where the function binaries are.
    pub fn bin_dir(self, dir: impl Into<PathBuf>) -> Launcher {
        self.arg("--bin-dir").arg(dir.into())
    }

    /// `--template`.
    pub fn template(self, file: impl Into<PathBuf>) -> Launcher {
        self.arg("--template").arg(file.into())
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Launcher {
        self.args.push(arg.into());
        self
    }

    /// Sets a variable of the stack's environment.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Launcher {
        self.env.push((key.into(), Some(value.into())));
        self
    }

    /// Removes a variable from the stack's environment.
    pub fn env_remove(mut self, key: impl Into<OsString>) -> Launcher {
        self.env.push((key.into(), None));
        self
    }

    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Launcher {
        self.cwd = Some(dir.into());
        self
    }

    /// How long the banner may take (default 90 s).
    pub fn ready_timeout(mut self, timeout: Duration) -> Launcher {
        self.ready_timeout = timeout;
        self
    }

    /// Lines of the stack's output kept (default 10,000; the oldest go).
    pub fn keep_lines(mut self, lines: usize) -> Launcher {
        self.keep_lines = lines.max(1);
        self
    }

    /// Print the kept output when the stack is dropped during a panic (a
    /// failing test then shows what the stack said).
    pub fn echo_on_panic(mut self, yes: bool) -> Launcher {
        self.echo_on_panic = yes;
        self
    }

    /// Starts the stack and waits for its banner. On failure the stack is
    /// killed and the error holds its last output.
    pub fn start(self) -> Result<LocalStack, String> {
        let mut cmd = Command::new(&self.exe);
        cmd.args(&self.args);
        for (key, value) in &self.env {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.exe.display()))?;
        let pgid = i32::try_from(child.id()).map_err(|_| "a pid out of range")?;
        lock(&GROUPS).push(pgid);

        // Both streams are drained for the whole run (a full pipe would
        // block the stack); stdout lines also go to the ready check.
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, rx) = mpsc::channel::<String>();
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(drain(Box::new(out), log.clone(), self.keep_lines, Some(tx)));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(drain(Box::new(err), log.clone(), self.keep_lines, None));
        }
        let mut stack = LocalStack {
            child,
            pgid,
            log,
            readers,
            urls: Urls::default(),
            status: None,
            gone: false,
            echo_on_panic: self.echo_on_panic,
        };
        match wait_for_banner(&rx, self.ready_timeout) {
            Ok(urls) => {
                stack.urls = urls;
                Ok(stack)
            }
            Err(e) => {
                stack.kill();
                Err(format!(
                    "local-stack: {e}; its output:\n{}",
                    stack.full_output()
                ))
            }
        }
    }
}

/// Copies a stream's lines into the log (and to `tx`).
fn drain(
    stream: Box<dyn Read + Send>,
    log: Arc<Mutex<VecDeque<String>>>,
    keep: usize,
    tx: Option<mpsc::Sender<String>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            {
                let mut log = lock(&log);
                if log.len() >= keep {
                    log.pop_front();
                }
                log.push_back(line.clone());
            }
            if let Some(tx) = &tx {
                let _ = tx.send(line);
            }
        }
    })
}

fn wait_for_banner(rx: &mpsc::Receiver<String>, timeout: Duration) -> Result<Urls, String> {
    let mut urls = Urls::default();
    let deadline = Instant::now() + timeout;
    while !urls.complete() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .map_err(|_| format!("not ready within {} s (or exited)", timeout.as_secs()))?;
        urls.read_line(&line)?;
    }
    Ok(urls)
}

/// A running stack. Dropping it kills its whole process group.
pub struct LocalStack {
    child: Child,
    pgid: i32,
    log: Arc<Mutex<VecDeque<String>>>,
    /// The threads copying stdout and stderr into `log`.
    readers: Vec<JoinHandle<()>>,
    urls: Urls,
    /// Set once the process was reaped.
    status: Option<ExitStatus>,
    /// Set once the group is known to be empty (no kill of a reused id).
    gone: bool,
    echo_on_panic: bool,
}

impl LocalStack {
    /// What the banner named.
    pub fn urls(&self) -> &Urls {
        &self.urls
    }

    /// The API front, e.g. `http://127.0.0.1:41234`.
    pub fn api(&self) -> &str {
        &self.urls.api
    }

    /// The chain (the simulator's URL unless `CHAIN_API_URLS` was set).
    pub fn chain(&self) -> &str {
        &self.urls.chain
    }

    pub fn dynamodb(&self) -> &str {
        &self.urls.dynamodb
    }

    /// The meter: the functions' DynamoDB endpoint, counters at `/__meter`.
    pub fn meter(&self) -> &str {
        &self.urls.meter
    }

    /// The Lambda Invoke API.
    pub fn invoke(&self) -> &str {
        &self.urls.invoke
    }

    /// local-stack's pid, also its process group's id (the function
    /// instances are its children).
    pub fn pid(&self) -> i32 {
        self.pgid
    }

    /// The last `lines` lines the stack printed (stdout and stderr).
    pub fn output(&self, lines: usize) -> String {
        let log = lock(&self.log);
        let skip = log.len().saturating_sub(lines);
        log.iter()
            .skip(skip)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Everything kept, once the output has ended (all of the group gone
    /// and the pipes drained; at most [`DRAIN_WAIT`] for that).
    fn full_output(&self) -> String {
        let deadline = Instant::now() + DRAIN_WAIT;
        while self.readers.iter().any(|r| !r.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.output(usize::MAX)
    }

    /// SIGTERM to local-stack itself: it stops its parts in order.
    pub fn terminate(&self) {
        if self.status.is_none() {
            // SAFETY: kill(2) of our own child, not yet reaped.
            unsafe {
                libc::kill(self.pgid, libc::SIGTERM);
            }
        }
    }

    /// Waits up to `timeout` for local-stack to exit.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.status.is_none() {
                self.status = self.child.try_wait().ok().flatten();
            }
            if self.status.is_some() || Instant::now() >= deadline {
                return self.status;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Whether any process of the group is still running.
    pub fn group_alive(&self) -> bool {
        // SAFETY: signal 0 only checks whether the group has members.
        self.status.is_none() || (!self.gone && unsafe { libc::kill(-self.pgid, 0) } == 0)
    }

    /// Waits up to `timeout` for local-stack and every process of its
    /// group to be gone; whether they are.
    pub fn wait_group_gone(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.status.is_none() {
                self.status = self.child.try_wait().ok().flatten();
            }
            if !self.group_alive() {
                self.gone = true;
                unregister(self.pgid);
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(POLL);
        }
    }

    /// SIGKILL to the whole group, and local-stack reaped.
    pub fn kill(&mut self) {
        if self.gone {
            return;
        }
        // Once local-stack is reaped its id names the group only while
        // members are left (no kill of a reused id).
        if self.group_alive() {
            kill_group(self.pgid, libc::SIGKILL);
        }
        if self.status.is_none() {
            self.status = self.child.wait().ok();
        }
        self.gone = true;
        unregister(self.pgid);
    }

    /// SIGTERM (the stack stops its parts in order), then SIGKILL to the
    /// group if it takes longer than `grace` or leaves anything behind.
    pub fn stop(mut self, grace: Duration) -> Option<ExitStatus> {
        self.terminate();
        self.wait_timeout(grace);
        // Whatever is left of the group (nothing, normally) goes now.
        self.kill();
        self.status
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        self.kill();
        if self.echo_on_panic && std::thread::panicking() {
            eprintln!("---- local-stack output ----\n{}", self.full_output());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for local-stack: prints a banner, then waits.
    fn fake(script: &str) -> Launcher {
        Launcher::new("sh")
            .arg("-c")
            .arg(script)
            .ready_timeout(Duration::from_secs(10))
    }

    #[test]
    fn waits_for_the_banner_and_stops_the_group() {
        let stack = fake(
            "echo starting; echo 'Local stack ready: http://127.0.0.1:1'; \
             echo 'Chain: http://127.0.0.1:2'; echo 'DynamoDB Local: http://127.0.0.1:3  (tables: T)'; \
             echo 'Meter: http://127.0.0.1:5  (y)'; \
             echo 'Lambda Invoke API: http://127.0.0.1:4  (x)'; sleep 60 & wait",
        )
        .start()
        .unwrap();
        assert_eq!(stack.api(), "http://127.0.0.1:1");
        assert_eq!(stack.chain(), "http://127.0.0.1:2");
        assert_eq!(stack.dynamodb(), "http://127.0.0.1:3");
        assert_eq!(stack.invoke(), "http://127.0.0.1:4");
        assert_eq!(stack.meter(), "http://127.0.0.1:5");
        assert!(running_groups().contains(&stack.pid()));
        assert!(stack.output(1).starts_with("Lambda Invoke API"));
        assert!(stack.group_alive());
        let pid = stack.pid();
        // SIGTERM ends sh; the group kill takes its `sleep`.
        let status = stack.stop(Duration::from_secs(5));
        assert!(status.is_some());
        assert!(!running_groups().contains(&pid));
        // SAFETY: signal 0 only checks whether the group has members.
        let deadline = Instant::now() + Duration::from_secs(5);
        while unsafe { libc::kill(-pid, 0) } == 0 {
            assert!(Instant::now() < deadline, "the group outlived stop()");
            std::thread::sleep(POLL);
        }
    }

    #[test]
    fn a_stack_that_exits_reports_its_output() {
        let err = fake("echo 'error: no template' >&2; exit 2")
            .start()
            .err()
            .expect("not ready");
        assert!(err.contains("not ready"), "{err}");
        assert!(err.contains("error: no template"), "{err}");
    }
}
