//! The scan's checkpoint and its saved state over DynamoDB.
//!
//! The checkpoint (`INFSCAN`/`CHECKPOINT`) is saved with a condition on its
//! `version`, so of two overlapping runs one saves and the other's work is
//! dropped. It names the parts the state is made of: a base (members and
//! running result when last written whole) and deltas (what each later
//! save added), each part gzip JSON in pieces of at most 350 KB under a
//! token unique to the save that wrote it, written before the checkpoint
//! that names it. A save writes one delta, or a new base when the deltas
//! outweigh the old one ([`save_as_delta`]); the parts no longer named (or
//! the loser's) are deleted, and every piece expires after two days anyway.

use aws_sdk_dynamodb::types::WriteRequest;
use serde::{Deserialize, Serialize};

use super::super::batch::{delete_request, put_request};
use super::super::client::{Condition, DynamoTable};
use super::super::codec::{decode_json, encode_json};
use super::super::keys::{is_expired, n, str_attr, Key, PK, SK, TTL_ATTRIBUTE};
use super::{blob, blob_item, corrupt};
use crate::domain::inferences::InferenceTally;
use crate::table::inferences::rules::save_as_delta;
use crate::table::inferences::{ScanCheckpoint, ScanPosition, ScanState, StoredPart, StoredState};
use crate::table::items::PutOutcome;
use crate::table::port::TableResult;

/// Pieces stay under DynamoDB's 400 KB item limit.
const MAX_PIECE_BYTES: usize = 350_000;
/// How long a part's pieces outlive their save: a part is kept while later
/// saves add deltas, so past a scan's longest run of saves (10,000 pages at
/// one a run is a week; at the template's 10 a run, 17 hours); a scan whose
/// parts expired starts over.
const PIECE_TTL_SECS: i64 = 2 * 86_400;

/// The checkpoint item. `parts` (not the former `state`, one token's
/// pieces): a checkpoint written before deltas reads as no scan in progress.
#[derive(Serialize, Deserialize)]
struct CheckpointRow {
    pk: String,
    sk: String,
    version: u64,
    #[serde(default)]
    position: Option<ScanPosition>,
    #[serde(default)]
    parts: Option<Vec<StoredPart>>,
    #[serde(default)]
    last_started_ms: Option<i64>,
    #[serde(default)]
    last_completed_ms: Option<i64>,
}

/// What a base part holds; a delta holds an [`InferenceTally`].
#[derive(Serialize, Deserialize)]
struct BaseBody {
    members: Vec<String>,
    tally: InferenceTally,
}

fn piece_keys(part: &StoredPart) -> impl Iterator<Item = Key> + '_ {
    (0..part.pieces).map(|i| Key::scan_piece(&part.token, i))
}

impl DynamoTable {
    pub(super) async fn load_checkpoint(&self) -> TableResult<ScanCheckpoint> {
        let Some(item) = self.get_item(&Key::scan_checkpoint()).await? else {
            return Ok(ScanCheckpoint::default());
        };
        let row: CheckpointRow =
            serde_dynamo::from_item(item).map_err(|e| corrupt("scan checkpoint", e))?;
        let stored = row.parts.map(|parts| StoredState { parts });
        let scan = match (row.position, &stored) {
            (Some(position), Some(stored)) => {
                self.read_parts(stored)
                    .await?
                    .map(|(members, tally)| ScanState {
                        position,
                        members,
                        tally,
                    })
            }
            _ => None,
        };
        Ok(ScanCheckpoint {
            version: row.version,
            scan,
            last_started_ms: row.last_started_ms,
            last_completed_ms: row.last_completed_ms,
            stored_state: stored,
        })
    }

    /// The members and the running result: the base with every delta
    /// merged in; `None` if a piece is missing (expired).
    async fn read_parts(
        &self,
        stored: &StoredState,
    ) -> TableResult<Option<(Vec<String>, InferenceTally)>> {
        let keys = stored.parts.iter().flat_map(piece_keys);
        let items = self.batch_get(keys, None).await?;
        let now_secs = crate::time::now_ms() / 1000;
        let mut bodies = Vec::with_capacity(stored.parts.len());
        for part in &stored.parts {
            let pk = Key::scan_piece(&part.token, 0).pk;
            // DynamoDB deletes expired items up to days late: a piece past
            // its expiry counts as gone.
            let mut pieces: Vec<_> = items
                .iter()
                .filter(|i| str_attr(i, PK) == Some(pk.as_str()))
                .filter(|i| !is_expired(i, now_secs))
                .collect();
            if pieces.len() != part.pieces as usize {
                tracing::warn!(token = %part.token, found = pieces.len(), expected = part.pieces, "scan state pieces are missing or expired; the scan starts over");
                return Ok(None);
            }
            pieces.sort_by(|a, b| str_attr(a, SK).cmp(&str_attr(b, SK)));
            let mut bytes = Vec::with_capacity(part.bytes as usize);
            for item in pieces {
                bytes.extend_from_slice(blob(item)?);
            }
            bodies.push(bytes);
        }
        let mut bodies = bodies.into_iter();
        let Some(base) = bodies.next() else {
            return Ok(None);
        };
        let BaseBody { members, mut tally } = decode_json(&base)?;
        for delta in bodies {
            tally.merge(decode_json(&delta)?);
        }
        Ok(Some((members, tally)))
    }

    /// Writes `bytes` as a new part under a token naming this save.
    async fn write_part(&self, version: u64, bytes: &[u8]) -> TableResult<StoredPart> {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let part = StoredPart {
            token: format!("{version}-{}", &nonce[..12]),
            pieces: bytes.chunks(MAX_PIECE_BYTES).count().max(1) as u32,
            bytes: bytes.len() as u64,
        };
        let expires_at = crate::time::now_ms() / 1000 + PIECE_TTL_SECS;
        let puts = bytes
            .chunks(MAX_PIECE_BYTES)
            .zip(piece_keys(&part))
            .map(|(chunk, key)| {
                let mut item = blob_item(&key, chunk.to_vec());
                item.insert(TTL_ATTRIBUTE.into(), n(expires_at));
                put_request(item)
            })
            .collect::<TableResult<Vec<_>>>()?;
        self.batch_write(puts).await?;
        Ok(part)
    }

    async fn delete_parts<'a>(&self, parts: impl IntoIterator<Item = &'a StoredPart>) {
        let deletes: Vec<WriteRequest> = parts
            .into_iter()
            .flat_map(piece_keys)
            .filter_map(|k| delete_request(&k).ok())
            .collect();
        if deletes.is_empty() {
            return;
        }
        if let Err(e) = self.batch_write(deletes).await {
            tracing::warn!(error = %e, "could not remove scan state pieces (they expire in two days)");
        }
    }

    /// The parts `next` is stored as, and the one this save wrote (if any):
    /// `read`'s parts when nothing was added, plus a delta of what was, or
    /// a new base.
    async fn write_state(
        &self,
        read: &ScanCheckpoint,
        next: &ScanState,
        version: u64,
    ) -> TableResult<(Vec<StoredPart>, Option<StoredPart>)> {
        let same_scan = read
            .scan
            .as_ref()
            .filter(|r| r.position.started_ms == next.position.started_ms);
        if let (Some(earlier), Some(stored)) = (same_scan, &read.stored_state) {
            if let Some((base, deltas)) = stored.parts.split_first() {
                let added = next.tally.added_since(&earlier.tally);
                if added.is_empty() {
                    return Ok((stored.parts.clone(), None));
                }
                let bytes = encode_json(&added)?;
                let sizes: Vec<u64> = deltas.iter().map(|d| d.bytes).collect();
                if save_as_delta(base.bytes, &sizes, bytes.len() as u64) {
                    let part = self.write_part(version, &bytes).await?;
                    let mut parts = stored.parts.clone();
                    parts.push(part.clone());
                    return Ok((parts, Some(part)));
                }
            }
        }
        let bytes = encode_json(&BaseBody {
            members: next.members.clone(),
            tally: next.tally.clone(),
        })?;
        let part = self.write_part(version, &bytes).await?;
        Ok((vec![part.clone()], Some(part)))
    }

    pub(super) async fn save_checkpoint(
        &self,
        read: &ScanCheckpoint,
        next: &ScanCheckpoint,
    ) -> TableResult<PutOutcome> {
        let version = read.version + 1;
        let (parts, written) = match &next.scan {
            Some(state) => self.write_state(read, state, version).await?,
            None => (Vec::new(), None),
        };
        let Key { pk, sk } = Key::scan_checkpoint();
        let row = CheckpointRow {
            pk,
            sk,
            version,
            position: next.scan.as_ref().map(|s| s.position.clone()),
            parts: next.scan.as_ref().map(|_| parts.clone()),
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
        // Whichever parts the checkpoint no longer names go.
        match outcome {
            PutOutcome::Written => {
                let old = read.stored_state.iter().flat_map(|s| s.parts.iter());
                self.delete_parts(old.filter(|p| !parts.contains(p))).await;
            }
            PutOutcome::LostRace => self.delete_parts(written.iter()).await,
        }
        Ok(outcome)
    }
}
