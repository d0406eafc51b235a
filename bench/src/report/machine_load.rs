//! The sections about the machine itself: the floors (what the parts cost
//! alone) and the other load during each stage.

use std::fmt::Write as _;

use super::markdown::{n_label, table};
use super::results::Results;
use crate::stats::{ms, ratio};

pub(super) fn floors(r: &Results) -> String {
    let Some(f) = &r.floors else {
        return "Not measured in this run.\n".into();
    };
    let rows = [
        ("one DynamoDB Local GetItem (1 item, key only)", &f.get_item),
        (
            "table reads of cached `/current` (header + chunks, functions' adapter)",
            &f.current_reads,
        ),
        (
            "rendering the `/current` answer into gzip (`render_epoch`, in the bench)",
            &f.render_gzip,
        ),
        (
            "the same JSON rendered to a buffer, then gzipped (for comparison)",
            &f.render_buffered,
        ),
        (
            "table reads of a warmed modal (BatchGetItem + GetItem)",
            &f.modal_reads,
        ),
        (
            "API front + Runtime API hops (a 400 answered without I/O)",
            &f.front,
        ),
    ];
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|(what, s)| vec![what.to_string(), s.count.to_string(), ms(s.p50), ms(s.p99)])
        .collect();
    let mut out = format!(
        "Measured on the N = {} stack ({} chunks in the current epoch's snapshot):\n\n",
        n_label(f.n),
        f.current_chunks
    );
    out += &table(&["what", "samples", "p50", "p99"], &rows);
    let (direct, buffered) = (f.render_gzip.p50, f.render_buffered.p50);
    if direct > buffered * 2 {
        let _ = writeln!(
            out,
            "\nRendering straight into the gzip encoder costs {} the time of rendering to a buffer first \
             ({} against {} at the median): serde_json writes the JSON in many small pieces, each one \
             a call into the compressor. A `BufWriter` of a few tens of KB in front of the encoder keeps \
             the single compressed copy without that cost. Every answer epoch-stats renders pays it: \
             each instance's first, every rebuild, and a finished epoch it does not keep.",
            ratio(direct.as_secs_f64() / buffered.as_secs_f64()),
            ms(direct),
            ms(buffered)
        );
    }
    out
}

pub(super) fn load(r: &Results) -> String {
    if r.load.is_empty() {
        return "Not measured.\n".into();
    }
    let rows: Vec<Vec<String>> = r
        .load
        .iter()
        .map(|l| {
            vec![
                l.stage.clone(),
                format!("{:.0} s", l.secs),
                format!("{:.2}", l.cores),
            ]
        })
        .collect();
    let mut out = String::from(
        "CPU used by processes outside the bench and its stacks (sampled from `/proc` twice a second), \
         on average over each stage, in cores of the machine's total:\n\n",
    );
    out += &table(&["stage", "duration", "other processes (cores)"], &rows);
    out
}
