//! Node health: the SSRF guard on real sockets (stub nodes on loopback)
//! and the probe round over the simulated chain's nodes, stored in
//! DynamoDB Local and served.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::routing::get as route_get;
use axum::Router;
use chrono::DateTime;
use shared::domain::NodeHealth;
use shared::epoch_stats::handle_epoch_stats;
use shared::health::{HealthProber, ProbeFailure};
use shared::routes::handle_participant;
use shared::service::health::{probe_node_health, MAX_CARRIED_AGE_MS};
use shared::table::{StatusParts, StatusTable};
use sim_chain::NodeBehaviour;

use crate::dynamo_local::TestTable;
use crate::support::{ctx, get, json_body, serve, start_sim, stats, InvokeRecorder};

const CURRENT: u64 = 30;

/// A stub node: `/health` answers `status`, counting the requests it got.
async fn stub_node(status: u16) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/health",
        route_get(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            async move {
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    [(axum::http::header::LOCATION, "/ok")],
                    "x".repeat(100_000),
                )
            }
        }),
    );
    let (url, _task) = serve(app).await;
    (url, hits)
}

#[tokio::test]
async fn the_guard_refuses_private_targets_and_redirects() {
    let (ok_url, ok_hits) = stub_node(200).await;
    let (redirect_url, _) = stub_node(302).await;
    let port = ok_url.rsplit(':').next().unwrap();
    let strict = HealthProber::new(false).unwrap();
    let open = HealthProber::new(true).unwrap();

    // Setting off: loopback by IP literal, by name (resolved, then
    // refused), `0.0.0.0`, the metadata address: refused without a request.
    for target in [
        ok_url.clone(),
        format!("http://localhost:{port}"),
        format!("http://0.0.0.0:{port}"),
        format!("http://[::ffff:127.0.0.1]:{port}"),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next".to_owned(),
        "file:///etc/passwd".to_owned(),
    ] {
        let r = strict.probe(&target).await;
        assert!(!r.healthy, "{target}");
        assert!(r.reason.is_some(), "{target}: a reason for the logs");
    }
    assert_eq!(ok_hits.load(Ordering::Relaxed), 0, "no connection was made");

    // Setting on: the same node is healthy; a redirect is still not followed.
    let r = open.probe(&ok_url).await;
    assert!(r.healthy, "{r:?}");
    assert_eq!(ok_hits.load(Ordering::Relaxed), 1);
    let r = open.probe(&redirect_url).await;
    assert!(!r.healthy);
    assert_eq!(r.reason.as_deref(), Some("HTTP 302"));
}

#[tokio::test]
async fn node_health_of_every_current_participant() {
    let sim = start_sim(60, CURRENT).await;
    let model = sim.model();
    let t = TestTable::new().await;
    let ctx = ctx(&t, &[sim.url()], &[]);
    let open = HealthProber::new(true).unwrap();
    let report = probe_node_health(
        &ctx.chain,
        &t.table,
        &open,
        64,
        std::time::Duration::from_secs(20),
    )
    .await
    .unwrap();
    let members = model.participants_in_epoch(CURRENT);
    assert_eq!(report.participants, members.len());
    assert_eq!(report.not_probed, 0);
    let stored = t
        .table
        .load_statuses(StatusParts::both(CURRENT))
        .await
        .unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    for addr in &members {
        let behaviour = model.node_behaviour_of(addr).unwrap();
        kinds.insert(format!("{behaviour:?}").chars().take(4).collect::<String>());
        let h = &stored.health[addr];
        assert_eq!(
            h.healthy,
            behaviour == NodeBehaviour::Healthy,
            "{addr}: {behaviour:?}"
        );
        assert!(h.checked_at.ends_with('Z'));
        DateTime::parse_from_rfc3339(&h.checked_at).unwrap();
    }
    assert_eq!(
        kinds.len(),
        4,
        "healthy, 503, redirect and unreachable all probed"
    );
    // The round's summary counts the unhealthy by kind.
    let by_kind = &report.unhealthy_by_kind;
    assert_eq!(by_kind.values().sum::<usize>(), report.unhealthy);
    assert!(
        by_kind.get(&ProbeFailure::HttpStatus) > Some(&0),
        "{by_kind:?}"
    );
    assert!(
        by_kind.get(&ProbeFailure::Unreachable) > Some(&0),
        "{by_kind:?}"
    );

    // With the guard on, every simulated node (on loopback) is refused.
    let strict = HealthProber::new(false).unwrap();
    let report = probe_node_health(
        &ctx.chain,
        &t.table,
        &strict,
        64,
        std::time::Duration::from_secs(20),
    )
    .await
    .unwrap();
    let stored = t
        .table
        .load_statuses(StatusParts::both(CURRENT))
        .await
        .unwrap();
    assert!(members.iter().all(|a| !stored.health[a].healthy));
    assert_eq!(
        report.unhealthy_by_kind,
        std::collections::BTreeMap::from([(ProbeFailure::Refused, members.len())])
    );

    // Served in the current epoch's rows and the modal.
    let invoke = InvokeRecorder::start().await;
    let state = stats(&t, &[sim.url()], &[], &invoke);
    let resp = handle_epoch_stats(&state, &get("/v1/inference/current", &[])).await;
    let body = json_body(&resp);
    for row in body["participants"].as_array().unwrap() {
        assert_eq!(row["node_healthy"], false);
        assert!(row["node_health_checked_at"]
            .as_str()
            .unwrap()
            .ends_with('Z'));
    }
    let addr = &members[0];
    let modal = handle_participant(
        &ctx,
        &get(&format!("/v1/participants/{addr}?epoch_id={CURRENT}"), &[]),
    )
    .await;
    assert_eq!(modal.status(), 200);
    assert_eq!(json_body(&modal)["participant"]["node_healthy"], false);
}

/// A round cut short keeps each unprobed node's last result and probe
/// time, but not one older than a day: that one is dropped, not restamped.
#[tokio::test]
async fn a_node_not_probed_keeps_its_last_result_for_a_day_only() {
    let sim = start_sim(40, CURRENT).await;
    let members = sim.model().participants_in_epoch(CURRENT);
    let t = TestTable::new().await;
    let ctx = ctx(&t, &[sim.url()], &[]);
    let now = shared::time::now_ms();
    let (recent_at, old_at) = (now - 3_600_000, now - 2 * MAX_CARRIED_AGE_MS);
    let rows: Vec<NodeHealth> = members
        .iter()
        .enumerate()
        .map(|(i, p)| NodeHealth {
            participant: p.clone(),
            healthy: i % 3 == 0,
            checked_at: shared::time::rfc3339_ms(if i % 2 == 0 { recent_at } else { old_at }),
        })
        .collect();
    t.table.store_health(&rows, now - 60_000).await.unwrap();

    // No time for any probe.
    let open = HealthProber::new(true).unwrap();
    let report = probe_node_health(&ctx.chain, &t.table, &open, 8, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(report.not_probed, members.len());
    let old = members.len() / 2;
    assert!(old > 0);
    assert_eq!(report.dropped_stale, old);
    let stored = t
        .table
        .load_statuses(StatusParts::both(CURRENT))
        .await
        .unwrap()
        .health;
    let kept: std::collections::HashMap<String, NodeHealth> = rows
        .into_iter()
        .filter(|r| r.checked_at == shared::time::rfc3339_ms(recent_at))
        .map(|r| (r.participant.clone(), r))
        .collect();
    assert_eq!(
        stored, kept,
        "recent results kept as they were, old ones dropped"
    );
}
