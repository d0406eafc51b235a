//! Cheap and instant (issue 19), counted on DynamoDB Local: answers held
//! in instance memory between revalidations of one small read, the modal
//! in one round trip, and jobs that write only what changed.

use shared::domain::NodeHealth;
use shared::epoch_stats::handle_epoch_stats;
use shared::ids::ParticipantId;
use shared::routes::{handle_network, handle_participant};
use shared::service::epochs::refresh_current;
use shared::table::ports::*;
use shared::table::{PutOutcome, StatsSlot, StatusParts, StatusTable};

use crate::dynamo_local::TestTable;
use crate::support::{ctx, get, header, json_body, start_sim, stats, InvokeRecorder};

const CURRENT: u64 = 30;
/// The node health only.
const HEALTH: StatusParts = StatusParts {
    jail: None,
    health: true,
};

/// (table requests, read units, write units) so far.
fn usage(t: &TestTable) -> (u64, f64, f64) {
    let c = t.table.counters();
    (
        c.requests(),
        c.read_capacity_units(),
        c.write_capacity_units(),
    )
}

#[tokio::test]
async fn a_held_answer_is_served_from_memory_and_revalidated_with_one_small_read() {
    let sim = start_sim(80, CURRENT).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let held = stats(&t, &[sim.url()], &[], &invoke);
    let past = format!("/v1/inference/epochs/{}", CURRENT - 1);
    for path in ["/v1/inference/current", past.as_str()] {
        assert_eq!(
            handle_epoch_stats(&held, &get(path, &[])).await.status(),
            200
        );
    }
    // Within the window (10 s by default): no table request at all.
    sim.reset_stats();
    let before = usage(&t);
    for _ in 0..50 {
        for path in ["/v1/inference/current", past.as_str()] {
            assert_eq!(
                handle_epoch_stats(&held, &get(path, &[])).await.status(),
                200
            );
        }
    }
    assert_eq!(usage(&t).0, before.0, "100 views, no table request");
    assert_eq!(sim.stats().total, 0, "nor a chain call");

    // Revalidated on every request: one small read each, never the chunks.
    let checking = stats(&t, &[sim.url()], &[("HOT_REVALIDATE_SECS", "0")], &invoke);
    let first = handle_epoch_stats(&checking, &get(&past, &[])).await;
    let etag = header(&first, "etag").unwrap().to_owned();
    let before = usage(&t);
    for _ in 0..10 {
        let again = handle_epoch_stats(&checking, &get(&past, &[])).await;
        assert_eq!(header(&again, "etag"), Some(etag.as_str()));
    }
    let after = usage(&t);
    assert_eq!(after.0 - before.0, 10, "one request per revalidation");
    assert!(
        after.1 - before.1 <= 10.0 * 2.0,
        "small items only: {} read units for 10 checks",
        after.1 - before.1
    );

    // Health changes: the held rows are re-rendered with it (the health
    // chunks read once; the snapshot not at all), with a new ETag.
    let rows = json_body(&first);
    let id = rows["participants"][0]["index"]
        .as_str()
        .unwrap()
        .to_owned();
    let health = NodeHealth {
        participant: id.clone(),
        healthy: false,
        checked_at: "2026-12-04T00:00:00.000Z".into(),
    };
    assert_eq!(
        t.table
            .store_health(&[health], shared::time::now_ms())
            .await
            .unwrap(),
        PutOutcome::Written
    );
    let before = usage(&t);
    let changed = handle_epoch_stats(&checking, &get(&past, &[])).await;
    assert_ne!(header(&changed, "etag"), Some(etag.as_str()));
    let body = json_body(&changed);
    let row = body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["index"] == id.as_str())
        .unwrap();
    assert_eq!(row["node_healthy"], false);
    assert_eq!(
        usage(&t).0 - before.0,
        2,
        "the revision read, then the health chunks"
    );
    assert_eq!(sim.stats().total, 0);

    // The network routes are held the same way.
    let network = ctx(&t, &[sim.url()], &[]);
    assert_eq!(
        handle_network(&network, &get("/v1/timeline", &[]))
            .await
            .status(),
        200
    );
    let before = usage(&t);
    for _ in 0..20 {
        assert_eq!(
            handle_network(&network, &get("/v1/timeline", &[]))
                .await
                .status(),
            200
        );
    }
    assert_eq!(usage(&t).0, before.0, "the timeline held in memory");
}

#[tokio::test]
async fn a_modal_is_one_round_trip_once_the_instance_knows_the_header() {
    let sim = start_sim(40, CURRENT).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let epoch = CURRENT - 1;
    let view = stats(&t, &[sim.url()], &[], &invoke);
    let path = format!("/v1/inference/epochs/{epoch}");
    let body = json_body(&handle_epoch_stats(&view, &get(&path, &[])).await);
    let ids: Vec<String> = body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["index"].as_str().unwrap().to_owned())
        .collect();
    let participant = ctx(&t, &[sim.url()], &[]);
    let modal = |id: &str| get(&format!("/v1/participants/{id}?epoch_id={epoch}"), &[]);
    // The first modal reads its items through (and learns the header).
    for id in &ids[..6] {
        assert_eq!(
            handle_participant(&participant, &modal(id)).await.status(),
            200
        );
    }
    sim.reset_stats();
    for id in &ids[..6] {
        let before = usage(&t).0;
        let resp = handle_participant(&participant, &modal(id)).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(json_body(&resp)["participant"]["index"], id.as_str());
        assert_eq!(usage(&t).0 - before, 1, "one BatchGetItem for {id}");
    }
    assert_eq!(sim.stats().total, 0);
    // Another instance learns the header with its first modal.
    let fresh = ctx(&t, &[sim.url()], &[]);
    let before = usage(&t).0;
    handle_participant(&fresh, &modal(&ids[0])).await;
    assert_eq!(usage(&t).0 - before, 2);
    let _ = ParticipantId::parse(&ids[0]).unwrap();
}

#[tokio::test]
async fn the_current_snapshot_is_written_again_only_when_its_rows_change() {
    let sim = start_sim(120, CURRENT).await;
    let t = TestTable::new().await;
    let core = ctx(&t, &[sim.url()], &[]);
    refresh_current(&core).await.unwrap();
    let first = t
        .table
        .load_header(StatsSlot::Current)
        .await
        .unwrap()
        .unwrap();
    let before = usage(&t);
    refresh_current(&core).await.unwrap();
    let after = usage(&t);
    let second = t
        .table
        .load_header(StatsSlot::Current)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.version, first.version, "the same chunks");
    assert!(second.fetched_at_ms > first.fetched_at_ms, "a newer header");
    assert_eq!(
        after.0 - before.0,
        2,
        "the stored header read, the header put"
    );
    assert!(
        after.2 - before.2 <= 2.0,
        "the header only: {} write units",
        after.2 - before.2
    );
    // Its chunks expire within the hour, not a day.
    let chunk_ttls: Vec<i64> = t
        .scan_all()
        .await
        .iter()
        .filter(|i| i["pk"].as_s().is_ok_and(|p| p.starts_with("SNAP#")))
        .filter_map(|i| i.get("expires_at")?.as_n().ok()?.parse().ok())
        .collect();
    assert!(!chunk_ttls.is_empty());
    let now = shared::time::now_ms() / 1000;
    assert!(
        chunk_ttls.iter().all(|t| *t <= now + 3_600),
        "{chunk_ttls:?}"
    );
}

#[tokio::test]
async fn status_chunks_are_written_only_when_their_content_changes() {
    let t = TestTable::new().await;
    let rows = |healthy_until: usize, at: &str| -> Vec<NodeHealth> {
        (0..200)
            .map(|i| NodeHealth {
                participant: format!("p{i:03}"),
                healthy: i >= healthy_until,
                checked_at: at.into(),
            })
            .collect()
    };
    let t0 = 1_000_000;
    t.table.store_health(&rows(0, "a"), t0).await.unwrap();
    let stored = t.table.load_statuses(HEALTH).await.unwrap();
    // The same results a minute later, in another order (probes finish
    // in any order): no chunk written, nothing changes.
    let mut shuffled = rows(0, "b");
    shuffled.reverse();
    let before = usage(&t);
    t.table.store_health(&shuffled, t0 + 60_000).await.unwrap();
    let after = usage(&t);
    assert_eq!(after.2, before.2, "no write at all");
    assert_eq!(after.0 - before.0, 1, "the revision item read");
    let again = t.table.load_statuses(HEALTH).await.unwrap();
    assert_eq!(again.health_revision, stored.health_revision);
    // One node goes down: its chunk and the revision item are written.
    let before = usage(&t);
    t.table
        .store_health(&rows(1, "c"), t0 + 120_000)
        .await
        .unwrap();
    let after = usage(&t);
    assert_eq!(
        after.0 - before.0,
        3,
        "read the revision, write one chunk and the revision"
    );
    let changed = t.table.load_statuses(HEALTH).await.unwrap();
    assert_ne!(changed.health_revision, stored.health_revision);
    assert!(!changed.health["p000"].healthy);
    // Unchanged results are written again once due a restamp (their probe
    // time stays at most that old).
    let due = t0 + 120_000 + shared::table::HEALTH_RESTAMP_MS;
    t.table.store_health(&rows(1, "d"), due).await.unwrap();
    let restamped = t.table.load_statuses(HEALTH).await.unwrap();
    assert!(restamped.health.values().all(|h| h.checked_at == "d"));

    // Jail statuses: the same content again writes nothing.
    let jail: Vec<shared::domain::JailStatus> = (0..100)
        .map(|i| shared::domain::JailStatus {
            participant: format!("p{i:03}"),
            is_jailed: i % 7 == 0,
            validator: shared::domain::ValidatorInfo {
                moniker: Some(format!("m{i}")),
                ..Default::default()
            },
        })
        .collect();
    t.table.store_jail(9, &jail, t0, false).await.unwrap();
    let before = usage(&t);
    assert_eq!(
        t.table.store_jail(9, &jail, t0 + 1, false).await.unwrap(),
        PutOutcome::Written
    );
    assert_eq!(
        usage(&t).2,
        before.2,
        "unchanged jail statuses write nothing"
    );
    // Final at the canonical height: every chunk, then never replaced.
    t.table.store_jail(9, &jail, t0 + 2, true).await.unwrap();
    assert!(t.table.jail_is_final(9).await.unwrap());
}
