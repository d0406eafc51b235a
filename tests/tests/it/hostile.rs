//! Hostile input on every route, property-based: ids with slashes, dots,
//! percent-encoding, unicode, 10 KB strings, negative and overflowing
//! numbers. Only 400/404 (or a real 200) come back, never a panic, and the
//! chain never sees a request built from an unvalidated id.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use shared::epoch_stats::handle_epoch_stats;
use shared::epoch_stats::route_epoch_stats;
use shared::routes::{handle_participant, route_participant};

use crate::dynamo_local::TestTable;
use crate::support::{get, json_body, start_sim, stats, InvokeRecorder};

/// Pieces hostile paths are made of.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("..".to_owned()),
        Just("%2e%2e%2f".to_owned()),
        Just("%2F".to_owned()),
        Just("%00".to_owned()),
        Just("gonka1".to_owned()),
        Just("gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake364".to_owned()),
        Just("GONKA14CU38XPSD8PZ5ZDKKZWF0JWTPC0VV309AKE364".to_owned()),
        Just("-1".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("99999999999999999999999999".to_owned()),
        Just("0".to_owned()),
        Just("56".to_owned()),
        "[a-zA-Z0-9._~-]{0,12}",
        "\\PC{0,8}",
        "[q]{10000}",
    ]
}

fn hostile_path() -> impl Strategy<Value = String> {
    let prefix = prop_oneof![
        Just("/v1/inference/epochs/"),
        Just("/v1/participants/"),
        Just("/v1/inference/current"),
        Just("/v1/")
    ];
    let query_key = prop_oneof![Just("epoch_id"), Just("height"), Just("reload"), Just("x")];
    (
        prefix,
        proptest::collection::vec(segment(), 0..3),
        proptest::collection::vec((query_key, segment()), 0..3),
    )
        .prop_map(|(p, segs, query)| {
            let path = format!("{p}{}", segs.join("/"));
            let query: Vec<String> = query
                .into_iter()
                .map(|(k, v)| format!("{k}={}", v.replace(['&', '#', ' '], "")))
                .collect();
            let path: String = path
                .chars()
                .filter(|c| !c.is_control() && !c.is_whitespace() && *c != '?' && *c != '#')
                .collect();
            if query.is_empty() {
                path
            } else {
                format!("{path}?{}", query.join("&"))
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Parsing alone (of what API Gateway would hand over for the path):
    /// never a panic, only a route or a 400/404.
    #[test]
    fn parsing_never_panics(path in hostile_path()) {
        // Paths that are not even URIs never reach a function.
        prop_assume!(path.parse::<lambda_http::http::Uri>().is_ok());
        let req = crate::support::request("GET", &path, &[]);
        let route = shared::http::ApiRoute::of(&req);
        let q = path.split_once('?').map(|(_, q)| q);
        match route_epoch_stats(&route, q) {
            Ok(_) => {}
            Err(e) => prop_assert!([400, 404].contains(&e.status()), "{path}: {e:?}"),
        }
        match route_participant(&route, q) {
            Ok(route) => prop_assert!(shared::ids::ParticipantId::parse(route.participant.as_str()).is_ok()),
            Err(e) => prop_assert!([400, 404].contains(&e.status()), "{path}: {e:?}"),
        }
    }
}

/// Through the handlers, against the real table and the simulated chain.
#[tokio::test]
async fn handlers_answer_hostile_requests_with_400_or_404_and_never_reach_the_chain_with_them() {
    let sim = start_sim(20, 60).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let ctx = stats(&t, &[sim.url()], &[], &invoke);
    // Serve the current epoch once so valid-looking requests have data.
    assert_eq!(
        handle_epoch_stats(&ctx, &get("/v1/inference/current", &[]))
            .await
            .status(),
        200
    );

    let mut runner = TestRunner::new(ProptestConfig {
        cases: 150,
        ..ProptestConfig::default()
    });
    let paths: Vec<String> = (0..150)
        .map(|_| hostile_path().new_tree(&mut runner).unwrap().current())
        .collect();
    // Paths that are not even URIs never reach a function (API Gateway
    // refuses them); the rest must all be answered.
    let mut exercised = 0;
    for path in &paths {
        let Ok(uri) = path.parse::<lambda_http::http::Uri>() else {
            continue;
        };
        exercised += 1;
        let req = crate::support::request("GET", &uri.to_string(), &[]);
        let resp = if path.starts_with("/v1/participants/") {
            handle_participant(&ctx.core, &req).await
        } else {
            handle_epoch_stats(&ctx, &req).await
        };
        let status = resp.status().as_u16();
        assert!([200, 400, 404].contains(&status), "{path}: {status}");
        if status != 200 {
            assert!(json_body(&resp)["detail"].is_string(), "{path}");
        }
    }
    assert!(
        exercised >= paths.len() / 2,
        "only {exercised} of {} generated paths were valid URIs",
        paths.len()
    );
    let stats = sim.stats();
    assert_eq!(
        stats.kind("unknown"),
        0,
        "no request with an unbuilt path: {:?}",
        stats
            .by_key
            .keys()
            .filter(|k| k.starts_with("unknown"))
            .collect::<Vec<_>>()
    );
    for key in stats.by_key.keys() {
        for part in key.split(':').skip(1) {
            if part.starts_with("gonkavalcons") {
                // A first view's jail fetch: an address we derived from a
                // consensus key the chain gave, never a caller's text.
                let (hrp, data) = bech32::decode(part).expect("a bech32 valcons address");
                assert_eq!((hrp.as_str(), data.len()), ("gonkavalcons", 20), "{key}");
            } else if part.starts_with("gonka") {
                assert!(
                    shared::ids::ParticipantId::parse(part).is_ok(),
                    "the chain saw an unvalidated id in {key}"
                );
            }
        }
    }
}
