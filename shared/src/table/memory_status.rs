//! [`StatusTable`] for [`MemoryTable`]: the same chunking, final /
//! later-wins and write-only-what-changed rules as the DynamoDB adapter,
//! with rows kept as values instead of compressed blobs.

use std::collections::HashMap;

use super::items::PutOutcome;
use super::memory::MemoryTable;
use super::memory_state::{revision, Chunk, ChunkSet, StatusState};
use super::port::{TableError, TableResult};
use super::status_port::*;
use crate::domain::{JailStatus, NodeHealth};
use crate::hash::fnv1a;
use crate::keybase::KeybaseIdentity;

fn rows_of<T: Clone>(set: Option<&ChunkSet<T>>, id: impl Fn(&T) -> &str) -> HashMap<String, T> {
    set.into_iter()
        .flatten()
        .flatten()
        .flat_map(|c| c.rows.iter())
        .map(|r| (id(r).to_owned(), r.clone()))
        .collect()
}

fn json_hash<T: serde::Serialize>(v: &T, salt: u64) -> u64 {
    fnv1a(&serde_json::to_vec(v).unwrap_or_default()).wrapping_add(salt)
}

/// Writes the chunks of `rows` under the adapters' rules: a chunk is
/// written when [`chunk_needs_write`] and `may_replace` allow.
#[allow(clippy::too_many_arguments)]
fn write_set<T: Clone + serde::Serialize>(
    set: &mut ChunkSet<T>,
    rows: &[T],
    id: impl Fn(&T) -> &str,
    content: impl Fn(&[&T]) -> Option<u64>,
    fetched_at_ms: i64,
    is_final: bool,
    restamp_ms: Option<i64>,
    may_replace: impl Fn(&Chunk<T>) -> bool,
    writes: &mut u64,
) -> PutOutcome {
    set.resize_with(STATUS_BUCKETS as usize, || None);
    let mut outcome = PutOutcome::Written;
    for (b, chunk_rows) in split_statuses(rows, id).into_iter().enumerate() {
        let hash = json_hash(&chunk_rows, u64::from(is_final));
        let stamp = ChunkStamp {
            hash,
            content: content(&chunk_rows).unwrap_or(hash),
            written_at_ms: fetched_at_ms,
        };
        let stored = set[b].as_ref();
        if !chunk_needs_write(stored.map(|c| &c.stamp), &stamp, restamp_ms) {
            continue;
        }
        *writes += 1;
        if stored.is_some_and(|c| !may_replace(c)) {
            outcome = PutOutcome::LostRace;
            continue;
        }
        set[b] = Some(Chunk {
            rows: chunk_rows.into_iter().cloned().collect(),
            stamp,
            fetched_at_ms,
            is_final,
        });
    }
    outcome
}

impl MemoryTable {
    fn status_state(&self) -> TableResult<std::sync::MutexGuard<'_, StatusState>> {
        self.call()?;
        self.status
            .lock()
            .map_err(|_| TableError::Unavailable("memory table poisoned".into()))
    }

    /// A participant's jail status in `epoch` and its health (no round
    /// trip counted: the caller's read counts).
    pub(super) fn status_of(
        &self,
        epoch: u64,
        participant: &str,
    ) -> TableResult<(Option<JailStatus>, Option<NodeHealth>)> {
        let state = self
            .status
            .lock()
            .map_err(|_| TableError::Unavailable("memory table poisoned".into()))?;
        let jail = rows_of(state.jail.get(&epoch), |j: &JailStatus| {
            j.participant.as_str()
        })
        .remove(participant);
        let health = rows_of(Some(&state.health), |h: &NodeHealth| h.participant.as_str())
            .remove(participant);
        Ok((jail, health))
    }

    /// Status chunk puts made so far.
    pub fn status_chunk_writes(&self) -> u64 {
        self.status.lock().map_or(0, |s| s.chunk_writes)
    }
}

impl StatusTable for MemoryTable {
    async fn load_statuses(&self, parts: StatusParts) -> TableResult<StoredStatuses> {
        let state = self.status_state()?;
        let jail = parts.jail.and_then(|e| state.jail.get(&e));
        let health = parts.health.then_some(&state.health);
        Ok(StoredStatuses {
            jail: rows_of(jail, |j: &JailStatus| j.participant.as_str()),
            health: rows_of(health, |h: &NodeHealth| h.participant.as_str()),
            jail_revision: revision(jail),
            health_revision: revision(health),
        })
    }

    async fn store_jail(
        &self,
        epoch: u64,
        statuses: &[JailStatus],
        fetched_at_ms: i64,
        is_final: bool,
    ) -> TableResult<PutOutcome> {
        let mut state = self.status_state()?;
        let StatusState {
            jail, chunk_writes, ..
        } = &mut *state;
        Ok(write_set(
            jail.entry(epoch).or_default(),
            statuses,
            |j| j.participant.as_str(),
            |_| None,
            fetched_at_ms,
            is_final,
            None,
            |c| jail_may_replace(Some((c.fetched_at_ms, c.is_final)), fetched_at_ms, is_final),
            chunk_writes,
        ))
    }

    async fn jail_is_final(&self, epoch: u64) -> TableResult<bool> {
        Ok(self.status_state()?.jail.get(&epoch).is_some_and(|set| {
            set.len() == STATUS_BUCKETS as usize
                && set.iter().all(|c| c.as_ref().is_some_and(|c| c.is_final))
        }))
    }

    async fn store_health(
        &self,
        health: &[NodeHealth],
        fetched_at_ms: i64,
    ) -> TableResult<PutOutcome> {
        let mut state = self.status_state()?;
        let StatusState {
            health: set,
            chunk_writes,
            ..
        } = &mut *state;
        let content = |rows: &[&NodeHealth]| {
            let results: Vec<(&str, bool)> = rows
                .iter()
                .map(|h| (h.participant.as_str(), h.healthy))
                .collect();
            Some(json_hash(&results, 0))
        };
        Ok(write_set(
            set,
            health,
            |h| h.participant.as_str(),
            content,
            fetched_at_ms,
            false,
            Some(HEALTH_RESTAMP_MS),
            |c| c.fetched_at_ms < fetched_at_ms,
            chunk_writes,
        ))
    }

    async fn load_keybase(
        &self,
        identities: &[KeybaseIdentity],
    ) -> TableResult<HashMap<KeybaseIdentity, CachedKeybase>> {
        let state = self.status_state()?;
        Ok(identities
            .iter()
            .filter_map(|i| state.keybase.get(i))
            .map(|c| (c.identity.clone(), c.clone()))
            .collect())
    }

    async fn store_keybase(&self, entries: &[CachedKeybase]) -> TableResult<()> {
        let mut state = self.status_state()?;
        for e in entries {
            let kept = state
                .keybase
                .get(&e.identity)
                .is_some_and(|old| old.expires_at_ms >= e.expires_at_ms);
            if !kept {
                state.keybase.insert(e.identity.clone(), e.clone());
            }
        }
        Ok(())
    }
}
