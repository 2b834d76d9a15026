//! Execution policies, each a small piece the executors compose around a call:
//! backoff and retries, timeouts, panic containment, circuit breakers and caching.

mod backoff;
pub(crate) mod cache;
pub(crate) mod circuit;
pub(crate) mod panic;

pub use backoff::{Backoff, BackoffKind};
pub use circuit::{CircuitBreaker, CircuitState};
