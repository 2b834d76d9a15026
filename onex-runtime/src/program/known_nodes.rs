//! The node types a process knows: every `#[node]` compiled into it, gathered by the linker
//! into [`NODES`], and every type registered in a spec `NodeRegistry`.
//!
//! `#[node]` emits one [`NodeEntry`] per node (not per step) into a linkme distributed
//! slice: the linker lays the entries of every crate of the binary side by side, so the
//! list costs nothing at run time, needs no code before `main`, and is complete wherever
//! it is read. The runtime checks names typed as strings against it (a circuit breaker
//! for a type no node has guards nothing); workers that run thunks by type name will read
//! it too.

use std::collections::BTreeSet;
use std::sync::Mutex;

use linkme::distributed_slice;
use onex_graph::suggest::did_you_mean;

use crate::model::NodeKind;
use crate::program::node::Node;

/// One compiled node, as `#[node]` registers it.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{NODES, NodeEntry};
/// use onex_runtime::NodeKind;
///
/// // What `#[node(compute)] fn double(..)` emits, by hand.
/// #[onex_runtime::__private::linkme::distributed_slice(NODES)]
/// #[linkme(crate = onex_runtime::__private::linkme)]
/// static DOUBLE: NodeEntry = NodeEntry::new("Double", NodeKind::Compute);
///
/// assert!(NODES.iter().any(|n| n.name == "Double" && n.kind == NodeKind::Compute));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct NodeEntry {
    /// The node's `target_node_type`.
    pub name: &'static str,
    /// Its kind.
    pub kind: NodeKind,
}

impl NodeEntry {
    /// The entry of a node named `name`.
    pub const fn new(name: &'static str, kind: NodeKind) -> Self {
        NodeEntry { name, kind }
    }

    /// The entry of the node whose proxy type is `N`.
    pub const fn of<N: Node>() -> Self {
        NodeEntry::new(N::NAME, N::KIND)
    }
}

/// Every node compiled into this binary.
#[distributed_slice]
pub static NODES: [NodeEntry];

/// Types registered in any [`NodeRegistry`] of this process so far.
static REGISTERED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Notes a node type a spec `NodeRegistry` registers, so that names typed as strings are
/// checked against it too.
pub fn note_registered(node_type: &str) {
    let mut registered = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
    if !registered.contains(node_type) {
        registered.insert(node_type.to_owned());
    }
}

/// Whether a compiled or registered node has type `node_type`; if not, a "did you mean"
/// (`"; did you mean `X`?"`, or empty) among the known types.
pub(crate) fn check(node_type: &str) -> Result<(), String> {
    if NODES.iter().any(|n| n.name == node_type) {
        return Ok(());
    }
    let registered = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
    if registered.contains(node_type) {
        return Ok(());
    }
    let known = NODES
        .iter()
        .map(|n| n.name)
        .chain(registered.iter().map(String::as_str));
    Err(did_you_mean(node_type, known))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[distributed_slice(NODES)]
    static SEEN: NodeEntry = NodeEntry::new("NodePaymentService", NodeKind::Effect);

    #[test]
    fn compiled_and_registered_types_are_known_and_typos_get_a_suggestion() {
        assert_eq!(check("NodePaymentService"), Ok(()));
        assert_eq!(
            check("NodePaymentServise"),
            Err("; did you mean `NodePaymentService`?".to_owned())
        );
        assert_eq!(check("Elsewhere"), Err(String::new()));
        note_registered("Elsewhere");
        assert_eq!(check("Elsewhere"), Ok(()));
    }
}
