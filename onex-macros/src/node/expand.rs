//! Code for a `#[node]`: the function as written, plus a braced proxy type of the same name
//! in the type namespace, implementing `Node`, `Param<ArgN>` and `Shim`.
//!
//! `workflow!` sees only a node's path, never its signature, so `Shim` gives every node the
//! same calling convention: `call(call, (Option<&A>, Option<&B>, ..))` returning
//! `Result<Output, NodeError>`, plus an async twin, hashing, capture, caching and
//! compensation. Being a trait (not inherent fns), it lets the runtime's generic glue call
//! any node, so a workflow's per-step code is written once per node type rather than once
//! per step. Every input is passed as an `Option` so that `Option<&T>` parameters (which
//! still run when their input step is skipped) and `&T` parameters look the same.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::parse::{Kind, Node, ParamShape};
use super::shape::{Input, Shape, shape, takes_text};
use crate::param_index::arg_type;
use crate::respan::respan;

/// The default `target_node_type`: the fn name in UpperCamelCase (`fetch_rows` gives
/// `FetchRows`), the convention for type names that ONEX node types follow.
pub fn default_name(ident: &str) -> String {
    let ident = ident.strip_prefix("r#").unwrap_or(ident);
    let mut out = String::with_capacity(ident.len());
    let mut upper = true;
    for c in ident.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    if out.is_empty() {
        ident.to_string()
    } else {
        out
    }
}

/// The runtime path generated code names: `::onex::__private::onex_runtime` unless the
/// attribute says `crate = path`.
pub fn runtime_path(krate: Option<&syn::Path>) -> TokenStream {
    match krate {
        Some(p) => quote!(#p::__private::onex_runtime),
        None => quote!(::onex::__private::onex_runtime),
    }
}

/// Emits the function and the proxy: the real one, or a stub when the signature was
/// rejected (see [`shape`](super::shape)).
pub fn expand(node: &Node) -> TokenStream {
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
    let Shape {
        kind,
        inputs,
        output,
        stub,
    } = shape;
    let rt = runtime_path(node.options.krate.as_ref().map(|k| &k.value));
    let ident = node.ident();
    let vis = &func.vis;
    let name = match &node.options.name {
        Some(n) => n.value.value(),
        None => default_name(&ident.to_string()),
    };
    let kind_variant = format_ident!("{}", kind.variant());
    // A stub's shims never run: it takes the plain synchronous path.
    let is_async = func.sig.asyncness.is_some() && !stub;
    let compensated = node.options.compensate.is_some() && !stub;
    let policy_chain = node.options.policy_chain(&rt);
    let arity = inputs.len();
    let takes = takes_impl(node, kind, arity, &rt);

    let args: Vec<syn::Ident> = (0..arity).map(|i| format_ident!("__a{}", i)).collect();
    let param_impls = inputs.iter().enumerate().map(|(i, inp)| {
        let ty = &inp.inner;
        let optional = inp.optional;
        let i = arg_type(i, &quote!(#rt::__private), Span::call_site());
        quote! {
            impl #rt::__private::Param<#i> for #ident {
                type Type = #ty;
                const OPTIONAL: bool = #optional;
            }
        }
    });
    // `Shim::Args`: one `Option<&T>` per parameter, destructured by each shim.
    let arg_tys = inputs.iter().map(|inp| {
        let ty = &inp.inner;
        quote!(::core::option::Option<&'__a #ty>)
    });
    let args_ty = quote!((#(#arg_tys,)*));
    let args_pat = quote!((#(#args,)*));
    // Required inputs are unwrapped; a missing one is an executor bug, never a panic.
    let unwrap_inputs: Vec<TokenStream> = inputs
        .iter()
        .zip(&args)
        .enumerate()
        .filter(|(_, (inp, _))| !inp.optional)
        .map(|(i, (_, a))| {
            let pos = i + 1;
            quote! {
                let #a = match #a {
                    ::core::option::Option::Some(v) => v,
                    ::core::option::Option::None => {
                        return ::core::result::Result::Err(
                            #rt::__private::missing_input(<Self as #rt::__private::Node>::NAME, #pos),
                        )
                    }
                };
            }
        })
        .collect();
    let ctx_arg = node.takes_context().then(|| quote!(call.ctx,));
    let ret_span = match &func.sig.output {
        syn::ReturnType::Type(_, t) => t.span(),
        syn::ReturnType::Default => ident.span(),
    };
    let is_result = matches!(node.ret, Some((_, true)));

    let body = match kind {
        _ if stub => quote!(::core::unreachable!("a rejected node is never called")),
        Kind::Reducer => {
            let a = &args[0];
            let acc_span = match &node.params[0].shape {
                ParamShape::RefMut(t) => t.span(),
                _ => node.params[0].ty.span(),
            };
            // On the accumulator's type, so `Acc: Default` failing is reported there.
            let fold = match &node.options.merge {
                Some(m) => {
                    let m = &m.value;
                    let f = respan(quote!(#rt::__private::fold_items_merge), acc_span);
                    quote_spanned!(acc_span=> #f(#a, call.mode, #ident, #m))
                }
                None => {
                    let f = respan(quote!(#rt::__private::fold_items), acc_span);
                    quote_spanned!(acc_span=> #f(#a, #ident))
                }
            };
            quote!(::core::result::Result::Ok(#fold))
        }
        _ => {
            let call_expr = if is_async {
                quote!(#ident(#ctx_arg #(#args),*).await)
            } else {
                quote!(#ident(#ctx_arg #(#args),*))
            };
            if is_result {
                quote_spanned!(ret_span=> #call_expr.map_err(::core::convert::Into::into))
            } else {
                quote!(::core::result::Result::Ok(#call_expr))
            }
        }
    };
    let not_ctx = if node.takes_context() {
        quote!()
    } else {
        quote!(let _ = call;)
    };
    // A synchronous node's async entry point calls it in place: no state machine at all.
    let (sync_shim, async_shim) = if is_async {
        (
            quote! {
                let _ = (call, #args_pat);
                #rt::__private::sync_of_async(<Self as #rt::__private::Node>::NAME)
            },
            quote! {
                async move {
                    #(#unwrap_inputs)*
                    #not_ctx
                    #body
                }
            },
        )
    } else {
        let reducer_ignores_ctx = if kind == Kind::Reducer {
            quote!()
        } else {
            not_ctx
        };
        (
            quote! {
                #(#unwrap_inputs)*
                #reducer_ignores_ctx
                #body
            },
            quote!(::core::future::ready(<Self as #rt::__private::Shim>::call(call, #args_pat))),
        )
    };

    // A stub caches nothing: its inputs may not be what `cache` needs.
    let cache = node.options.cache.is_some() && kind == Kind::Compute && !stub;
    let (cache_fns, cache_checks) = if cache {
        cache_shims(&rt, &inputs, &args, &output)
    } else {
        (quote!(), quote!())
    };
    let capture = capture_args(&quote!(#rt::__private), &args);
    let compensate = match &node.options.compensate {
        Some(c) if kind == Kind::Effect && !stub => {
            let undo = &c.value;
            quote_spanned! {undo.span()=>
                #[allow(unused_imports)]
                use #rt::__private::{CompensateAsync as _, CompensateSync as _};
                // Deferred into the future, so a sync compensation runs when the runtime
                // polls it: timed, and inside the runtime's panic guard.
                ::core::option::Option::Some(::std::boxed::Box::pin(async move {
                    let undo = (&&#rt::__private::Compensation::new(#undo(call.ctx, out)))
                        .take_step_future();
                    undo.await
                }))
            }
        }
        _ => quote!(let _ = (call, out); ::core::option::Option::None),
    };
    let doc = format!(
        " The `{name}` node's proxy, made by `#[node]`; the function `{ident}` stays callable."
    );

    quote! {
        #func

        #[doc = #doc]
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #ident {}

        impl #rt::__private::Node for #ident {
            type Output = #output;
            const NAME: &'static str = #name;
            const KIND: #rt::NodeKind = #rt::NodeKind::#kind_variant;
            const IS_ASYNC: bool = #is_async;
            const POLICY: #rt::StepPolicy = #rt::StepPolicy::DEFAULT #policy_chain;
            const COMPENSATED: bool = #compensated;
            const ARITY: usize = #arity;
        }

        // One entry per node in the link-time list of compiled nodes (known_nodes.rs).
        const _: () = {
            #[#rt::__private::linkme::distributed_slice(#rt::__private::NODES)]
            #[linkme(crate = #rt::__private::linkme)]
            static ENTRY: #rt::__private::NodeEntry = #rt::__private::NodeEntry::of::<#ident>();
        };

        #(#param_impls)*

        #cache_checks

        #takes

        #[doc(hidden)]
        #[allow(dead_code, unused_variables, clippy::all, clippy::pedantic)]
        impl #rt::__private::Shim for #ident {
            type Args<'__a> = #args_ty;

            #[inline]
            fn call(
                call: #rt::Call<'_>,
                #args_pat: Self::Args<'_>,
            ) -> ::core::result::Result<#output, #rt::NodeError> {
                #sync_shim
            }

            fn call_async<'__a>(
                call: #rt::Call<'__a>,
                #args_pat: Self::Args<'__a>,
            ) -> impl ::core::future::Future<Output = ::core::result::Result<#output, #rt::NodeError>>
                   + ::core::marker::Send + '__a
            where
                <Self as #rt::__private::Node>::Output: ::core::marker::Send,
            {
                #async_shim
            }

            fn capture(#args_pat: Self::Args<'_>) -> #rt::__private::serde_json::Value {
                #[allow(unused_imports)]
                use #rt::__private::{CaptureFallback as _, CaptureSerialize as _};
                #capture
            }

            #cache_fns

            fn compensate<'a>(
                call: #rt::Call<'a>,
                out: &'a #output,
            ) -> ::core::option::Option<#rt::StepFuture<'a>> {
                #compensate
            }
        }
    }
}

/// The `Shim` methods of a cached node (hash the inputs, keep a copy of inputs and output,
/// answer a call whose inputs equal the kept ones), and the checks of its types' bounds.
///
/// Every use of an input or of the output goes through autoref specialization on its
/// concrete type (the runtime's `CacheInput`, `CacheOutput` and `Weigh`), so a type
/// without the bounds compiles there, as "not cached"; the checks, on the types as the
/// user wrote them, are then the one error per such type, naming it and the bounds.
fn cache_shims(
    rt: &TokenStream,
    inputs: &[Input],
    args: &[syn::Ident],
    output: &syn::Type,
) -> (TokenStream, TokenStream) {
    let p = quote!(#rt::__private);
    let arity = inputs.len();
    let args_pat = quote!((#(#args,)*));
    let keys: Vec<syn::Ident> = (0..arity).map(|i| format_ident!("__k{}", i)).collect();
    let probes = quote! {
        #[allow(unused_imports)]
        use #p::{
            CacheInputKey as _, CacheOutputCopy as _, NotCacheInputKey as _,
            NotCacheOutputCopy as _, WeighExact as _, WeighSerialized as _, WeighShallow as _,
        };
    };
    // An entry's inputs carry the proxy type, so one node never reads another's entry.
    let kept_ty = quote!((::core::marker::PhantomData<Self>, [#p::StoredInput; #arity]));
    let fns = quote! {
        fn hash(#args_pat: Self::Args<'_>, __h: &mut dyn ::core::hash::Hasher) -> bool {
            #probes
            true #(&& (&&#p::CacheInput(#args)).hash_into(__h))*
        }

        fn cache_store(
            #args_pat: Self::Args<'_>,
            out: &#output,
        ) -> ::core::option::Option<#rt::CacheEntry> {
            #probes
            let inputs: #kept_ty = (
                ::core::marker::PhantomData,
                [#((&&#p::CacheInput(#args)).key()?,)*],
            );
            let weight = (&&&#p::Weigh(out)).weigh() #(+ match #args {
                ::core::option::Option::Some(v) => (&&&#p::Weigh(v)).weigh(),
                ::core::option::Option::None => 0,
            })*;
            let out = (&&#p::CacheOutput(out)).copy()?;
            ::core::option::Option::Some(#rt::CacheEntry::new(inputs, out, weight))
        }

        fn cache_load(
            #args_pat: Self::Args<'_>,
            entry: &#rt::CacheEntry,
        ) -> ::core::option::Option<#output> {
            #probes
            let (_, [#(#keys,)*]) = entry.inputs::<#kept_ty>()?;
            if true #(&& (&&#p::CacheInput(#args)).matches(#keys))* {
                (&&#p::CacheOutput(entry.output::<#output>()?)).copy()
            } else {
                ::core::option::Option::None
            }
        }
    };
    // On the types as the user wrote them (their tokens keep the user's spans): a type
    // without the bounds is one error there.
    let input_checks = inputs.iter().map(|inp| {
        let ty = &inp.inner;
        quote! {
            let answer = (&&#p::CacheProbe::<#ty>::new()).probe();
            <#ty as #rt::policy::CachedInput<_>>::check(answer);
        }
    });
    let checks = quote! {
        const _: fn() = || {
            #[allow(unused_imports)]
            use #p::{ProbeCacheKey as _, ProbeCacheOutput as _, ProbeNotCacheKey as _, ProbeNotCacheOutput as _};
            #(#input_checks)*
            let answer = (&&#p::CacheProbe::<#output>::new()).probe_output();
            <#output as #rt::policy::CachedOutput<_>>::check(answer);
        };
    };
    (fns, checks)
}

/// `Takes<K>` for the node, for every `K`, through a trait of its own that holds only for
/// its arity and whose message says what a step must pass: a call with too few or too many
/// arguments is then one error, on the call, in the user's words.
fn takes_impl(node: &Node, kind: Kind, arity: usize, rt: &TokenStream) -> TokenStream {
    let ident = node.ident();
    let note = if node.takes_context() {
        "a step passes one argument per parameter of its node, in order; the runtime supplies the `&Context`"
    } else {
        "a step passes one argument per parameter of its node, in order"
    };
    takes_for(ident, &takes_text(node, kind), note, arity, rt, None)
}

/// `Takes<K>` for `ty` (a node proxy or a workflow), holding for `K == arity` (and `bound`,
/// when given); when it does not, the message is `takes` (what a step must pass) and the
/// count it got.
pub fn takes_for(
    ty: &syn::Ident,
    takes: &str,
    note: &str,
    arity: usize,
    rt: &TokenStream,
    bound: Option<TokenStream>,
) -> TokenStream {
    // `{` and `}` are format syntax in the message.
    let message = format!("{}, got {{K}}", takes.replace('{', "{{").replace('}', "}}"));
    let rt = respan(rt.clone(), ty.span());
    // On the name: "required for `price` to implement `Takes<1>`" points at the user's item.
    quote_spanned! {ty.span()=>
        const _: () = {
            #[diagnostic::on_unimplemented(message = #message, label = "this call passes {K}", note = #note)]
            #[doc(hidden)]
            pub trait Inputs<const K: usize> {
                type Node;
            }
            impl Inputs<#arity> for #ty {
                type Node = #ty;
            }
            impl<const K: usize> #rt::__private::Takes<K> for #ty
            where
                #ty: Inputs<K>,
                #bound
            {
                type Node = <#ty as Inputs<K>>::Node;
            }
        };
    }
}

/// The body of a `Shim::capture` over the shim's arguments `args` (each an
/// `Option<&T>`), `private` being the runtime's `__private` path: the thunk's
/// `operation_data`, picked by autoref on the concrete parameter types (`Serialize`
/// inputs are captured, others give `Null`). An absent input is `null` without
/// serializing the `Option`: less serde code compiled per node.
pub fn capture_args(private: &TokenStream, args: &[syn::Ident]) -> TokenStream {
    let captured = args.iter().map(|a| {
        quote! {
            match #a {
                ::core::option::Option::Some(v) => (&&#private::Capture(v)).capture(),
                ::core::option::Option::None => #private::serde_json::Value::Null,
            }
        }
    });
    match args {
        [] => quote!(#private::serde_json::Value::Null),
        [_] => quote!(#(#captured)*),
        _ => quote!(#private::serde_json::Value::Array(::std::vec![#(#captured),*])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctxt::Ctxt;

    #[test]
    fn default_names() {
        assert_eq!(default_name("fetch_rows"), "FetchRows");
        assert_eq!(default_name("validate"), "Validate");
        assert_eq!(default_name("_private_step"), "PrivateStep");
        assert_eq!(default_name("r#match"), "Match");
    }

    #[test]
    fn a_rejected_signature_gets_a_stub_that_never_calls_the_fn() {
        let cx = Ctxt::new();
        let n = Node::from_parts(
            quote!(compute, cache),
            syn::parse2(quote!(
                fn price(order: Order) -> u64 {
                    order.total
                }
            ))
            .unwrap(),
            &cx,
        );
        let out = expand(&n).to_string();
        assert!(out.contains("type Type = Order"), "{out}");
        assert!(out.contains("Shim for price"));
        assert!(out.contains("Takes < K > for price"));
        assert!(out.contains("\"`price` takes 1 input (order: Order), got {K}\""));
        // The stub neither calls `price(order)` nor hashes its input for the cache.
        assert!(!out.contains("price (__a0)"), "{out}");
        assert!(!out.contains("CacheInput"), "{out}");
    }

    #[test]
    fn expansion_mentions_the_policy_and_shims() {
        let cx = Ctxt::new();
        let n = Node::from_parts(
            quote!(
                effect,
                name = "NodeDataFetcherEffect",
                retries = 3,
                timeout = 10s
            ),
            syn::parse2(quote!(
                async fn fetch(ctx: &Context, id: &u64) -> Result<String, NodeError> {
                    todo!()
                }
            ))
            .unwrap(),
            &cx,
        );
        assert!(cx.check().is_ok());
        let out = expand(&n).to_string();
        assert!(out.contains("\"NodeDataFetcherEffect\""));
        assert!(out.contains(". retries (3u32)"));
        assert!(out.contains("const IS_ASYNC : bool = true"));
        assert!(out.contains("fn call_async"));
    }
}
