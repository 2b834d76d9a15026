//! Dead work: a warning on each compute or reducer step whose output nothing reads and that
//! is not returned. Whether a node is pure is known only at type level (its `KIND`), so the
//! warning is a call to a deprecated fn that exists only for `PURE == true`, and the
//! deprecation note is the message.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use super::super::model::Model;
use super::private;

/// One `const _` block per unused step (so the helper names of different steps stay
/// apart).
pub fn warnings(m: &Model) -> TokenStream {
    let g = private();
    let blocks = m.unused.iter().map(|&u| {
        let s = &m.steps[u];
        let name = s.step.name.to_string();
        let span = s.step.name.span();
        // The name shows in the warning: "use of deprecated associated function
        // `__unused_step_dead::<true>::step_output_is_unused`".
        let ty = format_ident!("__unused_step_{}", name.trim_start_matches("r#"), span = span);
        let note = format!(
            "the output of step `{name}` is never used: nothing reads it and it is not returned, so computing it is dead work; use it, remove the step, or name it `_{name}` to keep it"
        );
        // Through `Takes`: a step that fails to type-check gets its error, not a warning too.
        let node = &s.takes;
        let call = quote_spanned!(span=> #ty::<{ <#node as #g::Node>::PURE }>::step_output_is_unused());
        quote! {
            const _: () = {
                #[allow(non_camel_case_types)]
                struct #ty<const PURE: bool>;
                impl #ty<true> {
                    #[deprecated(note = #note)]
                    fn step_output_is_unused() {}
                }
                impl #ty<false> {
                    fn step_output_is_unused() {}
                }
                #[allow(dead_code)]
                fn __warn_unused() {
                    #call;
                }
            };
        }
    });
    quote!(#(#blocks)*)
}
