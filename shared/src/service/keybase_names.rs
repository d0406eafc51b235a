//! Keybase usernames for the jail fetch (docs/contract-part2.md 4.3): what is
//! known (the instance's memory, then the table) and the lookups of the
//! rest under a time budget, each answer cached as it arrives. A run cut
//! short by its budget, a 429 or a timeout loses nothing: what was
//! answered is stored, a known username is kept, the rest waits for the
//! next run.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::StreamExt;
use tokio::time::Instant;

use crate::keybase::{KeybaseAnswer, KeybaseIdentity, KeybaseLookup};
use crate::table::{CachedKeybase, StatusTable};
use crate::time::now_ms;

/// Keybase lookups in flight at once (an external host: kept gentle).
const KEYBASE_CONCURRENCY: usize = 4;
/// How long a found Keybase user is trusted.
pub const KEYBASE_FOUND_TTL_MS: i64 = 24 * 3_600_000;
/// How long "not found" or a failed lookup is remembered.
pub const KEYBASE_MISS_TTL_MS: i64 = 3_600_000;

/// Keybase answers held by the instance, with the table's freshness
/// (`expires_at_ms`): a warm instance's next jail run reads only what its
/// memory does not hold fresh. Bounded by the distinct identities of the
/// validator set (a few thousand entries of ~60 bytes).
#[derive(Default)]
pub struct KeybaseMemo(Mutex<HashMap<KeybaseIdentity, CachedKeybase>>);

impl KeybaseMemo {
    fn fresh(&self, identity: &KeybaseIdentity, now: i64) -> Option<CachedKeybase> {
        let memo = self.0.lock().unwrap_or_else(|p| p.into_inner());
        memo.get(identity)
            .filter(|c| c.expires_at_ms > now)
            .cloned()
    }

    fn remember(&self, entry: CachedKeybase) {
        let mut memo = self.0.lock().unwrap_or_else(|p| p.into_inner());
        memo.insert(entry.identity.clone(), entry);
    }
}

/// One jail run's Keybase: the client, the instance's memory and the
/// instant after which no lookup is waited for (`None`: no budget).
pub struct KeybaseRun<'a, K> {
    pub lookup: &'a K,
    pub memo: &'a KeybaseMemo,
    pub deadline: Option<Instant>,
}

/// A Keybase that is never asked (see [`KeybaseRun::known_only`]).
pub struct NotAsked;

impl KeybaseLookup for NotAsked {
    async fn lookup(&self, _: &KeybaseIdentity) -> KeybaseAnswer {
        KeybaseAnswer::Failed("not asked".into())
    }
}

impl<'a> KeybaseRun<'a, NotAsked> {
    /// A run that serves the usernames already known and asks Keybase
    /// nothing (its budget is spent before it starts): for a request,
    /// which must not wait for Keybase.
    pub fn known_only(memo: &'a KeybaseMemo) -> Self {
        Self {
            lookup: &NotAsked,
            memo,
            deadline: Some(Instant::now()),
        }
    }
}

/// What is known before any lookup: each identity's username (fresh or
/// stale: a stale username is served until an answer replaces it) and
/// the identities due for a lookup (absent or stale).
pub struct Known {
    pub usernames: HashMap<KeybaseIdentity, Option<String>>,
    pub due: Vec<KeybaseIdentity>,
    /// Fresh answers found (in memory or in the table).
    pub cached: usize,
}

/// The known usernames of `identities`: the instance's memory first, the
/// table for the rest. A table failure only costs the cache.
pub async fn known_usernames<T: StatusTable>(
    table: &T,
    memo: &KeybaseMemo,
    identities: &[KeybaseIdentity],
) -> Known {
    let now = now_ms();
    let mut known = Known {
        usernames: HashMap::new(),
        due: Vec::new(),
        cached: 0,
    };
    let mut unread = Vec::new();
    for identity in identities {
        match memo.fresh(identity, now) {
            Some(c) => {
                known.cached += 1;
                known.usernames.insert(c.identity, c.username);
            }
            None => unread.push(identity.clone()),
        }
    }
    if unread.is_empty() {
        return known;
    }
    let stored = table.load_keybase(&unread).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "Keybase cache unreadable");
        HashMap::new()
    });
    for identity in unread {
        match stored.get(&identity) {
            Some(c) if c.expires_at_ms > now => {
                known.cached += 1;
                memo.remember(c.clone());
                known.usernames.insert(identity, c.username.clone());
            }
            stale => {
                let username = stale.and_then(|c| c.username.clone());
                known.usernames.insert(identity.clone(), username);
                known.due.push(identity);
            }
        }
    }
    known
}

/// What the lookups of one run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LookupTally {
    /// Lookups answered (found, not found or failed).
    pub answered: usize,
    pub failed: usize,
    /// Not asked or not waited for: the budget ran out (the next run asks).
    pub left: usize,
}

/// Looks up `known.due` until the run's deadline, four at a time, and
/// caches each answer as it arrives (table and memory), updating
/// `known.usernames`. Found is kept 24 h, not found 1 h; a failure keeps
/// the username known before (for 1 h, then asked again). A lookup the
/// deadline cuts caches nothing.
pub async fn look_up_due<T: StatusTable, K: KeybaseLookup>(
    table: &T,
    run: &KeybaseRun<'_, K>,
    known: &mut Known,
) -> LookupTally {
    let mut tally = LookupTally::default();
    let due = std::mem::take(&mut known.due);
    let deadline = run.deadline;
    let mut answers = futures::stream::iter(due)
        .map(|identity| async move {
            let answer = {
                let asked = run.lookup.lookup(&identity);
                match deadline {
                    Some(at) if Instant::now() >= at => None,
                    Some(at) => tokio::time::timeout_at(at, asked).await.ok(),
                    None => Some(asked.await),
                }
            };
            (identity, answer)
        })
        .buffer_unordered(KEYBASE_CONCURRENCY);
    while let Some((identity, answer)) = answers.next().await {
        let Some(answer) = answer else {
            tally.left += 1;
            continue;
        };
        tally.answered += 1;
        let known_before = known.usernames.get(&identity).cloned().flatten();
        let (username, ttl) = match answer {
            KeybaseAnswer::Found { username } => (Some(username), KEYBASE_FOUND_TTL_MS),
            KeybaseAnswer::NotFound => (None, KEYBASE_MISS_TTL_MS),
            KeybaseAnswer::Failed(e) => {
                tally.failed += 1;
                tracing::debug!(identity = identity.as_str(), error = %e, "Keybase lookup failed");
                (known_before, KEYBASE_MISS_TTL_MS)
            }
        };
        let entry = CachedKeybase {
            identity: identity.clone(),
            username: username.clone(),
            expires_at_ms: now_ms() + ttl,
        };
        if let Err(e) = table.store_keybase(std::slice::from_ref(&entry)).await {
            tracing::warn!(error = %e, "could not cache a Keybase answer");
        }
        run.memo.remember(entry);
        known.usernames.insert(identity, username);
    }
    // Failures are worth a warning; lookups the budget left are expected
    // (a request's run asks none), and the next run asks them.
    if tally.failed > 0 {
        tracing::warn!(
            failed = tally.failed,
            left = tally.left,
            "Keybase lookups failed; known usernames kept"
        );
    } else if tally.left > 0 {
        tracing::info!(left = tally.left, "Keybase lookups left for the next run");
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::MemoryTable;

    /// A Keybase that answers every lookup the same way.
    struct Answers(KeybaseAnswer);

    impl KeybaseLookup for Answers {
        async fn lookup(&self, _: &KeybaseIdentity) -> KeybaseAnswer {
            self.0.clone()
        }
    }

    fn run<'a, K>(lookup: &'a K, memo: &'a KeybaseMemo) -> KeybaseRun<'a, K> {
        KeybaseRun {
            lookup,
            memo,
            deadline: None,
        }
    }

    #[tokio::test]
    async fn a_failed_lookup_keeps_the_username_the_cache_knew() {
        let table = MemoryTable::new();
        let known = KeybaseIdentity::parse("0123456789ABCDEF").unwrap();
        let unknown = KeybaseIdentity::parse("FEDCBA9876543210").unwrap();
        // Found a day ago: due to be asked again.
        table
            .store_keybase(&[CachedKeybase {
                identity: known.clone(),
                username: Some("alice".into()),
                expires_at_ms: now_ms() - 1,
            }])
            .await
            .unwrap();
        let failing = Answers(KeybaseAnswer::Failed("HTTP 429".into()));
        let memo = KeybaseMemo::default();
        let ids = [known.clone(), unknown.clone()];
        let mut names = known_usernames(&table, &memo, &ids).await;
        // Served stale before any lookup.
        assert_eq!(names.usernames[&known].as_deref(), Some("alice"));
        let tally = look_up_due(&table, &run(&failing, &memo), &mut names).await;
        assert_eq!((tally.answered, tally.failed, tally.left), (2, 2, 0));
        assert_eq!(names.usernames[&known].as_deref(), Some("alice"));
        assert_eq!(names.usernames[&unknown], None);
        // Cached as such for the hour: the next run asks nobody.
        let stored = table.load_keybase(&ids).await.unwrap();
        assert_eq!(stored[&known].username.as_deref(), Some("alice"));
        assert!(stored[&known].expires_at_ms > now_ms());
        let names = known_usernames(&table, &KeybaseMemo::default(), &ids).await;
        assert!(names.due.is_empty());
        assert_eq!(names.usernames[&known].as_deref(), Some("alice"));
    }

    #[tokio::test]
    async fn a_username_expired_long_ago_stays_served_through_a_failure_and_is_retried() {
        let table = MemoryTable::new();
        let id = KeybaseIdentity::parse("0123456789ABCDEF").unwrap();
        let ids = [id.clone()];
        // Found two days ago: its 24 h are long over.
        table
            .store_keybase(&[CachedKeybase {
                identity: id.clone(),
                username: Some("alice".into()),
                expires_at_ms: now_ms() - KEYBASE_FOUND_TTL_MS,
            }])
            .await
            .unwrap();
        let failing = Answers(KeybaseAnswer::Failed("timed out".into()));
        let memo = KeybaseMemo::default();
        let mut names = known_usernames(&table, &memo, &ids).await;
        assert_eq!(names.due, ids, "a stale entry is asked again");
        look_up_due(&table, &run(&failing, &memo), &mut names).await;
        assert_eq!(names.usernames[&id].as_deref(), Some("alice"));
        let entry = &table.load_keybase(&ids).await.unwrap()[&id];
        assert_eq!(entry.username.as_deref(), Some("alice"));
        // Asked again after the failure's hour, not before.
        let expires_in = entry.expires_at_ms - now_ms();
        assert!(expires_in > 0 && expires_in <= KEYBASE_MISS_TTL_MS);
    }

    #[tokio::test]
    async fn the_instance_memory_answers_before_the_table() {
        let table = MemoryTable::new();
        let id = KeybaseIdentity::parse("0123456789ABCDEF").unwrap();
        let ids = [id.clone()];
        let found = Answers(KeybaseAnswer::Found {
            username: "bob".into(),
        });
        let memo = KeybaseMemo::default();
        let mut names = known_usernames(&table, &memo, &ids).await;
        look_up_due(&table, &run(&found, &memo), &mut names).await;
        let calls = table.round_trips();
        let names = known_usernames(&table, &memo, &ids).await;
        assert_eq!(names.cached, 1);
        assert_eq!(names.usernames[&id].as_deref(), Some("bob"));
        assert_eq!(table.round_trips(), calls, "no table read");
        // Another instance (no memory) reads the table.
        known_usernames(&table, &KeybaseMemo::default(), &ids).await;
        assert_eq!(table.round_trips(), calls + 1);
    }
}
