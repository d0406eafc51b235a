//! In-memory [`CacheTable`] for unit tests of handlers: the same
//! replacement, lease and write-once rules as the DynamoDB adapter (the
//! adapter itself is tested against DynamoDB Local).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::budget::{budget_window, Budget};
use super::items::*;
use super::port::BudgetTable;
use super::port::{
    ItemTable, LeaseTable, ModalBundle, ModalRead, ModalTable, SnapshotTable, TableError,
    TableMetrics, TableResult, TotalTable, ValidatorKeyRow,
};
use crate::domain::ParticipantStats;
use crate::ids::ParticipantId;

#[derive(Default)]
pub struct MemoryTable {
    state: Mutex<State>,
    round_trips: AtomicU64,
    /// When set, every call fails as if the table were unreachable.
    pub fail: std::sync::atomic::AtomicBool,
    /// The network-wide items (`memory_network`).
    pub(super) network: Mutex<super::memory_state::NetworkMemory>,
    /// The [`super::StatusTable`] items (`memory_status`).
    pub(super) status: Mutex<super::memory_state::StatusState>,
    /// The [`super::InferenceTable`] items (`memory_inferences`).
    pub(super) inferences: Mutex<super::memory_state::InferenceMemory>,
    /// The [`super::HistoryTable`] items (`memory_history`).
    pub(super) history: Mutex<super::memory_state::HistoryMemory>,
}

#[derive(Default)]
struct State {
    stats: HashMap<StatsSlot, EpochSnapshot>,
    items: HashMap<ItemKey, CachedItem>,
    leases: HashMap<u64, WarmLease>,
    totals: HashMap<u64, EpochTotal>,
    /// (budget, window) -> units taken.
    budgets: HashMap<(Budget, i64), u32>,
}

impl MemoryTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls made so far (each is one round trip in the real adapter).
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    pub fn items(&self) -> Vec<CachedItem> {
        self.state.lock().unwrap().items.values().cloned().collect()
    }

    pub(super) fn count_round_trip(&self) {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a call and fails it when the table is set to fail.
    pub(super) fn call(&self) -> TableResult<()> {
        self.enter().map(drop)
    }

    fn enter(&self) -> TableResult<std::sync::MutexGuard<'_, State>> {
        self.count_round_trip();
        if self.fail.load(Ordering::Relaxed) {
            return Err(TableError::Unavailable("memory table set to fail".into()));
        }
        Ok(self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl TableMetrics for MemoryTable {
    fn requests(&self) -> u64 {
        self.round_trips()
    }
}

impl ItemTable for MemoryTable {
    async fn load_items(&self, keys: &[ItemKey]) -> TableResult<HashMap<ItemKey, CachedItem>> {
        let state = self.enter()?;
        Ok(keys
            .iter()
            .filter_map(|k| state.items.get(k).map(|i| (k.clone(), i.clone())))
            .collect())
    }

    async fn item_meta(&self, keys: &[ItemKey]) -> TableResult<HashMap<ItemKey, ItemMeta>> {
        let state = self.enter()?;
        Ok(keys
            .iter()
            .filter_map(|k| state.items.get(k).map(|i| (k.clone(), i.meta)))
            .collect())
    }

    async fn put_item(&self, item: &CachedItem) -> TableResult<PutOutcome> {
        let mut state = self.enter()?;
        if !may_replace(state.items.get(&item.key).map(|i| i.meta), item.meta) {
            return Ok(PutOutcome::LostRace);
        }
        state.items.insert(item.key.clone(), item.clone());
        Ok(PutOutcome::Written)
    }
}

impl SnapshotTable for MemoryTable {
    async fn load_stats(&self, slot: StatsSlot) -> TableResult<Option<EpochSnapshot>> {
        Ok(self.enter()?.stats.get(&slot).cloned())
    }

    async fn load_validator_keys(
        &self,
        slot: StatsSlot,
    ) -> TableResult<Option<(SnapshotHeader, Vec<ValidatorKeyRow>)>> {
        Ok(self.enter()?.stats.get(&slot).map(|s| {
            let keys = s
                .participants
                .iter()
                .map(|p| ValidatorKeyRow {
                    index: p.index.clone(),
                    validator_key: p.validator_key.clone(),
                })
                .collect();
            (s.header.clone(), keys)
        }))
    }

    async fn store_stats(
        &self,
        slot: StatsSlot,
        snapshot: &EpochSnapshot,
    ) -> TableResult<PutOutcome> {
        let mut state = self.enter()?;
        let existing = state.stats.get(&slot).map(|s| s.header.fetched_at_ms);
        if !may_replace_stats(slot, existing, snapshot.header.fetched_at_ms) {
            return Ok(PutOutcome::LostRace);
        }
        let mut stored = snapshot.clone();
        // As the DynamoDB adapter does: a version unique to this write,
        // unless the current snapshot's rows without their tallies are the
        // same; the current snapshot's tallies named by their hash.
        let is_current = slot == StatsSlot::Current;
        let unchanged = state.stats.get(&slot).filter(|s| {
            is_current
                && s.header.epoch_id == snapshot.header.epoch_id
                && s.participants.len() == snapshot.participants.len()
                && s.participants
                    .iter()
                    .zip(&snapshot.participants)
                    .all(|(a, b)| a.without_tally() == b.without_tally())
        });
        stored.header.tallies_hash = is_current.then(|| tallies_hash(&snapshot.participants));
        stored.header.version = match unchanged {
            Some(s) => s.header.version.clone(),
            None => format!(
                "{}.{}.{}.{}",
                stored.header.epoch_id,
                stored.header.height,
                stored.header.fetched_at_ms,
                self.round_trips()
            ),
        };
        stored.header.buckets = bucket_count(stored.participants.len());
        stored.header.participant_count = stored.participants.len() as u64;
        state.stats.insert(slot, stored);
        Ok(PutOutcome::Written)
    }

    async fn load_header(&self, slot: StatsSlot) -> TableResult<Option<SnapshotHeader>> {
        Ok(self.enter()?.stats.get(&slot).map(|s| s.header.clone()))
    }
}

impl ModalTable for MemoryTable {
    async fn load_modal_bundle(&self, read: &ModalRead<'_>) -> TableResult<ModalBundle> {
        let mut bundle = {
            let state = self.enter()?;
            let id = read.participant.map_or("", |p| p.as_str());
            ModalBundle {
                headers: read
                    .slots
                    .iter()
                    .filter_map(|s| state.stats.get(s).map(|snap| (*s, snap.header.clone())))
                    .collect(),
                items: read
                    .items
                    .iter()
                    .filter_map(|k| state.items.get(k).map(|i| (k.clone(), i.clone())))
                    .collect(),
                rows: read
                    .rows_in
                    .iter()
                    .filter(|_| read.participant.is_some())
                    .filter_map(|source| {
                        let snap = state
                            .stats
                            .values()
                            .find(|s| s.header.version == source.version)?;
                        Some((source.version.clone(), snap.participant(id).cloned()))
                    })
                    .collect(),
                status: (None, None),
            }
        };
        if let (Some(e), Some(p)) = (read.status_epoch, read.participant) {
            bundle.status = self.status_of(e, p.as_str())?;
        }
        Ok(bundle)
    }

    async fn load_participant_row(
        &self,
        header: &SnapshotHeader,
        participant: &ParticipantId,
    ) -> TableResult<Option<ParticipantStats>> {
        let state = self.enter()?;
        Ok(state
            .stats
            .values()
            .find(|s| s.header.version == header.version)
            .and_then(|s| s.participant(participant.as_str()).cloned()))
    }
}

impl LeaseTable for MemoryTable {
    async fn claim_warm_lease(
        &self,
        epoch: u64,
        owner: &LeaseToken,
        now_ms: i64,
        lease_ms: i64,
        finished: bool,
    ) -> TableResult<LeaseClaim> {
        let mut state = self.enter()?;
        let stored = state.leases.get(&epoch);
        if !lease_may_claim(stored, owner, now_ms, finished) {
            return Ok(LeaseClaim {
                won: false,
                held_until_ms: stored.map_or(now_ms, |l| l.claimed_until_ms),
                rest_until_ms: stored
                    .and_then(|l| l.rest)
                    .filter(|r| !rest_allows(Some(r), now_ms, finished))
                    .map(|r| r.until_ms),
            });
        }
        let until = now_ms + lease_ms;
        state.leases.insert(
            epoch,
            WarmLease {
                claimed_until_ms: until,
                owner: Some(owner.clone()),
                rest: None,
            },
        );
        Ok(LeaseClaim {
            won: true,
            held_until_ms: until,
            rest_until_ms: None,
        })
    }

    async fn release_warm_lease(
        &self,
        epoch: u64,
        owner: &LeaseToken,
        now_ms: i64,
        rest: Option<WarmRest>,
    ) -> TableResult<PutOutcome> {
        let mut state = self.enter()?;
        let stored = state.leases.get(&epoch);
        if !lease_may_release(stored, owner) {
            return Ok(PutOutcome::LostRace);
        }
        state.leases.insert(
            epoch,
            WarmLease {
                claimed_until_ms: now_ms,
                owner: Some(owner.clone()),
                rest,
            },
        );
        Ok(PutOutcome::Written)
    }
}

impl TotalTable for MemoryTable {
    async fn load_total(&self, epoch: u64) -> TableResult<Option<EpochTotal>> {
        Ok(self.enter()?.totals.get(&epoch).cloned())
    }

    async fn store_total(&self, total: &EpochTotal) -> TableResult<PutOutcome> {
        let mut state = self.enter()?;
        if state.totals.contains_key(&total.epoch_id) {
            return Ok(PutOutcome::LostRace);
        }
        state.totals.insert(total.epoch_id, total.clone());
        Ok(PutOutcome::Written)
    }
}

impl BudgetTable for MemoryTable {
    async fn take_budget(&self, budget: Budget, now_ms: i64, limit: u32) -> TableResult<bool> {
        let mut state = self.enter()?;
        let used = state
            .budgets
            .entry((budget, budget_window(now_ms)))
            .or_default();
        let taken = *used < limit;
        if taken {
            *used += 1;
        }
        Ok(taken)
    }
}

impl super::RevisionTable for MemoryTable {
    async fn load_revisions(&self, query: super::RevisionQuery) -> TableResult<super::Revisions> {
        let (current, total) = {
            let state = self.enter()?;
            (
                query
                    .current_header
                    .then(|| {
                        state
                            .stats
                            .get(&StatsSlot::Current)
                            .map(|s| s.header.clone())
                    })
                    .flatten(),
                query
                    .total
                    .then(|| state.totals.get(&query.epoch).cloned())
                    .flatten(),
            )
        };
        let status = self
            .status
            .lock()
            .map_err(|_| TableError::Unavailable("memory table poisoned".into()))?;
        Ok(super::Revisions {
            jail: super::memory_state::revision(status.jail.get(&query.epoch)),
            health: super::memory_state::revision(Some(&status.health)),
            current,
            total,
        })
    }
}
