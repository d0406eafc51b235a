//! Shared core of the Gonka tracker backend: identifiers, domain rules, the
//! chain client, the DynamoDB cache table, configuration and logging. The
//! Lambda crates under `functions/` only wire these together.
//!
//! Layers, each using only those below it: the functions' own modules
//! (`epoch_stats`, `schedule`: routes or jobs, state, bootstrap) and
//! `routes` (the stateless functions' routes) over `http` (shared HTTP plumbing) and `warm` (the warm hop)
//! over `service` (request logic on a `Core`) over `table` and `chain`
//! (adapters behind ports) over `domain` and `ids` (pure rules).

pub mod aws;
pub mod bootstrap;
pub mod chain;
pub mod config;
pub mod domain;
pub mod epoch_stats;
pub mod hash;
pub mod health;
pub mod http;
pub mod ids;
pub mod keybase;
pub mod logging;
pub mod memory;
pub mod retry;
pub mod routes;
pub mod schedule;
pub mod service;
pub mod table;
pub mod time;
pub mod warm;

pub use config::Config;
pub use ids::ParticipantId;
