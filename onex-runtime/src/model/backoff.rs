//! Backoff: how long to wait before the next attempt of a failed call.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The delay between attempts of a retried call.
///
/// With `jitter` on (the default), each delay is drawn uniformly from `[d/2, d]` where `d` is
/// the nominal delay, so runs that fail together do not retry in lock-step.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use onex::Backoff;
///
/// let b = Backoff::exponential(Duration::from_millis(100)).max(Duration::from_secs(1)).no_jitter();
/// assert_eq!(b.nominal(1), Duration::from_millis(100));
/// assert_eq!(b.nominal(3), Duration::from_millis(400));
/// assert_eq!(b.nominal(10), Duration::from_secs(1)); // capped
/// assert_eq!(b.delay(3), Duration::from_millis(400)); // no jitter: exactly nominal
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Backoff {
    /// Fixed or exponential growth.
    pub kind: BackoffKind,
    /// The first delay (and every delay for fixed backoff).
    #[serde(rename = "base_ms", with = "crate::model::serde_duration::ms")]
    pub base: Duration,
    /// The largest delay.
    #[serde(rename = "max_ms", with = "crate::model::serde_duration::ms")]
    pub max: Duration,
    /// Whether delays are randomized within `[d/2, d]`.
    pub jitter: bool,
}

/// How backoff delays grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackoffKind {
    /// The same delay every time.
    Fixed,
    /// The delay doubles after each attempt, up to the cap.
    Exponential,
}

impl Backoff {
    /// The cap of exponential backoff unless set with [`max`](Self::max).
    pub const DEFAULT_MAX: Duration = Duration::from_secs(5);

    /// The same delay before every retry, with jitter.
    pub const fn fixed(delay: Duration) -> Self {
        Backoff {
            kind: BackoffKind::Fixed,
            base: delay,
            max: delay,
            jitter: true,
        }
    }

    /// A delay starting at `base` and doubling each retry, capped at 5 s, with jitter.
    pub const fn exponential(base: Duration) -> Self {
        Backoff {
            kind: BackoffKind::Exponential,
            base,
            max: Self::DEFAULT_MAX,
            jitter: true,
        }
    }

    /// The same backoff capped at `max`.
    pub const fn max(mut self, max: Duration) -> Self {
        self.max = max;
        self
    }

    /// The same backoff without jitter: every delay is the nominal one.
    pub const fn no_jitter(mut self) -> Self {
        self.jitter = false;
        self
    }

    /// The nominal delay after failed attempt number `attempt` (1-based), before jitter.
    pub fn nominal(&self, attempt: u32) -> Duration {
        match self.kind {
            BackoffKind::Fixed => self.base,
            BackoffKind::Exponential => {
                let factor = 1u32
                    .checked_shl(attempt.saturating_sub(1))
                    .unwrap_or(u32::MAX);
                self.base.saturating_mul(factor).min(self.max)
            }
        }
    }

    /// The delay to wait after failed attempt number `attempt`, jitter applied.
    pub fn delay(&self, attempt: u32) -> Duration {
        let nominal = self.nominal(attempt);
        if !self.jitter {
            return nominal;
        }
        let half = nominal / 2;
        half + (nominal - half).mul_f64(fastrand::f64())
    }
}

impl Default for Backoff {
    /// `exponential(100ms)`, capped at 5 s, with jitter.
    fn default() -> Self {
        Backoff::exponential(Duration::from_millis(100))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jittered_delays_stay_within_half_to_full_nominal() {
        let b = Backoff::exponential(Duration::from_millis(10)).max(Duration::from_millis(60));
        for attempt in 1..8 {
            let nominal = b.nominal(attempt);
            for _ in 0..200 {
                let d = b.delay(attempt);
                assert!(d >= nominal / 2 && d <= nominal, "{d:?} vs {nominal:?}");
            }
        }
        assert_eq!(b.nominal(7), Duration::from_millis(60));
    }

    #[test]
    fn huge_attempt_numbers_saturate_at_the_cap() {
        let b = Backoff::exponential(Duration::from_secs(1));
        assert_eq!(b.nominal(u32::MAX), Backoff::DEFAULT_MAX);
    }
}
