//! Execution policies, each a small piece the executors compose around a call:
//! backoff and retries, timeouts, panic containment, circuit breakers and caching.

mod backoff;

pub use backoff::{Backoff, BackoffKind};
