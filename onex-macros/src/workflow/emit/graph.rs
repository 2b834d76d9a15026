//! The static graph: the steps as parallel arrays of literals (names, an index into one
//! `NodeInfo` per node, where each step's dependencies and inputs begin in flat arrays, and
//! apart the few steps with a policy, a condition or `map`), with the order and waves
//! computed here. The runtime builds its `Graph` from them on first use.
//!
//! Literals rather than calls or struct literals per step: constant evaluation interprets
//! every call, and a struct literal would copy a node's constants per step.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};

use super::super::model::{Model, StepModel};
use super::super::resolve::Source;
use super::private;
use crate::param_index::arg_type;

/// `__INPUTS`, `__NODES`, `__NODE_OF`, `__POLICIES`, `__ORDER` and `__GRAPH`.
pub fn statics(m: &Model) -> TokenStream {
    let g = private();
    let name = m.wf.name.to_string();
    let inputs: Vec<String> = m.inputs.iter().map(|i| i.name.to_string()).collect();
    let names = m.steps.iter().map(|s| s.step.name.to_string());
    let nodes = m.nodes.iter().map(|&k| {
        let node = &m.steps[k].node;
        quote!(#g::NodeStep::<#node>::INFO)
    });
    let node_of = &m.node_of;
    let policies: Vec<TokenStream> = m
        .steps
        .iter()
        .enumerate()
        .filter_map(|(k, s)| {
            let chain = s.step.options.policy_chain(&quote!(__rt));
            let node = &s.node;
            (!chain.is_empty()).then(|| quote!((#k, <#node as #g::Node>::POLICY #chain)))
        })
        .collect();
    let conditional = m
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.step.options.when.is_some());
    let conditional = conditional.map(|(k, _)| k);
    let maps = m
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.step.map.is_some());
    let maps = maps.map(|(k, _)| k);
    let (dep_starts, deps) = flatten(m.steps.iter().map(|s| s.deps));
    let optional = m.steps.iter().flat_map(optional_flags);
    let (read_starts, reads) = flatten(m.steps.iter().map(|s| s.reads));
    let output = m.output;
    let (order, wave_starts) = (m.levels.order(), m.levels.wave_starts());
    let wave_of = (0..m.steps.len()).map(|k| m.levels.wave_of(k));
    let (n, n_inputs, n_nodes, n_policies) =
        (m.steps.len(), inputs.len(), m.nodes.len(), policies.len());
    quote! {
        static __INPUTS: [::std::borrow::Cow<'static, str>; #n_inputs] = [#(::std::borrow::Cow::Borrowed(#inputs)),*];
        static __NODES: [#g::NodeInfo; #n_nodes] = [#(#nodes),*];
        const __NODE_OF: [usize; #n] = [#(#node_of),*];
        const __POLICIES: [(usize, __rt::StepPolicy); #n_policies] = [#(#policies),*];
        // The topological order, steps of a wave by priority.
        const __ORDER: [usize; #n] = #g::order_by_priority(
            [#(#order),*],
            &[#(#wave_starts),*],
            &#g::priorities(&__NODES, &__NODE_OF, &__POLICIES),
        );
        static __GRAPH: #g::StaticGraph = #g::StaticGraph::new(#g::StaticParts {
            name: #name,
            inputs: &__INPUTS,
            names: &[#(#names),*],
            nodes: &__NODES,
            node_of: &__NODE_OF,
            policies: &__POLICIES,
            conditional: &[#(#conditional),*],
            maps: &[#(#maps),*],
            dep_starts: &[#(#dep_starts),*],
            deps: &[#(#deps),*],
            optional: &[#(#optional),*],
            read_starts: &[#(#read_starts),*],
            reads: &[#(#reads),*],
            output: #output,
            order: &__ORDER,
            wave_starts: &[#(#wave_starts),*],
            wave_of: &[#(#wave_of),*],
        });
    }
}

/// Per-step lists as one flat array and where each step's part starts (one start per
/// step, then the end).
fn flatten<'a>(lists: impl Iterator<Item = &'a [usize]>) -> (Vec<usize>, Vec<usize>) {
    let (mut starts, mut all) = (Vec::new(), Vec::new());
    for list in lists {
        starts.push(all.len());
        all.extend_from_slice(list);
    }
    starts.push(all.len());
    (starts, all)
}

/// Per dependency of the step, whether the step still runs when that dependency was
/// skipped: when every parameter it feeds is `Option<&T>` (the node's `Param::OPTIONAL`,
/// spanned on the argument). A dependency read by the `when` condition is never optional.
fn optional_flags(s: &StepModel) -> Vec<TokenStream> {
    let g = private();
    let when: Vec<usize> = s.when.iter().map(|(_, d)| *d).collect();
    s.deps
        .iter()
        .map(|&d| {
            if when.contains(&d) {
                return quote!(false);
            }
            let uses: Vec<TokenStream> = (0..s.args.len())
                .filter(|&a| s.args[a] == Source::Step(d))
                .map(|a| {
                    let span = s.step.args[a].span();
                    let (node, index) = (&s.takes, arg_type(a, &g.to_token_stream(), span));
                    quote_spanned!(span=> <#node as #g::Param<#index>>::OPTIONAL)
                })
                .collect();
            if uses.is_empty() {
                quote!(true)
            } else {
                quote!(#(#uses)&&*)
            }
        })
        .collect()
}
