//! The workflow type's own methods: `run`, `run_batch`, `run_batch_lean`, `resume`, `serve`,
//! `plan` and `graph`, and their stub
//! for a block with errors.
//!
//! `run` and `run_batch` are plain fns returning the runtime's named futures: an
//! `async fn` would be a state machine of its own per workflow to check and compile, for
//! the same `.await`.

use proc_macro2::TokenStream;
use quote::quote;

use super::super::model::Model;
use super::super::parse::Workflow;
use super::{input_type, input_value, private};
use crate::paths::runtime_path;

/// `impl <workflow> { run, run_batch, run_batch_lean, resume, serve, plan, graph }`.
pub fn methods(m: &Model) -> TokenStream {
    let (name, out) = (&m.wf.name, &m.wf.output);
    let names: Vec<&syn::Ident> = m.inputs.iter().map(|i| i.name).collect();
    let tys = m.inputs.iter().map(|i| i.ty);
    let input = input_type(m);
    let value = input_value(&names);
    let plan = plan(m);
    let graph_doc =
        format!(" The graph of workflow `{name}`: steps, dependencies, order and waves.");
    let entry = super::durable_entry::entry(m);
    let g = private();
    quote! {
        impl #name {
            /// Runs the workflow on `rt`.
            ///
            /// # Errors
            ///
            /// A `WorkflowError` carrying the report when the output step did not complete.
            pub fn run<'__rt>(
                rt: &'__rt __rt::Runtime,
                #(#names: #tys,)*
                opts: __rt::RunOptions,
            ) -> __rt::RunFuture<'__rt, #out> {
                rt.run(::std::sync::Arc::new(#name), #value, opts)
            }

            /// Runs the workflow once per input, batching the calls of each node type;
            /// one result per input, in input order.
            pub fn run_batch<'__rt>(
                rt: &'__rt __rt::Runtime,
                inputs: ::std::vec::Vec<#input>,
                opts: __rt::RunOptions,
            ) -> __rt::BatchFuture<'__rt, #out> {
                rt.run_batch(::std::sync::Arc::new(#name), inputs, opts)
            }

            /// Runs the workflow once per input; the outputs in input order and one
            /// report for the whole batch (see `Runtime::run_batch_lean`).
            pub fn run_batch_lean<'__rt>(
                rt: &'__rt __rt::Runtime,
                inputs: ::std::vec::Vec<#input>,
                opts: __rt::RunOptions,
            ) -> ::std::pin::Pin<::std::boxed::Box<
                dyn ::std::future::Future<Output = __rt::BatchOutcome<#out>> + ::std::marker::Send + '__rt,
            >> {
                rt.run_batch_lean(::std::sync::Arc::new(#name), inputs, opts)
            }

            /// Resumes the durable run `run_id` from the runtime's journal: its journaled
            /// steps are not called again (`Runtime::resume`).
            ///
            /// # Errors
            ///
            /// A `WorkflowError::Durable` when the run cannot be resumed (no journal, an
            /// unknown or leased run, a changed graph, a workflow that is not
            /// `#[durable]`); otherwise the run's own result.
            pub fn resume<'__rt>(
                rt: &'__rt __rt::Runtime,
                run_id: impl ::core::convert::Into<::std::string::String>,
                opts: __rt::RunOptions,
            ) -> __rt::RunFuture<'__rt, #out> {
                rt.resume(::std::sync::Arc::new(#name), run_id, opts)
            }

            /// Runs the workflow for every event of `source`, the event id as the run id,
            /// until the source ends or `shutdown` completes (`Runtime::serve`).
            pub async fn serve(
                rt: &__rt::Runtime,
                source: impl #g::Stream<Item = __rt::Event<#input>>,
                opts: __rt::RunOptions,
                shutdown: impl ::core::future::Future<Output = ()>,
            ) -> __rt::Served {
                rt.serve(::std::sync::Arc::new(#name), source, opts, shutdown).await
            }

            #plan

            #[doc = #graph_doc]
            pub fn graph() -> &'static __rt::Graph {
                __GRAPH.graph()
            }
        }

        #entry
    }
}

/// `plan`: the graph's thunks, each step fed by workflow inputs carrying them (its
/// `operation_data`: the input, or an object of them by name).
fn plan(m: &Model) -> TokenStream {
    let g = private();
    let names: Vec<&syn::Ident> = m.inputs.iter().map(|i| i.name).collect();
    let tys = m.inputs.iter().map(|i| i.ty);
    let arms = m
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.reads.is_empty());
    let arms = arms.map(|(k, s)| {
        let value = match s.reads {
            [one] => {
                let name = names[*one];
                quote!((&&#g::Capture(#name)).capture())
            }
            reads => {
                let keys = reads.iter().map(|&i| names[i].to_string());
                let values = reads.iter().map(|&i| names[i]);
                quote! {{
                    let mut __inputs = #g::serde_json::Map::new();
                    #(__inputs.insert(::std::string::String::from(#keys), (&&#g::Capture(#values)).capture());)*
                    #g::serde_json::Value::Object(__inputs)
                }}
            }
        };
        quote!(#k => #value,)
    });
    quote! {
        /// The thunks a run on these inputs would emit, without running anything.
        pub fn plan(#(#names: &#tys),*) -> ::std::vec::Vec<__rt::Thunk> {
            __rt::plan(__GRAPH.graph(), |__step| match __step {
                #(#arms)*
                _ => {
                    let _ = (#(#names,)*);
                    #g::serde_json::Value::Null
                }
            })
        }
    }
}

/// For a block with errors: the type with the same methods and no body, so that code
/// using the workflow does not pile up errors of its own (thiserror's fallback).
pub fn fallback(wf: &Workflow) -> TokenStream {
    let rt = runtime_path(wf.krate.as_ref());
    let (attrs, vis, name, out) = (&wf.attrs, &wf.vis, &wf.name, &wf.output);
    let names: Vec<&syn::Ident> = wf.inputs.iter().map(|i| &i.name).collect();
    let tys: Vec<&syn::Type> = wf.inputs.iter().map(|i| &i.ty).collect();
    let input = match tys.as_slice() {
        [one] => quote!(#one),
        many => quote!((#(#many,)*)),
    };
    quote! {
        #(#attrs)*
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #name;

        #[allow(unused_variables, clippy::all)]
        impl #name {
            pub fn run<'__rt>(
                rt: &'__rt #rt::Runtime,
                #(#names: #tys,)*
                opts: #rt::RunOptions,
            ) -> #rt::RunFuture<'__rt, #out> {
                ::core::unreachable!()
            }
            pub fn run_batch<'__rt>(
                rt: &'__rt #rt::Runtime,
                inputs: ::std::vec::Vec<#input>,
                opts: #rt::RunOptions,
            ) -> #rt::BatchFuture<'__rt, #out> {
                ::core::unreachable!()
            }
            pub fn run_batch_lean<'__rt>(
                rt: &'__rt #rt::Runtime,
                inputs: ::std::vec::Vec<#input>,
                opts: #rt::RunOptions,
            ) -> ::std::pin::Pin<::std::boxed::Box<
                dyn ::std::future::Future<Output = #rt::BatchOutcome<#out>> + ::std::marker::Send + '__rt,
            >> {
                ::core::unreachable!()
            }
            pub fn resume<'__rt>(
                rt: &'__rt #rt::Runtime,
                run_id: impl ::core::convert::Into<::std::string::String>,
                opts: #rt::RunOptions,
            ) -> #rt::RunFuture<'__rt, #out> {
                ::core::unreachable!()
            }
            pub async fn serve(
                rt: &#rt::Runtime,
                source: impl #rt::__private::Stream<Item = #rt::Event<#input>>,
                opts: #rt::RunOptions,
                shutdown: impl ::core::future::Future<Output = ()>,
            ) -> #rt::Served {
                ::core::unreachable!()
            }
            pub fn plan(#(#names: &#tys),*) -> ::std::vec::Vec<#rt::Thunk> {
                ::core::unreachable!()
            }
            pub fn graph() -> &'static #rt::Graph {
                ::core::unreachable!()
            }
        }
    }
}
