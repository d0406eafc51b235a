//! The table side of the meter: per DynamoDB operation (the `X-Amz-Target`
//! of the request), the requests and the capacity units the responses
//! report (`ConsumedCapacity`), plus what the responses do not report.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One operation's counts since start (or the last reset).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OpCounts {
    /// Every request forwarded, whatever its answer.
    pub requests: u64,
    /// Capacity units the successful responses reported.
    pub read_units: f64,
    pub write_units: f64,
    /// Conditional writes whose condition failed (`ConditionalCheckFailed`):
    /// DynamoDB charges them as writes (at least 1 unit), but the error
    /// answer reports no capacity.
    pub conditional_failures: u64,
    /// Other error answers (throttling, validation, ...).
    pub errors: u64,
    /// Successful responses that reported no capacity although the request
    /// asked for it.
    pub unreported: u64,
    /// Requests that did not ask for `ReturnConsumedCapacity` (`TOTAL` or
    /// `INDEXES`): counted as requests, their units unknown.
    pub not_asked: u64,
}

impl OpCounts {
    fn add(&mut self, other: &OpCounts) {
        self.requests += other.requests;
        self.read_units += other.read_units;
        self.write_units += other.write_units;
        self.conditional_failures += other.conditional_failures;
        self.errors += other.errors;
        self.unreported += other.unreported;
        self.not_asked += other.not_asked;
    }
}

/// Whether an operation consumes read or write capacity (a response's
/// `CapacityUnits` total does not say).
pub fn is_write(operation: &str) -> bool {
    matches!(
        operation,
        "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem" | "TransactWriteItems"
    )
}

/// The operation of a request, from `X-Amz-Target: DynamoDB_20120810.GetItem`.
pub fn operation(target: Option<&str>) -> String {
    target
        .and_then(|t| t.rsplit('.').next())
        .filter(|op| !op.is_empty())
        .unwrap_or("unknown")
        .to_string()
}

/// What one request and its answer count.
pub fn count(operation: &str, request: &[u8], status: u16, response: &[u8]) -> OpCounts {
    let mut c = OpCounts {
        requests: 1,
        ..OpCounts::default()
    };
    let asked = serde_json::from_slice::<Value>(request)
        .ok()
        .and_then(|r| r["ReturnConsumedCapacity"].as_str().map(str::to_owned))
        .is_some_and(|v| v == "TOTAL" || v == "INDEXES");
    let body: Value = serde_json::from_slice(response).unwrap_or(Value::Null);
    if status != 200 {
        let kind = body["__type"].as_str().unwrap_or_default();
        if kind.ends_with("ConditionalCheckFailedException") {
            c.conditional_failures = 1;
        } else {
            c.errors = 1;
        }
        return c;
    }
    if !asked {
        c.not_asked = 1;
        return c;
    }
    let reported: Vec<&Value> = match &body["ConsumedCapacity"] {
        Value::Array(items) => items.iter().collect(),
        item @ Value::Object(_) => vec![item],
        _ => Vec::new(),
    };
    if reported.is_empty() {
        c.unreported = 1;
    }
    let write = is_write(operation);
    for item in reported {
        let units = |key: &str| item[key].as_f64().unwrap_or(0.0);
        let (read, written) = (units("ReadCapacityUnits"), units("WriteCapacityUnits"));
        if read > 0.0 || written > 0.0 {
            c.read_units += read;
            c.write_units += written;
        } else if write {
            c.write_units += units("CapacityUnits");
        } else {
            c.read_units += units("CapacityUnits");
        }
    }
    c
}

/// Counts per operation, shared by every forwarded request.
#[derive(Debug, Default)]
pub struct TableMeter {
    by_operation: Mutex<BTreeMap<String, OpCounts>>,
}

impl TableMeter {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, OpCounts>> {
        // A poisoned lock only means a panic elsewhere; the counts stand.
        self.by_operation.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn record(&self, operation: &str, counts: &OpCounts) {
        self.lock()
            .entry(operation.to_string())
            .or_default()
            .add(counts);
    }

    pub fn snapshot(&self) -> BTreeMap<String, OpCounts> {
        self.lock().clone()
    }

    pub fn reset(&self) {
        self.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASKED: &[u8] = br#"{"TableName":"t","ReturnConsumedCapacity":"TOTAL"}"#;

    #[test]
    fn counts_reported_capacity_by_the_operations_kind() {
        let get = count(
            "GetItem",
            ASKED,
            200,
            br#"{"Item":{},"ConsumedCapacity":{"TableName":"t","CapacityUnits":0.5}}"#,
        );
        assert_eq!(
            (get.requests, get.read_units, get.write_units),
            (1, 0.5, 0.0)
        );
        let batch = count(
            "BatchWriteItem",
            ASKED,
            200,
            br#"{"ConsumedCapacity":[{"CapacityUnits":3.0},{"CapacityUnits":2.0}]}"#,
        );
        assert_eq!((batch.read_units, batch.write_units), (0.0, 5.0));
        let split = count(
            "UpdateItem",
            ASKED,
            200,
            br#"{"ConsumedCapacity":{"CapacityUnits":9,"ReadCapacityUnits":1,"WriteCapacityUnits":2}}"#,
        );
        assert_eq!((split.read_units, split.write_units), (1.0, 2.0));
    }

    #[test]
    fn counts_what_is_not_reported() {
        let failed = count(
            "PutItem",
            ASKED,
            400,
            br#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"}"#,
        );
        assert_eq!(
            (failed.requests, failed.conditional_failures, failed.errors),
            (1, 1, 0)
        );
        let other = count(
            "GetItem",
            ASKED,
            400,
            br#"{"__type":"x#ValidationException"}"#,
        );
        assert_eq!((other.errors, other.conditional_failures), (1, 0));
        let not_asked = count("GetItem", b"{}", 200, br#"{"Item":{}}"#);
        assert_eq!((not_asked.requests, not_asked.not_asked), (1, 1));
        let unreported = count("GetItem", ASKED, 200, br#"{"Item":{}}"#);
        assert_eq!(unreported.unreported, 1);
        assert_eq!(
            operation(Some("DynamoDB_20120810.BatchGetItem")),
            "BatchGetItem"
        );
        assert_eq!(operation(None), "unknown");
    }

    #[test]
    fn sums_per_operation_until_reset() {
        let meter = TableMeter::default();
        let one = count(
            "GetItem",
            ASKED,
            200,
            br#"{"ConsumedCapacity":{"CapacityUnits":1}}"#,
        );
        meter.record("GetItem", &one);
        meter.record("GetItem", &one);
        let snap = meter.snapshot();
        assert_eq!(snap["GetItem"].requests, 2);
        assert_eq!(snap["GetItem"].read_units, 2.0);
        meter.reset();
        assert!(meter.snapshot().is_empty());
    }
}
