//! `Display for WorkflowReport`: a plain-text table of the steps and a one-line summary.
//!
//! Over 500 lines with its tests, which compare whole tables.

use std::fmt;
use std::time::Duration;

use crate::model::{StepRecord, StragglerOutcome, WorkflowReport};
use crate::model::{StepState, WorkflowState};

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
///      0 cache hits, 0 thunks"
/// );
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ReportSummary<'a>(&'a WorkflowReport);

impl WorkflowReport {
    /// The run in one line: workflow, state, time, step counts, then in words the calls
    /// that ran at the same time as another ([`parallel_executions`]) and the calls batched
    /// by node type over the rayon pool ([`load_balanced_operations`]) when there are any,
    /// cache hits, compensations, calls still running past their timeout, and thunks. It
    /// is the last line of the report's `Display`, and fits a log line on its own.
    ///
    /// [`parallel_executions`]: WorkflowReport::parallel_executions
    /// [`load_balanced_operations`]: WorkflowReport::load_balanced_operations
    ///
    /// # Examples
    ///
    /// ```
    /// let report = onex::WorkflowReport::empty("etl");
    /// assert!(report.summary().to_string().starts_with("etl pending in 0ns: "));
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
        f.write_str("; ")?;
        // `parallel_executions` and `load_balanced_operations` in words, where they count.
        let spread = [
            (
                r.parallel_executions,
                "call ran",
                "calls ran",
                "at the same time as another",
            ),
            (
                r.load_balanced_operations,
                "call batched",
                "calls batched",
                "by node type across the CPU threads",
            ),
        ];
        for (n, one, many, how) in spread {
            if n > 0 {
                write!(f, "{} {how}, ", plural(n, one, many))?;
            }
        }
        write!(f, "{}", plural(r.cache_hits, "cache hit", "cache hits"))?;
        if r.compensations_run > 0 {
            write!(
                f,
                ", {}",
                plural(r.compensations_run, "compensation", "compensations")
            )?;
        }
        if r.stuck_calls > 0 {
            write!(
                f,
                ", {} past its timeout (stuck)",
                plural(r.stuck_calls, "call still running", "calls still running")
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

/// A table of the steps in execution order (wave by wave, and by start within a wave):
/// step, kind, state, attempts (per call for a `map` step: `1 each`, or `max 3`),
/// duration, wave, and a note with the error, the skip reason, retries, `map` width, cache
/// hits, compensation and stragglers; then the [summary](WorkflowReport::summary) line.
/// Columns are aligned; the note column appears only when some step has a note. With
/// records off there is no step to show, so it says so and prints the summary alone.
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
///      0 cache hits, 0 thunks"
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
        // In execution order: wave by wave, and within a wave by start.
        let mut order: Vec<&StepRecord> = self.steps.iter().collect();
        order.sort_by_key(|r| (r.wave, r.started.is_none(), r.started));
        let rows: Vec<[String; 7]> = order.into_iter().map(row).collect();
        let with_note = rows.iter().any(|r| !r[6].is_empty());
        let columns = if with_note { 7 } else { 6 };
        let header = header.map(String::from);
        let lines: Vec<&[String]> = std::iter::once(&header)
            .chain(&rows)
            .map(|cells| &cells[..columns])
            .collect();
        // Numbers align right, words left.
        write_columns(f, &lines, &[false, false, false, true, true, true, false])?;
        write!(f, "{}", self.summary())
    }
}

/// Writes `lines` (the header first) as aligned columns two spaces apart, a cell of
/// column `c` right-aligned when `right[c]`: numbers right, words left, as in `ls -l` and
/// `cargo` tables. The last column is not padded, and no line ends in spaces. Every table
/// onex prints is laid out by this, so they read alike.
///
/// # Examples
///
/// ```
/// let mut out = String::new();
/// let lines = [["run", "steps"].map(String::from), ["order-42", "3/4"].map(String::from)];
/// onex::__internal::write_columns(&mut out, &lines, &[false, true]).unwrap();
/// assert_eq!(out, "run       steps\norder-42    3/4\n");
/// ```
pub fn write_columns<C: AsRef<[String]>>(
    f: &mut dyn fmt::Write,
    lines: &[C],
    right: &[bool],
) -> fmt::Result {
    let columns = lines.first().map_or(0, |l| l.as_ref().len());
    let mut widths = vec![0usize; columns];
    for cells in lines {
        for (w, cell) in widths.iter_mut().zip(cells.as_ref()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for cells in lines {
        let mut line = String::new();
        for (c, cell) in cells.as_ref().iter().enumerate().take(columns) {
            if c > 0 {
                line.push_str("  ");
            }
            let right = right.get(c).copied().unwrap_or(false);
            // No padding after the last column: no trailing spaces.
            let width = if c + 1 == columns && !right {
                0
            } else {
                widths[c]
            };
            if right {
                line.push_str(&format!("{cell:>width$}"));
            } else {
                line.push_str(&format!("{cell:<width$}"));
            }
        }
        writeln!(f, "{}", line.trim_end())?;
    }
    Ok(())
}

fn row(record: &StepRecord) -> [String; 7] {
    [
        record.step.to_string(),
        record.kind.to_string(),
        step_state(record.state).to_owned(),
        attempts(record),
        record.duration().map_or_else(|| "-".to_owned(), duration),
        record.wave.to_string(),
        note(record),
    ]
}

/// The attempts of a step: per call for a `map` step (`1 each`, or the most any call took,
/// `max 3`), since its total says little.
fn attempts(record: &StepRecord) -> String {
    let (calls, max) = (record.calls, record.max_attempts);
    // No `max_attempts` in a record written before it existed: the total it is.
    if calls <= 1 || max == 0 {
        record.attempts.to_string()
    } else if u64::from(max) * calls as u64 == u64::from(record.attempts) {
        format!("{max} each")
    } else {
        format!("max {max}")
    }
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
    for late in record.failed_attempts.iter() {
        let Some(outcome) = &late.straggler else {
            continue;
        };
        let which = if record.calls > 1 {
            format!("item {} attempt {}", late.item, late.attempt)
        } else {
            format!("attempt {}", late.attempt)
        };
        let what = match outcome {
            StragglerOutcome::Running => "still running (stuck)".to_owned(),
            StragglerOutcome::Failed { error } => format!("then failed: {error}"),
            StragglerOutcome::Compensated => "its output compensated".to_owned(),
            StragglerOutcome::CompensationFailed { error } => {
                format!("its compensation failed: {error}")
            }
            StragglerOutcome::Discarded => "its output discarded".to_owned(),
        };
        let cause = if late.error.code() == crate::ErrorCode::Timeout {
            "its timeout"
        } else {
            "its run's stop"
        };
        parts.push(format!("{which} outlived {cause}, {what}"));
    }
    parts.join("; ")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A duration as people read it: `420ns`, `850µs`, `12.35ms`, `3.20s`, `2m05s`.
pub fn duration(d: Duration) -> String {
    if d < Duration::from_micros(1) {
        format!("{}ns", d.as_nanos())
    } else if d < Duration::from_millis(1) {
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

    use crate::model::NodeError;
    use crate::model::NodeKind;
    use crate::model::{CompensationRecord, StepRecord};
    use crate::model::{StepState, WorkflowState};
    use crate::render::fixtures::etl_report;

    #[test]
    fn etl_table_is_exact() {
        assert_eq!(
            etl_report().to_string(),
            "\
step     kind     state      attempts  duration  wave  note
valid    compute  completed         1    2.00ms     0
records  effect   completed         2    4.00ms     1  recovered after 1 failed attempt
quality  compute  completed         1    2.50ms     1
totals   reducer  completed         1    1.25ms     2
fast     compute  skipped           0         -     2  condition was false
etl completed in 7.50ms: 4 steps completed, 0 failed, 1 skipped; \
2 calls ran at the same time as another, 0 cache hits, 4 thunks"
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
2 calls ran at the same time as another, 0 cache hits, thunks not recorded"
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
        report.steps = vec![pages, save].into();
        assert_eq!(
            report.to_string(),
            "\
step   kind    state      attempts  duration  wave  note
pages  effect  completed         4     850µs     1  map: 4 calls; 1 cache hit; compensated in 2.00ms
save   effect  failed            1     3.00s     3  OPERATION_FAILED: disk full
etl failed in 1m15s: 4 steps completed, 1 failed, 1 skipped, 2 cancelled; \
2 calls ran at the same time as another, 1 cache hit, 1 compensation, 4 thunks"
        );
    }

    #[test]
    fn map_attempts_are_per_call_and_rows_follow_the_waves() {
        let mut report = etl_report();
        // Declared after the step it depends on, and started later within its wave.
        let mut late = StepRecord::new("late", "late", NodeKind::Compute, 1);
        late.state = StepState::Completed;
        late.attempts = 1;
        late.started = Some(Duration::from_millis(5));
        late.finished = Some(Duration::from_millis(5) + Duration::from_nanos(420));
        report.steps.insert(0, late);
        let mut pages = StepRecord::new("pages", "fetch_page", NodeKind::Effect, 3);
        pages.state = StepState::Completed;
        pages.attempts = 3;
        pages.calls = 3;
        pages.max_attempts = 1;
        let mut flaky = pages.clone();
        flaky.step = "flaky".into();
        flaky.attempts = 5;
        flaky.max_attempts = 3;
        report.steps.push(pages);
        report.steps.push(flaky);
        let table = report.to_string();
        let names: Vec<&str> = table
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .take(report.steps.len())
            .collect();
        assert_eq!(
            names,
            [
                "valid", "records", "quality", "late", "totals", "fast", "pages", "flaky"
            ]
        );
        let attempts = |step: &str| {
            let line = table.lines().find(|l| l.starts_with(step)).unwrap();
            line.split("completed").nth(1).unwrap().trim().to_string()
        };
        assert!(attempts("pages ").starts_with("1 each"), "{table}");
        assert!(attempts("flaky ").starts_with("max 3"), "{table}");
        assert!(attempts("late ").ends_with("420ns     1"), "{table}");
    }

    #[test]
    fn stragglers_and_stuck_calls_are_noted() {
        use crate::model::ErrorCode;
        use crate::model::StragglerOutcome;
        let mut report = etl_report();
        report.stuck_calls = 1;
        report.load_balanced_operations = 5;
        let records = &mut report.steps[1];
        records.failed_attempts[0].error = NodeError::new(ErrorCode::Timeout, "timed out");
        records.failed_attempts[0].straggler = Some(StragglerOutcome::Compensated);
        let mut second = records.failed_attempts[0].clone();
        second.attempt = 2;
        second.straggler = Some(StragglerOutcome::Running);
        records.failed_attempts.push(second);
        let table = report.to_string();
        assert!(
            table.contains(
                "recovered after 2 failed attempts; attempt 1 outlived its timeout, its output \
                 compensated; attempt 2 outlived its timeout, still running (stuck)"
            ),
            "{table}"
        );
        assert!(
            table.ends_with(
                "2 calls ran at the same time as another, 5 calls batched by node type across \
                 the CPU threads, 0 cache hits, 1 call still running past its timeout (stuck), \
                 4 thunks"
            ),
            "{table}"
        );
    }
}
