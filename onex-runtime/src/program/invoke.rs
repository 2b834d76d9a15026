//! How a node is invoked: the calling convention every node's proxy type implements
//! ([`Invoke`]), the same for synchronous and asynchronous nodes, nodes with optional inputs
//! and nested workflows.

use std::future::Future;
use std::hash::Hasher;

use crate::model::NodeError;
use crate::policy::CacheEntry;
use crate::program::node::{Node, wrong_entry_point};
use crate::program::{Call, StepFuture};

/// A node's uniform calling convention, implemented by the proxy type `#[node]` emits (and
/// by workflow types, which nest as orchestrator nodes).
///
/// Every input comes as an `Option<&T>`, so `Option<&T>` parameters (which still run when
/// their input step was skipped) and `&T` parameters look the same to generic callers.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{Node, Invoke};
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
/// impl Invoke for Double {
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
pub trait Invoke: Node {
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
    Err(wrong_entry_point(node))
}
