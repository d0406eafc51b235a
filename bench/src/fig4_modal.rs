//! Figure 4: the participant modal, one request at a time (a user clicks
//! one row after another), on an epoch no other figure touches (its
//! rewards window shares no epoch with theirs).
//!
//! The epoch's stats are loaded first, as the dashboard does before a row
//! can be clicked. "Before" opens the modals of one random set of
//! participants with nothing of theirs cached (the participant function
//! reads through to the chain); then the warmer runs for a second, disjoint
//! set (the payload's explicit participant list: the same per-participant
//! work as a whole-epoch warm, without filling 10,000 participants to time
//! 200 modals), and "after" opens those with the chain's counter checked to
//! stay at zero.

use serde_json::json;
use shared::ParticipantId;

use crate::http::get_ok;
use crate::progress::progress;
use crate::sample::sample;
use crate::stack::{Stack, WarmReport};
use crate::stats::Summary;

#[derive(Debug, Clone)]
pub struct ModalRow {
    pub n: usize,
    pub epoch: u64,
    pub before: Summary,
    pub before_chain_calls: u64,
    pub warm: WarmReport,
    pub after: Summary,
    /// Chain requests during the "after" pass (the target needs 0).
    pub after_chain_calls: u64,
    /// The warmed participants (the table-read floor reuses them).
    pub warmed: Vec<ParticipantId>,
}

pub async fn run(
    stack: &Stack,
    epoch: u64,
    per_pass: usize,
    warmups: usize,
) -> Result<ModalRow, String> {
    let n = stack.participants;
    let ids = stack.epoch_participant_ids(epoch).await?;
    let picked = sample(&ids, 2 * per_pass, 0x0da1);
    let (set_a, set_b) = picked.split_at(picked.len() / 2);
    let modal = |id: &str| stack.url(&format!("/v1/participants/{id}?epoch_id={epoch}"));

    // Before: read-through.
    stack.reset_chain_stats().await?;
    let mut times = Vec::with_capacity(set_a.len());
    for (i, id) in set_a.iter().enumerate() {
        let f = get_ok(&stack.http, &modal(id)).await?;
        if i == 0 && f.json()?["participant"]["index"] != id.as_str() {
            return Err(format!("the modal of {id} is not about {id}"));
        }
        times.push(f.elapsed);
    }
    let before = Summary::of(&times).ok_or("no participants to open")?;
    let before_chain_calls = stack.chain_stats().await?.total;
    progress(&format!(
        "N={n}: modal before the warm x{}: p50 {:.1} ms, p99 {:.1} ms, {before_chain_calls} chain requests",
        before.count,
        before.p50.as_secs_f64() * 1e3,
        before.p99.as_secs_f64() * 1e3
    ));

    // The warm, of the other set.
    let (warm, _) = stack
        .invoke_warmer(&json!({ "epoch_id": epoch, "finished": true, "participants": set_b }))
        .await?;
    if let Some(p) = warm.problems() {
        return Err(format!("the modal figure's warm was incomplete: {p}"));
    }

    // After: from the table only.
    for id in set_a.iter().take(warmups) {
        get_ok(&stack.http, &modal(id)).await?;
    }
    stack.reset_chain_stats().await?;
    let mut times = Vec::with_capacity(set_b.len());
    for id in set_b {
        times.push(get_ok(&stack.http, &modal(id)).await?.elapsed);
    }
    let after = Summary::of(&times).ok_or("no participants to open")?;
    let after_chain_calls = stack.chain_stats().await?.total;
    progress(&format!(
        "N={n}: modal after the warm x{}: p50 {:.1} ms, p99 {:.1} ms, {after_chain_calls} chain requests",
        after.count,
        after.p50.as_secs_f64() * 1e3,
        after.p99.as_secs_f64() * 1e3
    ));
    let warmed = set_b
        .iter()
        .map(|id| ParticipantId::parse(id).map_err(|e| format!("{id}: {e}")))
        .collect::<Result<_, _>>()?;
    Ok(ModalRow {
        n,
        epoch,
        before,
        before_chain_calls,
        warm,
        after,
        after_chain_calls,
        warmed,
    })
}
