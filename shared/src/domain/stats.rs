//! The epoch-stats join (docs/contract.md 2.1) and the `ParticipantStats` shape
//! (docs/contract.md 1.4).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::hardware::ml_nodes_map;
use super::jail::RowStatus;
use super::links::web_link;
use super::rates::{invalidation_rate, missed_rate};
use super::sources::{EpochMember, ListedMember, Tallies};

/// One row of the dashboard's table. Field order follows the tracker's
/// serialization (computed rates last). The jail and health fields are
/// null as built from the chain; the stored statuses are merged in when an
/// answer is served (`service::status`), never stored in the rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParticipantStats {
    pub index: String,
    pub address: String,
    pub weight: i64,
    pub validator_key: Option<String>,
    pub inference_url: Option<String>,
    pub status: Option<String>,
    pub models: Vec<String>,
    pub current_epoch_stats: Tallies,
    /// Jail and health, merged in when served (never stored with the row).
    #[serde(flatten, skip_deserializing)]
    pub jail_health: RowStatus,
    pub seed_signature: Option<String>,
    pub ml_nodes_map: Option<BTreeMap<String, i64>>,
    pub missed_rate: f64,
    pub invalidation_rate: f64,
}

fn counter(s: &str) -> u64 {
    s.trim().parse().unwrap_or(0)
}

impl ParticipantStats {
    /// Builds a row from the epoch entry and the participant-list entry.
    pub fn from_sources(epoch: &EpochMember, listed: &ListedMember) -> Self {
        let mut row = Self {
            index: listed.index.clone(),
            address: listed
                .address
                .clone()
                .unwrap_or_else(|| listed.index.clone()),
            weight: epoch.weight.unwrap_or(0),
            validator_key: epoch.validator_key.clone(),
            // Served as a link: outsiders register it (`links`).
            inference_url: web_link(listed.inference_url.as_deref()),
            status: listed.status.clone(),
            models: epoch.models.clone(),
            missed_rate: 0.0,
            invalidation_rate: 0.0,
            current_epoch_stats: Tallies::default(),
            jail_health: RowStatus::default(),
            seed_signature: epoch.seed_signature.clone(),
            ml_nodes_map: Some(ml_nodes_map(&epoch.ml_nodes)),
        };
        row.set_tally(listed.tallies.clone().unwrap_or_default());
        row
    }

    /// Sets the row's counters (its tally) and the rates computed from them.
    pub fn set_tally(&mut self, stats: Tallies) {
        let inference_count = counter(&stats.inference_count);
        self.missed_rate = missed_rate(counter(&stats.missed_requests), inference_count);
        self.invalidation_rate =
            invalidation_rate(counter(&stats.invalidated_inferences), inference_count);
        self.current_epoch_stats = stats;
    }

    /// The row without its tally (counters zero, rates 0): the part of a
    /// current epoch's row that stays put while its counters grow with
    /// every block.
    pub fn without_tally(&self) -> Self {
        let mut row = self.clone();
        row.set_tally(Tallies::default());
        row
    }
}

/// Keeps the participant-list entries whose `index` is in the epoch, in list
/// order, joined with their epoch entry. Entries of the list that are not in
/// the epoch are dropped; so are epoch members missing from the list.
pub fn join_epoch_stats(epoch: &[EpochMember], list: &[ListedMember]) -> Vec<ParticipantStats> {
    let by_index: HashMap<&str, &EpochMember> =
        epoch.iter().map(|p| (p.index.as_str(), p)).collect();
    let mut seen = std::collections::HashSet::new();
    // Sized once: collected from a filter, the rows would grow by doubling
    // (16,384 slots of ~600 bytes for 9,000 rows).
    let mut rows = Vec::with_capacity(epoch.len().min(list.len()));
    rows.extend(list.iter().filter_map(|listed| {
        let entry = by_index.get(listed.index.as_str())?;
        // A node answering with duplicate rows must not duplicate a participant.
        seen.insert(listed.index.as_str())
            .then(|| ParticipantStats::from_sources(entry, listed))
    }));
    rows
}

/// The order rows are served in, fresh or cached alike (so both give the
/// same body and ETag): the dashboard's order, weight descending, then id.
pub fn sort_for_display(rows: &mut [ParticipantStats]) {
    // Unstable: no scratch buffer (a stable sort allocates half the rows,
    // 5 MB at 10,000), and the order is total (ids are unique).
    rows.sort_unstable_by(|a, b| b.weight.cmp(&a.weight).then_with(|| a.index.cmp(&b.index)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sources::MlNodeWeight;

    fn epoch_entry(index: &str, weight: Option<i64>) -> EpochMember {
        EpochMember {
            index: index.into(),
            validator_key: Some(format!("vk-{index}")),
            weight,
            inference_url: Some("http://epoch-entry".into()),
            models: vec!["m1".into()],
            seed_signature: Some(format!("sig-{index}")),
            ml_nodes: vec![vec![MlNodeWeight {
                node_id: Some("n1".into()),
                poc_weight: Some(0),
            }]],
        }
    }

    fn listed(index: &str, missed: &str, count: &str, invalid: &str) -> ListedMember {
        ListedMember {
            index: index.into(),
            address: Some(index.into()),
            inference_url: Some(format!("http://{index}")),
            status: Some("ACTIVE".into()),
            tallies: Some(Tallies {
                inference_count: count.into(),
                missed_requests: missed.into(),
                invalidated_inferences: invalid.into(),
                ..Tallies::default()
            }),
        }
    }

    #[test]
    fn join_keeps_list_order_and_epoch_members_only() {
        let epoch = vec![
            epoch_entry("b", Some(10)),
            epoch_entry("a", None),
            epoch_entry("only-epoch", Some(3)),
        ];
        let list = vec![
            listed("a", "2", "8", "0"),
            listed("x", "0", "0", "0"),
            listed("b", "1", "1106", "8"),
            listed("a", "9", "9", "9"),
        ];
        let rows = join_epoch_stats(&epoch, &list);
        let cases = [
            // (index, weight, missed_rate, invalidation_rate)
            ("a", 0, 0.2, 0.0),
            ("b", 10, 0.0009, 0.0072),
        ];
        assert_eq!(rows.len(), cases.len());
        for (row, (index, weight, missed, invalid)) in rows.iter().zip(cases) {
            assert_eq!(row.index, index);
            assert_eq!(row.weight, weight);
            assert_eq!(row.missed_rate, missed);
            assert_eq!(row.invalidation_rate, invalid);
            assert_eq!(
                row.inference_url.as_deref(),
                Some(format!("http://{index}/").as_str()),
                "inference_url comes from the list (re-serialised)"
            );
            assert_eq!(
                row.validator_key.as_deref(),
                Some(format!("vk-{index}").as_str()),
                "validator_key comes from the epoch"
            );
            assert_eq!(
                row.seed_signature.as_deref(),
                Some(format!("sig-{index}").as_str())
            );
            assert_eq!(
                row.ml_nodes_map.as_ref().unwrap().get("n1"),
                Some(&0),
                "poc_weight 0 stays 0"
            );
        }
    }

    #[test]
    fn serializes_every_contract_field_in_order() {
        let row =
            ParticipantStats::from_sources(&epoch_entry("a", Some(1)), &listed("a", "0", "0", "0"));
        let json = serde_json::to_value(&row).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let expected = [
            "index",
            "address",
            "weight",
            "validator_key",
            "inference_url",
            "status",
            "models",
            "current_epoch_stats",
            "is_jailed",
            "jailed_until",
            "ready_to_unjail",
            "moniker",
            "identity",
            "keybase_username",
            "keybase_picture_url",
            "website",
            "validator_consensus_key",
            "consensus_key_mismatch",
            "node_healthy",
            "node_health_checked_at",
            "seed_signature",
            "ml_nodes_map",
            "missed_rate",
            "invalidation_rate",
        ];
        let mut sorted_expected = expected.to_vec();
        sorted_expected.sort();
        let mut sorted_keys = keys.clone();
        sorted_keys.sort();
        assert_eq!(sorted_keys, sorted_expected);
        assert!(json["is_jailed"].is_null() && json["node_healthy"].is_null());
        assert_eq!(json["current_epoch_stats"]["inference_count"], "0");
    }

    /// A merged row serves its jail and health under the row's own names;
    /// a row read back (a stored chunk, even one an older version wrote
    /// with them) never carries them, so only the statuses' own items do.
    #[test]
    fn jail_and_health_are_served_flat_and_never_read_back() {
        let mut row =
            ParticipantStats::from_sources(&epoch_entry("a", Some(1)), &listed("a", "0", "0", "0"));
        let status = crate::domain::JailStatus {
            participant: "a".into(),
            is_jailed: true,
            validator: crate::domain::ValidatorInfo {
                moniker: Some("node-a".into()),
                jailed_until: Some("2020-01-01T00:00:00Z".into()),
                ..Default::default()
            },
        };
        row.jail_health.apply_jail(&status, chrono::Utc::now());
        let json = serde_json::to_value(&row).unwrap();
        assert_eq!(json["is_jailed"], true);
        assert_eq!(json["ready_to_unjail"], true);
        assert_eq!(json["moniker"], "node-a");
        assert!(json.get("jail_health").is_none() && json.get("validator").is_none());
        let read: ParticipantStats = serde_json::from_value(json).unwrap();
        assert_eq!(read.jail_health, Default::default());
        assert_eq!(read.weight, 1);
        // The stored status itself keeps them, flat as well.
        let stored = serde_json::to_value(&status).unwrap();
        assert_eq!(stored["moniker"], "node-a");
        let back: crate::domain::JailStatus = serde_json::from_value(stored).unwrap();
        assert_eq!(back, status);
    }

    #[test]
    fn missing_seed_and_stats_do_not_fail_the_row() {
        let mut entry = epoch_entry("a", Some(5));
        entry.seed_signature = None;
        entry.ml_nodes.clear();
        let mut row_src = listed("a", "0", "0", "0");
        row_src.tallies = None;
        let row = ParticipantStats::from_sources(&entry, &row_src);
        assert_eq!(row.seed_signature, None);
        assert_eq!(row.ml_nodes_map, Some(BTreeMap::new()));
        assert_eq!(row.current_epoch_stats, Tallies::default());
        assert_eq!(row.missed_rate, 0.0);
    }

    #[test]
    fn inference_url_is_served_only_as_a_safe_link() {
        let cases = [
            ("javascript:alert(document.cookie)//", None),
            ("ftp://node.example/", None),
            (
                r#"http://node.example/"><script>"#,
                Some("http://node.example/%22%3E%3Cscript%3E"),
            ),
            (
                "http://node.example:8000",
                Some("http://node.example:8000/"),
            ),
        ];
        for (raw, want) in cases {
            let mut src = listed("a", "0", "0", "0");
            src.inference_url = Some(raw.into());
            let row = ParticipantStats::from_sources(&epoch_entry("a", Some(1)), &src);
            assert_eq!(row.inference_url.as_deref(), want, "{raw}");
        }
    }
}
