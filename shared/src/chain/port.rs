//! The port: every upstream read the functions need, and why one fails.

use std::future::Future;

use super::network_types::BlockStamp;
use super::types::{LatestEpoch, PerformanceSummary};
use crate::domain::{EpochRoster, Grant, HardwareNode, ListedMember};
use crate::ids::ParticipantId;

/// Why an upstream call produced no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// Every URL refused, failed or answered 5xx, after the retry rounds.
    #[error("chain unavailable: {0}")]
    Unavailable(String),
    /// Every attempt ran past the per-request timeout.
    #[error("chain timed out: {0}")]
    Timeout(String),
    /// A 2xx answer that is not the expected JSON (truncated, wrong shape).
    #[error("chain answered with an unreadable body: {0}")]
    BadResponse(String),
    /// Every node answered that the state at the requested height is gone
    /// (pruned): only an archive node could answer.
    #[error("chain state at height {height} is pruned on every node: {detail}")]
    HeightPruned { height: u64, detail: String },
    /// A 4xx other than 404: our request was refused; retrying will not help.
    #[error("chain rejected the request with HTTP {status}: {path}")]
    Rejected { status: u16, path: String },
}

impl ChainError {
    pub fn is_timeout(&self) -> bool {
        matches!(self, ChainError::Timeout(_))
    }

    pub fn is_height_pruned(&self) -> bool {
        matches!(self, ChainError::HeightPruned { .. })
    }
}

pub type ChainResult<T> = Result<T, ChainError>;

/// Which epoch's participant set to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochRef {
    Current,
    Number(u64),
}

/// Every upstream read the functions need. `Ok(None)` means the chain
/// answered "not found" (HTTP 404), which is an answer, not a failure.
pub trait Chain: Send + Sync {
    /// Upstream HTTP requests made so far (for logs and benchmarks).
    fn upstream_calls(&self) -> u64 {
        0
    }
    fn latest_epoch(&self) -> impl Future<Output = ChainResult<LatestEpoch>> + Send;
    fn epoch_participants(
        &self,
        epoch: EpochRef,
    ) -> impl Future<Output = ChainResult<Option<EpochRoster>>> + Send;
    /// The ids of the epoch's participants only (the warmer needs no more).
    fn epoch_member_ids(
        &self,
        epoch: EpochRef,
    ) -> impl Future<Output = ChainResult<Option<Vec<String>>>> + Send;
    fn latest_height(&self) -> impl Future<Output = ChainResult<u64>> + Send;
    /// Block `height`'s height and header time (RFC 3339, verbatim); `None`
    /// if the chain has no such block.
    fn block_stamp(
        &self,
        height: u64,
    ) -> impl Future<Output = ChainResult<Option<BlockStamp>>> + Send;
    /// The participant list as of `height` (`X-Cosmos-Block-Height`).
    fn participant_list(
        &self,
        height: u64,
    ) -> impl Future<Output = ChainResult<Vec<ListedMember>>> + Send;
    fn performance_summary(
        &self,
        epoch: u64,
        participant: &ParticipantId,
    ) -> impl Future<Output = ChainResult<Option<PerformanceSummary>>> + Send;
    /// All grants given by `granter`, every page; a failed page fails the call.
    fn authz_grants(
        &self,
        granter: &ParticipantId,
    ) -> impl Future<Output = ChainResult<Vec<Grant>>> + Send;
    /// The participant's hardware nodes; a 404 reads as "none".
    fn hardware_nodes(
        &self,
        participant: &ParticipantId,
    ) -> impl Future<Output = ChainResult<Vec<HardwareNode>>> + Send;
}
