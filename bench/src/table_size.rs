//! The table's size as DynamoDB bills storage: every item's size by
//! DynamoDB's rule (attribute names and values) plus 100 bytes of
//! per-item overhead, from a Scan of DynamoDB Local (directly, not through
//! the meter: the bench's own reads are not the functions' bill).

use std::collections::HashMap;

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::stack::Stack;

/// DynamoDB's storage overhead per item.
const ITEM_OVERHEAD: u64 = 100;

#[derive(Debug, Clone, Copy, Default)]
pub struct TableSize {
    pub items: u64,
    pub bytes: u64,
    /// Items whose key names one epoch (`E#{e:010}`, `EPOCH#{e:010}`,
    /// `JAIL#{e:010}`, ...): what one more epoch adds, about.
    pub epoch_items: u64,
    pub epoch_bytes: u64,
}

/// A value's size by DynamoDB's rule (numbers: about one byte per two
/// significant digits, plus one).
fn value_size(v: &AttributeValue) -> u64 {
    match v {
        AttributeValue::S(s) => s.len() as u64,
        AttributeValue::N(n) => {
            let digits = n.chars().filter(char::is_ascii_digit).count() as u64;
            digits.div_ceil(2) + 1
        }
        AttributeValue::B(b) => b.as_ref().len() as u64,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(|s| s.len() as u64).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| n.len().div_ceil(2) as u64 + 1).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len() as u64).sum(),
        AttributeValue::L(items) => 3 + items.iter().map(|i| 1 + value_size(i)).sum::<u64>(),
        AttributeValue::M(map) => 3 + item_size(map) + map.len() as u64,
        _ => 0,
    }
}

/// An item's size: names and values.
pub fn item_size(item: &HashMap<String, AttributeValue>) -> u64 {
    item.iter()
        .map(|(name, v)| name.len() as u64 + value_size(v))
        .sum()
}

/// Scans the whole table.
pub async fn scan(stack: &Stack, epoch: u64) -> Result<TableSize, String> {
    let client = local_stack::dynamodb::client(stack.dynamodb(), false);
    let marker = format!("#{epoch:010}");
    let mut size = TableSize::default();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(&stack.spec.table_name)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| format!("Scan: {}", DisplayErrorContext(e)))?;
        for item in page.items() {
            let bytes = item_size(item) + ITEM_OVERHEAD;
            size.items += 1;
            size.bytes += bytes;
            let key = |k: &str| match item.get(k) {
                Some(AttributeValue::S(s)) => s.as_str(),
                _ => "",
            };
            if key("pk").contains(&marker) || key("sk").contains(&marker) {
                size.epoch_items += 1;
                size.epoch_bytes += bytes;
            }
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(size);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_dynamodbs_rule() {
        let item: HashMap<String, AttributeValue> = [
            ("pk".to_string(), AttributeValue::S("P#abc".into())),
            ("n".to_string(), AttributeValue::N("12345".into())),
            ("f".to_string(), AttributeValue::Bool(true)),
            (
                "l".to_string(),
                AttributeValue::L(vec![AttributeValue::S("xy".into())]),
            ),
        ]
        .into_iter()
        .collect();
        // pk 2+5, n 1+(3+1), f 1+1, l 1+(3+1+2)
        assert_eq!(item_size(&item), 7 + 5 + 2 + 7);
    }
}
