//! The Gonka chain: the port ([`Chain`]), its HTTP adapter ([`HttpChain`])
//! and typed responses.

mod endpoints;
mod http;
pub mod num;
mod port;
pub mod types;
mod validators;

pub use http::{ChainCallCounter, HttpChain, HttpChainOptions};
pub use port::{Chain, ChainError, ChainResult, EpochRef};
pub use types::*;
pub use validators::{
    ConsensusPubkey, SigningInfo, Validator, ValidatorChain, ValidatorDescription,
    VALIDATOR_MAX_PAGES, VALIDATOR_PAGE,
};
