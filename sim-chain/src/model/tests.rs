//! Properties of the generated data, through the public API.

use std::collections::HashMap;

use super::*;
use crate::config::SimConfig;

fn model(participants: usize) -> Model {
    Model::new(&SimConfig {
        participants,
        ..SimConfig::default()
    })
}

#[test]
fn addresses_are_valid_unique_bech32() {
    let m = model(300);
    let all = m.all_participants();
    assert_eq!(all.len(), 300);
    let unique: std::collections::HashSet<_> = all.iter().collect();
    assert_eq!(unique.len(), 300);
    for a in &all {
        assert!(a.starts_with("gonka1"), "{a}");
        assert!(is_valid_address(a), "{a}");
    }
    assert!(!is_valid_address("gonka1abc"));
    assert!(!is_valid_address(
        "cosmos1qqyc9gsld2666kpunherra8rx2efwg4v8wafg3"
    ));
}

#[test]
fn heights_follow_the_epoch_grid() {
    let m = model(10);
    let l = m.epoch_length();
    assert_eq!(
        m.effective_block_height(56) - m.poc_start_block_height(56),
        187
    );
    assert_eq!(
        m.created_at_block_height(56) - m.poc_start_block_height(56),
        185
    );
    assert_eq!(
        m.latest_block_height(),
        m.effective_block_height(60) + l / 2
    );
    for e in 1..70 {
        assert_eq!(m.epoch_at_height(m.effective_block_height(e)), e);
        assert_eq!(m.epoch_at_height(m.effective_block_height(e) - 1), e - 1);
    }
    let stages = m.epoch_stages(60);
    assert_eq!(stages.set_new_validators, m.effective_block_height(60));
    assert_eq!(stages.next_poc_start, m.poc_start_block_height(61));
}

#[test]
fn block_times_increase() {
    let m = model(1);
    let mut last = m.block_time_unix(1);
    for h in 2..2000 {
        let t = m.block_time_unix(h);
        assert!(t > last);
        last = t;
    }
    // The head was made about now, its ancestors one interval apart.
    let head = m.latest_block_height();
    let now_s = crate::time::now_unix_ms() / 1000;
    let (head_s, _) = m.block_time_unix(head);
    assert!((head_s - now_s).abs() <= 5, "{head_s} vs {now_s}");
    let (back_s, _) = m.block_time_unix(head - 10_000);
    assert!((head_s - back_s - 60_000).abs() <= 1);
    assert_eq!(m.block_interval_secs(), 6.0);
}

#[test]
fn the_head_advances_with_the_clock_when_asked() {
    let frozen = model(1);
    let t0 = frozen.clock.anchor_ms;
    let start = frozen.starting_head();
    assert_eq!(frozen.latest_block_height_at(t0 + 600_000), start);
    let moving = Model::new(&SimConfig {
        participants: 1,
        advance_heights: true,
        block_interval: std::time::Duration::from_secs(2),
        ..SimConfig::default()
    });
    let t0 = moving.clock.anchor_ms;
    let cases = [
        (t0 - 10_000, start),
        (t0, start),
        (t0 + 1_999, start),
        (t0 + 2_000, start + 1),
        (t0 + 600_000, start + 300),
        // Never past the epoch's last block.
        (t0 + 1_000_000_000, moving.poc_start_block_height(61) - 1),
    ];
    for (now, want) in cases {
        assert_eq!(moving.latest_block_height_at(now), want, "{now}");
    }
    // Block times stay on the same line as the head moves.
    let (a, _) = moving.block_time_unix(start + 300);
    assert!((a * 1000 - (t0 + 600_000)).abs() <= 1_000);
}

#[test]
fn the_head_knobs_move_the_head_and_never_the_block_times() {
    let frozen = model(1);
    let t0 = frozen.clock.anchor_ms;
    let start = frozen.starting_head();
    let time_of_start = frozen.block_time_unix(start);
    let on = frozen.advanced_at(1, t0 + 5_000);
    assert_eq!(on.latest_block_height_at(t0 + 600_000), start + 1);
    assert_eq!(on.block_time_unix(start), time_of_start);
    let last = frozen.poc_start_block_height(61) - 1;
    assert_eq!(on.advanced_at(1 << 40, t0).latest_block_height_at(t0), last);

    let moving = Model::new(&SimConfig {
        participants: 1,
        advance_heights: true,
        block_interval: std::time::Duration::from_secs(2),
        ..SimConfig::default()
    });
    let t0 = moving.clock.anchor_ms;
    // Frozen 10 blocks in, it stays there ...
    let held = moving.with_advancing_at(false, t0 + 20_000);
    assert_eq!(held.latest_block_height_at(t0 + 600_000), start + 10);
    assert_eq!(
        held.advanced_at(2, t0 + 600_000)
            .latest_block_height_at(t0 + 900_000),
        start + 12
    );
    // ... and advancing again, it goes on from where it stood.
    let again = held.with_advancing_at(true, t0 + 100_000);
    assert_eq!(again.latest_block_height_at(t0 + 100_000), start + 10);
    assert_eq!(again.latest_block_height_at(t0 + 104_000), start + 12);
}

#[test]
fn models_differ_at_an_older_height() {
    let m = model(1);
    let added = m.late_model_height();
    let now: Vec<String> = m.models_all(added).into_iter().map(|x| x.id).collect();
    let before: Vec<String> = m.models_all(added - 1).into_iter().map(|x| x.id).collect();
    assert_eq!(now.len(), MODEL_NAMES.len() + 1);
    assert_eq!(before.len(), MODEL_NAMES.len());
    assert!(now.contains(&LATE_MODEL.to_string()) && !before.contains(&LATE_MODEL.to_string()));
    let mut sorted = now.clone();
    sorted.sort();
    assert_eq!(now, sorted, "store order");
    let late = m
        .models_all(added)
        .into_iter()
        .find(|x| x.id == LATE_MODEL)
        .unwrap();
    assert_eq!(late.validation_threshold, None);
    assert!(m
        .models_all(added - 1)
        .iter()
        .all(|x| x.validation_threshold.is_some()));
    assert_eq!(m.models_stats().len(), MODEL_NAMES.len());
}

#[test]
fn weight_is_the_sum_of_node_weights() {
    let m = model(100);
    let (mut saw_zero_node, mut saw_null_node) = (false, false);
    for entry in m.epoch_participants(59) {
        let nodes: Vec<&MlNode> = entry.ml_nodes.iter().flat_map(|g| &g.ml_nodes).collect();
        assert!((1..=8).contains(&nodes.len()));
        assert!((1..=2).contains(&entry.ml_nodes.len()));
        assert_eq!(
            entry.weight,
            nodes.iter().filter_map(|n| n.poc_weight).sum::<i64>()
        );
        saw_zero_node |= nodes.iter().any(|n| n.poc_weight == Some(0));
        saw_null_node |= nodes.iter().any(|n| n.poc_weight.is_none());
        assert_eq!(entry.seed.signature.len(), 128);
    }
    assert!(saw_zero_node && saw_null_node);
}

#[test]
fn epochs_leave_some_participants_out() {
    let m = model(200);
    let in_epoch = m.participants_in_epoch(50).len();
    assert!((150..200).contains(&in_epoch), "{in_epoch}");
    assert!(m.participants_in_epoch(0).is_empty());
}

#[test]
fn claimed_never_reverts_as_epochs_advance() {
    let m = model(100);
    for addr in m.all_participants() {
        let mut was_claimed = false;
        for current in 11..20 {
            let s = m.with_current_epoch(current).performance_summary(10, &addr);
            let claimed = s.is_some_and(|s| s.claimed);
            assert!(claimed || !was_claimed);
            was_claimed = claimed;
        }
    }
}

#[test]
fn grant_profiles_cover_every_case() {
    let m = model(20);
    let all = m.all_participants();
    assert!(all.iter().any(|a| m.grants(a).is_empty()));
    assert!(all.iter().any(|a| m.grants(a).len() > 100));
    // Someone has a grantee with MsgJoinTrainingStatus but not MsgJoinTraining.
    assert!(all.iter().any(|a| {
        let grants = m.grants(a);
        let mut by_grantee: HashMap<&str, Vec<&str>> = HashMap::new();
        for g in &grants {
            by_grantee
                .entry(&g.grantee)
                .or_default()
                .push(&g.authorization.msg);
        }
        by_grantee.values().any(|msgs| {
            msgs.contains(&"/inference.inference.MsgJoinTrainingStatus")
                && !msgs.contains(&"/inference.inference.MsgJoinTraining")
        })
    }));
    for a in &all {
        let keys = m.warm_keys(a);
        let expirations: std::collections::HashSet<_> =
            keys.iter().map(|k| &k.granted_at).collect();
        assert_eq!(expirations.len(), keys.len());
    }
}

#[test]
fn serializes_counters_as_strings() {
    let m = model(30);
    let addr = m.participants_in_epoch(55).remove(0);
    let s = m.performance_summary(55, &addr).unwrap();
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(v["epoch_index"], "55");
    assert!(v["rewarded_coins"].is_string());
    assert!(v["claimed"].is_boolean());
    let back: PerformanceSummary = serde_json::from_value(v).unwrap();
    assert_eq!(back, s);
}

/// The inference list: store order, every status, some `epoch_id "0"`,
/// four epochs, payloads of a few KB, some participants with none, and
/// pages that cover it once; a lower height lists fewer.
#[test]
fn the_inference_list() {
    let m = model(200);
    let all = m.inferences();
    assert_eq!(all.len(), 3_000);
    let ids: Vec<&str> = all
        .iter()
        .map(|t| t.inference.inference_id.as_str())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "store order, unique ids"
    );
    for status in [
        "FINISHED",
        "VALIDATED",
        "EXPIRED",
        "INVALIDATED",
        "STARTED",
        "VOTING",
    ] {
        assert!(all.iter().any(|t| t.inference.status == status), "{status}");
    }
    let zero = all.iter().filter(|t| t.inference.epoch_id == "0").count();
    assert!((150..450).contains(&zero), "{zero} with epoch_id 0");
    let epochs: std::collections::BTreeSet<u64> = all.iter().map(|t| t.epoch).collect();
    assert_eq!(epochs.into_iter().collect::<Vec<_>>(), [57, 58, 59, 60]);
    for t in &all {
        let len = t.inference.prompt_payload.len() + t.inference.response_payload.len();
        assert!((1_500..5_100).contains(&len), "{len}");
        let start: u64 = t.inference.start_block_height.parse().unwrap();
        assert!(start >= m.effective_block_height(t.epoch));
        assert!(start < m.effective_block_height(t.epoch + 1));
    }
    let assigned: std::collections::HashSet<&str> = all
        .iter()
        .map(|t| t.inference.assigned_to.as_str())
        .collect();
    let members = m.participants_in_epoch(60);
    assert!(members.iter().any(|p| !assigned.contains(p.as_str())));

    let latest = m.latest_block_height();
    let mut paged = Vec::new();
    let mut offset = 0;
    loop {
        let (page, total) = m.inference_page(latest, offset, 500);
        assert_eq!(total, 3_000);
        offset += page.len();
        paged.extend(page);
        if offset >= total {
            break;
        }
    }
    assert_eq!(
        paged,
        all.into_iter().map(|t| t.inference).collect::<Vec<_>>()
    );
    let (_, earlier) = m.inference_page(m.effective_block_height(60), 0, 1);
    assert!(earlier < 3_000 && earlier > 1_000, "{earlier}");
}
