//! An epoch's warm lease: its owner token, the rest a run earns, and the
//! rules of claiming and releasing it (each mirrored by a DynamoDB
//! condition in the adapter).

use serde::{Deserialize, Serialize};

/// Whether a warm lease claimed until `claimed_until_ms` (if ever) is free
/// at `now_ms`: never claimed, lapsed, or released.
pub fn lease_is_free(claimed_until_ms: Option<i64>, now_ms: i64) -> bool {
    claimed_until_ms.is_none_or(|until| until <= now_ms)
}

/// Who holds an epoch's warm lease: a random id (a UUID v4) the trigger
/// makes, sends the warmer in its payload, and the warmer renews and
/// releases the lease with. At most 64 letters, digits and `-` (it comes
/// in a payload and is stored in the table).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LeaseToken(String);

impl LeaseToken {
    pub const MAX_LEN: usize = 64;

    /// A new owner nobody else has.
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = (1..=Self::MAX_LEN).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "a lease token is 1 to {} letters, digits or '-'",
                Self::MAX_LEN
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LeaseToken {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}

impl From<LeaseToken> for String {
    fn from(token: LeaseToken) -> String {
        token.0
    }
}

impl std::fmt::Display for LeaseToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An epoch's warm lease as stored: until when it is held and by whom
/// (`None`: a claim without an owner, e.g. one written before leases had
/// owners; it can only lapse), and the rest its last run earned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmLease {
    pub claimed_until_ms: i64,
    pub owner: Option<LeaseToken>,
    pub rest: Option<WarmRest>,
}

/// Until when an epoch needs no warm run of the same kind (as the current
/// epoch, or as a finished one): a run that found every item present
/// records it when it releases the lease. A finished epoch whose items,
/// total and jail statuses are all stored rests for good ([`WarmRest::FOREVER`]);
/// the current epoch until its first item's freshness runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WarmRest {
    pub until_ms: i64,
    pub finished: bool,
}

impl WarmRest {
    pub const FOREVER: i64 = i64::MAX;
}

/// Whether a stored rest lets a run of the given kind start at `now_ms`:
/// none, over, or earned as the other kind (an epoch that just finished is
/// warmed as finished whatever its last current run earned).
pub fn rest_allows(rest: Option<&WarmRest>, now_ms: i64, finished: bool) -> bool {
    rest.is_none_or(|r| r.until_ms <= now_ms || r.finished != finished)
}

/// Whether `claimant` may take the epoch's warm lease at `now_ms` (until
/// `now_ms` + the lease) for a run of the kind `finished`: when it is free
/// ([`lease_is_free`]), or already the claimant's (a renewal, even of a
/// lease that lapsed while nobody else took it), and no rest of that kind
/// holds ([`rest_allows`]). (In DynamoDB: `attribute_not_exists(pk) OR
/// ((claimed_until <= :now OR lease_owner = :owner) AND (attribute_not_exists(rest_until)
/// OR rest_until <= :now OR rest_finished <> :finished))`.)
pub fn lease_may_claim(
    stored: Option<&WarmLease>,
    claimant: &LeaseToken,
    now_ms: i64,
    finished: bool,
) -> bool {
    stored.is_none_or(|lease| {
        (lease_is_free(Some(lease.claimed_until_ms), now_ms)
            || lease.owner.as_ref() == Some(claimant))
            && rest_allows(lease.rest.as_ref(), now_ms, finished)
    })
}

/// Whether `owner` may release the lease (set `claimed_until` to now):
/// only its own, so a run whose lease lapsed and was taken never frees the
/// new holder's. (In DynamoDB: `lease_owner = :owner`.)
pub fn lease_may_release(stored: Option<&WarmLease>, owner: &LeaseToken) -> bool {
    stored.is_some_and(|lease| lease.owner.as_ref() == Some(owner))
}

/// The outcome of claiming (or renewing) an epoch's warm lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseClaim {
    /// This call holds the lease now (a trigger then invokes the warmer).
    pub won: bool,
    /// Until when the lease is held (by this call or another).
    pub held_until_ms: i64,
    /// A lost claim: the epoch rests (needs no run of this kind) until then.
    pub rest_until_ms: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_free_once_lapsed() {
        assert!(lease_is_free(None, 10));
        assert!(lease_is_free(Some(10), 10));
        assert!(!lease_is_free(Some(11), 10));
    }

    #[test]
    fn lease_rules() {
        let (me, other) = (LeaseToken::random(), LeaseToken::random());
        let lease = |until: i64, owner: Option<&LeaseToken>| {
            Some(WarmLease {
                claimed_until_ms: until,
                owner: owner.cloned(),
                rest: None,
            })
        };
        const NOW: i64 = 1_000;
        // (stored, may `me` claim or renew, may `me` release)
        let cases = [
            (None, true, false),
            // Held by another: neither.
            (lease(NOW + 1, Some(&other)), false, false),
            (lease(NOW + 1, None), false, false),
            // Lapsed or released, whoever held it: free to claim.
            (lease(NOW, Some(&other)), true, false),
            (lease(NOW - 5, None), true, false),
            // Mine: renewed, held or lapsed; released only by me.
            (lease(NOW + 1, Some(&me)), true, true),
            (lease(NOW - 5, Some(&me)), true, true),
        ];
        for (stored, claim, release) in cases {
            assert_eq!(
                lease_may_claim(stored.as_ref(), &me, NOW, false),
                claim,
                "claim {stored:?}"
            );
            assert_eq!(
                lease_may_release(stored.as_ref(), &me),
                release,
                "release {stored:?}"
            );
        }
    }

    #[test]
    fn a_rest_holds_off_runs_of_its_kind_until_it_ends() {
        let rest = |until_ms, finished| Some(WarmRest { until_ms, finished });
        // (stored rest, claim as finished, allowed at NOW = 1_000)
        let cases = [
            (None, false, true),
            (rest(WarmRest::FOREVER, true), true, false),
            (rest(WarmRest::FOREVER, true), false, true),
            (rest(1_001, false), false, false),
            (rest(1_000, false), false, true),
            (rest(5_000, false), true, true),
        ];
        for (stored, finished, want) in cases {
            assert_eq!(
                rest_allows(stored.as_ref(), 1_000, finished),
                want,
                "{stored:?} {finished}"
            );
            let lease = WarmLease {
                claimed_until_ms: 0,
                owner: None,
                rest: stored,
            };
            assert_eq!(
                lease_may_claim(Some(&lease), &LeaseToken::random(), 1_000, finished),
                want
            );
        }
    }

    #[test]
    fn lease_tokens() {
        let t = LeaseToken::random();
        assert_eq!(t.as_str().len(), 36);
        assert_ne!(t, LeaseToken::random());
        assert_eq!(LeaseToken::parse(t.as_str()), Ok(t));
        for bad in ["", "a b", "x/../y", "é", &"a".repeat(65)] {
            assert!(LeaseToken::parse(bad).is_err(), "{bad:?}");
        }
        assert!(LeaseToken::parse(&"a".repeat(64)).is_ok());
    }
}
