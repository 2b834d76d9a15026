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

use super::check::expandable;
use super::parse::{Kind, Node, ParamShape};
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

/// A parameter a step passes, with its type as the workflow sees it.
struct Input {
    inner: syn::Type,
    optional: bool,
}

/// Emits the function and, when its signature allows, the proxy.
pub fn expand(node: &Node) -> TokenStream {
    let func = &node.func;
    let (Some((kind, _)), true) = (node.kind, expandable(node)) else {
        // Still emit an empty proxy so a workflow naming this node reports nothing more
        // than the missing trait, not "cannot find type".
        let ident = node.ident();
        let vis = &func.vis;
        return quote! {
            #func
            #[doc(hidden)]
            #[allow(non_camel_case_types, dead_code)]
            #vis struct #ident {}
        };
    };
    let rt = runtime_path(node.options.krate.as_ref().map(|k| &k.value));
    let ident = node.ident();
    let vis = &func.vis;
    let name = match &node.options.name {
        Some(n) => n.value.value(),
        None => default_name(&ident.to_string()),
    };
    let kind_variant = format_ident!("{}", kind.variant());
    let is_async = func.sig.asyncness.is_some();
    let compensated = node.options.compensate.is_some();
    let policy_chain = node.options.policy_chain(&rt);

    let inputs: Vec<Input> = match kind {
        Kind::Reducer => {
            let item = match &node.params[1].shape {
                ParamShape::Ref(t) => t.clone(),
                _ => unreachable!("checked by `expandable`"),
            };
            vec![Input {
                inner: syn::parse_quote_spanned!(item.span()=> [#item]),
                optional: false,
            }]
        }
        _ => node
            .inputs()
            .map(|p| match &p.shape {
                ParamShape::Ref(t) => Input {
                    inner: t.clone(),
                    optional: false,
                },
                ParamShape::OptionRef(t) => Input {
                    inner: t.clone(),
                    optional: true,
                },
                _ => unreachable!("checked by `expandable`"),
            })
            .collect(),
    };
    let arity = inputs.len();
    let output: syn::Type = match kind {
        Kind::Reducer => match &node.params[0].shape {
            ParamShape::RefMut(t) => t.clone(),
            _ => unreachable!("checked by `expandable`"),
        },
        _ => match &node.ret {
            Some((t, _)) => t.clone(),
            None => syn::parse_quote!(()),
        },
    };

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

    let cache = node.options.cache.is_some() && kind == Kind::Compute;
    let (cache_fns, cache_checks) = if cache {
        cache_shims(&rt, &inputs, &args, &output)
    } else {
        (quote!(), quote!())
    };
    let capture = capture_args(&quote!(#rt::__private), &args);
    let compensate = match &node.options.compensate {
        Some(c) if kind == Kind::Effect => {
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

        #(#param_impls)*

        #cache_checks

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
