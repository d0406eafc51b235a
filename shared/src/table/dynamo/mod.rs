//! DynamoDB adapter of [`CacheTable`], by concern:
//! - [`keys`]: the key schema (every item's `pk` / `sk`);
//! - [`rows`]: how each item is written as attributes and read back, with
//!   [`codec`] for the compressed rows of a snapshot chunk;
//! - [`client`]: [`DynamoTable`], GetItem and the one conditional PutItem;
//! - [`batch`]: BatchGetItem / BatchWriteItem with their unprocessed retries;
//! - [`metering`]: the requests and capacity counted;
//! - [`snapshots`]: epoch snapshots in chunks, with their TTLs;
//! - [`lease`]: the epoch's warm lease;
//! - [`budget`]: the per-epoch, per-minute budget of builds at requested heights;
//! - [`network`]: the network-wide views' items (timeline, models).
//! - [`inferences`]: the inference scan's checkpoint and the published inferences.
//! - [`status`]: jail and health chunks, their revision items and Keybase answers ([`crate::table::StatusTable`]);
//! - [`revisions`]: the one small read that revalidates a kept answer ([`crate::table::RevisionTable`]).
//!
//! This module only maps the port's calls onto them.

mod batch;
mod budget;
mod client;
mod codec;
mod history;
mod inferences;
mod keys;
mod lease;
mod metering;
mod network;
mod revisions;
mod rows;
mod snapshots;
mod status;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

pub use client::DynamoTable;
pub use inferences::RECORD_BUCKETS;
pub use keys::{PK, SK, TTL_ATTRIBUTE};
pub use metering::TableCounters;
pub use status::MAX_STATUS_CHUNK_BYTES;

use client::Condition;
use keys::{n, Key};
use rows::{decode_cached_item, decode_header, decode_item_meta, decode_total, ITEM_META};

use super::items::*;
use super::port::{
    ItemTable, LeaseTable, ModalBundle, ModalRead, ModalTable, SnapshotTable, TableMetrics,
    TableResult, TotalTable, ValidatorKeyRow,
};
use crate::domain::ParticipantStats;
use crate::ids::ParticipantId;

impl TableMetrics for DynamoTable {
    fn requests(&self) -> u64 {
        self.counters.requests()
    }

    fn capacity_units(&self) -> (f64, f64) {
        (
            self.counters.read_capacity_units(),
            self.counters.write_capacity_units(),
        )
    }
}

impl ItemTable for DynamoTable {
    async fn load_items(&self, keys: &[ItemKey]) -> TableResult<HashMap<ItemKey, CachedItem>> {
        let items = self.batch_get(keys.iter().map(Key::item), None).await?;
        let mut out = HashMap::with_capacity(items.len());
        for item in items {
            let cached = decode_cached_item(item)?;
            out.insert(cached.key.clone(), cached);
        }
        Ok(out)
    }

    async fn item_meta(&self, keys: &[ItemKey]) -> TableResult<HashMap<ItemKey, ItemMeta>> {
        let items = self
            .batch_get(keys.iter().map(Key::item), Some(ITEM_META))
            .await?;
        Ok(items.iter().filter_map(decode_item_meta).collect())
    }

    async fn put_item(&self, item: &CachedItem) -> TableResult<PutOutcome> {
        // `may_replace`, as a condition.
        let condition =
            Condition::new("attribute_not_exists(pk) OR (#final = :false AND fetched_at < :f)")
                .value(":false", AttributeValue::Bool(false))
                .value(":f", n(item.meta.fetched_at_ms))
                .name("#final", "final");
        Ok(self
            .put_conditional(rows::encode_cached_item(item)?, condition)
            .await?
            .outcome())
    }
}

impl SnapshotTable for DynamoTable {
    async fn load_stats(&self, slot: StatsSlot) -> TableResult<Option<EpochSnapshot>> {
        Ok(self
            .load_snapshot_rows(slot)
            .await?
            .map(|(header, mut participants)| {
                crate::domain::stats::sort_for_display(&mut participants);
                EpochSnapshot {
                    header,
                    participants,
                }
            }))
    }

    async fn load_validator_keys(
        &self,
        slot: StatsSlot,
    ) -> TableResult<Option<(SnapshotHeader, Vec<ValidatorKeyRow>)>> {
        self.load_snapshot::<ValidatorKeyRow>(slot).await
    }

    async fn store_stats(
        &self,
        slot: StatsSlot,
        snapshot: &EpochSnapshot,
    ) -> TableResult<PutOutcome> {
        self.store_snapshot(slot, snapshot).await
    }

    async fn load_header(&self, slot: StatsSlot) -> TableResult<Option<SnapshotHeader>> {
        self.get_item(&Key::stats(slot))
            .await?
            .map(decode_header)
            .transpose()
    }
}

impl ModalTable for DynamoTable {
    async fn load_modal_bundle(&self, read: &ModalRead<'_>) -> TableResult<ModalBundle> {
        let slot_of: HashMap<Key, StatsSlot> =
            read.slots.iter().map(|s| (Key::stats(*s), *s)).collect();
        // Each known snapshot's row chunk (and tally chunk) of the participant.
        let row_keys: Vec<(&str, Vec<Key>)> = match read.participant {
            Some(p) => read
                .rows_in
                .iter()
                .map(|source| (source.version.as_str(), snapshots::row_keys(source, p)))
                .collect(),
            None => Vec::new(),
        };
        let is_row_key = |k: &Key| row_keys.iter().any(|(_, keys)| keys.contains(k));
        let status_keys = match (read.status_epoch, read.participant) {
            (Some(e), Some(p)) => status::participant_status_keys(e, p.as_str()).to_vec(),
            _ => Vec::new(),
        };
        let keys = slot_of
            .keys()
            .cloned()
            .chain(read.items.iter().map(Key::item))
            .chain(row_keys.iter().flat_map(|(_, keys)| keys.iter().cloned()))
            .chain(status_keys.iter().cloned());
        let mut bundle = ModalBundle::default();
        let mut status_items = Vec::new();
        let mut row_items = Vec::new();
        for item in self.batch_get(keys, None).await? {
            let key = Key::of(&item);
            if let Some(slot) = key.as_ref().and_then(|k| slot_of.get(k)) {
                bundle.headers.insert(*slot, decode_header(item)?);
            } else if key.as_ref().is_some_and(is_row_key) {
                row_items.push(item);
            } else if key.as_ref().is_some_and(|k| status_keys.contains(k)) {
                status_items.push(item);
            } else {
                let cached = decode_cached_item(item)?;
                bundle.items.insert(cached.key.clone(), cached);
            }
        }
        if let Some(p) = read.participant {
            for (version, keys) in &row_keys {
                if let Some(row) = snapshots::row_among(&row_items, keys, p)? {
                    bundle.rows.insert((*version).to_owned(), row);
                }
            }
        }
        if let Some(p) = read.participant.filter(|_| read.status_epoch.is_some()) {
            bundle.status = status::participant_status_from(&status_items, p.as_str())?;
        }
        Ok(bundle)
    }

    async fn load_participant_row(
        &self,
        header: &SnapshotHeader,
        participant: &ParticipantId,
    ) -> TableResult<Option<ParticipantStats>> {
        self.load_snapshot_row(header, participant).await
    }
}

impl LeaseTable for DynamoTable {
    async fn claim_warm_lease(
        &self,
        epoch: u64,
        owner: &LeaseToken,
        now_ms: i64,
        lease_ms: i64,
        finished: bool,
    ) -> TableResult<LeaseClaim> {
        self.claim_lease(epoch, owner, now_ms, lease_ms, finished)
            .await
    }

    async fn release_warm_lease(
        &self,
        epoch: u64,
        owner: &LeaseToken,
        now_ms: i64,
        rest: Option<WarmRest>,
    ) -> TableResult<PutOutcome> {
        self.release_lease(epoch, owner, now_ms, rest).await
    }
}

impl TotalTable for DynamoTable {
    async fn load_total(&self, epoch: u64) -> TableResult<Option<EpochTotal>> {
        self.get_item(&Key::total(epoch))
            .await?
            .map(decode_total)
            .transpose()
    }

    async fn store_total(&self, total: &EpochTotal) -> TableResult<PutOutcome> {
        Ok(self
            .put_conditional(
                rows::encode_total(total)?,
                Condition::new("attribute_not_exists(pk)"),
            )
            .await?
            .outcome())
    }
}
