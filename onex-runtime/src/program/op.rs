//! Generic glue between the code `workflow!` generates and the nodes it calls.
//!
//! A workflow's per-step code used to be written out in full for every step: one match arm
//! per step in each of seven [`Program`](crate::Program) methods, each with its own `async`
//! state machine and argument conversions. Written once here as generic code instead, it is
//! type-checked once and monomorphized once per node type (plus slot kind), not once per
//! step; the macro only emits one match that tells, for each step, which node it calls,
//! which slot it fills and where its arguments come from ([`Visit`]). In release builds the
//! generic layers inline away, so the synchronous call path is the same direct call as
//! before: no dynamic dispatch, no allocation.

use std::future::Future;
use std::hash::Hasher;

use crate::model::NodeError;
use crate::policy::{CacheEntry, KeyHasher};
use crate::program::node::{Node, wrong_shim};
use crate::program::{Call, StepFuture};
use crate::store::{MapSlot, Slot};

/// A node's uniform calling convention, implemented by the proxy type `#[node]` emits (and
/// by workflow types, which nest as orchestrator nodes).
///
/// Every input comes as an `Option<&T>`, so `Option<&T>` parameters (which still run when
/// their input step was skipped) and `&T` parameters look the same to generic callers.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{Node, Shim};
/// use onex_runtime::{Call, NodeError, NodeKind, StepFuture, StepPolicy};
///
/// struct Double;
/// impl Node for Double {
///     type Output = u64;
///     const NAME: &'static str = "Double";
///     const KIND: NodeKind = NodeKind::Compute;
///     const IS_ASYNC: bool = false;
///     const POLICY: StepPolicy = StepPolicy::DEFAULT;
///     const COMPENSATED: bool = false;
///     const ARITY: usize = 1;
/// }
/// impl Shim for Double {
///     type Args<'a> = (Option<&'a u64>,);
///     fn call(_: Call<'_>, (x,): Self::Args<'_>) -> Result<u64, NodeError> {
///         Ok(x.map_or(0, |x| x * 2))
///     }
///     fn call_async<'a>(
///         call: Call<'a>,
///         args: Self::Args<'a>,
///     ) -> impl Future<Output = Result<u64, NodeError>> + Send + 'a {
///         std::future::ready(Self::call(call, args))
///     }
///     fn capture(_: Self::Args<'_>) -> serde_json::Value { serde_json::Value::Null }
///     fn compensate<'a>(_: Call<'a>, _: &'a u64) -> Option<StepFuture<'a>> { None }
/// }
/// ```
pub trait Shim: Node {
    /// The step's arguments: `(Option<&A>, Option<&B>, ..)`, one per parameter in order.
    type Args<'a>;

    /// Calls a synchronous node (an asynchronous one answers with an internal error).
    fn call(call: Call<'_>, args: Self::Args<'_>) -> Result<Self::Output, NodeError>;

    /// Calls the node through its asynchronous entry point (a synchronous node is called in
    /// place and its result is ready at once).
    fn call_async<'a>(
        call: Call<'a>,
        args: Self::Args<'a>,
    ) -> impl Future<Output = Result<Self::Output, NodeError>> + Send + 'a
    where
        Self::Output: Send;

    /// Feeds the inputs to `hasher`, to find the call's cache entry by; `false` when the
    /// node is not cached (the default).
    fn hash(args: Self::Args<'_>, hasher: &mut dyn Hasher) -> bool {
        let _ = (args, hasher);
        false
    }

    /// The inputs as JSON for a thunk's `operation_data` (`Null` where not `Serialize`).
    fn capture(args: Self::Args<'_>) -> serde_json::Value;

    /// A cache entry for a call on `args` that returned `out`: copies of both; `None` when
    /// the node is not cached (the default).
    fn cache_store(args: Self::Args<'_>, out: &Self::Output) -> Option<CacheEntry> {
        let _ = (args, out);
        None
    }

    /// The cached output of `entry` if it was made for inputs equal to `args`; `None`
    /// otherwise, or when the node is not cached (the default).
    fn cache_load(args: Self::Args<'_>, entry: &CacheEntry) -> Option<Self::Output> {
        let _ = (args, entry);
        None
    }

    /// The compensation of a completed call, if the node declares one.
    fn compensate<'a>(call: Call<'a>, out: &'a Self::Output) -> Option<StepFuture<'a>>;
}

/// The output type of a node: what its step's slot holds.
///
/// # Examples
///
/// ```
/// # use onex_runtime::__private::{Node, Out};
/// # use onex_runtime::{NodeKind, StepPolicy};
/// # struct Len;
/// # impl Node for Len {
/// #     type Output = usize;
/// #     const NAME: &'static str = "Len";
/// #     const KIND: NodeKind = NodeKind::Compute;
/// #     const IS_ASYNC: bool = false;
/// #     const POLICY: StepPolicy = StepPolicy::DEFAULT;
/// #     const COMPENSATED: bool = false;
/// #     const ARITY: usize = 1;
/// # }
/// let n: Out<Len> = 3_usize;
/// ```
pub type Out<N> = <N as Node>::Output;

/// The slot of a plain step calling node `N`.
///
/// # Examples
///
/// ```
/// # use onex_runtime::__private::{SlotOf, Node};
/// # use onex_runtime::{NodeKind, StepPolicy};
/// # struct Len;
/// # impl Node for Len {
/// #     type Output = usize;
/// #     const NAME: &'static str = "Len";
/// #     const KIND: NodeKind = NodeKind::Compute;
/// #     const IS_ASYNC: bool = false;
/// #     const POLICY: StepPolicy = StepPolicy::DEFAULT;
/// #     const COMPENSATED: bool = false;
/// #     const ARITY: usize = 1;
/// # }
/// let slot: SlotOf<Len> = Default::default();
/// assert!(slot.get().is_none());
/// ```
pub type SlotOf<N> = Slot<Out<N>>;

/// Where a step's output goes: a [`Slot`] for a plain step, a [`MapSlot`] (one item per
/// element) for a `map` step.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{MapSlot, Slot, Store};
/// let plain = Slot::new();
/// plain.store(7, "ignored item index");
/// assert_eq!(plain.stored(0), Some(&"ignored item index"));
/// assert!(<Slot<&str> as Store<&str>>::CACHEABLE && !<MapSlot<&str> as Store<&str>>::CACHEABLE);
/// ```
pub trait Store<T>: Sync {
    /// Whether calls storing here can be cached (`map` items are not).
    const CACHEABLE: bool;
    /// Stores the output of call `item`.
    fn store(&self, item: usize, value: T);
    /// The stored output of call `item`.
    fn stored(&self, item: usize) -> Option<&T>;
}

impl<T: Send + Sync> Store<T> for Slot<T> {
    const CACHEABLE: bool = true;
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn store(&self, _: usize, value: T) {
        self.put(value);
    }
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn stored(&self, _: usize) -> Option<&T> {
        self.get()
    }
}

impl<T: Send + Sync> Store<T> for MapSlot<T> {
    const CACHEABLE: bool = false;
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn store(&self, item: usize, value: T) {
        self.put(item, value);
    }
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn stored(&self, item: usize) -> Option<&T> {
        self.get().and_then(|items| items.get(item))
    }
}

/// The width of a `map` step: makes room for one item per element of its list, whose
/// length is `len` (`None` when the list is missing: an executor bug).
///
/// # Errors
///
/// An internal error naming the node when the list is missing.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{map_width, MapSlot};
/// let out: MapSlot<u8> = MapSlot::new();
/// assert_eq!(map_width(Some(3), &out, "F").unwrap(), 3);
/// assert!(map_width(None, &out, "F").is_err());
/// ```
#[inline]
pub fn map_width<T>(
    len: Option<usize>,
    out: &MapSlot<T>,
    node: &'static str,
) -> Result<usize, NodeError> {
    match len {
        Some(n) => {
            out.prepare(n);
            Ok(n)
        }
        None => Err(crate::program::node::missing_input(node, 1)),
    }
}

/// One operation on one step, applied by the workflow's single dispatch `match` to the
/// step's node, slot and arguments. Each [`Program`](crate::Program) method is one visitor.
///
/// A visitor is `Copy` so that moving it into one arm of the match leaves nothing to drop
/// in the others: a debug build gave every arm a drop flag and a cleanup block for it.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{Shim, Store, Visit};
/// /// Answers whether the step's node is async.
/// #[derive(Clone, Copy)]
/// struct IsAsync;
/// impl<'s> Visit<'s> for IsAsync {
///     type Out = bool;
///     fn step<N: Shim, S: Store<N::Output>>(self, _: &'s S, _: N::Args<'s>) -> bool
///     where
///         N::Output: Send + Sync + 'static,
///     {
///         N::IS_ASYNC
///     }
///     fn missing(self) -> bool {
///         false
///     }
/// }
/// ```
pub trait Visit<'s>: Copy {
    /// What the operation returns.
    type Out;
    /// Applies the operation to a step calling node `N` and storing into `slot`.
    fn step<N: Shim, S: Store<N::Output>>(self, slot: &'s S, args: N::Args<'s>) -> Self::Out
    where
        N::Output: Send + Sync + 'static;
    /// The answer for a step index out of range (an executor bug).
    fn missing(self) -> Self::Out;
}

/// [`Program::call_sync`](crate::Program::call_sync): calls the node, stores its output.
///
/// # Examples
///
/// ```
/// # use onex_runtime::__private::CallSync;
/// # fn f(call: onex_runtime::Call<'_>) -> CallSync<'_> {
/// CallSync(call)
/// # }
/// ```
#[derive(Clone, Copy)]
pub struct CallSync<'c>(pub Call<'c>);

impl<'s> Visit<'s> for CallSync<'_> {
    type Out = Result<(), NodeError>;
    // Forced into every arm and line of an optimized build, where it is the hot path; a
    // debug build (`debug_assertions`) leaves it a call, so the per-step code the
    // compiler must generate there stays a call per step instead of this body per step.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn step<N: Shim, S: Store<N::Output>>(self, slot: &'s S, args: N::Args<'s>) -> Self::Out
    where
        N::Output: Send + Sync + 'static,
    {
        // A `match`, not `?`: `?` is generic code of the standard library (`Try`,
        // `FromResidual`, `From`) compiled per output type in the workflow's crate.
        match N::call(self.0, args) {
            Ok(out) => {
                slot.store(self.0.item, out);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
    #[cold]
    fn missing(self) -> Self::Out {
        Err(crate::program::node::internal_error(
            "step index out of range",
        ))
    }
}

/// The visitors of a straight-line run ([`Program::run_straight`](crate::Program::run_straight)):
/// called with a step's position in the order and its index, it notes the position in
/// `at` (which the executor reads when a call fails or panics) and returns the
/// [`CallSync`] for that step. The line is generic over the visitor, as the dispatch
/// `match` is, so an error in a step's arguments reads the same in both places and rustc
/// reports it once.
///
/// # Examples
///
/// ```
/// # use onex_runtime::__private::line;
/// # fn f(call: onex_runtime::Call<'_>) {
/// let mut at = 0;
/// let mut next = line(call, &mut at);
/// let visit = next(4, 7); // position 4 of the order is step 7
/// assert_eq!(visit.0.step, 7);
/// # drop(next);
/// assert_eq!(at, 4);
/// # }
/// ```
// Not `#[inline]` in a debug build, which would compile it (and its closure) in every
// crate that calls it, in a unit of its own.
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn line<'c, 'a>(
    mut call: Call<'c>,
    at: &'a mut usize,
) -> impl FnMut(usize, usize) -> CallSync<'c> + 'a
where
    'c: 'a,
{
    move |position, step| {
        *at = position;
        call.step = step;
        CallSync(call)
    }
}

/// Every [`Program`](crate::Program) operation on one step, in one visitor: the dispatch
/// `match` a workflow generates (one arm per step) is instantiated for this and, in an
/// optimized build only, for [`CallSync`], instead of once per operation (the match was
/// most of a workflow's generated code in a debug build). The synchronous call, the hot
/// path of a recorded run, keeps its own instantiation in an optimized build so that its
/// arms hold nothing else; the arms of this one call code compiled once per node type.
/// [`Answer`] holds the answer; each `Program` method takes out its own.
///
/// # Examples
///
/// ```
/// # use onex_runtime::__private::{Inspect, Op};
/// # fn f(call: onex_runtime::Call<'_>) {
/// let _ = Op::CallAsync(call);
/// let _ = Op::Inspect(Inspect::OperationData);
/// # }
/// ```
#[derive(Clone, Copy)]
pub enum Op<'s, 'v> {
    /// [`Program::call_sync`](crate::Program::call_sync) in a debug build, which has no
    /// dispatch of its own for it (an optimized build uses [`CallSync`]).
    Call(Call<'s>),
    /// [`Program::call_async`](crate::Program::call_async): the boxed future of the call.
    CallAsync(Call<'s>),
    /// Compensation, caching or input capture.
    Inspect(Inspect<'s, 'v>),
}

/// The operations of an [`Op`] other than calls.
///
/// # Examples
///
/// ```
/// # use onex_runtime::__private::{Inspect, Op};
/// let _ = Op::Inspect(Inspect::OperationData);
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

/// What an [`Op`] answered, one variant per operation.
///
/// # Examples
///
/// ```
/// # use onex_runtime::__private::Answer;
/// assert_eq!(Answer::Hash(Some(7)).hash(), Some(7));
/// assert_eq!(Answer::Loaded(true).hash(), None); // another operation's answer
/// ```
pub enum Answer<'s> {
    /// The outcome of a synchronous call.
    Done(Result<(), NodeError>),
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

impl<'s> Answer<'s> {
    /// The outcome of a synchronous call; an internal error for another answer.
    pub fn done(self) -> Result<(), NodeError> {
        match self {
            Answer::Done(result) => result,
            other => Err(other.unexpected()),
        }
    }
    /// The future of an asynchronous call; a failed one for another answer.
    pub fn future(self) -> StepFuture<'s> {
        match self {
            Answer::Future(future) => future,
            other => Box::pin(std::future::ready(Err(other.unexpected()))),
        }
    }
    /// The compensation, or `None` for another answer.
    pub fn compensation(self) -> Option<StepFuture<'s>> {
        match self {
            Answer::Compensation(future) => future,
            _ => None,
        }
    }
    /// The input hash, or `None` for another answer.
    pub fn hash(self) -> Option<u64> {
        match self {
            Answer::Hash(hash) => hash,
            _ => None,
        }
    }
    /// The entry to cache, or `None` for another answer.
    pub fn stored(self) -> Option<CacheEntry> {
        match self {
            Answer::Stored(value) => value,
            _ => None,
        }
    }
    /// Whether the cached value was loaded; `false` for another answer.
    pub fn loaded(self) -> bool {
        matches!(self, Answer::Loaded(true))
    }
    /// The serialized input, or `null` for another answer.
    pub fn data(self) -> serde_json::Value {
        match self {
            Answer::Data(value) => value,
            _ => serde_json::Value::Null,
        }
    }
    #[cold]
    fn unexpected(&self) -> NodeError {
        crate::program::node::internal_error(match self {
            Answer::Missing => "step index out of range",
            _ => "a step operation answered another operation",
        })
    }
}

impl<'s> Visit<'s> for Op<'s, '_> {
    type Out = Answer<'s>;
    // Compiled once per node type and slot type, out of line: the dispatch arms only call it.
    #[inline(never)]
    fn step<N: Shim, S: Store<N::Output>>(self, slot: &'s S, args: N::Args<'s>) -> Self::Out
    where
        N::Output: Send + Sync + 'static,
    {
        match self {
            Op::Call(call) => Answer::Done(CallSync(call).step::<N, S>(slot, args)),
            // A synchronous node is called in place, as `Program::call_async`'s default does.
            Op::CallAsync(call) => Answer::Future(if N::IS_ASYNC {
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
            Op::Inspect(Inspect::Compensate(call)) => Answer::Compensation(if N::COMPENSATED {
                match slot.stored(call.item) {
                    Some(out) => N::compensate(call, out),
                    None => None,
                }
            } else {
                None
            }),
            Op::Inspect(Inspect::InputHash(hasher)) => Answer::Hash(if S::CACHEABLE {
                hasher.hash_with(|h| N::hash(args, h))
            } else {
                None
            }),
            Op::Inspect(Inspect::CacheStore(item)) => Answer::Stored(if S::CACHEABLE {
                match slot.stored(item) {
                    Some(out) => N::cache_store(args, out),
                    None => None,
                }
            } else {
                None
            }),
            Op::Inspect(Inspect::CacheLoad(entry, item)) => Answer::Loaded(
                S::CACHEABLE
                    && match N::cache_load(args, entry) {
                        Some(out) => {
                            slot.store(item, out);
                            true
                        }
                        None => false,
                    },
            ),
            Op::Inspect(Inspect::OperationData) => Answer::Data(N::capture(args)),
        }
    }
    #[cold]
    fn missing(self) -> Self::Out {
        Answer::Missing
    }
}

/// Stores the output of a synchronous call made through [`Op::CallAsync`], unless the
/// executor abandoned the attempt at its timeout (see `exec::gate`): its output then goes
/// to the gate, typed, for the node's compensation, and the step's slot stays for the
/// attempt that owns it. Only the executors' timed attempts carry a gate; the hot path,
/// [`CallSync`], has none to check.
#[inline]
fn deliver<N: Shim, S: Store<N::Output>>(call: Call<'_>, slot: &S, out: N::Output)
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
fn undo_kept<'a, N: Shim>(
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

/// The synchronous entry point of an async node or a nested workflow: never taken (the
/// executors follow `is_async`), so it answers with an internal error.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::sync_of_async;
/// assert!(sync_of_async::<u8>("Fetch").is_err());
/// ```
#[cold]
pub fn sync_of_async<T>(node: &'static str) -> Result<T, NodeError> {
    Err(wrong_shim(node))
}
