//! Progress lines on stderr, with the time since the run started.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

static STARTED: OnceLock<Instant> = OnceLock::new();

/// Starts the clock (the first call wins).
pub fn start() {
    STARTED.get_or_init(Instant::now);
}

/// Time since [`start`].
pub fn elapsed() -> Duration {
    STARTED.get().map_or(Duration::ZERO, |t| t.elapsed())
}

/// A progress line on stderr, with the time since the start.
pub fn progress(msg: &str) {
    let t = STARTED.get_or_init(Instant::now).elapsed();
    eprintln!("[{:>6.1} s] {msg}", t.as_secs_f64());
}
