//! The port for the network-wide views' items (timeline, models): a narrow
//! trait beside [`super::CacheTable`], and the rule each item is written by.

use std::future::Future;

use super::items::PutOutcome;
use super::port::BudgetTable;
use super::port::TableResult;

/// The network-wide items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetworkItem {
    /// The timeline answer; replaced in place by a newer one.
    Timeline,
    /// The current epoch's models; replaced in place by a newer one.
    ModelsCurrent,
    /// A finished epoch's models at its canonical height; written once.
    ModelsFinal(u64),
    /// A finished epoch's models at a requested lower height; written once,
    /// expires after [`AT_HEIGHT_TTL_SECS`].
    ModelsAtHeight(u64, u64),
    /// The restrictions' end block; replaced in place by a newer read.
    RestrictionEndBlock,
}

/// Items at requested heights live 30 days (as the epoch stats at a height).
pub const AT_HEIGHT_TTL_SECS: i64 = 30 * 86_400;

/// How a write may replace what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkWriteRule {
    /// Only over an older item (`fetched_at` below the new one's).
    ReplaceOlder,
    /// Only where nothing is stored.
    Once,
}

impl NetworkItem {
    pub fn write_rule(self) -> NetworkWriteRule {
        match self {
            NetworkItem::Timeline
            | NetworkItem::ModelsCurrent
            | NetworkItem::RestrictionEndBlock => NetworkWriteRule::ReplaceOlder,
            NetworkItem::ModelsFinal(_) | NetworkItem::ModelsAtHeight(..) => NetworkWriteRule::Once,
        }
    }

    /// Seconds the item lives after it is written; `None`: until replaced.
    pub fn ttl_secs(self) -> Option<i64> {
        match self {
            NetworkItem::ModelsAtHeight(..) => Some(AT_HEIGHT_TTL_SECS),
            _ => None,
        }
    }
}

/// A stored item: its JSON body and when it was fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDoc {
    pub fetched_at_ms: i64,
    pub body: String,
}

/// Whether a write at `new_ms` may replace an item fetched at `stored_ms`.
pub fn network_may_replace(rule: NetworkWriteRule, stored_ms: Option<i64>, new_ms: i64) -> bool {
    match (rule, stored_ms) {
        (_, None) => true,
        (NetworkWriteRule::ReplaceOlder, Some(old)) => old < new_ms,
        (NetworkWriteRule::Once, Some(_)) => false,
    }
}

pub trait NetworkTable: BudgetTable + Send + Sync {
    fn load_network(
        &self,
        item: NetworkItem,
    ) -> impl Future<Output = TableResult<Option<StoredDoc>>> + Send;

    /// Writes under the item's [`NetworkWriteRule`]; a lost rule is
    /// [`PutOutcome::LostRace`].
    fn store_network(
        &self,
        item: NetworkItem,
        doc: &StoredDoc,
    ) -> impl Future<Output = TableResult<PutOutcome>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_rules() {
        use NetworkWriteRule::*;
        let cases = [
            (ReplaceOlder, None, 5, true),
            (ReplaceOlder, Some(4), 5, true),
            (ReplaceOlder, Some(5), 5, false),
            (ReplaceOlder, Some(6), 5, false),
            (Once, None, 5, true),
            (Once, Some(1), 5, false),
        ];
        for (rule, stored, new, want) in cases {
            assert_eq!(
                network_may_replace(rule, stored, new),
                want,
                "{rule:?} {stored:?}"
            );
        }
        assert_eq!(NetworkItem::ModelsFinal(3).write_rule(), Once);
        assert_eq!(NetworkItem::Timeline.write_rule(), ReplaceOlder);
        assert_eq!(
            NetworkItem::ModelsAtHeight(3, 9).ttl_secs(),
            Some(AT_HEIGHT_TTL_SECS)
        );
        assert_eq!(NetworkItem::ModelsCurrent.ttl_secs(), None);
    }
}
