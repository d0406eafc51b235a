//! Bech32 account addresses.

use super::params::HRP;

/// Encodes a 20-byte account payload as a `gonka1...` bech32 address.
pub fn encode_address(bytes: &[u8; 20]) -> String {
    match bech32::Hrp::parse(HRP) {
        Ok(hrp) => bech32::encode::<bech32::Bech32>(hrp, bytes).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// True for a syntactically valid `gonka1...` account address (20-byte payload).
pub fn is_valid_address(addr: &str) -> bool {
    matches!(bech32::decode(addr), Ok((hrp, data)) if hrp.as_str() == HRP && data.len() == 20)
}
