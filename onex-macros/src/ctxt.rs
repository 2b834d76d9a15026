//! Collects every error of one expansion so the user sees all of them at once.
//!
//! After serde_derive's `Ctxt`: passes record errors and go on; the entry point combines
//! them with [`syn::Error::combine`] into one `compile_error!` per error.

use std::cell::RefCell;
use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;

/// The errors found so far.
#[derive(Default)]
pub struct Ctxt {
    errors: RefCell<Option<syn::Error>>,
}

impl Ctxt {
    /// An empty context.
    pub fn new() -> Self {
        Ctxt::default()
    }

    /// Records an error spanned on `tokens`.
    pub fn error_spanned_by<T: ToTokens, M: Display>(&self, tokens: T, message: M) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error at `span`.
    pub fn error_at<M: Display>(&self, span: Span, message: M) {
        self.push(syn::Error::new(span, message));
    }

    /// Records a `syn` error (a parse error, for instance).
    pub fn push(&self, error: syn::Error) {
        let mut errors = self.errors.borrow_mut();
        match errors.as_mut() {
            Some(all) => all.combine(error),
            None => *errors = Some(error),
        }
    }

    /// The combined errors, if any.
    #[cfg(test)]
    pub fn check(self) -> Result<(), syn::Error> {
        match self.errors.into_inner() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// The combined errors, if any, leaving the context empty.
    pub fn take(&self) -> Option<syn::Error> {
        self.errors.borrow_mut().take()
    }
}
