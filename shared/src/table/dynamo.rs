//! DynamoDB adapter of [`CacheTable`].
//!
//! Keys (`pk`, `sk`, both strings):
//! | item                         | pk                   | sk                       |
//! |------------------------------|----------------------|--------------------------|
//! | current epoch stats header   | `CURRENT`            | `STATS`                  |
//! | finished epoch stats header  | `EPOCH#{e:010}`      | `STATS#FINAL`            |
//! | stats at a height            | `EPOCH#{e:010}`      | `STATS#H#{h:012}`        |
//! | stats rows chunk             | `SNAP#{version}`     | `{bucket:05}`            |
//! | warm guard                   | `EPOCH#{e:010}`      | `WARM_GUARD`             |
//! | epoch reward total           | `EPOCH#{e:010}`      | `TOTAL`                  |
//! | participant item             | `P#{address}`        | `E#{e:010}#{KIND}`       |

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, DeleteRequest, KeysAndAttributes, PutRequest,
    ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::codec::{decode_rows, encode_rows};
use super::items::*;
use super::{CacheTable, ModalBundle, TableError, TableResult};
use crate::chain::HardwareNode;
use crate::domain::{ParticipantStats, WarmKey};
use crate::ids::ParticipantId;

type Item = HashMap<String, AttributeValue>;
type Key = HashMap<String, AttributeValue>;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const TTL_ATTRIBUTE: &str = "expires_at";

const BATCH_GET_MAX: usize = 100;
const BATCH_WRITE_MAX: usize = 25;
/// Attempts for UnprocessedKeys / UnprocessedItems before giving up.
const UNPROCESSED_ATTEMPTS: u32 = 8;
const BATCH_CONCURRENCY: usize = 8;
/// Chunks stay well under DynamoDB's 400 KB item limit.
const MAX_CHUNK_BYTES: usize = 350_000;
const DAY_SECS: i64 = 86_400;

#[derive(Debug, Clone, Copy)]
enum Op {
    Read,
    Write,
}

/// Requests and capacity the adapter used (all clones share them).
#[derive(Debug, Default)]
pub struct TableCounters {
    requests: AtomicU64,
    read_milli_units: AtomicU64,
    write_milli_units: AtomicU64,
}

impl TableCounters {
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    pub fn read_capacity_units(&self) -> f64 {
        self.read_milli_units.load(Ordering::Relaxed) as f64 / 1000.0
    }
    pub fn write_capacity_units(&self) -> f64 {
        self.write_milli_units.load(Ordering::Relaxed) as f64 / 1000.0
    }
    /// Counts one request and the capacity it consumed. Responses report
    /// only the total (`CapacityUnits`) unless indexes are involved, so the
    /// operation's kind says whether it was read or write capacity.
    fn record(&self, op: Op, capacity: &[ConsumedCapacity]) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        for c in capacity {
            let (mut read, mut write) = (
                c.read_capacity_units().unwrap_or(0.0),
                c.write_capacity_units().unwrap_or(0.0),
            );
            if read == 0.0 && write == 0.0 {
                let total = c.capacity_units().unwrap_or(0.0);
                match op {
                    Op::Read => read = total,
                    Op::Write => write = total,
                }
            }
            self.read_milli_units
                .fetch_add((read * 1000.0) as u64, Ordering::Relaxed);
            self.write_milli_units
                .fetch_add((write * 1000.0) as u64, Ordering::Relaxed);
        }
    }
}

#[derive(Clone)]
pub struct DynamoTable {
    client: Client,
    table: String,
    counters: Arc<TableCounters>,
}

fn unavailable<E, R>(what: &str, err: aws_sdk_dynamodb::error::SdkError<E, R>) -> TableError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    TableError::Unavailable(format!("{what}: {}", DisplayErrorContext(err)))
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key(pk: String, sk: String) -> Key {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

fn epoch_pk(epoch: u64) -> String {
    format!("EPOCH#{epoch:010}")
}

fn slot_key(slot: StatsSlot) -> Key {
    match slot {
        StatsSlot::Current => key("CURRENT".into(), "STATS".into()),
        StatsSlot::Final(e) => key(epoch_pk(e), "STATS#FINAL".into()),
        StatsSlot::AtHeight(e, h) => key(epoch_pk(e), format!("STATS#H#{h:012}")),
    }
}

fn chunk_key(version: &str, bucket: u32) -> Key {
    key(format!("SNAP#{version}"), format!("{bucket:05}"))
}

fn kind_suffix(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Reward => "REWARD",
        ItemKind::WarmKeys => "WARMKEYS",
        ItemKind::Hardware => "HARDWARE",
    }
}

fn item_key(k: &ItemKey) -> Key {
    key(
        format!("P#{}", k.participant),
        format!("E#{:010}#{}", k.epoch, kind_suffix(k.kind)),
    )
}

/// Reads an item key back from `pk`/`sk`; `None` for anything else.
fn parse_item_key(pk: &str, sk: &str) -> Option<ItemKey> {
    let participant = ParticipantId::parse(pk.strip_prefix("P#")?).ok()?;
    let (epoch, kind) = sk.strip_prefix("E#")?.split_once('#')?;
    let kind = ItemKind::ALL
        .into_iter()
        .find(|k| kind_suffix(*k) == kind)?;
    Some(ItemKey {
        participant,
        epoch: epoch.parse().ok()?,
        kind,
    })
}

fn str_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

#[derive(Serialize, Deserialize)]
struct HeaderRow {
    pk: String,
    sk: String,
    /// When the stats were read from the chain (ms); the freshness clock.
    fetched_at_ms: i64,
    header: SnapshotHeader,
}

#[derive(Serialize, Deserialize)]
struct ItemRow {
    pk: String,
    sk: String,
    fetched_at: i64,
    #[serde(rename = "final")]
    is_final: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reward: Option<RewardRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    warm_keys: Option<Vec<WarmKey>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hardware: Option<Vec<HardwareNode>>,
}

#[derive(Serialize, Deserialize)]
struct TotalRow {
    pk: String,
    sk: String,
    #[serde(flatten)]
    total: EpochTotal,
}

fn to_item<T: Serialize>(v: &T) -> TableResult<Item> {
    serde_dynamo::to_item(v).map_err(|e| TableError::Corrupt(format!("encoding item: {e}")))
}

fn from_item<T: for<'de> Deserialize<'de>>(item: Item) -> TableResult<T> {
    serde_dynamo::from_item(item).map_err(|e| TableError::Corrupt(format!("decoding item: {e}")))
}

fn decode_header(item: Item) -> TableResult<SnapshotHeader> {
    from_item::<HeaderRow>(item).map(|r| r.header)
}

fn decode_cached_item(item: Item) -> TableResult<CachedItem> {
    let row: ItemRow = from_item(item)?;
    let key = parse_item_key(&row.pk, &row.sk)
        .ok_or_else(|| TableError::Corrupt(format!("bad item key {}/{}", row.pk, row.sk)))?;
    let data = match key.kind {
        ItemKind::Reward => ItemData::Reward(row.reward),
        ItemKind::WarmKeys => ItemData::WarmKeys(
            row.warm_keys
                .ok_or_else(|| TableError::Corrupt("warm keys item without data".into()))?,
        ),
        ItemKind::Hardware => ItemData::Hardware(
            row.hardware
                .ok_or_else(|| TableError::Corrupt("hardware item without data".into()))?,
        ),
    };
    Ok(CachedItem {
        key,
        meta: ItemMeta {
            fetched_at_ms: row.fetched_at,
            is_final: row.is_final,
        },
        data,
    })
}

fn encode_cached_item(item: &CachedItem) -> TableResult<Item> {
    let k = item_key(&item.key);
    let (mut reward, mut warm_keys, mut hardware) = (None, None, None);
    match &item.data {
        ItemData::Reward(r) => reward = r.clone(),
        ItemData::WarmKeys(w) => warm_keys = Some(w.clone()),
        ItemData::Hardware(h) => hardware = Some(h.clone()),
    }
    if item.data.kind() != item.key.kind {
        return Err(TableError::Corrupt(format!(
            "{:?} data under a {:?} key",
            item.data.kind(),
            item.key.kind
        )));
    }
    to_item(&ItemRow {
        pk: str_attr(&k, PK).unwrap_or_default().to_owned(),
        sk: str_attr(&k, SK).unwrap_or_default().to_owned(),
        fetched_at: item.meta.fetched_at_ms,
        is_final: item.meta.is_final,
        reward,
        warm_keys,
        hardware,
    })
}

/// Repeats a batch call on what DynamoDB left unprocessed (throughput
/// limits), backing off between attempts, and gathers what each call returned.
async fn until_processed<P, T, F, Fut>(what: &str, mut pending: P, call: F) -> TableResult<Vec<T>>
where
    F: Fn(P) -> Fut,
    Fut: std::future::Future<Output = TableResult<(Vec<T>, Option<P>)>>,
{
    let mut out = Vec::new();
    for attempt in 0..UNPROCESSED_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(backoff(attempt)).await;
        }
        let (got, rest) = call(pending).await?;
        out.extend(got);
        match rest {
            Some(rest) => pending = rest,
            None => return Ok(out),
        }
    }
    Err(TableError::Unavailable(format!(
        "{what}: still unprocessed after {UNPROCESSED_ATTEMPTS} attempts"
    )))
}

/// Delay before retry `attempt` (1-based) of unprocessed keys or items.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(25u64.saturating_mul(1 << attempt.min(6)))
}

impl DynamoTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            counters: Arc::default(),
        }
    }

    pub fn counters(&self) -> &TableCounters {
        &self.counters
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    async fn get_item(&self, key: Key) -> TableResult<Option<Item>> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        self.counters.record(
            Op::Read,
            resp.consumed_capacity()
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
                .as_slice(),
        );
        Ok(resp.item)
    }

    /// BatchGetItem in calls of 100 keys (run concurrently), retrying
    /// UnprocessedKeys with backoff. Duplicate keys are asked once.
    async fn batch_get(&self, keys: Vec<Key>, projection: Option<&str>) -> TableResult<Vec<Item>> {
        let mut seen = HashSet::new();
        let keys: Vec<Key> = keys
            .into_iter()
            .filter(|k| {
                seen.insert((
                    str_attr(k, PK).map(str::to_owned),
                    str_attr(k, SK).map(str::to_owned),
                ))
            })
            .collect();
        // Owned batches: a closure over borrowed slices makes the future non-Send.
        let batches: Vec<Vec<Key>> = keys.chunks(BATCH_GET_MAX).map(<[Key]>::to_vec).collect();
        let calls = batches
            .into_iter()
            .map(|batch| self.batch_get_call(batch, projection));
        let pages: Vec<Vec<Item>> = futures::stream::iter(calls)
            .buffer_unordered(BATCH_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(pages.into_iter().flatten().collect())
    }

    async fn batch_get_call(
        &self,
        keys: Vec<Key>,
        projection: Option<&str>,
    ) -> TableResult<Vec<Item>> {
        let mut request = KeysAndAttributes::builder().set_keys(Some(keys));
        if let Some(p) = projection {
            request = request
                .projection_expression(p)
                .expression_attribute_names("#final", "final");
        }
        let pending = request
            .build()
            .map_err(|e| TableError::Corrupt(e.to_string()))?;
        until_processed("BatchGetItem", pending, |keys| self.batch_get_once(keys)).await
    }

    /// One BatchGetItem call: the items it returned and the keys left over.
    async fn batch_get_once(
        &self,
        keys: KeysAndAttributes,
    ) -> TableResult<(Vec<Item>, Option<KeysAndAttributes>)> {
        let resp = self
            .client
            .batch_get_item()
            .request_items(&self.table, keys)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| unavailable("BatchGetItem", e))?;
        self.counters.record(Op::Read, resp.consumed_capacity());
        let items = resp
            .responses
            .and_then(|mut r| r.remove(&self.table))
            .unwrap_or_default();
        let rest = resp
            .unprocessed_keys
            .and_then(|mut u| u.remove(&self.table))
            .filter(|rest| !rest.keys().is_empty());
        Ok((items, rest))
    }

    /// BatchWriteItem in calls of 25, retrying UnprocessedItems with backoff.
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> TableResult<()> {
        let batches: Vec<Vec<WriteRequest>> = requests
            .chunks(BATCH_WRITE_MAX)
            .map(<[WriteRequest]>::to_vec)
            .collect();
        let calls = batches
            .into_iter()
            .map(|batch| self.batch_write_call(batch));
        futures::stream::iter(calls)
            .buffer_unordered(BATCH_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    async fn batch_write_call(&self, requests: Vec<WriteRequest>) -> TableResult<()> {
        until_processed("BatchWriteItem", requests, |requests| {
            self.batch_write_once(requests)
        })
        .await?;
        Ok(())
    }

    /// One BatchWriteItem call: the requests left over.
    async fn batch_write_once(
        &self,
        requests: Vec<WriteRequest>,
    ) -> TableResult<(Vec<()>, Option<Vec<WriteRequest>>)> {
        let resp = self
            .client
            .batch_write_item()
            .request_items(&self.table, requests)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| unavailable("BatchWriteItem", e))?;
        self.counters.record(Op::Write, resp.consumed_capacity());
        let rest = resp
            .unprocessed_items
            .and_then(|mut u| u.remove(&self.table))
            .filter(|rest| !rest.is_empty());
        Ok((Vec::new(), rest))
    }

    /// PutItem under `condition`; a failed condition is [`PutOutcome::LostRace`].
    async fn put_conditional(
        &self,
        item: Item,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
        names: Vec<(&str, &str)>,
    ) -> TableResult<PutOutcome> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        for (k, v) in names {
            req = req.expression_attribute_names(k, v);
        }
        match req.send().await {
            Ok(resp) => {
                self.counters.record(
                    Op::Write,
                    resp.consumed_capacity()
                        .into_iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .as_slice(),
                );
                Ok(PutOutcome::Written)
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                self.counters.record(Op::Write, &[]);
                Ok(PutOutcome::LostRace)
            }
            Err(e) => {
                let code = e.code().unwrap_or("unknown").to_owned();
                Err(unavailable(&format!("PutItem ({code})"), e))
            }
        }
    }

    /// A snapshot's rows, chunk by chunk, as `T` (whole rows or just ids),
    /// in bucket order; `None` if a chunk is missing.
    async fn load_chunks<T: serde::de::DeserializeOwned>(
        &self,
        header: &SnapshotHeader,
    ) -> TableResult<Option<Vec<T>>> {
        let keys = (0..header.buckets)
            .map(|b| chunk_key(&header.version, b))
            .collect();
        let mut items = self.batch_get(keys, None).await?;
        if items.len() != header.buckets as usize {
            // Chunks expired (TTL) or a torn write: treat as not cached.
            tracing::warn!(version = %header.version, found = items.len(), expected = header.buckets, "stats snapshot is missing chunks");
            return Ok(None);
        }
        items.sort_by(|a, b| str_attr(a, SK).cmp(&str_attr(b, SK)));
        let mut rows = Vec::new();
        for item in items {
            let blob = item
                .get("rows")
                .and_then(|v| v.as_b().ok())
                .ok_or_else(|| TableError::Corrupt("chunk without rows".into()))?;
            rows.extend(decode_rows::<T>(blob.as_ref())?);
        }
        Ok(Some(rows))
    }

    fn chunk_expiry(slot: StatsSlot) -> Option<i64> {
        let now = crate::time::now_ms() / 1000;
        match slot {
            // Superseded every freshness window; a day covers serving a stale
            // copy through a long chain outage.
            StatsSlot::Current => Some(now + DAY_SECS),
            StatsSlot::AtHeight(..) => Some(now + 30 * DAY_SECS),
            StatsSlot::Final(_) => None,
        }
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

impl CacheTable for DynamoTable {
    fn requests(&self) -> u64 {
        self.counters.requests()
    }

    fn capacity_units(&self) -> (f64, f64) {
        (
            self.counters.read_capacity_units(),
            self.counters.write_capacity_units(),
        )
    }

    async fn load_items(&self, keys: &[ItemKey]) -> TableResult<HashMap<ItemKey, CachedItem>> {
        let mut out = HashMap::with_capacity(keys.len());
        for item in self
            .batch_get(keys.iter().map(item_key).collect(), None)
            .await?
        {
            let cached = decode_cached_item(item)?;
            out.insert(cached.key.clone(), cached);
        }
        Ok(out)
    }

    async fn load_stats(&self, slot: StatsSlot) -> TableResult<Option<EpochSnapshot>> {
        let Some(item) = self.get_item(slot_key(slot)).await? else {
            return Ok(None);
        };
        let header = decode_header(item)?;
        Ok(self
            .load_chunks::<ParticipantStats>(&header)
            .await?
            .map(|mut participants| {
                crate::domain::stats::sort_for_display(&mut participants);
                EpochSnapshot {
                    header,
                    participants,
                }
            }))
    }

    async fn load_participant_ids(
        &self,
        slot: StatsSlot,
    ) -> TableResult<Option<(u64, Vec<String>)>> {
        #[derive(Deserialize)]
        struct RowId {
            index: String,
        }
        let Some(item) = self.get_item(slot_key(slot)).await? else {
            return Ok(None);
        };
        let header = decode_header(item)?;
        let ids = self.load_chunks::<RowId>(&header).await?;
        Ok(ids.map(|ids| (header.epoch_id, ids.into_iter().map(|r| r.index).collect())))
    }

    async fn store_stats(
        &self,
        slot: StatsSlot,
        snapshot: &EpochSnapshot,
    ) -> TableResult<PutOutcome> {
        let (buckets, chunks) = encode_chunks(&snapshot.participants)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut header = snapshot.header.clone();
        header.version = format!(
            "{}.{}.{}.{nanos}",
            header.epoch_id, header.height, header.fetched_at_ms
        );
        header.buckets = buckets;
        header.participant_count = snapshot.participants.len() as u64;
        let expiry = Self::chunk_expiry(slot);
        let chunk_keys: Vec<Key> = (0..buckets)
            .map(|b| chunk_key(&header.version, b))
            .collect();
        let puts = chunks
            .into_iter()
            .zip(&chunk_keys)
            .map(|(bytes, k)| {
                let mut item = k.clone();
                item.insert("rows".into(), AttributeValue::B(bytes.into()));
                if let Some(t) = expiry {
                    item.insert(TTL_ATTRIBUTE.into(), n(t));
                }
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item))
                            .build()
                            .map_err(|e| TableError::Corrupt(e.to_string()))?,
                    )
                    .build_ok()
            })
            .collect::<TableResult<Vec<_>>>()?;
        self.batch_write(puts).await?;

        let k = slot_key(slot);
        let row = HeaderRow {
            pk: str_attr(&k, PK).unwrap_or_default().to_owned(),
            sk: str_attr(&k, SK).unwrap_or_default().to_owned(),
            fetched_at_ms: header.fetched_at_ms,
            header,
        };
        let outcome = match slot {
            StatsSlot::Current => {
                self.put_conditional(
                    to_item(&row)?,
                    "attribute_not_exists(pk) OR fetched_at_ms < :f",
                    vec![(":f", n(row.fetched_at_ms))],
                    vec![],
                )
                .await?
            }
            StatsSlot::Final(_) | StatsSlot::AtHeight(..) => {
                self.put_conditional(to_item(&row)?, "attribute_not_exists(pk)", vec![], vec![])
                    .await?
            }
        };
        if outcome == PutOutcome::LostRace {
            // Another writer's snapshot won; ours is unreachable, remove it.
            let deletes = chunk_keys
                .into_iter()
                .filter_map(|k| DeleteRequest::builder().set_key(Some(k)).build().ok())
                .map(|d| WriteRequest::builder().delete_request(d).build())
                .collect();
            if let Err(e) = self.batch_write(deletes).await {
                tracing::warn!(error = %e, "could not remove the chunks of a snapshot that lost its race");
            }
        }
        Ok(outcome)
    }

    async fn item_meta(&self, keys: &[ItemKey]) -> TableResult<HashMap<ItemKey, ItemMeta>> {
        let items = self
            .batch_get(
                keys.iter().map(item_key).collect(),
                Some("pk, sk, fetched_at, #final"),
            )
            .await?;
        let mut out = HashMap::with_capacity(items.len());
        for item in items {
            let (Some(pk), Some(sk)) = (str_attr(&item, PK), str_attr(&item, SK)) else {
                continue;
            };
            let Some(key) = parse_item_key(pk, sk) else {
                continue;
            };
            let fetched_at_ms = item
                .get("fetched_at")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let is_final = item
                .get("final")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false);
            out.insert(
                key,
                ItemMeta {
                    fetched_at_ms,
                    is_final,
                },
            );
        }
        Ok(out)
    }

    async fn put_item(&self, item: &CachedItem) -> TableResult<PutOutcome> {
        self.put_conditional(
            encode_cached_item(item)?,
            "attribute_not_exists(pk) OR (#final = :false AND fetched_at < :f)",
            vec![
                (":false", AttributeValue::Bool(false)),
                (":f", n(item.meta.fetched_at_ms)),
            ],
            vec![("#final", "final")],
        )
        .await
    }

    async fn load_modal_bundle(
        &self,
        slots: &[StatsSlot],
        items: &[ItemKey],
    ) -> TableResult<ModalBundle> {
        let slot_keys: Vec<(StatsSlot, Key)> = slots.iter().map(|s| (*s, slot_key(*s))).collect();
        let keys = slot_keys
            .iter()
            .map(|(_, k)| k.clone())
            .chain(items.iter().map(item_key))
            .collect();
        let mut bundle = ModalBundle::default();
        for item in self.batch_get(keys, None).await? {
            let (pk, sk) = (
                str_attr(&item, PK).unwrap_or_default(),
                str_attr(&item, SK).unwrap_or_default(),
            );
            if let Some((slot, _)) = slot_keys
                .iter()
                .find(|(_, k)| str_attr(k, PK) == Some(pk) && str_attr(k, SK) == Some(sk))
            {
                bundle.headers.insert(*slot, decode_header(item)?);
            } else {
                let cached = decode_cached_item(item)?;
                bundle.items.insert(cached.key.clone(), cached);
            }
        }
        Ok(bundle)
    }

    async fn load_participant_row(
        &self,
        header: &SnapshotHeader,
        participant: &ParticipantId,
    ) -> TableResult<Option<ParticipantStats>> {
        let bucket = bucket_of(participant.as_str(), header.buckets);
        let Some(item) = self.get_item(chunk_key(&header.version, bucket)).await? else {
            return Ok(None);
        };
        let blob = item
            .get("rows")
            .and_then(|v| v.as_b().ok())
            .ok_or_else(|| TableError::Corrupt("chunk without rows".into()))?;
        Ok(decode_rows::<ParticipantStats>(blob.as_ref())?
            .into_iter()
            .find(|r| r.index == participant.as_str()))
    }

    async fn claim_warm_guard(
        &self,
        epoch: u64,
        now_ms: i64,
        window_ms: i64,
    ) -> TableResult<GuardClaim> {
        let until = now_ms + window_ms;
        let mut item = key(epoch_pk(epoch), "WARM_GUARD".into());
        item.insert("claimed_until".into(), n(until));
        item.insert(TTL_ATTRIBUTE.into(), n(until / 1000 + DAY_SECS));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR claimed_until <= :now")
            .expression_attribute_values(":now", n(now_ms))
            // On a lost claim, say until when the other claim holds.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(resp) => {
                self.counters.record(
                    Op::Write,
                    resp.consumed_capacity()
                        .into_iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .as_slice(),
                );
                Ok(GuardClaim {
                    won: true,
                    held_until_ms: until,
                })
            }
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    self.counters.record(Op::Write, &[]);
                    let held = failed
                        .item()
                        .and_then(|i| i.get("claimed_until"))
                        .and_then(|v| v.as_n().ok())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(until);
                    Ok(GuardClaim {
                        won: false,
                        held_until_ms: held,
                    })
                }
                _ => Err(unavailable("PutItem (warm guard)", e)),
            },
        }
    }

    async fn load_total(&self, epoch: u64) -> TableResult<Option<EpochTotal>> {
        match self.get_item(key(epoch_pk(epoch), "TOTAL".into())).await? {
            Some(item) => Ok(Some(from_item::<TotalRow>(item)?.total)),
            None => Ok(None),
        }
    }

    async fn store_total(&self, total: &EpochTotal) -> TableResult<PutOutcome> {
        let row = TotalRow {
            pk: epoch_pk(total.epoch_id),
            sk: "TOTAL".into(),
            total: total.clone(),
        };
        self.put_conditional(to_item(&row)?, "attribute_not_exists(pk)", vec![], vec![])
            .await
    }
}

trait BuildOk {
    fn build_ok(self) -> TableResult<WriteRequest>;
}

impl BuildOk for aws_sdk_dynamodb::types::builders::WriteRequestBuilder {
    fn build_ok(self) -> TableResult<WriteRequest> {
        Ok(self.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_keys_round_trip() {
        let p = ParticipantId::parse("gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake364").unwrap();
        for kind in ItemKind::ALL {
            let k = ItemKey::new(p.clone(), 56, kind);
            let raw = item_key(&k);
            assert_eq!(
                parse_item_key(str_attr(&raw, PK).unwrap(), str_attr(&raw, SK).unwrap()),
                Some(k)
            );
        }
        assert_eq!(parse_item_key("P#../x", "E#0000000056#REWARD"), None);
        assert_eq!(parse_item_key("EPOCH#1", "TOTAL"), None);
    }

    #[test]
    fn items_encode_and_decode() {
        let p = ParticipantId::parse("gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake364").unwrap();
        let cases = vec![
            ItemData::Reward(Some(RewardRecord {
                rewarded_coins: "38627452617213".into(),
                claimed: true,
            })),
            ItemData::Reward(None),
            ItemData::WarmKeys(vec![]),
            ItemData::WarmKeys(vec![WarmKey {
                grantee_address: "g".into(),
                granted_at: "2026".into(),
            }]),
            ItemData::Hardware(vec![]),
        ];
        for data in cases {
            let item = CachedItem {
                key: ItemKey::new(p.clone(), 7, data.kind()),
                meta: ItemMeta {
                    fetched_at_ms: 5,
                    is_final: true,
                },
                data,
            };
            assert_eq!(
                decode_cached_item(encode_cached_item(&item).unwrap()).unwrap(),
                item
            );
        }
        let mismatched = CachedItem {
            key: ItemKey::new(p, 7, ItemKind::Hardware),
            meta: ItemMeta {
                fetched_at_ms: 5,
                is_final: true,
            },
            data: ItemData::Reward(None),
        };
        assert!(encode_cached_item(&mismatched).is_err());
    }
}
