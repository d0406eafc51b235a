//! Node health probes (docs/contract-part2.md 4.4 with section 0): the SSRF
//! guard's address rule ([`guard`]) and the probe ([`probe`]).

pub mod guard;
pub mod probe;

pub use guard::{check_address, Refused};
pub use probe::{HealthProber, ProbeFailure, ProbeResult, MAX_BODY_BYTES, PROBE_TIMEOUT};
