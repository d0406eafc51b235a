//! The warm hop: epoch-stats triggers ([`trigger`]) and the warmer runs
//! ([`run`]) over one contract ([`request::WarmRequest`]), one run per
//! epoch at a time under the epoch's warm lease ([`lease`]).

pub mod lease;
pub mod request;
pub mod run;
pub mod total;
pub mod trigger;

pub use lease::{run_under_lease, LeaseReport, Leased};
pub use request::{WarmRequest, WarmRequestError, MAX_PAYLOAD_PARTICIPANTS};
pub use run::{handle_warm_event, warm_epoch, WarmReport};
pub use trigger::{
    warms, InvokeError, LambdaInvoker, RecordingInvoker, WarmOutcome, WarmTrigger, WarmerInvoker,
    WARMED_EPOCHS_BEFORE_CURRENT,
};
