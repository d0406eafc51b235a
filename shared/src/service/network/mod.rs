//! The network-wide views: the timeline and the models (docs/contract-part2.md
//! sections 1 and 2). The scheduled function keeps their items fresh with
//! [`refresh_timeline`] and [`refresh_models_current`]; a request answers
//! from the table and goes to the chain only when nothing is stored (or
//! the stored copy is so old that the scheduled refresh has evidently
//! stopped), serving the stored copy while the chain is down.

pub mod models;
pub mod responses;
mod stored;
#[cfg(test)]
mod tests;
pub mod timeline;

pub use super::epochs::Source;
pub use models::{models_current, models_for_epoch, refresh_models_current, ModelsRefresh};
pub use stored::{RefreshError, Served};
pub use timeline::{refresh_timeline, timeline, TimelineRefresh};
