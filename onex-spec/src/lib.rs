//! Workflows as data: a [`WorkflowSpec`] (JSON or YAML) whose thunks call nodes of a
//! [`NodeRegistry`], validated as a whole before anything runs, then run by the same
//! [`Runtime`](onex_runtime::Runtime) — every execution mode, every failure strategy, the same
//! [`WorkflowReport`](onex_runtime::WorkflowReport) — as a workflow written with `workflow!`.
//!
//! - **Nodes** register once, by `target_node_type`: [`NodeRegistry::compute`],
//!   [`compute_infallible`](NodeRegistry::compute_infallible),
//!   [`reducer`](NodeRegistry::reducer), [`effect`](NodeRegistry::effect),
//!   [`effect_ref`](NodeRegistry::effect_ref) and
//!   [`effect_compensated`](NodeRegistry::effect_compensated). Inputs and outputs are serde
//!   types; between thunks they travel as `serde_json::Value`s.
//! - **A thunk's input** is its `operation_data` (when not null) followed by its
//!   dependencies' outputs, in order; one argument is passed as itself, several as an array
//!   (a tuple in Rust). See [`SpecThunk`].
//! - **Conditions** are data: a JSON pointer into an earlier thunk's output, an operator and
//!   a value ([`Condition`]); a false condition skips its step's thunks and what depends on
//!   them.
//! - **Loading validates everything first** and reports every mistake at once, each with
//!   its path in the document ([`SpecErrors`]): the spec's shape, unknown node types (with
//!   a "did you mean"), duplicate ids, dangling references, cycles (with their path),
//!   `operation_data` that does not fit the node's input type, bad settings.
//! - **The graph** has one step per thunk, named by its `thunk_id`; the spec's steps group
//!   thunks and carry their condition. [`DynamicWorkflow::plan`] gives the thunks without
//!   running anything, and [`WorkflowSpec::from_plan`] turns a static workflow's plan into
//!   a spec.
//!
//! ```
//! use onex::dynamic::NodeRegistry;
//! use onex::{Context, NodeError};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Batch { rows: Vec<f64> }
//!
//! fn validate(b: &Batch) -> Result<Vec<f64>, NodeError> {
//!     Ok(b.rows.iter().copied().filter(|r| r.is_finite()).collect())
//! }
//! fn total(acc: &mut f64, row: &f64) { *acc += row; }
//! async fn save(_ctx: Context, total: f64) -> Result<String, NodeError> {
//!     Ok(format!("saved {total}"))
//! }
//!
//! let mut registry = NodeRegistry::new();
//! registry
//!     .compute("NodeDataValidator", validate)
//!     .reducer("NodeAggregator", total)
//!     .effect("NodeDatabaseWriter", save);
//!
//! let wf = registry.load_yaml(r#"
//! workflow_id: etl
//! execution_mode: parallel
//! steps:
//!   - step_id: load
//!     thunks:
//!       - { thunk_id: valid, target_node_type: NodeDataValidator, operation_data: { rows: [1.0, 2.5] } }
//!       - { thunk_id: total, target_node_type: NodeAggregator, dependencies: [valid] }
//!   - step_id: store
//!     condition: { thunk: total, pointer: "", op: gt, value: 0 }
//!     thunks:
//!       - { thunk_id: saved, target_node_type: NodeDatabaseWriter, dependencies: [total] }
//! output: total
//! "#).unwrap();
//! assert_eq!(wf.graph().wave_count(), 3);
//! ```

mod condition;
mod error;
mod from_plan;
mod json;
mod linked;
mod load;
mod parse;
mod program;
mod read;
mod registry;
mod spec;
mod validate;

pub use condition::{CompareOp, Condition};
pub use error::{SpecError, SpecErrorKind, SpecErrors};
pub use program::{DynamicWorkflow, SpecProgram, SpecSlots};
pub use registry::{BorrowingEffect, NodeRegistry};
pub use spec::{SpecMode, SpecStep, SpecThunk, WorkflowSpec};
