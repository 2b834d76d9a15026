//! [`LatencyHistogram`]: how long a lean batch's inputs took, from a sample of them.

use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;

/// The longest time the histogram tells apart: an input that ran longer counts as this.
const HIGHEST: Duration = Duration::from_secs(3_600);

/// Significant digits kept per value: a quantile is within 1% of the time measured.
const DIGITS: u8 = 2;

/// How many inputs of a batch a histogram aims to time: enough for a p99, and few enough
/// that the clock reads cost nothing next to the inputs' own work.
pub(crate) const SAMPLES: usize = 1_024;

/// The run times of a sample of a batch's inputs (from the first step's call to the last
/// step's end, completed or failed), as a high-dynamic-range histogram: quantiles to two
/// significant digits from nanoseconds to an hour.
///
/// A lean batch times about one input in `len / 1,024` (every input of a batch of up to
/// 1,024, one in 1,024 of a batch of a million), so that timing costs two clock reads per
/// thousand inputs; a batch that ran through `run_batch` times every input.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use onex::LatencyHistogram;
///
/// let mut h = LatencyHistogram::default();
/// assert_eq!(h.quantile(0.5), None);
/// for micros in [10, 20, 30, 40, 1_000] {
///     h.record(Duration::from_micros(micros));
/// }
/// assert_eq!(h.sampled(), 5);
/// let median = h.quantile(0.5).unwrap();
/// assert!(median >= Duration::from_micros(29) && median <= Duration::from_micros(31));
/// assert!(h.max().unwrap() >= Duration::from_millis(1));
/// ```
#[derive(Clone, Default)]
pub struct LatencyHistogram {
    /// Nanoseconds; `None` until the first value (an empty histogram allocates nothing).
    /// Boxed: a report holding it stays small to move.
    counts: Option<Box<Histogram<u64>>>,
}

impl LatencyHistogram {
    /// Counts one input's run time (an hour or more counts as an hour).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use onex::LatencyHistogram;
    /// let mut h = LatencyHistogram::default();
    /// h.record(Duration::from_nanos(250));
    /// assert_eq!(h.sampled(), 1);
    /// ```
    pub fn record(&mut self, took: Duration) {
        let nanos = took.min(HIGHEST).as_nanos() as u64;
        if let Some(counts) = self.counts_mut() {
            counts.saturating_record(nanos);
        }
    }

    /// Adds `other`'s counts to this histogram's.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use onex::LatencyHistogram;
    /// let (mut a, mut b) = (LatencyHistogram::default(), LatencyHistogram::default());
    /// a.record(Duration::from_micros(1));
    /// b.record(Duration::from_micros(2));
    /// a.merge(&b);
    /// assert_eq!(a.sampled(), 2);
    /// ```
    pub fn merge(&mut self, other: &LatencyHistogram) {
        let Some(theirs) = &other.counts else {
            return;
        };
        if let Some(counts) = self.counts_mut() {
            // Both were made with the same bounds, which `add` only needs to cover.
            let _ = counts.add(&**theirs);
        }
    }

    /// How many inputs were timed.
    ///
    /// ```
    /// assert_eq!(onex::LatencyHistogram::default().sampled(), 0);
    /// ```
    pub fn sampled(&self) -> u64 {
        self.counts.as_ref().map_or(0, |c| c.len())
    }

    /// The run time below which a share `q` (0.0 to 1.0) of the timed inputs fall: `0.5`
    /// is the median, `0.99` the 99th percentile. `None` when no input was timed.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use onex::LatencyHistogram;
    /// let mut h = LatencyHistogram::default();
    /// (1..=100).for_each(|ms| h.record(Duration::from_millis(ms)));
    /// let p99 = h.quantile(0.99).unwrap();
    /// assert!(p99 >= Duration::from_millis(98) && p99 <= Duration::from_millis(100));
    /// ```
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let counts = self.counts.as_ref().filter(|c| !c.is_empty())?;
        Some(Duration::from_nanos(
            counts.value_at_quantile(q.clamp(0.0, 1.0)),
        ))
    }

    /// The shortest run time timed.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use onex::LatencyHistogram;
    /// let mut h = LatencyHistogram::default();
    /// h.record(Duration::from_micros(7));
    /// assert!(h.min().unwrap() <= Duration::from_micros(7));
    /// ```
    pub fn min(&self) -> Option<Duration> {
        let counts = self.counts.as_ref().filter(|c| !c.is_empty())?;
        Some(Duration::from_nanos(counts.min()))
    }

    /// The longest run time timed.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use onex::LatencyHistogram;
    /// let mut h = LatencyHistogram::default();
    /// h.record(Duration::from_micros(7));
    /// assert!(h.max().unwrap() >= Duration::from_micros(7));
    /// ```
    pub fn max(&self) -> Option<Duration> {
        let counts = self.counts.as_ref().filter(|c| !c.is_empty())?;
        Some(Duration::from_nanos(counts.max()))
    }

    /// The mean run time of the timed inputs.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use onex::LatencyHistogram;
    /// let mut h = LatencyHistogram::default();
    /// h.record(Duration::from_micros(10));
    /// h.record(Duration::from_micros(30));
    /// let mean = h.mean().unwrap();
    /// assert!(mean >= Duration::from_micros(19) && mean <= Duration::from_micros(21));
    /// ```
    pub fn mean(&self) -> Option<Duration> {
        let counts = self.counts.as_ref().filter(|c| !c.is_empty())?;
        Some(Duration::from_nanos(counts.mean() as u64))
    }

    /// The counts, made on first use.
    fn counts_mut(&mut self) -> Option<&mut Histogram<u64>> {
        if self.counts.is_none() {
            // The bounds are constants that `new_with_bounds` accepts; were it to refuse,
            // the batch would go untimed rather than fail.
            self.counts = Histogram::new_with_bounds(1, HIGHEST.as_nanos() as u64, DIGITS)
                .ok()
                .map(Box::new);
        }
        self.counts.as_deref_mut()
    }
}

impl PartialEq for LatencyHistogram {
    fn eq(&self, other: &Self) -> bool {
        match (&self.counts, &other.counts) {
            (Some(a), Some(b)) => **a == **b,
            (a, b) => {
                a.as_ref().is_none_or(|c| c.is_empty()) && b.as_ref().is_none_or(|c| c.is_empty())
            }
        }
    }
}

impl fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("sampled", &self.sampled())
            .field("p50", &self.quantile(0.5))
            .field("p99", &self.quantile(0.99))
            .field("max", &self.max())
            .finish()
    }
}

/// Which inputs of a batch of `len` are timed: those whose index has none of the mask's
/// bits set, about [`SAMPLES`] of them.
///
/// ```ignore
/// assert_eq!(sample_mask(100), 0); // every input
/// assert_eq!(sample_mask(1_000_000), 1_023); // one in 1,024
/// ```
pub(crate) fn sample_mask(len: usize) -> usize {
    (len / SAMPLES).next_power_of_two() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_times_about_a_thousand_inputs() {
        for len in [0, 1, 100, 1_024, 2_048, 5_000, 1_000_000, 10_000_000] {
            let timed = (0..len).filter(|i| i & sample_mask(len) == 0).count();
            assert!(
                timed == len || (SAMPLES / 2..=SAMPLES * 2).contains(&timed),
                "{len}: {timed}"
            );
        }
    }

    #[test]
    fn an_empty_histogram_equals_a_default_one() {
        let mut h = LatencyHistogram::default();
        h.merge(&LatencyHistogram::default());
        assert_eq!(h, LatencyHistogram::default());
        h.record(Duration::from_micros(5));
        assert_ne!(h, LatencyHistogram::default());
        assert!(format!("{h:?}").contains("sampled: 1"), "{h:?}");
    }

    #[test]
    fn an_hour_or_more_counts_as_an_hour() {
        let mut h = LatencyHistogram::default();
        h.record(Duration::from_secs(10 * 3_600));
        let max = h.max().unwrap();
        assert!(max >= Duration::from_secs(3_500) && max <= Duration::from_secs(3_700));
    }
}
