//! The port for the network-wide views (timeline, models) and its HTTP
//! adapter: a narrow trait beside [`super::Chain`], which keeps what both
//! read (the latest epoch, a block's time, the epoch participant list the
//! models aggregation also reads): one method per endpoint.

use std::future::Future;

use super::http::HttpChain;
use super::network_types::*;
use super::port::{ChainError, ChainResult};
use crate::domain::ModelSpec;

/// Restrictions params: the money-transfer restriction's end block.
const RESTRICTIONS_PARAMS: &str = "/chain-api/productscience/inference/restrictions/params";
const MODELS_ALL: &str = "/chain-api/productscience/inference/inference/models_all";
/// Sent without `time_from`/`time_to`: the chain answers for the last 24 h
/// by its own clock (`query_developer_stats_aggregation.go`).
const MODELS_STATS: &str = "/chain-api/productscience/inference/inference/models_stats_by_time";

/// The reads the timeline and models views need.
pub trait NetworkChain: Send + Sync {
    /// The node's newest block: its height and header time from one answer
    /// (so from one node, whichever answers).
    fn latest_block(&self) -> impl Future<Output = ChainResult<BlockStamp>> + Send;
    fn restriction_end_block(&self) -> impl Future<Output = ChainResult<u64>> + Send;
    /// `models_all`, at `height` (`X-Cosmos-Block-Height`) or the latest.
    fn models_all(
        &self,
        height: Option<u64>,
    ) -> impl Future<Output = ChainResult<Vec<ModelSpec>>> + Send;
    /// The chain's rolling 24 h inference and token counts per model.
    fn models_stats_24h(&self) -> impl Future<Output = ChainResult<Vec<ModelStats>>> + Send;
}

fn required<T>(path: &str, v: Option<T>) -> ChainResult<T> {
    v.ok_or_else(|| ChainError::BadResponse(format!("{path}: not found")))
}

impl NetworkChain for HttpChain {
    async fn latest_block(&self) -> ChainResult<BlockStamp> {
        let path = "/chain-rpc/block";
        let b = required(path, self.get::<RpcBlockStamp>(path, None).await?)?;
        Ok(stamp(b))
    }

    async fn restriction_end_block(&self) -> ChainResult<u64> {
        let r = self.get::<RestrictionsParamsResponse>(RESTRICTIONS_PARAMS, None);
        Ok(required(RESTRICTIONS_PARAMS, r.await?)?
            .params
            .restriction_end_block)
    }

    async fn models_all(&self, height: Option<u64>) -> ChainResult<Vec<ModelSpec>> {
        let r = self.get::<ModelsAllResponse>(MODELS_ALL, height).await?;
        Ok(required(MODELS_ALL, r)?
            .model
            .into_iter()
            .map(ChainModel::into_domain)
            .collect())
    }

    async fn models_stats_24h(&self) -> ChainResult<Vec<ModelStats>> {
        let r = self.get::<ModelsStatsResponse>(MODELS_STATS, None).await?;
        Ok(required(MODELS_STATS, r)?.stats_models)
    }
}

pub(super) fn stamp(b: RpcBlockStamp) -> BlockStamp {
    let h = b.result.block.header;
    BlockStamp {
        height: h.height,
        timestamp: h.time,
    }
}
