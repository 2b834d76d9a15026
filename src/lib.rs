//! # onex
//!
//! Compile-time checked data-processing workflows, after the ONEX four-node architecture.
//! Write plain functions, mark each with its kind — `#[node(compute)]`, `#[node(effect)]`,
//! `#[node(reducer)]` — and wire them with `workflow!`. A cycle, an unknown step or an edge
//! whose types do not fit is a compile error on your line; the runtime runs the DAG
//! sequentially, in bounded parallel waves, or in rayon batches, and records every call as
//! a serializable thunk.
//!
//! ```
//! use onex::prelude::*;
//!
//! #[node(compute)]
//! fn parse(line: &String) -> Result<u64, NodeError> {
//!     line.trim()
//!         .parse()
//!         .map_err(|e| NodeError::permanent(format!("`{line}`: {e}")).with_code(ErrorCode::InvalidInput))
//! }
//!
//! #[node(compute)]
//! fn double(n: &u64) -> u64 {
//!     n * 2
//! }
//!
//! #[node(effect, retries = 2, backoff = exponential(10ms))]
//! async fn store(ctx: &Context, n: &u64) -> Result<String, NodeError> {
//!     Ok(format!("stored {n} for run {}", ctx.workflow_id()))
//! }
//!
//! workflow! {
//!     /// Parse a number, double it, store it.
//!     pub workflow Doubler(line: String) -> u64 {
//!         stored = store(doubled);
//!         doubled = double(n);
//!         n = parse(line);
//!         return doubled;
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), WorkflowError> {
//! let rt = Runtime::default();
//! let run = Doubler::run(&rt, " 21 ".to_string(), RunOptions::new()).await?;
//! assert_eq!(run.output, 42);
//! assert_eq!(run.report.thunks_emitted.len(), 3);
//! assert_eq!(Doubler::graph().wave_count(), 3);
//! // A node's type, in thunks and the report, is its fn name in UpperCamelCase.
//! assert_eq!(run.report.step("doubled").unwrap().node_type, "Double");
//!
//! let err = Doubler::run(&rt, "x".to_string(), RunOptions::new()).await.unwrap_err();
//! assert_eq!(err.code(), ErrorCode::InvalidInput);
//! assert_eq!(err.failed_step(), Some("n"));
//! # Ok(()) }
//! ```
//!
//! A node's type (`target_node_type` in thunks, `node_type` in the report, the key of a
//! circuit breaker) is its function's name in UpperCamelCase — `fetch_rows` runs as
//! `FetchRows` — unless `#[node(.., name = "NodeRowFetcherEffect")]` names it.
//!
//! A node may also return `Result<T, String>` (or use `?` on one): a bare message is a
//! permanent error.
//!
//! ```
//! use onex::prelude::*;
//!
//! #[node(compute)]
//! fn cents(text: &String) -> Result<u64, String> {
//!     text.parse().map_err(|e| format!("`{text}` is not a number of cents: {e}"))
//! }
//!
//! workflow! {
//!     /// Reads a price.
//!     pub workflow Price(text: String) -> u64 {
//!         cents = cents(text);
//!         return cents;
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let err = Price::run(&Runtime::default(), "12.5".into(), RunOptions::new()).await.unwrap_err();
//! assert_eq!(err.code(), ErrorCode::OperationFailed);
//! assert!(err.to_string().contains("`12.5` is not a number of cents"), "{err}");
//! # }
//! ```
//!
//! A `#[durable]` workflow's runs can be journaled and resumed after a crash. The compiler
//! checks what that needs: every input and step output is `Serialize + DeserializeOwned`,
//! and every effect says what a second call does — `idempotent`, `at_most_once`, or a
//! `compensate` (see [`workflow!`] and [`node`]):
//!
//! ```
//! use onex::prelude::*;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Clone, Serialize, Deserialize)]
//! pub struct Order { id: u64, cents: u64 }
//!
//! #[node(effect, idempotent)]
//! async fn charge(order: &Order) -> Result<u64, NodeError> {
//!     Ok(order.cents)
//! }
//!
//! #[node(effect, at_most_once)]
//! fn receipt(order: &Order, cents: &u64) -> String {
//!     format!("order {} paid {cents}", order.id)
//! }
//!
//! workflow! {
//!     /// Charge an order once, then send its receipt.
//!     #[durable]
//!     pub workflow Checkout(order: Order) -> String {
//!         paid = charge(order);
//!         sent = receipt(order, paid);
//!         return sent;
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), WorkflowError> {
//! let run = Checkout::run(&Runtime::default(), Order { id: 7, cents: 250 }, RunOptions::new()).await?;
//! assert_eq!(run.output, "order 7 paid 250");
//! # Ok(()) }
//! ```
//!
//! An effect that says nothing, in a durable workflow, is a compile error on its step:
//!
//! ```compile_fail,E0080
//! use onex::prelude::*;
//!
//! #[node(effect)]
//! async fn charge(cents: &u64) -> Result<u64, NodeError> {
//!     Ok(*cents)
//! }
//!
//! workflow! {
//!     #[durable]
//!     pub workflow Checkout(cents: u64) -> u64 {
//!         paid = charge(cents); // step `paid` of durable workflow `Checkout` calls effect `charge`, ...
//!         return paid;
//!     }
//! }
//! # fn main() {}
//! ```
//!
//! See `README.md` for a tour, and `examples/` for the ONEX tutorial's scenarios.
//!
//! # Features
//!
//! - `progress` (default): [`ProgressObserver`], a terminal progress bar driven by run events.
//! - `cli`: `onex::cli`, a command line (validate, plan, run, graph) for workflow specs over a
//!   registry of your nodes, and `runs` for the durable runs in a SQLite journal (enables
//!   `sqlite`).
//! - `sqlite`: `onex::sqlite`, the embedded SQLite journal for durable runs.
//! - `nats`: `onex::nats`, workers and remote steps over NATS JetStream.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "cli")]
pub mod cli;
/// Workers and remote steps over NATS JetStream (feature `nats`): the `onex-nats` crate.
#[cfg(feature = "nats")]
pub use onex_nats as nats;

/// The embedded SQLite journal for durable runs (feature `sqlite`).
#[cfg(feature = "sqlite")]
pub use onex_sqlite as sqlite;

pub use onex_macros::{node, workflow};
#[cfg(feature = "progress")]
pub use onex_progress::{ProgressObserver, indicatif};
pub use onex_runtime::*;
/// Workflows as data: specs over a registry of serde nodes (the `onex-spec` crate).
pub use onex_spec as dynamic;
pub use onex_spec::{
    DynamicWorkflow, NodeRegistry, SpecError, SpecErrors, SpecProgram, WorkflowSpec,
};

/// The names most workflows use: `use onex::prelude::*;`.
pub mod prelude {
    #[cfg(feature = "progress")]
    pub use crate::ProgressObserver;
    pub use crate::policy::{CircuitBreaker, CircuitState};
    pub use crate::{
        BatchOutcome, BatchReport, Context, ErrorCode, ExecutionMode, FailureStrategy, NodeError,
        RunEvent, RunObserver, RunOptions, Runtime, StepRecord, StepState, Thunk, ThunkType,
        WorkflowError, WorkflowReport, WorkflowRun, WorkflowState, node, workflow,
    };
}

/// Items the macros expand to. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use onex_runtime;
    pub use onex_runtime::__private::*;
}

/// Every Rust snippet of `README.md`, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
