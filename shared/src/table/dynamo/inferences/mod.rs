//! [`InferenceTable`] over DynamoDB: the scan's checkpoint and saved state
//! (`state`: a save writes what the run added) and the published records
//! with the route's read (`published`: a completion writes the buckets
//! that changed).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::client::DynamoTable;
use super::keys::{Item, Key};
use crate::domain::inferences::InferenceLists;
use crate::ids::ParticipantId;
use crate::table::inferences::*;
use crate::table::items::PutOutcome;
use crate::table::port::{TableError, TableResult};

mod published;
mod state;

pub use crate::table::inferences::RECORD_BUCKETS;

const BLOB: &str = "blob";

fn corrupt(what: &str, e: impl std::fmt::Display) -> TableError {
    TableError::Corrupt(format!("{what}: {e}"))
}

fn blob_item(key: &Key, bytes: Vec<u8>) -> Item {
    let mut item = key.attributes();
    item.insert(BLOB.into(), AttributeValue::B(bytes.into()));
    item
}

fn blob(item: &Item) -> TableResult<&[u8]> {
    item.get(BLOB)
        .and_then(|v| v.as_b().ok())
        .map(|b| b.as_ref())
        .ok_or_else(|| TableError::Corrupt("an item without its blob".into()))
}

impl InferenceTable for DynamoTable {
    async fn load_scan(&self) -> TableResult<ScanCheckpoint> {
        self.load_checkpoint().await
    }

    async fn save_scan(
        &self,
        read: &ScanCheckpoint,
        next: &ScanCheckpoint,
    ) -> TableResult<PutOutcome> {
        self.save_checkpoint(read, next).await
    }

    async fn publish_inferences(
        &self,
        epoch: u64,
        records: &BTreeMap<String, InferenceLists>,
        stamp: PublishStamp,
    ) -> TableResult<usize> {
        self.publish(epoch, records, stamp).await
    }

    async fn load_inferences(
        &self,
        participant: &ParticipantId,
        epoch: u64,
    ) -> TableResult<Option<PublishedInferences>> {
        self.load_record(participant, epoch).await
    }
}
