//! The history pages as CSV (RFC 4180 through the `csv` crate: a header
//! row, one row per epoch, `models` joined with `;`, null as an empty
//! cell). A cell that a spreadsheet would read as a formula (starting with
//! `=`, `+`, `-` or `@`, or a tab or carriage return) is prefixed with `'`.

use crate::domain::history::{HistoryEntry, NetworkEpoch};
use crate::service::ApiError;

/// `cell` as a spreadsheet shows it, never as a formula.
pub fn neutralise(cell: String) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell,
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

const PARTICIPANT_HEADER: [&str; 16] = [
    "epoch_id",
    "height",
    "weight",
    "models",
    "inference_count",
    "missed_requests",
    "earned_coins",
    "rewarded_coins",
    "burned_coins",
    "validated_inferences",
    "invalidated_inferences",
    "missed_rate",
    "invalidation_rate",
    "assigned_reward_gnk",
    "claimed",
    "is_jailed",
];

fn participant_row(e: &HistoryEntry) -> [String; 16] {
    let t = &e.current_epoch_stats;
    [
        e.epoch_id.to_string(),
        e.height.to_string(),
        e.weight.to_string(),
        e.models.join(";"),
        t.inference_count.clone(),
        t.missed_requests.clone(),
        t.earned_coins.clone(),
        t.rewarded_coins.clone(),
        t.burned_coins.clone(),
        t.validated_inferences.clone(),
        t.invalidated_inferences.clone(),
        e.missed_rate.to_string(),
        e.invalidation_rate.to_string(),
        opt(e.assigned_reward_gnk),
        opt(e.claimed),
        opt(e.is_jailed),
    ]
}

const NETWORK_HEADER: [&str; 9] = [
    "epoch_id",
    "height",
    "participants",
    "total_weight",
    "inference_count",
    "missed_requests",
    "validated_inferences",
    "invalidated_inferences",
    "total_assigned_rewards_gnk",
];

fn network_row(r: &NetworkEpoch) -> [String; 9] {
    [
        r.epoch_id.to_string(),
        r.height.to_string(),
        r.participants.to_string(),
        r.total_weight.to_string(),
        r.inference_count.to_string(),
        r.missed_requests.to_string(),
        r.validated_inferences.to_string(),
        r.invalidated_inferences.to_string(),
        opt(r.total_assigned_rewards_gnk),
    ]
}

fn write<const N: usize>(
    header: [&str; N],
    rows: impl Iterator<Item = [String; N]>,
) -> Result<Vec<u8>, ApiError> {
    let err = |e: csv::Error| ApiError::Internal(format!("writing CSV: {e}"));
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    out.write_record(header).map_err(err)?;
    for row in rows {
        out.write_record(row.map(neutralise)).map_err(err)?;
    }
    out.into_inner()
        .map_err(|e| ApiError::Internal(format!("writing CSV: {e}")))
}

pub fn participant_csv(entries: &[HistoryEntry]) -> Result<Vec<u8>, ApiError> {
    write(PARTICIPANT_HEADER, entries.iter().map(participant_row))
}

pub fn network_csv(rows: &[NetworkEpoch]) -> Result<Vec<u8>, ApiError> {
    write(NETWORK_HEADER, rows.iter().map(network_row))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sources::Tallies;

    #[test]
    fn formula_cells_are_neutralised() {
        let cases = [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("Qwen/Qwen3", "Qwen/Qwen3"),
            ("", ""),
            ("12", "12"),
        ];
        for (raw, want) in cases {
            assert_eq!(neutralise(raw.into()), want, "{raw}");
        }
    }

    #[test]
    fn rows_quote_and_join_as_rfc_4180_says() {
        let entry = HistoryEntry {
            epoch_id: 9,
            height: 900,
            weight: 5,
            models: vec!["a,b".into(), "=evil".into()],
            current_epoch_stats: Tallies {
                inference_count: "7".into(),
                ..Default::default()
            },
            missed_rate: 0.25,
            invalidation_rate: 0.0,
            assigned_reward_gnk: None,
            claimed: Some(true),
            is_jailed: Some(false),
        };
        let text = String::from_utf8(participant_csv(&[entry]).unwrap()).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], PARTICIPANT_HEADER.join(","));
        assert_eq!(
            lines[1],
            "9,900,5,\"a,b;=evil\",7,0,0,0,0,0,0,0.25,0,,true,false"
        );
        assert_eq!(lines[2], "", "CRLF after the last row");
        let mut read = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(read.records().count(), 1);
        let evil = HistoryEntry {
            models: vec!["=cmd|' /C calc'!A0".into()],
            ..sample()
        };
        let text = String::from_utf8(participant_csv(&[evil]).unwrap()).unwrap();
        assert!(text.contains(",'=cmd|' /C calc'!A0,"), "{text}");
    }

    fn sample() -> HistoryEntry {
        HistoryEntry {
            epoch_id: 1,
            height: 1,
            weight: 1,
            models: vec![],
            current_epoch_stats: Tallies::default(),
            missed_rate: 0.0,
            invalidation_rate: 0.0,
            assigned_reward_gnk: Some(1),
            claimed: Some(false),
            is_jailed: None,
        }
    }
}
