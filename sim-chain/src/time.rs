//! RFC 3339 timestamps the way Go (CometBFT, Cosmos) prints them.
//!
//! Go's `RFC3339Nano` drops trailing zeros of the fraction (and the dot when
//! the fraction is zero), so block times look like
//! `2025-10-18T08:56:30.70791873Z`. Clients must parse that variable-width
//! fraction, so the simulator reproduces it exactly: chrono does the
//! calendar, and the fraction is trimmed here (chrono's `%.f` widths are
//! 3, 6 or 9 digits, never Go's).

use chrono::DateTime;

/// The wall clock, in Unix milliseconds.
pub(crate) fn now_unix_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Formats a UTC instant as RFC 3339 with Go-style trimmed nanoseconds and `Z`.
pub(crate) fn rfc3339_nanos(unix_secs: i64, nanos: u32) -> String {
    // Out of range only ~262,000 years away from 1970, never for chain times.
    let time = DateTime::from_timestamp(unix_secs, nanos.min(999_999_999)).unwrap_or_default();
    let full = time.format("%Y-%m-%dT%H:%M:%S%.9f").to_string();
    format!("{}Z", full.trim_end_matches('0').trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(rfc3339_nanos(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_nanos(951_782_400, 0), "2000-02-29T00:00:00Z");
        assert_eq!(
            rfc3339_nanos(1_760_777_790, 707_918_730),
            "2025-10-18T08:56:30.70791873Z"
        );
        assert_eq!(
            rfc3339_nanos(1_760_777_790, 5),
            "2025-10-18T08:56:30.000000005Z"
        );
        assert_eq!(rfc3339_nanos(-1, 0), "1969-12-31T23:59:59Z");
    }
}
