//! The knobs: request counters, injected faults, latency, a large
//! universe, the binary's start and stop, and changes on request.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_every_chain_request() {
    let chain = start(10).await;
    let url = chain.url();
    let model = chain.model();
    let addr = model.all_participants()[0].clone();

    get(&url, "/v1/epochs/latest").await;
    get(&url, "/v1/epochs/current/participants").await;
    get(&url, "/v1/epochs/56/participants").await;
    get(&url, "/v1/epochs/56/participants").await;
    get(&url, "/chain-rpc/status").await;
    get(&url, "/chain-rpc/block?height=887700").await;
    get_with(
        &url,
        &format!("{INFERENCE}/participant?pagination.limit=10000"),
        &[("X-Cosmos-Block-Height", "887711")],
    )
    .await;
    get(
        &url,
        &format!("{INFERENCE}/epoch_performance_summary/56/{addr}"),
    )
    .await;
    get(
        &url,
        &grants_path(&addr, "pagination.limit=100&pagination.offset=0"),
    )
    .await;
    get(
        &url,
        &grants_path(&addr, "pagination.limit=100&pagination.offset=100"),
    )
    .await;
    get(&url, &format!("{INFERENCE}/hardware_nodes/{addr}")).await;
    get_raw(&url, "/v1/inference/../../etc/passwd").await;
    get(&url, "/evil").await;
    get(&url, "/__health").await;
    get(&url, "/__config").await;

    let s = chain.stats();
    assert_eq!(s.total, 13, "{s:?}");
    assert_eq!(s.kind("epoch_participants"), 3);
    assert_eq!(s.kind("authz"), 2);
    assert_eq!(s.kind("unknown"), 2);
    assert_eq!(s.key("latest"), 1);
    assert_eq!(s.key("status"), 1);
    assert_eq!(s.key("epoch_participants:current"), 1);
    assert_eq!(s.key("epoch_participants:56"), 2);
    assert_eq!(s.key("block:887700"), 1);
    assert_eq!(s.key("participant_list:887711"), 1);
    assert_eq!(s.key(&format!("summary:56:{addr}")), 1);
    assert_eq!(s.key(&format!("authz:{addr}")), 2);
    assert_eq!(s.key(&format!("hardware:{addr}")), 1);
    assert_eq!(s.key("unknown:/evil"), 1);
    assert_eq!(s.keys_with_prefix("unknown:"), 2);
    assert_eq!(s.failures_injected, 0);

    let over_http: sim_chain::Stats =
        serde_json::from_value(get(&url, "/__stats").await.json()).unwrap();
    assert_eq!(over_http, s);
    assert_eq!(post(&url, "/__stats/reset", "").await.status, 200);
    assert_eq!(chain.stats().total, 0);
    let unknown = get(&url, "/nope").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["code"], 12);
    chain.reset_stats();
    assert_eq!(chain.stats(), sim_chain::Stats::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_injected_at_the_configured_rate() {
    let chain = start(10).await;
    let url = chain.url();
    let addr = chain.model().participants_in_epoch(55).remove(0);
    let summary = format!("{INFERENCE}/epoch_performance_summary/55/{addr}");

    chain.set_fault(
        EndpointKind::Summary,
        Some(Fault::new(0.3, FaultMode::Status503)),
    );
    let mut failed = 0;
    for _ in 0..200 {
        match get(&url, &summary).await.status {
            503 => failed += 1,
            200 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert!((35..=85).contains(&failed), "{failed} of 200 at rate 0.3");
    assert_eq!(chain.stats().failures_injected, failed);
    assert_eq!(
        chain.stats().kind("summary"),
        200,
        "faulted requests are counted too"
    );
    // Other kinds are unaffected.
    assert_eq!(get(&url, "/chain-rpc/status").await.status, 200);

    let normal = {
        chain.set_fault(EndpointKind::Summary, None);
        get(&url, &summary).await
    };
    assert_eq!(normal.status, 200);

    chain.set_fault(
        EndpointKind::Summary,
        Some(Fault::new(1.0, FaultMode::Status500)),
    );
    assert_eq!(get(&url, &summary).await.status, 500);

    chain.set_fault(
        EndpointKind::Summary,
        Some(Fault::new(1.0, FaultMode::Truncated)),
    );
    let r = get(&url, &summary).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), normal.body.len() / 2);
    assert_eq!(&r.body[..], &normal.body[..r.body.len()]);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());

    chain.set_fault(
        EndpointKind::Summary,
        Some(Fault::new(1.0, FaultMode::WrongShape)),
    );
    let r = get(&url, &summary).await;
    assert_eq!(
        (r.status, r.json()),
        (200, serde_json::json!({"unexpected": true}))
    );

    chain.set_fault(
        EndpointKind::Summary,
        Some(Fault::new(1.0, FaultMode::Hang(Duration::from_millis(150)))),
    );
    let t = Instant::now();
    let r = get(&url, &summary).await;
    assert!(t.elapsed() >= Duration::from_millis(150));
    assert_eq!((r.status, &r.body), (200, &normal.body));

    // Over HTTP: set and clear.
    let cfg = post(
        &url,
        "/__config",
        r#"{"faults":{"summary":{"rate":1,"mode":"503"},"authz":{"rate":0.5,"mode":"hang:10"}}}"#,
    )
    .await
    .json();
    assert_eq!(
        cfg["faults"]["summary"],
        serde_json::json!({"rate": 1.0, "mode": "503"})
    );
    assert_eq!(cfg["faults"]["authz"]["mode"], "hang:10");
    assert_eq!(get(&url, &summary).await.status, 503);
    let cfg = post(&url, "/__config", r#"{"faults":{"summary":null}}"#)
        .await
        .json();
    assert!(cfg["faults"].get("summary").is_none());
    assert_eq!(get(&url, &summary).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_overlaps_for_concurrent_requests() {
    let chain = start(10).await;
    let url = chain.url();
    chain.set_latency(Duration::from_millis(100));

    let t = Instant::now();
    let requests = (0..16).map(|i| {
        let url = url.clone();
        tokio::spawn(async move {
            let path = if i % 2 == 0 {
                "/chain-rpc/status"
            } else {
                "/v1/epochs/latest"
            };
            get(&url, path).await.status
        })
    });
    for r in requests.collect::<Vec<_>>() {
        assert_eq!(r.await.unwrap(), 200);
    }
    let elapsed = t.elapsed();
    assert!(elapsed >= Duration::from_millis(100), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(600),
        "requests did not overlap: {elapsed:?}"
    );

    // Control endpoints are not delayed.
    let t = Instant::now();
    assert_eq!(get(&url, "/__health").await.status, 200);
    assert!(t.elapsed() < Duration::from_millis(100));

    let cfg = post(&url, "/__config", r#"{"latency_ms":0,"current_epoch":61}"#)
        .await
        .json();
    assert_eq!(
        (cfg["latency_ms"].as_u64(), cfg["current_epoch"].as_u64()),
        (Some(0), Some(61))
    );
    assert_eq!(chain.model().current_epoch(), 61);
    assert_eq!(
        post(&url, "/__config", r#"{"latency":5}"#).await.status,
        400
    );
    assert_eq!(
        post(&url, "/__config", r#"{"current_epoch":0}"#)
            .await
            .status,
        400
    );
    assert_eq!(
        post(
            &url,
            "/__config",
            r#"{"faults":{"summary":{"rate":2,"mode":"503"}}}"#
        )
        .await
        .status,
        400
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_universe_stays_fast() {
    let t = Instant::now();
    let chain = start(10_000).await;
    let url = chain.url();
    let path = format!("{INFERENCE}/participant?pagination.limit=10000");
    let first = get(&url, &path).await;
    assert_eq!(first.status, 200);
    assert!(first.body.len() > 4_000_000, "{} bytes", first.body.len());
    let t2 = Instant::now();
    let second = get(&url, &path).await;
    assert_eq!(first.body, second.body);
    assert!(
        t2.elapsed() < Duration::from_secs(1),
        "cached body: {:?}",
        t2.elapsed()
    );
    let epoch = get(&url, "/v1/epochs/current/participants").await;
    assert_eq!(epoch.status, 200);
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_starts_prints_its_url_and_stops_on_sigterm() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_sim-chain"))
        .args([
            "--port",
            "0",
            "--participants",
            "12",
            "--current-epoch",
            "30",
        ])
        .args(["--fault", "summary=0.5:503"])
        .env("SIM_SEED", "5")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sim-chain");
    let stdout = child.stdout.take().unwrap();
    // Blocks until the ready line (or EOF if the binary died).
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map(|_| line)
    })
    .await
    .unwrap()
    .unwrap();
    let url = line
        .strip_prefix("sim-chain listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .map(String::from);
    let Some(url) = url else {
        let _ = child.kill();
        panic!("unexpected line {line:?}");
    };
    assert!(
        line.trim_end()
            .ends_with("(12 participants, current epoch 30)"),
        "{line}"
    );
    assert_eq!(get(&url, "/__health").await.status, 200);
    let cfg = get(&url, "/__config").await.json();
    assert_eq!(
        (cfg["seed"].as_u64(), cfg["current_epoch"].as_u64()),
        (Some(5), Some(30))
    );
    assert_eq!(cfg["faults"]["summary"]["mode"], "503");

    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("sim-chain did not exit after SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_knobs_move_the_head_and_flip_node_health() {
    let chain = SimChain::start(SimConfig {
        participants: 8,
        advance_heights: true,
        ..SimConfig::default()
    })
    .await
    .expect("start sim-chain");
    let url = chain.url();
    let head = || chain.model().latest_block_height();

    // Frozen: the head stays; each advance makes exactly that many blocks.
    let cfg = post(&url, "/__config", r#"{"freeze_head":true}"#).await;
    assert_eq!(cfg.status, 200);
    let frozen = head();
    let cfg = post(&url, "/__config", r#"{"advance_blocks":3}"#).await;
    assert_eq!(cfg.status, 200);
    assert_eq!(head(), frozen + 3);

    // Node 0 is healthy, node 1 answers 503; flipped, the other way round,
    // and flipped again, back.
    let status = |i: usize| {
        let url = url.clone();
        async move { get(&url, &format!("/node/{i}/health")).await.status }
    };
    assert_eq!((status(0).await, status(1).await), (200, 503));
    let cfg = post(&url, "/__config", r#"{"flip_health":[0,1]}"#).await;
    assert_eq!(cfg.status, 200);
    assert_eq!((status(0).await, status(1).await), (503, 200));
    post(&url, "/__config", r#"{"flip_health":[1]}"#).await;
    assert_eq!((status(0).await, status(1).await), (503, 503));
    // The health answers are not chain requests.
    assert_eq!(chain.stats().total, 0);
    assert_eq!(
        post(&url, "/__config", r#"{"advance_blocks":-1}"#)
            .await
            .status,
        400
    );
}
