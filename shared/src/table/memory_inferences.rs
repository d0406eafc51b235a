//! [`InferenceTable`] on the in-memory fake, with the DynamoDB adapter's
//! rules: a save is conditional on the version it read, and a completed
//! scan publishes per epoch only the buckets whose content changed
//! ([`plan_publish`]), never over a newer scan's records.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::MutexGuard;

use super::inferences::rules::{bucket_records, content_hash, plan_publish, RecordRow};
use super::inferences::{
    InferenceTable, PublishStamp, PublishedInferences, ScanCheckpoint, RECORD_BUCKETS,
};
use super::items::{bucket_of, PutOutcome};
use super::memory::MemoryTable;
use super::memory_state::{InferenceMemory, PublishedBucket, PublishedEpoch};
use super::port::{TableError, TableResult};
use crate::domain::inferences::InferenceLists;
use crate::ids::ParticipantId;

impl MemoryTable {
    fn inference_state(&self) -> TableResult<MutexGuard<'_, InferenceMemory>> {
        self.count_round_trip();
        if self.fail.load(Ordering::Relaxed) {
            return Err(TableError::Unavailable("memory table set to fail".into()));
        }
        Ok(self.inferences.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl InferenceTable for MemoryTable {
    async fn load_scan(&self) -> TableResult<ScanCheckpoint> {
        Ok(self.inference_state()?.checkpoint.clone())
    }

    async fn save_scan(
        &self,
        read: &ScanCheckpoint,
        next: &ScanCheckpoint,
    ) -> TableResult<PutOutcome> {
        let mut state = self.inference_state()?;
        if state.checkpoint.version != read.version {
            return Ok(PutOutcome::LostRace);
        }
        state.checkpoint = ScanCheckpoint {
            version: read.version + 1,
            stored_state: None,
            ..next.clone()
        };
        Ok(PutOutcome::Written)
    }

    async fn publish_inferences(
        &self,
        epoch: u64,
        records: &BTreeMap<String, InferenceLists>,
        stamp: PublishStamp,
    ) -> TableResult<usize> {
        let json = bucket_records(records, RECORD_BUCKETS)?;
        let hashes: Vec<u64> = json.iter().map(|j| content_hash(j)).collect();
        let mut state = self.inference_state()?;
        let published = state
            .published
            .entry(epoch)
            .or_insert_with(|| PublishedEpoch {
                buckets: HashMap::new(),
                digest: None,
                stamp: None,
            });
        let Some(plan) = plan_publish(
            published.digest.as_ref(),
            &hashes,
            stamp,
            stamp.cached_at_ms,
        ) else {
            return Ok(0);
        };
        let newer_or_same = |s: Option<i64>| s.is_none_or(|s| s <= stamp.scan_started_ms);
        let mut written = 0;
        for bucket in plan.buckets {
            let stored = published.buckets.get(&bucket).map(|b| b.scan_started_ms);
            if newer_or_same(stored) {
                published.buckets.insert(
                    bucket,
                    PublishedBucket {
                        json: json[bucket as usize].clone(),
                        scan_started_ms: stamp.scan_started_ms,
                        cached_at_ms: stamp.cached_at_ms,
                    },
                );
                written += 1;
            }
        }
        if let Some(digest) = plan.digest {
            if newer_or_same(published.digest.as_ref().map(|d| d.scan_started_ms)) {
                published.digest = Some(digest);
            }
        }
        if newer_or_same(published.stamp.map(|s| s.scan_started_ms)) {
            published.stamp = Some(stamp);
        }
        Ok(written)
    }

    async fn load_inferences(
        &self,
        participant: &ParticipantId,
        epoch: u64,
    ) -> TableResult<Option<PublishedInferences>> {
        let state = self.inference_state()?;
        let Some(published) = state.published.get(&epoch) else {
            return Ok(None);
        };
        let bucket = bucket_of(participant.as_str(), RECORD_BUCKETS);
        let Some(stored) = published.buckets.get(&bucket) else {
            return Ok(None);
        };
        let rows: Vec<RecordRow> = serde_json::from_slice(&stored.json)
            .map_err(|e| TableError::Corrupt(format!("published records: {e}")))?;
        let stamp_cached_at = published.stamp.map(|s| s.cached_at_ms);
        Ok(rows
            .into_iter()
            .find(|r| r.participant_id == participant.as_str())
            .map(|r| PublishedInferences {
                lists: r.lists,
                cached_at_ms: stamp_cached_at
                    .map_or(stored.cached_at_ms, |s| s.max(stored.cached_at_ms)),
            }))
    }
}
