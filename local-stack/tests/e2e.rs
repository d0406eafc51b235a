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

const FUNCTIONS: [&str; 4] = ["epoch-stats", "warmer", "participant", "network"];
const PARTICIPANTS: &str = "60";
const READY_TIMEOUT: Duration = Duration::from_secs(90);
const WARM_TIMEOUT: Duration = Duration::from_secs(60);

/// The stack, through the crate's launcher: its own process group (killed
/// when the stack is dropped, so a failing test leaves nothing behind), the
/// options' variables cleared, and its output printed if the test fails.
fn start_stack() -> LocalStack {
    let exe = Path::new(env!("CARGO_BIN_EXE_local-stack"));
    let bin_dir = exe.parent().expect("the test binary has a folder");
    for f in FUNCTIONS {
        assert!(
            bin_dir.join(f).is_file(),
            "{} is missing: run `cargo build --workspace` first (cargo test -p local-stack builds only local-stack)",
            bin_dir.join(f).display()
        );
    }
    Launcher::new(exe)
        .bin_dir(bin_dir)
        .template(Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml"))
        .env("API_PORT", "0")
        .env("SIM_PARTICIPANTS", PARTICIPANTS)
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
    let mut stack = tokio::task::spawn_blocking(start_stack)
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
