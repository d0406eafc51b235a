//! RFC 3339 timestamps the way Go (CometBFT, Cosmos) prints them.
//!
//! Go's `RFC3339Nano` drops trailing zeros of the fraction (and the dot when
//! the fraction is zero), so block times look like
//! `2025-10-18T08:56:30.70791873Z`. Clients must parse that variable-width
//! fraction, so the simulator reproduces it exactly. No date crate is needed
//! for a UTC-only formatter.

/// Formats a UTC instant as RFC 3339 with Go-style trimmed nanoseconds and `Z`.
pub(crate) fn rfc3339_nanos(unix_secs: i64, nanos: u32) -> String {
    let days = unix_secs.div_euclid(86_400);
    let secs_of_day = unix_secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let (hh, mm, ss) = (
        secs_of_day / 3600,
        secs_of_day % 3600 / 60,
        secs_of_day % 60,
    );
    let frac = if nanos == 0 {
        String::new()
    } else {
        let digits = format!("{:09}", nanos.min(999_999_999));
        format!(".{}", digits.trim_end_matches('0'))
    };
    format!("{year:04}-{month:02}-{day:02}T{hh:02}:{mm:02}:{ss:02}{frac}Z")
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
