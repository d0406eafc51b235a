//! The generated chain: a pure, I/O-free description of every participant,
//! epoch, counter, reward, grant and hardware node.
//!
//! The HTTP layer renders from this model, and tests use the same model to
//! compute expected values independently of HTTP. Each value is derived from
//! `(seed, purpose, epoch, participant index, ...)` by the stateless PRNG in
//! [`crate::prng`], so nothing depends on request order.
//!
//! The struct types in [`wire`] serialize to exactly the field names and JSON types
//! of the recorded chain responses (counters as strings, `weight` as an int,
//! `epoch_index` a string in summaries but an int in seeds, ...), and
//! deserialize back from them, so tests can parse a response into them and
//! compare with the model.
//!
//! Layout: [`params`] (chain constants), [`wire`] (the response item types),
//! [`address`] (bech32 accounts), [`universe`] (the participants and
//! [`Model`] itself), then one file per concern adding methods to `Model`:
//! [`heights`], [`epochs`], [`rewards`], [`participant_list`], [`authz`],
//! [`hardware`], [`inference_list`].

mod address;
mod authz;
mod epochs;
mod hardware;
mod heights;
mod hostile;
mod inference_list;
mod inference_seeds;
mod models;
mod params;
mod participant_list;
mod rewards;
mod universe;
mod validators;
mod wire;

pub use address::{encode_address, is_valid_address};
pub use models::{ChainModel, ModelStatsEntry, Threshold, LATE_MODEL};
pub use params::*;
pub use universe::Model;
pub(crate) use validators::{decode_validator_key, encode_validator_key};
pub use validators::{keybase_username, valcons_of_key};
pub use wire::*;

#[cfg(test)]
mod tests;
