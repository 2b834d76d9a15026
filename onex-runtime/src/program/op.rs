//! Every [`Program`](crate::Program) operation other than the hot synchronous call, as one
//! visitor ([`AnyOp`]) and its answer ([`OpAnswer`]).

use crate::model::NodeError;
use crate::policy::{CacheEntry, KeyHasher};
use crate::program::dispatch::StepOp;
use crate::program::invoke::Invoke;
use crate::program::{Call, StepFuture};
use crate::store::Store;

/// Every [`Program`](crate::Program) operation on one step but the synchronous call, in
/// one visitor: the dispatch `match` a workflow generates (one arm per step) is
/// instantiated for this and for
/// [`CallOp`](crate::program::dispatch::CallOp), instead of once per operation. The
/// synchronous call, the hot path of a run, has its own so that its arms hold nothing
/// else; the arms of this one call code compiled once per node type. [`OpAnswer`] holds the
/// answer; each `Program` method takes out its own.
///
/// # Examples
///
/// ```
/// # use onex_runtime::__private::{Inspect, AnyOp};
/// # fn f(call: onex_runtime::Call<'_>) {
/// let _ = AnyOp::CallAsync(call);
/// let _ = AnyOp::Inspect(Inspect::OperationData);
/// # }
/// ```
#[derive(Clone, Copy)]
pub enum AnyOp<'s, 'v> {
    /// [`Program::call_async`](crate::Program::call_async): the boxed future of the call.
    CallAsync(Call<'s>),
    /// Compensation, caching or input capture.
    Inspect(Inspect<'s, 'v>),
}

/// The operations of an [`AnyOp`] other than calls.
///
/// # Examples
///
/// ```
/// # use onex_runtime::__private::{Inspect, AnyOp};
/// let _ = AnyOp::Inspect(Inspect::OperationData);
/// let _ = Inspect::CacheStore(0); // the call's item
/// ```
#[derive(Clone, Copy)]
pub enum Inspect<'s, 'v> {
    /// [`Program::compensate`](crate::Program::compensate): the compensation of the call's
    /// stored output.
    Compensate(Call<'s>),
    /// [`Program::input_hash`](crate::Program::input_hash), with the runtime's hasher.
    InputHash(KeyHasher<'v>),
    /// [`Program::cache_store`](crate::Program::cache_store), for the call's item.
    CacheStore(usize),
    /// [`Program::cache_load`](crate::Program::cache_load): the cache entry and the call's
    /// item.
    CacheLoad(&'v CacheEntry, usize),
    /// [`Program::operation_data`](crate::Program::operation_data).
    OperationData,
}

/// What an [`AnyOp`] answered, one variant per operation.
///
/// # Examples
///
/// ```
/// # use onex_runtime::__private::OpAnswer;
/// assert_eq!(OpAnswer::Hash(Some(7)).hash(), Some(7));
/// assert_eq!(OpAnswer::Loaded(true).hash(), None); // another operation's answer
/// ```
pub enum OpAnswer<'s> {
    /// The future of an asynchronous call.
    Future(StepFuture<'s>),
    /// The compensation to run, if the node declares one.
    Compensation(Option<StepFuture<'s>>),
    /// The hash of the call's inputs, if the step can be cached.
    Hash(Option<u64>),
    /// A cache entry for the call.
    Stored(Option<CacheEntry>),
    /// Whether the cached value was stored as the call's output.
    Loaded(bool),
    /// The call's input, serialized.
    Data(serde_json::Value),
    /// The step index was out of range (an executor bug).
    Missing,
}

impl<'s> OpAnswer<'s> {
    /// The future of an asynchronous call; a failed one for another answer.
    pub fn future(self) -> StepFuture<'s> {
        match self {
            OpAnswer::Future(future) => future,
            other => Box::pin(std::future::ready(Err(other.unexpected()))),
        }
    }
    /// The compensation, or `None` for another answer.
    pub fn compensation(self) -> Option<StepFuture<'s>> {
        match self {
            OpAnswer::Compensation(future) => future,
            _ => None,
        }
    }
    /// The input hash, or `None` for another answer.
    pub fn hash(self) -> Option<u64> {
        match self {
            OpAnswer::Hash(hash) => hash,
            _ => None,
        }
    }
    /// The entry to cache, or `None` for another answer.
    pub fn stored(self) -> Option<CacheEntry> {
        match self {
            OpAnswer::Stored(value) => value,
            _ => None,
        }
    }
    /// Whether the cached value was loaded; `false` for another answer.
    pub fn loaded(self) -> bool {
        matches!(self, OpAnswer::Loaded(true))
    }
    /// The serialized input, or `null` for another answer.
    pub fn data(self) -> serde_json::Value {
        match self {
            OpAnswer::Data(value) => value,
            _ => serde_json::Value::Null,
        }
    }
    #[cold]
    fn unexpected(&self) -> NodeError {
        crate::program::node::internal_error(match self {
            OpAnswer::Missing => "step index out of range",
            _ => "a step operation answered another operation",
        })
    }
}

impl<'s> StepOp<'s> for AnyOp<'s, '_> {
    type Out = OpAnswer<'s>;
    // Compiled once per node type and slot type, out of line: the dispatch arms only call it.
    #[inline(never)]
    fn step<N: Invoke, S: Store<N::Output>>(self, slot: &'s S, args: N::Args<'s>) -> Self::Out
    where
        N::Output: Send + Sync + 'static,
    {
        match self {
            // A synchronous node is called in place, as `Program::call_async`'s default does.
            AnyOp::CallAsync(call) => OpAnswer::Future(if N::IS_ASYNC {
                let fut = N::call_async(call, args);
                Box::pin(async move {
                    let out = fut.await?;
                    slot.store(call.item, out);
                    Ok(())
                })
            } else {
                // `match`es rather than combinators here and below: each combinator is one
                // more generic function compiled per node type in the workflow's crate.
                let result = match N::call(call, args) {
                    Ok(out) => {
                        deliver::<N, S>(call, slot, out);
                        Ok(())
                    }
                    Err(e) => Err(e),
                };
                Box::pin(std::future::ready(result))
            }),
            AnyOp::Inspect(Inspect::Compensate(call)) => {
                OpAnswer::Compensation(if N::COMPENSATED {
                    match slot.stored(call.item) {
                        Some(out) => N::compensate(call, out),
                        None => None,
                    }
                } else {
                    None
                })
            }
            AnyOp::Inspect(Inspect::InputHash(hasher)) => OpAnswer::Hash(if S::CACHEABLE {
                hasher.hash_with(|h| N::hash(args, h))
            } else {
                None
            }),
            AnyOp::Inspect(Inspect::CacheStore(item)) => OpAnswer::Stored(if S::CACHEABLE {
                match slot.stored(item) {
                    Some(out) => N::cache_store(args, out),
                    None => None,
                }
            } else {
                None
            }),
            AnyOp::Inspect(Inspect::CacheLoad(entry, item)) => OpAnswer::Loaded(
                S::CACHEABLE
                    && match N::cache_load(args, entry) {
                        Some(out) => {
                            slot.store(item, out);
                            true
                        }
                        None => false,
                    },
            ),
            AnyOp::Inspect(Inspect::OperationData) => OpAnswer::Data(N::capture(args)),
        }
    }
    #[cold]
    fn missing(self) -> Self::Out {
        OpAnswer::Missing
    }
}

/// Stores the output of a synchronous call made through [`AnyOp::CallAsync`], unless the
/// executor abandoned the attempt at its timeout (see `exec::gate`): its output then goes
/// to the gate, typed, for the node's compensation, and the step's slot stays for the
/// attempt that owns it. Only the executors' timed attempts carry a gate; the hot path,
/// [`CallOp`](crate::program::dispatch::CallOp), has none to check.
#[inline]
fn deliver<N: Invoke, S: Store<N::Output>>(call: Call<'_>, slot: &S, out: N::Output)
where
    N::Output: Send + Sync + 'static,
{
    match call.gate {
        Some(gate) if !gate.claim() => gate.orphan(if N::COMPENSATED {
            Some(crate::program::gate::Orphan::new(
                Box::new(out),
                undo_kept::<N>,
            ))
        } else {
            None
        }),
        _ => slot.store(call.item, out),
    }
}

/// `N`'s compensation of a kept output (see [`deliver`]).
fn undo_kept<'a, N: Invoke>(
    call: Call<'a>,
    out: &'a (dyn std::any::Any + Send + Sync),
) -> Option<StepFuture<'a>>
where
    N::Output: 'static,
{
    match out.downcast_ref::<N::Output>() {
        Some(out) => N::compensate(call, out),
        None => None,
    }
}
