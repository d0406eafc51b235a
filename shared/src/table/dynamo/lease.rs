//! The epoch's warm lease: one item, claimed, renewed and released with
//! conditional puts (no DeleteItem), so one warmer run holds an epoch at
//! a time; a release records the rest the run earned, which later claims
//! of the same kind respect.

use aws_sdk_dynamodb::types::AttributeValue;

use super::client::{Condition, DynamoTable, Put};
use super::keys::{n, s};
use super::rows::{encode_lease, lease_claimed_until, lease_rest, REST_FINISHED, REST_UNTIL};
use crate::table::items::{rest_allows, LeaseClaim, LeaseToken, PutOutcome, WarmRest};
use crate::table::port::TableResult;

impl DynamoTable {
    /// Takes the lease for `owner` until `now_ms + lease_ms` if it is free
    /// or already `owner`'s and the epoch does not rest from runs of this
    /// kind; a lost claim says until when the holder has it (or the rest).
    pub(super) async fn claim_lease(
        &self,
        epoch: u64,
        owner: &LeaseToken,
        now_ms: i64,
        lease_ms: i64,
        finished: bool,
    ) -> TableResult<LeaseClaim> {
        let until = now_ms + lease_ms;
        // `lease_may_claim`, as a condition.
        let condition = Condition::new(
            "attribute_not_exists(pk) OR ((claimed_until <= :now OR lease_owner = :owner) \
             AND (attribute_not_exists(#rest_until) OR #rest_until <= :now \
             OR #rest_finished <> :finished))",
        )
        .value(":now", n(now_ms))
        .value(":owner", s(owner.as_str()))
        .value(":finished", AttributeValue::Bool(finished))
        .name("#rest_until", REST_UNTIL)
        .name("#rest_finished", REST_FINISHED)
        .returning_old();
        Ok(
            match self
                .put_conditional(encode_lease(epoch, until, owner, None), condition)
                .await?
            {
                Put::Written => LeaseClaim {
                    won: true,
                    held_until_ms: until,
                    rest_until_ms: None,
                },
                Put::Lost(old) => LeaseClaim {
                    won: false,
                    held_until_ms: old.as_ref().and_then(lease_claimed_until).unwrap_or(until),
                    rest_until_ms: old
                        .as_ref()
                        .and_then(lease_rest)
                        .filter(|r| !rest_allows(Some(r), now_ms, finished))
                        .map(|r| r.until_ms),
                },
            },
        )
    }

    /// Ends `owner`'s lease now (`claimed_until` = `now_ms`), if it is
    /// still `owner`'s, recording the run's `rest`.
    pub(super) async fn release_lease(
        &self,
        epoch: u64,
        owner: &LeaseToken,
        now_ms: i64,
        rest: Option<WarmRest>,
    ) -> TableResult<PutOutcome> {
        // `lease_may_release`, as a condition.
        let condition = Condition::new("lease_owner = :owner").value(":owner", s(owner.as_str()));
        Ok(self
            .put_conditional(encode_lease(epoch, now_ms, owner, rest), condition)
            .await?
            .outcome())
    }
}
