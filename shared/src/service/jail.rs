//! The jail fetch (contract part 2, 4.2 with section 0): an epoch's
//! validators at one height, matched to its participants by operator
//! address, signing infos for the jailed, Keybase for identities (cached
//! in the table), stored per (epoch, participant). The scheduled function
//! refreshes the current epoch ([`refresh_current_jail`]); the warmer
//! fetches a finished epoch once, at its canonical height
//! ([`warm_finished_jail`]).

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use futures::StreamExt;
use serde::Serialize;

use crate::chain::{Chain, ChainError, EpochRef, Validator, ValidatorChain};
use crate::domain::jail::{clean_jailed_until, clean_moniker, consensus_key_mismatch, non_empty};
use crate::domain::links::web_link;
use crate::domain::validator_keys::{valcons_of, valoper_of};
use crate::domain::JailStatus;
use crate::keybase::{picture_url, KeybaseAnswer, KeybaseIdentity, KeybaseLookup, KeybaseUsername};
use crate::table::{CacheTable, CachedKeybase, PutOutcome, StatsSlot, StatusTable, TableError};
use crate::time::now_ms;

use super::epochs::build_finished;
use super::ApiError;

/// Signing-info requests in flight at once (the chain client's own limit
/// applies too).
const SIGNING_INFO_CONCURRENCY: usize = 16;
/// Keybase lookups in flight at once (an external host: kept gentle).
const KEYBASE_CONCURRENCY: usize = 4;
/// How long a found Keybase user is trusted.
pub const KEYBASE_FOUND_TTL_MS: i64 = 24 * 3_600_000;
/// How long "not found" or a failed lookup is remembered.
pub const KEYBASE_MISS_TTL_MS: i64 = 3_600_000;

/// An epoch participant as the jail fetch needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JailEntry {
    pub participant: String,
    /// The epoch entry's `validator_key` (for `consensus_key_mismatch`).
    pub validator_key: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum JailError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("the chain has no current epoch")]
    NoCurrentEpoch,
    #[error("finished epoch: {0}")]
    Epoch(String),
}

/// One jail fetch's summary (logged as one line; the scheduler's report).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JailReport {
    pub epoch_id: u64,
    pub height: u64,
    pub is_final: bool,
    pub participants: usize,
    pub validators: usize,
    /// Participants with a validator (tokens > 0): the rows stored.
    pub matched: usize,
    pub jailed: usize,
    pub signing_info_failures: usize,
    pub keybase_cached: usize,
    pub keybase_lookups: usize,
    pub keybase_failures: usize,
    /// `false` when a stored (final or newer) copy was kept.
    pub written: bool,
    /// A finished epoch already stored final: nothing fetched.
    pub skipped: bool,
    pub duration_ms: u64,
}

/// Fetches and stores the jail statuses of `entries` at `height`.
/// Any failed validator page stores nothing; a failed signing info or
/// Keybase lookup only leaves that field empty.
pub async fn fetch_jail_statuses<V, T, K>(
    chain: &V,
    table: &T,
    keybase: &K,
    epoch: u64,
    height: u64,
    entries: &[JailEntry],
    is_final: bool,
) -> Result<JailReport, JailError>
where
    V: ValidatorChain,
    T: StatusTable,
    K: KeybaseLookup,
{
    let started = Instant::now();
    let mut report = JailReport {
        epoch_id: epoch,
        height,
        is_final,
        participants: entries.len(),
        ..JailReport::default()
    };
    let validators = chain.validators(height).await?;
    report.validators = validators.len();
    let by_operator: HashMap<&str, &Validator> = validators
        .iter()
        .filter(|v| v.has_tokens())
        .map(|v| (v.operator_address.as_str(), v))
        .collect();
    let matched: Vec<(&JailEntry, &Validator)> = entries
        .iter()
        .filter_map(|e| {
            let valoper = valoper_of(&e.participant)?;
            by_operator.get(valoper.as_str()).map(|v| (e, *v))
        })
        .collect();
    report.matched = matched.len();

    // Signing infos of the jailed, concurrently; a failure leaves `None`.
    let jailed: Vec<(String, String)> = matched
        .iter()
        .filter(|(_, v)| v.jailed)
        .filter_map(|(e, v)| {
            let key = v.consensus_pubkey.as_ref()?.base64()?;
            Some((e.participant.clone(), valcons_of(key)?))
        })
        .collect();
    report.jailed = matched.iter().filter(|(_, v)| v.jailed).count();
    let infos: Vec<(String, Result<Option<String>, ChainError>)> = futures::stream::iter(jailed)
        .map(|(participant, valcons)| async move {
            let info = chain.signing_info(&valcons, height).await;
            (participant, info.map(|i| i.and_then(|i| i.jailed_until)))
        })
        .buffer_unordered(SIGNING_INFO_CONCURRENCY)
        .collect()
        .await;
    let mut jailed_until: HashMap<String, Option<String>> = HashMap::new();
    for (participant, info) in infos {
        match info {
            Ok(until) => {
                jailed_until.insert(participant, until);
            }
            Err(e) => {
                report.signing_info_failures += 1;
                tracing::warn!(%participant, error = %e, "signing info unavailable");
            }
        }
    }

    let identities: Vec<KeybaseIdentity> = matched
        .iter()
        .filter_map(|(_, v)| KeybaseIdentity::parse(v.description.as_ref()?.identity.as_deref()?))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let usernames = keybase_usernames(table, keybase, &identities, &mut report).await;

    let rows: Vec<JailStatus> = matched
        .iter()
        .map(|(e, v)| {
            let desc = v.description.clone().unwrap_or_default();
            let identity = non_empty(desc.identity.as_deref());
            let username = identity
                .as_deref()
                .and_then(KeybaseIdentity::parse)
                .and_then(|i| usernames.get(&i).cloned().flatten())
                // Cached answers too (older ones were stored unchecked).
                .and_then(|u| KeybaseUsername::parse(&u));
            let key = v
                .consensus_pubkey
                .as_ref()
                .and_then(|k| non_empty(k.base64()));
            JailStatus {
                participant: e.participant.clone(),
                is_jailed: v.jailed,
                jailed_until: jailed_until
                    .get(&e.participant)
                    .and_then(|u| clean_jailed_until(u.as_deref())),
                moniker: clean_moniker(desc.moniker.as_deref()),
                identity,
                keybase_picture_url: username.as_ref().map(picture_url),
                keybase_username: username.map(KeybaseUsername::into_string),
                website: web_link(desc.website.as_deref()),
                consensus_key_mismatch: consensus_key_mismatch(
                    key.as_deref(),
                    e.validator_key.as_deref(),
                ),
                validator_consensus_key: key,
            }
        })
        .collect();
    let outcome = table.store_jail(epoch, &rows, now_ms(), is_final).await?;
    report.written = outcome == PutOutcome::Written;
    report.duration_ms = started.elapsed().as_millis() as u64;
    tracing::info!(
        epoch,
        report = %serde_json::to_string(&report).unwrap_or_default(),
        "jail statuses fetched"
    );
    Ok(report)
}

/// Keybase usernames of `identities`: cached answers first, the rest
/// looked up and cached (found 24 h; not found or failed 1 h). A failed
/// lookup never loses a username the cache knew: it is kept (and asked
/// again in an hour). A table failure only costs the cache.
async fn keybase_usernames<T: StatusTable, K: KeybaseLookup>(
    table: &T,
    keybase: &K,
    identities: &[KeybaseIdentity],
    report: &mut JailReport,
) -> HashMap<KeybaseIdentity, Option<String>> {
    let now = now_ms();
    let stored = table.load_keybase(identities).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "Keybase cache unreadable");
        HashMap::new()
    });
    let (fresh, stale): (HashMap<_, _>, HashMap<_, _>) =
        stored.into_iter().partition(|(_, c)| c.expires_at_ms > now);
    report.keybase_cached = fresh.len();
    let mut out: HashMap<KeybaseIdentity, Option<String>> =
        fresh.into_iter().map(|(i, c)| (i, c.username)).collect();
    let missing: Vec<&KeybaseIdentity> = identities
        .iter()
        .filter(|i| !out.contains_key(*i))
        .collect();
    let answers: Vec<(KeybaseIdentity, KeybaseAnswer)> = futures::stream::iter(missing)
        .map(|i| async move { (i.clone(), keybase.lookup(i).await) })
        .buffer_unordered(KEYBASE_CONCURRENCY)
        .collect()
        .await;
    report.keybase_lookups = answers.len();
    let mut to_cache = Vec::with_capacity(answers.len());
    for (identity, answer) in answers {
        let (username, ttl) = match answer {
            KeybaseAnswer::Found { username } => (Some(username), KEYBASE_FOUND_TTL_MS),
            KeybaseAnswer::NotFound => (None, KEYBASE_MISS_TTL_MS),
            KeybaseAnswer::Failed(e) => {
                report.keybase_failures += 1;
                tracing::warn!(identity = identity.as_str(), error = %e, "Keybase lookup failed");
                let known = stale.get(&identity).and_then(|c| c.username.clone());
                (known, KEYBASE_MISS_TTL_MS)
            }
        };
        out.insert(identity.clone(), username.clone());
        to_cache.push(CachedKeybase {
            identity,
            username,
            expires_at_ms: now + ttl,
        });
    }
    if let Err(e) = table.store_keybase(&to_cache).await {
        tracing::warn!(error = %e, "could not cache Keybase answers");
    }
    out
}

/// Jail entries from (participant id, epoch validator key) pairs.
fn jail_entries<'a>(
    pairs: impl Iterator<Item = (&'a String, &'a Option<String>)>,
) -> Vec<JailEntry> {
    pairs
        .map(|(participant, validator_key)| JailEntry {
            participant: participant.clone(),
            validator_key: validator_key.clone(),
        })
        .collect()
}

/// The scheduled job: the current epoch's jail statuses at the latest height.
pub async fn refresh_current_jail<C, T, K>(
    chain: &C,
    table: &T,
    keybase: &K,
) -> Result<JailReport, JailError>
where
    C: Chain + ValidatorChain,
    T: StatusTable,
    K: KeybaseLookup,
{
    let (active, height) = futures::try_join!(
        chain.epoch_participants(EpochRef::Current),
        chain.latest_height()
    )?;
    let active = active.ok_or(JailError::NoCurrentEpoch)?;
    let entries = jail_entries(
        active
            .participants
            .iter()
            .map(|p| (&p.index, &p.validator_key)),
    );
    fetch_jail_statuses(
        chain,
        table,
        keybase,
        active.epoch_group_id,
        height,
        &entries,
        false,
    )
    .await
}

/// The warmer's job for a finished epoch: once, at its canonical height
/// (from the stored finished snapshot, else built from the chain; the
/// warmer stores no snapshot); skipped when already stored final.
pub async fn warm_finished_jail<C, T, K>(
    chain: &C,
    table: &T,
    keybase: &K,
    epoch: u64,
) -> Result<JailReport, JailError>
where
    C: Chain + ValidatorChain,
    T: CacheTable + StatusTable,
    K: KeybaseLookup,
{
    if table.jail_is_final(epoch).await? {
        return Ok(JailReport {
            epoch_id: epoch,
            is_final: true,
            skipped: true,
            ..JailReport::default()
        });
    }
    // The stored snapshot's ids and keys only (not its rows), else the
    // epoch built from the chain.
    let (height, entries) = match table.load_validator_keys(StatsSlot::Final(epoch)).await? {
        Some((header, keys)) => {
            let entries = keys
                .into_iter()
                .map(|k| JailEntry {
                    participant: k.index,
                    validator_key: k.validator_key,
                })
                .collect();
            (header.height, entries)
        }
        None => {
            let snapshot = build_finished(chain, epoch, None)
                .await
                .map_err(|e: ApiError| JailError::Epoch(e.detail()))?
                .1;
            let entries = jail_entries(
                snapshot
                    .participants
                    .iter()
                    .map(|p| (&p.index, &p.validator_key)),
            );
            (snapshot.header.height, entries)
        }
    };
    fetch_jail_statuses(chain, table, keybase, epoch, height, &entries, true).await
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
        let failing = Answers(KeybaseAnswer::Failed("timed out".into()));
        let mut report = JailReport::default();
        let ids = [known.clone(), unknown.clone()];
        let names = keybase_usernames(&table, &failing, &ids, &mut report).await;
        assert_eq!(
            names[&known].as_deref(),
            Some("alice"),
            "kept through a failure"
        );
        assert_eq!(names[&unknown], None);
        assert_eq!((report.keybase_lookups, report.keybase_failures), (2, 2));
        // Cached as such for the hour: the next run asks nobody.
        let stored = table.load_keybase(&ids).await.unwrap();
        assert_eq!(stored[&known].username.as_deref(), Some("alice"));
        assert!(stored[&known].expires_at_ms > now_ms());
        let found = Answers(KeybaseAnswer::Found {
            username: "bob".into(),
        });
        let mut report = JailReport::default();
        let names = keybase_usernames(&table, &found, &ids, &mut report).await;
        assert_eq!(report.keybase_lookups, 0);
        assert_eq!(names[&known].as_deref(), Some("alice"));
    }
}
