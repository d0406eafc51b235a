//! The warmer's side of an epoch's warm lease: a run starts only when it
//! holds the lease, renews it while it runs, and releases it when done.
//! The rules themselves are the table's ([`lease_may_claim`],
//! [`lease_may_release`]).
//!
//! [`lease_may_claim`]: crate::table::lease_may_claim
//! [`lease_may_release`]: crate::table::lease_may_release

use std::future::Future;
use std::time::Duration;

use serde::Serialize;

use crate::table::{LeaseTable, LeaseToken, PutOutcome, WarmRest};
use crate::time::now_ms;

/// How the lease went for one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LeaseReport {
    /// Renewals that kept the lease.
    pub renewals: u32,
    /// Renewals that failed (the table refused or another took the
    /// lease); the run went on regardless.
    pub failed_renewals: u32,
    /// The lease was released when the run ended.
    pub released: bool,
    /// Until when the epoch needs no run of this kind (recorded with the
    /// release; `i64::MAX`: never again).
    pub rest_until_ms: Option<i64>,
}

/// How a leased run ended.
#[derive(Debug)]
pub enum Leased<T> {
    Ran(T, LeaseReport),
    /// Another run holds the epoch's lease until then; nothing ran.
    Held {
        until_ms: i64,
    },
}

/// Renewals come this often: three chances before a lease lapses.
pub fn renewal_interval(lease: Duration) -> Duration {
    (lease / 3).max(Duration::from_millis(1))
}

/// Runs `run` while holding the epoch's warm lease as `owner`: takes it
/// first (a lease `owner` already holds, e.g. the trigger's, is renewed),
/// renews it every [`renewal_interval`] while the run goes on, and
/// releases it at the end with the rest `rest_of` reads from the output. A lease held by another means no run. When the
/// table cannot be reached the run goes ahead unguarded (its writes are
/// conditional; the lease only saves duplicate work), and a failed
/// renewal is logged, never a reason to stop.
pub async fn run_under_lease<T: LeaseTable, F: Future>(
    table: &T,
    epoch: u64,
    owner: &LeaseToken,
    lease: Duration,
    finished: bool,
    run: F,
    rest_of: impl FnOnce(&F::Output) -> Option<WarmRest>,
) -> Leased<F::Output> {
    let lease_ms = lease.as_millis() as i64;
    match table
        .claim_warm_lease(epoch, owner, now_ms(), lease_ms, finished)
        .await
    {
        Ok(claim) if !claim.won => {
            return Leased::Held {
                until_ms: claim.held_until_ms,
            }
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(epoch, error = %e, "cannot take the warm lease; running without it");
        }
    }
    let mut report = LeaseReport::default();
    let renew = async {
        let every = renewal_interval(lease);
        loop {
            tokio::time::sleep(every).await;
            match table
                .claim_warm_lease(epoch, owner, now_ms(), lease_ms, finished)
                .await
            {
                Ok(claim) if claim.won => report.renewals += 1,
                Ok(claim) => {
                    report.failed_renewals += 1;
                    tracing::warn!(
                        epoch,
                        held_until_ms = claim.held_until_ms,
                        "the warm lease lapsed and another run took it; this run goes on"
                    );
                }
                Err(e) => {
                    report.failed_renewals += 1;
                    tracing::warn!(epoch, error = %e, "cannot renew the warm lease; this run goes on");
                }
            }
        }
    };
    let output = tokio::select! {
        biased;
        output = run => output,
        () = renew => unreachable!("renewals go on until the run ends"),
    };
    let rest = rest_of(&output);
    report.rest_until_ms = rest.map(|r| r.until_ms);
    match table.release_warm_lease(epoch, owner, now_ms(), rest).await {
        Ok(PutOutcome::Written) => report.released = true,
        Ok(PutOutcome::LostRace) => {
            tracing::warn!(
                epoch,
                "the warm lease was no longer this run's; left to its holder"
            );
        }
        Err(e) => {
            tracing::warn!(epoch, error = %e, "cannot release the warm lease; it lapses on its own");
        }
    }
    Leased::Ran(output, report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::MemoryTable;
    use std::sync::atomic::Ordering;

    const LEASE: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn a_run_renews_its_lease_while_it_runs_and_releases_it_after() {
        let table = MemoryTable::new();
        let owner = LeaseToken::random();
        let out = run_under_lease(
            &table,
            7,
            &owner,
            LEASE,
            false,
            async {
                // Four lease periods.
                tokio::time::sleep(LEASE * 4).await;
                "done"
            },
            |_| None,
        )
        .await;
        let Leased::Ran(output, report) = out else {
            panic!("{out:?}")
        };
        assert_eq!(output, "done");
        assert_eq!(
            report,
            LeaseReport {
                renewals: 11,
                failed_renewals: 0,
                released: true,
                rest_until_ms: None,
            }
        );
        // Released: free for anyone at once.
        let other = LeaseToken::random();
        assert!(
            table
                .claim_warm_lease(7, &other, now_ms(), 1_000, false)
                .await
                .unwrap()
                .won
        );
    }

    #[tokio::test]
    async fn a_lease_held_by_another_means_no_run() {
        let table = MemoryTable::new();
        let holder = LeaseToken::random();
        let now = now_ms();
        table
            .claim_warm_lease(7, &holder, now, 60_000, false)
            .await
            .unwrap();
        let out = run_under_lease(
            &table,
            7,
            &LeaseToken::random(),
            LEASE,
            false,
            async { panic!("must not run") },
            |_: &()| None,
        )
        .await;
        assert!(matches!(out, Leased::Held { until_ms } if until_ms == now + 60_000));
        // The trigger's own token is a renewal, not a conflict.
        let out = run_under_lease(&table, 7, &holder, LEASE, false, async { 1 }, |_| None).await;
        assert!(matches!(
            out,
            Leased::Ran(1, LeaseReport { released: true, .. })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn failed_renewals_never_stop_the_run() {
        let table = MemoryTable::new();
        let owner = LeaseToken::random();
        let out = run_under_lease(
            &table,
            7,
            &owner,
            LEASE,
            false,
            async {
                table.fail.store(true, Ordering::Relaxed);
                tokio::time::sleep(LEASE * 2).await;
                table.fail.store(false, Ordering::Relaxed);
                "done"
            },
            |_| None,
        )
        .await;
        let Leased::Ran(output, report) = out else {
            panic!("{out:?}")
        };
        assert_eq!(output, "done");
        assert_eq!((report.renewals, report.failed_renewals), (0, 5));
        assert!(report.released);
    }
}
