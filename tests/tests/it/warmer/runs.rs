//! Warm runs and the items they write: each fetched once, bad payloads
//! refused, concurrent runs, a failing chain, a short deadline.

use super::*;

#[tokio::test]
async fn a_cold_warm_fetches_each_item_exactly_once_and_a_second_run_nothing() {
    let sim = start_sim(200, CURRENT).await;
    let model = sim.model();
    let t = TestTable::new().await;
    // Slices of 64 participants: the keys are looked up a slice at a time.
    let ctx = ctx(&t, &[sim.url()], &[("WARMER_SLICE_PARTICIPANTS", "64")]);
    let keys = all_keys(&model, CURRENT, false);
    assert!(keys.len() > 1000);

    let report = warm_epoch(&ctx, &warm_job(CURRENT, false), None).await;
    assert_eq!(
        (
            report.items_checked,
            report.present,
            report.fetched,
            report.written
        ),
        (keys.len(), 0, keys.len(), keys.len())
    );
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let stats = sim.stats();
    let expected = expected_requests(&model, &keys);
    for (key, count) in &expected {
        assert_eq!(stats.key(key), *count, "{key}");
    }
    // Plus the one participant listing (nothing was cached yet).
    assert_eq!(stats.total, expected.values().sum::<u64>() + 1);
    assert_eq!(report.upstream_calls, stats.total);
    assert_eq!(
        assert_items_match_model(&ctx, &model, &keys).await,
        keys.len(),
        "empty results are stored too"
    );

    let second = warm_epoch(&ctx, &warm_job(CURRENT, false), None).await;
    assert_eq!(
        (second.present, second.fetched, second.written),
        (keys.len(), 0, 0)
    );
    assert_eq!(
        sim.stats().total,
        stats.total + 1,
        "only the participant listing again"
    );
}

#[tokio::test]
async fn the_handler_rejects_bad_or_oversized_payloads_whole_and_counts_repeated_ids_once() {
    let sim = start_sim(20, CURRENT).await;
    let t = TestTable::new().await;
    let ctx = ctx(&t, &[sim.url()], &[]);
    let member = sim.model().participants_in_epoch(29)[0].clone();
    let huge: Vec<String> = (0..100_000).map(|_| member.clone()).collect();
    for payload in [
        serde_json::json!("x"),
        serde_json::json!({"epoch_id": 0}),
        serde_json::json!({"epoch_id": 29, "participants": ["../../etc"]}),
        serde_json::json!({"epoch_id": 29, "participants": [member, "gonka1xyz"]}),
        serde_json::json!({"epoch_id": 29, "participants": huge}),
    ] {
        let out = handle_warm_event(&ctx, &payload, None).await;
        assert_eq!(out["status"], "rejected", "{payload}");
        assert!(out["reason"].is_string());
    }
    assert_eq!(t.item_count().await, 0, "a rejected payload writes nothing");
    assert_eq!(sim.stats().total, 0, "and asks the chain nothing");

    let dupes: Vec<String> = (0..500).map(|_| member.clone()).collect();
    let out = handle_warm_event(
        &ctx,
        &serde_json::json!({"epoch_id": 29, "finished": true, "participants": dupes}),
        None,
    )
    .await;
    assert_eq!(
        out["report"]["participants"], 1,
        "500 copies of one id are one participant"
    );
    assert_eq!(out["report"]["items_checked"], 8);

    let out = handle_warm_event(
        &ctx,
        &serde_json::json!({"epoch_id": 29, "finished": true}),
        Some(shared::time::now_ms() + 600_000),
    )
    .await;
    assert_eq!(out["status"], "done");
    assert!(out["report"]["written"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn five_runs_started_together_leave_the_table_as_one_run_would() {
    const RUNS: usize = 5;
    let sim = start_sim(60, CURRENT).await;
    let model = sim.model();
    let (single, many) = (TestTable::new().await, TestTable::new().await);
    let finished = warm_job(CURRENT - 2, true);
    warm_epoch(&ctx(&single, &[sim.url()], &[]), &finished, None).await;
    sim.reset_stats();
    let cores: Vec<_> = (0..RUNS).map(|_| ctx(&many, &[sim.url()], &[])).collect();
    let reports = join_all(cores.iter().map(|c| warm_epoch(c, &finished, None))).await;
    let keys = all_keys(&model, CURRENT - 2, true);
    // Final items are written once; a refreshable one (an unclaimed reward)
    // may be written by several runs, the latest fetch winning.
    let writes: usize = reports.iter().map(|r| r.written).sum();
    assert!(
        writes >= keys.len() && writes <= RUNS * keys.len(),
        "{writes} writes for {} items",
        keys.len()
    );
    for r in &reports {
        assert!(r.failures.is_empty(), "{:?}", r.failures);
        assert_eq!(r.written + r.lost_races, r.fetched);
    }
    assert!(
        reports.iter().map(|r| r.lost_races).sum::<usize>() > 0,
        "the runs overlapped"
    );
    let stats = sim.stats();
    for (key, count) in expected_requests(&model, &keys) {
        assert!(
            stats.key(&key) <= RUNS as u64 * count,
            "{key} fetched {} times",
            stats.key(&key)
        );
    }
    let (one, five) = (
        participant_items_fingerprint(&single).await,
        participant_items_fingerprint(&many).await,
    );
    assert_eq!(one.len(), keys.len());
    let differing: Vec<_> = one
        .iter()
        .zip(&five)
        .filter(|(a, b)| a != b)
        .take(3)
        .collect();
    assert!(one == five, "the tables differ, e.g. {differing:?}");
}

#[tokio::test]
async fn a_chain_failing_30_percent_leaves_no_partial_item_and_a_later_run_fills_the_gaps() {
    let sim = start_sim(80, CURRENT).await;
    let model = sim.model();
    let t = TestTable::new().await;
    let ctx = ctx(&t, &[sim.url()], &[]);
    // Cache the participant list first so only item fetches fail.
    current_epoch(&ctx).await.unwrap();
    for kind in [
        EndpointKind::Summary,
        EndpointKind::Authz,
        EndpointKind::Hardware,
    ] {
        sim.set_fault(kind, Some(Fault::new(0.3, FaultMode::Status503)));
    }
    let keys = all_keys(&model, CURRENT, false);
    let first = warm_epoch(&ctx, &warm_job(CURRENT, false), None).await;
    let failed: usize = first.failures.values().sum();
    assert!(failed > 0 && first.written > 0, "{first:?}");
    assert_eq!(first.written + failed, keys.len());
    assert_eq!(
        assert_items_match_model(&ctx, &model, &keys).await,
        first.written,
        "only complete items are stored"
    );

    for kind in [
        EndpointKind::Summary,
        EndpointKind::Authz,
        EndpointKind::Hardware,
    ] {
        sim.set_fault(kind, None);
    }
    sim.reset_stats();
    let second = warm_epoch(&ctx, &warm_job(CURRENT, false), None).await;
    assert_eq!(
        (second.present, second.fetched, second.written),
        (first.written, failed, failed)
    );
    assert!(second.failures.is_empty());
    assert_eq!(
        assert_items_match_model(&ctx, &model, &keys).await,
        keys.len()
    );
    // Only the gaps were fetched again.
    let stats = sim.stats();
    assert_eq!(
        stats.kind("summary"),
        first.failures.get("reward").copied().unwrap_or(0) as u64
    );
    assert_eq!(
        stats.kind("hardware"),
        first.failures.get("hardware").copied().unwrap_or(0) as u64
    );
}

#[tokio::test]
async fn a_short_deadline_stops_cleanly_and_the_next_run_completes() {
    let sim = start_sim(60, CURRENT).await;
    let model = sim.model();
    let t = TestTable::new().await;
    let ctx = ctx(&t, &[sim.url()], &[("WARMER_CONCURRENCY", "4")]);
    current_epoch(&ctx).await.unwrap();
    sim.set_latency(Duration::from_millis(20));
    let keys = all_keys(&model, CURRENT, false);
    let stop_at = shared::time::now_ms() + 150;
    let first: WarmReport = warm_epoch(&ctx, &warm_job(CURRENT, false), Some(stop_at)).await;
    assert!(
        first.left_for_next_run > 0 && first.written > 0,
        "{first:?}"
    );
    assert!(first.failures.is_empty());
    assert_eq!(first.written + first.left_for_next_run, keys.len());
    assert_eq!(
        assert_items_match_model(&ctx, &model, &keys).await,
        first.written
    );

    sim.set_latency(Duration::ZERO);
    let second = warm_epoch(&ctx, &warm_job(CURRENT, false), None).await;
    assert_eq!(
        (second.present, second.written, second.left_for_next_run),
        (first.written, first.left_for_next_run, 0)
    );
    assert_eq!(
        assert_items_match_model(&ctx, &model, &keys).await,
        keys.len()
    );
}
