//! [`StatusTable`] over DynamoDB: jail and health chunks (compressed rows,
//! one conditional PutItem each), each set's revision item, and the Keybase
//! answers cache.
//!
//! A set (an epoch's jail statuses, the node health) is written chunk by
//! chunk, only where the content changed (the revision item lists the
//! stored chunks' stamps), then its revision item. A reader's revision is
//! computed from the chunks it read by the same rule, so a kept answer
//! compares one small item against it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::try_join_all;
use futures::{StreamExt, TryStreamExt};

use super::client::{Condition, DynamoTable, Put};
use super::codec::{decode_rows, encode_rows};
use super::keys::{n, num_attr, s, str_attr, Item, Key, DAY_SECS, PK, SK, TTL_ATTRIBUTE};
use crate::domain::{JailStatus, NodeHealth};
use crate::hash::fnv1a;
use crate::keybase::KeybaseIdentity;
use crate::table::items::PutOutcome;
use crate::table::port::{TableError, TableResult};
use crate::table::status_port::*;

const ROWS: &str = "rows";
const FETCHED_AT: &str = "fetched_at";
const USERNAME: &str = "username";
/// When a Keybase answer is asked again (ms); the TTL comes weeks later.
const ASK_AFTER: &str = "ask_after";
/// The revision item's attributes: the chunk stamps (JSON), the revision.
const STAMPS: &str = "stamps";
pub(super) const REVISION: &str = "revision";
/// Keybase answers written at once.
const KEYBASE_PUTS_IN_FLIGHT: usize = 16;
/// Chunks stay well under DynamoDB's 400 KB item limit.
pub const MAX_STATUS_CHUNK_BYTES: usize = 350_000;
/// A current epoch's jail chunks no later fetch replaced (the warmer never
/// finalised them) go after this.
const NON_FINAL_JAIL_TTL_SECS: i64 = 30 * DAY_SECS;
/// Health nobody refreshes any more goes after this (a chunk is rewritten
/// at least every [`HEALTH_RESTAMP_MS`] while the job runs).
const HEALTH_TTL_SECS: i64 = DAY_SECS;

fn jail_keys(epoch: u64) -> impl Iterator<Item = Key> {
    (0..STATUS_BUCKETS).map(move |b| Key::jail_chunk(epoch, b))
}

fn health_keys() -> impl Iterator<Item = Key> {
    (0..STATUS_BUCKETS).map(Key::health_chunk)
}

fn bucket_of_key(item: &Item) -> Option<usize> {
    str_attr(item, SK)?
        .parse::<usize>()
        .ok()
        .filter(|b| *b < STATUS_BUCKETS as usize)
}

fn is_final(item: &Item) -> bool {
    item.get("final").and_then(|v| v.as_bool().ok()) == Some(&true)
}

/// A stored chunk's hash: its compressed rows and its finality.
fn chunk_hash(blob: &[u8], is_final: bool) -> u64 {
    fnv1a(blob).wrapping_add(u64::from(is_final))
}

fn blob(item: &Item) -> TableResult<&[u8]> {
    item.get(ROWS)
        .and_then(|v| v.as_b().ok())
        .map(|b| b.as_ref())
        .ok_or_else(|| TableError::Corrupt("status chunk without rows".into()))
}

/// The revision of the chunks read (by bucket), as the writer computed it.
fn revision_of_items<'a>(items: impl Iterator<Item = &'a Item>) -> TableResult<StatusRevision> {
    let mut hashes = vec![None; STATUS_BUCKETS as usize];
    for item in items {
        if let Some(b) = bucket_of_key(item) {
            hashes[b] = Some(chunk_hash(blob(item)?, is_final(item)));
        }
    }
    Ok(revision_of(&hashes))
}

/// The two chunks holding a participant's jail status in `epoch` and its
/// node health.
pub(super) fn participant_status_keys(epoch: u64, participant: &str) -> [Key; 2] {
    let bucket = status_bucket(participant);
    [Key::jail_chunk(epoch, bucket), Key::health_chunk(bucket)]
}

/// The participant's jail status and health from the chunks read.
pub(super) fn participant_status_from(
    items: &[Item],
    participant: &str,
) -> TableResult<(Option<JailStatus>, Option<NodeHealth>)> {
    let (mut jail, mut health) = (None, None);
    for item in items {
        if str_attr(item, PK) == Some("HEALTH") {
            health = decode_rows::<NodeHealth>(blob(item)?)?
                .into_iter()
                .find(|h| h.participant == participant);
        } else {
            jail = decode_rows::<JailStatus>(blob(item)?)?
                .into_iter()
                .find(|j| j.participant == participant);
        }
    }
    Ok((jail, health))
}

/// A chunk to write, with its stamp.
struct NewChunk {
    item: Item,
    stamp: ChunkStamp,
}

/// `content: None`: the chunk's hash is its content (jail).
fn encode_chunk<T: serde::Serialize>(
    key: &Key,
    rows: &[&T],
    content: Option<u64>,
    fetched_at_ms: i64,
    is_final: Option<bool>,
    expires_at: Option<i64>,
) -> TableResult<NewChunk> {
    let blob = encode_rows(rows)?;
    if blob.len() > MAX_STATUS_CHUNK_BYTES {
        return Err(TableError::Corrupt(format!(
            "status chunk {}/{} is {} bytes, over {MAX_STATUS_CHUNK_BYTES}",
            key.pk,
            key.sk,
            blob.len()
        )));
    }
    let hash = chunk_hash(&blob, is_final == Some(true));
    let stamp = ChunkStamp {
        hash,
        content: content.unwrap_or(hash),
        written_at_ms: fetched_at_ms,
    };
    let mut item = key.attributes();
    item.insert(ROWS.into(), AttributeValue::B(blob.into()));
    item.insert(FETCHED_AT.into(), n(fetched_at_ms));
    if let Some(f) = is_final {
        item.insert("final".into(), AttributeValue::Bool(f));
    }
    if let Some(t) = expires_at {
        item.insert(TTL_ATTRIBUTE.into(), n(t));
    }
    Ok(NewChunk { item, stamp })
}

/// A set's revision item as stored.
#[derive(Debug, Clone, Default)]
struct RevisionItem {
    stamps: Vec<Option<ChunkStamp>>,
    is_final: bool,
}

fn decode_revision_item(item: &Item) -> RevisionItem {
    let stamps = str_attr(item, STAMPS)
        .and_then(|j| serde_json::from_str::<Vec<Option<ChunkStamp>>>(j).ok())
        .filter(|s| s.len() == STATUS_BUCKETS as usize)
        .unwrap_or_default();
    RevisionItem {
        stamps,
        is_final: is_final(item),
    }
}

fn encode_revision_item(
    key: &Key,
    stamps: &[Option<ChunkStamp>],
    written_at_ms: i64,
    is_final: Option<bool>,
    expires_at: Option<i64>,
) -> TableResult<Item> {
    let hashes: Vec<Option<u64>> = stamps.iter().map(|s| s.map(|s| s.hash)).collect();
    let json = serde_json::to_string(stamps)
        .map_err(|e| TableError::Corrupt(format!("encoding chunk stamps: {e}")))?;
    let mut item = key.attributes();
    item.insert(STAMPS.into(), s(json));
    item.insert(REVISION.into(), n(revision_of(&hashes)));
    item.insert(FETCHED_AT.into(), n(written_at_ms));
    if let Some(f) = is_final {
        item.insert("final".into(), AttributeValue::Bool(f));
    }
    if let Some(t) = expires_at {
        item.insert(TTL_ATTRIBUTE.into(), n(t));
    }
    Ok(item)
}

/// Content hash of health rows apart from their probe times.
fn health_content(rows: &[&NodeHealth]) -> u64 {
    let mut bytes = Vec::new();
    for r in rows {
        bytes.extend_from_slice(r.participant.as_bytes());
        bytes.push(if r.healthy { 1 } else { 0 });
    }
    fnv1a(&bytes)
}

/// How a set is written.
struct SetWrite<'a> {
    revision_key: Key,
    chunk_keys: Vec<Key>,
    chunk_condition: Condition<'a>,
    revision_condition: Condition<'a>,
    restamp_ms: Option<i64>,
    written_at_ms: i64,
    is_final: Option<bool>,
    expires_at: Option<i64>,
}

// Free functions, not methods of `DynamoTable`: a method is counted where
// its type is declared (`client`), which would make `client` use this module.
async fn read_revision_item(table: &DynamoTable, key: &Key) -> TableResult<Option<RevisionItem>> {
    Ok(table
        .get_item(key)
        .await?
        .as_ref()
        .map(decode_revision_item))
}

/// Writes the chunks whose stamp differs from the stored one's, then
/// the revision item naming what is stored.
async fn write_set(
    table: &DynamoTable,
    write: SetWrite<'_>,
    chunks: Vec<NewChunk>,
) -> TableResult<PutOutcome> {
    let stored = read_revision_item(table, &write.revision_key)
        .await?
        .unwrap_or_default();
    let known = |b: usize| stored.stamps.get(b).copied().flatten();
    let mut stamps: Vec<Option<ChunkStamp>> = (0..chunks.len()).map(known).collect();
    let puts = chunks.into_iter().enumerate().filter_map(|(b, chunk)| {
        chunk_needs_write(known(b).as_ref(), &chunk.stamp, write.restamp_ms).then(|| {
            let condition = write.chunk_condition.clone();
            async move {
                let put = table.put_conditional(chunk.item, condition).await?;
                TableResult::Ok((b, chunk.stamp, put))
            }
        })
    });
    let results = try_join_all(puts).await?;
    if results.is_empty() {
        return Ok(PutOutcome::Written);
    }
    let mut lost = false;
    for (b, stamp, put) in results {
        match put {
            Put::Written => stamps[b] = Some(stamp),
            Put::Lost(_) => lost = true,
        }
    }
    let mut is_final = write.is_final;
    if lost {
        // Another writer's chunk stays: name what is really stored.
        let (stored, all_final) = stored_stamps(table, &write.chunk_keys).await?;
        stamps = stored;
        is_final = is_final.map(|_| all_final);
    }
    let item = encode_revision_item(
        &write.revision_key,
        &stamps,
        write.written_at_ms,
        is_final,
        write.expires_at,
    )?;
    table
        .put_conditional(item, write.revision_condition)
        .await?;
    Ok(if lost {
        PutOutcome::LostRace
    } else {
        PutOutcome::Written
    })
}

/// The stamps of the chunks stored now (after a lost race: rare), and
/// whether all of them are final.
async fn stored_stamps(
    table: &DynamoTable,
    keys: &[Key],
) -> TableResult<(Vec<Option<ChunkStamp>>, bool)> {
    let items = table.batch_get(keys.iter().cloned(), None).await?;
    let all_final = items.len() == keys.len() && items.iter().all(is_final);
    let mut stamps = vec![None; keys.len()];
    for item in &items {
        if let Some(b) = bucket_of_key(item).filter(|b| *b < keys.len()) {
            let hash = chunk_hash(blob(item)?, is_final(item));
            stamps[b] = Some(ChunkStamp {
                hash,
                content: hash,
                written_at_ms: num_attr(item, FETCHED_AT).unwrap_or_default(),
            });
        }
    }
    Ok((stamps, all_final))
}

impl StatusTable for DynamoTable {
    async fn load_statuses(&self, parts: StatusParts) -> TableResult<StoredStatuses> {
        let keys: Vec<Key> = parts
            .jail
            .into_iter()
            .flat_map(jail_keys)
            .chain(parts.health.then(health_keys).into_iter().flatten())
            .collect();
        let items = self.batch_get(keys, None).await?;
        let (health_items, jail_items): (Vec<&Item>, Vec<&Item>) = items
            .iter()
            .partition(|i| str_attr(i, PK) == Some("HEALTH"));
        let mut out = StoredStatuses {
            jail_revision: revision_of_items(jail_items.iter().copied())?,
            health_revision: revision_of_items(health_items.iter().copied())?,
            ..StoredStatuses::default()
        };
        for item in health_items {
            for h in decode_rows::<NodeHealth>(blob(item)?)? {
                out.health.insert(h.participant.clone(), h);
            }
        }
        for item in jail_items {
            for j in decode_rows::<JailStatus>(blob(item)?)? {
                out.jail.insert(j.participant.clone(), j);
            }
        }
        Ok(out)
    }

    async fn store_jail(
        &self,
        epoch: u64,
        statuses: &[JailStatus],
        fetched_at_ms: i64,
        is_final: bool,
    ) -> TableResult<PutOutcome> {
        let expires_at = (!is_final).then(|| fetched_at_ms / 1000 + NON_FINAL_JAIL_TTL_SECS);
        let chunk_keys: Vec<Key> = jail_keys(epoch).collect();
        let chunks = split_statuses(statuses, |j| j.participant.as_str())
            .iter()
            .zip(&chunk_keys)
            .map(|(rows, key)| {
                encode_chunk(key, rows, None, fetched_at_ms, Some(is_final), expires_at)
            })
            .collect::<TableResult<Vec<NewChunk>>>()?;
        // `jail_may_replace`, as a condition (chunks and revision alike).
        let condition = if is_final {
            Condition::new("attribute_not_exists(pk) OR #final = :false")
                .value(":false", AttributeValue::Bool(false))
                .name("#final", "final")
        } else {
            Condition::new("attribute_not_exists(pk) OR (#final = :false AND fetched_at < :f)")
                .value(":false", AttributeValue::Bool(false))
                .value(":f", n(fetched_at_ms))
                .name("#final", "final")
        };
        let write = SetWrite {
            revision_key: Key::jail_revision(epoch),
            chunk_keys,
            chunk_condition: condition.clone(),
            revision_condition: condition,
            restamp_ms: None,
            written_at_ms: fetched_at_ms,
            is_final: Some(is_final),
            expires_at,
        };
        write_set(self, write, chunks).await
    }

    async fn jail_is_final(&self, epoch: u64) -> TableResult<bool> {
        Ok(read_revision_item(self, &Key::jail_revision(epoch))
            .await?
            .is_some_and(|r| {
                r.is_final
                    && r.stamps.len() == STATUS_BUCKETS as usize
                    && r.stamps.iter().all(Option::is_some)
            }))
    }

    async fn store_health(
        &self,
        health: &[NodeHealth],
        fetched_at_ms: i64,
    ) -> TableResult<PutOutcome> {
        let expires_at = Some(fetched_at_ms / 1000 + HEALTH_TTL_SECS);
        let chunk_keys: Vec<Key> = health_keys().collect();
        let chunks = split_statuses(health, |h| h.participant.as_str())
            .iter()
            .zip(&chunk_keys)
            .map(|(rows, key)| {
                encode_chunk(
                    key,
                    rows,
                    Some(health_content(rows)),
                    fetched_at_ms,
                    None,
                    expires_at,
                )
            })
            .collect::<TableResult<Vec<NewChunk>>>()?;
        let condition = Condition::new("attribute_not_exists(pk) OR fetched_at < :f")
            .value(":f", n(fetched_at_ms));
        let write = SetWrite {
            revision_key: Key::health_revision(),
            chunk_keys,
            chunk_condition: condition.clone(),
            revision_condition: condition,
            restamp_ms: Some(HEALTH_RESTAMP_MS),
            written_at_ms: fetched_at_ms,
            is_final: None,
            expires_at,
        };
        write_set(self, write, chunks).await
    }

    async fn load_keybase(
        &self,
        identities: &[KeybaseIdentity],
    ) -> TableResult<HashMap<KeybaseIdentity, CachedKeybase>> {
        let by_key: HashMap<Key, &KeybaseIdentity> = identities
            .iter()
            .map(|i| (Key::keybase(i.as_str()), i))
            .collect();
        let items = self.batch_get(by_key.keys().cloned(), None).await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let identity = (*by_key.get(&Key::of(item)?)?).clone();
                // Items written before `ask_after` existed: their TTL.
                let expires_at_ms = num_attr::<i64>(item, ASK_AFTER)
                    .or_else(|| num_attr::<i64>(item, TTL_ATTRIBUTE).map(|t| t * 1000))?;
                let username = str_attr(item, USERNAME).map(str::to_owned);
                Some((
                    identity.clone(),
                    CachedKeybase {
                        identity,
                        username,
                        expires_at_ms,
                    },
                ))
            })
            .collect())
    }

    async fn store_keybase(&self, entries: &[CachedKeybase]) -> TableResult<()> {
        // The items first, their put futures made lazily: a put future is
        // kilobytes, and a Vec of thousands of them was the scheduler's
        // largest allocation (16 MB at N = 10,000).
        let items: Vec<(Item, i64)> = entries
            .iter()
            .map(|e| {
                let mut item = Key::keybase(e.identity.as_str()).attributes();
                if let Some(u) = &e.username {
                    item.insert(USERNAME.into(), s(u));
                }
                item.insert(ASK_AFTER.into(), n(e.expires_at_ms));
                let ttl = (e.expires_at_ms + KEYBASE_KEPT_PAST_EXPIRY_MS).div_euclid(1000);
                item.insert(TTL_ATTRIBUTE.into(), n(ttl));
                (item, ttl)
            })
            .collect();
        let puts = items.into_iter().map(|(item, ttl)| {
            // The answer asked again later (the newer one) is kept.
            let condition =
                Condition::new("attribute_not_exists(pk) OR expires_at < :t").value(":t", n(ttl));
            self.put_conditional(item, condition)
        });
        // A few in flight, not one per identity: thousands of concurrent
        // puts opened as many connections, whose buffers the SDK's pool then
        // kept (the warmer's 140 MiB at 10,000 participants).
        futures::stream::iter(puts)
            .buffer_unordered(KEYBASE_PUTS_IN_FLIGHT)
            .try_collect::<Vec<_>>()
            .await?;
        Ok(())
    }
}
