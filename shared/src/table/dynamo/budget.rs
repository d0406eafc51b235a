//! [`BudgetTable`] on DynamoDB: one atomic counter item a window,
//! incremented only while under its limit (UpdateItem `ADD` under a
//! condition: one write a request, and no read-modify-write race).

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;

use super::client::{unavailable, DynamoTable};
use super::keys::{n, Key, TTL_ATTRIBUTE};
use super::metering::Op;
use crate::table::budget::{budget_window, Budget};
use crate::table::port::BudgetTable;
use crate::table::port::TableResult;

/// A counter outlives its window by a day, then DynamoDB's TTL removes it.
const COUNTER_TTL_SECS: i64 = 86_400;

impl BudgetTable for DynamoTable {
    /// Adds one to the window's counter if it is below `limit`; `false`
    /// when the limit is reached.
    async fn take_budget(&self, budget: Budget, now_ms: i64, limit: u32) -> TableResult<bool> {
        let window = budget_window(now_ms);
        let key = match budget {
            Budget::EpochHeightBuilds(epoch) => Key::height_builds(epoch, window),
            Budget::ModelsHeightBuilds(epoch) => Key::models_height_builds(epoch, window),
            Budget::AllHeightBuilds => Key::all_height_builds(window),
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.attributes()))
            .update_expression("ADD used :one SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(used) OR used < :limit")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":ttl", n(now_ms / 1000 + COUNTER_TTL_SECS))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(resp) => {
                self.counters.record(Op::Write, resp.consumed_capacity());
                Ok(true)
            }
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    self.counters.record(Op::Write, None);
                    Ok(false)
                }
                _ => Err(unavailable("UpdateItem (budget)", e)),
            },
        }
    }
}
