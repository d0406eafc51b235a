//! Each sample event in `events/` goes through the function's handler, as
//! `sam local invoke -e` or `cargo lambda invoke --data-file` would send it.

use std::path::Path;

use shared::epoch_stats::handle_epoch_stats;
use shared::routes::{handle_network, handle_participant};
use shared::schedule::handle_scheduled_event;
use shared::service::inference_scan::{scan_step, ScanOutcome, ScanSettings};
use shared::warm::handle_warm_event;
use sim_chain::{SimChain, SimConfig};

use crate::dynamo_local::TestTable;
use crate::support::{self, header, json_body, stats, without_lease_token, InvokeRecorder};

fn event(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn api_event(name: &str) -> lambda_http::Request {
    lambda_http::request::from_str(&event(name))
        .unwrap_or_else(|e| panic!("{name} is not an API Gateway event: {e}"))
}

#[tokio::test]
async fn each_sample_event_gets_the_right_answer() {
    // The events were written for the simulated chain's default data.
    let sim = SimChain::start(SimConfig::default()).await.unwrap();
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let ctx = stats(&t, &[sim.url()], &[], &invoke);

    let resp = handle_epoch_stats(&ctx, &api_event("current.json")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        header(&resp, "content-encoding"),
        Some("gzip"),
        "the event accepts gzip"
    );
    assert_eq!(header(&resp, "access-control-allow-origin"), Some("*"));
    let body = json_body(&resp);
    assert_eq!(
        (body["epoch_id"].as_u64(), body["is_current"].as_bool()),
        (Some(60), Some(true))
    );

    let body = json_body(&handle_epoch_stats(&ctx, &api_event("epoch.json")).await);
    assert_eq!(
        (body["epoch_id"].as_u64(), body["is_current"].as_bool()),
        (Some(59), Some(false))
    );
    assert!(!body["participants"].as_array().unwrap().is_empty());

    let resp = handle_participant(&ctx.core, &api_event("participant.json")).await;
    assert_eq!(resp.status(), 200);
    let body = json_body(&resp);
    assert_eq!(
        body["participant"]["index"],
        "gonka14ygpc7tgawyca7hrn2w0yxld5sttusdgua8d4l"
    );
    assert_eq!(body["seed"]["epoch_index"], 60);

    // The network function's three routes.
    let model = sim.model();
    let resp = handle_network(&ctx.core, &api_event("timeline.json")).await;
    assert_eq!(resp.status(), 200);
    let body = json_body(&resp);
    assert_eq!(body["current_block"]["height"], model.latest_block_height());
    assert_eq!(body["current_epoch_index"], 60);
    let body = json_body(&handle_network(&ctx.core, &api_event("models_current.json")).await);
    assert_eq!(
        (body["epoch_id"].as_u64(), body["is_current"].as_bool()),
        (Some(60), Some(true))
    );
    let body = json_body(&handle_network(&ctx.core, &api_event("models_epoch.json")).await);
    assert_eq!(
        (body["epoch_id"].as_u64(), body["is_current"].as_bool()),
        (Some(59), Some(false))
    );
    assert!(!body["models"].as_array().unwrap().is_empty());

    // Before any inference scan: empty and not yet collected; after one:
    // the participant's record, with when the scan completed.
    let inferences = api_event("participant_inferences.json");
    let body = json_body(&handle_participant(&ctx.core, &inferences).await);
    assert_eq!(body["cached_at"], serde_json::Value::Null);
    let settings = ScanSettings {
        page_budget: 100,
        ..ScanSettings::default()
    };
    let report = scan_step(&ctx.core.chain, &ctx.core.table, &settings)
        .await
        .unwrap();
    assert_eq!(report.outcome, ScanOutcome::Completed);
    let resp = handle_participant(&ctx.core, &inferences).await;
    assert_eq!(resp.status(), 200);
    let body = json_body(&resp);
    assert_eq!(
        (body["participant_id"].as_str(), body["epoch_id"].as_u64()),
        (
            Some("gonka14ygpc7tgawyca7hrn2w0yxld5sttusdgua8d4l"),
            Some(60)
        )
    );
    assert!(body["cached_at"].as_str().unwrap().ends_with('Z'));

    let payload: serde_json::Value = serde_json::from_str(&event("warmer.json")).unwrap();
    let sent: Vec<serde_json::Value> = invoke
        .calls()
        .into_iter()
        .map(|c| c.payload)
        .filter(|p| p["epoch_id"] == 59)
        .collect();
    assert_eq!(
        without_lease_token(&sent[0]),
        payload,
        "the payload epoch-stats sends, but its lease token"
    );
    // epoch-stats' trigger above holds epoch 59's warm lease for the run it
    // invoked (only recorded here): the event, without a token, waits.
    let out = handle_warm_event(&ctx.core, &payload, None).await;
    assert_eq!(out["status"], "skipped");
    // The invoked run itself, holding the lease, runs.
    let out = handle_warm_event(&ctx.core, &sent[0], None).await;
    assert_eq!(out["status"], "done");
    assert!(out["report"]["written"].as_u64().unwrap() > 0);
    assert!(out["report"]["failures"].as_object().unwrap().is_empty());

    let scheduler = support::scheduler(&t, &[sim.url()], &invoke);
    // Each schedule's input (template.yaml) names its job.
    for (file, job) in [
        ("scheduler-current-epoch.json", "current_epoch"),
        ("scheduler-timeline.json", "timeline"),
        ("scheduler-models.json", "models"),
        ("scheduler-jail.json", "jail"),
        ("scheduler-health.json", "health"),
        ("scheduler-inference-scan.json", "inference_scan"),
        ("scheduler-history-backfill.json", "history_backfill"),
    ] {
        let input: serde_json::Value = serde_json::from_str(&event(file)).unwrap();
        let out = handle_scheduled_event(&scheduler, &input, None)
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            (out["job"].as_str(), out["status"].as_str()),
            (Some(job), Some("done")),
            "{file}"
        );
        if job == "current_epoch" {
            assert_eq!(out["report"]["epoch"], 60);
        }
    }
}
