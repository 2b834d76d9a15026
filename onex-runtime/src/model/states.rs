//! The life-cycle states of runs and steps.

use serde::{Deserialize, Serialize};

/// The state of a run (ONEX `EnumWorkflowState`).
///
/// # Examples
///
/// ```
/// use onex::WorkflowState;
/// assert!(WorkflowState::PartialSuccess.has_output());
/// assert!(!WorkflowState::Failed.has_output());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowState {
    /// Not started yet (waiting for a slot on the runtime).
    Pending,
    /// Running.
    Running,
    /// Every step that was not skipped by a condition completed.
    Completed,
    /// Some steps failed, but the output step completed (`ContinueOnError`).
    PartialSuccess,
    /// The output was not produced.
    Failed,
    /// The run was cancelled or its deadline passed.
    Cancelled,
}

impl WorkflowState {
    /// Whether a run in this state produced its output.
    pub fn has_output(self) -> bool {
        matches!(
            self,
            WorkflowState::Completed | WorkflowState::PartialSuccess
        )
    }
}

/// The state of one step of a run.
///
/// # Examples
///
/// ```
/// use onex::StepState;
/// assert!(StepState::Skipped.is_final());
/// assert!(!StepState::Running.is_final());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepState {
    /// Not reached yet.
    #[default]
    Pending,
    /// Called, not finished.
    Running,
    /// Produced its output.
    Completed,
    /// Failed after its retries.
    Failed,
    /// Not run: its condition was false, or an input it needs was not produced.
    Skipped,
    /// Stopped, or never started, because the run was cancelled or stopped early.
    Cancelled,
}

impl StepState {
    /// Whether the step is done (completed, failed, skipped or cancelled).
    pub fn is_final(self) -> bool {
        !matches!(self, StepState::Pending | StepState::Running)
    }
}
