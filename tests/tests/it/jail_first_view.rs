//! A finished epoch's jail statuses from its first view: fetched at the
//! canonical height before answering (else `no-store`), then stored final
//! by the warm with Keybase's answers.

use chrono::{DateTime, Utc};
use shared::epoch_stats::handle_epoch_stats;
use shared::keybase::HttpKeybase;
use shared::service::jail::warm_finished_jail;
use shared::service::keybase_names::KeybaseMemo;
use shared::table::ports::*;
use shared::table::{StatsSlot, StatusParts, StatusTable};
use sim_chain::{EndpointKind, Fault, FaultMode};

use crate::dynamo_local::TestTable;
use crate::jail_health::{expected_status, CURRENT};
use crate::support::{get, header, json_body, start_sim, stats, unbounded, InvokeRecorder};

#[tokio::test]
async fn a_finished_epoch_is_fetched_once_at_its_canonical_height_and_shown_after() {
    let sim = start_sim(120, CURRENT).await;
    let model = sim.model();
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    // Revalidated on every request (the default holds an answer 10 s).
    let state = stats(&t, &[sim.url()], &[("HOT_REVALIDATE_SECS", "0")], &invoke);
    let epoch = CURRENT - 1;
    let path = format!("/v1/inference/epochs/{epoch}");

    // The chain's validator list failing: the first view is served without
    // jail statuses (null, never an error), and browsers must not keep it.
    sim.set_fault(
        EndpointKind::Validators,
        Some(Fault::new(1.0, FaultMode::Status503)),
    );
    let before = handle_epoch_stats(&state, &get(&path, &[])).await;
    assert_eq!(before.status(), 200);
    assert_eq!(
        header(&before, "cache-control"),
        Some("no-store"),
        "an answer without jail statuses is not kept by browsers"
    );
    let body = json_body(&before);
    assert!(body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["is_jailed"].is_null() && p["node_healthy"].is_null()));
    let etag_before = header(&before, "etag").unwrap().to_owned();
    sim.set_fault(EndpointKind::Validators, None);

    // With the chain answering, another instance's first view is complete:
    // the statuses are fetched at the canonical height before answering
    // (Keybase is not asked: usernames come with the warm's final copy).
    let other = stats(&t, &[sim.url()], &[("HOT_REVALIDATE_SECS", "0")], &invoke);
    let first = handle_epoch_stats(&other, &get(&path, &[])).await;
    assert_eq!(header(&first, "cache-control"), Some("public, max-age=60"));
    let canonical_of_view = json_body(&first)["height"].as_u64().unwrap();
    let mut jailed_rows = 0;
    for row in json_body(&first)["participants"].as_array().unwrap() {
        let addr = row["index"].as_str().unwrap();
        let want = expected_status(&model, epoch, addr, canonical_of_view);
        assert_eq!(
            row["is_jailed"].as_bool(),
            want.as_ref().map(|w| w.is_jailed),
            "{addr}"
        );
        assert_eq!(
            row["moniker"].as_str(),
            want.as_ref().and_then(|w| w.validator.moniker.as_deref()),
            "{addr}"
        );
        jailed_rows += usize::from(row["is_jailed"] == true);
    }
    assert!(jailed_rows > 0, "the rule is exercised");
    let first_stored = t
        .table
        .load_statuses(StatusParts::both(epoch))
        .await
        .unwrap();
    assert!(first_stored
        .jail
        .values()
        .all(|s| s.validator.keybase_username.is_none()));
    let etag_first = header(&first, "etag").unwrap().to_owned();

    let http = HttpKeybase::new(&sim.url()).unwrap();
    let memo = KeybaseMemo::default();
    let keybase = unbounded(&http, &memo);
    let report = warm_finished_jail(&state.core.chain, &t.table, &keybase, epoch)
        .await
        .unwrap();
    assert!(report.is_final && report.written && !report.skipped);
    let canonical = t
        .table
        .load_stats(StatsSlot::Final(epoch))
        .await
        .unwrap()
        .unwrap()
        .header
        .height;
    assert_eq!(report.height, canonical);
    assert_ne!(
        model.epoch_at_height(canonical),
        model.epoch_at_height(model.latest_block_height())
    );
    let stored = t
        .table
        .load_statuses(StatusParts::both(epoch))
        .await
        .unwrap();
    let mut differs_from_latest = 0;
    for addr in model.participants_in_epoch(epoch) {
        let want = expected_status(&model, epoch, &addr, canonical);
        assert_eq!(stored.jail.get(&addr), want.as_ref(), "{addr}");
        let latest = model.validator_of(&addr, model.latest_block_height());
        if let (Some(w), Some(l)) = (&want, latest) {
            differs_from_latest += usize::from(w.is_jailed != l.jailed);
        }
    }
    assert!(
        differs_from_latest > 0,
        "read at the canonical height, not the latest"
    );

    // Once stored final, never fetched again.
    sim.reset_stats();
    let second = warm_finished_jail(&state.core.chain, &t.table, &keybase, epoch)
        .await
        .unwrap();
    assert!(second.skipped);
    assert_eq!(sim.stats().total, 0);

    // The next views show them (usernames too), with a new ETag (the kept
    // renderings are outdated).
    let other_after = handle_epoch_stats(&other, &get(&path, &[])).await;
    assert_ne!(header(&other_after, "etag").unwrap(), etag_first);
    let after = handle_epoch_stats(&state, &get(&path, &[])).await;
    assert_eq!(after.status(), 200);
    assert_ne!(header(&after, "etag").unwrap(), etag_before);
    assert_eq!(header(&after, "cache-control"), Some("public, max-age=60"));
    let body = json_body(&after);
    let now: DateTime<Utc> = Utc::now();
    for row in body["participants"].as_array().unwrap() {
        let addr = row["index"].as_str().unwrap();
        match stored.jail.get(addr) {
            Some(s) => {
                assert_eq!(row["is_jailed"], s.is_jailed, "{addr}");
                assert_eq!(row["moniker"], serde_json::json!(s.validator.moniker));
                assert_eq!(row["website"], serde_json::json!(s.validator.website));
                assert_eq!(
                    row["ready_to_unjail"],
                    shared::domain::jail::ready_to_unjail(s, now),
                    "{addr}"
                );
            }
            None => assert!(row["is_jailed"].is_null(), "{addr}"),
        }
    }
}

/// A first view whose jail fetch cannot finish within
/// `FIRST_VIEW_JAIL_WAIT_MS` is answered at once, `no-store`; only the
/// epochs the dashboard offers fetch them at all.
#[tokio::test]
async fn a_first_view_cut_by_its_wait_or_outside_the_window_is_not_kept() {
    let sim = start_sim(60, CURRENT).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let hurried = stats(
        &t,
        &[sim.url()],
        &[("FIRST_VIEW_JAIL_WAIT_MS", "0")],
        &invoke,
    );
    let resp = handle_epoch_stats(
        &hurried,
        &get(&format!("/v1/inference/epochs/{}", CURRENT - 1), &[]),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "cache-control"), Some("no-store"));
    assert!(json_body(&resp)["participants"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["is_jailed"].is_null()));

    // An epoch older than the dashboard's window: no jail fetch.
    let state = stats(&t, &[sim.url()], &[], &invoke);
    handle_epoch_stats(&state, &get("/v1/inference/current", &[])).await;
    sim.reset_stats();
    let old = handle_epoch_stats(&state, &get("/v1/inference/epochs/5", &[])).await;
    assert_eq!(old.status(), 200);
    assert_eq!(header(&old, "cache-control"), Some("no-store"));
    assert_eq!(sim.stats().kind("validators"), 0);
}
