//! The participant items (rewards, warm keys, hardware per participant
//! and epoch): their keys and values, when one is fetched, and the single
//! rule by which a write may replace one.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::HardwareNode;
use crate::domain::WarmKey;
use crate::ids::ParticipantId;

/// The three per-participant, per-epoch items the modal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Reward,
    WarmKeys,
    Hardware,
}

impl ItemKind {
    pub const ALL: [ItemKind; 3] = [ItemKind::Reward, ItemKind::WarmKeys, ItemKind::Hardware];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Reward => "reward",
            ItemKind::WarmKeys => "warm_keys",
            ItemKind::Hardware => "hardware",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemKey {
    pub participant: ParticipantId,
    pub epoch: u64,
    pub kind: ItemKind,
}

impl ItemKey {
    pub fn new(participant: ParticipantId, epoch: u64, kind: ItemKind) -> Self {
        Self {
            participant,
            epoch,
            kind,
        }
    }
}

/// A participant's reward for one epoch, as the chain's summary gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardRecord {
    pub rewarded_coins: String,
    pub claimed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemData {
    /// `None`: the chain has no summary for that epoch (HTTP 404), which is
    /// remembered too, so the modal does not ask again on every open.
    Reward(Option<RewardRecord>),
    WarmKeys(Vec<WarmKey>),
    Hardware(Vec<HardwareNode>),
}

impl ItemData {
    pub fn kind(&self) -> ItemKind {
        match self {
            ItemData::Reward(_) => ItemKind::Reward,
            ItemData::WarmKeys(_) => ItemKind::WarmKeys,
            ItemData::Hardware(_) => ItemKind::Hardware,
        }
    }
}

/// What the warmer needs to know about a stored item without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemMeta {
    pub fetched_at_ms: i64,
    /// Never replaced: a claimed reward, or warm keys / hardware of a
    /// finished epoch.
    pub is_final: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedItem {
    pub key: ItemKey,
    pub meta: ItemMeta,
    pub data: ItemData,
}

/// How a conditional write ended. Losing is normal: another writer stored
/// the same or a better item first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Written,
    LostRace,
}

/// Whether a freshly fetched item is final as written.
pub fn is_final_on_write(data: &ItemData, epoch_finished: bool) -> bool {
    match data {
        ItemData::Reward(Some(r)) => r.claimed,
        // A missing summary may still appear (e.g. just after the epoch ends).
        ItemData::Reward(None) => false,
        ItemData::WarmKeys(_) | ItemData::Hardware(_) => epoch_finished,
    }
}

/// The single replacement rule every conditional put enforces: a new item
/// is written when nothing is stored, or the stored one is neither final
/// nor fresher. (In DynamoDB: `attribute_not_exists(pk) OR (final = false
/// AND fetched_at < :new_fetched_at)`.)
pub fn may_replace(existing: Option<ItemMeta>, new: ItemMeta) -> bool {
    existing.is_none_or(|e| !e.is_final && e.fetched_at_ms < new.fetched_at_ms)
}

/// Whether an item must be fetched from the chain: it is missing, or it is
/// a refreshable item older than the freshness window. Unclaimed rewards
/// refresh in any epoch; warm keys and hardware only while their epoch is
/// current (a finished epoch's are kept as first seen).
pub fn needs_fetch(
    kind: ItemKind,
    stored: Option<ItemMeta>,
    epoch_is_current: bool,
    now_ms: i64,
    freshness: Duration,
) -> bool {
    let Some(meta) = stored else { return true };
    if meta.is_final {
        return false;
    }
    let stale = now_ms.saturating_sub(meta.fetched_at_ms) > freshness.as_millis() as i64;
    match kind {
        ItemKind::Reward => stale,
        ItemKind::WarmKeys | ItemKind::Hardware => epoch_is_current && stale,
    }
}

/// Rewards grouped by epoch for a participant's modal.
pub type RewardsByEpoch = BTreeMap<u64, Option<RewardRecord>>;

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(300);
    const NOW: i64 = 1_000_000_000;

    fn meta(age_s: i64, is_final: bool) -> Option<ItemMeta> {
        Some(ItemMeta {
            fetched_at_ms: NOW - age_s * 1000,
            is_final,
        })
    }

    #[test]
    fn needs_fetch_cases() {
        use ItemKind::*;
        let cases = [
            // (kind, stored, epoch current, expected)
            (Reward, None, false, true),
            (Reward, meta(10, false), false, false),
            (Reward, meta(301, false), false, true),
            (Reward, meta(301, false), true, true),
            (Reward, meta(99_999, true), false, false),
            (WarmKeys, None, true, true),
            (WarmKeys, meta(301, false), true, true),
            (WarmKeys, meta(10, false), true, false),
            (WarmKeys, meta(99_999, false), false, false),
            (Hardware, meta(301, false), true, true),
            (Hardware, meta(301, false), false, false),
            (Hardware, meta(99_999, true), true, false),
        ];
        for (kind, stored, current, want) in cases {
            assert_eq!(
                needs_fetch(kind, stored, current, NOW, WINDOW),
                want,
                "{kind:?} {stored:?} current={current}"
            );
        }
    }

    #[test]
    fn replacement_rule() {
        let m = |t: i64, f: bool| ItemMeta {
            fetched_at_ms: t,
            is_final: f,
        };
        let cases = [
            (None, m(1, false), true),
            (Some(m(1, false)), m(2, false), true),
            (Some(m(2, false)), m(1, false), false),
            (Some(m(2, false)), m(2, false), false),
            (Some(m(1, true)), m(2, true), false),
            (Some(m(1, true)), m(2, false), false),
            (Some(m(1, false)), m(2, true), true),
        ];
        for (existing, new, want) in cases {
            assert_eq!(may_replace(existing, new), want, "{existing:?} <- {new:?}");
        }
    }

    #[test]
    fn finality_cases() {
        let reward = |claimed| {
            ItemData::Reward(Some(RewardRecord {
                rewarded_coins: "1".into(),
                claimed,
            }))
        };
        let cases = [
            (reward(true), false, true),
            (reward(false), true, false),
            (ItemData::Reward(None), true, false),
            (ItemData::WarmKeys(vec![]), true, true),
            (ItemData::WarmKeys(vec![]), false, false),
            (ItemData::Hardware(vec![]), true, true),
            (ItemData::Hardware(vec![]), false, false),
        ];
        for (data, finished, want) in cases {
            assert_eq!(
                is_final_on_write(&data, finished),
                want,
                "{data:?} finished={finished}"
            );
        }
    }
}
