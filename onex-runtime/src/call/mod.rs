//! One call, start to end: the policies composed around a node call, outermost first —
//! circuit breaker, cache, retry with backoff, timeout, panic containment.

mod off_thread;

use std::ops::Not;
use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

use crate::context::Runtime;
use crate::driver::{CallStart, Phase};
use crate::model::AttemptRecord;
use crate::model::NodeKind;
use crate::model::RunEvent;
use crate::model::{ErrorCode, NodeError, Thunk};
use crate::policy::circuit::Circuit;
use crate::policy::panic::{contain, contain_async};
use crate::policy::retry::next_delay;
use crate::policy::timeout::within;
use crate::program::erased::AnySlots;
use crate::run::execution::{CallId, Execution};
use crate::run::outcome::{Attempt, Outcome};

/// Where a synchronous attempt runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// On the executor's own thread (sequential runs, waves of one).
    Inline,
    /// On the rayon pool (concurrent waves), so CPU-bound steps use every core.
    Pool,
}

/// Makes one synchronous attempt on the current thread.
///
/// Clocks are read only when they tell something: a first attempt made inline starts when
/// its step started (`started` stays zero and the step's start is used), and a success
/// needs no end time of its own (the step's end is recorded).
pub(crate) fn attempt_sync(sh: &Execution, c: CallId, attempt: u32, place: Place) -> Attempt {
    attempt_sync_on(sh, &sh.slots[c.run], c, attempt, place)
}

/// [`attempt_sync`] on the given slots of the call's run (a fused batch keeps each run's
/// slots out of [`Execution`] so it can drop them when the run ends).
pub(crate) fn attempt_sync_on(
    sh: &Execution,
    slots: &AnySlots,
    c: CallId,
    attempt: u32,
    place: Place,
) -> Attempt {
    let started = if attempt > 1 || place == Place::Pool {
        sh.stamp()
    } else {
        Duration::ZERO
    };
    let result = if sh.aborted(c.run) {
        Err(NodeError::cancelled())
    } else {
        let spec = sh.program.graph().step(c.step);
        let _span = step_span(sh, c, attempt).entered();
        started_event(sh, c, attempt);
        let call = || {
            contain(&spec.name, || {
                sh.program.call_sync(slots, sh.call(c, attempt))
            })
        };
        // Only durable runs (which always have drivers) set the call's key.
        if sh.drivers.is_empty() {
            call()
        } else {
            crate::context::call_key::sync_scope(&sh.contexts[c.run], c.step, c.item, spec, call)
        }
    };
    let finished = if result.is_err() {
        sh.stamp()
    } else {
        Duration::ZERO
    };
    Attempt {
        result,
        started,
        finished,
    }
}

/// The tracing span of one attempt: free when no subscriber listens.
#[inline]
pub(crate) fn step_span(sh: &Execution, c: CallId, attempt: u32) -> tracing::Span {
    let spec = sh.program.graph().step(c.step);
    tracing::debug_span!(
        "step",
        workflow_id = %sh.contexts[c.run].workflow_id(),
        step = %spec.name,
        node_type = %spec.node_type,
        item = c.item,
        attempt,
    )
}

/// Tells the observer an attempt starts.
#[inline]
pub(crate) fn started_event(sh: &Execution, c: CallId, attempt: u32) {
    if let Some(observer) = sh.observer() {
        let graph = sh.program.graph();
        let spec = graph.step(c.step);
        observer.on_event(&RunEvent::StepStarted {
            step: &spec.name,
            node_type: &spec.node_type,
            wave: graph.wave_of(c.step),
            item: c.item,
            attempt,
        });
    }
}

/// Whether a step's calls are plain: synchronous, with no timeout, retries, cache or circuit.
#[inline]
pub(crate) fn is_plain(rt: &Runtime, sh: &Execution, step: usize) -> bool {
    let spec = sh.program.graph().step(step);
    spec.is_plain_sync()
        && !(sh.cache_all && spec.kind == NodeKind::Compute)
        && rt.inner.breakers.is_empty()
}

/// Settles a plain synchronous call on this thread without the policy machinery: no
/// timeout, no retries, no circuit, no cache. `None` when the call needs more than that.
#[inline]
pub(crate) fn settle_plain(rt: &Runtime, sh: &Execution, c: CallId) -> Option<Outcome> {
    if !is_plain(rt, sh, c.step) || sh.by_driver(c) {
        return None;
    }
    let made = attempt_sync(sh, c, 1, Place::Inline);
    Some(Outcome::from_first(c, made))
}

/// The circuit of the call's node type, if the runtime guards it.
#[inline]
pub(crate) fn circuit_of<'r>(rt: &'r Runtime, sh: &Execution, step: usize) -> Option<&'r Circuit> {
    if rt.inner.breakers.is_empty() {
        return None;
    }
    rt.inner
        .breakers
        .get(&*sh.program.graph().step(step).node_type)
}

/// Settles a call from a first attempt made elsewhere (a rayon group) when nothing more
/// is needed: it succeeded or failed for good, and no circuit or cache has to hear of it.
/// Gives the attempt back when the call must go through [`drive`] (a retry, a circuit, a
/// cache store).
#[inline]
pub(crate) fn settle_first(
    rt: &Runtime,
    sh: &Execution,
    c: CallId,
    made: Attempt,
) -> Result<Outcome, Attempt> {
    let spec = sh.program.graph().step(c.step);
    let simple = circuit_of(rt, sh, c.step).is_none() && cache_key_wanted(rt, sh, c.step).not();
    let final_failure = match &made.result {
        Ok(()) => true,
        Err(e) => sh.aborted(c.run) || next_delay(&spec.policy, e, 1).is_none(),
    };
    if !(simple && final_failure) {
        return Err(made);
    }
    Ok(Outcome::from_first(c, made))
}

#[inline]
fn cache_key_wanted(rt: &Runtime, sh: &Execution, step: usize) -> bool {
    let spec = sh.program.graph().step(step);
    (spec.policy.cache || (sh.cache_all && spec.kind == NodeKind::Compute))
        && rt.inner.cache.is_on(&spec.node_type)
}

/// Checks that a first attempt may be made: the circuit admits it, or the cache answers it.
/// `Some(outcome)` means the call is settled without calling the node.
pub(crate) fn precheck(rt: &Runtime, sh: &Execution, c: CallId) -> Option<Outcome> {
    if let Some(circuit) = circuit_of(rt, sh, c.step)
        && let Err(e) = circuit.admit(&sh.program.graph().step(c.step).node_type)
    {
        return Some(Outcome {
            call: c,
            result: Err(e),
            attempts: 0,
            failed: Vec::new(),
            cache_hit: false,
            recorded: false,
        });
    }
    let key = cache_key(rt, sh, c)?;
    let spec = sh.program.graph().step(c.step);
    let entry = rt.inner.cache.get(&spec.node_type, key)?;
    // The hash found a candidate; the inputs decide (a collision is a miss).
    let loaded = cache_op(&spec.name, || {
        sh.program
            .cache_load(&sh.slots[c.run], sh.call(c, 1), &entry)
            .then_some(())
    });
    loaded?;
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
        recorded: false,
    })
}

fn cache_key(rt: &Runtime, sh: &Execution, c: CallId) -> Option<u64> {
    if !cache_key_wanted(rt, sh, c.step) {
        return None;
    }
    let spec = sh.program.graph().step(c.step);
    let hasher = rt.inner.cache.hasher(&spec.node_type);
    cache_op(&spec.name, || {
        sh.program
            .input_hash(&sh.slots[c.run], sh.call(c, 1), hasher)
    })
}

/// Runs a cache operation, which runs user code (the inputs' `Hash`, `Eq` and `Clone`, the
/// output's `Clone`), with its panics contained: a panic there costs the call its caching,
/// not the run (nothing is stored in the step's slot before that code has returned).
fn cache_op<T>(step: &str, op: impl FnOnce() -> Option<T>) -> Option<T> {
    match contain(step, || Ok(op())) {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!(step, error = %e, "caching skipped");
            None
        }
    }
}

/// Drives a call through its attempts. `first` is a first attempt already made elsewhere
/// (in a rayon group); otherwise the call must have passed [`precheck`].
pub(crate) async fn drive(
    rt: &Runtime,
    sh: &Arc<Execution>,
    c: CallId,
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
                recorded: false,
            };
        }
        let made = match first.take() {
            Some(made) => made,
            None => make_attempt(rt, sh, c, attempt, place).await,
        };
        if let Some(circuit) = circuit {
            match &made.result {
                Err(e) if e.code() == ErrorCode::Cancelled => circuit.release(),
                result => circuit.record(result.is_ok()),
            }
        }
        match made.result {
            Ok(()) => {
                if let Some(key) = cache_key(rt, sh, c)
                    && let Some(entry) = cache_op(&spec.name, || {
                        sh.program
                            .cache_store(&sh.slots[c.run], sh.call(c, attempt))
                    })
                {
                    rt.inner.cache.put(&spec.node_type, key, entry);
                }
                return Outcome {
                    call: c,
                    result: Ok(()),
                    attempts: attempt,
                    failed,
                    cache_hit: false,
                    recorded: false,
                };
            }
            Err(error) => {
                failed.push(AttemptRecord {
                    attempt,
                    item: c.item,
                    started: made.started,
                    finished: made.finished,
                    error: error.clone(),
                    straggler: None,
                });
                let delay = if sh.aborted(c.run) {
                    None
                } else {
                    next_delay(&policy, &error, attempt)
                };
                let Some(delay) = delay else {
                    return Outcome {
                        call: c,
                        result: Err(error),
                        attempts: attempt,
                        failed,
                        cache_hit: false,
                        recorded: false,
                    };
                };
                tracing::info!(
                    workflow_id = %sh.contexts[c.run].workflow_id(),
                    step = %spec.name,
                    node_type = %spec.node_type,
                    attempt,
                    error = %error,
                    delay_ms = delay.as_secs_f64() * 1000.0,
                    "retrying step"
                );
                if let Some(observer) = sh.observer() {
                    observer.on_event(&RunEvent::StepRetried {
                        step: &spec.name,
                        attempt,
                        error: &error,
                        delay,
                    });
                }
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
        }
    }
}

/// One attempt with the step's timeout. An asynchronous attempt is a future, dropped at
/// its deadline. A synchronous one with a timeout runs on the runtime's blocking pool, and
/// one in a concurrent wave on the rayon pool; either is abandoned, not stopped, when its
/// driver stops waiting (see [`off_thread`](super::off_thread)).
async fn make_attempt(
    rt: &Runtime,
    sh: &Arc<Execution>,
    c: CallId,
    attempt: u32,
    place: Place,
) -> Attempt {
    let spec = sh.program.graph().step(c.step);
    let timeout = spec.policy.timeout;
    if let Some(thunk) = sh.handoff(c) {
        return Box::pin(driver_attempt(sh, c, attempt, thunk)).await;
    }
    if spec.is_async {
        let started = sh.stamp();
        started_event(sh, c, attempt);
        let fut = contain_async(
            &spec.name,
            sh.program.call_async(&sh.slots[c.run], sh.call(c, attempt)),
        );
        let fut = crate::context::call_key::scope(&sh.contexts[c.run], c.step, c.item, spec, fut)
            .instrument(step_span(sh, c, attempt));
        // Dropping the future at the deadline cancels the step: the node stops at the
        // `.await` it is suspended at, and the output it had not returned is never stored.
        let result = within(timeout, fut).await;
        return Attempt {
            result,
            started,
            finished: sh.stamp(),
        };
    }
    if timeout.is_none() && place == Place::Inline {
        return attempt_sync(sh, c, attempt, place);
    }
    off_thread::attempt(rt, sh, c, attempt, timeout).await
}

/// One attempt of a call the run's [step driver](crate::driver) makes: its thunk goes to
/// the driver, and the serialized output it returns into the step's slot; bounded by the
/// step's timeout, like any attempt.
async fn driver_attempt(sh: &Execution, c: CallId, attempt: u32, thunk: Thunk) -> Attempt {
    let spec = sh.program.graph().step(c.step);
    let started = sh.stamp();
    started_event(sh, c, attempt);
    let start = CallStart::new(c.step, c.item, Phase::Call, spec);
    let call = async {
        let value = sh.drivers[c.run].call(&start, thunk).await?;
        sh.program
            .load_output(&sh.slots[c.run], sh.call(c, attempt), value)
    };
    let result = within(spec.policy.timeout, contain_async(&spec.name, call))
        .instrument(step_span(sh, c, attempt))
        .await;
    Attempt {
        result,
        started,
        finished: sh.stamp(),
    }
}
