//! Circuit breakers: after repeated failures of a node type, stop calling it for a while.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::model::{ErrorCode, NodeError};

/// A circuit breaker policy: open after `failure_threshold` consecutive failures, stay open
/// for `cool_down`, then let one probe call through (half-open); a successful probe closes
/// the circuit, a failed one opens it again.
///
/// Breakers live on the [`Runtime`](crate::Runtime), keyed by node type, shared by every
/// run. While open, a call fails at once with [`ErrorCode::CircuitOpen`] and the node is not
/// called.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use onex::prelude::*;
///
/// #[node(effect, name = "NodePaymentService")]
/// async fn charge_card(cents: &u64) -> Result<u64, NodeError> {
///     Ok(*cents)
/// }
///
/// // Keyed by the node; `.circuit_breaker("NodePaymentService", ..)` names its type instead.
/// let rt = Runtime::builder()
///     .circuit_breaker_for::<charge_card>(CircuitBreaker::new(3, Duration::from_secs(30)))
///     .build();
/// assert_eq!(rt.circuit_state("NodePaymentService"), Some(CircuitState::Closed { failures: 0 }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitBreaker {
    /// Consecutive failures that open the circuit (0 is treated as 1).
    pub failure_threshold: u32,
    /// How long the circuit stays open before a probe is let through.
    pub cool_down: Duration,
}

impl CircuitBreaker {
    /// A policy opening after `failure_threshold` consecutive failures for `cool_down`.
    pub const fn new(failure_threshold: u32, cool_down: Duration) -> Self {
        CircuitBreaker {
            failure_threshold,
            cool_down,
        }
    }
}

/// The state of one circuit, as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls go through; `failures` consecutive failures so far.
    Closed {
        /// Consecutive failures so far.
        failures: u32,
    },
    /// Calls are rejected until the cool-down ends.
    Open,
    /// One probe call is allowed through.
    HalfOpen,
}

#[derive(Debug)]
enum Inner {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// One node type's circuit.
#[derive(Debug)]
pub(crate) struct Circuit {
    policy: CircuitBreaker,
    state: Mutex<Inner>,
}

impl Circuit {
    pub(crate) fn new(policy: CircuitBreaker) -> Self {
        Circuit {
            policy,
            state: Mutex::new(Inner::Closed { failures: 0 }),
        }
    }

    /// Whether a call may go through now. A half-open circuit admits one probe at a time.
    pub(crate) fn admit(&self, node_type: &str) -> Result<(), NodeError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match *state {
            Inner::Closed { .. } => Ok(()),
            Inner::Open { until } if Instant::now() >= until => {
                *state = Inner::HalfOpen { probing: true };
                Ok(())
            }
            Inner::HalfOpen { probing: false } => {
                *state = Inner::HalfOpen { probing: true };
                Ok(())
            }
            Inner::Open { .. } | Inner::HalfOpen { probing: true } => Err(NodeError::new(
                ErrorCode::CircuitOpen,
                format!("circuit for `{node_type}` is open; the call was not made"),
            )),
        }
    }

    /// Records the outcome of an admitted call.
    pub(crate) fn record(&self, success: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *state = match (&*state, success) {
            (_, true) => Inner::Closed { failures: 0 },
            (Inner::Closed { failures }, false)
                if failures + 1 < self.policy.failure_threshold.max(1) =>
            {
                Inner::Closed {
                    failures: failures + 1,
                }
            }
            (_, false) => Inner::Open {
                until: Instant::now() + self.policy.cool_down,
            },
        };
    }

    /// Gives back an admission whose call was never made (the run stopped first).
    pub(crate) fn release(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Inner::HalfOpen { probing: true } = *state {
            *state = Inner::HalfOpen { probing: false };
        }
    }

    pub(crate) fn state(&self) -> CircuitState {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match *state {
            Inner::Closed { failures } => CircuitState::Closed { failures },
            Inner::Open { until } if Instant::now() >= until => CircuitState::HalfOpen,
            Inner::Open { .. } => CircuitState::Open,
            Inner::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_rejects_half_opens_and_closes() {
        let c = Circuit::new(CircuitBreaker::new(2, Duration::from_secs(10)));
        c.admit("n").unwrap();
        c.record(false);
        assert_eq!(c.state(), CircuitState::Closed { failures: 1 });
        c.admit("n").unwrap();
        c.record(false);
        assert_eq!(c.state(), CircuitState::Open);
        assert_eq!(c.admit("n").unwrap_err().code(), ErrorCode::CircuitOpen);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(c.state(), CircuitState::HalfOpen);
        c.admit("n").unwrap();
        // Only one probe at a time.
        assert_eq!(c.admit("n").unwrap_err().code(), ErrorCode::CircuitOpen);
        c.record(true);
        assert_eq!(c.state(), CircuitState::Closed { failures: 0 });
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_opens_again() {
        let c = Circuit::new(CircuitBreaker::new(1, Duration::from_secs(1)));
        c.record(false);
        tokio::time::advance(Duration::from_secs(1)).await;
        c.admit("n").unwrap();
        c.record(false);
        assert_eq!(c.state(), CircuitState::Open);
    }
}
