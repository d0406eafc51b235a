//! HTTP plumbing every API function shares; each function's routes are in
//! [`crate::routes`].

mod lambda_size;
mod negotiate;
mod params;
mod reply;
pub(crate) mod route;
mod serve;

pub use lambda_size::{lambda_payload_len, MAX_LAMBDA_PAYLOAD_BYTES};
pub use negotiate::respond;
pub use params::{
    parse_epoch_id, parse_height, parse_participant_id, query_param, required_epoch_id, MAX_EPOCH,
    MAX_HEIGHT,
};
pub use reply::{Media, Payload, Reply};
pub use route::ApiRoute;
pub use serve::serve;
