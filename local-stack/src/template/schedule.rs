//! A function's `Type: Schedule` events (EventBridge rules): the rate and
//! the input each run is invoked with.

use std::time::Duration;

use super::resolve::Resolver;
use crate::yaml::Node;

/// One `Type: Schedule` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The event's key in `Events`.
    pub name: String,
    pub every: Duration,
    /// The JSON each run receives (`Input`), else EventBridge's own event.
    pub input: Option<String>,
}

/// `rate(N unit)`; `cron(...)` is not run locally (an error, so a template
/// that relies on one fails loudly rather than never running the job).
pub fn parse_rate(expr: &str) -> Result<Duration, String> {
    let inner = expr
        .trim()
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("schedule {expr:?}: only rate(N unit) runs locally"))?;
    let (n, unit) = inner
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("schedule {expr:?}: expected rate(N unit)"))?;
    let n: u64 = n
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("schedule {expr:?}: N must be a positive whole number"))?;
    // EventBridge wants the singular exactly for 1 and the plural otherwise.
    let secs = match (unit.trim(), n) {
        ("minute", 1) | ("minutes", 2..) => 60,
        ("hour", 1) | ("hours", 2..) => 3_600,
        ("day", 1) | ("days", 2..) => 86_400,
        _ => {
            return Err(format!(
                "schedule {expr:?}: unit must be minute(s), hour(s) or day(s)"
            ))
        }
    };
    Ok(Duration::from_secs(n * secs))
}

/// The event's schedule; `None` when it is disabled (`Enabled: false` or
/// `State: DISABLED`).
pub(super) fn parse_schedule(
    name: &str,
    props: Option<&Node>,
    r: &Resolver<'_>,
) -> Result<Option<Schedule>, String> {
    let get = |key: &str| {
        props
            .and_then(|p| p.get(key))
            .map(|n| r.string(n, key))
            .transpose()
    };
    let disabled = get("Enabled")?.is_some_and(|e| e == "false")
        || get("State")?.is_some_and(|s| s == "DISABLED");
    if disabled {
        return Ok(None);
    }
    let expr = get("Schedule")?.ok_or_else(|| format!("event {name}: Schedule is required"))?;
    let input = get("Input")?;
    if let Some(input) = &input {
        serde_json::from_str::<serde_json::Value>(input)
            .map_err(|e| format!("event {name}: Input is not JSON: {e}"))?;
    }
    Ok(Some(Schedule {
        name: name.to_string(),
        every: parse_rate(&expr).map_err(|e| format!("event {name}: {e}"))?,
        input,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_eventbridge_reads_them() {
        let cases = [
            ("rate(1 minute)", Ok(60)),
            ("rate(5 minutes)", Ok(300)),
            ("rate(2 hours)", Ok(7_200)),
            ("rate(1 day)", Ok(86_400)),
            ("rate(1 minutes)", Err(())),
            ("rate(5 minute)", Err(())),
            ("rate(0 minutes)", Err(())),
            ("rate(10 seconds)", Err(())),
            ("cron(0 12 * * ? *)", Err(())),
            ("rate(x minutes)", Err(())),
        ];
        for (expr, want) in cases {
            let got = parse_rate(expr).map(|d| d.as_secs()).map_err(|_| ());
            assert_eq!(got, want, "{expr}");
        }
    }
}
