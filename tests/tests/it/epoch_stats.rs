//! epoch-stats through its handler: DynamoDB Local, the simulated chain (or
//! the fixture replay), and a recording Lambda Invoke endpoint reached by
//! aws-sdk-lambda.

use std::time::Duration;

use futures::future::join_all;
use serde_json::Value;
use shared::domain::{invalidation_rate, missed_rate};
use shared::routes::handle_epoch_stats;
use shared::table::CacheTable;
use sim_chain::SimChain;

use crate::dynamo_local::TestTable;
use crate::replay::{self, Replay};
use crate::support::{
    dead_url, get, header, json_body, start_sim, stats, without_lease_token, InvokeRecorder,
};

const GZIP: (&str, &str) = ("accept-encoding", "gzip, deflate, br");

fn by_index(body: &Value) -> std::collections::HashMap<String, Value> {
    body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["index"].as_str().unwrap().to_owned(), p.clone()))
        .collect()
}

/// Every participant field against the simulated chain's own model.
fn assert_matches_model(body: &Value, sim: &SimChain, epoch: u64, height: u64) {
    let model = sim.model();
    let members = model.participants_in_epoch(epoch);
    let rows = by_index(body);
    assert_eq!(
        rows.len(),
        members
            .iter()
            .filter(|a| model.participant_list_entry(height, a).is_some())
            .count()
    );
    for addr in &members {
        let Some(row) = rows.get(addr) else { continue };
        let entry = model.epoch_participant(epoch, addr).unwrap();
        let listed = model.participant_list_entry(height, addr).unwrap();
        let stats = &listed.current_epoch_stats;
        assert_eq!(row["address"], listed.address.as_str());
        assert_eq!(row["weight"], entry.weight);
        assert_eq!(row["validator_key"], entry.validator_key.as_str());
        assert_eq!(row["models"], serde_json::to_value(&entry.models).unwrap());
        assert_eq!(row["inference_url"], listed.inference_url.as_str());
        assert_eq!(row["status"], listed.status.as_str());
        assert_eq!(
            row["current_epoch_stats"],
            serde_json::to_value(stats).unwrap()
        );
        assert_eq!(row["seed_signature"], entry.seed.signature.as_str());
        let map = model.ml_nodes_map(epoch, addr).unwrap();
        assert_eq!(row["ml_nodes_map"].as_object().unwrap().len(), map.len());
        for (node, w) in map {
            assert_eq!(
                row["ml_nodes_map"][&node], w,
                "poc_weight of {node} (0 stays 0)"
            );
        }
        let n = |v: u64| v;
        assert_eq!(
            row["missed_rate"],
            missed_rate(n(stats.missed_requests), n(stats.inference_count))
        );
        assert_eq!(
            row["invalidation_rate"],
            invalidation_rate(n(stats.invalidated_inferences), n(stats.inference_count))
        );
        for field in [
            "is_jailed",
            "jailed_until",
            "moniker",
            "node_healthy",
            "node_health_checked_at",
            "consensus_key_mismatch",
        ] {
            assert!(row[field].is_null(), "{field} is out of scope and null");
        }
    }
}

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
async fn concurrent_requests_for_an_uncached_epoch_trigger_the_warmer_once() {
    let sim = start_sim(80, 30).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let ctx = stats(&t, &[sim.url()], &[], &invoke);
    let requests: Vec<_> = (0..50)
        .map(|_| get("/v1/inference/epochs/28", &[GZIP]))
        .collect();
    let responses = join_all(requests.iter().map(|r| handle_epoch_stats(&ctx, r))).await;
    let bodies: Vec<Value> = responses
        .iter()
        .map(|r| {
            assert_eq!(r.status(), 200);
            json_body(r)
        })
        .collect();
    assert!(bodies
        .iter()
        .all(|b| b["participants"] == bodies[0]["participants"]));
    let body = &bodies[0];
    let canonical = sim.model().effective_block_height(29) - 10;
    assert_eq!(
        (
            body["epoch_id"].as_u64(),
            body["height"].as_u64(),
            body["is_current"].as_bool()
        ),
        (Some(28), Some(canonical), Some(false))
    );
    for field in [
        "current_block_height",
        "current_block_timestamp",
        "avg_block_time",
        "next_poc_start_block",
        "set_new_validators_block",
    ] {
        assert!(
            body[field].is_null(),
            "{field} is null for a finished epoch"
        );
    }
    assert_matches_model(body, &sim, 28, canonical);

    let warm_calls: Vec<_> = invoke
        .calls()
        .into_iter()
        .filter(|c| c.payload["epoch_id"] == 28)
        .collect();
    assert_eq!(
        warm_calls.len(),
        1,
        "one trigger for 50 concurrent requests"
    );
    assert_eq!(
        without_lease_token(&warm_calls[0].payload),
        serde_json::json!({"epoch_id": 28, "finished": true})
    );
    assert_eq!(warm_calls[0].invocation_type.as_deref(), Some("Event"));

    // Now cached for good: zero upstream calls.
    let before = sim.stats().total;
    let cached = handle_epoch_stats(&ctx, &get("/v1/inference/epochs/28", &[])).await;
    assert_eq!(json_body(&cached)["participants"], body["participants"]);
    assert_eq!(sim.stats().total, before);
    // Until the warmer has settled the total, the answer is short-lived.
    assert_eq!(header(&cached, "cache-control"), Some("public, max-age=60"));
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
    let before = sim.stats().total;
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
        sim.stats().total,
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

#[tokio::test]
async fn bad_input_gets_400_and_future_epochs_404() {
    let sim = start_sim(10, 30).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let ctx = stats(&t, &[sim.url()], &[], &invoke);
    let cases = [
        (
            "/v1/inference/epochs/0",
            400,
            "Invalid epoch ID: must be at least 1",
        ),
        (
            "/v1/inference/epochs/-5",
            400,
            "Invalid epoch ID: must be a positive integer",
        ),
        (
            "/v1/inference/epochs/abc",
            400,
            "Invalid epoch ID: must be a positive integer",
        ),
        (
            "/v1/inference/epochs/184467440737095516150",
            400,
            "Invalid epoch ID: must be a positive integer",
        ),
        (
            "/v1/inference/epochs/28?height=0",
            400,
            "Invalid height: must be at least 1",
        ),
        (
            "/v1/inference/epochs/28?height=garbage",
            400,
            "Invalid height: must be a positive integer",
        ),
        (
            "/v1/inference/current?reload=yes",
            400,
            "Invalid reload: must be true or false",
        ),
        (
            "/v1/inference/epochs/31",
            404,
            "Epoch 31 not found (the current epoch is 30)",
        ),
        (
            "/v1/inference/epochs/5000",
            404,
            "Epoch 5000 not found (the current epoch is 30)",
        ),
        ("/v1/unknown", 404, "Not Found"),
    ];
    for (path, status, detail) in cases {
        let resp = handle_epoch_stats(&ctx, &get(path, &[])).await;
        assert_eq!(resp.status(), status, "{path}");
        assert_eq!(
            json_body(&resp),
            serde_json::json!({ "detail": detail }),
            "{path}"
        );
        assert_eq!(header(&resp, "cache-control"), Some("no-store"));
    }
    assert_eq!(sim.stats().kind("unknown"), 0);
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
    // The contract's example row (section 1.4), field for field.
    let expected = serde_json::json!({
        "index": replay::FIXTURE_PARTICIPANT, "address": replay::FIXTURE_PARTICIPANT,
        "weight": 37778, "validator_key": "Y+sAwFpAU50lwxqskBwChJFj7yjpTcB3m8oEsgXyVrI=",
        "inference_url": "http://69.48.159.157:8000", "status": "ACTIVE",
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

#[tokio::test]
async fn cors_preflight_and_origins() {
    let sim = start_sim(10, 30).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let ctx = stats(
        &t,
        &[sim.url()],
        &[("CORS_ALLOWED_ORIGINS", "https://tracker.example")],
        &invoke,
    );
    let options = lambda_http::http::Request::builder()
        .method("OPTIONS")
        .uri("/v1/inference/current")
        .header("origin", "https://tracker.example")
        .body(lambda_http::Body::Empty)
        .unwrap();
    let resp = handle_epoch_stats(&ctx, &options).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        header(&resp, "access-control-allow-origin"),
        Some("https://tracker.example")
    );
    assert_eq!(sim.stats().total, 0, "a preflight does no work");
    let resp = handle_epoch_stats(
        &ctx,
        &get(
            "/v1/inference/current",
            &[("origin", "https://evil.example")],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(header(&resp, "access-control-allow-origin").is_none());
}

#[tokio::test]
async fn only_the_epochs_the_dashboard_offers_are_warmed() {
    let sim = start_sim(10, 30).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let ctx = stats(&t, &[sim.url()], &[], &invoke);
    for path in [
        "/v1/inference/current",
        "/v1/inference/epochs/20",
        "/v1/inference/epochs/19",
        "/v1/inference/epochs/3",
    ] {
        assert_eq!(
            handle_epoch_stats(&ctx, &get(path, &[])).await.status(),
            200
        );
    }
    // A new instance learns the current epoch from the table.
    let other = stats(&t, &[sim.url()], &[], &invoke);
    for path in ["/v1/inference/epochs/21", "/v1/inference/epochs/18"] {
        assert_eq!(
            handle_epoch_stats(&other, &get(path, &[])).await.status(),
            200
        );
    }
    let mut warmed: Vec<u64> = invoke
        .calls()
        .iter()
        .map(|c| c.payload["epoch_id"].as_u64().unwrap())
        .collect();
    warmed.sort_unstable();
    assert_eq!(
        warmed,
        vec![20, 21, 30],
        "the current epoch and the ten before it"
    );
}
