//! `GET /v1/models/current`, `GET /v1/models/epochs/{epoch_id}[?height=H]`
//! and the scheduled refresh of the current epoch's models.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::chain::{Chain, ChainError, EpochRef, NetworkChain};
use crate::domain::models::{aggregate_model_weights, model_infos};
use crate::domain::{resolve_past_height, HeightError};
use crate::service::finished::finished_epoch_range;
use crate::service::height_budget::take_height_build;
use crate::service::{ApiError, Core};
use crate::table::{Budget, NetworkItem, NetworkTable, PutOutcome, TableError};
use crate::time::{now_ms, rfc3339_ms};

use super::responses::{ModelsResponse, StatsWindow, TimelineResponse};
use super::stored::{load_doc, store_doc, stored_or_refreshed, RefreshError, Served};
use crate::service::epochs::Source;

/// A stored current-models item older than this is refreshed by the
/// request itself (the scheduled refresh, every 5 minutes, has evidently
/// stopped), or served while the chain fails.
pub const MODELS_MAX_AGE: Duration = Duration::from_secs(900);

/// A models item: the answer plus what the height rules need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredModels {
    pub response: ModelsResponse,
    /// The epoch's first block: a requested height below it is refused.
    pub effective_block_height: u64,
    /// A finished epoch's canonical height (`None` for the current one).
    pub canonical_height: Option<u64>,
}

/// What a refresh of the current epoch's models did.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelsRefresh {
    pub models: StoredModels,
    pub fetched_at_ms: i64,
    /// `LostRace`: a newer item was already stored.
    pub outcome: PutOutcome,
}

/// The scheduled job: reads the current epoch's participants, `models_all`,
/// the 24 h stats and the newest block (4 concurrent requests), and
/// replaces the stored item.
pub async fn refresh_models_current<C: Chain + NetworkChain, T: NetworkTable>(
    core: &Core<C, T>,
) -> Result<ModelsRefresh, RefreshError> {
    let (refresh, stored) = build_and_store_current(core).await?;
    Ok(ModelsRefresh {
        outcome: stored?,
        ..refresh
    })
}

async fn build_and_store_current<C: Chain + NetworkChain, T: NetworkTable>(
    core: &Core<C, T>,
) -> Result<(ModelsRefresh, Result<PutOutcome, TableError>), ChainError> {
    let chain = &core.chain;
    let (active, models, stats, block, timeline) = futures::join!(
        chain.epoch_participants(EpochRef::Current),
        chain.models_all(None),
        chain.models_stats_24h(),
        chain.latest_block(),
        load_doc::<TimelineResponse, _>(&core.table, NetworkItem::Timeline)
    );
    let active =
        active?.ok_or_else(|| ChainError::BadResponse("the chain has no current epoch".into()))?;
    let (models, stats, block) = (models?, stats?, block?);
    let fetched_at_ms = now_ms();
    let cached_at = rfc3339_ms(fetched_at_ms);
    let weights = aggregate_model_weights(&active.participants);
    let stored = StoredModels {
        response: ModelsResponse {
            // The epoch of the participants the weights come from.
            epoch_id: active.epoch_group_id,
            height: block.height,
            models: model_infos(&models, &weights),
            stats,
            stats_window: Some(StatsWindow::rolling_24h(cached_at.clone())),
            cached_at,
            is_current: true,
            current_block_timestamp: Some(block.timestamp),
            avg_block_time: timeline.map(|(t, _)| t.avg_block_time),
        },
        effective_block_height: active.effective_block_height,
        canonical_height: None,
    };
    let outcome = store_doc(
        &core.table,
        NetworkItem::ModelsCurrent,
        &stored,
        fetched_at_ms,
    )
    .await;
    Ok((
        ModelsRefresh {
            models: stored,
            fetched_at_ms,
            outcome: PutOutcome::Written,
        },
        outcome,
    ))
}

/// `GET /v1/models/current`: the stored item; the chain only when nothing
/// (young enough) is stored.
pub async fn models_current<C: Chain + NetworkChain, T: NetworkTable>(
    core: &Core<C, T>,
) -> Result<Served<StoredModels>, ApiError> {
    let stored = load_doc(&core.table, NetworkItem::ModelsCurrent).await;
    current_from(core, stored).await
}

async fn current_from<C: Chain + NetworkChain, T: NetworkTable>(
    core: &Core<C, T>,
    stored: Option<(StoredModels, i64)>,
) -> Result<Served<StoredModels>, ApiError> {
    stored_or_refreshed(stored, MODELS_MAX_AGE, || async {
        let (refresh, stored) = build_and_store_current(core).await?;
        if let Err(e) = stored {
            tracing::error!(error = %e, "could not store the current models");
        }
        Ok((refresh.models, refresh.fetched_at_ms))
    })
    .await
    .map_err(|e| ApiError::upstream("Failed to fetch current models", e))
}

/// `GET /v1/models/epochs/{epoch}[?height=H]`: the current epoch answers
/// like `/current`; a finished one is read at its canonical height (or the
/// requested lower one) once and stored for good, with today's 24 h stats
/// (labelled as such) beside it; a future one is 404.
pub async fn models_for_epoch<C: Chain + NetworkChain, T: NetworkTable>(
    core: &Core<C, T>,
    epoch: u64,
    height: Option<u64>,
) -> Result<Served<StoredModels>, ApiError> {
    let mut current = models_current(core).await?;
    let mut current_id = current.value.response.epoch_id;
    if epoch > current_id {
        // The stored current epoch may be behind the chain's.
        let latest = core.chain.latest_epoch().await.map_err(|e| {
            ApiError::upstream(format!("Failed to fetch models for epoch {epoch}"), e)
        })?;
        if epoch > latest.latest_epoch.index {
            return Err(ApiError::NotFound(format!(
                "Epoch {epoch} not found (the current epoch is {})",
                latest.latest_epoch.index
            )));
        }
        current = current_from(core, None).await?;
        current_id = current.value.response.epoch_id;
        if epoch > current_id {
            return Err(ApiError::upstream(
                format!("Failed to fetch models for epoch {epoch}"),
                ChainError::BadResponse("the chain's epochs disagree".into()),
            ));
        }
    }
    if epoch == current_id {
        let effective = current.value.effective_block_height;
        if let Some(h) = height.filter(|h| *h < effective) {
            return Err(HeightError::BeforeEpochStart {
                height: h,
                epoch,
                effective,
            }
            .into());
        }
        return Ok(current);
    }
    let mut finished = finished_models(core, epoch, height).await?;
    // The stats are the network's last 24 h, whichever epoch is shown.
    finished.value.response.stats = current.value.response.stats;
    finished.value.response.stats_window = current.value.response.stats_window;
    Ok(finished)
}

/// A finished epoch's models: stored ones when they answer the height,
/// else read from the chain and stored once.
async fn finished_models<C: Chain + NetworkChain, T: NetworkTable>(
    core: &Core<C, T>,
    epoch: u64,
    height: Option<u64>,
) -> Result<Served<StoredModels>, ApiError> {
    let served = |(value, fetched_at_ms): (StoredModels, i64)| Served {
        value,
        fetched_at_ms,
        source: Source::Table,
    };
    let fin: Option<(StoredModels, i64)> =
        load_doc(&core.table, NetworkItem::ModelsFinal(epoch)).await;
    if let Some((doc, at)) = fin {
        let canonical = doc.canonical_height.unwrap_or(doc.response.height);
        let target = resolve_past_height(height, epoch, doc.effective_block_height, canonical)?;
        if target == canonical {
            return Ok(served((doc, at)));
        }
        if let Some(at_height) =
            load_doc(&core.table, NetworkItem::ModelsAtHeight(epoch, target)).await
        {
            return Ok(served(at_height));
        }
    }
    if height.is_some() {
        take_height_build(
            &core.table,
            &core.config,
            Budget::ModelsHeightBuilds(epoch),
            now_ms(),
        )
        .await?;
    }
    let context = || format!("Failed to fetch models for epoch {epoch}");
    let (this, canonical) = finished_epoch_range(&core.chain, epoch, &context()).await?;
    let target = resolve_past_height(height, epoch, this.effective_block_height, canonical)?;
    let models = core
        .chain
        .models_all(Some(target))
        .await
        .map_err(|e| ApiError::upstream(context(), e))?;
    let fetched_at_ms = now_ms();
    let weights = aggregate_model_weights(&this.participants);
    let doc = StoredModels {
        response: ModelsResponse {
            epoch_id: epoch,
            height: target,
            models: model_infos(&models, &weights),
            stats: Vec::new(),
            cached_at: rfc3339_ms(fetched_at_ms),
            is_current: false,
            current_block_timestamp: None,
            avg_block_time: None,
            stats_window: None,
        },
        effective_block_height: this.effective_block_height,
        canonical_height: Some(canonical),
    };
    let item = if target == canonical {
        NetworkItem::ModelsFinal(epoch)
    } else {
        NetworkItem::ModelsAtHeight(epoch, target)
    };
    if let Err(e) = store_doc(&core.table, item, &doc, fetched_at_ms).await {
        tracing::error!(error = %e, epoch, "could not store a finished epoch's models");
    }
    Ok(Served {
        value: doc,
        fetched_at_ms,
        source: Source::Chain,
    })
}
