//! A participant's inferences per epoch (contract part 2, section 3): the
//! epoch repair for `epoch_id "0"`, the buckets, the order (newest
//! `start_block_timestamp` first, as an integer) and the top 10 of each
//! bucket, kept as a running merge so a scan over many pages stays small.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::chain::ListedInference;

/// Inferences kept per participant, epoch and bucket.
pub const TOP_PER_BUCKET: usize = 10;

/// An inference as stored and served (`InferenceDetail` without the
/// payloads, which are never kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InferenceDetail {
    pub inference_id: String,
    pub status: String,
    pub start_block_height: String,
    /// Milliseconds, as text (the chain's).
    pub start_block_timestamp: String,
    #[serde(default)]
    pub validated_by: Vec<String>,
    #[serde(default)]
    pub prompt_hash: Option<String>,
    #[serde(default)]
    pub response_hash: Option<String>,
    #[serde(default)]
    pub prompt_token_count: Option<String>,
    #[serde(default)]
    pub completion_token_count: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
}

impl InferenceDetail {
    /// The order key: the timestamp as an integer (unreadable: 0, oldest),
    /// then the id, so equal timestamps order the same in every merge.
    fn newer_first(&self, other: &Self) -> Ordering {
        timestamp(other)
            .cmp(&timestamp(self))
            .then_with(|| self.inference_id.cmp(&other.inference_id))
    }
}

fn timestamp(d: &InferenceDetail) -> u64 {
    d.start_block_timestamp.trim().parse().unwrap_or(0)
}

/// Where an inference is shown; STARTED and VOTING (and unknown statuses)
/// are not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InferenceBucket {
    Successful,
    Expired,
    Invalidated,
}

pub fn bucket_of_status(status: &str) -> Option<InferenceBucket> {
    match status {
        "FINISHED" | "VALIDATED" => Some(InferenceBucket::Successful),
        "EXPIRED" => Some(InferenceBucket::Expired),
        "INVALIDATED" => Some(InferenceBucket::Invalidated),
        _ => None,
    }
}

/// The epochs a scan frames: the current epoch C, its effective block
/// height E and the epoch length L, read when the scan starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochFrame {
    pub current: u64,
    pub effective_height: u64,
    pub epoch_length: u64,
}

impl EpochFrame {
    /// The epochs a scan publishes: C and C-1 (epoch 0 is never served).
    pub fn kept_epochs(&self) -> Vec<u64> {
        [Some(self.current), self.current.checked_sub(1)]
            .into_iter()
            .flatten()
            .filter(|e| *e >= 1)
            .collect()
    }
}

/// The inference's epoch: its `epoch_id`, or for `"0"` with a start height
/// S > 0 the repair `C` if S >= E, else `C - ceil((E - S) / L)`. `None`
/// when it cannot be told (not a number, no length, before epoch 0).
pub fn inference_epoch(
    epoch_id: &str,
    start_height: Option<u64>,
    frame: &EpochFrame,
) -> Option<u64> {
    let epoch: u64 = epoch_id.trim().parse().ok()?;
    match (epoch, start_height) {
        (0, Some(s)) if s > 0 => {
            if s >= frame.effective_height {
                return Some(frame.current);
            }
            if frame.epoch_length == 0 {
                return None;
            }
            let back = (frame.effective_height - s).div_ceil(frame.epoch_length);
            frame.current.checked_sub(back)
        }
        (e, _) => Some(e),
    }
}

/// The three lists of one participant in one epoch, each at most
/// [`TOP_PER_BUCKET`], newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InferenceLists {
    pub successful: Vec<InferenceDetail>,
    pub expired: Vec<InferenceDetail>,
    pub invalidated: Vec<InferenceDetail>,
}

impl InferenceLists {
    fn list_mut(&mut self, bucket: InferenceBucket) -> &mut Vec<InferenceDetail> {
        match bucket {
            InferenceBucket::Successful => &mut self.successful,
            InferenceBucket::Expired => &mut self.expired,
            InferenceBucket::Invalidated => &mut self.invalidated,
        }
    }

    /// Keeps `detail` if it is among the newest [`TOP_PER_BUCKET`] of its
    /// bucket; an id already kept is not kept twice.
    pub fn offer(&mut self, bucket: InferenceBucket, detail: InferenceDetail) {
        let list = self.list_mut(bucket);
        if list.iter().any(|d| d.inference_id == detail.inference_id) {
            return;
        }
        let at = list
            .binary_search_by(|d| d.newer_first(&detail))
            .unwrap_or_else(|i| i);
        if at < TOP_PER_BUCKET {
            list.insert(at, detail);
            list.truncate(TOP_PER_BUCKET);
        }
    }

    /// Everything `other` keeps, offered here.
    pub fn merge(&mut self, other: InferenceLists) {
        for (bucket, list) in [
            (InferenceBucket::Successful, other.successful),
            (InferenceBucket::Expired, other.expired),
            (InferenceBucket::Invalidated, other.invalidated),
        ] {
            for d in list {
                self.offer(bucket, d);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.successful.len() + self.expired.len() + self.invalidated.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A scan's running result: per participant and kept epoch, the top of
/// each bucket. At most `participants x 2 x 3 x 10` inferences, however
/// many pages the scan reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InferenceTally {
    /// participant -> epoch -> lists
    pub lists: BTreeMap<String, BTreeMap<u64, InferenceLists>>,
}

impl InferenceTally {
    /// Counts one listed inference: kept if it belongs to a kept epoch, is
    /// assigned, has an id and a shown status.
    pub fn add(&mut self, inf: ListedInference, frame: &EpochFrame) {
        let Some(bucket) = inf.status.as_deref().and_then(bucket_of_status) else {
            return;
        };
        let (Some(id), Some(assignee)) = (inf.inference_id, inf.assigned_to) else {
            return;
        };
        if id.is_empty() || assignee.is_empty() {
            return;
        }
        let start = inf
            .start_block_height
            .as_deref()
            .and_then(|h| h.trim().parse().ok());
        let Some(epoch) = inference_epoch(inf.epoch_id.as_deref().unwrap_or("0"), start, frame)
        else {
            return;
        };
        if !frame.kept_epochs().contains(&epoch) {
            return;
        }
        let detail = InferenceDetail {
            inference_id: id,
            status: inf.status.unwrap_or_default(),
            start_block_height: inf.start_block_height.unwrap_or_default(),
            start_block_timestamp: inf.start_block_timestamp.unwrap_or_default(),
            validated_by: inf.validated_by,
            prompt_hash: inf.prompt_hash,
            response_hash: inf.response_hash,
            prompt_token_count: inf.prompt_token_count,
            completion_token_count: inf.completion_token_count,
            model: inf.model,
        };
        self.lists
            .entry(assignee)
            .or_default()
            .entry(epoch)
            .or_default()
            .offer(bucket, detail);
    }

    /// Inferences kept (the size of the running result).
    pub fn kept(&self) -> usize {
        self.lists
            .values()
            .flat_map(|epochs| epochs.values())
            .map(InferenceLists::len)
            .sum()
    }

    /// The records a finished scan publishes for `epoch`: every assignee
    /// with inferences there, and every member of the current epoch (an
    /// empty record for one with none).
    pub fn records_for(&self, epoch: u64, members: &[String]) -> BTreeMap<String, InferenceLists> {
        let mut out: BTreeMap<String, InferenceLists> = members
            .iter()
            .map(|m| (m.clone(), InferenceLists::default()))
            .collect();
        for (participant, epochs) in &self.lists {
            if let Some(lists) = epochs.get(&epoch) {
                out.insert(participant.clone(), lists.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: EpochFrame = EpochFrame {
        current: 60,
        effective_height: 900_187,
        epoch_length: 15_000,
    };

    fn listed(
        id: &str,
        who: &str,
        status: &str,
        epoch: &str,
        height: u64,
        ts: &str,
    ) -> ListedInference {
        ListedInference {
            inference_id: Some(id.into()),
            status: Some(status.into()),
            assigned_to: Some(who.into()),
            epoch_id: Some(epoch.into()),
            start_block_height: Some(height.to_string()),
            start_block_timestamp: Some(ts.into()),
            ..Default::default()
        }
    }

    #[test]
    fn epoch_repair() {
        let l = FRAME.epoch_length;
        let e = FRAME.effective_height;
        // (epoch_id, start height, expected)
        let cases = [
            ("58", Some(5), Some(58)),
            ("0", Some(e), Some(60)),
            ("0", Some(e + 10), Some(60)),
            ("0", Some(e - 1), Some(59)),
            ("0", Some(e - l), Some(59)),
            ("0", Some(e - l - 1), Some(58)),
            ("0", Some(0), Some(0)),
            ("0", None, Some(0)),
            ("0", Some(e - 2 * l), Some(58)),
            ("x", Some(e), None),
            ("", Some(e), None),
        ];
        for (epoch, start, want) in cases {
            assert_eq!(
                inference_epoch(epoch, start, &FRAME),
                want,
                "{epoch} {start:?}"
            );
        }
        let early = EpochFrame {
            current: 1,
            ..FRAME
        };
        assert_eq!(
            inference_epoch("0", Some(e - 2 * l - 1), &early),
            None,
            "before epoch 0"
        );
        let no_length = EpochFrame {
            epoch_length: 0,
            ..FRAME
        };
        assert_eq!(inference_epoch("0", Some(e - 1), &no_length), None);
        assert_eq!(inference_epoch("0", Some(e), &no_length), Some(60));
    }

    #[test]
    fn buckets() {
        let cases = [
            ("FINISHED", Some(InferenceBucket::Successful)),
            ("VALIDATED", Some(InferenceBucket::Successful)),
            ("EXPIRED", Some(InferenceBucket::Expired)),
            ("INVALIDATED", Some(InferenceBucket::Invalidated)),
            ("STARTED", None),
            ("VOTING", None),
            ("finished", None),
            ("", None),
        ];
        for (status, want) in cases {
            assert_eq!(bucket_of_status(status), want, "{status}");
        }
    }

    #[test]
    fn kept_epochs() {
        assert_eq!(FRAME.kept_epochs(), vec![60, 59]);
        assert_eq!(
            EpochFrame {
                current: 1,
                ..FRAME
            }
            .kept_epochs(),
            vec![1]
        );
    }

    /// Newest first by the integer timestamp ("999" is older than "1000",
    /// which text order gets wrong), ties by id, 10 at most, no duplicates.
    #[test]
    fn top_ten_newest_first_as_integers() {
        let cases: [(&[&str], &[&str]); 4] = [
            (&["999", "1000", "20"], &["1000", "999", "20"]),
            (&["5", "x", "7"], &["7", "5", "x"]),
            (
                &[
                    "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12",
                ],
                &["12", "11", "10", "9", "8", "7", "6", "5", "4", "3"],
            ),
            (&["3", "3", "3"], &["3", "3", "3"]),
        ];
        for (input, want) in cases {
            let mut lists = InferenceLists::default();
            for (i, ts) in input.iter().enumerate() {
                let d = detail(&format!("id{i:02}"), ts);
                lists.offer(InferenceBucket::Expired, d);
            }
            let got: Vec<&str> = lists
                .expired
                .iter()
                .map(|d| d.start_block_timestamp.as_str())
                .collect();
            assert_eq!(got, want, "{input:?}");
        }
        let mut lists = InferenceLists::default();
        lists.offer(InferenceBucket::Successful, detail("b", "3"));
        lists.offer(InferenceBucket::Successful, detail("a", "3"));
        lists.offer(InferenceBucket::Successful, detail("a", "3"));
        let ids: Vec<&str> = lists
            .successful
            .iter()
            .map(|d| d.inference_id.as_str())
            .collect();
        assert_eq!(ids, ["a", "b"], "ties by id, duplicates once");
    }

    /// Merging per-page results in any grouping gives the one-pass result.
    #[test]
    fn merge_equals_one_pass() {
        let all: Vec<InferenceDetail> = (0..40)
            .map(|i| detail(&format!("i{i}"), &((i * 37) % 23).to_string()))
            .collect();
        let mut one = InferenceLists::default();
        for d in &all {
            one.offer(InferenceBucket::Successful, d.clone());
        }
        for split in [1, 7, 13, 39] {
            let (a, b) = all.split_at(split);
            let mut left = InferenceLists::default();
            let mut right = InferenceLists::default();
            a.iter()
                .for_each(|d| left.offer(InferenceBucket::Successful, d.clone()));
            b.iter()
                .for_each(|d| right.offer(InferenceBucket::Successful, d.clone()));
            right.merge(left);
            assert_eq!(right, one, "split at {split}");
        }
    }

    fn detail(id: &str, ts: &str) -> InferenceDetail {
        InferenceDetail {
            inference_id: id.into(),
            status: "FINISHED".into(),
            start_block_height: "1".into(),
            start_block_timestamp: ts.into(),
            validated_by: Vec::new(),
            prompt_hash: None,
            response_hash: None,
            prompt_token_count: None,
            completion_token_count: None,
            model: None,
        }
    }

    #[test]
    fn the_tally_keeps_shown_inferences_of_kept_epochs() {
        let e = FRAME.effective_height;
        // (inference, kept under (participant, epoch, bucket len) or not)
        let cases = [
            (
                listed("a", "p1", "FINISHED", "60", e + 5, "10"),
                Some(("p1", 60)),
            ),
            (
                listed("b", "p1", "VALIDATED", "59", e - 5, "9"),
                Some(("p1", 59)),
            ),
            (
                listed("c", "p1", "EXPIRED", "0", e - 5, "8"),
                Some(("p1", 59)),
            ),
            (
                listed("d", "p2", "INVALIDATED", "0", e + 1, "7"),
                Some(("p2", 60)),
            ),
            (listed("e", "p1", "FINISHED", "58", e - 20_000, "6"), None),
            (listed("f", "p1", "FINISHED", "0", e - 15_001, "6"), None),
            (listed("g", "p1", "STARTED", "60", e + 5, "5"), None),
            (listed("h", "p1", "VOTING", "60", e + 5, "5"), None),
            (listed("i", "", "FINISHED", "60", e + 5, "5"), None),
            (listed("", "p1", "FINISHED", "60", e + 5, "5"), None),
            (listed("j", "p3", "FINISHED", "x", e + 5, "5"), None),
        ];
        for (inf, want) in cases {
            let mut tally = InferenceTally::default();
            let id = inf.inference_id.clone();
            tally.add(inf, &FRAME);
            let got = tally
                .lists
                .iter()
                .flat_map(|(p, epochs)| epochs.keys().map(move |e| (p.as_str(), *e)))
                .next();
            assert_eq!(got, want, "{id:?}");
            assert_eq!(tally.kept(), usize::from(want.is_some()));
        }
        let mut tally = InferenceTally::default();
        tally.add(listed("a", "p1", "FINISHED", "60", e + 5, "10"), &FRAME);
        tally.add(listed("b", "p9", "EXPIRED", "59", e - 5, "9"), &FRAME);
        let members = ["p1".to_string(), "p2".to_string()];
        let current = tally.records_for(60, &members);
        assert_eq!(current.keys().collect::<Vec<_>>(), ["p1", "p2"]);
        assert_eq!(current["p1"].successful.len(), 1);
        assert!(
            current["p2"].is_empty(),
            "a member with none: an empty record"
        );
        let previous = tally.records_for(59, &members);
        assert_eq!(previous.keys().collect::<Vec<_>>(), ["p1", "p2", "p9"]);
        assert_eq!(
            previous["p9"].expired.len(),
            1,
            "an assignee outside the members"
        );
        assert!(previous["p1"].is_empty());
    }
}
