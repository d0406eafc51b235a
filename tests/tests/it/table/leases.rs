//! [`LeaseTable`]: one claim per window, renewed and released by its
//! owner only. Each rule stated once, run on the DynamoDB adapter
//! (through DynamoDB Local) and on the in-memory fake.

use super::*;

/// One claim per window and epoch; of concurrent claims exactly one wins.
async fn one_claim_per_window<T: LeaseTable>(table: &T) {
    let claim = |epoch, now| table.claim_warm_lease_unowned(epoch, now, 60_000);
    assert_eq!(
        claim(60, 1_000_000).await.unwrap(),
        LeaseClaim {
            won: true,
            held_until_ms: 1_060_000,
            rest_until_ms: None,
        }
    );
    assert_eq!(
        claim(60, 1_030_000).await.unwrap(),
        LeaseClaim {
            won: false,
            held_until_ms: 1_060_000,
            rest_until_ms: None,
        },
        "a lost claim says until when the lease is held"
    );
    assert!(
        claim(61, 1_030_000).await.unwrap().won,
        "leases are per epoch"
    );
    assert!(
        claim(60, 1_060_000).await.unwrap().won,
        "the window has passed"
    );
    // Concurrent claims: exactly one wins.
    let claims = futures::future::join_all((0..20).map(|_| claim(62, 5_000_000))).await;
    assert_eq!(
        claims
            .into_iter()
            .filter(|c| c.as_ref().unwrap().won)
            .count(),
        1
    );
}

#[tokio::test]
async fn warm_lease_admits_one_claim_per_window_on_dynamodb() {
    let t = TestTable::new().await;
    one_claim_per_window(&t.table).await;
}

#[tokio::test]
async fn warm_lease_admits_one_claim_per_window_in_memory() {
    one_claim_per_window(&MemoryTable::new()).await;
}

/// Renewed and released by its owner only; a lapsed lease is free.
async fn owner_rules<T: LeaseTable>(table: &T) {
    let (a, b) = (LeaseToken::random(), LeaseToken::random());
    let held = |until| LeaseClaim {
        won: false,
        held_until_ms: until,
        rest_until_ms: None,
    };
    let won = |until| LeaseClaim {
        won: true,
        held_until_ms: until,
        rest_until_ms: None,
    };
    const L: i64 = 60_000;
    const T0: i64 = 1_000_000;

    assert_eq!(
        table.claim_warm_lease(60, &a, T0, L, false).await.unwrap(),
        won(T0 + L)
    );
    assert_eq!(
        table
            .claim_warm_lease(60, &b, T0 + 30_000, L, false)
            .await
            .unwrap(),
        held(T0 + L),
        "another owner waits, and learns until when"
    );
    assert_eq!(
        table
            .claim_warm_lease(60, &a, T0 + 30_000, L, false)
            .await
            .unwrap(),
        won(T0 + 30_000 + L),
        "the owner renews"
    );
    assert_eq!(
        table
            .release_warm_lease(60, &b, T0 + 40_000, None)
            .await
            .unwrap(),
        PutOutcome::LostRace,
        "only the owner releases"
    );
    assert!(
        !table
            .claim_warm_lease(60, &b, T0 + 40_000, L, false)
            .await
            .unwrap()
            .won
    );
    assert_eq!(
        table
            .release_warm_lease(60, &a, T0 + 40_000, None)
            .await
            .unwrap(),
        PutOutcome::Written
    );
    assert_eq!(
        table
            .claim_warm_lease(60, &b, T0 + 40_000, L, false)
            .await
            .unwrap(),
        won(T0 + 40_000 + L),
        "released: free at once"
    );
    // The old owner's late renewal or release leaves the new lease alone.
    assert_eq!(
        table
            .claim_warm_lease(60, &a, T0 + 50_000, L, false)
            .await
            .unwrap(),
        held(T0 + 40_000 + L)
    );
    assert_eq!(
        table
            .release_warm_lease(60, &a, T0 + 50_000, None)
            .await
            .unwrap(),
        PutOutcome::LostRace
    );
    assert!(
        !table
            .claim_warm_lease(60, &a, T0 + 99_999, L, false)
            .await
            .unwrap()
            .won
    );
    // An owner that stops renewing loses the lease when it lapses.
    assert!(
        table
            .claim_warm_lease(60, &a, T0 + 100_000, L, false)
            .await
            .unwrap()
            .won
    );

    // Nothing to release: nothing written.
    assert_eq!(
        table.release_warm_lease(61, &a, T0, None).await.unwrap(),
        PutOutcome::LostRace
    );
    assert!(
        table
            .claim_warm_lease(61, &b, T0, L, false)
            .await
            .unwrap()
            .won
    );
    // A claim without an owner only lapses.
    assert!(
        table
            .claim_warm_lease_unowned(62, T0, 1_000)
            .await
            .unwrap()
            .won
    );
    assert_eq!(
        table
            .claim_warm_lease(62, &a, T0 + 999, L, false)
            .await
            .unwrap(),
        held(T0 + 1_000)
    );
    assert!(
        table
            .claim_warm_lease(62, &a, T0 + 1_000, L, false)
            .await
            .unwrap()
            .won
    );

    // Concurrent claims by different owners: exactly one wins.
    let owners: Vec<LeaseToken> = (0..20).map(|_| LeaseToken::random()).collect();
    let claims = futures::future::join_all(
        owners
            .iter()
            .map(|o| table.claim_warm_lease(63, o, 5_000_000, L, false)),
    )
    .await;
    assert_eq!(claims.iter().filter(|c| c.as_ref().unwrap().won).count(), 1);
}

#[tokio::test]
async fn the_warm_lease_is_renewed_and_released_by_its_owner_only_on_dynamodb() {
    let t = TestTable::new().await;
    owner_rules(&t.table).await;
}

#[tokio::test]
async fn the_warm_lease_is_renewed_and_released_by_its_owner_only_in_memory() {
    owner_rules(&MemoryTable::new()).await;
}
