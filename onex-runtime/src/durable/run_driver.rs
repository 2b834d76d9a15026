//! [`JournalRun`]: the [`RunDriver`] of one durable run, which journals each boundary in
//! one write and answers, from the journal, the calls an earlier process made.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use super::Durable;
use super::heartbeat::{Heartbeat, LeaseCell};
use crate::context::call_key::step_key;
use crate::driver::{CallEnd, CallStart, DriverFuture, Phase, Route, RunDriver};
use crate::journal::{JournalError, RunStatus, StepEntry, StepKey, Write};
use crate::model::{ErrorCode, NodeError, NodeKind, StepSpec, Thunk, WorkflowState};

/// A step call's key as the journal's entries are kept by: index and item.
type EntryKey = (u32, Option<u32>);

/// What a durable run found in the journal when it started, for its driver.
pub(crate) struct Opened {
    pub(crate) run_id: Arc<str>,
    /// `None` for a finished run, which is replayed from its journal and takes no writes.
    pub(crate) lease: Option<Arc<LeaseCell>>,
    /// The journaled entries that still hold (on a changed graph, only those of unchanged
    /// steps).
    pub(crate) entries: Vec<StepEntry>,
    /// The run's journaled status (`Running` for a new run).
    pub(crate) status: RunStatus,
}

/// The driver of one durable run. See the [module documentation](super) for the rules.
pub(crate) struct JournalRun {
    durable: Arc<Durable>,
    run_id: Arc<str>,
    lease: Option<Arc<LeaseCell>>,
    inner: Option<Box<dyn RunDriver>>,
    state: Mutex<State>,
    _heartbeat: Option<Heartbeat>,
}

/// What the driver learns as the run goes.
struct State {
    entries: HashMap<EntryKey, StepEntry>,
    /// Journaled status: `IN_DOUBT` after a crash is set back to `RUNNING` by the first write.
    status: RunStatus,
    /// Outcomes of calls the inner driver settled (its `Done` / `Fail`), for the next write.
    pending: Vec<Write>,
    /// The call found in doubt that stopped the run.
    in_doubt: Option<NodeError>,
    /// The journal failed: the run stops and its status is left for a resume.
    faulted: bool,
}

impl JournalRun {
    pub(crate) fn new(
        durable: Arc<Durable>,
        opened: Opened,
        inner: Option<Box<dyn RunDriver>>,
        on_lost: impl FnOnce() + Send + 'static,
    ) -> Self {
        let heartbeat = opened.lease.as_ref().map(|cell| {
            Heartbeat::start(
                Arc::clone(&durable.journal),
                Arc::clone(cell),
                durable.ttl,
                on_lost,
            )
        });
        let entries = opened
            .entries
            .into_iter()
            .map(|e| ((e.step.index, e.step.item), e))
            .collect();
        JournalRun {
            durable,
            run_id: opened.run_id,
            lease: opened.lease,
            inner,
            state: Mutex::new(State {
                entries,
                status: opened.status,
                pending: Vec::new(),
                in_doubt: None,
                faulted: false,
            }),
            _heartbeat: heartbeat,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `writes` in one commit, and keeps the entries they change.
    async fn write(&self, mut writes: Vec<Write>) -> Result<(), NodeError> {
        {
            let mut state = self.state();
            if state.status == RunStatus::InDoubt && !writes.is_empty() {
                writes.insert(0, Write::Status(RunStatus::Running));
            }
            let pending = std::mem::take(&mut state.pending);
            writes.splice(0..0, pending);
        }
        if writes.is_empty() {
            return Ok(());
        }
        let Some(cell) = &self.lease else {
            return Err(NodeError::permanent(format!(
                "durable run `{}` is finished, and this call is not in its journal: a finished \
                 run is replayed from the journal, never run again",
                self.run_id
            ))
            .with_code(ErrorCode::InvalidInput));
        };
        if let Some(lost) = cell.lost() {
            return Err(self.journal_failed(&lost));
        }
        let lease = cell.get();
        let result = self.durable.journal.write(&lease, writes.clone()).await;
        let mut state = self.state();
        match result {
            Ok(()) => {
                state.apply(writes);
                Ok(())
            }
            Err(error) => {
                cell.note(&error);
                state.faulted = true;
                Err(self.journal_failed(&error))
            }
        }
    }

    fn journal_failed(&self, error: &JournalError) -> NodeError {
        let what = if error.is_lease_lost() {
            "lost its lease: another process owns the run now"
        } else {
            "cannot be journaled"
        };
        NodeError::permanent(format!(
            "durable run `{}` {what}, so it stops and nothing more runs unjournaled: {error}",
            self.run_id
        ))
        .with_code(ErrorCode::ResourceUnavailable)
    }

    fn in_doubt_error(&self, key: &StepKey, compensation: bool) -> NodeError {
        let what = if compensation {
            "the compensation of "
        } else {
            ""
        };
        NodeError::permanent(format!(
            "durable run `{run}` is in doubt: {what}{key} was started (its intent is journaled) \
             but its outcome is not, and the node is not idempotent, so it is not called again. \
             The run stops IN_DOUBT until an operator resolves the call \
             (Runtime::resolve(\"{run}\", \"{name}\", Resolution::Done | Retry | Abort)) and \
             resumes the run",
            run = self.run_id,
            name = key.name,
        ))
        .with_code(ErrorCode::OperationFailed)
    }
}

impl State {
    /// Keeps what `writes` (journaled) changed.
    fn apply(&mut self, writes: Vec<Write>) {
        let now = std::time::SystemTime::now();
        for write in writes {
            match write {
                Write::Status(status) => self.status = status,
                Write::Step { step, change } => {
                    let entry = self
                        .entries
                        .entry((step.index, step.item))
                        .or_insert_with(|| StepEntry::new(step.clone()));
                    // Already checked by the journal.
                    let _ = entry.apply(change, now);
                }
            }
        }
    }

    /// Whether the journal has an intent of `key`'s call without an outcome: only then is
    /// its outcome ours to write.
    fn in_flight(&self, key: &StepKey, phase: Phase) -> bool {
        self.entries
            .get(&(key.index, key.item))
            .is_some_and(|e| match phase {
                Phase::Call => e.is_in_doubt(),
                Phase::Compensation => e.is_compensation_in_doubt(),
            })
    }
}

/// Whether a call left in doubt may be made again: a compute or reducer step is pure, an
/// idempotent effect says so.
fn may_rerun(spec: &StepSpec) -> bool {
    spec.kind != NodeKind::Effect || spec.delivery.may_rerun()
}

/// The outcome of an ended call, as the journal stores it.
fn outcome(end: &CallEnd<'_>) -> Result<Vec<u8>, NodeError> {
    if let Err(error) = end.result {
        return Err(error.clone());
    }
    match end.output {
        Some(Ok(value)) => serde_json::to_vec(value).map_err(|e| {
            NodeError::internal(format!(
                "the output of step `{}` did not serialize: {e}",
                end.spec.name
            ))
        }),
        Some(Err(error)) => Err(error.clone()),
        None => Err(NodeError::internal(format!(
            "step `{}` completed, but its workflow does not serialize outputs",
            end.spec.name
        ))),
    }
}

/// What the journal says about a starting call.
enum Known {
    /// Nothing, or an intent that may be made again: make it (after this intent).
    Fresh(Write),
    /// Settled: answer this.
    Settled(Route),
    /// In doubt, and not to be made again.
    InDoubt(StepKey),
}

impl JournalRun {
    fn known(&self, state: &State, start: &CallStart<'_>) -> Known {
        let key = step_key(start.step, start.item, start.spec);
        let entry = state.entries.get(&(key.index, key.item));
        match start.phase {
            Phase::Call => match entry {
                Some(e) if e.outcome.is_some() => Known::Settled(match e.output() {
                    Some(bytes) => match serde_json::from_slice::<Value>(bytes) {
                        Ok(value) => Route::Done(value),
                        Err(err) => Route::Fail(NodeError::internal(format!(
                            "the journaled output of {key} is not JSON: {err}"
                        ))),
                    },
                    None => Route::Fail(
                        e.outcome
                            .as_ref()
                            .and_then(|o| o.result.as_ref().err())
                            .cloned()
                            .unwrap_or_else(|| NodeError::internal("no outcome")),
                    ),
                }),
                Some(e) if e.is_in_doubt() && !may_rerun(start.spec) => Known::InDoubt(key),
                Some(e) => {
                    let attempt = e.intent.as_ref().map_or(1, |i| i.attempt + 1);
                    Known::Fresh(Write::intent(key, attempt))
                }
                None => Known::Fresh(Write::intent(key, 1)),
            },
            Phase::Compensation => match entry {
                Some(e) if e.compensation_outcome.is_some() => {
                    Known::Settled(Route::Done(Value::Null))
                }
                Some(e) if e.is_compensation_in_doubt() && !may_rerun(start.spec) => {
                    Known::InDoubt(key)
                }
                Some(e) => {
                    let attempt = e.compensation_intent.as_ref().map_or(1, |i| i.attempt + 1);
                    Known::Fresh(Write::compensation_intent(key, attempt))
                }
                None => Known::Fresh(Write::compensation_intent(key, 1)),
            },
        }
    }

    async fn boundary(
        &self,
        ended: &[CallEnd<'_>],
        starting: &[CallStart<'_>],
    ) -> Result<Vec<Route>, NodeError> {
        let mut writes = Vec::with_capacity(ended.len() + starting.len() + 1);
        let mut routes: Vec<Option<Route>> = vec![None; starting.len()];
        let mut fresh: Vec<(usize, Write)> = Vec::new();
        let mut doubt = None;
        {
            let state = self.state();
            if let Some(error) = &state.in_doubt {
                return Err(error.clone());
            }
            for end in ended {
                let key = step_key(end.step, end.item, end.spec);
                if !state.in_flight(&key, end.phase) {
                    continue;
                }
                writes.push(match end.phase {
                    Phase::Call => Write::outcome(key, outcome(end), end.attempts.max(1)),
                    Phase::Compensation => Write::compensation_outcome(
                        key,
                        end.result.map_err(NodeError::clone),
                        end.attempts.max(1),
                    ),
                });
            }
            for (i, start) in starting.iter().enumerate() {
                match self.known(&state, start) {
                    Known::Settled(route) => routes[i] = Some(route),
                    Known::Fresh(intent) => fresh.push((i, intent)),
                    Known::InDoubt(key) => {
                        doubt.get_or_insert((key, start.phase == Phase::Compensation));
                    }
                }
            }
            if starting.iter().any(|s| s.phase == Phase::Compensation)
                && state.status != RunStatus::Compensating
                && !fresh.is_empty()
            {
                writes.push(Write::Status(RunStatus::Compensating));
            }
        }
        if let Some((key, compensation)) = doubt {
            // What ended is journaled; nothing else starts.
            self.write(writes).await?;
            let error = self.in_doubt_error(&key, compensation);
            self.state().in_doubt = Some(error.clone());
            return Err(error);
        }
        // The calls the journal does not know are routed by the inner driver, if any.
        let fresh_starts: Vec<CallStart<'_>> = fresh.iter().map(|&(i, _)| starting[i]).collect();
        let inner_routes = match &self.inner {
            Some(inner) if !fresh_starts.is_empty() || !ended.is_empty() => {
                let routes = inner.checkpoint(ended, &fresh_starts).await?;
                if routes.len() != fresh_starts.len() {
                    return Err(NodeError::internal(format!(
                        "a step driver answered {} routes for {} calls",
                        routes.len(),
                        fresh_starts.len()
                    )));
                }
                routes
            }
            _ => vec![Route::Local; fresh_starts.len()],
        };
        let mut settled_by_inner = Vec::new();
        for ((i, intent), route) in fresh.into_iter().zip(inner_routes) {
            let key = intent.step().cloned();
            match (&route, key, starting[i].phase) {
                (Route::Done(value), Some(key), Phase::Call) => {
                    writes.push(intent);
                    settled_by_inner.push(Write::outcome(
                        key,
                        serde_json::to_vec(value).map_err(|e| NodeError::internal(e.to_string())),
                        1,
                    ));
                }
                (Route::Fail(error), Some(key), Phase::Call) => {
                    writes.push(intent);
                    settled_by_inner.push(Write::outcome(key, Err(error.clone()), 1));
                }
                (Route::Done(_) | Route::Fail(_), _, Phase::Compensation) => {}
                _ => writes.push(intent),
            }
            routes[i] = Some(route);
        }
        writes.extend(settled_by_inner);
        self.write(writes).await?;
        Ok(routes
            .into_iter()
            .map(|r| r.unwrap_or(Route::Local))
            .collect())
    }

    async fn finish(&self, final_state: WorkflowState) -> Result<(), NodeError> {
        let Some(cell) = &self.lease else {
            return Ok(());
        };
        let (in_doubt, faulted) = {
            let state = self.state();
            (state.in_doubt.is_some(), state.faulted)
        };
        if cell.lost().is_some() {
            return Ok(());
        }
        let journal = &self.durable.journal;
        if faulted {
            // Left as it is, to be resumed once the store works again.
            let _ = journal.release_lease(&cell.get()).await;
            return Ok(());
        }
        let status = if in_doubt {
            RunStatus::InDoubt
        } else {
            RunStatus::from(final_state)
        };
        if let Err(error) = self.write(vec![Write::Status(status)]).await {
            if cell.lost().is_none() {
                let _ = journal.release_lease(&cell.get()).await;
            }
            return Err(error);
        }
        if !status.is_finished() {
            journal
                .release_lease(&cell.get())
                .await
                .map_err(|e| self.journal_failed(&e))?;
        } else if let Some(retention) = &self.durable.retention {
            journal
                .prune(retention)
                .await
                .map_err(|e| self.journal_failed(&e))?;
        }
        Ok(())
    }
}

impl RunDriver for JournalRun {
    fn checkpoint<'a>(
        &'a self,
        ended: &'a [CallEnd<'a>],
        starting: &'a [CallStart<'a>],
    ) -> DriverFuture<'a, Vec<Route>> {
        Box::pin(self.boundary(ended, starting))
    }

    fn call<'a>(&'a self, call: &'a CallStart<'a>, thunk: Thunk) -> DriverFuture<'a, Value> {
        match &self.inner {
            Some(inner) => inner.call(call, thunk),
            None => Box::pin(async move {
                Err(NodeError::internal(format!(
                    "step `{}` was routed to a journal, which makes no calls",
                    call.spec.name
                )))
            }),
        }
    }

    fn close<'a>(&'a self, state: WorkflowState) -> DriverFuture<'a, ()> {
        Box::pin(async move {
            let finished = self.finish(state).await;
            if let Some(inner) = &self.inner {
                inner.close(state).await?;
            }
            finished
        })
    }
}

/// The error a single durable run stops with when its heartbeat finds its lease lost.
pub(crate) fn lease_lost() -> NodeError {
    NodeError::permanent(
        "the durable run lost its lease: another process owns the run now, so this one \
         stopped its in-flight steps and writes nothing more",
    )
    .with_code(ErrorCode::Cancelled)
}
