//! The metadata `#[node]` attaches to a function, and the traits `workflow!` reads it through.
//!
//! `#[node]` keeps the user's function and adds a braced proxy type of the same name in the
//! type namespace (`struct fetch {}`), implementing [`Node`], one [`Param`] per parameter,
//! [`Takes`] and the call shims (`Invoke`). `workflow!` cannot see the function's signature,
//! so everything it needs (output type, kind, policy, parameter types, arity) comes through
//! these traits.

use crate::model::Delivery;
use crate::model::NodeError;
use crate::model::NodeKind;
use crate::model::StepPolicy;

/// A node's metadata, implemented by the proxy type `#[node]` emits (and by workflow types,
/// which are orchestrator nodes).
pub trait Node {
    /// The node's output, with `Result<T, NodeError>` normalized to `T` and, for a reducer,
    /// the accumulator.
    type Output;
    /// The `target_node_type` recorded in thunks.
    const NAME: &'static str;
    /// The node's kind.
    const KIND: NodeKind;
    /// Whether calls go through the asynchronous shim.
    const IS_ASYNC: bool;
    /// The node's default policy; `#[step(...)]` overrides it field by field.
    const POLICY: StepPolicy;
    /// Whether the node declares a compensation.
    const COMPENSATED: bool;
    /// What the node promises about being called twice: `#[node(effect, idempotent)]`,
    /// `#[node(effect, at_most_once)]`.
    const DELIVERY: Delivery = Delivery::Unspecified;
    /// Its input and output types as written, `(Order, Option<Rates>) -> Quote`: part of a
    /// durable run's graph fingerprint, so a resume notices a node whose types changed.
    const SIGNATURE: &'static str = "";
    /// How many arguments a step passes (the `&Context` parameter does not count).
    const ARITY: usize;
    /// Whether an unused output is dead work worth a warning (compute and reducer nodes).
    const PURE: bool = matches!(Self::KIND, NodeKind::Compute | NodeKind::Reducer);
}

/// Parameter `I` of a node, counted from [`Arg1`] (`&Context` does not count); past
/// [`Arg32`], [`Arg`] counts in base 32.
///
/// The index is a type, not a `const usize`: a constant argument is a body of its own for
/// the compiler to check and evaluate at every use, and `workflow!` names a parameter per
/// argument of every step.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{Arg1, Param};
/// struct Double;
/// impl Param<Arg1> for Double {
///     type Type = u64;
///     const OPTIONAL: bool = false;
/// }
/// let _: Option<&<Double as Param<Arg1>>::Type> = Some(&2_u64);
/// ```
#[diagnostic::on_unimplemented(
    message = "node `{Self}` takes fewer arguments than this step passes",
    label = "no parameter of `{Self}` takes this argument",
    note = "a step passes one argument per parameter of its node, in order; a `&Context` parameter is supplied by the runtime"
)]
pub trait Param<I> {
    /// The parameter's type without its reference: `A` for `&A` and `Option<&A>`.
    type Type: ?Sized;
    /// Whether the parameter is `Option<&A>`: the step still runs when its input is skipped.
    const OPTIONAL: bool;
}

/// A node that a step may call with `K` arguments. `#[node]` implements it for every `K`,
/// through a trait of the node's own that holds only for the number of inputs the function
/// takes and whose message lists them, so a step passing too few or too many arguments is
/// one error on the call: "`price` takes 2 inputs (order: &Order, rates: &Rates), got 1".
///
/// `workflow!` reaches a step's node as `<N as Takes<K>>::Node` wherever it calls the node
/// or reads its parameters: when the count is wrong that is an error type, which keeps the
/// compiler from piling a tuple mismatch and a missing `Param` onto the one error.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::Takes;
/// struct Double;
/// impl Takes<1> for Double {
///     type Node = Double;
/// }
/// let _: <Double as Takes<1>>::Node = Double;
/// ```
pub trait Takes<const K: usize> {
    /// The node itself.
    type Node;
}

/// A workflow input that lets the workflow run nested, as a step of another workflow: the
/// nested run gets a clone of its input, so the input must be `Clone`. Held by every
/// `Clone` type; its message names the workflow `W` and the input's type.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::NestedInput;
/// fn nests<T: NestedInput<()>>() {}
/// nests::<String>();
/// ```
#[diagnostic::on_unimplemented(
    message = "workflow `{W}` is nested as a step, so its input `{Self}` must be `Clone`",
    label = "`{Self}` is not `Clone`",
    note = "a nested workflow runs on a clone of its inputs: derive or implement `Clone` for `{Self}`"
)]
pub trait NestedInput<W> {}

#[diagnostic::do_not_recommend]
impl<T: Clone, W> NestedInput<W> for T {}

/// Argument `position` of a nested run of `workflow`, to be cloned into its input.
///
/// A workflow's `Invoke` takes its inputs out with `(&&NestedArg(..)).take_input()`, which
/// autoref picks from [`NestedArgClone`] when the input is `Clone` and [`NestedArgNotClone`]
/// otherwise: the `Invoke` needs no `Clone` bound, so a non-`Clone` input fails only the
/// [`NestedInput`] bound of the call that nests it, as one error naming the type, rather
/// than through the shim. No step reaches the fallback: that bound keeps it from compiling.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{NestedArg, NestedArgClone, NestedArgNotClone};
/// struct Opaque;
/// assert_eq!((&&NestedArg(Some(&7_u8), "Inner", 1)).take_input().unwrap(), 7);
/// assert!((&&NestedArg(Some(&Opaque), "Inner", 1)).take_input().is_err());
/// ```
pub struct NestedArg<'a, T>(pub Option<&'a T>, pub &'static str, pub usize);

/// Chosen when the input is `Clone`.
pub trait NestedArgClone<T> {
    /// A clone of the argument; the missing-input error when it is absent.
    fn take_input(&self) -> Result<T, NodeError>;
}

impl<T: Clone> NestedArgClone<T> for &NestedArg<'_, T> {
    fn take_input(&self) -> Result<T, NodeError> {
        nested_input(self.0, self.1, self.2)
    }
}

/// Argument `position` (1-based) of a nested workflow's step, cloned into its run's input.
///
/// # Errors
///
/// The missing-input error naming the workflow when the argument is missing.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::nested_input;
/// assert_eq!(nested_input(Some(&7_u8), "Inner", 1).unwrap(), 7);
/// assert!(nested_input::<u8>(None, "Inner", 1).is_err());
/// ```
#[doc(hidden)]
pub fn nested_input<T: Clone>(
    argument: Option<&T>,
    workflow: &'static str,
    position: usize,
) -> Result<T, NodeError> {
    argument
        .cloned()
        .ok_or_else(|| missing_input(workflow, position))
}

/// Chosen otherwise.
pub trait NestedArgNotClone<T> {
    /// An internal error: a step that nests this workflow does not compile.
    fn take_input(&self) -> Result<T, NodeError>;
}

impl<T> NestedArgNotClone<T> for &&NestedArg<'_, T> {
    #[cold]
    fn take_input(&self) -> Result<T, NodeError> {
        Err(NodeError::internal(format!(
            "input {} of nested workflow `{}` is not `Clone`",
            self.2, self.1
        )))
    }
}

/// Parameter `32 * h + l` of a node, where `h` and `l` are the indices of `H` and `L`
/// (each an `ArgN` or an `Arg` itself): the index of [`Param`] past [`Arg32`].
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{Arg, Arg1, Arg8, Arg31, Param};
/// struct Sum;
/// // Parameter 1,000 of a 1,000-way fan-in: 32 * 31 + 8.
/// impl Param<Arg<Arg31, Arg8>> for Sum {
///     type Type = u64;
///     const OPTIONAL: bool = false;
/// }
/// impl Param<Arg1> for Sum {
///     type Type = u64;
///     const OPTIONAL: bool = true;
/// }
/// assert!(!<Sum as Param<Arg<Arg31, Arg8>>>::OPTIONAL);
/// ```
#[derive(Debug)]
pub struct Arg<H, L>(std::marker::PhantomData<fn() -> (H, L)>);

/// Declares the named index types of [`Param`], `Arg1` to `Arg32`.
macro_rules! arg_types {
    ($($name:ident $n:literal)*) => {$(
        #[doc = concat!("Parameter ", $n, " of a node (`&Context` does not count): an index of [`Param`].")]
        #[derive(Debug)]
        pub enum $name {}
    )*};
}

arg_types!(
    Arg1 1 Arg2 2 Arg3 3 Arg4 4 Arg5 5 Arg6 6 Arg7 7 Arg8 8 Arg9 9 Arg10 10 Arg11 11 Arg12 12
    Arg13 13 Arg14 14 Arg15 15 Arg16 16 Arg17 17 Arg18 18 Arg19 19 Arg20 20 Arg21 21 Arg22 22
    Arg23 23 Arg24 24 Arg25 25 Arg26 26 Arg27 27 Arg28 28 Arg29 29 Arg30 30 Arg31 31 Arg32 32
);

/// The error of a call whose required input is absent (an executor bug: it skips such steps).
#[cold]
pub fn missing_input(node: &'static str, param: usize) -> NodeError {
    NodeError::internal(format!(
        "parameter {param} of node `{node}` was called without its input"
    ))
}

/// The error of a call through the wrong shim (an executor bug: it follows `is_async`).
#[cold]
pub fn wrong_entry_point(node: &'static str) -> NodeError {
    NodeError::internal(format!(
        "node `{node}` was called through the wrong (sync/async) entry point"
    ))
}

/// The error of a `map` call whose element index is out of range (an executor bug).
#[cold]
pub fn missing_item(step: &'static str, item: usize) -> NodeError {
    NodeError::internal(format!("step `{step}` has no element {item}"))
}

/// An internal error raised by generated code.
#[cold]
pub fn internal_error(message: &'static str) -> NodeError {
    NodeError::internal(message)
}
