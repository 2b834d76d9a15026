//! How a type or a parameter reads in a diagnostic: as the user would write it
//! (`&Vec<Order>`), not as tokens print (`& Vec < Order >`).

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::ToTokens;

/// `tokens` as source text, spaced as rustfmt would space a type.
pub fn type_text(tokens: &impl ToTokens) -> String {
    let mut out = String::new();
    write_tokens(tokens.to_token_stream(), &mut out);
    out
}

fn write_tokens(tokens: TokenStream, out: &mut String) {
    for tt in tokens {
        match tt {
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{ ", " }"),
                    Delimiter::None => ("", ""),
                };
                out.push_str(open);
                write_tokens(g.stream(), out);
                out.push_str(close);
            }
            TokenTree::Punct(p) => {
                let c = p.as_char();
                match c {
                    // `dyn A + B`, `fn() -> T`, `[T; 3]`, `a: T`, `A, B`.
                    '+' | '=' => {
                        out.push(' ');
                        out.push(c);
                        out.push(' ');
                    }
                    ',' | ';' => {
                        out.push(c);
                        out.push(' ');
                    }
                    ':' if p.spacing() == proc_macro2::Spacing::Alone && !out.ends_with(':') => {
                        out.push_str(": ");
                    }
                    '-' => out.push_str(" -"),
                    '>' if out.ends_with(" -") => out.push_str("> "),
                    _ => out.push(c),
                }
            }
            TokenTree::Ident(i) => {
                // A space between two words: `dyn Trait`, `&mut T`, `&'a T`, `impl Fn`.
                if out
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
                {
                    out.push(' ');
                }
                out.push_str(&i.to_string());
            }
            TokenTree::Literal(l) => out.push_str(&l.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn reads_like_source() {
        assert_eq!(type_text(&quote!(&Order)), "&Order");
        assert_eq!(type_text(&quote!(&mut Vec<u64>)), "&mut Vec<u64>");
        assert_eq!(type_text(&quote!(Option<&'a str>)), "Option<&'a str>");
        assert_eq!(
            type_text(&quote!(std::collections::HashMap<String, (u8, [u8; 4])>)),
            "std::collections::HashMap<String, (u8, [u8; 4])>"
        );
        assert_eq!(
            type_text(&quote!(Box<dyn Fn(u8) -> u8 + Send>)),
            "Box<dyn Fn(u8) -> u8 + Send>"
        );
        assert_eq!(type_text(&quote!(order: &Order)), "order: &Order");
        assert_eq!(type_text(&quote!(<T as Tr>::X)), "<T as Tr>::X");
    }
}
