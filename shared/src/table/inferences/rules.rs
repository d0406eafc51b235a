//! The rules that keep the inference scan's writes proportional to what
//! changed, pure so they are tested without a table:
//!
//! - [`save_as_delta`]: a save appends what the run added as a part of its
//!   own, until the parts added since the state was last written whole
//!   outweigh it (or are too many); then the whole state is written again,
//!   as a new base. Every rewrite is paid for by at least as many bytes
//!   added, so a scan writes a small multiple of its result, not a multiple
//!   of its result per run.
//! - [`plan_publish`]: a completed scan writes only the bucket items whose
//!   content hash differs from the epoch's digest of what is published,
//!   and all of them when the digest is missing or old (so no item nears
//!   its TTL while the epoch is still scanned).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::PublishStamp;
use crate::domain::inferences::InferenceLists;
use crate::table::items::bucket_of;
use crate::table::port::{TableError, TableResult};

/// Delta parts a saved state holds at most beside its base: bounds the
/// checkpoint item (it names every part) and the pieces a load reads.
pub const MAX_DELTA_PARTS: usize = 16;

/// How often at least every published bucket item of a scanned epoch is
/// rewritten: half its TTL, so one never expires while its epoch is scanned.
pub const REFRESH_ALL_AFTER_MS: i64 = PUBLISHED_TTL_SECS * 1000 / 2;

/// How long published items outlive their last write.
pub const PUBLISHED_TTL_SECS: i64 = 7 * 86_400;

/// One participant's record inside a bucket.
#[derive(Serialize, Deserialize)]
pub struct RecordRow {
    pub participant_id: String,
    #[serde(flatten)]
    pub lists: InferenceLists,
}

/// Each of the `buckets` buckets' records as JSON: what is hashed
/// ([`content_hash`]) and stored (every adapter buckets the same way).
pub fn bucket_records(
    records: &BTreeMap<String, InferenceLists>,
    buckets: u32,
) -> TableResult<Vec<Vec<u8>>> {
    let mut rows: Vec<Vec<RecordRow>> = (0..buckets).map(|_| Vec::new()).collect();
    for (participant, lists) in records {
        rows[bucket_of(participant, buckets) as usize].push(RecordRow {
            participant_id: participant.clone(),
            lists: lists.clone(),
        });
    }
    rows.iter()
        .map(|rows| {
            serde_json::to_vec(rows)
                .map_err(|e| TableError::Corrupt(format!("encoding records: {e}")))
        })
        .collect()
}

/// Whether a save appends a delta of `delta_bytes` (compressed) to a state
/// stored as a base of `base_bytes` and the deltas `deltas`; `false`: the
/// whole state is written as a new base and the old parts dropped.
pub fn save_as_delta(base_bytes: u64, deltas: &[u64], delta_bytes: u64) -> bool {
    let added: u64 = deltas.iter().sum::<u64>() + delta_bytes;
    deltas.len() < MAX_DELTA_PARTS && added <= base_bytes
}

/// A stable 64-bit hash of a bucket's content (the first 8 bytes of its
/// SHA-256): it is stored in the digest and compared by later processes,
/// and a chosen inference id must not make a change look like none.
pub fn content_hash(bytes: &[u8]) -> u64 {
    let digest = Sha256::digest(bytes);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// What an epoch's published bucket items hold, as its digest item says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedDigest {
    /// Per bucket, the [`content_hash`] of its records.
    pub hashes: Vec<u64>,
    /// The scan that last wrote the digest.
    pub scan_started_ms: i64,
    /// When every bucket item was last written (each was written since).
    pub refreshed_ms: i64,
}

/// What a completed scan writes for one epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishPlan {
    /// The buckets whose items are written.
    pub buckets: Vec<u32>,
    /// The digest to store after them; `None` when it would not change.
    pub digest: Option<PublishedDigest>,
}

/// The bucket items to write for records hashing to `hashes`, given the
/// stored digest; `None` when a newer scan's digest is stored (whatever
/// this scan would write loses to that scan's items).
pub fn plan_publish(
    stored: Option<&PublishedDigest>,
    hashes: &[u64],
    stamp: PublishStamp,
    now_ms: i64,
) -> Option<PublishPlan> {
    if stored.is_some_and(|d| d.scan_started_ms > stamp.scan_started_ms) {
        return None;
    }
    let all = || (0..hashes.len() as u32).collect::<Vec<u32>>();
    let (buckets, refreshed_ms) = match stored {
        Some(d)
            if d.hashes.len() == hashes.len()
                && now_ms.saturating_sub(d.refreshed_ms) < REFRESH_ALL_AFTER_MS =>
        {
            let changed = (0..hashes.len())
                .filter(|b| d.hashes[*b] != hashes[*b])
                .map(|b| b as u32)
                .collect();
            (changed, d.refreshed_ms)
        }
        _ => (all(), now_ms),
    };
    let digest = (!buckets.is_empty()).then(|| PublishedDigest {
        hashes: hashes.to_vec(),
        scan_started_ms: stamp.scan_started_ms,
        refreshed_ms,
    });
    Some(PublishPlan { buckets, digest })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delta_is_appended_until_the_deltas_outweigh_the_base() {
        let many = vec![1; MAX_DELTA_PARTS - 1];
        let full = vec![1; MAX_DELTA_PARTS];
        // (base, deltas, new delta, appended)
        let cases: [(u64, &[u64], u64, bool); 7] = [
            (1_000, &[], 10, true),
            (1_000, &[], 1_000, true),
            (1_000, &[], 1_001, false),
            (1_000, &[400, 500], 100, true),
            (1_000, &[400, 500], 101, false),
            (1_000, &many, 1, true),
            (1_000, &full, 1, false),
        ];
        for (base, deltas, delta, want) in cases {
            assert_eq!(
                save_as_delta(base, deltas, delta),
                want,
                "{base} {deltas:?} {delta}"
            );
        }
    }

    /// Over a scan of many saves, what the rule writes against writing the
    /// whole state at every save (as before): a growing state is written a
    /// few times over in all; a large one that little is added to, whole
    /// once every [`MAX_DELTA_PARTS`] saves at most.
    #[test]
    fn a_scan_writes_a_fraction_of_the_state_per_save() {
        // (initial state, bytes added per save, saves, at most written / state)
        let cases = [(10u64, 100u64, 200u64, 7.0), (100_000, 10, 200, 13.0)];
        for (initial, page, saves, times) in cases {
            let (mut base, mut deltas, mut written) = (initial, Vec::<u64>::new(), initial);
            let mut whole_each_save = 0;
            for _ in 0..saves {
                if save_as_delta(base, &deltas, page) {
                    deltas.push(page);
                    written += page;
                } else {
                    base += deltas.drain(..).sum::<u64>() + page;
                    written += base;
                }
                whole_each_save += base + deltas.iter().sum::<u64>();
            }
            let state = base + deltas.iter().sum::<u64>();
            assert_eq!(state, initial + page * saves);
            let ratio = written as f64 / state as f64;
            assert!(ratio <= times, "{initial} {page}: {written} for {state}");
            assert!(whole_each_save > 10 * written, "{initial} {page}");
        }
    }

    #[test]
    fn content_hashes_are_stable() {
        assert_eq!(content_hash(b"[]"), 0x4f53_cda1_8c2b_aa0c);
        assert_ne!(content_hash(b"[]"), content_hash(b"[ ]"));
    }

    #[test]
    fn publishing_writes_the_changed_buckets() {
        const NOW: i64 = 1_000_000_000_000;
        let stamp = PublishStamp {
            scan_started_ms: NOW - 10,
            cached_at_ms: NOW,
        };
        let digest = |hashes: &[u64], started: i64, refreshed: i64| PublishedDigest {
            hashes: hashes.to_vec(),
            scan_started_ms: started,
            refreshed_ms: refreshed,
        };
        let recent = NOW - 1_000;
        let old = NOW - REFRESH_ALL_AFTER_MS;
        let earlier = NOW - 100;
        /// The buckets written and the digest's refresh time; `None`: nothing.
        type Want = Option<(&'static [u32], i64)>;
        // (stored digest, new hashes, what is written)
        let cases: [(Option<PublishedDigest>, &[u64], Want); 7] = [
            (None, &[1, 2, 3], Some((&[0, 1, 2], NOW))),
            (
                Some(digest(&[1, 2, 3], earlier, recent)),
                &[1, 2, 3],
                Some((&[], recent)),
            ),
            (
                Some(digest(&[1, 2, 3], earlier, recent)),
                &[1, 9, 3],
                Some((&[1], recent)),
            ),
            // The same scan again (another run completing it).
            (
                Some(digest(&[1, 2, 3], NOW - 10, recent)),
                &[1, 2, 4],
                Some((&[2], recent)),
            ),
            // Old: everything again, so no item nears its TTL.
            (
                Some(digest(&[1, 2, 3], earlier, old)),
                &[1, 2, 3],
                Some((&[0, 1, 2], NOW)),
            ),
            // Another bucket count: everything.
            (
                Some(digest(&[1, 2], earlier, recent)),
                &[1, 2, 3],
                Some((&[0, 1, 2], NOW)),
            ),
            // A newer scan published: nothing.
            (Some(digest(&[1, 2, 3], NOW, recent)), &[7, 7, 7], None),
        ];
        for (stored, hashes, want) in cases {
            let plan = plan_publish(stored.as_ref(), hashes, stamp, NOW);
            let got = plan.as_ref().map(|p| p.buckets.as_slice());
            assert_eq!(got, want.map(|w| w.0), "{stored:?} {hashes:?}");
            let Some(plan) = plan else { continue };
            match &plan.digest {
                None => assert!(plan.buckets.is_empty(), "an unchanged digest"),
                Some(d) => {
                    assert_eq!(d.hashes, hashes);
                    assert_eq!(d.scan_started_ms, stamp.scan_started_ms);
                    assert_eq!(d.refreshed_ms, want.unwrap().1);
                }
            }
        }
    }
}
