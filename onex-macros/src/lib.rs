//! The onex procedural macros: `#[node(...)]` and `workflow!`.

use proc_macro::TokenStream;

/// Marks a function as an ONEX node.
#[proc_macro_attribute]
pub fn node(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// Declares a workflow.
#[proc_macro]
pub fn workflow(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
