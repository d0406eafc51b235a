//! Building an epoch and serving it from the table: the current epoch,
//! heights of a past one, a chain outage, the recorded epoch 56.

use super::*;

#[tokio::test]
async fn current_epoch_is_built_once_then_served_from_the_table() {
    let sim = start_sim(120, 30).await;
    let model = sim.model();
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let ctx = stats(&t, &[sim.url()], &[], &invoke);

    let resp = handle_epoch_stats(&ctx, &get("/v1/inference/current", &[GZIP])).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "content-encoding"), Some("gzip"));
    assert_eq!(header(&resp, "cache-control"), Some("public, max-age=30"));
    let body = json_body(&resp);
    let height = model.latest_block_height();
    assert_eq!(
        (
            body["epoch_id"].as_u64(),
            body["height"].as_u64(),
            body["is_current"].as_bool()
        ),
        (Some(30), Some(height), Some(true))
    );
    assert!(body["total_assigned_rewards_gnk"].is_null());
    assert!(body["cached_at"].as_str().unwrap().ends_with('Z'));
    let stages = model.epoch_stages(30);
    assert_eq!(body["current_block_height"], height);
    assert_eq!(
        body["current_block_timestamp"],
        model.block_time(height).as_str()
    );
    assert_eq!(body["next_poc_start_block"], stages.next_poc_start);
    assert_eq!(
        body["set_new_validators_block"],
        model.epoch_stages(31).set_new_validators
    );
    let expected_avg = (model.block_time_unix_millis(height)
        - model.block_time_unix_millis(height - 10_000)) as f64
        / 10_000.0
        / 1000.0;
    assert_eq!(
        body["avg_block_time"],
        shared::domain::round_ties_even(expected_avg, 2)
    );
    assert_matches_model(&body, &sim, 30, height);
    let upstream = sim.stats().total;
    assert_eq!(
        upstream, 6,
        "a current epoch is built from 6 upstream calls"
    );

    // The warmer was invoked asynchronously, once, with a small payload.
    let calls = invoke.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].function, "warmer");
    assert_eq!(calls[0].invocation_type.as_deref(), Some("Event"));
    assert_eq!(
        without_lease_token(&calls[0].payload),
        serde_json::json!({"epoch_id": 30, "finished": false})
    );

    // Served again: zero upstream calls, the same answer, from memory:
    // within the revalidation window not even a table request.
    let table_requests = t.table.counters().requests();
    let again = handle_epoch_stats(&ctx, &get("/v1/inference/current", &[])).await;
    assert_eq!(again.status(), 200);
    assert!(header(&again, "content-encoding").is_none());
    assert_eq!(json_body(&again), body);
    assert_eq!(sim.stats().total, upstream);
    assert_eq!(t.table.counters().requests(), table_requests);
    assert_eq!(
        invoke.calls().len(),
        1,
        "the warm lease holds for its window"
    );
    // Another instance (a fresh context on the same table) reads the table.
    let other = crate::support::stats(&t, &[sim.url()], &[], &invoke);
    let from_table = handle_epoch_stats(&other, &get("/v1/inference/current", &[GZIP])).await;
    assert_eq!(json_body(&from_table), body);
    assert_eq!(sim.stats().total, upstream);
    assert!(t.table.counters().requests() > table_requests);

    // /epochs/{C} answers like /current.
    let same = json_body(&handle_epoch_stats(&ctx, &get("/v1/inference/epochs/30", &[])).await);
    assert_eq!(same, body);

    // ETag and 304.
    let etag = header(&again, "etag").unwrap().to_owned();
    let not_modified = handle_epoch_stats(
        &ctx,
        &get("/v1/inference/current", &[("if-none-match", &etag)]),
    )
    .await;
    assert_eq!(not_modified.status(), 304);
    assert_eq!(sim.stats().total, upstream);

    // reload=true is no way around the caches: it costs what a plain
    // request costs, on a warm instance and on a new one.
    let new_instance = stats(&t, &[sim.url()], &[], &invoke);
    for instance in [&ctx, &new_instance] {
        let reloaded =
            handle_epoch_stats(instance, &get("/v1/inference/current?reload=true", &[])).await;
        assert_eq!(reloaded.status(), 200);
        assert_eq!(json_body(&reloaded), body);
    }
    assert_eq!(sim.stats().total, upstream, "no chain call for reload=true");
}

#[tokio::test]
async fn heights_of_a_past_epoch_are_validated_clamped_and_cached() {
    let sim = start_sim(30, 30).await;
    let model = sim.model();
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let ctx = stats(&t, &[sim.url()], &[], &invoke);
    let effective = model.effective_block_height(25);
    let canonical = model.effective_block_height(26) - 10;

    let before_start = handle_epoch_stats(
        &ctx,
        &get(
            &format!("/v1/inference/epochs/25?height={}", effective - 1),
            &[],
        ),
    )
    .await;
    assert_eq!(before_start.status(), 400);
    assert_eq!(
        json_body(&before_start)["detail"],
        format!("Height {} is before epoch 25 start (effective height: {effective}). No data exists for this epoch at this height.", effective - 1)
    );
    let clamped = json_body(
        &handle_epoch_stats(
            &ctx,
            &get("/v1/inference/epochs/25?height=999999999999", &[]),
        )
        .await,
    );
    assert_eq!(clamped["height"], canonical);

    let mid = effective + 100;
    let at_mid = json_body(
        &handle_epoch_stats(
            &ctx,
            &get(&format!("/v1/inference/epochs/25?height={mid}"), &[]),
        )
        .await,
    );
    assert_eq!(at_mid["height"], mid);
    assert_matches_model(&at_mid, &sim, 25, mid);
    // The stats' calls, not the first canonical view's jail fetch.
    let stats_calls = || {
        let s = sim.stats();
        s.total - s.kind("validators") - s.kind("signing_info")
    };
    let before = stats_calls();
    let again = json_body(
        &handle_epoch_stats(
            &ctx,
            &get(&format!("/v1/inference/epochs/25?height={mid}"), &[]),
        )
        .await,
    );
    assert_eq!(again, at_mid);
    let canonical_again =
        json_body(&handle_epoch_stats(&ctx, &get("/v1/inference/epochs/25", &[])).await);
    assert_eq!(canonical_again["height"], canonical);
    assert_eq!(
        stats_calls(),
        before,
        "both heights are served from the table"
    );

    // A caller cycling through heights, through several instances, gets at
    // most HEIGHT_BUILDS_PER_MINUTE (5) builds of this epoch a minute (three
    // were used above: the height before the start was a build that found
    // it so); the rest are refused before any chain call.
    let minute = || shared::time::now_ms().div_euclid(60_000);
    let started = minute();
    let instances: Vec<_> = (0..3)
        .map(|_| stats(&t, &[sim.url()], &[], &invoke))
        .collect();
    let before = sim.stats().total;
    let mut built = 0;
    for i in 0..12u64 {
        let path = format!("/v1/inference/epochs/25?height={}", effective + 200 + i);
        let resp = handle_epoch_stats(&instances[i as usize % 3], &get(&path, &[])).await;
        match resp.status().as_u16() {
            200 => built += 1,
            429 => assert!(json_body(&resp)["detail"]
                .as_str()
                .unwrap()
                .starts_with("Too many distinct heights requested for epoch 25")),
            other => panic!("{path}: {other}"),
        }
    }
    // Crossing into the next minute opens a new budget.
    let allowed = if minute() == started { 2 } else { 2 + 5 };
    assert!(built >= 2 && built <= allowed, "{built} builds");
    assert!(
        sim.stats().total - before <= 4 * built,
        "{} chain calls for {built} builds",
        sim.stats().total - before
    );
}

/// Cycling through epochs, one height each, stays under the per-epoch
/// budget every time; the deployment's total (HEIGHT_BUILDS_PER_MINUTE_TOTAL,
/// 10) holds it, and a refusal says when to retry.
#[tokio::test]
async fn builds_at_heights_are_capped_for_the_whole_deployment() {
    let sim = start_sim(20, 30).await;
    let model = sim.model();
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let instances: Vec<_> = (0..3)
        .map(|_| stats(&t, &[sim.url()], &[], &invoke))
        .collect();
    let minute = || shared::time::now_ms().div_euclid(60_000);
    let started = minute();
    let (mut built, mut refused) = (0, 0);
    for (i, epoch) in (8..=25u64).enumerate() {
        let height = model.effective_block_height(epoch) + 50;
        let path = format!("/v1/inference/epochs/{epoch}?height={height}");
        let resp = handle_epoch_stats(&instances[i % 3], &get(&path, &[])).await;
        match resp.status().as_u16() {
            200 => built += 1,
            429 => {
                refused += 1;
                let retry: u64 = header(&resp, "retry-after")
                    .expect("a 429 says when to retry")
                    .parse()
                    .expect("seconds");
                assert!((1..=60).contains(&retry), "Retry-After {retry}");
                assert_eq!(header(&resp, "cache-control"), Some("no-store"));
                let detail = json_body(&resp)["detail"].as_str().unwrap().to_owned();
                assert!(detail.contains("for everyone"), "{detail}");
            }
            other => panic!("{path}: {other}"),
        }
    }
    if minute() == started {
        assert_eq!((built, refused), (10, 8), "18 epochs, 10 builds a minute");
    } else {
        assert!(
            built <= 20 && refused >= 1,
            "{built} built, {refused} refused"
        );
    }
}

#[tokio::test]
async fn a_cached_current_epoch_survives_a_chain_outage() {
    let sim = start_sim(20, 30).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let live = stats(&t, &[sim.url()], &[], &invoke);
    let first = json_body(&handle_epoch_stats(&live, &get("/v1/inference/current", &[])).await);

    // Same table, the chain down, the cached copy older than the window.
    let down = stats(
        &t,
        &[dead_url(), dead_url()],
        &[("CURRENT_EPOCH_REBUILD_SECS", "0")],
        &invoke,
    );
    let resp = handle_epoch_stats(&down, &get("/v1/inference/current", &[])).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "cache-control"), Some("no-store"));
    let stale = json_body(&resp);
    assert_eq!(stale, first, "the stale copy, with its true cached_at");
    // An epoch after the cached current one may exist: not a 404 while the
    // chain cannot say.
    let newer = handle_epoch_stats(&down, &get("/v1/inference/epochs/31", &[])).await;
    assert_eq!(newer.status(), 502);
    assert_eq!(
        json_body(&newer)["detail"],
        "Failed to fetch epoch 31 stats: the chain node is unreachable"
    );

    // Nothing cached and the chain down: 502; a chain that hangs: 504.
    let empty = TestTable::new().await;
    let resp = handle_epoch_stats(
        &stats(&empty, &[dead_url()], &[], &invoke),
        &get("/v1/inference/current", &[]),
    )
    .await;
    assert_eq!(resp.status(), 502);
    assert_eq!(
        json_body(&resp)["detail"],
        "Failed to fetch current epoch stats: the chain node is unreachable"
    );
    sim.set_fault(
        sim_chain::EndpointKind::Latest,
        Some(sim_chain::Fault::new(
            1.0,
            sim_chain::FaultMode::Hang(Duration::from_secs(5)),
        )),
    );
    let slow = stats(
        &empty,
        &[sim.url()],
        &[("CHAIN_TIMEOUT_MS", "200")],
        &invoke,
    );
    let resp = handle_epoch_stats(&slow, &get("/v1/inference/current", &[])).await;
    assert_eq!(resp.status(), 504);
    assert_eq!(
        json_body(&resp)["detail"],
        "Failed to fetch current epoch stats: the chain node timed out"
    );
    assert!(
        empty
            .table
            .load_stats(shared::table::StatsSlot::Current)
            .await
            .unwrap()
            .is_none(),
        "failures are never cached"
    );
}

#[tokio::test]
async fn the_recorded_epoch_56_comes_out_as_the_contract_says() {
    let chain = Replay::start().await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let ctx = stats(&t, std::slice::from_ref(&chain.url), &[], &invoke);
    let resp = handle_epoch_stats(&ctx, &get("/v1/inference/current", &[GZIP])).await;
    assert_eq!(resp.status(), 200);
    let body = json_body(&resp);
    assert_eq!(
        (
            body["epoch_id"].as_u64(),
            body["height"].as_u64(),
            body["is_current"].as_bool()
        ),
        (Some(replay::EPOCH), Some(replay::HEIGHT), Some(true))
    );
    assert_eq!(body["current_block_height"], replay::HEIGHT);
    assert_eq!(
        body["current_block_timestamp"],
        Replay::block_time(replay::HEIGHT).as_str()
    );
    assert_eq!(body["avg_block_time"], replay::BLOCK_SECONDS);
    assert_eq!(body["next_poc_start_block"], Replay::next_poc_start());
    assert_eq!(
        body["set_new_validators_block"],
        Replay::set_new_validators()
    );
    assert!(body["total_assigned_rewards_gnk"].is_null());
    let rows = by_index(&body);
    assert_eq!(rows.len(), 26);
    let row = &rows[replay::FIXTURE_PARTICIPANT];
    // The contract's example row (section 1.4), field for field (the
    // link re-serialised by the parser: an empty path is written `/`).
    let expected = serde_json::json!({
        "index": replay::FIXTURE_PARTICIPANT, "address": replay::FIXTURE_PARTICIPANT,
        "weight": 37778, "validator_key": "Y+sAwFpAU50lwxqskBwChJFj7yjpTcB3m8oEsgXyVrI=",
        "inference_url": "http://69.48.159.157:8000/", "status": "ACTIVE",
        "models": ["Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", "Qwen/Qwen3-32B-FP8"],
        "current_epoch_stats": {"inference_count": "1106", "missed_requests": "1", "earned_coins": "0", "rewarded_coins": "0",
            "burned_coins": "0", "validated_inferences": "1072", "invalidated_inferences": "8"},
        "missed_rate": 0.0009, "invalidation_rate": 0.0072,
    });
    for (k, v) in expected.as_object().unwrap() {
        assert_eq!(&row[k], v, "{k}");
    }
    let seed = row["seed_signature"].as_str().unwrap();
    assert!(seed.starts_with("ed2e4448") && seed.ends_with("256b") && seed.len() == 128);
    assert_eq!(
        (
            row["ml_nodes_map"]["node8"].as_i64(),
            row["ml_nodes_map"]["node31"].as_i64()
        ),
        (Some(1793), Some(2340))
    );
    assert_eq!(
        row.as_object().unwrap().len(),
        24,
        "every ParticipantStats field, no more"
    );
    // The dashboard's order: weight descending.
    let weights: Vec<i64> = body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["weight"].as_i64().unwrap())
        .collect();
    assert!(weights.windows(2).all(|w| w[0] >= w[1]));

    let served = chain.requests();
    let cached = json_body(&handle_epoch_stats(&ctx, &get("/v1/inference/current", &[])).await);
    assert_eq!(cached, body);
    assert_eq!(chain.requests(), served);
}
