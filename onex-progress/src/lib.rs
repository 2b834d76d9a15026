//! [`ProgressObserver`]: a terminal progress bar driven by run events (the facade's
//! `progress` feature).
//!
//! Over 500 lines: half are tests, which drive the bar through a recorded terminal; the
//! bar is about 380.

#![warn(missing_docs)]

/// The progress bar crate [`ProgressObserver`] draws with, for [`ProgressObserver::with_bar`].
pub use indicatif;

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use onex_runtime::{RunEvent, RunObserver, StepState};

const STEPS_TEMPLATE: &str =
    "{prefix:.bold} [{elapsed_precise}] {bar:30.cyan/blue} {pos}/{len} steps  {wide_msg}";
const RUNS_TEMPLATE: &str =
    "{prefix:.bold} [{elapsed_precise}] {bar:30.cyan/blue} {pos}/{len} runs  {wide_msg}";

/// A progress bar on stderr fed by [`RunEvent`]s: steps finished out of the total, with
/// the names of the steps running now as its message; or, made with
/// [`runs`](Self::runs), runs finished out of a known number (for `run_batch`).
///
/// It draws only when stderr is a terminal. It draws through indicatif's
/// `ProgressDrawTarget::stderr()`, which hides itself when stderr is not a tty or `TERM` is
/// `dumb`, so logs, CI output and pipes get no escape codes and cost nothing. Its first frame
/// comes once the first run has said how many steps it has, and its final frame ends its
/// line, so what the program prints next starts on a line of its own.
///
/// One observer can watch many runs: wrap it in an `Arc` and give a clone to each run's
/// options. In steps mode every `RunStarted` adds that run's steps to the total (a nested
/// workflow's steps too, as they also finish), and the bar finishes when the last run
/// watched ends; a run started after that starts the bar afresh.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use onex::{ProgressObserver, RunOptions};
///
/// // One bar for a whole batch, shared by every run's options.
/// let progress = Arc::new(ProgressObserver::runs(100));
/// let options = RunOptions::new().observer(progress.clone());
/// # let _ = options;
///
/// // One bar per run, counting steps.
/// let options = RunOptions::new().observer(Arc::new(ProgressObserver::new()));
/// # let _ = options;
/// ```
#[derive(Debug)]
pub struct ProgressObserver {
    bar: ProgressBar,
    counting: Counting,
    tally: Mutex<Tally>,
    line_end: LineEnd,
}

/// Who ends the bar's line after its final frame. indicatif leaves the cursor after the
/// frame, padded to the width it believes the terminal has, and counts on the terminal
/// wrapping there; where the width is unknown or wrong, the next line printed is glued to
/// the frame. The observer ends the lines of the stderr bars it made; a bar given to
/// [`ProgressObserver::with_bar`] belongs to its target (a `MultiProgress` lays out its own
/// lines).
#[derive(Debug)]
enum LineEnd {
    Stderr,
    Caller,
    /// The terminal a test bar draws on.
    #[cfg(test)]
    Term(std::sync::Arc<dyn indicatif::TermLike>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counting {
    Steps,
    Runs(u64),
}

/// What the bar's message is made of, behind one lock because events of concurrent steps
/// arrive from several threads.
#[derive(Debug, Default)]
struct Tally {
    /// Steps in flight, in the order they started, with their latest attempt.
    running: Vec<(String, u32)>,
    /// Runs started and not finished (steps mode: nested runs included).
    active_runs: usize,
    /// Runs mode: the workflow counted; runs of other workflows are nested ones.
    counted: Option<String>,
    ok: u64,
    failed: u64,
}

impl ProgressObserver {
    /// A bar of steps finished out of the steps of the runs watched, drawn on stderr when it
    /// is a terminal.
    ///
    /// # Examples
    ///
    /// ```
    /// let progress = onex::ProgressObserver::new();
    /// assert_eq!(progress.bar().position(), 0);
    /// ```
    pub fn new() -> Self {
        Self::build(
            Counting::Steps,
            stderr_bar(0, STEPS_TEMPLATE),
            LineEnd::Stderr,
        )
    }

    /// A bar of runs finished out of `total`, for `run_batch` or a loop of runs: share it
    /// (`Arc`) across them. Its message counts runs running and failed.
    ///
    /// A run counts when it finishes. The workflow counted is the one whose run starts
    /// first; runs of other workflows are taken as nested workflows and not counted.
    ///
    /// # Examples
    ///
    /// ```
    /// let progress = onex::ProgressObserver::runs(8);
    /// assert_eq!(progress.bar().length(), Some(8));
    /// ```
    pub fn runs(total: u64) -> Self {
        Self::build(
            Counting::Runs(total),
            stderr_bar(total, RUNS_TEMPLATE),
            LineEnd::Stderr,
        )
    }

    /// The same observer drawing on `bar` instead: one from an `indicatif::MultiProgress`,
    /// one with your own style, or `ProgressBar::hidden()` in tests. The bar keeps its
    /// style; the observer sets its length. Ending the line after the final frame is left to
    /// the bar's target (a `MultiProgress` does; on a plain terminal, print a newline after
    /// the run).
    ///
    /// # Examples
    ///
    /// ```
    /// use indicatif::ProgressBar;
    /// use onex::ProgressObserver;
    ///
    /// let progress = ProgressObserver::runs(3).with_bar(ProgressBar::hidden());
    /// assert!(progress.bar().is_hidden());
    /// assert_eq!(progress.bar().length(), Some(3));
    /// ```
    pub fn with_bar(self, bar: ProgressBar) -> Self {
        self.bar.finish_and_clear();
        bar.set_length(match self.counting {
            Counting::Steps => 0,
            Counting::Runs(total) => total,
        });
        Self::build(self.counting, bar, LineEnd::Caller)
    }

    /// The bar, to read its position or print above it (`bar().println(..)`).
    pub fn bar(&self) -> &ProgressBar {
        &self.bar
    }

    fn build(counting: Counting, bar: ProgressBar, line_end: LineEnd) -> Self {
        ProgressObserver {
            bar,
            counting,
            tally: Mutex::new(Tally::default()),
            line_end,
        }
    }

    /// Moves the cursor past the final frame (see [`LineEnd`]). In a terminal that wrapped
    /// after the padded frame, the carriage return this newline gets on a tty cancels the
    /// pending wrap: no blank line.
    fn end_line(&self) {
        if self.bar.is_hidden() {
            return;
        }
        // Progress display is best effort: a closed stderr is not the run's failure.
        match &self.line_end {
            LineEnd::Stderr => {
                let _ = std::io::Write::write_all(&mut std::io::stderr(), b"\n");
            }
            LineEnd::Caller => {}
            #[cfg(test)]
            LineEnd::Term(term) => {
                let _ = term.write_line("");
            }
        }
    }

    /// Keeps the elapsed time moving while one long step runs. Started with a round of
    /// runs, not at construction, so an observer made ahead of time draws nothing; and
    /// again for each round, because indicatif's ticker stops when the bar finishes.
    fn start_ticking(&self) {
        if !self.bar.is_hidden() {
            self.bar.enable_steady_tick(Duration::from_millis(200));
        }
    }

    fn tally(&self) -> MutexGuard<'_, Tally> {
        // A panic elsewhere while holding the lock leaves only a message half-updated;
        // progress display must never turn it into a second panic.
        self.tally.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn on_step_event(&self, tally: &mut Tally, event: &RunEvent<'_>) {
        match *event {
            RunEvent::StepStarted { step, attempt, .. } => {
                match tally.running.iter_mut().find(|(s, _)| s == step) {
                    Some(entry) => entry.1 = entry.1.max(attempt),
                    None => tally.running.push((step.to_owned(), attempt)),
                }
            }
            RunEvent::StepRetried { step, attempt, .. } => {
                if let Some(entry) = tally.running.iter_mut().find(|(s, _)| s == step) {
                    entry.1 = entry.1.max(attempt + 1);
                }
            }
            RunEvent::StepFinished { step, state, .. } => {
                tally.running.retain(|(s, _)| s != step);
                if state == StepState::Failed {
                    tally.failed += 1;
                }
                self.bar.inc(1);
            }
            RunEvent::StepSkipped { step, .. } => {
                tally.running.retain(|(s, _)| s != step);
                self.bar.inc(1);
            }
            _ => return,
        }
        self.bar.set_message(running_message(&tally.running));
    }
}

impl Default for ProgressObserver {
    fn default() -> Self {
        ProgressObserver::new()
    }
}

impl RunObserver for ProgressObserver {
    fn on_event(&self, event: &RunEvent<'_>) {
        let mut tally = self.tally();
        match (self.counting, *event) {
            (
                Counting::Steps,
                RunEvent::RunStarted {
                    workflow, steps, ..
                },
            ) => {
                if tally.active_runs == 0 {
                    // Every setter draws a frame, so the length comes first: no frame of a
                    // round says "0/0 steps". A bar that finished a round starts afresh.
                    if self.bar.is_finished() {
                        self.bar.reset();
                        self.bar.set_length(steps as u64);
                        self.bar.set_message("");
                    } else {
                        self.bar.set_length(steps as u64);
                    }
                    *tally = Tally::default();
                    self.bar.set_prefix(workflow.to_owned());
                    self.start_ticking();
                } else {
                    self.bar.inc_length(steps as u64);
                }
                tally.active_runs += 1;
            }
            (
                Counting::Steps,
                RunEvent::RunFinished {
                    workflow,
                    state,
                    elapsed,
                },
            ) => {
                tally.active_runs = tally.active_runs.saturating_sub(1);
                if tally.active_runs == 0 {
                    let message = format!(
                        "{workflow} {} in {}",
                        state_word(state),
                        onex_runtime::__internal::human_duration(elapsed)
                    );
                    if state.has_output() {
                        self.bar.finish_with_message(message);
                    } else {
                        // Abandon keeps the bar where it stopped: the steps never run show.
                        self.bar.abandon_with_message(message);
                    }
                    self.end_line();
                }
            }
            (Counting::Runs(_), RunEvent::RunStarted { workflow, .. }) => {
                let counted = tally.counted.get_or_insert_with(|| workflow.to_owned());
                if counted == workflow {
                    if tally.active_runs == 0 && tally.ok + tally.failed == 0 {
                        self.bar.set_prefix(workflow.to_owned());
                        self.start_ticking();
                    }
                    tally.active_runs += 1;
                    self.bar.set_message(runs_message(&tally));
                }
            }
            (
                Counting::Runs(total),
                RunEvent::RunFinished {
                    workflow, state, ..
                },
            ) => {
                if tally.counted.as_deref() == Some(workflow) {
                    tally.active_runs = tally.active_runs.saturating_sub(1);
                    if state.has_output() {
                        tally.ok += 1;
                    } else {
                        tally.failed += 1;
                    }
                    self.bar.inc(1);
                    if tally.ok + tally.failed >= total {
                        self.bar.finish_with_message(format!(
                            "{} ok, {} failed",
                            tally.ok, tally.failed
                        ));
                        self.end_line();
                    } else {
                        self.bar.set_message(runs_message(&tally));
                    }
                }
            }
            (Counting::Steps, _) => self.on_step_event(&mut tally, event),
            (Counting::Runs(_), _) => {}
        }
    }
}

/// A bar on stderr: hidden by indicatif itself when stderr is not a terminal.
fn stderr_bar(len: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    // The templates are constants known to parse; the fallback only guards a future
    // indicatif that would reject them.
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn running_message(running: &[(String, u32)]) -> String {
    running
        .iter()
        .map(|(step, attempt)| {
            if *attempt > 1 {
                format!("{step} (attempt {attempt})")
            } else {
                step.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn runs_message(tally: &Tally) -> String {
    if tally.failed > 0 {
        format!("{} running, {} failed", tally.active_runs, tally.failed)
    } else {
        format!("{} running", tally.active_runs)
    }
}

fn state_word(state: onex_runtime::WorkflowState) -> &'static str {
    use onex_runtime::WorkflowState::*;
    match state {
        Pending => "pending",
        Running => "running",
        Completed => "completed",
        PartialSuccess => "partially succeeded",
        Failed => "failed",
        Cancelled => "cancelled",
    }
}

#[cfg(test)]
mod tests {
    use std::io::IsTerminal;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use indicatif::ProgressBar;
    use uuid::Uuid;

    use super::*;
    use onex_runtime::NodeError;
    use onex_runtime::ObserverSet;
    use onex_runtime::RunOptions;
    use onex_runtime::SkipReason;
    use onex_runtime::WorkflowState;

    fn started(step: &str, attempt: u32) -> RunEvent<'_> {
        RunEvent::StepStarted {
            step,
            node_type: step,
            wave: 0,
            item: 0,
            attempt,
        }
    }

    fn finished(step: &str, state: StepState) -> RunEvent<'_> {
        RunEvent::StepFinished {
            step,
            state,
            elapsed: Duration::from_millis(1),
        }
    }

    #[test]
    fn counts_steps_and_names_the_running_ones() {
        // A recording closure next to the bar, both behind the one observer a run takes.
        let log = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = Arc::clone(&log);
        let progress = Arc::new(ProgressObserver::new().with_bar(ProgressBar::hidden()));
        let both = ObserverSet::new()
            .with(Arc::new(move |e: &RunEvent<'_>| {
                sink.lock().unwrap().push(e.to_string())
            }))
            .with(progress.clone());
        let options = RunOptions::new().observer(Arc::new(both));
        let observer = options.get_observer().unwrap();
        let bar = progress.bar();
        let state = |bar: &ProgressBar| (bar.position(), bar.length(), bar.message());

        observer.on_event(&RunEvent::RunStarted {
            workflow: "etl",
            workflow_id: Uuid::nil(),
            steps: 4,
        });
        assert_eq!(state(bar), (0, Some(4), String::new()));
        assert_eq!(bar.prefix(), "etl");

        observer.on_event(&started("records", 1));
        observer.on_event(&started("quality", 1));
        assert_eq!(state(bar), (0, Some(4), "records, quality".into()));

        let error = NodeError::transient("connection reset");
        observer.on_event(&RunEvent::StepRetried {
            step: "records",
            attempt: 1,
            error: &error,
            delay: Duration::from_millis(100),
        });
        assert_eq!(bar.message(), "records (attempt 2), quality");
        observer.on_event(&started("records", 2));
        observer.on_event(&finished("quality", StepState::Completed));
        assert_eq!(state(bar), (1, Some(4), "records (attempt 2)".into()));

        observer.on_event(&finished("records", StepState::Completed));
        observer.on_event(&RunEvent::StepSkipped {
            step: "fast",
            reason: &SkipReason::ConditionFalse,
        });
        observer.on_event(&started("totals", 1));
        observer.on_event(&finished("totals", StepState::Completed));
        assert_eq!(state(bar), (4, Some(4), String::new()));
        assert!(!bar.is_finished());

        observer.on_event(&RunEvent::RunFinished {
            workflow: "etl",
            state: WorkflowState::Completed,
            elapsed: Duration::from_micros(7_512),
        });
        assert!(bar.is_finished());
        assert_eq!(bar.message(), "etl completed in 7.51ms");
        assert_eq!(log.lock().unwrap().len(), 11);
        assert_eq!(
            log.lock().unwrap().last().map(String::as_str),
            Some("run etl finished COMPLETED in 7.512ms")
        );

        // Reused for another run, the bar starts over.
        observer.on_event(&RunEvent::RunStarted {
            workflow: "etl",
            workflow_id: Uuid::nil(),
            steps: 2,
        });
        assert_eq!(state(bar), (0, Some(2), String::new()));
        assert!(!bar.is_finished());
    }

    #[test]
    fn shared_across_concurrent_and_nested_runs_it_sums_their_steps() {
        let progress = ProgressObserver::new().with_bar(ProgressBar::hidden());
        for _ in 0..2 {
            progress.on_event(&RunEvent::RunStarted {
                workflow: "etl",
                workflow_id: Uuid::new_v4(),
                steps: 3,
            });
        }
        assert_eq!(progress.bar().length(), Some(6));
        progress.on_event(&finished("a", StepState::Failed));
        progress.on_event(&RunEvent::RunFinished {
            workflow: "etl",
            state: WorkflowState::Failed,
            elapsed: Duration::ZERO,
        });
        // One run still going: not finished.
        assert!(!progress.bar().is_finished());
        progress.on_event(&RunEvent::RunFinished {
            workflow: "etl",
            state: WorkflowState::Failed,
            elapsed: Duration::from_millis(3),
        });
        // A failed round is abandoned where it stopped.
        assert!(progress.bar().is_finished());
        assert_eq!(progress.bar().position(), 1);
        assert_eq!(progress.bar().message(), "etl failed in 3.00ms");
    }

    #[test]
    fn runs_mode_counts_finished_runs_of_the_outer_workflow() {
        let progress = Arc::new(ProgressObserver::runs(3).with_bar(ProgressBar::hidden()));
        let shared: Arc<dyn RunObserver> = progress.clone();
        let bar = progress.bar();
        let run = |workflow: &'static str, state: Option<WorkflowState>| match state {
            None => shared.on_event(&RunEvent::RunStarted {
                workflow,
                workflow_id: Uuid::new_v4(),
                steps: 5,
            }),
            Some(state) => shared.on_event(&RunEvent::RunFinished {
                workflow,
                state,
                elapsed: Duration::ZERO,
            }),
        };
        run("etl", None);
        run("etl", None);
        assert_eq!((bar.position(), bar.message()), (0, "2 running".to_owned()));
        // A nested workflow inside one of them is not a run of the batch.
        run("enrich", None);
        shared.on_event(&finished("x", StepState::Completed));
        run("enrich", Some(WorkflowState::Completed));
        assert_eq!(bar.position(), 0);

        run("etl", Some(WorkflowState::Completed));
        run("etl", Some(WorkflowState::Failed));
        assert_eq!(
            (bar.position(), bar.message()),
            (2, "0 running, 1 failed".to_owned())
        );
        run("etl", None);
        run("etl", Some(WorkflowState::PartialSuccess));
        assert_eq!(bar.position(), 3);
        assert!(bar.is_finished());
        assert_eq!(bar.message(), "2 ok, 1 failed");
        assert_eq!(bar.prefix(), "etl");
    }

    /// A terminal that keeps everything written to it, 80 columns wide.
    #[derive(Debug, Default)]
    struct Recorder(Mutex<String>);

    impl Recorder {
        fn text(&self) -> String {
            self.0.lock().unwrap().clone()
        }
    }

    impl indicatif::TermLike for Recorder {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push_str(&format!("{s}\n"));
            Ok(())
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            // Where a frame is redrawn: one frame per line of the record.
            self.0.lock().unwrap().push('\r');
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The same terminal behind the `Box` indicatif takes.
    #[derive(Debug)]
    struct Shared(Arc<Recorder>);

    impl indicatif::TermLike for Shared {
        fn width(&self) -> u16 {
            self.0.width()
        }
        fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
            self.0.move_cursor_up(n)
        }
        fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
            self.0.move_cursor_down(n)
        }
        fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
            self.0.move_cursor_right(n)
        }
        fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
            self.0.move_cursor_left(n)
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.0.write_line(s)
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.0.write_str(s)
        }
        fn clear_line(&self) -> std::io::Result<()> {
            self.0.clear_line()
        }
        fn flush(&self) -> std::io::Result<()> {
            self.0.flush()
        }
    }

    /// An observer drawing with its own template on `term`, as its stderr bars do.
    fn on_term(counting: Counting, term: &Arc<Recorder>) -> ProgressObserver {
        let (len, template) = match counting {
            Counting::Steps => (0, STEPS_TEMPLATE),
            Counting::Runs(total) => (total, RUNS_TEMPLATE),
        };
        let bar = ProgressBar::with_draw_target(
            Some(len),
            indicatif::ProgressDrawTarget::term_like(Box::new(Shared(Arc::clone(term)))),
        );
        bar.set_style(ProgressStyle::with_template(template).unwrap());
        ProgressObserver::build(counting, bar, LineEnd::Term(term.clone()))
    }

    /// The frames drawn, one per entry, without the padding.
    fn frames(text: &str) -> Vec<&str> {
        text.split(['\r', '\n'])
            .map(str::trim_end)
            .filter(|f| !f.is_empty())
            .collect()
    }

    #[test]
    fn no_frame_says_zero_of_zero_and_the_last_one_ends_its_line() {
        let term = Arc::new(Recorder::default());
        let progress = on_term(Counting::Steps, &term);
        for round in 0..2 {
            progress.on_event(&RunEvent::RunStarted {
                workflow: "etl",
                workflow_id: Uuid::nil(),
                steps: 2,
            });
            progress.on_event(&started("a", 1));
            progress.on_event(&finished("a", StepState::Completed));
            progress.on_event(&finished("b", StepState::Completed));
            progress.on_event(&RunEvent::RunFinished {
                workflow: "etl",
                state: WorkflowState::Completed,
                elapsed: Duration::from_millis(2),
            });
            let text = term.text();
            let frames = frames(&text);
            assert!(
                frames.iter().all(|f| !f.contains("0/0")),
                "round {round}: {frames:#?}"
            );
            // The final frame, then the line ended: what comes next starts a new line.
            let last = frames.last().unwrap();
            assert!(
                last.contains("2/2 steps") && last.contains("etl completed in"),
                "{last}"
            );
            assert!(text.ends_with("\n"), "round {round}: {text:?}");
            assert_eq!(
                text.matches('\n').count(),
                round + 1,
                "one newline per round"
            );
        }
    }

    #[test]
    fn a_batch_bar_ends_its_line_once_every_run_finished() {
        let term = Arc::new(Recorder::default());
        let progress = on_term(Counting::Runs(2), &term);
        for _ in 0..2 {
            progress.on_event(&RunEvent::RunStarted {
                workflow: "etl",
                workflow_id: Uuid::new_v4(),
                steps: 5,
            });
        }
        progress.on_event(&RunEvent::RunFinished {
            workflow: "etl",
            state: WorkflowState::Completed,
            elapsed: Duration::ZERO,
        });
        assert!(!term.text().contains('\n'));
        progress.on_event(&RunEvent::RunFinished {
            workflow: "etl",
            state: WorkflowState::Completed,
            elapsed: Duration::ZERO,
        });
        let text = term.text();
        assert!(text.ends_with("\n"), "{text:?}");
        assert!(
            frames(&text)
                .last()
                .unwrap()
                .contains("2/2 runs  2 ok, 0 failed")
        );
    }

    #[test]
    fn the_stderr_bar_hides_itself_off_a_terminal() {
        let bar = ProgressObserver::new();
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        // What indicatif's `ProgressDrawTarget::stderr()` promises, checked where we run:
        // under CI and `cargo test | tee` stderr is no tty, and nothing may be drawn.
        assert_eq!(
            bar.bar().is_hidden(),
            !std::io::stderr().is_terminal() || dumb
        );
        assert_eq!(
            ProgressObserver::runs(4).bar().is_hidden(),
            bar.bar().is_hidden()
        );
    }
}
