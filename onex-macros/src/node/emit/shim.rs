//! The node's `Invoke` impl: one calling convention for every node.
//!
//! `workflow!` sees only a node's path, never its signature, so every node is called the
//! same way: `call(call, (Option<&A>, Option<&B>, ..))` returning `Result<Output,
//! NodeError>`, plus an async twin, input capture, caching and compensation. Being a trait
//! (not inherent fns), it lets the runtime's generic glue call any node, so a workflow's
//! per-step code is written once per node type rather than once per step. Every input is
//! an `Option` so that `Option<&T>` parameters (which still run when their input step is
//! skipped) and `&T` parameters look the same.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::super::parse::{Kind, ParamShape};
use super::{Proxy, cache};
use crate::capture::capture_args;
use crate::respan::respan;

/// `impl Invoke for <proxy>`.
pub fn shim_impl(p: &Proxy) -> TokenStream {
    let (rt, private, ident) = (&p.rt, &p.private, p.ident());
    let output = &p.shape.output;
    let args = &p.args;
    let args_pat = quote!((#(#args,)*));
    // One `Option<&T>` per input, destructured by each shim.
    let arg_tys = p.shape.inputs.iter().map(|input| {
        let ty = &input.inner;
        quote!(::core::option::Option<&'__a #ty>)
    });
    let (sync_body, async_body) = call_bodies(p);
    let capture = capture_args(private, args);
    let cache_fns = p.cached.then(|| cache::shims(p));
    let compensate = compensate_body(p);
    quote! {
        #[automatically_derived]
        #[doc(hidden)]
        #[allow(dead_code, unused_variables, clippy::all, clippy::pedantic)]
        impl #private::Invoke for #ident {
            type Args<'__a> = (#(#arg_tys,)*);

            #[inline]
            fn call(
                call: #rt::Call<'_>,
                #args_pat: Self::Args<'_>,
            ) -> ::core::result::Result<#output, #rt::NodeError> {
                #sync_body
            }

            fn call_async<'__a>(
                call: #rt::Call<'__a>,
                #args_pat: Self::Args<'__a>,
            ) -> impl ::core::future::Future<Output = ::core::result::Result<#output, #rt::NodeError>>
                   + ::core::marker::Send + '__a
            where
                <Self as #private::Node>::Output: ::core::marker::Send,
            {
                #async_body
            }

            fn capture(#args_pat: Self::Args<'_>) -> #private::serde_json::Value {
                #[allow(unused_imports)]
                use #private::{CaptureFallback as _, CaptureSerialize as _};
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

/// The bodies of `call` and `call_async`. An async node's `call` is never taken (the
/// executors follow `IS_ASYNC`); a synchronous node's `call_async` calls it in place,
/// with no state machine at all.
fn call_bodies(p: &Proxy) -> (TokenStream, TokenStream) {
    let (private, args) = (&p.private, &p.args);
    let unwrap = unwrap_required(p);
    let invoke = invoke(p);
    // `call` is used only to reach the context.
    let unused_call = (!p.node.takes_context()).then(|| quote!(let _ = call;));
    if p.is_async() {
        let sync = quote! {
            let _ = (call, (#(#args,)*));
            #private::sync_of_async(<Self as #private::Node>::NAME)
        };
        let asynchronous = quote! {
            async move {
                #(#unwrap)*
                #unused_call
                #invoke
            }
        };
        (sync, asynchronous)
    } else {
        // A reducer's fold reads the call's mode.
        let unused_call = unused_call.filter(|_| p.shape.kind != Kind::Reducer);
        let sync = quote! {
            #(#unwrap)*
            #unused_call
            #invoke
        };
        let asynchronous = quote!(::core::future::ready(
            <Self as #private::Invoke>::call(call, (#(#args,)*))
        ));
        (sync, asynchronous)
    }
}

/// Unwraps each required input. An absent one is an executor bug, answered with an
/// internal error, never a panic.
fn unwrap_required(p: &Proxy) -> Vec<TokenStream> {
    let private = &p.private;
    p.shape
        .inputs
        .iter()
        .zip(&p.args)
        .enumerate()
        .filter(|(_, (input, _))| !input.optional)
        .map(|(i, (_, arg))| {
            let position = i + 1;
            quote! {
                let #arg = match #arg {
                    ::core::option::Option::Some(v) => v,
                    ::core::option::Option::None => {
                        return ::core::result::Result::Err(
                            #private::missing_input(<Self as #private::Node>::NAME, #position),
                        )
                    }
                };
            }
        })
        .collect()
}

/// The call of the user's function, as a `Result<Output, NodeError>`.
fn invoke(p: &Proxy) -> TokenStream {
    if p.shape.stub {
        return quote!(::core::unreachable!("a rejected node is never called"));
    }
    let (private, ident, args) = (&p.private, p.ident(), &p.args);
    let node = p.node;
    if p.shape.kind == Kind::Reducer {
        let items = &args[0];
        // On the accumulator's type, so `Acc: Default` failing is reported there.
        let acc_span = match &node.params[0].shape {
            ParamShape::RefMut(t) => t.span(),
            _ => node.params[0].ty.span(),
        };
        let fold = match &node.options.merge {
            Some(merge) => {
                let merge = &merge.value;
                let f = respan(quote!(#private::fold_items_merge), acc_span);
                quote_spanned!(acc_span=> #f(#items, call.mode, #ident, #merge))
            }
            None => {
                let f = respan(quote!(#private::fold_items), acc_span);
                quote_spanned!(acc_span=> #f(#items, #ident))
            }
        };
        return quote!(::core::result::Result::Ok(#fold));
    }
    let ctx = node.takes_context().then(|| quote!(call.ctx,));
    let call = if p.is_async() {
        quote!(#ident(#ctx #(#args),*).await)
    } else {
        quote!(#ident(#ctx #(#args),*))
    };
    match &node.ret {
        // On the return type: an error type without `Into<NodeError>` is reported there.
        Some((_, true)) => {
            let span = match &node.func.sig.output {
                syn::ReturnType::Type(_, t) => t.span(),
                syn::ReturnType::Default => ident.span(),
            };
            quote_spanned!(span=> #call.map_err(::core::convert::Into::into))
        }
        _ => quote!(::core::result::Result::Ok(#call)),
    }
}

/// The body of `compensate`: the effect's undo, deferred into the future so that a
/// synchronous undo runs when the runtime polls it (timed, and inside the runtime's panic
/// guard); `None` for every other node.
fn compensate_body(p: &Proxy) -> TokenStream {
    let private = &p.private;
    match &p.node.options.compensate {
        Some(undo) if p.shape.kind == Kind::Effect && !p.shape.stub => {
            let undo = &undo.value;
            quote_spanned! {undo.span()=>
                #[allow(unused_imports)]
                use #private::{CompensateAsync as _, CompensateSync as _};
                ::core::option::Option::Some(::std::boxed::Box::pin(async move {
                    let undo = (&&#private::Compensation::new(#undo(call.ctx, out)))
                        .take_step_future();
                    undo.await
                }))
            }
        }
        _ => quote!(let _ = (call, out); ::core::option::Option::None),
    }
}
