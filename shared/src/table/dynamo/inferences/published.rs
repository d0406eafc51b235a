//! The published records over DynamoDB, and the route's read of them.
//!
//! Per epoch: [`RECORD_BUCKETS`] bucket items (`INFER#{e}`/`{bucket}`, the
//! participants hashing there, gzip JSON), a digest (`DIGEST`: each
//! bucket's content hash) and a stamp (`STAMP`: the last completion). A
//! completed scan writes only the buckets whose hash differs from the
//! digest ([`plan_publish`]), then the digest if it changed, then the stamp;
//! every put is conditional on `scan_started_ms <= :mine`, so an older
//! scan's late run never replaces a newer one's. The route reads the
//! participant's bucket and the stamp in one BatchGetItem: `cached_at` is
//! the stamp's (or the bucket's own, when that was written later), true
//! for a bucket the last scan found unchanged and did not rewrite.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use futures::{StreamExt, TryStreamExt};

use super::super::client::{Condition, DynamoTable, Put};
use super::super::codec::{compress, decode_json};
use super::super::keys::{n, num_attr, Item, Key, TTL_ATTRIBUTE};
use super::{blob, blob_item, RECORD_BUCKETS};
use crate::domain::inferences::InferenceLists;
use crate::ids::ParticipantId;
use crate::table::inferences::rules::{
    bucket_records, content_hash, plan_publish, PublishedDigest, RecordRow, PUBLISHED_TTL_SECS,
};
use crate::table::inferences::{PublishStamp, PublishedInferences};
use crate::table::items::bucket_of;
use crate::table::port::{TableError, TableResult};

/// Record items stay under DynamoDB's 400 KB item limit.
const MAX_RECORD_BYTES: usize = 390_000;
/// Conditional record puts in flight at once.
const PUBLISH_CONCURRENCY: usize = 16;

const CACHED_AT: &str = "cached_at_ms";
const SCAN_STARTED: &str = "scan_started_ms";
const HASHES: &str = "hashes";
const REFRESHED: &str = "refreshed_ms";

/// The scan-ordered put every published item goes through.
fn newer_or_same_scan(stamp: PublishStamp) -> Condition<'static> {
    Condition::new("attribute_not_exists(pk) OR scan_started_ms <= :s")
        .value(":s", n(stamp.scan_started_ms))
}

fn stamped(key: &Key, stamp: PublishStamp, expires_at_ms: i64) -> Item {
    let mut item = key.attributes();
    item.insert(CACHED_AT.into(), n(stamp.cached_at_ms));
    item.insert(SCAN_STARTED.into(), n(stamp.scan_started_ms));
    item.insert(
        TTL_ATTRIBUTE.into(),
        n(expires_at_ms / 1000 + PUBLISHED_TTL_SECS),
    );
    item
}

fn digest_of(item: &Item) -> Option<PublishedDigest> {
    let bytes = item.get(HASHES)?.as_b().ok()?.as_ref();
    Some(PublishedDigest {
        hashes: bytes
            .chunks_exact(8)
            .map(|c| u64::from_be_bytes(c.try_into().unwrap_or_default()))
            .collect(),
        scan_started_ms: num_attr(item, SCAN_STARTED)?,
        refreshed_ms: num_attr(item, REFRESHED)?,
    })
}

impl DynamoTable {
    pub(super) async fn publish(
        &self,
        epoch: u64,
        records: &BTreeMap<String, InferenceLists>,
        stamp: PublishStamp,
    ) -> TableResult<usize> {
        let json = bucket_records(records, RECORD_BUCKETS)?;
        let hashes: Vec<u64> = json.iter().map(|j| content_hash(j)).collect();
        let stored = self.get_item(&Key::inference_digest(epoch)).await?;
        let stored = stored.as_ref().and_then(digest_of);
        // The completion time is "now": every item written is stamped with it.
        let Some(plan) = plan_publish(stored.as_ref(), &hashes, stamp, stamp.cached_at_ms) else {
            return Ok(0);
        };
        let items = plan
            .buckets
            .iter()
            .map(|&bucket| {
                let bytes = compress(&json[bucket as usize])?;
                if bytes.len() > MAX_RECORD_BYTES {
                    return Err(TableError::Corrupt(format!(
                        "epoch {epoch} bucket {bucket}: {} bytes of records, over the item limit",
                        bytes.len()
                    )));
                }
                let key = Key::inference_records(epoch, bucket);
                let mut item = stamped(&key, stamp, stamp.cached_at_ms);
                item.extend(blob_item(&key, bytes));
                Ok(item)
            })
            .collect::<TableResult<Vec<Item>>>()?;
        let puts = items
            .into_iter()
            .map(|item| self.put_conditional(item, newer_or_same_scan(stamp)));
        let outcomes: Vec<Put> = futures::stream::iter(puts)
            .buffer_unordered(PUBLISH_CONCURRENCY)
            .try_collect()
            .await?;
        let written = outcomes.iter().filter(|p| **p == Put::Written).count();
        // After the buckets, so a digest never names content not yet stored.
        if let Some(digest) = plan.digest {
            let key = Key::inference_digest(epoch);
            let mut item = stamped(&key, stamp, digest.refreshed_ms);
            let bytes: Vec<u8> = digest.hashes.iter().flat_map(|h| h.to_be_bytes()).collect();
            item.insert(HASHES.into(), AttributeValue::B(bytes.into()));
            item.insert(REFRESHED.into(), n(digest.refreshed_ms));
            self.put_conditional(item, newer_or_same_scan(stamp))
                .await?;
        }
        let stamp_item = stamped(&Key::inference_stamp(epoch), stamp, stamp.cached_at_ms);
        self.put_conditional(stamp_item, newer_or_same_scan(stamp))
            .await?;
        Ok(written)
    }

    pub(super) async fn load_record(
        &self,
        participant: &ParticipantId,
        epoch: u64,
    ) -> TableResult<Option<PublishedInferences>> {
        let bucket_key =
            Key::inference_records(epoch, bucket_of(participant.as_str(), RECORD_BUCKETS));
        let stamp_key = Key::inference_stamp(epoch);
        let items = self
            .batch_get([bucket_key.clone(), stamp_key], None)
            .await?;
        let Some(bucket) = items
            .iter()
            .find(|i| Key::of(i).as_ref() == Some(&bucket_key))
        else {
            return Ok(None);
        };
        let bucket_cached_at = num_attr::<i64>(bucket, CACHED_AT).ok_or_else(|| {
            TableError::Corrupt("published inferences without cached_at_ms".into())
        })?;
        let stamp_cached_at = items
            .iter()
            .filter(|i| Key::of(i).as_ref() != Some(&bucket_key))
            .find_map(|i| num_attr::<i64>(i, CACHED_AT));
        let rows: Vec<RecordRow> = decode_json(blob(bucket)?)?;
        Ok(rows
            .into_iter()
            .find(|r| r.participant_id == participant.as_str())
            .map(|r| PublishedInferences {
                lists: r.lists,
                cached_at_ms: stamp_cached_at.map_or(bucket_cached_at, |s| s.max(bucket_cached_at)),
            }))
    }
}
