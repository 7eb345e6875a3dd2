//! Latency percentiles from an HDR histogram (`hdrhistogram`): values recorded in
//! microseconds with three significant digits, so a percentile is exact to 0.1%.

use hdrhistogram::Histogram;

/// A latency histogram, milliseconds in, milliseconds out.
pub struct Latencies {
    h: Option<Histogram<u64>>,
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Latencies {
    pub fn new() -> Latencies {
        // 1 µs to one hour.
        Latencies { h: Histogram::new_with_bounds(1, 3_600_000_000, 3).ok() }
    }

    pub fn of(values: &[f64]) -> Latencies {
        let mut l = Latencies::new();
        for v in values {
            l.record_ms(*v);
        }
        l
    }

    pub fn record_ms(&mut self, ms: f64) {
        if let Some(h) = self.h.as_mut() {
            let us = (ms * 1000.0).round();
            h.saturating_record(if us.is_finite() && us >= 1.0 { us as u64 } else { 1 });
        }
    }

    /// The value at percentile `p` (0 to 100), in ms; 0 when empty.
    pub fn percentile(&self, p: f64) -> f64 {
        match self.h.as_ref() {
            Some(h) if !h.is_empty() => h.value_at_quantile((p / 100.0).clamp(0.0, 1.0)) as f64 / 1000.0,
            _ => 0.0,
        }
    }

    pub fn max(&self) -> f64 {
        self.h.as_ref().map_or(0.0, |h| h.max() as f64 / 1000.0)
    }
}

/// Percentile `p` of values in ms, through the histogram.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    Latencies::of(values).percentile(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_within_the_histogram_precision() {
        let values: Vec<f64> = (1..=1000).map(|i| i as f64 / 10.0).collect();
        let p50 = percentile(&values, 50.0);
        assert!((p50 - 50.0).abs() <= 0.05 + 1e-9, "{p50}");
        let p99 = percentile(&values, 99.0);
        assert!((p99 - 99.0).abs() <= 0.1, "{p99}");
        assert_eq!(percentile(&[], 50.0), 0.0);
        assert!((Latencies::of(&values).max() - 100.0).abs() <= 0.1);
    }
}
