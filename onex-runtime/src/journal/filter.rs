//! Which runs a listing returns ([`RunFilter`]) and a pruning deletes ([`Retention`]).

use std::time::Duration;

/// Which runs [`Journal::list_runs`](super::Journal::list_runs) returns.
///
/// # Examples
///
/// ```
/// use onex::journal::RunFilter;
///
/// let filter = RunFilter::unfinished().workflow("Orders").limit(100);
/// assert!(filter.unfinished_only);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Only runs that are not finished (running, in doubt, compensating).
    pub unfinished_only: bool,
    /// Only runs of this workflow.
    pub workflow: Option<String>,
    /// At most this many runs, the oldest first.
    pub limit: Option<usize>,
}

impl RunFilter {
    /// Every run.
    pub fn all() -> Self {
        RunFilter::default()
    }

    /// The runs that are not finished: what `recover` resumes.
    pub fn unfinished() -> Self {
        RunFilter {
            unfinished_only: true,
            ..RunFilter::default()
        }
    }

    /// Only runs of `workflow`.
    pub fn workflow(mut self, workflow: impl Into<String>) -> Self {
        self.workflow = Some(workflow.into());
        self
    }

    /// At most `limit` runs.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// Which finished runs [`Journal::prune`](super::Journal::prune) deletes: those last
/// written more than `max_age` ago, and those beyond the newest `keep_last`. Unfinished
/// runs are never pruned.
///
/// # Examples
///
/// ```
/// use onex::journal::Retention;
/// use std::time::Duration;
///
/// let policy = Retention::default().max_age(Duration::from_secs(7 * 24 * 3600)).keep_last(10_000);
/// assert_eq!(policy.keep_last, Some(10_000));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retention {
    /// Prune finished runs not written for longer than this.
    pub max_age: Option<Duration>,
    /// Keep at most this many finished runs (the most recently written).
    pub keep_last: Option<usize>,
}

impl Retention {
    /// Prunes finished runs older than `max_age`.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Keeps only the newest `keep_last` finished runs.
    pub fn keep_last(mut self, keep_last: usize) -> Self {
        self.keep_last = Some(keep_last);
        self
    }
}
