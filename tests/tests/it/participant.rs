//! The participant modal through its handler, against DynamoDB Local and
//! the simulated chain or the fixture replay.

use serde_json::{json, Value};
use shared::routes::handle_participant;
use shared::service::epochs::{current_epoch, epoch_by_id};
use shared::warm::warm_epoch;
use sim_chain::{EndpointKind, Fault, FaultMode, Model};

use crate::dynamo_local::TestTable;
use crate::replay::{self, Replay};
use crate::support::{ctx, dead_url, get, header, json_body, start_sim, warm_job, LiveCore};

const CURRENT: u64 = 30;

/// The modal as the contract's rules give it, from the chain's model.
fn expected_modal(model: &Model, addr: &str, epoch: u64, is_current: bool) -> Value {
    let newest = if is_current { epoch - 1 } else { epoch };
    let rewards: Vec<Value> = (epoch.saturating_sub(5).max(1)..=newest)
        .rev()
        .filter_map(|e| model.performance_summary(e, addr).map(|s| json!({"epoch_id": e, "assigned_reward_gnk": (s.stats.rewarded_coins as u128 / 1_000_000_000) as u64, "claimed": s.claimed})))
        .collect();
    let map = model.ml_nodes_map(epoch, addr).unwrap_or_default();
    let ml_nodes: Vec<Value> = model
        .hardware_nodes(addr)
        .unwrap_or_default()
        .into_iter()
        .map(|n| {
            json!({"local_id": n.local_id, "status": n.status, "models": n.models, "hardware": n.hardware.iter().map(|h| json!({"type": h.kind, "count": h.count})).collect::<Vec<_>>(),
                   "host": n.host, "port": n.port, "poc_weight": map.get(&n.local_id)})
        })
        .collect();
    let entry = model.epoch_participant(epoch, addr).unwrap();
    json!({
        "rewards": rewards,
        "seed": {"participant": addr, "epoch_index": epoch, "signature": entry.seed.signature},
        "warm_keys": model.warm_keys(addr).into_iter().map(|k| json!({"grantee_address": k.grantee_address, "granted_at": k.granted_at})).collect::<Vec<_>>(),
        "ml_nodes": ml_nodes,
    })
}

fn assert_modal(body: &Value, model: &Model, addr: &str, epoch: u64, is_current: bool) {
    let want = expected_modal(model, addr, epoch, is_current);
    for part in ["rewards", "seed", "warm_keys", "ml_nodes"] {
        assert_eq!(body[part], want[part], "{part} of {addr} in epoch {epoch}");
    }
    assert_eq!(body["participant"]["index"], addr);
    assert_eq!(
        body["participant"]["weight"],
        model.epoch_participant(epoch, addr).unwrap().weight
    );
    assert!(body.get("missing").is_none());
}

async fn modal(ctx: &LiveCore, addr: &str, epoch: u64) -> lambda_http::Response<lambda_http::Body> {
    handle_participant(
        ctx,
        &get(&format!("/v1/participants/{addr}?epoch_id={epoch}"), &[]),
    )
    .await
}

#[tokio::test]
async fn after_a_warm_run_each_modal_is_two_table_reads_and_no_upstream_call() {
    let sim = start_sim(80, CURRENT).await;
    let model = sim.model();
    let t = TestTable::new().await;
    let ctx = ctx(&t, &[sim.url()], &[]);
    for (epoch, finished) in [(CURRENT, false), (CURRENT - 2, true)] {
        if finished {
            epoch_by_id(&ctx, epoch, None).await.unwrap();
        } else {
            current_epoch(&ctx).await.unwrap();
        }
        let report = warm_epoch(&ctx, &warm_job(epoch, finished), None).await;
        assert!(report.failures.is_empty());
        sim.reset_stats();
        for addr in model.participants_in_epoch(epoch) {
            let before = t.table.counters().requests();
            let resp = modal(&ctx, &addr, epoch).await;
            assert_eq!(resp.status(), 200, "{addr}");
            // Two reads in sequence, the jail and health chunks beside the second.
            assert!(
                t.table.counters().requests() - before <= 3,
                "{addr}: {} table requests",
                t.table.counters().requests() - before
            );
            assert_modal(&json_body(&resp), &model, &addr, epoch, !finished);
        }
        assert_eq!(
            sim.stats().total,
            0,
            "epoch {epoch}: every modal came from the table"
        );
    }
}

#[tokio::test]
async fn before_any_warm_run_it_reads_through_and_then_serves_from_the_table() {
    let sim = start_sim(40, CURRENT).await;
    let model = sim.model();
    let t = TestTable::new().await;
    let ctx = ctx(&t, &[sim.url()], &[]);
    // Nothing cached at all: the epoch is built too.
    let addrs = model.participants_in_epoch(CURRENT);
    for (i, addr) in addrs.iter().take(6).enumerate() {
        let epoch = if i % 2 == 0 { CURRENT } else { CURRENT - 4 };
        let resp = modal(&ctx, addr, epoch).await;
        if !model.is_in_epoch(epoch, addr) {
            assert_eq!(resp.status(), 404);
            continue;
        }
        assert_eq!(resp.status(), 200);
        assert_modal(&json_body(&resp), &model, addr, epoch, epoch == CURRENT);
        let cache_control = header(&resp, "cache-control").unwrap();
        if epoch == CURRENT {
            assert_eq!(cache_control, "public, max-age=30");
        } else {
            assert!(
                ["public, max-age=60", "public, max-age=300"].contains(&cache_control),
                "{cache_control}"
            );
        }
        sim.reset_stats();
        let before = t.table.counters().requests();
        let again = modal(&ctx, addr, epoch).await;
        assert_eq!(json_body(&again), json_body(&resp));
        assert_eq!(
            sim.stats().total,
            0,
            "served from the table the second time"
        );
        assert!(t.table.counters().requests() - before <= 3);
    }
}

#[tokio::test]
async fn the_recorded_participant_comes_out_as_the_contract_says() {
    let chain = Replay::start().await;
    let t = TestTable::new().await;
    let ctx = ctx(&t, std::slice::from_ref(&chain.url), &[]);
    let body = json_body(&modal(&ctx, replay::FIXTURE_PARTICIPANT, replay::EPOCH).await);
    // Current epoch 56: rewards of 55..51 from the recorded summaries.
    assert_eq!(
        body["rewards"],
        json!([
            {"epoch_id": 55, "assigned_reward_gnk": 0, "claimed": false},
            {"epoch_id": 54, "assigned_reward_gnk": 50842, "claimed": true},
            {"epoch_id": 53, "assigned_reward_gnk": 48552, "claimed": true},
            {"epoch_id": 52, "assigned_reward_gnk": 0, "claimed": false},
            {"epoch_id": 51, "assigned_reward_gnk": 0, "claimed": false},
        ])
    );
    assert_eq!(
        body["warm_keys"],
        json!([{"grantee_address": "gonka1tt6mlr3r50uey8kxkktlxv8ht9zyrd4dtnvemu", "granted_at": "2026-10-13T11:37:45.826503545Z"}])
    );
    assert_eq!(body["seed"]["participant"], replay::FIXTURE_PARTICIPANT);
    assert_eq!(body["seed"]["epoch_index"], 56);
    assert!(body["seed"]["signature"]
        .as_str()
        .unwrap()
        .starts_with("ed2e4448"));
    assert_eq!(
        body["ml_nodes"],
        json!([]),
        "no hardware was recorded for this participant"
    );
    assert_eq!(body["participant"]["weight"], 37778);

    let hw = json_body(&modal(&ctx, replay::HARDWARE_PARTICIPANT, replay::EPOCH).await);
    let nodes = hw["ml_nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 12);
    assert_eq!(
        nodes[0],
        json!({"local_id": "cluster1-ml-01", "status": "INFERENCE", "models": ["Qwen/Qwen3-235B-A22B-Instruct-2507-FP8"], "hardware": [], "host": "176.56.204.32", "port": "8080", "poc_weight": 3620})
    );
    assert!(
        nodes.iter().all(|n| n["poc_weight"].is_i64()),
        "every recorded node has a weight in the epoch"
    );

    let served = chain.requests();
    let again = json_body(&modal(&ctx, replay::FIXTURE_PARTICIPANT, replay::EPOCH).await);
    assert_eq!(again, body);
    assert_eq!(chain.requests(), served);
}

#[tokio::test]
async fn hostile_ids_get_400_before_any_io() {
    let sim = start_sim(10, CURRENT).await;
    let t = TestTable::new().await;
    let ctx = ctx(&t, &[sim.url()], &[]);
    let long = format!("gonka1{}", "q".repeat(2000));
    let wrong_prefix = sim_chain::encode_address(&[3u8; 20]).replacen("gonka", "cosmos", 1);
    let cases = [
        ("/v1/participants/..%2F..%2Fx?epoch_id=30".to_owned(), 400),
        (format!("/v1/participants/{long}?epoch_id=30"), 400),
        (format!("/v1/participants/{wrong_prefix}?epoch_id=30"), 400),
        (
            "/v1/participants/cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu?epoch_id=30".to_owned(),
            400,
        ),
        ("/v1/participants/gonka1%00?epoch_id=30".to_owned(), 400),
        ("/v1/participants/../../x?epoch_id=30".to_owned(), 404),
    ];
    let before = t.table.counters().requests();
    for (path, status) in cases {
        let resp = handle_participant(&ctx, &get(&path, &[])).await;
        assert_eq!(resp.status(), status, "{path}");
        assert!(json_body(&resp)["detail"].is_string());
    }
    assert_eq!(sim.stats().total, 0, "no upstream request");
    assert_eq!(t.table.counters().requests(), before, "no table request");
}

#[tokio::test]
async fn errors_say_what_is_wrong() {
    let sim = start_sim(30, CURRENT).await;
    let model = sim.model();
    let t = TestTable::new().await;
    let ctx = ctx(&t, &[sim.url()], &[]);
    let member = model.participants_in_epoch(CURRENT)[0].clone();
    let outsider = model
        .all_participants()
        .into_iter()
        .find(|a| !model.is_in_epoch(CURRENT, a))
        .unwrap();
    let stranger = sim_chain::encode_address(&[7u8; 20]);
    let cases = [
        (
            format!("/v1/participants/{member}"),
            400,
            "epoch_id is required".to_owned(),
        ),
        (
            format!("/v1/participants/{member}?epoch_id=abc"),
            400,
            "Invalid epoch ID: must be a positive integer".to_owned(),
        ),
        (
            format!("/v1/participants/{member}?epoch_id=0"),
            400,
            "Invalid epoch ID: must be at least 1".to_owned(),
        ),
        (
            format!("/v1/participants/{member}?epoch_id=30&height=-1"),
            400,
            "Invalid height: must be a positive integer".to_owned(),
        ),
        (
            format!("/v1/participants/{member}?epoch_id=31"),
            404,
            "Epoch 31 not found (the current epoch is 30)".to_owned(),
        ),
        (
            format!("/v1/participants/{outsider}?epoch_id=30"),
            404,
            format!("Participant {outsider} not found in epoch 30"),
        ),
        (
            format!("/v1/participants/{stranger}?epoch_id=30"),
            404,
            format!("Participant {stranger} not found in epoch 30"),
        ),
    ];
    for (path, status, detail) in cases {
        let resp = handle_participant(&ctx, &get(&path, &[])).await;
        assert_eq!(
            (resp.status().as_u16(), json_body(&resp)),
            (status, json!({ "detail": detail })),
            "{path}"
        );
    }
    // Chain unreachable and nothing cached: 502.
    let empty = TestTable::new().await;
    let down = crate::support::ctx(&empty, &[dead_url()], &[]);
    let resp = modal(&down, &member, CURRENT).await;
    assert_eq!(resp.status(), 502);
}

#[tokio::test]
async fn a_partly_cached_modal_lists_what_is_missing_and_is_not_cached() {
    let sim = start_sim(30, CURRENT).await;
    let model = sim.model();
    let t = TestTable::new().await;
    let ctx = ctx(&t, &[sim.url()], &[]);
    current_epoch(&ctx).await.unwrap();
    sim.set_fault(
        EndpointKind::Authz,
        Some(Fault::new(1.0, FaultMode::Status503)),
    );
    warm_epoch(&ctx, &warm_job(CURRENT, false), None).await;
    let addr = model.participants_in_epoch(CURRENT)[3].clone();
    let resp = modal(&ctx, &addr, CURRENT).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "cache-control"), Some("no-store"));
    let body = json_body(&resp);
    assert_eq!(body["missing"], json!(["warm_keys"]));
    assert_eq!(body["warm_keys"], json!([]));
    let want = expected_modal(&model, &addr, CURRENT, true);
    assert_eq!(
        (&body["rewards"], &body["ml_nodes"]),
        (&want["rewards"], &want["ml_nodes"])
    );

    // When the chain is back, the gap is filled and cached.
    sim.set_fault(EndpointKind::Authz, None);
    let healed = json_body(&modal(&ctx, &addr, CURRENT).await);
    assert_modal(&healed, &model, &addr, CURRENT, true);
}
