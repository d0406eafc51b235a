//! Reported hardware nodes: GPUs, hosts and ports, including the
//! mismatches with the epoch's ML nodes that the chain really has.

use super::universe::{HardwareProfile, Model};
use super::wire::{Hardware, HardwareNode};
use crate::prng::{Purpose, Rng};

const GPU_TYPES: [&str; 5] = [
    "NVIDIA H100 80GB HBM3 | 80GB",
    "NVIDIA H200 | 141GB",
    "NVIDIA A100-SXM4-80GB | 80GB",
    "NVIDIA GeForce RTX 4090 | 24GB",
    "NVIDIA GeForce RTX 3090 | 24GB",
];

impl Model {
    /// Reported hardware nodes of `address` (sorted by `local_id`); `None`
    /// for unknown participants.
    pub fn hardware_nodes(&self, address: &str) -> Option<Vec<HardwareNode>> {
        let i = self.index_of(address)?;
        let p = self.participant(i);
        let mut r = Rng::new(self.universe.seed, Purpose::Hardware, &[i as u64]);
        let mut ids = p.node_ids.clone();
        match p.hardware {
            HardwareProfile::None => return Some(Vec::new()),
            HardwareProfile::Mismatched => {
                if ids.len() > 1 {
                    ids.pop();
                }
                ids.push(format!("spare-{}", r.range(1, 9)));
            }
            HardwareProfile::NoGpuInfo | HardwareProfile::Normal => {}
        }
        let gpu = *r.pick(&GPU_TYPES);
        let gpu_count = *r.pick(&[1u32, 1, 2, 4, 8]);
        let subnet = r.range(0, 255);
        let port = if r.percent(80) { "8080" } else { "5000" };
        let mut nodes: Vec<HardwareNode> = ids
            .into_iter()
            .enumerate()
            .map(|(k, local_id)| HardwareNode {
                local_id,
                status: match r.below(20) {
                    0 => "POC",
                    1 => "FAILED",
                    _ => "INFERENCE",
                }
                .to_string(),
                models: vec![p.models[k % p.models.len()].to_string()],
                hardware: match p.hardware {
                    HardwareProfile::NoGpuInfo => Vec::new(),
                    _ => vec![Hardware {
                        kind: gpu.to_string(),
                        count: gpu_count,
                    }],
                },
                host: format!("172.18.{subnet}.{}", 10 + k),
                port: port.to_string(),
            })
            .collect();
        nodes.sort_by(|a, b| a.local_id.cmp(&b.local_id));
        Some(nodes)
    }
}
