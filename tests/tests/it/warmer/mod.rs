//! The warmer against DynamoDB Local and the simulated chain, counting
//! every upstream request per (kind, participant, epoch), one module per
//! concern: runs and their items ([`runs`]), the epoch total ([`totals`]),
//! the warm lease ([`leases`]). This file holds the checks they share.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use shared::epoch_stats::handle_epoch_stats;
use shared::ids::ParticipantId;
use shared::service::epochs::{current_epoch, epoch_by_id};
use shared::service::items::modal_item_keys;
use shared::table::ports::*;
use shared::table::{ItemData, ItemKey, ItemKind};
use shared::warm::{
    handle_warm_event, warm_epoch, WarmOutcome, WarmReport, WarmRequest, WarmTrigger,
};
use sim_chain::{EndpointKind, Fault, FaultMode, Model};

use crate::dynamo_local::TestTable;
use crate::support::{
    ctx, get, participant_items_fingerprint, start_sim, stats_of, warm_job, with_lease,
    InvokeRecorder, LiveCore,
};

mod leases;
mod runs;
mod totals;

const CURRENT: u64 = 30;

fn members(model: &Model, epoch: u64) -> Vec<ParticipantId> {
    model
        .participants_in_epoch(epoch)
        .iter()
        .map(|a| ParticipantId::parse(a).unwrap())
        .collect()
}

fn all_keys(model: &Model, epoch: u64, finished: bool) -> Vec<ItemKey> {
    members(model, epoch)
        .iter()
        .flat_map(|p| modal_item_keys(p, epoch, !finished))
        .collect()
}

/// Upstream requests the items of `keys` take: one per reward and hardware
/// item, one per authz page.
fn expected_requests(model: &Model, keys: &[ItemKey]) -> BTreeMap<String, u64> {
    keys.iter()
        .map(|k| {
            let addr = k.participant.as_str();
            match k.kind {
                shared::table::ItemKind::Reward => (format!("summary:{}:{addr}", k.epoch), 1),
                shared::table::ItemKind::Hardware => (format!("hardware:{addr}"), 1),
                shared::table::ItemKind::WarmKeys => (
                    format!("authz:{addr}"),
                    (model.grants(addr).len() as u64).div_ceil(100).max(1),
                ),
            }
        })
        .collect()
}

/// Every stored item equals what the chain's model says: no partial item.
async fn assert_items_match_model(ctx: &LiveCore, model: &Model, keys: &[ItemKey]) -> usize {
    let items = ctx.table.load_items(keys).await.unwrap();
    for (key, item) in &items {
        let addr = key.participant.as_str();
        match &item.data {
            ItemData::Reward(r) => {
                let want = model.performance_summary(key.epoch, addr);
                assert_eq!(
                    r.as_ref().map(|r| (r.rewarded_coins.clone(), r.claimed)),
                    want.map(|s| (s.stats.rewarded_coins.to_string(), s.claimed)),
                    "{key:?}"
                );
                assert_eq!(
                    item.meta.is_final,
                    r.as_ref().is_some_and(|r| r.claimed),
                    "a claimed reward is final"
                );
            }
            ItemData::WarmKeys(k) => {
                let got: Vec<(String, String)> = k
                    .iter()
                    .map(|k| (k.grantee_address.clone(), k.granted_at.clone()))
                    .collect();
                let want: Vec<(String, String)> = model
                    .warm_keys(addr)
                    .into_iter()
                    .map(|k| (k.grantee_address, k.granted_at))
                    .collect();
                assert_eq!(got, want, "{key:?}");
            }
            ItemData::Hardware(h) => {
                let want = model.hardware_nodes(addr).unwrap_or_default();
                assert_eq!(
                    h.iter().map(|n| n.local_id.clone()).collect::<Vec<_>>(),
                    want.iter().map(|n| n.local_id.clone()).collect::<Vec<_>>(),
                    "{key:?}"
                );
            }
        }
    }
    items.len()
}
