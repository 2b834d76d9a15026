//! `workflow!`: parse, resolve names, check the graph, generate code. Each pass records its
//! errors in one [`Ctxt`] and the later passes run on whatever resolved, so a block with
//! several mistakes reports all of them in one compile; when any error was found, the type
//! is still emitted (with stub methods) so uses of it add no errors of their own.

pub mod check;
pub mod codegen;
pub mod parse;
pub mod resolve;

use proc_macro2::TokenStream;
use quote::quote;

use crate::ctxt::Ctxt;

/// Expands a `workflow!` invocation.
pub fn expand(input: TokenStream) -> TokenStream {
    let cx = Ctxt::new();
    let Some(wf) = parse::parse(input, &cx) else {
        return cx
            .take()
            .map(syn::Error::into_compile_error)
            .unwrap_or_default();
    };
    let resolved = resolve::resolve(&wf, &cx);
    check::check(&wf, &resolved, &cx);
    match cx.take() {
        None => codegen::generate(&wf, &resolved),
        Some(errors) => {
            let stub = codegen::fallback(&wf);
            let errors = errors.into_compile_error();
            quote!(#stub #errors)
        }
    }
}
