//! The dispatch: one `match` from a step index to the step's node, its slot and its
//! arguments, applied to a visitor (the runtime's `StepOp`: a call, a hash, a capture...),
//! and the width of each `map` step.
//!
//! Each argument names one of the runtime's edge traits (`FromStep`, `FromInput`,
//! `MapStep`, `MapInput`) with the producer's name, the node and the parameter, which the
//! trait's `on_unimplemented` message spells out; its only item is a constant fn pointer to
//! a conversion shared by all edges of the same types, so the check and the conversion are
//! one obligation, spanned on the user's argument. The producer's name is a generic
//! parameter, named after the input or step, of the `impl` block holding the dispatch:
//! rustc prints a generic parameter by its name alone (a type of that name would be
//! printed with a path). The block is instantiated once, with `()` for each.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;

use super::super::model::{Model, StepModel};
use super::super::resolve::Source;
use super::{input_value, private, produced, slots};
use crate::param_index::arg_type;
use crate::respan::{at, usize_at};

/// `__Steps`, its `visit` and `width`, and `__Dispatch`, its one instance.
pub fn edges(m: &Model) -> TokenStream {
    let g = private();
    let arms = m.steps.iter().enumerate().map(|(k, s)| {
        let call = visit_call(m, s);
        quote!(#k => #call,)
    });
    let width = width_fn(m);
    let lean = lean(m);
    let params = producers(m);
    let units = params.iter().map(|_| quote!(()));
    quote! {
        #[allow(dead_code)]
        struct __Steps<T>(T);

        #[allow(non_camel_case_types, unused_variables)]
        impl<#(#params),*> __Steps<(#(#params,)*)> {
            /// Applies `v` to step `step`: its node, its slot and its arguments.
            #[inline]
            fn visit<'s, __V: #g::StepOp<'s>>(
                s: &'s __Fields,
                step: ::core::primitive::usize,
                item: ::core::primitive::usize,
                v: __V,
            ) -> __V::Out {
                match step {
                    #(#arms)*
                    _ => v.missing(),
                }
            }

            #width
            #lean
        }

        type __Dispatch = __Steps<(#(#units,)*)>;
    }
}

/// The generic parameters of the dispatch's `impl` blocks: one per input and per step,
/// named after it, so a message naming a producer prints its name alone.
pub fn producers<'m>(m: &'m Model) -> Vec<&'m syn::Ident> {
    m.inputs
        .iter()
        .map(|i| i.name)
        .chain(m.steps.iter().map(|s| &s.step.name))
        .collect()
}

/// `v.step::<Node, _>(&s.slot, (args..))` for one step, spanned on the step's node path: a
/// step passing more or fewer arguments than its node takes gets its tuple mismatch there
/// (after the `Param` error on an extra argument).
fn visit_call(m: &Model, s: &StepModel) -> TokenStream {
    let span = s.step.node.span();
    let (node, slot) = (&s.takes, at(&s.slot, span));
    let args = (0..s.args.len()).map(|a| argument(m, s, a));
    quote_spanned!(span=> v.step::<#node, _>(&s.#slot, (#(#args,)*)))
}

/// Argument `a` of step `s`: the producer's slot fed through its edge, every token spanned
/// on the user's argument, so an unsatisfied bound anywhere in it is reported there. The
/// list of a `map` step feeds one element per call: the one at `item`.
fn argument(m: &Model, s: &StepModel, a: usize) -> TokenStream {
    argument_from(m, s, a, Value::Slot)
}

/// Where an argument's producer keeps its value.
#[derive(Clone, Copy)]
enum Value {
    /// In its slot of the run's slots `s`.
    Slot,
    /// In a local named after its slot (the lean line, [`lean`]).
    Local,
}

/// [`argument`] with the producer's value read from `value`. The edge check is the same
/// tokens on the same spans either way, so a mismatch is still one error.
fn argument_from(m: &Model, s: &StepModel, a: usize, value: Value) -> TokenStream {
    let g = private();
    let sp = s.step.args[a].span();
    let edge = Edge::new(m, s, a);
    let (producer, from, slot) = (&edge.producer, at(edge.from, sp), at(edge.slot, sp));
    let node = at(&s.node, sp);
    let param = param_type(s, a);
    let trait_ = syn::Ident::new(edge.trait_, sp);
    let got = match value {
        Value::Slot => quote_spanned!(sp=> s.#slot.get()),
        Value::Local => quote_spanned!(sp=> ::core::option::Option::Some(&#slot)),
    };
    if edge.map_list {
        quote_spanned!(sp=> (<#producer as #g::#trait_<#param, #from, #node>>::FEED)(#got, item))
    } else {
        let position = usize_at(a + 1, sp);
        quote_spanned!(sp=> (<#producer as #g::#trait_<#param, #from, #node, #position>>::FEED)(#got))
    }
}

/// `<Node as Param<ArgN>>::Type`, spanned on argument `a`.
fn param_type(s: &StepModel, a: usize) -> TokenStream {
    let g = private();
    let sp = s.step.args[a].span();
    let (node, index) = (&s.takes, arg_type(a, &g.to_token_stream(), sp));
    quote_spanned!(sp=> <#node as #g::Param<#index>>::Type)
}

/// Where argument `a` of a step comes from, as its edge check names it.
struct Edge<'m> {
    /// The type checked: the producer's output, or for the list of a `map` step the list
    /// itself (its impl hands out one element).
    producer: TokenStream,
    /// The producer's name (a generic parameter of the dispatch's block).
    from: &'m syn::Ident,
    /// The producer's slot.
    slot: &'m syn::Ident,
    /// `FromStep`, `FromInput`, `MapStep` or `MapInput`.
    trait_: &'static str,
    /// Whether this is the list of a `map` step.
    map_list: bool,
}

impl<'m> Edge<'m> {
    fn new(m: &'m Model, s: &StepModel, a: usize) -> Self {
        let sp = s.step.args[a].span();
        let map_list = a == 0 && s.step.map.is_some();
        match s.args[a] {
            Source::Step(j) => Edge {
                producer: produced(m, j, sp),
                from: &m.steps[j].step.name,
                slot: &m.steps[j].slot,
                trait_: if map_list { "MapStep" } else { "FromStep" },
                map_list,
            },
            Source::Input(i) => Edge {
                producer: at(&m.inputs[i].alias, sp).into_token_stream(),
                from: m.inputs[i].name,
                slot: &m.inputs[i].slot,
                trait_: if map_list { "MapInput" } else { "FromInput" },
                map_list,
            },
        }
    }
}

/// `width`: the number of calls of each `map` step, the length of its list (read through
/// the same edge as its argument, with the same tokens, so a mismatch is one error).
fn width_fn(m: &Model) -> Option<TokenStream> {
    let g = private();
    let arms: Vec<TokenStream> = m
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.step.map.is_some() && !s.args.is_empty())
        .map(|(k, s)| {
            let sp = s.step.args[0].span();
            let edge = Edge::new(m, s, 0);
            let (producer, from, list) = (&edge.producer, at(edge.from, sp), edge.slot);
            let (trait_, node_sp) = (syn::Ident::new(edge.trait_, sp), at(&s.node, sp));
            let param = param_type(s, 0);
            let len =
                quote_spanned!(sp=> <#producer as #g::#trait_<#param, #from, #node_sp>>::WIDTH);
            let (node, slot) = (&s.node, &s.slot);
            quote! {
                #k => #g::map_width(s.#list.get().map(#len), &s.#slot, <#node as #g::Node>::NAME),
            }
        })
        .collect();
    (!arms.is_empty()).then(|| {
        quote! {
            fn width(
                s: &__Fields,
                step: ::core::primitive::usize,
            ) -> ::core::result::Result<::core::primitive::usize, __rt::NodeError> {
                match step {
                    #(#arms)*
                    _ => ::core::result::Result::Ok(1),
                }
            }
        }
    })
}

/// `lean`, the body of `Program::run_lean` for a graph of plain steps: each step's node
/// called in topological order, its output kept in a local named after its slot, the
/// output step's local returned. No slots, no dispatch: the calls are direct. It lives
/// in the dispatch's `impl` block so that its edge checks print producers as the
/// dispatch's do (and an error in them is the dispatch's one error). When priorities
/// reorder a wave, the graph's order is not this one and the slots' line runs instead
/// (decided in const evaluation). Emitted for an optimized build only (see
/// `program::program`).
fn lean(m: &Model) -> Option<TokenStream> {
    if !m.is_straight() {
        return None;
    }
    let g = private();
    let (name, out) = (&m.wf.name, &m.wf.output);
    let locals: Vec<&syn::Ident> = m.inputs.iter().map(|i| &i.slot).collect();
    let input = input_value(&locals);
    let order = m.levels.order();
    let calls = order.iter().enumerate().map(|(position, &k)| {
        let s = &m.steps[k];
        let span = s.step.node.span();
        let (node, local) = (&s.takes, &s.slot);
        let args = (0..s.args.len()).map(|a| argument_from(m, s, a, Value::Local));
        let call = quote_spanned!(span=> <#node as #g::Invoke>::call(call, (#(#args,)*)));
        quote! {
            *at = #position;
            call.step = #k;
            // A `match`, not `?`: see `CallOp::step`.
            let #local = match #call {
                ::core::result::Result::Ok(v) => v,
                ::core::result::Result::Err(e) => return ::core::result::Result::Err(e),
            };
        }
    });
    let output = slots::returned(m, quote!(::core::option::Option::Some(__out)));
    let local = &m.steps[m.output].slot;
    Some(quote! {
        /// `Program::run_lean`: every step called in order, outputs kept in locals.
        #[cfg(not(debug_assertions))]
        #[inline]
        fn lean(
            program: &#name,
            input: <#name as __rt::Program>::Input,
            mut call: __rt::Call<'_>,
            at: &mut ::core::primitive::usize,
        ) -> ::core::result::Result<#out, __rt::NodeError> {
            const IN_ORDER: bool = #g::same_order(&__ORDER, &[#(#order),*]);
            if !IN_ORDER {
                return #g::lean_by_slots(program, input, call, at);
            }
            let #input = input;
            #(#calls)*
            let __out = #local;
            match #output {
                ::core::option::Option::Some(out) => ::core::result::Result::Ok(out),
                ::core::option::Option::None => ::core::result::Result::Err(
                    __rt::NodeError::internal("the output step stored no output"),
                ),
            }
        }
    })
}
