//! # onex
//!
//! Compile-time checked data-processing workflows, after the ONEX four-node architecture.
//! Write plain functions, mark each with its kind — `#[node(compute)]`, `#[node(effect)]`,
//! `#[node(reducer)]` — and wire them with `workflow!`. A cycle, an unknown step or an edge
//! whose types do not fit is a compile error on your line; the runtime runs the DAG
//! sequentially, in bounded parallel waves, or in rayon batches, and records every call as
//! a serializable thunk.

#[cfg(feature = "cli")]
pub mod cli;

pub use onex_macros::{node, workflow};
pub use onex_runtime::*;

/// The names most workflows use: `use onex::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Context, ErrorCode, ExecutionMode, FailureStrategy, NodeError, RunOptions, Runtime,
        StepState, Thunk, ThunkType, WorkflowError, WorkflowReport, WorkflowRun, WorkflowState,
        node, workflow,
    };
}

/// Items the macros expand to. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use onex_runtime;
    pub use onex_runtime::__private::*;
}
