//! The per-account endpoints: authz grants and their pagination, warm-key
//! traps, performance summaries, hardware nodes.

use super::*;

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
