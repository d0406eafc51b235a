//! Validated identifiers. A [`ParticipantId`] can only be built from a
//! checksummed `gonka1...` bech32 account address, so every upstream path
//! built from one is safe by construction (no slashes, dots or escapes).

use std::fmt;

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32, Hrp};
use serde::{Deserialize, Serialize};

/// Human-readable part of Gonka account addresses.
pub const ACCOUNT_HRP: &str = "gonka";

/// Longest address accepted (a 32-byte payload is 64 chars); longer input is
/// rejected before any decoding work.
const MAX_ADDRESS_LEN: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("participant id must not be empty")]
    Empty,
    #[error("participant id is too long ({0} characters)")]
    TooLong(usize),
    #[error("participant id must be a lowercase gonka1... bech32 address")]
    NotLowercase,
    #[error("participant id is not a valid bech32 address: {0}")]
    Bech32(String),
    #[error("participant id has prefix '{0}', expected 'gonka'")]
    WrongPrefix(String),
    #[error("participant id has a {0}-byte payload, expected 20 or 32")]
    BadLength(usize),
}

/// A Gonka account address (`gonka1...`), checksum-verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ParticipantId(String);

impl ParticipantId {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        if input.is_empty() {
            return Err(IdError::Empty);
        }
        if input.len() > MAX_ADDRESS_LEN {
            return Err(IdError::TooLong(input.chars().count()));
        }
        // bech32 also allows all-uppercase; we keep one canonical spelling so
        // cache keys and upstream paths never differ for the same account.
        if input.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(IdError::NotLowercase);
        }
        let checked =
            CheckedHrpstring::new::<Bech32>(input).map_err(|e| IdError::Bech32(e.to_string()))?;
        let hrp = checked.hrp();
        if hrp != Hrp::parse_unchecked(ACCOUNT_HRP) {
            return Err(IdError::WrongPrefix(hrp.to_string()));
        }
        let len = checked.byte_iter().len();
        if len != 20 && len != 32 {
            return Err(IdError::BadLength(len));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Encodes raw account bytes (used by the simulated chain and tests).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdError> {
        let encoded = bech32::encode::<Bech32>(Hrp::parse_unchecked(ACCOUNT_HRP), bytes)
            .map_err(|e| IdError::Bech32(e.to_string()))?;
        Self::parse(&encoded)
    }
}

impl fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ParticipantId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ParticipantId::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for ParticipantId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE_ID: &str = "gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake364";

    #[test]
    fn accepts_and_rejects() {
        let long = format!("gonka1{}", "q".repeat(2000));
        let cosmos = bech32::encode::<Bech32>(Hrp::parse("cosmos").unwrap(), &[7u8; 20]).unwrap();
        let bech32m =
            bech32::encode::<bech32::Bech32m>(Hrp::parse("gonka").unwrap(), &[7u8; 20]).unwrap();
        let short_payload =
            bech32::encode::<Bech32>(Hrp::parse("gonka").unwrap(), &[7u8; 8]).unwrap();
        let mut flipped = FIXTURE_ID.to_string();
        flipped.replace_range(10..11, "q");
        let cases: Vec<(&str, Result<(), IdError>)> = vec![
            (FIXTURE_ID, Ok(())),
            ("gonka1tt6mlr3r50uey8kxkktlxv8ht9zyrd4dtnvemu", Ok(())),
            ("", Err(IdError::Empty)),
            (&long, Err(IdError::TooLong(2006))),
            (
                "GONKA14CU38XPSD8PZ5ZDKKZWF0JWTPC0VV309AKE364",
                Err(IdError::NotLowercase),
            ),
            (&cosmos, Err(IdError::WrongPrefix("cosmos".into()))),
            (&short_payload, Err(IdError::BadLength(8))),
        ];
        for (input, expected) in cases {
            assert_eq!(
                ParticipantId::parse(input).map(|_| ()),
                expected,
                "input {input:?}"
            );
        }
        for bad in [
            "../../x",
            "gonka1",
            "gonka1/../../etc",
            "gonka1%2e%2e",
            &flipped,
            &bech32m,
            "gonka1ü",
        ] {
            assert!(
                matches!(ParticipantId::parse(bad), Err(IdError::Bech32(_))),
                "{bad:?} must be rejected"
            );
        }
    }

    #[test]
    fn round_trips_bytes() {
        let id = ParticipantId::from_bytes(&[1u8; 20]).unwrap();
        assert!(id.as_str().starts_with("gonka1"));
        assert_eq!(ParticipantId::parse(id.as_str()).unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<ParticipantId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<ParticipantId>("\"gonka1xyz\"").is_err());
    }
}
