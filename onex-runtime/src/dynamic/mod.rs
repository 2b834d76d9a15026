//! Workflows as data: a [`WorkflowSpec`] (JSON or YAML) whose thunks call nodes of a
//! [`NodeRegistry`], validated as a whole before anything runs, then run by the same
//! [`Runtime`](crate::Runtime) — every execution mode, every failure strategy, the same
//! [`WorkflowReport`](crate::WorkflowReport) — as a workflow written with `workflow!`.
//!
//! ```
//! use onex_runtime::dynamic::NodeRegistry;
//! use onex_runtime::{Context, NodeError};
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
mod parse;
mod program;
mod registry;
mod spec;
mod suggest;
mod validate;

pub use condition::{CompareOp, Condition};
pub use error::{SpecError, SpecErrorKind, SpecErrors};
pub use program::{DynamicWorkflow, SpecProgram};
pub use registry::{BorrowingEffect, NodeRegistry};
pub use spec::{SpecMode, SpecStep, SpecThunk, WorkflowSpec};
