//! The Gonka chain: the port ([`Chain`]), its HTTP adapter ([`HttpChain`])
//! and typed responses; the inference list has its own narrow port
//! ([`InferenceChain`]).

mod convert;
mod endpoints;
mod fake;
mod http;
mod inferences;
mod network;
pub mod network_types;
pub mod num;
mod port;
pub mod types;
mod validators;

pub use fake::{FakeAnswers, FakeChain};
pub use http::{ChainCallCounter, HttpChain, HttpChainOptions};
pub use inferences::{
    CurrentEpochMembers, InferenceChain, InferenceEntry, InferencePage, INFERENCE_PAGE_LIMIT,
};
pub use network::NetworkChain;
pub use network_types::*;
pub use port::{Chain, ChainError, ChainResult, EpochRef};
pub use types::*;
pub use validators::{
    ConsensusPubkey, SigningInfo, Validator, ValidatorChain, ValidatorDescription,
    VALIDATOR_MAX_PAGES, VALIDATOR_PAGE,
};
