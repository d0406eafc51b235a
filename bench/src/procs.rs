//! What `/proc` says about processes (through `procfs`): a stack's
//! function processes, their memory, and everyone's CPU time.

use procfs::process::{all_processes, Process};

/// The children of `parent` whose name (`comm`) is one of `names`, sorted.
pub fn children_named(parent: i32, names: &[&str]) -> Vec<(String, i32)> {
    let Ok(all) = all_processes() else {
        return Vec::new();
    };
    let mut found: Vec<(String, i32)> = all
        .flatten()
        .filter_map(|p| p.stat().ok())
        .filter(|s| s.ppid == parent && names.contains(&s.comm.as_str()))
        .map(|s| (s.comm, s.pid))
        .collect();
    found.sort();
    found
}

/// Peak resident set size (`VmHWM`) of a process, in KiB.
pub fn peak_rss_kib(pid: i32) -> Option<u64> {
    Process::new(pid).ok()?.status().ok()?.vmhwm
}

/// Resident set size now (`VmRSS`), in KiB.
pub fn rss_kib(pid: i32) -> Option<u64> {
    Process::new(pid).ok()?.status().ok()?.vmrss
}

/// Every process's group and CPU time so far (user + system, in clock
/// ticks), by pid.
pub fn cpu_by_pid() -> Vec<(i32, i32, u64)> {
    let Ok(all) = all_processes() else {
        return Vec::new();
    };
    all.flatten()
        .filter_map(|p| p.stat().ok())
        .map(|s| (s.pid, s.pgrp, s.utime + s.stime))
        .collect()
}

/// Clock ticks per second (the unit of [`cpu_by_pid`]).
pub fn ticks_per_second() -> f64 {
    procfs::ticks_per_second() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_children_and_their_memory() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep");
        let me = std::process::id() as i32;
        let found = children_named(me, &["sleep"]);
        let pid = child.id() as i32;
        assert!(found.contains(&("sleep".to_string(), pid)), "{found:?}");
        assert!(children_named(me, &["nothing-by-this-name"]).is_empty());
        assert!(peak_rss_kib(me).is_some_and(|k| k > 0));
        assert!(rss_kib(me).is_some_and(|k| k > 0));
        // SAFETY: getpgrp has no preconditions.
        let own_group = unsafe { libc::getpgrp() };
        assert!(cpu_by_pid()
            .iter()
            .any(|(p, g, _)| *p == me && *g == own_group));
        assert!(ticks_per_second() > 0.0);
        let _ = child.kill();
        let _ = child.wait();
    }
}
