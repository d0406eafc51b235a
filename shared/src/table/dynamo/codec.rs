//! Chunk bodies: participant rows as gzip-compressed JSON. A 10,000-row
//! epoch is ~10 MB of JSON; compressed and split it fits DynamoDB's 400 KB
//! item limit with a wide margin.

use std::io::{Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

#[cfg(doc)]
use crate::domain::ParticipantStats;
use crate::table::port::{TableError, TableResult};

/// Refuse to inflate a chunk beyond this (a corrupt or hostile item).
const MAX_INFLATED: u64 = 64 << 20;

pub fn encode_rows<T: serde::Serialize>(rows: &[T]) -> TableResult<Vec<u8>> {
    encode_json(rows)
}

/// Any value as gzip-compressed JSON (rows, status chunks, the inference
/// scan's state).
pub fn encode_json<T: serde::Serialize + ?Sized>(value: &T) -> TableResult<Vec<u8>> {
    let json = serde_json::to_vec(value)
        .map_err(|e| TableError::Corrupt(format!("encoding rows: {e}")))?;
    compress(&json)
}

/// JSON already encoded, gzip-compressed (for a caller that hashes the
/// JSON before storing it).
pub fn compress(json: &[u8]) -> TableResult<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(json.len() / 4), Compression::fast());
    enc.write_all(json)
        .and_then(|_| enc.finish())
        .map_err(|e| TableError::Corrupt(format!("compressing rows: {e}")))
}

/// Rows as `T`: whole [`ParticipantStats`], or a subset of their fields
/// (e.g. only the id), the rest skipped while parsing.
pub fn decode_rows<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> TableResult<Vec<T>> {
    decode_json(bytes)
}

/// The value [`encode_json`] wrote, inflated to at most 64 MB.
pub fn decode_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> TableResult<T> {
    let mut json = Vec::new();
    GzDecoder::new(bytes)
        .take(MAX_INFLATED)
        .read_to_end(&mut json)
        .map_err(|e| TableError::Corrupt(format!("inflating rows: {e}")))?;
    serde_json::from_slice(&json).map_err(|e| TableError::Corrupt(format!("decoding rows: {e}")))
}
