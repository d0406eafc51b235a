//! An in-process chain for unit tests: [`FakeChain`] answers the
//! [`Chain`], [`NetworkChain`] and [`InferenceChain`] ports from what a
//! test put in it, counts
//! every call, and answers anything it was not given as a node that is
//! down would (`Unavailable`), so a test that reaches the chain by mistake
//! fails loudly instead of hanging on a socket.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::inferences::{CurrentEpochMembers, InferenceChain, InferencePage};
use super::network::NetworkChain;
use super::network_types::{BlockStamp, ModelStats};
use super::port::{Chain, ChainError, ChainResult, EpochRef};
use super::types::{LatestEpoch, PerformanceSummary};
use crate::domain::{EpochRoster, Grant, HardwareNode, ListedMember, ModelSpec};
use crate::ids::ParticipantId;

/// What the fake chain answers; `None` (or a missing key) is "down".
#[derive(Debug, Clone, Default)]
pub struct FakeAnswers {
    pub latest_epoch: Option<LatestEpoch>,
    pub latest_height: Option<u64>,
    pub latest_block: Option<BlockStamp>,
    /// By epoch number (a number not here: no such epoch); `current`
    /// names the current one.
    pub epochs: Option<HashMap<u64, EpochRoster>>,
    pub current: Option<u64>,
    /// The participant list, at any height.
    pub participant_list: Option<Vec<ListedMember>>,
    /// Blocks the chain has (a height not here: the chain has no such block).
    pub blocks: Option<HashMap<u64, BlockStamp>>,
    /// Per participant; a participant not here has none (404).
    pub summaries: Option<HashMap<(u64, String), PerformanceSummary>>,
    pub grants: Option<HashMap<String, Vec<Grant>>>,
    pub hardware: Option<HashMap<String, Vec<HardwareNode>>>,
    pub restriction_end_block: Option<u64>,
    pub models: Option<Vec<ModelSpec>>,
    pub models_stats: Option<Vec<ModelStats>>,
    /// The inference list's pages by the key they start at (`None`: the
    /// first), at any height; a key not here: the node fails the page.
    pub inference_pages: Option<HashMap<Option<String>, InferencePage>>,
    pub current_members: Option<CurrentEpochMembers>,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct FakeChain {
    answers: Mutex<FakeAnswers>,
    calls: AtomicU64,
}

fn down(what: &str) -> ChainError {
    ChainError::Unavailable(format!("fake chain: no answer for {what}"))
}

impl FakeChain {
    /// A chain that answers nothing (every call `Unavailable`).
    pub fn offline() -> Self {
        Self::default()
    }

    pub fn with(answers: FakeAnswers) -> Self {
        Self {
            answers: Mutex::new(answers),
            calls: AtomicU64::new(0),
        }
    }

    /// Changes what the chain answers from now on.
    pub fn set(&self, change: impl FnOnce(&mut FakeAnswers)) {
        change(&mut self.answers.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// One call: counted, then answered from the current answers.
    fn answer<T>(&self, read: impl FnOnce(&FakeAnswers) -> ChainResult<T>) -> ChainResult<T> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        read(&self.answers.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Chain for FakeChain {
    fn upstream_calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    async fn latest_epoch(&self) -> ChainResult<LatestEpoch> {
        self.answer(|a| a.latest_epoch.clone().ok_or_else(|| down("latest epoch")))
    }

    async fn epoch_participants(&self, epoch: EpochRef) -> ChainResult<Option<EpochRoster>> {
        self.answer(|a| {
            let epochs = a
                .epochs
                .as_ref()
                .ok_or_else(|| down("epoch participants"))?;
            let number = match epoch {
                EpochRef::Number(n) => Some(n),
                EpochRef::Current => a.current,
            };
            Ok(number.and_then(|n| epochs.get(&n).cloned()))
        })
    }

    async fn epoch_member_ids(&self, epoch: EpochRef) -> ChainResult<Option<Vec<String>>> {
        Ok(self
            .epoch_participants(epoch)
            .await?
            .map(|r| r.participants.into_iter().map(|p| p.index).collect()))
    }

    async fn latest_height(&self) -> ChainResult<u64> {
        self.answer(|a| a.latest_height.ok_or_else(|| down("latest height")))
    }

    async fn block_stamp(&self, height: u64) -> ChainResult<Option<BlockStamp>> {
        self.answer(|a| {
            let blocks = a.blocks.as_ref().ok_or_else(|| down("blocks"))?;
            Ok(blocks.get(&height).cloned())
        })
    }

    async fn participant_list(&self, _height: u64) -> ChainResult<Vec<ListedMember>> {
        self.answer(|a| {
            a.participant_list
                .clone()
                .ok_or_else(|| down("participant list"))
        })
    }

    async fn performance_summary(
        &self,
        epoch: u64,
        participant: &ParticipantId,
    ) -> ChainResult<Option<PerformanceSummary>> {
        self.answer(|a| {
            let all = a.summaries.as_ref().ok_or_else(|| down("summaries"))?;
            Ok(all.get(&(epoch, participant.to_string())).cloned())
        })
    }

    async fn authz_grants(&self, granter: &ParticipantId) -> ChainResult<Vec<Grant>> {
        self.answer(|a| {
            let all = a.grants.as_ref().ok_or_else(|| down("grants"))?;
            Ok(all.get(&granter.to_string()).cloned().unwrap_or_default())
        })
    }

    async fn hardware_nodes(&self, participant: &ParticipantId) -> ChainResult<Vec<HardwareNode>> {
        self.answer(|a| {
            let all = a.hardware.as_ref().ok_or_else(|| down("hardware"))?;
            Ok(all
                .get(&participant.to_string())
                .cloned()
                .unwrap_or_default())
        })
    }
}

impl NetworkChain for FakeChain {
    async fn latest_block(&self) -> ChainResult<BlockStamp> {
        self.answer(|a| a.latest_block.clone().ok_or_else(|| down("latest block")))
    }

    async fn restriction_end_block(&self) -> ChainResult<u64> {
        self.answer(|a| {
            a.restriction_end_block
                .ok_or_else(|| down("restriction end block"))
        })
    }

    async fn models_all(&self, _height: Option<u64>) -> ChainResult<Vec<ModelSpec>> {
        self.answer(|a| a.models.clone().ok_or_else(|| down("models")))
    }

    async fn models_stats_24h(&self) -> ChainResult<Vec<ModelStats>> {
        self.answer(|a| a.models_stats.clone().ok_or_else(|| down("models stats")))
    }
}

impl InferenceChain for FakeChain {
    async fn inference_page(&self, key: Option<&str>, _height: u64) -> ChainResult<InferencePage> {
        self.answer(|a| {
            a.inference_pages
                .as_ref()
                .and_then(|pages| pages.get(&key.map(str::to_owned)).cloned())
                .ok_or_else(|| down(&format!("inference page {key:?}")))
        })
    }

    async fn current_epoch_members(&self) -> ChainResult<CurrentEpochMembers> {
        self.answer(|a| {
            a.current_members
                .clone()
                .ok_or_else(|| down("current epoch members"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unset answers are a node that is down; set ones are answered; each
    /// call is counted either way.
    #[tokio::test]
    async fn answers_what_it_was_given_and_counts_every_call() {
        let chain = FakeChain::offline();
        assert!(matches!(
            chain.latest_height().await,
            Err(ChainError::Unavailable(_))
        ));
        assert_eq!(chain.upstream_calls(), 1);
        chain.set(|a| {
            a.latest_height = Some(42);
            a.blocks = Some(HashMap::from([(
                7,
                BlockStamp {
                    height: 7,
                    timestamp: "t".into(),
                },
            )]));
        });
        assert_eq!(chain.latest_height().await, Ok(42));
        assert_eq!(chain.block_stamp(7).await.unwrap().unwrap().timestamp, "t");
        assert_eq!(chain.block_stamp(8).await, Ok(None), "no such block");
        assert_eq!(chain.upstream_calls(), 4);
    }
}
