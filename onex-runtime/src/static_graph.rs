//! The graph of a `workflow!`, as the macro writes it, and the const helpers that finish it
//! at compile time.
//!
//! The macro computes the topological waves from the step names it sees; a node's priority
//! and the optional-ness of its parameters live in trait constants the macro cannot read, so
//! the last steps run in const evaluation. The runtime never sorts a static graph.
//!
//! The steps are plain data ([`StaticStep`], one struct literal per step over its node's
//! [`NodeStep::STEP`], dependencies as ranges of one flat array) because a call per step in
//! constant evaluation is slow: building each step's [`StepSpec`] there took a sixth of the
//! compile time of a 200-step workflow. [`StaticGraph::graph`] builds the [`Graph`] from
//! them once, on first use.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::OnceLock;

use crate::graph::{Graph, NodeKind, StepPolicy, StepSpec};
use crate::node::Node;

/// Sorts each wave of `order` by `(priority, index)`, exactly as [`Graph::new`](crate::Graph::new) does.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::order_by_priority;
/// const ORDER: [usize; 3] = order_by_priority([0, 1, 2], &[0, 1], &[0, 5, -1]);
/// assert_eq!(ORDER, [0, 2, 1]);
/// ```
pub const fn order_by_priority<const N: usize>(
    mut order: [usize; N],
    wave_starts: &[usize],
    priority: &[i32; N],
) -> [usize; N] {
    let mut w = 0;
    while w < wave_starts.len() {
        let start = wave_starts[w];
        let end = if w + 1 < wave_starts.len() {
            wave_starts[w + 1]
        } else {
            N
        };
        // Insertion sort: waves are short and this runs in const evaluation.
        let mut i = start + 1;
        while i < end {
            let mut j = i;
            while j > start && before(order[j], order[j - 1], priority) {
                let t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
                j -= 1;
            }
            i += 1;
        }
        w += 1;
    }
    order
}

const fn before<const N: usize>(a: usize, b: usize, priority: &[i32; N]) -> bool {
    priority[a] < priority[b] || (priority[a] == priority[b] && a < b)
}

/// Whether two orders are the same, in const evaluation: `workflow!` emits its straight-line
/// body in the order it computed and uses it only when priorities left that order alone.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::same_order;
/// assert!(same_order(&[0, 2, 1], &[0, 2, 1]));
/// assert!(!same_order(&[0, 1, 2], &[0, 2, 1]));
/// ```
pub const fn same_order<const N: usize>(a: &[usize; N], b: &[usize; N]) -> bool {
    let mut i = 0;
    while i < N {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// One step of a `workflow!` graph: its name and the ranges of its dependencies and inputs in
/// the [`StaticGraph`]'s flat arrays, over what its node's constants tell ([`NodeStep::STEP`]).
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{Node, NodeStep, StaticStep};
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
/// const STEP: StaticStep = StaticStep { name: "n", deps: (0, 1), ..NodeStep::<Len>::STEP };
/// assert_eq!((STEP.name, STEP.node_type, STEP.deps), ("n", "Len", (0, 1)));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct StaticStep {
    /// The step's name.
    pub name: &'static str,
    /// The node's type name.
    pub node_type: &'static str,
    /// The node's kind.
    pub kind: NodeKind,
    /// Whether the node is async.
    pub is_async: bool,
    /// Whether the node declares a compensation.
    pub compensated: bool,
    /// The node's policy with the step's options applied.
    pub policy: StepPolicy,
    /// Whether the step has a `when` condition.
    pub conditional: bool,
    /// Whether the step is a `map`.
    pub map: bool,
    /// Start and length of its dependencies in [`StaticGraph`]'s `deps` (and their flags in
    /// `optional`).
    pub deps: (usize, usize),
    /// Start and length of the workflow inputs it reads in [`StaticGraph`]'s `reads`.
    pub reads: (usize, usize),
}

/// What a node's constants tell about a step calling it: [`NodeStep::STEP`], evaluated
/// once per node type.
///
/// # Examples
///
/// See [`StaticStep`].
pub struct NodeStep<N>(PhantomData<N>);

impl<N: Node> NodeStep<N> {
    /// A step calling `N`, with no name, dependencies or inputs yet.
    pub const STEP: StaticStep = StaticStep {
        name: "",
        node_type: N::NAME,
        kind: N::KIND,
        is_async: N::IS_ASYNC,
        compensated: N::COMPENSATED,
        policy: N::POLICY,
        conditional: false,
        map: false,
        deps: (0, 0),
        reads: (0, 0),
    };
}

/// The priorities of `steps`, for [`order_by_priority`].
///
/// # Examples
///
/// ```
/// # use onex_runtime::__private::{priorities, NodeStep, Node, StaticStep};
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
/// const STEPS: [StaticStep; 2] = [
///     NodeStep::<Len>::STEP,
///     StaticStep { policy: StepPolicy::DEFAULT.priority(3), ..NodeStep::<Len>::STEP },
/// ];
/// assert_eq!(priorities(&STEPS), [0, 3]);
/// ```
pub const fn priorities<const N: usize>(steps: &[StaticStep; N]) -> [i32; N] {
    let mut out = [0; N];
    let mut i = 0;
    while i < N {
        out[i] = steps[i].policy.priority;
        i += 1;
    }
    out
}

/// The graph of a `workflow!`: its steps as data, the order and waves computed at compile
/// time, and the [`Graph`] built from them on first use.
///
/// # Examples
///
/// ```
/// use std::borrow::Cow;
/// use onex_runtime::__private::{NodeStep, Node, StaticGraph, StaticParts, StaticStep};
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
/// static INPUTS: [Cow<'static, str>; 1] = [Cow::Borrowed("x")];
/// static STEPS: [StaticStep; 2] = [
///     StaticStep { name: "a", reads: (0, 1), ..NodeStep::<Len>::STEP },
///     StaticStep { name: "b", deps: (0, 1), ..NodeStep::<Len>::STEP },
/// ];
/// static GRAPH: StaticGraph = StaticGraph::new(StaticParts {
///     name: "W",
///     inputs: &INPUTS,
///     steps: &STEPS,
///     deps: &[0],
///     optional: &[true],
///     reads: &[0],
///     output: 1,
///     order: &[0, 1],
///     wave_starts: &[0, 1],
///     wave_of: &[0, 1],
/// });
/// let g = GRAPH.graph();
/// assert_eq!(g.step(1).deps.as_ref(), &[0]);
/// assert_eq!(g.step(1).optional_deps.as_ref(), &[0]);
/// assert_eq!(g.step(0).reads_inputs.as_ref(), &[0]);
/// ```
pub struct StaticGraph {
    parts: StaticParts,
    graph: OnceLock<Graph>,
}

/// The parts of a `workflow!` graph, as the macro computed them: `deps` and `optional` hold
/// every step's dependencies and their flags (taken as `Option<&T>`), `reads` every step's
/// inputs, each step naming its ranges in them; `order` is a topological order grouped by
/// wave, `wave_starts` where each wave begins in it, `wave_of` each step's wave.
///
/// # Examples
///
/// See [`StaticGraph`].
pub struct StaticParts {
    /// The workflow's name.
    pub name: &'static str,
    /// Its inputs' names.
    pub inputs: &'static [Cow<'static, str>],
    /// Its steps.
    pub steps: &'static [StaticStep],
    /// Every step's dependencies, by step index.
    pub deps: &'static [usize],
    /// For each of `deps`, whether the step takes it as `Option<&T>`.
    pub optional: &'static [bool],
    /// Every step's workflow inputs, by input index.
    pub reads: &'static [usize],
    /// The output step.
    pub output: usize,
    /// The order the steps run in, wave by wave.
    pub order: &'static [usize],
    /// Where each wave begins in `order`.
    pub wave_starts: &'static [usize],
    /// Each step's wave.
    pub wave_of: &'static [usize],
}

impl StaticGraph {
    /// The graph of `parts`, built on first use.
    pub const fn new(parts: StaticParts) -> Self {
        StaticGraph {
            parts,
            graph: OnceLock::new(),
        }
    }

    /// The graph, built on first use.
    pub fn graph(&'static self) -> &'static Graph {
        self.graph.get_or_init(|| {
            let p = &self.parts;
            let steps = p.steps.iter().map(|s| p.spec(s)).collect();
            Graph::from_static(
                p.name,
                p.inputs,
                steps,
                p.output,
                p.order,
                p.wave_starts,
                p.wave_of,
            )
        })
    }
}

impl StaticParts {
    /// Step `s` as a [`StepSpec`], its slices borrowed from the parts.
    fn spec(&'static self, s: &StaticStep) -> StepSpec {
        let range = |(start, len): (usize, usize)| start..start + len;
        let deps = &self.deps[range(s.deps)];
        let optional = &self.optional[range(s.deps)];
        let optional_deps: Vec<usize> = deps
            .iter()
            .zip(optional)
            .filter(|(_, optional)| **optional)
            .map(|(d, _)| *d)
            .collect();
        StepSpec {
            name: Cow::Borrowed(s.name),
            node_type: Cow::Borrowed(s.node_type),
            kind: s.kind,
            is_async: s.is_async,
            deps: Cow::Borrowed(deps),
            optional_deps: if optional_deps.is_empty() {
                Cow::Borrowed(&[])
            } else {
                Cow::Owned(optional_deps)
            },
            reads_inputs: Cow::Borrowed(&self.reads[range(s.reads)]),
            policy: s.policy,
            conditional: s.conditional,
            map: s.map,
            compensated: s.compensated,
        }
    }
}
