//! A call's inputs as a thunk's `operation_data`, for nodes and for workflows nested as
//! steps.

use proc_macro2::TokenStream;
use quote::quote;

/// The body of a `Invoke::capture` over the shim's arguments `args` (each an `Option<&T>`),
/// `private` being the runtime's `__private` path: each input picked by autoref on its
/// concrete type, `Serialize` inputs captured and others `null`. An absent input is `null`
/// without serializing the `Option` around it.
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
