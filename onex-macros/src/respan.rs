//! Putting generated tokens on the user's tokens, so that rustc reports an error in
//! generated code where the user wrote the cause.

use proc_macro2::{Group, Literal, Span, TokenStream, TokenTree};

/// `ident`, spanned at `span`.
pub fn at(ident: &syn::Ident, span: Span) -> syn::Ident {
    let mut ident = ident.clone();
    ident.set_span(span);
    ident
}

/// A `usize` literal, spanned at `span`.
pub fn usize_at(n: usize, span: Span) -> Literal {
    let mut lit = Literal::usize_suffixed(n);
    lit.set_span(span);
    lit
}

/// `tokens` with every span set to `span`. rustc reports an unsatisfied bound at the span
/// of the type or path tokens involved, which in generated code are the macro's call site;
/// re-spanning them puts the error on the user's argument instead. It walks the tokens
/// through the compiler: where the tokens are built here, build them spanned instead
/// (`quote_spanned!`, [`at`]).
pub fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let TokenTree::Group(g) = &tt {
                let mut group = Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tt = TokenTree::Group(group);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn every_token_takes_the_span() {
        let span = Span::mixed_site();
        let out = respan(quote!(<Vec<(u8, u8)> as Trait>::X), span);
        fn all(ts: TokenStream, f: &mut impl FnMut(&TokenTree)) {
            for tt in ts {
                f(&tt);
                if let TokenTree::Group(g) = &tt {
                    all(g.stream(), f);
                }
            }
        }
        let mut count = 0;
        all(out, &mut |tt| {
            count += 1;
            assert!(format!("{:?}", tt.span()) == format!("{span:?}"));
        });
        assert!(count > 5);
    }
}
