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
        let (jail, jail_revision) = match (held_jail, &read) {
            (Some(h), _) => h,
            (None, Some(r)) => {
                let rows = Arc::new(r.jail.clone());
                self.hold_jail(epoch, rows.clone(), r.jail_revision, now_ms);
                (rows, r.jail_revision)
            }
            (None, None) => (Arc::default(), 0),
        };
        let (health, health_revision) = match (held_health, &read) {
            (Some(h), _) => h,
            (None, Some(r)) => {
                let rows = Arc::new(r.health.clone());
                *self.health.lock().unwrap_or_else(|p| p.into_inner()) = Some(Held {
                    rows: rows.clone(),
                    revision: r.health_revision,
                    checked_at_ms: now_ms,
                });
                (rows, r.health_revision)
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
