//! `#[node(kind, options...)]`: keeps the function and adds the proxy type `workflow!` reads.
//!
//! Three passes, as in thiserror: [`parse`] builds a model of the attribute and the
//! signature, [`check`] enforces the kind rules, [`expand`] emits the code. Errors of every
//! pass are collected; the function is always re-emitted untouched so that code calling it
//! (and IDEs) keep working while the attribute is wrong.

pub mod check;
pub mod expand;
pub mod parse;
pub mod shape;

use proc_macro2::TokenStream;
use quote::quote;

use crate::ctxt::Ctxt;

/// Expands `#[node(args)] item`.
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let e = syn::Error::new(e.span(), "`#[node]` goes on a function").to_compile_error();
            return quote!(#e #item);
        }
    };
    let cx = Ctxt::new();
    let node = parse::Node::from_parts(args, func, &cx);
    check::check(&node, &cx);
    let out = expand::expand(&node);
    let errors = cx.take().map(syn::Error::into_compile_error);
    quote!(#out #errors)
}
