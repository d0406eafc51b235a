//! A response before content negotiation, and errors as `{"detail"}`.

use std::sync::Arc;

use crate::service::ApiError;

/// A response before content negotiation.
pub struct Reply {
    pub status: u16,
    pub body: Payload,
    pub cache_control: String,
    pub etag: Option<String>,
    /// `Retry-After` (seconds), on a refusal that says when to come back.
    pub retry_after_secs: Option<u64>,
    /// What the body is (JSON unless a route says otherwise).
    pub media: Media,
}

/// A body's media type, and for a download its file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Media {
    Json,
    /// `text/csv`, sent as an attachment named so.
    Csv {
        filename: String,
    },
    Svg,
}

impl Media {
    pub fn content_type(&self) -> &'static str {
        match self {
            Media::Json => "application/json",
            Media::Csv { .. } => "text/csv; charset=utf-8; header=present",
            Media::Svg => "image/svg+xml",
        }
    }

    /// `Content-Disposition`, for a download.
    pub fn disposition(&self) -> Option<String> {
        match self {
            Media::Csv { filename } => Some(format!("attachment; filename=\"{filename}\"")),
            _ => None,
        }
    }
}

/// A response body: plain JSON, or JSON gzipped once when rendered (an
/// epoch's answer is kept that way, 5-10x smaller, and sent as is to the
/// clients that accept gzip, which browsers all do).
#[derive(Clone)]
pub enum Payload {
    Plain(Vec<u8>),
    Gzipped(Arc<Vec<u8>>),
}

impl Reply {
    pub fn error(err: &ApiError) -> Self {
        let body =
            serde_json::to_vec(&serde_json::json!({ "detail": err.detail() })).unwrap_or_default();
        Reply {
            media: crate::http::Media::Json,
            status: err.status(),
            body: Payload::Plain(body),
            cache_control: "no-store".into(),
            etag: None,
            retry_after_secs: err.retry_after_secs(),
        }
    }
}

pub fn log_error(err: &ApiError, path: &str) {
    match err.status() {
        400 | 404 | 406 | 429 => {
            tracing::info!(path, status = err.status(), error = %err, "request rejected")
        }
        _ => tracing::error!(path, status = err.status(), error = %err, "request failed"),
    }
}

/// A response value as JSON bytes (failing only on a bug of ours).
fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::Internal(format!("encoding the response: {e}")))
}

impl Reply {
    /// A 200 with `body` of `media` and a weak ETag of its bytes.
    pub fn bytes(body: Vec<u8>, media: Media, cache_control: String) -> Self {
        let etag = format!("W/\"{:016x}\"", crate::hash::fnv1a(&body));
        Reply {
            status: 200,
            body: Payload::Plain(body),
            cache_control,
            etag: Some(etag),
            retry_after_secs: None,
            media,
        }
    }

    /// A 200 with `value` as JSON and a weak ETag of its bytes.
    pub fn json<T: serde::Serialize>(value: &T, cache_control: String) -> Result<Self, ApiError> {
        let body = to_json(value)?;
        let etag = format!("W/\"{:016x}\"", crate::hash::fnv1a(&body));
        Ok(Reply {
            media: crate::http::Media::Json,
            status: 200,
            body: Payload::Plain(body),
            cache_control,
            etag: Some(etag),
            retry_after_secs: None,
        })
    }
}
