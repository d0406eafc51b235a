//! Serving jail and health: the stored values merged into the rows an
//! answer carries (null where nothing is stored). No request ever waits
//! for a jail or health fetch, and a table that cannot be read leaves the
//! fields null rather than failing the request.

use chrono::{DateTime, Utc};

use crate::domain::{JailStatus, NodeHealth, ParticipantStats};
use crate::table::TableResult;

/// Fills one row from its stored jail status and node health, if any
/// (`ready_to_unjail` as of `now`).
pub fn merge_row(
    row: &mut ParticipantStats,
    jail: Option<&JailStatus>,
    health: Option<&NodeHealth>,
    now: DateTime<Utc>,
) {
    if let Some(j) = jail {
        row.jail_health.apply_jail(j, now);
    }
    if let Some(h) = health {
        row.jail_health.apply_health(h);
    }
}

/// The same for one participant's row (the modal), from its two chunks
/// read beside the row itself.
pub fn apply_participant_status(
    row: &mut ParticipantStats,
    epoch: u64,
    stored: TableResult<(Option<JailStatus>, Option<NodeHealth>)>,
) {
    match stored {
        Ok((jail, health)) => merge_row(row, jail.as_ref(), health.as_ref(), Utc::now()),
        Err(e) => {
            tracing::warn!(epoch, participant = %row.index, error = %e, "jail and health unreadable; served as unknown");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ValidatorInfo;
    use crate::service::fakes::{row, A, B};
    use crate::table::ports::*;
    use crate::table::{MemoryTable, ModalRead, StatusParts, StatusTable};
    use std::collections::HashMap;

    fn apply_statuses(
        rows: &mut [ParticipantStats],
        jail: &HashMap<String, JailStatus>,
        health: &HashMap<String, NodeHealth>,
    ) {
        for row in rows.iter_mut() {
            let (j, h) = (jail.get(&row.index), health.get(&row.index));
            merge_row(row, j, h, Utc::now());
        }
    }
    use std::sync::atomic::Ordering;

    fn jailed(id: &str, until: &str) -> JailStatus {
        JailStatus {
            participant: id.into(),
            is_jailed: true,
            validator: ValidatorInfo {
                jailed_until: Some(until.into()),
                moniker: Some("m".into()),
                validator_consensus_key: Some("k".into()),
                consensus_key_mismatch: Some(false),
                ..ValidatorInfo::default()
            },
        }
    }

    #[tokio::test]
    async fn stored_statuses_fill_the_rows_and_missing_ones_stay_null() {
        let table = MemoryTable::new();
        let mut rows = vec![row(A), row(B)];
        let both = StatusParts::both(7);
        let stored = table.load_statuses(both).await.unwrap();
        assert_eq!((stored.jail_revision, stored.health_revision), (0, 0));
        apply_statuses(&mut rows, &stored.jail, &stored.health);
        assert!(rows
            .iter()
            .all(|r| r.jail_health.is_jailed.is_none() && r.jail_health.node_healthy.is_none()));

        table
            .store_jail(7, &[jailed(A, "2000-01-01T00:00:00Z")], 10, false)
            .await
            .unwrap();
        let health = NodeHealth {
            participant: B.into(),
            healthy: true,
            checked_at: "2026-01-01T00:00:00.000000Z".into(),
        };
        table.store_health(&[health], 11).await.unwrap();
        let stored = table.load_statuses(both).await.unwrap();
        assert_ne!(stored.jail_revision, 0);
        assert_ne!(stored.health_revision, 0);
        apply_statuses(&mut rows, &stored.jail, &stored.health);
        assert_eq!(rows[0].jail_health.is_jailed, Some(true));
        assert_eq!(
            rows[0].jail_health.ready_to_unjail,
            Some(true),
            "computed now, past the date"
        );
        assert_eq!(rows[0].jail_health.node_healthy, None);
        assert_eq!(
            rows[1].jail_health.is_jailed, None,
            "no validator row: unknown"
        );
        assert_eq!(rows[1].jail_health.node_healthy, Some(true));
        // Another epoch has no jail statuses, but health is global.
        let mut other = vec![row(A), row(B)];
        let stored = table.load_statuses(StatusParts::both(8)).await.unwrap();
        apply_statuses(&mut other, &stored.jail, &stored.health);
        assert_eq!(
            (
                other[0].jail_health.is_jailed,
                other[1].jail_health.node_healthy
            ),
            (None, Some(true))
        );

        // An unreadable table leaves the modal's fields null.
        table.fail.store(true, Ordering::Relaxed);
        let mut one = row(A);
        let id = crate::ids::ParticipantId::parse(A).unwrap();
        let read = ModalRead {
            participant: Some(&id),
            status_epoch: Some(7),
            ..ModalRead::default()
        };
        let status = table.load_modal_bundle(&read).await.map(|b| b.status);
        apply_participant_status(&mut one, 7, status);
        assert_eq!(one.jail_health.is_jailed, None);
    }
}
