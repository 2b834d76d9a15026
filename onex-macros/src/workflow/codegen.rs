//! Code for a checked workflow: the type, its `Program` impl over a typed slots struct, the
//! static graph with the order and waves computed here, and the edge checks that turn a
//! type mismatch into an error on the user's argument.
//!
//! Everything except the type lives in `const _: () = { .. };` so the helpers cannot clash
//! with the user's items.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::check::unused_steps;
use super::parse::Workflow;
use super::resolve::{Resolved, Source};
use crate::capture::capture_args;
use crate::param_index::arg_type;
use crate::paths::runtime_path;
use crate::respan::{at, usize_at};
use crate::takes::{takes_for, takes_sentence};
use crate::type_text::type_text;

/// The generated code for a workflow that passed every check.
///
/// Per step, it emits only what differs between steps: an alias for the node, a slot, its
/// graph data (its name, its node's index, where its dependencies begin), a generic
/// parameter named after it, and one arm of a single dispatch `match` naming the node, the
/// slot and where the arguments come from (each through one of the runtime's edge traits).
/// Everything a step *does* is generic code in the runtime (`Visit` implementations over
/// the node's `Shim`), so it is checked and compiled once per node type, not once per step
/// and per `Program` method.
pub fn generate(wf: &Workflow, r: &Resolved) -> TokenStream {
    let rt = runtime_path(wf.krate.as_ref());
    // Short paths inside the const block (`use .. as __g`): fewer tokens per step to emit,
    // parse and resolve. An ident, not a token stream: `quote!` pushes an ident into its
    // buffer but splices a token stream in through the compiler's proc-macro bridge.
    let p = format_ident!("__g");
    let name = &wf.name;
    let name_str = name.to_string();
    let vis = &wf.vis;
    let attrs = &wf.attrs;
    let out_ty = &wf.output;
    let n = wf.steps.len();

    let in_names: Vec<&syn::Ident> = wf.inputs.iter().map(|i| &i.name).collect();
    let in_tys: Vec<&syn::Type> = wf.inputs.iter().map(|i| &i.ty).collect();
    let in_slots: Vec<syn::Ident> = (0..wf.inputs.len())
        .map(|i| format_ident!("__in{}", i))
        .collect();
    let in_locals: Vec<syn::Ident> = (0..wf.inputs.len())
        .map(|i| format_ident!("__i{}", i))
        .collect();
    let in_strs: Vec<String> = in_names.iter().map(|i| i.to_string()).collect();
    let input_ty = match in_tys.as_slice() {
        [one] => quote!(#one),
        many => quote!((#(#many,)*)),
    };
    let input_expr = |locals: &[syn::Ident]| match locals {
        [one] => quote!(#one),
        many => quote!((#(#many,)*)),
    };
    let input_from_names = input_expr(&in_names.iter().map(|i| (*i).clone()).collect::<Vec<_>>());
    let input_from_locals = input_expr(&in_locals);

    // Input types by alias inside the dispatch, whose generic parameters are named after the
    // inputs and steps and so could shadow a type of the same name.
    let in_aliases: Vec<syn::Ident> = (0..wf.inputs.len())
        .map(|i| format_ident!("__In{}", i))
        .collect();
    let s_slots: Vec<syn::Ident> = (0..n).map(|k| format_ident!("__s{}", k)).collect();
    // One alias per step for its node: an unknown node is then reported once, at the alias
    // (on the node's path), and every other use names the alias.
    let nodes: Vec<syn::Ident> = (0..n).map(|k| format_ident!("__N{}", k)).collect();
    let paths: Vec<TokenStream> = wf
        .steps
        .iter()
        .map(|s| {
            let path = &s.node;
            quote_spanned!(path.span()=> #path)
        })
        .collect();
    let step_strs: Vec<String> = wf.steps.iter().map(|s| s.name.to_string()).collect();
    let mut items = quote!(#(type #in_aliases = #in_tys;)*);
    let mut slot_fields = TokenStream::new();
    let mut slot_inits = TokenStream::new();
    for (k, step) in wf.steps.iter().enumerate() {
        let (node, path, slot) = (&nodes[k], &paths[k], &s_slots[k]);
        items.extend(quote!(type #node = #path;));
        if step.map.is_some() {
            slot_fields.extend(quote!(#slot: #p::MapSlot<#p::Out<#node>>,));
            slot_inits.extend(quote!(#slot: #p::MapSlot::EMPTY,));
        } else {
            slot_fields.extend(quote!(#slot: #p::SlotOf<#node>,));
            slot_inits.extend(quote!(#slot: #p::Slot::EMPTY,));
        }
    }
    // Each step reaches its node's parameters and shims through `Takes<K>`, K the number
    // of arguments it passes: a wrong count is one error on the node's path, in the node's
    // words, and the projection it leaves is an error type that keeps the tuple, `Param`
    // and edge checks downstream of it quiet. One alias per node and count (a constant
    // argument is a body of its own to check and evaluate), named at each use with the
    // node's path as its span, where the error then lands.
    let mut takes_alias: HashMap<(String, usize), syn::Ident> = HashMap::new();
    let checked: Vec<syn::Ident> = wf
        .steps
        .iter()
        .enumerate()
        .map(|(k, step)| {
            let count = step.args.len();
            let next = takes_alias.len();
            let alias = takes_alias
                .entry((paths[k].to_string(), count))
                .or_insert_with(|| {
                    let alias = format_ident!("__C{}", next);
                    let node = &nodes[k];
                    items.extend(quote!(type #alias = <#node as #p::Takes<#count>>::Node;));
                    alias
                });
            at(alias, step.node.span())
        })
        .collect();
    // The type step `j`'s slot holds, as read by its consumers, spanned where it is read.
    let produced = |j: usize, span: Span| produced_at(wf.steps[j].map.is_some(), &nodes[j], span);

    // Edge checks and the arguments of each step. Each argument names one of the runtime's
    // edge traits (`FromStep`, `FromInput`, `MapStep`, `MapInput`) with the producer's name,
    // the node and the parameter, which its `on_unimplemented` message spells out; its only
    // item is a constant fn pointer to a conversion shared by all edges of the same types,
    // so the check and the conversion are one obligation on the user's argument. The
    // producer's name is a generic parameter of the dispatch's `impl` block (below).
    let mut args_of: Vec<Vec<TokenStream>> = Vec::new();
    for (k, step) in wf.steps.iter().enumerate() {
        let node = &nodes[k];
        let mut values = Vec::new();
        for (a, (arg, src)) in step.args.iter().zip(&r.args[k]).enumerate() {
            let src = src.expect("unresolved names stop before codegen");
            let pos = a + 1;
            let is_map_list = a == 0 && step.map.is_some();
            // Every token of the argument's code is spanned on the argument: built so
            // where it can (re-spanning a token stream walks it through the compiler).
            let sp = arg.span();
            // The type checked: the producer's output, or for the list of a `map` step the
            // list itself (its impl hands out one element).
            let (producer, slot, from, edge) = match src {
                Source::Step(j) => (
                    produced(j, sp),
                    &s_slots[j],
                    &wf.steps[j].name,
                    if is_map_list { "MapStep" } else { "FromStep" },
                ),
                Source::Input(i) => (
                    at(&in_aliases[i], sp).into_token_stream(),
                    &in_slots[i],
                    &wf.inputs[i].name,
                    if is_map_list { "MapInput" } else { "FromInput" },
                ),
            };
            let edge = syn::Ident::new(edge, sp);
            let (node, from, slot, a) = (
                at(node, sp),
                at(from, sp),
                at(slot, sp),
                arg_type(a, &quote!(#p), sp),
            );
            let checked = &checked[k];
            let param_ty = quote_spanned!(sp=> <#checked as #p::Param<#a>>::Type);
            // All on the argument: an unsatisfied bound anywhere in it is reported there.
            values.push(if is_map_list {
                quote_spanned!(sp=> (<#producer as #p::#edge<#param_ty, #from, #node>>::FEED)(s.#slot.get(), item))
            } else {
                let pos = usize_at(pos, sp);
                quote_spanned!(sp=> (<#producer as #p::#edge<#param_ty, #from, #node, #pos>>::FEED)(s.#slot.get()))
            });
        }
        args_of.push(values);
    }

    // The static graph.
    let levels = onex_graph::levels(&r.deps).expect("cycles stop before codegen");
    let (order, wave_starts, wave_of) = levels.into_parts();
    let output = r.output.expect("a missing return stops before codegen");
    // The steps as parallel arrays of literals: names, an index into one `NodeInfo` per
    // node path, where each step's dependencies (with their optional-ness flags) and inputs
    // begin in flat arrays, and apart the few steps with options, conditions or `map`.
    // Constant evaluation then runs no call per step, which it does slowly, and no struct
    // literal copies a node's constants per step.
    let mut node_index: HashMap<String, usize> = HashMap::new();
    let (mut node_infos, mut node_of) = (Vec::new(), Vec::new());
    let (mut policies, mut conditional, mut maps) = (Vec::new(), Vec::new(), Vec::new());
    let (mut dep_starts, mut read_starts) = (Vec::new(), Vec::new());
    let (mut all_deps, mut all_flags, mut all_reads) = (Vec::new(), Vec::new(), Vec::new());
    for (k, step) in wf.steps.iter().enumerate() {
        let node = &nodes[k];
        let index = *node_index.entry(paths[k].to_string()).or_insert_with(|| {
            node_infos.push(quote!(#p::NodeStep::<#node>::INFO));
            node_infos.len() - 1
        });
        node_of.push(index);
        let chain = step.options.policy_chain(&quote!(__rt));
        if !chain.is_empty() {
            policies.push(quote!((#k, <#node as #p::Node>::POLICY #chain)));
        }
        if step.options.when.is_some() {
            conditional.push(k);
        }
        if step.map.is_some() {
            maps.push(k);
        }
        let deps = &r.deps[k];
        let when_deps: Vec<usize> = r.when[k].iter().map(|(_, s)| *s).collect();
        let flags = deps.iter().map(|&d| {
            if when_deps.contains(&d) {
                return quote!(false);
            }
            let uses = r.args[k]
                .iter()
                .enumerate()
                .filter(|(_, s)| **s == Some(Source::Step(d)))
                .map(|(a, _)| {
                    let span = step.args[a].span();
                    let a = arg_type(a, &quote!(#p), span);
                    let checked = &checked[k];
                    quote_spanned!(span=> <#checked as #p::Param<#a>>::OPTIONAL)
                })
                .collect::<Vec<_>>();
            if uses.is_empty() {
                quote!(true)
            } else {
                quote!(#(#uses)&&*)
            }
        });
        dep_starts.push(all_deps.len());
        all_deps.extend(deps.iter().copied());
        all_flags.extend(flags);
        read_starts.push(all_reads.len());
        all_reads.extend(r.reads_inputs[k].iter().copied());
    }
    dep_starts.push(all_deps.len());
    read_starts.push(all_reads.len());
    let n_inputs = wf.inputs.len();
    let (n_nodes, n_policies) = (node_infos.len(), policies.len());

    // The one dispatch `match`, and the arms of the optional methods (`when`, `map`).
    let mut visit_arms = TokenStream::new();
    let mut cond_arms = TokenStream::new();
    let mut width_arms = TokenStream::new();
    let mut finish_arms = TokenStream::new();
    for (k, step) in wf.steps.iter().enumerate() {
        let (node, slot, sname) = (&nodes[k], &s_slots[k], &step_strs[k]);
        let args = &args_of[k];
        // A step passing more or fewer arguments than its node takes gets its tuple
        // mismatch on the node's path (after the `Param` error on an extra argument).
        let span = step.node.span();
        let (node_sp, slot_sp) = (&checked[k], at(slot, span));
        let method = quote_spanned!(span=> v.step::<#node_sp, _>);
        let slot_ref = quote_spanned!(span=> &s.#slot_sp);
        let args = quote_spanned!(span=> (#(#args,)*));
        let call_args = quote_spanned!(span=> (#slot_ref, #args));
        visit_arms.extend(quote!(#k => #method #call_args,));
        if let Some(w) = &step.options.when {
            let binds = r.when[k].iter().map(|(ident, s)| {
                let dslot = &s_slots[*s];
                let dname = &step_strs[*s];
                quote!(let #ident = s.#dslot.need(#dname)?;)
            });
            let body = &w.value.body;
            // Typed so a non-`bool` condition is one error on the user's expression.
            let when = quote_spanned!(body.span()=> let __when: bool = #body;);
            cond_arms.extend(quote! {
                #k => {
                    #(#binds)*
                    #when
                    ::core::result::Result::Ok(__when)
                }
            });
        }
        if let Some(list) = step.args.first().filter(|_| step.map.is_some()) {
            let sp = list.span();
            let (list_slot, list_ty, from, edge) = match r.args[k][0] {
                Some(Source::Step(j)) => {
                    (&s_slots[j], produced(j, sp), &wf.steps[j].name, "MapStep")
                }
                Some(Source::Input(i)) => (
                    &in_slots[i],
                    at(&in_aliases[i], sp).into_token_stream(),
                    &wf.inputs[i].name,
                    "MapInput",
                ),
                None => unreachable!("unresolved names stop before codegen"),
            };
            // The same tokens as the list's argument, so a mismatch is one error.
            let (edge, from, node_sp, a) = (
                syn::Ident::new(edge, sp),
                at(from, sp),
                at(node, sp),
                arg_type(0, &quote!(#p), sp),
            );
            let checked = &checked[k];
            let param_ty = quote_spanned!(sp=> <#checked as #p::Param<#a>>::Type);
            let len =
                quote_spanned!(sp=> <#list_ty as #p::#edge<#param_ty, #from, #node_sp>>::WIDTH);
            width_arms.extend(quote! {
                #k => #p::map_width(s.#list_slot.get().map(#len), &s.#slot, <#node as #p::Node>::NAME),
            });
            finish_arms.extend(quote!(#k => s.#slot.finish(#sname),));
        }
    }
    // The straight line (a fresh run of plain steps, nothing recorded): the runtime calls
    // `call_sync` step after step.
    let is_straight = wf
        .steps
        .iter()
        .all(|s| s.options.when.is_none() && s.map.is_none());
    let straight = is_straight.then(|| {
        quote! {
            fn run_straight(
                &self,
                s: &__Slots,
                call: __rt::Call<'_>,
                at: &mut usize,
            ) -> ::core::option::Option<::core::result::Result<(), __rt::NodeError>> {
                ::core::option::Option::Some(#p::line(self, s, call, at))
            }
        }
    });
    // The width of each `map` step, from the length of its list.
    let width_fn = (!width_arms.is_empty()).then(|| {
        quote! {
            fn width(
                s: &__Fields,
                step: ::core::primitive::usize,
            ) -> ::core::result::Result<::core::primitive::usize, __rt::NodeError> {
                match step {
                    #width_arms
                    _ => ::core::result::Result::Ok(1),
                }
            }
        }
    });
    let edge_params: Vec<&syn::Ident> = in_names
        .iter()
        .copied()
        .chain(wf.steps.iter().map(|s| &s.name))
        .collect();
    let edge_units = edge_params.iter().map(|_| quote!(()));
    // Methods whose every step takes the default are left to the trait's default.
    let condition = (!cond_arms.is_empty()).then(|| {
        quote! {
            fn condition(&self, s: &__Slots, step: usize) -> ::core::result::Result<bool, __rt::NodeError> {
                match step {
                    #cond_arms
                    _ => ::core::result::Result::Ok(true),
                }
            }
        }
    });
    let width_finish = (!width_arms.is_empty()).then(|| {
        quote! {
            fn width(&self, s: &__Slots, step: usize) -> ::core::result::Result<usize, __rt::NodeError> {
                __Dispatch::width(s, step)
            }

            fn finish(&self, s: &__Slots, step: usize) -> ::core::result::Result<(), __rt::NodeError> {
                match step {
                    #finish_arms
                    _ => ::core::result::Result::Ok(()),
                }
            }
        }
    });

    // `plan`: steps fed by workflow inputs carry them.
    let plan_arms = r.reads_inputs.iter().enumerate().filter(|(_, reads)| !reads.is_empty()).map(|(k, reads)| {
        let value = if let [one] = reads.as_slice() {
            let name = in_names[*one];
            quote!((&&#p::Capture(#name)).capture())
        } else {
            let keys = reads.iter().map(|&i| &in_strs[i]);
            let vals = reads.iter().map(|&i| in_names[i]);
            quote! {{
                let mut __m = #p::serde_json::Map::new();
                #(__m.insert(::std::string::String::from(#keys), (&&#p::Capture(#vals)).capture());)*
                #p::serde_json::Value::Object(__m)
            }}
        };
        quote!(#k => #value,)
    });

    // The output must be the declared type; a mismatch is reported on `return`.
    let ret_ident = &wf.returns[0];
    let ret_msg = format!(
        "workflow `{name_str}` is declared to return `{{D}}`, but its `return` step `{}` produces `{{Self}}`",
        step_strs[output]
    );
    let ret_produced = produced(output, ret_ident.span());
    let ret_slot = &s_slots[output];
    let ret_call = quote_spanned!(ret_ident.span()=> <#ret_produced as __Return<#out_ty>>::ret(slots.#ret_slot.take()));

    // Dead work: a warning for pure steps nobody reads, decided by the node's `KIND`.
    let mut warnings = TokenStream::new();
    for u in unused_steps(wf, r) {
        // Through `Takes`: a step that fails to type-check gets its error, not a warning too.
        let checked = &checked[u];
        let sname = &step_strs[u];
        let ty = format_ident!(
            "__unused_step_{}",
            sname.trim_start_matches("r#"),
            span = wf.steps[u].name.span()
        );
        let note = format!(
            "the output of step `{sname}` is never used: nothing reads it and it is not returned, so computing it is dead work; use it, remove the step, or name it `_{sname}` to keep it"
        );
        let span = wf.steps[u].name.span();
        let call =
            quote_spanned!(span=> #ty::<{ <#checked as #p::Node>::PURE }>::step_output_is_unused());
        // Each in its own block so the helper names of different steps stay apart.
        warnings.extend(quote! { const _: () = {
            #[allow(non_camel_case_types)]
            struct #ty<const PURE: bool>;
            impl #ty<true> {
                #[deprecated(note = #note)]
                fn step_output_is_unused() {}
            }
            impl #ty<false> {
                fn step_output_is_unused() {}
            }
            #[allow(dead_code)]
            fn __warn_unused() {
                #call;
            }
        };});
    }

    let node_params = in_tys.iter().enumerate().map(|(i, t)| {
        let i = arg_type(i, &quote!(#p), Span::call_site());
        quote! {
            impl #p::Param<#i> for #name {
                type Type = #t;
                const OPTIONAL: bool = false;
            }
        }
    });
    // As a step of another workflow: its inputs, and the `Clone` a nested run needs of them,
    // checked on the call (the bound is spanned on the input's declaration).
    let wf_takes = {
        let params: Vec<String> = wf
            .inputs
            .iter()
            .map(|i| format!("{}: {}", i.name, type_text(&i.ty)))
            .collect();
        let bound = in_tys
            .iter()
            .map(|t| quote_spanned!(t.span()=> for<'__x> #t: #rt::__private::NestedInput<#name>,));
        takes_for(
            name,
            &takes_sentence(&name_str, &params),
            "a step passes one argument per input of the workflow, in order",
            n_inputs,
            &rt,
            Some(quote!(#(#bound)*)),
        )
    };
    let shim_args: Vec<syn::Ident> = (0..n_inputs).map(|i| format_ident!("__a{}", i)).collect();
    let positions: Vec<usize> = (1..=n_inputs).collect();
    let capture = capture_args(&quote!(#p), &shim_args);
    let graph_doc =
        format!(" The graph of workflow `{name_str}`: steps, dependencies, order and waves.");

    // `run` and `run_batch` are plain fns returning the runtime's futures, and a nested
    // run's `call_async` returns its future as it is: an `async fn` or block would be a
    // state machine of its own per workflow to check and compile, for the same `.await`.
    quote! {
        #(#attrs)*
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #name;

        const _: () = {
            #[allow(unused_imports)]
            use #rt as __rt;
            #[allow(unused_imports)]
            use #rt::__private as __g;
            #[allow(unused_imports)]
            use __g::{CaptureFallback as _, CaptureSerialize as _};

            #items

            // The slots of a run: a struct with a table to drop its fields by (drop code
            // of its own per field was a seventh of a long workflow's code).
            #p::slots!(__Fields {
                #(#in_slots: #p::Slot<#in_tys>,)*
                #slot_fields
            });
            type __Slots = #p::Slots<__Fields>;

            #[diagnostic::on_unimplemented(message = #ret_msg, label = "this step's output is `{Self}`")]
            trait __Return<D> {
                fn ret(value: ::core::option::Option<Self>) -> ::core::option::Option<D>
                where
                    Self: Sized;
            }
            impl<T> __Return<T> for T {
                #[inline(always)]
                fn ret(value: ::core::option::Option<T>) -> ::core::option::Option<T> {
                    value
                }
            }

            static __INPUTS: [::std::borrow::Cow<'static, str>; #n_inputs] = [#(::std::borrow::Cow::Borrowed(#in_strs)),*];
            static __NODES: [#p::NodeInfo; #n_nodes] = [#(#node_infos),*];
            const __NODE_OF: [usize; #n] = [#(#node_of),*];
            const __POLICIES: [(usize, __rt::StepPolicy); #n_policies] = [#(#policies),*];
            const __ORDER: [usize; #n] = #p::order_by_priority(
                [#(#order),*],
                &[#(#wave_starts),*],
                &#p::priorities(&__NODES, &__NODE_OF, &__POLICIES),
            );
            static __GRAPH: #p::StaticGraph = #p::StaticGraph::new(#p::StaticParts {
                name: #name_str,
                inputs: &__INPUTS,
                names: &[#(#step_strs),*],
                nodes: &__NODES,
                node_of: &__NODE_OF,
                policies: &__POLICIES,
                conditional: &[#(#conditional),*],
                maps: &[#(#maps),*],
                dep_starts: &[#(#dep_starts),*],
                deps: &[#(#all_deps),*],
                optional: &[#(#all_flags),*],
                read_starts: &[#(#read_starts),*],
                reads: &[#(#all_reads),*],
                output: #output,
                order: &__ORDER,
                wave_starts: &[#(#wave_starts),*],
                wave_of: &[#(#wave_of),*],
            });

            #warnings

            // The code that names the edges, in an `impl` block generic over one parameter
            // per input and step, named after it: the edge traits' messages print the
            // producer's name from it, alone (a type of that name would be printed with a
            // path). Instantiated once, with `()` for each.
            #[allow(dead_code)]
            struct __Edges<T>(T);
            #[allow(non_camel_case_types, unused_variables)]
            impl<#(#edge_params),*> __Edges<(#(#edge_params,)*)> {
                /// Applies `v` to step `step`: its node, its slot and its arguments.
                #[inline]
                fn visit<'s, __V: #p::Visit<'s>>(
                    s: &'s __Fields,
                    step: ::core::primitive::usize,
                    item: ::core::primitive::usize,
                    v: __V,
                ) -> __V::Out {
                    match step {
                        #visit_arms
                        _ => v.missing(),
                    }
                }

                #width_fn
            }
            type __Dispatch = __Edges<(#(#edge_units,)*)>;

            impl #name {
                /// Runs the workflow on `rt`.
                ///
                /// # Errors
                ///
                /// A `WorkflowError` carrying the report when the output step did not complete.
                pub fn run<'__rt>(
                    rt: &'__rt __rt::Runtime,
                    #(#in_names: #in_tys,)*
                    opts: __rt::RunOptions,
                ) -> __rt::RunFuture<'__rt, #out_ty> {
                    rt.run(::std::sync::Arc::new(#name), #input_from_names, opts)
                }

                /// Runs the workflow once per input, batching the calls of each node type;
                /// one result per input, in input order.
                pub fn run_batch<'__rt>(
                    rt: &'__rt __rt::Runtime,
                    inputs: ::std::vec::Vec<#input_ty>,
                    opts: __rt::RunOptions,
                ) -> __rt::BatchFuture<'__rt, #out_ty> {
                    rt.run_batch(::std::sync::Arc::new(#name), inputs, opts)
                }

                /// The thunks a run on these inputs would emit, without running anything.
                pub fn plan(#(#in_names: &#in_tys),*) -> ::std::vec::Vec<__rt::Thunk> {
                    __rt::plan(__GRAPH.graph(), |__step| match __step {
                        #(#plan_arms)*
                        _ => {
                            let _ = (#(#in_names,)*);
                            #p::serde_json::Value::Null
                        }
                    })
                }

                #[doc = #graph_doc]
                pub fn graph() -> &'static __rt::Graph {
                    __GRAPH.graph()
                }
            }

            impl #p::Node for #name {
                type Output = #out_ty;
                const NAME: &'static str = #name_str;
                const KIND: __rt::NodeKind = __rt::NodeKind::Orchestrator;
                const IS_ASYNC: bool = true;
                const POLICY: __rt::StepPolicy = __rt::StepPolicy::DEFAULT;
                const COMPENSATED: bool = false;
                const ARITY: usize = #n_inputs;
            }
            #(#node_params)*
            #wf_takes

            // A workflow nests as an async node. Its inputs are cloned into the nested run;
            // that they are `Clone` is checked by `Takes`, on the step that nests it.
            #[allow(unused_variables)]
            impl #p::Shim for #name {
                type Args<'__a> = (#(::core::option::Option<&'__a #in_tys>,)*);

                fn call(
                    call: __rt::Call<'_>,
                    args: Self::Args<'_>,
                ) -> ::core::result::Result<#out_ty, __rt::NodeError> {
                    #p::sync_of_async(#name_str)
                }

                #[allow(refining_impl_trait)]
                fn call_async<'__a>(
                    call: __rt::Call<'__a>,
                    (#(#shim_args,)*): Self::Args<'__a>,
                ) -> #p::NestedFuture<'__a, #out_ty>
                where
                    <Self as #p::Node>::Output: ::core::marker::Send,
                {
                    #[allow(unused_imports)]
                    use #p::{NestedArgClone as _, NestedArgNotClone as _};
                    let input = 'input: {
                        #(
                            let #in_locals = match (&&#p::NestedArg(#shim_args, #name_str, #positions)).take_input() {
                                ::core::result::Result::Ok(v) => v,
                                ::core::result::Result::Err(e) => break 'input ::core::result::Result::Err(e),
                            };
                        )*
                        ::core::result::Result::Ok(#input_from_locals)
                    };
                    #p::run_nested(call.ctx, ::std::sync::Arc::new(#name), input)
                }

                fn capture((#(#shim_args,)*): Self::Args<'_>) -> #p::serde_json::Value {
                    #capture
                }

                fn compensate<'__a>(
                    _: __rt::Call<'__a>,
                    _: &'__a #out_ty,
                ) -> ::core::option::Option<__rt::StepFuture<'__a>> {
                    ::core::option::Option::None
                }
            }

            #[allow(clippy::match_single_binding, unused_variables)]
            impl __rt::Program for #name {
                type Input = #input_ty;
                type Output = #out_ty;
                type Slots = __Slots;

                fn graph(&self) -> &__rt::Graph {
                    __GRAPH.graph()
                }

                fn slots(&self, input: Self::Input) -> __Slots {
                    let #input_from_locals = input;
                    // Every field named, so the struct (16 KB for 1,000 steps) is built in
                    // place: `..Default::default()` built a second one and copied it.
                    #p::Slots::new(__Fields {
                        #(#in_slots: #p::Slot::filled(#in_locals),)*
                        #slot_inits
                    })
                }

                fn output(&self, mut slots: __Slots) -> ::core::option::Option<#out_ty> {
                    // Taken, not moved out: the rest of the slots then drop as a whole
                    // instead of field by field in code of their own.
                    #ret_call
                }

                #condition
                #width_finish
                #straight

                // The hot path has a dispatch of its own, so that its arms hold the call and
                // nothing else.
                fn call_sync(&self, s: &__Slots, call: __rt::Call<'_>) -> ::core::result::Result<(), __rt::NodeError> {
                    __Dispatch::visit(s, call.step, call.item, #p::CallSync(call))
                }

                fn call_async<'a>(&'a self, s: &'a __Slots, call: __rt::Call<'a>) -> __rt::StepFuture<'a> {
                    __Dispatch::visit(s, call.step, call.item, #p::Op::CallAsync(call)).future()
                }

                fn compensate<'a>(&'a self, s: &'a __Slots, call: __rt::Call<'a>) -> ::core::option::Option<__rt::StepFuture<'a>> {
                    __Dispatch::visit(s, call.step, call.item, #p::Op::Inspect(#p::Inspect::Compensate(call))).compensation()
                }

                fn input_hash(&self, s: &__Slots, call: __rt::Call<'_>, hasher: __rt::KeyHasher<'_>) -> ::core::option::Option<u64> {
                    __Dispatch::visit(s, call.step, call.item, #p::Op::Inspect(#p::Inspect::InputHash(hasher))).hash()
                }

                fn cache_store(&self, s: &__Slots, call: __rt::Call<'_>) -> ::core::option::Option<__rt::CacheEntry> {
                    __Dispatch::visit(s, call.step, call.item, #p::Op::Inspect(#p::Inspect::CacheStore(call.item))).stored()
                }

                fn cache_load(&self, s: &__Slots, call: __rt::Call<'_>, entry: &__rt::CacheEntry) -> bool {
                    __Dispatch::visit(s, call.step, call.item, #p::Op::Inspect(#p::Inspect::CacheLoad(entry, call.item))).loaded()
                }

                fn operation_data(&self, s: &__Slots, call: __rt::Call<'_>) -> #p::serde_json::Value {
                    __Dispatch::visit(s, call.step, call.item, #p::Op::Inspect(#p::Inspect::OperationData)).data()
                }
            }
        };
    }
}

/// On errors: the type with the same methods and no body, so code using the workflow does
/// not pile up errors of its own (thiserror's fallback).
pub fn fallback(wf: &Workflow) -> TokenStream {
    let rt = runtime_path(wf.krate.as_ref());
    let name = &wf.name;
    let vis = &wf.vis;
    let attrs = &wf.attrs;
    let out_ty = &wf.output;
    let in_names: Vec<&syn::Ident> = wf.inputs.iter().map(|i| &i.name).collect();
    let in_tys: Vec<&syn::Type> = wf.inputs.iter().map(|i| &i.ty).collect();
    let input_ty = match in_tys.as_slice() {
        [one] => quote!(#one),
        many => quote!((#(#many,)*)),
    };
    let _ = Span::call_site();
    quote! {
        #(#attrs)*
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #name;

        #[allow(unused_variables, clippy::all)]
        impl #name {
            pub fn run<'__rt>(
                rt: &'__rt #rt::Runtime,
                #(#in_names: #in_tys,)*
                opts: #rt::RunOptions,
            ) -> #rt::RunFuture<'__rt, #out_ty> {
                ::core::unreachable!()
            }
            pub fn run_batch<'__rt>(
                rt: &'__rt #rt::Runtime,
                inputs: ::std::vec::Vec<#input_ty>,
                opts: #rt::RunOptions,
            ) -> #rt::BatchFuture<'__rt, #out_ty> {
                ::core::unreachable!()
            }
            pub fn plan(#(#in_names: &#in_tys),*) -> ::std::vec::Vec<#rt::Thunk> {
                ::core::unreachable!()
            }
            pub fn graph() -> &'static #rt::Graph {
                ::core::unreachable!()
            }
        }
    }
}

/// The type a step's slot holds, as read by its consumers (a `map` step's is a `Vec`),
/// spanned at `span`.
fn produced_at(map: bool, node: &syn::Ident, span: Span) -> TokenStream {
    let node = at(node, span);
    if map {
        quote_spanned!(span=> ::std::vec::Vec<__g::Out<#node>>)
    } else {
        quote_spanned!(span=> __g::Out<#node>)
    }
}
