//! Each API function's routes: parameters, the answer, its cache headers.
//! Adding a route is one file here over [`crate::http`] and [`crate::service`].

pub mod history;
pub mod network;
pub mod participant;
pub mod participant_inferences;

pub use network::{handle_network, route_network, NetworkRoute};
pub use participant::{handle_participant, route_participant, ParticipantRoute};
pub use participant_inferences::{
    handle_participant_inferences, route_participant_inferences, InferencesRoute,
};
