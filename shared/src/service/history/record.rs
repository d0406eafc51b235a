//! Recording a finished epoch's history: one entry per participant of the
//! epoch (its row as `/v1/inference/epochs/{id}` serves it, its reward
//! summary, its jail status at the canonical height) and the network's
//! row. An entry is written only when it is new or says something else
//! (a stamp read first, so an unchanged one costs a read, not a write);
//! a settled one (reward claimed, jail read final) never changes again.

use serde::Serialize;

use crate::chain::Chain;
use crate::domain::history::{HistoryEntry, NetworkEpoch, RewardSummary};
use crate::ids::ParticipantId;
use crate::service::epochs::epoch_by_id;
use crate::service::{ApiError, Core};
use crate::table::history::history_needs_write;
use crate::table::{
    CacheTable, HistoryRecord, HistoryTable, ItemData, ItemKey, ItemKind, NetworkRecord,
    PutOutcome, StatusParts, StatusTable,
};
use crate::time::now_ms;

/// What one recording did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HistoryReport {
    pub epoch_id: u64,
    /// Participants of the epoch (entries recorded or already there).
    pub entries: usize,
    /// Entries written this time (new or changed).
    pub written: usize,
    /// Entries settled (never written again).
    pub settled: usize,
    pub network_written: bool,
}

/// Records `epoch`'s history (see the module). The epoch must be finished:
/// its stats are read (or built at the canonical height) as its route
/// does. Reward summaries and jail statuses are read from the table, so
/// this runs after the warm that stores them.
pub async fn record_epoch_history<C, T>(
    core: &Core<C, T>,
    epoch: u64,
) -> Result<HistoryReport, ApiError>
where
    C: Chain,
    T: CacheTable + StatusTable + HistoryTable,
{
    let view = epoch_by_id(core, epoch, None).await?;
    if view.is_current {
        return Err(ApiError::BadRequest(format!(
            "epoch {epoch} is not finished; its history is recorded when it is"
        )));
    }
    let snapshot = &view.snapshot;
    let height = snapshot.header.height;
    let rows: Vec<(ParticipantId, &crate::domain::ParticipantStats)> = snapshot
        .participants
        .iter()
        .filter_map(|r| ParticipantId::parse(&r.index).ok().map(|id| (id, r)))
        .collect();
    let ids: Vec<ParticipantId> = rows.iter().map(|(id, _)| id.clone()).collect();
    let reward_keys: Vec<ItemKey> = ids
        .iter()
        .map(|p| ItemKey::new(p.clone(), epoch, ItemKind::Reward))
        .collect();
    let jail_parts = StatusParts {
        jail: Some(epoch),
        health: false,
    };
    let (rewards, jail, jail_final, stamps) = futures::join!(
        core.table.load_items(&reward_keys),
        core.table.load_statuses(jail_parts),
        core.table.jail_is_final(epoch),
        core.table.history_stamps(epoch, &ids),
    );
    let (rewards, jail, stamps) = (rewards?, jail?, stamps?);
    let jail_final = jail_final?;
    let summary = |p: &ParticipantId| {
        let item = rewards.get(&ItemKey::new(p.clone(), epoch, ItemKind::Reward))?;
        match &item.data {
            ItemData::Reward(Some(r)) => Some(RewardSummary {
                rewarded_coins: &r.rewarded_coins,
                claimed: r.claimed,
            }),
            _ => None,
        }
    };
    let now = now_ms();
    let mut report = HistoryReport {
        epoch_id: epoch,
        entries: rows.len(),
        ..HistoryReport::default()
    };
    let mut changed = Vec::new();
    for (id, row) in &rows {
        let is_jailed = jail.jail.get(&row.index).map(|j| j.is_jailed);
        let entry = HistoryEntry::from_row(epoch, height, row, summary(id), is_jailed);
        let is_final = entry.is_settled(jail_final);
        report.settled += usize::from(is_final);
        let record = HistoryRecord {
            participant: id.clone(),
            entry,
            fetched_at_ms: now,
            is_final,
        };
        if history_needs_write(stamps.get(id).copied(), record.hash()) {
            changed.push(record);
        }
    }
    report.written = core.table.store_history(&changed).await?;
    drop(changed);

    let network = NetworkRecord {
        row: NetworkEpoch::from_rows(
            epoch,
            height,
            &snapshot.participants,
            view.total_assigned_rewards_gnk,
        ),
        fetched_at_ms: now,
        // The total is written once every summary exists, and never again.
        is_final: view.total_assigned_rewards_gnk.is_some(),
    };
    let stamp = core.table.network_history_stamp(epoch).await?;
    if history_needs_write(stamp, network.hash()) {
        report.network_written =
            core.table.store_network_history(&network).await? == PutOutcome::Written;
    }
    Ok(report)
}
