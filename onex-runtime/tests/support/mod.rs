//! A small run-time-built workflow over `u64` values, to exercise the executors without
//! the macros: each step is a closure over its inputs' values.

#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use onex_runtime::__private::Slot;
use onex_runtime::*;

pub type BoxFut = Pin<Box<dyn Future<Output = Result<u64, NodeError>> + Send>>;
type CondFn = Arc<dyn Fn(&[u64]) -> bool + Send + Sync>;
type StepEntry = (
    StepSpec,
    Vec<String>,
    Body,
    Option<AsyncFn>,
    Option<(Vec<String>, CondFn)>,
);
type SyncFn = Arc<dyn Fn(&[u64]) -> Result<u64, NodeError> + Send + Sync>;
type AsyncFn = Arc<
    dyn Fn(Vec<u64>) -> Pin<Box<dyn Future<Output = Result<u64, NodeError>> + Send>> + Send + Sync,
>;

enum Body {
    Sync(SyncFn),
    Async(AsyncFn),
}

pub struct Flow {
    graph: Graph,
    bodies: Vec<Body>,
    undo: Vec<Option<AsyncFn>>,
    conditions: Vec<Option<CondFn>>,
    /// Per step: the steps passed as arguments, and the steps its condition reads.
    args: Vec<Vec<usize>>,
    condition_on: Vec<Vec<usize>>,
}

#[derive(Default)]
pub struct FlowBuilder {
    name: String,
    steps: Vec<StepEntry>,
}

impl FlowBuilder {
    pub fn new(name: &str) -> Self {
        FlowBuilder {
            name: name.into(),
            steps: Vec::new(),
        }
    }

    /// A synchronous compute step.
    pub fn compute(
        mut self,
        name: &str,
        deps: &[&str],
        f: impl Fn(&[u64]) -> Result<u64, NodeError> + Send + Sync + 'static,
    ) -> Self {
        let spec = StepSpec::new(name.to_string(), name.to_string(), NodeKind::Compute);
        self.steps.push((
            spec,
            deps.iter().map(|d| d.to_string()).collect(),
            Body::Sync(Arc::new(f)),
            None,
            None,
        ));
        self
    }

    /// An asynchronous effect step.
    pub fn effect<F, Fut>(mut self, name: &str, deps: &[&str], f: F) -> Self
    where
        F: Fn(Vec<u64>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<u64, NodeError>> + Send + 'static,
    {
        let spec =
            StepSpec::new(name.to_string(), name.to_string(), NodeKind::Effect).with_async(true);
        let f: AsyncFn = Arc::new(move |v| Box::pin(f(v)));
        self.steps.push((
            spec,
            deps.iter().map(|d| d.to_string()).collect(),
            Body::Async(f),
            None,
            None,
        ));
        self
    }

    /// Changes the last step's policy.
    pub fn policy(mut self, policy: StepPolicy) -> Self {
        if let Some(last) = self.steps.last_mut() {
            last.0.policy = policy;
        }
        self
    }

    /// Changes the last step's node type (to share a circuit breaker or a batch group).
    pub fn node_type(mut self, node_type: &str) -> Self {
        if let Some(last) = self.steps.last_mut() {
            last.0.node_type = node_type.to_string().into();
        }
        self
    }

    /// Gives the last step a compensation receiving its output.
    pub fn compensate<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Vec<u64>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<u64, NodeError>> + Send + 'static,
    {
        if let Some(last) = self.steps.last_mut() {
            last.0.compensated = true;
            last.3 = Some(Arc::new(move |v| Box::pin(f(v))));
        }
        self
    }

    /// Gives the last step a `when` condition over the named steps.
    pub fn when(mut self, on: &[&str], f: impl Fn(&[u64]) -> bool + Send + Sync + 'static) -> Self {
        if let Some(last) = self.steps.last_mut() {
            last.0.conditional = true;
            last.4 = Some((on.iter().map(|d| d.to_string()).collect(), Arc::new(f)));
        }
        self
    }

    /// Builds the flow; its output is `output`.
    pub fn build(self, output: &str) -> Result<Arc<Flow>, GraphError> {
        let names: Vec<String> = self.steps.iter().map(|s| s.0.name.to_string()).collect();
        let index = |step: &str, n: &str| {
            names
                .iter()
                .position(|x| x == n)
                .ok_or_else(|| GraphError::UnknownStep {
                    workflow: self.name.clone(),
                    step: step.to_string(),
                    missing: n.to_string(),
                })
        };
        let mut specs = Vec::new();
        let mut bodies = Vec::new();
        let mut undo = Vec::new();
        let mut conditions = Vec::new();
        let mut args = Vec::new();
        let mut condition_on = Vec::new();
        for (mut spec, deps, body, comp, cond) in self.steps {
            let arg_ids = deps
                .iter()
                .map(|d| index(&spec.name, d))
                .collect::<Result<Vec<_>, _>>()?;
            let mut ids = arg_ids.clone();
            let mut condition = None;
            let mut on_ids = Vec::new();
            if let Some((on, f)) = cond {
                on_ids = on
                    .iter()
                    .map(|d| index(&spec.name, d))
                    .collect::<Result<_, _>>()?;
                for &i in &on_ids {
                    if !ids.contains(&i) {
                        ids.push(i);
                    }
                }
                condition = Some(f);
            }
            args.push(arg_ids);
            condition_on.push(on_ids);
            spec.deps = std::borrow::Cow::Owned(ids);
            specs.push(spec);
            bodies.push(body);
            undo.push(comp);
            conditions.push(condition);
        }
        let output = index("return", output)?;
        let graph = Graph::new(self.name, vec![], specs, output)?;
        Ok(Arc::new(Flow {
            graph,
            bodies,
            undo,
            conditions,
            args,
            condition_on,
        }))
    }
}

pub struct Values {
    input: u64,
    slots: Vec<Slot<u64>>,
}

impl Flow {
    fn inputs(&self, slots: &Values, step: usize, args: &[usize]) -> Result<Vec<u64>, NodeError> {
        if args.is_empty() {
            return Ok(vec![slots.input]);
        }
        let _ = step;
        args.iter()
            .map(|&d| {
                slots.slots[d]
                    .get()
                    .copied()
                    .ok_or_else(|| NodeError::permanent("input missing"))
            })
            .collect()
    }
}

impl Program for Flow {
    type Input = u64;
    type Output = u64;
    type Slots = Values;

    fn graph(&self) -> &Graph {
        &self.graph
    }

    fn slots(&self, input: u64) -> Values {
        Values {
            input,
            slots: (0..self.graph.steps().len()).map(|_| Slot::new()).collect(),
        }
    }

    fn output(&self, slots: Values) -> Option<u64> {
        slots
            .slots
            .into_iter()
            .nth(self.graph.output())?
            .into_inner()
    }

    fn condition(&self, slots: &Values, step: usize) -> Result<bool, NodeError> {
        let Some(f) = &self.conditions[step] else {
            return Ok(true);
        };
        let values = self.inputs(slots, step, &self.condition_on[step])?;
        Ok(f(&values))
    }

    fn call_sync(&self, slots: &Values, call: Call<'_>) -> Result<(), NodeError> {
        let Body::Sync(f) = &self.bodies[call.step] else {
            return Err(NodeError::permanent("async step called synchronously"));
        };
        let out = f(&self.inputs(slots, call.step, &self.args[call.step])?)?;
        slots.slots[call.step].put(out);
        Ok(())
    }

    fn call_async<'a>(&'a self, slots: &'a Values, call: Call<'a>) -> StepFuture<'a> {
        Box::pin(async move {
            let Body::Async(f) = &self.bodies[call.step] else {
                return self.call_sync(slots, call);
            };
            let out = f(self.inputs(slots, call.step, &self.args[call.step])?).await?;
            slots.slots[call.step].put(out);
            Ok(())
        })
    }

    fn input_hash(&self, slots: &Values, call: Call<'_>, hasher: KeyHasher<'_>) -> Option<u64> {
        let inputs = self.inputs(slots, call.step, &self.args[call.step]).ok()?;
        Some(hasher.hash_one(&inputs))
    }

    fn cache_store(&self, slots: &Values, call: Call<'_>) -> Option<CacheEntry> {
        let inputs = self.inputs(slots, call.step, &self.args[call.step]).ok()?;
        let weight = inputs.cache_weight() + 8;
        Some(CacheEntry::new(
            inputs,
            *slots.slots[call.step].get()?,
            weight,
        ))
    }

    fn cache_load(&self, slots: &Values, call: Call<'_>, entry: &CacheEntry) -> bool {
        let inputs = self.inputs(slots, call.step, &self.args[call.step]).ok();
        match (entry.inputs::<Vec<u64>>(), entry.output::<u64>()) {
            (Some(kept), Some(out)) if inputs.as_ref() == Some(kept) => {
                slots.slots[call.step].put(*out);
                true
            }
            _ => false,
        }
    }

    fn compensate<'a>(&'a self, slots: &'a Values, call: Call<'a>) -> Option<StepFuture<'a>> {
        let undo = self.undo[call.step].as_ref()?;
        let value = *slots.slots[call.step].get()?;
        Some(Box::pin(async move { undo(vec![value]).await.map(|_| ()) }))
    }
}

/// load -> fetch (fails once, transiently; one retry after 5 ms) -> save, and a `fast`
/// step whose condition is false.
pub fn retry_then_skip() -> Arc<Flow> {
    let calls = Arc::new(AtomicUsize::new(0));
    FlowBuilder::new("observed")
        .compute("load", &[], |v| Ok(v[0]))
        .effect("fetch", &["load"], move |v| {
            let first = calls.fetch_add(1, Ordering::SeqCst) == 0;
            async move {
                if first {
                    Err(NodeError::transient("connection reset"))
                } else {
                    Ok(v[0] + 1)
                }
            }
        })
        .policy(
            StepPolicy::DEFAULT
                .retries(1)
                .backoff(Backoff::fixed(Duration::from_millis(5)).no_jitter()),
        )
        .compute("fast", &["fetch"], |v| Ok(v[0]))
        .when(&["fetch"], |_| false)
        .compute("save", &["fetch"], |v| Ok(v[0] * 2))
        .build("save")
        .unwrap()
}
