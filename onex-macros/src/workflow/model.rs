//! The checked workflow as the emitters see it: every name resolved, the graph a DAG, the
//! order and waves computed, and the identifiers generated code uses, named after the
//! user's steps and inputs (`__step_parse`, `__input_raw`).
//!
//! Built only once every check passed, so nothing here is optional: an unresolved name, a
//! cycle or a missing `return` is a bug of an earlier pass, and panics (which the panic
//! guard reports as such).

use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Ident, Type};

use super::check::unused_steps;
use super::parse::{Step, Workflow};
use super::resolve::{Resolved, Source};
use crate::paths::runtime_path;
use crate::respan::at;
use onex_graph::Levels;

/// A workflow ready to emit.
pub struct Model<'a> {
    /// The parsed block: the type's name, visibility and attributes, the output type.
    pub wf: &'a Workflow,
    /// The runtime crate's path.
    pub rt: TokenStream,
    /// The inputs, in order.
    pub inputs: Vec<InputModel<'a>>,
    /// The steps, in the order written (a step's index is its place here).
    pub steps: Vec<StepModel<'a>>,
    /// The distinct `Takes` aliases: one per node path and argument count.
    pub takes: Vec<TakesAlias>,
    /// The distinct nodes, each by the first step that calls it (one `NodeInfo` each).
    pub nodes: Vec<usize>,
    /// Per step, its node's index in [`nodes`](Self::nodes).
    pub node_of: Vec<usize>,
    /// The topological order, grouped into waves.
    pub levels: Levels,
    /// The step the workflow returns.
    pub output: usize,
    /// The steps whose output nothing reads (candidates for the dead-work warning).
    pub unused: Vec<usize>,
}

/// One input of the workflow.
pub struct InputModel<'a> {
    /// Its name, as written.
    pub name: &'a Ident,
    /// Its type, as written.
    pub ty: &'a Type,
    /// Its field in the slots struct: `__input_raw`.
    pub slot: Ident,
    /// Its type by alias, `__Input_raw`: inside the dispatch, whose generic parameters are
    /// named after the inputs and steps, the type's own name could be shadowed.
    pub alias: Ident,
}

/// One step of the workflow.
pub struct StepModel<'a> {
    /// The statement as written: name, node path, `map`, arguments, options.
    pub step: &'a Step,
    /// Its field in the slots struct: `__step_parse`.
    pub slot: Ident,
    /// Its node by alias, `__Node_parse`: an unknown node is reported once, at the alias,
    /// and every other use names the alias.
    pub node: Ident,
    /// Its `Takes` alias (see [`TakesAlias`]), spanned on the step's node path, where a
    /// wrong argument count is reported.
    pub takes: Ident,
    /// Where each argument comes from.
    pub args: Vec<Source>,
    /// The `when` condition's parameters, each with the step it reads.
    pub when: &'a [(Ident, usize)],
    /// The steps it reads (arguments, then `when` parameters), each once.
    pub deps: &'a [usize],
    /// The inputs it reads, each once.
    pub reads: &'a [usize],
}

/// `type __Takes_parse = <__Node_parse as Takes<1>>::Node;`: the node of a step, checked
/// to take as many arguments as the step passes. One per node path and count (an alias is
/// cheaper to check than a projection per use), named after the first step using it; each
/// use is spanned on the step's node path, where a wrong count is reported.
pub struct TakesAlias {
    /// The alias.
    pub name: Ident,
    /// The first step using it (whose node alias it projects).
    pub step: usize,
    /// The argument count.
    pub count: usize,
}

impl<'a> Model<'a> {
    /// The model of a workflow that passed every check.
    pub fn new(wf: &'a Workflow, r: &'a Resolved) -> Self {
        let inputs = wf
            .inputs
            .iter()
            .map(|input| {
                let name = input.name.unraw().to_string();
                InputModel {
                    name: &input.name,
                    ty: &input.ty,
                    slot: format_ident!("__input_{}", name),
                    alias: format_ident!("__Input_{}", name),
                }
            })
            .collect();

        let mut takes: Vec<TakesAlias> = Vec::new();
        let mut takes_of: HashMap<(String, usize), usize> = HashMap::new();
        let mut nodes: Vec<usize> = Vec::new();
        let mut node_index: HashMap<String, usize> = HashMap::new();
        let mut node_of = Vec::with_capacity(wf.steps.len());
        let mut steps = Vec::with_capacity(wf.steps.len());
        for (k, step) in wf.steps.iter().enumerate() {
            let name = step.name.unraw().to_string();
            let path = step.node.to_token_stream().to_string();
            let count = step.args.len();
            let alias = *takes_of.entry((path.clone(), count)).or_insert_with(|| {
                takes.push(TakesAlias {
                    name: format_ident!("__Takes_{}", name),
                    step: k,
                    count,
                });
                takes.len() - 1
            });
            node_of.push(*node_index.entry(path).or_insert_with(|| {
                nodes.push(k);
                nodes.len() - 1
            }));
            let args = r.args[k]
                .iter()
                .map(|source| source.expect("unresolved names stop before the model is built"))
                .collect();
            steps.push(StepModel {
                step,
                slot: format_ident!("__step_{}", name),
                node: format_ident!("__Node_{}", name),
                takes: at(&takes[alias].name, step.node.span()),
                args,
                when: &r.when[k],
                deps: &r.deps[k],
                reads: &r.reads_inputs[k],
            });
        }

        Model {
            wf,
            rt: runtime_path(wf.krate.as_ref()),
            inputs,
            steps,
            takes,
            nodes,
            node_of,
            levels: onex_graph::levels(&r.deps).expect("cycles stop before the model is built"),
            output: r
                .output
                .expect("a missing return stops before the model is built"),
            unused: unused_steps(wf, r),
        }
    }

    /// Whether every step is plain: no `when`, no `map`. A fresh run of such a graph with
    /// nothing recorded can call its steps back to back (`Program::run_straight`).
    pub fn is_straight(&self) -> bool {
        self.steps
            .iter()
            .all(|s| s.step.options.when.is_none() && s.step.map.is_none())
    }
}
