//! A page of history: one Query of the table, newest epoch first, the
//! next page's end when there is more.

use serde::Serialize;

use crate::domain::history::{
    EpochRange, HistoryEntry, NetworkEpoch, NetworkHistoryRow, UnavailableEpoch,
    DEFAULT_PAGE_EPOCHS, MAX_PAGE_EPOCHS,
};
use crate::ids::ParticipantId;
use crate::service::ApiError;
use crate::table::HistoryTable;

/// The highest epoch a sort key holds (10 digits): an open range's end.
const LAST_EPOCH: u64 = 9_999_999_999;

/// What a caller asked: `from_epoch`, `to_epoch` (both optional,
/// inclusive) and `limit` (epochs per page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageQuery {
    pub from: Option<u64>,
    pub to: Option<u64>,
    pub limit: Option<usize>,
}

impl PageQuery {
    fn range_and_limit(&self) -> Result<(EpochRange, usize), ApiError> {
        let range =
            EpochRange::new(self.from, self.to, LAST_EPOCH).map_err(ApiError::BadRequest)?;
        if range.to > LAST_EPOCH {
            return Err(ApiError::BadRequest(format!(
                "to_epoch is past {LAST_EPOCH}"
            )));
        }
        let limit = self.limit.unwrap_or(DEFAULT_PAGE_EPOCHS);
        if !(1..=MAX_PAGE_EPOCHS).contains(&limit) {
            return Err(ApiError::BadRequest(format!(
                "limit must be between 1 and {MAX_PAGE_EPOCHS}"
            )));
        }
        Ok((range, limit))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryPage {
    pub participant_id: ParticipantId,
    pub epochs: Vec<HistoryEntry>,
    /// Where the next page ends (its `to_epoch`); null on the last page.
    pub next_to_epoch: Option<u64>,
    /// Nothing on this page can change: a closed range, every epoch of it
    /// present and settled.
    #[serde(skip)]
    pub immutable: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkHistoryPage {
    pub epochs: Vec<NetworkEpoch>,
    /// Epochs of the page's span the history cannot hold, and why.
    pub unavailable: Vec<UnavailableEpoch>,
    pub next_to_epoch: Option<u64>,
}

/// The first `limit` of `rows` (read `limit + 1`), and where the next page
/// ends when there was one more.
fn split_page<T>(
    mut rows: Vec<T>,
    limit: usize,
    epoch_of: impl Fn(&T) -> u64,
) -> (Vec<T>, Option<u64>) {
    let next = (rows.len() > limit).then(|| epoch_of(&rows[limit - 1]).saturating_sub(1));
    rows.truncate(limit);
    (rows, next.filter(|e| *e >= 1))
}

/// `GET /v1/participants/{id}/history`: 404 when nothing at all is stored
/// for the participant (an empty page of a known one is an empty list).
pub async fn participant_history_page<T: HistoryTable>(
    table: &T,
    participant: &ParticipantId,
    query: PageQuery,
) -> Result<HistoryPage, ApiError> {
    let (range, limit) = query.range_and_limit()?;
    let rows = table.load_history(participant, range, limit + 1).await?;
    if rows.is_empty() {
        let whole = EpochRange {
            from: 1,
            to: LAST_EPOCH,
        };
        let known = whole != range && !table.load_history(participant, whole, 1).await?.is_empty();
        if !known {
            return Err(ApiError::NotFound(format!(
                "No history for participant {participant}"
            )));
        }
    }
    let (rows, next_to_epoch) = split_page(rows, limit, |(e, _)| e.epoch_id);
    let closed = query.to.is_some() && next_to_epoch.is_none();
    let immutable =
        closed && rows.len() as u64 == range.epochs() && rows.iter().all(|(_, settled)| *settled);
    Ok(HistoryPage {
        participant_id: participant.clone(),
        epochs: rows.into_iter().map(|(e, _)| e).collect(),
        next_to_epoch,
        immutable,
    })
}

/// `GET /v1/network/history`.
pub async fn network_history_page<T: HistoryTable>(
    table: &T,
    query: PageQuery,
) -> Result<NetworkHistoryPage, ApiError> {
    let (range, limit) = query.range_and_limit()?;
    let rows = table.load_network_history(range, limit + 1).await?;
    let (rows, next_to_epoch) = split_page(rows, limit, NetworkHistoryRow::epoch_id);
    let (mut epochs, mut unavailable) = (Vec::new(), Vec::new());
    for row in rows {
        match row {
            NetworkHistoryRow::Epoch(r) => epochs.push(r),
            NetworkHistoryRow::Unavailable(u) => unavailable.push(u),
        }
    }
    Ok(NetworkHistoryPage {
        epochs,
        unavailable,
        next_to_epoch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_split_where_the_next_one_ends() {
        let epochs = |v: Vec<u64>| v;
        let cases = [
            (vec![9, 8, 7], 2, vec![9, 8], Some(7)),
            (vec![9, 8], 2, vec![9, 8], None),
            (vec![9, 5, 2], 2, vec![9, 5], Some(4)),
            (vec![2, 1], 1, vec![2], Some(1)),
            (vec![], 3, vec![], None),
        ];
        for (rows, limit, want, next) in cases {
            let (got, n) = split_page(epochs(rows.clone()), limit, |e| *e);
            assert_eq!((got, n), (want, next), "{rows:?} / {limit}");
        }
    }

    #[test]
    fn bad_ranges_and_limits_are_400() {
        let q = |from, to, limit| PageQuery { from, to, limit };
        for bad in [
            q(Some(5), Some(4), None),
            q(Some(0), None, None),
            q(None, None, Some(0)),
            q(None, None, Some(MAX_PAGE_EPOCHS + 1)),
            q(None, Some(LAST_EPOCH + 1), None),
        ] {
            assert!(
                matches!(bad.range_and_limit(), Err(ApiError::BadRequest(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            q(None, None, None).range_and_limit().unwrap(),
            (
                EpochRange {
                    from: 1,
                    to: LAST_EPOCH
                },
                DEFAULT_PAGE_EPOCHS
            )
        );
    }
}
