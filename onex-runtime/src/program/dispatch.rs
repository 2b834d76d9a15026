//! The dispatch: how an operation reaches one step's node, slot and arguments.
//!
//! `workflow!` emits one `match` over step indices that tells, for each step, which node
//! it calls, which slot it fills and where its arguments come from, and applies a
//! [`StepOp`] to them. What a step *does* is written once here and in [`op`](super::op), as
//! generic code over the node's [`Invoke`]: type-checked once and monomorphized once per
//! node type (and slot kind), not once per step and per [`Program`](crate::Program) method.
//! In an optimized build the generic layers inline away, so a synchronous call is a
//! direct call: no dynamic dispatch, no allocation.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::NodeError;
use crate::program::Call;
use crate::program::invoke::Invoke;
use crate::program::node::missing_input;
use crate::store::{MapSlot, Store};

/// One operation on one step, applied by the workflow's single dispatch `match` to the
/// step's node, slot and arguments. Each [`Program`](crate::Program) method is one visitor.
///
/// A visitor is `Copy` so that moving it into one arm of the match leaves nothing to drop
/// in the others: a debug build gave every arm a drop flag and a cleanup block for it.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{Invoke, Store, StepOp};
/// /// Answers whether the step's node is async.
/// #[derive(Clone, Copy)]
/// struct IsAsync;
/// impl<'s> StepOp<'s> for IsAsync {
///     type Out = bool;
///     fn step<N: Invoke, S: Store<N::Output>>(self, _: &'s S, _: N::Args<'s>) -> bool
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
pub trait StepOp<'s>: Copy {
    /// What the operation returns.
    type Out;
    /// Applies the operation to a step calling node `N` and storing into `slot`.
    fn step<N: Invoke, S: Store<N::Output>>(self, slot: &'s S, args: N::Args<'s>) -> Self::Out
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
/// # use onex_runtime::__private::CallOp;
/// # fn f(call: onex_runtime::Call<'_>) -> CallOp<'_> {
/// CallOp(call)
/// # }
/// ```
#[derive(Clone, Copy)]
pub struct CallOp<'c>(pub Call<'c>);

impl<'s> StepOp<'s> for CallOp<'_> {
    type Out = Result<(), NodeError>;
    // Forced into every arm of an optimized build's dispatch, where it is the hot path; a
    // debug build (`debug_assertions`) leaves it a call, so the code generated per step
    // there stays a call instead of this body.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn step<N: Invoke, S: Store<N::Output>>(self, slot: &'s S, args: N::Args<'s>) -> Self::Out
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

/// Where a straight line whose run keeps records writes the clock at the end of each
/// step: one raw reading of the run's clock per position in the order, turned into
/// offsets after the line. Atomics (plain stores on the line's one thread) so that a
/// [`Call`] carrying them stays `Send`.
#[derive(Clone, Copy)]
pub(crate) struct LineStamps<'a> {
    pub(crate) ends: &'a [AtomicU64],
    pub(crate) now: &'a (dyn Fn() -> u64 + Sync),
}

impl LineStamps<'_> {
    /// The step at `position` ended now.
    #[inline]
    fn end(&self, position: usize) {
        if let Some(end) = self.ends.get(position) {
            end.store((self.now)(), Ordering::Relaxed);
        }
    }
}

/// A straight-line run ([`Program::run_straight`](crate::Program::run_straight)): every
/// step's [`Program::call_sync`](crate::Program::call_sync) in [`Graph::order`](crate::Graph::order),
/// stopping at the first failure. Before each call, `at` is set to the step's position in
/// the order, which the executor reads when a call fails or panics. When the run keeps
/// records, the clock is read at each step's end.
///
/// # Errors
///
/// The failing step's error; its position is in `at`.
///
/// # Examples
///
/// ```
/// # use onex_runtime::{Call, Program};
/// use onex_runtime::__private::straight_line;
/// # fn f<P: Program>(program: &P, slots: &P::Slots, call: Call<'_>) {
/// let mut at = 0;
/// if let Err(e) = straight_line(program, slots, call, &mut at) {
///     eprintln!("step {} failed: {e}", program.graph().order()[at]);
/// }
/// # }
/// ```
pub fn straight_line<P: crate::Program>(
    program: &P,
    slots: &P::Slots,
    mut call: Call<'_>,
    at: &mut usize,
) -> Result<(), NodeError> {
    for (position, &step) in program.graph().order().iter().enumerate() {
        *at = position;
        call.step = step;
        // A `match`, not `?`: see `CallOp::step`.
        match program.call_sync(slots, call) {
            Ok(()) => {}
            Err(e) => return Err(e),
        }
        if let Some(stamps) = call.stamps {
            stamps.end(position);
        }
    }
    Ok(())
}

/// [`Program::run_lean`](crate::Program::run_lean) through the program's slots: the
/// [`straight_line`], then the output taken. `at` holds the position of the step being
/// called.
///
/// # Errors
///
/// The failing step's error (its position is in `at`), or an internal error when the
/// output step stored nothing.
///
/// # Examples
///
/// ```
/// # use onex_runtime::{Call, NodeError, Program};
/// use onex_runtime::__private::lean_by_slots;
/// # fn f<P: Program>(program: &P, input: P::Input, call: Call<'_>) {
/// let mut at = 0;
/// if let Err(e) = lean_by_slots(program, input, call, &mut at) {
///     eprintln!("step {} failed: {e}", program.graph().order()[at]);
/// }
/// # }
/// ```
pub fn lean_by_slots<P: crate::Program>(
    program: &P,
    input: P::Input,
    call: Call<'_>,
    at: &mut usize,
) -> Result<P::Output, NodeError> {
    let slots = program.slots(input);
    // A `match`, not `?`: see `CallOp::step`.
    match straight_line(program, &slots, call, at) {
        Ok(()) => {}
        Err(e) => return Err(e),
    }
    match program.output(slots) {
        Some(output) => Ok(output),
        None => Err(crate::program::node::internal_error(
            "the output step stored no output",
        )),
    }
}

/// Whether two orders are the same: `workflow!`'s check, in const evaluation, that the
/// order its locals-keeping [`run_lean`](crate::Program::run_lean) calls the steps in is
/// the graph's (priorities can reorder a wave).
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::same_order;
/// const SAME: bool = same_order(&[0, 2, 1], &[0, 2, 1]);
/// assert!(SAME && !same_order(&[0, 1], &[1, 0]));
/// ```
pub const fn same_order(a: &[usize], b: &[usize]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
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
        None => Err(missing_input(node, 1)),
    }
}
