//! Typed errors of the API and the one place they become HTTP statuses.

use crate::chain::ChainError;
use crate::table::TableError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// Malformed or out-of-range input: 400.
    #[error("{0}")]
    BadRequest(String),
    /// The epoch or participant does not exist: 404.
    #[error("{0}")]
    NotFound(String),
    /// The answer cannot be sent in a form the client accepts (too large
    /// uncompressed): 406.
    #[error("{0}")]
    NotAcceptable(String),
    /// A bounded kind of work (builds at requested heights) is used up for
    /// now: 429, with `Retry-After`.
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after_secs: u64,
    },
    /// The chain could not answer and nothing usable is cached: 502, or 504
    /// when it timed out.
    #[error("{context}: {source}")]
    Upstream { context: String, source: ChainError },
    /// The invocation's deadline came before the chain answered: 504.
    #[error("the request's deadline passed before the chain answered")]
    DeadlineExceeded,
    /// The cache table is unreachable: 503.
    #[error("cache unavailable: {0}")]
    Storage(#[from] TableError),
    /// A bug of ours (e.g. a response that cannot be encoded): 500.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn upstream(context: impl Into<String>, source: ChainError) -> Self {
        ApiError::Upstream {
            context: context.into(),
            source,
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::NotFound(_) => 404,
            ApiError::NotAcceptable(_) => 406,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::Upstream { source, .. } if source.is_timeout() => 504,
            ApiError::Upstream { .. } => 502,
            ApiError::DeadlineExceeded => 504,
            ApiError::Storage(_) => 503,
            ApiError::Internal(_) => 500,
        }
    }

    /// When a refused caller may try again (`Retry-After`).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// The `detail` shown to callers. Upstream and storage errors say what
    /// failed without internal URLs or SDK dumps (those go to the log).
    pub fn detail(&self) -> String {
        match self {
            ApiError::BadRequest(m)
            | ApiError::NotFound(m)
            | ApiError::NotAcceptable(m)
            | ApiError::TooManyRequests { detail: m, .. } => m.clone(),
            ApiError::Upstream { context, source } => match source {
                ChainError::Timeout(_) => format!("{context}: the chain node timed out"),
                ChainError::BadResponse(_) => {
                    format!("{context}: the chain node sent an unreadable answer")
                }
                ChainError::Rejected { status, .. } => {
                    format!("{context}: the chain node refused the request (HTTP {status})")
                }
                ChainError::Unavailable(_) => format!("{context}: the chain node is unreachable"),
                ChainError::HeightPruned { height, .. } => format!(
                    "{context}: the chain nodes no longer hold the state at height {height} (pruned)"
                ),
            },
            ApiError::DeadlineExceeded => {
                "The chain node did not answer in time, please retry".into()
            }
            ApiError::Storage(_) => "Cache temporarily unavailable, please retry".into(),
            ApiError::Internal(_) => "Internal error".into(),
        }
    }
}

impl From<crate::domain::HeightError> for ApiError {
    fn from(e: crate::domain::HeightError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let cases = [
            (
                ApiError::BadRequest("Invalid epoch ID".into()),
                400,
                "Invalid epoch ID",
            ),
            (
                ApiError::NotFound("Epoch 99 not found".into()),
                404,
                "Epoch 99 not found",
            ),
            (
                ApiError::upstream(
                    "Failed to fetch epoch 5 stats",
                    ChainError::Unavailable("http://10.0.0.1 refused".into()),
                ),
                502,
                "Failed to fetch epoch 5 stats: the chain node is unreachable",
            ),
            (
                ApiError::upstream("x", ChainError::Timeout("slow".into())),
                504,
                "x: the chain node timed out",
            ),
            (
                ApiError::upstream("x", ChainError::BadResponse("eof".into())),
                502,
                "x: the chain node sent an unreadable answer",
            ),
            (
                ApiError::Storage(TableError::Unavailable("ResourceNotFound".into())),
                503,
                "Cache temporarily unavailable, please retry",
            ),
            (ApiError::Internal("encoding".into()), 500, "Internal error"),
            (
                ApiError::DeadlineExceeded,
                504,
                "The chain node did not answer in time, please retry",
            ),
            (
                ApiError::TooManyRequests {
                    detail: "Too many heights".into(),
                    retry_after_secs: 12,
                },
                429,
                "Too many heights",
            ),
        ];
        for (err, status, detail) in cases {
            assert_eq!((err.status(), err.detail()), (status, detail.to_string()));
            assert!(
                !err.detail().contains("10.0.0.1"),
                "no internal addresses in details"
            );
        }
    }
}
