//! What the cached paths cannot beat on this machine, measured separately
//! so that a missed latency target can be explained by numbers rather than
//! guessed at:
//! - one trivial DynamoDB Local `GetItem` (its own floor per round trip);
//! - the table reads of the cached `/current` path and of the modal, done
//!   from the bench with the functions' own table adapter (same requests);
//! - rendering the `/current` answer into gzip in-process, with the
//!   functions' own `render_epoch` (the CPU part), and the same JSON
//!   rendered to a buffer and then gzipped, for comparison;
//! - the API front and Runtime API hops alone: a request the function
//!   answers 400 without any I/O.

use std::time::Instant;

use std::io::Write;

use aws_sdk_dynamodb::types::AttributeValue;
use flate2::write::GzEncoder;
use flate2::Compression;
use shared::service::epochs::{EpochView, Source};
use shared::service::items::modal_item_keys;
use shared::service::responses::InferenceResponse;
use shared::table::ports::*;
use shared::table::StatsSlot;
use shared::ParticipantId;

use crate::http::get_gzip;
use crate::stack::Stack;
use crate::stats::Summary;

#[derive(Debug, Clone)]
pub struct Floors {
    pub n: usize,
    pub get_item: Summary,
    pub current_reads: Summary,
    pub current_chunks: u32,
    pub render_gzip: Summary,
    /// The same answer rendered to a buffer first, then gzipped.
    pub render_buffered: Summary,
    pub modal_reads: Summary,
    pub front: Summary,
}

pub async fn run(
    stack: &Stack,
    table_name: &str,
    modal_epoch: u64,
    warmed: &[ParticipantId],
    reps: usize,
) -> Result<Floors, String> {
    let client = local_stack::dynamodb::client(stack.dynamodb(), false);
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps + 10 {
        let started = Instant::now();
        client
            .get_item()
            .table_name(table_name)
            .key("pk", AttributeValue::S("CURRENT".into()))
            .key("sk", AttributeValue::S("STATS".into()))
            .projection_expression("pk")
            .send()
            .await
            .map_err(|e| format!("GetItem: {e}"))?;
        times.push(started.elapsed());
    }
    let get_item = Summary::of(&times[10..]).ok_or("no GetItem")?;

    let table = stack.table();
    let mut times = Vec::with_capacity(reps);
    let mut snapshot = None;
    for _ in 0..reps {
        let started = Instant::now();
        let s = table
            .load_stats(StatsSlot::Current)
            .await
            .map_err(|e| e.to_string())?;
        times.push(started.elapsed());
        snapshot = s;
    }
    let current_reads = Summary::of(&times).ok_or("no stats reads")?;
    let snapshot = snapshot.ok_or("no current epoch in the table")?;
    let current_chunks = snapshot.header.buckets;

    let view = EpochView {
        snapshot,
        is_current: true,
        total_assigned_rewards_gnk: None,
        source: Source::Table,
        chain_error: None,
    };
    let statuses = shared::epoch_stats::statuses::Statuses {
        jail: Default::default(),
        health: Default::default(),
        jail_revision: 0,
        health_revision: 0,
    };
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let started = Instant::now();
        // The function's own rendering: JSON straight into gzip.
        shared::epoch_stats::render::render_epoch(&view, &statuses, 30)
            .map_err(|e| e.to_string())?;
        times.push(started.elapsed());
    }
    let render_gzip = Summary::of(&times).ok_or("no renders")?;

    // For comparison: the same JSON rendered to a buffer, then gzipped.
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let started = Instant::now();
        let body = serde_json::to_vec(&InferenceResponse::new(&view.snapshot, true, None))
            .map_err(|e| e.to_string())?;
        let mut enc = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::fast());
        enc.write_all(&body)
            .and_then(|_| enc.finish())
            .map_err(|e| e.to_string())?;
        times.push(started.elapsed());
    }
    let render_buffered = Summary::of(&times).ok_or("no renders")?;

    let mut times = Vec::with_capacity(warmed.len());
    let slots = [StatsSlot::Current, StatsSlot::Final(modal_epoch)];
    for id in warmed {
        let started = Instant::now();
        let bundle = table
            .load_modal_bundle(&shared::table::ModalRead::headers_and_items(
                &slots,
                &modal_item_keys(id, modal_epoch, false),
            ))
            .await
            .map_err(|e| e.to_string())?;
        let header = bundle
            .headers
            .get(&StatsSlot::Final(modal_epoch))
            .ok_or("the modal epoch's stats are not in the table")?;
        table
            .load_participant_row(header, id)
            .await
            .map_err(|e| e.to_string())?;
        times.push(started.elapsed());
    }
    let modal_reads = Summary::of(&times).ok_or("no modal reads")?;

    let url = stack.url("/v1/inference/epochs/not-a-number");
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps + 10 {
        let f = get_gzip(&stack.http, &url).await?;
        if f.status != 400 {
            return Err(format!("GET {url}: expected 400, got {}", f.status));
        }
        times.push(f.elapsed);
    }
    let front = Summary::of(&times[10..]).ok_or("no front requests")?;

    Ok(Floors {
        n: stack.participants,
        get_item,
        current_reads,
        current_chunks,
        render_gzip,
        render_buffered,
        modal_reads,
        front,
    })
}
