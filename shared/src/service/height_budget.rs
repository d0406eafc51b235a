//! Builds at a requested `?height=` are budgeted twice, across all
//! instances: per epoch (`HEIGHT_BUILDS_PER_MINUTE`, for the stats and for
//! the models apart) and in all (`HEIGHT_BUILDS_PER_MINUTE_TOTAL`), since
//! each build is chain calls and a stored snapshot, and a caller cycling
//! through epochs would otherwise get the per-epoch budget of every one.
//! Past either, a 429 that says when to retry.

use super::ApiError;
use crate::config::Config;
use crate::table::budget::seconds_to_next_window;
use crate::table::{Budget, BudgetTable};

/// Takes one build from `per_epoch` and one from the deployment's total,
/// or says which is used up. The per-epoch one is taken first, so a caller
/// held by it does not spend the total that others share.
pub async fn take_height_build<T: BudgetTable>(
    table: &T,
    config: &Config,
    per_epoch: Budget,
    now_ms: i64,
) -> Result<(), ApiError> {
    let retry_after_secs = seconds_to_next_window(now_ms);
    let limit = config.height_builds_per_minute;
    if !table.take_budget(per_epoch, now_ms, limit).await? {
        let what = match per_epoch {
            Budget::ModelsHeightBuilds(epoch) => format!("epoch {epoch}'s models"),
            Budget::EpochHeightBuilds(epoch) => format!("epoch {epoch}"),
            Budget::AllHeightBuilds => "all epochs".to_string(),
        };
        return Err(ApiError::TooManyRequests {
            detail: format!(
                "Too many distinct heights requested for {what}: at most {limit} a minute; \
                 retry in {retry_after_secs} s or ask without a height"
            ),
            retry_after_secs,
        });
    }
    let total = config.height_builds_per_minute_total;
    if !table
        .take_budget(Budget::AllHeightBuilds, now_ms, total)
        .await?
    {
        return Err(ApiError::TooManyRequests {
            detail: format!(
                "Too many builds at requested heights right now: at most {total} a minute \
                 for everyone; retry in {retry_after_secs} s or ask without a height"
            ),
            retry_after_secs,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::MemoryTable;

    fn config(per_epoch: u32, total: u32) -> Config {
        let mut c = Config::from_lookup(|k| match k {
            "TABLE_NAME" => Some("t".into()),
            "CHAIN_API_URLS" => Some("http://127.0.0.1:9".into()),
            _ => None,
        })
        .unwrap();
        c.height_builds_per_minute = per_epoch;
        c.height_builds_per_minute_total = total;
        c
    }

    #[tokio::test]
    async fn the_total_holds_a_caller_cycling_through_epochs() {
        let table = MemoryTable::new();
        let c = config(5, 10);
        let now = 7 * 60_000 + 15_000;
        let mut taken = 0;
        let mut refused = None;
        for epoch in 0..30 {
            match take_height_build(&table, &c, Budget::EpochHeightBuilds(epoch), now).await {
                Ok(()) => taken += 1,
                Err(e) => {
                    refused.get_or_insert(e);
                }
            }
        }
        assert_eq!(taken, 10, "30 epochs, one build each, 10 in all");
        let e = refused.expect("refused past the total");
        assert_eq!(e.status(), 429);
        assert_eq!(e.retry_after_secs(), Some(45));
        assert!(e.detail().contains("for everyone"), "{}", e.detail());
        // The models share the total.
        let models = take_height_build(&table, &c, Budget::ModelsHeightBuilds(3), now).await;
        assert_eq!(models.unwrap_err().status(), 429);
        // The next minute has a new budget.
        take_height_build(&table, &c, Budget::EpochHeightBuilds(3), now + 60_000)
            .await
            .expect("a new minute");
    }

    #[tokio::test]
    async fn the_per_epoch_budget_refuses_first_without_spending_the_total() {
        let table = MemoryTable::new();
        let c = config(2, 3);
        for _ in 0..2 {
            take_height_build(&table, &c, Budget::EpochHeightBuilds(9), 0)
                .await
                .unwrap();
        }
        let e = take_height_build(&table, &c, Budget::EpochHeightBuilds(9), 0)
            .await
            .unwrap_err();
        assert!(e.detail().contains("epoch 9"), "{}", e.detail());
        assert_eq!(e.retry_after_secs(), Some(60));
        // One of the total's three is left for another epoch.
        take_height_build(&table, &c, Budget::EpochHeightBuilds(10), 0)
            .await
            .expect("the total was not spent by the refused one");
        assert!(
            take_height_build(&table, &c, Budget::EpochHeightBuilds(11), 0)
                .await
                .is_err()
        );
    }
}
