//! Paginated chain reads against nodes whose `pagination.next_key` comes
//! back (issue 20, point 10): a key seen before is an error, never the end
//! of a shorter list, so nothing read that way is stored as complete; a key
//! that is new on every page is capped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::Request;
use axum::routing::get as route_get;
use axum::Router;
use serde_json::{json, Value};
use shared::chain::{Chain, ValidatorChain, VALIDATOR_MAX_PAGES};
use shared::keybase::HttpKeybase;
use shared::service::jail::refresh_current_jail;
use shared::service::keybase_names::KeybaseMemo;
use shared::table::{StatusParts, StatusTable};
use shared::ParticipantId;

use crate::dynamo_local::TestTable;
use crate::support::{ctx, serve, start_sim, unbounded};

const CURRENT: u64 = 30;
const VALIDATORS: &str = "/chain-api/cosmos/staking/v1beta1/validators";

/// A node that answers every validators page with the same `next_key`, or
/// with a new one forever.
async fn looping_node(repeat: bool) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = Router::new().route(
        VALIDATORS,
        route_get(move || {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            async move {
                let key = if repeat {
                    "c2FtZQ==".to_owned()
                } else {
                    format!("k{n}")
                };
                axum::Json(json!({
                    "validators": [{"operator_address": format!("v{n}"), "tokens": "1", "jailed": false}],
                    "pagination": {"next_key": key, "total": "0"}
                }))
            }
        }),
    );
    let (url, _task) = serve(app).await;
    (url, calls)
}

#[tokio::test]
async fn a_repeated_validator_key_is_an_error_and_pages_are_capped() {
    let t = TestTable::new().await;
    let (url, calls) = looping_node(true).await;
    let ctx_repeat = ctx(&t, &[url], &[]);
    let err = ctx_repeat.chain.validators(100).await.unwrap_err();
    assert!(err.to_string().contains("repeated"), "{err}");
    assert_eq!(calls.load(Ordering::Relaxed), 2, "stopped at the repeat");

    let (url, calls) = looping_node(false).await;
    let ctx_endless = ctx(&t, &[url], &[]);
    let err = ctx_endless.chain.validators(100).await.unwrap_err();
    assert!(err.to_string().contains("pages"), "{err}");
    assert_eq!(calls.load(Ordering::Relaxed), VALIDATOR_MAX_PAGES);
}

/// The simulated chain behind a proxy whose validators pages all come back
/// with one `next_key` (each page the simulator's first).
async fn repeating_proxy(sim_url: String) -> String {
    let client = reqwest::Client::new();
    let app = Router::new().fallback(move |req: Request| {
        let (client, sim_url) = (client.clone(), sim_url.clone());
        async move {
            let path = req.uri().path().to_owned();
            let validators = path == VALIDATORS;
            // Every validators page asked as the first one.
            let query: Vec<&str> = req
                .uri()
                .query()
                .unwrap_or("")
                .split('&')
                .filter(|p| !(validators && p.starts_with("pagination.key=")))
                .collect();
            let mut upstream = client.get(format!("{sim_url}{path}?{}", query.join("&")));
            for (name, value) in req.headers() {
                if name != "host" {
                    upstream = upstream.header(name.as_str(), value.as_bytes());
                }
            }
            let resp = upstream.send().await.unwrap();
            let status = resp.status().as_u16();
            let bytes = resp.bytes().await.unwrap_or_default();
            let mut body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            if validators {
                body["pagination"]["next_key"] = json!("c2FtZQ==");
            }
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                axum::Json(body),
            )
        }
    });
    serve(app).await.0
}

#[tokio::test]
async fn a_validator_list_cut_by_a_repeated_key_is_not_stored() {
    let sim = start_sim(40, CURRENT).await;
    let t = TestTable::new().await;
    let proxy = repeating_proxy(sim.url()).await;
    let core = ctx(&t, &[proxy], &[]);
    let http = HttpKeybase::new(&sim.url()).unwrap();
    let memo = KeybaseMemo::default();
    let keybase = unbounded(&http, &memo);
    let err = refresh_current_jail(&core.chain, &t.table, &keybase)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("repeated"), "{err}");
    let stored = t
        .table
        .load_statuses(StatusParts::both(CURRENT))
        .await
        .unwrap();
    assert!(stored.jail.is_empty(), "no jail status stored from it");

    // The same chain without the proxy: the job stores them (so the
    // emptiness above is the repeat's doing).
    let direct = ctx(&t, &[sim.url()], &[]);
    refresh_current_jail(&direct.chain, &t.table, &keybase)
        .await
        .unwrap();
    let stored = t
        .table
        .load_statuses(StatusParts::both(CURRENT))
        .await
        .unwrap();
    assert!(!stored.jail.is_empty());
}

#[tokio::test]
async fn a_repeated_authz_key_is_an_error() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = Router::new().fallback(move || {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        async move {
            axum::Json(json!({
                "grants": [{"granter": "g", "grantee": format!("e{n}"),
                    "authorization": {"@type": "/cosmos.authz.v1beta1.GenericAuthorization",
                        "msg": "/inference.inference.MsgStartInference"},
                    "expiration": null}],
                "pagination": {"next_key": "c2FtZQ==", "total": "0"}
            }))
        }
    });
    let (url, _task) = serve(app).await;
    let t = TestTable::new().await;
    let core = ctx(&t, &[url], &[]);
    let granter = ParticipantId::from_bytes(&[7u8; 20]).unwrap();
    let err = core.chain.authz_grants(&granter).await.unwrap_err();
    assert!(err.to_string().contains("repeated"), "{err}");
    assert_eq!(calls.load(Ordering::Relaxed), 2, "stopped at the repeat");
}
