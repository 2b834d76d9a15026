//! The ONEX kind rules, each reported on the token that breaks it.

use syn::spanned::Spanned;

use super::parse::{Kind, Node, ParamShape};
use super::shape::referent;
use crate::ctxt::Ctxt;
use crate::type_text::type_text;

const REDUCER_SHAPE: &str = "a reducer folds each item into an accumulator: \
    `fn f(acc: &mut Acc, item: &Item)`, returning `()`, with `Acc: Default`";

/// Checks the kind rules and the signature; every violation is recorded in `cx`.
pub fn check(node: &Node, cx: &Ctxt) {
    let sig = &node.func.sig;
    if let Some(r) = sig.receiver() {
        cx.error_spanned_by(r, "a node is a free function: it cannot take `self`");
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &sig.generics,
            "a node cannot be generic: a workflow step needs one concrete input and output type",
        );
    }
    if let Some(v) = &sig.variadic {
        cx.error_spanned_by(v, "a node cannot be variadic");
    }
    let Some((kind, _)) = node.kind else { return };
    let opts = &node.options;
    if let Some(c) = &opts.compensate
        && kind != Kind::Effect
    {
        cx.error_spanned_by(
            &c.key,
            format!(
                "`compensate` is only for effect nodes: {} node has no side effect to undo",
                kind_name(kind)
            ),
        );
    }
    if let Some(c) = &opts.cache
        && kind != Kind::Compute
    {
        cx.error_spanned_by(
            &c.key,
            format!(
                "`cache` is only for compute nodes: {} node's output may not depend on its inputs alone",
                kind_name(kind)
            ),
        );
    }
    check_delivery(kind, opts, cx);
    if let Some(m) = &opts.merge
        && kind != Kind::Reducer
    {
        cx.error_spanned_by(
            &m.key,
            "`merge` is only for reducer nodes: it combines two partial accumulators",
        );
    }
    match kind {
        Kind::Compute => {
            if let Some(a) = &sig.asyncness {
                cx.error_spanned_by(
                    a,
                    "a compute node is pure and synchronous: remove `async`, or make it `#[node(effect)]` if it does I/O",
                );
            }
            for p in &node.params {
                if let ParamShape::Context = p.shape {
                    cx.error_spanned_by(
                        &p.ty,
                        "a compute node is pure: it cannot take `&Context`; make it `#[node(effect)]` to reach resources",
                    );
                }
            }
            check_inputs(node, cx);
        }
        Kind::Effect => {
            for (i, p) in node.params.iter().enumerate() {
                if i > 0 && matches!(p.shape, ParamShape::Context) {
                    cx.error_spanned_by(
                        &p.ty,
                        "`&Context` must be the first parameter of an effect node",
                    );
                }
            }
            check_inputs(node, cx);
        }
        Kind::Reducer => check_reducer(node, cx),
    }
}

/// `idempotent` and `at_most_once`: a promise about calling an effect twice, so only for
/// effect nodes, and one of them at most.
fn check_delivery(kind: Kind, opts: &crate::options::Options, cx: &Ctxt) {
    for flag in [&opts.idempotent, &opts.at_most_once].into_iter().flatten() {
        if kind != Kind::Effect {
            cx.error_spanned_by(
                &flag.key,
                format!(
                    "`{}` is only for effect nodes: {} node has no side effect to repeat or to skip",
                    flag.key,
                    kind_name(kind)
                ),
            );
        }
    }
    if let (Some(_), Some(second)) = (&opts.idempotent, &opts.at_most_once)
        && kind == Kind::Effect
    {
        cx.error_spanned_by(
            &second.key,
            "an effect is either `idempotent` (safe to call again with the same key) or \
             `at_most_once` (never called twice), not both",
        );
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Compute => "a compute",
        Kind::Effect => "an effect",
        Kind::Reducer => "a reducer",
    }
}

/// Compute and effect parameters are borrowed inputs.
fn check_inputs(node: &Node, cx: &Ctxt) {
    for p in &node.params {
        if let ParamShape::Other | ParamShape::RefMut(_) = p.shape {
            let t = type_text(&referent(&p.ty));
            cx.error_spanned_by(
                &p.ty,
                format!(
                    "a node borrows its inputs: write `&{t}`, or `Option<&{t}>` to run even when the input step is skipped"
                ),
            );
        }
    }
}

fn check_reducer(node: &Node, cx: &Ctxt) {
    let sig = &node.func.sig;
    if let Some(a) = &sig.asyncness {
        cx.error_spanned_by(a, format!("a reducer cannot be `async`: {REDUCER_SHAPE}"));
    }
    if let Some(message) = fold_shape(node) {
        // One error for the one mistake, not one per parameter and one for the return.
        let sig = &node.func.sig;
        let (inputs, output) = (&sig.inputs, &sig.output);
        cx.error_spanned_by(quote::quote!(#inputs #output), message);
        return;
    }
    if node.params.len() != 2 {
        let span = if node.params.is_empty() {
            sig.paren_token.span.join()
        } else {
            sig.inputs.span()
        };
        cx.error_at(
            span,
            format!(
                "a reducer takes 2 parameters, not {}: {REDUCER_SHAPE}",
                node.params.len()
            ),
        );
    } else {
        if !matches!(node.params[0].shape, ParamShape::RefMut(_)) {
            cx.error_spanned_by(
                &node.params[0].ty,
                format!("the accumulator must be `&mut Acc`: {REDUCER_SHAPE}"),
            );
        }
        if !matches!(node.params[1].shape, ParamShape::Ref(_)) {
            cx.error_spanned_by(
                &node.params[1].ty,
                format!("the item must be `&Item`: {REDUCER_SHAPE}"),
            );
        }
    }
    if let syn::ReturnType::Type(_, ty) = &sig.output
        && !matches!(&**ty, syn::Type::Tuple(t) if t.elems.is_empty())
    {
        cx.error_spanned_by(
            ty,
            format!("a reducer returns nothing, it updates `acc`: {REDUCER_SHAPE}"),
        );
    }
}

/// The message for a reducer written as a fold, `fn f(acc: Acc, item: &Item) -> Acc`
/// (taking its accumulator by value or by `&`, and returning the next one), naming the
/// signature it means.
fn fold_shape(node: &Node) -> Option<String> {
    let sig = &node.func.sig;
    if node.params.len() != 2 || matches!(node.params[0].shape, ParamShape::RefMut(_)) {
        return None;
    }
    let mut params = sig.inputs.iter();
    let (Some(syn::FnArg::Typed(acc)), Some(syn::FnArg::Typed(item))) =
        (params.next(), params.next())
    else {
        return None;
    };
    let syn::ReturnType::Type(_, ret) = &sig.output else {
        return None;
    };
    let acc_ty = type_text(&referent(&acc.ty));
    if type_text(ret) != acc_ty {
        return None;
    }
    let (name, acc_pat, item_pat) = (&sig.ident, type_text(&acc.pat), type_text(&item.pat));
    let item_ty = type_text(&referent(&item.ty));
    Some(format!(
        "`{name}` is written as a fold, returning the next accumulator; a reducer updates its \
         accumulator in place and returns nothing: \
         `fn {name}({acc_pat}: &mut {acc_ty}, {item_pat}: &{item_ty})`, with `{acc_ty}: Default`"
    ))
}

/// Whether the signature is sound enough to generate the proxy from. Kind-rule violations
/// (an `async` compute node, say) still expand, so one mistake gives one error; a shape
/// the shims cannot call does not.
pub fn expandable(node: &Node) -> bool {
    let Some((kind, _)) = node.kind else {
        return false;
    };
    let sig = &node.func.sig;
    if sig.receiver().is_some() || !sig.generics.params.is_empty() || sig.variadic.is_some() {
        return false;
    }
    match kind {
        Kind::Reducer => {
            node.params.len() == 2
                && matches!(node.params[0].shape, ParamShape::RefMut(_))
                && matches!(node.params[1].shape, ParamShape::Ref(_))
                && sig.asyncness.is_none()
                && match &sig.output {
                    syn::ReturnType::Default => true,
                    syn::ReturnType::Type(_, t) => {
                        matches!(&**t, syn::Type::Tuple(t) if t.elems.is_empty())
                    }
                }
        }
        Kind::Compute | Kind::Effect => {
            node.params.iter().enumerate().all(|(i, p)| match p.shape {
                ParamShape::Context => i == 0,
                ParamShape::Ref(_) | ParamShape::OptionRef(_) => true,
                ParamShape::Other | ParamShape::RefMut(_) => false,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::TokenStream;
    use quote::quote;

    fn errors(args: TokenStream, f: TokenStream) -> Vec<String> {
        let cx = Ctxt::new();
        let n = Node::from_parts(args, syn::parse2(f).unwrap(), &cx);
        check(&n, &cx);
        cx.check()
            .err()
            .map(|e| e.into_iter().map(|e| e.to_string()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn compute_rules() {
        let e = errors(
            quote!(compute, compensate = undo),
            quote!(
                async fn f(ctx: &Context, a: &A) -> u32 {
                    0
                }
            ),
        );
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].starts_with("`compensate` is only for effect nodes"));
        assert!(e[1].starts_with("a compute node is pure and synchronous"));
        assert!(e[2].starts_with("a compute node is pure: it cannot take `&Context`"));
    }

    #[test]
    fn delivery_only_on_effects_and_one_of_them() {
        let f = quote!(
            fn f(a: &A) -> u32 {
                0
            }
        );
        let e = errors(quote!(compute, idempotent), f.clone());
        assert_eq!(
            e,
            [
                "`idempotent` is only for effect nodes: a compute node has no side effect to repeat or to skip"
            ]
        );
        let e = errors(
            quote!(reducer, at_most_once),
            quote!(
                fn f(acc: &mut A, x: &B) {}
            ),
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("`at_most_once` is only for effect nodes: a reducer"));
        let e = errors(quote!(effect, idempotent, at_most_once), f.clone());
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("an effect is either `idempotent`"));
        assert!(errors(quote!(effect, at_most_once), f).is_empty());
    }

    #[test]
    fn cache_only_on_compute() {
        let e = errors(
            quote!(effect, cache),
            quote!(
                fn f(a: &A) -> u32 {
                    0
                }
            ),
        );
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("`cache` is only for compute nodes"));
    }

    #[test]
    fn reducer_shape() {
        assert!(
            errors(
                quote!(reducer),
                quote!(
                    fn f(acc: &mut u64, x: &u64) {}
                )
            )
            .is_empty()
        );
        let e = errors(
            quote!(reducer),
            quote!(
                fn f(acc: &mut u64, x: u64) -> u64 {
                    0
                }
            ),
        );
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].starts_with("the item must be `&Item`"));
        assert!(e[1].starts_with("a reducer returns nothing"));
        let e = errors(
            quote!(reducer),
            quote!(
                fn f(x: &u64) {}
            ),
        );
        assert!(e[0].starts_with("a reducer takes 2 parameters, not 1"));
    }

    #[test]
    fn a_fold_is_one_error_naming_the_reducer_signature() {
        let e = errors(
            quote!(reducer),
            quote!(
                fn sum(acc: Totals, item: &u64) -> Totals {
                    acc
                }
            ),
        );
        assert_eq!(
            e,
            vec![
                "`sum` is written as a fold, returning the next accumulator; a reducer updates \
                 its accumulator in place and returns nothing: \
                 `fn sum(acc: &mut Totals, item: &u64)`, with `Totals: Default`"
            ]
        );
        // By `&`, and with the item by value: still the fold, still one error.
        let e = errors(
            quote!(reducer),
            quote!(
                fn sum(acc: &Vec<u8>, item: u8) -> Vec<u8> {
                    acc.clone()
                }
            ),
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].ends_with("`fn sum(acc: &mut Vec<u8>, item: &u8)`, with `Vec<u8>: Default`"));
    }

    #[test]
    fn effect_context_first() {
        assert!(
            errors(
                quote!(effect),
                quote!(
                    async fn f(ctx: &Context, a: &A) {}
                )
            )
            .is_empty()
        );
        let e = errors(
            quote!(effect),
            quote!(
                async fn f(a: &A, ctx: &Context) {}
            ),
        );
        assert!(e[0].contains("must be the first parameter"));
    }
}
