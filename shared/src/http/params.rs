//! Path and query parameters: every input validated before any I/O.

use crate::ids::ParticipantId;
use crate::service::ApiError;

/// Epoch ids and heights beyond these are input errors, not numbers to use
/// (they keep `epoch + 1` and friends far from overflow).
pub const MAX_EPOCH: u64 = 1_000_000_000;
pub const MAX_HEIGHT: u64 = 1_000_000_000_000_000;
/// First value of each query parameter, percent-decoded.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn parse_positive(raw: &str, max: u64, what: &str) -> Result<u64, ApiError> {
    let bad = |why: &str| ApiError::BadRequest(format!("Invalid {what}: {why}"));
    if raw.is_empty() || raw.len() > 20 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("must be a positive integer"));
    }
    match raw.parse::<u64>() {
        Ok(0) => Err(bad("must be at least 1")),
        Ok(v) if v <= max => Ok(v),
        _ => Err(bad("too large")),
    }
}

pub fn parse_epoch_id(raw: &str) -> Result<u64, ApiError> {
    parse_positive(raw, MAX_EPOCH, "epoch ID")
}

pub fn parse_height(raw: Option<String>) -> Result<Option<u64>, ApiError> {
    raw.map(|h| parse_positive(&h, MAX_HEIGHT, "height"))
        .transpose()
}

/// A participant id of a path: a lowercase, checksummed `gonka1...` address.
pub fn parse_participant_id(raw: &str) -> Result<ParticipantId, ApiError> {
    ParticipantId::parse(raw)
        .map_err(|e| ApiError::BadRequest(format!("Invalid participant ID: {e}")))
}

/// The required `epoch_id` query parameter.
pub fn required_epoch_id(query: Option<&str>) -> Result<u64, ApiError> {
    let epoch = query_param(query, "epoch_id")
        .ok_or_else(|| ApiError::BadRequest("epoch_id is required".into()))?;
    parse_epoch_id(&epoch)
}
