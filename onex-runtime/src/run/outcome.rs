//! What a call did, as the executors apply it to its run's state.

use std::time::Duration;

use super::execution::CallId;
use crate::model::{AttemptRecord, NodeError};

/// The result of one attempt and when it ran.
#[derive(Debug)]
pub(crate) struct Attempt {
    pub(crate) result: Result<(), NodeError>,
    pub(crate) started: Duration,
    pub(crate) finished: Duration,
}

/// Everything a call did, applied to the run's state by the executor.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) call: CallId,
    pub(crate) result: Result<(), NodeError>,
    pub(crate) attempts: u32,
    pub(crate) failed: Vec<AttemptRecord>,
    pub(crate) cache_hit: bool,
    /// Settled by the run's step driver (a known output, a refused call): the driver
    /// knows how it ended, so it is not reported back at the next boundary.
    pub(crate) recorded: bool,
}

impl Outcome {
    /// A call settled by its first and only attempt.
    #[inline]
    pub(crate) fn from_first(call: CallId, made: Attempt) -> Self {
        let failed = match &made.result {
            Ok(()) => Vec::new(),
            Err(error) => vec![AttemptRecord {
                attempt: 1,
                item: call.item,
                started: made.started,
                finished: made.finished,
                error: error.clone(),
                straggler: None,
            }],
        };
        Outcome {
            call,
            result: made.result,
            attempts: 1,
            failed,
            cache_hit: false,
            recorded: false,
        }
    }
}

/// The error of an attempt whose worker went away without reporting.
pub(crate) fn lost_worker() -> NodeError {
    NodeError::internal("a rayon worker ended without reporting its result")
}
