//! Errors: what a node returns ([`NodeError`]) and what a run returns ([`WorkflowError`]).
//!
//! Over 500 lines with its tests: every error type of a run is here, each with the
//! code, message and `Display` users match on, so that they read as one vocabulary.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::WorkflowReport;

/// The category of a failure, after the ONEX core error codes.
///
/// A code decides the default retry behaviour of [`NodeError::new`]: [`Timeout`](Self::Timeout)
/// and [`ResourceUnavailable`](Self::ResourceUnavailable) are transient (worth retrying),
/// every other code is permanent.
///
/// # Examples
///
/// ```
/// use onex::ErrorCode;
/// assert!(ErrorCode::Timeout.is_transient());
/// assert!(!ErrorCode::InvalidInput.is_transient());
/// assert_eq!(serde_json::to_string(&ErrorCode::CircuitOpen).unwrap(), "\"CIRCUIT_OPEN\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The operation failed; the generic code.
    OperationFailed,
    /// A deadline passed: a step or run timeout.
    Timeout,
    /// A resource (service, connection, file) is unavailable for now.
    ResourceUnavailable,
    /// The input does not fit what the node accepts.
    InvalidInput,
    /// The workflow graph has a cycle.
    CycleDetected,
    /// The run or step was cancelled.
    Cancelled,
    /// A circuit breaker rejected the call without making it.
    CircuitOpen,
    /// The node panicked; the panic was contained.
    Panicked,
    /// A step needed by this one produced no output (failed, skipped or cancelled).
    DependencyFailed,
    /// The workflow definition is invalid (unknown node, bad reference, ...).
    InvalidWorkflow,
    /// A bug in onex itself.
    Internal,
}

impl ErrorCode {
    /// Whether errors with this code are worth retrying by default.
    pub const fn is_transient(self) -> bool {
        matches!(self, ErrorCode::Timeout | ErrorCode::ResourceUnavailable)
    }

    /// The code as written in serialized reports, e.g. `"TIMEOUT"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::OperationFailed => "OPERATION_FAILED",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::ResourceUnavailable => "RESOURCE_UNAVAILABLE",
            ErrorCode::InvalidInput => "INVALID_INPUT",
            ErrorCode::CycleDetected => "CYCLE_DETECTED",
            ErrorCode::Cancelled => "CANCELLED",
            ErrorCode::CircuitOpen => "CIRCUIT_OPEN",
            ErrorCode::Panicked => "PANICKED",
            ErrorCode::DependencyFailed => "DEPENDENCY_FAILED",
            ErrorCode::InvalidWorkflow => "INVALID_WORKFLOW",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error a node returns: a code, a message, and whether retrying may help.
///
/// Transient errors are retried under the step's retry policy; permanent errors fail the
/// step at once.
///
/// # Examples
///
/// ```
/// use onex::{ErrorCode, NodeError};
///
/// let busy = NodeError::transient("database is busy");
/// assert!(busy.is_transient());
/// assert_eq!(busy.code(), ErrorCode::ResourceUnavailable);
///
/// let bad = NodeError::permanent("row 17 has no id").with_code(ErrorCode::InvalidInput);
/// assert!(!bad.is_transient());
/// assert_eq!(bad.to_string(), "INVALID_INPUT: row 17 has no id");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct NodeError {
    code: ErrorCode,
    message: Cow<'static, str>,
    transient: bool,
}

impl NodeError {
    /// An error whose retry behaviour follows its code (see [`ErrorCode::is_transient`]).
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        NodeError {
            code,
            message: message.into(),
            transient: code.is_transient(),
        }
    }

    /// A retryable error, coded [`ErrorCode::ResourceUnavailable`] unless re-coded with
    /// [`with_code`](Self::with_code).
    pub fn transient(message: impl Into<Cow<'static, str>>) -> Self {
        NodeError {
            code: ErrorCode::ResourceUnavailable,
            message: message.into(),
            transient: true,
        }
    }

    /// A non-retryable error, coded [`ErrorCode::OperationFailed`] unless re-coded with
    /// [`with_code`](Self::with_code).
    pub fn permanent(message: impl Into<Cow<'static, str>>) -> Self {
        NodeError {
            code: ErrorCode::OperationFailed,
            message: message.into(),
            transient: false,
        }
    }

    /// A permanent error wrapping any other error's message.
    ///
    /// ```
    /// let e = onex::NodeError::from_error(std::io::Error::other("disk full"));
    /// assert_eq!(e.message(), "disk full");
    /// ```
    pub fn from_error(error: impl std::error::Error) -> Self {
        NodeError::permanent(error.to_string())
    }

    /// The same error with another code; transience is kept.
    pub fn with_code(mut self, code: ErrorCode) -> Self {
        self.code = code;
        self
    }

    /// The error's code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether a retry may succeed.
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    pub(crate) fn timeout(after: std::time::Duration) -> Self {
        NodeError::new(ErrorCode::Timeout, format!("timed out after {after:?}"))
    }

    pub(crate) fn cancelled() -> Self {
        NodeError::new(ErrorCode::Cancelled, "cancelled")
    }

    #[doc(hidden)]
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Self {
        NodeError::new(
            ErrorCode::Internal,
            format!(
                "onex bug: {}; please report it at https://github.com/onex-rs/onex/issues",
                message.into()
            ),
        )
    }
}

impl From<std::io::Error> for NodeError {
    fn from(error: std::io::Error) -> Self {
        use std::io::ErrorKind::*;
        let code = match error.kind() {
            TimedOut => ErrorCode::Timeout,
            ConnectionRefused | ConnectionReset | ConnectionAborted | NotConnected | WouldBlock
            | Interrupted | ResourceBusy => ErrorCode::ResourceUnavailable,
            InvalidInput | InvalidData => ErrorCode::InvalidInput,
            _ => ErrorCode::OperationFailed,
        };
        NodeError::new(code, error.to_string())
    }
}

/// A bare message is a permanent [`OperationFailed`](ErrorCode::OperationFailed) error, so
/// `?` works on a `Result<_, String>` inside a node, and a node may return
/// `Result<T, String>` itself.
///
/// ```
/// use onex::{ErrorCode, NodeError};
///
/// fn parse_cents(text: &str) -> Result<u64, String> {
///     text.parse().map_err(|e| format!("`{text}` is not a number of cents: {e}"))
/// }
///
/// fn price(text: &str) -> Result<u64, NodeError> {
///     Ok(parse_cents(text)? * 2)
/// }
///
/// assert_eq!(price("21"), Ok(42));
/// let e = price("x").unwrap_err();
/// assert!(!e.is_transient());
/// assert_eq!(e.code(), ErrorCode::OperationFailed);
/// assert!(e.message().starts_with("`x` is not a number of cents"));
/// ```
impl From<String> for NodeError {
    fn from(message: String) -> Self {
        NodeError::permanent(message)
    }
}

/// A bare message is a permanent [`OperationFailed`](ErrorCode::OperationFailed) error (see
/// the `String` conversion).
///
/// ```
/// use onex::NodeError;
///
/// fn check(n: u64) -> Result<u64, NodeError> {
///     if n == 0 {
///         return Err("zero is not a valid quantity".into());
///     }
///     Ok(n)
/// }
/// assert_eq!(check(0).unwrap_err().message(), "zero is not a valid quantity");
/// ```
impl From<&str> for NodeError {
    fn from(message: &str) -> Self {
        NodeError::permanent(message.to_owned())
    }
}

impl From<serde_json::Error> for NodeError {
    fn from(error: serde_json::Error) -> Self {
        NodeError::new(ErrorCode::InvalidInput, error.to_string())
    }
}

/// A workflow graph that cannot run: a cycle, or a reference to a step that is not there.
///
/// # Examples
///
/// ```
/// use onex::{GraphError, ErrorCode};
/// let e = GraphError::Cycle { workflow: "etl".into(), steps: vec!["a".into(), "b".into()] };
/// assert_eq!(e.to_string(), "cycle in workflow `etl`: a -> b -> a");
/// assert_eq!(e.code(), ErrorCode::CycleDetected);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// The steps form a cycle; `steps` lists every step on it, each feeding the next.
    #[error("cycle in workflow `{workflow}`: {}", cycle_path(steps))]
    Cycle {
        /// The workflow's name.
        workflow: String,
        /// The steps on the cycle in data-flow order; the last feeds the first.
        steps: Vec<String>,
    },
    /// A step depends on a step that does not exist.
    #[error("step `{step}` of workflow `{workflow}` depends on unknown step `{missing}`")]
    UnknownStep {
        /// The workflow's name.
        workflow: String,
        /// The step that names the missing one.
        step: String,
        /// The name that matches no step.
        missing: String,
    },
    /// Two steps share a name.
    #[error("workflow `{workflow}` has two steps named `{step}`")]
    DuplicateStep {
        /// The workflow's name.
        workflow: String,
        /// The repeated name.
        step: String,
    },
    /// The workflow names no output step, or an unknown one.
    #[error("workflow `{workflow}` has no output step `{step}`")]
    UnknownOutput {
        /// The workflow's name.
        workflow: String,
        /// The name given as the output.
        step: String,
    },
}

impl GraphError {
    /// [`ErrorCode::CycleDetected`] for a cycle, [`ErrorCode::InvalidWorkflow`] otherwise.
    pub fn code(&self) -> ErrorCode {
        match self {
            GraphError::Cycle { .. } => ErrorCode::CycleDetected,
            _ => ErrorCode::InvalidWorkflow,
        }
    }
}

fn cycle_path(steps: &[String]) -> String {
    let mut out = steps.join(" -> ");
    if let Some(first) = steps.first() {
        out.push_str(" -> ");
        out.push_str(first);
    }
    out
}

/// Why a run did not produce its output.
///
/// Every variant that comes from a run carries the run's [`WorkflowReport`], so nothing of
/// what happened is lost.
///
/// # Examples
///
/// ```
/// # use onex::{WorkflowError, ErrorCode, GraphError};
/// let e = WorkflowError::from(GraphError::Cycle { workflow: "w".into(), steps: vec!["a".into()] });
/// assert_eq!(e.code(), ErrorCode::CycleDetected);
/// assert!(e.report().is_none());
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum WorkflowError {
    /// A step failed and the failure strategy ended the run (or the output step failed).
    #[error("workflow `{}` failed: step `{step}` failed: {error}", report.workflow)]
    StepFailed {
        /// The name of the step that failed first.
        step: String,
        /// Its error.
        error: NodeError,
        /// The run's report.
        report: Box<WorkflowReport>,
    },
    /// The output step was skipped (a false condition, or a skipped input).
    #[error("workflow `{}` produced no output: output step `{step}` was skipped", report.workflow)]
    OutputSkipped {
        /// The output step's name.
        step: String,
        /// The run's report.
        report: Box<WorkflowReport>,
    },
    /// The run was cancelled, or its deadline passed.
    #[error("workflow `{}` was cancelled: {error}", report.workflow)]
    Cancelled {
        /// [`ErrorCode::Cancelled`], or [`ErrorCode::Timeout`] for a run deadline.
        error: NodeError,
        /// The run's report.
        report: Box<WorkflowReport>,
    },
    /// The workflow could not start: its graph is invalid.
    #[error(transparent)]
    Invalid(#[from] GraphError),
    /// A durable run could not start or resume: its journal refused or failed (another
    /// process holds the run, the graph changed, the store is unavailable). Boxed, so
    /// that every run's result does not grow by it.
    #[error(transparent)]
    Durable(Box<super::DurableError>),
}

impl From<super::DurableError> for WorkflowError {
    fn from(error: super::DurableError) -> Self {
        WorkflowError::Durable(Box::new(error))
    }
}

// Written out, with the output `#[derive(Debug)]` gives: a derived `fmt` is `#[inline]`, so
// a debug build of every crate that unwraps a run's result (or returns it from `main`)
// compiled the `Debug` of the whole report, some 40 functions, into that crate. This one
// is compiled here, once.
impl fmt::Debug for WorkflowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkflowError::StepFailed {
                step,
                error,
                report,
            } => f
                .debug_struct("StepFailed")
                .field("step", step)
                .field("error", error)
                .field("report", report)
                .finish(),
            WorkflowError::OutputSkipped { step, report } => f
                .debug_struct("OutputSkipped")
                .field("step", step)
                .field("report", report)
                .finish(),
            WorkflowError::Cancelled { error, report } => f
                .debug_struct("Cancelled")
                .field("error", error)
                .field("report", report)
                .finish(),
            WorkflowError::Invalid(e) => f.debug_tuple("Invalid").field(e).finish(),
            WorkflowError::Durable(e) => f.debug_tuple("Durable").field(e).finish(),
        }
    }
}

impl WorkflowError {
    /// The run's report, when the run started.
    pub fn report(&self) -> Option<&WorkflowReport> {
        match self {
            WorkflowError::StepFailed { report, .. }
            | WorkflowError::OutputSkipped { report, .. }
            | WorkflowError::Cancelled { report, .. } => Some(report),
            WorkflowError::Invalid(_) | WorkflowError::Durable(_) => None,
        }
    }

    /// The error of the step that failed, or of the cancellation.
    pub fn node_error(&self) -> Option<&NodeError> {
        match self {
            WorkflowError::StepFailed { error, .. } | WorkflowError::Cancelled { error, .. } => {
                Some(error)
            }
            _ => None,
        }
    }

    /// The name of the step that failed first, when a step failed.
    pub fn failed_step(&self) -> Option<&str> {
        match self {
            WorkflowError::StepFailed { step, .. } => Some(step),
            _ => None,
        }
    }

    /// The error's code.
    pub fn code(&self) -> ErrorCode {
        match self {
            WorkflowError::StepFailed { error, .. } | WorkflowError::Cancelled { error, .. } => {
                error.code()
            }
            WorkflowError::OutputSkipped { .. } => ErrorCode::DependencyFailed,
            WorkflowError::Invalid(e) => e.code(),
            WorkflowError::Durable(e) => e.code(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `WorkflowError`'s written-out `Debug` against what `#[derive(Debug)]` prints for the
    /// same shape.
    #[test]
    fn debug_reads_as_derived() {
        #[derive(Debug)]
        #[allow(dead_code, reason = "only printed")]
        enum Derived {
            StepFailed {
                step: String,
                error: NodeError,
                report: Box<WorkflowReport>,
            },
            OutputSkipped {
                step: String,
                report: Box<WorkflowReport>,
            },
            Cancelled {
                error: NodeError,
                report: Box<WorkflowReport>,
            },
            Invalid(GraphError),
        }
        let report = || Box::new(WorkflowReport::empty("w"));
        let error = || NodeError::permanent("no");
        let cycle = || GraphError::Cycle {
            workflow: "w".into(),
            steps: vec!["a".into()],
        };
        let pairs = [
            (
                WorkflowError::StepFailed {
                    step: "s".into(),
                    error: error(),
                    report: report(),
                },
                Derived::StepFailed {
                    step: "s".into(),
                    error: error(),
                    report: report(),
                },
            ),
            (
                WorkflowError::OutputSkipped {
                    step: "s".into(),
                    report: report(),
                },
                Derived::OutputSkipped {
                    step: "s".into(),
                    report: report(),
                },
            ),
            (
                WorkflowError::Cancelled {
                    error: error(),
                    report: report(),
                },
                Derived::Cancelled {
                    error: error(),
                    report: report(),
                },
            ),
            (WorkflowError::Invalid(cycle()), Derived::Invalid(cycle())),
        ];
        for (ours, derived) in pairs {
            assert_eq!(format!("{ours:?}"), format!("{derived:?}"));
            assert_eq!(format!("{ours:#?}"), format!("{derived:#?}"));
        }
    }
}
