//! What one delivery of a thunk ends in: a result that settles the thunk, or the message
//! handed back to be delivered again after the backoff delay.

use std::time::Duration;

use onex_runtime::{Backoff, NodeError};
use serde_json::Value;

/// The end of one delivery.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    /// Write this result and ack: the thunk is done.
    Settle(Result<Value, NodeError>),
    /// Nak with this delay: another delivery (on any worker) tries again.
    Retry(Duration),
}

/// The rule of local steps, counted in deliveries: a transient error is tried again while
/// the thunk's retry budget lasts (`attempt <= retries`), after the backoff's delay for
/// that attempt; anything else settles. The consumer's last delivery always settles, so a
/// thunk ends in a result instead of being dropped by the server.
pub(crate) fn verdict(
    outcome: Result<Value, NodeError>,
    attempt: u32,
    retries: u32,
    max_deliver: u32,
    backoff: &Backoff,
) -> Verdict {
    match outcome {
        Err(error) if error.is_transient() && attempt <= retries && attempt < max_deliver => {
            Verdict::Retry(backoff.delay(attempt))
        }
        outcome => Verdict::Settle(outcome),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MS10: Duration = Duration::from_millis(10);

    fn doubling() -> Backoff {
        Backoff::exponential(MS10).no_jitter()
    }

    #[test]
    fn transient_errors_retry_within_the_budget_with_the_backoff_delay() {
        let busy = || Err(NodeError::transient("busy"));
        assert_eq!(verdict(busy(), 1, 2, 10, &doubling()), Verdict::Retry(MS10));
        assert_eq!(
            verdict(busy(), 2, 2, 10, &doubling()),
            Verdict::Retry(MS10 * 2)
        );
        assert_eq!(
            verdict(busy(), 3, 2, 10, &doubling()),
            Verdict::Settle(busy())
        );
    }

    #[test]
    fn successes_and_permanent_errors_settle_at_once() {
        assert_eq!(
            verdict(Ok(json!(1)), 1, 5, 10, &doubling()),
            Verdict::Settle(Ok(json!(1)))
        );
        let bad = Err(NodeError::permanent("bad"));
        assert_eq!(
            verdict(bad.clone(), 1, 5, 10, &doubling()),
            Verdict::Settle(bad)
        );
    }

    #[test]
    fn the_last_delivery_settles_whatever_the_budget() {
        let busy = Err(NodeError::transient("busy"));
        assert_eq!(
            verdict(busy.clone(), 3, 9, 3, &doubling()),
            Verdict::Settle(busy)
        );
    }
}
