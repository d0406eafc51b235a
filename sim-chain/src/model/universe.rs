//! The participant universe: every participant's fixed traits, generated
//! once from the seed, and [`Model`], the universe seen at a current epoch.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use super::address::encode_address;
use super::params::{MODEL_NAMES, POC_START_OFFSET};
use crate::config::SimConfig;
use crate::prng::{hash, Purpose, Rng};

/// Which authz grants a participant has made. Assigned by index (rotated by
/// the seed) rather than by hash, so even a universe of 10 contains every
/// case tests need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GrantProfile {
    /// No grants at all.
    None,
    /// `n` grantees with all 24 types.
    Full(u64),
    /// One full grantee (plus `MsgSend`) and one that lacks `MsgJoinTraining`
    /// but has `MsgJoinTrainingStatus` (a trap for substring matching).
    FullAndPartial,
    /// Only incomplete grantees: none qualifies.
    PartialOnly,
    /// `n >= 5` full grantees plus extras: more than 100 grants, so more
    /// than one page.
    Big(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HardwareProfile {
    /// `hardware_nodes: []`.
    None,
    /// Nodes with `hardware: []` (like one of the recordings).
    NoGpuInfo,
    /// One ML node is not reported, and one reported node is not an ML node.
    Mismatched,
    /// Every ML node reported with its GPUs.
    Normal,
}

#[derive(Debug, Clone)]
pub(super) struct Participant {
    pub(super) address: String,
    pub(super) bytes: [u8; 20],
    pub(super) validator_key: String,
    pub(super) inference_url: String,
    pub(super) models: Vec<&'static str>,
    pub(super) node_ids: Vec<String>,
    pub(super) weight_scale: u64,
    pub(super) join_height: u64,
    pub(super) grants: GrantProfile,
    pub(super) hardware: HardwareProfile,
}

pub(super) struct Universe {
    pub(super) seed: u64,
    pub(super) epoch_length: u64,
    /// In generation order; the generation index is each participant's identity.
    pub(super) participants: Vec<Participant>,
    pub(super) by_address: HashMap<String, usize>,
    /// Generation indices sorted by address bytes: the chain's store order,
    /// which is the order of the participant list.
    pub(super) list_order: Vec<usize>,
    /// The inference list, in store order.
    pub(super) inference_seeds: Vec<super::inference_seeds::InferenceSeed>,
}

/// The generated chain truth at one current epoch.
///
/// Cheap to clone (the universe is shared); [`Model::with_current_epoch`]
/// gives the same universe at another epoch.
#[derive(Clone)]
pub struct Model {
    pub(super) universe: Arc<Universe>,
    pub(super) current_epoch: u64,
    pub(super) clock: Clock,
    /// The `hostile_links` knob (see `hostile`).
    pub(super) hostile_links: bool,
    /// Heights below this are pruned: queried at them, the node answers
    /// as a pruning node does (0: an archive node).
    pub(super) pruned_below: u64,
}

/// Where block times meet the wall clock: block `anchor_height` was made
/// at `anchor_ms`, the others `interval_ms` apart (plus jitter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Clock {
    pub(super) anchor_height: u64,
    pub(super) anchor_ms: i64,
    pub(super) interval_ms: u64,
    pub(super) advancing: bool,
    /// Blocks the head is moved from where the clock puts it (the
    /// `advance_blocks` and `freeze_head` knobs); block times never move.
    pub(super) head_offset: i64,
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model")
            .field("participants", &self.universe.participants.len())
            .field("current_epoch", &self.current_epoch)
            .field("seed", &self.universe.seed)
            .field("epoch_length", &self.universe.epoch_length)
            .field("clock", &self.clock)
            .finish()
    }
}

impl Model {
    /// Generates the universe described by `config` (its latency and faults
    /// are irrelevant here).
    pub fn new(config: &SimConfig) -> Model {
        let seed = config.seed;
        let epoch_length = config.epoch_length.max(1);
        let grant_rotation = hash(&[seed, Purpose::Grants as u64]);
        let hardware_rotation = hash(&[seed, Purpose::Hardware as u64]);

        let participants: Vec<Participant> = (0..config.participants)
            .map(|i| {
                let i = i as u64;
                let mut bytes = [0u8; 20];
                Rng::new(seed, Purpose::Address, &[i]).fill(&mut bytes);
                let mut key = [0u8; 32];
                Rng::new(seed, Purpose::ValidatorKey, &[i]).fill(&mut key);

                let mut r = Rng::new(seed, Purpose::Traits, &[i]);
                let first_model = r.below(MODEL_NAMES.len() as u64) as usize;
                let mut models = vec![MODEL_NAMES[first_model]];
                if r.percent(45) {
                    let offset = 1 + r.below(MODEL_NAMES.len() as u64 - 1) as usize;
                    models.push(MODEL_NAMES[(first_model + offset) % MODEL_NAMES.len()]);
                }
                let node_count = if r.percent(35) { 1 } else { r.range(2, 8) };
                let node_ids = node_ids(&mut r, node_count);
                let weight_scale = r.range(100, 4_000);
                let join_height = r.range(1, POC_START_OFFSET + epoch_length);

                let grants = match (i.wrapping_add(grant_rotation)) % 10 {
                    0 => GrantProfile::None,
                    1 => GrantProfile::Big(5 + r.below(3)),
                    2 => GrantProfile::FullAndPartial,
                    3 => GrantProfile::PartialOnly,
                    4 | 5 => GrantProfile::Full(2),
                    _ => GrantProfile::Full(1),
                };
                let hardware = match (i.wrapping_add(hardware_rotation)) % 7 {
                    0 => HardwareProfile::None,
                    1 => HardwareProfile::NoGpuInfo,
                    2 => HardwareProfile::Mismatched,
                    _ => HardwareProfile::Normal,
                };

                Participant {
                    address: encode_address(&bytes),
                    bytes,
                    validator_key: BASE64.encode(key),
                    inference_url: inference_url(config.node_base_url.as_deref(), i),
                    models,
                    node_ids,
                    weight_scale,
                    join_height,
                    grants,
                    hardware,
                }
            })
            .collect();

        let by_address = participants
            .iter()
            .enumerate()
            .map(|(i, p)| (p.address.clone(), i))
            .collect();
        let mut list_order: Vec<usize> = (0..participants.len()).collect();
        list_order.sort_by(|&a, &b| participants[a].bytes.cmp(&participants[b].bytes));

        let model = Model {
            universe: Arc::new(Universe {
                seed,
                epoch_length,
                participants,
                by_address,
                list_order,
                inference_seeds: super::inference_seeds::generate(
                    seed,
                    config.inferences,
                    config.participants,
                ),
            }),
            current_epoch: config.current_epoch.max(1),
            clock: Clock {
                anchor_height: 0,
                anchor_ms: 0,
                interval_ms: (config.block_interval.as_millis() as u64).max(1),
                advancing: config.advance_heights,
                head_offset: 0,
            },
            hostile_links: false,
            pruned_below: 0,
        };
        model.anchored_at(crate::time::now_unix_ms())
    }

    /// The same universe seen at another current epoch (an epoch
    /// transition), on the same clock.
    pub fn with_current_epoch(&self, epoch: u64) -> Model {
        Model {
            universe: Arc::clone(&self.universe),
            current_epoch: epoch.max(1),
            clock: self.clock,
            hostile_links: self.hostile_links,
            pruned_below: self.pruned_below,
        }
    }

    /// The same model with its starting head made at `now_ms`.
    pub fn anchored_at(&self, now_ms: i64) -> Model {
        let mut m = self.clone();
        m.clock.anchor_height = m.starting_head();
        m.clock.anchor_ms = now_ms;
        m.clock.head_offset = 0;
        m
    }

    /// The same model with its head `blocks` further on at `now_ms` (never
    /// past the current epoch's last block): a new block, made now.
    pub fn advanced_at(&self, blocks: u64, now_ms: i64) -> Model {
        let mut m = self.clone();
        let head = m.latest_block_height_at(now_ms) + blocks;
        m.set_head_at(head, now_ms);
        m
    }

    /// The same model with the head kept where it is at `now_ms` (`false`),
    /// or advancing with the clock from there (`true`).
    pub fn with_advancing_at(&self, advancing: bool, now_ms: i64) -> Model {
        let mut m = self.clone();
        let head = m.latest_block_height_at(now_ms);
        m.clock.advancing = advancing;
        m.set_head_at(head, now_ms);
        m
    }

    /// Sets the offset so that the head is `head` at `now_ms`.
    fn set_head_at(&mut self, head: u64, now_ms: i64) {
        self.clock.head_offset = 0;
        let unmoved = self.latest_block_height_at(now_ms);
        self.clock.head_offset = head as i64 - unmoved as i64;
    }

    pub fn current_epoch(&self) -> u64 {
        self.current_epoch
    }

    pub fn seed(&self) -> u64 {
        self.universe.seed
    }

    pub fn epoch_length(&self) -> u64 {
        self.universe.epoch_length
    }

    pub fn participant_count(&self) -> usize {
        self.universe.participants.len()
    }

    pub(super) fn index_of(&self, address: &str) -> Option<usize> {
        self.universe.by_address.get(address).copied()
    }

    pub(super) fn participant(&self, i: usize) -> &Participant {
        &self.universe.participants[i]
    }

    /// True if `address` belongs to the universe.
    pub fn is_participant(&self, address: &str) -> bool {
        self.index_of(address).is_some()
    }

    /// Every participant, in the participant list's order (by address bytes).
    pub fn all_participants(&self) -> Vec<String> {
        self.universe
            .list_order
            .iter()
            .map(|&i| self.participant(i).address.clone())
            .collect()
    }
}

/// Participant `i`'s inference URL: with a node base, its node on the
/// simulator (`/node/{i}`), or for every fourth (nothing listens, see
/// `Model::node_behaviour`) a closed port or `0.0.0.0:8000`; without one,
/// a private address.
fn inference_url(node_base: Option<&str>, i: u64) -> String {
    match node_base {
        Some(_) if i % 8 == 3 => "http://0.0.0.0:8000".into(),
        Some(_) if i % 4 == 3 => "http://127.0.0.1:1".into(),
        Some(base) => format!("{}/node/{i}", base.trim_end_matches('/')),
        None => format!(
            "http://10.{}.{}.{}:8000",
            (i >> 16) & 0xff,
            (i >> 8) & 0xff,
            i & 0xff
        ),
    }
}

/// Node naming schemes seen on mainnet: `node3`, `cluster1-ml-04`, `mlnode-0`, `node-106`.
fn node_ids(r: &mut Rng, count: u64) -> Vec<String> {
    let scheme = r.below(4);
    let base = r.range(100, 150);
    (0..count)
        .map(|k| match scheme {
            0 => format!("node{}", k + 1),
            1 => format!("cluster{}-ml-{:02}", 1 + k / 6, k % 6),
            2 => format!("mlnode-{k}"),
            _ => format!("node-{}", base + 3 * k),
        })
        .collect()
}
