//! Cosmos SDK pagination: `pagination.*` query parameters in, the
//! `pagination` response object and its opaque `next_key` out.

use std::collections::HashMap;

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use serde_json::{json, Value};

use crate::reply::{invalid_argument, Reply};

/// Cosmos' default page size when `pagination.limit` is absent or 0.
pub(crate) const DEFAULT_PAGE_LIMIT: usize = 100;
/// The largest authz page served.
pub(crate) const MAX_AUTHZ_PAGE_LIMIT: usize = 1_000;

/// A decoded `pagination.*` query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PageRequest {
    pub offset: usize,
    pub limit: usize,
    /// Cosmos fills `pagination.total` only when asked, or when no limit was given.
    pub count_total: bool,
}

impl PageRequest {
    /// Parses `pagination.limit`, `pagination.offset`, `pagination.key` and
    /// `pagination.count_total` the way the Cosmos SDK does.
    pub(crate) fn parse(query: &HashMap<String, String>, max_limit: usize) -> Result<Self, Reply> {
        let number = |name: &str| -> Result<Option<u64>, Reply> {
            match query.get(name).map(|v| v.trim()) {
                None | Some("") => Ok(None),
                Some(v) => v.parse::<u64>().map(Some).map_err(|_| {
                    invalid_argument(format!(
                        "type mismatch, parameter: {name}, error: strconv.ParseUint: parsing {v:?}: invalid syntax"
                    ))
                }),
            }
        };
        let limit = number("pagination.limit")?;
        let offset = number("pagination.offset")?;
        let key = query.get("pagination.key").filter(|k| !k.is_empty());
        let mut count_total = query
            .get("pagination.count_total")
            .is_some_and(|v| v == "true");

        let offset = match (key, offset) {
            (Some(_), Some(o)) if o > 0 => {
                return Err(invalid_argument(
                    "invalid request, either offset or key is expected, got both",
                ))
            }
            (Some(key), _) => decode_page_key(key)
                .ok_or_else(|| invalid_argument(format!("invalid pagination key {key:?}")))?,
            (None, offset) => offset.unwrap_or(0),
        };
        let limit = match limit {
            None | Some(0) => {
                count_total = true;
                DEFAULT_PAGE_LIMIT
            }
            Some(l) => usize::try_from(l).unwrap_or(usize::MAX).min(max_limit),
        };
        Ok(PageRequest {
            offset: usize::try_from(offset).unwrap_or(usize::MAX),
            limit,
            count_total,
        })
    }

    /// The `pagination` object of a page out of `total` items.
    pub(crate) fn response(&self, total: usize) -> Value {
        let end = self.offset.saturating_add(self.limit);
        let next_key = (end < total).then(|| encode_page_key(end));
        let total = if self.count_total { total } else { 0 };
        json!({"next_key": next_key, "total": total.to_string()})
    }
}

/// `next_key`: opaque to clients; here it is a tag byte plus the next offset.
pub(crate) fn encode_page_key(offset: usize) -> String {
    let mut raw = vec![0x01];
    raw.extend_from_slice(&(offset as u64).to_be_bytes());
    STANDARD.encode(raw)
}

fn decode_page_key(key: &str) -> Option<u64> {
    // A client that forgets to URL-encode sends '+' as a space.
    let key = key.trim().replace(' ', "+");
    let raw = STANDARD
        .decode(&key)
        .or_else(|_| URL_SAFE.decode(&key))
        .ok()?;
    match raw.as_slice() {
        [0x01, rest @ ..] if rest.len() == 8 => Some(u64::from_be_bytes(rest.try_into().ok()?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn page_keys_round_trip() {
        for offset in [0, 1, 100, 123_456] {
            assert_eq!(
                decode_page_key(&encode_page_key(offset)),
                Some(offset as u64)
            );
        }
        assert_eq!(decode_page_key("not base64!"), None);
        assert_eq!(decode_page_key(&STANDARD.encode(b"short")), None);
    }

    #[test]
    fn parses_pagination_like_cosmos() {
        let p = PageRequest::parse(&query(&[]), 1000).unwrap();
        assert_eq!((p.offset, p.limit, p.count_total), (0, 100, true));
        let p = PageRequest::parse(
            &query(&[("pagination.limit", "5000"), ("pagination.offset", "7")]),
            1000,
        )
        .unwrap();
        assert_eq!((p.offset, p.limit, p.count_total), (7, 1000, false));
        let key = encode_page_key(200);
        let p = PageRequest::parse(&query(&[("pagination.key", &key)]), 1000).unwrap();
        assert_eq!(p.offset, 200);
        assert!(PageRequest::parse(&query(&[("pagination.limit", "x")]), 10).is_err());
        assert!(PageRequest::parse(&query(&[("pagination.key", "!!")]), 10).is_err());
        assert!(PageRequest::parse(
            &query(&[("pagination.key", &key), ("pagination.offset", "3")]),
            10
        )
        .is_err());
    }
}
