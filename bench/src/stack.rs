//! The release local stack (`target/release/local-stack`) as a child
//! process, and how the bench talks to it: the API front over HTTP with
//! `accept-encoding: gzip`, the simulated chain's `/__stats`, the Lambda
//! Invoke endpoint, DynamoDB Local through the functions' own table
//! adapter, and `/proc` for the function processes' memory.
//!
//! Started exactly as a developer starts it (`make local`), only with a
//! free API port, the size and latency of the run, and quiet logs.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use shared::table::{CacheTable, DynamoTable};

use crate::cleanup;

/// DynamoDB Local's JVM, the simulated universe and every instance.
const READY_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a stopping stack gets before its group is killed.
const STOP_GRACE: Duration = Duration::from_secs(20);
/// Lines of the stack's output kept to explain a failure.
const LOG_LINES: usize = 400;
/// The three functions, by binary (= process) name.
pub const FUNCTIONS: [&str; 3] = ["epoch-stats", "warmer", "participant"];

/// What a stack is started with.
#[derive(Debug, Clone)]
pub struct StackSpec {
    pub root: PathBuf,
    pub bin_dir: PathBuf,
    pub template: PathBuf,
    pub table_name: String,
    pub participants: usize,
    pub latency_ms: u64,
    pub instances: usize,
}

/// A running stack. Dropping it kills its whole process group.
pub struct Stack {
    child: Child,
    pgid: i32,
    log: Arc<Mutex<VecDeque<String>>>,
    pub api: String,
    pub chain: String,
    pub dynamodb: String,
    pub invoke: String,
    pub current_epoch: u64,
    pub participants: usize,
    pub http: reqwest::Client,
    table: DynamoTable,
    stopped: bool,
}

impl Drop for Stack {
    fn drop(&mut self) {
        if !self.stopped {
            kill_group(self.pgid);
            let _ = self.child.wait();
            cleanup::unregister(self.pgid);
        }
    }
}

fn kill_group(pgid: i32) {
    // SAFETY: kill(2) of the process group of our own child.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

fn first_url(line: &str) -> Option<String> {
    let start = line.find("http://")?;
    Some(line[start..].split_whitespace().next()?.to_string())
}

/// The simulator's request counters (`GET /__stats`, `by_key` left out).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChainStats {
    pub total: u64,
}

/// One HTTP answer as the bench saw it.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    /// The body as it came over the wire (gzip when the server chose it).
    pub body: Vec<u8>,
    pub gzip: bool,
    pub etag: Option<String>,
    /// From sending the request to the last body byte.
    pub elapsed: Duration,
}

impl Fetched {
    /// The decoded body.
    pub fn json(&self) -> Result<Value, String> {
        let plain = if self.gzip {
            gunzip(&self.body)?
        } else {
            self.body.clone()
        };
        serde_json::from_slice(&plain).map_err(|e| format!("not JSON: {e}"))
    }
}

pub fn gunzip(body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(body.len() * 6);
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .map_err(|e| format!("bad gzip body: {e}"))?;
    Ok(out)
}

/// `GET url` as a browser sends it: gzip accepted. reqwest is built
/// without its decompression features, so the body stays as sent and its
/// length is the transferred size.
pub async fn get_gzip(http: &reqwest::Client, url: &str) -> Result<Fetched, String> {
    let started = Instant::now();
    let resp = http
        .get(url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let gzip = header("content-encoding").is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let etag = header("etag");
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: reading the body: {e}"))?
        .to_vec();
    Ok(Fetched {
        status,
        body,
        gzip,
        etag,
        elapsed: started.elapsed(),
    })
}

/// [`get_gzip`], and anything but 200 is an error.
pub async fn get_ok(http: &reqwest::Client, url: &str) -> Result<Fetched, String> {
    let f = get_gzip(http, url).await?;
    if f.status != 200 {
        let text = f
            .json()
            .map(|v| v.to_string())
            .unwrap_or_else(|_| String::from_utf8_lossy(&f.body).into_owned());
        return Err(format!("GET {url}: HTTP {}: {text:.300}", f.status));
    }
    Ok(f)
}

pub fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .tcp_nodelay(true)
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// The endpoints the ready banner names.
#[derive(Debug, Default)]
struct Banner {
    api: String,
    chain: String,
    dynamodb: String,
    invoke: String,
}

fn wait_for_banner(
    rx: &mpsc::Receiver<String>,
    log: &Mutex<VecDeque<String>>,
) -> Result<Banner, String> {
    let mut b = Banner::default();
    let deadline = Instant::now() + READY_TIMEOUT;
    while b.api.is_empty() || b.chain.is_empty() || b.dynamodb.is_empty() || b.invoke.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).map_err(|_| {
            let log = log.lock().unwrap_or_else(|e| e.into_inner());
            format!(
                "local-stack was not ready within {} s (or exited):\n{}",
                READY_TIMEOUT.as_secs(),
                log.iter().cloned().collect::<Vec<_>>().join("\n")
            )
        })?;
        let slot = if line.starts_with("Local stack ready: ") {
            &mut b.api
        } else if line.starts_with("Chain") {
            &mut b.chain
        } else if line.starts_with("DynamoDB Local: ") {
            &mut b.dynamodb
        } else if line.starts_with("Lambda Invoke API: ") {
            &mut b.invoke
        } else {
            continue;
        };
        *slot = first_url(&line).ok_or_else(|| format!("no URL in the banner line {line:?}"))?;
    }
    Ok(b)
}

impl Stack {
    /// Starts the stack and waits for its ready banner (blocking: call it
    /// from `spawn_blocking`).
    pub fn start(spec: &StackSpec) -> Result<Stack, String> {
        let exe = spec.bin_dir.join("local-stack");
        let mut cmd = Command::new(&exe);
        cmd.arg("--bin-dir")
            .arg(&spec.bin_dir)
            .arg("--template")
            .arg(&spec.template)
            .current_dir(&spec.root)
            .env("API_PORT", "0")
            .env("SIM_PARTICIPANTS", spec.participants.to_string())
            .env("SIM_LATENCY_MS", spec.latency_ms.to_string())
            .env("LAMBDA_INSTANCES", spec.instances.to_string())
            .env("WARMER_INSTANCES", "1")
            // Access lines and info logs would cost CPU the figures share.
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1");
        // The stack's defaults, not whatever the developer's shell has.
        for var in [
            "CHAIN_API_URLS",
            "PARAMETER_OVERRIDES",
            "DYNAMODB_PORT",
            "INVOKE_PORT",
            "SIM_PORT",
            "SIM_CURRENT_EPOCH",
            "SIM_SEED",
            "LOCAL_STACK_BIN_DIR",
            "TEMPLATE_FILE",
            "AWS_LAMBDA_LOG_LEVEL",
            "AWS_LAMBDA_LOG_FORMAT",
        ] {
            cmd.env_remove(var);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", exe.display()))?;
        let pgid = i32::try_from(child.id()).map_err(|_| "a pid out of range")?;
        cleanup::register(pgid);

        // Both streams are drained for the whole run (a full pipe would
        // block the stack); stdout lines also go to the ready check.
        let log = Arc::new(Mutex::new(VecDeque::with_capacity(LOG_LINES)));
        let (tx, rx) = mpsc::channel::<String>();
        let reader = |stream: Box<dyn Read + Send>, tx: Option<mpsc::Sender<String>>| {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    {
                        let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                        if log.len() == LOG_LINES {
                            log.pop_front();
                        }
                        log.push_back(line.clone());
                    }
                    if let Some(tx) = &tx {
                        let _ = tx.send(line);
                    }
                }
            });
        };
        if let Some(out) = child.stdout.take() {
            reader(Box::new(out), Some(tx));
        }
        if let Some(err) = child.stderr.take() {
            reader(Box::new(err), None);
        }

        let banner = wait_for_banner(&rx, &log);
        let banner = match banner {
            Ok(b) => b,
            Err(e) => {
                kill_group(pgid);
                let _ = child.wait();
                cleanup::unregister(pgid);
                return Err(e);
            }
        };
        let table = DynamoTable::new(
            local_stack::dynamodb::client(&banner.dynamodb, false),
            spec.table_name.clone(),
        );
        Ok(Stack {
            child,
            pgid,
            log,
            api: banner.api,
            chain: banner.chain,
            dynamodb: banner.dynamodb,
            invoke: banner.invoke,
            current_epoch: 0,
            participants: spec.participants,
            http: http_client()?,
            table,
            stopped: false,
        })
    }

    /// The last `lines` lines the stack printed.
    pub fn recent_output(&self, lines: usize) -> String {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let skip = log.len().saturating_sub(lines);
        log.iter()
            .skip(skip)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// SIGTERM (the stack stops its parts in order), then SIGKILL to the
    /// group if it takes too long.
    pub async fn stop(mut self) {
        // SAFETY: kill(2) of our own child.
        unsafe {
            libc::kill(self.pgid, libc::SIGTERM);
        }
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Whatever is left of the group (nothing, normally) goes now.
        kill_group(self.pgid);
        let _ = self.child.wait();
        cleanup::unregister(self.pgid);
        self.stopped = true;
    }

    /// Reads the simulator's settings (`GET /__config`): the current epoch.
    pub async fn load_chain_config(&mut self) -> Result<(), String> {
        let url = format!("{}/__config", self.chain);
        let cfg: Value = self.get_json(&url).await?;
        self.current_epoch = cfg["current_epoch"]
            .as_u64()
            .ok_or_else(|| format!("GET {url}: no current_epoch in {cfg}"))?;
        Ok(())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api)
    }

    pub async fn chain_stats(&self) -> Result<ChainStats, String> {
        self.get_json(&format!("{}/__stats", self.chain)).await
    }

    /// A control endpoint's JSON (reqwest is built without its `json`).
    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let body = self
            .http
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("GET {url}: {e}"))?
            .bytes()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        serde_json::from_slice(&body).map_err(|e| format!("GET {url}: {e}"))
    }

    pub async fn reset_chain_stats(&self) -> Result<(), String> {
        let url = format!("{}/__stats/reset", self.chain);
        self.http
            .post(&url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map(|_| ())
            .map_err(|e| format!("POST {url}: {e}"))
    }

    /// Invokes the warmer synchronously (RequestResponse) through the
    /// stack's Invoke endpoint and returns its report and the wall time.
    pub async fn invoke_warmer(&self, payload: &Value) -> Result<(WarmReport, Duration), String> {
        let url = format!("{}/2015-03-31/functions/warmer/invocations", self.invoke);
        let started = Instant::now();
        let resp = self
            .http
            .post(&url)
            .timeout(Duration::from_secs(1_000))
            .body(payload.to_string())
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let failed = resp.headers().contains_key("x-amz-function-error");
        let body = resp.bytes().await.map_err(|e| format!("POST {url}: {e}"))?;
        let body: Value =
            serde_json::from_slice(&body).map_err(|e| format!("POST {url}: not JSON: {e}"))?;
        let wall = started.elapsed();
        if failed || body["status"] != "done" {
            return Err(format!("the warmer failed: {body:.500}"));
        }
        let report = serde_json::from_value(body["report"].clone())
            .map_err(|e| format!("the warmer's report: {e}: {body:.500}"))?;
        Ok((report, wall))
    }

    /// The functions' table adapter, pointed at this stack's DynamoDB Local.
    pub fn table(&self) -> &DynamoTable {
        &self.table
    }

    /// Claims the warm guard of each epoch for an hour, as if a request had
    /// just triggered the warmer: epoch-stats requests for those epochs
    /// then do their guard write and skip the trigger, so no background
    /// warm runs while a figure is measured (the warm is measured on its
    /// own, in figure 3).
    pub async fn hold_warm_guards(&self, epochs: &[u64]) -> Result<(), String> {
        let now = chrono::Utc::now().timestamp_millis();
        for &epoch in epochs.iter().filter(|e| **e >= 1) {
            self.table
                .claim_warm_guard(epoch, now, 3_600_000)
                .await
                .map_err(|e| format!("claiming the warm guard of epoch {epoch}: {e}"))?;
        }
        Ok(())
    }

    /// The stack's function processes (its children named after a
    /// function), from `/proc`.
    pub fn function_processes(&self) -> Vec<(String, i32)> {
        let parent = self.pgid;
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        let mut found: Vec<(String, i32)> = dir
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter_map(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                let (name, ppid) = parse_stat(&stat)?;
                (ppid == parent && FUNCTIONS.contains(&name.as_str())).then_some((name, pid))
            })
            .collect();
        found.sort();
        found
    }
}

/// `comm` and parent pid from `/proc/PID/stat` (`pid (comm) state ppid ...`;
/// `comm` may itself hold spaces and parentheses).
pub fn parse_stat(stat: &str) -> Option<(String, i32)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_string();
    let mut rest = stat.get(close + 1..)?.split_whitespace();
    let _state = rest.next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((name, ppid))
}

/// A `kB` line of `/proc/PID/status`, in KiB.
fn status_kib(pid: i32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Peak resident set size (`VmHWM`) of a process, in KiB.
pub fn peak_rss_kib(pid: i32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

/// Resident set size now (`VmRSS`), in KiB.
pub fn rss_kib(pid: i32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// The warmer's report (`shared::service::warm::WarmReport`), the fields
/// the figures use.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WarmReport {
    pub participants: u64,
    pub items_checked: u64,
    pub present: u64,
    pub fetched: u64,
    pub written: u64,
    pub lost_races: u64,
    pub failures: std::collections::BTreeMap<String, u64>,
    pub left_for_next_run: u64,
    pub upstream_calls: u64,
    pub dynamodb_requests: u64,
    pub dynamodb_read_units: f64,
    pub dynamodb_write_units: f64,
    pub duration_ms: u64,
}

impl WarmReport {
    /// Failures and items left for a later run, if any.
    pub fn problems(&self) -> Option<String> {
        let failed: u64 = self.failures.values().sum();
        (failed > 0 || self.left_for_next_run > 0).then(|| {
            format!(
                "{failed} failures {:?}, {} left for the next run",
                self.failures, self.left_for_next_run
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_stat_lines() {
        assert_eq!(
            parse_stat("4242 (epoch-stats) S 4200 4200 4200 0 -1"),
            Some(("epoch-stats".to_string(), 4200))
        );
        assert_eq!(
            parse_stat("7 (a (weird) name) R 1 7 7"),
            Some(("a (weird) name".to_string(), 1))
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn finds_banner_urls() {
        assert_eq!(
            first_url("Local stack ready: http://127.0.0.1:4000").as_deref(),
            Some("http://127.0.0.1:4000")
        );
        assert_eq!(
            first_url("DynamoDB Local: http://127.0.0.1:8000  (tables: x)").as_deref(),
            Some("http://127.0.0.1:8000")
        );
        assert_eq!(first_url("no url"), None);
    }
}
