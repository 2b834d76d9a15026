//! Execution policies, each a small piece the executors compose around a call.
//!
//! From the outside in, one call goes through: the circuit breaker of its node type
//! (`circuit`; an open circuit settles the call without making it), the cache (`cache`; a
//! hit, whose inputs equal the call's, settles it too), then attempts until one succeeds or `retry` says stop, each
//! attempt bounded by its deadline (`timeout`) and with panics contained (`panic`);
//! between attempts the [`Backoff`] delay. `exec/call.rs` does the composing.
//!
//! # Timeouts
//!
//! A step's `timeout` bounds each attempt, not the step: a retry gets a fresh one.
//!
//! - An **asynchronous** attempt is a future, dropped when its timeout passes: the node
//!   stops at the `.await` it is suspended at, nothing after that `.await` runs, and its
//!   output, never returned, is never stored. (Work it handed to another task, with
//!   `tokio::spawn` say, is not stopped.)
//! - A **synchronous** attempt cannot be stopped. With a timeout it runs on the runtime's
//!   blocking pool ([`RuntimeBuilder::blocking_threads`](crate::RuntimeBuilder::blocking_threads)),
//!   not on the rayon pool compute needs, and when its timeout passes it is *abandoned*: the
//!   attempt fails with `Timeout` (and may be retried), and the call, still running, is a
//!   *straggler*. A straggler never becomes the step's output, even if it returns first.
//!   If it returns an output, that output is handed to the node's `compensate` (under every
//!   failure strategy: it is a side effect nobody asked for; a compensation receives that
//!   attempt's own output, so an idempotent effect whose attempts return the same key
//!   should undo by something more specific than the key) or, for a node without one,
//!   dropped; either way it is recorded in
//!   [`StepRecord::stragglers`](crate::StepRecord::stragglers).
//! - A run waits for its stragglers before it compensates and before it hands back its
//!   output (they still read the values it is stored with): **a call that never returns
//!   keeps such a run from ending**. A run that does neither (it failed, and does not
//!   compensate) ends without them and reports each as stuck
//!   ([`WorkflowReport::stuck_calls`](crate::WorkflowReport::stuck_calls), and a `warn`
//!   trace); an output one returns later is compensated then.
//! - When every thread of the blocking pool is busy, a call waits for one, and its
//!   timeout counts while it waits: one whose timeout passes first fails with `Timeout`
//!   without running.

pub(crate) mod blocking;
pub(crate) mod cache;
pub(crate) mod circuit;
pub(crate) mod panic;
pub(crate) mod retry;
pub(crate) mod timeout;

pub use crate::model::{Backoff, BackoffKind, StepPolicy};
pub use cache::{CacheEntry, CacheKey, CachePolicy, CacheWeight, KeyHasher};
// The checks `#[node(compute, cache)]` emits. Here rather than in `__private` so that their
// error names them without that path (rustc prints a public item by its name alone).
#[doc(hidden)]
pub use cache::key::{
    CachedInput, CachedOutput, Cloneable, HashEqClone, NoAnswer, NotCloneable, NotHashEqClone,
};
pub use circuit::{CircuitBreaker, CircuitState};
pub use panic::{contain, contain_async};
