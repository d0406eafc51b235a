//! The scheduled function: the jobs that replace the original tracker's
//! background pollers, each run by its own EventBridge schedule in
//! `template.yaml` (its rate there, its input `{"job": "<name>"}`).
//!
//! One schedule per job keeps each job's rate in the template, lets a slow
//! job (the inference scan) never delay a quick one, and gives each run
//! its own deadline. API requests never wait for these jobs: they answer
//! from the table what the jobs stored.

pub mod bootstrap;
mod current;
mod event;
mod jobs;
mod state;

pub use current::{refresh_current_epoch, CurrentEpochReport, WarmTriggered};
pub use event::{handle_scheduled_event, Job, JobError, JobRequestError};
pub use state::SchedulerState;
