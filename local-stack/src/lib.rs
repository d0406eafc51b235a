//! The whole backend on one machine (the `local-stack` binary is
//! `main.rs`, which runs [`startup`]), and [`launcher`], which runs that
//! binary for the end-to-end test and the bench.
//!
//! - [`startup`]: what the binary starts, in order, and stops.
//! - [`banner`]: the ready banner, written by [`startup`] and read by
//!   [`launcher`].
//! - [`template`]: template.yaml as tables, functions, routes and CORS
//!   (on a tag-keeping YAML tree, [`yaml`]).
//! - [`runtime_api`]: the Lambda Runtime API the function processes poll.
//! - [`invoke_api`]: the Lambda Invoke API (`Event` answered 202 at once).
//! - [`apigw`]: the API Gateway HTTP API front (payload v2.0 events).
//! - [`eventbridge`]: the template's `Schedule` events, run as EventBridge would.
//! - [`processes`]: child processes, their output and environment.
//! - [`dynamodb`]: DynamoDB Local and the template's tables in it.
//! - [`meter`]: the functions' table requests and capacity (a proxy in
//!   front of DynamoDB Local) and their invocations' billed duration.
//! - [`options`]: flags and environment variables (on [`cli`]).

pub mod apigw;
pub mod banner;
pub mod cli;
pub mod dynamodb;
pub mod eventbridge;
pub mod ids;
pub mod invoke_api;
pub mod launcher;
pub mod meter;
pub mod options;
pub mod output;
pub mod processes;
pub mod runtime_api;
pub mod startup;
pub mod template;
pub mod yaml;
