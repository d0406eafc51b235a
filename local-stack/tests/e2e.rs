//! End to end: this crate's `local-stack` binary with the workspace's
//! (debug) function binaries, DynamoDB Local and the simulated chain,
//! driven over real HTTP along the dashboard's path: the epoch switch, the
//! background warm-up through the Invoke API, then every participant's
//! modal served from the table without one upstream call.
//!
//! Needs the function binaries next to the test's local-stack in
//! target/debug: `cargo build --workspace` (or `cargo test --workspace`)
//! builds them; `cargo test -p local-stack` alone does not.

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use local_stack::launcher::{Launcher, LocalStack};
use serde_json::Value;

const FUNCTIONS: [&str; 5] = [
    "epoch-stats",
    "warmer",
    "participant",
    "scheduler",
    "network",
];
const PARTICIPANTS: &str = "60";
const READY_TIMEOUT: Duration = Duration::from_secs(90);
const WARM_TIMEOUT: Duration = Duration::from_secs(60);

/// The stack, through the crate's launcher: its own process group (killed
/// when the stack is dropped, so a failing test leaves nothing behind), the
/// options' variables cleared, and its output printed if the test fails.
fn start_stack(schedule_every_secs: &str, params: &[&str]) -> LocalStack {
    let exe = Path::new(env!("CARGO_BIN_EXE_local-stack"));
    let bin_dir = exe.parent().expect("the test binary has a folder");
    for f in FUNCTIONS {
        assert!(
            bin_dir.join(f).is_file(),
            "{} is missing: run `cargo build --workspace` first (cargo test -p local-stack builds only local-stack)",
            bin_dir.join(f).display()
        );
    }
    let mut launcher = Launcher::new(exe);
    for param in params {
        launcher = launcher.arg("--param").arg(*param);
    }
    launcher
        .bin_dir(bin_dir)
        .template(Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml"))
        .env("API_PORT", "0")
        .env("SIM_PARTICIPANTS", PARTICIPANTS)
        .env("SCHEDULE_EVERY_SECS", schedule_every_secs)
        .env("RUST_LOG", "warn")
        .ready_timeout(READY_TIMEOUT)
        .echo_on_panic(true)
        .start()
        .unwrap_or_else(|e| panic!("{e}"))
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
    // No schedules: this is the path of a dashboard user alone (the
    // scheduled jobs would add chain calls of their own).
    let mut stack = tokio::task::spawn_blocking(|| start_stack("0", &[]))
        .await
        .expect("start-up");
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(40))
        .build()
        .expect("an HTTP client");
    let (api, chain) = (stack.api().to_string(), stack.chain().to_string());

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
    let meter = stack.meter().to_string();
    let reset = http
        .post(format!("{meter}/__meter/reset"))
        .send()
        .await
        .expect("meter reset");
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
    // The meter saw each modal's invocation and its table reads (through
    // its proxy: the functions' DynamoDB endpoint), and nothing else ran.
    let (_, metered) = get_json(&http, &format!("{meter}/__meter")).await;
    let participant = &metered["functions"]["participant"];
    assert_eq!(participant["invocations"], indices.len(), "{metered}");
    assert_eq!(participant["memory_mb"], 256, "{metered}");
    assert!(participant["billed_ms"].as_u64() >= participant["invocations"].as_u64());
    for other in ["epoch-stats", "warmer", "scheduler", "network"] {
        assert_eq!(metered["functions"][other]["invocations"], 0, "{metered}");
    }
    assert_eq!(
        participant["busy"], 0,
        "every modal was answered: {metered}"
    );
    let table = metered["table"].as_object().expect("per operation");
    let requests: u64 = table.values().filter_map(|o| o["requests"].as_u64()).sum();
    let read_units: f64 = table
        .values()
        .filter_map(|o| o["read_units"].as_f64())
        .sum();
    assert!(requests >= indices.len() as u64, "{metered}");
    assert!(read_units > 0.0, "{metered}");
    let not_asked: u64 = table.values().filter_map(|o| o["not_asked"].as_u64()).sum();
    assert_eq!(
        not_asked, 0,
        "every table request asks for its capacity: {metered}"
    );

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

    // 5. The network function's routes through the front: nothing stored
    // yet (no scheduled function here), so each reads the chain once and
    // then answers from the table.
    let (status, timeline) = get_json(&http, &format!("{api}/v1/timeline")).await;
    assert_eq!(status, 200, "{timeline}");
    assert_eq!(timeline["current_epoch_index"], epoch);
    let head = timeline["current_block"]["timestamp"]
        .as_str()
        .expect("a time");
    let head = chrono::DateTime::parse_from_rfc3339(head).expect("RFC 3339");
    let skew = (chrono::Utc::now().timestamp() - head.timestamp()).abs();
    assert!(skew < 120, "the simulated head is about now: {timeline}");
    let (status, models) = get_json(&http, &format!("{api}/v1/models/current")).await;
    assert_eq!(
        (status, models["epoch_id"].as_u64()),
        (200, Some(epoch)),
        "{models}"
    );
    let (status, past) = get_json(&http, &format!("{api}/v1/models/epochs/{}", epoch - 1)).await;
    assert_eq!(
        (status, past["is_current"].as_bool()),
        (200, Some(false)),
        "{past}"
    );
    http.post(format!("{chain}/__stats/reset"))
        .send()
        .await
        .expect("reset");
    for path in ["/v1/timeline", "/v1/models/current"] {
        let (status, _) = get_json(&http, &format!("{api}{path}")).await;
        assert_eq!(status, 200, "{path}");
    }
    let (_, stats) = get_json(&http, &format!("{chain}/__stats")).await;
    assert_eq!(
        stats["total"], 0,
        "stored answers reached the chain: {stats}"
    );

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
            stack.invoke()
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

    // 6. SIGTERM stops everything: the stack exits 0 and nothing of its
    // process group (functions, Java) is left.
    stack.terminate();
    let status = stack
        .wait_timeout(Duration::from_secs(20))
        .expect("local-stack ignored SIGTERM");
    assert!(status.success(), "exit status {status}");
    assert!(
        stack.wait_group_gone(Duration::from_secs(5)),
        "processes of the stack are still running after it exited"
    );
    let log = stack.output(usize::MAX);
    assert!(log.contains("stopped"), "{log}");
}

/// `(epoch_id, cached_at)` of `/v1/inference/current`.
async fn current(http: &reqwest::Client, api: &str) -> (u64, String) {
    let (status, body) = get_json(http, &format!("{api}/v1/inference/current")).await;
    assert_eq!(status, 200, "{body}");
    (
        body["epoch_id"].as_u64().expect("epoch_id"),
        body["cached_at"].as_str().expect("cached_at").to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_jobs_run_as_eventbridge_would() {
    // Every schedule every 2 s; answers kept 1 s, so each request rereads
    // the table (and never rebuilds itself: the rebuild window is 150 s).
    let stack = tokio::task::spawn_blocking(|| start_stack("2", &["CurrentEpochFreshnessSecs=1"]))
        .await
        .expect("start-up");
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(40))
        .build()
        .expect("an HTTP client");
    let (api, chain) = (stack.api().to_string(), stack.chain().to_string());

    // The table's copy moves on with no request rebuilding it.
    let (epoch, first) = current(&http, &api).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (e, cached_at) = current(&http, &api).await;
        if e == epoch && cached_at > first {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the current epoch was not refreshed: {cached_at}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Within a few periods every other job has filled its items: every
    // current participant's jail and health fields, the timeline and
    // models, and the inference scan's records.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, body) = get_json(&http, &format!("{api}/v1/inference/current")).await;
        let rows = body["participants"].as_array().cloned().unwrap_or_default();
        let health_filled =
            !rows.is_empty() && rows.iter().all(|r| r["node_health_checked_at"].is_string());
        let jail_filled = rows.iter().any(|r| r["is_jailed"].is_boolean());
        let first = rows
            .first()
            .and_then(|r| r["index"].as_str())
            .unwrap_or_default();
        let (_, inferences) = get_json(
            &http,
            &format!("{api}/v1/participants/{first}/inferences?epoch_id={epoch}"),
        )
        .await;
        let (timeline, _) = get_json(&http, &format!("{api}/v1/timeline")).await;
        let (models, _) = get_json(&http, &format!("{api}/v1/models/current")).await;
        if health_filled
            && jail_filled
            && inferences["cached_at"].is_string()
            && (timeline, models) == (200, 200)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the scheduled jobs did not fill the items: health {health_filled}, jail {jail_filled}, \
             inferences {}, timeline {timeline}, models {models}",
            inferences["cached_at"]
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // A new epoch on the chain: the schedule notices it and warms it (the
    // warmer fetches every participant's hardware for the new epoch).
    let hardware_fetches = |stats: &Value| stats["by_kind"]["hardware"].as_u64().unwrap_or(0);
    let (_, before) = get_json(&http, &format!("{chain}/__stats")).await;
    let next = epoch + 1;
    let resp = http
        .post(format!("{chain}/__config"))
        .body(format!(r#"{{"current_epoch": {next}}}"#))
        .send()
        .await
        .expect("the simulator's config");
    assert!(resp.status().is_success());
    let deadline = Instant::now() + WARM_TIMEOUT;
    loop {
        let (_, stats) = get_json(&http, &format!("{chain}/__stats")).await;
        let (e, _) = current(&http, &api).await;
        if e == next && hardware_fetches(&stats) > hardware_fetches(&before) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "epoch {next} was not picked up and warmed (current {e}): {}",
            stats["by_kind"]
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
