//! Giving freed memory back to the system between invocations.
//!
//! Why: the functions run on glibc (Lambda's `aarch64-unknown-linux-gnu`),
//! whose malloc keeps what a program frees for later reuse instead of
//! returning it, so an instance's RSS stays at the mark of its largest
//! invocation (and the next one's allocations land beside it). Heap
//! profiles at 10,000 participants (heaptrack): the scheduler's jobs had at
//! most 35 MB live for an RSS of 86 MiB, epoch-stats' two epoch builds at
//! most 53 MB for 84 MiB. Two settings and one call bound it:
//!
//! - [`configure`], once at start: at most two malloc arenas (glibc's
//!   default is eight per core, and each thread of the async runtime can
//!   end up holding freed memory in its own), and a fixed mmap threshold
//!   of 128 KiB, so a large buffer (an upstream body, an epoch's rows, a
//!   rendered answer) is its own mapping, unmapped when freed. glibc
//!   otherwise raises the threshold after the first such buffer is freed
//!   and serves later ones from the heap, where they stay.
//! - [`after_invocation`] wraps each function's handler: once the handler
//!   has its answer, `malloc_trim(0)` returns the free pages of every
//!   arena, so the next invocation starts from what is live.
//!
//! On other platforms (macOS for development, musl) both are no-ops.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

/// The fixed mmap threshold: allocations of at least this are mappings of
/// their own (glibc's initial default, kept from growing).
const MMAP_THRESHOLD_BYTES: i32 = 128 * 1024;
/// Malloc arenas (glibc's default: 8 x cores).
const ARENA_MAX: i32 = 2;

static RELEASES: AtomicU64 = AtomicU64::new(0);

/// Sets the allocator up for a long-lived, mostly idle process; call first
/// in `main` (arenas are made when threads first allocate).
pub fn configure() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before
    // other threads start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENA_MAX);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
    }
}

/// Returns the allocator's free memory to the system now.
pub fn release() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim is thread-safe (it takes each arena's lock).
    unsafe {
        libc::malloc_trim(0);
    }
    RELEASES.fetch_add(1, Ordering::Relaxed);
}

/// How many times [`release`] has run in this process.
pub fn releases() -> u64 {
    RELEASES.load(Ordering::Relaxed)
}

/// Runs one invocation's handler, then [`release`]: its result is
/// returned unchanged (the caller's locals are dropped by then, so what
/// the invocation freed is given back).
pub async fn after_invocation<F: Future>(handler: F) -> F::Output {
    let out = handler.await;
    release();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The handler's answer comes back unchanged, and the memory it freed
    /// is released once it has finished, not before.
    #[tokio::test]
    async fn memory_is_released_after_each_invocation() {
        configure();
        let before = releases();
        let answer = after_invocation(async {
            let rows: Vec<String> = (0..100_000).map(|i| format!("row {i}")).collect();
            // Still running: nothing released yet.
            assert_eq!(releases(), before);
            rows.len()
        })
        .await;
        assert_eq!(answer, 100_000);
        assert!(releases() > before);
        let err: Result<(), &str> = after_invocation(async { Err("failed") }).await;
        assert_eq!(err, Err("failed"));
        assert!(releases() >= before + 2);
    }
}
