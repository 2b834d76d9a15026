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
            .check()
            .err()
            .map(syn::Error::into_compile_error)
            .unwrap_or_default();
    };
    let resolved = resolve::resolve(&wf, &cx);
    check::check(&wf, &resolved, &cx);
    match cx.check() {
        Ok(()) => codegen::generate(&wf, &resolved),
        Err(errors) => {
            let stub = codegen::fallback(&wf);
            let errors = errors.into_compile_error();
            quote!(#stub #errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emits_order_and_waves_as_constants() {
        let out = expand(quote! {
            workflow Diamond(x: u64) -> u64 {
                d = add(b, c);
                c = double(a);
                b = double(a);
                a = double(x);
                return d;
            }
        })
        .to_string();
        // Steps by index: d=0, c=1, b=2, a=3. Waves: [a], [c, b], [d].
        assert!(out.contains("order_by_priority ([3usize , 1usize , 2usize , 0usize] , & [0usize , 1usize , 3usize]"), "{out}");
        assert!(
            out.contains("& [2usize , 1usize , 1usize , 0usize] ,"),
            "wave_of: {out}"
        );
        assert!(!out.contains("compile_error"));
    }

    #[test]
    fn errors_come_with_a_stub_type() {
        let out = expand(quote! {
            pub workflow Broken(x: u64) -> u64 {
                a = f(a);
                return a;
            }
        })
        .to_string();
        assert!(out.contains("pub struct Broken"));
        assert!(out.contains("pub fn graph ()"));
        assert!(
            out.contains("compile_error ! { \"cycle in workflow `Broken`: a -> a\" }"),
            "{out}"
        );
    }

    #[test]
    fn an_unreadable_header_gives_only_the_error() {
        let out = expand(quote!(
            pub struct NotAWorkflow;
        ))
        .to_string();
        assert!(out.starts_with(":: core :: compile_error !"), "{out}");
    }
}
