//! The network function (timeline, models) against DynamoDB Local and the
//! simulated chain: the scheduled refreshes, every field against the
//! chain's truth, answers from the table, stale copies while the chain is
//! down, the current-epoch alias and a finished epoch at its height.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use shared::routes::handle_network;
use shared::service::network::{refresh_models_current, refresh_timeline, Source};
use shared::table::PutOutcome;
use sim_chain::{Model, LATE_MODEL};

use crate::dynamo_local::TestTable;
use crate::support::{ctx, dead_url, get, header, json_body, start_sim};

const CURRENT: u64 = 60;

/// Each model's total weight and hosts, from the simulated chain's own
/// epoch entries (a null weight counts 0).
fn expected_weights(model: &Model, epoch: u64) -> BTreeMap<String, (i64, u64)> {
    let mut out: BTreeMap<String, (i64, u64)> = BTreeMap::new();
    for p in model.epoch_participants(epoch) {
        for (m, group) in p.models.iter().zip(&p.ml_nodes) {
            let w: i64 = group.ml_nodes.iter().filter_map(|n| n.poc_weight).sum();
            let e = out.entry(m.clone()).or_default();
            e.0 += w;
            e.1 += 1;
        }
    }
    out
}

/// The `models` array the API must serve for `models_all` at `height`.
fn expected_models(model: &Model, epoch: u64, height: u64) -> Value {
    let weights = expected_weights(model, epoch);
    Value::Array(
        model
            .models_all(height)
            .into_iter()
            .map(|m| {
                let (w, n) = weights.get(&m.id).copied().unwrap_or((0, 0));
                json!({
                    "id": m.id, "total_weight": w, "participant_count": n,
                    "proposed_by": m.proposed_by, "v_ram": m.v_ram,
                    "throughput_per_nonce": m.throughput_per_nonce,
                    "units_of_compute_per_token": m.units_of_compute_per_token,
                    "hf_repo": m.hf_repo, "hf_commit": m.hf_commit,
                    "model_args": m.model_args,
                    "validation_threshold": m.validation_threshold,
                })
            })
            .collect(),
    )
}

#[tokio::test]
async fn the_timeline_refresh_reads_every_field_from_the_chain() {
    let sim = start_sim(40, CURRENT).await;
    let t = TestTable::new().await;
    let core = ctx(&t, &[sim.url()], &[]);
    let model = sim.model();

    let r = refresh_timeline(&core).await.unwrap();
    assert_eq!(r.outcome, PutOutcome::Written);
    assert!(r.restrictions_from_chain);
    let h = model.latest_block_height();
    let body = serde_json::to_value(&r.timeline).unwrap();
    let end = model.restriction_end_block();
    let mut want = json!({
        "current_block": {"height": h, "timestamp": model.block_time(h)},
        "reference_block": {"height": h - 10_000, "timestamp": model.block_time(h - 10_000)},
        // The simulated chain's known average.
        "avg_block_time": model.block_interval_secs(),
        "events": [{"block_height": end, "description": "Money Transfer Enabled", "occurred": h >= end}],
        "current_epoch_start": model.poc_start_block_height(CURRENT),
        "current_epoch_index": CURRENT,
        "epoch_length": model.epoch_length(),
        "epoch_stages": serde_json::to_value(model.epoch_stages(CURRENT)).unwrap(),
        "next_epoch_stages": serde_json::to_value(model.epoch_stages(CURRENT + 1)).unwrap(),
    });
    want["cached_at"] = body["cached_at"].clone();
    assert_eq!(body, want);
    assert!(body["events"][0]["occurred"].as_bool().unwrap());
    // The head's time is about now (the chain's clock follows the wall clock).
    let head = chrono::DateTime::parse_from_rfc3339(&model.block_time(h)).unwrap();
    assert!((chrono::Utc::now().timestamp() - head.timestamp()).abs() < 60);

    // The next refresh replaces it, with the restrictions end block from the table.
    sim.reset_stats();
    let again = refresh_timeline(&core).await.unwrap();
    assert_eq!(again.outcome, PutOutcome::Written);
    assert!(!again.restrictions_from_chain);
    assert_eq!(sim.stats().kind("restrictions_params"), 0);
    assert_eq!(sim.stats().total, 3, "block, reference block, latest epoch");

    // The route answers from the table: no chain call.
    sim.reset_stats();
    let resp = handle_network(&core, &get("/v1/timeline", &[("accept-encoding", "gzip")])).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(sim.stats().total, 0);
    assert_eq!(header(&resp, "cache-control"), Some("public, max-age=30"));
    let served = json_body(&resp);
    assert_eq!(served, serde_json::to_value(&again.timeline).unwrap());
    let etag = header(&resp, "etag").unwrap().to_owned();
    let cached = handle_network(&core, &get("/v1/timeline", &[("if-none-match", &etag)])).await;
    assert_eq!(cached.status(), 304);
}

#[tokio::test]
async fn the_models_refresh_aggregates_the_current_epoch() {
    let sim = start_sim(60, CURRENT).await;
    let t = TestTable::new().await;
    let core = ctx(&t, &[sim.url()], &[]);
    let model = sim.model();
    let h = model.latest_block_height();

    // With a timeline stored, its average block time is copied.
    refresh_timeline(&core).await.unwrap();
    let r = refresh_models_current(&core).await.unwrap();
    assert_eq!(r.outcome, PutOutcome::Written);
    let body = serde_json::to_value(&r.models.response).unwrap();
    assert_eq!(body["epoch_id"], CURRENT);
    assert_eq!(body["height"], h);
    assert_eq!(body["is_current"], true);
    assert_eq!(body["current_block_timestamp"], model.block_time(h));
    assert_eq!(body["avg_block_time"], model.block_interval_secs());
    assert_eq!(body["models"], expected_models(&model, CURRENT, h));
    assert_eq!(
        body["stats"],
        serde_json::to_value(model.models_stats()).unwrap()
    );
    assert_eq!(body["stats_window"]["hours"], 24);
    assert_eq!(body["stats_window"]["end"], body["cached_at"]);
    // Null handling: the model nobody hosts (null validation_threshold)
    // and null poc_weights in the epoch data.
    let late = body["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == LATE_MODEL)
        .unwrap();
    assert_eq!(
        (
            late["total_weight"].as_i64(),
            late["participant_count"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert!(late["validation_threshold"].is_null());
    let has_null_weight = model
        .epoch_participants(CURRENT)
        .iter()
        .flat_map(|p| p.ml_nodes.iter().flat_map(|g| &g.ml_nodes))
        .any(|n| n.poc_weight.is_none());
    assert!(has_null_weight, "the epoch data has a null poc_weight");

    // /current and /epochs/{C} answer from the table, alike.
    sim.reset_stats();
    let current = json_body(&handle_network(&core, &get("/v1/models/current", &[])).await);
    let alias = json_body(&handle_network(&core, &get("/v1/models/epochs/60", &[])).await);
    assert_eq!(current, body);
    assert_eq!(alias, body);
    assert_eq!(sim.stats().total, 0);
    let before = model.effective_block_height(CURRENT) - 1;
    let refused = handle_network(
        &core,
        &get(&format!("/v1/models/epochs/60?height={before}"), &[]),
    )
    .await;
    assert_eq!(refused.status(), 400);
    assert!(json_body(&refused)["detail"]
        .as_str()
        .unwrap()
        .contains("before epoch 60 start"));
}

#[tokio::test]
async fn a_finished_epoch_is_read_at_its_canonical_height_once() {
    let sim = start_sim(60, CURRENT).await;
    let t = TestTable::new().await;
    let core = ctx(&t, &[sim.url()], &[]);
    let model = sim.model();
    let canonical = model.effective_block_height(CURRENT) - 10;

    let resp = handle_network(&core, &get("/v1/models/epochs/59", &[])).await;
    assert_eq!(resp.status(), 200);
    let body = json_body(&resp);
    assert_eq!(
        (body["epoch_id"].as_u64(), body["is_current"].as_bool()),
        (Some(59), Some(false))
    );
    assert_eq!(body["height"], canonical);
    // The models as they were: the late model is not there yet.
    assert_eq!(body["models"], expected_models(&model, 59, canonical));
    assert!(body["models"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["id"] != LATE_MODEL));
    assert_eq!(sim.stats().key(&format!("models_all:{canonical}")), 1);
    // The 24 h stats beside them are today's, labelled so.
    assert_eq!(
        body["stats"],
        serde_json::to_value(model.models_stats()).unwrap()
    );
    assert_eq!(body["stats_window"]["hours"], 24);
    assert!(body["current_block_timestamp"].is_null() && body["avg_block_time"].is_null());
    assert_eq!(header(&resp, "cache-control"), Some("public, max-age=300"));

    // Stored for good: the next request asks the chain nothing.
    sim.reset_stats();
    let again = json_body(&handle_network(&core, &get("/v1/models/epochs/59", &[])).await);
    assert_eq!(again["models"], body["models"]);
    assert_eq!(sim.stats().total, 0);

    // A lower height: read there, with the height budget.
    let lower = model.effective_block_height(59) + 5;
    let at = json_body(
        &handle_network(
            &core,
            &get(&format!("/v1/models/epochs/59?height={lower}"), &[]),
        )
        .await,
    );
    assert_eq!(at["height"], lower);
    assert_eq!(sim.stats().key(&format!("models_all:{lower}")), 1);
    // Bad input and a future epoch.
    for (path, status) in [
        ("/v1/models/epochs/0", 400),
        ("/v1/models/epochs/abc", 400),
        ("/v1/models/epochs/59?height=0", 400),
        ("/v1/models/epochs/61", 404),
    ] {
        let resp = handle_network(&core, &get(path, &[])).await;
        assert_eq!(resp.status(), status, "{path}");
        assert!(json_body(&resp)["detail"].is_string(), "{path}");
    }
}

#[tokio::test]
async fn stored_copies_are_served_while_the_chain_is_down() {
    let sim = start_sim(30, CURRENT).await;
    let t = TestTable::new().await;
    let live = ctx(&t, &[sim.url()], &[]);
    let down = ctx(&t, &[dead_url()], &[]);

    // Nothing stored and the chain down: 502 with a detail, nothing stored.
    for path in ["/v1/timeline", "/v1/models/current", "/v1/models/epochs/59"] {
        let resp = handle_network(&down, &get(path, &[])).await;
        assert_eq!(resp.status(), 502, "{path}");
        let detail = json_body(&resp)["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains("the chain node is unreachable"), "{detail}");
    }
    assert_eq!(t.item_count().await, 0);

    refresh_timeline(&live).await.unwrap();
    refresh_models_current(&live).await.unwrap();
    for path in ["/v1/timeline", "/v1/models/current", "/v1/models/epochs/60"] {
        let resp = handle_network(&down, &get(path, &[])).await;
        assert_eq!(resp.status(), 200, "{path}");
    }

    // A copy so old the refresh has evidently stopped: the chain is asked,
    // fails, and the copy is still served (not to be cached).
    let old = shared::service::network::timeline(&down).await.unwrap();
    assert_eq!(old.source, Source::Table);
    let stale_item = shared::table::StoredDoc {
        fetched_at_ms: 1,
        body: serde_json::to_string(&old.value).unwrap(),
    };
    let t2 = TestTable::new().await;
    shared::table::NetworkTable::store_network(
        &t2.table,
        shared::table::NetworkItem::Timeline,
        &stale_item,
    )
    .await
    .unwrap();
    let down2 = ctx(&t2, &[dead_url()], &[]);
    let resp = handle_network(&down2, &get("/v1/timeline", &[])).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "cache-control"), Some("no-store"));
    assert_eq!(json_body(&resp), serde_json::to_value(&old.value).unwrap());
    // The chain back: the stale copy is replaced.
    let back = ctx(&t2, &[sim.url()], &[]);
    let fresh = shared::service::network::timeline(&back).await.unwrap();
    assert_eq!(fresh.source, Source::Chain);
    assert!(fresh.fetched_at_ms > 1);
}

/// Only items at a requested height expire (the write rules themselves
/// are the contract tests' `table::network_items`).
#[tokio::test]
async fn only_network_items_at_a_height_expire() {
    use shared::table::{NetworkItem, NetworkTable, StoredDoc};
    let t = TestTable::new().await;
    for item in [
        NetworkItem::Timeline,
        NetworkItem::ModelsFinal(59),
        NetworkItem::ModelsAtHeight(59, 7),
    ] {
        let doc = StoredDoc {
            fetched_at_ms: 10,
            body: "{}".into(),
        };
        t.table.store_network(item, &doc).await.unwrap();
    }
    // Only items at a requested height expire.
    let items = t.scan_all().await;
    let ttl = |sk: &str| {
        items
            .iter()
            .find(|i| i["sk"].as_s().is_ok_and(|s| s == sk))
            .map(|i| i.contains_key("expires_at"))
    };
    assert_eq!(ttl("H#000000000007"), Some(true));
    assert_eq!(ttl("FINAL"), Some(false));
    assert_eq!(ttl("TIMELINE"), Some(false));
}
