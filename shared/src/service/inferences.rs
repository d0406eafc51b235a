//! The answer of `GET /v1/participants/{id}/inferences?epoch_id=N`: the
//! record the last completed scan published, from the table only.

use serde::Serialize;

use super::ApiError;
use crate::domain::inferences::{InferenceDetail, InferenceLists};
use crate::ids::ParticipantId;
use crate::table::InferenceTable;
use crate::time::rfc3339_ms;

/// The contract's `ParticipantInferencesResponse`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParticipantInferencesResponse {
    pub epoch_id: u64,
    pub participant_id: String,
    pub successful: Vec<InferenceView>,
    pub expired: Vec<InferenceView>,
    pub invalidated: Vec<InferenceView>,
    /// When the scan that produced the record completed; null when no scan
    /// has covered this participant and epoch yet.
    pub cached_at: Option<String>,
}

/// `InferenceDetail` as served: the payloads are never kept, always null.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InferenceView {
    #[serde(flatten)]
    pub detail: InferenceDetail,
    pub prompt_payload: Option<String>,
    pub response_payload: Option<String>,
}

fn views(list: Vec<InferenceDetail>) -> Vec<InferenceView> {
    list.into_iter()
        .map(|detail| InferenceView {
            detail,
            prompt_payload: None,
            response_payload: None,
        })
        .collect()
}

/// The participant's published record for `epoch`, or empty lists with
/// `cached_at: null`.
pub async fn participant_inferences<T: InferenceTable>(
    table: &T,
    participant: &ParticipantId,
    epoch: u64,
) -> Result<ParticipantInferencesResponse, ApiError> {
    let found = table.load_inferences(participant, epoch).await?;
    let (lists, cached_at) = match found {
        Some(p) => (p.lists, Some(rfc3339_ms(p.cached_at_ms))),
        None => (InferenceLists::default(), None),
    };
    Ok(ParticipantInferencesResponse {
        epoch_id: epoch,
        participant_id: participant.to_string(),
        successful: views(lists.successful),
        expired: views(lists.expired),
        invalidated: views(lists.invalidated),
        cached_at,
    })
}
