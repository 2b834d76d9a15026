//! The graph of a `workflow!`, as the macro writes it, and the const helpers that finish it
//! at compile time.
//!
//! The macro computes the topological waves from the step names it sees; a node's priority
//! and the optional-ness of its parameters live in trait constants the macro cannot read, so
//! the last steps run in const evaluation. The runtime never sorts a static graph.
//!
//! The steps are plain data in parallel arrays ([`StaticParts`]: each step's name, the
//! index of its node's constants ([`NodeInfo`], one per node), where its dependencies and
//! inputs begin in flat arrays; the few steps with options, conditions or `map` listed
//! apart) because that is what the compiler checks fastest: a call per step in constant
//! evaluation took a sixth of the compile time of a 200-step workflow, and a struct
//! literal per step copying its node's constants field by field, a few per cent more.
//! [`StaticGraph::graph`] builds the [`Graph`] from them once, on first use.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::OnceLock;

use crate::model::Delivery;
use crate::model::Graph;
use crate::model::NodeKind;
use crate::model::StepPolicy;
use crate::model::StepSpec;
use crate::program::node::Node;

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

/// What a node's constants tell about a step calling it: [`NodeStep::INFO`], evaluated
/// once per node type.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{Node, NodeStep};
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
/// const LEN: onex_runtime::__private::NodeInfo = NodeStep::<Len>::INFO;
/// assert_eq!((LEN.node_type, LEN.is_async), ("Len", false));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct NodeInfo {
    /// The node's type name.
    pub node_type: &'static str,
    /// The node's kind.
    pub kind: NodeKind,
    /// Whether the node is async.
    pub is_async: bool,
    /// Whether the node declares a compensation.
    pub compensated: bool,
    /// What the node promises about being called twice.
    pub delivery: Delivery,
    /// Its input and output types as written.
    pub signature: &'static str,
    /// The node's policy.
    pub policy: StepPolicy,
}

/// The holder of [`NodeStep::INFO`], a node's [`NodeInfo`].
///
/// # Examples
///
/// See [`NodeInfo`].
pub struct NodeStep<N>(PhantomData<N>);

impl<N: Node> NodeStep<N> {
    /// What `N`'s constants tell about a step calling it.
    pub const INFO: NodeInfo = NodeInfo {
        node_type: N::NAME,
        kind: N::KIND,
        is_async: N::IS_ASYNC,
        compensated: N::COMPENSATED,
        delivery: N::DELIVERY,
        signature: N::SIGNATURE,
        policy: N::POLICY,
    };
}

/// What a workflow nested as a step promises about being run twice, from its distinct
/// `nodes`: to its enclosing durable run it is one call, made again whole after a crash in
/// its middle. That is safe when every effect in it (nested workflows included) is
/// idempotent, or it has none: [`Delivery::Idempotent`]. When each is declared otherwise
/// (`at_most_once`, or compensated), a second run is not safe but the user chose how
/// doubt ends: [`Delivery::AtMostOnce`], the run stops in doubt. Otherwise
/// [`Delivery::Unspecified`], which a `#[durable]` workflow nesting it refuses to compile.
///
/// # Examples
///
/// ```
/// use onex_runtime::__private::{NodeInfo, nested_delivery};
/// use onex_runtime::{Delivery, NodeKind, StepPolicy};
/// let node = |kind, delivery, compensated| NodeInfo {
///     node_type: "N",
///     kind,
///     is_async: false,
///     compensated,
///     delivery,
///     signature: "",
///     policy: StepPolicy::DEFAULT,
/// };
/// let pure = node(NodeKind::Compute, Delivery::Unspecified, false);
/// let paid = node(NodeKind::Effect, Delivery::Idempotent, false);
/// let mailed = node(NodeKind::Effect, Delivery::Unspecified, true);
/// let raw = node(NodeKind::Effect, Delivery::Unspecified, false);
/// assert_eq!(nested_delivery(&[pure, paid]), Delivery::Idempotent);
/// assert_eq!(nested_delivery(&[pure, paid, mailed]), Delivery::AtMostOnce);
/// assert_eq!(nested_delivery(&[paid, raw]), Delivery::Unspecified);
/// ```
pub const fn nested_delivery(nodes: &[NodeInfo]) -> Delivery {
    let (mut rerun, mut declared) = (true, true);
    let mut i = 0;
    while i < nodes.len() {
        let node = &nodes[i];
        if matches!(node.kind, NodeKind::Effect | NodeKind::Orchestrator) {
            rerun &= matches!(node.delivery, Delivery::Idempotent);
            declared &= node.compensated || !matches!(node.delivery, Delivery::Unspecified);
        }
        i += 1;
    }
    if rerun {
        Delivery::Idempotent
    } else if declared {
        Delivery::AtMostOnce
    } else {
        Delivery::Unspecified
    }
}

/// The priorities of `N` steps, each calling `nodes[node_of[i]]`, with the `policies` some
/// steps' options set: for [`order_by_priority`].
///
/// # Examples
///
/// ```
/// # use onex_runtime::__private::{priorities, NodeStep, Node};
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
/// const P: [i32; 2] = priorities(&[NodeStep::<Len>::INFO], &[0, 0], &[(1, StepPolicy::DEFAULT.priority(3))]);
/// assert_eq!(P, [0, 3]);
/// ```
pub const fn priorities<const N: usize>(
    nodes: &[NodeInfo],
    node_of: &[usize; N],
    policies: &[(usize, StepPolicy)],
) -> [i32; N] {
    let mut out = [0; N];
    let mut i = 0;
    while i < N {
        out[i] = nodes[node_of[i]].policy.priority;
        i += 1;
    }
    let mut p = 0;
    while p < policies.len() {
        out[policies[p].0] = policies[p].1.priority;
        p += 1;
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
/// use onex_runtime::__private::{NodeStep, Node, StaticGraph, StaticParts};
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
/// static GRAPH: StaticGraph = StaticGraph::new(StaticParts {
///     name: "W",
///     inputs: &INPUTS,
///     names: &["a", "b"],
///     nodes: &[NodeStep::<Len>::INFO],
///     node_of: &[0, 0],
///     policies: &[(1, StepPolicy::DEFAULT.retries(2))],
///     conditional: &[],
///     maps: &[],
///     dep_starts: &[0, 0, 1],
///     deps: &[0],
///     optional: &[true],
///     read_starts: &[0, 1, 1],
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
/// assert_eq!((g.step(0).policy.retries, g.step(1).policy.retries), (0, 2));
/// ```
pub struct StaticGraph {
    parts: StaticParts,
    graph: OnceLock<Graph>,
}

/// The parts of a `workflow!` graph, as the macro computed them, as parallel arrays: per
/// step its name and the index of its node in `nodes`; the steps whose options set a
/// policy, the conditional steps and the `map` steps listed apart; every step's
/// dependencies (with their flags: taken as `Option<&T>`) in `deps`, step `i`'s from
/// `dep_starts[i]` to `dep_starts[i + 1]`, and its inputs likewise in `reads`; `order` a
/// topological order grouped by wave, `wave_starts` where each wave begins in it,
/// `wave_of` each step's wave.
///
/// # Examples
///
/// See [`StaticGraph`].
pub struct StaticParts {
    /// The workflow's name.
    pub name: &'static str,
    /// Its inputs' names.
    pub inputs: &'static [Cow<'static, str>],
    /// Each step's name.
    pub names: &'static [&'static str],
    /// The nodes the steps call.
    pub nodes: &'static [NodeInfo],
    /// Each step's node, an index into `nodes`.
    pub node_of: &'static [usize],
    /// The steps whose options set their policy, with that policy.
    pub policies: &'static [(usize, StepPolicy)],
    /// The steps with a `when` condition.
    pub conditional: &'static [usize],
    /// The `map` steps.
    pub maps: &'static [usize],
    /// Where each step's dependencies begin in `deps`, then where the last one's end.
    pub dep_starts: &'static [usize],
    /// Every step's dependencies, by step index.
    pub deps: &'static [usize],
    /// For each of `deps`, whether the step takes it as `Option<&T>`.
    pub optional: &'static [bool],
    /// Where each step's inputs begin in `reads`, then where the last one's end.
    pub read_starts: &'static [usize],
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
            let steps = (0..p.names.len()).map(|i| p.spec(i)).collect();
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
    /// Step `i` as a [`StepSpec`], its slices borrowed from the parts.
    fn spec(&'static self, i: usize) -> StepSpec {
        let deps = &self.deps[self.dep_starts[i]..self.dep_starts[i + 1]];
        let optional = &self.optional[self.dep_starts[i]..self.dep_starts[i + 1]];
        let optional_deps: Vec<usize> = deps
            .iter()
            .zip(optional)
            .filter(|(_, optional)| **optional)
            .map(|(d, _)| *d)
            .collect();
        let node = &self.nodes[self.node_of[i]];
        let policy = self
            .policies
            .iter()
            .find(|(step, _)| *step == i)
            .map_or(node.policy, |(_, policy)| *policy);
        StepSpec {
            name: Cow::Borrowed(self.names[i]),
            node_type: Cow::Borrowed(node.node_type),
            kind: node.kind,
            is_async: node.is_async,
            deps: Cow::Borrowed(deps),
            optional_deps: if optional_deps.is_empty() {
                Cow::Borrowed(&[])
            } else {
                Cow::Owned(optional_deps)
            },
            reads_inputs: Cow::Borrowed(&self.reads[self.read_starts[i]..self.read_starts[i + 1]]),
            policy,
            conditional: self.conditional.contains(&i),
            map: self.maps.contains(&i),
            compensated: node.compensated,
            delivery: node.delivery,
            signature: Cow::Borrowed(node.signature),
        }
    }
}
