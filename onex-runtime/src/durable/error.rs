//! Building a [`DurableError`] from the journal's error, and reading that error back.

use std::sync::Arc;

use crate::journal::JournalError;
use crate::model::{DurableError, ErrorCode};

impl DurableError {
    /// The journal refused or failed an operation on run `run_id`.
    pub fn journal(run_id: impl Into<String>, error: JournalError) -> Self {
        let code = if error.is_transient() || error.is_lease_lost() {
            ErrorCode::ResourceUnavailable
        } else {
            ErrorCode::Internal
        };
        DurableError::Journal {
            run_id: run_id.into(),
            error: Arc::new(error),
            code,
        }
    }

    /// The journal's error, if the journal refused or failed (`RunLeased`, `Busy`, ...).
    ///
    /// ```
    /// use onex::durable::DurableError;
    /// assert!(DurableError::NoJournal { run_id: "r".into() }.journal_error().is_none());
    /// ```
    pub fn journal_error(&self) -> Option<&JournalError> {
        match self {
            DurableError::Journal { error, .. } => error.downcast_ref(),
            _ => None,
        }
    }
}
