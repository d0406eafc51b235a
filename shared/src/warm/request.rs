//! The warm hop's one contract: the payload epoch-stats sends and the
//! warmer accepts, with one validation.

use std::collections::HashSet;
use std::num::NonZeroU64;

use serde::{Deserialize, Serialize};

use crate::ids::ParticipantId;
use crate::table::LeaseToken;

/// Largest participant list a payload may carry (a real epoch has far
/// fewer; the bound keeps a hostile payload's work small).
pub const MAX_PAYLOAD_PARTICIPANTS: usize = 20_000;

/// The warmer's payload: small on purpose (async invoke payloads are capped
/// at 256 KB); without `participants` the warmer reads them from the table
/// (or the chain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmRequest {
    pub epoch_id: NonZeroU64,
    /// A finished epoch's warm keys and hardware are final once written.
    #[serde(default, deserialize_with = "null_as_false")]
    pub finished: bool,
    /// Explicit participants (each id validated on the way in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants: Option<Vec<ParticipantId>>,
    /// The epoch's warm lease the trigger claimed for this run; without
    /// it the warmer claims the lease itself (and skips the run while
    /// another holds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_token: Option<LeaseToken>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WarmRequestError {
    /// Not the payload's shape: wrong JSON type, a missing or invalid
    /// `epoch_id`, an id that is not a Gonka address.
    #[error("payload must be a JSON object with epoch_id (an integer >= 1), finished (a boolean), optional participants (an array of gonka1... addresses) and optional lease_token (a string): {0}")]
    Malformed(String),
    #[error("participants lists {0} ids, more than {MAX_PAYLOAD_PARTICIPANTS}")]
    TooManyParticipants(usize),
}

fn null_as_false<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

impl WarmRequest {
    pub fn new(epoch_id: NonZeroU64, finished: bool) -> Self {
        Self {
            epoch_id,
            finished,
            participants: None,
            lease_token: None,
        }
    }

    /// The request of the run that holds the epoch's lease as `token`.
    pub fn with_lease(self, token: LeaseToken) -> Self {
        Self {
            lease_token: Some(token),
            ..self
        }
    }

    pub fn epoch(&self) -> u64 {
        self.epoch_id.get()
    }

    /// Reads and validates an event; anything malformed is rejected whole.
    /// Repeated participants are kept once.
    pub fn from_event(event: &serde_json::Value) -> Result<Self, WarmRequestError> {
        let mut request =
            Self::deserialize(event).map_err(|e| WarmRequestError::Malformed(e.to_string()))?;
        if let Some(list) = &mut request.participants {
            if list.len() > MAX_PAYLOAD_PARTICIPANTS {
                return Err(WarmRequestError::TooManyParticipants(list.len()));
            }
            let mut seen = HashSet::with_capacity(list.len());
            list.retain(|id| seen.insert(id.clone()));
        }
        Ok(request)
    }

    pub fn to_payload(&self) -> Vec<u8> {
        // A struct of integers, booleans and strings always encodes.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const A: &str = "gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake364";
    const B: &str = "gonka1tt6mlr3r50uey8kxkktlxv8ht9zyrd4dtnvemu";

    fn epoch(n: u64) -> NonZeroU64 {
        NonZeroU64::new(n).unwrap()
    }

    #[test]
    fn what_the_trigger_sends_the_warmer_accepts() {
        for request in [
            WarmRequest::new(epoch(56), true),
            WarmRequest::new(epoch(1), false),
            WarmRequest::new(epoch(57), true).with_lease(LeaseToken::random()),
        ] {
            let event: serde_json::Value = serde_json::from_slice(&request.to_payload()).unwrap();
            assert_eq!(WarmRequest::from_event(&event), Ok(request));
        }
    }

    #[test]
    fn payload_validation() {
        let ok = |v: serde_json::Value| WarmRequest::from_event(&v).unwrap();
        assert_eq!(
            ok(json!({"epoch_id": 56})),
            WarmRequest::new(epoch(56), false)
        );
        assert!(ok(json!({"epoch_id": 56, "finished": true, "extra": 1})).finished);
        assert!(!ok(json!({"epoch_id": 56, "finished": null})).finished);
        assert_eq!(
            ok(json!({"epoch_id": 56, "lease_token": "3f2b-9c"})).lease_token,
            Some(LeaseToken::parse("3f2b-9c").unwrap())
        );
        assert_eq!(
            ok(json!({"epoch_id": 56, "lease_token": null})).lease_token,
            None
        );
        let deduped = ok(json!({"epoch_id": 5, "participants": [A, B, A, A]}))
            .participants
            .unwrap();
        assert_eq!(
            deduped.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            vec![A, B]
        );

        let too_many: Vec<String> = (0..MAX_PAYLOAD_PARTICIPANTS + 1)
            .map(|_| A.to_string())
            .collect();
        let cases = [
            (json!("56"), "JSON object"),
            (json!([]), "JSON object"),
            (json!({}), "missing field `epoch_id`"),
            (json!({"epoch_id": 0}), "nonzero"),
            (json!({"epoch_id": -3}), "epoch_id"),
            (json!({"epoch_id": "56"}), "epoch_id"),
            (json!({"epoch_id": 1.5}), "epoch_id"),
            (
                json!({"epoch_id": 5, "finished": "yes"}),
                "expected a boolean",
            ),
            (
                json!({"epoch_id": 5, "participants": "x"}),
                "expected a sequence",
            ),
            (
                json!({"epoch_id": 5, "participants": [1]}),
                "expected a string",
            ),
            (
                json!({"epoch_id": 5, "participants": [A, "../../x"]}),
                "not a valid bech32 address",
            ),
            (
                json!({"epoch_id": 5, "participants": too_many}),
                "more than",
            ),
            (
                json!({"epoch_id": 5, "lease_token": 7}),
                "expected a string",
            ),
            (
                json!({"epoch_id": 5, "lease_token": "../../x"}),
                "lease token",
            ),
            (
                json!({"epoch_id": 5, "lease_token": "a".repeat(65)}),
                "lease token",
            ),
        ];
        for (payload, want) in cases {
            let err = WarmRequest::from_event(&payload).unwrap_err().to_string();
            assert!(err.contains(want), "{payload}: {err}");
        }
    }
}
