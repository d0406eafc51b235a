//! The warmer against DynamoDB Local and the simulated chain, counting
//! every upstream request per (kind, participant, epoch).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use shared::ids::ParticipantId;
use shared::routes::handle_epoch_stats;
use shared::service::epochs::{current_epoch, epoch_by_id};
use shared::service::items::modal_item_keys;
use shared::table::{CacheTable, ItemData, ItemKey, ItemKind};
use shared::warm::{
    handle_warm_event, warm_epoch, WarmOutcome, WarmReport, WarmRequest, WarmTrigger,
};
use sim_chain::{EndpointKind, Fault, FaultMode, Model};

use crate::dynamo_local::TestTable;
use crate::support::{
    ctx, get, participant_items_fingerprint, start_sim, stats_of, warm_job, with_lease,
    InvokeRecorder, LiveCore,
};

const CURRENT: u64 = 30;

fn members(model: &Model, epoch: u64) -> Vec<ParticipantId> {
    model
        .participants_in_epoch(epoch)
        .iter()
        .map(|a| ParticipantId::parse(a).unwrap())
        .collect()
}

fn all_keys(model: &Model, epoch: u64, finished: bool) -> Vec<ItemKey> {
    members(model, epoch)
        .iter()
        .flat_map(|p| modal_item_keys(p, epoch, !finished))
        .collect()
}

/// Upstream requests the items of `keys` take: one per reward and hardware
/// item, one per authz page.
fn expected_requests(model: &Model, keys: &[ItemKey]) -> BTreeMap<String, u64> {
    keys.iter()
        .map(|k| {
            let addr = k.participant.as_str();
            match k.kind {
                shared::table::ItemKind::Reward => (format!("summary:{}:{addr}", k.epoch), 1),
                shared::table::ItemKind::Hardware => (format!("hardware:{addr}"), 1),
                shared::table::ItemKind::WarmKeys => (
                    format!("authz:{addr}"),
                    (model.grants(addr).len() as u64).div_ceil(100).max(1),
                ),
            }
        })
        .collect()
}

/// Every stored item equals what the chain's model says: no partial item.
async fn assert_items_match_model(ctx: &LiveCore, model: &Model, keys: &[ItemKey]) -> usize {
    let items = ctx.table.load_items(keys).await.unwrap();
    for (key, item) in &items {
        let addr = key.participant.as_str();
        match &item.data {
            ItemData::Reward(r) => {
                let want = model.performance_summary(key.epoch, addr);
                assert_eq!(
                    r.as_ref().map(|r| (r.rewarded_coins.clone(), r.claimed)),
                    want.map(|s| (s.stats.rewarded_coins.to_string(), s.claimed)),
                    "{key:?}"
                );
                assert_eq!(
                    item.meta.is_final,
                    r.as_ref().is_some_and(|r| r.claimed),
                    "a claimed reward is final"
                );
            }
            ItemData::WarmKeys(k) => {
                let got: Vec<(String, String)> = k
                    .iter()
                    .map(|k| (k.grantee_address.clone(), k.granted_at.clone()))
                    .collect();
                let want: Vec<(String, String)> = model
                    .warm_keys(addr)
                    .into_iter()
                    .map(|k| (k.grantee_address, k.granted_at))
                    .collect();
                assert_eq!(got, want, "{key:?}");
            }
            ItemData::Hardware(h) => {
                let want = model.hardware_nodes(addr).unwrap_or_default();
                assert_eq!(
                    h.iter().map(|n| n.local_id.clone()).collect::<Vec<_>>(),
                    want.iter().map(|n| n.local_id.clone()).collect::<Vec<_>>(),
                    "{key:?}"
                );
            }
        }
    }
    items.len()
}

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

#[tokio::test]
async fn a_finished_epoch_gets_its_total_once_every_reward_is_known() {
    let sim = start_sim(50, CURRENT).await;
    let model = sim.model();
    let t = TestTable::new().await;
    let ctx = ctx(&t, &[sim.url()], &[]);
    let epoch = CURRENT - 3;
    let served = epoch_by_id(&ctx, epoch, None).await.unwrap();
    assert_eq!(served.total_assigned_rewards_gnk, None);

    sim.set_fault(
        EndpointKind::Summary,
        Some(Fault::new(0.5, FaultMode::Status500)),
    );
    let partial = warm_epoch(&ctx, &warm_job(epoch, true), None).await;
    assert!(partial.failures.get("reward").copied().unwrap_or(0) > 0);
    assert_eq!(
        partial.total_assigned_rewards_gnk, None,
        "not while a reward is unknown"
    );
    assert_eq!(t.table.load_total(epoch).await.unwrap(), None);

    sim.set_fault(EndpointKind::Summary, None);
    let done = warm_epoch(&ctx, &warm_job(epoch, true), None).await;
    let want = (model.epoch_total_rewarded_coins(epoch).unwrap() / 1_000_000_000) as u64;
    assert_eq!(done.total_assigned_rewards_gnk, Some(want));
    assert_eq!(
        epoch_by_id(&ctx, epoch, None)
            .await
            .unwrap()
            .total_assigned_rewards_gnk,
        Some(want)
    );
}

/// An epoch that has ended but is not settled: the chain answers 404 for
/// its summaries (here the simulated chain still has it as its current
/// epoch, whose summaries do not exist yet). Those 404s are stored as
/// "no summary yet" and never make a total of 0; once the summaries exist,
/// a later warm writes the right total.
#[tokio::test]
async fn a_missing_summary_keeps_the_total_null_until_the_summaries_exist() {
    let sim = start_sim(30, CURRENT).await;
    let t = TestTable::new().await;
    // Every warm refetches rewards that are not final (as one does once
    // the freshness window has passed).
    let ctx = ctx(&t, &[sim.url()], &[("ITEM_FRESHNESS_SECS", "0")]);
    let epoch = CURRENT;
    let members = members(&sim.model(), epoch);
    assert!(members.len() > 10);

    let unsettled = warm_epoch(&ctx, &warm_job(epoch, true), None).await;
    assert!(unsettled.failures.is_empty(), "{:?}", unsettled.failures);
    let rewards: Vec<ItemKey> = members
        .iter()
        .map(|p| ItemKey::new(p.clone(), epoch, ItemKind::Reward))
        .collect();
    let stored = ctx.table.load_items(&rewards).await.unwrap();
    assert_eq!(stored.len(), members.len());
    assert!(
        stored
            .values()
            .all(|i| matches!(i.data, ItemData::Reward(None))),
        "every summary is still missing"
    );
    assert_eq!(
        unsettled.total_assigned_rewards_gnk, None,
        "no total (and never 0) while summaries are missing"
    );
    assert_eq!(t.table.load_total(epoch).await.unwrap(), None);

    // The epoch settles: its summaries appear.
    sim.set_current_epoch(CURRENT + 1);
    let want = (sim.model().epoch_total_rewarded_coins(epoch).unwrap() / 1_000_000_000) as u64;
    assert!(want > 0);
    let settled = warm_epoch(&ctx, &warm_job(epoch, true), None).await;
    assert!(settled.failures.is_empty(), "{:?}", settled.failures);
    assert_eq!(settled.total_assigned_rewards_gnk, Some(want));
    assert_eq!(
        t.table
            .load_total(epoch)
            .await
            .unwrap()
            .map(|t| (t.total_assigned_rewards_gnk, t.participants)),
        Some((want, members.len() as u64))
    );
}

/// A warm over some participants (a payload with `participants`) fills
/// only theirs; the total is checked against every participant of the
/// epoch, so it stays null until a warm covers them all.
#[tokio::test]
async fn a_warm_over_a_subset_of_participants_never_settles_the_total() {
    let sim = start_sim(30, CURRENT).await;
    let model = sim.model();
    let t = TestTable::new().await;
    let ctx = ctx(&t, &[sim.url()], &[]);
    let epoch = CURRENT - 3;
    let members = members(&model, epoch);
    let subset = WarmRequest {
        participants: Some(members[..5].to_vec()),
        ..warm_job(epoch, true)
    };

    let partial = warm_epoch(&ctx, &subset, None).await;
    assert_eq!(partial.participants, 5);
    assert!(partial.failures.is_empty(), "{:?}", partial.failures);
    assert_eq!(partial.total_assigned_rewards_gnk, None);
    assert_eq!(t.table.load_total(epoch).await.unwrap(), None);

    let want = (model.epoch_total_rewarded_coins(epoch).unwrap() / 1_000_000_000) as u64;
    let full = warm_epoch(&ctx, &warm_job(epoch, true), None).await;
    assert_eq!(full.total_assigned_rewards_gnk, Some(want));
    assert_eq!(
        t.table
            .load_total(epoch)
            .await
            .unwrap()
            .map(|t| t.participants),
        Some(members.len() as u64),
        "the total covers every participant of the epoch"
    );
}

/// What epoch-stats sent the warmer for `epoch`, in order.
fn warm_payloads(invoke: &InvokeRecorder, epoch: u64) -> Vec<serde_json::Value> {
    invoke
        .calls()
        .into_iter()
        .filter(|c| c.payload["epoch_id"] == epoch)
        .map(|c| c.payload)
        .collect()
}

/// The warm lease is held by the run for as long as it runs: with a
/// 500 ms lease and a run of about 2.5 s, no other trigger (from any
/// epoch-stats instance) and no other run of the epoch starts meanwhile,
/// and once the run ends its lease is free at once.
#[tokio::test]
async fn a_running_warm_holds_the_epochs_lease_and_frees_it_when_done() {
    let sim = start_sim(12, CURRENT).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let extra = [("WARMER_CONCURRENCY", "3")];
    let lease = Duration::from_millis(500);
    let epoch_stats = stats_of(with_lease(ctx(&t, &[sim.url()], &extra), lease), &invoke);
    let warmer = with_lease(ctx(&t, &[sim.url()], &extra), lease);
    let epoch = CURRENT - 2;

    // A request for the epoch triggers the warmer once.
    let path = format!("/v1/inference/epochs/{epoch}");
    let resp = handle_epoch_stats(&epoch_stats, &get(&path, &[])).await;
    assert_eq!(resp.status(), 200);
    let sent = warm_payloads(&invoke, epoch);
    assert_eq!(sent.len(), 1);

    // The run: 12 participants' 96 items, 3 at a time, 80 ms each (~2.6 s).
    sim.set_latency(Duration::from_millis(80));
    let done = AtomicBool::new(false);
    let started = Instant::now();
    let run = async {
        let out = handle_warm_event(&warmer, &sent[0], None).await;
        done.store(true, Ordering::SeqCst);
        out
    };
    let contenders = async {
        let (mut held, mut tokenless_run_tried) = (0, false);
        while !done.load(Ordering::SeqCst) {
            // Another epoch-stats instance (nothing remembered): held.
            let other = WarmTrigger::new(Some(invoke.invoker()), lease);
            match other.trigger(&t.table, epoch, true, Some(epoch)).await {
                WarmOutcome::LeaseHeld => held += 1,
                // The run released its lease (with its rest) while this
                // claim was in flight.
                WarmOutcome::Rested if done.load(Ordering::SeqCst) => return held,
                outcome => panic!("{outcome:?} {:?} into the run", started.elapsed()),
            }
            // A second run (a payload without a lease token), once the
            // trigger's own claim would have lapsed: skipped.
            if !tokenless_run_tried && started.elapsed() > lease + lease / 2 {
                let out = handle_warm_event(
                    &warmer,
                    &serde_json::json!({"epoch_id": epoch, "finished": true}),
                    None,
                )
                .await;
                assert_eq!(out["status"], "skipped", "{out}");
                tokenless_run_tried = true;
            }
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
        assert!(tokenless_run_tried);
        held
    };
    let (out, held) = tokio::join!(run, contenders);
    let took = started.elapsed();
    assert_eq!(out["status"], "done", "{out}");
    assert!(out["report"]["written"].as_u64().unwrap() > 0);
    assert!(took > 3 * lease, "the run took only {took:?}");
    assert!(held >= 10, "{held} triggers held off");
    assert!(
        out["lease"]["renewals"].as_u64().unwrap() >= 9,
        "renewed every third of the lease: {out}"
    );
    assert_eq!(
        warm_payloads(&invoke, epoch).len(),
        1,
        "no trigger while the run held the lease"
    );

    // Released with the rest the run earned: every item, the total and the
    // final jail statuses are stored, so the epoch is never warmed again
    // (by any instance), and a trigger learns it in one claim.
    assert_eq!(
        out["lease"]["rest_until_ms"].as_i64(),
        Some(i64::MAX),
        "{out}"
    );
    let later = WarmTrigger::new(Some(invoke.invoker()), lease);
    let requests = t.table.counters().requests();
    for expected in [WarmOutcome::Rested, WarmOutcome::LeaseHeld] {
        assert_eq!(
            later.trigger(&t.table, epoch, true, Some(epoch)).await,
            expected
        );
    }
    assert_eq!(t.table.counters().requests(), requests + 1);
    assert_eq!(warm_payloads(&invoke, epoch).len(), 1);
    // A view of the epoch invokes nothing either.
    let again = stats_of(with_lease(ctx(&t, &[sim.url()], &extra), lease), &invoke);
    assert_eq!(
        handle_epoch_stats(&again, &get(&path, &[])).await.status(),
        200
    );
    assert_eq!(warm_payloads(&invoke, epoch).len(), 1);
}

/// A warmer that dies mid-run (no release, no more renewals) holds the
/// epoch for one lease period at most.
#[tokio::test]
async fn a_crashed_runs_lease_lapses_after_one_lease_period() {
    let sim = start_sim(12, CURRENT).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let lease = Duration::from_millis(500);
    let warmer = with_lease(ctx(&t, &[sim.url()], &[("WARMER_CONCURRENCY", "2")]), lease);
    let epoch = CURRENT - 2;
    let first = WarmTrigger::new(Some(invoke.invoker()), lease);
    assert_eq!(
        first.trigger(&t.table, epoch, true, Some(epoch)).await,
        WarmOutcome::Invoked
    );
    let sent = warm_payloads(&invoke, epoch);

    sim.set_latency(Duration::from_millis(50));
    // The run is cut off after 1.5 leases (past the trigger's own claim).
    let cut = tokio::time::timeout(lease * 3 / 2, handle_warm_event(&warmer, &sent[0], None)).await;
    assert!(cut.is_err(), "the run was still going");
    let crashed_at = Instant::now();
    let other = || WarmTrigger::new(Some(invoke.invoker()), lease);
    assert_eq!(
        other().trigger(&t.table, epoch, true, Some(epoch)).await,
        WarmOutcome::LeaseHeld,
        "the last renewal still holds"
    );
    loop {
        match other().trigger(&t.table, epoch, true, Some(epoch)).await {
            WarmOutcome::Invoked => break,
            WarmOutcome::LeaseHeld => {
                assert!(
                    crashed_at.elapsed() < lease + lease / 2,
                    "still held {:?} after the crash",
                    crashed_at.elapsed()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            outcome => panic!("{outcome:?}"),
        }
    }
    assert_eq!(warm_payloads(&invoke, epoch).len(), 2);
}
