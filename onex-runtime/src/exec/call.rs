//! One call, start to end: the policies composed around a node call, outermost first —
//! circuit breaker, cache, retry with backoff, timeout, panic containment.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use super::shared::{CallRef, Shared};
use crate::error::{ErrorCode, NodeError};
use crate::graph::NodeKind;
use crate::policy::circuit::Circuit;
use crate::policy::panic::{contain, contain_async};
use crate::program::Program;
use crate::report::AttemptRecord;
use crate::runtime::Runtime;

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
    pub(crate) call: CallRef,
    pub(crate) result: Result<(), NodeError>,
    pub(crate) attempts: u32,
    pub(crate) failed: Vec<AttemptRecord>,
    pub(crate) cache_hit: bool,
}

/// Where a synchronous attempt runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// On the executor's own thread (sequential runs, waves of one).
    Inline,
    /// On the rayon pool (concurrent waves), so CPU-bound steps use every core.
    Pool,
}

/// Makes one synchronous attempt on the current thread.
pub(crate) fn attempt_sync<P: Program>(sh: &Shared<P>, c: CallRef, attempt: u32) -> Attempt {
    let started = sh.elapsed();
    let result = if sh.aborted(c.run) {
        Err(NodeError::cancelled())
    } else {
        let name = &sh.program.graph().step(c.step).name;
        contain(name, || {
            sh.program.call_sync(&sh.slots[c.run], sh.call(c, attempt))
        })
    };
    Attempt {
        result,
        started,
        finished: sh.elapsed(),
    }
}

/// The circuit of the call's node type, if the runtime guards it.
pub(crate) fn circuit_of<'r, P: Program>(
    rt: &'r Runtime,
    sh: &Shared<P>,
    step: usize,
) -> Option<&'r Circuit> {
    if rt.inner.breakers.is_empty() {
        return None;
    }
    rt.inner
        .breakers
        .get(&*sh.program.graph().step(step).node_type)
}

/// Checks that a first attempt may be made: the circuit admits it, or the cache answers it.
/// `Some(outcome)` means the call is settled without calling the node.
pub(crate) fn precheck<P: Program>(rt: &Runtime, sh: &Shared<P>, c: CallRef) -> Option<Outcome> {
    if let Some(circuit) = circuit_of(rt, sh, c.step)
        && let Err(e) = circuit.admit(&sh.program.graph().step(c.step).node_type)
    {
        return Some(Outcome {
            call: c,
            result: Err(e),
            attempts: 0,
            failed: Vec::new(),
            cache_hit: false,
        });
    }
    let key = cache_key(sh, c)?;
    let spec = sh.program.graph().step(c.step);
    let hit = rt.inner.cache.get(&spec.node_type, key)?;
    if !sh.program.cache_load(&sh.slots[c.run], sh.call(c, 1), &hit) {
        return None;
    }
    if let Some(circuit) = circuit_of(rt, sh, c.step) {
        // The admission taken above was not used for a call.
        circuit.release();
    }
    Some(Outcome {
        call: c,
        result: Ok(()),
        attempts: 0,
        failed: Vec::new(),
        cache_hit: true,
    })
}

fn cache_key<P: Program>(sh: &Shared<P>, c: CallRef) -> Option<u64> {
    let spec = sh.program.graph().step(c.step);
    let cacheable = spec.policy.cache || (sh.cache_all && spec.kind == NodeKind::Compute);
    if !cacheable {
        return None;
    }
    sh.program.input_hash(&sh.slots[c.run], sh.call(c, 1))
}

/// Drives a call through its attempts. `first` is a first attempt already made elsewhere
/// (in a rayon group); otherwise the call must have passed [`precheck`].
pub(crate) async fn drive<P: Program>(
    rt: &Runtime,
    sh: &Arc<Shared<P>>,
    c: CallRef,
    mut first: Option<Attempt>,
    place: Place,
) -> Outcome {
    let spec = sh.program.graph().step(c.step);
    let policy = spec.policy;
    let circuit = circuit_of(rt, sh, c.step);
    let mut failed = Vec::new();
    let mut attempt = 1;
    loop {
        if attempt > 1
            && let Some(circuit) = circuit
            && let Err(e) = circuit.admit(&spec.node_type)
        {
            return Outcome {
                call: c,
                result: Err(e),
                attempts: attempt - 1,
                failed,
                cache_hit: false,
            };
        }
        let made = match first.take() {
            Some(made) => made,
            None => make_attempt(sh, c, attempt, place).await,
        };
        if let Some(circuit) = circuit {
            match &made.result {
                Err(e) if e.code() == ErrorCode::Cancelled => circuit.release(),
                result => circuit.record(result.is_ok()),
            }
        }
        match made.result {
            Ok(()) => {
                if let Some(key) = cache_key(sh, c)
                    && let Some(value) = sh
                        .program
                        .cache_store(&sh.slots[c.run], sh.call(c, attempt))
                {
                    rt.inner.cache.put(&spec.node_type, key, value);
                }
                return Outcome {
                    call: c,
                    result: Ok(()),
                    attempts: attempt,
                    failed,
                    cache_hit: false,
                };
            }
            Err(error) => {
                failed.push(AttemptRecord {
                    attempt,
                    item: c.item,
                    started: made.started,
                    finished: made.finished,
                    error: error.clone(),
                });
                let retry = error.is_transient() && attempt <= policy.retries && !sh.aborted(c.run);
                if !retry {
                    return Outcome {
                        call: c,
                        result: Err(error),
                        attempts: attempt,
                        failed,
                        cache_hit: false,
                    };
                }
                let delay = policy.backoff.delay(attempt);
                tracing::debug!(
                    step = %spec.name,
                    attempt,
                    error = %error,
                    delay_ms = delay.as_secs_f64() * 1000.0,
                    "retrying step"
                );
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
        }
    }
}

/// One attempt with the step's timeout; synchronous attempts with a timeout, or in
/// concurrent waves, run on the rayon pool.
async fn make_attempt<P: Program>(
    sh: &Arc<Shared<P>>,
    c: CallRef,
    attempt: u32,
    place: Place,
) -> Attempt {
    let spec = sh.program.graph().step(c.step);
    let timeout = spec.policy.timeout;
    if spec.is_async {
        let started = sh.elapsed();
        let fut = contain_async(
            &spec.name,
            sh.program.call_async(&sh.slots[c.run], sh.call(c, attempt)),
        );
        let result = match timeout {
            // Dropping the future at the deadline cancels the step.
            Some(limit) => tokio::time::timeout(limit, fut)
                .await
                .unwrap_or_else(|_| Err(NodeError::timeout(limit))),
            None => fut.await,
        };
        return Attempt {
            result,
            started,
            finished: sh.elapsed(),
        };
    }
    if timeout.is_none() && place == Place::Inline {
        return attempt_sync(sh, c, attempt);
    }
    let started = sh.elapsed();
    let (tx, mut rx) = oneshot::channel();
    let job = Arc::clone(sh);
    rayon::spawn(move || {
        let made = attempt_sync(&job, c, attempt);
        // Let go of the slots before reporting, so whoever waits on us can take them back.
        drop(job);
        let _ = tx.send(made.result);
    });
    let result = match timeout {
        Some(limit) => match tokio::time::timeout(limit, &mut rx).await {
            Ok(received) => received.unwrap_or_else(|_| Err(lost_worker())),
            Err(_) => {
                // A synchronous call cannot be stopped: the step fails now and its late
                // result is discarded when it arrives.
                sh.stragglers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(rx);
                Err(NodeError::timeout(limit))
            }
        },
        None => rx.await.unwrap_or_else(|_| Err(lost_worker())),
    };
    Attempt {
        result,
        started,
        finished: sh.elapsed(),
    }
}

fn lost_worker() -> NodeError {
    NodeError::internal("a rayon worker ended without reporting its result")
}
