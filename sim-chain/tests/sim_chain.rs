//! End-to-end tests of the simulated chain over real HTTP.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use common::{assert_same_shape, fixture, get, get_raw, get_with, post, url_encode};
use serde_json::Value;
use sim_chain::{
    is_valid_address, EndpointKind, Fault, FaultMode, Grant, HardwareNode, ListParticipant, Model,
    PerformanceSummary, SimChain, SimConfig, WARM_KEY_MSG_TYPES,
};

const INFERENCE: &str = "/chain-api/productscience/inference/inference";

fn config(participants: usize) -> SimConfig {
    SimConfig {
        participants,
        ..SimConfig::default()
    }
}

async fn start(participants: usize) -> SimChain {
    SimChain::start(config(participants))
        .await
        .expect("start sim-chain")
}

fn grants_path(addr: &str, query: &str) -> String {
    format!("/chain-api/cosmos/authz/v1beta1/grants/granter/{addr}?{query}")
}

/// A past-epoch participant with a non-empty summary and hardware with GPU info.
fn typical_participant(model: &Model, epoch: u64) -> String {
    model
        .participants_in_epoch(epoch)
        .into_iter()
        .find(|a| {
            let hw = model.hardware_nodes(a).unwrap_or_default();
            model.grants(a).len() == 24
                && hw.iter().all(|n| !n.hardware.is_empty())
                && !hw.is_empty()
                && model
                    .performance_summary(epoch, a)
                    .is_some_and(|s| s.claimed)
        })
        .expect("a typical participant")
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_heights_and_times_are_consistent() {
    let chain = start(20).await;
    let url = chain.url();
    let model = chain.model();
    let c = model.current_epoch();
    let h = model.latest_block_height();

    let latest = get(&url, "/v1/epochs/latest").await.json();
    assert_eq!(latest["block_height"], h);
    assert_eq!(latest["latest_epoch"]["index"], c);
    assert_eq!(
        latest["latest_epoch"]["poc_start_block_height"],
        model.poc_start_block_height(c)
    );
    assert_eq!(
        latest["epoch_stages"]["next_poc_start"],
        model.poc_start_block_height(c + 1)
    );
    assert_eq!(
        latest["epoch_stages"]["set_new_validators"],
        model.effective_block_height(c)
    );
    assert_eq!(latest["next_epoch_stages"]["epoch_index"], c + 1);
    assert_eq!(
        latest["next_epoch_stages"]["set_new_validators"],
        model.effective_block_height(c + 1)
    );
    assert_eq!(latest["epoch_params"]["epoch_length"], model.epoch_length());

    let status = get(&url, "/chain-rpc/status").await.json();
    assert_eq!(
        status["result"]["sync_info"]["latest_block_height"],
        h.to_string()
    );

    let block = get(&url, "/chain-rpc/block?height=887700").await;
    assert_eq!(block.status, 200);
    let header = &block.json()["result"]["block"]["header"];
    assert_eq!(header["height"], "887700");
    let time = header["time"].as_str().unwrap();
    assert_eq!(time, model.block_time(887_700));
    assert!(
        time.ends_with('Z') && time.len() >= 20 && &time[10..11] == "T",
        "{time}"
    );

    for bad in [format!("{}", h + 1), "0".to_string(), "abc".to_string()] {
        let r = get(&url, &format!("/chain-rpc/block?height={bad}")).await;
        assert_eq!(r.status, 500, "{bad}");
        let v = r.json();
        assert_eq!(v["jsonrpc"], "2.0");
        assert!(v["error"]["data"].is_string());
    }

    let ap = get(&url, &format!("/v1/epochs/{}/participants", c - 4))
        .await
        .json();
    let ap = &ap["active_participants"];
    assert_eq!(ap["epoch_id"], c - 4);
    assert_eq!(ap["epoch_group_id"], c - 4);
    assert_eq!(
        ap["effective_block_height"],
        model.effective_block_height(c - 4)
    );
    assert_eq!(
        ap["poc_start_block_height"],
        model.effective_block_height(c - 4) - 187
    );
    assert_eq!(
        ap["created_at_block_height"],
        model.effective_block_height(c - 4) - 2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epoch_participants_rules() {
    let chain = start(40).await;
    let url = chain.url();
    let model = chain.model();
    let c = model.current_epoch();

    let current = get(&url, "/v1/epochs/current/participants").await;
    let explicit = get(&url, &format!("/v1/epochs/{c}/participants")).await;
    assert_eq!(current.status, 200);
    assert_eq!(current.body, explicit.body);

    let v = current.json();
    let listed: Vec<&str> = v["active_participants"]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["index"].as_str().unwrap())
        .collect();
    assert_eq!(listed, model.participants_in_epoch(c));
    assert!(listed.len() < 40, "some participants sit out an epoch");
    for p in v["active_participants"]["participants"].as_array().unwrap() {
        let nodes: i64 = p["ml_nodes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["ml_nodes"].as_array().unwrap())
            // A null weight counts 0.
            .map(|n| n["poc_weight"].as_i64().unwrap_or(0))
            .sum();
        assert_eq!(p["weight"].as_i64().unwrap(), nodes);
        assert_eq!(p["seed"]["epoch_index"], c);
        assert_eq!(p["seed"]["signature"].as_str().unwrap().len(), 128);
    }

    let next = get(&url, &format!("/v1/epochs/{}/participants", c + 1)).await;
    assert_eq!(next.status, 404);
    assert_eq!(next.json()["code"], 5);
    for bad in ["0", "abc", "-1"] {
        let r = get(&url, &format!("/v1/epochs/{bad}/participants")).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.json()["code"], 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participant_list_follows_the_height() {
    let chain = start(30).await;
    let url = chain.url();
    let model = chain.model();
    let list_at = |h: u64| {
        let url = url.clone();
        async move {
            let r = get_with(
                &url,
                &format!("{INFERENCE}/participant?pagination.limit=10000"),
                &[("X-Cosmos-Block-Height", &h.to_string())],
            )
            .await;
            assert_eq!(r.status, 200);
            let v = r.json();
            assert_eq!(v["block_height"], h.to_string());
            serde_json::from_value::<Vec<ListParticipant>>(v["participant"].clone()).unwrap()
        }
    };

    let early = list_at(model.effective_block_height(55) + 100).await;
    let late = list_at(model.effective_block_height(56) - 10).await;
    assert_eq!(early.len(), 30, "the list holds the whole universe");
    let addrs: Vec<String> = late.iter().map(|p| p.index.clone()).collect();
    assert_eq!(addrs, model.all_participants());
    for a in &addrs {
        assert!(is_valid_address(a), "{a}");
        let (hrp, data) = bech32::decode(a).unwrap();
        assert_eq!((hrp.as_str(), data.len()), ("gonka", 20));
    }
    let mut grew = false;
    for (e, l) in early.iter().zip(&late) {
        assert_eq!(e.weight, -1);
        assert!(e.current_epoch_stats.inference_count <= l.current_epoch_stats.inference_count);
        grew |= e.current_epoch_stats.inference_count < l.current_epoch_stats.inference_count;
    }
    assert!(grew, "counters grow within an epoch");
    assert!(late
        .iter()
        .any(|p| p.current_epoch_stats.missed_requests > 0));
    assert!(late
        .iter()
        .any(|p| p.current_epoch_stats.invalidated_inferences > 0));
    assert!(late
        .iter()
        .any(|p| p.current_epoch_stats.inference_count == 0));
    assert!(late.iter().any(|p| p.status == "ACTIVE"));
    assert_eq!(
        late,
        model.participant_list(model.effective_block_height(56) - 10)
    );

    // No header: the latest height.
    let latest = get(
        &url,
        &format!("{INFERENCE}/participant?pagination.limit=10000"),
    )
    .await
    .json();
    assert_eq!(
        latest["block_height"],
        model.latest_block_height().to_string()
    );
    // A future height is rejected.
    let future = get_with(
        &url,
        &format!("{INFERENCE}/participant?pagination.limit=10000"),
        &[(
            "X-Cosmos-Block-Height",
            &(model.latest_block_height() + 1).to_string(),
        )],
    )
    .await;
    assert_eq!(future.status, 400);
    // Without a limit, Cosmos' default page of 100 applies.
    let small = start(150).await;
    let page = get(&small.url(), &format!("{INFERENCE}/participant"))
        .await
        .json();
    assert_eq!(page["participant"].as_array().unwrap().len(), 100);
    assert!(page["pagination"]["next_key"].is_string());
    assert_eq!(page["pagination"]["total"], "150");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_paginate_by_key_and_by_offset() {
    let chain = start(20).await;
    let url = chain.url();
    let model = chain.model();
    let all = model.all_participants();
    let big = all
        .iter()
        .find(|a| model.grants(a).len() > 100)
        .expect("someone has more than 100 grants");
    let expected = model.grants(big);

    // By next_key.
    let mut seen: Vec<Grant> = Vec::new();
    let mut query = "pagination.limit=100".to_string();
    let mut pages = 0;
    loop {
        let v = get(&url, &grants_path(big, &query)).await.json();
        pages += 1;
        seen.extend(serde_json::from_value::<Vec<Grant>>(v["grants"].clone()).unwrap());
        match v["pagination"]["next_key"].as_str() {
            Some(key) => query = format!("pagination.limit=100&pagination.key={}", url_encode(key)),
            None => break,
        }
        assert!(pages < 10);
    }
    assert!(pages >= 2);
    assert_eq!(seen, expected);

    // By offset, the tracker's way: pages of 100 until a short page.
    let mut seen: Vec<Grant> = Vec::new();
    let mut offset = 0;
    loop {
        let v = get(
            &url,
            &grants_path(
                big,
                &format!("pagination.limit=100&pagination.offset={offset}"),
            ),
        )
        .await
        .json();
        let page: Vec<Grant> = serde_json::from_value(v["grants"].clone()).unwrap();
        let n = page.len();
        seen.extend(page);
        offset += 100;
        if n < 100 {
            break;
        }
    }
    assert_eq!(seen, expected);
    let unique: BTreeSet<(String, String)> = seen
        .iter()
        .map(|g| (g.grantee.clone(), g.authorization.msg.clone()))
        .collect();
    assert_eq!(unique.len(), expected.len(), "every grant exactly once");

    // The limit is capped at 1000, and a missing limit means 100 plus a total.
    let v = get(&url, &grants_path(big, "pagination.limit=5000"))
        .await
        .json();
    assert_eq!(v["grants"].as_array().unwrap().len(), expected.len());
    assert!(v["pagination"]["next_key"].is_null());
    assert_eq!(v["pagination"]["total"], "0");
    let v = get(&url, &grants_path(big, "")).await.json();
    assert_eq!(v["grants"].as_array().unwrap().len(), 100);
    assert_eq!(v["pagination"]["total"], expected.len().to_string());

    // Someone has none; an unknown (valid) granter has none; an invalid one is rejected.
    let none = all
        .iter()
        .find(|a| model.grants(a).is_empty())
        .expect("someone without grants");
    let v = get(&url, &grants_path(none, "pagination.limit=100"))
        .await
        .json();
    assert_eq!(v["grants"], Value::Array(vec![]));
    assert!(v["pagination"]["next_key"].is_null());
    let stranger = sim_chain::encode_address(&[7u8; 20]);
    let v = get(&url, &grants_path(&stranger, "pagination.limit=100"))
        .await
        .json();
    assert_eq!(v["grants"], Value::Array(vec![]));
    let r = get(
        &url,
        &grants_path("gonka1notanaddress", "pagination.limit=100"),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = get(&url, &grants_path(big, "pagination.key=%21%21")).await;
    assert_eq!(r.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_key_traps_and_expirations() {
    let model = Model::new(&config(50));
    let mut saw_trap = false;
    let mut saw_multiple = false;
    for addr in model.all_participants() {
        let grants = model.grants(&addr);
        let mut by_grantee: HashMap<&str, (BTreeSet<&str>, BTreeSet<&str>)> = HashMap::new();
        for g in &grants {
            assert_eq!(g.granter, addr);
            let entry = by_grantee.entry(&g.grantee).or_default();
            entry
                .0
                .insert(g.authorization.msg.rsplit('.').next().unwrap());
            entry.1.insert(&g.expiration);
        }
        let exact: BTreeSet<&str> = WARM_KEY_MSG_TYPES
            .iter()
            .map(|t| t.rsplit('.').next().unwrap())
            .collect();
        let mut qualifying = Vec::new();
        for (grantee, (names, expirations)) in &by_grantee {
            assert_eq!(expirations.len(), 1, "one expiration per grantee");
            if exact.is_subset(names) {
                qualifying.push(*grantee);
            } else if names.contains("MsgJoinTrainingStatus") && !names.contains("MsgJoinTraining")
            {
                saw_trap = true;
            }
        }
        let warm: BTreeSet<String> = model
            .warm_keys(&addr)
            .into_iter()
            .map(|k| k.grantee_address)
            .collect();
        assert_eq!(warm, qualifying.iter().map(|s| s.to_string()).collect());
        saw_multiple |= warm.len() > 1;
    }
    assert!(saw_trap && saw_multiple);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summaries_exist_only_for_finished_epochs_of_members() {
    let chain = start(40).await;
    let url = chain.url();
    let model = chain.model();
    let c = model.current_epoch();
    let path = |e: &str, a: &str| format!("{INFERENCE}/epoch_performance_summary/{e}/{a}");

    let member = model.participants_in_epoch(c - 1).remove(0);
    let r = get(&url, &path(&(c - 1).to_string(), &member)).await;
    assert_eq!(r.status, 200);
    let s: PerformanceSummary =
        serde_json::from_value(r.json()["epochPerformanceSummary"].clone()).unwrap();
    assert_eq!(Some(s), model.performance_summary(c - 1, &member));

    let absent = model
        .all_participants()
        .into_iter()
        .find(|a| !model.is_in_epoch(50, a))
        .expect("someone sat out epoch 50");
    let stranger = sim_chain::encode_address(&[9u8; 20]);
    for (epoch, addr) in [
        (c.to_string(), member.clone()),
        ((c + 1).to_string(), member.clone()),
        ("0".to_string(), member.clone()),
        ("50".to_string(), absent),
        ("50".to_string(), stranger),
        ("50".to_string(), "gonka1bad".to_string()),
        ("50".to_string(), "..".to_string()),
    ] {
        let r = get_raw(&url, &path(&epoch, &addr)).await;
        assert_eq!(r.status, 404, "{epoch}/{addr}");
        assert_eq!(
            r.json(),
            serde_json::json!({"code": 5, "message": "not found", "details": []})
        );
    }
    assert_eq!(get(&url, &path("abc", &member)).await.status, 400);

    // The mix over past epochs: claimed with big rewards, unclaimed, zero rewards.
    let summaries: Vec<PerformanceSummary> = (c - 6..c)
        .flat_map(|e| {
            let model = &model;
            model
                .participants_in_epoch(e)
                .into_iter()
                .filter_map(move |a| model.performance_summary(e, &a))
        })
        .collect();
    assert!(summaries
        .iter()
        .any(|s| s.claimed && s.stats.rewarded_coins > 1_000_000_000_000));
    assert!(summaries
        .iter()
        .any(|s| !s.claimed && s.stats.rewarded_coins > 0));
    assert!(summaries.iter().any(|s| s.stats.rewarded_coins == 0));
    assert!(summaries
        .iter()
        .all(|s| !s.claimed || s.stats.rewarded_coins > 0));

    // After an epoch transition, the previous current epoch gets its summaries.
    chain.set_current_epoch(c + 1);
    let member_c = chain.model().participants_in_epoch(c).remove(0);
    assert_eq!(
        get(&url, &path(&c.to_string(), &member_c)).await.status,
        200
    );
    let latest = get(&url, "/v1/epochs/latest").await.json();
    assert_eq!(latest["latest_epoch"]["index"], c + 1);
    assert_eq!(
        get(&url, &format!("/v1/epochs/{}/participants", c + 1))
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardware_nodes_cases() {
    let chain = start(30).await;
    let url = chain.url();
    let model = chain.model();
    let all = model.all_participants();
    let path = |a: &str| format!("{INFERENCE}/hardware_nodes/{a}");

    let mut saw_empty = false;
    let mut saw_no_gpu_info = false;
    let mut saw_unmatched = false;
    let mut saw_matched = false;
    for a in &all {
        let v = get(&url, &path(a)).await.json();
        assert_eq!(v["nodes"]["participant"], a.as_str());
        let nodes: Vec<HardwareNode> =
            serde_json::from_value(v["nodes"]["hardware_nodes"].clone()).unwrap();
        assert_eq!(Some(&nodes), model.hardware_nodes(a).as_ref());
        saw_empty |= nodes.is_empty();
        saw_no_gpu_info |= nodes.iter().any(|n| n.hardware.is_empty());
        if let Some(map) = model.ml_nodes_map(55, a) {
            saw_unmatched |= nodes.iter().any(|n| !map.contains_key(&n.local_id));
            saw_matched |= nodes.iter().any(|n| map.contains_key(&n.local_id));
        }
    }
    assert!(saw_empty && saw_no_gpu_info && saw_unmatched && saw_matched);
    let stranger = sim_chain::encode_address(&[3u8; 20]);
    assert_eq!(get(&url, &path(&stranger)).await.status, 404);
    assert_eq!(get(&url, &path("not-an-address")).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_every_chain_request() {
    let chain = start(10).await;
    let url = chain.url();
    let model = chain.model();
    let addr = model.all_participants()[0].clone();

    get(&url, "/v1/epochs/latest").await;
    get(&url, "/v1/epochs/current/participants").await;
    get(&url, "/v1/epochs/56/participants").await;
    get(&url, "/v1/epochs/56/participants").await;
    get(&url, "/chain-rpc/status").await;
    get(&url, "/chain-rpc/block?height=887700").await;
    get_with(
        &url,
        &format!("{INFERENCE}/participant?pagination.limit=10000"),
        &[("X-Cosmos-Block-Height", "887711")],
    )
    .await;
    get(
        &url,
        &format!("{INFERENCE}/epoch_performance_summary/56/{addr}"),
    )
    .await;
    get(
        &url,
        &grants_path(&addr, "pagination.limit=100&pagination.offset=0"),
    )
    .await;
    get(
        &url,
        &grants_path(&addr, "pagination.limit=100&pagination.offset=100"),
    )
    .await;
    get(&url, &format!("{INFERENCE}/hardware_nodes/{addr}")).await;
    get_raw(&url, "/v1/inference/../../etc/passwd").await;
    get(&url, "/evil").await;
    get(&url, "/__health").await;
    get(&url, "/__config").await;

    let s = chain.stats();
    assert_eq!(s.total, 13, "{s:?}");
    assert_eq!(s.kind("epoch_participants"), 3);
    assert_eq!(s.kind("authz"), 2);
    assert_eq!(s.kind("unknown"), 2);
    assert_eq!(s.key("latest"), 1);
    assert_eq!(s.key("status"), 1);
    assert_eq!(s.key("epoch_participants:current"), 1);
    assert_eq!(s.key("epoch_participants:56"), 2);
    assert_eq!(s.key("block:887700"), 1);
    assert_eq!(s.key("participant_list:887711"), 1);
    assert_eq!(s.key(&format!("summary:56:{addr}")), 1);
    assert_eq!(s.key(&format!("authz:{addr}")), 2);
    assert_eq!(s.key(&format!("hardware:{addr}")), 1);
    assert_eq!(s.key("unknown:/evil"), 1);
    assert_eq!(s.keys_with_prefix("unknown:"), 2);
    assert_eq!(s.failures_injected, 0);

    let over_http: sim_chain::Stats =
        serde_json::from_value(get(&url, "/__stats").await.json()).unwrap();
    assert_eq!(over_http, s);
    assert_eq!(post(&url, "/__stats/reset", "").await.status, 200);
    assert_eq!(chain.stats().total, 0);
    let unknown = get(&url, "/nope").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["code"], 12);
    chain.reset_stats();
    assert_eq!(chain.stats(), sim_chain::Stats::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_injected_at_the_configured_rate() {
    let chain = start(10).await;
    let url = chain.url();
    let addr = chain.model().participants_in_epoch(55).remove(0);
    let summary = format!("{INFERENCE}/epoch_performance_summary/55/{addr}");

    chain.set_fault(
        EndpointKind::Summary,
        Some(Fault::new(0.3, FaultMode::Status503)),
    );
    let mut failed = 0;
    for _ in 0..200 {
        match get(&url, &summary).await.status {
            503 => failed += 1,
            200 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert!((35..=85).contains(&failed), "{failed} of 200 at rate 0.3");
    assert_eq!(chain.stats().failures_injected, failed);
    assert_eq!(
        chain.stats().kind("summary"),
        200,
        "faulted requests are counted too"
    );
    // Other kinds are unaffected.
    assert_eq!(get(&url, "/chain-rpc/status").await.status, 200);

    let normal = {
        chain.set_fault(EndpointKind::Summary, None);
        get(&url, &summary).await
    };
    assert_eq!(normal.status, 200);

    chain.set_fault(
        EndpointKind::Summary,
        Some(Fault::new(1.0, FaultMode::Status500)),
    );
    assert_eq!(get(&url, &summary).await.status, 500);

    chain.set_fault(
        EndpointKind::Summary,
        Some(Fault::new(1.0, FaultMode::Truncated)),
    );
    let r = get(&url, &summary).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), normal.body.len() / 2);
    assert_eq!(&r.body[..], &normal.body[..r.body.len()]);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());

    chain.set_fault(
        EndpointKind::Summary,
        Some(Fault::new(1.0, FaultMode::WrongShape)),
    );
    let r = get(&url, &summary).await;
    assert_eq!(
        (r.status, r.json()),
        (200, serde_json::json!({"unexpected": true}))
    );

    chain.set_fault(
        EndpointKind::Summary,
        Some(Fault::new(1.0, FaultMode::Hang(Duration::from_millis(150)))),
    );
    let t = Instant::now();
    let r = get(&url, &summary).await;
    assert!(t.elapsed() >= Duration::from_millis(150));
    assert_eq!((r.status, &r.body), (200, &normal.body));

    // Over HTTP: set and clear.
    let cfg = post(
        &url,
        "/__config",
        r#"{"faults":{"summary":{"rate":1,"mode":"503"},"authz":{"rate":0.5,"mode":"hang:10"}}}"#,
    )
    .await
    .json();
    assert_eq!(
        cfg["faults"]["summary"],
        serde_json::json!({"rate": 1.0, "mode": "503"})
    );
    assert_eq!(cfg["faults"]["authz"]["mode"], "hang:10");
    assert_eq!(get(&url, &summary).await.status, 503);
    let cfg = post(&url, "/__config", r#"{"faults":{"summary":null}}"#)
        .await
        .json();
    assert!(cfg["faults"].get("summary").is_none());
    assert_eq!(get(&url, &summary).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_overlaps_for_concurrent_requests() {
    let chain = start(10).await;
    let url = chain.url();
    chain.set_latency(Duration::from_millis(100));

    let t = Instant::now();
    let requests = (0..16).map(|i| {
        let url = url.clone();
        tokio::spawn(async move {
            let path = if i % 2 == 0 {
                "/chain-rpc/status"
            } else {
                "/v1/epochs/latest"
            };
            get(&url, path).await.status
        })
    });
    for r in requests.collect::<Vec<_>>() {
        assert_eq!(r.await.unwrap(), 200);
    }
    let elapsed = t.elapsed();
    assert!(elapsed >= Duration::from_millis(100), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(600),
        "requests did not overlap: {elapsed:?}"
    );

    // Control endpoints are not delayed.
    let t = Instant::now();
    assert_eq!(get(&url, "/__health").await.status, 200);
    assert!(t.elapsed() < Duration::from_millis(100));

    let cfg = post(&url, "/__config", r#"{"latency_ms":0,"current_epoch":61}"#)
        .await
        .json();
    assert_eq!(
        (cfg["latency_ms"].as_u64(), cfg["current_epoch"].as_u64()),
        (Some(0), Some(61))
    );
    assert_eq!(chain.model().current_epoch(), 61);
    assert_eq!(
        post(&url, "/__config", r#"{"latency":5}"#).await.status,
        400
    );
    assert_eq!(
        post(&url, "/__config", r#"{"current_epoch":0}"#)
            .await
            .status,
        400
    );
    assert_eq!(
        post(
            &url,
            "/__config",
            r#"{"faults":{"summary":{"rate":2,"mode":"503"}}}"#
        )
        .await
        .status,
        400
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_universe_stays_fast() {
    let t = Instant::now();
    let chain = start(10_000).await;
    let url = chain.url();
    let path = format!("{INFERENCE}/participant?pagination.limit=10000");
    let first = get(&url, &path).await;
    assert_eq!(first.status, 200);
    assert!(first.body.len() > 4_000_000, "{} bytes", first.body.len());
    let t2 = Instant::now();
    let second = get(&url, &path).await;
    assert_eq!(first.body, second.body);
    assert!(
        t2.elapsed() < Duration::from_secs(1),
        "cached body: {:?}",
        t2.elapsed()
    );
    let epoch = get(&url, "/v1/epochs/current/participants").await;
    assert_eq!(epoch.status, 200);
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_starts_prints_its_url_and_stops_on_sigterm() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_sim-chain"))
        .args([
            "--port",
            "0",
            "--participants",
            "12",
            "--current-epoch",
            "30",
        ])
        .args(["--fault", "summary=0.5:503"])
        .env("SIM_SEED", "5")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sim-chain");
    let stdout = child.stdout.take().unwrap();
    // Blocks until the ready line (or EOF if the binary died).
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map(|_| line)
    })
    .await
    .unwrap()
    .unwrap();
    let url = line
        .strip_prefix("sim-chain listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .map(String::from);
    let Some(url) = url else {
        let _ = child.kill();
        panic!("unexpected line {line:?}");
    };
    assert!(
        line.trim_end()
            .ends_with("(12 participants, current epoch 30)"),
        "{line}"
    );
    assert_eq!(get(&url, "/__health").await.status, 200);
    let cfg = get(&url, "/__config").await.json();
    assert_eq!(
        (cfg["seed"].as_u64(), cfg["current_epoch"].as_u64()),
        (Some(5), Some(30))
    );
    assert_eq!(cfg["faults"]["summary"]["mode"], "503");

    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("sim-chain did not exit after SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_knobs_move_the_head_and_flip_node_health() {
    let chain = SimChain::start(SimConfig {
        participants: 8,
        advance_heights: true,
        ..SimConfig::default()
    })
    .await
    .expect("start sim-chain");
    let url = chain.url();
    let head = || chain.model().latest_block_height();

    // Frozen: the head stays; each advance makes exactly that many blocks.
    let cfg = post(&url, "/__config", r#"{"freeze_head":true}"#).await;
    assert_eq!(cfg.status, 200);
    let frozen = head();
    let cfg = post(&url, "/__config", r#"{"advance_blocks":3}"#).await;
    assert_eq!(cfg.status, 200);
    assert_eq!(head(), frozen + 3);

    // Node 0 is healthy, node 1 answers 503; flipped, the other way round,
    // and flipped again, back.
    let status = |i: usize| {
        let url = url.clone();
        async move { get(&url, &format!("/node/{i}/health")).await.status }
    };
    assert_eq!((status(0).await, status(1).await), (200, 503));
    let cfg = post(&url, "/__config", r#"{"flip_health":[0,1]}"#).await;
    assert_eq!(cfg.status, 200);
    assert_eq!((status(0).await, status(1).await), (503, 200));
    post(&url, "/__config", r#"{"flip_health":[1]}"#).await;
    assert_eq!((status(0).await, status(1).await), (503, 503));
    // The health answers are not chain requests.
    assert_eq!(chain.stats().total, 0);
    assert_eq!(
        post(&url, "/__config", r#"{"advance_blocks":-1}"#)
            .await
            .status,
        400
    );
}
