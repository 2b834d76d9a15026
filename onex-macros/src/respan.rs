//! Re-spanning generated tokens onto the user's tokens.

use proc_macro2::{Group, Span, TokenStream, TokenTree};

/// `tokens` with every span set to `span`. rustc reports an unsatisfied bound at the span
/// of the type or path tokens involved, which in generated code are the macro's call site;
/// re-spanning them puts the error on the user's argument instead.
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
