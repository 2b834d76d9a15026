//! A synchronous attempt made on another thread than its driver's: on the
//! [blocking pool](crate::policy::blocking) when it has a timeout, on the rayon pool otherwise (a
//! retry in a concurrent wave).
//!
//! The attempt runs behind a [`Gate`]. When its driver stops waiting for it — its timeout
//! fired, or the driver itself was dropped (the run was cancelled or stopped) — the attempt
//! is abandoned: if it had not started it never will; if it is running it can no longer
//! publish, and becomes a [straggler](super::straggler) that its run settles.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::oneshot;

use super::{started_event, step_span};
use crate::context::Runtime;
use crate::model::{ErrorCode, NodeError};
use crate::policy::panic::contain;
use crate::program::Call;
use crate::program::gate::{Abandon, Gate};
use crate::run::execution::{CallId, Execution};
use crate::run::outcome::{Attempt, lost_worker};
use crate::run::straggler::{Straggler, returned_late};

/// Makes attempt `attempt` of call `c` on another thread and waits for it, at most
/// `timeout` (on the blocking pool) or until it ends (on rayon).
pub(crate) async fn attempt(
    rt: &Runtime,
    sh: &Arc<Execution>,
    c: CallId,
    attempt: u32,
    timeout: Option<Duration>,
) -> Attempt {
    let started = sh.stamp();
    let gate = Arc::new(Gate::new());
    let (tx, rx) = oneshot::channel();
    let job = Job {
        shared: Arc::downgrade(sh),
        gate: Arc::clone(&gate),
        call: c,
        attempt,
        handle: tokio::runtime::Handle::try_current().ok(),
    };
    match timeout {
        Some(_) => rt.inner.blocking.spawn(move || job.run(tx)),
        None => rayon::spawn(move || job.run(tx)),
    }
    let mut waiting = Waiting {
        sh,
        call: c,
        attempt,
        started,
        gate,
        done: Some(rx),
    };
    let result = match timeout {
        Some(limit) => waiting.within(limit, rt.inner.blocking.size()).await,
        None => waiting.until_done().await,
    };
    Attempt {
        result,
        started,
        finished: sh.stamp(),
    }
}

/// What the thread that makes the attempt needs. It holds its run's shared part weakly, so
/// an attempt abandoned in the pool's queue keeps nothing of the run alive.
struct Job {
    shared: Weak<Execution>,
    gate: Arc<Gate>,
    call: CallId,
    attempt: u32,
    /// Where to compensate a late output once its run has ended.
    handle: Option<tokio::runtime::Handle>,
}

impl Job {
    fn run(self, report: oneshot::Sender<Result<(), NodeError>>) {
        if !self.gate.start() {
            // Abandoned before it started: it never runs.
            return;
        }
        let Some(sh) = self.shared.upgrade() else {
            return;
        };
        let c = self.call;
        let result = if sh.aborted(c.run) {
            Err(NodeError::cancelled())
        } else {
            let spec = sh.program.graph().step(c.step);
            let _span = step_span(&sh, c, self.attempt).entered();
            started_event(&sh, c, self.attempt);
            let call = Call {
                gate: Some(&self.gate),
                ..sh.call(c, self.attempt)
            };
            // A synchronous node's future is ready as soon as it is made: the call runs
            // here, and stores its output only if the gate lets it (see `Program::call_async`).
            crate::context::call_key::sync_scope(&sh.contexts[c.run], c.step, c.item, spec, || {
                contain(&spec.name, || {
                    sh.program
                        .call_async(&sh.slots[c.run], call)
                        .now_or_never()
                        .unwrap_or_else(|| {
                            Err(NodeError::internal("a synchronous call was not ready"))
                        })
                })
            })
        };
        if self.gate.abandoned() {
            let orphan = self.gate.take_orphan();
            returned_late(sh, c, self.attempt, result, orphan, self.handle, report);
        } else {
            // Let go of the slots before reporting, so whoever waits on us can take them back.
            drop(sh);
            let _ = report.send(result);
        }
    }
}

/// The driver's wait for an attempt. Dropped before the attempt reported, it abandons the
/// attempt and leaves it to its run to settle.
struct Waiting<'a> {
    sh: &'a Execution,
    call: CallId,
    attempt: u32,
    started: Duration,
    gate: Arc<Gate>,
    /// The attempt's report, until it arrives or the attempt is left to its run.
    done: Option<oneshot::Receiver<Result<(), NodeError>>>,
}

impl Waiting<'_> {
    async fn until_done(&mut self) -> Result<(), NodeError> {
        let Some(done) = self.done.as_mut() else {
            return Err(lost_worker());
        };
        let result = done.await.unwrap_or_else(|_| Err(lost_worker()));
        self.done = None;
        result
    }

    async fn within(&mut self, limit: Duration, threads: usize) -> Result<(), NodeError> {
        let Some(done) = self.done.as_mut() else {
            return Err(lost_worker());
        };
        if let Ok(received) = tokio::time::timeout(limit, done).await {
            self.done = None;
            return received.unwrap_or_else(|_| Err(lost_worker()));
        }
        match self.gate.abandon() {
            Abandon::BeforeStart => {
                self.done = None;
                Err(NodeError::new(
                    ErrorCode::Timeout,
                    format!(
                        "timed out after {limit:?} waiting for a thread of the blocking pool \
                         (all {threads} busy); the call did not run"
                    ),
                ))
            }
            Abandon::WhileRunning => {
                let error = NodeError::timeout(limit);
                self.leave(false, error.clone());
                Err(error)
            }
            // It published as the timeout fired: it succeeded, and reports at once.
            Abandon::TooLate => self.until_done().await,
        }
    }

    /// Leaves the attempt, abandoned (`why`), to its run to settle.
    fn leave(&mut self, published: bool, why: NodeError) {
        let Some(done) = self.done.take() else {
            return;
        };
        let abandoned = self.sh.stamp();
        let mut leftovers = self.sh.leftovers(self.call.run);
        if !leftovers.closed {
            leftovers.late.push(Straggler {
                call: self.call,
                attempt: self.attempt,
                started: self.started,
                abandoned,
                why,
                published,
                done,
            });
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.done.is_none() {
            return;
        }
        // Its run stopped (cancelled, its deadline passed, or another step failed).
        match self.gate.abandon() {
            Abandon::BeforeStart => {}
            Abandon::WhileRunning => self.leave(false, NodeError::cancelled()),
            Abandon::TooLate => self.leave(true, NodeError::cancelled()),
        }
    }
}
