//! What a run measured ([`Results`]) and how it ran ([`Settings`]), as
//! the report states them.

use std::time::Duration;

use super::markdown::n_label;
use crate::fig1_switch::SwitchRow;
use crate::fig2_epoch_stats::EpochStatsRow;
use crate::fig3_warm::WarmRow;
use crate::fig4_modal::ModalRow;
use crate::fig5_cold::{ColdRow, RssRow, SizeRow};
use crate::fig6_scheduled::ScheduledRow;
use crate::fig7_views::Views;
use crate::fig8_bill::BillRow;
use crate::fig9_history::{BackfillRow, HistoryRow};
use crate::floors::Floors;

/// The run's settings, as stated in the report.
#[derive(Debug, Clone)]
pub struct Settings {
    pub latency: Duration,
    pub sizes: Vec<usize>,
    pub quick: bool,
    pub instances: usize,
    pub warmer_concurrency: u64,
    pub chain_concurrency: String,
    pub target_n: usize,
    pub old_sample: usize,
    pub current_epoch: Option<u64>,
    /// Runs of each scheduled job per size (figure 6).
    pub scheduled_reps: usize,
    /// Requests per route in figure 7.
    pub views_reps: usize,
    /// Page views of each kind in figure 8.
    pub bill_views: usize,
}

/// CPU other processes used during one stage of the run.
#[derive(Debug, Clone)]
pub struct LoadRow {
    pub stage: String,
    pub secs: f64,
    /// On average, in cores.
    pub cores: f64,
}

/// Everything measured in one run.
#[derive(Debug, Default)]
pub struct Results {
    pub switch: Vec<SwitchRow>,
    pub epoch_stats: Option<EpochStatsRow>,
    pub floors: Option<Floors>,
    pub warm: Vec<WarmRow>,
    pub modal: Vec<ModalRow>,
    pub cold: Vec<ColdRow>,
    pub cold_n: Option<usize>,
    pub scheduled: Vec<ScheduledRow>,
    pub views: Option<Views>,
    /// Figure 8, per size.
    pub bill: Vec<BillRow>,
    /// Figure 9: a full history's latency per size, the backfill's cost.
    pub history: Vec<HistoryRow>,
    pub backfill: Option<BackfillRow>,
    pub sizes: Vec<SizeRow>,
    /// Per size, each function's peak RSS at the end of its run.
    pub rss: Vec<(usize, Vec<RssRow>)>,
    pub load: Vec<LoadRow>,
    /// Stages that failed (the rest of the run went on).
    pub errors: Vec<String>,
}

impl Results {
    /// What the load sampler saw during a figure, as a sentence.
    pub(super) fn load_during(&self, n: usize, figure: &str) -> String {
        let stage = format!("N = {}, {figure}", n_label(n));
        match self.load.iter().find(|l| l.stage == stage) {
            Some(l) if l.cores >= 0.1 => format!(
                " Other processes on the machine used {:.2} of its cores on average during this figure, \
                 which the figure shares.",
                l.cores
            ),
            Some(l) => format!(
                " The machine was otherwise quiet during this figure (other processes: {:.2} cores).",
                l.cores
            ),
            None => String::new(),
        }
    }
}
