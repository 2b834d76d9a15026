//! [`RunObserver`]: live events from a run, for progress displays and custom telemetry.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::model::NodeError;
use crate::model::SkipReason;
use crate::model::{StepState, WorkflowState};

/// Something that watches runs as they happen: a progress bar, a log line per step, a
/// metrics exporter.
///
/// The executor calls [`on_event`](Self::on_event) inline, on whatever thread runs the
/// step (a tokio worker or a rayon thread), so an observer must be cheap and must not
/// block; hand heavy work to a channel. Events of one step arrive in order
/// (`StepStarted`, maybe `StepRetried` and `StepStarted` again, then `StepFinished`);
/// events of steps running concurrently interleave. Set one on a run with
/// [`RunOptions::observer`](crate::RunOptions::observer); pass the same `Arc` to several
/// runs to watch them all. Any `Fn(&RunEvent)` closure is an observer.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use onex::{RunEvent, RunObserver, RunOptions, StepState};
///
/// let finished = Arc::new(Mutex::new(Vec::new()));
/// let seen = Arc::clone(&finished);
/// let observer = move |event: &RunEvent<'_>| {
///     if let RunEvent::StepFinished { step, .. } = event {
///         seen.lock().unwrap().push(step.to_string());
///     }
/// };
/// let options = RunOptions::new().observer(Arc::new(observer));
/// # let observer = options.get_observer().unwrap();
///
/// // What the executor does when a step ends:
/// observer.on_event(&RunEvent::StepFinished {
///     step: "fetch",
///     state: StepState::Completed,
///     elapsed: std::time::Duration::from_millis(3),
/// });
/// assert_eq!(*finished.lock().unwrap(), ["fetch"]);
/// ```
pub trait RunObserver: Send + Sync + 'static {
    /// Called for every event of every run this observer is set on.
    fn on_event(&self, event: &RunEvent<'_>);
}

impl<F: Fn(&RunEvent<'_>) + Send + Sync + 'static> RunObserver for F {
    fn on_event(&self, event: &RunEvent<'_>) {
        self(event)
    }
}

// `RunOptions` is `Debug`; an observer is opaque, so it shows as its trait name.
impl fmt::Debug for dyn RunObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RunObserver")
    }
}

/// One thing that happened in a run, as a [`RunObserver`] sees it.
///
/// Borrowed, so the executor allocates nothing to report it. New kinds of events may be
/// added, so a `match` needs a `_` arm.
///
/// # Examples
///
/// ```
/// use onex::{RunEvent, SkipReason};
///
/// let reason = SkipReason::ConditionFalse;
/// let event = RunEvent::StepSkipped { step: "fast", reason: &reason };
/// assert_eq!(event.step(), Some("fast"));
/// assert_eq!(event.to_string(), "step fast skipped: condition was false");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum RunEvent<'a> {
    /// A run began.
    RunStarted {
        /// The workflow's name.
        workflow: &'a str,
        /// The run's id.
        workflow_id: Uuid,
        /// How many steps the workflow has.
        steps: usize,
    },
    /// An attempt of a step (of one element, for a `map` step) began.
    StepStarted {
        /// The step's name.
        step: &'a str,
        /// The node's type name.
        node_type: &'a str,
        /// The step's wave.
        wave: usize,
        /// The `map` element (0 for other steps).
        item: usize,
        /// The attempt number, from 1.
        attempt: u32,
    },
    /// An attempt failed with a transient error and will be retried after `delay`.
    StepRetried {
        /// The step's name.
        step: &'a str,
        /// The attempt that failed, from 1.
        attempt: u32,
        /// Why it failed.
        error: &'a NodeError,
        /// The backoff before the next attempt.
        delay: Duration,
    },
    /// A step ended: completed, failed or cancelled.
    StepFinished {
        /// The step's name.
        step: &'a str,
        /// How it ended.
        state: StepState,
        /// How long it ran, retries included.
        elapsed: Duration,
    },
    /// A step was skipped without running.
    StepSkipped {
        /// The step's name.
        step: &'a str,
        /// Why.
        reason: &'a SkipReason,
    },
    /// A run ended.
    RunFinished {
        /// The workflow's name.
        workflow: &'a str,
        /// How it ended.
        state: WorkflowState,
        /// How long it took.
        elapsed: Duration,
    },
}

impl RunEvent<'_> {
    /// The step the event is about, if it is about a step.
    pub fn step(&self) -> Option<&str> {
        match *self {
            RunEvent::StepStarted { step, .. }
            | RunEvent::StepRetried { step, .. }
            | RunEvent::StepFinished { step, .. }
            | RunEvent::StepSkipped { step, .. } => Some(step),
            RunEvent::RunStarted { .. } | RunEvent::RunFinished { .. } => None,
        }
    }
}

/// One line per event, as a log would print it:
///
/// ```
/// use std::time::Duration;
/// use onex::{RunEvent, StepState};
///
/// let e = RunEvent::StepFinished { step: "fetch", state: StepState::Completed, elapsed: Duration::from_millis(5) };
/// assert_eq!(e.to_string(), "step fetch finished COMPLETED in 5ms");
/// ```
impl fmt::Display for RunEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunEvent::RunStarted {
                workflow,
                workflow_id,
                steps,
            } => write!(f, "run {workflow} {workflow_id} started: {steps} steps"),
            RunEvent::StepStarted {
                step,
                node_type,
                wave,
                item,
                attempt,
            } => {
                write!(f, "step {step} ({node_type}) started in wave {wave}")?;
                if *item > 0 {
                    write!(f, ", item {item}")?;
                }
                write!(f, ", attempt {attempt}")
            }
            RunEvent::StepRetried {
                step,
                attempt,
                error,
                delay,
            } => write!(
                f,
                "step {step} attempt {attempt} failed ({error}); retrying in {delay:?}"
            ),
            RunEvent::StepFinished {
                step,
                state,
                elapsed,
            } => write!(
                f,
                "step {step} finished {} in {elapsed:?}",
                state_name(state)
            ),
            RunEvent::StepSkipped { step, reason } => write!(f, "step {step} skipped: {reason}"),
            RunEvent::RunFinished {
                workflow,
                state,
                elapsed,
            } => write!(
                f,
                "run {workflow} finished {} in {elapsed:?}",
                state_name(state)
            ),
        }
    }
}

/// The serde name of a state (`COMPLETED`), the spelling reports and logs share.
fn state_name(state: &impl serde::Serialize) -> String {
    match serde_json::to_value(state) {
        Ok(serde_json::Value::String(name)) => name,
        _ => "?".to_owned(),
    }
}

/// Several observers as one: each event goes to each, in order.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use onex::{ObserverSet, RunEvent, RunObserver, SkipReason};
///
/// let count = Arc::new(AtomicUsize::new(0));
/// let (a, b) = (Arc::clone(&count), Arc::clone(&count));
/// let both = ObserverSet::new()
///     .with(Arc::new(move |_: &RunEvent<'_>| { a.fetch_add(1, Ordering::Relaxed); }))
///     .with(Arc::new(move |_: &RunEvent<'_>| { b.fetch_add(1, Ordering::Relaxed); }));
/// both.on_event(&RunEvent::StepSkipped { step: "s", reason: &SkipReason::ConditionFalse });
/// assert_eq!(count.load(Ordering::Relaxed), 2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ObserverSet {
    observers: Vec<Arc<dyn RunObserver>>,
}

impl ObserverSet {
    /// No observers.
    pub fn new() -> Self {
        ObserverSet::default()
    }

    /// The same set with one more observer.
    pub fn with(mut self, observer: Arc<dyn RunObserver>) -> Self {
        self.observers.push(observer);
        self
    }

    /// Adds an observer.
    pub fn push(&mut self, observer: Arc<dyn RunObserver>) {
        self.observers.push(observer);
    }

    /// How many observers the set holds.
    pub fn len(&self) -> usize {
        self.observers.len()
    }

    /// Whether the set holds no observer.
    pub fn is_empty(&self) -> bool {
        self.observers.is_empty()
    }
}

impl RunObserver for ObserverSet {
    fn on_event(&self, event: &RunEvent<'_>) {
        for observer in &self.observers {
            observer.on_event(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use uuid::Uuid;

    use super::*;
    use crate::model::RunOptions;

    /// One of each event, as an executor would send them for a retried step and a skip.
    fn script(error: &NodeError, reason: &SkipReason) -> Vec<RunEvent<'static>> {
        // Leaking is fine in a test: the events borrow for 'static.
        let error: &'static NodeError = Box::leak(Box::new(error.clone()));
        let reason: &'static SkipReason = Box::leak(Box::new(reason.clone()));
        vec![
            RunEvent::RunStarted {
                workflow: "etl",
                workflow_id: Uuid::nil(),
                steps: 3,
            },
            RunEvent::StepStarted {
                step: "fetch",
                node_type: "NodeDataFetcherEffect",
                wave: 0,
                item: 0,
                attempt: 1,
            },
            RunEvent::StepRetried {
                step: "fetch",
                attempt: 1,
                error,
                delay: Duration::from_millis(100),
            },
            RunEvent::StepStarted {
                step: "fetch",
                node_type: "NodeDataFetcherEffect",
                wave: 0,
                item: 0,
                attempt: 2,
            },
            RunEvent::StepFinished {
                step: "fetch",
                state: StepState::Completed,
                elapsed: Duration::from_millis(130),
            },
            RunEvent::StepSkipped {
                step: "fast",
                reason,
            },
            RunEvent::StepStarted {
                step: "pages",
                node_type: "fetch_page",
                wave: 1,
                item: 3,
                attempt: 1,
            },
            RunEvent::StepFinished {
                step: "pages",
                state: StepState::Failed,
                elapsed: Duration::from_millis(20),
            },
            RunEvent::RunFinished {
                workflow: "etl",
                state: WorkflowState::Failed,
                elapsed: Duration::from_millis(160),
            },
        ]
    }

    #[test]
    fn a_closure_is_an_observer_and_sees_every_event_in_order() {
        let log = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = Arc::clone(&log);
        let options = RunOptions::new().observer(Arc::new(move |event: &RunEvent<'_>| {
            sink.lock().unwrap().push(event.to_string())
        }));
        // Options are cloned per run; the clone shares the observer.
        let observer = Arc::clone(options.clone().get_observer().unwrap());
        let error = NodeError::transient("connection reset");
        for event in script(&error, &SkipReason::ConditionFalse) {
            observer.on_event(&event);
        }
        assert_eq!(
            *log.lock().unwrap(),
            [
                "run etl 00000000-0000-0000-0000-000000000000 started: 3 steps",
                "step fetch (NodeDataFetcherEffect) started in wave 0, attempt 1",
                "step fetch attempt 1 failed (RESOURCE_UNAVAILABLE: connection reset); retrying in 100ms",
                "step fetch (NodeDataFetcherEffect) started in wave 0, attempt 2",
                "step fetch finished COMPLETED in 130ms",
                "step fast skipped: condition was false",
                "step pages (fetch_page) started in wave 1, item 3, attempt 1",
                "step pages finished FAILED in 20ms",
                "run etl finished FAILED in 160ms",
            ]
        );
    }

    #[test]
    fn events_name_their_step() {
        let error = NodeError::transient("x");
        let events = script(&error, &SkipReason::ConditionFalse);
        let steps: Vec<Option<&str>> = events.iter().map(|e| e.step()).collect();
        assert_eq!(steps.first(), Some(&None));
        assert_eq!(steps.last(), Some(&None));
        assert!(steps[1..steps.len() - 1].iter().all(Option::is_some));
    }

    #[test]
    fn options_with_an_observer_stay_debug_and_clone() {
        let options = RunOptions::new().observer(Arc::new(|_: &RunEvent<'_>| {}));
        let shown = format!("{:?}", options.clone());
        assert!(shown.contains("observer: Some(RunObserver)"), "{shown}");
        assert!(format!("{:?}", RunOptions::new()).contains("observer: None"));
    }

    #[test]
    fn an_observer_set_forwards_to_each() {
        let log = Arc::new(Mutex::new(Vec::<&'static str>::new()));
        let (a, b) = (Arc::clone(&log), Arc::clone(&log));
        let mut set = ObserverSet::new().with(Arc::new(move |_: &RunEvent<'_>| {
            a.lock().unwrap().push("a")
        }));
        set.push(Arc::new(move |_: &RunEvent<'_>| {
            b.lock().unwrap().push("b")
        }));
        assert_eq!(set.len(), 2);
        set.on_event(&RunEvent::StepSkipped {
            step: "s",
            reason: &SkipReason::ConditionFalse,
        });
        assert_eq!(*log.lock().unwrap(), ["a", "b"]);
    }
}
