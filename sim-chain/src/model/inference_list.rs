//! The inference list (`.../inference/inference/inference`): a fixed
//! number of inferences generated once from the seed, in store order (by
//! id), spread over the current epoch (about 40%), the previous one (35%)
//! and two older ones, with every status (STARTED and VOTING included),
//! about 10% recorded with `epoch_id "0"`, payloads of a few KB, and every
//! fifth participant (by generation index) never assigned one.
//!
//! Each inference's epoch is counted back from the current epoch, so an
//! epoch transition moves the whole list with it; the list at a height
//! holds the inferences that started at or before it.

use super::inference_seeds::InferenceSeed;
use super::params::MODEL_NAMES;
use super::universe::Model;
use super::wire::{Inference, InferenceTruth};
use crate::prng::{Purpose, Rng};

fn payload(r: &mut Rng, bytes: u64) -> String {
    const WORDS: [&str; 8] = [
        "gonka ",
        "inference ",
        "tokens ",
        "model ",
        "proof ",
        "epoch ",
        "weight ",
        "node ",
    ];
    let mut s = String::with_capacity(bytes as usize + 16);
    while (s.len() as u64) < bytes {
        let word: &&str = r.pick(&WORDS);
        s.push_str(word);
    }
    s
}

impl Model {
    /// Inferences in the list (at the latest height).
    pub fn inference_count(&self) -> usize {
        self.universe.inference_seeds.len()
    }

    fn inference_start(&self, seed: &InferenceSeed) -> Option<(u64, u64)> {
        let epoch = self.current_epoch.checked_sub(seed.epochs_back)?;
        let start = self.effective_block_height(epoch);
        let end = if seed.epochs_back == 0 {
            self.latest_block_height()
        } else {
            self.effective_block_height(epoch + 1) - 1
        };
        let span = end.saturating_sub(start);
        Some((epoch, start + span * seed.position / 1_000_000))
    }

    fn render_inference(&self, seed: &InferenceSeed, epoch: u64, height: u64) -> Inference {
        let mut r = Rng::new(self.universe.seed, Purpose::Inference, &[seed.key, 1]);
        let hash = |r: &mut Rng| {
            let mut b = [0u8; 32];
            r.fill(&mut b);
            hex::encode(b)
        };
        let address = |i: usize| self.participant(i).address.clone();
        let n = self.participant_count();
        let validators = (0..r.below(4))
            .map(|_| address(r.below(n as u64) as usize))
            .collect();
        let started_ms = self.block_time_unix_millis(height);
        let prompt_len = r.range(1_000, 3_000);
        let response_len = r.range(500, 2_000);
        Inference {
            index: seed.id.clone(),
            inference_id: seed.id.clone(),
            prompt_hash: hash(&mut r),
            prompt_payload: payload(&mut r, prompt_len),
            response_hash: hash(&mut r),
            response_payload: payload(&mut r, response_len),
            prompt_token_count: r.range(10, 4_000).to_string(),
            completion_token_count: r.range(1, 2_000).to_string(),
            requested_by: address(r.below(n as u64) as usize),
            executed_by: address(seed.assignee),
            status: seed.status.to_owned(),
            start_block_height: height.to_string(),
            end_block_height: (height + 2).to_string(),
            start_block_timestamp: started_ms.to_string(),
            end_block_timestamp: self.block_time_unix_millis(height + 2).to_string(),
            model: MODEL_NAMES[r.below(MODEL_NAMES.len() as u64) as usize].to_owned(),
            max_tokens: "5000".into(),
            actual_cost: r.range(100, 100_000).to_string(),
            escrow_amount: "500000".into(),
            assigned_to: address(seed.assignee),
            validated_by: validators,
            epoch_id: if seed.zero_epoch_id {
                "0".into()
            } else {
                epoch.to_string()
            },
        }
    }

    /// The list at height `h`, in store order, from `offset`, at most
    /// `limit`; and how many the whole list at `h` holds.
    pub fn inference_page(&self, h: u64, offset: usize, limit: usize) -> (Vec<Inference>, usize) {
        let visible: Vec<(&InferenceSeed, u64, u64)> = self
            .universe
            .inference_seeds
            .iter()
            .filter_map(|s| self.inference_start(s).map(|(e, start)| (s, e, start)))
            .filter(|(_, _, start)| *start <= h)
            .collect();
        let total = visible.len();
        let page = visible
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(s, e, start)| self.render_inference(s, e, start))
            .collect();
        (page, total)
    }

    /// Every inference at the latest height with its true epoch.
    pub fn inferences(&self) -> Vec<InferenceTruth> {
        self.universe
            .inference_seeds
            .iter()
            .filter_map(|s| {
                let (epoch, start) = self.inference_start(s)?;
                Some(InferenceTruth {
                    epoch,
                    inference: self.render_inference(s, epoch, start),
                })
            })
            .collect()
    }
}
