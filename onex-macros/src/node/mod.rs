//! `#[node(kind, options...)]`: keeps the function and adds the proxy type `workflow!` reads.
//!
//! Passes, as in thiserror: [`parse`] builds a model of the attribute and the signature,
//! [`check`] enforces the kind rules, [`shape`] reads what a workflow sees of the node
//! (leniently, so a rejected signature still gets a stub), [`emit`] writes the code.
//! Errors of every pass are collected; the function is always re-emitted untouched, so
//! code calling it (and IDEs) keep working while the attribute is wrong.

pub mod check;
pub mod emit;
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
    let out = emit::node(&node);
    match cx.check() {
        Ok(()) => out,
        Err(errors) => {
            let errors = errors.into_compile_error();
            quote!(#out #errors)
        }
    }
}
