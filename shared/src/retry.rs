//! The one retry policy of both adapters (the chain's rounds over its URLs,
//! the table's unprocessed batch items): exponential backoff from `first`,
//! doubling up to `max`, each wait lengthened by a random part of itself so
//! retrying callers spread out.

use std::time::Duration;

use backon::ExponentialBuilder;

/// The waits before `retries` retries (an attempt plus `retries` more).
pub fn jittered_backoff(
    first: Duration,
    max: Option<Duration>,
    retries: usize,
) -> ExponentialBuilder {
    let policy = ExponentialBuilder::new()
        .with_min_delay(first)
        .with_factor(2.0)
        .with_max_times(retries)
        .with_jitter();
    match max {
        Some(max) => policy.with_max_delay(max),
        None => policy.without_max_delay(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backon::BackoffBuilder;

    #[test]
    fn waits_double_with_jitter_and_stop_after_the_retries() {
        let waits: Vec<Duration> = jittered_backoff(
            Duration::from_millis(50),
            Some(Duration::from_millis(200)),
            4,
        )
        .build()
        .collect();
        assert_eq!(waits.len(), 4);
        for (wait, base) in waits.iter().zip([50u64, 100, 200, 200]) {
            let base = Duration::from_millis(base);
            assert!(*wait >= base && *wait <= 2 * base, "{wait:?} for {base:?}");
        }
    }
}
