//! Figure 9: the history. Two parts:
//!
//! - **The backfill's cost** (at the target size): the scheduler's
//!   `history_backfill` job invoked as its schedule would, each run
//!   metered with the warm it hands on (the bench waits for the warmer to
//!   finish), until a few epochs were warmed; the full backfill is those
//!   runs plus the warms still needed below the last one (each warm records
//!   its rewards window's epochs too, so the walk moves down by the measured
//!   stride) at the later runs' mean.
//! - **One participant's full history**: every finished epoch (1..C-1)
//!   as JSON, CSV and the SVG chart, one request at a time over a sample
//!   of participants, with the table's requests counted by the meter and
//!   the chain's counter checked to stay at zero; the floor is the same
//!   Query through the functions' adapter. A participant's entries the
//!   warms did not record (older epochs: a full backfill at N = 10,000 is
//!   hours) are written by the bench as copies of its newest recorded
//!   entry under each epoch's number: the same size and shape.
//!
//! Then, so that the scheduled figures measure the steady state, the
//! bench stores the cursor of a complete history (what the backfill stores
//! once it is done).

use std::time::{Duration, Instant};

use shared::domain::history::EpochRange;
use shared::table::{BackfillCursor, HistoryRecord, HistoryTable};
use shared::ParticipantId;

use crate::fig6_scheduled::invoke_job;
use crate::http::get_ok;
use crate::meter::Metered;
use crate::progress::progress;
use crate::sample::sample;
use crate::stack::Stack;
use crate::stats::Summary;

/// Epochs the backfill figure has warmed before it stops.
pub const BACKFILL_EPOCHS: usize = 3;
/// Backfill runs at most (a run may find its epoch held or recorded).
const BACKFILL_RUNS_MAX: usize = BACKFILL_EPOCHS + 8;
/// How long one backfilled warm may take.
const QUIET_WITHIN: Duration = Duration::from_secs(900);
/// Participants whose history is read (cycled over).
pub const SAMPLED: usize = 20;

/// One run of the backfill job, with the warm it handed on.
#[derive(Debug, Clone)]
pub struct BackfillRun {
    /// The epoch handed to the warmer, if any, and how the trigger went.
    pub triggered: Option<(u64, String)>,
    pub skipped: u64,
    /// The scheduler's run and the warm together.
    pub metered: Metered,
    pub chain_calls: u64,
    pub wall: Duration,
}

#[derive(Debug, Clone)]
pub struct BackfillRow {
    pub n: usize,
    pub runs: Vec<BackfillRun>,
    /// Finished epochs a full backfill covers (1..C-1).
    pub epochs: u64,
    /// The schedule's period (template.yaml).
    pub period: Duration,
}

impl BackfillRow {
    /// The runs that warmed an epoch.
    pub fn warming_runs(&self) -> Vec<&BackfillRun> {
        self.runs
            .iter()
            .filter(|r| r.triggered.as_ref().is_some_and(|(_, o)| o == "Invoked"))
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub n: usize,
    /// Epochs in each answer.
    pub epochs: usize,
    pub participants: usize,
    /// Entries the bench wrote (copies; see the module).
    pub seeded: usize,
    pub json: Summary,
    pub csv: Summary,
    pub svg: Summary,
    /// The same Query through the functions' adapter.
    pub floor: Summary,
    pub views: u64,
    /// Over all views of the three kinds.
    pub metered: Metered,
    pub chain_calls: u64,
    pub json_bytes: u64,
}

/// The backfill's cost: runs until [`BACKFILL_EPOCHS`] epochs were warmed.
pub async fn backfill(stack: &Stack, period: Duration) -> Result<BackfillRow, String> {
    let n = stack.participants;
    let input = r#"{"job": "history_backfill"}"#;
    let mut row = BackfillRow {
        n,
        runs: Vec::new(),
        epochs: stack.current_epoch.saturating_sub(1),
        period,
    };
    while row.runs.len() < BACKFILL_RUNS_MAX && row.warming_runs().len() < BACKFILL_EPOCHS {
        stack.wait_quiet(QUIET_WITHIN).await?;
        stack.reset_meter().await?;
        stack.reset_chain_stats().await?;
        let started = Instant::now();
        let (_, body) = invoke_job(stack, "scheduler", input).await?;
        stack.wait_quiet(QUIET_WITHIN).await?;
        let wall = started.elapsed();
        let report = &body["report"];
        let triggered = report["triggered"]
            .as_array()
            .and_then(|t| t.first())
            .and_then(|t| Some((t[0].as_u64()?, t[1].as_str()?.to_owned())));
        let run = BackfillRun {
            triggered,
            skipped: report["skipped"].as_u64().unwrap_or(0),
            metered: stack.read_meter().await?,
            chain_calls: stack.chain_stats().await?.total,
            wall,
        };
        progress(&format!(
            "N={n}: history backfill run {}: {:?}, {} chain calls, {} table requests, {:.1} s",
            row.runs.len() + 1,
            run.triggered,
            run.chain_calls,
            run.metered.table_requests(),
            wall.as_secs_f64()
        ));
        row.runs.push(run);
    }
    if row.warming_runs().is_empty() {
        return Err(format!(
            "{} backfill runs warmed no epoch: {:?}",
            row.runs.len(),
            row.runs.iter().map(|r| &r.triggered).collect::<Vec<_>>()
        ));
    }
    Ok(row)
}

/// One participant's full history, `reps` requests of each kind.
pub async fn latency(
    stack: &Stack,
    recorded_epoch: u64,
    reps: usize,
    warmups: usize,
) -> Result<HistoryRow, String> {
    let n = stack.participants;
    let newest = stack.current_epoch.saturating_sub(1);
    let full = EpochRange {
        from: 1,
        to: newest,
    };
    let ids = stack.epoch_participant_ids(recorded_epoch).await?;
    let picked: Vec<ParticipantId> = sample(&ids, SAMPLED, 0x415)
        .iter()
        .map(|id| ParticipantId::parse(id).map_err(|e| format!("{id}: {e}")))
        .collect::<Result<_, _>>()?;
    let seeded = seed(stack, &picked, full).await?;

    let kinds = [
        ("json", "?from_epoch=1".to_string()),
        ("csv", "?from_epoch=1&format=csv".to_string()),
        ("svg", format!("?metric=weight&epochs={newest}")),
    ];
    let path = |kind: &str, id: &ParticipantId, query: &str| {
        let suffix = if kind == "svg" { ".svg" } else { "" };
        stack.url(&format!("/v1/participants/{id}/history{suffix}{query}"))
    };
    for (kind, query) in &kinds {
        for id in picked.iter().cycle().take(warmups) {
            get_ok(&stack.http, &path(kind, id, query)).await?;
        }
    }
    let first = get_ok(&stack.http, &path("json", &picked[0], &kinds[0].1)).await?;
    let epochs = first.json()?["epochs"].as_array().map_or(0, Vec::len);
    if epochs as u64 != newest {
        return Err(format!(
            "the history of {} holds {epochs} epochs, not {newest}",
            picked[0]
        ));
    }
    stack.reset_meter().await?;
    stack.reset_chain_stats().await?;
    let mut times: [Vec<Duration>; 3] = Default::default();
    let mut json_bytes = 0;
    for (k, (kind, query)) in kinds.iter().enumerate() {
        for id in picked.iter().cycle().take(reps) {
            let f = get_ok(&stack.http, &path(kind, id, query)).await?;
            if k == 0 {
                json_bytes += f.body.len() as u64;
            }
            times[k].push(f.elapsed);
        }
    }
    let metered = stack.read_meter().await?;
    let chain_calls = stack.chain_stats().await?.total;

    let mut floor = Vec::with_capacity(reps);
    for id in picked.iter().cycle().take(reps) {
        let started = Instant::now();
        let page = stack
            .table()
            .load_history(id, full, 500)
            .await
            .map_err(|e| format!("the history Query: {e}"))?;
        floor.push(started.elapsed());
        if page.len() != epochs {
            return Err(format!(
                "the Query read {} entries, not {epochs}",
                page.len()
            ));
        }
    }
    let summary = |t: &[Duration]| Summary::of(t).ok_or("no history requests");
    let row = HistoryRow {
        n,
        epochs,
        participants: picked.len(),
        seeded,
        json: summary(&times[0])?,
        csv: summary(&times[1])?,
        svg: summary(&times[2])?,
        floor: summary(&floor)?,
        views: 3 * reps as u64,
        metered,
        chain_calls,
        json_bytes: json_bytes / reps.max(1) as u64,
    };
    progress(&format!(
        "N={n}: a full history ({epochs} epochs) x{reps}: JSON p50 {:.1} ms, p99 {:.1} ms; \
         {:.2} table requests a view, {chain_calls} chain requests",
        row.json.p50.as_secs_f64() * 1e3,
        row.json.p99.as_secs_f64() * 1e3,
        row.metered.table_requests() as f64 / row.views as f64
    ));
    Ok(row)
}

/// Writes, for each participant, a copy of its newest recorded entry for
/// every epoch of `range` it has none for; how many.
async fn seed(stack: &Stack, picked: &[ParticipantId], range: EpochRange) -> Result<usize, String> {
    let table = stack.table();
    let mut records = Vec::new();
    for id in picked {
        let stored = table
            .load_history(id, range, 500)
            .await
            .map_err(|e| format!("reading the history of {id}: {e}"))?;
        let Some((newest, _)) = stored.first() else {
            return Err(format!(
                "{id} has no recorded epoch (figure 9 needs figure 3's warm)"
            ));
        };
        let have: std::collections::HashSet<u64> = stored.iter().map(|(e, _)| e.epoch_id).collect();
        let per_epoch = stack.epoch_length.max(1);
        for epoch in (range.from..=range.to).filter(|e| !have.contains(e)) {
            let mut entry = newest.clone();
            entry.epoch_id = epoch;
            entry.height = newest
                .height
                .saturating_sub((newest.epoch_id.saturating_sub(epoch)) * per_epoch);
            records.push(HistoryRecord {
                participant: id.clone(),
                entry,
                fetched_at_ms: chrono::Utc::now().timestamp_millis(),
                is_final: true,
            });
        }
    }
    for chunk in records.chunks(500) {
        table
            .store_history(chunk)
            .await
            .map_err(|e| format!("writing the seeded history: {e}"))?;
    }
    Ok(records.len())
}

/// Stores the cursor of a complete history: later backfill runs (figures 6
/// and 8) do what they do once the backfill is done.
pub async fn mark_complete(stack: &Stack) -> Result<(), String> {
    let newest = stack.current_epoch.saturating_sub(1);
    let table = stack.table();
    let passes = table
        .load_backfill_cursor()
        .await
        .map_err(|e| format!("reading the backfill cursor: {e}"))?
        .map_or(0, |c| c.passes);
    table
        .store_backfill_cursor(BackfillCursor {
            next_epoch: 0,
            passes: passes + 1,
            complete_through: newest,
            pass_top: newest,
            pass_clean: true,
        })
        .await
        .map_err(|e| format!("storing the backfill cursor: {e}"))
}
