//! Epoch snapshots: the rows split into compressed chunks (written first,
//! with their TTLs), then the header that names them.
//!
//! The current snapshot stores its rows' tallies (the counters every block
//! moves) apart: a tally chunk beside each row chunk, holding the tallies
//! of that chunk's rows in their order and rewritten in place. A refresh
//! in which only counters moved writes the tally chunks and the header
//! (about a tenth of the rows' bytes), not the rows. Two refreshes racing
//! may leave the loser's tallies (seconds older) in place until the next
//! one; the rows and their order never mix, since both carry the same
//! version.

use aws_sdk_dynamodb::types::WriteRequest;

use super::batch::{delete_request, put_request};
use super::client::{Condition, DynamoTable};
use super::codec::{encode_json, encode_rows};
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;

use super::keys::{n, str_attr, Item, Key, DAY_SECS, SK, TTL_ATTRIBUTE};
use super::metering::Op;
use super::rows::{
    decode_chunk, decode_header, decode_tally_chunk, encode_chunk, encode_header,
    encode_tally_chunk,
};
use crate::domain::ParticipantStats;
use crate::ids::ParticipantId;
use crate::table::items::*;
use crate::table::port::{TableError, TableResult};
use crate::table::SnapshotHeader;

/// Chunks stay well under DynamoDB's 400 KB item limit.
const MAX_CHUNK_BYTES: usize = 350_000;

impl DynamoTable {
    /// The header stored in `slot` and its rows as `T` (whole rows or just
    /// ids), in bucket order, without their tallies; `None` if the header
    /// or a chunk is missing.
    pub(super) async fn load_snapshot<T: serde::de::DeserializeOwned>(
        &self,
        slot: StatsSlot,
    ) -> TableResult<Option<(SnapshotHeader, Vec<T>)>> {
        let Some((header, chunks, _)) = self.load_pieces(slot, false).await? else {
            return Ok(None);
        };
        let mut rows = Vec::with_capacity(header.participant_count as usize);
        for item in &chunks {
            rows.extend(decode_chunk::<T>(item)?);
        }
        Ok(Some((header, rows)))
    }

    /// The header stored in `slot` and its whole rows, tallies included.
    pub(super) async fn load_snapshot_rows(
        &self,
        slot: StatsSlot,
    ) -> TableResult<Option<(SnapshotHeader, Vec<ParticipantStats>)>> {
        let Some((header, chunks, tallies)) = self.load_pieces(slot, true).await? else {
            return Ok(None);
        };
        let mut rows = Vec::with_capacity(header.participant_count as usize);
        for (b, item) in chunks.iter().enumerate() {
            let mut chunk = decode_chunk::<ParticipantStats>(item)?;
            if let Some(t) = tallies.get(b) {
                if !apply_tallies(&mut chunk, t)? {
                    tracing::warn!(version = %header.version, bucket = b, "a tally chunk does not match its rows");
                    return Ok(None);
                }
            }
            rows.extend(chunk);
        }
        Ok(Some((header, rows)))
    }

    /// The header in `slot`, its row chunks in bucket order and (when
    /// `with_tallies` and the snapshot has them) its tally chunks in the
    /// same order, read in one batch; `None` if any is missing.
    async fn load_pieces(
        &self,
        slot: StatsSlot,
        with_tallies: bool,
    ) -> TableResult<Option<(SnapshotHeader, Vec<Item>, Vec<Item>)>> {
        let Some(item) = self.get_item(&Key::stats(slot)).await? else {
            return Ok(None);
        };
        let header = decode_header(item)?;
        let tallies = with_tallies && header.tallies_hash.is_some();
        let chunk_keys = (0..header.buckets).map(|b| Key::chunk(&header.version, b));
        let tally_keys = (0..header.buckets)
            .filter(|_| tallies)
            .map(|b| Key::tally_chunk(&header.version, b));
        let items = self.batch_get(chunk_keys.chain(tally_keys), None).await?;
        let expected = header.buckets as usize * if tallies { 2 } else { 1 };
        if items.len() != expected {
            // Chunks expired (TTL) or a torn write: treat as not cached.
            tracing::warn!(version = %header.version, found = items.len(), expected, "stats snapshot is missing chunks");
            return Ok(None);
        }
        let (mut tally_items, mut chunk_items): (Vec<Item>, Vec<Item>) = items
            .into_iter()
            .partition(|i| str_attr(i, SK).is_some_and(|sk| sk.starts_with('T')));
        chunk_items.sort_by(|a, b| str_attr(a, SK).cmp(&str_attr(b, SK)));
        tally_items.sort_by(|a, b| str_attr(a, SK).cmp(&str_attr(b, SK)));
        Ok(Some((header, chunk_items, tally_items)))
    }

    /// The row of `participant`, read from the one chunk it hashes to (and
    /// its tally chunk, in the same request).
    pub(super) async fn load_snapshot_row(
        &self,
        header: &SnapshotHeader,
        participant: &ParticipantId,
    ) -> TableResult<Option<ParticipantStats>> {
        let source = RowSource::of(header);
        let keys = row_keys(&source, participant);
        let items = self.batch_get(keys.iter().cloned(), None).await?;
        Ok(row_among(&items, &keys, participant)?.flatten())
    }

    /// Writes the chunks, then the header under the slot's rule: `Final`
    /// and `AtHeight` once (first write wins), `Current` only over an older
    /// snapshot. A snapshot that lost the race has its chunks removed.
    /// The current snapshot's tallies are stored apart; a current snapshot
    /// whose rows without them are those stored (same epoch, same rows
    /// hash, chunks not yet due a rewrite) writes its tally chunks if they
    /// changed, and its header.
    pub(super) async fn store_snapshot(
        &self,
        slot: StatsSlot,
        snapshot: &EpochSnapshot,
    ) -> TableResult<PutOutcome> {
        let apart = slot == StatsSlot::Current;
        let (buckets, chunks) = encode_chunks(&snapshot.participants, apart)?;
        let rows_hash = rows_hash(&chunks);
        let now = crate::time::now_ms();
        let mut header = snapshot.header.clone();
        header.participant_count = snapshot.participants.len() as u64;
        header.rows_hash = Some(rows_hash);
        header.tallies_hash = apart.then(|| tallies_hash(&snapshot.participants));
        let expiry = Some(chunk_expiry(slot, now));
        if apart {
            let stored = self.get_item(&Key::stats(slot)).await?.map(decode_header);
            if let Some(stored) = stored.transpose()? {
                if current_chunks_reusable(&stored, header.epoch_id, rows_hash, now)
                    && stored.tallies_hash.is_some()
                {
                    header.version = stored.version;
                    header.buckets = stored.buckets;
                    header.chunks_written_ms = stored.chunks_written_ms;
                    if stored.tallies_hash != header.tallies_hash {
                        let tallies = encode_tally_chunks(&snapshot.participants, &header, expiry)?;
                        self.batch_write(tallies).await?;
                    }
                    return self.put_header(slot, header).await;
                }
            }
        }
        header.version = new_version(&header);
        header.buckets = buckets;
        header.chunks_written_ms = Some(now);
        let chunk_keys: Vec<Key> = (0..buckets)
            .map(|b| Key::chunk(&header.version, b))
            .collect();
        let mut puts = chunks
            .into_iter()
            .zip(&chunk_keys)
            .map(|(bytes, k)| put_request(encode_chunk(k, bytes, expiry)))
            .collect::<TableResult<Vec<_>>>()?;
        if apart {
            puts.extend(encode_tally_chunks(
                &snapshot.participants,
                &header,
                expiry,
            )?);
        }
        self.batch_write(puts).await?;

        let outcome = self.put_header(slot, header.clone()).await?;
        if outcome == PutOutcome::Written && kept_for_good(slot) {
            // Named by a header now: kept as long as it is.
            self.clear_chunk_expiry(&chunk_keys).await;
        }
        if outcome == PutOutcome::LostRace {
            // Another writer's snapshot won; ours is unreachable, remove it.
            let tally_keys = (0..buckets)
                .filter(|_| apart)
                .map(|b| Key::tally_chunk(&header.version, b));
            let deletes: Vec<WriteRequest> = chunk_keys
                .into_iter()
                .chain(tally_keys)
                .filter_map(|k| delete_request(&k).ok())
                .collect();
            if let Err(e) = self.batch_write(deletes).await {
                tracing::warn!(error = %e, "could not remove the chunks of a snapshot that lost its race");
            }
        }
        Ok(outcome)
    }

    /// Removes the expiry of `keys` (a final snapshot's chunks, once its
    /// header names them), a few at a time. One that fails keeps its expiry
    /// and is logged: the snapshot is then rebuilt after it expires, since
    /// a missing chunk reads as not cached.
    async fn clear_chunk_expiry(&self, keys: &[Key]) {
        use futures::StreamExt;
        // Built first: each request owns its parameters.
        let calls: Vec<_> = keys
            .iter()
            .map(|key| {
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key.attributes()))
                    .update_expression("REMOVE #ttl")
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
            })
            .collect();
        let results: Vec<_> = futures::stream::iter(calls)
            .buffer_unordered(8)
            .collect()
            .await;
        for result in results {
            match result {
                Ok(resp) => self.counters.record(Op::Write, resp.consumed_capacity()),
                Err(e) => {
                    self.counters.record(Op::Write, None);
                    tracing::error!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(e), "could not keep a final snapshot's chunk: it expires within a day");
                }
            }
        }
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

/// The keys of `participant`'s row chunk in `source` and, when its
/// tallies are stored apart, of its tally chunk.
pub(super) fn row_keys(source: &RowSource, participant: &ParticipantId) -> Vec<Key> {
    let bucket = bucket_of(participant.as_str(), source.buckets);
    let mut keys = vec![Key::chunk(&source.version, bucket)];
    if source.tallies_apart {
        keys.push(Key::tally_chunk(&source.version, bucket));
    }
    keys
}

/// `participant`'s row among `items` read for [`row_keys`]`(.., participant)`:
/// `None` when its row chunk was not read; `Some(None)` when the chunk
/// holds no such row (or its tally chunk is missing).
pub(super) fn row_among(
    items: &[Item],
    keys: &[Key],
    participant: &ParticipantId,
) -> TableResult<Option<Option<ParticipantStats>>> {
    let find = |k: &Key| items.iter().find(|i| Key::of(i).as_ref() == Some(k));
    let Some(chunk) = find(&keys[0]) else {
        return Ok(None);
    };
    let mut rows = decode_chunk::<ParticipantStats>(chunk)?;
    let Some(at) = rows.iter().position(|r| r.index == participant.as_str()) else {
        return Ok(Some(None));
    };
    let mut row = rows.swap_remove(at);
    if let Some(tally_key) = keys.get(1) {
        let Some(tally_chunk) = find(tally_key) else {
            return Ok(Some(None));
        };
        let tally = decode_tally_chunk(tally_chunk)?.into_iter().nth(at);
        let tally = tally
            .ok_or_else(|| TableError::Corrupt("a tally chunk does not match its rows".into()))?;
        row.set_tally(tally);
    }
    Ok(Some(Some(row)))
}

/// Sets the rows' tallies from their tally chunk; `false` when the chunk
/// holds another number of tallies (a torn or foreign write).
fn apply_tallies(rows: &mut [ParticipantStats], tally_chunk: &Item) -> TableResult<bool> {
    let tallies = decode_tally_chunk(tally_chunk)?;
    if tallies.len() != rows.len() {
        return Ok(false);
    }
    for (row, t) in rows.iter_mut().zip(tallies) {
        row.set_tally(t);
    }
    Ok(true)
}

/// The tally chunks of `rows` under `header`'s version and buckets, as puts.
fn encode_tally_chunks(
    rows: &[ParticipantStats],
    header: &SnapshotHeader,
    expiry: Option<i64>,
) -> TableResult<Vec<WriteRequest>> {
    split_into_buckets(rows, header.buckets)
        .iter()
        .enumerate()
        .map(|(b, chunk)| {
            let tallies: Vec<_> = chunk.iter().map(|r| &r.current_epoch_stats).collect();
            let key = Key::tally_chunk(&header.version, b as u32);
            put_request(encode_tally_chunk(&key, encode_json(&tallies)?, expiry))
        })
        .collect()
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

/// When a slot's chunks expire (epoch seconds). Every chunk is written
/// with one: a final snapshot's too, until its header names them
/// ([`kept_for_good`]), so chunks orphaned by a run cut short (a timeout
/// between the chunks and the header) go away within a day.
fn chunk_expiry(slot: StatsSlot, now_ms: i64) -> i64 {
    let now = now_ms / 1000;
    match slot {
        // Rewritten (new rows, or unchanged rows due a rewrite) well
        // before this; a replaced snapshot is gone within it.
        StatsSlot::Current => now + CURRENT_CHUNKS_TTL_MS / 1000,
        StatsSlot::AtHeight(..) => now + 30 * DAY_SECS,
        StatsSlot::Final(_) => now + DAY_SECS,
    }
}

/// Whether a slot's chunks lose their expiry once its header is written
/// (a final snapshot is kept for good).
fn kept_for_good(slot: StatsSlot) -> bool {
    matches!(slot, StatsSlot::Final(_))
}

/// Encodes rows (without their tallies when `apart`) into chunks,
/// doubling the bucket count until each fits.
fn encode_chunks(rows: &[ParticipantStats], apart: bool) -> TableResult<(u32, Vec<Vec<u8>>)> {
    let mut buckets = bucket_count(rows.len());
    loop {
        let chunks = split_into_buckets(rows, buckets)
            .iter()
            .map(|c| {
                if apart {
                    // One chunk's rows copied at a time.
                    let bare: Vec<ParticipantStats> = c.iter().map(|r| r.without_tally()).collect();
                    encode_rows(&bare)
                } else {
                    encode_rows(c)
                }
            })
            .collect::<TableResult<Vec<_>>>()?;
        if chunks.iter().all(|c| c.len() <= MAX_CHUNK_BYTES) || buckets >= 1 << 16 {
            return Ok((buckets, chunks));
        }
        buckets *= 2;
    }
}
