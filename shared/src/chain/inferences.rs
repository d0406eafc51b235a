//! The inference list, for the inference scan: a narrow port
//! ([`InferenceChain`]) beside [`super::Chain`], its types, and its
//! [`HttpChain`] adapter (the same failover, retry, timeouts and body cap).
//!
//! `prompt_payload` and `response_payload` (full texts, up to MBs) are not
//! fields here: serde skips them while parsing without copying them.

use std::future::Future;

use serde::Deserialize;
use serde_with::{serde_as, DefaultOnNull};

use super::endpoints::encode_query_value;
use super::http::HttpChain;
use super::num;
use super::port::{ChainError, ChainResult};
use super::types::Pagination;
use crate::domain::ListedInference;

/// Inferences per page: the tracker's, and the chain's usual maximum.
pub const INFERENCE_PAGE_LIMIT: usize = 500;

const INFERENCE_LIST_PATH: &str = "/chain-api/productscience/inference/inference/inference";

/// One inference as the list's body gives it, only the fields the scan
/// keeps or sorts by. Every field may be missing or null (one odd row never
/// fails a page).
#[serde_as]
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct InferenceEntry {
    #[serde(default)]
    pub inference_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub assigned_to: Option<String>,
    /// A uint64 as text; `"0"` when the chain did not record it.
    #[serde(default, deserialize_with = "num::optional_text")]
    pub epoch_id: Option<String>,
    #[serde(default, deserialize_with = "num::optional_text")]
    pub start_block_height: Option<String>,
    /// Milliseconds since the Unix epoch, as text.
    #[serde(default, deserialize_with = "num::optional_text")]
    pub start_block_timestamp: Option<String>,
    #[serde(default)]
    #[serde_as(as = "DefaultOnNull")]
    pub validated_by: Vec<String>,
    #[serde(default)]
    pub prompt_hash: Option<String>,
    #[serde(default)]
    pub response_hash: Option<String>,
    #[serde(default, deserialize_with = "num::optional_text")]
    pub prompt_token_count: Option<String>,
    #[serde(default, deserialize_with = "num::optional_text")]
    pub completion_token_count: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
}

/// One page of the list's body.
#[serde_as]
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
struct InferencePageBody {
    // Required (null allowed): a body without it is the wrong shape.
    #[serde_as(as = "DefaultOnNull")]
    inference: Vec<InferenceEntry>,
    #[serde(default)]
    pagination: Option<Pagination>,
}

/// One page of the list, as the domain reads it, and where the next one
/// starts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InferencePage {
    pub inference: Vec<ListedInference>,
    pub pagination: Option<Pagination>,
}

impl From<InferencePageBody> for InferencePage {
    fn from(b: InferencePageBody) -> Self {
        Self {
            inference: b
                .inference
                .into_iter()
                .map(InferenceEntry::into_domain)
                .collect(),
            pagination: b.pagination,
        }
    }
}

impl InferenceEntry {
    /// As the domain reads it.
    pub fn into_domain(self) -> ListedInference {
        let e = self;
        ListedInference {
            inference_id: e.inference_id,
            status: e.status,
            assigned_to: e.assigned_to,
            epoch_id: e.epoch_id,
            start_block_height: e.start_block_height,
            start_block_timestamp: e.start_block_timestamp,
            validated_by: e.validated_by,
            prompt_hash: e.prompt_hash,
            response_hash: e.response_hash,
            prompt_token_count: e.prompt_token_count,
            completion_token_count: e.completion_token_count,
            model: e.model,
        }
    }
}

impl InferencePage {
    /// The key of the next page; `None` on the last page.
    pub fn next_key(&self) -> Option<&str> {
        self.pagination
            .as_ref()
            .and_then(|p| p.next_key.as_deref())
            .filter(|k| !k.is_empty())
    }
}

/// The current epoch as the scan frames it: its id C, its effective block
/// height E, and its members (each gets a record even with no inference).
#[serde_as]
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct CurrentEpochMembers {
    #[serde_as(as = "num::Int")]
    pub epoch_group_id: u64,
    #[serde_as(as = "num::Int")]
    pub effective_block_height: u64,
    #[serde_as(as = "DefaultOnNull")]
    pub participants: Vec<super::types::MemberId>,
}

#[derive(Deserialize)]
struct CurrentEpochMembersResponse {
    active_participants: CurrentEpochMembers,
}

/// What the inference scan reads from the chain, beyond [`super::Chain`].
pub trait InferenceChain: Send + Sync {
    /// One page of the inference list as of `height` (`X-Cosmos-Block-Height`),
    /// from `key` (`None`: the first page).
    fn inference_page(
        &self,
        key: Option<&str>,
        height: u64,
    ) -> impl Future<Output = ChainResult<InferencePage>> + Send;

    /// The current epoch's id, effective height and member ids, the rest of
    /// each entry skipped while parsing.
    fn current_epoch_members(
        &self,
    ) -> impl Future<Output = ChainResult<CurrentEpochMembers>> + Send;
}

/// The path of one page; the key (the chain's own base64) is URL-encoded.
fn inference_page_path(key: Option<&str>) -> String {
    let base = format!("{INFERENCE_LIST_PATH}?pagination.limit={INFERENCE_PAGE_LIMIT}");
    match key {
        Some(k) => format!("{base}&pagination.key={}", encode_query_value(k)),
        None => base,
    }
}

impl InferenceChain for HttpChain {
    async fn inference_page(&self, key: Option<&str>, height: u64) -> ChainResult<InferencePage> {
        let path = inference_page_path(key);
        self.get::<InferencePageBody>(&path, Some(height))
            .await?
            .map(InferencePage::from)
            .ok_or_else(|| ChainError::BadResponse(format!("{INFERENCE_LIST_PATH}: not found")))
    }

    async fn current_epoch_members(&self) -> ChainResult<CurrentEpochMembers> {
        let path = "/v1/epochs/current/participants";
        self.get::<CurrentEpochMembersResponse>(path, None)
            .await?
            .map(|r| r.active_participants)
            .ok_or_else(|| ChainError::BadResponse(format!("{path}: not found")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_paths_encode_the_key() {
        assert_eq!(
            inference_page_path(None),
            "/chain-api/productscience/inference/inference/inference?pagination.limit=500"
        );
        assert_eq!(
            inference_page_path(Some("AQ+/=")),
            "/chain-api/productscience/inference/inference/inference?pagination.limit=500&pagination.key=AQ%2B%2F%3D"
        );
    }

    /// Payloads are skipped, numbers read as text, nulls tolerated.
    #[test]
    fn decodes_only_what_is_kept() {
        let body = r#"{"inference":[
            {"inference_id":"a","status":"FINISHED","assigned_to":"gonka1x","epoch_id":"0",
             "start_block_height":"120","start_block_timestamp":1760843520123,
             "validated_by":null,"prompt_payload":"PROMPT","response_payload":"RESPONSE",
             "prompt_token_count":"12","completion_token_count":null,"model":"m"},
            {}],
            "pagination":{"next_key":"AQ==","total":"0"}}"#;
        let page = InferencePage::from(serde_json::from_str::<InferencePageBody>(body).unwrap());
        assert_eq!(page.next_key(), Some("AQ=="));
        let first = &page.inference[0];
        assert_eq!(first.epoch_id.as_deref(), Some("0"));
        assert_eq!(
            first.start_block_timestamp.as_deref(),
            Some("1760843520123")
        );
        assert_eq!(first.prompt_token_count.as_deref(), Some("12"));
        assert_eq!(first.completion_token_count, None);
        assert!(first.validated_by.is_empty());
        assert_eq!(page.inference[1], ListedInference::default());
        let last = InferencePage::from(
            serde_json::from_str::<InferencePageBody>(
                r#"{"inference":null,"pagination":{"next_key":""}}"#,
            )
            .unwrap(),
        );
        assert_eq!((last.inference.len(), last.next_key()), (0, None));
        assert!(serde_json::from_str::<InferencePageBody>(r#"{"unexpected":true}"#).is_err());
    }
}
