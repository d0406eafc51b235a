//! `ml_nodes_map` and the `poc_weight` merge of hardware nodes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::sources::{HardwareNode, MlNodeWeight};

/// `node_id -> poc_weight` over every group's nodes. Nodes without an id or
/// a weight are skipped; a weight of 0 is kept (it is a real value).
pub fn ml_nodes_map(groups: &[Vec<MlNodeWeight>]) -> BTreeMap<String, i64> {
    groups
        .iter()
        .flatten()
        .filter_map(|n| Some((n.node_id.clone()?, n.poc_weight?)))
        .collect()
}

/// A hardware node as the modal shows it: the stored node's fields, then
/// its `poc_weight`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MlNodeView {
    #[serde(flatten)]
    pub node: HardwareNode,
    pub poc_weight: Option<i64>,
}

/// Adds each node's `poc_weight` from the epoch's map: 0 stays 0 (the
/// tracker's `or` turned it into null); null only when the node is unknown.
pub fn merge_poc_weights(
    nodes: &[HardwareNode],
    map: Option<&BTreeMap<String, i64>>,
) -> Vec<MlNodeView> {
    nodes
        .iter()
        .map(|n| MlNodeView {
            node: n.clone(),
            poc_weight: map.and_then(|m| m.get(&n.local_id).copied()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: Option<&str>, w: Option<i64>) -> MlNodeWeight {
        MlNodeWeight {
            node_id: id.map(Into::into),
            poc_weight: w,
        }
    }

    #[test]
    fn ml_nodes_map_cases() {
        type Case<'a> = (Vec<Vec<MlNodeWeight>>, Vec<(&'a str, i64)>);
        let cases: Vec<Case> = vec![
            (
                vec![vec![node(Some("node1"), Some(1000))]],
                vec![("node1", 1000)],
            ),
            (
                vec![
                    vec![node(Some("a"), Some(1)), node(Some("b"), Some(2))],
                    vec![node(Some("c"), Some(3))],
                ],
                vec![("a", 1), ("b", 2), ("c", 3)],
            ),
            (vec![], vec![]),
            (vec![vec![]], vec![]),
            (vec![vec![node(None, Some(5))]], vec![]),
            (vec![vec![node(Some("node1"), None)]], vec![]),
            (vec![vec![node(Some("node1"), Some(0))]], vec![("node1", 0)]),
        ];
        for (groups, want) in cases {
            let want: BTreeMap<String, i64> =
                want.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            assert_eq!(ml_nodes_map(&groups), want);
        }
    }

    #[test]
    fn poc_weight_merge() {
        let hw = |id: &str| HardwareNode {
            local_id: id.into(),
            status: "INFERENCE".into(),
            models: vec![],
            hardware: vec![],
            host: "h".into(),
            port: "8080".into(),
        };
        let map: BTreeMap<String, i64> = [("a".to_string(), 1500), ("z".to_string(), 0)].into();
        let nodes = [hw("a"), hw("z"), hw("unknown")];
        type Case<'a> = (Option<&'a BTreeMap<String, i64>>, Vec<Option<i64>>);
        let cases: Vec<Case> = vec![
            (Some(&map), vec![Some(1500), Some(0), None]),
            (None, vec![None, None, None]),
        ];
        for (m, want) in cases {
            let got: Vec<Option<i64>> = merge_poc_weights(&nodes, m)
                .iter()
                .map(|n| n.poc_weight)
                .collect();
            assert_eq!(got, want);
        }
    }
}
