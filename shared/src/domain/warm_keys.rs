//! The warm-key filter (docs/contract.md 2.4 with section 0's exact matching).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use super::sources::Grant;

/// The 24 message types a grantee must be allowed to send to count as a
/// warm key.
pub const REQUIRED_MSG_TYPES: [&str; 24] = [
    "MsgStartInference",
    "MsgFinishInference",
    "MsgClaimRewards",
    "MsgValidation",
    "MsgSubmitPocBatch",
    "MsgSubmitPocValidation",
    "MsgSubmitSeed",
    "MsgBridgeExchange",
    "MsgSubmitTrainingKvRecord",
    "MsgJoinTraining",
    "MsgJoinTrainingStatus",
    "MsgTrainingHeartbeat",
    "MsgSetBarrier",
    "MsgClaimTrainingTaskForAssignment",
    "MsgAssignTrainingTask",
    "MsgSubmitNewUnfundedParticipant",
    "MsgSubmitHardwareDiff",
    "MsgInvalidateInference",
    "MsgRevalidateInference",
    "MsgSubmitDealerPart",
    "MsgSubmitVerificationVector",
    "MsgRequestThresholdSignature",
    "MsgSubmitPartialSignature",
    "MsgSubmitGroupKeyValidationSignature",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmKey {
    pub grantee_address: String,
    /// The expiration of the grantee's first grant (the tracker's name).
    pub granted_at: String,
}

/// The type name of a message URL: the segment after the last `.`
/// (`/inference.inference.MsgStartInference` -> `MsgStartInference`).
fn msg_type_name(msg: &str) -> &str {
    msg.rsplit('.').next().unwrap_or(msg)
}

/// Grantees whose grants cover all 24 message types, by exact type name,
/// sorted by `granted_at` descending (ties keep first-seen order).
pub fn warm_keys(grants: &[Grant]) -> Vec<WarmKey> {
    let required: HashSet<&str> = REQUIRED_MSG_TYPES.into_iter().collect();
    // grantee -> (first-seen position, first expiration, covered types)
    let mut by_grantee: BTreeMap<&str, (usize, String, HashSet<&str>)> = BTreeMap::new();
    for (pos, grant) in grants.iter().enumerate() {
        let entry = by_grantee.entry(grant.grantee.as_str()).or_insert_with(|| {
            (
                pos,
                grant.expiration.clone().unwrap_or_default(),
                HashSet::new(),
            )
        });
        if let Some(name) = grant.msg.as_deref().map(msg_type_name) {
            if required.contains(name) {
                entry.2.insert(name);
            }
        }
    }
    let mut keys: Vec<(usize, WarmKey)> = by_grantee
        .into_iter()
        .filter(|(_, (_, _, covered))| covered.len() == required.len())
        .map(|(grantee, (pos, granted_at, _))| {
            (
                pos,
                WarmKey {
                    grantee_address: grantee.to_owned(),
                    granted_at,
                },
            )
        })
        .collect();
    keys.sort_by(|(pa, a), (pb, b)| b.granted_at.cmp(&a.granted_at).then(pa.cmp(pb)));
    keys.into_iter().map(|(_, k)| k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(grantee: &str, msg: &str, exp: &str) -> Grant {
        Grant {
            grantee: grantee.into(),
            msg: Some(msg.into()),
            expiration: Some(exp.into()),
        }
    }

    fn full_set(grantee: &str, exp: &str) -> Vec<Grant> {
        REQUIRED_MSG_TYPES
            .iter()
            .map(|m| grant(grantee, &format!("/inference.inference.{m}"), exp))
            .collect()
    }

    #[test]
    fn filter_cases() {
        let without = |grantee: &str, skip: &str, extra: Option<&str>| {
            let mut g: Vec<Grant> = full_set(grantee, "2026-01-01T00:00:00Z")
                .into_iter()
                .filter(|g| !g.msg.as_ref().unwrap().ends_with(&format!(".{skip}")))
                .collect();
            if let Some(extra) = extra {
                g.push(grant(grantee, extra, "2026-01-01T00:00:00Z"));
            }
            g
        };
        let cases: Vec<(&str, Vec<Grant>, Vec<&str>)> = vec![
            (
                "full set",
                full_set("k1", "2026-01-01T00:00:00Z"),
                vec!["k1"],
            ),
            ("empty", vec![], vec![]),
            ("one missing", without("k1", "MsgSetBarrier", None), vec![]),
            // Substring matching would accept these; exact names must not.
            (
                "status is not join",
                without(
                    "k1",
                    "MsgJoinTraining",
                    Some("/inference.inference.MsgJoinTrainingStatus"),
                ),
                vec![],
            ),
            (
                "prefix of a name",
                without(
                    "k1",
                    "MsgValidation",
                    Some("/inference.inference.MsgValidationX"),
                ),
                vec![],
            ),
            (
                "extra unrelated",
                [
                    full_set("k1", "2026-01-01T00:00:00Z"),
                    vec![grant("k1", "/cosmos.bank.v1beta1.MsgSend", "x")],
                ]
                .concat(),
                vec!["k1"],
            ),
            (
                "sorted by granted_at desc",
                [
                    full_set("old", "2025-01-01T00:00:00Z"),
                    full_set("new", "2027-01-01T00:00:00Z"),
                    without("half", "MsgSubmitSeed", None),
                ]
                .concat(),
                vec!["new", "old"],
            ),
        ];
        for (name, grants, want) in cases {
            let got: Vec<String> = warm_keys(&grants)
                .into_iter()
                .map(|k| k.grantee_address)
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn granted_at_is_the_first_grant_seen() {
        let mut grants = full_set("k", "2026-05-05T00:00:00Z");
        grants[0].expiration = Some("2026-01-01T00:00:00Z".into());
        assert_eq!(warm_keys(&grants)[0].granted_at, "2026-01-01T00:00:00Z");
    }
}
