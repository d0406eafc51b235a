//! [`RevisionTable`] over DynamoDB: one BatchGetItem of the small items
//! that say whether a kept answer still holds.

use super::client::DynamoTable;
use super::keys::{num_attr, Key};
use super::rows::{decode_header, decode_total};
use super::status::REVISION;
use crate::table::items::StatsSlot;
use crate::table::port::TableResult;
use crate::table::revisions::{RevisionQuery, RevisionTable, Revisions};

impl RevisionTable for DynamoTable {
    async fn load_revisions(&self, query: RevisionQuery) -> TableResult<Revisions> {
        let (jail, health) = (Key::jail_revision(query.epoch), Key::health_revision());
        let (current, total) = (Key::stats(StatsSlot::Current), Key::total(query.epoch));
        let keys = [jail.clone(), health.clone()]
            .into_iter()
            .chain(query.current_header.then(|| current.clone()))
            .chain(query.total.then(|| total.clone()));
        let mut out = Revisions::default();
        for item in self.batch_get(keys, None).await? {
            let Some(key) = Key::of(&item) else { continue };
            if key == jail {
                out.jail = num_attr(&item, REVISION).unwrap_or_default();
            } else if key == health {
                out.health = num_attr(&item, REVISION).unwrap_or_default();
            } else if key == current {
                out.current = Some(decode_header(item)?);
            } else if key == total {
                out.total = Some(decode_total(item)?);
            }
        }
        Ok(out)
    }
}
