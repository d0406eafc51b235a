//! The models view's computations (docs/contract-part2.md 2.3): each
//! model's total PoC weight and host count over an epoch's participants,
//! and the `ModelInfo` rows built from `models_all`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::sources::{EpochMember, ModelSpec, Threshold};

/// A model's share of the epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModelWeight {
    pub total_weight: i64,
    pub participant_count: u64,
}

/// Per model: the sum of `poc_weight` over the ML nodes each participant
/// assigned to it (`models[i]` pairs with `ml_nodes[i]` by position; extra
/// entries on either side are ignored, a null weight counts 0), and the
/// number of distinct participants hosting it.
pub fn aggregate_model_weights(participants: &[EpochMember]) -> BTreeMap<String, ModelWeight> {
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    let mut hosts: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for p in participants {
        for (model, group) in p.models.iter().zip(&p.ml_nodes) {
            let weight: i64 = group
                .iter()
                .map(|n| n.poc_weight.unwrap_or(0))
                .fold(0i64, i64::saturating_add);
            let total = totals.entry(model.clone()).or_default();
            *total = total.saturating_add(weight);
            hosts.entry(model.clone()).or_default().insert(&p.index);
        }
    }
    totals
        .into_iter()
        .map(|(model, total_weight)| {
            let participant_count = hosts.get(&model).map_or(0, |h| h.len() as u64);
            (
                model,
                ModelWeight {
                    total_weight,
                    participant_count,
                },
            )
        })
        .collect()
}

/// One model as the API serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub id: String,
    pub total_weight: i64,
    pub participant_count: u64,
    pub proposed_by: String,
    pub v_ram: String,
    pub throughput_per_nonce: String,
    pub units_of_compute_per_token: String,
    pub hf_repo: String,
    pub hf_commit: String,
    pub model_args: Vec<String>,
    pub validation_threshold: Option<Threshold>,
}

/// `models_all` in chain order, each with its weight and hosts (0 and 0
/// for a model nobody hosts).
pub fn model_infos(
    models: &[ModelSpec],
    weights: &BTreeMap<String, ModelWeight>,
) -> Vec<ModelInfo> {
    models
        .iter()
        .map(|m| {
            let w = weights.get(&m.id).copied().unwrap_or_default();
            ModelInfo {
                id: m.id.clone(),
                total_weight: w.total_weight,
                participant_count: w.participant_count,
                proposed_by: m.proposed_by.clone(),
                v_ram: m.v_ram.clone(),
                throughput_per_nonce: m.throughput_per_nonce.clone(),
                units_of_compute_per_token: m.units_of_compute_per_token.clone(),
                hf_repo: m.hf_repo.clone(),
                hf_commit: m.hf_commit.clone(),
                model_args: m.model_args.clone(),
                validation_threshold: m.validation_threshold.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sources::MlNodeWeight;

    fn participant(index: &str, models: &[&str], groups: &[&[Option<i64>]]) -> EpochMember {
        EpochMember {
            index: index.into(),
            models: models.iter().map(|m| (*m).into()).collect(),
            ml_nodes: groups
                .iter()
                .map(|g| {
                    g.iter()
                        .map(|w| MlNodeWeight {
                            node_id: Some("n".into()),
                            poc_weight: *w,
                        })
                        .collect()
                })
                .collect(),
            ..EpochMember::default()
        }
    }

    fn w(total_weight: i64, participant_count: u64) -> ModelWeight {
        ModelWeight {
            total_weight,
            participant_count,
        }
    }

    #[test]
    fn aggregation_cases() {
        type Case = (Vec<EpochMember>, Vec<(&'static str, ModelWeight)>);
        let cases: Vec<Case> = vec![
            (vec![], vec![]),
            // Pairs by position; a null weight counts 0.
            (
                vec![
                    participant("a", &["m1", "m2"], &[&[Some(5), None], &[Some(7)]]),
                    participant("b", &["m1"], &[&[Some(1), Some(2)]]),
                ],
                vec![("m1", w(8, 2)), ("m2", w(7, 1))],
            ),
            // More models than groups: the unpaired model is not counted;
            // more groups than models: the extra group is ignored.
            (
                vec![
                    participant("a", &["m1", "m2"], &[&[Some(3)]]),
                    participant("b", &["m3"], &[&[Some(4)], &[Some(100)]]),
                ],
                vec![("m1", w(3, 1)), ("m3", w(4, 1))],
            ),
            // The same participant listed twice is one host; an empty
            // group still makes a host with weight 0.
            (
                vec![
                    participant("a", &["m1"], &[&[Some(1)]]),
                    participant("a", &["m1"], &[&[Some(2)]]),
                    participant("c", &["m1"], &[&[]]),
                ],
                vec![("m1", w(3, 2))],
            ),
        ];
        for (participants, want) in cases {
            let got = aggregate_model_weights(&participants);
            let want: BTreeMap<String, ModelWeight> =
                want.into_iter().map(|(m, w)| (m.to_owned(), w)).collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn infos_keep_chain_order_and_nulls() {
        let models = [
            ModelSpec {
                id: "z".into(),
                v_ram: "24".into(),
                ..ModelSpec::default()
            },
            ModelSpec {
                id: "a".into(),
                validation_threshold: Some(Threshold {
                    value: "95814".into(),
                    exponent: -5,
                }),
                ..ModelSpec::default()
            },
        ];
        let weights = BTreeMap::from([("a".to_owned(), w(9, 2))]);
        let infos = model_infos(&models, &weights);
        assert_eq!(
            infos.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
            ["z", "a"]
        );
        assert_eq!((infos[0].total_weight, infos[0].participant_count), (0, 0));
        assert_eq!((infos[1].total_weight, infos[1].participant_count), (9, 2));
        let json = serde_json::to_value(&infos[0]).unwrap();
        assert!(json["validation_threshold"].is_null());
        assert_eq!(json["v_ram"], "24");
        assert_eq!(
            serde_json::to_value(&infos[1]).unwrap()["validation_threshold"],
            serde_json::json!({"value": "95814", "exponent": -5})
        );
    }
}
