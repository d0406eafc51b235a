//! The chain's bodies converted into the domain's types (the edge: what a
//! chain upgrade renames is absorbed here). Moves, not copies: an epoch
//! of 10,000 participants is megabytes. Methods of the wire types, not
//! `From` impls on the domain's: an impl counts as a use by the module of
//! the type it is for, and the domain uses nothing of the chain.

use super::network_types::{ChainModel, Decimal};
use super::types::{
    ActiveParticipants, CurrentEpochStats, EpochParticipant, Grant, Hardware, HardwareNode,
    ListedParticipant, MlNode,
};
use crate::domain::sources::{
    self, DeviceCount, EpochMember, EpochRoster, ListedMember, MlNodeWeight, ModelSpec, Tallies,
    Threshold,
};

impl ActiveParticipants {
    /// As the domain reads it.
    pub fn into_domain(self) -> EpochRoster {
        let a = self;
        EpochRoster {
            participants: a
                .participants
                .into_iter()
                .map(EpochParticipant::into_domain)
                .collect(),
            epoch_group_id: a.epoch_group_id,
            epoch_id: a.epoch_id,
            poc_start_block_height: a.poc_start_block_height,
            effective_block_height: a.effective_block_height,
            created_at_block_height: a.created_at_block_height,
        }
    }
}

impl EpochParticipant {
    /// As the domain reads it.
    pub fn into_domain(self) -> EpochMember {
        let p = self;
        EpochMember {
            index: p.index,
            validator_key: p.validator_key,
            weight: p.weight,
            inference_url: p.inference_url,
            models: p.models,
            seed_signature: p.seed.and_then(|s| s.signature),
            ml_nodes: p
                .ml_nodes
                .into_iter()
                .map(|g| g.ml_nodes.into_iter().map(MlNode::into_domain).collect())
                .collect(),
        }
    }
}

impl MlNode {
    /// As the domain reads it.
    pub fn into_domain(self) -> MlNodeWeight {
        let n = self;
        MlNodeWeight {
            node_id: n.node_id,
            poc_weight: n.poc_weight,
        }
    }
}

impl ListedParticipant {
    /// As the domain reads it.
    pub fn into_domain(self) -> ListedMember {
        let p = self;
        ListedMember {
            index: p.index,
            address: p.address,
            inference_url: p.inference_url,
            status: p.status,
            tallies: p.current_epoch_stats.map(CurrentEpochStats::into_domain),
        }
    }
}

impl CurrentEpochStats {
    /// As the domain reads it.
    pub fn into_domain(self) -> Tallies {
        let s = self;
        Tallies {
            inference_count: s.inference_count,
            missed_requests: s.missed_requests,
            earned_coins: s.earned_coins,
            rewarded_coins: s.rewarded_coins,
            burned_coins: s.burned_coins,
            validated_inferences: s.validated_inferences,
            invalidated_inferences: s.invalidated_inferences,
        }
    }
}

impl HardwareNode {
    /// As the domain reads it.
    pub fn into_domain(self) -> sources::HardwareNode {
        let n = self;
        sources::HardwareNode {
            local_id: n.local_id,
            status: n.status,
            models: n.models,
            hardware: n.hardware.into_iter().map(Hardware::into_domain).collect(),
            host: n.host,
            port: n.port,
        }
    }
}

impl Hardware {
    /// As the domain reads it.
    pub fn into_domain(self) -> DeviceCount {
        let h = self;
        DeviceCount {
            kind: h.kind,
            count: h.count,
        }
    }
}

impl Grant {
    /// As the domain reads it.
    pub fn into_domain(self) -> sources::Grant {
        let g = self;
        sources::Grant {
            grantee: g.grantee,
            msg: g.authorization.and_then(|a| a.msg),
            expiration: g.expiration,
        }
    }
}

impl ChainModel {
    /// As the domain reads it.
    pub fn into_domain(self) -> ModelSpec {
        let m = self;
        ModelSpec {
            id: m.id,
            proposed_by: m.proposed_by,
            v_ram: m.v_ram,
            throughput_per_nonce: m.throughput_per_nonce,
            units_of_compute_per_token: m.units_of_compute_per_token,
            hf_repo: m.hf_repo,
            hf_commit: m.hf_commit,
            model_args: m.model_args,
            validation_threshold: m.validation_threshold.map(Decimal::into_domain),
        }
    }
}

impl Decimal {
    /// As the domain reads it.
    pub fn into_domain(self) -> Threshold {
        let d = self;
        Threshold {
            value: d.value,
            exponent: d.exponent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::models::{aggregate_model_weights, ModelWeight};

    /// The chain's epoch body as the domain reads it: the seed reduced to
    /// its signature, each model's node group to its weights, the
    /// counters carried over.
    #[test]
    fn an_epoch_body_converts_field_by_field() {
        let body = r#"{"active_participants": {"participants": [
            {"index": "gonka1a", "validator_key": "vk", "weight": "12", "inference_url": "http://n",
             "models": ["m1", "m2"], "seed": {"participant": "gonka1a", "epoch_index": "5", "signature": "sig"},
             "ml_nodes": [{"ml_nodes": [{"node_id": "n1", "poc_weight": "7"}, {"node_id": null, "poc_weight": null}]}]}
            ], "epoch_group_id": "60", "epoch_id": "60", "poc_start_block_height": "100",
            "effective_block_height": "120", "created_at_block_height": "90"}}"#;
        let wire: super::super::types::EpochParticipantsResponse =
            serde_json::from_str(body).unwrap();
        let roster = wire.active_participants.into_domain();
        assert_eq!(roster.epoch_group_id, 60);
        assert_eq!(roster.effective_block_height, 120);
        assert_eq!(roster.poc_start_block_height, Some(100));
        let m = &roster.participants[0];
        assert_eq!(m.index, "gonka1a");
        assert_eq!(m.weight, Some(12));
        assert_eq!(m.seed_signature.as_deref(), Some("sig"));
        assert_eq!(m.models, ["m1", "m2"]);
        assert_eq!(
            m.ml_nodes,
            vec![vec![
                MlNodeWeight {
                    node_id: Some("n1".into()),
                    poc_weight: Some(7)
                },
                MlNodeWeight {
                    node_id: None,
                    poc_weight: None
                }
            ]]
        );

        let listed: ListedParticipant = serde_json::from_str(
            r#"{"index": "gonka1a", "current_epoch_stats": {"inference_count": 5, "missed_requests": "2"}}"#,
        )
        .unwrap();
        let tallies = listed.into_domain().tallies.unwrap();
        assert_eq!(tallies.inference_count, "5");
        assert_eq!(tallies.missed_requests, "2");
        assert_eq!(tallies.earned_coins, "0");

        let grant: Grant = serde_json::from_str(
            r#"{"granter": "g", "grantee": "k", "authorization": {"@type": "t", "msg": "/x.MsgA"}, "expiration": "2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(
            grant.into_domain(),
            sources::Grant {
                grantee: "k".into(),
                msg: Some("/x.MsgA".into()),
                expiration: Some("2026-01-01T00:00:00Z".into())
            }
        );
    }

    fn weight(total_weight: i64, participant_count: u64) -> ModelWeight {
        ModelWeight {
            total_weight,
            participant_count,
        }
    }

    /// Contract part 2, 2.3: the recorded epoch 56, read and converted,
    /// gives the models' weights the tracker shows.
    #[test]
    fn the_fixture_vector() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/gonka-tracker/current_epoch_participants.json"
        );
        let text = std::fs::read_to_string(path).expect("the recorded fixture");
        let body: super::super::types::EpochParticipantsResponse =
            serde_json::from_str(&text).unwrap();
        let roster = body.active_participants.into_domain();
        let participants = &roster.participants;
        assert_eq!(participants.len(), 26);
        let got = aggregate_model_weights(participants);
        let want = [
            (
                "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8",
                weight(139_064, 10),
            ),
            ("Qwen/Qwen3-32B-FP8", weight(80_083, 12)),
            ("Qwen/Qwen2.5-7B-Instruct", weight(46_745, 7)),
            ("Qwen/QwQ-32B", weight(41_859, 8)),
        ];
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (model, want) in want {
            assert_eq!(got.get(model), Some(&want), "{model}");
        }
        let total: i64 = got.values().map(|w| w.total_weight).sum();
        let weights: i64 = participants.iter().filter_map(|p| p.weight).sum();
        assert_eq!((total, weights), (307_751, 307_751));
    }
}
