//! Retry: whether a failed attempt is tried again, and after how long.

use std::time::Duration;

use crate::model::NodeError;
use crate::model::StepPolicy;

/// The delay before attempt `attempt + 1`, or `None` when the failure is final: the error
/// is permanent (only transient errors, such as `Timeout` and `ResourceUnavailable`, are
/// retried) or the step's retry budget is spent.
///
/// # Examples
///
/// ```ignore
/// let policy = StepPolicy::DEFAULT.retries(1);
/// assert!(next_delay(&policy, &NodeError::transient("busy"), 1).is_some());
/// assert!(next_delay(&policy, &NodeError::transient("busy"), 2).is_none());
/// assert!(next_delay(&policy, &NodeError::permanent("bad"), 1).is_none());
/// ```
pub(crate) fn next_delay(policy: &StepPolicy, error: &NodeError, attempt: u32) -> Option<Duration> {
    (error.is_transient() && attempt <= policy.retries).then(|| policy.backoff.delay(attempt))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Backoff;

    #[test]
    fn only_transient_errors_within_the_budget_are_retried() {
        let policy = StepPolicy::DEFAULT
            .retries(2)
            .backoff(Backoff::fixed(Duration::from_millis(10)).no_jitter());
        let busy = NodeError::transient("busy");
        assert_eq!(
            next_delay(&policy, &busy, 1),
            Some(Duration::from_millis(10))
        );
        assert_eq!(
            next_delay(&policy, &busy, 2),
            Some(Duration::from_millis(10))
        );
        assert_eq!(next_delay(&policy, &busy, 3), None);
        assert_eq!(
            next_delay(&policy, &NodeError::permanent("bad input"), 1),
            None
        );
    }
}
