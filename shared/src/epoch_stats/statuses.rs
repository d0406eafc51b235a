//! The jail statuses and node health an epoch-stats instance holds, so a
//! re-render merges them from memory: each set is read again only when
//! its revision (from a revalidation, or the window since it was read)
//! says it changed.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::domain::{JailStatus, NodeHealth};
use crate::table::{StatusParts, StatusRevision, StatusTable};

/// Epochs whose jail statuses are held (one per kept answer at most).
const JAIL_EPOCHS: usize = 4;
/// Jail statuses held over all epochs (as for the kept rows: one epoch of
/// 10,000 participants fits, four do not; each status is a few hundred
/// bytes). The newest set is always held.
const HELD_JAIL_ROWS: usize = super::render::KEPT_ROWS;

/// One status set as held: its rows, revision and when it was last known
/// to hold (ms).
struct Held<T> {
    rows: Arc<HashMap<String, T>>,
    revision: StatusRevision,
    checked_at_ms: i64,
}

/// The sets to merge into an epoch's rows, with their revisions.
#[derive(Clone)]
pub struct Statuses {
    pub jail: Arc<HashMap<String, JailStatus>>,
    pub health: Arc<HashMap<String, NodeHealth>>,
    pub jail_revision: StatusRevision,
    pub health_revision: StatusRevision,
}

#[derive(Default)]
pub struct StatusCache {
    health: Mutex<Option<Held<NodeHealth>>>,
    jail: Mutex<VecDeque<(u64, Held<JailStatus>)>>,
}

/// Whether a held set is still good: the table's revision item says the
/// same (`0`: no revision item, nothing written since), or, without a
/// revision to compare, it was checked within the window.
fn holds(held_revision: StatusRevision, known: Option<StatusRevision>, fresh: bool) -> bool {
    match known {
        Some(0) => true,
        Some(r) => r == held_revision,
        None => fresh,
    }
}

impl StatusCache {
    /// The statuses of `epoch`: held sets that still hold, the others read
    /// (one batched read for both). `known`: the revisions a revalidation
    /// just read. A table that cannot be read leaves them empty (served as
    /// unknown), never fails the answer.
    pub async fn get<T: StatusTable>(
        &self,
        table: &T,
        epoch: u64,
        known: Option<(StatusRevision, StatusRevision)>,
        now_ms: i64,
        window_ms: i64,
    ) -> Statuses {
        let fresh = |checked: i64| now_ms - checked < window_ms;
        let held_health = {
            let h = self.health.lock().unwrap_or_else(|p| p.into_inner());
            h.as_ref()
                .filter(|h| holds(h.revision, known.map(|k| k.1), fresh(h.checked_at_ms)))
                .map(|h| (h.rows.clone(), h.revision))
        };
        let held_jail = {
            let j = self.jail.lock().unwrap_or_else(|p| p.into_inner());
            j.iter()
                .find(|(e, _)| *e == epoch)
                .map(|(_, h)| h)
                .filter(|h| holds(h.revision, known.map(|k| k.0), fresh(h.checked_at_ms)))
                .map(|h| (h.rows.clone(), h.revision))
        };
        let parts = StatusParts {
            jail: held_jail.is_none().then_some(epoch),
            health: held_health.is_none(),
        };
        let read = if parts.jail.is_some() || parts.health {
            match table.load_statuses(parts).await {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(epoch, error = %e, "jail and health unreadable; served as unknown");
                    None
                }
            }
        } else {
            None
        };
        // Moved out of what was read, not cloned: at N = 10,000 each set is
        // megabytes.
        let (read_jail, read_health) = match read {
            Some(r) => (
                Some((r.jail, r.jail_revision)),
                Some((r.health, r.health_revision)),
            ),
            None => (None, None),
        };
        let (jail, jail_revision) = match (held_jail, read_jail) {
            (Some(h), _) => h,
            (None, Some((rows, revision))) => {
                let rows = Arc::new(rows);
                self.hold_jail(epoch, rows.clone(), revision, now_ms);
                (rows, revision)
            }
            (None, None) => (Arc::default(), 0),
        };
        let (health, health_revision) = match (held_health, read_health) {
            (Some(h), _) => h,
            (None, Some((rows, revision))) => {
                let rows = Arc::new(rows);
                *self.health.lock().unwrap_or_else(|p| p.into_inner()) = Some(Held {
                    rows: rows.clone(),
                    revision,
                    checked_at_ms: now_ms,
                });
                (rows, revision)
            }
            (None, None) => (Arc::default(), 0),
        };
        if known.is_some() {
            self.mark_checked(epoch, now_ms);
        }
        Statuses {
            jail,
            health,
            jail_revision,
            health_revision,
        }
    }

    fn hold_jail(
        &self,
        epoch: u64,
        rows: Arc<HashMap<String, JailStatus>>,
        revision: StatusRevision,
        now_ms: i64,
    ) {
        let mut j = self.jail.lock().unwrap_or_else(|p| p.into_inner());
        j.retain(|(e, _)| *e != epoch);
        if j.len() >= JAIL_EPOCHS {
            j.pop_front();
        }
        // Oldest first out, until the new set fits beside the others.
        let mut held: usize = j.iter().map(|(_, h)| h.rows.len()).sum();
        while held + rows.len() > HELD_JAIL_ROWS {
            let Some((_, oldest)) = j.pop_front() else {
                break;
            };
            held -= oldest.rows.len();
        }
        j.push_back((
            epoch,
            Held {
                rows,
                revision,
                checked_at_ms: now_ms,
            },
        ));
    }

    /// Drops the held jail statuses of `epoch` (just written: the next
    /// [`Self::get`] reads them).
    pub fn forget_jail(&self, epoch: u64) {
        let mut j = self.jail.lock().unwrap_or_else(|p| p.into_inner());
        j.retain(|(e, _)| *e != epoch);
    }

    /// A revalidation confirmed what is held.
    fn mark_checked(&self, epoch: u64, now_ms: i64) {
        if let Some(h) = self
            .health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            h.checked_at_ms = now_ms;
        }
        let mut j = self.jail.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, h)) = j.iter_mut().find(|(e, _)| *e == epoch) {
            h.checked_at_ms = now_ms;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_set_holds_while_its_revision_does() {
        // (held, known from a revalidation, checked within the window, holds)
        let cases = [
            (5, Some(5), false, true),
            (5, Some(6), true, false),
            (5, Some(0), false, true),
            (5, None, true, true),
            (5, None, false, false),
        ];
        for (held, known, fresh, want) in cases {
            assert_eq!(holds(held, known, fresh), want, "{held} {known:?} {fresh}");
        }
    }
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    fn set(n: usize) -> Arc<HashMap<String, JailStatus>> {
        let rows = (0..n)
            .map(|i| {
                let p = format!("gonka1p{i}");
                let status = JailStatus {
                    participant: p.clone(),
                    is_jailed: false,
                    validator: Default::default(),
                };
                (p, status)
            })
            .collect();
        Arc::new(rows)
    }

    fn held(cache: &StatusCache) -> Vec<u64> {
        let j = cache.jail.lock().unwrap();
        j.iter().map(|(e, _)| *e).collect()
    }

    /// Small epochs: four held. Epochs of 9,000 participants: one at a
    /// time (another epoch's statuses are read again if its answer is
    /// re-rendered).
    #[test]
    fn held_jail_sets_stay_within_the_row_budget() {
        let cache = StatusCache::default();
        for epoch in 1..=5 {
            cache.hold_jail(epoch, set(100), 1, 0);
        }
        assert_eq!(held(&cache), vec![2, 3, 4, 5]);
        cache.hold_jail(6, set(9_000), 1, 0);
        assert_eq!(held(&cache), vec![3, 4, 5, 6]);
        cache.hold_jail(7, set(9_000), 1, 0);
        assert_eq!(held(&cache), vec![7]);
        cache.hold_jail(8, set(HELD_JAIL_ROWS + 1), 1, 0);
        assert_eq!(
            held(&cache),
            vec![8],
            "the newest is held even over the budget"
        );
    }
}
