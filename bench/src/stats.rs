//! Percentiles of latency samples, from an HDR histogram (`hdrhistogram`,
//! 3 significant digits: a figure is within 0.1 % of the time it stands for).
//!
//! Nearest-rank percentiles: the reported p99 is (to that precision) a time
//! some request really took, never an interpolation between two of them,
//! and with fewer than 100 samples it is the slowest one (which is what a
//! reader should assume anyway). The sample count is always reported next
//! to the figure.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Significant digits the histogram keeps.
const PRECISION: u8 = 3;

/// Latency samples summarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub count: usize,
    pub min: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Summary {
    /// `None` for no samples: a figure that was not measured must not read
    /// as zero. `min` and `max` are exact; a percentile is the histogram's
    /// (kept within them, so a p99 of fewer than 100 samples is the max).
    pub fn of(samples: &[Duration]) -> Option<Summary> {
        let min = samples.iter().min().copied()?;
        let max = samples.iter().max().copied()?;
        let nanos = |d: &Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let mut hist = Histogram::<u64>::new(PRECISION).ok()?;
        for d in samples {
            // Auto-resizing: only a value past u64 could fail.
            hist.record(nanos(d)).ok()?;
        }
        let at = |q: f64| Duration::from_nanos(hist.value_at_quantile(q)).clamp(min, max);
        Some(Summary {
            count: samples.len(),
            min,
            p50: at(0.50),
            p99: at(0.99),
            max,
        })
    }
}

// The formats below are this report's own (no crate writes exactly these
// units and precisions), so they stay hand-written.

/// Milliseconds with a precision that suits the magnitude (0.42, 8.3, 153).
pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// A ratio such as `37x` or `1.12x`.
pub fn ratio(r: f64) -> String {
    if !r.is_finite() {
        "n/a".into()
    } else if r >= 100.0 {
        format!("{r:.0}x")
    } else if r >= 10.0 {
        format!("{r:.1}x")
    } else {
        format!("{r:.2}x")
    }
}

/// Bytes as B / KiB / MiB.
pub fn bytes(b: u64) -> String {
    let b = b as f64;
    if b < 1024.0 {
        format!("{b:.0} B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{:.2} MiB", b / (1024.0 * 1024.0))
    }
}

/// `12,345`: counts in tables are read, not parsed.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within the histogram's precision (0.1 %) of `want`.
    fn close(got: Duration, want: Duration) -> bool {
        got >= want && got.as_secs_f64() <= want.as_secs_f64() * 1.001
    }

    #[test]
    fn nearest_rank_percentiles() {
        let ms = |v: u64| Duration::from_millis(v);
        let of = |v: &[u64]| Summary::of(&v.iter().copied().map(ms).collect::<Vec<_>>()).unwrap();
        let hundred: Vec<u64> = (1..=100).collect();
        let s = of(&hundred);
        assert!(close(s.p50, ms(50)), "{s:?}");
        assert!(close(s.p99, ms(99)), "{s:?}");
        assert_eq!((s.min, s.max), (ms(1), ms(100)));
        // Fewer than 100 samples: p99 is the slowest.
        let ten: Vec<u64> = (1..=10).collect();
        assert_eq!(of(&ten).p99, ms(10));
        assert!(close(of(&ten).p50, ms(5)));
        // An even count takes the lower middle, a real sample.
        assert!(close(of(&[1, 2, 3, 4]).p50, ms(2)));
        assert_eq!(of(&[7]).p99, ms(7));
        assert_eq!(of(&[7]).p50, ms(7));
    }

    #[test]
    fn summary_sorts_its_samples() {
        let ms = |v: u64| Duration::from_millis(v);
        let samples: Vec<Duration> = (1..=200).rev().map(ms).collect();
        let s = Summary::of(&samples).unwrap();
        assert_eq!(s.count, 200);
        assert_eq!((s.min, s.max), (ms(1), ms(200)));
        assert!(close(s.p50, ms(100)), "{s:?}");
        assert!(close(s.p99, ms(198)), "{s:?}");
        assert_eq!(Summary::of(&[]), None);
        let micros = Summary::of(&[Duration::from_micros(420)]).unwrap();
        assert_eq!(micros.p50, Duration::from_micros(420));
    }

    #[test]
    fn formats() {
        assert_eq!(ms(Duration::from_micros(420)), "0.42 ms");
        assert_eq!(ms(Duration::from_micros(8_345)), "8.3 ms");
        assert_eq!(ms(Duration::from_millis(153)), "153 ms");
        assert_eq!(ms(Duration::from_millis(65_432)), "65.4 s");
        assert_eq!(ratio(1.123), "1.12x");
        assert_eq!(ratio(37.46), "37.5x");
        assert_eq!(ratio(3001.0), "3001x");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(2048), "2.0 KiB");
        assert_eq!(bytes(3 * 1024 * 1024), "3.00 MiB");
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(3001), "3,001");
        assert_eq!(count(1_234_567), "1,234,567");
    }
}
