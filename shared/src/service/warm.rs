//! The warmer: for an epoch's participants, every missing or stale reward,
//! warm-key and hardware item fetched once and written with conditional
//! puts, under one bounded concurrency and a deadline.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use futures::StreamExt;
use serde::Serialize;

use crate::chain::{Chain, EpochRef};
use crate::domain::total_assigned_rewards_gnk;
use crate::ids::ParticipantId;
use crate::table::{CacheTable, EpochTotal, ItemData, ItemKey, ItemKind, PutOutcome, StatsSlot};
use crate::time::now_ms;

use super::invoke::{WarmRequest, WarmerInvoker};
use super::items::{fetch_and_store, missing_items, modal_item_keys, ItemOutcome};
use super::Ctx;

/// Largest participant list a payload may carry (a real epoch has far
/// fewer; the bound keeps a hostile payload's memory small).
pub const MAX_PAYLOAD_PARTICIPANTS: usize = 20_000;

/// One step of a warm run's stream.
enum Step {
    /// A slice's keys were checked: how many, how many are present, how
    /// many could not be read.
    Checked {
        keys: usize,
        present: usize,
        unreadable: usize,
    },
    /// An item to fetch and store.
    Fetch(ItemKey),
    /// An item's outcome; `None` when the deadline stopped it from starting.
    Done(ItemKey, Option<ItemOutcome>),
}

/// A validated warmer payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmJob {
    pub epoch_id: u64,
    pub finished: bool,
    /// Optional explicit participants (deduplicated); else read from the table.
    pub participants: Option<Vec<ParticipantId>>,
}

/// Validates the raw event. Anything malformed is rejected whole.
pub fn parse_warm_payload(event: &serde_json::Value) -> Result<WarmJob, String> {
    let obj = event.as_object().ok_or("payload must be a JSON object")?;
    let epoch_id = obj
        .get("epoch_id")
        .and_then(|v| v.as_u64())
        .filter(|e| *e >= 1)
        .ok_or("epoch_id must be an integer >= 1")?;
    let finished = match obj.get("finished") {
        None | Some(serde_json::Value::Null) => false,
        Some(v) => v.as_bool().ok_or("finished must be a boolean")?,
    };
    let participants = match obj.get("participants") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => {
            let list = v.as_array().ok_or("participants must be an array")?;
            if list.len() > MAX_PAYLOAD_PARTICIPANTS {
                return Err(format!(
                    "participants lists {} ids, more than {MAX_PAYLOAD_PARTICIPANTS}",
                    list.len()
                ));
            }
            let mut seen = HashSet::with_capacity(list.len());
            let mut ids = Vec::with_capacity(list.len());
            for (i, v) in list.iter().enumerate() {
                let s = v
                    .as_str()
                    .ok_or_else(|| format!("participants[{i}] is not a string"))?;
                let id = ParticipantId::parse(s).map_err(|e| format!("participants[{i}]: {e}"))?;
                if seen.insert(id.clone()) {
                    ids.push(id);
                }
            }
            Some(ids)
        }
    };
    Ok(WarmJob {
        epoch_id,
        finished,
        participants,
    })
}

/// The warm run's summary, logged as one structured line.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WarmReport {
    pub epoch_id: u64,
    pub finished: bool,
    pub participants: usize,
    pub items_checked: usize,
    pub present: usize,
    pub fetched: usize,
    pub written: usize,
    pub lost_races: usize,
    pub failures: BTreeMap<&'static str, usize>,
    /// Items not started because the deadline came (the next run does them).
    pub left_for_next_run: usize,
    pub upstream_calls: u64,
    pub dynamodb_requests: u64,
    pub dynamodb_read_units: f64,
    pub dynamodb_write_units: f64,
    pub total_assigned_rewards_gnk: Option<u64>,
    pub duration_ms: u64,
}

impl<C: Chain, T: CacheTable> Ctx<C, T> {
    /// Runs one warm. `stop_at_ms`: no fetch starts at or after this time.
    pub async fn warm_epoch(&self, job: &WarmJob, stop_at_ms: Option<i64>) -> WarmReport {
        let started = Instant::now();
        let usage0 = self.usage();
        let mut report = WarmReport {
            epoch_id: job.epoch_id,
            finished: job.finished,
            ..WarmReport::default()
        };
        let participants = match &job.participants {
            Some(p) => p.clone(),
            None => match self.epoch_participants(job.epoch_id, job.finished).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(epoch = job.epoch_id, error = %e, "cannot list the epoch's participants; nothing warmed");
                    report.failures.insert("participants", 1);
                    return self.finish(report, started, usage0);
                }
            },
        };
        report.participants = participants.len();
        let epoch_is_current = !job.finished;
        let current = epoch_is_current.then_some(job.epoch_id);
        let freshness = self.config.item_freshness;

        // The keys of one slice of participants are checked against the
        // table (keys-only BatchGetItem) while the previous slice's fetches
        // run; the fetches form one stream, so the concurrency bound holds
        // across all participants and kinds, not batch after batch, and only
        // a slice's keys are in memory at a time.
        let checked = futures::stream::iter(participants.chunks(self.config.warmer_slice))
            .map(|slice| async move {
                let keys: Vec<ItemKey> = slice
                    .iter()
                    .flat_map(|p| modal_item_keys(p, job.epoch_id, epoch_is_current))
                    .collect();
                let stored = self.table.item_meta(&keys).await;
                (keys, stored)
            })
            .buffered(2);
        let steps = checked.flat_map(|(keys, stored)| {
            let steps: Vec<Step> = match stored {
                Ok(stored) => {
                    let missing = missing_items(&keys, &stored, current, now_ms(), freshness);
                    let present = keys.len() - missing.len();
                    std::iter::once(Step::Checked { keys: keys.len(), present, unreadable: 0 })
                        .chain(missing.into_iter().map(Step::Fetch))
                        .collect()
                }
                Err(e) => {
                    tracing::error!(epoch = job.epoch_id, error = %e, "cannot read what is cached; skipping these participants");
                    vec![Step::Checked { keys: keys.len(), present: 0, unreadable: keys.len() }]
                }
            };
            futures::stream::iter(steps)
        });
        let mut outcomes = steps
            .map(|step| async move {
                match step {
                    Step::Fetch(key) => {
                        if stop_at_ms.is_some_and(|stop| now_ms() >= stop) {
                            return Step::Done(key, None);
                        }
                        let outcome =
                            fetch_and_store(&self.chain, &self.table, &key, job.finished).await;
                        Step::Done(key, Some(outcome))
                    }
                    other => other,
                }
            })
            .buffer_unordered(self.config.warmer_concurrency);
        while let Some(step) = outcomes.next().await {
            let (key, outcome) = match step {
                Step::Checked {
                    keys,
                    present,
                    unreadable,
                } => {
                    report.items_checked += keys;
                    report.present += present;
                    if unreadable > 0 {
                        *report.failures.entry("table").or_default() += unreadable;
                    }
                    continue;
                }
                Step::Fetch(_) => continue,
                Step::Done(key, outcome) => (key, outcome),
            };
            match outcome {
                None => report.left_for_next_run += 1,
                Some(ItemOutcome::Written(_)) => {
                    report.fetched += 1;
                    report.written += 1;
                }
                Some(ItemOutcome::LostRace(_)) => {
                    report.fetched += 1;
                    report.lost_races += 1;
                }
                Some(ItemOutcome::FetchFailed(e)) => {
                    tracing::warn!(participant = %key.participant, epoch = key.epoch, kind = key.kind.as_str(), error = %e, "fetch failed");
                    *report.failures.entry(key.kind.as_str()).or_default() += 1;
                }
                Some(ItemOutcome::StoreFailed(_, e)) => {
                    report.fetched += 1;
                    tracing::warn!(participant = %key.participant, epoch = key.epoch, kind = key.kind.as_str(), error = %e, "write failed");
                    *report.failures.entry("table").or_default() += 1;
                }
            }
        }
        drop(outcomes);
        if report.left_for_next_run > 0 {
            tracing::warn!(
                epoch = job.epoch_id,
                left = report.left_for_next_run,
                "deadline reached; the next run finishes the epoch"
            );
        }
        if job.finished {
            report.total_assigned_rewards_gnk =
                self.settle_total(job.epoch_id, &participants).await;
        }
        self.finish(report, started, usage0)
    }

    fn finish(&self, mut report: WarmReport, started: Instant, usage0: Usage) -> WarmReport {
        report.duration_ms = started.elapsed().as_millis() as u64;

        let usage = self.usage();
        report.upstream_calls = usage.calls.saturating_sub(usage0.calls);
        report.dynamodb_requests = usage.requests.saturating_sub(usage0.requests);
        report.dynamodb_read_units = usage.read_units - usage0.read_units;
        report.dynamodb_write_units = usage.write_units - usage0.write_units;
        tracing::info!(
            epoch = report.epoch_id,
            finished = report.finished,
            participants = report.participants,
            items_checked = report.items_checked,
            present = report.present,
            fetched = report.fetched,
            written = report.written,
            lost_races = report.lost_races,
            failures = ?report.failures,
            left_for_next_run = report.left_for_next_run,
            upstream_calls = report.upstream_calls,
            dynamodb_requests = report.dynamodb_requests,
            dynamodb_read_units = report.dynamodb_read_units,
            dynamodb_write_units = report.dynamodb_write_units,
            total_assigned_rewards_gnk = ?report.total_assigned_rewards_gnk,
            duration_ms = report.duration_ms,
            "warm run finished"
        );
        report
    }

    /// The epoch's participants: from the cached stats when present, else
    /// from the chain (one call).
    async fn epoch_participants(
        &self,
        epoch: u64,
        finished: bool,
    ) -> Result<Vec<ParticipantId>, String> {
        let slot = if finished {
            StatsSlot::Final(epoch)
        } else {
            StatsSlot::Current
        };
        let from_table = self
            .table
            .load_participant_ids(slot)
            .await
            .map_err(|e| e.to_string())?
            .filter(|(stored_epoch, _)| *stored_epoch == epoch);
        let indexes: Vec<String> = match from_table {
            Some((_, ids)) => ids,
            None => self
                .chain
                .epoch_member_ids(EpochRef::Number(epoch))
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("epoch {epoch} does not exist"))?,
        };
        let mut seen = HashSet::new();
        Ok(indexes
            .iter()
            .filter_map(|i| match ParticipantId::parse(i) {
                Ok(id) => seen.insert(id.clone()).then_some(id),
                Err(e) => {
                    tracing::warn!(index = %i, error = %e, "skipping a participant with an invalid address");
                    None
                }
            })
            .collect())
    }

    /// Writes the finished epoch's total once every participant's reward
    /// for it is known; returns the stored total.
    async fn settle_total(&self, epoch: u64, participants: &[ParticipantId]) -> Option<u64> {
        match self.table.load_total(epoch).await {
            Ok(Some(t)) => return Some(t.total_assigned_rewards_gnk),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(epoch, error = %e, "cannot read the epoch total");
                return None;
            }
        }
        let keys: Vec<ItemKey> = participants
            .iter()
            .map(|p| ItemKey::new(p.clone(), epoch, ItemKind::Reward))
            .collect();
        let items = match self.table.load_items(&keys).await {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(epoch, error = %e, "cannot read the epoch's rewards");
                return None;
            }
        };
        if items.len() < keys.len() {
            tracing::info!(
                epoch,
                known = items.len(),
                participants = keys.len(),
                "epoch total waits for every reward"
            );
            return None;
        }
        let coins: Vec<String> = items
            .values()
            .filter_map(|i| match &i.data {
                ItemData::Reward(Some(r)) => Some(r.rewarded_coins.clone()),
                _ => None,
            })
            .collect();
        let sum: u128 = coins
            .iter()
            .map(|c| c.parse::<u128>().unwrap_or(0))
            .fold(0, u128::saturating_add);
        let total = EpochTotal {
            epoch_id: epoch,
            total_assigned_rewards_gnk: total_assigned_rewards_gnk(
                coins.iter().map(String::as_str),
            ),
            rewarded_coins_sum: sum.to_string(),
            participants: keys.len() as u64,
        };
        match self.table.store_total(&total).await {
            Ok(PutOutcome::Written) => Some(total.total_assigned_rewards_gnk),
            Ok(PutOutcome::LostRace) => self
                .table
                .load_total(epoch)
                .await
                .ok()
                .flatten()
                .map(|t| t.total_assigned_rewards_gnk),
            Err(e) => {
                tracing::warn!(epoch, error = %e, "cannot store the epoch total");
                None
            }
        }
    }

    /// After an epoch is served: claim the epoch's warm guard and, if this
    /// call got it, invoke the warmer (InvocationType Event). Failures are
    /// logged, never turned into an error response.
    pub async fn trigger_warm<W: WarmerInvoker>(
        &self,
        invoker: &W,
        epoch_id: u64,
        finished: bool,
    ) -> WarmTrigger {
        let now = now_ms();
        if self.known_guard(epoch_id, now) {
            return WarmTrigger::GuardHeld;
        }
        let window = self.config.warm_guard_window.as_millis() as i64;
        let claim = match self.table.claim_warm_guard(epoch_id, now, window).await {
            Ok(claim) => claim,
            Err(e) => {
                tracing::warn!(epoch = epoch_id, error = %e, "cannot claim the warm guard; warmer not triggered");
                return WarmTrigger::Failed;
            }
        };
        self.remember_guard(epoch_id, claim.held_until_ms, now);
        if !claim.won {
            return WarmTrigger::GuardHeld;
        }
        match invoker
            .invoke_warmer(&WarmRequest { epoch_id, finished })
            .await
        {
            Ok(()) => {
                tracing::info!(epoch = epoch_id, finished, "warmer invoked");
                WarmTrigger::Invoked
            }
            Err(e) => {
                tracing::error!(epoch = epoch_id, error = %e, "warmer invoke failed");
                WarmTrigger::Failed
            }
        }
    }

    fn known_guard(&self, epoch: u64, now: i64) -> bool {
        let memo = self
            .guard_held_until
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        memo.get(&epoch).is_some_and(|until| *until > now)
    }

    fn remember_guard(&self, epoch: u64, until: i64, now: i64) {
        let mut memo = self
            .guard_held_until
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        memo.retain(|_, u| *u > now);
        memo.insert(epoch, until);
    }
}

/// The warmer function's handler: validates the event, runs the warm until
/// `deadline_ms - margin`, and returns the report (a rejected payload is
/// logged and answered, never retried by Lambda as an error).
pub async fn handle_warm_event<C: Chain, T: CacheTable>(
    ctx: &Ctx<C, T>,
    event: &serde_json::Value,
    deadline_ms: Option<i64>,
) -> serde_json::Value {
    match parse_warm_payload(event) {
        Err(reason) => {
            tracing::error!(%reason, "rejected warmer payload; nothing written");
            serde_json::json!({ "status": "rejected", "reason": reason })
        }
        Ok(job) => {
            let stop_at =
                deadline_ms.map(|d| d - ctx.config.warmer_deadline_margin.as_millis() as i64);
            let report = ctx.warm_epoch(&job, stop_at).await;
            serde_json::json!({ "status": "done", "report": report })
        }
    }
}

/// Upstream and table usage counters at one moment.
#[derive(Debug, Clone, Copy)]
struct Usage {
    calls: u64,
    requests: u64,
    read_units: f64,
    write_units: f64,
}

impl<C: Chain, T: CacheTable> Ctx<C, T> {
    fn usage(&self) -> Usage {
        let (read_units, write_units) = self.table.capacity_units();
        Usage {
            calls: self.chain.upstream_calls(),
            requests: self.table.requests(),
            read_units,
            write_units,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarmTrigger {
    Invoked,
    GuardHeld,
    Failed,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const A: &str = "gonka14cu38xpsd8pz5zdkkzwf0jwtpc0vv309ake364";
    const B: &str = "gonka1tt6mlr3r50uey8kxkktlxv8ht9zyrd4dtnvemu";

    #[tokio::test]
    async fn a_held_guard_is_remembered_without_asking_the_table_again() {
        use crate::config::Config;
        use crate::service::RecordingInvoker;
        use crate::table::MemoryTable;
        let config = Config::from_lookup(|k| match k {
            "TABLE_NAME" => Some("t".into()),
            "CHAIN_API_URLS" => Some("http://127.0.0.1:9".into()),
            _ => None,
        })
        .unwrap();
        let chain = crate::chain::HttpChain::new(config.chain_options()).unwrap();
        let ctx = Ctx::new(chain, MemoryTable::new(), config);
        let invoker = RecordingInvoker::default();
        assert_eq!(
            ctx.trigger_warm(&invoker, 7, false).await,
            WarmTrigger::Invoked
        );
        let trips = ctx.table.round_trips();
        for _ in 0..5 {
            assert_eq!(
                ctx.trigger_warm(&invoker, 7, false).await,
                WarmTrigger::GuardHeld
            );
        }
        assert_eq!(
            ctx.table.round_trips(),
            trips,
            "the held guard is known locally"
        );
        assert_eq!(
            ctx.trigger_warm(&invoker, 8, true).await,
            WarmTrigger::Invoked,
            "guards are per epoch"
        );
        let sent: Vec<(u64, bool)> = invoker
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| (r.epoch_id, r.finished))
            .collect();
        assert_eq!(sent, vec![(7, false), (8, true)]);
    }

    #[test]
    fn payload_validation() {
        let ok = |v: serde_json::Value| parse_warm_payload(&v).unwrap();
        assert_eq!(
            ok(json!({"epoch_id": 56})),
            WarmJob {
                epoch_id: 56,
                finished: false,
                participants: None
            }
        );
        assert!(ok(json!({"epoch_id": 56, "finished": true, "extra": 1})).finished);
        let deduped = ok(json!({"epoch_id": 5, "participants": [A, B, A, A]}))
            .participants
            .unwrap();
        assert_eq!(
            deduped.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            vec![A, B]
        );

        let too_many: Vec<String> = (0..MAX_PAYLOAD_PARTICIPANTS + 1)
            .map(|_| A.to_string())
            .collect();
        let cases = [
            (json!("56"), "JSON object"),
            (json!([]), "JSON object"),
            (json!({}), "epoch_id"),
            (json!({"epoch_id": 0}), "epoch_id"),
            (json!({"epoch_id": -3}), "epoch_id"),
            (json!({"epoch_id": "56"}), "epoch_id"),
            (json!({"epoch_id": 1.5}), "epoch_id"),
            (json!({"epoch_id": 5, "finished": "yes"}), "finished"),
            (json!({"epoch_id": 5, "participants": "x"}), "array"),
            (json!({"epoch_id": 5, "participants": [1]}), "not a string"),
            (
                json!({"epoch_id": 5, "participants": [A, "../../x"]}),
                "participants[1]",
            ),
            (
                json!({"epoch_id": 5, "participants": too_many}),
                "more than",
            ),
        ];
        for (payload, want) in cases {
            let err = parse_warm_payload(&payload).unwrap_err();
            assert!(err.contains(want), "{payload}: {err}");
        }
    }
}
