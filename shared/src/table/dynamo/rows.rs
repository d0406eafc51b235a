//! Row codecs: how each kind of item is written as DynamoDB attributes and
//! read back.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::batch::Projection;
use super::codec::decode_rows;
use super::keys::{n, num_attr, s, Item, Key, DAY_SECS, TTL_ATTRIBUTE};
use crate::domain::WarmKey;
use crate::domain::{HardwareNode, Tallies};
use crate::table::items::*;
use crate::table::port::{TableError, TableResult};

/// The attribute holding a chunk's gzip-compressed rows.
const ROWS: &str = "rows";
/// The attribute holding a tally chunk's gzip-compressed tallies.
const TALLIES: &str = "tallies";
/// The attribute holding until when the warm lease is held (ms).
const CLAIMED_UNTIL: &str = "claimed_until";
/// The attribute holding who holds the warm lease (its [`LeaseToken`]).
const LEASE_OWNER: &str = "lease_owner";

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

pub fn encode_header(slot: StatsSlot, header: SnapshotHeader) -> TableResult<Item> {
    let Key { pk, sk } = Key::stats(slot);
    to_item(&HeaderRow {
        pk,
        sk,
        fetched_at_ms: header.fetched_at_ms,
        header,
    })
}

pub fn decode_header(item: Item) -> TableResult<SnapshotHeader> {
    from_item::<HeaderRow>(item).map(|r| r.header)
}

/// A chunk of a snapshot: its rows ([`super::codec::encode_rows`]) and when
/// it may expire.
pub fn encode_chunk(key: &Key, rows: Vec<u8>, expires_at: Option<i64>) -> Item {
    encode_blob(key, ROWS, rows, expires_at)
}

/// A tally chunk: the tallies of a chunk's rows, in their order.
pub fn encode_tally_chunk(key: &Key, tallies: Vec<u8>, expires_at: Option<i64>) -> Item {
    encode_blob(key, TALLIES, tallies, expires_at)
}

fn encode_blob(key: &Key, attribute: &str, blob: Vec<u8>, expires_at: Option<i64>) -> Item {
    let mut item = key.attributes();
    item.insert(attribute.into(), AttributeValue::B(blob.into()));
    if let Some(t) = expires_at {
        item.insert(TTL_ATTRIBUTE.into(), n(t));
    }
    item
}

/// The rows of a chunk as `T`: whole [`crate::domain::ParticipantStats`], or a subset of
/// their fields (e.g. only the id).
pub fn decode_chunk<T: serde::de::DeserializeOwned>(item: &Item) -> TableResult<Vec<T>> {
    decode_rows(blob(item, ROWS)?)
}

/// The tallies of a tally chunk.
pub fn decode_tally_chunk(item: &Item) -> TableResult<Vec<Tallies>> {
    decode_rows(blob(item, TALLIES)?)
}

fn blob<'a>(item: &'a Item, attribute: &str) -> TableResult<&'a [u8]> {
    item.get(attribute)
        .and_then(|v| v.as_b().ok())
        .map(|b| b.as_ref())
        .ok_or_else(|| TableError::Corrupt(format!("chunk without {attribute}")))
}

pub fn encode_cached_item(item: &CachedItem) -> TableResult<Item> {
    if item.data.kind() != item.key.kind {
        return Err(TableError::Corrupt(format!(
            "{:?} data under a {:?} key",
            item.data.kind(),
            item.key.kind
        )));
    }
    let Key { pk, sk } = Key::item(&item.key);
    let (mut reward, mut warm_keys, mut hardware) = (None, None, None);
    match &item.data {
        ItemData::Reward(r) => reward = r.clone(),
        ItemData::WarmKeys(w) => warm_keys = Some(w.clone()),
        ItemData::Hardware(h) => hardware = Some(h.clone()),
    }
    to_item(&ItemRow {
        pk,
        sk,
        fetched_at: item.meta.fetched_at_ms,
        is_final: item.meta.is_final,
        reward,
        warm_keys,
        hardware,
    })
}

pub fn decode_cached_item(item: Item) -> TableResult<CachedItem> {
    let row: ItemRow = from_item(item)?;
    let key = Key {
        pk: row.pk,
        sk: row.sk,
    };
    let item_key = key
        .to_item_key()
        .ok_or_else(|| TableError::Corrupt(format!("bad item key {}/{}", key.pk, key.sk)))?;
    let data = match item_key.kind {
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
        key: item_key,
        meta: ItemMeta {
            fetched_at_ms: row.fetched_at,
            is_final: row.is_final,
        },
        data,
    })
}

/// Only what [`decode_item_meta`] reads.
pub const ITEM_META: Projection = Projection {
    expression: "pk, sk, fetched_at, #final",
    names: &[("#final", "final")],
};

/// The key and freshness of a participant item read through [`ITEM_META`];
/// `None` for any other item.
pub fn decode_item_meta(item: &Item) -> Option<(ItemKey, ItemMeta)> {
    let key = Key::of(item)?.to_item_key()?;
    let is_final = item
        .get("final")
        .and_then(|v| v.as_bool().ok())
        .copied()
        .unwrap_or(false);
    let meta = ItemMeta {
        fetched_at_ms: num_attr(item, "fetched_at").unwrap_or(0),
        is_final,
    };
    Some((key, meta))
}

pub fn encode_total(total: &EpochTotal) -> TableResult<Item> {
    let Key { pk, sk } = Key::total(total.epoch_id);
    to_item(&TotalRow {
        pk,
        sk,
        total: total.clone(),
    })
}

pub fn decode_total(item: Item) -> TableResult<EpochTotal> {
    from_item::<TotalRow>(item).map(|r| r.total)
}

/// Until when the epoch rests from warm runs of one kind (ms), and which.
pub const REST_UNTIL: &str = "rest_until";
pub const REST_FINISHED: &str = "rest_finished";

/// The epoch's warm lease, held by `owner` until `until_ms`, with the rest
/// its last run earned; the item expires a day after the lease, or after
/// the rest (never, for a finished epoch complete for good).
pub fn encode_lease(epoch: u64, until_ms: i64, owner: &LeaseToken, rest: Option<WarmRest>) -> Item {
    let mut item = Key::lease(epoch).attributes();
    item.insert(CLAIMED_UNTIL.into(), n(until_ms));
    item.insert(LEASE_OWNER.into(), s(owner.as_str()));
    let expires = rest.map_or(until_ms, |r| r.until_ms.max(until_ms));
    if expires < WarmRest::FOREVER {
        item.insert(TTL_ATTRIBUTE.into(), n(expires / 1000 + DAY_SECS));
    }
    if let Some(r) = rest {
        item.insert(REST_UNTIL.into(), n(r.until_ms));
        item.insert(REST_FINISHED.into(), AttributeValue::Bool(r.finished));
    }
    item
}

pub fn lease_claimed_until(item: &Item) -> Option<i64> {
    num_attr(item, CLAIMED_UNTIL)
}

pub fn lease_rest(item: &Item) -> Option<WarmRest> {
    Some(WarmRest {
        until_ms: num_attr(item, REST_UNTIL)?,
        finished: *item.get(REST_FINISHED)?.as_bool().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::keys::str_attr;
    use super::*;
    use crate::ids::ParticipantId;

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
            let encoded = encode_cached_item(&item).unwrap();
            assert_eq!(
                decode_item_meta(&encoded),
                Some((item.key.clone(), item.meta))
            );
            assert_eq!(decode_cached_item(encoded).unwrap(), item);
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

    #[test]
    fn chunks_and_leases_round_trip() {
        #[derive(Deserialize, PartialEq, Debug)]
        struct Id {
            index: String,
        }
        let key = Key::chunk("v", 0);
        let empty = encode_chunk(
            &key,
            super::super::codec::encode_rows::<crate::domain::ParticipantStats>(&[]).unwrap(),
            Some(9),
        );
        assert_eq!(decode_chunk::<Id>(&empty).unwrap(), vec![]);
        assert_eq!(num_attr::<i64>(&empty, TTL_ATTRIBUTE), Some(9));
        assert!(decode_chunk::<Id>(&key.attributes()).is_err());

        let owner = LeaseToken::random();
        let lease = encode_lease(3, 5_000, &owner, None);
        assert_eq!(lease_claimed_until(&lease), Some(5_000));
        assert_eq!(str_attr(&lease, LEASE_OWNER), Some(owner.as_str()));
        assert_eq!(num_attr::<i64>(&lease, TTL_ATTRIBUTE), Some(5 + DAY_SECS));
        assert_eq!(lease_rest(&lease), None);
        let forever = WarmRest {
            until_ms: WarmRest::FOREVER,
            finished: true,
        };
        let rested = encode_lease(3, 5_000, &owner, Some(forever));
        assert_eq!(lease_rest(&rested), Some(forever));
        assert_eq!(
            num_attr::<i64>(&rested, TTL_ATTRIBUTE),
            None,
            "kept for good"
        );
    }
}
