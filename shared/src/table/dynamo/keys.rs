//! The key schema: every item's `pk` and `sk` (both strings), and the
//! attribute helpers the other modules share.
//!
//! | item                         | pk                   | sk                       |
//! |------------------------------|----------------------|--------------------------|
//! | current epoch stats header   | `CURRENT`            | `STATS`                  |
//! | finished epoch stats header  | `EPOCH#{e:010}`      | `STATS#FINAL`            |
//! | stats at a height            | `EPOCH#{e:010}`      | `STATS#H#{h:012}`        |
//! | stats rows chunk             | `SNAP#{version}`     | `{bucket:05}`            |
//! | stats tally chunk            | `SNAP#{version}`     | `T{bucket:05}`           |
//! | warm lease                   | `EPOCH#{e:010}`      | `WARM_GUARD`             |
//! | epoch reward total           | `EPOCH#{e:010}`      | `TOTAL`                  |
//! | participant item             | `P#{address}`        | `E#{e:010}#{KIND}`       |
//! | timeline                     | `NETWORK`            | `TIMELINE`               |
//! | current epoch's models       | `NETWORK`            | `MODELS#CURRENT`         |
//! | restrictions end block       | `NETWORK`            | `RESTRICTIONS`           |
//! | finished epoch's models      | `MODELS#{e:010}`     | `FINAL`                  |
//! | models at a height           | `MODELS#{e:010}`     | `H#{h:012}`              |
//! | models height-build budget   | `MODELS#{e:010}`     | `HEIGHT_BUILDS#{minute:010}` |
//! | inference scan checkpoint    | `INFSCAN`            | `CHECKPOINT`             |
//! | inference scan state piece   | `INFSCAN#{token}`    | `{piece:05}`             |
//! | published inferences         | `INFER#{e:010}`      | `{bucket:03}`            |
//! | published inferences stamp   | `INFER#{e:010}`      | `STAMP`                  |
//! | published inferences digest  | `INFER#{e:010}`      | `DIGEST`                 |
//! | jail statuses chunk          | `JAIL#{e:010}`       | `{bucket:03}`            |
//! | jail statuses revision       | `JAIL#{e:010}`       | `REV`                    |
//! | node health chunk            | `HEALTH`             | `{bucket:03}`            |
//! | node health revision         | `HEALTH`             | `REV`                    |
//! | Keybase answer               | `KEYBASE#{IDENTITY}` | `LOOKUP`                 |
//! | participant history entry    | `P#{address}`        | `HISTORY#{e:010}`        |
//! | network history row          | `HISTORY`            | `{e:010}`                |

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::ids::ParticipantId;
use crate::table::items::{ItemKey, ItemKind, StatsSlot};
use crate::table::network::NetworkItem;

/// The network history's partition.
pub const NETWORK_HISTORY_PK: &str = "HISTORY";

/// The sort key of a participant's history entry.
pub fn history_sk(epoch: u64) -> String {
    format!("HISTORY#{epoch:010}")
}

/// An item (or a key) as the SDK carries it.
pub type Item = HashMap<String, AttributeValue>;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// DynamoDB's TTL attribute (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// Whether an item's TTL has passed (an item without one never expires):
/// DynamoDB deletes expired items up to days late, so a read that must not
/// see them checks.
pub fn is_expired(item: &Item, now_secs: i64) -> bool {
    item.get(TTL_ATTRIBUTE)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .is_some_and(|at| at <= now_secs)
}
pub const DAY_SECS: i64 = 86_400;

/// The primary key of one item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }

    /// A participant's entry for one finished epoch (beside its items, so
    /// the participant function's grant covers it).
    pub fn history(participant: &ParticipantId, epoch: u64) -> Self {
        Self::new(format!("P#{participant}"), history_sk(epoch))
    }

    /// The network's row for one finished epoch.
    pub fn network_history(epoch: u64) -> Self {
        Self::new(NETWORK_HISTORY_PK, format!("{epoch:010}"))
    }

    pub fn stats(slot: StatsSlot) -> Self {
        match slot {
            StatsSlot::Current => Self::new("CURRENT", "STATS"),
            StatsSlot::Final(e) => Self::new(epoch_pk(e), "STATS#FINAL"),
            StatsSlot::AtHeight(e, h) => Self::new(epoch_pk(e), format!("STATS#H#{h:012}")),
        }
    }

    pub fn chunk(version: &str, bucket: u32) -> Self {
        Self::new(format!("SNAP#{version}"), format!("{bucket:05}"))
    }

    /// The tallies of the rows in [`Key::chunk`]`(version, bucket)`, in
    /// their order (a snapshot whose tallies are stored apart).
    pub fn tally_chunk(version: &str, bucket: u32) -> Self {
        Self::new(format!("SNAP#{version}"), format!("T{bucket:05}"))
    }

    /// The epoch's warm lease. Its sort key keeps the lease's former name:
    /// deployed tables hold leases under it.
    pub fn lease(epoch: u64) -> Self {
        Self::new(epoch_pk(epoch), "WARM_GUARD")
    }

    pub fn total(epoch: u64) -> Self {
        Self::new(epoch_pk(epoch), "TOTAL")
    }

    /// The count of an epoch's builds at requested heights in one minute.
    pub fn height_builds(epoch: u64, minute: i64) -> Self {
        Self::new(epoch_pk(epoch), format!("HEIGHT_BUILDS#{minute:010}"))
    }

    /// The count of every build at a requested height in one minute.
    pub fn all_height_builds(minute: i64) -> Self {
        Self::new("BUDGET", format!("HEIGHT_BUILDS#{minute:010}"))
    }

    /// The network-wide views' items.
    pub fn network(item: NetworkItem) -> Self {
        match item {
            NetworkItem::Timeline => Self::new("NETWORK", "TIMELINE"),
            NetworkItem::ModelsCurrent => Self::new("NETWORK", "MODELS#CURRENT"),
            NetworkItem::RestrictionEndBlock => Self::new("NETWORK", "RESTRICTIONS"),
            NetworkItem::ModelsFinal(e) => Self::new(models_pk(e), "FINAL"),
            NetworkItem::ModelsAtHeight(e, h) => Self::new(models_pk(e), format!("H#{h:012}")),
        }
    }

    /// The count of an epoch's models builds at requested heights in one minute.
    pub fn models_height_builds(epoch: u64, minute: i64) -> Self {
        Self::new(models_pk(epoch), format!("HEIGHT_BUILDS#{minute:010}"))
    }

    /// The inference scan's checkpoint (position, version, state pieces).
    pub fn scan_checkpoint() -> Self {
        Self::new("INFSCAN", "CHECKPOINT")
    }

    /// One piece of a part of a saved scan state (`token` is unique to the
    /// save that wrote the part).
    pub fn scan_piece(token: &str, piece: u32) -> Self {
        Self::new(format!("INFSCAN#{token}"), format!("{piece:05}"))
    }

    /// The published inferences of the participants hashing to `bucket`.
    pub fn inference_records(epoch: u64, bucket: u32) -> Self {
        Self::new(format!("INFER#{epoch:010}"), format!("{bucket:03}"))
    }

    /// An epoch's last completion time (read beside a bucket by the route).
    pub fn inference_stamp(epoch: u64) -> Self {
        Self::new(format!("INFER#{epoch:010}"), "STAMP")
    }

    /// The content hashes of an epoch's published buckets.
    pub fn inference_digest(epoch: u64) -> Self {
        Self::new(format!("INFER#{epoch:010}"), "DIGEST")
    }

    /// One of an epoch's jail status chunks.
    pub fn jail_chunk(epoch: u64, bucket: u32) -> Self {
        Self::new(format!("JAIL#{epoch:010}"), format!("{bucket:03}"))
    }

    /// One of the node health chunks (global: health is today's for every epoch).
    pub fn health_chunk(bucket: u32) -> Self {
        Self::new("HEALTH", format!("{bucket:03}"))
    }

    /// The revision item of an epoch's jail chunks (their content hashes).
    pub fn jail_revision(epoch: u64) -> Self {
        Self::new(format!("JAIL#{epoch:010}"), "REV")
    }

    /// The revision item of the node health chunks.
    pub fn health_revision() -> Self {
        Self::new("HEALTH", "REV")
    }

    /// A Keybase answer (identities are hex; stored upper-case, one spelling).
    pub fn keybase(identity: &str) -> Self {
        Self::new(
            format!("KEYBASE#{}", identity.to_ascii_uppercase()),
            "LOOKUP",
        )
    }

    pub fn item(k: &ItemKey) -> Self {
        Self::new(
            format!("P#{}", k.participant),
            format!("E#{:010}#{}", k.epoch, kind_suffix(k.kind)),
        )
    }

    /// The participant item this key names; `None` for any other item.
    pub fn to_item_key(&self) -> Option<ItemKey> {
        let participant = ParticipantId::parse(self.pk.strip_prefix("P#")?).ok()?;
        let (epoch, kind) = self.sk.strip_prefix("E#")?.split_once('#')?;
        let kind = ItemKind::ALL
            .into_iter()
            .find(|k| kind_suffix(*k) == kind)?;
        Some(ItemKey {
            participant,
            epoch: epoch.parse().ok()?,
            kind,
        })
    }

    /// The key attributes, to send as a key or to start an item with.
    pub fn attributes(&self) -> Item {
        HashMap::from([(PK.to_owned(), s(&self.pk)), (SK.to_owned(), s(&self.sk))])
    }

    /// The key of a stored item; `None` if it lacks one.
    pub fn of(item: &Item) -> Option<Self> {
        Some(Self::new(str_attr(item, PK)?, str_attr(item, SK)?))
    }
}

fn epoch_pk(epoch: u64) -> String {
    format!("EPOCH#{epoch:010}")
}

fn models_pk(epoch: u64) -> String {
    format!("MODELS#{epoch:010}")
}

fn kind_suffix(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Reward => "REWARD",
        ItemKind::WarmKeys => "WARMKEYS",
        ItemKind::Hardware => "HARDWARE",
    }
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn str_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// A number attribute parsed as `T`; `None` if absent or not a number.
pub fn num_attr<T: std::str::FromStr>(item: &Item, name: &str) -> Option<T> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_keys_round_trip() {
        let p = ParticipantId::parse("gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake364").unwrap();
        for kind in ItemKind::ALL {
            let k = ItemKey::new(p.clone(), 56, kind);
            let raw = Key::item(&k).attributes();
            assert_eq!(Key::of(&raw).unwrap().to_item_key(), Some(k));
        }
        assert_eq!(
            Key::new("P#../x", "E#0000000056#REWARD").to_item_key(),
            None
        );
        assert_eq!(Key::total(1).to_item_key(), None);
    }

    /// The schema in the table above (the template's and the README's).
    #[test]
    fn keys_follow_the_schema() {
        let cases = [
            (Key::stats(StatsSlot::Current), "CURRENT", "STATS"),
            (
                Key::stats(StatsSlot::Final(56)),
                "EPOCH#0000000056",
                "STATS#FINAL",
            ),
            (
                Key::stats(StatsSlot::AtHeight(56, 887_711)),
                "EPOCH#0000000056",
                "STATS#H#000000887711",
            ),
            (Key::chunk("v1", 7), "SNAP#v1", "00007"),
            (Key::tally_chunk("v1", 7), "SNAP#v1", "T00007"),
            (Key::lease(3), "EPOCH#0000000003", "WARM_GUARD"),
            (Key::total(3), "EPOCH#0000000003", "TOTAL"),
            (Key::network(NetworkItem::Timeline), "NETWORK", "TIMELINE"),
            (
                Key::network(NetworkItem::ModelsCurrent),
                "NETWORK",
                "MODELS#CURRENT",
            ),
            (
                Key::network(NetworkItem::RestrictionEndBlock),
                "NETWORK",
                "RESTRICTIONS",
            ),
            (
                Key::network(NetworkItem::ModelsFinal(56)),
                "MODELS#0000000056",
                "FINAL",
            ),
            (
                Key::network(NetworkItem::ModelsAtHeight(56, 887_711)),
                "MODELS#0000000056",
                "H#000000887711",
            ),
            (
                Key::models_height_builds(56, 7),
                "MODELS#0000000056",
                "HEIGHT_BUILDS#0000000007",
            ),
            (Key::scan_checkpoint(), "INFSCAN", "CHECKPOINT"),
            (Key::scan_piece("t1", 2), "INFSCAN#t1", "00002"),
            (Key::inference_records(60, 7), "INFER#0000000060", "007"),
            (Key::inference_stamp(60), "INFER#0000000060", "STAMP"),
            (Key::inference_digest(60), "INFER#0000000060", "DIGEST"),
            (Key::jail_chunk(56, 7), "JAIL#0000000056", "007"),
            (Key::health_chunk(31), "HEALTH", "031"),
            (
                Key::keybase("e23265a0e36fc128"),
                "KEYBASE#E23265A0E36FC128",
                "LOOKUP",
            ),
        ];
        for (key, pk, sk) in cases {
            assert_eq!((key.pk.as_str(), key.sk.as_str()), (pk, sk));
        }
    }
}
