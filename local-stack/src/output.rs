//! Console output: every line is prefixed with where it comes from
//! (`epoch-stats#1 | ...`, `api | ...`), one write per line so lines from
//! concurrent children never interleave mid-line.
//!
//! Write errors are ignored: a closed stdout (a reader that went away) must
//! not take the stack down, and `println!` would panic there.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

static WIDTH: AtomicUsize = AtomicUsize::new(11);

/// Pads every prefix to the longest one seen so far (set once at start-up
/// with the longest label so the columns line up from the first line).
pub fn reserve_width(label: &str) {
    WIDTH.fetch_max(label.len(), Ordering::Relaxed);
}

fn format_line(tag: &str, text: &str) -> String {
    let width = WIDTH.load(Ordering::Relaxed);
    format!("{tag:>width$} | {}\n", text.trim_end_matches(['\r', '\n']))
}

/// A prefixed line on stdout.
pub fn out(tag: &str, text: &str) {
    let _ = std::io::stdout()
        .lock()
        .write_all(format_line(tag, text).as_bytes());
}

/// A prefixed line on stderr.
pub fn err(tag: &str, text: &str) {
    let _ = std::io::stderr()
        .lock()
        .write_all(format_line(tag, text).as_bytes());
}

/// Unprefixed text on stdout, flushed (the ready banner scripts wait for).
pub fn plain(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// The local stack's own messages.
pub fn info(text: &str) {
    out("local-stack", text);
}

pub fn warn(text: &str) {
    err("local-stack", text);
}
