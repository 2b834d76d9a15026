//! Code for a checked workflow: the type, its `Program` impl over a typed slots struct, the
//! static graph with the order and waves computed here, and the edge checks that turn a
//! type mismatch into an error on the user's argument.
//!
//! Everything except the type and its inherent methods lives in `const _: () = { .. };` so
//! the helpers cannot clash with the user's items.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::check::unused_steps;
use super::parse::Workflow;
use super::resolve::{Resolved, Source};
use crate::node::expand::runtime_path;
use crate::respan::respan;

/// The generated code for a workflow that passed every check.
pub fn generate(wf: &Workflow, r: &Resolved) -> TokenStream {
    let rt = runtime_path(wf.krate.as_ref());
    let p = quote!(#rt::__private);
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

    let s_slots: Vec<syn::Ident> = (0..n).map(|k| format_ident!("__s{}", k)).collect();
    let paths: Vec<TokenStream> = wf
        .steps
        .iter()
        .map(|s| {
            let path = &s.node;
            quote_spanned!(path.span()=> #path)
        })
        .collect();
    let node_strs: Vec<String> = wf
        .steps
        .iter()
        .map(|s| {
            quote::ToTokens::to_token_stream(&s.node)
                .to_string()
                .replace(' ', "")
        })
        .collect();
    let step_strs: Vec<String> = wf.steps.iter().map(|s| s.name.to_string()).collect();
    // One alias per step for its node's output: an unknown node is then reported once, at
    // the alias (on the node's path), and every other use names the alias.
    let out_aliases: Vec<syn::Ident> = (0..n).map(|k| format_ident!("__Out{}", k)).collect();
    let alias_defs = paths
        .iter()
        .zip(&out_aliases)
        .map(|(path, alias)| quote!(type #alias = <#path as #p::Node>::Output;));
    let alias_defs = quote!(#(#alias_defs)*);
    let outputs: Vec<TokenStream> = out_aliases.iter().map(|a| quote!(#a)).collect();
    let slot_tys: Vec<TokenStream> = wf
        .steps
        .iter()
        .zip(&outputs)
        .map(|(s, o)| {
            if s.map.is_some() {
                quote!(#p::MapSlot<#o>)
            } else {
                quote!(#p::Slot<#o>)
            }
        })
        .collect();
    // The type a step's slot holds, as read by its consumers.
    let produced: Vec<TokenStream> = wf
        .steps
        .iter()
        .zip(&outputs)
        .map(|(s, o)| {
            if s.map.is_some() {
                quote!(::std::vec::Vec<#o>)
            } else {
                o.clone()
            }
        })
        .collect();

    // Edge checks and the per-step argument fns.
    let mut feed_traits = TokenStream::new();
    let mut arg_fns = TokenStream::new();
    let mut arg_names: Vec<Vec<syn::Ident>> = Vec::new();
    for (k, step) in wf.steps.iter().enumerate() {
        let path = &paths[k];
        let mut values = Vec::new();
        let mut tys = Vec::new();
        for (a, (arg, src)) in step.args.iter().zip(&r.args[k]).enumerate() {
            let src = src.expect("unresolved names stop before codegen");
            let pos = a + 1;
            let node = &node_strs[k];
            let is_map_list = a == 0 && step.map.is_some();
            // The type whose `Feed` impl is checked: the producer's output, or for the list
            // of a `map` step the list itself (its impls hand out one element).
            let (producer, value, what) = match src {
                Source::Step(j) => (
                    produced[j].clone(),
                    {
                        let slot = &s_slots[j];
                        quote!(slots.#slot.get())
                    },
                    format!("step `{}`", step_strs[j]),
                ),
                Source::Input(i) => (
                    {
                        let t = in_tys[i];
                        quote!(#t)
                    },
                    {
                        let slot = &in_slots[i];
                        quote!(slots.#slot.get())
                    },
                    format!("workflow input `{}`", in_strs[i]),
                ),
            };
            let producer = respan(producer, arg.span());
            let feed = format_ident!("__Feed{}_{}", k, a);
            let (message, label, note) = if is_map_list {
                (
                    format!(
                        "`map` cannot run `{node}` over {what} (`{{Self}}`): parameter {pos} takes `&{{P}}`"
                    ),
                    "a `map` step runs its node once per element of this list".to_string(),
                    "the first argument of a `map` step must be a `Vec<T>` whose elements fit the node's first parameter",
                )
            } else {
                (
                    format!(
                        "output of {what} (`{{Self}}`) cannot feed parameter {pos} of `{node}` (`&{{P}}`)"
                    ),
                    format!("this is `{{Self}}`; parameter {pos} of `{node}` takes `&{{P}}`"),
                    "a step passes each argument to its node by reference, in order; `&Vec<T>` also fits `&[T]`, and `&String` fits `&str`",
                )
            };
            let message = message.replace("output of workflow input", "workflow input");
            if is_map_list {
                feed_traits.extend(quote! {
                    #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
                    trait #feed<P: ?Sized> {
                        fn feed(list: ::core::option::Option<&Self>, item: usize) -> ::core::option::Option<&P>;
                        fn width(list: &Self) -> usize;
                    }
                    #[diagnostic::do_not_recommend]
                    impl<T> #feed<T> for ::std::vec::Vec<T> {
                        #[inline(always)]
                        fn feed(list: ::core::option::Option<&Self>, item: usize) -> ::core::option::Option<&T> {
                            list.and_then(|l| l.get(item))
                        }
                        #[inline(always)]
                        fn width(list: &Self) -> usize {
                            list.len()
                        }
                    }
                });
                let param_ty = quote_spanned!(arg.span()=> <#path as #p::Param<#a>>::Type);
                values.push(quote_spanned!(arg.span()=> <#producer as #feed<#param_ty>>::feed(#value, item)));
                tys.push(quote_spanned!(arg.span()=> ::core::option::Option<&'s #param_ty>));
                continue;
            }
            feed_traits.extend(quote! {
                #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
                trait #feed<P: ?Sized> {
                    fn feed(value: ::core::option::Option<&Self>) -> ::core::option::Option<&P>;
                }
                impl<T: ?Sized> #feed<T> for T {
                    #[inline(always)]
                    fn feed(value: ::core::option::Option<&T>) -> ::core::option::Option<&T> {
                        value
                    }
                }
                #[diagnostic::do_not_recommend]
                impl<T> #feed<[T]> for ::std::vec::Vec<T> {
                    #[inline(always)]
                    fn feed(value: ::core::option::Option<&Self>) -> ::core::option::Option<&[T]> {
                        value.map(::std::vec::Vec::as_slice)
                    }
                }
                #[diagnostic::do_not_recommend]
                impl #feed<str> for ::std::string::String {
                    #[inline(always)]
                    fn feed(value: ::core::option::Option<&Self>) -> ::core::option::Option<&str> {
                        value.map(::std::string::String::as_str)
                    }
                }
            });
            let param_ty = quote_spanned!(arg.span()=> <#path as #p::Param<#a>>::Type);
            values.push(quote_spanned!(arg.span()=> <#producer as #feed<#param_ty>>::feed(#value)));
            tys.push(quote_spanned!(arg.span()=> ::core::option::Option<&'s #param_ty>));
        }
        let fn_name = format_ident!("__args{}", k);
        arg_fns.extend(quote! {
            #[inline(always)]
            #[allow(unused_variables, clippy::type_complexity)]
            fn #fn_name<'s>(slots: &'s __Slots, item: usize) -> (#(#tys,)*) {
                (#(#values,)*)
            }
        });
        arg_names.push(
            (0..step.args.len())
                .map(|a| format_ident!("__a{}", a))
                .collect(),
        );
    }

    // The static graph.
    let levels = onex_graph::levels(&r.deps).expect("cycles stop before codegen");
    let (order, wave_starts, wave_of) = levels.into_parts();
    let output = r.output.expect("a missing return stops before codegen");
    let mut specs = Vec::new();
    let mut policies = TokenStream::new();
    let mut opt_statics = TokenStream::new();
    for (k, step) in wf.steps.iter().enumerate() {
        let path = &paths[k];
        let chain = step.options.policy_chain(&rt);
        let pol = format_ident!("__POLICY{}", k);
        policies.extend(quote!(const #pol: #rt::StepPolicy = <#path as #p::Node>::POLICY #chain;));
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
                    quote_spanned!(span=> && <#path as #p::Param<#a>>::OPTIONAL)
                });
            quote!((true #(#uses)*))
        });
        let opt = format_ident!("__OPTIONAL{}", k);
        let len = deps.len();
        opt_statics.extend(quote! {
            static #opt: ([usize; #len], usize) = #p::select_deps([#(#deps),*], [#(#flags),*]);
        });
        let sname = &step_strs[k];
        let reads = &r.reads_inputs[k];
        let conditional = step.options.when.is_some();
        let map = step.map.is_some();
        specs.push(quote! {
            #rt::StepSpec {
                name: ::std::borrow::Cow::Borrowed(#sname),
                node_type: ::std::borrow::Cow::Borrowed(<#path as #p::Node>::NAME),
                kind: <#path as #p::Node>::KIND,
                is_async: <#path as #p::Node>::IS_ASYNC,
                deps: ::std::borrow::Cow::Borrowed(&[#(#deps),*]),
                optional_deps: ::std::borrow::Cow::Borrowed(#opt.0.split_at(#opt.1).0),
                reads_inputs: ::std::borrow::Cow::Borrowed(&[#(#reads),*]),
                policy: #pol,
                conditional: #conditional,
                map: #map,
                compensated: <#path as #p::Node>::COMPENSATED,
            }
        });
    }
    let pol_idents: Vec<syn::Ident> = (0..n).map(|k| format_ident!("__POLICY{}", k)).collect();
    let n_inputs = wf.inputs.len();

    // Program methods, one match arm per step.
    let mut cond_arms = TokenStream::new();
    let mut width_arms = TokenStream::new();
    let mut sync_arms = TokenStream::new();
    let mut async_arms = TokenStream::new();
    let mut finish_arms = TokenStream::new();
    let mut comp_arms = TokenStream::new();
    let mut hash_arms = TokenStream::new();
    let mut store_arms = TokenStream::new();
    let mut load_arms = TokenStream::new();
    let mut data_arms = TokenStream::new();
    for (k, step) in wf.steps.iter().enumerate() {
        let path = &paths[k];
        let slot = &s_slots[k];
        let args_fn = format_ident!("__args{}", k);
        let a = &arg_names[k];
        let sname = &step_strs[k];
        let put = if step.map.is_some() {
            quote!(slots.#slot.put(call.item, __out))
        } else {
            quote!(slots.#slot.put(__out))
        };
        let node_span = step.node.span();
        let call_sync = quote_spanned!(node_span=> <#path>::__onex_call(call, #(#a),*));
        let call_async = quote_spanned!(node_span=> <#path>::__onex_call_async(call, #(#a),*));
        sync_arms.extend(quote! {
            #k => {
                let (#(#a,)*) = #args_fn(slots, call.item);
                let __out = #call_sync?;
                #put;
                ::core::result::Result::Ok(())
            }
        });
        async_arms.extend(quote! {
            #k if <#path as #p::Node>::IS_ASYNC => {
                let (#(#a,)*) = #args_fn(slots, call.item);
                ::std::boxed::Box::pin(async move {
                    let __out = #call_async.await?;
                    #put;
                    ::core::result::Result::Ok(())
                })
            }
        });
        if let Some(w) = &step.options.when {
            let binds = r.when[k].iter().map(|(ident, s)| {
                let dslot = &s_slots[*s];
                let dname = &step_strs[*s];
                quote!(let #ident = slots.#dslot.need(#dname)?;)
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
            let (list_slot, list_ty) = match r.args[k][0] {
                Some(Source::Step(j)) => (s_slots[j].clone(), produced[j].clone()),
                Some(Source::Input(i)) => (in_slots[i].clone(), {
                    let t = in_tys[i];
                    quote!(#t)
                }),
                None => unreachable!("unresolved names stop before codegen"),
            };
            let list_ty = respan(list_ty, list.span());
            let feed = format_ident!("__Feed{}_0", k);
            let items = quote_spanned!(list.span()=> <#list_ty as #feed<<#path as #p::Param<0>>::Type>>::width(__l));
            width_arms.extend(quote! {
                #k => {
                    let __n = match slots.#list_slot.get() {
                        ::core::option::Option::Some(__l) => #items,
                        ::core::option::Option::None => {
                            return ::core::result::Result::Err(#p::missing_input(<#path as #p::Node>::NAME, 1))
                        }
                    };
                    slots.#slot.prepare(__n);
                    ::core::result::Result::Ok(__n)
                }
            });
            finish_arms.extend(quote!(#k => slots.#slot.finish(#sname),));
            comp_arms.extend(quote! {
                #k => slots.#slot.get().and_then(|__v| __v.get(call.item)).and_then(|__o| <#path>::__onex_compensate(call, __o)),
            });
        } else {
            comp_arms.extend(quote! {
                #k => slots.#slot.get().and_then(|__o| <#path>::__onex_compensate(call, __o)),
            });
            let hash = quote_spanned!(node_span=> <#path>::__onex_hash(#(#a),*));
            hash_arms.extend(quote! {
                #k => {
                    let (#(#a,)*) = #args_fn(slots, call.item);
                    #hash
                }
            });
            store_arms
                .extend(quote!(#k => slots.#slot.get().and_then(<#path>::__onex_cache_store),));
            load_arms.extend(quote! {
                #k => match <#path>::__onex_cache_load(value) {
                    ::core::option::Option::Some(__v) => {
                        slots.#slot.put(__v);
                        true
                    }
                    ::core::option::Option::None => false,
                },
            });
        }
        let capture = match a.as_slice() {
            [] => quote!(#p::serde_json::Value::Null),
            [one] => quote!((&&#p::Capture(&#one)).capture()),
            many => {
                quote!(#p::serde_json::Value::Array(::std::vec![#((&&#p::Capture(&#many)).capture()),*]))
            }
        };
        data_arms.extend(quote! {
            #k => {
                let (#(#a,)*) = #args_fn(slots, call.item);
                #capture
            }
        });
    }

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
    let ret_produced = respan(produced[output].clone(), ret_ident.span());
    let ret_slot = &s_slots[output];
    let ret_call = quote_spanned!(ret_ident.span()=> <#ret_produced as __Return<#out_ty>>::ret(slots.#ret_slot.into_inner()));

    // Dead work: a warning for pure steps nobody reads, decided by the node's `KIND`.
    let mut warnings = TokenStream::new();
    for u in unused_steps(wf, r) {
        let path = &paths[u];
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
            quote_spanned!(span=> #ty::<{ <#path as #p::Node>::PURE }>::step_output_is_unused());
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
        quote! {
            impl #p::Param<#i> for #name {
                type Type = #t;
                const OPTIONAL: bool = false;
            }
        }
    });
    let owned_generics: Vec<syn::Ident> =
        (0..n_inputs).map(|i| format_ident!("__T{}", i)).collect();
    let shim_args: Vec<syn::Ident> = (0..n_inputs).map(|i| format_ident!("__a{}", i)).collect();
    let positions: Vec<usize> = (1..=n_inputs).collect();
    let graph_doc =
        format!(" The graph of workflow `{name_str}`: steps, dependencies, order and waves.");

    quote! {
        #(#attrs)*
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #name;

        const _: () = {
            #[allow(unused_imports)]
            use #p::{CaptureFallback as _, CaptureSerialize as _};

            #alias_defs

            #[doc(hidden)]
            pub struct __Slots {
                #(#in_slots: #p::Slot<#in_tys>,)*
                #(#s_slots: #slot_tys,)*
            }

            #feed_traits
            #arg_fns

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

            #policies
            #opt_statics
            static __INPUTS: [::std::borrow::Cow<'static, str>; #n_inputs] = [#(::std::borrow::Cow::Borrowed(#in_strs)),*];
            static __STEPS: [#rt::StepSpec; #n] = [#(#specs),*];
            const __PRIORITY: [i32; #n] = [#(#pol_idents.priority),*];
            const __ORDER: [usize; #n] = #p::order_by_priority([#(#order),*], &[#(#wave_starts),*], &__PRIORITY);
            static __GRAPH: #rt::Graph = #rt::Graph::from_static(
                #name_str,
                &__INPUTS,
                &__STEPS,
                #output,
                &__ORDER,
                &[#(#wave_starts),*],
                &[#(#wave_of),*],
            );

            #warnings

            impl #name {
                /// Runs the workflow on `rt`.
                ///
                /// # Errors
                ///
                /// A `WorkflowError` carrying the report when the output step did not complete.
                pub async fn run(
                    rt: &#rt::Runtime,
                    #(#in_names: #in_tys,)*
                    opts: #rt::RunOptions,
                ) -> ::core::result::Result<#rt::WorkflowRun<#out_ty>, #rt::WorkflowError> {
                    rt.run(::std::sync::Arc::new(#name), #input_from_names, opts).await
                }

                /// Runs the workflow once per input, batching the calls of each node type;
                /// one result per input, in input order.
                pub async fn run_batch(
                    rt: &#rt::Runtime,
                    inputs: ::std::vec::Vec<#input_ty>,
                    opts: #rt::RunOptions,
                ) -> ::std::vec::Vec<::core::result::Result<#rt::WorkflowRun<#out_ty>, #rt::WorkflowError>> {
                    rt.run_batch(::std::sync::Arc::new(#name), inputs, opts).await
                }

                /// The thunks a run on these inputs would emit, without running anything.
                pub fn plan(#(#in_names: &#in_tys),*) -> ::std::vec::Vec<#rt::Thunk> {
                    #rt::plan(&__GRAPH, |__step| match __step {
                        #(#plan_arms)*
                        _ => {
                            let _ = (#(#in_names,)*);
                            #p::serde_json::Value::Null
                        }
                    })
                }

                #[doc = #graph_doc]
                pub fn graph() -> &'static #rt::Graph {
                    &__GRAPH
                }

                #[doc(hidden)]
                pub fn __onex_call(
                    call: #rt::Call<'_>,
                    #(#shim_args: ::core::option::Option<&#in_tys>),*
                ) -> ::core::result::Result<#out_ty, #rt::NodeError> {
                    let _ = (call, #(#shim_args),*);
                    ::core::result::Result::Err(#p::wrong_shim(#name_str))
                }

                #[doc(hidden)]
                pub async fn __onex_call_async<#(#owned_generics: ?::core::marker::Sized + ::std::borrow::ToOwned<Owned = #in_tys>),*>(
                    call: #rt::Call<'_>,
                    #(#shim_args: ::core::option::Option<&#owned_generics>),*
                ) -> ::core::result::Result<#out_ty, #rt::NodeError> {
                    #(
                        let #in_locals = match #shim_args {
                            ::core::option::Option::Some(v) => ::std::borrow::ToOwned::to_owned(v),
                            ::core::option::Option::None => {
                                return ::core::result::Result::Err(#p::missing_input(#name_str, #positions))
                            }
                        };
                    )*
                    #p::run_nested(call.ctx, ::std::sync::Arc::new(#name), #input_from_locals).await
                }

                #[doc(hidden)]
                pub fn __onex_hash(#(#shim_args: ::core::option::Option<&#in_tys>),*) -> ::core::option::Option<u64> {
                    let _ = (#(#shim_args,)*);
                    ::core::option::Option::None
                }

                #[doc(hidden)]
                pub fn __onex_cache_store(_: &#out_ty) -> ::core::option::Option<#rt::CachedValue> {
                    ::core::option::Option::None
                }

                #[doc(hidden)]
                pub fn __onex_cache_load(_: &#rt::CachedValue) -> ::core::option::Option<#out_ty> {
                    ::core::option::Option::None
                }

                #[doc(hidden)]
                pub fn __onex_compensate<'a>(
                    _: #rt::Call<'a>,
                    _: &'a #out_ty,
                ) -> ::core::option::Option<#rt::StepFuture<'a>> {
                    ::core::option::Option::None
                }
            }

            impl #p::Node for #name {
                type Output = #out_ty;
                const NAME: &'static str = #name_str;
                const KIND: #rt::NodeKind = #rt::NodeKind::Orchestrator;
                const IS_ASYNC: bool = true;
                const POLICY: #rt::StepPolicy = #rt::StepPolicy::DEFAULT;
                const COMPENSATED: bool = false;
                const ARITY: usize = #n_inputs;
            }
            #(#node_params)*

            #[allow(clippy::match_single_binding, unused_variables)]
            impl #rt::Program for #name {
                type Input = #input_ty;
                type Output = #out_ty;
                type Slots = __Slots;

                fn graph(&self) -> &#rt::Graph {
                    &__GRAPH
                }

                fn slots(&self, input: Self::Input) -> __Slots {
                    let #input_from_locals = input;
                    __Slots {
                        #(#in_slots: #p::Slot::filled(#in_locals),)*
                        #(#s_slots: ::core::default::Default::default(),)*
                    }
                }

                fn output(&self, slots: __Slots) -> ::core::option::Option<#out_ty> {
                    #ret_call
                }

                fn condition(&self, slots: &__Slots, step: usize) -> ::core::result::Result<bool, #rt::NodeError> {
                    match step {
                        #cond_arms
                        _ => ::core::result::Result::Ok(true),
                    }
                }

                fn width(&self, slots: &__Slots, step: usize) -> ::core::result::Result<usize, #rt::NodeError> {
                    match step {
                        #width_arms
                        _ => ::core::result::Result::Ok(1),
                    }
                }

                fn call_sync(&self, slots: &__Slots, call: #rt::Call<'_>) -> ::core::result::Result<(), #rt::NodeError> {
                    match call.step {
                        #sync_arms
                        _ => ::core::result::Result::Err(#p::internal_error("step index out of range")),
                    }
                }

                fn call_async<'a>(&'a self, slots: &'a __Slots, call: #rt::Call<'a>) -> #rt::StepFuture<'a> {
                    match call.step {
                        #async_arms
                        _ => ::std::boxed::Box::pin(::core::future::ready(self.call_sync(slots, call))),
                    }
                }

                fn finish(&self, slots: &__Slots, step: usize) -> ::core::result::Result<(), #rt::NodeError> {
                    match step {
                        #finish_arms
                        _ => ::core::result::Result::Ok(()),
                    }
                }

                fn compensate<'a>(&'a self, slots: &'a __Slots, call: #rt::Call<'a>) -> ::core::option::Option<#rt::StepFuture<'a>> {
                    match call.step {
                        #comp_arms
                        _ => ::core::option::Option::None,
                    }
                }

                fn input_hash(&self, slots: &__Slots, call: #rt::Call<'_>) -> ::core::option::Option<u64> {
                    match call.step {
                        #hash_arms
                        _ => ::core::option::Option::None,
                    }
                }

                fn cache_store(&self, slots: &__Slots, call: #rt::Call<'_>) -> ::core::option::Option<#rt::CachedValue> {
                    match call.step {
                        #store_arms
                        _ => ::core::option::Option::None,
                    }
                }

                fn cache_load(&self, slots: &__Slots, call: #rt::Call<'_>, value: &#rt::CachedValue) -> bool {
                    match call.step {
                        #load_arms
                        _ => false,
                    }
                }

                fn operation_data(&self, slots: &__Slots, call: #rt::Call<'_>) -> #p::serde_json::Value {
                    match call.step {
                        #data_arms
                        _ => #p::serde_json::Value::Null,
                    }
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
            pub async fn run(
                rt: &#rt::Runtime,
                #(#in_names: #in_tys,)*
                opts: #rt::RunOptions,
            ) -> ::core::result::Result<#rt::WorkflowRun<#out_ty>, #rt::WorkflowError> {
                ::core::unreachable!()
            }
            pub async fn run_batch(
                rt: &#rt::Runtime,
                inputs: ::std::vec::Vec<#input_ty>,
                opts: #rt::RunOptions,
            ) -> ::std::vec::Vec<::core::result::Result<#rt::WorkflowRun<#out_ty>, #rt::WorkflowError>> {
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
