//! Lambda's and API Gateway's limits, through the whole local stack with
//! the template's real settings (timeouts, the 6 MB response payload):
//! every answer is a JSON one, never the body-less error API Gateway sends
//! when a function fails or runs out of time.
//!
//! Needs the function binaries next to the test's local-stack (see e2e.rs).

use std::path::Path;
use std::time::{Duration, Instant};

use local_stack::launcher::{Launcher, LocalStack};
use serde_json::Value;

/// The template's Timeout of the API functions.
const API_TIMEOUT: Duration = Duration::from_secs(29);

fn start_stack(participants: usize) -> LocalStack {
    let exe = Path::new(env!("CARGO_BIN_EXE_local-stack"));
    let bin_dir = exe.parent().expect("the test binary has a folder");
    for f in ["epoch-stats", "warmer", "participant"] {
        assert!(
            bin_dir.join(f).is_file(),
            "{} is missing: run `cargo build --workspace` first",
            bin_dir.join(f).display()
        );
    }
    Launcher::new(exe)
        .bin_dir(bin_dir)
        .template(Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml"))
        .env("API_PORT", "0")
        .env("SIM_PARTICIPANTS", participants.to_string())
        // No scheduled refresh: these requests must reach the chain.
        .env("SCHEDULE_EVERY_SECS", "0")
        .env("RUST_LOG", "warn")
        .ready_timeout(Duration::from_secs(120))
        .echo_on_panic(true)
        .start()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn client() -> reqwest::Client {
    // No `gzip` feature: reqwest sends no Accept-Encoding.
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client")
}

async fn get(http: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> (u16, Vec<u8>) {
    let mut req = http.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect(url);
    let status = resp.status().as_u16();
    (status, resp.bytes().await.expect("a body").to_vec())
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_participants_without_gzip_get_a_json_406_not_a_bare_error() {
    let stack = tokio::task::spawn_blocking(|| start_stack(10_000))
        .await
        .expect("start-up");
    let http = client();
    let url = format!("{}/v1/inference/current", stack.api());
    let (status, body) = get(&http, &url, &[]).await;
    assert_eq!(
        status,
        406,
        "{}",
        String::from_utf8_lossy(&body[..body.len().min(300)])
    );
    let detail = json(&body)["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(detail.contains("Accept-Encoding: gzip"), "{detail}");
    let (status, body) = get(&http, &url, &[("accept-encoding", "gzip")]).await;
    assert_eq!(status, 200);
    assert!(body.len() < 6_000_000, "{} gzipped bytes", body.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_that_never_answers_gets_a_json_504_inside_the_timeout() {
    let stack = tokio::task::spawn_blocking(|| start_stack(20))
        .await
        .expect("start-up");
    let http = client();
    // Every chain request now waits two minutes.
    let resp = http
        .post(format!("{}/__config", stack.chain()))
        .body(r#"{"latency_ms": 120000}"#)
        .send()
        .await
        .expect("the simulator's config");
    assert!(resp.status().is_success());
    let started = Instant::now();
    let (status, body) = get(&http, &format!("{}/v1/inference/current", stack.api()), &[]).await;
    let took = started.elapsed();
    assert_eq!(status, 504, "{}", String::from_utf8_lossy(&body));
    // The per-call timeouts (CHAIN_TIMEOUT_MS x CHAIN_RETRY_ROUNDS) or, with
    // more URLs or slower stages, the invocation's deadline end it.
    let detail = json(&body)["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        detail == "Failed to fetch current epoch stats: the chain node timed out"
            || detail == "The chain node did not answer in time, please retry",
        "{detail}"
    );
    assert!(took < API_TIMEOUT, "answered after {took:?}");
}
