//! EventBridge schedules: each `Type: Schedule` event of the template
//! invokes its function asynchronously (as `run_event` runs an `Event`
//! invocation: queued, with the template's retries) once at start-up and
//! then at its rate, or every `SCHEDULE_EVERY_SECS` when that is set. A run
//! does not wait for the previous one, as EventBridge does not.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use tokio::task::JoinHandle;

use crate::ids;
use crate::invoke_api::run_event;
use crate::output;
use crate::processes::Shutdown;
use crate::runtime_api::FunctionRuntime;
use crate::template::{Schedule, ACCOUNT_ID, REGION};

/// When the schedules run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// Each at its template rate.
    TemplateRates,
    /// All at this period.
    Every(Duration),
    /// None: the jobs run only when invoked through the Invoke API.
    Off,
}

impl Cadence {
    /// From `SCHEDULE_EVERY_SECS`: unset, the template's rates; 0, off.
    pub fn from_secs(secs: Option<u64>) -> Cadence {
        match secs {
            None => Cadence::TemplateRates,
            Some(0) => Cadence::Off,
            Some(s) => Cadence::Every(Duration::from_secs(s)),
        }
    }

    fn period(self, schedule: &Schedule) -> Option<Duration> {
        match self {
            Cadence::TemplateRates => Some(schedule.every),
            Cadence::Every(d) => Some(d),
            Cadence::Off => None,
        }
    }
}

/// What a run receives: the schedule's `Input`, else EventBridge's
/// "Scheduled Event".
pub fn payload(function: &str, schedule: &Schedule, time_rfc3339: &str) -> Bytes {
    match &schedule.input {
        Some(input) => Bytes::from(input.clone()),
        None => Bytes::from(
            serde_json::json!({
                "version": "0",
                "id": ids::uuid(),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": ACCOUNT_ID,
                "time": time_rfc3339,
                "region": REGION,
                "resources": [format!(
                    "arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{function}-{}",
                    schedule.name
                )],
                "detail": {}
            })
            .to_string(),
        ),
    }
}

/// Starts a ticker per schedule of each function; they stop on `shutdown`.
pub fn start(
    runtimes: &[Arc<FunctionRuntime>],
    cadence: Cadence,
    shutdown: &Shutdown,
) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    for runtime in runtimes {
        for schedule in &runtime.def.schedules {
            let Some(period) = cadence.period(schedule) else {
                continue;
            };
            output::info(&format!(
                "schedule {}.{}: every {} s{}",
                runtime.name(),
                schedule.name,
                period.as_secs(),
                schedule
                    .input
                    .as_deref()
                    .map_or(String::new(), |i| format!(", input {i}"))
            ));
            let (runtime, schedule, shutdown) =
                (runtime.clone(), schedule.clone(), shutdown.clone());
            tasks.push(tokio::spawn(async move {
                let mut ticks = tokio::time::interval(period);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = ticks.tick() => {}
                        _ = shutdown.wait() => return,
                    }
                    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                    let body = payload(runtime.name(), &schedule, &now);
                    tokio::spawn(run_event(runtime.clone(), ids::uuid(), body));
                }
            }));
        }
    }
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(input: Option<&str>) -> Schedule {
        Schedule {
            name: "Tick".into(),
            every: Duration::from_secs(60),
            input: input.map(str::to_owned),
        }
    }

    #[test]
    fn a_run_gets_the_input_or_eventbridges_event() {
        let with = payload("scheduler", &schedule(Some(r#"{"job":"x"}"#)), "t");
        assert_eq!(&with[..], br#"{"job":"x"}"#);
        let without: serde_json::Value = serde_json::from_slice(&payload(
            "scheduler",
            &schedule(None),
            "2026-01-01T00:00:00Z",
        ))
        .unwrap();
        assert_eq!(without["detail-type"], "Scheduled Event");
        assert_eq!(without["source"], "aws.events");
        assert_eq!(without["time"], "2026-01-01T00:00:00Z");
    }

    #[test]
    fn the_cadence_follows_schedule_every_secs() {
        let s = schedule(None);
        assert_eq!(
            Cadence::from_secs(None).period(&s),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            Cadence::from_secs(Some(5)).period(&s),
            Some(Duration::from_secs(5))
        );
        assert_eq!(Cadence::from_secs(Some(0)).period(&s), None);
    }
}
