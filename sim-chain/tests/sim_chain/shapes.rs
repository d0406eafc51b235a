//! The answers have the recorded fixtures' shapes, and two instances of
//! the same universe answer alike.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_have_the_fixture_shapes() {
    let chain = start(60).await;
    let url = chain.url();
    let model = chain.model();
    let addr = typical_participant(&model, 56);

    // Epoch participants: same top-level keys; `active_participants` and
    // `proof_ops` exactly as recorded; `block` a subset of the real block.
    let ours = get(&url, "/v1/epochs/current/participants").await.json();
    let by_number = get(&url, "/v1/epochs/56/participants").await.json();
    assert!(
        ours["active_participants"]["participants"]
            .as_array()
            .unwrap()
            .len()
            > 10
    );
    let f = fixture("current_epoch_participants.json");
    let top: BTreeSet<_> = ours.as_object().unwrap().keys().collect();
    let ftop: BTreeSet<_> = f.as_object().unwrap().keys().collect();
    assert_eq!(top, ftop);
    for body in [&ours, &by_number] {
        assert_same_shape(
            &body["active_participants"],
            &f["active_participants"],
            "active_participants",
            true,
        );
        assert_same_shape(&body["proof_ops"], &f["proof_ops"], "proof_ops", true);
        assert_same_shape(&body["block"], &f["block"], "block", false);
        assert_same_shape(&body["addresses"], &f["addresses"], "addresses", true);
    }

    let list = get_with(
        &url,
        &format!("{INFERENCE}/participant?pagination.limit=10000"),
        &[("X-Cosmos-Block-Height", "887711")],
    )
    .await
    .json();
    assert_eq!(list["block_height"], "887711");
    let f = fixture("all_participants_height_887711.json");
    assert_same_shape(&list, &f, "list", true);

    // Only epochs the participant took part in have a summary; at least the
    // last one (see `typical_participant`) must be compared.
    let mut summaries_compared = 0;
    for epoch in 51..=56 {
        let s = get(
            &url,
            &format!("{INFERENCE}/epoch_performance_summary/{epoch}/{addr}"),
        )
        .await;
        if s.status != 200 {
            continue;
        }
        let f = fixture(&format!(
            "epoch_performance_summary_{epoch}_gonka14cu38x.json"
        ));
        assert_same_shape(&s.json(), &f, "summary", true);
        summaries_compared += 1;
    }
    assert!(
        summaries_compared > 0,
        "no summary compared with the recordings"
    );

    let grants = get(
        &url,
        &grants_path(&addr, "pagination.limit=100&pagination.offset=0"),
    )
    .await
    .json();
    assert_eq!(grants["grants"].as_array().unwrap().len(), 24);
    let f = fixture("authz_grants_09ake364.json");
    assert_same_shape(&grants, &f, "grants", true);
    // Every message type of the recording is one of ours, module path included.
    for g in f["grants"].as_array().unwrap() {
        let msg = g["authorization"]["msg"].as_str().unwrap();
        assert!(WARM_KEY_MSG_TYPES.contains(&msg), "{msg}");
    }

    let hw = get(&url, &format!("{INFERENCE}/hardware_nodes/{addr}"))
        .await
        .json();
    assert!(!hw["nodes"]["hardware_nodes"].as_array().unwrap().is_empty());
    for name in [
        "hardware_nodes_gonka10ypwjuh.json",
        "hardware_nodes_gonka1sqwpuxk.json",
    ] {
        let f = fixture(name);
        assert_same_shape(&hw, &f, "hardware", true);
    }
}

/// A JSON body with every block time (`time`, `*_time`) blanked.
fn without_times(body: &[u8]) -> serde_json::Value {
    fn blank(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m.iter_mut() {
                    if k == "time" || k.ends_with("_time") {
                        *v = serde_json::Value::Null;
                    } else {
                        blank(v);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(blank),
            _ => {}
        }
    }
    let mut v: serde_json::Value = serde_json::from_slice(body).expect("a JSON body");
    blank(&mut v);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_answer_identically() {
    // The same node base, so inference URLs do not differ by port.
    let same_nodes = || SimConfig {
        node_base_url: Some("http://nodes.example".into()),
        ..config(25)
    };
    let a = SimChain::start(same_nodes()).await.unwrap();
    let b = SimChain::start(same_nodes()).await.unwrap();
    let other_seed = SimChain::start(SimConfig {
        seed: 43,
        ..same_nodes()
    })
    .await
    .unwrap();
    let addr = a.model().all_participants()[3].clone();
    let paths = [
        "/v1/epochs/latest".to_string(),
        "/v1/epochs/current/participants".to_string(),
        "/v1/epochs/50/participants".to_string(),
        "/chain-rpc/status".to_string(),
        "/chain-rpc/block?height=1000".to_string(),
        format!("{INFERENCE}/participant?pagination.limit=10000"),
        format!("{INFERENCE}/epoch_performance_summary/55/{addr}"),
        grants_path(&addr, "pagination.limit=100"),
        format!("{INFERENCE}/hardware_nodes/{addr}"),
        "/chain-api/cosmos/staking/v1beta1/validators?pagination.limit=10".to_string(),
    ];
    for path in &paths {
        let x = get(&a.url(), path).await;
        let y = get(&b.url(), path).await;
        // Block times follow each instance's start on the wall clock; the
        // rest is the seed's.
        assert_eq!(
            (x.status, without_times(&x.body)),
            (y.status, without_times(&y.body)),
            "{path}"
        );
    }
    let x = get(&a.url(), &paths[1]).await;
    let z = get(&other_seed.url(), &paths[1]).await;
    assert_ne!(x.body, z.body, "the seed changes the data");
}
