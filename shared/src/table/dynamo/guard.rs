//! The epoch's warm guard: one conditional put admits one warmer run per
//! window.

use super::client::{Condition, DynamoTable, Put};
use super::keys::n;
use super::rows::{encode_guard, guard_claimed_until};
use crate::table::items::GuardClaim;
use crate::table::TableResult;

impl DynamoTable {
    /// Claims the guard until `now_ms + window_ms` unless a claim still
    /// holds; a lost claim says until when the other one holds.
    pub(super) async fn claim_guard(
        &self,
        epoch: u64,
        now_ms: i64,
        window_ms: i64,
    ) -> TableResult<GuardClaim> {
        let until = now_ms + window_ms;
        // `guard_is_free`, as a condition.
        let condition = Condition::new("attribute_not_exists(pk) OR claimed_until <= :now")
            .value(":now", n(now_ms))
            .returning_old();
        Ok(
            match self
                .put_conditional(encode_guard(epoch, until), condition)
                .await?
            {
                Put::Written => GuardClaim {
                    won: true,
                    held_until_ms: until,
                },
                Put::Lost(old) => GuardClaim {
                    won: false,
                    held_until_ms: old.as_ref().and_then(guard_claimed_until).unwrap_or(until),
                },
            },
        )
    }
}
