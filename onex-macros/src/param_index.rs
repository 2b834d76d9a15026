//! The index types of the runtime's `Param` trait: `#[node]` implements `Param<I>` per
//! parameter and `workflow!` names one per argument of every step.
//!
//! Types rather than `const usize` indices: a constant argument is a body of its own that
//! the compiler checks and evaluates at every use, a few per step of a long workflow.
//! Parameters 1 to 32 are `Arg1` to `Arg32`; past them, `Arg<H, L>` is parameter
//! `32 * h + l` for the indices `h` and `l` of `H` and `L` (a 1,000-way fan-in is
//! `Arg<Arg31, Arg8>`), so there is no limit and the common case reads plainly.

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;

/// The named index types.
const NAMED: usize = 32;

/// The index type of parameter `i` (0-based) under `private` (the runtime's `__private`
/// path), spanned at `span`.
pub fn arg_type(i: usize, private: &TokenStream, span: Span) -> TokenStream {
    let n = i + 1;
    if n <= NAMED {
        let name = syn::Ident::new(&format!("Arg{n}"), span);
        return quote_spanned!(span=> #private::#name);
    }
    let (high, low) = ((n - 1) / NAMED, (n - 1) % NAMED);
    let (high, low) = (
        arg_type(high - 1, private, span),
        arg_type(low, private, span),
    );
    quote_spanned!(span=> #private::Arg<#high, #low>)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn index(i: usize) -> String {
        arg_type(i, &quote!(p), Span::call_site())
            .to_string()
            .replace(' ', "")
    }

    #[test]
    fn the_first_parameters_have_names() {
        assert_eq!(index(0), "p::Arg1");
        assert_eq!(index(31), "p::Arg32");
    }

    #[test]
    fn later_parameters_count_in_base_32() {
        assert_eq!(index(32), "p::Arg<p::Arg1,p::Arg1>");
        assert_eq!(index(999), "p::Arg<p::Arg31,p::Arg8>");
        assert_eq!(
            index(32 * 33 + 31),
            "p::Arg<p::Arg<p::Arg1,p::Arg1>,p::Arg32>"
        );
    }

    #[test]
    fn every_index_has_its_own_type() {
        let all: std::collections::HashSet<String> = (0..5000).map(index).collect();
        assert_eq!(all.len(), 5000);
    }
}
