//! [`NetworkTable`] on DynamoDB: one item each, the JSON body in `body`,
//! written by the one conditional PutItem under the item's write rule.

use aws_sdk_dynamodb::types::AttributeValue;

use super::client::{Condition, DynamoTable};
use super::keys::{n, num_attr, s, str_attr, Key, TTL_ATTRIBUTE};
use crate::table::items::PutOutcome;
use crate::table::network::{NetworkItem, NetworkTable, NetworkWriteRule, StoredDoc};
use crate::table::port::{TableError, TableResult};

const BODY: &str = "body";
const FETCHED_AT: &str = "fetched_at";

impl NetworkTable for DynamoTable {
    async fn load_network(&self, item: NetworkItem) -> TableResult<Option<StoredDoc>> {
        let Some(raw) = self.get_item(&Key::network(item)).await? else {
            return Ok(None);
        };
        let body = str_attr(&raw, BODY)
            .ok_or_else(|| TableError::Corrupt(format!("{item:?}: no body")))?;
        let fetched_at_ms = num_attr(&raw, FETCHED_AT)
            .ok_or_else(|| TableError::Corrupt(format!("{item:?}: no fetched_at")))?;
        Ok(Some(StoredDoc {
            fetched_at_ms,
            body: body.to_owned(),
        }))
    }

    async fn store_network(&self, item: NetworkItem, doc: &StoredDoc) -> TableResult<PutOutcome> {
        let mut attrs = Key::network(item).attributes();
        attrs.insert(BODY.into(), s(&doc.body));
        attrs.insert(FETCHED_AT.into(), n(doc.fetched_at_ms));
        if let Some(ttl) = item.ttl_secs() {
            attrs.insert(
                TTL_ATTRIBUTE.into(),
                n(doc.fetched_at_ms.div_euclid(1000) + ttl),
            );
        }
        let condition = match item.write_rule() {
            NetworkWriteRule::Once => Condition::new("attribute_not_exists(pk)"),
            NetworkWriteRule::ReplaceOlder => {
                Condition::new("attribute_not_exists(pk) OR fetched_at < :f")
                    .value(":f", AttributeValue::N(doc.fetched_at_ms.to_string()))
            }
        };
        Ok(self.put_conditional(attrs, condition).await?.outcome())
    }
}
