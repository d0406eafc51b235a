//! What the network views share: their stored items read and written as
//! JSON, the request path's one rule (stored, refreshed or stale), and
//! the refreshes' error.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::chain::ChainError;
use crate::service::epochs::Source;
use crate::table::{NetworkItem, NetworkTable, PutOutcome, StoredDoc, TableError};
use crate::time::now_ms;

/// Why a refresh produced nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The answer was built but could not be stored.
    #[error(transparent)]
    Table(#[from] TableError),
}

/// A stored answer as a request gets it.
#[derive(Debug, Clone, PartialEq)]
pub struct Served<T> {
    pub value: T,
    pub fetched_at_ms: i64,
    pub source: Source,
}

/// Reads and decodes a stored item. An unreadable table or item reads as
/// absent (the answer then comes from the chain), logged.
pub async fn load_doc<T: DeserializeOwned, N: NetworkTable>(
    table: &N,
    item: NetworkItem,
) -> Option<(T, i64)> {
    let doc = match table.load_network(item).await {
        Ok(doc) => doc?,
        Err(e) => {
            tracing::warn!(error = %e, ?item, "cache table unreadable; answering from the chain");
            return None;
        }
    };
    match serde_json::from_str(&doc.body) {
        Ok(v) => Some((v, doc.fetched_at_ms)),
        Err(e) => {
            tracing::error!(error = %e, ?item, "stored item unreadable; answering from the chain");
            None
        }
    }
}

/// Encodes and stores an item under its write rule.
pub async fn store_doc<T: Serialize, N: NetworkTable>(
    table: &N,
    item: NetworkItem,
    value: &T,
    fetched_at_ms: i64,
) -> Result<PutOutcome, TableError> {
    let body = serde_json::to_string(value)
        .map_err(|e| TableError::Corrupt(format!("encoding {item:?}: {e}")))?;
    table
        .store_network(
            item,
            &StoredDoc {
                fetched_at_ms,
                body,
            },
        )
        .await
}

/// The request path's one rule: a stored copy younger than `max_age` is
/// the answer; an older one is refreshed, and served while the chain
/// fails; with nothing stored the chain must answer.
pub async fn stored_or_refreshed<T, F, Fut>(
    stored: Option<(T, i64)>,
    max_age: Duration,
    refresh: F,
) -> Result<Served<T>, ChainError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(T, i64), ChainError>>,
{
    let stored = match stored {
        Some((value, at)) if now_ms() - at < max_age.as_millis() as i64 => {
            return Ok(Served {
                value,
                fetched_at_ms: at,
                source: Source::Table,
            })
        }
        other => other,
    };
    match refresh().await {
        Ok((value, fetched_at_ms)) => Ok(Served {
            value,
            fetched_at_ms,
            source: Source::Chain,
        }),
        Err(err) => match stored {
            Some((value, fetched_at_ms)) => {
                tracing::warn!(error = %err, fetched_at_ms, "chain unavailable, serving the stored copy");
                Ok(Served {
                    value,
                    fetched_at_ms,
                    source: Source::StaleTable,
                })
            }
            None => Err(err),
        },
    }
}
