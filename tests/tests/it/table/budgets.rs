//! [`BudgetTable`]: one contract, run on the DynamoDB adapter (through
//! DynamoDB Local) and on the in-memory fake, so the fake that unit tests
//! rely on keeps the real adapter's rules.

use super::*;

/// Every budget: `limit` a window, each kind and epoch apart, a new window
/// a new budget.
async fn budget_contract<T: BudgetTable>(table: &T) {
    let kinds = [
        Budget::EpochHeightBuilds(59),
        Budget::ModelsHeightBuilds(59),
        Budget::AllHeightBuilds,
    ];
    for kind in kinds {
        for _ in 0..2 {
            assert!(
                table.take_budget(kind, 60_000, 2).await.unwrap(),
                "{kind:?}"
            );
        }
        assert!(
            !table.take_budget(kind, 119_999, 2).await.unwrap(),
            "{kind:?}: the minute's two are taken"
        );
        assert!(
            table.take_budget(kind, 120_000, 2).await.unwrap(),
            "{kind:?}: a new minute"
        );
    }
    for other in [
        Budget::EpochHeightBuilds(58),
        Budget::ModelsHeightBuilds(58),
    ] {
        assert!(
            table.take_budget(other, 60_000, 2).await.unwrap(),
            "{other:?} has a budget of its own"
        );
    }
}

#[tokio::test]
async fn budgets_on_dynamodb() {
    let t = TestTable::new().await;
    budget_contract(&t.table).await;
}

#[tokio::test]
async fn budgets_in_memory() {
    budget_contract(&MemoryTable::new()).await;
}
