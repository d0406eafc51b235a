//! The epoch answer rendered once (gzipped), and the answers a warm
//! epoch-stats instance keeps: each with what it was built from (the
//! snapshot's version and fetch time, the jail and health revisions, the
//! total), so one small read says whether it still holds, and with the
//! unmerged rows (within a budget) so a change of jail, health or the
//! chain's tip is re-rendered from memory.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use flate2::write::GzEncoder;
use flate2::Compression;

use super::route::EpochRoute;
use super::statuses::Statuses;
use crate::domain::ParticipantStats;
use crate::http::{Payload, Reply};
use crate::service::epochs::{EpochView, Source};
use crate::service::responses::InferenceResponse;
use crate::service::status::merge_row;
use crate::service::ApiError;

/// A finished epoch's answer: its stats never change, but its rows carry
/// today's node health, and its jail statuses and total may arrive after
/// the first view; revalidated with the ETag.
const FINISHED: &str = "public, max-age=60";

/// The epoch-stats answer for `view` with `statuses` merged into its rows,
/// rendered straight into gzip (no uncompressed copy of a large epoch is
/// held), with its caching headers.
pub fn render_epoch(
    view: &EpochView,
    statuses: &Statuses,
    current_freshness_secs: u64,
) -> Result<Rendered, ApiError> {
    let h = &view.snapshot.header;
    let total = view.total_assigned_rewards_gnk;
    // A finished epoch's first view can come before its jail statuses
    // (the warm it sets off fetches them at the canonical height): a
    // browser must not keep that incomplete copy, so it asks again.
    let jail_missing = statuses.jail.is_empty() && !view.snapshot.participants.is_empty();
    let cache_control = match (view.is_current, view.source) {
        (_, Source::StaleTable) => "no-store".to_owned(),
        (true, _) => format!("public, max-age={current_freshness_secs}"),
        (false, _) if jail_missing => "no-store".to_owned(),
        (false, _) => FINISHED.to_owned(),
    };
    let etag = format!(
        "W/\"e{}-h{}-f{}-t{}-{}-j{:x}-n{:x}\"",
        h.epoch_id,
        h.height,
        h.fetched_at_ms,
        total.map_or("none".to_owned(), |t| t.to_string()),
        if view.is_current { "c" } else { "p" },
        statuses.jail_revision,
        statuses.health_revision,
    );
    // serde_json writes in tiny pieces; the encoder wants large ones.
    let mut out = std::io::BufWriter::with_capacity(
        64 * 1024,
        GzEncoder::new(Vec::new(), Compression::fast()),
    );
    let rows = MergedRows {
        rows: &view.snapshot.participants,
        statuses,
        now: chrono::Utc::now(),
    };
    let response =
        InferenceResponse::new(&view.snapshot, view.is_current, total).with_participants(rows);
    serde_json::to_writer(&mut out, &response)
        .map_err(|e| ApiError::Internal(format!("encoding the response: {e}")))?;
    let gz = out
        .into_inner()
        .map_err(|e| ApiError::Internal(format!("compressing the response: {}", e.error())))?
        .finish()
        .map_err(|e| ApiError::Internal(format!("compressing the response: {e}")))?;
    Ok(Rendered {
        epoch_id: h.epoch_id,
        is_current: view.is_current,
        keep: view.source != Source::StaleTable,
        version: h.version.clone(),
        tallies_hash: h.tallies_hash,
        fetched_at_ms: h.fetched_at_ms,
        total,
        jail_revision: statuses.jail_revision,
        health_revision: statuses.health_revision,
        body: Arc::new(gz),
        cache_control,
        etag,
    })
}

/// The rows with jail and health merged as they are written: one row
/// copied at a time, never the whole epoch (10,000 rows are ~15 MB).
struct MergedRows<'a> {
    rows: &'a [ParticipantStats],
    statuses: &'a Statuses,
    now: chrono::DateTime<chrono::Utc>,
}

impl serde::Serialize for MergedRows<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.rows.len()))?;
        for row in self.rows {
            let jail = self.statuses.jail.get(&row.index);
            let health = self.statuses.health.get(&row.index);
            if jail.is_none() && health.is_none() {
                seq.serialize_element(row)?;
                continue;
            }
            let mut merged = row.clone();
            merge_row(&mut merged, jail, health, self.now);
            seq.serialize_element(&merged)?;
        }
        seq.end()
    }
}

/// An epoch's rendered answer and what it was built from.
pub struct Rendered {
    pub epoch_id: u64,
    pub is_current: bool,
    /// Whether it may be kept (a stale copy served through a chain outage
    /// is not).
    keep: bool,
    /// The snapshot's row version, tallies and fetch time.
    pub version: String,
    pub tallies_hash: Option<u64>,
    pub fetched_at_ms: i64,
    pub total: Option<u64>,
    pub jail_revision: u64,
    pub health_revision: u64,
    body: Arc<Vec<u8>>,
    cache_control: String,
    etag: String,
}

impl Rendered {
    pub fn reply(&self) -> Reply {
        Reply {
            media: crate::http::Media::Json,
            status: 200,
            body: Payload::Gzipped(self.body.clone()),
            cache_control: self.cache_control.clone(),
            etag: Some(self.etag.clone()),
            retry_after_secs: None,
        }
    }
}

/// A kept answer.
pub struct Kept {
    pub rendered: Arc<Rendered>,
    /// The rows without jail and health, to re-render from; `None` past
    /// the rows budget (then a change reads the snapshot again).
    pub view: Option<Arc<EpochView>>,
    /// When it was last known to hold (ms).
    checked_at_ms: AtomicI64,
}

impl Kept {
    pub fn checked_at_ms(&self) -> i64 {
        self.checked_at_ms.load(Ordering::Relaxed)
    }

    pub fn mark_checked(&self, now_ms: i64) {
        self.checked_at_ms.fetch_max(now_ms, Ordering::Relaxed);
    }
}

/// The answers a warm instance keeps. Few entries (an epoch of 10,000
/// participants is about 2 MB gzipped), and unmerged rows for at most
/// [`KEPT_ROWS`] participants in all (about 1.5 KB each decoded).
#[derive(Default)]
pub struct KeptAnswers {
    entries: Mutex<VecDeque<(EpochRoute, Arc<Kept>)>>,
}

const KEPT_ANSWERS: usize = 4;
pub const KEPT_ROWS: usize = 12_000;

impl KeptAnswers {
    pub fn get(&self, route: &EpochRoute) -> Option<Arc<Kept>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .iter()
            .find(|(k, _)| k == route)
            .map(|(_, r)| r.clone())
    }

    /// Keeps `rendered` (with `view`'s rows while they fit the budget,
    /// dropping older entries' rows first) as checked at `now_ms`.
    pub fn put(
        &self,
        route: EpochRoute,
        rendered: Arc<Rendered>,
        view: Option<Arc<EpochView>>,
        now_ms: i64,
    ) -> Option<Arc<Kept>> {
        if !rendered.keep {
            return None;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|(k, _)| *k != route);
        if entries.len() >= KEPT_ANSWERS {
            entries.pop_front();
        }
        let rows =
            |v: &Option<Arc<EpochView>>| v.as_ref().map_or(0, |v| v.snapshot.participants.len());
        let mut view = view.filter(|v| v.snapshot.participants.len() <= KEPT_ROWS);
        let mut budget = KEPT_ROWS - rows(&view);
        // Newest first keep their rows; older entries lose theirs.
        let mut rebuilt = VecDeque::with_capacity(entries.len() + 1);
        for (k, kept) in entries.drain(..).rev() {
            let n = rows(&kept.view);
            let kept = if n <= budget {
                budget -= n;
                kept
            } else {
                Arc::new(Kept {
                    rendered: kept.rendered.clone(),
                    view: None,
                    checked_at_ms: AtomicI64::new(kept.checked_at_ms()),
                })
            };
            rebuilt.push_front((k, kept));
        }
        *entries = rebuilt;
        let kept = Arc::new(Kept {
            rendered,
            view: view.take(),
            checked_at_ms: AtomicI64::new(now_ms),
        });
        entries.push_back((route, kept.clone()));
        Some(kept)
    }
}
