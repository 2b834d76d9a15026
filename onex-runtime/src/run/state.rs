//! The bookkeeping of one run: step states, records, thunks, counters, and the report
//! they become.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::driven::{Ended, note};
use super::execution::{CallId, Execution};
use super::outcome::Outcome;
use super::records::Records;
use super::straggler::Straggler;
use crate::model::FailureStrategy;
use crate::model::NodeError;
use crate::model::{
    AttemptRecord, CompensationRecord, SkipReason, StragglerOutcome, WorkflowReport,
};
use crate::model::{StepState, WorkflowState};
use crate::policy::panic::contain;
use crate::program::erased::Erased;

pub(crate) struct RunState {
    pub(crate) run: usize,
    pub(crate) strategy: FailureStrategy,
    pub(crate) states: Vec<StepState>,
    /// Calls of each running step not yet applied.
    pub(crate) remaining: Vec<usize>,
    pub(crate) records: Option<Records>,
    pub(crate) first_failure: Option<(usize, NodeError)>,
    /// No new steps start: a failure under fail-fast or compensate, or an interruption.
    pub(crate) stopped: bool,
    pub(crate) interrupted: Option<NodeError>,
    pub(crate) parallel_executions: usize,
    pub(crate) load_balanced_operations: usize,
    pub(crate) cache_hits: usize,
    pub(crate) compensations_run: usize,
    /// Stragglers still running when the run ended.
    pub(crate) stuck_calls: usize,
    pub(crate) started_at: SystemTime,
    /// The last clock reading, as an offset from the run's start (records only).
    pub(crate) clock: Duration,
    /// Calls that ended since the run's last boundary, for its step driver (if it has one).
    pub(crate) ended: Vec<Ended>,
}

impl RunState {
    /// A run that has not started a step, started at `started_at` (one clock reading for
    /// every input of a batch: they start together).
    pub(crate) fn new(
        program: &Arc<Erased>,
        run: usize,
        strategy: FailureStrategy,
        records: bool,
        started_at: SystemTime,
    ) -> Self {
        let graph = program.graph();
        let n = graph.steps().len();
        RunState {
            run,
            strategy,
            states: vec![StepState::Pending; n],
            remaining: vec![0; n],
            records: records.then(|| Records::new(program, started_at)),
            first_failure: None,
            stopped: false,
            interrupted: None,
            parallel_executions: 0,
            load_balanced_operations: 0,
            cache_hits: 0,
            compensations_run: 0,
            stuck_calls: 0,
            started_at,
            clock: Duration::ZERO,
            ended: Vec::new(),
        }
    }

    /// Reads the clock: what follows starts now.
    pub(crate) fn tick(&mut self, sh: &Execution) {
        if self.records.is_some() {
            self.clock = sh.elapsed();
        }
    }

    /// Sets the clock to a reading shared by several runs (lock-step batches).
    pub(crate) fn set_clock(&mut self, now: Duration) {
        self.clock = now;
    }

    /// Decides whether `step` runs, and if so emits its thunks and marks it running.
    /// Returns the number of calls to make (0 when it does not run).
    pub(crate) fn begin_step(&mut self, sh: &Execution, step: usize) -> usize {
        let graph = sh.program.graph();
        let spec = graph.step(step);
        for &d in spec.deps.iter() {
            let usable = match self.states[d] {
                StepState::Completed => true,
                StepState::Skipped => spec.optional_deps.contains(&d),
                _ => false,
            };
            if !usable {
                let reason = SkipReason::InputNotProduced {
                    step: graph.step(d).name.to_string(),
                };
                self.skip(sh, step, reason);
                return 0;
            }
        }
        // Indexed only where a step needs its inputs here: a fused batch keeps the slots of
        // its (plain) runs out of `sh`.
        let slots = || &sh.slots[self.run];
        if spec.conditional {
            match contain(&spec.name, || sh.program.condition(slots(), step)) {
                Ok(true) => {}
                Ok(false) => {
                    self.skip(sh, step, SkipReason::ConditionFalse);
                    return 0;
                }
                Err(e) => {
                    self.fail_step(sh, step, e);
                    return 0;
                }
            }
        }
        let width = if spec.map {
            match contain(&spec.name, || sh.program.width(slots(), step)) {
                Ok(w) => w,
                Err(e) => {
                    self.fail_step(sh, step, e);
                    return 0;
                }
            }
        } else {
            1
        };
        self.states[step] = StepState::Running;
        self.remaining[step] = width;
        tracing::trace!(step = %spec.name, node_type = %spec.node_type, width, "step started");
        if let Some(records) = &mut self.records {
            // The last time read: a step starts when the one before it ended (sequential)
            // or when its wave began (`tick`), so starting costs no clock read.
            let elapsed = self.clock;
            let first = records.thunk_count();
            for item in 0..width {
                let operation_data = sh.capture.then(|| {
                    let c = CallId {
                        run: self.run,
                        step,
                        item,
                    };
                    sh.program.operation_data(slots(), sh.call(c, 1))
                });
                records.push_thunk(step, item, operation_data, elapsed);
            }
            records.start_step(step, first, elapsed, width);
        }
        if width == 0 {
            // A `map` over an empty list: nothing to call, an empty output.
            self.finish_step(sh, step);
        }
        width
    }

    /// Applies a finished call.
    pub(crate) fn apply(&mut self, sh: &Execution, outcome: Outcome) {
        note(sh, &mut self.ended, &outcome);
        let step = outcome.call.step;
        if outcome.cache_hit {
            self.cache_hits += 1;
        }
        if let Some(records) = &mut self.records {
            let map = sh.program.graph().step(step).map;
            let record = &mut records.steps[step];
            record.attempts += outcome.attempts;
            record.max_attempts = record.max_attempts.max(outcome.attempts);
            record.cache_hits += u32::from(outcome.cache_hit);
            if outcome.result.is_ok() && !outcome.cache_hit && !map {
                // The output is the last attempt's: an abandoned one never publishes.
                record.output_attempt = Some(outcome.attempts);
            }
            let step_started = record.started.unwrap_or_default();
            if !outcome.failed.is_empty() {
                records
                    .rare(step)
                    .failed_attempts
                    .extend(outcome.failed.into_iter().map(|mut a| {
                        // A first attempt made inline starts with its step (see
                        // `attempt_sync`).
                        if a.started.is_zero() {
                            a.started = step_started;
                        }
                        a
                    }));
            }
        }
        self.remaining[step] = self.remaining[step].saturating_sub(1);
        match outcome.result {
            Ok(()) => {
                let spec = sh.program.graph().step(step);
                if spec.is_undoable() {
                    sh.effect_completed(outcome.call);
                }
                if self.remaining[step] == 0 && self.states[step] == StepState::Running {
                    self.finish_step(sh, step);
                }
            }
            Err(e) if e.code() == crate::ErrorCode::Cancelled && self.stopped => {
                // A call stopped because the run was already stopping: not a new failure.
                if self.states[step] == StepState::Running {
                    self.end_step(sh, step, StepState::Cancelled, Some(e));
                }
            }
            Err(e) => {
                if self.states[step] == StepState::Running {
                    self.fail_step(sh, step, e);
                }
            }
        }
    }

    fn finish_step(&mut self, sh: &Execution, step: usize) {
        let spec = sh.program.graph().step(step);
        let finished = if spec.map {
            contain(&spec.name, || sh.program.finish(&sh.slots[self.run], step))
        } else {
            Ok(())
        };
        match finished {
            Ok(()) => self.end_step(sh, step, StepState::Completed, None),
            Err(e) => self.fail_step(sh, step, e),
        }
    }

    pub(crate) fn fail_step(&mut self, sh: &Execution, step: usize, error: NodeError) {
        let spec = sh.program.graph().step(step);
        tracing::warn!(step = %spec.name, node_type = %spec.node_type, error = %error, "step failed");
        if self.first_failure.is_none() {
            self.first_failure = Some((step, error.clone()));
        }
        self.end_step(sh, step, StepState::Failed, Some(error));
        if self.strategy != FailureStrategy::ContinueOnError {
            self.stopped = true;
            sh.abort(self.run);
        }
    }

    fn skip(&mut self, sh: &Execution, step: usize, reason: SkipReason) {
        tracing::debug!(step = %sh.program.graph().step(step).name, reason = %reason, "step skipped");
        self.states[step] = StepState::Skipped;
        if let Some(observer) = sh.observer() {
            observer.on_event(&crate::RunEvent::StepSkipped {
                step: &sh.program.graph().step(step).name,
                reason: &reason,
            });
        }
        if let Some(records) = &mut self.records {
            let record = &mut records.steps[step];
            record.state = StepState::Skipped;
            records.rare(step).skip_reason = Some(reason);
        }
    }

    fn end_step(
        &mut self,
        sh: &Execution,
        step: usize,
        state: StepState,
        error: Option<NodeError>,
    ) {
        self.states[step] = state;
        let mut elapsed = Duration::ZERO;
        if let Some(records) = &mut self.records {
            let record = &mut records.steps[step];
            record.state = state;
            self.clock = sh.elapsed();
            record.finished = Some(self.clock);
            if record.started.is_none() {
                record.started = record.finished;
            }
            elapsed = record.duration().unwrap_or_default();
            records.set_error(step, error);
        }
        if let Some(observer) = sh.observer() {
            observer.on_event(&crate::RunEvent::StepFinished {
                step: &sh.program.graph().step(step).name,
                state,
                elapsed,
            });
        }
    }

    /// Restarts `step`'s clock: its first call starts now, not when its wave began (calls
    /// of a wave made one after another on the executor's thread).
    pub(crate) fn call_starts_now(&mut self, sh: &Execution, c: CallId) {
        if let Some(records) = &mut self.records
            && c.item == 0
        {
            self.clock = sh.elapsed();
            records.steps[c.step].started = Some(self.clock);
        }
    }

    /// Records what became of `late`, a straggler of its call, on the failed attempt it
    /// was (added when its driver went away before it could record it).
    pub(crate) fn record_straggler(&mut self, late: &Straggler, outcome: StragglerOutcome) {
        let Some(records) = &mut self.records else {
            return;
        };
        let c = late.call;
        let failed = &mut records.rare(c.step).failed_attempts;
        match failed
            .iter_mut()
            .find(|a| a.item == c.item && a.attempt == late.attempt)
        {
            Some(record) => record.straggler = Some(outcome),
            None => failed.push(AttemptRecord {
                attempt: late.attempt,
                item: c.item,
                started: late.started,
                finished: late.abandoned,
                error: late.why.clone(),
                straggler: Some(outcome),
            }),
        }
    }

    /// Records that the compensation of the orphan of straggler `attempt` of `c` ran.
    pub(crate) fn record_orphan_undone(
        &mut self,
        c: CallId,
        attempt: u32,
        result: Result<(), NodeError>,
    ) {
        let Some(records) = &mut self.records else {
            return;
        };
        let Some(rare) = records.rare_mut(c.step) else {
            return;
        };
        if let Some(record) = rare
            .failed_attempts
            .iter_mut()
            .find(|a| a.item == c.item && a.attempt == attempt)
        {
            record.straggler = Some(match result {
                Ok(()) => StragglerOutcome::Compensated,
                Err(error) => StragglerOutcome::CompensationFailed { error },
            });
        }
    }

    /// Records the compensation of completed call `c`. A `map` step compensates each
    /// item; its record keeps the first failure.
    pub(crate) fn record_compensation(&mut self, c: CallId, record: CompensationRecord) {
        let Some(records) = &mut self.records else {
            return;
        };
        let step = records.rare(c.step);
        match &mut step.compensation {
            Some(kept) if kept.state == StepState::Failed => {}
            Some(kept) => {
                kept.finished = record.finished;
                kept.state = record.state;
                kept.error = record.error;
            }
            None => step.compensation = Some(record),
        }
    }

    /// Marks every step that did not reach a final state as cancelled.
    pub(crate) fn cancel_unfinished(&mut self, sh: &Execution, why: &NodeError) {
        for step in 0..self.states.len() {
            match self.states[step] {
                StepState::Running => {
                    self.end_step(sh, step, StepState::Cancelled, Some(why.clone()))
                }
                StepState::Pending => {
                    self.states[step] = StepState::Cancelled;
                    if let Some(records) = &mut self.records {
                        records.steps[step].state = StepState::Cancelled;
                    }
                    if let Some(observer) = sh.observer() {
                        observer.on_event(&crate::RunEvent::StepFinished {
                            step: &sh.program.graph().step(step).name,
                            state: StepState::Cancelled,
                            elapsed: Duration::ZERO,
                        });
                    }
                }
                _ => {}
            }
        }
    }

    /// The run's final state.
    pub(crate) fn final_state(&self, output: usize) -> WorkflowState {
        if self.interrupted.is_some() {
            return WorkflowState::Cancelled;
        }
        let failed = self.first_failure.is_some();
        match self.states[output] {
            StepState::Completed if failed && self.strategy != FailureStrategy::ContinueOnError => {
                WorkflowState::Failed
            }
            StepState::Completed if failed => WorkflowState::PartialSuccess,
            StepState::Completed => WorkflowState::Completed,
            _ => WorkflowState::Failed,
        }
    }

    /// The report of the run, which took `processing_time` (see `WorkflowReport`).
    pub(crate) fn report(
        &mut self,
        sh: &Execution,
        options: &crate::RunOptions,
        processing_time: Duration,
    ) -> WorkflowReport {
        let graph = sh.program.graph();
        let ctx = &sh.contexts[self.run];
        // One pass over the step states, not one per counter.
        let (mut completed, mut failed, mut skipped, mut cancelled) = (0, 0, 0, 0);
        for state in &self.states {
            match state {
                StepState::Completed => completed += 1,
                StepState::Failed => failed += 1,
                StepState::Skipped => skipped += 1,
                StepState::Cancelled => cancelled += 1,
                _ => {}
            }
        }
        let (steps, thunks) = match self.records.take() {
            Some(records) => records.into_lists(),
            None => Default::default(),
        };
        WorkflowReport {
            workflow: graph.name_cow(),
            workflow_id: ctx.workflow_id(),
            operation_id: ctx.operation_id(),
            state: self.final_state(graph.output()),
            mode: sh.mode,
            failure_strategy: self.strategy,
            steps_completed: completed,
            steps_failed: failed,
            steps_skipped: skipped,
            steps_cancelled: cancelled,
            parallel_executions: self.parallel_executions,
            load_balanced_operations: self.load_balanced_operations,
            cache_hits: self.cache_hits,
            compensations_run: self.compensations_run,
            stuck_calls: self.stuck_calls,
            started_at: self.started_at,
            processing_time,
            records: !options.records_off,
            thunks_emitted: thunks,
            steps,
            metadata: options.metadata.clone(),
        }
    }
}
