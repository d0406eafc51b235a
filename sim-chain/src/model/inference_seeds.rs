//! The inference list's fixed part, generated once with the universe:
//! each inference's id (store order), assignee, status, epoch offset and
//! place in its epoch. Its heights and fields follow the current epoch
//! ([`super::inference_list`]).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::prng::{Purpose, Rng};

/// Statuses and their weights (percent).
const STATUSES: [(&str, u64); 6] = [
    ("FINISHED", 35),
    ("VALIDATED", 25),
    ("EXPIRED", 10),
    ("INVALIDATED", 8),
    ("STARTED", 12),
    ("VOTING", 10),
];

/// The fixed traits of one inference (its heights follow the current epoch).
#[derive(Debug, Clone)]
pub(super) struct InferenceSeed {
    pub(super) id: String,
    /// Generation index of the assignee.
    pub(super) assignee: usize,
    /// Epochs before the current one (0..=3).
    pub(super) epochs_back: u64,
    /// Where in its epoch it started, in millionths of the epoch's span.
    pub(super) position: u64,
    pub(super) status: &'static str,
    pub(super) zero_epoch_id: bool,
    /// Its generation index (the key of its other random draws).
    pub(super) key: u64,
}

/// Inferences of the universe, in store order; none if no participant may
/// be assigned one.
pub(super) fn generate(seed: u64, count: usize, participants: usize) -> Vec<InferenceSeed> {
    let eligible: Vec<usize> = (0..participants).filter(|i| i % 5 != 0).collect();
    if eligible.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<InferenceSeed> = (0..count as u64)
        .map(|k| {
            let mut r = Rng::new(seed, Purpose::Inference, &[k]);
            let mut id = [0u8; 32];
            r.fill(&mut id);
            let roll = r.below(100);
            let epochs_back = match roll {
                0..40 => 0,
                40..75 => 1,
                75..88 => 2,
                _ => 3,
            };
            let mut pick = r.below(100);
            let status = STATUSES
                .iter()
                .find(|(_, w)| {
                    let hit = pick < *w;
                    pick = pick.saturating_sub(*w);
                    hit
                })
                .map_or("FINISHED", |(s, _)| s);
            InferenceSeed {
                id: BASE64.encode(id),
                assignee: *r.pick(&eligible),
                epochs_back,
                position: r.below(1_000_000),
                status,
                zero_epoch_id: r.percent(10),
                key: k,
            }
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}
