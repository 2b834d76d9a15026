//! Code for a checked workflow, one module per part:
//!
//! - [`api`]: the type's methods (`run`, `run_batch`, `plan`, `graph`), and the stub of
//!   them emitted next to errors;
//! - [`slots`]: the typed slots a run stores step outputs in, and the return type's check;
//! - [`graph`]: the static graph (names, nodes, policies, dependencies, order, waves);
//! - [`dispatch`]: the one `match` from a step to its node, its slot and its arguments,
//!   each argument through an edge check that reports a type mismatch on the user's token;
//! - [`program`]: `impl Program`, each operation one visit of that `match`;
//! - [`nested`]: the workflow as a step of another (`Node`, `Param`, `Takes`, `Invoke`);
//! - [`durable`]: for a `#[durable]` workflow, its input and step outputs to and from JSON
//!   for the journal, and the check that their types allow it;
//! - [`unused`]: the warning for pure steps whose output nothing reads.
//!
//! Per step, only what differs between steps is emitted: aliases, a slot, its graph data
//! and one arm of the dispatch. Everything a step *does* is generic code in the runtime,
//! compiled once per node type, not once per step. Everything but the type lives in
//! `const _: () = { .. };`, so the helpers' names cannot clash with the user's items.

pub mod api;
pub mod dispatch;
pub mod durable;
pub mod durable_entry;
pub mod graph;
pub mod nested;
pub mod program;
pub mod slots;
pub mod unused;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::model::Model;
use crate::respan::at;

/// The type and everything it implements.
pub fn workflow(m: &Model) -> TokenStream {
    let wf = m.wf;
    let (attrs, vis, name) = (&wf.attrs, &wf.vis, &wf.name);
    let rt = &m.rt;
    let aliases = aliases(m);
    let fields = slots::fields(m);
    let ret = slots::return_check(m);
    let graph = graph::statics(m);
    let warnings = unused::warnings(m);
    let dispatch = dispatch::edges(m);
    let methods = api::methods(m);
    let nested = nested::impls(m);
    let durable = durable::durable(m);
    let journal = durable.as_ref().map(|d| &d.items);
    let program = program::program(m, durable.as_ref().map(|d| &d.methods));
    quote! {
        #(#attrs)*
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #name;

        #[doc(hidden)]
        #[allow(non_camel_case_types, non_snake_case)]
        const _: () = {
            #[allow(unused_imports)]
            use #rt as __rt;
            #[allow(unused_imports)]
            use #rt::__private as __g;
            #[allow(unused_imports)]
            use __g::{CaptureFallback as _, CaptureSerialize as _};

            #aliases
            #fields
            #ret
            #graph
            #warnings
            #dispatch
            #methods
            #nested
            #journal
            #program
        };
    }
}

/// The type aliases every part names: each input's type, each step's node, each node
/// checked against its argument count.
fn aliases(m: &Model) -> TokenStream {
    let inputs = m.inputs.iter().map(|i| {
        let (alias, ty) = (&i.alias, i.ty);
        quote!(type #alias = #ty;)
    });
    let nodes = m.steps.iter().map(|s| {
        let (alias, path) = (&s.node, &s.step.node);
        quote!(type #alias = #path;)
    });
    let g = private();
    let takes = m.takes.iter().map(|t| {
        let (alias, node, count) = (&t.name, &m.steps[t.step].node, t.count);
        quote!(type #alias = <#node as #g::Takes<#count>>::Node;)
    });
    quote! {
        #(#inputs)*
        #(#nodes)*
        #(#takes)*
    }
}

/// `__g`, the alias of the runtime's `__private` module inside the `const` block, as an
/// ident at the call site: `quote!` pushes an ident into its output, but splices a token
/// stream in through the compiler's proc-macro bridge, which costs per use.
pub fn private() -> syn::Ident {
    format_ident!("__g")
}

/// The run's input type: the input's type, or a tuple of them.
pub fn input_type(m: &Model) -> TokenStream {
    match m.inputs.as_slice() {
        [one] => {
            let ty = one.ty;
            quote!(#ty)
        }
        many => {
            let tys = many.iter().map(|i| i.ty);
            quote!((#(#tys,)*))
        }
    }
}

/// A value of the run's input type from one local per input: the local, or a tuple.
pub fn input_value(locals: &[&syn::Ident]) -> TokenStream {
    match locals {
        [one] => quote!(#one),
        many => quote!((#(#many,)*)),
    }
}

/// The type step `j`'s slot holds, as its consumers read it (a `map` step's is a `Vec`),
/// spanned at `span`.
pub fn produced(m: &Model, j: usize, span: Span) -> TokenStream {
    let node = at(&m.steps[j].node, span);
    if m.steps[j].step.map.is_some() {
        quote_spanned!(span=> ::std::vec::Vec<__g::Out<#node>>)
    } else {
        quote_spanned!(span=> __g::Out<#node>)
    }
}

#[cfg(test)]
mod tests;
