//! local-stack's meter as the bench reads it (`/__meter`): the table
//! requests and capacity per DynamoDB operation and each function's
//! invocations and billed duration, since the last reset. The bench's
//! stacks run no schedule, so what it reads between a reset and a reading
//! is what the bench asked for.

use local_stack::meter::table::OpCounts;
use local_stack::meter::Reading;

use std::time::{Duration, Instant};

use crate::http::get_json;
use crate::stack::Stack;

/// DynamoDB charges a failed conditional write as a write of at least one
/// unit (the size of the item it compared with); its error answer reports
/// no capacity, so the bill counts this much for each.
pub const UNITS_PER_FAILED_CONDITION: f64 = 1.0;

/// What one scenario used.
#[derive(Debug, Clone, Default)]
pub struct Metered {
    pub reading: Reading,
}

impl Metered {
    pub fn table_requests(&self) -> u64 {
        self.ops().map(|(_, c)| c.requests).sum()
    }

    pub fn read_units(&self) -> f64 {
        self.ops().map(|(_, c)| c.read_units).sum()
    }

    /// Reported write units plus [`UNITS_PER_FAILED_CONDITION`] per failed
    /// conditional write.
    pub fn write_units(&self) -> f64 {
        self.ops()
            .map(|(_, c)| {
                c.write_units + c.conditional_failures as f64 * UNITS_PER_FAILED_CONDITION
            })
            .sum()
    }

    /// Requests whose capacity is unknown (not asked for, not reported, or
    /// an error other than a failed condition).
    pub fn unknown_units(&self) -> u64 {
        self.ops()
            .map(|(_, c)| c.not_asked + c.unreported + c.errors)
            .sum()
    }

    pub fn invocations(&self) -> u64 {
        self.reading
            .functions
            .values()
            .map(|f| f.usage.invocations)
            .sum()
    }

    /// Billed milliseconds x MemorySize, in GB-seconds (1 GB = 1024 MB, as
    /// Lambda counts it).
    pub fn gb_seconds(&self) -> f64 {
        self.reading
            .functions
            .values()
            .map(|f| f.usage.billed_ms as f64 / 1000.0 * f64::from(f.memory_mb) / 1024.0)
            .sum()
    }

    fn ops(&self) -> impl Iterator<Item = (&String, &OpCounts)> {
        self.reading.table.iter()
    }

    /// Requests per operation, e.g. `BatchGetItem 2, GetItem 1`.
    pub fn by_operation(&self) -> String {
        let parts: Vec<String> = self
            .ops()
            .filter(|(_, c)| c.requests > 0)
            .map(|(op, c)| {
                let failed = if c.conditional_failures > 0 {
                    format!(" ({} failed conditions)", c.conditional_failures)
                } else {
                    String::new()
                };
                format!("{op} {}{failed}", c.requests)
            })
            .collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }

    /// The functions that ran, e.g. `scheduler 1 (412 ms)`.
    pub fn by_function(&self) -> String {
        let parts: Vec<String> = self
            .reading
            .functions
            .iter()
            .filter(|(_, f)| f.usage.invocations > 0)
            .map(|(name, f)| {
                format!(
                    "{name} {} ({} ms, {} MB)",
                    f.usage.invocations, f.usage.billed_ms, f.memory_mb
                )
            })
            .collect();
        parts.join(", ")
    }
}

impl Stack {
    pub async fn reset_meter(&self) -> Result<(), String> {
        let url = format!("{}/__meter/reset", self.meter());
        crate::http::post_empty(&self.http, &url).await
    }

    pub async fn read_meter(&self) -> Result<Metered, String> {
        let reading: Reading = get_json(&self.http, &format!("{}/__meter", self.meter())).await?;
        Ok(Metered { reading })
    }

    /// Waits until no function has an invocation queued or running, so a
    /// reading holds only what was asked for since the reset. Without it a
    /// warm started by an earlier figure (an epoch's first view invokes
    /// the warmer, which runs minutes at N = 10,000) writes into the next
    /// figure's reading.
    pub async fn wait_quiet(&self, within: Duration) -> Result<(), String> {
        let until = Instant::now() + within;
        loop {
            let reading = self.read_meter().await?.reading;
            let busy: Vec<String> = reading
                .functions
                .iter()
                .filter(|(_, f)| f.busy > 0)
                .map(|(name, f)| format!("{name} ({} invocations)", f.busy))
                .collect();
            if busy.is_empty() {
                return Ok(());
            }
            if Instant::now() >= until {
                return Err(format!(
                    "still busy after {} s: {}",
                    within.as_secs(),
                    busy.join(", ")
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
