//! Epoch membership and the epoch participants endpoint's entries: order,
//! ML nodes, weights and seed signatures.

use std::collections::HashMap;

use super::universe::Model;
use super::wire::{EpochParticipant, MlNode, MlNodeGroup, SeedSignature};
use crate::prng::{hash, Purpose, Rng};

impl Model {
    /// About 90% of the universe takes part in each epoch >= 1.
    pub(super) fn member(&self, epoch: u64, i: usize) -> bool {
        epoch >= 1
            && Rng::new(self.universe.seed, Purpose::Membership, &[epoch, i as u64]).below(10) != 0
    }

    fn members_in_order(&self, epoch: u64) -> Vec<usize> {
        let seed = self.universe.seed;
        let mut members: Vec<(u64, usize)> = (0..self.participant_count())
            .filter(|&i| self.member(epoch, i))
            .map(|i| {
                (
                    hash(&[seed, Purpose::EpochOrder as u64, epoch, i as u64]),
                    i,
                )
            })
            .collect();
        members.sort_unstable();
        members.into_iter().map(|(_, i)| i).collect()
    }

    /// True if `address` is among the participants of `epoch`.
    pub fn is_in_epoch(&self, epoch: u64, address: &str) -> bool {
        self.index_of(address)
            .is_some_and(|i| self.member(epoch, i))
    }

    /// Addresses of the participants of `epoch`, in the order the epoch
    /// endpoint lists them (a per-epoch shuffle). Pure: ignores whether the
    /// epoch has started; the HTTP layer answers 404 for epochs after the
    /// current one.
    pub fn participants_in_epoch(&self, epoch: u64) -> Vec<String> {
        self.members_in_order(epoch)
            .into_iter()
            .map(|i| self.participant(i).address.clone())
            .collect()
    }

    /// A node's weight: 8% are 0, and of those half are null on the wire.
    fn node_weight(&self, epoch: u64, i: usize, k: usize) -> (Option<i64>, bool) {
        let mut r = Rng::new(
            self.universe.seed,
            Purpose::NodeWeight,
            &[epoch, i as u64, k as u64],
        );
        let zero = r.percent(8);
        let scale = self.participant(i).weight_scale;
        let weight = if zero {
            r.percent(50).then_some(0)
        } else {
            Some((scale * r.range(80, 120) / 100).max(1) as i64)
        };
        (weight, r.percent(50))
    }

    pub(super) fn epoch_weight(&self, epoch: u64, i: usize) -> i64 {
        (0..self.participant(i).node_ids.len())
            .filter_map(|k| self.node_weight(epoch, i, k).0)
            .sum()
    }

    fn epoch_entry(&self, epoch: u64, i: usize) -> EpochParticipant {
        let p = self.participant(i);
        let groups = p.models.len().min(p.node_ids.len()).max(1);
        let mut ml_nodes = vec![
            MlNodeGroup {
                ml_nodes: Vec::new()
            };
            groups
        ];
        for (k, node_id) in p.node_ids.iter().enumerate() {
            let (poc_weight, second_slot) = self.node_weight(epoch, i, k);
            ml_nodes[k % groups].ml_nodes.push(MlNode {
                node_id: node_id.clone(),
                poc_weight,
                timeslot_allocation: vec![true, second_slot],
            });
        }
        let mut signature = [0u8; 64];
        Rng::new(self.universe.seed, Purpose::Signature, &[epoch, i as u64]).fill(&mut signature);
        EpochParticipant {
            index: p.address.clone(),
            validator_key: p.validator_key.clone(),
            weight: ml_nodes
                .iter()
                .flat_map(|g| &g.ml_nodes)
                .filter_map(|n| n.poc_weight)
                .sum(),
            inference_url: self.inference_url_of(i),
            models: p.models.iter().map(|m| m.to_string()).collect(),
            seed: SeedSignature {
                participant: p.address.clone(),
                epoch_index: epoch,
                signature: hex::encode(signature),
            },
            ml_nodes,
        }
    }

    /// The epoch entry of `address`, if it took part in `epoch`.
    pub fn epoch_participant(&self, epoch: u64, address: &str) -> Option<EpochParticipant> {
        let i = self.index_of(address)?;
        self.member(epoch, i).then(|| self.epoch_entry(epoch, i))
    }

    /// All entries of `epoch`, in endpoint order.
    pub fn epoch_participants(&self, epoch: u64) -> Vec<EpochParticipant> {
        self.members_in_order(epoch)
            .into_iter()
            .map(|i| self.epoch_entry(epoch, i))
            .collect()
    }

    /// `node_id -> poc_weight` of `address` in `epoch` (the tracker's
    /// `ml_nodes_map`), nodes with a null weight left out.
    pub fn ml_nodes_map(&self, epoch: u64, address: &str) -> Option<HashMap<String, i64>> {
        self.epoch_participant(epoch, address).map(|entry| {
            entry
                .ml_nodes
                .into_iter()
                .flat_map(|g| g.ml_nodes)
                .filter_map(|n| Some((n.node_id, n.poc_weight?)))
                .collect()
        })
    }
}
