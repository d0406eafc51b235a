//! A participant's inferences per epoch (docs/contract-part2.md 3): the
//! lists and their rules ([`lists`]) and the running merge that keeps a
//! scan over many pages small ([`InferenceTally`], in [`tally`]). The
//! tally builds on the lists, never the other way round.

mod lists;
mod tally;

pub use lists::*;
pub use tally::InferenceTally;
