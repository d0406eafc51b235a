//! Authz grants per granter, and the warm keys a correct lookup finds
//! among them.

use super::address::encode_address;
use super::params::{GENERIC_AUTHORIZATION, WARM_KEY_MSG_TYPES};
use super::universe::{GrantProfile, Model};
use super::wire::{Authorization, Grant, WarmKey};
use crate::prng::{Purpose, Rng};
use crate::time::rfc3339_nanos;

/// Grants for messages that have nothing to do with warm keys.
const UNRELATED_MSG_TYPES: [&str; 3] = [
    "/cosmos.bank.v1beta1.MsgSend",
    "/cosmos.gov.v1beta1.MsgVote",
    "/cosmos.staking.v1beta1.MsgDelegate",
];

impl Model {
    /// Grants made by `granter`, in store order (by grantee bytes, then
    /// message type). Empty for unknown granters.
    pub fn grants(&self, granter: &str) -> Vec<Grant> {
        let Some(i) = self.index_of(granter) else {
            return Vec::new();
        };
        let mut grantees = self.grantees(i);
        grantees.sort_by_key(|g| g.bytes);
        grantees
            .into_iter()
            .flat_map(|g| {
                let mut msgs = g.msgs;
                msgs.sort_unstable();
                let expiration = g.expiration;
                let grantee = g.address;
                msgs.into_iter().map(move |msg| Grant {
                    granter: granter.to_string(),
                    grantee: grantee.clone(),
                    authorization: Authorization {
                        type_url: GENERIC_AUTHORIZATION.to_string(),
                        msg: msg.to_string(),
                    },
                    expiration: expiration.clone(),
                })
            })
            .collect()
    }

    /// The grantees of `address` that cover all 24 warm-key message types
    /// (exact names), newest `granted_at` first: what a correct warm-key
    /// lookup must return.
    pub fn warm_keys(&self, address: &str) -> Vec<WarmKey> {
        let Some(i) = self.index_of(address) else {
            return Vec::new();
        };
        let mut keys: Vec<SimGrantee> = self
            .grantees(i)
            .into_iter()
            .filter(|g| WARM_KEY_MSG_TYPES.iter().all(|t| g.msgs.contains(t)))
            .collect();
        keys.sort_by_key(|g| std::cmp::Reverse(g.expires_at));
        keys.into_iter()
            .map(|g| WarmKey {
                grantee_address: g.address,
                granted_at: g.expiration,
            })
            .collect()
    }

    fn grantees(&self, i: usize) -> Vec<SimGrantee> {
        let seed = self.universe.seed;
        let mut r = Rng::new(seed, Purpose::Grants, &[i as u64]);
        let mut out = Vec::new();
        let mut add = |r: &mut Rng, msgs: Vec<&'static str>| {
            let k = out.len() as u64;
            let mut bytes = [0u8; 20];
            Rng::new(seed, Purpose::GranteeAddress, &[i as u64, k]).fill(&mut bytes);
            // Each grantee gets its own 200-day window, so expirations differ.
            const DAY: i64 = 86_400;
            let secs = 1_772_323_200 + k as i64 * 200 * DAY + r.below(180 * DAY as u64) as i64;
            let nanos = r.range(1, 999_999_999) as u32;
            out.push(SimGrantee {
                address: encode_address(&bytes),
                bytes,
                expires_at: (secs, nanos),
                expiration: rfc3339_nanos(secs, nanos),
                msgs,
            });
        };
        let full = || WARM_KEY_MSG_TYPES.to_vec();
        let without = |name: &str| -> Vec<&'static str> {
            WARM_KEY_MSG_TYPES
                .iter()
                .copied()
                .filter(|t| !t.ends_with(&format!(".{name}")))
                .collect()
        };
        match self.participant(i).grants {
            GrantProfile::None => {}
            GrantProfile::Full(n) => {
                for _ in 0..n {
                    let mut msgs = full();
                    if r.percent(30) {
                        msgs.push(*r.pick(&UNRELATED_MSG_TYPES));
                    }
                    add(&mut r, msgs);
                }
            }
            GrantProfile::FullAndPartial => {
                let mut msgs = full();
                msgs.push(UNRELATED_MSG_TYPES[0]);
                add(&mut r, msgs);
                add(&mut r, without("MsgJoinTraining"));
            }
            GrantProfile::PartialOnly => {
                add(&mut r, without("MsgJoinTraining"));
                add(&mut r, without("MsgSubmitDealerPart"));
                add(&mut r, UNRELATED_MSG_TYPES.to_vec());
            }
            GrantProfile::Big(n) => {
                for _ in 0..n {
                    let mut msgs = full();
                    msgs.extend_from_slice(&UNRELATED_MSG_TYPES[..1 + r.below(2) as usize]);
                    add(&mut r, msgs);
                }
                add(&mut r, without("MsgJoinTraining"));
            }
        }
        out
    }
}

struct SimGrantee {
    address: String,
    bytes: [u8; 20],
    expires_at: (i64, u32),
    expiration: String,
    msgs: Vec<&'static str>,
}
