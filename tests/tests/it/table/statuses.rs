//! [`StatusTable`] and [`RevisionTable`]: jail statuses (final never
//! replaced, a later fetch wins, unchanged content keeps its revision),
//! node health (a later round wins), Keybase answers (a later one wins),
//! and the one small read of the revisions. Each rule stated once, run on
//! the DynamoDB adapter (through DynamoDB Local) and on the in-memory fake.

use super::*;
use shared::domain::{JailStatus, NodeHealth, ValidatorInfo};
use shared::keybase::KeybaseIdentity;

fn jail(participant: &str, jailed: bool, moniker: &str) -> JailStatus {
    JailStatus {
        participant: participant.into(),
        is_jailed: jailed,
        validator: ValidatorInfo {
            moniker: Some(moniker.into()),
            ..Default::default()
        },
    }
}

fn health(participant: &str, healthy: bool, checked_at: &str) -> NodeHealth {
    NodeHealth {
        participant: participant.into(),
        healthy,
        checked_at: checked_at.into(),
    }
}

fn ids(n: usize) -> Vec<String> {
    (0..n as u32).map(|i| participant(i).to_string()).collect()
}

async fn jail_of<T: StatusTable>(table: &T, epoch: u64) -> StoredStatuses {
    table
        .load_statuses(StatusParts {
            jail: Some(epoch),
            health: false,
        })
        .await
        .unwrap()
}

/// A later fetch replaces the epoch's jail statuses, an older one never
/// does, the same content keeps the revision, a final write is never
/// replaced, and epochs are apart.
async fn jail_rules<T: StatusTable>(table: &T) {
    let p = ids(40);
    let set = |moniker: &str| -> Vec<JailStatus> {
        p.iter()
            .enumerate()
            .map(|(i, id)| jail(id, i % 5 == 0, moniker))
            .collect()
    };
    assert_eq!(
        jail_of(table, 7).await,
        StoredStatuses::default(),
        "nothing stored"
    );
    assert!(!table.jail_is_final(7).await.unwrap());

    assert_eq!(
        table.store_jail(7, &set("a"), 1_000, false).await.unwrap(),
        PutOutcome::Written
    );
    let first = jail_of(table, 7).await;
    assert_eq!(first.jail.len(), 40);
    assert_eq!(first.jail[&p[5]], jail(&p[5], true, "a"));
    assert_ne!(first.jail_revision, 0);

    // The same content later: nothing changes, not even the revision.
    table.store_jail(7, &set("a"), 2_000, false).await.unwrap();
    assert_eq!(jail_of(table, 7).await, first);

    // An older fetch with other content loses; what is stored stays.
    assert_eq!(
        table.store_jail(7, &set("old"), 500, false).await.unwrap(),
        PutOutcome::LostRace
    );
    assert_eq!(jail_of(table, 7).await, first);

    // A later one with other content wins, under a new revision.
    assert_eq!(
        table.store_jail(7, &set("b"), 3_000, false).await.unwrap(),
        PutOutcome::Written
    );
    let second = jail_of(table, 7).await;
    assert_eq!(second.jail[&p[5]], jail(&p[5], true, "b"));
    assert_ne!(second.jail_revision, first.jail_revision);
    assert!(!table.jail_is_final(7).await.unwrap());

    // Other epochs are apart.
    assert_eq!(jail_of(table, 8).await.jail.len(), 0);

    // A final write (the canonical height) replaces it and is never
    // replaced, even by a later fetch.
    assert_eq!(
        table
            .store_jail(7, &set("final")[..10], 4_000, true)
            .await
            .unwrap(),
        PutOutcome::Written
    );
    assert!(table.jail_is_final(7).await.unwrap());
    let fin = jail_of(table, 7).await;
    assert_eq!(fin.jail.len(), 10, "the final set is the whole set");
    assert_eq!(
        table
            .store_jail(7, &set("later"), 9_000, false)
            .await
            .unwrap(),
        PutOutcome::LostRace
    );
    assert_eq!(
        table
            .store_jail(7, &set("later"), 9_000, true)
            .await
            .unwrap(),
        PutOutcome::LostRace
    );
    assert_eq!(jail_of(table, 7).await, fin);
}

#[tokio::test]
async fn jail_statuses_follow_their_write_rules_on_dynamodb() {
    let t = TestTable::new().await;
    jail_rules(&t.table).await;
}

#[tokio::test]
async fn jail_statuses_follow_their_write_rules_in_memory() {
    jail_rules(&MemoryTable::new()).await;
}

/// A later probe round replaces the health, an older one never does; the
/// revision moves when who is healthy changes.
async fn health_rules<T: StatusTable>(table: &T) {
    let p = ids(20);
    let round = |healthy: bool, at: &str| -> Vec<NodeHealth> {
        p.iter().map(|id| health(id, healthy, at)).collect()
    };
    let read = || async {
        table
            .load_statuses(StatusParts {
                jail: None,
                health: true,
            })
            .await
            .unwrap()
    };
    assert_eq!(read().await.health_revision, 0);
    assert_eq!(
        table.store_health(&round(true, "t1"), 1_000).await.unwrap(),
        PutOutcome::Written
    );
    let first = read().await;
    assert_eq!(first.health.len(), 20);
    assert_eq!(first.health[&p[3]], health(&p[3], true, "t1"));
    assert_ne!(first.health_revision, 0);
    assert!(first.jail.is_empty(), "jail not asked for");

    assert_eq!(
        table.store_health(&round(false, "t0"), 500).await.unwrap(),
        PutOutcome::LostRace,
        "an older round"
    );
    assert_eq!(read().await, first);

    table
        .store_health(&round(false, "t2"), 2_000)
        .await
        .unwrap();
    let second = read().await;
    assert_eq!(second.health[&p[3]], health(&p[3], false, "t2"));
    assert_ne!(second.health_revision, first.health_revision);
}

#[tokio::test]
async fn node_health_follows_its_write_rules_on_dynamodb() {
    let t = TestTable::new().await;
    health_rules(&t.table).await;
}

#[tokio::test]
async fn node_health_follows_its_write_rules_in_memory() {
    health_rules(&MemoryTable::new()).await;
}

/// Keybase answers are read back as stored; one is never replaced by an
/// answer due earlier.
async fn keybase_rules<T: StatusTable>(table: &T) {
    let id = |s: &str| KeybaseIdentity::parse(s).unwrap();
    let (a, b, c) = (
        id("AAAA1111BBBB2222"),
        id("CCCC3333DDDD4444"),
        id("EEEE5555FFFF6666"),
    );
    let answer =
        |identity: &KeybaseIdentity, username: Option<&str>, expires_at_ms| CachedKeybase {
            identity: identity.clone(),
            username: username.map(str::to_owned),
            expires_at_ms,
        };
    table
        .store_keybase(&[answer(&a, Some("alice"), 10_000), answer(&b, None, 10_000)])
        .await
        .unwrap();
    // An earlier-due answer for `a` loses; a later one for `b` wins.
    table
        .store_keybase(&[
            answer(&a, Some("mallory"), 5_000),
            answer(&b, Some("bob"), 20_000),
        ])
        .await
        .unwrap();
    let stored = table
        .load_keybase(&[a.clone(), b.clone(), c.clone()])
        .await
        .unwrap();
    assert_eq!(stored.len(), 2, "nothing for an identity never asked");
    assert_eq!(stored[&a], answer(&a, Some("alice"), 10_000));
    assert_eq!(stored[&b], answer(&b, Some("bob"), 20_000));
}

#[tokio::test]
async fn keybase_answers_follow_their_write_rules_on_dynamodb() {
    let t = TestTable::new().await;
    keybase_rules(&t.table).await;
}

#[tokio::test]
async fn keybase_answers_follow_their_write_rules_in_memory() {
    keybase_rules(&MemoryTable::new()).await;
}

/// The revisions read says what the status reads and the header say, and
/// only what was asked.
async fn revision_rules<T: StatusTable + SnapshotTable + TotalTable + RevisionTable>(table: &T) {
    let all = RevisionQuery {
        epoch: 7,
        current_header: true,
        total: true,
    };
    assert_eq!(
        table.load_revisions(all).await.unwrap(),
        Revisions::default()
    );

    table
        .store_jail(7, &[jail(&ids(1)[0], true, "m")], 1_000, false)
        .await
        .unwrap();
    table
        .store_health(&[health(&ids(1)[0], true, "t")], 1_000)
        .await
        .unwrap();
    table
        .store_stats(StatsSlot::Current, &snapshot(60, 61_000, 1_000, 3))
        .await
        .unwrap();
    let total = EpochTotal {
        epoch_id: 7,
        total_assigned_rewards_gnk: 12,
        rewarded_coins_sum: "12000000000".into(),
        participants: 1,
    };
    table.store_total(&total).await.unwrap();

    let statuses = table.load_statuses(StatusParts::both(7)).await.unwrap();
    let header = table.load_header(StatsSlot::Current).await.unwrap();
    let read = table.load_revisions(all).await.unwrap();
    assert_eq!(read.jail, statuses.jail_revision);
    assert_eq!(read.health, statuses.health_revision);
    assert_eq!(read.current, header);
    assert_eq!(read.total, Some(total));

    let narrow = table
        .load_revisions(RevisionQuery {
            epoch: 8,
            current_header: false,
            total: false,
        })
        .await
        .unwrap();
    assert_eq!(
        narrow,
        Revisions {
            health: statuses.health_revision,
            ..Revisions::default()
        },
        "another epoch's jail, and neither header nor total asked"
    );
}

#[tokio::test]
async fn revisions_are_read_as_stored_on_dynamodb() {
    let t = TestTable::new().await;
    revision_rules(&t.table).await;
}

#[tokio::test]
async fn revisions_are_read_as_stored_in_memory() {
    revision_rules(&MemoryTable::new()).await;
}
