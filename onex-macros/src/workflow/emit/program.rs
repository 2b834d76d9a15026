//! `impl Program`: what the executors call. Each operation on a step is one visit of the
//! dispatch with one of the runtime's visitors; the synchronous call, the hot path, has a
//! visitor of its own so that its arms hold the call and nothing else. Methods where every
//! step takes the trait's default (`condition`, `width`, `finish`, `run_straight`) are left
//! to it.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::super::model::Model;
use super::{input_type, private, slots};

/// `impl Program for <workflow>`, with `durable`'s methods (see [`super::durable`]) for a
/// `#[durable]` workflow.
pub fn program(m: &Model, durable: Option<&TokenStream>) -> TokenStream {
    let g = private();
    let (name, out) = (&m.wf.name, &m.wf.output);
    let input = input_type(m);
    let init = slots::init(m);
    let output = slots::output(m);
    let condition = condition(m);
    let map = map_steps(m);
    let straight = m.is_straight().then(|| {
        quote! {
            fn run_straight(
                &self,
                s: &__Slots,
                call: __rt::Call<'_>,
                at: &mut usize,
            ) -> ::core::option::Option<::core::result::Result<(), __rt::NodeError>> {
                ::core::option::Option::Some(#g::straight_line(self, s, call, at))
            }

            // An optimized build only: the line costs a statement per step to compile
            // (a third more rustc work for a 200-step chain), which the edit loop's debug
            // build, slow anyway, is spared; it runs `lean_by_slots` instead.
            #[cfg(not(debug_assertions))]
            #[inline]
            fn run_lean(
                &self,
                input: #input,
                call: __rt::Call<'_>,
                at: &mut usize,
            ) -> ::core::result::Result<#out, __rt::NodeError> {
                __Dispatch::lean(self, input, call, at)
            }
        }
    });
    quote! {
        #[automatically_derived]
        #[allow(clippy::match_single_binding, unused_variables)]
        impl __rt::Program for #name {
            type Input = #input;
            type Output = #out;
            type Slots = __Slots;

            fn graph(&self) -> &__rt::Graph {
                __GRAPH.graph()
            }

            fn slots(&self, input: Self::Input) -> __Slots {
                #init
            }

            fn output(&self, mut slots: __Slots) -> ::core::option::Option<#out> {
                #output
            }

            #condition
            #map
            #straight
            #durable

            fn call_sync(&self, s: &__Slots, call: __rt::Call<'_>) -> ::core::result::Result<(), __rt::NodeError> {
                __Dispatch::visit(s, call.step, call.item, #g::CallOp(call))
            }

            fn call_async<'a>(&'a self, s: &'a __Slots, call: __rt::Call<'a>) -> __rt::StepFuture<'a> {
                __Dispatch::visit(s, call.step, call.item, #g::AnyOp::CallAsync(call)).future()
            }

            fn compensate<'a>(&'a self, s: &'a __Slots, call: __rt::Call<'a>) -> ::core::option::Option<__rt::StepFuture<'a>> {
                __Dispatch::visit(s, call.step, call.item, #g::AnyOp::Inspect(#g::Inspect::Compensate(call))).compensation()
            }

            fn input_hash(&self, s: &__Slots, call: __rt::Call<'_>, hasher: __rt::KeyHasher<'_>) -> ::core::option::Option<u64> {
                __Dispatch::visit(s, call.step, call.item, #g::AnyOp::Inspect(#g::Inspect::InputHash(hasher))).hash()
            }

            fn cache_store(&self, s: &__Slots, call: __rt::Call<'_>) -> ::core::option::Option<__rt::CacheEntry> {
                __Dispatch::visit(s, call.step, call.item, #g::AnyOp::Inspect(#g::Inspect::CacheStore(call.item))).stored()
            }

            fn cache_load(&self, s: &__Slots, call: __rt::Call<'_>, entry: &__rt::CacheEntry) -> bool {
                __Dispatch::visit(s, call.step, call.item, #g::AnyOp::Inspect(#g::Inspect::CacheLoad(entry, call.item))).loaded()
            }

            fn operation_data(&self, s: &__Slots, call: __rt::Call<'_>) -> #g::serde_json::Value {
                __Dispatch::visit(s, call.step, call.item, #g::AnyOp::Inspect(#g::Inspect::OperationData)).data()
            }
        }
    }
}

/// `condition`: each `when` step's closure body, its parameters bound to the outputs of
/// the steps they name.
fn condition(m: &Model) -> Option<TokenStream> {
    let arms: Vec<TokenStream> = m
        .steps
        .iter()
        .enumerate()
        .filter_map(|(k, s)| {
            let when = s.step.options.when.as_ref()?;
            let binds = s.when.iter().map(|(param, d)| {
                let (slot, name) = (&m.steps[*d].slot, m.steps[*d].step.name.to_string());
                quote!(let #param = __slots.#slot.need(#name)?;)
            });
            let body = &when.value.body;
            // Typed, so a condition that is not a `bool` is one error on the user's expression.
            let typed = quote_spanned!(body.span()=> let __when: bool = #body;);
            Some(quote! {
                #k => {
                    #(#binds)*
                    #typed
                    ::core::result::Result::Ok(__when)
                }
            })
        })
        .collect();
    (!arms.is_empty()).then(|| {
        quote! {
            fn condition(&self, __slots: &__Slots, __step: usize) -> ::core::result::Result<bool, __rt::NodeError> {
                match __step {
                    #(#arms)*
                    _ => ::core::result::Result::Ok(true),
                }
            }
        }
    })
}

/// `width` and `finish` of the `map` steps: one call per element of the list, then the
/// items collected into the step's `Vec`.
fn map_steps(m: &Model) -> Option<TokenStream> {
    let finish: Vec<TokenStream> = m
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.step.map.is_some() && !s.args.is_empty())
        .map(|(k, s)| {
            let (slot, name) = (&s.slot, s.step.name.to_string());
            quote!(#k => s.#slot.finish(#name),)
        })
        .collect();
    (!finish.is_empty()).then(|| {
        quote! {
            fn width(&self, s: &__Slots, step: usize) -> ::core::result::Result<usize, __rt::NodeError> {
                __Dispatch::width(s, step)
            }

            fn finish(&self, s: &__Slots, step: usize) -> ::core::result::Result<(), __rt::NodeError> {
                match step {
                    #(#finish)*
                    _ => ::core::result::Result::Ok(()),
                }
            }
        }
    })
}
