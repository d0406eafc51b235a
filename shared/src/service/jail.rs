//! The jail fetch (docs/contract-part2.md 4.2 with section 0): an epoch's
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
use crate::domain::{JailStatus, ValidatorInfo};
use crate::keybase::{picture_url, KeybaseIdentity, KeybaseLookup, KeybaseUsername};
use crate::table::{CacheTable, PutOutcome, StatsSlot, StatusTable, TableError};
use crate::time::now_ms;

use super::epochs::build_finished;
use super::keybase_names::{known_usernames, look_up_due, KeybaseMemo, KeybaseRun};
use super::ApiError;

/// Signing-info requests in flight at once (the chain client's own limit
/// applies too).
const SIGNING_INFO_CONCURRENCY: usize = 16;

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
    /// Lookups not asked or not waited for: the run's Keybase budget ran
    /// out (the next run asks them; known usernames stay served).
    pub keybase_left: usize,
    /// `false` when a stored (final or newer) copy was kept.
    pub written: bool,
    /// A finished epoch already stored final: nothing fetched.
    pub skipped: bool,
    pub duration_ms: u64,
}

/// Fetches and stores the jail statuses of `entries` at `height`, with
/// the Keybase usernames already known; then, when some are due, looks
/// them up under `keybase`'s budget and stores the rows again with the
/// answers. So a Keybase that never answers delays nothing: the statuses
/// are in the table before the first lookup. Any failed validator page
/// stores nothing; a failed signing info or Keybase lookup only leaves
/// that field as it was known.
pub async fn fetch_jail_statuses<V, T, K>(
    chain: &V,
    table: &T,
    keybase: &KeybaseRun<'_, K>,
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
    let mut known = known_usernames(table, keybase.memo, &identities).await;
    report.keybase_cached = known.cached;
    let rows = |usernames: &HashMap<KeybaseIdentity, Option<String>>| -> Vec<JailStatus> {
        matched
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
                    validator: ValidatorInfo {
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
                    },
                }
            })
            .collect()
    };
    let outcome = if known.due.is_empty() {
        table
            .store_jail(epoch, &rows(&known.usernames), now_ms(), is_final)
            .await?
    } else {
        // Stored before any lookup; not final yet, so the copy with the
        // answers (and a finished epoch's final one) may replace it.
        let first_at = now_ms();
        let first = table
            .store_jail(epoch, &rows(&known.usernames), first_at, false)
            .await?;
        let before = known.usernames.clone();
        let tally = look_up_due(table, keybase, &mut known).await;
        report.keybase_lookups = tally.answered;
        report.keybase_failures = tally.failed;
        report.keybase_left = tally.left;
        if known.usernames != before || is_final {
            // Stamped after the first copy, which only a newer one replaces.
            let at = now_ms().max(first_at + 1);
            table
                .store_jail(epoch, &rows(&known.usernames), at, is_final)
                .await?
        } else {
            first
        }
    };
    report.written = outcome == PutOutcome::Written;
    report.duration_ms = started.elapsed().as_millis() as u64;
    tracing::info!(
        epoch,
        report = %serde_json::to_string(&report).unwrap_or_default(),
        "jail statuses fetched"
    );
    Ok(report)
}

/// Jail entries from (participant id, epoch validator key) pairs.
pub fn jail_entries<'a>(
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
    keybase: &KeybaseRun<'_, K>,
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
    keybase: &KeybaseRun<'_, K>,
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

/// The first view of a finished epoch whose jail statuses are not stored:
/// fetched at its canonical `height` for the view's `entries`, with the
/// Keybase usernames already known (a request asks Keybase nothing), and
/// stored not final, so the warm the view sets off stores the final copy
/// with Keybase's answers.
pub async fn first_view_jail<V, T>(
    chain: &V,
    table: &T,
    memo: &KeybaseMemo,
    epoch: u64,
    height: u64,
    entries: &[JailEntry],
) -> Result<JailReport, JailError>
where
    V: ValidatorChain,
    T: StatusTable,
{
    let keybase = KeybaseRun::known_only(memo);
    fetch_jail_statuses(chain, table, &keybase, epoch, height, entries, false).await
}
