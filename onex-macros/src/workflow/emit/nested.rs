//! The workflow as a step of another: it implements the traits `#[node]` implements for a
//! node's proxy, as an orchestrator node that runs asynchronously. A nested run clones its
//! inputs from the step's arguments; that they are `Clone` is part of `Takes`, so it is
//! checked on the step that nests the workflow (the bound spanned on the input's
//! declaration).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use super::super::model::Model;
use super::{input_value, private};
use crate::capture::capture_args;
use crate::param_index::arg_type;
use crate::takes::{takes_for, takes_sentence};
use crate::type_text::type_text;

/// `Node`, `Param<ArgN>`, `Takes<K>` and `Invoke` for the workflow type.
pub fn impls(m: &Model) -> TokenStream {
    let g = private();
    let (name, out) = (&m.wf.name, &m.wf.output);
    let name_str = name.to_string();
    let arity = m.inputs.len();
    let params = m.inputs.iter().enumerate().map(|(i, input)| {
        let (index, ty) = (arg_type(i, &quote!(#g), Span::call_site()), input.ty);
        quote! {
            #[automatically_derived]
            #[doc(hidden)]
            impl #g::Param<#index> for #name {
                type Type = #ty;
                const OPTIONAL: bool = false;
            }
        }
    });
    let takes = takes(m);
    let shim = shim(m);
    quote! {
        #[automatically_derived]
        #[doc(hidden)]
        impl #g::Node for #name {
            type Output = #out;
            const NAME: &'static str = #name_str;
            const KIND: __rt::NodeKind = __rt::NodeKind::Orchestrator;
            const IS_ASYNC: bool = true;
            const POLICY: __rt::StepPolicy = __rt::StepPolicy::DEFAULT;
            const COMPENSATED: bool = false;
            // Computed for every workflow: a durable one may nest any other.
            const DELIVERY: __rt::Delivery = #g::nested_delivery(&__NODES);
            const ARITY: usize = #arity;
        }
        #(#params)*
        #takes
        #shim
    }
}

/// `Takes<K>` for the workflow's input count, with each input `Clone` (`NestedInput`).
fn takes(m: &Model) -> TokenStream {
    let (rt, name) = (&m.rt, &m.wf.name);
    let params: Vec<String> = m
        .inputs
        .iter()
        .map(|i| format!("{}: {}", i.name, type_text(i.ty)))
        .collect();
    let bound = m.inputs.iter().map(|i| {
        let ty = i.ty;
        quote_spanned!(ty.span()=> for<'__x> #ty: #rt::__private::NestedInput<#name>,)
    });
    takes_for(
        name,
        &takes_sentence(&name.to_string(), &params),
        "a step passes one argument per input of the workflow, in order",
        m.inputs.len(),
        rt,
        Some(quote!(#(#bound)*)),
    )
}

/// `Invoke`: `call_async` clones the inputs out of the step's arguments and runs the
/// workflow inside the enclosing run, returning the runtime's future as it is (an `async`
/// block would be a state machine of its own per workflow); `call` is never taken.
fn shim(m: &Model) -> TokenStream {
    let g = private();
    let (name, out) = (&m.wf.name, &m.wf.output);
    let name_str = name.to_string();
    let tys = m.inputs.iter().map(|i| i.ty);
    let args: Vec<syn::Ident> = m
        .inputs
        .iter()
        .map(|i| format_ident!("__arg_{}", i.name.unraw().to_string()))
        .collect();
    let locals: Vec<&syn::Ident> = m.inputs.iter().map(|i| &i.slot).collect();
    let taken = args.iter().enumerate().map(|(i, arg)| {
        let position = i + 1;
        quote!((&&#g::NestedArg(#arg, #name_str, #position)).take_input())
    });
    // The first input that cannot be taken fails the nested step.
    let input = match locals.as_slice() {
        [] => quote!(::core::result::Result::Ok(())),
        [_] => quote!(#(#taken)*),
        many => {
            let value = input_value(many);
            let failed = (0..many.len()).map(|i| {
                let at = (0..many.len()).map(|j| {
                    if i == j {
                        quote!(::core::result::Result::Err(e))
                    } else {
                        quote!(_)
                    }
                });
                quote!((#(#at,)*))
            });
            quote! {
                match (#(#taken,)*) {
                    (#(::core::result::Result::Ok(#many),)*) => ::core::result::Result::Ok(#value),
                    #(#failed)|* => ::core::result::Result::Err(e),
                }
            }
        }
    };
    let capture = capture_args(&quote!(#g), &args);
    quote! {
        #[automatically_derived]
        #[doc(hidden)]
        #[allow(unused_variables)]
        impl #g::Invoke for #name {
            type Args<'__a> = (#(::core::option::Option<&'__a #tys>,)*);

            fn call(
                call: __rt::Call<'_>,
                args: Self::Args<'_>,
            ) -> ::core::result::Result<#out, __rt::NodeError> {
                #g::sync_of_async(#name_str)
            }

            #[allow(refining_impl_trait)]
            fn call_async<'__a>(
                call: __rt::Call<'__a>,
                (#(#args,)*): Self::Args<'__a>,
            ) -> #g::NestedFuture<'__a, #out>
            where
                <Self as #g::Node>::Output: ::core::marker::Send,
            {
                #[allow(unused_imports)]
                use #g::{NestedArgClone as _, NestedArgNotClone as _};
                let input = #input;
                #g::run_nested(call.ctx, ::std::sync::Arc::new(#name), input)
            }

            fn capture((#(#args,)*): Self::Args<'_>) -> #g::serde_json::Value {
                #capture
            }

            fn compensate<'__a>(
                _: __rt::Call<'__a>,
                _: &'__a #out,
            ) -> ::core::option::Option<__rt::StepFuture<'__a>> {
                ::core::option::Option::None
            }
        }
    }
}
