//! Heights, block times and epochs: consistent with each other, and the
//! participant list as of a height.

use super::*;

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
