//! [`StatusTable`] for [`MemoryTable`]: the same final / later-wins rules
//! as the DynamoDB adapter, without chunks.

use std::collections::HashMap;

use super::items::PutOutcome;
use super::memory::MemoryTable;
use super::port::{TableError, TableResult};
use super::status_port::*;
use crate::domain::{JailStatus, NodeHealth};
use crate::keybase::KeybaseIdentity;

#[derive(Default)]
pub(super) struct StatusState {
    /// epoch -> (rows, fetched_at_ms, final)
    jail: HashMap<u64, (Vec<JailStatus>, i64, bool)>,
    health: Option<(Vec<NodeHealth>, i64)>,
    keybase: HashMap<KeybaseIdentity, CachedKeybase>,
}

impl StatusState {
    fn version(&self, epoch: u64) -> u64 {
        let jail = self.jail.get(&epoch).map_or(0, |j| j.1 as u64);
        let health = self.health.as_ref().map_or(0, |h| h.1 as u64);
        jail.wrapping_mul(31).wrapping_add(health)
    }
}

impl MemoryTable {
    fn status_state(&self) -> TableResult<std::sync::MutexGuard<'_, StatusState>> {
        self.call()?;
        self.status
            .lock()
            .map_err(|_| TableError::Unavailable("memory table poisoned".into()))
    }
}

impl StatusTable for MemoryTable {
    async fn status_version(&self, epoch: u64) -> TableResult<u64> {
        Ok(self.status_state()?.version(epoch))
    }

    async fn load_statuses(&self, epoch: u64) -> TableResult<StoredStatuses> {
        let state = self.status_state()?;
        Ok(StoredStatuses {
            jail: state
                .jail
                .get(&epoch)
                .map(|j| {
                    j.0.iter()
                        .map(|s| (s.participant.clone(), s.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            health: state
                .health
                .as_ref()
                .map(|h| {
                    h.0.iter()
                        .map(|s| (s.participant.clone(), s.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            version: state.version(epoch),
        })
    }

    async fn load_participant_status(
        &self,
        epoch: u64,
        participant: &str,
    ) -> TableResult<(Option<JailStatus>, Option<NodeHealth>)> {
        let state = self.status_state()?;
        let jail = state
            .jail
            .get(&epoch)
            .and_then(|j| j.0.iter().find(|s| s.participant == participant).cloned());
        let health = state
            .health
            .as_ref()
            .and_then(|h| h.0.iter().find(|s| s.participant == participant).cloned());
        Ok((jail, health))
    }

    async fn store_jail(
        &self,
        epoch: u64,
        statuses: &[JailStatus],
        fetched_at_ms: i64,
        is_final: bool,
    ) -> TableResult<PutOutcome> {
        let mut state = self.status_state()?;
        let stored = state.jail.get(&epoch).map(|j| (j.1, j.2));
        if !jail_may_replace(stored, fetched_at_ms, is_final) {
            return Ok(PutOutcome::LostRace);
        }
        state
            .jail
            .insert(epoch, (statuses.to_vec(), fetched_at_ms, is_final));
        Ok(PutOutcome::Written)
    }

    async fn jail_is_final(&self, epoch: u64) -> TableResult<bool> {
        Ok(self.status_state()?.jail.get(&epoch).is_some_and(|j| j.2))
    }

    async fn store_health(
        &self,
        health: &[NodeHealth],
        fetched_at_ms: i64,
    ) -> TableResult<PutOutcome> {
        let mut state = self.status_state()?;
        if state.health.as_ref().is_some_and(|h| h.1 >= fetched_at_ms) {
            return Ok(PutOutcome::LostRace);
        }
        state.health = Some((health.to_vec(), fetched_at_ms));
        Ok(PutOutcome::Written)
    }

    async fn load_keybase(
        &self,
        identities: &[KeybaseIdentity],
        now_ms: i64,
    ) -> TableResult<HashMap<KeybaseIdentity, CachedKeybase>> {
        let state = self.status_state()?;
        Ok(identities
            .iter()
            .filter_map(|i| state.keybase.get(i))
            .filter(|c| c.expires_at_ms > now_ms)
            .map(|c| (c.identity.clone(), c.clone()))
            .collect())
    }

    async fn store_keybase(&self, entries: &[CachedKeybase]) -> TableResult<()> {
        let mut state = self.status_state()?;
        for e in entries {
            state.keybase.insert(e.identity.clone(), e.clone());
        }
        Ok(())
    }
}
