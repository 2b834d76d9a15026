//! [`NodeRegistry`]: the nodes a spec may call, by `target_node_type`.
//!
//! Over 500 lines with its tests; the registering methods are one per node shape.

use std::any::type_name;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::json::{InputMismatch, check, decode, encode};
use onex_runtime::Context;
use onex_runtime::Delivery;
use onex_runtime::NodeError;
use onex_runtime::NodeKind;
use onex_runtime::policy::{contain, contain_async};

pub(crate) type SyncCall = dyn Fn(Value) -> Result<Value, NodeError> + Send + Sync;
pub(crate) type AsyncCall =
    dyn Fn(Context, Value) -> BoxFuture<'static, Result<Value, NodeError>> + Send + Sync;
pub(crate) type UndoCall =
    dyn Fn(Context, Value) -> BoxFuture<'static, Result<(), NodeError>> + Send + Sync;

/// How a registered node is called.
#[derive(Clone)]
pub(crate) enum Invoke {
    /// On the caller's thread (or the rayon pool): compute and reducer nodes.
    Sync(Arc<SyncCall>),
    /// As a future: effect nodes.
    Async(Arc<AsyncCall>),
}

/// One node, its types erased to JSON.
#[derive(Clone)]
pub(crate) struct RegisteredNode {
    pub(crate) kind: NodeKind,
    pub(crate) input_type: &'static str,
    pub(crate) output_type: &'static str,
    pub(crate) invoke: Invoke,
    /// Whether a JSON value deserializes into the node's input type, without calling it:
    /// how validation checks `operation_data` before anything runs.
    pub(crate) check_input: fn(&Value) -> Result<(), InputMismatch>,
    pub(crate) compensate: Option<Arc<UndoCall>>,
    /// What the node promises about being called twice (effects).
    pub(crate) delivery: Delivery,
}

impl RegisteredNode {
    pub(crate) fn is_async(&self) -> bool {
        matches!(self.invoke, Invoke::Async(_))
    }
}

/// The nodes a [`WorkflowSpec`](crate::WorkflowSpec) can call, each under its `target_node_type`.
///
/// A node's input and output are serde types; between thunks they travel as
/// `serde_json::Value`s. Register each node in one line, then
/// [`load`](Self::load) specs against the registry: loading checks the spec against the
/// registered nodes (names, kinds, and that `operation_data` fits each node's input type)
/// before anything runs.
///
/// Registering a second node under a name replaces the first. Clones share the nodes.
///
/// # Examples
///
/// ```
/// use onex::dynamic::NodeRegistry;
/// use onex::{Context, NodeError, NodeKind};
///
/// fn validate(rows: &Vec<i64>) -> Result<Vec<i64>, NodeError> {
///     if rows.is_empty() { Err(NodeError::permanent("no rows")) } else { Ok(rows.clone()) }
/// }
/// fn total(acc: &mut i64, row: &i64) { *acc += row; }
/// async fn save(_ctx: Context, total: i64) -> Result<String, NodeError> {
///     Ok(format!("saved {total}"))
/// }
///
/// let mut registry = NodeRegistry::new();
/// registry
///     .compute("NodeDataValidator", validate)
///     .compute_infallible("NodeDoubler", |n: &i64| n * 2)
///     .reducer("NodeSum", total)
///     .effect("NodeDatabaseWriter", save);
/// assert_eq!(registry.kind("NodeSum"), Some(NodeKind::Reducer));
/// assert_eq!(registry.node_types().count(), 4);
/// ```
#[derive(Clone, Default)]
pub struct NodeRegistry {
    nodes: BTreeMap<String, Arc<RegisteredNode>>,
}

impl NodeRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        NodeRegistry::default()
    }

    /// Registers a fallible compute node: `fn(&In) -> Result<Out, NodeError>`.
    ///
    /// ```
    /// # use onex::{dynamic::NodeRegistry, NodeError};
    /// let mut registry = NodeRegistry::new();
    /// registry.compute("NodeParse", |s: &String| s.parse::<i64>().map_err(NodeError::from_error));
    /// ```
    pub fn compute<I, O, F>(&mut self, node_type: impl Into<String>, node: F) -> &mut Self
    where
        I: DeserializeOwned + 'static,
        O: Serialize + 'static,
        F: Fn(&I) -> Result<O, NodeError> + Send + Sync + 'static,
    {
        let name: Arc<str> = node_type.into().into();
        let call = {
            let name = name.clone();
            move |input: Value| {
                let input: I = decode(&name, input)?;
                encode(&name, &node(&input)?)
            }
        };
        self.insert::<I, O>(name, NodeKind::Compute, Invoke::Sync(Arc::new(call)), None)
    }

    /// Registers an infallible compute node: `fn(&In) -> Out`.
    ///
    /// ```
    /// # use onex::dynamic::NodeRegistry;
    /// let mut registry = NodeRegistry::new();
    /// registry.compute_infallible("NodeUpper", |s: &String| s.to_uppercase());
    /// ```
    pub fn compute_infallible<I, O, F>(
        &mut self,
        node_type: impl Into<String>,
        node: F,
    ) -> &mut Self
    where
        I: DeserializeOwned + 'static,
        O: Serialize + 'static,
        F: Fn(&I) -> O + Send + Sync + 'static,
    {
        self.compute(node_type, move |input: &I| Ok(node(input)))
    }

    /// Registers a reducer: `fn(&mut Acc, &Item)` folding the input, a JSON array of items,
    /// into `Acc::default()`.
    ///
    /// ```
    /// # use onex::dynamic::NodeRegistry;
    /// let mut registry = NodeRegistry::new();
    /// registry.reducer("NodeCount", |n: &mut usize, _item: &serde_json::Value| *n += 1);
    /// ```
    pub fn reducer<Acc, Item, F>(&mut self, node_type: impl Into<String>, fold: F) -> &mut Self
    where
        Acc: Default + Serialize + 'static,
        Item: DeserializeOwned + 'static,
        F: Fn(&mut Acc, &Item) + Send + Sync + 'static,
    {
        let name: Arc<str> = node_type.into().into();
        let call = {
            let name = name.clone();
            move |input: Value| {
                let items: Vec<Item> = decode(&name, input)?;
                let mut acc = Acc::default();
                for item in &items {
                    fold(&mut acc, item);
                }
                encode(&name, &acc)
            }
        };
        self.insert::<Vec<Item>, Acc>(name, NodeKind::Reducer, Invoke::Sync(Arc::new(call)), None)
    }

    /// Registers an effect node: an async function or closure taking the run's [`Context`]
    /// and its input by value, e.g. `async fn save(ctx: Context, rows: Rows) -> Result<Saved, NodeError>`
    /// or `|ctx, rows| async move { .. }`.
    ///
    /// Both are taken by value so that the future owns what it uses and can run on any
    /// thread (`Context` is a cheap clone).
    ///
    /// ```
    /// # use onex::{dynamic::NodeRegistry, Context, NodeError};
    /// let mut registry = NodeRegistry::new();
    /// registry.effect("NodeEcho", |_ctx: Context, text: String| async move {
    ///     Ok::<_, NodeError>(text)
    /// });
    /// ```
    pub fn effect<I, O, F, Fut>(&mut self, node_type: impl Into<String>, node: F) -> &mut Self
    where
        I: DeserializeOwned + Send + 'static,
        O: Serialize + 'static,
        F: Fn(Context, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, NodeError>> + Send + 'static,
    {
        let name: Arc<str> = node_type.into().into();
        let invoke = effect_call(name.clone(), node);
        self.insert::<I, O>(name, NodeKind::Effect, invoke, None)
    }

    /// Registers an effect node written like a static one, taking its context and input by
    /// reference: `async fn save(ctx: &Context, rows: &Rows) -> Result<Saved, NodeError>`.
    ///
    /// The same function can be a `#[node(effect)]` of a static workflow and a node of a
    /// registry, so a plan converted with [`WorkflowSpec::from_plan`](crate::WorkflowSpec::from_plan) runs the same code.
    ///
    /// ```
    /// # use onex::{dynamic::NodeRegistry, Context, NodeError};
    /// async fn save(ctx: &Context, total: &i64) -> Result<String, NodeError> {
    ///     Ok(format!("{} saved {total}", ctx.workflow()))
    /// }
    /// let mut registry = NodeRegistry::new();
    /// registry.effect_ref("NodeDatabaseWriter", save);
    /// ```
    pub fn effect_ref<I, O, F>(&mut self, node_type: impl Into<String>, node: F) -> &mut Self
    where
        I: DeserializeOwned + Send + Sync + 'static,
        O: Serialize + 'static,
        F: for<'a> BorrowingEffect<'a, I, Output = O> + 'static,
    {
        let name: Arc<str> = node_type.into().into();
        let node = Arc::new(node);
        let invoke = {
            let name = name.clone();
            Invoke::Async(Arc::new(move |ctx: Context, input: Value| {
                let name = name.clone();
                let node = node.clone();
                Box::pin(async move {
                    let input: I = decode(&name, input)?;
                    let output = node.call(&ctx, &input).await?;
                    encode(&name, &output)
                }) as BoxFuture<'static, _>
            }))
        };
        self.insert::<I, O>(name, NodeKind::Effect, invoke, None)
    }

    /// Registers an effect node with a compensation: when a run with the `compensate`
    /// failure strategy fails, `undo` receives the output of each completed call of this
    /// node, in reverse completion order (a saga).
    ///
    /// ```
    /// # use onex::{dynamic::NodeRegistry, Context, NodeError};
    /// let mut registry = NodeRegistry::new();
    /// registry.effect_compensated(
    ///     "NodeDatabaseWriter",
    ///     |_ctx: Context, total: i64| async move { Ok::<_, NodeError>(total) },
    ///     |_ctx: Context, written: i64| async move { let _ = written; Ok(()) },
    /// );
    /// ```
    pub fn effect_compensated<I, O, F, Fut, U, UFut>(
        &mut self,
        node_type: impl Into<String>,
        node: F,
        undo: U,
    ) -> &mut Self
    where
        I: DeserializeOwned + Send + 'static,
        O: Serialize + DeserializeOwned + Send + 'static,
        F: Fn(Context, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, NodeError>> + Send + 'static,
        U: Fn(Context, O) -> UFut + Send + Sync + 'static,
        UFut: Future<Output = Result<(), NodeError>> + Send + 'static,
    {
        let name: Arc<str> = node_type.into().into();
        let invoke = effect_call(name.clone(), node);
        let undo: Arc<UndoCall> = {
            let name = name.clone();
            Arc::new(
                move |ctx: Context, output: Value| match decode::<O>(&name, output) {
                    Ok(output) => Box::pin(undo(ctx, output)),
                    Err(e) => Box::pin(std::future::ready(Err(e))),
                },
            )
        };
        self.insert::<I, O>(name, NodeKind::Effect, invoke, Some(undo))
    }

    fn insert<I: DeserializeOwned, O>(
        &mut self,
        name: Arc<str>,
        kind: NodeKind,
        invoke: Invoke,
        compensate: Option<Arc<UndoCall>>,
    ) -> &mut Self {
        let node = RegisteredNode {
            kind,
            input_type: type_name::<I>(),
            output_type: type_name::<O>(),
            invoke,
            check_input: check::<I>,
            compensate,
            delivery: Delivery::Unspecified,
        };
        onex_runtime::__internal::note_node_type(&name);
        self.nodes.insert(name.to_string(), Arc::new(node));
        self
    }

    /// Registers a node already erased to JSON (a linked `#[node(.., remote)]`).
    pub(crate) fn insert_node(&mut self, name: &str, node: RegisteredNode) -> &mut Self {
        onex_runtime::__internal::note_node_type(name);
        self.nodes.insert(name.to_string(), Arc::new(node));
        self
    }

    /// Declares what the node registered under `node_type` promises about being called
    /// twice ([`Delivery`]): how a durable run treats a call of it left in doubt by a
    /// crash. Does nothing if no such node is registered.
    ///
    /// ```
    /// use onex::Delivery;
    /// use onex::dynamic::NodeRegistry;
    ///
    /// let mut registry = NodeRegistry::new();
    /// registry
    ///     .effect("Charge", |_ctx, cents: u64| async move { Ok::<_, onex::NodeError>(cents) })
    ///     .delivery("Charge", Delivery::Idempotent);
    /// assert_eq!(registry.delivery_of("Charge"), Some(Delivery::Idempotent));
    /// ```
    pub fn delivery(&mut self, node_type: &str, delivery: Delivery) -> &mut Self {
        if let Some(node) = self.nodes.get_mut(node_type) {
            match Arc::get_mut(node) {
                Some(node) => node.delivery = delivery,
                None => {
                    let mut copy = RegisteredNode::clone(node);
                    copy.delivery = delivery;
                    *node = Arc::new(copy);
                }
            }
        }
        self
    }

    /// The [`Delivery`] declared for the node registered under `node_type`.
    pub fn delivery_of(&self, node_type: &str) -> Option<Delivery> {
        self.nodes.get(node_type).map(|n| n.delivery)
    }

    /// Whether a node is registered under `node_type`.
    pub fn contains(&self, node_type: &str) -> bool {
        self.nodes.contains_key(node_type)
    }

    /// The registered node types, sorted.
    pub fn node_types(&self) -> impl Iterator<Item = &str> + '_ {
        self.nodes.keys().map(String::as_str)
    }

    /// The kind of the node registered under `node_type`.
    pub fn kind(&self, node_type: &str) -> Option<NodeKind> {
        self.nodes.get(node_type).map(|n| n.kind)
    }

    /// The Rust input type of the node registered under `node_type` (for messages).
    pub fn input_type(&self, node_type: &str) -> Option<&'static str> {
        self.nodes.get(node_type).map(|n| n.input_type)
    }

    /// The Rust output type of the node registered under `node_type` (for messages).
    pub fn output_type(&self, node_type: &str) -> Option<&'static str> {
        self.nodes.get(node_type).map(|n| n.output_type)
    }

    /// Calls the node registered under `node_type` once, outside any workflow: JSON in,
    /// JSON out. `None` when no node is registered under that name.
    ///
    /// This is one attempt and nothing more — no timeout, retries or cache; the caller
    /// composes those (a remote worker runs each delivered thunk through it). Effect nodes
    /// run in the returned future; compute and reducer nodes run on the rayon pool, so a
    /// CPU-heavy node does not hold up the async threads that await it. A panic becomes a
    /// permanent [`ErrorCode::Panicked`](onex_runtime::ErrorCode::Panicked) error, as it does in a run.
    ///
    /// ```
    /// use onex_spec::NodeRegistry;
    /// use onex_runtime::{Context, Runtime};
    /// use serde_json::json;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let mut registry = NodeRegistry::new();
    /// registry.compute_infallible("Double", |n: &i64| n * 2);
    /// let ctx = Context::detached(&Runtime::default(), "remote");
    /// let call = registry.invoke(&ctx, "Double", json!(21)).unwrap();
    /// assert_eq!(call.await.unwrap(), json!(42));
    /// assert!(registry.invoke(&ctx, "Triple", json!(1)).is_none());
    /// # }
    /// ```
    pub fn invoke(
        &self,
        ctx: &Context,
        node_type: &str,
        input: Value,
    ) -> Option<BoxFuture<'static, Result<Value, NodeError>>> {
        let node = self.nodes.get(node_type)?;
        let name: Arc<str> = node_type.into();
        Some(match &node.invoke {
            Invoke::Sync(call) => {
                let call = Arc::clone(call);
                let (tx, rx) = tokio::sync::oneshot::channel();
                rayon::spawn(move || {
                    let _ = tx.send(contain(&name, || call(input)));
                });
                Box::pin(async move {
                    rx.await.unwrap_or_else(|_| {
                        Err(NodeError::internal("the rayon pool dropped a node call"))
                    })
                })
            }
            Invoke::Async(call) => {
                let call = call(ctx.clone(), input);
                Box::pin(async move { contain_async(&name, call).await })
            }
        })
    }

    pub(crate) fn get(&self, node_type: &str) -> Option<&Arc<RegisteredNode>> {
        self.nodes.get(node_type)
    }
}

impl fmt::Debug for NodeRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.nodes.iter().map(|(name, node)| (name, node.kind)))
            .finish()
    }
}

/// An async function taking the run's context and its input by reference, as effect
/// nodes of static workflows do: `async fn f(ctx: &Context, input: &In) -> Result<Out, NodeError>`.
/// Implemented for every such function; see [`NodeRegistry::effect_ref`].
pub trait BorrowingEffect<'a, I: 'a>: Send + Sync {
    /// The node's output.
    type Output;
    /// The call's future, borrowing the context and the input.
    type Future: Future<Output = Result<Self::Output, NodeError>> + Send + 'a;
    /// Calls the node.
    fn call(&self, ctx: &'a Context, input: &'a I) -> Self::Future;
}

impl<'a, I: 'a, O, F, Fut> BorrowingEffect<'a, I> for F
where
    F: Fn(&'a Context, &'a I) -> Fut + Send + Sync,
    Fut: Future<Output = Result<O, NodeError>> + Send + 'a,
{
    type Output = O;
    type Future = Fut;
    fn call(&self, ctx: &'a Context, input: &'a I) -> Fut {
        self(ctx, input)
    }
}

fn effect_call<I, O, F, Fut>(name: Arc<str>, node: F) -> Invoke
where
    I: DeserializeOwned + Send + 'static,
    O: Serialize + 'static,
    F: Fn(Context, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, NodeError>> + Send + 'static,
{
    let node = Arc::new(node);
    Invoke::Async(Arc::new(move |ctx: Context, input: Value| {
        let name = name.clone();
        let node = node.clone();
        Box::pin(async move {
            let input: I = decode(&name, input)?;
            let output = node(ctx, input).await?;
            encode(&name, &output)
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use onex_runtime::ErrorCode;
    use serde_json::json;

    #[tokio::test]
    async fn invoke_calls_effects_and_contains_panics() {
        let mut registry = NodeRegistry::new();
        registry
            .compute_infallible("Boom", |_: &i64| -> i64 { panic!("no {}", 7) })
            .effect("Echo", |_ctx: Context, s: String| async move {
                Ok::<_, NodeError>(s)
            });
        let ctx = Context::detached(&onex_runtime::Runtime::default(), "t");
        let echo = registry.invoke(&ctx, "Echo", json!("hi")).unwrap().await;
        assert_eq!(echo.unwrap(), json!("hi"));
        let e = registry
            .invoke(&ctx, "Boom", json!(1))
            .unwrap()
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Panicked);
        assert_eq!(e.message(), "step `Boom` panicked: no 7");
        let e = registry
            .invoke(&ctx, "Echo", json!(3))
            .unwrap()
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
    }

    #[test]
    fn sync_nodes_round_trip_json() {
        let mut registry = NodeRegistry::new();
        registry.compute_infallible("Double", |n: &i64| n * 2);
        registry.reducer("Sum", |acc: &mut i64, n: &i64| *acc += n);
        let call = |name: &str, v: Value| match &registry.get(name).unwrap().invoke {
            Invoke::Sync(f) => f(v),
            Invoke::Async(_) => unreachable!(),
        };
        assert_eq!(call("Double", json!(21)).unwrap(), json!(42));
        assert_eq!(call("Sum", json!([1, 2, 3])).unwrap(), json!(6));
        assert!(call("Sum", json!({})).is_err());
        assert!((registry.get("Double").unwrap().check_input)(&json!("x")).is_err());
    }
}
