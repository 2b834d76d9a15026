//! A panic in an expansion is a bug in this crate. rustc would print only "proc macro
//! panicked"; like bon, we catch it and emit a `compile_error!` that says it is our bug and
//! where to report it.

use proc_macro2::{Span, TokenStream};

/// Runs an expansion; a panic becomes a `compile_error!` naming it as an onex-macros bug.
pub fn catch(expand: impl FnOnce() -> TokenStream) -> TokenStream {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(expand)) {
        Ok(tokens) => tokens,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_string());
            let message = format!(
                "internal error in onex-macros (a bug, not your code): {detail}; \
                 please report it at https://github.com/onex-rs/onex/issues with the input that triggers it"
            );
            syn::Error::new(Span::call_site(), message).into_compile_error()
        }
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use quote::quote;

    /// The message of a lone `compile_error!`, if `tokens` are one.
    pub fn compile_error_message(tokens: TokenStream) -> Option<String> {
        let mac: syn::Macro = syn::parse2(tokens).ok()?;
        if mac.path.segments.last()?.ident != "compile_error" {
            return None;
        }
        Some(mac.parse_body::<syn::LitStr>().ok()?.value())
    }

    #[test]
    fn passes_tokens_through() {
        let f = quote!(
            fn f() {}
        );
        assert_eq!(catch(|| f.clone()).to_string(), f.to_string());
    }

    #[test]
    fn a_panic_becomes_a_compile_error_that_says_it_is_a_bug() {
        let message = compile_error_message(catch(|| panic!("index out of range")));
        assert_eq!(
            message.as_deref(),
            Some(
                "internal error in onex-macros (a bug, not your code): index out of range; \
                 please report it at https://github.com/onex-rs/onex/issues with the input that triggers it"
            )
        );
    }
}
