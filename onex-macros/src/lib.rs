//! The onex procedural macros: `#[node(...)]` and `workflow!`.
//!
//! This file only forwards: the work happens on `proc_macro2` token streams in the modules,
//! which keeps it unit-testable without a compiler. Use the macros through the `onex` crate.

mod ctxt;
mod duration;
mod node;
mod options;
mod suggest;
mod workflow;

use proc_macro::TokenStream;

/// Marks a function as an ONEX node: `#[node(compute | effect | reducer, options...)]`.
///
/// The function stays callable as written; the attribute adds a hidden type of the same
/// name that `workflow!` reads. See the `onex` crate for the options and kind rules.
#[proc_macro_attribute]
pub fn node(args: TokenStream, item: TokenStream) -> TokenStream {
    guard(|| node::expand(args.into(), item.into()))
}

/// Declares a workflow: `workflow! { pub workflow Name(input: T) -> Out { .. } }`.
///
/// See the `onex` crate for the DSL.
#[proc_macro]
pub fn workflow(input: TokenStream) -> TokenStream {
    guard(|| workflow::expand(input.into()))
}

/// Runs an expansion, turning a panic (a bug in this crate) into a `compile_error!` that
/// says so, instead of rustc's opaque "proc macro panicked".
fn guard(f: impl FnOnce() -> proc_macro2::TokenStream) -> TokenStream {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(tokens) => tokens.into(),
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_string());
            let message = format!(
                "internal error in onex-macros (a bug, not your code): {detail}; \
                 please report it at https://github.com/onex-rs/onex/issues with the workflow that triggers it"
            );
            syn::Error::new(proc_macro2::Span::call_site(), message)
                .into_compile_error()
                .into()
        }
    }
}
