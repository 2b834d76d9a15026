//! Where a run keeps its values: a struct with one typed slot per input and per step
//! (declared through the runtime's `slot_fields!`, which also gives it a table to drop its fields
//! by: drop code of its own per field would be compiled per workflow), built empty but for
//! the inputs, and the output step's slot taken at the end, checked against the declared
//! output type.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::super::model::Model;
use super::{input_value, private, produced};

/// `__Fields`, the slots struct, and `__Slots`, the runtime's wrapper of it.
pub fn fields(m: &Model) -> TokenStream {
    let g = private();
    let inputs = m.inputs.iter().map(|i| {
        let (slot, ty) = (&i.slot, i.ty);
        quote!(#slot: #g::Slot<#ty>,)
    });
    let steps = m.steps.iter().map(|s| {
        let (slot, node) = (&s.slot, &s.node);
        if s.step.map.is_some() {
            quote!(#slot: #g::MapSlot<#g::Out<#node>>,)
        } else {
            quote!(#slot: #g::Slot<#g::Out<#node>>,)
        }
    });
    quote! {
        #g::slot_fields!(__Fields {
            #(#inputs)*
            #(#steps)*
        });
        type __Slots = #g::RunSlots<__Fields>;
    }
}

/// The body of `Program::slots`: the inputs stored, every step's slot empty. Every field
/// is named, so the struct is built in place (`..Default::default()` would build a second
/// one and copy it).
pub fn init(m: &Model) -> TokenStream {
    let g = private();
    let locals: Vec<&syn::Ident> = m.inputs.iter().map(|i| &i.slot).collect();
    let input = input_value(&locals);
    let steps = m.steps.iter().map(|s| {
        let slot = &s.slot;
        if s.step.map.is_some() {
            quote!(#slot: #g::MapSlot::EMPTY,)
        } else {
            quote!(#slot: #g::Slot::EMPTY,)
        }
    });
    quote! {
        let #input = input;
        #g::RunSlots::new(__Fields {
            #(#locals: #g::Slot::filled(#locals),)*
            #(#steps)*
        })
    }
}

/// `__Return`: the output step's value as the declared output type, which holds only when
/// they are the same type, with a message naming both on the `return`.
pub fn return_check(m: &Model) -> TokenStream {
    let message = format!(
        "workflow `{}` is declared to return `{{D}}`, but its `return` step `{}` produces `{{Self}}`",
        m.wf.name, m.steps[m.output].step.name
    );
    quote! {
        #[diagnostic::on_unimplemented(message = #message, label = "this step's output is `{Self}`")]
        trait __Return<D> {
            fn ret(value: ::core::option::Option<Self>) -> ::core::option::Option<D>
            where
                Self: Sized;
        }
        #[automatically_derived]
        impl<T> __Return<T> for T {
            #[inline(always)]
            fn ret(value: ::core::option::Option<T>) -> ::core::option::Option<T> {
                value
            }
        }
    }
}

/// The body of `Program::output`: the output step's value, taken rather than moved out,
/// so the rest of the slots drop as a whole instead of field by field in code of their own.
pub fn output(m: &Model) -> TokenStream {
    let slot = &m.steps[m.output].slot;
    returned(m, quote!(slots.#slot.take()))
}

/// `value`, an `Option` of the output step's value, as an `Option` of the declared output
/// type, through the return check (spanned on the `return`).
pub fn returned(m: &Model, value: TokenStream) -> TokenStream {
    let span = m.wf.returns[0].span();
    let produced = produced(m, m.output, span);
    let out = &m.wf.output;
    quote_spanned!(span=> <#produced as __Return<#out>>::ret(#value))
}
