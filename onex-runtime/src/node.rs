//! The metadata `#[node]` attaches to a function, and the traits `workflow!` reads it through.
//!
//! `#[node]` keeps the user's function and adds a braced proxy type of the same name in the
//! type namespace (`struct fetch {}`), implementing [`Node`] and one [`Param`] per parameter,
//! with inherent call shims. `workflow!` cannot see the function's signature, so everything
//! it needs (output type, kind, policy, parameter types) comes through these traits.

use crate::error::NodeError;
use crate::graph::{NodeKind, StepPolicy};

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
    /// How many arguments a step passes (the `&Context` parameter does not count).
    const ARITY: usize;
    /// Whether an unused output is dead work worth a warning (compute and reducer nodes).
    const PURE: bool = matches!(Self::KIND, NodeKind::Compute | NodeKind::Reducer);
}

/// Parameter `I` (0-based, not counting `&Context`) of a node.
#[diagnostic::on_unimplemented(
    message = "node `{Self}` takes fewer arguments than this step passes",
    label = "no parameter of `{Self}` takes this argument",
    note = "a step passes one argument per parameter of its node, in order; a `&Context` parameter is supplied by the runtime"
)]
pub trait Param<const I: usize> {
    /// The parameter's type without its reference: `A` for `&A` and `Option<&A>`.
    type Type: ?Sized;
    /// Whether the parameter is `Option<&A>`: the step still runs when its input is skipped.
    const OPTIONAL: bool;
}

/// The error of a call whose required input is absent (an executor bug: it skips such steps).
#[cold]
pub fn missing_input(node: &'static str, param: usize) -> NodeError {
    NodeError::internal(format!(
        "parameter {param} of node `{node}` was called without its input"
    ))
}

/// The error of a call through the wrong shim (an executor bug: it follows `is_async`).
#[cold]
pub fn wrong_shim(node: &'static str) -> NodeError {
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
