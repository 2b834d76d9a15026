//! A node as a workflow sees it: the inputs a step passes and the output it gets.
//!
//! Read leniently, so that a signature [`check`](super::check) rejects still has a shape when
//! what the user meant is plain: `order: Order` is an input of type `Order`, a `&Context`
//! in the wrong place is still the runtime's, a reducer written as a fold still folds its
//! items into its `acc` type. `#[node]` then emits a stub proxy of that shape next to the
//! error (as thiserror emits a stub impl), and a workflow using the node reports nothing
//! more: one mistake, one error.

use syn::spanned::Spanned;

use super::parse::{Kind, Node, ParamShape};
use crate::takes::takes_sentence;
use crate::type_text::type_text;

/// One parameter a step passes.
pub struct Input {
    /// Its type without the reference: `A` for `&A` and `Option<&A>`, `[Item]` for a reducer.
    pub inner: syn::Type,
    /// Whether it is `Option<&A>`: the step still runs when its input is skipped.
    pub optional: bool,
}

/// The proxy to emit.
pub struct Shape {
    /// The kind (`compute` when the attribute's is missing or unknown).
    pub kind: Kind,
    /// The parameters a step passes, in order (`&Context` is not one).
    pub inputs: Vec<Input>,
    /// The step's output: the return type without `Result`, or a reducer's accumulator.
    pub output: syn::Type,
    /// Whether the function cannot be called as declared: the proxy is a stub whose shims
    /// never run (the crate does not compile), there only to keep uses of the node quiet.
    pub stub: bool,
}

/// The node's shape; `None` when even a lenient reading finds none (a method, a generic
/// or variadic fn, a reducer without two parameters).
pub fn shape(node: &Node) -> Option<Shape> {
    let sig = &node.func.sig;
    if sig.receiver().is_some() || !sig.generics.params.is_empty() || sig.variadic.is_some() {
        return None;
    }
    let stub = node.kind.is_none() || !super::check::expandable(node);
    let kind = node.kind.map_or(Kind::Compute, |(k, _)| k);
    let (inputs, output) = match kind {
        Kind::Reducer => {
            let [acc, item] = node.params.as_slice() else {
                return None;
            };
            let item_ty = referent(&item.ty);
            let input = Input {
                inner: syn::parse_quote_spanned!(item_ty.span()=> [#item_ty]),
                optional: false,
            };
            (vec![input], referent(&acc.ty))
        }
        Kind::Compute | Kind::Effect => {
            let inputs = node
                .inputs()
                .map(|p| {
                    let (inner, optional) = match &p.shape {
                        ParamShape::Ref(t) => (t.clone(), false),
                        ParamShape::OptionRef(t) => (t.clone(), true),
                        _ => (referent(&p.ty), false),
                    };
                    Input { inner, optional }
                })
                .collect();
            let output = match &node.ret {
                Some((t, _)) => t.clone(),
                None => syn::parse_quote!(()),
            };
            (inputs, output)
        }
    };
    Some(Shape {
        kind,
        inputs,
        output,
        stub,
    })
}

/// `T` for `&T` and `&mut T`, else the type itself.
pub fn referent(ty: &syn::Type) -> syn::Type {
    match ty {
        syn::Type::Reference(r) => (*r.elem).clone(),
        other => other.clone(),
    }
}

/// What a step must pass, for the message of a call with the wrong number of arguments:
/// `` `price` takes 2 inputs (order: &Order, rates: &Rates) ``.
pub fn takes_text(node: &Node, kind: Kind) -> String {
    let name = node.ident().to_string();
    let name = name.strip_prefix("r#").unwrap_or(&name);
    if kind == Kind::Reducer {
        let item = node.params.get(1).map(|p| type_text(&referent(&p.ty)));
        return match item {
            Some(item) => format!("`{name}` takes 1 input (the list of `{item}` it folds)"),
            None => format!("`{name}` takes 1 input (the list it folds)"),
        };
    }
    let params: Vec<String> = node.inputs().map(|p| type_text(&p.arg)).collect();
    takes_sentence(name, &params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctxt::Ctxt;
    use proc_macro2::TokenStream;
    use quote::quote;

    fn node(args: TokenStream, f: TokenStream) -> Node {
        let cx = Ctxt::new();
        let node = Node::from_parts(args, syn::parse2(f).unwrap(), &cx);
        cx.check().expect("the attributes here are well formed");
        node
    }

    fn text(t: &syn::Type) -> String {
        type_text(t)
    }

    #[test]
    fn a_by_value_input_is_read_as_meant() {
        let n = node(
            quote!(compute),
            quote!(
                fn price(order: Order, rates: Option<&Rates>) -> u64 {
                    0
                }
            ),
        );
        let s = shape(&n).unwrap();
        assert!(s.stub);
        assert_eq!(text(&s.inputs[0].inner), "Order");
        assert!(s.inputs[1].optional);
        assert_eq!(text(&s.output), "u64");
        assert_eq!(
            takes_text(&n, s.kind),
            "`price` takes 2 inputs (order: Order, rates: Option<&Rates>)"
        );
    }

    #[test]
    fn context_anywhere_is_not_an_input() {
        let n = node(
            quote!(effect),
            quote!(
                async fn charge(order: &Order, ctx: &Context) -> Result<u64, NodeError> {
                    todo!()
                }
            ),
        );
        let s = shape(&n).unwrap();
        assert!(s.stub);
        assert_eq!(s.inputs.len(), 1);
        assert_eq!(
            takes_text(&n, s.kind),
            "`charge` takes 1 input (order: &Order)"
        );
    }

    #[test]
    fn a_fold_folds_into_its_accumulator() {
        let n = node(
            quote!(reducer),
            quote!(
                fn sum(acc: Totals, item: &u64) -> Totals {
                    acc
                }
            ),
        );
        let s = shape(&n).unwrap();
        assert!(s.stub);
        assert_eq!(text(&s.output), "Totals");
        assert_eq!(text(&s.inputs[0].inner), "[u64]");
        assert_eq!(
            takes_text(&n, s.kind),
            "`sum` takes 1 input (the list of `u64` it folds)"
        );
    }

    #[test]
    fn a_sound_signature_is_no_stub() {
        let n = node(
            quote!(effect),
            quote!(
                fn save(ctx: &Context, x: &u64) {}
            ),
        );
        let s = shape(&n).unwrap();
        assert!(!s.stub);
        assert_eq!(text(&s.output), "()");
        assert_eq!(takes_text(&n, s.kind), "`save` takes 1 input (x: &u64)");
    }

    #[test]
    fn no_shape_without_concrete_types() {
        let generic = node(
            quote!(compute),
            quote!(
                fn f<T>(x: &T) -> T {
                    todo!()
                }
            ),
        );
        assert!(shape(&generic).is_none());
        let one = node(
            quote!(reducer),
            quote!(
                fn f(x: &u64) {}
            ),
        );
        assert!(shape(&one).is_none());
    }
}
