//! [`DynamoTable`] and its single-item requests: GetItem and the one
//! conditional PutItem every write of a single item goes through.

use std::sync::Arc;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure,
};
use aws_sdk_dynamodb::Client;

use super::keys::{Item, Key};
use super::metering::{Op, TableCounters};
use crate::table::port::{TableError, TableResult};

#[derive(Clone)]
pub struct DynamoTable {
    pub(super) client: Client,
    pub(super) table: String,
    pub(super) counters: Arc<TableCounters>,
}

/// A request that reached no answer: the table is unreachable, missing or
/// kept refusing.
pub fn unavailable<E, R>(what: &str, err: SdkError<E, R>) -> TableError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    TableError::Unavailable(format!("{what}: {}", DisplayErrorContext(err)))
}

/// The condition of a [`DynamoTable::put_conditional`].
#[derive(Debug, Clone)]
pub struct Condition<'a> {
    expression: &'a str,
    values: Vec<(&'a str, AttributeValue)>,
    names: Vec<(&'a str, &'a str)>,
    old_on_failure: bool,
}

impl<'a> Condition<'a> {
    pub fn new(expression: &'a str) -> Self {
        Self {
            expression,
            values: Vec::new(),
            names: Vec::new(),
            old_on_failure: false,
        }
    }

    /// Binds the value placeholder `:x` of the expression.
    pub fn value(mut self, placeholder: &'a str, value: AttributeValue) -> Self {
        self.values.push((placeholder, value));
        self
    }

    /// Binds the name placeholder `#x` of the expression (for reserved words).
    pub fn name(mut self, placeholder: &'a str, attribute: &'a str) -> Self {
        self.names.push((placeholder, attribute));
        self
    }

    /// On a failed condition, return the stored item (at no extra cost).
    pub fn returning_old(mut self) -> Self {
        self.old_on_failure = true;
        self
    }
}

/// How a conditional put ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Put {
    Written,
    /// The condition failed; the stored item if [`Condition::returning_old`]
    /// asked for it.
    Lost(Option<Item>),
}

impl Put {
    pub fn outcome(&self) -> crate::table::items::PutOutcome {
        match self {
            Put::Written => crate::table::items::PutOutcome::Written,
            Put::Lost(_) => crate::table::items::PutOutcome::LostRace,
        }
    }
}

impl DynamoTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            counters: Arc::default(),
        }
    }

    pub fn counters(&self) -> &TableCounters {
        &self.counters
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    pub(super) async fn get_item(&self, key: &Key) -> TableResult<Option<Item>> {
        let resp = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.attributes()))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        self.counters.record(Op::Read, resp.consumed_capacity());
        Ok(resp.item)
    }

    /// One Query: at most `limit` items of partition `pk` whose sort key is
    /// between `sk_from` and `sk_to` (inclusive), highest sort key first.
    /// Callers keep pages well under the 1 MB a Query answers at most.
    pub(super) async fn query_range(
        &self,
        pk: &str,
        sk_from: &str,
        sk_to: &str,
        limit: usize,
    ) -> TableResult<Vec<Item>> {
        let resp = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .expression_attribute_values(":from", AttributeValue::S(sk_from.to_owned()))
            .expression_attribute_values(":to", AttributeValue::S(sk_to.to_owned()))
            .scan_index_forward(false)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| unavailable("Query", e))?;
        self.counters.record(Op::Read, resp.consumed_capacity());
        Ok(resp.items.unwrap_or_default())
    }

    /// PutItem under `condition`; a failed condition is [`Put::Lost`], not
    /// an error.
    pub(super) async fn put_conditional(
        &self,
        item: Item,
        condition: Condition<'_>,
    ) -> TableResult<Put> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition.expression)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        for (k, v) in condition.values {
            req = req.expression_attribute_values(k, v);
        }
        for (k, v) in condition.names {
            req = req.expression_attribute_names(k, v);
        }
        if condition.old_on_failure {
            req = req.return_values_on_condition_check_failure(
                ReturnValuesOnConditionCheckFailure::AllOld,
            );
        }
        match req.send().await {
            Ok(resp) => {
                self.counters.record(Op::Write, resp.consumed_capacity());
                Ok(Put::Written)
            }
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    self.counters.record(Op::Write, None);
                    Ok(Put::Lost(failed.item().cloned()))
                }
                _ => {
                    let code = e.code().unwrap_or("unknown").to_owned();
                    Err(unavailable(&format!("PutItem ({code})"), e))
                }
            },
        }
    }
}
