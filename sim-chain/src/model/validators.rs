//! Validators, signing infos, the Keybase stand-in and node health: the
//! data of the jail and health jobs. Every participant's validator traits
//! come from its generation index, so any universe size has every case:
//! no validator, tokens 0, jailed always or only at some heights, monikers
//! that are the operator address, `javascript:` websites, found / unknown /
//! malformed Keybase identities, a consensus key that differs from the
//! epoch's, and nodes that answer 200, 503, a redirect, or nothing.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::universe::Model;
use super::wire::{NodeBehaviour, Validator, ValidatorDescription, ValidatorPubkey};
use crate::prng::{Purpose, Rng};

pub const VALOPER_HRP: &str = "gonkavaloper";
pub const VALCONS_HRP: &str = "gonkavalcons";

fn bech32(hrp: &str, data: &[u8]) -> String {
    bech32::encode::<bech32::Bech32>(bech32::Hrp::parse_unchecked(hrp), data).unwrap_or_default()
}

/// The consensus address of a base64 key (SHA-256, first 20 bytes).
pub fn valcons_of_key(key_b64: &str) -> Option<String> {
    let key = BASE64.decode(key_b64).ok()?;
    Some(bech32(VALCONS_HRP, &Sha256::digest(&key)[..20]))
}

/// Keybase identities the stand-in knows start with `A`; those starting
/// with `F` are unknown to it. Only the `hostile_links` knob makes the two
/// others: `B`, answered with a username no Keybase account can have (a
/// quote, a tag, a slash), and `C`, with a valid one in mixed case.
pub fn keybase_username(identity: &str) -> Option<String> {
    let id = identity.to_ascii_uppercase();
    if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let tail = id[10..].to_ascii_lowercase();
    match id.as_bytes()[0] {
        b'A' => Some(format!("user{tail}")),
        b'B' => Some(format!(r#"x"><img src=/{tail}>"#)),
        b'C' => Some(format!("User_{}", &id[10..])),
        _ => None,
    }
}

impl Model {
    /// Non-participant validators (they only fill the list).
    fn extra_validators(&self) -> usize {
        (self.participant_count() / 10).max(20)
    }

    /// Whether participant `i` has a validator at all.
    fn has_validator(i: usize) -> bool {
        i % 13 != 12
    }

    /// Participant `i`'s validator jailed at `height`: some always, some
    /// only while an even epoch is in charge (so a finished epoch's
    /// canonical height and the latest one differ).
    pub fn is_jailed_at(&self, i: usize, height: u64) -> bool {
        match i % 7 {
            3 => true,
            4 => self.epoch_at_height(height).is_multiple_of(2),
            _ => false,
        }
    }

    /// The consensus key the validator registered (for some, not the
    /// epoch's `validator_key`).
    pub fn consensus_key(&self, i: usize) -> String {
        if i % 9 == 4 {
            let mut key = [0u8; 32];
            Rng::new(self.seed(), Purpose::Misc, &[0xc0, i as u64]).fill(&mut key);
            BASE64.encode(key)
        } else {
            self.participant(i).validator_key.clone()
        }
    }

    fn participant_validator(&self, i: usize, height: u64) -> Option<Validator> {
        if !Self::has_validator(i) {
            return None;
        }
        let p = self.participant(i);
        let operator_address = bech32(VALOPER_HRP, &p.bytes);
        let moniker = match i % 5 {
            0 => operator_address.clone(),
            1 => String::new(),
            _ => format!("  node-{i} "),
        };
        let identity = self.hostile_identity(i).unwrap_or_else(|| match i % 6 {
            0 => format!("A{:015X}", i),
            2 => format!("F{:015X}", i),
            4 => "not-a-keybase-id".into(),
            _ => String::new(),
        });
        let website = self.hostile_website(i).unwrap_or_else(|| match i % 8 {
            0 => "javascript:alert(document.cookie)".into(),
            1 => format!("https://node{i}.example.com"),
            2 => String::new(),
            _ => format!("http://example.org/{i}"),
        });
        let tokens = if i % 17 == 5 {
            "0".into()
        } else {
            format!("{}000000", 1 + p.weight_scale)
        };
        Some(Validator {
            operator_address,
            consensus_pubkey: ValidatorPubkey {
                type_url: "/cosmos.crypto.ed25519.PubKey",
                key: self.consensus_key(i),
            },
            jailed: self.is_jailed_at(i, height),
            status: "BOND_STATUS_BONDED",
            delegator_shares: format!("{tokens}.000000000000000000"),
            tokens,
            description: ValidatorDescription {
                moniker,
                identity,
                website,
                security_contact: String::new(),
                details: String::new(),
            },
        })
    }

    fn extra_validator(&self, k: usize) -> Validator {
        let mut bytes = [0u8; 20];
        Rng::new(self.seed(), Purpose::Misc, &[0xe0, k as u64]).fill(&mut bytes);
        let mut key = [0u8; 32];
        Rng::new(self.seed(), Purpose::Misc, &[0xe1, k as u64]).fill(&mut key);
        Validator {
            operator_address: bech32(VALOPER_HRP, &bytes),
            consensus_pubkey: ValidatorPubkey {
                type_url: "/cosmos.crypto.ed25519.PubKey",
                key: BASE64.encode(key),
            },
            jailed: false,
            status: "BOND_STATUS_BONDED",
            tokens: "1000000".into(),
            delegator_shares: "1000000.000000000000000000".into(),
            description: ValidatorDescription {
                moniker: format!("extra-{k}"),
                identity: String::new(),
                website: String::new(),
                security_contact: String::new(),
                details: String::new(),
            },
        }
    }

    /// Every validator at `height`, in the store's order (operator address).
    pub fn validators(&self, height: u64) -> Vec<Validator> {
        let mut all: Vec<Validator> = (0..self.participant_count())
            .filter_map(|i| self.participant_validator(i, height))
            .chain((0..self.extra_validators()).map(|k| self.extra_validator(k)))
            .collect();
        all.sort_by(|a, b| a.operator_address.cmp(&b.operator_address));
        all
    }

    /// The validator of participant `address` at `height`, if it has one.
    pub fn validator_of(&self, address: &str, height: u64) -> Option<Validator> {
        self.participant_validator(self.index_of(address)?, height)
    }

    /// `jailed_until` of the jailed validator with consensus address
    /// `valcons` at `height`: in the future, in the past, or the zero time.
    pub fn jailed_until(&self, valcons: &str, height: u64) -> Option<String> {
        let i = (0..self.participant_count()).find(|&i| {
            Self::has_validator(i)
                && self.is_jailed_at(i, height)
                && valcons_of_key(&self.consensus_key(i)).as_deref() == Some(valcons)
        })?;
        Some(match i % 3 {
            0 => "2099-01-01T00:00:00.123456789Z".into(),
            1 => "2024-03-04T05:06:07.891011121Z".into(),
            _ => "1970-01-01T00:00:00Z".into(),
        })
    }

    /// How participant `i`'s node answers.
    pub fn node_behaviour(&self, i: usize) -> NodeBehaviour {
        match i % 4 {
            0 => NodeBehaviour::Healthy,
            1 => NodeBehaviour::Unavailable,
            2 => NodeBehaviour::Redirect(i - 2),
            _ => NodeBehaviour::Unreachable,
        }
    }

    /// Participant `address`'s node behaviour (by address).
    pub fn node_behaviour_of(&self, address: &str) -> Option<NodeBehaviour> {
        Some(self.node_behaviour(self.index_of(address)?))
    }

    /// The generation index of a node path segment (`/node/{i}/health`).
    pub fn node_index(&self, segment: &str) -> Option<usize> {
        segment
            .parse::<usize>()
            .ok()
            .filter(|&i| i < self.participant_count())
    }
}

/// The validators page's `next_key`: base64 with `+`, `/` and `=` in it,
/// so a client must URL-encode it.
pub(crate) fn encode_validator_key(offset: usize) -> String {
    let mut raw = vec![0xfb, 0xef, 0xbe];
    raw.extend_from_slice(&(offset as u64).to_be_bytes());
    raw.extend_from_slice(&[0xff, 0xfe]);
    BASE64.encode(raw)
}

/// Strict: a key whose `+` arrived as a space (not URL-encoded) is refused.
pub(crate) fn decode_validator_key(key: &str) -> Option<usize> {
    let raw = BASE64.decode(key).ok()?;
    match raw.as_slice() {
        [0xfb, 0xef, 0xbe, rest @ .., 0xff, 0xfe] if rest.len() == 8 => {
            usize::try_from(u64::from_be_bytes(rest.try_into().ok()?)).ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validator_keys_need_url_encoding_and_round_trip() {
        for offset in [200, 400, 12_345] {
            let key = encode_validator_key(offset);
            assert!(key.contains('+') || key.contains('/'), "{key}");
            assert!(key.ends_with('='), "{key}");
            assert_eq!(decode_validator_key(&key), Some(offset));
            assert_eq!(decode_validator_key(&key.replace('+', " ")), None);
        }
    }

    #[test]
    fn the_keybase_stand_in() {
        assert_eq!(
            keybase_username("A00000000000000C").as_deref(),
            Some("user00000c")
        );
        assert_eq!(keybase_username("F00000000000000C"), None);
        assert_eq!(
            keybase_username("B00000000000000C").as_deref(),
            Some(r#"x"><img src=/00000c>"#)
        );
        assert_eq!(
            keybase_username("C00000000000000C").as_deref(),
            Some("User_00000C")
        );
        assert_eq!(keybase_username("A0"), None);
    }
}
