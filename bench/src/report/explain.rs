//! Why a target was missed, and what would fix it: one paragraph per
//! target, from the figures and the floors measured in the same run.

use std::fmt::Write as _;

use super::markdown::mib;
use super::results::Results;
use crate::fig2_epoch_stats::EpochStatsRow;
use crate::fig3_warm::WarmRow;
use crate::fig4_modal::ModalRow;
use crate::fig5_cold::{ColdRow, RssRow};
use crate::floors::Floors;
use crate::stats::{bytes, count, ms};

pub(super) fn explain_cached(row: &EpochStatsRow, floors: Option<&Floors>) -> String {
    let mut why = format!(
        "The cached `/current` answer took p50 {} and p99 {} over {} requests ({} snapshot(s), {} \
         upstream calls). ",
        ms(row.cached.p50),
        ms(row.cached.p99),
        row.cached.count,
        row.cached_snapshots,
        row.cached_chain_calls
    );
    let Some(f) = floors else {
        return why;
    };
    let rebuild = f.current_reads.p50 + f.render_gzip.p50;
    let _ = write!(
        why,
        "Measured apart on the same stack: the API front and Runtime API hops alone p50 {} / p99 {}; \
         reading the snapshot from the table (GetItem of the header, BatchGetItem of {} chunks, with \
         the functions' own adapter) p50 {} / p99 {}; rendering it into gzip (`render_epoch`) p50 {} / \
         p99 {}; one trivial DynamoDB Local GetItem p50 {} / p99 {}. ",
        ms(f.front.p50),
        ms(f.front.p99),
        f.current_chunks,
        ms(f.current_reads.p50),
        ms(f.current_reads.p99),
        ms(f.render_gzip.p50),
        ms(f.render_gzip.p99),
        ms(f.get_item.p50),
        ms(f.get_item.p99),
    );
    if row.cached.p50 < rebuild {
        why += "Most answers come from what the instance kept (the p50 is below a read plus a render), so \
                the tail is the answers that are not: each instance's first, and every one after the \
                freshness window, reads the table and renders again, and DynamoDB Local (a JVM on the \
                same 2 cores) adds its own pauses to those. What would fix it: keep the gzipped answer \
                in the table next to the header as well, so an instance that has not kept it makes one \
                GetItem instead of reading and rendering the chunks; on DynamoDB itself the reads are \
                single-digit milliseconds.";
    } else {
        why += "The answers read the table and render on every request, which alone is about the target; \
                the tail is DynamoDB Local (a JVM on the same 2 cores) and the rendering. What would fix \
                it: keep the rendered, gzipped answer in the instance (or as one item in the table next \
                to the header), so a repeated request neither reads the chunks nor renders them.";
    }
    why
}

pub(super) fn explain_warm(row: &WarmRow) -> String {
    let rep = &row.first.report;
    let per_call =
        row.first.wall.as_secs_f64() * row.concurrency as f64 / rep.upstream_calls.max(1) as f64;
    format!(
        "The warm of N = {} made {} upstream calls and {} DynamoDB requests in {}; at {} calls in flight \
         that is {:.1} ms of wall time per call slot against the chain's {} latency. The difference is \
         the conditional PutItem after each fetch (DynamoDB Local, on the same 2 cores), which keeps \
         the fetch's slot until it is written, and the key-only BatchGetItem checks and final settle \
         reads. What would fix it: hand each fetched item to a separate, bounded writer (or \
         BatchWriteItem for items that are new) so that the {} slots only ever wait on the chain.",
        count(row.n as u64),
        count(rep.upstream_calls),
        count(rep.dynamodb_requests),
        ms(row.first.wall),
        row.concurrency,
        per_call * 1e3,
        ms(row.latency),
        row.concurrency
    )
}

pub(super) fn explain_modal(row: &ModalRow, floors: Option<&Floors>) -> String {
    let mut why = format!(
        "The modal after the warm took p50 {} and p99 {} over {} participants ({} upstream calls). ",
        ms(row.after.p50),
        ms(row.after.p99),
        row.after.count,
        row.after_chain_calls
    );
    if let Some(f) = floors {
        let _ = write!(
            why,
            "Its two table reads alone (BatchGetItem of the stats headers and 8 items, then GetItem of \
             the participant's chunk, through the functions' adapter) take p50 {} / p99 {}, and the API \
             front and Runtime API hops alone p50 {} / p99 {}; one trivial DynamoDB Local GetItem takes \
             p50 {} / p99 {}. ",
            ms(f.modal_reads.p50),
            ms(f.modal_reads.p99),
            ms(f.front.p50),
            ms(f.front.p99),
            ms(f.get_item.p50),
            ms(f.get_item.p99),
        );
    }
    why += "The floor is two DynamoDB Local round trips plus the emulated API Gateway and Runtime API; \
            the tail is the JVM and the shared 2 cores. What would fix it: nothing in the function's \
            logic (it makes no upstream call and only the two reads); on DynamoDB a read is a few \
            milliseconds, and a deployment that needs a lower tail can put the chunk's header into the \
            first BatchGetItem's answer (one round trip) or cache the immutable chunks of finished \
            epochs in the instance.";
    why
}

pub(super) fn explain_init(row: &ColdRow) -> String {
    format!(
        "{} needed {} (median) from spawn to its first poll of the Runtime API. Init is the \
         process start, the configuration, and building the AWS SDK clients (credentials from the \
         environment, no I/O) and the HTTP client; on this machine that is dominated by loading a {} \
         binary and TLS root certificates. What would fix it: build the clients lazily on the first \
         request, and trim the rustls root store loading.",
        row.function,
        ms(row.init.p50),
        "release"
    )
}

pub(super) fn explain_rss(row: &RssRow, n: usize, r: &Results) -> String {
    let mut why = format!(
        "{}'s peak RSS reached {} in the N = {} run.",
        row.function,
        mib(row.peak_kib),
        count(n as u64)
    );
    match row.function.as_str() {
        "epoch-stats" => {
            if let Some(sw) = r.switch.iter().find(|s| s.n == n) {
                let o = &sw.ours;
                let _ = write!(
                    why,
                    " It was {} after the first answer for the {}-participant epoch (built from the \
                     chain: the chain's participant list and epoch bodies read, joined, rendered and \
                     stored as chunks) and {} after the cached answers of figure 1; the answer is {} of \
                     JSON, {} gzipped.",
                    mib(o.peak_after_first_kib),
                    count(sw.listed as u64),
                    mib(o.peak_after_cached_kib),
                    bytes(o.first_plain_bytes),
                    bytes(o.first_bytes)
                );
                if o.peak_after_cached_kib <= o.peak_after_first_kib + 1024 {
                    why +=
                        " Serving from the table did not raise it; building did (figure 4 builds \
                            another epoch of that size later, which can set the final mark).";
                }
            }
            why + " Why: an instance keeps the answers it gave (4 gzipped answers, about 2 MiB each \
                   at this size, and the unmerged rows of at most 12,000 participants, about 1.5 KB \
                   each: `KEPT_ROWS`), so hot answers and jail or health merges need no table read; \
                   that is about 20 MiB live by design, and a later build of another epoch of this \
                   size (its chain bodies, joined rows and chunks, tens of MB at once) comes on top. \
                   Heap profiles (`scripts/heap-profile.sh`) show the rest is glibc keeping freed \
                   pages between the stages of one build: the live peak is below the RSS peak, and \
                   `malloc_trim(0)` after each invocation brings RSS back down (the mark stays). \
                   Tried and rejected: mimalloc (with `mi_collect` after each invocation) raised \
                   epoch-stats to 89 MiB on the same three first views where glibc reached 65 MiB. \
                   What would fix it: fewer kept rows at this size (a status change would then read \
                   the snapshot again), and parsing the chain's participant list from the stream \
                   instead of a buffer. (Lambda gives the function 256 MiB, so nothing fails; the \
                   target is about headroom.)"
        }
        "warmer" => {
            if let Some(w) = r.warm.iter().find(|w| w.n == n) {
                if let (Some(a), Some(b)) = (&w.first.rss, &w.second.rss) {
                    let _ = write!(
                        why,
                        " In figure 3's first run ({} participants, {} items, nothing cached) its RSS \
                         went from {} to {}, reached at {} of the {} run, and was {} when the \
                         invocation returned. The second run (everything present) went from {} to {}.",
                        count(w.first.report.participants),
                        count(w.first.report.items_checked),
                        mib(a.start_kib),
                        mib(a.peak_kib),
                        ms(a.peak_at),
                        ms(w.first.wall),
                        mib(a.end_kib),
                        mib(b.start_kib),
                        mib(b.peak_kib)
                    );
                    if a.end_kib * 10 >= a.peak_kib * 9 {
                        why += " The RSS stays at its peak after the run has returned and dropped its \
                                data, which points at memory the allocator keeps (glibc malloc's \
                                per-thread arenas) more than at live data.";
                    }
                }
            }
            why + " What would fix it: a heap profile (heaptrack or dhat) of one N = 10,000 warm tells live \
                   data from allocator retention; for retention, give freed memory back after a run \
                   (`malloc_trim(0)`, an allocator with decay such as jemalloc or mimalloc, or fewer \
                   arenas); for live data, bound what one run holds (the fetches in flight and their \
                   HTTP and SDK buffers, the slice of keys being checked). (Lambda gives the warmer 512 \
                   MB, so nothing fails; the target is about headroom.)"
        }
        "scheduler" => {
            why + " Why: one instance runs every job in turn, and at this size each holds a large \
                   body for a moment: `current_epoch` builds the epoch's snapshot as epoch-stats \
                   does (the chain's participant list and epoch bodies, joined rows, chunks), the \
                   jail job holds every member's status and the inference scan its state and a \
                   500-inference page. The mark is the largest of them plus what glibc keeps freed \
                   between them (`malloc_trim(0)` runs after each job; its RSS falls back between \
                   runs). What would fix it: parsing the chain's large bodies from the stream, \
                   and the same per-stage release inside `current_epoch`. (Lambda gives it 256 MiB, so nothing fails; \
                   the target is about headroom.)"
        }
        _ => why,
    }
}
