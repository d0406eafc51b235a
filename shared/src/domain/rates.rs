//! `missed_rate` and `invalidation_rate`, rounded like Python's `round(x, 4)`.

/// Rounds to `places` decimals, ties to even on the exact binary value, as
/// Python's `round` does (`format!` is correctly rounded; scaling by 10^n
/// first is not: 1/32 would become 0.0313).
pub fn round_ties_even(x: f64, places: usize) -> f64 {
    if !x.is_finite() {
        return 0.0;
    }
    format!("{x:.places$}").parse().unwrap_or(0.0)
}

fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        return 0.0;
    }
    round_ties_even(numerator as f64 / denominator as f64, 4)
}

/// `missed / (missed + inference_count)`, 0.0 when nothing was requested.
pub fn missed_rate(missed: u64, inference_count: u64) -> f64 {
    ratio(missed, missed.saturating_add(inference_count))
}

/// `invalidated / inference_count`, 0.0 when there were no inferences.
pub fn invalidation_rate(invalidated: u64, inference_count: u64) -> f64 {
    ratio(invalidated, inference_count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_vectors() {
        // (numerator, denominator, expected) from docs/contract.md 1.4.
        let vectors = [
            (2, 10, 0.2),
            (95, 100, 0.95),
            (1, 1107, 0.0009),
            (8, 1106, 0.0072),
            (23, 1278, 0.018),
            (1, 32, 0.0312),
            (3, 32, 0.0938),
            (0, 0, 0.0),
            (5, 0, 0.0),
        ];
        for (n, d, want) in vectors {
            assert_eq!(ratio(n, d), want, "{n}/{d}");
        }
    }

    #[test]
    fn rates_use_the_right_denominators() {
        let cases = [
            // (missed, inference_count, invalidated, missed_rate, invalidation_rate)
            (2, 8, 0, 0.2, 0.0),
            (0, 0, 0, 0.0, 0.0),
            (95, 5, 0, 0.95, 0.0),
            (1, 1106, 8, 0.0009, 0.0072),
            (7, 10, 5, 0.4118, 0.5),
            (3, 0, 0, 1.0, 0.0),
        ];
        for (missed, count, invalid, want_missed, want_invalid) in cases {
            assert_eq!(
                missed_rate(missed, count),
                want_missed,
                "missed {missed}/{count}"
            );
            assert_eq!(
                invalidation_rate(invalid, count),
                want_invalid,
                "invalid {invalid}/{count}"
            );
        }
    }

    #[test]
    fn round_two_places_and_non_finite() {
        assert_eq!(round_ties_even(6.016, 2), 6.02);
        assert_eq!(round_ties_even(0.125, 2), 0.12);
        assert_eq!(round_ties_even(f64::NAN, 2), 0.0);
        assert_eq!(round_ties_even(f64::INFINITY, 2), 0.0);
    }
}
