//! Jail status and node health of a participant (docs/contract-part2.md 4.1 with
//! section 0): what is stored per (epoch, participant) and per participant,
//! the rules that clean the chain's validator fields (its `website` goes
//! through `links::web_link`), and how both are merged into a served row
//! (`ready_to_unjail` is computed then, never stored).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A participant's validator as of one epoch's height, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JailStatus {
    pub participant: String,
    pub is_jailed: bool,
    #[serde(flatten)]
    pub validator: ValidatorInfo,
}

/// What a jail status says besides `is_jailed`, under the same names in
/// the stored status and the served row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorInfo {
    /// RFC 3339 as the chain gives it; `None` when not jailed, unknown, or
    /// the chain's zero time (`1970-01-01...`).
    #[serde(default)]
    pub jailed_until: Option<String>,
    #[serde(default)]
    pub moniker: Option<String>,
    #[serde(default)]
    pub identity: Option<String>,
    #[serde(default)]
    pub keybase_username: Option<String>,
    #[serde(default)]
    pub keybase_picture_url: Option<String>,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub validator_consensus_key: Option<String>,
    #[serde(default)]
    pub consensus_key_mismatch: Option<bool>,
}

/// A row's jail and health as served: null as built from the chain, filled
/// from the stored statuses when an answer is served ([`RowStatus::apply_jail`],
/// [`RowStatus::apply_health`]). Never stored with the rows, so never read back with
/// them (`skip_deserializing` where a row holds it).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RowStatus {
    pub is_jailed: Option<bool>,
    pub ready_to_unjail: Option<bool>,
    #[serde(flatten)]
    pub validator: ValidatorInfo,
    pub node_healthy: Option<bool>,
    pub node_health_checked_at: Option<String>,
}

/// A participant's last health probe, as stored (global, not per epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeHealth {
    pub participant: String,
    pub healthy: bool,
    /// The probe's own time, RFC 3339 with `Z`.
    pub checked_at: String,
}

/// Trimmed; empty reads as `None`.
pub fn non_empty(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The moniker, blanked when the chain's default (the operator address) is
/// all it says.
pub fn clean_moniker(raw: Option<&str>) -> Option<String> {
    non_empty(raw).filter(|m| !m.starts_with("gonkavaloper"))
}

/// `jailed_until` as served: the chain's zero time means "none".
pub fn clean_jailed_until(raw: Option<&str>) -> Option<String> {
    non_empty(raw).filter(|t| !t.contains("1970-01-01"))
}

/// Whether the stored key differs from the epoch's validator key; `None`
/// unless both are known.
pub fn consensus_key_mismatch(chain_key: Option<&str>, epoch_key: Option<&str>) -> Option<bool> {
    match (non_empty(chain_key), non_empty(epoch_key)) {
        (Some(a), Some(b)) => Some(a != b),
        _ => None,
    }
}

/// Jailed and past `jailed_until` at `now`; `false` when not jailed or the
/// time is unknown or unreadable.
pub fn ready_to_unjail(status: &JailStatus, now: DateTime<Utc>) -> bool {
    status.is_jailed
        && status
            .validator
            .jailed_until
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|until| now > until)
}

impl RowStatus {
    /// The jail fields from the participant's stored status.
    pub fn apply_jail(&mut self, status: &JailStatus, now: DateTime<Utc>) {
        self.is_jailed = Some(status.is_jailed);
        self.ready_to_unjail = Some(ready_to_unjail(status, now));
        self.validator = status.validator.clone();
    }

    /// The health fields from the participant's last probe.
    pub fn apply_health(&mut self, health: &NodeHealth) {
        self.node_healthy = Some(health.healthy);
        self.node_health_checked_at = Some(health.checked_at.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_chain_fields() {
        let moniker = [
            (Some("  node-1 "), Some("node-1")),
            (Some("gonkavaloper1abc"), None),
            (Some("   "), None),
            (None, None),
        ];
        for (raw, want) in moniker {
            assert_eq!(clean_moniker(raw).as_deref(), want, "{raw:?}");
        }
        let until = [
            (Some("1970-01-01T00:00:00Z"), None),
            (
                Some("2026-01-02T03:04:05.123456789Z"),
                Some("2026-01-02T03:04:05.123456789Z"),
            ),
            (Some(""), None),
            (None, None),
        ];
        for (raw, want) in until {
            assert_eq!(clean_jailed_until(raw).as_deref(), want, "{raw:?}");
        }
        let mismatch = [
            (Some("k1"), Some("k1"), Some(false)),
            (Some("k1"), Some("k2"), Some(true)),
            (None, Some("k2"), None),
            (Some("k1"), Some(""), None),
        ];
        for (a, b, want) in mismatch {
            assert_eq!(consensus_key_mismatch(a, b), want, "{a:?} {b:?}");
        }
    }

    #[test]
    fn ready_to_unjail_is_computed_at_the_given_time() {
        let now = DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let status = |jailed: bool, until: Option<&str>| JailStatus {
            participant: "p".into(),
            is_jailed: jailed,
            validator: ValidatorInfo {
                jailed_until: until.map(str::to_owned),
                ..ValidatorInfo::default()
            },
        };
        let cases = [
            (true, Some("2026-05-31T23:59:59.999999999Z"), true),
            (true, Some("2026-06-01T00:00:00.000000001Z"), false),
            (true, Some("garbage"), false),
            (true, None, false),
            (false, Some("2020-01-01T00:00:00Z"), false),
        ];
        for (jailed, until, want) in cases {
            assert_eq!(
                ready_to_unjail(&status(jailed, until), now),
                want,
                "{until:?}"
            );
        }
    }
}
