//! The API Gateway HTTP API front: the routes of template.yaml on one local
//! port, each request turned into a payload v2.0 event for its function and
//! the function's answer turned back into the HTTP response, with the CORS
//! handling API Gateway does itself.
//!
//! The conversions are pure functions ([`routes`], [`event`], [`response`],
//! [`cors`]) so they are tested against what `lambda_http` expects without
//! any process; [`server`] wires them to an HTTP listener.

pub mod cors;
pub mod event;
pub mod response;
pub mod routes;
pub mod server;
