//! How a run schedules its steps, and what it does when one fails.

use serde::{Deserialize, Serialize};

/// How the steps of a run are scheduled.
///
/// # Examples
///
/// ```
/// use onex::ExecutionMode;
/// let mode = ExecutionMode::Parallel { max_parallel: 3 };
/// assert_eq!(serde_json::to_string(&mode).unwrap(), r#"{"parallel":{"max_parallel":3}}"#);
/// assert_eq!(ExecutionMode::default(), ExecutionMode::Sequential);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionMode {
    /// One step at a time, in topological order.
    #[default]
    Sequential,
    /// Wave by wave; the steps of a wave run concurrently, at most `max_parallel` at once.
    /// Synchronous steps run on the rayon pool, so CPU-bound work uses several cores.
    Parallel {
        /// The most calls in flight at once (0 is treated as 1).
        max_parallel: usize,
    },
    /// Wave by wave; the calls of a wave are grouped by node type and each group runs as one
    /// rayon job, work stealing balancing the load.
    Batch,
}

impl ExecutionMode {
    /// The mode's name as written in specs: `sequential`, `parallel` or `batch`.
    pub fn name(&self) -> &'static str {
        match self {
            ExecutionMode::Sequential => "sequential",
            ExecutionMode::Parallel { .. } => "parallel",
            ExecutionMode::Batch => "batch",
        }
    }
}

/// What a run does when a step fails (after its retries).
///
/// # Examples
///
/// ```
/// use onex::FailureStrategy;
/// assert_eq!(serde_json::to_string(&FailureStrategy::ContinueOnError).unwrap(), "\"continue_on_error\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureStrategy {
    /// Stop at the first failed step; steps in flight are cancelled.
    #[default]
    FailFast,
    /// Run every step not downstream of a failure; the run is `PartialSuccess` when the
    /// output step still succeeded.
    ContinueOnError,
    /// Stop like `FailFast`, then run the compensations of completed effect steps in
    /// reverse completion order (a saga).
    Compensate,
}
