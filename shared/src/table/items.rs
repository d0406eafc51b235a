//! What the cache table holds, as domain values, and the pure rules about
//! them: keys, freshness, finality and when a write may replace an item.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::chain::HardwareNode;
use crate::domain::{ParticipantStats, WarmKey};
use crate::hash::fnv1a;
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

/// Whether a snapshot may be stored in `slot` over the one there (fetched at
/// `existing`): `Final` and `AtHeight` are written once (first write wins),
/// `Current` only replaces an older snapshot. (In DynamoDB:
/// `attribute_not_exists(pk)`, or for `Current` `... OR fetched_at_ms < :new`.)
pub fn may_replace_stats(slot: StatsSlot, existing: Option<i64>, new_fetched_at_ms: i64) -> bool {
    match (slot, existing) {
        (_, None) => true,
        (StatsSlot::Current, Some(old)) => old < new_fetched_at_ms,
        (StatsSlot::Final(_) | StatsSlot::AtHeight(..), Some(_)) => false,
    }
}

/// Whether a new current snapshot (of `epoch`, rows hashing to
/// `rows_hash`) may keep the stored one's chunks and rewrite only its
/// header: the same epoch and rows, and chunks young enough to outlive
/// another refresh interval.
pub fn current_chunks_reusable(
    stored: &SnapshotHeader,
    epoch: u64,
    rows_hash: u64,
    now_ms: i64,
) -> bool {
    stored.epoch_id == epoch
        && stored.rows_hash == Some(rows_hash)
        && stored
            .chunks_written_ms
            .is_some_and(|at| now_ms - at < CURRENT_CHUNKS_REWRITE_MS)
}

/// Whether a warm lease claimed until `claimed_until_ms` (if ever) is free
/// at `now_ms`: never claimed, lapsed, or released.
pub fn lease_is_free(claimed_until_ms: Option<i64>, now_ms: i64) -> bool {
    claimed_until_ms.is_none_or(|until| until <= now_ms)
}

/// Who holds an epoch's warm lease: a random id (a UUID v4) the trigger
/// makes, sends the warmer in its payload, and the warmer renews and
/// releases the lease with. At most 64 letters, digits and `-` (it comes
/// in a payload and is stored in the table).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LeaseToken(String);

impl LeaseToken {
    pub const MAX_LEN: usize = 64;

    /// A new owner nobody else has.
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = (1..=Self::MAX_LEN).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "a lease token is 1 to {} letters, digits or '-'",
                Self::MAX_LEN
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LeaseToken {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}

impl From<LeaseToken> for String {
    fn from(token: LeaseToken) -> String {
        token.0
    }
}

impl std::fmt::Display for LeaseToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An epoch's warm lease as stored: until when it is held and by whom
/// (`None`: a claim without an owner, e.g. one written before leases had
/// owners; it can only lapse), and the rest its last run earned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmLease {
    pub claimed_until_ms: i64,
    pub owner: Option<LeaseToken>,
    pub rest: Option<WarmRest>,
}

/// Until when an epoch needs no warm run of the same kind (as the current
/// epoch, or as a finished one): a run that found every item present
/// records it when it releases the lease. A finished epoch whose items,
/// total and jail statuses are all stored rests for good ([`WarmRest::FOREVER`]);
/// the current epoch until its first item's freshness runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WarmRest {
    pub until_ms: i64,
    pub finished: bool,
}

impl WarmRest {
    pub const FOREVER: i64 = i64::MAX;
}

/// Whether a stored rest lets a run of the given kind start at `now_ms`:
/// none, over, or earned as the other kind (an epoch that just finished is
/// warmed as finished whatever its last current run earned).
pub fn rest_allows(rest: Option<&WarmRest>, now_ms: i64, finished: bool) -> bool {
    rest.is_none_or(|r| r.until_ms <= now_ms || r.finished != finished)
}

/// Whether `claimant` may take the epoch's warm lease at `now_ms` (until
/// `now_ms` + the lease) for a run of the kind `finished`: when it is free
/// ([`lease_is_free`]), or already the claimant's (a renewal, even of a
/// lease that lapsed while nobody else took it), and no rest of that kind
/// holds ([`rest_allows`]). (In DynamoDB: `attribute_not_exists(pk) OR
/// ((claimed_until <= :now OR lease_owner = :owner) AND (attribute_not_exists(rest_until)
/// OR rest_until <= :now OR rest_finished <> :finished))`.)
pub fn lease_may_claim(
    stored: Option<&WarmLease>,
    claimant: &LeaseToken,
    now_ms: i64,
    finished: bool,
) -> bool {
    stored.is_none_or(|lease| {
        (lease_is_free(Some(lease.claimed_until_ms), now_ms)
            || lease.owner.as_ref() == Some(claimant))
            && rest_allows(lease.rest.as_ref(), now_ms, finished)
    })
}

/// Whether `owner` may release the lease (set `claimed_until` to now):
/// only its own, so a run whose lease lapsed and was taken never frees the
/// new holder's. (In DynamoDB: `lease_owner = :owner`.)
pub fn lease_may_release(stored: Option<&WarmLease>, owner: &LeaseToken) -> bool {
    stored.is_some_and(|lease| lease.owner.as_ref() == Some(owner))
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

/// The outcome of claiming (or renewing) an epoch's warm lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseClaim {
    /// This call holds the lease now (a trigger then invokes the warmer).
    pub won: bool,
    /// Until when the lease is held (by this call or another).
    pub held_until_ms: i64,
    /// A lost claim: the epoch rests (needs no run of this kind) until then.
    pub rest_until_ms: Option<i64>,
}

/// Which stored copy of an epoch's stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatsSlot {
    /// The latest snapshot of whichever epoch is current (one global item,
    /// so `/current` is one read).
    Current,
    /// A finished epoch at its canonical height: immutable.
    Final(u64),
    /// A finished epoch at a requested height below the canonical one.
    AtHeight(u64, u64),
}

/// The fields of the `/v1/inference/current` response that describe the
/// chain's tip rather than the epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct BlockInfo {
    pub current_block_height: Option<u64>,
    pub current_block_timestamp: Option<String>,
    pub avg_block_time: Option<f64>,
    pub next_poc_start_block: Option<u64>,
    pub set_new_validators_block: Option<u64>,
}

/// Everything stored about an epoch's stats except the participant rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotHeader {
    pub epoch_id: u64,
    pub height: u64,
    pub fetched_at_ms: i64,
    pub is_finished: bool,
    pub effective_block_height: u64,
    pub canonical_height: Option<u64>,
    #[serde(default)]
    pub block: BlockInfo,
    pub participant_count: u64,
    /// Identifies this snapshot's row chunks (written before the header).
    pub version: String,
    /// Rows are spread over this many chunks by [`bucket_of`].
    pub buckets: u32,
    /// A hash of the rows as stored (the current snapshot: a refresh that
    /// finds the same rows rewrites only the header). For a snapshot whose
    /// tallies are stored apart, of the rows without them.
    #[serde(default)]
    pub rows_hash: Option<u64>,
    /// Set when the rows' tallies (their counters, which every block
    /// moves) are stored apart from the rows, one tally chunk beside each
    /// row chunk and rewritten in place: a hash of them. The current
    /// snapshot's refresh then writes the tallies and the header, not the
    /// rows, when only counters changed.
    #[serde(default)]
    pub tallies_hash: Option<u64>,
    /// When the chunks were written (ms); the current snapshot's chunks
    /// expire [`CURRENT_CHUNKS_TTL_MS`] after this, so a refresh writes
    /// them again once they are [`CURRENT_CHUNKS_REWRITE_MS`] old.
    #[serde(default)]
    pub chunks_written_ms: Option<i64>,
}

/// How long the current snapshot's chunks live: a replaced snapshot is
/// gone within this (not a day), and a refresh with unchanged rows
/// rewrites the chunks once they are [`CURRENT_CHUNKS_REWRITE_MS`] old.
pub const CURRENT_CHUNKS_TTL_MS: i64 = 45 * 60_000;
pub const CURRENT_CHUNKS_REWRITE_MS: i64 = 20 * 60_000;

#[derive(Debug, Clone, PartialEq)]
pub struct EpochSnapshot {
    pub header: SnapshotHeader,
    pub participants: Vec<ParticipantStats>,
}

impl EpochSnapshot {
    pub fn participant(&self, id: &str) -> Option<&ParticipantStats> {
        self.participants.iter().find(|p| p.index == id)
    }
}

/// Where a participant's row may be read in the modal's one round trip:
/// a snapshot whose header the instance knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowSource {
    pub version: String,
    pub buckets: u32,
    /// Its tallies are stored apart ([`SnapshotHeader::tallies_hash`]).
    pub tallies_apart: bool,
}

impl RowSource {
    pub fn of(header: &SnapshotHeader) -> Self {
        Self {
            version: header.version.clone(),
            buckets: header.buckets,
            tallies_apart: header.tallies_hash.is_some(),
        }
    }
}

/// A hash of the rows' tallies, in row order (both adapters name a
/// current snapshot's tallies by it).
pub fn tallies_hash(rows: &[ParticipantStats]) -> u64 {
    let mut bytes = Vec::with_capacity(rows.len() * 48);
    for row in rows {
        let t = &row.current_epoch_stats;
        for counter in [
            &t.inference_count,
            &t.missed_requests,
            &t.earned_coins,
            &t.rewarded_coins,
            &t.burned_coins,
            &t.validated_inferences,
            &t.invalidated_inferences,
        ] {
            bytes.extend_from_slice(counter.as_bytes());
            bytes.push(0);
        }
    }
    fnv1a(&bytes)
}

/// Rows per chunk: small enough that one modal reads little, large enough
/// that a 10,000-participant epoch is a few hundred items.
pub const ROWS_PER_BUCKET: usize = 64;

pub fn bucket_count(participants: usize) -> u32 {
    participants.div_ceil(ROWS_PER_BUCKET).max(1) as u32
}

/// A participant's chunk: FNV-1a of its id, stable across processes and
/// releases (std's hasher is not guaranteed to be).
pub fn bucket_of(participant: &str, buckets: u32) -> u32 {
    (fnv1a(participant.as_bytes()) % u64::from(buckets.max(1))) as u32
}

/// Splits rows into `buckets` chunks by [`bucket_of`], keeping row order
/// within each chunk.
pub fn split_into_buckets(rows: &[ParticipantStats], buckets: u32) -> Vec<Vec<&ParticipantStats>> {
    let mut out: Vec<Vec<&ParticipantStats>> = vec![Vec::new(); buckets.max(1) as usize];
    for row in rows {
        out[bucket_of(&row.index, buckets) as usize].push(row);
    }
    out
}

/// A finished epoch's `total_assigned_rewards_gnk`, once every reward is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochTotal {
    pub epoch_id: u64,
    pub total_assigned_rewards_gnk: u64,
    pub rewarded_coins_sum: String,
    pub participants: u64,
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
    fn stats_and_lease_rules() {
        use StatsSlot::*;
        let cases = [
            (Current, None, true),
            (Current, Some(1), true),
            (Current, Some(2), false),
            (Current, Some(3), false),
            (Final(5), None, true),
            (Final(5), Some(1), false),
            (AtHeight(5, 9), None, true),
            (AtHeight(5, 9), Some(1), false),
        ];
        for (slot, existing, want) in cases {
            assert_eq!(
                may_replace_stats(slot, existing, 2),
                want,
                "{slot:?} {existing:?}"
            );
        }
        assert!(lease_is_free(None, 10));
        assert!(lease_is_free(Some(10), 10));
        assert!(!lease_is_free(Some(11), 10));
    }

    #[test]
    fn lease_rules() {
        let (me, other) = (LeaseToken::random(), LeaseToken::random());
        let lease = |until: i64, owner: Option<&LeaseToken>| {
            Some(WarmLease {
                claimed_until_ms: until,
                owner: owner.cloned(),
                rest: None,
            })
        };
        const NOW: i64 = 1_000;
        // (stored, may `me` claim or renew, may `me` release)
        let cases = [
            (None, true, false),
            // Held by another: neither.
            (lease(NOW + 1, Some(&other)), false, false),
            (lease(NOW + 1, None), false, false),
            // Lapsed or released, whoever held it: free to claim.
            (lease(NOW, Some(&other)), true, false),
            (lease(NOW - 5, None), true, false),
            // Mine: renewed, held or lapsed; released only by me.
            (lease(NOW + 1, Some(&me)), true, true),
            (lease(NOW - 5, Some(&me)), true, true),
        ];
        for (stored, claim, release) in cases {
            assert_eq!(
                lease_may_claim(stored.as_ref(), &me, NOW, false),
                claim,
                "claim {stored:?}"
            );
            assert_eq!(
                lease_may_release(stored.as_ref(), &me),
                release,
                "release {stored:?}"
            );
        }
    }

    #[test]
    fn a_rest_holds_off_runs_of_its_kind_until_it_ends() {
        let rest = |until_ms, finished| Some(WarmRest { until_ms, finished });
        // (stored rest, claim as finished, allowed at NOW = 1_000)
        let cases = [
            (None, false, true),
            (rest(WarmRest::FOREVER, true), true, false),
            (rest(WarmRest::FOREVER, true), false, true),
            (rest(1_001, false), false, false),
            (rest(1_000, false), false, true),
            (rest(5_000, false), true, true),
        ];
        for (stored, finished, want) in cases {
            assert_eq!(
                rest_allows(stored.as_ref(), 1_000, finished),
                want,
                "{stored:?} {finished}"
            );
            let lease = WarmLease {
                claimed_until_ms: 0,
                owner: None,
                rest: stored,
            };
            assert_eq!(
                lease_may_claim(Some(&lease), &LeaseToken::random(), 1_000, finished),
                want
            );
        }
    }

    #[test]
    fn unchanged_current_rows_keep_their_chunks_until_due_a_rewrite() {
        let stored = SnapshotHeader {
            epoch_id: 60,
            height: 1,
            fetched_at_ms: 0,
            is_finished: false,
            effective_block_height: 1,
            canonical_height: None,
            block: BlockInfo::default(),
            participant_count: 1,
            version: "v".into(),
            buckets: 1,
            rows_hash: Some(7),
            tallies_hash: Some(1),
            chunks_written_ms: Some(1_000),
        };
        let due = 1_000 + CURRENT_CHUNKS_REWRITE_MS;
        // (epoch, rows hash, now, reusable)
        let cases = [
            (60, 7, 2_000, true),
            (60, 8, 2_000, false),
            (61, 7, 2_000, false),
            (60, 7, due - 1, true),
            (60, 7, due, false),
        ];
        for (epoch, hash, now, want) in cases {
            assert_eq!(
                current_chunks_reusable(&stored, epoch, hash, now),
                want,
                "{epoch} {hash} {now}"
            );
        }
        let legacy = SnapshotHeader {
            rows_hash: None,
            tallies_hash: None,
            ..stored
        };
        assert!(!current_chunks_reusable(&legacy, 60, 7, 2_000));
        const { assert!(CURRENT_CHUNKS_REWRITE_MS * 2 <= CURRENT_CHUNKS_TTL_MS) };
    }

    #[test]
    fn lease_tokens() {
        let t = LeaseToken::random();
        assert_eq!(t.as_str().len(), 36);
        assert_ne!(t, LeaseToken::random());
        assert_eq!(LeaseToken::parse(t.as_str()), Ok(t));
        for bad in ["", "a b", "x/../y", "é", &"a".repeat(65)] {
            assert!(LeaseToken::parse(bad).is_err(), "{bad:?}");
        }
        assert!(LeaseToken::parse(&"a".repeat(64)).is_ok());
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

    #[test]
    fn buckets_are_stable_and_cover_everything() {
        assert_eq!(bucket_count(0), 1);
        assert_eq!(bucket_count(64), 1);
        assert_eq!(bucket_count(65), 2);
        assert_eq!(bucket_count(10_000), 157);
        // Pinned values: a change would orphan every stored chunk.
        assert_eq!(
            bucket_of("gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake364", 157),
            58
        );
        assert_eq!(
            bucket_of("gonka1tt6mlr3r50uey8kxkktlxv8ht9zyrd4dtnvemu", 157),
            26
        );
        assert_eq!(bucket_of("a", 1), 0);
        assert_eq!(
            bucket_of("", 1000),
            (0xcbf2_9ce4_8422_2325u64 % 1000) as u32
        );
    }
}
