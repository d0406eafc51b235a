//! The timeline and models bodies, field for field as the frontend reads
//! them (docs/contract-part2.md 1 and 2.2), plus the extra fields we add.

use serde::{Deserialize, Serialize};

use crate::chain::{BlockStamp, ModelStats};
use crate::domain::models::ModelInfo;
use crate::domain::timeline::TimelineEvent;

/// `GET /v1/timeline`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineResponse {
    pub current_block: BlockStamp,
    pub reference_block: BlockStamp,
    pub avg_block_time: f64,
    pub events: Vec<TimelineEvent>,
    pub current_epoch_start: u64,
    pub current_epoch_index: u64,
    pub epoch_length: u64,
    /// Passed through verbatim (their field names vary by node version).
    pub epoch_stages: Option<serde_json::Value>,
    pub next_epoch_stages: Option<serde_json::Value>,
    /// Extra: when this answer was read from the chain (RFC 3339, `Z`).
    pub cached_at: String,
}

/// Hours of the chain's inference and token counts (`models_stats_by_time`
/// asked without a window: the chain's last 24 h).
pub const STATS_WINDOW_HOURS: u32 = 24;

/// Extra: which window `stats` cover. Always the network's last 24 hours
/// before `end`, never an epoch's own counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsWindow {
    pub hours: u32,
    /// When the counts were read (RFC 3339, `Z`): the window's end.
    pub end: String,
    pub description: String,
}

impl StatsWindow {
    pub fn rolling_24h(end: String) -> Self {
        Self {
            hours: STATS_WINDOW_HOURS,
            end,
            description: "inferences and AI tokens of the whole network over the 24 hours \
                          before end, not per epoch"
                .into(),
        }
    }
}

/// `GET /v1/models/current` and `/v1/models/epochs/{epoch_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelsResponse {
    pub epoch_id: u64,
    pub height: u64,
    pub models: Vec<ModelInfo>,
    pub stats: Vec<ModelStats>,
    pub cached_at: String,
    pub is_current: bool,
    pub current_block_timestamp: Option<String>,
    pub avg_block_time: Option<f64>,
    /// Extra: the window `stats` cover; null when no stats could be read.
    pub stats_window: Option<StatsWindow>,
}
