//! Percentiles of latency samples.
//!
//! Nearest-rank percentiles: the reported p99 is a time some request really
//! took, never an interpolation between two of them, and with fewer than
//! 100 samples it is the slowest one (which is what a reader should assume
//! anyway). The sample count is always reported next to the figure.

use std::time::Duration;

/// The `p`-th percentile (0 < p <= 100) of ascending `sorted` samples, by
/// nearest rank: the smallest sample with at least p % of the samples at or
/// below it. `None` for no samples.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, n) - 1])
}

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
    /// as zero.
    pub fn of(samples: &[Duration]) -> Option<Summary> {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        Some(Summary {
            count: sorted.len(),
            min: *sorted.first()?,
            p50: percentile(&sorted, 50.0)?,
            p99: percentile(&sorted, 99.0)?,
            max: *sorted.last()?,
        })
    }
}

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

/// Bytes as B / KB / MB (powers of 1024).
pub fn bytes(b: u64) -> String {
    let b = b as f64;
    if b < 1024.0 {
        format!("{b:.0} B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1} KB", b / 1024.0)
    } else {
        format!("{:.2} MB", b / (1024.0 * 1024.0))
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

    #[test]
    fn nearest_rank_percentiles() {
        let hundred: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 50.0), Some(50));
        assert_eq!(percentile(&hundred, 99.0), Some(99));
        assert_eq!(percentile(&hundred, 100.0), Some(100));
        assert_eq!(percentile(&hundred, 0.1), Some(1));
        // Fewer than 100 samples: p99 is the slowest one.
        let ten: Vec<u32> = (1..=10).collect();
        assert_eq!(percentile(&ten, 99.0), Some(10));
        assert_eq!(percentile(&ten, 50.0), Some(5));
        // An even count takes the lower middle, a real sample.
        assert_eq!(percentile(&[1, 2, 3, 4], 50.0), Some(2));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile::<u32>(&[], 50.0), None);
    }

    #[test]
    fn summary_sorts_its_samples() {
        let ms = |v: u64| Duration::from_millis(v);
        let samples: Vec<Duration> = (1..=200).rev().map(ms).collect();
        let s = Summary::of(&samples).unwrap();
        assert_eq!(s.count, 200);
        assert_eq!((s.min, s.max), (ms(1), ms(200)));
        assert_eq!(s.p50, ms(100));
        assert_eq!(s.p99, ms(198));
        assert_eq!(Summary::of(&[]), None);
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
        assert_eq!(bytes(2048), "2.0 KB");
        assert_eq!(bytes(3 * 1024 * 1024), "3.00 MB");
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(3001), "3,001");
        assert_eq!(count(1_234_567), "1,234,567");
    }
}
