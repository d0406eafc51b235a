//! [`InferenceTable`] over DynamoDB.
//!
//! - The checkpoint is one item (`INFSCAN`/`CHECKPOINT`) saved with a
//!   condition on its `version`, so of two overlapping runs one saves and
//!   the other's work is dropped. The scan's state (members and running
//!   top 10s, gzip JSON) is split in pieces of at most 350 KB under a token
//!   unique to each save, written before the checkpoint that names them;
//!   the replaced pieces (or the loser's) are deleted, and every piece
//!   expires after a day anyway.
//! - Published records are [`RECORD_BUCKETS`] items per epoch
//!   (`INFER#{e}`/`{bucket}`), each holding the participants that hash to
//!   it: every bucket is rewritten by every completed scan (replaced in
//!   place), under `scan_started_ms <= :mine`, and expires a week after
//!   the last scan that covered the epoch. The route reads one item.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{AttributeValue, WriteRequest};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::batch::{delete_request, put_request};
use super::client::{Condition, DynamoTable};
use super::codec::{decode_json, encode_json};
use super::keys::{n, num_attr, str_attr, Item, Key, DAY_SECS, SK, TTL_ATTRIBUTE};
use crate::domain::inferences::{InferenceLists, InferenceTally};
use crate::ids::ParticipantId;
use crate::table::inferences::*;
use crate::table::items::{bucket_of, PutOutcome};
use crate::table::port::{TableError, TableResult};

/// Record items per epoch. At 10,000 participants that is ~40 a bucket:
/// even with 30 inferences each (~7 KB compressed) a bucket stays far under
/// the item limit; a small epoch writes mostly tiny items (1 WCU each).
pub const RECORD_BUCKETS: u32 = 256;
/// Pieces and record items stay under DynamoDB's 400 KB item limit.
const MAX_PIECE_BYTES: usize = 350_000;
const MAX_RECORD_BYTES: usize = 390_000;
/// Conditional record puts in flight at once.
const PUBLISH_CONCURRENCY: usize = 16;
/// How long published records outlive the last scan that covered their epoch.
const RECORD_TTL_SECS: i64 = 7 * DAY_SECS;
/// How long a state's pieces outlive their save (a stalled scan starts over).
const PIECE_TTL_SECS: i64 = DAY_SECS;

const BLOB: &str = "blob";

/// The checkpoint item.
#[derive(Serialize, Deserialize)]
struct CheckpointRow {
    pk: String,
    sk: String,
    version: u64,
    #[serde(default)]
    position: Option<ScanPosition>,
    #[serde(default)]
    state: Option<StoredState>,
    #[serde(default)]
    last_started_ms: Option<i64>,
    #[serde(default)]
    last_completed_ms: Option<i64>,
}

/// What the pieces hold.
#[derive(Serialize, Deserialize)]
struct StateBody {
    members: Vec<String>,
    tally: InferenceTally,
}

/// One participant's record inside a bucket item.
#[derive(Serialize, Deserialize)]
struct RecordRow {
    participant_id: String,
    #[serde(flatten)]
    lists: InferenceLists,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> TableError {
    TableError::Corrupt(format!("{what}: {e}"))
}

fn blob_item(key: &Key, bytes: Vec<u8>) -> Item {
    let mut item = key.attributes();
    item.insert(BLOB.into(), AttributeValue::B(bytes.into()));
    item
}

fn blob(item: &Item) -> TableResult<&[u8]> {
    item.get(BLOB)
        .and_then(|v| v.as_b().ok())
        .map(|b| b.as_ref())
        .ok_or_else(|| TableError::Corrupt("an item without its blob".into()))
}

fn piece_keys(stored: &StoredState) -> Vec<Key> {
    (0..stored.pieces)
        .map(|i| Key::scan_piece(&stored.token, i))
        .collect()
}

impl DynamoTable {
    async fn delete_pieces(&self, stored: &StoredState) {
        let deletes: Vec<WriteRequest> = piece_keys(stored)
            .iter()
            .filter_map(|k| delete_request(k).ok())
            .collect();
        if let Err(e) = self.batch_write(deletes).await {
            tracing::warn!(error = %e, token = %stored.token, "could not remove scan state pieces (they expire in a day)");
        }
    }

    async fn write_state(&self, state: &ScanState, now_s: i64) -> TableResult<StoredState> {
        let bytes = encode_json(&StateBody {
            members: state.members.clone(),
            tally: state.tally.clone(),
        })?;
        let stored = StoredState {
            token: uuid::Uuid::new_v4().simple().to_string(),
            pieces: bytes.chunks(MAX_PIECE_BYTES).count().max(1) as u32,
        };
        let puts = bytes
            .chunks(MAX_PIECE_BYTES)
            .zip(piece_keys(&stored))
            .map(|(chunk, key)| {
                let mut item = blob_item(&key, chunk.to_vec());
                item.insert(TTL_ATTRIBUTE.into(), n(now_s + PIECE_TTL_SECS));
                put_request(item)
            })
            .collect::<TableResult<Vec<_>>>()?;
        self.batch_write(puts).await?;
        Ok(stored)
    }

    async fn read_state(&self, stored: &StoredState) -> TableResult<Option<StateBody>> {
        let mut items = self.batch_get(piece_keys(stored), None).await?;
        if items.len() != stored.pieces as usize {
            tracing::warn!(token = %stored.token, found = items.len(), expected = stored.pieces, "scan state pieces are missing (expired); the scan starts over");
            return Ok(None);
        }
        items.sort_by(|a, b| str_attr(a, SK).cmp(&str_attr(b, SK)));
        let mut bytes = Vec::new();
        for item in &items {
            bytes.extend_from_slice(blob(item)?);
        }
        decode_json(&bytes).map(Some)
    }
}

impl InferenceTable for DynamoTable {
    async fn load_scan(&self) -> TableResult<ScanCheckpoint> {
        let Some(item) = self.get_item(&Key::scan_checkpoint()).await? else {
            return Ok(ScanCheckpoint::default());
        };
        let row: CheckpointRow =
            serde_dynamo::from_item(item).map_err(|e| corrupt("scan checkpoint", e))?;
        let scan = match (row.position, &row.state) {
            (Some(position), Some(stored)) => {
                self.read_state(stored).await?.map(|body| ScanState {
                    position,
                    members: body.members,
                    tally: body.tally,
                })
            }
            _ => None,
        };
        Ok(ScanCheckpoint {
            version: row.version,
            scan,
            last_started_ms: row.last_started_ms,
            last_completed_ms: row.last_completed_ms,
            stored_state: row.state,
        })
    }

    async fn save_scan(
        &self,
        read: &ScanCheckpoint,
        next: &ScanCheckpoint,
    ) -> TableResult<PutOutcome> {
        let now_s = crate::time::now_ms() / 1000;
        let stored = match &next.scan {
            Some(state) => Some(self.write_state(state, now_s).await?),
            None => None,
        };
        let Key { pk, sk } = Key::scan_checkpoint();
        let row = CheckpointRow {
            pk,
            sk,
            version: read.version + 1,
            position: next.scan.as_ref().map(|s| s.position.clone()),
            state: stored.clone(),
            last_started_ms: next.last_started_ms,
            last_completed_ms: next.last_completed_ms,
        };
        let item = serde_dynamo::to_item(&row).map_err(|e| corrupt("scan checkpoint", e))?;
        let condition = if read.version == 0 {
            Condition::new("attribute_not_exists(pk)")
        } else {
            Condition::new("version = :v").value(":v", n(read.version))
        };
        let outcome = self.put_conditional(item, condition).await?.outcome();
        // Whichever state is no longer named by the checkpoint goes.
        let unreachable = match outcome {
            PutOutcome::Written => read.stored_state.as_ref(),
            PutOutcome::LostRace => stored.as_ref(),
        };
        if let Some(old) = unreachable {
            self.delete_pieces(old).await;
        }
        Ok(outcome)
    }

    async fn publish_inferences(
        &self,
        epoch: u64,
        records: &BTreeMap<String, InferenceLists>,
        stamp: PublishStamp,
    ) -> TableResult<()> {
        let mut buckets: Vec<Vec<RecordRow>> = (0..RECORD_BUCKETS).map(|_| Vec::new()).collect();
        for (participant, lists) in records {
            buckets[bucket_of(participant, RECORD_BUCKETS) as usize].push(RecordRow {
                participant_id: participant.clone(),
                lists: lists.clone(),
            });
        }
        let expires_at = stamp.cached_at_ms / 1000 + RECORD_TTL_SECS;
        let items = buckets
            .into_iter()
            .enumerate()
            .map(|(bucket, rows)| {
                let bytes = encode_json(&rows)?;
                if bytes.len() > MAX_RECORD_BYTES {
                    return Err(TableError::Corrupt(format!(
                        "epoch {epoch} bucket {bucket}: {} bytes of records, over the item limit",
                        bytes.len()
                    )));
                }
                let mut item = blob_item(&Key::inference_records(epoch, bucket as u32), bytes);
                item.insert("cached_at_ms".into(), n(stamp.cached_at_ms));
                item.insert("scan_started_ms".into(), n(stamp.scan_started_ms));
                item.insert(TTL_ATTRIBUTE.into(), n(expires_at));
                Ok(item)
            })
            .collect::<TableResult<Vec<Item>>>()?;
        let puts = items.into_iter().map(|item| async move {
            let condition = Condition::new("attribute_not_exists(pk) OR scan_started_ms <= :s")
                .value(":s", n(stamp.scan_started_ms));
            self.put_conditional(item, condition).await
        });
        futures::stream::iter(puts)
            .buffer_unordered(PUBLISH_CONCURRENCY)
            .try_collect::<Vec<_>>()
            .await?;
        Ok(())
    }

    async fn load_inferences(
        &self,
        participant: &ParticipantId,
        epoch: u64,
    ) -> TableResult<Option<PublishedInferences>> {
        let key = Key::inference_records(epoch, bucket_of(participant.as_str(), RECORD_BUCKETS));
        let Some(item) = self.get_item(&key).await? else {
            return Ok(None);
        };
        let cached_at_ms = num_attr::<i64>(&item, "cached_at_ms").ok_or_else(|| {
            TableError::Corrupt("published inferences without cached_at_ms".into())
        })?;
        let rows: Vec<RecordRow> = decode_json(blob(&item)?)?;
        Ok(rows
            .into_iter()
            .find(|r| r.participant_id == participant.as_str())
            .map(|r| PublishedInferences {
                lists: r.lists,
                cached_at_ms,
            }))
    }
}
