//! History over every finished epoch: recording an epoch's entries (the
//! warmer, once a finished epoch's items are stored) and reading a page of
//! them (the history routes, one Query per page), and the scheduled
//! backfill of older epochs.

mod backfill;
mod page;
mod record;

pub use backfill::{backfill_step, BackfillReport, BACKFILL_LOOKS_PER_RUN};
pub use page::{
    network_history_page, participant_history_page, HistoryPage, NetworkHistoryPage, PageQuery,
};
pub use record::{record_epoch_history, HistoryReport};
