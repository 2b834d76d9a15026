//! A `#[node(.., remote)]`'s entry in the link-time list of nodes workers can run by name
//! (`onex_runtime::__private::REMOTE_NODES`): a call taking the node's inputs as JSON,
//! decoding them into owned values, calling the node through its shim with a detached
//! call, and giving its output back as JSON.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use super::{Proxy, input_text};
use crate::type_text::type_text;

/// The entry, or nothing for a node not marked `remote` (or a stub, which never runs).
pub fn entry(p: &Proxy) -> Option<TokenStream> {
    if !p.node.remote || p.shape.stub {
        return None;
    }
    let (rt, private, ident, args) = (&p.rt, &p.private, p.ident(), &p.args);
    // Each input owned: `T` for `&T`, `Option<T>` for `Option<&T>`, `Vec<T>` for `&[T]`;
    // and how the shim borrows it.
    let (owned, borrowed): (Vec<TokenStream>, Vec<TokenStream>) = p
        .shape
        .inputs
        .iter()
        .zip(args)
        .map(|(input, arg)| {
            let (ty, slice) = match &input.inner {
                syn::Type::Slice(slice) => {
                    let item = &slice.elem;
                    (quote!(::std::vec::Vec<#item>), true)
                }
                ty => (ty.to_token_stream(), false),
            };
            match (input.optional, slice) {
                (false, false) => (ty, quote!(::core::option::Option::Some(&#arg))),
                (false, true) => (ty, quote!(::core::option::Option::Some(#arg.as_slice()))),
                (true, false) => (quote!(::core::option::Option<#ty>), quote!(#arg.as_ref())),
                (true, true) => (quote!(::core::option::Option<#ty>), quote!(#arg.as_deref())),
            }
        })
        .unzip();
    let arity = args.len();
    let input_text = input_text(&p.shape);
    let output = &p.shape.output;
    let output_text = type_text(output);
    Some(quote! {
        const _: () = {
            fn __onex_remote_call(
                ctx: #rt::Context,
                input: #private::serde_json::Value,
            ) -> #private::RemoteFuture {
                ::std::boxed::Box::pin(async move {
                    let name = <#ident as #private::Node>::NAME;
                    let (#(#args,)*): (#(#owned,)*) = #private::remote_input(name, input, #arity)?;
                    let call = #rt::Call::detached(&ctx);
                    let output =
                        <#ident as #private::Invoke>::call_async(call, (#(#borrowed,)*)).await?;
                    #private::remote_output(name, &output)
                })
            }

            #[#private::linkme::distributed_slice(#private::REMOTE_NODES)]
            #[linkme(crate = #private::linkme)]
            static REMOTE: #private::RemoteNode =
                #private::RemoteNode::of::<#ident>(#input_text, #output_text, __onex_remote_call);
        };
    })
}
