//! Shared core of the Gonka tracker backend: identifiers, domain rules, the
//! chain client, the DynamoDB cache table, configuration and logging. The
//! Lambda crates under `functions/` only wire these together.

pub mod aws;
pub mod bootstrap;
pub mod chain;
pub mod config;
pub mod domain;
pub mod hash;
pub mod ids;
pub mod logging;
pub mod service;
pub mod table;
pub mod time;
pub mod web;

pub use config::Config;
pub use ids::ParticipantId;
