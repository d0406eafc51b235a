//! Hostile links through the real routes (issue 20, points 3 and 10): the
//! simulated chain's `hostile_links` knob registers script URLs, quotes and
//! tags, userinfo and Keybase names outside Keybase's charset; the epoch
//! rows and the modal serve each as null or percent-encoded, and the health
//! job never probes a URL with userinfo.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::HeaderMap;
use axum::routing::get as route_get;
use axum::Router;
use serde_json::{json, Value};
use shared::epoch_stats::handle_epoch_stats;
use shared::health::HealthProber;
use shared::keybase::HttpKeybase;
use shared::routes::handle_participant;
use shared::service::health::probe_node_health;
use shared::service::jail::refresh_current_jail;
use shared::service::keybase_names::KeybaseMemo;
use shared::table::{StatusParts, StatusTable};
use sim_chain::{Model, NodeBehaviour};

use crate::dynamo_local::TestTable;
use crate::support::{ctx, get, json_body, serve, start_sim, stats, unbounded, InvokeRecorder};

const CURRENT: u64 = 30;
const SCRIPT_TAIL: &str = r#"/"><script>alert(1)</script>"#;
const SCRIPT_TAIL_ENCODED: &str = "/%22%3E%3Cscript%3Ealert(1)%3C/script%3E";

/// What a served `inference_url` must be for the chain's `raw` one, with
/// the case it is (so the test can check every case occurred).
fn expected_inference_url(raw: &str) -> (&'static str, Value) {
    if raw.starts_with("javascript:") {
        ("javascript", Value::Null)
    } else if raw.contains("user:pw@") {
        ("userinfo", Value::Null)
    } else if let Some(base) = raw.strip_suffix(SCRIPT_TAIL) {
        ("script", json!(format!("{base}{SCRIPT_TAIL_ENCODED}")))
    } else if raw.is_empty() {
        ("empty", Value::Null)
    } else if raw.splitn(4, '/').count() == 4 {
        ("normal", json!(raw))
    } else {
        // No path: the parser writes the empty path as `/`.
        ("normal", json!(format!("{raw}/")))
    }
}

fn expected_website(raw: &str) -> (&'static str, Value) {
    match raw {
        r#"https://x.example/"><script>alert(1)</script>"# => (
            "script",
            json!(format!("https://x.example{SCRIPT_TAIL_ENCODED}")),
        ),
        r if r.starts_with("data:") => ("data", Value::Null),
        r if r.starts_with("ftp:") => ("ftp", Value::Null),
        r if r.starts_with("javascript:") => ("javascript", Value::Null),
        "" => ("empty", Value::Null),
        r if r.splitn(4, '/').count() == 4 => ("normal", json!(r)),
        // No path: the parser writes the empty path as `/`.
        r => ("normal", json!(format!("{r}/"))),
    }
}

/// Checks one served row (epoch table or modal) against the model.
fn check_row(model: &Model, row: &Value, seen: &mut BTreeSet<String>) {
    let addr = row["index"].as_str().unwrap();
    let height = model.latest_block_height();
    let listed = model.participant_list_entry(height, addr).unwrap();
    let (case, want) = expected_inference_url(&listed.inference_url);
    assert_eq!(
        row["inference_url"], want,
        "{addr}: {}",
        listed.inference_url
    );
    seen.insert(format!("inference_url {case}"));
    for field in ["inference_url", "website", "keybase_picture_url"] {
        if let Some(s) = row[field].as_str() {
            assert!(
                !s.contains(['"', '<', '>', '\'', ' ']),
                "{addr} {field}: {s}"
            );
        }
    }
    let Some(v) = model.validator_of(addr, height) else {
        return;
    };
    if row["is_jailed"].is_null() {
        return; // tokens 0: no stored status
    }
    let (case, want) = expected_website(&v.description.website);
    assert_eq!(row["website"], want, "{addr}: {}", v.description.website);
    seen.insert(format!("website {case}"));
    let identity = &v.description.identity;
    if identity.starts_with('B') {
        // Keybase answered a name no account can have: no name, no picture.
        assert_eq!(row["keybase_username"], Value::Null, "{addr}");
        assert_eq!(row["keybase_picture_url"], Value::Null, "{addr}");
        seen.insert("keybase hostile".into());
    } else if identity.starts_with('C') {
        let name = format!("user_{}", identity[10..].to_ascii_lowercase());
        assert_eq!(row["keybase_username"], json!(name), "{addr}");
        assert_eq!(
            row["keybase_picture_url"],
            json!(format!("https://keybase.io/{name}/picture?size=96")),
            "{addr}"
        );
        seen.insert("keybase mixed case".into());
    }
}

#[tokio::test]
async fn hostile_links_are_served_null_or_percent_encoded() {
    let sim = start_sim(48, CURRENT).await;
    sim.set_hostile_links(true);
    let model = sim.model();
    let t = TestTable::new().await;
    let core = ctx(&t, &[sim.url()], &[]);
    let http = HttpKeybase::new(&sim.url()).unwrap();
    let memo = KeybaseMemo::default();
    let keybase = unbounded(&http, &memo);
    refresh_current_jail(&core.chain, &t.table, &keybase)
        .await
        .unwrap();

    let invoke = InvokeRecorder::start().await;
    let state = stats(&t, &[sim.url()], &[], &invoke);
    let resp = handle_epoch_stats(&state, &get("/v1/inference/current", &[])).await;
    assert_eq!(resp.status(), 200);
    let body = json_body(&resp);
    let rows = body["participants"].as_array().unwrap();
    let mut seen = BTreeSet::new();
    for row in rows {
        check_row(&model, row, &mut seen);
    }
    for case in [
        "inference_url javascript",
        "inference_url userinfo",
        "inference_url script",
        "inference_url normal",
        "website script",
        "website data",
        "website ftp",
        "website normal",
        "keybase hostile",
        "keybase mixed case",
    ] {
        assert!(seen.contains(case), "{case} occurred: {seen:?}");
    }

    // The modal serves the same values (one participant of each case).
    let mut modal_cases = BTreeSet::new();
    for row in rows {
        let raw = model
            .participant_list_entry(model.latest_block_height(), row["index"].as_str().unwrap())
            .unwrap()
            .inference_url;
        let (case, _) = expected_inference_url(&raw);
        if !modal_cases.insert(case) {
            continue;
        }
        let path = format!(
            "/v1/participants/{}?epoch_id={CURRENT}",
            row["index"].as_str().unwrap()
        );
        let modal = handle_participant(&core, &get(&path, &[])).await;
        assert_eq!(modal.status(), 200, "{path}");
        let p = &json_body(&modal)["participant"];
        check_row(&model, p, &mut seen);
        for field in [
            "inference_url",
            "website",
            "keybase_username",
            "keybase_picture_url",
        ] {
            assert_eq!(p[field], row[field], "{path} {field}");
        }
    }
    assert!(modal_cases.len() >= 4, "{modal_cases:?}");
}

#[tokio::test]
async fn a_probe_url_with_userinfo_is_never_probed() {
    // A node that would answer 200, recording any Authorization it gets.
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/health",
        route_get(move |headers: HeaderMap| {
            counter.fetch_add(1, Ordering::Relaxed);
            assert!(headers.get("authorization").is_none());
            async { "ok" }
        }),
    );
    let (url, _task) = serve(app).await;
    let open = HealthProber::new(true).unwrap();
    assert!(open.probe(&url).await.healthy, "the node itself is up");
    let before = hits.load(Ordering::Relaxed);
    for target in [
        url.replacen("http://", "http://user@", 1),
        url.replacen("http://", "http://user:pw@", 1),
        url.replacen("http://", "http://:pw@", 1),
    ] {
        let r = open.probe(&target).await;
        assert!(!r.healthy, "{target}");
        assert_eq!(r.reason.as_deref(), Some("URL with userinfo refused"));
    }
    assert_eq!(hits.load(Ordering::Relaxed), before, "no request was sent");

    // The health job over the chain: healthy nodes registered with
    // userinfo are stored unhealthy (they were healthy without it).
    let sim = start_sim(24, CURRENT).await;
    let t = TestTable::new().await;
    let core = ctx(&t, &[sim.url()], &[]);
    let round = || async {
        probe_node_health(
            &core.chain,
            &t.table,
            &open,
            16,
            std::time::Duration::from_secs(20),
        )
        .await
        .unwrap();
        t.table
            .load_statuses(StatusParts::both(CURRENT))
            .await
            .unwrap()
            .health
    };
    let plain = round().await;
    sim.set_hostile_links(true);
    let hostile = round().await;
    let model = sim.model();
    let mut with_userinfo = 0;
    for addr in model.participants_in_epoch(CURRENT) {
        let url = model
            .epoch_participant(CURRENT, &addr)
            .unwrap()
            .inference_url;
        if url.contains("user:pw@") {
            assert_eq!(model.node_behaviour_of(&addr), Some(NodeBehaviour::Healthy));
            assert!(plain[&addr].healthy, "{addr} without userinfo");
            assert!(!hostile[&addr].healthy, "{addr} with userinfo: {url}");
            with_userinfo += 1;
        }
    }
    assert!(with_userinfo > 0, "the case occurred");
}
