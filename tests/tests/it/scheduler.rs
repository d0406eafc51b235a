//! The scheduled function's jobs against DynamoDB Local and the simulated
//! chain, the warmer reached through a recording Lambda Invoke endpoint.

use serde_json::json;
use shared::schedule::{handle_scheduled_event, JobError};
use shared::table::ports::*;
use shared::table::{LeaseToken, StatsSlot};

use crate::dynamo_local::TestTable;
use crate::support::{dead_url, get, json_body, scheduler, start_sim, InvokeRecorder};
use shared::epoch_stats::handle_epoch_stats;
use shared::routes::handle_network;

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
        .release_warm_lease(40, &token, shared::time::now_ms(), None)
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

#[tokio::test]
async fn every_job_runs_from_its_input_and_the_answers_carry_what_they_stored() {
    let sim = start_sim(30, 50).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let state = scheduler(&t, &[sim.url()], &invoke);
    for job in ["current_epoch", "timeline", "models", "jail", "health"] {
        let out = handle_scheduled_event(&state, &json!({ "job": job }), None)
            .await
            .unwrap_or_else(|e| panic!("{job}: {e}"));
        assert_eq!(
            (out["job"].as_str(), out["status"].as_str()),
            (Some(job), Some("done"))
        );
        assert!(out["chain_calls"].as_u64().unwrap() > 0, "{job}: {out}");
    }
    // The scan: small steps until it completes (a bounded number of runs).
    let mut runs = 0;
    loop {
        let out = handle_scheduled_event(&state, &json!({"job": "inference_scan"}), None)
            .await
            .unwrap();
        runs += 1;
        if out["report"]["outcome"] == "completed" {
            assert!(out["report"]["published"].as_u64().unwrap() > 0, "{out}");
            break;
        }
        assert!(runs < 50, "the scan did not complete: {out}");
    }

    // Served from the table: jail and health fields are filled for the
    // current epoch's participants, the timeline and models are stored.
    let stats = crate::support::stats(&t, &[sim.url()], &[], &invoke);
    let body = json_body(&handle_epoch_stats(&stats, &get("/v1/inference/current", &[])).await);
    let rows = body["participants"].as_array().unwrap();
    assert!(
        rows.iter().any(|r| r["node_healthy"].is_boolean()),
        "{}",
        rows[0]
    );
    assert!(
        rows.iter().all(|r| r["node_health_checked_at"].is_string()),
        "{}",
        rows[0]
    );
    assert!(
        rows.iter().any(|r| r["is_jailed"].is_boolean()),
        "{}",
        rows[0]
    );
    sim.reset_stats();
    let core = crate::support::ctx(&t, &[sim.url()], &[]);
    for path in ["/v1/timeline", "/v1/models/current"] {
        let resp = handle_network(&core, &get(path, &[])).await;
        assert_eq!(resp.status(), 200, "{path}");
    }
    assert_eq!(
        sim.stats().total,
        0,
        "timeline and models came from the table"
    );
}
