//! The workflow graph: steps, their dependencies, topological order and waves.

use std::borrow::Cow;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::{Delivery, GraphError, NodeKind, StepPolicy, ThunkType};

/// One step of a workflow graph.
///
/// The `workflow!` macro emits these as constants; graphs built at run time make them with
/// [`StepSpec::new`] and the builder methods.
///
/// # Examples
///
/// ```
/// use onex::{NodeKind, StepSpec};
/// let s = StepSpec::new("clean", "transform", NodeKind::Compute).with_deps(vec![0]);
/// assert_eq!(&*s.name, "clean");
/// assert_eq!(&*s.deps, &[0]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepSpec {
    /// The step's name, unique in its workflow.
    pub name: Cow<'static, str>,
    /// The node's type name, recorded as the thunks' `target_node_type`.
    pub node_type: Cow<'static, str>,
    /// The node's kind.
    pub kind: NodeKind,
    /// Whether the node is an `async fn` (or a nested workflow).
    pub is_async: bool,
    /// The steps this one reads, by index: its arguments and its condition's parameters.
    pub deps: Cow<'static, [usize]>,
    /// The dependencies taken as `Option<&T>`: when one is skipped this step still runs.
    pub optional_deps: Cow<'static, [usize]>,
    /// The workflow inputs this step reads, by index into [`Graph::inputs`].
    pub reads_inputs: Cow<'static, [usize]>,
    /// Retries, backoff, timeout, priority and caching.
    pub policy: StepPolicy,
    /// Whether the step has a `when` condition.
    pub conditional: bool,
    /// Whether the step is a `map` over a list (one call per element).
    pub map: bool,
    /// Whether the node declares a compensation.
    pub compensated: bool,
    /// What the node promises about being called twice (effects).
    #[serde(default)]
    pub delivery: Delivery,
    /// The node's input and output types as written (empty when unknown): part of a
    /// durable run's graph fingerprint.
    #[serde(default)]
    pub signature: Cow<'static, str>,
}

impl StepSpec {
    /// A synchronous step with no dependencies and the default policy.
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        node_type: impl Into<Cow<'static, str>>,
        kind: NodeKind,
    ) -> Self {
        StepSpec {
            name: name.into(),
            node_type: node_type.into(),
            kind,
            is_async: false,
            deps: Cow::Borrowed(&[]),
            optional_deps: Cow::Borrowed(&[]),
            reads_inputs: Cow::Borrowed(&[]),
            policy: StepPolicy::DEFAULT,
            conditional: false,
            map: false,
            compensated: false,
            delivery: Delivery::Unspecified,
            signature: Cow::Borrowed(""),
        }
    }

    /// Whether a completed call of it is a write a saga may have to undo: an effect with
    /// a compensation.
    pub(crate) fn is_undoable(&self) -> bool {
        self.compensated && self.kind == NodeKind::Effect
    }

    /// Whether its calls are synchronous and free of retries, timeout and caching: what
    /// the executors can call directly (circuit breakers and run options aside).
    pub(crate) fn is_plain_sync(&self) -> bool {
        !self.is_async && self.policy.is_plain()
    }

    /// The same step reading the given steps.
    pub fn with_deps(mut self, deps: Vec<usize>) -> Self {
        self.deps = Cow::Owned(deps);
        self
    }

    /// The same step with another policy.
    pub fn with_policy(mut self, policy: StepPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The same step with another [`Delivery`].
    pub fn with_delivery(mut self, delivery: Delivery) -> Self {
        self.delivery = delivery;
        self
    }

    /// The same step with its node's input and output types as written.
    pub fn with_signature(mut self, signature: impl Into<Cow<'static, str>>) -> Self {
        self.signature = signature.into();
        self
    }

    /// The same step, asynchronous or not.
    pub fn with_async(mut self, is_async: bool) -> Self {
        self.is_async = is_async;
        self
    }

    /// The thunk type of this step's calls.
    pub fn thunk_type(&self) -> ThunkType {
        self.kind.thunk_type()
    }
}

/// A workflow graph: its steps, its output step, and its waves.
///
/// The order and the waves are computed once: by the `workflow!` macro at compile time for
/// static workflows, by [`Graph::new`] for graphs built at run time. Executors never sort.
///
/// # Examples
///
/// ```
/// use onex::{Graph, NodeKind, StepSpec};
///
/// let steps = vec![
///     StepSpec::new("a", "a", NodeKind::Compute),
///     StepSpec::new("b", "b", NodeKind::Compute).with_deps(vec![0]),
///     StepSpec::new("c", "c", NodeKind::Compute).with_deps(vec![0]),
///     StepSpec::new("d", "d", NodeKind::Compute).with_deps(vec![1, 2]),
/// ];
/// let g = Graph::new("diamond", vec![], steps, 3).unwrap();
/// let waves: Vec<Vec<&str>> = g.waves().map(|w| w.iter().map(|&s| g.step(s).name.as_ref()).collect()).collect();
/// assert_eq!(waves, vec![vec!["a"], vec!["b", "c"], vec!["d"]]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graph {
    name: Cow<'static, str>,
    inputs: Cow<'static, [Cow<'static, str>]>,
    steps: Cow<'static, [StepSpec]>,
    output: usize,
    order: Cow<'static, [usize]>,
    wave_starts: Cow<'static, [usize]>,
    wave_of: Cow<'static, [usize]>,
    /// Facts the executors derive from the graph once, on first use.
    #[serde(skip)]
    derived: Derived,
}

/// What the executors derive from a graph once rather than per run. Not part of the graph's
/// value: equality and serde ignore it.
#[derive(Debug, Clone, Default)]
struct Derived {
    /// See [`Graph::direct_stretches`].
    direct_stretches: OnceLock<Box<[u32]>>,
    /// See [`Graph::plain_waves`].
    plain_waves: OnceLock<Box<[PlainWave]>>,
}

/// What the executors know of one wave (see [`Graph::plain_waves`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlainWave {
    /// Every step of it is plain, with no condition and no `map`.
    pub(crate) plain: bool,
    /// Some step of it is a compensated effect.
    pub(crate) undoable: bool,
}

impl Derived {
    const fn new() -> Self {
        Derived {
            direct_stretches: OnceLock::new(),
            plain_waves: OnceLock::new(),
        }
    }
}

impl PartialEq for Derived {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Derived {}

impl Graph {
    /// Builds a graph, computing its order and waves.
    ///
    /// Within a wave, steps are ordered by priority (lower first), then by index.
    ///
    /// # Errors
    ///
    /// [`GraphError::Cycle`] naming every step on a cycle; [`GraphError::UnknownStep`] for
    /// a dependency index out of range; [`GraphError::UnknownOutput`] for a bad output index.
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        inputs: Vec<Cow<'static, str>>,
        steps: Vec<StepSpec>,
        output: usize,
    ) -> Result<Self, GraphError> {
        let name = name.into();
        for step in &steps {
            if let Some(&bad) = step.deps.iter().find(|&&d| d >= steps.len()) {
                return Err(GraphError::UnknownStep {
                    workflow: name.to_string(),
                    step: step.name.to_string(),
                    missing: format!("#{bad}"),
                });
            }
        }
        if output >= steps.len() {
            return Err(GraphError::UnknownOutput {
                workflow: name.to_string(),
                step: format!("#{output}"),
            });
        }
        let deps: Vec<&[usize]> = steps.iter().map(|s| &*s.deps).collect();
        let levels = onex_graph::levels(&deps).map_err(|cycle| GraphError::Cycle {
            workflow: name.to_string(),
            steps: cycle
                .nodes()
                .iter()
                .map(|&i| steps[i].name.to_string())
                .collect(),
        })?;
        let (mut order, wave_starts, wave_of) = levels.into_parts();
        for w in 0..wave_starts.len() {
            let end = wave_starts.get(w + 1).copied().unwrap_or(order.len());
            order[wave_starts[w]..end].sort_by_key(|&s| (steps[s].policy.priority, s));
        }
        Ok(Graph {
            name,
            inputs: Cow::Owned(inputs),
            steps: Cow::Owned(steps),
            output,
            order: Cow::Owned(order),
            wave_starts: Cow::Owned(wave_starts),
            wave_of: Cow::Owned(wave_of),
            derived: Derived::new(),
        })
    }

    /// A graph from parts computed ahead of time (by the `workflow!` macro, through
    /// [`StaticGraph`](crate::__private::StaticGraph)).
    ///
    /// The caller guarantees what [`Graph::new`] checks: dependencies in range, `order` a
    /// topological order grouped by wave, `wave_starts` and `wave_of` consistent with it.
    pub(crate) fn from_static(
        name: &'static str,
        inputs: &'static [Cow<'static, str>],
        steps: Vec<StepSpec>,
        output: usize,
        order: &'static [usize],
        wave_starts: &'static [usize],
        wave_of: &'static [usize],
    ) -> Self {
        Graph {
            name: Cow::Borrowed(name),
            inputs: Cow::Borrowed(inputs),
            steps: Cow::Owned(steps),
            output,
            order: Cow::Borrowed(order),
            wave_starts: Cow::Borrowed(wave_starts),
            wave_of: Cow::Borrowed(wave_of),
            derived: Derived::new(),
        }
    }

    /// The workflow's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name as stored: a `workflow!` graph's is borrowed, so runs and reports share it
    /// without copying.
    pub(crate) fn name_cow(&self) -> Cow<'static, str> {
        self.name.clone()
    }

    /// The workflow's input names.
    pub fn inputs(&self) -> &[Cow<'static, str>] {
        &self.inputs
    }

    /// Every step, by index.
    pub fn steps(&self) -> &[StepSpec] {
        &self.steps
    }

    /// One step.
    ///
    /// # Panics
    ///
    /// If `index` is out of range.
    pub fn step(&self, index: usize) -> &StepSpec {
        &self.steps[index]
    }

    /// The index of the step named `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.name == name)
    }

    /// The index of the output step.
    pub fn output(&self) -> usize {
        self.output
    }

    /// Every step once, dependencies first, grouped by wave.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// The number of waves.
    pub fn wave_count(&self) -> usize {
        self.wave_starts.len()
    }

    /// The wave of a step.
    pub fn wave_of(&self, step: usize) -> usize {
        self.wave_of[step]
    }

    /// One wave: the steps of topological level `wave`, in dispatch order.
    pub fn wave(&self, wave: usize) -> &[usize] {
        let end = self
            .wave_starts
            .get(wave + 1)
            .copied()
            .unwrap_or(self.order.len());
        &self.order[self.wave_starts[wave]..end]
    }

    /// The waves in order.
    pub fn waves(&self) -> impl ExactSizeIterator<Item = &[usize]> + '_ {
        (0..self.wave_count()).map(move |w| self.wave(w))
    }

    /// For each position in [`order`](Self::order), how many steps from there on, in order,
    /// can run directly: synchronous, with no retry, timeout or cache policy, no condition,
    /// no `map` and no compensation. The sequential executor runs such a stretch back to back
    /// with no per-step checks beyond the call; reading it from here keeps the step specs
    /// out of that loop.
    pub(crate) fn direct_stretches(&self) -> &[u32] {
        self.derived.direct_stretches.get_or_init(|| {
            let mut stretches = vec![0u32; self.order.len()];
            let mut len = 0u32;
            for (at, &step) in self.order.iter().enumerate().rev() {
                let spec = &self.steps[step];
                let direct =
                    spec.is_plain_sync() && !spec.conditional && !spec.map && !spec.compensated;
                len = if direct { len.saturating_add(1) } else { 0 };
                stretches[at] = len;
            }
            stretches.into_boxed_slice()
        })
    }

    /// For each wave, whether every step of it is synchronous, with no retry, timeout or
    /// cache policy, no condition and no `map`: a wave the executor may make as one
    /// rayon job of plain calls; and whether any of them is a compensated effect, whose
    /// output is then noted for undoing as its call is applied.
    pub(crate) fn plain_waves(&self) -> &[PlainWave] {
        self.derived.plain_waves.get_or_init(|| {
            self.waves()
                .map(|wave| {
                    let specs = || wave.iter().map(|&step| &self.steps[step]);
                    PlainWave {
                        plain: specs()
                            .all(|spec| spec.is_plain_sync() && !spec.conditional && !spec.map),
                        undoable: specs().any(StepSpec::is_undoable),
                    }
                })
                .collect()
        })
    }

    /// The steps that read `step`'s output.
    pub fn dependents(&self, step: usize) -> impl Iterator<Item = usize> + '_ {
        self.steps
            .iter()
            .enumerate()
            .filter(move |(_, s)| s.deps.contains(&step))
            .map(|(i, _)| i)
    }
}
