//! The machine the run was on, as BENCHMARKS.md states it.

use std::path::Path;

#[derive(Debug, Clone, Default)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory: String,
    pub kernel: String,
    pub java: String,
    pub dynamodb_local: String,
}

impl Machine {
    pub fn detect(root: &Path) -> Machine {
        use procfs::{CpuInfo, Current, Meminfo};
        let cpu_model = CpuInfo::current()
            .ok()
            .and_then(|c| c.model_name(0).map(|m| m.trim().to_string()))
            .unwrap_or_else(|| "unknown".into());
        let memory = Meminfo::current()
            .map(|m| format!("{:.1} GiB", m.mem_total as f64 / (1024.0 * 1024.0 * 1024.0)))
            .unwrap_or_else(|_| "unknown".into());
        let java = std::process::Command::new("java")
            .arg("-version")
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .next()
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "unknown".into());
        let dynamodb_local = local_stack::dynamodb::find_jar(root)
            .ok()
            .and_then(|jar| {
                Some(
                    jar.parent()?
                        .file_name()?
                        .to_string_lossy()
                        .replace("dynamodb_local_", "DynamoDB Local "),
                )
            })
            .unwrap_or_else(|| "DynamoDB Local".into());
        Machine {
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model,
            memory,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
            java,
            dynamodb_local,
        }
    }
}
