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
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn passes_tokens_through() {
        assert_eq!(
            catch(|| quote!(
                fn f() {}
            ))
            .to_string(),
            quote!(
                fn f() {}
            )
            .to_string()
        );
    }

    #[test]
    fn a_panic_becomes_a_compile_error_that_says_it_is_a_bug() {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let out = catch(|| panic!("index out of range")).to_string();
        std::panic::set_hook(hook);
        assert!(out.starts_with(":: core :: compile_error !"), "{out}");
        assert!(
            out.contains(
                "internal error in onex-macros (a bug, not your code): index out of range"
            )
        );
    }
}
