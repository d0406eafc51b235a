//! The staking and slashing reads of the jail fetch (docs/contract-part2.md 4.2):
//! a narrow port of its own, [`ValidatorChain`], and its [`HttpChain`]
//! adapter (the same failover, retry, timeout and body cap as every call).

use std::collections::HashSet;
use std::future::Future;

use serde::Deserialize;
use serde_with::{serde_as, DefaultOnNull};

use super::endpoints::encode_query_value;
use super::http::HttpChain;
use super::port::{ChainError, ChainResult};
use super::types::Pagination;

/// Validators per page (the tracker's page size).
pub const VALIDATOR_PAGE: usize = 200;
/// A validator list longer than this many pages is treated as broken.
pub const VALIDATOR_MAX_PAGES: usize = 100;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ConsensusPubkey {
    #[serde(default)]
    pub key: Option<String>,
    /// Some encodings name the field `value`.
    #[serde(default)]
    pub value: Option<String>,
}

impl ConsensusPubkey {
    pub fn base64(&self) -> Option<&str> {
        self.key.as_deref().or(self.value.as_deref())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ValidatorDescription {
    #[serde(default)]
    pub moniker: Option<String>,
    #[serde(default)]
    pub identity: Option<String>,
    #[serde(default)]
    pub website: Option<String>,
}

#[serde_as]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Validator {
    #[serde(default)]
    pub operator_address: String,
    #[serde(default)]
    pub consensus_pubkey: Option<ConsensusPubkey>,
    #[serde_as(as = "DefaultOnNull")]
    #[serde(default)]
    pub jailed: bool,
    /// An integer as text, possibly larger than 64 bits.
    #[serde(default)]
    pub tokens: Option<String>,
    #[serde(default)]
    pub description: Option<ValidatorDescription>,
}

impl Validator {
    /// `tokens > 0` (read as a decimal string of any length).
    pub fn has_tokens(&self) -> bool {
        self.tokens.as_deref().is_some_and(|t| {
            let t = t.trim();
            !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) && t.bytes().any(|b| b != b'0')
        })
    }
}

#[serde_as]
#[derive(Debug, Clone, Deserialize)]
struct ValidatorsPage {
    #[serde_as(as = "DefaultOnNull")]
    #[serde(default)]
    validators: Vec<Validator>,
    #[serde(default)]
    pagination: Option<Pagination>,
}

#[derive(Debug, Clone, Deserialize)]
struct SigningInfoResponse {
    #[serde(default)]
    val_signing_info: Option<SigningInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct SigningInfo {
    #[serde(default)]
    pub jailed_until: Option<String>,
}

/// The chain reads of the jail fetch.
pub trait ValidatorChain: Send + Sync {
    /// Every validator as of `height`, following `pagination.next_key`
    /// (capped at [`VALIDATOR_MAX_PAGES`]; a key seen before is an error,
    /// never a shorter list).
    fn validators(&self, height: u64) -> impl Future<Output = ChainResult<Vec<Validator>>> + Send;

    /// The signing info of a consensus address as of `height`; `None` when
    /// the chain has none.
    fn signing_info(
        &self,
        valcons: &str,
        height: u64,
    ) -> impl Future<Output = ChainResult<Option<SigningInfo>>> + Send;
}

impl ValidatorChain for HttpChain {
    async fn validators(&self, height: u64) -> ChainResult<Vec<Validator>> {
        let base = format!(
            "/chain-api/cosmos/staking/v1beta1/validators?pagination.limit={VALIDATOR_PAGE}"
        );
        let mut all = Vec::new();
        let mut seen_keys = HashSet::new();
        let mut path = base.clone();
        for _ in 0..VALIDATOR_MAX_PAGES {
            let page: ValidatorsPage = self
                .get(&path, Some(height))
                .await?
                .ok_or_else(|| ChainError::BadResponse("validators: not found".into()))?;
            all.extend(page.validators);
            let next = page
                .pagination
                .and_then(|p| p.next_key)
                .filter(|k| !k.is_empty());
            match next {
                Some(key) if seen_keys.insert(key.clone()) => {
                    path = format!("{base}&pagination.key={}", encode_query_value(&key));
                }
                // A node repeating a key would loop forever, and what was
                // read is not the whole list: stored as complete, it would
                // drop validators (their jail statuses) until the next run.
                Some(key) => {
                    return Err(ChainError::BadResponse(format!(
                        "validators: next_key {key} repeated after {} pages",
                        seen_keys.len() + 1
                    )));
                }
                None => return Ok(all),
            }
        }
        Err(ChainError::BadResponse(format!(
            "validators: more than {VALIDATOR_MAX_PAGES} pages"
        )))
    }

    async fn signing_info(&self, valcons: &str, height: u64) -> ChainResult<Option<SigningInfo>> {
        // `valcons` is our own bech32 encoding (letters and digits only), so
        // it cannot reshape the path; encoded anyway.
        let path = format!(
            "/chain-api/cosmos/slashing/v1beta1/signing_infos/{}",
            encode_query_value(valcons)
        );
        Ok(self
            .get::<SigningInfoResponse>(&path, Some(height))
            .await?
            .and_then(|r| r.val_signing_info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_must_be_positive() {
        let cases = [
            (Some("1"), true),
            (Some("000"), false),
            (Some("0"), false),
            (Some("123456789012345678901234567890"), true),
            (Some("-5"), false),
            (Some("1.5"), false),
            (Some(""), false),
            (None, false),
        ];
        for (tokens, want) in cases {
            let v = Validator {
                tokens: tokens.map(str::to_owned),
                ..Validator::default()
            };
            assert_eq!(v.has_tokens(), want, "{tokens:?}");
        }
    }

    #[test]
    fn reads_a_page_with_nulls() {
        let page: ValidatorsPage = serde_json::from_str(
            r#"{"validators":[{"operator_address":"x","consensus_pubkey":{"@type":"t","key":"k"},
            "jailed":null,"tokens":"5","description":null}],"pagination":{"next_key":null,"total":"1"}}"#,
        )
        .unwrap();
        assert_eq!(page.validators.len(), 1);
        assert!(!page.validators[0].jailed);
        assert_eq!(
            page.validators[0]
                .consensus_pubkey
                .as_ref()
                .unwrap()
                .base64(),
            Some("k")
        );
        let empty: ValidatorsPage = serde_json::from_str(r#"{"validators":null}"#).unwrap();
        assert!(empty.validators.is_empty());
    }
}
