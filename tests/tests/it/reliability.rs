//! Faults, races and limits: the table down or missing, throttling,
//! broken upstream answers, a chain URL down.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use shared::chain::HttpChain;
use shared::epoch_stats::bootstrap::LiveEpochStatsState;
use shared::epoch_stats::{handle_epoch_stats, EpochStatsState};
use shared::routes::handle_participant;
use shared::service::Core;
use shared::table::ports::*;
use shared::table::{DynamoTable, StatsSlot};
use shared::warm::handle_warm_event;
use sim_chain::{EndpointKind, Fault, FaultMode};

use crate::dynamo_local::{client_for, endpoint, TestTable};
use crate::support::{config, get, header, json_body, start_sim, stats, InvokeRecorder};

fn stats_with_table(
    table: DynamoTable,
    chain_url: String,
    invoke: &InvokeRecorder,
) -> LiveEpochStatsState {
    let config = config(table.table_name(), &[chain_url], &[]);
    let chain = HttpChain::new(config.chain_options()).unwrap();
    EpochStatsState::new(Core::new(chain, table, config), Some(invoke.invoker()))
}

#[tokio::test]
async fn with_the_table_missing_or_down_the_chain_answers_and_nothing_is_stored() {
    let sim = start_sim(10, 30).await;
    let invoke = InvokeRecorder::start().await;
    let tables = [
        DynamoTable::new(client_for(&endpoint()), "no-such-table"),
        DynamoTable::new(client_for(&crate::support::dead_url()), "cache"),
    ];
    for table in tables {
        let ctx = stats_with_table(table, sim.url(), &invoke);
        let current = handle_epoch_stats(&ctx, &get("/v1/inference/current", &[])).await;
        assert_eq!(current.status(), 200);
        assert_eq!(json_body(&current)["epoch_id"], 30);
        let past = handle_epoch_stats(&ctx, &get("/v1/inference/epochs/29", &[])).await;
        assert_eq!(past.status(), 200);
        assert!(json_body(&past)["total_assigned_rewards_gnk"].is_null());
        let member = sim.model().participants_in_epoch(30)[0].clone();
        let resp = handle_participant(
            &ctx.core,
            &get(&format!("/v1/participants/{member}?epoch_id=30"), &[]),
        )
        .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(json_body(&resp)["participant"]["index"], member.as_str());
        // A build at a requested height is refused: the table that counts
        // them cannot.
        let at_height =
            handle_epoch_stats(&ctx, &get("/v1/inference/epochs/28?height=1", &[])).await;
        assert_eq!(at_height.status(), 503);
        let out = handle_warm_event(&ctx.core, &serde_json::json!({"epoch_id": 30}), None).await;
        assert_eq!(out["status"], "done");
        assert_eq!(out["report"]["written"], 0);
        assert!(
            !out["report"]["failures"].as_object().unwrap().is_empty(),
            "the failure is reported"
        );
    }
    assert!(invoke.calls().is_empty(), "no lease, no warm");
}

/// A proxy in front of DynamoDB Local that throttles the first requests.
async fn throttling_proxy(throttled: u64) -> (String, Arc<AtomicU64>) {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    let seen = Arc::new(AtomicU64::new(0));
    let target = endpoint();
    let counter = seen.clone();
    let client = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let (counter, target, client) = (counter.clone(), target.clone(), client.clone());
        async move {
            if counter.fetch_add(1, Ordering::SeqCst) < throttled {
                let err = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;
                return (StatusCode::BAD_REQUEST, [("content-type", "application/x-amz-json-1.0"), ("x-amzn-errortype", "ThrottlingException")], err.as_bytes().to_vec());
            }
            let mut req = client.post(&target).body(body);
            for (k, v) in headers.iter() {
                if k != "host" && k != "content-length" {
                    req = req.header(k, v);
                }
            }
            let resp = req.send().await.unwrap();
            let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
            (status, [("content-type", "application/x-amz-json-1.0"), ("x-amzn-errortype", "")], resp.bytes().await.unwrap().to_vec())
        }
    });
    let (url, _task) = crate::support::serve(app).await;
    (url, seen)
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk() {
    let t = TestTable::new().await;
    let (proxy, seen) = throttling_proxy(2).await;
    let throttled = DynamoTable::new(client_for(&proxy), t.name.clone());
    assert_eq!(
        throttled.load_total(5).await.unwrap(),
        None,
        "answered after two throttled attempts"
    );
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    let (proxy, _) = throttling_proxy(100).await;
    let always = DynamoTable::new(client_for(&proxy), t.name.clone());
    let err = always.load_total(5).await.unwrap_err();
    assert!(err.to_string().contains("Throttling"), "{err}");
}

#[tokio::test]
async fn broken_upstream_answers_are_never_cached() {
    let sim = start_sim(20, 30).await;
    let invoke = InvokeRecorder::start().await;
    for (mode, status) in [
        (FaultMode::Status500, 502),
        (FaultMode::Truncated, 502),
        (FaultMode::WrongShape, 502),
        (FaultMode::Hang(std::time::Duration::from_secs(3)), 504),
    ] {
        let t = TestTable::new().await;
        let ctx = stats(&t, &[sim.url()], &[("CHAIN_TIMEOUT_MS", "300")], &invoke);
        sim.set_fault(EndpointKind::ParticipantList, Some(Fault::new(1.0, mode)));
        for path in ["/v1/inference/current", "/v1/inference/epochs/28"] {
            let resp = handle_epoch_stats(&ctx, &get(path, &[])).await;
            assert_eq!(resp.status(), status, "{path} {mode:?}");
            assert!(json_body(&resp)["detail"]
                .as_str()
                .unwrap()
                .starts_with("Failed to fetch"));
        }
        assert!(t
            .table
            .load_stats(StatsSlot::Current)
            .await
            .unwrap()
            .is_none());
        assert!(t
            .table
            .load_stats(StatsSlot::Final(28))
            .await
            .unwrap()
            .is_none());
        assert_eq!(t.item_count().await, 0, "{mode:?}: nothing cached");
        sim.set_fault(EndpointKind::ParticipantList, None);

        // Item answers that are broken are not stored either.
        let ok = handle_epoch_stats(&ctx, &get("/v1/inference/current", &[])).await;
        assert_eq!(ok.status(), 200);
        sim.set_fault(EndpointKind::Summary, Some(Fault::new(1.0, mode)));
        let member = sim.model().participants_in_epoch(30)[1].clone();
        let resp = handle_participant(
            &ctx.core,
            &get(&format!("/v1/participants/{member}?epoch_id=30"), &[]),
        )
        .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(header(&resp, "cache-control"), Some("no-store"));
        assert_eq!(json_body(&resp)["missing"], serde_json::json!(["rewards"]));
        let rewards = t
            .scan_all()
            .await
            .into_iter()
            .filter(|i| i["sk"].as_s().unwrap().ends_with("#REWARD"))
            .count();
        assert_eq!(rewards, 0, "{mode:?}: no reward item from a broken answer");
        sim.set_fault(EndpointKind::Summary, None);
    }
}

#[tokio::test]
async fn one_of_two_chain_urls_down_changes_no_answer() {
    let sim = start_sim(40, 30).await;
    let invoke = InvokeRecorder::start().await;
    let (direct, failover) = (TestTable::new().await, TestTable::new().await);
    let healthy = stats(&direct, &[sim.url()], &[], &invoke);
    let half_down = stats(
        &failover,
        &[crate::support::dead_url(), sim.url()],
        &[],
        &invoke,
    );
    let member = sim.model().participants_in_epoch(30)[2].clone();
    for path in [
        "/v1/inference/current".to_owned(),
        "/v1/inference/epochs/28".to_owned(),
    ] {
        let a = json_body(&handle_epoch_stats(&healthy, &get(&path, &[])).await);
        let b = json_body(&handle_epoch_stats(&half_down, &get(&path, &[])).await);
        assert_eq!(a["participants"], b["participants"], "{path}");
        assert_eq!(
            (&a["epoch_id"], &a["height"]),
            (&b["epoch_id"], &b["height"])
        );
    }
    let path = format!("/v1/participants/{member}?epoch_id=30");
    let a = json_body(&handle_participant(&healthy.core, &get(&path, &[])).await);
    let b = json_body(&handle_participant(&half_down.core, &get(&path, &[])).await);
    assert_eq!(a, b);
}

#[tokio::test]
async fn a_hanging_chain_gets_a_json_504_before_the_invocations_deadline() {
    use lambda_http::RequestExt;
    let sim = start_sim(10, 30).await;
    sim.set_fault(
        EndpointKind::Latest,
        Some(Fault::new(
            1.0,
            FaultMode::Hang(std::time::Duration::from_secs(60)),
        )),
    );
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    // Each chain call may wait 20 s: only the deadline can end the request.
    let ctx = stats(&t, &[sim.url()], &[("CHAIN_TIMEOUT_MS", "20000")], &invoke);
    let deadline_ms = shared::time::now_ms() + 3_000;
    let mut context = lambda_http::Context::default();
    context.deadline = deadline_ms as u64;
    let req = get("/v1/inference/current", &[]).with_lambda_context(context);
    let resp = handle_epoch_stats(&ctx, &req).await;
    assert!(
        shared::time::now_ms() < deadline_ms,
        "answered before the invocation's deadline"
    );
    assert_eq!(resp.status(), 504);
    assert_eq!(
        json_body(&resp)["detail"],
        "The chain node did not answer in time, please retry"
    );
}
