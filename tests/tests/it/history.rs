//! The history over every epoch, end to end against DynamoDB Local and
//! the simulated chain: the warmer records each finished epoch, and the
//! history routes answer what `/v1/inference/epochs/{id}` serves for the
//! participant plus its reward summaries, as JSON, CSV and a chart.

use std::collections::BTreeMap;

use serde_json::Value;
use shared::epoch_stats::handle_epoch_stats;
use shared::routes::{handle_network, handle_participant};
use shared::warm::warm_epoch;

use crate::dynamo_local::TestTable;
use crate::support::{ctx, get, header, json_body, start_sim, stats, warm_job, InvokeRecorder};

const CURRENT: u64 = 8;

fn body_text(resp: &lambda_http::Response<lambda_http::Body>) -> String {
    match resp.body() {
        lambda_http::Body::Text(t) => t.clone(),
        lambda_http::Body::Binary(b) => String::from_utf8(b.clone()).unwrap(),
        lambda_http::Body::Empty => String::new(),
        _ => panic!("unexpected body"),
    }
}

#[tokio::test]
async fn history_from_epoch_1_equals_the_epoch_answers_and_their_rewards() {
    let sim = start_sim(24, CURRENT).await;
    let model = sim.model();
    let t = TestTable::new().await;
    let core = ctx(&t, &[sim.url()], &[]);
    let invoke = InvokeRecorder::start().await;
    let epoch_stats = stats(&t, &[sim.url()], &[], &invoke);

    // Every finished epoch warmed (as its first view or the new epoch sets
    // off), each recording its history.
    for e in 1..CURRENT {
        let report = warm_epoch(&core, &warm_job(e, true), None).await;
        let h = report.history.expect("history recorded");
        assert_eq!(h.entries, model.participants_in_epoch(e).len(), "epoch {e}");
        assert_eq!(h.written, h.entries, "epoch {e}: every entry new");
        assert!(h.network_written);
    }
    let answers: BTreeMap<u64, Value> = futures::future::join_all((1..CURRENT).map(|e| {
        let state = &epoch_stats;
        async move {
            let resp =
                handle_epoch_stats(state, &get(&format!("/v1/inference/epochs/{e}"), &[])).await;
            assert_eq!(resp.status(), 200);
            (e, json_body(&resp))
        }
    }))
    .await
    .into_iter()
    .collect();

    // A participant that left and came back: the history lists only the
    // epochs it was in.
    let p = (0..24)
        .filter_map(|i| model.participants_in_epoch(1).get(i).cloned())
        .find(|p| (1..CURRENT).any(|e| !model.is_in_epoch(e, p)))
        .unwrap_or_else(|| model.participants_in_epoch(1)[0].clone());
    let resp = handle_participant(&core, &get(&format!("/v1/participants/{p}/history"), &[])).await;
    assert_eq!(resp.status(), 200, "{}", body_text(&resp));
    let page = json_body(&resp);
    assert_eq!(page["participant_id"], p.as_str());
    assert!(page["next_to_epoch"].is_null());
    let epochs = page["epochs"].as_array().unwrap();
    let listed: Vec<u64> = epochs
        .iter()
        .map(|e| e["epoch_id"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (1..CURRENT)
        .rev()
        .filter(|e| model.is_in_epoch(*e, &p))
        .collect();
    assert_eq!(listed, expected, "newest first, only the epochs it was in");
    for entry in epochs {
        let e = entry["epoch_id"].as_u64().unwrap();
        let answer = &answers[&e];
        let row = answer["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["index"] == p.as_str())
            .expect("in the epoch's answer");
        assert_eq!(entry["height"], answer["height"], "epoch {e}");
        for field in [
            "weight",
            "models",
            "current_epoch_stats",
            "missed_rate",
            "invalidation_rate",
            "is_jailed",
        ] {
            assert_eq!(entry[field], row[field], "epoch {e}: {field}");
        }
        let summary = model.performance_summary(e, &p).expect("a summary");
        assert_eq!(
            entry["assigned_reward_gnk"],
            summary.stats.rewarded_coins / 1_000_000_000,
            "epoch {e}"
        );
        assert_eq!(entry["claimed"], summary.claimed, "epoch {e}");
    }
    let flat = |v: &Value| {
        v.as_array()
            .map(|a| a.iter().map(|e| e["weight"].clone()).collect::<Vec<_>>())
    };
    let weights = flat(&page["epochs"]).unwrap();
    assert!(
        weights.windows(2).any(|w| w[0] != w[1]) || weights.len() < 2,
        "the history is not flat"
    );

    // The network's rows are the sums of the epoch answers.
    let resp = handle_network(&core, &get("/v1/network/history", &[])).await;
    assert_eq!(resp.status(), 200, "{}", body_text(&resp));
    let net = json_body(&resp);
    let rows = net["epochs"].as_array().unwrap();
    assert_eq!(rows.len() as u64, CURRENT - 1);
    for row in rows {
        let e = row["epoch_id"].as_u64().unwrap();
        let parts = answers[&e]["participants"].as_array().unwrap();
        let sum = |f: &str| -> u64 {
            parts
                .iter()
                .map(|r| {
                    r["current_epoch_stats"][f]
                        .as_str()
                        .unwrap()
                        .parse::<u64>()
                        .unwrap()
                })
                .sum()
        };
        assert_eq!(row["participants"], parts.len(), "epoch {e}");
        assert_eq!(
            row["total_weight"],
            parts
                .iter()
                .map(|r| r["weight"].as_i64().unwrap())
                .sum::<i64>()
        );
        for f in [
            "inference_count",
            "missed_requests",
            "validated_inferences",
            "invalidated_inferences",
        ] {
            assert_eq!(row[f], sum(f), "epoch {e}: {f}");
        }
        assert_eq!(
            row["total_assigned_rewards_gnk"],
            answers[&e]["total_assigned_rewards_gnk"]
        );
        assert!(
            !row["total_assigned_rewards_gnk"].is_null(),
            "every summary exists"
        );
    }

    // CSV: the same rows as the JSON, by Accept or by ?format=csv.
    for (path, headers) in [
        (
            format!("/v1/participants/{p}/history"),
            vec![("accept", "text/csv")],
        ),
        (format!("/v1/participants/{p}/history?format=csv"), vec![]),
    ] {
        let resp = handle_participant(&core, &get(&path, &headers)).await;
        assert_eq!(resp.status(), 200);
        assert!(header(&resp, "content-type")
            .unwrap()
            .starts_with("text/csv"));
        assert!(header(&resp, "content-disposition")
            .unwrap()
            .contains(&format!("filename=\"{p}-history.csv\"")));
        let text = body_text(&resp);
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let head = reader.headers().unwrap().clone();
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), epochs.len());
        for (record, entry) in records.iter().zip(epochs) {
            let cell = |name: &str| {
                record
                    .get(head.iter().position(|h| h == name).unwrap())
                    .unwrap()
            };
            assert_eq!(cell("epoch_id"), entry["epoch_id"].to_string());
            assert_eq!(cell("weight"), entry["weight"].to_string());
            let models: Vec<&str> = entry["models"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap())
                .collect();
            assert_eq!(cell("models"), models.join(";"));
            assert_eq!(
                cell("inference_count"),
                entry["current_epoch_stats"]["inference_count"]
                    .as_str()
                    .unwrap()
            );
            assert_eq!(
                cell("assigned_reward_gnk"),
                entry["assigned_reward_gnk"].to_string()
            );
            assert_eq!(cell("claimed"), entry["claimed"].to_string());
            assert_eq!(
                cell("missed_rate").parse::<f64>().unwrap(),
                entry["missed_rate"].as_f64().unwrap()
            );
        }
    }
    let resp = handle_network(&core, &get("/v1/network/history?format=csv", &[])).await;
    let text = body_text(&resp);
    assert_eq!(
        text.lines().count() as u64,
        CURRENT,
        "a header and a row per epoch"
    );

    // The chart parses as XML with an svg root.
    let resp = handle_participant(
        &core,
        &get(
            &format!("/v1/participants/{p}/history.svg?metric=missed_rate&epochs=5"),
            &[],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "content-type"), Some("image/svg+xml"));
    let svg = body_text(&resp);
    assert!(svg.len() < 16 * 1024);
    let mut root = None;
    for token in xmlparser::Tokenizer::from(svg.as_str()) {
        if let xmlparser::Token::ElementStart { local, .. } = token.expect("well-formed XML") {
            root.get_or_insert(local.as_str().to_owned());
            assert_ne!(local.as_str(), "script");
        }
    }
    assert_eq!(root.as_deref(), Some("svg"));
    assert!(svg.contains(&format!("<title>{p} missed_rate by epoch</title>")));

    // A second recording writes nothing: every entry is there as it is.
    let again = warm_epoch(&core, &warm_job(CURRENT - 1, true), None).await;
    let h = again.history.expect("history recorded");
    assert_eq!((h.written, h.network_written), (0, false));
}

#[tokio::test]
async fn pages_ranges_and_errors() {
    let sim = start_sim(12, CURRENT).await;
    let model = sim.model();
    let t = TestTable::new().await;
    let core = ctx(&t, &[sim.url()], &[]);
    for e in 1..CURRENT {
        warm_epoch(&core, &warm_job(e, true), None).await;
    }
    let p = model.participants_in_epoch(CURRENT - 1)[0].clone();
    let mine: Vec<u64> = (1..CURRENT)
        .rev()
        .filter(|e| model.is_in_epoch(*e, &p))
        .collect();
    assert!(mine.len() >= 3, "{mine:?}");

    // Pages of two, each ending where the last said the next one does.
    let mut seen = Vec::new();
    let mut to = None::<u64>;
    loop {
        let q = to.map_or(String::new(), |t| format!("&to_epoch={t}"));
        let resp = handle_participant(
            &core,
            &get(&format!("/v1/participants/{p}/history?limit=2{q}"), &[]),
        )
        .await;
        assert_eq!(resp.status(), 200);
        let page = json_body(&resp);
        seen.extend(
            page["epochs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["epoch_id"].as_u64().unwrap()),
        );
        match page["next_to_epoch"].as_u64() {
            Some(next) => to = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, mine);

    // A closed range: only its epochs.
    let resp = handle_participant(
        &core,
        &get(
            &format!(
                "/v1/participants/{p}/history?from_epoch={}&to_epoch={}",
                mine[1], mine[0]
            ),
            &[],
        ),
    )
    .await;
    let page = json_body(&resp);
    assert!(page["epochs"].as_array().unwrap().iter().all(|e| {
        let id = e["epoch_id"].as_u64().unwrap();
        id >= mine[1] && id <= mine[0]
    }));

    let unknown = shared::ids::ParticipantId::from_bytes(&[7u8; 20]).unwrap();
    for (path, status) in [
        (format!("/v1/participants/{unknown}/history"), 404),
        (
            format!("/v1/participants/{p}/history?from_epoch=5&to_epoch=4"),
            400,
        ),
        (format!("/v1/participants/{p}/history?from_epoch=0"), 400),
        (format!("/v1/participants/{p}/history?limit=501"), 400),
        (format!("/v1/participants/{p}/history?to_epoch=-1"), 400),
        (format!("/v1/participants/{p}/history?format=xml"), 400),
        (
            format!("/v1/participants/{p}/history.svg?metric=secret"),
            400,
        ),
        (
            format!("/v1/participants/{p}/history.svg?epochs=100000"),
            400,
        ),
        (
            "/v1/participants/gonka1notanaddress/history".to_owned(),
            400,
        ),
        ("/v1/network/history?from_epoch=x".to_owned(), 400),
    ] {
        let resp = if path.starts_with("/v1/network") {
            handle_network(&core, &get(&path, &[])).await
        } else {
            handle_participant(&core, &get(&path, &[])).await
        };
        assert_eq!(resp.status(), status, "{path}: {}", body_text(&resp));
        assert!(json_body(&resp)["detail"].is_string(), "{path}");
    }
    // A range with none of its epochs for a known participant: an empty page.
    let resp = handle_participant(
        &core,
        &get(
            &format!("/v1/participants/{p}/history?from_epoch=900&to_epoch=901"),
            &[],
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(json_body(&resp)["epochs"], serde_json::json!([]));
}

/// An unclaimed reward in the history follows the modal's freshness rule:
/// a later finished epoch's warm refreshes the rewards of its window, and
/// the entries of those epochs with them.
#[tokio::test]
async fn claims_made_later_reach_the_history() {
    let sim = start_sim(24, CURRENT).await;
    let t = TestTable::new().await;
    // Every stored reward is stale at once, as after ITEM_FRESHNESS_SECS.
    let core = ctx(&t, &[sim.url()], &[("ITEM_FRESHNESS_SECS", "0")]);
    let epoch = CURRENT - 1;
    warm_epoch(&core, &warm_job(epoch, true), None).await;
    let model = sim.model();
    let unclaimed: Vec<String> = model
        .participants_in_epoch(epoch)
        .into_iter()
        .filter(|p| {
            model
                .performance_summary(epoch, p)
                .is_some_and(|s| !s.claimed)
        })
        .collect();
    assert!(
        !unclaimed.is_empty(),
        "the newest finished epoch has unclaimed rewards"
    );
    let claimed_in_history = |p: &str| {
        let core = &core;
        let p = p.to_owned();
        async move {
            let path = format!("/v1/participants/{p}/history?from_epoch={epoch}&to_epoch={epoch}");
            json_body(&handle_participant(core, &get(&path, &[])).await)["epochs"][0]["claimed"]
                .clone()
        }
    };
    assert_eq!(claimed_in_history(&unclaimed[0]).await, false);

    // Epochs later, most of those rewards are claimed; the next finished
    // epoch's warm refreshes its window.
    sim.set_current_epoch(CURRENT + 4);
    let later = sim.model();
    warm_epoch(&core, &warm_job(CURRENT + 3, true), None).await;
    let mut flipped = 0;
    for p in &unclaimed {
        let now = later.performance_summary(epoch, p).unwrap().claimed;
        assert_eq!(claimed_in_history(p).await, now, "{p}");
        flipped += usize::from(now);
    }
    assert!(flipped > 0, "some claims were made meanwhile");
}

/// The backfill walks down from the newest finished epoch, hands each
/// epoch not recorded to the warmer (a bounded number a run), resumes from
/// its cursor, passes over recorded epochs, and starts a new pass after
/// epoch 1; a pass that hands nothing on marks the history complete, and
/// later runs look only above that mark. An epoch pruned on every node is recorded as unavailable by
/// the warm run and listed so in the network's history.
#[tokio::test]
async fn the_backfill_walks_back_to_epoch_1_and_records_pruned_epochs_as_gaps() {
    use shared::schedule::handle_scheduled_event;
    let sim = start_sim(12, CURRENT).await;
    let t = TestTable::new().await;
    let invoke = InvokeRecorder::start().await;
    let scheduler = crate::support::scheduler(&t, &[sim.url()], &invoke);
    let core = ctx(&t, &[sim.url()], &[]);
    let run = || async {
        let out = handle_scheduled_event(
            &scheduler,
            &serde_json::json!({"job": "history_backfill"}),
            None,
        )
        .await
        .unwrap();
        out["report"].clone()
    };
    // Nothing stored yet: it waits for the current epoch job.
    assert_eq!(run().await["triggered"], serde_json::json!([]));
    handle_scheduled_event(
        &scheduler,
        &serde_json::json!({"job": "current_epoch"}),
        None,
    )
    .await
    .unwrap();
    let warmed_before = invoke.calls().len();

    // Epochs 1-3 are pruned on the (only) node.
    let model = sim.model();
    sim.set_pruned_below(model.effective_block_height(4));
    // The newest finished epoch is recorded already (alone: a warm would
    // record its rewards' window of earlier epochs too).
    shared::service::history::record_epoch_history(&core, CURRENT - 1)
        .await
        .unwrap();

    let mut handed = Vec::new();
    for _ in 0..CURRENT {
        let report = run().await;
        for t in report["triggered"].as_array().unwrap() {
            let epoch = t[0].as_u64().unwrap();
            assert_eq!(t[1], "Invoked", "epoch {epoch}");
            handed.push(epoch);
        }
        if report["passes"] == 1 {
            break;
        }
    }
    let expected: Vec<u64> = (1..CURRENT - 1).rev().collect();
    assert_eq!(
        handed, expected,
        "one epoch a run, newest first, the recorded one passed over"
    );
    // What the warmer was sent: exactly those epochs, finished.
    let sent: Vec<u64> = invoke.calls()[warmed_before..]
        .iter()
        .map(|c| c.payload["epoch_id"].as_u64().unwrap())
        .collect();
    assert_eq!(sent, expected);

    // The warm runs those invocations start (here in turn).
    for e in &expected {
        let report = warm_epoch(&core, &warm_job(*e, true), None).await;
        assert_eq!(report.history.is_some(), *e >= 4, "epoch {e}");
    }
    let net = json_body(&handle_network(&core, &get("/v1/network/history", &[])).await);
    let recorded: Vec<u64> = net["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["epoch_id"].as_u64().unwrap())
        .collect();
    assert_eq!(recorded, (4..CURRENT).rev().collect::<Vec<_>>());
    let gaps = net["unavailable"].as_array().unwrap();
    let gap_epochs: Vec<u64> = gaps
        .iter()
        .map(|g| g["epoch_id"].as_u64().unwrap())
        .collect();
    assert_eq!(gap_epochs, vec![3, 2, 1]);
    assert!(
        gaps[0]["reason"].as_str().unwrap().contains("pruned"),
        "{}",
        gaps[0]
    );

    // A new pass: every epoch is recorded or a gap, so nothing is handed
    // on, and the history is known complete to where the pass started.
    let report = run().await;
    assert_eq!(report["triggered"], serde_json::json!([]));
    assert_eq!(report["skipped"].as_u64().unwrap(), CURRENT - 1);
    assert_eq!(report["complete_through"].as_u64().unwrap(), CURRENT - 1);

    // From then on a run reads the current header and the cursor, and
    // writes nothing.
    let before = scheduler.core.table.counters().requests();
    let report = run().await;
    assert_eq!(scheduler.core.table.counters().requests() - before, 2);
    assert_eq!(report["skipped"].as_u64().unwrap(), 0);
    assert_eq!(report["triggered"], serde_json::json!([]));
}
