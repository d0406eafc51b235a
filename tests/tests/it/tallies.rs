//! The current snapshot's tallies stored apart from its rows, on DynamoDB
//! Local: a refresh in which only the counters moved (a new block) writes
//! the tally chunks and the header, not the rows, and every reader (the
//! whole snapshot, the modal, a kept epoch answer) serves the new counters.

use serde_json::{json, Value};
use shared::epoch_stats::handle_epoch_stats;
use shared::routes::handle_participant;
use shared::service::epochs::refresh_current;
use shared::table::ports::*;
use shared::table::StatsSlot;

use crate::dynamo_local::TestTable;
use crate::support::{ctx, get, json_body, start_sim, stats, InvokeRecorder};

const CURRENT: u64 = 30;
/// Enough rows for several chunks (64 rows a chunk).
const PARTICIPANTS: usize = 300;

/// (table requests, write units) so far.
fn usage(t: &TestTable) -> (u64, f64) {
    let c = t.table.counters();
    (c.requests(), c.write_capacity_units())
}

async fn advance_blocks(sim: &sim_chain::SimChain, blocks: u64) {
    let resp = reqwest::Client::new()
        .post(format!("{}/__config", sim.url()))
        .header("content-type", "application/json")
        .body(json!({ "freeze_head": true, "advance_blocks": blocks }).to_string())
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
}

/// Each participant's counters in a list of rows, by id.
fn counters(rows: &[Value]) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = rows
        .iter()
        .map(|r| {
            (
                r["index"].as_str().unwrap().to_owned(),
                r["current_epoch_stats"].clone(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

async fn stored_rows(t: &TestTable) -> Vec<Value> {
    let snap = t
        .table
        .load_stats(StatsSlot::Current)
        .await
        .unwrap()
        .unwrap();
    snap.participants
        .iter()
        .map(|p| serde_json::to_value(p).unwrap())
        .collect()
}

#[tokio::test]
async fn a_new_block_rewrites_the_tallies_not_the_rows() {
    let sim = start_sim(PARTICIPANTS, CURRENT).await;
    advance_blocks(&sim, 0).await;
    let t = TestTable::new().await;
    let core = ctx(&t, &[sim.url()], &[]);

    let before = usage(&t);
    refresh_current(&core).await.unwrap();
    let full_write = usage(&t).1 - before.1;
    let first = t
        .table
        .load_header(StatsSlot::Current)
        .await
        .unwrap()
        .unwrap();
    assert!(first.buckets > 1, "several chunks");
    assert!(first.tallies_hash.is_some(), "the tallies are stored apart");
    let old_rows = stored_rows(&t).await;

    advance_blocks(&sim, 40).await;
    let before = usage(&t);
    refresh_current(&core).await.unwrap();
    let (requests, units) = (usage(&t).0 - before.0, usage(&t).1 - before.1);
    let second = t
        .table
        .load_header(StatsSlot::Current)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.version, first.version, "the same row chunks");
    assert_eq!(second.rows_hash, first.rows_hash);
    assert_ne!(second.tallies_hash, first.tallies_hash, "new counters");
    assert_eq!(
        requests, 3,
        "the stored header read, one BatchWriteItem of the tally chunks, the header put"
    );
    assert!(
        units * 4.0 < full_write,
        "tallies and header: {units} write units against {full_write} for the whole snapshot"
    );

    // The snapshot as read equals the same chain state written whole.
    let new_rows = stored_rows(&t).await;
    assert_ne!(
        counters(&new_rows),
        counters(&old_rows),
        "the counters moved"
    );
    let whole = TestTable::new().await;
    refresh_current(&ctx(&whole, &[sim.url()], &[]))
        .await
        .unwrap();
    assert_eq!(new_rows, stored_rows(&whole).await, "rows and rates alike");
}

#[tokio::test]
async fn the_modal_and_a_kept_answer_serve_the_new_counters() {
    let sim = start_sim(PARTICIPANTS, CURRENT).await;
    advance_blocks(&sim, 0).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    refresh_current(&ctx(&t, &[sim.url()], &[])).await.unwrap();

    // Revalidated on every request.
    let view = stats(&t, &[sim.url()], &[("HOT_REVALIDATE_SECS", "0")], &invoke);
    let current = || get("/v1/inference/current", &[]);
    let first = json_body(&handle_epoch_stats(&view, &current()).await);
    let rows = first["participants"].as_array().unwrap().clone();
    let id = rows[0]["index"].as_str().unwrap().to_owned();
    let participant = ctx(&t, &[sim.url()], &[]);
    let modal = || get(&format!("/v1/participants/{id}?epoch_id={CURRENT}"), &[]);
    let resp = handle_participant(&participant, &modal()).await;
    assert_eq!(resp.status(), 200);

    advance_blocks(&sim, 40).await;
    refresh_current(&ctx(&t, &[sim.url()], &[])).await.unwrap();
    let stored = counters(&stored_rows(&t).await);
    assert_ne!(stored, counters(&rows), "the counters moved");

    let again = json_body(&handle_epoch_stats(&view, &current()).await);
    assert_eq!(
        counters(again["participants"].as_array().unwrap()),
        stored,
        "the kept answer read again"
    );
    let before = usage(&t).0;
    let resp = handle_participant(&participant, &modal()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(usage(&t).0 - before, 1, "still one round trip");
    let body = json_body(&resp);
    let want = &stored.iter().find(|(p, _)| *p == id).unwrap().1;
    assert_eq!(&body["participant"]["current_epoch_stats"], want);
}
