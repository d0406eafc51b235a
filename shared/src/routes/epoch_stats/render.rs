//! The epoch answer rendered once (gzipped), and the rendered answers a
//! warm epoch-stats instance keeps.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use flate2::write::GzEncoder;
use flate2::Compression;

use super::route::EpochRoute;
use crate::http::{Payload, Reply};
use crate::service::epochs::{EpochView, Source};
use crate::service::responses::InferenceResponse;
use crate::service::ApiError;

/// A finished epoch with its total: its stats never change, but its rows
/// carry today's node health (probed every minute), and its jail statuses
/// may arrive after the first view; revalidated with the ETag.
const FINISHED_SETTLED: &str = "public, max-age=60";

/// The epoch-stats answer, rendered straight into gzip (no uncompressed
/// copy of a large epoch is held), with its caching headers. `status_version`
/// names the jail and health items merged into its rows.
pub fn render_epoch(
    view: &EpochView,
    current_freshness_secs: u64,
    status_version: u64,
    now_ms: i64,
) -> Result<Rendered, ApiError> {
    let h = &view.snapshot.header;
    let total = view.total_assigned_rewards_gnk;
    let cache_control = match (view.is_current, view.source, total) {
        (_, Source::StaleTable, _) => "no-store".to_owned(),
        (true, _, _) => format!("public, max-age={current_freshness_secs}"),
        (false, _, Some(_)) => FINISHED_SETTLED.to_owned(),
        // The total is still being settled by the warmer.
        (false, _, None) => "public, max-age=60".to_owned(),
    };
    let etag = format!(
        "W/\"e{}-h{}-f{}-t{}-{}-s{:x}\"",
        h.epoch_id,
        h.height,
        h.fetched_at_ms,
        total.map_or("none".to_owned(), |t| t.to_string()),
        if view.is_current { "c" } else { "p" },
        status_version
    );
    // serde_json writes in tiny pieces; the encoder wants large ones.
    let mut out = std::io::BufWriter::with_capacity(
        64 * 1024,
        GzEncoder::new(Vec::new(), Compression::fast()),
    );
    serde_json::to_writer(
        &mut out,
        &InferenceResponse::new(&view.snapshot, view.is_current, total),
    )
    .map_err(|e| ApiError::Internal(format!("encoding the response: {e}")))?;
    let gz = out
        .into_inner()
        .map_err(|e| ApiError::Internal(format!("compressing the response: {}", e.error())))?
        .finish()
        .map_err(|e| ApiError::Internal(format!("compressing the response: {e}")))?;
    // Kept for later requests (while its status version holds): a finished
    // epoch once its total is settled, the current epoch for its freshness
    // window from when it was read (the scheduled refresh stores a newer
    // copy every minute; counting from its fetch would reread an unchanged
    // table copy on every request between refreshes).
    let keep_until_ms = match (view.is_current, view.source, total) {
        (_, Source::StaleTable, _) => Some(0),
        (true, _, _) => Some(now_ms + current_freshness_secs as i64 * 1000),
        (false, _, Some(_)) => None,
        (false, _, None) => Some(0),
    };
    Ok(Rendered {
        epoch_id: h.epoch_id,
        is_current: view.is_current,
        status_version,
        keep_until_ms,
        body: Arc::new(gz),
        cache_control,
        etag,
    })
}

/// An epoch's rendered answer.
pub struct Rendered {
    pub epoch_id: u64,
    pub is_current: bool,
    /// The jail and health items merged into it: a later version makes it
    /// outdated.
    pub status_version: u64,
    /// `None`: valid for good; `Some(t)`: until `t` (ms); `Some(0)`: not kept.
    keep_until_ms: Option<i64>,
    body: Arc<Vec<u8>>,
    cache_control: String,
    etag: String,
}

impl Rendered {
    pub fn reply(&self) -> Reply {
        Reply {
            status: 200,
            body: Payload::Gzipped(self.body.clone()),
            cache_control: self.cache_control.clone(),
            etag: Some(self.etag.clone()),
        }
    }
}

/// The epoch-stats answers a warm instance keeps, so a repeated request is
/// answered without reading and rendering the epoch again. Few entries (an
/// epoch of 10,000 participants is about 2 MB gzipped).
#[derive(Default)]
pub struct RenderCache {
    entries: Mutex<VecDeque<(EpochRoute, Arc<Rendered>)>>,
}

const RENDER_CACHE_ENTRIES: usize = 4;

impl RenderCache {
    pub fn get(&self, route: &EpochRoute, now_ms: i64) -> Option<Arc<Rendered>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|(_, r)| r.keep_until_ms.is_none_or(|t| t > now_ms));
        entries
            .iter()
            .find(|(k, _)| k == route)
            .map(|(_, r)| r.clone())
    }

    pub fn put(&self, route: EpochRoute, rendered: Arc<Rendered>, now_ms: i64) {
        if rendered.keep_until_ms.is_some_and(|t| t <= now_ms) {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|(k, _)| *k != route);
        if entries.len() >= RENDER_CACHE_ENTRIES {
            entries.pop_front();
        }
        entries.push_back((route, rendered));
    }
}
