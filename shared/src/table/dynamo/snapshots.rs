//! Epoch snapshots: the rows split into compressed chunks (written first,
//! with their TTLs), then the header that names them.

use aws_sdk_dynamodb::types::WriteRequest;

use super::batch::{delete_request, put_request};
use super::client::{Condition, DynamoTable};
use super::codec::encode_rows;
use super::keys::{n, str_attr, Key, DAY_SECS, SK};
use super::rows::{decode_chunk, decode_header, encode_chunk, encode_header};
use crate::domain::ParticipantStats;
use crate::ids::ParticipantId;
use crate::table::items::*;
use crate::table::port::TableResult;
use crate::table::SnapshotHeader;

/// Chunks stay well under DynamoDB's 400 KB item limit.
const MAX_CHUNK_BYTES: usize = 350_000;

impl DynamoTable {
    /// The header stored in `slot` and its rows as `T` (whole rows or just
    /// ids), in bucket order; `None` if the header or a chunk is missing.
    pub(super) async fn load_snapshot<T: serde::de::DeserializeOwned>(
        &self,
        slot: StatsSlot,
    ) -> TableResult<Option<(SnapshotHeader, Vec<T>)>> {
        let Some(item) = self.get_item(&Key::stats(slot)).await? else {
            return Ok(None);
        };
        let header = decode_header(item)?;
        let keys = (0..header.buckets).map(|b| Key::chunk(&header.version, b));
        let mut items = self.batch_get(keys, None).await?;
        if items.len() != header.buckets as usize {
            // Chunks expired (TTL) or a torn write: treat as not cached.
            tracing::warn!(version = %header.version, found = items.len(), expected = header.buckets, "stats snapshot is missing chunks");
            return Ok(None);
        }
        items.sort_by(|a, b| str_attr(a, SK).cmp(&str_attr(b, SK)));
        let mut rows = Vec::new();
        for item in &items {
            rows.extend(decode_chunk::<T>(item)?);
        }
        Ok(Some((header, rows)))
    }

    /// The row of `participant`, read from the one chunk it hashes to.
    pub(super) async fn load_snapshot_row(
        &self,
        header: &SnapshotHeader,
        participant: &ParticipantId,
    ) -> TableResult<Option<ParticipantStats>> {
        let bucket = bucket_of(participant.as_str(), header.buckets);
        let Some(item) = self.get_item(&Key::chunk(&header.version, bucket)).await? else {
            return Ok(None);
        };
        Ok(decode_chunk::<ParticipantStats>(&item)?
            .into_iter()
            .find(|r| r.index == participant.as_str()))
    }

    /// Writes the chunks, then the header under the slot's rule: `Final`
    /// and `AtHeight` once (first write wins), `Current` only over an older
    /// snapshot. A snapshot that lost the race has its chunks removed. A
    /// current snapshot whose rows are those stored (same epoch, same rows
    /// hash, chunks not yet due a rewrite) writes its header only.
    pub(super) async fn store_snapshot(
        &self,
        slot: StatsSlot,
        snapshot: &EpochSnapshot,
    ) -> TableResult<PutOutcome> {
        let (buckets, chunks) = encode_chunks(&snapshot.participants)?;
        let rows_hash = rows_hash(&chunks);
        let now = crate::time::now_ms();
        let mut header = snapshot.header.clone();
        header.participant_count = snapshot.participants.len() as u64;
        header.rows_hash = Some(rows_hash);
        if slot == StatsSlot::Current {
            let stored = self.get_item(&Key::stats(slot)).await?.map(decode_header);
            if let Some(stored) = stored.transpose()? {
                if current_chunks_reusable(&stored, header.epoch_id, rows_hash, now) {
                    header.version = stored.version;
                    header.buckets = stored.buckets;
                    header.chunks_written_ms = stored.chunks_written_ms;
                    return self.put_header(slot, header).await;
                }
            }
        }
        header.version = new_version(&header);
        header.buckets = buckets;
        header.chunks_written_ms = Some(now);
        let expiry = chunk_expiry(slot, now);
        let chunk_keys: Vec<Key> = (0..buckets)
            .map(|b| Key::chunk(&header.version, b))
            .collect();
        let puts = chunks
            .into_iter()
            .zip(&chunk_keys)
            .map(|(bytes, k)| put_request(encode_chunk(k, bytes, expiry)))
            .collect::<TableResult<Vec<_>>>()?;
        self.batch_write(puts).await?;

        let outcome = self.put_header(slot, header).await?;
        if outcome == PutOutcome::LostRace {
            // Another writer's snapshot won; ours is unreachable, remove it.
            let deletes: Vec<WriteRequest> = chunk_keys
                .iter()
                .filter_map(|k| delete_request(k).ok())
                .collect();
            if let Err(e) = self.batch_write(deletes).await {
                tracing::warn!(error = %e, "could not remove the chunks of a snapshot that lost its race");
            }
        }
        Ok(outcome)
    }

    /// The header, under [`may_replace_stats`] as a condition.
    async fn put_header(&self, slot: StatsSlot, header: SnapshotHeader) -> TableResult<PutOutcome> {
        let condition = match slot {
            StatsSlot::Current => Condition::new("attribute_not_exists(pk) OR fetched_at_ms < :f")
                .value(":f", n(header.fetched_at_ms)),
            StatsSlot::Final(_) | StatsSlot::AtHeight(..) => {
                Condition::new("attribute_not_exists(pk)")
            }
        };
        Ok(self
            .put_conditional(encode_header(slot, header)?, condition)
            .await?
            .outcome())
    }
}

/// A hash of the rows as encoded (compression is deterministic).
fn rows_hash(chunks: &[Vec<u8>]) -> u64 {
    let mut bytes = Vec::with_capacity(chunks.len() * 8);
    for c in chunks {
        bytes.extend_from_slice(&crate::hash::fnv1a(c).to_le_bytes());
    }
    crate::hash::fnv1a(&bytes)
}

/// A version unique to this write, so a snapshot's chunks never mix with
/// another write's.
fn new_version(header: &SnapshotHeader) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}.{}.{}.{nanos}",
        header.epoch_id, header.height, header.fetched_at_ms
    )
}

/// When a slot's chunks expire (epoch seconds); a final snapshot's never do.
fn chunk_expiry(slot: StatsSlot, now_ms: i64) -> Option<i64> {
    let now = now_ms / 1000;
    match slot {
        // Rewritten (new rows, or unchanged rows due a rewrite) well
        // before this; a replaced snapshot is gone within it.
        StatsSlot::Current => Some(now + CURRENT_CHUNKS_TTL_MS / 1000),
        StatsSlot::AtHeight(..) => Some(now + 30 * DAY_SECS),
        StatsSlot::Final(_) => None,
    }
}

/// Encodes rows into chunks, doubling the bucket count until each fits.
fn encode_chunks(rows: &[ParticipantStats]) -> TableResult<(u32, Vec<Vec<u8>>)> {
    let mut buckets = bucket_count(rows.len());
    loop {
        let chunks = split_into_buckets(rows, buckets)
            .iter()
            .map(|c| encode_rows(c))
            .collect::<TableResult<Vec<_>>>()?;
        if chunks.iter().all(|c| c.len() <= MAX_CHUNK_BYTES) || buckets >= 1 << 16 {
            return Ok((buckets, chunks));
        }
        buckets *= 2;
    }
}
