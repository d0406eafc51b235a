//! The validator addresses a participant is known by on the staking and
//! slashing modules (docs/contract-part2.md 4.2): the operator address (valoper)
//! is the account's bech32 data under another prefix; the consensus
//! address (valcons) is the first 20 bytes of SHA-256 of the consensus
//! public key. Both BIP-173 bech32 (not bech32m).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32, Hrp};
use sha2::{Digest, Sha256};

pub const VALOPER_HRP: &str = "gonkavaloper";
pub const VALCONS_HRP: &str = "gonkavalcons";

/// The operator address of an account (`gonka1...` → `gonkavaloper1...`);
/// `None` when `account` is not valid bech32.
pub fn valoper_of(account: &str) -> Option<String> {
    let checked = CheckedHrpstring::new::<Bech32>(account).ok()?;
    let data: Vec<u8> = checked.byte_iter().collect();
    bech32::encode::<Bech32>(Hrp::parse_unchecked(VALOPER_HRP), &data).ok()
}

/// The consensus address of a base64 consensus public key; `None` when the
/// key is not base64.
pub fn valcons_of(consensus_pubkey_b64: &str) -> Option<String> {
    let key = BASE64.decode(consensus_pubkey_b64.trim()).ok()?;
    let digest = Sha256::digest(&key);
    bech32::encode::<Bech32>(Hrp::parse_unchecked(VALCONS_HRP), &digest[..20]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contract's vectors (from the recorded `current_epoch_participants.json`).
    #[test]
    fn derives_the_contract_vectors() {
        let valoper = [
            (
                "gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake364",
                Some("gonkavaloper14cu38xpsd8pz5zdkkzwf0jwtpc0vv309pkgkdc"),
            ),
            ("gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake365", None),
            ("not-bech32", None),
            ("", None),
        ];
        for (account, want) in valoper {
            assert_eq!(valoper_of(account).as_deref(), want, "{account}");
        }
        let valcons = [
            (
                "Y+sAwFpAU50lwxqskBwChJFj7yjpTcB3m8oEsgXyVrI=",
                Some("gonkavalcons1rye67t89ghzk5y5p4rrup2kdssc3pua03v58lz"),
            ),
            (
                "BUWZfCeWI3O+UXcmCbnjacmi0RY0PzX/8aJKdy3rP48=",
                Some("gonkavalcons1jqddcv7n5c7tl8h30wxttuz0nyy863lq7r8kns"),
            ),
            ("not base64!", None),
        ];
        for (key, want) in valcons {
            assert_eq!(valcons_of(key).as_deref(), want, "{key}");
        }
    }

    /// The intermediate value of the first vector: SHA-256[:20] as the
    /// contract prints it.
    #[test]
    fn the_consensus_address_is_sha256_truncated() {
        let key = BASE64
            .decode("Y+sAwFpAU50lwxqskBwChJFj7yjpTcB3m8oEsgXyVrI=")
            .unwrap();
        let digest = Sha256::digest(&key);
        let hex: String = digest[..20].iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(hex, "1933AF2CE545C56A1281A8C7C0AACD843110F3AF");
    }
}
