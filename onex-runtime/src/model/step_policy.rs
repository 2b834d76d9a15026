//! [`StepPolicy`]: the policies of one step, as `#[node]` and `#[step]` set them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Backoff;

/// A step's execution policy: retries, backoff, timeout, priority and caching.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use onex::StepPolicy;
/// let p = StepPolicy::DEFAULT.retries(2).timeout(Duration::from_secs(10));
/// assert_eq!(p.retries, 2);
/// assert!(!p.is_plain());
/// assert!(StepPolicy::DEFAULT.is_plain());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StepPolicy {
    /// How many times a transient failure is retried (0: never).
    pub retries: u32,
    /// The delay between attempts.
    pub backoff: Backoff,
    /// The deadline of one attempt; a timed-out attempt fails with `ErrorCode::Timeout`
    /// (transient, so it is retried within the budget). An async step is cancelled at its
    /// deadline (its future is dropped). A synchronous step runs on the rayon pool and fails
    /// at the deadline, but a running function cannot be stopped: it finishes in the
    /// background and its late result is discarded.
    #[serde(rename = "timeout_ms", with = "crate::model::serde_duration::opt_ms")]
    pub timeout: Option<Duration>,
    /// Dispatch priority within a wave: lower runs first.
    pub priority: i32,
    /// Whether outputs are cached (compute steps): looked up by a hash of the inputs and
    /// answered only for inputs equal to the cached call's.
    pub cache: bool,
}

impl StepPolicy {
    /// No retries, no timeout, priority 0, no cache.
    pub const DEFAULT: StepPolicy = StepPolicy {
        retries: 0,
        backoff: Backoff::exponential(Duration::from_millis(100)),
        timeout: None,
        priority: 0,
        cache: false,
    };

    /// The same policy with a retry budget.
    pub const fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The same policy with a backoff.
    pub const fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The same policy with a per-attempt deadline (see the [policy docs](crate::policy#timeouts)
    /// for what a timeout does to a synchronous and to an asynchronous attempt).
    pub const fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The same policy with a priority.
    pub const fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// The same policy with caching on.
    pub const fn cache(mut self, cache: bool) -> Self {
        self.cache = cache;
        self
    }

    /// Whether the policy asks for nothing beyond one plain call (the executors' fast path).
    pub const fn is_plain(&self) -> bool {
        self.retries == 0 && self.timeout.is_none() && !self.cache
    }
}

impl Default for StepPolicy {
    fn default() -> Self {
        StepPolicy::DEFAULT
    }
}
