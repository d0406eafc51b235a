//! A participant's history as a small SVG line chart, to embed with an
//! `<img>` tag: no script, no external reference, a `<title>` naming the
//! participant and the metric, the values as one polyline (oldest epoch at
//! the left), the first and last epoch labelled. Only numbers and the
//! validated participant id reach the markup, and both are escaped.

use std::fmt::Write;

use crate::domain::history::HistoryEntry;
use crate::service::ApiError;

const WIDTH: f64 = 480.0;
const HEIGHT: f64 = 160.0;
const PAD_X: f64 = 40.0;
const PAD_TOP: f64 = 24.0;
const PAD_BOTTOM: f64 = 24.0;

/// What the chart draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Weight,
    InferenceCount,
    MissedRate,
    AssignedRewardGnk,
}

impl Metric {
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        match raw.unwrap_or("weight") {
            "weight" => Ok(Metric::Weight),
            "inference_count" => Ok(Metric::InferenceCount),
            "missed_rate" => Ok(Metric::MissedRate),
            "assigned_reward_gnk" => Ok(Metric::AssignedRewardGnk),
            other => Err(ApiError::BadRequest(format!(
                "metric must be weight, inference_count, missed_rate or assigned_reward_gnk, not {:?}",
                other.chars().take(40).collect::<String>()
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Metric::Weight => "weight",
            Metric::InferenceCount => "inference_count",
            Metric::MissedRate => "missed_rate",
            Metric::AssignedRewardGnk => "assigned_reward_gnk",
        }
    }

    /// The entry's value; `None` where it is not known (no reward summary).
    pub fn value(self, e: &HistoryEntry) -> Option<f64> {
        match self {
            Metric::Weight => Some(e.weight as f64),
            Metric::InferenceCount => e.current_epoch_stats.inference_count.trim().parse().ok(),
            Metric::MissedRate => Some(e.missed_rate),
            Metric::AssignedRewardGnk => e.assigned_reward_gnk.map(|g| g as f64),
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

/// The chart of `entries` (newest first, as a page holds them).
pub fn history_svg(
    participant: &str,
    metric: Metric,
    entries: &[HistoryEntry],
) -> Result<Vec<u8>, ApiError> {
    let points: Vec<(u64, f64)> = entries
        .iter()
        .rev()
        .filter_map(|e| Some((e.epoch_id, metric.value(e)?)).filter(|(_, v)| v.is_finite()))
        .collect();
    let title = format!("{} {} by epoch", escape(participant), metric.name());
    let mut svg = String::with_capacity(2048 + points.len() * 24);
    let err = |_| ApiError::Internal("writing SVG".into());
    write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{title}\">\
         <title>{title}</title>\
         <rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\
         <text x=\"{PAD_X}\" y=\"16\" font-family=\"sans-serif\" font-size=\"11\" fill=\"#333333\">{title}</text>"
    )
    .map_err(err)?;
    if points.is_empty() {
        write!(
            svg,
            "<text x=\"{}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"12\" fill=\"#888888\" \
             text-anchor=\"middle\">no data</text>",
            WIDTH / 2.0,
            HEIGHT / 2.0
        )
        .map_err(err)?;
    } else {
        let (lo, hi) = points
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, v)| {
                (lo.min(*v), hi.max(*v))
            });
        let span = if hi > lo { hi - lo } else { 1.0 };
        let plot_w = WIDTH - 2.0 * PAD_X;
        let plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM;
        let x = |i: usize| {
            if points.len() == 1 {
                PAD_X + plot_w / 2.0
            } else {
                PAD_X + plot_w * i as f64 / (points.len() - 1) as f64
            }
        };
        let y = |v: f64| PAD_TOP + plot_h * (1.0 - (v - lo) / span);
        svg.push_str("<polyline fill=\"none\" stroke=\"#2a6fdb\" stroke-width=\"1.5\" points=\"");
        for (i, (_, v)) in points.iter().enumerate() {
            write!(svg, "{:.1},{:.1} ", x(i), y(*v)).map_err(err)?;
        }
        svg.push_str("\"/>");
        let base = HEIGHT - 8.0;
        let (first, last) = (points[0], points[points.len() - 1]);
        write!(
            svg,
            "<text x=\"{PAD_X}\" y=\"{base}\" font-family=\"sans-serif\" font-size=\"10\" fill=\"#555555\">epoch {}</text>\
             <text x=\"{}\" y=\"{base}\" font-family=\"sans-serif\" font-size=\"10\" fill=\"#555555\" text-anchor=\"end\">epoch {}</text>\
             <text x=\"4\" y=\"{}\" font-family=\"sans-serif\" font-size=\"9\" fill=\"#555555\">{}</text>\
             <text x=\"4\" y=\"{}\" font-family=\"sans-serif\" font-size=\"9\" fill=\"#555555\">{}</text>",
            first.0,
            WIDTH - PAD_X,
            last.0,
            PAD_TOP + 3.0,
            number(hi),
            HEIGHT - PAD_BOTTOM,
            number(lo),
        )
        .map_err(err)?;
    }
    svg.push_str("</svg>");
    Ok(svg.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sources::Tallies;

    fn entry(epoch: u64, weight: i64) -> HistoryEntry {
        HistoryEntry {
            epoch_id: epoch,
            height: epoch * 10,
            weight,
            models: vec![],
            current_epoch_stats: Tallies::default(),
            missed_rate: 0.5,
            invalidation_rate: 0.0,
            assigned_reward_gnk: None,
            claimed: None,
            is_jailed: None,
        }
    }

    #[test]
    fn metrics_parse_or_are_400() {
        assert_eq!(Metric::parse(None).unwrap(), Metric::Weight);
        assert_eq!(
            Metric::parse(Some("missed_rate")).unwrap(),
            Metric::MissedRate
        );
        assert!(matches!(
            Metric::parse(Some("<script>")),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn the_chart_labels_its_ends_and_stays_small() {
        let entries: Vec<HistoryEntry> = (1..=500).rev().map(|e| entry(e, e as i64 * 3)).collect();
        let svg =
            String::from_utf8(history_svg("gonka1abc", Metric::Weight, &entries).unwrap()).unwrap();
        assert!(svg.len() < 16 * 1024, "{} bytes", svg.len());
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("<title>gonka1abc weight by epoch</title>"));
        assert!(
            svg.contains(">epoch 1<") && svg.contains(">epoch 500<"),
            "oldest left, newest right"
        );
        assert!(!svg.contains("<script") && !svg.contains("href"));
        assert_eq!(svg.matches(',').count(), 500, "one point per epoch");
        // No reward summaries: nothing to draw, still a chart.
        let none =
            String::from_utf8(history_svg("p", Metric::AssignedRewardGnk, &entries).unwrap())
                .unwrap();
        assert!(none.contains("no data") && !none.contains("polyline"));
        assert!(
            String::from_utf8(history_svg("a<b", Metric::Weight, &[]).unwrap())
                .unwrap()
                .contains("a&lt;b")
        );
    }
}
