//! The scheduled function's jobs against DynamoDB Local and the simulated
//! chain, the warmer reached through a recording Lambda Invoke endpoint.

use serde_json::json;
use shared::bootstrap::LiveSchedulerState;
use shared::schedule::{handle_scheduled_event, JobError, SchedulerState};
use shared::table::{CacheTable, LeaseToken, StatsSlot};

use crate::dynamo_local::TestTable;
use crate::support::{ctx, dead_url, start_sim, InvokeRecorder};

fn scheduler(table: &TestTable, urls: &[String], invoke: &InvokeRecorder) -> LiveSchedulerState {
    SchedulerState::new(ctx(table, urls, &[]), Some(invoke.invoker()))
}

/// (epoch, finished) of each warmer invocation so far.
fn warms(invoke: &InvokeRecorder) -> Vec<(u64, bool)> {
    invoke
        .calls()
        .iter()
        .map(|c| {
            assert_eq!(c.invocation_type.as_deref(), Some("Event"));
            (
                c.payload["epoch_id"].as_u64().unwrap(),
                c.payload["finished"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_current_epoch_job_keeps_the_table_fresh_and_warms_each_new_epoch() {
    let sim = start_sim(12, 40).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let state = scheduler(&t, &[sim.url()], &invoke);
    let job = json!({"job": "current_epoch"});

    // First run: nothing stored yet, so the epoch is new to us.
    let first = handle_scheduled_event(&state, &job, None).await.unwrap();
    assert_eq!(first["status"], "done");
    assert_eq!(first["report"]["epoch"], 40);
    assert_eq!(first["report"]["previous_epoch"], serde_json::Value::Null);
    assert!(first["chain_calls"].as_u64().unwrap() > 0);
    let stored = t
        .table
        .load_stats(StatsSlot::Current)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.header.epoch_id, 40);
    assert!(!stored.participants.is_empty());
    assert_eq!(first["report"]["participants"], stored.participants.len());
    assert_eq!(warms(&invoke), vec![(40, false)]);

    // Same epoch: a newer copy, no warm.
    let second = handle_scheduled_event(&state, &job, None).await.unwrap();
    assert_eq!(second["report"]["new_epoch"], false);
    let restored = t
        .table
        .load_stats(StatsSlot::Current)
        .await
        .unwrap()
        .unwrap();
    assert!(restored.header.fetched_at_ms > stored.header.fetched_at_ms);
    assert_eq!(warms(&invoke), vec![(40, false)]);

    // The warmer finishes and releases the epoch's lease; then the chain
    // moves on: the new epoch is warmed, and the one that just ended.
    let token = invoke.calls()[0].payload["lease_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = LeaseToken::parse(&token).unwrap();
    t.table
        .release_warm_lease(40, &token, shared::time::now_ms())
        .await
        .unwrap();
    sim.set_current_epoch(41);
    // (A later run: this instance remembers epoch 40's lease for one lease
    // period, as it would at an epoch switch hours after that warm.)
    let state = scheduler(&t, &[sim.url()], &invoke);
    let third = handle_scheduled_event(&state, &job, None).await.unwrap();
    assert_eq!(third["report"]["new_epoch"], true);
    assert_eq!(third["report"]["previous_epoch"], 40);
    assert_eq!(warms(&invoke), vec![(40, false), (41, false), (40, true)]);
}

#[tokio::test]
async fn a_failed_run_keeps_the_stored_copy_and_reports_an_error() {
    let sim = start_sim(5, 30).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let job = json!({"job": "current_epoch"});
    handle_scheduled_event(&scheduler(&t, &[sim.url()], &invoke), &job, None)
        .await
        .unwrap();
    let before = t
        .table
        .load_stats(StatsSlot::Current)
        .await
        .unwrap()
        .unwrap();

    let down = scheduler(&t, &[dead_url()], &invoke);
    let err = handle_scheduled_event(&down, &job, None).await.unwrap_err();
    assert!(
        matches!(
            err,
            JobError::Chain {
                job: "current_epoch",
                ..
            }
        ),
        "{err}"
    );
    let after = t
        .table
        .load_stats(StatsSlot::Current)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, before, "the stored copy is untouched");

    let bad = handle_scheduled_event(&down, &json!({"job": "nope"}), None)
        .await
        .unwrap_err();
    assert!(matches!(bad, JobError::Request(_)), "{bad}");
    assert_eq!(invoke.calls().len(), 1, "only the first run's warm");
}
