//! End to end: this crate's `local-stack` binary with the workspace's
//! (debug) function binaries, DynamoDB Local and the simulated chain,
//! driven over real HTTP along the dashboard's path: the epoch switch, the
//! background warm-up through the Invoke API, then every participant's
//! modal served from the table without one upstream call.
//!
//! Needs the function binaries next to the test's local-stack in
//! target/debug: `cargo build --workspace` (or `cargo test --workspace`)
//! builds them; `cargo test -p local-stack` alone does not.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const FUNCTIONS: [&str; 3] = ["epoch-stats", "warmer", "participant"];
const PARTICIPANTS: &str = "60";
const READY_TIMEOUT: Duration = Duration::from_secs(90);
const WARM_TIMEOUT: Duration = Duration::from_secs(60);

/// The running stack. Dropping it kills its whole process group (the
/// functions and Java are in it), so a failing test leaves nothing behind,
/// and prints what the stack logged.
struct Stack {
    child: Child,
    pgid: i32,
    log: Arc<Mutex<Vec<String>>>,
    api: String,
    chain: String,
    invoke: String,
    /// Set once the group is known to be gone (no kill of a reused id).
    gone: bool,
}

impl Drop for Stack {
    fn drop(&mut self) {
        if !self.gone {
            // SAFETY: a plain kill(2) of our own child's process group.
            unsafe {
                libc::kill(-self.pgid, libc::SIGKILL);
            }
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
            eprintln!("---- local-stack output ----\n{}", log.join(""));
        }
    }
}

fn first_url(line: &str) -> Option<String> {
    let start = line.find("http://")?;
    let url = line[start..].split_whitespace().next()?;
    Some(url.to_string())
}

fn start_stack() -> Stack {
    let exe = Path::new(env!("CARGO_BIN_EXE_local-stack"));
    let bin_dir = exe.parent().expect("the test binary has a folder");
    for f in FUNCTIONS {
        assert!(
            bin_dir.join(f).is_file(),
            "{} is missing: run `cargo build --workspace` first (cargo test -p local-stack builds only local-stack)",
            bin_dir.join(f).display()
        );
    }
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let mut cmd = Command::new(exe);
    cmd.arg("--bin-dir")
        .arg(bin_dir)
        .arg("--template")
        .arg(&template)
        .env("API_PORT", "0")
        .env("SIM_PARTICIPANTS", PARTICIPANTS)
        .env("RUST_LOG", "warn");
    for var in [
        "CHAIN_API_URLS",
        "PARAMETER_OVERRIDES",
        "DYNAMODB_PORT",
        "INVOKE_PORT",
        "SIM_PORT",
        "SIM_CURRENT_EPOCH",
        "SIM_LATENCY_MS",
        "SIM_SEED",
        "LAMBDA_INSTANCES",
        "WARMER_INSTANCES",
    ] {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().expect("start local-stack");
    let pgid = i32::try_from(child.id()).expect("a pid");

    // Both streams are drained for the whole run (a full pipe would block
    // the stack); stdout lines also go to the ready check.
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel::<String>();
    let spawn_reader = |stream: Box<dyn Read + Send>, tx: Option<mpsc::Sender<String>>| {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                log.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(format!("{line}\n"));
                if let Some(tx) = &tx {
                    let _ = tx.send(line);
                }
            }
        });
    };
    spawn_reader(Box::new(child.stdout.take().expect("stdout")), Some(tx));
    spawn_reader(Box::new(child.stderr.take().expect("stderr")), None);

    let mut stack = Stack {
        child,
        pgid,
        log,
        api: String::new(),
        chain: String::new(),
        invoke: String::new(),
        gone: false,
    };
    let deadline = Instant::now() + READY_TIMEOUT;
    while stack.api.is_empty() || stack.chain.is_empty() || stack.invoke.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match rx.recv_timeout(left) {
            Ok(line) => line,
            Err(e) => panic!("local-stack not ready ({e:?})"),
        };
        let url = first_url(&line);
        if line.starts_with("Local stack ready: ") {
            stack.api = url.expect("the ready line has the URL");
        } else if line.starts_with("Chain") {
            stack.chain = url.expect("the chain line has the URL");
        } else if line.starts_with("Lambda Invoke API: ") {
            stack.invoke = url.expect("the invoke line has the URL");
        }
    }
    stack
}

async fn get_json(http: &reqwest::Client, url: &str) -> (u16, Value) {
    let resp = http.get(url).send().await.expect(url);
    let status = resp.status().as_u16();
    let body = resp.bytes().await.expect("a body");
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, json)
}

/// Distinct participants whose hardware the chain was asked for.
fn hardware_fetched(stats: &Value) -> usize {
    stats["by_key"].as_object().map_or(0, |m| {
        m.keys().filter(|k| k.starts_with("hardware:")).count()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_path_over_real_http() {
    let mut stack = tokio::task::spawn_blocking(start_stack)
        .await
        .expect("start-up");
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(40))
        .build()
        .expect("an HTTP client");
    let (api, chain) = (stack.api.clone(), stack.chain.clone());

    // 1. The epoch switch: one request.
    let (status, current) = get_json(&http, &format!("{api}/v1/inference/current")).await;
    assert_eq!(status, 200, "{current}");
    let epoch = current["epoch_id"].as_u64().expect("epoch_id");
    let indices: Vec<String> = current["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .map(|p| p["index"].as_str().expect("index").to_string())
        .collect();
    assert!(!indices.is_empty(), "{current}");

    // 2. epoch-stats triggered the warmer (Invoke API, Event) and answered
    // without waiting for it; wait until the chain stops being asked.
    let deadline = Instant::now() + WARM_TIMEOUT;
    let (mut last_total, mut stable_since) = (None, Instant::now());
    loop {
        let (_, stats) = get_json(&http, &format!("{chain}/__stats")).await;
        let total = stats["total"].as_u64();
        if total != last_total {
            (last_total, stable_since) = (total, Instant::now());
        } else if hardware_fetched(&stats) >= indices.len()
            && stable_since.elapsed() >= Duration::from_millis(1500)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the warmer did not finish within {WARM_TIMEOUT:?}: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // 3. Every modal from the table: no upstream call at all.
    let reset = http
        .post(format!("{chain}/__stats/reset"))
        .send()
        .await
        .expect("stats reset");
    assert!(reset.status().is_success());
    for chunk in indices.chunks(8) {
        let mut set = tokio::task::JoinSet::new();
        for index in chunk {
            let (http, url, index) = (
                http.clone(),
                format!("{api}/v1/participants/{index}?epoch_id={epoch}"),
                index.clone(),
            );
            set.spawn(async move {
                let (status, body) = get_json(&http, &url).await;
                assert_eq!(status, 200, "{url}: {body}");
                assert_eq!(body["participant"]["index"], index.as_str(), "{url}");
            });
        }
        while let Some(done) = set.join_next().await {
            done.expect("a modal request");
        }
    }
    let (_, stats) = get_json(&http, &format!("{chain}/__stats")).await;
    assert_eq!(stats["total"], 0, "modals reached the chain: {stats}");

    // 4. Response details through the API Gateway front.
    let gz = http
        .get(format!("{api}/v1/inference/current"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("gzip request");
    assert_eq!(gz.status(), 200);
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let mut json = String::new();
    flate2::read::GzDecoder::new(&gz.bytes().await.expect("gzip body")[..])
        .read_to_string(&mut json)
        .expect("a gzip body");
    let decoded: Value = serde_json::from_str(&json).expect("JSON inside the gzip");
    assert_eq!(decoded["epoch_id"], epoch);

    let (status, body) = get_json(&http, &format!("{api}/v1/nope")).await;
    assert_eq!(
        (status, body),
        (404, serde_json::json!({"message": "Not Found"}))
    );

    let (status, body) = get_json(&http, &format!("{api}/v1/inference/epochs/abc")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].is_string(), "{body}");

    let preflight = http
        .request(
            reqwest::Method::OPTIONS,
            format!("{api}/v1/inference/current"),
        )
        .header("origin", "https://tracker.example.com")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");

    let missing = http
        .post(format!(
            "{}/2015-03-31/functions/nope/invocations",
            stack.invoke
        ))
        .header("x-amz-invocation-type", "Event")
        .body("{}")
        .send()
        .await
        .expect("invoke");
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["x-amzn-errortype"],
        "ResourceNotFoundException"
    );

    // 5. SIGTERM stops everything: the stack exits 0 and nothing of its
    // process group (functions, Java) is left.
    // SAFETY: a plain kill(2) of our own child.
    unsafe {
        libc::kill(stack.pgid, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = stack.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "local-stack ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "exit status {status}");
    let deadline = Instant::now() + Duration::from_secs(5);
    // SAFETY: signal 0 only checks whether the group still has members.
    while unsafe { libc::kill(-stack.pgid, 0) } == 0 {
        assert!(
            Instant::now() < deadline,
            "processes of the stack are still running after it exited"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    stack.gone = true;
    let log = stack.log.lock().map(|l| l.join("")).unwrap_or_default();
    assert!(log.contains("stopped"), "{log}");
}
