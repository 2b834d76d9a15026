//! [`DurableError`]: why a durable run could not start or resume.
//!
//! Declared here, beside [`WorkflowError`](super::WorkflowError) which carries it; the
//! journal's error it wraps is only known to `durable/` (which builds it and reads it back,
//! [`DurableError::journal_error`]), since the journal's types depend on this group.

use std::sync::Arc;

use super::ErrorCode;

/// A durable run could not start or resume; nothing of it ran.
///
/// # Examples
///
/// ```
/// use onex::durable::DurableError;
/// use onex::journal::JournalError;
///
/// let err = DurableError::journal("order-42", JournalError::UnknownRun { run_id: "order-42".into() });
/// assert_eq!(err.to_string(), "durable run `order-42`: no run `order-42` in the journal");
/// assert!(matches!(err.journal_error(), Some(JournalError::UnknownRun { .. })));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum DurableError {
    /// The journal refused or failed: another process holds the run (`RunLeased`), the run
    /// is unknown, the store is full, busy or corrupt.
    #[error("durable run `{run_id}`: {error}")]
    Journal {
        /// The run.
        run_id: String,
        /// What the journal said: a `JournalError`, see
        /// [`journal_error`](DurableError::journal_error).
        error: Arc<dyn std::error::Error + Send + Sync>,
        /// `ResourceUnavailable` when trying later may work (a busy store, a live
        /// holder), `Internal` otherwise.
        code: ErrorCode,
    },
    /// The run was journaled with another graph than the workflow's now, and the
    /// options did not allow resuming it on a changed graph
    /// ([`RunOptions::allow_changed_graph`](crate::RunOptions::allow_changed_graph)).
    #[error(
        "durable run `{run_id}` of `{workflow}` was started with another graph; \
         resume it with the graph it was started with, or allow a changed graph \
         (then only steps whose upstream is unchanged keep their outputs). What changed \
         (- journaled, + now):\n{diff}"
    )]
    GraphChanged {
        /// The run.
        run_id: String,
        /// The workflow.
        workflow: String,
        /// One line per step that differs.
        diff: String,
    },
    /// The runtime has no journal ([`RuntimeBuilder::journal`](crate::RuntimeBuilder::journal)).
    #[error(
        "durable run `{run_id}`: the runtime has no journal; build it with `RuntimeBuilder::journal`"
    )]
    NoJournal {
        /// The run asked for.
        run_id: String,
    },
    /// The run's journaled input does not load into the workflow's input type, or the
    /// workflow does not serialize its input (it is not `#[durable]`).
    #[error("durable run `{run_id}`: its input: {detail}")]
    Input {
        /// The run.
        run_id: String,
        /// Why.
        detail: String,
    },
}

impl DurableError {
    /// The error's code: `ResourceUnavailable` for a journal that is busy or held by
    /// another process (trying later may work), `InvalidInput` for a run that does not fit
    /// the workflow, `Internal` otherwise.
    pub fn code(&self) -> ErrorCode {
        match self {
            DurableError::Journal { code, .. } => *code,
            DurableError::GraphChanged { .. }
            | DurableError::Input { .. }
            | DurableError::NoJournal { .. } => ErrorCode::InvalidInput,
        }
    }
}
