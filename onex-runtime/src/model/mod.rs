//! The data of workflows and runs: the graph and each step's policy, what a run is asked
//! to do (options, modes), what it emits (thunks, events) and what it reports (states,
//! records, errors). Plain values, serde where they leave the process; no behaviour
//! beyond reading them.

mod backoff;
mod batch;
mod delivery;
mod durable_error;
mod error;
mod event;
mod graph;
mod kind;
mod latency;
mod mode;
mod options;
mod record_list;
mod report;
pub(crate) mod serde_duration;
pub(crate) mod start_hook;
mod states;
mod step_policy;
mod thunk;
mod thunk_ids;

pub use backoff::{Backoff, BackoffKind};
pub use batch::{BatchFailure, BatchOutcome, BatchReport};
pub use delivery::Delivery;
pub use durable_error::DurableError;
pub use error::{ErrorCode, GraphError, NodeError, WorkflowError};
pub use event::{ObserverSet, RunEvent, RunObserver};
pub use graph::{Graph, StepSpec};
pub use kind::NodeKind;
pub use latency::LatencyHistogram;
pub(crate) use latency::sample_mask;
pub use mode::{ExecutionMode, FailureStrategy};
pub use options::RunOptions;
pub(crate) use record_list::BuildRecords;
pub use record_list::RecordList;
pub use report::{
    AttemptRecord, CompensationRecord, SkipReason, StepRecord, StragglerOutcome, WorkflowReport,
    WorkflowRun,
};
pub(crate) use start_hook::StartHook;
pub use states::{StepState, WorkflowState};
pub use step_policy::StepPolicy;
pub use thunk::{Thunk, ThunkType};
pub use thunk_ids::ThunkIds;
