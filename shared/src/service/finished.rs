//! A finished epoch's bounds, shared by its stats and its models: its
//! participants and the canonical height it is read at (docs/contract.md 2.2).

use crate::chain::{Chain, ChainError, EpochRef};
use crate::domain::canonical_height;
use crate::domain::EpochRoster;

use super::ApiError;

/// A finished epoch's participants and its canonical height: 10 blocks
/// before the next epoch takes effect, else before the next PoC start.
/// `NotFound` when the chain has no such epoch.
pub async fn finished_epoch_range<C: Chain>(
    chain: &C,
    epoch: u64,
    context: &str,
) -> Result<(EpochRoster, u64), ApiError> {
    let context = || context.to_owned();
    let (this, next) = futures::join!(
        chain.epoch_participants(EpochRef::Number(epoch)),
        chain.epoch_participants(EpochRef::Number(epoch + 1))
    );
    let this = this
        .map_err(|e| ApiError::upstream(context(), e))?
        .ok_or_else(|| ApiError::NotFound(format!("Epoch {epoch} not found")))?;
    let next_effective = next.ok().flatten().map(|n| n.effective_block_height);
    let canonical = match canonical_height(next_effective, None) {
        Some(c) => c,
        None => {
            let latest = chain
                .latest_epoch()
                .await
                .map_err(|e| ApiError::upstream(context(), e))?;
            canonical_height(None, latest.epoch_stages.next_poc_start).ok_or_else(|| {
                ApiError::upstream(
                    context(),
                    ChainError::BadResponse("no next PoC start to derive the epoch's end".into()),
                )
            })?
        }
    };
    // A chain whose next epoch starts before this one's effective height
    // would make every height invalid; trust the canonical height then.
    let canonical = canonical.max(this.effective_block_height);
    Ok((this, canonical))
}
