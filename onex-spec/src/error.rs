//! [`SpecError`] and [`SpecErrors`]: everything wrong with a spec, each mistake with where it is.

use std::fmt;

use onex_runtime::{ErrorCode, NodeError};

/// The kind of mistake a [`SpecError`] reports, for programs that react to it.
///
/// # Examples
///
/// ```
/// use onex::dynamic::SpecErrorKind;
/// assert_eq!(SpecErrorKind::Cycle.to_string(), "cycle");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SpecErrorKind {
    /// The text is not valid JSON/YAML, or does not fit the spec's shape (a missing field,
    /// an unknown field, an unknown execution mode or failure strategy, a wrong type).
    Parse,
    /// The thunks' dependencies form a cycle.
    Cycle,
    /// A `target_node_type` that the registry does not know.
    UnknownNodeType,
    /// A `thunk_type` that disagrees with the registered node's kind.
    ThunkTypeMismatch,
    /// Two steps or two thunks share an id, or an id is empty.
    DuplicateId,
    /// A dependency, a condition or the output names a thunk that does not exist.
    MissingThunk,
    /// `operation_data` does not deserialize into the node's input type.
    InvalidOperationData,
    /// A condition that can never be evaluated (bad JSON pointer, ordering against a
    /// non-scalar value).
    InvalidCondition,
    /// A setting out of range, such as `max_parallel_steps: 0` or `timeout_ms: 0`.
    InvalidSetting,
    /// The spec names no output thunk.
    MissingOutput,
    /// Something a spec cannot express (converting a plan with a `map` or `when` step).
    Unsupported,
}

impl SpecErrorKind {
    /// A short lowercase name, e.g. `unknown node type`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SpecErrorKind::Parse => "parse",
            SpecErrorKind::Cycle => "cycle",
            SpecErrorKind::UnknownNodeType => "unknown node type",
            SpecErrorKind::ThunkTypeMismatch => "thunk type mismatch",
            SpecErrorKind::DuplicateId => "duplicate id",
            SpecErrorKind::MissingThunk => "missing thunk",
            SpecErrorKind::InvalidOperationData => "invalid operation data",
            SpecErrorKind::InvalidCondition => "invalid condition",
            SpecErrorKind::InvalidSetting => "invalid setting",
            SpecErrorKind::MissingOutput => "missing output",
            SpecErrorKind::Unsupported => "unsupported",
        }
    }
}

impl fmt::Display for SpecErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One mistake in a spec: what is wrong, and where.
///
/// `location` is a path into the spec document, like `steps[2].thunks[0].dependencies[1]`,
/// so it points at the offending value in the JSON or YAML the user wrote (the empty string
/// for the document as a whole).
///
/// # Examples
///
/// ```
/// use onex::dynamic::{SpecError, SpecErrorKind};
/// let e = SpecError::new(SpecErrorKind::InvalidSetting, "max_parallel_steps", "must be at least 1");
/// assert_eq!(e.to_string(), "max_parallel_steps: must be at least 1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SpecError {
    /// The kind of mistake.
    pub kind: SpecErrorKind,
    /// Where it is: a path into the spec document.
    pub location: String,
    /// What is wrong, in words.
    pub message: String,
}

impl SpecError {
    /// A new error.
    pub fn new(
        kind: SpecErrorKind,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        SpecError {
            kind,
            location: location.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.location, self.message)
        }
    }
}

/// Every mistake found in a spec, reported together so the author fixes them in one pass.
///
/// Never empty. `Display` prints a header line and one line per error.
///
/// # Examples
///
/// ```
/// use onex::dynamic::{SpecError, SpecErrorKind, SpecErrors};
/// let errors = SpecErrors::new("etl", vec![
///     SpecError::new(SpecErrorKind::MissingOutput, "output", "missing: name the thunk whose result is the output"),
/// ]);
/// assert_eq!(errors.to_string(),
///     "invalid workflow spec `etl` (1 error):\n  output: missing: name the thunk whose result is the output");
/// assert!(errors.iter().any(|e| e.kind == SpecErrorKind::MissingOutput));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SpecErrors {
    workflow: String,
    errors: Vec<SpecError>,
}

impl SpecErrors {
    /// Errors found in the spec of `workflow`.
    pub fn new(workflow: impl Into<String>, errors: Vec<SpecError>) -> Self {
        SpecErrors {
            workflow: workflow.into(),
            errors,
        }
    }

    /// One error.
    pub fn single(workflow: impl Into<String>, error: SpecError) -> Self {
        SpecErrors::new(workflow, vec![error])
    }

    /// The workflow's id as the spec gave it (empty when the spec could not be parsed).
    pub fn workflow(&self) -> &str {
        &self.workflow
    }

    /// The errors, in document order within each kind of check.
    pub fn errors(&self) -> &[SpecError] {
        &self.errors
    }

    /// Iterates over the errors.
    pub fn iter(&self) -> std::slice::Iter<'_, SpecError> {
        self.errors.iter()
    }

    /// How many errors.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Whether there are none (never, for errors returned by onex).
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// [`ErrorCode::CycleDetected`] when every error is a cycle, else
    /// [`ErrorCode::InvalidWorkflow`].
    pub fn code(&self) -> ErrorCode {
        if !self.errors.is_empty() && self.errors.iter().all(|e| e.kind == SpecErrorKind::Cycle) {
            ErrorCode::CycleDetected
        } else {
            ErrorCode::InvalidWorkflow
        }
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        let plural = if n == 1 { "" } else { "s" };
        if self.workflow.is_empty() {
            write!(f, "invalid workflow spec ({n} error{plural}):")?;
        } else {
            write!(
                f,
                "invalid workflow spec `{}` ({n} error{plural}):",
                self.workflow
            )?;
        }
        for error in &self.errors {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
}

impl IntoIterator for SpecErrors {
    type Item = SpecError;
    type IntoIter = std::vec::IntoIter<SpecError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl<'a> IntoIterator for &'a SpecErrors {
    type Item = &'a SpecError;
    type IntoIter = std::slice::Iter<'a, SpecError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl From<SpecErrors> for NodeError {
    /// A permanent [`ErrorCode::InvalidWorkflow`] error (e.g. a nested spec that does not load).
    fn from(errors: SpecErrors) -> Self {
        NodeError::permanent(errors.to_string()).with_code(errors.code())
    }
}
