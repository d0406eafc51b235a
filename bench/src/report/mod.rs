//! The tables, the targets and BENCHMARKS.md.
//!
//! Everything printed is derived from [`Results`]; nothing here measures.
//! A target that cannot be evaluated (its size was not run) says so rather
//! than passing silently.
//!
//! - [`results`]: what was measured and the run's settings;
//! - [`machine`]: the machine it ran on;
//! - [`markdown`]: tables and shared labels;
//! - [`switch`], [`warm`], [`cold`], [`scheduled`], [`history`], [`machine_load`]: one section per
//!   figure (and the floors and the load);
//! - [`bill`] and [`bill_targets`]: figure 8, the metered units in dollars,
//!   and the cost targets;
//! - [`targets`] and [`explain`]: the targets, met or missed, and why;
//! - [`document`]: the printed tables and BENCHMARKS.md.

mod bill;
mod bill_targets;
mod cold;
mod document;
mod explain;
mod history;
mod machine;
mod machine_load;
mod markdown;
mod results;
mod scheduled;
mod switch;
mod targets;
mod views;
mod warm;

pub use document::{document, tables};
pub use machine::Machine;
pub use markdown::n_label;
pub use results::{LoadRow, Results, Settings};
