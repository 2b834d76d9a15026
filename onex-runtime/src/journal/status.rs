//! [`RunStatus`]: where a run stands in the journal.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::WorkflowState;

/// Where a run stands.
///
/// # Examples
///
/// ```
/// use onex::journal::RunStatus;
///
/// assert!(!RunStatus::InDoubt.is_finished());
/// assert!(RunStatus::Failed.is_finished());
/// assert_eq!("PARTIAL_SUCCESS".parse::<RunStatus>().unwrap(), RunStatus::PartialSuccess);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    /// Being executed, or waiting to be resumed after a crash.
    Running,
    /// Stopped on a call that may or may not have happened, until an operator resolves it.
    InDoubt,
    /// Undoing completed effects after a failure.
    Compensating,
    /// Finished: every step that was not skipped completed.
    Completed,
    /// Finished: some steps failed, the output step completed.
    PartialSuccess,
    /// Finished without an output.
    Failed,
    /// Finished: cancelled.
    Cancelled,
}

impl RunStatus {
    /// Every status, in declaration order.
    pub const ALL: [RunStatus; 7] = [
        RunStatus::Running,
        RunStatus::InDoubt,
        RunStatus::Compensating,
        RunStatus::Completed,
        RunStatus::PartialSuccess,
        RunStatus::Failed,
        RunStatus::Cancelled,
    ];

    /// Whether the run is over (and can be pruned).
    pub const fn is_finished(self) -> bool {
        matches!(
            self,
            RunStatus::Completed
                | RunStatus::PartialSuccess
                | RunStatus::Failed
                | RunStatus::Cancelled
        )
    }

    /// The status as stored and printed, e.g. `"IN_DOUBT"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::InDoubt => "IN_DOUBT",
            RunStatus::Compensating => "COMPENSATING",
            RunStatus::Completed => "COMPLETED",
            RunStatus::PartialSuccess => "PARTIAL_SUCCESS",
            RunStatus::Failed => "FAILED",
            RunStatus::Cancelled => "CANCELLED",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`RunStatus`].
///
/// # Examples
///
/// ```
/// use onex::journal::RunStatus;
///
/// let err = "DONE".parse::<RunStatus>().unwrap_err();
/// assert_eq!(err.to_string(), "`DONE` is not a run status (RUNNING, IN_DOUBT, COMPENSATING, COMPLETED, PARTIAL_SUCCESS, FAILED, CANCELLED)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a run status (RUNNING, IN_DOUBT, COMPENSATING, COMPLETED, PARTIAL_SUCCESS, FAILED, CANCELLED)"
)]
pub struct UnknownStatus(pub String);

impl FromStr for RunStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RunStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

impl From<WorkflowState> for RunStatus {
    /// The journal status of a run in this state (`Pending` runs are journaled as
    /// `Running`: they were started).
    fn from(state: WorkflowState) -> Self {
        match state {
            WorkflowState::Pending | WorkflowState::Running => RunStatus::Running,
            WorkflowState::Completed => RunStatus::Completed,
            WorkflowState::PartialSuccess => RunStatus::PartialSuccess,
            WorkflowState::Failed => RunStatus::Failed,
            WorkflowState::Cancelled => RunStatus::Cancelled,
        }
    }
}
