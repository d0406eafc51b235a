//! What the cache table holds, as domain values, and the pure rules about
//! them: keys, freshness, finality and when a write may replace an item.
//! One module per kind of item: the participant items, an epoch's stats
//! snapshot, and the warm lease.

mod lease;
mod participant;
mod snapshot;

pub use lease::*;
pub use participant::*;
pub use snapshot::*;
