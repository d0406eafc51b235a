//! [`HistoryTable`] on DynamoDB: an entry per item (`entry` or `row` as a
//! map, with `hash`, `fetched_at` and `final`), written by a conditional
//! PutItem under the participant items' rule, read a page per Query.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::batch::Projection;
use super::client::{Condition, DynamoTable};
use super::keys::{history_sk, n, num_attr, Item, Key, NETWORK_HISTORY_PK};
use crate::domain::history::{
    EpochRange, HistoryEntry, NetworkEpoch, NetworkHistoryRow, UnavailableEpoch,
};
use crate::ids::ParticipantId;
use crate::table::history::{
    BackfillCursor, HistoryRecord, HistoryStamp, HistoryTable, NetworkRecord,
};
use crate::table::items::PutOutcome;
use crate::table::port::{TableError, TableResult};

/// Conditional puts in flight in one [`HistoryTable::store_history`].
const PUT_CONCURRENCY: usize = 16;

const STAMP: Projection = Projection {
    expression: "pk, sk, #hash, #final",
    names: &[("#hash", "hash"), ("#final", "final")],
};

#[derive(Serialize, Deserialize)]
struct EntryRow {
    pk: String,
    sk: String,
    fetched_at: i64,
    #[serde(rename = "final")]
    is_final: bool,
    hash: u64,
    entry: HistoryEntry,
}

#[derive(Serialize, Deserialize)]
struct NetworkRow {
    pk: String,
    sk: String,
    fetched_at: i64,
    #[serde(rename = "final")]
    is_final: bool,
    /// 0 for an unavailable epoch.
    hash: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    row: Option<NetworkEpoch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unavailable: Option<UnavailableEpoch>,
}

#[derive(Serialize, Deserialize)]
struct CursorRow {
    pk: String,
    sk: String,
    next_epoch: u64,
    passes: u64,
    // Absent from a cursor written before they existed: nothing is known
    // complete and the pass in progress is not clean.
    #[serde(default)]
    complete_through: u64,
    #[serde(default)]
    pass_top: u64,
    #[serde(default)]
    pass_clean: bool,
}

/// The backfill cursor's sort key: in the network history's partition,
/// never inside a Query's range of `{epoch:010}` keys (letters sort after
/// digits).
const CURSOR_SK: &str = "BACKFILL";

fn to_item<T: Serialize>(v: &T) -> TableResult<Item> {
    serde_dynamo::to_item(v).map_err(|e| TableError::Corrupt(format!("encoding history: {e}")))
}

fn from_item<T: for<'de> Deserialize<'de>>(item: Item) -> TableResult<T> {
    serde_dynamo::from_item(item).map_err(|e| TableError::Corrupt(format!("decoding history: {e}")))
}

fn stamp_of(item: &Item) -> Option<HistoryStamp> {
    Some(HistoryStamp {
        hash: num_attr(item, "hash")?,
        is_final: item
            .get("final")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
    })
}

/// `may_replace`, as a condition (as the participant items').
fn replace_rule(fetched_at_ms: i64) -> Condition<'static> {
    Condition::new("attribute_not_exists(pk) OR (#final = :false AND fetched_at < :f)")
        .value(":false", AttributeValue::Bool(false))
        .value(":f", n(fetched_at_ms))
        .name("#final", "final")
}

impl DynamoTable {
    async fn put_history_item(&self, item: Item, fetched_at_ms: i64) -> TableResult<PutOutcome> {
        Ok(self
            .put_conditional(item, replace_rule(fetched_at_ms))
            .await?
            .outcome())
    }
}

impl HistoryTable for DynamoTable {
    async fn history_stamps(
        &self,
        epoch: u64,
        participants: &[ParticipantId],
    ) -> TableResult<HashMap<ParticipantId, HistoryStamp>> {
        let by_pk: HashMap<String, &ParticipantId> = participants
            .iter()
            .map(|p| (Key::history(p, epoch).pk, p))
            .collect();
        let items = self
            .batch_get(
                participants.iter().map(|p| Key::history(p, epoch)),
                Some(STAMP),
            )
            .await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let key = Key::of(item)?;
                Some(((*by_pk.get(&key.pk)?).clone(), stamp_of(item)?))
            })
            .collect())
    }

    async fn store_history(&self, records: &[HistoryRecord]) -> TableResult<usize> {
        // Owned items: a closure over borrowed records makes the future non-Send.
        let items = records
            .iter()
            .map(|r| {
                let Key { pk, sk } = Key::history(&r.participant, r.entry.epoch_id);
                let item = to_item(&EntryRow {
                    pk,
                    sk,
                    fetched_at: r.fetched_at_ms,
                    is_final: r.is_final,
                    hash: r.hash(),
                    entry: r.entry.clone(),
                })?;
                Ok((item, r.fetched_at_ms))
            })
            .collect::<TableResult<Vec<(Item, i64)>>>()?;
        let puts = items
            .into_iter()
            .map(|(item, fetched_at_ms)| self.put_history_item(item, fetched_at_ms));
        let outcomes: Vec<PutOutcome> = futures::stream::iter(puts)
            .buffer_unordered(PUT_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(outcomes
            .iter()
            .filter(|o| **o == PutOutcome::Written)
            .count())
    }

    async fn load_history(
        &self,
        participant: &ParticipantId,
        range: EpochRange,
        limit: usize,
    ) -> TableResult<Vec<(HistoryEntry, bool)>> {
        let pk = Key::history(participant, range.to).pk;
        let items = self
            .query_range(&pk, &history_sk(range.from), &history_sk(range.to), limit)
            .await?;
        items
            .into_iter()
            .map(|i| from_item::<EntryRow>(i).map(|r| (r.entry, r.is_final)))
            .collect()
    }

    async fn network_history_stamp(&self, epoch: u64) -> TableResult<Option<HistoryStamp>> {
        Ok(self
            .get_item(&Key::network_history(epoch))
            .await?
            .as_ref()
            .and_then(stamp_of))
    }

    async fn store_network_history(&self, record: &NetworkRecord) -> TableResult<PutOutcome> {
        let Key { pk, sk } = Key::network_history(record.row.epoch_id);
        let item = to_item(&NetworkRow {
            pk,
            sk,
            fetched_at: record.fetched_at_ms,
            is_final: record.is_final,
            hash: record.hash(),
            row: Some(record.row.clone()),
            unavailable: None,
        })?;
        self.put_history_item(item, record.fetched_at_ms).await
    }

    async fn store_network_unavailable(
        &self,
        gap: &UnavailableEpoch,
        at_ms: i64,
    ) -> TableResult<PutOutcome> {
        let Key { pk, sk } = Key::network_history(gap.epoch_id);
        let item = to_item(&NetworkRow {
            pk,
            sk,
            fetched_at: at_ms,
            is_final: false,
            hash: 0,
            row: None,
            unavailable: Some(gap.clone()),
        })?;
        Ok(self
            .put_conditional(item, Condition::new("attribute_not_exists(pk)"))
            .await?
            .outcome())
    }

    async fn load_backfill_cursor(&self) -> TableResult<Option<BackfillCursor>> {
        let key = Key::network_history(0);
        let key = Key {
            sk: CURSOR_SK.into(),
            ..key
        };
        let Some(item) = self.get_item(&key).await? else {
            return Ok(None);
        };
        let row: CursorRow = from_item(item)?;
        Ok(Some(BackfillCursor {
            next_epoch: row.next_epoch,
            passes: row.passes,
            complete_through: row.complete_through,
            pass_top: row.pass_top,
            pass_clean: row.pass_clean,
        }))
    }

    async fn store_backfill_cursor(&self, cursor: BackfillCursor) -> TableResult<()> {
        let item = to_item(&CursorRow {
            pk: NETWORK_HISTORY_PK.into(),
            sk: CURSOR_SK.into(),
            next_epoch: cursor.next_epoch,
            passes: cursor.passes,
            complete_through: cursor.complete_through,
            pass_top: cursor.pass_top,
            pass_clean: cursor.pass_clean,
        })?;
        // A cursor never goes back a pass (a stale run's write loses).
        let condition = Condition::new("attribute_not_exists(pk) OR passes <= :p")
            .value(":p", n(cursor.passes));
        self.put_conditional(item, condition).await?;
        Ok(())
    }

    async fn load_network_history(
        &self,
        range: EpochRange,
        limit: usize,
    ) -> TableResult<Vec<NetworkHistoryRow>> {
        let (from, to) = (
            Key::network_history(range.from).sk,
            Key::network_history(range.to).sk,
        );
        let items = self
            .query_range(NETWORK_HISTORY_PK, &from, &to, limit)
            .await?;
        items
            .into_iter()
            .map(|i| {
                let r = from_item::<NetworkRow>(i)?;
                match (r.row, r.unavailable) {
                    (Some(row), _) => Ok(NetworkHistoryRow::Epoch(row)),
                    (None, Some(gap)) => Ok(NetworkHistoryRow::Unavailable(gap)),
                    (None, None) => Err(TableError::Corrupt(format!(
                        "network history {}: no row",
                        r.sk
                    ))),
                }
            })
            .collect()
    }
}
