//! When a view triggers the warmer: once per epoch under concurrency,
//! and only for the epochs the dashboard offers.

use super::*;

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
    // Complete from the first view: the jail statuses were fetched before
    // answering (once for the 50), so browsers may keep it.
    assert_eq!(header(&cached, "cache-control"), Some("public, max-age=60"));
    assert!(body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["is_jailed"].is_boolean()));
    let pages = (sim.model().validators(canonical).len() as u64).div_ceil(200);
    assert_eq!(
        sim.stats().kind("validators"),
        pages,
        "one jail fetch for 50 views"
    );
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
