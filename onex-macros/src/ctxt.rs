//! Collects every error of one expansion so the user sees all of them at once.
//!
//! After serde_derive's `Ctxt`: passes record errors and go on; the expansion ends with
//! [`Ctxt::check`], which combines them with [`syn::Error::combine`] into one
//! `compile_error!` per error. A context dropped without being checked is a bug of this
//! crate (errors would be lost and the expansion would look fine), so the drop panics,
//! which the panic guard turns into a `compile_error!` asking for a bug report.

use std::cell::RefCell;
use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;

/// The errors found so far.
pub struct Ctxt {
    /// `None` once checked.
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    /// An empty context, which must be [`check`](Self::check)ed before it is dropped.
    pub fn new() -> Self {
        Ctxt {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// Records an error spanned on `tokens`.
    pub fn error_spanned_by<T: ToTokens, M: Display>(&self, tokens: T, message: M) {
        self.push(syn::Error::new_spanned(tokens.into_token_stream(), message));
    }

    /// Records an error at `span`.
    pub fn error_at<M: Display>(&self, span: Span, message: M) {
        self.push(syn::Error::new(span, message));
    }

    /// Records a `syn` error (a parse error, for instance).
    pub fn push(&self, error: syn::Error) {
        self.errors
            .borrow_mut()
            .as_mut()
            .expect("a checked context records no more errors")
            .push(error);
    }

    /// Ends the collection: the errors combined into one, if there were any.
    pub fn check(self) -> syn::Result<()> {
        let errors = self
            .errors
            .borrow_mut()
            .take()
            .expect("a context is checked once");
        let mut errors = errors.into_iter();
        let Some(mut all) = errors.next() else {
            return Ok(());
        };
        for error in errors {
            all.combine(error);
        }
        Err(all)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.borrow().is_some() {
            panic!("an error context was dropped without being checked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_come_back_together_in_order() {
        let cx = Ctxt::new();
        cx.error_at(Span::call_site(), "first");
        cx.error_spanned_by(quote::quote!(a b), "second");
        let all: Vec<String> = cx
            .check()
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(all, ["first", "second"]);
        assert!(Ctxt::new().check().is_ok());
    }

    #[test]
    #[should_panic(expected = "dropped without being checked")]
    fn an_unchecked_context_panics_when_dropped() {
        let cx = Ctxt::new();
        cx.error_at(Span::call_site(), "lost");
    }

    #[test]
    fn an_unchecked_context_in_an_expansion_is_reported_as_a_bug() {
        let out = crate::panic_guard::catch(|| {
            let _forgotten = Ctxt::new();
            proc_macro2::TokenStream::new()
        });
        let message = crate::panic_guard::tests::compile_error_message(out).unwrap();
        assert!(
            message.starts_with("internal error in onex-macros"),
            "{message}"
        );
        assert!(
            message.contains("dropped without being checked"),
            "{message}"
        );
    }
}
