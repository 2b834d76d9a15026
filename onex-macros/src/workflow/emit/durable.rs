//! What `#[durable]` adds to a workflow: its input and every step's output to and from
//! JSON for the journal (`Program::{serialize_input, load_input, serialize_output,
//! load_output}`), and the check that each of those types can be journaled.
//!
//! The check is one obligation per input and per step, `<T as __Journaled<step>>::OK`,
//! spanned on the input's or step's name: the trait is declared here, per workflow, so its
//! message names the workflow, and its parameter is the dispatch block's generic parameter
//! named after the step, which rustc prints by its name alone. The serde calls themselves go
//! through the runtime's `Journaled` autoref fallback, so a type without serde is that one
//! error, not one more per call.
//!
//! Several inputs are journaled as a JSON array, in order: what serde makes of their tuple.
//!
//! And, per step, the delivery check: an effect (or a nested workflow holding one) that
//! says nothing of being called twice fails a constant on the step (see `delivery_check`).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::super::model::{Model, StepModel};
use super::private;
use crate::respan::at;

/// The checks, the journal's functions on the dispatch block, and the `Program` methods
/// calling them.
pub struct Durable {
    /// `__Journaled`, the delivery checks and the `impl __Steps` block holding the type
    /// checks and conversions.
    pub items: TokenStream,
    /// The four `Program` methods.
    pub methods: TokenStream,
}

/// What `#[durable]` adds, or `None` for a workflow without it.
pub fn durable(m: &Model) -> Option<Durable> {
    m.wf.durable.as_ref()?;
    Some(Durable {
        items: items(m),
        methods: methods(m),
    })
}

fn items(m: &Model) -> TokenStream {
    let g = private();
    let name = &m.wf.name;
    let message = format!(
        "durable workflow `{name}` journals `{{S}}`, so its type `{{Self}}` must be `Serialize` and `DeserializeOwned`"
    );
    let note = format!(
        "derive `serde::Serialize` and `serde::Deserialize` for `{{Self}}` (or wrap it in a type that does), or drop `#[durable]` from `{name}`"
    );
    let params = super::dispatch::producers(m);
    let input_checks = m.inputs.iter().map(|i| {
        let sp = i.name.span();
        let (alias, param) = (at(&i.alias, sp), at(i.name, sp));
        quote_spanned!(sp=> let () = <#alias as __Journaled<#param>>::OK;)
    });
    let step_checks = m.steps.iter().map(|s| {
        let sp = s.step.name.span();
        let (g, node, param) = (at(&g, sp), at(&s.node, sp), &s.step.name);
        quote_spanned!(sp=> let () = <#g::Out<#node> as __Journaled<#param>>::OK;)
    });
    let deliveries = m.steps.iter().map(|s| delivery_check(m, s));
    let saves = m.steps.iter().enumerate().map(|(k, s)| {
        let save = save_step(s);
        quote!(#k => #save,)
    });
    let loads = m.steps.iter().enumerate().map(|(k, s)| {
        let load = load_step(s);
        quote!(#k => #load,)
    });
    quote! {
        #[allow(unused_imports)]
        use #g::{JournaledFallback as _, JournaledSerde as _};

        #[diagnostic::on_unimplemented(
            message = #message,
            label = "`{Self}` is not `Serialize + DeserializeOwned`",
            note = #note
        )]
        trait __Journaled<S> {
            const OK: () = ();
        }
        #[diagnostic::do_not_recommend]
        impl<T: #g::serde::Serialize + #g::serde::de::DeserializeOwned, S> __Journaled<S> for T {}

        #(#deliveries)*

        #[allow(non_camel_case_types, unused_variables)]
        impl<#(#params),*> __Steps<(#(#params,)*)> {
            /// Every journaled type, checked once where the user wrote it.
            #[allow(dead_code)]
            fn journaled() {
                #(#input_checks)*
                #(#step_checks)*
            }

            fn save_output(
                s: &__Fields,
                step: ::core::primitive::usize,
                item: ::core::primitive::usize,
            ) -> ::core::option::Option<::core::result::Result<#g::serde_json::Value, __rt::NodeError>> {
                match step {
                    #(#saves)*
                    _ => ::core::option::Option::None,
                }
            }

            fn load_output(
                s: &__Fields,
                step: ::core::primitive::usize,
                item: ::core::primitive::usize,
                value: #g::serde_json::Value,
            ) -> ::core::result::Result<(), __rt::NodeError> {
                match step {
                    #(#loads)*
                    _ => ::core::result::Result::Err(#g::internal_error("a journaled output names no step of its workflow")),
                }
            }
        }
    }
}

/// A constant that fails to evaluate, with a message naming the step, when step `s` calls
/// an effect that says nothing of being called twice (neither `idempotent`, `at_most_once`
/// nor compensated) or nests a workflow with such an effect: after a crash between its
/// intent and its outcome, the journal could not tell what to do with it.
///
/// A constant rather than a trait bound: the node's kind and promise are constants of its
/// `Node` impl, and a `panic!` in a constant is reported once, on the step, with a message
/// that can say the three ways out.
fn delivery_check(m: &Model, s: &StepModel) -> TokenStream {
    let g = private();
    let sp = s.step.name.span();
    let node = at(&s.node, sp);
    let (workflow, step) = (&m.wf.name, &s.step.name);
    let path = quote::ToTokens::to_token_stream(&s.step.node)
        .to_string()
        .replace(' ', "");
    let effect = format!(
        "step `{step}` of durable workflow `{workflow}` calls effect `{path}`, which a crash \
         between its call and its journaled outcome leaves in doubt, and `{path}` does not say \
         whether it may run again: declare it `#[node(effect, idempotent)]` (run again with \
         the same `ctx.idempotency_key()`), `#[node(effect, at_most_once)]` (never run again: \
         the run stops in doubt for an operator), or give it `compensate = undo`"
    );
    let nested = format!(
        "step `{step}` of durable workflow `{workflow}` nests workflow `{path}`, which the \
         journal records as one call, made again whole after a crash in its middle; an \
         effect in `{path}` does not say whether it may run again: declare each effect in \
         `{path}` `idempotent` (then `{path}` runs again safely), `at_most_once` or \
         compensated (then the run stops in doubt)"
    );
    quote_spanned! {sp=>
        const _: () = {
            let info = #g::NodeStep::<#node>::INFO;
            if matches!(info.delivery, __rt::Delivery::Unspecified) && !info.compensated {
                match info.kind {
                    __rt::NodeKind::Effect => ::core::panic!(#effect),
                    __rt::NodeKind::Orchestrator => ::core::panic!(#nested),
                    _ => {}
                }
            }
        };
    }
}

/// The stored output of a call of step `s` as JSON: the step's value, or item `item` of a
/// `map` step (journaled as each call ends, before the step collects them).
fn save_step(s: &StepModel) -> TokenStream {
    let g = private();
    let (slot, node, name) = (&s.slot, &s.node, s.step.name.to_string());
    let save = quote!(|v| (&&#g::Journaled::<#g::Out<#node>>::NEW).save(v, #name));
    if s.step.map.is_some() {
        quote!(s.#slot.with_item(item, #save))
    } else {
        quote!(s.#slot.get().map(#save))
    }
}

/// A journaled output of a call of step `s` stored as the call's output.
fn load_step(s: &StepModel) -> TokenStream {
    let g = private();
    let (slot, node, name) = (&s.slot, &s.node, s.step.name.to_string());
    quote! {{
        let v = (&&#g::Journaled::<#g::Out<#node>>::NEW).load(value, #name)?;
        #g::Store::store(&s.#slot, item, v);
        ::core::result::Result::Ok(())
    }}
}

/// `serialize_input`, `load_input`, `serialize_output` and `load_output`.
fn methods(m: &Model) -> TokenStream {
    let g = private();
    let (save_input, load_input) = input_bodies(m);
    quote! {
        fn serialize_input(&self, input: &Self::Input) -> ::core::option::Option<::core::result::Result<#g::serde_json::Value, __rt::NodeError>> {
            ::core::option::Option::Some(#save_input)
        }

        fn load_input(&self, value: #g::serde_json::Value) -> ::core::result::Result<Self::Input, __rt::NodeError> {
            #load_input
        }

        fn serialize_output(&self, s: &__Slots, call: __rt::Call<'_>) -> ::core::option::Option<::core::result::Result<#g::serde_json::Value, __rt::NodeError>> {
            __Dispatch::save_output(s, call.step, call.item)
        }

        fn load_output(&self, s: &__Slots, call: __rt::Call<'_>, value: #g::serde_json::Value) -> ::core::result::Result<(), __rt::NodeError> {
            __Dispatch::load_output(s, call.step, call.item, value)
        }
    }
}

/// The bodies of `serialize_input` and `load_input`: the one input as itself, several as
/// an array.
fn input_bodies(m: &Model) -> (TokenStream, TokenStream) {
    let g = private();
    let codec = |alias: &syn::Ident| quote!((&&#g::Journaled::<#alias>::NEW));
    if let [one] = m.inputs.as_slice() {
        let (c, name) = (codec(&one.alias), one.name.to_string());
        return (quote!(#c.save(input, #name)), quote!(#c.load(value, #name)));
    }
    let count = m.inputs.len();
    let workflow = m.wf.name.to_string();
    let fields: Vec<syn::Index> = (0..count).map(syn::Index::from).collect();
    let locals: Vec<&syn::Ident> = m.inputs.iter().map(|i| &i.slot).collect();
    let saves = m.inputs.iter().zip(&fields).map(|(i, f)| {
        let (c, name) = (codec(&i.alias), i.name.to_string());
        quote!(#c.save(&input.#f, #name))
    });
    let loads = m.inputs.iter().zip(&locals).map(|(i, local)| {
        let (c, name) = (codec(&i.alias), i.name.to_string());
        quote!(#c.load(#local, #name)?)
    });
    let save = quote! {
        [#(#saves),*]
            .into_iter()
            .collect::<::core::result::Result<::std::vec::Vec<_>, __rt::NodeError>>()
            .map(#g::serde_json::Value::Array)
    };
    let load = quote! {
        let [#(#locals),*] = #g::journaled_inputs::<#count>(value, #workflow)?;
        ::core::result::Result::Ok((#(#loads,)*))
    };
    (save, load)
}
