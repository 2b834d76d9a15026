//! SQLite's failures as [`JournalError`]s that say what and where.

use std::sync::Arc;
use std::time::Duration;

use onex_runtime::journal::JournalError;
use rusqlite::ErrorCode;

/// Which file a journal is, for error messages.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    pub(crate) name: Arc<str>,
    pub(crate) busy_timeout: Duration,
}

impl Store {
    /// The journal error for a SQLite error on this store.
    pub(crate) fn sql(&self, error: rusqlite::Error) -> JournalError {
        let store = self.name.to_string();
        let detail = error.to_string();
        match error.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => JournalError::Full { store, detail },
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => JournalError::Busy {
                store,
                waited: self.busy_timeout,
            },
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                JournalError::Corrupt { store, detail }
            }
            _ => match error {
                rusqlite::Error::FromSqlConversionFailure(..)
                | rusqlite::Error::InvalidColumnType(..)
                | rusqlite::Error::IntegralValueOutOfRange(..) => {
                    JournalError::Corrupt { store, detail }
                }
                _ => JournalError::Storage { store, detail },
            },
        }
    }

    /// A row that does not decode.
    pub(crate) fn corrupt(&self, detail: String) -> JournalError {
        JournalError::Corrupt {
            store: self.name.to_string(),
            detail,
        }
    }

    /// The journal's worker is gone.
    pub(crate) fn closed(&self) -> JournalError {
        JournalError::Closed {
            store: self.name.to_string(),
        }
    }
}

/// An operation's failure before it is tied to a store.
#[derive(Debug)]
pub(crate) enum OpError {
    /// A SQLite call failed.
    Sql(rusqlite::Error),
    /// A row does not decode (the detail says which and why).
    Corrupt(String),
    /// The journal's rules refused the operation.
    Refused(JournalError),
}

impl From<rusqlite::Error> for OpError {
    fn from(error: rusqlite::Error) -> Self {
        OpError::Sql(error)
    }
}

impl From<JournalError> for OpError {
    fn from(error: JournalError) -> Self {
        OpError::Refused(error)
    }
}

impl OpError {
    /// The journal error, and whether it dooms the whole transaction. A failed SQLite
    /// call does (SQLite may already have rolled the transaction back, as it does on a
    /// full disk); a refusal, or a row that does not decode, only undoes its own
    /// operation.
    pub(crate) fn into_journal(self, store: &Store) -> (JournalError, bool) {
        match self {
            OpError::Sql(error) => (store.sql(error), true),
            OpError::Corrupt(detail) => (store.corrupt(detail), false),
            OpError::Refused(error) => (error, false),
        }
    }
}
