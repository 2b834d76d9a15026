//! The nodes a worker process can run by name: every `#[node(.., remote)]` compiled into
//! the binary, gathered by the linker into [`REMOTE_NODES`], each with a call that takes
//! its input as JSON and gives its output as JSON.
//!
//! A remote node's input travels as a thunk's `operation_data` does: one input as itself,
//! several as an array in parameter order, an absent optional input as `null`. Its output
//! must be `Serialize`, its inputs `DeserializeOwned`: only nodes marked `remote` pay for
//! that. `onex_spec::NodeRegistry::linked()` reads the list.

use futures_util::future::BoxFuture;
use linkme::distributed_slice;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::context::Context;
use crate::model::{Delivery, ErrorCode, NodeError, NodeKind};
use crate::program::node::Node;

/// The future of one call of a remote node: its output as JSON.
pub type RemoteFuture = BoxFuture<'static, Result<Value, NodeError>>;

/// One `#[node(.., remote)]`: its name, kind, types (as written, for messages) and call.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{REMOTE_NODES, RemoteFuture, RemoteNode};
/// use onex_runtime::{Context, NodeKind};
/// use serde_json::{Value, json};
///
/// // What `#[node(compute, remote)] fn double(n: &i64) -> i64` emits, by hand.
/// fn call(_ctx: Context, input: Value) -> RemoteFuture {
///     Box::pin(async move { Ok(json!(input.as_i64().unwrap_or(0) * 2)) })
/// }
/// #[onex_runtime::__private::linkme::distributed_slice(REMOTE_NODES)]
/// #[linkme(crate = onex_runtime::__private::linkme)]
/// static DOUBLE: RemoteNode = RemoteNode::new("Double", NodeKind::Compute, "i64", "i64", call);
///
/// assert!(REMOTE_NODES.iter().any(|n| n.name == "Double"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RemoteNode {
    /// The node's `target_node_type`.
    pub name: &'static str,
    /// Its kind.
    pub kind: NodeKind,
    /// Its input types, as written.
    pub input_type: &'static str,
    /// Its output type, as written.
    pub output_type: &'static str,
    /// Calls it once: JSON in, JSON out.
    pub call: fn(Context, Value) -> RemoteFuture,
    /// What it promises about being called twice.
    pub delivery: Delivery,
}

impl RemoteNode {
    /// The entry of node `name`.
    pub const fn new(
        name: &'static str,
        kind: NodeKind,
        input_type: &'static str,
        output_type: &'static str,
        call: fn(Context, Value) -> RemoteFuture,
    ) -> Self {
        RemoteNode {
            name,
            kind,
            input_type,
            output_type,
            call,
            delivery: Delivery::Unspecified,
        }
    }

    /// The same entry with the node's [`Delivery`].
    pub const fn with_delivery(mut self, delivery: Delivery) -> Self {
        self.delivery = delivery;
        self
    }

    /// The entry of the node whose proxy type is `N`.
    pub const fn of<N: Node>(
        input_type: &'static str,
        output_type: &'static str,
        call: fn(Context, Value) -> RemoteFuture,
    ) -> Self {
        RemoteNode::new(N::NAME, N::KIND, input_type, output_type, call).with_delivery(N::DELIVERY)
    }
}

/// Every `#[node(.., remote)]` compiled into this binary.
#[distributed_slice]
pub static REMOTE_NODES: [RemoteNode];

/// A remote node's inputs, a tuple, from its JSON: `arity` 1 takes the value itself, more
/// an array, none anything. A mismatch is a permanent `InvalidInput` error naming the node
/// and the types.
///
/// ```
/// use onex_runtime::__private::remote_input;
/// use serde_json::json;
///
/// let (n,): (i64,) = remote_input("Double", json!(21), 1).unwrap();
/// assert_eq!(n, 21);
/// let (a, b): (i64, Option<String>) = remote_input("Pair", json!([1, null]), 2).unwrap();
/// assert_eq!((a, b), (1, None));
/// let error = remote_input::<(i64,)>("Double", json!("x"), 1).unwrap_err();
/// assert!(error.message().contains("node `Double`"));
/// ```
pub fn remote_input<T: DeserializeOwned>(
    node: &str,
    input: Value,
    arity: usize,
) -> Result<T, NodeError> {
    let input = match arity {
        0 => Value::Null,
        1 => Value::Array(vec![input]),
        _ => input,
    };
    serde_json::from_value(input).map_err(|e| {
        NodeError::permanent(format!(
            "the input of node `{node}` does not fit its parameters ({}): {e}",
            std::any::type_name::<T>()
        ))
        .with_code(ErrorCode::InvalidInput)
    })
}

/// A remote node's output as JSON; an error naming the node when it does not serialize.
///
/// ```
/// use onex_runtime::__private::remote_output;
/// assert_eq!(remote_output("Double", &42).unwrap(), serde_json::json!(42));
/// ```
pub fn remote_output<T: Serialize>(node: &str, output: &T) -> Result<Value, NodeError> {
    serde_json::to_value(output).map_err(|e| {
        NodeError::permanent(format!(
            "the output of node `{node}` does not serialize: {e}"
        ))
        .with_code(ErrorCode::InvalidInput)
    })
}
