//! The warm lease around a run: held while it runs, freed when done,
//! lapsing after a crash.

use super::*;

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
