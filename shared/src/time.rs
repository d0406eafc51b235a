//! Wall-clock helpers: milliseconds since the Unix epoch for item freshness,
//! RFC 3339 UTC with `Z` for `cached_at`.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// `cached_at` as the API shows it: RFC 3339, UTC, `Z`, microseconds.
pub fn rfc3339_ms(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_with_z() {
        assert_eq!(
            super::rfc3339_ms(1_760_843_520_123),
            "2025-10-19T03:12:00.123000Z"
        );
        assert_eq!(super::rfc3339_ms(0), "1970-01-01T00:00:00.000000Z");
    }
}
