//! [`NodeRegistry::linked`]: a registry of every `#[node(.., remote)]` linked into the
//! binary, which is how a worker process knows the nodes it was compiled with.

use std::sync::Arc;

use futures_util::FutureExt;
use onex_runtime::__private::{REMOTE_NODES, RemoteNode};
use onex_runtime::policy::contain;
use onex_runtime::{NodeError, NodeKind};
use serde_json::Value;

use crate::json::InputMismatch;
use crate::registry::{AsyncCall, Invoke, NodeRegistry, RegisteredNode};

impl NodeRegistry {
    /// Every node marked `#[node(.., remote)]` in the crates linked into this binary,
    /// registered under its node type: what a worker process runs.
    ///
    /// A remote node's input is its thunk's `operation_data` (one input as itself, several
    /// as an array in parameter order), its output its JSON. Compute and reducer nodes run
    /// on the rayon pool, effect nodes in the returned future, as in
    /// [`invoke`](Self::invoke). A spec loaded against a linked registry is not checked for
    /// `operation_data` that does not fit a node's input: the node's call reports it.
    ///
    /// # Examples
    ///
    /// ```
    /// use onex::prelude::*;
    /// use onex::dynamic::NodeRegistry;
    /// use serde_json::json;
    ///
    /// #[node(compute, remote)]
    /// fn triple(n: &i64) -> i64 {
    ///     n * 3
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let registry = NodeRegistry::linked();
    /// assert!(registry.contains("Triple"));
    /// let ctx = Context::detached(&Runtime::default(), "remote");
    /// let call = registry.invoke(&ctx, "Triple", json!(14)).unwrap();
    /// assert_eq!(call.await.unwrap(), json!(42));
    /// # }
    /// ```
    pub fn linked() -> Self {
        let mut registry = NodeRegistry::new();
        registry.add_linked();
        registry
    }

    /// Adds every linked `#[node(.., remote)]` (see [`linked`](Self::linked)) to this
    /// registry, replacing nodes of the same name.
    pub fn add_linked(&mut self) -> &mut Self {
        for entry in REMOTE_NODES {
            self.insert_node(entry.name, registered(entry));
        }
        self
    }
}

fn registered(entry: &'static RemoteNode) -> RegisteredNode {
    let call = entry.call;
    let name = entry.name;
    let invoke: Arc<AsyncCall> = match entry.kind {
        NodeKind::Effect | NodeKind::Orchestrator => Arc::new(move |ctx, input| call(ctx, input)),
        // A synchronous node's future is ready when first polled: polled on the rayon pool,
        // so a CPU-heavy node does not hold up the async threads.
        NodeKind::Compute | NodeKind::Reducer => Arc::new(move |ctx, input| {
            let (tx, rx) = tokio::sync::oneshot::channel();
            rayon::spawn(move || {
                let result = contain(name, || {
                    call(ctx, input).now_or_never().unwrap_or_else(|| {
                        Err(NodeError::internal(format!(
                            "synchronous node `{name}` did not finish when called"
                        )))
                    })
                });
                let _ = tx.send(result);
            });
            Box::pin(async move {
                rx.await.unwrap_or_else(|_| {
                    Err(NodeError::internal("the rayon pool dropped a node call"))
                })
            })
        }),
    };
    RegisteredNode {
        kind: entry.kind,
        input_type: entry.input_type,
        output_type: entry.output_type,
        invoke: Invoke::Async(invoke),
        check_input: unchecked,
        compensate: None,
        delivery: entry.delivery,
    }
}

/// A linked node's input is checked when it is called.
fn unchecked(_: &Value) -> Result<(), InputMismatch> {
    Ok(())
}
