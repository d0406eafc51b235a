//! The [`Chain`] port over [`HttpChain`]: each call's path, and what of the
//! answer it keeps (required answers, 404s, authz paging).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::http::HttpChain;
use super::network_types::{BlockStamp, RpcBlockStamp};
use super::port::{Chain, ChainError, ChainResult, EpochRef};
use super::types::*;
use crate::domain::{self, EpochRoster, ListedMember};
use crate::ids::ParticipantId;

/// Grants per authz page (the chain's default maximum page size is 100).
const AUTHZ_PAGE: usize = 100;
/// A granter with more pages than this is treated as a broken answer.
const AUTHZ_MAX_PAGES: usize = 200;

/// Required answers: a 404 there means the chain is not serving what it must.
fn required<T>(path: &str, v: Option<T>) -> ChainResult<T> {
    v.ok_or_else(|| ChainError::BadResponse(format!("{path}: not found")))
}

impl Chain for HttpChain {
    fn upstream_calls(&self) -> u64 {
        self.calls()
    }

    async fn latest_epoch(&self) -> ChainResult<LatestEpoch> {
        let path = "/v1/epochs/latest";
        required(path, self.get(path, None).await?)
    }

    async fn epoch_participants(&self, epoch: EpochRef) -> ChainResult<Option<EpochRoster>> {
        Ok(self
            .get::<EpochParticipantsResponse>(&epoch_participants_path(epoch), None)
            .await?
            .map(|r| r.active_participants.into_domain()))
    }

    async fn epoch_member_ids(&self, epoch: EpochRef) -> ChainResult<Option<Vec<String>>> {
        Ok(self
            .get::<EpochMembersResponse>(&epoch_participants_path(epoch), None)
            .await?
            .map(|r| {
                r.active_participants
                    .participants
                    .into_iter()
                    .map(|p| p.index)
                    .collect()
            }))
    }

    async fn latest_height(&self) -> ChainResult<u64> {
        let path = "/chain-rpc/status";
        Ok(required(path, self.get::<RpcStatus>(path, None).await?)?
            .result
            .sync_info
            .latest_block_height)
    }

    async fn block_stamp(&self, height: u64) -> ChainResult<Option<BlockStamp>> {
        let path = format!("/chain-rpc/block?height={height}");
        Ok(self
            .get::<RpcBlockStamp>(&path, None)
            .await?
            .map(super::network::stamp))
    }

    async fn participant_list(&self, height: u64) -> ChainResult<Vec<ListedMember>> {
        let path =
            "/chain-api/productscience/inference/inference/participant?pagination.limit=10000";
        Ok(required(
            path,
            self.get::<ParticipantListResponse>(path, Some(height))
                .await?,
        )?
        .participant
        .into_iter()
        .map(ListedParticipant::into_domain)
        .collect())
    }

    async fn performance_summary(
        &self,
        epoch: u64,
        participant: &ParticipantId,
    ) -> ChainResult<Option<PerformanceSummary>> {
        let path = format!("/chain-api/productscience/inference/inference/epoch_performance_summary/{epoch}/{participant}");
        Ok(self
            .get::<PerformanceSummaryResponse>(&path, None)
            .await?
            .map(|r| r.summary))
    }

    async fn authz_grants(&self, granter: &ParticipantId) -> ChainResult<Vec<domain::Grant>> {
        let base = format!("/chain-api/cosmos/authz/v1beta1/grants/granter/{granter}?pagination.limit={AUTHZ_PAGE}");
        let mut grants = Vec::new();
        let mut cursor = PageCursor::Offset(0);
        let mut seen_keys = std::collections::HashSet::new();
        for _ in 0..AUTHZ_MAX_PAGES {
            let path = match &cursor {
                PageCursor::Offset(0) => base.clone(),
                PageCursor::Offset(k) => format!("{base}&pagination.offset={k}"),
                PageCursor::Key(key) => {
                    format!("{base}&pagination.key={}", encode_query_value(key))
                }
            };
            // An unknown granter is a granter without grants.
            let Some(page) = self.get::<GrantsPage>(&path, None).await? else {
                return Ok(grants);
            };
            let count = page.grants.len();
            grants.extend(page.grants.into_iter().map(Grant::into_domain));
            let next_key = page
                .pagination
                .and_then(|p| p.next_key)
                .filter(|k| !k.is_empty());
            cursor = match (next_key, &cursor) {
                // A key seen before: the node is looping, and the grants
                // read so far are not all of them (warm keys would be
                // missing), so the listing fails rather than ends.
                (Some(key), _) if !seen_keys.insert(key.clone()) => {
                    return Err(ChainError::BadResponse(format!(
                        "authz grants of {granter}: next_key {key} repeated"
                    )));
                }
                (Some(key), _) => PageCursor::Key(key),
                // A node that pages by key ends the list with a null key.
                (None, PageCursor::Key(_)) => return Ok(grants),
                // Nodes that never return next_key: keep paging by offset
                // while pages come back full.
                (None, PageCursor::Offset(_)) if count >= AUTHZ_PAGE => {
                    PageCursor::Offset(grants.len())
                }
                (None, PageCursor::Offset(_)) => return Ok(grants),
            };
        }
        Err(ChainError::BadResponse(format!(
            "authz grants of {granter}: more than {AUTHZ_MAX_PAGES} pages"
        )))
    }

    async fn hardware_nodes(
        &self,
        participant: &ParticipantId,
    ) -> ChainResult<Vec<domain::HardwareNode>> {
        let path =
            format!("/chain-api/productscience/inference/inference/hardware_nodes/{participant}");
        Ok(self
            .get::<HardwareNodesResponse>(&path, None)
            .await?
            .and_then(|r| r.nodes)
            .map(|n| {
                n.hardware_nodes
                    .into_iter()
                    .map(HardwareNode::into_domain)
                    .collect()
            })
            .unwrap_or_default())
    }
}

fn epoch_participants_path(epoch: EpochRef) -> String {
    match epoch {
        EpochRef::Current => "/v1/epochs/current/participants".to_owned(),
        EpochRef::Number(n) => format!("/v1/epochs/{n}/participants"),
    }
}

enum PageCursor {
    Offset(usize),
    Key(String),
}

/// RFC 3986's unreserved characters; every other byte is percent-encoded.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a base64 pagination key for a query string.
pub(super) fn encode_query_value(v: &str) -> String {
    utf8_percent_encode(v, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_pagination_keys() {
        assert_eq!(encode_query_value("AbC+/=="), "AbC%2B%2F%3D%3D");
        assert_eq!(encode_query_value("a-b_c.d~"), "a-b_c.d~");
        assert_eq!(encode_query_value("é &"), "%C3%A9%20%26");
    }
}
