//! Code for a `#[node]`: the function as written, plus a braced proxy type of the same name
//! in the type namespace, which `workflow!` names where the step names the node:
//!
//! - `Node`: the output type, kind, name, policy and arity;
//! - `Param<ArgN>` per parameter: its type, and whether it is `Option<&T>`;
//! - `Takes<K>`: the argument count a step must pass (see [`crate::takes`]);
//! - `Invoke`: the uniform calling convention (see [`shim`]);
//! - for a cached node, checks of its types' bounds (see [`cache`]);
//! - for a `remote` node, its entry for workers (see [`remote`]).
//!
//! When the signature was rejected, the proxy is a stub of the shape the user meant (see
//! [`shape`](super::shape)) or, without one, an empty struct: either way a workflow using
//! the node reports nothing more than the node's own error.

mod cache;
mod remote;
mod shim;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::{FnArg, Ident, Pat};

use super::parse::{Kind, Node};
use super::shape::{Shape, shape, takes_text};
use crate::param_index::arg_type;
use crate::paths::runtime_path;
use crate::takes::takes_for;
use crate::type_text::type_text;

/// The function and its proxy.
pub fn node(node: &Node) -> TokenStream {
    let func = &node.func;
    let Some(shape) = shape(node) else {
        // No types to give a stub: still an empty proxy, so a workflow naming this node
        // reports the missing traits rather than "cannot find type".
        let ident = node.ident();
        let vis = &func.vis;
        return quote! {
            #func
            #[doc(hidden)]
            #[allow(non_camel_case_types, dead_code)]
            #vis struct #ident {}
        };
    };
    let proxy = Proxy::new(node, shape);
    let head = proxy.head();
    let params = proxy.param_impls();
    let takes = proxy.takes_impl();
    let cache_checks = proxy.cached.then(|| cache::checks(&proxy));
    let shim = shim::shim_impl(&proxy);
    let remote = remote::entry(&proxy);
    quote! {
        #func
        #head
        #params
        #cache_checks
        #takes
        #shim
        #remote
    }
}

/// A node's proxy: what each of its impls is made from.
pub struct Proxy<'a> {
    /// The parsed attribute and function.
    pub node: &'a Node,
    /// The inputs and output, as a workflow sees them.
    pub shape: Shape,
    /// The runtime crate's path.
    pub rt: TokenStream,
    /// The runtime's `__private` path.
    pub private: TokenStream,
    /// The shim's argument locals, one per input, named after the parameters
    /// (`__arg_order`).
    pub args: Vec<Ident>,
    /// Whether the node's outputs are cached (a compute node with `cache`, not a stub).
    pub cached: bool,
}

impl<'a> Proxy<'a> {
    fn new(node: &'a Node, shape: Shape) -> Self {
        let rt = runtime_path(node.options.krate.as_ref().map(|k| &k.value));
        let args = arg_locals(node, shape.kind, shape.inputs.len());
        // A stub caches nothing: its inputs may not have what `cache` needs.
        let cached = node.options.cache.is_some() && shape.kind == Kind::Compute && !shape.stub;
        Proxy {
            node,
            private: quote!(#rt::__private),
            rt,
            args,
            cached,
            shape,
        }
    }

    /// The fn's (and proxy's) name.
    pub fn ident(&self) -> &Ident {
        self.node.ident()
    }

    /// Whether the node is called through its async entry point. A stub's shims never
    /// run: it takes the plain synchronous path.
    pub fn is_async(&self) -> bool {
        self.node.func.sig.asyncness.is_some() && !self.shape.stub
    }

    /// `const DELIVERY`, for an effect declared `idempotent` or `at_most_once` (others keep
    /// the trait's `Unspecified`).
    fn delivery(&self) -> Option<TokenStream> {
        let rt = &self.rt;
        let opts = &self.node.options;
        let variant = if opts.idempotent.is_some() {
            "Idempotent"
        } else if opts.at_most_once.is_some() {
            "AtMostOnce"
        } else {
            return None;
        };
        let variant = format_ident!("{}", variant);
        Some(quote!(const DELIVERY: #rt::Delivery = #rt::Delivery::#variant;))
    }

    /// The proxy struct and its `Node` impl.
    fn head(&self) -> TokenStream {
        let (rt, private, ident) = (&self.rt, &self.private, self.ident());
        let vis = &self.node.func.vis;
        let name = self.node.type_name();
        let kind = format_ident!("{}", self.shape.kind.variant());
        let is_async = self.is_async();
        let compensated = self.node.options.compensate.is_some() && !self.shape.stub;
        let policy = self.node.options.policy_chain(rt);
        let delivery = self.delivery();
        let signature = format!(
            "({}) -> {}",
            input_text(&self.shape),
            type_text(&self.shape.output)
        );
        let arity = self.shape.inputs.len();
        let output = &self.shape.output;
        let doc = format!(
            " The `{name}` node's proxy, made by `#[node]`; the function `{ident}` stays callable."
        );
        quote! {
            #[doc = #doc]
            #[doc(hidden)]
            #[allow(non_camel_case_types, dead_code)]
            #vis struct #ident {}

            #[automatically_derived]
            #[doc(hidden)]
            impl #private::Node for #ident {
                type Output = #output;
                const NAME: &'static str = #name;
                const KIND: #rt::NodeKind = #rt::NodeKind::#kind;
                const IS_ASYNC: bool = #is_async;
                const POLICY: #rt::StepPolicy = #rt::StepPolicy::DEFAULT #policy;
                const COMPENSATED: bool = #compensated;
                #delivery
                const SIGNATURE: &'static str = #signature;
                const ARITY: usize = #arity;
            }

            // One entry per node in the link-time list of compiled nodes (known_nodes.rs).
            const _: () = {
                #[#private::linkme::distributed_slice(#private::NODES)]
                #[linkme(crate = #private::linkme)]
                static ENTRY: #private::NodeEntry = #private::NodeEntry::of::<#ident>();
            };
        }
    }

    /// `Param<ArgN>` per input: its type and whether it is optional.
    fn param_impls(&self) -> TokenStream {
        let (private, ident) = (&self.private, self.ident());
        let impls = self.shape.inputs.iter().enumerate().map(|(i, input)| {
            let ty = &input.inner;
            let optional = input.optional;
            let index = arg_type(i, private, Span::call_site());
            quote! {
                #[automatically_derived]
                #[doc(hidden)]
                impl #private::Param<#index> for #ident {
                    type Type = #ty;
                    const OPTIONAL: bool = #optional;
                }
            }
        });
        quote!(#(#impls)*)
    }

    /// `Takes<K>`, holding for the node's arity.
    fn takes_impl(&self) -> TokenStream {
        let note = if self.node.takes_context() {
            "a step passes one argument per parameter of its node, in order; the runtime supplies the `&Context`"
        } else {
            "a step passes one argument per parameter of its node, in order"
        };
        let takes = takes_text(self.node, self.shape.kind);
        let arity = self.shape.inputs.len();
        takes_for(self.ident(), &takes, note, arity, &self.rt, None)
    }
}

/// The shim's argument locals: `__arg_` and the parameter's name where it is a plain
/// binding (a reducer's input is its item, after the accumulator), else `__arg` and the
/// input's index. At the call site, as every name the macro makes up: a user's span would
/// put lints and errors about the local on the user's parameter.
fn arg_locals(node: &Node, kind: Kind, count: usize) -> Vec<Ident> {
    let mut names: Vec<Option<&Ident>> = node
        .inputs()
        .map(|p| match &p.arg {
            FnArg::Typed(t) => match &*t.pat {
                Pat::Ident(p) if p.subpat.is_none() => Some(&p.ident),
                _ => None,
            },
            FnArg::Receiver(_) => None,
        })
        .collect();
    if kind == Kind::Reducer && !names.is_empty() {
        names.remove(0);
    }
    let mut locals: Vec<Ident> = Vec::with_capacity(count);
    for i in 0..count {
        let named = names
            .get(i)
            .copied()
            .flatten()
            .map(|name| format_ident!("__arg_{}", name.unraw().to_string().trim_start_matches('_')))
            .filter(|local| !locals.contains(local));
        locals.push(named.unwrap_or_else(|| format_ident!("__arg{}", i)));
    }
    locals
}

#[cfg(test)]
mod tests;

/// A node's input types as the user wrote them, for messages and fingerprints:
/// `i64, Option<String>`.
pub(crate) fn input_text(shape: &Shape) -> String {
    shape
        .inputs
        .iter()
        .map(|input| match input.optional {
            true => format!("Option<{}>", type_text(&input.inner)),
            false => type_text(&input.inner),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
