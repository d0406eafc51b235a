//! BatchGetItem and BatchWriteItem: calls of at most 100 keys / 25 writes,
//! run concurrently, each repeating what DynamoDB left unprocessed
//! (throughput limits) with jittered exponential backoff.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    DeleteRequest, KeysAndAttributes, PutRequest, ReturnConsumedCapacity, WriteRequest,
};
use backon::BackoffBuilder;

use crate::retry::jittered_backoff;
use futures::{StreamExt, TryStreamExt};

use super::client::{unavailable, DynamoTable};
use super::keys::{Item, Key};
use super::metering::Op;
use crate::table::port::{TableError, TableResult};

const BATCH_GET_MAX: usize = 100;
const BATCH_WRITE_MAX: usize = 25;
const BATCH_CONCURRENCY: usize = 8;
/// Attempts for UnprocessedKeys / UnprocessedItems before giving up.
const UNPROCESSED_ATTEMPTS: usize = 8;

/// Delays between the attempts: 50 ms doubling to at most 1.6 s, each
/// lengthened by a random part of itself so throttled writers spread out.
fn unprocessed_backoff() -> impl Iterator<Item = Duration> {
    jittered_backoff(
        Duration::from_millis(50),
        Some(Duration::from_millis(1600)),
        UNPROCESSED_ATTEMPTS - 1,
    )
    .build()
}

/// Which attributes a BatchGetItem returns.
#[derive(Debug, Clone, Copy)]
pub struct Projection {
    pub expression: &'static str,
    /// Placeholders for reserved words (`#final`).
    pub names: &'static [(&'static str, &'static str)],
}

pub fn put_request(item: Item) -> TableResult<WriteRequest> {
    let put = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(|e| TableError::Corrupt(e.to_string()))?;
    Ok(WriteRequest::builder().put_request(put).build())
}

pub fn delete_request(key: &Key) -> TableResult<WriteRequest> {
    let delete = DeleteRequest::builder()
        .set_key(Some(key.attributes()))
        .build()
        .map_err(|e| TableError::Corrupt(e.to_string()))?;
    Ok(WriteRequest::builder().delete_request(delete).build())
}

/// Repeats a batch call on what it left unprocessed, backing off between
/// attempts, and gathers what each call returned.
async fn until_processed<P, T, F, Fut>(what: &str, mut pending: P, call: F) -> TableResult<Vec<T>>
where
    F: Fn(P) -> Fut,
    Fut: Future<Output = TableResult<(Vec<T>, Option<P>)>>,
{
    let mut out = Vec::new();
    let mut delays = unprocessed_backoff();
    loop {
        let (got, rest) = call(pending).await?;
        out.extend(got);
        let Some(rest) = rest else {
            return Ok(out);
        };
        let Some(delay) = delays.next() else {
            return Err(TableError::Unavailable(format!(
                "{what}: still unprocessed after {UNPROCESSED_ATTEMPTS} attempts"
            )));
        };
        tokio::time::sleep(delay).await;
        pending = rest;
    }
}

impl DynamoTable {
    /// The items of `keys` that exist, in no particular order. Duplicate
    /// keys are asked once.
    pub(super) async fn batch_get(
        &self,
        keys: impl IntoIterator<Item = Key>,
        projection: Option<Projection>,
    ) -> TableResult<Vec<Item>> {
        let mut seen = HashSet::new();
        let keys: Vec<Item> = keys
            .into_iter()
            .filter(|k| seen.insert(k.clone()))
            .map(|k| k.attributes())
            .collect();
        // Owned batches: a closure over borrowed slices makes the future non-Send.
        let batches: Vec<Vec<Item>> = keys.chunks(BATCH_GET_MAX).map(<[Item]>::to_vec).collect();
        let calls = batches
            .into_iter()
            .map(|batch| self.batch_get_call(batch, projection));
        let pages: Vec<Vec<Item>> = futures::stream::iter(calls)
            .buffer_unordered(BATCH_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(pages.into_iter().flatten().collect())
    }

    async fn batch_get_call(
        &self,
        keys: Vec<Item>,
        projection: Option<Projection>,
    ) -> TableResult<Vec<Item>> {
        let mut request = KeysAndAttributes::builder().set_keys(Some(keys));
        if let Some(p) = projection {
            request = request.projection_expression(p.expression);
            for (placeholder, name) in p.names {
                request = request.expression_attribute_names(*placeholder, *name);
            }
        }
        let pending = request
            .build()
            .map_err(|e| TableError::Corrupt(e.to_string()))?;
        until_processed("BatchGetItem", pending, |keys| self.batch_get_once(keys)).await
    }

    /// One BatchGetItem call: the items it returned and the keys left over.
    async fn batch_get_once(
        &self,
        keys: KeysAndAttributes,
    ) -> TableResult<(Vec<Item>, Option<KeysAndAttributes>)> {
        let resp = self
            .client
            .batch_get_item()
            .request_items(&self.table, keys)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| unavailable("BatchGetItem", e))?;
        self.counters.record(Op::Read, resp.consumed_capacity());
        let items = resp
            .responses
            .and_then(|mut r| r.remove(&self.table))
            .unwrap_or_default();
        let rest = resp
            .unprocessed_keys
            .and_then(|mut u| u.remove(&self.table))
            .filter(|rest| !rest.keys().is_empty());
        Ok((items, rest))
    }

    /// All of `requests`, in calls of 25.
    pub(super) async fn batch_write(&self, requests: Vec<WriteRequest>) -> TableResult<()> {
        let batches: Vec<Vec<WriteRequest>> = requests
            .chunks(BATCH_WRITE_MAX)
            .map(<[WriteRequest]>::to_vec)
            .collect();
        let calls = batches.into_iter().map(|batch| {
            until_processed("BatchWriteItem", batch, |requests| {
                self.batch_write_once(requests)
            })
        });
        futures::stream::iter(calls)
            .buffer_unordered(BATCH_CONCURRENCY)
            .try_collect::<Vec<Vec<()>>>()
            .await?;
        Ok(())
    }

    /// One BatchWriteItem call: the requests left over.
    async fn batch_write_once(
        &self,
        requests: Vec<WriteRequest>,
    ) -> TableResult<(Vec<()>, Option<Vec<WriteRequest>>)> {
        let resp = self
            .client
            .batch_write_item()
            .request_items(&self.table, requests)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| unavailable("BatchWriteItem", e))?;
        self.counters.record(Op::Write, resp.consumed_capacity());
        let rest = resp
            .unprocessed_items
            .and_then(|mut u| u.remove(&self.table))
            .filter(|rest| !rest.is_empty());
        Ok((Vec::new(), rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seven waits between eight attempts, doubling from 50 ms up to 1.6 s,
    /// each at most twice its base (the jitter).
    #[test]
    fn unprocessed_items_back_off_seven_times() {
        let base = [50, 100, 200, 400, 800, 1600, 1600];
        let delays: Vec<Duration> = unprocessed_backoff().collect();
        assert_eq!(delays.len(), base.len());
        for (d, b) in delays.iter().zip(base) {
            let b = Duration::from_millis(b);
            assert!(*d >= b && *d <= 2 * b, "{d:?} for {b:?}");
        }
    }

    /// Retries what is left, gathers every answer, gives up after eight calls.
    #[tokio::test(start_paused = true)]
    async fn until_processed_retries_the_rest_then_gives_up() {
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let got = until_processed("test", 3u32, |left| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            async move { Ok((vec![left], (left > 1).then(|| left - 1))) }
        })
        .await
        .unwrap();
        assert_eq!(got, vec![3, 2, 1]);

        let err = until_processed("test", (), |()| async { Ok((vec![()], Some(()))) })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("after 8 attempts"), "{err}");
        assert_eq!(calls.into_inner(), 3);
    }
}
