//! Every recorded chain response in `../shared/fixtures/gonka-tracker/`
//! parses into the client's types, and the domain rules give the values the
//! contract states for them.

use std::path::PathBuf;

use shared::chain::{
    EpochParticipantsResponse, GrantsPage, HardwareNodesResponse, ParticipantListResponse,
    PerformanceSummaryResponse,
};
use shared::domain::{assigned_reward_gnk, join_epoch_stats, warm_keys};

pub fn fixtures_dir() -> PathBuf {
    std::env::var("TRACKER_FIXTURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/fixtures/gonka-tracker"
            ))
        })
}

pub fn read_fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the fixtures live in ../shared beside the repository)",
            path.display()
        )
    })
}

fn parse<T: serde::de::DeserializeOwned>(name: &str) -> T {
    serde_json::from_slice(&read_fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_fixture_file_parses() {
    let dir = fixtures_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: the fixtures must be beside the repository",
            dir.display()
        )
    });
    let mut parsed = 0;
    for entry in entries {
        let name = entry.unwrap().file_name().into_string().unwrap();
        match name.as_str() {
            n if n.starts_with("epoch_performance_summary_") => {
                let s: PerformanceSummaryResponse = parse(n);
                let epoch: u64 = n
                    .trim_start_matches("epoch_performance_summary_")
                    .split('_')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert_eq!(s.summary.epoch_index, epoch, "{n}");
            }
            n if n.starts_with("hardware_nodes_") => {
                let h: HardwareNodesResponse = parse(n);
                assert!(!h.nodes.unwrap().hardware_nodes.is_empty(), "{n}");
            }
            n if n.starts_with("all_participants_height_") => {
                let l: ParticipantListResponse = parse(n);
                assert_eq!(l.participant.len(), 193);
            }
            n if n.starts_with("authz_grants_") => {
                let g: GrantsPage = parse(n);
                assert_eq!(g.grants.len(), 24);
            }
            "current_epoch_participants.json" => {
                let e: EpochParticipantsResponse = parse("current_epoch_participants.json");
                assert_eq!(e.active_participants.participants.len(), 26);
            }
            "latest_height.json" => {
                let v: serde_json::Value = parse("latest_height.json");
                assert_eq!(v["height"], 887711);
            }
            other => panic!("unrecognised fixture {other}: add it to this test"),
        }
        parsed += 1;
    }
    assert_eq!(parsed, 12, "every file in {} was read", dir.display());
}

#[test]
fn fixture_values_follow_the_contract() {
    let epoch: EpochParticipantsResponse = parse("current_epoch_participants.json");
    let ap = &epoch.active_participants;
    assert_eq!(
        (
            ap.epoch_group_id,
            ap.effective_block_height,
            ap.poc_start_block_height
        ),
        (56, 873438, Some(873251))
    );

    let list: ParticipantListResponse = parse("all_participants_height_887711.json");
    // Through the chain adapter's conversions, as the functions read them.
    let members: Vec<shared::domain::EpochMember> = ap
        .participants
        .iter()
        .cloned()
        .map(|p| p.into_domain())
        .collect();
    let listed: Vec<shared::domain::ListedMember> = list
        .participant
        .into_iter()
        .map(|p| p.into_domain())
        .collect();
    let rows = join_epoch_stats(&members, &listed);
    assert_eq!(
        rows.len(),
        26,
        "all 26 epoch members are in the list at 887711"
    );
    let row = rows
        .iter()
        .find(|r| r.index == "gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake364")
        .unwrap();
    // The contract's example row (section 1.4).
    assert_eq!(row.weight, 37778);
    assert_eq!(
        row.validator_key.as_deref(),
        Some("Y+sAwFpAU50lwxqskBwChJFj7yjpTcB3m8oEsgXyVrI=")
    );
    assert_eq!(
        row.inference_url.as_deref(),
        // Re-serialised by the link rule: the parser writes the empty path as `/`.
        Some("http://69.48.159.157:8000/")
    );
    assert_eq!(row.status.as_deref(), Some("ACTIVE"));
    assert_eq!(
        row.models,
        vec![
            "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8",
            "Qwen/Qwen3-32B-FP8"
        ]
    );
    assert_eq!(row.current_epoch_stats.inference_count, "1106");
    assert_eq!(row.current_epoch_stats.missed_requests, "1");
    assert_eq!(row.current_epoch_stats.invalidated_inferences, "8");
    assert_eq!((row.missed_rate, row.invalidation_rate), (0.0009, 0.0072));
    assert!(
        row.seed_signature
            .as_deref()
            .unwrap()
            .starts_with("ed2e4448")
            && row.seed_signature.as_deref().unwrap().ends_with("256b")
    );
    let map = row.ml_nodes_map.as_ref().unwrap();
    assert_eq!(
        (map.get("node8"), map.get("node31"), map.len()),
        (Some(&1793), Some(&2340), 17)
    );

    let summary: PerformanceSummaryResponse =
        parse("epoch_performance_summary_56_gonka14cu38x.json");
    assert_eq!(assigned_reward_gnk(&summary.summary.rewarded_coins), 38627);
    assert!(summary.summary.claimed);

    let grants: GrantsPage = parse("authz_grants_09ake364.json");
    let grants: Vec<shared::domain::Grant> =
        grants.grants.into_iter().map(|g| g.into_domain()).collect();
    let keys = warm_keys(&grants);
    assert_eq!(keys.len(), 1);
    assert_eq!(
        keys[0].grantee_address,
        "gonka1tt6mlr3r50uey8kxkktlxv8ht9zyrd4dtnvemu"
    );
    assert_eq!(keys[0].granted_at, "2026-10-13T11:37:45.826503545Z");

    let hw: HardwareNodesResponse = parse("hardware_nodes_gonka1sqwpuxk.json");
    let nodes = hw.nodes.unwrap().hardware_nodes;
    assert_eq!(nodes[0].local_id, "cluster1-ml-01");
    assert_eq!(
        (nodes[0].host.as_str(), nodes[0].port.as_str()),
        ("176.56.204.32", "8080")
    );
    assert!(nodes[0].hardware.is_empty());
    let hw2: HardwareNodesResponse = parse("hardware_nodes_gonka10ypwjuh.json");
    let first = &hw2.nodes.unwrap().hardware_nodes[0];
    assert_eq!(
        (first.hardware[0].kind.as_str(), first.hardware[0].count),
        ("NVIDIA GeForce RTX 3090 | 24GB", 1)
    );
}
