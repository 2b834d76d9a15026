//! `Display for WorkflowReport`: a plain-text table of the steps and a one-line summary.

use std::fmt;
use std::time::Duration;

use crate::report::{StepRecord, WorkflowReport};
use crate::state::{StepState, WorkflowState};

/// The one-line summary of a run, from [`WorkflowReport::summary`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use onex::{WorkflowReport, WorkflowState};
///
/// let mut report = WorkflowReport::empty("etl");
/// report.state = WorkflowState::Completed;
/// report.steps_completed = 3;
/// report.processing_time = Duration::from_micros(12_346);
/// assert_eq!(
///     report.summary().to_string(),
///     "etl completed in 12.35ms: 3 steps completed, 0 failed, 0 skipped; \
///      0 parallel executions, 0 load-balanced operations, 0 cache hits, 0 thunks"
/// );
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ReportSummary<'a>(&'a WorkflowReport);

impl WorkflowReport {
    /// The run in one line: workflow, state, time, step counts, parallel executions,
    /// load-balanced operations, cache hits and thunks. It is the last line of the report's
    /// `Display`, and fits a log line on its own.
    ///
    /// # Examples
    ///
    /// ```
    /// let report = onex::WorkflowReport::empty("etl");
    /// assert!(report.summary().to_string().starts_with("etl pending in 0µs: "));
    /// ```
    pub fn summary(&self) -> ReportSummary<'_> {
        ReportSummary(self)
    }
}

impl fmt::Display for ReportSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        write!(
            f,
            "{} {} in {}: {} completed, {} failed, {} skipped",
            r.workflow,
            workflow_state(r.state),
            duration(r.processing_time),
            plural(r.steps_completed, "step", "steps"),
            r.steps_failed,
            r.steps_skipped,
        )?;
        if r.steps_cancelled > 0 {
            write!(f, ", {} cancelled", r.steps_cancelled)?;
        }
        write!(
            f,
            "; {}, {}, {}",
            plural(
                r.parallel_executions,
                "parallel execution",
                "parallel executions"
            ),
            plural(
                r.load_balanced_operations,
                "load-balanced operation",
                "load-balanced operations"
            ),
            plural(r.cache_hits, "cache hit", "cache hits"),
        )?;
        if r.compensations_run > 0 {
            write!(
                f,
                ", {}",
                plural(r.compensations_run, "compensation", "compensations")
            )?;
        }
        if r.records {
            write!(f, ", {}", plural(r.thunks_emitted.len(), "thunk", "thunks"))
        } else {
            // With records off no thunk was kept, and "0 thunks" would be a lie.
            f.write_str(", thunks not recorded")
        }
    }
}

/// A table of the steps (step, kind, state, attempts, duration, wave, and a note with the
/// error, the skip reason, retries, `map` width, cache hits and compensation), then the
/// [summary](WorkflowReport::summary) line. Columns are aligned; the note column appears
/// only when some step has a note. With records off there is no step to show, so it says
/// so and prints the summary alone.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use onex::{NodeKind, StepRecord, StepState, WorkflowReport, WorkflowState};
///
/// let mut report = WorkflowReport::empty("etl");
/// report.state = WorkflowState::Completed;
/// report.steps_completed = 1;
/// report.processing_time = Duration::from_millis(3);
/// let mut fetch = StepRecord::new("fetch", "NodeDataFetcherEffect", NodeKind::Effect, 0);
/// fetch.state = StepState::Completed;
/// fetch.attempts = 1;
/// fetch.calls = 1;
/// fetch.started = Some(Duration::ZERO);
/// fetch.finished = Some(Duration::from_millis(3));
/// report.steps.push(fetch);
///
/// assert_eq!(
///     report.to_string(),
///     "step   kind    state      attempts  duration  wave\n\
///      fetch  effect  completed         1    3.00ms     0\n\
///      etl completed in 3.00ms: 1 step completed, 0 failed, 0 skipped; \
///      0 parallel executions, 0 load-balanced operations, 0 cache hits, 0 thunks"
/// );
/// ```
impl fmt::Display for WorkflowReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.records {
            writeln!(
                f,
                "records were off (RunOptions::records(false)): no per-step table"
            )?;
            return write!(f, "{}", self.summary());
        }
        let header = [
            "step", "kind", "state", "attempts", "duration", "wave", "note",
        ];
        let rows: Vec<[String; 7]> = self.steps.iter().map(row).collect();
        let with_note = rows.iter().any(|r| !r[6].is_empty());
        let columns = if with_note { 7 } else { 6 };
        let mut widths = [0usize; 7];
        for cells in std::iter::once(header.map(String::from)).chain(rows.iter().cloned()) {
            for (w, cell) in widths.iter_mut().zip(&cells) {
                *w = (*w).max(cell.chars().count());
            }
        }
        // Numbers align right, words left, as in `ls -l` and `cargo` tables.
        let right = [false, false, false, true, true, true, false];
        for cells in std::iter::once(header.map(String::from)).chain(rows) {
            let mut line = String::new();
            for c in 0..columns {
                if c > 0 {
                    line.push_str("  ");
                }
                let width = if c + 1 == columns && !right[c] {
                    // No padding after the last column: no trailing spaces.
                    0
                } else {
                    widths[c]
                };
                if right[c] {
                    line.push_str(&format!("{:>width$}", cells[c]));
                } else {
                    line.push_str(&format!("{:<width$}", cells[c]));
                }
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        write!(f, "{}", self.summary())
    }
}

fn row(record: &StepRecord) -> [String; 7] {
    [
        record.step.to_string(),
        record.kind.to_string(),
        step_state(record.state).to_owned(),
        record.attempts.to_string(),
        record.duration().map_or_else(|| "-".to_owned(), duration),
        record.wave.to_string(),
        note(record),
    ]
}

/// The facts a reader of the table asks about next: why it failed or was skipped, whether
/// retries saved it, how wide a `map` was, what the cache answered, what was undone.
fn note(record: &StepRecord) -> String {
    let mut parts = Vec::new();
    if record.calls > 1 {
        parts.push(format!("map: {} calls", record.calls));
    }
    if record.cache_hits > 0 {
        parts.push(plural(record.cache_hits, "cache hit", "cache hits"));
    }
    let failures = record.failed_attempts.len();
    if record.state == StepState::Completed && failures > 0 {
        parts.push(format!(
            "recovered after {}",
            plural(failures, "failed attempt", "failed attempts")
        ));
    }
    if let Some(error) = &record.error {
        parts.push(error.to_string());
    }
    if let Some(reason) = &record.skip_reason {
        parts.push(reason.to_string());
    }
    if let Some(compensation) = &record.compensation {
        match &compensation.error {
            Some(error) => parts.push(format!("compensation failed: {error}")),
            None => parts.push(format!(
                "compensated in {}",
                duration(compensation.finished.saturating_sub(compensation.started))
            )),
        }
    }
    parts.join("; ")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A duration as people read it: `850µs`, `12.35ms`, `3.20s`, `2m05s`.
pub(crate) fn duration(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{}µs", d.as_micros())
    } else if d < Duration::from_secs(1) {
        format!("{:.2}ms", d.as_secs_f64() * 1000.0)
    } else if d < Duration::from_secs(60) {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

// Lower-case words for the table; the SCREAMING_SNAKE serde names are for JSON.
fn step_state(state: StepState) -> &'static str {
    match state {
        StepState::Pending => "pending",
        StepState::Running => "running",
        StepState::Completed => "completed",
        StepState::Failed => "failed",
        StepState::Skipped => "skipped",
        StepState::Cancelled => "cancelled",
    }
}

fn workflow_state(state: WorkflowState) -> &'static str {
    match state {
        WorkflowState::Pending => "pending",
        WorkflowState::Running => "running",
        WorkflowState::Completed => "completed",
        WorkflowState::PartialSuccess => "partial success",
        WorkflowState::Failed => "failed",
        WorkflowState::Cancelled => "cancelled",
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::error::NodeError;
    use crate::graph::NodeKind;
    use crate::render::fixtures::etl_report;
    use crate::report::{CompensationRecord, StepRecord};
    use crate::state::{StepState, WorkflowState};

    #[test]
    fn etl_table_is_exact() {
        assert_eq!(
            etl_report().to_string(),
            "\
step     kind     state      attempts  duration  wave  note
valid    compute  completed         1    2.00ms     0
records  effect   completed         2    4.00ms     1  recovered after 1 failed attempt
quality  compute  completed         1    2.50ms     1
fast     compute  skipped           0         -     2  condition was false
totals   reducer  completed         1    1.25ms     2
etl completed in 7.50ms: 4 steps completed, 0 failed, 1 skipped; \
2 parallel executions, 0 load-balanced operations, 0 cache hits, 4 thunks"
        );
    }

    #[test]
    fn records_off_prints_the_summary_only() {
        let mut report = etl_report();
        report.records = false;
        report.steps.clear();
        report.thunks_emitted.clear();
        assert_eq!(
            report.to_string(),
            "\
records were off (RunOptions::records(false)): no per-step table
etl completed in 7.50ms: 4 steps completed, 0 failed, 1 skipped; \
2 parallel executions, 0 load-balanced operations, 0 cache hits, thunks not recorded"
        );
    }

    #[test]
    fn failures_maps_caches_and_compensations_are_noted() {
        let mut report = etl_report();
        report.state = WorkflowState::Failed;
        report.steps_failed = 1;
        report.steps_cancelled = 2;
        report.compensations_run = 1;
        report.cache_hits = 1;
        report.processing_time = Duration::from_secs(75);
        let mut pages = StepRecord::new("pages", "fetch_page", NodeKind::Effect, 1);
        pages.state = StepState::Completed;
        pages.attempts = 4;
        pages.calls = 4;
        pages.cache_hits = 1;
        pages.started = Some(Duration::from_millis(1));
        pages.finished = Some(Duration::from_millis(1) + Duration::from_micros(850));
        pages.compensation = Some(CompensationRecord {
            state: StepState::Completed,
            started: Duration::from_millis(10),
            finished: Duration::from_millis(12),
            error: None,
        });
        let mut save = StepRecord::new("save", "save", NodeKind::Effect, 3);
        save.state = StepState::Failed;
        save.attempts = 1;
        save.started = Some(Duration::from_millis(8));
        save.finished = Some(Duration::from_millis(8) + Duration::from_secs(3));
        save.error = Some(NodeError::permanent("disk full"));
        report.steps = vec![pages, save];
        assert_eq!(
            report.to_string(),
            "\
step   kind    state      attempts  duration  wave  note
pages  effect  completed         4     850µs     1  map: 4 calls; 1 cache hit; compensated in 2.00ms
save   effect  failed            1     3.00s     3  OPERATION_FAILED: disk full
etl failed in 1m15s: 4 steps completed, 1 failed, 1 skipped, 2 cancelled; \
2 parallel executions, 0 load-balanced operations, 1 cache hit, 1 compensation, 4 thunks"
        );
    }
}
