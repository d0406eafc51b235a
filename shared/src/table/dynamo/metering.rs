//! Requests and capacity units the adapter used, as DynamoDB reports them.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::types::ConsumedCapacity;

/// Which capacity a request consumes.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    Read,
    Write,
}

/// Requests and capacity the adapter used (all clones share them).
#[derive(Debug, Default)]
pub struct TableCounters {
    requests: AtomicU64,
    read_milli_units: AtomicU64,
    write_milli_units: AtomicU64,
}

impl TableCounters {
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    pub fn read_capacity_units(&self) -> f64 {
        self.read_milli_units.load(Ordering::Relaxed) as f64 / 1000.0
    }
    pub fn write_capacity_units(&self) -> f64 {
        self.write_milli_units.load(Ordering::Relaxed) as f64 / 1000.0
    }

    /// Counts one request and the capacity it consumed: what a response
    /// reports (`Option<&ConsumedCapacity>` for one item, a slice for a
    /// batch), or nothing for a request that failed its condition.
    /// Responses report only the total (`CapacityUnits`) unless indexes are
    /// involved, so the operation's kind says whether it was read or write
    /// capacity.
    pub(super) fn record<'a>(
        &self,
        op: Op,
        capacity: impl IntoIterator<Item = &'a ConsumedCapacity>,
    ) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        for c in capacity {
            let (mut read, mut write) = (
                c.read_capacity_units().unwrap_or(0.0),
                c.write_capacity_units().unwrap_or(0.0),
            );
            if read == 0.0 && write == 0.0 {
                let total = c.capacity_units().unwrap_or(0.0);
                match op {
                    Op::Read => read = total,
                    Op::Write => write = total,
                }
            }
            self.read_milli_units
                .fetch_add((read * 1000.0) as u64, Ordering::Relaxed);
            self.write_milli_units
                .fetch_add((write * 1000.0) as u64, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_count_as_the_operations_kind() {
        let counters = TableCounters::default();
        let total = |units| ConsumedCapacity::builder().capacity_units(units).build();
        counters.record(Op::Read, Some(&total(0.5)));
        counters.record(Op::Write, &[total(1.0), total(2.0)]);
        counters.record(Op::Write, None);
        let split = ConsumedCapacity::builder()
            .read_capacity_units(1.5)
            .write_capacity_units(0.0)
            .capacity_units(9.0)
            .build();
        counters.record(Op::Write, Some(&split));
        assert_eq!(counters.requests(), 4);
        assert_eq!(counters.read_capacity_units(), 2.0);
        assert_eq!(counters.write_capacity_units(), 3.0);
    }
}
