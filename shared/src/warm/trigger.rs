//! The trigger side of the warm hop (epoch-stats): the invoker port, its
//! Lambda adapter (InvocationType `Event`), a recording fake for unit
//! tests, and the claim of the per-epoch warm lease.

use std::collections::HashMap;
use std::future::Future;
use std::num::NonZeroU64;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

use super::request::WarmRequest;
use crate::table::{CacheTable, LeaseToken};
use crate::time::now_ms;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    #[error("invoking {function}: {reason}")]
    Sdk { function: String, reason: String },
    #[error("invoking {function}: unexpected status {status}")]
    Status { function: String, status: i32 },
    #[error("the recording invoker is set to fail")]
    Refused,
}

pub trait WarmerInvoker: Send + Sync {
    /// Hands the request to the warmer without waiting for it to run.
    fn invoke_warmer(
        &self,
        request: &WarmRequest,
    ) -> impl Future<Output = Result<(), InvokeError>> + Send;
}

/// Invokes the warmer function asynchronously through the Lambda API.
#[derive(Clone)]
pub struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
    function_name: String,
}

impl LambdaInvoker {
    pub fn new(client: aws_sdk_lambda::Client, function_name: impl Into<String>) -> Self {
        Self {
            client,
            function_name: function_name.into(),
        }
    }
}

impl WarmerInvoker for LambdaInvoker {
    async fn invoke_warmer(&self, request: &WarmRequest) -> Result<(), InvokeError> {
        let function = || self.function_name.clone();
        let resp = self
            .client
            .invoke()
            .function_name(&self.function_name)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(request.to_payload()))
            .send()
            .await
            .map_err(|e| InvokeError::Sdk {
                function: function(),
                reason: aws_sdk_lambda::error::DisplayErrorContext(e).to_string(),
            })?;
        // Lambda answers 202 Accepted to an Event invocation.
        match resp.status_code() {
            202 => Ok(()),
            status => Err(InvokeError::Status {
                function: function(),
                status,
            }),
        }
    }
}

/// Records requests instead of sending them (unit tests of the trigger).
#[derive(Default)]
pub struct RecordingInvoker {
    pub requests: Mutex<Vec<WarmRequest>>,
    pub fail: bool,
}

impl WarmerInvoker for RecordingInvoker {
    async fn invoke_warmer(&self, request: &WarmRequest) -> Result<(), InvokeError> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(request.clone());
        if self.fail {
            Err(InvokeError::Refused)
        } else {
            Ok(())
        }
    }
}

/// Finished epochs the dashboard offers (and so warms): the ten before the
/// current one. Older epochs are answered without a warm; their modals
/// read through.
pub const WARMED_EPOCHS_BEFORE_CURRENT: u64 = 10;

/// Whether a view of `epoch` warms it, given the current epoch (unknown:
/// only the current epoch's own views warm).
pub fn warms(epoch: u64, finished: bool, current: Option<u64>) -> bool {
    match current {
        Some(c) => epoch <= c && epoch + WARMED_EPOCHS_BEFORE_CURRENT >= c,
        None => !finished,
    }
}

/// How a trigger ended (the response never depends on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarmOutcome {
    Invoked,
    /// Another trigger or a running warmer holds this epoch's lease.
    LeaseHeld,
    /// The epoch's last run found everything stored: a finished epoch for
    /// good, the current one until its items' freshness runs out.
    Rested,
    /// No warmer function is configured: nothing claimed, nothing sent.
    NotConfigured,
    /// An epoch the dashboard does not offer: never warmed.
    OutsideWindow,
    Failed,
}

/// At most one warmer run per epoch at a time, across all instances: the
/// trigger claims the epoch's warm lease in the table (the authority) for
/// a fresh owner token and hands the token to the warmer it invokes, which
/// holds the lease while it runs and releases it when done. This process
/// also remembers until when each lease is held, so a busy instance does
/// not write to the table on every request to learn it again; it never
/// remembers longer than one lease from when it looked, so a released
/// lease is claimed again within a lease at most.
pub struct WarmTrigger<W> {
    invoker: Option<W>,
    lease: Duration,
    /// (epoch, finished) -> until when a lease or a rest is known to hold.
    held_until: Mutex<HashMap<(u64, bool), i64>>,
}

impl<W: WarmerInvoker> WarmTrigger<W> {
    /// `invoker: None` (no `WARMER_FUNCTION_NAME`) makes every trigger a no-op.
    pub fn new(invoker: Option<W>, lease: Duration) -> Self {
        if invoker.is_none() {
            tracing::warn!("WARMER_FUNCTION_NAME is not set: the warmer will not be triggered");
        }
        Self {
            invoker,
            lease,
            held_until: Mutex::default(),
        }
    }

    /// After an epoch is served: claim the epoch's warm lease and, if this
    /// call got it, invoke the warmer with it. Failures are logged, never
    /// turned into an error response.
    pub async fn trigger<T: CacheTable>(
        &self,
        table: &T,
        epoch_id: u64,
        finished: bool,
        current_epoch: Option<u64>,
    ) -> WarmOutcome {
        let (Some(invoker), Some(epoch)) = (&self.invoker, NonZeroU64::new(epoch_id)) else {
            return WarmOutcome::NotConfigured;
        };
        if !warms(epoch_id, finished, current_epoch) {
            return WarmOutcome::OutsideWindow;
        }
        self.claim_and_invoke(table, invoker, epoch, finished).await
    }

    /// The history's backfill: warms a finished epoch outside the window
    /// views warm (one epoch per call, under the same lease).
    pub async fn trigger_backfill<T: CacheTable>(&self, table: &T, epoch_id: u64) -> WarmOutcome {
        let (Some(invoker), Some(epoch)) = (&self.invoker, NonZeroU64::new(epoch_id)) else {
            return WarmOutcome::NotConfigured;
        };
        self.claim_and_invoke(table, invoker, epoch, true).await
    }

    async fn claim_and_invoke<T: CacheTable>(
        &self,
        table: &T,
        invoker: &W,
        epoch: NonZeroU64,
        finished: bool,
    ) -> WarmOutcome {
        let epoch_id = epoch.get();
        let now = now_ms();
        if self.known_held(epoch_id, finished, now) {
            return WarmOutcome::LeaseHeld;
        }
        let lease = self.lease.as_millis() as i64;
        let owner = LeaseToken::random();
        let claim = match table
            .claim_warm_lease(epoch_id, &owner, now, lease, finished)
            .await
        {
            Ok(claim) => claim,
            Err(e) => {
                tracing::warn!(epoch = epoch_id, error = %e, "cannot claim the warm lease; warmer not triggered");
                return WarmOutcome::Failed;
            }
        };
        if let Some(rest_until) = claim.rest_until_ms {
            // Nothing to warm until then (for good, for a complete
            // finished epoch): no table request for it in this process.
            self.remember(epoch_id, finished, rest_until, now);
            return WarmOutcome::Rested;
        }
        self.remember(
            epoch_id,
            finished,
            claim.held_until_ms.min(now + lease),
            now,
        );
        if !claim.won {
            return WarmOutcome::LeaseHeld;
        }
        match invoker
            .invoke_warmer(&WarmRequest::new(epoch, finished).with_lease(owner))
            .await
        {
            Ok(()) => {
                tracing::info!(epoch = epoch_id, finished, "warmer invoked");
                WarmOutcome::Invoked
            }
            Err(e) => {
                tracing::error!(epoch = epoch_id, error = %e, "warmer invoke failed");
                WarmOutcome::Failed
            }
        }
    }

    fn known_held(&self, epoch: u64, finished: bool, now: i64) -> bool {
        let memo = self.held_until.lock().unwrap_or_else(|p| p.into_inner());
        memo.get(&(epoch, finished))
            .is_some_and(|until| *until > now)
    }

    fn remember(&self, epoch: u64, finished: bool, until: i64, now: i64) {
        let mut memo = self.held_until.lock().unwrap_or_else(|p| p.into_inner());
        memo.retain(|_, u| *u > now);
        memo.insert((epoch, finished), until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::ports::*;
    use crate::table::{MemoryTable, PutOutcome, WarmRest};

    const WINDOW: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn a_held_lease_is_remembered_without_asking_the_table_again() {
        let table = MemoryTable::new();
        let trigger = WarmTrigger::new(Some(RecordingInvoker::default()), WINDOW);
        assert_eq!(
            trigger.trigger(&table, 7, false, Some(10)).await,
            WarmOutcome::Invoked
        );
        let trips = table.round_trips();
        for _ in 0..5 {
            assert_eq!(
                trigger.trigger(&table, 7, false, Some(10)).await,
                WarmOutcome::LeaseHeld
            );
        }
        assert_eq!(
            table.round_trips(),
            trips,
            "the held lease is known locally"
        );
        assert_eq!(
            trigger.trigger(&table, 8, true, Some(10)).await,
            WarmOutcome::Invoked,
            "leases are per epoch"
        );
        let sent: Vec<(u64, bool)> = sent(&trigger)
            .iter()
            .map(|r| (r.epoch(), r.finished))
            .collect();
        assert_eq!(sent, vec![(7, false), (8, true)]);
    }

    fn sent(trigger: &WarmTrigger<RecordingInvoker>) -> Vec<WarmRequest> {
        trigger
            .invoker
            .as_ref()
            .unwrap()
            .requests
            .lock()
            .unwrap()
            .clone()
    }

    #[tokio::test]
    async fn the_warmer_gets_the_lease_it_holds_and_a_release_frees_it_at_once() {
        let table = MemoryTable::new();
        let first = WarmTrigger::new(Some(RecordingInvoker::default()), WINDOW);
        assert_eq!(
            first.trigger(&table, 7, true, Some(10)).await,
            WarmOutcome::Invoked
        );
        let token = sent(&first)[0].lease_token.clone().expect("a lease token");
        // The token is the lease's owner: the warmer renews with it ...
        let now = now_ms();
        assert!(
            table
                .claim_warm_lease(7, &token, now, 60_000, false)
                .await
                .unwrap()
                .won
        );
        let second = WarmTrigger::new(Some(RecordingInvoker::default()), WINDOW);
        assert_eq!(
            second.trigger(&table, 7, true, Some(10)).await,
            WarmOutcome::LeaseHeld
        );
        // ... and releases it: a trigger that has not seen it held claims
        // it at once, with a new token.
        assert_eq!(
            table
                .release_warm_lease(7, &token, now_ms(), None)
                .await
                .unwrap(),
            PutOutcome::Written
        );
        let third = WarmTrigger::new(Some(RecordingInvoker::default()), WINDOW);
        assert_eq!(
            third.trigger(&table, 7, true, Some(10)).await,
            WarmOutcome::Invoked
        );
        assert_ne!(sent(&third)[0].lease_token, Some(token));
    }

    #[tokio::test]
    async fn a_held_lease_is_remembered_no_longer_than_one_lease() {
        let table = MemoryTable::new();
        let now = now_ms();
        // Held for an hour by a claim nobody renews or releases.
        table
            .claim_warm_lease_unowned(7, now, 3_600_000)
            .await
            .unwrap();
        let trigger = WarmTrigger::new(Some(RecordingInvoker::default()), WINDOW);
        assert_eq!(
            trigger.trigger(&table, 7, true, Some(10)).await,
            WarmOutcome::LeaseHeld
        );
        let remembered = trigger.held_until.lock().unwrap()[&(7, true)];
        assert!(
            remembered <= now_ms() + WINDOW.as_millis() as i64,
            "remembered {} ms ahead",
            remembered - now
        );
        // Past that, the table is asked again.
        assert!(!trigger.known_held(7, true, remembered));
    }

    #[tokio::test]
    async fn a_complete_finished_epoch_is_never_warmed_again() {
        let table = MemoryTable::new();
        let first = WarmTrigger::new(Some(RecordingInvoker::default()), WINDOW);
        assert_eq!(
            first.trigger(&table, 7, true, Some(10)).await,
            WarmOutcome::Invoked
        );
        let token = sent(&first)[0].lease_token.clone().unwrap();
        // The run found everything stored: it rests for good.
        let forever = WarmRest {
            until_ms: WarmRest::FOREVER,
            finished: true,
        };
        table
            .release_warm_lease(7, &token, now_ms(), Some(forever))
            .await
            .unwrap();
        let later = WarmTrigger::new(Some(RecordingInvoker::default()), WINDOW);
        assert_eq!(
            later.trigger(&table, 7, true, Some(10)).await,
            WarmOutcome::Rested
        );
        let trips = table.round_trips();
        for _ in 0..3 {
            assert_eq!(
                later.trigger(&table, 7, true, Some(10)).await,
                WarmOutcome::LeaseHeld
            );
        }
        assert_eq!(table.round_trips(), trips, "known in memory from then on");
        assert!(sent(&later).is_empty(), "no warmer invoked");

        // A current epoch's rest ends; the epoch as finished is warmed at once.
        let soon = WarmRest {
            until_ms: now_ms() + 300_000,
            finished: false,
        };
        assert!(
            table
                .claim_warm_lease(8, &token, now_ms(), 1, false)
                .await
                .unwrap()
                .won
        );
        table
            .release_warm_lease(8, &token, now_ms(), Some(soon))
            .await
            .unwrap();
        assert_eq!(
            later.trigger(&table, 8, false, Some(8)).await,
            WarmOutcome::Rested
        );
        assert_eq!(
            later.trigger(&table, 8, true, Some(9)).await,
            WarmOutcome::Invoked
        );
    }

    #[tokio::test]
    async fn a_lease_held_by_another_instance_is_respected() {
        let table = MemoryTable::new();
        let first = WarmTrigger::new(Some(RecordingInvoker::default()), WINDOW);
        let second = WarmTrigger::new(Some(RecordingInvoker::default()), WINDOW);
        assert_eq!(
            first.trigger(&table, 7, false, Some(10)).await,
            WarmOutcome::Invoked
        );
        assert_eq!(
            second.trigger(&table, 7, false, Some(10)).await,
            WarmOutcome::LeaseHeld
        );
        assert!(second.invoker.unwrap().requests.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn without_an_invoker_nothing_is_claimed() {
        let table = MemoryTable::new();
        let trigger = WarmTrigger::<RecordingInvoker>::new(None, WINDOW);
        assert_eq!(
            trigger.trigger(&table, 7, false, Some(10)).await,
            WarmOutcome::NotConfigured
        );
        assert_eq!(table.round_trips(), 0, "no lease claimed");
        // A configured trigger can still claim the epoch at once.
        let configured = WarmTrigger::new(Some(RecordingInvoker::default()), WINDOW);
        assert_eq!(
            configured.trigger(&table, 7, false, Some(10)).await,
            WarmOutcome::Invoked
        );
    }

    #[test]
    fn the_window_is_the_current_epoch_and_the_ten_before() {
        let cases = [
            (60, false, Some(60), true),
            (59, true, Some(60), true),
            (50, true, Some(60), true),
            (49, true, Some(60), false),
            (1, true, Some(60), false),
            (61, true, Some(60), false),
            (60, false, None, true),
            (59, true, None, false),
        ];
        for (epoch, finished, current, want) in cases {
            assert_eq!(warms(epoch, finished, current), want, "{epoch} {current:?}");
        }
    }

    #[tokio::test]
    async fn an_epoch_outside_the_window_claims_nothing() {
        let table = MemoryTable::new();
        let trigger = WarmTrigger::new(Some(RecordingInvoker::default()), WINDOW);
        assert_eq!(
            trigger.trigger(&table, 3, true, Some(60)).await,
            WarmOutcome::OutsideWindow
        );
        assert_eq!(table.round_trips(), 0);
    }

    #[tokio::test]
    async fn a_failed_invoke_is_reported_not_raised() {
        let table = MemoryTable::new();
        let invoker = RecordingInvoker {
            fail: true,
            ..Default::default()
        };
        let trigger = WarmTrigger::new(Some(invoker), WINDOW);
        assert_eq!(
            trigger.trigger(&table, 9, true, Some(10)).await,
            WarmOutcome::Failed
        );
    }
}
