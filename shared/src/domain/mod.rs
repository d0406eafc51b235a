//! Pure domain rules (no I/O), each with table-driven tests.

pub mod hardware;
pub mod heights;
pub mod history;
pub mod inferences;
pub mod jail;
pub mod links;
pub mod models;
pub mod rates;
pub mod rewards;
pub mod sources;
pub mod stats;
pub mod timeline;
pub mod validator_keys;
pub mod warm_keys;

pub use hardware::{merge_poc_weights, ml_nodes_map, MlNodeView};
pub use heights::{avg_block_time, canonical_height, resolve_past_height, HeightError};
pub use jail::{JailStatus, NodeHealth, RowStatus, ValidatorInfo};
pub use rates::{invalidation_rate, missed_rate, round_ties_even};
pub use rewards::{
    assigned_reward_gnk, gnk_from_coins, rewards_window, sum_rewarded_coins,
    total_assigned_rewards_gnk, RewardView,
};
pub use sources::{
    DeviceCount, EpochMember, EpochRoster, Grant, HardwareNode, ListedInference, ListedMember,
    MlNodeWeight, ModelSpec, Tallies, Threshold,
};
pub use stats::{join_epoch_stats, ParticipantStats};
pub use warm_keys::{warm_keys, WarmKey, REQUIRED_MSG_TYPES};
