//! The inference lists: the epoch repair for `epoch_id "0"`, the
//! buckets, the order (newest `start_block_timestamp` first, as an
//! integer) and the top 10 of each bucket.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

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

    /// What this keeps that `earlier` did not keep in the same list (by
    /// id), in order.
    pub fn added_since(&self, earlier: &InferenceLists) -> InferenceLists {
        let new_in =
            |now: &[InferenceDetail], before: &[InferenceDetail]| -> Vec<InferenceDetail> {
                now.iter()
                    .filter(|d| !before.iter().any(|b| b.inference_id == d.inference_id))
                    .cloned()
                    .collect()
            };
        InferenceLists {
            successful: new_in(&self.successful, &earlier.successful),
            expired: new_in(&self.expired, &earlier.expired),
            invalidated: new_in(&self.invalidated, &earlier.invalidated),
        }
    }

    pub fn len(&self) -> usize {
        self.successful.len() + self.expired.len() + self.invalidated.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::domain::sources::ListedInference;

    pub(in crate::domain::inferences) const FRAME: EpochFrame = EpochFrame {
        current: 60,
        effective_height: 900_187,
        epoch_length: 15_000,
    };

    pub(in crate::domain::inferences) fn listed(
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

    pub(super) fn detail(id: &str, ts: &str) -> InferenceDetail {
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
}
