//! [`NetworkTable`]: the timeline and current models are replaced by a
//! newer copy only, a finished epoch's models (and those at a height) are
//! written once. Stated once, run on the DynamoDB adapter (through
//! DynamoDB Local) and on the in-memory fake.

use super::*;

async fn write_rules<T: NetworkTable>(table: &T) {
    let doc = |at: i64, body: &str| StoredDoc {
        fetched_at_ms: at,
        body: body.into(),
    };
    let cases = [
        (NetworkItem::Timeline, 10, "a", PutOutcome::Written),
        (NetworkItem::Timeline, 5, "older", PutOutcome::LostRace),
        (NetworkItem::Timeline, 10, "same age", PutOutcome::LostRace),
        (NetworkItem::Timeline, 20, "b", PutOutcome::Written),
        (NetworkItem::ModelsFinal(59), 10, "c", PutOutcome::Written),
        (
            NetworkItem::ModelsFinal(59),
            30,
            "newer",
            PutOutcome::LostRace,
        ),
        (
            NetworkItem::ModelsAtHeight(59, 7),
            10,
            "d",
            PutOutcome::Written,
        ),
        (
            NetworkItem::ModelsAtHeight(59, 7),
            30,
            "newer",
            PutOutcome::LostRace,
        ),
    ];
    for (item, at, body, want) in cases {
        assert_eq!(
            table.store_network(item, &doc(at, body)).await.unwrap(),
            want,
            "{item:?} at {at}"
        );
    }
    let read = |item| async move { table.load_network(item).await.unwrap() };
    assert_eq!(read(NetworkItem::Timeline).await, Some(doc(20, "b")));
    assert_eq!(read(NetworkItem::ModelsFinal(59)).await, Some(doc(10, "c")));
    assert_eq!(read(NetworkItem::ModelsCurrent).await, None);
    let read = |item| async move { table.load_network(item).await.unwrap() };
    assert_eq!(read(NetworkItem::Timeline).await, Some(doc(20, "b")));
    assert_eq!(read(NetworkItem::ModelsFinal(59)).await, Some(doc(10, "c")));
    assert_eq!(
        read(NetworkItem::ModelsAtHeight(59, 7)).await,
        Some(doc(10, "d"))
    );
    assert_eq!(read(NetworkItem::ModelsCurrent).await, None);
    assert_eq!(read(NetworkItem::ModelsFinal(58)).await, None);
}

#[tokio::test]
async fn network_items_follow_their_write_rules_on_dynamodb() {
    let t = TestTable::new().await;
    write_rules(&t.table).await;
}

#[tokio::test]
async fn network_items_follow_their_write_rules_in_memory() {
    write_rules(&MemoryTable::new()).await;
}
