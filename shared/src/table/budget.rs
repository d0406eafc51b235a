//! Budgets shared by every instance: a counter per window that a request
//! takes one from, or is refused once the window's limit is reached.
//! [`BudgetTable`](super::BudgetTable) is the port (in `port`); the DynamoDB adapter keeps one counter item
//! per window (`dynamo/budget.rs`), the in-memory fake a map.

/// How long a budget's window lasts: every budget counts per minute.
pub const BUDGET_WINDOW_MS: i64 = 60_000;

/// What a budget limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Budget {
    /// Builds of one epoch's stats at requested heights.
    EpochHeightBuilds(u64),
    /// Builds of one epoch's models at requested heights.
    ModelsHeightBuilds(u64),
    /// Every build at a requested height, of any epoch or route: what the
    /// whole deployment may spend on them.
    AllHeightBuilds,
}

/// The window `now_ms` falls in.
pub fn budget_window(now_ms: i64) -> i64 {
    now_ms.div_euclid(BUDGET_WINDOW_MS)
}

/// Seconds from `now_ms` to the next window (at least 1): a refused
/// caller's `Retry-After`.
pub fn seconds_to_next_window(now_ms: i64) -> u64 {
    let left_ms = BUDGET_WINDOW_MS - now_ms.rem_euclid(BUDGET_WINDOW_MS);
    (left_ms as u64).div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_the_rest_of_the_minute() {
        for (now_ms, secs) in [
            (0, 60),
            (1, 60),
            (59_000, 1),
            (59_999, 1),
            (60_000, 60),
            (90_500, 30),
        ] {
            assert_eq!(seconds_to_next_window(now_ms), secs, "at {now_ms} ms");
        }
        assert_eq!(budget_window(59_999), 0);
        assert_eq!(budget_window(60_000), 1);
    }
}
