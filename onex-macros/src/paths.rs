//! The paths generated code names the runtime by.

use proc_macro2::TokenStream;
use quote::quote;

/// The runtime crate as generated code names it: `::onex::__private::onex_runtime`, or
/// `path::__private::onex_runtime` under `crate = path` (a crate re-exporting onex).
pub fn runtime_path(krate: Option<&syn::Path>) -> TokenStream {
    match krate {
        Some(p) => quote!(#p::__private::onex_runtime),
        None => quote!(::onex::__private::onex_runtime),
    }
}
