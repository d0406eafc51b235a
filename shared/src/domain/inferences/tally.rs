//! A scan's running result ([`InferenceTally`]): the top 10s of every
//! participant, kept epoch and bucket, folded page by page, and what one
//! result adds to an earlier one (what a scan run saves).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::lists::{
    bucket_of_status, inference_epoch, EpochFrame, InferenceDetail, InferenceLists,
};
use crate::domain::sources::ListedInference;

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

    /// What this result keeps that `earlier` (an earlier state of the same
    /// scan) did not: per participant, epoch and bucket, the inferences new
    /// to its top 10. Merging it into `earlier` gives this result back: an
    /// inference `earlier` kept and this one does not was pushed out by 10
    /// newer ones, which the difference holds or `earlier` already kept.
    pub fn added_since(&self, earlier: &InferenceTally) -> InferenceTally {
        let mut added = InferenceTally::default();
        for (participant, epochs) in &self.lists {
            for (epoch, lists) in epochs {
                let new = match earlier.lists.get(participant).and_then(|e| e.get(epoch)) {
                    Some(before) => lists.added_since(before),
                    None => lists.clone(),
                };
                if !new.is_empty() {
                    added
                        .lists
                        .entry(participant.clone())
                        .or_default()
                        .insert(*epoch, new);
                }
            }
        }
        added
    }

    /// Everything `other` keeps, offered here: results merged in any order
    /// and grouping give the same top 10s.
    pub fn merge(&mut self, other: InferenceTally) {
        for (participant, epochs) in other.lists {
            let mine = self.lists.entry(participant).or_default();
            for (epoch, lists) in epochs {
                mine.entry(epoch).or_default().merge(lists);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
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
    use crate::domain::inferences::lists::tests::{listed, FRAME};

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

    /// A state later in the scan minus an earlier one: only what entered a
    /// top 10 since, and the earlier state plus that difference is the later.
    #[test]
    fn what_a_later_result_adds_to_an_earlier_one() {
        let e = FRAME.effective_height;
        let page = |ids: &[(&str, &str, &str)]| -> Vec<ListedInference> {
            ids.iter()
                .map(|(id, who, ts)| listed(id, who, "FINISHED", "60", e + 1, ts))
                .collect()
        };
        let twelve: Vec<(String, String)> = (0..12)
            .map(|i| (format!("old{i:02}"), (100 + i).to_string()))
            .collect();
        let twelve: Vec<(&str, &str, &str)> = twelve
            .iter()
            .map(|(id, ts)| (id.as_str(), "p1", ts.as_str()))
            .collect();
        // (pages before, pages after, ids the difference holds)
        let cases: [(Vec<ListedInference>, Vec<ListedInference>, &[&str]); 5] = [
            (page(&[("a", "p1", "5")]), vec![], &[]),
            (vec![], page(&[("a", "p1", "5")]), &["a"]),
            (
                page(&[("a", "p1", "5")]),
                page(&[("a", "p1", "5"), ("b", "p2", "4")]),
                &["b"],
            ),
            // Older than a full top 10: not kept, nothing added.
            (page(&twelve), page(&[("c", "p1", "1")]), &[]),
            // Newer: kept, and it pushes the oldest kept one out.
            (page(&twelve), page(&[("d", "p1", "999")]), &["d"]),
        ];
        for (before, after, want) in cases {
            let mut earlier = InferenceTally::default();
            for inf in before.clone() {
                earlier.add(inf, &FRAME);
            }
            let mut later = earlier.clone();
            for inf in after {
                later.add(inf, &FRAME);
            }
            let added = later.added_since(&earlier);
            let ids: Vec<&str> = added
                .lists
                .values()
                .flat_map(|epochs| epochs.values())
                .flat_map(|l| l.successful.iter().map(|d| d.inference_id.as_str()))
                .collect();
            assert_eq!(ids, want, "{before:?}");
            assert_eq!(added.is_empty(), want.is_empty());
            let mut rebuilt = earlier.clone();
            rebuilt.merge(added);
            assert_eq!(rebuilt, later, "earlier + difference = later");
        }
    }
}
