//! `workflow!`, in passes: [`parse`] reads the block, [`resolve`] turns names into indexes
//! (after the whole block is read, so statements come in any order), [`check`] checks the
//! graph, [`model`] prepares what the emitters need, [`emit`] writes the code. Each pass
//! records its errors in one [`Ctxt`] and the later passes run on whatever resolved, so a
//! block with several mistakes reports all of them in one compile; when any error was
//! found, the type is still emitted (with stub methods) so uses of it add no errors of
//! their own.

pub mod check;
pub mod emit;
pub mod model;
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
            .check()
            .err()
            .map(syn::Error::into_compile_error)
            .unwrap_or_default();
    };
    let resolved = resolve::resolve(&wf, &cx);
    check::check(&wf, &resolved, &cx);
    match cx.check() {
        Ok(()) => emit::workflow(&model::Model::new(&wf, &resolved)),
        Err(errors) => {
            let stub = emit::api::fallback(&wf);
            let errors = errors.into_compile_error();
            quote!(#stub #errors)
        }
    }
}

#[cfg(test)]
mod tests;
