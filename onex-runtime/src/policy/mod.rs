//! Execution policies, each a small piece the executors compose around a call.
//!
//! From the outside in, one call goes through: the circuit breaker of its node type
//! (`circuit`; an open circuit settles the call without making it), the cache (`cache`; a
//! hit, whose inputs equal the call's, settles it too), then attempts until one succeeds or `retry` says stop, each
//! attempt bounded by its deadline (`timeout`) and with panics contained (`panic`);
//! between attempts the [`Backoff`] delay. `exec/call.rs` does the composing.

mod backoff;
pub(crate) mod cache;
pub(crate) mod circuit;
pub(crate) mod panic;
pub(crate) mod retry;
pub(crate) mod timeout;

pub use backoff::{Backoff, BackoffKind};
pub use cache::{CacheEntry, CacheKey, CachePolicy, CacheWeight, KeyHasher};
// The checks `#[node(compute, cache)]` emits. Here rather than in `__private` so that their
// error names them without that path (rustc prints a public item by its name alone).
#[doc(hidden)]
pub use cache::key::{
    CachedInput, CachedOutput, Cloneable, HashEqClone, NoAnswer, NotCloneable, NotHashEqClone,
};
pub use circuit::{CircuitBreaker, CircuitState};
