//! The epoch's warm lease: one item, claimed, renewed and released with
//! conditional puts (no DeleteItem), so one warmer run holds an epoch at
//! a time.

use super::client::{Condition, DynamoTable, Put};
use super::keys::{n, s};
use super::rows::{encode_guard, guard_claimed_until};
use crate::table::items::PutOutcome;
use crate::table::items::{GuardClaim, LeaseToken};
use crate::table::port::TableResult;

impl DynamoTable {
    /// Takes the lease for `owner` until `now_ms + lease_ms` if it is free
    /// or already `owner`'s; a lost claim says until when the holder has it.
    pub(super) async fn claim_lease(
        &self,
        epoch: u64,
        owner: &LeaseToken,
        now_ms: i64,
        lease_ms: i64,
    ) -> TableResult<GuardClaim> {
        let until = now_ms + lease_ms;
        // `lease_may_claim`, as a condition.
        let condition = Condition::new(
            "attribute_not_exists(pk) OR claimed_until <= :now OR lease_owner = :owner",
        )
        .value(":now", n(now_ms))
        .value(":owner", s(owner.as_str()))
        .returning_old();
        Ok(
            match self
                .put_conditional(encode_guard(epoch, until, owner), condition)
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

    /// Ends `owner`'s lease now (`claimed_until` = `now_ms`), if it is
    /// still `owner`'s.
    pub(super) async fn release_lease(
        &self,
        epoch: u64,
        owner: &LeaseToken,
        now_ms: i64,
    ) -> TableResult<PutOutcome> {
        // `lease_may_release`, as a condition.
        let condition = Condition::new("lease_owner = :owner").value(":owner", s(owner.as_str()));
        Ok(self
            .put_conditional(encode_guard(epoch, now_ms, owner), condition)
            .await?
            .outcome())
    }
}
