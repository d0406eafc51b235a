//! [`StatusTable`] over DynamoDB: jail and health chunks (compressed rows,
//! one conditional PutItem each) and the Keybase answers cache.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::try_join_all;

use super::batch::Projection;
use super::client::{Condition, DynamoTable};
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
/// Chunks stay well under DynamoDB's 400 KB item limit.
pub const MAX_STATUS_CHUNK_BYTES: usize = 350_000;
/// A current epoch's jail chunks no later fetch replaced (the warmer never
/// finalised them) go after this.
const NON_FINAL_JAIL_TTL_SECS: i64 = 30 * DAY_SECS;
/// Health nobody refreshes any more goes after this.
const HEALTH_TTL_SECS: i64 = DAY_SECS;

const VERSION_ONLY: Projection = Projection {
    expression: "pk, sk, fetched_at",
    names: &[],
};
const FINAL_ONLY: Projection = Projection {
    expression: "pk, sk, #final",
    names: &[("#final", "final")],
};

fn all_keys(epoch: u64) -> impl Iterator<Item = Key> {
    (0..STATUS_BUCKETS)
        .map(move |b| Key::jail_chunk(epoch, b))
        .chain((0..STATUS_BUCKETS).map(Key::health_chunk))
}

/// A version from the chunks' keys and write times, independent of order.
fn version_of(items: &[Item]) -> u64 {
    let mut parts: Vec<String> = items
        .iter()
        .map(|i| {
            format!(
                "{}/{}/{}",
                str_attr(i, PK).unwrap_or_default(),
                str_attr(i, SK).unwrap_or_default(),
                num_attr::<i64>(i, FETCHED_AT).unwrap_or_default()
            )
        })
        .collect();
    parts.sort();
    fnv1a(parts.join(",").as_bytes())
}

fn chunk_rows<T: serde::de::DeserializeOwned>(item: &Item) -> TableResult<Vec<T>> {
    let blob = item
        .get(ROWS)
        .and_then(|v| v.as_b().ok())
        .ok_or_else(|| TableError::Corrupt("status chunk without rows".into()))?;
    decode_rows(blob.as_ref())
}

fn encode_chunk<T: serde::Serialize>(
    key: &Key,
    rows: &[&T],
    fetched_at_ms: i64,
    is_final: Option<bool>,
    expires_at: Option<i64>,
) -> TableResult<Item> {
    let blob = encode_rows(rows)?;
    if blob.len() > MAX_STATUS_CHUNK_BYTES {
        return Err(TableError::Corrupt(format!(
            "status chunk {}/{} is {} bytes, over {MAX_STATUS_CHUNK_BYTES}",
            key.pk,
            key.sk,
            blob.len()
        )));
    }
    let mut item = key.attributes();
    item.insert(ROWS.into(), AttributeValue::B(blob.into()));
    item.insert(FETCHED_AT.into(), n(fetched_at_ms));
    if let Some(f) = is_final {
        item.insert("final".into(), AttributeValue::Bool(f));
    }
    if let Some(t) = expires_at {
        item.insert(TTL_ATTRIBUTE.into(), n(t));
    }
    Ok(item)
}

impl DynamoTable {
    async fn put_chunks(
        &self,
        items: Vec<Item>,
        condition: Condition<'_>,
    ) -> TableResult<PutOutcome> {
        let puts = items
            .into_iter()
            .map(|item| self.put_conditional(item, condition.clone()));
        let outcomes = try_join_all(puts).await?;
        Ok(
            if outcomes.iter().all(|p| p.outcome() == PutOutcome::Written) {
                PutOutcome::Written
            } else {
                PutOutcome::LostRace
            },
        )
    }
}

impl StatusTable for DynamoTable {
    async fn status_version(&self, epoch: u64) -> TableResult<u64> {
        let items = self.batch_get(all_keys(epoch), Some(VERSION_ONLY)).await?;
        Ok(version_of(&items))
    }

    async fn load_statuses(&self, epoch: u64) -> TableResult<StoredStatuses> {
        let items = self.batch_get(all_keys(epoch), None).await?;
        let mut out = StoredStatuses {
            version: version_of(&items),
            ..StoredStatuses::default()
        };
        for item in &items {
            if str_attr(item, PK) == Some("HEALTH") {
                for h in chunk_rows::<NodeHealth>(item)? {
                    out.health.insert(h.participant.clone(), h);
                }
            } else {
                for j in chunk_rows::<JailStatus>(item)? {
                    out.jail.insert(j.participant.clone(), j);
                }
            }
        }
        Ok(out)
    }

    async fn load_participant_status(
        &self,
        epoch: u64,
        participant: &str,
    ) -> TableResult<(Option<JailStatus>, Option<NodeHealth>)> {
        let bucket = status_bucket(participant);
        let items = self
            .batch_get(
                [Key::jail_chunk(epoch, bucket), Key::health_chunk(bucket)],
                None,
            )
            .await?;
        let (mut jail, mut health) = (None, None);
        for item in &items {
            if str_attr(item, PK) == Some("HEALTH") {
                health = chunk_rows::<NodeHealth>(item)?
                    .into_iter()
                    .find(|h| h.participant == participant);
            } else {
                jail = chunk_rows::<JailStatus>(item)?
                    .into_iter()
                    .find(|j| j.participant == participant);
            }
        }
        Ok((jail, health))
    }

    async fn store_jail(
        &self,
        epoch: u64,
        statuses: &[JailStatus],
        fetched_at_ms: i64,
        is_final: bool,
    ) -> TableResult<PutOutcome> {
        let expires_at = (!is_final).then(|| fetched_at_ms / 1000 + NON_FINAL_JAIL_TTL_SECS);
        let items = split_statuses(statuses, |j| j.participant.as_str())
            .iter()
            .enumerate()
            .map(|(b, rows)| {
                encode_chunk(
                    &Key::jail_chunk(epoch, b as u32),
                    rows,
                    fetched_at_ms,
                    Some(is_final),
                    expires_at,
                )
            })
            .collect::<TableResult<Vec<Item>>>()?;
        // `jail_may_replace`, as a condition.
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
        self.put_chunks(items, condition).await
    }

    async fn jail_is_final(&self, epoch: u64) -> TableResult<bool> {
        let keys = (0..STATUS_BUCKETS).map(|b| Key::jail_chunk(epoch, b));
        let items = self.batch_get(keys, Some(FINAL_ONLY)).await?;
        Ok(items.len() == STATUS_BUCKETS as usize
            && items
                .iter()
                .all(|i| i.get("final").and_then(|v| v.as_bool().ok()) == Some(&true)))
    }

    async fn store_health(
        &self,
        health: &[NodeHealth],
        fetched_at_ms: i64,
    ) -> TableResult<PutOutcome> {
        let expires_at = Some(fetched_at_ms / 1000 + HEALTH_TTL_SECS);
        let items = split_statuses(health, |h| h.participant.as_str())
            .iter()
            .enumerate()
            .map(|(b, rows)| {
                encode_chunk(
                    &Key::health_chunk(b as u32),
                    rows,
                    fetched_at_ms,
                    None,
                    expires_at,
                )
            })
            .collect::<TableResult<Vec<Item>>>()?;
        let condition = Condition::new("attribute_not_exists(pk) OR fetched_at < :f")
            .value(":f", n(fetched_at_ms));
        self.put_chunks(items, condition).await
    }

    async fn load_keybase(
        &self,
        identities: &[KeybaseIdentity],
        now_ms: i64,
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
                // TTL deletion lags; an expired answer is not an answer.
                let expires_at_ms = num_attr::<i64>(item, TTL_ATTRIBUTE)? * 1000;
                (expires_at_ms > now_ms).then(|| {
                    let username = str_attr(item, USERNAME).map(str::to_owned);
                    (
                        identity.clone(),
                        CachedKeybase {
                            identity,
                            username,
                            expires_at_ms,
                        },
                    )
                })
            })
            .collect())
    }

    async fn store_keybase(&self, entries: &[CachedKeybase]) -> TableResult<()> {
        let puts: Vec<_> = entries
            .iter()
            .map(|e| {
                let mut item = Key::keybase(e.identity.as_str()).attributes();
                if let Some(u) = &e.username {
                    item.insert(USERNAME.into(), s(u));
                }
                item.insert(TTL_ATTRIBUTE.into(), n(e.expires_at_ms.div_euclid(1000)));
                // The answer that lasts longer (the newer one) is kept.
                let condition = Condition::new("attribute_not_exists(pk) OR expires_at < :t")
                    .value(":t", n(e.expires_at_ms.div_euclid(1000)));
                self.put_conditional(item, condition)
            })
            .collect();
        // A few in flight, not one per identity: thousands of concurrent
        // puts opened as many connections, whose buffers the SDK's pool then
        // kept (the warmer's 140 MiB at 10,000 participants).
        use futures::{StreamExt, TryStreamExt};
        const PUTS_IN_FLIGHT: usize = 16;
        futures::stream::iter(puts)
            .buffer_unordered(PUTS_IN_FLIGHT)
            .try_collect::<Vec<_>>()
            .await?;
        Ok(())
    }
}
