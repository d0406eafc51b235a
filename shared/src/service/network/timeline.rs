//! `GET /v1/timeline` and the scheduled refresh that keeps it stored.

use std::time::Duration;

use crate::chain::{Chain, ChainError, NetworkChain};
use crate::domain::timeline::{reference_height, timeline_avg_block_time, timeline_events};
use crate::service::{ApiError, Core};
use crate::table::{NetworkItem, NetworkTable, PutOutcome, TableError};
use crate::time::{now_ms, rfc3339_ms};

use super::responses::TimelineResponse;
use super::stored::{load_doc, store_doc, stored_or_refreshed, RefreshError, Served};

/// A stored timeline older than this is refreshed by the request itself
/// (the scheduled refresh has evidently stopped), or served while the
/// chain fails.
pub const TIMELINE_MAX_AGE: Duration = Duration::from_secs(300);
/// The restrictions' end block changes only by governance: read it from
/// the chain at most this often.
pub const RESTRICTIONS_MAX_AGE: Duration = Duration::from_secs(6 * 3600);

/// What a timeline refresh did.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRefresh {
    pub timeline: TimelineResponse,
    pub fetched_at_ms: i64,
    /// `LostRace`: a newer timeline was already stored.
    pub outcome: PutOutcome,
    /// Whether the restrictions' end block was read from the chain (else
    /// from the table).
    pub restrictions_from_chain: bool,
}

/// The scheduled job: reads the timeline from the chain (5 requests, 4 of
/// them concurrent; 4 while the stored restrictions end block is younger
/// than [`RESTRICTIONS_MAX_AGE`]) and replaces the stored one.
pub async fn refresh_timeline<C: Chain + NetworkChain, T: NetworkTable>(
    core: &Core<C, T>,
) -> Result<TimelineRefresh, RefreshError> {
    let (refresh, stored) = build_and_store(core).await?;
    Ok(TimelineRefresh {
        outcome: stored?,
        ..refresh
    })
}

/// `GET /v1/timeline`: the stored timeline; the chain only when nothing
/// (young enough) is stored.
pub async fn timeline<C: Chain + NetworkChain, T: NetworkTable>(
    core: &Core<C, T>,
) -> Result<Served<TimelineResponse>, ApiError> {
    let stored = load_doc(&core.table, NetworkItem::Timeline).await;
    stored_or_refreshed(stored, TIMELINE_MAX_AGE, || async {
        let (refresh, stored) = build_and_store(core).await?;
        if let Err(e) = stored {
            // Built, not stored: still the right answer.
            tracing::error!(error = %e, "could not store the timeline");
        }
        Ok((refresh.timeline, refresh.fetched_at_ms))
    })
    .await
    .map_err(|e| ApiError::upstream("Failed to fetch timeline", e))
}

/// Reads the timeline from the chain and stores it; the store's outcome
/// apart, so an answer built is not lost to a table failure.
async fn build_and_store<C: Chain + NetworkChain, T: NetworkTable>(
    core: &Core<C, T>,
) -> Result<(TimelineRefresh, Result<PutOutcome, TableError>), ChainError> {
    let fetched_at_ms = now_ms();
    let (timeline, restrictions_from_chain) = build_timeline(core, fetched_at_ms).await?;
    let stored = store_doc(&core.table, NetworkItem::Timeline, &timeline, fetched_at_ms).await;
    Ok((
        TimelineRefresh {
            timeline,
            fetched_at_ms,
            outcome: PutOutcome::Written,
            restrictions_from_chain,
        },
        stored,
    ))
}

async fn build_timeline<C: Chain + NetworkChain, T: NetworkTable>(
    core: &Core<C, T>,
    fetched_at_ms: i64,
) -> Result<(TimelineResponse, bool), ChainError> {
    let chain = &core.chain;
    let (current, latest, restriction) = futures::join!(
        chain.latest_block(),
        chain.latest_epoch(),
        restriction_end_block(core)
    );
    let (current, latest, (end_block, from_chain)) = (current?, latest?, restriction?);
    let reference = chain
        .block_stamp(reference_height(current.height))
        .await?
        .ok_or_else(|| ChainError::BadResponse("the reference block is missing".into()))?;
    let avg_block_time = timeline_avg_block_time(
        (current.height, &current.timestamp),
        (reference.height, &reference.timestamp),
    )
    .ok_or_else(|| ChainError::BadResponse("unreadable block times".into()))?;
    let missing = |what: &str| ChainError::BadResponse(format!("/v1/epochs/latest: no {what}"));
    let timeline = TimelineResponse {
        events: timeline_events(current.height, end_block),
        current_epoch_start: latest
            .latest_epoch
            .poc_start_block_height
            .ok_or_else(|| missing("poc_start_block_height"))?,
        current_epoch_index: latest.latest_epoch.index,
        epoch_length: latest
            .epoch_params
            .epoch_length
            .ok_or_else(|| missing("epoch_length"))?,
        epoch_stages: latest.epoch_stages_raw,
        next_epoch_stages: latest.next_epoch_stages_raw,
        current_block: current,
        reference_block: reference,
        avg_block_time,
        cached_at: rfc3339_ms(fetched_at_ms),
    };
    Ok((timeline, from_chain))
}

/// The restrictions' end block: the stored one while young, else the
/// chain's (stored for next time), else the stored one however old.
async fn restriction_end_block<C: Chain + NetworkChain, T: NetworkTable>(
    core: &Core<C, T>,
) -> Result<(u64, bool), ChainError> {
    let stored: Option<(u64, i64)> = load_doc(&core.table, NetworkItem::RestrictionEndBlock).await;
    if let Some((block, at)) = stored {
        if now_ms() - at < RESTRICTIONS_MAX_AGE.as_millis() as i64 {
            return Ok((block, false));
        }
    }
    match core.chain.restriction_end_block().await {
        Ok(block) => {
            let stored = store_doc(
                &core.table,
                NetworkItem::RestrictionEndBlock,
                &block,
                now_ms(),
            )
            .await;
            if let Err(e) = stored {
                tracing::warn!(error = %e, "could not store the restrictions end block");
            }
            Ok((block, true))
        }
        Err(e) => match stored {
            Some((block, _)) => Ok((block, false)),
            None => Err(e),
        },
    }
}
