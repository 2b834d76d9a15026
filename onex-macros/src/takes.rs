//! `Takes<K>`: how many arguments a step passes, checked against what its node (or nested
//! workflow) takes, with the error in the user's words.
//!
//! A node implements `Takes<K>` for every `K` through a trait of its own that holds only
//! for its arity and whose `on_unimplemented` message says what a step must pass. A step
//! with the wrong number of arguments is then one error, on the call, naming the node's
//! parameters; the `Node` projection it leaves is an error type, which keeps the checks
//! downstream of it quiet.

use proc_macro2::TokenStream;
use quote::quote_spanned;

use crate::respan::respan;

/// `Takes<K>` for `ty` (a node proxy or a workflow), holding for `K == arity` and, when
/// given, `bound`. `takes` says what a step must pass (see [`takes_sentence`]); `note`
/// how arguments map to parameters.
pub fn takes_for(
    ty: &syn::Ident,
    takes: &str,
    note: &str,
    arity: usize,
    rt: &TokenStream,
    bound: Option<TokenStream>,
) -> TokenStream {
    // `{` and `}` are format syntax in the message.
    let message = format!("{}, got {{K}}", takes.replace('{', "{{").replace('}', "}}"));
    let rt = respan(rt.clone(), ty.span());
    // On the name: "required for `price` to implement `Takes<1>`" points at the user's item.
    quote_spanned! {ty.span()=>
        const _: () = {
            #[diagnostic::on_unimplemented(message = #message, label = "this call passes {K}", note = #note)]
            #[doc(hidden)]
            pub trait Inputs<const K: usize> {
                type Node;
            }
            #[automatically_derived]
            impl Inputs<#arity> for #ty {
                type Node = #ty;
            }
            #[automatically_derived]
            #[doc(hidden)]
            impl<const K: usize> #rt::__private::Takes<K> for #ty
            where
                #ty: Inputs<K>,
                #bound
            {
                type Node = <#ty as Inputs<K>>::Node;
            }
        };
    }
}

/// `` `name` takes 2 inputs (a: &A, b: &B) ``, for a node or a workflow.
pub fn takes_sentence(name: &str, params: &[String]) -> String {
    match params {
        [] => format!("`{name}` takes no inputs"),
        [one] => format!("`{name}` takes 1 input ({one})"),
        many => format!("`{name}` takes {} inputs ({})", many.len(), many.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences() {
        assert_eq!(takes_sentence("f", &[]), "`f` takes no inputs");
        assert_eq!(
            takes_sentence("f", &["a: &A".into()]),
            "`f` takes 1 input (a: &A)"
        );
        assert_eq!(
            takes_sentence("f", &["a: &A".into(), "b: B".into()]),
            "`f` takes 2 inputs (a: &A, b: B)"
        );
    }
}
